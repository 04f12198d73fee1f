// SPDX-License-Identifier: MIT
/*
 * The task model on synthetic record sequences, built by hand from the ABI
 * structs with exact timestamps: every state, duration, sample and counter
 * is checked against values worked out by hand in the comments.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/task_model.h"

/* ---- record builders: each applies one record to the model under test ---- */

struct ctx {
	struct task_model *m;
	__u64 applied; /* records applied, to check summary.events */
	enum aib_runtime runtime; /* of the poll and wake records made below */
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->m = task_model__new();
	if (!c->m) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	task_model__free(c->m);
	free(c);
	return 0;
}

static void apply(struct ctx *c, const struct aib_hdr *h)
{
	assert_int_equal(task_model__apply(c->m, h), 0);
	c->applied++;
}

static struct aib_hdr hdr(__u16 kind, __u16 size, __u32 tid, __u64 ts)
{
	return (struct aib_hdr){.kind = kind, .size = size, .tid = tid, .ts = ts};
}

static void location(struct ctx *c, __u64 ts, __u64 file_addr, const char *text)
{
	union {
		struct aib_rec_location rec;
		char b[sizeof(struct aib_rec_location) + 256];
	} r;
	size_t len = strlen(text);

	assert_true(len <= 256);
	memset(&r, 0x5a, sizeof(r)); /* the text is not NUL-terminated */
	r.rec.hdr = hdr(AIB_REC_LOCATION, (__u16)(sizeof(r.rec) + len), 0, ts);
	r.rec.file_addr = file_addr;
	r.rec.len = (__u32)len;
	r.rec.pad = 0;
	memcpy(r.rec.text, text, len);
	apply(c, &r.rec.hdr);
}

struct spawn_args {
	__u64 parent_task, parent_id;
	__u64 file_addr;
	__u32 file_len, line, col, flags;
};

static void spawn(struct ctx *c, __u64 ts, __u32 tid, __u64 id, struct spawn_args a)
{
	struct aib_ev_spawn e = {
		.hdr = hdr(AIB_EV_SPAWN, sizeof(e), tid, ts),
		.predicted_id = id,
		.parent_task = a.parent_task,
		.parent_task_id = a.parent_id,
		.file_addr = a.file_addr,
		.file_len = a.file_len,
		.line = a.line,
		.col = a.col,
		.flags = a.flags,
	};

	apply(c, &e.hdr);
}

static void poll_ev(struct ctx *c, __u16 kind, __u64 ts, __u32 tid, __u64 task, __u64 id,
		    __u32 depth, __u32 result)
{
	struct aib_ev_poll e = {
		.hdr = hdr(kind, sizeof(e), tid, ts),
		.task = task,
		.task_id = id,
		.state = 0x1234,
		.result = result,
		.depth = (__u16)depth,
		.runtime = (__u16)c->runtime,
	};

	apply(c, &e.hdr);
}

static void pbegin(struct ctx *c, __u64 ts, __u32 tid, __u64 task, __u64 id, __u32 depth)
{
	poll_ev(c, AIB_EV_POLL_BEGIN, ts, tid, task, id, depth, 0);
}

static void pend(struct ctx *c, __u64 ts, __u32 tid, __u64 task, __u64 id, __u32 depth,
		 __u32 result)
{
	poll_ev(c, AIB_EV_POLL_END, ts, tid, task, id, depth, result);
}

static void wake(struct ctx *c, __u64 ts, __u32 tid, __u64 task, __u64 id, __u64 waker,
		 __u64 waker_id)
{
	struct aib_ev_wake e = {
		.hdr = hdr(AIB_EV_WAKE, sizeof(e), tid, ts),
		.task = task,
		.task_id = id,
		.waker_task = waker,
		.waker_task_id = waker_id,
		.how = AIB_WAKE_BY_REF,
		.runtime = c->runtime,
	};

	apply(c, &e.hdr);
}

static void task_ev(struct ctx *c, __u16 kind, __u64 ts, __u32 tid, __u64 task, __u64 id)
{
	struct aib_ev_task e = {
		.hdr = hdr(kind, sizeof(e), tid, ts),
		.task = task,
		.task_id = id,
	};

	apply(c, &e.hdr);
}

static void process(struct ctx *c, __u64 ts, __u32 pid, __u32 flags, const char *exe)
{
	struct aib_rec_process r = {
		.hdr = hdr(AIB_REC_PROCESS, sizeof(r), 0, ts),
		.realtime_ns = 1700000000000000000ULL,
		.pid = pid,
		.runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO), .runtime_desc = "tokio",
		.poll_sites = 7,
		.flags = flags,
	};

	snprintf(r.exe, sizeof(r.exe), "%s", exe);
	apply(c, &r.hdr);
}

static void thread_name(struct ctx *c, __u64 ts, __u32 tid, const char *name)
{
	struct aib_rec_thread r = {.hdr = hdr(AIB_REC_THREAD, sizeof(r), tid, ts)};

	strncpy(r.name, name, sizeof(r.name));
	apply(c, &r.hdr);
}

static void lost(struct ctx *c, __u64 ts, __u64 nlost, __u64 ndropped)
{
	struct aib_rec_lost r = {
		.hdr = hdr(AIB_REC_LOST, sizeof(r), 0, ts),
		.lost = nlost,
		.dropped = ndropped,
	};

	apply(c, &r.hdr);
}

static void end(struct ctx *c, __u64 ts, __u32 reason)
{
	struct aib_rec_end r = {
		.hdr = hdr(AIB_REC_END, sizeof(r), 0, ts),
		.events = c->applied,
		.reason = reason,
	};

	apply(c, &r.hdr);
}

static struct task_info *task(struct ctx *c, size_t i)
{
	struct task_info *t = task_model__task(c->m, i);

	assert_non_null(t);
	return t;
}

/* Its scheduling delays (a single one lives in the task: one task at a time) */
static struct samples *sched_of(struct task_info *t)
{
	static struct samples one;

	return task_info__sched(t, &one);
}

static __u32 worker_of(const struct task_info *t, __u32 i)
{
	__u32 w[TASK_MAX_WORKERS];

	return i < task_info__workers(t, w) ? w[i] : 0;
}

static const struct model_summary *sum(struct ctx *c)
{
	return task_model__summary(c->m);
}

static void assert_wakes(const struct task_info *t, __u64 by_task, __u64 by_self, __u64 by_thread)
{
	assert_int_equal(t->wakes[WAKE_BY_TASK], by_task);
	assert_int_equal(t->wakes[WAKE_BY_SELF], by_self);
	assert_int_equal(t->wakes[WAKE_BY_THREAD], by_thread);
}

static void assert_sched(struct task_info *t, __u64 count, __u64 min, __u64 p50, __u64 p99, __u64 max)
{
	assert_int_equal(sched_of(t)->count, count);
	if (!count)
		return;
	assert_int_equal(sched_of(t)->min, min);
	assert_int_equal(samples__quantile(sched_of(t), 0.5), p50);
	assert_int_equal(samples__quantile(sched_of(t), 0.99), p99);
	assert_int_equal(sched_of(t)->max, max);
	assert_true(samples__exact(sched_of(t)));
}

#define H1 0x7f0000001000ULL
#define H2 0x7f0000002000ULL
#define H3 0x7f0000003000ULL
#define H4 0x7f0000004000ULL
#define H5 0x7f0000005000ULL
#define FILE_MAIN 0x55000010ULL
#define FILE_LIB 0x55000020ULL

static const struct spawn_args NO_LOC = {0};

/* ---- the tests ---- */

/*
 * spawn(1000) -> poll 1500..1800 Pending -> wake by a thread at 2800 ->
 * poll 2900..3300 Ready.
 *   busy  = 300 + 400 = 700        idle = 2800 - 1800 = 1000
 *   sched = {1500-1000, 2900-2800} = {500, 100}   runnable = 600
 */
static void test_full_lifecycle(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	location(c, 1000, FILE_MAIN, "src/main.rs");
	spawn(c, 1000, 100, 7,
	      (struct spawn_args){.parent_task = H4, .parent_id = 3, .file_addr = FILE_MAIN,
				  .file_len = 11, .line = 10, .col = 5,
				  .flags = AIB_SPAWN_HAS_LOCATION});
	pbegin(c, 1500, 101, H1, 7, 0);
	t = task(c, 0);
	assert_int_equal(t->state, TASK_RUNNING);
	pend(c, 1800, 101, H1, 7, 0, AIB_POLL_PENDING);
	assert_int_equal(t->state, TASK_IDLE);
	wake(c, 2800, 102, H1, 7, 0, 0);
	assert_int_equal(t->state, TASK_RUNNABLE);
	pbegin(c, 2900, 102, H1, 7, 0);
	pend(c, 3300, 102, H1, 7, 0, AIB_POLL_READY);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 1);
	t = task(c, 0);
	assert_int_equal(t->id, 7);
	assert_int_equal(t->header, H1);
	assert_int_equal(t->parent_id, 3);
	assert_non_null(t->location);
	assert_string_equal(t->location, "src/main.rs:10:5");
	assert_int_equal(t->kind, TASK_ASYNC);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_true(t->spawn_seen);
	assert_false(t->cancelled);
	assert_int_equal(t->spawn_ts, 1000);
	assert_int_equal(t->end_ts, 3300);
	assert_int_equal(t->last_poll_end_ts, 3300);
	assert_int_equal(t->polls, 2);
	assert_int_equal(t->busy_ns, 700);
	assert_int_equal(t->idle_ns, 1000);
	assert_int_equal(t->runnable_ns, 600);
	assert_sched(t, 2, 100, 100, 500, 500);
	assert_int_equal(sched_of(t)->sum, 600);
	assert_wakes(t, 0, 0, 1);
	assert_int_equal(t->nworkers, 2);
	assert_int_equal(worker_of(t, 0), 101);
	assert_int_equal(worker_of(t, 1), 102);

	assert_int_equal(sum(c)->tasks_spawned, 1);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->tasks_alive, 0);
	assert_int_equal(sum(c)->runtime_tasks, 0);
	assert_int_equal(sum(c)->polls, 2);
	assert_int_equal(sum(c)->wakes, 1);
	assert_int_equal(sum(c)->events, 7);
	assert_int_equal(sum(c)->anomalies, 0);
	assert_int_equal(sum(c)->start_ts, 1000); /* no process record: first task */
	assert_int_equal(sum(c)->end_ts, 3300);	  /* no end record: last event */
	assert_false(sum(c)->ended_cleanly);
}

/* Spawn locations: interned per (file, line, col), unknown file by address,
 * none without the flag; spawn_blocking / spawn_local kinds. */
