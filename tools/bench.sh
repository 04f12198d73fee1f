#!/usr/bin/env bash
# `make bench` (issue 7): what tracing costs the target, what the daemon
# costs, and how long attaching takes. Measured and printed, never asserted;
# README.md (Performance) keeps the figures. As root (uprobes); `make bench`
# builds the tool, the workloads and the tools first.
#
#   1. uprobe       the price of one bare uprobe hit, this run (tools/uprobe_cost.c)
#   2. overhead     two workloads, each run untraced (A), traced by
#                   async-inspect-bpf in its default mode (B), and built with
#                   tokio's own tracing instrumentation and a recording
#                   tracing-subscriber layer (C), interleaved A B C A B C ...,
#                   medians of BENCH_RUNS runs:
#                     pingpong     tasks bouncing messages over mpsc channels
#                     echo         TCP echo server (tests/programs echo_server)
#                                  under a loopback load (tools/echo_load.c)
#                   then one more traced run of each, recorded, for the probe
#                   hits per poll (tools/rec_stats.c) and the BPF programs' own
#                   run time per hit (kernel.bpf_stats_enabled, restored after)
#   3. daemon       replay of a synthetic recording of BENCH_REPLAY_EVENTS
#                   events, pinned to one CPU: the decoder and model with the
#                   text report, then with each output; memory per live task
#                   (BENCH_LIVE_TASKS spawned and polled once, none completing)
#   4. attach       a generated program with BENCH_FUTURES async fns
#                   (tools/gen_many_futures.sh): attach and detach times, with
#                   `run` and with `--pid`
#   5. exports      tools/bench-export.sh
#   then a summary against the targets of issue 7.
#
# Environment (defaults): BENCH_ONLY ("uprobe overhead daemon attach exports"),
# BENCH_RUNS (5), BENCH_PINGPONG ("64 10000": pairs, round trips per pair),
# BENCH_ECHO ("32 200000": connections, requests), BENCH_REPLAY_EVENTS
# (10000000), BENCH_LIVE_TASKS (1000000), BENCH_FUTURES (600), BENCH_DIR
# (build/bench: scratch files, the tokio-tracing build, the generated
# program; results.txt keeps this run's output).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-build/bench}
ONLY=${BENCH_ONLY:-uprobe overhead daemon attach exports}
RUNS=${BENCH_RUNS:-5}
read -r PP_PAIRS PP_ROUNDS <<<"${BENCH_PINGPONG:-64 10000}"
read -r ECHO_CONNS ECHO_REQUESTS <<<"${BENCH_ECHO:-32 200000}"
REPLAY_EVENTS=${BENCH_REPLAY_EVENTS:-10000000}
LIVE_TASKS=${BENCH_LIVE_TASKS:-1000000}
FUTURES=${BENCH_FUTURES:-600}
CARGO=${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}

BIN=$PWD/build/async-inspect-bpf
TOOLS=$PWD/build/tools
PROGS=$PWD/tests/programs/target/release
TRACING_TARGET=$PWD/$DIR/tokio-tracing
TRACING=$TRACING_TARGET/release
MF_DIR=$DIR/many_futures
MF=$PWD/$MF_DIR/target/release/many_futures
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

# run_pingpong VARIANT N: one run; its stdout and stderr in $S/pp.VARIANT.N.{out,err}
run_pingpong() {
	local v=$1 o=$S/pp.$1.$2
	case $v in
	A) timeout 150 "$PROGS/pingpong" "$PP_PAIRS" "$PP_ROUNDS" >"$o.out" 2>"$o.err" ;;
	B) timeout 300 "$BIN" run --tasks 1 --json "$o.json" -- "$PROGS/pingpong" "$PP_PAIRS" "$PP_ROUNDS" \
		>"$o.out" 2>"$o.err" ;;
	C) timeout 150 "$TRACING/pingpong" "$PP_PAIRS" "$PP_ROUNDS" >"$o.out" 2>"$o.err" ;;
	esac
}

