// SPDX-License-Identifier: MIT
/*
 * Chrome's JSON trace event format (chrome://tracing, ui.perfetto.dev,
 * speedscope), written one event per line as records arrive:
 *
 *   {"displayTimeUnit":"ns","traceEvents":[
 *   {"ph":"M","name":"process_name",...}            process and thread names
 *   ,{"ph":"B","name":"task 12 src/main.rs:5:9","cat":"poll","tid":T,...}
 *   ,{"ph":"E",...,"args":{"result":"pending"}}      a slice per poll, per thread
 *   ,{"ph":"s","cat":"wake",...} / {"ph":"f","bp":"e",...}
 *   ],"metadata":{...,"tasks":[...]}}                 the session, every task
 *
 * A wake becomes a flow from the slice open on the waking thread to the
 * poll it caused, written when that poll begins (the format allows events
 * out of time order); a wake with no slice open on its thread, or not
 * followed by a poll, gets no arrow. Timestamps: CLOCK_MONOTONIC in us.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/exporter.h"
#include "lib/id_table.h"
#include "lib/json_writer.h"
#include "lib/outbuf.h"
#include "report/report.h"
#include "model/task_model.h"
#include "export/task_tracker.h"

#define THREAD_STACK 16

/* tracked_task.user[] */
enum { U_WAKE_TS, U_WAKE_TID };

struct chrome_thread {
	__u32 tid;
	__u32 depth;
	__u64 stack[THREAD_STACK]; /* serials of the tasks whose poll slices are open */
};

struct chrome {
	FILE *f;
	struct json_writer w;
	const struct task_model *m;
	bool started;
	__u32 pid;
	char pid_field[32]; /* "\",\"pid\":PID,\"tid\":" */
	size_t pid_len;
	__u64 flows;
	struct id_table threads; /* tid -> struct chrome_thread */
	struct chrome_thread *last_thread; /* the last one looked up */
	int err;
};

/*
 * Events are formatted here rather than key by key through the writer: there
 * are several per record. The writer still places them (the commas between).
 */

#define FIELD(o, lit) outbuf__put(o, lit, sizeof(lit) - 1)

/*
 * ns / 1e3 as "%.3f" prints it: below 2^43 us half an ulp of the double is
 * under 0.0005, so the double rounds back to the exact ns / 1000 (and ns
 * itself converts exactly). Above that, as printf would.
 */
static void ts_us(struct outbuf *o, __u64 ns)
{
	if (ns < (1ULL << 43) * 1000)
		outbuf__frac(o, ns, 3);
	else
		outbuf__fixed(o, ns / 1e3, 3);
}

/* {"ph":PH,"pid":P,"tid":T,"ts":TS ... : the caller adds fields and ends it. */
static struct outbuf *event_begin(struct chrome *x, char ph, __u32 tid, __u64 ts)
{
	struct outbuf *o = json__raw_value(&x->w);
	char *p = outbuf__room(o, 16 + sizeof(x->pid_field) + OUTBUF_U64_MAX), *at = p;

	memcpy(p, "{\"ph\":\"", 7);
	p += 7;
	*p++ = ph;
	memcpy(p, x->pid_field, x->pid_len);
	p += x->pid_len;
	p += fmt__u64(p, tid);
	memcpy(p, ",\"ts\":", 6);
	p += 6;
	outbuf__commit(o, p - at);
	ts_us(o, ts);
	return o;
}

static void event_end(struct outbuf *o)
{
	FIELD(o, "}\n");
}

static void name_meta(struct chrome *x, const char *what, __u32 tid, const char *name)
{
	struct outbuf *o = event_begin(x, 'M', tid, 0);

	FIELD(o, ",\"name\":");
	json__put_string(o, what);
	FIELD(o, ",\"args\":{\"name\":");
	json__put_string(o, name);
	outbuf__putc(o, '}');
	event_end(o);
}

static void start(struct chrome *x, const struct aib_hdr *first)
{
	char exe[AIB_NAME_MAX + 1] = "";

	x->started = true;
	if (first && first->kind == AIB_REC_PROCESS) {
		const struct aib_rec_process *p = (const void *)first;

		x->pid = p->pid;
		memcpy(exe, p->exe, AIB_NAME_MAX);
	}
	x->pid_len = snprintf(x->pid_field, sizeof(x->pid_field), "\",\"pid\":%u,\"tid\":", x->pid);
	json__object_begin(&x->w);
	json__key(&x->w, "displayTimeUnit");
	json__string(&x->w, "ns");
	json__key(&x->w, "traceEvents");
	json__array_begin(&x->w);
	json__newline(&x->w);
	name_meta(x, "process_name", x->pid, exe[0] ? exe : "async-inspect-bpf target");
}

