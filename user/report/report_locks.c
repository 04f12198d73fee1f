// SPDX-License-Identifier: MIT
/*
 * The text report's lock sections: lock contention, blocking inside async
 * code, deadlocks (also printed live, as they are found).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "record/await_site.h"
#include "model/blocking_calls.h"
#include "analysis/deadlock.h"
#include "model/lock_table.h"
#include "report/report.h"
#include "model/task_model.h"

#define TOP_LOCKS 10
#define TOP_BLOCKING 10
#define NAMES_SHOWN 4

const char *report__task_label(const struct task_model *m, __u64 id, char *buf, size_t len)
{
	const struct task_info *t = task_model__by_id(m, id);
	struct await_desc *d = t && task_info__await(t) ? malloc(sizeof(*d)) : NULL;
	const struct await_frame *site = NULL, *root = NULL;
	char name[96];

	if (!id) {
		snprintf(buf, len, "a thread outside any task");
		free(d);
		return buf;
	}
	if (d && !await_desc__from_record(task_info__await(t), d)) {
		site = await_desc__site(d);
		for (int i = 0; i < d->nframes && !root; i++)
			root = d->frames[i].library ? NULL : &d->frames[i];
	}
	if (site && site->file[0])
		snprintf(buf, len, "task %llu (%s, %s:%u)", (unsigned long long)id,
			 task_info__name(t) ? task_info__name(t) : await_site__short_name(root->function, name, sizeof(name)),
			 site->file, site->line);
	else if (t && (task_info__name(t) || t->location))
		snprintf(buf, len, "task %llu (%s%s%s)", (unsigned long long)id, task_info__name(t) ? task_info__name(t) : "",
			 task_info__name(t) && t->location ? ", spawned at " : t->location ? "spawned at " : "",
			 t->location ? t->location : "");
	else
		snprintf(buf, len, "task %llu", (unsigned long long)id);
	free(d);
	return buf;
}

int report__locks_by_wait(const void *a, const void *b)
{
	const struct lock_info *x = *(const struct lock_info *const *)a;
	const struct lock_info *y = *(const struct lock_info *const *)b;

	if (x->wait.sum != y->wait.sum)
		return x->wait.sum > y->wait.sum ? -1 : 1;
	return x->acquisitions > y->acquisitions ? -1 : x->acquisitions < y->acquisitions;
}

static void lock_people(const struct task_model *m, const struct lock_info *l, __u64 end, FILE *f)
{
	char who[160], dur[32];

	for (size_t i = 0; i < l->nholders && i < NAMES_SHOWN; i++) {
		const struct lock_holder *h = &l->holders[i];

		fprintf(f, "    held by %s%s for %s\n", report__task_label(m, h->task_id, who, sizeof(who)),
			h->task_ended ? " (which has ended: the guard leaked or moved)" : "",
			report__duration(end > h->since ? end - h->since : 0, dur, sizeof(dur)));
	}
	if (l->nholders > NAMES_SHOWN)
		fprintf(f, "    ... and %zu more holders\n", l->nholders - NAMES_SHOWN);
	for (size_t i = 0; i < l->nwaiters && i < NAMES_SHOWN; i++) {
		const struct lock_waiter *w = &l->waiters[i];

		fprintf(f, "    waiting%s: %s for %s\n",
			w->kind == AIB_LOCK_KIND_RWLOCK_WRITE  ? " to write"
			: w->kind == AIB_LOCK_KIND_RWLOCK_READ ? " to read"
							       : "",
			report__task_label(m, w->task_id, who, sizeof(who)),
			report__duration(end > w->since ? end - w->since : 0, dur, sizeof(dur)));
	}
	if (l->nwaiters > NAMES_SHOWN)
		fprintf(f, "    ... and %zu more waiting\n", l->nwaiters - NAMES_SHOWN);
}

int report_text__locks(const struct task_model *m, const struct report_opts *o, FILE *f)
{
	const struct lock_table *lt = task_model__locks(m);
	size_t n = lock_table__count(lt), shown = 0, contended = 0;
	const struct lock_info **rows = calloc(n ? n : 1, sizeof(*rows));
	__u64 end = task_model__summary(m)->end_ts;
	char label[64], b[6][16];

	if (!rows)
		return -ENOMEM;
	if (!n) {
		free(rows);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		rows[i] = lock_table__get(lt, i);
		contended += rows[i]->contended || rows[i]->nwaiters;
	}
	qsort(rows, n, sizeof(*rows), report__locks_by_wait);
	fprintf(f, "\nLock contention (%zu locks seen, %zu contended; top locks by total wait):\n", n,
		contended);
	fprintf(f, "%-28s %8s %9s %9s %8s %8s %8s %8s %6s\n", "Lock", "Acquired", "Contended",
		"Wait tot", "p50", "p99", "max", "Hold p99", "Queue");
	for (size_t i = 0; i < n && shown < TOP_LOCKS; i++) {
		struct lock_info *l = (struct lock_info *)rows[i];

		if (!l->acquisitions && !l->nwaiters && !l->nholders)
			continue;
		shown++;
		fprintf(f, "%-28s %8llu %9llu %9s %8s %8s %8s %8s %6u\n",
			lock_info__label(l, label, sizeof(label)), (unsigned long long)l->acquisitions,
			(unsigned long long)l->contended,
			report__duration(l->wait.sum, b[0], sizeof(b[0])),
			report__duration(samples__quantile(&l->wait, 0.5), b[1], sizeof(b[1])),
			report__duration(samples__quantile(&l->wait, 0.99), b[2], sizeof(b[2])),
			report__duration(l->wait.max, b[3], sizeof(b[3])),
			report__duration(samples__quantile(&l->hold, 0.99), b[4], sizeof(b[4])),
			l->max_waiters);
		lock_people(m, l, end, f);
	}
	if (lock_table__evicted(lt))
		fprintf(f, "Note: %llu idle locks were folded away (more than %d seen).\n",
			(unsigned long long)lock_table__evicted(lt), LOCK_TABLE_MAX);
	free(rows);
	return 0;
}

static int by_total_desc(const void *a, const void *b)
{
	const struct blocked_site *x = *(const struct blocked_site *const *)a;
	const struct blocked_site *y = *(const struct blocked_site *const *)b;

	return x->total_ns > y->total_ns ? -1 : x->total_ns < y->total_ns;
}

int report_text__blocking(const struct task_model *m, const struct report_opts *o, FILE *f)
{
	const struct blocking_calls *bc = task_model__blocking(m);
	size_t n = blocking_calls__count(bc);
	const struct blocked_site **rows = calloc(n ? n : 1, sizeof(*rows));
	struct await_desc *d = malloc(sizeof(*d));
	char what[64], b[2][16], who[160], name[96];

	if (!rows || !d) {
		free(rows);
		free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		rows[i] = blocking_calls__get(bc, i);
	qsort(rows, n, sizeof(*rows), by_total_desc);
	if (n)
		fprintf(f, "\nBlocking in async code (a worker thread blocked in the kernel while it "
			   "polled a task):\n");
	for (size_t i = 0; i < n && i < TOP_BLOCKING; i++) {
		const struct blocked_site *s = rows[i];
		bool named = s->example && !await_desc__from_blocked_record(s->example, d);
		const struct await_frame *site = named ? await_desc__site(d) : NULL;

		fprintf(f, "  %s: %llu call%s, %s in all, longest %s, by %s%s\n",
			blocking_call__what(s->syscall, s->example ? s->example->op : 0, s->arg, what,
					    sizeof(what)),
			(unsigned long long)s->calls, s->calls == 1 ? "" : "s",
			report__duration(s->total_ns, b[0], sizeof(b[0])),
			report__duration(s->max_ns, b[1], sizeof(b[1])),
			report__task_label(m, s->tasks[0], who, sizeof(who)),
			s->ntasks > 1 ? " and others" : "");
		if (!named || !d->nframes) {
			fprintf(f, "    (no stack: the call's frames could not be unwound)\n");
			continue;
		}
		/* innermost first: the blocking call, then who made it */
		for (int k = d->nframes - 1, shown = 0; k >= 0 && shown < 6; k--) {
			const struct await_frame *fr = &d->frames[k];

			if (fr->library && !o->all_frames && fr != site && k != d->nframes - 1)
				continue;
			fprintf(f, "    at %s  %s:%u%s\n",
				o->all_frames ? fr->function
					      : await_site__short_name(fr->function, name, sizeof(name)),
				fr->file[0] ? fr->file : "?", fr->line,
				fr == site ? "   ◄── the blocking call in async code" : "");
			shown++;
		}
	}
	if (n > TOP_BLOCKING)
		fprintf(f, "  ... %zu more sites (all of them: --json FILE)\n", n - TOP_BLOCKING);
	free(rows);
	free(d);
	return 0;
}

