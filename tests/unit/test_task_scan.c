// SPDX-License-Identifier: MIT
/*
 * task_scan and proc_mem. The scan's validation runs on synthetic memory
 * (a read callback over buffers: live headers next to freed-chunk
 * lookalikes, a header across a chunk boundary, holes, bounds); proc_mem on
 * this process itself. Live targets, each skipped when it cannot run:
 * small C programs compiled here (PIE and non-PIE) that plant tokio-shaped
 * vtables and headers, glibc-freed ones among them; the `stuck` tokio
 * fixture (tests/programs/await, each variant built under its target dir),
 * where exactly 14 tasks are alive; `demo`, full of freed tasks, checked
 * against tokio's own list of the tasks it owns; the async-std fixture
 * `astd_tasks`, stopped after DONE with one task parked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "async_task_layout.h"
#include "tokio_layout.h"
#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "inspect/proc_mem.h"
#include "inspect/task_scan.h"

#define MiB (1ULL << 20)

/* state words */
#define RUNNING TOKIO_STATE_RUNNING
#define COMPLETE TOKIO_STATE_COMPLETE
#define NOTIFIED TOKIO_STATE_NOTIFIED
#define JOIN_INTEREST TOKIO_STATE_JOIN_INTEREST
#define REF(n) ((__u64)(n) << TOKIO_REF_SHIFT)
#define AT_SCHEDULED ASYNC_TASK_STATE_SCHEDULED
#define AT_COMPLETED ASYNC_TASK_STATE_COMPLETED
#define AT_CLOSED ASYNC_TASK_STATE_CLOSED
#define AT_TASK ASYNC_TASK_STATE_TASK
#define AT_REF(n) ((__u64)(n) << ASYNC_TASK_REF_SHIFT)

/* ---- synthetic memory ---- */

struct seg {
	__u64 addr;
	size_t len;
	unsigned char *bytes;
};

struct fake_mem {
	struct seg seg[4];
	int nseg;
	__u64 hole_lo, hole_hi; /* reads touching [lo, hi) fail */
	unsigned reads;
};

static int fake_read(__u64 addr, void *buf, size_t len, void *ctx)
{
	struct fake_mem *m = ctx;

	m->reads++;
	if (addr < m->hole_hi && addr + len > m->hole_lo)
		return -EFAULT;
	for (int i = 0; i < m->nseg; i++) {
		const struct seg *s = &m->seg[i];

		if (addr >= s->addr && addr + len <= s->addr + s->len) {
			memcpy(buf, s->bytes + (addr - s->addr), len);
			return 0;
		}
	}
	return -EFAULT;
}

static __u64 *word(struct fake_mem *m, __u64 addr)
{
	for (int i = 0; i < m->nseg; i++)
		if (addr >= m->seg[i].addr && addr + 8 <= m->seg[i].addr + m->seg[i].len)
			return (__u64 *)(m->seg[i].bytes + (addr - m->seg[i].addr));
	fail_msg("no fake memory at %llx", addr);
	return NULL;
}

static void add_seg(struct fake_mem *m, __u64 addr, size_t len)
{
	m->seg[m->nseg].addr = addr;
	m->seg[m->nseg].len = len;
	m->seg[m->nseg].bytes = calloc(1, len);
	assert_non_null(m->seg[m->nseg].bytes);
	m->nseg++;
}

static void free_mem(struct fake_mem *m)
{
	for (int i = 0; i < m->nseg; i++)
		free(m->seg[i].bytes);
}

#define HEAP 0x560000000000ULL
#define HEAP_LEN (3 * MiB)
#define VT1 0x555500001000ULL /* tokio, id at +0x28 */
#define VT2 0x555500001050ULL /* tokio, id at +0x30 */
#define VT3 0x555500002000ULL /* async-task: vtable +0, state +8 */
#define NEXT_ID_AT 0x555500003000ULL
#define NEXT_ID 100

/* A tokio header: state, queue_next, vtable, owner_id; the id after. */
static void tokio_header(struct fake_mem *m, __u64 h, __u64 state, __u64 next, __u64 vt,
			 __u64 owner, __u64 id)
{
	*word(m, h) = state;
	*word(m, h + 8) = next;
	*word(m, h + 16) = vt;
	*word(m, h + 24) = owner;
	*word(m, h + (vt == VT2 ? 0x30 : 0x28)) = id;
}

static void at_header(struct fake_mem *m, __u64 h, __u64 state)
{
	*word(m, h) = VT3;
	*word(m, h + 8) = state;
}

/* where the live ones are, in address order */
#define LIVE_A (HEAP + 0x100)
#define LIVE_N (HEAP + 0x9000)
#define LIVE_K (HEAP + MiB - 16) /* its vtable word starts the second 1 MiB chunk */
#define LIVE_L (HEAP + HEAP_LEN - 0x40)

