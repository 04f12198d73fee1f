// SPDX-License-Identifier: MIT
/*
 * Qualified names need each DIE's parent, which libdw does not keep: a unit
 * is walked once when first needed, recording the parents of namespaces and
 * types, the address ranges of its functions and its vtables
 * ("<T as Trait>::{vtable}" variables, whose DW_AT_containing_type is T).
 * DIEs are per compile unit: types are matched by qualified name across
 * units.
 */
#include "binary/dwarf_types.h"

#include <dwarf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/str.h"
#include "lib/u64_map.h"
#include "binary/binary.h"
#include "binary/dwarf_die.h"
#include "binary/elf_symbols.h"

#define MAX_NEST 64 /* DIE nesting when indexing a unit */

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

struct dwarf_types {
	Dwarf *dw; /* the binary's */
	bool all_indexed;

	struct u64_map *units; /* CU DIE offset -> unit[] */
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

	struct u64_map *enums; /* type DIE offset -> layouts[] (NULL: no variant part) */
	struct enum_layout **layouts;
	size_t nlayout, layout_cap;
	struct u64_map *names; /* DIE offset -> strs[]: qualified names */
	char **strs;
	size_t nstrs, strs_cap;
};

static const char *keep(struct dwarf_types *ts, char *str)
{
	if (!str ||
	    array__grow((void **)&ts->strs, &ts->strs_cap, ts->nstrs + 1, sizeof(*ts->strs))) {
		free(str);
		return NULL;
	}
	ts->strs[ts->nstrs++] = str;
	return str;
}

bool dwarf_types__die(const struct dwarf_types *ts, Dwarf_Off off, Dwarf_Die *die)
{
	return off && dwarf_offdie(ts->dw, off, die);
}

/* ---- units: parents, functions, vtables ---- */

/* key -> value, appended to the array (*arr, *n, *cap) that map m indexes */
static int map_add(struct u64_map *m, Dwarf_Off **arr, size_t *n, size_t *cap, __u64 key,
		   Dwarf_Off value)
{
	if (array__grow((void **)arr, cap, *n + 1, sizeof(**arr)) || u64_map__set(m, key, (__u32)*n))
		return -ENOMEM;
	(*arr)[(*n)++] = value;
	return 0;
}

int dwarf_types__add_vtable(struct dwarf_types *ts, __u64 vaddr, Dwarf_Off type)
{
	return map_add(ts->vtables, &ts->vtable_types, &ts->nvtable, &ts->vtable_cap, vaddr, type);
}

/* "<T as Trait>::{vtable}" at a fixed address: vaddr -> T */
static int index_vtable(struct dwarf_types *ts, Dwarf_Die *var)
{
	const char *name = dwarf_diename(var);
	size_t n = name ? strlen(name) : 0;
	Dwarf_Attribute attr;
	Dwarf_Die vt, self;
	Dwarf_Op *ops;
	size_t nops;

	if (n < 10 || strcmp(name + n - 10, "::{vtable}") ||
	    dwarf_getlocation(dwarf_attr(var, DW_AT_location, &attr), &ops, &nops) || nops != 1 ||
	    ops[0].atom != DW_OP_addr || !ops[0].number || !die__type(var, &vt) ||
	    !dwarf_formref_die(dwarf_attr(&vt, DW_AT_containing_type, &attr), &self))
		return 0;
	return dwarf_types__add_vtable(ts, ops[0].number, dwarf_dieoffset(&self));
}

