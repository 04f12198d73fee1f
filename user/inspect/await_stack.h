/* SPDX-License-Identifier: MIT */
/*
 * An await chain from the stack the await probe copied when the task's
 * leaf future cloned its waker: unwound with the executable's call frame
 * information (.eh_frame; frame pointers are described there too), named
 * with DWARF line tables and inlined frames, or symbols without them.
 */
#ifndef AWAIT_STACK_H
#define AWAIT_STACK_H
#include "record/await_site.h"

struct await_sites;
/* For stacks of the executable at `binary`. NULL + errno (ENOENT, ENOEXEC,
 * ENODATA: no call frame information). */
struct await_sites *await_sites__new(const char *binary);
void await_sites__free(struct await_sites *as);
/* Unwind and name a stack copied by the await probe: 0 and *out (method
 * STACK), or -ENOENT when no frame of the program's own code was found. */
int await_sites__from_stack(struct await_sites *as, const struct aib_await_stack *s,
			    struct await_desc *out);

/* Its symbolizer, to name other addresses of the executable. */
struct symbolizer *await_sites__symbolizer(struct await_sites *as);
/* The same for the stack of a syscall that blocked a poll (from the
 * program's frame that called into the C library). */
int await_sites__from_blocked(struct await_sites *as, const struct aib_ev_blocked *e,
			      struct await_desc *out);

#endif
