/* SPDX-License-Identifier: MIT */
/*
 * A synthetic record stream for the unit tests, deterministic for a seed,
 * held in memory (each record 8-byte aligned) and writable as a recording.
 * Shaped like a tokio program traced from its start, with something of
 * everything the model keeps: two workers inside carrier tasks, tokio and
 * async-task tasks (named ones too), a block_on root, spawns whose task
 * never shows (left pending), polls ending Pending, Ready, woken (yields)
 * or panicked, wakes by tasks, themselves and an I/O thread, frees and
 * cancellations, JoinHandle polls, lock waits and holds, blocking calls
 * with frames, await records, and the session's end records.
 */
#ifndef SYNTH_STREAM_H
#define SYNTH_STREAM_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aib_events.h"
#include "record/await_site.h"
#include "record/recording.h"

#define SY_MAIN 100
#define SY_WORKER 101 /* and 102 */
#define SY_IO 103
#define SY_USER_FILE 0x1000
#define SY_LIB_FILE 0x2000

struct synth {
	unsigned char *buf;
	size_t len, cap;
	size_t *off; /* record i at buf + off[i] */
	size_t n, off_cap;
	__u64 ts, seed;
};

struct synth_slot {
	__u64 header, id;
	int state; /* 0 empty, 1 spawned, 2 idle, 3 runnable */
	int polls_left;
	bool async_task, waiting_lock;
	__u64 lock;
};

static inline __u64 synth__rnd(struct synth *s)
{
	s->seed ^= s->seed << 13;
	s->seed ^= s->seed >> 7;
	s->seed ^= s->seed << 17;
	return s->seed;
}

static inline const struct aib_hdr *synth__rec(const struct synth *s, size_t i)
{
	return (const struct aib_hdr *)(s->buf + s->off[i]);
}

/* Append a record (its hdr.size bytes), stamped `gap` ns after the last. */
static inline void synth__put(struct synth *s, struct aib_hdr *h, __u16 kind, __u16 size, __u32 tid,
			      __u64 gap)
{
	size_t need = (size + 7) & ~(size_t)7;

	h->kind = kind;
	h->size = size;
	h->tid = tid;
	h->ts = s->ts += gap;
	if (s->len + need > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1 << 16;
		while (s->cap < s->len + need)
			s->cap *= 2;
		s->buf = realloc(s->buf, s->cap);
	}
	if (s->n == s->off_cap) {
		s->off_cap = s->off_cap ? s->off_cap * 2 : 1024;
		s->off = realloc(s->off, s->off_cap * sizeof(*s->off));
	}
	if (!s->buf || !s->off)
		abort();
	memcpy(s->buf + s->len, h, size);
	s->off[s->n++] = s->len;
	s->len += need;
}

static inline __u64 synth__gap(struct synth *s)
{
	/* mostly short steps, now and then a long quiet spell (tasks park) */
	return synth__rnd(s) % 64 ? 200 + synth__rnd(s) % 800 : 1000000 + synth__rnd(s) % 50000000;
}

static inline void synth__location(struct synth *s, __u64 addr, const char *text)
{
	union {
		struct aib_rec_location rec;
		char buf[sizeof(struct aib_rec_location) + 64];
	} l;

	memset(&l, 0, sizeof(l));
	l.rec.file_addr = addr;
	l.rec.len = (__u32)strlen(text);
	memcpy(l.rec.text, text, l.rec.len);
	synth__put(s, &l.rec.hdr, AIB_REC_LOCATION, (__u16)(sizeof(l.rec) + l.rec.len), 0, 10);
}

static inline void synth__thread(struct synth *s, __u32 tid, const char *name)
{
	struct aib_rec_thread t;

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", name);
	synth__put(s, &t.hdr, AIB_REC_THREAD, sizeof(t), tid, 10);
}

static inline void synth__spawn(struct synth *s, const struct synth_slot *t, __u32 tid,
				const struct synth_slot *parent, __u32 flags)
{
	struct aib_ev_spawn e;

	memset(&e, 0, sizeof(e));
	e.predicted_id = t->async_task ? 0 : t->id;
	e.file_addr = synth__rnd(s) % 4 ? SY_USER_FILE : SY_LIB_FILE;
	e.file_len = 20;
	e.line = 10 + (__u32)(synth__rnd(s) % 5);
	e.col = 5;
	e.flags = flags | AIB_SPAWN_HAS_LOCATION;
	if (parent) {
		e.parent_task = parent->header;
		e.parent_task_id = parent->id;
	}
	if (t->async_task) {
		e.flags |= AIB_SPAWN_TASK_KNOWN;
		e.task = t->header;
		e.runtime = AIB_RUNTIME_ASYNC_TASK;
	} else {
		e.runtime = AIB_RUNTIME_TOKIO;
	}
	synth__put(s, &e.hdr, AIB_EV_SPAWN, sizeof(e), tid, synth__gap(s));
}

