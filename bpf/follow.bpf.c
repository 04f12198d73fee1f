// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Follows a process tree (`async-inspect-bpf test -- CMD`): every process
 * CMD starts, at any depth, is in `followed` from its fork; when one
 * exec's, it is stopped before the new program's first instruction (a
 * SIGSTOP sent from the exec, delivered on its way back to user mode) and
 * reported, so user space can attach probes to it before anything runs,
 * then continue it. Every fork and exec of the machine passes here: a hash
 * lookup on the tgid is the test.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "aib_follow.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define SIGSTOP 19

/* tgids of the tree; user space puts CMD's in before it runs */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} followed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} follow_events SEC(".maps");

/* Processes whose exec could not be reported (ring full): not stopped. */
__u64 follow_lost;

SEC("tp_btf/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (ptgid == ctgid || !bpf_map_lookup_elem(&followed, &ptgid))
		return 0; /* a new thread, or not ours */
	bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(follow_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct aib_follow_exec *e;

	if (!bpf_map_lookup_elem(&followed, &tgid))
		return 0;
	e = bpf_ringbuf_reserve(&follow_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&follow_lost, 1);
		return 0; /* unseen, so not stopped: it runs untraced */
	}
	e->pid = tgid;
	e->ppid = p->real_parent ? p->real_parent->tgid : 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	bpf_send_signal(SIGSTOP);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(follow_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->pid == p->tgid) /* the process, not one of its threads */
		bpf_map_delete_elem(&followed, &tgid);
	return 0;
}
