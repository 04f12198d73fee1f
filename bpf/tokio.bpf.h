/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tokio probes: spawn calls, poll begin/end, wakes, shutdown, dealloc and
 * worker start, streamed through one ring buffer as the records of
 * include/aib_events.h. Everything here is on the traced program's hot path:
 * one map lookup and a few user reads per hit, no loops beyond the unrolled
 * argument scan at spawn.
 *
 * Layout (include/tokio_layout.h): the task header is repr(C), the state
 * word at +0 and the vtable pointer at +16; the task id lives at
 * header + *(vtable + TOKIO_VT_ID_OFFSET).
 */
#ifndef TOKIO_BPF_H
#define TOKIO_BPF_H

#include "tokio_layout.h"
#include "probe_common.bpf.h"
#include "await.bpf.h"

/* Set by user space before load. */
const volatile __u64 next_id_vaddr; /* ELF vaddr of tokio's NEXT_ID, 0 = none */
/* ELF vaddr ranges where a &'static Location and its file name may live */
const volatile __u64 loc_lo, loc_hi, str_lo, str_hi;
/* Probe sites exist where the new task's id is handed on: for async/local
 * spawns (Handle::spawn, OwnedTasks::bind), for blocking ones
 * (Spawner::spawn_task). Then each spawn call's prediction is checked there. */
const volatile bool check_spawn_ids, check_blocking_ids;

/* Per thread: the id predicted at its last spawn call, until checked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} spawn_calls SEC(".maps");

/* Headers of tasks on the blocking pool (spawn_blocking, and the carriers
 * tokio runs each worker in), deleted at dealloc: see thread_state.quiet. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} blocking_tasks SEC(".maps");

/* The offset of the task id of tasks with this vtable: 0 when unreadable. */
static __always_inline __u64 id_offset(struct thread_state *ts, __u64 vtable)
{
	__u32 slot = (vtable >> 4) & (ID_OFF_CACHE - 1);
	__u64 id_off = 0;

	if (ts && ts->id_offs[slot].vtable == vtable)
		return ts->id_offs[slot].id_off;
	if (bpf_probe_read_user(&id_off, sizeof(id_off), (void *)(vtable + TOKIO_VT_ID_OFFSET)) ||
	    id_off == 0 || id_off > 4096)
		return 0;
	if (ts) {
		ts->id_offs[slot].vtable = vtable;
		ts->id_offs[slot].id_off = id_off;
	}
	return id_off;
}

/* A task's state word, and its id (0 when unreadable). The header and, in
 * every layout seen, the id lie in its first TASK_HEAD bytes: one user read
 * instead of four on every hit (each is a fault-safe copy, ~50 ns). */
#define TASK_HEAD 64
_Static_assert(TOKIO_HDR_SIZE <= TASK_HEAD, "the header is read in one block");
static __always_inline __u64 task_head(struct thread_state *ts, __u64 task, __u64 *state)
{
	__u64 head[TASK_HEAD / 8], id_off, id = 0;

	*state = 0;
	if (bpf_probe_read_user(head, sizeof(head), (void *)task)) {
		/* the block crosses into an unmapped page: word by word */
		__u64 vtable = 0;

		bpf_probe_read_user(state, sizeof(*state), (void *)(task + TOKIO_HDR_STATE));
		if (bpf_probe_read_user(&vtable, sizeof(vtable), (void *)(task + TOKIO_HDR_VTABLE)))
			return 0;
		id_off = id_offset(ts, vtable);
		if (id_off)
			bpf_probe_read_user(&id, sizeof(id), (void *)(task + id_off));
		return id;
	}
	*state = head[TOKIO_HDR_STATE / 8];
	id_off = id_offset(ts, head[TOKIO_HDR_VTABLE / 8]);
	if (!id_off)
		return 0;
	if (id_off <= TASK_HEAD - 8 && !(id_off & 7))
		return head[(id_off / 8) & (TASK_HEAD / 8 - 1)];
	bpf_probe_read_user(&id, sizeof(id), (void *)(task + id_off));
	return id;
}

static __always_inline __u64 task_id_of(struct thread_state *ts, __u64 task)
{
	__u64 state;

	return task_head(ts, task, &state);
}

