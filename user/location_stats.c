// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "location_stats.h"
#include "task_model.h"
#include "u64_map.h"

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
	size_t n = task_model__task_count(m), used = 0;
	struct location_stat *stats = NULL;
	/* interned location strings: one pointer per distinct location */
	struct u64_map *index = u64_map__new();

	*out = NULL;
	if (!index)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);
		__u32 idx;

		if (t->kind == TASK_RUNTIME)
			continue;
		if (!u64_map__get(index, (uintptr_t)t->location, &idx)) {
			struct location_stat *p = realloc(stats, (used + 1) * sizeof(*p));

			if (!p || u64_map__set(index, (uintptr_t)t->location, (__u32)used)) {
				free(p ? p : stats);
				u64_map__free(index);
				return -ENOMEM;
			}
			stats = p;
			idx = (__u32)used++;
			stats[idx] = (struct location_stat){.location = t->location};
		}
		stats[idx].spawned++;
		if (t->state == TASK_COMPLETED)
			stats[idx].completed++;
		else
			stats[idx].alive++;
		stats[idx].busy_ns += t->busy_ns;
	}
	u64_map__free(index);
	if (used)
		qsort(stats, used, sizeof(*stats), by_spawned);
	*out = stats;
	return (long)used;
}
