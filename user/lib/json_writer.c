// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <string.h>
#include "lib/json_writer.h"

void json__init(struct json_writer *w, FILE *f, bool pretty)
{
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
	w->pretty = pretty;
	w->err = 0;
	outbuf__init(&w->out, f); /* not zeroed: 64 KiB */
}

static void indent(struct json_writer *w)
{
	static const char spaces[2 * JSON_MAX_DEPTH] = {[0 ... 2 * JSON_MAX_DEPTH - 1] = ' '};

	if (!w->pretty)
		return;
	outbuf__putc(&w->out, '\n');
	outbuf__put(&w->out, spaces, 2 * (size_t)w->depth);
}

/* Separator and indentation before any value or key. */
static void before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->need_comma[w->depth])
			outbuf__putc(&w->out, ',');
		w->need_comma[w->depth] = true;
		indent(w);
	}
}

static void open(struct json_writer *w, char c)
{
	before_value(w);
	outbuf__putc(&w->out, c);
	if (w->depth + 1 >= JSON_MAX_DEPTH) {
		w->err = -EINVAL;
		return;
	}
	w->need_comma[++w->depth] = false;
}

static void close_(struct json_writer *w, char c)
{
	if (w->depth <= 0) {
		w->err = -EINVAL;
		return;
	}
	bool had = w->need_comma[w->depth--];

	if (had)
		indent(w);
	outbuf__putc(&w->out, c);
}

void json__object_begin(struct json_writer *w)
{
	open(w, '{');
}

void json__object_end(struct json_writer *w)
{
	close_(w, '}');
}

void json__array_begin(struct json_writer *w)
{
	open(w, '[');
}

void json__array_end(struct json_writer *w)
{
	close_(w, ']');
}

/* Bytes that stand for themselves in a JSON string. */
static const bool plain[256] = {
	[' '] = 1, ['!'] = 1, ['#' ... '['] = 1, [']' ... 0xff] = 1,
};

void json__escape(struct outbuf *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;

	while (p < end) {
		for (run = p; p < end && plain[*p]; p++)
			;
		outbuf__put(o, run, p - run);
		if (p == end)
			return;
		switch (*p) {
		case '"':
			outbuf__put(o, "\\\"", 2);
			break;
		case '\\':
			outbuf__put(o, "\\\\", 2);
			break;
		case '\n':
			outbuf__put(o, "\\n", 2);
			break;
		case '\r':
			outbuf__put(o, "\\r", 2);
			break;
		case '\t':
			outbuf__put(o, "\\t", 2);
			break;
		default: /* below 0x20 */
			outbuf__put(o, "\\u00", 4);
			outbuf__putc(o, hex[*p >> 4]);
			outbuf__putc(o, hex[*p & 15]);
		}
		p++;
	}
}

void json__put_string(struct outbuf *o, const char *s)
{
	outbuf__putc(o, '"');
	json__escape(o, s, strlen(s));
	outbuf__putc(o, '"');
}

void json__key(struct json_writer *w, const char *key)
{
	before_value(w);
	json__put_string(&w->out, key);
	if (w->pretty)
		outbuf__put(&w->out, ": ", 2);
	else
		outbuf__putc(&w->out, ':');
	w->after_key = true;
}

void json__string(struct json_writer *w, const char *s)
{
	if (!s) {
		json__null(w);
		return;
	}
	before_value(w);
	json__put_string(&w->out, s);
}

void json__u64(struct json_writer *w, __u64 v)
{
	before_value(w);
	outbuf__u64(&w->out, v);
}

void json__double(struct json_writer *w, double v, int decimals)
{
	before_value(w);
	if (!isfinite(v))
		outbuf__put(&w->out, "null", 4); /* JSON has no NaN or infinity */
	else
		outbuf__fixed(&w->out, v, decimals);
}

void json__bool(struct json_writer *w, bool v)
{
	before_value(w);
	if (v)
		outbuf__put(&w->out, "true", 4);
	else
		outbuf__put(&w->out, "false", 5);
}

void json__null(struct json_writer *w)
{
	before_value(w);
	outbuf__put(&w->out, "null", 4);
}

struct outbuf *json__raw_value(struct json_writer *w)
{
	before_value(w);
	return &w->out;
}

void json__newline(struct json_writer *w)
{
	outbuf__putc(&w->out, '\n');
}

int json__finish(struct json_writer *w)
{
	if (!w->err && w->depth != 0)
		w->err = -EINVAL;
	if (w->pretty)
		outbuf__putc(&w->out, '\n');
	if (outbuf__flush(&w->out))
		return w->err ? w->err : -EIO;
	return w->err;
}
