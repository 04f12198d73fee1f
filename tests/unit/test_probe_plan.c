// SPDX-License-Identifier: MIT
/*
 * tokio's probe plan against the real fixture binary $AIB_PROGRAMS/multi_thread
 * (the Makefile points AIB_PROGRAMS at tests/programs/target/release): every
 * poll copy gets one entry and one return site, the waker functions are
 * required, spawn sites and NEXT_ID are found, offsets and ranges agree with
 * the file. Expected counts come from elf_symbols__match and from the ELF
 * section headers read here with <elf.h>, not from the plan.
 * Binaries without tokio (this test itself, and small C programs compiled
 * here with Rust-mangled symbol names) must be refused with -ENOENT.
 * tokio's lock sites: the Acquire layout read off the fixture's code (as
 * objdump shows it), the return sites of Acquire::poll calls, the lock
 * kinds; the machine-code reader on assembly functions of this binary; the
 * locks fixture (tests/programs/locks) when it is built.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compile_c.h"
#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "async_task_layout.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"
#include "binary/symbolizer.h"
#include "lib/u64_map.h"
#include "binary/x86_code.h"

#define POLL "tokio::runtime::task::raw::poll"
#define WAKE_BY_VAL "tokio::runtime::task::waker::wake_by_val"
#define WAKE_BY_REF "tokio::runtime::task::waker::wake_by_ref"
#define NEXT_ID "tokio::runtime::task::id::Id::next::NEXT_ID"

struct fixture {
	char path[PATH_MAX];
	struct binary *bin;
	const struct elf_symbols *syms;
	struct probe_plan plan;
	int plan_err;
	char why[256];
};

static int setup(void **state)
{
	const char *dir = getenv("AIB_PROGRAMS");
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!dir) {
		fprintf(stderr, "AIB_PROGRAMS is not set: run through `make unit`, or set it to "
				"tests/programs/target/release\n");
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/multi_thread", dir);
	if (access(f->path, R_OK)) {
		fprintf(stderr, "fixture %s: %s (run `make programs`)\n", f->path, strerror(errno));
		free(f);
		return -1;
	}
	f->bin = binary__open(f->path);
	if (!f->bin) {
		fprintf(stderr, "binary__open(%s): %s\n", f->path, strerror(errno));
		free(f);
		return -1;
	}
	f->syms = binary__symbols(f->bin);
	f->plan_err =
		probe_plan__for_binary(f->syms, &f->plan, PROBE_CAPTURE_ALL, f->why, sizeof(f->why));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		probe_plan__release(&f->plan);
		binary__free(f->bin);
		free(f);
	}
	return 0;
}

/* ---- independent facts about the file ---- */

struct addrs {
	__u64 v[4096];
	size_t n;
	bool funcs_only;
};

static int collect(const struct elf_symbol *sym, void *ctx)
{
	struct addrs *a = ctx;

	if (a->funcs_only && !sym->is_func)
		return 0;
	assert_true(a->n < 4096);
	a->v[a->n++] = sym->vaddr;
	return 0;
}

static size_t matches(const struct fixture *f, const char *path, struct addrs *a, bool funcs_only)
{
	memset(a, 0, sizeof(*a));
	a->funcs_only = funcs_only;
	assert_true(elf_symbols__match(f->syms, path, collect, a) >= 0);
	return a->n;
}

static bool has_addr(const struct addrs *a, __u64 vaddr)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] == vaddr)
			return true;
	return false;
}

/* A site a few instructions into one of the functions (a cheap entry point). */
static bool near_addr(const struct addrs *a, __u64 vaddr)
{
	for (size_t i = 0; i < a->n; i++)
		if (vaddr >= a->v[i] && vaddr < a->v[i] + 64)
			return true;
	return false;
}

/* [sh_addr, sh_addr + sh_size) of a section, parsed with <elf.h> */
static bool section_range(const char *path, const char *name, __u64 *lo, __u64 *hi)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	unsigned char *img;
	bool found = false;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	img = malloc(st.st_size);
	assert_non_null(img);
	assert_int_equal(pread(fd, img, st.st_size, 0), st.st_size);
	close(fd);
	{
		const Elf64_Ehdr *eh = (const void *)img;
		const Elf64_Shdr *sh = (const void *)(img + eh->e_shoff);
		const char *names = (const char *)img + sh[eh->e_shstrndx].sh_offset;

		for (size_t i = 0; i < eh->e_shnum && !found; i++)
			if (!strcmp(names + sh[i].sh_name, name)) {
				*lo = sh[i].sh_addr;
				*hi = sh[i].sh_addr + sh[i].sh_size;
				found = true;
			}
	}
	free(img);
	return found;
}

static size_t sites_of(const struct probe_plan *p, enum aib_probe probe, int retprobe)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nsites; i++)
		if (p->sites[i].probe == probe && (retprobe < 0 || p->sites[i].retprobe == retprobe))
			n++;
	return n;
}

/* ---- the real fixture ---- */

static void test_plan_ok(void **state)
{
	struct fixture *f = *state;

	if (f->plan_err)
		fail_msg("probe_plan__for_binary(%s) = %d: %s", f->path, f->plan_err, f->why);
	assert_int_equal(f->plan.runtimes, AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO));
	assert_string_equal(f->plan.runtime_desc, "tokio");
	assert_true(f->plan.nsites <= f->plan.cap);
}

static void test_poll_sites(void **state)
{
	struct fixture *f = *state;
	static struct addrs polls;
	size_t npoll = matches(f, POLL, &polls, true);
	bool seen_entry[4096] = {0}, seen_ret[4096] = {0};

	assert_true(npoll > 0);
	assert_int_equal(f->plan.poll_sites, npoll);
	assert_int_equal(sites_of(&f->plan, AIB_PROBE_POLL, 0), npoll);
	assert_int_equal(sites_of(&f->plan, AIB_PROBE_POLL, 1), npoll);
	/* one entry and one return site at each copy, each required */
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];
		size_t k;

		if (s->probe != AIB_PROBE_POLL)
			continue;
		for (k = 0; k < npoll && polls.v[k] != s->vaddr; k++)
			;
		if (k == npoll)
			fail_msg("poll site at 0x%llx is no copy of %s", (unsigned long long)s->vaddr, POLL);
		if (s->retprobe) {
			assert_false(seen_ret[k]);
			seen_ret[k] = true;
		} else {
			assert_false(seen_entry[k]);
			seen_entry[k] = true;
		}
		assert_true(s->required);
		assert_string_equal(s->what, POLL);
	}
	for (size_t k = 0; k < npoll; k++) {
		assert_true(seen_entry[k]);
		assert_true(seen_ret[k]);
	}
	/* no other probe gets a return probe (unwinding through one aborts)
	 * but the park a block_on loop calls between polls, which runs no
	 * user code */
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];

		if (!s->retprobe || s->probe == AIB_PROBE_POLL)
			continue;
		assert_int_equal(s->probe, AIB_PROBE_ROOT_PARK);
		assert_string_equal(s->what, "tokio::runtime::park::Inner::park");
	}
}

static void test_wake_sites_required(void **state)
{
	struct fixture *f = *state;
	static struct addrs val, ref;
	size_t nval = matches(f, WAKE_BY_VAL, &val, true), nref = matches(f, WAKE_BY_REF, &ref, true);

	assert_true(nval > 0);
	assert_true(nref > 0);
	assert_int_equal(sites_of(&f->plan, AIB_PROBE_WAKE_BY_VAL, -1), nval);
	assert_int_equal(sites_of(&f->plan, AIB_PROBE_WAKE_BY_REF, -1), nref);
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];

		if (s->probe == AIB_PROBE_WAKE_BY_VAL) {
			assert_true(s->required);
			assert_true(has_addr(&val, s->vaddr));
			assert_string_equal(s->what, WAKE_BY_VAL);
		} else if (s->probe == AIB_PROBE_WAKE_BY_REF) {
			assert_true(s->required);
			assert_true(has_addr(&ref, s->vaddr));
			assert_string_equal(s->what, WAKE_BY_REF);
		} else if (s->probe != AIB_PROBE_POLL) {
			assert_false(s->required); /* everything else is optional */
		}
	}
	assert_null(strstr(f->plan.missing, "wake_by"));
}

static void test_spawn_sites(void **state)
{
	struct fixture *f = *state;
	static struct addrs a;
	size_t spawn = sites_of(&f->plan, AIB_PROBE_SPAWN, -1),
	       blocking = sites_of(&f->plan, AIB_PROBE_SPAWN_BLOCKING, -1),
	       local = sites_of(&f->plan, AIB_PROBE_SPAWN_LOCAL, -1);

	assert_true(f->plan.spawn_sites > 0);
	assert_int_equal(f->plan.spawn_sites, spawn + blocking + local);
	assert_true(spawn > 0); /* multi_thread calls tokio::spawn */
	/* every site is a function of the path it names */
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];

		assert_non_null(s->what);
		if (s->probe == AIB_PROBE_LOCK_POLLED || s->probe == AIB_PROBE_TOKIO_PANIC ||
		    s->probe == AIB_PROBE_ROOT_UNPARKED || s->probe == AIB_PROBE_ROOT_RETURNED ||
		    s->probe == AIB_PROBE_ID_TAKEN || s->probe == AIB_PROBE_ROOT_START_INLINED)
			continue; /* inside callers: test_lock_sites, test_panic_sites, test_root_sites,
				     test_id_taken_sites, test_inlined_root_starts */
		matches(f, s->what, &a, true);
		if (s->probe == AIB_PROBE_AWAIT || s->probe == AIB_PROBE_JOIN ||
			    s->probe == AIB_PROBE_LOCK_POLL || s->probe == AIB_PROBE_LOCK_DROP ||
			    s->probe == AIB_PROBE_LOCK_RELEASE ||
			    (s->probe >= AIB_PROBE_ROOT_START && !s->retprobe)
				    ? !near_addr(&a, s->vaddr)
									       : !has_addr(&a, s->vaddr))
			fail_msg("site %s at 0x%llx is not a function of that name", s->what,
				 (unsigned long long)s->vaddr);
	}
	/* spawn found: nothing said to be missing about it */
	assert_null(strstr(f->plan.missing, "tokio::spawn (inlined"));
}

