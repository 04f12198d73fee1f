// SPDX-License-Identifier: MIT
/*
 * The per-CPU ring merge on records with chosen timestamps: what is released
 * for a watermark, in which order, what a late record does, a deliver
 * function that stops, bad input, the bound on what is held, and a random
 * interleaving of several rings checked against a sort.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aib_events.h"
#include "trace/ring_merge.h"

/* A record: the header and a payload saying which ring and which one it was. */
struct rec {
	struct aib_hdr hdr;
	__u32 ring, seq;
};

struct seen {
	struct rec *recs;
	size_t n, cap;
	int stop_at; /* deliver returns -EIO when it has this many (-1: never) */
};

static int collect(const void *data, size_t size, void *ctx)
{
	struct seen *s = ctx;

	if (s->stop_at >= 0 && s->n == (size_t)s->stop_at)
		return -EIO;
	assert_int_equal(size, sizeof(struct rec));
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->recs = realloc(s->recs, s->cap * sizeof(*s->recs));
		assert_non_null(s->recs);
	}
	memcpy(&s->recs[s->n++], data, size);
	return 0;
}

static int push(struct ring_merge *m, __u32 ring, __u32 seq, __u64 ts)
{
	struct rec r = {.hdr = {.kind = AIB_EV_WAKE, .size = sizeof(r), .ts = ts},
			.ring = ring,
			.seq = seq};

	return ring_merge__push(m, ring, &r, sizeof(r));
}

static void expect_ts(const struct seen *s, const __u64 *want, size_t n)
{
	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->recs[i].hdr.ts, want[i]);
}

/* Two CPUs' rings, read one after the other: released in time order, and
 * only what is older than the watermark. */
static void test_watermark(void **state)
{
	struct seen s = {.stop_at = -1};
	struct ring_merge *m = ring_merge__new(2, collect, &s);
	static const __u64 first[] = {10, 15, 20}, all[] = {10, 15, 20, 25, 30, 40};

	assert_non_null(m);
	assert_int_equal(push(m, 0, 0, 10), 0);
	assert_int_equal(push(m, 0, 1, 20), 0);
	assert_int_equal(push(m, 0, 2, 30), 0);
	assert_int_equal(push(m, 1, 0, 15), 0);
	assert_int_equal(push(m, 1, 1, 25), 0);
	assert_int_equal(ring_merge__release(m, 25), 0); /* 25 is not below 25 */
	expect_ts(&s, first, 3);
	assert_int_equal(ring_merge__held(m), 2);
	assert_int_equal(push(m, 1, 2, 40), 0);
	assert_int_equal(ring_merge__release(m, UINT64_MAX), 0);
	expect_ts(&s, all, 6);
	assert_int_equal(ring_merge__held(m), 0);
	/* nothing held: a release is a no-op */
	assert_int_equal(ring_merge__release(m, UINT64_MAX), 0);
	assert_int_equal(s.n, 6);
	ring_merge__free(m);
	free(s.recs);
}

/* A record older than what already went (its program was preempted past
 * the slack) goes with the next release rather than never. */
static void test_late_record(void **state)
{
	struct seen s = {.stop_at = -1};
	struct ring_merge *m = ring_merge__new(2, collect, &s);
	static const __u64 want[] = {100, 200, 50, 300};

	assert_int_equal(push(m, 0, 0, 100), 0);
	assert_int_equal(push(m, 1, 0, 200), 0);
	assert_int_equal(ring_merge__release(m, 250), 0);
	assert_int_equal(push(m, 1, 1, 50), 0);
	assert_int_equal(push(m, 0, 1, 300), 0);
	assert_int_equal(ring_merge__release(m, 260), 0);
	assert_int_equal(s.n, 3); /* the late one, not 300 */
	assert_int_equal(ring_merge__release(m, UINT64_MAX), 0);
	expect_ts(&s, want, 4);
	ring_merge__free(m);
	free(s.recs);
}

/* A deliver function that fails stops the release: the record it refused
 * is gone (as libbpf's ring reader does, so a bad record cannot loop), the
 * rest stays held and goes with the next release. */
static void test_deliver_stops(void **state)
{
	struct seen s = {.stop_at = 2};
	struct ring_merge *m = ring_merge__new(1, collect, &s);
	static const __u64 want[] = {1, 2, 4};

	for (__u32 i = 0; i < 4; i++)
		assert_int_equal(push(m, 0, i, i + 1), 0);
	assert_int_equal(ring_merge__release(m, UINT64_MAX), -EIO);
	assert_int_equal(s.n, 2);
	assert_int_equal(ring_merge__held(m), 1);
	s.stop_at = -1;
	assert_int_equal(ring_merge__release(m, UINT64_MAX), 0);
	expect_ts(&s, want, 3);
	ring_merge__free(m);
	free(s.recs);
}

