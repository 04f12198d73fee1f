// SPDX-License-Identifier: MIT
/*
 * The JSON export keeps the shape of the original async-inspect export
 * ({"tasks": [...], "metadata": {...}}, same task fields) and adds ours.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "record/await_site.h"
#include "lib/json_writer.h"
#include "analysis/lints.h"
#include "analysis/location_stats.h"
#include "report/report.h"
#include "model/task_model.h"

static double ms(__u64 ns)
{
	return ns / 1e6;
}

void report_json__task_fields(struct json_writer *w, const struct task_info *t, __u64 start,
			      __u64 end)
{
	__u64 until = t->end_ts ? t->end_ts : end;
	char name[48], id[32];

	snprintf(name, sizeof(name), "task %s", report__task_id(t, id, sizeof(id)));
	json__key(w, "id");
	json__u64(w, t->id);
	json__key(w, "name");
	json__string(w, task_info__name(t) ? task_info__name(t) : name);
	json__key(w, "runtime");
	json__string(w, aib_runtime_name(t->runtime));
	json__key(w, "state");
	json__string(w, task_state_name(t->state));
	json__key(w, "kind");
	json__string(w, task_kind_name(t->kind));
	json__key(w, "created_at_ms");
	json__double(w, t->spawn_ts > start ? ms(t->spawn_ts - start) : 0, 3);
	json__key(w, "duration_ms");
	json__double(w, until > t->spawn_ts ? ms(until - t->spawn_ts) : 0, 3);
	json__key(w, "poll_count");
	json__u64(w, t->polls);
	json__key(w, "run_time_ms");
	json__double(w, ms(t->busy_ns), 3);
	json__key(w, "parent_id");
	if (t->parent_id)
		json__u64(w, t->parent_id);
	else
		json__null(w);
	json__key(w, "spawn_location");
	json__string(w, t->location);
	/* how it was found: the #[track_caller] Location the spawn call was
	 * given, or the spawn's stack unwound to the program's frame (an
	 * inlined spawn, async-task, a block_on root) */
	json__key(w, "spawn_location_from");
	json__string(w, !t->location ? NULL : t->location_unwound ? "stack" : "track_caller");
}

void report_json__frame(struct json_writer *w, const struct await_frame *f)
{
	json__object_begin(w);
	json__key(w, "function");
	json__string(w, f->function[0] ? f->function : NULL);
	json__key(w, "file");
	json__string(w, f->file[0] ? f->file : NULL);
	json__key(w, "line");
	json__u64(w, f->line);
	json__key(w, "col");
	json__u64(w, f->col);
	if (f->library) {
		json__key(w, "library");
		json__bool(w, true);
	}
	json__object_end(w);
}

/* A live task's await: where, what for, since when, and how we know. */
static void await_fields(struct json_writer *w, const struct task_model *m,
			 const struct task_info *t, const struct report_opts *o, struct await_desc *d)
{
	const struct model_summary *s = task_model__summary(m);
	bool at_least, known = task_info__await(t) && !await_desc__from_record(task_info__await(t), d);
	__u64 blocked = task_model__blocked_ns(m, t, &at_least);
	const struct await_frame *site = known ? await_desc__site(d) : NULL;
	char where[200];

	json__key(w, "blocked_ms");
	if (t->state == TASK_IDLE || t->state == TASK_RUNNABLE)
		json__double(w, ms(blocked), 3);
	else
		json__null(w);
	json__key(w, "blocked_since_attach");
	json__bool(w, at_least);
	json__key(w, "found_in_memory");
	json__bool(w, t->found_in_memory);
	json__key(w, "await_method");
	json__string(w, await_site__method_name(known ? d->method : AIB_AWAIT_NONE));
	json__key(w, "await_site");
	if (site && site->file[0]) {
		snprintf(where, sizeof(where), "%s:%u", site->file, site->line);
		json__string(w, where);
	} else {
		json__string(w, site ? site->function : NULL);
	}
	json__key(w, "await_stack");
	json__array_begin(w);
	for (int i = 0; known && i < d->nframes; i++)
		if (o->all_frames || !d->frames[i].library)
			report_json__frame(w, &d->frames[i]);
	json__array_end(w);
	json__key(w, "waiting_for");
	if (!known || d->method == AIB_AWAIT_NONE) {
		json__null(w);
		json__key(w, "await_note");
		json__string(w, known ? d->detail : "no await seen");
		return;
	}
	json__object_begin(w);
	json__key(w, "kind");
	json__string(w, await_site__kind_name(d->kind));
	json__key(w, "detail");
	json__string(w, d->detail);
	if (d->joined_id) {
		json__key(w, "task");
		json__u64(w, d->joined_id);
	}
	if (d->deadline_ts) {
		json__key(w, "time_left_ms");
		json__double(w, d->deadline_ts > s->end_ts ? ms(d->deadline_ts - s->end_ts) : 0, 3);
	}
	json__object_end(w);
}

