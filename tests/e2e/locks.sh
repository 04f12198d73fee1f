#!/usr/bin/env bash
# End-to-end tests of lock contention, blocking inside async code and
# deadlocks: the real tool on tests/programs/locks's `locks` fixture (`make
# e2e`, as root; `make all programs` first). Each mode of the fixture sets
# up one situation and prints `READY name=0xADDR...` with the addresses of
# its locks; the lines the tool must name carry `// aib:LABEL`.
#
#   bash tests/e2e/locks.sh [TEST...]   # all tests, or only the named ones
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/locks/target
SRC=$ROOT/tests/programs/locks/src
SRC_PREFIX=src
PREREQS=(release/locks full/release/locks)
LOCKS=$PROGS/release/locks
LOCKS_FULL=$PROGS/full/release/locks # debug = "full": futures decoded from memory
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# An address the fixture printed on its READY line (NAME=0x...).
addr_of() { # OUT NAME
	local a
	a=$(sed -n "s/^READY.* $2=\(0x[0-9a-f]*\).*/\1/p" "$1" | head -n 1)
	[ -n "$a" ] || fail "no $2= address on the fixture's READY line"
	printf '%s\n' "$a"
}

# The id of the one task spawned at `aib:LABEL` (a loop's line: several).
ids_at() { # JSON LABEL
	local loc
	loc=$(loc_of "$1" locks "$2")
	jqf "$1" --arg l "$loc" '[.tasks[] | select(.spawn_location == $l) | .id] | sort | join(",")'
}

# One lock of the export, by address, as JSON.
lock_at() { # JSON ADDRESS
	jqf "$1" --arg a "$2" '[.locks[] | select(.address == $a)]
		| if length == 1 then .[0] | tojson else "ERR \(length) locks at \($a)" end'
}

site() { # LABEL
	echo "$SRC_PREFIX/locks.rs:$(marker_line locks "$1")"
}

# 1. N tasks queue on one Mutex the main future holds: every count exact.
test_contend() {
	local m q
	tool contend run --locks --json c.json -- "$LOCKS" contend 8
	expect_rc contend 0
	grep -q '^DONE contended=8 acquisitions=9 quiet=5' contend.out || fail "the fixture failed"
	m=$(lock_at c.json "$(addr_of contend.out mutex)")
	[ "${m#ERR }" == "$m" ] || fail "mutex: ${m#ERR }"
	expect_eq "mutex kind/acquisitions/contended/max_waiters" \
		"$(jq -r '"\(.kind) \(.acquisitions) \(.contended) \(.max_waiters)"' <<<"$m")" "Mutex 9 8 8"
	jq -e '.wait_p50_ms > 50 and .wait_max_ms >= .wait_p50_ms and .hold_p99_ms >= 5
		and (.holders | length) == 0 and (.waiters | length) == 0' <<<"$m" >/dev/null ||
		fail "mutex waits/holds: $m"
	q=$(lock_at c.json "$(addr_of contend.out quiet)")
	expect_eq "quiet kind/acquisitions/contended" \
		"$(jq -r '"\(.kind) \(.acquisitions) \(.contended)"' <<<"$q")" "Mutex 5 0"
	grep -q '^Lock contention (' contend.out || fail "no Lock contention section"
	expect_jq c.json "no deadlock" '.deadlocks == []'
}

# A deadlock found live: --fail-on-deadlock ends the session with status 3.
# LABELS: the spawn markers of the tasks in the cycle; NAMES: their locks.
expect_deadlock() { # MODE "LABELS" "NAMES"
	local mode=$1 j=$1.json label want_tasks="" want_locks="" ids
	tool "$mode" run --fail-on-deadlock --duration 20 --json "$j" -- "$LOCKS" "$mode"
	expect_rc "$mode" 3
	expect_jq "$j" "ended by the deadlock" '.metadata.ended == "deadlock found"'
	for label in $2; do want_tasks="$want_tasks,$(ids_at "$j" "$label")"; done
	for label in $3; do want_locks="$want_locks,$(addr_of "$mode.out" "$label")"; done
	want_tasks=$(tr ',' '\n' <<<"${want_tasks#,}" | sort -n | paste -sd,)
	want_locks=$(tr ',' '\n' <<<"${want_locks#,}" | sort | paste -sd,)
	expect_eq "deadlocks found" "$(jqf "$j" '.deadlocks | length')" 1
	ids=$(jqf "$j" '.deadlocks[0].tasks | sort | join(",")')
	expect_eq "the cycle's tasks" "$ids" "$want_tasks"
	expect_eq "the cycle's locks" "$(jqf "$j" '.deadlocks[0].locks | sort | join(",")')" "$want_locks"
	expect_jq "$j" "the cycle string" '.deadlocks[0] | .cycle | test("^task [0-9]+ -> Mutex@0x[0-9a-f]+ -> task")'
	grep -q '^async-inspect-bpf: DEADLOCK: task ' "$mode.err" || fail "no live DEADLOCK line on stderr"
	grep -q '^DEADLOCK: task ' "$mode.out" || fail "no DEADLOCK in the report"
	grep -q '^Cycle: task [0-9]* -> Mutex A -> task [0-9]* -> Mutex B -> ' "$mode.out" ||
		fail "no Cycle line: $(grep -m1 Cycle "$mode.out")"
	grep -q '^Suggestion: acquire the locks in one order' "$mode.out" || fail "no Suggestion line"
}

