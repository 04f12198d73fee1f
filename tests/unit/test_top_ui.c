// SPDX-License-Identifier: MIT
/*
 * `top`'s screen without a terminal (cli/top_ui.h): text fitting, the
 * table's columns at 80, 100 and 200 columns and below, a row's line; the
 * keys (views, sort, filter line, completed tasks, the replay's clock keys
 * and their steps, live and replay told apart); the selection kept by key
 * across redraws, moved to the row at its place when its task goes, kept
 * under no row when its task is not in the model (a replay before its
 * spawn); scrolling; and the text views on a model built by hand: a
 * task's detail (await stack with the blocked frame marked, what it waits
 * for, histograms), the warnings, the help, the header's counts, the locks
 * and a deadlock with its banner.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/deadlock.h"
#include "cli/top_ui.h"
#include "record/await_site.h"
#include "report/task_table.h"
#include "hand_model.h"

/* ---- a model by hand (as test_task_table's) ---- */

static void lock_op(__u64 ts, __u16 op, __u64 sem, __u64 id)
{
	struct aib_ev_lock e = {.hdr = {AIB_EV_LOCK, sizeof(e), 11, ts}, .sem = sem,
				.task = HDR(id), .task_id = id,
				.acquire = op == AIB_LOCK_RELEASED ? 0 : 0x7ff00000ULL + id * 0x1000 + (sem >> 8),
				.available = ~0ULL, .permits = 1, .op = op,
				.kind = AIB_LOCK_KIND_MUTEX};

	apply(&e.hdr);
}

static void await_at(__u64 ts, __u64 id, const char *fn, __u32 line)
{
	static __u64 buf[(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
	static struct await_desc d;

	memset(&d, 0, sizeof(d));
	d.method = AIB_AWAIT_STACK;
	d.kind = AIB_WAIT_CHANNEL;
	snprintf(d.detail, sizeof(d.detail), "oneshot receive");
	snprintf(d.frames[0].function, sizeof(d.frames[0].function), "app::serve");
	snprintf(d.frames[0].file, sizeof(d.frames[0].file), "src/main.rs");
	d.frames[0].line = 30;
	snprintf(d.frames[1].function, sizeof(d.frames[1].function), "%s", fn);
	snprintf(d.frames[1].file, sizeof(d.frames[1].file), "src/main.rs");
	d.frames[1].line = line;
	snprintf(d.frames[2].function, sizeof(d.frames[2].function), "tokio::sync::oneshot::Receiver::poll");
	d.frames[2].library = true;
	d.nframes = 3;
	apply(&await_desc__to_record(&d, HDR(id), id, ts, buf)->hdr);
}

/*
 * Task 1: the carrier of worker 11. Task 2: spawned at src/main.rs:25,
 * polled 3 times, parked in recv_config at src/main.rs:12 since 10.1 s:
 * stuck at 13 s. Task 3: running since 12.9 s (a long poll). Task 4:
 * completed.
 */
static void build(void)
{
	hand_model_begin();
	hand_spawn(10 * SEC + 10, 2, 0, 25, 0);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 1000, 11, 2, 0, 1);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 1500, 11, 2, AIB_POLL_PENDING, 1);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 6000, 11, 2, 0, 1);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 9000, 11, 2, AIB_POLL_NOTIFIED, 1);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 50 * MS, 11, 2, 0, 1);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 100 * MS, 11, 2, AIB_POLL_PENDING, 1);
	await_at(10 * SEC + 200 * MS, 2, "app::recv_config", 12);
	hand_spawn(10 * SEC + 7000, 3, 0, 0, 0);
	hand_poll(AIB_EV_POLL_BEGIN, 12 * SEC + 900 * MS, 11, 3, 0, 1);
	hand_spawn(10 * SEC, 4, 0, 30, 0);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 50, 12, 4, 0, 1);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 70, 12, 4, AIB_POLL_READY, 1);
	task_model__finish(M, 13 * SEC);
}

static int setup(void **state)
{
	build();
	return 0;
}

static int teardown(void **state)
{
	task_model__free(M);
	M = NULL;
	return 0;
}

static struct task_table *table(bool completed)
{
	struct task_table_opts o;
	struct task_table *tt;

	task_table_opts__default(&o);
	o.completed = completed;
	tt = task_table__new(M, &o);
	assert_non_null(tt);
	return tt;
}

static size_t row_of(const struct task_table *tt, __u64 id)
{
	for (size_t i = 0; i < task_table__rows(tt); i++)
		if (task_table__row(tt, i)->t->id == id)
			return i;
	fail_msg("no row for task %llu", (unsigned long long)id);
	return 0;
}

