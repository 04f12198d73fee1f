// SPDX-License-Identifier: MIT
/*
 * blocking_calls: what a blocked syscall is called in reports, and the
 * summing of AIB_REC_BLOCKED records per site. The records are built the
 * way the session builds them (await_desc__to_blocked_record from an
 * AIB_EV_BLOCKED and the named frames, outermost first): a site is the
 * program's innermost own frame (function, file, line), the syscall and,
 * for a futex, the lock word; its calls, times and tasks are summed, the
 * longest call is kept as its example, and sites past BLOCKING_SITES_MAX
 * are only counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/await_site.h"
#include "model/blocking_calls.h"

#define SYS_READ 0
#define SYS_NANOSLEEP 35
#define SYS_FUTEX 202
#define SYS_CLOCK_NANOSLEEP 230
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256

#define LOCK_WORD 0x7f12345678a0ULL
#define OTHER_WORD 0x7f12345678c0ULL

/* ---- what a call is called ---- */

static void test_what_futex(void **state)
{
	char b[96];

	assert_string_equal(blocking_call__what(SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, b, sizeof(b)),
			    "futex wait on 0x7f12345678a0");
	/* the private and clock flags do not change the operation */
	assert_string_equal(blocking_call__what(SYS_FUTEX, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, LOCK_WORD,
						b, sizeof(b)),
			    "futex wait on 0x7f12345678a0");
	assert_string_equal(blocking_call__what(SYS_FUTEX,
						FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG |
							FUTEX_CLOCK_REALTIME,
						LOCK_WORD, b, sizeof(b)),
			    "futex wait on 0x7f12345678a0");
	assert_string_equal(blocking_call__what(SYS_FUTEX, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, LOCK_WORD,
						b, sizeof(b)),
			    "futex wake on 0x7f12345678a0");
	assert_string_equal(blocking_call__what(SYS_FUTEX, 10 /* WAKE_BITSET */, 0x1000, b, sizeof(b)),
			    "futex wake on 0x1000");
	assert_string_equal(blocking_call__what(SYS_FUTEX, FUTEX_LOCK_PI, 0x1000, b, sizeof(b)),
			    "futex lock on 0x1000");
	assert_string_equal(blocking_call__what(SYS_FUTEX, 13 /* LOCK_PI2 */ | FUTEX_PRIVATE_FLAG,
						0x1000, b, sizeof(b)),
			    "futex lock on 0x1000");
	/* the text is written into the caller's buffer */
	assert_ptr_equal(blocking_call__what(SYS_FUTEX, FUTEX_WAIT, 1, b, sizeof(b)), b);
}

static void test_what_others(void **state)
{
	char b[64];

	assert_string_equal(blocking_call__what(SYS_NANOSLEEP, 0, 0x7ffd0000, b, sizeof(b)), "sleep");
	assert_string_equal(blocking_call__what(SYS_CLOCK_NANOSLEEP, 0, 1, b, sizeof(b)), "sleep");
	assert_string_equal(blocking_call__what(SYS_READ, 0, 7, b, sizeof(b)), "read fd 7");
	assert_string_equal(blocking_call__what(1, 0, 2, b, sizeof(b)), "write fd 2");
	assert_string_equal(blocking_call__what(232, 0, 9, b, sizeof(b)), "epoll_wait fd 9");
	/* the fd is the argument's low 32 bits, signed */
	assert_string_equal(blocking_call__what(SYS_READ, 0, 0xffffffffULL, b, sizeof(b)),
			    "read fd -1");
	/* calls without an fd do not show the argument */
	assert_string_equal(blocking_call__what(257, 0, 0xffffff9cULL, b, sizeof(b)), "open");
	assert_string_equal(blocking_call__what(999, 0, 7, b, sizeof(b)), "syscall 999");
	assert_ptr_equal(blocking_call__what(999, 0, 7, b, sizeof(b)), b);
	/* a short buffer is cut, still terminated */
	memset(b, 'x', sizeof(b));
	assert_string_equal(blocking_call__what(SYS_READ, 0, 12345, b, 6), "read ");
	assert_string_equal(blocking_call__what(SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, b, 6), "futex");
}

static void test_is_futex(void **state)
{
	assert_true(blocking_call__is_futex(SYS_FUTEX));
	assert_false(blocking_call__is_futex(SYS_READ));
	assert_false(blocking_call__is_futex(SYS_NANOSLEEP));
	assert_false(blocking_call__is_futex(SYS_CLOCK_NANOSLEEP));
	assert_false(blocking_call__is_futex(999));
}

