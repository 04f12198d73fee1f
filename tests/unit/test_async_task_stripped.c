// SPDX-License-Identifier: MIT
/*
 * async-task found by its structure (runtime/async_task_vtables.c,
 * runtime/async_task_stripped.c), on every async-task fixture build (each
 * skipped when not built): the vtables found are RawTask's, slot by slot as
 * the symbol table names them, one per RawTask::run; the copy stripped of
 * every symbol gives the same list, and a plan whose sites are where the
 * plan with symbols puts them: AT_RUN exactly at the RawTask::run symbols,
 * the wakes at RawTask::wake and wake_by_ref, AT_SCHEDULE_ANY at
 * RawTask::schedule, the await sites and RawTask::run's return sites the
 * same, and its spawn calls those of the symbols' plan. The functions of
 * the CFI (binary/cfi_functions.c) are the symbols' too.
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

#include "fixture_builds.h"
#include "stripped_copy.h"
#include "async_task_layout.h"
#include "binary/binary.h"
#include "binary/cfi_functions.h"
#include "binary/elf_symbols.h"
#include "binary/x86_code.h"
#include "runtime/async_task_vtables.h"
#include "runtime/probe_plan.h"

#define RAW "async_task::raw::RawTask<F,T,S>::"
#define MAX_VT 64
#define MAX_ADDRS 1024

struct addrs {
	__u64 v[MAX_ADDRS];
	int n;
};

static bool has(const struct addrs *a, __u64 v)
{
	for (int i = 0; i < a->n; i++)
		if (a->v[i] == v)
			return true;
	return false;
}

static void add(struct addrs *a, __u64 v)
{
	if (!has(a, v)) {
		assert_true(a->n < MAX_ADDRS);
		a->v[a->n++] = v;
	}
}

static int add_func(const struct elf_symbol *sym, void *ctx)
{
	if (sym->is_func)
		add(ctx, sym->vaddr);
	return 0;
}

/* The addresses of the functions named RAW<fn>. */
static void named(const struct elf_symbols *syms, const char *fn, struct addrs *out)
{
	char path[128];

	out->n = 0;
	snprintf(path, sizeof(path), RAW "%s", fn);
	assert_true(elf_symbols__match(syms, path, add_func, out) >= 0);
}

/* The vaddrs (or origins, for return sites) of a plan's sites of a probe. */
static void sites(const struct probe_plan *plan, enum aib_probe probe, struct addrs *out)
{
	out->n = 0;
	for (size_t i = 0; i < plan->nsites; i++)
		if (plan->sites[i].probe == probe && !plan->sites[i].retprobe)
			add(out, probe == AIB_PROBE_AT_RUN_RETURN ? plan->sites[i].origin
								   : plan->sites[i].vaddr);
}

static void expect_same(const char *path, const char *what, const struct addrs *got,
			const struct addrs *want)
{
	bool same = got->n == want->n;

	for (int i = 0; same && i < got->n; i++)
		same = has(want, got->v[i]);
	if (!same)
		fail_msg("%s stripped: %d %s sites, %d with the symbols%s", path, got->n, what,
			 want->n, got->n == want->n ? " (elsewhere)" : "");
}

/* Every vtable found is RawTask's, slot by slot, one per RawTask::run. */
static int check_vtables(const char *path, const struct elf_symbols *syms,
			 struct async_task_vtable *v)
{
	static const char *const slot[ASYNC_TASK_VT_FUNCS] = {
		"schedule", "drop_future", "get_output", "drop_ref", "destroy", "run", "clone_waker"};
	static const char *const waker[ASYNC_TASK_WAKER_FUNCS] = {"clone_waker", "wake",
								   "wake_by_ref", "drop_waker"};
	static struct addrs fn[ASYNC_TASK_VT_FUNCS], wk[ASYNC_TASK_WAKER_FUNCS];
	struct addrs runs = {.n = 0};
	int n = async_task_vtables__find(syms, v, MAX_VT);

