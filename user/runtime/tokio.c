// SPDX-License-Identifier: MIT
/*
 * tokio (tokio_runtime): its probe sites, its tasks in memory, its locks;
 * its layout is include/tokio_layout.h. The raw::* task vtable functions
 * and the waker functions survive every build (default, thin and fat LTO);
 * the spawn entry points are #[track_caller] generics that fat LTO may
 * inline away, so they are optional: without them tasks are found on first
 * sight, with no spawn location. No uretprobe except on raw::poll, which
 * tokio's catch_unwind sits below: a uretprobe frame that a panic unwinds
 * through aborts the target.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokio_layout.h"
#include "binary/binary.h"
#include <dwarf.h>
#include "binary/dwarf_die.h"
#include "binary/dwarf_types.h"
#include "binary/elf_symbols.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"
#include "runtime/tokio_stripped.h"
#include "binary/x86_code.h"

static const struct site_spec tokio_sites[] = {
	{"tokio::runtime::task::waker::wake_by_val", AIB_PROBE_WAKE_BY_VAL, true},
	{"tokio::runtime::task::waker::wake_by_ref", AIB_PROBE_WAKE_BY_REF, true},
	{"tokio::runtime::task::raw::shutdown", AIB_PROBE_SHUTDOWN, false},
	{"tokio::runtime::task::raw::dealloc", AIB_PROBE_DEALLOC, false},
	{"tokio::runtime::scheduler::multi_thread::worker::run", AIB_PROBE_WORKER_RUN, false},
	/* #[track_caller] spawn entry points: outer wrappers and the inner
	 * functions they call both fire; the model keeps the first per call */
	{"tokio::task::spawn::spawn", AIB_PROBE_SPAWN, false},
	{"tokio::task::spawn::spawn_inner", AIB_PROBE_SPAWN, false},
	{"tokio::runtime::handle::Handle::spawn", AIB_PROBE_SPAWN, false},
	{"tokio::runtime::handle::Handle::spawn_named", AIB_PROBE_SPAWN, false},
	{"tokio::runtime::runtime::Runtime::spawn", AIB_PROBE_SPAWN, false},
	{"tokio::task::builder::Builder::spawn", AIB_PROBE_SPAWN, false},
	{"tokio::task::builder::Builder::spawn_on", AIB_PROBE_SPAWN, false},
	{"tokio::task::join_set::JoinSet<T>::spawn", AIB_PROBE_SPAWN, false},
	{"tokio::task::join_set::JoinSet<T>::spawn_on", AIB_PROBE_SPAWN, false},
	{"tokio::task::blocking::spawn_blocking", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::runtime::blocking::pool::spawn_blocking", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::runtime::blocking::pool::Spawner::spawn_blocking", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::runtime::blocking::pool::Spawner::spawn_blocking_inner", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::runtime::handle::Handle::spawn_blocking", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::runtime::runtime::Runtime::spawn_blocking", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::task::builder::Builder::spawn_blocking", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::task::join_set::JoinSet<T>::spawn_blocking", AIB_PROBE_SPAWN_BLOCKING, false},
	{"tokio::task::local::spawn_local", AIB_PROBE_SPAWN_LOCAL, false},
	{"tokio::task::local::spawn_local_inner", AIB_PROBE_SPAWN_LOCAL, false},
	{"tokio::task::local::LocalSet::spawn_local", AIB_PROBE_SPAWN_LOCAL, false},
	{"tokio::task::builder::Builder::spawn_local", AIB_PROBE_SPAWN_LOCAL, false},
	{"tokio::task::join_set::JoinSet<T>::spawn_local", AIB_PROBE_SPAWN_LOCAL, false},
	/* where a spawned task's id is handed on: the spawn calls' predicted
	 * ids are checked there (any one of them may be inlined) */
	{"tokio::runtime::scheduler::Handle::spawn", AIB_PROBE_BIND, false},
	{"tokio::runtime::scheduler::multi_thread::handle::Handle::bind_new_task", AIB_PROBE_BIND, false},
	{"tokio::runtime::scheduler::current_thread::Handle::spawn", AIB_PROBE_BIND, false},
	{"tokio::runtime::task::list::OwnedTasks<S>::bind", AIB_PROBE_BIND, false},
	{"tokio::runtime::task::list::LocalOwnedTasks<S>::bind", AIB_PROBE_BIND, false},
	{"tokio::runtime::blocking::pool::Spawner::spawn_task", AIB_PROBE_BLOCKING_TASK, false},
};

/*
 * block_on roots (bpf/block_on.bpf.h): where each loop starts, parks and
 * ends, and its waker's functions. Measured on tokio 1.24 and 1.53,
 * release, fat LTO and dev (docs/block-on-research.md): enter_runtime is
 * generic from 1.53 on (context::runtime), one copy per caller; waker
 * clones start with `lock incq`, so they are probed past it. A worker
 * enters its runtime too, after worker::run (the BPF side skips it).
 */
