// SPDX-License-Identifier: MIT
/*
 * Perfetto's native format: a stream of TracePackets carrying TrackEvents,
 * written packet by packet as records arrive (ui.perfetto.dev opens it).
 *
 *   process track (pid, exe)
 *   ├── one thread track per thread that polled a task: a slice per poll,
 *   │   named after the task (the physical view)
 *   ├── "async tasks": one child track per task, "task ID LOCATION", never
 *   │   merged with its siblings (the logical view): a lifetime slice, and
 *   │   in it "runnable", "poll" and "idle" slices one after the other;
 *   │   instants "spawn", "woken", "completed" / "cancelled" / "freed",
 *   │   "alive at end", and "wake" where this task woke another
 *   └── counters: live tasks, runnable tasks, tasks waiting on locks
 *   flows: from each "wake" instant (on the waking task's track, or the
 *   waking thread's) to the poll it caused (or to the task's end)
 *
 * Timestamps are the records' CLOCK_MONOTONIC ns, marked with clock id 3;
 * the first packet is a clock snapshot that takes BOOTTIME (the importer's
 * trace clock) equal to MONOTONIC at the start. Names and debug-annotation
 * names are interned on the one packet sequence. Records may be a little
 * out of order across threads: each track's timestamps are kept monotonic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/exporter.h"
#include "lib/id_table.h"
#include "lib/outbuf.h"
#include "export/perfetto_writer.h"
#include "model/task_model.h"
#include "export/task_tracker.h"

/* Track uuids */
#define UUID_PROCESS 1
#define UUID_TASKS 2
#define UUID_COUNTER(i) (3 + (i))
#define UUID_THREAD(tid) ((1ULL << 32) | (tid))
#define UUID_TASK(serial) ((2ULL << 32) + (serial))

/* Interned event names: the fixed ones, then one per task */
enum {
	N_POLL = 1, N_RUNNABLE, N_IDLE, N_SPAWN, N_WAKE, N_WOKEN, N_COMPLETED, N_CANCELLED,
	N_FREED, N_ALIVE_AT_END, N_FIXED,
};
static const char *const event_names[N_FIXED] = {
	[N_POLL] = "poll", [N_RUNNABLE] = "runnable", [N_IDLE] = "idle", [N_SPAWN] = "spawn",
	[N_WAKE] = "wake", [N_WOKEN] = "woken", [N_COMPLETED] = "completed",
	[N_CANCELLED] = "cancelled", [N_FREED] = "freed", [N_ALIVE_AT_END] = "alive at end",
};
#define NAME_TASK(serial) (64 + (serial))

/* Interned debug-annotation names */
enum {
	A_TASK_ID = 1, A_WORKER_TID, A_POLL, A_RESULT, A_WOKEN_TASK, A_BY, A_PARENT_ID, A_KIND,
	A_STATE, A_FIXED,
};
static const char *const arg_names[A_FIXED] = {
	[A_TASK_ID] = "task_id", [A_WORKER_TID] = "worker_tid", [A_POLL] = "poll",
	[A_RESULT] = "result", [A_WOKEN_TASK] = "woken_task", [A_BY] = "by",
	[A_PARENT_ID] = "parent_id", [A_KIND] = "kind", [A_STATE] = "state",
};

enum { COUNTER_LIVE, COUNTER_RUNNABLE, COUNTER_LOCKS, NCOUNTERS };
static const char *const counter_names[NCOUNTERS] = {"live tasks", "runnable tasks",
						      "tasks waiting on locks"};

/* check_perfetto tells runtime carriers' tracks by this */
#define RUNTIME_DESCRIPTION "the runtime's own task: a worker thread runs inside it"

/* tracked_task.user[] */
enum { U_LAST_TS, U_FLOW, U_FLOW_TS };

#define THREAD_STACK 16

struct thread_track {
	__u32 tid;
	__u32 depth; /* poll slices open */
	__u64 last_ts;
	__u64 stack[THREAD_STACK]; /* serials of the tasks whose poll slices are open */
};

