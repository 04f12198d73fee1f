// SPDX-License-Identifier: MIT
/*
 * `top --replay FILE`: a recording in top's views, with a clock. The clock
 * starts at the recording's first instant, as a player's does; each move
 * seeks the replay cursor (session/replay_cursor.h: a checkpoint's copy of
 * the model and at most one spacing of records), finishes the model at
 * that instant and redraws. No root needed.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analysis/deadlock.h"
#include "cli/commands.h"
#include "cli/outputs.h"
#include "cli/top_screen.h"
#include "model/lock_table.h"
#include "model/task_model.h"
#include "session/replay_cursor.h"

/* Ctrl-C, a closed terminal, kill: leave through the same door as q, so
 * the terminal is given back. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: the key wait returns */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

struct player {
	struct replay_cursor *c;
	struct top_screen *screen;
	struct task_model *model;	/* at `now`, finished */
	struct deadlock_finder *df;	/* confirmed by `now` */
	__u64 first, last, now;
	/* the selected task as last seen: the cursor follows its records even
	 * at an instant where it does not exist (before its spawn) */
	struct task_info sel;
	bool have_sel;
	char title[256], note[128];
};

static int seek(struct player *p)
{
	struct task_model *m;
	int err = replay_cursor__seek(p->c, p->now, &m);

	if (err)
		return err;
	task_model__free(p->model);
	deadlock_finder__free(p->df);
	p->model = m;
	/* one check at `now` confirms the cycles that have stood still long
	 * enough by then: what a live session had found at that instant */
	p->df = deadlock_finder__new(DEADLOCK_CONFIRM_NS);
	if (!p->df || deadlock_finder__check_model(p->df, m, p->now) < 0)
		return -ENOMEM;
	return 0;
}

/* Is t the task the screen's selection names (header 0: not known yet)? */
static bool is_selected(const struct task_info *t, __u64 header, __u64 id, __u64 spawn_ts)
{
	return (t->header == header || !t->header || !header) && t->id == id && t->spawn_ts == spawn_ts;
}

/* The selected task in the model at hand, remembered for the steps. */
static void remember_selection(struct player *p)
{
	__u64 header, id, spawn_ts;

	if (!top_screen__selected(p->screen, &header, &id, &spawn_ts)) {
		p->have_sel = false;
		return;
	}
	if (p->have_sel && !is_selected(&p->sel, header, id, spawn_ts))
		p->have_sel = false;
	for (size_t i = 0, n = task_model__task_count(p->model); i < n; i++) {
		const struct task_info *t = task_model__task(p->model, i);

		if (!is_selected(t, header, id, spawn_ts))
			continue;
		/* the fields the cursor reads; nothing that points into the model */
		p->sel = (struct task_info){.id = t->id,
					    .header = t->header ? t->header : p->have_sel ? p->sel.header : header,
					    .spawn_ts = t->spawn_ts, .end_ts = t->end_ts,
					    .runtime = t->runtime, .kind = t->kind};
		p->have_sel = true;
		return;
	}
	/* not at this instant (before its spawn): the copy stands */
}

/* A task seen before its first poll has no header yet, and the cursor
 * tells its records by header: take it from the end of the recording. */
static int learn_header(struct player *p)
{
	struct task_model *m;
	int err;

	if (p->sel.header)
		return 0;
	err = replay_cursor__seek(p->c, p->last, &m);
	if (err)
		return err;
	for (size_t i = 0, n = task_model__task_count(m); i < n; i++) {
		const struct task_info *t = task_model__task(m, i);

		if (t->header && is_selected(t, 0, p->sel.id, p->sel.spawn_ts)) {
			p->sel.header = t->header;
			p->sel.end_ts = t->end_ts;
			break;
		}
	}
	task_model__free(m);
	return 0;
}

static int draw(struct player *p)
{
	const struct model_summary *s = task_model__summary(p->model);
	const char *exe = s->exe ? strrchr(s->exe, '/') : NULL;
	char title[512];
	struct top_frame f = {
		.model = p->model,
		.deadlocks = p->df,
		.title = title,
		.now = p->now,
		.first = p->first,
		.last = p->last,
		.replay = true,
	};
	int err;

	if (s->pid)
		snprintf(title, sizeof(title), "%s: pid %u (%s), %s", p->title, s->pid,
			 exe ? exe + 1 : s->exe ? s->exe : "?", s->runtime_desc ? s->runtime_desc : "?");
	else
		snprintf(title, sizeof(title), "%s", p->title);
	f.note = p->note[0] ? p->note : NULL;
	err = top_screen__draw(p->screen, &f);
	p->note[0] = 0;
	remember_selection(p);
	return err;
}

