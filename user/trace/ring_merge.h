/* SPDX-License-Identifier: MIT */
/*
 * Records of the per-CPU ring buffers, back in time order. The probes write
 * each record to their CPU's ring (one shared ring's lock cost every record
 * more than the rest of its program), and the reader takes the rings in
 * turn, so records arrive grouped by CPU; the model wants them as they
 * happened (a wake before the poll it causes). They are held per ring and
 * released oldest first up to a watermark the reader gives: a record not
 * read yet was written after its read began. A record older than what
 * already went (its program was preempted between its timestamp and its
 * commit for longer than the reader's slack) goes with the next release,
 * out of order.
 */
#ifndef RING_MERGE_H
#define RING_MERGE_H

#include <stddef.h>
#include <linux/types.h>

struct ring_merge;

/* Gets each record; a non-zero return stops the release (and is returned):
 * that record counts as delivered, as with libbpf's ring reader. */
typedef int (*ring_merge_fn)(const void *data, size_t size, void *ctx);

/* Held records are released early, oldest first, past this many bytes. */
#define RING_MERGE_MAX_HELD (64u << 20)

/* NULL + errno. */
struct ring_merge *ring_merge__new(size_t nrings, ring_merge_fn deliver, void *ctx);
void ring_merge__free(struct ring_merge *m);
/* Hold a copy of a record (it starts with struct aib_hdr) read from `ring`.
 * 0, -EINVAL (no header, a ring out of range), -ENOMEM, or what a
 * release forced by RING_MERGE_MAX_HELD returned. */
int ring_merge__push(struct ring_merge *m, size_t ring, const void *data, size_t size);
/* Deliver, oldest first, every held record whose ts is below `upto`
 * (UINT64_MAX: all of them). 0, or the first non-zero return of deliver. */
int ring_merge__release(struct ring_merge *m, __u64 upto);
/* Records held now. */
size_t ring_merge__held(const struct ring_merge *m);

#endif
