#!/usr/bin/env bash
# End-to-end tests of `top` (issue 19): the screen driven through tmux as a
# person would (send-keys, then capture-pane until the screen shows what is
# expected, within a bound), live on the fixtures (`top -- CMD`, `top
# --pid`: tests live_*) and on recordings the tests make once with the real
# tool (`top --replay FILE`; as root: `make all programs` first):
#
#   stuck.rec   tests/programs/await's `stuck` under `run --duration 2`:
#               11 tasks parked on known awaits, a spawn_blocking one running
#   ct.rec      current_thread under `run`: 12 tasks that all complete
#
# and on synthetic ones (tools/gen_recording.c, no root).
#
#   bash tests/e2e/top.sh [TEST...]     # all tests, or only the named ones
#
# Each test runs top in its own tmux server (a socket in its directory, no
# user configuration, TERM tmux-256color: the shifted arrows are known),
# 100x30 unless it says otherwise. The tool's JSON of the same session says
# what the screen must show (ids, await sites, creation and end times).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROGS=$ROOT/tests/programs/target/release
STUCK=$ROOT/tests/programs/await/target/nofp-lines/release/stuck
SRC=$ROOT/tests/programs/await/src
SRC_PREFIX=src
GEN=$ROOT/build/tools/gen_recording
PREREQS=(current_thread)
NEED_FILES=("$STUCK" "$GEN")
NEED_COMMANDS=(tmux bpftool)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

# The stuck fixture: the await label of each task -> the async fn it was
# spawned with (its Name: the root of its await stack).
declare -A FN=([oneshot]=wait_for_config [sleep]=nap [joined]=never_sent [join]=join_other
	[socket]=read_socket [notify]=wait_notify [mpsc]=recv_mpsc [holder]=hold_lock
	[lock]=take_lock [blocking]=wait_blocking [two]=two_on_a_line)

# ---------------------------------------------------------------------------
# Recordings, made once and shared by the tests.

need_stuck() {
	local d=$T/shared/stuck here=$PWD
	if [ ! -s "$d/stuck.json" ]; then
		mkdir -p "$d"
		cd "$d"
		tool live run --duration 2 --record stuck.rec --json stuck.json -- "$STUCK"
		expect_rc live 0
		cd "$here"
	fi
	STUCK_REC=$d/stuck.rec
	STUCK_JSON=$d/stuck.json
}

need_ct() {
	local d=$T/shared/ct here=$PWD
	if [ ! -s "$d/ct.json" ]; then
		mkdir -p "$d"
		cd "$d"
		tool live run --record ct.rec --json ct.json -- "$PROGS/current_thread"
		expect_rc live 0
		cd "$here"
	fi
	CT_REC=$d/ct.rec
	CT_JSON=$d/ct.json
}

# ---------------------------------------------------------------------------
# The screen through tmux.

tmx() {
	tmux -S "$PWD/tmux.sock" "$@"
}

# top ARGS... in a pane ROWS x COLS; its exit status goes to top.status,
# its stderr to top.err. Returns once the title is drawn.
start_top() { # ROWS COLS ARGS...
	local rows=$1 cols=$2 cmd
	shift 2
	printf 'set -g default-terminal tmux-256color\nset -g status off\n' >tmux.conf
	cmd="$(printf '%q ' "$BIN" top "$@") 2>top.err; echo \$? >top.status"
	rm -f top.status
	tmx -f tmux.conf new-session -d -s top -c "$PWD" -x "$cols" -y "$rows" "$cmd" ||
		fail "tmux could not start"
	bg "$(tmx display-message -p -t top '#{pid}')" # its server: ended with the test
	wait_screen 'async-inspect-bpf top: ' 10
}

screen() {
	tmx capture-pane -p -t top 2>/dev/null || true
}

keys() {
	tmx send-keys -t top "$@"
}

# Wait until a line of the screen matches REGEX (within SECONDS, default 5).
wait_screen() { # REGEX [SECONDS]
	local re=$1 deadline
	deadline=$(($(now_ms) + ${2:-5} * 1000))
	until screen | grep -Eq -- "$re"; do
		if ! tmx has-session -t top 2>/dev/null; then
			fail "top ended before showing /$re/: status $(cat top.status 2>/dev/null)," \
				"stderr: $(head -c 300 top.err 2>/dev/null | tr '\n' '|')"
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			screen >screen.txt
			fail "the screen did not show /$re/ within ${2:-5} s; it shows: $(grep -v '^ *$' screen.txt | head -n 12 | tr '\n' '|')"
		fi
		sleep 0.05
	done
}

