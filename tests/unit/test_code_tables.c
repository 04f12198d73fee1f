// SPDX-License-Identifier: MIT
/*
 * Tables of code pointers found by their shape (binary/code_tables.c) and
 * tokio's task vtables among them (runtime/tokio_vtables.c).
 * Synthetic: a C program compiled here with tables of function pointers and
 * words (or a pointer to data: async-task's shape), as a PIE, a non-PIE (compiled -fPIE, then -fno-pie: the tables go
 * to .data.rel.ro, then .rodata) and a PIE with RELR relocations; what is
 * found is checked against its symbol table, then found again, the same,
 * in a copy stripped of every symbol. Fixtures (`make programs`, each group
 * skipped when not built): every vtable found is named, slot by slot,
 * tokio::runtime::task::raw::{poll, schedule, ...}, each raw::poll copy is
 * the poll of one, and the stripped copy gives the same list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile_c.h"
#include "fixture_builds.h"
#include "stripped_copy.h"
#include "binary/binary.h"
#include "binary/code_tables.h"
#include "binary/elf_symbols.h"
#include "binary/x86_code.h"
#include "runtime/probe_plan.h"
#include "runtime/tokio_vtables.h"
#include "tokio_layout.h"

#define MAX_TABLES 256

/* ---- the synthetic program ---- */

#define FN(n) "__attribute__((noinline, used)) int f" #n "(int x) { return x + " #n "; }\n"
#define TABLE(name, nf, fns, words)                                                  \
	"__attribute__((used)) const struct { fn f[" #nf "]; size_t w[3]; } " name " = " \
	"{{" fns "}, {" words "}};\n"

static const char SRC[] =
	"#include <stddef.h>\n"
	FN(0) FN(1) FN(2) FN(3) FN(4) FN(5) FN(6) FN(7) FN(8) FN(9)
	"typedef int (*fn)(int);\n"
	"int datum;\n"
	/* tokio's shape: found */
	TABLE("good_a", 7, "f0, f1, f2, f3, f4, f5, f6", "96, 32, 40")
	TABLE("good_b", 7, "f3, f4, f5, f6, f7, f8, f9", "2000, 32, 32")
	/* near misses */
	TABLE("six", 6, "f0, f1, f2, f3, f4, f5", "96, 32, 40")
	TABLE("eight", 8, "f0, f1, f2, f3, f4, f5, f6, f7", "96, 32, 40")
	TABLE("bad_order", 7, "f1, f2, f3, f4, f5, f6, f7", "32, 32, 40")  /* trailer <= id */
	TABLE("bad_align", 7, "f2, f3, f4, f5, f6, f7, f8", "100, 32, 40") /* trailer % 8 */
	TABLE("bad_sched", 7, "f0, f1, f2, f3, f4, f5, f6", "96, 16, 16")  /* inside the header */
	TABLE("bad_big", 7, "f0, f1, f2, f3, f4, f5, f6", "(size_t)1 << 24, 32, 40")
	TABLE("with_ptr", 7, "f0, f1, f2, f3, f4, f5, f6", "96, (size_t)&datum, 40")
	/* async-task's shape: 7 functions, then a pointer to data */
	TABLE("data_ptr", 7, "f0, f1, f2, f3, f4, f5, f6", "(size_t)&datum, 32, 40")
	"int main(void) { return 0; }\n";

/* The builds that must all give the same tables. */
static const char *const VARIANTS[] = {
	"-fPIE -pie",
	"-fPIE -no-pie",  /* .data.rel.ro, no relocations */
	"-fno-pie -no-pie", /* .rodata */
	"-fPIE -pie -Wl,-z,pack-relative-relocs", /* RELR (binutils >= 2.38) */
};

struct found {
	__u64 vaddr, ptrs[8], words[3];
};

struct founds {
	struct found t[MAX_TABLES];
	int n;
	unsigned nptrs;
};

static int collect(const struct code_table *t, void *ctx)
{
	struct founds *f = ctx;

	assert_true(f->n < MAX_TABLES);
	f->t[f->n].vaddr = t->vaddr;
	memcpy(f->t[f->n].ptrs, t->ptrs, f->nptrs * 8);
	memcpy(f->t[f->n].words, t->words, 3 * 8);
	f->n++;
	return 0;
}

