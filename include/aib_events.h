/* SPDX-License-Identifier: MIT */
/*
 * The one event ABI shared by the BPF probes, the ring-buffer reader, the
 * recording file and the decoder. Every record starts with struct aib_hdr;
 * `size` is the whole record's size in bytes, so a reader can skip or
 * validate any record without knowing its kind.
 *
 * Kinds below AIB_REC_FIRST come from BPF; the others are written by user
 * space (process facts, location strings, thread names, loss counters) so a
 * recording replays into exactly the same report as the live session.
 *
 * Task identity: `task` is the runtime's task header address, reused by the
 * allocator once a task is freed; `task_id` is the runtime's own id (tokio's
 * task::Id), read through the task vtable, or 0 where the runtime has none
 * (async-task: then a spawn record with AIB_SPAWN_TASK_KNOWN starts a new
 * identity at its header). The pair identifies a task.
 */
#ifndef AIB_EVENTS_H
#define AIB_EVENTS_H

#ifdef __bpf__
/* vmlinux.h supplies __u16/__u32/__u64 */
#else
#include <linux/types.h>
#endif

#define AIB_ABI_VERSION 2
#define AIB_MAX_POLL_DEPTH 8 /* nested polls tracked per thread */

/*
 * What a probe site is. User space attaches every site to one entry program
 * (or the return program for poll ends) with the attach cookie
 * AIB_COOKIE(probe, vaddr): the BPF side dispatches on the probe and gets
 * the load bias from the vaddr.
 */
enum aib_probe {
	AIB_PROBE_POLL = 1,	   /* entry + return */
	AIB_PROBE_WAKE_BY_VAL = 2,
	AIB_PROBE_WAKE_BY_REF = 3,
	AIB_PROBE_SHUTDOWN = 4,
	AIB_PROBE_DEALLOC = 5,
	AIB_PROBE_WORKER_RUN = 6,
	AIB_PROBE_SPAWN = 7,
	AIB_PROBE_SPAWN_BLOCKING = 8,
	AIB_PROBE_SPAWN_LOCAL = 9,
	AIB_PROBE_BIND = 10,	      /* the runtime takes ownership of a new task: id known */
	AIB_PROBE_BLOCKING_TASK = 11, /* a new blocking task is queued: header known */
	/* async-task (async-std, smol): no uretprobe anywhere, see bpf/async_task.bpf.h */
	AIB_PROBE_AT_RUN = 12,	      /* RawTask::run entry: poll begins */
	AIB_PROBE_AT_RUN_RETURN = 13, /* where a run call returns in its caller */
	AIB_PROBE_AT_SCHEDULE = 14,   /* RawTask::schedule: a new task's first schedule */
	AIB_PROBE_AT_WAKE = 15,
	AIB_PROBE_AT_WAKE_BY_REF = 16,
	AIB_PROBE_AT_TASK_NAME = 17,  /* async-std Builder::spawn: the task's name */
	AIB_PROBE_PANIC_CAUGHT = 18,  /* catch_unwind caught a panic: frames below are gone */
	/* A task's waker is cloned: a leaf future is parking the task being
	 * polled, so this thread's stack shows the .await (see AIB_AWAIT_*) */
	AIB_PROBE_AWAIT = 19,	      /* tokio waker::clone_waker */
	AIB_PROBE_AT_AWAIT = 20,      /* async-task RawTask::clone_waker */
	AIB_PROBE_JOIN = 21,	      /* tokio raw::try_read_output: a JoinHandle is polled */
	/* tokio's batch semaphore (Mutex, RwLock, Semaphore, bounded mpsc):
	 * no uretprobe, the results are read where each call returns */
	AIB_PROBE_LOCK_POLL = 22,     /* <Acquire as Future>::poll entry */
	AIB_PROBE_LOCK_POLLED = 23,   /* where an Acquire::poll call returns (al = Poll) */
	AIB_PROBE_LOCK_RELEASE = 24,  /* Semaphore::release(sem, permits) */
	AIB_PROBE_LOCK_DROP = 25,     /* <Acquire as Drop>::drop: a queued acquire given up */
	/* tokio's harness caught a panic of the task it polls: where its
	 * catch_unwind's call of __rust_panic_cleanup returns (no new record:
	 * that poll's end says AIB_POLL_PANICKED) */
	AIB_PROBE_TOKIO_PANIC = 26,
	/* block_on roots (bpf/block_on.bpf.h): the future a thread polls itself */
	AIB_PROBE_ROOT_START = 27,     /* a tokio root's loop is entered (enter_runtime) */
	AIB_PROBE_ROOT_END = 28,       /* ... and left, also on unwind (EnterRuntimeGuard::drop) */
	AIB_PROBE_ROOT_PARK = 29,      /* entry + return: the loop parks, arg0 = its waker's data;
					  every return is followed by a poll */
	AIB_PROBE_ROOT_PARK_WOKEN = 30, /* the same, a poll follows only if the root was woken
					   (tokio current_thread's Context::park: arg2 = data) */
	AIB_PROBE_ROOT_UNPARKED = 31,  /* where a ROOT_PARK_WOKEN call returns */
	AIB_PROBE_ROOT_PARK_NOTIFIED = 32, /* entry + return: a poll follows a return of al = 1
					      (async-io's parking::Inner::park) */
	AIB_PROBE_ROOT_WAKE = 33,      /* a root waker's wake / wake_by_ref: arg0 = data */
	AIB_PROBE_ROOT_AWAIT = 34,     /* a root waker's clone: its await stack */
	/* the same for wakers whose data points at an Arc of the park key
	 * (async-io's waker_fn closure: *(data) = ArcInner of parking's Inner) */
	AIB_PROBE_ROOT_WAKE_ARC = 35,
	AIB_PROBE_ROOT_AWAIT_ARC = 36,
	AIB_PROBE_ROOT_START_ASYNC_IO = 37, /* async-io's block_on: a root of async-task's runtimes */
	AIB_PROBE_ROOT_RETURNED = 38,  /* where a call of a loop (ROOT_START's function) returns */
	AIB_PROBE_ID_TAKEN = 39,       /* tokio Id::next took an id: the cookie's arg names the
					  register holding it and the xadd's length
					  (AIB_ID_TAKEN_ARG) */
	/* async-task where Runnable::schedule is inlined (LTO): */
	AIB_PROBE_AT_SCHEDULE_ANY = 40, /* RawTask::schedule: a new task's first schedule, or a
					   wake's (told apart by the tasks seen running) */
	AIB_PROBE_ROOT_START_INLINED = 41, /* a tokio block_on calls its park loop with
					      enter_runtime inlined: a root, unless one is open */
	AIB_PROBE_MAX
};