/* The clock `step` back or on, within the recording. */
static void move_clock(struct player *p, __u64 step, bool back)
{
	if (back)
		p->now = step == UINT64_MAX || p->now - p->first < step ? p->first : p->now - step;
	else
		p->now = step == UINT64_MAX || p->last - p->now < step ? p->last : p->now + step;
}

/* To the selected task's previous or next event: 0, or -errno reading. */
static int step_task(struct player *p, bool back)
{
	__u64 ts;
	int err;
	char id[32];

	if (!p->have_sel)
		return 0;
	if ((err = learn_header(p)))
		return err;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)p->sel.id);
	err = back ? replay_cursor__prev_event_ts(p->c, &p->sel, p->now, &ts)
		   : replay_cursor__next_event_ts(p->c, &p->sel, p->now, &ts);
	if (err == -ENOENT) {
		snprintf(p->note, sizeof(p->note), "task %s: no %s event", p->sel.id ? id : "?",
			 back ? "earlier" : "later");
		return 0;
	}
	if (err)
		return err;
	p->now = ts < p->first ? p->first : ts > p->last ? p->last : ts;
	return 0;
}

/* The keys until q: 0, or -errno (reading the file, no memory). */
static int play(struct player *p)
{
	bool need_seek = true, need_draw = true;
	int err = 0;

	while (!stop_signal && !err) {
		__u64 before = p->now;
		enum top_action a;

		if (need_seek && (err = seek(p)))
			break;
		if ((need_seek || need_draw) && (err = draw(p)))
			break;
		need_draw = false;
		/* a short wait: a signal is seen within it */
		a = top_screen__input(p->screen, 250);
		switch (a) {
		case TOP_QUIT:
			return 0;
		case TOP_REDRAW:
			need_draw = true;
			break;
		case TOP_PAUSE:
			snprintf(p->note, sizeof(p->note), "space pauses a live view; a replay's clock "
				 "moves with the arrows (? for help)");
			need_draw = true;
			break;
		case TOP_BACK:
		case TOP_FORWARD:
			move_clock(p, top_screen__step_ns(p->screen), a == TOP_BACK);
			break;
		case TOP_TASK_PREV:
		case TOP_TASK_NEXT:
			err = step_task(p, a == TOP_TASK_PREV);
			need_draw = p->note[0] != 0;
			break;
		case TOP_NONE:
			break;
		}
		need_seek = p->now != before;
	}
	return err;
}

int command__top_replay(const struct options *o)
{
	struct replay_cursor_opts co;
	struct top_screen_opts so = {.stuck_after_ns = o->stuck_after_ns};
	struct player p = {0};
	const char *name = strrchr(o->replay, '/');
	int err;

	if (o->json || o->exports.perfetto || o->exports.chrome || o->exports.folded ||
	    o->exports.csv_dir || o->debuginfo)
		return cli__fail("top --replay only shows the recording: for its report, JSON and "
				 "exports use `replay %s`", o->replay);
	replay_cursor_opts__default(&co);
	p.c = replay_cursor__open(o->replay, &co);
	if (!p.c) {
		if (errno == EPROTO)
			return cli__fail("%s: not a recording this version can read (bad or unsupported header)",
					 o->replay);
		return cli__fail("cannot open %s: %s", o->replay, strerror(errno));
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		replay_cursor__free(p.c);
		return cli__fail("top draws on a terminal, and this is none (for a report: replay %s)",
				 o->replay);
	}
	p.first = p.now = replay_cursor__first_ts(p.c);
	p.last = replay_cursor__last_ts(p.c);
	snprintf(p.title, sizeof(p.title), "replay of %s%s", name ? name + 1 : o->replay,
		 replay_cursor__status(p.c) ? " (corrupt: cut there)"
		 : replay_cursor__truncated(p.c) ? " (cut short)" : "");
	/* the locks view has data when the session traced them (--locks):
	 * whether any lock shows up by the end */
	if (!replay_cursor__seek(p.c, p.last, &p.model)) {
		so.locks = lock_table__count(task_model__locks(p.model)) > 0;
		task_model__free(p.model);
		p.model = NULL;
	}
	catch_signals();
	p.screen = top_screen__new(&so);
	if (!p.screen) {
		err = errno;
		replay_cursor__free(p.c);
		return cli__fail("cannot draw on this terminal: %s", strerror(err));
	}
	err = play(&p);
	top_screen__free(p.screen);
	task_model__free(p.model);
	deadlock_finder__free(p.df);
	if (replay_cursor__status(p.c) < 0 || replay_cursor__truncated(p.c))
		cli__warn("%s: %s; the views covered what came before", o->replay,
			  *replay_cursor__problem(p.c) ? replay_cursor__problem(p.c) : "cut short");
	if (err)
		cli__fail("%s: %s", o->replay, strerror(-err));
	err = err || replay_cursor__status(p.c) < 0 ? EXIT_ERROR : 0;
	replay_cursor__free(p.c);
	return err;
}
