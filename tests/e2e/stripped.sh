#!/usr/bin/env bash
# End-to-end tests of stripped binaries (no symbol table, no debug file):
# tokio found by its structure (its task vtables, each confirmed by its
# poll's code: runtime/tokio_stripped.c), and async-task (smol, async-std:
# its task vtables, each confirmed by its clone_waker's code:
# runtime/async_task_stripped.c). Each test runs a fixture and its
# `objcopy --strip-all` copy in turn and asserts the same tasks: counts,
# states and, where the fixture is deterministic, each task's polls.
#
#   bash tests/e2e/stripped.sh [TEST...]   # all tests, or only the named ones
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/target/release
MATRIX=$ROOT/tests/programs/matrix/target
AWAIT=$ROOT/tests/programs/await/target
ASYNC_TASK=$ROOT/tests/programs/async-task/target/release
SRC=$ROOT/tests/programs/src/bin
SRC_PREFIX=src/bin
PREREQS=(current_thread multi_thread)
NEED_COMMANDS=(objcopy addr2line sccache)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# The tasks of a report, block_on roots aside (a stripped binary has no
# root functions to name): "total/completed/alive".
counts() { # JSON
	jqf "$1" '[.tasks[] | select(.kind != "block_on")]
		| "\(length)/\(map(select(.state == "completed")) | length)/\(map(select(.state != "completed")) | length)"'
}

# Each task's polls, sorted: the same multiset when the fixture is
# deterministic (one thread).
polls() { # JSON
	jqf "$1" -c '[.tasks[] | select(.kind != "block_on") | .poll_count] | sort'
}

# The spawn locations of the program's tasks, with how many each
# (runtime carriers aside: spawned by tokio's own code).
locations() { # JSON
	jqf "$1" -c '[.tasks[] | select(.kind != "block_on" and .kind != "runtime")
		| .spawn_location // "none"] | group_by(.) | map("\(.[0]) x\(length)")'
}

# EXE and its stripped copy, each run to its end (or DURATION); the copy's
# start-up line names how its runtime (RUNTIME: tokio, else async-task) was
# found.
run_both() { # EXE [DURATION]
	local exe=$1 d=${2:-} rt=${RUNTIME:-tokio}
	objcopy --strip-all "$exe" stripped
	[ -z "$(nm stripped 2>&1 | grep -v 'no symbols')" ] || fail "objcopy left symbols"
	tool full run ${d:+--duration "$d"} --json full.json -- "$exe"
	expect_rc full 0
	tool strip run ${d:+--duration "$d"} --json strip.json -- ./stripped
	expect_rc strip 0
	grep -q "^async-inspect-bpf: started pid [0-9]* (./stripped): $rt (found by structure: [0-9]* task vtables) runtime" strip.err ||
		fail "the start-up line does not say $rt was found by structure: $(head -n 1 strip.err)"
	grep -q "not found: .*the symbol table (stripped" strip.err ||
		fail "the start-up line does not say what is missing: $(head -n 1 strip.err)"
	expect_eq "lost events" "$(jqf strip.json '.metadata.lost_events')" 0
}

# 1. current_thread: every task, its state and its polls as unstripped.
test_current_thread() {
	run_both "$PROGS/current_thread"
	expect_eq "tasks (total/completed/alive)" "$(counts strip.json)" "$(counts full.json)"
	expect_eq "tasks: 12, all completed" "$(counts strip.json)" 12/12/0
	expect_eq "each task's polls" "$(polls strip.json)" "$(polls full.json)"
	expect_eq "spawn locations (the #[track_caller] Location read)" \
		"$(locations strip.json)" "$(locations full.json)"
	expect_jq strip.json "every task seen at its spawn" \
		'all(.tasks[] | select(.kind != "block_on"); .spawn_seen)'
	expect_jq strip.json "wakes seen (the waker found by structure)" \
		'[.tasks[] | .wakes.total] | add > 0'
}

# 2. multi_thread: counts and states as unstripped (polls vary with the
# scheduling of its 2 workers).
test_multi_thread() {
	run_both "$PROGS/multi_thread"
	expect_eq "tasks (total/completed/alive)" "$(counts strip.json)" "$(counts full.json)"
	expect_eq "spawn locations" "$(locations strip.json)" "$(locations full.json)"
}

