#!/usr/bin/env bash
# End-to-end tests of split debug info: tests/programs/await's `stuck`
# fixture built with full debug info (its parked tasks' awaits are decoded
# from memory with the DWARF types, and named file:line), split as
# distributions do: `objcopy --only-keep-debug` into stuck.debug, then the
# executable stripped of its debug info (symbols kept: `--strip-debug`) or
# of everything (`--strip-all`: .symtab is then in the debug file only).
# Found by --debuginfo, by .gnu_debuglink (run and --pid), from a real local
# debuginfod server, and by `test`, each run must report exactly the awaits
# of a run on the unsplit binary; with nothing found, the tool says what it
# tried and still runs from the symbols. The test-crate's hangs test binary
# is split the same way for `test`.
#
#   bash tests/e2e/debuginfo.sh [TEST...]   # all tests, or only the named ones
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/await/target
SRC=$ROOT/tests/programs/await/src
SRC_PREFIX=src
FULL=nofp-full/release/stuck
LINES=nofp-lines/release/stuck # another build: another build-id
PREREQS=("$FULL" "$LINES")
NEED_COMMANDS=(objcopy readelf debuginfod debuginfod-find)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# No debuginfod server of the machine's: only the one test_debuginfod starts.
unset DEBUGINFOD_URLS

# Every task's spawn location, name, state and await (site, method, the
# chain of async fns, what it waits for, but a timer's time left and a
# socket's peer port), one line each, in a fixed order.
awaits() { # JSON
	jqf "$1" -c '[.tasks[] | {spawn_location, name, kind, state, await_method, await_site,
		stack: [.await_stack[]? | "\(.function) \(.file):\(.line)"],
		waiting_for: (.waiting_for | if . then del(.time_left_ms)
			| .detail |= (. // "" | sub(":[0-9]+ "; ":PORT ")) else . end)}]
		| sort_by(.spawn_location, .name) | .[]'
}

expect_same_awaits() { # WHAT JSON BASE-AWAITS
	awaits "$2" >"$1.awaits"
	diff "$3" "$1.awaits" >"$1.diff" ||
		fail "$1: awaits differ from the unsplit binary's: $(head -n 8 "$1.diff" | tr '\n' '|')"
}

build_id() { # FILE
	readelf -n "$1" | awk '/Build ID:/ {print $3; exit}'
}

# The split binaries, and a run on the unsplit one, made once and shared:
# $S/stuck (a copy), stuck.debug, stuck-g (--strip-debug), stuck-all
# (--strip-all), base.awaits.
need_split() {
	local here=$PWD
	S=$T/split
	if [ ! -s "$S/base.awaits" ]; then
		mkdir -p "$S"
		cd "$S"
		cp "$PROGS/$FULL" stuck
		objcopy --only-keep-debug stuck stuck.debug
		objcopy --strip-debug stuck stuck-g
		objcopy --strip-all stuck stuck-all
		tool base run --duration 1.5 --stuck-after 1s --json base.json -- ./stuck
		expect_rc base 0
		# not a vacuous reference: all 11 parked tasks decoded, file:line
		expect_eq "unsplit: awaits decoded from memory, at file:line" \
			"$(jqf base.json '[.tasks[] | select(.await_method == "state-machine"
				and (.await_site | test("^src/stuck.rs:[0-9]+$")))] | length')" 11
		awaits base.json >base.awaits.tmp
		mv base.awaits.tmp base.awaits
		cd "$here"
	fi
	ID=$(build_id "$S/stuck")
	[ -n "$ID" ] || fail "stuck has no build-id"
}

