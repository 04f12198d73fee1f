#!/usr/bin/env bash
# End-to-end tests of the exports (--perfetto, --chrome-trace, --flamegraph,
# --csv): the real tool on the Rust fixtures (as root: `make all programs`
# first), and on synthetic recordings (tools/gen_recording.c, no root).
#
#   bash tests/e2e/exports.sh [TEST...]     # all tests, or only the named ones
#
# Every export is checked against the model's own counts (the --json export
# of the same session): the Perfetto trace decodes with protoc against
# tests/perfetto/aib_trace.proto (the subset of Perfetto's schema that we
# write) with no unknown field, and passes build/tools/check_perfetto (the
# importer's rules); the Chrome trace parses and balances; folded stacks and
# CSV add up. A replay of the session's recording must write identical
# exports.
#
# Output: `PASS name` or `FAIL name: why` per test, then `N passed, M failed`.
# Exit status 0 only if every test passed (and ran as root).
# AIB_E2E_KEEP=1 keeps the scratch directory.
# PERFETTO_PROTO=FILE (Perfetto's full perfetto_trace.proto) decodes each
# trace against it as well: no unknown field there either, and the same text
# as with our subset (so our names, numbers and types are Perfetto's).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHECK=$ROOT/build/tools/check_perfetto
GEN=$ROOT/build/tools/gen_recording
PROGS=$ROOT/tests/programs/target/release
SCHEMA=$ROOT/tests/perfetto/aib_trace.proto
FULL_SCHEMA=${PERFETTO_PROTO:-}
case $FULL_SCHEMA in # absolute: the checks run in scratch directories
"" | /*) ;;
*) FULL_SCHEMA=$PWD/$FULL_SCHEMA ;;
esac
TIMEOUT=${AIB_E2E_TIMEOUT:-60}
EXPORTS=(--perfetto t.pftrace --chrome-trace c.json --flamegraph f.folded --csv csv)
FIXTURES=(multi_thread current_thread nested many_tasks demo)
PREREQS=("${FIXTURES[@]}")
NEED_FILES=("$CHECK" "$GEN")
NEED_COMMANDS=(protoc)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# The model's numbers, from the --json export of the same session.
model() { # FIELD
	jqf model.json ".metadata.$1"
}

# What the exports list as a task: every spawned task and every block_on
# root (the future a thread polls itself), each with its polls.
tasks_listed() {
	jqf model.json '.metadata.total_tasks + .metadata.block_on_roots'
}

polls_listed() {
	jqf model.json '.metadata.total_polls + .metadata.block_on_polls'
}

# ---------------------------------------------------------------------------
# Sessions: each writes, in its directory, model.json, rec.bin (when live)
# and the exports t.pftrace, c.json, f.folded, csv/.

# A fixture under `run`, recorded, then the recording replayed into replay/.
live_session() { # DIR PROGRAM [ARGS...]
	local d=$1 rc=0
	shift
	mkdir -p "$d/replay"
	(cd "$d" && timeout -k 5 "$TIMEOUT" "$BIN" run --json model.json --record rec.bin \
		"${EXPORTS[@]}" -- "$@" >run.out 2>run.err) || rc=$?
	[ "$rc" = 0 ] || { echo "run exited $rc: $(tail -n 1 "$d/run.err")"; return 1; }
	(cd "$d/replay" && "$BIN" replay ../rec.bin --json model.json "${EXPORTS[@]}" \
		>replay.out 2>replay.err) || { echo "replay failed: $(tail -n 1 "$d/replay/replay.err")"; return 1; }
}

synthetic_session() { # DIR GEN-ARGS...
	local d=$1
	shift
	mkdir -p "$d"
	"$GEN" "$d/rec.bin" "$@" >/dev/null || { echo "gen_recording $* failed"; return 1; }
	(cd "$d" && "$BIN" replay rec.bin --json model.json "${EXPORTS[@]}" >replay.out 2>replay.err) ||
		{ echo "replay failed: $(tail -n 1 "$d/replay.err")"; return 1; }
}

# ---------------------------------------------------------------------------
# Checks, run in a session's directory

# t.pftrace decoded against SCHEMA into OUT, every field known; WHAT names
# the schema in a failure.
decode_perfetto() { # SCHEMA OUT WHAT
	local schema=$1 txt=$2 what=$3 n
	[ -f "$schema" ] || fail "$what: no such file"
	protoc -I "$(dirname "$schema")" --decode=perfetto.protos.Trace "$(basename "$schema")" \
		<t.pftrace >"$txt" 2>protoc.err || fail "protoc cannot decode t.pftrace against $what: $(head -n 1 protoc.err)"
	n=$(grep -cE '^\s*[0-9]+:' "$txt" || true)
	[ "$n" = 0 ] || fail "against $what, $n fields protoc does not know, e.g. '$(grep -m 1 -E '^\s*[0-9]+:' "$txt")'"
}

check_perfetto_export() {
	local out line
	command -v protoc >/dev/null || fail "protoc missing (make deps installs protobuf-compiler)"
	[ -s t.pftrace ] || fail "t.pftrace missing or empty"
	decode_perfetto "$SCHEMA" t.txt "tests/perfetto/aib_trace.proto"
	if [ -n "$FULL_SCHEMA" ]; then
		decode_perfetto "$FULL_SCHEMA" t.full.txt "PERFETTO_PROTO=$FULL_SCHEMA"
		# same text: our names, numbers and types are Perfetto's
		if ! cmp -s t.txt t.full.txt; then
			line=$(cmp t.txt t.full.txt 2>&1 | sed -n 's/.* line \([0-9]*\).*/\1/p') || true # cmp's status 1
			line=${line:-1}
			fail "t.pftrace decodes differently against tests/perfetto/aib_trace.proto and" \
				"PERFETTO_PROTO=$FULL_SCHEMA from line $line:" \
				"'$(sed -n "${line}p" t.txt)' and '$(sed -n "${line}p" t.full.txt)'"
		fi
	fi
	out=$("$CHECK" t.pftrace --tasks "$(tasks_listed)" --runtime-tasks "$(model runtime_tasks)" \
		--polls "$(polls_listed)" --wakes "$(model total_wakes)" 2>&1) ||
		fail "check_perfetto: $(echo "$out" | head -n 1)"
}

