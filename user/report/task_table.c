// SPDX-License-Identifier: MIT
/*
 * Rows are made once per table, for every task but the runtime's carriers;
 * a view is the list of those shown, in order. Their strings (root fn
 * names, await sites, addresses) live in one pool, made before any row
 * points into it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/lints.h"
#include "lib/array.h"
#include "record/await_site.h"
#include "report/report.h"
#include "report/task_table.h"

struct task_table {
	const struct task_model *m;
	struct task_row *all;
	size_t nall;
	size_t *shown; /* indexes into all */
	size_t nshown;
	struct lints *lints;
	size_t stuck;
	char *pool;
	size_t pool_len, pool_cap;
	struct task_table_opts o;
	char filter[128]; /* the view's (the caller's string may go) */
};

void task_table_opts__default(struct task_table_opts *o)
{
	*o = (struct task_table_opts){
		.sort = TASK_COL_IDLE,
		.descending = true,
		.stuck_ns = 2000000000ULL,
	};
	lint_opts__default(&o->lints);
}

const char *task_col__name(enum task_col c)
{
	static const char *const names[TASK_COL_MAX] = {
		"Warn", "ID", "State", "Name", "Total", "Busy", "Sched p99", "Idle", "Polls", "Await",
		"Location",
	};

	return (unsigned)c < TASK_COL_MAX ? names[c] : "?";
}

/* A string into the pool: its offset + 1 (0: none, or no memory). */
static size_t pool_add(struct task_table *tt, const char *s)
{
	size_t n = strlen(s) + 1, at = tt->pool_len;

	if (array__grow((void **)&tt->pool, &tt->pool_cap, tt->pool_len + n, 1))
		return 0;
	memcpy(tt->pool + at, s, n);
	tt->pool_len += n;
	return at + 1;
}

static const char *pooled(const struct task_table *tt, size_t off)
{
	return off ? tt->pool + off - 1 : "";
}

/* From its await record: the root async fn (for a task without a name) and
 * the await site, into the pool; offsets in *name and *await. */
static void await_strings(struct task_table *tt, const struct task_info *t, struct await_desc *d,
			  size_t *name, size_t *await)
{
	const struct await_frame *site;
	char buf[200];

	*name = *await = 0;
	if (!task_info__await(t) || await_desc__from_record(task_info__await(t), d) ||
	    d->method == AIB_AWAIT_NONE)
		return;
	for (int i = 0; i < d->nframes; i++)
		if (!d->frames[i].library) {
			*name = pool_add(tt, await_site__short_name(d->frames[i].function, buf,
								    sizeof(buf)));
			break;
		}
	if (!task_info__current_await(t))
		return; /* an earlier park's: its root async fn names it still */
	site = await_desc__site(d);
	if (site && site->file[0]) {
		snprintf(buf, sizeof(buf), "%s:%u", site->file, site->line);
		*await = pool_add(tt, buf);
	} else if (site) {
		*await = pool_add(tt, site->function);
	}
}

static int make_rows(struct task_table *tt, const struct task_table_opts *o)
{
	const struct task_model *m = tt->m;
	const struct model_summary *s = task_model__summary(m);
	size_t n = task_model__task_count(m);
	struct await_desc *d = malloc(sizeof(*d)); /* big: one for all */
	/* offsets into the pool until it stops moving, then pointers */
	struct offs {
		size_t name, await, location;
	} *offs = calloc(n ? n : 1, sizeof(*offs));

	tt->all = calloc(n ? n : 1, sizeof(*tt->all));
	tt->shown = calloc(n ? n : 1, sizeof(*tt->shown));
	if (!d || !offs || !tt->all || !tt->shown) {
		free(d);
		free(offs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct task_info *t = task_model__task(m, i);
		struct task_row *r = &tt->all[tt->nall];
		struct samples one, *sched;
		char addr[32];
		__u64 until;

		if (t->kind == TASK_RUNTIME)
			continue;
		r->t = t;
		r->task = i;
		r->lints = lints__flags(tt->lints, i);
		r->state = t->panicked ? "panicked" : task_state_name(t->state);
		if (t->state == TASK_IDLE || t->state == TASK_RUNNABLE)
			r->blocked_ns = task_model__blocked_ns(m, t, &r->at_least);
		r->stuck = r->blocked_ns && r->blocked_ns >= o->stuck_ns;
		tt->stuck += r->stuck;
		until = t->end_ts ? t->end_ts : s->end_ts;
		r->total_ns = until > t->spawn_ts ? until - t->spawn_ts : 0;
		sched = task_info__sched(t, &one);
		r->has_sched = sched->count > 0;
		r->sched_p99_ns = r->has_sched ? samples__quantile(sched, 0.99) : 0;
		await_strings(tt, t, d, &offs[tt->nall].name, &offs[tt->nall].await);
		if (task_info__name(t))
			offs[tt->nall].name = pool_add(tt, task_info__name(t));
		if (!t->location) {
			snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)t->header);
			offs[tt->nall].location = pool_add(tt, addr);
		}
		tt->nall++;
	}
	for (size_t i = 0; i < tt->nall; i++) {
		struct task_row *r = &tt->all[i];

		r->name = pooled(tt, offs[i].name);
		r->await = pooled(tt, offs[i].await);
		r->location = r->t->location ? r->t->location : pooled(tt, offs[i].location);
	}
	free(d);
	free(offs);
	return 0;
}