/* The first line holding `needle`, or -1; its kind. */
static long find_line(const struct top_lines *l, const char *needle, enum top_line_kind *kind)
{
	for (size_t i = 0; i < top_lines__count(l); i++)
		if (strstr(top_lines__get(l, i, kind), needle))
			return (long)i;
	return -1;
}

static void assert_line(const struct top_lines *l, const char *needle, enum top_line_kind want)
{
	enum top_line_kind kind;

	if (find_line(l, needle, &kind) < 0) {
		for (size_t i = 0; i < top_lines__count(l); i++)
			print_message("  | %s\n", top_lines__get(l, i, NULL));
		fail_msg("no line holds \"%s\"", needle);
	}
	assert_int_equal(kind, want);
}

/* ---- fitting and columns ---- */

static void test_fit(void **state)
{
	char buf[64];

	assert_string_equal(top_layout__fit("src/main.rs:12", 20, true, buf, sizeof(buf)), "src/main.rs:12");
	assert_string_equal(top_layout__fit("abcdefghij", 10, false, buf, sizeof(buf)), "abcdefghij");
	assert_string_equal(top_layout__fit("abcdefghij", 6, false, buf, sizeof(buf)), "abcd..");
	assert_string_equal(top_layout__fit("abcdefghij", 6, true, buf, sizeof(buf)), "..ghij");
	assert_string_equal(top_layout__fit("abcdefghij", 2, false, buf, sizeof(buf)), "ab");
	assert_string_equal(top_layout__fit("abcdefghij", 2, true, buf, sizeof(buf)), "ij");
	assert_string_equal(top_layout__fit("abc", 0, false, buf, sizeof(buf)), "");
	/* a UTF-8 character is one column, never cut in two */
	assert_int_equal(top_layout__width("d\xc3\xa9j\xc3\xa0"), 4);
	assert_string_equal(top_layout__fit("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, false, buf, sizeof(buf)),
			    "\xc3\xa9..");
	assert_string_equal(top_layout__fit("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, true, buf, sizeof(buf)),
			    "..\xc3\xa9");
}

/* The stuck fixture's widest cells (Await "src/stuck.rs:126", Location
 * "src/stuck.rs:131:63", a "long-poll" warning). */
static const unsigned STUCK[TASK_COL_MAX] = {
	[TASK_COL_WARN] = 9,  [TASK_COL_ID] = 5,	 [TASK_COL_STATE] = 12, [TASK_COL_NAME] = 15,
	[TASK_COL_TOTAL] = 5, [TASK_COL_BUSY] = 7,	 [TASK_COL_SCHED_P99] = 9, [TASK_COL_IDLE] = 5,
	[TASK_COL_POLLS] = 5, [TASK_COL_AWAIT] = 16, [TASK_COL_LOCATION] = 19,
};

static unsigned right_edge(const struct top_columns *c)
{
	unsigned edge = 0;

	for (int i = 0; i < TASK_COL_MAX; i++)
		if (c->width[i] && c->x[i] + c->width[i] > edge)
			edge = c->x[i] + c->width[i];
	return edge;
}

static void assert_numbers_whole(const struct top_columns *c, const unsigned natural[TASK_COL_MAX])
{
	static const enum task_col nums[] = {TASK_COL_ID, TASK_COL_BUSY, TASK_COL_IDLE, TASK_COL_POLLS};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		assert_int_equal(c->width[nums[i]], natural[nums[i]]);
}

static void test_columns(void **state)
{
	struct top_columns c;
	unsigned empty_warn[TASK_COL_MAX];

	/* wide: every column at its natural width, in order, one space apart */
	top_layout__columns(200, STUCK, &c);
	for (int i = 0; i < TASK_COL_MAX; i++)
		assert_int_equal(c.width[i], STUCK[i]);
	assert_int_equal(c.x[TASK_COL_WARN], TOP_GUTTER);
	for (int i = 1; i < TASK_COL_MAX; i++)
		assert_int_equal(c.x[i], c.x[i - 1] + c.width[i - 1] + 1);
	/* 120: each at a width that reads well, what is left to Location */
	top_layout__columns(120, STUCK, &c);
	assert_true(right_edge(&c) <= 120);
	for (int i = 0; i < TASK_COL_MAX; i++)
		assert_true(c.width[i] > 0);
	assert_int_equal(c.width[TASK_COL_NAME], 15);
	assert_int_equal(c.width[TASK_COL_AWAIT], 16);
	assert_int_equal(c.width[TASK_COL_STATE], 12);
	assert_true(c.width[TASK_COL_LOCATION] >= 18);
	/* 100: Location gives way rather than everything being cut */
	top_layout__columns(100, STUCK, &c);
	assert_true(right_edge(&c) <= 100);
	assert_int_equal(c.width[TASK_COL_LOCATION], 0);
	assert_int_equal(c.width[TASK_COL_NAME], 15);
	assert_int_equal(c.width[TASK_COL_AWAIT], 16);
	assert_int_equal(c.width[TASK_COL_STATE], 12);
	assert_int_equal(c.width[TASK_COL_WARN], 9);
	assert_numbers_whole(&c, STUCK);
	/* 80x24: Location gives way first, Await keeps 12 */
	top_layout__columns(80, STUCK, &c);
	assert_true(right_edge(&c) <= 80);
	assert_int_equal(c.width[TASK_COL_LOCATION], 0);
	assert_true(c.width[TASK_COL_AWAIT] >= 12);
	assert_true(c.width[TASK_COL_NAME] >= 8);
	assert_true(c.width[TASK_COL_WARN] >= 4);
	assert_int_equal(c.width[TASK_COL_SCHED_P99], 9);
	assert_int_equal(c.width[TASK_COL_TOTAL], 5);
	assert_numbers_whole(&c, STUCK);
	/* narrower: Sched p99 and Total too; a Warn with warnings stays */
	top_layout__columns(64, STUCK, &c);
	assert_int_equal(c.width[TASK_COL_LOCATION], 0);
	assert_int_equal(c.width[TASK_COL_SCHED_P99], 0);
	assert_true(c.width[TASK_COL_WARN] > 0);
	assert_true(right_edge(&c) <= 64);
	/* a Warn column with nothing in it goes before Sched p99 */
	memcpy(empty_warn, STUCK, sizeof(empty_warn));
	empty_warn[TASK_COL_WARN] = 4;
	top_layout__columns(75, empty_warn, &c);
	assert_int_equal(c.width[TASK_COL_WARN], 0);
	assert_int_equal(c.width[TASK_COL_SCHED_P99], 9);
	assert_true(right_edge(&c) <= 75);
	assert_int_equal(c.x[TASK_COL_ID], TOP_GUTTER);
}

static void test_line(void **state)
{
	const char *cells[TASK_COL_MAX] = {
		[TASK_COL_WARN] = "long-poll", [TASK_COL_ID] = "14", [TASK_COL_STATE] = "running",
		[TASK_COL_NAME] = "wait_for_config", [TASK_COL_TOTAL] = "2.04s",
		[TASK_COL_BUSY] = "78.5us", [TASK_COL_SCHED_P99] = "248.5us", [TASK_COL_IDLE] = "0ns",
		[TASK_COL_POLLS] = "1", [TASK_COL_AWAIT] = "src/stuck.rs:126",
		[TASK_COL_LOCATION] = "src/stuck.rs:131:63",
	};
	struct top_columns c;
	char line[512];

	top_layout__columns(80, STUCK, &c);
	top_layout__line(&c, cells, '>', line, sizeof(line));
	assert_true(top_layout__width(line) <= 80);
	assert_int_equal(line[0], '>');
	assert_int_equal(line[1], ' ');
	/* numbers end at their column's right edge */
	assert_memory_equal(line + c.x[TASK_COL_BUSY] + c.width[TASK_COL_BUSY] - 6, "78.5us", 6);
	assert_memory_equal(line + c.x[TASK_COL_POLLS] + c.width[TASK_COL_POLLS] - 1, "1", 1);
	/* a path loses its start, a name its end */
	assert_memory_equal(line + c.x[TASK_COL_AWAIT], "..", 2);
	assert_non_null(strstr(line, "rs:126"));
	assert_non_null(strstr(line, "wait_f"));
	assert_null(strstr(line, "src/stuck.rs:131")); /* Location hidden at 80 */
	/* no gutter mark: spaces */
	top_layout__line(&c, cells, 0, line, sizeof(line));
	assert_memory_equal(line, "  ", 2);
}

static void test_cells(void **state)
{
	struct task_table *tt = table(false);
	const struct task_row *r2 = task_table__row(tt, row_of(tt, 2));
	char buf[128];

	assert_string_equal(top_layout__cell(r2, TASK_COL_STATE, 12, buf, sizeof(buf)), "idle (stuck)");
	assert_string_equal(top_layout__cell(r2, TASK_COL_STATE, 9, buf, sizeof(buf)), "idle!");
	assert_string_equal(top_layout__cell(r2, TASK_COL_WARN, 40, buf, sizeof(buf)),
			    task_table__cell(r2, TASK_COL_WARN, buf + 64, 64));
	assert_true(r2->lints != 0);
	snprintf(buf + 64, 64, "!%d", __builtin_popcount(r2->lints));
	assert_string_equal(top_layout__cell(r2, TASK_COL_WARN, 4, buf, 64), buf + 64);
	/* wide enough for part of the names: cut at the end, by the line */
	assert_string_equal(top_layout__cell(r2, TASK_COL_AWAIT, 4, buf, sizeof(buf)), "src/main.rs:12");
	task_table__free(tt);
}

/* ---- keys ---- */

static const struct top_task_key K1 = {HDR(1), 1, 100}, K2 = {HDR(2), 2, 200},
				  K3 = {HDR(3), 3, 300};

static void test_views(void **state)
{
	struct top_ui *ui = top_ui__new(false);
	struct top_task_key rows[] = {K1, K2};

	assert_non_null(ui);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_TASKS);
	assert_int_equal(top_ui__key(ui, 'q'), TOP_QUIT);
	assert_int_equal(top_ui__key(ui, ' '), TOP_PAUSE);
	assert_int_equal(top_ui__key(ui, TOP_KEY_RESIZE), TOP_REDRAW);
	/* Enter needs a selected task */
	assert_int_equal(top_ui__key(ui, TOP_KEY_ENTER), TOP_NONE);
	assert_int_equal(top_ui__set_rows(ui, rows, 2, 10, false), 0);
	assert_int_equal(top_ui__key(ui, TOP_KEY_ENTER), TOP_REDRAW);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_DETAIL);
	assert_int_equal(top_ui__key(ui, TOP_KEY_ESC), TOP_REDRAW);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_TASKS);
	assert_int_equal(top_ui__key(ui, 'l'), TOP_REDRAW);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_LOCKS);
	/* help, then back where it was: by ? again or by Esc */
	assert_int_equal(top_ui__key(ui, '?'), TOP_REDRAW);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_HELP);
	top_ui__key(ui, '?');
	assert_int_equal(top_ui__view(ui), TOP_VIEW_LOCKS);
	top_ui__key(ui, 'w');
	assert_int_equal(top_ui__view(ui), TOP_VIEW_WARNINGS);
	top_ui__key(ui, '?');
	top_ui__key(ui, TOP_KEY_ESC);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_WARNINGS);
	top_ui__key(ui, TOP_KEY_ESC);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_TASKS);
	top_ui__key(ui, 't');
	assert_int_equal(top_ui__view(ui), TOP_VIEW_TASKS);
	/* a live view has no clock */
	assert_int_equal(top_ui__key(ui, TOP_KEY_LEFT), TOP_NONE);
	assert_int_equal(top_ui__key(ui, '<'), TOP_NONE);
	assert_int_equal(top_ui__key(ui, TOP_KEY_SRIGHT), TOP_NONE);
	top_ui__free(ui);
}

