/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * block_on roots: the future a thread polls itself (a #[tokio::main] or
 * #[tokio::test] body, anything passed to a block_on) is no runtime task,
 * and its poll is often inlined into the block_on loop. What every build
 * keeps (docs/block-on-research.md) is the loop's entry and exit, the park
 * it calls between two polls, and the functions of the root's waker
 * (address-taken, never inlined). So a root is an entry of the thread's
 * poll stack (probe_common.bpf.h) with a made-up identity (AIB_ROOT_TASK):
 *
 * - pushed at the loop's entry (ROOT_START), its first poll beginning;
 * - a poll ends where the loop parks (ROOT_PARK*), and the next begins
 *   where the park returns: always (tokio's park thread), when the root
 *   was woken meanwhile (tokio current_thread, whose loop polls the root
 *   only then: Handle::reset_woken), or when the park says it was
 *   notified (async-io, al = 1);
 * - popped at the loop's exit (ROOT_END, which runs on unwind too), or
 *   when a frame below it starts anew (a new root at or above its sp).
 *
 * Between two polls the root stays on the stack marked idle: the loop's
 * own work (the I/O driver, current_thread tasks) runs with no future of
 * the root being polled, so it is nobody's (top_task). The waker's data
 * pointer (learnt at the park) maps a wake on any thread to its root.
 *
 * Only the park returns are uretprobes, on functions that run no user
 * code (tokio's park::Inner::park, parking::Inner::park); current_thread's
 * Context::park runs callbacks and wakers, so its calls' return sites are
 * probed instead.
 */
#ifndef BLOCK_ON_BPF_H
#define BLOCK_ON_BPF_H

#include "probe_common.bpf.h"
#include "await.bpf.h"
#include "async_task.bpf.h"

/* A root waker's data -> the root it wakes. */
struct root_waker {
	__u64 task, task_id;
	__u32 tid;
	__u16 runtime; /* enum aib_runtime whose loop it is */
	__u16 woken;   /* woken since its loop last looked (ROOT_PARK_WOKEN) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct root_waker);
} root_wakers SEC(".maps");

/* Roots found parked at attach, by tid, until their loop parks again. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct aib_root_adopt);
} root_adopt SEC(".maps");

/* Roots started in the session (user space takes numbers too: roots found
 * at attach). */
__u64 root_seq;

enum root_resume {
	ROOT_RESUME_ALWAYS,
	ROOT_RESUME_IF_WOKEN,
	ROOT_RESUME_IF_NOTIFIED,
};

/* The runtime whose loop the root at `depth` is. */
static __always_inline __u16 root_runtime(const struct thread_state *ts, __u32 depth)
{
	return depth < AIB_MAX_POLL_DEPTH && (ts->root_async_task & (1u << depth))
		       ? AIB_RUNTIME_ASYNC_TASK
		       : AIB_RUNTIME_TOKIO;
}

static __always_inline void root_emit_poll(__u32 tid, struct thread_state *ts, __u32 depth,
					   __u16 kind, __u32 result)
{
	struct aib_ev_poll *e;

	if (depth >= AIB_MAX_POLL_DEPTH)
		return;
	depth = poll_slot(depth);
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, kind, sizeof(*e), tid);
	e->task = ts->task[depth];
	e->task_id = ts->task_id[depth];
	e->state = 0;
	e->result = result;
	e->depth = (__u16)depth;
	e->runtime = root_runtime(ts, depth);
	event_submit(e);
	if (kind == AIB_EV_POLL_BEGIN)
		ts->root_cloned = 0;
}

static __always_inline bool is_root(const struct thread_state *ts, __u32 depth)
{
	return depth < AIB_MAX_POLL_DEPTH && (ts->roots & (1u << depth));
}

/* The root at `top` is over: its poll (if one is open) returned Ready. */
static __always_inline void root_end(__u32 tid, struct thread_state *ts, __u32 top)
{
	struct root_waker *w;
	__u32 bit;
	__u64 key;

	if (top >= AIB_MAX_POLL_DEPTH)
		return;
	top = poll_slot(top);
	bit = 1u << top;
	if (!(ts->root_idle & bit))
		root_emit_poll(tid, ts, top, AIB_EV_POLL_END, AIB_POLL_READY);
	{
		struct aib_ev_task *e = event_reserve(sizeof(*e));

		if (e) {
			fill_hdr(&e->hdr, AIB_EV_DEALLOC, sizeof(*e), tid);
			e->task = ts->task[top];
			e->task_id = ts->task_id[top];
			event_submit(e);
		}
	}
	key = ts->root_key[top];
	w = key ? bpf_map_lookup_elem(&root_wakers, &key) : NULL;
	if (w && w->task == ts->task[top])
		bpf_map_delete_elem(&root_wakers, &key);
	forget_await(ts->task[top]);
	forget_await(AIB_ROOT_FIRST_CLONE(ts->task[top]));
	ts->roots &= ~bit;
	ts->root_idle &= ~bit;
	ts->root_async_task &= ~bit;
	ts->parked_sp = 0;
	ts->depth = top;
}

/* End the roots on top of the stack: those whose frame is at or below
 * `sp` (a frame there starts anew), or all of them (sp = ~0: the task
 * polled below them returned). */
static __always_inline void root_pop(__u32 tid, struct thread_state *ts, __u64 sp)
{
	for (int i = 0; i < AIB_MAX_POLL_DEPTH; i++) {
		__u32 top = ts->depth - 1;

		if (ts->depth == 0 || !is_root(ts, top))
			return;
		top = poll_slot(top);
		if (ts->frame_sp[top] > sp)
			return;
		root_end(tid, ts, top);
	}
}

/* The loop of a new root is entered: push it, its first poll begins. */
static __always_inline int root_start(struct pt_regs *ctx, __u64 bias, __u32 runtime)
{
	__u32 tid = current_tid(), depth, bit;
	struct thread_state *ts = thread_state_get();
	struct spawn_scratch *buf;
	__u64 sp = PT_REGS_SP(ctx), seq;

	if (!ts)
		return 0;
	root_pop(tid, ts, sp);
	/* a tokio worker entering its own runtime runs tasks, no root */
	if (ts->worker_depth && ts->depth + 1 == ts->worker_depth)
		return 0;
	depth = ts->depth;
	if (depth >= AIB_MAX_POLL_DEPTH) {
		count_drop(AIB_DROP_DEPTH);
		return 0;
	}
	depth = poll_slot(depth);
	/* a root found at attach and not adopted yet is over, its loop gone */
	bpf_map_delete_elem(&root_adopt, &tid);
	seq = __sync_fetch_and_add(&root_seq, 1);
	buf = spawn_stack_begin(AIB_SPAWN_TASK_KNOWN | AIB_SPAWN_BLOCK_ON, AIB_ROOT_TASK(seq),
				runtime);
	if (buf)
		spawn_stack_send(buf, ctx, bias, PT_REGS_IP(ctx), AIB_STACK_MAX);
	bit = 1u << depth;
	ts->task[depth] = AIB_ROOT_TASK(seq);
	ts->task_id[depth] = AIB_ROOT_ID(seq);
	ts->sp[depth] = 0;
	ts->frame_sp[depth] = sp;
	ts->root_key[depth] = 0;
	ts->roots |= bit;
	ts->root_idle &= ~bit;
	if (runtime == AIB_RUNTIME_ASYNC_TASK)
		ts->root_async_task |= bit;
	else
		ts->root_async_task &= ~bit;
	ts->quiet &= ~bit; /* blocking inside its poll counts */
	ts->panicked &= ~bit;
	ts->parked_sp = 0;
	ts->bias = bias;
	ts->depth = depth + 1;
	root_emit_poll(tid, ts, depth, AIB_EV_POLL_BEGIN, 0);
	return 0;
}

/* Where a block_on calls CachedParkThread::block_on with enter_runtime
 * inlined (tokio 1.53's multi-thread Runtime::block_on): a root starts,
 * unless enter_runtime's probe opened it from this very frame (1.24's
 * guard-style enter_runtime returns before the same call): a root entered
 * below this sp. */
static __always_inline int root_start_inlined(struct pt_regs *ctx, __u64 bias)
{
	struct thread_state *ts = thread_state_lookup();
	__u32 top;

	if (ts && ts->depth && ts->depth <= AIB_MAX_POLL_DEPTH) {
		top = poll_slot(ts->depth - 1);
		if (is_root(ts, top) && ts->frame_sp[top] < PT_REGS_SP(ctx))
			return 0;
	}
	return root_start(ctx, bias, AIB_RUNTIME_TOKIO);
}

/* The loop's guard is dropped: the root on top is over. A worker's guard,
 * or the guard of a loop entered before the session, finds none. */
static __always_inline int root_exit(void)
{
	struct thread_state *ts = thread_state_lookup();

	if (ts && ts->depth && is_root(ts, ts->depth - 1))
		root_end(current_tid(), ts, ts->depth - 1);
	return 0;
}

/* End the entries a return at `sp` left above it: async-task polls whose
 * frame lies below sp, and roots whose frame is at or below root_sp. They
 * interleave at most once (a root nesting async-task polls): a second pass
 * only when the first ended something. */
static __always_inline void pop_unwound(__u32 tid, struct thread_state *ts, __u64 sp,
					__u64 root_sp)
{
	for (int i = 0; i < 2; i++) {
		__u32 depth = ts->depth;

		at_pop_frames(tid, ts, sp, false, false);
		root_pop(tid, ts, root_sp);
		if (ts->depth == depth)
			return;
	}
}

/* A call of a loop returned (sp one slot above its entry sp): its root,
 * if its guard did not end it, is over, and so is every async-task poll
 * entered inside it. */
static __always_inline int root_returned(struct pt_regs *ctx)
{
	struct thread_state *ts = thread_state_lookup();
	__u64 sp = PT_REGS_SP(ctx);

	if (ts)
		pop_unwound(current_tid(), ts, sp, sp - 8);
	return 0;
}

/* A root found parked at attach, its loop parking again: onto the poll
 * stack, idle (the poll just over was not seen). */
static __always_inline void root_adopt_parked(__u32 tid, struct thread_state *ts, __u64 sp)
{
	struct aib_root_adopt *a = bpf_map_lookup_elem(&root_adopt, &tid);
	__u32 depth = ts->depth, bit;

	if (!a)
		return;
	if (sp < a->frame_sp && depth < AIB_MAX_POLL_DEPTH) {
		depth = poll_slot(depth);
		bit = 1u << depth;
		ts->task[depth] = a->task;
		ts->task_id[depth] = a->task_id;
		ts->sp[depth] = 0;
		ts->frame_sp[depth] = a->frame_sp;
		ts->root_key[depth] = 0;
		ts->roots |= bit;
		ts->root_idle |= bit;
		ts->quiet |= bit;
			if (a->runtime == AIB_RUNTIME_ASYNC_TASK)
			ts->root_async_task |= bit;
		else
			ts->root_async_task &= ~bit;
		ts->depth = depth + 1;
	}
	bpf_map_delete_elem(&root_adopt, &tid);
}

/* The loop parks: the root's poll is over. A park inside that park (the
 * driver's own) or inside a task's poll is not the loop's. */
static __always_inline int root_park(struct pt_regs *ctx, __u64 key)
{
	__u32 tid = current_tid(), top, bit;
	struct thread_state *ts = thread_state_get();
	struct root_waker *w, fresh = {};

	if (!ts || ts->parked_sp)
		return 0;
	if (ts->depth == 0)
		root_adopt_parked(tid, ts, PT_REGS_SP(ctx));
	if (ts->depth == 0)
		return 0;
	top = ts->depth - 1;
	if (!is_root(ts, top))
		return 0;
	top = poll_slot(top);
	bit = 1u << top;
	ts->parked_sp = PT_REGS_SP(ctx);
	if (key && ts->root_key[top] != key) {
		ts->root_key[top] = key;
		w = bpf_map_lookup_elem(&root_wakers, &key);
		if (!w || w->task != ts->task[top]) {
			fresh.task = ts->task[top];
			fresh.task_id = ts->task_id[top];
			fresh.tid = tid;
			fresh.runtime = root_runtime(ts, top);
			bpf_map_update_elem(&root_wakers, &key, &fresh, BPF_ANY);
		}
	}
	if (!(ts->root_idle & bit)) {
		ts->root_idle |= bit;
		ts->quiet |= bit; /* its loop parks: no blocking in async code */
		root_emit_poll(tid, ts, top, AIB_EV_POLL_END, AIB_POLL_PENDING);
	}
	return 0;
}

/* The loop's park returned (sp one slot above the park's entry sp): the
 * root is polled next if `resume` says so. */
static __always_inline int root_unpark(struct pt_regs *ctx, enum root_resume resume)
{
	__u32 tid = current_tid(), top, bit;
	struct thread_state *ts = thread_state_lookup();
	struct root_waker *w;
	bool poll;
	__u64 key;

	if (!ts || !ts->parked_sp || PT_REGS_SP(ctx) != ts->parked_sp + 8 || ts->depth == 0)
		return 0;
	ts->parked_sp = 0;
	top = ts->depth - 1;
	if (!is_root(ts, top))
		return 0;
	top = poll_slot(top);
	bit = 1u << top;
	if (resume == ROOT_RESUME_IF_WOKEN) {
		key = ts->root_key[top];
		w = key ? bpf_map_lookup_elem(&root_wakers, &key) : NULL;
		poll = w && w->woken;
		if (w)
			w->woken = 0;
	} else if (resume == ROOT_RESUME_IF_NOTIFIED) {
		poll = PT_REGS_RC(ctx) & 1;
	} else {
		poll = true;
	}
	if (!poll || !(ts->root_idle & bit))
		return 0;
	ts->root_idle &= ~bit;
	ts->quiet &= ~bit;
	root_emit_poll(tid, ts, top, AIB_EV_POLL_BEGIN, 0);
	return 0;
}

/* The root polled on top of this thread's stack, or NULL (then *top is
 * not set). */
static __always_inline struct thread_state *polling_root(__u32 *top)
{
	struct thread_state *ts = thread_state_lookup();
	__u32 t;

	if (!ts || ts->depth == 0)
		return NULL;
	t = ts->depth - 1;
	if (!is_root(ts, t) || (ts->root_idle & (1u << t)))
		return NULL;
	*top = poll_slot(t);
	return ts;
}

/* The root waker of `key` is woken (from any thread). A key not known yet
 * (its loop has not parked since the root started) woken by the root's own
 * poll is the root's: a yield. */
static __always_inline int root_wake(__u64 key, __u32 how)
{
	struct root_waker *w = bpf_map_lookup_elem(&root_wakers, &key);
	struct thread_state *ts;
	struct aib_ev_wake *e;
	__u32 top;

	if (!w && (ts = polling_root(&top)) && !ts->root_key[top] && key) {
		struct root_waker fresh = {.task = ts->task[top], .task_id = ts->task_id[top],
					   .tid = current_tid(), .runtime = root_runtime(ts, top)};

		ts->root_key[top] = key;
		bpf_map_update_elem(&root_wakers, &key, &fresh, BPF_ANY);
		w = bpf_map_lookup_elem(&root_wakers, &key);
	}
	if (!w)
		return 0;
	w->woken = 1;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_WAKE, sizeof(*e), current_tid());
	e->task = w->task;
	e->task_id = w->task_id;
	current_task(&e->waker_task, &e->waker_task_id);
	e->how = how;
	e->runtime = w->runtime;
	event_submit(e);
	return 0;
}

/* A root waker is cloned: a leaf future of a root's poll registers it,
 * the .await chain is on this thread's stack. A key not known yet, cloned
 * in the poll of the root on top, shows where that root awaits all the
 * same (even if the waker is another's: a JoinSet's entry). Executors'
 * plumbing clones it too, before the leaf (tokio's RunUntil) or after it
 * (async-executor's Ticker, whose LocalExecutor polls the root future
 * first): the poll's last clone and its first are kept, user space takes
 * the one that shows the program's frames. */
static __always_inline int root_clone(struct pt_regs *ctx, __u64 key, __u64 bias)
{
	struct root_waker *w = bpf_map_lookup_elem(&root_wakers, &key);
	struct thread_state *ts;
	__u32 top, runtime;

	if (w && w->tid != current_tid())
		return 0;
	ts = polling_root(&top);
	if (!ts || (w && w->task != ts->task[top]))
		return 0;
	runtime = root_runtime(ts, top);
	if (!ts->root_cloned) {
		ts->root_cloned = 1;
		copy_await_stack(ctx, ts, top, AIB_ROOT_FIRST_CLONE(ts->task[top]), runtime, bias);
	}
	return copy_await_stack(ctx, ts, top, ts->task[top], runtime, bias);
}

/* async-io's waker_fn closure: its first word is the Arc of the
 * parking::Inner its loop parks on (the key is that Inner, past the
 * Arc's two counters). */
static __always_inline __u64 root_arc_key(__u64 data)
{
	__u64 arc = 0;

	if (bpf_probe_read_user(&arc, sizeof(arc), (void *)data) || !arc)
		return 0;
	return arc + 16;
}

/* tokio's worker::run: roots entered at this depth are the worker's own. */
static __always_inline void root_note_worker(void)
{
	struct thread_state *ts = thread_state_get();

	if (ts)
		ts->worker_depth = ts->depth + 1;
}

#endif
