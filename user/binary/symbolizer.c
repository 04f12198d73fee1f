// SPDX-License-Identifier: MIT
/*
 * Address -> inline chain, as `eu-addr2line -i -f` prints it. Two indexes,
 * both ours: the address ranges of every compile unit (built at open: not
 * every producer writes .debug_aranges), and those of a unit's functions
 * (built when the unit is first asked: finding one by walking a big unit's
 * DIEs costs milliseconds). From the function's DIE down to the innermost
 * inlined subroutine holding the address is then a short walk. The innermost
 * line comes from the line table, every outer one from the call site of the
 * inlined subroutine just inside it.
 *
 * Names: a linkage name demangled to a Rust path, else for the physical
 * function of a Rust unit its ELF symbol (line-tables-only DWARF names
 * functions without their path), else DW_AT_name. Every string handed out
 * points into libdw's or elf_symbols' data or into our interned copies, so
 * it lives as long as the symbolizer; results are cached per address, with
 * each frame's library judgement (made here: it needs the unit's directory).
 */
#include "binary/symbolizer.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "binary/binary.h"
#include "binary/crate_map.h"
#include "binary/elf_symbols.h"
#include "lib/u64_map.h"

#define MAX_CHAIN 32 /* inline depth kept per address */

/* [start, end) of something; sorted arrays of these are searched by address */
struct range {
	__u64 start, end;
	union {
		size_t unit;	  /* symbolizer.cus: index into units */
		Dwarf_Off die;	  /* unit.funcs: the subprogram's DIE */
		const char *name; /* symbolizer.funcs: the symbol's path */
	};
};

/* An `.await` on an async fn's future, as line tables keep it: its drop
 * glue, drop_in_place<PATH::{async_fn_env#N}>, inlined on the line it is
 * awaited from (the future is dropped there once it is ready), or an
 * into_future<...> of it. */
struct await_call {
	const char *file; /* libdw's */
	__u32 line, col;
	const char *path; /* "demo::recv_config" */
};

struct unit {
	Dwarf_Off off;	     /* of the CU DIE */
	struct range *funcs; /* concrete subprograms, once indexed */
	size_t nfuncs, cap;
	bool indexed;
};

struct cached {
	__u32 first, n; /* into frames */
};

struct symbolizer {
	const struct elf_symbols *syms; /* the binary's */
	struct range *funcs;		/* function symbols */
	size_t nfuncs;

	Dwarf *dw; /* the binary's; NULL without DWARF */
	Elf *elf;  /* the executable's: a debug file's segments may be absent */
	struct range *cus;
	size_t ncus, cus_cap;
	struct unit *units;
	size_t nunits, units_cap;
	bool has_lines;
	bool no_names; /* stripped, no debug file: frames in .text named by address */
	__u64 text_lo, text_hi;

	struct u64_map *cache; /* looked-up address -> entries[] */
	struct cached *entries;
	size_t nentries, entries_cap;
	struct sym_frame *frames;
	size_t nframes, frames_cap;

	struct crate_map *crates; /* NULL: no unit names its crate */
	/* every unit's, once needed: an async fn's drop glue may be inlined in
	 * another unit than the code that awaits it (one walk of every DIE:
	 * 147 ms on the 8.9 MB await fixture) */
	struct await_call *awaits;
	size_t nawaits, awaits_cap;
	bool awaits_indexed;

