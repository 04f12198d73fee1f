#!/usr/bin/env bash
# End-to-end tests of block_on roots: the future a thread polls itself
# (#[tokio::main] on both flavours, LocalSet::run_until, #[tokio::test],
# async-std's task::block_on, smol's block_on) reported as a task of kind
# block_on. The real tool on tests/programs/block-on's fixtures and two of
# tests/programs/async-task's (`make e2e`, as root; `make all programs`
# first). Each fixture's root parks forever on the await marked
# `// aib:LABEL` in its source, reached through async fns marked too.
#
#   bash tests/e2e/block_on.sh [TEST...]   # all tests, or only the named ones
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BO=$ROOT/tests/programs/block-on
AT=$ROOT/tests/programs/async-task
PROGS=$ROOT/tests/programs
SRC=$BO/src/bin
SRC_PREFIX=src/bin
PREREQS=(block-on/target/release/bo_ct block-on/target/release/bo_mt
	block-on/target/release/bo_local block-on/target/release/bo_deadlock
	block-on/target/release/bo_yield block-on/target/release/bo_nested
	async-task/target/release/astd_block_on async-task/target/release/smol_block_on)
NEED_COMMANDS=(cargo)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# The one live block_on root of a report, as JSON.
live_root() { # JSON
	jqf "$1" '[.tasks[] | select(.kind == "block_on" and .state != "completed")]
		| if length == 1 then .[0] | tojson else "ERR \(length) live block_on roots" end'
}

# The root parked on the await of LABEL in NAME.rs (under $SRC, reported
# as $SRC_PREFIX), reached through the awaits of the OUTER labels, with
# POLLS polls and WAKES wakes; named FUNCTION.
expect_root() { # JSON NAME FUNCTION POLLS WAKES KIND LABEL OUTER...
	local j=$1 name=$2 fn=$3 polls=$4 wakes=$5 kind=$6 label=$7 r lines="" l
	shift 7
	r=$(live_root "$j")
	[ "${r#ERR }" == "$r" ] || fail "${r#ERR }"
	expect_eq "root: name" "$(jq -r .name <<<"$r")" "$fn"
	expect_eq "root: state" "$(jq -r .state <<<"$r")" idle
	expect_eq "root: polls" "$(jq -r .poll_count <<<"$r")" "$polls"
	expect_eq "root: wakes" "$(jq -r .wakes.total <<<"$r")" "$wakes"
	expect_eq "root: await_site" "$(jq -r .await_site <<<"$r")" \
		"$SRC_PREFIX/$name.rs:$(marker_line "$name" "$label")"
	expect_eq "root: waiting_for.kind" "$(jq -r .waiting_for.kind <<<"$r")" "$kind"
	for l in "$@" "$label"; do lines="$lines${lines:+,}$(marker_line "$name" "$l")"; done
	expect_eq "root: the await chain's lines (program frames)" \
		"$(jq -r --arg f "$SRC_PREFIX/$name.rs" '[.await_stack[] | select(.file == $f) | .line]
			| join(",")' <<<"$r")" "$lines"
	jq -e '.blocked_ms > 500' <<<"$r" >/dev/null || fail "root: blocked_ms $(jq .blocked_ms <<<"$r")"
	jq -e --arg f "$SRC_PREFIX/$name.rs:" '.spawn_location | startswith($f)' <<<"$r" >/dev/null ||
		fail "root: block_on location $(jq -r .spawn_location <<<"$r") is not in $name.rs"
	expect_jq "$j" "block_on roots are not spawned tasks" \
		'.metadata.block_on_roots == ([.tasks[] | select(.kind == "block_on")] | length)
		 and .metadata.total_tasks == ([.tasks[] | select(.kind != "block_on")] | length)'
}

# The text report draws the root as a stuck task.
expect_drawn() { # OUT FUNCTION
	grep -q "^Task root[0-9]* $2  block_on at " "$1" || fail "no stuck root '$2' in the report"
	grep -q '◄── BLOCKED' "$1" || fail "no BLOCKED line in the report"
	grep -q '^Roots:  [0-9]* block_on' "$1" || fail "no Roots line in the report"
}

