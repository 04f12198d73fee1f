#!/usr/bin/env bash
# End-to-end tests on the async-task runtimes (async-std, smol): the real
# tool against the fixtures in tests/programs/async-task (`make e2e`, as
# root; `make all programs` first).
#
#   bash tests/e2e/async_task.sh [TEST...]   # all tests, or only the named ones
#
# Output as tests/e2e/run.sh. Spawn locations come from DWARF line tables
# (the fixtures keep them): "src/NAME.rs:LINE:COL" with LINE the line of the
# fixture's `// aib:LABEL` marker.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/async-task/target/release
SRC=$ROOT/tests/programs/async-task/src
SRC_PREFIX=src
PREREQS=(astd_tasks smol_tasks astd_panic)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# The task states of a location, sorted and joined: "idle" or "completed,completed".
states_of() { # JSON LOCATION
	jqf "$1" --arg l "$2" '[.tasks[] | select(.spawn_location == $l) | .state] | sort | join(",")'
}

# The parked task's await: on its spawn line (an async block), a channel.
expect_parked_await() { # JSON LOCATION NAME LABEL
	expect_eq "$4: await site, what it waits for, how it was found" \
		"$(jqf "$1" --arg l "$2" '.tasks[] | select(.spawn_location == $l)
			| "\(.await_site) \(.waiting_for.kind) \(.await_method)"')" \
		"$SRC_PREFIX/$3.rs:$(marker_line "$3" "$4") channel stack"
}

# astd_tasks' expectations (its header comment), on a report of all of it.
expect_astd_tasks() { # JSON
	local j=$1 parked spawned blocking named
	parked=$(loc_of "$j" astd_tasks parked)
	spawned=$(loc_of "$j" astd_tasks spawned)
	blocking=$(loc_of "$j" astd_tasks blocking)
	named=$(loc_of "$j" astd_tasks named)
	expect_counts "$j" "$parked" parked 1 0 1
	expect_counts "$j" "$spawned" spawned 20 20 0
	expect_counts "$j" "$blocking" blocking 8 8 0
	expect_counts "$j" "$named" named 3 3 0
	expect_eq "number of locations" "$(jqf "$j" '.locations | length')" 4
	expect_eq "state of the parked task" "$(states_of "$j" "$parked")" idle
	expect_parked_await "$j" "$parked" astd_tasks parked
	expect_jq "$j" "each spawned task polled at least 4 times (3 yields)" \
		'[.tasks[] | select(.spawn_location == $l) | .poll_count >= 4] | all' --arg l "$spawned"
	expect_eq "kinds at the spawn_blocking line (async-std's task + the pool's)" \
		"$(jqf "$j" --arg l "$blocking" '[.tasks[] | select(.spawn_location == $l) | .kind] | sort | join(",")')" \
		"async,async,async,async,blocking,blocking,blocking,blocking"
	expect_eq "names of the named tasks" \
		"$(jqf "$j" --arg l "$named" '[.tasks[] | select(.spawn_location == $l) | .name] | sort | join(",")')" \
		"named-0,named-1,named-2"
	expect_jq "$j" "every task is an async-task one" 'all(.tasks[]; .runtime == "async-task")'
	expect_eq "metadata runtime/lost" "$(jqf "$j" '.metadata | "\(.runtime)/\(.lost_events)"')" \
		"async-std (async-task)/0"
}

# 1. async-std under `run`: spawn, spawn_blocking, named and parked tasks.
test_astd_run() {
	tool astd run --json astd.json -- "$PROGS/astd_tasks"
	expect_rc astd 0
	grep -q '^DONE$' astd.out || fail "the fixture did not print DONE"
	grep -q 'async-std (async-task) runtime' astd.err || fail "the start-up line does not name async-std"
	expect_astd_tasks astd.json
}

# 2. The same program attached with --pid before it spawns anything.
test_astd_pid() {
	attach_with_trigger astd_tasks pid.json --pid
	expect_astd_tasks pid.json
	expect_eq "metadata late_attach" "$(jqf pid.json '.metadata.late_attach')" true
}