static void test_locations_and_kinds(void **state)
{
	struct ctx *c = *state;

	location(c, 10, FILE_MAIN, "src/main.rs");
	location(c, 11, FILE_MAIN, "IGNORED: a file is defined once");
	location(c, 12, FILE_LIB, "src/lib.rs");
	spawn(c, 100, 1, 1, (struct spawn_args){.file_addr = FILE_MAIN, .line = 3, .col = 9,
						 .flags = AIB_SPAWN_HAS_LOCATION});
	spawn(c, 101, 1, 2, (struct spawn_args){.file_addr = FILE_MAIN, .line = 3, .col = 9,
						 .flags = AIB_SPAWN_HAS_LOCATION | AIB_SPAWN_BLOCKING});
	spawn(c, 102, 1, 3, (struct spawn_args){.file_addr = FILE_LIB, .line = 44, .col = 1,
						 .flags = AIB_SPAWN_HAS_LOCATION | AIB_SPAWN_LOCAL});
	spawn(c, 103, 1, 4, (struct spawn_args){.file_addr = 0xdead0, .line = 1, .col = 2,
						 .flags = AIB_SPAWN_HAS_LOCATION});
	/* a file address but no location flag: no location */
	spawn(c, 104, 1, 5, (struct spawn_args){.file_addr = FILE_MAIN, .line = 8, .col = 8});
	pbegin(c, 200, 2, H1, 1, 0);
	pbegin(c, 210, 3, H2, 2, 0);
	pbegin(c, 220, 4, H3, 3, 0);
	pbegin(c, 230, 5, H4, 4, 0);
	pbegin(c, 240, 6, H4 + 64, 5, 0);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 5);
	assert_string_equal(task(c, 0)->location, "src/main.rs:3:9");
	assert_string_equal(task(c, 1)->location, "src/main.rs:3:9");
	assert_ptr_equal(task(c, 0)->location, task(c, 1)->location); /* interned */
	assert_string_equal(task(c, 2)->location, "src/lib.rs:44:1");
	assert_string_equal(task(c, 3)->location, "<file@0xdead0>:1:2");
	assert_null(task(c, 4)->location);
	assert_int_equal(task(c, 0)->kind, TASK_ASYNC);
	assert_int_equal(task(c, 1)->kind, TASK_BLOCKING);
	assert_int_equal(task(c, 2)->kind, TASK_LOCAL);
	assert_string_equal(task_kind_name(task(c, 1)->kind), "blocking");
	assert_string_equal(task_kind_name(task(c, 2)->kind), "local");
	assert_string_equal(task_state_name(TASK_RUNNABLE), "runnable");
	assert_string_equal(task_state_name(TASK_COMPLETED), "completed");
	for (size_t i = 0; i < 5; i++) {
		assert_true(task(c, i)->spawn_seen);
		assert_int_equal(task(c, i)->id, i + 1);
		assert_int_equal(task(c, i)->state, TASK_RUNNING);
		/* still inside the first poll at the end: busy up to the last event */
		assert_int_equal(task(c, i)->busy_ns, 240 - (200 + 10 * i));
		assert_int_equal(sched_of(task(c, i))->count, 1);
		assert_int_equal(sched_of(task(c, i))->min, (200 + 10 * i) - (100 + i));
	}
	assert_int_equal(sum(c)->tasks_alive, 5);
}

/*
 * A self-wake during a poll, then a NOTIFIED end: runnable from the end of
 * that poll, so the next sched delay runs from the poll end, not the wake.
 *   spawn 100; poll 200..300 (self-wake at 250) Notified; poll 450..500 Pending
 *   sched = {100, 150}; busy 150; alive, idle 500..1000 at finish(1000)
 */
static void test_self_wake_notified(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	spawn(c, 100, 10, 1, NO_LOC);
	pbegin(c, 200, 11, H1, 1, 0);
	wake(c, 250, 11, H1, 1, H1, 1);
	t = task(c, 0);
	assert_int_equal(t->state, TASK_RUNNING); /* a wake does not stop a poll */
	pend(c, 300, 11, H1, 1, 0, AIB_POLL_NOTIFIED);
	assert_int_equal(t->state, TASK_RUNNABLE);
	pbegin(c, 450, 11, H1, 1, 0);
	pend(c, 500, 11, H1, 1, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 1000);

	t = task(c, 0);
	assert_int_equal(t->state, TASK_IDLE);
	assert_wakes(t, 0, 1, 0);
	assert_sched(t, 2, 100, 100, 150, 150);
	assert_int_equal(t->runnable_ns, 250);
	assert_int_equal(t->busy_ns, 150);
	assert_int_equal(t->idle_ns, 500);
	assert_int_equal(t->polls, 2);
	assert_int_equal(t->end_ts, 0);
	assert_int_equal(t->nworkers, 1);
	assert_int_equal(sum(c)->tasks_alive, 1);
	assert_int_equal(sum(c)->tasks_completed, 0);
	assert_int_equal(sum(c)->end_ts, 1000);
}

/*
 * B (first seen) idles from 20; A, polled on another thread, wakes B at 130.
 *   B: idle 110, sched {40} (first poll of a first-seen task gives none)
 */
static void test_wake_by_other_task(void **state)
{
	struct ctx *c = *state;
	struct task_info *a, *b;

	pbegin(c, 10, 6, H2, 2, 0);
	pend(c, 20, 6, H2, 2, 0, AIB_POLL_PENDING);
	pbegin(c, 100, 5, H1, 1, 0);
	wake(c, 130, 5, H2, 2, H1, 1);
	pend(c, 150, 5, H1, 1, 0, AIB_POLL_PENDING);
	pbegin(c, 170, 6, H2, 2, 0);
	pend(c, 180, 6, H2, 2, 0, AIB_POLL_READY);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 2);
	b = task(c, 0);
	a = task(c, 1);
	assert_int_equal(b->id, 2);
	assert_int_equal(a->id, 1);
	assert_wakes(b, 1, 0, 0);
	assert_wakes(a, 0, 0, 0);
	assert_int_equal(b->idle_ns, 110);
	assert_sched(b, 1, 40, 40, 40, 40);
	assert_int_equal(b->runnable_ns, 40);
	assert_int_equal(b->busy_ns, 20);
	assert_int_equal(b->state, TASK_COMPLETED);
	assert_int_equal(b->end_ts, 180);
	/* A: idle from 150 to the last event (180) */
	assert_int_equal(a->state, TASK_IDLE);
	assert_int_equal(a->idle_ns, 30);
	assert_int_equal(a->busy_ns, 50);
	assert_int_equal(sum(c)->wakes, 1);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->tasks_alive, 1);
}

/* Who woke a task last: another task (its id), a thread outside any task,
 * or itself; and the thread it came from. */
static void test_last_wake(void **state)
{
	struct ctx *c = *state;
	enum wake_kind kind;
	__u64 id;
	__u32 tid;

	pbegin(c, 10, 6, H2, 2, 0);
	pend(c, 20, 6, H2, 2, 0, AIB_POLL_PENDING);
	assert_false(task_info__last_wake(task(c, 0), &kind, &id, &tid));
	pbegin(c, 100, 5, H1, 1, 0);
	wake(c, 130, 5, H2, 2, H1, 1);
	pend(c, 150, 5, H1, 1, 0, AIB_POLL_PENDING);
	assert_true(task_info__last_wake(task(c, 0), &kind, &id, &tid));
	assert_int_equal(kind, WAKE_BY_TASK);
	assert_int_equal(id, 1);
	assert_int_equal(tid, 5);
	pbegin(c, 170, 6, H2, 2, 0);
	wake(c, 175, 6, H2, 2, H2, 2); /* a yield */
	pend(c, 180, 6, H2, 2, 0, AIB_POLL_PENDING);
	assert_true(task_info__last_wake(task(c, 0), &kind, &id, &tid));
	assert_int_equal(kind, WAKE_BY_SELF);
	assert_int_equal(id, 2);
	wake(c, 200, 9, H2, 2, 0, 0); /* a timer's thread */
	assert_true(task_info__last_wake(task(c, 0), &kind, &id, &tid));
	assert_int_equal(kind, WAKE_BY_THREAD);
	assert_int_equal(id, 0);
	assert_int_equal(tid, 9);
}

/* A wake naming a waker with another id at the same header (a stale waker
 * identity) is still a wake by a task, not by itself. */
static void test_wake_same_header_other_id_not_self(void **state)
{
	struct ctx *c = *state;

	pbegin(c, 10, 6, H1, 2, 0);
	pend(c, 20, 6, H1, 2, 0, AIB_POLL_PENDING);
	wake(c, 30, 7, H1, 2, H1, 99);
	task_model__finish(c->m, 0);
	assert_wakes(task(c, 0), 1, 0, 0);
}

/*
 * Alive at the end: the END record closes the session (finish(0)); idle and
 * runnable intervals are open up to it, a running task is busy up to it.
 */
static void test_alive_at_end(void **state)
{
	struct ctx *c = *state;
	struct task_info *idle, *runnable, *running;

	process(c, 50, 4242, AIB_PROC_SPAWN_LOCATIONS, "/bin/app");
	spawn(c, 100, 1, 1, NO_LOC);
	spawn(c, 110, 1, 2, NO_LOC);
	spawn(c, 120, 1, 3, NO_LOC);
	pbegin(c, 200, 2, H1, 1, 0);
	pend(c, 260, 2, H1, 1, 0, AIB_POLL_PENDING); /* idle from 260 */
	pbegin(c, 300, 2, H2, 2, 0);
	pend(c, 310, 2, H2, 2, 0, AIB_POLL_PENDING);
	wake(c, 400, 3, H2, 2, 0, 0); /* runnable from 400 */
	pbegin(c, 500, 4, H3, 3, 0);  /* running from 500 */
	end(c, 2000, AIB_END_DURATION);
	task_model__finish(c->m, 0);

	idle = task(c, 0);
	runnable = task(c, 1);
	running = task(c, 2);
	assert_int_equal(sum(c)->end_ts, 2000);
	assert_int_equal(sum(c)->start_ts, 50);
	assert_true(sum(c)->ended_cleanly);
	assert_int_equal(sum(c)->end_reason, AIB_END_DURATION);

	assert_int_equal(idle->state, TASK_IDLE);
	assert_int_equal(idle->idle_ns, 2000 - 260);
	assert_int_equal(idle->busy_ns, 60);
	assert_int_equal(idle->end_ts, 0);

	assert_int_equal(runnable->state, TASK_RUNNABLE);
	assert_int_equal(runnable->idle_ns, 90);
	/* spawn->poll 190, then 400 -> end 1600 open (no sample for it) */
	assert_int_equal(runnable->runnable_ns, 190 + 1600);
	assert_sched(runnable, 1, 190, 190, 190, 190);

	assert_int_equal(running->state, TASK_RUNNING);
	assert_int_equal(running->busy_ns, 1500);
	assert_int_equal(running->runnable_ns, 380);

	assert_int_equal(sum(c)->tasks_spawned, 3);
	assert_int_equal(sum(c)->tasks_alive, 3);
	assert_int_equal(sum(c)->tasks_completed, 0);
}

/* An explicit finish time earlier than the last event is moved up to it. */
static void test_finish_never_before_last_event(void **state)
{
	struct ctx *c = *state;

	pbegin(c, 100, 2, H1, 1, 0);
	pend(c, 300, 2, H1, 1, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 200);
	assert_int_equal(sum(c)->end_ts, 300);
	assert_int_equal(task(c, 0)->idle_ns, 0);
	assert_int_equal(task(c, 0)->busy_ns, 200);
	task_model__finish(c->m, 5000); /* once only: a second call changes nothing */
	assert_int_equal(sum(c)->end_ts, 300);
	assert_int_equal(task(c, 0)->idle_ns, 0);
}

/*
 * First sight: no spawn record. Its first poll gives no sched sample, its
 * time before first sight is charged to nothing.
 */
