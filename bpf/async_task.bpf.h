/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * async-task probes (async-std, smol, blocking): the crate's RawTask vtable
 * functions. No uretprobe anywhere: RawTask::run has no catch_unwind, and a
 * panic unwinding through a uretprobe frame aborts the target. So:
 *
 * - a poll begins at RawTask::run's entry, which pushes (task, sp) on the
 *   thread's poll stack and reports its return address once per call site;
 *   user space then probes that return address (AT_RUN_RETURN);
 * - a poll ends when one of those return sites fires: every entry on the
 *   stack whose frame lies below the current sp is over. Entries left by a
 *   panic are closed where catch_unwind catches it (PANIC_CAUGHT), or by the
 *   next poll entry at the same depth (before its return site is probed);
 * - a new task shows up at Runnable::schedule, which the executors call
 *   right after spawning (wakes schedule through RawTask, not through it);
 *   the stack copied there holds the caller's frames, from which user space
 *   takes the spawn location. Where LTO inlined it, at RawTask::schedule,
 *   for a task not seen running yet (at_seen).
 *
 * Layout (include/async_task_layout.h): the header is not repr(C), so user
 * space reads where it keeps the vtable pointer and the state word off the
 * binary's code and sets them before load.
 */
#ifndef ASYNC_TASK_BPF_H
#define ASYNC_TASK_BPF_H

#include "async_task_layout.h"
#include "probe_common.bpf.h"
#include "await.bpf.h"

const volatile __u64 at_vtable_off = ASYNC_TASK_HDR_VTABLE;
const volatile __u64 at_state_off = ASYNC_TASK_HDR_STATE;

/* Where Runnable::schedule is inlined, RawTask::schedule tells a new task
 * from a woken one by this set of tasks seen running, until a poll of
 * theirs completes or cancels them (destroy is called directly, inlined:
 * no probe sees every free). The value is the vtable the task ran with: a
 * task's last poll ends on its thread after the task completed, and by
 * then another thread may have freed the header and spawned a task of
 * another type there (the thread preempted on its way out of run). */
const volatile bool at_track_seen;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} at_seen SEC(".maps");

/* Return addresses (file vaddrs) of the calls that hand RawTask::schedule
 * a new task (user space finds them in the code: user/runtime/async_task.c):
 * a call from one is a spawn whatever at_seen says. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ASYNC_TASK_SPAWN_CALLS_MAX);
	__type(key, __u64);
	__type(value, __u8);
} at_spawn_calls SEC(".maps");

/* Return addresses already reported (runtime addresses). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} at_ret_sites SEC(".maps");


static __always_inline __u64 at_state(__u64 task)
{
	__u64 state = 0;

	bpf_probe_read_user(&state, sizeof(state), (void *)(task + at_state_off));
	return state;
}

static __always_inline __u64 at_vtable(__u64 task)
{
	__u64 vtable = 0;

	bpf_probe_read_user(&vtable, sizeof(vtable), (void *)(task + at_vtable_off));
	return vtable;
}

/* How the poll of `task` (vtable read at its entry) ended, from its header now. */
static __always_inline __u32 at_result(__u64 task, __u64 vtable, __u64 *state)
{
	*state = at_state(task);
	if (at_vtable(task) != vtable || (*state >> ASYNC_TASK_REF_SHIFT) > MAX_SANE_REFS)
		return AIB_POLL_READY; /* freed: it completed or was dropped */
	if (*state & ASYNC_TASK_STATE_COMPLETED)
		return AIB_POLL_READY;
	if (*state & ASYNC_TASK_STATE_CLOSED)
		return AIB_POLL_CANCELLED;
	if (*state & ASYNC_TASK_STATE_SCHEDULED)
		return AIB_POLL_NOTIFIED;
	return AIB_POLL_PENDING;
}

static __always_inline void at_emit_poll_end(__u32 tid, __u64 task, __u64 state, __u32 result,
					     __u32 depth)
{
	struct aib_ev_poll *e = event_reserve(sizeof(*e));

	if (e)
		fill_hdr(&e->hdr, AIB_EV_POLL_END, sizeof(*e), tid);
	/* done: its header may be a new task's next. Forgotten after this
	 * record's time is taken: a spawn there that finds it gone is later,
	 * and the model has ended this task by then. */
	if (at_track_seen && (result == AIB_POLL_READY || result == AIB_POLL_CANCELLED))
		bpf_map_delete_elem(&at_seen, &task);
	if (!e)
		return;
	e->task = task;
	e->task_id = 0;
	e->state = state;
	e->result = result;
	e->depth = (__u16)depth;
	e->runtime = AIB_RUNTIME_ASYNC_TASK;
	event_submit(e);
}

