/* SPDX-License-Identifier: MIT */
/*
 * A uprobe_multi link (kernel 6.6+) by raw BPF_LINK_CREATE: the installed
 * UAPI headers and libbpf 1.1 predate it. Shared by the tracer and the
 * benchmark that prices one hit, so both measure the same mechanism.
 */
#ifndef UPROBE_MULTI_H
#define UPROBE_MULTI_H

#include <errno.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/types.h>

#define ATTACH_TRACE_UPROBE_MULTI 48 /* enum bpf_attach_type, 6.6+ */

/* The BPF_LINK_CREATE part of union bpf_attr for uprobe_multi. */
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags; /* 1: return probes */
	__u32 pid;
	__u32 pad;
};

/* Attach prog_fd (loaded with expected attach type ATTACH_TRACE_UPROBE_MULTI)
 * at cnt file offsets of path, for process pid. The link fd, or -errno. */
static inline int uprobe_multi__attach(int prog_fd, const char *path, const __u64 *offsets,
				       const __u64 *cookies, __u32 cnt, bool retprobe, int pid)
{
	struct link_create_uprobe_multi attr = {
		.prog_fd = (__u32)prog_fd,
		.attach_type = ATTACH_TRACE_UPROBE_MULTI,
		.path = (__u64)(unsigned long)path,
		.offsets = (__u64)(unsigned long)offsets,
		.cookies = (__u64)(unsigned long)cookies,
		.cnt = cnt,
		.multi_flags = retprobe ? 1U : 0,
		.pid = (__u32)pid,
	};
	int fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

#endif