static int first_addr(const struct elf_symbol *sym, void *ctx)
{
	*(__u64 *)ctx = sym->vaddr;
	return 0;
}

static __u64 addr_of(const struct elf_symbols *syms, const char *name)
{
	__u64 a = 0;

	assert_int_equal(elf_symbols__match(syms, name, first_addr, &a), 1);
	return a;
}

static struct founds *find(const struct elf_symbols *syms, unsigned nptrs, bool after_code)
{
	struct code_table_shape shape = {.ptrs = nptrs, .words = 3, .after_code = after_code};
	struct founds *f = calloc(1, sizeof(*f));
	int n;

	assert_non_null(f);
	f->nptrs = nptrs;
	n = code_tables__find(syms, &shape, collect, f);
	assert_int_equal(n, f->n);
	return f;
}

/* The tables found are exactly those named, in address order, each with
 * its pointers (f<i> from fn0 on) and words. */
static void expect(const struct elf_symbols *syms, const struct founds *f, const char *const *names,
		   const int *fn0, const int *skip_ptrs, int n)
{
	if (f->n != n)
		fail_msg("%d tables found, %d expected", f->n, n);
	for (int i = 0; i < n; i++) {
		__u64 at = addr_of(syms, names[i]) + 8 * (__u64)skip_ptrs[i];
		const struct found *t = NULL;
		__u64 words[3];
		char fname[8];

		for (int j = 0; j < f->n; j++)
			if (f->t[j].vaddr == at)
				t = &f->t[j];
		if (!t)
			fail_msg("%s (+%d pointers) not found", names[i], skip_ptrs[i]);
		for (unsigned k = 0; k < f->nptrs; k++) {
			snprintf(fname, sizeof(fname), "f%d", fn0[i] + skip_ptrs[i] + (int)k);
			assert_int_equal(t->ptrs[k], addr_of(syms, fname));
		}
		assert_int_equal(elf_symbols__read(syms, at + 8 * f->nptrs, words, sizeof(words)), 0);
		assert_memory_equal(t->words, words, sizeof(words));
		if (i)
			assert_true(f->t[i].vaddr > f->t[i - 1].vaddr);
	}
}

static void expect_same(const struct founds *a, const struct founds *b)
{
	assert_int_equal(a->n, b->n);
	assert_memory_equal(a->t, b->t, (size_t)a->n * sizeof(a->t[0]));
}

/* The build of SRC with these flags and its stripped copy, both opened
 * before any check can fail (the files are gone then); false if the
 * compiler refuses the flags. */
static bool opened(const char *flags, struct binary **bin, struct binary **strip)
{
	char exe[PATH_MAX];

	if (!compile_c(SRC, flags, exe, sizeof(exe)))
		return false;
	*bin = binary__open(exe);
	*strip = *bin ? stripped(exe) : NULL;
	unlink(exe);
	assert_non_null(*bin);
	return true;
}

struct first {
	__u64 vaddr, word;
};

static int first_word(const struct code_table *t, void *ctx)
{
	*(struct first *)ctx = (struct first){t->vaddr, t->words[0]};
	return 0;
}

/* 7 code pointers then a pointer to data: data_ptr alone, its word
 * relocated to &datum (named in `named`, searched in `syms`: the build or
 * its stripped copy). */
static void check_data_ptr(const struct elf_symbols *named, const struct elf_symbols *syms)
{
	static const struct code_table_shape shape = {.ptrs = 7, .words = 1,
						      .word_kind = CODE_WORD_POINTER};
	static const struct code_table_shape code = {.ptrs = 7, .words = 1,
						     .word_kind = CODE_WORD_CODE};
	struct first got = {0, 0};

	assert_int_equal(code_tables__find(syms, &shape, first_word, &got), 1);
	assert_int_equal(got.vaddr, addr_of(named, "data_ptr"));
	assert_int_equal(got.word, addr_of(named, "datum"));
	assert_int_equal(code_tables__find(syms, &code, first_word, &got), -EINVAL);
}

