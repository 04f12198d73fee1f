// SPDX-License-Identifier: MIT
/*
 * The JSON export's lock members: "locks" (tokio's locks with their waits,
 * holds and, right now, holders and waiters), "blocking" (syscalls that
 * blocked a worker inside a poll, per site) and "deadlocks".
 */
#include <errno.h>
#include <stdlib.h>
#include "record/await_site.h"
#include "model/blocking_calls.h"
#include "analysis/deadlock.h"
#include "lib/json_writer.h"
#include "model/lock_table.h"
#include "report/report.h"
#include "model/task_model.h"

static double ms(__u64 ns)
{
	return ns / 1e6;
}

static void address(struct json_writer *w, __u64 addr)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)addr);
	json__string(w, buf);
}

static void task_id(struct json_writer *w, __u64 id)
{
	if (id)
		json__u64(w, id);
	else
		json__null(w); /* a thread outside any task */
}

static const char *wants(enum aib_lock_kind k)
{
	return k == AIB_LOCK_KIND_RWLOCK_WRITE ? "write" : k == AIB_LOCK_KIND_RWLOCK_READ ? "read" : NULL;
}

/* The waiter's await site, when the end of the session resolved one. */
static void await_site(struct json_writer *w, const struct task_model *m, __u64 id,
		       struct await_desc *d)
{
	const struct await_frame *site = NULL;
	char where[200];

	for (size_t i = 0, n = task_model__task_count(m); id && i < n && !site; i++) {
		const struct task_info *t = task_model__task(m, i);

		if (t->id == id && t->state != TASK_COMPLETED && task_info__await(t) &&
		    !await_desc__from_record(task_info__await(t), d))
			site = await_desc__site(d);
	}
	if (site && site->file[0]) {
		snprintf(where, sizeof(where), "%s:%u", site->file, site->line);
		json__string(w, where);
	} else {
		json__null(w);
	}
}

static void lock(struct json_writer *w, const struct task_model *m, struct lock_info *l,
		 __u64 end, struct await_desc *d)
{
	json__object_begin(w);
	json__key(w, "address");
	address(w, l->address);
	json__key(w, "kind");
	json__string(w, lock_type_name(l->type));
	json__key(w, "permits");
	json__u64(w, l->type == LOCK_TYPE_SEMAPHORE ? l->permits_seen : 0);
	json__key(w, "acquisitions");
	json__u64(w, l->acquisitions);
	json__key(w, "contended");
	json__u64(w, l->contended);
	json__key(w, "gave_up");
	json__u64(w, l->gave_up);
	json__key(w, "untracked_releases");
	json__u64(w, l->untracked_releases);
	json__key(w, "wait_total_ms");
	json__double(w, ms(l->wait.sum), 3);
	json__key(w, "wait_p50_ms");
	json__double(w, ms(samples__quantile(&l->wait, 0.5)), 3);
	json__key(w, "wait_p99_ms");
	json__double(w, ms(samples__quantile(&l->wait, 0.99)), 3);
	json__key(w, "wait_max_ms");
	json__double(w, ms(l->wait.max), 3);
	json__key(w, "wait_open_ms");
	json__double(w, ms(l->open_wait_ns), 3);
	json__key(w, "hold_p50_ms");
	json__double(w, ms(samples__quantile(&l->hold, 0.5)), 3);
	json__key(w, "hold_p99_ms");
	json__double(w, ms(samples__quantile(&l->hold, 0.99)), 3);
	json__key(w, "hold_max_ms");
	json__double(w, ms(l->hold.max), 3);
	json__key(w, "max_waiters");
	json__u64(w, l->max_waiters);
	json__key(w, "holders");
	json__array_begin(w);
	for (size_t i = 0; i < l->nholders; i++) {
		const struct lock_holder *h = &l->holders[i];

		json__object_begin(w);
		json__key(w, "task");
		task_id(w, h->task_id);
		json__key(w, "permits");
		json__u64(w, h->permits);
		json__key(w, "held_ms");
		json__double(w, end > h->since ? ms(end - h->since) : 0, 3);
		json__key(w, "task_ended");
		json__bool(w, h->task_ended);
		json__object_end(w);
	}
	json__array_end(w);
	json__key(w, "waiters");
	json__array_begin(w);
	for (size_t i = 0; i < l->nwaiters; i++) {
		const struct lock_waiter *wt = &l->waiters[i];

		json__object_begin(w);
		json__key(w, "task");
		task_id(w, wt->task_id);
		json__key(w, "permits");
		json__u64(w, wt->permits);
		json__key(w, "wants");
		json__string(w, wants(wt->kind));
		json__key(w, "waiting_ms");
		json__double(w, end > wt->since ? ms(end - wt->since) : 0, 3);
		json__key(w, "await_site");
		await_site(w, m, wt->task_id, d);
		json__object_end(w);
	}
	json__array_end(w);
	json__object_end(w);
}

