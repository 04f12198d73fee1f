/* Record validation: accepted sizes, corrupt vs cut verdicts, names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "record/decoder.h"

static const unsigned known_kinds[] = {
	AIB_EV_SPAWN,	  AIB_EV_POLL_BEGIN, AIB_EV_POLL_END,  AIB_EV_WAKE,
	AIB_EV_SHUTDOWN,  AIB_EV_DEALLOC,    AIB_EV_WORKER_START, AIB_EV_SPAWN_ID,
	AIB_REC_PROCESS,  AIB_REC_LOCATION,  AIB_REC_THREAD,   AIB_REC_LOST,
	AIB_REC_END,	  AIB_EV_TASK_NAME,  AIB_EV_RET_SITE,  AIB_EV_JOIN,
	AIB_REC_TASK_FOUND, AIB_EV_EXEC,
};
#define NKINDS (sizeof(known_kinds) / sizeof(known_kinds[0]))

static const unsigned unknown_kinds[] = { 0, 16, 63, AIB_KIND_MAX, 100, 999, 0xffff };

/* Room for the biggest record, 8-byte aligned like a ring-buffer sample. */
union recbuf {
	__u64 align;
	struct aib_hdr hdr;
	struct aib_rec_location loc;
	unsigned char b[8192];
};

static void set_hdr(union recbuf *r, unsigned kind, unsigned size)
{
	memset(r, 0xa5, sizeof(*r)); /* garbage beyond the header must not matter */
	r->hdr.kind = kind;
	r->hdr.size = size;
	r->hdr.tid = 1234;
	r->hdr.ts = 5678;
}

static void set_location(union recbuf *r, unsigned size, __u32 len)
{
	set_hdr(r, AIB_REC_LOCATION, size);
	r->loc.file_addr = 0x401000;
	r->loc.len = len;
	r->loc.pad = 0;
}

static void test_kind_tables(void **state)
{
	assert_int_equal(aib_kind_size(AIB_EV_SPAWN), sizeof(struct aib_ev_spawn));
	assert_int_equal(aib_kind_size(AIB_EV_POLL_BEGIN), sizeof(struct aib_ev_poll));
	assert_int_equal(aib_kind_size(AIB_EV_POLL_END), sizeof(struct aib_ev_poll));
	assert_int_equal(aib_kind_size(AIB_EV_WAKE), sizeof(struct aib_ev_wake));
	assert_int_equal(aib_kind_size(AIB_EV_SHUTDOWN), sizeof(struct aib_ev_task));
	assert_int_equal(aib_kind_size(AIB_EV_DEALLOC), sizeof(struct aib_ev_task));
	assert_int_equal(aib_kind_size(AIB_EV_WORKER_START), sizeof(struct aib_ev_worker));
	assert_int_equal(aib_kind_size(AIB_REC_PROCESS), sizeof(struct aib_rec_process));
	assert_int_equal(aib_kind_size(AIB_REC_LOCATION), sizeof(struct aib_rec_location));
	assert_int_equal(aib_kind_size(AIB_REC_THREAD), sizeof(struct aib_rec_thread));
	assert_int_equal(aib_kind_size(AIB_REC_LOST), sizeof(struct aib_rec_lost));
	assert_int_equal(aib_kind_size(AIB_REC_END), sizeof(struct aib_rec_end));

	assert_string_equal(aib_kind_name(AIB_EV_SPAWN), "spawn");
	assert_string_equal(aib_kind_name(AIB_EV_POLL_BEGIN), "poll_begin");
	assert_string_equal(aib_kind_name(AIB_EV_POLL_END), "poll_end");
	assert_string_equal(aib_kind_name(AIB_EV_WAKE), "wake");
	assert_string_equal(aib_kind_name(AIB_EV_SHUTDOWN), "shutdown");
	assert_string_equal(aib_kind_name(AIB_EV_DEALLOC), "dealloc");
	assert_string_equal(aib_kind_name(AIB_EV_WORKER_START), "worker_start");
	assert_string_equal(aib_kind_name(AIB_REC_PROCESS), "process");
	assert_string_equal(aib_kind_name(AIB_REC_LOCATION), "location");
	assert_string_equal(aib_kind_name(AIB_REC_THREAD), "thread");
	assert_string_equal(aib_kind_name(AIB_REC_LOST), "lost");
	assert_string_equal(aib_kind_name(AIB_REC_END), "end");
	assert_string_equal(aib_kind_name(AIB_EV_JOIN), "join");
	assert_string_equal(aib_kind_name(AIB_EV_EXEC), "exec");
	assert_int_equal(aib_kind_size(AIB_EV_EXEC), sizeof(struct aib_ev_exec));
	assert_string_equal(aib_kind_name(AIB_REC_AWAIT), "await");
	assert_string_equal(aib_kind_name(AIB_REC_TASK_FOUND), "task_found");
	assert_int_equal(aib_kind_size(AIB_REC_AWAIT), sizeof(struct aib_rec_await));
	assert_string_equal(aib_kind_name(AIB_EV_LOCK), "lock");
	assert_int_equal(aib_kind_size(AIB_EV_LOCK), sizeof(struct aib_ev_lock));
	assert_string_equal(aib_kind_name(AIB_REC_BLOCKED), "blocked_call");
	assert_int_equal(aib_kind_size(AIB_REC_BLOCKED), sizeof(struct aib_rec_blocked));

	for (size_t i = 0; i < sizeof(unknown_kinds) / sizeof(unknown_kinds[0]); i++) {
		assert_int_equal(aib_kind_size(unknown_kinds[i]), 0);
		assert_string_equal(aib_kind_name(unknown_kinds[i]), "unknown");
	}
	assert_int_equal(aib_kind_size(~0u), 0);
	assert_string_equal(aib_kind_name(~0u), "unknown");
}