static inline void synth__poll(struct synth *s, __u16 kind, const struct synth_slot *t, __u32 tid,
			       __u32 depth, __u32 result)
{
	struct aib_ev_poll e;

	memset(&e, 0, sizeof(e));
	e.task = t->header;
	e.task_id = t->async_task ? 0 : t->id;
	e.depth = (__u16)depth;
	e.result = result;
	e.runtime = t->async_task ? AIB_RUNTIME_ASYNC_TASK : AIB_RUNTIME_TOKIO;
	synth__put(s, &e.hdr, kind, sizeof(e), tid, synth__gap(s));
}

static inline void synth__wake(struct synth *s, const struct synth_slot *t,
			       const struct synth_slot *waker, __u32 tid)
{
	struct aib_ev_wake e;

	memset(&e, 0, sizeof(e));
	e.task = t->header;
	e.task_id = t->async_task ? 0 : t->id;
	e.runtime = t->async_task ? AIB_RUNTIME_ASYNC_TASK : AIB_RUNTIME_TOKIO;
	if (waker) {
		e.waker_task = waker->header;
		e.waker_task_id = waker->async_task ? 0 : waker->id;
	}
	synth__put(s, &e.hdr, AIB_EV_WAKE, sizeof(e), tid, synth__gap(s));
}

static inline void synth__task_ev(struct synth *s, __u16 kind, const struct synth_slot *t, __u32 tid)
{
	struct aib_ev_task e;

	memset(&e, 0, sizeof(e));
	e.task = t->header;
	e.task_id = t->async_task ? 0 : t->id;
	synth__put(s, &e.hdr, kind, sizeof(e), tid, synth__gap(s));
}

static inline void synth__lock(struct synth *s, const struct synth_slot *t, __u32 tid, __u64 sem,
			       __u16 op)
{
	struct aib_ev_lock e;

	memset(&e, 0, sizeof(e));
	e.sem = sem;
	e.task = t->header;
	e.task_id = t->async_task ? 0 : t->id;
	e.acquire = op == AIB_LOCK_RELEASED ? 0 : t->header + 0x40;
	e.available = op == AIB_LOCK_PENDING ? 0 : 1;
	e.permits = 1;
	e.op = op;
	e.kind = AIB_LOCK_KIND_MUTEX;
	synth__put(s, &e.hdr, AIB_EV_LOCK, sizeof(e), tid, synth__gap(s));
}

static inline void synth__frames(struct await_desc *d, const char *fn, __u32 line)
{
	memset(d, 0, sizeof(*d));
	d->method = AIB_AWAIT_STACK;
	d->kind = AIB_WAIT_CHANNEL;
	snprintf(d->detail, sizeof(d->detail), "mpsc receive");
	snprintf(d->frames[0].function, sizeof(d->frames[0].function), "app::%s::{{closure}}", fn);
	snprintf(d->frames[0].file, sizeof(d->frames[0].file), "src/main.rs");
	d->frames[0].line = line;
	d->frames[0].col = 9;
	snprintf(d->frames[1].function, sizeof(d->frames[1].function),
		 "tokio::sync::mpsc::chan::Rx<T,S>::recv");
	d->frames[1].library = true;
	d->nframes = 2;
}

