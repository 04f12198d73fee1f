// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "task_tracker.h"
#include "u64_map.h"

#define NO_SLOT ((__u32)~0U)

/* What the model keeps per thread to spot carrier tasks: the poll stack. */
struct tracked_thread {
	__u32 depth;
	__u64 header[AIB_MAX_POLL_DEPTH];
	__u64 id[AIB_MAX_POLL_DEPTH];
};

struct task_tracker {
	change_fn fn;
	void *ctx;

	struct tracked_task *slots;
	size_t nslots, slots_cap;
	__u32 free_head; /* slots not in use, last freed first, linked by header */
	/* header -> slot: open addressing over slot index + 1 (0: empty), the
	 * key read from the slot, so an entry is 4 bytes (a u64_map's is 16) */
	__u32 *index;
	size_t index_cap; /* power of two */
	size_t index_count;
	size_t live;
	__u64 serial;

	struct tracked_thread *threads;
	size_t nthreads, threads_cap;
	struct u64_map *thread_by_tid;

	size_t pending;	   /* the model's pending spawns after the last record */
	size_t seen_tasks; /* the model's task count after the last record */
};

struct task_tracker *task_tracker__new(change_fn fn, void *ctx)
{
	struct task_tracker *t = calloc(1, sizeof(*t));

	if (!t)
		goto nomem;
	t->fn = fn;
	t->ctx = ctx;
	t->free_head = NO_SLOT;
	t->thread_by_tid = u64_map__new();
	if (!t->thread_by_tid) {
		task_tracker__free(t);
		goto nomem;
	}
	return t;
nomem:
	errno = ENOMEM;
	return NULL;
}

void task_tracker__free(struct task_tracker *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->index);
	free(t->threads);
	u64_map__free(t->thread_by_tid);
	free(t);
}

size_t task_tracker__live(const struct task_tracker *t)
{
	return t->live;
}

/* ---- slots ---- */

static size_t hash(__u64 k)
{
	/* splitmix64 finalizer: header addresses share low and high bits */
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (size_t)k;
}

/* The index entry for header: its slot's, or the empty one to fill. */
static __u32 *index_find(const struct task_tracker *t, __u64 header)
{
	size_t mask = t->index_cap - 1, i = hash(header) & mask;

	for (;; i = (i + 1) & mask)
		if (!t->index[i] || t->slots[t->index[i] - 1].header == header)
			return &t->index[i];
}

/* Grows by doubling at 3/4 full: the old table, a quarter of the new
 * one's size, is the only slack at the peak. */
static int index_add(struct task_tracker *t, __u32 idx)
{
	__u32 *e;

	if ((t->index_count + 1) * 4 > t->index_cap * 3) {
		__u32 *old = t->index;
		size_t old_cap = t->index_cap, cap = old_cap ? old_cap * 2 : 64;

		t->index = calloc(cap, sizeof(*t->index));
		if (!t->index) {
			t->index = old;
			return -ENOMEM;
		}
		t->index_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i])
				*index_find(t, t->slots[old[i] - 1].header) = old[i];
		free(old);
	}
	e = index_find(t, t->slots[idx].header);
	if (!*e)
		t->index_count++;
	*e = idx + 1;
	return 0;
}

static void index_del(struct task_tracker *t, __u64 header)
{
	size_t mask = t->index_cap - 1, i, j;
	__u32 *e = index_find(t, header);

	if (!*e)
		return;
	i = (size_t)(e - t->index);
	/* Backward shift: pull later entries of the probe run into the hole. */
	for (j = (i + 1) & mask; t->index[j]; j = (j + 1) & mask) {
		size_t home = hash(t->slots[t->index[j] - 1].header) & mask;
		/* j may fill the hole at i unless its home lies cyclically in (i, j] */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);

		if (!stays) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
	t->index_count--;
}

static struct tracked_task *slot_of(struct task_tracker *t, __u64 header)
{
	__u32 e;

	if (!t->index_cap)
		return NULL;
	e = *index_find(t, header);
	return e ? &t->slots[e - 1] : NULL;
}

static void slot_free(struct task_tracker *t, __u32 idx)
{
	t->slots[idx].serial = 0; /* not in use */
	t->slots[idx].header = t->free_head;
	t->free_head = idx;
}

