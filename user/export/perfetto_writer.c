// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export/perfetto_writer.h"
#include "lib/protobuf.h"

/* Field numbers, from perfetto_trace.proto */
enum {
	TRACE_PACKET = 1,
	PKT_CLOCK_SNAPSHOT = 6, PKT_TIMESTAMP = 8, PKT_SEQ_ID = 10, PKT_TRACK_EVENT = 11,
	PKT_INTERNED = 12, PKT_SEQ_FLAGS = 13, PKT_CLOCK_ID = 58, PKT_TRACK_DESCRIPTOR = 60,
	SNAP_CLOCK = 1, CLOCK_ID = 1, CLOCK_TS = 2,
	TD_UUID = 1, TD_NAME = 2, TD_PROCESS = 3, TD_THREAD = 4, TD_PARENT = 5, TD_COUNTER = 8,
	TD_CHILD_ORDERING = 11, TD_DESCRIPTION = 14, TD_SIBLING_MERGE = 15,
	PROC_PID = 1, PROC_NAME = 6,
	THR_PID = 1, THR_TID = 2, THR_NAME = 5,
	COUNTER_UNIT = 3,
	TE_DEBUG = 4, TE_TYPE = 9, TE_NAME_IID = 10, TE_TRACK = 11, TE_COUNTER_VALUE = 30,
	TE_FLOW = 47, TE_FLOW_END = 48,
	DA_NAME_IID = 1, DA_UINT = 3, DA_STRING = 6,
	INTERNED_EVENT_NAMES = 2, INTERNED_DEBUG_NAMES = 3, ENTRY_IID = 1, ENTRY_NAME = 2,
};
enum { SEQ_INCREMENTAL_STATE_CLEARED = 1, SEQ_NEEDS_INCREMENTAL_STATE = 2 };
enum { CLOCK_REALTIME = 1, CLOCK_MONOTONIC = 3, CLOCK_BOOTTIME = 6 };
enum { UNIT_COUNT = 2, CHRONOLOGICAL = 2, MERGE_NONE = 2 };
#define SEQUENCE 1

/* Packets are encoded back to back in one buffer (a Trace message is just
 * its packet fields) and handed to the FILE when it holds this much. */
#define FLUSH_AT (64 * 1024)

struct perfetto_writer {
	FILE *f;
	struct pb *pb; /* the packets not written yet */
	size_t pkt;    /* where the open packet starts in it */
	int err;
};

struct perfetto_writer *perfetto__new(FILE *f)
{
	struct perfetto_writer *w = calloc(1, sizeof(*w));

	if (!w || !(w->pb = pb__new())) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->f = f;
	return w;
}

void perfetto__free(struct perfetto_writer *w)
{
	if (!w)
		return;
	pb__free(w->pb);
	free(w);
}

int perfetto__error(const struct perfetto_writer *w)
{
	return w->err;
}

/* The first len bytes of the buffer to the FILE; the buffer is emptied. */
static void write_out(struct perfetto_writer *w, size_t len)
{
	const __u8 *data = pb__data(w->pb, &(size_t){0});

	errno = 0;
	if (len && fwrite(data, 1, len, w->f) != len && !w->err)
		w->err = errno ? -errno : -EIO;
	pb__reset(w->pb);
}

int perfetto__flush(struct perfetto_writer *w)
{
	size_t len;

	if (!w->err) {
		pb__data(w->pb, &len);
		write_out(w, len);
	}
	return w->err;
}

static void packet_begin(struct perfetto_writer *w)
{
	if (w->err) /* nothing goes out any more: keep the buffer small */
		pb__reset(w->pb);
	pb__data(w->pb, &w->pkt);
	pb__begin(w->pb, TRACE_PACKET);
	pb__varint(w->pb, PKT_SEQ_ID, SEQUENCE);
}

/* The packets before the open one go out, not this one, and no more. */
static void packet_failed(struct perfetto_writer *w, int err)
{
	write_out(w, w->pkt);
	if (!w->err)
		w->err = err;
}

/* A packet is complete: out with the buffer if it is full enough. */
static void packet_done(struct perfetto_writer *w)
{
	size_t len;

	pb__data(w->pb, &len);
	if (len >= FLUSH_AT)
		write_out(w, len);
}