static void test_no_duplicate_sites(void **state)
{
	struct fixture *f = *state;

	/* a second uprobe at one address would count every event twice */
	for (size_t i = 0; i < f->plan.nsites; i++)
		for (size_t j = i + 1; j < f->plan.nsites; j++)
			if (f->plan.sites[i].vaddr == f->plan.sites[j].vaddr &&
			    f->plan.sites[i].retprobe == f->plan.sites[j].retprobe)
				fail_msg("two sites at 0x%llx: %s and %s",
					 (unsigned long long)f->plan.sites[i].vaddr, f->plan.sites[i].what,
					 f->plan.sites[j].what);
}

/* Where tokio's harness catches a task's panic: every site stands for the
 * return of a call of __rust_panic_cleanup (direct or through its GOT
 * slot) inside a harness poll function (Harness::poll, poll_inner,
 * poll_future), probed there or at a later emulated instruction. */
struct fn_ranges {
	__u64 lo[512], hi[512];
	size_t n;
};

static int harness_range(const struct elf_symbol *sym, void *ctx)
{
	struct fn_ranges *r = ctx;

	if (sym->is_func && r->n < 512 && strstr(sym->path, "::poll")) {
		r->lo[r->n] = sym->vaddr;
		r->hi[r->n++] = sym->vaddr + sym->size;
	}
	return 0;
}

/* Does the call ending at `ret` call `target` (call rel32, or call
 * *disp32(%rip) through one of its pointer slots)? */
static bool calls_before(const struct fixture *f, __u64 ret, __u64 target)
{
	__u64 slots[8];
	int nslots = elf_symbols__pointer_slots(f->syms, target, slots, 8);
	__u8 c[6];
	__s32 rel;

	if (!target || elf_symbols__read(f->syms, ret - 6, c, 6))
		return false;
	rel = (__s32)(c[2] | c[3] << 8 | c[4] << 16 | (__u32)c[5] << 24);
	if (c[1] == 0xe8 && ret + rel == target)
		return true;
	for (int j = 0; j < nslots && j < 8; j++)
		if (c[0] == 0xff && c[1] == 0x15 && ret + rel == slots[j])
			return true;
	return false;
}

static void test_panic_sites(void **state)
{
	struct fixture *f = *state;
	static struct fn_ranges r;
	__u64 cleanups[3] = {
		probe_plan__panic_cleanup(f->syms),
		probe_plan__function(f->syms, "std::panicking::catch_unwind::cleanup"),
		probe_plan__function(f->syms, "std::panicking::try::cleanup"),
	};
	size_t n = 0;

	assert_true(cleanups[0] != 0);
	r.n = 0;
	elf_symbols__match(f->syms, "tokio::runtime::task::harness::*", harness_range, &r);
	assert_true(r.n > 0);
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];
		__u8 code[16];
		bool in = false, calls = false;

		if (s->probe != AIB_PROBE_TOKIO_PANIC)
			continue;
		n++;
		assert_false(s->retprobe);
		for (size_t k = 0; k < r.n && !in; k++)
			in = s->origin >= r.lo[k] && s->origin < r.hi[k];
		if (!in)
			fail_msg("panic site 0x%llx: not in a harness poll function",
				 (unsigned long long)s->origin);
		for (int k = 0; k < 3 && !calls; k++)
			calls = calls_before(f, s->origin, cleanups[k]);
		if (!calls)
			fail_msg("panic site 0x%llx: no call of std's catch cleanup before it",
				 (unsigned long long)s->origin);
		assert_true(s->vaddr >= s->origin && s->vaddr < s->origin + 64);
		assert_int_equal(elf_symbols__read(f->syms, s->vaddr, code, sizeof(code)), 0);
		assert_int_not_equal(code[0], 0xf0); /* a lock prefix: never fires */
	}
	assert_true(n > 0);
	assert_null(strstr(f->plan.missing, "panic"));
}

/* block_on roots: the loop's entry and exit, the park and its return (a
 * uretprobe), current_thread's park and the return sites of its calls, the
 * root wakers' functions; no site on a lock-prefixed instruction (such a
 * uprobe never fires): the clones are probed past their `lock incq`. */
static void test_root_sites(void **state)
{
	struct fixture *f = *state;
	static struct addrs enter, park, ctx_park, clone;
	size_t nenter = matches(f, "tokio::runtime::context::enter_runtime", &enter, true);
	size_t npark = matches(f, "tokio::runtime::park::Inner::park", &park, true);
	size_t nctx = matches(f, "tokio::runtime::scheduler::current_thread::Context::park", &ctx_park,
			      true);
	size_t nclone = matches(f, "tokio::runtime::park::clone", &clone, true);

	assert_true(nenter > 0 && npark > 0 && nctx > 0 && nclone > 0);
	assert_int_equal(sites_of(&f->plan, AIB_PROBE_ROOT_START, 0), nenter);
	assert_true(sites_of(&f->plan, AIB_PROBE_ROOT_END, 0) > 0);
	assert_int_equal(sites_of(&f->plan, AIB_PROBE_ROOT_PARK, 0), npark);
	assert_int_equal(sites_of(&f->plan, AIB_PROBE_ROOT_PARK, 1), npark);
	assert_true(sites_of(&f->plan, AIB_PROBE_ROOT_PARK_WOKEN, 0) >= nctx);
	assert_true(sites_of(&f->plan, AIB_PROBE_ROOT_UNPARKED, 0) >= 1);
	assert_true(sites_of(&f->plan, AIB_PROBE_ROOT_WAKE, 0) >= 2);
	assert_true(f->plan.root_sites > 0);
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];
		__u8 op = 0;

		assert_int_equal(elf_symbols__read(f->syms, s->vaddr, &op, 1), 0);
		assert_int_not_equal(op, 0xf0); /* lock: would never fire */
		if (s->probe == AIB_PROBE_ROOT_PARK_WOKEN)
			assert_int_equal(s->retprobe, false);
		if (s->probe == AIB_PROBE_ROOT_AWAIT && !strcmp(s->what, "tokio::runtime::park::clone"))
			assert_true(near_addr(&clone, s->vaddr) && !has_addr(&clone, s->vaddr));
		if (s->probe == AIB_PROBE_ROOT_UNPARKED)
			assert_true(x86_code__follows_call(f->syms, s->origin));
	}
	assert_null(strstr(f->plan.missing, "block_on"));
}

static void test_next_id(void **state)
{
	struct fixture *f = *state;
	static struct addrs a;
	size_t n = matches(f, NEXT_ID, &a, false);

	assert_int_equal(n, 1);
	assert_int_not_equal(f->plan.next_id_vaddr, 0);
	assert_int_equal(f->plan.next_id_vaddr, a.v[0]);
	assert_null(strstr(f->plan.missing, "NEXT_ID"));
}

/* Id::next's fetch_add on NEXT_ID, wherever it was inlined: every site
 * follows a `lock xadd` (multi_thread reaches NEXT_ID through its GOT
 * slot); the plan probes those outside the spawn functions it probes. */
static void test_id_taken_sites(void **state)
{
	struct fixture *f = *state;
	struct x86_fetch_add sites[256];
	static struct addrs spawn_fns;
	__u64 slots[8];
	int nslots = elf_symbols__pointer_slots(f->syms, f->plan.next_id_vaddr, slots, 8);
	int n = x86_code__fetch_add_sites(f->syms, f->plan.next_id_vaddr, slots, nslots, sites, 256);
	size_t planned = sites_of(&f->plan, AIB_PROBE_ID_TAKEN, -1);

	assert_true(nslots > 0);
	assert_true(n > 0 && n <= 256);
	for (int i = 0; i < n; i++) {
		__u8 b[9];

		assert_int_equal(elf_symbols__read(f->syms, sites[i].after - 9, b, 9), 0);
		/* lock xadd %reg,(%base): f0 REX 0f c1 modrm; %reg,disp32(%rip): 9 bytes */
		const __u8 *x = b[4] == 0xf0 && b[6] == 0x0f && b[7] == 0xc1 ? b + 4
			       : b[0] == 0xf0 && b[2] == 0x0f && b[3] == 0xc1 && (b[4] & 0xc7) == 0x05
				       ? b
				       : NULL;

		if (!x)
			fail_msg("site 0x%llx follows no lock xadd",
				 (unsigned long long)sites[i].after);
		/* the register: REX.R and ModRM.reg; the xadd's length */
		assert_int_equal(sites[i].reg, (x[1] & 4) << 1 | (x[4] >> 3 & 7));
		assert_int_equal(sites[i].len, x == b ? 9 : 5);
	}
	assert_int_equal(planned, f->plan.spawn_stack_sites);
	assert_true(planned <= (size_t)n);
	/* none inside a probed spawn function: its entry already says */
	matches(f, "tokio::task::spawn::spawn*", &spawn_fns, true);
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];

		if (s->probe != AIB_PROBE_ID_TAKEN)
			continue;
		for (size_t j = 0; j < spawn_fns.n; j++) {
			const struct elf_symbol *fn = NULL;

			for (size_t k = 0; k < elf_symbols__count(f->syms) && !fn; k++)
				if (elf_symbols__get(f->syms, k)->vaddr == spawn_fns.v[j] &&
				    elf_symbols__get(f->syms, k)->is_func)
					fn = elf_symbols__get(f->syms, k);
			assert_false(fn && s->vaddr >= fn->vaddr && s->vaddr < fn->vaddr + fn->size);
		}
	}
}

static void test_offsets(void **state)
{
	struct fixture *f = *state;

	assert_true(f->plan.nsites > 2 * f->plan.poll_sites);
	for (size_t i = 0; i < f->plan.nsites; i++) {
		const struct probe_site *s = &f->plan.sites[i];
		__u64 off = ~0ULL;

		assert_int_equal(elf_symbols__vaddr_to_offset(f->syms, s->vaddr, &off), 0);
		assert_int_equal(s->offset, off);
		assert_true(s->probe >= AIB_PROBE_POLL && s->probe < AIB_PROBE_MAX);
		/* the attach cookie must hold the address */
		assert_int_equal(AIB_COOKIE_VADDR(AIB_COOKIE(s->probe, s->arg, s->vaddr)), s->vaddr);
		assert_int_equal(AIB_COOKIE_PROBE(AIB_COOKIE(s->probe, s->arg, s->vaddr)), s->probe);
	}
}