/* May move every slot: take other slot pointers after this. */
static struct tracked_task *slot_new(struct task_tracker *t, __u64 header)
{
	__u32 idx;

	if (t->free_head != NO_SLOT) {
		idx = t->free_head;
		t->free_head = (__u32)t->slots[idx].header;
	} else {
		if (array__grow((void **)&t->slots, &t->slots_cap, t->nslots + 1, sizeof(*t->slots)))
			return NULL;
		idx = (__u32)t->nslots++;
	}
	memset(&t->slots[idx], 0, sizeof(t->slots[idx]));
	t->slots[idx].header = header;
	if (index_add(t, idx)) {
		slot_free(t, idx);
		return NULL;
	}
	t->slots[idx].serial = ++t->serial;
	t->live++;
	return &t->slots[idx];
}

static void slot_release(struct task_tracker *t, struct tracked_task *s)
{
	index_del(t, s->header);
	slot_free(t, (__u32)(s - t->slots));
	t->live--;
}

/* ---- changes ---- */

static int end_slot(struct task_tracker *t, struct tracked_task *s, const struct aib_hdr *rec)
{
	struct change c = {.kind = CHANGE_STATE, .ts = rec->ts, .tid = rec->tid, .task = s,
			   .from = s->state, .result = -1, .freed = true};
	int err;

	s->state = TASK_COMPLETED;
	err = t->fn(t->ctx, &c);
	slot_release(t, s);
	return err;
}

/*
 * The slot of the task a record is about, once the model has applied it:
 * ends the slot's previous task if the model no longer has it (freed, or its
 * header reused), reports first sight. *out is NULL when there is nothing to
 * follow (the task is unknown or already finished).
 */
static int subject(struct task_tracker *t, const struct task_model *m, const struct aib_hdr *rec,
		   __u64 header, __u64 id, struct tracked_task **out)
{
	struct tracked_task *s = slot_of(t, header);
	const struct task_info *info;
	int err;

	*out = NULL;
	if (s && !task_model__find(m, header, s->id)) {
		err = end_slot(t, s, rec);
		if (err)
			return err;
		s = NULL;
	}
	info = task_model__find(m, header, id);
	if (!info)
		return 0;
	if (!s) {
		struct change c = {.kind = CHANGE_APPEAR, .ts = rec->ts, .tid = rec->tid, .info = info};

		if (info->state == TASK_COMPLETED)
			return 0; /* finished before: nothing more to show */
		s = slot_new(t, header);
		if (!s)
			return -ENOMEM;
		s->id = info->id;
		/* the model's starting point, before this record's effect */
		s->state = info->spawn_seen ? TASK_RUNNABLE : TASK_IDLE;
		c.task = s;
		err = t->fn(t->ctx, &c);
		if (err)
			return err;
	}
	*out = s;
	return 0;
}

/* Report how the model's task differs from what was last reported. */
static int sync(struct task_tracker *t, struct tracked_task *s, const struct task_model *m,
		const struct aib_hdr *rec, int result)
{
	const struct task_info *info = task_model__find(m, s->header, s->id);
	struct change c = {.kind = CHANGE_STATE, .ts = rec->ts, .tid = rec->tid, .task = s,
			   .info = info, .result = -1};
	int err;

	if (!info)
		return 0;
	if (!s->id)
		s->id = info->id;
	if (info->kind == TASK_RUNTIME && !s->runtime) {
		c.kind = CHANGE_RUNTIME;
		s->runtime = true;
		err = t->fn(t->ctx, &c);
		if (err)
			return err;
		c.kind = CHANGE_STATE;
	}
	if (info->polls != s->polls) {
		c.from = s->state;
		c.new_poll = true;
		s->state = TASK_RUNNING;
		s->polls = info->polls;
		err = t->fn(t->ctx, &c);
		s->poll_tid = rec->tid; /* after: ending the previous poll needed the old one */
		if (err)
			return err;
		c.new_poll = false;
	}
	if (info->state == s->state)
		return 0;
	c.from = s->state;
	c.result = s->state == TASK_RUNNING ? result : -1;
	c.cancelled = info->cancelled;
	s->state = info->state;
	err = t->fn(t->ctx, &c);
	if (s->state == TASK_COMPLETED)
		slot_release(t, s);
	return err;
}

