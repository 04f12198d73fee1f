/* SPDX-License-Identifier: MIT */
/* Tasks grouped by spawn location: how many were spawned, completed and are
 * still alive at each, the first question about a leak or a hang. */
#ifndef LOCATION_STATS_H
#define LOCATION_STATS_H

#include <stddef.h>
#include <linux/types.h>
#include <stdbool.h>

struct task_model;

struct location_stat {
	const char *location; /* NULL: tasks with no known spawn location, */
	bool spawn_seen;      /* ... in two groups: spawned in the session (the site
				 not resolved), or first seen at a poll or wake */
	__u64 spawned, completed, alive;
	__u64 busy_ns;
};

/* Runtime tasks are left out. Sorted by spawned, descending, then location.
 * Returns the count; *out is malloc'ed (free it), NULL when empty. -ENOMEM. */
long location_stats__collect(const struct task_model *m, struct location_stat **out);

#endif
