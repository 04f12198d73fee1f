// SPDX-License-Identifier: MIT
/*
 * The lock table on synthetic AIB_EV_LOCK sequences with chosen timestamps:
 * counts, queues, waits and holds are checked against values worked out by
 * hand in the comments; a random sequence checks that the table stays
 * consistent whatever it is fed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/lock_table.h"

#define M1 0x55d0c0a0ULL
#define M2 0x55d0c100ULL
#define MAX_READS 536870911U /* tokio's RwLock: what a writer asks */

/* ---- record builders ---- */

static struct aib_ev_lock ev(__u16 op, __u16 kind, __u64 sem, __u64 ts, __u64 task,
			     __u64 acquire, __u32 permits)
{
	return (struct aib_ev_lock){
		.hdr = {.kind = AIB_EV_LOCK, .size = sizeof(struct aib_ev_lock), .tid = 7, .ts = ts},
		.sem = sem,
		.task = task ? 0x7f0000000000ULL + task * 0x100 : 0,
		.task_id = task,
		.acquire = acquire,
		.site = acquire ? 0x401000 : 0,
		.available = ~0ULL,
		.permits = permits,
		.op = op,
		.kind = kind,
	};
}

static void apply(struct lock_table *lt, struct aib_ev_lock e)
{
	assert_int_equal(lock_table__apply(lt, &e, e.task_id), 0);
}

/* acquire ids derived from the task: one Acquire future per task here */
#define ACQ(task) (0x7ffd0000ULL + (task) * 0x40)

static void pending(struct lock_table *lt, __u64 ts, __u64 sem, __u16 kind, __u64 task,
		    __u32 permits)
{
	apply(lt, ev(AIB_LOCK_PENDING, kind, sem, ts, task, ACQ(task), permits));
}

static void acquired(struct lock_table *lt, __u64 ts, __u64 sem, __u16 kind, __u64 task,
		     __u32 permits)
{
	apply(lt, ev(AIB_LOCK_ACQUIRED, kind, sem, ts, task, ACQ(task), permits));
}

static void released(struct lock_table *lt, __u64 ts, __u64 sem, __u64 task, __u32 permits)
{
	apply(lt, ev(AIB_LOCK_RELEASED, AIB_LOCK_KIND_UNKNOWN, sem, ts, task, 0, permits));
}

static int setup(void **state)
{
	*state = lock_table__new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	lock_table__free(*state);
	return 0;
}

/* ---- tests ---- */

