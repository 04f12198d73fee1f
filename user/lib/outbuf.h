/* SPDX-License-Identifier: MIT */
/*
 * Buffered output for the exports, which write many small pieces per
 * event: stdio's locked calls and printf cost more than the pieces, so they
 * are gathered here and handed to the FILE 64 KiB at a time. Numbers are
 * formatted by hand, with exactly printf's text. Errors are sticky.
 */
#ifndef OUTBUF_H
#define OUTBUF_H

#include <stdio.h>
#include <string.h>
#include <linux/types.h>

#define OUTBUF_SIZE (64 * 1024)
#define OUTBUF_U64_MAX 20 /* digits of a __u64 */

struct outbuf {
	FILE *f;
	size_t len;
	int err; /* of the FILE: -errno, or -EIO */
	char buf[OUTBUF_SIZE];
};

void outbuf__init(struct outbuf *o, FILE *f);
/* f (may be NULL) made unbuffered: an outbuf gathers 64 KiB already, and a
 * second buffer would only copy it again. */
FILE *outbuf__unbuffered(FILE *f);
/* Hands what is buffered to the FILE (not fflush): the FILE may be used again. */
void outbuf__drain(struct outbuf *o);
/* Drains, then fflush(): 0 or the first error (-errno, or -EIO). */
int outbuf__flush(struct outbuf *o);

/* Room for n bytes (n <= OUTBUF_SIZE) at the end, to be claimed with outbuf__commit(). */
static inline char *outbuf__room(struct outbuf *o, size_t n)
{
	if (OUTBUF_SIZE - o->len < n)
		outbuf__drain(o);
	return o->buf + o->len;
}

static inline void outbuf__commit(struct outbuf *o, size_t n)
{
	o->len += n;
}

void outbuf__put_long(struct outbuf *o, const void *p, size_t n);

static inline void outbuf__put(struct outbuf *o, const void *p, size_t n)
{
	if (n > OUTBUF_SIZE - o->len) {
		outbuf__put_long(o, p, n);
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static inline void outbuf__puts(struct outbuf *o, const char *s)
{
	outbuf__put(o, s, strlen(s));
}

static inline void outbuf__putc(struct outbuf *o, char c)
{
	if (o->len == OUTBUF_SIZE)
		outbuf__drain(o);
	o->buf[o->len++] = c;
}

/* printf's "%llu" into dst (OUTBUF_U64_MAX bytes, not terminated): its length. */
size_t fmt__u64(char *dst, __u64 v);
void outbuf__u64(struct outbuf *o, __u64 v);
/* v / 10^decimals with its fraction: printf's "%llu.%0*llu" of quotient and
 * remainder (no point when decimals is 0), decimals 0 to 18. */
void outbuf__frac(struct outbuf *o, __u64 v, int decimals);
/* printf's "%.*f" of a finite v, decimals 0 to 9. */
void outbuf__fixed(struct outbuf *o, double v, int decimals);

#endif
