// SPDX-License-Identifier: MIT
/*
 * task_model__clone: a copy finished at T reads as the original finished at
 * T (every task, field by field, and the text and JSON reports byte for
 * byte, which cover locks, blocking sites, locations, retired counts), and
 * the two go on alone: records applied to one, or finishing one, leave the
 * other as a fresh model fed the same records. Under ASan in `make
 * sanitize`. Also prints what a clone costs per task (never asserted).
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "model_compare.h"
#include "synth_stream.h"

static struct task_model *model_of(const struct synth *s, size_t from, size_t to,
				   struct task_model *m)
{
	if (!m)
		m = task_model__new();
	assert_non_null(m);
	for (size_t i = from; i < to; i++)
		assert_int_equal(task_model__apply(m, synth__rec(s, i)), 0);
	return m;
}

static struct synth S;

static int setup(void **state)
{
	synth__make(&S, 60000, 300, 42);
	return 0;
}

static int teardown(void **state)
{
	synth__free(&S);
	return 0;
}

/* The stream holds what the clone must copy: locks, blocking sites,
 * await records, names, pending spawns, retired tasks (checked once). */
static void test_stream_has_everything(void **state)
{
	struct task_model *m = model_of(&S, 0, S.n / 2, NULL);
	size_t named = 0, awaits = 0, hist = 0;

	assert_true(task_model__pending_spawns(m) > 0);
	assert_true(lock_table__count(task_model__locks(m)) > 0);
	assert_true(blocking_calls__count(task_model__blocking(m)) > 0);
	for (size_t i = 0; i < task_model__task_count(m); i++) {
		const struct task_info *t = task_model__task(m, i);

		named += task_info__name(t) != NULL;
		awaits += task_info__await(t) != NULL;
		hist += t->extra && t->extra->poll_hist;
	}
	assert_true(named > 0 && awaits > 0 && hist > 0);
	task_model__free(m);
}

/* Clone at several points, finish both at the same T: the same model. */
static void test_clone_finished_equals_original(void **state)
{
	size_t cuts[] = {1, 10, S.n / 7, S.n / 2, S.n - 1, S.n};

	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		struct task_model *m = model_of(&S, 0, cuts[k], NULL);
		struct task_model *c = task_model__clone(m);
		__u64 t = synth__rec(&S, cuts[k] - 1)->ts + 12345;

		assert_non_null(c);
		task_model__finish(m, t);
		task_model__finish(c, t);
		assert_same_model(m, c);
		task_model__free(m);
		task_model__free(c);
	}
}

/* More records into the original leave the clone as it was, and the
 * other way round: each equals a fresh model of its own records. */
static void test_clone_goes_on_alone(void **state)
{
	size_t cut = S.n / 3, more = S.n / 3 + S.n / 4;
	struct task_model *a = model_of(&S, 0, cut, NULL), *c = task_model__clone(a);
	struct task_model *fresh_cut = model_of(&S, 0, cut, NULL);
	struct task_model *fresh_more = model_of(&S, 0, more, NULL);
	__u64 t1 = synth__rec(&S, cut - 1)->ts, t2 = synth__rec(&S, more - 1)->ts;

	assert_non_null(c);
	model_of(&S, cut, more, a);		/* the original goes on */
	task_model__finish(c, t1);		/* the clone, finished, is the model at cut */
	task_model__finish(fresh_cut, t1);
	assert_same_model(c, fresh_cut);
	task_model__finish(a, t2);
	task_model__finish(fresh_more, t2);
	assert_same_model(a, fresh_more);
	task_model__free(a);
	task_model__free(c);
	task_model__free(fresh_cut);
	task_model__free(fresh_more);

	/* vice versa: the clone goes on, the original stays */
	a = model_of(&S, 0, cut, NULL);
	c = task_model__clone(a);
	fresh_cut = model_of(&S, 0, cut, NULL);
	fresh_more = model_of(&S, 0, more, NULL);
	model_of(&S, cut, more, c);
	task_model__finish(a, t1);
	task_model__finish(fresh_cut, t1);
	assert_same_model(a, fresh_cut);
	task_model__finish(c, t2);
	task_model__finish(fresh_more, t2);
	assert_same_model(c, fresh_more);
	task_model__free(a);
	task_model__free(c);
	task_model__free(fresh_cut);
	task_model__free(fresh_more);
}

/* A clone of a clone whose original is gone; retirement (which renumbers
 * tasks and keys its counts by location string) before and after the clone. */