static void build_heap(struct fake_mem *m)
{
	memset(m, 0, sizeof(*m));
	add_seg(m, HEAP, HEAP_LEN);
	add_seg(m, NEXT_ID_AT, 8);
	*word(m, NEXT_ID_AT) = NEXT_ID;

	tokio_header(m, LIVE_A, REF(2) | JOIN_INTEREST, 0, VT1, 1, 7);
	/* tcache: safe-linked next pointer, then the tcache key */
	tokio_header(m, HEAP + 0x1000, (HEAP + 0x1000) >> 12, 0x8d092a7f894137c3ULL, VT1, 1, 8);
	/* freed but untouched (merged into top): a dead task has no reference */
	tokio_header(m, HEAP + 0x2000, COMPLETE | JOIN_INTEREST, 0, VT1, 1, 9);
	/* small bin: fd, bk */
	tokio_header(m, HEAP + 0x3000, HEAP + 0x20000, HEAP + 0x30000, VT1, 1, 10);
	/* an id tokio has not handed out yet */
	tokio_header(m, HEAP + 0x4000, REF(1), 0, VT1, 1, NEXT_ID);
	/* the same id as LIVE_A */
	tokio_header(m, HEAP + 0x6000, REF(1), 0, VT1, 1, 7);
	/* queue_next no pointer */
	tokio_header(m, HEAP + 0x7000, REF(1), 0x1234567, VT1, 1, 11);
	/* RUNNING and COMPLETE at once */
	tokio_header(m, HEAP + 0x8000, REF(1) | RUNNING | COMPLETE, 0, VT1, 1, 12);
	/* an owner id no counter reaches */
	tokio_header(m, HEAP + 0xc000, REF(1), 0, VT1, 0x7fff12345678ULL, 13);

	at_header(m, LIVE_N, AT_TASK | AT_REF(1));
	at_header(m, HEAP + 0xa000, AT_COMPLETED | AT_CLOSED);		  /* destroyed */
	at_header(m, HEAP + 0xb000, AT_REF(1) | AT_COMPLETED | AT_SCHEDULED); /* impossible */

	tokio_header(m, LIVE_K, REF(2) | RUNNING, LIVE_A, VT1, 1, 8);
	tokio_header(m, LIVE_L, REF(3) | NOTIFIED | JOIN_INTEREST, 0, VT2, 2, 9);
}

static struct task_scan *fake_vtables(void)
{
	struct task_scan *ts = task_scan__new();
	struct task_vtable vt[] = {
		{.addr = VT1, .poll_fn = 0x1000, .id_offset = 0x28, .vtable_off = 16, .runtime = AIB_RUNTIME_TOKIO},
		{.addr = VT3, .poll_fn = 0x3000, .vtable_off = 0, .state_off = 8, .runtime = AIB_RUNTIME_ASYNC_TASK},
		{.addr = VT2, .poll_fn = 0x2000, .id_offset = 0x30, .vtable_off = 16, .runtime = AIB_RUNTIME_TOKIO},
	};

	assert_non_null(ts);
	for (size_t i = 0; i < sizeof(vt) / sizeof(vt[0]); i++)
		assert_int_equal(task_scan__add_vtable(ts, &vt[i]), 0);
	task_scan__set_next_id_addr(ts, NEXT_ID_AT);
	return ts;
}

static void test_synthetic_heap(void **state)
{
	struct fake_mem m;
	struct task_scan *ts = fake_vtables();
	struct proc_mem_region r = {HEAP, HEAP + HEAP_LEN};
	struct found_task t[16];
	struct task_scan_stats st;
	int n;

	build_heap(&m);
	n = task_scan__run(ts, &r, 1, fake_read, &m, NULL, t, 16, &st);
	assert_int_equal(n, 4);

	assert_int_equal(t[0].header, LIVE_A);
	assert_int_equal(t[0].vtable, VT1);
	assert_int_equal(t[0].id, 7);
	assert_int_equal(t[0].state, REF(2) | JOIN_INTEREST);
	assert_int_equal(t[0].poll_fn, 0x1000);
	assert_int_equal(t[0].runtime, AIB_RUNTIME_TOKIO);

	assert_int_equal(t[1].header, LIVE_N);
	assert_int_equal(t[1].runtime, AIB_RUNTIME_ASYNC_TASK);
	assert_int_equal(t[1].id, 0);
	assert_int_equal(t[1].state, AT_TASK | AT_REF(1));
	assert_int_equal(t[1].poll_fn, 0x3000);

	assert_int_equal(t[2].header, LIVE_K); /* read across the chunk boundary */
	assert_int_equal(t[2].id, 8);
	assert_int_equal(t[3].header, LIVE_L); /* the region's last words */
	assert_int_equal(t[3].vtable, VT2);
	assert_int_equal(t[3].id, 9);
	assert_int_equal(t[3].poll_fn, 0x2000);

	assert_int_equal(st.regions, 1);
	assert_int_equal(st.bytes, HEAP_LEN);
	assert_int_equal(st.unreadable, 0);
	assert_int_equal(st.vtables, 3);
	assert_int_equal(st.candidates, 14);
	assert_int_equal(st.rejected, 10);
	assert_int_equal(st.rejected_state, 6);
	assert_int_equal(st.rejected_header, 2);
	assert_int_equal(st.rejected_id, 1);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.next_id, NEXT_ID);
	assert_false(st.truncated);
	assert_false(st.tasks_truncated);
	/* chunked: a few dozen reads, not one per word */
	assert_true(m.reads < 64);

	task_scan__free(ts);
	free_mem(&m);
}

