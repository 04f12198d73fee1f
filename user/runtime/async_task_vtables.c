// SPDX-License-Identifier: MIT
/*
 * async-task's task vtables by their shape (async_task_vtables.h): 7 code
 * pointers, then layout_info, a pointer to data (binary/code_tables) whose
 * static holds 5 words that are no pointers (a TaskLayout); each confirmed
 * by its clone_waker, whose code takes the address of its waker vtable: 4
 * code pointers, the first clone_waker itself. Measured (rustc 1.95,
 * async-task 4.3) on the async-task fixtures and every matrix build of
 * mx_smol (15 builds, test_async_task_stripped): 58 vtables, each slot the
 * RawTask function the symbols name, one per RawTask::run; the other
 * tables of 7 code pointers and a data pointer (1 to 3 a build: trait
 * objects' methods, then a string) have no TaskLayout and no such clone.
 */
#include "runtime/async_task_vtables.h"
#include "binary/code_tables.h"
#include "binary/x86_code.h"

#include <errno.h>
#include <stddef.h>

#define CLONE_INSNS 64 /* clone_waker: a fetch_add, an overflow check, its return */
#define MAX_REFS 32

struct out {
	const struct elf_symbols *syms;
	struct async_task_vtable *v;
	int max, n;
};

/* layout_info points at a TaskLayout: sizes and offsets, no pointers. */
static bool layout_ok(const __u64 *w, void *ctx)
{
	const struct out *o = ctx;
	__u64 vals[ASYNC_TASK_TASK_LAYOUT_WORDS];
	enum code_word kinds[ASYNC_TASK_TASK_LAYOUT_WORDS];

	if (code_tables__words(o->syms, w[0], ASYNC_TASK_TASK_LAYOUT_WORDS, vals, kinds))
		return false;
	for (int i = 0; i < ASYNC_TASK_TASK_LAYOUT_WORDS; i++)
		if (kinds[i] != CODE_WORD_PLAIN || vals[i] >> 32)
			return false;
	return true;
}

/* The waker vtable clone_waker returns (its address taken, or loaded from
 * a GOT slot), whose first function is clone_waker: into fns. */
static bool waker_of(const struct elf_symbols *syms, __u64 clone, __u64 *fns)
{
	struct x86_rip_ref refs[MAX_REFS];
	struct x86_arg0_use use;
	int n = x86_code__rip_refs(syms, clone, CLONE_INSNS, refs, MAX_REFS, &use);

	for (int i = 0; i < n && i < MAX_REFS; i++) {
		enum code_word kinds[ASYNC_TASK_WAKER_FUNCS], kind = CODE_WORD_POINTER;
		__u64 table = refs[i].addr;
		bool all_code = true;

		if (refs[i].call ||
		    (refs[i].loaded && code_tables__words(syms, refs[i].addr, 1, &table, &kind)) ||
		    kind != CODE_WORD_POINTER ||
		    code_tables__words(syms, table, ASYNC_TASK_WAKER_FUNCS, fns, kinds))
			continue;
		for (int k = 0; k < ASYNC_TASK_WAKER_FUNCS; k++)
			all_code &= kinds[k] == CODE_WORD_CODE;
		if (all_code && fns[ASYNC_TASK_WAKER_CLONE] == clone)
			return true;
	}
	return false;
}

static int store(const struct code_table *t, void *ctx)
{
	struct out *o = ctx;
	struct async_task_vtable v = {.addr = t->vaddr};

	for (int k = 0; k < ASYNC_TASK_VT_FUNCS; k++)
		v.fns[k] = t->ptrs[k];
	if (!waker_of(o->syms, ASYNC_TASK_FN(&v, ASYNC_TASK_VT_CLONE_WAKER), v.waker))
		return 0; /* not confirmed */
	if (o->n < o->max)
		o->v[o->n] = v;
	o->n++;
	return 0;
}

int async_task_vtables__find(const struct elf_symbols *syms, struct async_task_vtable *out,
			     int max)
{
	/* after_code: in every build the first task vtable follows the
	 * waker vtables (4 code pointers each) */
	static const struct code_table_shape shape = {
		.ptrs = ASYNC_TASK_VT_FUNCS,
		.words = 1, /* layout_info, right after them */
		.word_kind = CODE_WORD_POINTER,
		.after_code = true,
		.words_ok = layout_ok};
	struct out o = {syms, out, max, 0};
	int err;

	if (!syms || max < 0 || (max && !out))
		return -EINVAL;
	err = code_tables__find(syms, &shape, store, &o);
	return err < 0 ? err : o.n;
}