# 3. The build matrix's tokio program under fat and thin LTO, opt-level 1
# and "s": 46 tasks (40 work, 2 blocking, 3 parked, 1 napping) and their
# spawn locations, as unstripped.
test_lto() {
	local cell
	for cell in fat thin o1 os; do
		[ -x "$MATRIX/$cell/release/mx_tokio" ] || fail "no $cell build (make programs)"
		run_both "$MATRIX/$cell/release/mx_tokio" 1.5
		expect_eq "$cell: tasks (total/completed/alive)" "$(counts strip.json)" "$(counts full.json)"
		expect_eq "$cell: tasks" "$(counts strip.json)" 46/42/4
		# LTO inlines spawn_blocking into the program's iterator (line
		# 38): no Location passes at run time, and no names on its stack
		expect_eq "$cell: spawn locations" "$(locations strip.json)" \
			"$(locations full.json | if [[ $cell == fat || $cell == thin ]]; then
				jq -c 'map(sub("^src/bin/mx_tokio.rs:38:50 x2$"; "none x2")) | sort'
			else cat; fi)"
	done
}

# 4. --pid on a stripped program whose tasks are all parked: found in
# memory by the vtables' structure (11 parked; the spawn_blocking closure
# and tokio's 2 worker carriers running cannot be told apart without
# types), and left running.
test_attach() {
	local tgt
	objcopy --strip-all "$AWAIT/nofp-lines/release/stuck" stuck
	./stuck >target.out 2>target.err &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY$' 10 "$tgt" stuck
	tool attach --pid "$tgt" --duration 1 --json attach.json
	expect_rc attach 0
	grep -q "(found by structure: [0-9]* task vtables)" attach.err ||
		fail "tokio not found by structure: $(head -n 1 attach.err)"
	grep -q "^async-inspect-bpf: 11 tasks found in memory, and 3 running" attach.err ||
		fail "tasks found: $(grep 'found in memory' attach.err)"
	expect_eq "found tasks: states" \
		"$(jqf attach.json '[.tasks[] | select(.found_in_memory) | .state] | group_by(.) | map("\(.[0])=\(length)") | join(",")')" \
		idle=11
	kill -0 "$tgt" 2>/dev/null || fail "the target did not survive the session"
	kill "$tgt"
}

# 5. Await stacks with no names: code addresses, which the unstripped
# binary (the debug file a user would fetch by build-id) resolves into the
# fixture's own source.
test_await_addresses() {
	local full=$AWAIT/nofp-lines/release/stuck addr
	objcopy --strip-all "$full" stuck
	tool run run --duration 1.5 --stuck-after 1s --json run.json -- ./stuck
	expect_rc run 0
	expect_jq run.json "11 parked tasks, each with an await stack of addresses" \
		'[.tasks[] | select(.kind != "block_on" and .state == "idle")
		  | select(.await_method == "stack" and (.await_site | test("^0x[0-9a-f]+$")))] | length == 11'
	grep -q "no names: tasks by id, frames by code address" run.err || fail "no word on names: $(sed -n 2p run.err)"
	# every parked task's stack passes through the fixture's own code
	for addr in $(jqf run.json -r '[.tasks[] | select(.state == "idle") | [.await_stack[].function] | join(" ")] | .[]' | tr ' ' '\n' | sort -u); do
		addr2line -e "$full" -f -C -i "$addr"
	done >resolved.txt
	expect_eq "parked tasks' stacks resolved in src/stuck.rs" \
		"$(grep -c 'src/stuck.rs' resolved.txt | awk '{print ($1 >= 11) ? "yes" : "no: " $1}')" yes
}

# async-task's tasks as unstripped, each seen at its spawn (RawTask::schedule
# called from a spawn) and polled, wakes seen; no block_on roots, no names.
expect_async_task_same() {
	expect_eq "tasks (total/completed/alive)" "$(counts strip.json)" "$(counts full.json)"
	expect_jq strip.json "every task seen at its spawn, polled, unnamed" \
		'all(.tasks[]; .runtime == "async-task" and .kind != "block_on" and .spawn_seen
		 and .spawn_location == null and .poll_count > 0)'
	expect_jq strip.json "wakes seen (the waker vtable found by structure)" \
		'.metadata.total_wakes > 0'
}

# 6. smol: a shared Executor on 2 threads, smol::spawn, a LocalExecutor
# (200 short tasks, 10 local, 1 parked, 5 global; polls vary with the
# threads).
test_smol() {
	RUNTIME=async-task run_both "$ASYNC_TASK/smol_tasks"
	expect_async_task_same
	expect_eq "tasks" "$(counts strip.json)" 216/215/1
}

