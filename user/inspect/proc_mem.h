/* SPDX-License-Identifier: MIT */
/*
 * The memory of a live process, read from outside: runtime addresses through
 * process_vm_readv (one syscall, no ptrace stop), or /proc/PID/mem where that
 * syscall is filtered out; the load bias of its main executable; and its
 * writable private anonymous regions, where heap-allocated objects live.
 * Reading needs the same permission as ptrace attach (same uid and no
 * stricter Yama policy, or CAP_SYS_PTRACE); the target is never stopped, so
 * what is read may be changing under the reader.
 */
#ifndef PROC_MEM_H
#define PROC_MEM_H

#include <linux/types.h>
#include <stddef.h>

struct proc_mem; /* one target process */

/* Opens pid's memory for reading. NULL + errno: ESRCH (no such process),
 * EACCES or EPERM (not allowed to read it), EINVAL (pid <= 0), ENOMEM. */
struct proc_mem *proc_mem__open(int pid);
void proc_mem__close(struct proc_mem *pm);
int proc_mem__pid(const struct proc_mem *pm);

/* Copies len bytes at runtime address addr. 0, -EFAULT if any part of the
 * range is not mapped readable, -ESRCH once the process is gone, -errno. */
int proc_mem__read(struct proc_mem *pm, __u64 addr, void *buf, size_t len);

/* proc_mem__read in the shape of a read callback (ctx is the proc_mem), for
 * code that decodes memory from wherever it comes. */
int proc_mem__read_cb(__u64 addr, void *buf, size_t len, void *ctx);

/* Load bias of the main executable (/proc/PID/exe): runtime address = ELF
 * vaddr + bias, 0 for a non-PIE executable. From the lowest mapping of that
 * file at file offset 0 and the ELF's first PT_LOAD. -ENOENT if the file is
 * not mapped at offset 0, -ENOEXEC if it is not a 64-bit ELF, -errno. */
int proc_mem__load_bias(struct proc_mem *pm, __u64 *bias);

struct proc_mem_region {
	__u64 start, end; /* [start, end), page aligned */
};

/* Calls cb, in address order, for each region a heap object may live in:
 * [heap] and private anonymous read-write mappings (named "[anon:...]"
 * ones too), thread stacks included (they cannot be told apart safely);
 * the main thread's [stack] is left out. At most max_bytes in all: the
 * region that crosses the bound is cut short, later ones skipped.
 * Returns 0, 1 when the bound left memory out, cb's negative return (which
 * stops the walk) or -errno reading the maps. */
int proc_mem__for_each_region(struct proc_mem *pm, __u64 max_bytes,
			      int (*cb)(const struct proc_mem_region *r, void *ctx), void *ctx);

#endif /* PROC_MEM_H */
