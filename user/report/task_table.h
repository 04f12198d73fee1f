/* SPDX-License-Identifier: MIT */
/*
 * The rows of a live task table (`top`), from a finished model (a finished
 * clone, live; replay_cursor__seek's model, in a replay): one per task and
 * block_on root (completed ones when asked; the runtime's carriers never),
 * with the columns of tokio-console's task list, sorted by any column,
 * filtered by a substring; and one task's detail (its poll-duration and
 * scheduling-delay histograms, wakes by waker, worker threads, parent,
 * spawn location). It never prints and draws nothing: the front end asks
 * each cell's text (task_table__cell) and the histograms' bars
 * (task_hist__bar) and lays them out.
 *
 * Each refresh: clone the model (or seek), finish the copy at the time
 * shown, task_table__new on it, draw, and free both; sorting, filtering or
 * showing completed tasks again is task_table__view on the same table. The
 * table points into the model: free it first.
 */
#ifndef TASK_TABLE_H
#define TASK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "analysis/lints.h"
#include "model/task_model.h"

enum task_col {
	TASK_COL_WARN,	   /* its lints' names */
	TASK_COL_ID,
	TASK_COL_STATE,	   /* running, runnable, idle, completed, panicked */
	TASK_COL_NAME,	   /* Builder::name, else its root async fn (from its await record) */
	TASK_COL_TOTAL,	   /* age: spawn (or first sight) to its end, or to now */
	TASK_COL_BUSY,
	TASK_COL_SCHED_P99,
	TASK_COL_IDLE,
	TASK_COL_POLLS,
	TASK_COL_AWAIT,	   /* file:line of the .await it is parked on */
	TASK_COL_LOCATION, /* its spawn location, or its header's address */
	TASK_COL_MAX
};

struct task_table_opts {
	enum task_col sort;
	bool descending;
	const char *filter;  /* case-insensitive substring of the name, location,
				await, state, warnings or id; NULL or "": all */
	bool completed;	     /* completed tasks too */
	__u64 stuck_ns;	     /* parked longer: marked stuck (default 2 s) */
	struct lint_opts lints;
};

/* Longest idle first, live tasks only, stuck after 2 s, default lints. */
void task_table_opts__default(struct task_table_opts *o);

struct task_row {
	struct task_info *t;
	size_t task;	      /* its index in the model */
	__u32 lints;	      /* LINT_BIT()s */
	bool stuck;	      /* parked (idle or runnable) longer than stuck_ns */
	bool at_least;	      /* parked since before the attach: at least blocked_ns */
	__u64 blocked_ns;     /* parked for; 0 running or completed */
	__u64 total_ns;
	__u64 sched_p99_ns;
	bool has_sched;	      /* scheduled at least once (else Sched shows "-") */
	const char *state, *name, *await, *location; /* never NULL; "" when unknown */
};

struct task_table;

/* m finished. NULL + errno ENOMEM. */
struct task_table *task_table__new(const struct task_model *m, const struct task_table_opts *o);
void task_table__free(struct task_table *tt);
/* Sort, filter and select again (the same model): 0 or -ENOMEM. */
int task_table__view(struct task_table *tt, const struct task_table_opts *o);
size_t task_table__rows(const struct task_table *tt); /* shown */
const struct task_row *task_table__row(const struct task_table *tt, size_t i);
/* Every task's lints (for the count of each above the table); tasks
 * stuck, among all rows (shown or not). */
const struct lints *task_table__lints(const struct task_table *tt);
size_t task_table__stuck(const struct task_table *tt);

/* "Warn", "ID", ..., "Location" */
const char *task_col__name(enum task_col c);
/* A cell's text ("4.03s", "src/main.rs:12", "-"), in buf or a string of
 * the row's. */
const char *task_table__cell(const struct task_row *r, enum task_col c, char *buf, size_t len);

/* What the detail view of one task shows. */
struct task_detail {
	__u64 poll_buckets[TASK_HIST_BUCKETS];	/* closed polls' durations, log2 (task_hist__bucket) */
	__u64 polls_timed, poll_max_ns;
	__u64 poll_in_flight_ns;		/* running: how long its poll has run */
	__u64 sched_buckets[TASK_HIST_BUCKETS]; /* scheduling delays, log2 */
	__u64 sched_count, sched_max_ns, sched_p50_ns, sched_p99_ns;
	bool sched_sampled; /* past SAMPLES_EXACT_MAX delays: buckets scaled from a uniform sample */
	__u64 wakes[WAKE_KIND_MAX];
	__u32 workers[TASK_MAX_WORKERS];
	const char *worker_names[TASK_MAX_WORKERS]; /* NULL: unnamed */
	__u32 nworkers;
	__u64 parent_id;		/* 0: none or unknown */
	const struct task_info *parent; /* when still in the model */
	const char *location;		/* NULL: unknown */
	__u64 blocked_calls, blocked_ns; /* syscalls that blocked its polls */
	__u64 joining_id;		 /* the task whose JoinHandle it awaits, 0: none */
};

/* The detail of row i: 0, or -ENOENT. */
int task_table__detail(const struct task_table *tt, size_t i, struct task_detail *out);
/* Bucket b of a histogram as one line of text, a bar `width` wide scaled to
 * the fullest bucket: "  8.2us-16.4us  ##########           42". */
const char *task_hist__bar(const __u64 buckets[TASK_HIST_BUCKETS], unsigned b, unsigned width,
			   char *buf, size_t len);
/* The first and last non-empty buckets: false when all are empty. */
bool task_hist__range(const __u64 buckets[TASK_HIST_BUCKETS], unsigned *first, unsigned *last);

#endif
