/* The tracker's reading of the model: which changes each record makes,
 * in order, on synthetic record streams; and that it forgets finished tasks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/task_model.h"
#include "export/task_tracker.h"

static struct task_model *m;
static struct task_tracker *tr;
static char log_[4096];

static const char *state(enum task_state s)
{
	return task_state_name(s);
}

/* One line per change: "kind serial details" */
static int on_change(void *ctx, const struct change *c)
{
	char *p = log_ + strlen(log_);
	size_t left = sizeof(log_) - strlen(log_);
	const struct tracked_task *s = c->task;

	switch (c->kind) {
	case CHANGE_SPAWN:
		snprintf(p, left, "spawn %llu\n", (unsigned long long)c->spawn->predicted_id);
		break;
	case CHANGE_APPEAR:
		snprintf(p, left, "appear #%llu id %llu %s\n", (unsigned long long)s->serial,
			 (unsigned long long)s->id, state(s->state));
		break;
	case CHANGE_STATE:
		snprintf(p, left, "state #%llu %s->%s%s%s%s%s\n", (unsigned long long)s->serial,
			 state(c->from), state(s->state), c->new_poll ? " new_poll" : "",
			 c->result == AIB_POLL_PENDING ? " pending" : c->result == AIB_POLL_READY ? " ready" : "",
			 c->freed ? " freed" : "", c->cancelled ? " cancelled" : "");
		break;
	case CHANGE_WAKE:
		snprintf(p, left, "wake %llu by %d waker #%llu%s\n", (unsigned long long)c->woken_id, c->by,
			 c->waker ? (unsigned long long)c->waker->serial : 0ULL, s ? "" : " (finished)");
		break;
	case CHANGE_RUNTIME:
		snprintf(p, left, "runtime #%llu\n", (unsigned long long)s->serial);
		break;
	case CHANGE_ALIVE_AT_END:
		snprintf(p, left, "alive #%llu %s\n", (unsigned long long)s->serial, state(s->state));
		break;
	}
	return 0;
}

static int setup(void **state_)
{
	struct aib_rec_process p = {.hdr = {.kind = AIB_REC_PROCESS, .size = sizeof(p), .ts = 100}};

	log_[0] = 0;
	m = task_model__new();
	tr = task_tracker__new();
	if (!m || !tr || task_tracker__follow(tr, on_change, NULL, 0) != 0)
		return -1;
	task_model__apply(m, &p.hdr);
	task_tracker__record(tr, &p.hdr, m);
	return 0;
}

static int teardown(void **state_)
{
	task_tracker__free(tr);
	task_model__free(m);
	return 0;
}

static __u64 now = 1000;

static void feed(const struct aib_hdr *h)
{
	assert_int_equal(task_model__apply(m, h), 0);
	int err = task_tracker__record(tr, h, m);

	assert_true(err == 0 || err == -EIO); /* -EIO: a follower of test_followers failing */
}

static void spawn_flags(__u64 id, __u32 tid, __u32 flags)
{
	struct aib_ev_spawn e = {.hdr = {AIB_EV_SPAWN, sizeof(e), tid, now += 10}, .predicted_id = id,
				 .flags = flags};

	feed(&e.hdr);
}

static void spawn(__u64 id, __u32 tid)
{
	spawn_flags(id, tid, 0);
}

static void worker_start(__u32 tid)
{
	struct aib_ev_worker e = {.hdr = {AIB_EV_WORKER_START, sizeof(e), tid, now += 10}};

	feed(&e.hdr);
}

static void poll(int kind, __u64 header, __u64 id, __u32 tid, __u32 depth, __u32 result)
{
	struct aib_ev_poll e = {.hdr = {kind, sizeof(e), tid, now += 10},
				.task = header, .task_id = id, .result = result, .depth = depth};

	feed(&e.hdr);
}

static void wake(__u64 header, __u64 id, __u64 waker, __u64 waker_id, __u32 tid)
{
	struct aib_ev_wake e = {.hdr = {AIB_EV_WAKE, sizeof(e), tid, now += 10},
				.task = header, .task_id = id, .waker_task = waker, .waker_task_id = waker_id};

	feed(&e.hdr);
}

static void task_end(int kind, __u64 header, __u64 id)
{
	struct aib_ev_task e = {.hdr = {kind, sizeof(e), 7, now += 10}, .task = header, .task_id = id};

	feed(&e.hdr);
}

static void finish(void)
{
	task_model__finish(m, now + 100);
	assert_int_equal(task_tracker__finish(tr, m), 0);
}