static void test_string_ranges(void **state)
{
	struct fixture *f = *state;
	__u64 lo, hi, rlo, rhi;

	assert_true(section_range(f->path, ".rodata", &lo, &hi));
	assert_int_not_equal(lo, 0);
	assert_int_equal(f->plan.str_lo, lo);
	assert_int_equal(f->plan.str_hi, hi);
	/* Locations can sit in .rodata or .data.rel.ro: the range covers both */
	assert_true(f->plan.loc_lo <= lo && f->plan.loc_hi >= hi);
	if (!section_range(f->path, ".data.rel.ro", &rlo, &rhi)) {
		rlo = lo;
		rhi = hi;
	}
	assert_int_equal(f->plan.loc_lo, lo < rlo ? lo : rlo);
	assert_int_equal(f->plan.loc_hi, hi > rhi ? hi : rhi);
}

/* ---- binaries without tokio ---- */

static void test_self_is_not_tokio(void **state)
{
	struct binary *bin = binary__open("/proc/self/exe");
	const struct elf_symbols *self = binary__symbols(bin);
	struct probe_plan plan;
	char why[256] = "";

	assert_non_null(self);
	memset(&plan, 0xa5, sizeof(plan));
	assert_int_equal(probe_plan__for_binary(self, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)),
			 -ENOENT);
	if (!strstr(why, POLL))
		fail_msg("why = \"%s\": does not name %s", why, POLL);
	assert_non_null(strstr(why, "no tokio runtime"));
	assert_null(plan.sites); /* released */
	assert_int_equal(plan.nsites, 0);
	probe_plan__release(&plan); /* again: harmless */
	binary__free(bin);
}

/* C source compiled to a temporary executable (gone once opened); the
 * test is skipped when there is no compiler. */
static struct binary *compiled(const char *src)
{
	char exe[PATH_MAX];
	struct binary *bin;

	assert_true(compile_c(src, "", exe, sizeof(exe)));
	bin = binary__open(exe);
	unlink(exe);
	assert_non_null(bin);
	return bin;
}

/* legacy-mangled Rust names: _ZN <len><ident>... 17h<16 hex>E */
#define SYM_POLL "_ZN5tokio7runtime4task3raw4poll17h0123456789abcdefE"
#define SYM_WAKE_VAL "_ZN5tokio7runtime4task5waker11wake_by_val17hfedcba9876543210E"
#define SYM_WAKE_REF "_ZN5tokio7runtime4task5waker11wake_by_ref17h1a2b3c4d5e6f7089E"
#define SYM_SPAWN "_ZN5tokio4task5spawn5spawn17h9e8d7c6b5a4f3e2dE"
#define SYM_SHUTDOWN "_ZN5tokio7runtime4task3raw8shutdown17h5f4e3d2c1b0a9876E"
#define SYM_NEXT_ID "_ZN5tokio7runtime4task2id2Id4next7NEXT_ID17h13579bdf02468aceE"

#define FN(sym, name) \
	"__attribute__((used, noinline)) long " name "(long x) __asm__(\"" sym "\");\n" \
	"long " name "(long x) { return x * 3 + 1; }\n"

static const char SRC_POLL_ONLY[] =
	FN(SYM_POLL, "p")
	"int main(int c, char **v) { return (int)p(c); }\n";

static const char SRC_MINIMAL_TOKIO[] =
	FN(SYM_POLL, "p")
	FN(SYM_WAKE_VAL, "wv")
	FN(SYM_WAKE_REF, "wr")
	FN(SYM_SPAWN, "sp")
	"__attribute__((used)) unsigned long long next_id __asm__(\"" SYM_NEXT_ID "\") = 1;\n"
	/* data, not code, under a probed function's name: never a probe site */
	"__attribute__((used)) unsigned long long not_fn[2] __asm__(\"" SYM_SHUTDOWN "\") = {2, 3};\n"
	"int main(int c, char **v) { return (int)(p(c) + wv(c) + wr(c) + sp(c) + next_id); }\n";

static void test_poll_without_wakers(void **state)
{
	struct binary *bin;
	const struct elf_symbols *syms;
	struct probe_plan plan;
	char why[256] = "";

	bin = compiled(SRC_POLL_ONLY);
	syms = binary__symbols(bin);
	/* the planted symbol is found as tokio's poll */
	{
		static struct addrs a;
		struct fixture tmp = {.syms = syms};

		assert_int_equal(matches(&tmp, POLL, &a, true), 1);
	}
	assert_int_equal(probe_plan__for_binary(syms, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)),
			 -ENOENT);
	if (!strstr(why, WAKE_BY_VAL))
		fail_msg("why = \"%s\": does not name %s", why, WAKE_BY_VAL);
	assert_null(plan.sites);
	assert_int_equal(plan.nsites, 0);
	binary__free(bin);
}

static void test_minimal_tokio(void **state)
{
	struct binary *bin;
	const struct elf_symbols *syms;
	struct probe_plan plan;
	char why[256] = "";
	static struct addrs a;

	bin = compiled(SRC_MINIMAL_TOKIO);
	syms = binary__symbols(bin);
	assert_int_equal(probe_plan__for_binary(syms, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)), 0);
	assert_int_equal(plan.poll_sites, 1);
	assert_int_equal(plan.spawn_sites, 1);
	assert_int_equal(plan.nsites, 5); /* poll entry + return, two wakers, spawn */
	assert_int_equal(sites_of(&plan, AIB_PROBE_POLL, 0), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_POLL, 1), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_WAKE_BY_VAL, 0), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_WAKE_BY_REF, 0), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_SPAWN, 0), 1);
	{
		struct fixture tmp = {.syms = syms};

		assert_int_equal(matches(&tmp, NEXT_ID, &a, false), 1);
		assert_int_equal(plan.next_id_vaddr, a.v[0]);
		assert_int_equal(matches(&tmp, "tokio::task::spawn::spawn", &a, true), 1);
		assert_int_equal(sites_of(&plan, AIB_PROBE_SPAWN, -1), 1);
		for (size_t i = 0; i < plan.nsites; i++)
			if (plan.sites[i].probe == AIB_PROBE_SPAWN)
				assert_int_equal(plan.sites[i].vaddr, a.v[0]);
	}
	assert_int_equal(sites_of(&plan, AIB_PROBE_SHUTDOWN, -1), 0);
	{
		struct fixture tmp = {.syms = syms};

		assert_int_equal(matches(&tmp, "tokio::runtime::task::raw::shutdown", &a, false), 1);
	}
	/* the optional functions that are absent are named */
	assert_non_null(strstr(plan.missing, "tokio::runtime::task::raw::shutdown"));
	assert_non_null(strstr(plan.missing, "tokio::runtime::task::raw::dealloc"));
	assert_null(strstr(plan.missing, "spawn"));
	probe_plan__release(&plan);
	assert_null(plan.sites);
	binary__free(bin);
}

/* ---- async-task and the machine-code reader ---- */

#define AT_RAW_TASK "_ZN10async_task3raw24RawTask$LT$F$C$T$C$S$GT$"
#define SYM_AT_RUN AT_RAW_TASK "3run17h0123456789abcdefE"
#define SYM_AT_WAKE AT_RAW_TASK "4wake17h0123456789abcdefE"
#define SYM_AT_SCHEDULE "_ZN10async_task8runnable8Runnable8schedule17h0123456789abcdefE"
#define SYM_RUNNABLE_RUN "_ZN10async_task8runnable8Runnable3run17h0123456789abcdefE"
#define SYM_AT_CLONE_WAKER AT_RAW_TASK "11clone_waker17h0123456789abcdefE"

/* Functions in assembly, so their instructions are known exactly. */
#define ASM_FN(sym, body) \
	"__asm__(\".text\\n.globl " sym "\\n.type " sym ",@function\\n" sym ":\\n" body \
	"\\n.size " sym ", .-" sym "\\n\");\n"

static const char SRC_ASYNC_TASK[] =
	/* Runnable::run: load the vtable from the header, tail-call run */
	ASM_FN(SYM_RUNNABLE_RUN, "mov 0x0(%rdi),%rax\\n jmp *0x28(%rax)")
	FN(SYM_AT_RUN, "at_run")
	FN(SYM_AT_WAKE, "at_wake")
	FN(SYM_AT_SCHEDULE, "at_schedule")
	/* after the call: two plain instructions, then an emulated jcc */
	ASM_FN("executor_tick", "push %rbx\\n call " SYM_RUNNABLE_RUN
				"\\n mov %eax,%ebx\\n add $1,%ebx\\n cmp $2,%ebx\\n jl 1f\\n1: pop %rbx\\n ret")
	/* rsp moves before any emulated instruction: the site stays put */
	ASM_FN("sp_moves", "mov %rdi,%rax\\n sub $8,%rsp\\n jmp 1f\\n1: add $8,%rsp\\n ret")
	/* clone_waker as rustc builds it: the js is the first emulated
	 * instruction, with rdi and rsp as at entry */
	ASM_FN(SYM_AT_CLONE_WAKER, "mov $0x40,%eax\\n lock xadd %rax,(%rdi)\\n test %rax,%rax\\n"
				   " js 1f\\n mov %rdi,%rdx\\n ret\\n1: ud2")
	/* rdi is overwritten before the jcc: an entry probe stays at entry */
	ASM_FN("arg_clobbered", "mov $1,%eax\\n mov (%rdi),%rdi\\n test %rdi,%rdi\\n js 1f\\n1: ret")
	"int executor_tick(void *); int sp_moves(void); int arg_clobbered(void *);\n"
	"int clone_waker(void *) __asm__(\"" SYM_AT_CLONE_WAKER "\");\n"
	"int main(int c, char **v) { return c > 5 ? executor_tick(v) + sp_moves() +\n"
	"  arg_clobbered(v) + clone_waker(v) +\n"
	"  (int)(at_run(c) + at_wake(c) + at_schedule(c)) : 0; }\n";

static __u64 sym_addr(const struct elf_symbols *syms, const char *raw)
{
	for (size_t i = 0; i < elf_symbols__count(syms); i++)
		if (!strcmp(elf_symbols__get(syms, i)->raw, raw))
			return elf_symbols__get(syms, i)->vaddr;
	fail_msg("no symbol %s", raw);
	return 0;
}

