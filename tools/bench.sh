#!/usr/bin/env bash
# `make bench` (issue 7): what tracing costs the target, what the daemon
# costs, and how long attaching takes. Measured and printed, never asserted;
# README.md (Performance) keeps the figures. As root (uprobes); `make bench`
# builds the tool, the workloads and the tools first.
#
#   1. uprobe       the price of one bare uprobe hit, this run (tools/uprobe_cost.c)
#   2. overhead     two workloads, each run untraced (A), traced by
#                   async-inspect-bpf in its default mode (B: lifecycles,
#                   wakes, await sites), with each optional capture on its
#                   own (L --locks, K --blocking, R --record, P --perfetto),
#                   and built with tokio's own tracing instrumentation and a
#                   recording tracing-subscriber layer (C), interleaved
#                   A B L K R P C A B ..., medians of BENCH_RUNS runs:
#                     pingpong     tasks bouncing messages over mpsc channels
#                     echo         TCP echo server (tests/programs echo_server)
#                                  under a loopback load (tools/echo_load.c)
#                   then one more run of B, L and K each with
#                   kernel.bpf_stats_enabled (restored after): probe hits per
#                   poll and the BPF programs' own time per run; B's is
#                   recorded for the kinds of hits (tools/rec_stats.c)
#   3. daemon       replay of a synthetic recording of BENCH_REPLAY_EVENTS
#                   events, pinned to one CPU: the decoder and model with the
#                   text report, then with each output; memory per live task
#                   (BENCH_LIVE_TASKS spawned and polled once, none completing)
#   4. attach       a generated program with BENCH_FUTURES async fns
#                   (tools/gen_many_futures.sh): attach and detach times, with
#                   `run` and with `--pid`
#   5. exports      tools/bench-export.sh
#   6. roots        a block_on root polled BENCH_ROOT_POLLS times (it yields:
#                   tests/programs/block-on bo_yield), current-thread and
#                   multi-thread, untraced (A) and traced (B) interleaved,
#                   medians of BENCH_RUNS: what the tracer adds per root poll
#   7. seek         `top --replay`'s stepping back (tools/seek_bench.c): a
#                   synthetic recording of BENCH_SEEK_EVENTS events opened
#                   with the replay cursor's checkpoints and without; seeks
#                   back from the end and steps of 1%, pinned to one CPU
#   then a summary against the targets of issue 7.
#
# Environment (defaults): BENCH_ONLY ("uprobe overhead daemon attach exports roots seek"),
# BENCH_RUNS (5), BENCH_PINGPONG ("64 10000": pairs, round trips per pair),
# BENCH_ECHO ("32 200000": connections, requests), BENCH_REPLAY_EVENTS
# (10000000), BENCH_LIVE_TASKS (1000000), BENCH_FUTURES (600),
# BENCH_ROOT_POLLS (20000), BENCH_SEEK_EVENTS (5000000), BENCH_DIR
# (build/bench: scratch files, the tokio-tracing build, the generated
# program; results.txt keeps this run's output).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-build/bench}
ONLY=${BENCH_ONLY:-uprobe overhead daemon attach exports roots seek}
RUNS=${BENCH_RUNS:-5}
read -r PP_PAIRS PP_ROUNDS <<<"${BENCH_PINGPONG:-64 10000}"
read -r ECHO_CONNS ECHO_REQUESTS <<<"${BENCH_ECHO:-32 200000}"
REPLAY_EVENTS=${BENCH_REPLAY_EVENTS:-10000000}
LIVE_TASKS=${BENCH_LIVE_TASKS:-1000000}
FUTURES=${BENCH_FUTURES:-600}
ROOT_POLLS=${BENCH_ROOT_POLLS:-20000}
SEEK_EVENTS=${BENCH_SEEK_EVENTS:-5000000}
CARGO=${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}

BIN=$PWD/build/async-inspect-bpf
TOOLS=$PWD/build/tools
PROGS=$PWD/tests/programs/target/release
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
TRACING_TARGET=$DIR/tokio-tracing
TRACING=$TRACING_TARGET/release
MF_DIR=$DIR/many_futures
MF=$MF_DIR/target/release/many_futures
S=$DIR/scratch
RESULTS=$DIR/results.txt

mkdir -p "$DIR"
rm -rf "$S"
mkdir -p "$S"
: >"$RESULTS"

