/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What every runtime's probes share: the ring buffer, loss counters and the
 * per-thread stack of tasks being polled (polls nest, e.g. a LocalSet polled
 * inside a task, so "the current task" is the top of that stack).
 */
#ifndef PROBE_COMMON_BPF_H
#define PROBE_COMMON_BPF_H

#include "aib_events.h"

#define ID_OFF_CACHE 8
/* A live task has a handful of references; a freed header holds allocator
 * free-list words where its state was, which read as an absurd count. */
#define MAX_SANE_REFS (1ULL << 24)

struct thread_state {
	__u32 depth;
	/* tokio: polls (a bit per depth) whose task panicked, caught by the
	 * harness below raw::poll: its return reports AIB_POLL_PANICKED */
	__u32 panicked;
	__u64 task[AIB_MAX_POLL_DEPTH];
	__u64 task_id[AIB_MAX_POLL_DEPTH];
	/* Stack pointer at the poll's entry, for polls that end without a
	 * uretprobe (async-task: the frame is gone once sp is above it);
	 * 0 for polls a uretprobe ends (tokio). */
	__u64 sp[AIB_MAX_POLL_DEPTH];
	/* Stack pointer at every poll's entry: the top of its await stack. */
	__u64 frame_sp[AIB_MAX_POLL_DEPTH];
	/* async-task: the last return address seen at a poll entry, so the
	 * return-site table is looked up only when it changes */
	__u64 last_ret;
	/* Load bias of the executable, from the last poll entry's cookie:
	 * probes without a cookie (syscall tracepoints) need it for stacks. */
	__u64 bias;
	/* Polls (a bit per depth) of tasks on the blocking pool, the worker
	 * carriers among them: blocking there is what that pool is for. */
	__u32 quiet;
	/* tokio's Acquire::poll entered and not returned yet (locks.bpf.h) */
	__u32 acq_permits;
	__u64 acq_sp; /* sp at its entry; its return site runs at acq_sp + 8 */
	__u64 acq, acq_sem;
	/* a syscall entered while polling a task (blocking.bpf.h) */
	__u64 sys_start, sys_arg;
	__u32 sys_nr, sys_op;
	/* block_on roots on the poll stack (block_on.bpf.h), a bit per depth:
	 * which entries are roots, which roots are between two polls (then
	 * no task is being polled) */
	__u32 roots, root_idle;
	__u32 root_async_task; /* roots of an async-task runtime's loop (else tokio's) */
	/* the top root's poll cloned its waker already (block_on.bpf.h) */
	__u32 root_cloned;
	/* sp at the entry of the park the top root's loop is in; 0 = none */
	__u64 parked_sp;
	/* tokio worker thread: 1 + the depth its loop runs at; 0 = none */
	__u32 worker_depth;
	__u32 pad_roots;
	__u64 root_key[AIB_MAX_POLL_DEPTH]; /* its waker's data, once seen */
	/* tokio: task vtable -> offset of the task id, direct-mapped, so a
	 * hit reads the vtable's slot only for a type it has not seen */
	struct {
		__u64 vtable, id_off;
	} id_offs[ID_OFF_CACHE];
};

/* Syscalls inside polls this long are reported (blocking.bpf.h); 0 = not
 * traced, and the polls need not be told apart (thread_state.quiet). */
const volatile __u64 blocked_min_ns;

/* One ring buffer per CPU, made and put here by user space before any probe
 * is attached (user/ring_merge.c puts the records back in time order): a
 * single ring's lock, taken by every record of every CPU, cost the busy
 * programs more than all the rest they do. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1); /* the CPU count, set by user space */
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		__uint(max_entries, 1 << 20); /* resized by user space before load */
	});
} events SEC(".maps");

/* This CPU's ring (a program does not migrate while it runs), or NULL. */
static __always_inline void *cpu_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&events, &cpu);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AIB_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Per thread, in the kernel's task storage: found from `current` without a
 * hash lookup on every hit, and freed when the thread exits (a reused tid
 * starts afresh). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

/* Wake the reader only once a batch is waiting: a wakeup per event would cost
 * the traced program a lot; the reader also polls on a short timeout. */
#define WAKEUP_BYTES (256 << 10)

static __always_inline void count_drop(__u32 why)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &why);

	if (n)
		*n += 1;
}

static __always_inline void *event_reserve(__u64 size)
{
	void *ring = cpu_ring();
	void *e = ring ? bpf_ringbuf_reserve(ring, size, 0) : NULL;

	if (!e)
		count_drop(AIB_DROP_RINGBUF);
	return e;
}

/* The bytes a record of `size` takes in the ring (its 8-byte header, 8-aligned). */
#define RING_BYTES(size) ((((__u64)(size)) + 8 + 7) & ~7ULL)

/* Wake the reader each time another WAKEUP_BYTES have queued up: when the
 * record of `bytes` that brought the queue to `queued` crossed a multiple.
 * Waking on every record past the mark instead (a reader that lags keeps
 * it there) costs each record a self-IPI: about 1 us in a VM. A crossing
 * two CPUs race past unseen waits for the next one, or the reader's timeout. */
static __always_inline __u64 wakeup_flags(__u64 queued, __u64 bytes)
{
	return queued >= bytes && queued / WAKEUP_BYTES != (queued - bytes) / WAKEUP_BYTES
		       ? BPF_RB_FORCE_WAKEUP
		       : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 queued_bytes(void)
{
	void *ring = cpu_ring();

	return ring ? bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) : 0;
}

