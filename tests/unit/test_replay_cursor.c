// SPDX-License-Identifier: MIT
/*
 * The replay cursor (session/replay_cursor.h): seek(t) is the model a fresh
 * replay of the records up to t gives, finished at t, for many t in any
 * order (forward, backward, at and between record times, out of range),
 * with checkpoints every few hundred records, thinned by their count and
 * by their bytes, and with none at all; the state at an instant is what a
 * live session showed then; a task's events are stepped through forward
 * and back; cut and corrupt recordings open as `replay` reads them. Times
 * are printed, never asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "model_compare.h"
#include "session/replay_cursor.h"
#include "synth_stream.h"

static struct synth S;
static char PATH[] = "/tmp/aib-cursor-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(PATH);

	if (fd < 0)
		return -1;
	close(fd);
	synth__make(&S, 40000, 200, 7);
	return synth__write(&S, PATH, 0, S.n);
}

static int teardown(void **state)
{
	unlink(PATH);
	synth__free(&S);
	return 0;
}

/* What a replay of the records up to t shows at t: the prefix of the
 * stream before its first record stamped after t, finished at t. */
static struct task_model *fresh_at(const struct synth *s, size_t n, __u64 t, size_t keep)
{
	struct task_model *m = task_model__new();

	assert_non_null(m);
	if (keep)
		task_model__set_keep_completed(m, keep);
	for (size_t i = 0; i < n && synth__rec(s, i)->ts <= t; i++)
		assert_int_equal(task_model__apply(m, synth__rec(s, i)), 0);
	task_model__finish(m, t);
	return m;
}

static void check_seek(struct replay_cursor *c, __u64 t, size_t keep)
{
	struct task_model *got, *want;
	__u64 first = replay_cursor__first_ts(c), last = replay_cursor__last_ts(c);
	__u64 clamped = t < first ? first : t > last ? last : t;

	assert_int_equal(replay_cursor__seek(c, t, &got), 0);
	want = fresh_at(&S, S.n, clamped, keep);
	assert_int_equal(task_model__summary(got)->end_ts, clamped);
	assert_same_model(got, want);
	task_model__free(got);
	task_model__free(want);
}

/* Times to seek to: record times, between them, out of range; then in a
 * shuffled order, so every kind of step (forward from the last seek, back
 * to a checkpoint) is taken. */
static size_t times(__u64 *ts, size_t max)
{
	size_t n = 0;
	__u64 seed = 99;

	ts[n++] = 0;
	ts[n++] = synth__rec(&S, S.n - 1)->ts + 1000000000;
	for (size_t i = 1; n + 2 < max; i += S.n / (max / 2)) {
		ts[n++] = synth__rec(&S, i)->ts;
		ts[n++] = synth__rec(&S, i)->ts + 1;
	}
	for (size_t i = n - 1; i > 0; i--) {
		size_t j;
		__u64 x;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		j = seed % (i + 1);
		x = ts[i], ts[i] = ts[j], ts[j] = x;
	}
	return n;
}

static void seek_many(const struct replay_cursor_opts *o, size_t keep)
{
	struct replay_cursor *c = replay_cursor__open(PATH, o);
	__u64 ts[40];
	size_t n = times(ts, 40);

	assert_non_null(c);
	assert_int_equal(replay_cursor__status(c), 0);
	assert_false(replay_cursor__truncated(c));
	assert_int_equal(replay_cursor__records(c), S.n);
	assert_int_equal(replay_cursor__first_ts(c), synth__rec(&S, 0)->ts);
	assert_int_equal(replay_cursor__last_ts(c), synth__rec(&S, S.n - 1)->ts);
	assert_true(replay_cursor__checkpoints(c) <= (o ? o->max_checkpoints : 64));
	for (size_t i = 0; i < n; i++)
		check_seek(c, ts[i], keep);
	/* forward in small steps, then back in small steps */
	for (size_t i = S.n / 2; i < S.n / 2 + 40; i += 3)
		check_seek(c, synth__rec(&S, i)->ts, keep);
	for (size_t i = S.n / 2 + 40; i > S.n / 2; i -= 3)
		check_seek(c, synth__rec(&S, i)->ts, keep);
	replay_cursor__free(c);
}

