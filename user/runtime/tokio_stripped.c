// SPDX-License-Identifier: MIT
/*
 * tokio found by its structure, in a binary with no symbol table and no
 * debug file (stripped, as Debian ships every tokio program): its task
 * vtables by their shape (runtime/tokio_vtables.h), each confirmed by its
 * poll's code before anything is probed there. Past its thunk (a `jmp`,
 * maybe through a GOT slot or inside a frame-pointer push/pop), a task's
 * poll (Harness::poll) takes the task's state word, the word its first
 * argument points at, with a lock'd cmpxchg, inlined or in the first
 * function it calls with that argument (transition_to_running). A vtable
 * whose schedule a confirmed one shares is confirmed too. The waker vtable
 * (4 code pointers: clone, wake, wake_by_ref, drop) the polls build a
 * task's waker from, in their code or in a function they call, gives
 * tokio's waker functions: the wake probes and await sites. Measured on
 * every fixture build (tokio 1.24.2: release, opt-level 1 and "s", thin
 * and fat LTO, frame pointers, codegen-units 1; test_code_tables): every
 * vtable confirmed, the wake probes exactly on tokio's wakers. Nothing
 * names the spawn functions or the block_on loops: tasks are found at
 * their first poll, and roots not at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "binary/code_tables.h"
#include "binary/elf_symbols.h"
#include "binary/x86_code.h"
#include "runtime/probe_plan.h"
#include "runtime/tokio_stripped.h"
#include "runtime/tokio_stripped_spawns.h"
#include "runtime/tokio_vtables.h"

#define MAX_VTABLES 4096
#define POLL_INSNS 400 /* instructions of Harness::poll searched (its first 640 bytes) */
#define CALLEE_INSNS 64 /* instructions of a function it calls */
#define MAX_REFS 64
#define MAX_WAKER_VTABLES 8

/* The code at a call's or jump's target (through a slot: the pointer in
 * it), or 0. */
static __u64 code_at(const struct elf_symbols *syms, __u64 target, bool via_slot)
{
	enum code_word kind;

	if (via_slot && (code_tables__words(syms, target, 1, &target, &kind) ||
			 kind != CODE_WORD_CODE))
		return 0;
	return target;
}

/* The 4 functions of a RawWakerVTable at addr, if it is one. */
static bool waker_vtable_at(const struct elf_symbols *syms, __u64 addr, __u64 fns[4])
{
	enum code_word kinds[4];

	if (code_tables__words(syms, addr, 4, fns, kinds))
		return false;
	for (int i = 0; i < 4; i++)
		if (kinds[i] != CODE_WORD_CODE)
			return false;
	return true;
}

/* A waker vtable among refs (a table taken, or a slot holding one) into
 * fns; false if none is. */
static bool waker_among(const struct elf_symbols *syms, const struct x86_rip_ref *refs, int n,
			__u64 fns[4])
{
	for (int i = 0; i < n && i < MAX_REFS; i++) {
		__u64 table = refs[i].addr;
		enum code_word kind = CODE_WORD_POINTER;

		if (refs[i].call || (refs[i].loaded && code_tables__words(syms, refs[i].addr, 1,
									   &table, &kind)))
			continue;
		if (kind == CODE_WORD_POINTER && waker_vtable_at(syms, table, fns))
			return true;
	}
	return false;
}

/* The waker vtable poll's body builds its waker from, in it or in a
 * function it calls (waker_ref, where not inlined: opt-level 1). */
static bool poll_waker(const struct elf_symbols *syms, const struct x86_rip_ref *refs, int n,
		       __u64 fns[4])
{
	struct x86_rip_ref inner[MAX_REFS];
	struct x86_arg0_use use;

	if (waker_among(syms, refs, n, fns))
		return true;
	for (int i = 0; i < n && i < MAX_REFS; i++) {
		__u64 callee = refs[i].call ? code_at(syms, refs[i].addr, refs[i].loaded) : 0;
		int k = callee ? x86_code__rip_refs(syms, callee, CALLEE_INSNS, inner, MAX_REFS, &use)
			       : 0;

		if (k > 0 && waker_among(syms, inner, k, fns))
			return true;
	}
	return false;
}

