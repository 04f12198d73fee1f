// SPDX-License-Identifier: MIT
/*
 * Symbol lookup by demangled Rust path. Everything is read when the binary
 * opens: symbols are demangled once and sorted by path, so a lookup is a
 * binary search; the binary keeps the file mmapped (ELF_C_READ_MMAP) so raw
 * names and segment contents are used in place rather than copied.
 */
#include "binary/elf_symbols.h"
#include "binary/binary.h"
#include "binary/debug_file.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <libiberty/demangle.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct load_seg {
	__u64 vaddr, offset, filesz;
	__u32 flags;
};

struct alloc_sec {
	const char *name; /* in the mmapped section header string table */
	__u64 addr, size;
};

struct elf_symbols {
	const struct binary *bin; /* the file they are read from */
	Elf *elf;	   /* the binary's */
	Elf *symelf;	   /* the one whose symbol table is read: elf, or its debug file's */
	const char *image; /* whole file, mmapped by libelf */
	size_t image_size;
	dev_t dev;
	ino_t ino;
	bool pie, has_symtab;

	struct load_seg *segs;
	size_t nsegs;
	struct alloc_sec *secs;
	size_t nsecs;

	struct elf_symbol *syms; /* sorted by path, then vaddr */
	size_t nsyms;
	char *paths; /* all normalised paths, NUL-separated */
};

/* Skips a "<...>" group starting at p[0] == '<'. The '>' of "->" (fn pointer
 * return types) does not close a group. Stops at the NUL if unbalanced. */
static const char *skip_angle_group(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && p[-1] != '-' && --depth == 0)
			return p + 1;
	}
	return p;
}

