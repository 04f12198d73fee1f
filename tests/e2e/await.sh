#!/usr/bin/env bash
# End-to-end tests of await sites: the real tool on tests/programs/await's
# `stuck` fixture (`make e2e`, as root; `make all programs` first), built
# four ways: with and without frame pointers, with line tables only and
# with full debug info. Every task of the fixture is parked on the await
# marked `// aib:LABEL` in src/stuck.rs, spawned on the line marked
# `// aib:spawn_LABEL`.
#
#   bash tests/e2e/await.sh [TEST...]   # all tests, or only the named ones
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/await/target
SRC=$ROOT/tests/programs/await/src
SRC_PREFIX=src
VARIANTS=(nofp-lines nofp-full fp-lines fp-full)
PREREQS=()
for v in "${VARIANTS[@]}"; do PREREQS+=("$v/release/stuck"); done
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# label of the spawn line -> label of the await, and the kind it waits for
declare -A AWAIT=([oneshot]=oneshot [sleep]=sleep [joined]=joined [join]=join [socket]=socket
	[notify]=notify [mpsc]=mpsc [holder]=holder [lock]=lock [blocking]=blocking [two]=two)
declare -A KIND=([oneshot]=channel [sleep]=timer [joined]=channel [join]=join [socket]=io
	[notify]=channel [mpsc]=channel [holder]=timer [lock]=lock [blocking]=blocking [two]=channel)

# The one live task spawned at the line of `aib:spawn_LABEL`, as JSON.
task_at() { # JSON LABEL
	local loc
	loc=$(loc_of "$1" stuck "spawn_$2")
	jqf "$1" --arg l "$loc" '[.tasks[] | select(.spawn_location == $l)]
		| if length == 1 then .[0] | tojson else "ERR \(length) tasks" end'
}

# Every parked task: its await site, what it waits for, how long, and the
# method that found it (METHOD: stack or state-machine).
expect_awaits() { # JSON METHOD
	local j=$1 method=$2 label t site
	for label in "${!AWAIT[@]}"; do
		t=$(task_at "$j" "$label")
		[ "${t#ERR }" == "$t" ] || fail "spawn_$label: ${t#ERR }"
		site="$SRC_PREFIX/stuck.rs:$(marker_line stuck "${AWAIT[$label]}")"
		expect_eq "$label: await_site" "$(jq -r .await_site <<<"$t")" "$site"
		expect_eq "$label: waiting_for.kind" "$(jq -r .waiting_for.kind <<<"$t")" "${KIND[$label]}"
		expect_eq "$label: await_method" "$(jq -r .await_method <<<"$t")" "$method"
		expect_eq "$label: state" "$(jq -r .state <<<"$t")" idle
		jq -e '.blocked_ms > 500' <<<"$t" >/dev/null || fail "$label: blocked_ms $(jq .blocked_ms <<<"$t")"
	done
	# the chain of async fns: wait_for_config awaits recv_config
	t=$(task_at "$j" oneshot)
	expect_eq "oneshot: await_stack lines" "$(jq -r '[.await_stack[].line] | join(",")' <<<"$t")" \
		"$(marker_line stuck oneshot_outer),$(marker_line stuck oneshot)"
	# two async fns awaited on one line: the parked one named (by column,
	# with line tables only)
	t=$(task_at "$j" two)
	expect_eq "two: await_stack" "$(jq -r '[.await_stack[] | "\(.function | sub("::\\{async_fn#0\\}$"; "")):\(.line)"] | join(",")' <<<"$t")" \
		"stuck::two_on_a_line:$(marker_line stuck two_outer),stuck::first_value:$(marker_line stuck two)"
	expect_eq "join: the awaited task" "$(jq -r .waiting_for.task <<<"$(task_at "$j" join)")" \
		"$(jq -r .id <<<"$(task_at "$j" joined)")"
}

# `run` on one build variant; the fixture never ends, --duration does.
run_variant() { # VARIANT METHOD
	local v=$1 j=$1.json
	tool "$v" run --duration 1.5 --stuck-after 1s --json "$j" -- "$PROGS/$v/release/stuck"
	expect_rc "$v" 0
	expect_awaits "$j" "$2"
	grep -q '^Stuck tasks (parked longer than 1.00s)' "$v.out" || fail "no Stuck tasks section"
	# and main's own future, a block_on root parked in std::future::pending
	expect_eq "stuck tasks drawn" "$(grep -c '◄── BLOCKED' "$v.out")" "$((${#AWAIT[@]} + 1))"
	grep -q 'waiting for: channel (oneshot receive)' "$v.out" || fail "no oneshot line in the report"
}