/* ---- records, as the session builds them ---- */

static __u64 rec_buf[(sizeof(struct aib_rec_blocked) + AIB_AWAIT_TEXT_MAX) / 8 + 1];

static struct await_frame frame(const char *function, const char *file, __u32 line, __u32 col,
				bool library)
{
	struct await_frame f = {.line = line, .col = col, .library = library};

	snprintf(f.function, sizeof(f.function), "%s", function);
	snprintf(f.file, sizeof(f.file), "%s", file);
	return f;
}

/* A std Mutex taken inside an async fn: the runtime's poll outermost, the
 * program's frame at `line`, std's lock code inside it. */
static void std_lock_chain(struct await_desc *d, const char *user_fn, __u32 line, __u32 col)
{
	memset(d, 0, sizeof(*d));
	d->frames[0] = frame("tokio::runtime::task::raw::poll", "", 0, 0, true);
	d->frames[1] = frame("<core::pin::Pin<P> as core::future::future::Future>::poll",
			     "/rustc/abc/library/core/src/future/future.rs", 123, 9, true);
	d->frames[2] = frame(user_fn, "src/app.rs", line, col, false);
	d->frames[3] = frame("std::sync::poison::mutex::Mutex<T>::lock",
			     "/rustc/abc/library/std/src/sync/poison/mutex.rs", 316, 13, true);
	d->frames[4] = frame("std::sys::sync::mutex::futex::Mutex::lock_contended",
			     "/rustc/abc/library/std/src/sys/sync/mutex/futex.rs", 57, 13, true);
	d->nframes = 5;
}

/* The record of one call: [start, end) in ns, by task `task`. */
static const struct aib_rec_blocked *record(const struct await_desc *d, __u32 syscall, __u32 op,
					    __u64 arg, __u64 task, __u64 start, __u64 end)
{
	struct aib_ev_blocked e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = AIB_EV_BLOCKED;
	e.hdr.size = sizeof(e);
	e.hdr.tid = 4242;
	e.hdr.ts = end;
	e.task = 0x5500000 + task * 0x100;
	e.task_id = task;
	e.start_ts = start;
	e.arg = arg;
	e.syscall = syscall;
	e.op = op;
	return await_desc__to_blocked_record(d, &e, rec_buf);
}

static int add(struct blocking_calls *b, const struct await_desc *d, __u32 syscall, __u32 op,
	       __u64 arg, __u64 task, __u64 start, __u64 end)
{
	return blocking_calls__add(b, record(d, syscall, op, arg, task, start, end), task);
}

static int setup(void **state)
{
	*state = blocking_calls__new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	blocking_calls__free(*state);
	return 0;
}

static void test_empty(void **state)
{
	struct blocking_calls *b = *state;

	assert_int_equal(blocking_calls__count(b), 0);
	assert_null(blocking_calls__get(b, 0));
	assert_int_equal(blocking_calls__unkept(b), 0);
	blocking_calls__free(NULL); /* harmless */
}

/* Calls at one site, one syscall, one lock word: one site summed exactly. */
static void test_same_site_aggregates(void **state)
{
	struct blocking_calls *b = *state;
	static struct await_desc d, ex;
	const struct blocked_site *s;
	__u32 op = FUTEX_WAIT | FUTEX_PRIVATE_FLAG;

	std_lock_chain(&d, "app::handler::{{closure}}", 42, 17);
	assert_int_equal(add(b, &d, SYS_FUTEX, op, LOCK_WORD, 1, 1000, 1100), 0);	/* 100 */
	assert_int_equal(add(b, &d, SYS_FUTEX, op, LOCK_WORD, 2, 2000, 2300), 0);	/* 300 */
	assert_int_equal(add(b, &d, SYS_FUTEX, op, LOCK_WORD, 1, 3000, 3200), 0);	/* 200 */
	assert_int_equal(add(b, &d, SYS_FUTEX, op, LOCK_WORD, 2, 4000, 4050), 0);	/* 50 */

	assert_int_equal(blocking_calls__count(b), 1);
	assert_int_equal(blocking_calls__unkept(b), 0);
	s = blocking_calls__get(b, 0);
	assert_non_null(s);
	assert_null(blocking_calls__get(b, 1));
	assert_int_equal(s->syscall, SYS_FUTEX);
	assert_int_equal(s->arg, LOCK_WORD);
	assert_int_equal(s->calls, 4);
	assert_int_equal(s->total_ns, 650);
	assert_int_equal(s->max_ns, 300);
	assert_int_equal(s->first_ts, 1000);
	assert_int_equal(s->last_ts, 4050);
	/* each task listed once, in the order first seen */
	assert_int_equal(s->ntasks, 2);
	assert_int_equal(s->tasks[0], 1);
	assert_int_equal(s->tasks[1], 2);

	/* the example is the longest call's record, a copy of it */
	assert_non_null(s->example);
	assert_int_equal(s->example->hdr.kind, AIB_REC_BLOCKED);
	assert_int_equal(s->example->start_ts, 2000);
	assert_int_equal(s->example->hdr.ts, 2300);
	assert_int_equal(s->example->task_id, 2);
	assert_int_equal(s->example->op, op);
	assert_ptr_not_equal(s->example, (const void *)rec_buf);
	memset(rec_buf, 0, sizeof(rec_buf));
	assert_int_equal(await_desc__from_blocked_record(s->example, &ex), 0);
	assert_int_equal(ex.nframes, 5);
	assert_string_equal(ex.frames[2].function, "app::handler::{{closure}}");
	assert_int_equal(ex.frames[2].line, 42);
	assert_ptr_equal(await_desc__site(&ex), &ex.frames[2]);
}