static void test_sort_keys(void **state)
{
	struct top_ui *ui = top_ui__new(false);
	struct task_table_opts o;

	top_ui__table_opts(ui, &o);
	assert_int_equal(o.sort, TASK_COL_IDLE);
	assert_true(o.descending);
	assert_true(o.completed); /* always: top_ui__shows() picks */
	/* numbers largest first, text from A */
	assert_int_equal(top_ui__key(ui, 's'), TOP_REDRAW);
	top_ui__table_opts(ui, &o);
	assert_int_equal(o.sort, TASK_COL_POLLS);
	assert_true(o.descending);
	top_ui__key(ui, 's');
	top_ui__table_opts(ui, &o);
	assert_int_equal(o.sort, TASK_COL_AWAIT);
	assert_false(o.descending);
	top_ui__key(ui, 's');
	top_ui__key(ui, 's');
	top_ui__table_opts(ui, &o);
	assert_int_equal(o.sort, TASK_COL_WARN); /* round */
	top_ui__key(ui, 'S');
	top_ui__key(ui, 'S');
	top_ui__table_opts(ui, &o);
	assert_int_equal(o.sort, TASK_COL_AWAIT);
	assert_int_equal(top_ui__key(ui, 'i'), TOP_REDRAW);
	top_ui__table_opts(ui, &o);
	assert_true(o.descending);
	top_ui__free(ui);
}

