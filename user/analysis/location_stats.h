/* SPDX-License-Identifier: MIT */
/* Tasks grouped by spawn location: how many were spawned, completed and are
 * still alive at each, the first question about a leak or a hang. */
#ifndef LOCATION_STATS_H
#define LOCATION_STATS_H

#include <stddef.h>
#include <linux/types.h>

struct task_model;

struct location_stat {
	const char *location; /* NULL: tasks with no known spawn location */
	__u64 spawned, completed, alive;
	__u64 busy_ns;
};

/* Runtime tasks are left out. Sorted by spawned, descending, then location.
 * Returns the count; *out is malloc'ed (free it), NULL when empty. -ENOMEM. */
long location_stats__collect(const struct task_model *m, struct location_stat **out);

#endif
