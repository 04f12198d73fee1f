// SPDX-License-Identifier: MIT
/*
 * Live tasks from the target's memory. Every 8-aligned word of the heap is
 * compared with the vtable addresses: a range check first (the vtables sit
 * together in .data.rel.ro, few heap words fall between them), then a
 * binary search. Hits are rare, so each reads its header again through the
 * callback rather than juggling words across chunk boundaries.
 */
#include "inspect/task_scan.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "binary/elf_symbols.h"
#include "lib/u64_map.h"

#define TOKIO_POLL "tokio::runtime::task::raw::poll"
#define TOKIO_NEXT_ID "tokio::runtime::task::id::Id::next::NEXT_ID"
#define AT_RUN "async_task::raw::RawTask<F,T,S>::run"
#define AT_RUNNABLE_RUN "async_task::runnable::Runnable::run"

#define CHUNK (1u << 20)
#define PAGE 4096u

/* tokio's state word: flags below bit 6, the reference count above */
#define TK_RUNNING 0x1ULL
#define TK_COMPLETE 0x2ULL
#define TK_REF_SHIFT 6
#define TK_VTABLE_OFF 16
#define TK_VTABLE_FUNCS 7 /* poll .. shutdown, then three offsets */
#define TK_VTABLE_WORDS 10

/* async-task's: flags below bit 8 */
#define AT_SCHEDULED 0x1ULL
#define AT_RUNNING 0x2ULL
#define AT_COMPLETED 0x4ULL
#define AT_TASK 0x10ULL
#define AT_REF_SHIFT 8
#define AT_VTABLE_FUNCS 7 /* schedule .. clone_waker (4.3 adds layout_info) */
#define AT_RUN_SLOT 5	  /* TaskVTable::run, where Runnable::run jumps through */

/* A live task has at least one reference (one per waker clone too), never
 * a million: a freed chunk's first word is a free-list pointer, mangled
 * (glibc >= 2.32: (chunk >> 12) ^ next) or not, far above this unless it is
 * a mangled NULL in a brk heap below 4 GiB (non-PIE): then the tcache key
 * where queue_next was gives it away. */
#define REF_MAX (1ULL << 20)
#define USER_ADDR_END (1ULL << 47)

struct task_scan {
	struct task_vtable *vt; /* sorted by addr before a scan */
	size_t n, cap;
	bool sorted;
	__u64 next_id_addr;
};

struct task_scan *task_scan__new(void)
{
	return calloc(1, sizeof(struct task_scan));
}

void task_scan__free(struct task_scan *ts)
{
	if (!ts)
		return;
	free(ts->vt);
	free(ts);
}

size_t task_scan__vtable_count(const struct task_scan *ts)
{
	return ts ? ts->n : 0;
}

void task_scan__set_next_id_addr(struct task_scan *ts, __u64 addr)
{
	if (ts)
		ts->next_id_addr = addr;
}

int task_scan__add_vtable(struct task_scan *ts, const struct task_vtable *vt)
{
	if (!ts || !vt || !vt->addr || vt->vtable_off % 8 || vt->state_off % 8)
		return -EINVAL;
	for (size_t i = 0; i < ts->n; i++)
		if (ts->vt[i].addr == vt->addr)
			return -EEXIST;
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 32;
		struct task_vtable *p = realloc(ts->vt, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ts->vt = p;
		ts->cap = cap;
	}
	ts->vt[ts->n++] = *vt;
	ts->sorted = false;
	return 0;
}

/* ---- finding the vtables ---- */

struct elf_view {
	const struct elf_symbols *syms;
	__u64 bias;
	__u64 text_lo, text_hi; /* runtime */
	__u64 at_vt_off, at_run_off; /* async-task: header's vtable field, run slot */
	task_scan_read_fn read;
	void *ctx;
};

struct funcs {
	__u64 *vaddr;
	size_t n, cap;
};