static const struct root_spec tokio_roots[] = {
	ROOT_ENTRY("tokio::runtime::context::enter_runtime", AIB_PROBE_ROOT_START, X86_KEEP_SP),
	ROOT_ENTRY("tokio::runtime::context::runtime::enter_runtime", AIB_PROBE_ROOT_START, X86_KEEP_SP),
	/* its guard's drop ends it (on unwind too); where the guard is
	 * inlined (1.53 fat), the return of 1.53's enter_runtime, which runs
	 * the loop (1.24's returns the guard) */
	ROOT_RETURN_SITES("tokio::runtime::context::runtime::enter_runtime", AIB_PROBE_ROOT_RETURNED),
	ROOT_ENTRY("<tokio::runtime::context::EnterRuntimeGuard as core::ops::drop::Drop>::drop", AIB_PROBE_ROOT_END, X86_KEEP_SP),
	ROOT_ENTRY("<tokio::runtime::context::runtime::EnterRuntimeGuard as core::ops::drop::Drop>::drop", AIB_PROBE_ROOT_END, X86_KEEP_SP),
	/* the park thread's loop (multi_thread's block_on, Handle::block_on):
	 * a poll after every park; its data is the waker's */
	ROOT_ENTRY_AND_RETURN("tokio::runtime::park::Inner::park", AIB_PROBE_ROOT_PARK, X86_KEEP_ARG0),
	/* current_thread polls the root only when woken; Context::park(&self,
	 * core, handle) gets the &Handle its waker points at (rdx), and runs
	 * callbacks and wakers: its calls' return sites, no uretprobe */
	ROOT_ENTRY("tokio::runtime::scheduler::current_thread::Context::park", AIB_PROBE_ROOT_PARK_WOKEN, 0),
	ROOT_ENTRY("tokio::runtime::scheduler::current_thread::Context::park_yield", AIB_PROBE_ROOT_PARK_WOKEN, 0),
	ROOT_RETURN_SITES("tokio::runtime::scheduler::current_thread::Context::park", AIB_PROBE_ROOT_UNPARKED),
	ROOT_RETURN_SITES("tokio::runtime::scheduler::current_thread::Context::park_yield", AIB_PROBE_ROOT_UNPARKED),
	ROOT_ENTRY("tokio::runtime::park::wake", AIB_PROBE_ROOT_WAKE, X86_KEEP_ARG0),
	ROOT_ENTRY("tokio::runtime::park::wake_by_ref", AIB_PROBE_ROOT_WAKE, X86_KEEP_ARG0),
	ROOT_ENTRY("tokio::util::wake::wake_arc_raw", AIB_PROBE_ROOT_WAKE, X86_KEEP_ARG0),
	ROOT_ENTRY("tokio::util::wake::wake_by_ref_arc_raw", AIB_PROBE_ROOT_WAKE, X86_KEEP_ARG0),
	ROOT_ENTRY("tokio::runtime::park::clone", AIB_PROBE_ROOT_AWAIT, X86_KEEP_ARG0),
	ROOT_ENTRY("tokio::util::wake::clone_arc_raw", AIB_PROBE_ROOT_AWAIT, X86_KEEP_ARG0),
};

/* tokio's block_on entries, whose root loop is CachedParkThread::block_on
 * called inside enter_runtime (1.24: after it returns a guard) */
static const char *const block_on_entries[] = {
	"tokio::runtime::runtime::Runtime::block_on",
	"tokio::runtime::runtime::Runtime::block_on_inner",
	"tokio::runtime::handle::Handle::block_on",
	"tokio::runtime::handle::Handle::block_on_inner",
	"tokio::runtime::scheduler::multi_thread::MultiThread::block_on",
};
#define PARK_BLOCK_ON "tokio::runtime::park::CachedParkThread::block_on"
#define MAX_BLOCK_ON_CALLS 64

struct block_on_calls {
	const struct elf_symbols *syms;
	struct probe_plan *plan;
	__u64 rets[MAX_BLOCK_ON_CALLS];
	int nrets, added, err;
};

/* Each call of the park loop made from this block_on entry: a root start
 * at the call (a `call rel32`, emulated). */
static int add_calls_in(const struct elf_symbol *sym, void *ctx)
{
	struct block_on_calls *c = ctx;

	for (int i = 0; i < c->nrets && i < MAX_BLOCK_ON_CALLS && !c->err; i++) {
		struct probe_site site = {.probe = AIB_PROBE_ROOT_START_INLINED,
					  .vaddr = c->rets[i] - 5, .what = PARK_BLOCK_ON " call"};
		__u8 op = 0;

		if (c->rets[i] <= sym->vaddr + 5 || c->rets[i] > sym->vaddr + sym->size ||
		    elf_symbols__read(c->syms, site.vaddr, &op, 1) || op != 0xe8 ||
		    elf_symbols__vaddr_to_offset(c->syms, site.vaddr, &site.offset))
			continue;
		c->err = probe_plan__add(c->plan, &site);
		c->added += !c->err;
	}
	return 0;
}

static int add_park_copy_calls(const struct elf_symbol *sym, void *ctx)
{
	struct block_on_calls *c = ctx;
	int n = x86_code__call_sites(c->syms, sym->vaddr, NULL, 0, c->rets + c->nrets,
				     MAX_BLOCK_ON_CALLS - c->nrets);

	if (n < 0)
		return n;
	c->nrets += n < MAX_BLOCK_ON_CALLS - c->nrets ? n : MAX_BLOCK_ON_CALLS - c->nrets;
	return 0;
}

/*
 * A block_on whose enter_runtime was inlined into it (tokio 1.53 release:
 * the multi-thread Runtime::block_on, whose root was missed without a
 * word) still calls the park loop, CachedParkThread::block_on, from its
 * own body: a root starts at that call, unless enter_runtime's probe
 * opened it (bpf/block_on.bpf.h). The sites added, or -errno.
 */
static int add_inlined_root_starts(const struct elf_symbols *syms, struct probe_plan *plan)
{
	struct block_on_calls c = {.syms = syms, .plan = plan};
	int n = elf_symbols__match(syms, PARK_BLOCK_ON, add_park_copy_calls, &c);

	for (size_t i = 0; n >= 0 && c.nrets && i < sizeof(block_on_entries) / sizeof(*block_on_entries); i++)
		n = elf_symbols__match(syms, block_on_entries[i], add_calls_in, &c);
	if (n < 0 || c.err)
		return n < 0 ? n : c.err;
	plan->root_sites += (__u32)c.added;
	return c.added;
}