static void test_seek_equals_fresh_replay(void **state)
{
	struct replay_cursor_opts o;

	replay_cursor_opts__default(&o);
	o.every_records = 500; /* 80 checkpoints: thinned to 64 or fewer */
	seek_many(&o, 0);
}

static void test_seek_without_checkpoints(void **state)
{
	struct replay_cursor_opts o;

	replay_cursor_opts__default(&o);
	o.every_records = 0; /* the empty model alone */
	seek_many(&o, 0);
}

static void test_seek_with_few_checkpoints_by_time_and_bytes(void **state)
{
	struct replay_cursor_opts o;
	struct replay_cursor *c;

	replay_cursor_opts__default(&o);
	o.every_records = 0;
	o.every_ns = 5000000; /* 5 ms of trace time */
	o.max_checkpoints = 4;
	o.keep_completed = 100; /* tasks retire: checkpoints hold retired counts */
	seek_many(&o, 100);
	o.max_checkpoints = 64;
	o.max_bytes = 200000; /* a few models' worth */
	c = replay_cursor__open(PATH, &o);
	assert_non_null(c);
	assert_true(replay_cursor__checkpoint_bytes(c) <= o.max_bytes);
	assert_true(replay_cursor__checkpoints(c) >= 2);
	replay_cursor__free(c);
	seek_many(&o, 100);
}

/* The end: what `replay` reports (finished at the END record). */
static void test_seek_to_end_is_the_replay(void **state)
{
	struct replay_cursor *c = replay_cursor__open(PATH, NULL);
	struct task_model *got, *want = task_model__new();

	assert_non_null(c);
	assert_non_null(want);
	for (size_t i = 0; i < S.n; i++)
		assert_int_equal(task_model__apply(want, synth__rec(&S, i)), 0);
	task_model__finish(want, 0);
	assert_int_equal(replay_cursor__seek(c, ~0ULL, &got), 0);
	assert_same_model(got, want);
	task_model__free(got);
	task_model__free(want);
	replay_cursor__free(c);
}

/* ---- a small recording written by hand ---- */

#define H1 0x7f0000001000ULL

static struct synth hand;

static void put_poll(__u16 kind, __u64 ts, __u64 header, __u64 id, __u32 result, __u16 runtime)
{
	struct aib_ev_poll e = {.task = header, .task_id = id, .depth = 1, .result = result,
				.runtime = runtime};

	hand.ts = ts;
	synth__put(&hand, &e.hdr, kind, sizeof(e), 8, 0);
}

static void put_wake(__u64 ts, __u64 header, __u64 id, __u16 runtime)
{
	struct aib_ev_wake e = {.task = header, .task_id = id, .runtime = runtime};

	hand.ts = ts;
	synth__put(&hand, &e.hdr, AIB_EV_WAKE, sizeof(e), 9, 0);
}

/* tokio task 5: spawned at 1000, polled 2000-3000 (Pending), woken at
 * 4000, polled 5000-6000 (Ready), freed at 6500. Then async-task tasks
 * (no ids) at one header: A spawned 7000, polled 7100-7200, woken 7300,
 * polled 7400-7500 Ready, freed 7600; B spawned there at 8000, polled
 * 8100-8200 Pending. Other records between them. */
