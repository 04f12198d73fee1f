// SPDX-License-Identifier: MIT
/* The streaming JSON writer: exact bytes for nesting, separators, escaping,
 * numbers, and the sticky errors json__finish reports. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json_writer.h"

struct mem {
	char *buf;
	size_t len;
	FILE *f;
	struct json_writer w;
};

static void mem_open(struct mem *m, bool pretty)
{
	memset(m, 0, sizeof(*m));
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	json__init(&m->w, m->f, pretty);
}

/* Finishes the writer, checks its verdict and the exact bytes written. */
static void mem_check(struct mem *m, int want_err, const char *want)
{
	assert_int_equal(json__finish(&m->w), want_err);
	assert_int_equal(fclose(m->f), 0);
	assert_non_null(m->buf);
	assert_string_equal(m->buf, want);
	assert_int_equal(m->len, strlen(want));
	free(m->buf);
}

static void test_compact_nested(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__object_begin(&m.w);
	json__key(&m.w, "a");
	json__u64(&m.w, 1);
	json__key(&m.w, "b");
	json__array_begin(&m.w);
	json__u64(&m.w, 1);
	json__string(&m.w, "x");
	json__null(&m.w);
	json__bool(&m.w, true);
	json__bool(&m.w, false);
	json__array_begin(&m.w);
	json__array_end(&m.w);
	json__object_begin(&m.w);
	json__key(&m.w, "k");
	json__u64(&m.w, 18446744073709551615ULL);
	json__object_end(&m.w);
	json__array_end(&m.w);
	json__key(&m.w, "c");
	json__object_begin(&m.w);
	json__object_end(&m.w);
	json__key(&m.w, "d");
	json__array_begin(&m.w);
	json__array_end(&m.w);
	json__key(&m.w, "e");
	json__object_begin(&m.w);
	json__key(&m.w, "f");
	json__double(&m.w, 1.5, 2);
	json__key(&m.w, "g");
	json__array_begin(&m.w);
	json__object_begin(&m.w);
	json__object_end(&m.w);
	json__object_begin(&m.w);
	json__key(&m.w, "h");
	json__u64(&m.w, 0);
	json__object_end(&m.w);
	json__array_end(&m.w);
	json__object_end(&m.w);
	json__object_end(&m.w);
	mem_check(&m, 0,
		  "{\"a\":1,\"b\":[1,\"x\",null,true,false,[],{\"k\":18446744073709551615}],"
		  "\"c\":{},\"d\":[],\"e\":{\"f\":1.50,\"g\":[{},{\"h\":0}]}}");
}

static void test_top_level_array(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__array_begin(&m.w);
	json__string(&m.w, "");
	json__u64(&m.w, 42);
	json__array_end(&m.w);
	mem_check(&m, 0, "[\"\",42]");
}

static void test_pretty(void **state)
{
	struct mem m;

	mem_open(&m, true);
	json__object_begin(&m.w);
	json__key(&m.w, "a");
	json__u64(&m.w, 1);
	json__key(&m.w, "b");
	json__array_begin(&m.w);
	json__u64(&m.w, 1);
	json__u64(&m.w, 2);
	json__array_end(&m.w);
	json__key(&m.w, "c");
	json__object_begin(&m.w);
	json__object_end(&m.w);
	json__key(&m.w, "d");
	json__object_begin(&m.w);
	json__key(&m.w, "e");
	json__null(&m.w);
	json__object_end(&m.w);
	json__object_end(&m.w);
	mem_check(&m, 0,
		  "{\n"
		  "  \"a\": 1,\n"
		  "  \"b\": [\n"
		  "    1,\n"
		  "    2\n"
		  "  ],\n"
		  "  \"c\": {},\n"
		  "  \"d\": {\n"
		  "    \"e\": null\n"
		  "  }\n"
		  "}\n");
}