# 2. Two tasks take two Mutexes in opposite orders.
test_abba() {
	local j=abba.json
	expect_deadlock abba "spawn_transfer_a spawn_transfer_b" "a b"
	# the tasks are named by the await they are stuck on
	grep -q "holds Mutex@$(addr_of abba.out a), waits for Mutex@$(addr_of abba.out b)" abba.out ||
		fail "transfer_a's line"
	grep -q "(transfer_a, $(site abba_a_waits))" abba.out || fail "transfer_a's await site"
	grep -q "(transfer_b, $(site abba_b_waits))" abba.out || fail "transfer_b's await site"
	expect_jq "$j" "the waiters' await sites" '[.locks[].waiters[].await_site] | sort == ([$a, $b] | sort)' \
		--arg a "$(site abba_a_waits)" --arg b "$(site abba_b_waits)"
}

# 3. Three tasks, three Mutexes, in a ring.
test_cycle3() {
	expect_deadlock cycle3 "spawn_cycle1 spawn_cycle2 spawn_cycle3" "m1 m2 m3"
	grep -q '^Cycle: .* -> Mutex C -> task ' cycle3.out || fail "three locks in the Cycle line"
}

# 4. Readers hold a RwLock forever, a writer waits, a late reader queues
# behind it; a Semaphore(3) is used up. Long waits, no cycle: contention.
test_rwlock() {
	local j=rw.json rw sem
	tool rw run --fail-on-deadlock --duration 2 --stuck-after 1s --json "$j" -- "$LOCKS" rwlock
	expect_rc rw 0
	expect_jq "$j" "no deadlock" '.deadlocks == []'
	rw=$(lock_at "$j" "$(addr_of rw.out rw)")
	[ "${rw#ERR }" == "$rw" ] || fail "rw: ${rw#ERR }"
	expect_eq "rwlock kind" "$(jq -r .kind <<<"$rw")" RwLock
	expect_eq "rwlock holders" "$(jq -r '[.holders[].task] | sort | join(",")' <<<"$rw")" \
		"$(ids_at "$j" spawn_reader)"
	expect_eq "rwlock waiters" "$(jq -r '[.waiters[] | "\(.task):\(.wants):\(.await_site)"] | join(" ")' <<<"$rw")" \
		"$(ids_at "$j" spawn_writer):write:$(site writer_waits) $(ids_at "$j" spawn_late_reader):read:$(site late_reader_waits)"
	sem=$(lock_at "$j" "$(addr_of rw.out sem)")
	expect_eq "semaphore kind/permits/holders/waiters" \
		"$(jq -r '"\(.kind) \(.permits) \([.holders[].task] | sort | join(",")) \([.waiters[].task] | join(","))"' <<<"$sem")" \
		"Semaphore 3 $(ids_at "$j" spawn_permits) $(ids_at "$j" spawn_permit_waiter)"
	expect_eq "semaphore waiter's await" "$(jq -r '.waiters[0].await_site' <<<"$sem")" "$(site permit_waits)"
	grep -q '^Long lock waits with no cycle (contention, not a deadlock):' rw.out ||
		fail "no contention note in the report"
}

