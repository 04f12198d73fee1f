// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "record/await_site.h"
#include "analysis/lints.h"
#include "analysis/location_stats.h"
#include "report/report.h"
#include "model/task_model.h"

#define LOC_WIDTH 32 /* the task table is then exactly 100 columns */

const char *report__duration(unsigned long long ns, char *buf, size_t len)
{
	/* Switch units where the rounded figure would reach the next one, so
	 * 999,999 ns reads "1.00ms", not "1000.0us". */
	if (ns < 1000ULL)
		snprintf(buf, len, "%lluns", ns);
	else if (ns < 999950ULL)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 999995000ULL)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else if (ns < 59995000000ULL)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else {
		unsigned long long secs = (ns + 500000000ULL) / 1000000000ULL;

		if (secs < 3600)
			snprintf(buf, len, "%llum%02llus", secs / 60, secs % 60);
		else
			snprintf(buf, len, "%lluh%02llum", secs / 3600, secs / 60 % 60);
	}
	return buf;
}

const char *report__task_id(const struct task_info *t, char *buf, size_t len)
{
	if (t->kind == TASK_BLOCK_ON && t->id >= AIB_ROOT_ID_BASE)
		snprintf(buf, len, "root%llu", (unsigned long long)(t->id - AIB_ROOT_ID_BASE + 1));
	else if (t->id)
		snprintf(buf, len, "%llu", (unsigned long long)t->id);
	else
		snprintf(buf, len, "?");
	return buf;
}

/* Keep the end of a long location: the file name and line matter most. */
static const char *fit(const char *s, char *buf, size_t width)
{
	size_t n;

	if (!s)
		return "?";
	n = strlen(s);
	if (n <= width)
		return s;
	snprintf(buf, width + 1, "...%s", s + n - (width - 3));
	return buf;
}

static __u64 total_ns(const struct task_info *t, __u64 end)
{
	__u64 until = t->end_ts ? t->end_ts : end;

	return until > t->spawn_ts ? until - t->spawn_ts : 0;
}

struct row {
	struct task_info *t;
};

