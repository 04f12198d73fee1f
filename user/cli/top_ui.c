// SPDX-License-Identifier: MIT
/*
 * `top`'s state and keys, and its table's columns. No terminal here: the
 * screen (top_screen.c) reads the state, tells the rows it drew, and
 * translates ncurses' key codes into ours.
 *
 * The rows of the last draw are kept as keys (not task pointers: the
 * model they came from is the driver's and gone by the next key), so the
 * cursor can move between draws.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/top_ui.h"
#include "lib/array.h"

#define SEC 1000000000ULL

struct top_ui {
	bool replay;
	enum top_view view, before_help;
	enum task_col sort;
	bool descending;
	bool completed;
	char filter[64];
	bool editing;
	char edit[64];
	struct top_task_key *rows;
	size_t nrows, rows_cap;
	size_t cursor, first, page;
	bool has_sel;
	struct top_task_key sel;
	size_t scroll, nlines, lines_page;
	__u64 step_ns;
};

struct top_ui *top_ui__new(bool replay)
{
	struct top_ui *ui = calloc(1, sizeof(*ui));

	if (!ui)
		return NULL;
	ui->replay = replay;
	/* task_table's default: longest idle first, what a hung program shows */
	ui->sort = TASK_COL_IDLE;
	ui->descending = true;
	ui->page = ui->lines_page = 1;
	ui->step_ns = SEC;
	return ui;
}

void top_ui__free(struct top_ui *ui)
{
	if (!ui)
		return;
	free(ui->rows);
	free(ui);
}

void top_ui__set_replay(struct top_ui *ui, bool replay)
{
	ui->replay = replay;
}

enum top_view top_ui__view(const struct top_ui *ui)
{
	return ui->view;
}

void top_ui__table_opts(const struct top_ui *ui, struct task_table_opts *o)
{
	o->sort = ui->sort;
	o->descending = ui->descending;
	o->filter = ui->filter;
	o->completed = true;
}

bool top_ui__completed(const struct top_ui *ui)
{
	return ui->completed;
}

bool top_ui__shows(const struct top_ui *ui, const struct task_info *t)
{
	struct top_task_key k = top_task_key__of(t);

	return ui->completed || t->state != TASK_COMPLETED ||
	       (ui->has_sel && top_task_key__eq(&k, &ui->sel));
}

const char *top_ui__filter(const struct top_ui *ui)
{
	return ui->filter;
}

const char *top_ui__editing(const struct top_ui *ui)
{
	return ui->editing ? ui->edit : NULL;
}

size_t top_ui__rows(const struct top_ui *ui)
{
	return ui->nrows;
}

size_t top_ui__cursor(const struct top_ui *ui)
{
	return ui->cursor;
}

size_t top_ui__first(const struct top_ui *ui)
{
	return ui->first;
}

bool top_ui__selected(const struct top_ui *ui, struct top_task_key *key)
{
	if (ui->has_sel && key)
		*key = ui->sel;
	return ui->has_sel;
}

size_t top_ui__scroll(const struct top_ui *ui)
{
	return ui->scroll;
}

__u64 top_ui__step_ns(const struct top_ui *ui)
{
	return ui->step_ns;
}

/* The cursor in view: the page follows it, and never runs past the end. */
static void follow_cursor(struct top_ui *ui)
{
	if (ui->cursor < ui->first)
		ui->first = ui->cursor;
	if (ui->cursor >= ui->first + ui->page)
		ui->first = ui->cursor - ui->page + 1;
	if (ui->first + ui->page > ui->nrows)
		ui->first = ui->nrows > ui->page ? ui->nrows - ui->page : 0;
}

int top_ui__set_rows(struct top_ui *ui, const struct top_task_key *rows, size_t n, size_t page,
		     bool sel_absent)
{
	size_t found = n;

	if (array__grow((void **)&ui->rows, &ui->rows_cap, n, sizeof(*rows)))
		return -ENOMEM;
	if (n)
		memcpy(ui->rows, rows, n * sizeof(*rows));
	ui->nrows = n;
	ui->page = page ? page : 1;
	for (size_t i = 0; ui->has_sel && i < n && found == n; i++)
		if (top_task_key__eq(&rows[i], &ui->sel))
			found = i;
	if (found == n && ui->has_sel && sel_absent) {
		/* not in the model at this instant (a replay before its spawn):
		 * still the one the clock keys follow, under no row */
		ui->cursor = TOP_NO_ROW;
		if (ui->first + ui->page > n)
			ui->first = n > ui->page ? n - ui->page : 0;
		return 0;
	}
	if (!n) {
		/* nothing to select: the next rows start at the top */
		ui->cursor = ui->first = 0;
		ui->has_sel = false;
		return 0;
	}
	/* gone (ended and hidden, filtered out): the row now at its place */
	ui->cursor = found < n ? found : ui->cursor < n ? ui->cursor : n - 1;
	ui->sel = rows[ui->cursor];
	ui->has_sel = true;
	follow_cursor(ui);
	return 0;
}

