#!/usr/bin/env bash
# End-to-end tests: the real tool (build/async-inspect-bpf) against the Rust
# fixtures in tests/programs (`make e2e`, as root; `make all programs` first).
#
#   bash tests/e2e/run.sh [TEST...]     # all tests, or only the named ones
#
# Output: one line per test, `PASS name` or `FAIL name: reason` (diagnostics
# for a failure go to stderr), then one summary line `N passed, M failed`.
# Exit status 0 only if every test passed (and ran as root).
#
# Expected spawn locations come from the fixtures' marker comments
# (`// aib:LABEL`, see tests/programs/README.md): "src/bin/NAME.rs:LINE:COL"
# with LINE from `grep -nw aib:LABEL` and any column.
#
# Environment: AIB_E2E_KEEP=1 keeps the scratch directory (its path goes to
# stderr); AIB_E2E_TIMEOUT caps every tool invocation (seconds, default 30).
# shellcheck disable=SC2016,SC2317 # jq programs in single quotes; tests are called by name
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/target/release
SRC=$ROOT/tests/programs/src/bin
SRC_PREFIX=src/bin
PREREQS=(multi_thread current_thread nested attach_target demo panics heavy)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# ---------------------------------------------------------------------------
# Tests

# 1. multi_thread under `run`: exact counts per location and in metadata,
# the spinner's long poll, polls of completed tasks, exit status 0.
test_multi_thread() {
	local j=mt.json sleepers spinner pingpong
	tool mt run --json "$j" -- "$PROGS/multi_thread"
	expect_rc mt 0
	grep -q '^multi_thread: ok$' mt.out || fail "the fixture did not print 'multi_thread: ok'"
	sleepers=$(loc_of "$j" multi_thread sleepers)
	spinner=$(loc_of "$j" multi_thread spinner)
	pingpong=$(loc_of "$j" multi_thread pingpong)
	expect_counts "$j" "$sleepers" sleepers 20 20 0
	expect_counts "$j" "$spinner" spinner 1 1 0
	expect_counts "$j" "$pingpong" pingpong 8 8 0
	expect_eq "number of locations" "$(jqf "$j" '.locations | length')" 3
	expect_eq "tasks listed (29 spawned, and main's future: a block_on root)" \
		"$(jqf "$j" '"\(.tasks | length) \([.tasks[] | select(.kind == "block_on")] | length)"')" "30 1"
	expect_eq "metadata total/completed/alive/lost/runtime" \
		"$(jqf "$j" '.metadata | "\(.total_tasks)/\(.completed_tasks)/\(.alive_tasks)/\(.lost_events)/\(.runtime)"')" \
		"29/29/0/0/tokio"
	expect_jq "$j" "spinner run_time_ms >= 45" \
		'[.tasks[] | select(.spawn_location == $l)] | length == 1 and .[0].run_time_ms >= 45' \
		--arg l "$spinner"
	expect_jq "$j" "every completed task has poll_count >= 1" \
		'[.tasks[] | select(.state == "completed" and .poll_count < 1)] | length == 0'
}

# 2. current_thread: yielders polled exactly 4 times, all on the main thread.
test_current_thread() {
	local j=ct.json yielders producer consumer
	tool ct run --json "$j" -- "$PROGS/current_thread"
	expect_rc ct 0
	yielders=$(loc_of "$j" current_thread yielders)
	producer=$(loc_of "$j" current_thread producer)
	consumer=$(loc_of "$j" current_thread consumer)
	expect_counts "$j" "$yielders" yielders 10 10 0
	expect_counts "$j" "$producer" producer 1 1 0
	expect_counts "$j" "$consumer" consumer 1 1 0
	expect_eq "metadata total/completed/alive" \
		"$(jqf "$j" '.metadata | "\(.total_tasks)/\(.completed_tasks)/\(.alive_tasks)"')" "12/12/0"
	expect_eq "poll counts of the yielders" \
		"$(jqf "$j" --arg l "$yielders" '[.tasks[] | select(.spawn_location == $l) | .poll_count] | map(tostring) | join(",")')" \
		"4,4,4,4,4,4,4,4,4,4"
	expect_jq "$j" "every task polled on exactly one thread" \
		'.tasks | length == 13 and all(.[]; (.worker_threads | length) == 1)'
	expect_jq "$j" "all tasks polled on the same thread, the main thread (tid == pid)" \
		'. as $d | [$d.tasks[].worker_threads[].tid] | unique == [$d.metadata.pid]'
}