/* Every shape on one build, then on its stripped copy. */
static void check_compile_c(struct binary *bin, struct binary *strip)
{
	static const char *const whole7[] = {"good_a", "good_b", "bad_order", "bad_align",
					     "bad_sched", "bad_big"};
	static const int whole7_fn0[] = {0, 3, 1, 2, 0, 0}, none[6] = {0};
	static const char *const with8[] = {"good_a", "good_b", "eight", "bad_order",
					    "bad_align", "bad_sched", "bad_big"};
	static const int with8_fn0[] = {0, 3, 0, 1, 2, 0, 0}, skip8[] = {0, 0, 1, 0, 0, 0, 0};
	static const char *const six[] = {"six"}, *const eight[] = {"eight"};
	const struct elf_symbols *syms = binary__symbols(bin);
	struct founds *w7, *a7, *w6, *w8, *again;

	/* whole runs: 7 + 3 plain words whatever they say; not six, eight
	 * (a run of 8) or with_ptr (a word is a pointer) */
	w7 = find(syms, 7, false);
	a7 = find(syms, 7, true);
	w6 = find(syms, 6, false);
	w8 = find(syms, 8, false);
	expect(syms, w7, whole7, whole7_fn0, none, 6);
	expect(syms, a7, with8, with8_fn0, skip8, 7); /* eight's last 7 too */
	expect(syms, w6, six, (const int[]){0}, none, 1);
	expect(syms, w8, eight, (const int[]){0}, none, 1);

	again = find(binary__symbols(strip), 7, false);
	expect_same(w7, again);
	free(again);
	again = find(binary__symbols(strip), 7, true);
	expect_same(a7, again);
	free(again);
	free(w7);
	free(a7);
	free(w6);
	free(w8);
	check_data_ptr(syms, syms);
	check_data_ptr(syms, binary__symbols(strip));
}

static void test_synthetic_shapes(void **state)
{
	for (size_t v = 0; v < sizeof(VARIANTS) / sizeof(VARIANTS[0]); v++) {
		struct binary *bin, *strip;

		if (!opened(VARIANTS[v], &bin, &strip)) {
			assert_non_null(strstr(VARIANTS[v], "pack-relative-relocs"));
			fprintf(stderr, "cc %s: not supported here, variant skipped\n", VARIANTS[v]);
			continue;
		}
		check_compile_c(bin, strip);
		binary__free(strip);
		binary__free(bin);
	}
}

static void check_tokio(const struct elf_symbols *syms, const struct tokio_vtable *v,
			const char *name, int fn0, int skip_ptrs, __u64 trailer, __u64 id)
{
	const __u64 *fns = &v->poll;
	char fname[8];

	assert_int_equal(v->addr, addr_of(syms, name) + 8 * (__u64)skip_ptrs);
	for (int k = 0; k < TOKIO_VT_FUNCS; k++) {
		snprintf(fname, sizeof(fname), "f%d", fn0 + skip_ptrs + k);
		assert_int_equal(fns[k], addr_of(syms, fname));
	}
	assert_int_equal(v->trailer, trailer);
	assert_int_equal(v->scheduler, 32);
	assert_int_equal(v->id, id);
}

/* tokio's predicate keeps good_a, good_b, and eight's last 7 (a vtable
 * may follow another table's pointers: tokio_vtables.c). */
static void test_synthetic_tokio(void **state)
{
	struct tokio_vtable v[MAX_TABLES], again[MAX_TABLES];

	for (size_t i = 0; i < sizeof(VARIANTS) / sizeof(VARIANTS[0]); i++) {
		struct binary *bin, *strip;
		const struct elf_symbols *syms;
		__u64 a, b, e;
		int n;

		if (!opened(VARIANTS[i], &bin, &strip))
			continue; /* said by test_synthetic_shapes */
		syms = binary__symbols(bin);
		n = tokio_vtables__find(syms, v, MAX_TABLES);
		assert_int_equal(n, 3);
		a = addr_of(syms, "good_a");
		b = addr_of(syms, "good_b");
		e = addr_of(syms, "eight") + 8;
		for (int k = 0; k < n; k++) {
			if (v[k].addr == a)
				check_tokio(syms, &v[k], "good_a", 0, 0, 96, 40);
			else if (v[k].addr == b)
				check_tokio(syms, &v[k], "good_b", 3, 0, 2000, 32);
			else if (v[k].addr == e)
				check_tokio(syms, &v[k], "eight", 0, 1, 96, 40);
			else
				fail_msg("%s: a vtable at %#llx", VARIANTS[i], (unsigned long long)v[k].addr);
			if (k)
				assert_true(v[k].addr > v[k - 1].addr);
		}
		assert_int_equal(tokio_vtables__find(binary__symbols(strip), again, MAX_TABLES), n);
		assert_memory_equal(v, again, (size_t)n * sizeof(v[0]));
		binary__free(strip);
		binary__free(bin);
	}
}

