/* SPDX-License-Identifier: MIT */
/*
 * async-task 4.3's task vtables (raw.rs TaskVTable, one static per
 * RawTask<F, T, S>) found by their shape and confirmed by their code, so a
 * stripped binary's tasks can be told (include/async_task_layout.h).
 */
#ifndef ASYNC_TASK_VTABLES_H
#define ASYNC_TASK_VTABLES_H

#include <linux/types.h>
#include "async_task_layout.h"

struct elf_symbols;

struct async_task_vtable {
	__u64 addr;			      /* the vtable, in the file's addresses */
	__u64 fns[ASYNC_TASK_VT_FUNCS];	      /* schedule, ..., run, clone_waker */
	__u64 waker[ASYNC_TASK_WAKER_FUNCS]; /* its waker vtable's functions */
};

/* The slot of fns at that vtable offset (ASYNC_TASK_VT_*) */
#define ASYNC_TASK_FN(v, slot) ((v)->fns[(slot) / 8])

/* The confirmed vtables in syms's binary, in address order: up to max into
 * out (out may be NULL when max is 0). Returns how many there are (more
 * than max: the rest were not stored), or -errno (code_tables__find's). */
int async_task_vtables__find(const struct elf_symbols *syms, struct async_task_vtable *out,
			     int max);

#endif