# 3. nested: parents, children, blocking tasks and who spawned whom.
test_nested() {
	local j=nested.json parent child blocking
	tool nested run --json "$j" -- "$PROGS/nested"
	expect_rc nested 0
	parent=$(loc_of "$j" nested parent)
	child=$(loc_of "$j" nested child)
	blocking=$(loc_of "$j" nested blocking)
	expect_counts "$j" "$parent" parent 4 4 0
	expect_counts "$j" "$child" child 12 12 0
	expect_counts "$j" "$blocking" blocking 12 12 0
	expect_eq "metadata total/completed/alive" \
		"$(jqf "$j" '.metadata | "\(.total_tasks)/\(.completed_tasks)/\(.alive_tasks)"')" "28/28/0"
	expect_jq "$j" "blocking tasks have kind \"blocking\", the others \"async\"" \
		'all(.tasks[]; (.spawn_location == $b) == (.kind == "blocking")) and
		 all(.tasks[]; .kind == "blocking" or .kind == "async" or .kind == "block_on")' --arg b "$blocking"
	expect_jq "$j" "parents were spawned by main's future (its block_on root)" \
		'([.tasks[] | select(.kind == "block_on") | .id]) as $root
		 | [.tasks[] | select(.spawn_location == $p) | .parent_id] == $root + $root + $root + $root' \
		--arg p "$parent"
	expect_jq "$j" "every child's parent_id is one of the 4 parents, 3 children each" '
		([.tasks[] | select(.spawn_location == $p) | .id] | sort) as $parents
		| [.tasks[] | select(.spawn_location == $c) | .parent_id]
		| ($parents | length == 4) and length == 12
		  and all(.[]; . as $x | $parents | index([$x]) != null)
		  and (group_by(.) | map(length)) == [3, 3, 3, 3]' --arg p "$parent" --arg c "$child"
	# Concurrent spawns on two threads must not swap records: each spawn's
	# predicted id is checked where tokio hands the id on (SPAWN_ID).
	expect_jq "$j" "every blocking task's parent is a distinct child" '
		([.tasks[] | select(.spawn_location == $c) | .id] | sort) as $children
		| [.tasks[] | select(.spawn_location == $b) | .parent_id] | sort
		| . == $children' --arg b "$blocking" --arg c "$child"
}

# 4./5. Late attach to attach_target: start it, wait for READY, attach, wait
# for the tool's start-up line, then create the trigger. The target exits by
# itself; the tool must then finish with exit status 0 and a final report.
attach_scenario() { # TOOL-ARGS... (before the pid)
	local j=attach.json
	attach_with_trigger attach_target "$j" "$@"
	grep -q 'target exited' tool.err || fail "no 'target exited' on the tool's stderr"
	[ -s tool.out ] || fail "no text report on stdout"
	BURST=$(loc_of "$j" attach_target burst)
	expect_counts "$j" "$BURST" burst 15 15 0
	expect_eq "metadata late_attach/ended" \
		"$(jqf "$j" '.metadata | "\(.late_attach)/\(.ended)"')" "true/target exited"
}

test_attach_pid() {
	local j=attach.json
	attach_scenario --pid
	expect_jq "$j" "burst tasks: spawn seen, not cancelled" \
		'[.tasks[] | select(.spawn_location == $b)] | length == 15 and
		 all(.[]; .spawn_seen == true and .cancelled == false)' --arg b "$BURST"
	expect_eq "tasks with a null spawn_location (the 3 tickers): count/spawn_seen" \
		"$(jqf "$j" '[.tasks[] | select(.spawn_location == null)] | "\(length)/\(map(.spawn_seen) | unique)"')" \
		"3/[false]"
	expect_jq "$j" "the 3 tickers were cancelled at shutdown" \
		'[.tasks[] | select(.spawn_location == null) | .cancelled] == [true, true, true]'
	expect_eq "metadata total_tasks (15 burst + 3 tickers)" "$(jqf "$j" '.metadata.total_tasks')" 18
	expect_eq "locations" "$(jqf "$j" '[.locations[].location] | length')" 2
}

