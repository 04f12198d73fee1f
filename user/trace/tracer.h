/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of a session: load the runtime's probes, attach a plan to one
 * process, read the ring buffer, count losses, detach. Knows nothing about
 * what the records mean.
 */
#ifndef TRACER_H
#define TRACER_H

#include <stddef.h>
#include <linux/types.h>
#include "runtime/probe_plan.h"

struct tracer;

/* Called for each ring-buffer sample; a non-zero return stops the poll. */
typedef int (*tracer_sample_fn)(const void *data, size_t size, void *ctx);

struct tracer_opts {
	int pid;		  /* only this process triggers the probes */
	const char *binary;	  /* the file to attach to (a path, or /proc/PID/exe) */
	size_t ringbuf_bytes;	  /* each CPU's ring (rounded up to a power of two); 0 = default */
	/* a syscall inside a poll this long is reported (AIB_EV_BLOCKED); 0 = off */
	__u64 blocked_min_ns;
	tracer_sample_fn on_sample;
	void *ctx;
};

/* Prepare a session for plan->runtimes (the plan must outlive the tracer).
 * NULL + errno; `err` gets a one-line description. */
struct tracer *tracer__open(const struct probe_plan *plan, const struct tracer_opts *opts,
			    char *err, size_t err_len);
/* Load the BPF programs and attach every site of the plan. A required site
 * that fails aborts with -errno and names the probe in `err`; optional
 * failures are counted. */
int tracer__attach(struct tracer *t, const struct probe_plan *plan, char *err, size_t err_len);
/* Add one entry-probe site while the session runs (a return site the BPF
 * side reported). 0, or -errno with `err` set; counted as a failure. */
int tracer__attach_site(struct tracer *t, const struct probe_site *site, char *err,
			size_t err_len);
size_t tracer__attached(const struct tracer *t);
/* 0 when blocking syscalls inside polls are timed, else why not (-errno;
 * -ENOTSUP: not asked for, or no runtime it covers). */
int tracer__blocking_error(const struct tracer *t);
/* Why the target's exec is not watched (the tracepoint), or 0. */
int tracer__exec_error(const struct tracer *t);
size_t tracer__attach_failures(const struct tracer *t);
/* Wait up to timeout_ms for samples and deliver them. >= 0 samples, or -errno
 * (-EINTR when a signal arrived). */
int tracer__poll(struct tracer *t, int timeout_ms);
/* Deliver whatever is in the ring buffer now, without waiting. */
int tracer__drain(struct tracer *t);
/* Remove all probes; the traced process runs on untouched. */
void tracer__detach(struct tracer *t);
/* Cumulative: samples lost to a full ring buffer, and dropped for other reasons. */
/* by_reason: AIB_DROP_SLOTS counts, by enum aib_drop (both sums' parts) */
int tracer__losses(const struct tracer *t, __u64 *lost, __u64 *dropped, __u64 *by_reason);
/* The await stack kept for the task at header `task` (runtime address):
 * 0, or -ENOENT when none was taken (or it was dropped), or -errno. */
int tracer__await_stack(const struct tracer *t, __u64 task, struct aib_await_stack *out);
/* The user registers of every thread of process pid, as each entered the
 * kernel (valid for a thread blocked in a syscall), up to max: how many,
 * or -errno. */
int tracer__thread_regs(struct tracer *t, int pid, struct aib_thread_regs *out, int max);
/* The next block_on root number (AIB_ROOT_TASK), shared with the probes. */
__u64 tracer__next_root(struct tracer *t);
/* A root found parked at attach on thread tid: the probes take it onto the
 * thread's poll stack at its loop's next park. 0 or -errno. */
int tracer__adopt_root(struct tracer *t, __u32 tid, const struct aib_root_adopt *root);
void tracer__free(struct tracer *t);

#endif