static int by_idle_desc(const void *a, const void *b)
{
	const struct task_info *x = ((const struct row *)a)->t, *y = ((const struct row *)b)->t;

	if (x->idle_ns != y->idle_ns)
		return x->idle_ns > y->idle_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void summary(const struct task_model *m, const struct report_opts *o, FILE *f)
{
	const struct model_summary *s = task_model__summary(m);
	char d[32], head[40], tail[96], exe[101];
	int head_len, tail_len;
	size_t room;

	/* the exe path gets what room the line leaves within 100 columns */
	head_len = snprintf(head, sizeof(head), "async-inspect-bpf: pid %u ", s->pid);
	tail_len = snprintf(tail, sizeof(tail), " (%s), %s traced, ended: %s",
			    s->runtime_desc ? s->runtime_desc : "unknown runtime",
			    report__duration(s->end_ts - s->start_ts, d, sizeof(d)),
			    o->ended ? o->ended : "?");
	room = head_len + tail_len + 12 < 100 ? (size_t)(100 - head_len - tail_len) : 12;
	fprintf(f, "%s%s%s\n", head, fit(s->exe, exe, room), tail);
	fprintf(f, "Tasks:  %llu spawned, %llu completed, %llu alive", (unsigned long long)s->tasks_spawned,
		(unsigned long long)s->tasks_completed, (unsigned long long)s->tasks_alive);
	if (s->runtime_tasks)
		fprintf(f, " (+%llu runtime worker tasks not listed)", (unsigned long long)s->runtime_tasks);
	if (s->roots)
		fprintf(f, "\nRoots:  %llu block_on (%llu alive), %llu polls: futures threads poll "
			   "themselves",
			(unsigned long long)s->roots, (unsigned long long)s->roots_alive,
			(unsigned long long)s->root_polls);
	fprintf(f, "\nPolls:  %llu   Wakes: %llu   Events: %llu   Lost: %llu   Dropped: %llu\n",
		(unsigned long long)s->polls, (unsigned long long)s->wakes,
		(unsigned long long)s->events, (unsigned long long)s->lost,
		(unsigned long long)s->dropped);
	/* a stack not kept costs an await site, no count or timing */
	if (s->lost || s->dropped > s->dropped_by[AIB_DROP_AWAIT_STACKS])
		fprintf(f, "WARNING: %llu events were lost (ring buffer full) and %llu dropped:\n"
			   "         counts and timings below are incomplete (try --ringbuf-mb)\n",
			(unsigned long long)s->lost,
			(unsigned long long)(s->dropped - s->dropped_by[AIB_DROP_AWAIT_STACKS]));
	for (int d = AIB_DROP_RINGBUF + 1; d < AIB_DROP_MAX; d++)
		if (s->dropped_by[d] && d != AIB_DROP_AWAIT_STACKS)
			fprintf(f, "         dropped: %llu, %s\n", (unsigned long long)s->dropped_by[d],
				aib_drop_what(d));
	if (s->dropped_by[AIB_DROP_AWAIT_STACKS])
		fprintf(f, "Note: %llu await stacks were not kept (%s): those tasks' await sites are\n"
			   "      unknown unless decoded from memory.\n",
			(unsigned long long)s->dropped_by[AIB_DROP_AWAIT_STACKS],
			aib_drop_what(AIB_DROP_AWAIT_STACKS));
	if (s->tasks_retired)
		fprintf(f, "Note: %llu older completed tasks are only counted (per spawn location), not "
			   "listed.\n",
			(unsigned long long)s->tasks_retired);
	if (s->late_attach)
		fprintf(f, "Note: attached to a running process: tasks spawned before the attach show\n"
			   "      no location and timings from first sight.\n");
	if (!s->spawn_locations)
		fprintf(f, "Note: spawn functions not found (inlined?): no spawn locations.\n");
	if (s->no_line_tables)
		fprintf(f, "Note: the binary has no line tables: await sites%s are function names at\n"
			   "      best. `debug = \"line-tables-only\"` under [profile.release] in\n"
			   "      Cargo.toml brings file:line.\n",
			s->runtimes & AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK) ? " and async-task spawn sites"
										: "");
	if (s->no_line_tables && s->build_id[0])
		fprintf(f, "Note: frames named 0x... are code addresses in the executable of build-id\n"
			   "      %s: `replay --debuginfo FILE` of a recording (--record)\n"
			   "      names them from its debug file.\n",
			s->build_id);
}

static void locations(const struct task_model *m, FILE *f)
{
	struct location_stat *st;
	long n = location_stats__collect(m, &st);
	char buf[64];

	/* a task first seen at a poll predates an attach, or its spawn
	 * function was not probed (inlined) */
	const char *unseen = task_model__summary(m)->late_attach ? "(unknown: spawned before attach)"
								 : "(unknown: spawn not seen)";

	if (n <= 0)
		return;
	fprintf(f, "\n%-62s %9s %10s %8s\n", "Spawn location", "Spawned", "Completed", "Alive");
	for (long i = 0; i < n; i++)
		fprintf(f, "%-62s %9llu %10llu %8llu\n",
			st[i].location	     ? fit(st[i].location, buf, 62)
			: st[i].spawn_seen ? "(unknown: spawn site not resolved)"
					   : unseen,
			(unsigned long long)st[i].spawned, (unsigned long long)st[i].completed,
			(unsigned long long)st[i].alive);
	free(st);
}

struct stuck_row {
	const struct task_info *t;
	__u64 blocked;
	bool at_least;
	const char *thread; /* a block_on root's thread, or NULL */
	bool late_attach;   /* a task first seen at a poll may predate the session */
};

static int by_blocked_desc(const void *a, const void *b)
{
	const struct stuck_row *x = a, *y = b;

	if (x->blocked != y->blocked)
		return x->blocked > y->blocked ? -1 : 1;
	return x->t->id < y->t->id ? -1 : x->t->id > y->t->id;
}

/* One stuck task drawn as its async stack, the stuck await marked:
 *   Task 17 wait_for_config  spawned at src/main.rs:30:22
 *     └─> wait_for_config()  src/main.rs:12
 *         └─> recv_config()  src/main.rs:8   ◄── BLOCKED 4m03s
 *             └─> waiting for: channel (oneshot receive) */