void top_ui__set_lines(struct top_ui *ui, size_t n, size_t page)
{
	ui->nlines = n;
	ui->lines_page = page ? page : 1;
	if (ui->scroll + ui->lines_page > n)
		ui->scroll = n > ui->lines_page ? n - ui->lines_page : 0;
}

static enum top_action move_cursor(struct top_ui *ui, long delta)
{
	long to;

	if (!ui->nrows)
		return TOP_NONE;
	if (ui->cursor == TOP_NO_ROW) /* from the top of the page */
		ui->cursor = ui->first, delta = delta > 0 ? delta - 1 : delta;
	to = (long)ui->cursor + delta;
	to = to < 0 ? 0 : to >= (long)ui->nrows ? (long)ui->nrows - 1 : to;
	ui->cursor = (size_t)to;
	ui->sel = ui->rows[ui->cursor];
	ui->has_sel = true;
	follow_cursor(ui);
	return TOP_REDRAW;
}

static enum top_action scroll_lines(struct top_ui *ui, long delta)
{
	long max = ui->nlines > ui->lines_page ? (long)(ui->nlines - ui->lines_page) : 0;
	long to = (long)ui->scroll + delta;

	ui->scroll = (size_t)(to < 0 ? 0 : to > max ? max : to);
	return TOP_REDRAW;
}

static enum top_action show(struct top_ui *ui, enum top_view v)
{
	if (v == TOP_VIEW_HELP && ui->view != TOP_VIEW_HELP)
		ui->before_help = ui->view;
	if (v != ui->view)
		ui->scroll = 0;
	ui->view = v;
	return TOP_REDRAW;
}

/* Numbers sort largest first, text in alphabetical order. */
static bool numeric(enum task_col c)
{
	switch (c) {
	case TASK_COL_WARN:
	case TASK_COL_TOTAL:
	case TASK_COL_BUSY:
	case TASK_COL_SCHED_P99:
	case TASK_COL_IDLE:
	case TASK_COL_POLLS:
		return true;
	default:
		return false;
	}
}

static enum top_action sort_by(struct top_ui *ui, int step)
{
	ui->sort = (enum task_col)(((int)ui->sort + step + TASK_COL_MAX) % TASK_COL_MAX);
	ui->descending = numeric(ui->sort);
	return TOP_REDRAW;
}

static enum top_action edit_key(struct top_ui *ui, int key)
{
	size_t n = strlen(ui->edit);

	switch (key) {
	case TOP_KEY_ENTER:
		memcpy(ui->filter, ui->edit, sizeof(ui->filter));
		ui->editing = false;
		break;
	case TOP_KEY_ESC:
		ui->editing = false;
		break;
	case TOP_KEY_BACKSPACE:
		/* a whole UTF-8 sequence */
		while (n && ((unsigned char)ui->edit[n - 1] & 0xc0) == 0x80)
			ui->edit[--n] = 0;
		if (n)
			ui->edit[--n] = 0;
		break;
	case 'U' & 0x1f: /* ^U: the whole line, as a shell does */
		ui->edit[0] = 0;
		break;
	default:
		if (key >= 0x20 && key < 0x100 && key != 0x7f && n + 1 < sizeof(ui->edit)) {
			ui->edit[n] = (char)key;
			ui->edit[n + 1] = 0;
		}
		break;
	}
	return TOP_REDRAW;
}

static enum top_action tasks_key(struct top_ui *ui, int key)
{
	long page = (long)ui->page;