say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
# shellcheck disable=SC2059 # sayf FORMAT ARGS: the format is ours
sayf() { local f=$1; shift; printf "$f" "$@" | tee -a "$RESULTS"; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
# KEY: the value of KEY=VALUE in stdin's first line that has it
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" | head -n 1; }
# median of the numbers on stdin (one per line); "nan" if none
median() { sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# calc EXPR: awk arithmetic on numbers given as -v a=.. b=..
calc() { local e=$1; shift; awk "$@" "BEGIN { x = $e; print x }" </dev/null; }

BPF_STATS_WAS=
restore() {
	[ -z "$BPF_STATS_WAS" ] || sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS" || true
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
}
trap restore EXIT
trap 'exit 130' INT TERM

ROOT_OK=1
[ "$(id -u)" = 0 ] || ROOT_OK=0

say "== async-inspect-bpf benchmarks (make bench), $(date -u '+%Y-%m-%d %H:%M UTC') =="
say "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)$( [ -r /etc/debian_version ] && echo ", Debian $(cat /etc/debian_version)")"
say "tool: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- bpf user include 2>/dev/null || echo ' (+ uncommitted changes in bpf/, user/ or include/)')"
if [ "$ROOT_OK" = 0 ]; then
	say "not root: uprobe, overhead and attach need root (uprobes); running daemon and exports only"
	ONLY=$(echo " $ONLY " | sed 's/ uprobe / /; s/ overhead / /; s/ attach / /')
fi

# ---------------------------------------------------------------------------
# 1. the bare uprobe hit
HIT_NS=nan RET_NS=nan STEP_NS=nan
if want uprobe || want overhead; then
	say ""
	say "== 1. one uprobe hit (tools/uprobe_cost: an empty BPF program, attached as the tool does) =="
	out=$("$TOOLS/uprobe_cost" 200000 7)
	say "$out"
	HIT_NS=$(kv entry_hit_ns <<<"$out")
	RET_NS=$(kv entry_return_ns <<<"$out")
	STEP_NS=$(kv single_step_hit_ns <<<"$out")
	say "bare emulated hit (push %rbp entry): $HIT_NS ns; entry + uretprobe: $RET_NS ns; single-stepped entry (sub \$0x18,%rsp): $STEP_NS ns"
fi

# ---------------------------------------------------------------------------
# 2. overhead on the target

# tokio's tracing variant: build it, or say exactly why not
TRACING_OK=0 TRACING_WHY=
build_tracing() {
	local missing="" p
	dpkg-query -W -f='${Status}' librust-tracing-subscriber-dev 2>/dev/null | grep -q 'ok installed' ||
		missing=" librust-tracing-subscriber-dev"
	for p in tokio-1. tracing-0.1 tracing-subscriber-0.3 tracing-core-0.1 sharded-slab-0.1 thread_local-1.; do
		ls -d /usr/share/cargo/registry/"$p"* >/dev/null 2>&1 || missing="$missing $p*(in /usr/share/cargo/registry)"
	done
	if [ -n "$missing" ]; then
		TRACING_WHY="missing offline:$missing (make bench installs librust-tracing-subscriber-dev)"
		return
	fi
	if (cd tests/programs/tokio-tracing &&
		RUSTFLAGS="--cfg tokio_unstable" "$CARGO" build --release --offline -q \
			--target-dir "$TRACING_TARGET") >"$S/tracing-build.log" 2>&1; then
		TRACING_OK=1
	else
		TRACING_WHY="the tokio-tracing build failed: $(grep -m1 -E '^error' "$S/tracing-build.log" || tail -n 1 "$S/tracing-build.log")"
	fi
}

# The variants of section 2: A untraced; B the tool's default mode
# (lifecycles, wakes, await sites); then each optional capture on its own:
# L --locks, K --blocking (syscall tracepoints), R --record FILE, P --perfetto
# FILE; C tokio's own tracing. TRACED: the tool's variants.
TRACED="B L K R P"
variant_name() {
	case $1 in
	A) echo "untraced" ;;
	B) echo "async-inspect-bpf, default mode" ;;
	L) echo "  + --locks" ;;
	K) echo "  + --blocking" ;;
	R) echo "  + --record FILE" ;;
	P) echo "  + --perfetto FILE" ;;
	C) echo "tokio tracing" ;;
	esac
}
# tool_opts VARIANT PREFIX: the tool's options of a traced variant
tool_opts() {
	case $1 in
	L) echo --locks ;;
	K) echo --blocking ;;
	R) echo --record "$2.rec" ;;
	P) echo --perfetto "$2.pftrace" ;;
	esac
}