static void type(struct top_ui *ui, const char *s)
{
	for (; *s; s++)
		assert_int_equal(top_ui__key(ui, (unsigned char)*s), TOP_REDRAW);
}

static void test_filter_line(void **state)
{
	struct top_ui *ui = top_ui__new(true);
	struct task_table_opts o;

	assert_null(top_ui__editing(ui));
	assert_int_equal(top_ui__key(ui, '/'), TOP_REDRAW);
	assert_string_equal(top_ui__editing(ui), "");
	/* every key is text now: q, the clock's keys, space */
	type(ui, "q<] x");
	assert_string_equal(top_ui__editing(ui), "q<] x");
	top_ui__key(ui, TOP_KEY_BACKSPACE);
	top_ui__key(ui, 'U' & 0x1f);
	assert_string_equal(top_ui__editing(ui), "");
	type(ui, "recv\xc3\xa9");
	top_ui__key(ui, TOP_KEY_BACKSPACE); /* the whole é */
	assert_string_equal(top_ui__editing(ui), "recv");
	assert_string_equal(top_ui__filter(ui), ""); /* not before Enter */
	top_ui__key(ui, TOP_KEY_ENTER);
	assert_null(top_ui__editing(ui));
	assert_string_equal(top_ui__filter(ui), "recv");
	top_ui__table_opts(ui, &o);
	assert_string_equal(o.filter, "recv");
	/* Esc cancels the edit, the filter stays; Esc in the list clears it */
	top_ui__key(ui, '/');
	assert_string_equal(top_ui__editing(ui), "recv");
	type(ui, "zzz");
	top_ui__key(ui, TOP_KEY_ESC);
	assert_null(top_ui__editing(ui));
	assert_string_equal(top_ui__filter(ui), "recv");
	assert_int_equal(top_ui__key(ui, TOP_KEY_ESC), TOP_REDRAW);
	assert_string_equal(top_ui__filter(ui), "");
	assert_int_equal(top_ui__key(ui, TOP_KEY_ESC), TOP_NONE);
	top_ui__free(ui);
}

