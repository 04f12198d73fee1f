/* SPDX-License-Identifier: MIT */
/*
 * The process follower's one record (bpf/follow.bpf.c -> user/trace/
 * follower.c): a process of the followed tree exec'd, and is stopped
 * (SIGSTOP, sent in the exec) before the new program's first instruction,
 * until user space has looked at it and continues it.
 */
#ifndef AIB_FOLLOW_H
#define AIB_FOLLOW_H

#ifdef __bpf__
/* vmlinux.h supplies __u32 */
#else
#include <linux/types.h>
#endif

struct aib_follow_exec {
	__u32 pid;  /* the process (tgid) that exec'd, now stopped */
	__u32 ppid; /* its parent's tgid */
};

#endif
