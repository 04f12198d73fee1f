// SPDX-License-Identifier: MIT
/*
 * `top`'s screen on ncursesw: the only file that calls ncurses. What goes
 * where is decided in top_ui.c (state, keys, columns) and top_lines.c (the
 * text views); this draws it and reads the keys.
 *
 *   line 0       title, the clock ("t=+1.000s of 2.010s", or "live +12s"), PAUSED / ENDED
 *   line 1       task counts, stuck tasks
 *   line 2       the lints' counts
 *   (line 3)     the deadlock banner, once one is confirmed
 *   ...          the view: its title line, then its rows or lines
 *   last line    the keys, or the filter being typed
 *
 * A terminal is one global screen: ncurses keeps it, this object owns it.
 */
#include <errno.h>
#include <locale.h>
#include <ncurses.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analysis/deadlock.h"
#include "cli/top_screen.h"
#include "cli/top_ui.h"
#include "lib/array.h"
#include "report/report.h"
#include "report/task_table.h"

/* Natural widths are measured on this many rows (and the ones on screen):
 * a million tasks would cost a second of formatting per redraw. */
#define MEASURE_ROWS 2000
#define MIN_COLS 40
#define MIN_LINES 8

enum { PAIR_STUCK = 1, PAIR_BANNER, PAIR_TITLE, PAIR_MARK, PAIR_DIM };

struct top_screen {
	struct top_screen_opts o;
	SCREEN *scr;
	bool colors;
	struct top_ui *ui;
	struct top_lines *lines;
	struct top_task_key *keys;
	const struct task_row **rows; /* this draw's, in order (valid during the draw) */
	size_t keys_cap, rows_cap;
};

struct top_screen *top_screen__new(const struct top_screen_opts *o)
{
	struct top_screen *s;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		errno = ENOTTY;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->ui = top_ui__new(false)) || !(s->lines = top_lines__new())) {
		if (s)
			top_ui__free(s->ui);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->o = *o;
	/* names and paths may be UTF-8: ncursesw draws them in the user's
	 * character set only (LC_CTYPE alone: numbers keep their '.') */
	setlocale(LC_CTYPE, "");
	/* newterm, not initscr: initscr exits the process when TERM is unknown */
	s->scr = newterm(NULL, stdout, stdin);
	if (!s->scr) {
		top_lines__free(s->lines);
		top_ui__free(s->ui);
		free(s);
		errno = ENOTTY;
		return NULL;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	intrflush(stdscr, FALSE);
	curs_set(0);
	set_escdelay(25); /* Esc is a key here: do not wait a second for a sequence */
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_STUCK, COLOR_RED, -1);
		init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_TITLE, COLOR_CYAN, -1);
		init_pair(PAIR_MARK, COLOR_YELLOW, -1);
		init_pair(PAIR_DIM, COLOR_BLUE, -1);
		s->colors = true;
	}
	return s;
}

void top_screen__free(struct top_screen *s)
{
	if (!s)
		return;
	endwin();
	delscreen(s->scr);
	top_lines__free(s->lines);
	top_ui__free(s->ui);
	free(s->keys);
	free(s->rows);
	free(s);
}

bool top_screen__selected(const struct top_screen *s, __u64 *header, __u64 *id, __u64 *spawn_ts)
{
	struct top_task_key k;

	if (!top_ui__selected(s->ui, &k))
		return false;
	*header = k.header;
	*id = k.id;
	*spawn_ts = k.spawn_ts;
	return true;
}

__u64 top_screen__step_ns(const struct top_screen *s)
{
	return top_ui__step_ns(s->ui);
}

static attr_t pair(const struct top_screen *s, int p)
{
	return s->colors ? COLOR_PAIR(p) : 0;
}

/* text at (y, x), cut at the screen's edge, the rest of the line cleared
 * when `fill` (under attr: a whole bar). */
