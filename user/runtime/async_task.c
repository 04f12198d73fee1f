// SPDX-License-Identifier: MIT
/*
 * async-task (async_task_runtime: async-std, smol and the blocking pool run
 * their tasks on it): its probe sites and its tasks in memory; its layout is
 * include/async_task_layout.h. Only entry probes: RawTask::run has no
 * catch_unwind, so a uretprobe there would turn a task's panic into an
 * abort. Poll ends are probed where each run call returns in its caller, a
 * site the BPF side reports at the first poll from it (bpf/async_task.bpf.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "async_task_layout.h"
#include "binary/elf_symbols.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"
#include "binary/x86_code.h"
#include "runtime/async_task_sites.h"
#include "runtime/async_task_stripped.h"

#define AT_RUN "async_task::raw::RawTask<F,T,S>::run"
#define AT_WAKE "async_task::raw::RawTask<F,T,S>::wake"
#define AT_CLONE_WAKER "async_task::raw::RawTask<F,T,S>::clone_waker"
#define AT_RUNNABLE_RUN "async_task::runnable::Runnable::run"
#define AT_RAW "async_task::raw::RawTask<F,T,S>::"
#define AT_SCHEDULE AT_RAW "schedule"

static const struct site_spec at_sites[] = {
	{AT_WAKE, AIB_PROBE_AT_WAKE, true},
	{"async_task::raw::RawTask<F,T,S>::wake_by_ref", AIB_PROBE_AT_WAKE_BY_REF, false},
	/* executors call Runnable::schedule right after spawning, and only
	 * then: RawTask::schedule also runs for wakes and reschedules */
	{"async_task::runnable::Runnable::schedule", AIB_PROBE_AT_SCHEDULE, false},
	{"async_std::task::builder::Builder::spawn", AIB_PROBE_AT_TASK_NAME, false},
};

/* Spawn sites are counted. */
static void at_counted(struct probe_plan *plan, const struct site_spec *s, int n)
{
	if (s->probe == AIB_PROBE_AT_SCHEDULE)
		plan->spawn_sites += (__u32)n;
}

static int add_raw_task_fn(const struct elf_symbol *sym, void *ctx)
{
	return raw_task_code__add(ctx, sym->vaddr, sym->vaddr + sym->size,
				  !strcmp(sym->path, AT_SCHEDULE));
}

/* The spawn calls (async_task_sites.c) of RawTask as its symbols name it. */
static int find_spawn_calls(const struct elf_symbols *syms, struct probe_plan *plan,
			    const struct runtime_layout *l)
{
	struct raw_task_code raw = {0};
	int n = elf_symbols__match(syms, AT_RAW "*", add_raw_task_fn, &raw);

	if (n >= 0)
		n = async_task_sites__spawn_calls(syms, plan, l, &raw);
	raw_task_code__release(&raw);
	return n < 0 ? n : 0;
}

/* Where LTO inlined Runnable::schedule into the executor's spawn, a new
 * task is told at RawTask::schedule (a vtable function: never inlined
 * away): called from a spawn (find_spawn_calls), or else not seen running. */
static int add_schedule_fallback(const struct elf_symbols *syms, struct probe_plan *plan,
				 const struct runtime_layout *l)
{
	int n = probe_plan__add_matching(syms, plan, AT_SCHEDULE, AIB_PROBE_AT_SCHEDULE_ANY, false,
					 false);

	if (n > 0)
		n = find_spawn_calls(syms, plan, l) ?: n;
	if (n < 0)
		return n;
	/* a devirtualized RawTask::schedule may be inlined into a spawn too
	 * (not seen in the build matrix: every task's spawn found there);
	 * such a task is found at its first poll, and says so */
	probe_plan__note_missing(plan, n ? "Runnable::schedule (inlined: RawTask::schedule instead)"
					 : "Runnable::schedule (inlined: tasks found on first poll)");
	if (n == 0)
		return 0;
	plan->spawn_sites += (__u32)n;
	plan->at_track_seen = true;
	return 0;
}

/* std's catch_unwind cleanup: every poll entered below its frame was
 * unwound. */
static int add_panic_cleanup(const struct elf_symbols *syms, struct probe_plan *plan)
{
	struct probe_site site = {.probe = AIB_PROBE_PANIC_CAUGHT, .what = "__rust_panic_cleanup"};

	site.vaddr = probe_plan__panic_cleanup(syms);
	if (!site.vaddr || elf_symbols__vaddr_to_offset(syms, site.vaddr, &site.offset))
		return 0;
	return probe_plan__add(plan, &site) ?: 1;
}