static void test_clone_of_clone_and_retired(void **state)
{
	size_t cut = S.n / 2;
	struct task_model *a = task_model__new(), *b, *c, *fresh = task_model__new();

	assert_non_null(a);
	task_model__set_keep_completed(a, 50);
	task_model__set_keep_completed(fresh, 50);
	model_of(&S, 0, cut, a);
	assert_true(task_model__summary(a)->tasks_retired > 0);
	b = task_model__clone(a);
	task_model__free(a);
	c = task_model__clone(b);
	task_model__free(b);
	model_of(&S, cut, S.n, c);
	model_of(&S, 0, S.n, fresh);
	task_model__finish(c, 0);
	task_model__finish(fresh, 0);
	assert_same_model(c, fresh);
	/* a finished model's clone is finished: finishing again changes nothing */
	b = task_model__clone(c);
	task_model__finish(b, task_model__summary(c)->end_ts + 1000000000);
	assert_same_model(b, c);
	task_model__free(b);
	task_model__free(c);
	task_model__free(fresh);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 100k tasks, each spawned and polled `polls` times (Pending): bytes the
 * model owns, heap bytes a clone takes (mallinfo2, allocator overhead in)
 * and its time, per task. Printed, not asserted. */
static void measure(int polls)
{
	enum { N = 100000 };
	struct task_model *m = task_model__new(), *c;
	struct mallinfo2 before, after;
	double t0, t1;
	__u64 ts = 1000;

	assert_non_null(m);
	for (__u64 i = 1; i <= N; i++) {
		struct aib_ev_spawn sp = {.hdr = {AIB_EV_SPAWN, sizeof(sp), 7, ts += 100},
					  .predicted_id = i, .file_addr = 0x1000, .line = (__u32)(i % 50),
					  .flags = AIB_SPAWN_HAS_LOCATION};
		struct aib_ev_poll p = {.task = 0x7f0000000000ULL + i * 0x100, .task_id = i,
					.runtime = AIB_RUNTIME_TOKIO};

		assert_int_equal(task_model__apply(m, &sp.hdr), 0);
		for (int k = 0; k < polls; k++) {
			struct aib_ev_wake w = {.hdr = {AIB_EV_WAKE, sizeof(w), 9, ts += 100},
						.task = p.task, .task_id = i, .runtime = AIB_RUNTIME_TOKIO};

			if (k)
				assert_int_equal(task_model__apply(m, &w.hdr), 0);
			p.hdr = (struct aib_hdr){AIB_EV_POLL_BEGIN, sizeof(p), 8, ts += 100 + k * 37};
			assert_int_equal(task_model__apply(m, &p.hdr), 0);
			p.hdr = (struct aib_hdr){AIB_EV_POLL_END, sizeof(p), 8, ts += 500 + k * 91};
			assert_int_equal(task_model__apply(m, &p.hdr), 0);
		}
	}
	before = mallinfo2();
	t0 = now_s();
	c = task_model__clone(m);
	t1 = now_s();
	after = mallinfo2();
	assert_non_null(c);
	printf("clone of %d tasks polled %d times: %.2f ms (%.2f us per task), heap %.0f bytes per "
	       "task (task_model__bytes %.0f)\n",
	       N, polls, (t1 - t0) * 1e3, (t1 - t0) * 1e6 / N,
	       (double)(after.uordblks + after.hblkhd - before.uordblks - before.hblkhd) / N,
	       (double)task_model__bytes(c) / N);
	t0 = now_s();
	task_model__free(c);
	t1 = now_s();
	printf("  freeing it: %.2f ms\n", (t1 - t0) * 1e3);
	/* again, as a live view does every second: glibc now keeps the freed
	 * memory (its mmap threshold rose), so no page is faulted in anew */
	t0 = now_s();
	c = task_model__clone(m);
	t1 = now_s();
	assert_non_null(c);
	printf("  cloned again: %.2f ms (%.2f us per task)\n", (t1 - t0) * 1e3, (t1 - t0) * 1e6 / N);
	task_model__free(c);
	task_model__free(m);
}

static void test_clone_cost(void **state)
{
	measure(1);
	measure(20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_has_everything),
		cmocka_unit_test(test_clone_finished_equals_original),
		cmocka_unit_test(test_clone_goes_on_alone),
		cmocka_unit_test(test_clone_of_clone_and_retired),
		cmocka_unit_test(test_clone_cost),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