static void put(int y, int x, const char *text, attr_t attr, bool fill)
{
	char buf[4096];
	int w = COLS - x;

	if (y < 0 || y >= LINES || w <= 0)
		return;
	top_layout__fit(text, (unsigned)w, false, buf, sizeof(buf));
	attrset(attr);
	mvaddstr(y, x, buf);
	if (fill)
		for (int i = x + (int)top_layout__width(buf); i < COLS; i++)
			mvaddch(y, i, ' ');
	attrset(A_NORMAL);
}

static void draw_header(struct top_screen *s, const struct top_frame *f,
			const struct task_table *tt, int *y)
{
	char left[512], right[128], a[16], buf[512];
	const char *banner;

	snprintf(left, sizeof(left), " async-inspect-bpf top: %s", f->title ? f->title : "");
	if (f->replay)
		snprintf(right, sizeof(right), "t=+%.6fs of %.3fs ",
			 (f->now > f->first ? f->now - f->first : 0) / 1e9,
			 (f->last > f->first ? f->last - f->first : 0) / 1e9);
	else
		snprintf(right, sizeof(right), "live +%s%s%s ",
			 report__duration(f->now > f->first ? f->now - f->first : 0, a, sizeof(a)),
			 f->paused ? "  PAUSED (space)" : "", f->ended ? "  ENDED: the target exited" : "");
	put(0, 0, left, A_REVERSE | A_BOLD, true);
	if ((int)top_layout__width(right) < COLS) { /* the clock wins over the title's end */
		int x = COLS - (int)top_layout__width(right);

		put(0, x - 1, " ", A_REVERSE | A_BOLD, false);
		put(0, x, right, A_REVERSE | A_BOLD, false);
	}
	put(1, 1, top_lines__counts(tt, f->model, buf, sizeof(buf)), A_NORMAL, true);
	top_lines__lint_counts(tt, buf, sizeof(buf));
	put(2, 1, buf, strcmp(buf, "Warnings: none") ? pair(s, PAIR_MARK) : A_NORMAL, true);
	*y = 3;
	banner = top_lines__deadlock_banner(f->model, f->deadlocks, buf, sizeof(buf));
	if (banner)
		put((*y)++, 0, banner, pair(s, PAIR_BANNER) | A_BOLD | (s->colors ? 0 : A_REVERSE), true);
}

static void draw_footer(struct top_screen *s, const struct top_frame *f)
{
	const char *edit = top_ui__editing(s->ui);
	char buf[512];

	if (edit) {
		snprintf(buf, sizeof(buf), "Filter: %s_   (Enter: apply, Esc: cancel)", edit);
		put(LINES - 1, 0, buf, A_BOLD, true);
		return;
	}
	if (f->note) {
		snprintf(buf, sizeof(buf), " %s", f->note);
		put(LINES - 1, 0, buf, A_REVERSE | A_BOLD, true);
		return;
	}
	/* the most needed first: a narrow terminal cuts the end */
	if (top_ui__view(s->ui) == TOP_VIEW_TASKS)
		snprintf(buf, sizeof(buf), " ? help  q quit  Enter detail%s  s/i sort  / filter  c completed  l locks  w warnings",
			 f->replay ? "  <-/-> clock  </> task's events" : "  space pause");
	else
		snprintf(buf, sizeof(buf), " ? help  q quit  Esc back  j/k scroll%s  t tasks  l locks  w warnings",
			 f->replay ? "  <-/-> clock  </> task's events" : "");
	put(LINES - 1, 0, buf, A_REVERSE, true);
}

/* Is the task in the model (filtered out or not)? */
static bool in_model(const struct task_model *m, const struct top_task_key *k)
{
	for (size_t i = 0, n = task_model__task_count(m); i < n; i++) {
		struct top_task_key t = top_task_key__of(task_model__task(m, i));

		if (top_task_key__eq(&t, k))
			return true;
	}
	return false;
}

/* The rows shown, in order, and their keys (for the selection); whether
 * the selected task is not in the model at all. */