struct perfetto {
	FILE *f;
	struct perfetto_writer *w;
	const struct task_model *m; /* during a call */
	bool started;
	__u32 pid;
	__u64 flows; /* flow ids handed out */
	__s64 counter[NCOUNTERS];
	__u64 counter_ts[NCOUNTERS];
	struct id_table threads; /* tid -> struct thread_track */
	struct thread_track *last_thread; /* the last one looked up */
	int err; /* ours; the writer keeps its own */
};

/* Keeps each track's timestamps monotonic: records from different threads
 * may arrive slightly out of order. */
static __u64 on_track(__u64 *last, __u64 ts)
{
	if (ts < *last)
		ts = *last;
	*last = ts;
	return ts;
}

static void counter_value(struct perfetto *x, int i, __u64 ts)
{
	perfetto__counter(x->w, on_track(&x->counter_ts[i], ts), UUID_COUNTER(i), x->counter[i]);
}

static void counters_add(struct perfetto *x, __u64 ts, __s64 dlive, __s64 drunnable)
{
	__s64 d[NCOUNTERS] = {[COUNTER_LIVE] = dlive, [COUNTER_RUNNABLE] = drunnable};

	for (int i = 0; i < NCOUNTERS; i++) {
		if (d[i]) {
			x->counter[i] += d[i];
			counter_value(x, i, ts);
		}
	}
}

/* The start: clocks, interned names, the process and the fixed tracks. */
static void start(struct perfetto *x, const struct aib_hdr *first)
{
	const struct aib_rec_process *p = first->kind == AIB_REC_PROCESS ? (const void *)first : NULL;
	char exe[AIB_NAME_MAX + 1] = "";

	x->started = true;
	if (p) {
		x->pid = p->pid;
		memcpy(exe, p->exe, AIB_NAME_MAX);
	}
	perfetto__clocks(x->w, first->ts, first->ts, p ? p->realtime_ns : 0);
	perfetto__clear(x->w, event_names, N_FIXED, arg_names, A_FIXED);
	perfetto__track_begin(x->w, UUID_PROCESS, NULL, 0);
	perfetto__track_process(x->w, x->pid, exe);
	perfetto__track_end(x->w);
	perfetto__track_begin(x->w, UUID_TASKS, "async tasks", UUID_PROCESS);
	perfetto__track_chronological(x->w);
	perfetto__track_description(x->w, "one track per task: its lifetime, polls, idle gaps, wakes");
	perfetto__track_end(x->w);
	for (int i = 0; i < NCOUNTERS; i++) {
		perfetto__track_begin(x->w, UUID_COUNTER(i), counter_names[i], UUID_PROCESS);
		perfetto__track_counter(x->w);
		if (i == COUNTER_LOCKS)
			perfetto__track_description(x->w, "always 0 for now: lock probes (tokio Mutex, "
						       "RwLock, Semaphore) are not attached yet");
		perfetto__track_end(x->w);
		counter_value(x, i, first->ts);
	}
}

/* ---- threads: the physical view ---- */

static struct thread_track *thread_track(struct perfetto *x, __u32 tid)
{
	struct thread_track *th;
	bool added;

	if (x->last_thread && x->last_thread->tid == tid)
		return x->last_thread;
	th = id_table__get(&x->threads, tid, &added);
	if (!th) {
		x->err = -ENOMEM;
		return NULL;
	}
	x->last_thread = th; /* valid until the table grows: only here */
	if (!added)
		return th;
	th->tid = tid;
	perfetto__track_begin(x->w, UUID_THREAD(tid), NULL, 0);
	perfetto__track_thread(x->w, x->pid, tid, task_model__thread_name(x->m, tid));
	perfetto__track_end(x->w);
	return th;
}

static void thread_poll_begin(struct perfetto *x, const struct tracked_task *s, __u32 tid, __u64 ts)
{
	struct thread_track *th = thread_track(x, tid);

	if (!th)
		return;
	/* Deeper than the model follows (8): ends were lost, close what is open. */
	if (th->depth == THREAD_STACK)
		for (; th->depth; th->depth--)
			perfetto__event(x->w, on_track(&th->last_ts, ts), PERFETTO_SLICE_END,
					UUID_THREAD(tid), 0);
	th->stack[th->depth++] = s->serial;
	perfetto__event_uints(x->w, on_track(&th->last_ts, ts), PERFETTO_SLICE_BEGIN, UUID_THREAD(tid),
			      NAME_TASK(s->serial),
			      (struct perfetto_arg[]){{A_TASK_ID, s->id}, {A_POLL, s->polls}}, 2, 0, 0);
}

