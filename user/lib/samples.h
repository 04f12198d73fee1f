/* SPDX-License-Identifier: MIT */
/* A set of duration samples with exact min / max / count / sum and exact
 * quantiles up to SAMPLES_EXACT_MAX values; past that the quantiles come
 * from a uniform reservoir of that many (deterministic seed), so a task
 * polled a million times still costs a bounded amount of memory. */
#ifndef SAMPLES_H
#define SAMPLES_H

#include <stdbool.h>
#include <linux/types.h>

#define SAMPLES_EXACT_MAX 1024

struct samples {
	__u64 *v;     /* lazily allocated; unsorted */
	__u32 n;      /* values held in v */
	__u32 cap;
	__u64 count;  /* values ever added */
	__u64 sum;
	__u64 min, max;
	__u64 rng;
};

int samples__add(struct samples *s, __u64 value); /* 0 or -ENOMEM (value still counted) */
/* q in [0,1]; nearest-rank. 0 when empty. Sorts in place. */
__u64 samples__quantile(struct samples *s, double q);
bool samples__exact(const struct samples *s);
void samples__release(struct samples *s);
/* *to = a copy of *from, its own values (and reservoir state, so both go on
 * alike): 0 or -ENOMEM (then *to is empty). */
int samples__clone(struct samples *to, const struct samples *from);

#endif
