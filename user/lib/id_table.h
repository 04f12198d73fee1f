/* SPDX-License-Identifier: MIT */
/*
 * Records found by a 64-bit key (a tid, a pointer), stored back to back in
 * the order they were added: the per-thread and per-location tables of the
 * model and the exporters. Element pointers move when the table grows.
 */
#ifndef ID_TABLE_H
#define ID_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct u64_map;

struct id_table {
	struct u64_map *index; /* key -> position */
	void *items;
	size_t n, cap, elem;
};

int id_table__init(struct id_table *t, size_t elem); /* 0 or -ENOMEM */
void id_table__release(struct id_table *t);
/* *to = a copy of *from (its records byte for byte): 0 or -ENOMEM (then *to
 * is empty, to release or drop). */
int id_table__clone(struct id_table *to, const struct id_table *from);
size_t id_table__bytes(const struct id_table *t); /* owned bytes */
/* The record for key, or NULL. */
void *id_table__find(const struct id_table *t, __u64 key);
/* The record for key, appended zeroed when absent (then *added is true if
 * added is not NULL). NULL when out of memory. */
void *id_table__get(struct id_table *t, __u64 key, bool *added);

static inline void *id_table__at(const struct id_table *t, size_t i)
{
	return (char *)t->items + i * t->elem;
}

#endif