/* Ends the task's poll slice on its thread, and any left open above it. */
static void thread_poll_end(struct perfetto *x, const struct tracked_task *s, __u64 ts)
{
	struct thread_track *th = thread_track(x, s->poll_tid);
	__u32 d;

	if (!th)
		return;
	for (d = th->depth; d > 0 && th->stack[d - 1] != s->serial; d--)
		;
	if (!d)
		return;
	ts = on_track(&th->last_ts, ts);
	for (; th->depth >= d; th->depth--)
		perfetto__event(x->w, ts, PERFETTO_SLICE_END, UUID_THREAD(th->tid), 0);
}

/* ---- tasks: the logical view ---- */

static void task_name(const struct task_info *t, char *buf, size_t len)
{
	if (t->location)
		snprintf(buf, len, "task %llu %s", (unsigned long long)t->id, t->location);
	else
		snprintf(buf, len, "task %llu", (unsigned long long)t->id);
}

static void task_appear(struct perfetto *x, const struct change *c)
{
	const struct task_info *t = c->info;
	struct tracked_task *s = c->task;
	__u64 uuid = UUID_TASK(s->serial);
	__u64 since = t->spawn_seen ? t->spawn_ts : c->ts;
	char name[1024], about[128];

	task_name(t, name, sizeof(name));
	if (!t->spawn_seen)
		snprintf(about, sizeof(about), "%s task, first seen after its spawn",
			 task_kind_name(t->kind));
	else if (t->parent_id)
		snprintf(about, sizeof(about), "%s task spawned by task %llu", task_kind_name(t->kind),
			 (unsigned long long)t->parent_id);
	else
		snprintf(about, sizeof(about), "%s task spawned outside any task", task_kind_name(t->kind));
	perfetto__track_begin(x->w, uuid, name, UUID_TASKS);
	perfetto__track_description(x->w, about);
	perfetto__track_never_merged(x->w);
	perfetto__track_end(x->w);

	s->user[U_LAST_TS] = since;
	/* the lifetime slice, named after the task, whose name is interned here */
	perfetto__event_begin(x->w, since, PERFETTO_SLICE_BEGIN, uuid);
	perfetto__event_name(x->w, NAME_TASK(s->serial));
	perfetto__event_arg_uint(x->w, A_TASK_ID, t->id);
	perfetto__event_arg_string(x->w, A_KIND, task_kind_name(t->kind));
	if (t->parent_id)
		perfetto__event_arg_uint(x->w, A_PARENT_ID, t->parent_id);
	perfetto__event_end(x->w, NAME_TASK(s->serial), name);

	if (t->spawn_seen)
		perfetto__event(x->w, since, PERFETTO_INSTANT, uuid, N_SPAWN);
	perfetto__event(x->w, since, PERFETTO_SLICE_BEGIN, uuid,
			s->state == TASK_RUNNABLE ? N_RUNNABLE : N_IDLE);
	if (!t->spawn_seen) /* a spawn seen was counted at the spawn call */
		counters_add(x, c->ts, 1, 0);
}

/* Ends the slice of the task's state `from` at ts. */
static void leave_state(struct perfetto *x, struct tracked_task *s, enum task_state from, __u64 ts,
			int result)
{
	static const char *const results[] = {"pending", "ready", "notified"};
	__u64 uuid = UUID_TASK(s->serial);

	switch (from) {
	case TASK_RUNNING:
		perfetto__event_begin(x->w, ts, PERFETTO_SLICE_END, uuid);
		if (result >= 0 && result <= AIB_POLL_NOTIFIED)
			perfetto__event_arg_string(x->w, A_RESULT, results[result]);
		perfetto__event_end(x->w, 0, NULL);
		thread_poll_end(x, s, ts);
		break;
	case TASK_RUNNABLE:
		perfetto__event(x->w, ts, PERFETTO_SLICE_END, uuid, 0);
		if (!s->runtime)
			counters_add(x, ts, 0, -1);
		break;
	case TASK_IDLE:
		perfetto__event(x->w, ts, PERFETTO_SLICE_END, uuid, 0);
		break;
	case TASK_COMPLETED:
		break;
	}
}

