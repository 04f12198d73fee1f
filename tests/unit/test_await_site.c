// SPDX-License-Identifier: MIT
/*
 * await_site: what a chain of frames waits for (synthetic frames named as
 * the runtimes' code is), the AIB_REC_AWAIT record there and back (and
 * through the decoder's validation), display names, and a stack of this
 * very test binary copied the way the await probe does, unwound into an
 * await chain, outermost first, with the "runtime" frames between the
 * program's own (files pretending, with #line, to be a registry crate)
 * flagged as library code. And AIB_REC_BLOCKED, a blocking call's frames
 * in the same text: there and back, and refused when corrupt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stack_copy.h"
#include "stripped_copy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary/binary.h"
#include "record/await_site.h"
#include "inspect/stack_namer.h"
#include "record/decoder.h"

#ifdef __clang__
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static struct await_frame fr(const char *function, bool library)
{
	struct await_frame f = {.library = library, .line = 1};

	snprintf(f.function, sizeof(f.function), "%s", function);
	return f;
}

static void test_classify_tokio(void **state)
{
	struct await_frame oneshot[] = {
		fr("tokio::runtime::task::waker::clone_waker", true),
		fr("core::task::wake::Waker::clone", true),
		fr("tokio::sync::task::atomic_waker::AtomicWaker::register_by_ref", true),
		fr("<tokio::sync::oneshot::Receiver<T> as core::future::future::Future>::poll", true),
		fr("stuck::recv_config", false),
		fr("tokio::time::sleep::Sleep::poll_elapsed", true), /* outer: not the await */
	};
	struct await_frame lock[] = {
		fr("tokio::runtime::task::waker::clone_waker", true),
		fr("tokio::sync::batch_semaphore::Semaphore::poll_acquire", true),
		fr("<tokio::sync::batch_semaphore::Acquire as core::future::future::Future>::poll", true),
		fr("tokio::sync::mutex::Mutex<T>::lock", true),
		fr("stuck::take_lock", false),
	};
	struct await_frame user_first[] = {fr("app::poll_by_hand", false), fr("tokio::time::x", true)};
	char detail[64];

	assert_int_equal(await_site__classify(oneshot, 6, detail, sizeof(detail)), AIB_WAIT_CHANNEL);
	assert_string_equal(detail, "oneshot receive");
	assert_int_equal(await_site__classify(lock, 5, detail, sizeof(detail)), AIB_WAIT_LOCK);
	assert_string_equal(detail, "Mutex lock");
	assert_int_equal(await_site__classify(user_first, 2, detail, sizeof(detail)), AIB_WAIT_UNKNOWN);
	assert_string_equal(detail, "");
	assert_int_equal(await_site__classify(NULL, 0, detail, sizeof(detail)), AIB_WAIT_UNKNOWN);
}

/* event_listener is what async-channel, async-lock, ... park on: an
 * outer frame of one of those says more. */
static void test_classify_weak(void **state)
{
	struct await_frame chan[] = {
		fr("async_task::raw::RawTask<F,T,S>::clone_waker", true),
		fr("<event_listener::EventListener as core::future::future::Future>::poll", true),
		fr("<async_channel::Recv<T> as core::future::future::Future>::poll", true),
		fr("astd_tasks::main", false),
	};
	char detail[64];

	assert_int_equal(await_site__classify(chan, 4, detail, sizeof(detail)), AIB_WAIT_CHANNEL);
	assert_string_equal(detail, "async-channel receive");
	assert_int_equal(await_site__classify(chan, 2, detail, sizeof(detail)), AIB_WAIT_CHANNEL);
	assert_string_equal(detail, "event listener");
	assert_int_equal(await_site__classify_type("tokio::time::sleep::Sleep", detail, sizeof(detail)),
			 AIB_WAIT_TIMER);
	assert_int_equal(await_site__classify_type("tokio::runtime::task::join::JoinHandle<u32>", detail,
						   sizeof(detail)),
			 AIB_WAIT_JOIN);
	assert_int_equal(await_site__classify_type("my::Future", detail, sizeof(detail)),
			 AIB_WAIT_UNKNOWN);
}

