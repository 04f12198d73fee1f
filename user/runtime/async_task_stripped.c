// SPDX-License-Identifier: MIT
/*
 * async-task found by its structure, in a binary with no symbol table and
 * no debug file: its task vtables by their shape, each confirmed by its
 * clone_waker's code (runtime/async_task_vtables.h), give RawTask's
 * functions: AT_RUN at run (entry probes only: RawTask::run has no
 * catch_unwind), AT_SCHEDULE_ANY at schedule, the wake probes and await
 * sites from the waker vtable clone_waker returns. What the symbols name
 * in the plan with them is found in the code: the header's layout and
 * RawTask::run's return sites from Runnable::run (a function that is only
 * a jump through the run slot), the spawns from the calls of schedule
 * outside RawTask's functions, these functions bounded by the CFI
 * (binary/cfi_functions.h). Measured on every async-task fixture build
 * (test_async_task_stripped): the same run, schedule, wake and await sites
 * as with the symbols.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "async_task_layout.h"
#include "binary/cfi_functions.h"
#include "binary/elf_symbols.h"
#include "binary/x86_code.h"
#include "runtime/async_task_sites.h"
#include "runtime/async_task_stripped.h"
#include "runtime/async_task_vtables.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"

#define MAX_VTABLES 4096
/* Runnable::run or ::schedule: one each in every build but thin and fat
 * LTO (none); tokio programs have one of schedule's shape, at vt_off 16 */
#define MAX_RUNNABLE 8
#define MAX_CALL_SITES 256

/* The confirmed vtables into *vt (the caller frees it): how many, or -errno. */
static int confirmed(const struct elf_symbols *syms, struct async_task_vtable **vt)
{
	int n;

	*vt = calloc(MAX_VTABLES, sizeof(**vt));
	n = *vt ? async_task_vtables__find(syms, *vt, MAX_VTABLES) : -ENOMEM;
	return n > MAX_VTABLES ? MAX_VTABLES : n;
}

/* Runnable's functions that jump through `slot` of the vtable read at
 * vt_off of their argument's header: up to max into out; how many, or
 * -errno. */
static int runnable_fns(const struct elf_symbols *syms, __u64 slot, __u64 vt_off, __u64 *out,
			int max)
{
	__u64 all[MAX_RUNNABLE], vt, at;
	int n = x86_code__vtable_jumps(syms, slot, all, MAX_RUNNABLE), k = 0;

	for (int i = 0; i < n && i < MAX_RUNNABLE && k < max; i++)
		if (x86_code__vtable_jump(syms, all[i], &vt, &at) && vt == vt_off)
			out[k++] = all[i];
	return n < 0 ? n : k;
}

__u64 async_task_stripped__runnable_run(const struct elf_symbols *syms)
{
	__u64 all[MAX_RUNNABLE], vt_off = ~0ULL, vt, at, run = 0;
	int n = x86_code__vtable_jumps(syms, ASYNC_TASK_VT_RUN, all, MAX_RUNNABLE);

	for (int i = 0; i < n && i < MAX_RUNNABLE; i++) {
		if (!x86_code__vtable_jump(syms, all[i], &vt, &at) || vt > ASYNC_TASK_HDR_SIZE - 8)
			continue;
		if (run && vt != vt_off)
			return 0; /* which one is the header's is unknown */
		vt_off = vt;
		run = run ?: all[i];
	}
	return run;
}

int async_task_stripped__runs(const struct elf_symbols *syms, __u64 *out, int max)
{
	struct async_task_vtable *vt;
	int n = confirmed(syms, &vt), k = 0;

	for (int i = 0; i < n; i++) {
		__u64 run = ASYNC_TASK_FN(&vt[i], ASYNC_TASK_VT_RUN);
		bool dup = false;

		for (int j = 0; j < k && j < max; j++)
			dup |= out[j] == run;
		if (!dup && k++ < max)
			out[k - 1] = run;
	}
	free(vt);
	return n < 0 ? n : k;
}