static void test_async_task_plan(void **state)
{
	char why[256] = "";
	struct binary *bin;
	const struct elf_symbols *syms;
	struct probe_plan plan;
	__u64 tick, ret_site = 0, probe_at = 0;

	bin = compiled(SRC_ASYNC_TASK);
	syms = binary__symbols(bin);
	tick = sym_addr(syms, "executor_tick");

	/* the return address of the call in executor_tick (push 1 + call 5) */
	assert_int_equal(x86_code__call_sites(syms, sym_addr(syms, SYM_RUNNABLE_RUN),
					      NULL, 0, &ret_site, 1),
			 1);
	assert_int_equal(ret_site, tick + 6);
	/* mov 2 + add 3 + cmp 3: the jl is the first emulated instruction */
	assert_int_equal(x86_code__cheap_probe_point(syms, ret_site, &probe_at), 0);
	assert_int_equal(probe_at, tick + 6 + 8);
	/* a push at the address itself is already emulated */
	assert_int_equal(x86_code__cheap_probe_point(syms, tick, &probe_at), 0);
	assert_int_equal(probe_at, tick);
	assert_int_equal(x86_code__cheap_probe_point(syms, sym_addr(syms, "sp_moves"), &probe_at), 0);
	assert_int_equal(probe_at, sym_addr(syms, "sp_moves"));
	/* entry probes that read the argument: mov 5 + lock xadd 5 + test 3 */
	assert_int_equal(x86_code__cheap_entry_point(syms, sym_addr(syms, SYM_AT_CLONE_WAKER), &probe_at), 0);
	assert_int_equal(probe_at, sym_addr(syms, SYM_AT_CLONE_WAKER) + 13);
	assert_int_equal(x86_code__cheap_entry_point(syms, sym_addr(syms, "arg_clobbered"), &probe_at), 0);
	assert_int_equal(probe_at, sym_addr(syms, "arg_clobbered"));
	assert_int_equal(x86_code__cheap_probe_point(syms, sym_addr(syms, "arg_clobbered"), &probe_at), 0);
	assert_int_equal(probe_at, sym_addr(syms, "arg_clobbered") + 11);

	assert_int_equal(probe_plan__for_binary(syms, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)), 0);
	assert_int_equal(plan.runtimes, AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK));
	assert_string_equal(plan.runtime_desc, "async-task");
	assert_int_equal(plan.poll_sites, 1);
	assert_int_equal(plan.at_vtable_off, 0);
	assert_int_equal(plan.at_state_off, 8);
	assert_int_equal(sites_of(&plan, AIB_PROBE_AT_RUN, false), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_AT_WAKE, false), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_AT_SCHEDULE, false), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_AT_RUN_RETURN, false), 1);
	assert_int_equal(sites_of(&plan, AIB_PROBE_AT_AWAIT, false), 1);
	assert_int_equal(plan.await_sites, 1);
	for (size_t i = 0; i < plan.nsites; i++) {
		if (plan.sites[i].probe == AIB_PROBE_AT_AWAIT)
			assert_int_equal(plan.sites[i].vaddr, sym_addr(syms, SYM_AT_CLONE_WAKER) + 13);
		assert_false(plan.sites[i].retprobe); /* never a uretprobe on async-task */
		if (plan.sites[i].probe == AIB_PROBE_AT_RUN_RETURN) {
			assert_int_equal(plan.sites[i].origin, tick + 6);
			assert_int_equal(plan.sites[i].vaddr, tick + 6 + 8);
		}
	}
	assert_int_equal(sites_of(&plan, AIB_PROBE_POLL, false), 0);
	probe_plan__release(&plan);
	binary__free(bin);
}

/* async-task's header layout as Runnable::run reads it (a frame-pointer
 * build's prologue skipped, any register, a jmp or a call), into the plan
 * and the memory scan alike; rustc 1.95's when the code is anything else. */
static int first_vaddr(const struct elf_symbol *sym, void *ctx)
{
	*(__u64 *)ctx = sym->vaddr;
	return 0;
}

/* RawTask::run's return sites where LTO inlined Runnable::run: after each
 * call through slot 0x28 of a vtable read from +8 of a header, the
 * register not written since (byte offsets from the function's start). */
static void test_vcall_sites(void **state)
{
	const char *src =
		"__asm__(\".text\\n.globl aib_loop\\n.type aib_loop,@function\\naib_loop:\\n"
		"mov 0x8(%rdi),%rax\\n call *0x28(%rax)\\n"	       /* 4 + 3: a site at +7 */
		"mov 0x8(%rdi),%rax\\n mov %rsi,%rax\\n call *0x28(%rax)\\n" /* written: +17 */
		"mov 0x10(%rdi),%rcx\\n call *0x28(%rcx)\\n"	       /* another field: +24 */
		"mov 0x8(%rdi),%rdx\\n call *0x30(%rdx)\\n"	       /* another slot: +31 */
		"mov 0x8(%rbx),%r8\\n nop\\n call *0x28(%r8)\\n"      /* 4 + 1 + 4: a site at +40 */
		"ret\\n.size aib_loop, .-aib_loop\");\n"
		"int main(void) { return 0; }\n";
	struct binary *bin = compiled(src);
	__u64 rets[8], start = 0;
	int n;

	assert_int_equal(elf_symbols__match(binary__symbols(bin), "aib_loop", first_vaddr, &start), 1);
	n = x86_code__vcall_sites(binary__symbols(bin), 8, 0x28, rets, 8);
	assert_int_equal(n, 2);
	assert_int_equal(rets[0], start + 7);
	assert_int_equal(rets[1], start + 40);
	binary__free(bin);
}

/* Where LTO inlined Runnable::schedule: the calls that hand RawTask::schedule
 * a new task, direct or through the vtable's schedule slot, and not the
 * one from RawTask's own wake. */
#define SYM_RAW_SCHEDULE AT_RAW_TASK "8schedule17h0123456789abcdefE"

static const char SRC_SCHEDULE_INLINED[] =
	ASM_FN(SYM_RUNNABLE_RUN, "mov 0x0(%rdi),%rax\\n jmp *0x28(%rax)")
	FN(SYM_AT_RUN, "at_run")
	ASM_FN(SYM_RAW_SCHEDULE, "ret")
	ASM_FN(SYM_AT_WAKE, "push %rbx\\n call " SYM_RAW_SCHEDULE "\\n pop %rbx\\n ret")
	/* push 1 + call 5: a spawn call returning to +6 */
	ASM_FN("spawn_direct", "push %rbx\\n call " SYM_RAW_SCHEDULE "\\n pop %rbx\\n ret")
	/* mov 3 + call 2: through slot 0 of the vtable at +0, returning to +5 */
	ASM_FN("spawn_vcall", "mov (%rdi),%rax\\n call *(%rax)\\n ret")
	"int spawn_direct(void *); int spawn_vcall(void *);\n"
	"int main(int c, char **v) { return c > 5 ? spawn_direct(v) + spawn_vcall(v) +\n"
	"  (int)at_run(c) : 0; }\n";

static void test_async_task_spawn_calls(void **state)
{
	struct binary *bin = compiled(SRC_SCHEDULE_INLINED);
	const struct elf_symbols *syms = binary__symbols(bin);
	struct probe_plan plan;
	char why[256] = "";
	__u64 want[2];

	assert_int_equal(probe_plan__for_binary(syms, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)), 0);
	assert_true(plan.at_track_seen);
	assert_int_equal(sites_of(&plan, AIB_PROBE_AT_SCHEDULE_ANY, false), 1);
	assert_int_equal(plan.n_at_spawn_calls, 2);
	want[0] = sym_addr(syms, "spawn_direct") + 6;
	want[1] = sym_addr(syms, "spawn_vcall") + 5;
	for (int i = 0; i < 2; i++)
		assert_true(plan.at_spawn_calls[0] == want[i] || plan.at_spawn_calls[1] == want[i]);
	probe_plan__release(&plan);
	binary__free(bin);
}

/* A block_on whose enter_runtime was inlined (tokio 1.53's multi-thread
 * Runtime::block_on): a root start at its call of the park loop, none at
 * another caller's (tokio::future::block_on, for blocking_recv). */
#define SYM_PARK_BLOCK_ON "_ZN5tokio7runtime4park16CachedParkThread8block_on17h0123456789abcdefE"
#define SYM_RUNTIME_BLOCK_ON "_ZN5tokio7runtime7runtime7Runtime8block_on17h0123456789abcdefE"
#define SYM_FUTURE_BLOCK_ON "_ZN5tokio6future8block_on8block_on17h0123456789abcdefE"

static const char SRC_BLOCK_ON_INLINED[] =
	FN(SYM_POLL, "p")
	FN(SYM_WAKE_VAL, "wv")
	FN(SYM_WAKE_REF, "wr")
	ASM_FN(SYM_PARK_BLOCK_ON, "ret")
	/* push 1, then the call: a site at +1 */
	ASM_FN(SYM_RUNTIME_BLOCK_ON, "push %rbx\\n call " SYM_PARK_BLOCK_ON "\\n pop %rbx\\n ret")
	ASM_FN(SYM_FUTURE_BLOCK_ON, "push %rbx\\n call " SYM_PARK_BLOCK_ON "\\n pop %rbx\\n ret")
	"int rb(void) __asm__(\"" SYM_RUNTIME_BLOCK_ON "\");\n"
	"int fb(void) __asm__(\"" SYM_FUTURE_BLOCK_ON "\");\n"
	"int main(int c, char **v) { return c > 5 ? (int)(p(c) + wv(c) + wr(c)) + rb() + fb() : 0; }\n";

static void test_inlined_root_starts(void **state)
{
	struct binary *bin = compiled(SRC_BLOCK_ON_INLINED);
	const struct elf_symbols *syms = binary__symbols(bin);
	struct probe_plan plan;
	char why[256] = "";

	assert_int_equal(probe_plan__for_binary(syms, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)), 0);
	assert_int_equal(sites_of(&plan, AIB_PROBE_ROOT_START_INLINED, 0), 1);
	for (size_t i = 0; i < plan.nsites; i++)
		if (plan.sites[i].probe == AIB_PROBE_ROOT_START_INLINED)
			assert_int_equal(plan.sites[i].vaddr, sym_addr(syms, SYM_RUNTIME_BLOCK_ON) + 1);
	/* roots there are: not said missing */
	assert_null(strstr(plan.missing, "enter_runtime"));
	probe_plan__release(&plan);
	binary__free(bin);
}