static int stop(const struct code_table *t, void *ctx)
{
	(*(int *)ctx)++;
	return -ECANCELED;
}

/* Bad arguments, a program without tables, out too short, a stop. */
static void test_api(void **state)
{
	static const struct code_table_shape no_ptrs = {.ptrs = 0, .words = 3};
	static const struct code_table_shape no_words = {.ptrs = 7, .words = 0};
	static const struct code_table_shape any7 = {.ptrs = 7, .words = 3};
	struct tokio_vtable v[2];
	char exe[PATH_MAX];
	struct binary *bin;
	const struct elf_symbols *syms;
	int calls = 0;

	assert_true(compile_c("int main(void) { return 0; }\n", "", exe, sizeof(exe)));
	bin = binary__open(exe);
	unlink(exe);
	assert_non_null(bin);
	syms = binary__symbols(bin);
	assert_int_equal(tokio_vtables__find(syms, v, 2), 0);
	assert_int_equal(tokio_vtables__find(NULL, v, 2), -EINVAL);
	assert_int_equal(code_tables__find(syms, &no_ptrs, stop, &calls), -EINVAL);
	assert_int_equal(code_tables__find(syms, &no_words, stop, &calls), -EINVAL);
	assert_int_equal(code_tables__find(syms, &any7, NULL, NULL), -EINVAL);
	binary__free(bin);

	assert_true(compile_c(SRC, "", exe, sizeof(exe)));
	bin = binary__open(exe);
	unlink(exe);
	syms = binary__symbols(bin);
	assert_int_equal(tokio_vtables__find(syms, v, -1), -EINVAL);
	assert_int_equal(tokio_vtables__find(syms, NULL, 1), -EINVAL);
	assert_int_equal(tokio_vtables__find(syms, NULL, 0), 3);
	memset(v, 0xaa, sizeof(v));
	assert_int_equal(tokio_vtables__find(syms, v, 1), 3);
	assert_int_equal(v[1].addr, 0xaaaaaaaaaaaaaaaaULL); /* only max stored */
	assert_int_equal(code_tables__find(syms, &any7, stop, &calls), -ECANCELED);
	assert_int_equal(calls, 1);
	binary__free(bin);
}

/* ---- fixtures ---- */

struct addrs {
	__u64 v[1024];
	int n;
};

static int add_func(const struct elf_symbol *sym, void *ctx)
{
	struct addrs *a = ctx;

	if (sym->is_func) {
		assert_true(a->n < 1024);
		a->v[a->n++] = sym->vaddr;
	}
	return 0;
}

static bool has(const struct addrs *a, __u64 v)
{
	for (int i = 0; i < a->n; i++)
		if (a->v[i] == v)
			return true;
	return false;
}

/* A function symbol at vaddr whose name starts with one of tokio's spawn
 * functions' paths. */
static bool spawn_function_at(const struct elf_symbols *syms, __u64 vaddr)
{
	static const char *const spawns[] = {
		"tokio::task::spawn::", "tokio::task::blocking::spawn_blocking",
		"tokio::runtime::blocking::pool::spawn_blocking",
		"tokio::runtime::blocking::pool::Spawner::spawn_blocking",
		"tokio::runtime::handle::Handle::spawn", "tokio::runtime::runtime::Runtime::spawn",
		"tokio::task::builder::Builder<", "tokio::task::join_set::", "tokio::task::local::"};

	for (size_t i = 0; i < elf_symbols__count(syms); i++) {
		const struct elf_symbol *sym = elf_symbols__get(syms, i);

		if (!sym->is_func || sym->vaddr != vaddr)
			continue;
		for (size_t k = 0; k < sizeof(spawns) / sizeof(*spawns); k++)
			if (!strncmp(sym->path, spawns[k], strlen(spawns[k])))
				return true;
	}
	return false;
}