static void test_first_sight(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	pbegin(c, 5000, 9, H1, 42, 0);
	t = task(c, 0);
	assert_false(t->spawn_seen);
	assert_null(t->location);
	assert_int_equal(t->spawn_ts, 5000);
	assert_int_equal(t->state, TASK_RUNNING);
	pend(c, 5100, 9, H1, 42, 0, AIB_POLL_PENDING);
	assert_int_equal(t->state, TASK_IDLE);
	wake(c, 5400, 8, H1, 42, 0, 0);
	assert_int_equal(t->state, TASK_RUNNABLE);
	pbegin(c, 5470, 9, H1, 42, 0);
	pend(c, 5500, 9, H1, 42, 0, AIB_POLL_READY);
	task_model__finish(c->m, 0);

	t = task(c, 0);
	assert_int_equal(t->id, 42);
	assert_false(t->spawn_seen);
	assert_null(t->location);
	assert_int_equal(t->parent_id, 0);
	assert_int_equal(t->kind, TASK_ASYNC);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_int_equal(t->polls, 2);
	assert_sched(t, 1, 70, 70, 70, 70);
	assert_int_equal(t->runnable_ns, 70);
	assert_int_equal(t->idle_ns, 300);
	assert_int_equal(t->busy_ns, 130);
	assert_int_equal(t->end_ts, 5500);
	assert_int_equal(sum(c)->tasks_spawned, 1);
	assert_int_equal(sum(c)->start_ts, 5000);
}

/* First sight through a wake: the wake is seen, so the next poll is a delay. */
static void test_first_sight_by_wake(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	wake(c, 100, 8, H1, 5, 0, 0);
	pbegin(c, 180, 9, H1, 5, 0);
	task_model__finish(c->m, 0);
	t = task(c, 0);
	assert_false(t->spawn_seen);
	assert_int_equal(t->spawn_ts, 100);
	assert_wakes(t, 0, 0, 1);
	assert_sched(t, 1, 80, 80, 80, 80);
	assert_int_equal(t->idle_ns, 0);
}

/* A record whose task id could not be read (0) belongs to the task at its
 * header; a task first seen without an id takes the id of a later record. */
static void test_unknown_ids(void **state)
{
	struct ctx *c = *state;

	pbegin(c, 100, 2, H1, 7, 0);
	pend(c, 150, 2, H1, 7, 0, AIB_POLL_PENDING);
	wake(c, 200, 3, H1, 0, 0, 0);
	pbegin(c, 300, 2, H2, 0, 0);
	pend(c, 320, 2, H2, 0, 0, AIB_POLL_PENDING);
	wake(c, 400, 3, H2, 9, 0, 0);
	pbegin(c, 450, 2, H2, 9, 0);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 2);
	assert_int_equal(task(c, 0)->id, 7);
	assert_wakes(task(c, 0), 0, 0, 1);
	assert_int_equal(task(c, 0)->state, TASK_RUNNABLE);
	assert_int_equal(task(c, 0)->idle_ns, 50);
	assert_int_equal(task(c, 1)->id, 9);
	assert_int_equal(task(c, 1)->polls, 2);
	assert_int_equal(task(c, 1)->idle_ns, 80);
	assert_sched(task(c, 1), 1, 50, 50, 50, 50);
	assert_int_equal(sum(c)->tasks_spawned, 2);
}

/* A header reused after the first task there showed READY. */
static void test_header_reuse_after_ready(void **state)
{
	struct ctx *c = *state;
	struct task_info *a, *b;

	spawn(c, 50, 1, 1, NO_LOC);
	spawn(c, 60, 1, 2, NO_LOC);
	pbegin(c, 100, 2, H1, 1, 0);
	pend(c, 200, 2, H1, 1, 0, AIB_POLL_READY);
	pbegin(c, 300, 3, H1, 2, 0);
	pend(c, 350, 3, H1, 2, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 2);
	a = task(c, 0);
	b = task(c, 1);
	assert_int_equal(a->id, 1);
	assert_int_equal(b->id, 2);
	assert_int_equal(a->header, H1);
	assert_int_equal(b->header, H1);
	assert_int_equal(a->state, TASK_COMPLETED);
	assert_int_equal(a->end_ts, 200);
	assert_int_equal(a->polls, 1);
	assert_int_equal(a->busy_ns, 100);
	assert_int_equal(b->state, TASK_IDLE);
	assert_int_equal(b->polls, 1);
	assert_int_equal(b->busy_ns, 50);
	assert_true(b->spawn_seen);
	assert_sched(b, 1, 240, 240, 240, 240);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->tasks_alive, 1);
	assert_int_equal(sum(c)->anomalies, 0);
}

/* A header reused without the first task ever showing READY: a new id at
 * the header ends the old task at its last sign of life. */
static void test_header_reuse_without_ready(void **state)
{
	struct ctx *c = *state;
	struct task_info *a, *b, *x, *y;

	/* A idles from 200; B shows up at the same header at 900 */
	pbegin(c, 100, 2, H1, 1, 0);
	pend(c, 200, 2, H1, 1, 0, AIB_POLL_PENDING);
	pbegin(c, 900, 2, H1, 2, 0);
	a = task(c, 0);
	assert_int_equal(a->state, TASK_COMPLETED);
	assert_int_equal(a->end_ts, 200);
	assert_int_equal(a->idle_ns, 0); /* not 700: it was gone */

	/* X was woken (runnable from 1300) before Y took its header */
	pbegin(c, 1000, 2, H2, 10, 0);
	pend(c, 1100, 2, H2, 10, 0, AIB_POLL_PENDING);
	wake(c, 1300, 3, H2, 10, 0, 0);
	wake(c, 1600, 3, H2, 11, 0, 0); /* a wake for a new id at H2 */
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 4);
	a = task(c, 0);
	b = task(c, 1);
	x = task(c, 2);
	y = task(c, 3);
	assert_int_equal(b->id, 2);
	assert_int_equal(b->state, TASK_RUNNING);
	assert_int_equal(x->id, 10);
	assert_int_equal(x->state, TASK_COMPLETED);
	assert_int_equal(x->end_ts, 1300);
	assert_int_equal(x->idle_ns, 200);
	assert_int_equal(x->runnable_ns, 0);
	assert_int_equal(y->id, 11);
	assert_int_equal(y->header, H2);
	assert_int_equal(y->state, TASK_RUNNABLE);
	assert_wakes(y, 0, 0, 1);
	assert_int_equal(sum(c)->tasks_completed, 2);
	assert_int_equal(sum(c)->tasks_alive, 2);
}

/* DEALLOC ends an idle task and frees its header for reuse; a DEALLOC that
 * names no live task (unknown header, or another id there) changes nothing. */
static void test_dealloc(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	pbegin(c, 100, 2, H1, 1, 0);
	pend(c, 200, 2, H1, 1, 0, AIB_POLL_PENDING);
	task_ev(c, AIB_EV_DEALLOC, 700, 3, H1, 1);
	t = task(c, 0);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_int_equal(t->end_ts, 700);
	assert_int_equal(t->idle_ns, 500);
	assert_false(t->cancelled);
	/* the header is free: the next task there is a new one */
	pbegin(c, 800, 2, H1, 2, 0);
	assert_int_equal(task_model__task_count(c->m), 2);
	/* a dealloc for an unknown task, or the wrong id, changes nothing */
	task_ev(c, AIB_EV_DEALLOC, 850, 3, H3, 9);
	task_ev(c, AIB_EV_DEALLOC, 860, 3, H1, 77);
	assert_int_equal(task(c, 1)->state, TASK_RUNNING);
	task_model__finish(c->m, 0);
	assert_int_equal(task_model__task_count(c->m), 2);
	assert_int_equal(task(c, 1)->busy_ns, 60);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->tasks_alive, 1);
}

/* With task ids unknown (0), the header alone identifies a task: DEALLOC must
 * free it, or the next task there would be taken for the freed one. */
static void test_dealloc_unknown_ids(void **state)
{
	struct ctx *c = *state;

	pbegin(c, 100, 2, H1, 0, 0);
	pend(c, 200, 2, H1, 0, 0, AIB_POLL_READY);
	task_ev(c, AIB_EV_DEALLOC, 250, 3, H1, 0);
	pbegin(c, 300, 2, H1, 0, 0);
	pend(c, 330, 2, H1, 0, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 0);
	assert_int_equal(task_model__task_count(c->m), 2);
	assert_int_equal(task(c, 0)->end_ts, 200);
	assert_int_equal(task(c, 1)->state, TASK_IDLE);
	assert_int_equal(task(c, 1)->busy_ns, 30);
	assert_int_equal(sum(c)->anomalies, 0);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->tasks_alive, 1);
}

static void test_shutdown_idle(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	pbegin(c, 100, 2, H1, 1, 0);
	pend(c, 200, 2, H1, 1, 0, AIB_POLL_PENDING);
	task_ev(c, AIB_EV_SHUTDOWN, 400, 3, H1, 1);
	t = task(c, 0);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_true(t->cancelled);
	assert_int_equal(t->end_ts, 400);
	assert_int_equal(t->idle_ns, 200);
	/* the dealloc that follows does not move the end */
	task_ev(c, AIB_EV_DEALLOC, 450, 3, H1, 1);
	task_model__finish(c->m, 0);
	t = task(c, 0);
	assert_int_equal(t->end_ts, 400);
	assert_int_equal(t->idle_ns, 200);
	assert_true(t->cancelled);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->anomalies, 0);
}

/* SHUTDOWN while the task is polled: it stays running until its poll ends. */
static void test_shutdown_while_running(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	spawn(c, 50, 1, 1, NO_LOC);
	pbegin(c, 100, 2, H1, 1, 0);
	task_ev(c, AIB_EV_SHUTDOWN, 150, 3, H1, 1);
	t = task(c, 0);
	assert_int_equal(t->state, TASK_RUNNING);
	assert_true(t->cancelled);
	assert_int_equal(t->end_ts, 0);
	pend(c, 300, 2, H1, 1, 0, AIB_POLL_READY);
	task_model__finish(c->m, 0);
	t = task(c, 0);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_true(t->cancelled);
	assert_int_equal(t->end_ts, 300);
	assert_int_equal(t->busy_ns, 200);
	assert_int_equal(sum(c)->anomalies, 0);
}

/* A shutdown of a task that already completed does not mark it cancelled. */
static void test_shutdown_after_ready_not_cancelled(void **state)
{
	struct ctx *c = *state;

	pbegin(c, 100, 2, H1, 1, 0);
	pend(c, 200, 2, H1, 1, 0, AIB_POLL_READY);
	task_ev(c, AIB_EV_SHUTDOWN, 300, 3, H1, 1);
	task_model__finish(c->m, 0);
	assert_false(task(c, 0)->cancelled);
	assert_int_equal(task(c, 0)->end_ts, 200);
}

/*
 * Nested polls on one thread: tokio runs a worker inside a blocking task
 * (R, spawned by spawn_blocking) and polls user tasks inside its poll.
 *   R: spawn_blocking 10, polled from 20 (depth 0) on tid 20
 *   T: polled 30..40 (depth 1) Pending; woken at 50 while only R is on the
 *      stack (by thread); polled 60..70 Ready
 *   U: woken by T during T's first poll (by task)
 */
