// SPDX-License-Identifier: MIT
/*
 * check_perfetto: assert the Perfetto importer's rules on a trace written by
 * async-inspect-bpf, reading the protobuf wire format itself.
 *
 *   check_perfetto TRACE [--tasks N] [--runtime-tasks N] [--polls N] [--wakes N] [--drop K]
 *
 * Rules: every packet has a trusted_packet_sequence_id; the sequence clears
 * its incremental state before it interns anything or an event needs it;
 * every interned name an event uses was interned before; clock-3 timestamps
 * follow a clock snapshot of MONOTONIC and BOOTTIME; every track is declared
 * once, before use, after its parent; counter events only on counter
 * tracks; slices begin and end balanced per track in the order the importer
 * sorts them (by timestamp, then file order); every flow starts once and is
 * terminated once, after its start; the tasks under "async tasks" are never
 * merged. Counts: task tracks, poll slices on task tracks and on thread
 * tracks, and "wake" instants, against the model's when given.
 *
 * --drop K leaves out the K-th packet (from 1), as if it were lost: a check
 * of this checker. Prints one line per problem (the first 20) and a
 * summary; exit 1 on any problem, 2 on a usage or read error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/u64_map.h"

struct buf {
	const uint8_t *p, *end;
};

struct field {
	uint32_t num;
	int wire;
	uint64_t v;	/* varint, fixed64, fixed32 */
	struct buf sub; /* length-delimited */
};

struct track {
	uint64_t uuid, parent;
	char name[256], description[128];
	bool counter, thread, task;
	int merge;
	int depth;	/* open slices, in sorted order */
	uint64_t polls; /* "poll" slices on a task track */
};

/* how the exporter marks the tracks of the runtime's carrier tasks */
#define RUNTIME_DESCRIPTION "the runtime's own task"


struct event {
	uint64_t ts;
	uint32_t order, track;
	uint8_t type;
};

struct flow_end {
	uint64_t id, ts;
	uint32_t order;
	bool terminating;
};

static struct {
	unsigned problems;
	struct track *tracks;
	size_t ntracks;
	struct u64_map *track_by_uuid;
	struct event *events;
	size_t nevents;
	struct flow_end *flows;
	size_t nflows;
	char **names;			 /* interned event names, by index */
	size_t nnames;
	struct u64_map *name_by_iid, *arg_by_iid;
	bool cleared, snapshot;
	uint64_t tasks_parent;		 /* uuid of "async tasks" */
	uint64_t packets, thread_slices, wakes;
} c;

static void problem(const char *fmt, ...)
{
	va_list ap;

	if (++c.problems > 20)
		return;
	fputs("check_perfetto: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Room for element n of arr: the capacity doubles at powers of two from 16. */
static void *grow(void *arr, size_t n, size_t elem)
{
	if (n == 0)
		arr = realloc(arr, 16 * elem);
	else if (n >= 16 && !(n & (n - 1)))
		arr = realloc(arr, 2 * n * elem);
	if (!arr) {
		perror("check_perfetto");
		exit(2);
	}
	return arr;
}

static bool varint(struct buf *b, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end)
			return false;
		*v |= (uint64_t)(*b->p & 0x7f) << shift;
		if (!(*b->p++ & 0x80))
			return true;
	}
	return false;
}

/* 1 and *f for the next field, 0 at the end, -1 if malformed. */
static int next(struct buf *b, struct field *f)
{
	uint64_t key, len;

	if (b->p >= b->end)
		return 0;
	if (!varint(b, &key))
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wire = key & 7;
	switch (f->wire) {
	case 0:
		return varint(b, &f->v) ? 1 : -1;
	case 1:
	case 5: {
		int n = f->wire == 1 ? 8 : 4;

		if (b->end - b->p < n)
			return -1;
		f->v = 0;
		for (int i = 0; i < n; i++)
			f->v |= (uint64_t)b->p[i] << (8 * i);
		b->p += n;
		return 1;
	}
	case 2:
		if (!varint(b, &len) || len > (uint64_t)(b->end - b->p))
			return -1;
		f->sub = (struct buf){b->p, b->p + len};
		b->p += len;
		return 1;
	default:
		return -1;
	}
}

#define FIELDS(b, f, r) for (struct buf it_ = (b); ((r) = next(&it_, &(f))) > 0;)

static void text(struct buf s, char *out, size_t len)
{
	size_t n = (size_t)(s.end - s.p) < len - 1 ? (size_t)(s.end - s.p) : len - 1;

	memcpy(out, s.p, n);
	out[n] = 0;
}