/* What each kind of site found tells the plan. */
static void tokio_counted(struct probe_plan *plan, const struct site_spec *s, int n)
{
	if (s->probe == AIB_PROBE_BIND)
		plan->check_spawn_ids |= n > 0;
	else if (s->probe == AIB_PROBE_BLOCKING_TASK)
		plan->check_blocking_ids = n > 0;
	else if (s->probe >= AIB_PROBE_SPAWN && s->probe <= AIB_PROBE_SPAWN_LOCAL)
		plan->spawn_sites += (__u32)n;
	else if (n == 0)
		probe_plan__note_missing(plan, s->path);
}

#define TOKIO_POLL "tokio::runtime::task::raw::poll"
#define TOKIO_CLONE_WAKER "tokio::runtime::task::waker::clone_waker"
#define TOKIO_TRY_READ_OUTPUT "tokio::runtime::task::raw::try_read_output"
#define TOKIO_NEXT_ID "tokio::runtime::task::id::Id::next::NEXT_ID"
#define ACQUIRE_POLL "<tokio::sync::batch_semaphore::Acquire as core::future::future::Future>::poll"
#define ACQUIRE_DROP "<tokio::sync::batch_semaphore::Acquire as core::ops::drop::Drop>::drop"
#define SEM_RELEASE "tokio::sync::batch_semaphore::Semaphore::release"
#define SEM_ADD_PERMITS "tokio::sync::batch_semaphore::Semaphore::add_permits_locked"
#define LOCKS_MISSING "tokio locks"
#define MAX_LOCK_CALLS 1024
#define TOKIO_HARNESS "tokio::runtime::task::harness::"
#define MAX_PANIC_CALLS 4096

static int find_object(const struct elf_symbol *sym, void *arg)
{
	__u64 *vaddr = arg;

	if (sym->is_func || sym->size != 8 || *vaddr)
		return 0; /* keep the first */
	*vaddr = sym->vaddr;
	return 0;
}

static __u64 next_id_vaddr(const struct elf_symbols *syms)
{
	__u64 vaddr = 0;

	elf_symbols__match(syms, TOKIO_NEXT_ID, find_object, &vaddr);
	return vaddr;
}

#define MAX_ID_SITES 256

struct id_sites {
	struct x86_fetch_add *sites;
	int n;
};

/* A spawn function (probed: its call is seen) covers the sites in it. */
static int drop_covered(const struct elf_symbol *sym, void *arg)
{
	struct id_sites *ids = arg;

	for (int i = 0; i < ids->n; i++)
		if (ids->sites[i].after >= sym->vaddr && ids->sites[i].after < sym->vaddr + sym->size)
			ids->sites[i--] = ids->sites[--ids->n];
	return 0;
}

/* Where Id::next takes a task id (its fetch_add on NEXT_ID survives every
 * inlining), outside the spawn functions probed: the spawns whose call is
 * not seen, fat LTO's and those inlined into the program, are seen there,
 * with the exact id. */
static int add_id_taken_sites(const struct elf_symbols *syms, struct probe_plan *plan)
{
	struct x86_fetch_add sites[MAX_ID_SITES];
	struct id_sites ids = {sites, 0};
	__u64 slots[8];
	int nslots = elf_symbols__pointer_slots(syms, plan->next_id_vaddr, slots, 8);

	ids.n = x86_code__fetch_add_sites(syms, plan->next_id_vaddr, slots,
					  nslots < 0 ? 0 : nslots > 8 ? 8 : nslots, sites, MAX_ID_SITES);
	if (ids.n < 0)
		return ids.n;
	if (ids.n > MAX_ID_SITES)
		ids.n = MAX_ID_SITES;
	for (size_t i = 0; i < sizeof(tokio_sites) / sizeof(tokio_sites[0]); i++)
		if (tokio_sites[i].probe >= AIB_PROBE_SPAWN && tokio_sites[i].probe <= AIB_PROBE_SPAWN_LOCAL)
			elf_symbols__match(syms, tokio_sites[i].path, drop_covered, &ids);
	for (int i = 0; i < ids.n; i++) {
		/* the line tables place the xadd better than the instruction
		 * after it (often line 0): the stack is named from there */
		struct probe_site site = {.probe = AIB_PROBE_ID_TAKEN,
					  .arg = AIB_ID_TAKEN_ARG(sites[i].reg, sites[i].len),
					  .vaddr = sites[i].after, .what = "tokio Id::next (a spawn)"};
		int err;

		if (elf_symbols__vaddr_to_offset(syms, site.vaddr, &site.offset))
			continue;
		err = probe_plan__add(plan, &site);
		if (err)
			return err;
		plan->spawn_stack_sites++;
	}
	return 0;
}

/* ---- the batch semaphore's layout (locks.bpf.h), never assumed ----
 *
 * Acquire { node: Waiter, semaphore: &Semaphore, num_permits: u32 (1.24) or
 * usize (1.53), queued: bool } is not repr(C): rustc 1.95 put semaphore at
 * +0, num_permits at +0x30 and queued at +0x34 (1.24) or +0x38 (1.53).
 * Semaphore.permits (+0x20 in both) holds the free permits shifted by
 * PERMIT_SHIFT (1) over the CLOSED flag (bit 0). Read from the DWARF types
 * when the binary has them, else off the code of Acquire::poll (which
 * inlines Semaphore::poll_acquire in release builds) and Acquire::drop. */

#define SEM_POLL_ACQUIRE "tokio::sync::batch_semaphore::Semaphore::poll_acquire"
#define LAYOUT_VALUES 64

static bool disjoint(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	return a + alen <= b || b + blen <= a;
}

