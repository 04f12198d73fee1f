/* SPDX-License-Identifier: MIT */
/*
 * Tasks that already exist when the tool attaches, found in the target's
 * memory rather than by the probes (a task parked before the attach is never
 * polled, woken or freed while we watch). A task's header holds a pointer to
 * its runtime's task vtable, a static per future type. The vtables are the
 * pointers to raw::poll / RawTask::run in the target's .data.rel.ro (as the
 * loader relocated them; .rodata in a non-PIE), each checked slot by slot; writable memory is
 * then scanned for words equal to one, and each hit validated by the
 * header's state word, which is what tells a live task from a freed chunk
 * that still holds a stale vtable pointer (a task is freed only once its
 * reference count is zero, and the allocator reuses a freed chunk's first
 * words for its lists).
 *
 * What a runtime's vtables and headers look like is its runtime_ops
 * (runtime/runtime.h): the scan itself knows no runtime.
 */
#ifndef TASK_SCAN_H
#define TASK_SCAN_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"
#include "inspect/proc_mem.h"

struct elf_symbols;
struct task_scan; /* the known vtables of one process */

/* Where memory comes from: 0, or -errno (-EFAULT: not mapped). */
typedef int (*task_scan_read_fn)(__u64 addr, void *buf, size_t len, void *ctx);

struct task_vtable {
	__u64 addr;	   /* runtime address of the vtable */
	__u64 poll_fn;	   /* ELF vaddr of its raw::poll<T,S> / RawTask<F,T,S>::run */
	__u32 id_offset;   /* tokio: header + id_offset holds the task id; else 0 */
	__u8 vtable_off;   /* where the header keeps the vtable pointer */
	__u8 state_off;	   /* ... and the state word */
	__u8 runtime;	   /* enum aib_runtime */
};

struct found_task {
	__u64 header;	/* runtime address of the task header */
	__u64 vtable;	/* runtime address of its vtable */
	__u64 state;	/* the state word as read */
	__u64 id;	/* tokio task::Id, 0 for async-task */
	__u64 poll_fn;	/* ELF vaddr of the task's raw::poll<T,S> (tokio) or
			   RawTask<F,T,S>::run (async-task) */
	enum aib_runtime runtime;
};

struct task_scan_opts {
	__u64 max_bytes;  /* memory scanned at most; 0: TASK_SCAN_MAX_BYTES */
};

#define TASK_SCAN_MAX_BYTES (2ULL << 30)

struct task_scan_stats {
	__u64 regions;		/* regions scanned (in part or whole) */
	__u64 bytes;		/* bytes read and scanned */
	__u64 unreadable;	/* bytes skipped: unmapped since the maps were read */
	__u64 vtables;		/* vtables known */
	__u64 candidates;	/* words equal to a vtable address */
	__u64 rejected;		/* candidates that are no live task, all reasons: */
	__u64 rejected_state;	/* state word (refcount 0 or absurd, bad bits) */
	__u64 rejected_header;	/* other header words (queue_next, owner_id) */
	__u64 rejected_id;	/* tokio id unreadable or not in [1, NEXT_ID) */
	__u64 duplicates;	/* tokio id already seen at another header */
	__u64 next_id;		/* tokio's NEXT_ID as read after the scan, 0: unknown */
	bool truncated;		/* max_bytes left memory unscanned */
	bool tasks_truncated;	/* more tasks than the output array holds */
};

struct task_scan *task_scan__new(void);
void task_scan__free(struct task_scan *ts);

/* Finds every supported runtime's vtables of the executable `syms` (the
 * main executable, loaded at `bias`) in the target's memory, read through
 * `read`, each as its runtime checks it (function slots into the file's
 * .text at that bias; tokio: offsets that make sense). Remembers where
 * tokio's NEXT_ID is, if the symbol exists. Returns the number of vtables
 * added (0: no runtime found, or stripped), or -errno. */
int task_scan__find_vtables(struct task_scan *ts, const struct elf_symbols *syms, __u64 bias,
			    task_scan_read_fn read, void *ctx);

/* Adds one vtable by hand (tests, other sources). 0, -EEXIST, -ENOMEM. */
int task_scan__add_vtable(struct task_scan *ts, const struct task_vtable *vt);
size_t task_scan__vtable_count(const struct task_scan *ts);

/* Runtime address of tokio's NEXT_ID (the next task id to hand out): task
 * ids found must be below its value. 0: unknown, ids only need be >= 1. */
void task_scan__set_next_id_addr(struct task_scan *ts, __u64 addr);

/* Scans the regions (in order, each 8-aligned word) for headers of live
 * tasks: up to max into out, in address order. Stats are reset first.
 * Returns the number of tasks stored (<= max), or -errno (-ENOMEM). */
int task_scan__run(struct task_scan *ts, const struct proc_mem_region *regions, size_t nregions,
		   task_scan_read_fn read, void *ctx, const struct task_scan_opts *opts,
		   struct found_task *out, size_t max, struct task_scan_stats *stats);

/* All of it for a live process: its memory, the load bias of `syms` (its
 * main executable), the vtables, the heap regions, the scan. Returns the
 * number of tasks stored, or -errno: proc_mem__open's (-ESRCH, -EACCES,
 * -EPERM), -ENOENT when the executable has no known task vtable. */
int task_scan__pid(int pid, const struct elf_symbols *syms, const struct task_scan_opts *opts,
		   struct found_task *out, size_t max, struct task_scan_stats *stats);

#endif /* TASK_SCAN_H */
