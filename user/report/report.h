/* SPDX-License-Identifier: MIT */
/* Outputs of a finished model: the text report and the JSON export. */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

struct task_model;
struct deadlock;
struct deadlock_finder;

struct report_opts {
	const char *ended;  /* why the session ended: "target exited", "duration", ... */
	size_t max_tasks;   /* rows in the task table; 0 = all */
	const char *version;
	__u64 stuck_after_ns; /* parked longer than this: listed under "Stuck tasks" */
	bool all_frames;      /* await stacks keep runtime and std frames */
	const struct deadlock_finder *deadlocks; /* may be NULL */
};

/* Text report for a terminal, 100 columns. 0 or -EIO. */
int report_text__write(const struct task_model *m, const struct report_opts *o, FILE *f);
/* {"tasks": [...], "metadata": {...}, "locations": [...]}: see README. 0 or -errno. */
int report_json__write(const struct task_model *m, const struct report_opts *o, FILE *f);
struct json_writer;
struct task_info;
/* A task's fields of the original async-inspect export (id, name, state,
 * created_at_ms, duration_ms, poll_count, run_time_ms, parent_id) and ours
 * (kind, spawn_location), inside an object the caller opened. start and end
 * are the session's. */
void report_json__task_fields(struct json_writer *w, const struct task_info *t,
			      __u64 start, __u64 end);
/* The text report's lock sections (report_locks.c). 0 or -ENOMEM. */
int report_text__locks(const struct task_model *m, const struct report_opts *o, FILE *f);
int report_text__blocking(const struct task_model *m, const struct report_opts *o, FILE *f);
int report_text__deadlocks(const struct task_model *m, const struct deadlock_finder *df,
			   const struct report_opts *o, FILE *f);
/* One deadlock, as found (also printed live):
 *   DEADLOCK: task 12 (transfer_a, src/bank.rs:7) holds Mutex@0x..a0, waits for Mutex@0x..c0
 *             task 13 (...) holds Mutex@0x..c0, waits for Mutex@0x..a0
 *   Cycle: task 12 -> Mutex A -> task 13 -> Mutex B -> task 12
 *   Suggestion: ... */
void report_text__deadlock(const struct task_model *m, const struct deadlock *d, FILE *f);
/* "task 12 (transfer_a, src/bank.rs:7)": the root future's name and the
 * await site when known, else the spawn location. */
const char *report__task_label(const struct task_model *m, __u64 id, char *buf, size_t len);
struct await_frame;
void report_json__frame(struct json_writer *w, const struct await_frame *f);
/* "locks", "blocking" and "deadlocks" members of the export object. */
int report_json__locks(struct json_writer *w, const struct task_model *m,
		       const struct report_opts *o);
/* Format a duration in ns into buf ("812ns", "4.5us", "1.23ms", "4.03s", "2m03s"). */
const char *report__duration(unsigned long long ns, char *buf, size_t len);
struct task_info;
/* How a report names a task: its id, "root<n>" for the n-th block_on root
 * (its made-up id means nothing to a reader), "?" when unknown. */
const char *report__task_id(const struct task_info *t, char *buf, size_t len);
/* qsort's order of `const struct lock_info *`s: the most waited on first,
 * then the most acquired. */
int report__locks_by_wait(const void *a, const void *b);

#endif
