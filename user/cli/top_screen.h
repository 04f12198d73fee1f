/* SPDX-License-Identifier: MIT */
/*
 * `top`'s screen (ncursesw): the views of one instant of a session, live or
 * replayed, and the keys. The driver (cli/top.c for a replay, cli/live.c
 * for a live session) hands it a finished model each time it should redraw
 * (live: about once a second; replay: when the clock moves) and asks it
 * for the keys between; the view keys (t l w, Enter, Esc, arrows, j/k,
 * s/i, /, ?) are handled here, the ones the driver acts on come back as a
 * top_action.
 *
 *   Tasks (t, the default)   report/task_table.h's rows, sorted, filtered
 *   Task detail (Enter)      the selected task: await stack (the blocked
 *                            frame marked), waiting_for, histograms...
 *   Locks (l)                the model's lock table, with holders and waiters
 *   Warnings (w)             analysis/lints.h: each lint, its count, its tasks
 *   Help (?)
 * A deadlock banner runs across every view once one is confirmed.
 */
#ifndef TOP_SCREEN_H
#define TOP_SCREEN_H

#include <stdbool.h>
#include <linux/types.h>

struct task_model;
struct deadlock_finder;

/* One redraw's content. */
struct top_frame {
	const struct task_model *model;	      /* finished at `now` (the caller's) */
	const struct deadlock_finder *deadlocks; /* confirmed ones, or NULL */
	const char *title;		      /* "pid 4242 (./app): tokio" */
	__u64 now;			      /* the instant shown (CLOCK_MONOTONIC ns) */
	__u64 first, last;		      /* replay: the recording's span; live: start, now */
	bool replay;			      /* the clock keys work; the header shows the clock */
	bool paused;			      /* live: the display is held, tracing goes on */
	bool ended;			      /* live: the target exited (the screen stays until q) */
	const char *note;		      /* a one-line message for this draw only, or NULL
						 ("task 12: no later event") */
};

/* What the driver does after a key. */
enum top_action {
	TOP_NONE,
	TOP_REDRAW,	    /* a view changed: draw the same instant again */
	TOP_QUIT,	    /* q */
	TOP_PAUSE,	    /* space: hold or release the display */
	TOP_BACK,	    /* replay, left: the clock 1 s back */
	TOP_FORWARD,	    /* replay, right: 1 s on */
	TOP_TASK_PREV,	    /* replay, shift-left or '<': the selected task's previous event */
	TOP_TASK_NEXT,	    /* replay, shift-right or '>': its next event */
};

struct top_screen_opts {
	__u64 stuck_after_ns; /* --stuck-after: parked longer stands out */
	bool locks;	      /* the locks view has data (--locks, or a recording with locks) */
};

struct top_screen;

/* Takes the terminal (initscr, cbreak, noecho, keypad). NULL + errno
 * (ENOTTY: no terminal, ENOMEM). */
struct top_screen *top_screen__new(const struct top_screen_opts *o);
/* Gives the terminal back (endwin). */
void top_screen__free(struct top_screen *s);

/* Draws f in the current view at the terminal's size (80x24 and up; a
 * resize is taken at the next draw). 0 or -ENOMEM. */
int top_screen__draw(struct top_screen *s, const struct top_frame *f);
/* Waits up to timeout_ms for a key (0: no wait) and handles it: what the
 * driver must do. A resize redraws. */
enum top_action top_screen__input(struct top_screen *s, int timeout_ms);

/* After TOP_BACK or TOP_FORWARD, how far the clock moves: 1 s (left,
 * right), 10 s ([, ]), or UINT64_MAX (Home, End: to the recording's start,
 * its end). A replay's driver reads it; a live one never gets those. */
__u64 top_screen__step_ns(const struct top_screen *s);

/* The selected task, kept across refreshes by its header, id and spawn
 * time: false when none is selected. */
bool top_screen__selected(const struct top_screen *s, __u64 *header, __u64 *id, __u64 *spawn_ts);

#endif
