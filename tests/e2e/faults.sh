#!/usr/bin/env bash
# Faults: the tool killed at each phase of a session, the target killed
# under it, two sessions on one target, a full disk on every export. What
# must hold every time: the target is never left stopped or harmed by us,
# no BPF program of ours outlives the tool, and a report is still written
# when only the target died. As root (`make all programs` first).
#
#   bash tests/e2e/faults.sh [TEST...]   # all tests, or only the named ones
#
# Output as tests/e2e/run.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/target/release
SRC=$ROOT/tests/programs/src/bin
SRC_PREFIX=src/bin
PREREQS=(demo multi_thread exec_self fork_child)
NEED_COMMANDS=(bpftool)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# Our BPF programs loaded in the kernel now (bpftool names them).
our_programs() {
	bpftool prog show 2>/dev/null | grep -cE 'name (uprobe_entry|uprobe_return|sys_enter|sys_exit) ' || true
}

# The kernel frees a program once its last file and link are closed (after
# an RCU grace period): none may be left a few seconds after the tool died.
expect_no_programs() { # WHEN
	local n
	for _ in $(seq 50); do
		n=$(our_programs)
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
	fail "$n BPF programs of ours still loaded $1"
}

state_of() { # PID -> its state letter, or "gone"
	awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone
}

# A running process that is ours to check: neither stopped nor gone.
expect_running() { # PID WHAT
	local s
	s=$(state_of "$1")
	case $s in
	T | t) fail "$2 was left stopped" ;;
	gone | Z) fail "$2 died" ;;
	esac
}

# The demo service, started by the test (not by the tool); its pid.
start_demo() {
	"$PROGS/demo" >demo.out 2>&1 &
	DEMO=$!
	bg "$DEMO"
	wait_for_line demo.out 'demo: served' 10 "$DEMO" "the demo service"
}

# The tool's child running CMD's program NAME, once it has one.
child_named() { # TOOLPID NAME
	local c=
	for _ in $(seq 100); do
		c=$(pgrep -P "$1" -x "$2") && break
		sleep 0.05
	done
	[ -n "$c" ] || fail "no $2 child of the tool"
	echo "$c"
}

# Waits until the tool said it attached (the start-up line).
wait_attached() { # ERR PID
	wait_for_line "$1" 'probes attached' 20 "$2" "the tool"
}

# 1. SIGKILL of the tool before its `run` child is released: the child,
# held before its exec, exits without running the program.
test_kill_before_release() {
	local toolpid child
	"$BIN" run -- "$PROGS/demo" >tool.out 2>tool.err &
	toolpid=$!
	bg "$toolpid"
	child=$(child_named "$toolpid" async-inspect-b)
	kill -KILL "$toolpid"
	for _ in $(seq 50); do
		[ "$(state_of "$child")" = gone ] && break
		sleep 0.1
	done
	[ "$(state_of "$child")" = gone ] || fail "the held child was left behind ($(state_of "$child"))"
	! grep -q 'demo: served' tool.err || fail "the program ran though the tool died before releasing it"
	expect_no_programs "after the tool was killed before the release"
}

# 2. SIGKILL of the tool mid-session, under `run` and `--pid`: the target
# runs on, unharmed, with no probe of ours left.
test_kill_mid_session_run() {
	local toolpid child
	"$BIN" run -- "$PROGS/demo" >tool.out 2>tool.err &
	toolpid=$!
	bg "$toolpid"
	wait_attached tool.err "$toolpid"
	child=$(child_named "$toolpid" demo)
	bg "$child"
	sleep 0.5
	kill -KILL "$toolpid"
	sleep 0.5
	expect_running "$child" "the run child"
	expect_no_programs "after the tool was killed mid-session"
	local before after
	# the demo's progress line, once a second, on the stderr it shares with the tool
	before=$(grep -c 'demo: served' tool.err || true)
	sleep 2.2
	after=$(grep -c 'demo: served' tool.err || true)
	[ "$after" -gt "$before" ] || fail "the run child stopped serving after the tool died"
}

test_kill_mid_session_pid() {
	local toolpid
	start_demo
	"$BIN" --pid "$DEMO" >tool.out 2>tool.err &
	toolpid=$!
	bg "$toolpid"
	wait_attached tool.err "$toolpid"
	sleep 0.5
	kill -KILL "$toolpid"
	sleep 0.5
	expect_running "$DEMO" "the attached process"
	expect_no_programs "after the tool was killed mid-session"
}

# 2b. SIGKILL around the end of a --pid session, where it detaches (nothing
# of the target is stopped there): the target runs on, no probe is left.
test_kill_in_pid_detach() {
	local toolpid delay
	start_demo
	for delay in 1.0 1.05 1.1 1.15; do
		"$BIN" --pid "$DEMO" --duration 1 >tool.out 2>tool.err &
		toolpid=$!
		bg "$toolpid"
		wait_attached tool.err "$toolpid"
		sleep "$delay"
		kill -KILL "$toolpid" 2>/dev/null || true
		wait "$toolpid" 2>/dev/null || true
		expect_running "$DEMO" "the attached process (killed after ${delay}s)"
		expect_no_programs "after the tool was killed after ${delay}s"
	done
}