static void packet_end(struct perfetto_writer *w)
{
	int err;

	pb__end(w->pb);
	if (w->err)
		return;
	err = pb__error(w->pb);
	if (err)
		packet_failed(w, err);
	else
		packet_done(w);
}

static void clock(struct perfetto_writer *w, int id, __u64 ts)
{
	pb__begin(w->pb, SNAP_CLOCK);
	pb__varint(w->pb, CLOCK_ID, id);
	pb__varint(w->pb, CLOCK_TS, ts);
	pb__end(w->pb);
}

void perfetto__clocks(struct perfetto_writer *w, __u64 boottime, __u64 monotonic, __u64 realtime)
{
	packet_begin(w);
	pb__begin(w->pb, PKT_CLOCK_SNAPSHOT);
	clock(w, CLOCK_BOOTTIME, boottime);
	clock(w, CLOCK_MONOTONIC, monotonic);
	if (realtime)
		clock(w, CLOCK_REALTIME, realtime);
	pb__end(w->pb);
	packet_end(w);
}

static void interned(struct perfetto_writer *w, int kind, __u64 iid, const char *name)
{
	pb__begin(w->pb, kind);
	pb__varint(w->pb, ENTRY_IID, iid);
	pb__string(w->pb, ENTRY_NAME, name);
	pb__end(w->pb);
}

void perfetto__clear(struct perfetto_writer *w, const char *const *names, int nnames,
		     const char *const *args, int nargs)
{
	packet_begin(w);
	pb__varint(w->pb, PKT_SEQ_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED);
	pb__begin(w->pb, PKT_INTERNED);
	for (int i = 1; i < nnames; i++)
		interned(w, INTERNED_EVENT_NAMES, i, names[i]);
	for (int i = 1; i < nargs; i++)
		interned(w, INTERNED_DEBUG_NAMES, i, args[i]);
	pb__end(w->pb);
	packet_end(w);
}

/* ---- track descriptors ---- */

void perfetto__track_begin(struct perfetto_writer *w, __u64 uuid, const char *name, __u64 parent)
{
	packet_begin(w);
	pb__begin(w->pb, PKT_TRACK_DESCRIPTOR);
	pb__varint(w->pb, TD_UUID, uuid);
	if (name)
		pb__string(w->pb, TD_NAME, name);
	if (parent)
		pb__varint(w->pb, TD_PARENT, parent);
}

void perfetto__track_process(struct perfetto_writer *w, __u32 pid, const char *name)
{
	pb__begin(w->pb, TD_PROCESS);
	pb__varint(w->pb, PROC_PID, pid);
	if (name && *name)
		pb__string(w->pb, PROC_NAME, name);
	pb__end(w->pb);
}

void perfetto__track_thread(struct perfetto_writer *w, __u32 pid, __u32 tid, const char *name)
{
	pb__begin(w->pb, TD_THREAD);
	pb__varint(w->pb, THR_PID, pid);
	pb__varint(w->pb, THR_TID, tid);
	if (name && *name)
		pb__string(w->pb, THR_NAME, name);
	pb__end(w->pb);
}

void perfetto__track_counter(struct perfetto_writer *w)
{
	pb__begin(w->pb, TD_COUNTER);
	pb__varint(w->pb, COUNTER_UNIT, UNIT_COUNT);
	pb__end(w->pb);
}

void perfetto__track_description(struct perfetto_writer *w, const char *text)
{
	pb__string(w->pb, TD_DESCRIPTION, text);
}

void perfetto__track_never_merged(struct perfetto_writer *w)
{
	pb__varint(w->pb, TD_SIBLING_MERGE, MERGE_NONE);
}

void perfetto__track_chronological(struct perfetto_writer *w)
{
	pb__varint(w->pb, TD_CHILD_ORDERING, CHRONOLOGICAL);
}

void perfetto__track_end(struct perfetto_writer *w)
{
	pb__end(w->pb);
	packet_end(w);
}

/* ---- track events ---- */

/*
 * Track events are most of a trace, several per record: their fields are
 * put in runs (one check of room for each call) rather than one by one.
 */