/* The instant that ends a task's life, with the flow that was waiting for a poll. */
static void last_instant(struct perfetto *x, struct tracked_task *s, __u64 ts, int name,
			 const char *state)
{
	perfetto__event_begin(x->w, ts, PERFETTO_INSTANT, UUID_TASK(s->serial));
	perfetto__event_name(x->w, name);
	if (state)
		perfetto__event_arg_string(x->w, A_STATE, state);
	if (s->user[U_FLOW])
		perfetto__event_flow_end(x->w, s->user[U_FLOW]);
	perfetto__event_end(x->w, 0, NULL);
	s->user[U_FLOW] = 0;
	perfetto__event(x->w, ts, PERFETTO_SLICE_END, UUID_TASK(s->serial), 0); /* the lifetime */
}

static void task_state(struct perfetto *x, const struct change *c)
{
	struct tracked_task *s = c->task;
	__u64 uuid = UUID_TASK(s->serial);
	__u64 ts = c->ts;

	if (s->user[U_FLOW] && ts < s->user[U_FLOW_TS])
		ts = s->user[U_FLOW_TS]; /* a flow never ends before it starts */
	ts = on_track(&s->user[U_LAST_TS], ts);
	leave_state(x, s, c->from, ts, c->result);
	switch (s->state) {
	case TASK_RUNNING:
		perfetto__event_uints(x->w, ts, PERFETTO_SLICE_BEGIN, uuid, N_POLL,
				      (struct perfetto_arg[]){{A_TASK_ID, s->id}, {A_WORKER_TID, c->tid},
							      {A_POLL, s->polls}},
				      3, 0, s->user[U_FLOW]);
		s->user[U_FLOW] = 0;
		thread_poll_begin(x, s, c->tid, c->ts);
		break;
	case TASK_RUNNABLE:
		perfetto__event(x->w, ts, PERFETTO_SLICE_BEGIN, uuid, N_RUNNABLE);
		if (!s->runtime)
			counters_add(x, ts, 0, 1);
		break;
	case TASK_IDLE:
		perfetto__event(x->w, ts, PERFETTO_SLICE_BEGIN, uuid, N_IDLE);
		break;
	case TASK_COMPLETED:
		last_instant(x, s, ts, c->freed ? N_FREED : c->cancelled ? N_CANCELLED : N_COMPLETED, NULL);
		if (!s->runtime)
			counters_add(x, ts, -1, 0);
		break;
	}
}

static void task_wake(struct perfetto *x, const struct change *c)
{
	struct tracked_task *s = c->task;
	__u64 track, ts, flow = 0;
	char by[48];

	if (c->waker) {
		track = UUID_TASK(c->waker->serial);
		ts = on_track(&c->waker->user[U_LAST_TS], c->ts);
	} else {
		struct thread_track *th = thread_track(x, c->tid);

		if (!th)
			return;
		track = UUID_THREAD(c->tid);
		ts = on_track(&th->last_ts, c->ts);
	}
	if (s && !s->user[U_FLOW])
		flow = ++x->flows;
	perfetto__event_uints(x->w, ts, PERFETTO_INSTANT, track, N_WAKE,
			      &(struct perfetto_arg){A_WOKEN_TASK, c->woken_id}, 1, flow, 0);
	if (!s)
		return;
	if (flow) {
		s->user[U_FLOW] = flow;
		s->user[U_FLOW_TS] = ts;
	}
	if (c->by == WAKE_BY_SELF)
		strcpy(by, "self");
	else if (c->by == WAKE_BY_TASK)
		by[5 + fmt__u64(strcpy(by, "task ") + 5, c->waker_id)] = 0;
	else
		by[7 + fmt__u64(strcpy(by, "thread ") + 7, c->tid)] = 0;
	ts = on_track(&s->user[U_LAST_TS], c->ts);
	perfetto__event_begin(x->w, ts, PERFETTO_INSTANT, UUID_TASK(s->serial));
	perfetto__event_name(x->w, N_WOKEN);
	perfetto__event_arg_string(x->w, A_BY, by);
	perfetto__event_end(x->w, 0, NULL);
}