# 3. smol: a shared Executor on 2 threads, smol::spawn, a LocalExecutor.
test_smol_run() {
	local j=smol.json short local parked global
	tool smol run --json "$j" -- "$PROGS/smol_tasks" 1000
	expect_rc smol 0
	grep -q '^DONE$' smol.out || fail "the fixture did not print DONE"
	short=$(loc_of "$j" smol_tasks short)
	local=$(loc_of "$j" smol_tasks local)
	parked=$(loc_of "$j" smol_tasks local_parked)
	global=$(loc_of "$j" smol_tasks global)
	expect_counts "$j" "$short" short 1000 1000 0
	expect_counts "$j" "$local" local 10 10 0
	expect_counts "$j" "$parked" local_parked 1 0 1
	expect_counts "$j" "$global" global 5 5 0
	expect_eq "number of locations" "$(jqf "$j" '.locations | length')" 4
	expect_eq "state of the parked local task" "$(states_of "$j" "$parked")" idle
	expect_parked_await "$j" "$parked" smol_tasks local_parked
	expect_jq "$j" "each short task polled at least twice (one yield)" \
		'[.tasks[] | select(.spawn_location == $l) | .poll_count >= 2] | all' --arg l "$short"
	expect_jq "$j" "local tasks polled only on the main thread (tid == pid)" \
		'.metadata.pid as $p | [.tasks[] | select(.spawn_location == $l or .spawn_location == $k)
		 | .worker_threads[].tid] | unique == [$p]' --arg l "$local" --arg k "$parked"
	expect_jq "$j" "short tasks polled on the two executor threads, not main" \
		'.metadata.pid as $p | [.tasks[] | select(.spawn_location == $l) | .worker_threads[].tid]
		 | unique | length <= 2 and (index([$p]) == null)' --arg l "$short"
	expect_eq "metadata runtime/lost" "$(jqf "$j" '.metadata | "\(.runtime)/\(.lost_events)"')" \
		"smol (async-task)/0"
}

# 4. A task panics under inspection: the target survives (no uretprobe on a
# frame the panic unwinds through), and the report says which panicked.
test_panic() {
	local j=panic.json panics after
	tool panic run --json "$j" -- "$PROGS/astd_panic"
	expect_rc panic 0
	grep -q '^survived$' panic.out || fail "the target did not survive its tasks' panics"
	[ "$(grep -c 'panics on purpose' panic.err)" = 3 ] || fail "the 3 panics were not all reported by the target"
	panics=$(loc_of "$j" astd_panic panics)
	after=$(loc_of "$j" astd_panic after)
	expect_counts "$j" "$panics" panics 3 3 0
	expect_counts "$j" "$after" after 10 10 0
	expect_eq "panicked flags at panics/after" \
		"$(jqf "$j" --arg p "$panics" --arg a "$after" '
			[.tasks[] | select(.spawn_location == $p) | .panicked] + [.tasks[] | select(.spawn_location == $a) | .panicked]
			| map(tostring) | group_by(.) | map("\(.[0])=\(length)") | join(",")')" "false=10,true=3"
	grep -q 'panicked' panic.out || fail "the text report does not show the panicked tasks"
}

# 5. A recording replays into the same report (the spawn stacks are resolved
# live; the recording holds the locations).
test_record_replay() {
	local part
	tool live run --record rec.bin --json live.json -- "$PROGS/astd_tasks"
	expect_rc live 0
	tool replay replay rec.bin --json replay.json
	expect_rc replay 0
	expect_astd_tasks replay.json
	for part in tasks locations metadata; do
		jq -S ".$part" live.json >"live.$part"
		jq -S ".$part" replay.json >"replay.$part"
		diff "live.$part" "replay.$part" >"$part.diff" ||
			fail "$part differ between live and replay: $(head -n 6 "$part.diff" | tr '\n' '|')"
	done
}

# 6. The same program with its debug info stripped (symbols kept): the
# start-up line and the report say line tables are missing and what brings
# them, and the unresolved spawns are not taken for spawns before the attach
# (they were, under `run`, with no word of line tables).
test_no_line_tables() {
	local j=nd.json
	strip --strip-debug -o astd-nodebug "$PROGS/astd_tasks"
	tool nd run --json "$j" -- ./astd-nodebug
	expect_rc nd 0
	grep -q "spawn locations: the spawn's stack; .*not found: .*the program's line tables (debug = \"line-tables-only\" in \\[profile.release\\]" nd.err ||
		fail "the start-up line does not say line tables are missing: $(head -n 1 nd.err)"
	grep -q '^Note: the binary has no line tables' nd.out || fail "no note of the missing line tables in the report"
	! grep -q 'spawned before attach' nd.out || fail "spawns seen under run labelled 'spawned before attach'"
	expect_jq "$j" "every task's spawn seen" '[.tasks[] | select(.spawn_seen | not)] == []'
}

ALL_TESTS=(astd_run astd_pid smol_run panic record_replay no_line_tables)
NONROOT_TESTS=()

main "$@"