static void test_async_task_layout(void **state)
{
	static const struct {
		const char *run; /* Runnable::run's instructions */
		struct runtime_layout want;
	} cases[] = {
		{"mov 0x0(%rdi),%rax\\n jmp *0x28(%rax)", {0, 8, 0x28}},
		{"push %rbp\\n mov %rsp,%rbp\\n mov 0x10(%rdi),%rcx\\n pop %rbp\\n jmp *0x30(%rcx)",
		 {16, 0, 0x30}},
		{"push %rbp\\n mov %rsp,%rbp\\n mov 0x8(%rdi),%rax\\n call *0x28(%rax)\\n pop %rbp\\n ret",
		 {8, 0, 0x28}},
		/* not a load through the first argument; past the 32-byte
		 * header; past the 7 functions: the defaults */
		{"mov %rsi,%rax\\n ret", {ASYNC_TASK_HDR_VTABLE, ASYNC_TASK_HDR_STATE, ASYNC_TASK_VT_RUN}},
		{"mov 0x20(%rdi),%rax\\n jmp *0x28(%rax)",
		 {ASYNC_TASK_HDR_VTABLE, ASYNC_TASK_HDR_STATE, ASYNC_TASK_VT_RUN}},
		{"mov 0x8(%rdi),%rax\\n jmp *0x38(%rax)",
		 {ASYNC_TASK_HDR_VTABLE, ASYNC_TASK_HDR_STATE, ASYNC_TASK_VT_RUN}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char src[1024];
		struct binary *bin;
		const struct elf_symbols *syms;
		struct runtime_layout l;

		snprintf(src, sizeof(src),
			 "__asm__(\".text\\n.globl %s\\n.type %s,@function\\n%s:\\n%s\\n.size %s, .-%s\");\n"
			 "int main(void) { return 0; }\n",
			 SYM_RUNNABLE_RUN, SYM_RUNNABLE_RUN, SYM_RUNNABLE_RUN, cases[i].run,
			 SYM_RUNNABLE_RUN, SYM_RUNNABLE_RUN);
		bin = compiled(src);
		syms = binary__symbols(bin);
		async_task_runtime.layout(syms, &l);
		if (l.vtable_off != cases[i].want.vtable_off || l.state_off != cases[i].want.state_off ||
		    l.poll_slot != cases[i].want.poll_slot)
			fail_msg("\"%s\": vtable +%u, state +%u, run slot +%u", cases[i].run, l.vtable_off,
				 l.state_off, l.poll_slot);
		binary__free(bin);
	}
}

static void test_emulated_instructions(void **state)
{
	static const struct {
		__u8 code[3];
		__u32 len;
		bool emulated;
	} cases[] = {
		{{0x55}, 1, true},		/* push %rbp */
		{{0x41, 0x57}, 2, true},	/* push %r15 */
		{{0xe8, 0, 0}, 3, true},	/* call rel32 */
		{{0xeb, 0x02}, 2, true},	/* jmp rel8 */
		{{0x0f, 0x85, 0}, 3, true},	/* jne rel32 */
		{{0x74, 0x02}, 2, true},	/* je rel8 */
		{{0x90}, 1, true},		/* nop */
		{{0x48, 0x83, 0xec}, 3, false}, /* sub $n,%rsp */
		{{0xb8, 0x40, 0}, 3, false},	/* mov $0x40,%eax */
		{{0xc3}, 1, false},		/* ret */
		{{0x41, 0x8b, 0x07}, 3, false}, /* mov (%r15),%eax */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (x86_code__is_emulated(cases[i].code, cases[i].len) != cases[i].emulated)
			fail_msg("case %zu (0x%02x): expected %d", i, cases[i].code[0], cases[i].emulated);
}

/* ---- tokio's batch semaphore (locks) ---- */

#define ACQUIRE_POLL "<tokio::sync::batch_semaphore::Acquire as core::future::future::Future>::poll"
#define ACQUIRE_DROP "<tokio::sync::batch_semaphore::Acquire as core::ops::drop::Drop>::drop"
#define SEM_RELEASE "tokio::sync::batch_semaphore::Semaphore::release"
#define SEM_ADD_PERMITS "tokio::sync::batch_semaphore::Semaphore::add_permits_locked"

/* The value loaded through value `from` at disp, as wide as size: its index, or -1. */
static int value_at(const struct x86_value *v, int n, int from, __u64 disp, __u8 size)
{
	for (int i = 1; i < n; i++)
		if (v[i].from == from && v[i].disp == disp && v[i].size == size)
			return i;
	return -1;
}

/* tokio 1.24's Acquire as rustc 1.95 lays it out, read off the fixtures'
 * code (objdump): poll starts `mov (%rdi),%r13` (the &Semaphore) and
 * `mov 0x30(%rdi),%r12d` (num_permits), later `mov 0x20(%r13),%rbp; test
 * $0x1,%bpl` (Semaphore.permits, CLOSED) and `lea (%r12,%r12,1),%r14`
 * (PERMIT_SHIFT); drop starts `cmpb $0x1,0x34(%rdi)` (queued). */
static void check_acquire_layout(const struct elf_symbols *syms, const struct probe_plan *plan)
{
	static struct addrs poll, drop;
	struct fixture tmp = {.syms = syms};
	const struct lock_layout *l = &plan->lock_layout;
	struct x86_value v[64];
	int n, sem, word;

	assert_true(matches(&tmp, ACQUIRE_POLL, &poll, true) >= 1);
	assert_true(matches(&tmp, ACQUIRE_DROP, &drop, true) >= 1);

	n = x86_code__arg_values(syms, poll.v[0], 0, v, 64);
	assert_true(n >= 4);
	assert_true(v[0].from == -1 && v[0].pointer); /* the argument, read through */
	sem = value_at(v, n, 0, 0, 8);
	assert_int_equal(sem, 1); /* first the &Semaphore */
	assert_true(v[sem].pointer);
	assert_true(value_at(v, n, 0, 0x30, 4) > 0);
	word = value_at(v, n, sem, 0x20, 8);
	assert_true(word > 0);
	assert_int_equal(v[word].mask, 1);
	/* max bounds what is written */
	assert_int_equal(x86_code__arg_values(syms, poll.v[0], 0, v, 2), 2);
	assert_int_equal(v[1].disp, 0);

	n = x86_code__arg_values(syms, drop.v[0], 0, v, 64);
	assert_true(n >= 2);
	assert_true(v[1].from == 0 && v[1].disp == 0x34 && v[1].size == 1 && v[1].compare);

	assert_int_equal(l->acq_sem, 0);
	assert_int_equal(l->acq_permits, 0x30);
	assert_int_equal(l->acq_permits_size, 4);
	assert_int_equal(l->acq_queued, 0x34);
	assert_int_equal(l->sem_permits, 0x20);
	assert_int_equal(l->permit_shift, 1);
}

/* Is there a call of `target` ending at `ret`: `call rel32`, or
 * `call *slot(%rip)` through one of target's pointer slots? */
static bool call_returns_at(const struct elf_symbols *syms, __u64 target, __u64 ret)
{
	__u8 c[6];
	__s32 rel;
	__u64 slots[8];
	int nslots = elf_symbols__pointer_slots(syms, target, slots, 8);

	assert_int_equal(elf_symbols__read(syms, ret - 6, c, 6), 0);
	if (c[1] == 0xe8) {
		memcpy(&rel, c + 2, 4);
		if (ret + (__u64)(__s64)rel == target)
			return true;
	}
	if (c[0] == 0xff && c[1] == 0x15) {
		memcpy(&rel, c + 2, 4);
		for (int i = 0; i < nslots && i < 8; i++)
			if (slots[i] == ret + (__u64)(__s64)rel)
				return true;
	}
	return false;
}

/* The lock sites of a plan: Acquire::poll's and drop's entries, the
 * releases (add_permits_locked, which every release ends in, else
 * Semaphore::release) if the binary has them, and a LOCK_POLLED site a few
 * emulated-or-kept instructions after each return address of an
 * Acquire::poll call. */
static void check_lock_sites(const struct elf_symbols *syms, const struct probe_plan *plan)
{
	static struct addrs poll, drop, release;
	struct fixture tmp = {.syms = syms};
	size_t npoll = matches(&tmp, ACQUIRE_POLL, &poll, true),
	       ndrop = matches(&tmp, ACQUIRE_DROP, &drop, true),
	       nrelease = matches(&tmp, SEM_ADD_PERMITS, &release, true);
	size_t polled = sites_of(plan, AIB_PROBE_LOCK_POLLED, -1);

	if (!nrelease)
		nrelease = matches(&tmp, SEM_RELEASE, &release, true);
	assert_int_equal(sites_of(plan, AIB_PROBE_LOCK_POLL, -1), npoll);
	assert_int_equal(sites_of(plan, AIB_PROBE_LOCK_DROP, -1), ndrop);
	assert_int_equal(sites_of(plan, AIB_PROBE_LOCK_RELEASE, -1), nrelease);
	if (!nrelease)
		assert_non_null(strstr(plan->missing, SEM_RELEASE " (inlined"));
	assert_true(polled >= 1);
	assert_int_equal(plan->lock_sites, polled);
	assert_null(strstr(plan->missing, "tokio locks"));
	for (size_t i = 0; i < plan->nsites; i++) {
		const struct probe_site *s = &plan->sites[i];
		__u64 probe_at = 0;

		assert_false(s->retprobe && s->probe >= AIB_PROBE_LOCK_POLL &&
			     s->probe <= AIB_PROBE_LOCK_DROP);
		if (s->probe == AIB_PROBE_LOCK_POLL)
			assert_true(near_addr(&poll, s->vaddr));
		else if (s->probe == AIB_PROBE_LOCK_DROP)
			assert_true(near_addr(&drop, s->vaddr));
		else if (s->probe == AIB_PROBE_LOCK_RELEASE)
			assert_true(near_addr(&release, s->vaddr));
		if (s->probe != AIB_PROBE_LOCK_POLLED)
			continue;
		assert_false(s->required);
		if (s->vaddr < s->origin || s->vaddr - s->origin > 32)
			fail_msg("LOCK_POLLED site 0x%llx is not just after its return address 0x%llx",
				 (unsigned long long)s->vaddr, (unsigned long long)s->origin);
		/* the origin is where a call of Acquire::poll returns */
		if (!call_returns_at(syms, poll.v[0], s->origin))
			fail_msg("0x%llx follows no call of Acquire::poll", (unsigned long long)s->origin);
		/* the site keeps al (the Poll) as the call left it */
		assert_int_equal(x86_code__cheap_point(syms, s->origin, X86_KEEP_RET, &probe_at), 0);
		assert_int_equal(probe_at, s->vaddr);
	}
}

static void test_lock_sites(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->plan_err, 0);
	check_acquire_layout(f->syms, &f->plan);
	check_lock_sites(f->syms, &f->plan);
	/* no debug info for the kinds: all unknown, one per return site */
	{
		struct u64_map *kinds = runtime__lock_kinds(&f->plan, NULL);

		assert_non_null(kinds);
		assert_int_equal(u64_map__count(kinds), sites_of(&f->plan, AIB_PROBE_LOCK_POLLED, -1));
		for (size_t i = 0; i < f->plan.nsites; i++) {
			__u32 kind = 99;

			if (f->plan.sites[i].probe != AIB_PROBE_LOCK_POLLED)
				continue;
			assert_true(u64_map__get(kinds, f->plan.sites[i].vaddr, &kind));
			assert_int_equal(kind, AIB_LOCK_KIND_UNKNOWN);
		}
		u64_map__free(kinds);
	}
	/* with the symbols: multi_thread's bounded channel waits for capacity
	 * in Sender::send, which calls Acquire::poll itself */
	{
		struct symbolizer *sym = symbolizer__new(f->bin);
		struct u64_map *kinds;
		size_t channel = 0;

		assert_non_null(sym);
		kinds = runtime__lock_kinds(&f->plan, sym);
		assert_non_null(kinds);
		for (size_t i = 0; i < f->plan.nsites; i++) {
			__u32 kind = 99;

			if (f->plan.sites[i].probe != AIB_PROBE_LOCK_POLLED)
				continue;
			assert_true(u64_map__get(kinds, f->plan.sites[i].vaddr, &kind));
			assert_true(kind < AIB_LOCK_KIND_MAX);
			channel += kind == AIB_LOCK_KIND_CHANNEL;
		}
		assert_true(channel >= 1);
		u64_map__free(kinds);
		symbolizer__free(sym);
	}
}

/* The default mode pays for no optional capture: the same binary planned
 * without them has every site but the lock probes, and times no syscall. */
static void test_default_captures(void **state)
{
	struct fixture *f = *state;
	struct probe_plan plan;
	char why[256] = "";
	size_t lock_probes = 0;

	assert_int_equal(f->plan_err, 0);
	assert_true(f->plan.blocking);
	assert_int_equal(probe_plan__for_binary(f->syms, &plan, 0, why, sizeof(why)), 0);
	assert_false(plan.blocking);
	assert_int_equal(plan.lock_sites, 0);
	for (size_t i = 0; i < plan.nsites; i++)
		lock_probes += plan.sites[i].probe >= AIB_PROBE_LOCK_POLL &&
			       plan.sites[i].probe <= AIB_PROBE_LOCK_DROP;
	assert_int_equal(lock_probes, 0);
	for (size_t i = 0; i < f->plan.nsites; i++)
		lock_probes += f->plan.sites[i].probe >= AIB_PROBE_LOCK_POLL &&
			       f->plan.sites[i].probe <= AIB_PROBE_LOCK_DROP;
	assert_true(lock_probes > 0);
	assert_int_equal(plan.nsites, f->plan.nsites - lock_probes);
	assert_int_equal(plan.poll_sites, f->plan.poll_sites);
	assert_int_equal(plan.await_sites, f->plan.await_sites);
	probe_plan__release(&plan);
}

/* ---- the lock layout read off the code, on synthetic functions ---- */

#define SYM_ACQ_POLL "_ZN86_$LT$tokio..sync..batch_semaphore..Acquire$u20$as$u20$core..future" \
		     "..future..Future$GT$4poll17h0123456789abcdefE"
#define SYM_ACQ_DROP "_ZN79_$LT$tokio..sync..batch_semaphore..Acquire$u20$as$u20$core..ops" \
		     "..drop..Drop$GT$4drop17h0123456789abcdefE"
#define SYM_POLL_ACQUIRE "_ZN5tokio4sync15batch_semaphore9Semaphore12poll_acquire" \
			 "17h0123456789abcdefE"

/* tokio 1.24's shape (objdump of the fixtures, registers kept) */
/* a poll with no shift: the CLOSED test, then `(test mask)` */
#define POLL_PART "mov (%rdi),%r13\\n mov 0x30(%rdi),%r12d\\n mov 0x20(%r13),%rbp\\n test "

#define POLL_124 "push %rbx\\n mov %rdi,%rbx\\n mov (%rdi),%r13\\n mov 0x30(%rdi),%r12d\\n" \
		 " movzbl 0x34(%rbx),%eax\\n test %al,%al\\n je 1f\\n mov 0x28(%rbx),%r12\\n" \
		 "1: mov 0x20(%r13),%rbp\\n test $0x1,%bpl\\n jne 2f\\n lea (%r12,%r12,1),%r14\\n" \
		 "2: pop %rbx\\n ret"
#define DROP_124 "cmpb $0x1,0x34(%rdi)\\n jne 1f\\n mov (%rdi),%rdx\\n mov $1,%cl\\n" \
		 " xor %eax,%eax\\n lock cmpxchg %cl,(%rdx)\\n1: ret"

/* ASM_FN's text for a body known at run time: its length. */
static int asm_fn(char *buf, size_t len, const char *sym, const char *body)
{
	int n = snprintf(buf, len, ASM_FN("%s", "%s"), sym, sym, sym, body, sym, sym);

	assert_true(n > 0 && (size_t)n < len);
	return n;
}

static void test_lock_layout_code(void **state)
{
	static const struct {
		const char *what, *poll, *drop, *poll_acquire;
		struct lock_layout want; /* when why is NULL */
		const char *why;	 /* what the message must name */
	} cases[] = {
		{"1.24", POLL_124, DROP_124, NULL, {0, 0x30, 0x34, 4, 1, 0x20}, NULL},
		/* fields elsewhere, a usize count, PERMIT_SHIFT 2 over a CLOSED
		 * bit 1; a pointer in rax before a call is lost there; drop
		 * spills self and tests queued */
		{"moved",
		 "push %rbx\\n push %r15\\n mov %rdi,%r15\\n mov 0x10(%rdi),%rbp\\n"
		 " mov 0x48(%rdi),%rax\\n"
		 " call aib_nop\\n mov 0x8(%rax),%rcx\\n test $0x1,%cl\\n mov 0x40(%r15),%rbx\\n"
		 " movzbl 0x18(%r15),%eax\\n mov 0x8(%rbx),%r13\\n test $0x2,%r13b\\n jne 1f\\n"
		 " lea 0x0(,%rbp,4),%r14\\n1: pop %r15\\n pop %rbx\\n ret",
		 "sub $0x18,%rsp\\n mov %rdi,0x8(%rsp)\\n testb $0x1,0x18(%rdi)\\n je 1f\\n"
		 " mov 0x8(%rsp),%rax\\n mov 0x40(%rax),%rdx\\n xor %eax,%eax\\n"
		 " lock cmpxchg %ecx,(%rdx)\\n1: add $0x18,%rsp\\n ret",
		 NULL, {0x40, 0x10, 0x18, 8, 2, 0x8}, NULL},
		/* no shift in poll: poll_acquire's num_permits (dev builds) */
		{"shift in poll_acquire",
		 POLL_PART "$0x1,%bpl\\n ret",
		 DROP_124,
		 "sub $0x18,%rsp\\n mov %edx,0xc(%rsp)\\n mov 0xc(%rsp),%eax\\n mov %eax,%eax\\n"
		 " shl %rax\\n add $0x18,%rsp\\n ret",
		 {0, 0x30, 0x34, 4, 1, 0x20}, NULL},
		{"no shift",
		 POLL_PART "$0x1,%bpl\\n ret",
		 DROP_124, NULL, {0}, "(Semaphore::PERMIT_SHIFT)"},
		{"two flags",
		 POLL_PART "$0x3,%bpl\\n"
		 " lea (%r12,%r12,1),%r14\\n ret",
		 DROP_124, NULL, {0}, "(Acquire.semaphore, Semaphore.permits)"},
		{"CLOSED above the shift",
		 POLL_PART "$0x2,%bpl\\n"
		 " lea (%r12,%r12,1),%r14\\n ret",
		 DROP_124, NULL, {0}, "the CLOSED flag (0x2) is no bit below"},
		{"no count", "mov (%rdi),%r13\\n mov 0x20(%r13),%rbp\\n test $0x1,%bpl\\n ret",
		 DROP_124, NULL, {0}, "(Acquire.num_permits)"},
		{"no queued", POLL_124, "mov (%rdi),%rdx\\n lock cmpxchg %cl,(%rdx)\\n ret", NULL,
		 {0}, "(Acquire.queued)"},
		{"drop through another field", POLL_124,
		 "cmpb $0x1,0x34(%rdi)\\n jne 1f\\n mov 0x8(%rdi),%rdx\\n"
		 " lock cmpxchg %cl,(%rdx)\\n1: ret",
		 NULL, {0}, "not go through Acquire.semaphore (+0x0)"},
		{"overlap",
		 "mov (%rdi),%r13\\n mov 0x4(%rdi),%r12d\\n mov 0x20(%r13),%rbp\\n"
		 " test $0x1,%bpl\\n lea (%r12,%r12,1),%r14\\n ret",
		 DROP_124, NULL, {0}, "overlap"},
		/* no layout to read: said before any source is tried */
		{"no drop", POLL_124, NULL, NULL, {0}, "no Acquire::drop (inlined, or no tokio lock"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char src[4096], why[512] = "";
		struct lock_layout got;
		struct binary *bin;
		int err;

		int len = snprintf(src, sizeof(src), "%s", ASM_FN("aib_nop", "ret"));

		len += asm_fn(src + len, sizeof(src) - (size_t)len, SYM_ACQ_POLL, cases[i].poll);
		if (cases[i].drop)
			len += asm_fn(src + len, sizeof(src) - (size_t)len, SYM_ACQ_DROP,
				      cases[i].drop);
		if (cases[i].poll_acquire)
			len += asm_fn(src + len, sizeof(src) - (size_t)len, SYM_POLL_ACQUIRE,
				      cases[i].poll_acquire);
		assert_true(snprintf(src + len, sizeof(src) - (size_t)len,
				     "int main(void) { return 0; }\n") < (int)sizeof(src) - len);
		bin = compiled(src);
		err = tokio_runtime.lock_layout(binary__symbols(bin), LAYOUT_FROM_ANY, &got, why,
						sizeof(why));
		if (cases[i].why) {
			if (err != -ENOENT || !strstr(why, cases[i].why) ||
			    (!strstr(why, "no DWARF types") && cases[i].drop))
				fail_msg("%s: %d \"%s\", want -ENOENT naming \"%s\" and DWARF",
					 cases[i].what, err, why, cases[i].why);
		} else if (err || memcmp(&got, &cases[i].want, sizeof(got))) {
			fail_msg("%s: %d \"%s\": sem +0x%x permits +0x%x/%u queued +0x%x "
				 "word +0x%x shift %u", cases[i].what, err, why, got.acq_sem,
				 got.acq_permits, got.acq_permits_size, got.acq_queued,
				 got.sem_permits, got.permit_shift);
		}
		binary__free(bin);
	}
}

/* tests/programs/locks's fixture (`make programs`), beside AIB_PROGRAMS:
 * a binary that keeps Semaphore::release, with Mutex, RwLock and
 * Semaphore acquires. Skipped when it is not built. */
static void test_locks_fixture(void **state)
{
	const char *dir = getenv("AIB_PROGRAMS");
	char path[PATH_MAX], why[256] = "";
	struct binary *bin;
	const struct elf_symbols *syms;
	struct symbolizer *sym;
	struct probe_plan plan;
	struct u64_map *kinds;
	bool seen[AIB_LOCK_KIND_MAX] = {false};

	snprintf(path, sizeof(path), "%s/../../locks/target/release/locks", dir ? dir : ".");
	if (!dir || access(path, R_OK)) {
		fprintf(stderr, "no %s (run `make programs`): test skipped\n", path);
		skip();
	}
	bin = binary__open(path);
	syms = binary__symbols(bin);
	assert_non_null(syms);
	memset(&plan, 0, sizeof(plan));
	if (probe_plan__for_binary(syms, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)))
		fail_msg("probe_plan__for_binary(%s): %s", path, why);
	assert_int_equal(plan.runtimes, AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO));
	check_acquire_layout(syms, &plan);
	check_lock_sites(syms, &plan);
	assert_int_equal(sites_of(&plan, AIB_PROBE_LOCK_RELEASE, -1), 1);
	assert_null(strstr(plan.missing, SEM_RELEASE));

	/* each return site's kind, from the functions around its call */
	sym = symbolizer__new(bin);
	assert_non_null(sym);
	kinds = runtime__lock_kinds(&plan, sym);
	assert_non_null(kinds);
	assert_int_equal(u64_map__count(kinds), sites_of(&plan, AIB_PROBE_LOCK_POLLED, -1));
	for (size_t i = 0; i < plan.nsites; i++) {
		__u32 kind = 99;

		if (plan.sites[i].probe != AIB_PROBE_LOCK_POLLED)
			continue;
		assert_true(u64_map__get(kinds, plan.sites[i].vaddr, &kind));
		assert_true(kind < AIB_LOCK_KIND_MAX);
		seen[kind] = true;
	}
	/* the fixture locks a Mutex, read-locks a RwLock, acquires a Semaphore.
	 * (Its write lock's call is in RwLock::write's body inlined into
	 * locks::writer, named "{async_fn#0}<u64>" by the line tables: no kind
	 * from the frames; the session tells a writer by its permits.) */
	assert_true(seen[AIB_LOCK_KIND_MUTEX]);
	assert_true(seen[AIB_LOCK_KIND_RWLOCK_READ]);
	assert_true(seen[AIB_LOCK_KIND_SEMAPHORE]);
	u64_map__free(kinds);
	symbolizer__free(sym);
	probe_plan__release(&plan);
	binary__free(bin);
}