struct task_table *task_table__new(const struct task_model *m, const struct task_table_opts *o)
{
	struct task_table *tt = calloc(1, sizeof(*tt));
	struct task_table_opts def;

	if (!o) {
		task_table_opts__default(&def);
		o = &def;
	}
	if (!tt)
		return NULL;
	tt->m = m;
	tt->lints = lints__new(m, &o->lints);
	if (!tt->lints || make_rows(tt, o) || task_table__view(tt, o)) {
		task_table__free(tt);
		errno = ENOMEM;
		return NULL;
	}
	return tt;
}

void task_table__free(struct task_table *tt)
{
	if (!tt)
		return;
	lints__free(tt->lints);
	free(tt->all);
	free(tt->shown);
	free(tt->pool);
	free(tt);
}

static int cmp_u64(__u64 a, __u64 b)
{
	return a < b ? -1 : a > b;
}

static int popcount(__u32 x)
{
	return __builtin_popcount(x);
}

/* Ascending order of column c; ties by id. */
static int compare(const struct task_row *x, const struct task_row *y, enum task_col c)
{
	const struct task_info *a = x->t, *b = y->t;
	int r = 0;

	switch (c) {
	case TASK_COL_WARN:
		r = cmp_u64(popcount(x->lints), popcount(y->lints));
		r = r ?: cmp_u64(x->lints, y->lints);
		break;
	case TASK_COL_ID:
		break;
	case TASK_COL_STATE:
		r = strcmp(x->state, y->state);
		break;
	case TASK_COL_NAME:
		r = strcmp(x->name, y->name);
		break;
	case TASK_COL_TOTAL:
		r = cmp_u64(x->total_ns, y->total_ns);
		break;
	case TASK_COL_BUSY:
		r = cmp_u64(a->busy_ns, b->busy_ns);
		break;
	case TASK_COL_SCHED_P99:
		r = cmp_u64(x->sched_p99_ns, y->sched_p99_ns);
		break;
	case TASK_COL_IDLE:
		r = cmp_u64(a->idle_ns, b->idle_ns);
		break;
	case TASK_COL_POLLS:
		r = cmp_u64(a->polls, b->polls);
		break;
	case TASK_COL_AWAIT:
		r = strcmp(x->await, y->await);
		break;
	case TASK_COL_LOCATION:
		r = strcmp(x->location, y->location);
		break;
	default:
		break;
	}
	return r ?: cmp_u64(a->id, b->id) ?: cmp_u64(x->task, y->task);
}

static int by_view(const void *p, const void *q, void *arg)
{
	const struct task_table *tt = arg;
	int r = compare(&tt->all[*(const size_t *)p], &tt->all[*(const size_t *)q], tt->o.sort);

	return tt->o.descending ? -r : r;
}

static bool contains(const char *hay, const char *lower_needle)
{
	return hay && strcasestr(hay, lower_needle);
}

static bool matches(const struct task_table *tt, const struct task_row *r)
{
	char buf[64];

	if (!tt->filter[0])
		return true;
	return contains(r->name, tt->filter) || contains(r->location, tt->filter) ||
	       contains(r->await, tt->filter) || contains(r->state, tt->filter) ||
	       contains(report__task_id(r->t, buf, sizeof(buf)), tt->filter) ||
	       (r->lints && contains(lint__names(r->lints, buf, sizeof(buf)), tt->filter));
}

int task_table__view(struct task_table *tt, const struct task_table_opts *o)
{
	tt->o = *o;
	tt->o.filter = NULL; /* the caller's: copied below */
	snprintf(tt->filter, sizeof(tt->filter), "%s", o->filter ? o->filter : "");
	tt->nshown = 0;
	for (size_t i = 0; i < tt->nall; i++) {
		const struct task_row *r = &tt->all[i];

		if ((o->completed || r->t->state != TASK_COMPLETED) && matches(tt, r))
			tt->shown[tt->nshown++] = i;
	}
	qsort_r(tt->shown, tt->nshown, sizeof(*tt->shown), by_view, tt);
	return 0;
}

size_t task_table__rows(const struct task_table *tt)
{
	return tt->nshown;
}

const struct task_row *task_table__row(const struct task_table *tt, size_t i)
{
	return i < tt->nshown ? &tt->all[tt->shown[i]] : NULL;
}

const struct lints *task_table__lints(const struct task_table *tt)
{
	return tt->lints;
}

size_t task_table__stuck(const struct task_table *tt)
{
	return tt->stuck;
}

