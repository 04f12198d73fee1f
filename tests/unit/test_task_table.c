// SPDX-License-Identifier: MIT
/*
 * The task table (report/task_table.h) on a model built by hand: which
 * tasks are rows, every cell's text, the stuck mark and the lints, sorting
 * by each column both ways, the filter, and a task's detail (poll and
 * scheduling histograms, wakes, workers, parent) with its text bars. Then
 * on the synthetic stream: every column sorts monotonically.
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

#include "model/location_table.h"
#include "record/await_site.h"
#include "report/task_table.h"
#include "synth_stream.h"
#include "hand_model.h"

/*
 * Task 1: the carrier of worker 11 (never a row).
 * Task 2: spawned at src/main.rs:25, polled 3 times (500 ns, 3 us, 20 ms),
 *         woken by the I/O thread, by task 3 and by itself; parked since
 *         10.1 s on src/main.rs:12 in `serve`: idle 3 s at the end, stuck.
 * Task 3: spawned by task 2 with no location, running since 12.9 s.
 * Task 4: completed (polled once, Ready).
 */
static void build(void)
{
	static __u64 buf[(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
	static struct await_desc d;
	hand_model_begin();
	hand_spawn(10 * SEC + 10, 2, 0, 25, 0);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 1000, 11, 2, 0, 1); /* sched 990 ns */
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 1500, 11, 2, AIB_POLL_PENDING, 1);
	hand_wake(10 * SEC + 2000, 2, 0);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 6000, 11, 2, 0, 1); /* sched 4 us */
	hand_spawn(10 * SEC + 7000, 3, 2, 0, 0);
	hand_wake(10 * SEC + 8000, 2, 2);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 9000, 11, 2, AIB_POLL_NOTIFIED, 1);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 80 * MS, 11, 2, 0, 1); /* sched ~80 ms: starved */
	hand_wake(10 * SEC + 90 * MS, 3, 2);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 100 * MS, 11, 2, AIB_POLL_PENDING, 1); /* 20 ms */
	memset(&d, 0, sizeof(d));
	d.method = AIB_AWAIT_STACK;
	snprintf(d.frames[0].function, sizeof(d.frames[0].function), "app::serve");
	snprintf(d.frames[0].file, sizeof(d.frames[0].file), "src/main.rs");
	d.frames[0].line = 12;
	snprintf(d.frames[1].function, sizeof(d.frames[1].function), "tokio::sync::Notify::notified");
	d.frames[1].library = true;
	d.nframes = 2;
	apply(&await_desc__to_record(&d, HDR(2), 2, 10 * SEC + 200 * MS, buf)->hdr);
	hand_wake(10 * SEC + 300 * MS, 2, 3); /* woken by task 3 while idle ... */
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 300 * MS + 100, 11, 2, 0, 1);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 300 * MS + 200, 11, 2, AIB_POLL_PENDING, 1);
	hand_poll(AIB_EV_POLL_BEGIN, 12 * SEC + 900 * MS, 11, 3, 0, 1); /* running at the end */
	hand_spawn(10 * SEC, 4, 0, 30, 0);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 50, 12, 4, 0, 1);
	hand_poll(AIB_EV_POLL_END, 10 * SEC + 70, 12, 4, AIB_POLL_READY, 1);
	task_model__finish(M, 13 * SEC + 300 * MS + 200);
}

static int setup(void **state)
{
	build();
	return 0;
}

static int teardown(void **state)
{
	task_model__free(M);
	return 0;
}

static const struct task_row *row_of(const struct task_table *tt, __u64 id)
{
	for (size_t i = 0; i < task_table__rows(tt); i++)
		if (task_table__row(tt, i)->t->id == id)
			return task_table__row(tt, i);
	return NULL;
}

static const char *cell(const struct task_table *tt, __u64 id, enum task_col c)
{
	static char buf[128];
	const struct task_row *r = row_of(tt, id);

	assert_non_null(r);
	return task_table__cell(r, c, buf, sizeof(buf));
}

