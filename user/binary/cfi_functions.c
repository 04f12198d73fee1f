// SPDX-License-Identifier: MIT
/*
 * Functions from the call frame information (cfi_functions.h): the starts
 * from .eh_frame_hdr's binary search table, each end from its FDE's
 * pc_range (libdw's frames give an address's CFI row, not its FDE's range).
 */
#include "binary/cfi_functions.h"
#include "binary/binary.h"
#include "binary/elf_symbols.h"

#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#define HDR_VERSION 1
#define ENC_DATAREL_SDATA4 0x3b /* the table's encoding: GNU ld, gold and lld */
#define ENC_OMIT 0xff

/* The size of a pointer encoded with enc (its low nibble), or 0. */
static size_t enc_size(__u8 enc)
{
	switch (enc & 0x0f) {
	case 0x02: case 0x0a: /* (s/u)data2 */
		return 2;
	case 0x03: case 0x0b:
		return 4;
	case 0x00: case 0x04: case 0x0c: /* absptr, (s/u)data8 */
		return 8;
	}
	return 0;
}

/* PT_GNU_EH_FRAME's vaddr and size. */
static int hdr_segment(const struct binary *b, __u64 *vaddr, __u64 *size)
{
	Elf *elf = binary__elf(b);
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n))
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_GNU_EH_FRAME) {
			*vaddr = ph.p_vaddr;
			*size = ph.p_filesz;
			return 0;
		}
	}
	return -ENOENT;
}

static __u64 uleb(const __u8 *p, size_t len, size_t *i)
{
	__u64 v = 0;

	for (int shift = 0; *i < len && shift < 64; shift += 7) {
		__u8 c = p[(*i)++];

		v |= (__u64)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	return v;
}

/* The encoding of a CIE's FDE pointers (augmentation 'R'), or ENC_OMIT. */
static __u8 cie_encoding(const struct elf_symbols *syms, __u64 cie)
{
	__u8 c[64];
	size_t i = 9; /* length, id, version */
	const char *aug = (const char *)c + i;
	size_t alen;

	if (elf_symbols__read(syms, cie, c, sizeof(c)) || c[8] < 1)
		return ENC_OMIT;
	alen = strnlen(aug, sizeof(c) - i);
	if (aug[0] != 'z' || i + alen >= sizeof(c))
		return ENC_OMIT;
	i += alen + 1;
	uleb(c, sizeof(c), &i);		       /* code alignment */
	uleb(c, sizeof(c), &i);		       /* data alignment (sleb: same bytes) */
	c[8] == 1 ? i++ : uleb(c, sizeof(c), &i); /* return address register */
	uleb(c, sizeof(c), &i);		       /* augmentation data's length */
	for (const char *a = aug + 1; *a && i < sizeof(c); a++) {
		if (*a == 'R')
			return c[i];
		if (*a == 'P')
			i += 1 + enc_size(c[i]);
		else if (*a == 'L')
			i++;
		else if (*a != 'S' && *a != 'B')
			break;
	}
	return ENC_OMIT;
}

/* The range of the FDE at fde, whose function starts at start: its
 * pc_range follows pc_begin, both of its CIE's encoding (the last one is
 * cached: a binary has one or two). */
static bool fde_range(const struct elf_symbols *syms, __u64 fde, __u64 start, __u64 *cie_seen,
		      __u8 *enc, struct cfi_function *out)
{
	__u32 w[2];
	__u64 range = 0;
	size_t size;

	if (elf_symbols__read(syms, fde, w, sizeof(w)) || w[0] == 0xffffffff || !w[1])
		return false;
	if (fde + 4 - w[1] != *cie_seen) {
		*cie_seen = fde + 4 - w[1];
		*enc = cie_encoding(syms, *cie_seen);
	}
	size = enc_size(*enc);
	if (*enc == ENC_OMIT || !size || elf_symbols__read(syms, fde + 8 + size, &range, size))
		return false;
	*out = (struct cfi_function){start, start + range};
	return range > 0;
}

int cfi_functions__list(const struct binary *b, struct cfi_function **out)
{
	const struct elf_symbols *syms = binary__symbols(b);
	__u64 at, size, off;
	__u8 h[4];
	__u64 cie = 0;
	__u32 count;
	__s32 *table;
	__u8 enc = ENC_OMIT;
	int n = 0;

	*out = NULL;
	if (!syms || hdr_segment(b, &at, &size) || size < 4 || elf_symbols__read(syms, at, h, 4))
		return -ENOENT;
	off = 4 + enc_size(h[1]);
	if (h[0] != HDR_VERSION || h[1] == ENC_OMIT || !enc_size(h[1]) || enc_size(h[2]) != 4 ||
	    h[3] != ENC_DATAREL_SDATA4 || off + 4 > size ||
	    elf_symbols__read(syms, at + off, &count, 4) || (__u64)count * 8 > size - off - 4)
		return -ENOENT;
	table = malloc((size_t)count * 8 + 1);
	*out = malloc(((size_t)count + 1) * sizeof(**out));
	if (!table || !*out) {
		free(table);
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	if (elf_symbols__read(syms, at + off + 4, table, (size_t)count * 8))
		count = 0;
	for (__u32 i = 0; i < count; i++)
		n += fde_range(syms, at + (__u64)(__s64)table[2 * i + 1],
			       at + (__u64)(__s64)table[2 * i], &cie, &enc, &(*out)[n]);
	free(table);
	return n ? n : -ENOENT;
}

/* FDEs do not overlap: a function holding vaddr is the one. */
static int cmp_holds(const void *key, const void *elem)
{
	__u64 v = *(const __u64 *)key;
	const struct cfi_function *f = elem;

	return v < f->start ? -1 : v >= f->end;
}

const struct cfi_function *cfi_functions__containing(const struct cfi_function *fns, int n,
						     __u64 vaddr)
{
	return n > 0 ? bsearch(&vaddr, fns, (size_t)n, sizeof(*fns), cmp_holds) : NULL;
}
