#!/usr/bin/env bash
# Builds the build-matrix fixture (tests/programs/matrix) in every way the
# matrix test (tests/e2e/matrix.sh) covers, each cell into
# tests/programs/matrix/target/<cell>/release/{mx_tokio,mx_smol}:
#
#   o1 o3 os      opt-level 1, 3, "s" (o3 is the release profile as users ship
#                 it: line tables, symbols kept)
#   thin fat      lto = "thin", lto = "fat"
#   cgu1          codegen-units = 1
#   abort         panic = "abort"
#   fp            -C force-frame-pointers=yes
#   nodebug full  debug = false, debug = "full"
#   split         o3's binaries stripped of their DWARF (objcopy --strip-debug),
#                 which lives in <name>.debug beside them (.gnu_debuglink)
#   vendored      tokio's source copied into the build tree (Debian's, the
#                 version Cargo.lock names) and used as a path dependency
#
#   bash tools/build-matrix.sh [CELL...]      # all cells, or those named
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/tests/programs/matrix
CARGO=${CARGO:-cargo}
ALL=(o1 o3 os thin fat cgu1 abort fp nodebug full split vendored)
cells=("$@")
[ ${#cells[@]} -gt 0 ] || cells=("${ALL[@]}")

# cargo build --release with the profile settings given as VAR=VALUE
# (CARGO_PROFILE_RELEASE_<VAR>), into target/<cell>
build() { # CELL [VAR=VALUE...]
	local cell=$1 kv env=()
	shift
	for kv in "$@"; do
		case $kv in
		RUSTFLAGS=*) env+=("$kv") ;;
		*) env+=("CARGO_PROFILE_RELEASE_$kv") ;;
		esac
	done
	(cd "$DIR" && env "${env[@]}" CARGO_TARGET_DIR="$DIR/target/$cell" \
		"$CARGO" build --release --offline -q)
}

split() {
	local src=$DIR/target/o3/release out=$DIR/target/split/release b
	[ -x "$src/mx_tokio" ] || build o3
	mkdir -p "$out"
	for b in mx_tokio mx_smol; do
		rm -f "$out/$b" "$out/$b.debug"
		objcopy --only-keep-debug "$src/$b" "$out/$b.debug"
		objcopy --strip-debug --add-gnu-debuglink="$out/$b.debug" "$src/$b" "$out/$b"
	done
}

# A copy of the fixture whose tokio is a copy of Debian's tokio source,
# patched in as a path dependency (how `cargo vendor`, path and git
# dependencies build it: its files then sit outside any registry).
vendored() {
	local tree=$DIR/target/vendored/tree version src
	version=$(awk '/^name = "tokio"$/ { getline; gsub(/"/, "", $3); print $3 }' "$DIR/Cargo.lock")
	src=/usr/share/cargo/registry/tokio-$version
	[ -d "$src" ] || { echo "build-matrix: $src not found (librust-tokio-dev)" >&2; exit 1; }
	rm -rf "$tree"
	mkdir -p "$tree/app"
	cp -r "$src" "$tree/tokio"
	rm -f "$tree/tokio/.cargo-checksum.json"
	cp -r "$DIR/src" "$DIR/Cargo.lock" "$tree/app/"
	sed 's/^\[profile.release\]/[patch.crates-io]\ntokio = { path = "..\/tokio" }\n\n&/' \
		"$DIR/Cargo.toml" >"$tree/app/Cargo.toml"
	# a path dependency's warnings are shown: not ours to fix
	(cd "$tree/app" && RUSTFLAGS="--cap-lints=allow" CARGO_TARGET_DIR="$DIR/target/vendored" \
		"$CARGO" build --release --offline -q)
}

for cell in "${cells[@]}"; do
	case $cell in
	o1) build o1 OPT_LEVEL=1 ;;
	o3) build o3 ;;
	os) build os OPT_LEVEL=s ;;
	thin) build thin LTO=thin ;;
	fat) build fat LTO=fat ;;
	cgu1) build cgu1 CODEGEN_UNITS=1 ;;
	abort) build abort PANIC=abort ;;
	fp) build fp "RUSTFLAGS=-C force-frame-pointers=yes" ;;
	nodebug) build nodebug DEBUG=false ;;
	full) build full DEBUG=full ;;
	split) split ;;
	vendored) vendored ;;
	*) echo "build-matrix: no cell '$cell' (${ALL[*]})" >&2; exit 2 ;;
	esac
done
