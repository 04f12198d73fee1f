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

/* ASCII bytes that stand for themselves in a JSON string; the others
 * above 0x7f are checked as UTF-8 (utf8_len). */
static const bool plain[256] = {
	[' '] = 1, ['!'] = 1, ['#' ... '['] = 1, [']' ... 0x7f] = 1,
};

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if it is not
 * one. Text from the target is not always UTF-8: the kernel cuts a thread
 * name at 15 bytes, inside a character as often as not. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */

	if (*p < 0xc2 || *p > 0xf4 || (size_t)(end - p) < n)
		return 0;
	if (*p == 0xe0)
		lo = 0xa0;
	else if (*p == 0xed)
		hi = 0x9f;
	else if (*p == 0xf0)
		lo = 0x90;
	else if (*p == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

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
		default:
			if (*p >= 0x80) {
				size_t len = utf8_len(p, end);

				if (len) {
					outbuf__put(o, p, len);
					p += len;
				} else { /* a byte of no character: U+FFFD, valid JSON */
					outbuf__put(o, "\\ufffd", 6);
					p++;
				}
				continue;
			}
			outbuf__put(o, "\\u00", 4); /* below 0x20 */
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
	int out_err = outbuf__flush(&w->out); /* the write's own errno: ENOSPC, not EIO */

	return w->err ? w->err : out_err;
}