/* probe in bits 56-63, a small argument of the site in 48-55, the vaddr
 * (< 2^47 on x86_64) below */
#define AIB_COOKIE_SHIFT 56
#define AIB_COOKIE_ARG_SHIFT 48
#define AIB_COOKIE(probe, arg, vaddr)                                                 \
	(((__u64)(probe) << AIB_COOKIE_SHIFT) | ((__u64)(arg) << AIB_COOKIE_ARG_SHIFT) | \
	 (vaddr))
#define AIB_COOKIE_PROBE(c) ((__u32)((c) >> AIB_COOKIE_SHIFT))
#define AIB_COOKIE_ARG(c) ((__u32)((c) >> AIB_COOKIE_ARG_SHIFT) & 0xff)
#define AIB_COOKIE_VADDR(c) ((c) & ((1ULL << AIB_COOKIE_ARG_SHIFT) - 1))
/* AIB_PROBE_ID_TAKEN's argument: x86 register number, instruction length */
#define AIB_ID_TAKEN_ARG(reg, len) ((__u8)(((reg) & 15) | ((len) & 15) << 4))

/* Index into the BPF `drops` per-CPU counters; every one is reported. */
enum aib_drop {
	AIB_DROP_RINGBUF = 0, /* ring buffer full */
	AIB_DROP_DEPTH = 1,   /* polls nested deeper than AIB_MAX_POLL_DEPTH */
	AIB_DROP_THREAD = 2,  /* no per-thread state could be created */
	AIB_DROP_RET_SITES = 3, /* return-site table full: a poll end may be late */
	AIB_DROP_AWAIT_STACKS = 4, /* await-stack table full: a task's await site is not kept */
	AIB_DROP_LOCK_NESTED = 5,  /* an Acquire::poll entered before the last one returned */
	AIB_DROP_MAX
};

