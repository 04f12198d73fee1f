/* SPDX-License-Identifier: MIT */
/*
 * `top` on a live session: the screen (cli/top_screen.h) fed a finished
 * copy of the model about once a second, between the trace loop's polls,
 * on the thread that applies the records. Parked tasks' await stacks are
 * resolved while the session runs (tasks idle for a second, once per
 * park), so the Await column and the lost-waker lint have them. While the
 * screen holds the terminal, what the session says on stderr is kept and
 * printed once the terminal is given back.
 */
#ifndef LIVE_VIEW_H
#define LIVE_VIEW_H

#include <stdbool.h>
#include <linux/types.h>

struct task_model;
struct deadlock_finder;

struct live_view_opts {
	const char *title;		 /* "pid 4242 (./app): tokio" (copied) */
	struct task_model *model;	 /* the session's: cloned, never changed */
	const struct deadlock_finder *deadlocks;
	__u64 stuck_after_ns;
	bool locks;
	/* resolve the parked tasks idle at least min_parked_ns, once per park */
	void (*resolve_parked)(void *ctx, __u64 min_parked_ns);
	void *ctx;
};

struct live_view;

/* Takes the terminal. NULL + errno (ENOTTY: stdout is no terminal). */
struct live_view *live_view__new(const struct live_view_opts *o, __u64 now);
/* Gives the terminal back, then prints what stderr got meanwhile. */
void live_view__free(struct live_view *v);
/* Keys, and a redraw when a second has passed: true once the user quits. */
bool live_view__tick(struct live_view *v, __u64 now);
/* The target is gone: its last state stays on the screen until q (or a
 * signal: *stop set). */
void live_view__ended(struct live_view *v, __u64 now, volatile int *stop);

#endif
