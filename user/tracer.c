// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tracer.h"
#include "tokio.skel.h"

#define DEFAULT_RINGBUF (16u << 20)

struct tracer {
	struct tokio_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	size_t nlinks;
	size_t failures;
	tracer_sample_fn on_sample;
	void *ctx;
	int pid;
	const char *binary;
};

static int sample_cb(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	return t->on_sample(data, size, t->ctx);
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
	int ret;

	if (plan->runtime != AIB_RUNTIME_TOKIO) {
		snprintf(err, err_len, "no probes for runtime %s", plan->runtime_name);
		errno = ENOTSUP;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->on_sample = opts->on_sample;
	t->ctx = opts->ctx;
	t->pid = opts->pid;
	t->binary = opts->binary;

	t->skel = tokio_bpf__open();
	if (!t->skel) {
		ret = -errno;
		snprintf(err, err_len, "cannot open BPF object: %s", strerror(-ret));
		goto fail;
	}
	t->skel->rodata->next_id_vaddr = plan->next_id_vaddr;
	t->skel->rodata->loc_lo = plan->loc_lo;
	t->skel->rodata->loc_hi = plan->loc_hi;
	t->skel->rodata->str_lo = plan->str_lo;
	t->skel->rodata->str_hi = plan->str_hi;
	ret = bpf_map__set_max_entries(t->skel->maps.events,
				       round_pow2(opts->ringbuf_bytes ? opts->ringbuf_bytes
								      : DEFAULT_RINGBUF));
	if (ret)
		goto fail_load;
	ret = tokio_bpf__load(t->skel);
	if (ret) {
fail_load:
		snprintf(err, err_len, "cannot load BPF programs: %s%s", strerror(-ret),
			 ret == -EPERM ? " (need root, or CAP_BPF and CAP_PERFMON)" : "");
		goto fail;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), sample_cb, t, NULL);
	if (!t->rb) {
		ret = -errno;
		snprintf(err, err_len, "cannot create ring buffer reader: %s", strerror(-ret));
		goto fail;
	}
	t->links = calloc(plan->nsites ? plan->nsites : 1, sizeof(*t->links));
	if (!t->links) {
		ret = -ENOMEM;
		goto fail;
	}
	return t;
fail:
	tracer__free(t);
	errno = -ret;
	return NULL;
}

int tracer__attach(struct tracer *t, const struct probe_plan *plan, char *err, size_t err_len)
{
	for (size_t i = 0; i < plan->nsites; i++) {
		const struct probe_site *s = &plan->sites[i];
		struct bpf_program *prog = bpf_object__find_program_by_name(t->skel->obj, s->prog);
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = s->retprobe, .bpf_cookie = s->vaddr);
		struct bpf_link *link;
		int ret;

		if (!prog) {
			snprintf(err, err_len, "internal: no BPF program %s", s->prog);
			return -ENOENT;
		}
		link = bpf_program__attach_uprobe_opts(prog, t->pid, t->binary, s->offset, &opts);
		if (!link) {
			ret = -errno;
			if (!s->required) {
				t->failures++;
				continue;
			}
			snprintf(err, err_len, "cannot attach %s to %s at 0x%llx: %s", s->retprobe ? "uretprobe" : "uprobe",
				 s->what, (unsigned long long)s->offset, strerror(-ret));
			return ret;
		}
		t->links[t->nlinks++] = link;
	}
	return 0;
}

size_t tracer__attached(const struct tracer *t)
{
	return t->nlinks;
}

size_t tracer__attach_failures(const struct tracer *t)
{
	return t->failures;
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	return ring_buffer__poll(t->rb, timeout_ms);
}

int tracer__drain(struct tracer *t)
{
	return ring_buffer__consume(t->rb);
}

void tracer__detach(struct tracer *t)
{
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
}

int tracer__losses(const struct tracer *t, __u64 *lost, __u64 *dropped)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(t->skel->maps.drops);
	__u64 *vals;

	*lost = *dropped = 0;
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
		}
	}
	free(vals);
	return 0;
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	tracer__detach(t);
	free(t->links);
	ring_buffer__free(t->rb);
	tokio_bpf__destroy(t->skel);
	free(t);
}
