/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Blocking inside async code: a syscall that keeps a thread in the kernel
 * while it polls a task (a std Mutex's futex wait, thread::sleep, blocking
 * file or socket I/O) stalls every task queued on that worker. The raw
 * syscall tracepoints (BTF-typed, no tracefs needed) time each syscall of
 * the target's threads that starts inside a poll of a tokio task that is
 * not on the blocking pool (thread_state.quiet); one lasting at least
 * `blocked_min_ns` is reported with the user stack of the call, copied at
 * its exit (the frames are still there, unchanged) from the syscall's sp up
 * to the poll's entry.
 */
#ifndef BLOCKING_BPF_H
#define BLOCKING_BPF_H

#include "probe_common.bpf.h"

const volatile __u32 target_tgid; /* 0: blocking not traced */

struct blocked_scratch {
	struct aib_ev_blocked ev;
	__u8 bytes[AIB_STACK_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blocked_scratch);
} blocked_scratch SEC(".maps");

/* This thread of the target, polling a task whose blocking counts. */
static __always_inline struct thread_state *polling_thread(__u32 *top)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct thread_state *ts;

	if (!target_tgid || (__u32)(pid_tgid >> 32) != target_tgid)
		return NULL;
	ts = thread_state_lookup();
	if (!ts || ts->depth == 0)
		return NULL;
	*top = ts->depth - 1;
	barrier_var(*top);
	if (*top >= AIB_MAX_POLL_DEPTH || ts->sp[*top] || (ts->quiet & (1u << *top)))
		return NULL; /* async-task polls (sp set) are not covered yet */
	return ts;
}

static __always_inline int blocking_enter(struct pt_regs *regs, long id)
{
	struct thread_state *ts;
	__u32 top;

	ts = polling_thread(&top);
	if (!ts)
		return 0;
	ts->sys_start = bpf_ktime_get_ns();
	ts->sys_nr = (__u32)id;
	ts->sys_arg = BPF_CORE_READ(regs, di);
	ts->sys_op = id == 202 /* futex */ ? (__u32)BPF_CORE_READ(regs, si) : 0;
	return 0;
}

static __always_inline int blocking_exit(struct pt_regs *regs)
{
	struct blocked_scratch *buf;
	struct thread_state *ts;
	__u64 now, start, sp, top_sp, len;
	__u32 top, zero = 0;

	ts = polling_thread(&top);
	if (!ts || !ts->sys_start)
		return 0;
	start = ts->sys_start;
	ts->sys_start = 0;
	now = bpf_ktime_get_ns();
	if (now - start < blocked_min_ns)
		return 0;
	buf = bpf_map_lookup_elem(&blocked_scratch, &zero);
	if (!buf)
		return 0;
	fill_hdr(&buf->ev.hdr, AIB_EV_BLOCKED, 0, current_tid());
	buf->ev.task = ts->task[top];
	buf->ev.task_id = ts->task_id[top];
	buf->ev.start_ts = start;
	buf->ev.arg = ts->sys_arg;
	buf->ev.syscall = ts->sys_nr;
	buf->ev.op = ts->sys_op;
	sp = BPF_CORE_READ(regs, sp);
	buf->ev.stack.bias = ts->bias;
	buf->ev.stack.ip = BPF_CORE_READ(regs, ip);
	buf->ev.stack.sp = sp;
	buf->ev.stack.bp = BPF_CORE_READ(regs, bp);
	buf->ev.stack.pad = 0;
	top_sp = ts->frame_sp[top];
	len = top_sp > sp ? top_sp + 8 - sp : AIB_STACK_MAX;
	if (len > AIB_STACK_MAX)
		len = AIB_STACK_MAX; /* the innermost frames matter most */
	if (bpf_probe_read_user(buf->bytes, len, (void *)sp))
		len = 0;
	buf->ev.stack.len = (__u32)len;
	buf->ev.hdr.size = (__u16)(sizeof(buf->ev) + len);
	event_output(buf, sizeof(buf->ev) + len);
	return 0;
}

#endif