static int index_under(struct dwarf_types *ts, struct unit *u, Dwarf_Die *parent, int depth)
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
			if ((depth && (err = map_add(ts->parents, &ts->parent_offs, &ts->nparent,
						     &ts->parent_cap, dwarf_dieoffset(&die), poff))) ||
			    (err = index_under(ts, u, &die, depth + 1)))
				return err;
			break;
		case DW_TAG_subprogram:
			if (scope && depth && str__starts(dwarf_diename(&die), "{async_")) {
				if (array__grow((void **)&ts->polls, &ts->poll_cap, ts->npoll + 1,
						sizeof(*ts->polls)))
					return -ENOMEM;
				ts->polls[ts->npoll++] = (struct async_poll){ poff,
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
			if (scope && (err = index_vtable(ts, &die)))
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
static struct unit *unit_of(struct dwarf_types *ts, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	struct unit *u;
	__u32 i;

	if (u64_map__get(ts->units, off, &i))
		return &ts->unit[i];
	if (array__grow((void **)&ts->unit, &ts->unit_cap, ts->nunit + 1, sizeof(*ts->unit)) ||
	    u64_map__set(ts->units, off, (__u32)ts->nunit))
		return NULL;
	u = &ts->unit[ts->nunit++];
	*u = (struct unit){ 0 };
	index_under(ts, u, cudie, 0); /* out of memory: what we got is still usable */
	if (u->nfuncs)
		qsort(u->funcs, u->nfuncs, sizeof(*u->funcs), cmp_range);
	return u;
}

static void index_die_unit(struct dwarf_types *ts, Dwarf_Die *die)
{
	Dwarf_Die cudie;

	if (dwarf_diecu(die, &cudie, NULL, NULL))
		unit_of(ts, &cudie);
}

void dwarf_types__index_all(struct dwarf_types *ts)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;

	if (ts->all_indexed)
		return;
	ts->all_indexed = true;
	while (!dwarf_get_units(ts->dw, cu, &cu, NULL, NULL, &cudie, NULL))
		if (dwarf_tag(&cudie) == DW_TAG_compile_unit)
			unit_of(ts, &cudie);
}

bool dwarf_types__vtable(struct dwarf_types *ts, __u64 vaddr, Dwarf_Die *type)
{
	__u32 i;

	return u64_map__get(ts->vtables, vaddr, &i) &&
	       dwarf_types__die(ts, ts->vtable_types[i], type) && die__peel(type);
}

bool dwarf_types__func_at(struct dwarf_types *ts, __u64 vaddr, Dwarf_Die *func)
{
	Dwarf_Die cudie;
	struct unit *u;
	size_t lo = 0, hi;

	if (!dwarf_addrdie(ts->dw, vaddr, &cudie)) { /* no .debug_aranges entry */
		Dwarf_CU *cu = NULL;
		bool found = false;

		while (!found && !dwarf_get_units(ts->dw, cu, &cu, NULL, NULL, &cudie, NULL))
			found = dwarf_tag(&cudie) == DW_TAG_compile_unit &&
				dwarf_haspc(&cudie, vaddr) > 0;
		if (!found)
			return false;
	}
	if (!(u = unit_of(ts, &cudie)))
		return false;
	hi = u->nfuncs;
	while (lo < hi) { /* the first range starting above vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (u->funcs[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && vaddr < u->funcs[lo - 1].end &&
	       dwarf_types__die(ts, u->funcs[lo - 1].die, func);
}

const char *dwarf_types__name(struct dwarf_types *ts, Dwarf_Die *die)
{
	Dwarf_Off off = dwarf_dieoffset(die), cur = off;
	const char *parts[MAX_NEST];
	char buf[DWARF_TYPES_MAX_NAME], *p = buf;
	int n = 0;
	__u32 i;

	if (u64_map__get(ts->names, off, &i))
		return ts->strs[i];
	index_die_unit(ts, die);
	while (n < MAX_NEST) {
		Dwarf_Die c;
		const char *name = dwarf_types__die(ts, cur, &c) ? dwarf_diename(&c) : NULL;

		if (!name)
			break;
		parts[n++] = name;
		if (!u64_map__get(ts->parents, cur, &i))
			break;
		cur = ts->parent_offs[i];
	}
	if (!n)
		return NULL;
	while (n-- > 0)
		p += snprintf(p, buf + sizeof(buf) - p, "%s%s", parts[n], n ? "::" : "");
	/* a name truncated by snprintf is still a name */
	if (!keep(ts, strdup(buf)) || u64_map__set(ts->names, off, (__u32)(ts->nstrs - 1)))
		return NULL;
	return ts->strs[ts->nstrs - 1];
}

/* ---- the path of an async fn or block ---- */

/* "stuck::f::{{closure}}::{closure#1}" -> "stuck::f" */
static void strip_closures(char *path)
{
	for (;;) {
		char *last = strrchr(path, ':');

		if (!last || last == path || last[-1] != ':' ||
		    (strcmp(last + 1, "{{closure}}") && !str__starts(last + 1, "{closure#")))
			return;
		last[-1] = '\0';
	}
}

/* The demangled linkage name of the poll function `want` ("{async_fn#0}")
 * in namespace parent: in parent itself, else (every unit indexed) in a
 * namespace of the same name in another unit. */
static bool poll_path(struct dwarf_types *ts, Dwarf_Die *parent, const char *want, char *path,
		      size_t len)
{
	Dwarf_Off poff = dwarf_dieoffset(parent);
	const char *pq = NULL;
	size_t n = strlen(want);

	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			dwarf_types__index_all(ts);
			if (!(pq = dwarf_types__name(ts, parent)))
				return false;
		}
		for (size_t i = 0; i < ts->npoll; i++) {
			Dwarf_Die fn, p;
			Dwarf_Attribute attr;
			const char *name, *link, *q;

			if ((!pass && ts->polls[i].parent != poff) ||
			    !dwarf_types__die(ts, ts->polls[i].die, &fn))
				continue;
			name = dwarf_diename(&fn);
			if (!str__starts(name, want) || (name[n] && name[n] != '<'))
				continue;
			if (pass && (!dwarf_types__die(ts, ts->polls[i].parent, &p) ||
				     !(q = dwarf_types__name(ts, &p)) || strcmp(q, pq)))
				continue;
			link = dwarf_formstring(dwarf_attr_integrate(&fn, DW_AT_linkage_name, &attr));
			if (link && !elf_symbols__demangle(link, path, len))
				return true;
		}
	}
	return false;
}

