// SPDX-License-Identifier: MIT
/*
 * async-task's probe sites (async-std, smol and the blocking pool run their
 * tasks on it). Only entry probes: RawTask::run has no catch_unwind, so a
 * uretprobe there would turn a task's panic into an abort. Poll ends are
 * probed where each run call returns in its caller, a site the BPF side
 * reports at the first poll from it (bpf/async_task.bpf.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "binary/elf_symbols.h"
#include "runtime/probe_plan.h"
#include "binary/x86_code.h"

#define AT_RUN "async_task::raw::RawTask<F,T,S>::run"
#define AT_WAKE "async_task::raw::RawTask<F,T,S>::wake"
#define AT_CLONE_WAKER "async_task::raw::RawTask<F,T,S>::clone_waker"
#define AT_RUNNABLE_RUN "async_task::runnable::Runnable::run"

struct site_spec {
	const char *path;
	enum aib_probe probe;
	bool required;
};

static const struct site_spec at_sites[] = {
	{AT_WAKE, AIB_PROBE_AT_WAKE, true},
	{"async_task::raw::RawTask<F,T,S>::wake_by_ref", AIB_PROBE_AT_WAKE_BY_REF, false},
	/* executors call Runnable::schedule right after spawning, and only
	 * then: RawTask::schedule also runs for wakes and reschedules */
	{"async_task::runnable::Runnable::schedule", AIB_PROBE_AT_SCHEDULE, false},
	{"async_std::task::builder::Builder::spawn", AIB_PROBE_AT_TASK_NAME, false},
};

/* std's catch_unwind cleanup, whose v0 path carries a crate hash. */
static int add_panic_cleanup(const struct elf_symbols *syms, struct probe_plan *plan)
{
	static const char name[] = "__rust_panic_cleanup";
	size_t n = elf_symbols__count(syms), nlen = strlen(name);

	for (size_t i = 0; i < n; i++) {
		const struct elf_symbol *sym = elf_symbols__get(syms, i);
		size_t len = strlen(sym->path);
		struct probe_site site = {.probe = AIB_PROBE_PANIC_CAUGHT, .what = sym->path};

		if (!sym->is_func || len < nlen || strcmp(sym->path + len - nlen, name))
			continue;
		site.vaddr = sym->vaddr;
		if (elf_symbols__vaddr_to_offset(syms, sym->vaddr, &site.offset))
			continue;
		return probe_plan__add(plan, &site) ?: 1;
	}
	return 0;
}

/* Runnable::run is `mov vtable_off(%rdi), %rax; jmp *run(%rax)`: it says
 * where the header keeps its vtable pointer. The state word is the other
 * end of the header's first two words (async-task 4.x layouts). */
static void header_layout(const struct elf_symbols *syms, struct probe_plan *plan)
{
	__u64 run = probe_plan__function(syms, AT_RUNNABLE_RUN), off;

	plan->at_vtable_off = 0;
	plan->at_state_off = 8;
	if (run && !x86_code__first_load_offset(syms, run, &off) && off <= 24) {
		plan->at_vtable_off = off;
		plan->at_state_off = off == 0 ? 8 : 0;
	}
}

/* Where RawTask::run returns: Runnable::run tail-calls it, so after each
 * call of Runnable::run. Sites found only at run time (other callers) are
 * reported by the BPF side and added then. */
static int add_return_sites(const struct elf_symbols *syms, struct probe_plan *plan)
{
	__u64 run = probe_plan__function(syms, AT_RUNNABLE_RUN);
	int n = run ? probe_plan__add_return_sites(syms, plan, run, AIB_PROBE_AT_RUN_RETURN, 0,
						   "a return site of RawTask::run", 64)
		    : 0;

	return n < 0 ? n : 0;
}

int async_task_probes__add(const struct elf_symbols *syms, struct probe_plan *plan, char *why,
			   size_t why_len)
{
	size_t first = plan->nsites;
	int n, err;

	n = probe_plan__add_matching(syms, plan, AT_RUN, AIB_PROBE_AT_RUN, false, true);
	if (n <= 0) {
		snprintf(why, why_len, "no async-task runtime (looked for %s)", AT_RUN);
		return n < 0 ? n : -ENOENT;
	}
	plan->poll_sites += (__u32)n;
	for (size_t i = 0; i < sizeof(at_sites) / sizeof(at_sites[0]); i++) {
		const struct site_spec *s = &at_sites[i];

		n = probe_plan__add_matching(syms, plan, s->path, s->probe, false, s->required);
		if (n < 0) {
			err = n;
			goto fail;
		}
		if (n == 0 && s->required) {
			snprintf(why, why_len, "no async-task runtime (%s not found)", s->path);
			err = -ENOENT;
			goto fail;
		}
		if (n == 0 && s->probe == AIB_PROBE_AT_SCHEDULE)
			probe_plan__note_missing(plan, "Runnable::schedule (inlined: tasks found on first poll)");
		if (s->probe == AIB_PROBE_AT_SCHEDULE)
			plan->spawn_sites += (__u32)n;
	}
	n = add_panic_cleanup(syms, plan);
	if (n < 0) {
		err = n;
		goto fail;
	}
	if (n == 0)
		probe_plan__note_missing(plan, "__rust_panic_cleanup (a panicking task's poll ends late)");
	n = probe_plan__add_matching_cheap(syms, plan, AT_CLONE_WAKER, AIB_PROBE_AT_AWAIT,
					   X86_KEEP_ARG0);
	if (n < 0) {
		err = n;
		goto fail;
	}
	plan->await_sites += (__u32)n;
	if (n == 0)
		probe_plan__note_missing(plan, AT_CLONE_WAKER " (no await sites)");
	header_layout(syms, plan);
	err = add_return_sites(syms, plan);
	if (err)
		goto fail;

	plan->runtimes |= AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK);
	if (probe_plan__function(syms, "async_std::*"))
		probe_plan__describe(plan, "async-std (async-task)");
	if (probe_plan__function(syms, "smol::*"))
		probe_plan__describe(plan, "smol (async-task)");
	if (!probe_plan__function(syms, "async_std::*") && !probe_plan__function(syms, "smol::*"))
		probe_plan__describe(plan, "async-task");
	probe_plan__note_missing(plan, "async-lock contention (not traced yet)");
	return 0;
fail:
	plan->nsites = first;
	return err;
}
