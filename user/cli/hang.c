// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli/hang.h"
#include "analysis/deadlock.h"
#include "model/task_model.h"
#include "report/report.h"

void hang_watch__init(struct hang_watch *w, __u64 timeout_ns, __u64 now, int pid,
		      bool test_binary)
{
	*w = (struct hang_watch){
		.timeout_ns = timeout_ns, .progress_ts = now, .pid = pid, .test_binary = test_binary};
}

bool hang_watch__check(struct hang_watch *w, const struct task_model *m, __u64 now)
{
	const struct model_summary *s = task_model__summary(m);
	size_t n = task_model__task_count(m);

	if (w->hung)
		return true;
	if (s->events != w->events) {
		w->events = s->events;
		w->progress_ts = now;
	}
	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);

		if (t->kind != TASK_BLOCK_ON || t->state == TASK_COMPLETED || now < t->spawn_ts ||
		    now - t->spawn_ts < w->timeout_ns || !t->nworkers || t->worker == (__u32)w->pid)
			continue; /* not a test's body, or not past its time */
		w->hung = true;
		w->hung_id = t->id;
		w->hung_for_ns = now - t->spawn_ts;
		return true;
	}
	if (w->test_binary && now - w->progress_ts >= w->timeout_ns) {
		w->hung = true;
		w->hung_for_ns = now - w->progress_ts;
	}
	return w->hung;
}

/* "tests/checkout.rs:41:5" -> "tests/checkout.rs" */
static void file_of(const char *location, char *out, size_t len)
{
	const char *colon = location ? strchr(location, ':') : NULL;

	snprintf(out, len, "%.*s", colon ? (int)(colon - location) : (int)len,
		 location ? location : "location unknown");
}

/* The test's name: its body's function less the crate ("checkout::a::b" -> "a::b"). */
static const char *test_name(const struct task_info *t)
{
	const char *name = task_info__name(t), *sep = name ? strstr(name, "::") : NULL;

	return sep ? sep + 2 : name ? name : "?";
}

void hang_watch__say(const struct hang_watch *w, const struct task_model *m, int pid, FILE *f)
{
	const struct task_info *t = NULL;
	char file[256], d[32];

	for (size_t i = 0; w->hung_id && i < task_model__task_count(m) && !t; i++)
		if (task_model__task(m, i)->id == w->hung_id)
			t = task_model__task(m, i);
	report__duration(w->hung_for_ns, d, sizeof(d));
	if (t) {
		file_of(t->location, file, sizeof(file));
		fprintf(f, "Found test stuck at: %s  (%s, %s)\n", test_name(t), file, d);
	} else {
		fprintf(f, "Found test process %d making no progress for %s\n", pid, d);
	}
}

int hang_watch__summary(const struct hang_watch *w, const struct task_model *m,
			const struct deadlock_finder *df, const char *name, int pid,
			__u64 stuck_after_ns, const char *path)
{
	const struct model_summary *s = task_model__summary(m);
	size_t n = task_model__task_count(m), stuck = 0;
	FILE *f = fopen(path, "we");
	bool at_least;
	int err = 0;

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);

		if (t->kind != TASK_RUNTIME &&
		    task_model__blocked_ns(m, t, &at_least) >= stuck_after_ns && stuck_after_ns)
			stuck++;
	}
	fprintf(f, "%s (pid %d): %llu async tests run, %llu tasks, %zu stuck, %zu deadlocks, "
		   "%llu events lost%s\n",
		strrchr(name, '/') ? strrchr(name, '/') + 1 : name, pid, (unsigned long long)s->roots, (unsigned long long)s->tasks_spawned, stuck,
		df ? deadlock_finder__count(df) : 0, (unsigned long long)(s->lost + s->dropped),
		w->hung ? ": HUNG" : "");
	if (fclose(f))
		err = -errno;
	return err;
}
