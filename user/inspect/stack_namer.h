/* SPDX-License-Identifier: MIT */
/*
 * Names the stacks the probes copy: unwound with the executable's call
 * frame information (.eh_frame; frame pointers are described there too),
 * named with DWARF line tables and inlined frames, or symbols without them.
 * One unwinder and one symbolizer (and its cache) serve every kind of stack:
 *
 *   await:   the stack the await probe copied when the task's leaf future
 *            cloned its waker, as an await chain;
 *   blocked: the stack of a syscall that blocked a poll, the same way (from
 *            the program's frame that called into the C library);
 *   spawn:   the stack of a spawn when the runtime keeps no #[track_caller]
 *            Location (async-task), as the innermost frame of the program's
 *            own code, telling a spawn on the blocking pool by the runtime
 *            frames it passes through.
 */
#ifndef STACK_NAMER_H
#define STACK_NAMER_H

#include <linux/types.h>
#include "aib_events.h"
#include "record/await_site.h"

struct binary;
struct symbolizer;
struct stack_namer;

struct spawn_site {
	char where[256]; /* the file, or the function without line tables */
	__u32 line, col; /* 0 if unknown */
	__u32 flags;	 /* AIB_SPAWN_BLOCKING when the blocking pool spawned it */
	char function[256]; /* the program's function that called, "" if unknown */
};

/* For stacks of the binary (borrowed: it must outlive the namer). NULL +
 * errno (ENODATA: no call frame information, ENOMEM). */
struct stack_namer *stack_namer__new(const struct binary *bin);
void stack_namer__free(struct stack_namer *n);

/* 0 and *out (method STACK), or -ENOENT when no frame of the program's own
 * code was found. */
int stack_namer__await(struct stack_namer *n, const struct aib_await_stack *s,
		       struct await_desc *out);
int stack_namer__blocked(struct stack_namer *n, const struct aib_ev_blocked *e,
			 struct await_desc *out);
struct spawn_kind;
/* 0 and *out, or -ENOENT when no frame of the program's own code was found
 * in the copy (`bytes`: stack->len of them). out->flags: the kind of spawn
 * the runtime frames passed on the way say (`kinds`, may be NULL). */
int stack_namer__spawn(struct stack_namer *n, const struct aib_stack *stack, const __u8 *bytes,
		       const struct spawn_kind *kinds, struct spawn_site *out);

struct root_loop;
/* The outermost frame on the copied stack of one of `loops` ({NULL}-
 * terminated; a match also takes its closures and generic copies), e.g. a
 * block_on: 0 and *entry_sp, the runtime sp at the entry of the function
 * it runs in (inlined or not), or -ENOENT. */
int stack_namer__loop_frame(struct stack_namer *n, const struct aib_stack *stack,
			    const __u8 *bytes, const struct root_loop *loops, __u64 *entry_sp);

/* Is one of `loops` on the stack with none of the program's frames inside
 * it: a block_on or spawn the runtime makes for itself (a worker's loop,
 * an executor thread), not one the program made from inside such a loop
 * (block_in_place)? */
bool stack_namer__in_runtime_loop(struct stack_namer *n, const struct aib_stack *stack,
				  const __u8 *bytes, const struct root_loop *loops);

/* A chain recorded by code address (a stripped binary's: every frame
 * "0x<vaddr>", no file) named again with sym, the debug file's symbolizer:
 * its frames, the program's own told from the runtime's, and what it waits
 * for (`replay --debuginfo`). 1 when renamed; 0 when d is not such a chain
 * or sym names none of the program's own code in it (d unchanged). */
int stack_namer__rename_addresses(struct symbolizer *sym, struct await_desc *d);

/* Its symbolizer, to name other addresses of the executable. */
struct symbolizer *stack_namer__symbolizer(struct stack_namer *n);

#endif