# run_pingpong VARIANT N: one run; its stdout and stderr in $S/pp.VARIANT.N.{out,err}
run_pingpong() {
	local v=$1 o=$S/pp.$1.$2
	case $v in
	A) timeout 150 "$PROGS/pingpong" "$PP_PAIRS" "$PP_ROUNDS" >"$o.out" 2>"$o.err" ;;
	C) timeout 150 "$TRACING/pingpong" "$PP_PAIRS" "$PP_ROUNDS" >"$o.out" 2>"$o.err" ;;
	*)
		# shellcheck disable=SC2046 # the options split on purpose
		timeout 300 "$BIN" run --tasks 1 --json "$o.json" $(tool_opts "$v" "$o") -- \
			"$PROGS/pingpong" "$PP_PAIRS" "$PP_ROUNDS" >"$o.out" 2>"$o.err"
		;;
	esac
	rm -f "$o.rec" "$o.pftrace"
}

# run_echo VARIANT N: server (variant) + load generator; EXTRA_OPTS: more
# options for the tool
EXTRA_OPTS=()
run_echo() {
	local v=$1 o=$S/echo.$1.$2 srv i
	rm -f "$S/port"
	case $v in
	A) timeout 150 "$PROGS/echo_server" "$S/port" "$ECHO_CONNS" >"$o.out" 2>"$o.err" & ;;
	C) timeout 150 "$TRACING/echo_server" "$S/port" "$ECHO_CONNS" >"$o.out" 2>"$o.err" & ;;
	*)
		# shellcheck disable=SC2046
		timeout 300 "$BIN" run --tasks 1 --json "$o.json" "${EXTRA_OPTS[@]}" $(tool_opts "$v" "$o") -- \
			"$PROGS/echo_server" "$S/port" "$ECHO_CONNS" >"$o.out" 2>"$o.err" &
		;;
	esac
	srv=$!
	for ((i = 0; i < 200; i++)); do
		[ -s "$S/port" ] && break
		sleep 0.05
	done
	if [ -s "$S/port" ]; then
		"$TOOLS/echo_load" "$(cat "$S/port")" "$ECHO_CONNS" "$ECHO_REQUESTS" 64 60 >"$o.load" 2>>"$o.err" || true
	fi
	wait "$srv" || true
	rm -f "$o.rec" "$o.pftrace"
}

# The BPF programs' runs and own time per run while CMD... runs in the
# background (kernel.bpf_stats_enabled; the programs loaded meanwhile):
# "uprobe_entry_runs=N uprobe_entry_ns=X uprobe_return_runs=..." for
# uprobe_entry, uprobe_return, sys_enter and sys_exit (ns per run).
bpf_prog_time() {
	local before last=$S/bpftool.json pid
	before=$(bpftool -j prog show 2>/dev/null | jq '[.[].id] | max // 0' 2>/dev/null || echo 0)
	"$@" >/dev/null 2>&1 &
	pid=$!
	rm -f "$last"
	while kill -0 "$pid" 2>/dev/null; do
		bpftool -j prog show >"$last.tmp" 2>/dev/null && mv "$last.tmp" "$last"
		sleep 0.2
	done
	wait "$pid" || true
	[ -s "$last" ] || { echo "uprobe_entry_runs=0"; return; }
	jq -r --argjson b "$before" '
		[.[] | select(.id > $b)] as $p |
		def one(n): ([$p[] | select(.name == n)] | last) // {run_cnt: 0, run_time_ns: 0};
		[("uprobe_entry", "uprobe_return", "sys_enter", "sys_exit") as $n | one($n) as $e |
		 "\($n)_runs=\($e.run_cnt // 0) \($n)_ns=\(if ($e.run_cnt // 0) > 0 then ($e.run_time_ns / $e.run_cnt * 10 | round / 10) else 0 end)"]
		| join(" ")' "$last"
}

# summarize WORKLOAD PREFIX: medians per variant
declare -A SUM
summarize() {
	local w=$1 p=$2 v n f
	for v in $variants; do
		for f in elapsed_ns cpu_ns; do
			SUM[$w.$v.$f]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.$v.$n.out" ] || kv "$f" <"$p.$v.$n.out"; done | median)
		done
		SUM[$w.$v.rps]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.$v.$n.load" ] || kv rps <"$p.$v.$n.load"; done | median)
		SUM[$w.$v.client_s]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.$v.$n.load" ] || kv elapsed_s <"$p.$v.$n.load"; done | median)
		SUM[$w.$v.lost]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.$v.$n.json" ] || jq .metadata.lost_events "$p.$v.$n.json"; done | sort -g | tail -n 1)
	done
	SUM[$w.polls]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.B.$n.json" ] || jq .metadata.total_polls "$p.B.$n.json"; done | median)
	SUM[$w.events]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.B.$n.json" ] || jq .metadata.total_events "$p.B.$n.json"; done | median)
	SUM[$w.records]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.C.$n.err" ] || kv records <"$p.C.$n.err"; done | median)
}

