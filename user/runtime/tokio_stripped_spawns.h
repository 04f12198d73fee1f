/* SPDX-License-Identifier: MIT */
/*
 * tokio's spawns in a binary with no symbol table: its task-id counter and
 * the #[track_caller] functions that hand a spawn its Location, found by
 * the code's structure (tokio_stripped_spawns.c says how).
 */
#ifndef TOKIO_STRIPPED_SPAWNS_H
#define TOKIO_STRIPPED_SPAWNS_H

#include <stddef.h>

struct elf_symbols;
struct probe_plan;

/* Adds the spawn probes (their calls, with the Location read) and the
 * sites where a spawn takes its task id, and sets the plan's next_id_vaddr
 * and Location ranges: the spawn functions added (0 when the counter was
 * not told apart: why says so), or -errno. */
int tokio_stripped_spawns__add(const struct elf_symbols *syms, struct probe_plan *plan, char *why,
			       size_t why_len);

#endif