	switch (key) {
	case TOP_KEY_UP:
	case 'k':
		return move_cursor(ui, -1);
	case TOP_KEY_DOWN:
	case 'j':
		return move_cursor(ui, 1);
	case TOP_KEY_PGUP:
		return move_cursor(ui, -page);
	case TOP_KEY_PGDN:
		return move_cursor(ui, page);
	case TOP_KEY_HOME: /* replay: the clock's (taken before) */
	case 'g':
		return move_cursor(ui, -(long)ui->nrows);
	case TOP_KEY_END:
	case 'G':
		return move_cursor(ui, (long)ui->nrows);
	case TOP_KEY_ENTER:
		return ui->has_sel ? show(ui, TOP_VIEW_DETAIL) : TOP_NONE;
	case 's':
		return sort_by(ui, 1);
	case 'S':
		return sort_by(ui, -1);
	case 'i':
		ui->descending = !ui->descending;
		return TOP_REDRAW;
	case 'c':
		ui->completed = !ui->completed;
		return TOP_REDRAW;
	case '/':
		ui->editing = true;
		memcpy(ui->edit, ui->filter, sizeof(ui->edit));
		return TOP_REDRAW;
	case TOP_KEY_ESC:
		if (!ui->filter[0])
			return TOP_NONE;
		ui->filter[0] = 0;
		return TOP_REDRAW;
	default:
		return TOP_NONE;
	}
}

static enum top_action text_key(struct top_ui *ui, int key)
{
	long page = (long)ui->lines_page;

	switch (key) {
	case TOP_KEY_UP:
	case 'k':
		return scroll_lines(ui, -1);
	case TOP_KEY_DOWN:
	case 'j':
		return scroll_lines(ui, 1);
	case TOP_KEY_PGUP:
		return scroll_lines(ui, -page);
	case TOP_KEY_PGDN:
		return scroll_lines(ui, page);
	case TOP_KEY_HOME:
	case 'g':
		return scroll_lines(ui, -(long)ui->nlines);
	case TOP_KEY_END:
	case 'G':
		return scroll_lines(ui, (long)ui->nlines);
	case TOP_KEY_ESC:
	case TOP_KEY_BACKSPACE:
		return show(ui, ui->view == TOP_VIEW_HELP ? ui->before_help : TOP_VIEW_TASKS);
	case TOP_KEY_ENTER:
		return ui->view == TOP_VIEW_DETAIL ? show(ui, TOP_VIEW_TASKS) : TOP_NONE;
	default:
		return TOP_NONE;
	}
}

static enum top_action clock_step(struct top_ui *ui, __u64 ns, enum top_action a)
{
	ui->step_ns = ns;
	return a;
}

/* The replay's clock keys, in every view; TOP_NONE when key is none. */
static enum top_action clock_key(struct top_ui *ui, int key)
{
	switch (key) {
	case TOP_KEY_LEFT:
		return clock_step(ui, SEC, TOP_BACK);
	case TOP_KEY_RIGHT:
		return clock_step(ui, SEC, TOP_FORWARD);
	case '[':
		return clock_step(ui, 10 * SEC, TOP_BACK);
	case ']':
		return clock_step(ui, 10 * SEC, TOP_FORWARD);
	case TOP_KEY_HOME:
		return clock_step(ui, UINT64_MAX, TOP_BACK);
	case TOP_KEY_END:
		return clock_step(ui, UINT64_MAX, TOP_FORWARD);
	case TOP_KEY_SLEFT:
	case '<':
		return ui->has_sel ? TOP_TASK_PREV : TOP_NONE;
	case TOP_KEY_SRIGHT:
	case '>':
		return ui->has_sel ? TOP_TASK_NEXT : TOP_NONE;
	default:
		return TOP_NONE;
	}
}

enum top_action top_ui__key(struct top_ui *ui, int key)
{
	enum top_action a;

	if (key == TOP_KEY_RESIZE)
		return TOP_REDRAW;
	if (ui->editing)
		return edit_key(ui, key);
	switch (key) {
	case 'q':
	case 'Q':
		return TOP_QUIT;
	case ' ':
		return TOP_PAUSE;
	case 't':
		return show(ui, TOP_VIEW_TASKS);
	case 'l':
		return show(ui, TOP_VIEW_LOCKS);
	case 'w':
		return show(ui, TOP_VIEW_WARNINGS);
	case '?':
	case 'h':
		return show(ui, ui->view == TOP_VIEW_HELP ? ui->before_help : TOP_VIEW_HELP);
	}
	if (ui->replay && (a = clock_key(ui, key)) != TOP_NONE)
		return a;
	return ui->view == TOP_VIEW_TASKS ? tasks_key(ui, key) : text_key(ui, key);
}