/* Submit a record event_reserve() gave (so already counted as queued). */
#define event_submit(e)                                                                           \
	bpf_ringbuf_submit((e), wakeup_flags(queued_bytes(), RING_BYTES(sizeof(*(e)))))

/* Copy `size` bytes into the ring as one record. */
static __always_inline void event_output(void *data, __u64 size)
{
	void *ring = cpu_ring();

	if (!ring || bpf_ringbuf_output(ring, data, size,
					wakeup_flags(queued_bytes() + RING_BYTES(size),
						     RING_BYTES(size))))
		count_drop(AIB_DROP_RINGBUF);
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline void fill_hdr(struct aib_hdr *h, __u16 kind, __u16 size, __u32 tid)
{
	h->kind = kind;
	h->size = size;
	h->tid = tid;
	h->ts = bpf_ktime_get_ns();
}

/* This thread's state, or NULL if it has none yet. */
static __always_inline struct thread_state *thread_state_lookup()
{
	return bpf_task_storage_get(&threads, bpf_get_current_task_btf(), NULL, 0);
}

/* This thread's state, made (zeroed) on first use. */
static __always_inline struct thread_state *thread_state_get(void)
{
	struct thread_state *ts = bpf_task_storage_get(&threads, bpf_get_current_task_btf(), NULL,
						       BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!ts)
		count_drop(AIB_DROP_THREAD);
	return ts;
}

/* A depth checked below AIB_MAX_POLL_DEPTH, bounded again in the register
 * the loads use: the compiler may check a copy, which the verifier does
 * not connect to it once zero-extended. */
_Static_assert(!(AIB_MAX_POLL_DEPTH & (AIB_MAX_POLL_DEPTH - 1)), "a power of two");
static __always_inline __u32 poll_slot(__u32 depth)
{
	barrier_var(depth);
	return depth & (AIB_MAX_POLL_DEPTH - 1);
}

/* The task being polled by the thread of `ts` (top of its poll stack), or 0. */
static __always_inline void top_task(const struct thread_state *ts, __u64 *task, __u64 *task_id)
{
	__u32 top;

	*task = 0;
	*task_id = 0;
	if (!ts || ts->depth == 0)
		return;
	top = ts->depth - 1;
	if (top >= AIB_MAX_POLL_DEPTH)
		return;
	top = poll_slot(top);
	if (ts->root_idle & (1u << top))
		return; /* a root between polls: its loop runs, no future */
	*task = ts->task[top];
	/* an async-task entry (sp set) keeps its vtable there, not an id */
	*task_id = ts->sp[top] ? 0 : ts->task_id[top];
}

static __always_inline void current_task(__u64 *task, __u64 *task_id)
{
	top_task(thread_state_lookup(), task, task_id);
}

/* A spawn record with the user stack copied from sp (a new async-task
 * task, a block_on root): user space unwinds it to the program's frame. */
struct spawn_scratch {
	struct aib_ev_spawn_stack ev;
	__u8 bytes[AIB_STACK_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spawn_scratch);
} spawn_scratch SEC(".maps");

/* The scratch record, its spawn fields zeroed but for the parent (the
 * task this thread polls), or NULL. */
static __always_inline struct spawn_scratch *spawn_stack_begin(__u32 flags, __u64 task,
							       __u32 runtime)
{
	__u32 zero = 0;
	struct spawn_scratch *buf = bpf_map_lookup_elem(&spawn_scratch, &zero);
	struct aib_ev_spawn *e;

	if (!buf)
		return NULL;
	e = &buf->ev.spawn;
	fill_hdr(&e->hdr, AIB_EV_SPAWN_STACK, 0, current_tid());
	e->predicted_id = 0;
	current_task(&e->parent_task, &e->parent_task_id);
	e->file_addr = 0;
	e->file_len = e->line = e->col = 0;
	e->flags = flags;
	e->task = task;
	e->runtime = runtime;
	e->pad = 0;
	return buf;
}

/* Copy up to max bytes of the stack into it and send it; ip is where to
 * name the innermost frame (the probe's, or an instruction just before). */
static __always_inline void spawn_stack_send(struct spawn_scratch *buf, struct pt_regs *ctx,
					     __u64 bias, __u64 ip, __u32 max)
{
	__u64 sp = PT_REGS_SP(ctx);
	__u32 len;

	buf->ev.stack.bias = bias;
	buf->ev.stack.ip = ip;
	buf->ev.stack.sp = sp;
	buf->ev.stack.bp = PT_REGS_FP(ctx);
	buf->ev.stack.pad = 0;
	/* A read fails whole when it runs off the stack's top, which is a
	 * page boundary: try up to each of the next pages' ends (a main
	 * thread's sp is often a few KiB below it, how far depends on the
	 * environment's size). */
	len = 0;
	for (int k = AIB_STACK_MAX / 4096; k >= 0 && !len; k--) {
		__u32 want = 4096 - (sp & 4095) + k * 4096;

		if (want > max)
			want = max;
		if (want > AIB_STACK_MAX)
			want = AIB_STACK_MAX;
		if (!bpf_probe_read_user(buf->bytes, want, (void *)sp))
			len = want;
	}
	buf->ev.stack.len = len;
	buf->ev.spawn.hdr.size = (__u16)(sizeof(buf->ev) + len);
	event_output(buf, sizeof(buf->ev) + len);
}

#endif
