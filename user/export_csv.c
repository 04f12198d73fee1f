// SPDX-License-Identifier: MIT
/*
 * CSV, with the columns of the original async-inspect export and ours after
 * them (README):
 *
 *   DIR/tasks.csv   id,name,state,created_at_ms,duration_ms,poll_count,
 *                   run_time_ms,parent_id,spawn_location,idle_ms
 *                   (every user task, from the finished model)
 *   DIR/events.csv  event_id,task_id,timestamp_ms,kind,details
 *                   (written as records arrive: spawn, first_seen,
 *                   poll_begin, poll_end, wake, completed, cancelled, freed,
 *                   runtime_task, alive_at_end, worker_start, lost)
 *
 * Times are ms since the session started; details are key=value pairs
 * separated by ';'.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "exporter.h"
#include "task_model.h"
#include "task_tracker.h"

/* tracked_task.user[] */
enum { U_POLL_TS };

struct csv {
	FILE *tasks, *events;
	bool started;
	__u64 start_ts;
	__u64 rows;
};

/* A field quoted when it needs to be (RFC 4180). */
static void field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void row(struct csv *x, const char *task_id, __u64 ts, const char *kind, const char *details)
{
	__u64 rel = ts > x->start_ts ? ts - x->start_ts : 0;

	fprintf(x->events, "%llu,%s,%llu.%06llu,%s,", (unsigned long long)++x->rows, task_id,
		(unsigned long long)(rel / 1000000), (unsigned long long)(rel % 1000000), kind);
	field(x->events, details);
	fputc('\n', x->events);
}

static void task_row(struct csv *x, __u64 id, __u64 ts, const char *kind, const char *details)
{
	char idbuf[24];

	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	row(x, idbuf, ts, kind, details);
}

static int on_change(void *ctx, const struct change *c)
{
	static const char *const results[] = {"pending", "ready", "notified"};
	struct csv *x = ctx;
	struct tracked_task *s = c->task;
	char d[96] = "";

	switch (c->kind) {
	case CHANGE_SPAWN: {
		const struct aib_ev_spawn *e = c->spawn;

		snprintf(d, sizeof(d), "kind=%s",
			 e->flags & AIB_SPAWN_BLOCKING ? "blocking"
			 : e->flags & AIB_SPAWN_LOCAL  ? "local"
						       : "async");
		if (e->parent_task_id)
			snprintf(d + strlen(d), sizeof(d) - strlen(d), ";parent_id=%llu",
				 (unsigned long long)e->parent_task_id);
		/* the id the runtime hands out next: the model matches the task by it */
		task_row(x, e->predicted_id, c->ts, "spawn", d);
		break;
	}
	case CHANGE_APPEAR:
		if (!c->info->spawn_seen)
			task_row(x, s->id, c->ts, "first_seen", "");
		break;
	case CHANGE_STATE:
		if (c->from == TASK_RUNNING) {
			__u64 busy = c->ts > s->user[U_POLL_TS] ? c->ts - s->user[U_POLL_TS] : 0;

			snprintf(d, sizeof(d), "tid=%u;result=%s;busy_us=%llu.%03llu", s->poll_tid,
				 c->result >= 0 && c->result <= AIB_POLL_NOTIFIED ? results[c->result] : "none",
				 (unsigned long long)(busy / 1000), (unsigned long long)(busy % 1000));
			task_row(x, s->id, c->ts, "poll_end", d);
		}
		if (s->state == TASK_RUNNING) {
			s->user[U_POLL_TS] = c->ts;
			snprintf(d, sizeof(d), "tid=%u;poll=%llu", c->tid, (unsigned long long)s->polls);
			task_row(x, s->id, c->ts, "poll_begin", d);
		} else if (s->state == TASK_COMPLETED) {
			task_row(x, s->id, c->ts,
				 c->freed ? "freed" : c->cancelled ? "cancelled" : "completed", "");
		}
		break;
	case CHANGE_WAKE:
		if (c->by == WAKE_BY_SELF)
			snprintf(d, sizeof(d), "by=self");
		else if (c->by == WAKE_BY_TASK)
			snprintf(d, sizeof(d), "by=task %llu", (unsigned long long)c->waker_id);
		else
			snprintf(d, sizeof(d), "by=thread %u", c->tid);
		task_row(x, c->woken_id, c->ts, "wake", d);
		break;
	case CHANGE_RUNTIME:
		task_row(x, s->id, c->ts, "runtime_task", "");
		break;
	case CHANGE_ALIVE_AT_END:
		snprintf(d, sizeof(d), "state=%s", task_state_name(s->state));
		task_row(x, s->id, c->ts, "alive_at_end", d);
		break;
	}
	return 0;
}