static bool is_hash_tail(const char *s, size_t n)
{
	/* "::h" + 16 hex digits: the legacy hash when a demangler keeps it */
	if (n < 19 || memcmp(s + n - 19, "::h", 3))
		return false;
	for (size_t i = n - 16; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* Normalises demangler output in place (the result is never longer):
 * drops "::<...>" generic arguments, an LLVM suffix and a hash. Returns the
 * new length. */
static size_t normalize(char *s)
{
	const char *in = s;
	char *out = s;
	char *llvm;
	size_t n;

	while (*in) {
		if (in[0] == ':' && in[1] == ':' && in[2] == '<') {
			in = skip_angle_group(in + 2);
			continue;
		}
		*out++ = *in++;
	}
	*out = '\0';

	/* libiberty hides ".llvm.N" today; should a version print it, possibly
	 * as " (.llvm.N)", drop it too */
	llvm = strstr(s, ".llvm.");
	if (llvm) {
		while (llvm > s && (llvm[-1] == '(' || llvm[-1] == ' '))
			llvm--;
		*llvm = '\0';
	}
	n = strlen(s);
	if (is_hash_tail(s, n)) {
		n -= 19;
		s[n] = '\0';
	}
	return n;
}

static bool maybe_rust(const char *raw)
{
	/* cheap filter so C symbols never reach the demangler */
	return (raw[0] == '_' && raw[1] == 'R') ||
	       (raw[0] == '_' && raw[1] == 'Z' && raw[2] == 'N');
}

int elf_symbols__demangle(const char *raw, char *buf, size_t len)
{
	char *dem;
	size_t n;

	if (!raw || !buf || !maybe_rust(raw))
		return -EINVAL;
	dem = cplus_demangle(raw, DMGL_RUST);
	if (!dem)
		return -EINVAL;
	n = normalize(dem);
	if (n >= len) {
		free(dem);
		return -ENOSPC;
	}
	memcpy(buf, dem, n + 1);
	free(dem);
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct elf_symbol *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	return strcmp(x->raw, y->raw);
}

/* A stripped executable's .symtab from its debug file (s->symelf then). */
static Elf_Scn *debug_symtab(struct elf_symbols *s)
{
	const struct debug_file *df = binary__debug_file(s->bin);
	Elf *dbg = df ? debug_file__elf(df) : NULL;
	Elf_Scn *scn = NULL;

	while (dbg && (scn = elf_nextscn(dbg, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
			s->symelf = dbg;
			return scn;
		}
	}
	return NULL;
}

static int read_headers(struct elf_symbols *s, Elf_Scn **symscn)
{
	GElf_Ehdr eh;
	size_t nphdr, shstrndx;
	Elf_Scn *scn = NULL, *dynsym = NULL;

	if (!gelf_getehdr(s->elf, &eh) || gelf_getclass(s->elf) != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		return -ENOEXEC;
	s->pie = eh.e_type == ET_DYN;

	if (elf_getphdrnum(s->elf, &nphdr))
		return -ENOEXEC;
	s->segs = calloc(nphdr ? nphdr : 1, sizeof(*s->segs));
	if (!s->segs)
		return -ENOMEM;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(s->elf, i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		/* a truncated file must not let read() run off the image */
		if (ph.p_offset > s->image_size || ph.p_filesz > s->image_size - ph.p_offset)
			return -ENOEXEC;
		s->segs[s->nsegs++] = (struct load_seg){ ph.p_vaddr, ph.p_offset, ph.p_filesz,
							 ph.p_flags };
	}

	if (elf_getshdrstrndx(s->elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(s->elf, scn))) {
		GElf_Shdr sh;
		struct alloc_sec *secs;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type == SHT_SYMTAB)
			*symscn = scn;
		else if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		if (!(sh.sh_flags & SHF_ALLOC))
			continue;
		name = elf_strptr(s->elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		secs = realloc(s->secs, (s->nsecs + 1) * sizeof(*secs));
		if (!secs)
			return -ENOMEM;
		s->secs = secs;
		s->secs[s->nsecs++] = (struct alloc_sec){ name, sh.sh_addr, sh.sh_size };
	}
	s->symelf = s->elf;
	if (!*symscn)
		*symscn = debug_symtab(s);
	s->has_symtab = *symscn != NULL;
	if (!*symscn)
		*symscn = dynsym;
	return 0;
}

static int read_symbols(struct elf_symbols *s, Elf_Scn *scn)
{
	GElf_Shdr sh;
	Elf_Data *data;
	size_t n, cap = 0, used = 0;
	size_t *path_off; /* into s->paths until it stops moving; SIZE_MAX: raw */

	if (!scn)
		return 0;
	if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
		return -ENOEXEC;
	n = sh.sh_size / sh.sh_entsize;
	s->syms = calloc(n ? n : 1, sizeof(*s->syms));
	path_off = calloc(n ? n : 1, sizeof(*path_off));
	if (!s->syms || !path_off) {
		free(path_off);
		return -ENOMEM;
	}

	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		char *dem = NULL;
		int type;

		if (!gelf_getsym(data, i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_OBJECT) || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(s->symelf, sh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;

		path_off[s->nsyms] = SIZE_MAX;
		if (maybe_rust(name) && (dem = cplus_demangle(name, DMGL_RUST))) {
			size_t len = normalize(dem) + 1;

			if (used + len > cap) {
				size_t ncap = cap ? cap * 2 : 64 * 1024;
				char *p;

				while (ncap < used + len)
					ncap *= 2;
				p = realloc(s->paths, ncap);
				if (!p) {
					free(dem);
					free(path_off);
					return -ENOMEM;
				}
				s->paths = p;
				cap = ncap;
			}
			memcpy(s->paths + used, dem, len);
			path_off[s->nsyms] = used;
			used += len;
			free(dem);
		}
		s->syms[s->nsyms++] = (struct elf_symbol){
			.path = name, .raw = name, .vaddr = sym.st_value,
			.size = sym.st_size, .is_func = type == STT_FUNC,
		};
	}
	for (size_t i = 0; i < s->nsyms; i++)
		if (path_off[i] != SIZE_MAX)
			s->syms[i].path = s->paths + path_off[i];
	free(path_off);

	qsort(s->syms, s->nsyms, sizeof(*s->syms), cmp_sym);
	return 0;
}

struct elf_symbols *elf_symbols__new(const struct binary *bin)
{
	struct elf_symbols *s = calloc(1, sizeof(*s));
	Elf_Scn *symscn = NULL;
	int err;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->bin = bin;
	s->elf = binary__elf(bin);
	s->dev = binary__stat(bin)->st_dev;
	s->ino = binary__stat(bin)->st_ino;
	s->image = elf_rawfile(s->elf, &s->image_size);
	err = s->image ? read_headers(s, &symscn) : -ENOEXEC;
	if (!err)
		err = read_symbols(s, symscn);
	if (err) {
		elf_symbols__free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

void elf_symbols__free(struct elf_symbols *s)
{
	if (!s)
		return;
	free(s->segs);
	free(s->secs);
	free(s->syms);
	free(s->paths);
	free(s);
}

bool elf_symbols__has_symtab(const struct elf_symbols *s)
{
	return s && s->has_symtab;
}

bool elf_symbols__is_pie(const struct elf_symbols *s)
{
	return s && s->pie;
}

size_t elf_symbols__count(const struct elf_symbols *s)
{
	return s ? s->nsyms : 0;
}

const struct elf_symbol *elf_symbols__get(const struct elf_symbols *s, size_t i)
{
	if (!s || i >= s->nsyms) {
		errno = EINVAL;
		return NULL;
	}
	return &s->syms[i];
}

/* First symbol whose path is >= key (compared on the first n bytes only when
 * n != SIZE_MAX, for prefix lookups). */
static size_t lower_bound(const struct elf_symbols *s, const char *key, size_t n)
{
	size_t lo = 0, hi = s->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = n == SIZE_MAX ? strcmp(s->syms[mid].path, key)
				      : strncmp(s->syms[mid].path, key, n);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct hit {
	const struct elf_symbol *sym;
	bool dup;
};

static int cmp_hit_addr(const void *a, const void *b)
{
	const struct hit *const *x = a, *const *y = b;

	if ((*x)->sym->vaddr != (*y)->sym->vaddr)
		return (*x)->sym->vaddr < (*y)->sym->vaddr ? -1 : 1;
	return *x < *y ? -1 : *x > *y; /* keep path order among equals */
}

int elf_symbols__match(const struct elf_symbols *s, const char *path,
		       int (*cb)(const struct elf_symbol *sym, void *ctx), void *ctx)
{
	struct hit *hits = NULL, **by_addr = NULL;
	size_t plen, first, end, nhits = 0;
	bool prefix;
	int ret = 0;

	if (!s || !path || !cb)
		return -EINVAL;
	plen = strlen(path);
	prefix = plen && path[plen - 1] == '*';
	if (prefix)
		plen--;

	first = lower_bound(s, path, prefix ? plen : SIZE_MAX);
	for (end = first; end < s->nsyms; end++)
		if (prefix ? strncmp(s->syms[end].path, path, plen) : strcmp(s->syms[end].path, path))
			break;
	if (end == first)
		return 0;

	hits = malloc((end - first) * sizeof(*hits));
	by_addr = malloc((end - first) * sizeof(*by_addr));
	if (!hits || !by_addr) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = first; i < end; i++)
		if (s->syms[i].size) {
			hits[nhits] = (struct hit){ &s->syms[i], false };
			by_addr[nhits] = &hits[nhits];
			nhits++;
		}

	/* Aliases and identical-code-folded copies share an address: report it
	 * once (the first in path order), a second uprobe there would fire twice. */
	qsort(by_addr, nhits, sizeof(*by_addr), cmp_hit_addr);
	for (size_t i = 1; i < nhits; i++)
		by_addr[i]->dup = by_addr[i]->sym->vaddr == by_addr[i - 1]->sym->vaddr;

	for (size_t i = 0; i < nhits; i++) {
		int err;

		if (hits[i].dup)
			continue;
		err = cb(hits[i].sym, ctx);
		if (err < 0) {
			ret = err;
			goto out;
		}
		ret++;
	}
out:
	free(hits);
	free(by_addr);
	return ret;
}

static const struct load_seg *seg_of(const struct elf_symbols *s, __u64 vaddr)
{
	for (size_t i = 0; i < s->nsegs; i++)
		if (vaddr >= s->segs[i].vaddr && vaddr - s->segs[i].vaddr < s->segs[i].filesz)
			return &s->segs[i];
	return NULL;
}

int elf_symbols__vaddr_to_offset(const struct elf_symbols *s, __u64 vaddr, __u64 *offset)
{
	const struct load_seg *seg;

	if (!s || !offset)
		return -EINVAL;
	seg = seg_of(s, vaddr);
	if (!seg)
		return -ENOENT;
	*offset = vaddr - seg->vaddr + seg->offset;
	return 0;
}

int elf_symbols__read(const struct elf_symbols *s, __u64 vaddr, void *buf, size_t len)
{
	const struct load_seg *seg;
	__u64 off;

	if (!s || (!buf && len))
		return -EINVAL;
	seg = seg_of(s, vaddr);
	if (!seg)
		return -ENOENT;
	off = vaddr - seg->vaddr;
	/* segments are not contiguous in the file, so never cross into the next */
	if (len > seg->filesz - off)
		return -EFAULT;
	memcpy(buf, s->image + seg->offset + off, len);
	return 0;
}

int elf_symbols__section_bounds(const struct elf_symbols *s, const char *name,
				__u64 *start, __u64 *end)
{
	if (!s || !name)
		return -EINVAL;
	for (size_t i = 0; i < s->nsecs; i++) {
		if (strcmp(s->secs[i].name, name))
			continue;
		if (start)
			*start = s->secs[i].addr;
		if (end)
			*end = s->secs[i].addr + s->secs[i].size;
		return 0;
	}
	return -ENOENT;
}

/* Is this maps line's file the one we opened? Device and inode from the maps
 * line first; they differ from stat(2) on overlayfs (maps shows the real
 * file), so then ask the kernel for the mapped file itself. */
static bool same_file(const struct elf_symbols *s, int pid, unsigned int maj, unsigned int min,
		      unsigned long long ino, unsigned long long start, unsigned long long end,
		      const char *file)
{
	char link[PATH_MAX + 64];
	struct stat st;

	if (makedev(maj, min) == s->dev && ino == s->ino)
		return true;
	snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", pid, start, end);
	if (!stat(link, &st))
		return st.st_dev == s->dev && st.st_ino == s->ino;
	/* map_files needs CAP_SYS_ADMIN; fall back to the name in the target's root */
	if (file[0] != '/' || snprintf(link, sizeof(link), "/proc/%d/root%s", pid, file) >=
				      (int)sizeof(link))
		return false;
	return !stat(link, &st) && st.st_dev == s->dev && st.st_ino == s->ino;
}

/* The value of symbol `idx` in the symbol table section `link`. */
static __u64 symbol_value(Elf *elf, size_t link, size_t idx)
{
	Elf_Scn *scn = elf_getscn(elf, link);
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	GElf_Sym sym;

	return data && gelf_getsym(data, (int)idx, &sym) ? sym.st_value : 0;
}

int elf_symbols__pointer_slots(const struct elf_symbols *s, __u64 target, __u64 *slots, int max)
{
	Elf_Scn *scn = NULL;
	int n = 0;

	while ((scn = elf_nextscn(s->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			unsigned type;
			bool hit;

			if (!gelf_getrela(data, (int)i, &r))
				break;
			type = GELF_R_TYPE(r.r_info);
			hit = type == R_X86_64_RELATIVE ? (__u64)r.r_addend == target
			      : type == R_X86_64_GLOB_DAT || type == R_X86_64_64
				      ? GELF_R_SYM(r.r_info) &&
						symbol_value(s->elf, sh.sh_link, GELF_R_SYM(r.r_info)) +
								(__u64)r.r_addend ==
							target
				      : false;
			if (hit && n++ < max)
				slots[n - 1] = r.r_offset;
		}
	}
	return n;
}

int elf_symbols__load_bias(const struct elf_symbols *s, int pid, __u64 *bias)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	char maps[64], perms[8], *line = NULL;
	size_t cap = 0;
	long page = sysconf(_SC_PAGESIZE);
	int ret = -ENOENT;
	FILE *f;

	if (!s || !bias || pid <= 0)
		return -EINVAL;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;

	/* Only executable mappings: the loader made those. A Rust process may also
	 * mmap its own file read-only at offset 0 (backtrace symbolisation). */
	while (ret == -ENOENT && getline(&line, &cap, f) > 0) {
		const struct load_seg *best;
		int name_at = 0;
		char *file;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
			   &maj, &min, &ino, &name_at) < 7 || perms[2] != 'x' || !ino)
			continue;
		file = line + name_at;
		file[strcspn(file, "\n")] = '\0';
		if (!same_file(s, pid, maj, min, ino, start, end, file))
			continue;

		/* The kernel maps a segment from its page-aligned file offset at the
		 * page-aligned address: start - off == bias + p_vaddr - p_offset.
		 * A neighbouring segment may share that file page (rust-lld packs
		 * them), so take the executable one, starting exactly there if any. */
		best = NULL;
		for (size_t i = 0; i < s->nsegs; i++) {
			const struct load_seg *seg = &s->segs[i];
			__u64 page_off = seg->offset & ~((__u64)page - 1);

			if (!(seg->flags & PF_X) || off < page_off ||
			    off >= seg->offset + seg->filesz)
				continue;
			if (!best || page_off == off)
				best = seg;
			if (page_off == off)
				break;
		}
		if (best) {
			*bias = start - off - best->vaddr + best->offset;
			ret = 0;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

const struct binary *elf_symbols__binary(const struct elf_symbols *syms)
{
	return syms->bin;
}
