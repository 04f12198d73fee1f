// SPDX-License-Identifier: MIT
/*
 * The task model's storage: the task array and the live task at each
 * header, each task's side record and scheduling samples, the threads with
 * their poll stacks, and bounded memory (old completed tasks folded into
 * per-location counters).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "lib/u64_map.h"
#include "model/task_model_impl.h"

/* ---- per-task storage ---- */

void task_info__release(struct task_info *t)
{
	if (t->nsched > 1) {
		samples__release(t->sched.many);
		free(t->sched.many);
	}
	if (t->extra) {
		free(t->extra->poll_hist);
		free(t->extra->name);
		free(t->extra->await);
		free(t->extra);
	}
}

/* The task's side record, allocated on first use; NULL when out of memory. */
struct task_extra *task_info__extra(struct task_info *t)
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

static void poll_hist_add(struct task_poll_hist *h, __u64 d)
{
	h->count++;
	h->bucket[task_hist__bucket(d)]++;
	if (d > h->max_ns)
		h->max_ns = d;
}

/* From the second poll on, each poll's duration goes into a histogram (the
 * first one's too, which busy_ns held alone until then). Out of memory,
 * the histogram only misses polls: busy_ns stays exact. */
void task_info__poll_done(struct task_info *t, __u64 d)
{
	struct task_poll_hist *h = t->extra ? t->extra->poll_hist : NULL;

	if (!h && t->polls > 1 && task_info__extra(t)) {
		h = t->extra->poll_hist = calloc(1, sizeof(*h));
		if (h && t->polls == 2)
			poll_hist_add(h, t->busy_ns); /* the first poll */
	}
	if (h)
		poll_hist_add(h, d);
	t->busy_ns += d;
}

const struct task_poll_hist *task_info__poll_hist(const struct task_info *t,
						  struct task_poll_hist *one)
{
	if (t->extra && t->extra->poll_hist)
		return t->extra->poll_hist;
	*one = (struct task_poll_hist){0};
	/* polled once: busy_ns is that poll, unless it is still running */
	if (t->state != TASK_RUNNING && (t->polls || t->busy_ns) && t->polls <= 1) {
		one->count = 1;
		one->max_ns = t->busy_ns;
		one->bucket[task_hist__bucket(t->busy_ns)] = 1;
	}
	return one;
}

int task_info__clone(struct task_info *to, const struct task_info *from)
{
	const struct task_extra *x = from->extra;
	struct task_extra *y;

	*to = *from;
	to->extra = NULL;
	if (from->nsched > 1) {
		to->sched.many = malloc(sizeof(*to->sched.many));
		if (!to->sched.many || samples__clone(to->sched.many, from->sched.many)) {
			free(to->sched.many);
			to->nsched = 0;
			return -ENOMEM;
		}
	}
	if (!x)
		return 0;
	y = to->extra = malloc(sizeof(*y));
	if (!y)
		goto fail;
	*y = *x;
	y->name = NULL;
	y->await = NULL;
	y->poll_hist = NULL;
	if ((x->name && !(y->name = strdup(x->name))) ||
	    (x->await && !(y->await = malloc(x->await->hdr.size))) ||
	    (x->poll_hist && !(y->poll_hist = malloc(sizeof(*y->poll_hist)))))
		goto fail;
	if (x->await)
		memcpy(y->await, x->await, x->await->hdr.size);
	if (x->poll_hist)
		*y->poll_hist = *x->poll_hist;
	return 0;
fail:
	task_info__release(to);
	to->extra = NULL;
	to->nsched = 0;
	return -ENOMEM;
}

size_t task_info__bytes(const struct task_info *t)
{
	size_t n = 0;

	if (t->nsched > 1)
		n += sizeof(*t->sched.many) + t->sched.many->cap * sizeof(__u64);
	if (t->extra) {
		n += sizeof(*t->extra);
		n += t->extra->name ? strlen(t->extra->name) + 1 : 0;
		n += t->extra->await ? t->extra->await->hdr.size : 0;
		n += t->extra->poll_hist ? sizeof(*t->extra->poll_hist) : 0;
	}
	return n;
}

/* Close the interval of the current state at ts. A runnable interval that
 * ends in a poll is one scheduling delay sample. */
void task_info__leave_state(struct task_info *t, __u64 ts, bool polled)
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

void task_info__spawned(struct task_info *t, const struct pending_spawn *p)
{
	t->spawn_seen = true;
	t->spawn_ts = p->ts;
	t->parent_id = p->parent_id;
	t->location = p->location;
	t->location_unwound = p->location && (p->flags & AIB_SPAWN_UNWOUND);
	t->kind = task_kind_of_spawn(p->flags);
	t->state = TASK_RUNNABLE; /* spawned, waiting for its first poll */
	t->since = p->ts;
}

/* ---- threads ---- */

struct thread_rec *task_model__thread(struct task_model *m, __u32 tid)
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
			task_info__release(t);
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

/* A new task record at `header`, which becomes the live one there. */
__u32 task_model__new_task(struct task_model *m, __u64 header, __u64 id, enum aib_runtime runtime)
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

struct task_info *task_model__live_task(struct task_model *m, __u64 header, __u64 id)
{
	__u32 idx;

	if (!u64_map__get(m->live, header, &idx))
		return NULL;
	if (id && m->tasks[idx].id && m->tasks[idx].id != id)
		return NULL;
	return &m->tasks[idx];
}