static void test_completed(void **state)
{
	struct top_ui *ui = top_ui__new(false);
	struct task_info done = {.header = HDR(4), .id = 4, .spawn_ts = 400, .state = TASK_COMPLETED};
	struct task_info live = {.header = HDR(5), .id = 5, .spawn_ts = 500, .state = TASK_IDLE};
	struct top_task_key k = top_task_key__of(&done);

	assert_false(top_ui__completed(ui));
	assert_false(top_ui__shows(ui, &done));
	assert_true(top_ui__shows(ui, &live));
	/* the selected one stays, ended or not */
	top_ui__set_rows(ui, &k, 1, 10, false);
	assert_true(top_ui__shows(ui, &done));
	top_ui__set_rows(ui, NULL, 0, 10, false);
	assert_false(top_ui__shows(ui, &done));
	assert_int_equal(top_ui__key(ui, 'c'), TOP_REDRAW);
	assert_true(top_ui__completed(ui));
	assert_true(top_ui__shows(ui, &done));
	top_ui__free(ui);
}

static void assert_selected(const struct top_ui *ui, const struct top_task_key *want)
{
	struct top_task_key k;

	assert_true(top_ui__selected(ui, &k));
	assert_true(top_task_key__eq(&k, want));
}

static void test_selection(void **state)
{
	struct top_ui *ui = top_ui__new(true);
	struct top_task_key rows[] = {K1, K2, K3}, again[] = {K3, K2, K1}, gone[] = {K3, K1};
	struct top_task_key many[10], unpolled = {0, 2, 200};

	assert_false(top_ui__selected(ui, NULL));
	top_ui__set_rows(ui, rows, 3, 2, false);
	assert_selected(ui, &K1);
	assert_int_equal(top_ui__key(ui, 'j'), TOP_REDRAW);
	assert_selected(ui, &K2);
	/* a new order: the same task */
	top_ui__set_rows(ui, again, 3, 2, false);
	assert_int_equal(top_ui__cursor(ui), 1);
	assert_selected(ui, &K2);
	/* its task gone: the row at its place */
	top_ui__set_rows(ui, gone, 2, 2, false);
	assert_int_equal(top_ui__cursor(ui), 1);
	assert_selected(ui, &K1);
	/* not in the model at this instant: kept, under no row */
	top_ui__key(ui, 'k');
	assert_selected(ui, &K3);
	top_ui__set_rows(ui, (struct top_task_key[]){K1}, 1, 2, true);
	assert_int_equal(top_ui__cursor(ui), TOP_NO_ROW);
	assert_selected(ui, &K3);
	assert_int_equal(top_ui__key(ui, '>'), TOP_TASK_NEXT); /* still followed */
	top_ui__set_rows(ui, rows, 3, 2, true);
	assert_int_equal(top_ui__cursor(ui), 2);
	assert_selected(ui, &K3);
	top_ui__set_rows(ui, (struct top_task_key[]){K1}, 1, 2, true);
	assert_int_equal(top_ui__key(ui, 'j'), TOP_REDRAW); /* from the top of the page */
	assert_selected(ui, &K1);
	/* a task not polled yet has no header: its id and spawn time tell */
	top_ui__set_rows(ui, rows, 3, 2, false);
	top_ui__key(ui, 'j');
	top_ui__set_rows(ui, (struct top_task_key[]){K1, unpolled}, 2, 2, false);
	assert_int_equal(top_ui__cursor(ui), 1);
	/* the page follows the cursor */
	for (int i = 0; i < 10; i++)
		many[i] = (struct top_task_key){HDR(10 + i), 10 + (__u64)i, 1};
	top_ui__set_rows(ui, many, 10, 3, false);
	top_ui__key(ui, 'G');
	assert_int_equal(top_ui__cursor(ui), 9);
	assert_int_equal(top_ui__first(ui), 7);
	top_ui__key(ui, TOP_KEY_PGUP);
	assert_int_equal(top_ui__cursor(ui), 6);
	assert_int_equal(top_ui__first(ui), 6);
	top_ui__key(ui, 'g');
	assert_int_equal(top_ui__cursor(ui), 0);
	assert_int_equal(top_ui__first(ui), 0);
	top_ui__key(ui, TOP_KEY_PGDN);
	assert_int_equal(top_ui__cursor(ui), 3);
	/* none left: nothing selected, and no move */
	top_ui__set_rows(ui, NULL, 0, 3, false);
	assert_false(top_ui__selected(ui, NULL));
	assert_int_equal(top_ui__key(ui, 'j'), TOP_NONE);
	top_ui__free(ui);
}