# cost_lines WORKLOAD: each variant's medians and its added cost per poll
cost_lines() {
	local w=$1 polls=${SUM[$1.polls]} v wall cpu
	sayf '  %-34s %10s %10s %22s %22s %8s\n' "" "$([ "$w" = echo ] && echo "requests/s" || echo elapsed)" \
		"CPU" "added/poll, CPU" "added/poll, wall" "lost"
	for v in $variants; do
		if [ "$v" = A ]; then
			sayf '  %-34s %10s %8.1f ms\n' "A $(variant_name A)" \
				"$([ "$w" = echo ] && printf '%.0f' "${SUM[$w.A.rps]}" || printf '%.1f ms' "$(calc 'e / 1e6' -v e="${SUM[$w.A.elapsed_ns]}")")" \
				"$(calc 'e / 1e6' -v e="${SUM[$w.A.cpu_ns]}")"
			continue
		fi
		if [ "$w" = echo ]; then
			wall=$(calc '(b - a) * 1e9 / p' -v a="${SUM[$w.A.client_s]}" -v b="${SUM[$w.$v.client_s]}" -v p="$polls")
		else
			wall=$(calc '(b - a) / p' -v a="${SUM[$w.A.elapsed_ns]}" -v b="${SUM[$w.$v.elapsed_ns]}" -v p="$polls")
		fi
		cpu=$(calc '(b - a) / p' -v a="${SUM[$w.A.cpu_ns]}" -v b="${SUM[$w.$v.cpu_ns]}" -v p="$polls")
		SUM[$w.$v.add_wall]=$wall
		SUM[$w.$v.add_cpu]=$cpu
		sayf '  %-34s %10s %8.1f ms %6.0f ns (%4.1f hits) %6.0f ns (%4.1f hits) %8s\n' "$v $(variant_name "$v")" \
			"$([ "$w" = echo ] && printf '%.0f' "${SUM[$w.$v.rps]}" || printf '%.1f ms' "$(calc 'e / 1e6' -v e="${SUM[$w.$v.elapsed_ns]}")")" \
			"$(calc 'e / 1e6' -v e="${SUM[$w.$v.cpu_ns]}")" \
			"$cpu" "$(calc 'c / h' -v c="$cpu" -v h="$HIT_NS")" "$wall" "$(calc 'c / h' -v c="$wall" -v h="$HIT_NS")" \
			"${SUM[$w.$v.lost]:--}"
	done
}

# stats_run WORKLOAD VARIANT: one more run with kernel.bpf_stats_enabled,
# for the probe hits per poll and the programs' time; B is also recorded,
# for the kinds of hits (tools/rec_stats.c)
stats_run() {
	local w=$1 v=$2 o=$S/st.$1.$2 rec=()
	[ "$v" = B ] && rec=(--record "$S/st.$w.rec")
	if [ "$w" = pingpong ]; then
		# shellcheck disable=SC2046
		SUM[$w.$v.bpf]=$(bpf_prog_time "$BIN" run --tasks 1 --json "$o.json" "${rec[@]}" $(tool_opts "$v" "$o") -- \
			"$PROGS/pingpong" "$PP_PAIRS" "$PP_ROUNDS")
	else
		EXTRA_OPTS=("${rec[@]}")
		SUM[$w.$v.bpf]=$(bpf_prog_time run_echo "$v" "st$v")
		EXTRA_OPTS=()
		cp "$S/echo.$v.st$v.json" "$o.json" 2>/dev/null || true
	fi
}