/* A site at vaddr (with keep, the first instruction the kernel emulates
 * that keeps those registers), once: 1 added, 0 there already, -errno. */
static int add_once(const struct elf_symbols *syms, struct probe_plan *plan, __u64 vaddr,
		    enum aib_probe probe, unsigned keep, bool required, const char *what)
{
	struct probe_site site = {.probe = probe, .required = required, .vaddr = vaddr,
				  .what = what};

	if (keep && x86_code__cheap_point(syms, vaddr, keep, &site.vaddr))
		site.vaddr = vaddr;
	for (size_t i = 0; i < plan->nsites; i++)
		if (plan->sites[i].probe == probe && plan->sites[i].vaddr == site.vaddr)
			return 0;
	if (elf_symbols__vaddr_to_offset(syms, site.vaddr, &site.offset))
		return 0; /* not in a loaded segment: nothing to probe */
	return probe_plan__add(plan, &site) ?: 1;
}

/* One vtable's task and waker sites, counted into the plan. */
static int add_vtable_sites(const struct elf_symbols *syms, struct probe_plan *plan,
			    const struct async_task_vtable *v)
{
	int run = add_once(syms, plan, ASYNC_TASK_FN(v, ASYNC_TASK_VT_RUN), AIB_PROBE_AT_RUN, 0,
			   true, "async-task RawTask::run (by structure)");
	int schedule = run < 0 ? run
			       : add_once(syms, plan, ASYNC_TASK_FN(v, ASYNC_TASK_VT_SCHEDULE),
					  AIB_PROBE_AT_SCHEDULE_ANY, 0, false,
					  "async-task RawTask::schedule (by structure)");
	int clone = schedule < 0 ? schedule
				 : add_once(syms, plan, v->waker[ASYNC_TASK_WAKER_CLONE],
					    AIB_PROBE_AT_AWAIT, X86_KEEP_ARG0, false,
					    "async-task RawTask::clone_waker (by structure)");
	int err = clone < 0 ? clone
			    : add_once(syms, plan, v->waker[ASYNC_TASK_WAKER_WAKE], AIB_PROBE_AT_WAKE,
				       0, true, "async-task RawTask::wake (by structure)");

	err = err < 0 ? err
		      : add_once(syms, plan, v->waker[ASYNC_TASK_WAKER_WAKE_BY_REF],
				 AIB_PROBE_AT_WAKE_BY_REF, 0, false,
				 "async-task RawTask::wake_by_ref (by structure)");
	if (err < 0)
		return err;
	plan->poll_sites += (__u32)run;
	plan->spawn_sites += (__u32)schedule;
	plan->await_sites += (__u32)clone;
	return 0;
}

/* RawTask's functions (the vtables' and their wakers'), bounded by the
 * CFI, into raw. */
static int raw_task_fns(const struct elf_symbols *syms, const struct async_task_vtable *vt, int n,
			struct raw_task_code *raw)
{
	struct cfi_function *fns;
	int nfns = cfi_functions__list(elf_symbols__binary(syms), &fns), err = 0;

	for (int i = 0; i < n && nfns > 0 && !err; i++) {
		__u64 entries[ASYNC_TASK_VT_FUNCS + ASYNC_TASK_WAKER_FUNCS];

		memcpy(entries, vt[i].fns, sizeof(vt[i].fns));
		memcpy(entries + ASYNC_TASK_VT_FUNCS, vt[i].waker, sizeof(vt[i].waker));
		for (int k = 0; k < ASYNC_TASK_VT_FUNCS + ASYNC_TASK_WAKER_FUNCS && !err; k++) {
			const struct cfi_function *f = cfi_functions__containing(fns, nfns,
										   entries[k]);

			if (f)
				err = raw_task_code__add(raw, f->start, f->end,
							 k == ASYNC_TASK_VT_SCHEDULE / 8);
		}
	}
	free(fns);
	return nfns < 0 && nfns != -ENOENT ? nfns : err;
}