/* "Mutex A", "Mutex B", ... by order of appearance in the cycle. */
static void lock_letter(const struct task_model *m, const struct deadlock *d, int i, char *buf,
			size_t len)
{
	const struct lock_info *l = lock_table__find(task_model__locks(m), d->links[i].lock);
	int letter = 0;

	for (int k = 0; k < i; k++)
		letter += d->links[k].lock != 0;
	snprintf(buf, len, "%s %c", l ? lock_type_name(l->type) : "lock", 'A' + letter % 26);
}

void report_text__deadlock(const struct task_model *m, const struct deadlock *d, FILE *f)
{
	char who[160], held[64], wanted[64], letter[32];
	bool joins = false;

	for (int i = 0; i < d->n; i++) {
		const struct deadlock_link *l = &d->links[i], *prev = &d->links[(i + d->n - 1) % d->n];
		const struct lock_info *want = lock_table__find(task_model__locks(m), l->lock);
		const struct lock_info *have = lock_table__find(task_model__locks(m), prev->lock);

		fprintf(f, "%s%s", i ? "          " : "DEADLOCK: ",
			report__task_label(m, l->task_id, who, sizeof(who)));
		if (have)
			fprintf(f, " holds %s,", lock_info__label(have, held, sizeof(held)));
		else if (prev->lock == 0)
			fprintf(f, " is awaited by task %llu,", (unsigned long long)prev->task_id);
		if (want)
			fprintf(f, " waits for %s\n", lock_info__label(want, wanted, sizeof(wanted)));
		else
			fprintf(f, " awaits task %llu's JoinHandle\n",
				(unsigned long long)d->links[(i + 1) % d->n].task_id);
		joins |= l->lock == 0;
	}
	fprintf(f, "Cycle: ");
	for (int i = 0; i < d->n; i++) {
		fprintf(f, "task %llu -> ", (unsigned long long)d->links[i].task_id);
		if (d->links[i].lock) {
			lock_letter(m, d, i, letter, sizeof(letter));
			fprintf(f, "%s -> ", letter);
		} else {
			fprintf(f, "JoinHandle -> ");
		}
	}
	fprintf(f, "task %llu\n", (unsigned long long)d->links[0].task_id);
	if (d->n == 1)
		fprintf(f, "Suggestion: the task waits for a lock it holds itself: drop the guard "
			   "before locking again (tokio's locks are not reentrant)\n");
	else if (joins)
		fprintf(f, "Suggestion: a task awaits another that waits for a lock the first holds: "
			   "drop the guard before awaiting the JoinHandle\n");
	else {
		char first[32], second[32];

		lock_letter(m, d, 0, first, sizeof(first));
		lock_letter(m, d, 1, second, sizeof(second));
		fprintf(f, "Suggestion: acquire the locks in one order everywhere (e.g. always %s "
			   "before %s), or hold one at a time\n", first, second);
	}
}

