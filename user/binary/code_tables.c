// SPDX-License-Identifier: MIT
/*
 * Tables of code pointers by their shape (code_tables.h). Each section
 * scanned is read once into an array of words with what each word is (a
 * pointer, a code pointer), the dynamic relocations walked once per section,
 * then one pass counts runs of code pointers.
 */
#include "binary/code_tables.h"
#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "lib/array.h"

#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#ifndef SHT_RELR
#define SHT_RELR 19
#endif

enum { W_PTR = 1, W_CODE = 2 };

struct ranges {
	struct range {
		__u64 lo, hi;
	} *r;
	size_t n, cap;
};

struct image {
	const struct elf_symbols *syms;
	Elf *elf;
	bool pie;
	struct ranges code; /* executable sections */
	struct ranges load; /* PT_LOAD segments, in memory (p_memsz) */
};

/* One section's words as the loader leaves them, from vaddr lo on. */
struct region {
	__u64 lo;
	size_t n;
	__u64 *val;
	__u8 *kind;
};

static int add_range(struct ranges *rs, __u64 lo, __u64 hi)
{
	if (array__grow((void **)&rs->r, &rs->cap, rs->n + 1, sizeof(*rs->r)))
		return -ENOMEM;
	rs->r[rs->n++] = (struct range){lo, hi};
	return 0;
}

static bool in_ranges(const struct ranges *rs, __u64 v)
{
	for (size_t i = 0; i < rs->n; i++)
		if (v >= rs->r[i].lo && v < rs->r[i].hi)
			return true;
	return false;
}

static int read_ranges(struct image *img)
{
	Elf_Scn *scn = NULL;
	size_t nphdr;

	if (elf_getphdrnum(img->elf, &nphdr))
		return -ENOEXEC;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(img->elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type == PT_LOAD && add_range(&img->load, ph.p_vaddr, ph.p_vaddr + ph.p_memsz))
			return -ENOMEM;
	}
	while ((scn = elf_nextscn(img->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if ((sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) == (SHF_ALLOC | SHF_EXECINSTR) &&
		    add_range(&img->code, sh.sh_addr, sh.sh_addr + sh.sh_size))
			return -ENOMEM;
	}
	return 0;
}

/* The word at vaddr is relocated; its value, if known, is val. */
static void mark(struct region *rg, __u64 vaddr, const __u64 *val)
{
	__u64 i = (vaddr - rg->lo) / 8;

	if (vaddr < rg->lo || (vaddr - rg->lo) % 8 || i >= rg->n)
		return;
	rg->kind[i] |= W_PTR;
	if (val)
		rg->val[i] = *val;
}

/* RELR (-z pack-relative-relocs): an address, then bitmaps of the 63 words
 * after it; the addend is the file's word (already in val). */
static void mark_relr(struct region *rg, const unsigned char *p, size_t size)
{
	__u64 where = 0;

	for (size_t off = 0; off + 8 <= size; off += 8) {
		__u64 e;

		memcpy(&e, p + off, 8);
		if (!(e & 1)) {
			mark(rg, e, NULL);
			where = e + 8;
			continue;
		}
		for (int b = 1; b < 64; b++)
			if (e >> b & 1)
				mark(rg, where + (__u64)(b - 1) * 8, NULL);
		where += 63 * 8;
	}
}

/* Marks the words the dynamic relocations set. Only RELATIVE's value is
 * known without the dynamic symbols; the others (64, GLOB_DAT to another
 * object's symbol, IRELATIVE) are pointers of unknown value, never code
 * pointers here: an executable's own functions are always RELATIVE. */
static void relocate(const struct image *img, struct region *rg)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(img->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    (sh.sh_type != SHT_RELA && sh.sh_type != SHT_RELR) ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		if (sh.sh_type == SHT_RELR) {
			mark_relr(rg, data->d_buf, data->d_size);
			continue;
		}
		for (int i = 0; sh.sh_entsize && (size_t)i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			__u64 zero = 0, addend;

			if (!gelf_getrela(data, i, &r))
				break;
			addend = (__u64)r.r_addend;
			mark(rg, r.r_offset,
			     GELF_R_TYPE(r.r_info) == R_X86_64_RELATIVE ? &addend : &zero);
		}
	}
}

/* The words of section [start, end): a table starts in the section it
 * lies in (the word before .data.rel.ro is .fini_array's last, a code
 * pointer, in a C program). 0, -ENOENT when the section's contents are not
 * in the file, -ENOMEM. */