void perfetto__event_begin(struct perfetto_writer *w, __u64 ts, enum perfetto_event type, __u64 track)
{
	__u8 *b;

	if (w->err) /* as packet_begin() */
		pb__reset(w->pb);
	pb__data(w->pb, &w->pkt);
	b = pb__room(w->pb, 2 + 2 + 11 + 3 + 2 + 2 + 11 + 11);
	if (!b)
		return;
	b = pb__put_begin(w->pb, b, TRACE_PACKET);
	b = pb__put_uint(b, PKT_SEQ_ID, SEQUENCE);
	b = pb__put_uint(b, PKT_TIMESTAMP, ts);
	b = pb__put_uint(b, PKT_CLOCK_ID, CLOCK_MONOTONIC);
	b = pb__put_uint(b, PKT_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	b = pb__put_begin(w->pb, b, PKT_TRACK_EVENT);
	b = pb__put_uint(b, TE_TYPE, type);
	b = pb__put_uint(b, TE_TRACK, track);
	pb__commit(w->pb, b);
}

void perfetto__event_name(struct perfetto_writer *w, __u64 iid)
{
	__u8 *b = pb__room(w->pb, 11);

	if (b)
		pb__commit(w->pb, pb__put_uint(b, TE_NAME_IID, iid));
}

void perfetto__event_arg_uint(struct perfetto_writer *w, __u64 name_iid, __u64 v)
{
	__u8 *b = pb__room(w->pb, 2 + 11 + 11), *body;

	if (!b)
		return;
	body = pb__put_tag(b, TE_DEBUG, PB_LEN) + 1;
	b = pb__put_uint(body, DA_NAME_IID, name_iid);
	b = pb__put_uint(b, DA_UINT, v);
	body[-1] = (__u8)(b - body); /* at most 22: one byte */
	pb__commit(w->pb, b);
}

void perfetto__event_arg_string(struct perfetto_writer *w, __u64 name_iid, const char *s)
{
	size_t len = strlen(s);
	__u8 *b, *body;

	if (len < 64) { /* the common case, short enough that both lengths take a byte */
		b = pb__room(w->pb, 2 + 11 + 2 + len);
		if (!b)
			return;
		body = pb__put_tag(b, TE_DEBUG, PB_LEN) + 1;
		b = pb__put_uint(body, DA_NAME_IID, name_iid);
		b = pb__put_varint(pb__put_tag(b, DA_STRING, PB_LEN), len);
		memcpy(b, s, len);
		b += len;
		body[-1] = (__u8)(b - body); /* at most 76 */
		pb__commit(w->pb, b);
		return;
	}
	pb__begin(w->pb, TE_DEBUG);
	pb__varint(w->pb, DA_NAME_IID, name_iid);
	pb__string(w->pb, DA_STRING, s);
	pb__end(w->pb);
}

void perfetto__event_flow(struct perfetto_writer *w, __u64 id)
{
	__u8 *b = pb__room(w->pb, 11);

	if (b)
		pb__commit(w->pb, pb__put_fixed64(b, TE_FLOW, id));
}

void perfetto__event_flow_end(struct perfetto_writer *w, __u64 id)
{
	__u8 *b = pb__room(w->pb, 11);

	if (b)
		pb__commit(w->pb, pb__put_fixed64(b, TE_FLOW_END, id));
}

void perfetto__event_counter(struct perfetto_writer *w, __s64 value)
{
	__u8 *b = pb__room(w->pb, 2 + 10);

	if (b) /* int64: two's complement */
		pb__commit(w->pb, pb__put_uint(b, TE_COUNTER_VALUE, (__u64)value));
}

void perfetto__event_end(struct perfetto_writer *w, __u64 iid, const char *name)
{
	pb__end(w->pb);
	if (name) {
		pb__begin(w->pb, PKT_INTERNED);
		interned(w, INTERNED_EVENT_NAMES, iid, name);
		pb__end(w->pb);
	}
	packet_end(w);
}

/* The start of an event packet written in one run at b, up to its track:
 * the packet's and the track event's tags, their lengths left for the
 * caller to patch at (*pkt)[-1] and (*te)[-1] (a byte each is reserved). */
static __u8 *event_head(__u8 *b, __u64 ts, enum perfetto_event type, __u64 track, __u8 **pkt,
			__u8 **te)
{
	*pkt = pb__put_tag(b, TRACE_PACKET, PB_LEN) + 1;
	b = pb__put_uint(*pkt, PKT_SEQ_ID, SEQUENCE);
	b = pb__put_uint(b, PKT_TIMESTAMP, ts);
	b = pb__put_uint(b, PKT_CLOCK_ID, CLOCK_MONOTONIC);
	b = pb__put_uint(b, PKT_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	*te = pb__put_tag(b, PKT_TRACK_EVENT, PB_LEN) + 1;
	b = pb__put_uint(*te, TE_TYPE, type);
	return pb__put_uint(b, TE_TRACK, track);
}

/* A whole event packet with one field besides type and track (0: none),
 * in one run: it is short, so both lengths take a byte. */
static void event_short(struct perfetto_writer *w, __u64 ts, enum perfetto_event type, __u64 track,
			__u32 field, __u64 v)
{
	__u8 *b, *pkt, *te;

	if (w->err)
		return;
	pb__data(w->pb, &w->pkt);
	b = pb__room(w->pb, 2 + 2 + 11 + 3 + 2 + 2 + 11 + 11 + 11);
	if (!b) {
		packet_failed(w, pb__error(w->pb));
		return;
	}
	b = event_head(b, ts, type, track, &pkt, &te);
	if (field)
		b = pb__put_uint(b, field, v);
	te[-1] = (__u8)(b - te);	/* at most 35 */
	pkt[-1] = (__u8)(b - pkt); /* at most 59 */
	pb__commit(w->pb, b);
	packet_done(w);
}

void perfetto__event_uints(struct perfetto_writer *w, __u64 ts, enum perfetto_event type,
			   __u64 track, __u64 name_iid, const struct perfetto_arg *args, int nargs,
			   __u64 flow, __u64 flow_end)
{
	__u8 *b, *pkt, *te, *body;

	if (w->err)
		return;
	if (nargs > PERFETTO_MAX_ARGS) {
		packet_failed(w, -EINVAL);
		return;
	}
	pb__data(w->pb, &w->pkt);
	b = pb__room(w->pb, 2 + 1 + 2 + 11 + 3 + 2 + 2 + 11 + 11 + 11 + PERFETTO_MAX_ARGS * 24 + 10 + 10);
	if (!b) {
		packet_failed(w, pb__error(w->pb));
		return;
	}
	b = event_head(b, ts, type, track, &pkt, &te);
	b = pb__put_uint(b, TE_NAME_IID, name_iid);
	for (int i = 0; i < nargs; i++) {
		body = pb__put_tag(b, TE_DEBUG, PB_LEN) + 1;
		b = pb__put_uint(body, DA_NAME_IID, args[i].name_iid);
		b = pb__put_uint(b, DA_UINT, args[i].value);
		body[-1] = (__u8)(b - body); /* at most 22 */
	}
	if (flow)
		b = pb__put_fixed64(b, TE_FLOW, flow);
	if (flow_end)
		b = pb__put_fixed64(b, TE_FLOW_END, flow_end);
	te[-1] = (__u8)(b - te); /* at most 116 */
	if (b - pkt >= 0x80) { /* values near 2^64: the packet's length takes two bytes */
		memmove(pkt + 1, pkt, b - pkt);
		b++;
		pb__put_varint(pkt - 1, b - pkt - 1);
	} else {
		pkt[-1] = (__u8)(b - pkt);
	}
	pb__commit(w->pb, b);
	packet_done(w);
}

void perfetto__event(struct perfetto_writer *w, __u64 ts, enum perfetto_event type, __u64 track,
		     __u64 name_iid)
{
	event_short(w, ts, type, track, name_iid ? TE_NAME_IID : 0, name_iid);
}

void perfetto__counter(struct perfetto_writer *w, __u64 ts, __u64 track, __s64 value)
{
	event_short(w, ts, PERFETTO_COUNTER, track, TE_COUNTER_VALUE, (__u64)value); /* int64: two's complement */
}
