/* SPDX-License-Identifier: MIT */
/*
 * A binary's functions as its call frame information describes them, with
 * no symbol table: .eh_frame_hdr's sorted table of FDEs gives each start,
 * the FDE its end. Stripping keeps .eh_frame (the unwinder needs it), so a
 * stripped binary's code searches (x86_code.c) walk these functions.
 */
#ifndef CFI_FUNCTIONS_H
#define CFI_FUNCTIONS_H

#include <linux/types.h>

struct binary;

struct cfi_function {
	__u64 start, end; /* file vaddrs: [start, end) */
};

/* The functions of b's .eh_frame_hdr (PT_GNU_EH_FRAME), in address order,
 * into *out (the caller frees it): how many, or -ENOENT (none, or a table
 * encoded other than linkers do: datarel sdata4 pairs), -ENOMEM. */
int cfi_functions__list(const struct binary *b, struct cfi_function **out);

/* The function of list's n that holds vaddr, or NULL. */
const struct cfi_function *cfi_functions__containing(const struct cfi_function *fns, int n,
						     __u64 vaddr);

#endif
