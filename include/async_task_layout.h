/* SPDX-License-Identifier: MIT */
/*
 * async-task 4.x's memory layout (the tasks of async-std 1.12, smol 1.3
 * and the blocking pool), as the BPF probes and user space read it: one
 * place for each fact. Measured on --release builds with rustc 1.95
 * against async-task 4.3; the source files named are async-task's (src/...).
 * Macros only, so that it compiles under clang -target bpf (vmlinux.h) and
 * in user space alike.
 */
#ifndef ASYNC_TASK_LAYOUT_H
#define ASYNC_TASK_LAYOUT_H

/* The task state word (state.rs): flags below bit 8, the reference count
 * above (REFERENCE). */
#define ASYNC_TASK_STATE_SCHEDULED 0x1ULL
#define ASYNC_TASK_STATE_RUNNING 0x2ULL
#define ASYNC_TASK_STATE_COMPLETED 0x4ULL
#define ASYNC_TASK_STATE_CLOSED 0x8ULL
#define ASYNC_TASK_STATE_TASK 0x10ULL /* a Task handle exists */
#define ASYNC_TASK_STATE_AWAITER 0x20ULL
#define ASYNC_TASK_REF_SHIFT 8
#define ASYNC_TASK_REFERENCE (1ULL << ASYNC_TASK_REF_SHIFT)
/* A spawned task: one reference, TASK | SCHEDULED (0x111) */
#define ASYNC_TASK_STATE_INITIAL                                                                  \
	(ASYNC_TASK_REFERENCE | ASYNC_TASK_STATE_TASK | ASYNC_TASK_STATE_SCHEDULED)

/* The header (header.rs Header { state, awaiter: Option<Waker>, vtable })
 * is not repr(C): rustc 1.95 puts the vtable pointer first, then the
 * state, then the awaiter, 32 bytes. These are defaults: user space reads
 * where the vtable pointer is off Runnable::run's code; the state word is
 * the other end of the first two words. */
#define ASYNC_TASK_HDR_VTABLE 0
#define ASYNC_TASK_HDR_STATE 8
#define ASYNC_TASK_HDR_SIZE 32

/* The vtable (raw.rs TaskVTable): schedule, drop_future, get_output,
 * drop_ref, destroy, run, clone_waker (4.3 adds a layout_info pointer);
 * Runnable::run jumps through `run`, its slot also read off that code.
 * Not repr(C), but rustc keeps the declared order of same-sized fields:
 * every fixture build's vtables (15 builds, 58 vtables) have these slots. */
#define ASYNC_TASK_VT_FUNCS 7
#define ASYNC_TASK_VT_RUN 0x28
/* schedule, where run is at its declared place (the fields kept in order) */
#define ASYNC_TASK_VT_SCHEDULE 0
#define ASYNC_TASK_VT_CLONE_WAKER 0x30
/* 4.3's layout_info: &'static Option<TaskLayout>, a static of 5 words
 * (size, align, offset_s, offset_f, offset_r in an order rustc picks,
 * Layout's align the niche) that are no pointers; what a stripped binary's
 * vtables are found by, with the functions (runtime/async_task_vtables.c) */
#define ASYNC_TASK_VT_LAYOUT_INFO 0x38
#define ASYNC_TASK_TASK_LAYOUT_WORDS 5

/* The task's waker vtable (core's RawWakerVTable, RawTask::RAW_WAKER_VTABLE):
 * clone_waker, wake, wake_by_ref, drop_waker; clone_waker is the task
 * vtable's too, and returns a waker of this vtable (its address in its code). */
#define ASYNC_TASK_WAKER_FUNCS 4
#define ASYNC_TASK_WAKER_CLONE 0
#define ASYNC_TASK_WAKER_WAKE 1
#define ASYNC_TASK_WAKER_WAKE_BY_REF 2

/* Calls that hand a new task to RawTask::schedule (Runnable::schedule
 * inlined into a spawn), by return address: at most this many. */
#define ASYNC_TASK_SPAWN_CALLS_MAX 256

#endif /* ASYNC_TASK_LAYOUT_H */
