// SPDX-License-Identifier: MIT
/* The two containers under the task model: the u64 -> u32 hash map (linear
 * probing, backward-shift deletion) and the bounded sample set. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/samples.h"
#include "lib/id_table.h"
#include "lib/u64_map.h"

/* ---- u64_map ---- */

static void test_map_empty(void **state)
{
	struct u64_map *m = u64_map__new();
	__u32 v = 77;

	assert_non_null(m);
	assert_int_equal(u64_map__count(m), 0);
	assert_false(u64_map__get(m, 0, &v));
	assert_false(u64_map__get(m, 12345, &v));
	assert_int_equal(v, 77); /* untouched on a miss */
	assert_false(u64_map__del(m, 12345));
	assert_int_equal(u64_map__count(m), 0);
	u64_map__free(m);
	u64_map__free(NULL); /* allowed */
}

static void test_map_set_get_overwrite_delete(void **state)
{
	struct u64_map *m = u64_map__new();
	__u32 v;

	assert_non_null(m);
	/* key 0 and the all-ones key are ordinary keys */
	assert_int_equal(u64_map__set(m, 0, 10), 0);
	assert_int_equal(u64_map__set(m, ~0ULL, 20), 0);
	assert_int_equal(u64_map__set(m, 0x7f0000001000ULL, 30), 0);
	assert_int_equal(u64_map__count(m), 3);

	assert_true(u64_map__get(m, 0, &v));
	assert_int_equal(v, 10);
	assert_true(u64_map__get(m, ~0ULL, &v));
	assert_int_equal(v, 20);
	assert_true(u64_map__get(m, 0x7f0000001000ULL, &v));
	assert_int_equal(v, 30);
	assert_true(u64_map__get(m, 0x7f0000001000ULL, NULL)); /* value pointer optional */

	/* overwrite keeps the count */
	assert_int_equal(u64_map__set(m, 0x7f0000001000ULL, 31), 0);
	assert_int_equal(u64_map__count(m), 3);
	assert_true(u64_map__get(m, 0x7f0000001000ULL, &v));
	assert_int_equal(v, 31);

	assert_true(u64_map__del(m, 0));
	assert_false(u64_map__del(m, 0)); /* twice: gone */
	assert_false(u64_map__get(m, 0, &v));
	assert_int_equal(u64_map__count(m), 2);
	assert_true(u64_map__get(m, ~0ULL, &v));
	assert_int_equal(v, 20);

	/* re-insert after delete */
	assert_int_equal(u64_map__set(m, 0, 11), 0);
	assert_true(u64_map__get(m, 0, &v));
	assert_int_equal(v, 11);
	assert_int_equal(u64_map__count(m), 3);
	u64_map__free(m);
}

/* Header-like keys: 64-byte aligned addresses sharing their high bits. */
static __u64 key_of(size_t i)
{
	return 0x7f3a00000000ULL + (__u64)i * 64;
}

static __u32 val_of(size_t i)
{
	return (__u32)(i * 2654435761u);
}

#define MANY 100000

static void test_map_many_with_deletes(void **state)
{
	struct u64_map *m = u64_map__new();
	size_t kept = 0;
	__u32 v;

	assert_non_null(m);
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(u64_map__set(m, key_of(i), val_of(i)), 0);
	assert_int_equal(u64_map__count(m), MANY);
	for (size_t i = 0; i < MANY; i++) {
		assert_true(u64_map__get(m, key_of(i), &v));
		assert_int_equal(v, val_of(i));
	}

	/* delete every 3rd: many of them sit in the middle of probe runs */
	for (size_t i = 0; i < MANY; i += 3)
		assert_true(u64_map__del(m, key_of(i)));
	for (size_t i = 0; i < MANY; i++) {
		bool found = u64_map__get(m, key_of(i), &v);

		if (i % 3 == 0) {
			assert_false(found);
		} else {
			assert_true(found);
			assert_int_equal(v, val_of(i));
			kept++;
		}
	}
	assert_int_equal(kept, MANY - (MANY + 2) / 3);
	assert_int_equal(u64_map__count(m), kept);

	/* keys never inserted are not found, even between inserted ones */
	for (size_t i = 0; i < 1000; i++)
		assert_false(u64_map__get(m, key_of(i) + 8, NULL));

	/* deleting what is left, in reverse order, empties the map */
	for (size_t i = MANY; i-- > 0;)
		assert_int_equal(u64_map__del(m, key_of(i)), i % 3 != 0);
	assert_int_equal(u64_map__count(m), 0);
	for (size_t i = 0; i < MANY; i += 997)
		assert_false(u64_map__get(m, key_of(i), NULL));
	u64_map__free(m);
}