/* The longest call so far is the example; a longer later one replaces it. */
static void test_example_is_longest(void **state)
{
	struct blocking_calls *b = *state;
	static struct await_desc d;
	const struct blocked_site *s;

	std_lock_chain(&d, "app::slow::{{closure}}", 7, 1);
	assert_int_equal(add(b, &d, SYS_NANOSLEEP, 0, 0, 9, 100, 600), 0);	 /* 500 */
	assert_int_equal(add(b, &d, SYS_NANOSLEEP, 0, 0, 9, 1000, 1100), 0);	 /* 100 */
	s = blocking_calls__get(b, 0);
	assert_int_equal(s->example->start_ts, 100);
	assert_int_equal(s->max_ns, 500);
	assert_int_equal(add(b, &d, SYS_NANOSLEEP, 0, 0, 9, 2000, 4000), 0); /* 2000 */
	s = blocking_calls__get(b, 0);
	assert_int_equal(blocking_calls__count(b), 1);
	assert_int_equal(s->example->start_ts, 2000);
	assert_int_equal(s->max_ns, 2000);
	assert_int_equal(s->total_ns, 2600);
	assert_int_equal(s->calls, 3);
	assert_int_equal(s->ntasks, 1);
	assert_int_equal(s->tasks[0], 9);
	/* a call whose end is before its start counts as 0 ns */
	assert_int_equal(add(b, &d, SYS_NANOSLEEP, 0, 0, 9, 5000, 4000), 0);
	s = blocking_calls__get(b, 0);
	assert_int_equal(s->calls, 4);
	assert_int_equal(s->total_ns, 2600);
	assert_int_equal(s->max_ns, 2000);
	assert_int_equal(s->example->start_ts, 2000);
}

/* Tasks are listed once each, up to BLOCKING_TASKS_SHOWN. */
static void test_tasks_shown(void **state)
{
	struct blocking_calls *b = *state;
	static struct await_desc d;
	const struct blocked_site *s;
	const __u64 tasks[] = {5, 3, 5, 8, 3, 1, 9, 12, 5, 1};

	std_lock_chain(&d, "app::many::{{closure}}", 3, 3);
	for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++)
		assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, tasks[i], 10 * i,
				     10 * i + 1),
				 0);
	assert_int_equal(blocking_calls__count(b), 1);
	s = blocking_calls__get(b, 0);
	assert_int_equal(s->calls, 10);
	assert_int_equal(s->total_ns, 10);
	assert_int_equal(BLOCKING_TASKS_SHOWN, 4);
	assert_int_equal(s->ntasks, BLOCKING_TASKS_SHOWN);
	assert_int_equal(s->tasks[0], 5);
	assert_int_equal(s->tasks[1], 3);
	assert_int_equal(s->tasks[2], 8);
	assert_int_equal(s->tasks[3], 1);
}

/* The one site of (syscall, arg) at the program's frame `fn` line `line`. */
static const struct blocked_site *find_site(const struct blocking_calls *b, __u32 syscall,
					    __u64 arg, const char *fn, __u32 line)
{
	static struct await_desc d;
	const struct blocked_site *found = NULL;

	for (size_t i = 0; i < blocking_calls__count(b); i++) {
		const struct blocked_site *s = blocking_calls__get(b, i);
		const struct await_frame *f;

		assert_int_equal(await_desc__from_blocked_record(s->example, &d), 0);
		f = await_desc__site(&d);
		if (s->syscall == syscall && s->arg == arg && f && f->line == line &&
		    !strcmp(f->function, fn)) {
			assert_null(found); /* one site each */
			found = s;
		}
	}
	assert_non_null(found);
	return found;
}