static struct chrome_thread *thread_get(struct chrome *x, __u32 tid)
{
	struct chrome_thread *th;
	const char *name;
	bool added;

	if (x->last_thread && x->last_thread->tid == tid)
		return x->last_thread;
	th = id_table__get(&x->threads, tid, &added);
	if (!th) {
		x->err = -ENOMEM;
		return NULL;
	}
	x->last_thread = th; /* valid until the table grows: only here */
	if (!added)
		return th;
	th->tid = tid;
	name = task_model__thread_name(x->m, tid);
	if (name)
		name_meta(x, "thread_name", tid, name);
	return th;
}

/* "task ID LOCATION", as snprintf() into 1024 bytes made it (a location
 * that long is cut), escaped. */
static void task_name(struct outbuf *o, __u64 id, const char *location)
{
	char buf[8 + OUTBUF_U64_MAX];
	size_t n, max;

	memcpy(buf, "task ", 5);
	n = 5 + fmt__u64(buf + 5, id);
	if (location)
		buf[n++] = ' ';
	outbuf__put(o, buf, n);
	if (location) {
		max = 1023 - n;
		json__escape(o, location, strnlen(location, max));
	}
}

static void poll_begin(struct chrome *x, const struct change *c)
{
	struct tracked_task *s = c->task;
	struct chrome_thread *th = thread_get(x, c->tid);
	struct outbuf *o;

	if (!th)
		return;
	if (th->depth == THREAD_STACK) /* ends were lost: close what is open */
		for (; th->depth; th->depth--)
			event_end(event_begin(x, 'E', th->tid, c->ts));
	th->stack[th->depth++] = s->serial;
	o = event_begin(x, 'B', c->tid, c->ts);
	FIELD(o, ",\"name\":\"");
	task_name(o, s->id, c->info ? c->info->location : NULL);
	FIELD(o, "\",\"cat\":\"poll\",\"args\":{\"task_id\":");
	outbuf__u64(o, s->id);
	FIELD(o, ",\"poll\":");
	outbuf__u64(o, s->polls);
	outbuf__putc(o, '}');
	event_end(o);

	/* the wake that caused this poll, if it can be drawn */
	if (s->user[U_WAKE_TID] && s->user[U_WAKE_TS] <= c->ts) {
		__u64 id = ++x->flows;

		o = event_begin(x, 's', (__u32)(s->user[U_WAKE_TID] - 1), s->user[U_WAKE_TS]);
		FIELD(o, ",\"name\":\"wake\",\"cat\":\"wake\",\"id\":");
		outbuf__u64(o, id);
		event_end(o);
		o = event_begin(x, 'f', c->tid, c->ts);
		FIELD(o, ",\"name\":\"wake\",\"cat\":\"wake\",\"id\":");
		outbuf__u64(o, id);
		FIELD(o, ",\"bp\":\"e\"");
		event_end(o);
	}
	s->user[U_WAKE_TID] = 0;
}

/* Ends the task's poll slice on its thread, and any left open above it. */
static void poll_end(struct chrome *x, const struct tracked_task *s, __u64 ts, int result)
{
	static const char *const results[] = {"pending", "ready", "notified"};
	struct chrome_thread *th = thread_get(x, s->poll_tid);
	struct outbuf *o;
	__u32 d;

	if (!th)
		return;
	for (d = th->depth; d > 0 && th->stack[d - 1] != s->serial; d--)
		;
	if (!d)
		return;
	for (; th->depth >= d; th->depth--) {
		o = event_begin(x, 'E', th->tid, ts);
		if (th->depth == d && result >= 0 && result <= AIB_POLL_NOTIFIED) {
			FIELD(o, ",\"args\":{\"result\":\"");
			outbuf__puts(o, results[result]);
			FIELD(o, "\"}");
		}
		event_end(o);
	}
}