static __always_inline int poll_enter(__u64 task, __u64 sp, __u64 bias)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = thread_state_get();
	struct aib_ev_poll *e;
	__u64 id, state;
	__u32 depth;

	if (!ts)
		return 0;
	id = task_head(ts, task, &state);
	depth = ts->depth++;
	ts->bias = bias;
	if (depth < AIB_MAX_POLL_DEPTH) {
		__u32 bit = 1u << depth;

		ts->task[depth] = task;
		ts->task_id[depth] = id;
		ts->sp[depth] = 0;
		ts->frame_sp[depth] = sp;
		ts->panicked &= ~bit;
		/* which polls may block (blocking.bpf.h): a poll inside a poll
		 * makes the outer one a worker's carrier */
		if (blocked_min_ns) {
			if (depth > 0)
				ts->quiet |= bit >> 1;
			if (bpf_map_lookup_elem(&blocking_tasks, &task))
				ts->quiet |= bit;
			else
				ts->quiet &= ~bit;
		}
	} else {
		count_drop(AIB_DROP_DEPTH);
	}

	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_POLL_BEGIN, sizeof(*e), tid);
	e->task = task;
	e->task_id = id;
	e->state = state;
	e->result = 0;
	e->depth = (__u16)depth;
	e->runtime = AIB_RUNTIME_TOKIO;
	event_submit(e);
	return 0;
}

/* raw::poll returned (uretprobe). */
static __always_inline int poll_return(__u32 tid, struct thread_state *ts)
{
	struct aib_ev_poll *e;
	__u64 task, id, state;
	__u32 depth, result;

	/* An entry we never saw (attached mid-poll) has no frame to pop. */
	if (!ts || ts->depth == 0)
		return 0;
	depth = --ts->depth;
	if (depth >= AIB_MAX_POLL_DEPTH)
		return 0;
	task = ts->task[depth];
	id = ts->task_id[depth];

	if (task_head(ts, task, &state) != id || (state >> TOKIO_REF_SHIFT) > MAX_SANE_REFS ||
	    (state & TOKIO_STATE_RUNNING))
		result = AIB_POLL_READY; /* freed during the poll: it completed */
	else if (state & TOKIO_STATE_COMPLETE)
		result = AIB_POLL_READY;
	else if (state & TOKIO_STATE_NOTIFIED)
		result = AIB_POLL_NOTIFIED;
	else
		result = AIB_POLL_PENDING;
	/* the harness caught a panic of this poll (tokio_panic_caught): the
	 * task stored its JoinError and completed */
	if (ts->panicked & (1u << depth)) {
		ts->panicked &= ~(1u << depth);
		result = AIB_POLL_PANICKED;
	}

	if (result == AIB_POLL_READY || result == AIB_POLL_PANICKED)
		forget_await(task);
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_POLL_END, sizeof(*e), tid);
	e->task = task;
	e->task_id = id;
	e->state = state;
	e->result = result;
	e->depth = (__u16)depth;
	e->runtime = AIB_RUNTIME_TOKIO;
	event_submit(e);
	return 0;
}

/* A catch_unwind in tokio's harness (Harness::poll, poll_future) caught a
 * panic: the task this thread polls panicked. Its raw::poll has not
 * returned (the catch is below it), so it is on top of the poll stack
 * unless an async-task poll is (then this is not tokio's catch). */
static __always_inline int tokio_panic_caught(void)
{
	struct thread_state *ts = thread_state_lookup();
	__u32 top;

	if (!ts || ts->depth == 0)
		return 0;
	top = ts->depth - 1;
	if (top >= AIB_MAX_POLL_DEPTH || ts->sp[top])
		return 0;
	ts->panicked |= 1u << top;
	return 0;
}

static __always_inline int emit_wake(__u64 task, __u32 how)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = thread_state_lookup();
	struct aib_ev_wake *e;

	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_WAKE, sizeof(*e), tid);
	e->task = task;
	e->task_id = task_id_of(ts, task);
	top_task(ts, &e->waker_task, &e->waker_task_id);
	e->how = how;
	e->runtime = AIB_RUNTIME_TOKIO;
	event_submit(e);
	return 0;
}

static __always_inline int emit_task_event(__u64 task, __u16 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct aib_ev_task *e;

	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, kind, sizeof(*e), tid);
	e->task = task;
	e->task_id = task_id_of(thread_state_lookup(), task);
	event_submit(e);
	return 0;
}