/*
 * Is poll a tokio task's (past its thunk: Harness::poll)? It takes the
 * task's state word at its first argument by a lock'd cmpxchg, inlined or
 * in the first function it calls with it (transition_to_running), and it
 * builds the task's waker from a waker vtable, whose 4 functions go into
 * fns (fns[0] = 0: none). Measured on the fixtures: a blocking task's poll
 * builds no waker (its future ignores the context); every poll takes the
 * state word one way or the other within its first POLL_INSNS
 * instructions, but one (see schedule_confirmed).
 */
static bool poll_confirmed(const struct elf_symbols *syms, __u64 poll, __u64 fns[4])
{
	struct x86_rip_ref refs[MAX_REFS];
	struct x86_arg0_use use, callee;
	bool via_slot = false;
	__u64 body = x86_code__thunk_target(syms, poll, &via_slot), next;
	int n;

	body = code_at(syms, body, via_slot);
	n = body ? x86_code__rip_refs(syms, body, POLL_INSNS, refs, MAX_REFS, &use) : -ENOENT;
	fns[0] = 0;
	if (n < 0)
		return false;
	if (!poll_waker(syms, refs, n, fns))
		fns[0] = 0;
	if (use.rmw)
		return true;
	next = code_at(syms, use.call, use.call_via_slot);
	return next && x86_code__rip_refs(syms, next, CALLEE_INSNS, refs, MAX_REFS, &callee) >= 0 &&
	       callee.rmw;
}

static int add_site(const struct elf_symbols *syms, struct probe_plan *plan, __u64 vaddr,
		    enum aib_probe probe, bool retprobe, const char *what)
{
	struct probe_site site = {.probe = probe, .retprobe = retprobe, .vaddr = vaddr,
				  .what = what};

	/* future types' vtables may share a function (identical code folded):
	 * one probe there, or its events would come twice */
	for (size_t i = 0; i < plan->nsites; i++)
		if (plan->sites[i].vaddr == vaddr && plan->sites[i].probe == probe &&
		    plan->sites[i].retprobe == retprobe)
			return 0;
	if (elf_symbols__vaddr_to_offset(syms, vaddr, &site.offset))
		return -ENOENT;
	return probe_plan__add(plan, &site);
}

/* An entry probe that reads the first argument, at the function's first
 * instruction the kernel emulates that keeps it. */
static int add_cheap_site(const struct elf_symbols *syms, struct probe_plan *plan, __u64 vaddr,
			  enum aib_probe probe, const char *what)
{
	__u64 at = vaddr;

	if (x86_code__cheap_entry_point(syms, vaddr, &at))
		at = vaddr;
	return add_site(syms, plan, at, probe, false, what);
}

struct found {
	struct tokio_vtable *vt;
	int n;
	__u64 wakers[MAX_WAKER_VTABLES][4];
	int nwakers;
};

/* Keep a waker vtable's functions once. */
static void note_waker(struct found *f, const __u64 fns[4])
{
	for (int i = 0; i < f->nwakers; i++)
		if (!memcmp(f->wakers[i], fns, 4 * sizeof(*fns)))
			return;
	if (f->nwakers < MAX_WAKER_VTABLES)
		memcpy(f->wakers[f->nwakers++], fns, 4 * sizeof(*fns));
}

static int add_task_sites(const struct elf_symbols *syms, struct probe_plan *plan,
			  const struct tokio_vtable *v)
{
	int err = add_site(syms, plan, v->poll, AIB_PROBE_POLL, false, "tokio raw::poll (by structure)");

	/* raw::poll returns normally whatever the future does (tokio's
	 * catch_unwind sits below it): its uretprobe is safe once confirmed */
	err = err ?: add_site(syms, plan, v->poll, AIB_PROBE_POLL, true, "tokio raw::poll (by structure)");
	err = err ?: add_site(syms, plan, v->dealloc, AIB_PROBE_DEALLOC, false,
			      "tokio raw::dealloc (by structure)");
	err = err ?: add_site(syms, plan, v->shutdown, AIB_PROBE_SHUTDOWN, false,
			      "tokio raw::shutdown (by structure)");
	return err ?: add_cheap_site(syms, plan, v->try_read_output, AIB_PROBE_JOIN,
				     "tokio raw::try_read_output (by structure)");
}

