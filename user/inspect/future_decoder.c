// SPDX-License-Identifier: MIT
/*
 * A tokio task's future, decoded through rustc's DWARF.
 *
 * What rustc emits (checked on rustc 1.95, tokio 1.24.2): an async fn's state
 * machine is a structure "{async_fn_env#0}" (an async block's
 * "{async_block_env#N}", generic ones with "<args>" after it) in the fn's
 * namespace, with a DW_TAG_variant_part whose discriminant is the artificial
 * member "__state" and whose variants hold one member each, typed
 * "Unresumed", "Returned", "Panicked", "Suspend0".."SuspendN"; each of those
 * members carries DW_AT_decl_file/decl_line: for a SuspendN, the line of its
 * `.await` (no column). A SuspendN struct holds the awaited future in
 * "__awaitee". Other enums (tokio's Stage<T>, Option, ...) use the same
 * variant parts, with niches: the discriminant member is the niche field,
 * the variants that are not the dataful one carry DW_AT_discr_value, the
 * dataful one none (the default).
 *
 * From a task header to its future: header+16 is the vtable pointer, whose
 * slot 0 is tokio::runtime::task::raw::poll<T, S>. That function's DIE has
 * T and S as template parameters and a `harness` variable of type
 * Harness<T, S> { cell: NonNull<Cell<T, S>> }, which leads to Cell<T, S>
 * (else Cell is looked up by name: DIEs are per compile unit, types are
 * matched by qualified name across units). In the cell, core.stage.stage is
 * an UnsafeCell<Stage<T>>: variant Running's "__0" is the future.
 *
 * Qualified names need each DIE's parent, which libdw does not keep: a unit
 * is walked once when first needed, recording the parents of namespaces and
 * types, the address ranges of its functions and its vtables
 * ("<T as Trait>::{vtable}" variables, whose DW_AT_containing_type is T).
 *
 * Awaitees that are not async fns are explored (bounded in depth, visits,
 * reads and pointer hops): into members, the live variant of enums, Box and
 * & pointers, and `dyn` fat pointers (the concrete type from the vtable); an
 * async fn found inside (a Timeout's future, a Pin<Box<dyn Future>>)
 * continues the chain, else the awaitee is the leaf and what the
 * exploration met of Sleep, JoinHandle and OwnedFd gives the facts.
 */
#include "inspect/future_decoder.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokio_layout.h"
#include "lib/array.h"
#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "lib/u64_map.h"

#define MAX_CHAIN 64	 /* futures walked through per task, async or not */
#define MAX_DEPTH 20	 /* struct nesting explored in an awaitee */
#define MAX_HOPS 2	 /* pointers followed from an awaitee */
#define MAX_NODES 2048	 /* types visited exploring, per task */
#define MAX_READS 256	 /* target reads exploring, per task */
#define MAX_NEST 64	 /* DIE nesting when indexing a unit */
#define MAX_NAME 1024	 /* a qualified name's length */

struct range {
	__u64 start, end;
	Dwarf_Off die;
};

struct unit {
	struct range *funcs; /* concrete subprograms, sorted */
	size_t nfuncs, cap;
};

/* an async fn's or block's poll function, "{async_fn#0}<..>": its linkage
 * name names an impl's type where namespaces only say "{impl#3}" */
struct async_poll {
	Dwarf_Off parent, die;
};

struct variant {
	__u64 value;
	bool dflt;	  /* no discr_value: every other value */
	const char *name; /* the member's: "Running", "3" */
	const char *kind; /* its type's: "Suspend0", "Running" */
	const char *file; /* its declaration */
	__u32 line;
	__u64 off;	    /* of the member */
	Dwarf_Off type;	    /* of the member */
	__u64 awaitee_off;  /* in the member, if awaitee */
	Dwarf_Off awaitee;  /* "__awaitee"'s type, 0 if none */
};

/* an enum: a structure with a variant part */
struct layout {
	int err; /* -ENOENT: no variant part */
	bool has_discr, is_async;
	__u32 discr_off, discr_size;
	const char *function; /* async: the fn's path */
	size_t first, n;      /* into variants */
};

struct task_layout {
	int err;	 /* -ENOENT: not a task type we know */
	Dwarf_Off stage; /* Stage<T> */
	__u64 stage_off; /* of it in Cell<T, S> */
	size_t running;	 /* its Running variant, index into variants */
	__u64 fut_off;	 /* of T in that variant's member */
	Dwarf_Off fut;	 /* T */
};

struct future_decoder {
	Dwarf *dw; /* the binary's */
	bool all_indexed;

	struct u64_map *units; /* CU DIE offset -> units[] */
	struct unit *unit;
	size_t nunit, unit_cap;
	struct u64_map *parents; /* DIE offset -> parent_offs[] */
	Dwarf_Off *parent_offs;
	size_t nparent, parent_cap;
	struct async_poll *polls;
	size_t npoll, poll_cap;
	struct u64_map *vtables; /* vtable vaddr -> vtable_types[] */
	Dwarf_Off *vtable_types;
	size_t nvtable, vtable_cap;

	struct u64_map *layouts; /* type DIE offset -> layout_arr[] */
	struct layout *layout_arr;
	size_t nlayout, layout_cap;
	struct variant *variants;
	size_t nvariant, variant_cap;
	struct u64_map *tasks; /* poll fn vaddr -> task_layouts[] */
	struct task_layout *task_layouts;
	size_t ntask, task_cap;
	struct u64_map *names; /* DIE offset -> strs[]: qualified names */
	struct u64_map *interest; /* type DIE offset -> 0, 1; 2 while deciding */
	struct u64_map *guards;	  /* the same for may_hold() */
	char **strs;
	size_t nstrs, strs_cap;
};

/* One task's decoding: the target and the exploration budget. */
struct walk {
	struct future_decoder *d;
	future_read_fn read;
	void *ctx;
	__u64 bias;
	int nodes, reads;
};

/* ---- strings ---- */

static const char *keep(struct future_decoder *d, char *str)
{
	if (!str || array__grow((void **)&d->strs, &d->strs_cap, d->nstrs + 1, sizeof(*d->strs))) {
		free(str);
		return NULL;
	}
	d->strs[d->nstrs++] = str;
	return str;
}

static bool starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* ---- DIE helpers ---- */

static bool die_at(struct future_decoder *d, Dwarf_Off off, Dwarf_Die *die)
{
	return off && dwarf_offdie(d->dw, off, die);
}

/* through typedefs and qualifiers (Rust has few) */
static bool peel(Dwarf_Die *t)
{
	Dwarf_Attribute attr;

	for (int i = 0; i < 8; i++) {
		switch (dwarf_tag(t)) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
			if (!dwarf_formref_die(dwarf_attr(t, DW_AT_type, &attr), t))
				return false;
			break;
		default:
			return true;
		}
	}
	return false;
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;

	return dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &attr), out) && peel(out);
}

static bool member_off(Dwarf_Die *m, __u64 *off)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;

	if (!dwarf_attr(m, DW_AT_data_member_location, &attr)) {
		*off = 0; /* union members */
		return true;
	}
	if (dwarf_formudata(&attr, &v)) /* a location expression: not Rust's */
		return false;
	*off = v;
	return true;
}

static bool is_struct(Dwarf_Die *t)
{
	return dwarf_tag(t) == DW_TAG_structure_type;
}

static bool variant_part(Dwarf_Die *t, Dwarf_Die *vp)
{
	if (dwarf_child(t, vp))
		return false;
	do {
		if (dwarf_tag(vp) == DW_TAG_variant_part)
			return true;
	} while (!dwarf_siblingof(vp, vp));
	return false;
}

