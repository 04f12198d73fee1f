// SPDX-License-Identifier: MIT
/*
 * `top` on a live session (live_view.h). A redraw copies the model and
 * finishes the copy at the instant shown: the session's model goes on
 * untouched. The copy costs about 0.5 us per task polled once, 2 us per
 * task polled 20 times (model/task_model.h): a redraw a second stays under
 * a few percent of a core up to 10^4 live tasks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli/live_view.h"
#include "cli/top_screen.h"
#include "model/task_model.h"

#define REDRAW_NS 1000000000ULL
#define PARKED_RESOLVE_NS 1000000000ULL /* the "parked longer than a second" */

struct live_view {
	struct live_view_opts o;
	struct top_screen *screen;
	struct task_model *shown; /* the copy on the screen (held while paused) */
	struct top_frame frame;
	__u64 start, last_draw;
	bool paused;
	char title[512];
	int saved_stderr;	  /* the terminal's stderr, while the screen holds it */
	FILE *held;		  /* what stderr got meanwhile */
};

/* stderr into a file while the screen holds the terminal. */
static void hold_stderr(struct live_view *v)
{
	v->held = tmpfile();
	v->saved_stderr = v->held ? dup(STDERR_FILENO) : -1;
	if (v->saved_stderr < 0 || dup2(fileno(v->held), STDERR_FILENO) < 0) {
		if (v->saved_stderr >= 0)
			close(v->saved_stderr);
		v->saved_stderr = -1;
	}
}

static void release_stderr(struct live_view *v)
{
	char buf[4096];
	size_t n;

	fflush(stderr);
	if (v->saved_stderr >= 0) {
		dup2(v->saved_stderr, STDERR_FILENO);
		close(v->saved_stderr);
	}
	if (!v->held)
		return;
	rewind(v->held);
	while ((n = fread(buf, 1, sizeof(buf), v->held)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(v->held);
}

/* A copy of the session's model, finished at now, on the screen. */
static void redraw(struct live_view *v, __u64 now)
{
	struct task_model *copy;

	if (!v->paused) {
		if (v->o.resolve_parked)
			v->o.resolve_parked(v->o.ctx, PARKED_RESOLVE_NS);
		copy = task_model__clone(v->o.model);
		if (copy) {
			task_model__finish(copy, now);
			task_model__free(v->shown);
			v->shown = copy;
			v->frame.now = v->frame.last = now;
		}
	}
	v->last_draw = now;
	if (!v->shown)
		return;
	v->frame.model = v->shown;
	v->frame.paused = v->paused;
	top_screen__draw(v->screen, &v->frame);
}

struct live_view *live_view__new(const struct live_view_opts *o, __u64 now)
{
	struct top_screen_opts so = {.stuck_after_ns = o->stuck_after_ns, .locks = o->locks};
	struct live_view *v;

	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		errno = ENOTTY;
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->o = *o;
	v->start = now;
	snprintf(v->title, sizeof(v->title), "%s", o->title);
	v->frame = (struct top_frame){.deadlocks = o->deadlocks, .title = v->title, .first = now};
	v->screen = top_screen__new(&so);
	if (!v->screen) {
		free(v);
		return NULL;
	}
	hold_stderr(v);
	redraw(v, now);
	return v;
}

void live_view__free(struct live_view *v)
{
	if (!v)
		return;
	top_screen__free(v->screen);
	task_model__free(v->shown);
	release_stderr(v);
	free(v);
}

/* A key's action: true to quit. */
static bool act(struct live_view *v, enum top_action a, __u64 now)
{
	switch (a) {
	case TOP_QUIT:
		return true;
	case TOP_PAUSE:
		v->paused = !v->paused;
		redraw(v, now);
		break;
	case TOP_REDRAW: /* a view changed: the same instant */
		if (v->shown)
			top_screen__draw(v->screen, &v->frame);
		break;
	default: /* the clock keys are a replay's */
		break;
	}
	return false;
}

bool live_view__tick(struct live_view *v, __u64 now)
{
	enum top_action a;

	while ((a = top_screen__input(v->screen, 0)) != TOP_NONE)
		if (act(v, a, now))
			return true;
	if (now - v->last_draw >= REDRAW_NS)
		redraw(v, now);
	return false;
}

void live_view__ended(struct live_view *v, __u64 now, volatile int *stop)
{
	v->paused = false;
	v->frame.ended = true;
	v->o.resolve_parked = NULL; /* the session's end resolved them, after which nothing is recorded */
	redraw(v, now);
	while (!*stop) {
		enum top_action a = top_screen__input(v->screen, 200);

		if (a == TOP_QUIT)
			return;
		if (a != TOP_NONE && v->shown)
			top_screen__draw(v->screen, &v->frame);
	}
}