test_attach_alias() {
	attach_scenario attach --pid
}

# 6. --record, then replay (as user nobody): the same report.
test_record_replay() {
	local rec live replayer part
	need_recording
	cp "$SHARED/rec.bin" "$T/pub/replay.rec"
	chmod 644 "$T/pub/replay.rec"
	rec=$T/pub/replay.rec
	live=$SHARED/live.json
	RC=0
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		replayer=$(nobody_bin)
		(cd / && timeout -k 5 "$TOOL_TIMEOUT" setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
			"$replayer" replay "$rec" --json -) >replay.json 2>replay.err || RC=$?
	else
		echo "e2e: setpriv unavailable, replaying as $(id -un)" >&2
		timeout -k 5 "$TOOL_TIMEOUT" "$BIN" replay "$rec" --json - >replay.json 2>replay.err || RC=$?
	fi
	expect_rc replay 0
	[ ! -s replay.err ] || fail "replay wrote to stderr: $(head -c 300 replay.err | tr '\n' '|')"
	expect_eq "tasks in the replayed report" "$(jqf replay.json '.tasks | length')" "$FULL"
	for part in tasks locations metadata; do
		jq -S ".$part" "$live" >"live.$part"
		jq -S ".$part" replay.json >"replay.$part"
		if ! diff "live.$part" "replay.$part" >"$part.diff"; then
			fail "$part differ between live and replay: $(head -n 6 "$part.diff" | tr '\n' '|')"
		fi
	done
	jq -S . "$live" >live.all
	jq -S . replay.json >replay.all
	cmp -s live.all replay.all || fail "the live and replayed JSON documents differ"
}

# 7a. A recording cut inside a record: replays what is there, with a warning.
test_replay_truncated() {
	local size mid cut
	need_recording
	size=$(stat -c %s "$SHARED/rec.bin")
	head -c $((size - 7)) "$SHARED/rec.bin" >end-cut.rec
	tool endcut replay end-cut.rec --json endcut.json
	expect_rc endcut 0
	grep -q '^async-inspect-bpf: warning: .*truncated' endcut.err ||
		fail "no truncation warning on stderr: $(head -c 300 endcut.err | tr '\n' '|')"
	expect_jq endcut.json "cut at the end: no more tasks than the full recording ($FULL)" \
		'(.tasks | length) <= $n and .metadata.total_tasks <= $n and (.tasks | length) >= 1' --argjson n "$FULL"
	# ... and cut 5 bytes into a record in the middle of the file
	mid=$(record_boundary "$SHARED/rec.bin" $((size / 2))) || fail "cannot walk the records of the recording"
	cut=$((mid + 5))
	head -c "$cut" "$SHARED/rec.bin" >mid-cut.rec
	tool midcut replay mid-cut.rec --json midcut.json
	expect_rc midcut 0
	grep -q "^async-inspect-bpf: warning: .*truncated at byte $mid " midcut.err ||
		fail "no warning naming the cut record at byte $mid: $(head -c 300 midcut.err | tr '\n' '|')"
	expect_jq midcut.json "cut in the middle: no more tasks than the full recording ($FULL), ended 'recording cut short'" \
		'(.tasks | length) <= $n and .metadata.total_tasks <= $n and
		 .metadata.ended == "recording cut short"' --argjson n "$FULL"
	# ... and cut right after the header: a model with no task at all
	# (qsort was handed NULL; `make sanitize` replays this file under UBSan)
	head -c 32 "$SHARED/rec.bin" >header-only.rec
	tool hdronly replay header-only.rec --json hdronly.json
	expect_rc hdronly 0
	expect_jq hdronly.json "a header alone: no task" '(.tasks | length) == 0 and .metadata.total_tasks == 0'
}