/* Long probe runs that wrap around the end of the table (keys picked with
 * the map's own hash to collide), deleted from the middle in every order:
 * backward shift must keep every survivor reachable. */
static void test_map_colliding_chains(void **state)
{
	enum { N = 12 };
	__u64 keys[N];
	size_t n = 0;

	/* keys whose home slot is the last slot (63) or slot 0 of the initial
	 * 64-slot table: their runs wrap around the end */
	for (__u64 k = 1; n < N; k++) {
		size_t home = u64_hash(k) & 63;

		if (home == 63 || (home == 0 && n % 2))
			keys[n++] = k;
	}
	for (size_t victim = 0; victim < N; victim++) {
		struct u64_map *m = u64_map__new();
		__u32 v;

		assert_non_null(m);
		for (size_t i = 0; i < N; i++)
			assert_int_equal(u64_map__set(m, keys[i], (__u32)i + 100), 0);
		assert_true(u64_map__del(m, keys[victim]));
		for (size_t i = 0; i < N; i++) {
			if (i == victim) {
				assert_false(u64_map__get(m, keys[i], &v));
				continue;
			}
			assert_true(u64_map__get(m, keys[i], &v));
			assert_int_equal(v, i + 100);
		}
		/* then delete the rest from the middle outwards */
		for (size_t d = 0; d < N; d++) {
			size_t i = (victim + N / 2 + d * 5) % N;

			if (i == victim)
				continue;
			assert_true(u64_map__del(m, keys[i]));
			assert_false(u64_map__get(m, keys[i], NULL));
		}
		/* every key deleted exactly once?  (d*5 mod 12 covers all of Z12) */
		assert_int_equal(u64_map__count(m), 0);
		u64_map__free(m);
	}
}

/* At every fill level (across several growths) a missing key is reported
 * missing: the table never fills up, so a probe always ends. */
static void test_map_never_full(void **state)
{
	struct u64_map *m = u64_map__new();

	assert_non_null(m);
	for (size_t i = 0; i < 600; i++) {
		assert_int_equal(u64_map__set(m, key_of(i), (__u32)i), 0);
		for (size_t k = 0; k < 8; k++)
			assert_false(u64_map__get(m, key_of(i + 1 + k) + 1, NULL));
		assert_false(u64_map__del(m, key_of(i) + 1));
		assert_int_equal(u64_map__count(m), i + 1);
	}
	u64_map__free(m);
}

struct visit {
	__u64 keysum;
	__u64 valsum;
	size_t n;
	size_t stop_after;
};

static int visit_cb(__u64 key, __u32 value, void *ctx)
{
	struct visit *v = ctx;

	v->keysum += key;
	v->valsum += value;
	v->n++;
	return v->stop_after && v->n == v->stop_after;
}

static void test_map_for_each(void **state)
{
	struct u64_map *m = u64_map__new();
	struct visit v = {0};
	__u64 keysum = 0, valsum = 0;

	assert_non_null(m);
	for (size_t i = 0; i < 500; i++) {
		assert_int_equal(u64_map__set(m, key_of(i), (__u32)i), 0);
		if (i % 5 == 0)
			continue;
		keysum += key_of(i);
		valsum += i;
	}
	for (size_t i = 0; i < 500; i += 5)
		assert_true(u64_map__del(m, key_of(i)));
	u64_map__for_each(m, visit_cb, &v);
	assert_int_equal(v.n, 400);
	assert_int_equal(v.keysum, keysum);
	assert_int_equal(v.valsum, valsum);

	v = (struct visit){.stop_after = 7};
	u64_map__for_each(m, visit_cb, &v);
	assert_int_equal(v.n, 7); /* stopped early */
	u64_map__free(m);
}

/* ---- samples ---- */

static void add_all(struct samples *s, const __u64 *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(samples__add(s, v[i]), 0);
}

static void test_samples_empty(void **state)
{
	struct samples s = {0};

	assert_int_equal(samples__quantile(&s, 0.5), 0);
	assert_int_equal(samples__quantile(&s, 0.99), 0);
	assert_int_equal(s.count, 0);
	assert_true(samples__exact(&s));
	samples__release(&s);
}

static void test_samples_single(void **state)
{
	struct samples s = {0};

	assert_int_equal(samples__add(&s, 42), 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.min, 42);
	assert_int_equal(s.max, 42);
	assert_int_equal(s.sum, 42);
	assert_int_equal(samples__quantile(&s, 0.0), 42);
	assert_int_equal(samples__quantile(&s, 0.01), 42);
	assert_int_equal(samples__quantile(&s, 0.5), 42);
	assert_int_equal(samples__quantile(&s, 1.0), 42);
	samples__release(&s);
	assert_null(s.v);
	assert_int_equal(s.count, 0);
	assert_int_equal(s.n, 0);
}