static void test_uncontended(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	acquired(lt, 100, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	released(lt, 150, M1, 1, 1);
	assert_int_equal(lock_table__count(lt), 1);
	l = lock_table__find(lt, M1);
	assert_ptr_equal(l, lock_table__get(lt, 0));
	assert_null(lock_table__get(lt, 1));
	assert_null(lock_table__find(lt, M2));
	assert_int_equal(l->type, LOCK_TYPE_MUTEX);
	assert_int_equal(l->acquisitions, 1);
	assert_int_equal(l->contended, 0);
	assert_int_equal(l->wait.count, 0);
	assert_int_equal(l->hold.count, 1);
	assert_int_equal(l->hold.sum, 50);
	assert_int_equal(l->nholders, 0);
	assert_int_equal(l->nwaiters, 0);
	assert_int_equal(l->max_waiters, 0);
	assert_int_equal(l->first_ts, 100);
	assert_int_equal(l->last_change_ts, 150);
	assert_int_equal(l->untracked_releases, 0);
	assert_int_equal(lock_table__anomalies(lt), 0);
}

static void test_queue_served_in_order(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_waiter *w = NULL;
	const struct lock_info *l;

	acquired(lt, 100, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	pending(lt, 110, M1, AIB_LOCK_KIND_MUTEX, 2, 1);
	pending(lt, 120, M1, AIB_LOCK_KIND_MUTEX, 3, 1);
	pending(lt, 130, M1, AIB_LOCK_KIND_MUTEX, 4, 1);
	pending(lt, 135, M1, AIB_LOCK_KIND_MUTEX, 2, 1); /* polled again: still its wait */
	l = lock_table__find(lt, M1);
	assert_int_equal(l->nwaiters, 3);
	assert_int_equal(l->max_waiters, 3);
	assert_int_equal(l->waiters[0].task_id, 2);
	assert_int_equal(l->waiters[0].since, 110);
	assert_int_equal(l->waiters[1].task_id, 3);
	assert_int_equal(l->waiters[2].task_id, 4);
	assert_ptr_equal(lock_table__waiting_for(lt, 3, &w), l);
	assert_int_equal(w->since, 120);
	assert_int_equal(w->acquire, ACQ(3));
	assert_null(lock_table__waiting_for(lt, 1, &w));
	assert_int_equal(l->nholders, 1);
	assert_int_equal(l->holders[0].task_id, 1);

	/* holds 100..200, 205..260, 265..300, 305..400 */
	released(lt, 200, M1, 1, 1);
	acquired(lt, 205, M1, AIB_LOCK_KIND_MUTEX, 2, 1); /* waited 95 */
	released(lt, 260, M1, 2, 1);
	acquired(lt, 265, M1, AIB_LOCK_KIND_MUTEX, 3, 1); /* waited 145 */
	released(lt, 300, M1, 3, 1);
	acquired(lt, 305, M1, AIB_LOCK_KIND_MUTEX, 4, 1); /* waited 175 */
	released(lt, 400, M1, 4, 1);

	l = lock_table__find(lt, M1);
	assert_int_equal(l->acquisitions, 4);
	assert_int_equal(l->contended, 3);
	assert_int_equal(l->max_waiters, 3);
	assert_int_equal(l->nwaiters, 0);
	assert_int_equal(l->nholders, 0);
	assert_int_equal(l->wait.count, 3);
	assert_int_equal(l->wait.sum, 95 + 145 + 175);
	assert_int_equal(l->wait.min, 95);
	assert_int_equal(l->wait.max, 175);
	assert_int_equal(l->hold.count, 4);
	assert_int_equal(l->hold.sum, 100 + 55 + 35 + 95);
	assert_int_equal(l->hold.min, 35);
	assert_int_equal(l->hold.max, 100);
	assert_int_equal(l->last_change_ts, 400);
	assert_null(lock_table__waiting_for(lt, 4, NULL));
	assert_int_equal(lock_table__anomalies(lt), 0);
}

static void test_rwlock(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;
	char buf[64];

	released(lt, 5, M1, 9, 1); /* first seen by a release: type unknown */
	l = lock_table__find(lt, M1);
	assert_int_equal(l->type, LOCK_TYPE_UNKNOWN);
	assert_int_equal(l->untracked_releases, 0); /* unknown: maybe a channel */
	acquired(lt, 10, M1, AIB_LOCK_KIND_RWLOCK_READ, 1, 1);
	acquired(lt, 11, M1, AIB_LOCK_KIND_RWLOCK_READ, 2, 1);
	acquired(lt, 12, M1, AIB_LOCK_KIND_UNKNOWN, 3, 1);
	pending(lt, 20, M1, AIB_LOCK_KIND_RWLOCK_WRITE, 4, MAX_READS);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->type, LOCK_TYPE_RWLOCK);
	assert_int_equal(l->nholders, 3);
	assert_int_equal(l->nwaiters, 1);
	assert_int_equal(l->waiters[0].permits, MAX_READS);
	assert_int_equal(l->waiters[0].kind, AIB_LOCK_KIND_RWLOCK_WRITE);
	assert_string_equal(lock_info__label(l, buf, sizeof(buf)), "RwLock@0x55d0c0a0");

	released(lt, 30, M1, 2, 1);
	released(lt, 31, M1, 1, 1);
	released(lt, 32, M1, 3, 1);
	acquired(lt, 40, M1, AIB_LOCK_KIND_RWLOCK_WRITE, 4, MAX_READS); /* waited 20 */
	l = lock_table__find(lt, M1);
	assert_int_equal(l->nholders, 1);
	assert_int_equal(l->holders[0].permits, MAX_READS);
	/* downgrade(): all but one permit back, the hold goes on as a read */
	released(lt, 50, M1, 4, MAX_READS - 1);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->nholders, 1);
	assert_int_equal(l->holders[0].permits, 1);
	assert_int_equal(l->hold.count, 3);
	released(lt, 70, M1, 4, 1);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->nholders, 0);
	assert_int_equal(l->hold.count, 4);
	assert_int_equal(l->hold.sum, 19 + 21 + 20 + 30);
	assert_int_equal(l->wait.sum, 20);
	assert_int_equal(l->acquisitions, 4);
	assert_int_equal(l->contended, 1);
	assert_int_equal(l->untracked_releases, 0);
	assert_int_equal(lock_table__anomalies(lt), 0);
}