	struct u64_map *names; /* source string's address -> strs[] */
	char **strs;
	size_t nstrs, strs_cap;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static const struct range *range_at(const struct range *r, size_t n, __u64 addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) { /* the first range starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < r[lo - 1].end ? &r[lo - 1] : NULL;
}

static int index_funcs(struct symbolizer *s)
{
	size_t n = elf_symbols__count(s->syms);

	s->funcs = calloc(n ? n : 1, sizeof(*s->funcs));
	if (!s->funcs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct elf_symbol *sym = elf_symbols__get(s->syms, i);

		if (sym->is_func && sym->size)
			s->funcs[s->nfuncs++] = (struct range){ .start = sym->vaddr,
								.end = sym->vaddr + sym->size,
								.name = sym->path };
	}
	qsort(s->funcs, s->nfuncs, sizeof(*s->funcs), cmp_range);
	return 0;
}

static const char *func_at(const struct symbolizer *s, __u64 addr)
{
	const struct range *r = range_at(s->funcs, s->nfuncs, addr);

	return r ? r->name : NULL;
}

static bool in_text(Elf *elf, __u64 addr)
{
	size_t nphdr;

	if (elf_getphdrnum(elf, &nphdr))
		return false;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    addr >= ph.p_vaddr && addr - ph.p_vaddr < ph.p_memsz)
			return true;
	}
	return false;
}

/* Ranges of every CU. Those outside the executable segments are dropped:
 * linkers leave discarded functions' ranges at 0, over the ELF header. */
static int index_cus(struct symbolizer *s)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	Elf *elf = s->elf;

	while (!dwarf_get_units(s->dw, cu, &cu, NULL, NULL, &cudie, NULL)) {
		Dwarf_Addr base, start, end;
		ptrdiff_t off = 0;

		if (dwarf_tag(&cudie) != DW_TAG_compile_unit)
			continue;
		/* Rust's prebuilt std brings its own lines, whatever the
		 * program was built with: those do not count */
		s->has_lines |= dwarf_hasattr(&cudie, DW_AT_stmt_list) &&
				!crate_map__is_std_dir(dwarf_formstring(
					dwarf_attr(&cudie, DW_AT_comp_dir, &(Dwarf_Attribute){0})));
		if (array__grow((void **)&s->units, &s->units_cap, s->nunits + 1, sizeof(*s->units)))
			return -ENOMEM;
		s->units[s->nunits] = (struct unit){ .off = dwarf_dieoffset(&cudie) };
		while ((off = dwarf_ranges(&cudie, off, &base, &start, &end)) > 0) {
			if (start >= end || !in_text(elf, start))
				continue;
			if (array__grow((void **)&s->cus, &s->cus_cap, s->ncus + 1, sizeof(*s->cus)))
				return -ENOMEM;
			s->cus[s->ncus++] = (struct range){ .start = start, .end = end,
							    .unit = s->nunits };
		}
		s->nunits++;
	}
	if (s->ncus) /* none: cus is NULL, which qsort may not take */
		qsort(s->cus, s->ncus, sizeof(*s->cus), cmp_range);
	return 0;
}

/* Concrete subprograms under parent; Rust nests them in namespaces. */
static int index_funcs_under(struct unit *u, Dwarf_Die *parent)
{
	Dwarf_Die die;

	if (dwarf_child(parent, &die))
		return 0;
	do {
		int tag = dwarf_tag(&die);
		Dwarf_Addr base, start, end;
		ptrdiff_t off = 0;

		if ((tag == DW_TAG_namespace || tag == DW_TAG_module) && index_funcs_under(u, &die))
			return -ENOMEM;
		while (tag == DW_TAG_subprogram &&
		       (off = dwarf_ranges(&die, off, &base, &start, &end)) > 0) {
			if (array__grow((void **)&u->funcs, &u->cap, u->nfuncs + 1, sizeof(*u->funcs)))
				return -ENOMEM;
			u->funcs[u->nfuncs++] = (struct range){ .start = start, .end = end,
								.die = dwarf_dieoffset(&die) };
		}
	} while (!dwarf_siblingof(&die, &die));
	return 0;
}

/* The CU holding addr (else -1) and the subprogram holding it (else 0). */
static int func_die_at(struct symbolizer *s, __u64 addr, Dwarf_Die *cudie, Dwarf_Die *func)
{
	const struct range *r = s->dw ? range_at(s->cus, s->ncus, addr) : NULL;
	struct unit *u = r ? &s->units[r->unit] : NULL;

	if (!u || !dwarf_offdie(s->dw, u->off, cudie))
		return -1;
	if (!u->indexed) {
		u->indexed = true; /* out of memory: what we got is still sorted */
		index_funcs_under(u, cudie);
		if (u->nfuncs) /* a unit without functions: funcs is NULL */
			qsort(u->funcs, u->nfuncs, sizeof(*u->funcs), cmp_range);
	}
	r = range_at(u->funcs, u->nfuncs, addr);
	return r && dwarf_offdie(s->dw, r->die, func);
}

static int find_main(const struct elf_symbol *sym, void *ctx)
{
	*(__u64 *)ctx = sym->vaddr;
	return 0;
}

struct symbolizer *symbolizer__new(const struct binary *bin)
{
	__u64 main_vaddr = 0;
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->syms = binary__symbols(bin);
	s->dw = binary__dwarf(bin); /* NULL: symbols only */
	s->no_names = !s->dw && !elf_symbols__has_symtab(s->syms) &&
		      !elf_symbols__section_bounds(s->syms, ".text", &s->text_lo, &s->text_hi);
	s->elf = binary__elf(bin);
	s->cache = u64_map__new();
	s->names = u64_map__new();
	if (!s->cache || !s->names || index_funcs(s) || (s->dw && index_cus(s))) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	elf_symbols__match(s->syms, "main", find_main, &main_vaddr);
	s->crates = s->dw ? crate_map__new(s->dw, main_vaddr) : NULL; /* NULL: by names only */
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	crate_map__free(s->crates);
	free(s->funcs);
	free(s->cus);
	for (size_t i = 0; i < s->nunits; i++)
		free(s->units[i].funcs);
	free(s->awaits);
	free(s->units);
	u64_map__free(s->cache);
	free(s->entries);
	free(s->frames);
	u64_map__free(s->names);
	for (size_t i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s);
}

bool symbolizer__has_lines(const struct symbolizer *s)
{
	return s && s->has_lines;
}

/* A copy of raw made once per source string, living as long as s: a
 * linkage name as a Rust path (others stay as they are), a Rust DW_AT_name
 * without its generic arguments. */
static const char *intern(struct symbolizer *s, const char *raw, bool linkage)
{
	size_t len = strlen(raw) + 1;
	char *str;
	__u32 i;
	int err;

	if (u64_map__get(s->names, (uintptr_t)raw, &i))
		return s->strs[i];
	do { /* v0 back references can make a path longer than its mangled name */
		len *= 2;
		str = malloc(len);
		if (!str)
			return raw;
		err = linkage ? elf_symbols__demangle(raw, str, len) : -EINVAL;
		if (err == -ENOSPC)
			free(str);
	} while (err == -ENOSPC);
	if (err) {
		strcpy(str, raw);
		if (!linkage && str[0] && str[strlen(str) - 1] == '>') /* "poll<F>" -> "poll" */
			str[strcspn(str + 1, "<") + 1] = '\0';
	}
	if (array__grow((void **)&s->strs, &s->strs_cap, s->nstrs + 1, sizeof(*s->strs)) ||
	    u64_map__set(s->names, (uintptr_t)raw, (__u32)s->nstrs)) {
		free(str);
		return raw;
	}
	s->strs[s->nstrs++] = str;
	return str;
}

/* The DIE a name comes from: through DW_AT_abstract_origin / specification. */
static bool name_origin(Dwarf_Die *die, Dwarf_Die *origin)
{
	Dwarf_Attribute attr;

	*origin = *die;
	for (int i = 0; i < 4; i++) {
		if (dwarf_attr(origin, DW_AT_name, &attr))
			return true;
		if (!dwarf_formref_die(dwarf_attr(origin, DW_AT_abstract_origin, &attr), origin) &&
		    !dwarf_formref_die(dwarf_attr(origin, DW_AT_specification, &attr), origin))
			return false;
	}
	return false;
}

/* Append the names of the namespaces (and types) from `parent` down to the
 * DIE at `target` to path: true once found. Only scopes that can hold a
 * function's DIE are entered. */
static bool scope_path(Dwarf_Die *parent, Dwarf_Off target, char *path, size_t cap, size_t len)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child))
		return false;
	do {
		int tag = dwarf_tag(&child);
		const char *name;
		size_t l = len;

		if (dwarf_dieoffset(&child) == target) {
			path[len] = '\0';
			return true;
		}
		if (tag != DW_TAG_namespace && tag != DW_TAG_structure_type &&
		    tag != DW_TAG_enumeration_type && tag != DW_TAG_union_type)
			continue;
		name = dwarf_diename(&child);
		if (name && len + strlen(name) + 3 < cap)
			l += (size_t)snprintf(path + len, cap - len, "%s::", name);
		if (scope_path(&child, target, path, cap, l))
			return true;
	} while (!dwarf_siblingof(&child, &child));
	return false;
}