static void test_samples_exact_nearest_rank(void **state)
{
	static const __u64 five[] = {50, 10, 40, 20, 30};
	static const __u64 ten[] = {100, 90, 80, 70, 60, 50, 40, 30, 20, 10};
	struct samples s = {0};

	add_all(&s, five, 5);
	assert_int_equal(s.count, 5);
	assert_int_equal(s.sum, 150);
	assert_int_equal(s.min, 10);
	assert_int_equal(s.max, 50);
	assert_true(samples__exact(&s));
	/* nearest rank: the ceil(q*n)-th smallest */
	assert_int_equal(samples__quantile(&s, 0.2), 10);  /* rank 1 */
	assert_int_equal(samples__quantile(&s, 0.21), 20); /* rank 2 */
	assert_int_equal(samples__quantile(&s, 0.4), 20);  /* rank 2 */
	assert_int_equal(samples__quantile(&s, 0.5), 30);  /* rank 3 */
	assert_int_equal(samples__quantile(&s, 0.6), 30);  /* rank 3 */
	assert_int_equal(samples__quantile(&s, 0.61), 40); /* rank 4 */
	assert_int_equal(samples__quantile(&s, 0.99), 50); /* rank 5 */
	assert_int_equal(samples__quantile(&s, 0.0), 10);
	assert_int_equal(samples__quantile(&s, 1.0), 50);
	assert_int_equal(samples__quantile(&s, -1.0), 10);
	assert_int_equal(samples__quantile(&s, 2.0), 50);
	samples__release(&s);

	add_all(&s, ten, 10);
	assert_int_equal(samples__quantile(&s, 0.5), 50);  /* rank 5 */
	assert_int_equal(samples__quantile(&s, 0.9), 90);  /* rank 9 */
	assert_int_equal(samples__quantile(&s, 0.91), 100); /* rank 10 */
	assert_int_equal(samples__quantile(&s, 0.99), 100);
	assert_int_equal(samples__quantile(&s, 0.1), 10);
	assert_int_equal(samples__quantile(&s, 0.11), 20);
	/* adding after a quantile (which sorted in place) still works */
	assert_int_equal(samples__add(&s, 5), 0);
	assert_int_equal(samples__add(&s, 1000), 0);
	assert_int_equal(s.count, 12);
	assert_int_equal(s.min, 5);
	assert_int_equal(s.max, 1000);
	assert_int_equal(s.sum, 550 + 5 + 1000);
	assert_int_equal(samples__quantile(&s, 0.5), 50); /* rank 6 of 5,10..100,1000 */
	assert_int_equal(samples__quantile(&s, 0.99), 1000);
	samples__release(&s);
}

static void test_samples_duplicates_and_zero(void **state)
{
	static const __u64 v[] = {0, 7, 7, 7, 0, 3};
	struct samples s = {0};

	add_all(&s, v, 6);
	assert_int_equal(s.min, 0);
	assert_int_equal(s.max, 7);
	assert_int_equal(s.sum, 24);
	assert_int_equal(samples__quantile(&s, 0.5), 3);  /* 0 0 3 | 7 7 7 */
	assert_int_equal(samples__quantile(&s, 0.34), 3); /* rank 3 */
	assert_int_equal(samples__quantile(&s, 0.33), 0); /* rank 2 */
	assert_int_equal(samples__quantile(&s, 0.99), 7);
	samples__release(&s);
}

static void test_samples_exact_up_to_cap(void **state)
{
	struct samples s = {0};

	/* exactly SAMPLES_EXACT_MAX values: still exact */
	for (__u64 i = SAMPLES_EXACT_MAX; i >= 1; i--)
		assert_int_equal(samples__add(&s, i), 0);
	assert_true(samples__exact(&s));
	assert_int_equal(s.n, SAMPLES_EXACT_MAX);
	assert_int_equal(samples__quantile(&s, 0.5), SAMPLES_EXACT_MAX / 2);
	assert_int_equal(samples__quantile(&s, 0.99), 1014); /* ceil(0.99 * 1024) */
	/* one more: the reservoir takes over */
	assert_int_equal(samples__add(&s, 5000), 0);
	assert_false(samples__exact(&s));
	assert_int_equal(s.n, SAMPLES_EXACT_MAX);
	assert_int_equal(s.count, SAMPLES_EXACT_MAX + 1);
	assert_int_equal(s.max, 5000);
	samples__release(&s);
}

