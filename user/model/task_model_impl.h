/* SPDX-License-Identifier: MIT */
/*
 * Private to the task model: the struct its files share, and what they lend
 * each other. Nothing outside model/task_*.c includes it; everyone else
 * reads the model through model/task_model.h.
 *
 *   task_store.c   per-task storage, threads and their poll stacks, bounded
 *                  memory (retiring completed tasks)
 *   task_records.c the records applied to tasks: task_model__apply
 *   task_model.c   new/free, finish and the accessors
 */
#ifndef TASK_MODEL_IMPL_H
#define TASK_MODEL_IMPL_H

#include "lib/id_table.h"
#include "model/pending_spawns.h"
#include "model/task_model.h"

#define NO_TASK ((__u32)~0U)

struct thread_rec {
	__u32 tid;
	char name[16];
	char next_task_name[AIB_TASK_NAME_MAX + 1]; /* for this thread's next spawn */
	__u32 depth;
	__u32 stack[AIB_MAX_POLL_DEPTH]; /* task indices being polled */
	__u64 first_polled;		 /* the id of the first task polled here, 0: none yet */
};

struct task_model {
	struct task_info *tasks;
	size_t ntasks, tasks_cap;
	struct u64_map *live; /* header -> newest task at that header */

	struct pending_spawns *pending; /* spawn calls waiting for their task */

	struct location_table *locations; /* spawn locations, interned */

	struct id_table threads; /* tid -> struct thread_rec */

	struct model_summary sum;
	__u64 next_own_id; /* ids for tasks of runtimes that number none */
	__u64 last_ts;
	bool finished;

	/* Bounded memory: past `keep_completed` completed tasks the oldest are
	 * folded into exact per-location counters and dropped. */
	size_t keep_completed;
	size_t compact_at; /* ntasks at which to look again */
	struct id_table retired; /* location pointer -> struct retired_location */

	struct lock_table *locks;	 /* tokio's locks, by semaphore */
	struct blocking_calls *blocking; /* blocking syscalls inside polls */
};

static inline enum task_kind task_kind_of_spawn(__u32 spawn_flags)
{
	return spawn_flags & AIB_SPAWN_RUNTIME_LOOP ? TASK_RUNTIME
	       : spawn_flags & AIB_SPAWN_BLOCK_ON ? TASK_BLOCK_ON
	       : spawn_flags & AIB_SPAWN_BLOCKING ? TASK_BLOCKING
	       : spawn_flags & AIB_SPAWN_LOCAL	  ? TASK_LOCAL
						  : TASK_ASYNC;
}

/* ---- task_store.c (the comments at the definitions say more) ---- */

void task_info__release(struct task_info *t); /* frees what the task owns */
struct task_extra *task_info__extra(struct task_info *t);
void task_info__leave_state(struct task_info *t, __u64 ts, bool polled);
/* A poll of d ns is over: its time into busy_ns (and the poll histogram). */
void task_info__poll_done(struct task_info *t, __u64 d);
/* *to = a copy of *from owning copies of what *from owns: 0 or -ENOMEM (then
 * *to owns nothing). Its location is from's, for the caller to translate. */
int task_info__clone(struct task_info *to, const struct task_info *from);
size_t task_info__bytes(const struct task_info *t); /* what it owns, itself aside */
/* The task as its spawn call left it: runnable since the call. */
void task_info__spawned(struct task_info *t, const struct pending_spawn *p);

struct thread_rec *task_model__thread(struct task_model *m, __u32 tid); /* NULL: no memory */
/* Its index, or NO_TASK when out of memory. May first retire completed
 * tasks, which renumbers the others, and grow the array: task pointers
 * and indices the caller holds go stale. */
__u32 task_model__new_task(struct task_model *m, __u64 header, __u64 id, enum aib_runtime runtime);
/* The task now at `header` with runtime id `id` (0 = any), or NULL. */
struct task_info *task_model__live_task(struct task_model *m, __u64 header, __u64 id);

#endif
