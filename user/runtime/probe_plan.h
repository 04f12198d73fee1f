/* SPDX-License-Identifier: MIT */
/*
 * What to attach where: each runtime (runtime/runtime.h) turns a target's
 * symbols into sites of one plan, each naming the BPF program to attach;
 * the tracer attaches a plan without knowing the runtime.
 */
#ifndef PROBE_PLAN_H
#define PROBE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"
#include "async_task_layout.h"

struct probe_site {
	enum aib_probe probe;
	bool retprobe;
	bool required;	  /* attach failure aborts the session */
	__u64 vaddr;	  /* ELF virtual address, also the attach cookie */
	__u8 arg;	  /* the cookie's argument (AIB_COOKIE_ARG) */
	__u64 offset;	  /* file offset for the uprobe */
	const char *what; /* the runtime function, for messages */
	__u64 origin;	  /* AT_RUN_RETURN: the return address the site stands for */
};

/* What the lock probes read (tokio's batch semaphore, bpf/locks.bpf.h),
 * from the binary's DWARF types or its code (runtime_ops.lock_layout). */
struct lock_layout {
	__u32 acq_sem;	       /* Acquire.semaphore: &Semaphore */
	__u32 acq_permits;     /* Acquire.num_permits */
	__u32 acq_queued;      /* Acquire.queued: bool */
	__u8 acq_permits_size; /* 4 (u32: tokio 1.24), 8 (usize: 1.53) */
	__u8 permit_shift;     /* Semaphore.permits holds the free permits << it, over flags */
	__u32 sem_permits;     /* Semaphore.permits: a usize */
};

struct probe_plan {
	__u32 runtimes;		/* AIB_RUNTIME_BIT()s found */
	char runtime_desc[64];	/* "tokio", "async-std (async-task)", ... */
	struct probe_site *sites;
	size_t nsites, cap;
	__u32 poll_sites;
	__u32 spawn_sites;	/* spawn functions (tokio: given a #[track_caller] Location) */
	__u32 spawn_stack_sites; /* tokio: where an inlined spawn's id is taken (its stack read) */
	__u32 await_sites;	/* waker-clone sites: await stacks are taken */
	__u32 root_sites;	/* block_on loop sites (bpf/block_on.bpf.h) */
	/* tokio: settings for the BPF side */
	__u64 next_id_vaddr;
	__u64 loc_lo, loc_hi, str_lo, str_hi;
	bool check_spawn_ids;	  /* sites where a spawned task's id is handed on */
	bool check_blocking_ids; /* the same for spawn_blocking */
	bool spawn_kinds_unknown; /* spawns seen by structure: spawn_blocking's not told apart */
	/* tokio's batch semaphore (locks.bpf.h): sites, and its layout */
	__u32 lock_sites;
	struct lock_layout lock_layout;
	/* blocking syscalls inside tokio polls are timed (blocking.bpf.h) */
	bool blocking;
	/* async-task: header layout for the BPF side */
	__u64 at_vtable_off, at_state_off;
	bool at_track_seen; /* new tasks told at RawTask::schedule (AIB_PROBE_AT_SCHEDULE_ANY) */
	/* the return addresses of the calls there that schedule a new task */
	__u64 at_spawn_calls[ASYNC_TASK_SPAWN_CALLS_MAX];
	__u32 n_at_spawn_calls;
	/* optional functions that were not found, comma separated */
	char missing[1024];
};

struct elf_symbols;

void probe_plan__release(struct probe_plan *plan);
int probe_plan__add(struct probe_plan *plan, const struct probe_site *site);
void probe_plan__note_missing(struct probe_plan *plan, const char *what);
/* Where a #[track_caller] Location (loc_*) and its file name (str_*) may
 * lie: .rodata, and .data.rel.ro in a PIE (the Location holds a pointer). */
void probe_plan__set_location_ranges(struct probe_plan *plan, const struct elf_symbols *syms);
/* A site for every function symbol whose path matches `path` (as
 * elf_symbols__match: exact, or a prefix ending in '*'): the number added,
 * or -errno. */
