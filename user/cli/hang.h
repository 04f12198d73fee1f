/* SPDX-License-Identifier: MIT */
/*
 * `test`'s watch on one process of the tree (a session started with
 * --test-child): is a test hung, and what to say about it. A test is hung
 * when its body (a block_on root: #[tokio::test] runs each test's body in
 * one, on a thread libtest names after the test, never the main thread)
 * has run longer than the timeout, or, in a test binary (libtest's), when
 * the process has made no progress (no event at all) that long. A program
 * the tests start (a server, its #[tokio::main] on the main thread) may
 * run and idle as long as it likes.
 */
#ifndef CLI_HANG_H
#define CLI_HANG_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

struct task_model;
struct deadlock_finder;

struct hang_watch {
	__u64 timeout_ns;
	__u64 events, progress_ts; /* events seen, and when that count last grew */
	__u64 hung_id;		   /* the hung test's root (task id); 0: none or no progress */
	__u64 hung_for_ns;
	int pid;	  /* the process: its main thread runs no test */
	bool test_binary; /* libtest's: no progress is a hang too */
	bool hung;
};

void hang_watch__init(struct hang_watch *w, __u64 timeout_ns, __u64 now, int pid,
		      bool test_binary);
/* Is a test hung at `now` (CLOCK_MONOTONIC)? Once true, it stays. */
bool hang_watch__check(struct hang_watch *w, const struct task_model *m, __u64 now);
/* "Found test stuck at: NAME  (FILE, 30.0s)", or the process's lack of
 * progress, on f; after the model finished. */
void hang_watch__say(const struct hang_watch *w, const struct task_model *m, int pid, FILE *f);
/* The process's one line for the end of the run into `path`: binary,
 * tests run, tasks, stuck, lost. 0 or -errno. */
int hang_watch__summary(const struct hang_watch *w, const struct task_model *m,
			const struct deadlock_finder *df, const char *name, int pid,
			__u64 stuck_after_ns, const char *path);

#endif
