// SPDX-License-Identifier: MIT
/*
 * The records applied to the task model, one handler each: the lifecycle
 * of tasks (spawns matched to their tasks, polls on each thread's poll
 * stack, wakes, ends, joins, tasks found at attach), their await records,
 * and what goes on to the lock table and the blocking calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "lib/u64_map.h"
#include "model/blocking_calls.h"
#include "model/location_table.h"
#include "model/lock_table.h"
#include "model/task_model_impl.h"
#include "runtime/runtime.h"

static void complete(struct task_model *m, struct task_info *t, __u64 ts)
{
	if (t->state == TASK_COMPLETED)
		return;
	if (t->state == TASK_RUNNING)
		task_info__poll_done(t, ts > t->poll_start ? ts - t->poll_start : 0);
	else
		task_info__leave_state(t, ts, false);
	t->state = TASK_COMPLETED;
	t->end_ts = ts;
	lock_table__task_ended(m->locks, t->id, ts);
}

/* The task now at `header` with runtime id `id`, created on first sight.
 * `polled`: for a poll, which a completed task never gets again. */
static __u32 task_at(struct task_model *m, __u64 header, __u64 id, __u64 ts,
		     enum aib_runtime runtime, bool polled)
{
	struct pending_spawn p;
	struct task_info *t;
	__u32 idx;

	if (u64_map__get(m->live, header, &idx)) {
		t = &m->tasks[idx];
		/* without ids, a completed task's header seen again is a new
		 * task whose spawn we missed */
		if (!id && polled && runtime == AIB_RUNTIME_ASYNC_TASK && t->state == TASK_COMPLETED)
			goto fresh;
		if (t->id == id || !id || !t->id) {
			if (!t->id)
				t->id = id;
			return idx;
		}
		/* The header was freed and reused without us seeing the free:
		 * the previous task ended by its last event. */
		complete(m, t, t->last_poll_end_ts > t->since ? t->last_poll_end_ts : t->since);
	}
fresh:
	idx = task_model__new_task(m, header, id, runtime);
	if (idx == NO_TASK)
		return NO_TASK;
	t = &m->tasks[idx];
	if (pending_spawns__take(m->pending, id, &p)) {
		task_info__spawned(t, &p);
	} else {
		/* First sight: what it did before is unknown, so nothing before
		 * now is charged to any state. */
		t->spawn_ts = ts;
		t->state = TASK_IDLE;
		t->since = ts;
	}
	return idx;
}

/* The spawn call's location, interned; NULL if the record has none. */
static const char *spawn_location(struct task_model *m, const struct aib_ev_spawn *e)
{
	return e->flags & AIB_SPAWN_HAS_LOCATION
		       ? location_table__intern(m->locations, e->file_addr, e->line, e->col)
		       : NULL;
}

static void note_worker(struct task_info *t, __u32 tid)
{
	__u32 workers[TASK_MAX_WORKERS], n;

	if (t->nworkers && t->worker == tid)
		return; /* the common case: polled on the same thread again */
	n = task_info__workers(t, workers);
	for (__u32 i = 0; i < n; i++)
		if (workers[i] == tid)
			return;
	if (n == 0)
		t->worker = tid;
	else if (n < TASK_MAX_WORKERS && task_info__extra(t))
		t->extra->workers[n - 1] = tid;
	else
		return;
	t->nworkers = n + 1;
}

/* A spawn that names its task's header (async-task: at its first
 * schedule). A task there waiting to run is being rescheduled by hand; one
 * that looked running or idle ended without us seeing it (a lost record). */
