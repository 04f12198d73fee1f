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
#include "export/exporter.h"
#include "lib/outbuf.h"
#include "model/task_model.h"
#include "export/task_tracker.h"

/* tracked_task.user[] */
enum { U_POLL_TS };

struct csv {
	FILE *tasks, *events;
	bool started;
	__u64 start_ts;
	__u64 rows;
	struct outbuf out; /* events.csv, then tasks.csv once events.csv is done */
};

#define PUT(o, lit) outbuf__put(o, lit, sizeof(lit) - 1)

/* A field quoted when it needs to be (RFC 4180). */
static void field(struct outbuf *o, const char *s)
{
	const char *q;

	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		outbuf__puts(o, s);
		return;
	}
	outbuf__putc(o, '"');
	while ((q = strchr(s, '"'))) { /* each quote doubled */
		outbuf__put(o, s, q + 1 - s);
		outbuf__putc(o, '"');
		s = q + 1;
	}
	outbuf__puts(o, s);
	outbuf__putc(o, '"');
}

/*
 * An events.csv row up to its details, which the caller writes, then ends
 * with row_end(). Details are key=value pairs of names and numbers: never a
 * character that needs quoting.
 */
static struct outbuf *row(struct csv *x, bool has_id, __u64 task_id, __u64 ts, const char *kind)
{
	struct outbuf *o = &x->out;
	__u64 rel = ts > x->start_ts ? ts - x->start_ts : 0;

	outbuf__u64(o, ++x->rows);
	outbuf__putc(o, ',');
	if (has_id)
		outbuf__u64(o, task_id);
	outbuf__putc(o, ',');
	outbuf__frac(o, rel, 6); /* ms */
	outbuf__putc(o, ',');
	outbuf__puts(o, kind);
	outbuf__putc(o, ',');
	return o;
}

static void row_end(struct outbuf *o)
{
	outbuf__putc(o, '\n');
}

static struct outbuf *task_row(struct csv *x, __u64 id, __u64 ts, const char *kind)
{
	return row(x, true, id, ts, kind);
}

static int on_change(void *ctx, const struct change *c)
{
	static const char *const results[] = {"pending", "ready", "notified"};
	struct csv *x = ctx;
	struct tracked_task *s = c->task;
	struct outbuf *o;

	switch (c->kind) {
	case CHANGE_SPAWN: {
		const struct aib_ev_spawn *e = c->spawn;

		/* the id the runtime hands out next: the model matches the task by it */
		o = task_row(x, e->predicted_id, c->ts, "spawn");
		PUT(o, "kind=");
		outbuf__puts(o, e->flags & AIB_SPAWN_BLOCKING ? "blocking"
				: e->flags & AIB_SPAWN_LOCAL  ? "local"
							      : "async");
		if (e->parent_task_id) {
			PUT(o, ";parent_id=");
			outbuf__u64(o, e->parent_task_id);
		}
		row_end(o);
		break;
	}
	case CHANGE_APPEAR:
		if (!c->info->spawn_seen)
			row_end(task_row(x, s->id, c->ts, "first_seen"));
		break;
	case CHANGE_STATE:
		if (c->from == TASK_RUNNING) {
			__u64 busy = c->ts > s->user[U_POLL_TS] ? c->ts - s->user[U_POLL_TS] : 0;

			o = task_row(x, s->id, c->ts, "poll_end");
			PUT(o, "tid=");
			outbuf__u64(o, s->poll_tid);
			PUT(o, ";result=");
			outbuf__puts(o, c->result >= 0 && c->result <= AIB_POLL_NOTIFIED ? results[c->result]
										  : "none");
			PUT(o, ";busy_us=");
			outbuf__frac(o, busy, 3);
			row_end(o);
		}
		if (s->state == TASK_RUNNING) {
			s->user[U_POLL_TS] = c->ts;
			o = task_row(x, s->id, c->ts, "poll_begin");
			PUT(o, "tid=");
			outbuf__u64(o, c->tid);
			PUT(o, ";poll=");
			outbuf__u64(o, s->polls);
			row_end(o);
		} else if (s->state == TASK_COMPLETED) {
			row_end(task_row(x, s->id, c->ts,
					 c->freed ? "freed" : c->cancelled ? "cancelled" : "completed"));
		}
		break;
	case CHANGE_WAKE:
		o = task_row(x, c->woken_id, c->ts, "wake");
		if (c->by == WAKE_BY_SELF) {
			PUT(o, "by=self");
		} else if (c->by == WAKE_BY_TASK) {
			PUT(o, "by=task ");
			outbuf__u64(o, c->waker_id);
		} else {
			PUT(o, "by=thread ");
			outbuf__u64(o, c->tid);
		}
		row_end(o);
		break;
	case CHANGE_RUNTIME:
		row_end(task_row(x, s->id, c->ts, "runtime_task"));
		break;
	case CHANGE_ALIVE_AT_END:
		o = task_row(x, s->id, c->ts, "alive_at_end");
		PUT(o, "state=");
		outbuf__puts(o, task_state_name(s->state));
		row_end(o);
		break;
	}
	return 0;
}