/* NEXT_ID is read again for an id at or above the last value seen: a task
 * spawned during the scan is not taken for garbage. */
static void test_synthetic_next_id_moves(void **state)
{
	struct fake_mem m;
	struct task_scan *ts = fake_vtables();
	struct proc_mem_region r = {HEAP, HEAP + HEAP_LEN};
	struct found_task t[16];
	struct task_scan_stats st;

	build_heap(&m);
	*word(&m, NEXT_ID_AT) = 5; /* below every id: each is checked again */
	assert_int_equal(task_scan__run(ts, &r, 1, fake_read, &m, NULL, t, 16, &st), 1);
	assert_int_equal(t[0].header, LIVE_N); /* async-task has no id */
	assert_int_equal(st.rejected_id, 5); /* A, K, L and the two that look live */
	assert_int_equal(st.next_id, 5);

	/* unknown NEXT_ID: any id >= 1 will do */
	task_scan__set_next_id_addr(ts, 0);
	assert_int_equal(task_scan__run(ts, &r, 1, fake_read, &m, NULL, t, 16, &st), 5);
	assert_int_equal(t[1].id, NEXT_ID);
	assert_int_equal(st.rejected_id, 0);
	assert_int_equal(st.next_id, 0);
	task_scan__free(ts);
	free_mem(&m);
}

static void test_synthetic_bounds(void **state)
{
	struct fake_mem m;
	struct task_scan *ts = fake_vtables();
	struct proc_mem_region r[2] = {{HEAP, HEAP + HEAP_LEN}, {HEAP + 16 * MiB, HEAP + 17 * MiB}};
	struct task_scan_opts opts = {.max_bytes = MiB};
	struct found_task t[16];
	struct task_scan_stats st;

	build_heap(&m);
	/* the byte bound: LIVE_K's vtable word is the first one left out */
	assert_int_equal(task_scan__run(ts, r, 2, fake_read, &m, &opts, t, 16, &st), 2);
	assert_int_equal(t[0].header, LIVE_A);
	assert_int_equal(t[1].header, LIVE_N);
	assert_int_equal(st.bytes, MiB);
	assert_int_equal(st.regions, 1);
	assert_true(st.truncated);

	/* the task bound */
	assert_int_equal(task_scan__run(ts, r, 1, fake_read, &m, NULL, t, 1, &st), 1);
	assert_int_equal(t[0].header, LIVE_A);
	assert_true(st.tasks_truncated);
	assert_false(st.truncated);

	/* a bound that is no multiple of 8 still reads whole words */
	opts.max_bytes = MiB + 12;
	assert_int_equal(task_scan__run(ts, r, 1, fake_read, &m, &opts, t, 16, &st), 3);
	assert_int_equal(t[2].header, LIVE_K);
	assert_int_equal(st.bytes, MiB + 8);
	assert_true(st.truncated);
	task_scan__free(ts);
	free_mem(&m);
}

/* Memory unmapped after the maps were read: the chunk is read again page by
 * page, the holes are counted and skipped. */
static void test_synthetic_holes(void **state)
{
	struct fake_mem m;
	struct task_scan *ts = fake_vtables();
	struct proc_mem_region r[2] = {{HEAP, HEAP + HEAP_LEN}, {HEAP + 16 * MiB, HEAP + 17 * MiB}};
	struct found_task t[16];
	struct task_scan_stats st;

	build_heap(&m);
	m.hole_lo = LIVE_N & ~4095ULL;
	m.hole_hi = m.hole_lo + 4096;
	assert_int_equal(task_scan__run(ts, r, 2, fake_read, &m, NULL, t, 16, &st), 3);
	assert_int_equal(t[0].header, LIVE_A);
	assert_int_equal(t[1].header, LIVE_K);
	assert_int_equal(t[2].header, LIVE_L);
	assert_int_equal(st.unreadable, 4096 + MiB); /* the page, the second region */
	assert_int_equal(st.bytes, HEAP_LEN - 4096);
	assert_int_equal(st.regions, 2);
	task_scan__free(ts);
	free_mem(&m);
}

static void test_vtable_api(void **state)
{
	struct task_scan *ts = task_scan__new();
	struct task_vtable vt = {.addr = VT1, .id_offset = 0x28, .vtable_off = 16, .runtime = AIB_RUNTIME_TOKIO};
	struct task_vtable odd = {.addr = VT2, .vtable_off = 12};
	struct proc_mem_region r = {HEAP, HEAP + 4096};
	struct task_scan_stats st;
	struct fake_mem m;
	struct found_task t[1];

	assert_non_null(ts);
	/* no vtable: nothing to look for, nothing read */
	memset(&m, 0, sizeof(m));
	assert_int_equal(task_scan__run(ts, &r, 1, fake_read, &m, NULL, t, 1, &st), 0);
	assert_int_equal(m.reads, 0);
	assert_int_equal(st.vtables, 0);

	assert_int_equal(task_scan__add_vtable(ts, &vt), 0);
	assert_int_equal(task_scan__add_vtable(ts, &vt), -EEXIST);
	assert_int_equal(task_scan__add_vtable(ts, &odd), -EINVAL);
	assert_int_equal(task_scan__vtable_count(ts), 1);
	assert_int_equal(task_scan__run(NULL, &r, 1, fake_read, &m, NULL, t, 1, &st), -EINVAL);
	assert_int_equal(task_scan__run(ts, &r, 1, NULL, &m, NULL, t, 1, &st), -EINVAL);
	task_scan__free(ts);
	task_scan__free(NULL);
}