enum aib_kind {
	AIB_EV_SPAWN = 1,	 /* a spawn call, before the task exists */
	AIB_EV_POLL_BEGIN = 2,
	AIB_EV_POLL_END = 3,
	AIB_EV_WAKE = 4,
	AIB_EV_SHUTDOWN = 5,	 /* task cancelled (abort or runtime shutdown) */
	AIB_EV_DEALLOC = 6,	 /* task memory freed: identity ends */
	AIB_EV_WORKER_START = 7, /* a runtime worker thread starts running */
	AIB_EV_SPAWN_ID = 8,	 /* the exact id of this thread's last spawn call */
	AIB_EV_TASK_NAME = 9,	 /* the name of this thread's next spawn */
	AIB_EV_JOIN = 12,	 /* a task polls the JoinHandle of another */
	AIB_EV_LOCK = 13,	 /* a batch-semaphore acquire, release or give-up */
	AIB_EV_EXEC = 15,	 /* the target exec'd: the image traced is gone */
	/* Only from the ring buffer, never recorded: the session turns them
	 * into the records above (or into new probe sites). */
	AIB_EV_SPAWN_STACK = 10, /* a spawn whose location is in the stack that follows */
	AIB_EV_RET_SITE = 11,	 /* a call site to probe where it returns */
	AIB_EV_BLOCKED = 14,	 /* a syscall that blocked a poll; its stack follows */

	AIB_REC_FIRST = 64,
	AIB_REC_PROCESS = 64,  /* session facts: pid, runtime, clocks */
	AIB_REC_LOCATION = 65, /* spawn location file string */
	AIB_REC_THREAD = 66,   /* thread name */
	AIB_REC_LOST = 67,     /* cumulative events lost in BPF */
	AIB_REC_END = 68,      /* session ended cleanly */
	AIB_REC_AWAIT = 69,    /* where a live task is parked (resolved by user space) */
	AIB_REC_TASK_FOUND = 70, /* a task found in memory at attach, before any event of it */
	AIB_REC_BLOCKED = 71,  /* an AIB_EV_BLOCKED with its stack named (user space) */
	AIB_REC_DROPS = 72,    /* cumulative drops in BPF, by reason */
	AIB_REC_BUILD_ID = 73, /* the executable's GNU build-id */
	AIB_KIND_MAX
};

struct aib_hdr {
	__u16 kind;
	__u16 size; /* whole record, header included */
	__u32 tid;  /* kernel thread id that produced it (0 for user records) */
	__u64 ts;   /* CLOCK_MONOTONIC ns */
};

enum aib_spawn_flags {
	AIB_SPAWN_BLOCKING = 1 << 0, /* spawn_blocking: runs on the blocking pool */
	AIB_SPAWN_LOCAL = 1 << 1,    /* spawn_local */
	AIB_SPAWN_HAS_LOCATION = 1 << 2,
	AIB_SPAWN_TASK_KNOWN = 1 << 3, /* `task` is the new task's header */
	AIB_SPAWN_BLOCK_ON = 1 << 4,   /* a block_on root: `task` is made up (AIB_ROOT_TASK) */
	AIB_SPAWN_RUNTIME_LOOP = 1 << 5, /* user space: a root no program code called */
	AIB_SPAWN_FOUND_PARKED = 1 << 6, /* user space: a root found parked at attach */
	AIB_SPAWN_UNWOUND = 1 << 7,	 /* user space: the location was unwound from the stack
					    (no #[track_caller] Location was read) */
	AIB_SPAWN_UNLESS_KNOWN = 1 << 8, /* with TASK_KNOWN: a reschedule if the task is known */
};

/*
 * A block_on root (a #[tokio::main] or #[tokio::test] body, anything passed
 * to a block_on) is polled by its own thread, outside any runtime task: it
 * has no header and no id, so both are made up from a per-session sequence,
 * outside user addresses and far above any runtime's ids.
 */
