#!/usr/bin/env bash
# End-to-end tests of `async-inspect-bpf test -- CMD` (CI hang detection):
# `cargo test` on tests/programs/test-crate (built by `make programs`),
# one test at a time: passing tests (the same output as plain cargo test),
# a test hung on a oneshot, one deadlocked on two tokio Mutexes, one hung
# in a spawned task it joins, one waiting for a child test process that
# hangs (processes started by processes are followed).
#
#   bash tests/e2e/test_cmd.sh [TEST...]   # all tests, or only the named ones
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CRATE=$ROOT/tests/programs/test-crate
PROGS=$CRATE
SRC=$CRATE/tests
SRC_PREFIX=tests
PREREQS=()
NEED_COMMANDS=(cargo)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# The tool's `test` on `cargo test --offline ARGS...` in the crate, output
# in NAME.out / NAME.err, files under ./out (sets RC).
cargo_test() { # NAME TOOL-ARGS... -- CARGO-ARGS...
	local name=$1 here=$PWD
	shift
	RC=0
	(cd "$CRATE" && exec timeout -k 5 120 "$BIN" test --output "$here/out" "$@") \
		>"$name.out" 2>"$name.err" || RC=$?
	case $RC in 124 | 137) fail "test did not finish within 120 s" ;; esac
}

# "Found test stuck at: NAME  (FILE, ...)" on stderr, then its await chain.
expect_found() { # ERR NAME FILE
	grep -q "^Found test stuck at: $2  ($3, " "$1" ||
		fail "no 'Found test stuck at: $2' line: $(grep -m 3 -E 'Found|async-inspect-bpf' "$1" | tr '\n' '|')"
}

# The files of the one process that hung: JSON with the root, a Perfetto
# trace, a recording that replays to the same tasks.
expect_files() { # WHAT
	local d
	d=$(find out -mindepth 1 -maxdepth 1 -type d -name 'hangs-*' | head -n 1)
	[ -n "$d" ] || fail "$1: no process folder under --output: $(ls out 2>&1 | tr '\n' ' ')"
	[ -s "$d/async-inspect-trace.json" ] && [ -s "$d/trace.pftrace" ] && [ -s "$d/session.rec" ] ||
		fail "$1: files missing in $d: $(ls "$d" | tr '\n' ' ')"
	timeout 60 "$BIN" replay "$d/session.rec" --json replay.json >/dev/null 2>&1 ||
		fail "$1: the recording does not replay"
	expect_eq "$1: replayed tasks" "$(jqf replay.json '[.tasks[] | {id, kind, state}]')" \
		"$(jqf "$d/async-inspect-trace.json" '[.tasks[] | {id, kind, state}]')"
	PROCESS_JSON=$d/async-inspect-trace.json
}

# 1. Passing tests: exit 0, the same stdout as plain `cargo test` (timings
# aside), a summary line for the test process, no file left.
test_passing() {
	local plain
	(cd "$CRATE" && cargo test --offline --test passing) >plain.out 2>plain.err ||
		fail "plain cargo test failed: $(tail -n 3 plain.err)"
	cargo_test pass -- cargo test --offline --test passing
	expect_rc pass 0
	plain=$(sed 's/finished in [0-9.]*s/finished in Xs/' plain.out)
	expect_eq "stdout as plain cargo test's" "$(sed 's/finished in [0-9.]*s/finished in Xs/' pass.out)" "$plain"
	grep -Eq '^async-inspect-bpf: .*passing-[0-9a-f]+ \(pid [0-9]+\): 2 async tests run, 1 tasks, 0 stuck, 0 deadlocks, 0 events lost$' pass.err ||
		fail "no summary line: $(grep async-inspect-bpf pass.err | tr '\n' '|')"
	[ ! -e out ] || fail "files left for a run with nothing hung: $(find out | tr '\n' ' ')"
}