static void test_bad_input(void **state)
{
	struct seen s = {.stop_at = -1};
	struct ring_merge *m = ring_merge__new(2, collect, &s);
	struct aib_hdr h = {.ts = 1};

	assert_null(ring_merge__new(0, collect, &s));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ring_merge__push(m, 2, &h, sizeof(h)), -EINVAL);
	assert_int_equal(ring_merge__push(m, 0, &h, sizeof(h) - 1), -EINVAL);
	assert_int_equal(ring_merge__held(m), 0);
	ring_merge__free(m);
	ring_merge__free(NULL);
}

struct counted {
	size_t n;
	__u64 last_ts;
};

static int count_in_order(const void *data, size_t size, void *ctx)
{
	const struct aib_hdr *h = data;
	struct counted *c = ctx;

	assert_true(h->ts > c->last_ts);
	c->last_ts = h->ts;
	c->n++;
	return 0;
}

/* Past RING_MERGE_MAX_HELD bytes the oldest records go early, in order:
 * memory stays bounded even if the watermark never moves. */
static void test_bounded(void **state)
{
	enum { BIG = 60000 };
	struct counted c = {0};
	struct ring_merge *m = ring_merge__new(2, count_in_order, &c);
	unsigned char *buf = calloc(1, BIG);
	size_t n = 2 * (RING_MERGE_MAX_HELD / BIG);
	struct aib_hdr h = {.kind = AIB_EV_WAKE};

	assert_non_null(m);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		h.ts = i + 1;
		memcpy(buf, &h, sizeof(h));
		assert_int_equal(ring_merge__push(m, i & 1, buf, BIG), 0);
		assert_true(ring_merge__held(m) * BIG <= RING_MERGE_MAX_HELD);
	}
	assert_true(c.n >= n / 2); /* about half went early */
	assert_int_equal(ring_merge__release(m, UINT64_MAX), 0);
	assert_int_equal(c.n, n);
	ring_merge__free(m);
	free(buf);
}

static int by_ts(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->hdr.ts != y->hdr.ts)
		return x->hdr.ts < y->hdr.ts ? -1 : 1;
	return x->ring != y->ring ? (x->ring < y->ring ? -1 : 1) : 0;
}

/* Eight rings, each in time order, pushed in random bursts as a reader
 * would read them; releases up to a watermark no later record undercuts.
 * Every record comes out once, intact, and in time order overall. */
static void test_random(void **state)
{
	enum { RINGS = 8, TOTAL = 200000 };
	struct seen s = {.stop_at = -1};
	struct ring_merge *m = ring_merge__new(RINGS, collect, &s);
	struct rec *all = calloc(TOTAL, sizeof(*all));
	__u64 clock = 1000, next_ts[RINGS];
	__u32 seq[RINGS] = {0};
	size_t n = 0;

	assert_non_null(all);
	srand(7);
	for (int r = 0; r < RINGS; r++)
		next_ts[r] = clock;
	while (n < TOTAL) {
		/* a reader pass: the time it starts is the next watermark */
		__u64 pass = clock;

		for (int r = 0; r < RINGS && n < TOTAL; r++) {
			int burst = rand() % 50;

			for (int i = 0; i < burst && n < TOTAL; i++) {
				struct rec x = {.hdr = {.kind = AIB_EV_WAKE, .size = sizeof(x)},
						.ring = (__u32)r, .seq = seq[r]++};

				/* written before the pass, or during it */
				next_ts[r] += 1 + (__u64)(rand() % 7);
				x.hdr.ts = next_ts[r];
				all[n++] = x;
				assert_int_equal(ring_merge__push(m, (size_t)r, &x, sizeof(x)), 0);
			}
		}
		for (int r = 0; r < RINGS; r++)
			if (next_ts[r] > clock)
				clock = next_ts[r];
		clock += 1 + (__u64)(rand() % 20);
		/* nothing read later is older than the slowest ring's last record */
		{
			__u64 mark = clock;

			for (int r = 0; r < RINGS; r++)
				if (next_ts[r] + 1 < mark)
					mark = next_ts[r] + 1;
			if (mark < pass)
				mark = pass;
			for (int r = 0; r < RINGS; r++)
				next_ts[r] = next_ts[r] < mark ? mark : next_ts[r];
			assert_int_equal(ring_merge__release(m, mark), 0);
		}
	}
	assert_int_equal(ring_merge__release(m, UINT64_MAX), 0);
	assert_int_equal(s.n, TOTAL);
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.recs[i - 1].hdr.ts <= s.recs[i].hdr.ts);
	qsort(all, TOTAL, sizeof(*all), by_ts);
	qsort(s.recs, s.n, sizeof(*s.recs), by_ts);
	assert_memory_equal(all, s.recs, TOTAL * sizeof(*all));
	ring_merge__free(m);
	free(all);
	free(s.recs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watermark),
		cmocka_unit_test(test_late_record),
		cmocka_unit_test(test_deliver_stops),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