static void test_nested_runtime_task(void **state)
{
	struct ctx *c = *state;
	struct task_info *r, *t, *u;

	spawn(c, 10, 1, 1, (struct spawn_args){.flags = AIB_SPAWN_BLOCKING});
	spawn(c, 12, 1, 2, NO_LOC);
	pbegin(c, 15, 21, H3, 3, 0); /* U, first seen on another thread */
	pend(c, 16, 21, H3, 3, 0, AIB_POLL_PENDING);
	pbegin(c, 20, 20, H1, 1, 0);
	r = task(c, 1);
	assert_int_equal(r->id, 1);
	assert_int_equal(r->kind, TASK_BLOCKING);
	pbegin(c, 30, 20, H2, 2, 1);
	r = task(c, 1);
	assert_int_equal(r->kind, TASK_RUNTIME);
	wake(c, 35, 20, H3, 3, H2, 2);
	pend(c, 40, 20, H2, 2, 1, AIB_POLL_PENDING);
	wake(c, 50, 20, H2, 2, H1, 1);
	pbegin(c, 60, 20, H2, 2, 1);
	pend(c, 70, 20, H2, 2, 1, AIB_POLL_READY);
	task_model__finish(c->m, 100);

	assert_int_equal(task_model__task_count(c->m), 3);
	u = task(c, 0);
	r = task(c, 1);
	t = task(c, 2);
	assert_int_equal(r->kind, TASK_RUNTIME);
	assert_int_equal(r->state, TASK_RUNNING);
	assert_int_equal(r->busy_ns, 80);
	assert_int_equal(t->id, 2);
	assert_int_equal(t->kind, TASK_ASYNC);
	assert_wakes(t, 0, 0, 1);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_int_equal(t->busy_ns, 20);
	assert_int_equal(t->idle_ns, 10);
	assert_sched(t, 2, 10, 10, 18, 18); /* {30-12, 60-50} */
	assert_wakes(u, 1, 0, 0);
	assert_int_equal(u->state, TASK_RUNNABLE);

	assert_int_equal(sum(c)->runtime_tasks, 1);
	assert_int_equal(sum(c)->tasks_spawned, 2); /* T and U, not R */
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->tasks_alive, 1);
	assert_int_equal(sum(c)->wakes, 2);
}

/* Only a blocking task becomes a carrier by nesting: a first-seen outer task
 * (attached late) and a spawned async task that polls others inside its poll
 * (a LocalSet run inside it) are user work and stay listed. */
static void test_nested_outer_kinds(void **state)
{
	struct ctx *c = *state;

	pbegin(c, 10, 20, H1, 1, 0);	/* first seen, never spawned in the session */
	pbegin(c, 20, 20, H2, 2, 1);
	pend(c, 30, 20, H2, 2, 1, AIB_POLL_PENDING);
	spawn(c, 40, 30, 3, NO_LOC);
	pbegin(c, 50, 30, H3, 3, 0);	/* a spawned async task */
	pbegin(c, 60, 30, H4, 4, 1);	/* its spawn_local child, nested */
	pend(c, 70, 30, H4, 4, 1, AIB_POLL_PENDING);
	pend(c, 80, 30, H3, 3, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 0);

	assert_int_equal(task(c, 0)->kind, TASK_ASYNC);
	assert_int_equal(task(c, 1)->kind, TASK_ASYNC);
	assert_int_equal(task(c, 2)->kind, TASK_ASYNC);
	assert_int_equal(task(c, 2)->id, 3);
	assert_int_equal(task(c, 3)->kind, TASK_ASYNC);
	assert_int_equal(sum(c)->runtime_tasks, 0);
	assert_int_equal(sum(c)->tasks_spawned, 4);
}

/* No spawn probes, no worker start (a stripped binary run from its start):
 * a thread's first task, with a task polled inside its poll, is that
 * worker's carrier; a later task with one inside (a LocalSet driven from
 * it) is no carrier. test_nested_outer_kinds: not so with spawn probes. */
static void test_carrier_without_symbols(void **state)
{
	struct ctx *c = *state;

	process(c, 5, 77, 0, "/srv/app");
	pbegin(c, 10, 40, H1, 1, 0);	/* the worker's carrier */
	pbegin(c, 20, 40, H2, 2, 1);
	pend(c, 30, 40, H2, 2, 1, AIB_POLL_READY);
	pbegin(c, 40, 41, H3, 3, 0);	/* another thread: a task, then one driving a LocalSet */
	pend(c, 50, 41, H3, 3, 0, AIB_POLL_READY);
	pbegin(c, 60, 41, H4, 4, 0);
	pbegin(c, 70, 41, H5, 5, 1);
	pend(c, 80, 41, H5, 5, 1, AIB_POLL_READY);
	pend(c, 90, 41, H4, 4, 0, AIB_POLL_READY);
	task_model__finish(c->m, 100);

	assert_int_equal(task(c, 0)->kind, TASK_RUNTIME);
	for (int i = 1; i < 5; i++)
		assert_int_equal(task(c, i)->kind, TASK_ASYNC);
	assert_int_equal(sum(c)->runtime_tasks, 1);
}

/* Spawns seen by structure (a stripped binary) do not say which are
 * spawn_blocking: a thread's first task with a poll nested in it is still
 * its carrier, and the tasks spawned stay the program's. */
static void test_carrier_spawns_by_structure(void **state)
{
	struct ctx *c = *state;

	process(c, 5, 77, AIB_PROC_SPAWN_LOCATIONS | AIB_PROC_NO_SPAWN_KINDS, "/srv/app");
	spawn(c, 6, 39, 1, (struct spawn_args){0});	/* the worker's launch (spawn_blocking) */
	spawn(c, 7, 39, 2, (struct spawn_args){0});
	pbegin(c, 10, 40, H1, 1, 0);
	pbegin(c, 20, 40, H2, 2, 1);
	pend(c, 30, 40, H2, 2, 1, AIB_POLL_READY);
	task_model__finish(c->m, 100);

	assert_int_equal(task(c, 0)->kind, TASK_RUNTIME);
	assert_int_equal(task(c, 1)->kind, TASK_ASYNC);
	assert_true(task(c, 1)->spawn_seen);
	assert_int_equal(sum(c)->runtime_tasks, 1);
	assert_int_equal(sum(c)->tasks_spawned, 1);
}

/* A worker loop starting inside a task's poll marks that task as the
 * worker's carrier even before any task is polled inside it. */
static void test_worker_start_marks_carrier(void **state)
{
	struct ctx *c = *state;
	struct aib_ev_worker w = {.hdr = {.kind = AIB_EV_WORKER_START, .size = sizeof(w), .tid = 40, .ts = 15}};

	pbegin(c, 10, 40, H1, 1, 0);	/* first seen: the carrier's poll */
	task_model__apply(c->m, &w.hdr);
	c->applied++;
	pbegin(c, 20, 41, H2, 2, 0);	/* a user task on another thread */
	pend(c, 30, 41, H2, 2, 0, AIB_POLL_READY);
	task_model__finish(c->m, 100);

	assert_int_equal(task(c, 0)->kind, TASK_RUNTIME);
	assert_int_equal(task(c, 1)->kind, TASK_ASYNC);
	assert_int_equal(sum(c)->runtime_tasks, 1);
	assert_int_equal(sum(c)->tasks_spawned, 1);
	assert_int_equal(sum(c)->polls, 1); /* the carrier's poll is not user work */
}

/* After a poll ends, its frame is gone: a nested poll whose outer begin was
 * lost does not make the previous, finished outer task a carrier. */
static void test_nested_stale_frame(void **state)
{
	struct ctx *c = *state;

	pbegin(c, 10, 20, H1, 1, 0);
	pend(c, 20, 20, H1, 1, 0, AIB_POLL_PENDING);
	pbegin(c, 30, 20, H2, 2, 1); /* depth 1 with nothing at depth 0 */
	pend(c, 40, 20, H2, 2, 1, AIB_POLL_PENDING);
	task_model__finish(c->m, 0);
	assert_int_equal(task(c, 0)->kind, TASK_ASYNC);
	assert_int_equal(task(c, 1)->kind, TASK_ASYNC);
	assert_int_equal(sum(c)->runtime_tasks, 0);
	assert_int_equal(sum(c)->tasks_spawned, 2);
}

/*
 * #[track_caller] wrappers: the outer and inner spawn functions both fire
 * for one call (same thread, same predicted id): one task, the first record's
 * time and location. A spawn never polled shows up after finish, runnable.
 */
static void test_duplicate_spawn_and_unpolled(void **state)
{
	struct ctx *c = *state;
	struct task_info *t, *u;

	location(c, 100, FILE_MAIN, "src/main.rs");
	spawn(c, 100, 5, 9, (struct spawn_args){.file_addr = FILE_MAIN, .line = 20, .col = 4,
						 .flags = AIB_SPAWN_HAS_LOCATION, .parent_id = 1});
	spawn(c, 105, 5, 9, (struct spawn_args){.file_addr = FILE_MAIN, .line = 99, .col = 1,
						 .flags = AIB_SPAWN_HAS_LOCATION});
	pbegin(c, 200, 6, H1, 9, 0);
	pend(c, 250, 6, H1, 9, 0, AIB_POLL_READY);
	spawn(c, 300, 5, 11, (struct spawn_args){.file_addr = FILE_MAIN, .line = 30, .col = 2,
						  .flags = AIB_SPAWN_HAS_LOCATION | AIB_SPAWN_BLOCKING,
						  .parent_id = 9});
	task_model__finish(c->m, 1000);

	assert_int_equal(task_model__task_count(c->m), 2);
	t = task(c, 0);
	assert_int_equal(t->id, 9);
	assert_int_equal(t->spawn_ts, 100);
	assert_string_equal(t->location, "src/main.rs:20:4");
	assert_int_equal(t->parent_id, 1);
	assert_sched(t, 1, 100, 100, 100, 100);

	u = task(c, 1);
	assert_int_equal(u->id, 11);
	assert_true(u->spawn_seen);
	assert_int_equal(u->state, TASK_RUNNABLE);
	assert_int_equal(u->polls, 0);
	assert_int_equal(u->kind, TASK_BLOCKING);
	assert_int_equal(u->spawn_ts, 300);
	assert_int_equal(u->parent_id, 9);
	assert_string_equal(u->location, "src/main.rs:30:2");
	assert_int_equal(u->runnable_ns, 700);
	assert_int_equal(sched_of(u)->count, 0);
	assert_int_equal(u->end_ts, 0);

	assert_int_equal(sum(c)->tasks_spawned, 2);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(sum(c)->tasks_alive, 1);
	assert_int_equal(sum(c)->polls, 1);
}

/*
 * Spawned, never polled, then shut down and freed (the runtime dropped with
 * the task still queued; recorded from a real tokio 1.24 program: SPAWN,
 * SHUTDOWN, DEALLOC and no poll). The task is cancelled and completed, not
 * left runnable and alive.
 */