# `run` on a split binary (its debug file found one way or another): the
# start-up line names the debug file and how it was found; the awaits are
# the unsplit binary's.
run_split() { # NAME EXE DEBUG-FILE HOW [TOOL-ARGS...]
	local name=$1 exe=$2 file=$3 how=$4
	shift 4
	tool "$name" run --duration 1.5 --stuck-after 1s --json "$name.json" "$@" -- "$exe"
	expect_rc "$name" 0
	grep -qF "; debug info: $file ($how); optional captures:" "$name.err" ||
		fail "$name: the start-up line does not name $file ($how): $(head -n 2 "$name.err" | tr '\n' '|')"
	expect_eq "$name: lines on stderr" "$(wc -l <"$name.err")" 1
	expect_same_awaits "$name" "$name.json" "$S/base.awaits"
}

# 1. --debuginfo, the symbols kept in the executable.
test_given() {
	need_split
	run_split given "$S/stuck-g" "$S/stuck.debug" --debuginfo --debuginfo "$S/stuck.debug"
}

# 2. --debuginfo, the executable stripped of everything: .symtab from the
# debug file (without it the tool refuses a stripped binary).
test_given_no_symtab() {
	need_split
	run_split all "$S/stuck-all" "$S/stuck.debug" --debuginfo --debuginfo "$S/stuck.debug"
}

# 3. .gnu_debuglink, the debug file next to the executable.
test_debuglink() {
	need_split
	cp "$S/stuck.debug" .
	objcopy --add-gnu-debuglink=stuck.debug "$S/stuck-all" stuck-link
	run_split link ./stuck-link "$PWD/stuck.debug" .gnu_debuglink
}

# The awaits of a --pid session on EXE once every task is parked.
attach_awaits() { # NAME EXE
	local tgt
	"$2" >"$1.target" 2>&1 &
	tgt=$!
	bg "$tgt"
	wait_for_line "$1.target" '^READY$' 10 "$tgt" "$2"
	tool "$1" attach --pid "$tgt" --duration 1 --stuck-after 0.5s --json "$1.json"
	expect_rc "$1" 0
	kill "$tgt"
	wait "$tgt" 2>/dev/null || true
	awaits "$1.json" >"$1.awaits"
}

# 4. --pid (the file read through /proc/PID/exe): .gnu_debuglink in the
# executable's .debug/ folder; the same tasks found in memory, their awaits
# decoded from it, as attached to the unsplit binary.
test_debuglink_attach() {
	need_split
	mkdir .debug
	cp "$S/stuck.debug" .debug/
	objcopy --add-gnu-debuglink=.debug/stuck.debug "$S/stuck-all" stuck-link
	attach_awaits base "$S/stuck"
	expect_eq "attached to the unsplit binary: awaits decoded from memory" \
		"$(jqf base.json '[.tasks[] | select(.found_in_memory and .await_method == "state-machine")] | length')" 11
	attach_awaits link "$PWD/stuck-link"
	grep -qF "; debug info: $PWD/.debug/stuck.debug (.gnu_debuglink); " link.err ||
		fail "the start-up line does not name .debug/stuck.debug: $(head -n 1 link.err)"
	diff base.awaits link.awaits >link.diff ||
		fail "awaits differ from the unsplit binary's: $(head -n 8 link.diff | tr '\n' '|')"
}

# A debuginfod server on a free port of 127.0.0.1, serving the debug files
# under DIR; sets URL once it serves build-id $ID.
start_debuginfod() { # DIR
	local port pid deadline
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 20000))
		debuginfod -F "$1" -p "$port" -d "$PWD/debuginfod.sqlite" >debuginfod.log 2>&1 &
		pid=$!
		bg "$pid"
		deadline=$(($(now_ms) + 10000))
		while kill -0 "$pid" 2>/dev/null && ! grep -q 'started http server' debuginfod.log &&
			[ "$(now_ms)" -lt "$deadline" ]; do
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && grep -q 'started http server' debuginfod.log && break
		kill "$pid" 2>/dev/null || true
		pid=
	done
	[ -n "$pid" ] || fail "debuginfod did not start: $(tail -n 3 debuginfod.log | tr '\n' '|')"
	URL=http://127.0.0.1:$port
	# its first scan of DIR: until then it does not know the build-id (a
	# fresh cache each time: the client caches a miss)
	deadline=$(($(now_ms) + 30000))
	until rm -rf probe-cache && DEBUGINFOD_URLS=$URL DEBUGINFOD_CACHE_PATH=$PWD/probe-cache \
		debuginfod-find debuginfo "$ID" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "debuginfod did not serve $ID within 30 s"
		sleep 0.2
	done
}

