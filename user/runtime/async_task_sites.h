/* SPDX-License-Identifier: MIT */
/*
 * async-task's sites found in the code around its RawTask functions: the
 * calls that hand RawTask::schedule a new task, and where RawTask::run
 * returns. Shared by the plan from symbols (runtime/async_task.c) and the
 * plan by structure (runtime/async_task_stripped.c), which know RawTask's
 * functions each their own way.
 */
#ifndef ASYNC_TASK_SITES_H
#define ASYNC_TASK_SITES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct elf_symbols;
struct probe_plan;
struct runtime_layout;

#define RAW_TASK_SCHEDULE_MAX 256

/* The functions of async-task's RawTask, as address ranges, and the
 * entries of its schedule copies. */
struct raw_task_code {
	__u64 (*r)[2];
	size_t n, cap;
	__u64 schedule[RAW_TASK_SCHEDULE_MAX];
	int nschedule;
};

/* One more function [lo, hi), a schedule copy or not: 0 or -ENOMEM. */
int raw_task_code__add(struct raw_task_code *c, __u64 lo, __u64 hi, bool schedule);
void raw_task_code__release(struct raw_task_code *c);

/* Keeps the call sites in rets (n of them) outside RawTask's functions as
 * the plan's spawn calls. */
void async_task_sites__keep_spawn_calls(struct probe_plan *plan, const struct raw_task_code *raw,
					const __u64 *rets, int n);
/* The calls of the schedule copies, direct or through the header's vtable,
 * outside RawTask's functions, into the plan's spawn calls: 0 or -errno. */
int async_task_sites__spawn_calls(const struct elf_symbols *syms, struct probe_plan *plan,
				  const struct runtime_layout *l, const struct raw_task_code *raw);
/* AT_RUN_RETURN after each call of Runnable::run at `runnable_run`, or
 * without it (0: inlined) after each call through the run slot of a
 * header's vtable: 0 or -errno. */
int async_task_sites__run_returns(const struct elf_symbols *syms, struct probe_plan *plan,
				  const struct runtime_layout *l, __u64 runnable_run);

#endif
