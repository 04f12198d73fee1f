/* SPDX-License-Identifier: MIT */
/*
 * Unwind a copy of a thread's user stack taken by a probe, the way perf's
 * DWARF call-graph mode does: the call frame information of the target's
 * ELF file (.eh_frame, read with libdw) says where each frame keeps its
 * return address and saved registers, so no frame pointers are needed. With
 * frame pointers the same tables describe them, so one method covers both;
 * code the tables leave out is walked through its frame pointer chain.
 *
 * Only the target's main executable is unwound: a return address outside it
 * (libc, the vdso) or outside the copy ends the walk.
 */
#ifndef UNWINDER_H
#define UNWINDER_H

#include <linux/types.h>
#include <stddef.h>

struct unwinder;

/* Registers at the probe and the copied stack; all addresses are the
 * process's runtime addresses. */
struct stack_snapshot {
	__u64 bias;	    /* load bias of the executable: runtime = vaddr + bias */
	__u64 ip, sp, bp;   /* at the probe (function entry or any instruction) */
	const __u8 *stack;  /* stack[0] is the byte at runtime address sp */
	size_t len;
};

struct binary;

/* Unwinds through the CFI of the binary (borrowed: it must outlive the
 * unwinder). NULL + errno: ENODATA (no .eh_frame nor .debug_frame), ENOMEM. */
struct unwinder *unwinder__new(const struct binary *bin);
void unwinder__free(struct unwinder *u);

/* Frames of the snapshot as ELF virtual addresses (runtime - bias),
 * innermost first: pcs[0] is ip itself, pcs[i > 0] are return addresses
 * (the caller's instruction after its call). Returns the number of frames
 * written (>= 1 when ip is inside the executable, else 0), at most max. The
 * walk stops at the outermost frame, an address outside the executable or
 * its CFI, a slot outside the copy, or a frame that does not move up the
 * stack. */
int unwinder__unwind(const struct unwinder *u, const struct stack_snapshot *s, __u64 *pcs, int max);

#endif
