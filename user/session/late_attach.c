// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "session/late_attach.h"
#include "binary/x86_code.h"
#include "inspect/stack_namer.h"
#include "trace/tracer.h"
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
					la->permit_shift, locks, FUTURE_MAX_LOCKS);
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

/* ---- block_on roots parked at attach ---- */

struct thread_stack {
	struct aib_ev_spawn_stack rec;
	__u8 bytes[AIB_STACK_MAX];
};

/* The thread waits in a syscall (/proc/PID/task/TID/syscall: "nr args...
 * sp pc", "running" or -1 otherwise): its registers from then still hold. */
static bool in_syscall(int pid, __u32 tid)
{
	char path[64], line[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return line[0] >= '0' && line[0] <= '9';
}

/* Its stack from sp, up to AIB_STACK_MAX bytes (less near the top of the
 * stack); then, as a spawn record, from the first return address into the
 * executable: the frames below it are the C library's, which the
 * executable's CFI does not cover. false if there is none. */
static bool read_thread_stack(const struct late_attach *la, const struct aib_thread_regs *regs,
			      struct thread_stack *ts)
{
	size_t len = 0, chunk;
	__u64 word, sp = regs->sp;

	/* page by page: the main thread's stack may end a few KiB above sp */
	for (; len < AIB_STACK_MAX; len += chunk) {
		chunk = 4096 - ((sp + len) & 4095);
		if (chunk > AIB_STACK_MAX - len)
			chunk = AIB_STACK_MAX - len;
		if (proc_mem__read(la->mem, sp + len, ts->bytes + len, chunk))
			break;
	}
	for (size_t off = 0; off + 8 <= len; off += 8) {
		memcpy(&word, ts->bytes + off, 8);
		if (word < la->bias || !x86_code__follows_call(la->syms, word - la->bias))
			continue;
		memmove(ts->bytes, ts->bytes + off + 8, len - off - 8);
		/* as if stopped in the call: its CFI row and line are the call's;
		 * the C library's syscall stubs leave bp as the caller had it */
		ts->rec.stack = (struct aib_stack){
			.bias = la->bias, .ip = word - 1, .sp = sp + off + 8, .bp = regs->bp,
			.len = (__u32)(len - off - 8),
		};
		return true;
	}
	return false;
}

/* A runtime of the plan whose loop this stack is in: its id, and the loop
 * function's entry sp. */
static enum aib_runtime loop_of(const struct late_attach *la, const struct thread_stack *ts,
				__u64 *entry_sp)
{
	size_t n;
	const struct runtime_ops *const *rt = runtime__all(&n);

	for (size_t i = 0; i < n; i++)
		if ((la->runtimes & AIB_RUNTIME_BIT(rt[i]->id)) && rt[i]->root_loops &&
		    !stack_namer__loop_frame(la->stacks, &ts->rec.stack, ts->bytes, rt[i]->root_loops,
					     entry_sp))
			return rt[i]->id;
	return AIB_RUNTIME_UNKNOWN;
}

static int found_root(const struct late_attach *la, struct thread_stack *ts, __u32 tid, __u64 ts_ns)
{
	struct aib_root_adopt adopt = {0};
	enum aib_runtime runtime = loop_of(la, ts, &adopt.frame_sp);
	struct aib_ev_spawn *e = &ts->rec.spawn;
	__u64 seq;
	int err;

	if (runtime == AIB_RUNTIME_UNKNOWN)
		return 0;
	seq = tracer__next_root(la->tracer);
	adopt.task = AIB_ROOT_TASK(seq);
	adopt.task_id = AIB_ROOT_ID(seq);
	adopt.runtime = runtime;
	memset(e, 0, sizeof(*e));
	e->hdr.kind = AIB_EV_SPAWN_STACK;
	e->hdr.size = (__u16)(sizeof(ts->rec) + ts->rec.stack.len);
	e->hdr.tid = tid;
	e->hdr.ts = ts_ns;
	e->flags = AIB_SPAWN_TASK_KNOWN | AIB_SPAWN_BLOCK_ON | AIB_SPAWN_FOUND_PARKED;
	e->task = adopt.task;
	e->runtime = runtime;
	/* named and located as a root the probes saw start */
	err = session__on_sample(&ts->rec, e->hdr.size, la->session);
	err = err ?: tracer__adopt_root(la->tracer, tid, &adopt);
	return err ? err : 1;
}

int late_attach__find_roots(const struct late_attach *la)
{
	enum { MAX_THREADS = 4096 };
	struct aib_thread_regs *regs = calloc(MAX_THREADS, sizeof(*regs));
	struct thread_stack *ts = malloc(sizeof(*ts));
	int n, found = 0, err = 0;

	if (!la->stacks || !la->mem || !la->tracer || !regs || !ts) {
		err = la->stacks && la->mem && la->tracer ? -ENOMEM : 0;
		goto out;
	}
	n = tracer__thread_regs(la->tracer, la->pid, regs, MAX_THREADS);
	if (n < 0)
		err = n;
	for (int i = 0; i < n && err >= 0; i++) {
		if (!in_syscall(la->pid, regs[i].tid) || !read_thread_stack(la, &regs[i], ts))
			continue;
		err = found_root(la, ts, regs[i].tid, clock__ns(CLOCK_MONOTONIC));
		found += err > 0;
	}
out:
	free(regs);
	free(ts);
	return err < 0 ? err : found;
}