static void test_shutdown_before_first_poll(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	spawn(c, 100, 5, 1, NO_LOC);
	spawn(c, 110, 5, 2, NO_LOC);
	task_ev(c, AIB_EV_SHUTDOWN, 300, 5, H1, 1);
	task_ev(c, AIB_EV_DEALLOC, 310, 5, H1, 1);
	task_ev(c, AIB_EV_DEALLOC, 320, 5, H2, 2); /* freed without a shutdown */
	task_ev(c, AIB_EV_SHUTDOWN, 330, 5, H3, 3); /* never spawned in the session */
	task_model__finish(c->m, 1000);

	assert_int_equal(task_model__task_count(c->m), 2);
	t = task(c, 0);
	assert_int_equal(t->id, 1);
	assert_int_equal(t->header, H1);
	assert_true(t->spawn_seen);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_true(t->cancelled);
	assert_int_equal(t->end_ts, 300);
	assert_int_equal(t->polls, 0);
	assert_int_equal(t->runnable_ns, 200);
	assert_int_equal(sched_of(t)->count, 0);
	t = task(c, 1);
	assert_int_equal(t->id, 2);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_false(t->cancelled);
	assert_int_equal(t->end_ts, 320);
	assert_int_equal(t->runnable_ns, 210);
	assert_int_equal(sum(c)->tasks_spawned, 2);
	assert_int_equal(sum(c)->tasks_completed, 2);
	assert_int_equal(sum(c)->tasks_alive, 0);
}

/* Two threads predicting the same id: the later call got the next id. */
static void test_spawn_race(void **state)
{
	struct ctx *c = *state;

	location(c, 1, FILE_MAIN, "src/main.rs");
	spawn(c, 100, 5, 20, (struct spawn_args){.file_addr = FILE_MAIN, .line = 1, .col = 1,
						  .flags = AIB_SPAWN_HAS_LOCATION});
	spawn(c, 101, 6, 20, (struct spawn_args){.file_addr = FILE_MAIN, .line = 2, .col = 2,
						  .flags = AIB_SPAWN_HAS_LOCATION});
	pbegin(c, 200, 7, H2, 21, 0);
	pbegin(c, 210, 8, H1, 20, 0);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 2);
	assert_int_equal(task(c, 0)->id, 21);
	assert_int_equal(task(c, 0)->spawn_ts, 101);
	assert_string_equal(task(c, 0)->location, "src/main.rs:2:2");
	assert_int_equal(task(c, 1)->id, 20);
	assert_int_equal(task(c, 1)->spawn_ts, 100);
	assert_string_equal(task(c, 1)->location, "src/main.rs:1:1");
}

static void spawn_id(struct ctx *c, __u64 ts, __u32 tid, __u64 predicted, __u64 id)
{
	struct aib_ev_spawn_id e = {
		.hdr = hdr(AIB_EV_SPAWN_ID, sizeof(e), tid, ts),
		.predicted_id = predicted,
		.id = id,
	};

	apply(c, &e.hdr);
}

/* The same race, the other way round: thread 5 called first but thread 6
 * took id 20. The runtime's word (SPAWN_ID) puts each spawn under the id it
 * really got, before the first polls look them up. */
static void test_spawn_race_checked(void **state)
{
	struct ctx *c = *state;

	location(c, 1, FILE_MAIN, "src/main.rs");
	spawn(c, 100, 5, 20, (struct spawn_args){.file_addr = FILE_MAIN, .line = 1, .col = 1,
						  .flags = AIB_SPAWN_HAS_LOCATION});
	spawn(c, 101, 6, 20, (struct spawn_args){.file_addr = FILE_MAIN, .line = 2, .col = 2,
						  .flags = AIB_SPAWN_HAS_LOCATION});
	spawn_id(c, 102, 6, 20, 20);
	spawn_id(c, 103, 5, 20, 21);
	pbegin(c, 200, 7, H1, 20, 0);
	pbegin(c, 210, 8, H2, 21, 0);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 2);
	assert_int_equal(task(c, 0)->id, 20);
	assert_int_equal(task(c, 0)->spawn_ts, 101);
	assert_string_equal(task(c, 0)->location, "src/main.rs:2:2");
	assert_int_equal(task(c, 1)->id, 21);
	assert_int_equal(task(c, 1)->spawn_ts, 100);
	assert_string_equal(task(c, 1)->location, "src/main.rs:1:1");
	assert_int_equal(sum(c)->tasks_spawned, 2);
}

/* A confirmation that matches the guess, or names no pending spawn of that
 * thread, changes nothing. */
static void test_spawn_id_noop(void **state)
{
	struct ctx *c = *state;

	spawn(c, 100, 5, 30, NO_LOC);
	spawn_id(c, 101, 5, 30, 30);
	spawn_id(c, 102, 9, 30, 31); /* another thread's: not ours to move */
	pbegin(c, 200, 7, H1, 30, 0);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 1);
	assert_true(task(c, 0)->spawn_seen);
	assert_int_equal(task(c, 0)->spawn_ts, 100);
}

/* Memory stays bounded: past `keep` completed tasks, the oldest are folded
 * into per-location counts. Totals stay exact, and tasks still alive keep
 * working through the renumbering (live map, thread stacks). */
static void test_retire_completed(void **state)
{
	struct ctx *c = *state;
	const struct retired_location *r;
	__u64 retired_completed = 0, retired_polls = 0;

	task_model__set_keep_completed(c->m, 3);
	location(c, 1, FILE_MAIN, "src/main.rs");
	/* an idle task that outlives everything, polled on thread 9 */
	spawn(c, 5, 9, 1, (struct spawn_args){.file_addr = FILE_MAIN, .line = 7, .col = 1,
					       .flags = AIB_SPAWN_HAS_LOCATION});
	pbegin(c, 6, 9, H1, 1, 0);
	pend(c, 7, 9, H1, 1, 0, AIB_POLL_PENDING);
	/* 10 short tasks at line 8, one poll each, all completed */
	for (__u64 i = 0; i < 10; i++) {
		__u64 id = 10 + i, hdr = H2 + 64 * i, ts = 100 + 10 * i;

		spawn(c, ts, 5, id, (struct spawn_args){.file_addr = FILE_MAIN, .line = 8, .col = 1,
							 .flags = AIB_SPAWN_HAS_LOCATION});
		pbegin(c, ts + 1, 5, hdr, id, 0);
		pend(c, ts + 3, 5, hdr, id, 0, AIB_POLL_READY);
	}
	/* the long-lived task is woken and polled after the compactions */
	wake(c, 300, 4, H1, 1, 0, 0);
	pbegin(c, 310, 9, H1, 1, 0);
	pend(c, 315, 9, H1, 1, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 400);

	/* kept: the idle task and at most 2 x 3 completed ones (compaction is
	 * amortized: it looks again after `keep` more tasks) */
	assert_true(task_model__task_count(c->m) <= 1 + 2 * 3);
	assert_int_equal(task(c, 0)->id, 1);
	assert_int_equal(task(c, 0)->polls, 2);
	assert_int_equal(task(c, 0)->busy_ns, 1 + 5);
	assert_int_equal(task(c, 0)->wakes[WAKE_BY_THREAD], 1);
	assert_int_equal(task(c, 0)->state, TASK_IDLE);
	assert_int_equal(task_model__retired_count(c->m), 1);
	r = task_model__retired(c->m, 0);
	assert_string_equal(r->location, "src/main.rs:8:1");
	retired_completed = r->completed;
	retired_polls = r->polls;
	assert_true(retired_completed >= 4);
	assert_int_equal(r->spawned, r->completed);
	assert_int_equal(r->busy_ns, 2 * r->completed);
	assert_int_equal(retired_completed + (task_model__task_count(c->m) - 1), 10);
	assert_int_equal(retired_polls, retired_completed);
	assert_int_equal(sum(c)->tasks_retired, retired_completed);
	assert_int_equal(sum(c)->tasks_spawned, 11);
	assert_int_equal(sum(c)->tasks_completed, 10);
	assert_int_equal(sum(c)->tasks_alive, 1);
	assert_int_equal(sum(c)->polls, 12);
	assert_int_equal(sum(c)->anomalies, 0);
}

/* Session facts, loss counters (cumulative: the last record wins), thread
 * names, END, and the totals. */
static void test_summary(void **state)
{
	struct ctx *c = *state;
	const struct model_summary *s;

	process(c, 1000, 4242, AIB_PROC_SPAWN_LOCATIONS | AIB_PROC_LATE_ATTACH, "/usr/bin/app");
	thread_name(c, 1000, 77, "tokio-runtime-w");
	spawn(c, 1100, 1, 1, NO_LOC);
	pbegin(c, 1200, 77, H1, 1, 0);
	pend(c, 1300, 77, H1, 1, 0, AIB_POLL_PENDING);
	lost(c, 1350, 5, 2);
	wake(c, 1400, 78, H1, 1, 0, 0);
	wake(c, 1410, 78, H1, 1, 0, 0);
	pbegin(c, 1500, 77, H1, 1, 0);
	pend(c, 1600, 77, H1, 1, 0, AIB_POLL_READY);
	lost(c, 1700, 9, 3);
	{
		struct aib_ev_worker w = {.hdr = hdr(AIB_EV_WORKER_START, sizeof(w), 79, 1800)};

		apply(c, &w.hdr);
	}
	end(c, 3000, AIB_END_TARGET_EXITED);
	task_model__finish(c->m, 0);

	s = sum(c);
	assert_int_equal(s->pid, 4242);
	assert_int_equal(s->runtimes, AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO));
	assert_string_equal(s->runtime_desc, "tokio");
	assert_string_equal(s->exe, "/usr/bin/app");
	assert_int_equal(s->poll_sites, 7);
	assert_true(s->spawn_locations);
	assert_true(s->late_attach);
	assert_int_equal(s->realtime_start_ns, 1700000000000000000ULL);
	assert_int_equal(s->start_ts, 1000);
	assert_int_equal(s->end_ts, 3000);
	assert_true(s->ended_cleanly);
	assert_int_equal(s->end_reason, AIB_END_TARGET_EXITED);
	assert_int_equal(s->events, 13);
	assert_int_equal(s->events, c->applied);
	assert_int_equal(s->lost, 9);
	assert_int_equal(s->dropped, 3);
	assert_int_equal(s->polls, 2);
	assert_int_equal(s->wakes, 2);
	assert_int_equal(s->tasks_spawned, 1);
	assert_int_equal(s->tasks_completed, 1);
	assert_int_equal(s->tasks_alive, 0);
	assert_int_equal(s->anomalies, 0);
	assert_int_equal(task(c, 0)->wakes[WAKE_BY_THREAD], 2);
	assert_int_equal(task(c, 0)->idle_ns, 100); /* the second wake changes nothing */
	assert_int_equal(task(c, 0)->runnable_ns, 100 + 100);
	/* the delay runs from the first wake, not the second */
	assert_sched(task(c, 0), 2, 100, 100, 100, 100);
	assert_string_equal(task_model__thread_name(c->m, 77), "tokio-runtime-w");
	assert_null(task_model__thread_name(c->m, 78)); /* seen, never named */
	assert_null(task_model__thread_name(c->m, 12345));
}

