// SPDX-License-Identifier: MIT
/*
 * The runtimes' interface (runtime/runtime.h) on words as the target's
 * memory holds them: the table; what a state word says (polled now, a
 * worker's carrier) for tasks found at attach; the header and vtable
 * checks the memory scan asks each runtime, on live headers and on the
 * freed-chunk lookalikes they must refuse. The words are built from
 * include/<runtime>_layout.h, the facts the BPF side reads too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "async_task_layout.h"
#include "tokio_layout.h"
#include "runtime/runtime.h"

#define TEXT_LO 0x555500001000ULL
#define TEXT_HI 0x555500100000ULL
#define FN_AT(i) (TEXT_LO + 0x100 * (i))
#define HEAP 0x560000000000ULL

static void test_table(void **state)
{
	size_t n;
	const struct runtime_ops *const *all = runtime__all(&n);

	/* tokio's sites first: the plan's order and its description */
	assert_int_equal(n, 2);
	assert_ptr_equal(all[0], &tokio_runtime);
	assert_ptr_equal(all[1], &async_task_runtime);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(runtime__get(all[i]->id), all[i]);
		assert_non_null(all[i]->name);
		assert_non_null(all[i]->add_probes);
		assert_non_null(all[i]->poll_fn);
		assert_non_null(all[i]->layout);
		assert_non_null(all[i]->vtable_ok);
		assert_non_null(all[i]->check_header);
		assert_true(all[i]->vtable_words <= RUNTIME_VTABLE_WORDS_MAX);
	}
	assert_null(runtime__get(AIB_RUNTIME_UNKNOWN));
	assert_null(runtime__get(AIB_RUNTIME_MAX));
	/* only tokio numbers its tasks and has lock probes */
	assert_non_null(tokio_runtime.next_id_vaddr);
	assert_null(async_task_runtime.next_id_vaddr);
	assert_non_null(tokio_runtime.lock_kind);
}

/* A running tokio task found at attach may be a worker's carrier; an
 * async-task one never is; a task of no known runtime is neither. */
static void test_state_words(void **state)
{
	const __u64 tk_new = TOKIO_STATE_INITIAL, at_new = ASYNC_TASK_STATE_INITIAL;

	assert_int_equal(tk_new, 0xcc);
	assert_int_equal(at_new, 0x111);
	assert_false(runtime__running(AIB_RUNTIME_TOKIO, tk_new));
	assert_false(runtime__maybe_carrier(AIB_RUNTIME_TOKIO, tk_new));
	assert_true(runtime__running(AIB_RUNTIME_TOKIO, tk_new | TOKIO_STATE_RUNNING));
	assert_true(runtime__maybe_carrier(AIB_RUNTIME_TOKIO, TOKIO_REF_ONE | TOKIO_STATE_RUNNING));
	/* async-task's SCHEDULED is tokio's RUNNING bit */
	assert_false(runtime__running(AIB_RUNTIME_ASYNC_TASK, at_new));
	assert_true(runtime__running(AIB_RUNTIME_ASYNC_TASK, at_new | ASYNC_TASK_STATE_RUNNING));
	assert_false(runtime__maybe_carrier(AIB_RUNTIME_ASYNC_TASK,
					    at_new | ASYNC_TASK_STATE_RUNNING));
	assert_false(runtime__running(AIB_RUNTIME_UNKNOWN, ~0ULL));
	assert_false(runtime__maybe_carrier(AIB_RUNTIME_UNKNOWN, ~0ULL));

	/* the bits a found task's life is read from */
	assert_true(tokio_runtime.state_done & TOKIO_STATE_COMPLETE);
	assert_true(tokio_runtime.state_scheduled & tk_new);
	assert_true(async_task_runtime.state_done & ASYNC_TASK_STATE_CLOSED);
	assert_true(async_task_runtime.state_scheduled & at_new);
}

static enum runtime_header tokio_header(__u64 st, __u64 next, __u64 owner)
{
	__u64 w[RUNTIME_HEADER_WORDS] = {0};

	w[TOKIO_HDR_STATE / 8] = st;
	w[TOKIO_HDR_QUEUE_NEXT / 8] = next;
	w[TOKIO_HDR_OWNER_ID / 8] = owner;
	return tokio_runtime.check_header(w, st);
}

