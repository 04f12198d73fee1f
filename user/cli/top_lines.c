// SPDX-License-Identifier: MIT
/*
 * `top`'s text views as lines (top_ui.h): one task's detail, the locks,
 * the warnings, the help; and the header's counts and deadlock banner.
 * Everything is read off a finished model; nothing is drawn here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/deadlock.h"
#include "analysis/lints.h"
#include "cli/top_ui.h"
#include "lib/array.h"
#include "model/lock_table.h"
#include "record/await_site.h"
#include "report/report.h"

struct top_line {
	enum top_line_kind kind;
	char *text;
};

struct top_lines {
	struct top_line *v;
	size_t n, cap;
};

struct top_lines *top_lines__new(void)
{
	return calloc(1, sizeof(struct top_lines));
}

void top_lines__clear(struct top_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	l->n = 0;
}

void top_lines__free(struct top_lines *l)
{
	if (!l)
		return;
	top_lines__clear(l);
	free(l->v);
	free(l);
}

int top_lines__add(struct top_lines *l, enum top_line_kind kind, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (array__grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return -ENOMEM;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	l->v[l->n++] = (struct top_line){kind, s};
	return 0;
}

size_t top_lines__count(const struct top_lines *l)
{
	return l->n;
}

const char *top_lines__get(const struct top_lines *l, size_t i, enum top_line_kind *kind)
{
	if (i >= l->n)
		return NULL;
	if (kind)
		*kind = l->v[i].kind;
	return l->v[i].text;
}

/* Each text of a FILE-writing report function, line by line: the locks
 * view says what the text report says, in the same words. */