static int read_region(const struct image *img, __u64 start, __u64 end, struct region *rg)
{
	__u64 first, last;

	start = (start + 7) & ~7ULL;
	/* in the file, and in one segment, before anything is allocated for it */
	if (end < start + 8 || elf_symbols__vaddr_to_offset(img->syms, start, &first) ||
	    elf_symbols__vaddr_to_offset(img->syms, end - 1, &last) || last - first != end - 1 - start)
		return -ENOENT;
	rg->lo = start;
	rg->n = (end - start) / 8;
	rg->val = malloc(rg->n * sizeof(*rg->val));
	rg->kind = calloc(rg->n, 1);
	if (!rg->val || !rg->kind)
		return -ENOMEM;
	if (elf_symbols__read(img->syms, start, rg->val, rg->n * 8))
		return -ENOENT;

	relocate(img, rg);
	for (size_t i = 0; i < rg->n; i++) {
		if (!img->pie && in_ranges(&img->load, rg->val[i]))
			rg->kind[i] |= W_PTR;
		if ((rg->kind[i] & W_PTR) && in_ranges(&img->code, rg->val[i]))
			rg->kind[i] |= W_CODE;
	}
	return 0;
}

static bool word_is(__u8 kind, enum code_word want)
{
	return want == CODE_WORD_PLAIN ? !(kind & W_PTR) : (kind & W_PTR) && !(kind & W_CODE);
}

/* The tables in one region: how many, or found's negative return. */
static int scan(const struct region *rg, const struct code_table_shape *shape,
		int (*found)(const struct code_table *t, void *ctx), void *ctx)
{
	size_t run = 0;
	int count = 0;

	for (size_t i = 0; i < rg->n; i++) {
		size_t first, m;
		struct code_table t;
		int err;

		/* N so far (more if after_code: the M words that must follow,
		 * no code pointers, leave only a run's last N) */
		run = rg->kind[i] & W_CODE ? run + 1 : 0;
		if (run < shape->ptrs || (run > shape->ptrs && !shape->after_code))
			continue;
		first = i + 1 - shape->ptrs;
		if (i + shape->words >= rg->n)
			break;
		for (m = 1; m <= shape->words && word_is(rg->kind[i + m], shape->word_kind); m++)
			;
		if (m <= shape->words || (shape->words_ok && !shape->words_ok(rg->val + i + 1, ctx)))
			continue;
		t = (struct code_table){rg->lo + first * 8, rg->val + first, rg->val + i + 1};
		err = found(&t, ctx);
		if (err < 0)
			return err;
		count++;
	}
	return count;
}

struct sec {
	__u64 start, end;
};

static int cmp_sec(const void *a, const void *b)
{
	const struct sec *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int code_tables__find(const struct elf_symbols *syms, const struct code_table_shape *shape,
		      int (*found)(const struct code_table *t, void *ctx), void *ctx)
{
	static const char *const names[] = {".data.rel.ro", ".data.rel.ro.local", ".rodata"};
	struct image img = {.syms = syms};
	struct sec secs[3];
	size_t nsecs = 0, nnames;
	int total = 0, err = 0;

	if (!syms || !shape || !found || !shape->ptrs || !shape->words ||
	    shape->word_kind == CODE_WORD_CODE)
		return -EINVAL;
	img.elf = binary__elf(elf_symbols__binary(syms));
	img.pie = elf_symbols__is_pie(syms);
	if (!img.elf)
		return -ENOEXEC;
	err = read_ranges(&img);

	/* .rodata only where tables need no relocation (a PIE's would) */
	nnames = img.pie ? 2 : 3;
	for (size_t i = 0; i < nnames; i++)
		if (!elf_symbols__section_bounds(syms, names[i], &secs[nsecs].start,
						 &secs[nsecs].end))
			nsecs++;
	qsort(secs, nsecs, sizeof(secs[0]), cmp_sec);

	for (size_t i = 0; !err && i < nsecs; i++) {
		struct region rg = {0};

		err = read_region(&img, secs[i].start, secs[i].end, &rg);
		if (!err) {
			err = scan(&rg, shape, found, ctx);
			total += err > 0 ? err : 0;
			err = err < 0 ? err : 0;
		} else if (err == -ENOENT) {
			err = 0;
		}
		free(rg.val);
		free(rg.kind);
	}
	free(img.code.r);
	free(img.load.r);
	return err ? err : total;
}

int code_tables__words(const struct elf_symbols *syms, __u64 vaddr, unsigned n, __u64 *vals,
		       enum code_word *kinds)
{
	struct image img = {.syms = syms};
	struct region rg = {0};
	int err;

	if (!syms || !n || vaddr % 8 || !vals || !kinds)
		return -EINVAL;
	img.elf = binary__elf(elf_symbols__binary(syms));
	img.pie = elf_symbols__is_pie(syms);
	if (!img.elf)
		return -ENOEXEC;
	err = read_ranges(&img) ?: read_region(&img, vaddr, vaddr + 8 * (__u64)n, &rg);
	for (unsigned i = 0; !err && i < n; i++) {
		vals[i] = rg.val[i];
		kinds[i] = rg.kind[i] & W_CODE ? CODE_WORD_CODE
			   : rg.kind[i] & W_PTR ? CODE_WORD_POINTER
						: CODE_WORD_PLAIN;
	}
	free(rg.val);
	free(rg.kind);
	free(img.code.r);
	free(img.load.r);
	return err;
}