# The one line of the screen matching REGEX (fails unless exactly one).
line_of() { # REGEX
	local got n
	got=$(screen | grep -E -- "$1" || true)
	n=$(grep -c . <<<"$got" || true)
	[ "$n" = 1 ] || fail "$n lines of the screen match /$1/: $(screen | grep -v '^ *$' | head -n 14 | tr '\n' '|')"
	printf '%s\n' "$got"
}

# The clock in the title: "t=+1.234567s of 2.045s" -> 1.234567
clock() {
	screen | sed -n '1s/.* t=+\([0-9.]*\)s of .*/\1/p'
}

# q (or the keys given): top ends, its pane closes, exit status 0,
# nothing on stderr, and the terminal is given back.
expect_quit() { # [KEYS...]
	local deadline
	keys "${@:-q}"
	deadline=$(($(now_ms) + 5000))
	while tmx has-session -t top 2>/dev/null; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "top still runs 5 s after $*"
		sleep 0.05
	done
	[ -s top.status ] || fail "no exit status written: top did not end by itself"
	expect_eq "top's exit status" "$(cat top.status)" 0
	[ ! -s top.err ] || fail "top wrote on stderr: $(head -c 300 top.err | tr '\n' '|')"
}

# ---------------------------------------------------------------------------
# Tests

# 1. The stuck program at its end: every parked task with its name, its
# await line and the stuck mark; the running one; the header's counts.
test_tasks() {
	local label site row alive
	need_stuck
	start_top 30 100 --replay "$STUCK_REC"
	wait_screen ' t=\+0\.000000s of [0-9]+\.[0-9]+s'
	keys End
	alive=$(jqf "$STUCK_JSON" '.metadata.alive_tasks + .metadata.block_on_roots')
	wait_screen "^ Task list: $alive shown of $alive; sorted by Idle, descending"
	wait_screen '^ Tasks: 1 running, 0 runnable, 12 idle, 0 completed; 11 stuck; 1 block_on root$'
	# (another lint may join under load: starved)
	line_of '^ Warnings: (.* )?long-poll 1( |$)' >/dev/null
	# at 100 columns the spawn location gives way to whole names and awaits
	line_of '^  Warn +ID +State +Name +Total +Busy +Sched p99 +Idle +Polls +Await *$' >/dev/null
	for label in "${!FN[@]}"; do
		site="src/stuck.rs:$(marker_line stuck "$label")"
		row=$(line_of " ${FN[$label]} ")
		grep -q " idle (stuck) " <<<"$row" || fail "$label: not shown stuck: $row"
		grep -Eq " $site( |\$)" <<<"$row" || fail "$label: await $site not in its row: $row"
		# its id, as the JSON has it, in the ID column
		grep -Eq "^[> ] +[a-z-]* *$(jqf "$STUCK_JSON" --arg s "$site" \
			'.tasks[] | select(.await_site == $s and .kind != "block_on") | .id') " <<<"$row" ||
			fail "$label: not the JSON's id: $row"
	done
	row=$(line_of ' running ')
	grep -Eq '^ +[a-z,-]*long-poll[a-z,-]* +[0-9]+ +running ' <<<"$row" || fail "the running task: $row"
	# the first row is selected
	[ "$(screen | grep -c '^>')" = 1 ] || fail "not one selected row"
	expect_quit
}

# The Polls column of the task list's rows, top to bottom (it is
# right-aligned: its header's last letter ends each cell).
polls_column() {
	screen | awk 'NR == 5 { end = index($0, "Polls") + 4 }
		NR > 5 && end && /^[> ] / { n = substr($0, 1, end); sub(/.* /, "", n); if (n != "") print n }'
}