static void test_names(void **state)
{
	char b[64];

	assert_string_equal(await_site__short_name("stuck::recv_config", b, sizeof(b)), "recv_config");
	assert_string_equal(await_site__short_name("<a::B<c::D> as e::F>::poll", b, sizeof(b)), "poll");
	assert_string_equal(await_site__short_name("x::Y<z::W>", b, sizeof(b)), "Y<z::W>");
	assert_string_equal(await_site__short_name("{async_fn#0}", b, sizeof(b)), "async fn");
	assert_string_equal(await_site__short_name("{async_block#3}", b, sizeof(b)), "async block");
	assert_string_equal(await_site__short_name("", b, sizeof(b)), "?");
	assert_string_equal(await_site__kind_name(AIB_WAIT_IO), "io");
	assert_string_equal(await_site__kind_name(AIB_WAIT_KIND_MAX), "unknown");
	assert_string_equal(await_site__method_name(AIB_AWAIT_STATE_MACHINE), "state-machine");
}

static __u64 rec_buf[(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX) / 8 + 1];

static void test_record_round_trip(void **state)
{
	static struct await_desc d, back;
	const struct aib_hdr *h;
	struct aib_rec_await *r;

	memset(&d, 0, sizeof(d));
	d.method = AIB_AWAIT_STACK;
	d.kind = AIB_WAIT_JOIN;
	d.joined_id = 5;
	d.captured_ts = 1234;
	snprintf(d.detail, sizeof(d.detail), "JoinHandle");
	d.frames[0] = fr("stuck::join_other", false);
	d.frames[1] = fr("tokio::runtime::task::join::JoinHandle<T>::poll", true);
	snprintf(d.frames[0].file, sizeof(d.frames[0].file), "src/stuck.rs");
	d.frames[0].line = 39;
	d.frames[0].col = 7;
	d.nframes = 2;
	assert_ptr_equal(await_desc__site(&d), &d.frames[0]);

	r = await_desc__to_record(&d, 0x1000, 6, 99, rec_buf);
	assert_int_equal(aib_decode(r, r->hdr.size, &h), 0);
	assert_int_equal(h->kind, AIB_REC_AWAIT);
	assert_int_equal(await_desc__from_record(r, &back), 0);
	assert_int_equal(back.nframes, 2);
	assert_int_equal(back.kind, AIB_WAIT_JOIN);
	assert_int_equal(back.method, AIB_AWAIT_STACK);
	assert_int_equal(back.joined_id, 5);
	assert_int_equal(back.captured_ts, 1234);
	assert_string_equal(back.detail, "JoinHandle");
	assert_string_equal(back.frames[0].function, "stuck::join_other");
	assert_string_equal(back.frames[0].file, "src/stuck.rs");
	assert_int_equal(back.frames[0].line, 39);
	assert_int_equal(back.frames[0].col, 7);
	assert_false(back.frames[0].library);
	assert_true(back.frames[1].library);
	assert_string_equal(back.frames[1].file, "");

	/* a text without its last NUL, or claiming more frames, is corrupt */
	r->text[r->len - 1] = 'x';
	assert_int_equal(await_desc__from_record(r, &back), -EPROTO);
	r = await_desc__to_record(&d, 0x1000, 6, 99, rec_buf);
	r->nframes = 3;
	assert_int_equal(await_desc__from_record(r, &back), -EPROTO);
}

/* Frames that do not fit the text are dropped from the outer end. */
static void test_record_truncates_outer(void **state)
{
	static struct await_desc d, back;
	struct aib_rec_await *r;
	const struct aib_hdr *h;

	memset(&d, 0, sizeof(d));
	d.nframes = AWAIT_MAX_FRAMES;
	for (int i = 0; i < d.nframes; i++) {
		memset(d.frames[i].function, 'f', sizeof(d.frames[i].function) - 1);
		memset(d.frames[i].file, 'a', sizeof(d.frames[i].file) - 1);
		d.frames[i].line = (__u32)i + 1;
	}
	r = await_desc__to_record(&d, 1, 1, 1, rec_buf);
	assert_int_equal(aib_decode(r, r->hdr.size, &h), 0);
	assert_true(r->nframes < AWAIT_MAX_FRAMES && r->nframes > 0);
	assert_int_equal(await_desc__from_record(r, &back), 0);
	assert_int_equal(back.frames[back.nframes - 1].line, AWAIT_MAX_FRAMES);
}