run_fixture() { # NAME PROGRAM [ARGS...]
	local name=$1
	shift
	tool "$name" run --duration 1.5 --stuck-after 1s --json "$name.json" -- "$@"
	expect_rc "$name" 0
}

# 1. #[tokio::main] current-thread: 3 sleeps (a poll each, woken by the
# timer), then a socket read that never gets data, two async fns down.
test_ct_main() {
	run_fixture ct "$BO/target/release/bo_ct"
	expect_root ct.json bo_ct bo_ct::main 4 3 io read main_await fetch_posts
	expect_jq ct.json "woken by the timer (no task)" '.tasks[0].wakes.by_thread == 3'
	expect_jq ct.json "no task spawned" '.metadata.total_tasks == 0 and .metadata.block_on_polls == 4'
	expect_drawn ct.out bo_ct::main
}

# 2. The same on the multi-thread runtime: the main thread parks in
# CachedParkThread, woken by a worker's timer.
test_mt_main() {
	run_fixture mt "$BO/target/release/bo_mt"
	expect_root mt.json bo_mt bo_mt::main 4 3 io read main_await fetch_posts
	expect_jq mt.json "polled on the main thread" \
		'[.tasks[] | select(.kind == "block_on") | .worker_threads[].name] == ["bo_mt"]'
	expect_drawn mt.out bo_mt::main
}

# 3. LocalSet::run_until inside a hand-written block_on: the local task is
# polled inside the root's poll; the root waits on a oneshot; its
# block_on call is the line written.
test_local_run_until() {
	local loc
	run_fixture local "$BO/target/release/bo_local"
	expect_root local.json bo_local bo_local::main 1 0 channel local_recv local_outer
	loc=$(jqf local.json '.tasks[] | select(.kind == "block_on") | .spawn_location')
	[[ "$loc" == "src/bin/bo_local.rs:$(marker_line bo_local block_on):"* ]] ||
		fail "block_on location $loc, expected the marked line"
	expect_jq local.json "the spawn_local task, parked on its sleep" \
		'[.tasks[] | select(.kind == "local")] | length == 1 and .[0].waiting_for.kind == "timer"'
}

# 4. A hung #[tokio::test] built by `cargo test --no-run` (a dev build):
# the root is named after the test, its thread after the test too.
test_tokio_test() {
	local exe
	exe=$(cd "$BO" && cargo test --no-run --offline --test hang --message-format=json 2>/dev/null |
		jq -r 'select(.reason == "compiler-artifact" and .target.name == "hang"
			and .executable != null) | .executable')
	[ -x "$exe" ] || fail "no test binary from cargo test --no-run (make programs)"
	SRC=$BO/tests SRC_PREFIX=tests
	tool test run --duration 2 --stuck-after 1s --json test.json -- "$exe" --test-threads=1
	expect_rc test 0
	expect_root test.json hang hang::test_user_flow_hangs_on_oneshot 1 0 channel test_recv test_outer
	# libtest names the thread after the test (comm keeps 15 bytes)
	expect_jq test.json "on the test's thread" \
		'[.tasks[] | select(.kind == "block_on") | .worker_threads[].name]
		 == ["test_user_flow_hangs_on_oneshot" | .[0:15]]'
	expect_drawn test.out hang::test_user_flow_hangs_on_oneshot
}

# 5. async-std's task::block_on: async-io's loop, parked on a channel. Its
# executor threads' own loops are runtime tasks; async-global-executor's
# init ran a block_on of its own, which completed.
test_async_std() {
	SRC=$AT/src SRC_PREFIX=src
	run_fixture astd "$AT/target/release/astd_block_on"
	expect_root astd.json astd_block_on astd_block_on::main 1 0 channel astd_recv astd_outer
	expect_jq astd.json "the executor threads' loops are the runtime's" '.metadata.runtime_tasks >= 1'
}

