/* SPDX-License-Identifier: MIT */
/* A streaming JSON writer: commas, nesting and string escaping handled, so
 * exporters only say what to write. Errors are sticky (checked at the end). */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "lib/outbuf.h"

#define JSON_MAX_DEPTH 32

struct json_writer {
	struct outbuf out; /* reaches the FILE at json__finish() (or when full) */
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
	bool pretty;
	int err;
};

void json__init(struct json_writer *w, FILE *f, bool pretty);
void json__object_begin(struct json_writer *w);
void json__object_end(struct json_writer *w);
void json__array_begin(struct json_writer *w);
void json__array_end(struct json_writer *w);
void json__key(struct json_writer *w, const char *key);
void json__string(struct json_writer *w, const char *s); /* NULL writes null */
void json__u64(struct json_writer *w, __u64 v);
void json__double(struct json_writer *w, double v, int decimals);
void json__bool(struct json_writer *w, bool v);
void json__null(struct json_writer *w);
/* For a hot loop that formats a whole value itself: writes what goes
 * before a value, and returns where the value's text goes. */
struct outbuf *json__raw_value(struct json_writer *w);
/* s as a JSON string (quoted, escaped) into o. */
void json__put_string(struct outbuf *o, const char *s);
/* The n bytes at s escaped for inside a JSON string, without quotes. */
void json__escape(struct outbuf *o, const char *s, size_t n);
/* A line break outside the writer's own layout (one value per line). */
void json__newline(struct json_writer *w);
/* 0, or -EIO / -EINVAL (unbalanced) */
int json__finish(struct json_writer *w);

#endif
