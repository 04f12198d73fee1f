// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include "lib/outbuf.h"

void outbuf__init(struct outbuf *o, FILE *f)
{
	o->f = f;
	o->len = 0;
	o->err = 0;
}

FILE *outbuf__unbuffered(FILE *f)
{
	if (f)
		setvbuf(f, NULL, _IONBF, 0);
	return f;
}

static void write_out(struct outbuf *o, const void *p, size_t n)
{
	errno = 0;
	if (n && fwrite(p, 1, n, o->f) != n && !o->err)
		o->err = errno ? -errno : -EIO;
}

void outbuf__drain(struct outbuf *o)
{
	write_out(o, o->buf, o->len);
	o->len = 0;
}

void outbuf__put_long(struct outbuf *o, const void *p, size_t n)
{
	outbuf__drain(o);
	write_out(o, p, n);
}

int outbuf__flush(struct outbuf *o)
{
	outbuf__drain(o);
	errno = 0;
	if ((fflush(o->f) || ferror(o->f)) && !o->err)
		o->err = errno ? -errno : -EIO;
	return o->err;
}

static const char digits2[200] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* v's decimal digits, exactly 8 of them (leading zeros), at p. */
static void put8(char *p, __u32 v)
{
	__u32 hi = v / 10000, lo = v % 10000;

	memcpy(p, digits2 + 2 * (hi / 100), 2);
	memcpy(p + 2, digits2 + 2 * (hi % 100), 2);
	memcpy(p + 4, digits2 + 2 * (lo / 100), 2);
	memcpy(p + 6, digits2 + 2 * (lo % 100), 2);
}

/* v's decimal digits, ending at end: exactly ndigits(v) of them. */
static void digits_back(char *end, __u64 v)
{
	char *p = end;
	__u32 w;

	while (v >= 100000000) { /* eight at a time: shorter chains of dependent divisions */
		__u64 q = v / 100000000;

		p -= 8;
		put8(p, (__u32)(v - q * 100000000));
		v = q;
	}
	for (w = (__u32)v; w >= 100; w /= 100) {
		p -= 2;
		memcpy(p, digits2 + 2 * (w % 100), 2);
	}
	if (w >= 10)
		memcpy(p - 2, digits2 + 2 * w, 2);
	else
		p[-1] = (char)('0' + w);
}

static const __u64 pow10[20] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};

static int ndigits(__u64 v)
{
	int t = (64 - __builtin_clzll(v | 1)) * 1233 >> 12; /* bits * log10(2): the digits or one less */

	return t + (v >= pow10[t] || !v);
}

size_t fmt__u64(char *dst, __u64 v)
{
	int n = ndigits(v);

	digits_back(dst + n, v);
	return n;
}

void outbuf__u64(struct outbuf *o, __u64 v)
{
	outbuf__commit(o, fmt__u64(outbuf__room(o, OUTBUF_U64_MAX), v));
}

/*
 * v * 10^decimals rounded to an integer the way glibc's printf rounds: the
 * exact binary value, ties to even. False when out of this range (then
 * printf itself is asked).
 */
static bool scaled(double v, int decimals, __u64 *out)
{
	__u64 bits, mant;
	unsigned __int128 x, rem, half;
	int e, shift;

	memcpy(&bits, &v, sizeof(bits));
	e = (int)(bits >> 52 & 0x7ff);
	mant = bits & ((1ULL << 52) - 1);
	if (e == 0x7ff)
		return false;
	if (e)
		mant |= 1ULL << 52;
	else
		e = 1;
	/* v = mant * 2^(e - 1075) */
	x = (unsigned __int128)mant * pow10[decimals]; /* < 2^83 */
	shift = 1075 - e;
	if (shift <= 0) {
		if (shift < -10 || x << -shift >> 64)
			return false;
		*out = (__u64)(x << -shift);
		return true;
	}
	if (shift >= 100) { /* below 2^-17 of a unit: rounds to 0 */
		*out = 0;
		return true;
	}
	rem = x & (((unsigned __int128)1 << shift) - 1);
	half = (unsigned __int128)1 << (shift - 1);
	x >>= shift;
	if (x >> 64)
		return false;
	if (rem > half || (rem == half && (x & 1)))
		x++;
	*out = (__u64)x;
	return !(x >> 64);
}

void outbuf__frac(struct outbuf *o, __u64 v, int decimals)
{
	char *p = outbuf__room(o, OUTBUF_U64_MAX + 2);
	int n = ndigits(v), len = n > decimals ? n : decimals + 1;

	if (len > n) /* "0.00..." */
		memset(p, '0', len - n);
	digits_back(p + len, v);
	if (decimals > 0) { /* the point goes in, before the last `decimals` digits */
		for (int i = 0; i < decimals; i++)
			p[len - i] = p[len - i - 1];
		p[len - decimals] = '.';
		len++;
	}
	outbuf__commit(o, len);
}

void outbuf__fixed(struct outbuf *o, double v, int decimals)
{
	__u64 q;

	if (signbit(v)) {
		outbuf__putc(o, '-');
		v = -v;
	}
	if (decimals >= 0 && decimals <= 9 && scaled(v, decimals, &q)) {
		outbuf__frac(o, q, decimals);
	} else {
		char tmp[400];
		int len = snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);

		if (len > 0)
			outbuf__put(o, tmp, (size_t)len < sizeof(tmp) ? (size_t)len : sizeof(tmp) - 1);
	}
}