/* The fields one sees apart, the sizes the probes can read. */
static int layout_check(const struct lock_layout *l, char *why, size_t len)
{
	if ((l->acq_permits_size != 4 && l->acq_permits_size != 8) || !l->permit_shift ||
	    l->permit_shift > 8 || !disjoint(l->acq_sem, 8, l->acq_permits, l->acq_permits_size) ||
	    !disjoint(l->acq_sem, 8, l->acq_queued, 1) ||
	    !disjoint(l->acq_permits, l->acq_permits_size, l->acq_queued, 1)) {
		snprintf(why, len,
			 "Acquire's fields overlap or have odd sizes: semaphore +0x%x, num_permits "
			 "+0x%x (%u bytes), queued +0x%x, permit shift %u",
			 l->acq_sem, l->acq_permits, l->acq_permits_size, l->acq_queued,
			 l->permit_shift);
		return -ENOENT;
	}
	return 0;
}

/* The first value of v[0..n) loaded through v[from] that `ok` accepts, or -1. */
static int first_value(const struct x86_value *v, int n, int from,
		       bool (*ok)(const struct x86_value *v))
{
	for (int i = 1; i < n; i++)
		if (v[i].from == from && ok(&v[i]))
			return i;
	return -1;
}

static bool is_pointer(const struct x86_value *v)
{
	return v->size == 8 && v->pointer && !v->store;
}

/* tested against one flag (CLOSED) and no other bit */
static bool is_flag_word(const struct x86_value *v)
{
	return v->size == 8 && !v->store && v->mask && !(v->mask & (v->mask - 1));
}

static bool is_count(const struct x86_value *v)
{
	return (v->size == 4 || v->size == 8) && !v->pointer && !v->store && !v->compare;
}

static bool is_shifted_count(const struct x86_value *v)
{
	return is_count(v) && v->shift;
}

static bool is_flag_byte(const struct x86_value *v)
{
	return v->size == 1 && !v->store && (v->compare || v->mask);
}

/* PERMIT_SHIFT: where the code shifts a permit count, Acquire::poll with
 * Semaphore::poll_acquire inlined (pv: `needed << PERMIT_SHIFT`, `lea
 * (%r12,%r12,1)` in 1.24, `lea (,%rbp,2)` in 1.53), else poll_acquire's own
 * num_permits argument (dev builds: a spill, a reload, `shl %rax`). The
 * CLOSED flag the code tests, when known (else 0), lies below it. */
static int permit_shift(const struct elf_symbols *syms, const struct x86_value *pv, int pn,
			__u64 closed, __u8 *shift, char *why, size_t len)
{
	struct x86_value v[LAYOUT_VALUES];
	__u64 pa = probe_plan__function(syms, SEM_POLL_ACQUIRE);
	int i = first_value(pv, pn, 0, is_shifted_count);

	*shift = 0;
	if (i > 0)
		*shift = pv[i].shift;
	else if (pa && x86_code__arg_values(syms, pa, 2, v, LAYOUT_VALUES) > 0)
		*shift = v[0].shift;
	if (!*shift) {
		snprintf(why, len, "no permit count shifted in Acquire::poll or %s "
				   "(Semaphore::PERMIT_SHIFT)", SEM_POLL_ACQUIRE);
		return -ENOENT;
	}
	if (closed >> *shift) {
		snprintf(why, len, "the CLOSED flag (0x%llx) is no bit below the permits' shift "
				   "(%u)", (unsigned long long)closed, *shift);
		return -ENOENT;
	}
	return 0;
}

/* From the code: Acquire::poll reads the &Semaphore and tests the word
 * through it for CLOSED, reads num_permits and shifts it; drop first tests
 * `queued`, then locks the semaphore's waiter list through the same field. */
static int layout_code(const struct elf_symbols *syms, __u64 poll, __u64 drop,
		       struct lock_layout *l, char *why, size_t len)
{
	struct x86_value pv[LAYOUT_VALUES], dv[LAYOUT_VALUES];
	int pn = x86_code__arg_values(syms, poll, 0, pv, LAYOUT_VALUES);
	int dn = x86_code__arg_values(syms, drop, 0, dv, LAYOUT_VALUES);
	int sem = -1, word = -1, permits, queued, dsem;

	if (pn < 0 || dn < 0) {
		snprintf(why, len, "the code of Acquire::poll or drop cannot be read");
		return pn < 0 ? pn : dn;
	}
	for (int i = 1; i < pn && word < 0; i++)
		if (pv[i].from == 0 && is_pointer(&pv[i]) &&
		    (word = first_value(pv, pn, i, is_flag_word)) > 0)
			sem = i;
	if (word < 0) {
		snprintf(why, len, "Acquire::poll reads no pointer whose word it tests for one "
				   "flag (Acquire.semaphore, Semaphore.permits)");
		return -ENOENT;
	}
	permits = first_value(pv, pn, 0, is_count);
	queued = first_value(dv, dn, 0, is_flag_byte);
	dsem = first_value(dv, dn, 0, is_pointer);
	if (permits < 0 || queued < 0) {
		snprintf(why, len, "%s",
			 permits < 0 ? "Acquire::poll reads no count (Acquire.num_permits)"
				     : "Acquire::drop tests no flag byte (Acquire.queued)");
		return -ENOENT;
	}
	if (dsem < 0 || dv[dsem].disp != pv[sem].disp) {
		snprintf(why, len, "Acquire::drop does not go through Acquire.semaphore (+0x%llx)",
			 (unsigned long long)pv[sem].disp);
		return -ENOENT;
	}
	*l = (struct lock_layout){.acq_sem = (__u32)pv[sem].disp,
				  .acq_permits = (__u32)pv[permits].disp,
				  .acq_permits_size = pv[permits].size,
				  .acq_queued = (__u32)dv[queued].disp,
				  .sem_permits = (__u32)pv[word].disp};
	return permit_shift(syms, pv, pn, pv[word].mask, &l->permit_shift, why, len) ?:
		       layout_check(l, why, len);
}

