/* SPDX-License-Identifier: MIT */
/*
 * Where a task was spawned when the runtime keeps no #[track_caller]
 * Location (async-task): unwind the stack copied at the spawn probe to the
 * innermost frame of the program's own code and name its source line
 * (DWARF line tables, inlined frames included), or its function when the
 * binary has no line tables. Also tells a spawn on the blocking pool by the
 * runtime frames it passes through.
 */
#ifndef SPAWN_SITE_H
#define SPAWN_SITE_H

#include <linux/types.h>
#include "aib_events.h"

struct spawn_sites;

struct spawn_site {
	char where[256]; /* the file, or the function without line tables */
	__u32 line, col; /* 0 if unknown */
	__u32 flags;	 /* AIB_SPAWN_BLOCKING when the blocking pool spawned it */
};

/* NULL + errno (ENOENT, ENOEXEC, ENODATA: no call frame information). */
struct spawn_sites *spawn_sites__new(const char *binary);
void spawn_sites__free(struct spawn_sites *ss);
/* 0 and *out, or -ENOENT when no frame of the program's own code was found
 * in the copy. */
int spawn_sites__resolve(struct spawn_sites *ss, const struct aib_stack *stack, const __u8 *bytes,
			 struct spawn_site *out);

#endif
