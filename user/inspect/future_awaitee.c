// SPDX-License-Identifier: MIT
/*
 * Awaitees that are not async fns are explored (bounded in depth, visits,
 * reads and pointer hops): into members, the live variant of enums, Box and
 * & pointers, and `dyn` fat pointers (the concrete type from the vtable); an
 * async fn found inside (a Timeout's future, a Pin<Box<dyn Future>>)
 * continues the chain, else the awaitee is the leaf and what the
 * exploration met of Sleep, JoinHandle and OwnedFd gives the facts.
 */
#include "inspect/future_awaitee.h"

#include <dwarf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/u64_map.h"
#include "binary/dwarf_die.h"
#include "binary/dwarf_types.h"
#include "inspect/future_walk.h"

#define MAX_DEPTH 20 /* struct nesting explored in an awaitee */
#define MAX_HOPS 2   /* pointers followed from an awaitee */

struct awaitee_explorer {
	struct dwarf_types *types;
	struct u64_map *interest; /* type DIE offset -> 0, 1; 2 while deciding */
};

/* One exploration: the task's walk, and what it found. */
struct exploring {
	struct awaitee_explorer *x;
	struct future_walk *w;
	struct awaitee_found *f;
};

static bool followable(const char *ptr_name)
{
	return ptr_name && (ptr_name[0] == '&' || str__starts(ptr_name, "alloc::boxed::Box<"));
}

/* a `dyn` fat pointer: { pointer: *dyn T, vtable } */
static bool is_fat(Dwarf_Die *t)
{
	const char *name = dwarf_diename(t);
	Dwarf_Die pt, dyn;
	__u64 off;

	return followable(name) && die__child_member(t, "pointer", &off, &pt) &&
	       die__child_member(t, "vtable", &off, &dyn) && dwarf_tag(&pt) == DW_TAG_pointer_type;
}

static bool known_leaf(const char *name)
{
	return name && (!strcmp(name, "Sleep") || str__starts(name, "JoinHandle<") ||
			!strcmp(name, "OwnedFd"));
}

/* Could exploring t find anything? Static, over every variant; memoized.
 * Unsure (too deep, a cycle through pointers) counts as yes. */
static bool interesting(void *ctx, Dwarf_Die *t, int depth)
{
	struct awaitee_explorer *x = ctx;
	Dwarf_Off off = dwarf_dieoffset(t);
	Dwarf_Die pointee;
	const char *name = dwarf_diename(t);
	bool yes = false;
	__u32 memo;

	if (depth > MAX_DEPTH)
		return true;
	if (dwarf_tag(t) == DW_TAG_pointer_type)
		return followable(name) && die__type(t, &pointee) &&
		       interesting(x, &pointee, depth + 1);
	if (!die__is_struct(t))
		return false;
	if (u64_map__get(x->interest, off, &memo))
		return memo != 0;
	if (die__is_async_env(t) || known_leaf(name) || is_fat(t))
		yes = true;
	else if (u64_map__set(x->interest, off, 2))
		return true;
	yes = yes || die__any_member(t, interesting, x, depth + 1);
	u64_map__set(x->interest, off, yes);
	return yes;
}

/* The concrete type behind a vtable at runtime address vtable: from the
 * DWARF's vtables (indexing every unit once if needed), else from its
 * drop_in_place<T> in slot 0. */
static bool vtable_type(struct exploring *e, __u64 vtable, Dwarf_Die *out)
{
	struct dwarf_types *ts = e->x->types;
	struct future_walk *w = e->w;
	__u64 vaddr = vtable - w->bias, drop;
	Dwarf_Attribute attr;
	Dwarf_Die fn;

	if (dwarf_types__vtable(ts, vaddr, out))
		return true;
	if (w->reads-- > 0 && !future_walk__read_uint(w, vtable, 8, &drop) && drop &&
	    dwarf_types__func_at(ts, drop - w->bias, &fn) &&
	    str__starts(dwarf_formstring(dwarf_attr_integrate(&fn, DW_AT_name, &attr)),
			"drop_in_place<") &&
	    die__template_param(&fn, "T", out)) {
		dwarf_types__add_vtable(ts, vaddr, dwarf_dieoffset(out));
		return true;
	}
	dwarf_types__index_all(ts);
	return dwarf_types__vtable(ts, vaddr, out);
}

static void explore(struct exploring *e, Dwarf_Die *t, __u64 addr, int depth, int hops);

static void explore_sleep(struct exploring *e, Dwarf_Die *t, __u64 addr)
{
	struct awaitee_found *f = e->f;
	__u64 off, soff, noff;
	Dwarf_Die dl, st, nt;
	__s64 sec, nsec;

	if (f->has_deadline || !die__find_member(t, "deadline", &off, &dl) ||
	    !die__find_member(&dl, "tv_sec", &soff, &st) ||
	    !die__find_member(&dl, "tv_nsec", &noff, &nt) ||
	    !future_walk__read_scalar(e->w, &st, addr + off + soff, &sec) ||
	    !future_walk__read_scalar(e->w, &nt, addr + off + noff, &nsec) || sec < 0 ||
	    (__u64)sec > UINT64_MAX / 1000000000 - 1 || nsec < 0 || nsec >= 1000000000)
		return;
	f->has_deadline = true;
	f->deadline_ns = (__u64)sec * 1000000000 + (__u64)nsec;
}