/* A member of struct t: its offset and size. */
static bool member(Dwarf_Die *t, const char *name, __u32 *off, __u8 *size, Dwarf_Die *type)
{
	Dwarf_Die ty;
	__u64 o;
	int n;

	if (!die__child_member(t, name, &o, &ty) || o > 1 << 20)
		return false;
	/* rustc gives a pointer type no byte size: x86-64's */
	n = dwarf_tag(&ty) == DW_TAG_pointer_type ? 8 : dwarf_bytesize(&ty);
	if (n <= 0)
		return false;
	*off = (__u32)o;
	*size = (__u8)(n > 255 ? 255 : n);
	if (type)
		*type = ty;
	return true;
}

/* From the DWARF types: Acquire::poll's `self` is a Pin<&mut Acquire>, its
 * `pointer` points at the struct whose members say, and `semaphore` at the
 * Semaphore. PERMIT_SHIFT is a constant (no DWARF): from the code. */
static int layout_dwarf(const struct elf_symbols *syms, __u64 poll, struct lock_layout *l,
			char *why, size_t len)
{
	struct dwarf_types *ts = dwarf_types__new(elf_symbols__binary(syms));
	struct x86_value pv[LAYOUT_VALUES];
	Dwarf_Die func, self, pin, ptr, acquire, sem, semt;
	const char *missing = NULL;
	__u8 sem_size = 0, queued_size = 0, word_size = 0;
	__u64 off;
	int pn, err = errno;

	if (!ts) {
		snprintf(why, len, "no DWARF types (debug info none or line tables only)");
		return err == ENODATA ? -ENOENT : -err;
	}
	if (!dwarf_types__func_at(ts, poll, &func))
		missing = "no DWARF function at Acquire::poll";
	else if (!die__child_named(&func, DW_TAG_formal_parameter, "self", &self) ||
		 !die__type(&self, &pin) || !die__child_member(&pin, "pointer", &off, &ptr) ||
		 !die__type(&ptr, &acquire))
		missing = "Acquire::poll's self is no Pin<&mut Acquire>";
	else if (!member(&acquire, "semaphore", &l->acq_sem, &sem_size, &sem) || sem_size != 8)
		missing = "no pointer Acquire.semaphore";
	else if (!member(&acquire, "num_permits", &l->acq_permits, &l->acq_permits_size, NULL))
		missing = "no member Acquire.num_permits";
	else if (!member(&acquire, "queued", &l->acq_queued, &queued_size, NULL) ||
		 queued_size != 1)
		missing = "no bool Acquire.queued";
	else if (!die__type(&sem, &semt) ||
		 !member(&semt, "permits", &l->sem_permits, &word_size, NULL) || word_size != 8)
		missing = "no usize Semaphore.permits";
	dwarf_types__free(ts);
	if (missing) {
		snprintf(why, len, "%s", missing);
		return -ENOENT;
	}
	pn = x86_code__arg_values(syms, poll, 0, pv, LAYOUT_VALUES);
	return permit_shift(syms, pv, pn < 0 ? 0 : pn, 0, &l->permit_shift, why, len) ?:
		       layout_check(l, why, len);
}

static int lock_layout(const struct elf_symbols *syms, unsigned sources, struct lock_layout *out,
		       char *why, size_t len)
{
	__u64 poll = probe_plan__function(syms, ACQUIRE_POLL);
	__u64 drop = probe_plan__function(syms, ACQUIRE_DROP);
	char dwarf_why[160] = "", code_why[160] = "";
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	if (!poll || !drop) {
		snprintf(why, len, "no %s (inlined, or no tokio lock used)",
			 poll ? "Acquire::drop" : "Acquire::poll");
		return -ENOENT;
	}
	if (sources & LAYOUT_FROM_DWARF) {
		err = layout_dwarf(syms, poll, out, dwarf_why, sizeof(dwarf_why));
		if (err != -ENOENT)
			return err;
	}
	if (sources & LAYOUT_FROM_CODE) {
		err = layout_code(syms, poll, drop, out, code_why, sizeof(code_why));
		if (err != -ENOENT)
			return err;
	}
	memset(out, 0, sizeof(*out));
	snprintf(why, len, "Acquire layout not recognized: %s%s%s", dwarf_why,
		 *dwarf_why && *code_why ? "; " : "", code_why);
	return err;
}

/* Releases: add_permits_locked(sem, permits, guard), which every release
 * ends in, Semaphore::release(sem, permits) inlined or not (1.53 fat LTO
 * inlined release into some guard drops and called it from others: a
 * probe on release saw no guard released); release itself where
 * add_permits_locked is inlined into it. add_permits_locked's other
 * callers, a poll or a dropped Acquire giving back permits it was
 * assigned, hold no guard: the model counts them as untracked releases. */
static int add_release_sites(const struct elf_symbols *syms, struct probe_plan *plan)
{
	int n = probe_plan__add_matching_cheap(syms, plan, SEM_ADD_PERMITS, AIB_PROBE_LOCK_RELEASE,
					       X86_KEEP_ARG0 | X86_KEEP_ARG1);

	if (n == 0)
		n = probe_plan__add_matching_cheap(syms, plan, SEM_RELEASE, AIB_PROBE_LOCK_RELEASE,
						   X86_KEEP_ARG0 | X86_KEEP_ARG1);
	if (n == 0)
		probe_plan__note_missing(plan, SEM_RELEASE " (inlined: lock holders not seen)");
	return n < 0 ? n : 0;
}

/* tokio's locks (locks.bpf.h): Acquire::poll's entry and the return site
 * of each call of it, the releases, Acquire::drop. Optional: fat LTO may
 * inline Acquire::poll or drop (1.24), thin LTO Semaphore::release. */
