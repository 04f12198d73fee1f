/* SPDX-License-Identifier: MIT */
/*
 * tokio's locks as the model sees them: every batch semaphore (under Mutex,
 * RwLock, Semaphore, the bounded mpsc channel) that an AIB_EV_LOCK record
 * named, with its statistics and, right now, who holds it and who waits.
 * Fed by the task model with each lock record and the id of the task it is
 * about; read by the analyses (deadlock.h) and the outputs. Never prints.
 *
 * A task waits from its first Pending acquire until that Acquire gets its
 * permits (contended), gives up, or the task ends. A holder holds from the
 * acquire to a release of as many permits by the same task; a release by
 * another task (a guard moved away) ends the oldest hold of that size.
 * Permits taken where no acquire was traced (try_lock, before the attach)
 * come back as untracked releases.
 */
#ifndef LOCK_TABLE_H
#define LOCK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"
#include "lib/samples.h"

enum lock_type {
	LOCK_TYPE_UNKNOWN,
	LOCK_TYPE_MUTEX,
	LOCK_TYPE_RWLOCK,
	LOCK_TYPE_SEMAPHORE,
	LOCK_TYPE_CHANNEL, /* bounded mpsc capacity: no holders, the receiver frees it */
};

/* Locks kept one by one; past that the idle ones (no holder, no waiter)
 * changed longest ago are folded into lock_table__evicted(). */
#define LOCK_TABLE_MAX 4096

struct lock_holder {
	__u64 task_id;	/* 0: no task (a thread outside the runtime) */
	__u32 permits;
	bool task_ended; /* the task completed while holding (a leaked or moved guard) */
	__u64 since;	/* acquired at */
};

struct lock_waiter {
	__u64 task_id;
	__u64 acquire;	/* the Acquire future */
	__u32 permits;
	enum aib_lock_kind kind; /* what for: read or write on a RwLock */
	__u64 since;	/* first Pending */
};

struct lock_info {
	__u64 address;
	enum lock_type type;
	/* Semaphore(n): the most permits seen at once, free plus held */
	__u64 permits_seen;
	__u64 acquisitions;	  /* acquires that got their permits */
	__u64 contended;	  /* of those, the ones that were Pending first */
	__u64 gave_up;		  /* queued acquires dropped before getting permits */
	__u64 closed;		  /* acquires that found the semaphore closed */
	__u64 untracked_releases; /* permits given back that no traced acquire took */
	struct samples wait;	  /* contended acquires: first Pending -> acquired (ns) */
	struct samples hold;	  /* acquired -> released (ns) */
	__u32 max_waiters;	  /* most tasks queued at once */
	struct lock_holder *holders;
	size_t nholders, holders_cap;
	struct lock_waiter *waiters; /* in the order they queued */
	size_t nwaiters, waiters_cap;
	__u64 first_ts;
	__u64 last_change_ts; /* last acquire, release, wait or give-up */
	/* after lock_table__finish: waits still open at the end, counted in
	 * `wait` up to then (so a lock nobody gets still ranks by its wait) */
	__u64 open_wait_ns;
};

struct lock_table;

struct lock_table *lock_table__new(void);
void lock_table__free(struct lock_table *lt);

/* One AIB_EV_LOCK record about the model's task `task_id` (0: none). 0, or
 * -ENOMEM. Records that contradict the table (an acquire by a task already
 * waiting elsewhere, ...) are applied as best they can and counted in
 * lock_table__anomalies. */
int lock_table__apply(struct lock_table *lt, const struct aib_ev_lock *e, __u64 task_id);
/* The task ended at ts: it waits for nothing; locks it holds keep it as a
 * holder marked task_ended. */
void lock_table__task_ended(struct lock_table *lt, __u64 task_id, __u64 ts);
/* Count the waits still open at end_ts into each lock's `wait` samples and
 * open_wait_ns. Call once, at the end of the session, before reading. */
void lock_table__finish(struct lock_table *lt, __u64 end_ts);

size_t lock_table__count(const struct lock_table *lt);
/* i in [0, count): in order of first sight */
const struct lock_info *lock_table__get(const struct lock_table *lt, size_t i);
const struct lock_info *lock_table__find(const struct lock_table *lt, __u64 address);
/* The lock task_id is queued on now (and its waiter entry), or NULL. */
const struct lock_info *lock_table__waiting_for(const struct lock_table *lt, __u64 task_id,
						const struct lock_waiter **waiter);
__u64 lock_table__evicted(const struct lock_table *lt);
__u64 lock_table__anomalies(const struct lock_table *lt);

/* A copy that goes on alone (holders, waiters, samples, indexes); NULL when
 * out of memory. */
struct lock_table *lock_table__clone(const struct lock_table *lt);
size_t lock_table__bytes(const struct lock_table *lt); /* owned bytes */

/* "Mutex", "RwLock", "Semaphore", "channel", "lock" */
const char *lock_type_name(enum lock_type t);
/* "Mutex@0x55d0c0a0", "Semaphore(3)@0x...": into buf */
const char *lock_info__label(const struct lock_info *l, char *buf, size_t len);

#endif