static void test_string_escaping(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__array_begin(&m.w);
	json__string(&m.w, "say \"hi\"");
	json__string(&m.w, "C:\\dir\\");
	json__string(&m.w, "a\nb\r\tc");
	json__string(&m.w, "\x01\x08\x0c\x1f|\x20");
	json__string(&m.w, "\x7f");
	json__string(&m.w, "caf\xc3\xa9 \xe2\x9c\x93"); /* UTF-8 passes through */
	json__string(&m.w, "/");
	json__array_end(&m.w);
	mem_check(&m, 0,
		  "[\"say \\\"hi\\\"\","
		  "\"C:\\\\dir\\\\\","
		  "\"a\\nb\\r\\tc\","
		  "\"\\u0001\\u0008\\u000c\\u001f| \","
		  "\"\x7f\","
		  "\"caf\xc3\xa9 \xe2\x9c\x93\","
		  "\"/\"]");
}

/* Only well-formed UTF-8 passes through; every other byte above 0x7f is
 * U+FFFD, so the file stays JSON (a thread name the kernel cut at 15 bytes
 * inside a character was written raw). */
static void test_invalid_utf8(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__array_begin(&m.w);
	json__string(&m.w, "\xf0\x9d\x84\x9e \xef\xbf\xbf \xf4\x8f\xbf\xbf"); /* 4- and 3-byte, the last one */
	json__string(&m.w, "tokio-worker-\xc3");	  /* cut after a lead byte */
	json__string(&m.w, "ab\xe2\x9c");		  /* cut inside a 3-byte one */
	json__string(&m.w, "\x80x\xbf");		  /* continuation bytes alone */
	json__string(&m.w, "\xc0\xaf \xe0\x80\xaf");	  /* overlong forms of '/' */
	json__string(&m.w, "\xed\xa0\x80");		  /* a surrogate */
	json__string(&m.w, "\xf4\x90\x80\x80 \xff\xfe"); /* above U+10FFFF; never UTF-8 */
	json__array_end(&m.w);
	mem_check(&m, 0,
		  "[\"\xf0\x9d\x84\x9e \xef\xbf\xbf \xf4\x8f\xbf\xbf\","
		  "\"tokio-worker-\\ufffd\","
		  "\"ab\\ufffd\\ufffd\","
		  "\"\\ufffdx\\ufffd\","
		  "\"\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\","
		  "\"\\ufffd\\ufffd\\ufffd\","
		  "\"\\ufffd\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\"]");
}

static void test_keys_escaped(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__object_begin(&m.w);
	json__key(&m.w, "we\"ird\\\n\x02");
	json__u64(&m.w, 7);
	json__object_end(&m.w);
	mem_check(&m, 0, "{\"we\\\"ird\\\\\\n\\u0002\":7}");
}

static void test_null_string(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__object_begin(&m.w);
	json__key(&m.w, "s");
	json__string(&m.w, NULL);
	json__key(&m.w, "t");
	json__string(&m.w, "x");
	json__object_end(&m.w);
	mem_check(&m, 0, "{\"s\":null,\"t\":\"x\"}");
}

static void test_doubles(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__array_begin(&m.w);
	json__double(&m.w, 3.14159, 3);
	json__double(&m.w, 3.14159, 0);
	json__double(&m.w, -2.5, 1);
	json__double(&m.w, 0.0, 3);
	json__double(&m.w, 1234567.125, 3);
	json__double(&m.w, 0.0004, 3); /* rounds to zero */
	json__double(&m.w, NAN, 3);
	json__double(&m.w, INFINITY, 3);
	json__double(&m.w, -INFINITY, 1);
	json__double(&m.w, 12.0 / 1e3, 3);
	json__array_end(&m.w);
	mem_check(&m, 0, "[3.142,3,-2.5,0.000,1234567.125,0.000,null,null,null,0.012]");
}

static void test_unbalanced_open(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__object_begin(&m.w);
	json__key(&m.w, "a");
	json__array_begin(&m.w);
	json__array_end(&m.w);
	/* object left open */
	mem_check(&m, -EINVAL, "{\"a\":[]");
}