static int add_lock_sites(const struct elf_symbols *syms, struct probe_plan *plan)
{
	__u64 poll = probe_plan__function(syms, ACQUIRE_POLL);
	char why[400];
	int n, err = lock_layout(syms, LAYOUT_FROM_ANY, &plan->lock_layout, why, sizeof(why));

	if (err == -ENOENT) {
		char note[sizeof(why) + 32];

		snprintf(note, sizeof(note), LOCKS_MISSING " (%s)", why);
		probe_plan__note_missing(plan, note);
		return 0;
	}
	if (err)
		return err;
	/* the result is in al, the call's return told by sp */
	n = probe_plan__add_return_sites(syms, plan, poll, AIB_PROBE_LOCK_POLLED, X86_KEEP_RET,
					 "a return site of Acquire::poll", MAX_LOCK_CALLS);
	if (n < 0)
		return n;
	plan->lock_sites = (__u32)n;
	if (!plan->lock_sites) {
		probe_plan__note_missing(plan, LOCKS_MISSING " (no calls of Acquire::poll found)");
		return 0;
	}
	n = probe_plan__add_matching_cheap(syms, plan, ACQUIRE_POLL, AIB_PROBE_LOCK_POLL,
					   X86_KEEP_ARG0);
	n = n < 0 ? n : probe_plan__add_matching_cheap(syms, plan, ACQUIRE_DROP, AIB_PROBE_LOCK_DROP,
						      X86_KEEP_ARG0);
	return n < 0 ? n : add_release_sites(syms, plan);
}

/* tokio's harness polls a task's future inside catch_unwind (poll_future,
 * inlined into Harness::poll or poll_inner) and turns a panic into the
 * task's JoinError: the catch's landing pad calls std's cleanup
 * (std::panicking::catch_unwind::cleanup, std::panicking::try::cleanup in
 * older std, or __rust_panic_cleanup straight). Where such a call returns
 * in a harness poll function, the task polled on that thread panicked
 * (tokio_panic_caught). A plain probe, at the first emulated instruction
 * after the call: no uretprobe, no frame a panic unwinds through. */
#define MAX_CATCH_FNS 8
static const char *const catch_cleanups[] = {
	"std::panicking::catch_unwind::cleanup",
	"std::panicking::try::cleanup",
};

struct harness_fns {
	__u64 lo[256], hi[256];
	int n;
	__u64 cleanup[MAX_CATCH_FNS];
	int ncleanup;
};

static int harness_poll_fn(const struct elf_symbol *sym, void *arg)
{
	struct harness_fns *h = arg;
	const char *last = strrchr(sym->path, ':');

	/* Harness<T,S>::poll, poll_inner, poll_future: not shutdown, whose
	 * cancel_task runs outside any poll of the task */
	if (!sym->is_func || !last || strncmp(last + 1, "poll", 4) || h->n >= 256)
		return 0;
	h->lo[h->n] = sym->vaddr;
	h->hi[h->n++] = sym->vaddr + sym->size;
	return 0;
}

static int cleanup_fn(const struct elf_symbol *sym, void *arg)
{
	struct harness_fns *h = arg;

	if (sym->is_func && h->ncleanup < MAX_CATCH_FNS)
		h->cleanup[h->ncleanup++] = sym->vaddr;
	return 0;
}

static bool in_harness(const struct harness_fns *h, __u64 vaddr)
{
	for (int k = 0; k < h->n; k++)
		if (vaddr >= h->lo[k] && vaddr < h->hi[k])
			return true;
	return false;
}

/* A site where each call of `target` returns in a harness poll function;
 * rets[0..*nseen) holds the return addresses found already (the calls of
 * the cleanup functions before), this one's go after them. */
static int add_catch_returns(const struct elf_symbols *syms, struct probe_plan *plan,
			     const struct harness_fns *h, __u64 target, __u64 *rets, int *nseen)
{
	__u64 slots[8];
	int nslots = elf_symbols__pointer_slots(syms, target, slots, 8), n, added = 0, err = 0;
	int first = *nseen;

	n = nslots < 0 ? nslots
		       : x86_code__call_sites(syms, target, slots, nslots < 8 ? nslots : 8,
					      rets + first, MAX_PANIC_CALLS - first);
	for (int i = first; i < first + n && i < MAX_PANIC_CALLS && !err; i++) {
		struct probe_site site = {.probe = AIB_PROBE_TOKIO_PANIC, .origin = rets[i],
					  .what = "a panic caught by tokio's harness"};
		bool dup = false;

		if (!in_harness(h, rets[i]))
			continue;
		for (int k = 0; k < i && !dup; k++)
			dup = rets[k] == rets[i]; /* aliased symbols: one function */
		if (dup ||
		    x86_code__cheap_probe_point(syms, rets[i], &site.vaddr) ||
		    elf_symbols__vaddr_to_offset(syms, site.vaddr, &site.offset))
			continue;
		err = probe_plan__add(plan, &site);
		added += !err;
	}
	if (n > 0)
		*nseen = first + n < MAX_PANIC_CALLS ? first + n : MAX_PANIC_CALLS;
	return err ? err : n < 0 ? n : added;
}

static int add_panic_sites(const struct elf_symbols *syms, struct probe_plan *plan)
{
	struct harness_fns *h = calloc(1, sizeof(*h));
	__u64 *rets = calloc(MAX_PANIC_CALLS, sizeof(*rets));
	int nseen = 0, added = 0, n = 0;

	if (!h || !rets) {
		added = -ENOMEM;
		goto out;
	}
	elf_symbols__match(syms, TOKIO_HARNESS "*", harness_poll_fn, h);
	if (!h->n)
		goto out;
	for (size_t i = 0; i < sizeof(catch_cleanups) / sizeof(catch_cleanups[0]); i++)
		elf_symbols__match(syms, catch_cleanups[i], cleanup_fn, h);
	if (h->ncleanup < MAX_CATCH_FNS)
		h->cleanup[h->ncleanup] = probe_plan__panic_cleanup(syms);
	h->ncleanup += h->ncleanup < MAX_CATCH_FNS && h->cleanup[h->ncleanup];
	for (int i = 0; i < h->ncleanup && n >= 0 && nseen < MAX_PANIC_CALLS; i++) {
		n = add_catch_returns(syms, plan, h, h->cleanup[i], rets, &nseen);
		added = n < 0 ? n : added + n;
	}
out:
	free(h);
	free(rets);
	return added;
}

