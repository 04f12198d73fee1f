// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "lib/id_table.h"
#include "model/task_model.h"
#include "model/blocking_calls.h"
#include "model/location_table.h"
#include "model/lock_table.h"
#include "lib/u64_map.h"
#include "runtime/runtime.h"

#define NO_TASK ((__u32)~0U)

/* A spawn call waiting for its task to show up under the predicted id. */
struct pending_spawn {
	__u64 predicted_id; /* as the spawn call predicted; its key may differ */
	__u64 ts;
	__u64 parent_id;
	const char *location;
	__u32 flags;
	__u32 tid;
};

struct thread_rec {
	__u32 tid;
	char name[16];
	char next_task_name[AIB_TASK_NAME_MAX + 1]; /* for this thread's next spawn */
	__u32 depth;
	__u32 stack[AIB_MAX_POLL_DEPTH]; /* task indices being polled */
};

struct task_model {
	struct task_info *tasks;
	size_t ntasks, tasks_cap;
	struct u64_map *live; /* header -> newest task at that header */

	struct pending_spawn *pending;
	size_t npending, pending_cap;
	__u32 *pending_free; /* recycled slots of `pending` */
	size_t npending_free, pending_free_cap;
	struct u64_map *pending_by_id;

	struct location_table *locations; /* spawn locations, interned */

	struct id_table threads; /* tid -> struct thread_rec */

	struct model_summary sum;
	__u64 next_own_id; /* ids for tasks of runtimes that number none */
	__u64 last_ts;
	bool finished;

	/* Bounded memory: past `keep_completed` completed tasks the oldest are
	 * folded into exact per-location counters and dropped. */
	size_t keep_completed;
	size_t compact_at; /* ntasks at which to look again */
	struct id_table retired; /* location pointer -> struct retired_location */

	struct lock_table *locks;	 /* tokio's locks, by semaphore */
	struct blocking_calls *blocking; /* blocking syscalls inside polls */
};

const char *task_state_name(enum task_state s)
{
	static const char *const names[] = {"running", "runnable", "idle", "completed"};

	return (unsigned)s < 4 ? names[s] : "unknown";
}

const char *aib_runtime_name(enum aib_runtime r)
{
	static const char *const names[] = {"unknown", "tokio", "async-task"};

	return r < AIB_RUNTIME_MAX ? names[r] : "unknown";
}

const char *task_kind_name(enum task_kind k)
{
	static const char *const names[] = {"async", "blocking", "local", "runtime"};

	return (unsigned)k < 4 ? names[k] : "unknown";
}

/* ---- per-task storage ---- */

static void task_release(struct task_info *t)
{
	if (t->nsched > 1) {
		samples__release(t->sched.many);
		free(t->sched.many);
	}
	if (t->extra) {
		free(t->extra->name);
		free(t->extra->await);
		free(t->extra);
	}
}

/* The task's side record, allocated on first use; NULL when out of memory. */
static struct task_extra *extra_of(struct task_info *t)
{
	if (!t->extra)
		t->extra = calloc(1, sizeof(*t->extra));
	return t->extra;
}

/* One scheduling delay: the first is kept in the task itself, a second
 * moves both to a struct samples (the same values, added in order). */
static int sched_add(struct task_info *t, __u64 d)
{
	struct samples *s;

	if (t->nsched == 0) {
		t->sched.one = d;
		t->nsched = 1;
		return 0;
	}
	if (t->nsched == 1) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		samples__add(s, t->sched.one);
		t->sched.many = s;
		t->nsched = 2;
	}
	return samples__add(t->sched.many, d);
}

struct samples *task_info__sched(struct task_info *t, struct samples *one)
{
	if (t->nsched > 1)
		return t->sched.many;
	*one = (struct samples){0};
	if (t->nsched == 1)
		*one = (struct samples){.v = &t->sched.one, .n = 1, .cap = 1, .count = 1,
					.sum = t->sched.one, .min = t->sched.one, .max = t->sched.one};
	return one;
}