static int collect_func(const struct elf_symbol *sym, void *arg)
{
	struct funcs *f = arg;

	if (!sym->is_func)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		__u64 *p = realloc(f->vaddr, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->vaddr = p;
		f->cap = cap;
	}
	f->vaddr[f->n++] = sym->vaddr;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static bool in_text(const struct elf_view *v, __u64 addr)
{
	return addr >= v->text_lo && addr < v->text_hi;
}

static int add_found(struct task_scan *ts, const struct task_vtable *vt)
{
	int err = task_scan__add_vtable(ts, vt);

	return err == -EEXIST ? 0 : err ? err : 1;
}

/* Checks a pointer to a function of fns at ELF vaddr `slot`: 1 if it is in
 * a vtable, now added; 0 if not; -errno. */
typedef int (*slot_check_fn)(struct task_scan *ts, const struct elf_view *v, __u64 fn,
			     __u64 slot);

/* Calls check for each pointer to one of fns in the target's vtable
 * sections, read after relocation: .data.rel.ro (a PIE's file holds zeros
 * there, the loader writes the pointers), and .rodata in a non-PIE file.
 * One pass over the sections, whatever the number of functions (asking the
 * relocations function by function costs functions x relocations). Returns
 * the number of vtables added, or -errno. */
static int for_each_slot(struct task_scan *ts, const struct elf_view *v, struct funcs *fns,
			 slot_check_fn check)
{
	static const char *const secs[] = {".data.rel.ro", ".rodata"};
	size_t nsecs = elf_symbols__is_pie(v->syms) ? 1 : 2;
	__u64 *buf, lo, span;
	int added = 0;

	if (!fns->n)
		return 0;
	qsort(fns->vaddr, fns->n, sizeof(*fns->vaddr), cmp_u64);
	lo = fns->vaddr[0] + v->bias;
	span = fns->vaddr[fns->n - 1] - fns->vaddr[0];
	buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	for (size_t s = 0; s < nsecs; s++) {
		__u64 start, end;

		if (elf_symbols__section_bounds(v->syms, secs[s], &start, &end))
			continue;
		for (__u64 a = (start + 7) & ~7ULL; a + 8 <= end;) {
			size_t len = (size_t)((end - a < CHUNK ? end - a : CHUNK) & ~7ULL);

			if (!v->read(a + v->bias, buf, len, v->ctx)) {
				for (size_t i = 0; i < len / 8; i++) {
					__u64 fn = buf[i] - v->bias;
					int r;

					if (buf[i] - lo > span ||
					    !bsearch(&fn, fns->vaddr, fns->n, sizeof(fn), cmp_u64))
						continue;
					r = check(ts, v, fn, a + i * 8);
					if (r < 0) {
						free(buf);
						return r;
					}
					added += r;
				}
			}
			a += len;
		}
	}
	free(buf);
	return added;
}

/* tokio: a vtable is { poll, schedule, dealloc, try_read_output,
 * drop_join_handle_slow, drop_abort_handle, shutdown, trailer_offset,
 * scheduler_offset, id_offset }, poll first. */
static int tokio_check(struct task_scan *ts, const struct elf_view *v, __u64 fn, __u64 slot)
{
	struct task_vtable vt = {.addr = slot + v->bias, .poll_fn = fn, .vtable_off = TK_VTABLE_OFF,
				 .state_off = 0, .runtime = AIB_RUNTIME_TOKIO};
	__u64 w[TK_VTABLE_WORDS], trailer, sched, id;

	if (v->read(vt.addr, w, sizeof(w), v->ctx))
		return 0;
	for (int f = 1; f < TK_VTABLE_FUNCS; f++)
		if (!in_text(v, w[f]))
			return 0;
	trailer = w[7];
	sched = w[8];
	id = w[9];
	/* Core is repr(C) { scheduler, task_id, stage } after the 32-byte
	 * header (more with tokio_unstable), the trailer after the future */
	if (sched < 32 || id < sched || id % 8 || id >= 4096 || trailer <= id ||
	    trailer >= (1ULL << 32))
		return 0;
	vt.id_offset = (__u32)id;
	return add_found(ts, &vt);
}

/* async-task 4.x: TaskVTable { schedule, drop_future, get_output, drop_ref,
 * destroy, run, clone_waker[, layout_info] }, every function checked. */
static int async_task_check(struct task_scan *ts, const struct elf_view *v, __u64 fn, __u64 slot)
{
	struct task_vtable vt = {.addr = slot - v->at_run_off + v->bias, .poll_fn = fn,
				 .vtable_off = (__u8)v->at_vt_off, .state_off = v->at_vt_off ? 0 : 8,
				 .runtime = AIB_RUNTIME_ASYNC_TASK};
	__u64 w[AT_VTABLE_FUNCS];

	if (v->read(vt.addr, w, sizeof(w), v->ctx))
		return 0;
	for (int f = 0; f < AT_VTABLE_FUNCS; f++)
		if (!in_text(v, w[f]))
			return 0;
	return add_found(ts, &vt);
}

static __u64 disp(const __u8 *c, int mod)
{
	__u32 d32;

	if (mod == 0)
		return 0;
	if (mod == 1)
		return c[0];
	memcpy(&d32, c, 4);
	return d32;
}

/* Runnable::run is `mov vt_off(%rdi), %reg; jmp *run_off(%reg)` (or a call,
 * in a frame-pointer build): the header's vtable field and the vtable's run
 * slot, read off the machine code. false when the code is anything else. */
static bool at_layout_from_code(const struct elf_symbols *syms, __u64 *vt_off, __u64 *run_off)
{
	struct funcs f = {0};
	__u64 run = 0;
	__u8 c[32];
	size_t i = 0;
	int reg, mod;

	elf_symbols__match(syms, AT_RUNNABLE_RUN, collect_func, &f);
	if (f.n)
		run = f.vaddr[0];
	free(f.vaddr);
	if (!run || elf_symbols__read(syms, run, c, sizeof(c)))
		return false;
	if (c[i] == 0x55) /* push %rbp; mov %rsp, %rbp */
		i += c[i + 1] == 0x48 && c[i + 2] == 0x89 && c[i + 3] == 0xe5 ? 4 : 1;
	/* REX.W 8b /r with rm = rdi: mov disp(%rdi), r64 */
	mod = c[i + 2] >> 6;
	reg = (c[i + 2] >> 3) & 7;
	if (c[i] != 0x48 || c[i + 1] != 0x8b || (c[i + 2] & 7) != 7 || mod == 3)
		return false;
	*vt_off = disp(&c[i + 3], mod);
	i += 3 + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
	if (c[i] == 0x5d) /* pop %rbp */
		i++;
	/* ff /4 (jmp) or ff /2 (call) through disp(%reg); rsp, rbp encode
	 * differently */
	mod = c[i + 1] >> 6;
	if (c[i] != 0xff || (c[i + 1] & 7) != reg || reg == 4 || reg == 5 || mod == 3 ||
	    (((c[i + 1] >> 3) & 7) != 4 && ((c[i + 1] >> 3) & 7) != 2))
		return false;
	*run_off = disp(&c[i + 2], mod);
	return *vt_off <= 24 && *vt_off % 8 == 0 && *run_off % 8 == 0 &&
	       *run_off < AT_VTABLE_FUNCS * 8;
}

static int find_next_id(const struct elf_symbol *sym, void *arg)
{
	__u64 *vaddr = arg;

	if (!sym->is_func && sym->size == 8 && !*vaddr)
		*vaddr = sym->vaddr;
	return 0;
}

int task_scan__find_vtables(struct task_scan *ts, const struct elf_symbols *syms, __u64 bias,
			    task_scan_read_fn read, void *ctx)
{
	struct elf_view v = {.syms = syms, .bias = bias, .read = read, .ctx = ctx,
			     .at_vt_off = 0, .at_run_off = AT_RUN_SLOT * 8};
	struct funcs polls = {0}, runs = {0};
	__u64 next_id = 0;
	int tk, at;

	if (!ts || !syms || !read)
		return -EINVAL;
	if (elf_symbols__section_bounds(syms, ".text", &v.text_lo, &v.text_hi))
		return 0;
	v.text_lo += bias;
	v.text_hi += bias;

	tk = elf_symbols__match(syms, TOKIO_POLL, collect_func, &polls);
	if (tk >= 0)
		tk = for_each_slot(ts, &v, &polls, tokio_check);
	free(polls.vaddr);
	if (tk < 0)
		return tk;

	at = elf_symbols__match(syms, AT_RUN, collect_func, &runs);
	if (at > 0 && !at_layout_from_code(syms, &v.at_vt_off, &v.at_run_off)) {
		v.at_vt_off = 0; /* as async-task 4.3 builds today */
		v.at_run_off = AT_RUN_SLOT * 8;
	}
	if (at >= 0)
		at = for_each_slot(ts, &v, &runs, async_task_check);
	free(runs.vaddr);
	if (at < 0)
		return at;

	elf_symbols__match(syms, TOKIO_NEXT_ID, find_next_id, &next_id);
	if (tk > 0 && next_id)
		ts->next_id_addr = next_id + bias;
	return tk + at;
}

/* ---- the scan ---- */

struct scan {
	struct task_scan *ts;
	task_scan_read_fn read;
	void *ctx;
	struct found_task *out;
	size_t max, nout;
	struct task_scan_stats *st;
	struct u64_map *ids; /* tokio ids seen */
	__u64 lo, hi;	     /* vtable address range */
	bool full;
};

static int cmp_vt(const void *a, const void *b)
{
	const struct task_vtable *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const struct task_vtable *lookup(const struct task_scan *ts, __u64 addr)
{
	size_t lo = 0, hi = ts->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ts->vt[mid].addr == addr)
			return &ts->vt[mid];
		if (ts->vt[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* NEXT_ID is read again when an id is not below it: the task may have been
 * spawned since the last read. */
static bool id_issued(struct scan *sc, __u64 id)
{
	__u64 next;

	if (!id || id >= USER_ADDR_END)
		return false;
	if (!sc->ts->next_id_addr || id < sc->st->next_id)
		return true;
	if (sc->read(sc->ts->next_id_addr, &next, sizeof(next), sc->ctx))
		return true; /* unreadable: no bound */
	sc->st->next_id = next;
	return id < next;
}

/* tokio: is the header at h a live task? */
static bool tokio_live(struct scan *sc, const struct task_vtable *vt, __u64 h, struct found_task *t)
{
	__u64 w[4], id;

	/* state, queue_next, vtable, owner_id */
	if (sc->read(h, w, sizeof(w), sc->ctx) || w[2] != vt->addr) {
		sc->st->rejected_header++;
		return false;
	}
	/* RUNNING|COMPLETE together is no lifecycle state */
	if (w[0] >> TK_REF_SHIFT == 0 || w[0] >> TK_REF_SHIFT > REF_MAX ||
	    (w[0] & (TK_RUNNING | TK_COMPLETE)) == (TK_RUNNING | TK_COMPLETE)) {
		sc->st->rejected_state++;
		return false;
	}
	/* queue_next: none or another header; owner ids count up from 1 */
	if ((w[1] && (w[1] % 8 || w[1] >= USER_ADDR_END)) || w[3] >= (1ULL << 32)) {
		sc->st->rejected_header++;
		return false;
	}
	if (sc->read(h + vt->id_offset, &id, sizeof(id), sc->ctx) || !id_issued(sc, id)) {
		sc->st->rejected_id++;
		return false;
	}
	t->state = w[0];
	t->id = id;
	return true;
}

static bool async_task_live(struct scan *sc, const struct task_vtable *vt, __u64 h,
			    struct found_task *t)
{
	__u64 w[4], state, refs; /* the 32-byte header: vtable, state, awaiter */

	if (sc->read(h, w, sizeof(w), sc->ctx) || w[vt->vtable_off / 8] != vt->addr) {
		sc->st->rejected_header++;
		return false;
	}
	state = w[vt->state_off / 8];
	refs = state >> AT_REF_SHIFT;
	/* destroyed once no reference and no Task handle is left; a completed
	 * task is never scheduled or running again */
	if (refs > REF_MAX || (!refs && !(state & AT_TASK)) ||
	    ((state & AT_COMPLETED) && (state & (AT_SCHEDULED | AT_RUNNING)))) {
		sc->st->rejected_state++;
		return false;
	}
	t->state = state;
	t->id = 0;
	return true;
}

/* A word equal to vt's address at `at`: store the task if it is one. */
static int candidate(struct scan *sc, const struct task_vtable *vt, __u64 at)
{
	struct found_task t = {.vtable = vt->addr, .poll_fn = vt->poll_fn,
			       .runtime = (enum aib_runtime)vt->runtime};
	bool live;
	__u32 dummy;

	sc->st->candidates++;
	if (at < vt->vtable_off) {
		sc->st->rejected_header++;
		sc->st->rejected++;
		return 0;
	}
	t.header = at - vt->vtable_off;
	live = vt->runtime == AIB_RUNTIME_TOKIO ? tokio_live(sc, vt, t.header, &t)
						 : async_task_live(sc, vt, t.header, &t);
	if (!live) {
		sc->st->rejected++;
		return 0;
	}
	if (t.id && u64_map__get(sc->ids, t.id, &dummy)) {
		sc->st->duplicates++;
		sc->st->rejected++;
		return 0;
	}
	if (sc->nout == sc->max) {
		sc->st->tasks_truncated = true;
		sc->full = true;
		return 0;
	}
	if (t.id && u64_map__set(sc->ids, t.id, (__u32)sc->nout))
		return -ENOMEM;
	sc->out[sc->nout++] = t;
	return 0;
}

static int scan_words(struct scan *sc, const __u64 *w, size_t nw, __u64 addr)
{
	__u64 span = sc->hi - sc->lo;

	for (size_t i = 0; i < nw && !sc->full; i++) {
		const struct task_vtable *vt;
		int err;

		if (w[i] - sc->lo > span)
			continue;
		vt = lookup(sc->ts, w[i]);
		if (!vt)
			continue;
		err = candidate(sc, vt, addr + i * 8);
		if (err)
			return err;
	}
	return 0;
}

/* One chunk; if it cannot be read whole (a mapping went away or shrank since
 * the maps were read), page by page, skipping the holes. */
static int scan_chunk(struct scan *sc, __u64 *buf, __u64 addr, size_t len)
{
	int err = sc->read(addr, buf, len, sc->ctx);

	if (!err) {
		sc->st->bytes += len;
		return scan_words(sc, buf, len / 8, addr);
	}
	if (err != -EFAULT || len <= PAGE) {
		if (err != -EFAULT)
			return err;
		sc->st->unreadable += len;
		return 0;
	}
	for (size_t off = 0; off < len && !sc->full; off += PAGE) {
		size_t n = len - off < PAGE ? len - off : PAGE;

		err = scan_chunk(sc, buf, addr + off, n);
		if (err)
			return err;
	}
	return 0;
}

int task_scan__run(struct task_scan *ts, const struct proc_mem_region *regions, size_t nregions,
		   task_scan_read_fn read, void *ctx, const struct task_scan_opts *opts,
		   struct found_task *out, size_t max, struct task_scan_stats *stats)
{
	struct task_scan_stats local;
	struct scan sc = {.ts = ts, .read = read, .ctx = ctx, .out = out, .max = max};
	__u64 budget = opts && opts->max_bytes ? opts->max_bytes : TASK_SCAN_MAX_BYTES;
	__u64 *buf = NULL;
	int err = 0;

	if (!ts || (!regions && nregions) || !read || (!out && max))
		return -EINVAL;
	if (max > INT_MAX)
		max = sc.max = INT_MAX;
	sc.st = stats ? stats : &local;
	memset(sc.st, 0, sizeof(*sc.st));
	sc.st->vtables = ts->n;
	if (!ts->n)
		return 0;
	if (!ts->sorted) {
		qsort(ts->vt, ts->n, sizeof(*ts->vt), cmp_vt);
		ts->sorted = true;
	}
	sc.lo = ts->vt[0].addr;
	sc.hi = ts->vt[ts->n - 1].addr;
	if (ts->next_id_addr && read(ts->next_id_addr, &sc.st->next_id, 8, ctx))
		sc.st->next_id = 0;
	buf = malloc(CHUNK);
	sc.ids = u64_map__new();
	if (!buf || !sc.ids) {
		err = -ENOMEM;
		goto out;
	}

	for (size_t r = 0; r < nregions && !sc.full && !err; r++) {
		/* 8-aligned words wholly inside the region */
		__u64 a = (regions[r].start + 7) & ~7ULL, end = regions[r].end & ~7ULL;

		if (a >= end)
			continue;
		if (!budget) {
			sc.st->truncated = true;
			break;
		}
		sc.st->regions++;
		while (a < end && budget && !sc.full && !err) {
			__u64 len = end - a < CHUNK ? end - a : CHUNK;

			if (len > budget)
				len = budget & ~7ULL;
			if (!len)
				break;
			err = scan_chunk(&sc, buf, a, (size_t)len);
			a += len;
			budget -= len;
		}
		if (a < end && !sc.full)
			sc.st->truncated = true;
	}
	if (!err && ts->next_id_addr && read(ts->next_id_addr, &sc.st->next_id, 8, ctx))
		sc.st->next_id = 0;
out:
	free(buf);
	u64_map__free(sc.ids);
	return err ? err : (int)sc.nout;
}

/* ---- a live process ---- */

struct regions {
	struct proc_mem_region *r;
	size_t n, cap;
};

static int add_region(const struct proc_mem_region *r, void *arg)
{
	struct regions *rs = arg;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct proc_mem_region *p = realloc(rs->r, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		rs->r = p;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *r;
	return 0;
}

int task_scan__pid(int pid, const struct elf_symbols *syms, const struct task_scan_opts *opts,
		   struct found_task *out, size_t max, struct task_scan_stats *stats)
{
	__u64 budget = opts && opts->max_bytes ? opts->max_bytes : TASK_SCAN_MAX_BYTES, bias;
	struct proc_mem *pm = proc_mem__open(pid);
	struct regions rs = {0};
	struct task_scan *ts = NULL;
	int ret, cut;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (!pm)
		return -errno;
	ret = proc_mem__load_bias(pm, &bias);
	if (ret)
		goto out;
	ts = task_scan__new();
	if (!ts) {
		ret = -ENOMEM;
		goto out;
	}
	ret = task_scan__find_vtables(ts, syms, bias, proc_mem__read_cb, pm);
	if (ret <= 0) {
		ret = ret ?: -ENOENT;
		goto out;
	}
	cut = proc_mem__for_each_region(pm, budget, add_region, &rs);
	if (cut < 0) {
		ret = cut;
		goto out;
	}
	ret = task_scan__run(ts, rs.r, rs.n, proc_mem__read_cb, pm, opts, out, max, stats);
	if (ret >= 0 && stats && cut)
		stats->truncated = true;
out:
	free(rs.r);
	task_scan__free(ts);
	proc_mem__close(pm);
	return ret;
}
