// SPDX-License-Identifier: MIT
/*
 * Lints (analysis/lints.h) on synthetic record streams built by hand: each
 * lint flags the task that earns it, spares its near miss just below the
 * threshold (or missing one condition), and the counts add up.
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

#include "analysis/lints.h"
#include "inspect/parked.h"
#include "model/task_model.h"
#include "record/await_site.h"
#include "hand_model.h"

static void process(__u64 ts)
{
	struct aib_rec_process p = {.hdr = {AIB_REC_PROCESS, sizeof(p), 0, ts}, .pid = 1,
				    .runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO),
				    .flags = AIB_PROC_SPAWN_LOCATIONS};

	apply(&p.hdr);
}

static void spawn(__u64 ts, __u64 id)
{
	hand_spawn(ts, id, 0, 0, 0);
}

/* on thread 8, at depth 1 */
static void poll(__u16 kind, __u64 ts, __u64 id, __u32 result)
{
	hand_poll(kind, ts, 8, id, result, 1);
}

/* spawned at ts, polled [b, e) with result r */
static void spawn_poll(__u64 ts, __u64 id, __u64 b, __u64 e, __u32 r)
{
	spawn(ts, id);
	poll(AIB_EV_POLL_BEGIN, b, id, 0);
	poll(AIB_EV_POLL_END, e, id, r);
}