struct task_model *task_model__new(void)
{
	struct task_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->live = u64_map__new();
	m->pending_by_id = u64_map__new();
	m->locations = location_table__new();
	m->locks = lock_table__new();
	m->blocking = blocking_calls__new();
	m->keep_completed = TASK_MODEL_KEEP_COMPLETED;
	m->compact_at = TASK_MODEL_KEEP_COMPLETED;
	if (!m->live || !m->pending_by_id || !m->locations || !m->locks ||
	    !m->blocking ||
	    id_table__init(&m->threads, sizeof(struct thread_rec)) ||
	    id_table__init(&m->retired, sizeof(struct retired_location))) {
		task_model__free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void task_model__free(struct task_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ntasks; i++)
		task_release(&m->tasks[i]);
	free(m->tasks);
	free(m->pending);
	free(m->pending_free);
	id_table__release(&m->threads);
	id_table__release(&m->retired);
	free((char *)m->sum.exe);
	free((char *)m->sum.runtime_desc);
	u64_map__free(m->live);
	u64_map__free(m->pending_by_id);
	location_table__free(m->locations);
	lock_table__free(m->locks);
	blocking_calls__free(m->blocking);
	free(m);
}


/* ---- threads ---- */

static struct thread_rec *thread_get(struct task_model *m, __u32 tid)
{
	bool added;
	struct thread_rec *th = id_table__get(&m->threads, tid, &added);

	if (th && added) {
		th->tid = tid;
		memset(th->stack, 0xff, sizeof(th->stack)); /* NO_TASK */
	}
	return th;
}

const char *task_model__thread_name(const struct task_model *m, __u32 tid)
{
	const struct thread_rec *th = id_table__find(&m->threads, tid);

	return th && th->name[0] ? th->name : NULL;
}

/* ---- bounded memory ---- */

static struct retired_location *retired_for(struct task_model *m, const char *location)
{
	bool added;
	struct retired_location *r = id_table__get(&m->retired, (uintptr_t)location, &added);

