/* SPDX-License-Identifier: MIT */
/*
 * The target's executable, opened once per session: one file descriptor,
 * one libelf handle over the mmapped file, and what the readers above share
 * from it (the symbol table, the DWARF, the call frame information), some
 * from its separate debug file when it has one (same addresses). Those
 * readers borrow a struct binary and never open the file themselves, so an
 * attached target's /proc/PID/exe is read while it exists, and only once.
 */
#ifndef BINARY_H
#define BINARY_H

#include <elfutils/libdw.h>
#include <libelf.h>
#include <sys/stat.h>

struct binary;
struct elf_symbols;
struct debug_file;
struct debug_search;

/* Opens an x86_64 ET_EXEC/ET_DYN file and reads its symbols, DWARF and CFI.
 * NULL + errno: ENOENT/EACCES/... from open(2), EISDIR, ENOEXEC for a
 * non-ELF file, another machine or an object file, ENOMEM. A file without
 * DWARF or CFI opens fine (binary__dwarf, binary__cfi: NULL). */
struct binary *binary__open(const char *path);
/* The same, and when the file has no DWARF or no symbol table, or s->given
 * is set, its separate debug file (debug_file.h) is looked for: the DWARF
 * (and .debug_frame) come from there when the file has none or it was
 * given, the symbols when the file has no .symtab. */
struct binary *binary__open_with_debug(const char *path, const struct debug_search *s);
void binary__free(struct binary *b);

/* NULL for a NULL binary (one that did not open) */
const struct elf_symbols *binary__symbols(const struct binary *b);
Elf *binary__elf(const struct binary *b);
/* The device and inode at open (a mapping of the file is told by them). */
const struct stat *binary__stat(const struct binary *b);
/* NULL: no DWARF sections */
Dwarf *binary__dwarf(const struct binary *b);
/* .eh_frame, else .debug_frame; NULL: neither */
Dwarf_CFI *binary__cfi(const struct binary *b);
/* Its GNU build-id, up to max bytes into id: how many, or -ENOENT (none). */
int binary__build_id(const struct binary *b, unsigned char *id, size_t max);
/* The search for a separate debug file, found or not; NULL: none made. */
const struct debug_file *binary__debug_file(const struct binary *b);

#endif