/* the direct member `name` of struct t */
static bool child_member(Dwarf_Die *t, const char *name, __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m;

	if (dwarf_child(t, &m))
		return false;
	do {
		const char *n = dwarf_diename(&m);

		if (dwarf_tag(&m) == DW_TAG_member && n && !strcmp(n, name))
			return member_off(&m, off) && type_of(&m, type);
	} while (!dwarf_siblingof(&m, &m));
	return false;
}

/* The first member `name` at any depth of struct t's members (not into
 * variants or pointers): offset from t and type. */
static bool find_member(Dwarf_Die *t, const char *name, int depth, __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m, mt;

	if (depth > 8 || !is_struct(t) || dwarf_child(t, &m))
		return false;
	do {
		const char *n = dwarf_diename(&m);
		__u64 o, inner;

		if (dwarf_tag(&m) != DW_TAG_member || !member_off(&m, &o) || !type_of(&m, &mt))
			continue;
		if (n && !strcmp(n, name)) {
			*off = o;
			*type = mt;
			return true;
		}
		if (find_member(&mt, name, depth + 1, &inner, type)) {
			*off = o + inner;
			return true;
		}
	} while (!dwarf_siblingof(&m, &m));
	return false;
}

static bool is_async_env(const char *name)
{
	return starts(name, "{async_fn_env#") || starts(name, "{async_block_env#");
}

/* ---- units: parents, functions, vtables ---- */

static int set_parent(struct future_decoder *d, Dwarf_Off die, Dwarf_Off parent)
{
	if (array__grow((void **)&d->parent_offs, &d->parent_cap, d->nparent + 1,
			sizeof(*d->parent_offs)) ||
	    u64_map__set(d->parents, die, (__u32)d->nparent))
		return -ENOMEM;
	d->parent_offs[d->nparent++] = parent;
	return 0;
}

static int add_vtable(struct future_decoder *d, __u64 vaddr, Dwarf_Off type)
{
	if (array__grow((void **)&d->vtable_types, &d->vtable_cap, d->nvtable + 1,
			sizeof(*d->vtable_types)) ||
	    u64_map__set(d->vtables, vaddr, (__u32)d->nvtable))
		return -ENOMEM;
	d->vtable_types[d->nvtable++] = type;
	return 0;
}

/* "<T as Trait>::{vtable}" at a fixed address: vaddr -> T */
static int index_vtable(struct future_decoder *d, Dwarf_Die *var)
{
	const char *name = dwarf_diename(var);
	size_t n = name ? strlen(name) : 0;
	Dwarf_Attribute attr;
	Dwarf_Die vt, self;
	Dwarf_Op *ops;
	size_t nops;

	if (n < 10 || strcmp(name + n - 10, "::{vtable}") ||
	    dwarf_getlocation(dwarf_attr(var, DW_AT_location, &attr), &ops, &nops) || nops != 1 ||
	    ops[0].atom != DW_OP_addr || !ops[0].number || !type_of(var, &vt) ||
	    !dwarf_formref_die(dwarf_attr(&vt, DW_AT_containing_type, &attr), &self))
		return 0;
	return add_vtable(d, ops[0].number, dwarf_dieoffset(&self));
}

static int index_under(struct future_decoder *d, struct unit *u, Dwarf_Die *parent, int depth)
{
	Dwarf_Off poff = dwarf_dieoffset(parent);
	bool scope = depth == 0 || dwarf_tag(parent) == DW_TAG_namespace;
	Dwarf_Die die;
	int err;

	if (depth > MAX_NEST || dwarf_child(parent, &die))
		return 0;
	do {
		int tag = dwarf_tag(&die);
		Dwarf_Addr base, start, end;
		ptrdiff_t off = 0;

		switch (tag) {
		case DW_TAG_namespace:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type:
			if ((depth && (err = set_parent(d, dwarf_dieoffset(&die), poff))) ||
			    (err = index_under(d, u, &die, depth + 1)))
				return err;
			break;
		case DW_TAG_subprogram:
			if (scope && depth && starts(dwarf_diename(&die), "{async_")) {
				if (array__grow((void **)&d->polls, &d->poll_cap, d->npoll + 1,
						sizeof(*d->polls)))
					return -ENOMEM;
				d->polls[d->npoll++] = (struct async_poll){ poff,
									    dwarf_dieoffset(&die) };
			}
			while (scope && (off = dwarf_ranges(&die, off, &base, &start, &end)) > 0) {
				if (start >= end)
					continue;
				if (array__grow((void **)&u->funcs, &u->cap, u->nfuncs + 1,
						sizeof(*u->funcs)))
					return -ENOMEM;
				u->funcs[u->nfuncs++] = (struct range){ start, end,
									dwarf_dieoffset(&die) };
			}
			break;
		case DW_TAG_variable:
			if (scope && (err = index_vtable(d, &die)))
				return err;
			break;
		}
	} while (!dwarf_siblingof(&die, &die));
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The unit of cudie, indexed on first use; NULL if out of memory. */
static struct unit *unit_of(struct future_decoder *d, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	struct unit *u;
	__u32 i;

	if (u64_map__get(d->units, off, &i))
		return &d->unit[i];
	if (array__grow((void **)&d->unit, &d->unit_cap, d->nunit + 1, sizeof(*d->unit)) ||
	    u64_map__set(d->units, off, (__u32)d->nunit))
		return NULL;
	u = &d->unit[d->nunit++];
	*u = (struct unit){ 0 };
	index_under(d, u, cudie, 0); /* out of memory: what we got is still usable */
	if (u->nfuncs)
		qsort(u->funcs, u->nfuncs, sizeof(*u->funcs), cmp_range);
	return u;
}

static void index_die_unit(struct future_decoder *d, Dwarf_Die *die)
{
	Dwarf_Die cudie;

	if (dwarf_diecu(die, &cudie, NULL, NULL))
		unit_of(d, &cudie);
}

static void index_all(struct future_decoder *d)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;

	if (d->all_indexed)
		return;
	d->all_indexed = true;
	while (!dwarf_get_units(d->dw, cu, &cu, NULL, NULL, &cudie, NULL))
		if (dwarf_tag(&cudie) == DW_TAG_compile_unit)
			unit_of(d, &cudie);
}