# 2. A test hung on a oneshot, two async fns down: named with its file,
# its await chain; its process ended; cargo's status (the test process was
# killed), or 4 with --fail-on-hang.
test_hung_oneshot() {
	local stuck="src/lib.rs:$(grep -n 'aib:reserve_stock' "$CRATE/src/lib.rs" | cut -d: -f1)"
	cargo_test hung --timeout 2s -- cargo test --offline --test hangs -- --exact checkout_completes
	[ "$RC" != 0 ] && [ "$RC" != 4 ] || fail "exit status $RC: cargo's failure expected"
	expect_found hung.err checkout_completes tests/hangs.rs
	grep -q "tests/hangs.rs:$(marker_line hangs checkout_awaits)$" hung.err ||
		grep -q "tests/hangs.rs:$(marker_line hangs checkout_awaits) " hung.err ||
		fail "the test's await (hangs.rs:$(marker_line hangs checkout_awaits)) not shown"
	grep -q "$stuck   ◄── BLOCKED" hung.err || fail "the stuck await ($stuck) not shown"
	grep -q 'waiting for: channel (oneshot receive)' hung.err || fail "no waiting-for line"
	grep -Eq 'hangs-[0-9a-f]+ \(pid [0-9]+\): 1 async tests run, .*: HUNG$' hung.err ||
		fail "no HUNG summary line: $(grep async-inspect-bpf hung.err | tr '\n' '|')"
	expect_files hung
	expect_jq "$PROCESS_JSON" "the hung root in the JSON" \
		'[.tasks[] | select(.kind == "block_on" and .state == "idle")] | length == 1'
	cargo_test hung4 --timeout 2s --fail-on-hang -- cargo test --offline --test hangs -- --exact checkout_completes
	expect_rc hung4 4
}

# 3. Two tasks of a test deadlocked on two tokio Mutexes: found within a
# second or so (well before --timeout), status 3 with --fail-on-deadlock.
test_deadlock() {
	cargo_test dl --locks --fail-on-deadlock --timeout 30s -- cargo test --offline --test hangs -- --exact transfer_deadlocks
	expect_rc dl 3
	grep -q '^Found a deadlock in test process' dl.err || fail "no deadlock found: $(grep -m 3 async-inspect dl.err | tr '\n' '|')"
	grep -q "tests/hangs.rs:$(marker_line hangs t1_waits)" dl.err || fail "t1's wait not shown"
	grep -q "tests/hangs.rs:$(marker_line hangs t2_waits)" dl.err || fail "t2's wait not shown"
	expect_files deadlock
	expect_jq "$PROCESS_JSON" "the cycle: two tasks, two Mutexes" \
		'.deadlocks | length == 1 and (.[0].tasks | length) == 2 and (.[0].locks | length) == 2'
}

# 4. A test hung in the spawned task it joins: the test and the task both.
test_joined_task() {
	local stuck="src/lib.rs:$(grep -n 'aib:reserve_stock' "$CRATE/src/lib.rs" | cut -d: -f1)"
	cargo_test joined --timeout 2s -- cargo test --offline --test hangs -- --exact joined_task_hangs
	expect_found joined.err joined_task_hangs tests/hangs.rs
	grep -q "waiting for: join (JoinHandle; task [0-9]*)" joined.err || fail "the test's join not shown"
	grep -q "$stuck   ◄── BLOCKED" joined.err || fail "the task's await ($stuck) not shown"
	grep -q "spawned at tests/hangs.rs:$(marker_line hangs spawn_worker):" joined.err ||
		fail "the task's spawn line not shown"
}

# 5. Processes started by processes: the test waits for a child test
# process, which hangs; both are inspected (a summary line each), the
# parent found stuck, the child ended with it.
test_child_process() {
	cargo_test child --timeout 2s -- cargo test --offline --test hangs -- --exact parent_runs_child
	expect_found child.err parent_runs_child tests/hangs.rs
	expect_eq "test processes inspected" "$(grep -Ec 'hangs-[0-9a-f]+ \(pid [0-9]+\): 1 async tests run' child.err)" 2
}

# 6. Usage errors (no root needed).
test_usage() {
	tool nocmd test
	expect_error nocmd 2 "test needs a command"
	tool timeout attach --pid 1 --timeout 3s
	expect_error timeout 2 "--timeout applies to test only"
	tool badtimeout test --timeout soon -- true
	expect_error badtimeout 2 "--timeout needs a duration"
	tool json test --json x.json -- true
	expect_error json 2 "test writes its files to --output"
}

ALL_TESTS=(passing hung_oneshot deadlock joined_task child_process usage)
NONROOT_TESTS=(usage)
main "$@"
