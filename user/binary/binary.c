// SPDX-License-Identifier: MIT
#include "binary/binary.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>

#include "binary/debug_file.h"
#include "binary/elf_symbols.h"

struct binary {
	int fd;
	struct stat st;
	Elf *elf; /* ELF_C_READ_MMAP: every reader uses the file in place */
	struct elf_symbols *syms;
	Dwarf *dw;
	Dwarf_CFI *cfi;
	bool own_cfi; /* from .eh_frame: ours to end; .debug_frame's is dw's */
	struct debug_file *debug; /* NULL: not looked for */
};

/* Does every DWARF string section end in a NUL? libdw (0.188) hands out
 * strings of .debug_line_str (file and directory names) without checking,
 * so a malformed file's last one would run off the section's data. Only
 * uncompressed sections are checked: a compressed one is inflated by libdw. */
static bool dwarf_strings_terminated(Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_flags & SHF_COMPRESSED) ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    (strcmp(name, ".debug_str") && strcmp(name, ".debug_line_str")))
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_size && (!d->d_buf || ((const char *)d->d_buf)[d->d_size - 1]))
			return false;
	}
	return true;
}

/* The ELF to read DWARF from: the debug file's when it has DWARF and the
 * executable has none, or it was given. */
static Elf *dwarf_elf(const struct binary *b, bool own_dwarf)
{
	Elf *dbg = b->debug ? debug_file__elf(b->debug) : NULL;
	bool dwarf, symtab;

	if (!dbg)
		return b->elf;
	debug_file__sections(dbg, &dwarf, &symtab);
	return dwarf && (!own_dwarf || debug_file__source(b->debug) == DEBUG_GIVEN) ? dbg : b->elf;
}

struct binary *binary__open(const char *path)
{
	return binary__open_with_debug(path, NULL);
}

struct binary *binary__open_with_debug(const char *path, const struct debug_search *s)
{
	struct binary *b;
	bool dwarf, symtab;
	Elf *dw_elf;
	int err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	/* O_NONBLOCK: a FIFO given by mistake must not hang the open */
	b->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (b->fd < 0 || fstat(b->fd, &b->st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(b->st.st_mode)) {
		err = S_ISDIR(b->st.st_mode) ? -EISDIR : -ENOEXEC;
		goto fail;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOSYS;
		goto fail;
	}
	b->elf = elf_begin(b->fd, ELF_C_READ_MMAP, NULL);
	if (!b->elf || elf_kind(b->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto fail;
	}
	debug_file__sections(b->elf, &dwarf, &symtab);
	if (s && (s->given || !dwarf || !symtab)) {
		b->debug = debug_file__find(b->elf, path, s);
		if (!b->debug) {
			err = -ENOMEM;
			goto fail;
		}
	}
	b->syms = elf_symbols__new(b); /* checks the machine and the type */
	if (!b->syms) {
		err = -errno;
		goto fail;
	}
	/* a malformed string section: the file is used as if it had no DWARF */
	dw_elf = dwarf_elf(b, dwarf);
	b->dw = dwarf_strings_terminated(dw_elf) ? dwarf_begin_elf(dw_elf, DWARF_C_READ, NULL)
						 : NULL;
	/* .eh_frame is always there for C and Rust; .debug_frame is the rare
	 * fallback, read through the DWARF */
	b->cfi = dwarf_getcfi_elf(b->elf);
	b->own_cfi = b->cfi;
	if (!b->cfi && b->dw)
		b->cfi = dwarf_getcfi(b->dw);
	return b;

fail:
	binary__free(b);
	errno = -err;
	return NULL;
}

void binary__free(struct binary *b)
{
	if (!b)
		return;
	if (b->own_cfi)
		dwarf_cfi_end(b->cfi);
	if (b->dw)
		dwarf_end(b->dw);
	elf_symbols__free(b->syms);
	debug_file__free(b->debug);
	if (b->elf)
		elf_end(b->elf);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

const struct elf_symbols *binary__symbols(const struct binary *b)
{
	return b ? b->syms : NULL;
}

Elf *binary__elf(const struct binary *b)
{
	return b->elf;
}

const struct stat *binary__stat(const struct binary *b)
{
	return &b->st;
}

Dwarf *binary__dwarf(const struct binary *b)
{
	return b->dw;
}

Dwarf_CFI *binary__cfi(const struct binary *b)
{
	return b->cfi;
}

const struct debug_file *binary__debug_file(const struct binary *b)
{
	return b->debug;
}

int binary__build_id(const struct binary *b, unsigned char *id, size_t max)
{
	const void *bytes;
	ssize_t n = b ? dwelf_elf_gnu_build_id(binary__elf(b), &bytes) : -1;

	if (n <= 0)
		return -ENOENT;
	if ((size_t)n > max)
		n = (ssize_t)max;
	memcpy(id, bytes, (size_t)n);
	return (int)n;
}