/* "stuck::recv_config::{async_fn#0}" for a Rust closure or async fn body
 * named "{async_fn#0}" alone, from the namespaces around its DIE (full
 * debug info has them; line-tables-only DWARF often puts the DIE right in
 * its unit: then the bare name stays). Interned per DIE, since one
 * "{async_fn#0}" string serves every such body. */
static const char *qualified_name(struct symbolizer *s, Dwarf_Die *die, const char *raw)
{
	Dwarf_Die origin, cu;
	char path[512];
	__u32 i;

	/* a closure's name carries its type arguments: they can be long */
	if (strlen(raw) + 1 >= sizeof(path) || !name_origin(die, &origin) ||
	    !dwarf_diecu(&origin, &cu, NULL, NULL))
		return NULL;
	if (u64_map__get(s->names, (uintptr_t)origin.addr, &i))
		return s->strs[i];
	if (!scope_path(&cu, dwarf_dieoffset(&origin), path, sizeof(path) - strlen(raw) - 1, 0))
		return NULL;
	strcat(path, raw);
	char *str = strdup(path);

	if (!str || array__grow((void **)&s->strs, &s->strs_cap, s->nstrs + 1, sizeof(*s->strs)) ||
	    u64_map__set(s->names, (uintptr_t)origin.addr, (__u32)s->nstrs)) {
		free(str);
		return NULL;
	}
	s->strs[s->nstrs++] = str;
	return str;
}