/* ---- a stack of this binary ---- */

static struct aib_await_stack snap;
static volatile int sink;
static int line_capture, line_user_call;

static __u64 load_bias(void)
{
	char exe[PATH_MAX], line[PATH_MAX + 128], path[PATH_MAX];
	unsigned long long start, off;
	__u64 bias = 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "re");

	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %s", &start, &off, path) == 3 &&
		    !strcmp(path, exe) && off == 0 && !bias)
			bias = start; /* a PIE's first segment is at vaddr 0 */
	fclose(f);
	return bias;
}

static NOIPA void capture(void)
{
	__u64 ip, sp, bp;

	asm volatile("lea 0(%%rip), %0\n\t"
		     "mov %%rsp, %1\n\t"
		     "mov %%rbp, %2"
		     : "=r"(ip), "=r"(sp), "=r"(bp));
	line_capture = __LINE__ - 4;
	snap.stack = (struct aib_stack){.bias = load_bias(), .ip = ip, .sp = sp, .bp = bp,
					 .len = 4096};
	snap.ts = 7;
	stack_copy(snap.bytes, (uintptr_t)sp, snap.stack.len);
	asm volatile("" : : "r"(snap.bytes[0]) : "memory");
}

NOIPA void user_fn(void)
{
	line_user_call = __LINE__; capture();
	sink++;
}

/* "runtime" code around the program's own: a leaf below, a poller above */
#line 100 "/usr/share/cargo/registry/tokio-1.24.2/src/runtime/task/waker.rs"
NOIPA void runtime_leaf(void)
{
	user_fn();
	sink++;
}

NOIPA void runtime_poll(void)
{
	runtime_leaf();
	sink++;
}
#line 260 "tests/unit/test_await_site.c"

static void test_from_stack(void **state)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	static struct await_desc d;
	struct stack_namer *sn;
	struct binary *b;
	int user = -1;

	assert_true(n > 0);
	exe[n] = '\0';
	b = binary__open(exe);
	assert_non_null(b);
	sn = stack_namer__new(b);
	assert_non_null(sn);
	runtime_poll();
	assert_int_equal(stack_namer__await(sn, &snap, &d), 0);
	assert_int_equal(d.method, AIB_AWAIT_STACK);
	assert_int_equal(d.captured_ts, 7);
	/* the innermost frame is capture() itself, at its copy's line */
	assert_string_equal(d.frames[d.nframes - 1].function, "capture");
	assert_int_equal(d.frames[d.nframes - 1].line, line_capture);
	for (int i = 0; i < d.nframes; i++)
		if (!strcmp(d.frames[i].function, "user_fn"))
			user = i;
	assert_true(user >= 0);
	assert_int_equal(d.frames[user].line, line_user_call);
	assert_false(d.frames[user].library);
	/* the "runtime" frames between the program's are kept, flagged */
	assert_true(user >= 2);
	assert_string_equal(d.frames[user - 1].function, "runtime_leaf");
	assert_true(d.frames[user - 1].library);
	assert_string_equal(d.frames[user - 2].function, "runtime_poll");
	assert_true(d.frames[user - 2].library);
	/* the walk ends in libcmocka: the outermost frame is the test's own */
	assert_string_equal(d.frames[0].function, "test_from_stack");
	assert_ptr_equal(await_desc__site(&d), &d.frames[d.nframes - 1]);
	stack_namer__free(sn);
	binary__free(b);
}

/* A stack of a stripped copy of this binary is recorded by code address;
 * named again with the unstripped binary's symbolizer (`replay
 * --debuginfo`), it is the stack the unstripped binary's namer gives. */