#define AIB_ROOT_TASK_BASE (0xb1ULL << 56)
#define AIB_ROOT_ID_BASE (1ULL << 48)
#define AIB_ROOT_TASK(seq) (AIB_ROOT_TASK_BASE | ((seq) & ((1ULL << 48) - 1)))
#define AIB_ROOT_ID(seq) (AIB_ROOT_ID_BASE + ((seq) & ((1ULL << 48) - 1)))
#define AIB_IS_ROOT_TASK(task) (((task) >> 56) == 0xb1)
#define AIB_ROOT_ID_OF(task) AIB_ROOT_ID(task)
/* The await-stack slot of the first root-waker clone of a root's last
 * poll (its own slot has the last clone's). */
#define AIB_ROOT_FIRST_CLONE(task) ((task) | (1ULL << 55))

struct aib_ev_spawn {
	struct aib_hdr hdr;
	__u64 predicted_id; /* tokio's next task id at the spawn call: the new task's
			       id unless another thread spawned in the same instant
			       (then an AIB_EV_SPAWN_ID, when one can be seen, says) */
	__u64 parent_task;  /* header of the task polled on this thread, or 0 */
	__u64 parent_task_id;
	__u64 file_addr;    /* ELF virtual address of the file name, or 0 */
	__u32 file_len;
	__u32 line;
	__u32 col;
	__u32 flags;	    /* enum aib_spawn_flags */
	__u64 task;	    /* AIB_SPAWN_TASK_KNOWN: the new task's header */
	__u32 runtime;	    /* enum aib_runtime */
	__u32 pad;
};

/* A copy of the user stack at a probe, for the unwinder. */
#define AIB_STACK_MAX 16384
struct aib_stack {
	__u64 bias;	    /* load bias of the executable */
	__u64 ip, sp, bp;   /* registers at the probe */
	__u32 len;	    /* bytes of stack that follow the record, from sp up */
	__u32 pad;
};

/* AIB_EV_SPAWN_STACK: the location is not in memory (async-task keeps no
 * #[track_caller] Location): user space unwinds the stack to the caller. */
struct aib_ev_spawn_stack {
	struct aib_ev_spawn spawn; /* spawn.hdr.kind = AIB_EV_SPAWN_STACK */
	struct aib_stack stack;
};

/*
 * The await stacks: a BPF hash map (`await_stacks`) keyed by task header
 * holds, per task, the stack copied the last time one of its polls cloned
 * its waker (a leaf future parking it), from that sp up to the poll's entry:
 * the frames of the .await chain only. One per task, overwritten, deleted
 * when the task completes; user space reads it lazily, never through the
 * ring buffer.
 */
#define AIB_AWAIT_STACK_MAX 8192
struct aib_await_stack {
	__u64 task_id;	 /* tokio's id (checks the header was not reused); 0 for async-task */
	__u64 ts;	 /* when it was taken */
	__u32 tid;
	__u32 runtime;	 /* enum aib_runtime */
	struct aib_stack stack; /* stack.len bytes of `bytes` are valid */
	__u8 bytes[AIB_AWAIT_STACK_MAX];
};

/*
 * A block_on root found parked at attach (user space unwound the thread's
 * stack to its loop): the BPF side takes it onto the thread's poll stack at
 * the loop's next park, then follows it as any root. Keyed by tid in the
 * `root_adopt` map.
 */
struct aib_root_adopt {
	__u64 task, task_id; /* AIB_ROOT_TASK, AIB_ROOT_ID */
	__u64 frame_sp;	     /* the loop function's entry sp: its frame lies below */
	__u32 runtime;	     /* enum aib_runtime whose loop it is */
	__u32 pad;
};

/* A thread's user registers as it entered the kernel (the `thread_regs`
 * task iterator, for the target's threads): where a blocked thread waits. */
struct aib_thread_regs {
	__u32 tid;
	__u32 pad;
	__u64 ip, sp, bp;
};

/* AIB_EV_EXEC: hdr.tid is the thread that exec'd (now the process's only
 * one); the session ends there, as nothing planned for the old image holds
 * for the new one. */