check_chrome_export() {
	local got
	got=$(jqf c.json '[.displayTimeUnit, (.traceEvents | type), (.metadata.tasks | length)] | join(" ")')
	expect_eq "unit, events, tasks" "$got" "ns array $(tasks_listed)"
	# poll slices: B/E balanced per thread, never below zero; user polls as the model's
	got=$(jqf c.json 'reduce (.traceEvents[] | select(.ph == "B" or .ph == "E")) as $e ({};
		.[$e.tid | tostring] |= ((. // {d: 0, min: 0}) | .d += (if $e.ph == "B" then 1 else -1 end)
		| .min = ([.min, .d] | min))) | [.[] | select(.d != 0 or .min < 0)] | length')
	expect_eq "threads with unbalanced poll slices" "$got" 0
	got=$(jqf c.json '(.metadata.tasks | map({key: (.id | tostring), value: 1}) | from_entries) as $user
		| [.traceEvents[] | select(.ph == "B" and $user[.args.task_id | tostring])] | length')
	expect_eq "poll slices of user tasks" "$got" "$(polls_listed)"
	expect_eq "sum of tasks' poll_count" "$(jqf c.json '[.metadata.tasks[].poll_count] | add // 0')" \
		"$(polls_listed)"
	# flows: one start and one finish per id
	got=$(jqf c.json '[.traceEvents[] | select(.ph == "s") | .id] as $s
		| [.traceEvents[] | select(.ph == "f") | .id] as $f
		| ($s | length) == ($s | unique | length) and ($s | sort) == ($f | sort)')
	expect_eq "flows paired" "$got" true
}

check_folded_export() {
	local bad
	[ -f f.folded ] || fail "f.folded missing"
	bad=$(grep -cvE '^[^ ;][^;]*;(poll|idle) [0-9]+$' f.folded || true)
	[ "$bad" = 0 ] || fail "$bad malformed lines, e.g. '$(grep -m 1 -vE '^[^ ;][^;]*;(poll|idle) [0-9]+$' f.folded)'"
	# per location: busy as the model's busy_ms, idle as the sum of its tasks' idle_ms
	jqf model.json '.tasks | group_by(.spawn_location)[]
		| "\(.[0].spawn_location // "(unknown location)")\t\(map(.run_time_ms) | add)\t\(map(.idle_ms) | add)\t\(length)"' \
		>want.tsv
	bad=$(awk -F'\t' '
		NR == FNR { busy[$1] = $2; idle[$1] = $3; n[$1] = $4; next }
		{ i = match($0, /;(poll|idle) [0-9]+$/); loc = substr($0, 1, i - 1)
		  split(substr($0, i + 1), kv, " "); got[loc, kv[1]] = kv[2] / 1e6 }
		END {
			for (l in n) for (k = 1; k <= 2; k++) {
				kind = k == 1 ? "poll" : "idle"; want = k == 1 ? busy[l] : idle[l]
				d = got[l, kind] - want; if (d < 0) d = -d
				if (d > 0.0006 * n[l] + 0.001) { printf "%s;%s: %s ms, the model says %s\n", l, kind, got[l, kind], want; exit }
			}
		}' want.tsv f.folded)
	[ -z "$bad" ] || fail "$bad"
}

check_csv_export() {
	local got want
	expect_eq "tasks.csv header" "$(head -n 1 csv/tasks.csv)" \
		"id,name,state,created_at_ms,duration_ms,poll_count,run_time_ms,parent_id,spawn_location,idle_ms"
	expect_eq "events.csv header" "$(head -n 1 csv/events.csv)" "event_id,task_id,timestamp_ms,kind,details"
	# the tasks: id, state and polls as the model's
	got=$(awk -F, 'NR > 1 { print $1 "," $3 "," $6 }' csv/tasks.csv | sort)
	want=$(jqf model.json '.tasks[] | "\(.id),\(.state),\(.poll_count)"' | sort)
	[ "$got" == "$want" ] || fail "tasks.csv differs from the model: $(diff <(echo "$want") <(echo "$got") | sed -n 2p)"
	# the events: numbered in order; polls of user tasks and wakes as the model's
	got=$(awk -F, 'NR > 1 && $1 != NR - 1 { print "row " NR " has event_id " $1; exit }' csv/events.csv)
	[ -z "$got" ] || fail "events.csv: $got"
	got=$(awk -F, 'NR == FNR { if (FNR > 1) user[$1] = 1; next }
		$4 == "poll_begin" && user[$2] { polls++ } $4 == "wake" { wakes++ }
		END { print polls + 0, wakes + 0 }' csv/tasks.csv csv/events.csv)
	expect_eq "events.csv user polls, wakes" "$got" "$(polls_listed) $(model total_wakes)"
}

# The replay of the session's recording wrote the same bytes.
check_replay_identical() {
	local f
	for f in model.json t.pftrace c.json f.folded csv/tasks.csv csv/events.csv; do
		cmp -s "$f" "replay/$f" || fail "replay wrote a different $f"
	done
}

# ---------------------------------------------------------------------------
# Tests: sessions are made once, on first use, and shared

session_dir() { # NAME: the session's directory, made on first use
	local name=$1 d=$T/sessions/$1 why
	if [ ! -e "$d/.done" ] && [ ! -e "$d/.failed" ]; then
		case $name in
		synthetic) why=$(synthetic_session "$d" 200000 --live 300 --polls 6) || true ;;
		synthetic_late) why=$(synthetic_session "$d" 50000 --live 100 --polls 3 --late --seed 7) || true ;;
		many_tasks) why=$(live_session "$d" "$PROGS/many_tasks" 2000) || true ;;
		demo) why=$(live_session "$d" "$PROGS/demo" --seconds 1) || true ;;
		*) why=$(live_session "$d" "$PROGS/$name") || true ;;
		esac
		if [ -n "$why" ]; then echo "$why" >"$d/.failed"; else touch "$d/.done"; fi
	fi
	echo "$d"
}

