// SPDX-License-Identifier: MIT
/*
 * One check: build the wait-for graph of the tasks that wait (on a lock
 * with a task waiting, or on a JoinHandle) and the tasks they wait for;
 * mark who can progress with a worklist (each edge looked at once); walk
 * the rest, each following one stuck successor, to find the cycles. All
 * arrays live in the finder and are reused from check to check.
 *
 * Adjacency is kept as intrusive lists (edge index chains, -1 ends), so
 * building is one pass without sorting.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "analysis/deadlock.h"
#include "model/lock_table.h"
#include "lib/u64_map.h"

struct node {
	__u64 task_id;
	int lock;	/* lock table index it waits on, -1: none */
	int holds;	/* first hold edge */
	int joins;	/* first join edge it waits through */
	int joined_by;	/* first join edge that waits for it */
	bool can;	/* can progress */
	__u32 walk;	/* cycle walk that visited it, 0: none */
	__u32 pos;	/* its place on that walk's path */
};

struct hold_edge {
	__u32 lock;
	int next;
};

struct join_edge {
	__u32 waiter, joined;
	__u64 since;
	int next_fwd, next_rev;
};

struct lock_state {
	__u32 remaining; /* holder entries that cannot progress yet */
	bool used;	 /* a task waits on it */
	bool free;	 /* its waiters can progress */
	bool any;	 /* a Semaphore with holders: one that progresses frees it */
};

struct step {
	__u32 node;
	int join; /* the join edge taken, -1: through the node's lock */
};

struct deadlock_finder {
	__u64 confirm_ns;
	struct u64_map *ids; /* task id -> node */
	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct hold_edge *holds;
	size_t nholds, holds_cap;
	struct join_edge *joins;
	size_t njoins, joins_cap;
	struct lock_state *locks;
	size_t locks_cap;
	__u32 *work;	/* worklist, then the stuck nodes, sorted */
	size_t work_cap;
	struct step *path;
	size_t path_cap;
	struct deadlock *found;
	size_t nfound, found_cap;
};

struct deadlock_finder *deadlock_finder__new(__u64 confirm_ns)
{
	struct deadlock_finder *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->confirm_ns = confirm_ns;
	f->ids = u64_map__new();
	if (!f->ids) {
		free(f);
		return NULL;
	}
	return f;
}

void deadlock_finder__free(struct deadlock_finder *f)
{
	if (!f)
		return;
	u64_map__free(f->ids);
	free(f->nodes);
	free(f->holds);
	free(f->joins);
	free(f->locks);
	free(f->work);
	free(f->path);
	free(f->found);
	free(f);
}