static int csv_record(void *self, const struct aib_hdr *rec, const struct task_model *m)
{
	struct csv *x = self;
	char d[64];

	if (!x->started) {
		x->started = true;
		x->start_ts = rec->ts;
	}
	if (rec->kind == AIB_EV_WORKER_START) {
		snprintf(d, sizeof(d), "tid=%u;index=%u", rec->tid,
			 ((const struct aib_ev_worker *)rec)->index);
		row(x, "", rec->ts, "worker_start", d);
	} else if (rec->kind == AIB_REC_LOST) {
		const struct aib_rec_lost *l = (const void *)rec;

		snprintf(d, sizeof(d), "lost=%llu;dropped=%llu", (unsigned long long)l->lost,
			 (unsigned long long)l->dropped);
		if (l->lost || l->dropped)
			row(x, "", rec->ts, "lost", d);
	}
	return 0;
}

static void tasks(struct csv *x, const struct task_model *m)
{
	const struct model_summary *sum = task_model__summary(m);
	size_t n = task_model__task_count(m);

	fputs("id,name,state,created_at_ms,duration_ms,poll_count,run_time_ms,parent_id,"
	      "spawn_location,idle_ms\n", x->tasks);
	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);
		__u64 until = t->end_ts ? t->end_ts : sum->end_ts;
		__u64 created = t->spawn_ts > sum->start_ts ? t->spawn_ts - sum->start_ts : 0;
		__u64 duration = until > t->spawn_ts ? until - t->spawn_ts : 0;

		if (t->kind == TASK_RUNTIME)
			continue;
		fprintf(x->tasks, "%llu,task %llu,%s,%.3f,%.3f,%llu,%.3f,", (unsigned long long)t->id,
			(unsigned long long)t->id, task_state_name(t->state), created / 1e6,
			duration / 1e6, (unsigned long long)t->polls, t->busy_ns / 1e6);
		if (t->parent_id)
			fprintf(x->tasks, "%llu", (unsigned long long)t->parent_id);
		fputc(',', x->tasks);
		field(x->tasks, t->location);
		fprintf(x->tasks, ",%.3f\n", t->idle_ns / 1e6);
	}
}

static int close_file(FILE **f, int err)
{
	if (ferror(*f) && !err)
		err = -EIO;
	if (fclose(*f) && !err)
		err = -errno;
	*f = NULL;
	return err;
}

static int csv_finish(void *self, const struct task_model *m)
{
	struct csv *x = self;

	tasks(x, m);
	return close_file(&x->tasks, close_file(&x->events, 0));
}

static void csv_free(void *self)
{
	struct csv *x = self;

	if (!x)
		return;
	if (x->tasks)
		fclose(x->tasks);
	if (x->events)
		fclose(x->events);
	free(x);
}

static const struct exporter_ops csv_ops = {
	.record = csv_record,
	.change = on_change,
	.nuser = 1, /* U_POLL_TS */
	.finish = csv_finish,
	.free = csv_free,
};

static FILE *open_in(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (fd >= 0 && !f)
		close(fd);
	return f;
}

int export_csv__open(const char *dir, struct exporter *out)
{
	struct csv *x = calloc(1, sizeof(*x));
	int dirfd, err;

	if (!x)
		return -ENOMEM;
	if (mkdir(dir, 0755) && errno != EEXIST)
		goto fail;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		goto fail;
	x->tasks = open_in(dirfd, "tasks.csv");
	x->events = x->tasks ? open_in(dirfd, "events.csv") : NULL;
	err = errno;
	close(dirfd);
	if (!x->events) {
		errno = err;
		goto fail;
	}
	setvbuf(x->events, NULL, _IOFBF, 1 << 18);
	fputs("event_id,task_id,timestamp_ms,kind,details\n", x->events);
	*out = (struct exporter){.ops = &csv_ops, .self = x};
	return 0;
fail:
	err = -errno;
	csv_free(x);
	return err;
}