static int csv_record(void *self, const struct aib_hdr *rec, const struct task_model *m)
{
	struct csv *x = self;
	struct outbuf *o;

	if (!x->started) {
		x->started = true;
		x->start_ts = rec->ts;
	}
	if (rec->kind == AIB_EV_WORKER_START) {
		o = row(x, false, 0, rec->ts, "worker_start");
		PUT(o, "tid=");
		outbuf__u64(o, rec->tid);
		PUT(o, ";index=");
		outbuf__u64(o, ((const struct aib_ev_worker *)rec)->index);
		row_end(o);
	} else if (rec->kind == AIB_REC_LOST) {
		const struct aib_rec_lost *l = (const void *)rec;

		if (l->lost || l->dropped) {
			o = row(x, false, 0, rec->ts, "lost");
			PUT(o, "lost=");
			outbuf__u64(o, l->lost);
			PUT(o, ";dropped=");
			outbuf__u64(o, l->dropped);
			row_end(o);
		}
	}
	return 0;
}

static void tasks(struct csv *x, const struct task_model *m)
{
	const struct model_summary *sum = task_model__summary(m);
	size_t n = task_model__task_count(m);
	struct outbuf *o = &x->out;

	PUT(o, "id,name,state,created_at_ms,duration_ms,poll_count,run_time_ms,parent_id,"
	       "spawn_location,idle_ms\n");
	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);
		__u64 until = t->end_ts ? t->end_ts : sum->end_ts;
		__u64 created = t->spawn_ts > sum->start_ts ? t->spawn_ts - sum->start_ts : 0;
		__u64 duration = until > t->spawn_ts ? until - t->spawn_ts : 0;

		if (t->kind == TASK_RUNTIME)
			continue;
		outbuf__u64(o, t->id);
		PUT(o, ",task ");
		outbuf__u64(o, t->id);
		outbuf__putc(o, ',');
		outbuf__puts(o, task_state_name(t->state));
		outbuf__putc(o, ',');
		outbuf__fixed(o, created / 1e6, 3);
		outbuf__putc(o, ',');
		outbuf__fixed(o, duration / 1e6, 3);
		outbuf__putc(o, ',');
		outbuf__u64(o, t->polls);
		outbuf__putc(o, ',');
		outbuf__fixed(o, t->busy_ns / 1e6, 3);
		outbuf__putc(o, ',');
		if (t->parent_id)
			outbuf__u64(o, t->parent_id);
		outbuf__putc(o, ',');
		field(o, t->location);
		outbuf__putc(o, ',');
		outbuf__fixed(o, t->idle_ns / 1e6, 3);
		outbuf__putc(o, '\n');
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

	int events_err;

	/* a failed write's own errno (ENOSPC), which ferror() alone would
	 * turn into EIO in close_file() */
	outbuf__drain(&x->out);
	events_err = x->out.err;
	outbuf__init(&x->out, x->tasks);
	tasks(x, m);
	outbuf__drain(&x->out);
	events_err = close_file(&x->events, events_err);
	return close_file(&x->tasks, events_err ?: x->out.err);
}

static void csv_free(void *self)
{
	struct csv *x = self;

	if (!x)
		return;
	if (x->events && x->out.f == x->events)
		outbuf__drain(&x->out); /* what a finished export would hold so far */
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
	return outbuf__unbuffered(f);
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
	outbuf__init(&x->out, x->events);
	PUT(&x->out, "event_id,task_id,timestamp_ms,kind,details\n");
	*out = (struct exporter){.ops = &csv_ops, .self = x};
	return 0;
fail:
	err = -errno;
	csv_free(x);
	return err;
}
