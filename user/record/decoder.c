// SPDX-License-Identifier: MIT
/* Record validation: the only place that knows which sizes each kind may have. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "record/decoder.h"

/* The variable records must still fit hdr.size (a __u16). */
_Static_assert(sizeof(struct aib_rec_location) + AIB_LOCATION_MAX <= 0xffff,
	       "location records must fit in hdr.size");
_Static_assert(sizeof(struct aib_ev_spawn_stack) + AIB_STACK_MAX <= 0xffff,
	       "spawn stacks must fit in hdr.size");
_Static_assert(sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX <= 0xffff,
	       "await records must fit in hdr.size");
_Static_assert(sizeof(struct aib_ev_blocked) + AIB_STACK_MAX <= 0xffff,
	       "blocked stacks must fit in hdr.size");
_Static_assert(sizeof(struct aib_rec_blocked) + AIB_AWAIT_TEXT_MAX <= 0xffff,
	       "blocked records must fit in hdr.size");

/* const tables only: the module has no mutable state */
static const __u16 kind_size[AIB_KIND_MAX] = {
	[AIB_EV_SPAWN] = sizeof(struct aib_ev_spawn),
	[AIB_EV_POLL_BEGIN] = sizeof(struct aib_ev_poll),
	[AIB_EV_POLL_END] = sizeof(struct aib_ev_poll),
	[AIB_EV_WAKE] = sizeof(struct aib_ev_wake),
	[AIB_EV_SHUTDOWN] = sizeof(struct aib_ev_task),
	[AIB_EV_DEALLOC] = sizeof(struct aib_ev_task),
	[AIB_EV_WORKER_START] = sizeof(struct aib_ev_worker),
	[AIB_EV_SPAWN_ID] = sizeof(struct aib_ev_spawn_id),
	[AIB_EV_TASK_NAME] = sizeof(struct aib_ev_task_name),
	[AIB_EV_SPAWN_STACK] = sizeof(struct aib_ev_spawn_stack),
	[AIB_EV_RET_SITE] = sizeof(struct aib_ev_ret_site),
	[AIB_EV_JOIN] = sizeof(struct aib_ev_join),
	[AIB_EV_LOCK] = sizeof(struct aib_ev_lock),
	[AIB_EV_EXEC] = sizeof(struct aib_ev_exec),
	[AIB_EV_BLOCKED] = sizeof(struct aib_ev_blocked),
	[AIB_REC_PROCESS] = sizeof(struct aib_rec_process),
	[AIB_REC_LOCATION] = sizeof(struct aib_rec_location),
	[AIB_REC_THREAD] = sizeof(struct aib_rec_thread),
	[AIB_REC_LOST] = sizeof(struct aib_rec_lost),
	[AIB_REC_DROPS] = sizeof(struct aib_rec_drops),
	[AIB_REC_END] = sizeof(struct aib_rec_end),
	[AIB_REC_AWAIT] = sizeof(struct aib_rec_await),
	[AIB_REC_TASK_FOUND] = sizeof(struct aib_rec_task_found),
	[AIB_REC_BLOCKED] = sizeof(struct aib_rec_blocked),
	[AIB_REC_BUILD_ID] = sizeof(struct aib_rec_build_id),
};

static const char *const kind_name[AIB_KIND_MAX] = {
	[AIB_EV_SPAWN] = "spawn",
	[AIB_EV_POLL_BEGIN] = "poll_begin",
	[AIB_EV_POLL_END] = "poll_end",
	[AIB_EV_WAKE] = "wake",
	[AIB_EV_SHUTDOWN] = "shutdown",
	[AIB_EV_DEALLOC] = "dealloc",
	[AIB_EV_WORKER_START] = "worker_start",
	[AIB_EV_SPAWN_ID] = "spawn_id",
	[AIB_EV_TASK_NAME] = "task_name",
	[AIB_EV_SPAWN_STACK] = "spawn_stack",
	[AIB_EV_RET_SITE] = "ret_site",
	[AIB_EV_JOIN] = "join",
	[AIB_EV_LOCK] = "lock",
	[AIB_EV_EXEC] = "exec",
	[AIB_EV_BLOCKED] = "blocked",
	[AIB_REC_PROCESS] = "process",
	[AIB_REC_LOCATION] = "location",
	[AIB_REC_THREAD] = "thread",
	[AIB_REC_LOST] = "lost",
	[AIB_REC_DROPS] = "drops",
	[AIB_REC_END] = "end",
	[AIB_REC_AWAIT] = "await",
	[AIB_REC_TASK_FOUND] = "task_found",
	[AIB_REC_BLOCKED] = "blocked_call",
	[AIB_REC_BUILD_ID] = "build_id",
};