/* Records that do not fit the model are counted, never fatal. */
static void test_anomalies(void **state)
{
	struct ctx *c = *state;
	struct aib_hdr unknown = hdr(50, sizeof(struct aib_hdr), 1, 10);

	pend(c, 10, 2, H1, 1, 0, AIB_POLL_PENDING); /* no begin: nothing at H1 */
	assert_int_equal(task_model__task_count(c->m), 0);
	assert_int_equal(sum(c)->anomalies, 1);

	pbegin(c, 20, 2, H1, 1, 0);
	pend(c, 30, 2, H1, 1, 0, AIB_POLL_PENDING);
	pend(c, 40, 2, H1, 1, 0, AIB_POLL_READY); /* a second end */
	assert_int_equal(sum(c)->anomalies, 2);
	assert_int_equal(task(c, 0)->state, TASK_IDLE); /* not taken as Ready */
	assert_int_equal(task(c, 0)->busy_ns, 10);

	pend(c, 45, 2, H1, 5, 0, AIB_POLL_READY); /* wrong id at a known header */
	assert_int_equal(sum(c)->anomalies, 3);
	assert_int_equal(task(c, 0)->state, TASK_IDLE);

	pbegin(c, 50, 2, H1, 1, 0);
	pend(c, 60, 2, H1, 1, 0, AIB_POLL_READY);
	pbegin(c, 70, 2, H1, 1, 0); /* a poll after Ready, same identity */
	assert_int_equal(sum(c)->anomalies, 4);
	assert_int_equal(task(c, 0)->polls, 2);
	assert_int_equal(task(c, 0)->state, TASK_COMPLETED);

	apply(c, &unknown);
	assert_int_equal(sum(c)->anomalies, 5);

	/* a poll end at depth 0 on a thread that never began one */
	pend(c, 80, 99, H4, 4, 0, AIB_POLL_PENDING);
	assert_int_equal(sum(c)->anomalies, 6);

	task_model__finish(c->m, 0);
	assert_int_equal(task_model__task_count(c->m), 1);
	assert_int_equal(sum(c)->polls, 2);
	assert_int_equal(sum(c)->tasks_completed, 1);
	assert_int_equal(task(c, 0)->end_ts, 60);
	assert_int_equal(task(c, 0)->busy_ns, 20);
	assert_int_equal(sum(c)->events, c->applied);
}

/* Polls deeper than the per-thread stack and absurd depths never crash. */
static void test_deep_and_bogus_depths(void **state)
{
	struct ctx *c = *state;

	for (__u32 d = 0; d < AIB_MAX_POLL_DEPTH + 3; d++)
		pbegin(c, 100 + d, 2, H1 + 64 * d, d + 1, d);
	pbegin(c, 200, 3, H4, 50, 0xffffffffu);
	pend(c, 210, 3, H4, 50, 0xffffffffu, AIB_POLL_PENDING);
	for (__u32 d = AIB_MAX_POLL_DEPTH + 3; d-- > 0;)
		pend(c, 300 + d, 2, H1 + 64 * d, d + 1, d, AIB_POLL_PENDING);
	task_model__finish(c->m, 0);
	assert_int_equal(task_model__task_count(c->m), AIB_MAX_POLL_DEPTH + 4);
	assert_int_equal(sum(c)->anomalies, 0);
	assert_int_equal(task(c, AIB_MAX_POLL_DEPTH + 3)->busy_ns, 10);
	/* first-seen tasks are never taken for carriers by nesting alone */
	for (__u32 d = 0; d < AIB_MAX_POLL_DEPTH + 3; d++)
		assert_int_equal(task(c, d)->kind, TASK_ASYNC);
	assert_int_equal(sum(c)->runtime_tasks, 0);
}

/* Workers: distinct tids in first-seen order, at most TASK_MAX_WORKERS. */
static void test_worker_cap(void **state)
{
	struct ctx *c = *state;
	struct task_info *t;

	for (__u32 i = 0; i < TASK_MAX_WORKERS + 4; i++) {
		__u32 tid = 1000 + (i % (TASK_MAX_WORKERS + 2));

		pbegin(c, 100 + 10 * i, tid, H1, 1, 0);
		pend(c, 105 + 10 * i, tid, H1, 1, 0, AIB_POLL_NOTIFIED);
	}
	task_model__finish(c->m, 0);
	t = task(c, 0);
	assert_int_equal(t->nworkers, TASK_MAX_WORKERS);
	for (__u32 i = 0; i < TASK_MAX_WORKERS; i++)
		assert_int_equal(worker_of(t, i), 1000 + i);
	assert_int_equal(t->polls, TASK_MAX_WORKERS + 4);
	assert_int_equal(t->busy_ns, 5 * (TASK_MAX_WORKERS + 4));
	/* NOTIFIED each time: every poll after the first is a 5ns delay */
	assert_sched(t, TASK_MAX_WORKERS + 3, 5, 5, 5, 5);
	assert_int_equal(t->state, TASK_RUNNABLE);
}

/* Many tasks through recycled headers: counts stay exact. */
static void test_many_tasks(void **state)
{
	struct ctx *c = *state;
	enum { N = 5000 };

	for (__u64 i = 1; i <= N; i++) {
		__u64 h = H1 + 64 * (i % 37), ts = i * 100;

		spawn(c, ts, 1, i, NO_LOC);
		pbegin(c, ts + 10, 2, h, i, 0);
		pend(c, ts + 30, 2, h, i, 0, i % 5 ? AIB_POLL_READY : AIB_POLL_PENDING);
		if (i % 5 == 0)
			task_ev(c, AIB_EV_DEALLOC, ts + 50, 3, h, i);
	}
	task_model__finish(c->m, 0);
	assert_int_equal(task_model__task_count(c->m), N);
	assert_int_equal(sum(c)->tasks_spawned, N);
	assert_int_equal(sum(c)->tasks_completed, N);
	assert_int_equal(sum(c)->polls, N);
	for (size_t i = 0; i < N; i++) {
		struct task_info *t = task(c, i);

		assert_int_equal(t->id, i + 1);
		assert_true(t->spawn_seen);
		assert_int_equal(t->busy_ns, 20);
		assert_int_equal(sched_of(t)->min, 10);
		assert_int_equal(t->idle_ns, (i + 1) % 5 ? 0 : 20);
	}
}

/* ---- async-task: no task ids, spawns name their header ---- */

static void spawn_flagged(struct ctx *c, __u64 ts, __u32 tid, __u64 header, __u64 parent,
			  __u64 file_addr, __u32 line, __u32 flags)
{
	struct aib_ev_spawn e = {
		.hdr = hdr(AIB_EV_SPAWN, sizeof(e), tid, ts),
		.parent_task = parent,
		.file_addr = file_addr,
		.line = line,
		.flags = AIB_SPAWN_TASK_KNOWN | (file_addr ? AIB_SPAWN_HAS_LOCATION : 0) | flags,
		.task = header,
		.runtime = AIB_RUNTIME_ASYNC_TASK,
	};

	apply(c, &e.hdr);
}

static void spawn_at(struct ctx *c, __u64 ts, __u32 tid, __u64 header, __u64 parent,
		     __u64 file_addr, __u32 line)
{
	spawn_flagged(c, ts, tid, header, parent, file_addr, line, 0);
}

static void task_name(struct ctx *c, __u64 ts, __u32 tid, const char *name)
{
	struct aib_ev_task_name e = {.hdr = hdr(AIB_EV_TASK_NAME, sizeof(e), tid, ts),
				     .len = (__u32)strlen(name)};

	memcpy(e.name, name, e.len);
	apply(c, &e.hdr);
}

/* Ids are ours, in order of appearance; a completed task's header spawned
 * again is a new task; the parent is found by header. */
static void test_async_task_lifecycle(void **state)
{
	struct ctx *c = *state;
	const struct task_info *t;

	c->runtime = AIB_RUNTIME_ASYNC_TASK;
	location(c, 1, (1ULL << 63) + 0, "src/main.rs");
	spawn_at(c, 100, 1, H1, 0, (1ULL << 63) + 0, 12);
	pbegin(c, 150, 2, H1, 0, 0);
	spawn_at(c, 160, 2, H2, H1, (1ULL << 63) + 0, 30); /* spawned by H1's task */
	pend(c, 170, 2, H1, 0, 0, AIB_POLL_PENDING);
	wake(c, 200, 3, H1, 0, 0, 0);
	pbegin(c, 210, 2, H1, 0, 0);
	pend(c, 260, 2, H1, 0, 0, AIB_POLL_READY);
	spawn_at(c, 300, 1, H1, 0, (1ULL << 63) + 0, 12); /* header reused */
	pbegin(c, 320, 2, H1, 0, 0);
	pend(c, 330, 2, H1, 0, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 400);

	assert_int_equal(task_model__task_count(c->m), 3);
	t = task(c, 0);
	assert_int_equal(t->id, 1);
	assert_int_equal(t->runtime, AIB_RUNTIME_ASYNC_TASK);
	assert_string_equal(t->location, "src/main.rs:12");
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_int_equal(t->polls, 2);
	assert_int_equal(t->busy_ns, 20 + 50);
	assert_int_equal(t->idle_ns, 30);
	assert_int_equal(t->runnable_ns, 50 + 10);
	t = task(c, 1);
	assert_int_equal(t->id, 2);
	assert_int_equal(t->parent_id, 1);
	assert_string_equal(t->location, "src/main.rs:30");
	assert_int_equal(t->state, TASK_RUNNABLE);
	t = task(c, 2);
	assert_int_equal(t->id, 3);
	assert_int_equal(t->header, H1);
	assert_true(t->spawn_seen);
	assert_int_equal(t->state, TASK_IDLE);
	assert_int_equal(task_model__summary(c->m)->tasks_spawned, 3);
}

/* A spawn record for a header whose task is waiting to run is a reschedule
 * by hand; one whose task looked busy or idle means its end was missed. */
static void test_async_task_reschedule(void **state)
{
	struct ctx *c = *state;

	c->runtime = AIB_RUNTIME_ASYNC_TASK;
	spawn_at(c, 100, 1, H1, 0, 0, 0);
	spawn_at(c, 110, 1, H1, 0, 0, 0); /* still runnable: the same task */
	pbegin(c, 150, 2, H1, 0, 0);
	pend(c, 160, 2, H1, 0, 0, AIB_POLL_PENDING);
	spawn_at(c, 200, 1, H1, 0, 0, 0); /* idle: it ended unseen, this is new */
	wake(c, 210, 3, H2, 0, 0, 0);
	pbegin(c, 220, 2, H2, 0, 0);
	pend(c, 230, 2, H2, 0, 0, AIB_POLL_READY);
	wake(c, 240, 3, H2, 0, 0, 0); /* a late wake of a finished task: no new task */
	pbegin(c, 250, 2, H3, 0, 0);
	spawn_at(c, 260, 1, H3, 0, 0, 0); /* its memory reused while its end is in flight */
	pend(c, 270, 2, H3, 0, 0, AIB_POLL_PENDING);
	task_model__finish(c->m, 300);

	assert_int_equal(task_model__task_count(c->m), 5);
	assert_int_equal(task(c, 0)->state, TASK_COMPLETED);
	assert_int_equal(task(c, 0)->end_ts, 160); /* idle since its poll ended */
	assert_int_equal(task(c, 1)->state, TASK_RUNNABLE);
	assert_int_equal(task(c, 1)->spawn_ts, 200);
	assert_int_equal(task(c, 2)->header, H2); /* first sight, then completed */
	assert_int_equal(task(c, 2)->state, TASK_COMPLETED);
	assert_int_equal(task(c, 3)->header, H3);
	assert_int_equal(task(c, 3)->state, TASK_COMPLETED);
	assert_int_equal(task(c, 3)->end_ts, 260);
	assert_int_equal(task(c, 3)->busy_ns, 10);
	assert_int_equal(task(c, 4)->state, TASK_RUNNABLE); /* the late end was not its */
	assert_true(task_model__summary(c->m)->anomalies >= 1);
}