# 2. Sort by each key press, invert, filter (typed, applied, cancelled,
# cleared).
test_sort_filter() {
	local names name prev=0 n
	need_stuck
	start_top 30 100 --replay "$STUCK_REC"
	keys End
	wait_screen 'Task list: 13 shown'
	keys s
	wait_screen 'sorted by Polls, descending'
	expect_eq "polls, descending" "$(polls_column)" "$(polls_column | sort -rn)"
	keys i
	wait_screen 'sorted by Polls, ascending'
	expect_eq "polls, ascending" "$(polls_column)" "$(polls_column | sort -n)"
	[ "$(polls_column | head -n 1)" != "$(polls_column | tail -n 1)" ] || fail "all rows have as many polls"
	# on to Name: Await, Location, Warn, ID, State, Name
	keys s s s s s s
	wait_screen 'sorted by Name, ascending'
	names=$(printf '%s\n' "${FN[@]}" | LC_ALL=C sort)
	while read -r name; do
		n=$(screen | grep -n " $name " | cut -d: -f1 || true)
		[ -n "$n" ] && [ "$n" -gt "$prev" ] || fail "$name not after the names before it (line ${n:-none})"
		prev=$n
	done <<<"$names"
	keys S
	wait_screen 'sorted by State, ascending'
	# the filter line: typed, shown, applied by Enter
	keys / n o t i
	wait_screen '^Filter: noti_'
	screen | grep -q 'Task list: 13 shown' || fail "the filter applied before Enter"
	keys f y Enter
	wait_screen 'Task list: 1 shown of 13; .*filter "notify"'
	line_of ' wait_notify ' >/dev/null
	[ "$(screen | grep -c ' idle (stuck) ')" = 1 ] || fail "more than the filtered row shown"
	# cancelled with Esc: the filter stays; Esc in the list clears it
	keys / x x Escape
	wait_screen 'Task list: 1 shown of 13'
	keys Escape
	wait_screen 'Task list: 13 shown of 13'
	# by await line and by state
	keys / "stuck.rs:$(marker_line stuck lock)" Enter
	wait_screen 'Task list: 1 shown'
	line_of ' take_lock ' >/dev/null
	keys / C-u r u n n i n g Enter
	wait_screen 'Task list: 1 shown'
	line_of ' running ' >/dev/null
	expect_quit
}

# 3. The detail view: the await stack with the blocked frame marked, what
# it waits for, the histograms; a join names the awaited task.
test_detail() {
	local joined
	need_stuck
	start_top 30 100 --replay "$STUCK_REC"
	keys End / w a i t _ f o r _ c o n f i g Enter
	wait_screen 'Task list: 1 shown'
	keys Enter
	wait_screen '^ Task [0-9]+: detail \(Esc: back\)'
	line_of '^ Task [0-9]+  wait_for_config$' >/dev/null
	line_of 'State: +idle, parked for 2\.[0-9]+s: STUCK \(longer than --stuck-after 2\.00s\)' >/dev/null
	line_of "^   - wait_for_config\(\)  src/stuck.rs:$(marker_line stuck oneshot_outer)$" >/dev/null
	line_of "^     > recv_config\(\)  src/stuck.rs:$(marker_line stuck oneshot)   <-- blocked here for 2\.[0-9]+s$" >/dev/null
	line_of 'waiting for: channel \(oneshot receive\)' >/dev/null
	line_of "Spawned:  src/stuck.rs:$(marker_line stuck spawn_oneshot):" >/dev/null
	line_of '^ Poll durations: 1 timed, max ' >/dev/null
	line_of '^ Scheduling delays: 1, p50 ' >/dev/null
	screen | grep -Eq '^ +[0-9.]+[mun]?s-[0-9.]+[mun]?s +#+ +1$' || fail "no histogram bar"
	# back, and the join
	keys Escape
	wait_screen 'Task list: 1 shown'
	keys / C-u j o i n _ o t h e r Enter
	wait_screen 'filter "join_other"'
	keys Enter
	wait_screen '^ Task [0-9]+  join_other$'
	joined=$(jqf "$STUCK_JSON" --arg s "src/stuck.rs:$(marker_line stuck joined)" \
		'.tasks[] | select(.await_site == $s) | .id')
	line_of 'waiting for: join \(JoinHandle\)' >/dev/null
	line_of "joins: task $joined never_sent at src/stuck.rs:$(marker_line stuck joined) \(idle\)" >/dev/null
	expect_quit
}