static const char *die_name(struct symbolizer *s, Dwarf_Die *die, bool rust, __u64 phys_addr)
{
	Dwarf_Attribute attr;
	const char *raw, *sym;

	/* _integrate follows DW_AT_abstract_origin and DW_AT_specification */
	raw = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!raw)
		raw = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (raw)
		return intern(s, raw, true);
	raw = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	if (phys_addr && (rust || !raw) && (sym = func_at(s, phys_addr)))
		return sym;
	if (raw && rust && raw[0] == '{' && (sym = qualified_name(s, die, raw)))
		return sym;
	return raw && rust ? intern(s, raw, false) : raw;
}

static __u32 attr_u32(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;

	return dwarf_formudata(dwarf_attr(die, name, &attr), &v) || v > UINT32_MAX ? 0 : (__u32)v;
}

struct walk {
	__u64 addr;
	Dwarf_Die path[MAX_CHAIN]; /* subprograms and inlined subroutines, outermost first */
	int n;
};

/* Descends through the DIEs whose ranges hold addr. (dwarf_getscopes would
 * do, but it also looks for the abstract origin's scopes, which costs a walk
 * of the whole unit.) */
static void walk(struct walk *w, Dwarf_Die *parent)
{
	Dwarf_Die die;

	if (dwarf_child(parent, &die))
		return;
	do {
		int tag = dwarf_tag(&die);

		if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
		     tag == DW_TAG_lexical_block) && dwarf_haspc(&die, w->addr) > 0) {
			if (tag != DW_TAG_lexical_block && w->n < MAX_CHAIN)
				w->path[w->n++] = die;
			walk(w, &die);
			return;
		}
	} while (!dwarf_siblingof(&die, &die));
}