# 7b. A recording with a bad magic: a clean one-line error.
test_replay_bad_magic() {
	need_recording
	cp "$SHARED/rec.bin" bad-magic.rec
	printf 'NOTATRAC' | dd of=bad-magic.rec bs=1 seek=0 conv=notrunc status=none
	tool badmagic replay bad-magic.rec
	expect_error badmagic 1 'bad-magic\.rec.*(not a recording|header)'
}

# 7c. A record kind overwritten with 0xffff in the middle: a clean one-line
# error naming the byte, the report and JSON of the records before it, and a
# failed exit status (it was all or nothing: no report at all).
test_replay_bad_kind() {
	local size mid
	need_recording
	size=$(stat -c %s "$SHARED/rec.bin")
	mid=$(record_boundary "$SHARED/rec.bin" $((size / 2))) || fail "cannot walk the records of the recording"
	cp "$SHARED/rec.bin" bad-kind.rec
	printf '\377\377' | dd of=bad-kind.rec bs=1 seek="$mid" conv=notrunc status=none
	tool badkind replay bad-kind.rec --json badkind.json
	expect_error badkind 1 "corrupt.*byte $mid.*records before it"
	grep -q '^Tasks: ' badkind.out || fail "no report of the records before the corrupt one"
	expect_jq badkind.json "the records before byte $mid: some tasks, no more than the full recording ($FULL)" \
		'(.tasks | length) >= 1 and .metadata.total_tasks <= $n' --argjson n "$FULL"
}

# 7b. `make demo`'s screen (tools/demo.sh on the demo built as users ship it,
# with line tables): the stuck task tops it, named, with its await's
# file:line and what it waits for.
test_demo_screen() {
	local line
	line=$(marker_line demo await_config)
	RC=0
	DEMO_SECONDS=3 timeout -k 5 "$TOOL_TIMEOUT" bash "$ROOT/tools/demo.sh" >screen.out 2>screen.err || RC=$?
	expect_rc screen 0
	grep -A3 '^Stuck tasks' screen.out >stuck.txt || fail "no stuck tasks on the demo's screen"
	expect_eq "the stuck task" "$(sed -n 2p stuck.txt | awk '{print $1, $2, $3, $4, $5}')" \
		"Task 3 load_config spawned at"
	grep -q "└─> load_config()  src/bin/demo.rs:$line   ◄── BLOCKED" stuck.txt ||
		fail "load_config's await (src/bin/demo.rs:$line) not on the screen: $(sed -n 3p stuck.txt)"
	grep -q "waiting for: channel (oneshot receive)" stuck.txt || fail "what it waits for is not said"
	! grep -q "not found: .*line tables" screen.err || fail "the demo was built without line tables"
}

# 8. --duration on a program that runs forever: the tool stops it in time and
# reports the stuck task as alive and idle.
test_duration() {
	local j=demo.json start elapsed stuck toolpid demopid limit=10
	start=$(now_ms)
	timeout -k 5 "$TOOL_TIMEOUT" "$BIN" run --duration 1 --json "$j" -- "$PROGS/demo" >demo.out 2>demo.err &
	toolpid=$!
	bg "$toolpid"
	wait_for_line demo.err '^async-inspect-bpf: started pid [0-9]+ ' 10 "$toolpid" "the tool"
	demopid=$(sed -n 's/^async-inspect-bpf: started pid \([0-9]*\) .*/\1/p' demo.err | head -n 1)
	bg "$demopid" # killed by the runner if the tool leaves it behind
	until ! kill -0 "$toolpid" 2>/dev/null; do
		[ $(($(now_ms) - start)) -lt $((limit * 1000)) ] ||
			fail "run --duration 1 -- demo still running after ${limit} s (limit 4 s)"
		sleep 0.05
	done
	elapsed=$(($(now_ms) - start))
	RC=0
	wait "$toolpid" || RC=$?
	expect_rc demo 0
	! kill -0 "$demopid" 2>/dev/null || fail "the demo (pid $demopid) still runs after the tool exited"
	expect_eq "metadata.ended" "$(jqf "$j" .metadata.ended)" "duration reached"
	expect_eq "metadata.pid" "$(jqf "$j" .metadata.pid)" "$demopid"
	stuck=$(loc_of "$j" demo stuck_config)
	expect_counts "$j" "$stuck" stuck_config 1 0 1
	expect_jq "$j" "stuck_config is idle with idle_ms >= 800" \
		'[.tasks[] | select(.spawn_location == $s)] | length == 1 and
		 .[0].state == "idle" and .[0].idle_ms >= 800' --arg s "$stuck"
	[ "$elapsed" -le 4000 ] || fail "run --duration 1 -- demo took ${elapsed} ms (limit 4000 ms)"
	expect_jq "$j" "metadata.duration_ms of a --duration 1 session is 900..2000" \
		'.metadata.duration_ms >= 900 and .metadata.duration_ms <= 2000'
}

