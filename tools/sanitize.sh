#!/usr/bin/env bash
# The unit tests and `replay` under AddressSanitizer (with LeakSanitizer) and
# UBSan: every unit test binary, then every recording the e2e suites kept
# (AIB_E2E_RECORDINGS), each replayed with every output. A sanitizer report,
# a crash, a hang or a failed unit test fails; a replay's own error status 1
# (a cut or corrupt recording) does not.
#
#   bash tools/sanitize.sh SAN_OUT RECORDINGS_DIR     # (make sanitize)
#
# Output: `PASS name` or `FAIL name: why`, then `N passed, M failed`.
set -uo pipefail

SAN_OUT=$1
RECS=$2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "$SAN_OUT" && pwd)/async-inspect-bpf
export ASAN_OPTIONS=detect_leaks=1:exitcode=86
export UBSAN_OPTIONS=halt_on_error=1:exitcode=87:print_stacktrace=1
export AIB_PROGRAMS=${AIB_PROGRAMS:-$ROOT/tests/programs/target/release}
PASSED=0
FAILED=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# NAME STATUS ALLOWED...: passes when STATUS is allowed and the log ($T/log)
# holds no sanitizer report.
verdict() {
	local name=$1 rc=$2 ok=0 a
	shift 2
	for a in "$@"; do [ "$rc" = "$a" ] && ok=1; done
	if [ "$ok" = 1 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/log"; then
		echo "PASS $name"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL $name: exit status $rc: $(grep -m 1 -E 'Sanitizer|runtime error:|FAILED' "$T/log")"
		FAILED=$((FAILED + 1))
	fi
}

for t in "$SAN_OUT"/tests/test_*; do
	case $t in *.d) continue ;; esac
	rc=0
	timeout 300 "$t" >"$T/log" 2>&1 || rc=$?
	verdict "unit/$(basename "$t")" "$rc" 0
done

n=0
for rec in "$RECS"/*; do
	[ -f "$rec" ] || continue
	n=$((n + 1))
	mkdir -p "$T/r$n"
	rc=0
	(cd "$T/r$n" && timeout 300 "$BIN" replay "$rec" --tasks 0 --all-frames --json j.json \
		--perfetto t.pftrace --chrome-trace c.json --flamegraph f.folded --csv csv \
		>report.txt 2>"$T/log") || rc=$?
	verdict "replay/$(basename "$rec")" "$rc" 0 1
done
# replays that fail early (no file, not a recording) must free what they made
printf 'NOTATRACE and no more' >"$T/bad-magic.rec"
for rec in /nonexistent/recording "$T/bad-magic.rec"; do
	rc=0
	"$BIN" replay "$rec" --json "$T/early.json" >/dev/null 2>"$T/log" || rc=$?
	verdict "replay-fails-early/$(basename "$rec")" "$rc" 1
done
if [ "$n" = 0 ]; then
	echo "FAIL replay: no recording in $RECS (the e2e suites keep theirs there)"
	FAILED=$((FAILED + 1))
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
