// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "inspect/future_decoder.h"
#include "binary/symbolizer.h"
#include "inspect/parked.h"
#include "inspect/stack_namer.h"
#include "model/task_model.h"

struct scratch {
	struct future_await future, joined;
	struct aib_await_stack stack;
	struct await_desc desc;
	__u64 rec[(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
};

/* Why a task has no await site, in one line. */
static const char *no_site_reason(const struct task_info *t, int stack_err, int stacks_err)
{
	if (stacks_err == ENODATA)
		return "the binary has no call frame information to unwind its stack";
	if (stacks_err)
		return "the binary could not be read to unwind its stack";
	if (stack_err == -ENOENT && t->found_in_memory && !t->polls && t->kind == TASK_BLOCK_ON)
		return "a block_on parked before the attach and not polled since (its await is "
		       "seen at its next poll; its future is not read from memory)";
	if (stack_err == -ENOENT && t->found_in_memory && !t->polls)
		return "parked before the attach and not polled since (its future can be decoded "
		       "only with full debug info: debug = \"full\")";
	if (stack_err == -ENOENT && !t->polls)
		return "not polled since the attach";
	if (stack_err == -ENOENT)
		return PARKED_NO_WAKER_CLONED;
	if (stack_err == -ESTALE)
		return "its last stack belongs to an earlier task at the same address";
	if (stack_err == -EPROTO)
		return "no frame of the program's own code in its stack";
	return "its stack could not be read";
}

/* The stack is the task's own: the header was not reused since. */
static bool stack_is_current(const struct task_info *t, const struct aib_await_stack *s)
{
	if (s->runtime == AIB_RUNTIME_TOKIO)
		return s->task_id == t->id;
	return s->ts >= t->spawn_ts || !t->spawn_seen;
}

/* The model knows what a stack cannot: whose JoinHandle it polled, and
 * whether that task runs on the blocking pool. */
static void add_join(const struct task_model *m, const struct task_info *t, struct await_desc *d)
{
	const struct task_info *joined;

	if (!task_info__joining_header(t))
		return;
	if (d->kind == AIB_WAIT_UNKNOWN)
		d->kind = AIB_WAIT_JOIN;
	if (d->kind != AIB_WAIT_JOIN)
		return;
	d->joined_id = task_info__joining_id(t);
	joined = task_model__find(m, task_info__joining_header(t), task_info__joining_id(t));
	if (joined && joined->kind == TASK_BLOCKING) {
		d->kind = AIB_WAIT_BLOCKING;
		snprintf(d->detail, sizeof(d->detail), "spawn_blocking closure still running");
	}
}

/* "127.0.0.1:40312 ESTABLISHED" for a TCP socket fd of pid, from
 * /proc/PID/fd and /proc/PID/net/tcp; false when it is not one. */
static bool tcp_peer(int pid, int fd, char *buf, size_t len)
{
	static const char *const states[] = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV",
					     "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
					     "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
	char path[64], link[64], line[512];
	unsigned long long inode, ino;
	unsigned int raddr, rport, st;
	bool found = false;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	if (sscanf(link, "socket:[%llu]", &inode) != 1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/net/tcp", pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*x:%*x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %llu", &raddr,
			   &rport, &st, &ino) == 4 && ino == inode) {
			snprintf(buf, len, "%u.%u.%u.%u:%u %s", raddr & 0xff, raddr >> 8 & 0xff,
				 raddr >> 16 & 0xff, raddr >> 24, rport,
				 st < sizeof(states) / sizeof(states[0]) ? states[st] : "?");
			found = true;
		}
	if (f)
		fclose(f);
	if (!found)
		snprintf(buf, len, "socket (not IPv4 TCP)");
	return true;
}


/* The task's future decoded from memory: 0 and *d, or -errno. */
/* A task whose root future is a spawn_blocking closure. */
static bool runs_blocking(const struct parked_opts *o, __u64 header, struct future_await *fa)
{
	return !future_decoder__tokio_task(o->decoder, header, o->bias, o->read_mem, o->read_ctx, fa) &&
	       !fa->nframes && strstr(fa->leaf_type, "tokio::runtime::blocking::task::BlockingTask<");
}

static int from_memory(const struct parked_opts *o, const struct task_info *t,
		       struct future_await *fa, struct future_await *joined_fa, struct await_desc *d)
{
	const struct task_info *joined;
	char leaf[96], peer[96];
	int err;