# 9. Errors: one line on stderr, a non-zero status, no crash.
test_err_no_process() {
	local pid=999999
	while kill -0 "$pid" 2>/dev/null; do pid=$((pid + 1)); done
	tool err --pid "$pid"
	expect_error err '' "no process.*$pid"
}

test_err_no_args() {
	tool err
	expect_error err 2 'pid|usage|run'
}

test_err_no_tokio() {
	local cc
	cc=$(command -v cc || command -v gcc || command -v clang) || fail "no C compiler (cc, gcc, clang)"
	printf 'int main(void) { return 0; }\n' >plain.c
	"$cc" -o plain plain.c
	tool err run -- ./plain
	expect_error err 1 'no tokio runtime'
}

test_err_not_root() {
	local b=$BIN
	RC=0
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null || fail "setpriv (util-linux) not found"
		b=$(nobody_bin)
		(cd / && timeout -k 5 "$TOOL_TIMEOUT" setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
			"$b" run -- "$PROGS/multi_thread") >err.out 2>err.err || RC=$?
	else
		timeout -k 5 "$TOOL_TIMEOUT" "$b" run -- "$PROGS/multi_thread" >err.out 2>err.err || RC=$?
	fi
	expect_error err 1 'permission|root'
	! grep -q 'multi_thread: ok' err.out || fail "the program ran without the tool's permission"
}

test_err_missing_cmd() {
	tool err run -- /nonexistent/cmd
	expect_error err 1 '/nonexistent/cmd.*(no such file|not found)'
}

test_err_replay_missing() {
	tool err replay /nonexistent/recording
	expect_error err 1 '/nonexistent/recording.*(no such file|not found)'
}

# 9b. Outputs: an output that would destroy the recording is refused, the
# recording intact; a --json that cannot be written fails before the program
# runs (it failed only after the whole session); a full disk is said as one,
# on the JSON and on the recording, and is a failed exit status (the
# recording's was 0), with the report still complete.
test_err_output_collision() {
	need_recording
	cp "$SHARED/rec.bin" r.rec
	tool err replay r.rec --json ./r.rec
	expect_error err 2 'recording and --json name the same file'
	cmp -s r.rec "$SHARED/rec.bin" || fail "the recording was changed"
}

test_err_json_unwritable() {
	local start elapsed
	start=$(now_ms)
	tool err run --json /nonexistent/dir/out.json -- "$PROGS/multi_thread"
	elapsed=$(($(now_ms) - start))
	expect_error err 1 'cannot write /nonexistent/dir/out.json'
	! grep -q 'multi_thread: ok' err.out || fail "the program ran before the unwritable --json was refused"
	[ "$elapsed" -le 3000 ] || fail "the unwritable --json was refused after ${elapsed} ms"
}

test_err_disk_full() {
	need_recording
	tool json replay "$SHARED/rec.bin" --json /dev/full
	expect_error json 1 'cannot write /dev/full: no space left on device'
	# a recording that cannot even start is refused before the program runs
	tool early run --record /dev/full -- "$PROGS/current_thread"
	expect_error early 1 'cannot write /dev/full: no space left on device'
	# ... and one whose disk fills up mid-session: an 8 KiB tmpfs
	mkdir small
	mount -t tmpfs -o size=8k aib-e2e-full small || fail "cannot mount a small tmpfs"
	trap 'umount small 2>/dev/null || true' EXIT
	tool rec run --record small/r.rec -- "$PROGS/multi_thread"
	umount small
	expect_rc rec 1
	grep -qi '^async-inspect-bpf: recording to small/r.rec failed: no space left on device' rec.err ||
		fail "no 'no space left' for the recording: $(head -c 300 rec.err | tr '\n' '|')"
	grep -q 'ended: target exited' rec.out || fail "no report after the recording failed"
}