static int collect_rows(struct top_screen *s, const struct task_table *tt,
			const struct task_model *m, size_t *n, bool *sel_absent)
{
	size_t total = task_table__rows(tt);
	struct top_task_key sel;
	bool has_sel = top_ui__selected(s->ui, &sel);

	*n = 0;
	*sel_absent = has_sel && !in_model(m, &sel);
	if (array__grow((void **)&s->rows, &s->rows_cap, total ? total : 1, sizeof(*s->rows)) ||
	    array__grow((void **)&s->keys, &s->keys_cap, total ? total : 1, sizeof(*s->keys)))
		return -ENOMEM;
	for (size_t i = 0; i < total; i++) {
		const struct task_row *r = task_table__row(tt, i);

		if (!top_ui__shows(s->ui, r->t))
			continue;
		s->rows[*n] = r;
		s->keys[(*n)++] = top_task_key__of(r->t);
	}
	return 0;
}

/* Every row the table has before filtering: all tasks but the carriers. */
static size_t all_rows(const struct task_model *m)
{
	size_t n = 0;

	for (size_t i = 0, count = task_model__task_count(m); i < count; i++)
		n += task_model__task(m, i)->kind != TASK_RUNTIME;
	return n;
}

static void measure(const struct task_row *r, unsigned natural[TASK_COL_MAX])
{
	char buf[256];

	for (int c = 0; c < TASK_COL_MAX; c++) {
		unsigned w = top_layout__width(task_table__cell(r, c, buf, sizeof(buf)));

		if (w > natural[c])
			natural[c] = w;
	}
}

static int draw_tasks(struct top_screen *s, const struct top_frame *f, const struct task_table *tt,
		      int y)
{
	unsigned natural[TASK_COL_MAX];
	const char *cells[TASK_COL_MAX];
	char bufs[TASK_COL_MAX][256], line[4096], title[256];
	struct task_table_opts o;
	struct top_columns cols;
	size_t n, first, cursor;
	int page = LINES - 1 - (y + 2), ret;
	bool absent;

	if ((ret = collect_rows(s, tt, f->model, &n, &absent)))
		return ret;
	if (page < 1)
		page = 1;
	ret = top_ui__set_rows(s->ui, s->keys, n, (size_t)page, absent);
	if (ret)
		return ret;
	first = top_ui__first(s->ui);
	cursor = top_ui__cursor(s->ui);
	top_ui__table_opts(s->ui, &o);
	snprintf(title, sizeof(title), "Task list: %zu shown of %zu; sorted by %s, %s%s%s%s; completed %s",
		 n, all_rows(f->model), task_col__name(o.sort),
		 o.descending ? "descending" : "ascending", o.filter[0] ? "; filter \"" : "",
		 o.filter, o.filter[0] ? "\"" : "", top_ui__completed(s->ui) ? "shown" : "hidden (c)");
	put(y++, 1, title, pair(s, PAIR_TITLE), true);
	/* as wide as the widest cell, the header's counted */
	for (int c = 0; c < TASK_COL_MAX; c++) {
		cells[c] = task_col__name(c);
		natural[c] = top_layout__width(cells[c]);
	}
	for (size_t i = 0; i < n && i < MEASURE_ROWS; i++)
		measure(s->rows[i], natural);
	for (size_t i = first; i < n && i < first + (size_t)page; i++)
		measure(s->rows[i], natural);
	top_layout__columns((unsigned)COLS, natural, &cols);
	put(y, 0, top_layout__line(&cols, cells, 0, line, sizeof(line)), A_BOLD | A_UNDERLINE, true);
	if (cols.width[o.sort]) /* the sorted column stands out */
		mvchgat(y, (int)cols.x[o.sort], (int)cols.width[o.sort], A_BOLD | A_REVERSE, 0, NULL);
	y++;
	if (!n)
		put(y, 2, task_table__rows(tt) ? "No task to show (completed ones hidden: c; filter: /, Esc clears)"
					       : "No task at this instant.", A_NORMAL, true);
	if (cursor == TOP_NO_ROW) {
		struct top_task_key k = {0};
		struct task_info t;
		char id[32];

		top_ui__selected(s->ui, &k);
		t = (struct task_info){.id = k.id, .kind = k.id >= AIB_ROOT_ID_BASE ? TASK_BLOCK_ON : TASK_ASYNC};
		snprintf(line, sizeof(line), "Selected: task %s, not in the model at this instant (< >: its events)",
			 report__task_id(&t, id, sizeof(id)));
		put(y + (int)(n < (size_t)page ? n : (size_t)page) + !n, 2, line, A_BOLD, true);
	}
	for (size_t i = first; i < n && i < first + (size_t)page; i++, y++) {
		const struct task_row *r = s->rows[i];
		attr_t attr = A_NORMAL;

		for (int c = 0; c < TASK_COL_MAX; c++)
			cells[c] = cols.width[c] ? top_layout__cell(r, c, cols.width[c], bufs[c], sizeof(bufs[c]))
						 : "";
		if (r->stuck || r->t->panicked)
			attr |= pair(s, PAIR_STUCK) | A_BOLD;
		else if (r->t->state == TASK_COMPLETED)
			attr |= A_DIM;
		if (i == cursor)
			attr |= A_REVERSE;
		put(y, 0, top_layout__line(&cols, cells, i == cursor ? '>' : 0, line, sizeof(line)), attr,
		    true);
	}
	return 0;
}

