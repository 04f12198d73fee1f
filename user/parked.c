// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "await_stack.h"
#include "parked.h"
#include "task_model.h"

struct scratch {
	struct aib_await_stack stack;
	struct await_desc desc;
	__u64 rec[(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX) / 8 + 1];
};

/* Why a task has no await site, in one line. */
static const char *no_site_reason(const struct task_info *t, int stack_err, int sites_err)
{
	if (sites_err == ENODATA)
		return "the binary has no call frame information to unwind its stack";
	if (sites_err)
		return "the binary could not be read to unwind its stack";
	if (stack_err == -ENOENT && t->found_in_memory && !t->polls)
		return "parked before the attach and not polled since (its future can be decoded "
		       "only with full debug info: debug = \"full\")";
	if (stack_err == -ENOENT && !t->polls)
		return "not polled since the attach";
	if (stack_err == -ENOENT)
		return "no waker was cloned in its polls (no leaf future parked it)";
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

	if (!t->joining_header)
		return;
	if (d->kind == AIB_WAIT_UNKNOWN)
		d->kind = AIB_WAIT_JOIN;
	if (d->kind != AIB_WAIT_JOIN)
		return;
	d->joined_id = t->joining_id;
	joined = task_model__find(m, t->joining_header, t->joining_id);
	if (joined && joined->kind == TASK_BLOCKING) {
		d->kind = AIB_WAIT_BLOCKING;
		snprintf(d->detail, sizeof(d->detail), "spawn_blocking closure still running");
	}
}

int parked__resolve(const struct parked_opts *o, struct parked_stats *st)
{
	struct await_sites *as = o->sites;
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

		if (t->kind == TASK_RUNTIME || (t->state != TASK_IDLE && t->state != TASK_RUNNABLE))
			continue;
		st->parked++;
		if (as && !(serr = o->await_stack(t->header, &sc->stack, o->ctx))) {
			if (!stack_is_current(t, &sc->stack))
				serr = -ESTALE;
			else if (await_sites__from_stack(as, &sc->stack, d))
				serr = -EPROTO;
		}
		if (!serr) {
			st->from_stack++;
		} else {
			memset(d, 0, sizeof(*d));
			d->method = AIB_AWAIT_NONE;
			snprintf(d->detail, sizeof(d->detail), "%s",
				 no_site_reason(t, serr, as ? 0 : o->sites_err ? o->sites_err : EINVAL));
			st->unknown++;
		}
		add_join(o->model, t, d);
		err = o->emit(&await_desc__to_record(d, t->header, t->id, o->now, sc->rec)->hdr, o->ctx);
	}
	free(sc);
	return err;
}