static void test_every_kind_exact_size(void **state)
{
	union recbuf r;
	const struct aib_hdr *rec;

	for (size_t i = 0; i < NKINDS; i++) {
		unsigned kind = known_kinds[i], size = aib_kind_size(kind);

		assert_true(size >= sizeof(struct aib_hdr));
		if (kind == AIB_REC_LOCATION)
			set_location(&r, size, 0);
		else
			set_hdr(&r, kind, size);
		/* exactly enough bytes, and a record followed by more data */
		rec = NULL;
		assert_int_equal(aib_decode(&r, size, &rec), 0);
		assert_ptr_equal(rec, &r);
		rec = NULL;
		assert_int_equal(aib_decode(&r, sizeof(r), &rec), 0);
		assert_ptr_equal(rec, &r);
	}
}

static void test_wrong_sizes_rejected(void **state)
{
	union recbuf r;
	const struct aib_hdr *rec = NULL;

	for (size_t i = 0; i < NKINDS; i++) {
		unsigned kind = known_kinds[i], size = aib_kind_size(kind);
		const unsigned bad[] = { size - 1, size + 1, size - 8, size + 8, size * 2, 0xffff };

		if (kind == AIB_REC_LOCATION)
			continue; /* variable: see the location tests */
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			set_hdr(&r, kind, bad[j]);
			assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
			/* corrupt, not "need more bytes", even when the buffer is short */
			assert_int_equal(aib_decode(&r, sizeof(struct aib_hdr), &rec), -EPROTO);
		}
	}
	assert_null(rec);
}