static void stuck_task(const struct stuck_row *r, const struct report_opts *o,
		       struct await_desc *d, __u64 end, FILE *f)
{
	const struct task_info *t = r->t;
	bool known = task_info__await(t) && !await_desc__from_record(task_info__await(t), d);
	const struct await_frame *site = known ? await_desc__site(d) : NULL;
	char id[24], name[96], dur[32], blocked[64];
	int depth = 1, root = -1;

	report__task_id(t, id, sizeof(id));
	report__duration(r->blocked, dur, sizeof(dur));
	snprintf(blocked, sizeof(blocked), "BLOCKED %s%s", r->at_least ? "at least " : "", dur);
	for (int i = 0; known && i < d->nframes && root < 0; i++)
		if (!d->frames[i].library)
			root = i;
	fprintf(f, "Task %s %s", id,
		task_info__name(t)	   ? task_info__name(t)
		: root >= 0 ? await_site__short_name(d->frames[root].function, name, sizeof(name))
			    : "");
	if (t->location)
		fprintf(f, "  %s at %s", t->kind == TASK_BLOCK_ON ? "block_on" : "spawned", t->location);
	else
		fprintf(f, "  %s", t->found_in_memory ? "(found in memory: spawned before the attach)"
				   : r->late_attach   ? "(spawned before the attach)"
				   : t->spawn_seen    ? "(spawn site not resolved)"
						      : "(spawn not seen)");
	if (r->thread)
		fprintf(f, " on thread %s", r->thread);
	fputc('\n', f);
	if (!known || d->method == AIB_AWAIT_NONE) {
		fprintf(f, "  └─> await unknown: %s   ◄── %s\n",
			known ? d->detail : "no await seen", blocked);
		return;
	}
	for (int i = 0; i < d->nframes; i++) {
		const struct await_frame *fr = &d->frames[i];

		if (fr->library && !o->all_frames)
			continue;
		fprintf(f, "%*s└─> %s()  ", depth * 4 - 2, "",
			o->all_frames ? fr->function : await_site__short_name(fr->function, name, sizeof(name)));
		if (fr->file[0])
			fprintf(f, "%s:%u", fr->file, fr->line);
		if (fr == site)
			fprintf(f, "   ◄── %s", blocked);
		fputc('\n', f);
		depth++;
	}
	fprintf(f, "%*s└─> waiting for: %s (%s", depth * 4 - 2, "", await_site__kind_name(d->kind),
		d->detail[0] ? d->detail : "?");
	if (d->joined_id)
		fprintf(f, "; task %llu", (unsigned long long)d->joined_id);
	if (d->deadline_ts)
		fprintf(f, "; %s left", report__duration(d->deadline_ts > end ? d->deadline_ts - end : 0,
							 dur, sizeof(dur)));
	fprintf(f, ")  [%s]\n", await_site__method_name(d->method));
}

/* Tasks parked longer than --stuck-after, longest first: what users look
 * at first in a hung program. */
static int stuck_tasks(const struct task_model *m, const struct report_opts *o, FILE *f)
{
	size_t n = task_model__task_count(m), nrows = 0;
	struct stuck_row *rows = calloc(n ? n : 1, sizeof(*rows));
	struct await_desc *d = malloc(sizeof(*d));
	char dur[32];

	if (!rows || !d) {
		free(rows);
		free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);
		struct stuck_row r = {.t = t, .late_attach = task_model__summary(m)->late_attach};

		if (t->kind == TASK_RUNTIME || (t->state != TASK_IDLE && t->state != TASK_RUNNABLE))
			continue;
		if (t->kind == TASK_BLOCK_ON && t->nworkers) /* a test's: named after the test */
			r.thread = task_model__thread_name(m, t->worker);
		r.blocked = task_model__blocked_ns(m, t, &r.at_least);
		if (r.blocked >= o->stuck_after_ns)
			rows[nrows++] = r;
	}
	if (nrows) {
		qsort(rows, nrows, sizeof(*rows), by_blocked_desc);
		fprintf(f, "\nStuck tasks (parked longer than %s), longest first:\n",
			report__duration(o->stuck_after_ns, dur, sizeof(dur)));
		for (size_t i = 0; i < nrows; i++)
			stuck_task(&rows[i], o, d, task_model__summary(m)->end_ts, f);
	}
	free(rows);
	free(d);
	return 0;
}