/* The spawn probes of the stripped copy (runtime/tokio_stripped_spawns.c):
 * the task-id counter is the symbol table's NEXT_ID, every spawn probe on
 * a function it names a tokio spawn, every id-taken probe on an increment
 * of NEXT_ID. How many spawn probes. */
static int check_stripped_spawns(const char *path, const struct elf_symbols *syms,
				 const struct probe_plan *plan)
{
	struct x86_fetch_add adds[256];
	__u64 next_id = addr_of(syms, "tokio::runtime::task::id::Id::next::NEXT_ID"), slots[8];
	int nslots = elf_symbols__pointer_slots(syms, next_id, slots, 8), nadds, spawns = 0, taken = 0;

	nadds = x86_code__fetch_add_sites(syms, next_id, slots, nslots < 0 ? 0 : nslots, adds, 256);
	assert_true(nadds > 0 && nadds <= 256);
	for (size_t i = 0; i < plan->nsites; i++) {
		const struct probe_site *site = &plan->sites[i];
		bool ok = true;

		if (site->probe == AIB_PROBE_SPAWN) {
			ok = spawn_function_at(syms, site->vaddr);
			spawns++;
		} else if (site->probe == AIB_PROBE_ID_TAKEN) {
			ok = false;
			for (int k = 0; k < nadds; k++)
				ok |= adds[k].after == site->vaddr;
			taken++;
		}
		if (!ok)
			fail_msg("%s stripped: %s probe at %#llx", path, site->what,
				 (unsigned long long)site->vaddr);
	}
	if (spawns && plan->next_id_vaddr != next_id)
		fail_msg("%s stripped: task ids counted at %#llx, not NEXT_ID %#llx", path,
			 (unsigned long long)plan->next_id_vaddr, (unsigned long long)next_id);
	if (spawns)
		assert_int_equal(taken, nadds);
	return spawns;
}

/* The plan of the stripped copy (runtime/tokio_stripped.c): every vtable
 * confirmed, its poll probed at entry and return, the wake probes on
 * exactly tokio's waker functions, as the symbol table names them, and the
 * spawn probes on its spawn functions. */
static void check_stripped_plan(const char *path, const struct elf_symbols *syms,
				const struct elf_symbols *strip, const struct addrs *polls, int n)
{
	static const struct {
		const char *path;
		enum aib_probe probe;
	} wakers[] = {
		{"tokio::runtime::task::waker::wake_by_val", AIB_PROBE_WAKE_BY_VAL},
		{"tokio::runtime::task::waker::wake_by_ref", AIB_PROBE_WAKE_BY_REF},
	};
	struct probe_plan plan;
	char why[512] = "", want[64];
	int entries = 0, returns = 0;

	if (probe_plan__for_binary(strip, &plan, PROBE_CAPTURE_ALL, why, sizeof(why)))
		fail_msg("%s stripped: %s", path, why);
	snprintf(want, sizeof(want), "tokio (found by structure: %d task vtable%s)", n,
		 n == 1 ? "" : "s");
	if (!strstr(plan.runtime_desc, want))
		fail_msg("%s stripped: \"%s\", not %s", path, plan.runtime_desc, want);
	for (size_t i = 0; i < plan.nsites; i++) {
		const struct probe_site *site = &plan.sites[i];

		if (site->probe != AIB_PROBE_POLL)
			continue;
		if (!has(polls, site->vaddr))
			fail_msg("%s stripped: a poll probe at %#llx, no raw::poll", path,
				 (unsigned long long)site->vaddr);
		returns += site->retprobe;
		entries += !site->retprobe;
	}
	assert_int_equal(entries, n);
	assert_int_equal(returns, n);
	for (size_t w = 0; w < sizeof(wakers) / sizeof(*wakers); w++) {
		struct addrs named = {.n = 0};
		int sites = 0;

		assert_true(elf_symbols__match(syms, wakers[w].path, add_func, &named) > 0);
		for (size_t i = 0; i < plan.nsites; i++) {
			if (plan.sites[i].probe != wakers[w].probe)
				continue;
			if (!has(&named, plan.sites[i].vaddr))
				fail_msg("%s stripped: a wake probe at %#llx, no %s", path,
					 (unsigned long long)plan.sites[i].vaddr, wakers[w].path);
			sites++;
		}
		if (sites < 1)
			fail_msg("%s stripped: no %s probe", path, wakers[w].path);
	}
	/* codegen-units = 1 inlines every spawn into main's future: no
	 * Location passes at run time, and nothing is probed for it */
	if (!check_stripped_spawns(path, syms, &plan) && !strstr(path, "/cgu1/"))
		fail_msg("%s stripped: no spawn function found", path);
	probe_plan__release(&plan);
}

