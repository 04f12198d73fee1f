/* SPDX-License-Identifier: MIT */
/*
 * Lints: per task warnings read off a finished model (or a finished clone),
 * with no change in the target, as tokio-console's are: each has a short
 * name for a table's Warn column, a one-line description, and the count of
 * tasks it flags. The runtime's carrier tasks are never flagged.
 *
 *   lost-waker  idle longer than lost_waker_ns, and none of its polls cloned
 *               its waker: nothing can wake it. What "none cloned" rests on:
 *               its await record (AIB_REC_AWAIT) says so (PARKED_NO_WAKER_CLONED:
 *               the await-stack map, filled at every clone of the task's
 *               waker by one of its polls, has no entry for it), for a task
 *               whose every poll was seen (spawned in the session, not found
 *               in memory), polled at least once, and no await stack was
 *               dropped in BPF (AIB_DROP_AWAIT_STACKS). Waker drops are not
 *               traced, so a waker cloned once and dropped since is not
 *               caught; and a last poll without a clone is not a sign either
 *               (tokio's own futures keep the first clone when will_wake
 *               says it is the same). Await records come at the end of a
 *               live session (and so in any replay of its end); a live view
 *               resolves parked tasks itself to get them.
 *   long-poll   a poll (ended, or in flight at the end) longer than
 *               long_poll_ns: it held its worker thread that long.
 *   self-wakes  at least self_wake_share of its wakes (and self_wake_min of
 *               them) came from its own polls (yields, wake_by_ref).
 *   blocking    a syscall blocked its worker inside one of its polls
 *               (`--blocking` recordings: AIB_REC_BLOCKED).
 *   starved     waited longer than long_sched_ns between a wake (or its
 *               spawn) and its next poll, or waits so at the end: the
 *               workers were busy elsewhere (blocked, or long polls).
 *   lock-wait   queued on a tokio lock longer than lock_wait_ns at the end
 *               (`--locks` recordings).
 *   panicked    a panic unwound out of its poll.
 */
#ifndef LINTS_H
#define LINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

enum lint {
	LINT_LOST_WAKER,
	LINT_LONG_POLL,
	LINT_SELF_WAKES,
	LINT_BLOCKING,
	LINT_STARVED,
	LINT_LOCK_WAIT,
	LINT_PANICKED,
	LINT_MAX
};
#define LINT_BIT(l) (1u << (l))

struct lint_opts {
	__u64 lost_waker_ns;	/* default 1 s */
	__u64 long_poll_ns;	/* default 10 ms */
	double self_wake_share; /* default 0.5 */
	__u64 self_wake_min;	/* wakes, default 4 */
	__u64 long_sched_ns;	/* default 50 ms */
	__u64 lock_wait_ns;	/* default 1 s */
};

struct task_model;
struct task_info;

void lint_opts__default(struct lint_opts *o);
/* "lost-waker", ... and what it means in one line. */
const char *lint__name(enum lint l);
const char *lint__what(enum lint l);
/* The LINT_BIT()s of one task of a finished model. */
__u32 lint__task(const struct task_model *m, const struct task_info *t, const struct lint_opts *o);
/* Its flags for a Warn column ("lost-waker,long-poll"; "" for none): buf. */
const char *lint__names(__u32 flags, char *buf, size_t len);

/* Every task's flags and each lint's count, computed once. */
struct lints;

/* m finished; NULL when out of memory (errno ENOMEM). */
struct lints *lints__new(const struct task_model *m, const struct lint_opts *o);
void lints__free(struct lints *l);
/* The flags of task i (task_model__task's order). */
__u32 lints__flags(const struct lints *l, size_t i);
/* Tasks flagged by lint k; tasks flagged by any. */
size_t lints__count(const struct lints *l, enum lint k);
size_t lints__flagged(const struct lints *l);

#endif
