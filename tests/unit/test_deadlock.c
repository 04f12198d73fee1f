// SPDX-License-Identifier: MIT
/*
 * The deadlock finder on lock tables fed with synthetic AIB_EV_LOCK
 * sequences (and join waits): cycles are found only once settled for the
 * confirmation delay, exactly, rotated, once, and resolved when they go;
 * tasks that can still progress, or merely queue behind a cycle, are not
 * members.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/deadlock.h"
#include "model/lock_table.h"

#define CONFIRM 1000
#define L1 0x5000ULL
#define L2 0x6000ULL
#define L3 0x7000ULL

struct ctx {
	struct lock_table *lt;
	struct deadlock_finder *f;
	struct join_wait joins[8];
	size_t njoins;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->lt = lock_table__new();
	c->f = deadlock_finder__new(CONFIRM);
	*state = c;
	return c->lt && c->f ? 0 : -1;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	deadlock_finder__free(c->f);
	lock_table__free(c->lt);
	free(c);
	return 0;
}

/* ---- record builders: one Acquire future per task and lock ---- */

static void op(struct ctx *c, __u16 o, __u16 kind, __u64 sem, __u64 ts, __u64 task,
	       __u32 permits)
{
	struct aib_ev_lock e = {
		.hdr = {.kind = AIB_EV_LOCK, .size = sizeof(e), .tid = 1, .ts = ts},
		.sem = sem,
		.task_id = task,
		.acquire = o == AIB_LOCK_RELEASED ? 0 : 0x7ff00000ULL + task * 0x1000 + (sem >> 8),
		.available = ~0ULL,
		.permits = permits,
		.op = o,
		.kind = kind,
	};

	assert_int_equal(lock_table__apply(c->lt, &e, task), 0);
}

static void lock(struct ctx *c, __u64 ts, __u64 sem, __u64 task)
{
	op(c, AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_MUTEX, sem, ts, task, 1);
}

static void wait(struct ctx *c, __u64 ts, __u64 sem, __u64 task)
{
	op(c, AIB_LOCK_PENDING, AIB_LOCK_KIND_MUTEX, sem, ts, task, 1);
}

static void unlock(struct ctx *c, __u64 ts, __u64 sem, __u64 task)
{
	op(c, AIB_LOCK_RELEASED, AIB_LOCK_KIND_UNKNOWN, sem, ts, task, 1);
}

static void join(struct ctx *c, __u64 waiter, __u64 joined, __u64 since)
{
	c->joins[c->njoins++] = (struct join_wait){
		.waiter_id = waiter, .joined_id = joined, .since = since,
	};
}

static int check(struct ctx *c, __u64 now)
{
	return deadlock_finder__check(c->f, c->lt, c->joins, c->njoins, now);
}

static void assert_link(const struct deadlock *d, int i, __u64 task, __u64 lock)
{
	assert_int_equal(d->links[i].task_id, task);
	assert_int_equal(d->links[i].lock, lock);
}

/* task 5 holds L1 and waits for L2; task 3 holds L2 and waits for L1 */
static void abba(struct ctx *c)
{
	lock(c, 100, L1, 5);
	lock(c, 110, L2, 3);
	wait(c, 200, L2, 5);
	wait(c, 210, L1, 3); /* closes it */
}

/* ---- tests ---- */

static void test_abba_confirmed_after_delay(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	abba(c);
	assert_int_equal(check(c, 300), 0);
	assert_int_equal(check(c, 210 + CONFIRM - 1), 0);
	assert_int_equal(deadlock_finder__count(c->f), 0);
	assert_false(deadlock_finder__involves(c->f, 3));
	assert_int_equal(check(c, 210 + CONFIRM), 1);
	assert_int_equal(deadlock_finder__count(c->f), 1);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->n, 2);
	assert_link(d, 0, 3, L1); /* 3 waits through L1 for 5 */
	assert_link(d, 1, 5, L2);
	assert_int_equal(d->formed_ts, 210);
	assert_int_equal(d->detected_ts, 210 + CONFIRM);
	assert_int_equal(d->resolved_ts, 0);
	assert_true(deadlock_finder__involves(c->f, 3));
	assert_true(deadlock_finder__involves(c->f, 5));
	assert_false(deadlock_finder__involves(c->f, 4));
	assert_null(deadlock_finder__get(c->f, 1));

	/* seen again: reported once */
	assert_int_equal(check(c, 5000), 0);
	assert_int_equal(check(c, 6000), 0);
	assert_int_equal(deadlock_finder__count(c->f), 1);
	assert_int_equal(deadlock_finder__get(c->f, 0)->resolved_ts, 0);
}