static void test_life_of_a_task(void **state_)
{
	spawn(5, 1);
	poll(AIB_EV_POLL_BEGIN, 0x500, 5, 2, 0, 0);
	poll(AIB_EV_POLL_END, 0x500, 5, 2, 0, AIB_POLL_PENDING);
	wake(0x500, 5, 0, 0, 3);
	poll(AIB_EV_POLL_BEGIN, 0x500, 5, 2, 0, 0);
	poll(AIB_EV_POLL_END, 0x500, 5, 2, 0, AIB_POLL_READY);
	assert_int_equal(task_tracker__live(tr), 0); /* forgotten once completed */
	task_end(AIB_EV_DEALLOC, 0x500, 5);
	finish();
	assert_string_equal(log_,
			    "spawn 5\n"
			    "appear #1 id 5 runnable\n"
			    "state #1 runnable->running new_poll\n"
			    "state #1 running->idle pending\n"
			    "wake 5 by 2 waker #0\n"
			    "state #1 idle->runnable\n"
			    "state #1 runnable->running new_poll\n"
			    "state #1 running->completed ready\n");
}

static void test_carrier_and_wakes(void **state_)
{
	spawn_flags(1, 10, AIB_SPAWN_BLOCKING);
	poll(AIB_EV_POLL_BEGIN, 0x100, 1, 10, 0, 0);
	worker_start(10); /* the worker loop runs inside task 1: a carrier */
	spawn(2, 10);
	poll(AIB_EV_POLL_BEGIN, 0x200, 2, 10, 1, 0);
	wake(0x300, 3, 0x200, 2, 10); /* 2 wakes a task first seen now */
	wake(0x200, 2, 0x200, 2, 10); /* 2 wakes itself */
	poll(AIB_EV_POLL_END, 0x200, 2, 10, 1, AIB_POLL_NOTIFIED);
	wake(0x300, 3, 0x100, 1, 10); /* by the carrier: by a thread */
	finish();
	assert_string_equal(log_,
			    "spawn 1\n"
			    "appear #1 id 1 runnable\n"
			    "state #1 runnable->running new_poll\n"
			    "runtime #1\n"
			    "spawn 2\n"
			    "appear #2 id 2 runnable\n"
			    "state #2 runnable->running new_poll\n"
			    "appear #3 id 3 idle\n"
			    "wake 3 by 0 waker #2\n"
			    "state #3 idle->runnable\n"
			    "wake 2 by 1 waker #2\n"
			    "state #2 running->runnable\n"
			    "wake 3 by 2 waker #0\n"
			    "alive #1 running\n"
			    "alive #2 runnable\n"
			    "alive #3 runnable\n");
}

/* A poll nested in a blocking task's poll also makes it a carrier. */
static void test_nested_carrier(void **state_)
{
	spawn_flags(4, 11, AIB_SPAWN_BLOCKING);
	poll(AIB_EV_POLL_BEGIN, 0x400, 4, 11, 0, 0);
	poll(AIB_EV_POLL_BEGIN, 0x500, 5, 11, 1, 0);
	poll(AIB_EV_POLL_END, 0x500, 5, 11, 1, AIB_POLL_READY);
	assert_string_equal(log_,
			    "spawn 4\n"
			    "appear #1 id 4 runnable\n"
			    "state #1 runnable->running new_poll\n"
			    "appear #2 id 5 idle\n"
			    "runtime #1\n"
			    "state #2 idle->running new_poll\n"
			    "state #2 running->completed ready\n");
}

/* Spawned, then shut down or freed before any poll: one record, a whole life. */
static void test_ended_before_first_poll(void **state_)
{
	spawn(9, 1);
	task_end(AIB_EV_SHUTDOWN, 0x900, 9);
	task_end(AIB_EV_DEALLOC, 0x900, 9);
	spawn(10, 1);
	task_end(AIB_EV_DEALLOC, 0xa00, 10);
	finish();
	assert_string_equal(log_,
			    "spawn 9\n"
			    "appear #1 id 9 runnable\n"
			    "state #1 runnable->completed cancelled\n"
			    "spawn 10\n"
			    "appear #2 id 10 runnable\n"
			    "state #2 runnable->completed freed\n");
	assert_int_equal(task_tracker__live(tr), 0);
}