int probe_plan__add_matching(const struct elf_symbols *syms, struct probe_plan *plan,
			     const char *path, enum aib_probe probe, bool retprobe, bool required);

/* A function to probe, by path: a runtime's plan lists them in a table. */
struct site_spec {
	const char *path;
	enum aib_probe probe;
	bool required; /* without it, the binary has no such runtime */
};

/* Adds the matches of every spec in turn, telling `counted` how many each
 * got. 0; or -ENOENT, `why` saying missing_fmt with the path, when a
 * required one has none; or another -errno. The sites already added stay:
 * the caller's failure path drops them. */
int probe_plan__add_specs(const struct elf_symbols *syms, struct probe_plan *plan,
			  const struct site_spec *specs, size_t nspecs, const char *missing_fmt,
			  void (*counted)(struct probe_plan *plan, const struct site_spec *s, int n),
			  char *why, size_t why_len);

/* A function of a block_on loop to probe (bpf/block_on.bpf.h), by path;
 * every match is added. */
struct root_spec {
	const char *path;
	enum aib_probe probe;
	unsigned keep;	   /* at the first emulated instruction with these registers
			      (enum x86_keep) intact; 0 = at the entry itself */
	bool also_return;  /* and a uretprobe (on a function that runs no user code) */
	bool return_sites; /* at the return site of each call instead */
};

#define ROOT_ENTRY(path, probe, keep) {(path), (probe), (keep), false, false}
#define ROOT_ENTRY_AND_RETURN(path, probe, keep) {(path), (probe), (keep), true, false}
#define ROOT_RETURN_SITES(path, probe) {(path), (probe), X86_KEEP_SP, false, true}

/* Adds every spec's sites: the number of sites, or -errno. */
int probe_plan__add_roots(const struct elf_symbols *syms, struct probe_plan *plan,
			  const struct root_spec *specs, size_t nspecs);

/* The same for an optional entry probe that fires often: each site at the
 * function's first instruction the kernel emulates with sp and the `keep`
 * registers (enum x86_keep) still as at entry (x86_code__cheap_point). */
int probe_plan__add_matching_cheap(const struct elf_symbols *syms, struct probe_plan *plan,
				   const char *path, enum aib_probe probe, unsigned keep);
/* The first function whose path matches (as elf_symbols__match), or 0. */
__u64 probe_plan__function(const struct elf_symbols *syms, const char *path);
/* A site for every return address of a call of the function at `target`
 * found in the file (direct, or through its pointer slots; up to max), at
 * the first instruction after it the kernel emulates with sp and the `keep`
 * registers intact; `origin` = the return address. How many were added, or
 * -errno. */
int probe_plan__add_return_sites(const struct elf_symbols *syms, struct probe_plan *plan,
				 __u64 target, enum aib_probe probe, unsigned keep, const char *what,
				 int max);
/* std's catch_unwind cleanup (`__rust_panic_cleanup`, whose v0 path
 * carries a crate hash), called where a catch_unwind caught a panic: its
 * address, or 0. */
__u64 probe_plan__panic_cleanup(const struct elf_symbols *syms);
/* Append ", what" (or "what") to the runtime description. */
void probe_plan__describe(struct probe_plan *plan, const char *what);

/* The optional captures, each a price per event that the default mode
 * (lifecycles, wakes, await sites) does not pay: see README, Performance. */
enum probe_capture {
	PROBE_CAPTURE_LOCKS = 1 << 0,	 /* tokio's batch semaphore (locks.bpf.h) */
	PROBE_CAPTURE_BLOCKING = 1 << 1, /* syscalls inside polls (blocking.bpf.h) */
	PROBE_CAPTURE_ALL = PROBE_CAPTURE_LOCKS | PROBE_CAPTURE_BLOCKING,
};

/*
 * Every supported runtime found in the binary's symbols, each adding its
 * sites to one plan, with the optional `captures` (enum probe_capture) it
 * supports: 0, or -ENOENT when there is none (`why` says what was looked
 * for), or another -errno.
 */
int probe_plan__for_binary(const struct elf_symbols *syms, struct probe_plan *plan,
			   unsigned captures, char *why, size_t why_len);

#endif