/* The first executable dir/prefix* (cargo's hashed test binaries), or false. */
static bool find_exe(const char *dir, const char *prefix, char *out, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || strchr(e->d_name, '.'))
			continue;
		found = snprintf(out, len, "%s/%.200s", dir, e->d_name) < (int)len &&
			!access(out, X_OK);
	}
	if (d)
		closedir(d);
	return found;
}

/* One fixture's layout from `sources`: 0 and *l, or the error and *why. */
static int layout_of(const char *path, unsigned sources, struct lock_layout *l, char *why,
		     size_t len)
{
	struct binary *bin = binary__open(path);
	int err;

	assert_non_null(bin);
	err = tokio_runtime.lock_layout(binary__symbols(bin), sources, l, why, len);
	binary__free(bin);
	return err;
}

/* The two readings of the layout agree where both work (the locks
 * fixture with full debug info); line tables only leave the code, a dev
 * build (test-crate's `cargo test`) the DWARF: its unoptimized code reads
 * the fields in Acquire::project. Each must give tokio 1.24's layout
 * (rustc 1.95: the objdump above). */
static void test_lock_layout_sources(void **state)
{
	static const struct lock_layout want = {0, 0x30, 0x34, 4, 1, 0x20};
	const char *dir = getenv("AIB_PROGRAMS");
	struct lock_layout l;
	char path[PATH_MAX], deps[PATH_MAX], why[512];
	int tried = 0;

	snprintf(path, sizeof(path), "%s/../../locks/target/full/release/locks", dir ? dir : ".");
	if (!access(path, R_OK)) {
		tried++;
		assert_int_equal(layout_of(path, LAYOUT_FROM_DWARF, &l, why, sizeof(why)), 0);
		assert_memory_equal(&l, &want, sizeof(l));
		assert_int_equal(layout_of(path, LAYOUT_FROM_CODE, &l, why, sizeof(why)), 0);
		assert_memory_equal(&l, &want, sizeof(l));
	}
	snprintf(path, sizeof(path), "%s/../../locks/target/release/locks", dir ? dir : ".");
	if (!access(path, R_OK)) {
		tried++;
		assert_int_equal(layout_of(path, LAYOUT_FROM_DWARF, &l, why, sizeof(why)), -ENOENT);
		assert_non_null(strstr(why, "no DWARF types"));
		assert_int_equal(layout_of(path, LAYOUT_FROM_ANY, &l, why, sizeof(why)), 0);
		assert_memory_equal(&l, &want, sizeof(l));
	}
	snprintf(deps, sizeof(deps), "%s/../../test-crate/target/debug/deps", dir ? dir : ".");
	if (find_exe(deps, "hangs-", path, sizeof(path))) {
		tried++;
		assert_int_equal(layout_of(path, LAYOUT_FROM_CODE, &l, why, sizeof(why)), -ENOENT);
		assert_non_null(strstr(why, "(Acquire.semaphore, Semaphore.permits)"));
		assert_int_equal(layout_of(path, LAYOUT_FROM_ANY, &l, why, sizeof(why)), 0);
		assert_memory_equal(&l, &want, sizeof(l));
	}
	if (!tried) {
		fprintf(stderr, "no locks or test-crate fixture (`make programs`): test skipped\n");
		skip();
	}
}