# 6. smol::block_on, parked on a channel.
test_smol() {
	SRC=$AT/src SRC_PREFIX=src
	run_fixture smol "$AT/target/release/smol_block_on"
	# smol's block_on is inlined into main: the chain starts at its call
	expect_root smol.json smol_block_on smol_block_on::main 1 0 channel smol_recv block_on smol_outer
	expect_drawn smol.out smol_block_on::main
}

# 7. The root in a deadlock: main holds a Mutex and joins a task that waits
# for it; --fail-on-deadlock ends the session with status 3.
test_deadlock() {
	local root task
	tool dl run --locks --fail-on-deadlock --duration 20 --json dl.json -- \
		"$BO/target/release/bo_deadlock"
	expect_rc dl 3
	expect_jq dl.json "ended by the deadlock" '.metadata.ended == "deadlock found"'
	root=$(jqf dl.json '.tasks[] | select(.kind == "block_on") | .id')
	task=$(jqf dl.json '.tasks[] | select(.kind == "async") | .id')
	expect_eq "the cycle: the root and the task" "$(jqf dl.json '.deadlocks[0].tasks | sort | join(",")')" \
		"$(printf '%s\n' "$root" "$task" | sort | paste -sd,)"
	expect_jq dl.json "the root holds the Mutex" '.locks[0].holders | map(.task) == [$r]' \
		--argjson r "$root"
}

# 8. A recording replays to the same roots.
test_replay() {
	local fields='[.tasks[] | {id, kind, name, state, poll_count, wakes, spawn_location,
		await_site, await_stack, waiting_for}], .metadata.block_on_roots, .metadata.block_on_polls'
	tool live run --duration 1.5 --record rec.aib --json live.json -- "$BO/target/release/bo_mt"
	expect_rc live 0
	tool replay replay rec.aib --json replay.json
	expect_rc replay 0
	expect_eq "roots live vs replayed" "$(jqf replay.json "$fields")" "$(jqf live.json "$fields")"
	expect_root replay.json bo_mt bo_mt::main 4 3 io read main_await fetch_posts
}

# 9. Attached to a process whose root is parked: the thread is found in its
# loop (its stack unwound from the syscall it waits in), the root reported
# with its block_on call and name, parked at least since the attach.
attach_parked() { # PROGRAM NAME FUNCTION LOCATION-FILE
	local tgt r
	"$1" >target.out 2>target.err &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY$' 10 "$tgt" "$2"
	sleep 0.2 # READY is printed just before the last await
	tool attach --pid "$tgt" --duration 1 --stuck-after 0.5s --json "$2.json"
	expect_rc attach 0
	kill "$tgt"
	grep -q '^async-inspect-bpf: 1 threads parked in a block_on' attach.err ||
		fail "no parked thread found: $(grep -v '^  ' attach.err | tr '\n' '|')"
	r=$(live_root "$2.json")
	[ "${r#ERR }" == "$r" ] || fail "${r#ERR }"
	expect_eq "$2: name, state, polls" "$(jq -r '"\(.name) \(.state) \(.poll_count)"' <<<"$r")" "$3 idle 0"
	jq -e --arg f "$4" '.spawn_location | startswith($f)' <<<"$r" >/dev/null ||
		fail "$2: block_on location $(jq -r .spawn_location <<<"$r")"
	jq -e '.blocked_since_attach and (.await_note | test("block_on parked before the attach"))' \
		<<<"$r" >/dev/null || fail "$2: $(jq -c '{blocked_since_attach, await_note}' <<<"$r")"
	grep -q "^Task root[0-9]* $3  block_on at .*" attach.out || fail "$2: no stuck root in the report"
}

test_attach_parked_ct() { attach_parked "$BO/target/release/bo_ct" bo_ct bo_ct::main src/bin/bo_ct.rs:; }
test_attach_parked_mt() { attach_parked "$BO/target/release/bo_mt" bo_mt bo_mt::main src/bin/bo_mt.rs:; }
test_attach_parked_smol() {
	attach_parked "$AT/target/release/smol_block_on" smol smol_block_on::main src/smol_block_on.rs:
}