#define HANDLER "app::handler::{{closure}}"
#define OTHER_FN "app::other::{{closure}}"

/* Another lock word, line, syscall or function: another site. */
static void test_distinct_sites(void **state)
{
	struct blocking_calls *b = *state;
	static struct await_desc d, other_line, other_fn;
	const struct blocked_site *s;

	std_lock_chain(&d, HANDLER, 42, 17);
	std_lock_chain(&other_line, HANDLER, 43, 17);
	std_lock_chain(&other_fn, OTHER_FN, 42, 17);
	assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, 1, 0, 10), 0);
	assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, OTHER_WORD, 1, 100, 120), 0);
	assert_int_equal(add(b, &other_line, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, 2, 200, 230), 0);
	assert_int_equal(add(b, &d, SYS_NANOSLEEP, 0, 0, 3, 300, 340), 0);
	assert_int_equal(add(b, &other_fn, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, 4, 400, 450), 0);
	assert_int_equal(blocking_calls__count(b), 5);
	assert_int_equal(blocking_calls__unkept(b), 0);

	s = find_site(b, SYS_FUTEX, LOCK_WORD, HANDLER, 42);
	assert_int_equal(s->calls, 1);
	assert_int_equal(s->total_ns, 10);
	s = find_site(b, SYS_FUTEX, OTHER_WORD, HANDLER, 42);
	assert_int_equal(s->calls, 1);
	assert_int_equal(s->total_ns, 20);
	s = find_site(b, SYS_FUTEX, LOCK_WORD, HANDLER, 43);
	assert_int_equal(s->calls, 1);
	assert_int_equal(s->total_ns, 30);
	assert_int_equal(s->tasks[0], 2);
	s = find_site(b, SYS_NANOSLEEP, 0, HANDLER, 42);
	assert_int_equal(s->total_ns, 40);
	s = find_site(b, SYS_FUTEX, LOCK_WORD, OTHER_FN, 42);
	assert_int_equal(s->total_ns, 50);

	/* and each again lands on its own site */
	assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, OTHER_WORD, 5, 500, 505), 0);
	assert_int_equal(add(b, &other_line, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, 5, 600, 601), 0);
	assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, LOCK_WORD, 6, 700,
			     702),
			 0); /* another futex op on the same word: the same site */
	assert_int_equal(blocking_calls__count(b), 5);
	assert_int_equal(find_site(b, SYS_FUTEX, OTHER_WORD, HANDLER, 42)->calls, 2);
	assert_int_equal(find_site(b, SYS_FUTEX, LOCK_WORD, HANDLER, 43)->calls, 2);
	assert_int_equal(find_site(b, SYS_FUTEX, LOCK_WORD, HANDLER, 42)->calls, 2);
	assert_int_equal(find_site(b, SYS_FUTEX, LOCK_WORD, HANDLER, 42)->total_ns, 12);
	assert_int_equal(blocking_calls__unkept(b), 0);
}

/* The site is the program's frame: the column, the library frames around
 * it and, outside a futex, the argument do not split it. */
static void test_same_user_frame(void **state)
{
	struct blocking_calls *b = *state;
	static struct await_desc d, other_col, other_inner;
	const struct blocked_site *s;

	std_lock_chain(&d, "app::reader::{{closure}}", 60, 5);
	std_lock_chain(&other_col, "app::reader::{{closure}}", 60, 30);
	std_lock_chain(&other_inner, "app::reader::{{closure}}", 60, 5);
	other_inner.frames[4] = frame("std::io::default_read_to_end",
				      "/rustc/abc/library/std/src/io/mod.rs", 400, 1, true);
	assert_int_equal(add(b, &d, SYS_READ, 0, 7, 1, 0, 10), 0);
	assert_int_equal(add(b, &other_col, SYS_READ, 0, 7, 1, 100, 120), 0);
	assert_int_equal(add(b, &other_inner, SYS_READ, 0, 7, 1, 200, 230), 0);
	assert_int_equal(add(b, &d, SYS_READ, 0, 8, 2, 300, 340), 0); /* another fd */
	assert_int_equal(blocking_calls__count(b), 1);
	s = blocking_calls__get(b, 0);
	assert_int_equal(s->calls, 4);
	assert_int_equal(s->total_ns, 100);
	assert_int_equal(s->arg, 7); /* the first call's fd */
	assert_int_equal(s->ntasks, 2);
}