	if (!o->decoder || t->runtime != AIB_RUNTIME_TOKIO)
		return -ENOENT;
	err = future_decoder__tokio_task(o->decoder, t->header, o->bias, o->read_mem, o->read_ctx, fa);
	if (err)
		return err;
	if (fa->nframes == 0)
		return -ENOENT; /* not an async fn at its root: the stack may say more */
	memset(d, 0, sizeof(*d));
	d->method = AIB_AWAIT_STATE_MACHINE;
	d->captured_ts = o->now;
	d->nframes = fa->nframes < AWAIT_MAX_FRAMES ? fa->nframes : AWAIT_MAX_FRAMES;
	for (int i = 0; i < d->nframes; i++) {
		struct await_frame *f = &d->frames[i];

		snprintf(f->function, sizeof(f->function), "%s", fa->frames[i].function ?: "");
		snprintf(f->file, sizeof(f->file), "%s", fa->frames[i].file ?: "");
		f->line = fa->frames[i].line;
		f->col = fa->frames[i].col;
		f->library = symbolizer__is_library(fa->frames[i].function, fa->frames[i].file);
	}
	if (strcmp(fa->root_state, "suspended")) {
		snprintf(d->detail, sizeof(d->detail), "%s", !strcmp(fa->root_state, "unresumed")
			 ? "not started: never polled" : fa->root_state);
		return 0;
	}
	/* the leaf's type says what it waits for; else the runtime's async fns
	 * it awaits through (Mutex::lock, ...), innermost first */
	d->kind = await_site__classify_type(fa->leaf_type, d->detail, sizeof(d->detail));
	if (d->kind == AIB_WAIT_UNKNOWN || d->kind == AIB_WAIT_LOCK) {
		struct await_frame inner[AWAIT_MAX_FRAMES];
		enum aib_wait_kind k;
		char detail[sizeof(d->detail)];
		int n = 0;

		for (int i = d->nframes - 1; i >= 0 && d->frames[i].library; i--)
			inner[n++] = d->frames[i];
		k = await_site__classify(inner, n, detail, sizeof(detail));
		/* Mutex::lock says more than the semaphore it waits on */
		if (d->kind == AIB_WAIT_UNKNOWN || k == AIB_WAIT_LOCK) {
			d->kind = k;
			snprintf(d->detail, sizeof(d->detail), "%s", detail);
		}
	}
	if (!d->detail[0] && fa->leaf_type[0])
		snprintf(d->detail, sizeof(d->detail), "%s",
			 await_site__short_name(fa->leaf_type, leaf, sizeof(leaf)));
	if (fa->has_deadline)
		d->deadline_ts = fa->deadline_ns;
	if (fa->join_header && (joined = task_model__find(o->model, fa->join_header, 0))) {
		d->joined_id = joined->id;
		if (d->kind == AIB_WAIT_UNKNOWN)
			d->kind = AIB_WAIT_JOIN;
		if (d->kind == AIB_WAIT_JOIN && runs_blocking(o, fa->join_header, joined_fa)) {
			d->kind = AIB_WAIT_BLOCKING;
			snprintf(d->detail, sizeof(d->detail), "spawn_blocking closure still running");
		}
	}
	if (fa->fd >= 0) {
		size_t len = strlen(d->detail);

		if (d->kind == AIB_WAIT_UNKNOWN)
			d->kind = AIB_WAIT_IO;
		snprintf(d->detail + len, sizeof(d->detail) - len, "%sfd %d", len ? "; " : "", fa->fd);
		if (o->pid > 0 && tcp_peer(o->pid, fa->fd, peer, sizeof(peer))) {
			len = strlen(d->detail);
			snprintf(d->detail + len, sizeof(d->detail) - len, ", peer %s", peer);
		}
	}
	return 0;
}

/* The stack the task's last parking poll left: 0 and *d, or -errno (ENOENT:
 * none kept, ESTALE: an earlier task's, EPROTO: no frame of the program). */
static int stack_in_slot(const struct parked_opts *o, const struct task_info *t, __u64 slot,
			 struct aib_await_stack *s, struct await_desc *d)
{
	int err = o->await_stack(slot, s, o->ctx);

	if (err)
		return err;
	if (!stack_is_current(t, s))
		return -ESTALE;
	return stack_namer__await(o->stacks, s, d) ? -EPROTO : 0;
}

/* A block_on root's last poll kept its last waker clone and its first
 * (bpf/block_on.bpf.h): executor plumbing may have made either. */
static int from_stack(const struct parked_opts *o, const struct task_info *t,
		      struct aib_await_stack *s, struct await_desc *d)
{
	int err = stack_in_slot(o, t, t->header, s, d);

	if (err == -EPROTO && t->kind == TASK_BLOCK_ON &&
	    !stack_in_slot(o, t, AIB_ROOT_FIRST_CLONE(t->header), s, d))
		return 0;
	return err;
}

bool parked__due(const struct parked_opts *o, const struct task_info *t)
{
	const struct aib_rec_await *named = task_info__await(t);
	/* never polled in the session: parked since it was first seen */
	__u64 since = t->last_poll_end_ts ? t->last_poll_end_ts : t->spawn_ts;

	if (t->kind == TASK_RUNTIME || (t->state != TASK_IDLE && t->state != TASK_RUNNABLE))
		return false;
	if (!o->min_parked_ns)
		return true;
	return t->state == TASK_IDLE && o->now >= since + o->min_parked_ns &&
	       (!named || named->hdr.ts < since);
}

int parked__resolve(const struct parked_opts *o, struct parked_stats *st)
{
	struct scratch *sc = malloc(sizeof(*sc));
	size_t n = task_model__task_count(o->model);
	int err = 0;

	memset(st, 0, sizeof(*st));
	if (!sc)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		const struct task_info *t = task_model__task(o->model, i);
		struct await_desc *d = &sc->desc;
		int serr = -ENOENT;

		if (!parked__due(o, t))
			continue;
		st->parked++;
		if (!from_memory(o, t, &sc->future, &sc->joined, d)) {
			st->from_memory++;
		} else if (o->stacks && !(serr = from_stack(o, t, &sc->stack, d))) {
			st->from_stack++;
		} else {
			memset(d, 0, sizeof(*d));
			d->method = AIB_AWAIT_NONE;
			snprintf(d->detail, sizeof(d->detail), "%s",
				 no_site_reason(t, serr, o->stacks ? 0 : o->stacks_err ?: EINVAL));
			st->unknown++;
		}
		add_join(o->model, t, d);
		err = o->emit(&await_desc__to_record(d, t->header, t->id, o->now, sc->rec)->hdr, o->ctx);
	}
	free(sc);
	return err;
}