# 4. Warnings, help, locks; Ctrl-C quits as q does.
test_views() {
	need_stuck
	start_top 30 100 --replay "$STUCK_REC"
	keys End w
	wait_screen '^ Warnings$'
	line_of '^ long-poll +1  a poll held its worker thread too long' >/dev/null
	line_of '^ lost-waker +0  ' >/dev/null
	line_of '^ +task [0-9]+ .*\(running\)$' >/dev/null
	keys '?'
	wait_screen '^ Help: keys'
	line_of 'Left Right  1 s back, on' >/dev/null
	line_of 'Shift-Left Shift-Right, or < >' >/dev/null
	keys Escape
	wait_screen '^ Warnings$'
	keys l
	wait_screen '^ Locks: holders and waiters, deadlocks'
	line_of "No lock data: tokio's locks are traced with --locks\." >/dev/null
	keys t
	wait_screen 'Task list: 13 shown'
	expect_quit C-c
}

# 5. The clock: 1 s steps, clamped at both ends, 10 s steps, Home, End;
# every view shows that instant.
test_clock() {
	local end
	need_stuck
	start_top 30 100 --replay "$STUCK_REC"
	wait_screen ' t=\+0\.000000s of '
	keys Right
	wait_screen ' t=\+1\.000000s of '
	# by 1 s, the tasks are spawned and parked, none for 2 s yet
	wait_screen '^ Tasks: .* 12 idle, 0 completed; 0 stuck;'
	keys Right
	wait_screen ' t=\+2\.000000s of '
	keys Right
	end=$(screen | sed -n '1s/.* of \([0-9.]*\)s *$/\1/p')
	wait_screen " t=\+${end%?}[0-9]*s of "
	keys Right # clamped
	sleep 0.3
	[ "$(clock)" != 3.000000 ] || fail "the clock ran past the end"
	wait_screen '; 11 stuck;'
	keys Left
	wait_screen ' t=\+1\.0[0-9]+s of '
	keys '['
	wait_screen ' t=\+0\.000000s of '
	keys ']'
	wait_screen " t=\+${end%?}[0-9]*s of "
	keys Home
	wait_screen ' t=\+0\.000000s of '
	# the detail view follows the clock too
	keys End
	wait_screen '; 11 stuck;'
	keys / n a p Enter
	wait_screen 'Task list: 1 shown'
	keys Enter
	wait_screen '^ Task [0-9]+  nap$'
	line_of 'STUCK' >/dev/null
	keys Home
	wait_screen 'not in the model at this instant'
	expect_quit
}

# 6. A task's events, one by one (current_thread's producer): spawned
# (runnable), polled (running), parked (idle) ..., completed, at the
# instants the JSON has; then back.
test_task_events() {
	local id created dur t state states="" times="" last=-1 i
	need_ct
	id=$(jqf "$CT_JSON" '.tasks[] | select(.spawn_location | test("current_thread.rs:50:")) | .id')
	created=$(jqf "$CT_JSON" ".tasks[] | select(.id == $id) | .created_at_ms")
	dur=$(jqf "$CT_JSON" ".tasks[] | select(.id == $id) | .duration_ms")
	start_top 30 100 --replay "$CT_REC"
	keys End
	wait_screen 'No task to show \(completed ones hidden'
	keys c
	wait_screen 'completed shown'
	keys / r s : 5 0 : Enter
	wait_screen 'Task list: 1 shown of 13;'
	line_of "^> +$id +completed " >/dev/null
	keys Home
	wait_screen "^  Selected: task $id, not in the model at this instant"
	for i in $(seq 1 60); do
		if [ $((i % 2)) = 0 ]; then keys S-Right; else keys '>'; fi
		# each step moves the clock on
		for _ in $(seq 1 100); do
			t=$(clock)
			[ "$t" != "$last" ] && screen | grep -Eq "^> +$id " && break
			sleep 0.02
		done
		[ "$t" != "$last" ] || fail "step $i: the clock stayed at $t"
		state=$(line_of "^> +$id " | awk '{print $3}')
		states="$states $state"
		times="$times $t"
		awk -v a="$last" -v b="$t" 'BEGIN { exit !(b > a) }' || fail "step $i: the clock went from $last to $t"
		last=$t
		[ "$state" != completed ] || break
	done
	[ "$state" = completed ] || fail "not completed after 60 steps:$states"
	case $states in
	" runnable running idle "*) ;;
	*) fail "the first states: $states" ;;
	esac
	grep -q ' running ' <<<"$states " || fail "never running:$states"
	# the instants: spawned at created_at_ms, completed at created + duration
	awk -v t="${times# }" -v c="$created" 'BEGIN { split(t, a, " "); exit !(a[1] * 1000 - c < 0.0015 && c - a[1] * 1000 < 0.0015) }' ||
		fail "spawned at ${times%% *} s, the JSON says $created ms"
	awk -v t="$last" -v c="$created" -v d="$dur" 'BEGIN { x = t * 1000 - (c + d); exit !(x < 0.002 && x > -0.002) }' ||
		fail "completed at $last s, the JSON says $created + $dur ms"
	# past its end: said, the clock stays
	keys '>'
	wait_screen "task $id: no later event"
	expect_eq "the clock after the last event" "$(clock)" "$last"
	# and back: the poll that completed it
	keys '<'
	wait_screen "^> +$id +running "
	keys S-Left
	wait_screen "^> +$id +(runnable|idle) "
	expect_quit
}

