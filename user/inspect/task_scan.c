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
#include "runtime/runtime.h"

#define CHUNK (1u << 20)
#define PAGE 4096u
#define MAX_STRUCTURE_POLLS 4096

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
	const struct runtime_ops *rt;
	struct runtime_layout layout;
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

static int add_found(struct task_scan *ts, const struct task_vtable *vt)
{
	int err = task_scan__add_vtable(ts, vt);

	return err == -EEXIST ? 0 : err ? err : 1;
}

/* A pointer to the poll function fn at ELF vaddr `slot`: 1 if it is in a
 * vtable, now added; 0 if not; -errno. */
static int check_vtable(struct task_scan *ts, const struct elf_view *v, __u64 fn, __u64 slot)
{
	struct task_vtable vt = {.addr = slot - v->layout.poll_slot + v->bias, .poll_fn = fn,
				 .vtable_off = (__u8)v->layout.vtable_off,
				 .state_off = (__u8)v->layout.state_off, .runtime = (__u8)v->rt->id};
	__u64 w[RUNTIME_VTABLE_WORDS_MAX];

	if (v->rt->vtable_words > RUNTIME_VTABLE_WORDS_MAX ||
	    v->read(vt.addr, w, v->rt->vtable_words * sizeof(w[0]), v->ctx) ||
	    !v->rt->vtable_ok(w, v->text_lo, v->text_hi, &vt.id_offset))
		return 0;
	return add_found(ts, &vt);
}

/* Adds the vtable of each pointer to one of fns (its runtime's poll_fn) in
 * the target's vtable sections, read after relocation: .data.rel.ro (a
 * PIE's file holds zeros there, the loader writes the pointers), and
 * .rodata in a non-PIE file. One pass over the sections, whatever the
 * number of functions (asking the relocations function by function costs
 * functions x relocations). Returns the number of vtables added, or -errno. */
static int for_each_slot(struct task_scan *ts, const struct elf_view *v, struct funcs *fns)
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
					r = check_vtable(ts, v, fn, a + i * 8);
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

/* The vtables of one runtime: how many were added, or -errno. */
static int find_runtime(struct task_scan *ts, struct elf_view *v)
{
	struct funcs polls = {0};
	int n = elf_symbols__match(v->syms, v->rt->poll_fn, collect_func, &polls);

	/* stripped: the polls its structure gives */
	if (n == 0 && !elf_symbols__has_symtab(v->syms) && v->rt->polls_by_structure) {
		polls.cap = MAX_STRUCTURE_POLLS;
		polls.vaddr = malloc(polls.cap * sizeof(*polls.vaddr));
		n = polls.vaddr ? v->rt->polls_by_structure(v->syms, polls.vaddr, (int)polls.cap)
				: -ENOMEM;
		polls.n = n > 0 ? ((size_t)n < polls.cap ? (size_t)n : polls.cap) : 0;
	}

	if (n > 0)
		v->rt->layout(v->syms, &v->layout);
	if (n >= 0)
		n = for_each_slot(ts, v, &polls);
	free(polls.vaddr);
	if (n > 0 && v->rt->next_id_vaddr) {
		__u64 next_id = v->rt->next_id_vaddr(v->syms);

		if (next_id)
			ts->next_id_addr = next_id + v->bias;
	}
	return n;
}

int task_scan__find_vtables(struct task_scan *ts, const struct elf_symbols *syms, __u64 bias,
			    task_scan_read_fn read, void *ctx)
{
	struct elf_view v = {.syms = syms, .bias = bias, .read = read, .ctx = ctx};
	size_t nrt;
	const struct runtime_ops *const *rt = runtime__all(&nrt);
	int added = 0;

	if (!ts || !syms || !read)
		return -EINVAL;
	if (elf_symbols__section_bounds(syms, ".text", &v.text_lo, &v.text_hi))
		return 0;
	v.text_lo += bias;
	v.text_hi += bias;
	for (size_t i = 0; i < nrt; i++) {
		int n;

		v.rt = rt[i];
		n = find_runtime(ts, &v);
		if (n < 0)
			return n;
		added += n;
	}
	return added;
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

	if (!id || id >= RUNTIME_USER_ADDR_END)
		return false;
	if (!sc->ts->next_id_addr || id < sc->st->next_id)
		return true;
	if (sc->read(sc->ts->next_id_addr, &next, sizeof(next), sc->ctx))
		return true; /* unreadable: no bound */
	sc->st->next_id = next;
	return id < next;
}

/* Is the header at h a live task of vt's runtime? */
static bool live(struct scan *sc, const struct task_vtable *vt, __u64 h, struct found_task *t)
{
	const struct runtime_ops *rt = runtime__get((enum aib_runtime)vt->runtime);
	__u64 w[RUNTIME_HEADER_WORDS], id = 0;

	if (!rt || sc->read(h, w, sizeof(w), sc->ctx) || w[vt->vtable_off / 8] != vt->addr) {
		sc->st->rejected_header++;
		return false;
	}
	t->state = w[vt->state_off / 8];
	switch (rt->check_header(w, t->state)) {
	case RUNTIME_HEADER_LIVE:
		break;
	case RUNTIME_HEADER_BAD_STATE:
		sc->st->rejected_state++;
		return false;
	default:
		sc->st->rejected_header++;
		return false;
	}
	if (vt->id_offset &&
	    (sc->read(h + vt->id_offset, &id, sizeof(id), sc->ctx) || !id_issued(sc, id))) {
		sc->st->rejected_id++;
		return false;
	}
	t->id = id;
	return true;
}

/* A word equal to vt's address at `at`: store the task if it is one. */
static int candidate(struct scan *sc, const struct task_vtable *vt, __u64 at)
{
	struct found_task t = {.vtable = vt->addr, .poll_fn = vt->poll_fn,
			       .runtime = (enum aib_runtime)vt->runtime};
	__u32 dummy;

	sc->st->candidates++;
	if (at < vt->vtable_off) {
		sc->st->rejected_header++;
		sc->st->rejected++;
		return 0;
	}
	t.header = at - vt->vtable_off;
	if (!live(sc, vt, t.header, &t)) {
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
