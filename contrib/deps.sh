#!/usr/bin/env bash
# Install the Debian 12 packages dmp needs to build, test and run.
# Works as root or as a user with sudo; installs only what is missing.
# Usage: contrib/deps.sh [--runtime-only]
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
	libfuzzer-14-dev libsodium-dev libargon2-dev libsqlite3-dev
	libyaml-dev libc-ares-dev libfuse3-dev libknot-dev libfec-dev
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libssl-dev
	zlib1g-dev)
run_pkgs=(fuse3 sqlite3 bind9-dnsutils knot-dnsutils python3 python3-pytest
	python3-cryptography python3-dnspython knot dnsperf man-db doxygen
	procps iproute2 sudo mutt unbound)
# outbox/ with real tools (tests/black/test_fs_outbox.py)
run_pkgs+=(rsync vim)

pkgs=("${run_pkgs[@]}")
if [ "${1:-}" != "--runtime-only" ]; then
	pkgs+=("${build_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	}
	sudo="sudo"
fi
echo "deps.sh: installing ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
# knot's and unbound's packages start a system daemon on port 53; tests run
# their own.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	-o Dpkg::Options::=--force-confdef "${missing[@]}"
if command -v systemctl >/dev/null && systemctl is-active -q knot 2>/dev/null; then
	$sudo systemctl disable --now knot >/dev/null 2>&1 || true
fi
if command -v systemctl >/dev/null && systemctl is-active -q unbound 2>/dev/null; then
	$sudo systemctl disable --now unbound >/dev/null 2>&1 || true
fi
