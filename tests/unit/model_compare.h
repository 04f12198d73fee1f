/* SPDX-License-Identifier: MIT */
/*
 * Two finished models the same, for the unit tests: every task field by
 * field (its samples, poll histogram, await record), the summary, and the
 * text and JSON reports byte for byte (which cover locks, blocking sites,
 * locations, retired counts, stuck tasks).
 */
#ifndef MODEL_COMPARE_H
#define MODEL_COMPARE_H

#include <stdio.h>
#include <stdlib.h>
#include "model/blocking_calls.h"
#include "model/lock_table.h"
#include "model/task_model.h"
#include "report/report.h"

static const struct report_opts OPTS = {.ended = "duration", .version = "test",
					.stuck_after_ns = 20000000};

static char *render(const struct task_model *m, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct report_opts o = OPTS;

	assert_non_null(f);
	o.max_tasks = 0;
	if (json)
		assert_int_equal(report_json__write(m, &o, f), 0);
	else
		assert_int_equal(report_text__write(m, &o, f), 0);
	fclose(f);
	return buf;
}

static void same_str(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Two finished models hold the same tasks, field by field. */
static void assert_same_model(struct task_model *a, struct task_model *b)
{
	const struct model_summary *x = task_model__summary(a), *y = task_model__summary(b);
	char *ra, *rb;

	assert_int_equal(task_model__task_count(a), task_model__task_count(b));
	for (size_t i = 0; i < task_model__task_count(a); i++) {
		struct task_info *t = task_model__task(a, i), *u = task_model__task(b, i);
		struct samples o1, o2, *s1 = task_info__sched(t, &o1), *s2 = task_info__sched(u, &o2);
		struct task_poll_hist h1, h2;
		__u32 w1[TASK_MAX_WORKERS], w2[TASK_MAX_WORKERS];
		bool l1, l2;

		assert_int_equal(t->id, u->id);
		assert_int_equal(t->header, u->header);
		assert_int_equal(t->state, u->state);
		assert_int_equal(t->kind, u->kind);
		assert_int_equal(t->polls, u->polls);
		assert_int_equal(t->busy_ns, u->busy_ns);
		assert_int_equal(t->idle_ns, u->idle_ns);
		assert_int_equal(t->runnable_ns, u->runnable_ns);
		assert_int_equal(t->spawn_ts, u->spawn_ts);
		assert_int_equal(t->end_ts, u->end_ts);
		assert_int_equal(t->parent_id, u->parent_id);
		assert_memory_equal(t->wakes, u->wakes, sizeof(t->wakes));
		same_str(t->location, u->location);
		same_str(task_info__name(t), task_info__name(u));
		assert_int_equal(task_info__blocked_calls(t), task_info__blocked_calls(u));
		assert_int_equal(task_info__joining_id(t), task_info__joining_id(u));
		assert_int_equal(task_info__workers(t, w1), task_info__workers(u, w2));
		assert_memory_equal(w1, w2, t->nworkers * sizeof(__u32));
		assert_int_equal(!task_info__await(t), !task_info__await(u));
		if (task_info__await(t))
			assert_memory_equal(task_info__await(t), task_info__await(u),
					    task_info__await(t)->hdr.size);
		assert_int_equal(s1->count, s2->count);
		assert_int_equal(s1->sum, s2->sum);
		assert_int_equal(samples__quantile(s1, 0.99), samples__quantile(s2, 0.99));
		assert_memory_equal(task_info__poll_hist(t, &h1), task_info__poll_hist(u, &h2),
				    sizeof(h1));
		assert_int_equal(task_model__blocked_ns(a, t, &l1), task_model__blocked_ns(b, u, &l2));
		assert_int_equal(l1, l2);
	}
	assert_int_equal(x->tasks_spawned, y->tasks_spawned);
	assert_int_equal(x->tasks_completed, y->tasks_completed);
	assert_int_equal(x->tasks_alive, y->tasks_alive);
	assert_int_equal(x->polls, y->polls);
	assert_int_equal(x->wakes, y->wakes);
	assert_int_equal(x->events, y->events);
	assert_int_equal(x->end_ts, y->end_ts);
	assert_int_equal(x->anomalies, y->anomalies);
	assert_int_equal(x->tasks_retired, y->tasks_retired);
	assert_int_equal(task_model__retired_count(a), task_model__retired_count(b));
	assert_int_equal(lock_table__count(task_model__locks(a)), lock_table__count(task_model__locks(b)));
	assert_int_equal(blocking_calls__count(task_model__blocking(a)),
			 blocking_calls__count(task_model__blocking(b)));
	for (int json = 0; json < 2; json++) {
		ra = render(a, json);
		rb = render(b, json);
		assert_string_equal(ra, rb);
		free(ra);
		free(rb);
	}
}

#endif