static void blocked_site(struct json_writer *w, const struct blocked_site *s, struct await_desc *d)
{
	bool named = s->example && !await_desc__from_blocked_record(s->example, d);
	const struct await_frame *site = named ? await_desc__site(d) : NULL;
	char what[64], where[200];

	json__object_begin(w);
	json__key(w, "what");
	json__string(w, blocking_call__what(s->syscall, s->example ? s->example->op : 0, s->arg, what,
					    sizeof(what)));
	json__key(w, "syscall");
	json__u64(w, s->syscall);
	json__key(w, "lock_address");
	if (blocking_call__is_futex(s->syscall))
		address(w, s->arg);
	else
		json__null(w);
	json__key(w, "calls");
	json__u64(w, s->calls);
	json__key(w, "total_ms");
	json__double(w, ms(s->total_ns), 3);
	json__key(w, "max_ms");
	json__double(w, ms(s->max_ns), 3);
	json__key(w, "tasks");
	json__array_begin(w);
	for (__u32 i = 0; i < s->ntasks; i++)
		task_id(w, s->tasks[i]);
	json__array_end(w);
	json__key(w, "site");
	if (site && site->file[0]) {
		snprintf(where, sizeof(where), "%s:%u", site->file, site->line);
		json__string(w, where);
	} else {
		json__null(w);
	}
	json__key(w, "function");
	json__string(w, site ? site->function : NULL);
	json__key(w, "stack"); /* innermost first: the call, then its callers */
	json__array_begin(w);
	for (int i = named ? d->nframes - 1 : -1; i >= 0; i--)
		report_json__frame(w, &d->frames[i]);
	json__array_end(w);
	json__object_end(w);
}

static void deadlock(struct json_writer *w, const struct task_model *m, const struct deadlock *d)
{
	const struct model_summary *s = task_model__summary(m);
	char cycle[1024], label[64];
	size_t len = 0;

	json__object_begin(w);
	json__key(w, "tasks");
	json__array_begin(w);
	for (int i = 0; i < d->n; i++)
		json__u64(w, d->links[i].task_id);
	json__array_end(w);
	json__key(w, "locks");
	json__array_begin(w);
	for (int i = 0; i < d->n; i++)
		if (d->links[i].lock)
			address(w, d->links[i].lock);
	json__array_end(w);
	for (int i = 0; i < d->n && len < sizeof(cycle); i++) {
		const struct lock_info *l = lock_table__find(task_model__locks(m), d->links[i].lock);

		len += snprintf(cycle + len, sizeof(cycle) - len, "task %llu -> %s -> ",
				(unsigned long long)d->links[i].task_id,
				l ? lock_info__label(l, label, sizeof(label)) : "JoinHandle");
	}
	if (len < sizeof(cycle))
		snprintf(cycle + len, sizeof(cycle) - len, "task %llu",
			 (unsigned long long)d->links[0].task_id);
	json__key(w, "cycle");
	json__string(w, cycle);
	json__key(w, "detected_at_ms");
	json__double(w, d->detected_ts > s->start_ts ? ms(d->detected_ts - s->start_ts) : 0, 3);
	json__key(w, "resolved");
	json__bool(w, d->resolved_ts != 0);
	json__object_end(w);
}

int report_json__locks(struct json_writer *w, const struct task_model *m,
		       const struct report_opts *o)
{
	const struct lock_table *lt = task_model__locks(m);
	const struct blocking_calls *bc = task_model__blocking(m);
	__u64 end = task_model__summary(m)->end_ts;
	struct await_desc *d = malloc(sizeof(*d));
	size_t n = o->deadlocks ? deadlock_finder__count(o->deadlocks) : 0;

	if (!d)
		return -ENOMEM;
	json__key(w, "locks");
	json__array_begin(w);
	for (size_t i = 0; i < lock_table__count(lt); i++)
		lock(w, m, (struct lock_info *)lock_table__get(lt, i), end, d);
	json__array_end(w);
	json__key(w, "blocking");
	json__array_begin(w);
	for (size_t i = 0; i < blocking_calls__count(bc); i++)
		blocked_site(w, blocking_calls__get(bc, i), d);
	json__array_end(w);
	json__key(w, "deadlocks");
	json__array_begin(w);
	for (size_t i = 0; i < n; i++)
		deadlock(w, m, deadlock_finder__get(o->deadlocks, i));
	json__array_end(w);
	free(d);
	return 0;
}
