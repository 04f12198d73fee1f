// SPDX-License-Identifier: MIT
/*
 * Recording file writer and reader. Both sides move records through a
 * large buffer: the writer sits on the event hot path and replay should be
 * bounded by the consumer, not by syscalls. The reader uses read(), not
 * mmap, so a file shrinking underneath it cannot SIGBUS us.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record/decoder.h"
#include "record/recording.h"

#define WRITE_BUF (1u << 20)
#define READ_BUF (1u << 20)
#define HEADER_SIZE_MAX 4096 /* a larger header_size is nonsense, not an extension */

/* The largest valid record; unaligned records are copied into a buffer this big. */
#define RECORD_MAX (sizeof(struct aib_rec_location) + AIB_LOCATION_MAX)
_Static_assert(sizeof(struct aib_rec_process) <= RECORD_MAX, "scratch too small");
_Static_assert(RECORD_MAX <= READ_BUF / 2, "read buffer must hold any record after a refill");

/* ---- little-endian header fields, independent of the host ---- */

static void put_le32(unsigned char *p, __u32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put_le64(unsigned char *p, __u64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static __u32 get_le32(const unsigned char *p)
{
	return (__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;
}

static __u64 get_le64(const unsigned char *p)
{
	return (__u64)get_le32(p) | (__u64)get_le32(p + 4) << 32;
}

static void encode_header(unsigned char h[RECORDING_HEADER_SIZE], __u32 flags, __u64 count)
{
	memcpy(h, RECORDING_MAGIC, 8);
	put_le32(h + 8, RECORDING_FORMAT_VERSION);
	put_le32(h + 12, AIB_ABI_VERSION);
	put_le32(h + 16, RECORDING_HEADER_SIZE);
	put_le32(h + 20, flags);
	put_le64(h + 24, count);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- writer ---- */

struct recording_writer {
	int fd;
	int err;     /* first I/O error: sticky, the file is no longer whole */
	__u64 count; /* records accepted */
	size_t len;  /* bytes buffered */
	unsigned char buf[WRITE_BUF];
};

struct recording_writer *recording_writer__open(const char *path)
{
	unsigned char hdr[RECORDING_HEADER_SIZE];
	struct recording_writer *w;
	int err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	w = malloc(sizeof(*w));
	if (!w)
		return NULL;
	w->err = 0;
	w->count = 0;
	w->len = 0;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err = errno;
		free(w);
		errno = err;
		return NULL;
	}
	/* Written now, not buffered: even a crash right after open leaves a
	 * file the reader recognises as an unfinished recording. */
	encode_header(hdr, 0, 0);
	err = write_all(w->fd, hdr, sizeof(hdr));
	if (err) {
		close(w->fd);
		free(w);
		errno = -err;
		return NULL;
	}
	return w;
}

int recording_writer__flush(struct recording_writer *w)
{
	if (!w)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->len) {
		w->err = write_all(w->fd, w->buf, w->len);
		w->len = 0;
	}
	return w->err;
}

int recording_writer__append(struct recording_writer *w, const struct aib_hdr *rec)
{
	const struct aib_hdr *ok;
	size_t size;
	int err;

	if (!w || !rec)
		return -EINVAL;
	size = rec->size;
	if (aib_decode(rec, size, &ok))
		return -EINVAL;
	if (w->err)
		return w->err;
	if (WRITE_BUF - w->len < size) {
		err = recording_writer__flush(w);
		if (err)
			return err;
	}
	memcpy(w->buf + w->len, rec, size);
	w->len += size;
	w->count++;
	return 0;
}

int recording_writer__close(struct recording_writer *w)
{
	unsigned char hdr[RECORDING_HEADER_SIZE];
	ssize_t n;
	int err;

	if (!w)
		return -EINVAL;
	err = recording_writer__flush(w);
	/* COMPLETE promises every record is there: never after a failed write. */
	if (!err) {
		encode_header(hdr, RECORDING_COMPLETE, w->count);
		n = pwrite(w->fd, hdr, sizeof(hdr), 0);
		if (n < 0)
			err = -errno;
		else if ((size_t)n != sizeof(hdr))
			err = -EIO;
	}
	if (fsync(w->fd) && !err)
		err = -errno;
	if (close(w->fd) && !err)
		err = -errno;
	free(w);
	return err;
}

void recording_writer__abort(struct recording_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w);
}

/* ---- reader ---- */

struct recording_reader {
	int fd;
	bool complete;	    /* header flag */
	bool done;	    /* stream ended: `result` is returned from now on */
	bool cut;	    /* the file ended inside a record */
	bool mismatch;	    /* COMPLETE, but record_count differs from what was read */
	int result;	    /* 0, -EPROTO or -errno once done */
	bool eof;	    /* read() returned 0 */
	__u64 header_count; /* record_count from the header */
	__u64 records;	    /* returned so far */
	__u64 buf_off;	    /* file offset of buf[0] */
	size_t pos, len;    /* next record at buf[pos]; buf[0..len) is valid */
	char problem[256];
	/* unaligned records are copied here so typed access is safe */
	__u64 scratch[(RECORD_MAX + 7) / 8];
	unsigned char *buf;
};

/* Move the unread tail to the front and read more; 0 or -errno. */
static int refill(struct recording_reader *r)
{
	ssize_t n;

	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->buf_off += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	do
		n = read(r->fd, r->buf + r->len, READ_BUF - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		r->eof = true;
	r->len += n;
	return 0;
}

struct recording_reader *recording_reader__open(const char *path)
{
	struct recording_reader *r;
	const unsigned char *h;
	__u32 header_size, flags;
	int err = 0;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->buf = malloc(READ_BUF);
	if (!r->buf) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		err = -errno;
		goto fail;
	}
	posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a hint: failure is harmless */

	while (r->len < RECORDING_HEADER_SIZE && !r->eof) {
		err = refill(r);
		if (err)
			goto fail;
	}
	h = r->buf;
	if (r->len < RECORDING_HEADER_SIZE || memcmp(h, RECORDING_MAGIC, 8) ||
	    get_le32(h + 8) != RECORDING_FORMAT_VERSION || get_le32(h + 12) != AIB_ABI_VERSION) {
		err = -EPROTO;
		goto fail;
	}
	/* A larger header_size is room for later fields this version ignores. */
	header_size = get_le32(h + 16);
	if (header_size < RECORDING_HEADER_SIZE || header_size > HEADER_SIZE_MAX) {
		err = -EPROTO;
		goto fail;
	}
	flags = get_le32(h + 20);
	r->complete = flags & RECORDING_COMPLETE;
	r->header_count = get_le64(h + 24);
	while (r->len < header_size && !r->eof) {
		err = refill(r);
		if (err)
			goto fail;
	}
	if (r->len < header_size) {
		err = -EPROTO;
		goto fail;
	}
	r->pos = header_size;
	if (!r->complete)
		snprintf(r->problem, sizeof(r->problem),
			 "recording not marked complete (the writer did not finish)");
	return r;

fail:
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r);
	errno = -err;
	return NULL;
}

