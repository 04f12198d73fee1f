// SPDX-License-Identifier: MIT
/*
 * Attaching: every entry site runs the one entry program and every return
 * site the one return program (bpf/aib.bpf.c dispatches on the cookie).
 * Where the kernel has uprobe_multi links (6.6+), all sites of a program go
 * in one link: one syscall to attach, and detaching waits for one RCU grace
 * period per link instead of one per site (about 0.1 s each here, which made
 * a detach of 500 sites take a minute). Older kernels get one perf-event
 * uprobe per site.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "trace/tracer.h"
#include "lib/clock.h"
#include "lib/array.h"
#include "trace/ring_merge.h"
#include "trace/uprobe_multi.h"
#include "aib.skel.h"

/* Each CPU's ring by default; on more than 16 CPUs they share 256 MiB. */
#define DEFAULT_RINGBUF (16u << 20)
#define DEFAULT_RINGS_TOTAL (256u << 20)
#define MIN_CPU_RING (1u << 20)
/* A record is read at most this long after its timestamp was taken (a
 * program preempted in between for longer comes out of order). */
#define MERGE_SLACK_NS 5000000ULL

/* The context of one CPU's ring for the reader. */
struct ring_ctx {
	struct tracer *t;
	size_t cpu;
};

struct tracer {
	struct aib_bpf *skel;
	struct ring_buffer *rb;
	int *ring_fds; /* one ring buffer per CPU, in the `events` map */
	struct ring_ctx *ring_ctx;
	size_t nrings;
	struct ring_merge *merge;
	const struct probe_plan *plan;
	struct tracer_opts opts;
	bool multi;
	int multi_fds[2];	/* entry, return */
	int *extra_fds;		/* sites added during the session (uprobe_multi) */
	size_t nextra, extra_cap;
	struct bpf_link *syscall_links[2]; /* blocking: sys_enter, sys_exit */
	struct bpf_link *exec_link;	   /* the target's exec */
	int blocking_err;	/* why blocking syscalls are not timed, or 0 */
	int exec_err;		/* why an exec is not seen, or 0 */
	struct bpf_link **links; /* per-site fallback */
	size_t nlinks, links_cap;
	size_t attached;
	size_t failures;
};

static int sample_cb(void *ctx, void *data, size_t size)
{
	struct ring_ctx *r = ctx;

	return ring_merge__push(r->t->merge, r->cpu, data, size);
}

static int deliver(const void *data, size_t size, void *ctx)
{
	struct tracer *t = ctx;

	return t->opts.on_sample(data, size, t->opts.ctx);
}

static size_t round_pow2(size_t n)
{
	size_t p = 4096;

	while (p < n)
		p <<= 1;
	return p;
}

