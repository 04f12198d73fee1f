// SPDX-License-Identifier: MIT
/*
 * tokio's spawns with no symbol table. A spawn takes its task's id with
 * Id::next, a fetch_add(1) on the static NEXT_ID, which starts at 1 (so it
 * sits in .data holding 1). Other counters look the same (OwnedTasks' ids,
 * a seed counter: 2 or 3 per fixture build, as many increments as NEXT_ID
 * at opt-level 1 and "s"), so NEXT_ID is told by who increments it: a
 * #[track_caller] spawn function, handed a Location (a pointer to a file
 * name in .rodata ending in ".rs", its length, a line and a column) in an
 * argument register. The function holding the increment (tokio::spawn in
 * release builds, Spawner::spawn_blocking_inner), or the callers of a
 * standalone Id::next (opt-level 1: spawn_inner), is a spawn function when
 * a call hands it a Location: `lea`'d by the caller, or passed on from the
 * caller's own argument that its callers hand a Location (spawn ->
 * spawn_inner; up to FLOW_CALLERS callers up). A larger function holding
 * an increment but handed no Location has a spawn inlined into it (a
 * future's poll inside a block_on): the Locations its callers are handed
 * are others' (Runtime::block_on's own #[track_caller]).
 *
 * The counter whose increments reach spawn functions, if exactly one does,
 * is NEXT_ID: its spawn functions get the spawn probe (bpf/tokio.bpf.h
 * reads the Location and the predicted id), its increments the id-taken
 * probe (the exact id; and a spawn inlined into the program is seen there,
 * with no location: nothing passes its Location at run time, as fat LTO's
 * spawn_blocking).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "binary/binary.h"
#include "binary/cfi_functions.h"
#include "binary/code_tables.h"
#include "binary/elf_symbols.h"
#include "binary/x86_code.h"
#include "runtime/probe_plan.h"
#include "runtime/tokio_stripped_spawns.h"

#define MAX_ADDS 4096
#define MAX_CALLS 8192
#define MAX_QUERIES 1024
#define MAX_SPAWN_FNS 512
#define FLOW_CALLERS 2 /* spawn -> spawn_inner -> Id::next (opt-level 1) */
#define SLOTS_PER_FN 4
#define LOCATION_FILE_MAX 4096
#define ID_NEXT_MAX_BYTES 48 /* Id::next alone: 15 bytes (1.24, opt-level 1) */
#define ANY_ARG -1

/* Is this function's argument `arg` (ANY_ARG: any) a Location? Asked on
 * behalf of a candidate spawn function `origin`. */
struct query {
	__u64 fn;
	int arg;
	int origin; /* index into search.cands */
};

struct candidate {
	__u64 fn;
	__u64 counter;
	bool handed; /* a Location reaches it */
};

struct search {
	const struct elf_symbols *syms;
	const struct cfi_function *fns;
	int nfns;
	__u64 str_lo, str_hi;
	struct candidate cands[MAX_SPAWN_FNS];
	int ncands;
};

/* The counter an increment adds to, if it starts at 1 in .data [lo, hi). */
static __u64 counter_of(const struct elf_symbols *syms, const struct x86_fetch_add *a, __u64 lo,
			__u64 hi)
{
	__u64 addr = a->atomic, value;
	enum code_word kind;

	if (!a->adds_one ||
	    (a->via_slot && (code_tables__words(syms, a->atomic, 1, &addr, &kind) ||
			     kind != CODE_WORD_POINTER)))
		return 0;
	if (addr < lo || addr + 8 > hi || elf_symbols__read(syms, addr, &value, sizeof(value)) ||
	    value != 1)
		return 0;
	return addr;
}

