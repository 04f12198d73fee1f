/* SPDX-License-Identifier: MIT */
/*
 * Runtime-neutral task model: rebuilt from the decoded record stream (live or
 * replayed) into per-task lifecycles and timings exact to event timestamps.
 * It never prints; outputs read it through the accessors below.
 *
 * States: running (inside a poll), runnable (woken or spawned, waiting for
 * its next poll), idle (returned Pending, waiting for a wake), completed.
 * busy = time inside polls; sched delay = runnable -> next poll start;
 * idle = time spent idle. For tasks alive at the end, open intervals are
 * counted up to the end of the session.
 */
#ifndef TASK_MODEL_H
#define TASK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"
#include "lib/samples.h"

enum task_state {
	TASK_RUNNING,
	TASK_RUNNABLE,
	TASK_IDLE,
	TASK_COMPLETED,
};

enum task_kind {
	TASK_ASYNC,    /* spawn */
	TASK_BLOCKING, /* spawn_blocking */
	TASK_LOCAL,    /* spawn_local */
	TASK_RUNTIME,  /* the runtime's own carrier (a worker thread's task) */
	TASK_BLOCK_ON, /* a block_on root: the future a thread polls itself */
};

enum wake_kind {
	WAKE_BY_TASK,	/* another task */
	WAKE_BY_SELF,	/* the task woke itself (yield) */
	WAKE_BY_THREAD, /* a thread outside any task: timer, I/O driver, blocking code */
	WAKE_KIND_MAX
};

#define TASK_MAX_WORKERS 8 /* distinct worker threads remembered per task */

/* Log2 buckets of durations: bucket 0 holds [0, 1024 ns), bucket i > 0
 * [2^(9+i), 2^(10+i)) ns, the last one everything from 2^32 ns (4.3 s). */
#define TASK_HIST_BUCKETS 24

static inline unsigned task_hist__bucket(__u64 ns)
{
	unsigned b = ns < 1024 ? 0 : (unsigned)(63 - __builtin_clzll(ns)) - 9;

	return b < TASK_HIST_BUCKETS ? b : TASK_HIST_BUCKETS - 1;
}

/* The lower bound of bucket b, in ns. */
static inline __u64 task_hist__bucket_ns(unsigned b)
{
	return b ? 1ULL << (9 + b) : 0;
}

/* The durations of a task's polls, from its second one: a task polled once
 * needs none (busy_ns is that poll), so most tasks never pay for it. */
struct task_poll_hist {
	__u64 count, max_ns;
	__u32 bucket[TASK_HIST_BUCKETS];
};

/* What few tasks need, allocated on first use: a name, an await record, a
 * JoinHandle polled, blocking syscalls, more than one worker thread, more
 * than one poll. */
struct task_extra {
	char *name;		     /* the runtime's task name (async-std Builder::name), or NULL */
	struct aib_rec_await *await; /* the last AIB_REC_AWAIT about it (owned), or NULL */
	__u64 joining_id;	     /* the task whose JoinHandle its last poll polled; 0 = none */
	__u64 joining_header;
	__u64 blocked_calls; /* syscalls that blocked its polls (blocking in async code) */
	__u64 blocked_ns;
	__u32 workers[TASK_MAX_WORKERS - 1]; /* after task_info.worker */
	struct task_poll_hist *poll_hist; /* polled more than once; NULL if no memory */
	/* its last wake (a woken task is polled again: this record is made
	 * for it anyway), for "last woken by" */
	__u64 last_waker_id; /* the task that woke it; 0: a thread outside any task */
	__u32 last_waker_tid; /* the thread the wake came from */
	__u8 last_wake;	     /* enum wake_kind + 1; 0: never woken */
};

/* Kept per task, live or completed: small, since a million live tasks is a
 * workload; read the rarer fields through the task_info__ accessors below. */
struct task_info {
	__u64 id;	     /* the runtime's task id; 0 if unknown */
	__u64 header;	     /* task header address (reused after free) */
	__u64 parent_id;     /* task that spawned it; 0 = none or unknown */
	const char *location; /* "src/main.rs:25:24", or NULL if unknown */
	__u64 spawn_ts;	 /* spawn call, or first sight */
	__u64 end_ts;	 /* completion; 0 while alive */
	__u64 last_poll_end_ts;
	__u64 polls;
	__u64 busy_ns;
	__u64 idle_ns;
	__u64 runnable_ns; /* sum of scheduling delays */
	__u64 wakes[WAKE_KIND_MAX];
	/* bookkeeping for open intervals */
	__u64 since;	 /* when the current state began (still so after finish) */
	__u64 poll_start;
	/* scheduling delay samples: none, the one sample itself, or more */
	union {
		__u64 one;
		struct samples *many;
	} sched;
	struct task_extra *extra; /* NULL until needed */
	__u32 poll_tid; /* the thread of the current poll */
	__u32 worker;	/* the first thread it was polled on (nworkers > 0) */
	/* whole bytes where they fit the padding: cheaper to read and write */
	enum aib_runtime runtime : 8;
	enum task_kind kind : 8;
	enum task_state state : 8;
	__u8 nworkers;	       /* tids the task was polled on */
	__u8 nsched;	       /* 0, 1 (sched.one), 2: sched.many */
	bool spawn_seen : 1; /* false: first seen after its spawn (before the session) */
	bool cancelled : 1;
	bool panicked : 1;   /* a panic unwound out of its poll */
	bool found_in_memory : 1; /* found by the attach-time memory scan, state read there */
	bool location_unwound : 1; /* the location is the spawn stack's, not a Location read */
};