static int on_spawn_known(struct task_model *m, const struct aib_ev_spawn *e)
{
	struct thread_rec *th = task_model__thread(m, e->hdr.tid);
	const struct task_info *parent =
		e->parent_task ? task_model__live_task(m, e->parent_task, e->parent_task_id) : NULL;
	/* read now: a new task may move the one `parent` points to */
	__u64 parent_id = parent ? parent->id : 0;
	struct task_info *t = task_model__live_task(m, e->task, 0);
	__u32 idx;

	if (t && t->state == TASK_COMPLETED)
		t = NULL; /* a finished task's header, reused */
	if (t && (t->state == TASK_RUNNABLE || (e->flags & AIB_SPAWN_UNLESS_KNOWN)))
		return 0;
	/* Its memory is reused, so it ended: a poll in flight by now (its end
	 * record, from another CPU, may come after this one), an idle task
	 * when it was last seen. */
	if (t)
		complete(m, t, t->state == TASK_RUNNING ? e->hdr.ts : t->since);
	idx = task_model__new_task(m, e->task, AIB_IS_ROOT_TASK(e->task) ? AIB_ROOT_ID_OF(e->task) : 0,
				   e->runtime);
	if (idx == NO_TASK || !th)
		return -ENOMEM;
	t = &m->tasks[idx];
	t->spawn_seen = !(e->flags & AIB_SPAWN_FOUND_PARKED);
	t->found_in_memory = e->flags & AIB_SPAWN_FOUND_PARKED;
	t->spawn_ts = t->since = e->hdr.ts;
	t->parent_id = parent_id;
	t->location = spawn_location(m, e);
	t->location_unwound = t->location && (e->flags & AIB_SPAWN_UNWOUND);
	t->kind = task_kind_of_spawn(e->flags);
	/* a root found parked at attach waits, since before */
	t->state = t->found_in_memory ? TASK_IDLE : TASK_RUNNABLE;
	if (t->kind == TASK_BLOCK_ON)
		note_worker(t, e->hdr.tid); /* its thread, polled or not */
	if (th->next_task_name[0]) {
		if (task_info__extra(t))
			t->extra->name = strdup(th->next_task_name);
		th->next_task_name[0] = 0;
	}
	return 0;
}

static int on_task_name(struct task_model *m, const struct aib_ev_task_name *e)
{
	struct thread_rec *th = task_model__thread(m, e->hdr.tid);
	__u32 len = e->len < AIB_TASK_NAME_MAX ? e->len : AIB_TASK_NAME_MAX;

	if (!th)
		return -ENOMEM;
	memcpy(th->next_task_name, e->name, len);
	th->next_task_name[len] = 0;
	return 0;
}

static int on_spawn(struct task_model *m, const struct aib_ev_spawn *e)
{
	struct pending_spawn *p;
	int err;

	if (e->flags & AIB_SPAWN_TASK_KNOWN)
		return on_spawn_known(m, e);

	if (!e->predicted_id)
		return 0; /* no id to match its task by: the task shows up on first sight */
	p = pending_spawns__file(m->pending, e->predicted_id, e->hdr.tid, &err);
	if (!p)
		return err;
	p->ts = e->hdr.ts;
	p->flags = e->flags;
	p->parent_id = e->parent_task_id;
	p->location = spawn_location(m, e);
	return 0;
}

/* The runtime says which id this thread's last spawn call really got. It
 * comes before the task's first poll, which looks the id up. */
static int on_spawn_id(struct task_model *m, const struct aib_ev_spawn_id *e)
{
	return pending_spawns__refile(m->pending, e->hdr.tid, e->predicted_id, e->id);
}

static int on_poll_begin(struct task_model *m, const struct aib_ev_poll *e)
{
	struct thread_rec *th = task_model__thread(m, e->hdr.tid);
	__u32 idx = task_at(m, e->task, e->task_id, e->hdr.ts, e->runtime, true);
	struct task_info *t;

	if (idx == NO_TASK || !th)
		return -ENOMEM;
	t = &m->tasks[idx];
	/* A poll inside another poll on one thread: the outer one is a carrier
	 * (tokio runs each worker inside a blocking task), not user work. */
	if (e->depth > 0 && e->depth <= AIB_MAX_POLL_DEPTH && th->depth >= e->depth &&
	    th->stack[e->depth - 1] != NO_TASK) {
		struct task_info *outer = &m->tasks[th->stack[e->depth - 1]];

		/* (a block_on in it is a spawn_blocking's own). Where no
		 * spawn_blocking can be told (a stripped binary) in a process
		 * traced from its start, the thread's first task is; attached
		 * later, or with spawn_blocking told, a task first seen may
		 * drive a LocalSet (late attach tells carriers by state). */
		bool kinds_unknown = m->sum.exe &&
				     (!m->sum.spawn_locations || m->sum.spawn_kinds_unknown) &&
				     !m->sum.late_attach;

		if ((outer->kind == TASK_BLOCKING ||
		     (kinds_unknown && outer->kind == TASK_ASYNC && outer->id == th->first_polled)) &&
		    !AIB_IS_ROOT_TASK(e->task))
			outer->kind = TASK_RUNTIME;
		/* an async-io block_on polling async-task tasks is an executor
		 * thread's loop (async-std's, smol's threads): no user root */
		else if (outer->kind == TASK_BLOCK_ON && outer->runtime == AIB_RUNTIME_ASYNC_TASK &&
			 e->runtime == AIB_RUNTIME_ASYNC_TASK && !AIB_IS_ROOT_TASK(e->task))
			outer->kind = TASK_RUNTIME;
	}
	if (e->depth < AIB_MAX_POLL_DEPTH) {
		th->stack[e->depth] = idx;
		th->depth = e->depth + 1;
	}
	if (!th->first_polled)
		th->first_polled = t->id;
	if (t->state == TASK_COMPLETED) {
		m->sum.anomalies++;
		return 0;
	}
	if (t->state != TASK_RUNNING)
		task_info__leave_state(t, e->hdr.ts, true);
	else if (t->poll_tid != e->hdr.tid)
		/* Rescheduled at the end of a poll and picked up by another
		 * thread before the first one's end record was written: that
		 * poll is over by now; its end, still in flight, is ignored. */
		task_info__poll_done(t, e->hdr.ts > t->poll_start ? e->hdr.ts - t->poll_start : 0);
	t->state = TASK_RUNNING;
	t->poll_start = e->hdr.ts;
	t->poll_tid = e->hdr.tid;
	if (t->extra)
		t->extra->joining_id = t->extra->joining_header = 0; /* this poll says again */
	t->polls++;
	m->sum.polls++;
	note_worker(t, e->hdr.tid);
	return 0;
}