# 1-4. No frame pointers / frame pointers, line tables / full debug info
# (then the futures are decoded from memory: the state machine method).
test_nofp_lines() { run_variant nofp-lines stack; }
test_nofp_full() { run_variant nofp-full state-machine; }
test_fp_lines() { run_variant fp-lines stack; }
test_fp_full() { run_variant fp-full state-machine; }

# Attach with --pid once every task is parked: none is polled while traced.
# The fixture has 14 tasks: 11 parked, the spawn_blocking closure and tokio's
# 2 worker carriers running; a running one is told from a carrier by its
# type (full debug info), else left to the probes.
attach_parked() { # VARIANT JSON RUNNING-KEPT
	local tgt
	"$PROGS/$1/release/stuck" >target.out 2>target.err &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY$' 10 "$tgt" stuck
	tool attach --pid "$tgt" --duration 1 --stuck-after 0.5s --json "$2"
	expect_rc attach 0
	kill "$tgt"
	grep -q "^async-inspect-bpf: $((11 + $3)) tasks found in memory, and $((3 - $3)) running" \
		attach.err || fail "tasks found: $(grep 'found in memory' attach.err)"
	expect_eq "found tasks: states" \
		"$(jqf "$2" '[.tasks[] | select(.found_in_memory and .kind != "block_on") | .state] | group_by(.) | map("\(.[0])=\(length)") | join(",")')" \
		"idle=11$([ "$3" = 0 ] || echo ",running=$3")"
	# and main's own future, parked in its block_on: found from its thread's stack
	expect_jq "$2" "main's root found parked" \
		'[.tasks[] | select(.kind == "block_on")] | length == 1 and .[0].found_in_memory and .[0].state == "idle"'
	expect_jq "$2" "no poll seen, parked at least since the attach" \
		'all(.tasks[] | select(.state == "idle"); .poll_count == 0 and .blocked_since_attach)'
}

# 5. Full debug info: every parked task found, its await decoded from memory.
test_late_attach_full() {
	local label site t
	attach_parked nofp-full late.json 1
	for label in "${!AWAIT[@]}"; do
		site="$SRC_PREFIX/stuck.rs:$(marker_line stuck "${AWAIT[$label]}")"
		t=$(jqf late.json --arg s "$site" '[.tasks[] | select(.await_site == $s)]
			| if length == 1 then .[0] | "\(.waiting_for.kind) \(.await_method)" else "ERR \(length)" end')
		expect_eq "$label: the task parked at $site" "$t" "${KIND[$label]} state-machine"
	done
	expect_eq "stuck tasks drawn (and main's root)" "$(grep -c '◄── BLOCKED at least' attach.out)" \
		"$((${#AWAIT[@]} + 1))"
}

# 6. Line tables only: found, but their awaits need the types; it says so.
test_late_attach_lines() {
	attach_parked nofp-lines late.json 0
	expect_jq late.json "parked tasks: no await, and why" \
		'[.tasks[] | select(.state == "idle") | select(.await_method == "none"
		  and (.await_note | test("full debug info")))] | length == 11'
	expect_eq "stuck tasks drawn" "$(grep -c 'await unknown: parked before the attach' attach.out)" 11
}

# 7. The report replayed from a recording shows the same awaits.
test_replay() {
	local fields='[.tasks[] | {id, await_site, await_stack, waiting_for, await_method}]'
	tool live run --duration 1.5 --record rec.aib --json live.json -- "$PROGS/nofp-lines/release/stuck"
	expect_rc live 0
	tool replay replay rec.aib --json replay.json
	expect_rc replay 0
	expect_eq "awaits live vs replayed" "$(jqf replay.json "$fields")" "$(jqf live.json "$fields")"
	expect_awaits replay.json stack
}

# 8. Bad --stuck-after values are usage errors (no root needed).
test_bad_stuck_after() {
	tool bad --stuck-after soon run -- /bin/true
	expect_error bad 2 "^async-inspect-bpf: --stuck-after needs a duration"
}

ALL_TESTS=(nofp_lines nofp_full fp_lines fp_full late_attach_full late_attach_lines replay
	bad_stuck_after)
NONROOT_TESTS=(bad_stuck_after)
main "$@"
