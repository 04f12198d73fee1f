#!/usr/bin/env bash
# The build matrix: the real tool on one tokio program and one smol
# (async-task) program of tests/programs/matrix, each built every way users
# ship it (tools/build-matrix.sh says how: opt-levels, LTO, codegen units,
# panic=abort, frame pointers, debug info none / line tables / full, split
# debug info, tokio vendored as a path dependency). Every cell must give
# the same exact counts per spawn location, and, where the build keeps line
# tables, the same await sites and what they wait for.
#
#   bash tests/e2e/matrix.sh [TEST...]   # all tests (tokio_CELL, smol_CELL), or those named
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/matrix/target
SRC=$ROOT/tests/programs/matrix/src/bin
SRC_PREFIX=src/bin
CELLS=(o1 o3 os thin fat cgu1 abort fp nodebug full split vendored)
PREREQS=()
ALL_TESTS=()
for c in "${CELLS[@]}"; do
	PREREQS+=("$c/release/mx_tokio" "$c/release/mx_smol")
	ALL_TESTS+=("tokio_$c" "smol_$c")
done
NONROOT_TESTS=()
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# label of a spawn line: spawned/completed/alive (the fixtures' top comments)
declare -A COUNTS=([work]=40/40/0 [blocking]=2/2/0 [config]=3/0/3 [nap]=1/0/1)
# What a cell's start-up line must name: LTO inlines async-task's
# Runnable::schedule into smol's spawn, and a new task is told at
# RawTask::schedule instead (each task's spawn still found).
declare -A FALLBACK=([smol_thin]="Runnable::schedule (inlined: RawTask::schedule instead)"
	[smol_fat]="Runnable::schedule (inlined: RawTask::schedule instead)")

# the kind of task each spawn line makes
declare -A KIND=([work]=async [blocking]=blocking [config]=async [nap]=async)

# The kinds of the tasks spawned at a location, deduplicated.
kinds_at() { # JSON LOCATION
	jqf "$1" --arg l "$2" '[.tasks[] | select(.spawn_location == $l) | .kind] | unique | join(",")'
}

# The parked tasks of a spawn label: "AWAIT_SITE KIND" of each, deduplicated.
awaits_at() { # JSON LOCATION
	jqf "$1" --arg l "$2" '[.tasks[] | select(.spawn_location == $l)
		| "\(.await_site) \(.waiting_for.kind)"] | unique | join(",")'
}

# PROG (mx_tokio, mx_smol) built as CELL, parked READY, traced 1.5 s.
run_cell() { # PROG CELL
	local prog=$1 cell=$2 j=out.json label loc c fallback=${FALLBACK[${1#mx_}_$2]:-}
	tool out run --duration 1.5 --stuck-after 1s --json "$j" -- "$PROGS/$cell/release/$prog"
	expect_rc out 0
	grep -q '^READY$' out.out || fail "$prog did not get READY within the 1.5 s"
	expect_jq "$j" "46 tasks, 42 completed, 4 alive" \
		'.metadata | .total_tasks == 46 and .completed_tasks == 42 and .alive_tasks == 4'
	if [ -n "$fallback" ]; then
		grep -qF "$fallback" out.err ||
			fail "the start-up line does not name '$fallback': $(head -1 out.err)"
	fi
	if [ "$cell" = nodebug ]; then
		# every spawn seen; one inlined into code with no frame of the
		# program's own (main's body inlined into tokio's block_on) has
		# no location to give without line tables
		expect_jq "$j" "every task's spawn seen" '[.tasks[] | .spawn_seen] | all'
	else
		expect_jq "$j" "every task's spawn location found" \
			'[.tasks[] | select(.kind != "block_on") | .spawn_location, .spawn_location_from]
			 | all(. != null)'
	fi
	if [ "$cell" = nodebug ]; then
		# no line tables: a location is a #[track_caller] file:line:col, or
		# the program's function the spawn was inlined into
		expect_jq "$j" "locations: the program's files or functions (or none), 46/42/4 in all" \
			'[.locations[]] | (map(.location == null or (.location | startswith($f) or startswith($fn))) | all)
			 and (map(.spawned) | add) == 46 and (map(.completed) | add) == 42
			 and (map(.alive) | add) == 4' \
			--arg f "$SRC_PREFIX/$prog.rs:" --arg fn "$prog::"
		grep -q "not found: .*the program's line tables" out.err ||
			fail "the start-up line does not say the line tables are missing: $(head -1 out.err)"
		grep -q 'Note: the binary has no line tables' out.out || fail "no note on line tables"
		return
	fi
	for label in "${!COUNTS[@]}"; do
		loc=$(loc_of "$j" "$prog" "spawn_$label")
		IFS=/ read -r -a c <<<"${COUNTS[$label]}"
		expect_counts "$j" "$loc" "$label" "${c[0]}" "${c[1]}" "${c[2]}"
		expect_eq "$label: kind" "$(kinds_at "$j" "$loc")" "${KIND[$label]}"
	done
	expect_eq "config: await site, waiting for" \
		"$(awaits_at "$j" "$(loc_of "$j" "$prog" spawn_config)")" \
		"$SRC_PREFIX/$prog.rs:$(marker_line "$prog" await_config) channel"
	expect_eq "nap: await site, waiting for" \
		"$(awaits_at "$j" "$(loc_of "$j" "$prog" spawn_nap)")" \
		"$SRC_PREFIX/$prog.rs:$(marker_line "$prog" await_nap) timer"
}

for c in "${CELLS[@]}"; do
	eval "test_tokio_$c() { run_cell mx_tokio $c; }"
	eval "test_smol_$c() { run_cell mx_smol $c; }"
done

main "$@"
