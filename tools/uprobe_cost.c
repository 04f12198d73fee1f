// SPDX-License-Identifier: MIT
/*
 * uprobe_cost [CALLS] [ROUNDS]: what one uprobe hit costs on this machine,
 * measured the way async-inspect-bpf attaches (user/tracer.c): a BPF program
 * in a uprobe_multi link (kernel 6.6+; else one perf-event uprobe with the
 * program attached, as the tool's fallback does), filtered on our pid. The
 * program is empty (r0 = 0; exit), so what is measured is the price of the
 * hit itself: the trap, the kernel's uprobe handling, running a BPF program.
 *
 * The probed functions are in this file, written in assembly so that their
 * first instruction is known:
 *   push_fn  starts with `push %rbp` (emulated by the kernel, like most
 *            function entries and like tokio's wake_by_val)
 *   sub_fn   starts with `sub $0x18,%rsp` (single-stepped out of line, like
 *            tokio's wake_by_ref in Debian's build)
 * Modes, each a loop of calls through a function pointer, interleaved round
 * by round (none, entry, entry+return, single-step, none, ...):
 *   none          push_fn, nothing attached
 *   entry         push_fn with an entry uprobe: the bare emulated hit
 *   entry_return  push_fn with an entry uprobe and a uretprobe (as raw::poll)
 *   single_step   sub_fn with an entry uprobe (CALLS/20 calls: it is slow)
 * Prints the median ns per call of each mode, and per hit (mode - none):
 *
 *   uprobe_cost: mechanism=uprobe_multi calls=200000 rounds=7
 *   uprobe_cost: call_ns=1.8 entry_hit_ns=420.1 entry_return_ns=700.3 single_step_hit_ns=9500.0
 *
 * Needs root (or CAP_BPF + CAP_PERFMON). Exit 0, or 1 with a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "trace/uprobe_multi.h"

/* Not in Debian 12's UAPI headers (they predate 6.6), as in user/tracer.c. */

__asm__(".text\n"
	".globl push_fn\n"
	".type push_fn,@function\n"
	"push_fn:\n"
	"	push %rbp\n"
	"	mov %rsp,%rbp\n"
	"	lea 1(%rdi),%rax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size push_fn,.-push_fn\n"
	".globl sub_fn\n"
	".type sub_fn,@function\n"
	"sub_fn:\n"
	"	sub $0x18,%rsp\n"
	"	lea 1(%rdi),%rax\n"
	"	add $0x18,%rsp\n"
	"	ret\n"
	".size sub_fn,.-sub_fn\n");

long push_fn(long x);
long sub_fn(long x);

static long (*volatile call_push)(long) = push_fn;
static long (*volatile call_sub)(long) = sub_fn;

static char exe[4096];
static bool use_multi = true;