# 7. async-std: spawned, blocking (each an async-std task and a pool's),
# named tasks and a parked one; the wakes by task as unstripped.
test_astd() {
	RUNTIME=async-task run_both "$ASYNC_TASK/astd_tasks"
	expect_async_task_same
	expect_eq "tasks" "$(counts strip.json)" 32/31/1
}

# 8. The build matrix's smol program, o3 (Runnable::schedule and ::run
# called: found by their code) and fat LTO (both inlined): 46 tasks (40
# work, 2 blocking, 3 parked, 1 napping), as unstripped.
test_smol_matrix() {
	local cell
	for cell in o3 fat; do
		[ -x "$MATRIX/$cell/release/mx_smol" ] || fail "no $cell build (make programs)"
		RUNTIME=async-task run_both "$MATRIX/$cell/release/mx_smol" 1.5
		expect_async_task_same
		expect_eq "$cell: tasks" "$(counts strip.json)" 46/42/4
	done
}

# EXE started, parked (READY), attached to for 1 s into JSON, left running.
attach_parked() { # EXE JSON
	local tgt
	"$1" >target.out 2>target.err &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY$' 10 "$tgt" "$1"
	tool attach --pid "$tgt" --duration 1 --json "$2"
	expect_rc attach 0
	kill -0 "$tgt" 2>/dev/null || fail "the target did not survive the session"
	kill "$tgt"
}

# 9. --pid on the stripped matrix smol program, parked: its tasks found in
# memory from the confirmed vtables' run functions, as unstripped.
test_smol_attach() {
	objcopy --strip-all "$MATRIX/o3/release/mx_smol" stripped
	attach_parked "$MATRIX/o3/release/mx_smol" full.json
	attach_parked ./stripped strip.json
	grep -q "stripped): async-task (found by structure: [0-9]* task vtables)" attach.err ||
		fail "async-task not found by structure: $(head -n 1 attach.err)"
	# the parked ones (a task of smol's own may be caught scheduled,
	# in either run)
	expect_eq "parked tasks found in memory" \
		"$(jqf strip.json '[.tasks[] | select(.found_in_memory and .state == "idle")] | length')" \
		"$(jqf full.json '[.tasks[] | select(.found_in_memory and .kind != "block_on" and .state == "idle")] | length')"
	expect_jq strip.json "found in memory: the 4 parked (3 config, 1 nap)" \
		'[.tasks[] | select(.found_in_memory and .state == "idle")] | length == 4'
}

# Debian's sccache (tokio 1.24, stripped, no debug package) as a server in
# the foreground on a free port, its cache in the scratch directory.
sccache_env() {
	export SCCACHE_DIR=$PWD/cache SCCACHE_NO_DAEMON=1 SCCACHE_IDLE_TIMEOUT=0
	SCCACHE_SERVER_PORT=$((20000 + RANDOM % 20000))
	export SCCACHE_SERVER_PORT
}

# Wait until the server listens, at most 10 s (a client asking before
# that would start a server of its own, outside the tool), then ask it.
sccache_up() {
	local deadline=$(($(now_ms) + 10000))
	until (exec 3<>"/dev/tcp/127.0.0.1/$SCCACHE_SERVER_PORT") 2>/dev/null; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "sccache's server did not listen on $SCCACHE_SERVER_PORT"
		sleep 0.2
	done
	sccache --show-stats >stats.out 2>&1 || fail "sccache's server did not answer: $(cat stats.out)"
}

# 10. A real stripped tokio program from Debian's archive, started under the
# tool: its requests' tasks polled and woken, located in its source, and
# it ends as asked (its exit status, 0), the report written.
test_sccache_run() {
	local tool_pid
	sccache_env
	SCCACHE_START_SERVER=1 timeout -k 5 60 "$BIN" run --json scc.json -- /usr/bin/sccache \
		>scc.out 2>scc.err &
	tool_pid=$!
	bg "$tool_pid"
	sccache_up
	for _ in 1 2 3; do sccache --show-stats >/dev/null || fail "a stats request failed"; done
	grep -q "Compile requests" stats.out || fail "no stats from the server: $(cat stats.out)"
	sccache --stop-server >stop.out 2>&1 || fail "the server did not stop: $(cat stop.out)"
	RC=0
	wait "$tool_pid" || RC=$?
	expect_rc scc 0
	grep -q "(/usr/bin/sccache): tokio (found by structure: [0-9]* task vtables) runtime" scc.err ||
		fail "tokio not found by structure: $(head -n 1 scc.err)"
	expect_jq scc.json "tasks polled and woken, none lost" \
		'.metadata.total_polls > 0 and .metadata.total_wakes > 0 and .metadata.total_tasks > 0
		 and .metadata.lost_events == 0 and .metadata.ended == "target exited"'
	expect_jq scc.json "tasks spawned in sccache's own source (its Location read)" \
		'any(.tasks[]; .spawn_location // "" | test("^src/[a-z_/]+[.]rs:[0-9]+:[0-9]+$"))'
}