# run_echo VARIANT N [TOOL-OPTIONS...]: server (variant) + load generator
run_echo() {
	local v=$1 o=$S/echo.$1.$2 srv i
	shift 2
	rm -f "$S/port"
	case $v in
	A) timeout 150 "$PROGS/echo_server" "$S/port" "$ECHO_CONNS" >"$o.out" 2>"$o.err" & ;;
	B) timeout 300 "$BIN" run --tasks 1 --json "$o.json" "$@" -- "$PROGS/echo_server" "$S/port" "$ECHO_CONNS" \
		>"$o.out" 2>"$o.err" & ;;
	C) timeout 150 "$TRACING/echo_server" "$S/port" "$ECHO_CONNS" >"$o.out" 2>"$o.err" & ;;
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
}

# The BPF programs' own time per run while CMD... runs in the background
# (kernel.bpf_stats_enabled, the newest uprobe_entry/uprobe_return programs):
# prints "entry_runs=N entry_ns=X return_runs=N return_ns=X" (ns per run).
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
	[ -s "$last" ] || { echo "entry_runs=0"; return; }
	jq -r --argjson b "$before" '
		[.[] | select(.id > $b and (.name == "uprobe_entry" or .name == "uprobe_return"))] as $p |
		def one(n): ([$p[] | select(.name == n)] | last) // {run_cnt: 0, run_time_ns: 0};
		one("uprobe_entry") as $e | one("uprobe_return") as $r |
		"entry_runs=\($e.run_cnt // 0) entry_ns=\(if ($e.run_cnt // 0) > 0 then ($e.run_time_ns / $e.run_cnt * 10 | round / 10) else "nan" end) " +
		"return_runs=\($r.run_cnt // 0) return_ns=\(if ($r.run_cnt // 0) > 0 then ($r.run_time_ns / $r.run_cnt * 10 | round / 10) else "nan" end)"' "$last"
}

# summarize WORKLOAD PREFIX UNIT: medians per variant, then the cost per poll
declare -A SUM
summarize() {
	local w=$1 p=$2 v n f
	for v in A B C; do
		for f in elapsed_ns cpu_ns; do
			SUM[$w.$v.$f]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.$v.$n.out" ] || kv "$f" <"$p.$v.$n.out"; done | median)
		done
		SUM[$w.$v.rps]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.$v.$n.load" ] || kv rps <"$p.$v.$n.load"; done | median)
		SUM[$w.$v.client_s]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.$v.$n.load" ] || kv elapsed_s <"$p.$v.$n.load"; done | median)
	done
	SUM[$w.polls]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.B.$n.json" ] || jq .metadata.total_polls "$p.B.$n.json"; done | median)
	SUM[$w.lost]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.B.$n.json" ] || jq .metadata.lost_events "$p.B.$n.json"; done | sort -g | tail -n 1)
	SUM[$w.events]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.B.$n.json" ] || jq .metadata.total_events "$p.B.$n.json"; done | median)
	SUM[$w.records]=$(for n in $(seq "$RUNS"); do [ ! -s "$p.C.$n.err" ] || kv records <"$p.C.$n.err"; done | median)
}

# cost_lines WORKLOAD: the per-poll figures of a workload
cost_lines() {
	local w=$1 polls=${SUM[$1.polls]} v name wall cpu
	for v in B C; do
		[ "$v" = C ] && [ "$TRACING_OK" = 0 ] && continue
		[ "$v" = B ] && name="async-inspect-bpf" || name="tokio tracing   "
		if [ "$w" = echo ]; then
			wall=$(calc '(b - a) * 1e9 / p' -v a="${SUM[$w.A.client_s]}" -v b="${SUM[$w.$v.client_s]}" -v p="$polls")
		else
			wall=$(calc '(b - a) / p' -v a="${SUM[$w.A.elapsed_ns]}" -v b="${SUM[$w.$v.elapsed_ns]}" -v p="$polls")
		fi
		cpu=$(calc '(b - a) / p' -v a="${SUM[$w.A.cpu_ns]}" -v b="${SUM[$w.$v.cpu_ns]}" -v p="$polls")
		SUM[$w.$v.add_wall]=$wall
		SUM[$w.$v.add_cpu]=$cpu
		sayf '  %s added per poll: %6.0f ns CPU time (%4.1f bare hits), %6.0f ns wall clock (%4.1f bare hits)\n' \
			"$name" "$cpu" "$(calc 'c / h' -v c="$cpu" -v h="$HIT_NS")" "$wall" "$(calc 'c / h' -v c="$wall" -v h="$HIT_NS")"
	done
}