/* the concrete subprogram holding vaddr */
static bool func_at(struct future_decoder *d, __u64 vaddr, Dwarf_Die *func)
{
	Dwarf_Die cudie;
	struct unit *u;
	size_t lo = 0, hi;

	if (!dwarf_addrdie(d->dw, vaddr, &cudie)) { /* no .debug_aranges entry */
		Dwarf_CU *cu = NULL;
		bool found = false;

		while (!found && !dwarf_get_units(d->dw, cu, &cu, NULL, NULL, &cudie, NULL))
			found = dwarf_tag(&cudie) == DW_TAG_compile_unit &&
				dwarf_haspc(&cudie, vaddr) > 0;
		if (!found)
			return false;
	}
	if (!(u = unit_of(d, &cudie)))
		return false;
	hi = u->nfuncs;
	while (lo < hi) { /* the first range starting above vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (u->funcs[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && vaddr < u->funcs[lo - 1].end && die_at(d, u->funcs[lo - 1].die, func);
}

/* on the DIE, else on its abstract origin (an out-of-line inlined function) */
static bool template_param(Dwarf_Die *die, const char *name, Dwarf_Die *type)
{
	Dwarf_Attribute attr;
	Dwarf_Die c, cur = *die;

	for (int i = 0; i < 4; i++) {
		if (!dwarf_child(&cur, &c)) {
			do {
				const char *n = dwarf_diename(&c);

				if (dwarf_tag(&c) == DW_TAG_template_type_parameter && n &&
				    !strcmp(n, name))
					return type_of(&c, type);
			} while (!dwarf_siblingof(&c, &c));
		}
		if (!dwarf_formref_die(dwarf_attr(&cur, DW_AT_abstract_origin, &attr), &cur))
			break;
	}
	return false;
}

/* "a::b::Name": DW_AT_name of the DIE and of its enclosing namespaces and
 * types; NULL if unnamed or out of memory. */
static const char *qname(struct future_decoder *d, Dwarf_Die *die)
{
	Dwarf_Off off = dwarf_dieoffset(die), cur = off;
	const char *parts[MAX_NEST];
	char buf[MAX_NAME], *p = buf;
	int n = 0;
	__u32 i;

	if (u64_map__get(d->names, off, &i))
		return d->strs[i];
	index_die_unit(d, die);
	while (n < MAX_NEST) {
		Dwarf_Die c;
		const char *name = die_at(d, cur, &c) ? dwarf_diename(&c) : NULL;

		if (!name)
			break;
		parts[n++] = name;
		if (!u64_map__get(d->parents, cur, &i))
			break;
		cur = d->parent_offs[i];
	}
	if (!n)
		return NULL;
	while (n-- > 0)
		p += snprintf(p, buf + sizeof(buf) - p, "%s%s", parts[n], n ? "::" : "");
	/* a name truncated by snprintf is still a name */
	if (!keep(d, strdup(buf)) || u64_map__set(d->names, off, (__u32)(d->nstrs - 1)))
		return NULL;
	return d->strs[d->nstrs - 1];
}

/* ---- the path of an async fn or block ---- */

/* "stuck::f::{{closure}}::{closure#1}" -> "stuck::f" */
static void strip_closures(char *path)
{
	for (;;) {
		char *last = strrchr(path, ':');

		if (!last || last == path || last[-1] != ':' ||
		    (strcmp(last + 1, "{{closure}}") && !starts(last + 1, "{closure#")))
			return;
		last[-1] = '\0';
	}
}

/* The demangled linkage name of the poll function `want` ("{async_fn#0}")
 * in namespace parent: in parent itself, else (every unit indexed) in a
 * namespace of the same name in another unit. */
static bool poll_path(struct future_decoder *d, Dwarf_Die *parent, const char *want, char *path,
		      size_t len)
{
	Dwarf_Off poff = dwarf_dieoffset(parent);
	const char *pq = NULL;
	size_t n = strlen(want);

	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			index_all(d);
			if (!(pq = qname(d, parent)))
				return false;
		}
		for (size_t i = 0; i < d->npoll; i++) {
			Dwarf_Die fn, p;
			Dwarf_Attribute attr;
			const char *name, *link, *q;

			if ((!pass && d->polls[i].parent != poff) || !die_at(d, d->polls[i].die, &fn))
				continue;
			name = dwarf_diename(&fn);
			if (!starts(name, want) || (name[n] && name[n] != '<'))
				continue;
			if (pass && (!die_at(d, d->polls[i].parent, &p) || !(q = qname(d, &p)) ||
				     strcmp(q, pq)))
				continue;
			link = dwarf_formstring(dwarf_attr_integrate(&fn, DW_AT_linkage_name, &attr));
			if (link && !elf_symbols__demangle(link, path, len))
				return true;
		}
	}
	return false;
}

static bool parent_of(struct future_decoder *d, Dwarf_Die *die, Dwarf_Die *parent)
{
	__u32 i;

	index_die_unit(d, die);
	return u64_map__get(d->parents, dwarf_dieoffset(die), &i) &&
	       die_at(d, d->parent_offs[i], parent);
}

/* The path of the code in namespace ns: a block's or closure's is its
 * enclosing code's + "::{async_block#N}"; an async fn's body
 * ("{async_fn#0}") is the fn; a fn's namespace, the path its async poll
 * function demangles to when it has one (an impl's type rather than
 * "{impl#3}"), else the namespaces'. */
static void code_path(struct future_decoder *d, Dwarf_Die *ns, char *path, size_t len, int depth)
{
	const char *name = dwarf_diename(ns), *q;
	Dwarf_Die parent;
	size_t n;

	path[0] = '\0';
	if (!name || depth > 8)
		return;
	if (starts(name, "{async_block#") || starts(name, "{closure#") ||
	    starts(name, "{async_fn#")) {
		if (parent_of(d, ns, &parent))
			code_path(d, &parent, path, len, depth + 1);
		n = strlen(path);
		if (!starts(name, "{async_fn#"))
			snprintf(path + n, len - n, "%s%s", n ? "::" : "", name);
		return;
	}
	if (poll_path(d, ns, "{async_fn#0}", path, len)) {
		strip_closures(path);
		return;
	}
	q = qname(d, ns);
	snprintf(path, len, "%s", q ? q : "");
}

/* an async fn: its path; an async block: its enclosing code's + "::{async_block#N}" */
static const char *env_function(struct future_decoder *d, Dwarf_Die *env)
{
	const char *name = dwarf_diename(env);
	const char *hash = strchr(name, '#');
	char path[MAX_NAME];
	Dwarf_Die parent;
	size_t len;

	if (!parent_of(d, env, &parent))
		return NULL;
	code_path(d, &parent, path, sizeof(path), 0);
	len = strlen(path);
	if (starts(name, "{async_block_env#")) /* "{async_block_env#2}" -> "::{async_block#2}" */
		snprintf(path + len, sizeof(path) - len, "%s{async_block%.*s}", len ? "::" : "",
			 (int)strcspn(hash, "}"), hash);
	return path[0] ? keep(d, strdup(path)) : NULL;
}

/* ---- enum layouts ---- */

static int build_variants(struct future_decoder *d, struct layout *l, Dwarf_Die *vp)
{
	Dwarf_Die v, m, vt, aw;

	if (dwarf_child(vp, &v))
		return 0;
	do {
		Dwarf_Attribute attr;
		struct variant *x;
		Dwarf_Word value = 0;
		bool dflt;
		int line = 0;

		if (dwarf_tag(&v) != DW_TAG_variant)
			continue;
		dflt = !dwarf_attr(&v, DW_AT_discr_value, &attr);
		if (!dflt && dwarf_formudata(&attr, &value)) {
			Dwarf_Sword s;

			if (dwarf_formsdata(&attr, &s))
				return -ENOENT;
			value = (Dwarf_Word)s;
		}
		if (dwarf_child(&v, &m))
			continue;
		while (dwarf_tag(&m) != DW_TAG_member)
			if (dwarf_siblingof(&m, &m))
				break;
		if (dwarf_tag(&m) != DW_TAG_member || !type_of(&m, &vt))
			continue;
		if (array__grow((void **)&d->variants, &d->variant_cap, d->nvariant + 1,
				sizeof(*d->variants)))
			return -ENOMEM;
		x = &d->variants[d->nvariant];
		*x = (struct variant){ .value = value, .dflt = dflt, .name = dwarf_diename(&m),
				       .kind = dwarf_diename(&vt), .file = dwarf_decl_file(&m),
				       .type = dwarf_dieoffset(&vt) };
		if (!member_off(&m, &x->off))
			return -ENOENT;
		if (!dwarf_decl_line(&m, &line) && line > 0)
			x->line = (__u32)line;
		if (l->is_async && child_member(&vt, "__awaitee", &x->awaitee_off, &aw))
			x->awaitee = dwarf_dieoffset(&aw);
		d->nvariant++;
		l->n++;
	} while (!dwarf_siblingof(&v, &v));
	return 0;
}