struct aib_ev_exec {
	struct aib_hdr hdr;
};

struct aib_ev_join {
	struct aib_hdr hdr;
	__u64 task;	 /* the task whose JoinHandle is polled */
	__u64 task_id;
	__u64 waiter;	 /* the task polling it (header), or 0 */
	__u64 waiter_id;
};

/*
 * AIB_EV_LOCK: tokio's batch semaphore, under Mutex, RwLock, Semaphore and
 * the bounded mpsc channel. Its address is the lock's identity.
 */
enum aib_lock_op {
	AIB_LOCK_ACQUIRED = 0,	/* Acquire::poll returned Ready(Ok) */
	AIB_LOCK_CLOSED = 1,	/* Ready(Err): the semaphore was closed */
	AIB_LOCK_PENDING = 2,	/* Pending: the task is queued for permits */
	AIB_LOCK_RELEASED = 3,	/* permits given back (a guard or permit dropped) */
	AIB_LOCK_GAVE_UP = 4,	/* a queued Acquire dropped before it got its permits */
	AIB_LOCK_HELD = 5,	/* user space: a guard found in a parked task's memory at attach */
};

/* What the acquire is for, told by the code that calls Acquire::poll
 * (filled in by user space from `site`). */
enum aib_lock_kind {
	AIB_LOCK_KIND_UNKNOWN = 0,
	AIB_LOCK_KIND_MUTEX,
	AIB_LOCK_KIND_RWLOCK_READ,
	AIB_LOCK_KIND_RWLOCK_WRITE,
	AIB_LOCK_KIND_SEMAPHORE,
	AIB_LOCK_KIND_CHANNEL, /* a bounded mpsc sender waiting for capacity */
	AIB_LOCK_KIND_MAX
};

struct aib_ev_lock {
	struct aib_hdr hdr;
	__u64 sem;	 /* the semaphore's address */
	__u64 task;	 /* the task polled on this thread (header), or 0 */
	__u64 task_id;
	__u64 acquire;	 /* the Acquire future: one acquire across its polls; 0 on release */
	__u64 site;	 /* ELF vaddr the Acquire::poll call returns to; 0 on release */
	__u64 available; /* permits free in the semaphore before this poll took its own
			    (read at its return); ~0 = unknown */
	__u32 permits;	 /* asked for (acquire) or given back (release) */
	__u16 op;	 /* enum aib_lock_op */
	__u16 kind;	 /* enum aib_lock_kind */
};

/*
 * AIB_EV_BLOCKED: a thread polling a task spent at least the BPF side's
 * threshold in one syscall (a futex wait, a sleep, blocking I/O): the stack
 * of that call, from the syscall's user sp up to the poll's entry, follows.
 * User space names it and records an AIB_REC_BLOCKED instead.
 */
struct aib_ev_blocked {
	struct aib_hdr hdr; /* ts = when the syscall returned */
	__u64 task;
	__u64 task_id;
	__u64 start_ts;	    /* when it entered the syscall */
	__u64 arg;	    /* futex: the word's address; I/O: the fd; else the first argument */
	__u32 syscall;	    /* x86-64 syscall number */
	__u32 op;	    /* futex: the operation (FUTEX_WAIT...), else 0 */
	struct aib_stack stack; /* stack.len bytes follow */
};

/* AIB_EV_RET_SITE: a probed function was called from a call site not seen
 * before; user space adds a probe at the return address (`vaddr`). */
struct aib_ev_ret_site {
	struct aib_hdr hdr;
	__u64 vaddr;	    /* ELF virtual address of the return address */
	__u32 probe;	    /* enum aib_probe to attach there */
	__u32 pad;
};

#define AIB_TASK_NAME_MAX 64
struct aib_ev_task_name {
	struct aib_hdr hdr;
	__u32 len;
	__u32 pad;
	char name[AIB_TASK_NAME_MAX]; /* not NUL-terminated */
};

/* Sent where the runtime hands the new task's id on (tokio: Handle::spawn,
 * OwnedTasks::bind, Spawner::spawn_task), on the spawning thread. */