static const char *write_hand(void)
{
	static char path[64];
	struct aib_rec_process p = {.pid = 1, .flags = AIB_PROC_SPAWN_LOCATIONS};
	struct aib_ev_spawn sp = {.predicted_id = 5};
	struct aib_ev_task d = {.task = H1, .task_id = 5};
	struct aib_rec_end end = {.reason = AIB_END_DURATION};
	int fd;

	snprintf(path, sizeof(path), "/tmp/aib-cursor-hand-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	memset(&hand, 0, sizeof(hand));
	hand.ts = 500;
	synth__put(&hand, &p.hdr, AIB_REC_PROCESS, sizeof(p), 0, 0);
	hand.ts = 1000;
	synth__put(&hand, &sp.hdr, AIB_EV_SPAWN, sizeof(sp), 7, 0);
	put_poll(AIB_EV_POLL_BEGIN, 2000, H1, 5, 0, AIB_RUNTIME_TOKIO);
	put_wake(2500, H1 + 0x100, 6, AIB_RUNTIME_TOKIO); /* another task */
	put_poll(AIB_EV_POLL_END, 3000, H1, 5, AIB_POLL_PENDING, AIB_RUNTIME_TOKIO);
	put_wake(4000, H1, 5, AIB_RUNTIME_TOKIO);
	put_poll(AIB_EV_POLL_BEGIN, 5000, H1, 5, 0, AIB_RUNTIME_TOKIO);
	put_poll(AIB_EV_POLL_END, 6000, H1, 5, AIB_POLL_READY, AIB_RUNTIME_TOKIO);
	hand.ts = 6500;
	synth__put(&hand, &d.hdr, AIB_EV_DEALLOC, sizeof(d), 8, 0);
	for (int k = 0; k < 2; k++) {
		__u64 at = 7000 + k * 1000;
		struct aib_ev_spawn a = {.flags = AIB_SPAWN_TASK_KNOWN, .task = H1 + 0x200,
					 .runtime = AIB_RUNTIME_ASYNC_TASK};

		hand.ts = at;
		synth__put(&hand, &a.hdr, AIB_EV_SPAWN, sizeof(a), 7, 0);
		put_poll(AIB_EV_POLL_BEGIN, at + 100, H1 + 0x200, 0, 0, AIB_RUNTIME_ASYNC_TASK);
		put_poll(AIB_EV_POLL_END, at + 200, H1 + 0x200, 0, AIB_POLL_PENDING,
			 AIB_RUNTIME_ASYNC_TASK);
		if (k)
			break;
		put_wake(at + 300, H1 + 0x200, 0, AIB_RUNTIME_ASYNC_TASK);
		put_poll(AIB_EV_POLL_BEGIN, at + 400, H1 + 0x200, 0, 0, AIB_RUNTIME_ASYNC_TASK);
		put_poll(AIB_EV_POLL_END, at + 500, H1 + 0x200, 0, AIB_POLL_READY,
			 AIB_RUNTIME_ASYNC_TASK);
		d = (struct aib_ev_task){.task = H1 + 0x200};
		hand.ts = at + 600;
		synth__put(&hand, &d.hdr, AIB_EV_DEALLOC, sizeof(d), 8, 0);
	}
	hand.ts = 9000;
	synth__put(&hand, &end.hdr, AIB_REC_END, sizeof(end), 0, 0);
	assert_int_equal(synth__write(&hand, path, 0, hand.n), 0);
	return path;
}

static const struct task_info *task_by_id(const struct task_model *m, __u64 id)
{
	for (size_t i = 0; i < task_model__task_count(m); i++)
		if (task_model__task(m, i)->id == id)
			return task_model__task(m, i);
	return NULL;
}

/* What a live session showed at each instant. */
static void test_state_at_an_instant(void **state)
{
	static const struct {
		__u64 ts;
		int state; /* -1: absent */
		__u64 busy, polls;
	} want[] = {
		{900, -1, 0, 0},		{1000, TASK_RUNNABLE, 0, 0}, /* spawned, not polled */
		{1999, TASK_RUNNABLE, 0, 0},	{2000, TASK_RUNNING, 0, 1},
		{2400, TASK_RUNNING, 400, 1},	{3000, TASK_IDLE, 1000, 1},
		{3999, TASK_IDLE, 1000, 1},	{4000, TASK_RUNNABLE, 1000, 1},
		{5500, TASK_RUNNING, 1500, 2},	{6000, TASK_COMPLETED, 2000, 2},
		{9000, TASK_COMPLETED, 2000, 2},
	};
	const char *path = write_hand();
	struct replay_cursor *c = replay_cursor__open(path, NULL);

	assert_non_null(c);
	/* twice: forward, then the same instants backward */
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			size_t i = pass ? sizeof(want) / sizeof(want[0]) - 1 - k : k;
			struct task_model *m;
			const struct task_info *t;

			assert_int_equal(replay_cursor__seek(c, want[i].ts, &m), 0);
			t = task_by_id(m, 5);
			if (want[i].state < 0) {
				assert_null(t);
			} else {
				assert_non_null(t);
				assert_int_equal(t->state, want[i].state);
				assert_int_equal(t->busy_ns, want[i].busy);
				assert_int_equal(t->polls, want[i].polls);
			}
			task_model__free(m);
		}
	replay_cursor__free(c);
	unlink(path);
	synth__free(&hand);
}

