#!/usr/bin/env bash
# The daemon's folders are layers in pipeline order: a file includes only
# headers of its own folder, of folders before it, or of include/ (the event
# ABI and the runtime layouts shared with BPF). BPF code includes only bpf/
# and include/.
#
#   bash tools/check_layers.sh LAYER...          # the layers, bottom to top
#   bash tools/check_layers.sh --self-test LAYER...
#
# Prints one line per include that goes up (or names no folder) and exits 1;
# else a one-line summary. --self-test checks that a tree with an upward
# include fails and one without passes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

check() { # ROOT LAYER...
	local root=$1 bad=0 files=0 includes=0 f dir inc top i
	shift
	declare -A rank=()
	i=0
	for l in "$@"; do rank[$l]=$i; i=$((i + 1)); done

	while IFS= read -r f; do
		files=$((files + 1))
		dir=${f#"$root"/user/}
		dir=${dir%%/*}
		if [ -z "${rank[$dir]+x}" ]; then
			echo "${f#"$root"/}: not in a layer folder (${!rank[*]})"
			bad=1
			continue
		fi
		while IFS= read -r inc; do
			includes=$((includes + 1))
			case $inc in
			*/*)
				top=${inc%%/*}
				if [ -z "${rank[$top]+x}" ] || [ ! -f "$root/user/$inc" ]; then
					echo "${f#"$root"/}: includes \"$inc\", which is no file of a layer"
					bad=1
				elif [ "${rank[$top]}" -gt "${rank[$dir]}" ]; then
					echo "${f#"$root"/}: includes \"$inc\": $top is above $dir"
					bad=1
				fi
				;;
			*.skel.h) ;; # generated from bpf/ into the build folder
			*)
				if [ ! -f "$root/include/$inc" ]; then
					echo "${f#"$root"/}: includes \"$inc\" without its folder"
					bad=1
				fi
				;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done < <(find "$root/user" -type f \( -name '*.c' -o -name '*.h' \) | sort)

	while IFS= read -r f; do
		files=$((files + 1))
		while IFS= read -r inc; do
			includes=$((includes + 1))
			if [ ! -f "$root/bpf/$inc" ] && [ ! -f "$root/include/$inc" ] && [ "$inc" != vmlinux.h ]; then
				echo "${f#"$root"/}: includes \"$inc\": BPF code takes only bpf/ and include/"
				bad=1
			fi
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done < <(find "$root/bpf" -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

	[ "$bad" = 0 ] || return 1
	echo "layers: $files files, $includes includes, none goes up ($*)"
}

self_test() { # LAYER...
	local t rc=0
	t=$(mktemp -d)
	trap 'rm -rf "$t"' RETURN
	mkdir -p "$t/include" "$t/bpf" "$t/user/$1" "$t/user/$2"
	echo '#include "'"$1"'/a.h"' >"$t/user/$2/b.c"
	touch "$t/user/$1/a.h" "$t/user/$2/b.h"
	check "$t" "$@" >/dev/null || { echo "self-test: a downward include was refused"; return 1; }
	echo '#include "'"$2"'/b.h"' >"$t/user/$1/a.c"
	if check "$t" "$@" >"$t/out"; then rc=1; fi
	grep -q "is above" "$t/out" || rc=1
	[ "$rc" = 0 ] || { echo "self-test: an upward include was not refused"; return 1; }
	echo "layers self-test: an upward include is refused"
}

if [ "${1:-}" = --self-test ]; then
	shift
	self_test "$@"
else
	check "$ROOT" "$@"
fi
