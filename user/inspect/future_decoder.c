// SPDX-License-Identifier: MIT
/*
 * A tokio task's future, decoded through rustc's DWARF: from the task's
 * header to its future, then down the chain of async fns, each at its
 * suspend point. The types come from binary/dwarf_types (names, vtables,
 * enum layouts: what rustc emits is told there); future_walk reads the
 * target, future_awaitee explores the awaitees that are not async fns,
 * future_locks reads the locks along the chain.
 *
 * From a task header to its future (checked on rustc 1.95, tokio 1.24.2):
 * header+16 is the vtable pointer, whose slot 0 is
 * tokio::runtime::task::raw::poll<T, S>. That function's DIE has T and S as
 * template parameters and a `harness` variable of type
 * Harness<T, S> { cell: NonNull<Cell<T, S>> }, which leads to Cell<T, S>
 * (else Cell is looked up by name: DIEs are per compile unit, types are
 * matched by qualified name across units). In the cell, core.stage.stage is
 * an UnsafeCell<Stage<T>>: variant Running's "__0" is the future.
 */
#include "inspect/future_decoder.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokio_layout.h"
#include "lib/array.h"
#include "lib/str.h"
#include "lib/u64_map.h"
#include "binary/dwarf_die.h"
#include "binary/dwarf_types.h"
#include "inspect/future_awaitee.h"
#include "inspect/future_locks.h"
#include "inspect/future_walk.h"

#define MAX_CHAIN 64	 /* futures walked through per task, async or not */
#define MAX_NODES 2048	 /* types visited exploring, per task */
#define MAX_READS 256	 /* target reads exploring, per task */

struct task_layout {
	int err;	 /* -ENOENT: not a task type we know */
	Dwarf_Off stage; /* Stage<T> */
	__u64 stage_off; /* of it in Cell<T, S> */
	const struct enum_variant *running; /* its Running variant */
	__u64 fut_off;	 /* of T in that variant's member */
	Dwarf_Off fut;	 /* T */
};

struct future_decoder {
	struct dwarf_types *types;
	struct awaitee_explorer *awaitees;
	struct future_locks *locks;
	struct u64_map *tasks; /* poll fn vaddr -> task_layouts[] */
	struct task_layout *task_layouts;
	size_t ntask, task_cap;
};

/* ---- tasks ---- */

/* Cell<T, S> from poll<T, S>: through a variable reaching it by members and
 * pointers (Harness<T, S>.cell.pointer), else by name. */
static bool cell_from_vars(Dwarf_Die *scope, const char *tname, struct future_decoder *d,
			   Dwarf_Die *cell, int depth)
{
	Dwarf_Die c, t;

	if (depth > 8 || dwarf_child(scope, &c))
		return false;
	do {
		int tag = dwarf_tag(&c);

		if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
			if (cell_from_vars(&c, tname, d, cell, depth + 1))
				return true;
			continue;
		}
		if ((tag != DW_TAG_variable && tag != DW_TAG_formal_parameter) ||
		    !die__type(&c, &t))
			continue;
		for (int i = 0; i < 6; i++) { /* Harness -> NonNull -> *const -> Cell */
			const char *n = dwarf_diename(&t);
			Dwarf_Die tt, m;
			const char *q;

			if (die__is_struct(&t) && str__starts(n, "Cell<") &&
			    die__template_param(&t, "T", &tt) &&
			    (q = dwarf_types__name(d->types, &tt)) && !strcmp(q, tname)) {
				*cell = t;
				return true;
			}
			if (dwarf_tag(&t) == DW_TAG_pointer_type) {
				if (!die__type(&t, &t))
					break;
				continue;
			}
			if (!die__is_struct(&t) || !die__first_member(&t, &m) || !die__type(&m, &t))
				break;
		}
	} while (!dwarf_siblingof(&c, &c));
	return false;
}

static bool cell_by_name(struct future_decoder *d, const char *want, Dwarf_Die *first_cu,
			 Dwarf_Die *cell)
{
	static const char *const ns[] = { "tokio", "runtime", "task", "core" };
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie = *first_cu;
	bool first = true;

	do {
		Dwarf_Die die = cudie;
		size_t i = 0;

		if (!first && dwarf_dieoffset(&cudie) == dwarf_dieoffset(first_cu))
			continue;
		for (; i < 4 && die__child_named(&die, DW_TAG_namespace, ns[i], &die); i++)
			;
		if (i == 4 && die__child_named(&die, DW_TAG_structure_type, want, cell))
			return true;
		first = false;
	} while (!dwarf_get_units(dwarf_types__dwarf(d->types), cu, &cu, NULL, NULL, &cudie, NULL));
	return false;
}

