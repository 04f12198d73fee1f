/* SPDX-License-Identifier: MIT */
/*
 * A supported async runtime, as generic code asks about it: the planner
 * (its probe sites), the memory scan (its task vtables and headers), the
 * model and the cli (what a state word says, which lock a call is for).
 * One instance per runtime, in its file (runtime/tokio.c,
 * runtime/async_task.c), its memory layout in include/<runtime>_layout.h,
 * which the BPF side shares. A new runtime is one more instance in
 * runtime.c's table.
 */
#ifndef RUNTIME_H
#define RUNTIME_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"

struct elf_symbols;
struct lock_layout;
struct probe_plan;
struct symbolizer;
struct u64_map;

/* Where this binary's task headers keep what the scan and the probes read. */
struct runtime_layout {
	__u32 vtable_off; /* header -> vtable pointer */
	__u32 state_off;  /* header -> state word */
	__u32 poll_slot;  /* vtable -> the pointer to poll_fn */
};

/* A candidate task header, as the runtime judges it. */
enum runtime_header {
	RUNTIME_HEADER_LIVE,
	RUNTIME_HEADER_BAD_STATE,  /* no live task has this state word */
	RUNTIME_HEADER_BAD_FIELDS, /* another header word is impossible */
};

/* The header words check_header sees (both runtimes' headers are 32 bytes) */
#define RUNTIME_HEADER_WORDS 4
#define RUNTIME_VTABLE_WORDS_MAX 16 /* vtable_words at most */
/* A live task has at least one reference (one per waker clone too), never
 * a million: a freed chunk's first word is a free-list pointer, mangled
 * (glibc >= 2.32: (chunk >> 12) ^ next) or not, far above this unless it is
 * a mangled NULL in a brk heap below 4 GiB (non-PIE): then another header
 * word (tokio's queue_next, where glibc keeps its tcache key) gives it away. */
#define RUNTIME_REFS_MAX (1ULL << 20)
#define RUNTIME_USER_ADDR_END (1ULL << 47) /* x86-64 user addresses */

/* A block_on function: its path, and for inlined frames that have only a
 * short name (line tables only), the end of its source file's path. */
struct root_loop {
	const char *path;
	const char *file;
};

/* A runtime function a spawn's stack passes through that says its kind
 * (spawn_blocking, spawn_local): where the spawn was inlined into the
 * program, its stack is all that tells (AIB_SPAWN_BLOCKING, ...). */
struct spawn_kind {
	struct root_loop fn;
	__u32 flag;
};

struct runtime_ops {
	enum aib_runtime id;
	const char *name;

	/* Adds its sites to `plan` with the optional `captures` (enum
	 * probe_capture) it supports: 0, or -ENOENT when the binary has no
	 * such runtime (`why` says what was missing; the plan is left as it
	 * was), or another -errno. */
	int (*add_probes)(const struct elf_symbols *syms, struct probe_plan *plan,
			  unsigned captures, char *why, size_t why_len);

	/* State word bits of a task known from memory alone (no event said) */
	__u64 state_done;      /* completed (or closed): nothing polls it again */
	__u64 state_running;   /* being polled now */
	__u64 state_scheduled; /* woken, waiting for its poll */
	/* Runs each worker thread's loop inside a task of its own, polled for
	 * the runtime's life: a "carrier", no user task (tokio: a blocking
	 * task, from block_on or the worker's start). */
	bool worker_carriers;

	/* The memory scan (inspect/task_scan.c). A task header points at its
	 * vtable, one static per future type, whose poll slot holds a copy of
	 * poll_fn. */
	const char *poll_fn;
	/* Where the binary has no symbols: the poll functions its structure
	 * gives, up to max into out; how many, or -errno. NULL: none. */
	int (*polls_by_structure)(const struct elf_symbols *syms, __u64 *out, int max);
	unsigned vtable_words; /* words of a vtable vtable_ok looks at */
	/* This binary's layout (read off its code where rustc chooses it) */
	void (*layout)(const struct elf_symbols *syms, struct runtime_layout *out);
	/* Are the vtable's first vtable_words words `w` one of this runtime's
	 * (function pointers into the runtime .text [text_lo, text_hi))? Then
	 * *id_offset is where a header keeps the task id, 0 when there is none. */
	bool (*vtable_ok)(const __u64 *w, __u64 text_lo, __u64 text_hi, __u32 *id_offset);
	/* The header's first words, its vtable pointer checked already, and
	 * its state word: is it a live task? */
	enum runtime_header (*check_header)(const __u64 w[RUNTIME_HEADER_WORDS], __u64 state);
	/* ELF vaddr of the counter of the next task id to hand out (ids found
	 * must be below it), 0 when unknown; NULL when the runtime has no ids */
	__u64 (*next_id_vaddr)(const struct elf_symbols *syms);

	/* Functions a thread parked in a block_on runs in ({NULL}-terminated):
	 * one of them on its stack at attach says it has a root. */
	const struct root_loop *root_loops;
	/* The runtime's own threads that run a block_on (an executor thread's
	 * loop): a root called from one is the runtime's, not the program's. */
	const struct root_loop *own_loops;
	/* Functions that spawn the runtime's own carrier tasks (tokio's
	 * workers): a spawn seen by its stack from one is the runtime's. */
	const struct root_loop *own_spawns;
	/* The kinds of spawn a stack tells ({{NULL}}-terminated), or NULL. */
	const struct spawn_kind *spawn_kinds;

	/* What a lock acquire is for, from a function on the path to its
	 * call; AIB_LOCK_KIND_UNKNOWN for others. NULL: no lock probes. */
	enum aib_lock_kind (*lock_kind)(const char *function);
	/* The layout the lock probes read, from `sources` (enum
	 * layout_source; DWARF first): 0, or -ENOENT (`why` names what was not
	 * recognized where), or another -errno. NULL: no lock probes. */
	int (*lock_layout)(const struct elf_symbols *syms, unsigned sources,
			   struct lock_layout *out, char *why, size_t why_len);
};

/* Where a layout is read from: rustc lays out a non-repr(C) struct as it
 * likes, so never a constant. */
enum layout_source {
	LAYOUT_FROM_DWARF = 1 << 0, /* the type information (debug = "full", dev builds) */
	LAYOUT_FROM_CODE = 1 << 1,  /* the machine code (line tables only, none) */
	LAYOUT_FROM_ANY = LAYOUT_FROM_DWARF | LAYOUT_FROM_CODE,
};

extern const struct runtime_ops tokio_runtime, async_task_runtime;

/* Every supported runtime, in the order a plan adds their sites. */
const struct runtime_ops *const *runtime__all(size_t *n);
/* The runtime of that id, or NULL. */
const struct runtime_ops *runtime__get(enum aib_runtime id);

/* A task of runtime `id` with this state word is being polled now (false
 * for a runtime unknown). */
bool runtime__running(enum aib_runtime id, __u64 state);
/* ... and may be a worker's carrier (worker_carriers): a task found
 * running at attach is one unless its future says otherwise. */
bool runtime__maybe_carrier(enum aib_runtime id, __u64 state);

/* The kind of every lock return site of the plan (probe vaddr -> enum
 * aib_lock_kind), from the functions around each call as the plan's
 * runtimes name them (`sym` may be NULL: then all unknown). NULL + errno. */
struct u64_map *runtime__lock_kinds(const struct probe_plan *plan, struct symbolizer *sym);

#endif /* RUNTIME_H */