static void test_tokio_lock_kind(void **state)
{
	static const struct {
		const char *function;
		enum aib_lock_kind kind;
	} cases[] = {
		{"tokio::sync::mutex::Mutex<T>::lock::{{closure}}", AIB_LOCK_KIND_MUTEX},
		{"tokio::sync::mutex::Mutex<T>::lock_owned::{{closure}}", AIB_LOCK_KIND_MUTEX},
		{"tokio::sync::mutex::Mutex<T>::lock", AIB_LOCK_KIND_MUTEX},
		{"tokio::sync::rwlock::RwLock<T>::write::{{closure}}", AIB_LOCK_KIND_RWLOCK_WRITE},
		{"tokio::sync::rwlock::RwLock<T>::read::{{closure}}", AIB_LOCK_KIND_RWLOCK_READ},
		{"tokio::sync::rwlock::RwLock<T>::write_owned::{{closure}}", AIB_LOCK_KIND_RWLOCK_WRITE},
		{"tokio::sync::rwlock::RwLock<T>::read_owned::{{closure}}", AIB_LOCK_KIND_RWLOCK_READ},
		{"tokio::sync::semaphore::Semaphore::acquire::{{closure}}", AIB_LOCK_KIND_SEMAPHORE},
		{"tokio::sync::semaphore::Semaphore::acquire_many_owned::{{closure}}",
		 AIB_LOCK_KIND_SEMAPHORE},
		{"tokio::sync::mpsc::bounded::Sender<T>::send::{{closure}}", AIB_LOCK_KIND_CHANNEL},
		{"tokio::sync::mpsc::bounded::Sender<T>::reserve::{{closure}}", AIB_LOCK_KIND_CHANNEL},
		/* trait impls: the type's path after the '<' */
		{"<tokio::sync::mutex::Mutex<T> as X>::y", AIB_LOCK_KIND_MUTEX},
		{"<tokio::sync::rwlock::RwLock<T> as X>::y", AIB_LOCK_KIND_RWLOCK_READ},
		/* the module must start the path */
		{"my_app::main", AIB_LOCK_KIND_UNKNOWN},
		{"my_app::tokio::sync::mutex::lock", AIB_LOCK_KIND_UNKNOWN},
		{"<my_app::Db as tokio::sync::mutex::X>::y", AIB_LOCK_KIND_UNKNOWN},
		{"tokio::sync::batch_semaphore::Semaphore::poll_acquire", AIB_LOCK_KIND_UNKNOWN},
		{"tokio::sync::oneshot::Receiver<T>::poll", AIB_LOCK_KIND_UNKNOWN},
		{"tokio::sync::mutex", AIB_LOCK_KIND_UNKNOWN}, /* no "::" after the module */
		{"<", AIB_LOCK_KIND_UNKNOWN},
		{"", AIB_LOCK_KIND_UNKNOWN},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tokio_runtime.lock_kind(cases[i].function) != cases[i].kind)
			fail_msg("tokio lock_kind(\"%s\") = %d, expected %d", cases[i].function,
				 tokio_runtime.lock_kind(cases[i].function), cases[i].kind);
	assert_int_equal(tokio_runtime.lock_kind(NULL), AIB_LOCK_KIND_UNKNOWN);
	assert_null(async_task_runtime.lock_kind); /* no lock probes */
}

/* ---- the machine-code reader on code of this binary ---- */

/* Functions in assembly, so their bytes are known exactly; read back
 * through /proc/self/exe (no compiler, no process). */
#define SELF_FN(name, body) \
	__asm__(".text\n.globl " name "\n.type " name ",@function\n" name ":\n" body \
		"\n.size " name ", .-" name "\n")

/* a return site as rustc builds it: save eax elsewhere, test al, branch */
SELF_FN("aib_t_ret_site", "mov %eax,%r14d\n cmp $2,%al\n jne 1f\n1: ret");
/* al overwritten before the branch */
SELF_FN("aib_t_ret_clobbered", "mov %eax,%r14d\n mov $3,%al\n cmp $2,%al\n jne 1f\n1: ret");
/* Semaphore::release: tests its second argument, then branches */
SELF_FN("aib_t_release", "test %rsi,%rsi\n je 1f\n mov $1,%cl\n1: ret");
/* rsi overwritten before the branch */
SELF_FN("aib_t_arg1_clobbered", "mov $1,%esi\n test %rdi,%rdi\n je 1f\n1: ret");
/* fields through rdi and a copy of it, compares, a lea (no access), a
 * copy ended by another value, other registers; past the first branch */