/* core::panic::Location at `at`: &'static str (pointer, length), line, column. */
static bool location_at(const struct search *s, __u64 at)
{
	__u64 w[3];
	enum code_word k[3];
	char tail[3];
	__u32 line, col;

	if (!at || (at & 7) || code_tables__words(s->syms, at, 3, w, k) || k[0] != CODE_WORD_POINTER ||
	    k[1] != CODE_WORD_PLAIN || k[2] != CODE_WORD_PLAIN)
		return false;
	line = (__u32)w[2];
	col = (__u32)(w[2] >> 32);
	if (w[1] < sizeof(tail) || w[1] > LOCATION_FILE_MAX || w[0] < s->str_lo ||
	    w[0] + w[1] > s->str_hi || !line || line > 10000000 || col > 100000)
		return false;
	return !elf_symbols__read(s->syms, w[0] + w[1] - sizeof(tail), tail, sizeof(tail)) &&
	       !memcmp(tail, ".rs", sizeof(tail));
}

/* The function a call returning to ret calls: `call rel32`, or `call
 * *slot(%rip)` (rustc calls other crates' functions through the GOT). */
static __u64 callee_of(const struct elf_symbols *syms, __u64 ret)
{
	__u8 b[6];
	__s32 rel;
	__u64 target;
	enum code_word kind;

	if (elf_symbols__read(syms, ret - sizeof(b), b, sizeof(b)))
		return 0;
	if (b[1] == 0xe8) {
		memcpy(&rel, b + 2, sizeof(rel));
		return ret + (__s64)rel;
	}
	if (b[0] != 0xff || b[1] != 0x15)
		return 0;
	memcpy(&rel, b + 2, sizeof(rel));
	return code_tables__words(syms, ret + (__s64)rel, 1, &target, &kind) || kind != CODE_WORD_CODE
		       ? 0
		       : target;
}

/* The function holding the call that returns to ret, if it may call fn
 * (a call through a register: it may). */
static const struct cfi_function *caller_of(const struct search *s, __u64 ret, __u64 fn)
{
	__u64 callee = callee_of(s->syms, ret);

	return callee && callee != fn ? NULL : cfi_functions__containing(s->fns, s->nfns, ret - 1);
}

/* Is the function at fn no more than an increment (Id::next, not inlined)? */
static bool only_increment(const struct search *s, __u64 fn)
{
	const struct cfi_function *f = cfi_functions__containing(s->fns, s->nfns, fn);

	return f && f->end - f->start <= ID_NEXT_MAX_BYTES;
}

static void add_candidate(struct search *s, __u64 fn, __u64 counter)
{
	for (int i = 0; i < s->ncands; i++)
		if (s->cands[i].fn == fn && s->cands[i].counter == counter)
			return;
	if (s->ncands < MAX_SPAWN_FNS)
		s->cands[s->ncands++] = (struct candidate){fn, counter, false};
}

static void add_query(struct query *q, int *n, struct query add)
{
	for (int i = 0; i < *n; i++)
		if (q[i].fn == add.fn && q[i].arg == add.arg && q[i].origin == add.origin)
			return;
	if (*n < MAX_QUERIES)
		q[(*n)++] = add;
}

/* Every call of the queries' functions, in one pass over the code. Up to
 * MAX_CALLS into rets: how many, or -errno. */
static int calls_of(const struct search *s, const struct query *q, int n, __u64 *rets)
{
	__u64 *targets = calloc((size_t)n, sizeof(*targets));
	__u64 *slots = calloc((size_t)n * SLOTS_PER_FN, sizeof(*slots));
	int nslots = 0, ncalls = -ENOMEM;

	for (int i = 0; targets && slots && i < n; i++) {
		int k = elf_symbols__pointer_slots(s->syms, q[i].fn, slots + nslots, SLOTS_PER_FN);

		targets[i] = q[i].fn;
		nslots += k < 0 ? 0 : k > SLOTS_PER_FN ? SLOTS_PER_FN : k;
	}
	if (targets && slots)
		ncalls = x86_code__calls_of(s->syms, targets, n, slots, nslots, rets, MAX_CALLS);
	free(targets);
	free(slots);
	return ncalls > MAX_CALLS ? MAX_CALLS : ncalls;
}