/* ---- proc_mem on this process ---- */

static void test_proc_mem_self(void **state)
{
	static const char text[] = "the quick brown fox";
	long page = sysconf(_SC_PAGESIZE);
	struct proc_mem *pm = proc_mem__open(getpid());
	char buf[sizeof(text)];
	char *two;

	if (!pm && (errno == EPERM || errno == EACCES))
		skip(); /* not even our own memory (a hardened sandbox) */
	assert_non_null(pm);
	assert_int_equal(proc_mem__pid(pm), getpid());
	assert_int_equal(proc_mem__read(pm, (uintptr_t)text, buf, sizeof(buf)), 0);
	assert_string_equal(buf, text);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(proc_mem__read_cb((uintptr_t)text, buf, sizeof(buf), pm), 0);
	assert_string_equal(buf, text);
	assert_int_equal(proc_mem__read(pm, 8, buf, 8), -EFAULT);
	assert_int_equal(proc_mem__read(pm, ~0ULL - 4, buf, 8), -EFAULT);
	assert_int_equal(proc_mem__read(pm, (uintptr_t)text, buf, 0), 0);

	/* a range that runs into an unmapped page */
	two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(two != MAP_FAILED);
	memset(two, 'x', page);
	assert_int_equal(munmap(two + page, page), 0);
	assert_int_equal(proc_mem__read(pm, (uintptr_t)two + page - 4, buf, 4), 0);
	assert_memory_equal(buf, "xxxx", 4);
	assert_int_equal(proc_mem__read(pm, (uintptr_t)two + page - 4, buf, 8), -EFAULT);
	munmap(two, page);
	proc_mem__close(pm);
	proc_mem__close(NULL);
}

static void test_proc_mem_open_errors(void **state)
{
	int status;
	pid_t gone = fork();

	assert_true(gone >= 0);
	if (gone == 0)
		_exit(0);
	assert_int_equal(waitpid(gone, &status, 0), gone);

	errno = 0;
	assert_null(proc_mem__open(gone));
	assert_int_equal(errno, ESRCH);
	assert_null(proc_mem__open(0));
	assert_int_equal(errno, EINVAL);
	if (geteuid() != 0) { /* init is not ours to read */
		assert_null(proc_mem__open(1));
		assert_true(errno == EACCES || errno == EPERM);
	}
}

static void test_proc_mem_load_bias_self(void **state)
{
	struct proc_mem *pm = proc_mem__open(getpid());
	struct binary *bin = binary__open("/proc/self/exe");
	const struct elf_symbols *syms = binary__symbols(bin);
	__u64 mine, theirs;

	if (!pm)
		skip();
	assert_non_null(syms);
	assert_int_equal(proc_mem__load_bias(pm, &mine), 0);
	assert_int_equal(elf_symbols__load_bias(syms, getpid(), &theirs), 0);
	assert_int_equal(mine, theirs);
	binary__free(bin);
	proc_mem__close(pm);
}

struct seen {
	__u64 addr[3];
	bool in[3];
	__u64 total;
	int regions;
};

static int note_region(const struct proc_mem_region *r, void *arg)
{
	struct seen *s = arg;

	assert_true(r->start < r->end);
	for (int i = 0; i < 3; i++)
		s->in[i] |= s->addr[i] >= r->start && s->addr[i] < r->end;
	s->total += r->end - r->start;
	s->regions++;
	return 0;
}

static int stop_at_first(const struct proc_mem_region *r, void *arg)
{
	return -ECANCELED;
}

static void test_proc_mem_regions_self(void **state)
{
	struct proc_mem *pm = proc_mem__open(getpid());
	void *small = malloc(64), *big = malloc(4 * MiB); /* [heap], an mmap */
	volatile char on_stack = 0;
	struct seen s = {0}, b = {0};
	__u64 bound;

	if (!pm)
		skip();
	assert_non_null(small);
	assert_non_null(big);
	memset(big, 1, 4 * MiB);

	s.addr[0] = (uintptr_t)small;
	s.addr[1] = (uintptr_t)big + 2 * MiB;
	s.addr[2] = (uintptr_t)&on_stack; /* [stack]: never a heap */
	assert_int_equal(proc_mem__for_each_region(pm, ~0ULL, note_region, &s), 0);
	assert_true(s.in[0]);
	assert_true(s.in[1]);
	assert_false(s.in[2]);
	assert_true(s.total >= 4 * MiB);

	/* bounded: the region across the bound is cut, the rest left out */
	bound = s.total / 2 + 100;
	assert_int_equal(proc_mem__for_each_region(pm, bound, note_region, &b), 1);
	assert_int_equal(b.total, bound);
	assert_true(b.regions <= s.regions);
	assert_int_equal(proc_mem__for_each_region(pm, ~0ULL, stop_at_first, NULL), -ECANCELED);

	free(small);
	free(big);
	proc_mem__close(pm);
}

