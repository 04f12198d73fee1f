// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "export/task_tracker.h"
#include "lib/u64_map.h"

#define NO_SLOT ((__u32)~0U)

/* A live task as kept, in 32 bytes: what every follower's view is made of.
 * Its followers' values are the slot's row of task_tracker.user; the thread
 * of its poll, which few tasks have at a time, is kept aside. */
struct slot {
	__u64 header, id, serial;
	__u64 polls : 60;    /* never reached */
	__u64 state : 2;     /* enum task_state */
	__u64 runtime : 1;
	__u64 on_thread : 1; /* in task_tracker.poll_tid */
};
_Static_assert(TASK_COMPLETED < 4, "task_state fits slot.state");

struct follower {
	change_fn fn;
	void *ctx;
	unsigned user; /* its first value in a row */
	int err;
};

/* What the model keeps per thread to spot carrier tasks: the poll stack. */
struct tracked_thread {
	__u32 depth;
	__u64 header[AIB_MAX_POLL_DEPTH];
	__u64 id[AIB_MAX_POLL_DEPTH];
};

struct task_tracker {
	struct follower followers[TRACKER_MAX_FOLLOWERS];
	int nfollowers;
	int failed; /* the first follower error of this record */

	struct slot *slots;
	size_t nslots, slots_cap;
	__u64 *user; /* nuser values per slot */
	size_t user_cap;
	unsigned nuser;
	struct u64_map *poll_tid; /* slot index -> thread of its poll (state RUNNING) */
	/* a task reported whole without taking a slot */
	struct slot scratch;
	__u64 scratch_user[TRACKER_MAX_USER];
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

struct task_tracker *task_tracker__new(void)
{
	struct task_tracker *t = calloc(1, sizeof(*t));