static void interned(struct buf b)
{
	struct field f, g;
	int r, r2;

	if (!c.cleared)
		problem("packet %llu: interned data before the sequence cleared its state",
			(unsigned long long)c.packets);
	FIELDS(b, f, r) {
		uint64_t iid = 0;
		char name[256] = "";

		if (f.num != 2 && f.num != 3)
			continue;
		FIELDS(f.sub, g, r2) {
			if (g.num == 1)
				iid = g.v;
			else if (g.num == 2)
				text(g.sub, name, sizeof(name));
		}
		if (f.num == 3) {
			u64_map__set(c.arg_by_iid, iid, 0);
			continue;
		}
		c.names = grow(c.names, c.nnames, sizeof(*c.names));
		c.names[c.nnames] = strdup(name);
		u64_map__set(c.name_by_iid, iid, (uint32_t)c.nnames++);
	}
}

static void descriptor(struct buf b)
{
	struct track t = {0};
	struct field f;
	__u32 idx;
	int r;

	FIELDS(b, f, r) {
		if (f.num == 1)
			t.uuid = f.v;
		else if (f.num == 2)
			text(f.sub, t.name, sizeof(t.name));
		else if (f.num == 5)
			t.parent = f.v;
		else if (f.num == 4)
			t.thread = true;
		else if (f.num == 8)
			t.counter = true;
		else if (f.num == 15)
			t.merge = (int)f.v;
		else if (f.num == 14)
			text(f.sub, t.description, sizeof(t.description));
	}
	if (!t.uuid) {
		problem("packet %llu: a track without a uuid", (unsigned long long)c.packets);
		return;
	}
	if (u64_map__get(c.track_by_uuid, t.uuid, &idx)) {
		struct track *old = &c.tracks[idx];

		/* declared again: the same track, maybe renamed */
		if (old->parent != t.parent || old->counter != t.counter || old->thread != t.thread ||
		    old->merge != t.merge)
			problem("track %llu declared again, differently", (unsigned long long)t.uuid);
		if (t.name[0])
			memcpy(old->name, t.name, sizeof(t.name));
		if (t.description[0])
			memcpy(old->description, t.description, sizeof(t.description));
		return;
	}
	if (t.parent && !u64_map__get(c.track_by_uuid, t.parent, &idx))
		problem("track %llu declared before its parent %llu", (unsigned long long)t.uuid,
			(unsigned long long)t.parent);
	if (!strcmp(t.name, "async tasks"))
		c.tasks_parent = t.uuid;
	if (c.tasks_parent && t.parent == c.tasks_parent) {
		t.task = true;
		if (t.merge != 2)
			problem("task track %llu (%s) may be merged with its siblings",
				(unsigned long long)t.uuid, t.name);
	}
	c.tracks = grow(c.tracks, c.ntracks, sizeof(*c.tracks));
	c.tracks[c.ntracks] = t;
	u64_map__set(c.track_by_uuid, t.uuid, (uint32_t)c.ntracks++);
}

static void track_event(struct buf b, bool has_ts, uint64_t ts, uint64_t clock, uint64_t flags)
{
	struct event e = {.ts = ts, .order = (uint32_t)c.packets};
	uint64_t track = 0, name_iid = 0, id;
	bool has_name = false;
	struct field f, g;
	struct buf packed;
	__u32 idx;
	int r, r2;

	FIELDS(b, f, r) {
		switch (f.num) {
		case 9:
			e.type = (uint8_t)f.v;
			break;
		case 11:
			track = f.v;
			break;
		case 10:
			name_iid = f.v;
			has_name = true;
			break;
		case 23:
			has_name = true;
			break;
		case 4:
			FIELDS(f.sub, g, r2)
				if (g.num == 1 && !u64_map__get(c.arg_by_iid, g.v, NULL))
					problem("packet %llu: debug annotation name %llu not interned",
						(unsigned long long)c.packets, (unsigned long long)g.v);
			break;
		case 47:
		case 48:
			packed = f.wire == 2 ? f.sub : (struct buf){0};
			do {
				if (f.wire == 2) {
					if (packed.end - packed.p < 8)
						break;
					memcpy(&id, packed.p, 8);
					packed.p += 8;
				} else {
					id = f.v;
				}
				c.flows = grow(c.flows, c.nflows, sizeof(*c.flows));
				c.flows[c.nflows++] = (struct flow_end){id, ts, e.order, f.num == 48};
			} while (f.wire == 2 && packed.p < packed.end);
			break;
		case 36:
		case 42:
			problem("packet %llu: deprecated varint flow ids", (unsigned long long)c.packets);
			break;
		}
	}
	if (!has_ts)
		problem("packet %llu: track event without a timestamp", (unsigned long long)c.packets);
	if (clock == 3 && !c.snapshot)
		problem("packet %llu: MONOTONIC timestamp before a clock snapshot of MONOTONIC and "
			"BOOTTIME", (unsigned long long)c.packets);
	if (!c.cleared || !(flags & 2))
		problem("packet %llu: track event without SEQ_NEEDS_INCREMENTAL_STATE after a clear",
			(unsigned long long)c.packets);
	if (!track || !u64_map__get(c.track_by_uuid, track, &idx)) {
		problem("packet %llu: event on undeclared track %llu", (unsigned long long)c.packets,
			(unsigned long long)track);
		return;
	}
	e.track = idx;
	if (name_iid && !u64_map__get(c.name_by_iid, name_iid, NULL))
		problem("packet %llu: event name %llu not interned", (unsigned long long)c.packets,
			(unsigned long long)name_iid);
	if (e.type < 1 || e.type > 4)
		problem("packet %llu: event type %u", (unsigned long long)c.packets, e.type);
	if ((e.type == 4) != c.tracks[idx].counter)
		problem("packet %llu: %s event on %s track %llu", (unsigned long long)c.packets,
			e.type == 4 ? "counter" : "slice", c.tracks[idx].counter ? "a counter" : "a slice",
			(unsigned long long)track);
	if ((e.type == 1 || e.type == 3) && !has_name)
		problem("packet %llu: a slice without a name", (unsigned long long)c.packets);
	if (e.type == 1 || e.type == 3) {
		__u32 n;
		const char *name = name_iid && u64_map__get(c.name_by_iid, name_iid, &n) ? c.names[n] : "";

		if (e.type == 1 && c.tracks[idx].task && !strcmp(name, "poll"))
			c.tracks[idx].polls++;
		if (e.type == 1 && c.tracks[idx].thread)
			c.thread_slices++;
		if (e.type == 3 && !strcmp(name, "wake"))
			c.wakes++;
	}
	c.events = grow(c.events, c.nevents, sizeof(*c.events));
	c.events[c.nevents++] = e;
}