/* Kinds with a variable tail: its length field and bound. */
struct variable_kind {
	size_t len_offset, max;
};

static const struct variable_kind variable_kind[AIB_KIND_MAX] = {
	[AIB_REC_LOCATION] = {offsetof(struct aib_rec_location, len), AIB_LOCATION_MAX},
	[AIB_EV_SPAWN_STACK] = {offsetof(struct aib_ev_spawn_stack, stack.len), AIB_STACK_MAX},
	[AIB_REC_AWAIT] = {offsetof(struct aib_rec_await, len), AIB_AWAIT_TEXT_MAX},
	[AIB_EV_BLOCKED] = {offsetof(struct aib_ev_blocked, stack.len), AIB_STACK_MAX},
	[AIB_REC_BLOCKED] = {offsetof(struct aib_rec_blocked, len), AIB_AWAIT_TEXT_MAX},
	[AIB_REC_BUILD_ID] = {offsetof(struct aib_rec_build_id, len), AIB_BUILD_ID_MAX},
};

size_t aib_kind_size(unsigned kind)
{
	return kind < AIB_KIND_MAX ? kind_size[kind] : 0;
}

const char *aib_kind_name(unsigned kind)
{
	return kind < AIB_KIND_MAX && kind_name[kind] ? kind_name[kind] : "unknown";
}

/*
 * One implementation for both entry points; `why` is NULL on the hot path so
 * formatting only happens for rejected input. Fields are copied out with
 * memcpy because untrusted bytes (a file buffer) need not be aligned.
 */
static int decode(const void *data, size_t avail, const struct aib_hdr **rec,
		  char *why, size_t why_len)
{
	const unsigned char *p = data;
	const struct variable_kind *vk;
	struct aib_hdr h;
	size_t min;

	if (avail < sizeof(h)) {
		if (why)
			snprintf(why, why_len, "only %zu bytes, a record header needs %zu",
				 avail, sizeof(h));
		return -EAGAIN;
	}
	memcpy(&h, p, sizeof(h));

	min = aib_kind_size(h.kind);
	if (!min) {
		if (why)
			snprintf(why, why_len, "unknown kind %u", h.kind);
		return -EPROTO;
	}
	/* Inconsistent headers are corrupt whatever avail is: check before the cut. */
	if (h.size < sizeof(h)) {
		if (why)
			snprintf(why, why_len, "size %u is smaller than the %zu-byte header",
				 h.size, sizeof(h));
		return -EPROTO;
	}
	vk = &variable_kind[h.kind];
	if (vk->max) {
		if (h.size < min || h.size > min + vk->max) {
			if (why)
				snprintf(why, why_len, "%s size %u outside %zu..%zu",
					 aib_kind_name(h.kind), h.size, min, min + vk->max);
			return -EPROTO;
		}
	} else if (h.size != min) {
		if (why)
			snprintf(why, why_len, "%s size %u, expected %zu",
				 aib_kind_name(h.kind), h.size, min);
		return -EPROTO;
	}
	if (h.size > avail) {
		if (why)
			snprintf(why, why_len, "%s record of %u bytes cut after %zu",
				 aib_kind_name(h.kind), h.size, avail);
		return -EAGAIN;
	}
	if (vk->max) {
		__u32 len;

		memcpy(&len, p + vk->len_offset, sizeof(len));
		/* the tail must account for exactly the bytes after the fixed part */
		if (len > vk->max || h.size != min + len) {
			if (why)
				snprintf(why, why_len, "%s len %u does not match size %u (max len %zu)",
					 aib_kind_name(h.kind), len, h.size, vk->max);
			return -EPROTO;
		}
	}
	if (rec)
		*rec = data;
	if (why)
		why[0] = '\0';
	return 0;
}

int aib_decode(const void *data, size_t avail, const struct aib_hdr **rec)
{
	return decode(data, avail, rec, NULL, 0);
}

int aib_decode_explain(const void *data, size_t avail, char *buf, size_t len)
{
	if (!buf || !len)
		return decode(data, avail, NULL, NULL, 0);
	return decode(data, avail, NULL, buf, len);
}
