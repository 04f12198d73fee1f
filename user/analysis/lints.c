// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/lints.h"
#include "inspect/parked.h"
#include "model/lock_table.h"
#include "model/task_model.h"

static const struct {
	const char *name, *what;
} lint_names[LINT_MAX] = {
	[LINT_LOST_WAKER] = {"lost-waker", "idle, and no poll of it ever cloned its waker: nothing can wake it"},
	[LINT_LONG_POLL] = {"long-poll", "a poll held its worker thread too long (blocking code, or no .await)"},
	[LINT_SELF_WAKES] = {"self-wakes", "most of its wakes are its own (yields, wake_by_ref): it spins"},
	[LINT_BLOCKING] = {"blocking", "a syscall blocked its worker thread inside one of its polls"},
	[LINT_STARVED] = {"starved", "woken, it waited too long for a worker to poll it"},
	[LINT_LOCK_WAIT] = {"lock-wait", "queued on a tokio lock for too long"},
	[LINT_PANICKED] = {"panicked", "a panic unwound out of its poll"},
};

void lint_opts__default(struct lint_opts *o)
{
	*o = (struct lint_opts){
		.lost_waker_ns = 1000000000ULL,
		.long_poll_ns = 10000000ULL,
		.self_wake_share = 0.5,
		.self_wake_min = 4,
		.long_sched_ns = 50000000ULL,
		.lock_wait_ns = 1000000000ULL,
	};
}

const char *lint__name(enum lint l)
{
	return (unsigned)l < LINT_MAX ? lint_names[l].name : "unknown";
}

const char *lint__what(enum lint l)
{
	return (unsigned)l < LINT_MAX ? lint_names[l].what : "unknown";
}

const char *lint__names(__u32 flags, char *buf, size_t len)
{
	size_t at = 0;

	if (len)
		buf[0] = 0;
	for (int l = 0; l < LINT_MAX && len; l++)
		if (flags & LINT_BIT(l)) {
			int n = snprintf(buf + at, len - at, "%s%s", at ? "," : "", lint_names[l].name);

			if (n < 0 || (size_t)n >= len - at) {
				buf[at] = 0; /* a name that does not fit is left out whole */
				break;
			}
			at += (size_t)n;
		}
	return buf;
}

/* Its await record says no poll of it cloned its waker. */
static bool no_waker_cloned(const struct task_info *t)
{
	const struct aib_rec_await *r = task_info__current_await(t);
	size_t want = sizeof(PARKED_NO_WAKER_CLONED); /* with its NUL */

	return r && r->method == AIB_AWAIT_NONE && r->len >= want &&
	       !memcmp(r->text, PARKED_NO_WAKER_CLONED, want);
}

static __u64 longest_sched(const struct task_info *t)
{
	struct samples one;

	/* reads only: task_info__sched wants a task it may sort */
	return task_info__sched((struct task_info *)t, &one)->max;
}

__u32 lint__task(const struct task_model *m, const struct task_info *t, const struct lint_opts *o)
{
	const struct model_summary *s = task_model__summary(m);
	__u64 end = s->end_ts, wakes = 0;
	struct task_poll_hist one;
	const struct lock_waiter *w;
	__u32 f = 0;
	bool at_least;

	if (t->kind == TASK_RUNTIME)
		return 0;
	if (t->state == TASK_IDLE && t->polls && t->spawn_seen && !t->found_in_memory &&
	    !s->dropped_by[AIB_DROP_AWAIT_STACKS] && no_waker_cloned(t) &&
	    task_model__blocked_ns(m, t, &at_least) >= o->lost_waker_ns)
		f |= LINT_BIT(LINT_LOST_WAKER);
	if (task_info__poll_hist(t, &one)->max_ns >= o->long_poll_ns ||
	    (t->state == TASK_RUNNING && end > t->poll_start && end - t->poll_start >= o->long_poll_ns))
		f |= LINT_BIT(LINT_LONG_POLL);
	for (int k = 0; k < WAKE_KIND_MAX; k++)
		wakes += t->wakes[k];
	if (wakes && wakes >= o->self_wake_min &&
	    (double)t->wakes[WAKE_BY_SELF] >= o->self_wake_share * (double)wakes)
		f |= LINT_BIT(LINT_SELF_WAKES);
	if (task_info__blocked_calls(t))
		f |= LINT_BIT(LINT_BLOCKING);
	if (longest_sched(t) >= o->long_sched_ns ||
	    (t->state == TASK_RUNNABLE && end > t->since && end - t->since >= o->long_sched_ns))
		f |= LINT_BIT(LINT_STARVED);
	if (t->state != TASK_COMPLETED && lock_table__waiting_for(task_model__locks(m), t->id, &w) &&
	    end > w->since && end - w->since >= o->lock_wait_ns)
		f |= LINT_BIT(LINT_LOCK_WAIT);
	if (t->panicked)
		f |= LINT_BIT(LINT_PANICKED);
	return f;
}

struct lints {
	__u32 *flags; /* per task */
	size_t n;
	size_t count[LINT_MAX];
	size_t flagged;
};

struct lints *lints__new(const struct task_model *m, const struct lint_opts *o)
{
	struct lints *l = calloc(1, sizeof(*l));
	size_t n = task_model__task_count(m);

	if (!l || !(l->flags = calloc(n ? n : 1, sizeof(*l->flags)))) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		__u32 f = l->flags[i] = lint__task(m, task_model__task(m, i), o);

		l->flagged += f != 0;
		for (int k = 0; k < LINT_MAX; k++)
			l->count[k] += !!(f & LINT_BIT(k));
	}
	return l;
}

void lints__free(struct lints *l)
{
	if (!l)
		return;
	free(l->flags);
	free(l);
}

__u32 lints__flags(const struct lints *l, size_t i)
{
	return i < l->n ? l->flags[i] : 0;
}

size_t lints__count(const struct lints *l, enum lint k)
{
	return (unsigned)k < LINT_MAX ? l->count[k] : 0;
}

size_t lints__flagged(const struct lints *l)
{
	return l->flagged;
}