static int on_poll_end(struct task_model *m, const struct aib_ev_poll *e)
{
	struct thread_rec *th = task_model__thread(m, e->hdr.tid);
	struct task_info *t = task_model__live_task(m, e->task, e->task_id);
	__u64 ts = e->hdr.ts;

	if (th && e->depth < AIB_MAX_POLL_DEPTH)
		th->depth = e->depth;
	if (!t || t->state != TASK_RUNNING) {
		m->sum.anomalies++;
		return 0;
	}
	if (t->poll_tid && t->poll_tid != e->hdr.tid)
		return 0; /* the end of a poll another thread's began superseded */
	task_info__poll_done(t, ts > t->poll_start ? ts - t->poll_start : 0);
	t->last_poll_end_ts = ts;
	t->since = ts;
	switch (e->result) {
	case AIB_POLL_PANICKED:
	case AIB_POLL_CANCELLED:
		t->panicked = e->result == AIB_POLL_PANICKED;
		t->cancelled = e->result == AIB_POLL_CANCELLED;
		/* fallthrough */
	case AIB_POLL_READY:
		t->state = TASK_COMPLETED;
		t->end_ts = ts;
		lock_table__task_ended(m->locks, t->id, ts);
		break;
	case AIB_POLL_NOTIFIED:
		t->state = TASK_RUNNABLE;
		break;
	default:
		t->state = TASK_IDLE;
		break;
	}
	return 0;
}

static int on_wake(struct task_model *m, const struct aib_ev_wake *e)
{
	__u32 idx = task_at(m, e->task, e->task_id, e->hdr.ts, e->runtime, false);
	struct task_info *t, *waker;
	enum wake_kind kind;

	if (idx == NO_TASK)
		return -ENOMEM;
	t = &m->tasks[idx];
	waker = e->waker_task ? task_model__live_task(m, e->waker_task, e->waker_task_id) : NULL;
	if (!e->waker_task || (waker && waker->kind == TASK_RUNTIME))
		kind = WAKE_BY_THREAD;
	else if (e->waker_task == e->task && e->waker_task_id == e->task_id)
		kind = WAKE_BY_SELF;
	else
		kind = WAKE_BY_TASK;
	t->wakes[kind]++;
	m->sum.wakes++;
	if (task_info__extra(t)) { /* no memory: only the last wake is not told */
		t->extra->last_wake = (__u8)(kind + 1);
		t->extra->last_waker_id = kind == WAKE_BY_THREAD ? 0
					  : waker		 ? waker->id
								 : e->waker_task_id;
		t->extra->last_waker_tid = e->hdr.tid;
	}
	if (t->state == TASK_IDLE) {
		task_info__leave_state(t, e->hdr.ts, false);
		t->state = TASK_RUNNABLE;
	}
	return 0;
}