struct aib_ev_spawn_id {
	struct aib_hdr hdr;
	__u64 predicted_id; /* as in this thread's last AIB_EV_SPAWN */
	__u64 id;	    /* the id the task really got */
};

enum aib_poll_result {
	AIB_POLL_PENDING = 0,
	AIB_POLL_READY = 1,	/* completed (or freed during the poll) */
	AIB_POLL_NOTIFIED = 2,	/* woken while running: polled again soon */
	AIB_POLL_PANICKED = 3,	/* a panic unwound out of the poll: the task is over */
	AIB_POLL_CANCELLED = 4, /* the task was cancelled; this poll dropped its future */
};

struct aib_ev_poll {
	struct aib_hdr hdr;
	__u64 task;
	__u64 task_id;
	__u64 state;  /* runtime state word (before, or after the poll) */
	__u32 result;  /* POLL_END: enum aib_poll_result */
	__u16 depth;   /* nesting on this thread, 0 = outermost */
	__u16 runtime; /* enum aib_runtime */
};

enum aib_wake_how {
	AIB_WAKE_BY_VAL = 0,
	AIB_WAKE_BY_REF = 1,
};

struct aib_ev_wake {
	struct aib_hdr hdr;
	__u64 task;
	__u64 task_id;
	__u64 waker_task; /* header of the task being polled on this thread, or 0 */
	__u64 waker_task_id;
	__u32 how;	  /* enum aib_wake_how */
	__u32 runtime;	  /* enum aib_runtime */
};

/* SHUTDOWN, DEALLOC */
struct aib_ev_task {
	struct aib_hdr hdr;
	__u64 task;
	__u64 task_id;
};

struct aib_ev_worker {
	struct aib_hdr hdr;
	__u32 index;
	__u32 pad;
};

/* ---- user-space records ---- */

#define AIB_NAME_MAX 256

enum aib_runtime {
	AIB_RUNTIME_UNKNOWN = 0,
	AIB_RUNTIME_TOKIO = 1,
	AIB_RUNTIME_ASYNC_TASK = 2, /* async-std, smol, blocking: the async-task crate */
	AIB_RUNTIME_MAX
};
#define AIB_RUNTIME_BIT(r) (1u << (r))

struct aib_rec_process {
	struct aib_hdr hdr;   /* ts = monotonic start of the session */
	__u64 realtime_ns;    /* wall clock at hdr.ts */
	__u32 pid;
	__u32 runtimes;	      /* AIB_RUNTIME_BIT()s of the runtimes traced */
	__u32 poll_sites;
	__u32 flags;	      /* AIB_PROC_* */
	char exe[AIB_NAME_MAX];
	char runtime_desc[64]; /* "tokio", "async-std (async-task)", ... NUL-terminated */
};

enum aib_proc_flags {
	AIB_PROC_SPAWN_LOCATIONS = 1 << 0, /* spawn probes attached */
	AIB_PROC_LATE_ATTACH = 1 << 1,	   /* tasks may predate the session */
	AIB_PROC_NO_LINE_TABLES = 1 << 2,  /* the binary has no DWARF line tables */
	AIB_PROC_NO_SPAWN_KINDS = 1 << 3,  /* spawns seen by structure: a spawn_blocking looks like a spawn */
};

struct aib_rec_location {
	struct aib_hdr hdr;
	__u64 file_addr;
	__u32 len;   /* bytes of text that follow */
	__u32 pad;
	char text[]; /* not NUL-terminated; size = sizeof + len */
};

struct aib_rec_thread {
	struct aib_hdr hdr; /* tid = the thread named */
	char name[16];	    /* comm, NUL-padded */
};

struct aib_rec_lost {
	struct aib_hdr hdr;
	__u64 lost;	    /* cumulative: ring buffer full */
	__u64 dropped;	    /* cumulative: dropped in BPF for other reasons */
};

/* AIB_REC_DROPS: what AIB_REC_LOST's `dropped` sums, by enum aib_drop
 * (its ring-buffer slot is the `lost` count); slots past AIB_DROP_MAX are
 * room for reasons to come, 0. */
