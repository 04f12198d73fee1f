// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "aib_events.h"
#include "lib/array.h"
#include "trace/ring_merge.h"

/* One ring's records in arrival order: [u64 size][record, padded to 8]... */
struct fifo {
	unsigned char *buf;
	size_t head, tail, cap;
};

struct ring_merge {
	struct fifo *rings;
	size_t nrings;
	size_t held, held_bytes;
	ring_merge_fn deliver;
	void *ctx;
};

#define SLOT(size) (sizeof(__u64) + (((size) + 7) & ~(size_t)7))

struct ring_merge *ring_merge__new(size_t nrings, ring_merge_fn deliver, void *ctx)
{
	struct ring_merge *m = calloc(1, sizeof(*m));

	if (!m || !nrings)
		goto fail;
	m->rings = calloc(nrings, sizeof(*m->rings));
	if (!m->rings)
		goto fail;
	m->nrings = nrings;
	m->deliver = deliver;
	m->ctx = ctx;
	return m;
fail:
	free(m);
	errno = nrings ? ENOMEM : EINVAL;
	return NULL;
}

void ring_merge__free(struct ring_merge *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nrings; i++)
		free(m->rings[i].buf);
	free(m->rings);
	free(m);
}

static const struct aib_hdr *head_of(const struct fifo *f)
{
	return (const void *)(f->buf + f->head + sizeof(__u64));
}

/* The ring whose oldest record is the oldest of all, or NULL when none is held. */
static struct fifo *oldest(struct ring_merge *m)
{
	struct fifo *best = NULL;

	for (size_t i = 0; i < m->nrings; i++) {
		struct fifo *f = &m->rings[i];

		if (f->head != f->tail && (!best || head_of(f)->ts < head_of(best)->ts))
			best = f;
	}
	return best;
}

static int deliver_oldest(struct ring_merge *m, struct fifo *f)
{
	__u64 size;
	int ret;

	memcpy(&size, f->buf + f->head, sizeof(size));
	ret = m->deliver(head_of(f), (size_t)size, m->ctx);
	f->head += SLOT(size);
	if (f->head == f->tail)
		f->head = f->tail = 0;
	m->held--;
	m->held_bytes -= SLOT(size);
	return ret;
}

int ring_merge__push(struct ring_merge *m, size_t ring, const void *data, size_t size)
{
	struct fifo *f;
	__u64 size64 = size;
	int err;

	if (ring >= m->nrings || size < sizeof(struct aib_hdr))
		return -EINVAL;
	while (m->held_bytes + SLOT(size) > RING_MERGE_MAX_HELD && m->held) {
		err = deliver_oldest(m, oldest(m));
		if (err)
			return err;
	}
	f = &m->rings[ring];
	if (f->head && f->tail + SLOT(size) > f->cap) { /* reuse the room already delivered */
		memmove(f->buf, f->buf + f->head, f->tail - f->head);
		f->tail -= f->head;
		f->head = 0;
	}
	err = array__grow((void **)&f->buf, &f->cap, f->tail + SLOT(size), 1);
	if (err)
		return err;
	memcpy(f->buf + f->tail, &size64, sizeof(size64));
	memcpy(f->buf + f->tail + sizeof(size64), data, size);
	f->tail += SLOT(size);
	m->held++;
	m->held_bytes += SLOT(size);
	return 0;
}

int ring_merge__release(struct ring_merge *m, __u64 upto)
{
	for (;;) {
		struct fifo *f = oldest(m);
		int err;

		if (!f || (upto != UINT64_MAX && head_of(f)->ts >= upto))
			return 0;
		err = deliver_oldest(m, f);
		if (err)
			return err;
	}
}

size_t ring_merge__held(const struct ring_merge *m)
{
	return m->held;
}