/* The file ended with `tail` bytes of a partial record at buf[pos]. */
static int finish_end(struct recording_reader *r, size_t tail)
{
	unsigned long long off = r->buf_off + r->pos;
	unsigned long long n = r->records, want = r->header_count;

	r->done = true;
	r->result = 0;
	r->cut = tail > 0;
	r->mismatch = r->complete && n != want;
	r->problem[0] = '\0';
	if (r->cut && !r->complete)
		snprintf(r->problem, sizeof(r->problem),
			 "recording truncated at byte %llu after %llu records (the writer did not finish; %zu bytes of a partial record dropped)",
			 off, n, tail);
	else if (r->cut)
		snprintf(r->problem, sizeof(r->problem),
			 "recording truncated at byte %llu after %llu records (%zu bytes of a partial record dropped; header says %llu records)",
			 off, n, tail, want);
	else if (!r->complete)
		snprintf(r->problem, sizeof(r->problem),
			 "recording truncated at byte %llu after %llu records (the writer did not finish)",
			 off, n);
	else if (n < want)
		snprintf(r->problem, sizeof(r->problem),
			 "recording truncated at byte %llu after %llu records (header says %llu records)",
			 off, n, want);
	else if (n > want)
		snprintf(r->problem, sizeof(r->problem),
			 "recording has %llu records but its header says %llu", n, want);
	return 0;
}

static int finish_error(struct recording_reader *r, int err)
{
	unsigned long long off = r->buf_off + r->pos;

	r->done = true;
	r->result = err;
	if (err == -EPROTO) {
		char why[160];

		aib_decode_explain(r->buf + r->pos, r->len - r->pos, why, sizeof(why));
		snprintf(r->problem, sizeof(r->problem), "corrupt record at byte %llu: %s", off, why);
	} else {
		snprintf(r->problem, sizeof(r->problem), "read error at byte %llu: %s", off,
			 strerror(-err));
	}
	return err;
}

int recording_reader__next(struct recording_reader *r, const struct aib_hdr **rec)
{
	if (!r || !rec)
		return -EINVAL;
	if (r->done)
		return r->result;
	for (;;) {
		const unsigned char *p = r->buf + r->pos;
		size_t avail = r->len - r->pos;
		const struct aib_hdr *h;
		int err = aib_decode(p, avail, &h);

		if (!err) {
			__u16 size;

			memcpy(&size, p + offsetof(struct aib_hdr, size), sizeof(size));
			/* Location text makes later records unaligned in the file. */
			if ((uintptr_t)p & 7) {
				memcpy(r->scratch, p, size);
				h = (const struct aib_hdr *)r->scratch;
			}
			r->pos += size;
			r->records++;
			*rec = h;
			return 1;
		}
		if (err != -EAGAIN)
			return finish_error(r, err);
		if (r->eof)
			return finish_end(r, avail);
		err = refill(r);
		if (err)
			return finish_error(r, err);
	}
}

bool recording_reader__complete(const struct recording_reader *r)
{
	return r && r->complete;
}

bool recording_reader__truncated(const struct recording_reader *r)
{
	return r && (!r->complete || r->cut || r->mismatch);
}

__u64 recording_reader__records(const struct recording_reader *r)
{
	return r ? r->records : 0;
}

const char *recording_reader__problem(const struct recording_reader *r)
{
	return r ? r->problem : "";
}

__u64 recording_reader__tell(const struct recording_reader *r)
{
	return r ? r->buf_off + r->pos : 0;
}

int recording_reader__seek(struct recording_reader *r, __u64 offset, __u64 records)
{
	if (!r)
		return -EINVAL;
	if (lseek(r->fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	r->buf_off = offset;
	r->pos = r->len = 0;
	r->eof = r->done = r->cut = r->mismatch = false;
	r->result = 0;
	r->records = records;
	return 0;
}

void recording_reader__free(struct recording_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r->buf);
	free(r);
}
