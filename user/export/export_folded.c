// SPDX-License-Identifier: MIT
/*
 * Folded stacks for flame graphs (flamegraph.pl, inferno, speedscope): one
 * line per stack, "frame;frame;... WEIGHT", the weight in nanoseconds.
 *
 * Await stacks are not recorded yet, so the best stack we have is the
 * spawn location with one leaf: "LOCATION;poll" weighs the time the tasks
 * spawned there spent inside polls (busy), "LOCATION;idle" the time they
 * spent parked, waiting for a wake. Both come from the finished model;
 * runtime carrier tasks are left out, as in the JSON export.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/exporter.h"
#include "model/task_model.h"
#include "lib/u64_map.h"

#define UNKNOWN_LOCATION "(unknown location)"

struct folded {
	FILE *f;
	enum folded_kind kind;
};

struct weight {
	const char *location;
	__u64 busy_ns, idle_ns;
};

static int by_location(const void *a, const void *b)
{
	const struct weight *x = a, *y = b;

	return strcmp(x->location, y->location);
}

/* A frame may hold neither the separator nor a line break. */
static void frame(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static int folded_record(void *self, const struct aib_hdr *rec, const struct task_model *m)
{
	return 0; /* everything comes from the finished model */
}

static int folded_finish(void *self, const struct task_model *m)
{
	struct folded *x = self;
	size_t n = task_model__task_count(m), used = 0;
	struct u64_map *index = u64_map__new();
	struct weight *w = NULL;
	int err = 0;

	if (!index)
		err = -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		const struct task_info *t = task_model__task(m, i);
		const char *loc = t->location ? t->location : UNKNOWN_LOCATION;
		__u32 idx;

		if (t->kind == TASK_RUNTIME)
			continue;
		/* the model interns locations: one pointer per distinct string */
		if (!u64_map__get(index, (uintptr_t)loc, &idx)) {
			struct weight *p = realloc(w, (used + 1) * sizeof(*w));

			if (!p || u64_map__set(index, (uintptr_t)loc, (__u32)used)) {
				if (p)
					w = p;
				err = -ENOMEM;
				break;
			}
			w = p;
			idx = (__u32)used++;
			w[idx] = (struct weight){.location = loc};
		}
		w[idx].busy_ns += t->busy_ns;
		w[idx].idle_ns += t->idle_ns;
	}
	if (!err) {
		if (used)
			qsort(w, used, sizeof(*w), by_location);
		for (size_t i = 0; i < used; i++) {
			if (x->kind != FOLDED_IDLE && w[i].busy_ns) {
				frame(x->f, w[i].location);
				fprintf(x->f, ";poll %llu\n", (unsigned long long)w[i].busy_ns);
			}
			if (x->kind != FOLDED_BUSY && w[i].idle_ns) {
				frame(x->f, w[i].location);
				fprintf(x->f, ";idle %llu\n", (unsigned long long)w[i].idle_ns);
			}
		}
	}
	free(w);
	u64_map__free(index);
	if (ferror(x->f) && !err)
		err = -EIO;
	if (fclose(x->f) && !err)
		err = -errno;
	x->f = NULL;
	return err;
}

static void folded_free(void *self)
{
	struct folded *x = self;

	if (!x)
		return;
	if (x->f)
		fclose(x->f);
	free(x);
}

static const struct exporter_ops folded_ops = {
	.record = folded_record,
	.finish = folded_finish,
	.free = folded_free,
};

int export_folded__open(const char *path, enum folded_kind kind, struct exporter *out)
{
	struct folded *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	x->kind = kind;
	x->f = fopen(path, "w");
	if (!x->f) {
		err = -errno;
		free(x);
		return err;
	}
	*out = (struct exporter){.ops = &folded_ops, .self = x};
	return 0;
}