	if (n <= 0 || n > MAX_VT)
		fail_msg("%s: %d vtables", path, n);
	for (int k = 0; k < ASYNC_TASK_VT_FUNCS; k++)
		named(syms, slot[k], &fn[k]);
	for (int k = 0; k < ASYNC_TASK_WAKER_FUNCS; k++)
		named(syms, waker[k], &wk[k]);
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < ASYNC_TASK_VT_FUNCS; k++)
			if (!has(&fn[k], v[i].fns[k]))
				fail_msg("%s: vtable %#llx: slot %d is no RawTask::%s", path,
					 (unsigned long long)v[i].addr, k, slot[k]);
		for (int k = 0; k < ASYNC_TASK_WAKER_FUNCS; k++)
			if (!has(&wk[k], v[i].waker[k]))
				fail_msg("%s: vtable %#llx: waker %d is no RawTask::%s", path,
					 (unsigned long long)v[i].addr, k, waker[k]);
		add(&runs, ASYNC_TASK_FN(&v[i], ASYNC_TASK_VT_RUN));
	}
	expect_same(path, "vtable run", &runs, &fn[ASYNC_TASK_VT_RUN / 8]);
	assert_int_equal(runs.n, n);
	return n;
}

/* Each function symbol with a size is a function of the CFI. */
static void check_cfi(const char *path, const struct binary *bin)
{
	const struct elf_symbols *syms = binary__symbols(bin);
	struct cfi_function *fns;
	int n = cfi_functions__list(bin, &fns);

	if (n <= 0)
		fail_msg("%s: %d CFI functions", path, n);
	for (size_t i = 0; i < elf_symbols__count(syms); i++) {
		const struct elf_symbol *s = elf_symbols__get(syms, i);
		const struct cfi_function *f = cfi_functions__containing(fns, n, s->vaddr);

		if (s->is_func && s->size && (!f || f->start != s->vaddr || f->end - f->start != s->size))
			fail_msg("%s: %s is no CFI function", path, s->path);
	}
	free(fns);
}

/* The return addresses of Runnable::schedule's calls, where it is one. */
static void schedule_calls(const struct elf_symbols *syms, struct addrs *out)
{
	__u64 sched = probe_plan__function(syms, "async_task::runnable::Runnable::schedule");
	__u64 rets[256], slots[8];
	int nslots = sched ? elf_symbols__pointer_slots(syms, sched, slots, 8) : 0;
	int n = sched ? x86_code__call_sites(syms, sched, slots, nslots < 8 ? nslots : 8, rets, 256)
		      : 0;

	out->n = 0;
	for (int i = 0; i < n && i < 256; i++)
		add(out, rets[i]);
}

struct holder {
	__u64 ret;
	bool in;
};

static int holds(const struct elf_symbol *sym, void *ctx)
{
	struct holder *h = ctx;

	h->in |= sym->is_func && h->ret > sym->vaddr && h->ret <= sym->vaddr + sym->size;
	return 0;
}

/* Is the return address ret in one of RawTask's functions? */
static bool in_raw_task(const struct elf_symbols *syms, __u64 ret)
{
	struct holder h = {ret, false};

	assert_true(elf_symbols__match(syms, RAW "*", holds, &h) > 0);
	return h.in;
}