# 9c. A thread id is no pid: refused, naming the process (uprobe_multi
# refused it and the fallback traced that one thread).
test_err_thread_id() {
	local pid tid=
	"$PROGS/demo" >demo.out 2>&1 &
	pid=$!
	bg "$pid"
	for _ in $(seq 50); do
		tid=$(ls "/proc/$pid/task" 2>/dev/null | grep -vx "$pid" | head -n 1) || true
		[ -n "$tid" ] && break
		sleep 0.1
	done
	[ -n "$tid" ] || fail "the demo started no second thread"
	tool err --pid "$tid" --duration 1
	expect_error err 1 "$tid is a thread of process $pid: give --pid $pid"
}

# 9d. The tool SIGKILLed while it keeps its `run` child stopped for the
# detach: the child must not stay stopped (it did, forever, unless its
# process group was orphaned). Its watchdog continues it.
test_sigkill_in_detach() {
	local toolpid child= state=
	"$BIN" run --duration 1 -- "$PROGS/demo" >tool.out 2>tool.err &
	toolpid=$!
	bg "$toolpid"
	for _ in $(seq 100); do
		child=$(pgrep -P "$toolpid" -x demo) && break
		sleep 0.05
	done
	[ -n "$child" ] || fail "no demo child of the tool"
	bg "$child"
	# the stop comes after --duration 1: watch for it closely (it lasts ~0.15 s)
	for _ in $(seq 5000); do
		state=$(awk '{print $3}' "/proc/$child/stat" 2>/dev/null) || break
		[ "$state" = T ] && break
	done
	[ "$state" = T ] || fail "never saw the child stopped for the detach (state '$state')"
	kill -KILL "$toolpid"
	sleep 1
	state=$(awk '{print $3}' "/proc/$child/stat" 2>/dev/null) || state=gone
	[ "$state" != T ] || fail "the child was left stopped after the tool died"
	[ "$state" != gone ] || fail "the child died (it should have been continued, not killed)"
	kill -TERM "$child"
}

# 11. `run` forwards the program's own exit status (0 is checked by
# test_multi_thread): demo exits 2 on an unknown argument.
test_exit_status() {
	tool demo run -- "$PROGS/demo" --no-such-option
	expect_rc demo 2
	grep -q '^usage: demo' demo.err || fail "the demo did not print its usage error"
	grep -q '^async-inspect-bpf: target exited' demo.err || fail "no 'target exited' from the tool"
	grep -q 'ended: target exited' demo.out || fail "no report on stdout"
}

# 10. Plausible timings for the sleepers of multi_thread.
test_timings() {
	local j=mt.json sleepers
	tool mt run --json "$j" -- "$PROGS/multi_thread"
	expect_rc mt 0
	sleepers=$(loc_of "$j" multi_thread sleepers)
	# idle, each (how long depends on the machine's load: the poll that
	# armed the timer may end late in its millisecond; no timing asserted)
	expect_jq "$j" "20 sleepers, each with idle_ms > 0" \
		'[.tasks[] | select(.spawn_location == $s)] | length == 20 and all(.[]; .idle_ms > 0)' \
		--arg s "$sleepers"
	expect_jq "$j" "every sleeper: duration_ms >= idle_ms + run_time_ms - 0.01" \
		'all(.tasks[] | select(.spawn_location == $s); .duration_ms >= .idle_ms + .run_time_ms - 0.01)' \
		--arg s "$sleepers"
}

# Ctrl-C (SIGINT to the tool): a final report, no probe link left in the
# kernel, and under --pid a target that runs on untouched.
uprobe_links() {
	bpftool link list 2>/dev/null | grep -c 'uprobe_multi' || true
}

