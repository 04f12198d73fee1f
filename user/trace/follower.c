// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "aib_follow.h"
#include "follow.skel.h"
#include "trace/follower.h"

struct follower {
	struct follow_bpf *skel;
	struct ring_buffer *rb;
	void (*on_exec)(int pid, int ppid, void *ctx);
	void *ctx;
	int handled;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct follower *f = ctx;
	const struct aib_follow_exec *e = data;

	if (size < sizeof(*e) || !f->on_exec)
		return 0;
	f->on_exec((int)e->pid, (int)e->ppid, f->ctx);
	f->handled++;
	return 0;
}

struct follower *follower__open(char *why, size_t why_len)
{
	struct follower *f = calloc(1, sizeof(*f));
	int err;

	if (!f) {
		snprintf(why, why_len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	f->skel = follow_bpf__open_and_load();
	if (!f->skel) {
		err = errno;
		snprintf(why, why_len, "cannot load the process follower: %s", strerror(err));
		goto fail;
	}
	if (follow_bpf__attach(f->skel)) {
		err = errno;
		snprintf(why, why_len, "cannot attach the process follower (sched tracepoints): %s",
			 strerror(err));
		goto fail;
	}
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.follow_events), on_sample, f, NULL);
	if (!f->rb) {
		err = errno;
		snprintf(why, why_len, "cannot read the process follower's events: %s", strerror(err));
		goto fail;
	}
	return f;
fail:
	follower__free(f);
	errno = err;
	return NULL;
}

void follower__free(struct follower *f)
{
	if (!f)
		return;
	ring_buffer__free(f->rb);
	follow_bpf__destroy(f->skel);
	free(f);
}

int follower__add(struct follower *f, int pid)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(f->skel->maps.followed), &key, &one, BPF_ANY))
		return -errno;
	return 0;
}

int follower__poll(struct follower *f, int timeout_ms,
		   void (*on_exec)(int pid, int ppid, void *ctx), void *ctx)
{
	int err;

	f->on_exec = on_exec;
	f->ctx = ctx;
	f->handled = 0;
	err = ring_buffer__poll(f->rb, timeout_ms);
	return err < 0 && err != -EINTR ? err : f->handled;
}

__u64 follower__lost(const struct follower *f)
{
	return f->skel->bss->follow_lost;
}