/* ---- columns ---- */

bool top_layout__path(enum task_col c)
{
	return c == TASK_COL_AWAIT || c == TASK_COL_LOCATION;
}

bool top_layout__right(enum task_col c)
{
	return c == TASK_COL_TOTAL || c == TASK_COL_BUSY || c == TASK_COL_SCHED_P99 ||
	       c == TASK_COL_IDLE || c == TASK_COL_POLLS;
}

/* The flexible columns' bounds; the others keep their natural width. */
static unsigned col_cap(enum task_col c)
{
	switch (c) {
	case TASK_COL_WARN:
		return 24;
	case TASK_COL_STATE:
		return 18;
	case TASK_COL_NAME:
		return 28;
	case TASK_COL_AWAIT:
	case TASK_COL_LOCATION:
		return 48;
	default:
		return 0;
	}
}

static unsigned col_min(enum task_col c)
{
	switch (c) {
	case TASK_COL_WARN:
		return 4;
	case TASK_COL_STATE:
		return 9; /* "completed", "runnable!" */
	case TASK_COL_NAME:
		return 8;
	case TASK_COL_AWAIT:
	case TASK_COL_LOCATION:
		return 10;
	default:
		return 0;
	}
}

/* A width that still reads well: a whole name or await line, mostly. */
static unsigned col_comfort(enum task_col c)
{
	switch (c) {
	case TASK_COL_WARN:
		return 10;
	case TASK_COL_NAME:
		return 16;
	case TASK_COL_AWAIT:
		return 20;
	case TASK_COL_LOCATION:
		return 18;
	default:
		return 0; /* its natural width */
	}
}

static unsigned layout_total(const unsigned w[TASK_COL_MAX], const bool shown[TASK_COL_MAX])
{
	unsigned total = TOP_GUTTER, n = 0;

	for (int c = 0; c < TASK_COL_MAX; c++)
		if (shown[c]) {
			total += w[c];
			n++;
		}
	return total + (n ? n - 1 : 0); /* a space between columns */
}

/* What is left over, in turns: (column, up to) with 0 for its natural width. */
static void grow(unsigned w[TASK_COL_MAX], const unsigned nat[TASK_COL_MAX],
		 const bool shown[TASK_COL_MAX], unsigned screen_w)
{
	static const struct {
		enum task_col c;
		unsigned upto;
	} turns[] = {
		{TASK_COL_AWAIT, 20}, {TASK_COL_STATE, 0},     {TASK_COL_NAME, 16},
		{TASK_COL_WARN, 0},   {TASK_COL_LOCATION, 18}, {TASK_COL_AWAIT, 0},
		{TASK_COL_NAME, 0},   {TASK_COL_LOCATION, 0},
	};
	unsigned total = layout_total(w, shown);

	for (size_t i = 0; i < sizeof(turns) / sizeof(turns[0]) && total < screen_w; i++) {
		enum task_col c = turns[i].c;
		unsigned to = turns[i].upto && turns[i].upto < nat[c] ? turns[i].upto : nat[c];
		unsigned add = to > w[c] ? to - w[c] : 0;

		if (!shown[c])
			continue;
		if (add > screen_w - total)
			add = screen_w - total;
		w[c] += add;
		total += add;
	}
}

void top_layout__columns(unsigned screen_w, const unsigned natural[TASK_COL_MAX],
			 struct top_columns *out)
{
	static const enum task_col hide[] = {TASK_COL_LOCATION, TASK_COL_WARN, TASK_COL_SCHED_P99,
					     TASK_COL_TOTAL};
	unsigned nat[TASK_COL_MAX], mn[TASK_COL_MAX], ok[TASK_COL_MAX], *w = out->width;
	unsigned x = TOP_GUTTER;
	bool shown[TASK_COL_MAX];