static void test_tokio_header(void **state)
{
	const __u64 one = TOKIO_REF_ONE;

	assert_int_equal(tokio_header(TOKIO_STATE_INITIAL, 0, 1), RUNTIME_HEADER_LIVE);
	assert_int_equal(tokio_header(one | TOKIO_STATE_COMPLETE | TOKIO_STATE_JOIN_INTEREST,
				      HEAP + 0x40, 3),
			 RUNTIME_HEADER_LIVE);
	/* no reference left: freed; a free-list word: an absurd count */
	assert_int_equal(tokio_header(TOKIO_STATE_COMPLETE, 0, 1), RUNTIME_HEADER_BAD_STATE);
	assert_int_equal(tokio_header(HEAP >> 12, 0, 1), RUNTIME_HEADER_BAD_STATE);
	assert_int_equal(tokio_header((RUNTIME_REFS_MAX + 1) << TOKIO_REF_SHIFT, 0, 1),
			 RUNTIME_HEADER_BAD_STATE);
	assert_int_equal(tokio_header(RUNTIME_REFS_MAX << TOKIO_REF_SHIFT, 0, 1),
			 RUNTIME_HEADER_LIVE);
	assert_int_equal(tokio_header(one | TOKIO_STATE_RUNNING | TOKIO_STATE_COMPLETE, 0, 1),
			 RUNTIME_HEADER_BAD_STATE);
	/* queue_next: another header or none; owner ids are small */
	assert_int_equal(tokio_header(one, HEAP + 4, 1), RUNTIME_HEADER_BAD_FIELDS);
	assert_int_equal(tokio_header(one, RUNTIME_USER_ADDR_END, 1), RUNTIME_HEADER_BAD_FIELDS);
	assert_int_equal(tokio_header(one, 0, 1ULL << 32), RUNTIME_HEADER_BAD_FIELDS);
}

static enum runtime_header at_header(__u64 st)
{
	__u64 w[RUNTIME_HEADER_WORDS] = {0};

	w[ASYNC_TASK_HDR_STATE / 8] = st;
	return async_task_runtime.check_header(w, st);
}

static void test_async_task_header(void **state)
{
	assert_int_equal(at_header(ASYNC_TASK_STATE_INITIAL), RUNTIME_HEADER_LIVE);
	/* only the Task handle left: alive until it is dropped */
	assert_int_equal(at_header(ASYNC_TASK_STATE_TASK | ASYNC_TASK_STATE_COMPLETED),
			 RUNTIME_HEADER_LIVE);
	assert_int_equal(at_header(ASYNC_TASK_STATE_COMPLETED | ASYNC_TASK_STATE_CLOSED),
			 RUNTIME_HEADER_BAD_STATE);
	assert_int_equal(at_header(ASYNC_TASK_REFERENCE | ASYNC_TASK_STATE_COMPLETED |
				   ASYNC_TASK_STATE_SCHEDULED),
			 RUNTIME_HEADER_BAD_STATE);
	assert_int_equal(at_header((RUNTIME_REFS_MAX + 1) << ASYNC_TASK_REF_SHIFT),
			 RUNTIME_HEADER_BAD_STATE);
}

static void test_tokio_vtable(void **state)
{
	__u64 w[TOKIO_VT_WORDS];
	__u32 id = 99;

	for (int i = 0; i < TOKIO_VT_FUNCS; i++)
		w[i] = FN_AT(i);
	w[TOKIO_VT_TRAILER_OFFSET / 8] = 0x80;
	w[TOKIO_VT_SCHEDULER_OFFSET / 8] = TOKIO_HDR_SIZE;
	w[TOKIO_VT_ID_OFFSET / 8] = 0x28;
	assert_true(tokio_runtime.vtable_ok(w, TEXT_LO, TEXT_HI, &id));
	assert_int_equal(id, 0x28);

	w[3] = TEXT_HI; /* a function outside .text */
	assert_false(tokio_runtime.vtable_ok(w, TEXT_LO, TEXT_HI, &id));
	w[3] = FN_AT(3);
	w[TOKIO_VT_SCHEDULER_OFFSET / 8] = 8; /* the scheduler inside the header */
	assert_false(tokio_runtime.vtable_ok(w, TEXT_LO, TEXT_HI, &id));
	w[TOKIO_VT_SCHEDULER_OFFSET / 8] = TOKIO_HDR_SIZE;
	w[TOKIO_VT_ID_OFFSET / 8] = 0x2c; /* a misaligned id */
	assert_false(tokio_runtime.vtable_ok(w, TEXT_LO, TEXT_HI, &id));
	w[TOKIO_VT_ID_OFFSET / 8] = 0x80; /* the id not before the trailer */
	assert_false(tokio_runtime.vtable_ok(w, TEXT_LO, TEXT_HI, &id));
}

static void test_async_task_vtable(void **state)
{
	__u64 w[ASYNC_TASK_VT_FUNCS];
	__u32 id = 99;

	for (int i = 0; i < ASYNC_TASK_VT_FUNCS; i++)
		w[i] = FN_AT(i);
	assert_true(async_task_runtime.vtable_ok(w, TEXT_LO, TEXT_HI, &id));
	assert_int_equal(id, 0); /* async-task numbers no tasks */
	w[0] = 0; /* schedule too must be code */
	assert_false(async_task_runtime.vtable_ok(w, TEXT_LO, TEXT_HI, &id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_state_words),
		cmocka_unit_test(test_tokio_header),
		cmocka_unit_test(test_async_task_header),
		cmocka_unit_test(test_tokio_vtable),
		cmocka_unit_test(test_async_task_vtable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