SELF_FN("aib_t_fields", "mov %rdi,%rbx\n mov (%rbx),%r13\n mov 0x30(%rdi),%r12d\n"
			" lea 0x8(%rdi),%rax\n cmpb $0x1,0x34(%rbx)\n movzwl 0x10(%rdi),%ecx\n"
			" mov %rsi,%rbx\n mov 0x40(%rbx),%rdx\n mov 0x48(%rax),%rdx\n mov %fs:0x0,%rax\n"
			" mov 0x18(%rsi),%r8\n cmpq $0,0x20(%rdi)\n je 1f\n mov 0x50(%rdi),%r9\n1: ret");
/* rdi overwritten by a load: the next load goes through the loaded pointer */
SELF_FN("aib_t_fields_clobbered", "mov 0x8(%rdi),%rdi\n mov 0x10(%rdi),%rax\n ret");
/* a copy overwritten (32 bits); a 32-bit value is no pointer */
SELF_FN("aib_t_fields_part_clobbered", "mov %rdi,%rbx\n mov $0,%ebx\n mov 0x40(%rbx),%rdx\n"
				       " mov (%rdi),%edi\n mov 0x8(%rdi),%eax\n ret");
/* a spill and reloads (after a ret and a jmp too: the body's frame), a
 * call's clobbers, masks and shifts */
SELF_FN("aib_t_values", "push %rbx\n sub $0x20,%rsp\n mov %rdi,0x8(%rsp)\n mov (%rdi),%rbx\n"
			" mov 0x10(%rdi),%rax\n call aib_t_ret_site\n mov 0x8(%rax),%rcx\n"
			" mov 0x20(%rbx),%rdx\n test $0x1,%dl\n mov 0x8(%rsp),%rsi\n"
			" mov 0x30(%rsi),%ecx\n shl $2,%rcx\n add $0x20,%rsp\n pop %rbx\n ret\n"
			" mov 0x8(%rsp),%rdi\n movzbl 0x38(%rdi),%eax\n and $0x4,%al\n jmp 1f\n"
			"1: mov 0x8(%rsp),%r8\n mov 0x40(%r8),%r9\n lea (%r9,%r9,1),%r10\n ret");
/* a 32-bit argument spilled, reloaded as wide, zero-extended, shifted */
SELF_FN("aib_t_spill32", "sub $0x18,%rsp\n mov %edx,0xc(%rsp)\n mov 0xc(%rsp),%eax\n"
			 " mov %eax,%eax\n shl %rax\n add $0x18,%rsp\n ret");
/* reloaded wider than spilled: not the argument */
SELF_FN("aib_t_spill_wider", "sub $0x18,%rsp\n mov %edx,0xc(%rsp)\n mov 0xc(%rsp),%rax\n"
			     " shl %rax\n add $0x18,%rsp\n ret");

/* a waker clone's start: the lock-prefixed add is skipped for the jle */
SELF_FN("aib_t_locked", "lock incq -0x10(%rdi)\n jle 1f\n mov %rdi,%rax\n ret\n1: ud2");
/* nothing emulated after the lock before a write to rsp: no site at all */
SELF_FN("aib_t_locked_only", "lock incq (%rdi)\n pop %rax\n ret");
/* return addresses: after a call rel32, after a call through a register */
SELF_FN("aib_t_calls", "call aib_t_locked\n mov %rax,%rdi\n call *%rdi\n nop\n ret");

static void test_self_code(void **state)
{
	struct binary *bin = binary__open("/proc/self/exe");
	const struct elf_symbols *self = binary__symbols(bin);
	struct x86_value v[16];
	__u64 a, at = 0;
	int n;

	assert_non_null(self);
	/* X86_KEEP_RET: mov 3 + cmp 2, the jne is the site */
	a = sym_addr(self, "aib_t_ret_site");
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_RET, &at), 0);
	assert_int_equal(at, a + 5);
	a = sym_addr(self, "aib_t_ret_clobbered");
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_RET, &at), 0);
	assert_int_equal(at, a);
	assert_int_equal(x86_code__cheap_point(self, a, 0, &at), 0); /* al not kept */
	assert_int_equal(at, a + 7);
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_ARG0 | X86_KEEP_ARG1, &at), 0);
	assert_int_equal(at, a + 7);
	/* X86_KEEP_ARG1: test 3, the je */
	a = sym_addr(self, "aib_t_release");
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_ARG0 | X86_KEEP_ARG1, &at), 0);
	assert_int_equal(at, a + 3);
	a = sym_addr(self, "aib_t_arg1_clobbered");
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_ARG0 | X86_KEEP_ARG1, &at), 0);
	assert_int_equal(at, a);
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_ARG1, &at), 0);
	assert_int_equal(at, a);
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_ARG0 | X86_KEEP_RET, &at), 0);
	assert_int_equal(at, a + 8); /* mov 5 + test 3 */

	/* the values read through the first argument, in order */
	a = sym_addr(self, "aib_t_fields");
	n = x86_code__arg_values(self, a, 0, v, 16);
	assert_int_equal(n, 7);
	assert_true(v[0].from == -1 && v[0].pointer && !v[0].shift && !v[0].mask);
	assert_true(v[1].disp == 0 && v[1].size == 8 && !v[1].compare); /* (%rbx) */
	assert_true(v[2].disp == 0x30 && v[2].size == 4 && !v[2].compare); /* 0x30(%rdi) */
	assert_true(v[3].disp == 0x34 && v[3].size == 1 && v[3].compare); /* cmpb 0x34(%rbx) */
	assert_true(v[4].disp == 0x10 && v[4].size == 2 && !v[4].compare); /* movzwl */
	assert_true(v[5].disp == 0x20 && v[5].size == 8 && v[5].compare); /* cmpq */
	assert_true(v[6].disp == 0x50 && v[6].size == 8);		 /* past the je */
	for (int i = 1; i < n; i++)
		assert_int_equal(v[i].from, 0);
	assert_int_equal(x86_code__arg_values(self, a, 0, v, 2), 2);
	assert_int_equal(x86_code__arg_values(self, a, 0, v, 0), 0);
	assert_int_equal(x86_code__arg_values(self, a, 6, v, 1), -EINVAL); /* 6 in registers */
	/* the second argument: through rsi and its copy in rbx */
	n = x86_code__arg_values(self, a, 1, v, 16);
	assert_int_equal(n, 3);
	assert_true(v[1].from == 0 && v[1].disp == 0x40);
	assert_true(v[2].from == 0 && v[2].disp == 0x18);
	a = sym_addr(self, "aib_t_fields_clobbered");
	n = x86_code__arg_values(self, a, 0, v, 16);
	assert_int_equal(n, 3);
	assert_true(v[1].from == 0 && v[1].disp == 8 && v[1].pointer);
	assert_true(v[2].from == 1 && v[2].disp == 0x10); /* the second hop */
	a = sym_addr(self, "aib_t_fields_part_clobbered");
	n = x86_code__arg_values(self, a, 0, v, 16);
	assert_int_equal(n, 2);
	assert_true(v[1].disp == 0 && v[1].size == 4 && !v[1].pointer);
	a = sym_addr(self, "aib_t_values");
	n = x86_code__arg_values(self, a, 0, v, 16);
	assert_int_equal(n, 7);
	assert_true(v[1].from == 0 && v[1].disp == 0 && v[1].pointer);	 /* in rbx: kept */
	assert_true(v[2].from == 0 && v[2].disp == 0x10 && !v[2].pointer); /* rax: lost at a call */
	assert_true(v[3].from == 1 && v[3].disp == 0x20 && v[3].mask == 1);
	assert_true(v[4].from == 0 && v[4].disp == 0x30 && v[4].size == 4 && v[4].shift == 2);
	assert_true(v[5].from == 0 && v[5].disp == 0x38 && v[5].size == 1 && v[5].mask == 4);
	assert_true(v[6].from == 0 && v[6].disp == 0x40 && v[6].shift == 1);
	n = x86_code__arg_values(self, sym_addr(self, "aib_t_spill32"), 2, v, 16);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].shift, 1);
	n = x86_code__arg_values(self, sym_addr(self, "aib_t_spill_wider"), 2, v, 16);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].shift, 0);
	/* lock-prefixed first instructions: past them, or no site */
	a = sym_addr(self, "aib_t_locked");
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_ARG0, &at), 0);
	assert_int_equal(at, a + 5);
	a = sym_addr(self, "aib_t_locked_only");
	assert_int_equal(x86_code__cheap_point(self, a, X86_KEEP_ARG0, &at), -ENOTSUP);
	/* return addresses */
	a = sym_addr(self, "aib_t_calls");
	assert_true(x86_code__follows_call(self, a + 5));      /* call rel32 */
	assert_true(x86_code__follows_call(self, a + 5 + 3 + 2)); /* mov 3, call *%rdi 2 */
	assert_false(x86_code__follows_call(self, a + 5 + 3));  /* after the mov */
	assert_false(x86_code__follows_call(self, a + 11));     /* after the nop */
	binary__free(bin);
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest fixture_tests[] = {
		T(test_plan_ok),
		T(test_poll_sites),
		T(test_wake_sites_required),
		T(test_spawn_sites),
		T(test_no_duplicate_sites),
		T(test_panic_sites),
		T(test_id_taken_sites),
		T(test_next_id),
		T(test_offsets),
		T(test_string_ranges),
		T(test_lock_sites),
		T(test_default_captures),
		T(test_root_sites),
	};
	const struct CMUnitTest other_tests[] = {
		T(test_self_is_not_tokio),
		T(test_poll_without_wakers),
		T(test_minimal_tokio),
		T(test_async_task_plan),
		T(test_async_task_layout),
		T(test_vcall_sites),
		T(test_async_task_spawn_calls),
		T(test_inlined_root_starts),
		T(test_emulated_instructions),
		T(test_tokio_lock_kind),
		T(test_self_code),
		T(test_locks_fixture),
		T(test_lock_layout_code),
		T(test_lock_layout_sources),
	};
	int failed = cmocka_run_group_tests_name("probe_plan (fixture)", fixture_tests, setup, teardown);

	return failed | cmocka_run_group_tests_name("probe_plan (no tokio)", other_tests, NULL, NULL);
}
