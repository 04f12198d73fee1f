// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include "lib/array.h"
#include "lib/id_table.h"
#include "lib/u64_map.h"

int id_table__init(struct id_table *t, size_t elem)
{
	*t = (struct id_table){.elem = elem, .index = u64_map__new()};
	return t->index ? 0 : -ENOMEM;
}

void id_table__release(struct id_table *t)
{
	u64_map__free(t->index);
	free(t->items);
	*t = (struct id_table){0};
}

int id_table__clone(struct id_table *to, const struct id_table *from)
{
	*to = (struct id_table){.elem = from->elem, .n = from->n, .cap = from->n};
	to->index = u64_map__clone(from->index);
	if (from->n)
		to->items = malloc(from->n * from->elem);
	if (!to->index || (from->n && !to->items)) {
		id_table__release(to);
		return -ENOMEM;
	}
	if (from->n)
		memcpy(to->items, from->items, from->n * from->elem);
	return 0;
}

size_t id_table__bytes(const struct id_table *t)
{
	return u64_map__bytes(t->index) + t->cap * t->elem;
}

void *id_table__find(const struct id_table *t, __u64 key)
{
	__u32 i;

	return u64_map__get(t->index, key, &i) ? id_table__at(t, i) : NULL;
}

void *id_table__get(struct id_table *t, __u64 key, bool *added)
{
	void *item = id_table__find(t, key);

	if (added)
		*added = !item;
	if (item)
		return item;
	if (array__grow(&t->items, &t->cap, t->n + 1, t->elem) ||
	    u64_map__set(t->index, key, (__u32)t->n))
		return NULL;
	item = id_table__at(t, t->n++);
	memset(item, 0, t->elem);
	return item;
}