/* Sets f->library: the crates and directories everyone knows, then the
 * program's own crates as its units say. A relative file is relative to
 * its unit's directory. */
static void judge(const struct symbolizer *s, struct sym_frame *f, const char *comp_dir)
{
	char path[PATH_MAX];
	const char *file = f->file;

	if (file && file[0] != '/' && comp_dir &&
	    snprintf(path, sizeof(path), "%s/%s", comp_dir, file) < (int)sizeof(path))
		file = path;
	f->library = f->function || file ? symbolizer__is_library(f->function, file) ||
						   !crate_map__is_own(s->crates, f->function, file)
					 : true;
}

/* A copy of str kept as long as the symbolizer; NULL if out of memory. */
static const char *keep(struct symbolizer *s, const char *str)
{
	char *copy = strdup(str);

	if (!copy || array__grow((void **)&s->strs, &s->strs_cap, s->nstrs + 1, sizeof(*s->strs))) {
		free(copy);
		return NULL;
	}
	return s->strs[s->nstrs++] = copy;
}

/* The path of the first "PATH::{async_fn_env#N}" (or block env) in
 * text, into path; false if there is none. */
static bool env_path(const char *text, bool block, char *path, size_t len)
{
	const char *env = block ? "::{async_block_env#" : "::{async_fn_env#";
	const char *at = text ? strstr(text, env) : NULL, *start;

	if (!at)
		return false;
	/* back to the start of the path: after '<', ' ' or ',' */
	for (start = at; start > text && !strchr("<, ", start[-1]); start--)
		;
	snprintf(path, len, "%.*s", (int)(at - start), start);
	return at > start;
}

/*
 * Line-tables-only DWARF names an inlined async body "{async_fn#0}", with
 * no path; the generic function it is inlined into names its type among
 * its type arguments: "poll<demo::load_config::{async_fn_env#0}, ...>"
 * (tokio's harness), "{async_block#0}<(), app::serve::{async_fn_env#0}>"
 * (the async block async-executor wraps a future in). The nearest such
 * name outward is this body's, unless an async body without type arguments
 * lies between (it is that one's). The body is then
 * "demo::load_config::{async_fn#0}" (an async block's env names the block:
 * "demo::main::{async_block#0}::{async_block_env#0}"). chain is outermost
 * first, the body at chain[k].
 */
static const char *async_body_name(struct symbolizer *s, const char *body, Dwarf_Die *chain, int k)
{
	bool block = !strncmp(body, "{async_block#", 13);
	char path[512], full[600];

	if (strncmp(body, "{async_fn#", 10) && !block)
		return NULL;
	for (int i = k - 1; i >= 0; i--) {
		Dwarf_Attribute attr;
		const char *name = dwarf_formstring(dwarf_attr_integrate(&chain[i], DW_AT_name, &attr));
		const char *args = name ? strchr(name, '<') : NULL;

		if (args && env_path(args + 1, block, path, sizeof(path))) {
			if (block)
				return keep(s, path);
			snprintf(full, sizeof(full), "%s::%s", path, body);
			return keep(s, full);
		}
		if (name && (!strncmp(name, "{async_fn#", 10) || !strncmp(name, "{async_block#", 13)))
			return NULL; /* another body's type comes first */
	}
	return NULL;
}

/* "drop_in_place<PATH::{async_fn_env#N}>" (or into_future<...>): PATH into
 * path; false for any other name (a type that only holds such a future). */
static bool awaited_env(const char *name, char *path, size_t len)
{
	static const char *const fns[] = {"drop_in_place<", "into_future<"};
	const char *env = "::{async_fn_env#";

	for (size_t i = 0; name && i < sizeof(fns) / sizeof(*fns); i++) {
		size_t n = strlen(fns[i]);
		const char *at = strncmp(name, fns[i], n) ? NULL : strstr(name + n, env);

		if (at && strchr(at, '}') && !strcmp(strchr(at, '}'), "}>") &&
		    !memchr(name + n, '<', (size_t)(at - name - n))) {
			snprintf(path, len, "%.*s", (int)(at - name - n), name + n);
			return true;
		}
	}
	return false;
}