/*
 * End every async-task poll on top of this thread's stack whose frame is
 * gone: entered at an sp below `sp` (or at `sp` too when `inclusive`). A
 * tokio entry (sp 0) stops the walk: its uretprobe ends it. `panicked`
 * says the frames were unwound rather than returned from.
 */
static __always_inline void at_pop_frames(__u32 tid, struct thread_state *ts, __u64 sp,
					  bool inclusive, bool panicked)
{
	for (int i = 0; i < AIB_MAX_POLL_DEPTH; i++) {
		__u32 top = ts->depth;
		__u64 entry_sp, state, task;
		__u32 result;

		if (top == 0 || top > AIB_MAX_POLL_DEPTH)
			return;
		top = poll_slot(top - 1);
		entry_sp = ts->sp[top];
		if (!entry_sp || entry_sp > sp || (entry_sp == sp && !inclusive))
			return;
		task = ts->task[top];
		result = at_result(task, ts->task_id[top], &state);
		if (panicked)
			result = AIB_POLL_PANICKED;
		if (result != AIB_POLL_PENDING && result != AIB_POLL_NOTIFIED)
			forget_await(task);
		ts->depth = top;
		at_emit_poll_end(tid, task, state, result, top);
	}
}

/* Report a run call's return address the first time it is seen. */
static __always_inline void at_note_return_site(struct thread_state *ts, __u64 sp, __u64 bias)
{
	struct aib_ev_ret_site *e;
	__u64 ret = 0;
	__u8 one = 1;

	if (bpf_probe_read_user(&ret, sizeof(ret), (void *)sp) || ret == ts->last_ret)
		return;
	ts->last_ret = ret;
	if (bpf_map_lookup_elem(&at_ret_sites, &ret))
		return;
	if (bpf_map_update_elem(&at_ret_sites, &ret, &one, BPF_NOEXIST)) {
		count_drop(AIB_DROP_RET_SITES);
		return;
	}
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, AIB_EV_RET_SITE, sizeof(*e), current_tid());
	e->vaddr = ret - bias;
	e->probe = AIB_PROBE_AT_RUN_RETURN;
	e->pad = 0;
	/* every poll from this site ends late until user space probes it */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

static __always_inline int at_run_enter(struct pt_regs *ctx, __u64 task, __u64 bias)
{
	__u32 tid = current_tid();
	struct thread_state *ts = thread_state_get();
	__u64 sp = PT_REGS_SP(ctx);
	struct aib_ev_poll *e;
	__u32 depth;

	if (!ts)
		return 0;
	/* An entry at or below this frame is over: its return was not probed
	 * yet (first call from a new site), or a panic unwound it. */
	at_pop_frames(tid, ts, sp, true, false);
	at_note_return_site(ts, sp, bias);
	depth = ts->depth;
	if (depth >= AIB_MAX_POLL_DEPTH) {
		count_drop(AIB_DROP_DEPTH);
		return 0; /* nothing would pop it: not pushed, not reported */
	}
	ts->task[depth] = task;
	ts->task_id[depth] = at_vtable(task); /* no id: tells a freed header at the end */
	if (at_track_seen)
		bpf_map_update_elem(&at_seen, &task, &ts->task_id[depth], BPF_ANY);
	ts->sp[depth] = sp;
	ts->frame_sp[depth] = sp;
	ts->depth = depth + 1;

	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_POLL_BEGIN, sizeof(*e), tid);
	e->task = task;
	e->task_id = 0;
	e->state = at_state(task);
	e->result = 0;
	e->depth = (__u16)depth;
	e->runtime = AIB_RUNTIME_ASYNC_TASK;
	event_submit(e);
	return 0;
}

/* At a return site sp is one slot above the run call's entry sp. */
static __always_inline int at_run_return(struct pt_regs *ctx)
{
	__u32 tid = current_tid();
	struct thread_state *ts = thread_state_lookup();

	if (ts)
		at_pop_frames(tid, ts, PT_REGS_SP(ctx), false, false);
	return 0;
}