static void test_queued_behind_cycle_not_member(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	abba(c);
	wait(c, 220, L1, 1); /* task 1 queues behind it: the walk starts there */
	wait(c, 230, L2, 2);
	assert_int_equal(check(c, 230 + CONFIRM), 1);
	assert_int_equal(deadlock_finder__count(c->f), 1);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->n, 2);
	assert_link(d, 0, 3, L1); /* rotated: smallest id first */
	assert_link(d, 1, 5, L2);
	assert_int_equal(d->formed_ts, 230); /* L2 last changed then */
	assert_false(deadlock_finder__involves(c->f, 1));
	assert_false(deadlock_finder__involves(c->f, 2));
}

static void test_three_tasks(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	lock(c, 10, L1, 7);
	lock(c, 11, L2, 8);
	lock(c, 12, L3, 9);
	wait(c, 20, L2, 7);
	wait(c, 30, L3, 8);
	wait(c, 25, L1, 9);
	assert_int_equal(check(c, 1029), 0);
	assert_int_equal(check(c, 1030), 1);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->n, 3);
	assert_link(d, 0, 7, L2);
	assert_link(d, 1, 8, L3);
	assert_link(d, 2, 9, L1);
	assert_int_equal(d->formed_ts, 30);
}

static void test_self_deadlock(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	lock(c, 10, L1, 4);
	wait(c, 20, L1, 4); /* an acquire of the Mutex it holds */
	assert_int_equal(lock_table__find(c->lt, L1)->nwaiters, 1);
	assert_int_equal(check(c, 20 + CONFIRM), 1);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->n, 1);
	assert_link(d, 0, 4, L1);
}

static void test_long_wait_no_cycle(void **state)
{
	struct ctx *c = *state;

	lock(c, 10, L1, 1); /* its holder is parked elsewhere (a timer...) */
	wait(c, 20, L1, 2);
	wait(c, 21, L1, 3);
	lock(c, 30, L2, 4); /* a holder waiting on a channel can progress */
	op(c, AIB_LOCK_PENDING, AIB_LOCK_KIND_CHANNEL, L3, 40, 4, 1);
	wait(c, 50, L2, 5);
	op(c, AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_MUTEX, 0x8000, 60, 0, 1); /* a thread holds */
	wait(c, 61, 0x8000, 6);
	assert_int_equal(check(c, 1000000), 0);
	assert_int_equal(deadlock_finder__count(c->f), 0);
	for (__u64 t = 1; t <= 6; t++)
		assert_false(deadlock_finder__involves(c->f, t));
}

static void test_release_during_check(void **state)
{
	struct ctx *c = *state;

	abba(c);
	assert_int_equal(check(c, 250), 0); /* looks like a cycle, not settled */
	/* 5's release of L1 was on its way from another CPU */
	unlock(c, 300, L1, 5);
	lock(c, 301, L1, 3);
	assert_int_equal(check(c, 301 + CONFIRM), 0);
	assert_int_equal(check(c, 100000), 0);
	assert_int_equal(deadlock_finder__count(c->f), 0);
}

static void test_semaphore_any_holder(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	/* S has holders 1 and 2; 1 waits for M held by 3, which waits for S */
	op(c, AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_SEMAPHORE, L1, 10, 1, 1);
	op(c, AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_SEMAPHORE, L1, 11, 2, 1);
	lock(c, 12, L2, 3);
	wait(c, 20, L2, 1);
	op(c, AIB_LOCK_PENDING, AIB_LOCK_KIND_SEMAPHORE, L1, 21, 3, 1);
	assert_int_equal(check(c, 100000), 0); /* 2 can release its permit */
	/* now 2 waits for M too: nobody can give S back */
	wait(c, 30, L2, 2);
	assert_int_equal(check(c, 100000), 1);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->n, 2);
	assert_link(d, 0, 1, L2);
	assert_link(d, 1, 3, L1);
	assert_false(deadlock_finder__involves(c->f, 2)); /* queued behind */
}

static void test_mutex_all_holders(void **state)
{
	struct ctx *c = *state;

	/* RwLock read by 1 and 2; the writer 3 holds M that 1 waits for */
	op(c, AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_RWLOCK_READ, L1, 10, 1, 1);
	op(c, AIB_LOCK_ACQUIRED, AIB_LOCK_KIND_RWLOCK_READ, L1, 11, 2, 1);
	lock(c, 12, L2, 3);
	wait(c, 20, L2, 1);
	op(c, AIB_LOCK_PENDING, AIB_LOCK_KIND_RWLOCK_WRITE, L1, 21, 3, 536870911);
	/* 3 needs both readers gone; 1 never goes: a cycle despite 2 */
	assert_int_equal(check(c, 100000), 1);
	assert_link(deadlock_finder__get(c->f, 0), 0, 1, L2);
	assert_link(deadlock_finder__get(c->f, 0), 1, 3, L1);
}