for s in "${FIXTURES[@]}" synthetic synthetic_late; do
	for c in perfetto chrome folded csv; do
		eval "test_${c}_$s() { cd \"\$(session_dir $s)\"; [ ! -e .failed ] || fail \"session: \$(cat .failed)\"; check_${c}_export; }"
	done
done
for s in "${FIXTURES[@]}"; do
	eval "test_replay_$s() { cd \"\$(session_dir $s)\"; [ ! -e .failed ] || fail \"session: \$(cat .failed)\"; check_replay_identical; }"
done

# The checker itself notices a lost packet of each kind that matters.
test_checker_catches_loss() {
	local d what n
	d=$(session_dir synthetic)
	[ ! -e "$d/.failed" ] || fail "session: $(cat "$d/.failed")"
	cd "$d"
	[ -s t.txt ] || check_perfetto_export
	for what in 'TYPE_SLICE_END' 'terminating_flow_ids' '^ +flow_ids' 'sibling_merge_behavior' 'sequence_flags: 1$'; do
		n=$(awk -v re="$what" '/^packet \{/ { p++ } $0 ~ re { print p; exit }' t.txt)
		[ -n "$n" ] || fail "no packet with /$what/ in the trace"
		if "$CHECK" t.pftrace --drop "$n" >drop.out 2>&1; then
			fail "check_perfetto did not notice the loss of packet $n (the first with /$what/)"
		fi
	done
}