static void test_unknown_kind(void **state)
{
	union recbuf r;
	const struct aib_hdr *rec = NULL;
	char why[128];

	for (size_t i = 0; i < sizeof(unknown_kinds) / sizeof(unknown_kinds[0]); i++) {
		set_hdr(&r, unknown_kinds[i], 32);
		assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
		assert_int_equal(aib_decode(&r, sizeof(struct aib_hdr), &rec), -EPROTO);
	}
	assert_null(rec);

	set_hdr(&r, 999, 48);
	assert_int_equal(aib_decode_explain(&r, sizeof(r), why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "unknown kind 999");
}

static void test_size_below_header(void **state)
{
	union recbuf r;
	const struct aib_hdr *rec = NULL;

	for (unsigned size = 0; size < sizeof(struct aib_hdr); size++) {
		set_hdr(&r, AIB_EV_POLL_BEGIN, size);
		assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
		set_location(&r, size, 0);
		assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	}
	/* a location needs its fixed part too */
	for (unsigned size = sizeof(struct aib_hdr); size < sizeof(struct aib_rec_location); size++) {
		set_location(&r, size, 0);
		assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	}
	assert_null(rec);
}

static void test_short_avail_is_eagain(void **state)
{
	union recbuf r;
	const struct aib_hdr *rec = NULL;
	unsigned size = sizeof(struct aib_ev_poll);
	char why[128];

	/* fewer bytes than a header: nothing can be judged yet */
	set_hdr(&r, 999, 0);
	for (size_t avail = 0; avail < sizeof(struct aib_hdr); avail++)
		assert_int_equal(aib_decode(&r, avail, &rec), -EAGAIN);

	set_hdr(&r, AIB_EV_POLL_END, size);
	for (size_t avail = sizeof(struct aib_hdr); avail < size; avail++)
		assert_int_equal(aib_decode(&r, avail, &rec), -EAGAIN);
	assert_int_equal(aib_decode_explain(&r, size - 1, why, sizeof(why)), -EAGAIN);
	assert_non_null(strstr(why, "cut"));

	/* a location cut before its len field is visible */
	set_location(&r, sizeof(struct aib_rec_location) + 100, 100);
	for (size_t avail = sizeof(struct aib_hdr); avail < sizeof(struct aib_rec_location) + 100; avail++)
		assert_int_equal(aib_decode(&r, avail, &rec), -EAGAIN);
	assert_null(rec);
	assert_int_equal(aib_decode(&r, sizeof(struct aib_rec_location) + 100, &rec), 0);
}

static void test_location_sizes(void **state)
{
	const unsigned base = sizeof(struct aib_rec_location);
	const __u32 good[] = { 0, 1, 7, 8, 255, AIB_LOCATION_MAX - 1, AIB_LOCATION_MAX };
	union recbuf r;
	const struct aib_hdr *rec;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		set_location(&r, base + good[i], good[i]);
		rec = NULL;
		assert_int_equal(aib_decode(&r, base + good[i], &rec), 0);
		assert_ptr_equal(rec, &r);
		assert_int_equal(aib_as_location(rec)->len, good[i]);
	}
}

static void test_location_len_mismatch(void **state)
{
	const unsigned base = sizeof(struct aib_rec_location);
	union recbuf r;
	const struct aib_hdr *rec = NULL;
	char why[128];

	set_location(&r, base + 10, 11);
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	set_location(&r, base + 10, 9);
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	set_location(&r, base, 1);
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	set_location(&r, base + 10, 0xffffffffu);
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	assert_null(rec);

	set_location(&r, base + 10, 11);
	assert_int_equal(aib_decode_explain(&r, sizeof(r), why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "len 11"));
}

static void test_location_too_long(void **state)
{
	const unsigned base = sizeof(struct aib_rec_location);
	union recbuf r;
	const struct aib_hdr *rec = NULL;

	/* consistent len and size, but over the limit */
	set_location(&r, base + AIB_LOCATION_MAX + 1, AIB_LOCATION_MAX + 1);
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	/* oversize is corrupt even before all its bytes arrived */
	assert_int_equal(aib_decode(&r, base, &rec), -EPROTO);
	set_location(&r, base + 4097, 4096);
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	set_location(&r, 0xffff, 0xffff - base);
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	assert_null(rec);
}

/* AIB_REC_BUILD_ID: its length says how many bytes of id follow, 64 at most. */
static void test_build_id_sizes(void **state)
{
	const unsigned base = sizeof(struct aib_rec_build_id);
	union recbuf r;
	const struct aib_hdr *rec = NULL;
	struct aib_rec_build_id *b = (void *)&r;

	set_hdr(&r, AIB_REC_BUILD_ID, base + 20);
	b->len = 20;
	assert_int_equal(aib_decode(&r, base + 20, &rec), 0);
	assert_ptr_equal(rec, &r);
	assert_string_equal(aib_kind_name(AIB_REC_BUILD_ID), "build_id");
	rec = NULL;
	b->len = 21;
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	set_hdr(&r, AIB_REC_BUILD_ID, base + AIB_BUILD_ID_MAX + 1);
	b->len = AIB_BUILD_ID_MAX + 1;
	assert_int_equal(aib_decode(&r, sizeof(r), &rec), -EPROTO);
	assert_null(rec);
}