/* Runnable::run: named, or in a stripped binary found by its code. */
static __u64 runnable_run(const struct elf_symbols *syms)
{
	__u64 run = probe_plan__function(syms, AT_RUNNABLE_RUN);

	return run || elf_symbols__has_symtab(syms) ? run : async_task_stripped__runnable_run(syms);
}

/* Runnable::run is `mov vt_off(%rdi), %reg; jmp *run_off(%reg)` (or a
 * call, in a frame-pointer build): the header's vtable field and the
 * vtable's run slot, read off the machine code. false when the code is
 * anything else. */
static bool layout_from_code(const struct elf_symbols *syms, __u64 run, __u64 *vt_off,
			     __u64 *run_off)
{
	return run && x86_code__vtable_jump(syms, run, vt_off, run_off) &&
	       *vt_off <= ASYNC_TASK_HDR_SIZE - 8 && *run_off < ASYNC_TASK_VT_FUNCS * 8;
}

/*
 * block_on roots (bpf/block_on.bpf.h) of async-io's block_on (smol's, and
 * async-std's through async-global-executor): one copy per future type,
 * which fat LTO may inline into its caller; no guard drop survives, so
 * its calls' return sites end it. Its loop parks on parking's
 * Inner::park (no user code: a uretprobe), and polls again when that
 * returns true; its waker is waker_fn's, whose closure holds the Arc of
 * that Inner (docs/block-on-research.md).
 */
static const struct root_spec async_io_roots[] = {
	ROOT_ENTRY("async_io::driver::block_on", AIB_PROBE_ROOT_START_ASYNC_IO, X86_KEEP_SP),
	ROOT_RETURN_SITES("async_io::driver::block_on", AIB_PROBE_ROOT_RETURNED),
	ROOT_ENTRY_AND_RETURN("parking::Inner::park", AIB_PROBE_ROOT_PARK_NOTIFIED, X86_KEEP_ARG0),
	ROOT_ENTRY("waker_fn::Helper<F>::wake", AIB_PROBE_ROOT_WAKE_ARC, X86_KEEP_ARG0),
	ROOT_ENTRY("waker_fn::Helper<F>::wake_by_ref", AIB_PROBE_ROOT_WAKE_ARC, X86_KEEP_ARG0),
	ROOT_ENTRY("waker_fn::Helper<F>::clone_waker", AIB_PROBE_ROOT_AWAIT_ARC, X86_KEEP_ARG0),
};

/* The header's layout as Runnable::run reads it, else rustc 1.95's. The
 * state word is the other end of the header's first two words (async-task
 * 4.x layouts). */
static void layout(const struct elf_symbols *syms, struct runtime_layout *out)
{
	__u64 vt_off, run_off;

	*out = (struct runtime_layout){.vtable_off = ASYNC_TASK_HDR_VTABLE,
				       .state_off = ASYNC_TASK_HDR_STATE,
				       .poll_slot = ASYNC_TASK_VT_RUN};
	if (layout_from_code(syms, runnable_run(syms), &vt_off, &run_off)) {
		out->vtable_off = (__u32)vt_off;
		out->state_off = vt_off == 0 ? 8 : 0;
		out->poll_slot = (__u32)run_off;
	}
}

static int add_roots(const struct elf_symbols *syms, struct probe_plan *plan)
{
	int n = probe_plan__add_roots(syms, plan, async_io_roots,
				      sizeof(async_io_roots) / sizeof(async_io_roots[0]));

	if (n >= 0 && !probe_plan__function(syms, async_io_roots[0].path))
		probe_plan__note_missing(plan, "async_io::block_on (inlined: no block_on roots)");
	return n < 0 ? n : 0;
}

/* A program that only ever runs async-io's block_on (no task spawned, so
 * no RawTask code): its roots alone. */
static int add_roots_only(const struct elf_symbols *syms, struct probe_plan *plan)
{
	int err = add_roots(syms, plan);

	if (err)
		return err;
	plan->runtimes |= AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK);
	probe_plan__describe(plan, "async-io (block_on only)");
	return 0;
}

