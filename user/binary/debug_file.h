/* SPDX-License-Identifier: MIT */
/*
 * The separate debug file of an executable whose DWARF (or symbol table) was
 * split out, found where gdb and perf find it, in their order: a file given
 * by name; by build-id, <dir>/.build-id/xx/yyyy.debug; by .gnu_debuglink
 * (its CRC32 checked) next to the executable, in its .debug/ folder and in
 * <dir>/<the executable's folder>/; from the debuginfod servers of
 * DEBUGINFOD_URLS (and their cache). A file is taken only when it fits: an
 * ELF file for the executable's machine, not the executable itself, the same
 * build-id when both have one, and DWARF or a symbol table in it. Its
 * addresses are the executable's. binary.c looks and owns what is found.
 */
#ifndef DEBUG_FILE_H
#define DEBUG_FILE_H

#include <libelf.h>
#include <stdbool.h>

enum debug_source {
	DEBUG_NONE,	  /* none found */
	DEBUG_GIVEN,	  /* debug_search.given */
	DEBUG_BUILD_ID,	  /* <dir>/.build-id/ */
	DEBUG_LINK,	  /* .gnu_debuglink */
	DEBUG_DEBUGINFOD, /* a debuginfod server, or its cache */
};

struct debug_search {
	const char *given; /* tried first (--debuginfo); NULL: none */
	const char *dir;   /* the global debug folder; NULL: /usr/lib/debug */
	bool debuginfod;   /* ask the servers of DEBUGINFOD_URLS last */
};

struct debug_file;

/* Looks for the debug file of `exe` (its ELF, opened from exe_path, whose
 * real folder is the one .gnu_debuglink names; /proc/PID/exe works). Found
 * or not, the result says what was tried; NULL + ENOMEM only. */
struct debug_file *debug_file__find(Elf *exe, const char *exe_path, const struct debug_search *s);
void debug_file__free(struct debug_file *f);

/* The file taken (mmapped, kept open while f lives); NULL: none. */
Elf *debug_file__elf(const struct debug_file *f);
/* Its path ("" when none was taken) and how it was found. */
const char *debug_file__path(const struct debug_file *f);
enum debug_source debug_file__source(const struct debug_file *f);
/* "--debuginfo", "build-id", ".gnu_debuglink", "debuginfod"; "none" */
const char *debug_file__source_name(enum debug_source src);
/* Each place looked at that gave nothing, and why, "; " between them:
 * "build-id /usr/lib/debug/.build-id/ab/cdef.debug: not found; ..." */
const char *debug_file__tried(const struct debug_file *f);
/* Why the given file was not taken; NULL when it was, or none was given. */
const char *debug_file__given_refused(const struct debug_file *f);

/* What of it an ELF file carries: DWARF (.debug_info), a symbol table. */
void debug_file__sections(Elf *elf, bool *dwarf, bool *symtab);

#endif