static void test_join_cycle(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	lock(c, 100, L1, 10); /* 10 holds M and awaits 11's JoinHandle */
	wait(c, 200, L1, 11);
	join(c, 10, 11, 500);
	assert_int_equal(check(c, 200 + CONFIRM), 0); /* the join is not settled */
	assert_int_equal(check(c, 500 + CONFIRM - 1), 0);
	assert_int_equal(check(c, 500 + CONFIRM), 1);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->n, 2);
	assert_link(d, 0, 10, 0);
	assert_link(d, 1, 11, L1);
	assert_int_equal(d->formed_ts, 500);

	/* joining a task that can progress is no deadlock */
	c->njoins = 0;
	join(c, 10, 12, 500);
	assert_int_equal(check(c, 3000), 0);
	assert_int_equal(deadlock_finder__get(c->f, 0)->resolved_ts, 3000);
}

static void test_cycle_goes_away(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	abba(c);
	assert_int_equal(check(c, 2000), 1);
	assert_true(deadlock_finder__involves(c->f, 5));
	/* 3's Acquire is dropped (a timeout around it) */
	op(c, AIB_LOCK_GAVE_UP, AIB_LOCK_KIND_UNKNOWN, L1, 2100, 3, 1);
	assert_int_equal(check(c, 2200), 0);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->resolved_ts, 2200);
	assert_false(deadlock_finder__involves(c->f, 3));
	assert_false(deadlock_finder__involves(c->f, 5));
	assert_int_equal(check(c, 9000), 0);
	assert_int_equal(deadlock_finder__get(c->f, 0)->resolved_ts, 2200); /* once */

	/* it forms again: a new deadlock */
	wait(c, 9100, L1, 3);
	assert_int_equal(check(c, 9100 + CONFIRM), 1);
	assert_int_equal(deadlock_finder__count(c->f), 2);
	assert_int_equal(deadlock_finder__get(c->f, 1)->formed_ts, 9100);
	assert_true(deadlock_finder__involves(c->f, 3));
}

static void test_holder_ended(void **state)
{
	struct ctx *c = *state;

	/* 5 holds L1 and L3; 3 waits for L1 and holds L2, that 5 waits for */
	lock(c, 90, L3, 5);
	abba(c);
	wait(c, 220, L3, 6);
	lock_table__task_ended(c->lt, 5, 300);
	assert_int_equal(check(c, 100000), 0);
	assert_int_equal(check(c, 200000), 0);
	assert_int_equal(deadlock_finder__count(c->f), 0);
	assert_false(deadlock_finder__involves(c->f, 6));
}

static void test_ring_lengths(void **state)
{
	struct ctx *c = *state;
	const struct deadlock *d;

	/* task i holds lock i and waits for lock i + 1 (mod n) */
	for (__u64 i = 0; i < DEADLOCK_MAX_LINKS; i++)
		lock(c, 10, 0x10000 + i * 0x100, 100 + i);
	for (__u64 i = 0; i < DEADLOCK_MAX_LINKS; i++)
		wait(c, 20, 0x10000 + (i + 1) % DEADLOCK_MAX_LINKS * 0x100, 100 + i);
	/* a longer one is skipped */
	for (__u64 i = 0; i < DEADLOCK_MAX_LINKS + 1; i++)
		lock(c, 10, 0x90000 + i * 0x100, 200 + i);
	for (__u64 i = 0; i < DEADLOCK_MAX_LINKS + 1; i++)
		wait(c, 20, 0x90000 + (i + 1) % (DEADLOCK_MAX_LINKS + 1) * 0x100, 200 + i);
	assert_int_equal(check(c, 20 + CONFIRM), 1);
	d = deadlock_finder__get(c->f, 0);
	assert_int_equal(d->n, DEADLOCK_MAX_LINKS);
	for (int i = 0; i < DEADLOCK_MAX_LINKS; i++)
		assert_link(d, i, 100 + (__u64)i, 0x10000 + (__u64)(i + 1) % DEADLOCK_MAX_LINKS * 0x100);
	assert_false(deadlock_finder__involves(c->f, 200));
}