# 11. The same server attached to with --pid while it serves: tasks seen,
# and it serves on after the session, unharmed.
test_sccache_attach() {
	local srv
	sccache_env
	SCCACHE_START_SERVER=1 /usr/bin/sccache >srv.out 2>srv.err &
	srv=$!
	bg "$srv"
	sccache_up
	tool scc attach --pid "$srv" --duration 3 --json scc.json &
	sleep 1.5
	for _ in 1 2 3; do sccache --show-stats >/dev/null || fail "a stats request failed"; done
	wait $! || true
	grep -q "(found by structure: [0-9]* task vtables) runtime" scc.err ||
		fail "tokio not found by structure: $(head -n 1 scc.err)"
	expect_jq scc.json "the requests' tasks polled" '.metadata.total_polls > 0'
	sccache --show-stats >after.out 2>&1 || fail "the server does not answer after the session"
	kill -0 "$srv" || fail "the server did not survive the session"
	sccache --stop-server >/dev/null 2>&1 || true
}

# 13. A recording of the stripped program, replayed with its debug file
# (`objcopy --only-keep-debug`, the file a user fetches by build-id): the
# parked tasks' await sites and what they wait for named as the unstripped
# build's own session names them; a debug file of another build refused.
test_debuginfo_replay() {
	local full=$AWAIT/nofp-lines/release/stuck
	objcopy --strip-all "$full" stuck
	objcopy --only-keep-debug "$full" stuck.debug
	tool full run --duration 1.5 --stuck-after 1s --json full.json -- "$full"
	expect_rc full 0
	tool rec run --duration 1.5 --stuck-after 1s --record stuck.rec --json rec.json -- ./stuck
	expect_rc rec 0
	grep -q "^      [0-9a-f]\{40\}: \`replay --debuginfo FILE\` of a recording" rec.out ||
		fail "the report does not say how to name the addresses: $(grep -i 'note' rec.out)"
	tool replay replay stuck.rec --debuginfo stuck.debug --json replay.json
	expect_rc replay 0
	grep -q "^async-inspect-bpf: --debuginfo stuck.debug: 11 stacks recorded by code address named$" replay.err ||
		fail "replay did not say what it named: $(cat replay.err)"
	parked() { jqf "$1" -c '[.tasks[] | select(.kind != "block_on" and .state == "idle")
		| "\(.await_site) \(.waiting_for.kind)"] | sort'; }
	# a JoinHandle of a spawn_blocking task is a join to the stripped
	# binary's session: its spawns do not tell spawn_blocking apart
	expect_eq "parked tasks' await sites and waits" "$(parked replay.json)" \
		"$(parked full.json | jq -c 'map(sub(" blocking$"; " join")) | sort')"
	expect_jq replay.json "the recording's build-id in the report" \
		'.metadata.build_id == $id and ($id | length) == 40' --arg id "$(jqf rec.json .metadata.build_id)"
	objcopy --only-keep-debug "$AWAIT/fp-lines/release/stuck" other.debug
	tool other replay stuck.rec --debuginfo other.debug
	expect_error other 1 "--debuginfo other.debug: build-id [0-9a-f]*, the recording's executable has [0-9a-f]*$"
}

# 12. A stripped program with no runtime it knows: one line saying what was
# looked for, exit status 1, nothing run.
test_unrecognized() {
	printf 'int main(void) { return 0; }\n' >c.c
	cc -O2 -s -o plain c.c
	tool plain run -- ./plain
	expect_error plain 1 "plain is stripped \(no symbol table, no debug file: .*\), and no supported async runtime: no tokio runtime found by structure \(0 task vtables.*; no async-task runtime found by structure"
}

ALL_TESTS=(current_thread multi_thread lto attach await_addresses smol astd smol_matrix
	smol_attach sccache_run sccache_attach unrecognized debuginfo_replay)
NONROOT_TESTS=()
main "$@"
