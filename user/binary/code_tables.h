/* SPDX-License-Identifier: MIT */
/*
 * Tables of code pointers found in a binary's read-only data by their shape
 * alone, with no symbol table: N consecutive pointers into executable
 * sections, then M words that are no pointers at all (tokio's task vtable:
 * 7 functions, then 3 offsets; runtime/tokio_vtables.h), or M pointers to
 * data (async-task's: 7 functions, then its layout's address;
 * runtime/async_task_vtables.h).
 *
 * Where: .data.rel.ro and .data.rel.ro.local, and in a non-PIE .rodata too
 * (a compiler that needs no relocation puts constant tables there: gcc
 * -fno-pie does, and rustc -C relocation-model=static put tokio's vtables
 * there). A table lies in one section.
 * What is a pointer: in a PIE, a word the loader relocates (RELA or RELR in
 * the file's dynamic relocations); its value is the addend (RELATIVE), the
 * file's bytes hold zeros or the same. In a non-PIE, a word whose value lies
 * in a PT_LOAD segment. A code pointer is one whose value lies in an
 * executable section (SHF_EXECINSTR: .text, .plt, ...).
 */
#ifndef CODE_TABLES_H
#define CODE_TABLES_H

#include <linux/types.h>
#include <stdbool.h>

struct elf_symbols;

/* What a word of the loaded image holds. */
enum code_word {
	CODE_WORD_PLAIN,   /* no pointer */
	CODE_WORD_POINTER, /* a pointer, not into code (or of a value only the loader knows) */
	CODE_WORD_CODE,	   /* a pointer into an executable section */
};

struct code_table_shape {
	unsigned ptrs;	/* N >= 1 code pointers */
	unsigned words; /* then M >= 1 words of one kind: */
	/* CODE_WORD_PLAIN (0, the default): no pointers (tokio's offsets);
	 * CODE_WORD_POINTER: pointers, none into code (async-task 4.3's
	 * layout_info, a pointer to a static) */
	enum code_word word_kind;
	/* false: the word before the first is no code pointer, the table is
	 * a whole run. true: it may be the last N of a longer run, the object
	 * before ending in code pointers (a Rust trait object's vtable: drop,
	 * size, align, then its methods, often sits right before another) */
	bool after_code;
	/* the M words of a candidate (NULL: any words); ctx is find's */
	bool (*words_ok)(const __u64 *words, void *ctx);
};

/* One table found: valid during the callback only. */
struct code_table {
	__u64 vaddr;	     /* of its first pointer, in the file's addresses */
	const __u64 *ptrs;   /* its N code addresses (file vaddrs, as relocated) */
	const __u64 *words;  /* its M words */
};

/* Calls found for each table of that shape whose M words words_ok accepts,
 * in address order. The word after the N-th pointer is the first of the M,
 * which are no code pointers, so a table never stops short of the end of its
 * run of code pointers; and unless after_code, a run longer than N is none.
 * Returns the number of tables (>= 0), found's negative return value (which
 * stops the walk), -EINVAL (no pointers or no words in the shape, or a
 * word_kind of CODE_WORD_CODE), -ENOEXEC for an unreadable ELF, -ENOMEM. */
int code_tables__find(const struct elf_symbols *syms, const struct code_table_shape *shape,
		      int (*found)(const struct code_table *t, void *ctx), void *ctx);

/* The n words at vaddr (8-aligned, in one section's file contents: a GOT
 * slot, a vtable) as the loader leaves them: values (a PIE's relocated ones
 * from their addends) into vals, what each is into kinds. 0, -EINVAL,
 * -ENOENT (not in the file), -ENOEXEC, -ENOMEM. */
int code_tables__words(const struct elf_symbols *syms, __u64 vaddr, unsigned n, __u64 *vals,
		       enum code_word *kinds);

#endif /* CODE_TABLES_H */
