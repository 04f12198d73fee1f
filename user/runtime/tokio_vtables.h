/* SPDX-License-Identifier: MIT */
/*
 * tokio's task vtables (runtime/task/raw.rs Vtable, one static per future
 * type) found by their shape alone (include/tokio_layout.h), so a stripped
 * binary's tasks can be told. Measured (rustc 1.95) on the fixture programs
 * (30 builds, 330 vtables of tokio 1.24.2) and six programs of 1.53.1 (121):
 * exactly one per raw::poll copy, that copy its poll, and nothing else; the
 * same list once stripped. Debian's stripped sccache (1.24.2): 14.
 */
#ifndef TOKIO_VTABLES_H
#define TOKIO_VTABLES_H

#include <linux/types.h>

struct elf_symbols;

struct tokio_vtable {
	__u64 addr; /* the vtable, in the file's addresses */
	__u64 poll, schedule, dealloc, try_read_output, drop_join_handle_slow,
		drop_abort_handle, shutdown;
	__u64 trailer, scheduler, id; /* offsets from the task header */
};

/* The vtables in syms's binary, in address order: up to max into out
 * (out may be NULL when max is 0). Returns how many there are (more than
 * max: the rest were not stored), or -errno (code_tables__find's). */
int tokio_vtables__find(const struct elf_symbols *syms, struct tokio_vtable *out, int max);

#endif /* TOKIO_VTABLES_H */