	if (r && added)
		r->location = location;
	return r;
}

struct remap_ctx {
	const __u32 *remap;
	struct u64_map *into;
	int err;
};

static int remap_live(__u64 header, __u32 idx, void *arg)
{
	struct remap_ctx *c = arg;

	if (c->remap[idx] != NO_TASK && u64_map__set(c->into, header, c->remap[idx]))
		c->err = -ENOMEM;
	return c->err;
}

/* Fold the oldest completed tasks beyond `keep_completed` into per-location
 * counters and compact the task array, renumbering what points into it. */
static int retire_completed(struct task_model *m)
{
	size_t completed = 0, drop, kept = 0;
	struct remap_ctx c = {0};
	__u32 *remap;

	for (size_t i = 0; i < m->ntasks; i++)
		completed += m->tasks[i].state == TASK_COMPLETED && m->tasks[i].kind != TASK_RUNTIME;
	m->compact_at = m->ntasks + m->keep_completed;
	if (completed <= m->keep_completed)
		return 0;
	drop = completed - m->keep_completed;
	remap = malloc(m->ntasks * sizeof(*remap));
	c.into = u64_map__new();
	if (!remap || !c.into) {
		free(remap);
		u64_map__free(c.into);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->ntasks; i++) {
		struct task_info *t = &m->tasks[i];
		struct retired_location *r;

		if (drop && t->state == TASK_COMPLETED && t->kind != TASK_RUNTIME &&
		    (r = retired_for(m, t->location))) {
			r->spawned++;
			r->completed++;
			r->polls += t->polls;
			r->busy_ns += t->busy_ns;
			m->sum.tasks_retired++;
			task_release(t);
			remap[i] = NO_TASK;
			drop--;
			continue;
		}
		remap[i] = (__u32)kept;
		if (kept != i)
			m->tasks[kept] = *t;
		kept++;
	}
	m->ntasks = kept;
	c.remap = remap;
	u64_map__for_each(m->live, remap_live, &c);
	if (!c.err) {
		u64_map__free(m->live);
		m->live = c.into;
		c.into = NULL;
	}
	for (size_t i = 0; i < m->threads.n; i++) {
		struct thread_rec *th = id_table__at(&m->threads, i);

		for (__u32 d = 0; d < AIB_MAX_POLL_DEPTH; d++)
			if (th->stack[d] != NO_TASK)
				th->stack[d] = remap[th->stack[d]];
	}
	u64_map__free(c.into);
	free(remap);
	m->compact_at = m->ntasks + m->keep_completed;
	return c.err;
}

void task_model__set_keep_completed(struct task_model *m, size_t keep)
{
	m->keep_completed = keep;
	m->compact_at = m->ntasks + keep;
}

size_t task_model__retired_count(const struct task_model *m)
{
	return m->retired.n;
}

const struct retired_location *task_model__retired(const struct task_model *m, size_t i)
{
	return i < m->retired.n ? id_table__at(&m->retired, i) : NULL;
}

/* ---- tasks ---- */

/* Close the interval of the current state at ts. A runnable interval that
 * ends in a poll is one scheduling delay sample. */
static void leave_state(struct task_info *t, __u64 ts, bool polled)
{
	__u64 d = ts > t->since ? ts - t->since : 0;

	if (t->state == TASK_IDLE) {
		t->idle_ns += d;
	} else if (t->state == TASK_RUNNABLE) {
		t->runnable_ns += d;
		if (polled)
			sched_add(t, d); /* on -ENOMEM the delay stays in runnable_ns */
	}
	t->since = ts;
}

static void complete(struct task_model *m, struct task_info *t, __u64 ts)
{
	if (t->state == TASK_COMPLETED)
		return;
	if (t->state == TASK_RUNNING)
		t->busy_ns += ts > t->poll_start ? ts - t->poll_start : 0;
	else
		leave_state(t, ts, false);
	t->state = TASK_COMPLETED;
	t->end_ts = ts;
	lock_table__task_ended(m->locks, t->id, ts);
}

static struct pending_spawn *pending_take(struct task_model *m, __u64 id, struct pending_spawn *out)
{
	__u32 idx;

	if (!id || !u64_map__get(m->pending_by_id, id, &idx))
		return NULL;
	*out = m->pending[idx];
	u64_map__del(m->pending_by_id, id);
	/* a slot that cannot be recycled is only lost, never reused twice */
	if (!array__grow((void **)&m->pending_free, &m->pending_free_cap, m->npending_free + 1,
		  sizeof(__u32)))
		m->pending_free[m->npending_free++] = idx;
	return out;
}

static enum task_kind kind_of(__u32 spawn_flags)
{
	return spawn_flags & AIB_SPAWN_BLOCKING ? TASK_BLOCKING
	       : spawn_flags & AIB_SPAWN_LOCAL	? TASK_LOCAL
						: TASK_ASYNC;
}

/* A new task record at `header`, which becomes the live one there. */
static __u32 task_new(struct task_model *m, __u64 header, __u64 id, enum aib_runtime runtime)
{
	struct task_info *t;
	__u32 idx;

	if (m->ntasks >= m->compact_at && retire_completed(m))
		return NO_TASK;
	if (array__grow((void **)&m->tasks, &m->tasks_cap, m->ntasks + 1, sizeof(*m->tasks)))
		return NO_TASK;
	idx = (__u32)m->ntasks;
	if (u64_map__set(m->live, header, idx))
		return NO_TASK;
	m->ntasks++;
	t = &m->tasks[idx];
	memset(t, 0, sizeof(*t));
	/* async-task numbers no tasks: ours, in order of first sight */
	t->id = id || runtime != AIB_RUNTIME_ASYNC_TASK ? id : ++m->next_own_id;
	t->header = header;
	t->runtime = runtime < AIB_RUNTIME_MAX ? runtime : AIB_RUNTIME_MAX; /* "unknown" either way */
	return idx;
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
	idx = task_new(m, header, id, runtime);
	if (idx == NO_TASK)
		return NO_TASK;
	t = &m->tasks[idx];
	if (pending_take(m, id, &p)) {
		t->spawn_seen = true;
		t->spawn_ts = p.ts;
		t->parent_id = p.parent_id;
		t->location = p.location;
		t->kind = kind_of(p.flags);
		t->state = TASK_RUNNABLE; /* spawned, waiting for its first poll */
		t->since = p.ts;
	} else {
		/* First sight: what it did before is unknown, so nothing before
		 * now is charged to any state. */
		t->spawn_ts = ts;
		t->state = TASK_IDLE;
		t->since = ts;
	}
	return idx;
}

static struct task_info *live_task(struct task_model *m, __u64 header, __u64 id)
{
	__u32 idx;

