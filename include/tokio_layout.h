/* SPDX-License-Identifier: MIT */
/*
 * tokio's memory layout, as the BPF probes and user space read it: one
 * place for each fact. tokio 1.24 .. 1.53 share all of it (measured on
 * --release builds with rustc 1.95 against 1.24.2 and 1.53.1); the source
 * files named are tokio's (src/...). Macros only, so that it compiles
 * under clang -target bpf (vmlinux.h) and in user space alike.
 *
 * What rustc may lay out otherwise (the batch semaphore's) is read from
 * each binary at attach and has no value here; the rest is repr(C), or a
 * constant of tokio's.
 */
#ifndef TOKIO_LAYOUT_H
#define TOKIO_LAYOUT_H

/* The task state word (runtime/task/state.rs): flags below bit 6, the
 * reference count above (REF_COUNT_SHIFT). */
#define TOKIO_STATE_RUNNING 0x1ULL
#define TOKIO_STATE_COMPLETE 0x2ULL
#define TOKIO_STATE_NOTIFIED 0x4ULL
#define TOKIO_STATE_JOIN_INTEREST 0x8ULL
#define TOKIO_STATE_JOIN_WAKER 0x10ULL
#define TOKIO_STATE_CANCELLED 0x20ULL
#define TOKIO_REF_SHIFT 6
#define TOKIO_REF_ONE (1ULL << TOKIO_REF_SHIFT)
/* A spawned task: three references, JOIN_INTEREST | NOTIFIED (0xcc) */
#define TOKIO_STATE_INITIAL (3 * TOKIO_REF_ONE | TOKIO_STATE_JOIN_INTEREST | TOKIO_STATE_NOTIFIED)

/* The task header, repr(C) (runtime/task/core.rs Header): the scheduler,
 * task id and future follow it in Core, also repr(C). */
#define TOKIO_HDR_STATE 0
#define TOKIO_HDR_QUEUE_NEXT 8
#define TOKIO_HDR_VTABLE 16
#define TOKIO_HDR_OWNER_ID 24
#define TOKIO_HDR_SIZE 32

/* The task vtable, one static per future type (runtime/task/raw.rs
 * Vtable): 7 function pointers, poll first, then 3 offsets from the
 * header; with --cfg tokio_unstable 1.53 adds a 4th (spawn location). The
 * id's offset differs per future type (32, 40, 48, 136 seen): always read
 * it through the vtable. */
#define TOKIO_VT_POLL 0x00
#define TOKIO_VT_SCHEDULE 0x08
#define TOKIO_VT_DEALLOC 0x10
#define TOKIO_VT_TRY_READ_OUTPUT 0x18
#define TOKIO_VT_DROP_JOIN_HANDLE_SLOW 0x20
#define TOKIO_VT_DROP_ABORT_HANDLE 0x28
#define TOKIO_VT_SHUTDOWN 0x30
#define TOKIO_VT_FUNCS 7
#define TOKIO_VT_TRAILER_OFFSET 0x38
#define TOKIO_VT_SCHEDULER_OFFSET 0x40
#define TOKIO_VT_ID_OFFSET 0x48
#define TOKIO_VT_OFFSETS 3
#define TOKIO_VT_WORDS 10

/* A vtable told by its shape alone, where there are no symbols
 * (runtime/tokio_vtables.c): its 7 functions, then 3 offsets that Cell's
 * repr(C) orders, header <= scheduler <= id (a zero-sized scheduler shares
 * the id's) < trailer, all 8-aligned. Seen (rustc 1.95, 330 vtables of
 * 1.24.2, 121 of 1.53.1): scheduler 32, or 128 where the future is
 * 128-aligned; id the scheduler's, or 8 or 16 more; trailer 72..4264.
 * The trailer's bound is loose on purpose: 1.24 keeps the whole future in
 * the cell (1.53 boxes one over 16 KiB), and futures of 64 KiB exist; one
 * of 16 MiB could not be built on a stack to be spawned (8 MiB for main,
 * 2 MiB for tokio's workers). Any bound from 1 << 16 up finds the same on
 * every fixture and in sccache. */
#define TOKIO_VT_TRAILER_MAX (1ULL << 24)
#define TOKIO_VT_OFFSETS_OK(trailer, sched, id)                                          \
	((sched) >= TOKIO_HDR_SIZE && (id) >= (sched) && (trailer) > (id) &&             \
	 (trailer) < TOKIO_VT_TRAILER_MAX && !(((trailer) | (sched) | (id)) % 8))

/* worker::run(Arc<Worker>): ArcInner { strong, weak, Worker { handle,
 * index, .. } } (runtime/scheduler/multi_thread/worker.rs, measured) */
#define TOKIO_WORKER_INDEX 0x18

/* The batch semaphore under Mutex, RwLock, Semaphore and bounded mpsc
 * (sync/batch_semaphore.rs) and its Acquire future are not repr(C), and
 * Acquire.num_permits went from u32 (1.24) to usize (1.53): their layout
 * is read from each binary (user/runtime/tokio.c, struct lock_layout),
 * never assumed here. */

/* A RwLock writer acquires all of MAX_READS (sync/rwlock.rs: u32::MAX >> 3). */
#define TOKIO_RWLOCK_MAX_READS (~0U >> 3)

#endif /* TOKIO_LAYOUT_H */
