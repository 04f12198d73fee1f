// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/id_table.h"
#include "analysis/location_stats.h"
#include "model/task_model.h"
#include "lib/u64_map.h"

static int by_spawned(const void *a, const void *b)
{
	const struct location_stat *x = a, *y = b;

	if (x->spawned != y->spawned)
		return x->spawned > y->spawned ? -1 : 1;
	if (!x->location || !y->location)
		return !x->location - !y->location;
	return strcmp(x->location, y->location);
}

long location_stats__collect(const struct task_model *m, struct location_stat **out)
{
	size_t n = task_model__task_count(m);
	/* keyed by the model's interned location string: one pointer each */
	struct id_table stats;

	*out = NULL;
	if (id_table__init(&stats, sizeof(struct location_stat)))
		return -ENOMEM;
	/* tasks kept one by one, then the completed ones folded into counts */
	for (size_t i = 0; i < n + task_model__retired_count(m); i++) {
		const struct task_info *t = i < n ? task_model__task(m, i) : NULL;
		const struct retired_location *r = t ? NULL : task_model__retired(m, i - n);
		const char *location = t ? t->location : r->location;
		struct location_stat *st;

		if (t && (t->kind == TASK_RUNTIME || t->kind == TASK_BLOCK_ON))
			continue; /* no spawns: a runtime's loop, a thread's own future */
		/* no location: key 1 for spawns seen, 0 for the rest (no
		 * interned string lives at either address) */
		st = id_table__get(&stats, location ? (uintptr_t)location : (t && t->spawn_seen), NULL);
		if (!st) {
			id_table__release(&stats);
			return -ENOMEM;
		}
		st->location = location;
		st->spawn_seen = !location && t && t->spawn_seen;
		if (r) {
			st->spawned += r->spawned;
			st->completed += r->completed;
			st->busy_ns += r->busy_ns;
			continue;
		}
		st->spawned++;
		if (t->state == TASK_COMPLETED)
			st->completed++;
		else
			st->alive++;
		st->busy_ns += t->busy_ns;
	}
	if (stats.n)
		qsort(stats.items, stats.n, sizeof(struct location_stat), by_spawned);
	*out = stats.n ? stats.items : NULL;
	if (!stats.n)
		free(stats.items);
	u64_map__free(stats.index); /* the array is the caller's now */
	return (long)stats.n;
}
