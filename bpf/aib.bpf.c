// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The probes of every supported runtime in one object, so tasks of two
 * runtimes in one process share the per-thread poll stacks and the ring
 * buffer. Every entry site runs uprobe_entry and every return site
 * uprobe_return; the attach cookie (include/aib_events.h) says which probe a
 * hit is, and which ELF address it was, hence the load bias.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "aib_events.h"
#include "probe_common.bpf.h"
#include "tokio.bpf.h"
#include "async_task.bpf.h"
#include "locks.bpf.h"
#include "blocking.bpf.h"
#include "block_on.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* One program for all entry sites lets them share one uprobe_multi link: one
 * attach call and one detach grace period instead of one per site. */
SEC("uprobe")
int uprobe_entry(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 arg0 = PT_REGS_PARM1(ctx);
	__u64 bias = PT_REGS_IP(ctx) - AIB_COOKIE_VADDR(cookie);

	switch (AIB_COOKIE_PROBE(cookie)) {
	case AIB_PROBE_POLL:
		return poll_enter(arg0, PT_REGS_SP(ctx), bias);
	case AIB_PROBE_WAKE_BY_VAL:
		return emit_wake(arg0, AIB_WAKE_BY_VAL);
	case AIB_PROBE_WAKE_BY_REF:
		return emit_wake(arg0, AIB_WAKE_BY_REF);
	case AIB_PROBE_SHUTDOWN:
		return emit_task_event(arg0, AIB_EV_SHUTDOWN);
	case AIB_PROBE_DEALLOC:
		forget_await(arg0);
		bpf_map_delete_elem(&blocking_tasks, &arg0);
		return emit_task_event(arg0, AIB_EV_DEALLOC);
	case AIB_PROBE_WORKER_RUN:
		root_note_worker();
		return worker_run(arg0);
	case AIB_PROBE_SPAWN:
		return on_spawn_call(ctx, AIB_COOKIE_VADDR(cookie), 0);
	case AIB_PROBE_SPAWN_BLOCKING:
		return on_spawn_call(ctx, AIB_COOKIE_VADDR(cookie), AIB_SPAWN_BLOCKING);
	case AIB_PROBE_SPAWN_LOCAL:
		return on_spawn_call(ctx, AIB_COOKIE_VADDR(cookie), AIB_SPAWN_LOCAL);
	case AIB_PROBE_BIND:
		return on_id_handed_on(ctx, AIB_COOKIE_VADDR(cookie));
	case AIB_PROBE_BLOCKING_TASK:
		return on_blocking_task(PT_REGS_PARM2(ctx));
	case AIB_PROBE_ID_TAKEN:
		return on_id_taken(ctx, AIB_COOKIE_VADDR(cookie), AIB_COOKIE_ARG(cookie));
	case AIB_PROBE_AT_RUN:
		return at_run_enter(ctx, arg0, bias);
	case AIB_PROBE_AT_RUN_RETURN:
		return at_run_return(ctx);
	case AIB_PROBE_AT_SCHEDULE:
		return at_schedule(ctx, arg0, bias, false);
	case AIB_PROBE_AT_SCHEDULE_ANY:
		return at_schedule(ctx, arg0, bias, true);
	case AIB_PROBE_AT_WAKE:
		return at_wake(arg0, AIB_WAKE_BY_VAL);
	case AIB_PROBE_AT_WAKE_BY_REF:
		return at_wake(arg0, AIB_WAKE_BY_REF);
	case AIB_PROBE_AT_TASK_NAME:
		/* Builder::spawn(self, future) -> io::Result<JoinHandle>: the
		 * result is written through a hidden first pointer, self is next */
		return at_task_name(PT_REGS_PARM2(ctx));
	case AIB_PROBE_PANIC_CAUGHT:
		return at_panic_caught(ctx);
	case AIB_PROBE_AWAIT:
		return capture_await(ctx, arg0, AIB_RUNTIME_TOKIO, bias);
	case AIB_PROBE_AT_AWAIT:
		return capture_await(ctx, arg0, AIB_RUNTIME_ASYNC_TASK, bias);
	case AIB_PROBE_JOIN:
		return on_join(arg0);
	case AIB_PROBE_LOCK_POLL:
		return lock_poll(ctx, arg0);
	case AIB_PROBE_LOCK_POLLED:
		return lock_polled(ctx, AIB_COOKIE_VADDR(cookie));
	case AIB_PROBE_LOCK_RELEASE:
		return lock_release(arg0, PT_REGS_PARM2(ctx));
	case AIB_PROBE_LOCK_DROP:
		return lock_drop(arg0);
	case AIB_PROBE_TOKIO_PANIC:
		return tokio_panic_caught();
	case AIB_PROBE_ROOT_START:
		return root_start(ctx, bias, AIB_RUNTIME_TOKIO);
	case AIB_PROBE_ROOT_START_INLINED:
		return root_start_inlined(ctx, bias);
	case AIB_PROBE_ROOT_START_ASYNC_IO:
		return root_start(ctx, bias, AIB_RUNTIME_ASYNC_TASK);
	case AIB_PROBE_ROOT_END:
		return root_exit();
	case AIB_PROBE_ROOT_RETURNED:
		return root_returned(ctx);
	case AIB_PROBE_ROOT_PARK:
	case AIB_PROBE_ROOT_PARK_NOTIFIED:
		return root_park(ctx, arg0);
	case AIB_PROBE_ROOT_PARK_WOKEN:
		return root_park(ctx, PT_REGS_PARM3(ctx));
	case AIB_PROBE_ROOT_UNPARKED:
		return root_unpark(ctx, ROOT_RESUME_IF_WOKEN);
	case AIB_PROBE_ROOT_WAKE:
		return root_wake(arg0, AIB_WAKE_BY_VAL);
	case AIB_PROBE_ROOT_WAKE_ARC:
		return root_wake(root_arc_key(arg0), AIB_WAKE_BY_VAL);
	case AIB_PROBE_ROOT_AWAIT:
		return root_clone(ctx, arg0, bias);
	case AIB_PROBE_ROOT_AWAIT_ARC:
		return root_clone(ctx, root_arc_key(arg0), bias);
	default:
		return 0;
	}
}

