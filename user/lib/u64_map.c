// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/u64_map.h"

struct slot {
	__u64 key;
	__u32 value;
	__u32 used;
};

struct u64_map {
	struct slot *slots;
	size_t cap; /* power of two */
	size_t count;
};

struct u64_map *u64_map__new(void)
{
	struct u64_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cap = 64;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void u64_map__free(struct u64_map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

struct u64_map *u64_map__clone(const struct u64_map *m)
{
	struct u64_map *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *m;
	c->slots = malloc(m->cap * sizeof(*m->slots));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	memcpy(c->slots, m->slots, m->cap * sizeof(*m->slots));
	return c;
}

size_t u64_map__bytes(const struct u64_map *m)
{
	return m ? sizeof(*m) + m->cap * sizeof(*m->slots) : 0;
}

static struct slot *find(const struct u64_map *m, __u64 key)
{
	size_t mask = m->cap - 1, i = u64_hash(key) & mask;

	for (;; i = (i + 1) & mask) {
		struct slot *s = &m->slots[i];

		if (!s->used || s->key == key)
			return s;
	}
}

static int grow(struct u64_map *m)
{
	struct slot *old = m->slots;
	size_t old_cap = m->cap;

	m->slots = calloc(old_cap * 2, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			*find(m, old[i].key) = old[i];
	free(old);
	return 0;
}

int u64_map__set(struct u64_map *m, __u64 key, __u32 value)
{
	struct slot *s;

	if ((m->count + 1) * 4 > m->cap * 3) {
		int err = grow(m);

		if (err)
			return err;
	}
	s = find(m, key);
	if (!s->used) {
		s->used = 1;
		s->key = key;
		m->count++;
	}
	s->value = value;
	return 0;
}

bool u64_map__get(const struct u64_map *m, __u64 key, __u32 *value)
{
	struct slot *s = find(m, key);

	if (!s->used)
		return false;
	if (value)
		*value = s->value;
	return true;
}

bool u64_map__del(struct u64_map *m, __u64 key)
{
	size_t mask = m->cap - 1;
	struct slot *s = find(m, key);
	size_t i, j;

	if (!s->used)
		return false;
	i = (size_t)(s - m->slots);
	/* Backward shift: pull later entries of the probe run into the hole. */
	for (j = (i + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
		size_t home = u64_hash(m->slots[j].key) & mask;

		/* j may fill the hole at i unless its home lies cyclically in (i, j] */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);

		if (!stays) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].used = 0;
	m->count--;
	return true;
}

size_t u64_map__count(const struct u64_map *m)
{
	return m->count;
}

void u64_map__for_each(const struct u64_map *m, int (*cb)(__u64 key, __u32 value, void *ctx),
		       void *ctx)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used && cb(m->slots[i].key, m->slots[i].value, ctx))
			return;
}
