// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include "perfetto_writer.h"
#include "protobuf.h"

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

struct perfetto_writer {
	FILE *f;
	struct pb *pb;
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

static void packet_begin(struct perfetto_writer *w)
{
	pb__reset(w->pb);
	pb__begin(w->pb, TRACE_PACKET);
	pb__varint(w->pb, PKT_SEQ_ID, SEQUENCE);
}

static void packet_end(struct perfetto_writer *w)
{
	const __u8 *data;
	size_t len;

	pb__end(w->pb);
	if (w->err)
		return;
	w->err = pb__error(w->pb);
	data = pb__data(w->pb, &len);
	errno = 0;
	if (!w->err && fwrite(data, 1, len, w->f) != len)
		w->err = errno ? -errno : -EIO;
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

void perfetto__event_begin(struct perfetto_writer *w, __u64 ts, enum perfetto_event type, __u64 track)
{
	packet_begin(w);
	pb__varint(w->pb, PKT_TIMESTAMP, ts);
	pb__varint(w->pb, PKT_CLOCK_ID, CLOCK_MONOTONIC);
	pb__varint(w->pb, PKT_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	pb__begin(w->pb, PKT_TRACK_EVENT);
	pb__varint(w->pb, TE_TYPE, type);
	pb__varint(w->pb, TE_TRACK, track);
}

void perfetto__event_name(struct perfetto_writer *w, __u64 iid)
{
	pb__varint(w->pb, TE_NAME_IID, iid);
}

void perfetto__event_arg_uint(struct perfetto_writer *w, __u64 name_iid, __u64 v)
{
	pb__begin(w->pb, TE_DEBUG);
	pb__varint(w->pb, DA_NAME_IID, name_iid);
	pb__varint(w->pb, DA_UINT, v);
	pb__end(w->pb);
}

void perfetto__event_arg_string(struct perfetto_writer *w, __u64 name_iid, const char *s)
{
	pb__begin(w->pb, TE_DEBUG);
	pb__varint(w->pb, DA_NAME_IID, name_iid);
	pb__string(w->pb, DA_STRING, s);
	pb__end(w->pb);
}

void perfetto__event_flow(struct perfetto_writer *w, __u64 id)
{
	pb__fixed64(w->pb, TE_FLOW, id);
}

void perfetto__event_flow_end(struct perfetto_writer *w, __u64 id)
{
	pb__fixed64(w->pb, TE_FLOW_END, id);
}

void perfetto__event_counter(struct perfetto_writer *w, __s64 value)
{
	pb__varint(w->pb, TE_COUNTER_VALUE, (__u64)value); /* int64: two's complement */
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

void perfetto__event(struct perfetto_writer *w, __u64 ts, enum perfetto_event type, __u64 track,
		     __u64 name_iid)
{
	perfetto__event_begin(w, ts, type, track);
	if (name_iid)
		perfetto__event_name(w, name_iid);
	perfetto__event_end(w, 0, NULL);
}