const char *task_table__cell(const struct task_row *r, enum task_col c, char *buf, size_t len)
{
	const struct task_info *t = r->t;

	switch (c) {
	case TASK_COL_WARN:
		return lint__names(r->lints, buf, len);
	case TASK_COL_ID:
		return report__task_id(t, buf, len);
	case TASK_COL_STATE:
		if (!r->stuck)
			return r->state;
		snprintf(buf, len, "%s (stuck)", r->state);
		return buf;
	case TASK_COL_NAME:
		return r->name;
	case TASK_COL_TOTAL:
		return report__duration(r->total_ns, buf, len);
	case TASK_COL_BUSY:
		return report__duration(t->busy_ns, buf, len);
	case TASK_COL_SCHED_P99:
		return r->has_sched ? report__duration(r->sched_p99_ns, buf, len) : "-";
	case TASK_COL_IDLE:
		return report__duration(t->idle_ns, buf, len);
	case TASK_COL_POLLS:
		snprintf(buf, len, "%llu", (unsigned long long)t->polls);
		return buf;
	case TASK_COL_AWAIT:
		return r->await;
	case TASK_COL_LOCATION:
		return r->location;
	default:
		return "";
	}
}

int task_table__detail(const struct task_table *tt, size_t i, struct task_detail *out)
{
	const struct task_row *r = task_table__row(tt, i);
	struct task_poll_hist one;
	const struct task_poll_hist *h;
	struct samples s1, *s;
	struct task_info *t;

	if (!r)
		return -ENOENT;
	t = r->t;
	memset(out, 0, sizeof(*out));
	h = task_info__poll_hist(t, &one);
	for (unsigned b = 0; b < TASK_HIST_BUCKETS; b++)
		out->poll_buckets[b] = h->bucket[b];
	out->polls_timed = h->count;
	out->poll_max_ns = h->max_ns;
	if (t->state == TASK_RUNNING) {
		__u64 end = task_model__summary(tt->m)->end_ts;

		out->poll_in_flight_ns = end > t->poll_start ? end - t->poll_start : 0;
	}
	s = task_info__sched(t, &s1);
	out->sched_count = s->count;
	out->sched_max_ns = s->max;
	out->sched_sampled = !samples__exact(s);
	for (__u32 k = 0; k < s->n; k++)
		out->sched_buckets[task_hist__bucket(s->v[k])]++;
	if (out->sched_sampled && s->n) /* each kept value stands for count/n of them */
		for (unsigned b = 0; b < TASK_HIST_BUCKETS; b++)
			out->sched_buckets[b] = (out->sched_buckets[b] * s->count + s->n / 2) / s->n;
	out->sched_p50_ns = samples__quantile(s, 0.5);
	out->sched_p99_ns = samples__quantile(s, 0.99);
	memcpy(out->wakes, t->wakes, sizeof(out->wakes));
	out->nworkers = task_info__workers(t, out->workers);
	for (__u32 k = 0; k < out->nworkers; k++)
		out->worker_names[k] = task_model__thread_name(tt->m, out->workers[k]);
	out->parent_id = t->parent_id;
	for (size_t k = 0; t->parent_id && k < task_model__task_count(tt->m); k++)
		if (task_model__task(tt->m, k)->id == t->parent_id) {
			out->parent = task_model__task(tt->m, k);
			break;
		}
	out->location = t->location;
	out->blocked_calls = task_info__blocked_calls(t);
	out->blocked_ns = task_info__blocked_ns(t);
	out->joining_id = task_info__joining_id(t);
	return 0;
}

bool task_hist__range(const __u64 buckets[TASK_HIST_BUCKETS], unsigned *first, unsigned *last)
{
	bool any = false;

	for (unsigned b = 0; b < TASK_HIST_BUCKETS; b++)
		if (buckets[b]) {
			if (!any)
				*first = b;
			*last = b;
			any = true;
		}
	return any;
}

const char *task_hist__bar(const __u64 buckets[TASK_HIST_BUCKETS], unsigned b, unsigned width,
			   char *buf, size_t len)
{
	char lo[16], hi[16], bar[256];
	__u64 most = 0;
	unsigned n;

	for (unsigned k = 0; k < TASK_HIST_BUCKETS; k++)
		most = buckets[k] > most ? buckets[k] : most;
	if (b >= TASK_HIST_BUCKETS)
		b = TASK_HIST_BUCKETS - 1;
	if (width >= sizeof(bar))
		width = sizeof(bar) - 1;
	/* a bucket that is not empty shows at least one mark */
	n = most ? (unsigned)((buckets[b] * width + most - 1) / most) : 0;
	memset(bar, '#', n);
	memset(bar + n, ' ', width - n);
	bar[width] = 0;
	report__duration(task_hist__bucket_ns(b), lo, sizeof(lo));
	if (b + 1 < TASK_HIST_BUCKETS)
		report__duration(task_hist__bucket_ns(b + 1), hi, sizeof(hi));
	else
		snprintf(hi, sizeof(hi), "...");
	snprintf(buf, len, "%8s-%-8s %s %llu", lo, hi, bar, (unsigned long long)buckets[b]);
	return buf;
}