static int build_layout(struct future_decoder *d, Dwarf_Die *t, struct layout *l)
{
	const char *name = dwarf_diename(t);
	Dwarf_Attribute attr;
	Dwarf_Die vp, discr, dt;
	__u64 off;
	int size;

	if (!is_struct(t) || !variant_part(t, &vp))
		return -ENOENT;
	l->is_async = is_async_env(name);
	l->first = d->nvariant;
	if (dwarf_formref_die(dwarf_attr(&vp, DW_AT_discr, &attr), &discr)) {
		if (!member_off(&discr, &off) || !type_of(&discr, &dt) ||
		    (size = dwarf_bytesize(&dt)) <= 0 || off > UINT32_MAX)
			return -ENOENT;
		l->has_discr = true;
		l->discr_off = (__u32)off;
		l->discr_size = size > 8 ? 8 : (__u32)size; /* a u128 niche: its low half */
	}
	if (l->is_async)
		l->function = env_function(d, t);
	return build_variants(d, l, &vp);
}

static const struct layout *layout_of(struct future_decoder *d, Dwarf_Die *t)
{
	Dwarf_Off off = dwarf_dieoffset(t);
	struct layout l = { 0 };
	__u32 i;

	if (u64_map__get(d->layouts, off, &i))
		return d->layout_arr[i].err ? NULL : &d->layout_arr[i];
	l.err = build_layout(d, t, &l);
	if (l.err == -ENOMEM)
		return NULL;
	if (array__grow((void **)&d->layout_arr, &d->layout_cap, d->nlayout + 1,
			sizeof(*d->layout_arr)) ||
	    u64_map__set(d->layouts, off, (__u32)d->nlayout))
		return NULL;
	d->layout_arr[d->nlayout++] = l;
	return l.err ? NULL : &d->layout_arr[d->nlayout - 1];
}

/* ---- reading the target ---- */

static int read_uint(struct walk *w, __u64 addr, __u32 size, __u64 *v)
{
	__u8 b[8] = { 0 };

	if (size > 8 || addr + size < addr || w->read(addr, b, size, w->ctx))
		return -EFAULT;
	*v = 0;
	for (int i = (int)size - 1; i >= 0; i--) /* x86_64: little-endian */
		*v = *v << 8 | b[i];
	return 0;
}

/* The variant of enum l at addr: 0 and *out, -EFAULT, -EPROTO (a
 * discriminant no variant has). */
static int pick(struct walk *w, const struct layout *l, __u64 addr, const struct variant **out)
{
	const struct variant *dflt = NULL;
	__u64 v = 0, mask;

	if (!l->has_discr) { /* a single variant */
		if (l->n != 1)
			return -EPROTO;
		*out = &w->d->variants[l->first];
		return 0;
	}
	if (read_uint(w, addr + l->discr_off, l->discr_size, &v))
		return -EFAULT;
	mask = l->discr_size >= 8 ? ~0ULL : (1ULL << (8 * l->discr_size)) - 1;
	for (size_t i = l->first; i < l->first + l->n; i++) {
		const struct variant *x = &w->d->variants[i];

		if (x->dflt)
			dflt = x;
		else if ((x->value & mask) == v) {
			*out = x;
			return 0;
		}
	}
	if (!dflt)
		return -EPROTO;
	*out = dflt;
	return 0;
}

/* A scalar: through newtype structs down to a base, enum or pointer type. */
static bool read_scalar(struct walk *w, Dwarf_Die *t, __u64 addr, __s64 *out)
{
	Dwarf_Attribute attr;
	Dwarf_Word enc = 0;
	__u64 v, off;
	int size;

	for (int i = 0; i < 8 && is_struct(t); i++) {
		Dwarf_Die m;

		if (dwarf_child(t, &m))
			return false;
		while (dwarf_tag(&m) != DW_TAG_member)
			if (dwarf_siblingof(&m, &m))
				return false;
		if (!member_off(&m, &off) || !type_of(&m, t))
			return false;
		addr += off;
	}
	switch (dwarf_tag(t)) {
	case DW_TAG_pointer_type:
		size = 8;
		break;
	case DW_TAG_base_type:
	case DW_TAG_enumeration_type:
		size = dwarf_bytesize(t);
		dwarf_formudata(dwarf_attr(t, DW_AT_encoding, &attr), &enc);
		break;
	default:
		return false;
	}
	if (size <= 0 || size > 8 || w->reads-- <= 0 || read_uint(w, addr, (__u32)size, &v))
		return false;
	if ((enc == DW_ATE_signed || enc == DW_ATE_signed_char) && size < 8 &&
	    (v >> (8 * size - 1) & 1))
		v |= ~0ULL << (8 * size);
	*out = (__s64)v;
	return true;
}

/* ---- exploring awaitees ---- */

struct found {
	bool future; /* an async fn's state machine inside: where */
	Dwarf_Off fut_type;
	__u64 fut_addr;
	bool has_deadline;
	__u64 deadline_ns;
	__u64 join_header;
	int fd;
};

static bool followable(const char *ptr_name)
{
	return ptr_name && (ptr_name[0] == '&' || starts(ptr_name, "alloc::boxed::Box<"));
}

/* a `dyn` fat pointer: { pointer: *dyn T, vtable } */
static bool is_fat(Dwarf_Die *t)
{
	const char *name = dwarf_diename(t);
	Dwarf_Die pt, dyn;
	__u64 off;

	return followable(name) && child_member(t, "pointer", &off, &pt) &&
	       child_member(t, "vtable", &off, &dyn) && dwarf_tag(&pt) == DW_TAG_pointer_type;
}

static bool known_leaf(const char *name)
{
	return name && (!strcmp(name, "Sleep") || starts(name, "JoinHandle<") ||
			!strcmp(name, "OwnedFd"));
}

/* Could exploring t find anything? Static, over every variant; memoized.
 * Unsure (too deep, a cycle through pointers) counts as yes. */
typedef bool (*type_test)(struct future_decoder *d, Dwarf_Die *t, int depth);

/* Does the type of a member of struct t, or of a member of one of its
 * variants, pass `test`? */
static bool any_member(struct future_decoder *d, Dwarf_Die *t, type_test test, int depth)
{
	Dwarf_Die c, mt;

	for (int pass = 0; pass < 2 && !dwarf_child(t, &c); pass++) {
		/* pass 0: members and variant parts; 1: the variants' members */
		Dwarf_Die vp, v;

		if (pass == 1) {
			if (!variant_part(t, &vp) || dwarf_child(&vp, &v))
				break;
			c = v;
		}
		do {
			Dwarf_Die m = c;

			if (pass == 1 && (dwarf_tag(&c) != DW_TAG_variant || dwarf_child(&c, &m)))
				continue;
			if (dwarf_tag(&m) == DW_TAG_member && type_of(&m, &mt) && test(d, &mt, depth))
				return true;
		} while (!dwarf_siblingof(&c, &c));
	}
	return false;
}