/* Where LTO inlined Runnable::schedule, a task is told at RawTask::schedule
 * when BPF has not seen it run (AIB_SPAWN_UNLESS_KNOWN): a task the model
 * knows alive is being woken (found parked at the attach), but a finished
 * task's header is a new task's (the matrix's LTO'd smol cells: an
 * `unblock` task allocated where a `work` task had ended, 1 run in 12). */
static void test_async_task_spawn_unless_known(void **state)
{
	struct ctx *c = *state;
	const struct task_info *t;

	c->runtime = AIB_RUNTIME_ASYNC_TASK;
	location(c, 1, (1ULL << 63) + 0, "src/main.rs");
	spawn_flagged(c, 100, 1, H1, 0, (1ULL << 63) + 0, 12, AIB_SPAWN_UNLESS_KNOWN);
	pbegin(c, 110, 2, H1, 0, 0);
	pend(c, 120, 2, H1, 0, 0, AIB_POLL_READY);
	spawn_flagged(c, 130, 1, H1, 0, (1ULL << 63) + 0, 34, AIB_SPAWN_UNLESS_KNOWN);
	pbegin(c, 140, 2, H1, 0, 0);
	pend(c, 150, 2, H1, 0, 0, AIB_POLL_PENDING);
	spawn_flagged(c, 160, 3, H1, 0, (1ULL << 63) + 0, 50, AIB_SPAWN_UNLESS_KNOWN);
	task_model__finish(c->m, 200);

	assert_int_equal(task_model__task_count(c->m), 2);
	assert_int_equal(task(c, 0)->state, TASK_COMPLETED);
	t = task(c, 1);
	assert_int_equal(t->header, H1);
	assert_true(t->spawn_seen);
	assert_string_equal(t->location, "src/main.rs:34");
	assert_int_equal(t->state, TASK_IDLE); /* its wake was no new task */
	assert_int_equal(t->spawn_ts, 130);
}

/* A task woken during its poll is rescheduled before that poll returns:
 * another thread may begin the next poll before the first one's end record
 * is written. */
static void test_poll_overtaken_by_next(void **state)
{
	struct ctx *c = *state;
	const struct task_info *t;

	c->runtime = AIB_RUNTIME_ASYNC_TASK;
	spawn_at(c, 100, 1, H1, 0, 0, 0);
	pbegin(c, 110, 2, H1, 0, 0);
	wake(c, 115, 2, H1, 0, H1, 0);
	pbegin(c, 130, 3, H1, 0, 0);			/* thread 3 took it */
	pend(c, 132, 2, H1, 0, 0, AIB_POLL_NOTIFIED);	/* thread 2's end, late */
	pend(c, 150, 3, H1, 0, 0, AIB_POLL_READY);
	task_model__finish(c->m, 200);

	t = task(c, 0);
	assert_int_equal(t->state, TASK_COMPLETED);
	assert_int_equal(t->end_ts, 150);
	assert_int_equal(t->polls, 2);
	assert_int_equal(t->busy_ns, 20 + 20);
	assert_int_equal(task_model__summary(c->m)->anomalies, 0);
}

/* A poll unwound by a panic, a cancelled task, and a task name that goes to
 * the next spawn on the naming thread only. */
static void test_async_task_panic_cancel_name(void **state)
{
	struct ctx *c = *state;

	c->runtime = AIB_RUNTIME_ASYNC_TASK;
	task_name(c, 90, 1, "worker-7");
	spawn_at(c, 95, 5, H3, 0, 0, 0); /* another thread: not named */
	spawn_at(c, 100, 1, H1, 0, 0, 0);
	spawn_at(c, 101, 1, H2, 0, 0, 0);
	pbegin(c, 110, 2, H1, 0, 0);
	pend(c, 120, 2, H1, 0, 0, AIB_POLL_PANICKED);
	pbegin(c, 130, 2, H2, 0, 0);
	pend(c, 140, 2, H2, 0, 0, AIB_POLL_CANCELLED);
	task_model__finish(c->m, 200);

	assert_null(task_info__name(task(c, 0)));
	assert_string_equal(task_info__name(task(c, 1)), "worker-7");
	assert_null(task_info__name(task(c, 2)));
	assert_true(task(c, 1)->panicked);
	assert_false(task(c, 1)->cancelled);
	assert_int_equal(task(c, 1)->state, TASK_COMPLETED);
	assert_true(task(c, 2)->cancelled);
	assert_false(task(c, 2)->panicked);
	assert_int_equal(task(c, 2)->end_ts, 140);
	assert_int_equal(task_model__summary(c->m)->tasks_completed, 2);
}

/* tokio: the harness caught a panic of a poll (bpf: tokio_panic_caught),
 * so that poll's end says PANICKED: the task completed, panicked, not
 * cancelled; its neighbours that return or are cancelled do not. A panic
 * in a task polled inside another's poll (a LocalSet) is that task's. */
static void test_tokio_panic(void **state)
{
	struct ctx *c = *state;

	c->runtime = AIB_RUNTIME_TOKIO;
	spawn(c, 100, 1, 7, (struct spawn_args){0});
	spawn(c, 101, 1, 8, (struct spawn_args){0});
	spawn(c, 102, 1, 9, (struct spawn_args){0});
	pbegin(c, 110, 2, H1, 7, 0);
	pend(c, 120, 2, H1, 7, 0, AIB_POLL_PENDING);
	pbegin(c, 130, 3, H2, 8, 0);
	pend(c, 140, 3, H2, 8, 0, AIB_POLL_READY);
	wake(c, 150, 3, H1, 7, 0, 0);
	pbegin(c, 160, 2, H1, 7, 0);
	assert_false(task(c, 0)->panicked);
	pend(c, 170, 2, H1, 7, 0, AIB_POLL_PANICKED);
	/* a LocalSet's task (depth 1) panics inside the poll of 9, which
	 * goes on and returns */
	pbegin(c, 180, 2, H3, 9, 0);
	pbegin(c, 181, 2, H4, 10, 1);
	pend(c, 185, 2, H4, 10, 1, AIB_POLL_PANICKED);
	pend(c, 190, 2, H3, 9, 0, AIB_POLL_READY);
	task_ev(c, AIB_EV_DEALLOC, 200, 2, H1, 7);
	task_model__finish(c->m, 300);

	assert_int_equal(task_model__task_count(c->m), 4);
	assert_int_equal(task(c, 0)->id, 7);
	assert_true(task(c, 0)->panicked);
	assert_false(task(c, 0)->cancelled);
	assert_int_equal(task(c, 0)->state, TASK_COMPLETED);
	assert_int_equal(task(c, 0)->end_ts, 170);
	assert_int_equal(task(c, 0)->polls, 2);
	assert_false(task(c, 1)->panicked);
	assert_int_equal(task(c, 1)->state, TASK_COMPLETED);
	assert_false(task(c, 2)->panicked); /* the outer poll */
	assert_int_equal(task(c, 2)->state, TASK_COMPLETED);
	assert_int_equal(task(c, 3)->id, 10);
	assert_true(task(c, 3)->panicked);
	assert_int_equal(task(c, 3)->state, TASK_COMPLETED);
	assert_int_equal(sum(c)->tasks_completed, 4);
	assert_int_equal(sum(c)->anomalies, 0);
}

/* ---- await sites, joins, tasks found in memory ---- */

static void join_ev(struct ctx *c, __u64 ts, __u32 tid, __u64 task, __u64 id, __u64 waiter,
		    __u64 waiter_id)
{
	struct aib_ev_join e = {
		.hdr = hdr(AIB_EV_JOIN, sizeof(e), tid, ts),
		.task = task, .task_id = id, .waiter = waiter, .waiter_id = waiter_id,
	};

	apply(c, &e.hdr);
}

static void found(struct ctx *c, __u64 ts, __u64 task, __u64 id, __u64 state, __u32 runtime)
{
	struct aib_rec_task_found r = {
		.hdr = hdr(AIB_REC_TASK_FOUND, sizeof(r), 0, ts),
		.task = task, .task_id = id, .state = state, .runtime = runtime,
	};

	apply(c, &r.hdr);
}

/* An AIB_REC_AWAIT whose text is the detail alone. */
static void await_rec(struct ctx *c, __u64 ts, __u64 task, __u64 id, __u32 kind,
		      const char *detail)
{
	__u64 buf[(sizeof(struct aib_rec_await) + 64) / 8] = {0};
	struct aib_rec_await *r = (void *)buf;

	r->len = (__u32)strlen(detail) + 1;
	r->hdr = hdr(AIB_REC_AWAIT, (__u16)(sizeof(*r) + r->len), 0, ts);
	r->task = task;
	r->task_id = id;
	r->method = AIB_AWAIT_STACK;
	r->kind = kind;
	memcpy(r->text, detail, r->len);
	apply(c, &r->hdr);
}

/* Task 2 polls the JoinHandle of task 1 (the poll says so each time); an
 * await record lands on the live task with that id only. */
static void test_join_and_await(void **state)
{
	struct ctx *c = *state;

	c->runtime = AIB_RUNTIME_TOKIO;
	process(c, 10, 42, 0, "app");
	spawn(c, 10, 1, 1, (struct spawn_args){0});
	spawn(c, 11, 1, 2, (struct spawn_args){0});
	pbegin(c, 20, 1, 0xa0, 1, 0);
	pend(c, 30, 1, 0xa0, 1, 0, AIB_POLL_PENDING);
	pbegin(c, 40, 1, 0xb0, 2, 0);
	join_ev(c, 45, 1, 0xa0, 1, 0xb0, 2);
	join_ev(c, 46, 1, 0xa0, 1, 0xdead, 9); /* a waiter we do not know: ignored */
	pend(c, 50, 1, 0xb0, 2, 0, AIB_POLL_PENDING);
	assert_int_equal(task_info__joining_id(task(c, 1)), 1);
	assert_int_equal(task_info__joining_header(task(c, 1)), 0xa0);
	await_rec(c, 60, 0xb0, 2, AIB_WAIT_JOIN, "JoinHandle");
	await_rec(c, 61, 0xb0, 3, AIB_WAIT_LOCK, "wrong id"); /* not this task */
	assert_non_null(task_info__await(task(c, 1)));
	assert_int_equal(task_info__await(task(c, 1))->kind, AIB_WAIT_JOIN);
	assert_string_equal(task_info__await(task(c, 1))->text, "JoinHandle");
	assert_null(task_info__await(task(c, 0)));
	assert_ptr_equal(task_info__current_await(task(c, 1)), task_info__await(task(c, 1)));
	/* its next poll says nothing about the join until it polls it again */
	pbegin(c, 70, 1, 0xb0, 2, 0);
	assert_int_equal(task_info__joining_id(task(c, 1)), 0);
	pend(c, 80, 1, 0xb0, 2, 0, AIB_POLL_PENDING);
	/* parked again since: the record is an earlier park's */
	assert_non_null(task_info__await(task(c, 1)));
	assert_null(task_info__current_await(task(c, 1)));
	end(c, 100, AIB_END_DURATION);
	task_model__finish(c->m, 0);
	{
		bool at_least;

		/* last poll ended at 30 and 80; the session at 100 */
		assert_int_equal(task_model__blocked_ns(c->m, task(c, 0), &at_least), 70);
		assert_false(at_least);
		assert_int_equal(task_model__blocked_ns(c->m, task(c, 1), &at_least), 20);
	}
}

