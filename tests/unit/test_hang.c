// SPDX-License-Identifier: MIT
/*
 * `test`'s hang rule (user/cli/hang.c) on synthetic sessions: a test's body
 * (a block_on root on a thread other than the main one) past the timeout is
 * hung; a #[tokio::main] root on the main thread never is; no progress at
 * all is a hang in a test binary only; and what is said of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/hang.h"
#include "model/task_model.h"

#define S 1000000000ULL
#define PID 100

static void apply(struct task_model *m, const struct aib_hdr *h)
{
	assert_int_equal(task_model__apply(m, h), 0);
}

/* A root started on thread tid at ts and polled once, parked since. */
static void root(struct task_model *m, __u64 seq, __u32 tid, __u64 ts, const char *name)
{
	struct aib_ev_task_name n = {.hdr = {AIB_EV_TASK_NAME, sizeof(n), tid, ts}};
	struct aib_ev_spawn e = {
		.hdr = {AIB_EV_SPAWN, sizeof(e), tid, ts},
		.flags = AIB_SPAWN_TASK_KNOWN | AIB_SPAWN_BLOCK_ON | AIB_SPAWN_HAS_LOCATION,
		.file_addr = 0x1000, .line = 12, .col = 3, .task = AIB_ROOT_TASK(seq),
		.runtime = AIB_RUNTIME_TOKIO,
	};
	struct aib_rec_location loc = {.hdr = {AIB_REC_LOCATION, sizeof(loc) + 14, 0, ts},
				       .file_addr = 0x1000, .len = 14};
	struct aib_ev_poll p = {.hdr = {AIB_EV_POLL_BEGIN, sizeof(p), tid, ts},
				.task = AIB_ROOT_TASK(seq), .task_id = AIB_ROOT_ID(seq),
				.runtime = AIB_RUNTIME_TOKIO};
	char buf[sizeof(loc) + 14];

	memcpy(buf, &loc, sizeof(loc));
	memcpy(buf + sizeof(loc), "tests/hangs.rs", 14);
	apply(m, (struct aib_hdr *)buf);
	n.len = (__u32)strlen(name);
	memcpy(n.name, name, n.len);
	apply(m, &n.hdr);
	apply(m, &e.hdr);
	apply(m, &p.hdr);
	p.hdr.kind = AIB_EV_POLL_END;
	p.hdr.ts = ts + 1000;
	apply(m, &p.hdr);
}

static void test_test_body_hangs(void **state)
{
	struct task_model *m = task_model__new();
	struct hang_watch w;
	char out[256] = "";
	FILE *f = fmemopen(out, sizeof(out), "w");

	hang_watch__init(&w, 2 * S, 0, PID, true);
	root(m, 0, PID, 1 * S, "hangs::main_like");	     /* the main thread's */
	root(m, 1, PID + 1, 1 * S, "hangs::checkout_completes"); /* a test's */
	assert_false(hang_watch__check(&w, m, 2 * S));
	assert_true(hang_watch__check(&w, m, 3 * S + 1));
	assert_int_equal(w.hung_id, AIB_ROOT_ID(1));
	hang_watch__say(&w, m, PID, f);
	fclose(f);
	assert_string_equal(out, "Found test stuck at: checkout_completes  (tests/hangs.rs, 2.00s)\n");
	task_model__free(m);
}

static void test_main_root_and_progress(void **state)
{
	struct task_model *m = task_model__new();
	struct hang_watch w;

	/* a program the tests start: its main idles, no test, no hang */
	hang_watch__init(&w, 2 * S, 0, PID, false);
	root(m, 0, PID, 1 * S, "helper::main");
	assert_false(hang_watch__check(&w, m, 10 * S));
	/* a test binary making no progress is hung */
	hang_watch__init(&w, 2 * S, 0, PID, true);
	assert_false(hang_watch__check(&w, m, 2 * S)); /* events seen now: progress */
	assert_true(hang_watch__check(&w, m, 4 * S));
	assert_int_equal(w.hung_id, 0);
	task_model__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_test_body_hangs),
		cmocka_unit_test(test_main_root_and_progress),
	};

	return cmocka_run_group_tests_name("hang", tests, NULL, NULL);
}
