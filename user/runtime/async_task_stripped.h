/* SPDX-License-Identifier: MIT */
/*
 * async-task in a binary with no symbols, found by its structure
 * (runtime/async_task_stripped.c): async_task_runtime's plan, layout and
 * memory scan there.
 */
#ifndef ASYNC_TASK_STRIPPED_H
#define ASYNC_TASK_STRIPPED_H

#include <linux/types.h>
#include <stddef.h>

struct elf_symbols;
struct probe_plan;

/* Runnable::run found by its code (a jump through the run slot of the
 * vtable its argument's header points at), or 0: none, or candidates that
 * disagree on where the header keeps its vtable. */
__u64 async_task_stripped__runnable_run(const struct elf_symbols *syms);

/* The whole plan: the sites of the confirmed task vtables, and those found
 * in the code around them. As runtime_ops.add_probes: 0, -ENOENT (`why`
 * says what was looked for; the plan left as it was), another -errno. */
int async_task_stripped__add_probes(const struct elf_symbols *syms, struct probe_plan *plan,
				    char *why, size_t why_len);

/* runtime_ops.polls_by_structure: the confirmed vtables' run functions. */
int async_task_stripped__runs(const struct elf_symbols *syms, __u64 *out, int max);

#endif
