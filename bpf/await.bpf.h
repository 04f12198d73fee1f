/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Await stacks: which .await a task is parked on. A leaf future that
 * returns Pending clones the task's waker to be woken later, inside the
 * poll, with the whole async call chain on the stack below the poll's
 * entry. So at a waker clone for the task this thread is polling, copy the
 * stack from sp up to that poll's entry sp into the task's slot of
 * `await_stacks` (one per task, overwritten by the next capture, deleted
 * when the task completes). User space unwinds it lazily, only for tasks
 * still parked when it reports, so nothing goes through the ring buffer.
 *
 * The probe sits on the first instruction of clone_waker the kernel
 * emulates (its entry `mov` would be single-stepped, ~20x the price), with
 * the argument and sp still as at entry (x86_code__cheap_entry_point).
 */
#ifndef AWAIT_BPF_H
#define AWAIT_BPF_H

#include "probe_common.bpf.h"

/* Allocated on first capture: only tasks that parked cost memory. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096); /* resized by user space before load */
	__type(key, __u64);
	__type(value, struct aib_await_stack);
} await_stacks SEC(".maps");

/* Zeroes to insert a new slot from (a value is too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aib_await_stack);
} await_zero SEC(".maps");

/* Copy this thread's stack, from sp up to the entry of the poll at `top`,
 * into the slot `key`. */
static __always_inline int copy_await_stack(struct pt_regs *ctx, struct thread_state *ts,
					    __u32 top, __u64 key, __u32 runtime, __u64 bias)
{
	__u32 zero = 0;
	struct aib_await_stack *slot;
	__u64 sp = PT_REGS_SP(ctx), top_sp, len;

	if (top >= AIB_MAX_POLL_DEPTH)
		return 0;
	top_sp = ts->frame_sp[top];
	if (!top_sp || top_sp < sp)
		return 0;
	len = top_sp + 8 - sp; /* the poll's own return address included */
	if (len > AIB_AWAIT_STACK_MAX)
		len = AIB_AWAIT_STACK_MAX; /* the innermost frames matter most */

	slot = bpf_map_lookup_elem(&await_stacks, &key);
	if (!slot) {
		struct aib_await_stack *z = bpf_map_lookup_elem(&await_zero, &zero);

		if (!z)
			return 0;
		if (bpf_map_update_elem(&await_stacks, &key, z, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&await_stacks, &key)) {
			count_drop(AIB_DROP_AWAIT_STACKS);
			return 0;
		}
		slot = bpf_map_lookup_elem(&await_stacks, &key);
		if (!slot)
			return 0;
	}
	/* roots keep their made-up id, async-task entries a vtable there */
	slot->task_id = runtime == AIB_RUNTIME_TOKIO || (ts->roots & (1u << top)) ? ts->task_id[top]
										 : 0;
	slot->ts = bpf_ktime_get_ns();
	slot->tid = current_tid();
	slot->runtime = runtime;
	slot->stack.bias = bias;
	slot->stack.ip = PT_REGS_IP(ctx);
	slot->stack.sp = sp;
	slot->stack.bp = PT_REGS_FP(ctx);
	slot->stack.pad = 0;
	if (bpf_probe_read_user(slot->bytes, len, (void *)sp))
		len = 0;
	slot->stack.len = (__u32)len;
	return 0;
}

static __always_inline int capture_await(struct pt_regs *ctx, __u64 task, __u32 runtime,
					 __u64 bias)
{
	struct thread_state *ts = thread_state_lookup();
	__u32 top;

	if (!ts || ts->depth == 0)
		return 0;
	top = ts->depth - 1;
	if (top >= AIB_MAX_POLL_DEPTH)
		return 0;
	top = poll_slot(top);
	/* a clone for another task (a waker stored elsewhere) says nothing,
	 * nor one by a root's loop between its polls */
	if (ts->task[top] != task || (ts->root_idle & (1u << top)))
		return 0;
	return copy_await_stack(ctx, ts, top, task, runtime, bias);
}

/* The task is over: its slot goes (a reused header starts afresh). */
static __always_inline void forget_await(__u64 task)
{
	bpf_map_delete_elem(&await_stacks, &task);
}

#endif
