/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * tokio's locks: Mutex, RwLock, Semaphore and the bounded mpsc channel all
 * queue on one batch semaphore, whose address is the lock's identity.
 *
 * - <Acquire as Future>::poll entry notes (Acquire, semaphore, permits, sp)
 *   on the thread. Its result (al: 0 Ready(Ok), 1 Ready(Err), 2 Pending) is
 *   read where each call returns in its caller, the site user space found
 *   and probed (LOCK_POLLED): no uretprobe, so a panic can never unwind
 *   through a hijacked return address. sp tells the site it is that call's
 *   return (the probe point keeps sp and rax as at the return).
 * - Semaphore::release(sem, permits): a guard or permit given back.
 * - <Acquire as Drop>::drop of a still queued Acquire: the wait ends
 *   without the lock (a timeout, a cancelled task).
 *
 * Layout: user space reads the Acquire's fields and the semaphore's permit
 * word from the binary's DWARF types or off its code (runtime/tokio.c) and
 * sets them before load; no lock probe is attached without them.
 */
#ifndef LOCKS_BPF_H
#define LOCKS_BPF_H

#include "probe_common.bpf.h"

const volatile __u64 acq_sem_off;
const volatile __u64 acq_permits_off;
const volatile __u64 acq_permits_size; /* 4 (u32) or 8 (usize) */
const volatile __u64 acq_queued_off;
const volatile __u64 sem_permits_off;
const volatile __u64 sem_permit_shift;

/* Acquire.num_permits, as wide as the binary has it (little-endian: the
 * low half of a usize is the u32 the API takes). */
static __always_inline int read_permits(__u64 acquire, __u32 *permits)
{
	__u64 v = 0;
	int err = acq_permits_size == 8 ?
			  bpf_probe_read_user(&v, 8, (void *)(acquire + acq_permits_off)) :
			  bpf_probe_read_user(&v, 4, (void *)(acquire + acq_permits_off));

	*permits = v > 0xffffffffULL ? 0xffffffffU : (__u32)v;
	return err;
}

static __always_inline void lock_event(__u32 tid, __u64 sem, __u64 acquire, __u64 site,
				       __u64 available, __u32 permits, __u16 op)
{
	struct aib_ev_lock *e = event_reserve(sizeof(*e));

	if (!e)
		return;
	fill_hdr(&e->hdr, AIB_EV_LOCK, sizeof(*e), tid);
	e->sem = sem;
	current_task(&e->task, &e->task_id);
	e->acquire = acquire;
	e->site = site;
	e->available = available;
	e->permits = permits;
	e->op = op;
	e->kind = AIB_LOCK_KIND_UNKNOWN; /* user space knows it from the site */
	event_submit(e);
}

/* Acquire::poll(self: Pin<&mut Acquire>, cx) entered. */
static __always_inline int lock_poll(struct pt_regs *ctx, __u64 acquire)
{
	__u32 permits = 0;
	struct thread_state *ts = thread_state_get();
	__u64 sem = 0;

	if (!ts)
		return 0;
	if (ts->acq_sp)
		count_drop(AIB_DROP_LOCK_NESTED); /* the last one's return went unseen */
	if (bpf_probe_read_user(&sem, sizeof(sem), (void *)(acquire + acq_sem_off)) ||
	    read_permits(acquire, &permits)) {
		ts->acq_sp = 0;
		return 0;
	}
	ts->acq_sp = PT_REGS_SP(ctx);
	ts->acq = acquire;
	ts->acq_sem = sem;
	ts->acq_permits = permits;
	return 0;
}

/* The permits free before this call took its own: read at the call's
 * return, just before the record's time is taken. Read at the entry, a
 * whole acquire by another thread between this entry and return counted
 * twice (free at the entry, and held by the time this record is ordered):
 * a Semaphore(3) was seen as 4 in a loaded run of e2e locks.sh rwlock. */
static __always_inline __u64 lock_available(const struct thread_state *ts, __u8 result)
{
	__u64 word = 0;

	if (bpf_probe_read_user(&word, sizeof(word), (void *)(ts->acq_sem + sem_permits_off)))
		return ~0ULL;
	return (word >> (sem_permit_shift & 63)) +
	       (result == AIB_LOCK_ACQUIRED ? ts->acq_permits : 0);
}

/* Where an Acquire::poll call returned (site = this probe's ELF vaddr). */
static __always_inline int lock_polled(struct pt_regs *ctx, __u64 site)
{
	__u32 tid = current_tid();
	struct thread_state *ts = thread_state_lookup();
	__u8 result = (__u8)PT_REGS_RC(ctx);

	/* another caller's return (the site also runs for calls we did not
	 * see enter), or a return after a missed one */
	if (!ts || !ts->acq_sp || PT_REGS_SP(ctx) != ts->acq_sp + 8)
		return 0;
	ts->acq_sp = 0;
	if (result > AIB_LOCK_PENDING)
		return 0;
	lock_event(tid, ts->acq_sem, ts->acq, site, lock_available(ts, result), ts->acq_permits,
		   result);
	return 0;
}

/* Semaphore::release(&self, permits) */
static __always_inline int lock_release(__u64 sem, __u64 permits)
{
	__u32 tid = current_tid();

	if (!permits || permits > 0xffffffffULL)
		return 0;
	lock_event(tid, sem, 0, 0, ~0ULL, (__u32)permits, AIB_LOCK_RELEASED);
	return 0;
}

/* <Acquire as Drop>::drop(&mut self): only a queued one gives up a wait. */
static __always_inline int lock_drop(__u64 acquire)
{
	__u8 queued = 0;
	__u32 permits = 0;
	__u64 sem = 0;

	if (bpf_probe_read_user(&queued, sizeof(queued), (void *)(acquire + acq_queued_off)) ||
	    queued != 1)
		return 0;
	if (bpf_probe_read_user(&sem, sizeof(sem), (void *)(acquire + acq_sem_off)))
		return 0;
	read_permits(acquire, &permits);
	lock_event(current_tid(), sem, acquire, 0, ~0ULL, permits, AIB_LOCK_GAVE_UP);
	return 0;
}

#endif