static int add_waker_sites(const struct elf_symbols *syms, struct probe_plan *plan,
			   const struct found *f)
{
	int err = 0;

	for (int i = 0; i < f->nwakers && !err; i++) {
		err = add_cheap_site(syms, plan, f->wakers[i][0], AIB_PROBE_AWAIT,
				     "tokio waker clone (by structure)");
		err = err ?: add_site(syms, plan, f->wakers[i][1], AIB_PROBE_WAKE_BY_VAL, false,
				      "tokio waker wake (by structure)");
		err = err ?: add_site(syms, plan, f->wakers[i][2], AIB_PROBE_WAKE_BY_REF, false,
				      "tokio waker wake_by_ref (by structure)");
		plan->await_sites += !err;
	}
	return err;
}

/* A vtable whose schedule is a confirmed one's: schedule is generic over
 * the scheduler alone (raw::schedule<S>), shared by every future type's
 * vtable for it, so it is tokio's too (the multi-thread runtime's own
 * Launch task, in an opt-level 1 build, passes its header by reference to
 * transition_to_running: nothing else to confirm it by). */
static bool schedule_confirmed(const struct tokio_vtable *vt, const bool *ok, int n, int i)
{
	for (int j = 0; j < n; j++)
		if (ok[j] && vt[j].schedule == vt[i].schedule)
			return true;
	return false;
}

/* The vtables in syms's binary and which are confirmed (ok), the waker
 * vtables their polls use into f: how many vtables, or -errno. The
 * caller frees f->vt and *ok. */
static int confirm_vtables(const struct elf_symbols *syms, struct found *f, bool **ok)
{
	int n;

	f->vt = calloc(MAX_VTABLES, sizeof(*f->vt));
	*ok = calloc(MAX_VTABLES, sizeof(**ok));
	n = f->vt && *ok ? tokio_vtables__find(syms, f->vt, MAX_VTABLES) : -ENOMEM;
	if (n > MAX_VTABLES)
		n = MAX_VTABLES;
	for (int i = 0; i < n; i++) {
		__u64 fns[4];

		(*ok)[i] = poll_confirmed(syms, f->vt[i].poll, fns);
		if ((*ok)[i] && fns[0])
			note_waker(f, fns);
	}
	for (int i = 0; i < n; i++)
		(*ok)[i] = (*ok)[i] || schedule_confirmed(f->vt, *ok, n, i);
	return n;
}

int tokio_stripped__polls(const struct elf_symbols *syms, __u64 *out, int max)
{
	struct found f = {0};
	bool *ok;
	int n = confirm_vtables(syms, &f, &ok), k = 0;

	for (int i = 0; i < n; i++)
		if (ok[i] && k++ < max)
			out[k - 1] = f.vt[i].poll;
	free(f.vt);
	free(ok);
	return n < 0 ? n : k;
}

int tokio_stripped__add_probes(const struct elf_symbols *syms, struct probe_plan *plan,
			       char *why, size_t why_len)
{
	struct found f = {0};
	bool *ok;
	int n = confirm_vtables(syms, &f, &ok), confirmed = 0, err = 0;
	char desc[64];

	for (int i = 0; i < n && !err; i++) {
		if (!ok[i])
			continue; /* not confirmed: never probed */
		err = add_task_sites(syms, plan, &f.vt[i]);
		confirmed += !err;
	}
	if (!err && confirmed)
		err = add_waker_sites(syms, plan, &f);
	free(f.vt);
	free(ok);
	if (n < 0 || err)
		return n < 0 ? n : err;
	if (!confirmed) {
		snprintf(why, why_len,
			 "no tokio runtime found by structure (%d task vtable%s of 7 code pointers and 3 "
			 "offsets in .data.rel.ro, none whose poll takes a task's state)",
			 n, n == 1 ? "" : "s");
		return -ENOENT;
	}
	plan->poll_sites += (__u32)confirmed;
	snprintf(desc, sizeof(desc), "tokio (found by structure: %d task vtable%s)", confirmed,
		 confirmed == 1 ? "" : "s");
	probe_plan__describe(plan, desc);
	plan->spawn_kinds_unknown = true;
	n = tokio_stripped_spawns__add(syms, plan, why, why_len);
	if (n < 0)
		return n;
	if (!n)
		probe_plan__note_missing(plan, why);
	probe_plan__note_missing(plan, n ? "the symbol table (stripped: spawn_blocking not told from "
					   "spawn, no block_on roots, task panics not told)"
					 : "the symbol table (stripped: tasks found at their first poll, "
					   "no spawn locations, no block_on roots, task panics not told)");
	if (!f.nwakers)
		probe_plan__note_missing(plan, "tokio's waker (not found by structure: no wakes)");
	return 0;
}