/* The truth from the symbol table, then the stripped copy. */
static void check_fixture(const char *path)
{
	static const char *const slot[TOKIO_VT_FUNCS] = {
		"poll", "schedule", "dealloc", "try_read_output", "drop_join_handle_slow",
		"drop_abort_handle", "shutdown"};
	static struct tokio_vtable v[MAX_TABLES], again[MAX_TABLES];
	static struct addrs named[TOKIO_VT_FUNCS];
	struct binary *bin = binary__open(path), *strip;
	const struct elf_symbols *syms;
	char name[96];
	int n;

	if (!bin)
		fail_msg("%s: %s", path, strerror(errno));
	syms = binary__symbols(bin);
	for (int k = 0; k < TOKIO_VT_FUNCS; k++) {
		snprintf(name, sizeof(name), "tokio::runtime::task::raw::%s", slot[k]);
		named[k].n = 0;
		assert_true(elf_symbols__match(syms, name, add_func, &named[k]) >= 0);
	}
	n = tokio_vtables__find(syms, v, MAX_TABLES);
	if (n <= 0 || n > MAX_TABLES)
		fail_msg("%s: %d vtables", path, n);
	for (int i = 0; i < n; i++) {
		const __u64 *fns = &v[i].poll;

		for (int k = 0; k < TOKIO_VT_FUNCS; k++)
			if (!has(&named[k], fns[k]))
				fail_msg("%s: vtable %#llx: slot %d (%#llx) is no raw::%s", path,
					 (unsigned long long)v[i].addr, k,
					 (unsigned long long)fns[k], slot[k]);
	}
	/* n vtables whose polls are among npolls: one each, when all are seen */
	for (int p = 0; p < named[0].n; p++) {
		int seen = 0;

		for (int i = 0; i < n; i++)
			seen += v[i].poll == named[0].v[p];
		if (seen != 1)
			fail_msg("%s: raw::poll %#llx is the poll of %d vtables", path,
				 (unsigned long long)named[0].v[p], seen);
	}
	assert_int_equal(n, named[0].n);

	strip = stripped(path);
	assert_int_equal(tokio_vtables__find(binary__symbols(strip), again, MAX_TABLES), n);
	assert_memory_equal(v, again, (size_t)n * sizeof(v[0]));
	check_stripped_plan(path, syms, binary__symbols(strip), &named[0], n);
	binary__free(strip);
	binary__free(bin);
}

static void test_fixture_programs(void **state)
{
	static const char *const bins[] = {
		"attach_target", "current_thread", "demo", "echo_server", "exec_self", "fork_child",
		"heavy", "many_tasks", "multi_thread", "nested", "panics", "pingpong"};
	enum { N = sizeof(bins) / sizeof(bins[0]) };
	static char paths[N][PATH_MAX];
	const char *p[N];

	for (int i = 0; i < N; i++) {
		snprintf(paths[i], PATH_MAX, "%s/%s", programs_dir(), bins[i]);
		p[i] = paths[i];
	}
	check_fixtures(p, N, "tests/programs", check_fixture);
}

static void test_fixture_matrix(void **state)
{
	check_variants("../../matrix/target", "mx_tokio", check_fixture);
}

static void test_fixture_await(void **state)
{
	check_variants("../../await/target", "stuck", check_fixture);
}

static void test_fixture_locks(void **state)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *p[] = {a, b};

	snprintf(a, sizeof(a), "%s/../../locks/target/release/locks", programs_dir());
	snprintf(b, sizeof(b), "%s/../../locks/target/full/release/locks", programs_dir());
	check_fixtures(p, 2, "locks", check_fixture);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_shapes),
		cmocka_unit_test(test_synthetic_tokio),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_fixture_programs),
		cmocka_unit_test(test_fixture_matrix),
		cmocka_unit_test(test_fixture_await),
		cmocka_unit_test(test_fixture_locks),
	};

	return cmocka_run_group_tests_name("code_tables", tests, NULL, NULL);
}