	if (!u64_map__get(m->live, header, &idx))
		return NULL;
	if (id && m->tasks[idx].id && m->tasks[idx].id != id)
		return NULL;
	return &m->tasks[idx];
}

/* A spawn that names its task's header (async-task: at its first
 * schedule). A task there waiting to run is being rescheduled by hand; one
 * that looked running or idle ended without us seeing it (a lost record). */
static int on_spawn_known(struct task_model *m, const struct aib_ev_spawn *e)
{
	struct thread_rec *th = thread_get(m, e->hdr.tid);
	const struct task_info *parent =
		e->parent_task ? live_task(m, e->parent_task, e->parent_task_id) : NULL;
	struct task_info *t = live_task(m, e->task, 0);
	__u32 idx;

	if (t && t->state == TASK_RUNNABLE)
		return 0;
	/* Its memory is reused, so it ended: a poll in flight by now (its end
	 * record, from another CPU, may come after this one), an idle task
	 * when it was last seen. */
	if (t)
		complete(m, t, t->state == TASK_RUNNING ? e->hdr.ts : t->since);
	idx = task_new(m, e->task, 0, e->runtime);
	if (idx == NO_TASK || !th)
		return -ENOMEM;
	t = &m->tasks[idx];
	t->spawn_seen = true;
	t->spawn_ts = t->since = e->hdr.ts;
	t->parent_id = parent ? parent->id : 0;
	t->location = e->flags & AIB_SPAWN_HAS_LOCATION
			      ? location_table__intern(m->locations, e->file_addr, e->line, e->col)
			      : NULL;
	t->kind = kind_of(e->flags);
	t->state = TASK_RUNNABLE;
	if (th->next_task_name[0]) {
		if (extra_of(t))
			t->extra->name = strdup(th->next_task_name);
		th->next_task_name[0] = 0;
	}
	return 0;
}

static int on_task_name(struct task_model *m, const struct aib_ev_task_name *e)
{
	struct thread_rec *th = thread_get(m, e->hdr.tid);
	__u32 len = e->len < AIB_TASK_NAME_MAX ? e->len : AIB_TASK_NAME_MAX;

	if (!th)
		return -ENOMEM;
	memcpy(th->next_task_name, e->name, len);
	th->next_task_name[len] = 0;
	return 0;
}

static int on_spawn(struct task_model *m, const struct aib_ev_spawn *e)
{
	__u64 id = e->predicted_id;
	struct pending_spawn *p;
	__u32 idx;

	if (e->flags & AIB_SPAWN_TASK_KNOWN)
		return on_spawn_known(m, e);

	if (!id)
		return 0; /* no id to match its task by: the task shows up on first sight */
	if (u64_map__get(m->pending_by_id, id, &idx)) {
		/* The same call seen again through a #[track_caller] wrapper. */
		if (m->pending[idx].tid == e->hdr.tid)
			return 0;
		/* Two threads raced for the same id: the later one got a later id. */
		for (int k = 1; k <= 4 && u64_map__get(m->pending_by_id, id, NULL); k++)
			id = e->predicted_id + k;
		if (u64_map__get(m->pending_by_id, id, NULL))
			return 0;
	}
	if (m->npending_free) {
		idx = m->pending_free[--m->npending_free];
	} else {
		if (array__grow((void **)&m->pending, &m->pending_cap, m->npending + 1, sizeof(*m->pending)))
			return -ENOMEM;
		idx = (__u32)m->npending++;
	}
	p = &m->pending[idx];
	p->predicted_id = e->predicted_id;
	p->ts = e->hdr.ts;
	p->tid = e->hdr.tid;
	p->flags = e->flags;
	p->parent_id = e->parent_task_id;
	p->location = e->flags & AIB_SPAWN_HAS_LOCATION
			      ? location_table__intern(m->locations, e->file_addr, e->line, e->col)
			      : NULL;
	return u64_map__set(m->pending_by_id, id, idx);
}

/* The runtime says which id this thread's last spawn call really got: file
 * its pending spawn under that id, and whichever spawn sat there (another
 * thread's, filed by guess in the same instant) under the freed key. It
 * comes before the task's first poll, which looks the id up. */
static int on_spawn_id(struct task_model *m, const struct aib_ev_spawn_id *e)
{
	__u64 key = 0;
	__u32 mine = 0, other;

	for (__u64 k = e->predicted_id; k <= e->predicted_id + 4; k++) {
		__u32 idx;

		if (u64_map__get(m->pending_by_id, k, &idx) && m->pending[idx].tid == e->hdr.tid &&
		    m->pending[idx].predicted_id == e->predicted_id) {
			key = k;
			mine = idx;
			break;
		}
	}
	if (!key || key == e->id)
		return 0;
	if (u64_map__get(m->pending_by_id, e->id, &other)) {
		if (u64_map__set(m->pending_by_id, key, other))
			return -ENOMEM;
	} else {
		u64_map__del(m->pending_by_id, key);
	}
	return u64_map__set(m->pending_by_id, e->id, mine);
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
	else if (n < TASK_MAX_WORKERS && extra_of(t))
		t->extra->workers[n - 1] = tid;
	else
		return;
	t->nworkers = n + 1;
}

static int on_poll_begin(struct task_model *m, const struct aib_ev_poll *e)
{
	struct thread_rec *th = thread_get(m, e->hdr.tid);
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

		if (outer->kind == TASK_BLOCKING)
			outer->kind = TASK_RUNTIME;
	}
	if (e->depth < AIB_MAX_POLL_DEPTH) {
		th->stack[e->depth] = idx;
		th->depth = e->depth + 1;
	}
	if (t->state == TASK_COMPLETED) {
		m->sum.anomalies++;
		return 0;
	}
	if (t->state != TASK_RUNNING)
		leave_state(t, e->hdr.ts, true);
	else if (t->poll_tid != e->hdr.tid)
		/* Rescheduled at the end of a poll and picked up by another
		 * thread before the first one's end record was written: that
		 * poll is over by now; its end, still in flight, is ignored. */
		t->busy_ns += e->hdr.ts > t->poll_start ? e->hdr.ts - t->poll_start : 0;
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
	struct thread_rec *th = thread_get(m, e->hdr.tid);
	struct task_info *t = live_task(m, e->task, e->task_id);
	__u64 ts = e->hdr.ts;

