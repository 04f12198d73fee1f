// SPDX-License-Identifier: MIT
#include "runtime/runtime.h"

#include <errno.h>
#include "binary/symbolizer.h"
#include "lib/u64_map.h"
#include "runtime/probe_plan.h"

static const struct runtime_ops *const all[] = {&tokio_runtime, &async_task_runtime};

const struct runtime_ops *const *runtime__all(size_t *n)
{
	*n = sizeof(all) / sizeof(all[0]);
	return all;
}

const struct runtime_ops *runtime__get(enum aib_runtime id)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->id == id)
			return all[i];
	return NULL;
}

bool runtime__running(enum aib_runtime id, __u64 state)
{
	const struct runtime_ops *rt = runtime__get(id);

	return rt && (state & rt->state_running);
}

bool runtime__maybe_carrier(enum aib_runtime id, __u64 state)
{
	const struct runtime_ops *rt = runtime__get(id);

	return rt && rt->worker_carriers && (state & rt->state_running);
}

/* The first kind a runtime of the plan gives the function. */
static enum aib_lock_kind lock_kind(const struct probe_plan *plan, const char *function)
{
	enum aib_lock_kind kind = AIB_LOCK_KIND_UNKNOWN;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && kind == AIB_LOCK_KIND_UNKNOWN; i++)
		if (all[i]->lock_kind && (plan->runtimes & AIB_RUNTIME_BIT(all[i]->id)))
			kind = all[i]->lock_kind(function);
	return kind;
}

struct u64_map *runtime__lock_kinds(const struct probe_plan *plan, struct symbolizer *sym)
{
	struct u64_map *kinds = u64_map__new();

	for (size_t i = 0; kinds && i < plan->nsites; i++) {
		const struct probe_site *site = &plan->sites[i];
		enum aib_lock_kind kind = AIB_LOCK_KIND_UNKNOWN;
		struct sym_frame f[16];
		int n;

		if (site->probe != AIB_PROBE_LOCK_POLLED)
			continue;
		/* the call's frames, innermost first: the lock API it is under */
		n = sym ? symbolizer__frames(sym, site->origin, true, f, 16) : 0;
		for (int j = 0; j < n && kind == AIB_LOCK_KIND_UNKNOWN; j++)
			kind = lock_kind(plan, f[j].function);
		if (u64_map__set(kinds, site->vaddr, kind)) {
			u64_map__free(kinds);
			return NULL;
		}
	}
	return kinds;
}