static void test_type_rules(void **state)
{
	struct lock_table *lt = *state;
	struct aib_ev_lock e = ev(9, AIB_LOCK_KIND_MUTEX, 0x999, 40, 1, 0, 1);
	const struct lock_info *l;

	acquired(lt, 1, M1, AIB_LOCK_KIND_UNKNOWN, 1, 1);
	assert_int_equal(lock_table__find(lt, M1)->type, LOCK_TYPE_UNKNOWN);
	released(lt, 2, M1, 1, 1);
	acquired(lt, 3, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	released(lt, 4, M1, 1, 1);
	acquired(lt, 5, M1, AIB_LOCK_KIND_UNKNOWN, 1, 1); /* never downgraded */
	released(lt, 6, M1, 1, 1);
	assert_int_equal(lock_table__find(lt, M1)->type, LOCK_TYPE_MUTEX);
	assert_int_equal(lock_table__anomalies(lt), 0);
	acquired(lt, 7, M1, AIB_LOCK_KIND_RWLOCK_READ, 1, 1); /* RwLock wins */
	released(lt, 8, M1, 1, 1);
	acquired(lt, 9, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->type, LOCK_TYPE_RWLOCK);
	assert_int_equal(lock_table__anomalies(lt), 2); /* two contradictions */

	/* a channel: waits, no holders, releases by the receiver */
	pending(lt, 10, M2, AIB_LOCK_KIND_CHANNEL, 5, 1);
	acquired(lt, 25, M2, AIB_LOCK_KIND_CHANNEL, 5, 1);
	released(lt, 30, M2, 6, 1);
	l = lock_table__find(lt, M2);
	assert_int_equal(l->type, LOCK_TYPE_CHANNEL);
	assert_int_equal(l->acquisitions, 1);
	assert_int_equal(l->contended, 1);
	assert_int_equal(l->wait.sum, 15);
	assert_int_equal(l->nholders, 0);
	assert_int_equal(l->hold.count, 0);
	assert_int_equal(l->untracked_releases, 0);

	/* an op past the ABI is counted, not applied */
	assert_int_equal(lock_table__apply(lt, &e, 1), 0);
	assert_null(lock_table__find(lt, 0x999));
	assert_int_equal(lock_table__anomalies(lt), 3);
}

static void test_moved_guard_and_untracked(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	/* a Mutex guard moved to task 9: its release ends task 1's hold */
	acquired(lt, 10, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	released(lt, 30, M1, 9, 1);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->nholders, 0);
	assert_int_equal(l->hold.count, 1);
	assert_int_equal(l->hold.sum, 20);
	/* permits nobody traced took (try_lock): untracked */
	released(lt, 40, M1, 2, 1);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->untracked_releases, 1);
	assert_int_equal(l->hold.count, 1);

	/* Semaphore: a moved permit ends the oldest hold of its size */
	acquired(lt, 100, M2, AIB_LOCK_KIND_SEMAPHORE, 1, 2);
	acquired(lt, 110, M2, AIB_LOCK_KIND_SEMAPHORE, 2, 1);
	acquired(lt, 120, M2, AIB_LOCK_KIND_SEMAPHORE, 3, 1);
	released(lt, 150, M2, 7, 1); /* task 2's: 40 */
	l = lock_table__find(lt, M2);
	assert_int_equal(l->nholders, 2);
	assert_int_equal(l->holders[0].task_id, 1);
	assert_int_equal(l->holders[1].task_id, 3);
	assert_int_equal(l->hold.sum, 40);
	released(lt, 160, M2, 3, 1); /* its own: 40 */
	released(lt, 170, M2, 1, 1); /* part of task 1's two */
	l = lock_table__find(lt, M2);
	assert_int_equal(l->nholders, 1);
	assert_int_equal(l->holders[0].permits, 1);
	assert_int_equal(l->hold.count, 2);
	released(lt, 180, M2, 8, 3); /* more than held, other task: the oldest */
	l = lock_table__find(lt, M2);
	assert_int_equal(l->nholders, 0);
	assert_int_equal(l->hold.count, 3);
	assert_int_equal(l->hold.sum, 40 + 40 + 80);
	assert_int_equal(l->untracked_releases, 0);
}

