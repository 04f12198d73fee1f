/* SPDX-License-Identifier: MIT */
/*
 * Small questions asked of one DWARF type DIE as rustc emits them (libdw):
 * its type through typedefs, its members and their offsets, its variant
 * part, its template parameters. Stateless: what needs the whole DWARF
 * (qualified names, layouts cached per type) is binary/dwarf_types.h.
 */
#ifndef DWARF_DIE_H
#define DWARF_DIE_H

#include <elfutils/libdw.h>
#include <linux/types.h>
#include <stdbool.h>

/* Through typedefs and qualifiers (Rust has few): false if too many. */
bool die__peel(Dwarf_Die *t);
/* The DW_AT_type of die (through its abstract origin), peeled. */
bool die__type(Dwarf_Die *die, Dwarf_Die *out);
/* A member's offset in its struct; 0 for a union's. False for a location
 * expression (not Rust's). */
bool die__member_off(Dwarf_Die *m, __u64 *off);
bool die__is_struct(Dwarf_Die *t);
/* An async fn's ("{async_fn_env#0}") or async block's state machine? */
bool die__is_async_env(Dwarf_Die *t);
/* The DW_TAG_variant_part among t's children: an enum's. */
bool die__variant_part(Dwarf_Die *t, Dwarf_Die *vp);
/* The first DW_TAG_member among t's children. */
bool die__first_member(Dwarf_Die *t, Dwarf_Die *m);
/* Through structs by their first member (newtypes: NonNull, ManuallyDrop,
 * Arc, ...), at most 8 deep: t becomes the first type that is not a
 * struct (or the 8th struct), *off grows by the offsets; false for a struct
 * without a member or an unreadable one. */
bool die__unwrap(Dwarf_Die *t, __u64 *off);
/* The direct member `name` of struct t: its offset and type. */
bool die__child_member(Dwarf_Die *t, const char *name, __u64 *off, Dwarf_Die *type);
/* Does member m, of type `type`, match? */
typedef bool (*die_match)(void *ctx, Dwarf_Die *m, Dwarf_Die *type);
/* The first member of struct t that `match` accepts, at any depth of its
 * members down to max_depth (0: t's own; not into variants or pointers):
 * offset from t and type. Each member is tried before those inside it;
 * shallow: all of a struct's members before those inside any of them. */
bool die__find(Dwarf_Die *t, die_match match, void *ctx, int max_depth, bool shallow,
	       __u64 *off, Dwarf_Die *type);
/* The first member `name` at any depth of struct t's members (not into
 * variants or pointers): offset from t and type. */
bool die__find_member(Dwarf_Die *t, const char *name, __u64 *off, Dwarf_Die *type);
/* The child of parent named name with tag (0: any). */
bool die__child_named(Dwarf_Die *parent, int tag, const char *name, Dwarf_Die *out);
/* The template type parameter `name` of die, else of its abstract origin
 * (an out-of-line inlined function). */
bool die__template_param(Dwarf_Die *die, const char *name, Dwarf_Die *type);

/* A static question about a type; depth: how far from where it began. */
typedef bool (*die_test)(void *ctx, Dwarf_Die *t, int depth);
/* Does the type of a member of struct t, or of a member of one of its
 * variants, pass `test` (given depth)? */
bool die__any_member(Dwarf_Die *t, die_test test, void *ctx, int depth);

#endif
