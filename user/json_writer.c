// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include "json_writer.h"

void json__init(struct json_writer *w, FILE *f, bool pretty)
{
	*w = (struct json_writer){.f = f, .pretty = pretty};
}

static void indent(struct json_writer *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
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
			fputc(',', w->f);
		w->need_comma[w->depth] = true;
		indent(w);
	}
}

static void open(struct json_writer *w, char c)
{
	before_value(w);
	fputc(c, w->f);
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
	fputc(c, w->f);
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

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json__key(struct json_writer *w, const char *key)
{
	before_value(w);
	put_string(w->f, key);
	fputs(w->pretty ? ": " : ":", w->f);
	w->after_key = true;
}

void json__string(struct json_writer *w, const char *s)
{
	if (!s) {
		json__null(w);
		return;
	}
	before_value(w);
	put_string(w->f, s);
}

void json__u64(struct json_writer *w, __u64 v)
{
	before_value(w);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void json__double(struct json_writer *w, double v, int decimals)
{
	before_value(w);
	if (!isfinite(v))
		fputs("null", w->f); /* JSON has no NaN or infinity */
	else
		fprintf(w->f, "%.*f", decimals, v);
}

void json__bool(struct json_writer *w, bool v)
{
	before_value(w);
	fputs(v ? "true" : "false", w->f);
}

void json__null(struct json_writer *w)
{
	before_value(w);
	fputs("null", w->f);
}

int json__finish(struct json_writer *w)
{
	if (!w->err && w->depth != 0)
		w->err = -EINVAL;
	if (w->pretty)
		fputc('\n', w->f);
	if (fflush(w->f) || ferror(w->f))
		return w->err ? w->err : -EIO;
	return w->err;
}