/* worker::run(worker: Arc<Worker>): the worker's index in it */
static __always_inline int worker_run(__u64 worker)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct aib_ev_worker *e;
	__u64 index = ~0ULL;

	bpf_probe_read_user(&index, sizeof(index), (void *)(worker + TOKIO_WORKER_INDEX));
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_WORKER_START, sizeof(*e), tid);
	e->index = index < 4096 ? (__u32)index : ~0U;
	e->pad = 0;
	event_submit(e);
	return 0;
}

/* core::panic::Location as rustc lays it out: &str file, line, col. */
struct rust_location {
	__u64 file;
	__u64 file_len;
	__u32 line;
	__u32 col;
};

/* #[track_caller] passes &'static Location as a hidden last argument; which
 * register it lands in depends on how the future argument is passed, so take
 * the first argument that points at something shaped like a Location. */
static __always_inline bool try_location(__u64 arg, __u64 bias, struct aib_ev_spawn *e)
{
	struct rust_location loc;
	__u64 rel = arg - bias, file_rel;

	if (rel < loc_lo || rel >= loc_hi || (rel & 7))
		return false;
	if (bpf_probe_read_user(&loc, sizeof(loc), (void *)arg))
		return false;
	file_rel = loc.file - bias;
	if (file_rel < str_lo || file_rel >= str_hi || loc.file_len == 0 || loc.file_len > 4096 ||
	    loc.line == 0 || loc.line > 10000000 || loc.col > 100000)
		return false;
	e->file_addr = file_rel;
	e->file_len = (__u32)loc.file_len;
	e->line = loc.line;
	e->col = loc.col;
	e->flags |= AIB_SPAWN_HAS_LOCATION;
	return true;
}

static __always_inline int on_spawn_call(struct pt_regs *ctx, __u64 vaddr, __u32 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	/* vaddr is the probed function's ELF address: the difference to the
	 * hit address is the load bias, known here even for a just-exec'd PIE. */
	__u64 bias = PT_REGS_IP(ctx) - vaddr;
	bool checked = flags & AIB_SPAWN_BLOCKING ? check_blocking_ids : check_spawn_ids;
	struct aib_ev_spawn *e;

	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_SPAWN, sizeof(*e), tid);
	e->predicted_id = 0;
	e->file_addr = 0;
	e->file_len = e->line = e->col = 0;
	e->flags = flags;
	e->task = 0;
	e->runtime = AIB_RUNTIME_TOKIO;
	e->pad = 0;
	if (next_id_vaddr)
		bpf_probe_read_user(&e->predicted_id, sizeof(__u64), (void *)(next_id_vaddr + bias));
	current_task(&e->parent_task, &e->parent_task_id);
	if (!try_location(PT_REGS_PARM1(ctx), bias, e) &&
	    !try_location(PT_REGS_PARM2(ctx), bias, e) &&
	    !try_location(PT_REGS_PARM3(ctx), bias, e) &&
	    !try_location(PT_REGS_PARM4(ctx), bias, e))
		try_location(PT_REGS_PARM5(ctx), bias, e);
	/* #[track_caller] wrappers fire too: the same call, stored again */
	if (checked && e->predicted_id &&
	    bpf_map_update_elem(&spawn_calls, &tid, &e->predicted_id, BPF_ANY))
		count_drop(AIB_DROP_THREAD);
	event_submit(e);
	return 0;
}

/* This thread's spawn call got task id `id`: say so (once per call). */
static __always_inline int send_spawn_id(__u32 tid, __u64 id, __u64 next_id)
{
	__u64 *predicted = bpf_map_lookup_elem(&spawn_calls, &tid);
	struct aib_ev_spawn_id *e;
	__u64 first;

	if (!predicted)
		return 0;
	first = *predicted;
	bpf_map_delete_elem(&spawn_calls, &tid);
	/* a leftover from a spawn call that never got this far (it panicked) */
	if (!id || id < first || (next_id && id >= next_id) || id - first > 64)
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_SPAWN_ID, sizeof(*e), tid);
	e->predicted_id = first;
	e->id = id;
	event_submit(e);
	return 0;
}

/* Handle::spawn(&self, future, id), OwnedTasks::bind(&self, task, scheduler,
 * id), ...: the id is the last argument, after a future passed in 0-2
 * registers or by pointer. When no other thread took an id since this
 * thread's spawn call, it is the predicted one; when one did, it is the
 * argument in the range of ids taken meanwhile. */
