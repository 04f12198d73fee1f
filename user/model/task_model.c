// SPDX-License-Identifier: MIT
/*
 * The task model's life around its records (task_records.c): made, closed
 * at the end of the session (spawns that never ran become tasks, open
 * intervals are counted up to the end), read, freed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "lib/u64_map.h"
#include "model/blocking_calls.h"
#include "model/location_table.h"
#include "model/lock_table.h"
#include "model/task_model_impl.h"

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

static const struct {
	const char *key, *what;
} drop_names[AIB_DROP_MAX] = {
	[AIB_DROP_RINGBUF] = {"ring_buffer_full", "ring buffer full"},
	[AIB_DROP_DEPTH] = {"poll_depth", "polls nested deeper than the stack kept per thread"},
	[AIB_DROP_THREAD] = {"thread_state", "no per-thread state could be made"},
	[AIB_DROP_RET_SITES] = {"return_sites", "return-site table full"},
	[AIB_DROP_AWAIT_STACKS] = {"await_stacks", "await-stack table full"},
	[AIB_DROP_LOCK_NESTED] = {"lock_nested", "a lock acquire inside another"},
};

const char *aib_drop_key(enum aib_drop d)
{
	return (unsigned)d < AIB_DROP_MAX && drop_names[d].key ? drop_names[d].key : "unknown";
}

const char *aib_drop_what(enum aib_drop d)
{
	return (unsigned)d < AIB_DROP_MAX && drop_names[d].what ? drop_names[d].what : "unknown";
}

const char *task_kind_name(enum task_kind k)
{
	static const char *const names[] = {"async", "blocking", "local", "runtime", "block_on"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

struct task_model *task_model__new(void)
{
	struct task_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->live = u64_map__new();
	m->pending = pending_spawns__new();
	m->locations = location_table__new();
	m->locks = lock_table__new();
	m->blocking = blocking_calls__new();
	m->keep_completed = TASK_MODEL_KEEP_COMPLETED;
	m->compact_at = TASK_MODEL_KEEP_COMPLETED;
	if (!m->live || !m->pending || !m->locations || !m->locks ||
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
		task_info__release(&m->tasks[i]);
	free(m->tasks);
	id_table__release(&m->threads);
	id_table__release(&m->retired);
	free((char *)m->sum.exe);
	free((char *)m->sum.runtime_desc);
	u64_map__free(m->live);
	pending_spawns__free(m->pending);
	location_table__free(m->locations);
	lock_table__free(m->locks);
	blocking_calls__free(m->blocking);
	free(m);
}

/* Spawn calls whose task never ran: spawned, runnable, never polled. */
static int add_unpolled(__u64 id, const struct pending_spawn *p, void *ctx)
{
	struct task_model *m = ctx;
	struct task_info *t;

	if (array__grow((void **)&m->tasks, &m->tasks_cap, m->ntasks + 1, sizeof(*m->tasks)))
		return 1;
	t = &m->tasks[m->ntasks++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->runtime = AIB_RUNTIME_TOKIO;
	task_info__spawned(t, p);
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

	pending_spawns__for_each(m->pending, add_unpolled, m);
	/* the map's order is arbitrary: list them in spawn order */
	if (m->ntasks > first_unpolled) /* no tasks: m->tasks may be NULL, which qsort may not take */
		qsort(m->tasks + first_unpolled, m->ntasks - first_unpolled, sizeof(*m->tasks),
		      by_spawn_ts);
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

		if (t->state == TASK_RUNNING) {
			t->busy_ns += end_ts > t->poll_start ? end_ts - t->poll_start : 0;
		} else if (t->state != TASK_COMPLETED) {
			__u64 since = t->since;

			task_info__leave_state(t, end_ts, false);
			t->since = since; /* read on: how long it has been idle or runnable */
		}
		if (t->kind == TASK_RUNTIME) {
			s->runtime_tasks++;
			continue;
		}
		if (t->kind == TASK_BLOCK_ON) {
			s->roots++;
			s->roots_alive += t->state != TASK_COMPLETED;
			s->root_polls += t->polls;
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
	return task_model__live_task((struct task_model *)m, header, id);
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
		joined = task_model__find(m, t->extra->joining_header, t->extra->joining_id);
		if (!joined || joined->state == TASK_COMPLETED)
			continue;
		if (n < max)
			out[n] = (struct join_wait){t->id, joined->id, t->last_poll_end_ts ?: t->since};
		n++;
	}
	return n;
}

const struct task_info *task_model__by_id(const struct task_model *m, __u64 id)
{
	const struct task_info *found = NULL;

	for (size_t i = 0; id && i < m->ntasks; i++) {
		const struct task_info *t = &m->tasks[i];

		if (t->id == id && (!found || t->state != TASK_COMPLETED))
			found = t;
	}
	return found;
}

size_t task_model__pending_spawns(const struct task_model *m)
{
	return pending_spawns__count(m->pending);
}

/* The retired counts, keyed by the clone's location strings. */
static int clone_retired(struct task_model *c, const struct task_model *m)
{
	for (size_t i = 0; i < m->retired.n; i++) {
		const struct retired_location *r = id_table__at(&m->retired, i);
		const char *loc = location_table__translate(m->locations, c->locations, r->location);
		struct retired_location *to = id_table__get(&c->retired, (uintptr_t)loc, NULL);

		if (!to)
			return -ENOMEM;
		*to = *r;
		to->location = loc;
	}
	return 0;
}

struct task_model *task_model__clone(const struct task_model *m)
{
	struct task_model *c = calloc(1, sizeof(*c));
	const char *last_from = NULL, *last_to = NULL;

	if (!c)
		return NULL;
	/* the scalars (summary, counters, bounds); every pointer is redone below */
	*c = *m;
	c->tasks = NULL;
	c->ntasks = c->tasks_cap = 0;
	c->sum.exe = c->sum.runtime_desc = NULL;
	c->threads = c->retired = (struct id_table){0};
	c->live = u64_map__clone(m->live);
	c->locations = location_table__clone(m->locations);
	c->pending = c->locations ? pending_spawns__clone(m->pending, m->locations, c->locations)
				  : NULL;
	c->locks = lock_table__clone(m->locks);
	c->blocking = blocking_calls__clone(m->blocking);
	if (!c->live || !c->locations || !c->pending || !c->locks || !c->blocking ||
	    (m->sum.exe && !(c->sum.exe = strdup(m->sum.exe))) ||
	    (m->sum.runtime_desc && !(c->sum.runtime_desc = strdup(m->sum.runtime_desc))) ||
	    id_table__clone(&c->threads, &m->threads) ||
	    id_table__init(&c->retired, sizeof(struct retired_location)) || clone_retired(c, m))
		goto fail;
	if (m->ntasks && !(c->tasks = malloc(m->ntasks * sizeof(*c->tasks))))
		goto fail;
	c->tasks_cap = m->ntasks;
	for (; c->ntasks < m->ntasks; c->ntasks++) {
		struct task_info *t = &c->tasks[c->ntasks];

		if (task_info__clone(t, &m->tasks[c->ntasks]))
			goto fail;
		/* tasks of one spawn site come in runs: one lookup per run */
		if (t->location != last_from) {
			last_from = t->location;
			last_to = location_table__translate(m->locations, c->locations, t->location);
		}
		t->location = last_to;
	}
	return c;
fail:
	task_model__free(c);
	return NULL;
}

size_t task_model__bytes(const struct task_model *m)
{
	size_t n = sizeof(*m) + m->tasks_cap * sizeof(*m->tasks) + u64_map__bytes(m->live) +
		   pending_spawns__bytes(m->pending) + location_table__bytes(m->locations) +
		   id_table__bytes(&m->threads) + id_table__bytes(&m->retired) +
		   lock_table__bytes(m->locks) + blocking_calls__bytes(m->blocking);

	for (size_t i = 0; i < m->ntasks; i++)
		n += task_info__bytes(&m->tasks[i]);
	return n;
}
