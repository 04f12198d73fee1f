/* SPDX-License-Identifier: MIT */
/*
 * Attached to a running process: the tasks it has now, parked ones
 * included, found in its memory (inspect/task_scan.h) and told to the
 * session as AIB_REC_TASK_FOUND records, with the tokio locks each parked
 * one holds or waits for when its future can be decoded (full debug info).
 * The probes are in place first, so nothing that happens next is missed; a
 * task also seen by a probe keeps what the probe said.
 */
#ifndef LATE_ATTACH_H
#define LATE_ATTACH_H

#include <stdbool.h>
#include <linux/types.h>
#include "inspect/task_scan.h"

struct elf_symbols;
struct future_decoder;
struct proc_mem;
struct session;
struct stack_namer;
struct tracer;

struct late_attach {
	int pid;
	const struct elf_symbols *syms;	 /* the target's executable */
	struct future_decoder *decoder;	 /* NULL without DWARF types */
	struct proc_mem *mem;		 /* NULL when its memory cannot be read */
	__u64 bias;			 /* load bias of the executable */
	bool locks;			 /* the lock probes are attached: guards are followed */
	unsigned permit_shift;		 /* then, the plan's (struct lock_layout) */
	struct session *session;
	/* block_on roots: parked threads' stacks are unwound with `stacks`
	 * (NULL: none are looked for), each root found handed to `tracer` */
	struct stack_namer *stacks;
	struct tracer *tracer;
	__u32 runtimes; /* AIB_RUNTIME_BIT()s of the plan */
};

struct late_attach_stats {
	int tasks;	/* told to the session */
	int carriers;	/* running tasks taken for tokio's worker carriers, left out */
	struct task_scan_stats scan;
};

/* 0 and *st, or -errno when the memory cannot be searched (then tasks
 * spawned before the attach are found on first sight only). */
int late_attach__find_tasks(const struct late_attach *la, struct late_attach_stats *st);

/* The threads parked in a block_on loop now (waiting in a syscall, a loop
 * function of a runtime of the plan on their stack): each told to the
 * session as a root found parked, and to the probes, which follow it from
 * its loop's next park. How many, or -errno when the threads cannot be
 * listed. */
int late_attach__find_roots(const struct late_attach *la);

#endif