static void test_gave_up_and_closed(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	acquired(lt, 10, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	pending(lt, 20, M1, AIB_LOCK_KIND_MUTEX, 2, 1);
	pending(lt, 21, M1, AIB_LOCK_KIND_MUTEX, 3, 1);
	apply(lt, ev(AIB_LOCK_PENDING, AIB_LOCK_KIND_MUTEX, M1, 22, 0, 0xabc0, 1)); /* a thread */
	apply(lt, ev(AIB_LOCK_GAVE_UP, AIB_LOCK_KIND_UNKNOWN, M1, 30, 2, ACQ(2), 1));
	l = lock_table__find(lt, M1);
	assert_int_equal(l->gave_up, 1);
	assert_int_equal(l->nwaiters, 2);
	assert_null(lock_table__waiting_for(lt, 2, NULL));
	/* dropped where no task runs: found by its Acquire */
	apply(lt, ev(AIB_LOCK_GAVE_UP, AIB_LOCK_KIND_UNKNOWN, M1, 31, 0, 0xabc0, 1));
	l = lock_table__find(lt, M1);
	assert_int_equal(l->gave_up, 2);
	assert_int_equal(l->nwaiters, 1);
	assert_int_equal(l->waiters[0].task_id, 3);
	/* a give-up of an Acquire never seen queued changes nothing else */
	apply(lt, ev(AIB_LOCK_GAVE_UP, AIB_LOCK_KIND_UNKNOWN, M1, 32, 3, 0xdead0, 1));
	assert_int_equal(lock_table__find(lt, M1)->nwaiters, 1);
	apply(lt, ev(AIB_LOCK_CLOSED, AIB_LOCK_KIND_MUTEX, M1, 40, 3, ACQ(3), 1));
	l = lock_table__find(lt, M1);
	assert_int_equal(l->gave_up, 3);
	assert_int_equal(l->closed, 1);
	assert_int_equal(l->nwaiters, 0);
	assert_int_equal(l->max_waiters, 3);
	assert_int_equal(l->wait.count, 0);
	assert_int_equal(l->contended, 0);
	assert_int_equal(l->acquisitions, 1);
	assert_null(lock_table__waiting_for(lt, 3, NULL));
	assert_int_equal(lock_table__anomalies(lt), 0);
}

static void test_waits_move(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	/* a task Pending on a second lock no longer waits on the first */
	pending(lt, 10, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	pending(lt, 20, M2, AIB_LOCK_KIND_MUTEX, 1, 1);
	assert_int_equal(lock_table__find(lt, M1)->nwaiters, 0);
	assert_int_equal(lock_table__find(lt, M2)->nwaiters, 1);
	assert_ptr_equal(lock_table__waiting_for(lt, 1, NULL), lock_table__find(lt, M2));
	assert_int_equal(lock_table__anomalies(lt), 1);

	/* an Acquire polled by another task keeps its wait, now that task's */
	apply(lt, ev(AIB_LOCK_PENDING, AIB_LOCK_KIND_MUTEX, M2, 30, 5, ACQ(1), 1));
	l = lock_table__find(lt, M2);
	assert_int_equal(l->nwaiters, 1);
	assert_int_equal(l->waiters[0].task_id, 5);
	assert_int_equal(l->waiters[0].since, 20);
	assert_null(lock_table__waiting_for(lt, 1, NULL));
	assert_ptr_equal(lock_table__waiting_for(lt, 5, NULL), l);
	apply(lt, ev(AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_MUTEX, M2, 50, 6, ACQ(1), 1));
	l = lock_table__find(lt, M2);
	assert_int_equal(l->contended, 1);
	assert_int_equal(l->wait.sum, 30);
	assert_int_equal(l->nwaiters, 0);
	assert_null(lock_table__waiting_for(lt, 5, NULL));
	assert_int_equal(l->holders[0].task_id, 6);

	/* a queued acquire overtaken by another of the same task was stale */
	pending(lt, 60, M1, AIB_LOCK_KIND_MUTEX, 7, 1);
	apply(lt, ev(AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_MUTEX, M1, 70, 7, 0x5150, 1));
	l = lock_table__find(lt, M1);
	assert_int_equal(l->nwaiters, 0);
	assert_int_equal(l->contended, 0);
	assert_null(lock_table__waiting_for(lt, 7, NULL));
	assert_int_equal(lock_table__anomalies(lt), 2);
}

static void test_task_ended(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	acquired(lt, 10, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	acquired(lt, 20, M2, AIB_LOCK_KIND_MUTEX, 2, 1);
	pending(lt, 30, M1, AIB_LOCK_KIND_MUTEX, 2, 1);
	lock_table__task_ended(lt, 77, 35); /* in nothing */
	lock_table__task_ended(lt, 0, 35);
	lock_table__task_ended(lt, 2, 40);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->nwaiters, 0);
	assert_int_equal(l->wait.count, 0);
	assert_int_equal(l->holders[0].task_id, 1);
	assert_false(l->holders[0].task_ended);
	assert_null(lock_table__waiting_for(lt, 2, NULL));
	l = lock_table__find(lt, M2);
	assert_int_equal(l->nholders, 1);
	assert_true(l->holders[0].task_ended);
	assert_int_equal(l->holders[0].task_id, 2);
	/* the guard it leaked is dropped later, elsewhere */
	released(lt, 90, M2, 0, 1);
	l = lock_table__find(lt, M2);
	assert_int_equal(l->nholders, 0);
	assert_int_equal(l->hold.sum, 70);
	lock_table__task_ended(lt, 2, 100); /* again: nothing left */
	assert_int_equal(lock_table__anomalies(lt), 0);
}

static void test_finish_open_waits(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	acquired(lt, 50, M1, AIB_LOCK_KIND_MUTEX, 1, 1);
	pending(lt, 100, M1, AIB_LOCK_KIND_MUTEX, 2, 1);
	pending(lt, 150, M1, AIB_LOCK_KIND_MUTEX, 3, 1);
	lock_table__finish(lt, 300);
	lock_table__finish(lt, 400); /* once */
	l = lock_table__find(lt, M1);
	assert_int_equal(l->wait.count, 2);
	assert_int_equal(l->wait.sum, 200 + 150);
	assert_int_equal(l->open_wait_ns, 350);
	assert_int_equal(l->contended, 0);
	assert_int_equal(l->nwaiters, 2); /* still shown as waiting */
}

static __u64 addr_of(size_t i)
{
	return 0x10000 + i * 64;
}

static void test_eviction(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	for (size_t i = 0; i < LOCK_TABLE_MAX + 10; i++) {
		acquired(lt, 10 * i + 1, addr_of(i), AIB_LOCK_KIND_MUTEX, 1, 1);
		released(lt, 10 * i + 2, addr_of(i), 1, 1);
	}
	assert_int_equal(lock_table__count(lt), LOCK_TABLE_MAX);
	assert_int_equal(lock_table__evicted(lt), 10);
	for (size_t i = 0; i < 10; i++)
		assert_null(lock_table__find(lt, addr_of(i)));
	for (size_t i = 10; i < LOCK_TABLE_MAX + 10; i++) {
		l = lock_table__find(lt, addr_of(i));
		assert_non_null(l);
		assert_int_equal(l->address, addr_of(i));
		assert_int_equal(l->hold.count, 1);
		assert_int_equal(l->first_ts, 10 * i + 1);
	}
	/* the new ones took the evicted ones' slots */
	assert_int_equal(lock_table__get(lt, 0)->address, addr_of(LOCK_TABLE_MAX));
	assert_int_equal(lock_table__get(lt, 10)->address, addr_of(10));

	/* a busy lock is never evicted: the idle one changed longest ago goes */
	pending(lt, 100000, addr_of(10), AIB_LOCK_KIND_MUTEX, 2, 1);
	acquired(lt, 100001, addr_of(100000), AIB_LOCK_KIND_MUTEX, 3, 1);
	assert_non_null(lock_table__find(lt, addr_of(10)));
	assert_null(lock_table__find(lt, addr_of(11)));
	assert_ptr_equal(lock_table__waiting_for(lt, 2, NULL), lock_table__find(lt, addr_of(10)));
	assert_int_equal(lock_table__evicted(lt), 11);
	assert_int_equal(lock_table__anomalies(lt), 0);
}

static void test_full_of_busy_locks(void **state)
{
	struct lock_table *lt = *state;

	for (size_t i = 0; i < LOCK_TABLE_MAX; i++)
		acquired(lt, i + 1, addr_of(i), AIB_LOCK_KIND_MUTEX, 1, 1);
	acquired(lt, 1000000, addr_of(LOCK_TABLE_MAX), AIB_LOCK_KIND_MUTEX, 2, 1);
	assert_int_equal(lock_table__count(lt), LOCK_TABLE_MAX);
	assert_null(lock_table__find(lt, addr_of(LOCK_TABLE_MAX)));
	assert_int_equal(lock_table__evicted(lt), 0);
	assert_int_equal(lock_table__anomalies(lt), 1);
	/* every hold is task 1's: its end marks them all */
	lock_table__task_ended(lt, 1, 2000000);
	for (size_t i = 0; i < LOCK_TABLE_MAX; i++)
		assert_true(lock_table__get(lt, i)->holders[0].task_ended);
}

static void test_semaphore_permits_and_labels(void **state)
{
	struct lock_table *lt = *state;
	struct aib_ev_lock e;
	char buf[64];

	e = ev(AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_SEMAPHORE, M1, 10, 1, ACQ(1), 1);
	e.available = 3; /* at the poll's entry: nothing held yet */
	apply(lt, e);
	assert_int_equal(lock_table__find(lt, M1)->permits_seen, 3);
	e = ev(AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_SEMAPHORE, M1, 20, 2, ACQ(2), 1);
	e.available = 2; /* + 1 held */
	apply(lt, e);
	e = ev(AIB_LOCK_PENDING, AIB_LOCK_KIND_SEMAPHORE, M1, 30, 3, ACQ(3), 2);
	e.available = 1; /* + 2 held */
	apply(lt, e);
	assert_int_equal(lock_table__find(lt, M1)->permits_seen, 3);
	assert_string_equal(lock_info__label(lock_table__find(lt, M1), buf, sizeof(buf)),
			    "Semaphore(3)@0x55d0c0a0");

	acquired(lt, 40, M2, AIB_LOCK_KIND_SEMAPHORE, 1, 1); /* no count seen */
	assert_string_equal(lock_info__label(lock_table__find(lt, M2), buf, sizeof(buf)),
			    "Semaphore@0x55d0c100");
	acquired(lt, 50, 0x1234, AIB_LOCK_KIND_MUTEX, 1, 1);
	assert_string_equal(lock_info__label(lock_table__find(lt, 0x1234), buf, sizeof(buf)),
			    "Mutex@0x1234");
	released(lt, 60, 0x5678, 1, 1);
	assert_string_equal(lock_info__label(lock_table__find(lt, 0x5678), buf, sizeof(buf)),
			    "lock@0x5678");
	lock_info__label(lock_table__find(lt, M1), buf, 8); /* truncated, terminated */
	assert_string_equal(buf, "Semapho");

	assert_string_equal(lock_type_name(LOCK_TYPE_MUTEX), "Mutex");
	assert_string_equal(lock_type_name(LOCK_TYPE_RWLOCK), "RwLock");
	assert_string_equal(lock_type_name(LOCK_TYPE_SEMAPHORE), "Semaphore");
	assert_string_equal(lock_type_name(LOCK_TYPE_CHANNEL), "channel");
	assert_string_equal(lock_type_name(LOCK_TYPE_UNKNOWN), "lock");
}

/* A guard found in a parked task's memory at attach: a holder whose
 * release ends a hold, but no acquisition of the session. */
static void test_held_at_attach(void **state)
{
	struct lock_table *lt = *state;
	const struct lock_info *l;

	apply(lt, ev(AIB_LOCK_HELD, AIB_LOCK_KIND_MUTEX, M1, 100, 3, 0, 1));
	apply(lt, ev(AIB_LOCK_PENDING, AIB_LOCK_KIND_MUTEX, M1, 100, 4, 0, 1));
	l = lock_table__find(lt, M1);
	assert_non_null(l);
	assert_int_equal(l->acquisitions, 0);
	assert_int_equal(l->nholders, 1);
	assert_int_equal(l->holders[0].task_id, 3);
	assert_int_equal(l->nwaiters, 1);
	released(lt, 300, M1, 3, 1);
	acquired(lt, 310, M1, AIB_LOCK_KIND_MUTEX, 4, 1);
	l = lock_table__find(lt, M1);
	assert_int_equal(l->hold.count, 1);
	assert_int_equal(l->hold.max, 200);
	assert_int_equal(l->untracked_releases, 0);
	assert_int_equal(l->acquisitions, 1);
	assert_int_equal(l->contended, 1);
	assert_int_equal(l->wait.max, 210);
}

/* ---- random sequences: never a crash, always consistent ---- */

static __u64 rnd(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define FUZZ_LOCKS 4
#define FUZZ_TASKS 6

/* holds found at attach (AIB_LOCK_HELD) per fuzz lock: holders, not acquisitions */
static __u64 fuzz_held[FUZZ_LOCKS];

static void check_invariants(const struct lock_table *lt)
{
	size_t waits[FUZZ_TASKS] = {0};

	for (size_t i = 0; i < lock_table__count(lt); i++) {
		const struct lock_info *l = lock_table__get(lt, i);

		assert_ptr_equal(lock_table__find(lt, l->address), l);
		assert_true(l->nwaiters <= l->max_waiters);
		assert_true(l->contended <= l->acquisitions);
		assert_int_equal(l->wait.count, l->contended);
		assert_true(l->hold.count + l->nholders <=
			    l->acquisitions + fuzz_held[(l->address - 0x1000) / 0x40]);
		for (size_t j = 0; j < l->nwaiters; j++) {
			const struct lock_waiter *w = NULL;
			__u64 t = l->waiters[j].task_id;

			if (!t)
				continue;
			waits[t]++;
			assert_ptr_equal(lock_table__waiting_for(lt, t, &w), l);
			assert_ptr_equal(w, &l->waiters[j]);
		}
	}
	for (__u64 t = 1; t < FUZZ_TASKS; t++) {
		assert_true(waits[t] <= 1); /* no task waits on two locks */
		if (!waits[t])
			assert_null(lock_table__waiting_for(lt, t, NULL));
	}
}

static void test_random_sequences(void **state)
{
	struct lock_table *lt = *state;
	__u64 s = 0x9e3779b97f4a7c15ULL, ts = 1000;

	for (int i = 0; i < 200000; i++) {
		__u64 r = rnd(&s);
		__u64 task = r % FUZZ_TASKS;
		struct aib_ev_lock e = ev((__u16)((r >> 8) % 7), (__u16)((r >> 12) % 6),
					  0x1000 + ((r >> 16) % FUZZ_LOCKS) * 0x40,
					  ts + (r >> 20) % 50 - 10, task,
					  (r >> 24) % 4 ? ACQ((r >> 28) % 8) : 0,
					  (r >> 32) % 3 ? 1 : (__u32)((r >> 36) % 4));

		if ((r >> 40) % 7 == 0)
			e.available = (r >> 44) % 5;
		ts += 5;
		if ((r >> 48) % 50 == 0) {
			lock_table__task_ended(lt, task, ts);
		} else {
			fuzz_held[(e.sem - 0x1000) / 0x40] += e.op == AIB_LOCK_HELD;
			assert_int_equal(lock_table__apply(lt, &e, task), 0);
		}
		if (i % 97 == 0)
			check_invariants(lt);
	}
	check_invariants(lt);
	assert_true(lock_table__count(lt) <= FUZZ_LOCKS);
	lock_table__finish(lt, ts);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_uncontended),
		T(test_queue_served_in_order),
		T(test_rwlock),
		T(test_type_rules),
		T(test_moved_guard_and_untracked),
		T(test_gave_up_and_closed),
		T(test_waits_move),
		T(test_task_ended),
		T(test_finish_open_waits),
		T(test_eviction),
		T(test_full_of_busy_locks),
		T(test_semaphore_permits_and_labels),
		T(test_held_at_attach),
		T(test_random_sequences),
	};

	return cmocka_run_group_tests_name("lock_table", tests, NULL, NULL);
}
