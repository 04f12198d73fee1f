// SPDX-License-Identifier: MIT
/*
 * gen_recording: write a synthetic recording shaped like a tokio program's,
 * for benchmarks and for tests that need no root:
 *
 *   gen_recording FILE EVENTS [--live N] [--polls N] [--late] [--open] [--seed S]
 *
 * Two worker threads poll user tasks inside their carrier tasks; tasks are
 * spawned, polled, parked, woken (by other tasks, by themselves, by an I/O
 * thread) and completed, --live of them alive at once (default 1000), about
 * --polls polls each (default 4). --late starts the session with --live
 * tasks already running, first seen by a wake, as after an attach. The end
 * leaves tasks alive in every state, some spawned and never polled.
 * --open writes --live spawns, each followed by its first poll (Pending),
 * and nothing else: every task stays alive (EVENTS is then ignored), for
 * the memory a live task costs. Deterministic for a given seed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record/decoder.h"
#include "record/recording.h"

#define MAIN_TID 100
#define WORKER_TID 101 /* and 102 */
#define IO_TID 103
#define USER_FILE 0x1000
#define TOKIO_FILE 0x2000

enum { EMPTY, SPAWNED, IDLE, RUNNABLE };

struct slot {
	__u64 header, id;
	int state, polls_left;
};

static struct recording_writer *w;
static __u64 ts = 1000000000, written, seed = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static void emit(struct aib_hdr *h, __u16 kind, __u16 size, __u32 tid)
{
	h->kind = kind;
	h->size = size;
	h->tid = tid;
	h->ts = ts += 200 + rnd() % 800;
	if (recording_writer__append(w, h)) {
		fprintf(stderr, "gen_recording: cannot write a record\n");
		exit(1);
	}
	written++;
}

static void location(__u64 addr, const char *text)
{
	union { /* the record and room for its text, without a GNU extension */
		struct aib_rec_location rec;
		char buf[sizeof(struct aib_rec_location) + 64];
	} l = {.rec = {.file_addr = addr, .len = (__u32)strlen(text)}};

	memcpy(l.rec.text, text, l.rec.len);
	emit(&l.rec.hdr, AIB_REC_LOCATION, (__u16)(sizeof(l.rec) + l.rec.len), 0);
}

static void thread_name(__u32 tid, const char *name)
{
	struct aib_rec_thread t = {0};

	strncpy(t.name, name, sizeof(t.name) - 1);
	emit(&t.hdr, AIB_REC_THREAD, sizeof(t), tid);
}

static void spawn(__u64 id, __u32 tid, __u64 parent, __u64 parent_id, __u64 file, __u32 flags)
{
	struct aib_ev_spawn e = {.predicted_id = id, .parent_task = parent, .parent_task_id = parent_id,
				 .file_addr = file, .file_len = file == USER_FILE ? 20 : 34,
				 .line = 10 + (__u32)(id % 3), .col = 5,
				 .flags = flags | AIB_SPAWN_HAS_LOCATION};

	emit(&e.hdr, AIB_EV_SPAWN, sizeof(e), tid);
}

static void poll(__u16 kind, const struct slot *s, __u32 tid, __u32 depth, __u32 result)
{
	struct aib_ev_poll e = {.task = s->header, .task_id = s->id, .depth = depth, .result = result,
				.runtime = AIB_RUNTIME_TOKIO};

	emit(&e.hdr, kind, sizeof(e), tid);
}

static void wake(const struct slot *s, const struct slot *waker, __u32 tid)
{
	struct aib_ev_wake e = {.task = s->header, .task_id = s->id, .runtime = AIB_RUNTIME_TOKIO};

	if (waker) {
		e.waker_task = waker->header;
		e.waker_task_id = waker->id;
	}
	emit(&e.hdr, AIB_EV_WAKE, sizeof(e), tid);
}

