/* SPDX-License-Identifier: MIT */
/* The tests' stand-in for the BPF probe's copy of a thread's stack: the
 * bytes from sp up, across the frames of callers, as the probe reads them.
 * AddressSanitizer would call that a stack overflow (and intercepts memcpy),
 * so the copy is a plain loop it does not instrument; volatile keeps the
 * compiler from turning it back into a memcpy call. */
#ifndef TEST_STACK_COPY_H
#define TEST_STACK_COPY_H

#include <stddef.h>
#include <stdint.h>

__attribute__((no_sanitize_address, noinline)) static void
stack_copy(void *dst, uintptr_t src, size_t n)
{
	const volatile unsigned char *from = (const volatile unsigned char *)src;
	unsigned char *to = dst;

	for (size_t i = 0; i < n; i++)
		to[i] = from[i];
}

#endif