/* ---- live targets ---- */

struct child {
	pid_t pid;
	int out; /* its stdout */
	char line[512];
};

static pid_t running_child; /* killed by the teardown if an assertion fails */

static int kill_child(void **state)
{
	int status;

	if (running_child > 0) {
		kill(running_child, SIGKILL);
		waitpid(running_child, &status, 0);
		running_child = 0;
	}
	return 0;
}

static bool start(struct child *c, char *const argv[])
{
	int p[2];

	if (access(argv[0], X_OK) || pipe(p))
		return false;
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(p[1], 1);
		dup2(null, 2);
		close(p[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	c->out = p[0];
	running_child = c->pid;
	return true;
}

/* The next stdout line starting with prefix, within timeout_ms; false on
 * timeout or EOF. Other lines are skipped. */
static bool wait_line(struct child *c, const char *prefix, int timeout_ms)
{
	size_t len = 0;
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {c->out, POLLIN, 0};
		long left;
		char ch;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 || read(c->out, &ch, 1) != 1)
			return false;
		if (ch != '\n') {
			if (len < sizeof(c->line) - 1)
				c->line[len++] = ch;
			continue;
		}
		c->line[len] = '\0';
		if (!strncmp(c->line, prefix, strlen(prefix)))
			return true;
		len = 0;
	}
}

static void stop(struct child *c)
{
	int status;

	kill(c->pid, SIGKILL);
	waitpid(c->pid, &status, 0);
	close(c->out);
	running_child = 0;
}

static int first_region(const struct proc_mem_region *r, void *arg)
{
	*(struct proc_mem_region *)arg = *r;
	return -ECANCELED;
}

/* May we read a child's memory here? (seccomp or Yama may say no) */
static bool readable(pid_t pid)
{
	struct proc_mem *pm = proc_mem__open(pid);
	struct proc_mem_region first = {0};
	__u64 w;
	int err;

	if (!pm)
		return false;
	err = proc_mem__for_each_region(pm, ~0ULL, first_region, &first);
	if (err == -ECANCELED)
		err = proc_mem__read(pm, first.start, &w, sizeof(w));
	else if (err >= 0)
		err = -ENOENT; /* no heap at all */
	proc_mem__close(pm);
	if (err)
		fprintf(stderr, "reading pid %d: %s: test skipped\n", pid, strerror(-err));
	return !err;
}

/* tokio-shaped tasks planted by a C program: a vtable per "future type"
 * whose slot 0 is a function named raw::poll, NEXT_ID, headers on the heap,
 * one more vtable-like table that is no vtable, a dead task, and headers
 * that glibc freed (tcache, small bin). It prints the live headers' addresses. */
#define PLANT_SRC \
	"#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n" \
	"#define POLL(n) __attribute__((used, noinline)) long poll##n(long x) " \
	"__asm__(\"_ZN5tokio7runtime4task3raw4poll17h0123456789abcde\" #n \"E\"); " \
	"long poll##n(long x) { return x * (n + 2) + n; }\n" \
	"POLL(1) POLL(2) POLL(3)\n" \
	"__attribute__((noinline)) long other(long x) { return x - 1; }\n" \
	"struct vtable { long (*f[7])(long); unsigned long trailer, sched, id; };\n" \
	"const struct vtable vt1 = {{poll1, other, other, other, other, other, other}, 0x80, 0x20, 0x28};\n" \
	"const struct vtable vt2 = {{poll2, other, other, other, other, other, other}, 0xc0, 0x20, 0x30};\n" \
	"const struct { long (*f)(long); unsigned long junk[9]; } notvt = {poll3, {1, 2, 3, 4, 5, 6, 7, 8, 9}};\n" \
	"unsigned long long next_id __asm__(\"_ZN5tokio7runtime4task2id2Id4next7NEXT_ID17h13579bdf02468aceE\") = 6;\n" \
	"static unsigned long *task(size_t size, unsigned long state, const struct vtable *vt, unsigned long id) {\n" \
	"  unsigned long *h = calloc(1, size);\n" \
	"  h[0] = state; h[2] = (unsigned long)vt; h[3] = 1; h[vt->id / 8] = id; return h;\n" \
	"}\n" \
	"int main(void) {\n" \
	"  setvbuf(stdout, NULL, _IONBF, 0);\n" \
	"  unsigned long *a = task(0x100, 2 << 6 | 8, &vt1, 1);\n" \
	"  unsigned long *b = task(0x100, 1 << 6 | 1, &vt2, 2);\n" \
	"  unsigned long *c = task(0x2000, 3 << 6 | 4, &vt1, 3);\n" \
	"  c[1] = (unsigned long)a;\n" \
	"  unsigned long *d = task(0x100, 0xa, &vt1, 4);\n" /* a dead task, not freed */ \
	"  unsigned long *e = task(0x100, 2 << 6, &vt2, 5), *f[8];\n" \
	"  for (int i = 0; i < 8; i++) f[i] = task(0x200, 2 << 6, &vt2, 5);\n" \
	"  unsigned long *guard = calloc(1, 0x100);\n" \
	/* tcache, then (once its 7 entries are taken) a small bin */ \
	"  free(e); for (int i = 0; i < 8; i++) free(f[i]);\n" \
	"  printf(\"READY %%lx %%lx %%lx %%lu\\n\", (unsigned long)a, (unsigned long)b, (unsigned long)c, d[0] + guard[0] + (unsigned long)notvt.f(1) * 0 + (unsigned long)vt1.f[0](1) * 0 + (unsigned long)vt2.f[0](1) * 0);\n" \
	"  pause();\n" \
	"  return 0;\n" \
	"}\n"

