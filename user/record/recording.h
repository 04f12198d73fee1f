/* SPDX-License-Identifier: MIT */
/*
 * The recording file (`--record FILE`, `replay FILE`).
 *
 * Layout: a 32-byte little-endian header, then ABI records back to back,
 * each exactly hdr.size bytes (host byte order, as produced by BPF).
 *
 *   0  char  magic[8]       "AIBTRACE"
 *   8  u32   format_version RECORDING_FORMAT_VERSION
 *  12  u32   abi_version    AIB_ABI_VERSION
 *  16  u32   header_size    32 (readers skip any extra bytes up to it)
 *  20  u32   flags          RECORDING_COMPLETE once closed cleanly
 *  24  u64   record_count   written at clean close
 *
 * Streamable: the writer only appends, then rewrites the header once at a
 * clean close. A file cut short by a crash lacks RECORDING_COMPLETE and
 * replays up to its last whole record.
 */
#ifndef AIB_RECORDING_H
#define AIB_RECORDING_H

#include <stdbool.h>

#include "aib_events.h"

#define RECORDING_MAGIC "AIBTRACE"
#define RECORDING_FORMAT_VERSION 1
#define RECORDING_HEADER_SIZE 32
#define RECORDING_COMPLETE (1u << 0)

struct recording_writer;

/* Create/truncate `path` and write a provisional header; NULL + errno. */
struct recording_writer *recording_writer__open(const char *path);
/*
 * Buffer one record (rec->size bytes). -EINVAL (nothing written) if the
 * record does not pass aib_decode(), so a file never holds a record the
 * reader would reject; otherwise 0 or the first I/O error, which is sticky.
 */
int recording_writer__append(struct recording_writer *w, const struct aib_hdr *rec);
/* Push buffered records to the kernel, so a crash later loses none of them. */
int recording_writer__flush(struct recording_writer *w);
/*
 * Flush, set COMPLETE + record_count in the header (only if no I/O error was
 * seen), fsync, close and free. Returns the first error seen.
 */
int recording_writer__close(struct recording_writer *w);
/* Close and free without flushing or marking complete: what a crash leaves. */
void recording_writer__abort(struct recording_writer *w);

struct recording_reader;

/*
 * NULL + errno: ENOENT (missing file or empty path), EPROTO for a bad magic,
 * a too-short header or an unsupported format or ABI version.
 */
struct recording_reader *recording_reader__open(const char *path);
/*
 * 1 and *rec (8-byte aligned, valid until the next call) for each record;
 * 0 at the end; -EPROTO for a corrupt record (unknown kind / bad size);
 * -errno for a read error. A final record cut short (the file ends inside
 * it) ends the stream with 0 and marks the reader truncated. After the end
 * or an error, further calls return the same result.
 */
int recording_reader__next(struct recording_reader *r, const struct aib_hdr **rec);
bool recording_reader__complete(const struct recording_reader *r); /* header COMPLETE flag */
/* Ended inside a record, or not COMPLETE, or record_count mismatch (known at the end). */
bool recording_reader__truncated(const struct recording_reader *r);
__u64 recording_reader__records(const struct recording_reader *r); /* records returned so far */
/* "" or a one-line description of the last problem, for the caller to print. */
const char *recording_reader__problem(const struct recording_reader *r);
/* The file offset of the next record (the header's size before the first). */
__u64 recording_reader__tell(const struct recording_reader *r);
/* Read on from `offset`, a value tell() returned, as if `records` records
 * had been read: a replay resumes there (replay_cursor.h). The end of the
 * stream (and what it found wrong) is found again on the way. 0 or -errno. */
int recording_reader__seek(struct recording_reader *r, __u64 offset, __u64 records);
void recording_reader__free(struct recording_reader *r);

#endif /* AIB_RECORDING_H */
