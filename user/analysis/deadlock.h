/* SPDX-License-Identifier: MIT */
/*
 * Deadlocks: cycles in the wait-for graph of the live state. Edges go from
 * a task queued on a lock to the lock's holders (lock_table.h), and from a
 * task awaiting a JoinHandle to that task (given by the caller).
 *
 * Only real cycles count. A task is free to progress when it waits on
 * nothing here, on a lock with no holder task we know of (or a holder that
 * is no task, or that ended), on a channel, or on holders that can all
 * progress (a Semaphore with several holders: any one of them), or on a
 * JoinHandle of a task that can progress. The tasks left are deadlocked;
 * the cycles among them are reported (tasks merely queued behind a cycle are
 * not members). A cycle counts once every lock on it has been unchanged, and
 * every joining task parked, for `confirm_ns` by the check's `now`: events of
 * different CPUs reach the model slightly out of order, and a holder that
 * releases while a cycle is being looked at must not make a false one.
 * Never prints.
 */
#ifndef DEADLOCK_H
#define DEADLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "model/task_model.h"

struct lock_table;

#define DEADLOCK_MAX_LINKS 16
/* The wait-for graph is checked this often (record time); a deadlock then
 * shows within DEADLOCK_CONFIRM_NS + this of forming. */
#define DEADLOCK_CHECK_NS 250000000ULL

/* links[i].task_id waits for links[(i + 1) % n].task_id: through the lock
 * at links[i].lock, or (lock 0) by awaiting its JoinHandle. Rotated so the
 * smallest task id comes first. */
struct deadlock_link {
	__u64 task_id;
	__u64 lock;
};

struct deadlock {
	int n;
	struct deadlock_link links[DEADLOCK_MAX_LINKS];
	__u64 formed_ts;   /* the latest change on the cycle: when it closed */
	__u64 detected_ts; /* the check that confirmed it */
	__u64 resolved_ts; /* a later check found it gone (a waiter gave up); 0 = still there */
};

/* Default confirmation delay: a deadlock is reported within a second of
 * forming when checks run every 250 ms. */
#define DEADLOCK_CONFIRM_NS 500000000ULL

struct deadlock_finder;

struct deadlock_finder *deadlock_finder__new(__u64 confirm_ns);
void deadlock_finder__free(struct deadlock_finder *f);
/* Look at the graph as it is now: the number of deadlocks confirmed for the
 * first time by this check (each cycle is reported once), or -ENOMEM. */
int deadlock_finder__check(struct deadlock_finder *f, const struct lock_table *lt,
			   const struct join_wait *joins, size_t njoins, __u64 now);
/* The same on the model as it is at `now`: its locks and its JoinHandle
 * waits (both live and replayed sessions check this way, every
 * DEADLOCK_CHECK_NS of record time). */
int deadlock_finder__check_model(struct deadlock_finder *f, const struct task_model *m, __u64 now);
/* Every deadlock confirmed so far, in the order found. */
size_t deadlock_finder__count(const struct deadlock_finder *f);
const struct deadlock *deadlock_finder__get(const struct deadlock_finder *f, size_t i);
/* Is the task a member of a deadlock still there? */
bool deadlock_finder__involves(const struct deadlock_finder *f, __u64 task_id);

#endif