static bool compile_plant(const char *flags, char *exe, size_t len)
{
	char src[] = "/tmp/aib_scan_src_XXXXXX";
	char cmd[PATH_MAX * 2 + 128];
	FILE *f;
	int fd, rc;

	if (system("command -v cc >/dev/null 2>&1") != 0)
		return false;
	fd = mkstemp(src);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, PLANT_SRC);
	fclose(f);
	snprintf(exe, len, "%s.bin", src);
	snprintf(cmd, sizeof(cmd), "cc -x c -O1 %s -o %s %s", flags, exe, src);
	rc = system(cmd);
	unlink(src);
	assert_int_equal(rc, 0);
	return true;
}

static void scan_planted(const char *flags)
{
	char exe[PATH_MAX];
	char *argv[2] = {exe, NULL};
	unsigned long hdr[3];
	struct child c;
	struct binary *bin;
	const struct elf_symbols *syms;
	struct found_task t[16];
	struct task_scan_stats st;
	unsigned long sum;
	int n;

	if (!compile_plant(flags, exe, sizeof(exe)))
		skip();
	bin = binary__open(exe);
	syms = binary__symbols(bin);
	assert_non_null(syms);
	assert_true(start(&c, argv));
	assert_true(wait_line(&c, "READY", 5000));
	assert_int_equal(sscanf(c.line, "READY %lx %lx %lx %lu", &hdr[0], &hdr[1], &hdr[2], &sum), 4);
	if (!readable(c.pid)) {
		stop(&c);
		unlink(exe);
		binary__free(bin);
		skip();
	}

	n = task_scan__pid(c.pid, syms, NULL, t, 16, &st);
	stop(&c);
	unlink(exe);
	assert_int_equal(st.vtables, 2); /* notvt's next slots are no code */
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t[i].header, hdr[i]);
		assert_int_equal(t[i].id, i + 1);
		assert_int_equal(t[i].runtime, AIB_RUNTIME_TOKIO);
	}
	assert_int_equal(t[0].state, 2 << 6 | 8);
	assert_int_equal(t[1].state, 1 << 6 | 1);
	assert_int_equal(t[2].state, 3 << 6 | 4);
	assert_int_equal(t[0].vtable, t[2].vtable);
	assert_true(t[0].vtable != t[1].vtable);
	assert_int_equal(st.next_id, 6);
	/* the dead one and those glibc freed whose vtable word it left alone:
	 * it overwrites the state word, and queue_next with the tcache key */
	fprintf(stderr, "planted (%s): %llu candidates, rejected %llu by state, %llu by header\n",
		flags, st.candidates, st.rejected_state, st.rejected_header);
	assert_true(st.rejected_state >= 2);
	assert_int_equal(st.rejected, st.rejected_state + st.rejected_header);
	assert_false(st.truncated);
	{
		struct elf_symbol want = {0};
		const struct elf_symbol *sym;

		for (size_t i = 0; (sym = elf_symbols__get(syms, i)); i++)
			if (!strcmp(sym->raw, "_ZN5tokio7runtime4task3raw4poll17h0123456789abcde1E"))
				want = *sym;
		assert_int_equal(t[0].poll_fn, want.vaddr);
	}
	binary__free(bin);
}

static void test_live_planted_pie(void **state)
{
	scan_planted("-pie -fPIE");
}

static void test_live_planted_nopie(void **state)
{
	scan_planted("-no-pie -fno-PIE");
}

/* tests/programs, from $AIB_PROGRAMS (its target/release) or the repo root */
static void programs_dir(char *buf, size_t len)
{
	const char *dir = getenv("AIB_PROGRAMS");

	if (dir)
		snprintf(buf, len, "%s/../..", dir);
	else
		snprintf(buf, len, "tests/programs");
}

/* stuck.rs: 11 tokio::spawn'ed tasks parked for good, 1 spawn_blocking
 * closure sleeping in its (only) poll, and the 2 blocking tasks a 2-worker
 * runtime runs its workers as: 14 live tasks, ids 1..14, none complete. */