# hits_lines WORKLOAD VARIANT: probe hits per poll, priced as bare hits of
# their class (uprobe_cost), and the BPF programs' own time per poll
hits_lines() {
	local w=$1 v=$2 bs=${SUM[$1.$2.bpf]} polls er rr se sx ref floor prog
	polls=$(jq .metadata.total_polls "$S/st.$w.$v.json" 2>/dev/null || echo 0)
	er=$(kv uprobe_entry_runs <<<"$bs")
	rr=$(kv uprobe_return_runs <<<"$bs")
	se=$(kv sys_enter_runs <<<"$bs")
	sx=$(kv sys_exit_runs <<<"$bs")
	if [ -z "$er" ] || [ "$er" = 0 ] || [ "$polls" = 0 ]; then
		say "  $v: no BPF statistics (bpftool and jq needed, kernel.bpf_stats_enabled)"
		return
	fi
	ref=$(calc 'r * p' -v r="${SUM[$w.ref_per_poll]:-0}" -v p="$polls")
	floor=$(calc '(e * h + r * (ret - h) + f * (st - h)) / p' -v e="$er" -v r="$rr" -v f="$ref" -v p="$polls" \
		-v h="$HIT_NS" -v ret="$RET_NS" -v st="$STEP_NS")
	prog=$(calc '(e * en + r * rn + a * an + b * bn) / p' -v p="$polls" \
		-v e="$er" -v en="$(kv uprobe_entry_ns <<<"$bs")" -v r="$rr" -v rn="$(kv uprobe_return_ns <<<"$bs")" \
		-v a="$se" -v an="$(kv sys_enter_ns <<<"$bs")" -v b="$sx" -v bn="$(kv sys_exit_ns <<<"$bs")")
	SUM[$w.$v.hits]=$(calc '(e + r) / p' -v e="$er" -v r="$rr" -v p="$polls")
	SUM[$w.$v.floor]=$floor
	SUM[$w.$v.prog]=$prog
	sayf '  %s: %.2f probe hits per poll (%.2f entry, %.2f return)%s: as bare hits %.0f ns; programs %.0f ns (entry %s ns x %.2f, return %s ns x %.2f%s); sum %.0f ns\n' \
		"$v" "${SUM[$w.$v.hits]}" "$(calc 'e / p' -v e="$er" -v p="$polls")" "$(calc 'r / p' -v r="$rr" -v p="$polls")" \
		"$([ "${se:-0}" = 0 ] || calc 'a / p' -v a="$se" -v p="$polls" | awk '{ printf ", syscall tracepoints %.2f enter+exit pairs (all processes)", $1 }')" \
		"$floor" "$prog" "$(kv uprobe_entry_ns <<<"$bs")" "$(calc 'e / p' -v e="$er" -v p="$polls")" \
		"$(kv uprobe_return_ns <<<"$bs")" "$(calc 'r / p' -v r="$rr" -v p="$polls")" \
		"$([ "${se:-0}" = 0 ] || echo ", sys_enter $(kv sys_enter_ns <<<"$bs") ns, sys_exit $(kv sys_exit_ns <<<"$bs") ns")" \
		"$(calc 'f + g' -v f="$floor" -v g="$prog")"
}

# kinds_line WORKLOAD: what B's hits are (its recording)
kinds_line() {
	local w=$1 st polls val ref
	[ -s "$S/st.$w.rec" ] || return 0
	st=$("$TOOLS/rec_stats" "$S/st.$w.rec")
	polls=$(kv poll_begin <<<"$st")
	val=$(kv wake_by_val <<<"$st")
	ref=$(kv wake_by_ref <<<"$st")
	SUM[$w.ref_per_poll]=$(calc 'r / p' -v r="$ref" -v p="$polls")
	say "  B recorded (${st#rec_stats: })"
	sayf '  per poll: poll entry + return, wake_by_val %.3f, wake_by_ref %.3f (single-stepped); the other entry hits are await-site captures (clone_waker), no record\n' \
		"$(calc 'v / p' -v v="$val" -v p="$polls")" "${SUM[$w.ref_per_poll]}"
	rm -f "$S/st.$w.rec"
}

if want overhead; then
	say ""
	say "== 2. overhead on the target: A untraced, B async-inspect-bpf default mode, each optional capture, C tokio tracing =="
	build_tracing
	if [ "$TRACING_OK" = 1 ]; then
		say "C: tests/programs/tokio-tracing: the same sources, RUSTFLAGS=--cfg tokio_unstable, tokio feature"
		say "   \"tracing\", a tracing-subscriber Registry + a Layer recording every span and event"
	else
		say "C: not measured: $TRACING_WHY"
	fi
	variants="A $TRACED"
	[ "$TRACING_OK" = 1 ] && variants="$variants C"
	for ((n = 1; n <= RUNS; n++)); do
		for v in $variants; do run_pingpong "$v" "$n"; done
		for v in $variants; do run_echo "$v" "$n"; done
	done
	summarize pingpong "$S/pp"
	summarize echo "$S/echo"

	if command -v bpftool >/dev/null && command -v jq >/dev/null; then
		BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
		sysctl -qw kernel.bpf_stats_enabled=1 || true
	fi
	for w in pingpong echo; do
		for v in B L K; do stats_run "$w" "$v"; done
	done
	[ -z "$BPF_STATS_WAS" ] || sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS" || true
	BPF_STATS_WAS=

	say ""
	say "pingpong: $PP_PAIRS pairs x $PP_ROUNDS round trips = $((2 * PP_PAIRS * PP_ROUNDS)) messages, 2 workers; medians of $RUNS"
	cost_lines pingpong
	say "  polls (B): ${SUM[pingpong.polls]}; events (B): ${SUM[pingpong.events]}"
	[ "$TRACING_OK" = 1 ] && sayf '  C recorded %s tracing callbacks, %.1f per poll\n' "${SUM[pingpong.records]}" \
		"$(calc 'r / p' -v r="${SUM[pingpong.records]}" -v p="${SUM[pingpong.polls]}")"
	say "  one more run of B, L and K each with kernel.bpf_stats_enabled (restored after):"
	kinds_line pingpong
	for v in B L K; do hits_lines pingpong "$v"; done

	say ""
	say "echo: $ECHO_CONNS connections x 64-byte requests, $ECHO_REQUESTS requests (tools/echo_load, 1 thread); medians of $RUNS"
	cost_lines echo
	say "  polls (B): ${SUM[echo.polls]}; events (B): ${SUM[echo.events]}"
	[ "$TRACING_OK" = 1 ] && sayf '  C recorded %s tracing callbacks, %.1f per poll\n' "${SUM[echo.records]}" \
		"$(calc 'r / p' -v r="${SUM[echo.records]}" -v p="${SUM[echo.polls]}")"
	say "  one more run of B, L and K each with kernel.bpf_stats_enabled (restored after):"
	kinds_line echo
	for v in B L K; do hits_lines echo "$v"; done