static void test_clock_keys(void **state)
{
	struct top_ui *ui = top_ui__new(true);

	assert_int_equal(top_ui__key(ui, TOP_KEY_LEFT), TOP_BACK);
	assert_int_equal(top_ui__step_ns(ui), SEC);
	assert_int_equal(top_ui__key(ui, TOP_KEY_RIGHT), TOP_FORWARD);
	assert_int_equal(top_ui__step_ns(ui), SEC);
	assert_int_equal(top_ui__key(ui, '['), TOP_BACK);
	assert_int_equal(top_ui__step_ns(ui), 10 * SEC);
	assert_int_equal(top_ui__key(ui, ']'), TOP_FORWARD);
	assert_int_equal(top_ui__key(ui, TOP_KEY_HOME), TOP_BACK);
	assert_int_equal(top_ui__step_ns(ui), UINT64_MAX);
	assert_int_equal(top_ui__key(ui, TOP_KEY_END), TOP_FORWARD);
	assert_int_equal(top_ui__step_ns(ui), UINT64_MAX);
	/* a task's events need a task */
	assert_int_equal(top_ui__key(ui, '<'), TOP_NONE);
	assert_int_equal(top_ui__key(ui, TOP_KEY_SRIGHT), TOP_NONE);
	top_ui__set_rows(ui, &K1, 1, 5, false);
	assert_int_equal(top_ui__key(ui, '<'), TOP_TASK_PREV);
	assert_int_equal(top_ui__key(ui, TOP_KEY_SLEFT), TOP_TASK_PREV);
	assert_int_equal(top_ui__key(ui, '>'), TOP_TASK_NEXT);
	assert_int_equal(top_ui__key(ui, TOP_KEY_SRIGHT), TOP_TASK_NEXT);
	/* in every view */
	top_ui__key(ui, TOP_KEY_ENTER);
	assert_int_equal(top_ui__view(ui), TOP_VIEW_DETAIL);
	assert_int_equal(top_ui__key(ui, TOP_KEY_LEFT), TOP_BACK);
	assert_int_equal(top_ui__key(ui, '>'), TOP_TASK_NEXT);
	/* the list's first and last: g and G (Home and End are the clock's) */
	top_ui__key(ui, 't');
	assert_int_equal(top_ui__key(ui, 'G'), TOP_REDRAW);
	top_ui__free(ui);
}