static void test_unbalanced_end(void **state)
{
	struct mem m;

	mem_open(&m, false);
	json__array_begin(&m.w);
	json__array_end(&m.w);
	json__array_end(&m.w); /* one too many */
	assert_int_equal(json__finish(&m.w), -EINVAL);
	fclose(m.f);
	assert_string_equal(m.buf, "[]"); /* the extra end writes nothing */
	free(m.buf);

	/* an end with nothing open at all */
	mem_open(&m, false);
	json__object_end(&m.w);
	mem_check(&m, -EINVAL, "");
}

static void test_error_is_sticky(void **state)
{
	struct mem m;

	/* a stray end early on is still reported after balanced output */
	mem_open(&m, false);
	json__object_end(&m.w);
	json__object_begin(&m.w);
	json__object_end(&m.w);
	mem_check(&m, -EINVAL, "{}");
}

static void test_max_depth(void **state)
{
	char want[2 * JSON_MAX_DEPTH + 1];
	int deepest = JSON_MAX_DEPTH - 1; /* the deepest nesting accepted */
	struct mem m;

	mem_open(&m, false);
	for (int i = 0; i < deepest; i++)
		json__array_begin(&m.w);
	for (int i = 0; i < deepest; i++)
		json__array_end(&m.w);
	memset(want, '[', deepest);
	memset(want + deepest, ']', deepest);
	want[2 * deepest] = 0;
	mem_check(&m, 0, want);

	/* one more level is refused (need_comma has JSON_MAX_DEPTH slots, the
	 * top level included) */
	mem_open(&m, false);
	for (int i = 0; i < deepest + 1; i++)
		json__array_begin(&m.w);
	for (int i = 0; i < deepest + 1; i++)
		json__array_end(&m.w);
	assert_int_equal(json__finish(&m.w), -EINVAL);
	fclose(m.f);
	free(m.buf);

	/* deeper than that: an error, and no crash or overflow however deep */
	mem_open(&m, false);
	for (int i = 0; i < 4 * JSON_MAX_DEPTH; i++)
		json__array_begin(&m.w);
	for (int i = 0; i < 4 * JSON_MAX_DEPTH; i++)
		json__array_end(&m.w);
	assert_int_equal(json__finish(&m.w), -EINVAL);
	fclose(m.f);
	free(m.buf);
}

/* A full disk is said as one (it was -EIO, "Input/output error"). */
static void test_write_error_keeps_errno(void **state)
{
	FILE *f = fopen("/dev/full", "w");
	struct json_writer w;

	if (!f) {
		skip();
		return;
	}
	json__init(&w, f, false);
	json__object_begin(&w);
	json__key(&w, "a");
	json__u64(&w, 1);
	json__object_end(&w);
	assert_int_equal(json__finish(&w), -ENOSPC);
	fclose(f);
}

static void test_fmemopen_exact(void **state)
{
	char buf[64] = {0};
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct json_writer w;

	assert_non_null(f);
	json__init(&w, f, false);
	json__object_begin(&w);
	json__key(&w, "n");
	json__double(&w, 0.5, 1);
	json__object_end(&w);
	assert_int_equal(json__finish(&w), 0);
	fclose(f);
	assert_string_equal(buf, "{\"n\":0.5}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_nested),
		cmocka_unit_test(test_top_level_array),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_string_escaping),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_keys_escaped),
		cmocka_unit_test(test_null_string),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_unbalanced_open),
		cmocka_unit_test(test_unbalanced_end),
		cmocka_unit_test(test_error_is_sticky),
		cmocka_unit_test(test_max_depth),
		cmocka_unit_test(test_write_error_keeps_errno),
		cmocka_unit_test(test_fmemopen_exact),
	};

	return cmocka_run_group_tests_name("json_writer", tests, NULL, NULL);
}
