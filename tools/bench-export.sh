#!/usr/bin/env bash
# `make bench`, the exports' part: peak memory and time of replaying
# synthetic recordings (tools/gen_recording.c) of 1 and 4 million events,
# with no export, then with all of them (Perfetto, Chrome JSON, folded
# stacks, CSV). Two shapes: many short tasks (4 polls each) and long-lived
# ones (200 polls each), 1000 alive at once. Measured and printed, never
# asserted; README.md (Performance) keeps the figures.
#
# BENCH_EVENTS (default 1000000) sets the smaller size; BENCH_DIR (default
# build/bench) holds the scratch files, removed as it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-build/bench}
events=${BENCH_EVENTS:-1000000}
bin=build/async-inspect-bpf
mkdir -p "$dir"

echo "== exports: replay of a synthetic recording, without and with every export =="
echo "   $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%d)"
printf '%-6s %9s %8s  %-8s %10s %9s %10s\n' shape events tasks exports "peak RSS" time "written"
for shape in short:4 long:200; do
	name=${shape%%:*}
	polls=${shape#*:}
	for n in "$events" $((events * 4)); do
		rec=$dir/$name-$n.rec
		tasks=$(build/tools/gen_recording "$rec" "$n" --live 1000 --polls "$polls" |
			sed -n 's/.* \([0-9]*\) tasks$/\1/p')
		for mode in none all; do
			out=$dir/out
			rm -rf "$out"
			mkdir -p "$out"
			args=()
			[ "$mode" = none ] || args=(--perfetto "$out/t.pftrace" --chrome-trace "$out/c.json"
				--flamegraph "$out/f.folded" --csv "$out/csv")
			build/tools/peak_rss "$bin" replay "$rec" --tasks 1 "${args[@]}" \
				>/dev/null 2>"$dir/rss.txt"
			rss=$(sed -n 's/.*peak_rss_kb=\([0-9]*\).*/\1/p' "$dir/rss.txt")
			secs=$(sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p' "$dir/rss.txt")
			written=$(du -sk "$out" | cut -f1)
			awk -v s="$name" -v n="$n" -v t="$tasks" -v m="$mode" -v r="$rss" -v e="$secs" -v w="$written" \
				'BEGIN { printf "%-6s %9s %8s  %-8s %7.1f MB %7.2f s %7.0f MB\n", s, n, t, m, r / 1024, e, w / 1024 }'

		done
		rm -rf "$rec" "$dir/out"
	done
done