/* What a lock acquire is for, from a function on the path to the
 * Acquire::poll call ("tokio::sync::rwlock::RwLock<T>::write::{{closure}}"
 * is a RwLock write). */
static enum aib_lock_kind lock_kind(const char *function)
{
	static const struct {
		const char *module;
		enum aib_lock_kind kind;
	} rules[] = {
		{"tokio::sync::mutex::", AIB_LOCK_KIND_MUTEX},
		{"tokio::sync::rwlock::", AIB_LOCK_KIND_RWLOCK_READ},
		{"tokio::sync::semaphore::", AIB_LOCK_KIND_SEMAPHORE},
		{"tokio::sync::mpsc::", AIB_LOCK_KIND_CHANNEL},
	};
	const char *path = function && *function == '<' ? function + 1 : function;

	for (size_t i = 0; path && i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strncmp(path, rules[i].module, strlen(rules[i].module)))
			continue;
		if (rules[i].kind == AIB_LOCK_KIND_RWLOCK_READ && strstr(path, "write"))
			return AIB_LOCK_KIND_RWLOCK_WRITE; /* write, write_owned, blocking_write */
		return rules[i].kind;
	}
	return AIB_LOCK_KIND_UNKNOWN;
}

static int add_probes(const struct elf_symbols *syms, struct probe_plan *plan, unsigned captures,
		      char *why, size_t why_len)
{
	size_t first = plan->nsites;
	int n, err;

	if (!elf_symbols__has_symtab(syms) && !probe_plan__function(syms, TOKIO_POLL)) {
		err = tokio_stripped__add_probes(syms, plan, why, why_len);
		if (err) {
			plan->nsites = first;
			return err;
		}
		if (captures & PROBE_CAPTURE_LOCKS)
			probe_plan__note_missing(plan, "tokio locks (no symbols)");
		plan->blocking = captures & PROBE_CAPTURE_BLOCKING;
		plan->runtimes |= AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO);
		return 0;
	}
	n = probe_plan__add_matching(syms, plan, TOKIO_POLL, AIB_PROBE_POLL, false, true);
	if (n > 0)
		n = probe_plan__add_matching(syms, plan, TOKIO_POLL, AIB_PROBE_POLL, true, true);
	if (n <= 0) {
		snprintf(why, why_len, "no tokio runtime (looked for %s, %s and %s)", TOKIO_POLL,
			 tokio_sites[0].path, tokio_sites[1].path);
		plan->nsites = first;
		return n < 0 ? n : -ENOENT;
	}
	plan->poll_sites += (__u32)n;

	err = probe_plan__add_specs(syms, plan, tokio_sites,
				    sizeof(tokio_sites) / sizeof(tokio_sites[0]),
				    "no tokio runtime (%s not found: tokio version not supported?)",
				    tokio_counted, why, why_len);
	if (err)
		goto fail;

	/* await sites: the stack where a leaf future clones the waker */
	n = probe_plan__add_matching_cheap(syms, plan, TOKIO_CLONE_WAKER, AIB_PROBE_AWAIT,
					   X86_KEEP_ARG0);
	if (n < 0) {
		err = n;
		goto fail;
	}
	plan->await_sites += (__u32)n;
	if (n == 0)
		probe_plan__note_missing(plan, TOKIO_CLONE_WAKER " (no await sites)");
	n = probe_plan__add_matching_cheap(syms, plan, TOKIO_TRY_READ_OUTPUT, AIB_PROBE_JOIN,
					   X86_KEEP_ARG0);
	if (n < 0) {
		err = n;
		goto fail;
	}
	if (n == 0)
		probe_plan__note_missing(plan, TOKIO_TRY_READ_OUTPUT " (joins not seen)");
	n = add_panic_sites(syms, plan);
	if (n < 0) {
		err = n;
		goto fail;
	}
	if (n == 0)
		probe_plan__note_missing(plan, "tokio's panic catch (task panics not seen)");
	n = probe_plan__add_roots(syms, plan, tokio_roots, sizeof(tokio_roots) / sizeof(tokio_roots[0]));
	if (n < 0) {
		err = n;
		goto fail;
	}
	n = add_inlined_root_starts(syms, plan);
	if (n < 0) {
		err = n;
		goto fail;
	}
	if (!n && !probe_plan__function(syms, tokio_roots[0].path) &&
	    !probe_plan__function(syms, tokio_roots[1].path))
		probe_plan__note_missing(plan, "enter_runtime (inlined: no block_on roots)");

	if (captures & PROBE_CAPTURE_LOCKS) {
		err = add_lock_sites(syms, plan);
		if (err)
			goto fail;
	}
	plan->blocking = captures & PROBE_CAPTURE_BLOCKING;

	plan->runtimes |= AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO);
	probe_plan__describe(plan, tokio_runtime.name);
	plan->next_id_vaddr = next_id_vaddr(syms);
	if (!plan->next_id_vaddr) /* nothing predicted, nothing to check */
		plan->check_spawn_ids = plan->check_blocking_ids = false;
	probe_plan__set_location_ranges(plan, syms);
	if (plan->next_id_vaddr) {
		err = add_id_taken_sites(syms, plan);
		if (err)
			goto fail;
	}
	if (!plan->spawn_sites && !plan->spawn_stack_sites)
		probe_plan__note_missing(plan, "tokio::spawn (inlined: no spawn locations)");
	else if (!plan->next_id_vaddr)
		probe_plan__note_missing(plan, TOKIO_NEXT_ID " (spawn calls cannot be matched to tasks)");
	return 0;
