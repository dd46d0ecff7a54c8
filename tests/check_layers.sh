#!/usr/bin/env bash
# tests/check_layers.sh SRC_DIR CORE_BUILD_DIR - the layering of core/, checked.
#
#  1. includes: a file in core/src/<layer>/ (or a public header, placed in
#     the layer whose directory holds its .c) includes only headers of its
#     own layer or of the layers below it (the table below,
#     docs/dependencies.md);
#  2. no include cycle between headers, nor between modules (x.c, x.h and
#     x_i.h are module x; module x uses y when one of its files includes
#     y.h); tests/layers.allow lists the module edges `x y` still to be
#     untangled;
#  3. link level: every dmp_* symbol a layer library leaves undefined is
#     defined by that library or by a library below it;
#  4. every global symbol the libraries define starts with dmp_ (the names
#     in tests/symbols.allow excepted, one per line, # comments).
# Exit 0 if all hold; else each violation is printed and the exit is 1.
set -euo pipefail
src=${1:?usage: check_layers.sh SRC_DIR CORE_BUILD_DIR}
bin=${2:?usage: check_layers.sh SRC_DIR CORE_BUILD_DIR}
core=$src/core

# directory -> the directories it may include (itself included).
declare -A may=(
	[base]="base"
	[crypto]="base crypto"
	[wire]="base crypto wire"
	[codec]="base crypto wire codec"
	[config]="base config"
	[dns]="base crypto wire codec dns"
	[client]="base crypto wire codec config dns client"
	[node]="base crypto wire codec config dns node"
)
# library -> its directories, and the libraries it may resolve symbols in.
declare -A lib_dirs=([proto]="base crypto wire codec" [config]="config"
	[dns]="dns" [client]="client" [node]="node")
declare -A lib_below=([proto]="" [config]="proto" [dns]="proto"
	[client]="proto config dns" [node]="proto config dns")

fail=0
err() {
	echo "check_layers: $*"
	fail=1
}

# Public headers without a .c of their own (constants, types): their layer.
declare -A header_layer=([dnsconst]=dns)

# The layer of a public header dmp/X.h: the directory holding X.c (or
# X_*.c, as node.h and node_*.c), else the table above.
layer_of_public() {
	local name=$1 f
	if [ -n "${header_layer[$name]+x}" ]; then
		echo "${header_layer[$name]}"
		return
	fi
	for f in "$core"/src/*/"$name".c "$core"/src/*/"$name"_*.c; do
		if [ -e "$f" ]; then
			basename "$(dirname "$f")"
			return
		fi
	done
}

# 1 + 2: walk every file, resolve its project includes to (layer, header).
edges=$(mktemp)
modules=$(mktemp)
trap 'rm -f "$edges" "$modules"' EXIT
for f in "$core"/src/*/*.[ch] "$core"/include/dmp/*.h; do
	[ -e "$f" ] || continue
	case $f in
	"$core"/include/*)
		name=$(basename "$f" .h)
		layer=$(layer_of_public "$name")
		node="dmp/$name.h"
		if [ -z "$layer" ]; then
			err "cannot place $node in a layer (no core/src/<layer>/$name.c; add it to header_layer in tests/check_layers.sh)"
			continue
		fi
		;;
	*)
		layer=$(basename "$(dirname "$f")")
		node="$layer/$(basename "$f")"
		;;
	esac
	if [ -z "${may[$layer]+x}" ]; then
		err "core/src/$layer/ is not a known layer (add it to tests/check_layers.sh and core/CMakeLists.txt)"
		continue
	fi
	while read -r inc; do
		case $inc in
		dmp/*)
			target=$(layer_of_public "$(basename "$inc" .h)")
			[ -n "$target" ] || continue # reported above
			;;
		*/*) target=${inc%%/*} ;;
		*) # "x_i.h": same directory
			target=$layer
			inc="$layer/$inc"
			;;
		esac
		case " ${may[$layer]} " in
		*" $target "*) ;;
		*) err "${f#"$src"/} ($layer) includes $inc ($target): $target is not below $layer" ;;
		esac
		[[ $f == *.h ]] && echo "$node $inc" >>"$edges"
		from=$(basename "$f")
		from=${from%.*}
		to=$(basename "$inc" .h)
		[ "${from%_i}" != "${to%_i}" ] && echo "${from%_i} ${to%_i}" >>"$modules"
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	err "include cycle between headers:"
	sed 's/^/    /' "$edges.err"
fi
rm -f "$edges.err"
allow_edges=$(grep -v '^[[:space:]]*\(#\|$\)' "$src/tests/layers.allow" 2>/dev/null | awk '{print $1, $2}' || true)
if ! sort -u "$modules" | grep -vxF -f <(echo "${allow_edges:-#none}") |
	tsort >/dev/null 2>"$modules.err"; then
	err "include cycle between modules (x.c includes y.h and y.c includes x.h):"
	sed 's/^/    /' "$modules.err"
fi
rm -f "$modules.err"

# 3 + 4: the archives.
allow="$src/tests/symbols.allow"
allowed=$(grep -v '^[[:space:]]*\(#\|$\)' "$allow" 2>/dev/null | awk '{print $1}' | sort -u || true)
declare -A defined
for lib in "${!lib_dirs[@]}"; do
	a="$bin/libdmp-$lib.a"
	if [ ! -e "$a" ]; then
		err "$a is missing (build first)"
		continue
	fi
	# __* are the compiler's and the sanitizers' (__odr_asan.x, ...).
	defined[$lib]=$(nm -g --defined-only "$a" 2>/dev/null |
		awk 'NF == 3 && $3 !~ /^__/ {print $3}' | sort -u)
	bad=$(comm -23 <(echo "${defined[$lib]}" | grep -v '^dmp_' || true) <(echo "$allowed"))
	for s in $bad; do
		err "libdmp-$lib.a defines global '$s' without the dmp_ prefix (make it static or rename it)"
	done
done
for lib in "${!lib_dirs[@]}"; do
	a="$bin/libdmp-$lib.a"
	[ -e "$a" ] || continue
	have=${defined[$lib]}
	for b in ${lib_below[$lib]}; do
		have+=$'\n'${defined[$b]:-}
	done
	need=$(nm -g --undefined-only "$a" 2>/dev/null | awk '$1 == "U" && $2 ~ /^dmp_/ {print $2}' | sort -u)
	for s in $(comm -23 <(echo "$need") <(echo "$have" | sort -u)); do
		err "libdmp-$lib.a uses $s, which no library below it (${lib_below[$lib]:-none}) defines"
	done
done

stale=$(comm -13 <(for l in "${!defined[@]}"; do echo "${defined[$l]}"; done | sort -u) <(echo "$allowed") | grep . || true)
if [ -n "$stale" ]; then
	echo "check_layers: note: tests/symbols.allow lists names no longer defined:" $stale
fi
[ "$fail" -eq 0 ] && echo "check_layers: ok"
exit "$fail"
