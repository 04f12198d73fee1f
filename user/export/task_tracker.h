/* SPDX-License-Identifier: MIT */
/*
 * Follows the model's tasks through the record stream for exporters that
 * write as they go. Fed each record after task_model__apply(), it compares
 * the model with what it last reported and calls back once per change: a
 * task first seen, a state change (a poll begins or ends, a wake makes it
 * runnable, it completes), a wake, a spawn call, and at the end the tasks
 * still alive. Exporters so share one reading of the model's rules.
 *
 * One tracker serves every exporter of a session: each follows it with its
 * callback and the number of values it keeps per task, so a live task costs
 * one slot however many exports are written.
 *
 * Memory: one slot per live task (freed when the task completes, its index
 * entry 4 bytes) with every follower's values, and a poll stack per thread;
 * nothing is kept for finished tasks.
 */
#ifndef TASK_TRACKER_H
#define TASK_TRACKER_H

#include <stdbool.h>
#include "aib_events.h"
#include "model/task_model.h"

/* A follower's view of a live task, valid during its callback. */
struct tracked_task {
	__u64 header, id;
	__u64 serial;		/* 1, 2, ... in order of first sight: the same on replay */
	__u64 polls;		/* polls reported */
	__u64 *user;		/* the follower's own values (nuser); zero at first sight */
	__u32 poll_tid;		/* thread of the current poll (state RUNNING, or from RUNNING); else 0 */
	enum task_state state : 8; /* as last reported */
	bool runtime;		/* reported as the runtime's own carrier task */
};

enum change_kind {
	/* A spawn call the model will match to a task (task is NULL): the task
	 * is runnable from now, though first seen only at its first poll. */
	CHANGE_SPAWN,
	/* First sight. task->state is RUNNABLE since info->spawn_ts when the
	 * spawn was seen (info->spawn_seen), else IDLE since ts. */
	CHANGE_APPEAR,
	/* task->state was `from`, is now task->state. To COMPLETED: the slot
	 * goes after the callback. */
	CHANGE_STATE,
	/* A wake of woken_id; task is NULL when that task already finished. */
	CHANGE_WAKE,
	/* The task turned out to be the runtime's carrier (task->runtime is
	 * already true): not a user task from now on. */
	CHANGE_RUNTIME,
	/* From task_tracker__finish(): the task is alive at the end of the
	 * session (ts); the slot goes after the callback. */
	CHANGE_ALIVE_AT_END,
};

struct change {
	enum change_kind kind;
	__u64 ts;
	__u32 tid;			/* thread of the record; 0 at the end */
	struct tracked_task *task;
	const struct task_info *info;	/* the model's view; NULL once freed */

	/* CHANGE_STATE */
	enum task_state from;
	bool new_poll;	  /* to RUNNING: a poll began (also RUNNING -> RUNNING) */
	int result;	  /* from RUNNING: enum aib_poll_result of the poll end, -1 if none */
	bool cancelled;	  /* to COMPLETED: shut down rather than run to completion */
	bool freed;	  /* to COMPLETED: freed (or its header reused) before completing */

	/* CHANGE_WAKE */
	struct tracked_task *waker; /* NULL: woken by a thread, the runtime or an unknown task */
	enum wake_kind by;
	__u64 woken_id, waker_id;

	/* CHANGE_SPAWN */
	const struct aib_ev_spawn *spawn;
};

/* A non-zero return is the follower's error: it gets no more changes. */
typedef int (*change_fn)(void *ctx, const struct change *c);

#define TRACKER_MAX_FOLLOWERS 4
#define TRACKER_MAX_USER 16 /* values per task, all followers together */

struct task_tracker;

struct task_tracker *task_tracker__new(void); /* NULL + errno */
void task_tracker__free(struct task_tracker *t);
/* Before the first record: fn is called with every change, each task's
 * user[] holding nuser values of this follower's own. Its number, or
 * -E2BIG past the limits above, -EBUSY once tasks are followed. */
int task_tracker__follow(struct task_tracker *t, change_fn fn, void *ctx, unsigned nuser);
/* The follower's error (its callback's, or the tracker's own): it gets no
 * more changes. 0 while it follows. */
int task_tracker__error(const struct task_tracker *t, int follower);
/* No more changes for the follower (it failed elsewhere): err < 0. */
void task_tracker__stop(struct task_tracker *t, int follower, int err);
/* 0, or the first error a follower got during the record (-ENOMEM: all did;
 * task_tracker__error() says which). The others keep following. */
int task_tracker__record(struct task_tracker *t, const struct aib_hdr *rec,
			 const struct task_model *m);
/* After task_model__finish(): the tasks alive at the end, including those
 * spawned but never polled (CHANGE_APPEAR first for those). As record(). */
int task_tracker__finish(struct task_tracker *t, const struct task_model *m);
size_t task_tracker__live(const struct task_tracker *t); /* slots in use */

#endif
