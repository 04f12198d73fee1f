// SPDX-License-Identifier: MIT
/*
 * A fuzzed executable through what a session does with the target's file:
 * binary__open (ELF, symbols, DWARF, CFI), symbol lookups, reads and
 * address translations, tables of code pointers found by their shape (tokio's
 * and async-task's vtables), the functions of its CFI, then the symbolizer
 * and the unwinder on it.
 */
#include <stdlib.h>
#include <string.h>
#include "binary/binary.h"
#include "binary/cfi_functions.h"
#include "binary/elf_symbols.h"
#include "binary/symbolizer.h"
#include "binary/unwinder.h"
#include "runtime/async_task_vtables.h"
#include "runtime/tokio_vtables.h"
#include "fuzz_input.h"

#define MAX_SYMS 64 /* looked at per input: enough to reach every branch */

static int count_match(const struct elf_symbol *sym, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void symbols(const struct elf_symbols *syms, struct symbolizer *sz,
		    const struct unwinder *uw)
{
	static const char *const paths[] = {
		"tokio::runtime::task::raw::poll", "tokio::*", "main", "*", "",
	};
	size_t n = elf_symbols__count(syms), i;
	__u64 off, start, end, slots[4], pcs[8], stack[16] = { 0 };
	struct sym_frame frames[8];
	struct tokio_vtable vt[4];
	struct async_task_vtable at[4];
	struct cfi_function *fns;
	int nfns;
	char buf[64];
	int matched = 0;

	elf_symbols__has_symtab(syms);
	elf_symbols__is_pie(syms);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		elf_symbols__match(syms, paths[i], count_match, &matched);
	elf_symbols__section_bounds(syms, ".rodata", &start, &end);
	elf_symbols__section_bounds(syms, ".data.rel.ro", &start, &end);
	tokio_vtables__find(syms, vt, 4);
	async_task_vtables__find(syms, at, 4);
	nfns = cfi_functions__list(elf_symbols__binary(syms), &fns);
	if (nfns > 0)
		cfi_functions__containing(fns, nfns, fns[nfns / 2].start);
	free(fns);
	for (i = 0; i < n && i < MAX_SYMS; i++) {
		const struct elf_symbol *s = elf_symbols__get(syms, i);

		if (!s || !s->path || !s->raw)
			abort(); /* in range: a symbol, with names */
		elf_symbols__vaddr_to_offset(syms, s->vaddr, &off);
		elf_symbols__read(syms, s->vaddr, buf, s->size < sizeof(buf) ? s->size : sizeof(buf));
		elf_symbols__pointer_slots(syms, s->vaddr, slots, 4);
		elf_symbols__demangle(s->raw, buf, sizeof(buf));
		if (sz) {
			symbolizer__frames(sz, s->vaddr, false, frames, 8);
			symbolizer__frames(sz, s->vaddr + 1, true, frames, 8);
			symbolizer__first_user_frame(sz, &s->vaddr, 1, frames, NULL, NULL);
		}
		if (uw && s->is_func) {
			/* a stack whose slots point back into the function */
			struct stack_snapshot snap = {
				.bias = 0x1000, .ip = s->vaddr + 0x1000, .sp = 0x7fff0000,
				.bp = 0x7fff0040, .stack = (const __u8 *)stack, .len = sizeof(stack),
			};
			for (size_t k = 0; k < 16; k++)
				stack[k] = k & 1 ? s->vaddr + 0x1000 + 4 : 0x7fff0000 + 8 * (k + 1);
			unwinder__unwind(uw, &snap, pcs, 8);
		}
	}
	if (elf_symbols__get(syms, n))
		abort(); /* out of range: NULL */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct fuzz_file f;
	struct binary *b;

	fuzz_file__open(&f, data, size);
	b = binary__open(f.path);
	if (b) {
		struct symbolizer *sz = symbolizer__new(b);
		struct unwinder *uw = unwinder__new(b);

		binary__dwarf(b);
		binary__cfi(b);
		if (binary__symbols(b))
			symbols(binary__symbols(b), sz, uw);
		unwinder__free(uw);
		symbolizer__free(sz);
		binary__free(b);
	}
	fuzz_file__close(&f);
	return 0;
}
