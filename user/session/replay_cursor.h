/* SPDX-License-Identifier: MIT */
/*
 * A recording's model at any instant, back and forth (`top --replay FILE`).
 *
 * The model at time T is what a live session showed at T: the records of
 * the file up to the first one stamped after T (the file's order is the
 * order the session applied them in), then finished at T. So tasks spawned
 * after T are absent, a task inside a poll at T is running, an idle one
 * idle, a completed one completed, and an await record (written at the end
 * of a live session) shows only from the end on.
 *
 * open() reads the file once, applying every record to a model and keeping
 * a copy of it (task_model__clone) as a checkpoint every `every_records`
 * records or `every_ns` of trace time. The checkpoints' memory is bounded:
 * past max_checkpoints or max_bytes every other one is dropped and the
 * spacing doubled, so they stay evenly spread over the recording. A seek
 * starts from the last checkpoint at or before T (or from where the last
 * seek left off, when that is on the way) and applies the records up to T:
 * stepping back costs a copy of that checkpoint and at most one spacing of
 * records, whatever the recording's length.
 */
#ifndef REPLAY_CURSOR_H
#define REPLAY_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct task_model;
struct task_info;

struct replay_cursor_opts {
	__u64 every_records; /* a checkpoint every N records; 0: not by count */
	__u64 every_ns;	     /* ... or every T ns of trace time; 0: not by time */
	size_t max_checkpoints;
	size_t max_bytes;     /* the checkpoints' models' bytes (task_model__bytes) */
	size_t keep_completed; /* the models' bound (task_model__set_keep_completed); 0: default */
};

/* 65536 records, no time spacing, 64 checkpoints, 256 MiB. */
void replay_cursor_opts__default(struct replay_cursor_opts *o);

struct replay_cursor;

/*
 * Reads the whole recording once. NULL + errno: ENOENT and the like from
 * open(2), EPROTO for a file that is no recording this version reads
 * (bad header), ENOMEM. A file cut short, or with a corrupt record, opens:
 * the cursor covers the records before the cut or the bad record, and
 * status()/truncated()/problem() say what replay(1) would say.
 */
struct replay_cursor *replay_cursor__open(const char *path, const struct replay_cursor_opts *o);
void replay_cursor__free(struct replay_cursor *c);

/* 0, or -EPROTO (a corrupt record) or -errno (a read error): the records
 * after it are not covered. */
int replay_cursor__status(const struct replay_cursor *c);
/* Cut short or not closed cleanly (a warning, not an error). */
bool replay_cursor__truncated(const struct replay_cursor *c);
/* "" or one line for the user: the corrupt record's byte offset, the cut. */
const char *replay_cursor__problem(const struct replay_cursor *c);

/* The first record's time, the latest time of any record (its END record's
 * when it closed cleanly), and the records covered. */
__u64 replay_cursor__first_ts(const struct replay_cursor *c);
__u64 replay_cursor__last_ts(const struct replay_cursor *c);
__u64 replay_cursor__records(const struct replay_cursor *c);
size_t replay_cursor__checkpoints(const struct replay_cursor *c);
size_t replay_cursor__checkpoint_bytes(const struct replay_cursor *c);

/*
 * The model at ts (clamped to [first, last]), finished: the caller's, to
 * read with every accessor and report, and to task_model__free. 0, or
 * -ENOMEM, or -errno reading the file.
 */
int replay_cursor__seek(struct replay_cursor *c, __u64 ts, struct task_model **out);

/*
 * Stepping through one task's events (its spawn, polls, wakes, end, join,
 * lock, blocking and await records): the time of its first event after
 * `after`, or of its last one before `before`, as a time to seek to (the
 * state right after that event). t is a task of a model this cursor gave
 * (its header, id and spawn tell its records apart from those of another
 * task at the same address). 0 and *ts, -ENOENT when there is none, or
 * -errno reading the file.
 */
int replay_cursor__next_event_ts(struct replay_cursor *c, const struct task_info *t, __u64 after,
				 __u64 *ts);
int replay_cursor__prev_event_ts(struct replay_cursor *c, const struct task_info *t, __u64 before,
				 __u64 *ts);

#endif