static bool interesting(struct future_decoder *d, Dwarf_Die *t, int depth)
{
	Dwarf_Off off = dwarf_dieoffset(t);
	Dwarf_Die pointee;
	const char *name = dwarf_diename(t);
	bool yes = false;
	__u32 memo;

	if (depth > MAX_DEPTH)
		return true;
	if (dwarf_tag(t) == DW_TAG_pointer_type)
		return followable(name) && type_of(t, &pointee) &&
		       interesting(d, &pointee, depth + 1);
	if (!is_struct(t))
		return false;
	if (u64_map__get(d->interest, off, &memo))
		return memo != 0;
	if (is_async_env(name) || known_leaf(name) || is_fat(t))
		yes = true;
	else if (u64_map__set(d->interest, off, 2))
		return true;
	yes = yes || any_member(d, t, interesting, depth + 1);
	u64_map__set(d->interest, off, yes);
	return yes;
}

static bool vtable_type(struct walk *w, __u64 vtable, Dwarf_Die *out);

static void explore(struct walk *w, Dwarf_Die *t, __u64 addr, int depth, int hops,
		    struct found *f);

static void explore_sleep(struct walk *w, Dwarf_Die *t, __u64 addr, struct found *f)
{
	__u64 off, soff, noff;
	Dwarf_Die dl, st, nt;
	__s64 sec, nsec;

	if (f->has_deadline || !find_member(t, "deadline", 0, &off, &dl) ||
	    !find_member(&dl, "tv_sec", 0, &soff, &st) ||
	    !find_member(&dl, "tv_nsec", 0, &noff, &nt) ||
	    !read_scalar(w, &st, addr + off + soff, &sec) ||
	    !read_scalar(w, &nt, addr + off + noff, &nsec) || sec < 0 ||
	    (__u64)sec > UINT64_MAX / 1000000000 - 1 || nsec < 0 || nsec >= 1000000000)
		return;
	f->has_deadline = true;
	f->deadline_ns = (__u64)sec * 1000000000 + (__u64)nsec;
}

static void explore_members(struct walk *w, Dwarf_Die *t, __u64 addr, int depth, int hops,
			    struct found *f)
{
	const struct layout *l;
	const struct variant *v;
	Dwarf_Die m, mt;
	__u64 off;

	if (dwarf_child(t, &m))
		return;
	do {
		if (dwarf_tag(&m) == DW_TAG_member && member_off(&m, &off) && type_of(&m, &mt))
			explore(w, &mt, addr + off, depth + 1, hops, f);
	} while (!f->future && !dwarf_siblingof(&m, &m));
	/* an enum: only its live variant (reads budgeted like the others) */
	if (!f->future && variant_part(t, &m) && (l = layout_of(w->d, t)) && w->reads-- > 0 &&
	    !pick(w, l, addr, &v) && die_at(w->d, v->type, &mt))
		explore(w, &mt, addr + v->off, depth + 1, hops, f);
}

static void explore(struct walk *w, Dwarf_Die *t, __u64 addr, int depth, int hops,
		    struct found *f)
{
	const char *name = dwarf_diename(t), *q;
	Dwarf_Die pointee;
	__u64 off;
	__s64 v, vt;

	if (f->future || depth > MAX_DEPTH || w->nodes-- <= 0 || !interesting(w->d, t, 0))
		return;
	if (dwarf_tag(t) == DW_TAG_pointer_type) {
		if (hops < MAX_HOPS && type_of(t, &pointee) && read_scalar(w, t, addr, &v) &&
		    (__u64)v >= 4096)
			explore(w, &pointee, (__u64)v, depth + 1, hops + 1, f);
		return;
	}
	if (is_async_env(name)) {
		f->future = true;
		f->fut_type = dwarf_dieoffset(t);
		f->fut_addr = addr;
		return;
	}
	if (known_leaf(name) && (q = qname(w->d, t))) {
		if (!strcmp(q, "tokio::time::sleep::Sleep")) {
			explore_sleep(w, t, addr, f);
			return;
		}
		if (starts(q, "tokio::runtime::task::join::JoinHandle<")) {
			if (!f->join_header && find_member(t, "ptr", 0, &off, &pointee) &&
			    read_scalar(w, &pointee, addr + off, &v) && v && !(v & 7))
				f->join_header = (__u64)v;
			return;
		}
		if (!strcmp(q, "std::os::fd::owned::OwnedFd")) {
			if (f->fd < 0 && find_member(t, "fd", 0, &off, &pointee) &&
			    read_scalar(w, &pointee, addr + off, &v) && v >= 0 && v <= INT32_MAX)
				f->fd = (int)v;
			return;
		}
	}
	if (is_fat(t)) {
		Dwarf_Die pt;

		if (hops < MAX_HOPS && child_member(t, "pointer", &off, &pt) &&
		    read_scalar(w, &pt, addr + off, &v) && (__u64)v >= 4096 &&
		    child_member(t, "vtable", &off, &pt) && read_scalar(w, &pt, addr + off, &vt) &&
		    (__u64)vt >= 4096 && vtable_type(w, (__u64)vt, &pointee))
			explore(w, &pointee, (__u64)v, depth + 1, hops + 1, f);
		return;
	}
	explore_members(w, t, addr, depth, hops, f);
}

/* The concrete type behind a vtable at runtime address vtable: from the
 * DWARF's vtables (indexing every unit once if needed), else from its
 * drop_in_place<T> in slot 0. */
static bool vtable_type(struct walk *w, __u64 vtable, Dwarf_Die *out)
{
	struct future_decoder *d = w->d;
	__u64 vaddr = vtable - w->bias, drop;
	Dwarf_Attribute attr;
	Dwarf_Die fn;
	__u32 i;

	if (u64_map__get(d->vtables, vaddr, &i))
		return die_at(d, d->vtable_types[i], out) && peel(out);
	if (w->reads-- > 0 && !read_uint(w, vtable, 8, &drop) && drop &&
	    func_at(d, drop - w->bias, &fn) &&
	    starts(dwarf_formstring(dwarf_attr_integrate(&fn, DW_AT_name, &attr)), "drop_in_place<") &&
	    template_param(&fn, "T", out)) {
		add_vtable(d, vaddr, dwarf_dieoffset(out));
		return true;
	}
	index_all(d);
	return u64_map__get(d->vtables, vaddr, &i) && die_at(d, d->vtable_types[i], out) &&
	       peel(out);
}

/* ---- locks: the guards a parked future holds, the Acquire it awaits ---- */

#define MAX_LOCK_DEPTH 12 /* struct nesting searched for guards */
#define MAX_LOCK_SEEN 64  /* guards told apart by address */
#define MAX_LOCK_READS 256
#define MAX_LOCK_NODES 2048
#define BATCH_SEM "tokio::sync::batch_semaphore::Semaphore"
#define BATCH_ACQUIRE "tokio::sync::batch_semaphore::Acquire"

struct lock_walk {
	struct future_lock *out;
	int n, max;
	bool has_wait;
	struct future_lock wait;
	enum aib_lock_kind kind; /* of the innermost async fn so far */
	bool in_sync;		 /* that fn is tokio::sync's */
	__u64 seen[MAX_LOCK_SEEN];
	int nseen;
};

/* tokio::sync's guards and permits, by the last segment of their path */
static const struct guard_type {
	const char *name;
	const char *lock;    /* the member leading to the semaphore */
	const char *permits; /* the member counting the permits; NULL: 1 */
	enum aib_lock_kind kind;
} guard_types[] = {
	{ "MutexGuard", "lock", NULL, AIB_LOCK_KIND_MUTEX },
	{ "OwnedMutexGuard", "lock", NULL, AIB_LOCK_KIND_MUTEX },
	{ "MappedMutexGuard", "s", NULL, AIB_LOCK_KIND_MUTEX },
	{ "RwLockReadGuard", "s", NULL, AIB_LOCK_KIND_RWLOCK_READ },
	{ "OwnedRwLockReadGuard", "lock", NULL, AIB_LOCK_KIND_RWLOCK_READ },
	{ "RwLockWriteGuard", "s", "permits_acquired", AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "RwLockMappedWriteGuard", "s", "permits_acquired", AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "OwnedRwLockWriteGuard", "lock", "permits_acquired", AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "OwnedRwLockMappedWriteGuard", "lock", "permits_acquired",
	  AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "SemaphorePermit", "sem", "permits", AIB_LOCK_KIND_SEMAPHORE },
	{ "OwnedSemaphorePermit", "sem", "permits", AIB_LOCK_KIND_SEMAPHORE },
};