test_sigint_run() {
	local j=int.json toolpid demopid
	timeout -k 5 "$TOOL_TIMEOUT" "$BIN" run --json "$j" -- "$PROGS/demo" >int.out 2>int.err &
	toolpid=$!
	bg "$toolpid"
	wait_for_line int.err '^async-inspect-bpf: started pid [0-9]+ ' 10 "$toolpid" "the tool"
	demopid=$(sed -n 's/^async-inspect-bpf: started pid \([0-9]*\) .*/\1/p' int.err | head -n 1)
	bg "$demopid"
	sleep 1
	kill -INT "$(pgrep -P "$toolpid")" # the tool itself, not timeout (which signals twice)
	RC=0
	wait "$toolpid" || RC=$?
	expect_rc int 0
	expect_eq "metadata.ended" "$(jqf "$j" .metadata.ended)" "interrupted"
	grep -q '^Tasks: ' int.out || fail "no report after Ctrl-C"
	! kill -0 "$demopid" 2>/dev/null || fail "the demo (pid $demopid) still runs after the tool exited"
	expect_eq "uprobe_multi links left" "$(uprobe_links)" 0
}

test_sigint_pid() {
	local j=intp.json toolpid demopid
	"$PROGS/demo" >intp-demo.out 2>&1 &
	demopid=$!
	bg "$demopid"
	sleep 0.3
	timeout -k 5 "$TOOL_TIMEOUT" "$BIN" --pid "$demopid" --json "$j" >intp.out 2>intp.err &
	toolpid=$!
	bg "$toolpid"
	wait_for_line intp.err '^async-inspect-bpf: attached to pid [0-9]+ ' 10 "$toolpid" "the tool"
	sleep 1
	kill -INT "$(pgrep -P "$toolpid")"
	RC=0
	wait "$toolpid" || RC=$?
	expect_rc intp 0
	expect_eq "metadata.ended" "$(jqf "$j" .metadata.ended)" "interrupted"
	kill -0 "$demopid" 2>/dev/null || fail "the target died when the tool was interrupted"
	grep -qE 'State:[[:space:]]+[RS]' "/proc/$demopid/status" || fail "the target is not running: $(grep State: /proc/$demopid/status)"
	expect_eq "uprobe_multi links left" "$(uprobe_links)" 0
	expect_jq "$j" "tasks were seen" '.metadata.total_tasks > 0 and .metadata.total_polls > 0'
}

# A reader that falls behind: the tool is stopped for a while under a busy
# target with 1 MiB rings. Records are lost, never silently: counted in the
# JSON, said on stderr and in the report; the session ends normally.
test_overflow() {
	local j=of.json toolpid
	timeout -k 5 "$TOOL_TIMEOUT" "$BIN" run --ringbuf-mb 1 --json "$j" -- "$PROGS/pingpong" 64 10000 \
		>of.out 2>of.err &
	toolpid=$!
	bg "$toolpid"
	wait_for_line of.err '^async-inspect-bpf: started pid [0-9]+ ' 10 "$toolpid" "the tool"
	kill -STOP "$(pgrep -P "$toolpid")"
	sleep 1
	kill -CONT "$(pgrep -P "$toolpid")"
	RC=0
	wait "$toolpid" || RC=$?
	expect_rc of 0
	expect_jq "$j" "lost events counted" '.metadata.lost_events > 0'
	grep -q 'events lost so far (ring buffer full)' of.err || fail "no loss said on stderr"
	grep -qE 'Lost: [1-9]' of.out || fail "no loss in the report: $(grep -m1 'Lost:' of.out)"
}

# Heavy load: 500,000 short tasks on two workers, then 1000 more in a
# runtime nested in spawn_blocking and 1000 from inside block_in_place:
# nothing dropped in BPF, every count exact (a 64 MiB ring per CPU, so a
# loaded machine loses nothing either).
test_heavy_load() {
	local j=heavy.json label
	timeout -k 5 300 "$BIN" run --ringbuf-mb 64 --json "$j" -- "$PROGS/heavy" 500000 \
		>heavy.out 2>heavy.err || fail "the tool failed: $(tail -n 2 heavy.err | tr '\n' '|')"
	grep -q '^heavy: ok 500000$' heavy.out || fail "the fixture did not finish"
	expect_eq "lost, dropped" "$(jqf "$j" '.metadata | "\(.lost_events) \(.dropped_events)"')" "0 0"
	# per location (completed tasks past 100,000 are counted there, not listed)
	for label in burst:500000 nested_burst:1000 bip_burst:1000; do
		expect_eq "${label%%:*} spawned/completed/alive" \
			"$(jqf "$j" --arg l "$(loc_of "$j" heavy "${label%%:*}")" \
				'.locations[] | select(.location == $l) | "\(.spawned)/\(.completed)/\(.alive)"')" \
			"${label#*:}/${label#*:}/0"
	done
	expect_jq "$j" "the spawn_blocking task is a task, its runtime a root" \
		'.metadata.total_tasks == 502001 and .metadata.block_on_roots == 3'
}

