// SPDX-License-Identifier: MIT
#include "binary/dwarf_die.h"

#include <dwarf.h>
#include <string.h>

#include "lib/str.h"

bool die__peel(Dwarf_Die *t)
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

bool die__type(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;

	return dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &attr), out) &&
	       die__peel(out);
}

bool die__member_off(Dwarf_Die *m, __u64 *off)
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

bool die__is_struct(Dwarf_Die *t)
{
	return dwarf_tag(t) == DW_TAG_structure_type;
}

bool die__is_async_env(Dwarf_Die *t)
{
	const char *name = dwarf_diename(t);

	return str__starts(name, "{async_fn_env#") || str__starts(name, "{async_block_env#");
}

bool die__variant_part(Dwarf_Die *t, Dwarf_Die *vp)
{
	if (dwarf_child(t, vp))
		return false;
	do {
		if (dwarf_tag(vp) == DW_TAG_variant_part)
			return true;
	} while (!dwarf_siblingof(vp, vp));
	return false;
}

bool die__first_member(Dwarf_Die *t, Dwarf_Die *m)
{
	if (dwarf_child(t, m))
		return false;
	while (dwarf_tag(m) != DW_TAG_member)
		if (dwarf_siblingof(m, m))
			return false;
	return true;
}

bool die__unwrap(Dwarf_Die *t, __u64 *off)
{
	for (int i = 0; i < 8 && die__is_struct(t); i++) {
		Dwarf_Die m;
		__u64 o;

		if (!die__first_member(t, &m) || !die__member_off(&m, &o) || !die__type(&m, t))
			return false;
		*off += o;
	}
	return true;
}

bool die__child_member(Dwarf_Die *t, const char *name, __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m;

	if (dwarf_child(t, &m))
		return false;
	do {
		const char *n = dwarf_diename(&m);

		if (dwarf_tag(&m) == DW_TAG_member && n && !strcmp(n, name))
			return die__member_off(&m, off) && die__type(&m, type);
	} while (!dwarf_siblingof(&m, &m));
	return false;
}

bool die__find(Dwarf_Die *t, die_match match, void *ctx, int max_depth, bool shallow,
	       __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m, mt;

	if (max_depth < 0 || !die__is_struct(t))
		return false;
	/* shallow: pass 0 matches, pass 1 goes inside; else one pass does both */
	for (int pass = 0; pass < (shallow ? 2 : 1); pass++) {
		if (dwarf_child(t, &m))
			return false;
		do {
			__u64 o, inner;

			if (dwarf_tag(&m) != DW_TAG_member || !die__member_off(&m, &o) ||
			    !die__type(&m, &mt))
				continue;
			if ((!shallow || !pass) && match(ctx, &m, &mt)) {
				*off = o;
				*type = mt;
				return true;
			}
			if ((!shallow || pass) &&
			    die__find(&mt, match, ctx, max_depth - 1, shallow, &inner, type)) {
				*off = o + inner;
				return true;
			}
		} while (!dwarf_siblingof(&m, &m));
	}
	return false;
}

static bool named(void *name, Dwarf_Die *m, Dwarf_Die *type)
{
	const char *n = dwarf_diename(m);

	return n && !strcmp(n, name);
}

bool die__find_member(Dwarf_Die *t, const char *name, __u64 *off, Dwarf_Die *type)
{
	return die__find(t, named, (void *)name, 8, false, off, type);
}

bool die__child_named(Dwarf_Die *parent, int tag, const char *name, Dwarf_Die *out)
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

bool die__template_param(Dwarf_Die *die, const char *name, Dwarf_Die *type)
{
	Dwarf_Attribute attr;
	Dwarf_Die c, cur = *die;

	for (int i = 0; i < 4; i++) {
		if (!dwarf_child(&cur, &c)) {
			do {
				const char *n = dwarf_diename(&c);

				if (dwarf_tag(&c) == DW_TAG_template_type_parameter && n &&
				    !strcmp(n, name))
					return die__type(&c, type);
			} while (!dwarf_siblingof(&c, &c));
		}
		if (!dwarf_formref_die(dwarf_attr(&cur, DW_AT_abstract_origin, &attr), &cur))
			break;
	}
	return false;
}

bool die__any_member(Dwarf_Die *t, die_test test, void *ctx, int depth)
{
	Dwarf_Die c, mt;

	for (int pass = 0; pass < 2 && !dwarf_child(t, &c); pass++) {
		/* pass 0: members and variant parts; 1: the variants' members */
		Dwarf_Die vp, v;

		if (pass == 1) {
			if (!die__variant_part(t, &vp) || dwarf_child(&vp, &v))
				break;
			c = v;
		}
		do {
			Dwarf_Die m = c;

			if (pass == 1 && (dwarf_tag(&c) != DW_TAG_variant || dwarf_child(&c, &m)))
				continue;
			if (dwarf_tag(&m) == DW_TAG_member && die__type(&m, &mt) &&
			    test(ctx, &mt, depth))
				return true;
		} while (!dwarf_siblingof(&c, &c));
	}
	return false;
}