static int fail(const char *what)
{
	fprintf(stderr, "uprobe_cost: %s: %s\n", what, strerror(errno));
	return 1;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* File offset of a function of ours, from /proc/self/maps. */
static int file_offset(const void *fn, __u64 *off)
{
	unsigned long addr = (unsigned long)fn, lo, hi, pgoff;
	char line[4096], perms[8];
	FILE *f = fopen("/proc/self/maps", "r");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %lx", &lo, &hi, perms, &pgoff) != 4)
			continue;
		if (addr >= lo && addr < hi && perms[2] == 'x') {
			*off = addr - lo + pgoff;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int load_empty_prog(bool multi)
{
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_KPROBE;
	attr.insns = (__u64)(unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (__u64)(unsigned long)"GPL";
	attr.expected_attach_type = multi ? ATTACH_TRACE_UPROBE_MULTI : 0;
	return (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

static int prog_multi = -1, prog_single = -1;

static int attach_multi(__u64 offset, bool ret)
{
	__u64 cookie = 0;
	int fd = uprobe_multi__attach(prog_multi, exe, &offset, &cookie, 1, ret, getpid());

	if (fd < 0)
		errno = -fd; /* callers report errno */
	return fd < 0 ? -1 : fd;
}

/* The fallback: a perf-event uprobe (PMU "uprobe") running the program. */
static int attach_perf(__u64 offset, bool ret)
{
	struct perf_event_attr attr = {.size = sizeof(attr)};
	char buf[64];
	int fd, type;
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");

	if (!f)
		return -1;
	type = fscanf(f, "%d", &attr.type) == 1 ? 0 : -1;
	fclose(f);
	if (type)
		return -1;
	if (ret) { /* "config:N" says which bit asks for a return probe */
		f = fopen("/sys/bus/event_source/devices/uprobe/format/retprobe", "r");
		if (!f || !fgets(buf, sizeof(buf), f)) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		attr.config = 1ULL << atoi(buf + strlen("config:"));
	}
	attr.config1 = (__u64)(unsigned long)exe;
	attr.config2 = offset;
	fd = (int)syscall(__NR_perf_event_open, &attr, getpid(), -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_single) || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int attach(__u64 offset, bool ret)
{
	return use_multi ? attach_multi(offset, ret) : attach_perf(offset, ret);
}

/* ns per call of `calls` calls of fn */
static double time_calls(long (*volatile *fn)(long), long calls)
{
	long acc = 0;
	double t0 = now_ns();

	for (long i = 0; i < calls; i++)
		acc += (*fn)(i);
	double t1 = now_ns();
	if (acc == 42) /* keep acc alive */
		fputc(' ', stderr);
	return (t1 - t0) / (double)calls;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { NONE, ENTRY, ENTRY_RETURN, SINGLE_STEP, MODES };

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 200000;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	__u64 push_off, sub_off;
	double *t[MODES];
	ssize_t n;

	if (calls < 100 || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "usage: uprobe_cost [CALLS >= 100] [ROUNDS 1..1000]\n");
		return 2;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return fail("readlink /proc/self/exe");
	exe[n] = 0;
	if (file_offset((const void *)push_fn, &push_off) || file_offset((const void *)sub_fn, &sub_off)) {
		fprintf(stderr, "uprobe_cost: cannot find our functions in /proc/self/maps\n");
		return 1;
	}
	prog_multi = load_empty_prog(true);
	prog_single = load_empty_prog(false);
	if (prog_single < 0)
		return fail("cannot load a BPF program (root, or CAP_BPF + CAP_PERFMON, needed)");
	int probe = prog_multi >= 0 ? attach_multi(push_off, false) : -1;
	if (probe < 0)
		use_multi = false;
	else
		close(probe);
	for (int m = 0; m < MODES; m++)
		if (!(t[m] = calloc((size_t)rounds, sizeof(double))))
			return fail("calloc");

	time_calls(&call_push, calls); /* warm up */
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < MODES; m++) {
			int fds[2] = {-1, -1};
			__u64 off = m == SINGLE_STEP ? sub_off : push_off;

			if (m != NONE && (fds[0] = attach(off, false)) < 0)
				return fail("cannot attach a uprobe");
			if (m == ENTRY_RETURN && (fds[1] = attach(off, true)) < 0)
				return fail("cannot attach a uretprobe");
			t[m][r] = m == SINGLE_STEP ? time_calls(&call_sub, calls / 20 > 0 ? calls / 20 : 1)
						   : time_calls(&call_push, calls);
			for (int i = 0; i < 2; i++)
				if (fds[i] >= 0)
					close(fds[i]);
		}
	}
	double none = median(t[NONE], rounds), entry = median(t[ENTRY], rounds);
	double entry_ret = median(t[ENTRY_RETURN], rounds), step = median(t[SINGLE_STEP], rounds);

	printf("uprobe_cost: mechanism=%s calls=%ld rounds=%d\n",
	       use_multi ? "uprobe_multi" : "perf_event", calls, rounds);
	printf("uprobe_cost: call_ns=%.1f entry_hit_ns=%.1f entry_return_ns=%.1f "
	       "single_step_hit_ns=%.1f\n",
	       none, entry - none, entry_ret - none, step - none);
	return 0;
}