static void packet(struct buf b)
{
	uint64_t seq = 0, ts = 0, clock = 0, flags = 0;
	struct buf te = {0}, td = {0}, in = {0};
	bool has_ts = false, has_te = false, has_td = false, has_in = false;
	struct field f, g, h;
	int r, r2, r3;

	c.packets++;
	FIELDS(b, f, r) {
		switch (f.num) {
		case 8:
			ts = f.v;
			has_ts = true;
			break;
		case 10:
			seq = f.v;
			break;
		case 13:
			flags = f.v;
			break;
		case 58:
			clock = f.v;
			break;
		case 11:
			te = f.sub;
			has_te = true;
			break;
		case 60:
			td = f.sub;
			has_td = true;
			break;
		case 12:
			in = f.sub;
			has_in = true;
			break;
		case 6: {
			bool mono = false, boot = false;

			FIELDS(f.sub, g, r2) {
				if (g.num != 1)
					continue;
				FIELDS(g.sub, h, r3)
					if (h.num == 1) {
						mono |= h.v == 3;
						boot |= h.v == 6;
					}
			}
			c.snapshot |= mono && boot;
			break;
		}
		}
	}
	if (r < 0)
		problem("packet %llu: malformed", (unsigned long long)c.packets);
	if (!seq)
		problem("packet %llu: no trusted_packet_sequence_id", (unsigned long long)c.packets);
	if (seq != 1 && seq)
		problem("packet %llu: sequence %llu (one sequence expected)", (unsigned long long)c.packets,
			(unsigned long long)seq);
	if (flags & 1)
		c.cleared = true;
	if (has_in)
		interned(in);
	if (has_td)
		descriptor(td);
	if (has_te)
		track_event(te, has_ts, ts, clock, flags);
}

static int by_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int by_flow(const void *a, const void *b)
{
	const struct flow_end *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->terminating - y->terminating; /* start first */
}

/* Begin/end balance as the importer sees it: sorted by time, ties in file order. */
static void balance(void)
{
	qsort(c.events, c.nevents, sizeof(*c.events), by_time);
	for (size_t i = 0; i < c.nevents; i++) {
		struct event *e = &c.events[i];
		struct track *t = &c.tracks[e->track];

		if (e->type == 1) {
			t->depth++;
		} else if (e->type == 2 && t->depth-- == 0) {
			problem("slice end without a begin on track %llu (%s) at %llu",
				(unsigned long long)t->uuid, t->name, (unsigned long long)e->ts);
			t->depth = 0;
		}
	}
	for (size_t i = 0; i < c.ntracks; i++)
		if (c.tracks[i].depth)
			problem("%d slices left open on track %llu (%s)", c.tracks[i].depth,
				(unsigned long long)c.tracks[i].uuid, c.tracks[i].name);
}