fi

# ---------------------------------------------------------------------------
# 3. the daemon
if want daemon; then
	say ""
	say "== 3. daemon: replay, one CPU (taskset -c 1), outputs written to /dev/null =="
	rec=$S/replay.rec
	gen=$("$TOOLS/gen_recording" "$rec" "$REPLAY_EVENTS" --live 1000 --polls 20)
	records=$(sed -n 's/.*: \([0-9]*\) records.*/\1/p' <<<"$gen")
	say "recording: $records events, $(sed -n 's/.* \([0-9]*\) tasks$/\1/p' <<<"$gen") tasks (gen_recording --live 1000 --polls 20), $(( $(stat -c %s "$rec") / 1000000 )) MB"
	mkdir -p "$S/csv"
	ln -sf /dev/null "$S/csv/tasks.csv"
	ln -sf /dev/null "$S/csv/events.csv"
	cpu=$(nproc)
	pin=(taskset -c $((cpu > 1 ? 1 : 0)))
	command -v taskset >/dev/null || pin=()
	sayf '  %-22s %10s %14s %10s\n' output time "events/s" "peak RSS"
	for m in report json perfetto chrome folded csv all; do
		case $m in
		report) a=() ;;
		json) a=(--json /dev/null) ;;
		perfetto) a=(--perfetto /dev/null) ;;
		chrome) a=(--chrome-trace /dev/null) ;;
		folded) a=(--flamegraph /dev/null) ;;
		csv) a=(--csv "$S/csv") ;;
		all) a=(--json /dev/null --perfetto /dev/null --chrome-trace /dev/null --flamegraph /dev/null --csv "$S/csv") ;;
		esac
		"${pin[@]}" "$TOOLS/peak_rss" "$BIN" replay "$rec" --tasks 1 "${a[@]}" >/dev/null 2>"$S/rss.txt" || true
		secs=$(kv elapsed_s <"$S/rss.txt")
		kb=$(kv peak_rss_kb <"$S/rss.txt")
		SUM[replay.$m]=$(calc 'n / s' -v n="$records" -v s="$secs")
		SUM[replay.$m.kb]=$kb
		label=$m
		[ "$m" = report ] && label="decode+model+report"
		[ "$m" = all ] && label="all (json+4 exports)"
		[ "$m" != report ] && [ "$m" != all ] && label="+ $m"
		sayf '  %-22s %8.2f s %12.2f M %7.1f MB\n' "$label" "$secs" "$(calc 'r / 1e6' -v r="${SUM[replay.$m]}")" "$(calc 'k / 1024' -v k="$kb")"
	done
	rm -f "$rec"

	say ""
	say "live tasks: $LIVE_TASKS spawned and polled once, none completing (gen_recording --open), against 1000"
	for n in 1000 "$LIVE_TASKS"; do
		"$TOOLS/gen_recording" "$S/open.$n.rec" 0 --live "$n" --open >/dev/null
		for m in report all; do
			a=()
			[ "$m" = all ] && a=(--json /dev/null --perfetto /dev/null --chrome-trace /dev/null --flamegraph /dev/null --csv "$S/csv")
			"$TOOLS/peak_rss" "$BIN" replay "$S/open.$n.rec" --tasks 1 "${a[@]}" >/dev/null 2>"$S/rss.txt" || true
			SUM[live.$n.$m]=$(kv peak_rss_kb <"$S/rss.txt")
		done
		rm -f "$S/open.$n.rec"
	done
	for m in report all; do
		SUM[live.$m]=$(calc '(b - a) * 1024 / (n - 1000)' -v a="${SUM[live.1000.$m]}" -v b="${SUM[live.$LIVE_TASKS.$m]}" -v n="$LIVE_TASKS")
		sayf '  %-22s peak RSS %7.1f MB (1000 tasks: %5.1f MB): %5.0f bytes per live task\n' \
			"$([ "$m" = report ] && echo "model + report" || echo "+ every export")" \
			"$(calc 'k / 1024' -v k="${SUM[live.$LIVE_TASKS.$m]}")" "$(calc 'k / 1024' -v k="${SUM[live.1000.$m]}")" "${SUM[live.$m]}"
	done