static struct tracked_thread *thread_get(struct task_tracker *t, __u32 tid)
{
	__u32 idx;

	if (u64_map__get(t->thread_by_tid, tid, &idx))
		return &t->threads[idx];
	if (array__grow((void **)&t->threads, &t->threads_cap, t->nthreads + 1, sizeof(*t->threads)) ||
	    u64_map__set(t->thread_by_tid, tid, (__u32)t->nthreads))
		return NULL;
	memset(&t->threads[t->nthreads], 0, sizeof(t->threads[0]));
	return &t->threads[t->nthreads++];
}

/* The model makes the task a thread's poll stack holds at `level` the runtime's
 * carrier when a worker loop starts in it or a poll nests in it: report it. */
static int check_carrier(struct task_tracker *t, const struct task_model *m,
			 const struct tracked_thread *th, __u32 level, const struct aib_hdr *rec)
{
	struct tracked_task *s = slot_of(t, th->header[level]);
	const struct task_info *info;
	struct change c = {.kind = CHANGE_RUNTIME, .ts = rec->ts, .tid = rec->tid};

	if (!s || s->runtime || (s->id && s->id != th->id[level]))
		return 0;
	info = task_model__find(m, s->header, s->id);
	if (!info || info->kind != TASK_RUNTIME)
		return 0;
	s->runtime = true;
	c.task = s;
	c.info = info;
	return t->fn(t->ctx, &c);
}

static int on_poll_begin(struct task_tracker *t, const struct task_model *m, const struct aib_ev_poll *e)
{
	struct tracked_thread *th = thread_get(t, e->hdr.tid);
	struct tracked_task *s;
	__u32 d = e->depth;
	int err;

	if (!th)
		return -ENOMEM;
	err = subject(t, m, &e->hdr, e->task, e->task_id, &s);
	if (err)
		return err;
	if (d > 0 && d <= AIB_MAX_POLL_DEPTH && th->depth >= d) {
		err = check_carrier(t, m, th, d - 1, &e->hdr);
		if (err)
			return err;
	}
	if (d < AIB_MAX_POLL_DEPTH) {
		th->header[d] = e->task;
		th->id[d] = e->task_id;
		th->depth = d + 1;
	}
	return s ? sync(t, s, m, &e->hdr, -1) : 0;
}

static int on_poll_end(struct task_tracker *t, const struct task_model *m, const struct aib_ev_poll *e)
{
	struct tracked_thread *th = thread_get(t, e->hdr.tid);
	struct tracked_task *s;
	int err;

	if (!th)
		return -ENOMEM;
	if (e->depth < AIB_MAX_POLL_DEPTH)
		th->depth = e->depth;
	err = subject(t, m, &e->hdr, e->task, e->task_id, &s);
	if (err || !s)
		return err;
	return sync(t, s, m, &e->hdr, (int)e->result);
}

static int on_wake(struct task_tracker *t, const struct task_model *m, const struct aib_ev_wake *e)
{
	struct change c = {.kind = CHANGE_WAKE, .ts = e->hdr.ts, .tid = e->hdr.tid,
			   .woken_id = e->task_id, .waker_id = e->waker_task_id};
	const struct task_info *wi;
	struct tracked_task *s;
	int err;

	err = subject(t, m, &e->hdr, e->task, e->task_id, &s);
	if (err)
		return err;
	/* who woke it, by the model's rules */
	wi = e->waker_task ? task_model__find(m, e->waker_task, e->waker_task_id) : NULL;
	if (!e->waker_task || (wi && wi->kind == TASK_RUNTIME))
		c.by = WAKE_BY_THREAD;
	else if (e->waker_task == e->task && e->waker_task_id == e->task_id)
		c.by = WAKE_BY_SELF;
	else
		c.by = WAKE_BY_TASK;
	if (c.by != WAKE_BY_THREAD && wi) {
		c.waker = slot_of(t, e->waker_task);
		if (c.waker && c.waker->id && wi->id && c.waker->id != wi->id)
			c.waker = NULL;
	}
	c.task = s;
	c.info = s ? task_model__find(m, s->header, s->id) : NULL;
	err = t->fn(t->ctx, &c);
	if (err || !s)
		return err;
	return sync(t, s, m, &e->hdr, -1);
}

