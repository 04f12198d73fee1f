/* SPDX-License-Identifier: MIT */
/*
 * A tiny protobuf encoder: varints, fixed64 and length-delimited fields,
 * with nested messages, into one growing buffer (one trace packet at a
 * time). Output is canonical: a nested message's length is written in as
 * few bytes as it needs, by moving the body once the length is known.
 * Errors are sticky and checked once, with pb__error().
 */
#ifndef PROTOBUF_H
#define PROTOBUF_H

#include <errno.h>
#include <stddef.h>
#include <linux/types.h>

#include <stdbool.h>

#define PB_MAX_NESTING 16

/* In the header so that the common case of each call inlines: a trace
 * packet is a dozen fields, and there are several packets per event. */
struct pb {
	__u8 *buf;
	size_t len, cap;
	size_t open[PB_MAX_NESTING]; /* offset of each open message's length byte */
	int depth;
	int err;
};

struct pb *pb__new(void); /* NULL + errno */
void pb__free(struct pb *p);
/* Empty the buffer (keeps its memory) and clear the error. */
static inline void pb__reset(struct pb *p)
{
	p->len = 0;
	p->depth = 0;
	p->err = 0;
}

static inline void pb__varint(struct pb *p, __u32 field, __u64 v); /* uint32/64, int32/64 (negative: 10 bytes), bool, enum */
static inline void pb__fixed64(struct pb *p, __u32 field, __u64 v);
void pb__bytes(struct pb *p, __u32 field, const void *data, size_t len);
void pb__string(struct pb *p, __u32 field, const char *s);
/* A nested message: fields written until the matching pb__end() go inside it. */
static inline void pb__begin(struct pb *p, __u32 field);
static inline void pb__end(struct pb *p);

/* 0, -ENOMEM, or -EINVAL (nesting unbalanced or too deep, field number 0). */
static inline int pb__error(const struct pb *p)
{
	if (p->err)
		return p->err;
	return p->depth ? -EINVAL : 0;
}

/* The bytes so far; only meaningful once every message is closed. */
static inline const __u8 *pb__data(const struct pb *p, size_t *len)
{
	*len = p->len;
	return p->buf;
}

/* Bytes a varint of v takes (1 to 10). */
size_t pb__varint_size(__u64 v);

/*
 * A run of fields encoded by the caller, for the hottest messages: room for
 * n bytes (NULL on error), fields put with pb__put_*() (no checks: the
 * caller counted, and passes valid field numbers), then pb__commit().
 */
static inline __u8 *pb__room(struct pb *p, size_t n);
static inline void pb__commit(struct pb *p, const __u8 *end)
{
	p->len = end - p->buf;
}

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2 };

static inline __u8 *pb__put_varint(__u8 *b, __u64 v)
{
	while (v >= 0x80) {
		*b++ = (__u8)(v | 0x80);
		v >>= 7;
	}
	*b++ = (__u8)v;
	return b;
}

static inline __u8 *pb__put_tag(__u8 *b, __u32 field, unsigned wire)
{
	return pb__put_varint(b, (__u64)field << 3 | wire);
}

static inline __u8 *pb__put_uint(__u8 *b, __u32 field, __u64 v)
{
	return pb__put_varint(pb__put_tag(b, field, PB_VARINT), v);
}

static inline __u8 *pb__put_fixed64(__u8 *b, __u32 field, __u64 v)
{
	b = pb__put_tag(b, field, PB_FIXED64);
	for (int i = 0; i < 8; i++)
		b[i] = (__u8)(v >> (8 * i)); /* little-endian */
	return b + 8;
}

/* A nested message whose end pb__end() finds. */
static inline __u8 *pb__put_begin(struct pb *p, __u8 *b, __u32 field)
{
	b = pb__put_tag(b, field, PB_LEN);
	if (p->depth >= PB_MAX_NESTING)
		p->err = -EINVAL;
	else
		p->open[p->depth++] = b - p->buf;
	*b = 0; /* one byte of length, the common case; pb__end() makes room for more */
	return b + 1;
}

/* ---- the common cases, inline; the rest (growth, errors) in protobuf.c ---- */

void pb__varint_slow(struct pb *p, __u32 field, __u64 v);
void pb__fixed64_slow(struct pb *p, __u32 field, __u64 v);
void pb__begin_slow(struct pb *p, __u32 field);
void pb__end_slow(struct pb *p);
__u8 *pb__room_slow(struct pb *p, size_t n);

static inline __u8 *pb__room(struct pb *p, size_t n)
{
	if (p->cap - p->len >= n && !p->err)
		return p->buf + p->len;
	return pb__room_slow(p, n);
}

/* A valid field, no error, and room for the field's tag and `body` bytes. */
static inline bool pb__fast(const struct pb *p, __u32 field, size_t body)
{
	return field - 1 < 0x1fffffff && p->cap - p->len >= 5 + body && !p->err;
}

static inline void pb__varint(struct pb *p, __u32 field, __u64 v)
{
	__u8 *b;

	if (!pb__fast(p, field, 10)) {
		pb__varint_slow(p, field, v);
		return;
	}
	b = pb__put_varint(p->buf + p->len, (__u64)field << 3 | 0);
	p->len = pb__put_varint(b, v) - p->buf;
}

static inline void pb__fixed64(struct pb *p, __u32 field, __u64 v)
{
	__u8 *b;

	if (!pb__fast(p, field, 8)) {
		pb__fixed64_slow(p, field, v);
		return;
	}
	b = pb__put_varint(p->buf + p->len, (__u64)field << 3 | 1);
	for (int i = 0; i < 8; i++)
		b[i] = (__u8)(v >> (8 * i)); /* little-endian */
	p->len = b + 8 - p->buf;
}

static inline void pb__begin(struct pb *p, __u32 field)
{
	__u8 *b;

	if (p->depth >= PB_MAX_NESTING || !pb__fast(p, field, 1)) {
		pb__begin_slow(p, field);
		return;
	}
	b = pb__put_varint(p->buf + p->len, (__u64)field << 3 | 2);
	/* One byte for the length, the common case; pb__end() makes room for more. */
	p->open[p->depth++] = b - p->buf;
	*b = 0;
	p->len = b + 1 - p->buf;
}

static inline void pb__end(struct pb *p)
{
	size_t at;

	if (p->err || p->depth <= 0 || p->len - (at = p->open[p->depth - 1]) - 1 >= 0x80) {
		pb__end_slow(p);
		return;
	}
	p->depth--;
	p->buf[at] = (__u8)(p->len - at - 1);
}

#endif