static inline const char *task_info__name(const struct task_info *t)
{
	return t->extra ? t->extra->name : NULL;
}

static inline const struct aib_rec_await *task_info__await(const struct task_info *t)
{
	return t->extra ? t->extra->await : NULL;
}

/* Its await record when it is about the park the task is in now: one made
 * before its last poll ended is about an earlier park (a live view reads
 * parks while the session runs); NULL when there is none. */
static inline const struct aib_rec_await *task_info__current_await(const struct task_info *t)
{
	const struct aib_rec_await *a = task_info__await(t);
	__u64 since = t->last_poll_end_ts ? t->last_poll_end_ts : t->spawn_ts;

	return a && a->hdr.ts >= since ? a : NULL;
}

static inline __u64 task_info__joining_id(const struct task_info *t)
{
	return t->extra ? t->extra->joining_id : 0;
}

static inline __u64 task_info__joining_header(const struct task_info *t)
{
	return t->extra ? t->extra->joining_header : 0;
}

/* How it was woken last: false if never (in the session). */
static inline bool task_info__last_wake(const struct task_info *t, enum wake_kind *kind,
					__u64 *waker_id, __u32 *tid)
{
	if (!t->extra || !t->extra->last_wake)
		return false;
	*kind = (enum wake_kind)(t->extra->last_wake - 1);
	*waker_id = t->extra->last_waker_id;
	*tid = t->extra->last_waker_tid;
	return true;
}

static inline __u64 task_info__blocked_calls(const struct task_info *t)
{
	return t->extra ? t->extra->blocked_calls : 0;
}

static inline __u64 task_info__blocked_ns(const struct task_info *t)
{
	return t->extra ? t->extra->blocked_ns : 0;
}

/* The tids the task was polled on, in order: returns how many (at most
 * TASK_MAX_WORKERS). */
static inline __u32 task_info__workers(const struct task_info *t, __u32 out[TASK_MAX_WORKERS])
{
	for (__u32 i = 0; i < t->nworkers; i++)
		out[i] = i ? t->extra->workers[i - 1] : t->worker;
	return t->nworkers;
}

/* Its scheduling delay samples, to read (quantiles sort them in place). A
 * single sample lives in the task itself: then `one` (the caller's) holds
 * them, valid as long as t is. */
struct samples *task_info__sched(struct task_info *t, struct samples *one);

/* The durations of its polls that ended (a running task's poll in flight
 * aside: poll_start says since when). A task polled once keeps no
 * histogram: `one` (the caller's) then holds that poll. */
const struct task_poll_hist *task_info__poll_hist(const struct task_info *t,
						  struct task_poll_hist *one);

struct model_summary {
	__u32 pid;
	__u32 runtimes;	      /* AIB_RUNTIME_BIT()s */
	const char *runtime_desc; /* "tokio", "async-std (async-task)", ... */
	const char *exe;
	char build_id[2 * AIB_BUILD_ID_MAX + 1]; /* the executable's, in hex; "" if unknown */
	__u32 poll_sites;
	bool spawn_locations; /* spawn probes were attached */
	bool spawn_kinds_unknown; /* seen by structure: spawn_blocking looks like spawn */
	bool late_attach;     /* attached to a running process */
	bool no_line_tables;  /* the binary has none: sites are function names at best */
	bool ended_cleanly;   /* an END record was seen */
	__u32 end_reason;     /* enum aib_end_reason, 0 if no END record */
	__u64 start_ts, end_ts;
	__u64 realtime_start_ns;
	__u64 tasks_spawned;   /* user tasks seen (spawned, or first seen) */
	__u64 tasks_completed;
	__u64 tasks_alive;
	__u64 runtime_tasks;   /* TASK_RUNTIME, not counted above */
	__u64 roots;	       /* TASK_BLOCK_ON, not counted above */
	__u64 roots_alive;
	__u64 root_polls;
	__u64 polls;	       /* of user tasks (final after finish) */
	__u64 wakes;
	__u64 events;	       /* records applied */
	__u64 lost;	       /* ring buffer full */
	__u64 dropped;	       /* dropped in BPF for other reasons */
	__u64 dropped_by[AIB_DROP_SLOTS]; /* both, by enum aib_drop (AIB_REC_DROPS) */
	__u64 anomalies;       /* records that did not fit the model (e.g. an end without a begin) */
	__u64 tasks_retired;   /* completed tasks folded into per-location counts (memory bound) */
};

