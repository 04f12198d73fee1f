// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
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
	size_t n = task_model__task_count(m), used = 0, cap = 0;
	struct location_stat *stats = NULL;
	/* interned location strings: one pointer per distinct location */
	struct u64_map *index = u64_map__new();

	*out = NULL;
	if (!index)
		return -ENOMEM;
	/* tasks kept one by one, then the completed ones folded into counts */
	for (size_t i = 0; i < n + task_model__retired_count(m); i++) {
		const struct task_info *t = i < n ? task_model__task(m, i) : NULL;
		const struct retired_location *r = t ? NULL : task_model__retired(m, i - n);
		const char *location = t ? t->location : r->location;
		__u32 idx;

		if (t && t->kind == TASK_RUNTIME)
			continue;
		if (!u64_map__get(index, (uintptr_t)location, &idx)) {
			if (array__grow((void **)&stats, &cap, used + 1, sizeof(*stats)) ||
			    u64_map__set(index, (uintptr_t)location, (__u32)used)) {
				free(stats);
				u64_map__free(index);
				return -ENOMEM;
			}
			idx = (__u32)used++;
			stats[idx] = (struct location_stat){.location = location};
		}
		if (r) {
			stats[idx].spawned += r->spawned;
			stats[idx].completed += r->completed;
			stats[idx].busy_ns += r->busy_ns;
			continue;
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