static bool parent_of(struct dwarf_types *ts, Dwarf_Die *die, Dwarf_Die *parent)
{
	__u32 i;

	index_die_unit(ts, die);
	return u64_map__get(ts->parents, dwarf_dieoffset(die), &i) &&
	       dwarf_types__die(ts, ts->parent_offs[i], parent);
}

/* The path of the code in namespace ns: a block's or closure's is its
 * enclosing code's + "::{async_block#N}"; an async fn's body
 * ("{async_fn#0}") is the fn; a fn's namespace, the path its async poll
 * function demangles to when it has one (an impl's type rather than
 * "{impl#3}"), else the namespaces'. */
static void code_path(struct dwarf_types *ts, Dwarf_Die *ns, char *path, size_t len, int depth)
{
	const char *name = dwarf_diename(ns), *q;
	Dwarf_Die parent;
	size_t n;

	path[0] = '\0';
	if (!name || depth > 8)
		return;
	if (str__starts(name, "{async_block#") || str__starts(name, "{closure#") ||
	    str__starts(name, "{async_fn#")) {
		if (parent_of(ts, ns, &parent))
			code_path(ts, &parent, path, len, depth + 1);
		n = strlen(path);
		if (!str__starts(name, "{async_fn#"))
			snprintf(path + n, len - n, "%s%s", n ? "::" : "", name);
		return;
	}
	if (poll_path(ts, ns, "{async_fn#0}", path, len)) {
		strip_closures(path);
		return;
	}
	q = dwarf_types__name(ts, ns);
	snprintf(path, len, "%s", q ? q : "");
}

/* an async fn: its path; an async block: its enclosing code's + "::{async_block#N}" */
static const char *env_function(struct dwarf_types *ts, Dwarf_Die *env)
{
	const char *name = dwarf_diename(env);
	const char *hash = strchr(name, '#');
	char path[DWARF_TYPES_MAX_NAME];
	Dwarf_Die parent;
	size_t len;

	if (!parent_of(ts, env, &parent))
		return NULL;
	code_path(ts, &parent, path, sizeof(path), 0);
	len = strlen(path);
	if (str__starts(name, "{async_block_env#")) /* "{async_block_env#2}" -> "::{async_block#2}" */
		snprintf(path + len, sizeof(path) - len, "%s{async_block%.*s}", len ? "::" : "",
			 (int)strcspn(hash, "}"), hash);
	return path[0] ? keep(ts, strdup(path)) : NULL;
}

/* ---- enum layouts ---- */

static int build_variants(struct enum_layout *l, Dwarf_Die *vp)
{
	Dwarf_Die v, m, vt, aw;
	size_t cap = 0;

	if (dwarf_child(vp, &v))
		return 0;
	do {
		Dwarf_Attribute attr;
		struct enum_variant *x;
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
		if (!die__first_member(&v, &m) || !die__type(&m, &vt))
			continue;
		if (array__grow((void **)&l->variants, &cap, l->n + 1, sizeof(*l->variants)))
			return -ENOMEM;
		x = &l->variants[l->n];
		*x = (struct enum_variant){ .value = value, .dflt = dflt, .name = dwarf_diename(&m),
					    .kind = dwarf_diename(&vt), .file = dwarf_decl_file(&m),
					    .type = dwarf_dieoffset(&vt) };
		if (!die__member_off(&m, &x->off))
			return -ENOENT;
		if (!dwarf_decl_line(&m, &line) && line > 0)
			x->line = (__u32)line;
		if (l->is_async && die__child_member(&vt, "__awaitee", &x->awaitee_off, &aw))
			x->awaitee = dwarf_dieoffset(&aw);
		l->n++;
	} while (!dwarf_siblingof(&v, &v));
	return 0;
}

