// SPDX-License-Identifier: MIT
/* The set of exports of one session: opened together, fed together. */
#include <errno.h>
#include <stdlib.h>
#include "export/exporter.h"

#define MAX_EXPORTS 4

struct export_set {
	struct exporter e[MAX_EXPORTS];
	const char *path[MAX_EXPORTS];
	int err[MAX_EXPORTS];
	int follower[MAX_EXPORTS]; /* in tracker; -1: follows no task */
	int n;
	/* one for every export that follows tasks: a live task costs one slot */
	struct task_tracker *tracker;
	bool fed;
};

/* Keeps the export just opened (err 0), the tracker following tasks for it. */
static int add(struct export_set *s, const char *path, int err)
{
	struct exporter *e = &s->e[s->n];
	int f = -1;

	s->path[s->n] = path;
	if (!err && e->ops->change) {
		if (!s->tracker && !(s->tracker = task_tracker__new()))
			err = -ENOMEM;
		else if ((f = task_tracker__follow(s->tracker, e->ops->change, e->self, e->ops->nuser)) < 0)
			err = f;
		if (err)
			e->ops->free(e->self);
	}
	if (err)
		return err;
	s->follower[s->n++] = f;
	return 0;
}

struct export_set *export_set__open(const struct export_opts *o, const char **failed)
{
	struct export_set *s = calloc(1, sizeof(*s));
	int err = 0;

	*failed = NULL;
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (o->perfetto)
		err = add(s, o->perfetto, export_perfetto__open(o->perfetto, &s->e[s->n]));
	if (!err && o->chrome)
		err = add(s, o->chrome, export_chrome__open(o->chrome, &s->e[s->n]));
	if (!err && o->folded)
		err = add(s, o->folded, export_folded__open(o->folded, o->folded_kind, &s->e[s->n]));
	if (!err && o->csv_dir)
		err = add(s, o->csv_dir, export_csv__open(o->csv_dir, &s->e[s->n]));
	if (err) {
		*failed = s->path[s->n];
		export_set__free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

/* After the tracker said a follower failed: its export gets no more records. */
static void tracker_errors(struct export_set *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->follower[i] >= 0 && !s->err[i])
			s->err[i] = task_tracker__error(s->tracker, s->follower[i]);
}

void export_set__record(struct export_set *s, const struct aib_hdr *rec, const struct task_model *m)
{
	for (int i = 0; i < s->n; i++) {
		if (s->err[i])
			continue;
		s->err[i] = s->e[i].ops->record(s->e[i].self, rec, m);
		if (s->err[i] && s->follower[i] >= 0)
			task_tracker__stop(s->tracker, s->follower[i], s->err[i]);
	}
	if (s->tracker && task_tracker__record(s->tracker, rec, m))
		tracker_errors(s);
	s->fed = true;
}

int export_set__finish(struct export_set *s, const struct task_model *m, const char **failed)
{
	int first = 0;

	*failed = NULL;
	/* Exports start at their first record: with none, there is nothing to follow. */
	if (s->tracker && s->fed && task_tracker__finish(s->tracker, m))
		tracker_errors(s);
	for (int i = 0; i < s->n; i++) {
		if (!s->err[i])
			s->err[i] = s->e[i].ops->finish(s->e[i].self, m);
		if (s->err[i] && !first) {
			first = s->err[i];
			*failed = s->path[i];
		}
	}
	return first;
}

void export_set__free(struct export_set *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		s->e[i].ops->free(s->e[i].self);
	task_tracker__free(s->tracker);
	free(s);
}
