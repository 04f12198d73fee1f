/* SPDX-License-Identifier: MIT */
/* A task model built record by record, by hand, for the tests of what reads
 * one (task_table, top's views, lints): M, and the records they all apply.
 * Include after cmocka.h. */
#ifndef TEST_HAND_MODEL_H
#define TEST_HAND_MODEL_H

#include <string.h>
#include "model/task_model.h"

#define US 1000ULL
#define MS 1000000ULL
#define SEC 1000000000ULL
#define HDR(i) (0x7f0000000000ULL + (i) * 0x100)

static struct task_model *M;

static inline void apply(const struct aib_hdr *h)
{
	assert_int_equal(task_model__apply(M, h), 0);
}

/* A spawn call on thread 7 predicting id; line 0: no location, else
 * src/main.rs:LINE:5 (hand_model_begin's file). */
static inline void hand_spawn(__u64 ts, __u64 id, __u64 parent, __u32 line, __u32 flags)
{
	struct aib_ev_spawn e = {.hdr = {AIB_EV_SPAWN, sizeof(e), 7, ts}, .predicted_id = id,
				 .parent_task = parent ? HDR(parent) : 0, .parent_task_id = parent,
				 .file_addr = line ? 0x1000 : 0, .line = line, .col = 5,
				 .flags = flags | (line ? AIB_SPAWN_HAS_LOCATION : 0)};

	apply(&e.hdr);
}

static inline void hand_poll(__u16 kind, __u64 ts, __u32 tid, __u64 id, __u32 result, __u16 depth)
{
	struct aib_ev_poll e = {.hdr = {kind, sizeof(e), tid, ts}, .task = HDR(id), .task_id = id,
				.result = result, .depth = depth, .runtime = AIB_RUNTIME_TOKIO};

	apply(&e.hdr);
}

/* Task id woken on thread 9, by task `waker` (0: by the thread). */
static inline void hand_wake(__u64 ts, __u64 id, __u64 waker)
{
	struct aib_ev_wake e = {.hdr = {AIB_EV_WAKE, sizeof(e), 9, ts}, .task = HDR(id),
				.task_id = id, .runtime = AIB_RUNTIME_TOKIO};

	if (waker) {
		e.waker_task = HDR(waker);
		e.waker_task_id = waker;
	}
	apply(&e.hdr);
}

/* A new M at 10 s: its process (spawn locations seen), src/main.rs at
 * 0x1000, thread 11 "tokio-worker"; and task 1, that worker's carrier (a
 * spawn_blocking polling since 10 s + 1, the worker loop started in it). */
static inline void hand_model_begin(void)
{
	struct aib_rec_process p = {.hdr = {AIB_REC_PROCESS, sizeof(p), 0, 10 * SEC}, .pid = 1,
				    .flags = AIB_PROC_SPAWN_LOCATIONS};
	union {
		struct aib_rec_location rec;
		char b[sizeof(struct aib_rec_location) + 16];
	} loc = {.rec = {.hdr = {AIB_REC_LOCATION, sizeof(loc.rec) + 11, 0, 10 * SEC},
			 .file_addr = 0x1000, .len = 11}};
	struct aib_rec_thread th = {.hdr = {AIB_REC_THREAD, sizeof(th), 11, 10 * SEC},
				    .name = "tokio-worker"};
	struct aib_ev_worker wk = {.hdr = {AIB_EV_WORKER_START, sizeof(wk), 11, 10 * SEC + 2}};

	M = task_model__new();
	assert_non_null(M);
	apply(&p.hdr);
	memcpy(loc.rec.text, "src/main.rs", 11);
	apply(&loc.rec.hdr);
	apply(&th.hdr);
	hand_spawn(10 * SEC, 1, 0, 0, AIB_SPAWN_BLOCKING);
	hand_poll(AIB_EV_POLL_BEGIN, 10 * SEC + 1, 11, 1, 0, 0);
	apply(&wk.hdr);
}

#endif