/* catch_unwind's cleanup runs in the frame that caught the panic: every
 * poll entered at or below its sp was unwound. */
static __always_inline int at_panic_caught(struct pt_regs *ctx)
{
	__u32 tid = current_tid();
	struct thread_state *ts = thread_state_lookup();

	if (ts)
		at_pop_frames(tid, ts, PT_REGS_SP(ctx), true, true);
	return 0;
}

static __always_inline int at_wake(__u64 task, __u32 how)
{
	__u32 tid = current_tid();
	struct aib_ev_wake *e = event_reserve(sizeof(*e));

	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_WAKE, sizeof(*e), tid);
	e->task = task;
	e->task_id = 0;
	current_task(&e->waker_task, &e->waker_task_id);
	e->how = how;
	e->runtime = AIB_RUNTIME_ASYNC_TASK;
	event_submit(e);
	return 0;
}

/* Is RawTask::schedule, just entered, called from a spawn? */
static __always_inline bool at_called_to_spawn(struct pt_regs *ctx, __u64 bias)
{
	__u64 ret = 0;

	if (bpf_probe_read_user(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx)))
		return false;
	ret -= bias;
	return bpf_map_lookup_elem(&at_spawn_calls, &ret);
}

/* Runnable::schedule(self): a task not running, completed or closed is new
 * (a reschedule by hand of a waiting task is rare; the model keeps a task
 * it knows to be waiting): report it with a copy of the stack. Through
 * RawTask::schedule (`any`): called from a spawn, the same; else a task
 * seen running is being woken, and one not seen may be one that ran before
 * the attach: the model keeps a task it knows (AIB_SPAWN_UNLESS_KNOWN). */
static __always_inline int at_schedule(struct pt_regs *ctx, __u64 task, __u64 bias, bool any)
{
	__u64 state = at_state(task), *seen_vtable = NULL;
	struct spawn_scratch *buf;
	__u32 flags = AIB_SPAWN_TASK_KNOWN;

	if (state & (ASYNC_TASK_STATE_RUNNING | ASYNC_TASK_STATE_COMPLETED |
		     ASYNC_TASK_STATE_CLOSED))
		return 0;
	if (any && !at_called_to_spawn(ctx, bias)) {
		seen_vtable = bpf_map_lookup_elem(&at_seen, &task);
		if (seen_vtable && *seen_vtable == at_vtable(task))
			return 0;
		/* seen with another vtable: its memory was reused, the task is new */
		if (!seen_vtable)
			flags |= AIB_SPAWN_UNLESS_KNOWN;
	}
	buf = spawn_stack_begin(flags, task, AIB_RUNTIME_ASYNC_TASK);
	if (buf)
		spawn_stack_send(buf, ctx, bias, PT_REGS_IP(ctx), AIB_STACK_MAX);
	return 0;
}

/* core String (Vec<u8>): a pointer, a capacity and a length in an order
 * rustc picks; Option<String>'s None is a capacity above isize::MAX. */
static __always_inline int at_task_name(__u64 builder)
{
	__u64 w[3], ptr, a, b, len;
	struct aib_ev_task_name *e;

	if (bpf_probe_read_user(w, sizeof(w), (void *)builder))
		return 0;
	if (w[0] == (1ULL << 63) || w[1] == (1ULL << 63) || w[2] == (1ULL << 63))
		return 0; /* no name */
	if (w[0] > (1ULL << 32)) {
		ptr = w[0], a = w[1], b = w[2];
	} else if (w[1] > (1ULL << 32)) {
		ptr = w[1], a = w[0], b = w[2];
	} else {
		ptr = w[2], a = w[0], b = w[1];
	}
	len = a < b ? a : b;
	if (len == 0 || a > (1ULL << 32) || b > (1ULL << 32))
		return 0;
	if (len > AIB_TASK_NAME_MAX)
		len = AIB_TASK_NAME_MAX;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_TASK_NAME, sizeof(*e), current_tid());
	e->len = (__u32)len;
	e->pad = 0;
	if (bpf_probe_read_user(e->name, len & (AIB_TASK_NAME_MAX - 1) ?: AIB_TASK_NAME_MAX,
				(void *)ptr))
		e->len = 0;
	event_submit(e);
	return 0;
}

#endif