static int build_layout(struct dwarf_types *ts, Dwarf_Die *t, struct enum_layout *l)
{
	Dwarf_Attribute attr;
	Dwarf_Die vp, discr, dt;
	__u64 off;
	int size;

	if (!die__is_struct(t) || !die__variant_part(t, &vp))
		return -ENOENT;
	l->is_async = die__is_async_env(t);
	if (dwarf_formref_die(dwarf_attr(&vp, DW_AT_discr, &attr), &discr)) {
		if (!die__member_off(&discr, &off) || !die__type(&discr, &dt) ||
		    (size = dwarf_bytesize(&dt)) <= 0 || off > UINT32_MAX)
			return -ENOENT;
		l->has_discr = true;
		l->discr_off = (__u32)off;
		l->discr_size = size > 8 ? 8 : (__u32)size; /* a u128 niche: its low half */
	}
	if (l->is_async)
		l->function = env_function(ts, t);
	return build_variants(l, &vp);
}

static void free_layout(struct enum_layout *l)
{
	if (l)
		free(l->variants);
	free(l);
}

const struct enum_layout *dwarf_types__enum(struct dwarf_types *ts, Dwarf_Die *t)
{
	Dwarf_Off off = dwarf_dieoffset(t);
	struct enum_layout *l;
	int err;
	__u32 i;

	if (u64_map__get(ts->enums, off, &i))
		return ts->layouts[i];
	if (!(l = calloc(1, sizeof(*l))))
		return NULL;
	err = build_layout(ts, t, l);
	if (err) { /* no variant part: remembered as NULL; out of memory: not */
		free_layout(l);
		if (err == -ENOMEM)
			return NULL;
		l = NULL;
	}
	if (array__grow((void **)&ts->layouts, &ts->layout_cap, ts->nlayout + 1,
			sizeof(*ts->layouts)) ||
	    u64_map__set(ts->enums, off, (__u32)ts->nlayout)) {
		free_layout(l);
		return NULL;
	}
	ts->layouts[ts->nlayout++] = l;
	return l;
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

struct dwarf_types *dwarf_types__new(const struct binary *bin)
{
	struct dwarf_types *ts = calloc(1, sizeof(*ts));
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	bool types = false;
	int err = -ENODATA;

	if (!ts) {
		errno = ENOMEM;
		return NULL;
	}
	ts->dw = binary__dwarf(bin);
	while (ts->dw && !types && !dwarf_get_units(ts->dw, cu, &cu, NULL, NULL, &cudie, NULL))
		types = dwarf_tag(&cudie) == DW_TAG_compile_unit && has_types(&cudie, 0);
	if (!types)
		goto fail;
	err = -ENOMEM;
	if (!(ts->units = u64_map__new()) || !(ts->parents = u64_map__new()) ||
	    !(ts->vtables = u64_map__new()) || !(ts->enums = u64_map__new()) ||
	    !(ts->names = u64_map__new()))
		goto fail;
	return ts;

fail:
	dwarf_types__free(ts);
	errno = -err;
	return NULL;
}

void dwarf_types__free(struct dwarf_types *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->nunit; i++)
		free(ts->unit[i].funcs);
	free(ts->unit);
	u64_map__free(ts->units);
	free(ts->polls);
	u64_map__free(ts->parents);
	free(ts->parent_offs);
	u64_map__free(ts->vtables);
	free(ts->vtable_types);
	u64_map__free(ts->enums);
	for (size_t i = 0; i < ts->nlayout; i++)
		free_layout(ts->layouts[i]);
	free(ts->layouts);
	u64_map__free(ts->names);
	for (size_t i = 0; i < ts->nstrs; i++)
		free(ts->strs[i]);
	free(ts->strs);
	free(ts);
}

Dwarf *dwarf_types__dwarf(const struct dwarf_types *ts)
{
	return ts->dw;
}
