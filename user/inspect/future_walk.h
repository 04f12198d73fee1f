/* SPDX-License-Identifier: MIT */
/*
 * One task's decoding, for the future decoder's files (not an API of its
 * own): the target, read through the caller's callback, and the budget left
 * to the explorations. Target memory is never trusted: bounded reads,
 * checked discriminants.
 */
#ifndef FUTURE_WALK_H
#define FUTURE_WALK_H

#include <elfutils/libdw.h>
#include <linux/types.h>
#include <stdbool.h>

#include "binary/dwarf_types.h"
#include "inspect/future_decoder.h"

struct future_walk {
	future_read_fn read;
	void *ctx;
	__u64 bias;	 /* of the executable: runtime = ELF vaddr + bias */
	int nodes, reads; /* types still to visit, reads still to make, exploring */
};

/* An unsigned integer of size (<= 8) bytes at addr: 0 or -EFAULT. */
int future_walk__read_uint(struct future_walk *w, __u64 addr, __u32 size, __u64 *v);
/* The variant of enum l at addr: 0 and *out, -EFAULT, -EPROTO (a
 * discriminant no variant has). */
int future_walk__pick(struct future_walk *w, const struct enum_layout *l, __u64 addr,
		      const struct enum_variant **out);
/* A scalar of type t at addr: through newtype structs down to a base, enum
 * or pointer type; one read of the budget. */
bool future_walk__read_scalar(struct future_walk *w, Dwarf_Die *t, __u64 addr, __s64 *out);

#endif