static void await_rec(__u64 ts, __u64 id, enum aib_await_method method, const char *detail)
{
	static __u64 buf[(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
	static struct await_desc d;

	memset(&d, 0, sizeof(d));
	d.method = method;
	snprintf(d.detail, sizeof(d.detail), "%s", detail);
	if (method != AIB_AWAIT_NONE) {
		snprintf(d.frames[0].function, sizeof(d.frames[0].function), "app::run::{{closure}}");
		snprintf(d.frames[0].file, sizeof(d.frames[0].file), "src/main.rs");
		d.frames[0].line = 12;
		d.nframes = 1;
	}
	apply(&await_desc__to_record(&d, HDR(id), id, ts, buf)->hdr);
}

static void blocked(__u64 ts, __u64 id)
{
	static __u64 buf[(sizeof(struct aib_rec_blocked) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
	static struct await_desc d;
	struct aib_ev_blocked e = {.hdr = {AIB_EV_BLOCKED, sizeof(e), 8, ts}, .task = HDR(id),
				   .task_id = id, .start_ts = ts - 2 * MS, .syscall = 35};

	memset(&d, 0, sizeof(d));
	apply(&await_desc__to_blocked_record(&d, &e, buf)->hdr);
}

static void lock(__u64 ts, __u64 id, __u16 op)
{
	struct aib_ev_lock e = {.hdr = {AIB_EV_LOCK, sizeof(e), 8, ts}, .sem = 0x5000,
				.task = HDR(id), .task_id = id, .acquire = HDR(id) + 0x40,
				.available = ~0ULL, .permits = 1, .op = op,
				.kind = AIB_LOCK_KIND_MUTEX};

	apply(&e.hdr);
}

static int setup(void **state)
{
	M = task_model__new();
	return M ? 0 : -1;
}

static int teardown(void **state)
{
	task_model__free(M);
	return 0;
}

static __u32 flags_of(__u64 id, const struct lint_opts *o)
{
	for (size_t i = 0; i < task_model__task_count(M); i++)
		if (task_model__task(M, i)->id == id)
			return lint__task(M, task_model__task(M, i), o);
	fail_msg("no task %llu", (unsigned long long)id);
	return 0;
}

static void test_names(void **state)
{
	char buf[64];

	for (int l = 0; l < LINT_MAX; l++) {
		assert_true(strlen(lint__name(l)) > 0 && strlen(lint__name(l)) <= 10);
		assert_true(strlen(lint__what(l)) > 10);
	}
	assert_string_equal(lint__names(0, buf, sizeof(buf)), "");
	assert_string_equal(lint__names(LINT_BIT(LINT_LOST_WAKER) | LINT_BIT(LINT_BLOCKING), buf,
					sizeof(buf)),
			    "lost-waker,blocking");
	/* what does not fit is left out whole */
	assert_string_equal(lint__names(LINT_BIT(LINT_LONG_POLL) | LINT_BIT(LINT_STARVED), buf, 14),
			    "long-poll");
}

/* One poll of 20 ms, or the longest of several; a poll in flight at the
 * end; and their near misses. */
static void test_long_poll(void **state)
{
	struct lint_opts o;

	lint_opts__default(&o);
	process(SEC);
	spawn_poll(SEC, 1, SEC + 1 * MS, SEC + 21 * MS, AIB_POLL_PENDING);  /* one 20 ms poll */
	spawn_poll(SEC, 2, SEC + 1 * MS, SEC + 10 * MS - 1, AIB_POLL_READY); /* just under */
	spawn_poll(SEC, 3, SEC + 1 * MS, SEC + 2 * MS, AIB_POLL_NOTIFIED);  /* 1 ms, 12 ms, 1 ms */
	poll(AIB_EV_POLL_BEGIN, SEC + 3 * MS, 3, 0);
	poll(AIB_EV_POLL_END, SEC + 15 * MS, 3, AIB_POLL_NOTIFIED);
	poll(AIB_EV_POLL_BEGIN, SEC + 16 * MS, 3, 0);
	poll(AIB_EV_POLL_END, SEC + 17 * MS, 3, AIB_POLL_PENDING);
	spawn(SEC, 4); /* in a poll since SEC + 80 ms at the end, SEC + 100 ms */
	poll(AIB_EV_POLL_BEGIN, SEC + 80 * MS, 4, 0);
	spawn(SEC, 5); /* the same, 5 ms in */
	poll(AIB_EV_POLL_BEGIN, SEC + 95 * MS, 5, 0);
	task_model__finish(M, SEC + 100 * MS);
	assert_true(flags_of(1, &o) & LINT_BIT(LINT_LONG_POLL));
	assert_false(flags_of(2, &o) & LINT_BIT(LINT_LONG_POLL));
	assert_true(flags_of(3, &o) & LINT_BIT(LINT_LONG_POLL));
	assert_true(flags_of(4, &o) & LINT_BIT(LINT_LONG_POLL));
	assert_false(flags_of(5, &o) & LINT_BIT(LINT_LONG_POLL));
	o.long_poll_ns = 13 * MS; /* task 3's longest is 12 ms */
	assert_false(flags_of(3, &o) & LINT_BIT(LINT_LONG_POLL));
}

static void test_self_wakes(void **state)
{
	struct lint_opts o;

	lint_opts__default(&o);
	process(SEC);
	/* task 1: 5 of its 6 wakes its own */
	spawn_poll(SEC, 1, SEC + 1000, SEC + 2000, AIB_POLL_PENDING);
	hand_wake(SEC + 3000, 1, 0);
	for (int k = 0; k < 5; k++) {
		poll(AIB_EV_POLL_BEGIN, SEC + 10000 + k * 1000, 1, 0);
		hand_wake(SEC + 10100 + k * 1000, 1, 1);
		poll(AIB_EV_POLL_END, SEC + 10200 + k * 1000, 1, AIB_POLL_NOTIFIED);
	}
	/* task 2: 2 of 2, under self_wake_min */
	spawn_poll(SEC, 2, SEC + 1000, SEC + 2000, AIB_POLL_PENDING);
	for (int k = 0; k < 2; k++) {
		poll(AIB_EV_POLL_BEGIN, SEC + 20000 + k * 1000, 2, 0);
		hand_wake(SEC + 20100 + k * 1000, 2, 2);
		poll(AIB_EV_POLL_END, SEC + 20200 + k * 1000, 2, AIB_POLL_NOTIFIED);
	}
	/* task 3: 2 of 6, by others */
	spawn_poll(SEC, 3, SEC + 1000, SEC + 2000, AIB_POLL_PENDING);
	for (int k = 0; k < 4; k++) {
		hand_wake(SEC + 30000 + k * 1000, 3, 1);
		poll(AIB_EV_POLL_BEGIN, SEC + 30100 + k * 1000, 3, 0);
		if (k < 2)
			hand_wake(SEC + 30200 + k * 1000, 3, 3);
		poll(AIB_EV_POLL_END, SEC + 30300 + k * 1000, 3, k < 2 ? AIB_POLL_NOTIFIED : AIB_POLL_PENDING);
	}
	task_model__finish(M, SEC + MS);
	assert_true(flags_of(1, &o) & LINT_BIT(LINT_SELF_WAKES));
	assert_false(flags_of(2, &o) & LINT_BIT(LINT_SELF_WAKES));
	assert_false(flags_of(3, &o) & LINT_BIT(LINT_SELF_WAKES));
	o.self_wake_min = 2;
	assert_true(flags_of(2, &o) & LINT_BIT(LINT_SELF_WAKES));
	o.self_wake_share = 0.3; /* 2 of 6 is a third */
	o.self_wake_min = 4;
	assert_true(flags_of(3, &o) & LINT_BIT(LINT_SELF_WAKES));
}

/* Idle 2 s, and its await record says none of its polls cloned its waker;
 * then the near misses, one condition short each. */
static void test_lost_waker(void **state)
{
	struct lint_opts o;
	struct lints *l;

	lint_opts__default(&o);
	process(SEC);
	spawn_poll(SEC, 1, SEC + 1000, SEC + 2000, AIB_POLL_PENDING); /* lost */
	spawn_poll(SEC, 2, SEC + 1000, SEC + 2000, AIB_POLL_PENDING); /* an await site: a clone */
	spawn_poll(3 * SEC - 2 * MS, 3, 3 * SEC - MS, 3 * SEC - MS + 1000, AIB_POLL_PENDING); /* idle 1 ms */
	/* 4: first seen at a poll (its spawn, and earlier clones, unseen) */
	poll(AIB_EV_POLL_BEGIN, SEC + 1000, 4, 0);
	poll(AIB_EV_POLL_END, SEC + 2000, 4, AIB_POLL_PENDING);
	spawn_poll(SEC, 5, SEC + 1000, SEC + 2000, AIB_POLL_PENDING); /* woken since: runnable */
	hand_wake(3 * SEC - MS, 5, 0);
	spawn_poll(SEC, 6, SEC + 1000, SEC + 2000, AIB_POLL_PENDING); /* nothing known, another reason */
	await_rec(3 * SEC, 1, AIB_AWAIT_NONE, PARKED_NO_WAKER_CLONED);
	await_rec(3 * SEC, 2, AIB_AWAIT_STACK, "mpsc receive");
	await_rec(3 * SEC, 3, AIB_AWAIT_NONE, PARKED_NO_WAKER_CLONED);
	await_rec(3 * SEC, 4, AIB_AWAIT_NONE, PARKED_NO_WAKER_CLONED);
	await_rec(3 * SEC, 5, AIB_AWAIT_NONE, PARKED_NO_WAKER_CLONED);
	await_rec(3 * SEC, 6, AIB_AWAIT_NONE, "its stack could not be read");
	task_model__finish(M, 3 * SEC);
	assert_int_equal(flags_of(1, &o), LINT_BIT(LINT_LOST_WAKER));
	for (__u64 id = 2; id <= 6; id++)
		assert_false(flags_of(id, &o) & LINT_BIT(LINT_LOST_WAKER));
	l = lints__new(M, &o);
	assert_non_null(l);
	assert_int_equal(lints__count(l, LINT_LOST_WAKER), 1);
	assert_int_equal(lints__flagged(l), 1);
	lints__free(l);
}

/* An await stack dropped in BPF: "no clone" may be that drop. */
static void test_lost_waker_not_with_dropped_stacks(void **state)
{
	struct lint_opts o;
	struct aib_rec_drops d = {.hdr = {AIB_REC_DROPS, sizeof(d), 0, 2 * SEC}};

	lint_opts__default(&o);
	process(SEC);
	spawn_poll(SEC, 1, SEC + 1000, SEC + 2000, AIB_POLL_PENDING);
	await_rec(3 * SEC, 1, AIB_AWAIT_NONE, PARKED_NO_WAKER_CLONED);
	d.count[AIB_DROP_AWAIT_STACKS] = 1;
	apply(&d.hdr);
	task_model__finish(M, 3 * SEC);
	assert_int_equal(flags_of(1, &o), 0);
}

/* A spawn polled 60 ms later, a wake polled 60 ms later, a task runnable
 * for 60 ms at the end; and a quick one. */
static void test_starved(void **state)
{
	struct lint_opts o;

	lint_opts__default(&o);
	process(SEC);
	spawn_poll(SEC, 1, SEC + 60 * MS, SEC + 61 * MS, AIB_POLL_PENDING);
	spawn_poll(SEC, 2, SEC + 1 * MS, SEC + 2 * MS, AIB_POLL_PENDING);
	hand_wake(SEC + 3 * MS, 2, 0);
	poll(AIB_EV_POLL_BEGIN, SEC + 63 * MS, 2, 0);
	poll(AIB_EV_POLL_END, SEC + 64 * MS, 2, AIB_POLL_PENDING);
	spawn_poll(SEC, 3, SEC + 1 * MS, SEC + 2 * MS, AIB_POLL_PENDING);
	hand_wake(SEC + 40 * MS, 3, 0); /* runnable from 40 to 100 ms */
	spawn_poll(SEC, 4, SEC + 1 * MS, SEC + 2 * MS, AIB_POLL_PENDING);
	hand_wake(SEC + 60 * MS, 4, 0); /* runnable from 60 to 100 ms: 40 ms */
	task_model__finish(M, SEC + 100 * MS);
	for (__u64 id = 1; id <= 3; id++)
		assert_int_equal(flags_of(id, &o), LINT_BIT(LINT_STARVED));
	assert_int_equal(flags_of(4, &o), 0);
}

static void test_blocking_lock_wait_panicked(void **state)
{
	struct lint_opts o;
	struct lints *l;
	char buf[64];

	lint_opts__default(&o);
	process(SEC);
	spawn(SEC, 1);
	poll(AIB_EV_POLL_BEGIN, SEC + 1000, 1, 0);
	blocked(SEC + 3 * MS, 1);
	poll(AIB_EV_POLL_END, SEC + 4 * MS, 1, AIB_POLL_PENDING);
	spawn(SEC, 2); /* queued on a lock since SEC + 1 ms: 2 s at the end */
	poll(AIB_EV_POLL_BEGIN, SEC + 1 * MS, 2, 0);
	lock(SEC + 1 * MS + 100, 2, AIB_LOCK_PENDING);
	poll(AIB_EV_POLL_END, SEC + 1 * MS + 200, 2, AIB_POLL_PENDING);
	spawn(2500 * MS, 3); /* queued 0.5 s */
	poll(AIB_EV_POLL_BEGIN, 2500 * MS, 3, 0);
	lock(2500 * MS + 100, 3, AIB_LOCK_PENDING);
	poll(AIB_EV_POLL_END, 2500 * MS + 200, 3, AIB_POLL_PENDING);
	spawn_poll(SEC, 4, SEC + 1000, SEC + 2000, AIB_POLL_PANICKED);
	task_model__finish(M, 3 * SEC + 2 * MS);
	assert_int_equal(flags_of(1, &o), LINT_BIT(LINT_BLOCKING));
	assert_int_equal(flags_of(2, &o), LINT_BIT(LINT_LOCK_WAIT));
	assert_int_equal(flags_of(3, &o), 0);
	assert_int_equal(flags_of(4, &o), LINT_BIT(LINT_PANICKED));
	l = lints__new(M, &o);
	assert_non_null(l);
	assert_int_equal(lints__flagged(l), 3);
	for (int k = 0; k < LINT_MAX; k++)
		assert_int_equal(lints__count(l, k),
				 k == LINT_BLOCKING || k == LINT_LOCK_WAIT || k == LINT_PANICKED);
	for (size_t i = 0; i < task_model__task_count(M); i++)
		assert_int_equal(lints__flags(l, i), lint__task(M, task_model__task(M, i), &o));
	assert_int_equal(lints__flags(l, 999), 0);
	assert_string_equal(lint__names(lints__flags(l, 0), buf, sizeof(buf)), "blocking");
	lints__free(l);
}

/* The runtime's carrier (a blocking task a worker loop started in) is
 * never flagged, however long its poll. */
static void test_runtime_task_never_flagged(void **state)
{
	struct lint_opts o;
	struct aib_ev_spawn sp = {.hdr = {AIB_EV_SPAWN, sizeof(sp), 7, SEC}, .predicted_id = 1,
				  .flags = AIB_SPAWN_BLOCKING};
	struct aib_ev_worker wk = {.hdr = {AIB_EV_WORKER_START, sizeof(wk), 8, SEC + 2000}};

	lint_opts__default(&o);
	process(SEC);
	apply(&sp.hdr);
	poll(AIB_EV_POLL_BEGIN, SEC + 1000, 1, 0);
	apply(&wk.hdr);
	task_model__finish(M, 10 * SEC);
	assert_int_equal(task_model__task(M, 0)->kind, TASK_RUNTIME);
	assert_int_equal(flags_of(1, &o), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_long_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_wakes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_waker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_waker_not_with_dropped_stacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_lock_wait_panicked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_task_never_flagged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
