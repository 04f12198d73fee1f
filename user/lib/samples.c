// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lib/samples.h"

static __u64 next_rand(struct samples *s)
{
	/* xorshift64*: cheap and reproducible, so replays give equal reports */
	if (!s->rng)
		s->rng = 0x9e3779b97f4a7c15ULL;
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dULL;
}

int samples__add(struct samples *s, __u64 value)
{
	if (s->count == 0 || value < s->min)
		s->min = value;
	if (value > s->max)
		s->max = value;
	s->count++;
	s->sum += value;

	if (s->n < SAMPLES_EXACT_MAX) {
		if (s->n == s->cap) {
			__u32 cap = s->cap ? s->cap * 2 : 4;
			__u64 *v = realloc(s->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = cap;
		}
		s->v[s->n++] = value;
		return 0;
	}
	/* Algorithm R: keep each of the `count` values with equal probability */
	__u64 j = next_rand(s) % s->count;
	if (j < SAMPLES_EXACT_MAX)
		s->v[j] = value;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

__u64 samples__quantile(struct samples *s, double q)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	if (q <= 0)
		return s->min;
	if (q >= 1)
		return s->max;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	rank = (size_t)ceil(q * s->n);
	if (rank < 1)
		rank = 1;
	return s->v[rank - 1];
}

bool samples__exact(const struct samples *s)
{
	return s->count == s->n;
}

void samples__release(struct samples *s)
{
	free(s->v);
	*s = (struct samples){0};
}

int samples__clone(struct samples *to, const struct samples *from)
{
	*to = *from;
	to->v = NULL;
	to->cap = 0;
	if (!from->n)
		return 0;
	/* exactly what it holds: a checkpoint's copy may never grow */
	to->v = malloc(from->n * sizeof(*to->v));
	if (!to->v) {
		*to = (struct samples){0};
		return -ENOMEM;
	}
	memcpy(to->v, from->v, from->n * sizeof(*to->v));
	to->cap = from->n;
	return 0;
}