/* Completed tasks kept one by one (between this and twice this: compaction
 * is amortized); older ones are counted per location. */
#define TASK_MODEL_KEEP_COMPLETED 100000

struct retired_location {
	const char *location; /* NULL: unknown */
	__u64 spawned, completed, polls, busy_ns;
};

struct task_model;

struct task_model *task_model__new(void);
void task_model__free(struct task_model *m);
/* How many completed tasks to keep individually (default above). */
void task_model__set_keep_completed(struct task_model *m, size_t keep);
/* Per-location counts of the completed tasks no longer kept one by one. */
size_t task_model__retired_count(const struct task_model *m);
const struct retired_location *task_model__retired(const struct task_model *m, size_t i);
/* Apply one validated record. 0, or -ENOMEM. Records that contradict the
 * model are counted as anomalies, never fatal. */
int task_model__apply(struct task_model *m, const struct aib_hdr *rec);
/* Close the session at end_ts (0: the END record's time, else the last
 * event's): account open intervals of live tasks. Call once, before reading. */
void task_model__finish(struct task_model *m, __u64 end_ts);
/*
 * A deep copy that goes on alone: records applied to either, or finishing
 * either, leave the other as it was; task pointers of the copy point into
 * the copy (its own location strings), and every accessor, analysis and
 * report reads it as it reads a model. How to see the model at an instant
 * without ending it: clone, then finish the clone at that time. Cost: one
 * pass over the tasks, a copy of the 160-byte record of each plus what it
 * owns (its side record, await record, scheduling samples: up to 8 KiB for
 * a task scheduled more than 1024 times), and of the tables (threads,
 * locks, blocking sites, locations, pending spawns). Measured on 100k tasks
 * (test_model_clone's printout, this 2-CPU VM): 202 bytes and 0.44 us per
 * task polled once (0.70 us the first time, faulting fresh pages in), 620
 * bytes and 1.8 us per task polled 20 times (its samples, poll histogram and
 * side record are mallocs of their own). NULL when out of memory.
 */
struct task_model *task_model__clone(const struct task_model *m);
/* Bytes the model owns (its allocations' requested sizes, allocator
 * overhead aside): for the memory budgets of the models kept. */
size_t task_model__bytes(const struct task_model *m);

const struct model_summary *task_model__summary(const struct task_model *m);
size_t task_model__task_count(const struct task_model *m);
/* i in [0, count): tasks in order of first appearance, runtime tasks included */
struct task_info *task_model__task(const struct task_model *m, size_t i);
/* The task now at `header` with runtime id `id` (0 = any), or NULL: lets a
 * consumer of the record stream name the task a record is about. */
const struct task_info *task_model__find(const struct task_model *m, __u64 header, __u64 id);
/* The live task with runtime id `id`, else the last one that had it; NULL
 * for none (or id 0). A scan: for a report or a view, not per record. */
const struct task_info *task_model__by_id(const struct task_model *m, __u64 id);
/* Spawn calls not yet matched to a task: a consumer of the record stream
 * compares it before and after a spawn record to tell whether it counted. */
size_t task_model__pending_spawns(const struct task_model *m);
const char *task_model__thread_name(const struct task_model *m, __u32 tid); /* NULL if unknown */
/* How long since its last poll ended (or, never polled in the session,
 * since the session began: then *at_least is set); 0 for a running or
 * completed task. After finish. */
__u64 task_model__blocked_ns(const struct task_model *m, const struct task_info *t, bool *at_least);
struct lock_table;
struct blocking_calls;
/* A task parked on another's JoinHandle since `since` (its last poll end). */
struct join_wait {
	__u64 waiter_id;
	__u64 joined_id;
	__u64 since;
};

/* tokio's locks and the blocking syscalls inside polls, as the records said */
const struct lock_table *task_model__locks(const struct task_model *m);
const struct blocking_calls *task_model__blocking(const struct task_model *m);
/* Tasks parked on a JoinHandle of a live task, for the wait-for graph:
 * up to max into out; returns how many there are. */
size_t task_model__join_waits(const struct task_model *m, struct join_wait *out, size_t max);
const char *task_state_name(enum task_state s);
const char *task_kind_name(enum task_kind k);
const char *aib_runtime_name(enum aib_runtime r); /* "tokio", "async-task" */
/* A drop reason's JSON key ("await_stacks") and what it means in a line. */
const char *aib_drop_key(enum aib_drop d);
const char *aib_drop_what(enum aib_drop d);

#endif