/* The stripped copy's plan against the plan and the names of the symbols. */
static void check_plan(const char *path, const struct elf_symbols *syms,
		       const struct elf_symbols *strip, int nvt)
{
	/* each probe's sites: at the functions so named, or (fn NULL) where
	 * the plan with symbols has them */
	static const struct {
		enum aib_probe probe;
		const char *fn, *what;
	} same[] = {
		{AIB_PROBE_AT_RUN, "run", "AT_RUN"},
		{AIB_PROBE_AT_WAKE, "wake", "AT_WAKE"},
		{AIB_PROBE_AT_WAKE_BY_REF, "wake_by_ref", "AT_WAKE_BY_REF"},
		{AIB_PROBE_AT_SCHEDULE_ANY, "schedule", "AT_SCHEDULE_ANY"},
		{AIB_PROBE_AT_AWAIT, NULL, "AT_AWAIT"},
		{AIB_PROBE_AT_RUN_RETURN, NULL, "AT_RUN_RETURN"},
	};
	static struct probe_plan p, s;
	static struct addrs got, want, calls;
	char why[512] = "", desc[64];

	if (probe_plan__for_binary(syms, &p, PROBE_CAPTURE_ALL, why, sizeof(why)) ||
	    probe_plan__for_binary(strip, &s, PROBE_CAPTURE_ALL, why, sizeof(why)))
		fail_msg("%s: %s", path, why);
	snprintf(desc, sizeof(desc), "async-task (found by structure: %d task vtable%s)", nvt,
		 nvt == 1 ? "" : "s");
	if (!strstr(s.runtime_desc, desc))
		fail_msg("%s stripped: \"%s\", not %s", path, s.runtime_desc, desc);

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		sites(&s, same[i].probe, &got);
		if (same[i].fn)
			named(syms, same[i].fn, &want);
		else
			sites(&p, same[i].probe, &want);
		expect_same(path, same[i].what, &got, &want);
	}
	assert_int_equal(s.at_vtable_off, p.at_vtable_off);
	assert_int_equal(s.at_state_off, p.at_state_off);
	assert_true(s.at_track_seen);

	/* spawn calls: the symbols' plan's where it has them (Runnable::schedule
	 * inlined), else calls of Runnable::schedule and of RawTask::schedule
	 * outside RawTask's functions, as the symbols name them */
	got.n = want.n = 0;
	for (__u32 i = 0; i < s.n_at_spawn_calls; i++)
		add(&got, s.at_spawn_calls[i]);
	for (__u32 i = 0; i < p.n_at_spawn_calls; i++)
		add(&want, p.at_spawn_calls[i]);
	if (p.at_track_seen)
		expect_same(path, "spawn call", &got, &want);
	schedule_calls(syms, &calls);
	for (int i = 0; i < calls.n; i++)
		if (!has(&got, calls.v[i]))
			fail_msg("%s stripped: Runnable::schedule's call %#llx no spawn call", path,
				 (unsigned long long)calls.v[i]);
	for (int i = 0; i < got.n; i++)
		if (in_raw_task(syms, got.v[i]))
			fail_msg("%s stripped: a spawn call in a RawTask function", path);
	assert_true(got.n > 0);
	assert_true(p.at_track_seen || calls.n > 0);
	probe_plan__release(&p);
	probe_plan__release(&s);
}

static void check_fixture(const char *path)
{
	static struct async_task_vtable v[MAX_VT], again[MAX_VT];
	struct binary *bin = binary__open(path), *strip;
	const struct elf_symbols *syms;
	int n;

	if (!bin)
		fail_msg("%s: %s", path, strerror(errno));
	syms = binary__symbols(bin);
	n = check_vtables(path, syms, v);
	check_cfi(path, bin);
	strip = stripped(path);
	assert_int_equal(async_task_vtables__find(binary__symbols(strip), again, MAX_VT), n);
	assert_memory_equal(v, again, (size_t)n * sizeof(v[0]));
	check_plan(path, syms, binary__symbols(strip), n);
	binary__free(strip);
	binary__free(bin);
}

static void test_async_task_fixtures(void **state)
{
	static const char *const bins[] = {"astd_tasks", "smol_tasks", "astd_panic"};
	enum { N = sizeof(bins) / sizeof(bins[0]) };
	static char paths[N][PATH_MAX];
	const char *p[N];

	for (int i = 0; i < N; i++) {
		snprintf(paths[i], PATH_MAX, "%s/../../async-task/target/release/%s", programs_dir(),
			 bins[i]);
		p[i] = paths[i];
	}
	check_fixtures(p, N, "async-task", check_fixture);
}

/* Every matrix build of mx_smol. */
static void test_matrix(void **state)
{
	check_variants("../../matrix/target", "mx_smol", check_fixture);
}

/* A tokio program: no async-task found, and nothing added. */
static void test_tokio_only(void **state)
{
	char path[PATH_MAX], why[512] = "";
	struct binary *strip;
	struct probe_plan plan;

	snprintf(path, sizeof(path), "%s/multi_thread", programs_dir());
	if (access(path, R_OK))
		skip();
	strip = stripped(path);
	assert_int_equal(async_task_vtables__find(binary__symbols(strip), NULL, 0), 0);
	assert_int_equal(probe_plan__for_binary(binary__symbols(strip), &plan, 0, why, sizeof(why)), 0);
	assert_null(strstr(plan.runtime_desc, "async-task"));
	for (size_t i = 0; i < plan.nsites; i++)
		assert_true(plan.sites[i].probe != AIB_PROBE_AT_RUN &&
			    plan.sites[i].probe != AIB_PROBE_AT_SCHEDULE_ANY &&
			    plan.sites[i].probe != AIB_PROBE_AT_WAKE);
	probe_plan__release(&plan);
	binary__free(strip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_async_task_fixtures),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_tokio_only),
	};

	return cmocka_run_group_tests_name("async_task_stripped", tests, NULL, NULL);
}
