// SPDX-License-Identifier: MIT
/*
 * tokio's task vtables by their shape (tokio_vtables.h): a thin use of
 * code_tables with tokio's facts from tokio_layout.h.
 */
#include "runtime/tokio_vtables.h"
#include "binary/code_tables.h"
#include "tokio_layout.h"

#include <errno.h>
#include <stddef.h>

struct out {
	struct tokio_vtable *v;
	int max, n;
};

#define OFF(name) (TOKIO_VT_##name / 8 - TOKIO_VT_FUNCS)

static bool offsets_ok(const __u64 *w, void *ctx)
{
	return TOKIO_VT_OFFSETS_OK(w[OFF(TRAILER_OFFSET)], w[OFF(SCHEDULER_OFFSET)],
				   w[OFF(ID_OFFSET)]);
}

static int store(const struct code_table *t, void *ctx)
{
	struct out *o = ctx;
	const __u64 *f = t->ptrs, *w = t->words;

	if (o->n < o->max)
		o->v[o->n] = (struct tokio_vtable){
			.addr = t->vaddr,
			.poll = f[TOKIO_VT_POLL / 8],
			.schedule = f[TOKIO_VT_SCHEDULE / 8],
			.dealloc = f[TOKIO_VT_DEALLOC / 8],
			.try_read_output = f[TOKIO_VT_TRY_READ_OUTPUT / 8],
			.drop_join_handle_slow = f[TOKIO_VT_DROP_JOIN_HANDLE_SLOW / 8],
			.drop_abort_handle = f[TOKIO_VT_DROP_ABORT_HANDLE / 8],
			.shutdown = f[TOKIO_VT_SHUTDOWN / 8],
			.trailer = w[OFF(TRAILER_OFFSET)],
			.scheduler = w[OFF(SCHEDULER_OFFSET)],
			.id = w[OFF(ID_OFFSET)],
		};
	o->n++;
	return 0;
}

int tokio_vtables__find(const struct elf_symbols *syms, struct tokio_vtable *out, int max)
{
	/* after_code: 17 of the 330 vtables of 30 fixture programs (rustc
	 * 1.95, lld) follow an object that ends in one or two code pointers,
	 * mostly a trait object's vtable (drop, size, align, its methods).
	 * With it the offsets' test still takes nothing else there, and in
	 * sccache the same 14 as without. */
	static const struct code_table_shape shape = {.ptrs = TOKIO_VT_FUNCS,
						      .words = TOKIO_VT_OFFSETS,
						      .after_code = true,
						      .words_ok = offsets_ok};
	struct out o = {out, max, 0};
	int err;

	if (max < 0 || (max && !out))
		return -EINVAL;
	err = code_tables__find(syms, &shape, store, &o);
	return err < 0 ? err : o.n;
}