/* A task's lints, by name (top's Warn column). */
static void task_warnings(struct json_writer *w, __u32 flags)
{
	json__key(w, "warnings");
	json__array_begin(w);
	for (int k = 0; k < LINT_MAX; k++)
		if (flags & LINT_BIT(k))
			json__string(w, lint__name(k));
	json__array_end(w);
}

/* Each lint that flags a task: what it means and the tasks. */
static void warnings(struct json_writer *w, const struct task_model *m, const struct lints *l)
{
	json__array_begin(w);
	for (int k = 0; k < LINT_MAX; k++) {
		if (!lints__count(l, k))
			continue;
		json__object_begin(w);
		json__key(w, "lint");
		json__string(w, lint__name(k));
		json__key(w, "what");
		json__string(w, lint__what(k));
		json__key(w, "tasks");
		json__array_begin(w);
		for (size_t i = 0; i < task_model__task_count(m); i++)
			if (lints__flags(l, i) & LINT_BIT(k))
				json__u64(w, task_model__task(m, i)->id);
		json__array_end(w);
		json__object_end(w);
	}
	json__array_end(w);
}

static void task(struct json_writer *w, const struct task_model *m, struct task_info *t,
		 const struct report_opts *o, struct await_desc *d, __u32 lints)
{
	__u64 start = task_model__summary(m)->start_ts, end = task_model__summary(m)->end_ts;
	struct samples one, *sched = task_info__sched(t, &one);
	__u32 workers[TASK_MAX_WORKERS], nworkers = task_info__workers(t, workers);

	json__object_begin(w);
	report_json__task_fields(w, t, start, end);
	json__key(w, "spawn_seen");
	json__bool(w, t->spawn_seen);
	json__key(w, "cancelled");
	json__bool(w, t->cancelled);
	json__key(w, "panicked");
	json__bool(w, t->panicked);
	json__key(w, "idle_ms");
	json__double(w, ms(t->idle_ns), 3);
	json__key(w, "sched_delay_us");
	json__object_begin(w);
	json__key(w, "count");
	json__u64(w, sched->count);
	json__key(w, "min");
	json__double(w, sched->count ? sched->min / 1e3 : 0, 3);
	json__key(w, "p50");
	json__double(w, samples__quantile(sched, 0.5) / 1e3, 3);
	json__key(w, "p99");
	json__double(w, samples__quantile(sched, 0.99) / 1e3, 3);
	json__key(w, "max");
	json__double(w, sched->max / 1e3, 3);
	json__key(w, "exact");
	json__bool(w, samples__exact(sched));
	json__object_end(w);
	json__key(w, "wakes");
	json__object_begin(w);
	json__key(w, "total");
	json__u64(w, t->wakes[WAKE_BY_TASK] + t->wakes[WAKE_BY_SELF] + t->wakes[WAKE_BY_THREAD]);
	json__key(w, "by_task");
	json__u64(w, t->wakes[WAKE_BY_TASK]);
	json__key(w, "by_self");
	json__u64(w, t->wakes[WAKE_BY_SELF]);
	json__key(w, "by_thread");
	json__u64(w, t->wakes[WAKE_BY_THREAD]);
	json__object_end(w);
	json__key(w, "blocked_in_syscalls_ms");
	json__double(w, ms(task_info__blocked_ns(t)), 3);
	json__key(w, "blocked_syscalls");
	json__u64(w, task_info__blocked_calls(t));
	json__key(w, "worker_threads");
	json__array_begin(w);
	for (__u32 i = 0; i < nworkers; i++) {
		json__object_begin(w);
		json__key(w, "tid");
		json__u64(w, workers[i]);
		json__key(w, "name");
		json__string(w, task_model__thread_name(m, workers[i]));
		json__object_end(w);
	}
	json__array_end(w);
	task_warnings(w, lints);
	if (t->state != TASK_COMPLETED)
		await_fields(w, m, t, o, d);
	json__object_end(w);
}