static void test_empty(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(check(c, 0), 0);
	assert_int_equal(deadlock_finder__check(c->f, c->lt, NULL, 0, 10), 0);
	join(c, 0, 1, 0); /* no waiter task: ignored */
	join(c, 1, 2, 0); /* 2 waits for nothing */
	assert_int_equal(check(c, 100000), 0);
	assert_int_equal(deadlock_finder__count(c->f), 0);
	deadlock_finder__free(NULL);
}

/* ---- random graphs against the plain fixed point, per the contract ---- */

#define RT 7 /* tasks 0..6; 0 is no task */

static bool ref_lock_ok(const struct lock_info *l, const bool *can)
{
	bool any = false, all = true;

	if (l->type == LOCK_TYPE_CHANNEL || !l->nholders)
		return true;
	for (size_t j = 0; j < l->nholders; j++) {
		const struct lock_holder *h = &l->holders[j];

		if (!h->task_id || h->task_ended)
			return true;
		any |= can[h->task_id];
		all &= can[h->task_id];
	}
	return l->type == LOCK_TYPE_SEMAPHORE && l->nholders > 1 ? any : all;
}

/* Repeat until nothing changes: who can progress. */
static void ref_progress(struct ctx *c, bool *can)
{
	bool changed = true;

	memset(can, 0, RT * sizeof(*can));
	while (changed) {
		changed = false;
		for (__u64 t = 1; t < RT; t++) {
			const struct lock_info *l = lock_table__waiting_for(c->lt, t, NULL);
			bool waits = l, ok = l && ref_lock_ok(l, can);

			for (size_t j = 0; j < c->njoins; j++) {
				if (c->joins[j].waiter_id != t || !c->joins[j].joined_id)
					continue;
				waits = true;
				ok |= can[c->joins[j].joined_id];
			}
			if (!can[t] && (!waits || ok)) {
				can[t] = true;
				changed = true;
			}
		}
	}
}

static __u64 rnd(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_graphs(void **state)
{
	struct ctx *c = *state;
	struct deadlock_finder *f = deadlock_finder__new(0);
	__u64 s = 0x2545f4914f6cdd1dULL, ts = 1000;
	size_t cycles_seen = 0;

	assert_non_null(f);
	for (int i = 0; i < 100000; i++) {
		__u64 r = rnd(&s);
		static const __u16 kinds[] = {AIB_LOCK_KIND_MUTEX, AIB_LOCK_KIND_SEMAPHORE,
					      AIB_LOCK_KIND_RWLOCK_READ, AIB_LOCK_KIND_CHANNEL};
		__u64 sem = 0x1000 + (r >> 8) % 4 * 0x100;
		__u16 o = (__u16)((r >> 12) % 5);
		__u64 task = (r >> 16) % RT;
		bool can[RT], stuck = false, open = false;
		int n;

		ts += 10;
		if ((r >> 24) % 40 == 0) {
			lock_table__task_ended(c->lt, task, ts);
		} else if ((r >> 24) % 40 == 1) {
			c->njoins = 0;
			for (__u64 k = 0; k < (r >> 32) % 4; k++)
				join(c, (r >> (36 + 3 * k)) % RT, (r >> (48 + 3 * k)) % RT, ts);
		} else {
			/* a lock's kind stays: its index picks it */
			op(c, o, kinds[(sem >> 8) % 4], sem, ts, task, 1);
		}
		if (i % 7)
			continue;
		n = deadlock_finder__check(f, c->lt, c->joins, c->njoins, ts);
		assert_true(n >= 0);
		cycles_seen += (size_t)n;
		ref_progress(c, can);
		for (__u64 t = 1; t < RT; t++) {
			stuck |= !can[t];
			if (deadlock_finder__involves(f, t))
				assert_false(can[t]);
		}
		/* tasks stuck <=> a cycle among them now */
		for (size_t k = 0; k < deadlock_finder__count(f); k++)
			open |= !deadlock_finder__get(f, k)->resolved_ts;
		assert_int_equal(open, stuck);
	}
	assert_true(cycles_seen > 10); /* the sequence did make deadlocks */
	deadlock_finder__free(f);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_abba_confirmed_after_delay),
		T(test_queued_behind_cycle_not_member),
		T(test_three_tasks),
		T(test_self_deadlock),
		T(test_long_wait_no_cycle),
		T(test_release_during_check),
		T(test_semaphore_any_holder),
		T(test_mutex_all_holders),
		T(test_join_cycle),
		T(test_cycle_goes_away),
		T(test_holder_ended),
		T(test_ring_lengths),
		T(test_empty),
		T(test_random_graphs),
	};

	return cmocka_run_group_tests_name("deadlock", tests, NULL, NULL);
}
