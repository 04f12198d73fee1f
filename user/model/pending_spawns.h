/* SPDX-License-Identifier: MIT */
/*
 * Spawn calls waiting for their task to show up: each filed under the id the
 * call predicted (the runtime's next task id), taken when a task with that
 * id is first seen. The runtime may later say which id a call really got
 * (AIB_EV_SPAWN_ID): then the call is filed again under it.
 */
#ifndef PENDING_SPAWNS_H
#define PENDING_SPAWNS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* A spawn call waiting for its task to show up under the predicted id. */
struct pending_spawn {
	__u64 predicted_id; /* as the spawn call predicted; its key may differ */
	__u64 ts;
	__u64 parent_id;
	const char *location;
	__u32 flags;
	__u32 tid;
};

struct pending_spawns;

struct pending_spawns *pending_spawns__new(void); /* NULL + ENOMEM */
void pending_spawns__free(struct pending_spawns *p);
/* File the spawn call that thread `tid` made predicting `predicted_id` (not
 * 0): the slot to fill in (predicted_id and tid set), valid until the next
 * call. NULL when there is nothing to file (*err = 0) or out of memory
 * (*err = -ENOMEM). */
struct pending_spawn *pending_spawns__file(struct pending_spawns *p, __u64 predicted_id, __u32 tid,
					   int *err);
/* The call filed under `id` into *out, removed: false if none (or id 0). */
bool pending_spawns__take(struct pending_spawns *p, __u64 id, struct pending_spawn *out);
bool pending_spawns__has(const struct pending_spawns *p, __u64 id);
/* Thread `tid`'s call predicting `predicted_id` really got `id`: 0 or -ENOMEM. */
int pending_spawns__refile(struct pending_spawns *p, __u32 tid, __u64 predicted_id, __u64 id);
size_t pending_spawns__count(const struct pending_spawns *p);
/* Visit every call with the id it is filed under, in no order; stop early
 * when cb returns non-zero. */
void pending_spawns__for_each(const struct pending_spawns *p,
			      int (*cb)(__u64 id, const struct pending_spawn *s, void *ctx),
			      void *ctx);

struct location_table;
/* A copy whose locations are `to`'s strings (a clone of `from`, the table
 * p's point into); NULL when out of memory. */
struct pending_spawns *pending_spawns__clone(const struct pending_spawns *p,
					     const struct location_table *from,
					     const struct location_table *to);
size_t pending_spawns__bytes(const struct pending_spawns *p); /* owned bytes */

#endif