static void steps(struct replay_cursor *c, __u64 at, __u64 id, const __u64 *want, size_t n)
{
	struct task_model *m;
	const struct task_info *t;
	__u64 ts, prev;

	assert_int_equal(replay_cursor__seek(c, at, &m), 0);
	t = task_by_id(m, id);
	assert_non_null(t);
	/* forward from before its first event */
	prev = t->spawn_ts - 1;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(replay_cursor__next_event_ts(c, t, prev, &ts), 0);
		assert_int_equal(ts, want[i]);
		prev = ts;
	}
	assert_int_equal(replay_cursor__next_event_ts(c, t, prev, &ts), -ENOENT);
	/* and back */
	for (size_t i = n - 1; i > 0; i--) {
		assert_int_equal(replay_cursor__prev_event_ts(c, t, want[i], &ts), 0);
		assert_int_equal(ts, want[i - 1]);
	}
	assert_int_equal(replay_cursor__prev_event_ts(c, t, want[0], &ts), -ENOENT);
	task_model__free(m);
}

/* Stepping through a task's events: its own only, not those of the task
 * before or after it at its address. */
static void test_task_events(void **state)
{
	static const __u64 tokio[] = {1000, 2000, 3000, 4000, 5000, 6000, 6500};
	static const __u64 a[] = {7000, 7100, 7200, 7300, 7400, 7500, 7600};
	static const __u64 b[] = {8000, 8100, 8200};
	const char *path = write_hand();
	struct replay_cursor_opts o;

	replay_cursor_opts__default(&o);
	for (int every = 0; every < 4; every++) {
		struct replay_cursor *c;

		o.every_records = (__u64)every; /* 0: none; 1: one per record */
		c = replay_cursor__open(path, &o);
		assert_non_null(c);
		steps(c, 2500, 5, tokio, 7);
		steps(c, 9000, 5, tokio, 7);   /* seen completed */
		steps(c, 7250, 1, a, 7);       /* async-task: our own ids, 1 then 2 */
		steps(c, 9000, 2, b, 3);
		replay_cursor__free(c);
	}
	unlink(path);
	synth__free(&hand);
}

/* On the synthetic stream: the steps forward and back are the same list. */
static void test_task_events_both_ways(void **state)
{
	struct replay_cursor_opts o;
	struct replay_cursor *c;
	struct task_model *m;
	__u64 fw[4096], ts, at = synth__rec(&S, S.n / 2)->ts;
	size_t n = 0, checked = 0;

	replay_cursor_opts__default(&o);
	o.every_records = 700;
	c = replay_cursor__open(PATH, &o);
	assert_non_null(c);
	assert_int_equal(replay_cursor__seek(c, at, &m), 0);
	for (size_t i = 0; i < task_model__task_count(m) && checked < 20; i++) {
		const struct task_info *t = task_model__task(m, i);

		if (t->kind == TASK_RUNTIME || !t->polls)
			continue;
		checked++;
		for (n = 0, ts = t->spawn_ts - 1; n < 4096;) {
			int err = replay_cursor__next_event_ts(c, t, ts, &ts);

			if (err == -ENOENT)
				break;
			assert_int_equal(err, 0);
			assert_true(n == 0 || ts > fw[n - 1]);
			fw[n++] = ts;
		}
		assert_true(n >= 2); /* its spawn or first sight, a poll */
		for (size_t k = n - 1; k > 0; k--) {
			assert_int_equal(replay_cursor__prev_event_ts(c, t, fw[k], &ts), 0);
			assert_int_equal(ts, fw[k - 1]);
		}
	}
	assert_int_equal(checked, 20);
	task_model__free(m);
	replay_cursor__free(c);
}