static void metadata(struct json_writer *w, const struct task_model *m, const struct report_opts *o)
{
	const struct model_summary *s = task_model__summary(m);
	time_t secs = (time_t)(s->realtime_start_ns / 1000000000ULL);
	char stamp[32] = "";
	struct tm tm;

	if (s->realtime_start_ns && gmtime_r(&secs, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json__object_begin(w);
	json__key(w, "version");
	json__string(w, o->version);
	json__key(w, "timestamp");
	json__string(w, stamp[0] ? stamp : NULL);
	json__key(w, "total_tasks");
	json__u64(w, s->tasks_spawned);
	json__key(w, "completed_tasks");
	json__u64(w, s->tasks_completed);
	json__key(w, "alive_tasks");
	json__u64(w, s->tasks_alive);
	json__key(w, "runtime_tasks");
	json__u64(w, s->runtime_tasks);
	json__key(w, "block_on_roots");
	json__u64(w, s->roots);
	json__key(w, "block_on_polls");
	json__u64(w, s->root_polls);
	json__key(w, "retired_tasks");
	json__u64(w, s->tasks_retired);
	json__key(w, "total_polls");
	json__u64(w, s->polls);
	json__key(w, "total_wakes");
	json__u64(w, s->wakes);
	json__key(w, "total_events");
	json__u64(w, s->events);
	json__key(w, "lost_events");
	json__u64(w, s->lost);
	json__key(w, "dropped_events");
	json__u64(w, s->dropped);
	json__key(w, "dropped_by_reason");
	json__object_begin(w);
	for (int d = AIB_DROP_RINGBUF + 1; d < AIB_DROP_MAX; d++) {
		json__key(w, aib_drop_key(d));
		json__u64(w, s->dropped_by[d]);
	}
	json__object_end(w);
	json__key(w, "duration_ms");
	json__double(w, ms(s->end_ts - s->start_ts), 3);
	json__key(w, "pid");
	json__u64(w, s->pid);
	json__key(w, "exe");
	json__string(w, s->exe);
	json__key(w, "build_id");
	if (s->build_id[0])
		json__string(w, s->build_id);
	else
		json__null(w);
	json__key(w, "runtime");
	json__string(w, s->runtime_desc ? s->runtime_desc : "unknown");
	json__key(w, "spawn_locations");
	json__bool(w, s->spawn_locations);
	json__key(w, "late_attach");
	json__bool(w, s->late_attach);
	json__key(w, "ended");
	json__string(w, o->ended);
	json__object_end(w);
}

static int locations(struct json_writer *w, const struct task_model *m)
{
	struct location_stat *st;
	long n = location_stats__collect(m, &st);

	if (n < 0)
		return (int)n;
	json__array_begin(w);
	for (long i = 0; i < n; i++) {
		json__object_begin(w);
		json__key(w, "location");
		json__string(w, st[i].location);
		json__key(w, "spawned");
		json__u64(w, st[i].spawned);
		json__key(w, "completed");
		json__u64(w, st[i].completed);
		json__key(w, "alive");
		json__u64(w, st[i].alive);
		json__key(w, "busy_ms");
		json__double(w, ms(st[i].busy_ns), 3);
		json__object_end(w);
	}
	json__array_end(w);
	free(st);
	return 0;
}

int report_json__write(const struct task_model *m, const struct report_opts *o, FILE *f)
{
	size_t n = task_model__task_count(m);
	struct await_desc *d = malloc(sizeof(*d)); /* big: one for all tasks */
	struct json_writer w;
	struct lint_opts lo;
	struct lints *l;
	int err;

	lint_opts__default(&lo);
	l = d ? lints__new(m, &lo) : NULL;
	if (!l) {
		free(d);
		return -ENOMEM;
	}
	json__init(&w, f, true);
	json__object_begin(&w);
	json__key(&w, "tasks");
	json__array_begin(&w);
	for (size_t i = 0; i < n; i++) {
		struct task_info *t = task_model__task(m, i);

		if (t->kind != TASK_RUNTIME)
			task(&w, m, t, o, d, lints__flags(l, i));
	}
	free(d);
	json__array_end(&w);
	json__key(&w, "metadata");
	metadata(&w, m, o);
	json__key(&w, "locations");
	err = locations(&w, m);
	json__key(&w, "warnings");
	warnings(&w, m, l);
	lints__free(l);
	err = err ?: report_json__locks(&w, m, o);
	json__object_end(&w);
	return err ? err : json__finish(&w);
}