/* Queued on a lock held by a task that is not deadlocked: contention. */
static void long_waits(const struct task_model *m, const struct deadlock_finder *df,
		       const struct report_opts *o, FILE *f)
{
	const struct lock_table *lt = task_model__locks(m);
	__u64 end = task_model__summary(m)->end_ts;
	char who[160], lock[64], holder[160], dur[32];
	bool header = false;

	for (size_t i = 0; i < lock_table__count(lt); i++) {
		const struct lock_info *l = lock_table__get(lt, i);

		for (size_t k = 0; k < l->nwaiters; k++) {
			const struct lock_waiter *w = &l->waiters[k];

			if (end - w->since < o->stuck_after_ns ||
			    (df && deadlock_finder__involves(df, w->task_id)))
				continue;
			if (!header)
				fprintf(f, "\nLong lock waits with no cycle (contention, not a deadlock):\n");
			header = true;
			fprintf(f, "  %s waits for %s for %s, held by %s\n",
				report__task_label(m, w->task_id, who, sizeof(who)),
				lock_info__label(l, lock, sizeof(lock)),
				report__duration(end - w->since, dur, sizeof(dur)),
				l->nholders ? report__task_label(m, l->holders[0].task_id, holder,
								 sizeof(holder))
					    : "nobody we saw take it");
		}
	}
}

int report_text__deadlocks(const struct task_model *m, const struct deadlock_finder *df,
			   const struct report_opts *o, FILE *f)
{
	size_t n = df ? deadlock_finder__count(df) : 0;
	char dur[32];

	for (size_t i = 0; i < n; i++) {
		const struct deadlock *d = deadlock_finder__get(df, i);

		fputc('\n', f);
		report_text__deadlock(m, d, f);
		if (d->resolved_ts)
			fprintf(f, "(resolved after %s: a waiter gave up)\n",
				report__duration(d->resolved_ts - d->formed_ts, dur, sizeof(dur)));
	}
	long_waits(m, df, o, f);
	return 0;
}
