#!/usr/bin/env bash
# Runs the libFuzzer harnesses (tests/fuzz/fuzz_*.c, built by `make fuzz-build`
# into FUZZ_OUT/fuzzers) over their corpus in tests/fuzz/corpus/<harness>.
#
#   bash tools/fuzz.sh FUZZ_OUT SECONDS smoke   # make fuzz-smoke (make test)
#   bash tools/fuzz.sh FUZZ_OUT SECONDS keep    # make fuzz
#
# smoke: every corpus file replayed once, then SECONDS of fuzzing each,
# what it finds thrown away. keep: SECONDS of fuzzing each, new inputs kept
# in FUZZ_OUT/corpus/<harness> (the repository's corpus is only read).
# A crash, a sanitizer report, a leak or a timeout fails; its input is kept
# in FUZZ_OUT/artifacts/<harness>/.
#
# Output: `PASS name` or `FAIL name: why`, then `N passed, M failed`.
set -euo pipefail

FUZZ_OUT=$1
SECONDS_EACH=$2
MODE=$3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CORPUS=$ROOT/tests/fuzz/corpus
PASSED=0
FAILED=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# close_fd_mask=3: the code under test prints (reports, usage errors);
# libFuzzer keeps its own stderr for its reports
COMMON=(-close_fd_mask=3 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1)

# NAME STATUS: the log ($T/log) says why.
verdict() {
	if [ "$2" = 0 ]; then
		echo "PASS $1"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL $1: exit status $2: $(grep -m 1 -E 'ERROR: |runtime error:|Sanitizer|deadly signal|timeout' "$T/log" || tail -n 1 "$T/log")"
		FAILED=$((FAILED + 1))
	fi
}

for bin in "$FUZZ_OUT"/fuzzers/fuzz_*; do
	case $bin in *.d) continue ;; esac
	h=$(basename "$bin")
	art=$FUZZ_OUT/artifacts/$h
	mkdir -p "$art" "$CORPUS/$h"
	if [ "$MODE" = smoke ]; then
		# each file run once, as a regression test
		rc=0
		files=("$CORPUS/$h"/*)
		[ -e "${files[0]}" ] || files=()
		if [ "${#files[@]}" = 0 ]; then
			echo "no corpus" >"$T/log"
			rc=1
		else
			"$bin" "${COMMON[@]}" -artifact_prefix="$art/" "${files[@]}" >"$T/log" 2>&1 || rc=$?
		fi
		verdict "$h/corpus (${#files[@]} inputs)" "$rc"
		new=$T/new-$h
	else
		new=$FUZZ_OUT/corpus/$h
	fi
	mkdir -p "$new"
	rc=0
	# the first folder receives new inputs; the repository's is only read
	"$bin" "${COMMON[@]}" -max_total_time="$SECONDS_EACH" -artifact_prefix="$art/" \
		"$new" "$CORPUS/$h" >"$T/log" 2>&1 || rc=$?
	verdict "$h/fuzz (${SECONDS_EACH}s, $(grep -m 1 -oE 'stat::number_of_executed_units: [0-9]+' "$T/log" | grep -oE '[0-9]+' | head -n 1 || echo '?') runs)" "$rc"
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