/* The selected task's row in tt (shown or not), or -1. */
static long selected_row(const struct top_screen *s, const struct task_table *tt)
{
	struct top_task_key k;

	if (!top_ui__selected(s->ui, &k))
		return -1;
	for (size_t i = 0; i < task_table__rows(tt); i++) {
		struct top_task_key r = top_task_key__of(task_table__row(tt, i)->t);

		if (top_task_key__eq(&r, &k))
			return (long)i;
	}
	return -1;
}

static void draw_lines(struct top_screen *s, int y, const char *title)
{
	int page = LINES - 1 - (y + 1);
	size_t n = top_lines__count(s->lines), from;
	char where[64];

	top_ui__set_lines(s->ui, n, page > 0 ? (size_t)page : 1);
	from = top_ui__scroll(s->ui);
	put(y, 1, title, pair(s, PAIR_TITLE) | A_BOLD, true);
	if (n > (size_t)page) {
		snprintf(where, sizeof(where), "lines %zu-%zu of %zu (j/k) ", from + 1,
			 from + (size_t)page < n ? from + (size_t)page : n, n);
		put(y, COLS - (int)strlen(where), where, pair(s, PAIR_TITLE), false);
	}
	y++;
	for (size_t i = from; i < n && y < LINES - 1; i++, y++) {
		enum top_line_kind kind;
		const char *text = top_lines__get(s->lines, i, &kind);
		attr_t attr = kind == TOP_LINE_TITLE  ? A_BOLD
			      : kind == TOP_LINE_MARK ? pair(s, PAIR_STUCK) | A_BOLD
			      : kind == TOP_LINE_DIM  ? A_DIM
						      : A_NORMAL;

		put(y, 1, text, attr, true);
	}
}

