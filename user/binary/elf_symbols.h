/* SPDX-License-Identifier: MIT */
/*
 * Find Rust functions in a target's ELF file by demangled path, and translate
 * their addresses into what uprobes and /proc/PID/maps speak (file offsets,
 * load bias). The file is read once at open; every lookup after that is a
 * binary search over symbols sorted by demangled path.
 *
 * Paths are normalised so one spelling finds a function whatever the mangling
 * scheme: the hash (legacy `17h<hash>E`), LLVM's `.llvm.N` suffix and the
 * generic arguments of a function call (`::<...>`, printed by v0 demangling)
 * are dropped. Generic parameters of a type are kept as the demangler prints
 * them (legacy: `Harness<T,S>::poll`, v0: `<Harness<..concrete..>>::poll`).
 */
#ifndef ELF_SYMBOLS_H
#define ELF_SYMBOLS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct elf_symbols; /* the symbols of one binary (binary.h) */
struct binary;

struct elf_symbol {
	const char *path; /* normalised demangled Rust path, e.g.
			     "tokio::runtime::task::raw::poll" or
			     "<tokio::runtime::blocking::schedule::BlockingSchedule as tokio::runtime::task::Schedule>::schedule";
			     for non-Rust symbols the raw name */
	const char *raw;  /* the symbol name as in the ELF */
	__u64 vaddr;	  /* st_value */
	__u64 size;	  /* st_size */
	bool is_func;	  /* STT_FUNC (else STT_OBJECT) */
};

/* Reads the defined function and object symbols of an x86_64 ET_EXEC/ET_DYN
 * file (.symtab, else its debug file's, else .dynsym); binary__open does, and
 * owns the result (the table borrows its ELF handle). NULL + errno: ENOEXEC
 * for another machine, an object file or a malformed one, ENOMEM. */
struct elf_symbols *elf_symbols__new(const struct binary *bin);
void elf_symbols__free(struct elf_symbols *syms);

/* false for a stripped binary (.symtab absent, in its debug file too;
 * .dynsym alone does not count) */
bool elf_symbols__has_symtab(const struct elf_symbols *syms);
/* The binary they were read from (its DWARF, when a layout needs types). */
const struct binary *elf_symbols__binary(const struct elf_symbols *syms);
bool elf_symbols__is_pie(const struct elf_symbols *syms); /* ET_DYN */

/* Symbols in path order (then address); i < count, else NULL + EINVAL. */
size_t elf_symbols__count(const struct elf_symbols *syms);
const struct elf_symbol *elf_symbols__get(const struct elf_symbols *syms, size_t i);

/* Calls cb for every defined symbol (func or object, size > 0) whose path
 * equals `path` exactly, or, if `path` ends in "*", starts with the prefix
 * before the '*'. Monomorphized copies of one function share a path: all are
 * reported, in path then address order; symbols at an address already
 * reported in this call (aliases, folded copies) are skipped.
 * Returns the number of symbols reported (>= 0), the callback's negative
 * return value (which stops the walk), or -EINVAL / -ENOMEM. */
int elf_symbols__match(const struct elf_symbols *syms, const char *path,
		       int (*cb)(const struct elf_symbol *sym, void *ctx), void *ctx);

/* Virtual address -> file offset (what uprobes take), through the PT_LOAD
 * segment whose file-backed part contains vaddr. For PIE the two differ.
 * -ENOENT if no segment's file contents contain it. */
int elf_symbols__vaddr_to_offset(const struct elf_symbols *syms, __u64 vaddr, __u64 *offset);

/* Copies len bytes stored in the file at virtual address vaddr (e.g. a string
 * in .rodata). -ENOENT if vaddr is in no PT_LOAD segment's file contents,
 * -EFAULT if the range runs past them (into .bss or another segment). */
int elf_symbols__read(const struct elf_symbols *syms, __u64 vaddr, void *buf, size_t len);

/* [start, end) of the allocated section with this name (".rodata",
 * ".data.rel.ro", ...) in virtual addresses; -ENOENT if there is none. */
int elf_symbols__section_bounds(const struct elf_symbols *syms, const char *name,
				__u64 *start, __u64 *end);

/* Addresses of the pointers the dynamic loader sets to `target` (GOT slots
 * and the like: R_X86_64_RELATIVE with that addend, or GLOB_DAT / 64 to a
 * symbol at that address), through which code calls it indirectly. Up to
 * max into slots; returns how many there are, or -errno. */
int elf_symbols__pointer_slots(const struct elf_symbols *syms, __u64 target, __u64 *slots,
			       int max);

/* Load bias of this file in a running process: runtime address = vaddr + bias
 * (0 for a non-PIE executable). Found through /proc/PID/maps by the device and
 * inode of the opened file, so opening /proc/PID/exe works. -ENOENT if the
 * file is not mapped executable there, or -errno reading the maps. */
int elf_symbols__load_bias(const struct elf_symbols *syms, int pid, __u64 *bias);

/* Normalised path of a Rust symbol name into buf (see the top of this file).
 * -EINVAL if raw is not a Rust symbol, -ENOSPC if buf is too small. */
int elf_symbols__demangle(const char *raw, char *buf, size_t len);

#endif /* ELF_SYMBOLS_H */