# hits_lines WORKLOAD RECORDING BPFSTATS: probe hits per poll, the mechanism's
# share (hits priced as bare hits of their class), the BPF programs' share
hits_lines() {
	local w=$1 st bs
	st=$("$TOOLS/rec_stats" "$2")
	bs=$3
	say "  one traced run, recorded (${st#rec_stats: })"
	local polls bpf val ref rest
	polls=$(kv poll_begin <<<"$st")
	bpf=$(kv bpf <<<"$st")
	val=$(kv wake_by_val <<<"$st")
	ref=$(kv wake_by_ref <<<"$st")
	rest=$(calc 'b - 2 * p - v - r' -v b="$bpf" -v p="$polls" -v v="$val" -v r="$ref")
	SUM[$w.hits]=$(calc 'b / p' -v b="$bpf" -v p="$polls")
	SUM[$w.floor]=$(calc '(p * ret + v * hit + rest * hit + r * step) / p' -v p="$polls" -v ret="$RET_NS" \
		-v hit="$HIT_NS" -v v="$val" -v rest="$rest" -v r="$ref" -v step="$STEP_NS")
	sayf '  probe hits per poll: %.2f (poll entry + return 2, wake_by_val %.3f, wake_by_ref %.3f single-stepped, other %.3f)\n' \
		"${SUM[$w.hits]}" "$(calc 'v / p' -v v="$val" -v p="$polls")" "$(calc 'r / p' -v r="$ref" -v p="$polls")" \
		"$(calc 'r / p' -v r="$rest" -v p="$polls")"
	sayf '  those hits with empty programs would cost %.0f ns per poll (uprobe_cost prices: entry+return, entry, single-step)\n' "${SUM[$w.floor]}"
	if [ "$(kv entry_runs <<<"$bs")" != 0 ]; then
		SUM[$w.prog_entry]=$(kv entry_ns <<<"$bs")
		SUM[$w.prog_return]=$(kv return_ns <<<"$bs")
		say "  BPF program time per run (bpf_stats, same run): uprobe_entry ${SUM[$w.prog_entry]} ns ($(kv entry_runs <<<"$bs") runs), uprobe_return ${SUM[$w.prog_return]} ns ($(kv return_runs <<<"$bs") runs)"
	fi
}