/* Without a frame of the program's own, the innermost frame names the
 * site; a record whose frames cannot be read is kept under "no frames". */
static void test_no_user_frame(void **state)
{
	struct blocking_calls *b = *state;
	static struct await_desc lib, lib2, none;
	const struct blocked_site *s;
	struct aib_rec_blocked *r;

	std_lock_chain(&lib, "app::x", 1, 1);
	lib.frames[2].library = true;
	std_lock_chain(&lib2, "app::x", 1, 1);
	lib2.frames[2].library = true;
	lib2.frames[4].line = 99; /* another innermost frame */
	memset(&none, 0, sizeof(none));
	assert_int_equal(add(b, &lib, SYS_NANOSLEEP, 0, 0, 1, 0, 10), 0);
	assert_int_equal(add(b, &lib, SYS_NANOSLEEP, 0, 0, 1, 20, 40), 0);
	assert_int_equal(add(b, &lib2, SYS_NANOSLEEP, 0, 0, 1, 50, 80), 0);
	assert_int_equal(blocking_calls__count(b), 2);
	assert_int_equal(blocking_calls__get(b, 0)->calls, 2);
	assert_int_equal(blocking_calls__get(b, 1)->calls, 1);

	/* no frames at all, and a corrupt text: both under one "no frames" site */
	assert_int_equal(add(b, &none, SYS_NANOSLEEP, 0, 0, 2, 100, 101), 0);
	r = (struct aib_rec_blocked *)record(&lib, SYS_NANOSLEEP, 0, 0, 3, 200, 204);
	r->nframes = AWAIT_MAX_FRAMES + 1;
	assert_int_equal(blocking_calls__add(b, r, 3), 0);
	assert_int_equal(blocking_calls__count(b), 3);
	s = blocking_calls__get(b, 2);
	assert_int_equal(s->calls, 2);
	assert_int_equal(s->total_ns, 5);
	assert_int_equal(s->ntasks, 2);
	assert_int_equal(s->example->start_ts, 200); /* the longer, corrupt one, as it came */
}

/* Past BLOCKING_SITES_MAX sites, calls at new sites are only counted;
 * calls at the sites kept still add up. */
static void test_sites_max(void **state)
{
	struct blocking_calls *b = *state;
	static struct await_desc d;

	std_lock_chain(&d, "app::spread::{{closure}}", 1, 1);
	for (__u32 i = 0; i < BLOCKING_SITES_MAX; i++) {
		d.frames[2].line = 1000 + i;
		assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, 1, 0, 1), 0);
	}
	assert_int_equal(blocking_calls__count(b), BLOCKING_SITES_MAX);
	assert_int_equal(blocking_calls__unkept(b), 0);
	for (__u32 i = 0; i < 3; i++) {
		d.frames[2].line = 5000 + i;
		assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, 1, 0, 1), 0);
	}
	/* a new lock word at a kept line is a new site too */
	d.frames[2].line = 1000;
	assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, OTHER_WORD, 1, 0, 1), 0);
	assert_int_equal(blocking_calls__count(b), BLOCKING_SITES_MAX);
	assert_int_equal(blocking_calls__unkept(b), 4);
	/* a kept site still counts */
	d.frames[2].line = 1000 + 17;
	assert_int_equal(add(b, &d, SYS_FUTEX, FUTEX_WAIT, LOCK_WORD, 2, 10, 15), 0);
	assert_int_equal(blocking_calls__count(b), BLOCKING_SITES_MAX);
	assert_int_equal(blocking_calls__unkept(b), 4);
	assert_int_equal(blocking_calls__get(b, 17)->calls, 2);
	assert_int_equal(blocking_calls__get(b, 17)->total_ns, 6);
	assert_int_equal(blocking_calls__get(b, 17)->ntasks, 2);
	assert_null(blocking_calls__get(b, BLOCKING_SITES_MAX));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_what_futex),
		cmocka_unit_test(test_what_others),
		cmocka_unit_test(test_is_futex),
		T(test_empty),
		T(test_same_site_aggregates),
		T(test_example_is_longest),
		T(test_tasks_shown),
		T(test_distinct_sites),
		T(test_same_user_frame),
		T(test_no_user_frame),
		T(test_sites_max),
	};

	return cmocka_run_group_tests_name("blocking_calls", tests, NULL, NULL);
}
