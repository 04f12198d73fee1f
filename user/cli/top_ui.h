/* SPDX-License-Identifier: MIT */
/*
 * `top`'s screen without the terminal: what top_screen.c draws is decided
 * here, so it is unit-tested without ncurses.
 *
 *   top_ui      the state the keys change: view, sort, filter (and its
 *               line being edited), completed tasks shown, the selected
 *               task (kept by header, id and spawn time), scrolling
 *   top_layout  the task table's columns at a width: Await and Location
 *               give way first, paths elided from the left
 *   top_lines   the text views (task detail, locks, warnings, help) as
 *               lines, from a finished model
 *
 * Keys come in as a character or a TOP_KEY_* (the screen translates
 * ncurses' codes); the action the driver takes comes back (top_screen.h).
 */
#ifndef TOP_UI_H
#define TOP_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "cli/top_screen.h"
#include "report/task_table.h"

struct deadlock_finder;

enum top_view {
	TOP_VIEW_TASKS,
	TOP_VIEW_DETAIL,
	TOP_VIEW_LOCKS,
	TOP_VIEW_WARNINGS,
	TOP_VIEW_HELP,
};

/* Keys that are no character (above any byte). */
enum {
	TOP_KEY_UP = 0x1000,
	TOP_KEY_DOWN,
	TOP_KEY_LEFT,
	TOP_KEY_RIGHT,
	TOP_KEY_SLEFT,	/* shift-left */
	TOP_KEY_SRIGHT,
	TOP_KEY_PGUP,
	TOP_KEY_PGDN,
	TOP_KEY_HOME,
	TOP_KEY_END,
	TOP_KEY_ENTER,
	TOP_KEY_ESC,
	TOP_KEY_BACKSPACE,
	TOP_KEY_RESIZE,
};

/* How the selection names a task from one model to the next. A tokio task
 * spawned and not polled yet has no header (0): the id and spawn time then
 * tell. */
struct top_task_key {
	__u64 header, id, spawn_ts;
};

static inline struct top_task_key top_task_key__of(const struct task_info *t)
{
	return (struct top_task_key){t->header, t->id, t->spawn_ts};
}

static inline bool top_task_key__eq(const struct top_task_key *a, const struct top_task_key *b)
{
	return (a->header == b->header || !a->header || !b->header) && a->id == b->id &&
	       a->spawn_ts == b->spawn_ts;
}

/* ---- the state ---- */

struct top_ui;

/* replay: the clock keys work. NULL + errno ENOMEM. */
struct top_ui *top_ui__new(bool replay);
void top_ui__free(struct top_ui *ui);
/* The frame says whether the clock keys work (top_frame.replay). */
void top_ui__set_replay(struct top_ui *ui, bool replay);

/* One key: the view's state changes, and what the driver does. */
enum top_action top_ui__key(struct top_ui *ui, int key);

enum top_view top_ui__view(const struct top_ui *ui);
/* The sort and the filter for task_table__view (completed tasks always
 * in: top_ui__shows() tells which rows to show). */
void top_ui__table_opts(const struct top_ui *ui, struct task_table_opts *o);
bool top_ui__completed(const struct top_ui *ui); /* completed tasks shown (c) */
/* Is the row shown: a completed task only when asked, or when it is the
 * selected one (so a task followed through its end stays in view). */
bool top_ui__shows(const struct top_ui *ui, const struct task_info *t);
/* The filter applied ("" for none); the line being edited, or NULL. */
const char *top_ui__filter(const struct top_ui *ui);
const char *top_ui__editing(const struct top_ui *ui);

/* The rows the last draw showed, in order, and how many fit on the
 * screen: the selection is found again among them and scrolled into view.
 * Not among them, the row at its place is selected; unless the task is in
 * no row of the model (sel_absent: a replay's clock before its spawn), when
 * it stays selected under no row (cursor TOP_NO_ROW). 0 or -ENOMEM. */
int top_ui__set_rows(struct top_ui *ui, const struct top_task_key *rows, size_t n, size_t page,
		     bool sel_absent);
#define TOP_NO_ROW ((size_t)-1)
size_t top_ui__rows(const struct top_ui *ui);
size_t top_ui__cursor(const struct top_ui *ui);	 /* the selected row, or TOP_NO_ROW */
size_t top_ui__first(const struct top_ui *ui);	 /* the first row on screen */
bool top_ui__selected(const struct top_ui *ui, struct top_task_key *key);

/* A text view's length and the lines on screen: its scroll is clamped. */
void top_ui__set_lines(struct top_ui *ui, size_t n, size_t page);
size_t top_ui__scroll(const struct top_ui *ui);

/* After TOP_BACK or TOP_FORWARD: how far the clock moves (1 s for the
 * arrows, 10 s for [ and ]; UINT64_MAX for Home and End: to the
 * recording's start or end). */