static uint64_t check_flows(void)
{
	uint64_t n = 0;

	qsort(c.flows, c.nflows, sizeof(*c.flows), by_flow);
	for (size_t i = 0; i < c.nflows;) {
		size_t j = i;
		unsigned starts = 0, ends = 0;
		struct flow_end *s = NULL, *e = NULL;

		for (; j < c.nflows && c.flows[j].id == c.flows[i].id; j++) {
			if (c.flows[j].terminating) {
				ends++;
				e = &c.flows[j];
			} else {
				starts++;
				s = &c.flows[j];
			}
		}
		if (starts != 1 || ends != 1)
			problem("flow %llu: %u starts, %u ends (one of each expected)",
				(unsigned long long)c.flows[i].id, starts, ends);
		else if (e->ts < s->ts || (e->ts == s->ts && e->order < s->order))
			problem("flow %llu ends before it starts", (unsigned long long)c.flows[i].id);
		n++;
		i = j;
	}
	return n;
}

static void expect(const char *what, uint64_t got, const char *want)
{
	if (want && strtoull(want, NULL, 10) != got)
		problem("%s: %llu in the trace, %s expected", what, (unsigned long long)got, want);
}

int main(int argc, char **argv)
{
	const char *want_tasks = NULL, *want_runtime = NULL, *want_polls = NULL, *want_wakes = NULL;
	uint64_t tasks = 0, runtime = 0, polls = 0, runtime_polls = 0, drop = 0, at = 0;
	struct buf b;
	struct field f;
	uint8_t *data;
	uint64_t flows;
	long size;
	FILE *fp;
	int r;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--tasks"))
			want_tasks = argv[i + 1];
		else if (!strcmp(argv[i], "--runtime-tasks"))
			want_runtime = argv[i + 1];
		else if (!strcmp(argv[i], "--polls"))
			want_polls = argv[i + 1];
		else if (!strcmp(argv[i], "--wakes"))
			want_wakes = argv[i + 1];
		else if (!strcmp(argv[i], "--drop"))
			drop = strtoull(argv[i + 1], NULL, 10);
	}
	if (argc < 2 || argc % 2) {
		fprintf(stderr, "usage: check_perfetto TRACE [--tasks N] [--runtime-tasks N] [--polls N] "
			"[--wakes N] [--drop K]\n");
		return 2;
	}
	fp = fopen(argv[1], "rb");
	if (!fp || fseek(fp, 0, SEEK_END) || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
		fprintf(stderr, "check_perfetto: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	data = malloc(size ? (size_t)size : 1);
	if (!data || fread(data, 1, (size_t)size, fp) != (size_t)size) {
		fprintf(stderr, "check_perfetto: cannot read %s\n", argv[1]);
		return 2;
	}
	fclose(fp);
	c.track_by_uuid = u64_map__new();
	c.name_by_iid = u64_map__new();
	c.arg_by_iid = u64_map__new();

	b = (struct buf){data, data + size};
	while ((r = next(&b, &f)) > 0) {
		if (f.num != 1 || f.wire != 2) {
			problem("field %u at the top level: not a packet", f.num);
			continue;
		}
		if (++at != drop)
			packet(f.sub);
	}
	if (r < 0)
		problem("malformed trace after packet %llu", (unsigned long long)c.packets);
	if (!c.tasks_parent)
		problem("no \"async tasks\" track");
	balance();
	flows = check_flows();
	for (size_t i = 0; i < c.ntracks; i++) {
		struct track *t = &c.tracks[i];

		if (!t->task)
			continue;
		if (!strncmp(t->description, RUNTIME_DESCRIPTION, strlen(RUNTIME_DESCRIPTION))) {
			runtime++;
			runtime_polls += t->polls;
		} else {
			tasks++;
			polls += t->polls;
		}
	}
	if (c.thread_slices != polls + runtime_polls)
		problem("%llu poll slices on thread tracks but %llu on task tracks",
			(unsigned long long)c.thread_slices, (unsigned long long)(polls + runtime_polls));
	expect("task tracks", tasks, want_tasks);
	expect("runtime task tracks", runtime, want_runtime);
	expect("polls", polls, want_polls);
	expect("wakes", c.wakes, want_wakes);
	printf("check_perfetto: %s: %llu packets, %zu tracks, %llu task tracks (+%llu runtime), "
	       "%llu polls (+%llu), %llu wakes, %llu flows, %zu events: %s\n",
	       argv[1], (unsigned long long)c.packets, c.ntracks, (unsigned long long)tasks,
	       (unsigned long long)runtime, (unsigned long long)polls,
	       (unsigned long long)runtime_polls, (unsigned long long)c.wakes,
	       (unsigned long long)flows, c.nevents, c.problems ? "PROBLEMS" : "ok");
	return c.problems ? 1 : 0;
}
