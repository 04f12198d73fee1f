// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "session/late_attach.h"
#include "lib/clock.h"
#include "inspect/future_decoder.h"
#include "runtime/runtime.h"
#include "inspect/proc_mem.h"
#include "session/session.h"

/* A task running at attach: a tokio worker thread's carrier (a blocking
 * task around the worker loop, running for the runtime's life) unless its
 * future's type says otherwise, which takes full debug info. Left out: a
 * user's task in a poll shows up at the poll's end anyway. */
static bool is_carrier(const struct late_attach *la, const struct found_task *f,
		       struct future_await *fa)
{
	if (!runtime__maybe_carrier(f->runtime, f->state))
		return false;
	if (!la->decoder || !la->mem ||
	    future_decoder__tokio_task(la->decoder, f->header, la->bias, proc_mem__read_cb, la->mem,
				       fa))
		return true;
	return !fa->nframes && strstr(fa->leaf_type, "scheduler::multi_thread::worker");
}

/* The tokio locks a task found at attach holds and waits for, read from
 * its parked future (full debug info): held before any probe could see. */
static void found_locks(const struct late_attach *la, const struct found_task *f, __u64 ts)
{
	struct future_lock locks[FUTURE_MAX_LOCKS];
	struct aib_ev_lock e = {.hdr = {.kind = AIB_EV_LOCK, .size = sizeof(e), .ts = ts}};
	int n;

	if (!la->decoder || !la->mem || f->runtime != AIB_RUNTIME_TOKIO ||
	    runtime__running(f->runtime, f->state))
		return;
	n = future_decoder__tokio_locks(la->decoder, f->header, la->bias, proc_mem__read_cb, la->mem,
					locks, FUTURE_MAX_LOCKS);
	for (int i = 0; i < n; i++) {
		e.sem = locks[i].sem;
		e.task = f->header;
		e.task_id = f->id;
		e.available = ~0ULL;
		e.permits = locks[i].permits;
		e.op = locks[i].waiting ? AIB_LOCK_PENDING : AIB_LOCK_HELD;
		e.kind = (__u16)locks[i].kind;
		session__emit(la->session, &e.hdr);
	}
}

int late_attach__find_tasks(const struct late_attach *la, struct late_attach_stats *st)
{
	enum { MAX_FOUND = 1 << 20 };
	struct found_task *found = calloc(MAX_FOUND, sizeof(*found));
	struct aib_rec_task_found rec = {.hdr = {.kind = AIB_REC_TASK_FOUND, .size = sizeof(rec)}};
	struct future_await fa;
	int n;

	memset(st, 0, sizeof(*st));
	if (!found)
		return -ENOMEM;
	n = task_scan__pid(la->pid, la->syms, NULL, found, MAX_FOUND, &st->scan);
	if (n < 0) {
		free(found);
		return n;
	}
	rec.hdr.ts = clock__ns(CLOCK_MONOTONIC); /* after the scan */
	for (int i = 0; i < n; i++) {
		if (is_carrier(la, &found[i], &fa)) {
			st->carriers++;
			continue;
		}
		rec.task = found[i].header;
		rec.task_id = found[i].id;
		rec.state = found[i].state;
		rec.runtime = found[i].runtime;
		session__emit(la->session, &rec.hdr);
		st->tasks++;
		/* a guard found without the lock probes would never be released */
		if (la->locks)
			found_locks(la, &found[i], rec.hdr.ts);
	}
	free(found);
	return 0;
}