#define AIB_DROP_SLOTS 8
_Static_assert(AIB_DROP_MAX <= AIB_DROP_SLOTS, "every drop reason has a slot");
struct aib_rec_drops {
	struct aib_hdr hdr;
	__u64 count[AIB_DROP_SLOTS];
};

enum aib_end_reason {
	AIB_END_TARGET_EXITED = 1,
	AIB_END_DURATION = 2,
	AIB_END_INTERRUPTED = 3,
	AIB_END_DEADLOCK = 4,	/* --fail-on-deadlock: a deadlock was found */
	AIB_END_TARGET_EXEC = 5, /* the target exec'd a new program, not traced */
	AIB_END_HANG = 6,	 /* test: a test ran longer than --timeout */
};

/* AIB_REC_BUILD_ID: the executable's GNU build-id, after AIB_REC_PROCESS:
 * what `replay --debuginfo FILE` checks FILE against before naming the
 * code addresses a stripped binary's stacks were recorded as. */
#define AIB_BUILD_ID_MAX 64
struct aib_rec_build_id {
	struct aib_hdr hdr;
	__u32 len; /* bytes of id that follow */
	__u32 pad;
	__u8 id[];
};

/* AIB_REC_TASK_FOUND: read from the target's memory at attach time. */
struct aib_rec_task_found {
	struct aib_hdr hdr;  /* ts = when it was found */
	__u64 task;	     /* header */
	__u64 task_id;	     /* tokio's id; 0 for async-task */
	__u64 state;	     /* the runtime's state word */
	__u32 runtime;	     /* enum aib_runtime */
	__u32 pad;
};

enum aib_await_method {
	AIB_AWAIT_NONE = 0,	     /* not known: text says why */
	AIB_AWAIT_STACK = 1,	     /* unwound from the stack of its last parking poll */
	AIB_AWAIT_STATE_MACHINE = 2, /* decoded from the future's memory with DWARF types */
};

enum aib_wait_kind {
	AIB_WAIT_UNKNOWN = 0,
	AIB_WAIT_TIMER,
	AIB_WAIT_CHANNEL,
	AIB_WAIT_LOCK,
	AIB_WAIT_JOIN,
	AIB_WAIT_IO,
	AIB_WAIT_BLOCKING,
	AIB_WAIT_KIND_MAX
};

/*
 * AIB_REC_AWAIT: where a live task is parked, resolved by user space at the
 * end of a live session (so a replay shows the same). `text` holds
 * NUL-terminated strings: the detail of what it waits for (or, with method
 * NONE, why nothing is known), then per frame, outermost first, its
 * function, file ("" if unknown) and "line:col".
 */
#define AIB_AWAIT_TEXT_MAX 8192
struct aib_rec_await {
	struct aib_hdr hdr;   /* ts = when it was resolved */
	__u64 task;
	__u64 task_id;
	__u64 captured_ts;    /* when the stack or memory was read; 0 = unknown */
	__u64 joined_id;      /* AIB_WAIT_JOIN: the awaited task's id, 0 if unknown */
	__u64 deadline_ts;    /* AIB_WAIT_TIMER: CLOCK_MONOTONIC deadline, 0 if unknown */
	__u32 method;	      /* enum aib_await_method */
	__u32 kind;	      /* enum aib_wait_kind */
	__u32 nframes;
	__u32 len;	      /* bytes of text */
	char text[];
};

/* AIB_REC_BLOCKED: the text holds the frames of the blocking call as
 * AIB_REC_AWAIT's does (outermost first), after an empty detail string. */
struct aib_rec_blocked {
	struct aib_hdr hdr;   /* ts = when the syscall returned */
	__u64 task;
	__u64 task_id;
	__u64 start_ts;
	__u64 arg;
	__u32 syscall;
	__u32 op;
	__u32 nframes;
	__u32 len;	      /* bytes of text */
	char text[];
};

struct aib_rec_end {
	struct aib_hdr hdr; /* ts = end of the session */
	__u64 events;	    /* records written before this one */
	__u32 reason;	    /* enum aib_end_reason */
	__u32 pad;
};

#endif /* AIB_EVENTS_H */