static __always_inline int on_id_handed_on(struct pt_regs *ctx, __u64 vaddr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 bias = PT_REGS_IP(ctx) - vaddr, next_id = 0, first, id = 0;
	__u64 *predicted = bpf_map_lookup_elem(&spawn_calls, &tid);

	if (!predicted)
		return 0;
	first = *predicted;
	if (next_id_vaddr)
		bpf_probe_read_user(&next_id, sizeof(next_id), (void *)(next_id_vaddr + bias));
	if (next_id == first + 1) {
		id = first;
	} else {
#define IN_RANGE(v) ((v) >= first && (v) < next_id)
		__u64 a5 = PT_REGS_PARM5(ctx), a4 = PT_REGS_PARM4(ctx), a3 = PT_REGS_PARM3(ctx);
		__u64 a2 = PT_REGS_PARM2(ctx);

		id = IN_RANGE(a5) ? a5 : IN_RANGE(a4) ? a4 : IN_RANGE(a3) ? a3 : IN_RANGE(a2) ? a2 : 0;
#undef IN_RANGE
	}
	return send_spawn_id(tid, id, next_id);
}

/* Spawner::spawn_task(&self, task, ...): task is the new header. */
static __always_inline int on_blocking_task(__u64 task)
{
	__u8 one = 1;

	bpf_map_update_elem(&blocking_tasks, &task, &one, BPF_ANY);
	return send_spawn_id((__u32)bpf_get_current_pid_tgid(), task_id_of(NULL, task), 0);
}

/* Register number `reg` (x86 encoding order: rax rcx rdx rbx rsp rbp rsi
 * rdi r8..r15) at the probe. All are read: the verifier takes ctx fields
 * at constant offsets only, which a switch would be compiled out of. */
static __always_inline __u64 x86_reg(struct pt_regs *ctx, __u32 reg)
{
	__u64 regs[16] = {ctx->ax, ctx->cx, ctx->dx,  ctx->bx,	ctx->sp,  ctx->bp,  ctx->si,  ctx->di,
			  ctx->r8, ctx->r9, ctx->r10, ctx->r11, ctx->r12, ctx->r13, ctx->r14, ctx->r15};

	return regs[reg & 15];
}

/* Where no spawn call was seen, the spawn function was inlined into the
 * program, whose frame is the one the id is taken in, or a few up: 4 KiB
 * of stack is enough for user space to unwind to the spawn's line. */
#define INLINED_SPAWN_STACK 4096

/* Just after Id::next's `lock xadd` on NEXT_ID, the register `arg` names
 * (AIB_ID_TAKEN_ARG) holds the id a spawn just took, exactly: a spawn call
 * seen on this thread learns it here, an inlined spawn (none seen) is
 * reported here with its stack. */
static __always_inline int on_id_taken(struct pt_regs *ctx, __u64 vaddr, __u32 arg)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 id = x86_reg(ctx, arg & 15);
	struct spawn_scratch *buf;

	if (bpf_map_lookup_elem(&spawn_calls, &tid))
		return send_spawn_id(tid, id, 0);
	if (!id)
		return 0;
	buf = spawn_stack_begin(0, 0, AIB_RUNTIME_TOKIO);
	if (!buf)
		return 0;
	buf->ev.spawn.predicted_id = id;
	/* named at the xadd: the instruction after it often has line 0 */
	spawn_stack_send(buf, ctx, PT_REGS_IP(ctx) - vaddr, PT_REGS_IP(ctx) - (arg >> 4),
			 INLINED_SPAWN_STACK);
	return 0;
}

/* raw::try_read_output(header, dst, waker): the JoinHandle of `header` is
 * polled by the task this thread polls. */
static __always_inline int on_join(__u64 joined)
{
	__u32 tid = current_tid();
	struct thread_state *ts = thread_state_lookup();
	struct aib_ev_join *e;
	__u64 waiter, waiter_id;

	top_task(ts, &waiter, &waiter_id);
	if (!waiter)
		return 0; /* block_on(handle): no task waits */
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_JOIN, sizeof(*e), tid);
	e->task = joined;
	e->task_id = task_id_of(ts, joined);
	e->waiter = waiter;
	e->waiter_id = waiter_id;
	event_submit(e);
	return 0;
}

#endif
