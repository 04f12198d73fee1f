/* SPDX-License-Identifier: MIT */
/*
 * Where a tokio task's future is parked, read from the target's memory with
 * the executable's full DWARF type information (rustc debug = "full"): the
 * chain of async fns (and async blocks) from the task's root future down to
 * the innermost one, each at its suspend point (the `.await`, as file:line),
 * then the awaitee that is not an async fn (the leaf: a oneshot Receiver, a
 * Sleep, a JoinHandle, ...) and a few facts read from well-known leaves.
 * Layouts are decoded once per type and cached; target memory is never
 * trusted (bounded walks, bounded reads, checked discriminants).
 */
#ifndef FUTURE_DECODER_H
#define FUTURE_DECODER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"

struct future_decoder;
struct binary;

/* Decodes through the binary's DWARF (borrowed: it must outlive the
 * decoder). NULL + errno: ENODATA (no DWARF type information: no DWARF, or
 * line-tables-only), ENOMEM. */
struct future_decoder *future_decoder__new(const struct binary *bin);
void future_decoder__free(struct future_decoder *d);

/* Reads len bytes of the target at runtime address addr: 0 or -errno. */
typedef int (*future_read_fn)(__u64 addr, void *buf, size_t len, void *ctx);

#define FUTURE_MAX_FRAMES 16

struct future_frame {
	/* the async fn's path, e.g. "stuck::recv_config", a method's with its
	 * type as the demangler prints it ("tokio::sync::mutex::Mutex<T>::lock");
	 * an async block: its enclosing fn + "::{async_block#N}" */
	const char *function;
	const char *file; /* of the suspend point (its variant's declaration), NULL if unknown */
	__u32 line, col;  /* 0 if unknown (rustc gives no column) */
};

struct future_await {
	/* frames[0] = the task's root future, frames[nframes-1] = the innermost
	 * async fn; at most FUTURE_MAX_FRAMES (deeper ones are dropped) */
	int nframes;
	struct future_frame frames[FUTURE_MAX_FRAMES];
	/* type of the innermost awaitee that is not an async fn state machine,
	 * e.g. "tokio::sync::oneshot::Receiver<u32>", "tokio::time::sleep::Sleep";
	 * "" if none (the innermost fn is not suspended, or the chain was cut) */
	char leaf_type[256];
	__u64 leaf_addr; /* its runtime address */
	/* facts read from well-known leaves (has_ flags set only when read) */
	bool has_deadline;
	__u64 deadline_ns; /* tokio Sleep: its deadline, CLOCK_MONOTONIC ns */
	__u64 join_header; /* tokio JoinHandle<T>: the awaited task's header, else 0 */
	int fd;		   /* an fd reached from the leaf (a TcpStream read: its socket), else -1 */
	/* frames[0]'s state: "suspended", "unresumed" (never polled),
	 * "returned", "panicked"; "finished" when the task's stage is not Running
	 * (output stored or consumed: nframes = 0); "opaque" when the root future
	 * is not an async fn and none was found inside it (nframes = 0) */
	const char *root_state;
};

/* Decodes the tokio task whose header is at runtime address `header`; `bias`
 * is the load bias of the executable (runtime = ELF vaddr + bias). 0 and
 * *out filled; -ENOENT: the task's types are not in the DWARF (the header's
 * vtable does not lead to a tokio::runtime::task::raw::poll<T, S> we know),
 * -EFAULT: memory on the way unreadable, -EPROTO: the memory does not match
 * the types (a discriminant no variant has); -EINVAL, -ENOMEM. Strings in
 * *out live as long as the decoder. */
int future_decoder__tokio_task(struct future_decoder *d, __u64 header, __u64 bias,
			       future_read_fn read, void *ctx, struct future_await *out);

/*
 * tokio locks seen in a parked task's future (a snapshot: no probe needs to
 * have fired). Held: the guards and permits stored by value in the live
 * variant of each async fn of the chain (future_decoder__tokio_task's
 * frames): tokio::sync's MutexGuard, OwnedMutexGuard, MappedMutexGuard,
 * RwLockReadGuard, OwnedRwLockReadGuard, RwLockWriteGuard,
 * RwLockMappedWriteGuard, OwnedRwLockWriteGuard, OwnedRwLockMappedWriteGuard,
 * SemaphorePermit and OwnedSemaphorePermit, also inside Options, tuples and
 * structs held by value; not behind pointers (a Vec or Box of guards), not
 * in futures other than the chain's, not in a select!/join! branch the chain
 * does not follow. A MutexGuard or write guard whose semaphore shows a free
 * permit is left out (a guard dropped before an .await whose bytes rustc
 * kept in the variant). Waiting: the leaf awaitee, when it is (or holds by
 * value) a tokio::sync::batch_semaphore::Acquire, whatever its `queued`
 * (not yet queued: a coop yield, still an acquire in progress); except that
 * a queued Acquire whose node needs no more permits (all assigned, the task
 * not polled since) is reported as held.
 */
struct future_lock {
	__u64 sem;	/* runtime address of the tokio::sync::batch_semaphore::Semaphore
			   (a Mutex's or RwLock's `s`, a Semaphore's `ll_sem`) */
	__u32 permits;	/* held by the guard or permit, or asked by the Acquire */
	bool waiting;	/* an Acquire being awaited (true), or a guard or permit held */
	enum aib_lock_kind kind; /* held: from the guard's type; waiting: from the
				    innermost async fn of the chain (Mutex::lock or
				    ::acquire: MUTEX, RwLock::read*: RWLOCK_READ,
				    RwLock::write*: RWLOCK_WRITE, Semaphore::acquire*:
				    SEMAPHORE, mpsc's Sender: CHANNEL), else UNKNOWN */
};

#define FUTURE_MAX_LOCKS 16

/* The locks the task's parked future holds (outermost async fn to
 * innermost, each guard once) and then the one it waits for: up to max into
 * out (when there are more, the waiting one still comes last, in out[max-1]).
 * Returns how many were stored, or -errno as future_decoder__tokio_task
 * (-EINVAL also for max < 0, or out NULL with max > 0). A task that is not
 * Running (finished) has none: 0. The semaphores' permit words hold the
 * free permits << permit_shift (the plan's struct lock_layout). */
int future_decoder__tokio_locks(struct future_decoder *d, __u64 header, __u64 bias,
				future_read_fn read, void *ctx, unsigned permit_shift,
				struct future_lock *out, int max);

#endif