static void test_unaligned_input(void **state)
{
	/* file buffers hand the decoder records at any address */
	union recbuf r;
	struct aib_ev_poll poll = {
		.hdr = { .kind = AIB_EV_POLL_BEGIN, .size = sizeof(poll), .tid = 7, .ts = 9 },
		.task = 0x1000,
	};
	const struct aib_hdr *rec = NULL;

	for (size_t shift = 1; shift < 8; shift++) {
		memcpy(r.b + shift, &poll, sizeof(poll));
		rec = NULL;
		assert_int_equal(aib_decode(r.b + shift, sizeof(poll), &rec), 0);
		assert_ptr_equal(rec, r.b + shift);
		assert_int_equal(aib_decode(r.b + shift, sizeof(poll) - 1, &rec), -EAGAIN);
	}
}

static void test_explain_success_is_empty(void **state)
{
	struct aib_ev_task t = { .hdr = { .kind = AIB_EV_DEALLOC, .size = sizeof(t) } };
	char why[64] = "stale";

	assert_int_equal(aib_decode_explain(&t, sizeof(t), why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* no buffer: just the verdict */
	assert_int_equal(aib_decode_explain(&t, sizeof(t), NULL, 0), 0);
	t.hdr.size = 40;
	assert_int_equal(aib_decode_explain(&t, sizeof(t), NULL, 0), -EPROTO);
	assert_int_equal(aib_decode_explain(&t, sizeof(t), why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "dealloc size 40, expected 32");
}

static void test_accessors(void **state)
{
	struct aib_ev_wake w = {
		.hdr = { .kind = AIB_EV_WAKE, .size = sizeof(w) },
		.task = 1, .task_id = 2, .waker_task = 3, .waker_task_id = 4, .how = AIB_WAKE_BY_REF,
	};
	struct aib_rec_end e = { .hdr = { .kind = AIB_REC_END, .size = sizeof(e) }, .events = 42 };
	const struct aib_hdr *rec;

	assert_int_equal(aib_decode(&w, sizeof(w), &rec), 0);
	assert_ptr_equal(aib_as_wake(rec), &w);
	assert_int_equal(aib_as_wake(rec)->waker_task_id, 4);
	assert_int_equal(aib_as_wake(rec)->how, AIB_WAKE_BY_REF);
	assert_int_equal(aib_decode(&e, sizeof(e), &rec), 0);
	assert_int_equal(aib_as_end(rec)->events, 42);
	assert_ptr_equal(aib_as_spawn(rec), rec);
	assert_ptr_equal(aib_as_poll(rec), rec);
	assert_ptr_equal(aib_as_task(rec), rec);
	assert_ptr_equal(aib_as_worker(rec), rec);
	assert_ptr_equal(aib_as_process(rec), rec);
	assert_ptr_equal(aib_as_location(rec), rec);
	assert_ptr_equal(aib_as_thread(rec), rec);
	assert_ptr_equal(aib_as_lost(rec), rec);
}

/* Walking a buffer of back-to-back records, the way a reader does. */
static void test_walk_sequence(void **state)
{
	union recbuf r;
	size_t off = 0, n = 0;
	const struct aib_hdr *rec;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < NKINDS; i++) {
		struct aib_hdr h = { .kind = known_kinds[i], .size = aib_kind_size(known_kinds[i]) };

		memcpy(r.b + off, &h, sizeof(h));
		off += h.size;
	}
	for (size_t at = 0; at < off; n++) {
		assert_int_equal(aib_decode(r.b + at, off - at, &rec), 0);
		assert_int_equal(rec->kind, known_kinds[n]);
		at += rec->size;
	}
	assert_int_equal(n, NKINDS);
	assert_int_equal(aib_decode(r.b + off, 0, &rec), -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_tables),
		cmocka_unit_test(test_every_kind_exact_size),
		cmocka_unit_test(test_wrong_sizes_rejected),
		cmocka_unit_test(test_unknown_kind),
		cmocka_unit_test(test_size_below_header),
		cmocka_unit_test(test_short_avail_is_eagain),
		cmocka_unit_test(test_location_sizes),
		cmocka_unit_test(test_location_len_mismatch),
		cmocka_unit_test(test_location_too_long),
		cmocka_unit_test(test_build_id_sizes),
		cmocka_unit_test(test_unaligned_input),
		cmocka_unit_test(test_explain_success_is_empty),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_walk_sequence),
	};

	return cmocka_run_group_tests_name("decoder", tests, NULL, NULL);
}
