/* SPDX-License-Identifier: MIT */
#ifndef LIB_CLOCK_H
#define LIB_CLOCK_H

#include <time.h>
#include <linux/types.h>

/* Now on `clock`, in ns. CLOCK_MONOTONIC is bpf_ktime_get_ns()'s clock:
 * every record's ts is on it. */
static inline __u64 clock__ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

#endif