static void test_rename_addresses(void **state)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	static struct await_desc full, addrs, again;
	struct stack_namer *sn, *strip_sn;
	struct binary *b, *strip;
	struct symbolizer *sym;

	assert_true(n > 0);
	exe[n] = '\0';
	b = binary__open(exe);
	strip = stripped(exe);
	assert_non_null(b);
	sn = stack_namer__new(b);
	strip_sn = stack_namer__new(strip);
	assert_non_null(sn);
	assert_non_null(strip_sn);
	runtime_poll();
	assert_int_equal(stack_namer__await(sn, &snap, &full), 0);
	assert_int_equal(stack_namer__await(strip_sn, &snap, &addrs), 0);
	assert_int_equal(strncmp(addrs.frames[addrs.nframes - 1].function, "0x", 2), 0);
	assert_int_equal(addrs.kind, AIB_WAIT_UNKNOWN);

	sym = stack_namer__symbolizer(sn);
	again = addrs;
	assert_int_equal(stack_namer__rename_addresses(sym, &again), 1);
	assert_int_equal(again.nframes, full.nframes);
	for (int i = 0; i < full.nframes; i++) {
		assert_string_equal(again.frames[i].function, full.frames[i].function);
		assert_string_equal(again.frames[i].file, full.frames[i].file);
		assert_int_equal(again.frames[i].line, full.frames[i].line);
		assert_int_equal(again.frames[i].library, full.frames[i].library);
	}
	assert_int_equal(again.kind, full.kind);
	assert_string_equal(again.detail, full.detail);
	assert_int_equal(again.captured_ts, 7);
	/* named frames are left as they are */
	assert_int_equal(stack_namer__rename_addresses(sym, &again), 0);
	assert_string_equal(again.frames[0].function, full.frames[0].function);
	stack_namer__free(strip_sn);
	stack_namer__free(sn);
	binary__free(strip);
	binary__free(b);
}

/* ---- AIB_REC_BLOCKED ---- */

/* AIB_REC_BLOCKED: the event's fields and the frames, there and back. */
static __u64 blocked_buf[(sizeof(struct aib_rec_blocked) + AIB_AWAIT_TEXT_MAX) / 8 + 1];

static const struct aib_rec_blocked *blocked_record(const struct await_desc *d)
{
	struct aib_ev_blocked e;

	memset(&e, 0, sizeof(e));
	e.hdr = (struct aib_hdr){.kind = AIB_EV_BLOCKED, .size = sizeof(e), .tid = 777, .ts = 5000};
	e.task = 0x55aa00001000ULL;
	e.task_id = 31;
	e.start_ts = 4000;
	e.arg = 0x7f00deadbee0ULL;
	e.syscall = 202;
	e.op = 128;
	e.stack.len = 4096; /* the stack that followed is not part of the record */
	return await_desc__to_blocked_record(d, &e, blocked_buf);
}

static void blocked_chain(struct await_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->method = AIB_AWAIT_STATE_MACHINE; /* not carried: a blocked call is a stack */
	d->kind = AIB_WAIT_LOCK;
	d->frames[0] = fr("tokio::runtime::task::raw::poll", true);
	d->frames[1] = fr("app::serve::{{closure}}", false);
	snprintf(d->frames[1].file, sizeof(d->frames[1].file), "src/main.rs");
	d->frames[1].line = 88;
	d->frames[1].col = 21;
	d->frames[2] = fr("std::sync::poison::mutex::Mutex<T>::lock", true);
	snprintf(d->frames[2].file, sizeof(d->frames[2].file),
		 "/rustc/abc/library/std/src/sync/poison/mutex.rs");
	d->frames[2].line = 316;
	d->frames[2].col = 4294967295u;
	d->frames[3] = fr("std::sys::sync::mutex::futex::Mutex::lock_contended", true);
	d->frames[3].line = 0; /* no line known */
	d->nframes = 4;
}

