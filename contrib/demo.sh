#!/usr/bin/env bash
# dmp demo: install what is missing, build, start a local dmp-node on
# loopback with a throw-away zone, create identities for you and a demo
# contact, and mount ~/dmp. Safe to run twice; --stop undoes it all.
#
#   contrib/demo.sh [--dir DIR] [--mount DIR] [--port PORT]
#   contrib/demo.sh --stop [--dir DIR] [--mount DIR]
#
# Talks to nothing but 127.0.0.1 and Debian's package archive.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir="${DMP_DEMO_DIR:-$HOME/.dmp-demo}"
mnt="${DMP_DEMO_MOUNT:-$HOME/dmp}"
port="${DMP_DEMO_PORT:-5353}"
zone="mesh.local"
stop=0

usage() {
	sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case "$1" in
	--stop) stop=1 ;;
	--dir) dir="$2"; shift ;;
	--mount) mnt="$2"; shift ;;
	--port) port="$2"; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "demo.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

# DMP_DEMO_BUILD: use an existing build tree (the tests do) instead of build/release.
build="${DMP_DEMO_BUILD:-$top/build/release}"
node_bin="$build/tools/dmp-node"
dmp_bin="$build/tools/dmp"
fs_bin="$build/fs/dmpfs"
pidfile="$dir/node.pid"
# A demo passphrase: the demo identities are throw-away.
export DMP_PASSPHRASE="${DMP_PASSPHRASE:-demo passphrase, not a secret}"

stop_all() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || true
		echo "unmounted $mnt"
	fi
	if [ -f "$dir/dmpfs.pid" ]; then
		kill "$(cat "$dir/dmpfs.pid")" 2>/dev/null || true
		rm -f "$dir/dmpfs.pid"
	fi
	if [ -f "$pidfile" ]; then
		pid=$(cat "$pidfile")
		if kill "$pid" 2>/dev/null; then
			for _ in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			echo "stopped dmp-node (pid $pid)"
		fi
		rm -f "$pidfile"
	fi
}

if [ "$stop" = 1 ]; then
	stop_all
	rm -rf "$dir"
	rmdir "$mnt" 2>/dev/null || true
	echo "demo removed ($dir)"
	exit 0
fi

# 1. Packages and build.
"$top/contrib/deps.sh"
if [ -z "${DMP_DEMO_BUILD:-}" ]; then
	cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
elif [ ! -x "$node_bin" ]; then
	echo "demo.sh: no dmp-node in DMP_DEMO_BUILD=$build" >&2
	exit 1
fi
mkdir -p "$dir"
chmod 700 "$dir"

# 2. The node: loopback only, its own database, started once.
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	echo "dmp-node already running (pid $(cat "$pidfile"))"
else
	"$node_bin" --zone "$zone" --listen "127.0.0.1:$port" \
		--db "$dir/node.db" -f >"$dir/node.log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 50); do
		dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 "$zone" SOA \
			>/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "dmp-node failed to start; see $dir/node.log" >&2
		cat "$dir/node.log" >&2
		exit 1
	fi
	echo "dmp-node serving $zone on 127.0.0.1:$port (pid $(cat "$pidfile"))"
fi

# 3. Keys and identities (once): you, and "demo", a contact to write to.
# The key file holds a secret: made under umask 077, handed to dmp by name
# (never on a command line, where ps shows it to every user).
key_file() {
	local name="$1" file="$dir/$1.tsig"

	if [ ! -s "$file" ]; then
		(umask 077 && "$node_bin" key add "$name" --scope "$zone" \
			--db "$dir/node.db" >"$file")
	fi
	chmod 600 "$file" # one left by an older demo.sh
	printf '%s' "$file"
}

me="${USER:-me}"
me=$(printf '%s' "$me" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9_.-')
[ -n "$me" ] || me="me"

if [ -x "$dmp_bin" ]; then
	for who in "$me" demo; do
		home="$dir/home-$who"
		if [ ! -f "$home/config.yaml" ]; then
			"$dmp_bin" --home "$home" init "$who" --domain "$zone" \
				--node "127.0.0.1:$port" \
				--tsig-file "$(key_file "$who")" >/dev/null
			# A running node picks up new keys within a second.
			for try in 1 2 3 4 5 6; do
				"$dmp_bin" --home "$home" identity publish \
					>/dev/null 2>"$dir/publish.err" && break
				[ "$try" = 6 ] && { cat "$dir/publish.err" >&2; exit 1; }
				sleep 0.5
			done
		fi
	done
	"$dmp_bin" --home "$dir/home-$me" contacts add "demo@$zone" demo \
		>/dev/null 2>&1 || true
	"$dmp_bin" --home "$dir/home-demo" contacts add "$me@$zone" "$me" \
		>/dev/null 2>&1 || true
else
	echo "note: the dmp CLI is not built yet in this version; only the node runs"
fi

# 4. The mailbox as a filesystem.
if [ -x "$fs_bin" ] && ! { [ -r /dev/fuse ] && [ -w /dev/fuse ]; }; then
	echo "note: /dev/fuse is not readable and writable for $(id -un);" \
		"ask an administrator for access (e.g. chmod 0666 /dev/fuse)" \
		"to mount; the node and the dmp CLI work without it" >&2
	fs_bin=""
fi
if [ -n "$fs_bin" ] && [ -x "$fs_bin" ]; then
	mkdir -p "$mnt"
	if ! mountpoint -q "$mnt"; then
		"$fs_bin" -o "home=$dir/home-$me,poll=2" "$mnt"
	fi
	echo "mounted your mailbox at $mnt"
else
	echo "note: nothing mounted (no usable dmpfs or /dev/fuse)"
fi

cat <<EOF

Try:
  dig -p $port @127.0.0.1 $zone SOA            # the node answers
EOF
if [ -n "$fs_bin" ] && [ -x "$fs_bin" ]; then
	cat <<EOF
  ls $mnt
  echo "hello" > $mnt/outbox/demo              # send to the demo contact
  DMP_PASSPHRASE='$DMP_PASSPHRASE' $dmp_bin --home $dir/home-demo recv
                                               # ...and read it as demo
EOF
elif [ -x "$dmp_bin" ]; then
	cat <<EOF
  export DMP_PASSPHRASE='$DMP_PASSPHRASE'       # the demo identities' passphrase
  $dmp_bin --home $dir/home-$me send demo <<< "hello"
  $dmp_bin --home $dir/home-demo recv          # ...and read it as demo
EOF
fi
cat <<EOF

Stop and clean up:  $0 --stop
EOF