/* Tasks found in memory at attach: in the state their state word says,
 * parked "at least" since the session began; one seen since keeps what the
 * probes said; completed ones are left out. */
static void test_task_found(void **state)
{
	struct ctx *c = *state;
	bool at_least;

	c->runtime = AIB_RUNTIME_TOKIO;
	process(c, 100, 42, AIB_PROC_LATE_ATTACH, "app");
	pbegin(c, 105, 1, 0xc0, 7, 0);
	found(c, 110, 0xa0, 3, 0xcc0 | 0x8, AIB_RUNTIME_TOKIO);	 /* idle, JOIN_INTEREST */
	found(c, 110, 0xb0, 4, 0xcc0 | 0x4, AIB_RUNTIME_TOKIO);	 /* NOTIFIED */
	found(c, 110, 0xd0, 5, 0xcc0 | 0x2, AIB_RUNTIME_TOKIO);	 /* COMPLETE: left out */
	found(c, 110, 0xc0, 7, 0xcc0 | 0x1, AIB_RUNTIME_TOKIO);	 /* already seen running */
	found(c, 110, 0xe0, 0, 0x111, AIB_RUNTIME_ASYNC_TASK);	 /* async-task, SCHEDULED */
	found(c, 110, 0xf0, 0, 0x110, AIB_RUNTIME_ASYNC_TASK);	 /* async-task, idle */
	found(c, 110, 0x100, 9, 0xcc0, AIB_RUNTIME_UNKNOWN);	 /* no runtime known: left out */
	assert_int_equal(task_model__task_count(c->m), 5);
	assert_int_equal(task(c, 0)->state, TASK_RUNNING);
	assert_false(task(c, 0)->found_in_memory);
	assert_int_equal(task(c, 1)->id, 3);
	assert_int_equal(task(c, 1)->state, TASK_IDLE);
	assert_true(task(c, 1)->found_in_memory);
	assert_false(task(c, 1)->spawn_seen);
	assert_int_equal(task(c, 2)->state, TASK_RUNNABLE);
	assert_int_equal(task(c, 3)->state, TASK_RUNNABLE);
	assert_int_equal(task(c, 3)->runtime, AIB_RUNTIME_ASYNC_TASK);
	assert_true(task(c, 3)->id != 0);
	assert_int_equal(task(c, 4)->state, TASK_IDLE);
	/* a poll of a found task makes it an ordinary one */
	pbegin(c, 120, 1, 0xa0, 3, 0);
	pend(c, 130, 1, 0xa0, 3, 0, AIB_POLL_PENDING);
	end(c, 200, AIB_END_DURATION);
	task_model__finish(c->m, 0);
	assert_int_equal(task_model__blocked_ns(c->m, task(c, 1), &at_least), 70);
	assert_false(at_least);
	assert_int_equal(task_model__blocked_ns(c->m, task(c, 4), &at_least), 100);
	assert_true(at_least);
	assert_int_equal(task_model__blocked_ns(c->m, task(c, 0), &at_least), 0); /* running */
}

/* ---- block_on roots: made-up identities, kind block_on ---- */

static void root_spawn(struct ctx *c, __u64 ts, __u32 tid, __u64 seq, __u32 runtime, __u32 flags)
{
	struct aib_ev_spawn e = {
		.hdr = hdr(AIB_EV_SPAWN, sizeof(e), tid, ts),
		.flags = AIB_SPAWN_TASK_KNOWN | AIB_SPAWN_BLOCK_ON | flags,
		.task = AIB_ROOT_TASK(seq),
		.runtime = runtime,
	};

	apply(c, &e.hdr);
}

/* A root is listed with its polls, wakes and what it spawned, and counted
 * apart from spawned tasks; its end is a Ready poll then a dealloc. */
static void test_block_on_root(void **state)
{
	struct ctx *c = *state;
	__u64 r = AIB_ROOT_TASK(0), rid = AIB_ROOT_ID(0);

	c->runtime = AIB_RUNTIME_TOKIO;
	task_name(c, 5, 7, "app::main");
	root_spawn(c, 10, 7, 0, AIB_RUNTIME_TOKIO, 0);
	pbegin(c, 10, 7, r, rid, 0);
	spawn(c, 15, 7, 1, (struct spawn_args){.parent_task = r, .parent_id = rid});
	pend(c, 20, 7, r, rid, 0, AIB_POLL_PENDING);
	pbegin(c, 25, 8, 0x1000, 1, 0);
	wake(c, 30, 8, r, rid, 0x1000, 1); /* the task wakes the root */
	pend(c, 35, 8, 0x1000, 1, 0, AIB_POLL_READY);
	pbegin(c, 40, 7, r, rid, 0);
	pend(c, 50, 7, r, rid, 0, AIB_POLL_READY);
	task_ev(c, AIB_EV_DEALLOC, 50, 7, r, rid);
	end(c, 60, AIB_END_TARGET_EXITED);
	task_model__finish(c->m, 0);

	assert_int_equal(task_model__task_count(c->m), 2);
	assert_int_equal(task(c, 0)->kind, TASK_BLOCK_ON);
	assert_int_equal(task(c, 0)->id, rid);
	assert_string_equal(task_info__name(task(c, 0)), "app::main");
	assert_int_equal(task(c, 0)->polls, 2);
	assert_int_equal(task(c, 0)->busy_ns, 20);
	assert_int_equal(task(c, 0)->state, TASK_COMPLETED);
	assert_wakes(task(c, 0), 1, 0, 0);
	assert_int_equal(task(c, 1)->parent_id, rid); /* main spawned it */
	assert_int_equal(sum(c)->tasks_spawned, 1);
	assert_int_equal(sum(c)->polls, 1);
	assert_int_equal(sum(c)->roots, 1);
	assert_int_equal(sum(c)->roots_alive, 0);
	assert_int_equal(sum(c)->root_polls, 2);
	assert_int_equal(sum(c)->anomalies, 0);
}

/* async-io's root (no task ids in that runtime) keeps its made-up id; one
 * whose poll runs async-task tasks is an executor thread's loop; a root no
 * program code called is the runtime's; one found parked at attach waits
 * since before it. */
static void test_block_on_root_kinds(void **state)
{
	struct ctx *c = *state;

	c->runtime = AIB_RUNTIME_ASYNC_TASK;
	root_spawn(c, 10, 7, 0, AIB_RUNTIME_ASYNC_TASK, 0);
	pbegin(c, 10, 7, AIB_ROOT_TASK(0), AIB_ROOT_ID(0), 0);
	root_spawn(c, 11, 8, 1, AIB_RUNTIME_ASYNC_TASK, 0);
	pbegin(c, 11, 8, AIB_ROOT_TASK(1), AIB_ROOT_ID(1), 0);
	spawn_at(c, 12, 8, 0x2000, 0, 0, 0);
	pbegin(c, 13, 8, 0x2000, 0, 1); /* a task inside root 1's poll */
	root_spawn(c, 14, 9, 2, AIB_RUNTIME_ASYNC_TASK, AIB_SPAWN_RUNTIME_LOOP);
	root_spawn(c, 15, 6, 3, AIB_RUNTIME_TOKIO, AIB_SPAWN_FOUND_PARKED);
	end(c, 20, AIB_END_DURATION);
	task_model__finish(c->m, 0);

	assert_int_equal(task(c, 0)->id, AIB_ROOT_ID(0));
	assert_int_equal(task(c, 0)->kind, TASK_BLOCK_ON);
	assert_int_equal(task(c, 0)->polls, 1);
	assert_int_equal(task(c, 1)->kind, TASK_RUNTIME);
	assert_int_equal(task(c, 3)->kind, TASK_RUNTIME);
	assert_int_equal(task(c, 4)->kind, TASK_BLOCK_ON);
	assert_int_equal(task(c, 4)->state, TASK_IDLE);
	assert_true(task(c, 4)->found_in_memory && !task(c, 4)->spawn_seen);
	assert_int_equal(sum(c)->roots, 2);
	assert_int_equal(sum(c)->roots_alive, 2);
	assert_int_equal(sum(c)->runtime_tasks, 2);
	assert_int_equal(sum(c)->tasks_spawned, 1);
}

/* Drops by reason: the last AIB_REC_DROPS is the session's. */
static void test_drops_by_reason(void **state)
{
	struct ctx *c = *state;
	struct aib_rec_drops d = {.hdr = hdr(AIB_REC_DROPS, sizeof(d), 0, 5)};

	d.count[AIB_DROP_AWAIT_STACKS] = 3;
	apply(c, &d.hdr);
	d.count[AIB_DROP_AWAIT_STACKS] = 7;
	d.count[AIB_DROP_DEPTH] = 2;
	apply(c, &d.hdr);
	lost(c, 6, 1, 9);
	task_model__finish(c->m, 10);
	assert_int_equal(sum(c)->dropped, 9);
	assert_int_equal(sum(c)->dropped_by[AIB_DROP_AWAIT_STACKS], 7);
	assert_int_equal(sum(c)->dropped_by[AIB_DROP_DEPTH], 2);
	assert_string_equal(aib_drop_key(AIB_DROP_AWAIT_STACKS), "await_stacks");
	assert_string_equal(aib_drop_key(AIB_DROP_MAX), "unknown");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_full_lifecycle),
		T(test_locations_and_kinds),
		T(test_self_wake_notified),
		T(test_wake_by_other_task),
		T(test_wake_same_header_other_id_not_self),
		T(test_alive_at_end),
		T(test_finish_never_before_last_event),
		T(test_first_sight),
		T(test_first_sight_by_wake),
		T(test_unknown_ids),
		T(test_async_task_lifecycle),
		T(test_async_task_reschedule),
		T(test_async_task_spawn_unless_known),
		T(test_async_task_panic_cancel_name),
		T(test_block_on_root),
		T(test_block_on_root_kinds),
		T(test_drops_by_reason),
		T(test_tokio_panic),
		T(test_poll_overtaken_by_next),
		T(test_header_reuse_after_ready),
		T(test_header_reuse_without_ready),
		T(test_dealloc),
		T(test_dealloc_unknown_ids),
		T(test_shutdown_idle),
		T(test_shutdown_while_running),
		T(test_shutdown_after_ready_not_cancelled),
		T(test_nested_runtime_task),
		T(test_nested_outer_kinds),
		T(test_worker_start_marks_carrier),
		T(test_carrier_without_symbols),
		T(test_last_wake),
		T(test_carrier_spawns_by_structure),
		T(test_spawn_race_checked),
		T(test_retire_completed),
		T(test_spawn_id_noop),
		T(test_nested_stale_frame),
		T(test_duplicate_spawn_and_unpolled),
		T(test_shutdown_before_first_poll),
		T(test_spawn_race),
		T(test_summary),
		T(test_anomalies),
		T(test_deep_and_bogus_depths),
		T(test_worker_cap),
		T(test_many_tasks),
		T(test_join_and_await),
		T(test_task_found),
	};

	return cmocka_run_group_tests_name("task_model", tests, NULL, NULL);
}