static int scan_stuck(const char *variant, bool strip)
{
	char dir[PATH_MAX], exe[PATH_MAX + 64], cmd[2 * PATH_MAX + 160];
	char *argv[2] = {exe, NULL};
	struct child c;
	struct binary *bin;
	const struct elf_symbols *syms;
	struct found_task t[64];
	struct task_scan_stats st;
	struct timespec t0, t1;
	bool seen[15] = {0};
	int n, idle = 0, running = 0;

	programs_dir(dir, sizeof(dir));
	snprintf(exe, sizeof(exe), "%s/await/target/%s/release/stuck", dir, variant);
	if (strip && !access(exe, X_OK)) {
		/* no symbols at all: its polls come from its structure */
		snprintf(cmd, sizeof(cmd), "objcopy --strip-all '%s' /tmp/aib_scan_stripped_%d", exe,
			 (int)getpid());
		assert_int_equal(system(cmd), 0);
		snprintf(exe, sizeof(exe), "/tmp/aib_scan_stripped_%d", (int)getpid());
	}
	if (!start(&c, argv))
		return 0;
	bin = binary__open(exe);
	syms = binary__symbols(bin);
	assert_non_null(syms);
	assert_true(wait_line(&c, "READY", 10000));
	if (!readable(c.pid)) {
		stop(&c);
		binary__free(bin);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = task_scan__pid(c.pid, syms, NULL, t, 64, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stop(&c);
	assert_true(!strip || !elf_symbols__has_symtab(syms));
	binary__free(bin);
	if (strip)
		unlink(exe);

	fprintf(stderr, "stuck (%s%s): %d tasks in %.2f ms, %llu bytes in %llu regions, %llu vtables, "
			"%llu candidates, %llu rejected\n", variant, strip ? ", stripped" : "", n,
		(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, st.bytes, st.regions,
		st.vtables, st.candidates, st.rejected);
	assert_int_equal(n, 14);
	assert_int_equal(st.next_id, strip ? 0 : 15); /* stripped: NEXT_ID has no name */
	assert_false(st.truncated);
	for (int i = 0; i < n; i++) {
		assert_int_equal(t[i].runtime, AIB_RUNTIME_TOKIO);
		assert_true(t[i].id >= 1 && t[i].id <= 14);
		assert_false(seen[t[i].id]);
		seen[t[i].id] = true;
		assert_true(t[i].state >> 6 >= 1);
		assert_true(t[i].poll_fn != 0);
		if (!(t[i].state & (RUNNING | NOTIFIED | COMPLETE)))
			idle++;
		else if ((t[i].state & (RUNNING | COMPLETE)) == RUNNING)
			running++;
	}
	assert_int_equal(idle, 11);
	assert_int_equal(running, 3);
	return 1;
}

static void test_live_stuck(void **state)
{
	static const char *const variants[] = {"nofp-lines", "fp-lines", "nofp-full", "fp-full"};
	int scanned = 0;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		/* and stripped: the same tasks, by the vtables' structure */
		int r = scan_stuck(variants[i], false);

		if (r > 0 && i == 0)
			r = scan_stuck(variants[i], true);
		if (r < 0)
			skip();
		scanned += r;
	}
	if (!scanned) {
		fprintf(stderr, "tests/programs/await not built: test skipped\n");
		skip();
	}
}

static bool found_header(const struct found_task *t, int n, __u64 h)
{
	for (int i = 0; i < n; i++)
		if (t[i].header == h)
			return true;
	return false;
}

/* Reads a found task's OwnedTasks links (prev, next in its trailer, at the
 * vtable's trailer_offset) and owner id. */
static void task_links(struct proc_mem *pm, const struct found_task *t, __u64 link[2], __u64 *owner)
{
	__u64 trailer;

	assert_int_equal(proc_mem__read(pm, t->vtable + 56, &trailer, 8), 0);
	assert_int_equal(proc_mem__read(pm, t->header + trailer, link, 2 * sizeof(*link)), 0);
	assert_int_equal(proc_mem__read(pm, t->header + 24, owner, sizeof(*owner)), 0);
}

/* tokio (1.24) links every task its runtime owns in one list through the
 * trailers, and unlinks a task when it completes: the truth to check the
 * scan against. Each link must lead to a task found and back, so the whole
 * list was found; a task found outside the list must be complete or a
 * blocking one (never owned), so nothing else was taken for a task. false
 * if not (or the target was stopped mid-update); *linked: tasks listed. */
static bool links_consistent(struct proc_mem *pm, const struct found_task *t, int n, int *linked)
{
	*linked = 0;
	for (int i = 0; i < n; i++) {
		__u64 link[2], back[2], owner, o;
		int next = -1;

		task_links(pm, &t[i], link, &owner);
		if (!link[0] && !link[1]) {
			if (!(t[i].state & COMPLETE) && owner) {
				fprintf(stderr, "task %llu (header %llx, state %llx) is in no list\n",
					t[i].id, t[i].header, t[i].state);
				return false;
			}
			continue;
		}
		++*linked;
		for (int j = 0; j < n; j++)
			if (link[0] == t[j].header || link[1] == t[j].header)
				next = link[1] == t[j].header ? j : next;
		if ((link[0] && !found_header(t, n, link[0])) || (link[1] && next < 0)) {
			fprintf(stderr, "task %llu links to %llx / %llx: not found\n", t[i].id, link[0],
				link[1]);
			return false;
		}
		if (next >= 0) {
			task_links(pm, &t[next], back, &o);
			if (back[0] != t[i].header)
				return false;
		}
	}
	return true;
}

/* demo: ~50 short tasks a second, so the heap is full of freed tasks whose
 * vtable word survived; stopped now and then and scanned. */
static void test_live_demo_churn(void **state)
{
	char dir[PATH_MAX], exe[PATH_MAX + 64];
	char *argv[2] = {exe, NULL};
	struct child c;
	struct binary *bin;
	const struct elf_symbols *syms;
	struct found_task t[512];
	struct task_scan_stats st;
	__u64 rejected = 0;
	int ok = 0;

	programs_dir(dir, sizeof(dir));
	snprintf(exe, sizeof(exe), "%s/target/release/demo", dir);
	if (!start(&c, argv)) {
		fprintf(stderr, "%s not built: test skipped\n", exe);
		skip();
	}
	bin = binary__open(exe);
	syms = binary__symbols(bin);
	assert_non_null(syms);
	usleep(300 * 1000);
	if (!readable(c.pid)) {
		stop(&c);
		binary__free(bin);
		skip();
	}
	for (int round = 0; round < 8; round++) {
		struct proc_mem *pm;
		int n, linked, stuck_config = 0;

		usleep(150 * 1000);
		kill(c.pid, SIGSTOP);
		usleep(20 * 1000); /* SIGSTOP reaches every thread */
		n = task_scan__pid(c.pid, syms, NULL, t, 512, &st);
		assert_true(n >= 3); /* stuck_config and tokio's 2 worker tasks */
		assert_true(st.next_id > 0);
		for (int i = 0; i < n; i++) {
			assert_true(t[i].id >= 1 && t[i].id < st.next_id);
			/* spawned first, after the 2 workers: id 3, idle forever */
			stuck_config += t[i].id == 3 && !(t[i].state & (RUNNING | COMPLETE));
		}
		assert_int_equal(stuck_config, 1);
		pm = proc_mem__open(c.pid);
		assert_non_null(pm);
		if (links_consistent(pm, t, n, &linked)) {
			ok++;
			assert_true(linked >= 1);
		} else {
			fprintf(stderr, "demo round %d: stopped mid-update?\n", round);
		}
		proc_mem__close(pm);
		rejected += st.rejected;
		fprintf(stderr, "demo round %d: %d tasks (%d linked), %llu candidates, %llu rejected "
				"(state %llu, header %llu, id %llu, dup %llu), next id %llu\n",
			round, n, linked, st.candidates, st.rejected, st.rejected_state,
			st.rejected_header, st.rejected_id, st.duplicates, st.next_id);
		kill(c.pid, SIGCONT);
	}
	stop(&c);
	binary__free(bin);
	assert_true(ok >= 6);
	assert_true(rejected > 0); /* freed tasks were there, and turned down */
}

/* astd_tasks.rs, frozen after DONE: `parked` is the one task not done. */
static void test_live_async_std(void **state)
{
	char dir[PATH_MAX], exe[PATH_MAX + 64], trigger[] = "/tmp/aib_scan_trigger_XXXXXX";
	char *argv[3] = {exe, trigger, NULL};
	struct child c;
	struct binary *bin;
	const struct elf_symbols *syms;
	struct found_task t[64];
	struct task_scan_stats st;
	int n, fd, pending = 0;

	programs_dir(dir, sizeof(dir));
	snprintf(exe, sizeof(exe), "%s/async-task/target/release/astd_tasks", dir);
	fd = mkstemp(trigger);
	assert_true(fd >= 0);
	close(fd);
	unlink(trigger);
	if (!start(&c, argv)) {
		fprintf(stderr, "%s not built: test skipped\n", exe);
		skip();
	}
	bin = binary__open(exe);
	syms = binary__symbols(bin);
	assert_non_null(syms);
	assert_true(wait_line(&c, "READY", 10000));
	fd = open(trigger, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_true(wait_line(&c, "DONE", 10000));
	kill(c.pid, SIGSTOP); /* it exits 200 ms after DONE */
	unlink(trigger);
	if (!readable(c.pid)) {
		stop(&c);
		binary__free(bin);
		skip();
	}
	n = task_scan__pid(c.pid, syms, NULL, t, 64, &st);
	stop(&c);
	binary__free(bin);

	fprintf(stderr, "astd_tasks: %d tasks, %llu vtables, %llu candidates, %llu rejected\n", n,
		st.vtables, st.candidates, st.rejected);
	assert_true(n >= 1);
	assert_true(st.vtables >= 1);
	for (int i = 0; i < n; i++) {
		assert_int_equal(t[i].runtime, AIB_RUNTIME_ASYNC_TASK);
		assert_int_equal(t[i].id, 0);
		if (!(t[i].state & (AT_COMPLETED | AT_CLOSED)))
			pending++;
	}
	assert_int_equal(pending, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_heap),
		cmocka_unit_test(test_synthetic_next_id_moves),
		cmocka_unit_test(test_synthetic_bounds),
		cmocka_unit_test(test_synthetic_holes),
		cmocka_unit_test(test_vtable_api),
		cmocka_unit_test(test_proc_mem_self),
		cmocka_unit_test(test_proc_mem_open_errors),
		cmocka_unit_test(test_proc_mem_load_bias_self),
		cmocka_unit_test(test_proc_mem_regions_self),
		cmocka_unit_test_teardown(test_live_planted_pie, kill_child),
		cmocka_unit_test_teardown(test_live_planted_nopie, kill_child),
		cmocka_unit_test_teardown(test_live_stuck, kill_child),
		cmocka_unit_test_teardown(test_live_demo_churn, kill_child),
		cmocka_unit_test_teardown(test_live_async_std, kill_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