# 10. ... and followed from its next park on: a root waking every 100 ms
# is polled, woken and parked at its sleep.
test_attach_tick() {
	local tgt r
	"$BO/target/release/bo_ct" tick >target.out 2>target.err &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY$' 10 "$tgt" bo_ct
	tool attach --pid "$tgt" --duration 1.5 --json tick.json
	expect_rc attach 0
	kill "$tgt"
	r=$(live_root tick.json)
	[ "${r#ERR }" == "$r" ] || fail "${r#ERR }"
	jq -e '.poll_count >= 5 and .wakes.by_thread >= 5' <<<"$r" >/dev/null ||
		fail "not followed after the attach: $(jq -c '{poll_count, wakes}' <<<"$r")"
	expect_eq "await site" "$(jq -r .await_site <<<"$r")" "src/bin/bo_ct.rs:$(marker_line bo_ct tick)"
}

# 11. Exact counts: a root that yields 1000 times is polled 1001 times and
# woken 1000 times, then completes. current_thread defers a yield's wake
# to its loop (after the park: no future polled then); the park thread
# (multi_thread's block_on) is woken inside the root's own poll.
yield_counts() { # FLAVOR WAKES-BY
	local r
	tool "$1" run --json "$1.json" -- "$BO/target/release/bo_yield" "$1" 1000
	expect_rc "$1" 0
	grep -q '^rounds 1000 ' "$1.out" || fail "bo_yield did not finish: $(head -c 200 "$1.out")"
	r=$(jqf "$1.json" '[.tasks[] | select(.kind == "block_on")] | if length == 1 then .[0] | tojson
		else "ERR \(length) roots" end')
	[ "${r#ERR }" == "$r" ] || fail "${r#ERR }"
	expect_eq "$1: state, polls, wakes ($2)" \
		"$(jq -r --arg by "$2" '"\(.state) \(.poll_count) \(.wakes.total) \(.wakes[$by])"' <<<"$r")" \
		"completed 1001 1000 1000"
	expect_jq "$1.json" "no task, one root" \
		'.metadata | .total_tasks == 0 and .block_on_roots == 1 and .block_on_polls == 1001'
}

# 12. block_in_place's nested block_on: a root on a worker thread, inside
# the poll of the task that called it (its parent); main's root awaits
# that task's JoinHandle.
test_block_in_place() {
	local j=nested.json task
	run_fixture nested "$BO/target/release/bo_nested"
	task=$(jqf $j '[.tasks[] | select(.kind == "async")] | if length == 1 then .[0].id else "ERR" end')
	expect_jq $j "two roots" '[.tasks[] | select(.kind == "block_on")] | length == 2'
	expect_eq "the nested root: parent, block_on line, await, state" \
		"$(jqf $j '.tasks[] | select(.kind == "block_on" and .parent_id != null)
			| "\(.parent_id) \(.spawn_location | split(":")[0:2] | join(":")) \(.await_site) \(.waiting_for.kind) \(.state)"')" \
		"$task src/bin/bo_nested.rs:$(marker_line bo_nested inner_block_on) src/bin/bo_nested.rs:$(marker_line bo_nested inner_recv) channel idle"
	expect_eq "main's root waits for that task" \
		"$(jqf $j '.tasks[] | select(.kind == "block_on" and .parent_id == null) | "\(.name) \(.waiting_for.kind) \(.waiting_for.task) \(.await_site)"')" \
		"bo_nested::main join $task src/bin/bo_nested.rs:$(marker_line bo_nested main_join)"
	expect_jq $j "the task runs the nested block_on (its poll never ends)" \
		'.tasks[] | select(.kind == "async") | .state == "running"'
}

test_yield_counts_ct() { yield_counts ct by_thread; }
test_yield_counts_mt() { yield_counts mt by_self; }

ALL_TESTS=(ct_main mt_main local_run_until tokio_test async_std smol deadlock replay
	attach_parked_ct attach_parked_mt attach_parked_smol attach_tick yield_counts_ct yield_counts_mt
	block_in_place)
NONROOT_TESTS=()
main "$@"