static inline void synth__await(struct synth *s, const struct synth_slot *t, __u32 line)
{
	static __u64 buf[(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
	static struct await_desc d;
	struct aib_rec_await *r;

	synth__frames(&d, line % 2 ? "serve" : "recv_config", line);
	d.captured_ts = s->ts;
	r = await_desc__to_record(&d, t->header, t->async_task ? 0 : t->id, s->ts, buf);
	synth__put(s, &r->hdr, AIB_REC_AWAIT, r->hdr.size, 0, 10);
}

static inline void synth__blocked(struct synth *s, const struct synth_slot *t, __u32 tid)
{
	static __u64 buf[(sizeof(struct aib_rec_blocked) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
	static struct await_desc d;
	struct aib_ev_blocked e;
	struct aib_rec_blocked *r;

	synth__frames(&d, "load", 40 + (__u32)(synth__rnd(s) % 3));
	memset(&e, 0, sizeof(e));
	e.hdr = (struct aib_hdr){.kind = AIB_EV_BLOCKED, .size = sizeof(e), .tid = tid, .ts = s->ts};
	e.task = t->header;
	e.task_id = t->async_task ? 0 : t->id;
	e.start_ts = s->ts > 2000000 ? s->ts - 2000000 : 0;
	e.arg = 0x7f00deadbee0ULL;
	e.syscall = 202;
	r = await_desc__to_blocked_record(&d, &e, buf);
	synth__put(s, &r->hdr, AIB_REC_BLOCKED, r->hdr.size, tid, 10);
}

/* One poll of slot t on thread tid (its state machine step). */
static inline void synth__poll_slot(struct synth *s, struct synth_slot *slots, int live,
				    struct synth_slot *t, __u32 tid)
{
	struct synth_slot *o = &slots[synth__rnd(s) % live];

	synth__poll(s, AIB_EV_POLL_BEGIN, t, tid, 1, 0);
	if (t->waiting_lock) {
		synth__lock(s, t, tid, t->lock, AIB_LOCK_ACQUIRED);
		synth__lock(s, t, tid, t->lock, AIB_LOCK_RELEASED);
		t->waiting_lock = false;
	} else if (!t->async_task && synth__rnd(s) % 16 == 0) {
		t->lock = 0x5000 + (synth__rnd(s) % 4) * 0x40;
		synth__lock(s, t, tid, t->lock, AIB_LOCK_PENDING);
		t->waiting_lock = true;
	}
	if (synth__rnd(s) % 32 == 0)
		synth__blocked(s, t, tid);
	if (o != t && o->state && !o->async_task && synth__rnd(s) % 32 == 0) {
		struct aib_ev_join j;

		memset(&j, 0, sizeof(j));
		j.task = o->header;
		j.task_id = o->id;
		j.waiter = t->header;
		j.waiter_id = t->async_task ? 0 : t->id;
		synth__put(s, &j.hdr, AIB_EV_JOIN, sizeof(j), tid, 50);
	}
	if (o != t && o->state == 2 && synth__rnd(s) % 2) { /* wakes another task */
		synth__wake(s, o, t, tid);
		o->state = 3;
	}
	if (--t->polls_left <= 0 && !t->waiting_lock) {
		__u64 r = synth__rnd(s) % 16;

		synth__poll(s, AIB_EV_POLL_END, t, tid, 1, r == 0 ? AIB_POLL_PANICKED : AIB_POLL_READY);
		synth__task_ev(s, AIB_EV_DEALLOC, t, tid);
		t->state = 0;
	} else if (synth__rnd(s) % 8 == 0) { /* yields: wakes itself */
		synth__wake(s, t, t, tid);
		synth__poll(s, AIB_EV_POLL_END, t, tid, 1, AIB_POLL_NOTIFIED);
		t->state = 3;
	} else {
		synth__poll(s, AIB_EV_POLL_END, t, tid, 1, AIB_POLL_PENDING);
		t->state = 2;
		if (synth__rnd(s) % 8 == 0)
			synth__await(s, t, 20 + (__u32)(synth__rnd(s) % 4));
	}
}

/* About `records` records (a few more: the end), `live` task slots. */
static inline void synth__make(struct synth *s, size_t records, int live, __u64 seed)
{
	struct synth_slot carrier[2], root = {.header = AIB_ROOT_TASK(1), .id = AIB_ROOT_ID(1)};
	struct synth_slot *slots = calloc((size_t)live, sizeof(*slots));
	struct aib_rec_process p;
	__u64 next_id = 1, next_pending = 1ULL << 40;

	memset(s, 0, sizeof(*s));
	s->ts = 1000000000;
	s->seed = seed | 1;
	if (!slots)
		abort();
	memset(&p, 0, sizeof(p));
	p.pid = 4242;
	p.runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO) | AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK);
	p.poll_sites = 3;
	p.flags = AIB_PROC_SPAWN_LOCATIONS;
	strcpy(p.exe, "synthetic");
	strcpy(p.runtime_desc, "tokio + async-std (async-task)");
	synth__put(s, &p.hdr, AIB_REC_PROCESS, sizeof(p), 0, 0);
	synth__thread(s, SY_MAIN, "synthetic");
	synth__thread(s, SY_WORKER, "tokio-runtime-w");
	synth__thread(s, SY_WORKER + 1, "tokio-runtime-w");
	synth__thread(s, SY_IO, "io-driver");
	synth__location(s, SY_USER_FILE, "src/bin/synthetic.rs");
	/* the root, polled on the main thread now and then */
	synth__spawn(s, &root, SY_MAIN, NULL, AIB_SPAWN_TASK_KNOWN | AIB_SPAWN_BLOCK_ON);
	for (int k = 0; k < 2; k++) {
		struct aib_ev_worker wk;

		carrier[k] = (struct synth_slot){.header = 0x7e0000000000ULL + k * 0x100, .id = next_id++};
		synth__spawn(s, &carrier[k], SY_MAIN, NULL, AIB_SPAWN_BLOCKING);
		synth__poll(s, AIB_EV_POLL_BEGIN, &carrier[k], SY_WORKER + k, 0, 0);
		memset(&wk, 0, sizeof(wk));
		wk.index = (__u32)k;
		synth__put(s, &wk.hdr, AIB_EV_WORKER_START, sizeof(wk), SY_WORKER + k, 100);
	}
	for (int i = 0; i < live; i++) {
		slots[i].header = 0x7f0000000000ULL + (__u64)i * 0x100; /* reused by each new task */
		slots[i].async_task = i % 7 == 3;
	}
	synth__location(s, SY_LIB_FILE, "src/lib.rs"); /* after some spawns named it by address */
	while (s->n + 16 < records) {
		struct synth_slot *t = &slots[synth__rnd(s) % live];
		__u32 tid = SY_WORKER + (__u32)(synth__rnd(s) % 2);
		int k = (int)(tid - SY_WORKER);
		__u64 r = synth__rnd(s) % 64;

		if (r == 0) { /* the root's turn: woken by the I/O thread, polled */
			synth__wake(s, &root, NULL, SY_IO);
			synth__poll(s, AIB_EV_POLL_BEGIN, &root, SY_MAIN, 0, 0);
			synth__poll(s, AIB_EV_POLL_END, &root, SY_MAIN, 0, AIB_POLL_PENDING);
			continue;
		}
		if (r == 1) { /* a spawn whose task never shows: left pending */
			struct synth_slot ghost = {.header = 0, .id = next_pending++};

			synth__spawn(s, &ghost, tid, &carrier[k], 0);
			continue;
		}
		switch (t->state) {
		case 0:
			if (t->async_task) {
				struct aib_ev_task_name nm;

				memset(&nm, 0, sizeof(nm));
				nm.len = (__u32)snprintf(nm.name, sizeof(nm.name), "worker-%llu",
							  (unsigned long long)next_id);
				synth__put(s, &nm.hdr, AIB_EV_TASK_NAME, sizeof(nm), tid, 50);
			}
			t->id = next_id++;
			t->state = 1;
			t->polls_left = 1 + (int)(synth__rnd(s) % 7);
			synth__spawn(s, t, synth__rnd(s) % 2 ? tid : SY_MAIN,
				     synth__rnd(s) % 2 ? &carrier[k] : NULL, 0);
			break;
		case 1:
		case 3:
			synth__poll_slot(s, slots, live, t, tid);
			break;
		case 2: /* a timer or I/O readiness, or cancelled */
			if (synth__rnd(s) % 32 == 0) {
				synth__task_ev(s, AIB_EV_SHUTDOWN, t, tid);
				synth__task_ev(s, AIB_EV_DEALLOC, t, tid);
				t->state = 0;
				t->waiting_lock = false;
			} else {
				synth__wake(s, t, NULL, SY_IO);
				t->state = 3;
			}
			break;
		}
	}
	{
		struct aib_rec_lost l;
		struct aib_rec_drops d;
		struct aib_rec_end e;

		memset(&l, 0, sizeof(l));
		l.lost = 3;
		synth__put(s, &l.hdr, AIB_REC_LOST, sizeof(l), 0, 10);
		memset(&d, 0, sizeof(d));
		synth__put(s, &d.hdr, AIB_REC_DROPS, sizeof(d), 0, 10);
		/* the session's end: await records for parked tasks, then END */
		for (int i = 0; i < live; i++)
			if (slots[i].state == 2 && i % 3 == 0)
				synth__await(s, &slots[i], 30);
		memset(&e, 0, sizeof(e));
		e.events = s->n;
		e.reason = AIB_END_DURATION;
		synth__put(s, &e.hdr, AIB_REC_END, sizeof(e), 0, 10);
	}
	free(slots);
}

static inline void synth__free(struct synth *s)
{
	free(s->buf);
	free(s->off);
	memset(s, 0, sizeof(*s));
}

/* Records [from, to) into a recording at path: 0 or -errno. */
static inline int synth__write(const struct synth *s, const char *path, size_t from, size_t to)
{
	struct recording_writer *w = recording_writer__open(path);
	int err = 0;

	if (!w)
		return -errno;
	for (size_t i = from; i < to && i < s->n && !err; i++)
		err = recording_writer__append(w, synth__rec(s, i));
	return recording_writer__close(w) ?: err;
}

#endif