static const struct guard_type *guard_type(struct future_decoder *d, Dwarf_Die *t)
{
	const char *name = dwarf_diename(t);
	size_t n;

	if (!name || !is_struct(t))
		return NULL;
	n = strcspn(name, "<");
	for (size_t i = 0; i < sizeof(guard_types) / sizeof(*guard_types); i++)
		if (strlen(guard_types[i].name) == n && !strncmp(name, guard_types[i].name, n))
			return starts(qname(d, t), "tokio::sync::") ? &guard_types[i] : NULL;
	return NULL;
}

/* the lock kind an async fn of tokio::sync waits for */
static enum aib_lock_kind fn_kind(const char *f)
{
	const char *last = f ? strrchr(f, ':') : NULL;

	if (!last)
		return AIB_LOCK_KIND_UNKNOWN;
	last++;
	if (starts(f, "tokio::sync::mutex::"))
		return AIB_LOCK_KIND_MUTEX;
	if (starts(f, "tokio::sync::rwlock::"))
		return starts(last, "write") ? AIB_LOCK_KIND_RWLOCK_WRITE :
		       starts(last, "read")  ? AIB_LOCK_KIND_RWLOCK_READ :
					       AIB_LOCK_KIND_UNKNOWN;
	if (starts(f, "tokio::sync::semaphore::"))
		return AIB_LOCK_KIND_SEMAPHORE;
	if (starts(f, "tokio::sync::mpsc::"))
		return AIB_LOCK_KIND_CHANNEL;
	return AIB_LOCK_KIND_UNKNOWN;
}

static bool is_named(struct future_decoder *d, Dwarf_Die *t, const char *base, const char *q)
{
	const char *name = dwarf_diename(t), *qn;

	return is_struct(t) && name && !strcmp(name, base) && (qn = qname(d, t)) && !strcmp(qn, q);
}

/* t itself, else a member by value (direct members first, then nested up to
 * depth 3), of the type named q ("a::b::base"): its offset in t and type */
static bool find_typed(struct future_decoder *d, Dwarf_Die *t, const char *base, const char *q,
		       int depth, __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m, mt;

	if (!depth && is_named(d, t, base, q)) {
		*off = 0;
		*type = *t;
		return true;
	}
	if (depth > 3 || !is_struct(t))
		return false;
	for (int pass = 0; pass < 2; pass++) {
		if (dwarf_child(t, &m))
			return false;
		do {
			__u64 o, inner;

			if (dwarf_tag(&m) != DW_TAG_member || !member_off(&m, &o) ||
			    !type_of(&m, &mt))
				continue;
			if (!pass && is_named(d, &mt, base, q)) {
				*off = o;
				*type = mt;
				return true;
			}
			if (pass && find_typed(d, &mt, base, q, depth + 1, &inner, type)) {
				*off = o + inner;
				return true;
			}
		} while (!dwarf_siblingof(&m, &m));
	}
	return false;
}

/* The batch semaphore a guard's member reaches: the member is, or wraps
 * (ManuallyDrop, Arc, NonNull), a pointer to a type holding one by value
 * (Mutex<T>.s, RwLock<T>.s, Semaphore.ll_sem, ArcInner<..>.data.s). Its
 * runtime address and type. */
static bool lock_sem(struct walk *w, Dwarf_Die *t, __u64 addr, __u64 *sem, Dwarf_Die *st)
{
	Dwarf_Die pt = *t, pointee;
	__u64 off, p, probe;

	for (int i = 0; i < 8 && is_struct(&pt); i++) {
		Dwarf_Die m;

		if (dwarf_child(&pt, &m))
			return false;
		while (dwarf_tag(&m) != DW_TAG_member)
			if (dwarf_siblingof(&m, &m))
				return false;
		if (!member_off(&m, &off) || !type_of(&m, &pt))
			return false;
		addr += off;
	}
	if (dwarf_tag(&pt) != DW_TAG_pointer_type || !type_of(&pt, &pointee) ||
	    !find_typed(w->d, &pointee, "Semaphore", BATCH_SEM, 0, &off, st))
		return false;
	if ((w->reads -= 2) < 0 || read_uint(w, addr, 8, &p) || p < 4096 || (p & 7) ||
	    p + off < p || read_uint(w, p + off, 8, &probe)) /* it is mapped */
		return false;
	*sem = p + off;
	return true;
}

/* whether the semaphore of type st at sem has a free permit (read: yes/no;
 * unreadable: false) */
static bool sem_free(struct walk *w, Dwarf_Die *st, __u64 sem)
{
	Dwarf_Die pt;
	__u64 off;
	__s64 permits;

	return child_member(st, "permits", &off, &pt) && read_scalar(w, &pt, sem + off, &permits) &&
	       (__u64)permits >> TOKIO_SEM_PERMIT_SHIFT > 0;
}

static void lock_add(struct lock_walk *lk, const struct future_lock *l)
{
	if (lk->n < lk->max)
		lk->out[lk->n++] = *l;
}

static bool lock_seen(struct lock_walk *lk, __u64 addr)
{
	for (int i = 0; i < lk->nseen; i++)
		if (lk->seen[i] == addr)
			return true;
	if (lk->nseen < MAX_LOCK_SEEN)
		lk->seen[lk->nseen++] = addr;
	return false;
}

static void read_guard(struct walk *w, struct lock_walk *lk, const struct guard_type *g,
		       Dwarf_Die *t, __u64 addr)
{
	struct future_lock l = { .permits = 1, .kind = g->kind };
	Dwarf_Die ft, st;
	__u64 off;
	__s64 n;

	if (lock_seen(lk, addr) || !child_member(t, g->lock, &off, &ft) ||
	    !lock_sem(w, &ft, addr + off, &l.sem, &st))
		return;
	if (g->permits) {
		if (!child_member(t, g->permits, &off, &ft) || !read_scalar(w, &ft, addr + off, &n) ||
		    n <= 0 || n > UINT32_MAX)
			return; /* holding no permit holds nothing */
		l.permits = (__u32)n;
	}
	/* exclusive: the semaphore has no permit left while it is held */
	if ((l.kind == AIB_LOCK_KIND_MUTEX || l.kind == AIB_LOCK_KIND_RWLOCK_WRITE) &&
	    sem_free(w, &st, l.sem))
		return;
	lock_add(lk, &l);
}

/* Could a value of type t hold a guard in place? Static, over every
 * variant; memoized. Not through pointers, not into async fn state machines
 * (the chain's are walked frame by frame). Too deep counts as yes. */
static bool may_hold(struct future_decoder *d, Dwarf_Die *t, int depth)
{
	Dwarf_Off off = dwarf_dieoffset(t);
	const char *name = dwarf_diename(t);
	bool yes = false;
	__u32 memo;

	if (!is_struct(t) || is_async_env(name))
		return false;
	if (depth > MAX_LOCK_DEPTH)
		return true;
	if (u64_map__get(d->guards, off, &memo))
		return memo == 1; /* 2: deciding (no cycle without pointers anyway) */
	if (guard_type(d, t))
		yes = true;
	else if (u64_map__set(d->guards, off, 2))
		return true;
	yes = yes || any_member(d, t, may_hold, depth + 1);
	u64_map__set(d->guards, off, yes ? 1 : 0);
	return yes;
}