fail:
	plan->nsites = first;
	return err;
}

/* ---- tasks in memory ---- */

static void layout(const struct elf_symbols *syms, struct runtime_layout *out)
{
	*out = (struct runtime_layout){.vtable_off = TOKIO_HDR_VTABLE, .state_off = TOKIO_HDR_STATE,
				       .poll_slot = TOKIO_VT_POLL};
}

/* The functions, then the offsets: Core is repr(C) { scheduler, task_id,
 * stage } after the header (more with tokio_unstable), the trailer after
 * the future. */
static bool vtable_ok(const __u64 *w, __u64 text_lo, __u64 text_hi, __u32 *id_offset)
{
	__u64 trailer = w[TOKIO_VT_TRAILER_OFFSET / 8], sched = w[TOKIO_VT_SCHEDULER_OFFSET / 8];
	__u64 id = w[TOKIO_VT_ID_OFFSET / 8];

	for (int f = 1; f < TOKIO_VT_FUNCS; f++)
		if (w[f] < text_lo || w[f] >= text_hi)
			return false;
	if (sched < TOKIO_HDR_SIZE || id < sched || id % 8 || id >= 4096 || trailer <= id ||
	    trailer >= (1ULL << 32))
		return false;
	*id_offset = (__u32)id;
	return true;
}

static enum runtime_header check_header(const __u64 w[RUNTIME_HEADER_WORDS], __u64 state)
{
	__u64 refs = state >> TOKIO_REF_SHIFT, next = w[TOKIO_HDR_QUEUE_NEXT / 8];

	/* RUNNING|COMPLETE together is no lifecycle state */
	if (refs == 0 || refs > RUNTIME_REFS_MAX ||
	    (state & (TOKIO_STATE_RUNNING | TOKIO_STATE_COMPLETE)) ==
		    (TOKIO_STATE_RUNNING | TOKIO_STATE_COMPLETE))
		return RUNTIME_HEADER_BAD_STATE;
	/* queue_next: none or another header; owner ids count up from 1 */
	if ((next && (next % 8 || next >= RUNTIME_USER_ADDR_END)) ||
	    w[TOKIO_HDR_OWNER_ID / 8] >= (1ULL << 32))
		return RUNTIME_HEADER_BAD_FIELDS;
	return RUNTIME_HEADER_LIVE;
}

/* The block_on paths, outermost first (the loop itself is inlined in
 * release builds, the entry points are not all); 1.53 moved
 * current_thread into a folder. */
static const struct root_loop tokio_root_loops[] = {
	{"tokio::runtime::runtime::Runtime::block_on", "src/runtime/runtime.rs"},
	{"tokio::runtime::handle::Handle::block_on", "src/runtime/handle.rs"},
	{"tokio::task::local::LocalSet::block_on", "src/task/local.rs"},
	{"tokio::runtime::scheduler::current_thread::CurrentThread::block_on",
	 "src/runtime/scheduler/current_thread.rs"},
	{"tokio::runtime::scheduler::current_thread::CurrentThread::block_on",
	 "src/runtime/scheduler/current_thread/mod.rs"},
	{"tokio::runtime::scheduler::multi_thread::MultiThread::block_on",
	 "src/runtime/scheduler/multi_thread/mod.rs"},
	{"tokio::runtime::park::CachedParkThread::block_on", "src/runtime/park.rs"},
	{NULL, NULL},
};

/* Where worker::run is inlined (fat LTO), a worker's loop is told by its
 * stack: its entering the runtime is no root, and the spawn_blocking that
 * starts it (Launch::launch) spawns no program task. */
static const struct root_loop tokio_own_loops[] = {
	{"tokio::runtime::scheduler::multi_thread::worker::run",
	 "src/runtime/scheduler/multi_thread/worker.rs"},
	{NULL, NULL},
};

static const struct root_loop tokio_own_spawns[] = {
	{"tokio::runtime::scheduler::multi_thread::worker::Launch::launch",
	 "src/runtime/scheduler/multi_thread/worker.rs"},
	{NULL, NULL},
};

static const struct spawn_kind tokio_spawn_kinds[] = {
	{{"tokio::runtime::blocking::pool::spawn_blocking", "src/runtime/blocking/pool.rs"},
	 AIB_SPAWN_BLOCKING},
	{{"tokio::runtime::blocking::pool::Spawner::spawn_blocking", "src/runtime/blocking/pool.rs"},
	 AIB_SPAWN_BLOCKING},
	{{"tokio::task::blocking::spawn_blocking", "src/task/blocking.rs"}, AIB_SPAWN_BLOCKING},
	{{"tokio::task::local::spawn_local", "src/task/local.rs"}, AIB_SPAWN_LOCAL},
	{{"tokio::task::local::LocalSet::spawn_local", "src/task/local.rs"}, AIB_SPAWN_LOCAL},
	{{NULL, NULL}, 0},
};

const struct runtime_ops tokio_runtime = {
	.id = AIB_RUNTIME_TOKIO,
	.name = "tokio",
	.add_probes = add_probes,
	.state_done = TOKIO_STATE_COMPLETE,
	.state_running = TOKIO_STATE_RUNNING,
	.state_scheduled = TOKIO_STATE_NOTIFIED,
	.worker_carriers = true,
	.poll_fn = TOKIO_POLL,
	.polls_by_structure = tokio_stripped__polls,
	.vtable_words = TOKIO_VT_WORDS,
	.layout = layout,
	.vtable_ok = vtable_ok,
	.check_header = check_header,
	.next_id_vaddr = next_id_vaddr,
	.lock_kind = lock_kind,
	.lock_layout = lock_layout,
	.root_loops = tokio_root_loops,
	.own_loops = tokio_own_loops,
	.own_spawns = tokio_own_spawns,
	.spawn_kinds = tokio_spawn_kinds,
};