/* The calls of the function at target, direct or through its pointer
 * slots (a GOT's): kept as spawn calls when outside RawTask's functions. */
static int keep_calls_of(const struct elf_symbols *syms, struct probe_plan *plan,
			 const struct raw_task_code *raw, __u64 target)
{
	__u64 slots[8], rets[MAX_CALL_SITES];
	int nslots = elf_symbols__pointer_slots(syms, target, slots, 8);
	int n = nslots < 0 ? nslots
			   : x86_code__call_sites(syms, target, slots, nslots < 8 ? nslots : 8, rets,
						  MAX_CALL_SITES);

	if (n > 0)
		async_task_sites__keep_spawn_calls(plan, raw, rets, n);
	return n < 0 ? n : 0;
}

/* The spawn calls: of the schedule copies (async_task_sites.c), and of
 * Runnable::schedule, which jumps to RawTask::schedule through the
 * header's vtable, so that the address its callers return to is the one
 * RawTask::schedule sees (the executors call it through a GOT slot: smol
 * and async-std, all builds but thin and fat LTO, which inline it). */
static int find_spawn_calls(const struct elf_symbols *syms, struct probe_plan *plan,
			    const struct runtime_layout *l, const struct async_task_vtable *vt,
			    int n)
{
	struct raw_task_code raw = {0};
	__u64 sched[MAX_RUNNABLE];
	int err = raw_task_fns(syms, vt, n, &raw), k;

	err = err ?: async_task_sites__spawn_calls(syms, plan, l, &raw);
	k = err ? 0 : runnable_fns(syms, ASYNC_TASK_VT_SCHEDULE, l->vtable_off, sched, MAX_RUNNABLE);
	err = err ?: k < 0 ? k : 0;
	for (int i = 0; i < k && !err; i++)
		err = keep_calls_of(syms, plan, &raw, sched[i]);
	raw_task_code__release(&raw);
	return err;
}

static void describe(struct probe_plan *plan, int nvt)
{
	char desc[64];

	snprintf(desc, sizeof(desc), "async-task (found by structure: %d task vtable%s)", nvt,
		 nvt == 1 ? "" : "s");
	probe_plan__describe(plan, desc);
	probe_plan__note_missing(plan, "the symbol table (stripped: no task names, no block_on "
				       "roots, spawn locations unnamed)");
	probe_plan__note_missing(plan, "__rust_panic_cleanup (a panicking task's poll ends late)");
	probe_plan__note_missing(plan, "async-lock contention (not traced yet)");
}

int async_task_stripped__add_probes(const struct elf_symbols *syms, struct probe_plan *plan,
				    char *why, size_t why_len)
{
	struct async_task_vtable *vt;
	struct runtime_layout l;
	size_t first = plan->nsites;
	int n = confirmed(syms, &vt), err = n < 0 ? n : 0;

	for (int i = 0; i < n && !err; i++)
		err = add_vtable_sites(syms, plan, &vt[i]);
	if (!err && n == 0) {
		snprintf(why, why_len,
			 "no async-task runtime found by structure (no task vtable of 7 code "
			 "pointers and a TaskLayout's address whose clone_waker returns a waker of "
			 "its own)");
		err = -ENOENT;
	}
	if (!err) {
		async_task_runtime.layout(syms, &l);
		plan->at_vtable_off = l.vtable_off;
		plan->at_state_off = l.state_off;
		plan->at_track_seen = true; /* no Runnable::schedule probe: RawTask::schedule's */
		err = find_spawn_calls(syms, plan, &l, vt, n) ?:
		      async_task_sites__run_returns(syms, plan, &l,
						    async_task_stripped__runnable_run(syms));
	}
	free(vt);
	if (err) {
		plan->nsites = first;
		return err;
	}
	plan->runtimes |= AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK);
	describe(plan, n);
	return 0;
}
