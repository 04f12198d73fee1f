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

#include <stddef.h>
#include <linux/types.h>

#define PB_MAX_NESTING 16

struct pb;

struct pb *pb__new(void); /* NULL + errno */
void pb__free(struct pb *p);
/* Empty the buffer (keeps its memory) and clear the error. */
void pb__reset(struct pb *p);

void pb__varint(struct pb *p, __u32 field, __u64 v); /* uint32/64, int32/64 (negative: 10 bytes), bool, enum */
void pb__fixed64(struct pb *p, __u32 field, __u64 v);
void pb__bytes(struct pb *p, __u32 field, const void *data, size_t len);
void pb__string(struct pb *p, __u32 field, const char *s);
/* A nested message: fields written until the matching pb__end() go inside it. */
void pb__begin(struct pb *p, __u32 field);
void pb__end(struct pb *p);

/* 0, -ENOMEM, or -EINVAL (nesting unbalanced or too deep, field number 0). */
int pb__error(const struct pb *p);
/* The bytes so far; only meaningful once every message is closed. */
const __u8 *pb__data(const struct pb *p, size_t *len);

/* Bytes a varint of v takes (1 to 10). */
size_t pb__varint_size(__u64 v);

#endif
