/* SPDX-License-Identifier: MIT */
/*
 * Perfetto trace packets written one at a time to a FILE (buffered: see perfetto__flush): the part of
 * perfetto_trace.proto the exporter needs (clock snapshot, interned names,
 * track descriptors, track events), each packet encoded in one buffer and
 * appended as a Trace.packet field, so a trace is a stream. Every packet is
 * on one trusted sequence; track events are timestamped with CLOCK_MONOTONIC
 * (clock id 3) and need the sequence's incremental state (interned names).
 *
 * A packet is begun, given fields, and ended; errors are sticky and come
 * out of perfetto__error().
 */
#ifndef PERFETTO_WRITER_H
#define PERFETTO_WRITER_H

#include <stdio.h>
#include <linux/types.h>

enum perfetto_event {
	PERFETTO_SLICE_BEGIN = 1,
	PERFETTO_SLICE_END = 2,
	PERFETTO_INSTANT = 3,
	PERFETTO_COUNTER = 4,
};

struct perfetto_writer;

struct perfetto_writer *perfetto__new(FILE *f); /* does not own f; NULL + errno */
void perfetto__free(struct perfetto_writer *w);
int perfetto__error(const struct perfetto_writer *w); /* the first error, or 0 */
/* Hands the packets buffered so far to the FILE (before it is closed): perfetto__error(). */
int perfetto__flush(struct perfetto_writer *w);

/* A clock snapshot: BOOTTIME (the importer's trace clock) and MONOTONIC at
 * the same instant, and REALTIME unless 0. */
void perfetto__clocks(struct perfetto_writer *w, __u64 boottime, __u64 monotonic, __u64 realtime);
/* Clears the sequence's incremental state and interns event names
 * 1..nnames-1 and debug-annotation names 1..nargs-1 (index = iid). */
void perfetto__clear(struct perfetto_writer *w, const char *const *names, int nnames,
		     const char *const *args, int nargs);

/* A track descriptor; name and parent are optional (NULL, 0). */
void perfetto__track_begin(struct perfetto_writer *w, __u64 uuid, const char *name, __u64 parent);
void perfetto__track_process(struct perfetto_writer *w, __u32 pid, const char *name);
void perfetto__track_thread(struct perfetto_writer *w, __u32 pid, __u32 tid, const char *name);
void perfetto__track_counter(struct perfetto_writer *w); /* of a count */
void perfetto__track_description(struct perfetto_writer *w, const char *text);
void perfetto__track_never_merged(struct perfetto_writer *w);	 /* sibling_merge_behavior NONE */
void perfetto__track_chronological(struct perfetto_writer *w); /* children by first event */
void perfetto__track_end(struct perfetto_writer *w);

/* A track event; name iids are interned ones. */
void perfetto__event_begin(struct perfetto_writer *w, __u64 ts, enum perfetto_event type, __u64 track);
void perfetto__event_name(struct perfetto_writer *w, __u64 iid);
void perfetto__event_arg_uint(struct perfetto_writer *w, __u64 name_iid, __u64 v);
void perfetto__event_arg_string(struct perfetto_writer *w, __u64 name_iid, const char *s);
void perfetto__event_flow(struct perfetto_writer *w, __u64 id);	 /* starts flow id */
void perfetto__event_flow_end(struct perfetto_writer *w, __u64 id); /* terminates it */
void perfetto__event_counter(struct perfetto_writer *w, __s64 value);
/* Ends the event; a name given is interned as iid in the same packet. */
void perfetto__event_end(struct perfetto_writer *w, __u64 iid, const char *name);
/* An event with at most a name (0: none). */
void perfetto__event(struct perfetto_writer *w, __u64 ts, enum perfetto_event type, __u64 track,
		     __u64 name_iid);
/* An event with a name, unsigned debug annotations, and the start and the
 * end of a flow (0: none) at once: what perfetto__event_begin(), _name(),
 * _arg_uint() for each arg, _flow(), _flow_end() and _end() write, faster
 * (polls and wakes). */
#define PERFETTO_MAX_ARGS 3
struct perfetto_arg {
	__u64 name_iid, value;
};
void perfetto__event_uints(struct perfetto_writer *w, __u64 ts, enum perfetto_event type,
			   __u64 track, __u64 name_iid, const struct perfetto_arg *args, int nargs,
			   __u64 flow, __u64 flow_end);
/* A counter's value, as an event with only perfetto__event_counter(). */
void perfetto__counter(struct perfetto_writer *w, __u64 ts, __u64 track, __s64 value);

#endif