static void explore_members(struct exploring *e, Dwarf_Die *t, __u64 addr, int depth, int hops)
{
	const struct enum_layout *l;
	const struct enum_variant *v;
	Dwarf_Die m, mt;
	__u64 off;

	if (dwarf_child(t, &m))
		return;
	do {
		if (dwarf_tag(&m) == DW_TAG_member && die__member_off(&m, &off) &&
		    die__type(&m, &mt))
			explore(e, &mt, addr + off, depth + 1, hops);
	} while (!e->f->future && !dwarf_siblingof(&m, &m));
	/* an enum: only its live variant (reads budgeted like the others) */
	if (!e->f->future && die__variant_part(t, &m) && (l = dwarf_types__enum(e->x->types, t)) &&
	    e->w->reads-- > 0 && !future_walk__pick(e->w, l, addr, &v) &&
	    dwarf_types__die(e->x->types, v->type, &mt))
		explore(e, &mt, addr + v->off, depth + 1, hops);
}

/* a tokio Sleep's deadline, a JoinHandle's task, an OwnedFd's fd: true if
 * t is one of those (explored no further) */
static bool explore_leaf(struct exploring *e, Dwarf_Die *t, __u64 addr)
{
	struct awaitee_found *f = e->f;
	const char *q = dwarf_types__name(e->x->types, t);
	Dwarf_Die mt;
	__u64 off;
	__s64 v;

	if (!q)
		return false;
	if (!strcmp(q, "tokio::time::sleep::Sleep")) {
		explore_sleep(e, t, addr);
		return true;
	}
	if (str__starts(q, "tokio::runtime::task::join::JoinHandle<")) {
		if (!f->join_header && die__find_member(t, "ptr", &off, &mt) &&
		    future_walk__read_scalar(e->w, &mt, addr + off, &v) && v && !(v & 7))
			f->join_header = (__u64)v;
		return true;
	}
	if (!strcmp(q, "std::os::fd::owned::OwnedFd")) {
		if (f->fd < 0 && die__find_member(t, "fd", &off, &mt) &&
		    future_walk__read_scalar(e->w, &mt, addr + off, &v) && v >= 0 && v <= INT32_MAX)
			f->fd = (int)v;
		return true;
	}
	return false;
}

static void explore(struct exploring *e, Dwarf_Die *t, __u64 addr, int depth, int hops)
{
	struct future_walk *w = e->w;
	Dwarf_Die pointee, pt;
	__u64 off;
	__s64 v, vt;

	if (e->f->future || depth > MAX_DEPTH || w->nodes-- <= 0 || !interesting(e->x, t, 0))
		return;
	if (dwarf_tag(t) == DW_TAG_pointer_type) {
		if (hops < MAX_HOPS && die__type(t, &pointee) &&
		    future_walk__read_scalar(w, t, addr, &v) && (__u64)v >= 4096)
			explore(e, &pointee, (__u64)v, depth + 1, hops + 1);
		return;
	}
	if (die__is_async_env(t)) {
		e->f->future = true;
		e->f->fut_type = dwarf_dieoffset(t);
		e->f->fut_addr = addr;
		return;
	}
	if (known_leaf(dwarf_diename(t)) && explore_leaf(e, t, addr))
		return;
	if (is_fat(t)) {
		if (hops < MAX_HOPS && die__child_member(t, "pointer", &off, &pt) &&
		    future_walk__read_scalar(w, &pt, addr + off, &v) && (__u64)v >= 4096 &&
		    die__child_member(t, "vtable", &off, &pt) &&
		    future_walk__read_scalar(w, &pt, addr + off, &vt) && (__u64)vt >= 4096 &&
		    vtable_type(e, (__u64)vt, &pointee))
			explore(e, &pointee, (__u64)v, depth + 1, hops + 1);
		return;
	}
	explore_members(e, t, addr, depth, hops);
}

void awaitee_explorer__explore(struct awaitee_explorer *x, struct future_walk *w, Dwarf_Die *t,
			       __u64 addr, struct awaitee_found *f)
{
	struct exploring e = { x, w, f };

	*f = (struct awaitee_found){ .fd = -1 };
	explore(&e, t, addr, 0, 0);
}

struct awaitee_explorer *awaitee_explorer__new(struct dwarf_types *types)
{
	struct awaitee_explorer *x = calloc(1, sizeof(*x));

	if (!x || !(x->interest = u64_map__new())) {
		free(x);
		return NULL;
	}
	x->types = types;
	return x;
}

void awaitee_explorer__free(struct awaitee_explorer *x)
{
	if (!x)
		return;
	u64_map__free(x->interest);
	free(x);
}