static bool is_stage(void *ctx, Dwarf_Die *m, Dwarf_Die *t)
{
	Dwarf_Die vp;

	return die__is_struct(t) && str__starts(dwarf_diename(t), "Stage<") &&
	       die__variant_part(t, &vp);
}

static int build_task(struct future_decoder *d, __u64 poll, struct task_layout *tl)
{
	Dwarf_Die fn, t, s, cell, core, stage, run, fut, cudie;
	const char *tq, *sq;
	const struct enum_layout *l;
	char want[2 * DWARF_TYPES_MAX_NAME + 16];
	__u64 off;

	if (!dwarf_types__func_at(d->types, poll, &fn) || !die__template_param(&fn, "T", &t) ||
	    !die__template_param(&fn, "S", &s) || !(tq = dwarf_types__name(d->types, &t)) ||
	    !(sq = dwarf_types__name(d->types, &s)))
		return -ENOENT;
	if (!cell_from_vars(&fn, tq, d, &cell, 0)) {
		snprintf(want, sizeof(want), "Cell<%s, %s>", tq, sq);
		if (!dwarf_diecu(&t, &cudie, NULL, NULL) || !cell_by_name(d, want, &cudie, &cell))
			return -ENOENT;
	}
	if (!die__child_member(&cell, "header", &off, &s) || off ||
	    !die__child_member(&cell, "core", &off, &core) ||
	    /* Stage<T> inside Cell's core: its offset there and its type */
	    !die__find(&core, is_stage, NULL, 6, false, &tl->stage_off, &stage) ||
	    !(l = dwarf_types__enum(d->types, &stage)))
		return -ENOENT;
	tl->stage_off += off;
	tl->stage = dwarf_dieoffset(&stage);
	for (size_t i = 0; i < l->n; i++) {
		const struct enum_variant *v = &l->variants[i];

		if (v->name && !strcmp(v->name, "Running") &&
		    dwarf_types__die(d->types, v->type, &run) &&
		    die__child_member(&run, "__0", &tl->fut_off, &fut)) {
			tl->running = v;
			tl->fut_off += v->off;
			tl->fut = dwarf_dieoffset(&fut);
			return 0;
		}
	}
	return -ENOENT;
}

static const struct task_layout *task_of(struct future_decoder *d, __u64 poll)
{
	struct task_layout tl = { 0 };
	__u32 i;

	if (u64_map__get(d->tasks, poll, &i))
		return &d->task_layouts[i];
	tl.err = build_task(d, poll, &tl);
	if (array__grow((void **)&d->task_layouts, &d->task_cap, d->ntask + 1,
			sizeof(*d->task_layouts)) ||
	    u64_map__set(d->tasks, poll, (__u32)d->ntask))
		return NULL;
	d->task_layouts[d->ntask] = tl;
	return &d->task_layouts[d->ntask++];
}

/* ---- the chain ---- */

static const char *state_name(const char *kind)
{
	if (str__starts(kind, "Suspend"))
		return "suspended";
	if (kind && !strcmp(kind, "Unresumed"))
		return "unresumed";
	if (kind && !strcmp(kind, "Returned"))
		return "returned";
	if (kind && !strcmp(kind, "Panicked"))
		return "panicked";
	return kind ? kind : "suspended";
}

/* From the future at addr down the chain of awaitees; with fl, the locks
 * held along it and the one awaited at its end. */