static void test_freed_reused_cancelled(void **state_)
{
	spawn(1, 1);
	poll(AIB_EV_POLL_BEGIN, 0x100, 1, 2, 0, 0);
	poll(AIB_EV_POLL_END, 0x100, 1, 2, 0, AIB_POLL_PENDING);
	task_end(AIB_EV_DEALLOC, 0x100, 1); /* freed while idle */
	poll(AIB_EV_POLL_BEGIN, 0x200, 2, 2, 0, 0);
	poll(AIB_EV_POLL_END, 0x200, 2, 2, 0, AIB_POLL_PENDING);
	poll(AIB_EV_POLL_BEGIN, 0x200, 3, 2, 0, 0); /* header reused, the free unseen */
	task_end(AIB_EV_SHUTDOWN, 0x200, 3);	    /* cancelled while running... */
	poll(AIB_EV_POLL_END, 0x200, 3, 2, 0, AIB_POLL_READY); /* ...done at the poll's end */
	wake(0x200, 3, 0, 0, 4);		      /* a wake after completion */
	finish();
	assert_string_equal(log_,
			    "spawn 1\n"
			    "appear #1 id 1 runnable\n"
			    "state #1 runnable->running new_poll\n"
			    "state #1 running->idle pending\n"
			    "state #1 idle->completed freed\n"
			    "appear #2 id 2 idle\n"
			    "state #2 idle->running new_poll\n"
			    "state #2 running->idle pending\n"
			    "state #2 idle->completed freed\n"
			    "appear #3 id 3 idle\n"
			    "state #3 idle->running new_poll\n"
			    "state #3 running->completed ready cancelled\n"
			    "wake 3 by 2 waker #0 (finished)\n");
	assert_int_equal(task_tracker__live(tr), 0);
}

static void test_spawned_never_polled(void **state_)
{
	spawn(7, 1);
	spawn(7, 1); /* the same call seen again through a wrapper: not counted */
	spawn(8, 1);
	poll(AIB_EV_POLL_BEGIN, 0x800, 8, 2, 0, 0);
	finish();
	assert_string_equal(log_,
			    "spawn 7\n"
			    "spawn 8\n"
			    "appear #1 id 8 runnable\n"
			    "state #1 runnable->running new_poll\n"
			    "alive #1 running\n"
			    "appear #2 id 7 runnable\n"
			    "alive #2 runnable\n");
}

/* A follower that marks its own values and checks nobody else touched them. */
struct marker {
	unsigned nuser;
	__u64 mark;
	int calls, fail_at; /* fail_at: the call that fails (0: none) */
	bool clean;	    /* its values were zero at first sight and its own after */
	__u32 end_tid;	    /* poll_tid when a poll last ended */
};

static int on_mark(void *ctx, const struct change *c)
{
	struct marker *k = ctx;

	if (++k->calls == k->fail_at)
		return -EIO;
	if (!c->task)
		return 0;
	for (unsigned i = 0; i < k->nuser; i++) {
		if (c->task->user[i] != (c->kind == CHANGE_APPEAR ? 0 : k->mark + i))
			k->clean = false;
		c->task->user[i] = k->mark + i;
	}
	if (c->kind == CHANGE_STATE && c->from == TASK_RUNNING)
		k->end_tid = c->task->poll_tid;
	return 0;
}

/* Followers share the slots, each with values of its own; one failing stops only itself. */
static void test_followers(void **state_)
{
	struct marker a = {.nuser = 2, .mark = 100, .clean = true},
		      b = {.nuser = 1, .mark = 200, .clean = true},
		      z = {.nuser = 3, .mark = 300, .clean = true, .fail_at = 3};

	task_tracker__free(tr);
	tr = task_tracker__new();
	assert_non_null(tr);
	assert_int_equal(task_tracker__follow(tr, on_mark, &a, 2), 0);
	assert_int_equal(task_tracker__follow(tr, on_mark, &z, 3), 1);
	assert_int_equal(task_tracker__follow(tr, on_mark, &b, 1), 2);
	assert_int_equal(task_tracker__follow(tr, on_mark, &b, TRACKER_MAX_USER), -E2BIG);
	spawn(1, 1);
	poll(AIB_EV_POLL_BEGIN, 0x100, 1, 2, 0, 0);
	assert_int_equal(task_tracker__error(tr, 1), -EIO); /* its 3rd call: the new poll */
	spawn(2, 1);
	poll(AIB_EV_POLL_BEGIN, 0x200, 2, 3, 1, 0);
	poll(AIB_EV_POLL_END, 0x200, 2, 3, 1, AIB_POLL_PENDING);
	assert_int_equal(a.end_tid, 3);
	poll(AIB_EV_POLL_END, 0x100, 1, 2, 0, AIB_POLL_READY);
	assert_int_equal(b.end_tid, 2);
	finish();
	assert_true(a.clean && b.clean);
	assert_int_equal(a.calls, b.calls);
	assert_int_equal(z.calls, 3);
	assert_int_equal(task_tracker__error(tr, 0), 0);
	assert_int_equal(task_tracker__follow(tr, on_mark, &b, 1), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_life_of_a_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_carrier_and_wakes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_carrier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ended_before_first_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freed_reused_cancelled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawned_never_polled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_followers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