# 5. A task holds a std::sync::Mutex across a blocking sleep; another
# blocks its worker on that Mutex's futex.
test_std_sleep() {
	local j=std.json m holder victim
	tool std run --locks --blocking --json "$j" -- "$LOCKS" std_sleep
	expect_rc std 0
	m=$(addr_of std.out mutex)
	holder=$(ids_at "$j" spawn_std_holder)
	victim=$(ids_at "$j" spawn_std_victim)
	expect_eq "the sleep: site, task, calls" \
		"$(jqf "$j" '[.blocking[] | select(.what == "sleep") | "\(.site) \(.tasks | join(",")) \(.calls)"] | join(" ")')" \
		"$(site std_sleep) $holder 1"
	expect_jq "$j" "slept about 500ms" '[.blocking[] | select(.what == "sleep")][0].max_ms >= 450'
	expect_eq "the futex wait: lock, site, task" \
		"$(jqf "$j" --arg m "$m" '[.blocking[] | select(.lock_address == $m) | "\(.site) \(.tasks | join(","))"] | join(" ")')" \
		"$(site std_lock_blocks) $victim"
	expect_jq "$j" "blocked about 400ms on the lock" \
		'[.blocking[] | select(.lock_address == $m)][0].total_ms >= 250' --arg m "$m"
	expect_jq "$j" "per-task blocked time" \
		'.tasks[] | select(.id == $h) | .blocked_in_syscalls_ms >= 450' --argjson h "$holder"
	grep -q '^Blocking in async code' std.out || fail "no Blocking in async code section"
	grep -q "futex wait on $m" std.out || fail "the lock address in the report"
}

# 6. A recording replays to the same locks and deadlock, and the same status.
test_replay() {
	local fields='{locks: [.locks[] | {address, kind, acquisitions, contended, holders: [.holders[].task], waiters: [.waiters[].task]}], deadlocks: [.deadlocks[] | {tasks, locks}]}'
	tool live run --fail-on-deadlock --duration 20 --record rec.aib --json live.json -- "$LOCKS" abba
	expect_rc live 3
	tool replay --fail-on-deadlock replay rec.aib --json replay.json
	expect_rc replay 3
	expect_eq "locks and deadlocks, live vs replayed" "$(jqf replay.json "$fields")" "$(jqf live.json "$fields")"
}

# 7. Attached to a process already deadlocked: no probe fires any more, but
# full debug info shows each parked task's guards and the Acquire it awaits.
test_late_attach_deadlock() {
	local tgt j=late.json
	"$LOCKS_FULL" abba >target.out 2>target.err &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY ' 10 "$tgt" locks
	tool attach --pid "$tgt" --fail-on-deadlock --duration 20 --json "$j"
	expect_rc attach 3
	kill "$tgt"
	# (and main's own future, parked in its block_on, found from its stack)
	expect_jq "$j" "both tasks found in memory" \
		'[.tasks[] | select(.found_in_memory and .kind != "block_on")] | length == 2'
	expect_eq "the cycle's locks" "$(jqf "$j" '.deadlocks[0].locks | sort | join(",")')" \
		"$(printf '%s\n' "$(addr_of target.out a)" "$(addr_of target.out b)" | sort | paste -sd,)"
	expect_eq "the cycle's tasks" "$(jqf "$j" '.deadlocks[0].tasks | sort | join(",")')" \
		"$(jqf "$j" '[.tasks[] | select(.found_in_memory and .kind != "block_on") | .id] | sort | join(",")')"
	expect_jq "$j" "held before the attach: holders, not acquisitions" \
		'all(.locks[]; .acquisitions == 0 and (.holders | length) == 1 and (.waiters | length) == 1)'
	grep -q "(transfer_a, $(site abba_a_waits)) holds Mutex@$(addr_of target.out a)" attach.out ||
		fail "transfer_a's DEADLOCK line"
}

# 8. Locks and blocking syscalls are optional captures: by default neither
# a lock probe nor a syscall tracepoint is attached, so the same run sees
# no lock and no blocking call, and the start-up line says how to ask.
test_default_mode() {
	local j=default.json
	tool default run --json "$j" -- "$LOCKS" std_sleep
	expect_rc default 0
	grep -q 'optional captures: none (--locks, --blocking)' default.err ||
		fail "the start-up line does not name the optional captures: $(head -c 300 default.err)"
	expect_jq "$j" "no lock traced" '.locks == [] and .blocking == []'
	expect_jq "$j" "the tasks are still seen" '[.tasks[] | select(.poll_count > 0)] | length >= 2'
	tool both run --locks --blocking-threshold 50ms --json both.json -- "$LOCKS" std_sleep
	expect_rc both 0
	grep -q 'optional captures: locks, blocking syscalls >= 50.00ms' both.err ||
		fail "the start-up line does not name the captures asked for: $(head -c 300 both.err)"
	expect_jq both.json "the futex wait is seen" '[.blocking[] | select(.what | startswith("futex wait"))] | length == 1'
}

# 9. Bad --blocking-threshold values are usage errors (no root needed).
test_bad_threshold() {
	tool bad --blocking-threshold never run -- /bin/true
	expect_error bad 2 "^async-inspect-bpf: --blocking-threshold needs a duration"
}

ALL_TESTS=(contend abba cycle3 rwlock std_sleep replay late_attach_deadlock default_mode bad_threshold)
NONROOT_TESTS=(bad_threshold)
main "$@"