/* The file a DIE's DW_AT_call_file names, or NULL. */
static const char *call_file_of(Dwarf_Die *die, Dwarf_Files *files)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx;

	return files && !dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &idx)
		       ? dwarf_filesrc(files, idx, NULL, NULL)
		       : NULL;
}

/* Every awaited_env inlined under parent: where async fns' futures are
 * awaited. */
static void index_awaits_under(struct symbolizer *s, Dwarf_Files *files, Dwarf_Die *parent)
{
	Dwarf_Die die;

	if (dwarf_child(parent, &die))
		return;
	do {
		Dwarf_Attribute attr;
		const char *name, *file;
		char path[512];

		if (dwarf_tag(&die) == DW_TAG_inlined_subroutine &&
		    (name = dwarf_formstring(dwarf_attr_integrate(&die, DW_AT_name, &attr))) &&
		    awaited_env(name, path, sizeof(path)) && (file = call_file_of(&die, files)) &&
		    !array__grow((void **)&s->awaits, &s->awaits_cap, s->nawaits + 1,
				 sizeof(*s->awaits)) &&
		    (name = keep(s, path)))
			s->awaits[s->nawaits++] =
				(struct await_call){file, attr_u32(&die, DW_AT_call_line),
						    attr_u32(&die, DW_AT_call_column), name};
		index_awaits_under(s, files, &die);
	} while (!dwarf_siblingof(&die, &die));
}

static void index_awaits(struct symbolizer *s)
{
	for (size_t i = 0; i < s->nunits; i++) {
		Dwarf_Files *files;
		Dwarf_Die cu;

		if (dwarf_offdie(s->dw, s->units[i].off, &cu) &&
		    !dwarf_getsrcfiles(&cu, &files, NULL))
			index_awaits_under(s, files, &cu);
	}
}

/*
 * An async body inlined into another async body: the async fn awaited on
 * the line it is polled from. Several on one line (`b(a().await).await`)
 * are told apart by column: the body is polled from its `await` keyword
 * and its future dropped at that keyword's end, before the next `.await`
 * on the line (measured, rustc 1.95: polled at columns 22 and 29, dropped
 * at 26 and 33), so it is the first drop at or after the poll's column.
 */
static const char *awaited_body_name(struct symbolizer *s, Dwarf_Files *files, const char *body,
				     Dwarf_Die *die)
{
	const char *path = NULL, *file = call_file_of(die, files);
	char full[600];
	__u32 line = attr_u32(die, DW_AT_call_line), col = attr_u32(die, DW_AT_call_column);
	__u32 best = UINT32_MAX;
	bool ambiguous = false;

	if (strncmp(body, "{async_fn#", 10) || !file || !line)
		return NULL;
	if (!s->awaits_indexed) {
		s->awaits_indexed = true;
		index_awaits(s);
	}
	for (size_t i = 0; i < s->nawaits; i++) {
		const struct await_call *a = &s->awaits[i];
		/* without columns, any on the line: there must be one only */
		__u32 at = col ? a->col : 0;

		if (a->line != line || strcmp(a->file, file) || at < col)
			continue;
		if (at < best) {
			best = at;
			path = a->path;
			ambiguous = false;
		} else if (at == best && strcmp(path, a->path)) {
			ambiguous = true;
		}
	}
	if (!path || ambiguous)
		return NULL;
	snprintf(full, sizeof(full), "%s::%s", path, body);
	return keep(s, full);
}