/* Not a recording, no file; cut short; a corrupt record: as `replay`. */
static void test_bad_files(void **state)
{
	char path[] = "/tmp/aib-cursor-bad-XXXXXX";
	int fd = mkstemp(path);
	struct replay_cursor *c;
	struct task_model *m;
	size_t cut = S.n / 2;
	__u16 bad = 999;
	off_t at;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a recording, not at all", 27), 27);
	close(fd);
	errno = 0;
	assert_null(replay_cursor__open(path, NULL));
	assert_int_equal(errno, EPROTO);
	assert_null(replay_cursor__open("/nonexistent/aib.rec", NULL));
	assert_int_equal(errno, ENOENT);

	/* cut inside a record */
	assert_int_equal(synth__write(&S, path, 0, S.n), 0);
	at = 32;
	for (size_t i = 0; i < cut; i++)
		at += synth__rec(&S, i)->size;
	assert_int_equal(truncate(path, at + 5), 0);
	c = replay_cursor__open(path, NULL);
	assert_non_null(c);
	assert_int_equal(replay_cursor__status(c), 0);
	assert_true(replay_cursor__truncated(c));
	assert_non_null(strstr(replay_cursor__problem(c), "truncated"));
	assert_int_equal(replay_cursor__records(c), cut);
	assert_int_equal(replay_cursor__seek(c, ~0ULL, &m), 0);
	assert_int_equal(task_model__summary(m)->events, cut);
	task_model__free(m);
	replay_cursor__free(c);

	/* a record of an unknown kind at record `cut` */
	assert_int_equal(synth__write(&S, path, 0, S.n), 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &bad, sizeof(bad), at), sizeof(bad));
	close(fd);
	c = replay_cursor__open(path, NULL);
	assert_non_null(c);
	assert_int_equal(replay_cursor__status(c), -EPROTO);
	assert_non_null(strstr(replay_cursor__problem(c), "corrupt record at byte"));
	assert_int_equal(replay_cursor__records(c), cut);
	check_seek(c, synth__rec(&S, cut / 2)->ts, 0);
	assert_int_equal(replay_cursor__seek(c, ~0ULL, &m), 0); /* never past the bad record */
	assert_int_equal(task_model__summary(m)->events, cut);
	task_model__free(m);
	replay_cursor__free(c);
	unlink(path);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seeking back from the end to 10%, with and without checkpoints. */
static void test_seek_back_cost(void **state)
{
	for (int cps = 0; cps < 2; cps++) {
		struct replay_cursor_opts o;
		struct replay_cursor *c;
		struct task_model *m;
		double t0, t1;

		replay_cursor_opts__default(&o);
		o.every_records = cps ? 2048 : 0;
		c = replay_cursor__open(PATH, &o);
		assert_non_null(c);
		assert_int_equal(replay_cursor__seek(c, ~0ULL, &m), 0);
		task_model__free(m);
		t0 = now_s();
		assert_int_equal(replay_cursor__seek(c, synth__rec(&S, S.n / 10)->ts, &m), 0);
		t1 = now_s();
		task_model__free(m);
		printf("%zu records, %zu checkpoints: seek back to 10%%: %.2f ms\n", S.n,
		       replay_cursor__checkpoints(c), (t1 - t0) * 1e3);
		replay_cursor__free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seek_equals_fresh_replay),
		cmocka_unit_test(test_seek_without_checkpoints),
		cmocka_unit_test(test_seek_with_few_checkpoints_by_time_and_bytes),
		cmocka_unit_test(test_seek_to_end_is_the_replay),
		cmocka_unit_test(test_state_at_an_instant),
		cmocka_unit_test(test_task_events),
		cmocka_unit_test(test_task_events_both_ways),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_seek_back_cost),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