static int add_report_text(struct top_lines *l, enum top_line_kind kind, const char *text)
{
	const char *p = text;
	int err = 0;

	while (*p && !err) {
		size_t n = strcspn(p, "\n");

		err = top_lines__add(l, kind, "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
	return err;
}

/* ---- a task named for a list ---- */

/* "12 wait_for_config, parked at src/main.rs:23" or "12 spawned at
 * src/main.rs:30:5": its id as the table shows it, its name (or root async
 * fn), its await site or else its spawn location. d: scratch. */
static const char *task_label(const struct task_info *t, struct await_desc *d, char *buf,
			      size_t len)
{
	const struct await_frame *site = NULL, *root = NULL;
	const char *name = task_info__name(t);
	char id[32], fn[96];

	report__task_id(t, id, sizeof(id));
	if (task_info__await(t) && !await_desc__from_record(task_info__await(t), d) &&
	    d->method != AIB_AWAIT_NONE) {
		site = await_desc__site(d);
		for (int i = 0; i < d->nframes && !root; i++)
			root = d->frames[i].library ? NULL : &d->frames[i];
	}
	if (!name && root)
		name = await_site__short_name(root->function, fn, sizeof(fn));
	if (site && site->file[0])
		snprintf(buf, len, "task %s %s%sat %s:%u (%s)", id, name ? name : "", name ? " " : "",
			 site->file, site->line, t->panicked ? "panicked" : task_state_name(t->state));
	else if (t->location)
		snprintf(buf, len, "task %s %s%sspawned at %s (%s)", id, name ? name : "",
			 name ? ", " : "", t->location,
			 t->panicked ? "panicked" : task_state_name(t->state));
	else
		snprintf(buf, len, "task %s%s%s (%s)", id, name ? " " : "", name ? name : "",
			 t->panicked ? "panicked" : task_state_name(t->state));
	return buf;
}

/* ---- one task ---- */


static void add_times(struct top_lines *l, const struct task_row *r)
{
	const struct task_info *t = r->t;
	char b[5][16];

	top_lines__add(l, TOP_LINE_TEXT, "  Times:    total %s, busy %s, idle %s, waiting to run %s; %llu poll%s",
		       report__duration(r->total_ns, b[0], sizeof(b[0])),
		       report__duration(t->busy_ns, b[1], sizeof(b[1])),
		       report__duration(t->idle_ns, b[2], sizeof(b[2])),
		       report__duration(t->runnable_ns, b[3], sizeof(b[3])),
		       (unsigned long long)t->polls, t->polls == 1 ? "" : "s");
}

static void add_state(struct top_lines *l, const struct task_row *r, const struct task_detail *det,
		      __u64 stuck_ns)
{
	const struct task_info *t = r->t;
	char b[2][16], stuck[64] = "";

	switch (t->state) {
	case TASK_RUNNING:
		top_lines__add(l, TOP_LINE_TEXT, "  State:    running: in a poll for %s",
			       report__duration(det->poll_in_flight_ns, b[0], sizeof(b[0])));
		break;
	case TASK_IDLE:
	case TASK_RUNNABLE:
		if (r->stuck)
			snprintf(stuck, sizeof(stuck), ": STUCK (longer than --stuck-after %s)",
				 report__duration(stuck_ns, b[1], sizeof(b[1])));
		top_lines__add(l, r->stuck ? TOP_LINE_MARK : TOP_LINE_TEXT, "  State:    %s, %s %s%s%s",
			       r->state, t->state == TASK_IDLE ? "parked for" : "waiting to run for",
			       r->at_least ? "at least " : "",
			       report__duration(r->blocked_ns, b[0], sizeof(b[0])), stuck);
		break;
	default:
		top_lines__add(l, TOP_LINE_TEXT, "  State:    %s%s", r->state,
			       t->cancelled ? " (cancelled)" : "");
		break;
	}
}

static void add_spawn(struct top_lines *l, const struct task_model *m, const struct task_info *t,
		      const struct task_detail *det, struct await_desc *d)
{
	const char *how = t->kind == TASK_BLOCK_ON ? "block_on at " : "";
	char who[200];

	top_lines__add(l, TOP_LINE_TEXT, "  Kind:     %s (%s)", task_kind_name(t->kind),
		       aib_runtime_name(t->runtime));
	if (t->location)
		top_lines__add(l, TOP_LINE_TEXT, "  Spawned:  %s%s", how, t->location);
	else
		top_lines__add(l, TOP_LINE_TEXT, "  Spawned:  %s",
			       t->found_in_memory ? "before the attach (found in memory)"
			       : !t->spawn_seen   ? "before the session (first seen later)"
						  : "location not resolved");
	if (det->parent)
		top_lines__add(l, TOP_LINE_TEXT, "  Parent:   %s",
			       task_label(det->parent, d, who, sizeof(who)));
	else if (det->parent_id)
		top_lines__add(l, TOP_LINE_TEXT, "  Parent:   task %llu (no longer known)",
			       (unsigned long long)det->parent_id);
	(void)m;
}

/* The chain of async fns, the program's own frames (all of them when it
 * has none), the await it is parked on marked. */
static void add_await(struct top_lines *l, const struct task_model *m, const struct task_row *r,
		      struct await_desc *d)
{
	const struct task_info *t = r->t;
	const struct aib_rec_await *rec = task_info__current_await(t);
	__u64 now = task_model__summary(m)->end_ts;
	const struct await_frame *site;
	bool parked = t->state == TASK_IDLE || t->state == TASK_RUNNABLE, own = false;
	char name[96], dur[16], who[200];
	int depth = 0;

	if (!rec || await_desc__from_record(rec, d)) {
		top_lines__add(l, TOP_LINE_DIM, "Await: %s",
			       parked ? "not read yet (a parked task's await is read once it has "
					"been parked for 1 s; a recording has it at its end)"
				      : "none (not parked)");
		return;
	}
	if (d->method == AIB_AWAIT_NONE) {
		top_lines__add(l, TOP_LINE_DIM, "Await: unknown: %s", d->detail);
		return;
	}
	site = await_desc__site(d);
	top_lines__add(l, TOP_LINE_TITLE, "Await stack%s, outermost first (%s):",
		       parked ? "" : " when it last parked", await_site__method_name(d->method));
	for (int i = 0; i < d->nframes; i++)
		own |= !d->frames[i].library;
	for (int i = 0; i < d->nframes; i++) {
		const struct await_frame *fr = &d->frames[i];
		bool here = fr == site && parked;

		if (own && fr->library && fr != site)
			continue;
		depth++;
		top_lines__add(l, here ? TOP_LINE_MARK : TOP_LINE_TEXT, "%*s%s %s()  %s:%u%s%s",
			       2 * depth, "", here ? ">" : "-",
			       await_site__short_name(fr->function, name, sizeof(name)),
			       fr->file[0] ? fr->file : "?", fr->line,
			       here ? "   <-- blocked here for " : "",
			       here ? report__duration(r->blocked_ns, dur, sizeof(dur)) : "");
	}
	top_lines__add(l, TOP_LINE_TEXT, "%*swaiting for: %s (%s)", 2 * depth + 4, "",
		       await_site__kind_name(d->kind), d->detail[0] ? d->detail : "?");
	if (d->joined_id) {
		const struct task_info *j = task_model__by_id(m, d->joined_id);

		if (j) {
			struct await_desc *jd = malloc(sizeof(*jd));

			top_lines__add(l, TOP_LINE_TEXT, "%*sjoins: %s", 2 * depth + 4, "",
				       jd ? task_label(j, jd, who, sizeof(who)) : "?");
			free(jd);
		} else {
			top_lines__add(l, TOP_LINE_TEXT, "%*sjoins: task %llu", 2 * depth + 4, "",
				       (unsigned long long)d->joined_id);
		}
	}
	if (d->deadline_ts)
		top_lines__add(l, TOP_LINE_TEXT, "%*stime left: %s", 2 * depth + 4, "",
			       d->deadline_ts > now ? report__duration(d->deadline_ts - now, dur, sizeof(dur))
						    : "none (due)");
}

static void add_locks_of(struct top_lines *l, const struct task_model *m, const struct task_info *t)
{
	const struct lock_table *lt = task_model__locks(m);
	const struct lock_waiter *w;
	const struct lock_info *q = t->id ? lock_table__waiting_for(lt, t->id, &w) : NULL;
	__u64 now = task_model__summary(m)->end_ts;
	char label[64], dur[16];

	if (q)
		top_lines__add(l, TOP_LINE_MARK, "  Queued:   on %s for %s",
			       lock_info__label(q, label, sizeof(label)),
			       report__duration(now > w->since ? now - w->since : 0, dur, sizeof(dur)));
	for (size_t i = 0; t->id && i < lock_table__count(lt); i++) {
		const struct lock_info *k = lock_table__get(lt, i);

		for (size_t h = 0; h < k->nholders; h++)
			if (k->holders[h].task_id == t->id)
				top_lines__add(l, TOP_LINE_TEXT, "  Holds:    %s for %s",
					       lock_info__label(k, label, sizeof(label)),
					       report__duration(now > k->holders[h].since
								? now - k->holders[h].since : 0,
								dur, sizeof(dur)));
	}
}

static void add_hist(struct top_lines *l, const __u64 buckets[TASK_HIST_BUCKETS], unsigned width)
{
	unsigned first, last;
	char bar[512];

	if (!task_hist__range(buckets, &first, &last)) {
		top_lines__add(l, TOP_LINE_DIM, "  (none yet)");
		return;
	}
	for (unsigned b = first; b <= last; b++)
		top_lines__add(l, TOP_LINE_TEXT, "  %s", task_hist__bar(buckets, b, width, bar, sizeof(bar)));
}

/* "Last woken: by task 12 wait_for_config at src/main.rs:23 (idle), on
 * thread 4242 (tokio-runtime-w)". d: scratch. */
static void add_last_wake(struct top_lines *l, const struct task_model *m,
			  const struct task_info *t, struct await_desc *d)
{
	const char *thread, *by;
	const struct task_info *waker;
	enum wake_kind kind;
	__u64 id;
	__u32 tid;
	char who[200];

	if (!task_info__last_wake(t, &kind, &id, &tid))
		return;
	thread = task_model__thread_name(m, tid);
	waker = kind == WAKE_BY_TASK ? task_model__by_id(m, id) : NULL;
	by = kind == WAKE_BY_SELF     ? "itself"
	     : kind == WAKE_BY_THREAD ? "a thread outside any task (timer, I/O or blocking code)"
	     : waker		      ? task_label(waker, d, who, sizeof(who))
				      : "a task no longer known";
	top_lines__add(l, TOP_LINE_TEXT, "Last woken: by %s, on thread %u%s%s%s", by, tid,
		       thread ? " (" : "", thread ? thread : "", thread ? ")" : "");
}

int top_lines__detail(struct top_lines *l, const struct task_table *tt, size_t row,
		      const struct task_model *m, __u64 stuck_ns, unsigned bar_width)
{
	const struct task_row *r = task_table__row(tt, row);
	struct task_detail det;
	struct await_desc *d;
	char b[4][16], names[128], who[200];
	int err;

	top_lines__clear(l);
	if (!r || (err = task_table__detail(tt, row, &det)))
		return -ENOENT;
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	top_lines__add(l, TOP_LINE_TITLE, "Task %s  %s", task_table__cell(r, TASK_COL_ID, b[0], sizeof(b[0])),
		       r->name[0] ? r->name : "(no name)");
	add_state(l, r, &det, stuck_ns);
	add_spawn(l, m, r->t, &det, d);
	add_times(l, r);
	if (r->lints)
		for (int k = 0; k < LINT_MAX; k++)
			if (r->lints & LINT_BIT(k))
				top_lines__add(l, TOP_LINE_MARK, "  Warning:  %s: %s", lint__name(k),
					       lint__what(k));
	add_locks_of(l, m, r->t);
	top_lines__add(l, TOP_LINE_TEXT, "%s", "");
	add_await(l, m, r, d);
	if (det.joining_id && !(task_info__await(r->t) && d->joined_id == det.joining_id)) {
		const struct task_info *j = task_model__by_id(m, det.joining_id);

		top_lines__add(l, TOP_LINE_TEXT, "  Joins:    %s",
			       j ? task_label(j, d, who, sizeof(who)) : "a task no longer known");
	}
	top_lines__add(l, TOP_LINE_TEXT, "%s", "");
	top_lines__add(l, TOP_LINE_TEXT, "Wakes:      %llu by other tasks, %llu by itself, %llu by threads (timers, I/O, blocking code)",
		       (unsigned long long)det.wakes[WAKE_BY_TASK],
		       (unsigned long long)det.wakes[WAKE_BY_SELF],
		       (unsigned long long)det.wakes[WAKE_BY_THREAD]);
	add_last_wake(l, m, r->t, d);
	names[0] = 0;
	for (__u32 k = 0; k < det.nworkers; k++) {
		size_t at = strlen(names);

		snprintf(names + at, sizeof(names) - at, "%s%u%s%s%s", k ? ", " : "", det.workers[k],
			 det.worker_names[k] ? " (" : "", det.worker_names[k] ? det.worker_names[k] : "",
			 det.worker_names[k] ? ")" : "");
	}
	top_lines__add(l, TOP_LINE_TEXT, "Threads:    %s", det.nworkers ? names : "never polled");
	if (det.blocked_calls)
		top_lines__add(l, TOP_LINE_MARK, "Blocking:   %llu syscall%s blocked its worker, %s in all",
			       (unsigned long long)det.blocked_calls, det.blocked_calls == 1 ? "" : "s",
			       report__duration(det.blocked_ns, b[0], sizeof(b[0])));
	top_lines__add(l, TOP_LINE_TEXT, "%s", "");
	top_lines__add(l, TOP_LINE_TITLE, "Poll durations: %llu timed, max %s%s%s",
		       (unsigned long long)det.polls_timed,
		       report__duration(det.poll_max_ns, b[0], sizeof(b[0])),
		       det.poll_in_flight_ns ? "; one in flight for " : "",
		       det.poll_in_flight_ns ? report__duration(det.poll_in_flight_ns, b[1], sizeof(b[1])) : "");
	add_hist(l, det.poll_buckets, bar_width);
	top_lines__add(l, TOP_LINE_TITLE, "Scheduling delays: %llu, p50 %s, p99 %s, max %s%s",
		       (unsigned long long)det.sched_count,
		       report__duration(det.sched_p50_ns, b[0], sizeof(b[0])),
		       report__duration(det.sched_p99_ns, b[1], sizeof(b[1])),
		       report__duration(det.sched_max_ns, b[2], sizeof(b[2])),
		       det.sched_sampled ? " (bars from a uniform sample)" : "");
	add_hist(l, det.sched_buckets, bar_width);
	free(d);
	return 0;
}

/* ---- locks ---- */

static const char *who(const struct task_model *m, __u64 id, struct await_desc *d, char *buf,
		       size_t len)
{
	const struct task_info *t = task_model__by_id(m, id);

	if (!id)
		snprintf(buf, len, "a thread outside any task");
	else if (!t)
		snprintf(buf, len, "task %llu", (unsigned long long)id);
	else
		task_label(t, d, buf, len);
	return buf;
}

static void add_deadlocks(struct top_lines *l, const struct task_model *m,
			  const struct deadlock_finder *df)
{
	size_t n = df ? deadlock_finder__count(df) : 0;
	char dur[16];

	for (size_t i = 0; i < n; i++) {
		const struct deadlock *dl = deadlock_finder__get(df, i);
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (!f)
			return;
		report_text__deadlock(m, dl, f);
		if (dl->resolved_ts)
			fprintf(f, "(resolved after %s: a waiter gave up)\n",
				report__duration(dl->resolved_ts - dl->formed_ts, dur, sizeof(dur)));
		fclose(f);
		top_lines__add(l, TOP_LINE_TEXT, "%s", "");
		add_report_text(l, dl->resolved_ts ? TOP_LINE_TEXT : TOP_LINE_MARK, text);
		free(text);
	}
}

int top_lines__locks(struct top_lines *l, const struct task_model *m,
		     const struct deadlock_finder *df, bool captured)
{
	const struct lock_table *lt = task_model__locks(m);
	size_t n = lock_table__count(lt);
	const struct lock_info **rows = calloc(n ? n : 1, sizeof(*rows));
	struct await_desc *d = malloc(sizeof(*d));
	__u64 now = task_model__summary(m)->end_ts;
	char label[64], b[3][16], name[200];

	top_lines__clear(l);
	if (!rows || !d) {
		free(rows);
		free(d);
		return -ENOMEM;
	}
	if (!n)
		top_lines__add(l, TOP_LINE_DIM, "%s",
			       captured ? "No tokio lock seen yet."
					: "No lock data: tokio's locks are traced with --locks.");
	else
		top_lines__add(l, TOP_LINE_DIM, "%zu lock%s seen, most waited on first; waits and holds "
			       "in the model's time", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		rows[i] = lock_table__get(lt, i);
	qsort(rows, n, sizeof(*rows), report__locks_by_wait);
	for (size_t i = 0; i < n; i++) {
		const struct lock_info *k = rows[i];

		top_lines__add(l, k->nwaiters ? TOP_LINE_MARK : TOP_LINE_TITLE,
			       "%s: %s, %llu acquired (%llu contended), %zu holding, %zu waiting; wait p99 %s, hold p99 %s",
			       lock_info__label(k, label, sizeof(label)), lock_type_name(k->type),
			       (unsigned long long)k->acquisitions, (unsigned long long)k->contended,
			       k->nholders, k->nwaiters,
			       k->wait.count ? report__duration(samples__quantile((struct samples *)&k->wait, 0.99), b[0], sizeof(b[0])) : "-",
			       k->hold.count ? report__duration(samples__quantile((struct samples *)&k->hold, 0.99), b[1], sizeof(b[1])) : "-");
		for (size_t h = 0; h < k->nholders; h++)
			top_lines__add(l, TOP_LINE_TEXT, "    held by %s for %s%s",
				       who(m, k->holders[h].task_id, d, name, sizeof(name)),
				       report__duration(now > k->holders[h].since ? now - k->holders[h].since : 0,
							b[2], sizeof(b[2])),
				       k->holders[h].task_ended ? " (ended: the guard leaked or moved)" : "");
		for (size_t w = 0; w < k->nwaiters; w++) {
			const struct lock_waiter *q = &k->waiters[w];

			top_lines__add(l, TOP_LINE_TEXT, "    waiting%s: %s for %s",
				       q->kind == AIB_LOCK_KIND_RWLOCK_WRITE  ? " to write"
				       : q->kind == AIB_LOCK_KIND_RWLOCK_READ ? " to read"
									      : "",
				       who(m, q->task_id, d, name, sizeof(name)),
				       report__duration(now > q->since ? now - q->since : 0, b[2], sizeof(b[2])));
		}
	}
	add_deadlocks(l, m, df);
	free(rows);
	free(d);
	return 0;
}

const char *top_lines__deadlock_banner(const struct task_model *m, const struct deadlock_finder *df,
				       char *buf, size_t len)
{
	size_t n = df ? deadlock_finder__count(df) : 0, live = 0;
	const struct deadlock *first = NULL;
	char *text = NULL, *cycle;
	size_t tlen = 0;
	FILE *f;

	for (size_t i = 0; i < n; i++)
		if (!deadlock_finder__get(df, i)->resolved_ts) {
			first = first ? first : deadlock_finder__get(df, i);
			live++;
		}
	if (!first || !(f = open_memstream(&text, &tlen)))
		return NULL;
	/* the report's own "Cycle: task 12 -> Mutex A -> ..." line */
	report_text__deadlock(m, first, f);
	fclose(f);
	cycle = strstr(text, "Cycle: ");
	if (cycle) {
		cycle += strlen("Cycle: ");
		cycle[strcspn(cycle, "\n")] = 0;
	}
	snprintf(buf, len, "DEADLOCK: %s%s (l: locks)", cycle ? cycle : "a cycle of tasks",
		 live > 1 ? " and more" : "");
	free(text);
	return buf;
}

/* ---- warnings ---- */

int top_lines__warnings(struct top_lines *l, const struct task_table *tt,
			const struct task_model *m)
{
	const struct lints *ls = task_table__lints(tt);
	size_t n = task_model__task_count(m);
	struct await_desc *d = malloc(sizeof(*d));
	char label[240];

	top_lines__clear(l);
	if (!d)
		return -ENOMEM;
	top_lines__add(l, TOP_LINE_DIM, "%zu task%s flagged; each warning, its count, what it means "
		       "(analysis/lints.h), then its tasks", lints__flagged(ls),
		       lints__flagged(ls) == 1 ? "" : "s");
	for (int k = 0; k < LINT_MAX; k++) {
		size_t count = lints__count(ls, k);

		top_lines__add(l, TOP_LINE_TEXT, "%s", "");
		top_lines__add(l, count ? TOP_LINE_MARK : TOP_LINE_TITLE, "%-11s %4zu  %s",
			       lint__name(k), count, lint__what(k));
		for (size_t i = 0; count && i < n; i++)
			if (lints__flags(ls, i) & LINT_BIT(k))
				top_lines__add(l, TOP_LINE_TEXT, "                  %s",
					       task_label(task_model__task(m, i), d, label, sizeof(label)));
	}
	free(d);
	return 0;
}

/* ---- help ---- */

int top_lines__help(struct top_lines *l, bool replay)
{
	static const char *const keys[] = {
		"Views",
		"  t           tasks: one row per task and block_on root",
		"  Enter       the selected task's detail (Enter or Esc: back)",
		"  l           locks: holders, waiters, waits and holds (--locks)",
		"  w           warnings: each lint, its count and its tasks",
		"  ?  h        this help (again, or Esc: back)",
		"  q           quit",
		"",
		"Tasks",
		"  Up Down j k select a task; PgUp PgDn a page; g G the first, the last",
		"  s  S        sort by the next (previous) column",
		"  i           invert the sort",
		"  /           filter: type text (name, location, await, state, warning, id),",
		"              Enter applies it, Esc cancels; Esc in the list clears it",
		"  c           show or hide completed tasks (the selected one stays)",
		"  Esc         clear the filter",
		"",
		"Text views (detail, locks, warnings, help)",
		"  Up Down j k PgUp PgDn g G   scroll",
		"",
	};
	static const char *const live[] = {
		"Live",
		"  space       pause the display (tracing goes on); again to resume",
		"  Home End    the first, the last task",
	};
	static const char *const clock[] = {
		"Replay: the clock (every view shows that instant)",
		"  Left Right  1 s back, on",
		"  [  ]        10 s back, on",
		"  Home End    the recording's start, its end",
		"  Shift-Left Shift-Right, or < >",
		"              the selected task's previous, next event (spawn, poll, wake, end...)",
	};
	const char *const *more = replay ? clock : live;
	size_t nmore = replay ? sizeof(clock) / sizeof(clock[0]) : sizeof(live) / sizeof(live[0]);

	top_lines__clear(l);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (top_lines__add(l, keys[i][0] && keys[i][0] != ' ' ? TOP_LINE_TITLE : TOP_LINE_TEXT,
				   "%s", keys[i]))
			return -ENOMEM;
	for (size_t i = 0; i < nmore; i++)
		if (top_lines__add(l, more[i][0] != ' ' ? TOP_LINE_TITLE : TOP_LINE_TEXT, "%s", more[i]))
			return -ENOMEM;
	top_lines__add(l, TOP_LINE_TEXT, "%s", "");
	top_lines__add(l, TOP_LINE_TITLE, "%s", "Columns");
	top_lines__add(l, TOP_LINE_TEXT, "%s", "  Warn: its warnings (w); State: running, runnable, idle, completed (stuck: parked");
	top_lines__add(l, TOP_LINE_TEXT, "%s", "  longer than --stuck-after); Total: its age; Busy: in polls; Sched p99: wake to poll;");
	top_lines__add(l, TOP_LINE_TEXT, "%s", "  Idle: parked; Await: the .await it is parked on; Location: where it was spawned");
	return 0;
}

/* ---- the header ---- */

const char *top_lines__counts(const struct task_table *tt, const struct task_model *m, char *buf,
			      size_t len)
{
	size_t n = task_model__task_count(m), state[4] = {0}, roots = 0, panicked = 0;
	char more[64] = "";

	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);

		if (t->kind == TASK_RUNTIME)
			continue;
		state[t->state]++;
		roots += t->kind == TASK_BLOCK_ON;
		panicked += t->panicked;
	}
	if (panicked)
		snprintf(more, sizeof(more), " (%zu panicked)", panicked);
	snprintf(buf, len, "Tasks: %zu running, %zu runnable, %zu idle, %zu completed%s; %zu stuck"
		 "; %zu block_on root%s", state[TASK_RUNNING], state[TASK_RUNNABLE], state[TASK_IDLE],
		 state[TASK_COMPLETED], more, task_table__stuck(tt), roots, roots == 1 ? "" : "s");
	return buf;
}

const char *top_lines__lint_counts(const struct task_table *tt, char *buf, size_t len)
{
	const struct lints *ls = task_table__lints(tt);
	size_t at;

	at = (size_t)snprintf(buf, len, "Warnings:");
	for (int k = 0; k < LINT_MAX && at < len; k++)
		if (lints__count(ls, k))
			at += (size_t)snprintf(buf + at, len - at, " %s %zu", lint__name(k),
					       lints__count(ls, k));
	if (!lints__flagged(ls) && at < len)
		snprintf(buf + at, len - at, " none");
	return buf;
}
