// SPDX-License-Identifier: MIT
/*
 * async-task's spawn calls and run return sites (async_task_sites.h).
 */
#include <errno.h>
#include <stdlib.h>
#include "async_task_layout.h"
#include "binary/elf_symbols.h"
#include "binary/x86_code.h"
#include "lib/array.h"
#include "runtime/async_task_sites.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"

#define MAX_CALL_SITES 256

int raw_task_code__add(struct raw_task_code *c, __u64 lo, __u64 hi, bool schedule)
{
	if (array__grow((void **)&c->r, &c->cap, c->n + 1, sizeof(c->r[0])))
		return -ENOMEM;
	c->r[c->n][0] = lo;
	c->r[c->n++][1] = hi;
	if (schedule && c->nschedule < RAW_TASK_SCHEDULE_MAX)
		c->schedule[c->nschedule++] = lo;
	return 0;
}

void raw_task_code__release(struct raw_task_code *c)
{
	free(c->r);
	*c = (struct raw_task_code){0};
}

/* Is the return address ret in one of RawTask's functions? */
static bool in_raw_task(const struct raw_task_code *c, __u64 ret)
{
	for (size_t i = 0; i < c->n; i++)
		if (ret > c->r[i][0] && ret <= c->r[i][1])
			return true;
	return false;
}

void async_task_sites__keep_spawn_calls(struct probe_plan *plan, const struct raw_task_code *raw,
					const __u64 *rets, int n)
{
	for (int i = 0; i < n && i < MAX_CALL_SITES; i++) {
		bool dup = false;

		for (__u32 j = 0; j < plan->n_at_spawn_calls; j++)
			dup |= plan->at_spawn_calls[j] == rets[i];
		if (!dup && !in_raw_task(raw, rets[i]) &&
		    plan->n_at_spawn_calls < ASYNC_TASK_SPAWN_CALLS_MAX)
			plan->at_spawn_calls[plan->n_at_spawn_calls++] = rets[i];
	}
}

/*
 * The calls of RawTask::schedule that hand it a new task: Runnable::schedule
 * inlined into a spawn, as a direct call of one of its copies (LTO sees the
 * vtable) or a call through the schedule slot of a header's vtable. async-
 * task's own RawTask functions call it for wakes; a spawn calls it from
 * elsewhere. Such a call is a new task whatever at_seen says: one of the
 * same type may have ended at that address a moment before, the end of its
 * last poll not seen yet (measured: the matrix's thin smol program with its
 * two `unblock` calls awaited in turn, the second task counted as the
 * first's in 10 runs of 25).
 */
int async_task_sites__spawn_calls(const struct elf_symbols *syms, struct probe_plan *plan,
				  const struct runtime_layout *l, const struct raw_task_code *raw)
{
	__u64 rets[MAX_CALL_SITES];
	int n = x86_code__direct_call_sites(syms, raw->schedule, raw->nschedule, rets,
					    MAX_CALL_SITES);

	if (n > 0)
		async_task_sites__keep_spawn_calls(plan, raw, rets, n);
	/* rustc kept TaskVTable's fields in order when run is where declared */
	if (n >= 0 && l->poll_slot == ASYNC_TASK_VT_RUN) {
		n = x86_code__vcall_sites(syms, l->vtable_off, ASYNC_TASK_VT_SCHEDULE, rets,
					  MAX_CALL_SITES);
		if (n > 0)
			async_task_sites__keep_spawn_calls(plan, raw, rets, n);
	}
	return n < 0 ? n : 0;
}

/* Where RawTask::run returns: Runnable::run tail-calls it, so after each
 * call of Runnable::run; where LTO inlined Runnable::run into executors'
 * loops, after each call through the run slot of a vtable read from a
 * header. Sites found only at run time (other callers) are reported by the
 * BPF side and added then: the first poll from one ends unseen. */
int async_task_sites__run_returns(const struct elf_symbols *syms, struct probe_plan *plan,
				  const struct runtime_layout *l, __u64 run)
{
	__u64 rets[MAX_CALL_SITES];
	int n = run ? probe_plan__add_return_sites(syms, plan, run, AIB_PROBE_AT_RUN_RETURN, 0,
						   "a return site of RawTask::run", 64)
		    : 0;

	if (n < 0 || run)
		return n < 0 ? n : 0;
	n = x86_code__vcall_sites(syms, l->vtable_off, l->poll_slot, rets, MAX_CALL_SITES);
	for (int i = 0; i < n && i < MAX_CALL_SITES; i++) {
		struct probe_site site = {.probe = AIB_PROBE_AT_RUN_RETURN, .origin = rets[i],
					  .what = "a return site of RawTask::run"};
		int err;

		if (x86_code__cheap_probe_point(syms, rets[i], &site.vaddr) ||
		    elf_symbols__vaddr_to_offset(syms, site.vaddr, &site.offset))
			continue;
		err = probe_plan__add(plan, &site);
		if (err)
			return err;
	}
	return n < 0 ? n : 0;
}