/* A task that turned out to be the runtime's carrier keeps its track, renamed
 * (for a track never merged, the importer takes the last name given). */
static void runtime_track(struct perfetto *x, const struct tracked_task *s)
{
	char name[64];

	snprintf(name, sizeof(name), "task %llu (runtime worker)", (unsigned long long)s->id);
	perfetto__track_begin(x->w, UUID_TASK(s->serial), name, UUID_TASKS);
	perfetto__track_description(x->w, RUNTIME_DESCRIPTION);
	perfetto__track_never_merged(x->w);
	perfetto__track_end(x->w);
}

static int on_change(void *ctx, const struct change *c)
{
	struct perfetto *x = ctx;
	struct tracked_task *s = c->task;
	__u64 ts;

	switch (c->kind) {
	case CHANGE_SPAWN:
		counters_add(x, c->ts, 1, 1);
		break;
	case CHANGE_APPEAR:
		task_appear(x, c);
		break;
	case CHANGE_STATE:
		task_state(x, c);
		break;
	case CHANGE_WAKE:
		task_wake(x, c);
		break;
	case CHANGE_RUNTIME: /* the runtime's own task: not a live user task */
		counters_add(x, c->ts, -1, s->state == TASK_RUNNABLE ? -1 : 0);
		runtime_track(x, s);
		break;
	case CHANGE_ALIVE_AT_END:
		ts = on_track(&s->user[U_LAST_TS], c->ts > s->user[U_FLOW_TS] ? c->ts : s->user[U_FLOW_TS]);
		leave_state(x, s, s->state, ts, -1);
		last_instant(x, s, ts, N_ALIVE_AT_END, task_state_name(s->state));
		break;
	}
	return x->err ? x->err : perfetto__error(x->w);
}

/* ---- the exporter ---- */

static int perfetto_record(void *self, const struct aib_hdr *rec, const struct task_model *m)
{
	struct perfetto *x = self;

	x->m = m;
	if (!x->started)
		start(x, rec);
	if (!x->err)
		x->err = perfetto__error(x->w);
	return x->err;
}

static int perfetto_finish(void *self, const struct task_model *m)
{
	struct perfetto *x = self;
	__u64 end = task_model__summary(m)->end_ts;
	int err;

	x->m = m;
	if (!x->started) {
		struct aib_hdr none = {.ts = end};

		start(x, &none);
	}
	for (size_t i = 0; i < x->threads.n; i++) /* none expected: polls end with their tasks */
		for (struct thread_track *th = id_table__at(&x->threads, i); th->depth; th->depth--)
			perfetto__event(x->w, on_track(&th->last_ts, end), PERFETTO_SLICE_END,
					UUID_THREAD(th->tid), 0);
	for (int i = 0; i < NCOUNTERS; i++) /* the counters' last values reach the end */
		counter_value(x, i, end);
	err = perfetto__flush(x->w);
	if (!x->err)
		x->err = err;
	if (fclose(x->f) && !x->err)
		x->err = -errno;
	x->f = NULL;
	return x->err;
}

static void perfetto_free(void *self)
{
	struct perfetto *x = self;

	if (!x)
		return;
	if (x->f) {
		if (x->w)
			perfetto__flush(x->w); /* what a finished export would hold so far */
		fclose(x->f);
	}
	perfetto__free(x->w);
	id_table__release(&x->threads);
	free(x);
}

static const struct exporter_ops perfetto_ops = {
	.record = perfetto_record,
	.change = on_change,
	.nuser = 3, /* U_LAST_TS, U_FLOW, U_FLOW_TS */
	.finish = perfetto_finish,
	.free = perfetto_free,
};

int export_perfetto__open(const char *path, struct exporter *out)
{
	struct perfetto *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	if (id_table__init(&x->threads, sizeof(struct thread_track))) {
		perfetto_free(x);
		return -ENOMEM;
	}
	x->f = outbuf__unbuffered(fopen(path, "wb"));
	if (!x->f) {
		err = -errno;
		perfetto_free(x);
		return err;
	}
	x->w = perfetto__new(x->f);
	if (!x->w) {
		perfetto_free(x);
		return -ENOMEM;
	}
	*out = (struct exporter){.ops = &perfetto_ops, .self = x};
	return 0;
}