static int add_probes(const struct elf_symbols *syms, struct probe_plan *plan, unsigned captures,
		      char *why, size_t why_len)
{
	struct runtime_layout l;
	size_t first = plan->nsites;
	int n, err;

	if (!elf_symbols__has_symtab(syms) && !probe_plan__function(syms, AT_RUN))
		return async_task_stripped__add_probes(syms, plan, why, why_len);
	n = probe_plan__add_matching(syms, plan, AT_RUN, AIB_PROBE_AT_RUN, false, true);
	if (n == 0 && probe_plan__function(syms, async_io_roots[0].path))
		return add_roots_only(syms, plan); /* a block_on, no task ever spawned */
	if (n <= 0) {
		snprintf(why, why_len, "no async-task runtime (looked for %s)", AT_RUN);
		return n < 0 ? n : -ENOENT;
	}
	plan->poll_sites += (__u32)n;
	err = probe_plan__add_specs(syms, plan, at_sites, sizeof(at_sites) / sizeof(at_sites[0]),
				    "no async-task runtime (%s not found)", at_counted, why, why_len);
	layout(syms, &l);
	if (!err && !plan->spawn_sites)
		err = add_schedule_fallback(syms, plan, &l);
	if (err)
		goto fail;
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
	plan->at_vtable_off = l.vtable_off;
	plan->at_state_off = l.state_off;
	err = async_task_sites__run_returns(syms, plan, &l, runnable_run(syms));
	if (err)
		goto fail;
	err = add_roots(syms, plan);
	if (err)
		goto fail;

	plan->runtimes |= AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK);
	if (probe_plan__function(syms, "async_std::*"))
		probe_plan__describe(plan, "async-std (async-task)");
	if (probe_plan__function(syms, "smol::*"))
		probe_plan__describe(plan, "smol (async-task)");
	if (!probe_plan__function(syms, "async_std::*") && !probe_plan__function(syms, "smol::*"))
		probe_plan__describe(plan, async_task_runtime.name);
	probe_plan__note_missing(plan, "async-lock contention (not traced yet)");
	return 0;
fail:
	plan->nsites = first;
	return err;
}

/* ---- tasks in memory ---- */

/* Every function slot points into .text. */
static bool vtable_ok(const __u64 *w, __u64 text_lo, __u64 text_hi, __u32 *id_offset)
{
	for (int f = 0; f < ASYNC_TASK_VT_FUNCS; f++)
		if (w[f] < text_lo || w[f] >= text_hi)
			return false;
	*id_offset = 0; /* async-task numbers no tasks */
	return true;
}

/* Destroyed once no reference and no Task handle is left; a completed
 * task is never scheduled or running again. */
static enum runtime_header check_header(const __u64 w[RUNTIME_HEADER_WORDS], __u64 state)
{
	__u64 refs = state >> ASYNC_TASK_REF_SHIFT;

	if (refs > RUNTIME_REFS_MAX || (!refs && !(state & ASYNC_TASK_STATE_TASK)) ||
	    ((state & ASYNC_TASK_STATE_COMPLETED) &&
	     (state & (ASYNC_TASK_STATE_SCHEDULED | ASYNC_TASK_STATE_RUNNING))))
		return RUNTIME_HEADER_BAD_STATE;
	return RUNTIME_HEADER_LIVE;
}

static const struct root_loop async_io_root_loops[] = {
	{"async_io::driver::block_on", "src/driver.rs"},
	{NULL, NULL},
};

/* async-std's executor threads run their executor in a block_on, and its
 * global executor's start-up runs one to spawn them */
static const struct root_loop async_std_own_loops[] = {
	{"async_global_executor::threading::thread_main_loop", "src/threading.rs"},
	{"async_global_executor::init::init", "src/init.rs"},
	{"async_global_executor::init::init_with_config", "src/init.rs"},
	{NULL, NULL},
};

const struct runtime_ops async_task_runtime = {
	.id = AIB_RUNTIME_ASYNC_TASK,
	.name = "async-task",
	.add_probes = add_probes,
	.state_done = ASYNC_TASK_STATE_COMPLETED | ASYNC_TASK_STATE_CLOSED,
	.state_running = ASYNC_TASK_STATE_RUNNING,
	.state_scheduled = ASYNC_TASK_STATE_SCHEDULED,
	.poll_fn = AT_RUN,
	.polls_by_structure = async_task_stripped__runs,
	.vtable_words = ASYNC_TASK_VT_FUNCS,
	.layout = layout,
	.vtable_ok = vtable_ok,
	.check_header = check_header,
	.root_loops = async_io_root_loops,
	.own_loops = async_std_own_loops,
};