/* The inline chain at addr from DWARF; 0 if no CU covers it. */
static int dwarf_chain(struct symbolizer *s, __u64 addr, struct sym_frame *out)
{
	struct walk w = { .addr = addr };
	Dwarf_Files *files = NULL;
	Dwarf_Attribute attr;
	Dwarf_Line *line;
	Dwarf_Die cu;
	const char *call_file = NULL, *name;
	__u32 call_line = 0, call_col = 0;
	int n = 0, l = 0, c = 0, found = func_die_at(s, addr, &cu, &w.path[0]);
	bool rust;

	if (found < 0)
		return 0;
	if (found)
		walk(&w, &w.path[w.n++]);
	rust = dwarf_srclang(&cu) == DW_LANG_Rust;
	if (dwarf_getsrcfiles(&cu, &files, NULL))
		files = NULL;
	for (int i = w.n - 1; i >= 0; i--) {
		Dwarf_Die *die = &w.path[i];
		int tag = dwarf_tag(die);
		Dwarf_Word idx;

		const char *name = die_name(s, die, rust, tag == DW_TAG_subprogram ? addr : 0);

		if (rust && i > 0 && name && name[0] == '{')
			name = async_body_name(s, name, w.path, i) ?:
			       awaited_body_name(s, files, name, die) ?: name;
		out[n++] = (struct sym_frame){
			.function = name,
			.file = call_file, .line = call_line, .col = call_col,
			.inlined = tag == DW_TAG_inlined_subroutine,
		};
		if (tag == DW_TAG_subprogram)
			break;
		/* where this inlined body was called: a position in the next frame */
		call_file = NULL;
		if (files && !dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &idx))
			call_file = dwarf_filesrc(files, idx, NULL, NULL);
		call_line = attr_u32(die, DW_AT_call_line);
		call_col = attr_u32(die, DW_AT_call_column);
	}
	line = dwarf_getsrc_die(&cu, addr);
	/* LLVM drops the DIEs of some functions but not their lines */
	if (!n && line && (name = func_at(s, addr)))
		out[n++] = (struct sym_frame){ .function = name };
	if (n && line) { /* the innermost position: the line table's */
		dwarf_lineno(line, &l);
		dwarf_linecol(line, &c);
		out[0].file = dwarf_linesrc(line, NULL, NULL);
		out[0].line = (__u32)l;
		out[0].col = (__u32)c;
	}
	name = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &attr));
	for (int i = 0; i < n; i++)
		judge(s, &out[i], name);
	return n;
}

/* The frames at addr, resolved on first use; NULL if out of memory. */
static const struct cached *lookup(struct symbolizer *s, __u64 addr)
{
	struct sym_frame chain[MAX_CHAIN];
	const char *name;
	__u32 i;
	int n;

	if (u64_map__get(s->cache, addr, &i))
		return &s->entries[i];
	n = dwarf_chain(s, addr, chain);
	if (!n && (name = func_at(s, addr))) { /* no DWARF here: the symbol */
		chain[n] = (struct sym_frame){ .function = name };
		judge(s, &chain[n++], NULL);
	} else if (!n && s->no_names && addr >= s->text_lo && addr < s->text_hi) {
		/* nothing names it: its address in the file, for addr2line and
		 * the debug file of the build-id the start-up line gives */
		char at[24];

		snprintf(at, sizeof(at), "0x%llx", (unsigned long long)addr);
		if ((name = keep(s, at)))
			chain[n++] = (struct sym_frame){ .function = name, .by_address = true };
	}
	if (array__grow((void **)&s->frames, &s->frames_cap, s->nframes + n, sizeof(*s->frames)) ||
	    array__grow((void **)&s->entries, &s->entries_cap, s->nentries + 1,
			sizeof(*s->entries)) ||
	    u64_map__set(s->cache, addr, (__u32)s->nentries))
		return NULL;
	if (n) /* none yet: frames may still be NULL */
		memcpy(s->frames + s->nframes, chain, n * sizeof(*chain));
	s->entries[s->nentries] = (struct cached){ (__u32)s->nframes, (__u32)n };
	s->nframes += n;
	return &s->entries[s->nentries++];
}

int symbolizer__frames(struct symbolizer *s, __u64 vaddr, bool is_return, struct sym_frame *out,
		       int max)
{
	const struct cached *c = s && out ? lookup(s, vaddr - is_return) : NULL;
	int n = 0;

	for (; c && n < max && n < (int)c->n; n++)
		out[n] = s->frames[c->first + n];
	return n;
}