	if (!t)
		goto nomem;
	t->free_head = NO_SLOT;
	t->thread_by_tid = u64_map__new();
	t->poll_tid = u64_map__new();
	if (!t->thread_by_tid || !t->poll_tid) {
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
	free(t->user);
	free(t->index);
	free(t->threads);
	u64_map__free(t->thread_by_tid);
	u64_map__free(t->poll_tid);
	free(t);
}

size_t task_tracker__live(const struct task_tracker *t)
{
	return t->live;
}

int task_tracker__follow(struct task_tracker *t, change_fn fn, void *ctx, unsigned nuser)
{
	if (t->nfollowers == TRACKER_MAX_FOLLOWERS || nuser > TRACKER_MAX_USER - t->nuser)
		return -E2BIG;
	if (t->serial) /* the rows are laid out */
		return -EBUSY;
	t->followers[t->nfollowers] = (struct follower){.fn = fn, .ctx = ctx, .user = t->nuser};
	t->nuser += nuser;
	return t->nfollowers++;
}

int task_tracker__error(const struct task_tracker *t, int follower)
{
	return t->followers[follower].err;
}

void task_tracker__stop(struct task_tracker *t, int follower, int err)
{
	if (!t->followers[follower].err)
		t->followers[follower].err = err;
}

/* The tracker itself failed: every follower has lost track. */
static void fail_all(struct task_tracker *t, int err)
{
	for (int i = 0; i < t->nfollowers; i++)
		task_tracker__stop(t, i, err);
	if (!t->failed)
		t->failed = err;
}

static __u64 *user_row(struct task_tracker *t, const struct slot *s)
{
	if (s == &t->scratch)
		return t->scratch_user;
	return t->user ? t->user + (size_t)(s - t->slots) * t->nuser : NULL;
}

static __u32 poll_tid(const struct task_tracker *t, const struct slot *s)
{
	__u32 tid = 0;

	if (s->on_thread)
		u64_map__get(t->poll_tid, (__u64)(s - t->slots), &tid);
	return tid;
}

static int set_poll_tid(struct task_tracker *t, struct slot *s, __u32 tid)
{
	if (u64_map__set(t->poll_tid, (__u64)(s - t->slots), tid))
		return -ENOMEM;
	s->on_thread = 1;
	return 0;
}

static void drop_poll_tid(struct task_tracker *t, struct slot *s)
{
	if (s->on_thread)
		u64_map__del(t->poll_tid, (__u64)(s - t->slots));
	s->on_thread = 0;
}

static struct tracked_task *view(struct task_tracker *t, const struct slot *s, __u32 tid,
				 const struct follower *f, struct tracked_task *v)
{
	__u64 *row = user_row(t, s);

	*v = (struct tracked_task){.header = s->header, .id = s->id, .serial = s->serial,
				   .polls = s->polls, .user = row ? row + f->user : NULL,
				   .poll_tid = tid, .state = s->state, .runtime = s->runtime};
	return v;
}

/* Each follower still following sees the change, with its own view of the
 * task (and waker). A follower's error stops only that follower. */
static void emit(struct task_tracker *t, struct change *c, const struct slot *task,
		 const struct slot *waker)
{
	__u32 task_tid = task ? poll_tid(t, task) : 0, waker_tid = waker ? poll_tid(t, waker) : 0;
	struct tracked_task tv, wv;

	for (int i = 0; i < t->nfollowers; i++) {
		struct follower *f = &t->followers[i];

		if (f->err)
			continue;
		c->task = task ? view(t, task, task_tid, f, &tv) : NULL;
		c->waker = waker ? view(t, waker, waker_tid, f, &wv) : NULL;
		f->err = f->fn(f->ctx, c);
		if (f->err && !t->failed)
			t->failed = f->err;
	}
}

/* ---- slots ---- */

/* The index entry for header: its slot's, or the empty one to fill. */
static __u32 *index_find(const struct task_tracker *t, __u64 header)
{
	size_t mask = t->index_cap - 1, i = u64_hash(header) & mask;

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
		size_t home = u64_hash(t->slots[t->index[j] - 1].header) & mask;
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

static struct slot *slot_of(struct task_tracker *t, __u64 header)
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
static struct slot *slot_new(struct task_tracker *t, __u64 header)
{
	__u32 idx;

	if (t->free_head != NO_SLOT) {
		idx = t->free_head;
		t->free_head = (__u32)t->slots[idx].header;
	} else {
		if (array__grow((void **)&t->slots, &t->slots_cap, t->nslots + 1, sizeof(*t->slots)) ||
		    (t->nuser && array__grow((void **)&t->user, &t->user_cap, t->nslots + 1,
					     t->nuser * sizeof(*t->user))))
			return NULL;
		idx = (__u32)t->nslots++;
	}
	memset(&t->slots[idx], 0, sizeof(t->slots[idx]));
	if (t->nuser)
		memset(user_row(t, &t->slots[idx]), 0, t->nuser * sizeof(*t->user));
	t->slots[idx].header = header;
	if (index_add(t, idx)) {
		slot_free(t, idx);
		return NULL;
	}
	t->slots[idx].serial = ++t->serial;
	t->live++;
	return &t->slots[idx];
}

static void slot_release(struct task_tracker *t, struct slot *s)
{
	drop_poll_tid(t, s);
	index_del(t, s->header);
	slot_free(t, (__u32)(s - t->slots));
	t->live--;
}

/* ---- changes ---- */

static void end_slot(struct task_tracker *t, struct slot *s, const struct aib_hdr *rec)
{
	struct change c = {.kind = CHANGE_STATE, .ts = rec->ts, .tid = rec->tid,
			   .from = s->state, .result = -1, .freed = true};

	s->state = TASK_COMPLETED;
	emit(t, &c, s, NULL);
	slot_release(t, s);
}

/*
 * The slot of the task a record is about, once the model has applied it:
 * ends the slot's previous task if the model no longer has it (freed, or its
 * header reused), reports first sight. *out is NULL when there is nothing to
 * follow (the task is unknown or already finished).
 */
static int subject(struct task_tracker *t, const struct task_model *m, const struct aib_hdr *rec,
		   __u64 header, __u64 id, struct slot **out)
{
	struct slot *s = slot_of(t, header);
	const struct task_info *info;

	*out = NULL;
	if (s && !task_model__find(m, header, s->id)) {
		end_slot(t, s, rec);
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
		emit(t, &c, s, NULL);
	}
	*out = s;
	return 0;
}

/* Report how the model's task differs from what was last reported. */
static int sync(struct task_tracker *t, struct slot *s, const struct task_model *m,
		const struct aib_hdr *rec, int result)
{
	const struct task_info *info = task_model__find(m, s->header, s->id);
	struct change c = {.kind = CHANGE_STATE, .ts = rec->ts, .tid = rec->tid, .info = info,
			   .result = -1};

	if (!info)
		return 0;
	if (!s->id)
		s->id = info->id;
	if (info->kind == TASK_RUNTIME && !s->runtime) {
		c.kind = CHANGE_RUNTIME;
		s->runtime = true;
		emit(t, &c, s, NULL);
		c.kind = CHANGE_STATE;
	}
	if (info->polls != s->polls) {
		c.from = s->state;
		c.new_poll = true;
		s->state = TASK_RUNNING;
		s->polls = info->polls;
		emit(t, &c, s, NULL);
		/* after: ending the previous poll needed the old one */
		if (set_poll_tid(t, s, rec->tid))
			return -ENOMEM;
		c.new_poll = false;
	}
	if (info->state == s->state)
		return 0;
	c.from = s->state;
	c.result = s->state == TASK_RUNNING ? result : -1;
	c.cancelled = info->cancelled;
	s->state = info->state;
	emit(t, &c, s, NULL);
	if (s->state == TASK_COMPLETED)
		slot_release(t, s);
	else if (s->state != TASK_RUNNING)
		drop_poll_tid(t, s); /* after: ending the poll needed it */
	return 0;
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
static void check_carrier(struct task_tracker *t, const struct task_model *m,
			  const struct tracked_thread *th, __u32 level, const struct aib_hdr *rec)
{
	struct slot *s = slot_of(t, th->header[level]);
	const struct task_info *info;
	struct change c = {.kind = CHANGE_RUNTIME, .ts = rec->ts, .tid = rec->tid};

	if (!s || s->runtime || (s->id && s->id != th->id[level]))
		return;
	info = task_model__find(m, s->header, s->id);
	if (!info || info->kind != TASK_RUNTIME)
		return;
	s->runtime = true;
	c.info = info;
	emit(t, &c, s, NULL);
}

static int on_poll_begin(struct task_tracker *t, const struct task_model *m, const struct aib_ev_poll *e)
{
	struct tracked_thread *th = thread_get(t, e->hdr.tid);
	struct slot *s;
	__u32 d = e->depth;
	int err;

	if (!th)
		return -ENOMEM;
	err = subject(t, m, &e->hdr, e->task, e->task_id, &s);
	if (err)
		return err;
	if (d > 0 && d <= AIB_MAX_POLL_DEPTH && th->depth >= d)
		check_carrier(t, m, th, d - 1, &e->hdr);
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
	struct slot *s;
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
	struct slot *s, *waker = NULL;
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
		waker = slot_of(t, e->waker_task);
		if (waker && waker->id && wi->id && waker->id != wi->id)
			waker = NULL;
	}
	c.info = s ? task_model__find(m, s->header, s->id) : NULL;
	emit(t, &c, s, waker);
	return s ? sync(t, s, m, &e->hdr, -1) : 0;
}

/* A task reported whole in one go (it takes no slot): the scratch one. */
static struct slot *scratch(struct task_tracker *t, const struct task_info *info, enum task_state state)
{
	t->scratch = (struct slot){.header = info->header, .id = info->id, .serial = ++t->serial,
				   .state = state};
	memset(t->scratch_user, 0, sizeof(t->scratch_user));
	return &t->scratch;
}

static void brief_life(struct task_tracker *t, const struct task_info *info, const struct aib_hdr *rec)
{
	struct slot *s = scratch(t, info, info->spawn_seen ? TASK_RUNNABLE : TASK_IDLE);
	struct change c = {.kind = CHANGE_APPEAR, .ts = rec->ts, .tid = rec->tid, .info = info};

	emit(t, &c, s, NULL);
	c.kind = CHANGE_STATE;
	c.from = s->state;
	c.result = -1;
	c.cancelled = info->cancelled;
	c.freed = rec->kind == AIB_EV_DEALLOC && !info->cancelled;
	s->state = TASK_COMPLETED;
	emit(t, &c, s, NULL);
}

/* The first follower error since `failed` was cleared, after failing all
 * followers on the tracker's own error. */
static int outcome(struct task_tracker *t, int err)
{
	if (err)
		fail_all(t, err);
	err = t->failed;
	t->failed = 0;
	return err;
}

int task_tracker__record(struct task_tracker *t, const struct aib_hdr *rec, const struct task_model *m)
{
	struct slot *s;
	int err = 0;

	switch (rec->kind) {
	case AIB_EV_SPAWN:
		if (task_model__pending_spawns(m) > t->pending) {
			struct change c = {.kind = CHANGE_SPAWN, .ts = rec->ts, .tid = rec->tid,
					   .spawn = (const struct aib_ev_spawn *)rec};

			emit(t, &c, NULL, NULL);
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
			err = -ENOMEM;
		else if (th->depth > 0 && th->depth <= AIB_MAX_POLL_DEPTH)
			check_carrier(t, m, th, th->depth - 1, rec);
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
			brief_life(t, info, rec);
	}
	t->pending = task_model__pending_spawns(m);
	t->seen_tasks = task_model__task_count(m);
	return outcome(t, err);
}

int task_tracker__finish(struct task_tracker *t, const struct task_model *m)
{
	__u64 end = task_model__summary(m)->end_ts;
	size_t n = task_model__task_count(m);

	for (size_t i = 0; i < t->nslots; i++) {
		struct slot *s = &t->slots[i];
		struct change c = {.kind = CHANGE_ALIVE_AT_END, .ts = end};

		if (!s->serial)
			continue;
		c.info = task_model__find(m, s->header, s->id);
		emit(t, &c, s, NULL);
		slot_release(t, s);
	}
	/* Spawned and never polled: the model adds them when it finishes. */
	for (size_t i = t->seen_tasks; i < n; i++) {
		const struct task_info *info = task_model__task(m, i);
		struct change c = {.kind = CHANGE_APPEAR, .ts = info->spawn_ts, .info = info};
		struct slot *s;

		if (info->state == TASK_COMPLETED)
			continue;
		s = scratch(t, info, info->spawn_seen ? TASK_RUNNABLE : info->state);
		emit(t, &c, s, NULL);
		c.kind = CHANGE_ALIVE_AT_END;
		c.ts = end;
		emit(t, &c, s, NULL);
	}
	t->seen_tasks = n;
	return outcome(t, 0);
}
