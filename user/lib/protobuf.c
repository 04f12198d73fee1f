// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "lib/protobuf.h"

struct pb *pb__new(void)
{
	struct pb *p = calloc(1, sizeof(*p));

	if (!p)
		errno = ENOMEM;
	return p;
}

void pb__free(struct pb *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p);
}

static bool reserve(struct pb *p, size_t more)
{
	size_t cap = p->cap ? p->cap : 256;
	__u8 *b;

	if (p->err)
		return false;
	if (p->len + more <= p->cap)
		return true;
	while (cap < p->len + more)
		cap *= 2;
	b = realloc(p->buf, cap);
	if (!b) {
		p->err = -ENOMEM;
		return false;
	}
	p->buf = b;
	p->cap = cap;
	return true;
}

size_t pb__varint_size(__u64 v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Room must have been reserved. */
static void put_varint(struct pb *p, __u64 v)
{
	while (v >= 0x80) {
		p->buf[p->len++] = (__u8)(v | 0x80);
		v >>= 7;
	}
	p->buf[p->len++] = (__u8)v;
}

static bool tag(struct pb *p, __u32 field, unsigned wire, size_t body)
{
	if (field == 0 || field > 0x1fffffff) {
		if (!p->err)
			p->err = -EINVAL;
		return false;
	}
	if (!reserve(p, 5 + body))
		return false;
	put_varint(p, (__u64)field << 3 | wire);
	return true;
}

void pb__varint_slow(struct pb *p, __u32 field, __u64 v)
{
	if (tag(p, field, PB_VARINT, 10))
		put_varint(p, v);
}

void pb__fixed64_slow(struct pb *p, __u32 field, __u64 v)
{
	if (!tag(p, field, PB_FIXED64, 8))
		return;
	for (int i = 0; i < 8; i++)
		p->buf[p->len++] = (__u8)(v >> (8 * i)); /* little-endian */
}

void pb__bytes(struct pb *p, __u32 field, const void *data, size_t len)
{
	if (!tag(p, field, PB_LEN, 10 + len))
		return;
	put_varint(p, len);
	if (len)
		memcpy(p->buf + p->len, data, len);
	p->len += len;
}

void pb__string(struct pb *p, __u32 field, const char *s)
{
	pb__bytes(p, field, s, strlen(s));
}

void pb__begin_slow(struct pb *p, __u32 field)
{
	if (p->depth >= PB_MAX_NESTING) {
		if (!p->err)
			p->err = -EINVAL;
		return;
	}
	if (!tag(p, field, PB_LEN, 1))
		return;
	/* One byte for the length, the common case; pb__end() makes room for more. */
	p->open[p->depth++] = p->len;
	p->buf[p->len++] = 0;
}

void pb__end_slow(struct pb *p)
{
	size_t at, body, n;

	if (p->err)
		return;
	if (p->depth <= 0) {
		p->err = -EINVAL;
		return;
	}
	at = p->open[--p->depth];
	body = p->len - at - 1;
	n = pb__varint_size(body);
	if (n > 1) {
		if (!reserve(p, n - 1))
			return;
		memmove(p->buf + at + n, p->buf + at + 1, body);
	}
	p->len = at;
	put_varint(p, body);
	p->len += body;
}

__u8 *pb__room_slow(struct pb *p, size_t n)
{
	return reserve(p, n) ? p->buf + p->len : NULL;
}
