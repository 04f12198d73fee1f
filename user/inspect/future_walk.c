// SPDX-License-Identifier: MIT
#include "inspect/future_walk.h"

#include <dwarf.h>
#include <errno.h>

#include "binary/dwarf_die.h"

int future_walk__read_uint(struct future_walk *w, __u64 addr, __u32 size, __u64 *v)
{
	__u8 b[8] = { 0 };

	if (size > 8 || addr + size < addr || w->read(addr, b, size, w->ctx))
		return -EFAULT;
	*v = 0;
	for (int i = (int)size - 1; i >= 0; i--) /* x86_64: little-endian */
		*v = *v << 8 | b[i];
	return 0;
}

int future_walk__pick(struct future_walk *w, const struct enum_layout *l, __u64 addr,
		      const struct enum_variant **out)
{
	const struct enum_variant *dflt = NULL;
	__u64 v = 0, mask;

	if (!l->has_discr) { /* a single variant */
		if (l->n != 1)
			return -EPROTO;
		*out = &l->variants[0];
		return 0;
	}
	if (future_walk__read_uint(w, addr + l->discr_off, l->discr_size, &v))
		return -EFAULT;
	mask = l->discr_size >= 8 ? ~0ULL : (1ULL << (8 * l->discr_size)) - 1;
	for (size_t i = 0; i < l->n; i++) {
		const struct enum_variant *x = &l->variants[i];

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

bool future_walk__read_scalar(struct future_walk *w, Dwarf_Die *t, __u64 addr, __s64 *out)
{
	Dwarf_Attribute attr;
	Dwarf_Word enc = 0;
	__u64 v;
	int size;

	if (!die__unwrap(t, &addr))
		return false;
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
	if (size <= 0 || size > 8 || w->reads-- <= 0 ||
	    future_walk__read_uint(w, addr, (__u32)size, &v))
		return false;
	if ((enc == DW_ATE_signed || enc == DW_ATE_signed_char) && size < 8 &&
	    (v >> (8 * size - 1) & 1))
		v |= ~0ULL << (8 * size);
	*out = (__s64)v;
	return true;
}