#define WARNED_IDS_SHOWN 8

/* The lints that flag a task (top's Warn column), each with its tasks. */
static int warnings(const struct task_model *m, FILE *f)
{
	struct lint_opts lo;
	struct lints *l;
	char id[24];

	lint_opts__default(&lo);
	l = lints__new(m, &lo);
	if (!l)
		return -ENOMEM;
	if (lints__flagged(l))
		fprintf(f, "\nWarnings (top's Warn column; docs: README, Live view: top):\n");
	for (int k = 0; k < LINT_MAX; k++) {
		size_t n = lints__count(l, k), shown = 0;

		if (!n)
			continue;
		fprintf(f, "  %-10s %zu task%s (", lint__name(k), n, n == 1 ? "" : "s");
		for (size_t i = 0; i < task_model__task_count(m) && shown < WARNED_IDS_SHOWN; i++)
			if (lints__flags(l, i) & LINT_BIT(k))
				fprintf(f, "%s%s", shown++ ? ", " : "",
					report__task_id(task_model__task(m, i), id, sizeof(id)));
		fprintf(f, "%s): %s\n", n > shown ? ", ..." : "", lint__what(k));
	}
	lints__free(l);
	return 0;
}

int report_text__write(const struct task_model *m, const struct report_opts *o, FILE *f)
{
	const struct model_summary *s = task_model__summary(m);
	size_t n = task_model__task_count(m), nrows = 0, shown;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	char b1[16], b2[16], b3[16], b4[16], lb[LOC_WIDTH + 1];

	if (!rows)
		return -ENOMEM;
	summary(m, o, f);
	if (stuck_tasks(m, o, f) || report_text__deadlocks(m, o->deadlocks, o, f) ||
	    report_text__locks(m, o, f) || report_text__blocking(m, o, f) || warnings(m, f)) {
		free(rows);
		return -ENOMEM;
	}
	locations(m, f);

	for (size_t i = 0; i < n; i++) {
		struct task_info *t = task_model__task(m, i);

		if (t->kind != TASK_RUNTIME)
			rows[nrows++].t = t;
	}
	qsort(rows, nrows, sizeof(*rows), by_idle_desc);
	shown = o->max_tasks && o->max_tasks < nrows ? o->max_tasks : nrows;

	fprintf(f, "\n%-8s %-9s %-*s %9s %9s %10s %9s %7s\n", "ID", "State", LOC_WIDTH, "Location",
		"Total", "Busy", "Sched p99", "Idle", "Polls");
	for (size_t i = 0; i < shown; i++) {
		struct task_info *t = rows[i].t;
		struct samples one, *sched = task_info__sched(t, &one);
		char id[24], named[LOC_WIDTH + AIB_TASK_NAME_MAX + 4];

		report__task_id(t, id, sizeof(id));
		/* a named task (async-std Builder::name) shows its name first */
		if (task_info__name(t))
			snprintf(named, sizeof(named), "\"%s\" %s", task_info__name(t),
				 t->location ? t->location : "");
		fprintf(f, "%-8s %-9s %-*s %9s %9s %10s %9s %7llu\n", id,
			t->panicked ? "panicked" : task_state_name(t->state), LOC_WIDTH,
			fit(task_info__name(t) ? named : t->location, lb, LOC_WIDTH),
			report__duration(total_ns(t, s->end_ts), b1, sizeof(b1)),
			report__duration(t->busy_ns, b2, sizeof(b2)),
			sched->count ? report__duration(samples__quantile(sched, 0.99), b3, sizeof(b3)) : "-",
			report__duration(t->idle_ns, b4, sizeof(b4)), (unsigned long long)t->polls);
	}
	if (shown < nrows)
		fprintf(f, "... %zu more tasks (all of them: --json FILE, or --tasks 0)\n", nrows - shown);
	free(rows);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