/* One call answering a query: the Location handed, or the caller's own
 * argument passed on (a query about the caller, into next). */
static void answer(struct search *s, const struct query *q, __u64 caller, __u64 ret,
		   struct query *next, int *nnext)
{
	struct x86_call_arg args[6];

	if (x86_code__call_args(s->syms, caller, ret, args))
		return;
	for (int i = 0; i < 6; i++) {
		if (q->arg != ANY_ARG && q->arg != i)
			continue;
		if (location_at(s, args[i].addr))
			s->cands[q->origin].handed = true;
		else if (args[i].from_arg >= 0)
			add_query(next, nnext, (struct query){caller, args[i].from_arg, q->origin});
	}
}

/* Which candidates a Location reaches, following arguments passed on up
 * to FLOW_CALLERS callers up. 0 or -errno. */
static int follow_locations(struct search *s)
{
	struct query *q = calloc(MAX_QUERIES, sizeof(*q)), *next = calloc(MAX_QUERIES, sizeof(*next));
	__u64 *rets = calloc(MAX_CALLS, sizeof(*rets));
	int n = 0, err = q && next && rets ? 0 : -ENOMEM;

	for (int i = 0; !err && i < s->ncands; i++)
		add_query(q, &n, (struct query){s->cands[i].fn, ANY_ARG, i});
	for (int depth = 0; !err && n && depth <= FLOW_CALLERS; depth++) {
		int ncalls = calls_of(s, q, n, rets), nnext = 0;
		struct query *swap = q;

		err = ncalls < 0 ? ncalls : 0;
		for (int c = 0; c < ncalls; c++)
			for (int i = 0; i < n; i++) {
				const struct cfi_function *caller = caller_of(s, rets[c], q[i].fn);

				if (caller && !s->cands[q[i].origin].handed)
					answer(s, &q[i], caller->start, rets[c], next, &nnext);
			}
		q = next;
		next = swap;
		n = depth < FLOW_CALLERS ? nnext : 0;
	}
	free(q);
	free(next);
	free(rets);
	return err;
}

/* The candidate spawn functions: those holding an increment, or calling a
 * standalone Id::next. 0 or -errno. */
static int find_candidates(struct search *s, const struct x86_fetch_add *adds, const __u64 *counters,
			   int nadds)
{
	__u64 *rets = calloc(MAX_CALLS, sizeof(*rets)), slots[SLOTS_PER_FN];
	int n, nslots;

	if (!rets)
		return -ENOMEM;
	for (int i = 0; i < nadds; i++) {
		const struct cfi_function *f = cfi_functions__containing(s->fns, s->nfns, adds[i].after - 1);

		if (!counters[i] || !f)
			continue;
		if (!only_increment(s, f->start)) {
			add_candidate(s, f->start, counters[i]);
			continue;
		}
		nslots = elf_symbols__pointer_slots(s->syms, f->start, slots, SLOTS_PER_FN);
		n = x86_code__call_sites(s->syms, f->start, slots,
					 nslots < 0 ? 0 : nslots > SLOTS_PER_FN ? SLOTS_PER_FN : nslots,
					 rets, MAX_CALLS);
		for (int c = 0; c < n && c < MAX_CALLS; c++) {
			const struct cfi_function *caller = caller_of(s, rets[c], f->start);

			if (caller)
				add_candidate(s, caller->start, counters[i]);
		}
	}
	free(rets);
	return 0;
}

/* The one counter spawn functions lead to: 0 when none does, or several. */
static __u64 next_id_counter(const struct search *s)
{
	__u64 counter = 0;

	for (int i = 0; i < s->ncands; i++) {
		if (!s->cands[i].handed)
			continue;
		if (counter && s->cands[i].counter != counter)
			return 0;
		counter = s->cands[i].counter;
	}
	return counter;
}

