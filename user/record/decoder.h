/* SPDX-License-Identifier: MIT */
/*
 * Validation of single ABI records (include/aib_events.h) read from
 * untrusted bytes: a ring-buffer sample or a recording file. Everything
 * after aib_decode() may trust a record's kind and size.
 */
#ifndef AIB_DECODER_H
#define AIB_DECODER_H

#include <stddef.h>

#include "aib_events.h"

#define AIB_LOCATION_MAX 4096 /* longest location text accepted */

/*
 * Returns 0 and sets *rec if `data` (of `avail` bytes) starts with a valid
 * record: known kind, hdr.size >= sizeof(struct aib_hdr), hdr.size <= avail,
 * and the size matches the kind exactly (fixed-size kinds) or is
 * sizeof(struct aib_rec_location) + len for AIB_REC_LOCATION
 * (len <= AIB_LOCATION_MAX).
 *
 * -EAGAIN if avail is too short to hold the header or hdr.size (the caller
 * may need more bytes: a cut), -EPROTO if the kind is unknown or the size is
 * inconsistent (corrupt). A header that is already inconsistent is -EPROTO
 * even when avail is short, so a reader at the end of a file can tell a
 * corrupt record from a cut one.
 *
 * *rec points into `data`; the typed accessors below need it 8-byte aligned
 * (ring-buffer samples are; recording_reader__next guarantees it).
 */
int aib_decode(const void *data, size_t avail, const struct aib_hdr **rec);

/*
 * Same verdict as aib_decode(), and writes a one-line reason for a rejection
 * into buf (e.g. "unknown kind 999"; "" on success) for error messages.
 */
int aib_decode_explain(const void *data, size_t avail, char *buf, size_t len);

size_t aib_kind_size(unsigned kind);	  /* fixed size, or min size for variable kinds; 0 if unknown */
const char *aib_kind_name(unsigned kind); /* "spawn", "poll_begin", ...; "unknown" */

/* Typed views of a decoded record: plain casts, the kind is the caller's check. */
static inline const struct aib_ev_spawn *aib_as_spawn(const struct aib_hdr *h)
{
	return (const struct aib_ev_spawn *)h;
}

/* POLL_BEGIN, POLL_END */
static inline const struct aib_ev_poll *aib_as_poll(const struct aib_hdr *h)
{
	return (const struct aib_ev_poll *)h;
}

static inline const struct aib_ev_wake *aib_as_wake(const struct aib_hdr *h)
{
	return (const struct aib_ev_wake *)h;
}

/* SHUTDOWN, DEALLOC */
static inline const struct aib_ev_task *aib_as_task(const struct aib_hdr *h)
{
	return (const struct aib_ev_task *)h;
}

static inline const struct aib_ev_worker *aib_as_worker(const struct aib_hdr *h)
{
	return (const struct aib_ev_worker *)h;
}

static inline const struct aib_rec_process *aib_as_process(const struct aib_hdr *h)
{
	return (const struct aib_rec_process *)h;
}

static inline const struct aib_rec_location *aib_as_location(const struct aib_hdr *h)
{
	return (const struct aib_rec_location *)h;
}

static inline const struct aib_rec_thread *aib_as_thread(const struct aib_hdr *h)
{
	return (const struct aib_rec_thread *)h;
}

static inline const struct aib_rec_lost *aib_as_lost(const struct aib_hdr *h)
{
	return (const struct aib_rec_lost *)h;
}

static inline const struct aib_rec_end *aib_as_end(const struct aib_hdr *h)
{
	return (const struct aib_rec_end *)h;
}

#endif /* AIB_DECODER_H */
