// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include "lib/array.h"
#include "lib/u64_map.h"
#include "model/location_table.h"
#include "model/pending_spawns.h"
#include <string.h>

struct pending_spawns {
	struct pending_spawn *slots;
	size_t n, cap;
	__u32 *free_slots; /* recycled slots of `slots` */
	size_t nfree, free_cap;
	struct u64_map *by_id; /* filed under id -> slot */
};

struct pending_spawns *pending_spawns__new(void)
{
	struct pending_spawns *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->by_id = u64_map__new();
	if (!p->by_id) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void pending_spawns__free(struct pending_spawns *p)
{
	if (!p)
		return;
	free(p->slots);
	free(p->free_slots);
	u64_map__free(p->by_id);
	free(p);
}

struct pending_spawn *pending_spawns__file(struct pending_spawns *p, __u64 predicted_id, __u32 tid,
					   int *err)
{
	__u64 id = predicted_id;
	struct pending_spawn *s;
	__u32 idx;

	*err = 0;
	if (u64_map__get(p->by_id, id, &idx)) {
		/* The same call seen again through a #[track_caller] wrapper. */
		if (p->slots[idx].tid == tid)
			return NULL;
		/* Two threads raced for the same id: the later one got a later id. */
		for (int k = 1; k <= 4 && u64_map__get(p->by_id, id, NULL); k++)
			id = predicted_id + k;
		if (u64_map__get(p->by_id, id, NULL))
			return NULL;
	}
	if (p->nfree) {
		idx = p->free_slots[--p->nfree];
	} else {
		if (array__grow((void **)&p->slots, &p->cap, p->n + 1, sizeof(*p->slots))) {
			*err = -ENOMEM;
			return NULL;
		}
		idx = (__u32)p->n++;
	}
	if (u64_map__set(p->by_id, id, idx)) {
		*err = -ENOMEM;
		return NULL;
	}
	s = &p->slots[idx];
	s->predicted_id = predicted_id;
	s->tid = tid;
	return s;
}

bool pending_spawns__take(struct pending_spawns *p, __u64 id, struct pending_spawn *out)
{
	__u32 idx;

	if (!id || !u64_map__get(p->by_id, id, &idx))
		return false;
	*out = p->slots[idx];
	u64_map__del(p->by_id, id);
	/* a slot that cannot be recycled is only lost, never reused twice */
	if (!array__grow((void **)&p->free_slots, &p->free_cap, p->nfree + 1, sizeof(__u32)))
		p->free_slots[p->nfree++] = idx;
	return true;
}

bool pending_spawns__has(const struct pending_spawns *p, __u64 id)
{
	return u64_map__get(p->by_id, id, NULL);
}

/* File the thread's pending spawn under the id it really got, and whichever
 * spawn sat there (another thread's, filed by guess in the same instant)
 * under the freed key. */
int pending_spawns__refile(struct pending_spawns *p, __u32 tid, __u64 predicted_id, __u64 id)
{
	__u64 key = 0;
	__u32 mine = 0, other;

	for (__u64 k = predicted_id; k <= predicted_id + 4; k++) {
		__u32 idx;

		if (u64_map__get(p->by_id, k, &idx) && p->slots[idx].tid == tid &&
		    p->slots[idx].predicted_id == predicted_id) {
			key = k;
			mine = idx;
			break;
		}
	}
	if (!key || key == id)
		return 0;
	if (u64_map__get(p->by_id, id, &other)) {
		if (u64_map__set(p->by_id, key, other))
			return -ENOMEM;
	} else {
		u64_map__del(p->by_id, key);
	}
	return u64_map__set(p->by_id, id, mine);
}

size_t pending_spawns__count(const struct pending_spawns *p)
{
	return u64_map__count(p->by_id);
}

struct visit_ctx {
	const struct pending_spawns *p;
	int (*cb)(__u64 id, const struct pending_spawn *s, void *ctx);
	void *ctx;
};

static int visit(__u64 id, __u32 idx, void *arg)
{
	struct visit_ctx *v = arg;

	return v->cb(id, &v->p->slots[idx], v->ctx);
}

void pending_spawns__for_each(const struct pending_spawns *p,
			      int (*cb)(__u64 id, const struct pending_spawn *s, void *ctx),
			      void *ctx)
{
	struct visit_ctx v = {p, cb, ctx};

	u64_map__for_each(p->by_id, visit, &v);
}

struct pending_spawns *pending_spawns__clone(const struct pending_spawns *p,
					     const struct location_table *from,
					     const struct location_table *to)
{
	struct pending_spawns *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->by_id = u64_map__clone(p->by_id);
	c->slots = malloc((p->n ? p->n : 1) * sizeof(*c->slots));
	c->free_slots = malloc((p->nfree ? p->nfree : 1) * sizeof(*c->free_slots));
	if (!c->by_id || !c->slots || !c->free_slots) {
		pending_spawns__free(c);
		return NULL;
	}
	c->n = c->cap = p->n;
	c->nfree = c->free_cap = p->nfree;
	if (p->n)
		memcpy(c->slots, p->slots, p->n * sizeof(*c->slots));
	if (p->nfree)
		memcpy(c->free_slots, p->free_slots, p->nfree * sizeof(*c->free_slots));
	for (size_t i = 0; i < c->n; i++)
		c->slots[i].location = location_table__translate(from, to, c->slots[i].location);
	return c;
}

size_t pending_spawns__bytes(const struct pending_spawns *p)
{
	return sizeof(*p) + p->cap * sizeof(*p->slots) + p->free_cap * sizeof(*p->free_slots) +
	       u64_map__bytes(p->by_id);
}