static int brief_life(struct task_tracker *t, const struct task_info *info, const struct aib_hdr *rec)
{
	struct tracked_task s = {.header = info->header, .id = info->id, .serial = ++t->serial,
				 .state = info->spawn_seen ? TASK_RUNNABLE : TASK_IDLE};
	struct change c = {.kind = CHANGE_APPEAR, .ts = rec->ts, .tid = rec->tid, .task = &s, .info = info};
	int err = t->fn(t->ctx, &c);

	if (err)
		return err;
	c.kind = CHANGE_STATE;
	c.from = s.state;
	c.result = -1;
	c.cancelled = info->cancelled;
	c.freed = rec->kind == AIB_EV_DEALLOC && !info->cancelled;
	s.state = TASK_COMPLETED;
	return t->fn(t->ctx, &c);
}

int task_tracker__record(struct task_tracker *t, const struct aib_hdr *rec, const struct task_model *m)
{
	struct tracked_task *s;
	int err = 0;

	switch (rec->kind) {
	case AIB_EV_SPAWN:
		if (task_model__pending_spawns(m) > t->pending) {
			struct change c = {.kind = CHANGE_SPAWN, .ts = rec->ts, .tid = rec->tid,
					   .spawn = (const struct aib_ev_spawn *)rec};

			err = t->fn(t->ctx, &c);
		}
		break;
	case AIB_EV_POLL_BEGIN:
		err = on_poll_begin(t, m, (const struct aib_ev_poll *)rec);
		break;
	case AIB_EV_POLL_END:
		err = on_poll_end(t, m, (const struct aib_ev_poll *)rec);
		break;
	case AIB_EV_WAKE:
		err = on_wake(t, m, (const struct aib_ev_wake *)rec);
		break;
	case AIB_EV_SHUTDOWN:
	case AIB_EV_DEALLOC: {
		const struct aib_ev_task *e = (const struct aib_ev_task *)rec;

		err = subject(t, m, rec, e->task, e->task_id, &s);
		if (!err && s)
			err = sync(t, s, m, rec, -1);
		break;
	}
	case AIB_EV_WORKER_START: {
		struct tracked_thread *th = thread_get(t, rec->tid);

		if (!th)
			return -ENOMEM;
		if (th->depth > 0 && th->depth <= AIB_MAX_POLL_DEPTH)
			err = check_carrier(t, m, th, th->depth - 1, rec);
		break;
	}
	default:
		break;
	}
	/* A task the record both made and finished (spawned, then shut down
	 * before its first poll) never had a slot: report its whole life. */
	for (size_t i = t->seen_tasks, n = task_model__task_count(m); i < n && !err; i++) {
		const struct task_info *info = task_model__task(m, i);

		if (info->state == TASK_COMPLETED)
			err = brief_life(t, info, rec);
	}
	t->pending = task_model__pending_spawns(m);
	t->seen_tasks = task_model__task_count(m);
	return err;
}

int task_tracker__finish(struct task_tracker *t, const struct task_model *m)
{
	__u64 end = task_model__summary(m)->end_ts;
	size_t n = task_model__task_count(m);
	int err;

	for (size_t i = 0; i < t->nslots; i++) {
		struct tracked_task *s = &t->slots[i];
		struct change c = {.kind = CHANGE_ALIVE_AT_END, .ts = end, .task = s};

		if (!s->serial)
			continue;
		c.info = task_model__find(m, s->header, s->id);
		err = t->fn(t->ctx, &c);
		slot_release(t, s);
		if (err)
			return err;
	}
	/* Spawned and never polled: the model adds them when it finishes. */
	for (size_t i = t->seen_tasks; i < n; i++) {
		const struct task_info *info = task_model__task(m, i);
		struct tracked_task s = {.header = info->header, .id = info->id, .serial = ++t->serial,
					 .state = info->spawn_seen ? TASK_RUNNABLE : info->state};
		struct change c = {.kind = CHANGE_APPEAR, .ts = info->spawn_ts, .task = &s, .info = info};

		if (info->state == TASK_COMPLETED)
			continue;
		err = t->fn(t->ctx, &c);
		if (!err) {
			c.kind = CHANGE_ALIVE_AT_END;
			c.ts = end;
			err = t->fn(t->ctx, &c);
		}
		if (err)
			return err;
	}
	t->seen_tasks = n;
	return 0;
}
