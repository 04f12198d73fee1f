/* SPDX-License-Identifier: MIT */
/* A streaming JSON writer: commas, nesting and string escaping handled, so
 * exporters only say what to write. Errors are sticky (checked at the end). */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *f;
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
/* 0, or -EIO / -EINVAL (unbalanced) */
int json__finish(struct json_writer *w);

#endif