# 3. The target killed under the tool: the tool reports what it saw, with
# the target's fate as `run` forwards it (128 + 9).
test_target_killed() {
	local toolpid child rc=0
	"$BIN" run --json t.json -- "$PROGS/demo" >tool.out 2>tool.err &
	toolpid=$!
	bg "$toolpid"
	wait_attached tool.err "$toolpid"
	child=$(child_named "$toolpid" demo)
	sleep 0.5
	kill -KILL "$child"
	wait "$toolpid" || rc=$?
	[ "$rc" = 137 ] || fail "exit status $rc, expected 137 (the target's SIGKILL)"
	grep -q 'ended: target exited' tool.out || fail "no report after the target was killed"
	expect_jq t.json "the tasks the demo spawned before it was killed" '.metadata.total_tasks >= 1'
	expect_no_programs "after the target was killed"
}

# 3b. The target exec's itself: the session ends there, says so, and keeps
# the old image's tasks only (the new image's were merged into it: duplicate
# ids, old tasks alive); its recording replays the same.
test_target_exec() {
	local j=x.json first second
	tool x run --json "$j" --record x.rec --perfetto x.pftrace -- "$PROGS/exec_self"
	expect_rc x 0
	grep -q "^async-inspect-bpf: target exec'd a new program, which is not traced" x.err ||
		fail "the exec was not said: $(head -c 300 x.err | tr '\n' '|')"
	expect_eq "ended" "$(jqf "$j" '.metadata.ended')" "target exec'd a new program (not traced)"
	first=$(loc_of "$j" exec_self first)
	second="$SRC_PREFIX/exec_self.rs:$(marker_line exec_self second):"
	expect_counts "$j" "$first" first 5 5 0
	expect_eq "tasks of the second image" \
		"$(jqf "$j" --arg p "$second" '[.tasks[] | select(.spawn_location // "" | startswith($p))] | length')" 0
	expect_eq "tasks in all" "$(jqf "$j" '.metadata.total_tasks')" 5
	tool r replay x.rec --json r.json
	expect_rc r 0
	expect_eq "replayed: ended, tasks" "$(jqf r.json '"\(.metadata.ended) \(.metadata.total_tasks)"')" \
		"target exec'd a new program (not traced) 5"
}

# 3c. The target forks mid-session, and the child runs tokio code of its own
# (over the copied breakpoints): the child is unharmed, and only the
# parent's tasks are reported.
test_target_fork() {
	local j=f.json
	tool f run --json "$j" -- "$PROGS/fork_child"
	expect_rc f 0
	grep -q '^fork_child: child exited 0$' f.out || fail "the forked child did not exit 0: $(grep fork_child f.out)"
	expect_counts "$j" "$(loc_of "$j" fork_child before)" before 4 4 0
	expect_counts "$j" "$(loc_of "$j" fork_child after)" after 6 6 0
	expect_eq "tasks in all (the child's 3 not among them)" "$(jqf "$j" '.metadata.total_tasks')" 10
}

# 4. Two sessions on one process at once: both report, the target runs on.
test_two_sessions() {
	local a b rc_a=0 rc_b=0
	start_demo
	"$BIN" --pid "$DEMO" --duration 2 --json a.json >a.out 2>a.err &
	a=$!
	bg "$a"
	"$BIN" --pid "$DEMO" --duration 2 --json b.json >b.out 2>b.err &
	b=$!
	bg "$b"
	wait "$a" || rc_a=$?
	wait "$b" || rc_b=$?
	[ "$rc_a" = 0 ] && [ "$rc_b" = 0 ] || fail "exit statuses $rc_a and $rc_b"
	expect_jq a.json "the first session saw polls" '.metadata.total_polls > 0'
	expect_jq b.json "the second session saw polls" '.metadata.total_polls > 0'
	expect_running "$DEMO" "the process both sessions attached to"
	expect_no_programs "after both sessions ended"
}

# 5. A full disk on each export: said as such, a failed exit status, and
# the text report still written.
test_exports_disk_full() {
	local opt
	"$BIN" run --duration 1 --record rec.bin -- "$PROGS/multi_thread" >/dev/null 2>&1 ||
		fail "could not record multi_thread"
	for opt in --perfetto --chrome-trace --flamegraph; do
		tool full replay rec.bin "$opt" /dev/full
		expect_rc full 1
		grep -qi "^async-inspect-bpf: cannot write /dev/full: no space left on device" full.err ||
			fail "$opt /dev/full: not said as a full disk: $(head -c 200 full.err | tr '\n' '|')"
		grep -q '^Tasks: ' full.out || fail "$opt /dev/full: no report"
	done
	# --csv writes into a folder: an 8 KiB tmpfs fills up under it
	mkdir small
	mount -t tmpfs -o size=8k aib-e2e-full small || fail "cannot mount a small tmpfs"
	trap 'umount small 2>/dev/null || true' EXIT
	tool csv replay rec.bin --csv small
	umount small
	expect_rc csv 1
	grep -qi "^async-inspect-bpf: cannot write small: no space left on device" csv.err ||
		fail "--csv on a full disk: not said as one: $(head -c 200 csv.err | tr '\n' '|')"
	grep -q '^Tasks: ' csv.out || fail "--csv on a full disk: no report"
}

ALL_TESTS=(kill_before_release kill_mid_session_run kill_mid_session_pid kill_in_pid_detach target_killed
	target_exec target_fork two_sessions exports_disk_full)
NONROOT_TESTS=()
main "$@"
