/* SPDX-License-Identifier: MIT */
/* Open-addressing hash map from u64 keys to u32 values (indices into the
 * caller's arrays). Linear probing with backward-shift deletion, so lookups
 * stay short after many deletes: task headers come and go all the time. */
#ifndef U64_MAP_H
#define U64_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct u64_map;

/* The hash of a key (splitmix64's finalizer: header addresses share their
 * low and high bits), for the other tables keyed by addresses. */
static inline size_t u64_hash(__u64 k)
{
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (size_t)k;
}

struct u64_map *u64_map__new(void);
void u64_map__free(struct u64_map *m);
/* A copy of every entry (same capacity, so the same visiting order); NULL
 * when out of memory. */
struct u64_map *u64_map__clone(const struct u64_map *m);
/* Bytes it owns, for memory budgets. */
size_t u64_map__bytes(const struct u64_map *m);
/* Insert or overwrite. 0 or -ENOMEM. */
int u64_map__set(struct u64_map *m, __u64 key, __u32 value);
bool u64_map__get(const struct u64_map *m, __u64 key, __u32 *value);
bool u64_map__del(struct u64_map *m, __u64 key);
size_t u64_map__count(const struct u64_map *m);
/* Visit every entry; stop early when cb returns non-zero. Do not modify the
 * map from cb. */
void u64_map__for_each(const struct u64_map *m, int (*cb)(__u64 key, __u32 value, void *ctx),
		       void *ctx);

#endif