static int add_probe(const struct elf_symbols *syms, struct probe_plan *plan,
		     const struct probe_site *site)
{
	struct probe_site s = *site;

	for (size_t i = 0; i < plan->nsites; i++)
		if (plan->sites[i].vaddr == s.vaddr && plan->sites[i].probe == s.probe)
			return 0;
	if (elf_symbols__vaddr_to_offset(syms, s.vaddr, &s.offset))
		return 0; /* not in the file: nothing to probe */
	return probe_plan__add(plan, &s) ?: 1;
}

static int add_probes(const struct elf_symbols *syms, struct probe_plan *plan,
		      const struct search *s, __u64 next_id, const struct x86_fetch_add *adds,
		      const __u64 *counters, int nadds)
{
	int added = 0, err = 0;

	for (int i = 0; i < s->ncands && err >= 0; i++) {
		struct probe_site site = {.probe = AIB_PROBE_SPAWN, .vaddr = s->cands[i].fn,
					  .what = "tokio spawn (by structure)"};

		if (!s->cands[i].handed || s->cands[i].counter != next_id)
			continue;
		err = add_probe(syms, plan, &site);
		added += err > 0;
	}
	plan->spawn_sites += (__u32)added;
	for (int i = 0; i < nadds && err >= 0; i++) {
		struct probe_site site = {.probe = AIB_PROBE_ID_TAKEN,
					  .arg = AIB_ID_TAKEN_ARG(adds[i].reg, adds[i].len),
					  .vaddr = adds[i].after,
					  .what = "tokio Id::next (by structure)"};

		if (counters[i] != next_id)
			continue;
		err = add_probe(syms, plan, &site);
		plan->spawn_stack_sites += err > 0;
	}
	if (err < 0)
		return err;
	/* every increment is probed: a spawn call seen learns its exact id there */
	plan->next_id_vaddr = next_id;
	plan->check_spawn_ids = true;
	return added;
}

int tokio_stripped_spawns__add(const struct elf_symbols *syms, struct probe_plan *plan, char *why,
			       size_t why_len)
{
	struct x86_fetch_add *adds = calloc(MAX_ADDS, sizeof(*adds));
	__u64 *counters = calloc(MAX_ADDS, sizeof(*counters));
	struct search *s = calloc(1, sizeof(*s));
	struct cfi_function *fns = NULL;
	int nadds = 0, err = adds && counters && s ? 0 : -ENOMEM;
	__u64 next_id = 0, data_lo = 0, data_hi = 0;

	if (!err && !elf_symbols__section_bounds(syms, ".rodata", &s->str_lo, &s->str_hi)) {
		s->syms = syms;
		s->nfns = cfi_functions__list(elf_symbols__binary(syms), &fns);
		s->fns = fns;
		nadds = s->nfns > 0 ? x86_code__counter_adds(syms, adds, MAX_ADDS) : 0;
		err = nadds < 0 ? nadds : 0;
	}
	if (nadds > MAX_ADDS)
		nadds = MAX_ADDS;
	if (elf_symbols__section_bounds(syms, ".data", &data_lo, &data_hi))
		nadds = 0; /* no .data: no NEXT_ID */
	for (int i = 0; !err && i < nadds; i++)
		counters[i] = counter_of(syms, &adds[i], data_lo, data_hi);
	if (!err && nadds)
		err = find_candidates(s, adds, counters, nadds) ?: follow_locations(s);
	if (!err)
		next_id = next_id_counter(s);
	if (!err && next_id) {
		probe_plan__set_location_ranges(plan, syms);
		err = add_probes(syms, plan, s, next_id, adds, counters, nadds);
	} else if (!err) {
		bool handed = false;

		for (int i = 0; i < s->ncands; i++)
			handed |= s->cands[i].handed;
		snprintf(why, why_len, "%s",
			 handed ? "tokio's task ids: several counters are incremented by functions "
				     "handed a Location"
				   : "tokio's spawn functions (no counter starting at 1 is incremented by a "
				     "function handed a Location)");
	}
	free(adds);
	free(counters);
	free(s);
	free(fns);
	return err;
}