__u64 top_ui__step_ns(const struct top_ui *ui);

/* ---- the task table's columns ---- */

#define TOP_GUTTER 2 /* the selection mark '>', then a space */

struct top_columns {
	unsigned width[TASK_COL_MAX]; /* 0: hidden */
	unsigned x[TASK_COL_MAX];     /* from the screen's left edge */
};

/* Widths at `screen_w` columns from each column's widest cell (its header
 * counted): every column at its natural width when they fit. Else the
 * flexible ones (Warn, State, Name, Await, Location) at a width that reads
 * well (Name 16, Await 20, Location 18, Warn 10, State whole), without
 * Location if that is what it takes; else from their minimum, hiding
 * Location, then a Warn column with no warning, Sched p99, Total, until
 * they fit. What is left goes in turns: Await up to 20, State, Name up to
 * 16, Warn, Location up to 18, then Await, Name and Location in full.
 * Numbers are never cut. */
void top_layout__columns(unsigned screen_w, const unsigned natural[TASK_COL_MAX],
			 struct top_columns *out);
/* Is the column's text a path (elided from the left), or a number (right-aligned)? */
bool top_layout__path(enum task_col c);
bool top_layout__right(enum task_col c);

/* s cut to `width` columns (characters: a UTF-8 sequence counts one) into
 * buf: the end replaced by "..", or with `from_left` the start
 * ("..rc/main.rs:12"). buf holds at least 4 * width + 1 bytes. */
const char *top_layout__fit(const char *s, unsigned width, bool from_left, char *buf, size_t len);
/* Its width in columns. */
unsigned top_layout__width(const char *s);
/* Row r's cell of column c for a column `width` wide: task_table__cell's
 * text, or when that does not fit, a stuck state as "idle!" and the lints
 * as their count ("!2"). In buf or a string of the row's. */
const char *top_layout__cell(const struct task_row *r, enum task_col c, unsigned width, char *buf,
			     size_t len);
/* One line of the table: the gutter character (or 0: a space), then each
 * shown column's cell at its place, fitted (paths from the left), numbers
 * right-aligned. Into buf. */
const char *top_layout__line(const struct top_columns *cols, const char *const cells[TASK_COL_MAX],
			     char gutter, char *buf, size_t len);

/* ---- text views ---- */

enum top_line_kind {
	TOP_LINE_TEXT,
	TOP_LINE_TITLE,	   /* a section's title */
	TOP_LINE_MARK,	   /* what stands out: the blocked frame, a deadlock, a lint */
	TOP_LINE_DIM,	   /* notes */
};

struct top_lines;

struct top_lines *top_lines__new(void);
void top_lines__free(struct top_lines *l);
void top_lines__clear(struct top_lines *l);
/* 0 or -ENOMEM (the lines so far stay). */
int top_lines__add(struct top_lines *l, enum top_line_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t top_lines__count(const struct top_lines *l);
const char *top_lines__get(const struct top_lines *l, size_t i, enum top_line_kind *kind);

/* Row `row` of tt (of the finished model m): its state (stuck past
 * stuck_ns), spawn and parent, times, lints, locks held or queued on, its
 * await stack (the blocked frame marked) and what it waits for, wakes by
 * kind, threads, and the poll and scheduling histograms with bars
 * `bar_width` wide. 0, -ENOENT (no such row) or -ENOMEM. */
int top_lines__detail(struct top_lines *l, const struct task_table *tt, size_t row,
		      const struct task_model *m, __u64 stuck_ns, unsigned bar_width);
/* Every lock of m: kind, counts, wait and hold p99, holders and waiters
 * (with their awaits); then the deadlocks confirmed (df may be NULL). */
int top_lines__locks(struct top_lines *l, const struct task_model *m,
		     const struct deadlock_finder *df, bool captured);
/* Each lint: its name, count and meaning, then the tasks it flags. */
int top_lines__warnings(struct top_lines *l, const struct task_table *tt,
			const struct task_model *m);
int top_lines__help(struct top_lines *l, bool replay);

/* The header: "Tasks: 3 running, 0 runnable, 11 idle, 0 completed; 11
 * stuck; 1 block_on root", and "Warnings: lost-waker 2 long-poll 1" (the
 * lints that flag a task) or "Warnings: none". Into buf. */
const char *top_lines__counts(const struct task_table *tt, const struct task_model *m, char *buf,
			      size_t len);
const char *top_lines__lint_counts(const struct task_table *tt, char *buf, size_t len);
/* The deadlock banner: "DEADLOCK: task 12 -> Mutex A -> task 13 -> ...",
 * for the first deadlock still there; NULL when there is none. */
const char *top_lines__deadlock_banner(const struct task_model *m, const struct deadlock_finder *df,
				       char *buf, size_t len);

#endif
