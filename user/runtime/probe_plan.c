// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "binary/elf_symbols.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"
#include "binary/x86_code.h"

void probe_plan__release(struct probe_plan *plan)
{
	free(plan->sites);
	memset(plan, 0, sizeof(*plan));
}

int probe_plan__add(struct probe_plan *plan, const struct probe_site *site)
{
	int err = array__grow((void **)&plan->sites, &plan->cap, plan->nsites + 1,
			      sizeof(*plan->sites));

	if (err)
		return err;
	plan->sites[plan->nsites++] = *site;
	return 0;
}

struct add_ctx {
	const struct elf_symbols *syms;
	struct probe_plan *plan;
	enum aib_probe probe;
	bool retprobe;
	bool required;
	unsigned keep; /* cheap: at the first emulated instruction with these
			  registers (enum x86_keep) intact; 0 = at the entry */
	int err;
};

static int add_site(const struct elf_symbol *sym, void *arg)
{
	struct add_ctx *c = arg;
	struct probe_site site = {
		.probe = c->probe,
		.retprobe = c->retprobe,
		.required = c->required,
		.vaddr = sym->vaddr,
		.what = sym->path,
	};
	int err;

	if (!sym->is_func)
		return 0;
	if (c->keep && x86_code__cheap_point(c->syms, sym->vaddr, c->keep, &site.vaddr))
		return 0;
	err = elf_symbols__vaddr_to_offset(c->syms, site.vaddr, &site.offset);
	if (err)
		return 0; /* not in a loaded segment: nothing to probe */
	err = probe_plan__add(c->plan, &site);
	if (err)
		c->err = err;
	return err;
}

static int add_matching(const struct elf_symbols *syms, struct probe_plan *plan, const char *path,
			enum aib_probe probe, bool retprobe, bool required, unsigned keep)
{
	struct add_ctx c = {syms, plan, probe, retprobe, required, keep, 0};
	size_t before = plan->nsites;
	int n = elf_symbols__match(syms, path, add_site, &c);

	if (n < 0)
		return n;
	if (c.err)
		return c.err;
	return (int)(plan->nsites - before);
}

int probe_plan__add_matching(const struct elf_symbols *syms, struct probe_plan *plan,
			     const char *path, enum aib_probe probe, bool retprobe, bool required)
{
	return add_matching(syms, plan, path, probe, retprobe, required, 0);
}

int probe_plan__add_matching_cheap(const struct elf_symbols *syms, struct probe_plan *plan,
				   const char *path, enum aib_probe probe, unsigned keep)
{
	return add_matching(syms, plan, path, probe, false, false, keep);
}

struct return_sites_ctx {
	const struct elf_symbols *syms;
	struct probe_plan *plan;
	const struct root_spec *spec;
	int added, err;
};

#define MAX_ROOT_CALLS 64

static int add_root_returns(const struct elf_symbol *sym, void *arg)
{
	struct return_sites_ctx *c = arg;
	int n;

	if (!sym->is_func || c->err)
		return 0;
	n = probe_plan__add_return_sites(c->syms, c->plan, sym->vaddr, c->spec->probe,
					 c->spec->keep, c->spec->path, MAX_ROOT_CALLS);
	if (n < 0)
		c->err = n;
	else
		c->added += n;
	return 0;
}

int probe_plan__add_roots(const struct elf_symbols *syms, struct probe_plan *plan,
			  const struct root_spec *specs, size_t nspecs)
{
	int added = 0;

	for (size_t i = 0; i < nspecs; i++) {
		const struct root_spec *s = &specs[i];
		struct return_sites_ctx c = {syms, plan, s, 0, 0};
		int n;

		if (s->return_sites) {
			n = elf_symbols__match(syms, s->path, add_root_returns, &c);
			n = n < 0 ? n : c.err ? c.err : c.added;
		} else {
			n = add_matching(syms, plan, s->path, s->probe, false, false, s->keep);
			if (n > 0 && s->also_return)
				n = add_matching(syms, plan, s->path, s->probe, true, false, 0);
		}
		if (n < 0)
			return n;
		added += n;
		if (s->probe == AIB_PROBE_ROOT_AWAIT || s->probe == AIB_PROBE_ROOT_AWAIT_ARC)
			plan->await_sites += (__u32)n;
	}
	plan->root_sites += (__u32)added;
	return added;
}

static int first_func(const struct elf_symbol *sym, void *arg)
{
	__u64 *vaddr = arg;

	if (sym->is_func && !*vaddr)
		*vaddr = sym->vaddr;
	return 0;
}

__u64 probe_plan__function(const struct elf_symbols *syms, const char *path)
{
	__u64 vaddr = 0;

	elf_symbols__match(syms, path, first_func, &vaddr);
	return vaddr;
}

