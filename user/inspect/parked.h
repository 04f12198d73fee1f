/* SPDX-License-Identifier: MIT */
/*
 * At the end of a live session, for every task still parked: where it
 * waits and on what (await_site), turned into AIB_REC_AWAIT records for the
 * model and the recording. The sources, best first: the task's future
 * decoded from the target's memory with DWARF types, when the binary has
 * them and the target still runs; the stack its last parking poll left in
 * the await-stack map; else a record that says why nothing is known.
 */
#ifndef PARKED_H
#define PARKED_H
#include <linux/types.h>
#include "aib_events.h"

struct task_model;
struct future_decoder;
struct stack_namer;

struct parked_opts {
	const struct task_model *model;
	/* opened while the target ran (its /proc/PID/exe may be gone by now);
	 * NULL: stacks_err says why (ENODATA: no call frame information) */
	struct stack_namer *stacks;
	int stacks_err;
	/* the await stack kept for a task header: 0, -ENOENT, -errno */
	int (*await_stack)(__u64 task, struct aib_await_stack *out, void *ctx);
	/* optional: decode futures from the live target's memory */
	struct future_decoder *decoder;
	int (*read_mem)(__u64 addr, void *buf, size_t len, void *ctx);
	void *read_ctx;
	__u64 bias; /* load bias of the executable */
	int pid;    /* for the sockets a task waits on (/proc/PID/fd, net/tcp) */
	/* a record for the session: recorded and applied to the model */
	int (*emit)(const struct aib_hdr *rec, void *ctx);
	void *ctx;
	__u64 now; /* the records' timestamp */
	/* while the session runs (a live view): only the tasks idle this long
	 * that no record names since their park began, so each park is
	 * resolved once; 0: every parked task (the session's end) */
	__u64 min_parked_ns;
};

/* The detail of a task's AIB_AWAIT_NONE record when none of its polls
 * cloned its waker: then no future keeps a way to wake it (lints.h). */
#define PARKED_NO_WAKER_CLONED "no waker was cloned in its polls (no leaf future parked it)"

struct parked_stats {
	__u32 parked;	     /* tasks looked at */
	__u32 from_stack;
	__u32 from_memory;
	__u32 unknown;
};

/* Is t one that o resolves? */
struct task_info;
bool parked__due(const struct parked_opts *o, const struct task_info *t);
/* 0 and *st, or -ENOMEM. Without `stacks` every task still gets a record
 * saying why nothing is known. */
int parked__resolve(const struct parked_opts *o, struct parked_stats *st);

#endif