/* the guards in the value of type t at addr: its members, an enum's live variant */
static void collect_guards(struct walk *w, struct lock_walk *lk, Dwarf_Die *t, __u64 addr,
			   int depth)
{
	const struct guard_type *g;
	const struct layout *l;
	const struct variant *v;
	Dwarf_Die m, mt;
	__u64 off;

	if (depth > MAX_LOCK_DEPTH || w->nodes-- <= 0 || !may_hold(w->d, t, 0))
		return;
	if ((g = guard_type(w->d, t))) {
		read_guard(w, lk, g, t, addr);
		return;
	}
	if (!dwarf_child(t, &m)) {
		do {
			if (dwarf_tag(&m) == DW_TAG_member && member_off(&m, &off) &&
			    type_of(&m, &mt))
				collect_guards(w, lk, &mt, addr + off, depth + 1);
		} while (!dwarf_siblingof(&m, &m));
	}
	if (variant_part(t, &m) && (l = layout_of(w->d, t)) && w->reads-- > 0 &&
	    !pick(w, l, addr, &v) && die_at(w->d, v->type, &mt))
		collect_guards(w, lk, &mt, addr + v->off, depth + 1);
}

/* The guards of an async fn's frame at addr in variant v: the members of
 * the state machine outside its variants (none on rustc 1.95: the upvars
 * are repeated in each variant), then the variant's but its awaitee. */
static void frame_locks(struct walk *w, struct lock_walk *lk, Dwarf_Die *env, __u64 addr,
			const struct variant *v)
{
	Dwarf_Attribute attr;
	Dwarf_Die m, mt, vt;
	__u64 off;

	if (!starts(v->kind, "Suspend") && strcmp(v->kind ? v->kind : "", "Unresumed"))
		return; /* returned or panicked: its values are dropped */
	if (!dwarf_child(env, &m)) {
		do {
			if (dwarf_tag(&m) == DW_TAG_member && !dwarf_attr(&m, DW_AT_artificial, &attr) &&
			    member_off(&m, &off) && type_of(&m, &mt))
				collect_guards(w, lk, &mt, addr + off, 0);
		} while (!dwarf_siblingof(&m, &m));
	}
	if (!die_at(w->d, v->type, &vt) || dwarf_child(&vt, &m))
		return;
	do {
		const char *n = dwarf_diename(&m);

		if (dwarf_tag(&m) == DW_TAG_member && !(n && !strcmp(n, "__awaitee")) &&
		    member_off(&m, &off) && type_of(&m, &mt))
			collect_guards(w, lk, &mt, addr + v->off + off, 0);
	} while (!dwarf_siblingof(&m, &m));
}

/* The leaf awaitee of type t at addr: an Acquire (or, awaited by tokio::sync
 * code, a value holding one, as tracing's InstrumentedAsyncOp does) is the
 * lock waited for. */
static void leaf_lock(struct walk *w, struct lock_walk *lk, Dwarf_Die *t, __u64 addr)
{
	struct future_lock l = { .waiting = true, .kind = lk->kind };
	Dwarf_Die at, mt, nt;
	__u64 off, noff, probe;
	__s64 v;

	if ((!lk->in_sync && !is_named(w->d, t, "Acquire", BATCH_ACQUIRE)) ||
	    !find_typed(w->d, t, "Acquire", BATCH_ACQUIRE, 0, &off, &at))
		return;
	addr += off;
	if (!child_member(&at, "semaphore", &off, &mt) || !read_scalar(w, &mt, addr + off, &v) ||
	    (__u64)v < 4096 || (v & 7) || w->reads-- <= 0 || read_uint(w, (__u64)v, 8, &probe))
		return;
	l.sem = (__u64)v;
	if (!child_member(&at, "num_permits", &off, &mt) || !read_scalar(w, &mt, addr + off, &v) ||
	    v <= 0 || v > UINT32_MAX)
		return;
	l.permits = (__u32)v;
	/* queued, and its node needs no more permits: they are all its own */
	if (child_member(&at, "queued", &off, &mt) && read_scalar(w, &mt, addr + off, &v) &&
	    v == 1 && child_member(&at, "node", &noff, &nt) &&
	    child_member(&nt, "state", &off, &mt) && read_scalar(w, &mt, addr + noff + off, &v) &&
	    v == 0)
		l.waiting = false;
	lk->wait = l;
	lk->has_wait = true;
}

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
		if ((tag != DW_TAG_variable && tag != DW_TAG_formal_parameter) || !type_of(&c, &t))
			continue;
		for (int i = 0; i < 6; i++) { /* Harness -> NonNull -> *const -> Cell */
			const char *n = dwarf_diename(&t);
			Dwarf_Die tt, m;
			const char *q;

			if (is_struct(&t) && starts(n, "Cell<") && template_param(&t, "T", &tt) &&
			    (q = qname(d, &tt)) && !strcmp(q, tname)) {
				*cell = t;
				return true;
			}
			if (dwarf_tag(&t) == DW_TAG_pointer_type) {
				if (!type_of(&t, &t))
					break;
				continue;
			}
			if (!is_struct(&t) || dwarf_child(&t, &m))
				break;
			while (dwarf_tag(&m) != DW_TAG_member)
				if (dwarf_siblingof(&m, &m))
					break;
			if (dwarf_tag(&m) != DW_TAG_member || !type_of(&m, &t))
				break;
		}
	} while (!dwarf_siblingof(&c, &c));
	return false;
}

/* The child of parent named name with tag (0: any). */
static bool child_named(Dwarf_Die *parent, int tag, const char *name, Dwarf_Die *out)
{
	if (dwarf_child(parent, out))
		return false;
	do {
		const char *n = dwarf_diename(out);

		if ((!tag || dwarf_tag(out) == tag) && n && !strcmp(n, name))
			return true;
	} while (!dwarf_siblingof(out, out));
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
		for (; i < 4 && child_named(&die, DW_TAG_namespace, ns[i], &die); i++)
			;
		if (i == 4 && child_named(&die, DW_TAG_structure_type, want, cell))
			return true;
		first = false;
	} while (!dwarf_get_units(d->dw, cu, &cu, NULL, NULL, &cudie, NULL));
	return false;
}

/* Stage<T> inside Cell's core: its offset there and its type */
static bool find_stage(Dwarf_Die *t, int depth, __u64 *off, Dwarf_Die *stage)
{
	Dwarf_Die m, mt, vp;

	if (depth > 6 || !is_struct(t) || dwarf_child(t, &m))
		return false;
	do {
		__u64 o, inner;

		if (dwarf_tag(&m) != DW_TAG_member || !member_off(&m, &o) || !type_of(&m, &mt))
			continue;
		if (is_struct(&mt) && starts(dwarf_diename(&mt), "Stage<") &&
		    variant_part(&mt, &vp)) {
			*off = o;
			*stage = mt;
			return true;
		}
		if (find_stage(&mt, depth + 1, &inner, stage)) {
			*off = o + inner;
			return true;
		}
	} while (!dwarf_siblingof(&m, &m));
	return false;
}

