/* SPDX-License-Identifier: MIT */
/*
 * Which code is the program's own, by the crate it belongs to, as cargo
 * tells them apart: the program is its workspace's members, compiled from
 * paths relative to the workspace; every dependency (registry, git,
 * `cargo vendor`, a path dependency outside the workspace) and the
 * standard library are compiled from absolute paths. rustc names each
 * compile unit "ROOT/@/CRATE.HASH-cgu.N" (ROOT the crate's root file, as
 * cargo passed it) under DW_AT_comp_dir, the directory it ran in: the
 * workspace for members. So a unit gives a crate's name, whether it is a
 * member, and where its files are.
 */
#ifndef CRATE_MAP_H
#define CRATE_MAP_H

#include <elfutils/libdw.h>
#include <linux/types.h>
#include <stdbool.h>

struct crate_map;

/* From the DWARF's units; the workspace is the directory of the unit that
 * holds main_vaddr (the program's main), else the one most members were
 * compiled in. NULL + errno: ENODATA (no Rust unit names a crate, or none
 * is a member: a build that passed absolute paths only), ENOMEM. */
struct crate_map *crate_map__new(Dwarf *dw, __u64 main_vaddr);
void crate_map__free(struct crate_map *m);

/* 1: the program's own code, 0: a dependency's or the standard library's,
 * -1: cannot tell. By the function's crate when it is a path
 * ("crate::module::f", "<crate::T as Trait>::f"), else by the file (an
 * absolute path): in a dependency's directory, else in the workspace.
 * Either may be NULL. */
int crate_map__is_own(const struct crate_map *m, const char *function, const char *file);

/* Is this a unit directory of the prebuilt standard library: /rustc/<hash>
 * (std, core, ...) or /rust/deps/<crate> (their dependencies)? */
bool crate_map__is_std_dir(const char *comp_dir);

/* The workspace directory, for messages and tests. */
const char *crate_map__workspace(const struct crate_map *m);

#endif