# 7. 80x24: the columns fit, Await keeps its line number, Location gives
# way; a resize brings it back; too small says so, and recovers.
test_small_terminal() {
	local row
	need_stuck
	start_top 24 80 --replay "$STUCK_REC"
	keys End
	wait_screen 'Task list: 13 shown'
	screen | grep -q 'Location' && fail "Location shown at 80 columns"
	row=$(line_of ' wait_f')
	grep -Eq " idle(!| \(stuck\)) " <<<"$row" || fail "no stuck mark at 80 columns: $row"
	grep -Eq "rs:$(marker_line stuck oneshot)( |$)" <<<"$row" || fail "no await line at 80 columns: $row"
	[ "$(screen | awk 'length > 80' | wc -l)" = 0 ] || fail "lines wider than 80"
	tmx resize-window -t top -x 120 -y 30
	wait_screen ' Location *$'
	line_of ' wait_for_config ' >/dev/null
	tmx resize-window -t top -x 30 -y 6
	wait_screen '^Too small: top needs 40x8'
	tmx resize-window -t top -x 100 -y 30
	wait_screen 'Task list: 13 shown'
	expect_quit
}

# 8. Errors before the terminal is taken: one line, status 1 (no root).
test_errors() {
	"$GEN" syn.rec 2000 --live 50 >/dev/null
	tool missing top --replay nope.rec
	expect_error missing 1 "cannot open nope.rec: No such file or directory"
	head -c 100 /dev/urandom >bad.rec
	tool bad top --replay bad.rec
	expect_error bad 1 "bad.rec: not a recording this version can read"
	tool notty top --replay syn.rec
	expect_error notty 1 "top draws on a terminal, and this is none \(for a report: replay syn.rec\)"
	tool json top --replay syn.rec --json x.json
	expect_error json 1 "top --replay only shows the recording"
	[ ! -e x.json ] || fail "x.json written"
}

# 9. A synthetic recording (no root): the rows at its end are the replay
# report's live tasks; the selection moves and opens.
test_synthetic() {
	local alive deadline
	"$GEN" syn.rec 20000 --live 40 >/dev/null
	"$BIN" replay syn.rec --json syn.json >/dev/null 2>&1 || fail "replay failed"
	alive=$(jqf syn.json '.metadata.alive_tasks + .metadata.block_on_roots')
	start_top 30 100 --replay syn.rec
	keys End
	wait_screen "Task list: $alive shown of [0-9]+; .*completed hidden"
	keys j j
	deadline=$(($(now_ms) + 5000))
	until [ "$(screen | grep -n '^>' | cut -d: -f1 || true)" = 8 ]; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "the third row not selected: $(screen | grep -n '^>')"
		sleep 0.05
	done
	keys Enter
	wait_screen '^ Task [0-9]+: detail'
	keys Escape
	wait_screen "Task list: $alive shown"
	expect_quit
}

# ---------------------------------------------------------------------------
# Live sessions: top on a process it starts or attaches to (as root).

LOCKS=$ROOT/tests/programs/locks/target/release/locks
STUCK_FULL=$ROOT/tests/programs/await/target/nofp-full/release/stuck

uprobe_links() {
	bpftool link list 2>/dev/null | grep -c 'uprobe_multi' || true
}

# The live clock in the title: "live +3.05s" -> 3.05
live_clock() {
	screen | sed -n '1s/.* live +\([0-9.]*\)s.*/\1/p'
}