# Only busy or only idle stacks on request; a bad kind is a usage error.
test_flamegraph_kind() {
	local d rc=0
	d=$(session_dir synthetic)
	[ ! -e "$d/.failed" ] || fail "session: $(cat "$d/.failed")"
	"$BIN" replay "$d/rec.bin" --flamegraph busy.folded --flamegraph-kind busy >/dev/null
	"$BIN" replay "$d/rec.bin" --flamegraph idle.folded --flamegraph-kind idle >/dev/null
	[ "$(grep -c ';poll ' busy.folded)" -gt 0 ] && ! grep -q ';idle ' busy.folded || fail "busy.folded: not only poll stacks"
	[ "$(grep -c ';idle ' idle.folded)" -gt 0 ] && ! grep -q ';poll ' idle.folded || fail "idle.folded: not only idle stacks"
	cat busy.folded idle.folded | sort >both.sorted
	sort "$d/f.folded" | cmp -s - both.sorted || fail "busy + idle differ from the default (both)"
	"$BIN" replay "$d/rec.bin" --flamegraph x --flamegraph-kind sideways >/dev/null 2>err || rc=$?
	expect_eq "exit status of a bad --flamegraph-kind" "$rc" 2
}

# An export that cannot be written: one line on stderr, exit 1, before any work.
test_unwritable_export() {
	local d rc=0
	d=$(session_dir synthetic)
	[ ! -e "$d/.failed" ] || fail "session: $(cat "$d/.failed")"
	"$BIN" replay "$d/rec.bin" --perfetto /nonexistent/dir/t.pftrace >out 2>err || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_eq "stderr" "$(cat err)" \
		"async-inspect-bpf: cannot write /nonexistent/dir/t.pftrace: No such file or directory"
	[ ! -s out ] || fail "a report was printed although an export could not be written"
}

NONROOT_TESTS=()
for c in perfetto chrome folded csv; do
	NONROOT_TESTS+=("${c}_synthetic" "${c}_synthetic_late")
done
NONROOT_TESTS+=(checker_catches_loss flamegraph_kind unwritable_export)
ALL_TESTS=()
for s in "${FIXTURES[@]}"; do
	ALL_TESTS+=("perfetto_$s" "chrome_$s" "folded_$s" "csv_$s" "replay_$s")
done
ALL_TESTS+=("${NONROOT_TESTS[@]}")

main "$@"