fi

# ---------------------------------------------------------------------------
# 4. attach and detach
if want attach; then
	say ""
	say "== 4. attach and detach: $FUTURES distinct async fns (tools/gen_many_futures.sh) =="
	bash tools/gen_many_futures.sh "$FUTURES" "$MF_DIR"
	t0=$(date +%s)
	if ! (cd "$MF_DIR" && "$CARGO" build --release --offline -q) >"$S/mf-build.log" 2>&1; then
		say "not measured: the generated program did not build: $(grep -m1 -E '^error' "$S/mf-build.log" || tail -n 1 "$S/mf-build.log")"
	else
		say "built in $(($(date +%s) - t0)) s (cached in $MF_DIR; 0 s when unchanged)"
		for ((n = 1; n <= RUNS; n++)); do
			"$TOOLS/time_to_line" "poll sites" timeout 60 "$BIN" run -d 1 -v --tasks 1 -- "$MF" 30 \
				>/dev/null 2>"$S/att.run.$n" || true
			"$MF" 60 >/dev/null &
			mf=$!
			sleep 0.3
			"$TOOLS/time_to_line" "poll sites" timeout 60 "$BIN" --pid "$mf" -d 1 -v --tasks 1 \
				>/dev/null 2>"$S/att.pid.$n" || true
			kill "$mf" 2>/dev/null || true
			wait "$mf" 2>/dev/null || true
		done
		line=$(grep -h 'poll sites' "$S/att.run.1" | head -n 1)
		SUM[attach.sites]=$(sed -n 's/.* \([0-9]*\) poll sites.*/\1/p' <<<"$line")
		SUM[attach.probes]=$(sed -n 's/.* \([0-9]*\) probes attached.*/\1/p' <<<"$line")
		say "${SUM[attach.sites]} poll sites (raw::poll copies), ${SUM[attach.probes]} probes in all; medians of $RUNS, -v"
		for mode in run pid; do
			SUM[attach.$mode]=$(for n in $(seq "$RUNS"); do kv time_to_line_ms <"$S/att.$mode.$n"; done | median)
			SUM[detach.$mode]=$(for n in $(seq "$RUNS"); do sed -n 's/.*detached in \([0-9.]*\) ms.*/\1/p' "$S/att.$mode.$n"; done | median)
			all=$(for n in $(seq "$RUNS"); do sed -n 's/.*detached in \([0-9.]*\) ms.*/\1/p' "$S/att.$mode.$n"; done | tr '\n' ' ')
			sayf '  %-5s attach (exec to start-up line) %7.1f ms   detach %7.1f ms (runs: %s)\n' \
				"$([ "$mode" = run ] && echo run || echo --pid)" "${SUM[attach.$mode]}" "${SUM[detach.$mode]}" "${all% }"
		done
	fi
fi

# ---------------------------------------------------------------------------
# 5. exports
if want exports; then
	say ""
	bash tools/bench-export.sh | tee -a "$RESULTS"
fi

# ---------------------------------------------------------------------------
# 6. block_on roots: the tracer's price per poll of a root
if want roots; then
	say ""
	say "== 6. block_on roots: a root yielding $ROOT_POLLS times (bo_yield), medians of $RUNS; A untraced, B default mode =="
	YIELD=$PWD/tests/programs/block-on/target/release/bo_yield
	for flavor in ct mt; do
		for ((n = 1; n <= RUNS; n++)); do
			"$YIELD" "$flavor" "$ROOT_POLLS" >"$S/root.A.$flavor.$n" 2>&1 || true
			"$BIN" run --tasks 1 --json "$S/root.B.$flavor.json" -- "$YIELD" "$flavor" "$ROOT_POLLS" \
				>"$S/root.B.$flavor.$n" 2>&1 || true
		done
		for v in A B; do
			SUM[root.$flavor.$v]=$(for n in $(seq "$RUNS"); do
				sed -n 's/^rounds [0-9]* elapsed_ns \([0-9]*\)$/\1/p' "$S/root.$v.$flavor.$n"; done | median)
		done
		polls=$(jq -r '.metadata.block_on_polls' "$S/root.B.$flavor.json" 2>/dev/null || echo nan)
		SUM[root.$flavor.per_poll]=$(calc '(b - a) / p / 1000' -v a="${SUM[root.$flavor.A]}" \
			-v b="${SUM[root.$flavor.B]}" -v p="$polls")
		sayf '  %-15s A %8.1f ms  B %8.1f ms  root polls seen %s: +%.1f us per root poll (%.1f bare hits)\n' \
			"$([ "$flavor" = ct ] && echo current_thread || echo multi_thread)" \
			"$(calc 'a / 1e6' -v a="${SUM[root.$flavor.A]}")" "$(calc 'b / 1e6' -v b="${SUM[root.$flavor.B]}")" \
			"$polls" "${SUM[root.$flavor.per_poll]}" \
			"$(calc 'c * 1000 / h' -v c="${SUM[root.$flavor.per_poll]}" -v h="$HIT_NS")"
	done