# q: top ends its session (the probes detached, the report written), its
# pane closes with exit status 0; what the session said on stderr while the
# screen showed comes after, with no error; no probe is left.
expect_live_quit() {
	local deadline
	keys q
	deadline=$(($(now_ms) + 10000))
	while tmx has-session -t top 2>/dev/null; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "top still runs 10 s after q"
		sleep 0.05
	done
	expect_eq "top's exit status" "$(cat top.status 2>/dev/null)" 0
	grep -q '^async-inspect-bpf: \(started\|attached to\) pid [0-9]* ' top.err ||
		fail "the session's start-up line was not kept for after the screen: $(head -c 300 top.err)"
	! grep -Eiq 'error|fail|warning' top.err || fail "top said: $(grep -Ei 'error|fail|warning' top.err)"
	expect_eq "uprobe_multi links left" "$(uprobe_links)" 0
}

# Each parked task of the stuck fixture shown stuck with its name and the
# line of its .await, within SECONDS.
expect_stuck_rows() { # SECONDS
	local label site row
	for label in "${!FN[@]}"; do
		site="src/stuck.rs:$(marker_line stuck "$label")"
		wait_screen " ${FN[$label]} .* $site( |\$)" "$1"
		row=$(line_of " ${FN[$label]} ")
		grep -q " idle (stuck) " <<<"$row" || fail "$label: not shown stuck: $row"
	done
}

# 10. top -- CMD: the parked tasks appear with their names and await lines
# within a few seconds (their stacks resolved while the session runs); space
# holds the display while tracing goes on; q ends the session as any other
# (the report and --json written, no probe left).
test_live_run() {
	local t1
	start_top 30 120 --stuck-after 1s --json top.json --record top.rec -- "$STUCK"
	wait_screen '^ Task list: 13 shown of 13' 10
	expect_stuck_rows 6
	# (another lint may join under load: starved)
	line_of '^ Warnings: (.* )?long-poll 1( |$)' >/dev/null
	keys Space
	wait_screen 'PAUSED'
	t1=$(live_clock)
	sleep 1.5
	expect_eq "the clock while the display is held" "$(live_clock)" "$t1"
	keys Space
	wait_screen "live \+[0-9.]+s *$" 3
	[ "$(live_clock)" != "$t1" ] || fail "the clock did not move on after space"
	expect_live_quit
	expect_jq top.json "the session's report: 12 live tasks, ended by q" \
		'.metadata.alive_tasks == 12 and .metadata.ended == "interrupted"'
	# the warnings in the report and the JSON too
	expect_jq top.json "the running task's long poll in the JSON" \
		'([.tasks[] | select(.state == "running") | .warnings | index("long-poll") != null] == [true]) and
		 ([.warnings[] | select(.lint == "long-poll") | .tasks | length] == [1])'
	tool replay replay top.rec
	expect_rc replay 0
	grep -Eq '^  long-poll +1 task \([0-9]+\): ' replay.out ||
		fail "no warnings in the text report: $(grep -A3 '^Warnings' replay.out)"
}

# 11. top --pid: the tasks a running process has are found in its memory,
# their awaits decoded there (full debug info); it runs on after q.
test_live_attach() {
	local tgt
	"$STUCK_FULL" >target.out 2>&1 &
	tgt=$!
	bg "$tgt"
	wait_for_line target.out '^READY$' 10 "$tgt" stuck
	start_top 30 120 --stuck-after 1s --pid "$tgt"
	wait_screen "^ async-inspect-bpf top: pid $tgt " 5
	expect_stuck_rows 6
	wait_screen '^ Tasks: 1 running, 0 runnable, 12 idle, 0 completed; 12 stuck; 1 block_on root$' 3
	expect_live_quit
	kill -0 "$tgt" 2>/dev/null || fail "the target did not survive the session"
	kill "$tgt"
}

# 12. A deadlock (two tasks taking two Mutexes in turn): the banner across
# every view as soon as it is confirmed, the locks view with both Mutexes.
test_live_deadlock() {
	start_top 30 120 --locks -- "$LOCKS" abba
	wait_screen '^ *DEADLOCK: task [0-9]+ -> Mutex' 15
	keys l
	wait_screen 'Locks: holders and waiters' 3
	[ "$(screen | grep -c 'Mutex')" -ge 2 ] || fail "the locks view: $(screen | grep -v '^ *$' | tr '\n' '|')"
	keys w
	wait_screen '^ *DEADLOCK: task [0-9]+ -> Mutex' 3
	expect_live_quit
}

ALL_TESTS=(tasks sort_filter detail views clock task_events small_terminal errors synthetic
	live_run live_attach live_deadlock)
NONROOT_TESTS=(errors synthetic)
main "$@"
