/* SPDX-License-Identifier: MIT */
/*
 * tokio's probe sites in a binary with no symbols, found by its structure
 * (runtime/tokio_stripped.c).
 */
#ifndef TOKIO_STRIPPED_H
#define TOKIO_STRIPPED_H

#include <stddef.h>

struct elf_symbols;
struct probe_plan;

/* Adds the task and waker sites of every confirmed task vtable. 0; -ENOENT,
 * `why` saying what was looked for, when none is; or another -errno. */
int tokio_stripped__add_probes(const struct elf_symbols *syms, struct probe_plan *plan,
			       char *why, size_t why_len);

/* The polls of the confirmed task vtables (the memory scan's, at --pid):
 * up to max into out; how many, or -errno. */
int tokio_stripped__polls(const struct elf_symbols *syms, __u64 *out, int max);

#endif
