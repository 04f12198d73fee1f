#!/usr/bin/env bash
# Shared by the end-to-end test scripts (run.sh: tokio; async_task.sh;
# exports.sh):
# helpers used inside a test, and the runner. A script sets PROGS (built
# fixtures), SRC (their sources), SRC_PREFIX (how reports spell a source
# path: "src/bin" for tokio's #[track_caller] locations, "src" for DWARF
# ones), ALL_TESTS, NONROOT_TESTS and PREREQS (fixture names), and may set
# NEED_COMMANDS and NEED_FILES (more prerequisites), then sources this file
# and calls main "$@".
# shellcheck disable=SC2016,SC2317 # jq programs in single quotes; tests are called by name
set -euo pipefail

BIN=$ROOT/build/async-inspect-bpf
declare -p NEED_COMMANDS &>/dev/null || NEED_COMMANDS=()
declare -p NEED_FILES &>/dev/null || NEED_FILES=()
TOOL_TIMEOUT=${AIB_E2E_TIMEOUT:-30}
NOBODY=65534

PASSED=0
FAILED=0
T=

# End the background processes listed in $T/.bgpids (ours: targets and tool
# runs, most under `timeout`, which passes SIGTERM on to its command).
kill_bg() {
	local pid pids=()
	[ -n "$T" ] && [ -s "$T/.bgpids" ] || return 0
	while read -r pid; do
		kill -0 "$pid" 2>/dev/null && pids+=("$pid")
	done <"$T/.bgpids"
	: >"$T/.bgpids"
	[ ${#pids[@]} -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "${pids[@]}" 2>/dev/null || return 0
		sleep 0.2
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
}

# Every recording the tests made (AIBTRACE magic, whole or cut or corrupt)
# into $AIB_E2E_RECORDINGS when it is set: `make sanitize` replays them
# under AddressSanitizer and UBSan.
keep_recordings() {
	local f n=0 suite
	[ -n "${AIB_E2E_RECORDINGS:-}" ] && [ -n "$T" ] && [ -d "$T" ] || return 0
	mkdir -p "$AIB_E2E_RECORDINGS"
	suite=$(basename "$0" .sh)
	while IFS= read -r -d '' f; do
		[ "$(head -c 8 "$f" 2>/dev/null | tr -d '\0')" = AIBTRACE ] || continue
		n=$((n + 1))
		cp "$f" "$AIB_E2E_RECORDINGS/$suite-$n-$(basename "$f")" 2>/dev/null || true
	done < <(find "$T" -type f -size +31c -print0 2>/dev/null)
}

cleanup() {
	kill_bg
	keep_recordings
	if [ -n "$T" ]; then
		if [ "${AIB_E2E_KEEP:-0}" = 1 ]; then
			echo "e2e: scratch directory kept: $T" >&2
		else
			rm -rf "$T"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Helpers, used inside a test (each test runs in its own subshell with -e, in
# its own directory; `fail` ends the test with a reason).

fail() {
	local msg="$*"
	msg=${msg//$'\t'/ }
	msg=${msg//$'\n'/ }
	while [ "${msg//  / }" != "$msg" ]; do msg=${msg//  / }; done
	[ -e "$REASON" ] || printf '%s\n' "$msg" >"$REASON"
	exit 1
}

# Remember a background process so that it is killed if the test (or the
# whole run) ends early.
bg() {
	echo "$1" >>"$T/.bgpids"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

expect_eq() { # WHAT ACTUAL EXPECTED
	[ "$2" == "$3" ] || fail "$1: got '$2', expected '$3'"
}

# jq on a file; the output, or the test fails (bad JSON, missing file, ...)
jqf() { # FILE ARGS...
	local f=$1 out
	shift
	[ -s "$f" ] || fail "no JSON written to $(basename "$f")"
	out=$(jq -r "$@" "$f" 2>&1) || fail "jq failed on $(basename "$f"): ${out%%$'\n'*}"
	printf '%s\n' "$out"
}

# A jq condition that must hold; WHAT names it in the failure.
expect_jq() { # FILE WHAT FILTER [jq args...]
	local f=$1 what=$2 filter=$3 got
	shift 3
	got=$(jqf "$f" "$@" "$filter")
	[ "$got" == true ] || fail "$what (jq: $filter => $got)"
}

# The line of the single `// aib:LABEL` marker in $SRC/NAME.rs.
marker_line() { # NAME LABEL
	local file=$SRC/$1.rs n
	n=$(grep -cw -- "aib:$2" "$file" || true)
	[ "$n" = 1 ] || fail "marker aib:$2 found $n times in $SRC_PREFIX/$1.rs (want exactly 1)"
	grep -nw -- "aib:$2" "$file" | cut -d: -f1
}

# The exact spawn location string the report uses for a marker, checked to be
# "$SRC_PREFIX/NAME.rs:LINE:COL"; the test fails if it is not listed exactly once.
loc_of() { # JSON NAME LABEL
	local json=$1 prefix got
	prefix="$SRC_PREFIX/$2.rs:$(marker_line "$2" "$3"):"
	got=$(jqf "$json" --arg p "$prefix" '
		[.locations[] | .location | select(. != null and startswith($p))]
		| if length != 1 then "ERR \(length) locations start with \($p)"
		  elif (.[0] | ltrimstr($p) | test("^[0-9]+$") | not) then "ERR no column: \(.[0])"
		  else .[0] end')
	[ "${got#ERR }" == "$got" ] || fail "$3: ${got#ERR }"
	printf '%s\n' "$got"
}

# spawned/completed/alive of a location, from both .locations and .tasks.
expect_counts() { # JSON LOCATION LABEL SPAWNED COMPLETED ALIVE
	local json=$1 loc=$2 what=$3 got
	got=$(jqf "$json" --arg l "$loc" '.locations[] | select(.location == $l)
		| "\(.spawned)/\(.completed)/\(.alive)"')
	expect_eq "$what ($loc) spawned/completed/alive" "$got" "$4/$5/$6"
	got=$(jqf "$json" --arg l "$loc" '[.tasks[] | select(.spawn_location == $l)]
		| "\(length)/\(map(select(.state == "completed")) | length)"')
	expect_eq "$what ($loc) tasks listed/completed" "$got" "$4/$5"
}

# Run the tool in the foreground with a time limit: sets RC, output in
# NAME.out / NAME.err.
tool() { # NAME ARGS...
	local name=$1
	shift
	RC=0
	timeout -k 5 "$TOOL_TIMEOUT" "$BIN" "$@" >"$name.out" 2>"$name.err" || RC=$?
	case $RC in 124 | 137) fail "the tool did not finish within ${TOOL_TIMEOUT}s: $BIN $*" ;; esac
}

expect_rc() { # NAME WANT
	[ "$RC" == "$2" ] ||
		fail "exit status $RC, expected $2 (stderr: $(head -c 300 "$1.err" | tr '\n' '|'))"
}

# A clean one-line error: non-zero status (WANT if given), no crash, exactly
# one line on stderr, starting with "async-inspect-bpf:" and matching REGEX.
expect_error() { # NAME WANT|'' REGEX
	local name=$1 want=$2 re=$3 lines
	[ "$RC" != 0 ] || fail "exit status 0, expected a failure"
	[ "$RC" -lt 128 ] || fail "exit status $RC: killed by a signal (crash?)"
	[ -z "$want" ] || expect_rc "$name" "$want"
	lines=$(wc -l <"$name.err")
	[ "$lines" = 1 ] || fail "$lines lines on stderr, expected 1: $(head -c 300 "$name.err" | tr '\n' '|')"
	grep -q '^async-inspect-bpf: ' "$name.err" ||
		fail "stderr does not start with 'async-inspect-bpf: ': $(cat "$name.err")"
	grep -Eqi -- "$re" "$name.err" || fail "stderr does not match /$re/: $(cat "$name.err")"
}

# Wait until FILE has a line matching REGEX; fail if PID (ours) dies first.
wait_for_line() { # FILE REGEX SECONDS PID WHAT
	local file=$1 re=$2 pid=$4 what=$5 deadline
	deadline=$(($(now_ms) + $3 * 1000))
	while ! grep -Eq -- "$re" "$file" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			sleep 0.1 # its last output may still be on the way
			grep -Eq -- "$re" "$file" 2>/dev/null && return 0
			fail "$what exited before printing /$re/: $(head -c 300 "$file" | tr '\n' '|')"
		fi
		[ "$(now_ms)" -lt "$deadline" ] || fail "$what did not print /$re/ within $3 s"
		sleep 0.02
	done
}

# Start fixture PROG with a trigger file, wait for its `READY <pid>`, attach
# the tool to it (TOOL-ARGS then the pid, --json JSON), wait for the tool's
# start-up line, create the trigger; then both must end by themselves, the
# fixture with status 0 after printing DONE. Sets RC to the tool's status.
attach_with_trigger() { # PROG JSON TOOL-ARGS... (before the pid)
	local prog=$1 j=$2 tpid tgt toolpid rc
	shift 2
	timeout -k 5 60 "$PROGS/$prog" "$PWD/trigger" >target.out 2>target.err &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY [0-9]+$' 10 "$tgt" "$prog"
	tpid=$(awk '/^READY/ {print $2; exit}' target.out)
	timeout -k 5 "$TOOL_TIMEOUT" "$BIN" "$@" "$tpid" --json "$j" >tool.out 2>tool.err &
	toolpid=$!
	bg "$toolpid"
	wait_for_line tool.err "^async-inspect-bpf: attached to pid $tpid " 15 "$toolpid" "the tool"
	touch trigger
	rc=0
	wait "$tgt" || rc=$?
	expect_eq "$prog exit status" "$rc" 0
	grep -q '^DONE$' target.out || fail "$prog did not print DONE"
	rc=0
	wait "$toolpid" || rc=$?
	case $rc in 124 | 137) fail "the tool still ran ${TOOL_TIMEOUT}s after its start (the target had exited)" ;; esac
	RC=$rc
	expect_rc tool 0
}

# A copy of the tool that user nobody can run even if the checkout is not
# world-readable (e.g. under /root).
nobody_bin() {
	if [ ! -x "$T/pub/async-inspect-bpf" ]; then
		cp "$BIN" "$T/pub/async-inspect-bpf.tmp"
		chmod 755 "$T/pub/async-inspect-bpf.tmp"
		mv "$T/pub/async-inspect-bpf.tmp" "$T/pub/async-inspect-bpf"
	fi
	echo "$T/pub/async-inspect-bpf"
}

# A recording of multi_thread and its live JSON, made once and shared.
need_recording() {
	local d=$T/shared here=$PWD
	if [ ! -s "$d/rec.bin" ] || [ ! -s "$d/live.json" ] || [ ! -s "$d/live.count" ]; then
		mkdir -p "$d"
		cd "$d"
		rm -f rec.bin live.json
		tool live run --record rec.bin --json live.json -- "$PROGS/multi_thread"
		expect_rc live 0
		# a real recording (exact counts are test_multi_thread's business)
		jqf live.json '.tasks | length' >live.count
		[ "$(cat live.count)" -ge 20 ] || fail "only $(cat live.count) tasks in the live report of the recorded run"
		cd "$here"
	fi
	SHARED=$d
	FULL=$(cat "$d/live.count")
}

# Offset of the first record boundary at or after byte AT of a recording
# (records: u16 kind, u16 size, ...; a 32-byte file header).
record_boundary() { # FILE AT
	od -An -v -tu1 -w1 "$1" | awk -v at="$2" '
		{ b[NR - 1] = $1 + 0 }
		END {
			off = 32
			while (off + 4 <= NR) {
				if (off >= at) { print off; exit 0 }
				size = b[off + 2] + 256 * b[off + 3]
				if (size < 16) exit 1
				off += size
			}
			exit 1
		}'
}

# ---------------------------------------------------------------------------
# Runner

run_test() { # NAME
	local name=$1 dir=$T/$1 pid line
	mkdir -p "$dir"
	(
		set -eEuo pipefail
		shopt -s inherit_errexit
		REASON=$dir/.reason
		cd "$dir"
		trap 'rc=$?; [ -e "$REASON" ] || echo "unexpected failure: \`$BASH_COMMAND\` exited $rc (line $LINENO)" >"$REASON"' ERR
		"test_$name"
	) >"$dir/.log" 2>&1 &
	pid=$!
	if wait "$pid"; then
		echo "PASS $name"
		PASSED=$((PASSED + 1))
	else
		line=$(head -n 1 "$dir/.reason" 2>/dev/null || true)
		echo "FAIL $name: ${line:-exited without a reason}"
		FAILED=$((FAILED + 1))
		if [ -s "$dir/.log" ]; then
			sed 's/^/    | /' "$dir/.log" | tail -n 20 >&2
		fi
	fi
	kill_bg # whatever the test left running
}

main() {
	local tests=("$@") t missing=""
	T=$(mktemp -d "${TMPDIR:-/tmp}/aib-e2e.XXXXXX")
	# user nobody must reach $T/pub (a copy of the tool, recordings)
	chmod 755 "$T"
	mkdir -m 755 "$T/pub"
	: >"$T/.bgpids"

	for t in jq "${NEED_COMMANDS[@]}"; do
		command -v "$t" >/dev/null || missing="$missing $t (make deps)"
	done
	for t in "$BIN" "${NEED_FILES[@]}"; do
		[ -x "$t" ] || missing="$missing $t (make)"
	done
	for t in "${PREREQS[@]}"; do
		[ -x "$PROGS/$t" ] || missing="$missing $PROGS/$t (make programs)"
	done

	if [ ${#tests[@]} = 0 ]; then
		tests=("${ALL_TESTS[@]}")
		if [ "$(id -u)" != 0 ]; then
			echo "e2e: not running as root: uprobes need root, so only the ${#NONROOT_TESTS[@]} checks" \
				"that do not were run (run 'make e2e' as root for all ${#ALL_TESTS[@]})" >&2
			tests=("${NONROOT_TESTS[@]}")
		fi
	fi
	if [ -n "$missing" ]; then
		echo "e2e: missing:$missing" >&2
		echo "FAIL prerequisites: missing:$missing"
		echo "0 passed, 1 failed"
		exit 1
	fi
	for t in "${tests[@]}"; do
		if ! declare -F "test_$t" >/dev/null; then
			echo "FAIL $t: no such test (tests: ${ALL_TESTS[*]})"
			FAILED=$((FAILED + 1))
			continue
		fi
		run_test "$t"
	done
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" = 0 ] && [ "$(id -u)" = 0 ]; then
		exit 0
	fi
	exit 1
}