static int on_change(void *ctx, const struct change *c)
{
	struct chrome *x = ctx;
	struct tracked_task *s = c->task;
	struct chrome_thread *th;

	switch (c->kind) {
	case CHANGE_STATE:
		if (c->from == TASK_RUNNING)
			poll_end(x, s, c->ts, c->result);
		if (s->state == TASK_RUNNING)
			poll_begin(x, c);
		break;
	case CHANGE_ALIVE_AT_END:
		if (s->state == TASK_RUNNING)
			poll_end(x, s, c->ts, -1);
		break;
	case CHANGE_WAKE:
		/* the arrow starts in the slice open on the waking thread, if any */
		th = thread_get(x, c->tid);
		if (s && th && th->depth && !s->user[U_WAKE_TID]) {
			s->user[U_WAKE_TS] = c->ts;
			s->user[U_WAKE_TID] = (__u64)c->tid + 1;
		}
		break;
	default:
		break;
	}
	return x->err;
}

static int chrome_record(void *self, const struct aib_hdr *rec, const struct task_model *m)
{
	struct chrome *x = self;

	x->m = m;
	if (!x->started)
		start(x, rec);
	return x->err;
}

static double ms(__u64 ns)
{
	return ns / 1e6;
}

/* Every user task, with the fields of the JSON export (README). */
static void tasks(struct chrome *x, const struct task_model *m)
{
	const struct model_summary *sum = task_model__summary(m);
	size_t n = task_model__task_count(m);
	struct json_writer *w = &x->w;

	json__array_begin(w);
	for (size_t i = 0; i < n; i++) {
		const struct task_info *t = task_model__task(m, i);

		if (t->kind == TASK_RUNTIME)
			continue;
		json__object_begin(w);
		report_json__task_fields(w, t, sum->start_ts, sum->end_ts);
		json__key(w, "idle_ms");
		json__double(w, ms(t->idle_ns), 3);
		json__object_end(w);
		json__newline(&x->w);
	}
	json__array_end(w);
}

static int chrome_finish(void *self, const struct task_model *m)
{
	struct chrome *x = self;
	const struct model_summary *s = task_model__summary(m);
	int err;

	x->m = m;
	if (!x->started)
		start(x, NULL);
	for (size_t i = 0; i < x->threads.n; i++) /* none expected: polls end with their tasks */
		for (struct chrome_thread *th = id_table__at(&x->threads, i); th->depth; th->depth--)
			event_end(event_begin(x, 'E', th->tid, s->end_ts));
	json__array_end(&x->w);
	json__key(&x->w, "metadata");
	json__object_begin(&x->w);
	json__key(&x->w, "tool");
	json__string(&x->w, "async-inspect-bpf");
	json__key(&x->w, "pid");
	json__u64(&x->w, s->pid);
	json__key(&x->w, "exe");
	json__string(&x->w, s->exe);
	json__key(&x->w, "clock");
	json__string(&x->w, "CLOCK_MONOTONIC");
	json__key(&x->w, "total_tasks");
	json__u64(&x->w, s->tasks_spawned);
	json__key(&x->w, "runtime_tasks");
	json__u64(&x->w, s->runtime_tasks);
	json__key(&x->w, "total_polls");
	json__u64(&x->w, s->polls);
	json__key(&x->w, "total_wakes");
	json__u64(&x->w, s->wakes);
	json__key(&x->w, "tasks");
	tasks(x, m);
	json__object_end(&x->w);
	json__object_end(&x->w);
	json__newline(&x->w);
	err = json__finish(&x->w);
	if (!x->err)
		x->err = err;
	if (fclose(x->f) && !x->err)
		x->err = -errno;
	x->f = NULL;
	return x->err;
}

static void chrome_free(void *self)
{
	struct chrome *x = self;

	if (!x)
		return;
	if (x->f) {
		outbuf__drain(&x->w.out); /* what a finished export would hold so far */
		fclose(x->f);
	}
	id_table__release(&x->threads);
	free(x);
}

static const struct exporter_ops chrome_ops = {
	.record = chrome_record,
	.change = on_change,
	.nuser = 2, /* U_WAKE_TS, U_WAKE_TID */
	.finish = chrome_finish,
	.free = chrome_free,
};

int export_chrome__open(const char *path, struct exporter *out)
{
	struct chrome *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	if (id_table__init(&x->threads, sizeof(struct chrome_thread))) {
		chrome_free(x);
		return -ENOMEM;
	}
	x->f = outbuf__unbuffered(fopen(path, "w"));
	if (!x->f) {
		err = -errno;
		chrome_free(x);
		return err;
	}
	json__init(&x->w, x->f, false);
	*out = (struct exporter){.ops = &chrome_ops, .self = x};
	return 0;
}
