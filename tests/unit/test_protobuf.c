/* The protobuf encoder against byte sequences worked out by hand from the
 * wire format: tag = field << 3 | wire type, varints 7 bits at a time, low
 * group first, high bit set on all but the last byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/protobuf.h"

static struct pb *p;

static int setup(void **state)
{
	p = pb__new();
	return p ? 0 : -1;
}

static int teardown(void **state)
{
	pb__free(p);
	return 0;
}

#define EXPECT(...)                                                                \
	do {                                                                       \
		static const __u8 want[] = {__VA_ARGS__};                          \
		size_t len;                                                        \
		const __u8 *got = pb__data(p, &len);                               \
		assert_int_equal(pb__error(p), 0);                                 \
		assert_int_equal(len, sizeof(want));                               \
		assert_memory_equal(got, want, sizeof(want));                      \
		pb__reset(p);                                                      \
	} while (0)

static void test_varints(void **state)
{
	pb__varint(p, 1, 0);
	EXPECT(0x08, 0x00);
	pb__varint(p, 1, 1);
	EXPECT(0x08, 0x01);
	pb__varint(p, 1, 127);
	EXPECT(0x08, 0x7f);
	pb__varint(p, 1, 128); /* 1 0000000: 0x80 0x01 */
	EXPECT(0x08, 0x80, 0x01);
	pb__varint(p, 1, 150); /* 1 0010110: 0x96 0x01, the protobuf docs' example */
	EXPECT(0x08, 0x96, 0x01);
	pb__varint(p, 2, 300); /* tag 2<<3|0 = 0x10; 10 0101100: 0xac 0x02 */
	EXPECT(0x10, 0xac, 0x02);
	pb__varint(p, 1, UINT64_MAX); /* 64 bits: nine 0xff, then 0x01 */
	EXPECT(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	pb__varint(p, 4, (__u64)(int64_t)-1); /* an int64 of -1 is ten bytes too */
	EXPECT(0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
}

static void test_large_field_numbers(void **state)
{
	pb__varint(p, 15, 1); /* 15<<3 = 120: still one byte */
	EXPECT(0x78, 0x01);
	pb__varint(p, 16, 1); /* 128: two bytes */
	EXPECT(0x80, 0x01, 0x01);
	pb__varint(p, 58, 3); /* TracePacket.timestamp_clock_id = 3: 464 = 0xd0 0x03 */
	EXPECT(0xd0, 0x03, 0x03);
	pb__varint(p, 60, 1); /* 480 = 0xe0 0x03 */
	EXPECT(0xe0, 0x03, 0x01);
}

static void test_fixed64(void **state)
{
	/* TrackEvent.flow_ids (47): tag 47<<3|1 = 377 = 0xf9 0x02, then 8 bytes little-endian */
	pb__fixed64(p, 47, 0x0102030405060708ULL);
	EXPECT(0xf9, 0x02, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01);
	pb__fixed64(p, 1, 1);
	EXPECT(0x09, 0x01, 0, 0, 0, 0, 0, 0, 0);
}

static void test_strings_and_bytes(void **state)
{
	pb__string(p, 2, "testing"); /* the docs' example: 0x12 0x07 then the bytes */
	EXPECT(0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g');
	pb__string(p, 2, "");
	EXPECT(0x12, 0x00);
	pb__bytes(p, 3, "\0\1", 2);
	EXPECT(0x1a, 0x02, 0x00, 0x01);
}

static void test_nested(void **state)
{
	/* the docs' example: field 3 holding { field 1: 150 } */
	pb__begin(p, 3);
	pb__varint(p, 1, 150);
	pb__end(p);
	EXPECT(0x1a, 0x03, 0x08, 0x96, 0x01);

	pb__begin(p, 1); /* empty */
	pb__end(p);
	EXPECT(0x0a, 0x00);

	pb__begin(p, 1);
	pb__begin(p, 2);
	pb__varint(p, 3, 1);
	pb__end(p);
	pb__varint(p, 4, 2);
	pb__end(p);
	EXPECT(0x0a, 0x06, 0x12, 0x02, 0x18, 0x01, 0x20, 0x02);
}

/* A body of 128 bytes or more needs a two-byte length: the body moves. */
static void test_nested_long_body(void **state)
{
	char s[198];
	__u8 want[3 + 3 + sizeof(s)];
	const __u8 *got;
	size_t len;

	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	pb__begin(p, 1);
	pb__string(p, 2, s); /* 0x12, 197 = 0xc5 0x01, 197 bytes: a 200-byte body */
	pb__end(p);
	want[0] = 0x0a;
	want[1] = 0xc8; /* 200 = 1 1001000 */
	want[2] = 0x01;
	want[3] = 0x12;
	want[4] = 0xc5;
	want[5] = 0x01;
	memset(want + 6, 'x', 197);
	got = pb__data(p, &len);
	assert_int_equal(pb__error(p), 0);
	assert_int_equal(len, 3 + 200);
	assert_memory_equal(got, want, len);
	pb__reset(p);

	/* nested twice, both lengths growing */
	pb__begin(p, 1);
	pb__begin(p, 2);
	pb__bytes(p, 3, s, 150); /* 0x1a 0x96 0x01 + 150: a 153-byte body */
	pb__end(p);		 /* 0x12 0x99 0x01: 156 */
	pb__end(p);		 /* 0x0a 0x9c 0x01 */
	got = pb__data(p, &len);
	assert_int_equal(len, 3 + 3 + 3 + 150);
	assert_memory_equal(got, ((const __u8[]){0x0a, 0x9c, 0x01, 0x12, 0x99, 0x01, 0x1a, 0x96, 0x01}), 9);
	assert_int_equal(got[9], 'x');
	assert_int_equal(got[len - 1], 'x');
	pb__reset(p);
}

/* A trace packet as the Perfetto exporter writes one: Trace.packet (1) {
 * trusted_packet_sequence_id (10): 1, timestamp (8): 1000 }. */
static void test_trace_packet(void **state)
{
	pb__begin(p, 1);
	pb__varint(p, 10, 1);	 /* 0x50 0x01 */
	pb__varint(p, 8, 1000);	 /* 0x40, 1000 = 111 1101000: 0xe8 0x07 */
	pb__end(p);
	EXPECT(0x0a, 0x05, 0x50, 0x01, 0x40, 0xe8, 0x07);
}

static void test_errors(void **state)
{
	pb__end(p); /* nothing open */
	assert_int_equal(pb__error(p), -EINVAL);
	pb__reset(p);
	assert_int_equal(pb__error(p), 0);

	pb__begin(p, 1); /* never closed */
	assert_int_equal(pb__error(p), -EINVAL);
	pb__reset(p);

	pb__varint(p, 0, 1); /* field 0 does not exist */
	assert_int_equal(pb__error(p), -EINVAL);
	pb__reset(p);

	for (int i = 0; i <= PB_MAX_NESTING; i++)
		pb__begin(p, 1);
	assert_int_equal(pb__error(p), -EINVAL);
	pb__reset(p);
}

static void test_varint_size(void **state)
{
	assert_int_equal(pb__varint_size(0), 1);
	assert_int_equal(pb__varint_size(127), 1);
	assert_int_equal(pb__varint_size(128), 2);
	assert_int_equal(pb__varint_size(16383), 2);
	assert_int_equal(pb__varint_size(16384), 3);
	assert_int_equal(pb__varint_size(UINT64_MAX), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varints),	       cmocka_unit_test(test_large_field_numbers),
		cmocka_unit_test(test_fixed64),	       cmocka_unit_test(test_strings_and_bytes),
		cmocka_unit_test(test_nested),	       cmocka_unit_test(test_nested_long_body),
		cmocka_unit_test(test_trace_packet),   cmocka_unit_test(test_errors),
		cmocka_unit_test(test_varint_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