static int build_task(struct future_decoder *d, __u64 poll, struct task_layout *tl)
{
	Dwarf_Die fn, t, s, cell, core, stage, run, fut, cudie;
	const char *tq, *sq;
	const struct layout *l;
	char want[2 * MAX_NAME + 16];
	__u64 off;

	if (!func_at(d, poll, &fn) || !template_param(&fn, "T", &t) ||
	    !template_param(&fn, "S", &s) || !(tq = qname(d, &t)) || !(sq = qname(d, &s)))
		return -ENOENT;
	if (!cell_from_vars(&fn, tq, d, &cell, 0)) {
		snprintf(want, sizeof(want), "Cell<%s, %s>", tq, sq);
		if (!dwarf_diecu(&t, &cudie, NULL, NULL) || !cell_by_name(d, want, &cudie, &cell))
			return -ENOENT;
	}
	if (!child_member(&cell, "header", &off, &s) || off ||
	    !child_member(&cell, "core", &off, &core) || !find_stage(&core, 0, &tl->stage_off, &stage) ||
	    !(l = layout_of(d, &stage)))
		return -ENOENT;
	tl->stage_off += off;
	tl->stage = dwarf_dieoffset(&stage);
	for (size_t i = l->first; i < l->first + l->n; i++) {
		const struct variant *v = &d->variants[i];

		if (v->name && !strcmp(v->name, "Running") && die_at(d, v->type, &run) &&
		    child_member(&run, "__0", &tl->fut_off, &fut)) {
			tl->running = i;
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

static const char *state_name(const char *kind)
{
	if (starts(kind, "Suspend"))
		return "suspended";
	if (kind && !strcmp(kind, "Unresumed"))
		return "unresumed";
	if (kind && !strcmp(kind, "Returned"))
		return "returned";
	if (kind && !strcmp(kind, "Panicked"))
		return "panicked";
	return kind ? kind : "suspended";
}

/* From the future at addr down the chain of awaitees; with lk, the locks
 * held along it and the one awaited at its end. */
static int decode_chain(struct walk *w, Dwarf_Die *t, __u64 addr, struct future_await *out,
			struct lock_walk *lk)
{
	struct future_decoder *d = w->d;

	for (int i = 0; i < MAX_CHAIN; i++) {
		const char *name = dwarf_diename(t);
		const struct layout *l;
		const struct variant *v;
		struct found f = { .fd = -1 };
		const char *q;
		int err;

		if (is_async_env(name)) {
			if (!(l = layout_of(d, t)))
				return -ENOENT;
			if ((err = pick(w, l, addr, &v)))
				return err;
			if (out->nframes == 0)
				out->root_state = state_name(v->kind);
			if (out->nframes < FUTURE_MAX_FRAMES)
				out->frames[out->nframes++] = (struct future_frame){
					.function = l->function, .file = v->file, .line = v->line
				};
			if (lk) {
				lk->kind = fn_kind(l->function);
				lk->in_sync = starts(l->function, "tokio::sync::");
				frame_locks(w, lk, t, addr, v);
			}
			if (!v->awaitee || !die_at(d, v->awaitee, t) || !peel(t))
				return 0;
			addr += v->off + v->awaitee_off;
			continue;
		}
		explore(w, t, addr, 0, 0, &f);
		if (f.future && die_at(d, f.fut_type, t)) {
			addr = f.fut_addr;
			continue;
		}
		if (lk)
			leaf_lock(w, lk, t, addr);
		q = qname(d, t);
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

static int decode_task(struct walk *w, __u64 header, struct future_await *out,
		       struct lock_walk *lk)
{
	struct future_decoder *d = w->d;
	const struct task_layout *tl;
	const struct layout *l;
	const struct variant *v;
	__u64 vtable, poll;
	Dwarf_Die stage, fut;
	int err;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (read_uint(w, header + TOKIO_HDR_VTABLE, 8, &vtable) ||
	    read_uint(w, vtable + TOKIO_VT_POLL, 8, &poll))
		return -EFAULT;
	if (!(tl = task_of(d, poll - w->bias)))
		return -ENOMEM;
	if (tl->err)
		return tl->err;
	if (!die_at(d, tl->stage, &stage) || !(l = layout_of(d, &stage)) ||
	    !die_at(d, tl->fut, &fut))
		return -ENOENT;
	if ((err = pick(w, l, header + tl->stage_off, &v)))
		return err;
	if (v != &d->variants[tl->running]) {
		out->root_state = "finished";
		return 0;
	}
	return decode_chain(w, &fut, header + tl->stage_off + tl->fut_off, out, lk);
}

int future_decoder__tokio_task(struct future_decoder *d, __u64 header, __u64 bias,
			       future_read_fn read, void *ctx, struct future_await *out)
{
	struct walk w = { d, read, ctx, bias, MAX_NODES, MAX_READS };

	if (!d || !read || !out)
		return -EINVAL;
	return decode_task(&w, header, out, NULL);
}

int future_decoder__tokio_locks(struct future_decoder *d, __u64 header, __u64 bias,
				future_read_fn read, void *ctx, struct future_lock *out, int max)
{
	struct walk w = { d, read, ctx, bias, MAX_NODES + MAX_LOCK_NODES,
			  MAX_READS + MAX_LOCK_READS };
	struct lock_walk lk = { .out = out, .max = max };
	struct future_await fa;
	int err;

	if (!d || !read || max < 0 || (!out && max > 0))
		return -EINVAL;
	if ((err = decode_task(&w, header, &fa, &lk)))
		return err;
	if (lk.has_wait && max > 0) {
		if (lk.n == max)
			lk.n--;
		out[lk.n++] = lk.wait;
	}
	return lk.n;
}

/* ---- opening ---- */

/* Full DWARF has types; line-tables-only has namespaces and subprograms. */
static bool has_types(Dwarf_Die *parent, int depth)
{
	Dwarf_Die die;

	if (depth > 4 || dwarf_child(parent, &die))
		return false;
	do {
		switch (dwarf_tag(&die)) {
		case DW_TAG_base_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type:
			return true;
		case DW_TAG_namespace:
			if (has_types(&die, depth + 1))
				return true;
		}
	} while (!dwarf_siblingof(&die, &die));
	return false;
}

struct future_decoder *future_decoder__new(const struct binary *bin)
{
	struct future_decoder *d = calloc(1, sizeof(*d));
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	bool types = false;
	int err = -ENODATA;

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->dw = binary__dwarf(bin);
	while (d->dw && !types && !dwarf_get_units(d->dw, cu, &cu, NULL, NULL, &cudie, NULL))
		types = dwarf_tag(&cudie) == DW_TAG_compile_unit && has_types(&cudie, 0);
	if (!types)
		goto fail;
	err = -ENOMEM;
	if (!(d->units = u64_map__new()) || !(d->parents = u64_map__new()) ||
	    !(d->vtables = u64_map__new()) || !(d->layouts = u64_map__new()) ||
	    !(d->tasks = u64_map__new()) || !(d->names = u64_map__new()) ||
	    !(d->interest = u64_map__new()) || !(d->guards = u64_map__new()))
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
	for (size_t i = 0; i < d->nunit; i++)
		free(d->unit[i].funcs);
	free(d->unit);
	u64_map__free(d->units);
	free(d->polls);
	u64_map__free(d->parents);
	free(d->parent_offs);
	u64_map__free(d->vtables);
	free(d->vtable_types);
	u64_map__free(d->layouts);
	free(d->layout_arr);
	free(d->variants);
	u64_map__free(d->tasks);
	free(d->task_layouts);
	u64_map__free(d->names);
	u64_map__free(d->interest);
	u64_map__free(d->guards);
	for (size_t i = 0; i < d->nstrs; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d);
}