if want overhead; then
	say ""
	say "== 2. overhead on the target: A untraced, B async-inspect-bpf (run, default options), C tokio tracing =="
	build_tracing
	if [ "$TRACING_OK" = 1 ]; then
		say "C: tests/programs/tokio-tracing: the same sources, RUSTFLAGS=--cfg tokio_unstable, tokio feature"
		say "   \"tracing\", a tracing-subscriber Registry + a Layer recording every span and event"
	else
		say "C: not measured: $TRACING_WHY"
	fi
	variants="A B"
	[ "$TRACING_OK" = 1 ] && variants="A B C"
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
	pp_stats=$(bpf_prog_time "$BIN" run --tasks 1 --record "$S/pp.rec" -- "$PROGS/pingpong" "$PP_PAIRS" "$PP_ROUNDS")
	echo_stats=$(bpf_prog_time run_echo B rec --record "$S/echo.rec")
	[ -z "$BPF_STATS_WAS" ] || sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS" || true
	BPF_STATS_WAS=

	say ""
	say "pingpong: $PP_PAIRS pairs x $PP_ROUNDS round trips = $((2 * PP_PAIRS * PP_ROUNDS)) messages, 2 workers; medians of $RUNS"
	for v in $variants; do
		sayf '  %s elapsed %8.1f ms   CPU %8.1f ms\n' "$v" "$(calc 'e / 1e6' -v e="${SUM[pingpong.$v.elapsed_ns]}")" \
			"$(calc 'e / 1e6' -v e="${SUM[pingpong.$v.cpu_ns]}")"
	done
	say "  polls (B): ${SUM[pingpong.polls]}; lost events (B, worst run): ${SUM[pingpong.lost]} of ${SUM[pingpong.events]}"
	[ "$TRACING_OK" = 1 ] && sayf '  C recorded %s tracing callbacks, %.1f per poll\n' "${SUM[pingpong.records]}" \
		"$(calc 'r / p' -v r="${SUM[pingpong.records]}" -v p="${SUM[pingpong.polls]}")"
	cost_lines pingpong
	hits_lines pingpong "$S/pp.rec" "$pp_stats"

	say ""
	say "echo: $ECHO_CONNS connections x 64-byte requests, $ECHO_REQUESTS requests (tools/echo_load, 1 thread); medians of $RUNS"
	for v in $variants; do
		sayf '  %s %8.0f requests/s   server CPU %8.1f ms\n' "$v" "${SUM[echo.$v.rps]}" \
			"$(calc 'e / 1e6' -v e="${SUM[echo.$v.cpu_ns]}")"
	done
	say "  polls (B): ${SUM[echo.polls]}; lost events (B, worst run): ${SUM[echo.lost]} of ${SUM[echo.events]}"
	[ "$TRACING_OK" = 1 ] && sayf '  C recorded %s tracing callbacks, %.1f per poll\n' "${SUM[echo.records]}" \
		"$(calc 'r / p' -v r="${SUM[echo.records]}" -v p="${SUM[echo.polls]}")"
	cost_lines echo
	hits_lines echo "$S/echo.rec" "$echo_stats"
	rm -f "$S"/*.rec
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
# Targets (issue 7): met or missed, by how much
verdict() { # NAME VALUE OP LIMIT UNIT: met when VALUE OP LIMIT
	local name=$1 val=$2 op=$3 lim=$4 unit=$5 ok
	if [ "$val" = nan ] || [ -z "$val" ]; then
		sayf '  %-44s not measured\n' "$name"
		return
	fi
	ok=$(calc "(v $op l) ? 1 : 0" -v v="$val" -v l="$lim")
	local ratio=
	[ "$(calc "l == 0" -v l="$lim")" = 1 ] || ratio=$(calc 'v / l' -v v="$val" -v l="$lim" | awk '{ printf "; %.2fx the target", $1 }')
	sayf '  %-44s %-6s %10.4g %s (target %s %.6g%s)\n' "$name" "$([ "$ok" = 1 ] && echo met || echo MISSED)" \
		"$val" "$unit" "$op" "$lim" "$ratio"
}
say ""
say "== targets (issue 7) =="
if want overhead; then
	for w in pingpong echo; do
		verdict "$w: added CPU per poll, in bare hits" "$(calc 'c / h' -v c="${SUM[$w.B.add_cpu]:-nan}" -v h="$HIT_NS")" "<=" 4 "hits"
		if [ "$TRACING_OK" = 1 ]; then
			verdict "$w: added CPU per poll vs tokio tracing" "${SUM[$w.B.add_cpu]}" "<" "${SUM[$w.C.add_cpu]}" "ns"
		else
			sayf '  %-44s not measured: %s\n' "$w: vs tokio tracing" "$TRACING_WHY"
		fi
		verdict "$w: events lost at full rate" "${SUM[$w.lost]:-nan}" "<=" 0 "events"
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