# 5. debuginfod: a real server on this machine, a cache of the test's own;
# the executable stripped of everything, without a link.
test_debuginfod() {
	need_split
	mkdir srv
	cp "$S/stuck.debug" srv/
	start_debuginfod "$PWD/srv"
	DEBUGINFOD_URLS=$URL DEBUGINFOD_CACHE_PATH=$PWD/cache \
		run_split dfd "$S/stuck-all" "$PWD/cache/$ID/debuginfo" debuginfod
	# the tool asked the server (debuginfod-find asked once before)
	expect_eq "debug files served" \
		"$(grep -c "GET /buildid/$ID/debuginfo 200" debuginfod.log)" 2
}

# 6. Nothing found: the start-up line names no debug file, the next line
# says what was tried; the run works from the symbols: the same tasks,
# await sites named by function (one of the chain's), no file:line.
test_nothing_found() {
	local tried
	need_split
	tool none run --duration 1.5 --stuck-after 1s --json none.json -- "$S/stuck-g"
	expect_rc none 0
	grep -q "^async-inspect-bpf: started pid [0-9]* ($S/stuck-g): tokio runtime, .*; spawn locations: [^;]*; optional captures: .*not found: .*the program's line tables" none.err ||
		fail "no start-up line without debug info: $(head -n 1 none.err)"
	tried="build-id /usr/lib/debug/.build-id/${ID:0:2}/${ID:2}.debug: not found; no .gnu_debuglink; debuginfod: DEBUGINFOD_URLS is not set"
	expect_eq "the second line" "$(sed -n 2p none.err)" \
		"async-inspect-bpf: no debug info in $S/stuck-g and no debug file for it (tried: $tried): names come from its symbol table, without file:line or types"
	expect_eq "lines on stderr" "$(wc -l <none.err)" 2
	# a block_on root's location is its caller's line, from the DWARF
	expect_eq "tasks (name, kind, spawn location)" \
		"$(jqf none.json -c '[.tasks[] | [.name, .kind, if .kind == "block_on" then null else .spawn_location end]] | sort | .[]')" \
		"$(jqf "$S/base.json" -c '[.tasks[] | [.name, .kind, if .kind == "block_on" then null else .spawn_location end]] | sort | .[]')"
	expect_eq "the root's location" "$(jqf none.json -r '.tasks[] | select(.kind == "block_on") | .spawn_location')" \
		stuck::main
	jqf none.json -c '[.tasks[] | {name, await_site}]' >none.sites
	jqf "$S/base.json" --slurpfile none none.sites -r '
		[.tasks[] | . as $t | ($none[0][] | select(.name == $t.name)) as $n
		 | select($n.await_site != null)
		 | select([$t.await_stack[]?.function] | index($n.await_site) | not)
		 | "\($t.name): \($n.await_site) not in its chain"] | join("; ")' >bad.sites
	[ -z "$(cat bad.sites)" ] || fail "await sites from symbols: $(cat bad.sites)"
	expect_jq none.json "most parked tasks named by function, none by file:line" \
		'([.tasks[] | select(.await_site != null)] | length) >= 8 and
		 all(.tasks[]; .await_method != "state-machine" and ((.await_site // "") | test("\\.rs") | not))'
}

# 7. Files that do not fit are refused, saying why: another build's debug
# file given (a one-line error), a debug file changed after the link was
# made (its CRC; a binary stripped of its symbols then has none).
test_refused() {
	local want
	need_split
	objcopy --only-keep-debug "$PROGS/$LINES" other.debug
	tool given run --debuginfo other.debug -- "$S/stuck-g"
	expect_error given 1 "^async-inspect-bpf: cannot use --debuginfo other.debug for $S/stuck-g: build-id $(build_id other.debug), the executable's is $ID\$"
	cp other.debug stuck.debug
	objcopy --add-gnu-debuglink="$S/stuck.debug" "$S/stuck-all" stuck-link
	# refused, the binary has no symbols left: tokio is found by its
	# structure (tests/e2e/stripped.sh), and the refusal is said
	tool crc run --duration 1 -- ./stuck-link
	expect_rc crc 0
	want="(.gnu_debuglink): CRC32 $(crc32 stuck.debug), its .gnu_debuglink says $(crc32 "$S/stuck.debug")"
	grep -q "(found by structure: [0-9]* task vtables)" crc.err ||
		fail "tokio not found by structure: $(head -n 1 crc.err)"
	grep -qF "$PWD/stuck.debug $want" crc.err || fail "no CRC reason: $(cat crc.err)"
}

crc32() { # FILE: as .gnu_debuglink keeps it, in hex
	gzip -c "$1" | tail -c 8 | od -An -tx4 -N4 | tr -d ' '
}

# 8. test: a test binary stripped of everything; with its debug file
# (--debuginfo, or by .gnu_debuglink) its hung test is found and drawn as
# the unsplit one's, and its process ended (a shell runs it, so that the
# status test passes on is the shell's).
test_test_cmd() {
	local hangs
	hangs=$(find "$ROOT/tests/programs/test-crate/target/debug/deps" -maxdepth 1 -type f \
		-name 'hangs-*' ! -name '*.d' -perm -u+x | head -n 1)
	[ -n "$hangs" ] || fail "no hangs test binary (make programs)"
	cp "$hangs" hangs
	objcopy --only-keep-debug hangs hangs.debug
	objcopy --strip-all hangs hangs-all
	objcopy --add-gnu-debuglink=hangs.debug hangs-all hangs-link
	for v in hangs hangs-all hangs-link; do
		local args=()
		[ "$v" != hangs-all ] || args=(--debuginfo "$PWD/hangs.debug")
		RC=0
		timeout -k 5 60 "$BIN" test --timeout 2s --output "$PWD/out-$v" "${args[@]}" -- \
			sh -c '"$0" --exact checkout_completes; echo "status $?"' "./$v" \
			>"$v.out" 2>"$v.err" || RC=$?
		case $RC in 124 | 137) fail "$v: test did not finish within 60 s" ;; esac
		expect_rc "$v" 0
		grep -q '^status 137$' "$v.out" || fail "$v: the hung test process was not killed"
		grep -q '^Found test stuck at: checkout_completes  (tests/hangs.rs, ' "$v.err" ||
			fail "$v: the hung test not found: $(grep -m 3 async-inspect "$v.err" | tr '\n' '|')"
		# its stuck tasks, durations aside
		sed -n '/^Stuck tasks/,/^$/p' "$v.err" | sed -E 's/[0-9.]+(ms|s|us)\b/T/g' >"$v.stuck"
		[ -s "$v.stuck" ] || fail "$v: no stuck tasks drawn"
	done
	grep -q 'src/lib.rs:[0-9]*   ◄── BLOCKED' hangs.stuck || fail "unsplit: no file:line await"
	diff hangs.stuck hangs-all.stuck >all.diff || fail "--debuginfo: $(head -n 6 all.diff | tr '\n' '|')"
	diff hangs.stuck hangs-link.stuck >link.diff || fail "debuglink: $(head -n 6 link.diff | tr '\n' '|')"
}

ALL_TESTS=(given given_no_symtab debuglink debuglink_attach debuginfod nothing_found refused
	test_cmd)
NONROOT_TESTS=()
main "$@"
