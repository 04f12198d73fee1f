/* SPDX-License-Identifier: MIT */
/*
 * The type information of the executable's DWARF (rustc debug = "full"),
 * indexed as the future decoder asks for it: qualified names, the function
 * holding an address, vtables, async fn paths and enum layouts. Reads only
 * the binary, never a process; a unit is indexed when first needed, every
 * unit only when a lookup needs them all. Not thread-safe (its caches grow
 * on lookups).
 *
 * What rustc emits (checked on rustc 1.95, tokio 1.24.2): an async fn's state
 * machine is a structure "{async_fn_env#0}" (an async block's
 * "{async_block_env#N}", generic ones with "<args>" after it) in the fn's
 * namespace, with a DW_TAG_variant_part whose discriminant is the artificial
 * member "__state" and whose variants hold one member each, typed
 * "Unresumed", "Returned", "Panicked", "Suspend0".."SuspendN"; each of those
 * members carries DW_AT_decl_file/decl_line: for a SuspendN, the line of its
 * `.await` (no column). A SuspendN struct holds the awaited future in
 * "__awaitee". Other enums (tokio's Stage<T>, Option, ...) use the same
 * variant parts, with niches: the discriminant member is the niche field,
 * the variants that are not the dataful one carry DW_AT_discr_value, the
 * dataful one none (the default).
 */
#ifndef DWARF_TYPES_H
#define DWARF_TYPES_H

#include <elfutils/libdw.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct dwarf_types;
struct binary;

#define DWARF_TYPES_MAX_NAME 1024 /* a qualified name's length (names are cut there) */

/* One variant of an enum's variant part: its member and that member's type. */
struct enum_variant {
	__u64 value;
	bool dflt;	  /* no discr_value: every other value */
	const char *name; /* the member's: "Running", "3" */
	const char *kind; /* its type's: "Suspend0", "Running" */
	const char *file; /* its declaration */
	__u32 line;
	__u64 off;	    /* of the member */
	Dwarf_Off type;	    /* of the member */
	__u64 awaitee_off;  /* in the member, if awaitee */
	Dwarf_Off awaitee;  /* "__awaitee"'s type, 0 if none */
};

/* an enum: a structure with a variant part */
struct enum_layout {
	bool has_discr, is_async;
	__u32 discr_off, discr_size;
	const char *function; /* async: the fn's path */
	size_t n;
	struct enum_variant *variants;
};

/* Indexes the binary's DWARF (borrowed: it must outlive the index). NULL +
 * errno: ENODATA (no DWARF type information: no DWARF, or
 * line-tables-only), ENOMEM. */
struct dwarf_types *dwarf_types__new(const struct binary *bin);
void dwarf_types__free(struct dwarf_types *ts);

Dwarf *dwarf_types__dwarf(const struct dwarf_types *ts);
/* The DIE at offset off (0: none). */
bool dwarf_types__die(const struct dwarf_types *ts, Dwarf_Off off, Dwarf_Die *die);
/* Indexes every unit now (lookups that miss may need them all). */
void dwarf_types__index_all(struct dwarf_types *ts);

/* "a::b::Name": DW_AT_name of the DIE and of its enclosing namespaces and
 * types; NULL if unnamed or out of memory. Lives as long as the index. */
const char *dwarf_types__name(struct dwarf_types *ts, Dwarf_Die *die);
/* The concrete subprogram holding ELF vaddr. */
bool dwarf_types__func_at(struct dwarf_types *ts, __u64 vaddr, Dwarf_Die *func);

/* The type T of the vtable "<T as Trait>::{vtable}" at ELF vaddr, among
 * the vtables of the units indexed so far and those added. */
bool dwarf_types__vtable(struct dwarf_types *ts, __u64 vaddr, Dwarf_Die *type);
/* A vtable found otherwise: vaddr -> type. 0 or -ENOMEM. */
int dwarf_types__add_vtable(struct dwarf_types *ts, __u64 vaddr, Dwarf_Off type);

/* The layout of enum t (an async fn's state machine included), built once;
 * NULL if t has no variant part or out of memory. Lives as long as the
 * index (and so do its variants). */
const struct enum_layout *dwarf_types__enum(struct dwarf_types *ts, Dwarf_Die *t);

#endif