static void test_scroll(void **state)
{
	struct top_ui *ui = top_ui__new(false);

	top_ui__key(ui, 'w');
	top_ui__set_lines(ui, 50, 10);
	top_ui__key(ui, 'j');
	assert_int_equal(top_ui__scroll(ui), 1);
	top_ui__key(ui, 'G');
	assert_int_equal(top_ui__scroll(ui), 40);
	top_ui__key(ui, TOP_KEY_PGUP);
	assert_int_equal(top_ui__scroll(ui), 30);
	top_ui__key(ui, 'g');
	assert_int_equal(top_ui__scroll(ui), 0);
	top_ui__key(ui, 'k');
	assert_int_equal(top_ui__scroll(ui), 0);
	top_ui__key(ui, 'G');
	top_ui__set_lines(ui, 20, 10); /* fewer lines now */
	assert_int_equal(top_ui__scroll(ui), 10);
	top_ui__set_lines(ui, 5, 10);
	assert_int_equal(top_ui__scroll(ui), 0);
	/* another view starts at its top */
	top_ui__set_lines(ui, 50, 10);
	top_ui__key(ui, 'G');
	top_ui__key(ui, 'l');
	assert_int_equal(top_ui__scroll(ui), 0);
	top_ui__free(ui);
}

/* ---- text views ---- */

static void test_detail_lines(void **state)
{
	struct task_table *tt = table(true);
	struct top_lines *l = top_lines__new();
	long at;

	assert_non_null(l);
	assert_int_equal(top_lines__detail(l, tt, row_of(tt, 2), M, 2 * SEC, 30), 0);
	assert_line(l, "Task 2  serve", TOP_LINE_TITLE);
	assert_line(l, "State:    idle, parked for 2.90s: STUCK (longer than --stuck-after 2.00s)",
		    TOP_LINE_MARK);
	assert_line(l, "Spawned:  src/main.rs:25:5", TOP_LINE_TEXT);
	assert_line(l, "3 polls", TOP_LINE_TEXT);
	/* the stack: the program's frames, the blocked one marked */
	assert_line(l, "Await stack, outermost first (stack):", TOP_LINE_TITLE);
	assert_line(l, "- serve()  src/main.rs:30", TOP_LINE_TEXT);
	assert_line(l, "> recv_config()  src/main.rs:12   <-- blocked here for 2.90s", TOP_LINE_MARK);
	assert_true(find_line(l, "oneshot::Receiver", NULL) < 0);
	assert_line(l, "waiting for: channel (oneshot receive)", TOP_LINE_TEXT);
	assert_line(l, "Threads:    11 (tokio-worker)", TOP_LINE_TEXT);
	assert_line(l, "Warning:  long-poll", TOP_LINE_MARK);
	/* histograms: 500 ns, 3 us, 50 ms */
	assert_line(l, "Poll durations: 3 timed, max 50.00ms", TOP_LINE_TITLE);
	at = find_line(l, "Poll durations", NULL);
	assert_non_null(strstr(top_lines__get(l, (size_t)at + 1, NULL), "#"));
	assert_line(l, "Scheduling delays: ", TOP_LINE_TITLE);
	/* running: how long in its poll, and no await */
	assert_int_equal(top_lines__detail(l, tt, row_of(tt, 3), M, 2 * SEC, 30), 0);
	assert_line(l, "State:    running: in a poll for 100.00ms", TOP_LINE_TEXT);
	assert_line(l, "Await: none (not parked)", TOP_LINE_DIM);
	/* completed */
	assert_int_equal(top_lines__detail(l, tt, row_of(tt, 4), M, 2 * SEC, 30), 0);
	assert_line(l, "State:    completed", TOP_LINE_TEXT);
	assert_int_equal(top_lines__detail(l, tt, 99, M, 2 * SEC, 30), -ENOENT);
	top_lines__free(l);
	task_table__free(tt);
}

static void test_warning_lines(void **state)
{
	struct task_table *tt = table(false);
	const struct lints *ls = task_table__lints(tt);
	struct top_lines *l = top_lines__new();
	char want[128], head[256];

	assert_int_equal(top_lines__warnings(l, tt, M), 0);
	for (int k = 0; k < LINT_MAX; k++) {
		snprintf(want, sizeof(want), "%-11s %4zu  %s", lint__name(k), lints__count(ls, k),
			 lint__what(k));
		assert_line(l, want, lints__count(ls, k) ? TOP_LINE_MARK : TOP_LINE_TITLE);
	}
	assert_true(lints__count(ls, LINT_LONG_POLL) > 0);
	assert_line(l, "task 2 serve at src/main.rs:12 (idle)", TOP_LINE_TEXT);
	/* the header's line */
	top_lines__lint_counts(tt, head, sizeof(head));
	snprintf(want, sizeof(want), "long-poll %zu", lints__count(ls, LINT_LONG_POLL));
	assert_non_null(strstr(head, want));
	assert_null(strstr(head, "panicked")); /* none: left out */
	assert_string_equal(top_lines__counts(tt, M, head, sizeof(head)),
			    "Tasks: 1 running, 0 runnable, 1 idle, 1 completed; 1 stuck; 0 block_on roots");
	top_lines__free(l);
	task_table__free(tt);
}

