/* SPDX-License-Identifier: MIT */
/*
 * Where a parked task waits: its await chain as source frames, and what the
 * innermost await waits for. Two sources feed it: the stack a probe copied
 * when the task's leaf future cloned its waker (stack_namer.h), or the
 * task's future decoded from memory with DWARF types (future_decoder).
 * Either way the result becomes one AIB_REC_AWAIT record, so a replay
 * reports the same; outputs read it back from there.
 */
#ifndef AWAIT_SITE_H
#define AWAIT_SITE_H
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "aib_events.h"

#define AWAIT_MAX_FRAMES 48

struct await_frame {
	char function[160]; /* demangled, closure suffixes dropped; "" if unknown */
	char file[160];	    /* "" if unknown */
	__u32 line, col;
	bool library;	    /* runtime or std code, not the program's own */
};

struct await_desc {
	enum aib_await_method method;
	enum aib_wait_kind kind;
	char detail[160];   /* "oneshot receive", "sleep", ...; with method NONE: why */
	__u64 captured_ts;
	__u64 joined_id;    /* AIB_WAIT_JOIN: the awaited task, 0 if unknown */
	__u64 deadline_ts;  /* AIB_WAIT_TIMER: CLOCK_MONOTONIC, 0 if unknown */
	int nframes;	    /* outermost (the task's root future) first */
	struct await_frame frames[AWAIT_MAX_FRAMES];
};

/* What a chain of frames waits for, judged by the runtime code it passes
 * through below the program's own frames: frames innermost first. */
enum aib_wait_kind await_site__classify(const struct await_frame *innermost_first, int n,
					char *detail, size_t detail_len);
/* The same judgement on the type of a leaf future ("tokio::time::sleep::Sleep"). */
enum aib_wait_kind await_site__classify_type(const char *type, char *detail, size_t detail_len);

const char *await_site__kind_name(enum aib_wait_kind k);	 /* "timer", ... */
const char *await_site__method_name(enum aib_await_method m); /* "stack", ... */

/* "recv_config" from "stuck::recv_config::{{closure}}": for display. */
const char *await_site__short_name(const char *function, char *buf, size_t len);

/* The record for `d`, about (task, task_id), at ts: written into buf (at
 * least sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX bytes, 8-aligned);
 * frames that do not fit are dropped from the outer end. */
struct aib_rec_await *await_desc__to_record(const struct await_desc *d, __u64 task, __u64 task_id,
					   __u64 ts, void *buf);
/* The same encoding for a blocking syscall's frames (AIB_REC_BLOCKED),
 * from the event it names. */
struct aib_rec_blocked *await_desc__to_blocked_record(const struct await_desc *d,
						      const struct aib_ev_blocked *e, void *buf);
int await_desc__from_blocked_record(const struct aib_rec_blocked *r, struct await_desc *out);
/* The await itself: the innermost frame of the program's own code, or NULL. */
const struct await_frame *await_desc__site(const struct await_desc *d);
/* And back: 0, or -EPROTO when the text does not hold what it says. */
int await_desc__from_record(const struct aib_rec_await *r, struct await_desc *out);

#endif
