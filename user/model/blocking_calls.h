/* SPDX-License-Identifier: MIT */
/*
 * Blocking inside async code: syscalls that kept a worker thread in the
 * kernel while it polled a task (AIB_REC_BLOCKED), summed per call site
 * (the program's innermost frame of the call), per kind of call and, for
 * futex waits, per lock word. Fed by the task model; read by the outputs.
 */
#ifndef BLOCKING_CALLS_H
#define BLOCKING_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"

/* Sites kept one by one; calls at further sites are only counted. */
#define BLOCKING_SITES_MAX 1024
#define BLOCKING_TASKS_SHOWN 4

struct blocked_site {
	__u32 syscall;	   /* x86-64 number */
	__u64 arg;	   /* futex: the lock word; I/O: the fd of the first call */
	__u64 calls;
	__u64 total_ns, max_ns;
	__u64 tasks[BLOCKING_TASKS_SHOWN]; /* the first distinct task ids */
	__u32 ntasks;	   /* distinct tasks (counted up to BLOCKING_TASKS_SHOWN) */
	__u64 first_ts, last_ts;
	/* the longest call's record, owned: its frames name the site */
	struct aib_rec_blocked *example;
};

struct blocking_calls;

struct blocking_calls *blocking_calls__new(void);
void blocking_calls__free(struct blocking_calls *b);
/* One blocked call, by the model's task `task_id`. 0 or -ENOMEM. */
int blocking_calls__add(struct blocking_calls *b, const struct aib_rec_blocked *r, __u64 task_id);
size_t blocking_calls__count(const struct blocking_calls *b);
const struct blocked_site *blocking_calls__get(const struct blocking_calls *b, size_t i);
/* calls that found no room for their site (counted, not kept) */
__u64 blocking_calls__unkept(const struct blocking_calls *b);

/* A copy, its examples its own; NULL when out of memory. */
struct blocking_calls *blocking_calls__clone(const struct blocking_calls *b);
size_t blocking_calls__bytes(const struct blocking_calls *b); /* owned bytes */

/* "futex wait on 0x7f..", "sleep", "read fd 7", "syscall 999": into buf */
const char *blocking_call__what(__u32 syscall, __u32 op, __u64 arg, char *buf, size_t len);
/* Is it a futex wait (arg = the address of the lock word)? */
bool blocking_call__is_futex(__u32 syscall);

#endif