static void test_help_lines(void **state)
{
	struct top_lines *l = top_lines__new();

	assert_int_equal(top_lines__help(l, true), 0);
	assert_line(l, "Left Right  1 s back, on", TOP_LINE_TEXT);
	assert_line(l, "Shift-Left Shift-Right, or < >", TOP_LINE_TEXT);
	assert_true(find_line(l, "space", NULL) < 0);
	assert_int_equal(top_lines__help(l, false), 0);
	assert_line(l, "space       pause the display", TOP_LINE_TEXT);
	assert_true(find_line(l, "Left Right", NULL) < 0);
	assert_line(l, "s  S        sort by the next (previous) column", TOP_LINE_TEXT);
	assert_line(l, "c           show or hide completed tasks", TOP_LINE_TEXT);
	top_lines__free(l);
}

/* Tasks 2 and 3 each hold a Mutex and queue on the other's. */
static void test_locks_and_deadlock(void **state)
{
	struct top_lines *l = top_lines__new();
	struct deadlock_finder *df = deadlock_finder__new(DEADLOCK_CONFIRM_NS);
	char banner[256];

	assert_int_equal(top_lines__locks(l, M, NULL, false), 0);
	assert_line(l, "No lock data: tokio's locks are traced with --locks.", TOP_LINE_DIM);
	assert_int_equal(top_lines__locks(l, M, NULL, true), 0);
	assert_line(l, "No tokio lock seen yet.", TOP_LINE_DIM);
	assert_null(top_lines__deadlock_banner(M, NULL, banner, sizeof(banner)));
	task_model__free(M);

	M = task_model__new();
	hand_spawn(SEC, 2, 0, 0, 0);
	hand_spawn(SEC, 3, 0, 0, 0);
	hand_poll(AIB_EV_POLL_BEGIN, SEC + 10, 11, 2, 0, 1);
	lock_op(SEC + 20, AIB_LOCK_ACQUIRED, 0xa000, 2);
	hand_poll(AIB_EV_POLL_END, SEC + 30, 11, 2, AIB_POLL_PENDING, 1);
	hand_poll(AIB_EV_POLL_BEGIN, SEC + 40, 11, 3, 0, 1);
	lock_op(SEC + 50, AIB_LOCK_ACQUIRED, 0xb000, 3);
	lock_op(SEC + 60, AIB_LOCK_PENDING, 0xa000, 3);
	hand_poll(AIB_EV_POLL_END, SEC + 70, 11, 3, AIB_POLL_PENDING, 1);
	hand_poll(AIB_EV_POLL_BEGIN, SEC + 80, 11, 2, 0, 1);
	lock_op(SEC + 90, AIB_LOCK_PENDING, 0xb000, 2);
	hand_poll(AIB_EV_POLL_END, SEC + 100, 11, 2, AIB_POLL_PENDING, 1);
	task_model__finish(M, 3 * SEC);
	assert_int_equal(deadlock_finder__check_model(df, M, 3 * SEC), 1);

	assert_int_equal(top_lines__locks(l, M, df, true), 0);
	assert_line(l, "2 locks seen", TOP_LINE_DIM);
	assert_line(l, "Mutex@0xa000: Mutex, 1 acquired (0 contended), 1 holding, 1 waiting",
		    TOP_LINE_MARK);
	assert_line(l, "    held by task 2 (idle) for 2.00s", TOP_LINE_TEXT);
	assert_line(l, "    waiting: task 3 (idle) for 2.00s", TOP_LINE_TEXT);
	assert_line(l, "DEADLOCK: ", TOP_LINE_MARK);
	assert_line(l, "Cycle: task 2 -> Mutex A -> task 3 -> Mutex B -> task 2", TOP_LINE_MARK);
	assert_string_equal(top_lines__deadlock_banner(M, df, banner, sizeof(banner)),
			    "DEADLOCK: task 2 -> Mutex A -> task 3 -> Mutex B -> task 2 (l: locks)");
	deadlock_finder__free(df);
	top_lines__free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_line),
		cmocka_unit_test_setup_teardown(test_cells, setup, teardown),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_sort_keys),
		cmocka_unit_test(test_filter_line),
		cmocka_unit_test(test_completed),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_clock_keys),
		cmocka_unit_test(test_scroll),
		cmocka_unit_test_setup_teardown(test_detail_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warning_lines, setup, teardown),
		cmocka_unit_test(test_help_lines),
		cmocka_unit_test_setup_teardown(test_locks_and_deadlock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