static int on_task_end(struct task_model *m, const struct aib_ev_task *e)
{
	struct task_info *t = task_model__live_task(m, e->task, e->task_id);

	if (!t && e->task_id && pending_spawns__has(m->pending, e->task_id)) {
		/* Spawned in the session, ended before its first poll (e.g. the
		 * runtime shut down with it still queued). */
		__u32 idx = task_at(m, e->task, e->task_id, e->hdr.ts, AIB_RUNTIME_TOKIO, false);

		if (idx == NO_TASK)
			return -ENOMEM;
		t = &m->tasks[idx];
	}
	if (!t)
		return 0; /* freed before we ever saw it run: nothing to say */
	if (e->hdr.kind == AIB_EV_SHUTDOWN) {
		/* A running task finishes its cancellation at the end of its poll. */
		if (t->state != TASK_COMPLETED)
			t->cancelled = true;
		if (t->state != TASK_RUNNING)
			complete(m, t, e->hdr.ts);
		return 0;
	}
	complete(m, t, e->hdr.ts);
	u64_map__del(m->live, e->task);
	return 0;
}

/* The waiter polls the JoinHandle of `task`. */
static int on_join(struct task_model *m, const struct aib_ev_join *e)
{
	struct task_info *w = task_model__live_task(m, e->waiter, e->waiter_id);
	const struct task_info *joined = task_model__live_task(m, e->task, e->task_id);

	if (!w)
		return 0;
	if (!task_info__extra(w))
		return -ENOMEM;
	w->extra->joining_header = e->task;
	w->extra->joining_id = joined ? joined->id : e->task_id;
	return 0;
}

/* A task the memory scan found at attach: known from now on, in the state
 * its state word says; a task already seen by a probe keeps what it has. */
static int on_task_found(struct task_model *m, const struct aib_rec_task_found *r)
{
	const struct runtime_ops *rt = runtime__get((enum aib_runtime)r->runtime);
	enum task_state state;
	struct task_info *t;
	__u32 idx;

	if (!rt || task_model__live_task(m, r->task, 0))
		return 0; /* a runtime unknown here: its state word says nothing */
	state = r->state & rt->state_done	 ? TASK_COMPLETED
		: r->state & rt->state_running	 ? TASK_RUNNING
		: r->state & rt->state_scheduled ? TASK_RUNNABLE
						 : TASK_IDLE;
	if (state == TASK_COMPLETED)
		return 0; /* its output waits for a JoinHandle: nothing runs */
	idx = task_model__new_task(m, r->task, r->task_id, r->runtime);
	if (idx == NO_TASK)
		return -ENOMEM;
	t = &m->tasks[idx];
	t->found_in_memory = true;
	t->spawn_ts = t->since = t->poll_start = r->hdr.ts;
	t->state = state; /* a running one: its poll's thread unknown (poll_tid 0) */
	return 0;
}

static int on_await(struct task_model *m, const struct aib_rec_await *r)
{
	struct task_info *t = task_model__live_task(m, r->task, r->task_id);
	struct aib_rec_await *copy;

	if (!t)
		return 0;
	copy = malloc(r->hdr.size);
	if (!copy || !task_info__extra(t)) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, r, r->hdr.size);
	free(t->extra->await);
	t->extra->await = copy;
	return 0;
}

/* A lock record: about the model's task, by its id (async-task's too). */
static int on_lock(struct task_model *m, const struct aib_ev_lock *e)
{
	const struct task_info *t = e->task ? task_model__live_task(m, e->task, e->task_id) : NULL;

	return lock_table__apply(m->locks, e, t ? t->id : 0);
}

static int on_blocked(struct task_model *m, const struct aib_rec_blocked *r)
{
	struct task_info *t = task_model__live_task(m, r->task, r->task_id);
	__u64 d = r->hdr.ts > r->start_ts ? r->hdr.ts - r->start_ts : 0;

	if (t) {
		if (!task_info__extra(t))
			return -ENOMEM;
		t->extra->blocked_calls++;
		t->extra->blocked_ns += d;
	}
	return blocking_calls__add(m->blocking, r, t ? t->id : 0);
}

/* A worker loop starts inside the poll of the task that carries it. */
static int on_worker_start(struct task_model *m, const struct aib_hdr *rec)
{
	struct thread_rec *th = task_model__thread(m, rec->tid);

	if (!th)
		return -ENOMEM;
	if (th->depth > 0 && th->depth <= AIB_MAX_POLL_DEPTH && th->stack[th->depth - 1] != NO_TASK)
		m->tasks[th->stack[th->depth - 1]].kind = TASK_RUNTIME;
	return 0;
}