static void test_samples_reservoir(void **state)
{
	enum { N = 200000 };
	struct samples s = {0};
	__u64 p50, p99, p10;

	/* an ascending uniform sequence: a reservoir stuck on the first values
	 * (or the last) would put the median far off */
	for (__u64 i = 1; i <= N; i++)
		assert_int_equal(samples__add(&s, i), 0);
	assert_int_equal(s.count, N);
	assert_int_equal(s.n, SAMPLES_EXACT_MAX);
	assert_true(s.cap <= SAMPLES_EXACT_MAX); /* memory stays bounded */
	assert_false(samples__exact(&s));
	assert_int_equal(s.min, 1);
	assert_int_equal(s.max, N);
	assert_int_equal(s.sum, (__u64)N * (N + 1) / 2);
	assert_int_equal(samples__quantile(&s, 0.0), 1);
	assert_int_equal(samples__quantile(&s, 1.0), N);

	p50 = samples__quantile(&s, 0.5);
	p10 = samples__quantile(&s, 0.1);
	p99 = samples__quantile(&s, 0.99);
	assert_in_range(p50, N / 2 - N / 20, N / 2 + N / 20);	    /* within 5% */
	assert_in_range(p10, N / 10 - N / 20, N / 10 + N / 20);    /* 5% of the range */
	assert_in_range(p99, N * 99 / 100 - N / 20, N);
	/* held values are values that were added */
	for (__u32 i = 0; i < s.n; i++)
		assert_in_range(s.v[i], 1, N);
	samples__release(&s);

	/* deterministic: the same sequence gives the same quantiles (replays
	 * must give equal reports) */
	for (__u64 i = 1; i <= N; i++)
		samples__add(&s, i);
	assert_int_equal(samples__quantile(&s, 0.5), p50);
	assert_int_equal(samples__quantile(&s, 0.99), p99);
	samples__release(&s);
}

/* A reservoir must keep sampling late values: a shift after the cap is
 * reflected in the quantiles. */
static void test_samples_reservoir_tracks_late_values(void **state)
{
	enum { N = 100000 };
	struct samples s = {0};

	for (__u64 i = 0; i < N; i++)
		samples__add(&s, i < N / 2 ? 100 : 900);
	/* half the values are 100, half 900: p25 is 100, p75 is 900 */
	assert_int_equal(samples__quantile(&s, 0.25), 100);
	assert_int_equal(samples__quantile(&s, 0.75), 900);
	assert_int_equal(s.sum, (__u64)(N / 2) * 1000);
	samples__release(&s);
}

/* id_table: records found by key, appended zeroed in the order first asked
 * for, surviving growth (by index: pointers may move). */
static void test_id_table(void **state)
{
	struct id_table t;
	bool added;

	assert_int_equal(id_table__init(&t, sizeof(__u64[3])), 0);
	assert_null(id_table__find(&t, 42));
	for (__u64 k = 0; k < 5000; k++) {
		__u64 *rec = id_table__get(&t, k * 7919, &added);

		assert_non_null(rec);
		assert_true(added);
		assert_int_equal(rec[0] | rec[1] | rec[2], 0);
		rec[0] = k;
	}
	assert_int_equal(t.n, 5000);
	for (__u64 k = 0; k < 5000; k++) {
		__u64 *rec = id_table__get(&t, k * 7919, &added);

		assert_false(added);
		assert_int_equal(rec[0], k);
		assert_ptr_equal(rec, id_table__at(&t, k));
		assert_ptr_equal(id_table__find(&t, k * 7919), rec);
	}
	assert_null(id_table__find(&t, 1));
	id_table__release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_empty),
		cmocka_unit_test(test_map_set_get_overwrite_delete),
		cmocka_unit_test(test_map_many_with_deletes),
		cmocka_unit_test(test_map_colliding_chains),
		cmocka_unit_test(test_map_never_full),
		cmocka_unit_test(test_map_for_each),
		cmocka_unit_test(test_samples_empty),
		cmocka_unit_test(test_samples_single),
		cmocka_unit_test(test_samples_exact_nearest_rank),
		cmocka_unit_test(test_samples_duplicates_and_zero),
		cmocka_unit_test(test_samples_exact_up_to_cap),
		cmocka_unit_test(test_samples_reservoir),
		cmocka_unit_test(test_samples_reservoir_tracks_late_values),
		cmocka_unit_test(test_id_table),
	};

	return cmocka_run_group_tests_name("containers", tests, NULL, NULL);
}