static void test_rows_and_cells(void **state)
{
	struct task_table_opts o;
	struct task_table *tt;

	task_table_opts__default(&o);
	tt = task_table__new(M, &o);
	assert_non_null(tt);
	/* the carrier never, the completed task not by default */
	assert_int_equal(task_table__rows(tt), 2);
	assert_null(row_of(tt, 1));
	assert_null(row_of(tt, 4));
	assert_string_equal(cell(tt, 2, TASK_COL_ID), "2");
	assert_string_equal(cell(tt, 2, TASK_COL_STATE), "idle (stuck)");
	assert_string_equal(cell(tt, 2, TASK_COL_NAME), "serve");
	/* its await record is its earlier park's (it was polled since): the
	 * root async fn still names it, the site is not shown as now */
	assert_string_equal(cell(tt, 2, TASK_COL_AWAIT), "");
	assert_string_equal(cell(tt, 2, TASK_COL_LOCATION), "src/main.rs:25:5");
	assert_string_equal(cell(tt, 2, TASK_COL_POLLS), "4");
	assert_string_equal(cell(tt, 2, TASK_COL_TOTAL), "3.30s");
	assert_string_equal(cell(tt, 2, TASK_COL_BUSY), "20.00ms");
	assert_string_equal(cell(tt, 2, TASK_COL_WARN), "long-poll,starved");
	assert_true(row_of(tt, 2)->stuck);
	assert_int_equal(task_table__stuck(tt), 1);
	assert_string_equal(cell(tt, 3, TASK_COL_STATE), "running");
	assert_string_equal(cell(tt, 3, TASK_COL_NAME), "");
	assert_string_equal(cell(tt, 3, TASK_COL_AWAIT), "");
	assert_string_equal(cell(tt, 3, TASK_COL_LOCATION), "0x7f0000000300");
	assert_string_equal(cell(tt, 3, TASK_COL_WARN), "long-poll,starved"); /* 400 ms in a poll */
	assert_false(row_of(tt, 3)->stuck);
	assert_int_equal(lints__count(task_table__lints(tt), LINT_LONG_POLL), 2);
	/* completed ones when asked */
	o.completed = true;
	assert_int_equal(task_table__view(tt, &o), 0);
	assert_int_equal(task_table__rows(tt), 3);
	assert_string_equal(cell(tt, 4, TASK_COL_STATE), "completed");
	assert_string_equal(cell(tt, 4, TASK_COL_SCHED_P99), "50ns");
	assert_string_equal(cell(tt, 4, TASK_COL_TOTAL), "70ns");
	for (int c = 0; c < TASK_COL_MAX; c++)
		assert_true(strlen(task_col__name(c)) > 0);
	task_table__free(tt);
}

static void test_sort_and_filter(void **state)
{
	struct task_table_opts o;
	struct task_table *tt;

	task_table_opts__default(&o);
	o.completed = true;
	tt = task_table__new(M, &o);
	assert_non_null(tt);
	/* default: longest idle first */
	assert_int_equal(task_table__row(tt, 0)->t->id, 2);
	o.sort = TASK_COL_ID;
	o.descending = false;
	task_table__view(tt, &o);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(task_table__row(tt, i)->t->id, i + 2);
	o.descending = true;
	task_table__view(tt, &o);
	assert_int_equal(task_table__row(tt, 0)->t->id, 4);
	o.sort = TASK_COL_LOCATION; /* "0x7f..." < "src/main.rs:25:5" < "src/main.rs:30:5" */
	o.descending = false;
	task_table__view(tt, &o);
	assert_int_equal(task_table__row(tt, 0)->t->id, 3);
	assert_int_equal(task_table__row(tt, 2)->t->id, 4);
	o.sort = TASK_COL_BUSY;
	o.descending = true;
	task_table__view(tt, &o);
	assert_int_equal(task_table__row(tt, 0)->t->id, 3); /* 400 ms and counting */
	/* filters: the name, a state in any case, a lint, the id */
	o.filter = "serve";
	task_table__view(tt, &o);
	assert_int_equal(task_table__rows(tt), 1);
	assert_int_equal(task_table__row(tt, 0)->t->id, 2);
	o.filter = "RUNNING";
	task_table__view(tt, &o);
	assert_int_equal(task_table__rows(tt), 1);
	assert_int_equal(task_table__row(tt, 0)->t->id, 3);
	o.filter = "starved";
	task_table__view(tt, &o);
	assert_int_equal(task_table__rows(tt), 2);
	o.filter = "serve";
	task_table__view(tt, &o);
	assert_int_equal(task_table__rows(tt), 1);
	o.filter = "no such thing";
	task_table__view(tt, &o);
	assert_int_equal(task_table__rows(tt), 0);
	assert_null(task_table__row(tt, 0));
	o.filter = "";
	task_table__view(tt, &o);
	assert_int_equal(task_table__rows(tt), 3);
	task_table__free(tt);
}