static void on_process(struct task_model *m, const struct aib_rec_process *r)
{
	free((char *)m->sum.exe);
	m->sum.exe = strndup(r->exe, sizeof(r->exe));
	m->sum.pid = r->pid;
	m->sum.runtimes = r->runtimes;
	free((char *)m->sum.runtime_desc);
	m->sum.runtime_desc = strndup(r->runtime_desc, sizeof(r->runtime_desc));
	m->sum.poll_sites = r->poll_sites;
	m->sum.spawn_locations = r->flags & AIB_PROC_SPAWN_LOCATIONS;
	m->sum.late_attach = r->flags & AIB_PROC_LATE_ATTACH;
	m->sum.no_line_tables = r->flags & AIB_PROC_NO_LINE_TABLES;
	m->sum.spawn_kinds_unknown = r->flags & AIB_PROC_NO_SPAWN_KINDS;
	m->sum.start_ts = r->hdr.ts;
	m->sum.realtime_start_ns = r->realtime_ns;
}

int task_model__apply(struct task_model *m, const struct aib_hdr *rec)
{
	m->sum.events++;
	if (rec->kind < AIB_REC_FIRST && rec->ts > m->last_ts)
		m->last_ts = rec->ts;

	switch (rec->kind) {
	case AIB_EV_SPAWN:
		return on_spawn(m, (const struct aib_ev_spawn *)rec);
	case AIB_EV_POLL_BEGIN:
		return on_poll_begin(m, (const struct aib_ev_poll *)rec);
	case AIB_EV_POLL_END:
		return on_poll_end(m, (const struct aib_ev_poll *)rec);
	case AIB_EV_WAKE:
		return on_wake(m, (const struct aib_ev_wake *)rec);
	case AIB_EV_SHUTDOWN:
	case AIB_EV_DEALLOC:
		return on_task_end(m, (const struct aib_ev_task *)rec);
	case AIB_EV_WORKER_START:
		return on_worker_start(m, rec);
	case AIB_EV_SPAWN_ID:
		return on_spawn_id(m, (const struct aib_ev_spawn_id *)rec);
	case AIB_EV_TASK_NAME:
		return on_task_name(m, (const struct aib_ev_task_name *)rec);
	case AIB_EV_JOIN:
		return on_join(m, (const struct aib_ev_join *)rec);
	case AIB_EV_EXEC: /* the session ends at it (AIB_END_TARGET_EXEC) */
		return 0;
	case AIB_REC_TASK_FOUND:
		return on_task_found(m, (const struct aib_rec_task_found *)rec);
	case AIB_REC_AWAIT:
		return on_await(m, (const struct aib_rec_await *)rec);
	case AIB_EV_LOCK:
		return on_lock(m, (const struct aib_ev_lock *)rec);
	case AIB_REC_BLOCKED:
		return on_blocked(m, (const struct aib_rec_blocked *)rec);
	case AIB_REC_PROCESS:
		on_process(m, (const struct aib_rec_process *)rec);
		return 0;
	case AIB_REC_LOCATION:
		return location_table__define_file(m->locations, (const struct aib_rec_location *)rec);
	case AIB_REC_THREAD: {
		const struct aib_rec_thread *r = (const void *)rec;
		struct thread_rec *th = task_model__thread(m, r->hdr.tid);

		if (!th)
			return -ENOMEM;
		memcpy(th->name, r->name, sizeof(th->name));
		th->name[sizeof(th->name) - 1] = 0;
		return 0;
	}
	case AIB_REC_LOST: {
		const struct aib_rec_lost *r = (const void *)rec;

		m->sum.lost = r->lost;
		m->sum.dropped = r->dropped;
		return 0;
	}
	case AIB_REC_BUILD_ID: {
		const struct aib_rec_build_id *r = (const void *)rec;

		for (__u32 i = 0; i < r->len && i < AIB_BUILD_ID_MAX; i++)
			snprintf(m->sum.build_id + 2 * i, 3, "%02x", r->id[i]);
		return 0;
	}
	case AIB_REC_DROPS:
		memcpy(m->sum.dropped_by, ((const struct aib_rec_drops *)rec)->count,
		       sizeof(m->sum.dropped_by));
		return 0;
	case AIB_REC_END:
		m->sum.ended_cleanly = true;
		m->sum.end_reason = ((const struct aib_rec_end *)rec)->reason;
		m->sum.end_ts = rec->ts;
		return 0;
	default:
		m->sum.anomalies++;
		return 0;
	}
}
