/* SPDX-License-Identifier: MIT */
/* Growable arrays: one doubling rule for every module that keeps a
 * (pointer, count, capacity) triple. */
#ifndef ARRAY_H
#define ARRAY_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* Make room for `need` elements of `elem` bytes in *arr (capacity *cap).
 * 0, or -ENOMEM with *arr untouched. */
static inline int array__grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

#endif