fi

# ---------------------------------------------------------------------------
# 7. stepping back through a long recording (the replay cursor, issue 19)
if want seek; then
	say ""
	say "== 7. seek: the replay cursor on $SEEK_EVENTS events (gen_recording --live 1000 --polls 20), one CPU =="
	rec=$S/seek.rec
	"$TOOLS/gen_recording" "$rec" "$SEEK_EVENTS" --live 1000 --polls 20 >/dev/null
	cpu=$(nproc)
	pin=(taskset -c $((cpu > 1 ? 1 : 0)))
	command -v taskset >/dev/null || pin=()
	for mode in checkpoints none; do
		a=()
		[ "$mode" = none ] && a=(--none)
		say "  $([ "$mode" = none ] && echo "without checkpoints (every seek back replays from the start)" || echo "with checkpoints (default: every 65536 records, at most 64 and 256 MiB)"):"
		"${pin[@]}" "$TOOLS/seek_bench" "$rec" "${a[@]}" | sed 's/^/    /' | tee -a "$RESULTS"
	done
	rm -f "$rec"
fi

# ---------------------------------------------------------------------------
# Targets (issue 7): met or missed, by how much
verdict() { # NAME VALUE OP LIMIT UNIT: met when VALUE OP LIMIT
	local name=$1 val=$2 op=$3 lim=$4 unit=$5 ok
	if [ "$val" = nan ] || [ -z "$val" ]; then
		sayf '  %-54s not measured\n' "$name"
		return
	fi
	ok=$(calc "(v $op l) ? 1 : 0" -v v="$val" -v l="$lim")
	local ratio=
	[ "$(calc "l == 0" -v l="$lim")" = 1 ] || ratio=$(calc 'v / l' -v v="$val" -v l="$lim" | awk '{ printf "; %.2fx the target", $1 }')
	sayf '  %-54s %-6s %10.4g %s (target %s %.6g%s)\n' "$name" "$([ "$ok" = 1 ] && echo met || echo MISSED)" \
		"$val" "$unit" "$op" "$lim" "$ratio"
}
say ""
say "== targets (issue 7) =="
if want overhead; then
	for w in pingpong echo; do
		verdict "$w: default mode, added CPU per poll, in bare hits" "$(calc 'c / h' -v c="${SUM[$w.B.add_cpu]:-nan}" -v h="$HIT_NS")" "<=" 4 "hits"
		if [ "$TRACING_OK" = 1 ]; then
			verdict "$w: default mode vs tokio tracing, added CPU per poll" "${SUM[$w.B.add_cpu]}" "<" "${SUM[$w.C.add_cpu]}" "ns"
		else
			sayf '  %-54s not measured: %s\n' "$w: vs tokio tracing" "$TRACING_WHY"
		fi
		for v in $TRACED; do
			verdict "$w: events lost at full rate ($v)" "${SUM[$w.$v.lost]:-nan}" "<=" 0 "events"
		done
	done
fi
if want daemon; then
	verdict "replay, decode+model+report, events/s" "${SUM[replay.report]}" ">=" 5000000 "/s"
	for m in json perfetto chrome folded csv all; do
		verdict "replay + $m, events/s" "${SUM[replay.$m]}" ">=" 5000000 "/s"
	done
	verdict "memory per live task (model + report)" "${SUM[live.report]}" "<=" 300 "bytes"
	verdict "memory per live task (+ every export)" "${SUM[live.all]}" "<=" 300 "bytes"
fi
if want attach; then
	verdict "attach, ${SUM[attach.sites]:-?} poll sites (run)" "${SUM[attach.run]:-nan}" "<" 2000 "ms"
	verdict "attach, ${SUM[attach.sites]:-?} poll sites (--pid)" "${SUM[attach.pid]:-nan}" "<" 2000 "ms"
fi
say ""
say "(this output is also in $RESULTS)"