/* tokio's raw::poll returned. Async-task polls and block_on roots entered
 * inside it and not ended yet were unwound (their frames are below this
 * sp): end them first. Or a root's park returned. */
SEC("uretprobe")
int uprobe_return(struct pt_regs *ctx)
{
	__u32 tid = current_tid();
	struct thread_state *ts;

	switch (AIB_COOKIE_PROBE(bpf_get_attach_cookie(ctx))) {
	case AIB_PROBE_ROOT_PARK:
		return root_unpark(ctx, ROOT_RESUME_ALWAYS);
	case AIB_PROBE_ROOT_PARK_NOTIFIED:
		return root_unpark(ctx, ROOT_RESUME_IF_NOTIFIED);
	default:
		break;
	}
	ts = thread_state_lookup();
	if (!ts)
		return 0; /* an entry we never saw (attached mid-poll) */
	pop_unwound(tid, ts, PT_REGS_SP(ctx), ~0ULL);
	poll_return(tid, ts);
	/* a worker's carrier poll returned: the thread, back in the blocking
	 * pool, may run any blocking task now (a block_on of its own too) */
	if (ts->worker_depth > ts->depth + 1)
		ts->worker_depth = 0;
	return 0;
}

/* Blocking syscalls inside polls (blocking.bpf.h): every thread of the
 * system passes here, so the target's tgid is the first test. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	return blocking_enter(regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	return blocking_exit(regs);
}

/* The target exec'd: the image the probes were planned for is gone (and the
 * same binary exec'd again would feed the old session its new tasks). Every
 * exec of the system passes here, rarely: the target's tgid is the test. */
const volatile __u32 exec_tgid;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct aib_ev_exec *e;

	if (!exec_tgid || p->tgid != (pid_t)exec_tgid)
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, AIB_EV_EXEC, sizeof(*e), current_tid());
	event_submit(e);
	return 0;
}

/* The user registers of each thread of the process iterated (the link's
 * pid): those of a blocked thread are where it entered the kernel, which
 * /proc does not tell whole (no bp, needed to unwind frame-pointer code). */
SEC("iter/task")
int thread_regs(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct aib_thread_regs out = {};
	struct pt_regs *regs;

	if (!task)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	out.tid = (__u32)task->pid;
	out.ip = BPF_CORE_READ(regs, ip);
	out.sp = BPF_CORE_READ(regs, sp);
	out.bp = BPF_CORE_READ(regs, bp);
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}