/* Does the path contain `dir` as whole components ("x/y/" matches "/x/y/" or
 * a leading "x/y/")? */
static bool has_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strncmp(path, dir, n))
		return true;
	for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
		if (!strncmp(p + 1, dir, n))
			return true;
	return false;
}

bool symbolizer__is_library_file(const char *file)
{
	/* cargo's registry and git checkouts (~/.cargo, or a CARGO_HOME like
	 * /usr/local/cargo), Debian's /usr/share/cargo/registry, `cargo vendor`,
	 * and the standard library's crates wherever their sources sit */
	static const char *const dirs[] = {
		".cargo/registry/", "cargo/registry/", ".cargo/git/", "cargo/git/", "vendor/",
		"library/std/", "library/core/", "library/alloc/", "library/proc_macro/",
		"library/panic_unwind/", "library/panic_abort/", "library/test/",
		"library/backtrace/", "library/stdarch/", "library/portable-simd/",
	};

	if (!file)
		return false;
	/* std's DWARF: /rustc/<hash>/library/..., its dependencies /rust/deps/ */
	if (!strncmp(file, "/rustc/", 7) || !strncmp(file, "/rust/deps/", 11))
		return true;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (has_dir(file, dirs[i]))
			return true;
	return false;
}

bool symbolizer__is_library_function(const char *function)
{
	static const char *const crates[] = {
		"std", "core", "alloc", "tokio", "tokio_util", "async_task", "async_executor",
		"async_std", "async_global_executor", "async_io", "async_lock", "async_channel",
		"async_net", "async_fs", "async_process", "async_signal", "blocking", "smol",
		"futures", "futures_lite", "futures_util", "futures_core", "futures_executor",
		"futures_channel", "futures_task", "event_listener", "event_listener_strategy",
		"concurrent_queue", "polling", "parking", "piper", "waker_fn", "atomic_waker",
		"pin_project_lite", "mio", "parking_lot", "parking_lot_core", "crossbeam_utils",
		"crossbeam_queue", "crossbeam_channel", "crossbeam_deque", "crossbeam_epoch",
		"slab", "tracing", "tracing_core", "kv_log_macro", "log", "panic_unwind",
	};

	if (!function)
		return false;
	/* std's runtime entry points, unmangled: __rust_try (catch_unwind's
	 * trampoline), __rust_begin_short_backtrace, __rust_start_panic */
	if (!strncmp(function, "__rust_", 7))
		return true;
	/* a trait impl is judged by its self type: "<tokio::..::X as Trait>::f" */
	function += strspn(function, "<&*");
	if (!strncmp(function, "mut ", 4) || !strncmp(function, "dyn ", 4))
		function += 4;
	for (size_t i = 0; i < sizeof(crates) / sizeof(*crates); i++) {
		size_t n = strlen(crates[i]);

		/* v0 paths may carry the crate's disambiguator: "tokio[1a2b]::" */
		if (!strncmp(function, crates[i], n) &&
		    (!strncmp(function + n, "::", 2) || function[n] == '['))
			return true;
	}
	return false;
}

bool symbolizer__is_library(const char *function, const char *file)
{
	return symbolizer__is_library_function(function) || symbolizer__is_library_file(file);
}

int symbolizer__first_user_frame(struct symbolizer *s, const __u64 *pcs, int n,
				 struct sym_frame *out,
				 void (*passed)(const struct sym_frame *library, void *ctx), void *ctx)
{
	if (!s || !pcs || !out)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		const struct cached *c = lookup(s, pcs[i] - (i > 0));

		for (__u32 j = 0; c && j < c->n; j++) {
			if (!s->frames[c->first + j].library) {
				*out = s->frames[c->first + j];
				return 0;
			}
			if (passed)
				passed(&s->frames[c->first + j], ctx);
		}
	}
	return -ENOENT;
}