int main(int argc, char **argv)
{
	__u64 events, next_id = 1;
	int live = 1000, polls = 4;
	bool late = false, open = false;
	struct slot carrier[2], *slots;

	if (argc < 3) {
		fprintf(stderr, "usage: gen_recording FILE EVENTS [--live N] [--polls N] [--late] "
			"[--open] [--seed S]\n");
		return 2;
	}
	events = strtoull(argv[2], NULL, 10);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--late"))
			late = true;
		else if (!strcmp(argv[i], "--open"))
			open = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--live"))
			live = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--polls"))
			polls = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0) | 1;
		else
			return fprintf(stderr, "gen_recording: unknown argument %s\n", argv[i]), 2;
	}
	if (live < 1 || polls < 1 || (events < 64 && !open))
		return fprintf(stderr, "gen_recording: --live and --polls >= 1, EVENTS >= 64\n"), 2;
	slots = calloc((size_t)live, sizeof(*slots));
	w = recording_writer__open(argv[1]);
	if (!slots || !w)
		return fprintf(stderr, "gen_recording: cannot write %s: %s\n", argv[1], strerror(errno)), 1;

	struct aib_rec_process p = {.realtime_ns = 1700000000000000000ULL, .pid = 4242,
				    .runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO), .poll_sites = 3,
				    .flags = AIB_PROC_SPAWN_LOCATIONS | (late ? AIB_PROC_LATE_ATTACH : 0)};
	strcpy(p.exe, "synthetic");
	strcpy(p.runtime_desc, "tokio");
	emit(&p.hdr, AIB_REC_PROCESS, sizeof(p), 0);
	thread_name(MAIN_TID, "synthetic");
	thread_name(WORKER_TID, "tokio-runtime-w");
	thread_name(WORKER_TID + 1, "tokio-runtime-w");
	thread_name(IO_TID, "io-driver");
	location(USER_FILE, "src/bin/synthetic.rs");
	location(TOKIO_FILE, "tokio/src/runtime/blocking/pool.rs");
	/* each worker runs inside a blocking carrier task */
	for (int k = 0; k < 2; k++) {
		carrier[k] = (struct slot){.header = 0x7e0000000000ULL + k * 0x100, .id = next_id};
		spawn(next_id++, MAIN_TID, 0, 0, TOKIO_FILE, AIB_SPAWN_BLOCKING);
		poll(AIB_EV_POLL_BEGIN, &carrier[k], WORKER_TID + k, 0, 0);
		struct aib_ev_worker wk = {.index = (__u32)k};
		emit(&wk.hdr, AIB_EV_WORKER_START, sizeof(wk), WORKER_TID + k);
	}
	for (int i = 0; i < live; i++) {
		slots[i].header = 0x7f0000000000ULL + (__u64)i * 0x100; /* reused by each new task */
		if (late) {
			slots[i].id = next_id++;
			slots[i].state = IDLE;
			slots[i].polls_left = 1 + (int)(rnd() % (2 * polls - 1));
		}
	}
	for (int i = 0; open && i < live; i++) { /* spawned from main, first poll Pending */
		struct slot *s = &slots[i];
		__u32 tid = WORKER_TID + (__u32)(i % 2);

		s->id = next_id++;
		spawn(s->id, MAIN_TID, 0, 0, USER_FILE, 0);
		poll(AIB_EV_POLL_BEGIN, s, tid, 1, 0);
		poll(AIB_EV_POLL_END, s, tid, 1, AIB_POLL_PENDING);
	}
	if (open)
		events = 0;

	while (written + 8 < events) {
		struct slot *s = &slots[rnd() % live], *o;
		__u32 tid = WORKER_TID + (__u32)(rnd() % 2);
		int k = (int)(tid - WORKER_TID);

		switch (s->state) {
		case EMPTY: /* spawned from inside the carrier of a worker, or from main */
			s->id = next_id++;
			s->state = SPAWNED;
			s->polls_left = 1 + (int)(rnd() % (2 * polls - 1));
			if (rnd() % 2)
				spawn(s->id, tid, carrier[k].header, carrier[k].id, USER_FILE, 0);
			else
				spawn(s->id, MAIN_TID, 0, 0, USER_FILE, 0);
			break;
		case SPAWNED:
		case RUNNABLE:
			poll(AIB_EV_POLL_BEGIN, s, tid, 1, 0);
			o = &slots[rnd() % live];
			if (o != s && o->state == IDLE && rnd() % 2) { /* wakes another task */
				wake(o, s, tid);
				o->state = RUNNABLE;
			}
			if (--s->polls_left == 0) {
				poll(AIB_EV_POLL_END, s, tid, 1, AIB_POLL_READY);
				struct aib_ev_task d = {.task = s->header, .task_id = s->id};
				emit(&d.hdr, AIB_EV_DEALLOC, sizeof(d), tid);
				s->state = EMPTY;
			} else if (rnd() % 8 == 0) { /* yields: wakes itself */
				wake(s, s, tid);
				poll(AIB_EV_POLL_END, s, tid, 1, AIB_POLL_NOTIFIED);
				s->state = RUNNABLE;
			} else {
				poll(AIB_EV_POLL_END, s, tid, 1, AIB_POLL_PENDING);
				s->state = IDLE;
			}
			break;
		case IDLE: /* a timer or I/O readiness */
			wake(s, NULL, IO_TID);
			s->state = RUNNABLE;
			break;
		}
	}
	struct aib_rec_lost l = {0};
	emit(&l.hdr, AIB_REC_LOST, sizeof(l), 0);
	struct aib_rec_end e = {.events = written, .reason = AIB_END_DURATION};
	emit(&e.hdr, AIB_REC_END, sizeof(e), 0);
	free(slots);
	if (recording_writer__close(w))
		return fprintf(stderr, "gen_recording: cannot write %s\n", argv[1]), 1;
	printf("gen_recording: %s: %llu records, %llu tasks\n", argv[1], (unsigned long long)written,
	       (unsigned long long)next_id - 1);
	return 0;
}