	if (th && e->depth < AIB_MAX_POLL_DEPTH)
		th->depth = e->depth;
	if (!t || t->state != TASK_RUNNING) {
		m->sum.anomalies++;
		return 0;
	}
	if (t->poll_tid && t->poll_tid != e->hdr.tid)
		return 0; /* the end of a poll another thread's began superseded */
	t->busy_ns += ts > t->poll_start ? ts - t->poll_start : 0;
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
	waker = e->waker_task ? live_task(m, e->waker_task, e->waker_task_id) : NULL;
	if (!e->waker_task || (waker && waker->kind == TASK_RUNTIME))
		kind = WAKE_BY_THREAD;
	else if (e->waker_task == e->task && e->waker_task_id == e->task_id)
		kind = WAKE_BY_SELF;
	else
		kind = WAKE_BY_TASK;
	t->wakes[kind]++;
	m->sum.wakes++;
	if (t->state == TASK_IDLE) {
		leave_state(t, e->hdr.ts, false);
		t->state = TASK_RUNNABLE;
	}
	return 0;
}

static int on_task_end(struct task_model *m, const struct aib_ev_task *e)
{
	struct task_info *t = live_task(m, e->task, e->task_id);

	if (!t && e->task_id && u64_map__get(m->pending_by_id, e->task_id, NULL)) {
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
	struct task_info *w = live_task(m, e->waiter, e->waiter_id);
	const struct task_info *joined = live_task(m, e->task, e->task_id);

	if (!w)
		return 0;
	if (!extra_of(w))
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

	if (!rt || live_task(m, r->task, 0))
		return 0; /* a runtime unknown here: its state word says nothing */
	state = r->state & rt->state_done	 ? TASK_COMPLETED
		: r->state & rt->state_running	 ? TASK_RUNNING
		: r->state & rt->state_scheduled ? TASK_RUNNABLE
						 : TASK_IDLE;
	if (state == TASK_COMPLETED)
		return 0; /* its output waits for a JoinHandle: nothing runs */
	idx = task_new(m, r->task, r->task_id, r->runtime);
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
	struct task_info *t = live_task(m, r->task, r->task_id);
	struct aib_rec_await *copy;

	if (!t)
		return 0;
	copy = malloc(r->hdr.size);
	if (!copy || !extra_of(t)) {
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
	const struct task_info *t = e->task ? live_task(m, e->task, e->task_id) : NULL;

	return lock_table__apply(m->locks, e, t ? t->id : 0);
}

static int on_blocked(struct task_model *m, const struct aib_rec_blocked *r)
{
	struct task_info *t = live_task(m, r->task, r->task_id);
	__u64 d = r->hdr.ts > r->start_ts ? r->hdr.ts - r->start_ts : 0;

	if (t) {
		if (!extra_of(t))
			return -ENOMEM;
		t->extra->blocked_calls++;
		t->extra->blocked_ns += d;
	}
	return blocking_calls__add(m->blocking, r, t ? t->id : 0);
}

/* A worker loop starts inside the poll of the task that carries it. */
static int on_worker_start(struct task_model *m, const struct aib_hdr *rec)
{
	struct thread_rec *th = thread_get(m, rec->tid);

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
		struct thread_rec *th = thread_get(m, r->hdr.tid);

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

/* Spawn calls whose task never ran: spawned, runnable, never polled. */
static int add_unpolled(__u64 id, __u32 idx, void *ctx)
{
	struct task_model *m = ctx;
	struct pending_spawn *p = &m->pending[idx];
	struct task_info *t;

	if (array__grow((void **)&m->tasks, &m->tasks_cap, m->ntasks + 1, sizeof(*m->tasks)))
		return 1;
	t = &m->tasks[m->ntasks++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->spawn_seen = true;
	t->spawn_ts = t->since = p->ts;
	t->parent_id = p->parent_id;
	t->location = p->location;
	t->runtime = AIB_RUNTIME_TOKIO;
	t->kind = kind_of(p->flags);
	t->state = TASK_RUNNABLE;
	return 0;
}

static int by_spawn_ts(const void *a, const void *b)
{
	const struct task_info *x = a, *y = b;

	return x->spawn_ts < y->spawn_ts ? -1 : x->spawn_ts > y->spawn_ts;
}

void task_model__finish(struct task_model *m, __u64 end_ts)
{
	struct model_summary *s = &m->sum;

	if (m->finished)
		return;
	m->finished = true;
	if (!end_ts)
		end_ts = s->end_ts ? s->end_ts : m->last_ts;
	if (end_ts < m->last_ts)
		end_ts = m->last_ts;
	s->end_ts = end_ts;
	if (!s->start_ts)
		s->start_ts = m->ntasks ? m->tasks[0].spawn_ts : end_ts;

	size_t first_unpolled = m->ntasks;

	u64_map__for_each(m->pending_by_id, add_unpolled, m);
	/* the map's order is arbitrary: list them in spawn order */
	qsort(m->tasks + first_unpolled, m->ntasks - first_unpolled, sizeof(*m->tasks), by_spawn_ts);
	s->polls = 0;
	for (size_t i = 0; i < m->retired.n; i++) {
		const struct retired_location *r = id_table__at(&m->retired, i);

		s->tasks_spawned += r->spawned;
		s->tasks_completed += r->completed;
		s->polls += r->polls;
	}

	lock_table__finish(m->locks, end_ts);
	for (size_t i = 0; i < m->ntasks; i++) {
		struct task_info *t = &m->tasks[i];

		if (t->state == TASK_RUNNING)
			t->busy_ns += end_ts > t->poll_start ? end_ts - t->poll_start : 0;
		else if (t->state != TASK_COMPLETED)
			leave_state(t, end_ts, false);
		if (t->kind == TASK_RUNTIME) {
			s->runtime_tasks++;
			continue;
		}
		s->tasks_spawned++;
		s->polls += t->polls;
		if (t->state == TASK_COMPLETED)
			s->tasks_completed++;
		else
			s->tasks_alive++;
	}
}

__u64 task_model__blocked_ns(const struct task_model *m, const struct task_info *t, bool *at_least)
{
	__u64 end = m->sum.end_ts, from;

	*at_least = false;
	if (t->state == TASK_RUNNING || t->state == TASK_COMPLETED)
		return 0;
	if (t->last_poll_end_ts) {
		from = t->last_poll_end_ts;
	} else if (t->spawn_seen) {
		from = t->spawn_ts; /* spawned in the session, never polled */
	} else {
		from = m->sum.start_ts ? m->sum.start_ts : t->spawn_ts;
		*at_least = true;
	}
	return end > from ? end - from : 0;
}

const struct task_info *task_model__find(const struct task_model *m, __u64 header, __u64 id)
{
	return live_task((struct task_model *)m, header, id);
}

const struct model_summary *task_model__summary(const struct task_model *m)
{
	return &m->sum;
}

size_t task_model__task_count(const struct task_model *m)
{
	return m->ntasks;
}

struct task_info *task_model__task(const struct task_model *m, size_t i)
{
	return i < m->ntasks ? &m->tasks[i] : NULL;
}

const struct lock_table *task_model__locks(const struct task_model *m)
{
	return m->locks;
}

const struct blocking_calls *task_model__blocking(const struct task_model *m)
{
	return m->blocking;
}

size_t task_model__join_waits(const struct task_model *m, struct join_wait *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < m->ntasks; i++) {
		const struct task_info *t = &m->tasks[i], *joined;

		if (t->state != TASK_IDLE || !task_info__joining_id(t))
			continue;
		joined = live_task((struct task_model *)m, t->extra->joining_header, t->extra->joining_id);
		if (!joined || joined->state == TASK_COMPLETED)
			continue;
		if (n < max)
			out[n] = (struct join_wait){t->id, joined->id, t->last_poll_end_ts ?: t->since};
		n++;
	}
	return n;
}

size_t task_model__pending_spawns(const struct task_model *m)
{
	return u64_map__count(m->pending_by_id);
}
