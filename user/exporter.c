// SPDX-License-Identifier: MIT
/* The set of exports of one session: opened together, fed together. */
#include <errno.h>
#include <stdlib.h>
#include "exporter.h"

#define MAX_EXPORTS 4

struct export_set {
	struct exporter e[MAX_EXPORTS];
	const char *path[MAX_EXPORTS];
	int err[MAX_EXPORTS];
	int n;
};

struct export_set *export_set__open(const struct export_opts *o, const char **failed)
{
	struct export_set *s = calloc(1, sizeof(*s));
	int err = 0;

	*failed = NULL;
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (o->perfetto) {
		s->path[s->n] = o->perfetto;
		err = export_perfetto__open(o->perfetto, &s->e[s->n]);
		if (!err)
			s->n++;
	}
	if (!err && o->chrome) {
		s->path[s->n] = o->chrome;
		err = export_chrome__open(o->chrome, &s->e[s->n]);
		if (!err)
			s->n++;
	}
	if (!err && o->folded) {
		s->path[s->n] = o->folded;
		err = export_folded__open(o->folded, o->folded_kind, &s->e[s->n]);
		if (!err)
			s->n++;
	}
	if (!err && o->csv_dir) {
		s->path[s->n] = o->csv_dir;
		err = export_csv__open(o->csv_dir, &s->e[s->n]);
		if (!err)
			s->n++;
	}
	if (err) {
		*failed = s->path[s->n];
		export_set__free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

void export_set__record(struct export_set *s, const struct aib_hdr *rec, const struct task_model *m)
{
	for (int i = 0; i < s->n; i++)
		if (!s->err[i])
			s->err[i] = s->e[i].ops->record(s->e[i].self, rec, m);
}

int export_set__finish(struct export_set *s, const struct task_model *m, const char **failed)
{
	int first = 0;

	*failed = NULL;
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
	free(s);
}