struct tracer *tracer__open(const struct probe_plan *plan, const struct tracer_opts *opts,
			    char *err, size_t err_len)
{
	struct tracer *t;
	int n;

	if (!plan->runtimes) {
		snprintf(err, err_len, "no runtime to probe");
		errno = ENOTSUP;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->plan = plan;
	t->opts = *opts;
	t->multi_fds[0] = t->multi_fds[1] = -1;
	n = libbpf_num_possible_cpus();
	if (n <= 0) {
		snprintf(err, err_len, "cannot count the CPUs: %s", strerror(n ? -n : EINVAL));
		free(t);
		errno = n ? -n : EINVAL;
		return NULL;
	}
	t->nrings = (size_t)n;
	t->ring_fds = malloc(t->nrings * sizeof(*t->ring_fds));
	for (size_t i = 0; t->ring_fds && i < t->nrings; i++)
		t->ring_fds[i] = -1;
	t->ring_ctx = calloc(t->nrings, sizeof(*t->ring_ctx));
	t->merge = ring_merge__new(t->nrings, deliver, t);
	if (!t->ring_fds || !t->ring_ctx || !t->merge) {
		tracer__free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < t->nrings; i++)
		t->ring_ctx[i] = (struct ring_ctx){t, i};
	return t;
}

/* Each CPU's ring: the size asked for, else the default or, on many CPUs,
 * their share of DEFAULT_RINGS_TOTAL (a power of two, not above it). */
static size_t cpu_ring_bytes(const struct tracer *t)
{
	size_t share = DEFAULT_RINGS_TOTAL / t->nrings, p = MIN_CPU_RING;

	if (t->opts.ringbuf_bytes)
		return round_pow2(t->opts.ringbuf_bytes);
	if (share >= DEFAULT_RINGBUF)
		return DEFAULT_RINGBUF;
	while (p * 2 <= share)
		p *= 2;
	return p;
}

static void close_rings(struct tracer *t)
{
	for (size_t i = 0; i < t->nrings; i++) {
		if (t->ring_fds[i] >= 0)
			close(t->ring_fds[i]);
		t->ring_fds[i] = -1;
	}
}

/* A ring buffer for each CPU; the first is also the `events` map's inner
 * template (libbpf 1.1 cannot resize the one declared in BPF). */
static int make_rings(struct tracer *t, char *err, size_t err_len)
{
	for (__u32 i = 0; i < t->nrings; i++) {
		t->ring_fds[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "aib_events", 0, 0,
						(__u32)cpu_ring_bytes(t), NULL);
		if (t->ring_fds[i] < 0) {
			int ret = -errno;

			snprintf(err, err_len, "cannot create the ring buffer of CPU %u: %s", i,
				 strerror(-ret));
			return ret;
		}
	}
	if (bpf_map__set_max_entries(t->skel->maps.events, (__u32)t->nrings) ||
	    bpf_map__set_inner_map_fd(t->skel->maps.events, t->ring_fds[0])) {
		int ret = -errno;

		snprintf(err, err_len, "cannot set up the ring buffers: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/* The rings go in the `events` map before any probe is attached. */
static int fill_rings(struct tracer *t, char *err, size_t err_len)
{
	int outer = bpf_map__fd(t->skel->maps.events);

	for (__u32 i = 0; i < t->nrings; i++)
		if (bpf_map_update_elem(outer, &i, &t->ring_fds[i], BPF_ANY)) {
			int ret = -errno;

			snprintf(err, err_len, "cannot install the ring buffer of CPU %u: %s", i,
				 strerror(-ret));
			return ret;
		}
	return 0;
}

static void unload(struct tracer *t)
{
	tracer__detach(t);
	close_rings(t);
	aib_bpf__destroy(t->skel);
	t->skel = NULL;
}

/* async-task: the calls that schedule a new task (bpf/async_task.bpf.h). */
static int fill_spawn_calls(struct tracer *t, char *err, size_t err_len)
{
	int fd = bpf_map__fd(t->skel->maps.at_spawn_calls);
	__u8 one = 1;

	for (__u32 i = 0; i < t->plan->n_at_spawn_calls; i++)
		if (bpf_map_update_elem(fd, &t->plan->at_spawn_calls[i], &one, BPF_ANY)) {
			snprintf(err, err_len, "cannot fill the spawn call map: %s", strerror(errno));
			return -errno;
		}
	return 0;
}

static int load(struct tracer *t, bool multi, char *err, size_t err_len)
{
	const struct probe_plan *plan = t->plan;
	int ret;

	t->skel = aib_bpf__open();
	if (!t->skel) {
		ret = -errno;
		snprintf(err, err_len, "cannot open BPF object: %s", strerror(-ret));
		return ret;
	}
	t->skel->rodata->next_id_vaddr = plan->next_id_vaddr;
	t->skel->rodata->loc_lo = plan->loc_lo;
	t->skel->rodata->loc_hi = plan->loc_hi;
	t->skel->rodata->str_lo = plan->str_lo;
	t->skel->rodata->str_hi = plan->str_hi;
	t->skel->rodata->check_spawn_ids = plan->check_spawn_ids;
	t->skel->rodata->check_blocking_ids = plan->check_blocking_ids;
	t->skel->rodata->at_vtable_off = plan->at_vtable_off;
	t->skel->rodata->at_state_off = plan->at_state_off;
	t->skel->rodata->at_track_seen = plan->at_track_seen;
	if (plan->lock_sites) {
		const struct lock_layout *l = &plan->lock_layout;

		t->skel->rodata->acq_sem_off = l->acq_sem;
		t->skel->rodata->acq_permits_off = l->acq_permits;
		t->skel->rodata->acq_permits_size = l->acq_permits_size;
		t->skel->rodata->acq_queued_off = l->acq_queued;
		t->skel->rodata->sem_permits_off = l->sem_permits;
		t->skel->rodata->sem_permit_shift = l->permit_shift;
	}
	t->skel->rodata->exec_tgid = (__u32)t->opts.pid;
	if (plan->blocking && t->opts.blocked_min_ns) {
		t->skel->rodata->target_tgid = (__u32)t->opts.pid;
		t->skel->rodata->blocked_min_ns = t->opts.blocked_min_ns;
	} else {
		/* nothing to time: the tracepoints stay unloaded */
		bpf_program__set_autoload(t->skel->progs.sys_enter, false);
		bpf_program__set_autoload(t->skel->progs.sys_exit, false);
	}
	ret = make_rings(t, err, err_len);
	if (ret)
		return ret;
	if (multi) {
		ret = bpf_program__set_expected_attach_type(t->skel->progs.uprobe_entry,
							    ATTACH_TRACE_UPROBE_MULTI);
		ret = ret ?: bpf_program__set_expected_attach_type(t->skel->progs.uprobe_return,
								   ATTACH_TRACE_UPROBE_MULTI);
	}
	ret = ret ?: aib_bpf__load(t->skel);
	if (ret) {
		snprintf(err, err_len, "cannot load BPF programs: %s%s", strerror(-ret),
			 ret == -EPERM ? " (need root, or CAP_BPF and CAP_PERFMON)" : "");
		return ret;
	}
	ret = fill_spawn_calls(t, err, err_len);
	return ret ?: fill_rings(t, err, err_len);
}

static int attach_multi_group(struct tracer *t, bool ret_group, int *fd_out)
{
	const struct probe_plan *plan = t->plan;
	__u64 *offsets = calloc(plan->nsites ? plan->nsites : 1, sizeof(__u64));
	__u64 *cookies = calloc(plan->nsites ? plan->nsites : 1, sizeof(__u64));
	struct bpf_program *prog = ret_group ? t->skel->progs.uprobe_return : t->skel->progs.uprobe_entry;
	__u32 n = 0;
	int fd;

	if (!offsets || !cookies) {
		free(offsets);
		free(cookies);
		return -ENOMEM;
	}
	for (size_t i = 0; i < plan->nsites; i++) {
		if (plan->sites[i].retprobe != ret_group)
			continue;
		offsets[n] = plan->sites[i].offset;
		cookies[n++] = AIB_COOKIE(plan->sites[i].probe, plan->sites[i].arg, plan->sites[i].vaddr);
	}
	fd = 0;
	if (n) {
		fd = uprobe_multi__attach(bpf_program__fd(prog), t->opts.binary, offsets, cookies, n,
					  ret_group, t->opts.pid);
		if (fd >= 0) {
			*fd_out = fd;
			t->attached += n;
		}
	}
	free(offsets);
	free(cookies);
	return fd < 0 ? fd : 0;
}

static int attach_each(struct tracer *t, char *err, size_t err_len)
{
	const struct probe_plan *plan = t->plan;

	int grown = array__grow((void **)&t->links, &t->links_cap, plan->nsites ? plan->nsites : 1,
				sizeof(*t->links));

	if (grown)
		return grown;
	for (size_t i = 0; i < plan->nsites; i++) {
		const struct probe_site *s = &plan->sites[i];
		struct bpf_program *prog = s->retprobe ? t->skel->progs.uprobe_return
						       : t->skel->progs.uprobe_entry;
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = s->retprobe,
			    .bpf_cookie = AIB_COOKIE(s->probe, s->arg, s->vaddr));
		struct bpf_link *link;
		int ret;

		link = bpf_program__attach_uprobe_opts(prog, t->opts.pid, t->opts.binary, s->offset,
						       &opts);
		if (!link) {
			ret = -errno;
			if (!s->required) {
				t->failures++;
				continue;
			}
			snprintf(err, err_len, "cannot attach %s to %s at file offset 0x%llx: %s",
				 s->retprobe ? "uretprobe" : "uprobe", s->what,
				 (unsigned long long)s->offset, strerror(-ret));
			return ret;
		}
		t->links[t->nlinks++] = link;
		t->attached++;
	}
	return 0;
}

/* The syscall tracepoints of blocking.bpf.h. Optional: without them the
 * session goes on, and says blocking in async code is not seen. */
static void attach_syscalls(struct tracer *t)
{
	struct bpf_program *progs[2] = {t->skel->progs.sys_enter, t->skel->progs.sys_exit};

	if (!t->plan->blocking || !t->opts.blocked_min_ns) {
		t->blocking_err = -ENOTSUP;
		return;
	}
	for (int i = 0; i < 2; i++) {
		t->syscall_links[i] = bpf_program__attach(progs[i]);
		if (!t->syscall_links[i]) {
			t->blocking_err = -errno;
			return;
		}
	}
}

/* The exec tracepoint. Optional too: without it an exec is seen only as
 * the old image's silence. */
static void attach_exec(struct tracer *t)
{
	t->exec_link = bpf_program__attach(t->skel->progs.process_exec);
	t->exec_err = t->exec_link ? 0 : -errno;
}

int tracer__exec_error(const struct tracer *t)
{
	return t->exec_err;
}

int tracer__blocking_error(const struct tracer *t)
{
	return t->blocking_err;
}

int tracer__attach(struct tracer *t, const struct probe_plan *plan, char *err, size_t err_len)
{
	int ret = load(t, true, err, err_len);

	t->multi = true;
	if (!ret)
		ret = attach_multi_group(t, false, &t->multi_fds[0]);
	if (!ret)
		ret = attach_multi_group(t, true, &t->multi_fds[1]);
	if (ret) {
		/* No uprobe_multi here (or one site is bad): one probe per site,
		 * which also names the site that fails. */
		unload(t);
		t->multi = false;
		t->attached = 0;
		ret = load(t, false, err, err_len);
		if (!ret)
			ret = attach_each(t, err, err_len);
		if (ret)
			return ret;
	}
	attach_syscalls(t);
	attach_exec(t);
	t->rb = ring_buffer__new(t->ring_fds[0], sample_cb, &t->ring_ctx[0], NULL);
	for (size_t i = 1; t->rb && i < t->nrings; i++)
		if (ring_buffer__add(t->rb, t->ring_fds[i], sample_cb, &t->ring_ctx[i])) {
			ring_buffer__free(t->rb);
			t->rb = NULL;
		}
	if (!t->rb) {
		ret = -errno;
		snprintf(err, err_len, "cannot create ring buffer reader: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int tracer__attach_site(struct tracer *t, const struct probe_site *s, char *err, size_t err_len)
{
	__u64 cookie = AIB_COOKIE(s->probe, s->arg, s->vaddr), offset = s->offset;
	int ret = 0;

	if (t->multi) {
		int fd;

		ret = array__grow((void **)&t->extra_fds, &t->extra_cap, t->nextra + 1,
				  sizeof(*t->extra_fds));
		if (ret)
			return ret;
		fd = uprobe_multi__attach(bpf_program__fd(t->skel->progs.uprobe_entry), t->opts.binary,
					  &offset, &cookie, 1, false, t->opts.pid);
		if (fd < 0)
			ret = fd;
		else
			t->extra_fds[t->nextra++] = fd;
	} else {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie);
		struct bpf_link *link;

		ret = array__grow((void **)&t->links, &t->links_cap, t->nlinks + 1, sizeof(*t->links));
		if (ret)
			return ret;
		link = bpf_program__attach_uprobe_opts(t->skel->progs.uprobe_entry, t->opts.pid,
						       t->opts.binary, offset, &opts);
		if (!link)
			ret = -errno;
		else
			t->links[t->nlinks++] = link;
	}
	if (ret) {
		t->failures++;
		snprintf(err, err_len, "cannot attach uprobe to %s at file offset 0x%llx: %s", s->what,
			 (unsigned long long)offset, strerror(-ret));
		return ret;
	}
	t->attached++;
	return 0;
}

size_t tracer__attached(const struct tracer *t)
{
	return t->attached;
}

size_t tracer__attach_failures(const struct tracer *t)
{
	return t->failures;
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	int n = ring_buffer__poll(t->rb, timeout_ms), more, err;
	__u64 start;

	if (n < 0)
		return n;
	/* The probes wake the reader only once a batch waits in one ring (a
	 * wakeup per event would cost the target), and the other rings hold
	 * records too: read them all. What is not read by now was written
	 * after `start`, so the held records older than that can go. */
	start = clock__ns(CLOCK_MONOTONIC);
	more = ring_buffer__consume(t->rb);
	if (more < 0)
		return more;
	err = ring_merge__release(t->merge, start > MERGE_SLACK_NS ? start - MERGE_SLACK_NS : 0);
	return err < 0 ? err : n + more;
}

int tracer__drain(struct tracer *t)
{
	int n = ring_buffer__consume(t->rb), err;

	if (n < 0)
		return n;
	err = ring_merge__release(t->merge, UINT64_MAX);
	return err < 0 ? err : n;
}

void tracer__detach(struct tracer *t)
{
	for (int i = 0; i < 2; i++) {
		if (t->multi_fds[i] >= 0)
			close(t->multi_fds[i]);
		t->multi_fds[i] = -1;
	}
	for (size_t i = 0; i < t->nextra; i++)
		close(t->extra_fds[i]);
	t->nextra = 0;
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(t->syscall_links[i]);
		t->syscall_links[i] = NULL;
	}
	bpf_link__destroy(t->exec_link);
	t->exec_link = NULL;
}

int tracer__losses(const struct tracer *t, __u64 *lost, __u64 *dropped, __u64 *by_reason)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(t->skel->maps.drops);
	__u64 *vals;

	*lost = *dropped = 0;
	memset(by_reason, 0, AIB_DROP_SLOTS * sizeof(*by_reason));
	if (ncpu <= 0)
		return ncpu;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 key = 0; key < AIB_DROP_MAX; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++) {
			if (key == AIB_DROP_RINGBUF)
				*lost += vals[c];
			else
				*dropped += vals[c];
			by_reason[key] += vals[c];
		}
	}
	free(vals);
	return 0;
}

int tracer__await_stack(const struct tracer *t, __u64 task, struct aib_await_stack *out)
{
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.await_stacks), &task, out))
		return -errno;
	return 0;
}

int tracer__thread_regs(struct tracer *t, int pid, struct aib_thread_regs *out, int max)
{
	union bpf_iter_link_info info = {.task.pid = (__u32)pid};
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));
	struct bpf_link *link = bpf_program__attach_iter(t->skel->progs.thread_regs, &opts);
	int fd, n = 0, err = 0;
	ssize_t got;

	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		bpf_link__destroy(link);
		return err;
	}
	while (n < max && (got = read(fd, &out[n], sizeof(*out))) == sizeof(*out))
		n++;
	close(fd);
	bpf_link__destroy(link);
	return n;
}

__u64 tracer__next_root(struct tracer *t)
{
	return __atomic_fetch_add(&t->skel->bss->root_seq, 1, __ATOMIC_SEQ_CST);
}

int tracer__adopt_root(struct tracer *t, __u32 tid, const struct aib_root_adopt *root)
{
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.root_adopt), &tid, root, BPF_ANY))
		return -errno;
	return 0;
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	if (t->ring_fds)
		unload(t);
	ring_merge__free(t->merge);
	free(t->ring_fds);
	free(t->ring_ctx);
	free(t->links);
	free(t->extra_fds);
	free(t);
}