#define GROW(f, arr, need) \
	array__grow((void **)&(f)->arr, &(f)->arr##_cap, (need), sizeof(*(f)->arr))

static long node_of(struct deadlock_finder *f, __u64 task_id)
{
	__u32 i;

	if (u64_map__get(f->ids, task_id, &i))
		return i;
	if (GROW(f, nodes, f->nnodes + 1) || u64_map__set(f->ids, task_id, (__u32)f->nnodes))
		return -ENOMEM;
	f->nodes[f->nnodes] = (struct node){
		.task_id = task_id, .lock = -1, .holds = -1, .joins = -1, .joined_by = -1,
	};
	return (long)f->nnodes++;
}

static long node_find(const struct deadlock_finder *f, __u64 task_id)
{
	__u32 i;

	return u64_map__get(f->ids, task_id, &i) ? (long)i : -1;
}

static bool holder_stuck(const struct lock_holder *h)
{
	return h->task_id && !h->task_ended;
}

/* Nodes and edges of the graph as it is now. */
static int build(struct deadlock_finder *f, const struct lock_table *lt,
		 const struct join_wait *joins, size_t njoins)
{
	size_t nlocks = lock_table__count(lt);

	for (size_t i = 0; i < f->nnodes; i++)
		u64_map__del(f->ids, f->nodes[i].task_id);
	f->nnodes = f->nholds = f->njoins = 0;
	if (GROW(f, locks, nlocks + 1))
		return -ENOMEM;

	for (size_t i = 0; i < nlocks; i++) {
		const struct lock_info *l = lock_table__get(lt, i);
		struct lock_state *s = &f->locks[i];

		*s = (struct lock_state){0};
		for (size_t j = 0; j < l->nwaiters; j++) {
			long n;

			if (!l->waiters[j].task_id)
				continue; /* a thread: nobody waits for it */
			n = node_of(f, l->waiters[j].task_id);
			if (n < 0)
				return -ENOMEM;
			if (f->nodes[n].lock < 0)
				f->nodes[n].lock = (int)i;
			s->used = true;
		}
		if (!s->used)
			continue;
		s->any = l->type == LOCK_TYPE_SEMAPHORE && l->nholders > 1;
		s->free = l->type == LOCK_TYPE_CHANNEL || !l->nholders;
		for (size_t j = 0; j < l->nholders && !s->free; j++) {
			const struct lock_holder *h = &l->holders[j];
			long n;

			if (!holder_stuck(h)) {
				s->free = true; /* no task we know of: assume it lets go */
				break;
			}
			n = node_of(f, h->task_id);
			if (n < 0 || GROW(f, holds, f->nholds + 1))
				return -ENOMEM;
			f->holds[f->nholds] = (struct hold_edge){.lock = (__u32)i,
								 .next = f->nodes[n].holds};
			f->nodes[n].holds = (int)f->nholds++;
			s->remaining++;
		}
	}
	for (size_t i = 0; i < njoins; i++) {
		const struct join_wait *j = &joins[i];
		long w, d;

		if (!j->waiter_id || !j->joined_id)
			continue;
		w = node_of(f, j->waiter_id);
		d = w < 0 ? w : node_of(f, j->joined_id);
		if (d < 0 || GROW(f, joins, f->njoins + 1))
			return -ENOMEM;
		f->joins[f->njoins] = (struct join_edge){
			.waiter = (__u32)w, .joined = (__u32)d, .since = j->since,
			.next_fwd = f->nodes[w].joins, .next_rev = f->nodes[d].joined_by,
		};
		f->nodes[w].joins = f->nodes[d].joined_by = (int)f->njoins++;
	}
	return GROW(f, work, f->nnodes);
}

/* ---- who can progress: the least fixed point, by worklist ---- */

struct marker {
	struct deadlock_finder *f;
	const struct lock_table *lt;
	size_t nwork;
};

static void mark(struct marker *m, __u32 n)
{
	if (m->f->nodes[n].can)
		return;
	m->f->nodes[n].can = true;
	m->f->work[m->nwork++] = n;
}

static void lock_free(struct marker *m, __u32 i)
{
	const struct lock_info *l = lock_table__get(m->lt, i);

	m->f->locks[i].free = true;
	for (size_t j = 0; j < l->nwaiters; j++) {
		long n = l->waiters[j].task_id ? node_find(m->f, l->waiters[j].task_id) : -1;

		if (n >= 0)
			mark(m, (__u32)n);
	}
}

static void progress(struct deadlock_finder *f, const struct lock_table *lt)
{
	struct marker m = {.f = f, .lt = lt};

	for (size_t i = 0; i < f->nnodes; i++)
		if (f->nodes[i].lock < 0 && f->nodes[i].joins < 0)
			mark(&m, (__u32)i);
	for (size_t i = 0; i < lock_table__count(lt); i++)
		if (f->locks[i].used && f->locks[i].free)
			lock_free(&m, (__u32)i);
	while (m.nwork) {
		struct node *n = &f->nodes[f->work[--m.nwork]];

		for (int e = n->holds; e >= 0; e = f->holds[e].next) {
			struct lock_state *s = &f->locks[f->holds[e].lock];

			if (!s->free && (s->any || --s->remaining == 0))
				lock_free(&m, f->holds[e].lock);
		}
		for (int e = n->joined_by; e >= 0; e = f->joins[e].next_rev)
			mark(&m, f->joins[e].waiter);
	}
}

/* ---- cycles among the stuck ---- */

/* The stuck task n waits for: its lock's smallest stuck holder, else the
 * smallest stuck task it joins. -1 if none (cannot happen when stuck). */
static long successor(const struct deadlock_finder *f, const struct lock_table *lt, __u32 n,
		      int *join)
{
	const struct node *d = &f->nodes[n];
	long best = -1;

	*join = -1;
	if (d->lock >= 0 && !f->locks[d->lock].free) {
		const struct lock_info *l = lock_table__get(lt, (size_t)d->lock);

		for (size_t j = 0; j < l->nholders; j++) {
			long h = holder_stuck(&l->holders[j]) ? node_find(f, l->holders[j].task_id) : -1;

			if (h >= 0 && !f->nodes[h].can &&
			    (best < 0 || f->nodes[h].task_id < f->nodes[best].task_id))
				best = h;
		}
		if (best >= 0)
			return best;
	}
	for (int e = d->joins; e >= 0; e = f->joins[e].next_fwd) {
		__u32 j = f->joins[e].joined;

		if (!f->nodes[j].can && (best < 0 || f->nodes[j].task_id < f->nodes[best].task_id)) {
			best = j;
			*join = e;
		}
	}
	return best;
}

static int cmp_task(const void *a, const void *b, void *ctx)
{
	const struct node *nodes = ctx;
	__u64 x = nodes[*(const __u32 *)a].task_id, y = nodes[*(const __u32 *)b].task_id;

	return x < y ? -1 : x > y;
}

static bool same_cycle(const struct deadlock *a, const struct deadlock *b)
{
	return a->n == b->n && !memcmp(a->links, b->links, a->n * sizeof(a->links[0]));
}

/* The cycle path[from..to): canonical, confirmed at now? Stored if new. */
static int cycle(struct deadlock_finder *f, const struct lock_table *lt, size_t from, size_t to,
		 __u64 now)
{
	struct deadlock d = {.n = (int)(to - from), .detected_ts = now};
	size_t first = from;

	if (to - from > DEADLOCK_MAX_LINKS)
		return 0; /* too long to show: skipped */
	for (size_t i = from; i < to; i++)
		if (f->nodes[f->path[i].node].task_id < f->nodes[f->path[first].node].task_id)
			first = i;
	for (int k = 0; k < d.n; k++) {
		const struct step *s = &f->path[from + (first - from + (size_t)k) % (size_t)d.n];
		const struct node *n = &f->nodes[s->node];
		__u64 ts;

		d.links[k].task_id = n->task_id;
		if (s->join < 0) {
			const struct lock_info *l = lock_table__get(lt, (size_t)n->lock);

			d.links[k].lock = l->address;
			ts = l->last_change_ts;
		} else {
			ts = f->joins[s->join].since;
		}
		if (ts > now || now - ts < f->confirm_ns)
			return 0; /* not settled yet: a later check sees it again */
		if (ts > d.formed_ts)
			d.formed_ts = ts;
	}
	for (size_t i = 0; i < f->nfound; i++)
		if (!f->found[i].resolved_ts && same_cycle(&f->found[i], &d))
			return 0;
	if (GROW(f, found, f->nfound + 1))
		return -ENOMEM;
	f->found[f->nfound++] = d;
	return 1;
}

static int cycles(struct deadlock_finder *f, const struct lock_table *lt, __u64 now)
{
	size_t nstuck = 0;
	__u32 walk = 0;
	int added = 0;

	for (size_t i = 0; i < f->nnodes; i++)
		if (!f->nodes[i].can)
			f->work[nstuck++] = (__u32)i;
	if (!nstuck)
		return 0;
	qsort_r(f->work, nstuck, sizeof(*f->work), cmp_task, f->nodes);
	if (GROW(f, path, nstuck + 1))
		return -ENOMEM;
	for (size_t i = 0; i < nstuck; i++) {
		long n = f->work[i];
		size_t len = 0;
		int join;

		if (f->nodes[n].walk)
			continue;
		walk++;
		/* each node has one successor: walk until a node repeats */
		while (n >= 0 && !f->nodes[n].walk) {
			f->nodes[n].walk = walk;
			f->nodes[n].pos = (__u32)len;
			f->path[len].node = (__u32)n;
			n = successor(f, lt, (__u32)n, &join);
			f->path[len++].join = join;
		}
		if (n >= 0 && f->nodes[n].walk == walk) {
			int r = cycle(f, lt, f->nodes[n].pos, len, now);

			if (r < 0)
				return r;
			added += r;
		}
	}
	return added;
}

/* Is the stored cycle still in the graph: every member stuck, every link
 * still there? */
static bool still_there(const struct deadlock_finder *f, const struct lock_table *lt,
			const struct deadlock *d)
{
	for (int k = 0; k < d->n; k++) {
		long n = node_find(f, d->links[k].task_id);
		long next = node_find(f, d->links[(k + 1) % d->n].task_id);
		bool linked = false;

		if (n < 0 || next < 0 || f->nodes[n].can || f->nodes[next].can)
			return false;
		if (d->links[k].lock) {
			const struct lock_info *l;

			if (f->nodes[n].lock < 0)
				return false;
			l = lock_table__get(lt, (size_t)f->nodes[n].lock);
			if (l->address != d->links[k].lock)
				return false;
			for (size_t j = 0; j < l->nholders; j++)
				linked |= holder_stuck(&l->holders[j]) &&
					  l->holders[j].task_id == f->nodes[next].task_id;
		} else {
			for (int e = f->nodes[n].joins; e >= 0; e = f->joins[e].next_fwd)
				linked |= f->joins[e].joined == (__u32)next;
		}
		if (!linked)
			return false;
	}
	return true;
}

int deadlock_finder__check(struct deadlock_finder *f, const struct lock_table *lt,
			   const struct join_wait *joins, size_t njoins, __u64 now)
{
	int err = build(f, lt, joins, njoins);

	if (err)
		return err;
	progress(f, lt);
	for (size_t i = 0; i < f->nfound; i++)
		if (!f->found[i].resolved_ts && !still_there(f, lt, &f->found[i]))
			f->found[i].resolved_ts = now;
	return cycles(f, lt, now);
}

size_t deadlock_finder__count(const struct deadlock_finder *f)
{
	return f->nfound;
}

const struct deadlock *deadlock_finder__get(const struct deadlock_finder *f, size_t i)
{
	return i < f->nfound ? &f->found[i] : NULL;
}

bool deadlock_finder__involves(const struct deadlock_finder *f, __u64 task_id)
{
	for (size_t i = 0; i < f->nfound; i++) {
		const struct deadlock *d = &f->found[i];

		if (d->resolved_ts)
			continue;
		for (int k = 0; k < d->n; k++)
			if (d->links[k].task_id == task_id)
				return true;
	}
	return false;
}

int deadlock_finder__check_model(struct deadlock_finder *f, const struct task_model *m, __u64 now)
{
	size_t n = task_model__join_waits(m, NULL, 0);
	struct join_wait *joins = calloc(n ? n : 1, sizeof(*joins));
	int found;

	if (!joins)
		return -ENOMEM;
	task_model__join_waits(m, joins, n);
	found = deadlock_finder__check(f, task_model__locks(m), joins, n, now);
	free(joins);
	return found;
}