static int draw_view(struct top_screen *s, const struct top_frame *f, struct task_table *tt, int y)
{
	struct task_table_opts o;
	char title[256], id[32];
	long row;
	int ret = 0;

	switch (top_ui__view(s->ui)) {
	case TOP_VIEW_TASKS:
		return draw_tasks(s, f, tt, y);
	case TOP_VIEW_DETAIL:
		/* every row: the task may no longer pass the filter (its state
		 * changed since), it is still the one asked about */
		task_table_opts__default(&o);
		o.stuck_ns = s->o.stuck_after_ns;
		top_ui__table_opts(s->ui, &o);
		o.filter = NULL;
		if (task_table__view(tt, &o))
			return -ENOMEM;
		row = selected_row(s, tt);
		if (row < 0) {
			top_lines__clear(s->lines);
			top_lines__add(s->lines, TOP_LINE_DIM, "%s",
				       f->replay ? "The selected task is not in the model at this instant "
						   "(not spawned yet, or gone): step the clock, or t for the tasks."
						 : "The selected task is gone: t for the tasks.");
			draw_lines(s, y, "Task detail");
			return 0;
		}
		ret = top_lines__detail(s->lines, tt, (size_t)row, f->model, s->o.stuck_after_ns,
					COLS > 60 ? (unsigned)COLS - 40 : 20);
		snprintf(title, sizeof(title), "Task %s: detail (Esc: back)",
			 task_table__cell(task_table__row(tt, (size_t)row), TASK_COL_ID, id, sizeof(id)));
		draw_lines(s, y, title);
		return ret;
	case TOP_VIEW_LOCKS:
		ret = top_lines__locks(s->lines, f->model, f->deadlocks, s->o.locks);
		draw_lines(s, y, "Locks: holders and waiters, deadlocks");
		return ret;
	case TOP_VIEW_WARNINGS:
		ret = top_lines__warnings(s->lines, tt, f->model);
		draw_lines(s, y, "Warnings");
		return ret;
	case TOP_VIEW_HELP:
		ret = top_lines__help(s->lines, f->replay);
		draw_lines(s, y, "Help: keys");
		return ret;
	}
	return 0;
}

int top_screen__draw(struct top_screen *s, const struct top_frame *f)
{
	struct task_table_opts o;
	struct task_table *tt;
	int y, ret;

	top_ui__set_replay(s->ui, f->replay);
	erase();
	if (COLS < MIN_COLS || LINES < MIN_LINES) {
		put(0, 0, "Too small: top needs 40x8 at least", A_NORMAL, false);
		refresh();
		return 0;
	}
	task_table_opts__default(&o);
	o.stuck_ns = s->o.stuck_after_ns;
	top_ui__table_opts(s->ui, &o);
	tt = task_table__new(f->model, &o);
	if (!tt)
		return -ENOMEM;
	draw_header(s, f, tt, &y);
	ret = draw_view(s, f, tt, y);
	draw_footer(s, f);
	refresh();
	task_table__free(tt);
	return ret == -ENOENT ? 0 : ret;
}

/* ncurses' key codes as top_ui's. */
static int translate(int c)
{
	switch (c) {
	case KEY_UP:
		return TOP_KEY_UP;
	case KEY_DOWN:
		return TOP_KEY_DOWN;
	case KEY_LEFT:
		return TOP_KEY_LEFT;
	case KEY_RIGHT:
		return TOP_KEY_RIGHT;
	case KEY_SLEFT:
		return TOP_KEY_SLEFT;
	case KEY_SRIGHT:
		return TOP_KEY_SRIGHT;
	case KEY_PPAGE:
		return TOP_KEY_PGUP;
	case KEY_NPAGE:
		return TOP_KEY_PGDN;
	case KEY_HOME:
	case KEY_FIND: /* what some terminals send for Home */
		return TOP_KEY_HOME;
	case KEY_END:
	case KEY_SELECT:
		return TOP_KEY_END;
	case KEY_ENTER:
	case '\n':
	case '\r':
		return TOP_KEY_ENTER;
	case 27:
		return TOP_KEY_ESC;
	case KEY_BACKSPACE:
	case 127:
	case '\b':
		return TOP_KEY_BACKSPACE;
	case KEY_RESIZE:
		return TOP_KEY_RESIZE;
	default:
		return c >= 0 && c < 0x100 ? c : -1;
	}
}

enum top_action top_screen__input(struct top_screen *s, int timeout_ms)
{
	int c, key;

	timeout(timeout_ms < 0 ? 0 : timeout_ms);
	c = getch();
	if (c == ERR)
		return TOP_NONE;
	key = translate(c);
	return key < 0 ? TOP_NONE : top_ui__key(s->ui, key);
}