# Drops in BPF are counted by reason, said live, in the report and the
# JSON: 5000 tasks parked at once overflow the 4096 await stacks kept.
test_drops_by_reason() {
	local j=drops.json
	tool drops run --duration 2 --json "$j" -- "$PROGS/heavy" park 5000
	expect_rc drops 0
	expect_jq "$j" "await stacks dropped, and only those" \
		'.metadata.dropped_events > 900 and .metadata.dropped_by_reason.await_stacks ==
		 .metadata.dropped_events and .metadata.dropped_by_reason.poll_depth == 0'
	grep -Eq '^async-inspect-bpf: [0-9]+ events dropped so far: [0-9]+ await_stacks \(await-stack table full\);$' \
		drops.err || fail "not said live: $(grep -m1 dropped drops.err)"
	grep -Eq '^Note: [0-9]+ await stacks were not kept \(await-stack table full\)' drops.out ||
		fail "not in the report"
	grep -q '^WARNING' drops.out && fail "a lost await stack is no incomplete count" || true
}

# Tasks that panic: tokio's harness catches each panic (probed where its
# catch_unwind's cleanup call returns, no uretprobe on an unwound frame):
# the target survives, exactly the 48 panicking tasks say "panicked": true,
# the ones that return (or catch their own panic) say false.
test_panics() {
	local j=panics.json boom fine catcher
	tool panics run --json "$j" -- "$PROGS/panics"
	expect_rc panics 0
	grep -q '^panics: 48 panicked, 16 fine, survived$' panics.out ||
		fail "the target did not survive its tasks' panics"
	boom=$(loc_of "$j" panics boom)
	fine=$(loc_of "$j" panics fine)
	catcher=$(loc_of "$j" panics catcher)
	expect_counts "$j" "$boom" boom 48 48 0
	expect_counts "$j" "$fine" fine 16 16 0
	expect_counts "$j" "$catcher" catcher 1 1 0
	expect_eq "panicked flags at boom/fine/catcher" \
		"$(jqf "$j" --arg b "$boom" --arg f "$fine" --arg c "$catcher" '
			[.tasks[] | select(.spawn_location == $b) | "boom=\(.panicked)"]
			+ [.tasks[] | select(.spawn_location == $f) | "fine=\(.panicked)"]
			+ [.tasks[] | select(.spawn_location == $c) | "catcher=\(.panicked)"]
			| group_by(.) | map("\(.[0])x\(length)") | join(",")')" \
		"boom=truex48,catcher=falsex1,fine=falsex16"
	expect_eq "panicked tasks in all" "$(jqf "$j" '[.tasks[] | select(.panicked)] | length')" 48
	expect_jq "$j" "every panicked task was polled twice and completed" \
		'all(.tasks[] | select(.panicked); .poll_count == 2 and .state == "completed")'
	grep -q 'panicked' panics.out || fail "the text report does not show the panicked tasks"
}

ALL_TESTS=(multi_thread current_thread nested panics heavy_load drops_by_reason demo_screen attach_pid attach_alias record_replay
	replay_truncated replay_bad_magic replay_bad_kind duration sigint_run sigint_pid
	err_no_process err_no_args err_no_tokio err_not_root err_missing_cmd
	err_replay_missing err_output_collision err_json_unwritable err_disk_full err_thread_id
	sigkill_in_detach
	exit_status timings overflow)
# What can be checked without root.
NONROOT_TESTS=(err_no_args err_not_root err_replay_missing)


main "$@"