static void test_blocked_record_round_trip(void **state)
{
	static struct await_desc d, back;
	const struct aib_rec_blocked *r;
	const struct aib_hdr *h;

	blocked_chain(&d);
	r = blocked_record(&d);
	assert_ptr_equal(r, (const void *)blocked_buf);
	assert_int_equal(r->hdr.kind, AIB_REC_BLOCKED);
	assert_int_equal(r->hdr.size, sizeof(struct aib_rec_blocked) + r->len);
	assert_int_equal(r->hdr.tid, 777);
	assert_int_equal(r->hdr.ts, 5000);
	assert_int_equal(r->task, 0x55aa00001000ULL);
	assert_int_equal(r->task_id, 31);
	assert_int_equal(r->start_ts, 4000);
	assert_int_equal(r->arg, 0x7f00deadbee0ULL);
	assert_int_equal(r->syscall, 202);
	assert_int_equal(r->op, 128);
	assert_int_equal(r->nframes, 4);
	assert_true(r->len > 0 && r->len <= AIB_AWAIT_TEXT_MAX);
	assert_int_equal(r->text[0], '\0'); /* an empty detail first */
	assert_int_equal(r->text[r->len - 1], '\0');
	/* the decoder takes it as a whole record */
	assert_int_equal(aib_decode(r, r->hdr.size, &h), 0);
	assert_int_equal(h->kind, AIB_REC_BLOCKED);
	assert_int_not_equal(aib_decode(r, r->hdr.size - 1, &h), 0);

	memset(&back, 0x5a, sizeof(back));
	assert_int_equal(await_desc__from_blocked_record(r, &back), 0);
	assert_int_equal(back.method, AIB_AWAIT_STACK);
	assert_int_equal(back.kind, AIB_WAIT_BLOCKING);
	assert_int_equal(back.captured_ts, 5000);
	assert_int_equal(back.joined_id, 0);
	assert_int_equal(back.deadline_ts, 0);
	assert_string_equal(back.detail, "");
	assert_int_equal(back.nframes, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(back.frames[i].function, d.frames[i].function);
		assert_string_equal(back.frames[i].file, d.frames[i].file);
		assert_int_equal(back.frames[i].line, d.frames[i].line);
		assert_int_equal(back.frames[i].col, d.frames[i].col);
		assert_int_equal(back.frames[i].library, d.frames[i].library);
	}
	assert_ptr_equal(await_desc__site(&back), &back.frames[1]);

	/* no frames: the record holds the empty detail only */
	memset(&d, 0, sizeof(d));
	r = blocked_record(&d);
	assert_int_equal(r->nframes, 0);
	assert_int_equal(r->len, 1);
	assert_int_equal(r->hdr.size, sizeof(struct aib_rec_blocked) + 1);
	assert_int_equal(await_desc__from_blocked_record(r, &back), 0);
	assert_int_equal(back.nframes, 0);
	assert_null(await_desc__site(&back));
}

/* Text that does not hold what the record says: -EPROTO. */
static void test_blocked_record_corrupt(void **state)
{
	static struct await_desc d, back;
	struct aib_rec_blocked *r;
	__u32 len;

	blocked_chain(&d);
	r = (struct aib_rec_blocked *)blocked_record(&d);
	len = r->len;
	/* len cuts the last string before its NUL */
	r->len = len - 1;
	assert_int_equal(await_desc__from_blocked_record(r, &back), -EPROTO);
	/* len cuts a function name in the middle */
	r->len = 1 + 10;
	assert_int_equal(await_desc__from_blocked_record(r, &back), -EPROTO);
	/* nothing at all, not even the detail */
	r->len = 0;
	assert_int_equal(await_desc__from_blocked_record(r, &back), -EPROTO);
	r->len = len;
	assert_int_equal(await_desc__from_blocked_record(r, &back), 0);
	/* more frames than the text holds, or than a description can */
	r->nframes = 5;
	assert_int_equal(await_desc__from_blocked_record(r, &back), -EPROTO);
	r->nframes = AWAIT_MAX_FRAMES + 1;
	assert_int_equal(await_desc__from_blocked_record(r, &back), -EPROTO);
	r->nframes = ~0u;
	assert_int_equal(await_desc__from_blocked_record(r, &back), -EPROTO);
	/* a frame's position that is no "line:col" */
	r->nframes = 4;
	assert_int_equal(await_desc__from_blocked_record(r, &back), 0);
	{
		char *pos = r->text + strlen(r->text) + 1; /* the first frame's function */

		pos += strlen(pos) + 1;			   /* its file */
		pos += strlen(pos) + 1;			   /* its position */
		assert_string_equal(pos, "1:0:lib");
		pos[0] = 'x';
		assert_int_equal(await_desc__from_blocked_record(r, &back), -EPROTO);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_tokio),
		cmocka_unit_test(test_classify_weak),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_truncates_outer),
		cmocka_unit_test(test_blocked_record_round_trip),
		cmocka_unit_test(test_blocked_record_corrupt),
		cmocka_unit_test(test_from_stack),
		cmocka_unit_test(test_rename_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