static void test_detail(void **state)
{
	struct task_table_opts o;
	struct task_table *tt;
	struct task_detail d;
	unsigned first, last;
	char line[200];

	task_table_opts__default(&o);
	o.sort = TASK_COL_ID;
	o.descending = false;
	tt = task_table__new(M, &o);
	assert_non_null(tt);
	assert_int_equal(task_table__detail(tt, 9, &d), -ENOENT);
	assert_int_equal(task_table__detail(tt, 0, &d), 0); /* task 2 */
	/* polls of 500 ns, 3 us, 20 ms, 100 ns */
	assert_int_equal(d.polls_timed, 4);
	assert_int_equal(d.poll_max_ns, 20 * MS);
	assert_int_equal(d.poll_buckets[0], 2);
	assert_int_equal(d.poll_buckets[task_hist__bucket(3 * US)], 1);
	assert_int_equal(d.poll_buckets[task_hist__bucket(20 * MS)], 1);
	assert_int_equal(task_hist__bucket(20 * MS), 15); /* [16.8 ms, 33.6 ms) */
	assert_true(task_hist__range(d.poll_buckets, &first, &last));
	assert_int_equal(first, 0);
	assert_int_equal(last, 15);
	/* sched delays: 990 ns, 4 us, ~80 ms, 100 ns */
	assert_int_equal(d.sched_count, 4);
	assert_false(d.sched_sampled);
	assert_int_equal(d.sched_buckets[0], 2);
	assert_int_equal(d.sched_buckets[task_hist__bucket(4 * US)], 1);
	assert_int_equal(d.wakes[WAKE_BY_THREAD], 1);
	assert_int_equal(d.wakes[WAKE_BY_SELF], 1);
	assert_int_equal(d.wakes[WAKE_BY_TASK], 1);
	assert_int_equal(d.nworkers, 1);
	assert_int_equal(d.workers[0], 11);
	assert_string_equal(d.worker_names[0], "tokio-worker");
	assert_null(d.parent);
	assert_string_equal(d.location, "src/main.rs:25:5");
	assert_int_equal(task_table__detail(tt, 1, &d), 0); /* task 3: running 400 ms */
	assert_int_equal(d.poll_in_flight_ns, 400 * MS + 200);
	assert_int_equal(d.polls_timed, 0);
	assert_int_equal(d.parent_id, 2);
	assert_non_null(d.parent);
	assert_int_equal(d.parent->id, 2);
	/* bars: the fullest bucket full, others in proportion, at least one mark */
	__u64 b[TASK_HIST_BUCKETS] = {[1] = 10, [3] = 5, [4] = 1};
	task_hist__bar(b, 1, 10, line, sizeof(line));
	assert_non_null(strstr(line, "########## 10"));
	assert_non_null(strstr(line, "1.0us-"));
	task_hist__bar(b, 3, 10, line, sizeof(line));
	assert_non_null(strstr(line, "#####      5"));
	task_hist__bar(b, 4, 10, line, sizeof(line));
	assert_non_null(strstr(line, "#          1"));
	task_hist__bar(b, 2, 10, line, sizeof(line));
	assert_non_null(strstr(line, "           0"));
	task_hist__bar(b, TASK_HIST_BUCKETS - 1, 4, line, sizeof(line));
	assert_non_null(strstr(line, "-..."));
	task_table__free(tt);
}

/* The synthetic stream, at its middle: each numeric column sorts both ways. */
static void test_sorted_columns_on_synthetic(void **state)
{
	struct synth s;
	struct task_model *m = task_model__new(), *c;
	struct task_table_opts o;
	struct task_table *tt;

	synth__make(&s, 30000, 200, 3);
	for (size_t i = 0; i < s.n / 2; i++)
		assert_int_equal(task_model__apply(m, synth__rec(&s, i)), 0);
	c = task_model__clone(m);
	task_model__finish(c, synth__rec(&s, s.n / 2)->ts);
	task_table_opts__default(&o);
	o.completed = true;
	tt = task_table__new(c, &o);
	assert_non_null(tt);
	assert_true(task_table__rows(tt) > 100);
	for (int col = 0; col < TASK_COL_MAX; col++)
		for (int desc = 0; desc < 2; desc++) {
			o.sort = col;
			o.descending = desc;
			task_table__view(tt, &o);
			for (size_t i = 1; i < task_table__rows(tt); i++) {
				const struct task_row *x = task_table__row(tt, i - 1),
						      *y = task_table__row(tt, i);
				__u64 a = 0, b = 0;
				int r = 0;

				switch (col) {
				case TASK_COL_TOTAL: a = x->total_ns, b = y->total_ns; break;
				case TASK_COL_BUSY: a = x->t->busy_ns, b = y->t->busy_ns; break;
				case TASK_COL_IDLE: a = x->t->idle_ns, b = y->t->idle_ns; break;
				case TASK_COL_POLLS: a = x->t->polls, b = y->t->polls; break;
				case TASK_COL_SCHED_P99: a = x->sched_p99_ns, b = y->sched_p99_ns; break;
				case TASK_COL_ID: a = x->t->id, b = y->t->id; break;
				case TASK_COL_NAME: r = strcmp(x->name, y->name); break;
				case TASK_COL_AWAIT: r = strcmp(x->await, y->await); break;
				case TASK_COL_LOCATION: r = strcmp(x->location, y->location); break;
				case TASK_COL_STATE: r = strcmp(x->state, y->state); break;
				default: break;
				}
				r = r ?: (a < b ? -1 : a > b);
				assert_true(desc ? r >= 0 : r <= 0);
			}
		}
	task_table__free(tt);
	task_model__free(c);
	task_model__free(m);
	synth__free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_and_cells),
		cmocka_unit_test(test_sort_and_filter),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_sorted_columns_on_synthetic),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
