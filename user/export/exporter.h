/* SPDX-License-Identifier: MIT */
/*
 * Exports written from the record stream as it goes, live or replayed, so a
 * long session never holds a whole trace in memory: Perfetto (native
 * protobuf), Chrome JSON, folded stacks, CSV.
 *
 * Each record goes to record() after task_model__apply(), so the model
 * already knows the task it is about; finish() comes once, after
 * task_model__finish(). Exporters only read the model. They never print:
 * errors are -errno, and an exporter that failed gets no more records.
 *
 * Exporters that follow tasks give a change callback: the set feeds one
 * task tracker for all of them, after each record() and before finish().
 */
#ifndef EXPORTER_H
#define EXPORTER_H

#include "aib_events.h"
#include "export/task_tracker.h"

struct task_model;

struct exporter_ops {
	int (*record)(void *self, const struct aib_hdr *rec, const struct task_model *m);
	change_fn change; /* NULL: follows no task */
	unsigned nuser;	  /* tracked_task.user[] values it keeps */
	int (*finish)(void *self, const struct task_model *m); /* flushes and closes */
	void (*free)(void *self);
};

struct exporter {
	const struct exporter_ops *ops;
	void *self;
};

enum folded_kind {
	FOLDED_BOTH, /* busy and idle stacks in one file */
	FOLDED_BUSY, /* "LOCATION;poll": time inside polls */
	FOLDED_IDLE, /* "LOCATION;idle": time parked, waiting for a wake */
};

/* Each creates its output now (so a bad path fails before tracing): 0 or -errno. */
int export_perfetto__open(const char *path, struct exporter *out);
int export_chrome__open(const char *path, struct exporter *out);
int export_folded__open(const char *path, enum folded_kind kind, struct exporter *out);
int export_csv__open(const char *dir, struct exporter *out); /* DIR/tasks.csv, DIR/events.csv */

/* Every export asked for on the command line, fed together. */
struct export_opts {
	const char *perfetto;
	const char *chrome;
	const char *folded;
	enum folded_kind folded_kind;
	const char *csv_dir;
};

struct export_set;

/* NULL + errno on failure, with *failed naming the path that failed. An
 * empty set (nothing asked for) is valid. */
struct export_set *export_set__open(const struct export_opts *o, const char **failed);
/* Errors stay with the exporter that had them and come out of finish(). */
void export_set__record(struct export_set *s, const struct aib_hdr *rec, const struct task_model *m);
/* Finish every export; the first error, with *failed naming its path. */
int export_set__finish(struct export_set *s, const struct task_model *m, const char **failed);
void export_set__free(struct export_set *s);

#endif