__u64 probe_plan__panic_cleanup(const struct elf_symbols *syms)
{
	static const char name[] = "__rust_panic_cleanup";
	size_t n = elf_symbols__count(syms), nlen = strlen(name);

	for (size_t i = 0; i < n; i++) {
		const struct elf_symbol *sym = elf_symbols__get(syms, i);
		size_t len = strlen(sym->path);

		if (sym->is_func && len >= nlen && !strcmp(sym->path + len - nlen, name))
			return sym->vaddr;
	}
	return 0;
}

int probe_plan__add_return_sites(const struct elf_symbols *syms, struct probe_plan *plan,
				 __u64 target, enum aib_probe probe, unsigned keep, const char *what,
				 int max)
{
	__u64 slots[8], *rets = calloc(max > 0 ? (size_t)max : 1, sizeof(*rets));
	int nslots = elf_symbols__pointer_slots(syms, target, slots, 8), n, added = 0, err = 0;

	if (!rets)
		return -ENOMEM;
	n = nslots < 0 ? nslots
		       : x86_code__call_sites(syms, target, slots, nslots < 8 ? nslots : 8, rets, max);
	for (int i = 0; i < n && i < max && !err; i++) {
		struct probe_site site = {.probe = probe, .origin = rets[i], .what = what};

		if (x86_code__cheap_point(syms, rets[i], keep, &site.vaddr) ||
		    elf_symbols__vaddr_to_offset(syms, site.vaddr, &site.offset))
			continue;
		err = probe_plan__add(plan, &site);
		added += !err;
	}
	free(rets);
	return err ? err : n < 0 ? n : added;
}

void probe_plan__note_missing(struct probe_plan *plan, const char *what)
{
	size_t len = strlen(plan->missing);

	if (len + strlen(what) + 3 >= sizeof(plan->missing))
		return;
	if (len)
		strcat(plan->missing, ", ");
	strcat(plan->missing, what);
}

void probe_plan__describe(struct probe_plan *plan, const char *what)
{
	size_t len = strlen(plan->runtime_desc);

	snprintf(plan->runtime_desc + len, sizeof(plan->runtime_desc) - len, "%s%s",
		 len ? " + " : "", what);
}

int probe_plan__for_binary(const struct elf_symbols *syms, struct probe_plan *plan,
			   unsigned captures, char *why, size_t why_len)
{
	size_t n, len = 0;
	const struct runtime_ops *const *rt = runtime__all(&n);
	char why_not[256], tried[1024] = "";
	int err = 0;

	memset(plan, 0, sizeof(*plan));
	for (size_t i = 0; i < n; i++) {
		err = rt[i]->add_probes(syms, plan, captures, why_not, sizeof(why_not));
		if (err && err != -ENOENT)
			goto fail;
		if (err && len < sizeof(tried))
			len += (size_t)snprintf(tried + len, sizeof(tried) - len, "%s%s",
						len ? "; " : "", why_not);
	}
	if (plan->runtimes)
		return 0;
	snprintf(why, why_len, "no supported async runtime: %s", tried);
	err = -ENOENT;
fail:
	probe_plan__release(plan);
	return err;
}

int probe_plan__add_specs(const struct elf_symbols *syms, struct probe_plan *plan,
			  const struct site_spec *specs, size_t nspecs, const char *missing_fmt,
			  void (*counted)(struct probe_plan *plan, const struct site_spec *s, int n),
			  char *why, size_t why_len)
{
	for (size_t i = 0; i < nspecs; i++) {
		const struct site_spec *s = &specs[i];
		int n = probe_plan__add_matching(syms, plan, s->path, s->probe, false, s->required);

		if (n < 0)
			return n;
		if (n == 0 && s->required) {
			snprintf(why, why_len, missing_fmt, s->path);
			return -ENOENT;
		}
		counted(plan, s, n);
	}
	return 0;
}

void probe_plan__set_location_ranges(struct probe_plan *plan, const struct elf_symbols *syms)
{
	__u64 ro_lo, ro_hi, rel_lo, rel_hi;
	bool ro = !elf_symbols__section_bounds(syms, ".rodata", &ro_lo, &ro_hi);
	bool rel = !elf_symbols__section_bounds(syms, ".data.rel.ro", &rel_lo, &rel_hi);

	if (!ro)
		return; /* no file names to read: spawn locations stay unknown */
	plan->str_lo = ro_lo;
	plan->str_hi = ro_hi;
	/* a Location holds a pointer, so a PIE keeps it in .data.rel.ro */
	plan->loc_lo = rel && rel_lo < ro_lo ? rel_lo : ro_lo;
	plan->loc_hi = rel && rel_hi > ro_hi ? rel_hi : ro_hi;
}