static int decode_chain(struct future_decoder *d, struct future_walk *w, Dwarf_Die *t,
			__u64 addr, struct future_await *out, struct future_locks *fl)
{
	for (int i = 0; i < MAX_CHAIN; i++) {
		const struct enum_layout *l;
		const struct enum_variant *v;
		struct awaitee_found f;
		const char *q;
		int err;

		if (die__is_async_env(t)) {
			if (!(l = dwarf_types__enum(d->types, t)))
				return -ENOENT;
			if ((err = future_walk__pick(w, l, addr, &v)))
				return err;
			if (out->nframes == 0)
				out->root_state = state_name(v->kind);
			if (out->nframes < FUTURE_MAX_FRAMES)
				out->frames[out->nframes++] = (struct future_frame){
					.function = l->function, .file = v->file, .line = v->line
				};
			if (fl)
				future_locks__frame(fl, w, l->function, t, addr, v);
			if (!v->awaitee || !dwarf_types__die(d->types, v->awaitee, t) || !die__peel(t))
				return 0;
			addr += v->off + v->awaitee_off;
			continue;
		}
		awaitee_explorer__explore(d->awaitees, w, t, addr, &f);
		if (f.future && dwarf_types__die(d->types, f.fut_type, t)) {
			addr = f.fut_addr;
			continue;
		}
		if (fl)
			future_locks__leaf(fl, w, t, addr);
		q = dwarf_types__name(d->types, t);
		snprintf(out->leaf_type, sizeof(out->leaf_type), "%s", q ? q : "?");
		out->leaf_addr = addr;
		out->has_deadline = f.has_deadline;
		out->deadline_ns = f.deadline_ns;
		out->join_header = f.join_header;
		out->fd = f.fd;
		if (!out->nframes)
			out->root_state = "opaque";
		return 0;
	}
	return 0;
}

static int decode_task(struct future_decoder *d, struct future_walk *w, __u64 header,
		       struct future_await *out, struct future_locks *fl)
{
	const struct task_layout *tl;
	const struct enum_layout *l;
	const struct enum_variant *v;
	__u64 vtable, poll;
	Dwarf_Die stage, fut;
	int err;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (future_walk__read_uint(w, header + TOKIO_HDR_VTABLE, 8, &vtable) ||
	    future_walk__read_uint(w, vtable + TOKIO_VT_POLL, 8, &poll))
		return -EFAULT;
	if (!(tl = task_of(d, poll - w->bias)))
		return -ENOMEM;
	if (tl->err)
		return tl->err;
	if (!dwarf_types__die(d->types, tl->stage, &stage) ||
	    !(l = dwarf_types__enum(d->types, &stage)) || !dwarf_types__die(d->types, tl->fut, &fut))
		return -ENOENT;
	if ((err = future_walk__pick(w, l, header + tl->stage_off, &v)))
		return err;
	if (v != tl->running) {
		out->root_state = "finished";
		return 0;
	}
	return decode_chain(d, w, &fut, header + tl->stage_off + tl->fut_off, out, fl);
}

int future_decoder__tokio_task(struct future_decoder *d, __u64 header, __u64 bias,
			       future_read_fn read, void *ctx, struct future_await *out)
{
	struct future_walk w = { read, ctx, bias, MAX_NODES, MAX_READS };

	if (!d || !read || !out)
		return -EINVAL;
	return decode_task(d, &w, header, out, NULL);
}

int future_decoder__tokio_locks(struct future_decoder *d, __u64 header, __u64 bias,
				future_read_fn read, void *ctx, unsigned permit_shift,
				struct future_lock *out, int max)
{
	struct future_walk w = { read, ctx, bias, MAX_NODES + FUTURE_LOCKS_NODES,
				 MAX_READS + FUTURE_LOCKS_READS };
	struct future_await fa;
	int err;

	if (!d || !read || max < 0 || (!out && max > 0))
		return -EINVAL;
	future_locks__begin(d->locks, permit_shift, out, max);
	if ((err = decode_task(d, &w, header, &fa, d->locks)))
		return err;
	return future_locks__end(d->locks);
}

/* ---- opening ---- */

struct future_decoder *future_decoder__new(const struct binary *bin)
{
	struct future_decoder *d = calloc(1, sizeof(*d));
	int err = -ENOMEM;

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	if (!(d->types = dwarf_types__new(bin))) {
		err = -errno;
		goto fail;
	}
	if (!(d->awaitees = awaitee_explorer__new(d->types)) ||
	    !(d->locks = future_locks__new(d->types)) || !(d->tasks = u64_map__new()))
		goto fail;
	return d;

fail:
	future_decoder__free(d);
	errno = -err;
	return NULL;
}

void future_decoder__free(struct future_decoder *d)
{
	if (!d)
		return;
	u64_map__free(d->tasks);
	free(d->task_layouts);
	future_locks__free(d->locks);
	awaitee_explorer__free(d->awaitees);
	dwarf_types__free(d->types);
	free(d);
}