	for (int c = 0; c < TASK_COL_MAX; c++) {
		unsigned cap = col_cap(c);

		nat[c] = natural[c] ? natural[c] : 1;
		if (cap && nat[c] > cap)
			nat[c] = cap;
		mn[c] = col_min(c) && col_min(c) < nat[c] ? col_min(c) : nat[c];
		ok[c] = col_comfort(c) && col_comfort(c) < nat[c] ? col_comfort(c) : nat[c];
		shown[c] = true;
		w[c] = nat[c];
	}
	if (layout_total(w, shown) <= screen_w)
		goto place;
	/* each at a width that reads well, without Location if need be: a
	 * spawn location cut to ten characters says little */
	memcpy(w, ok, sizeof(ok));
	if (layout_total(w, shown) > screen_w)
		shown[TASK_COL_LOCATION] = false;
	if (layout_total(w, shown) > screen_w) {
		/* narrow: from each one's minimum, hide what still does not fit */
		shown[TASK_COL_LOCATION] = true;
		memcpy(w, mn, sizeof(mn));
		for (size_t i = 0; i < sizeof(hide) / sizeof(hide[0]); i++) {
			enum task_col c = hide[i];

			if (layout_total(w, shown) <= screen_w)
				break;
			/* Warn only when no row has a warning */
			if (c == TASK_COL_WARN && nat[c] > strlen(task_col__name(c)))
				continue;
			shown[c] = false;
		}
	}
	grow(w, nat, shown, screen_w);
place:
	for (int c = 0; c < TASK_COL_MAX; c++) {
		if (!shown[c])
			w[c] = 0;
		out->x[c] = x;
		x += w[c] ? w[c] + 1 : 0;
	}
}

/* UTF-8: a character starts at every byte that is no continuation byte. */
static bool char_start(unsigned char b)
{
	return (b & 0xc0) != 0x80;
}

unsigned top_layout__width(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += char_start((unsigned char)*s);
	return n;
}

/* The byte offset of character `nth` of s (or its end). */
static size_t char_offset(const char *s, unsigned nth)
{
	size_t i = 0;

	for (unsigned k = 0; s[i]; i++)
		if (char_start((unsigned char)s[i]) && k++ == nth)
			return i;
	return i;
}

const char *top_layout__fit(const char *s, unsigned width, bool from_left, char *buf, size_t len)
{
	unsigned n = top_layout__width(s);
	const char *dots = width > 2 ? ".." : "";
	unsigned keep = width > 2 ? width - 2 : width;
	size_t at;

	if (!len)
		return buf;
	if (n <= width) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	if (from_left) {
		at = char_offset(s, n - keep);
		snprintf(buf, len, "%s%s", dots, s + at);
	} else {
		at = char_offset(s, keep);
		snprintf(buf, len, "%.*s%s", (int)at, s, dots);
	}
	return buf;
}

/* Appends s (already fitted) to buf at character column *col. */
static void append(char *buf, size_t len, size_t *at, unsigned *col, const char *s)
{
	int n = snprintf(buf + *at, len - *at, "%s", s);

	if (n < 0)
		return;
	*at += (size_t)n < len - *at ? (size_t)n : len - *at - 1;
	*col += top_layout__width(s);
}

static void pad_to(char *buf, size_t len, size_t *at, unsigned *col, unsigned to)
{
	while (*col < to && *at + 1 < len) {
		buf[(*at)++] = ' ';
		buf[*at] = 0;
		(*col)++;
	}
}

const char *top_layout__line(const struct top_columns *cols, const char *const cells[TASK_COL_MAX],
			     char gutter, char *buf, size_t len)
{
	char fit[1024];
	size_t at = 0;
	unsigned col = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	if (gutter)
		append(buf, len, &at, &col, (char[]){gutter, 0});
	for (int c = 0; c < TASK_COL_MAX; c++) {
		unsigned w = cols->width[c], n;

		if (!w)
			continue;
		top_layout__fit(cells[c] ? cells[c] : "", w, top_layout__path(c), fit, sizeof(fit));
		n = top_layout__width(fit);
		pad_to(buf, len, &at, &col, cols->x[c] + (top_layout__right(c) ? w - n : 0));
		append(buf, len, &at, &col, fit);
	}
	return buf;
}

const char *top_layout__cell(const struct task_row *r, enum task_col c, unsigned width, char *buf,
			     size_t len)
{
	const char *s = task_table__cell(r, c, buf, len);
	unsigned n = top_layout__width(s);

	if (n <= width)
		return s;
	/* too narrow for "idle (stuck)": the mark alone */
	if (c == TASK_COL_STATE && r->stuck) {
		snprintf(buf, len, "%s!", r->state);
		return buf;
	}
	/* too narrow for the lints' names: how many */
	if (c == TASK_COL_WARN && width < 8) {
		snprintf(buf, len, "!%d", __builtin_popcount(r->lints));
		return buf;
	}
	return s;
}
