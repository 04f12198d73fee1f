/* Recording file: round trip, crash cuts, corruption and header checks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "record/decoder.h"
#include "record/recording.h"

#define HDR RECORDING_HEADER_SIZE
#define RECORD_BOUND 512 /* largest record make_record() builds, rounded up */

/* Expected records, back to back exactly as they should sit after the header. */
struct corpus {
	unsigned char *bytes;
	size_t len;
	size_t *off; /* of each record within bytes */
	size_t n;
};

union recbuf {
	__u64 align;
	struct aib_hdr hdr;
	struct aib_ev_spawn spawn;
	struct aib_ev_poll poll;
	struct aib_ev_wake wake;
	struct aib_ev_task task;
	struct aib_ev_worker worker;
	struct aib_rec_process process;
	struct aib_rec_location loc;
	struct aib_rec_thread thread;
	struct aib_rec_lost lost;
	struct aib_rec_end end;
	unsigned char b[sizeof(struct aib_rec_location) + AIB_LOCATION_MAX];
};

/* Record i of a mixed stream: a process record first, an end record last,
 * and location records of odd lengths so later records sit unaligned. */
static void make_record(union recbuf *r, size_t i, size_t n)
{
	unsigned k = i == 0 ? 100 : i == n - 1 ? 101 : i % 12;

	memset(r, 0, sizeof(*r));
	switch (k) {
	case 100:
		r->hdr.kind = AIB_REC_PROCESS;
		r->hdr.size = sizeof(r->process);
		r->process.pid = 4242;
		r->process.runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO);
		strcpy(r->process.exe, "/usr/bin/example");
		break;
	case 101:
		r->hdr.kind = AIB_REC_END;
		r->hdr.size = sizeof(r->end);
		r->end.events = n - 1;
		break;
	case 0:
		r->hdr.kind = AIB_EV_SPAWN;
		r->hdr.size = sizeof(r->spawn);
		r->spawn.predicted_id = i;
		r->spawn.line = i * 3;
		break;
	case 1:
	case 2:
		r->hdr.kind = k == 1 ? AIB_EV_POLL_BEGIN : AIB_EV_POLL_END;
		r->hdr.size = sizeof(r->poll);
		r->poll.task = 0x7f0000000000 + i * 64;
		r->poll.task_id = i;
		r->poll.result = i % 3;
		break;
	case 3:
	case 9:
		r->hdr.kind = AIB_REC_LOCATION;
		r->loc.file_addr = 0x400000 + i;
		r->loc.len = (i * 7) % 97 + (k == 9 ? 1 : 0);
		r->hdr.size = sizeof(r->loc) + r->loc.len;
		for (size_t j = 0; j < r->loc.len; j++)
			r->loc.text[j] = 'a' + (i + j) % 26;
		break;
	case 4:
		r->hdr.kind = AIB_EV_WAKE;
		r->hdr.size = sizeof(r->wake);
		r->wake.task = i;
		r->wake.how = AIB_WAKE_BY_REF;
		break;
	case 5:
	case 6:
		r->hdr.kind = k == 5 ? AIB_EV_SHUTDOWN : AIB_EV_DEALLOC;
		r->hdr.size = sizeof(r->task);
		r->task.task = i;
		break;
	case 7:
		r->hdr.kind = AIB_EV_WORKER_START;
		r->hdr.size = sizeof(r->worker);
		r->worker.index = i % 8;
		break;
	case 8:
		r->hdr.kind = AIB_REC_THREAD;
		r->hdr.size = sizeof(r->thread);
		snprintf(r->thread.name, sizeof(r->thread.name), "worker-%zu", i % 100);
		break;
	case 10:
		r->hdr.kind = AIB_REC_LOST;
		r->hdr.size = sizeof(r->lost);
		r->lost.lost = i;
		break;
	default:
		r->hdr.kind = AIB_EV_POLL_END;
		r->hdr.size = sizeof(r->poll);
		r->poll.result = AIB_POLL_READY;
		break;
	}
	r->hdr.tid = 1000 + i % 5;
	r->hdr.ts = 1000000 + i * 10;
}

static void corpus_init(struct corpus *c, size_t n)
{
	union recbuf r;

	c->bytes = malloc(n * RECORD_BOUND);
	c->off = malloc(n * sizeof(*c->off));
	assert_non_null(c->bytes);
	assert_non_null(c->off);
	c->len = 0;
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		make_record(&r, i, n);
		assert_int_equal(aib_decode(&r, r.hdr.size, &(const struct aib_hdr *){ NULL }), 0);
		assert_true(r.hdr.size <= RECORD_BOUND);
		c->off[i] = c->len;
		memcpy(c->bytes + c->len, &r, r.hdr.size);
		c->len += r.hdr.size;
	}
}

static void corpus_free(struct corpus *c)
{
	free(c->bytes);
	free(c->off);
}

/* Size of record i; records after odd-length locations are unaligned in bytes. */
static size_t corpus_size(const struct corpus *c, size_t i)
{
	__u16 size;

	memcpy(&size, c->bytes + c->off[i] + offsetof(struct aib_hdr, size), sizeof(size));
	return size;
}

static const struct aib_hdr *corpus_rec(const struct corpus *c, size_t i)
{
	static union recbuf r; /* aligned copy for the writer */

	memcpy(&r, c->bytes + c->off[i], corpus_size(c, i));
	return &r.hdr;
}

/* Write records [0, n) of c; close cleanly or abort as a crash would. */
static void write_corpus(const char *path, const struct corpus *c, size_t n, bool clean)
{
	struct recording_writer *w = recording_writer__open(path);

	assert_non_null(w);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(recording_writer__append(w, corpus_rec(c, i)), 0);
	if (clean)
		assert_int_equal(recording_writer__close(w), 0);
	else
		recording_writer__abort(w);
}

/*
 * Replay path and check every record against c. Returns the records read;
 * *end gets the final next() result.
 */
static size_t replay(const char *path, const struct corpus *c, int *end,
		     struct recording_reader **keep)
{
	struct recording_reader *r = recording_reader__open(path);
	const struct aib_hdr *rec;
	size_t n = 0;
	int ret;

	assert_non_null(r);
	while ((ret = recording_reader__next(r, &rec)) == 1) {
		assert_true(n < c->n);
		assert_int_equal((uintptr_t)rec & 7, 0);
		assert_int_equal(rec->size, corpus_size(c, n));
		assert_memory_equal(rec, c->bytes + c->off[n], rec->size);
		n++;
	}
	assert_int_equal(recording_reader__records(r), n);
	/* the end is sticky */
	assert_int_equal(recording_reader__next(r, &rec), ret);
	*end = ret;
	if (keep)
		*keep = r;
	else
		recording_reader__free(r);
	return n;
}

static void slurp(const char *path, unsigned char **data, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = st.st_size;
	*data = malloc(*len + 1);
	assert_non_null(*data);
	assert_int_equal(pread(fd, *data, *len, 0), (ssize_t)*len);
	close(fd);
}

static void spill(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static __u32 le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
}

static void put32(unsigned char *p, __u32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void expect_open_fails(const char *path, int err)
{
	errno = 0;
	assert_null(recording_reader__open(path));
	assert_int_equal(errno, err);
}

/* ---- fixture: one temporary file per test ---- */

static int setup(void **state)
{
	char *path = strdup("/tmp/aib-test-recording-XXXXXX");
	int fd;

	if (!path)
		return -1;
	fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		return -1;
	}
	close(fd);
	*state = path;
	return 0;
}

static int teardown(void **state)
{
	unlink(*state);
	free(*state);
	return 0;
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
	const char *path = *state;
	struct corpus c;
	struct recording_reader *r;
	unsigned char *data;
	size_t len;
	int end;

	corpus_init(&c, 300);
	write_corpus(path, &c, c.n, true);

	assert_int_equal(replay(path, &c, &end, &r), c.n);
	assert_int_equal(end, 0);
	assert_true(recording_reader__complete(r));
	assert_false(recording_reader__truncated(r));
	assert_int_equal(recording_reader__records(r), c.n);
	assert_string_equal(recording_reader__problem(r), "");
	recording_reader__free(r);

	/* the file is the header then exactly the records */
	slurp(path, &data, &len);
	assert_int_equal(len, HDR + c.len);
	assert_memory_equal(data, "AIBTRACE", 8);
	assert_int_equal(le32(data + 8), RECORDING_FORMAT_VERSION);
	assert_int_equal(le32(data + 12), AIB_ABI_VERSION);
	assert_int_equal(le32(data + 16), HDR);
	assert_int_equal(le32(data + 20), RECORDING_COMPLETE);
	assert_int_equal(le32(data + 24), c.n);
	assert_int_equal(le32(data + 28), 0);
	assert_memory_equal(data + HDR, c.bytes, c.len);
	free(data);
	corpus_free(&c);
}

static void test_empty_recording(void **state)
{
	const char *path = *state;
	struct recording_writer *w = recording_writer__open(path);
	struct recording_reader *r;
	struct corpus c = { 0 };
	int end;

	assert_non_null(w);
	assert_int_equal(recording_writer__close(w), 0);
	assert_int_equal(replay(path, &c, &end, &r), 0);
	assert_int_equal(end, 0);
	assert_true(recording_reader__complete(r));
	assert_false(recording_reader__truncated(r));
	recording_reader__free(r);
}

/*
 * Cut a copy of a finished recording at every byte inside its last records,
 * once as written (COMPLETE, then cut: e.g. a partial copy) and once without
 * COMPLETE (the writer crashed). Each replays exactly the whole records
 * before the cut and reports truncation.
 */
static void test_cut_at_every_offset(void **state)
{
	const char *path = *state;
	struct corpus c;
	unsigned char *data;
	size_t len, first;
	char want[64];

	corpus_init(&c, 300);
	write_corpus(path, &c, c.n, true);
	slurp(path, &data, &len);
	first = HDR + c.off[c.n - 8];

	for (int complete = 1; complete >= 0; complete--) {
		int fd = open(path, O_WRONLY);

		put32(data + 20, complete ? RECORDING_COMPLETE : 0);
		assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
		/* shrink step by step: each ftruncate leaves a shorter copy */
		for (size_t cut = len - 1; cut >= first; cut--) {
			struct recording_reader *r;
			size_t whole = 0;
			int end;

			assert_int_equal(ftruncate(fd, cut), 0);
			while (whole < c.n && HDR + c.off[whole] + corpus_size(&c, whole) <= cut)
				whole++;
			assert_int_equal(replay(path, &c, &end, &r), whole);
			assert_int_equal(end, 0);
			assert_int_equal(recording_reader__complete(r), complete);
			assert_true(recording_reader__truncated(r));
			snprintf(want, sizeof(want), "truncated at byte %zu after %zu records",
				 HDR + c.off[whole], whole);
			assert_non_null(strstr(recording_reader__problem(r), want));
			if (!complete)
				assert_non_null(strstr(recording_reader__problem(r),
						       "the writer did not finish"));
			/* only a cut inside a record leaves a partial one behind */
			assert_int_equal(strstr(recording_reader__problem(r),
						"bytes of a partial record dropped") != NULL,
					 cut != HDR + c.off[whole]);
			recording_reader__free(r);
		}
		/* a cut inside the file header is not a recording at all */
		for (size_t cut = HDR; cut-- > 0;) {
			assert_int_equal(ftruncate(fd, cut), 0);
			expect_open_fails(path, EPROTO);
		}
		close(fd);
	}
	free(data);
	corpus_free(&c);
}

/* abort() is a crash: what was flushed replays, the rest is gone. */
static void test_abort_keeps_flushed(void **state)
{
	const char *path = *state;
	struct recording_writer *w;
	struct recording_reader *r;
	struct corpus c;
	int end;

	corpus_init(&c, 150);
	w = recording_writer__open(path);
	assert_non_null(w);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(recording_writer__append(w, corpus_rec(&c, i)), 0);
	assert_int_equal(recording_writer__flush(w), 0);
	for (size_t i = 100; i < 150; i++)
		assert_int_equal(recording_writer__append(w, corpus_rec(&c, i)), 0);
	recording_writer__abort(w);

	assert_int_equal(replay(path, &c, &end, &r), 100);
	assert_int_equal(end, 0);
	assert_false(recording_reader__complete(r));
	assert_true(recording_reader__truncated(r));
	assert_non_null(strstr(recording_reader__problem(r), "the writer did not finish"));
	recording_reader__free(r);

	/* crash right after open: a valid, empty, unfinished recording */
	w = recording_writer__open(path);
	assert_non_null(w);
	recording_writer__abort(w);
	assert_int_equal(replay(path, &c, &end, &r), 0);
	assert_false(recording_reader__complete(r));
	assert_true(recording_reader__truncated(r));
	recording_reader__free(r);
	corpus_free(&c);
}

/* More records than the write buffer holds: the implicit flushes survive a crash. */
static void test_abort_after_buffer_flushes(void **state)
{
	const char *path = *state;
	struct corpus c;
	struct recording_reader *r;
	size_t n;
	int end;

	corpus_init(&c, 200000); /* ~12 MiB: several write buffers */
	write_corpus(path, &c, c.n, false);
	n = replay(path, &c, &end, &r);
	assert_int_equal(end, 0);
	assert_true(n > 0);
	assert_true(n < c.n);
	assert_false(recording_reader__complete(r));
	assert_true(recording_reader__truncated(r));
	recording_reader__free(r);
	corpus_free(&c);
}

static void test_bad_magic(void **state)
{
	const char *path = *state;
	struct corpus c;
	unsigned char *data;
	size_t len;

	corpus_init(&c, 10);
	write_corpus(path, &c, c.n, true);
	slurp(path, &data, &len);
	for (size_t i = 0; i < 8; i++) {
		data[i] ^= 0x20;
		spill(path, data, len);
		expect_open_fails(path, EPROTO);
		data[i] ^= 0x20;
	}
	spill(path, data, len);
	struct recording_reader *r = recording_reader__open(path);
	assert_non_null(r);
	recording_reader__free(r);

	spill(path, "this is not a recording at all, just some text\n", 47);
	expect_open_fails(path, EPROTO);
	free(data);
	corpus_free(&c);
}

static void test_short_header(void **state)
{
	const char *path = *state;
	unsigned char hdr[HDR];
	struct corpus c;
	unsigned char *data;
	size_t len;

	corpus_init(&c, 1);
	write_corpus(path, &c, 0, true);
	slurp(path, &data, &len);
	assert_int_equal(len, HDR);
	memcpy(hdr, data, HDR);
	for (size_t n = 0; n < HDR; n++) {
		spill(path, hdr, n);
		expect_open_fails(path, EPROTO);
	}
	/* header_size that the file does not contain */
	put32(hdr + 16, 64);
	spill(path, hdr, HDR);
	expect_open_fails(path, EPROTO);
	put32(hdr + 16, 16);
	spill(path, hdr, HDR);
	expect_open_fails(path, EPROTO);
	free(data);
	corpus_free(&c);
}

static void test_future_version(void **state)
{
	const char *path = *state;
	struct corpus c;
	unsigned char *data;
	size_t len;

	corpus_init(&c, 10);
	write_corpus(path, &c, c.n, true);
	slurp(path, &data, &len);

	put32(data + 8, RECORDING_FORMAT_VERSION + 1);
	spill(path, data, len);
	expect_open_fails(path, EPROTO);
	put32(data + 8, 0);
	spill(path, data, len);
	expect_open_fails(path, EPROTO);
	put32(data + 8, RECORDING_FORMAT_VERSION);

	put32(data + 12, AIB_ABI_VERSION + 1);
	spill(path, data, len);
	expect_open_fails(path, EPROTO);
	put32(data + 12, AIB_ABI_VERSION);

	spill(path, data, len);
	struct recording_reader *r = recording_reader__open(path);
	assert_non_null(r);
	recording_reader__free(r);
	free(data);
	corpus_free(&c);
}

/* A longer header_size is room for later fields: readers skip it. */
static void test_longer_header_skipped(void **state)
{
	const char *path = *state;
	struct corpus c;
	unsigned char *data, *big;
	size_t len;
	int end;

	corpus_init(&c, 40);
	write_corpus(path, &c, c.n, true);
	slurp(path, &data, &len);
	big = calloc(1, len + 24);
	assert_non_null(big);
	memcpy(big, data, HDR);
	put32(big + 16, HDR + 24);
	memset(big + HDR, 0xee, 24);
	memcpy(big + HDR + 24, data + HDR, len - HDR);
	spill(path, big, len + 24);
	assert_int_equal(replay(path, &c, &end, NULL), c.n);
	assert_int_equal(end, 0);
	free(big);
	free(data);
	corpus_free(&c);
}

static void test_corrupt_record_in_middle(void **state)
{
	const char *path = *state;
	struct recording_reader *r;
	struct corpus c;
	unsigned char *data;
	size_t len, at;
	char want[96];
	int end;

	corpus_init(&c, 300);
	write_corpus(path, &c, c.n, true);
	slurp(path, &data, &len);

	/* unknown kind */
	at = HDR + c.off[150];
	data[at] = 999 & 0xff;
	data[at + 1] = 999 >> 8;
	spill(path, data, len);
	assert_int_equal(replay(path, &c, &end, &r), 150);
	assert_int_equal(end, -EPROTO);
	snprintf(want, sizeof(want), "corrupt record at byte %zu: unknown kind 999", at);
	assert_string_equal(recording_reader__problem(r), want);
	recording_reader__free(r);
	memcpy(data + at, c.bytes + c.off[150], 2);

	/* a fixed-size kind with the wrong size (after unaligned location records) */
	size_t idx = 200;

	while (c.bytes[c.off[idx]] != AIB_EV_POLL_BEGIN) /* kind's low byte (little endian) */
		idx++;
	at = HDR + c.off[idx];
	assert_int_not_equal(at & 7, 0); /* the interesting case: an unaligned record */
	data[at + 2] = sizeof(struct aib_ev_poll) + 2;
	spill(path, data, len);
	assert_int_equal(replay(path, &c, &end, &r), idx);
	assert_int_equal(end, -EPROTO);
	snprintf(want, sizeof(want), "corrupt record at byte %zu: poll_begin size %zu, expected %zu",
		 at, sizeof(struct aib_ev_poll) + 2, sizeof(struct aib_ev_poll));
	assert_string_equal(recording_reader__problem(r), want);
	recording_reader__free(r);
	free(data);
	corpus_free(&c);
}

static void test_count_mismatch(void **state)
{
	const char *path = *state;
	struct recording_reader *r;
	struct corpus c;
	unsigned char *data;
	size_t len;
	int end;

	corpus_init(&c, 50);
	write_corpus(path, &c, c.n, true);
	slurp(path, &data, &len);

	put32(data + 24, c.n + 1);
	spill(path, data, len);
	assert_int_equal(replay(path, &c, &end, &r), c.n);
	assert_int_equal(end, 0);
	assert_true(recording_reader__complete(r));
	assert_true(recording_reader__truncated(r));
	assert_non_null(strstr(recording_reader__problem(r), "header says 51 records"));
	recording_reader__free(r);

	put32(data + 24, c.n - 1);
	spill(path, data, len);
	assert_int_equal(replay(path, &c, &end, &r), c.n);
	assert_true(recording_reader__truncated(r));
	assert_string_equal(recording_reader__problem(r),
			    "recording has 50 records but its header says 49");
	recording_reader__free(r);
	free(data);
	corpus_free(&c);
}

static void test_missing_file(void **state)
{
	const char *path = *state;
	char missing[64];

	expect_open_fails("", ENOENT);
	snprintf(missing, sizeof(missing), "%s.does-not-exist", path);
	expect_open_fails(missing, ENOENT);
	errno = 0;
	assert_null(recording_writer__open(""));
	assert_int_equal(errno, ENOENT);
	snprintf(missing, sizeof(missing), "%s.no-dir/file", path);
	errno = 0;
	assert_null(recording_writer__open(missing));
	assert_int_equal(errno, ENOENT);
}

/* The writer refuses records the reader would call corrupt. */
static void test_append_rejects_invalid(void **state)
{
	const char *path = *state;
	struct recording_writer *w = recording_writer__open(path);
	struct recording_reader *r;
	struct corpus c;
	union recbuf bad;
	int end;

	corpus_init(&c, 3);
	assert_non_null(w);
	assert_int_equal(recording_writer__append(w, corpus_rec(&c, 0)), 0);
	memset(&bad, 0, sizeof(bad));
	bad.hdr.kind = 999;
	bad.hdr.size = 32;
	assert_int_equal(recording_writer__append(w, &bad.hdr), -EINVAL);
	bad.hdr.kind = AIB_EV_POLL_BEGIN;
	bad.hdr.size = 8;
	assert_int_equal(recording_writer__append(w, &bad.hdr), -EINVAL);
	bad.hdr.kind = AIB_REC_LOCATION;
	bad.hdr.size = sizeof(bad.loc) + 3;
	bad.loc.len = 4;
	assert_int_equal(recording_writer__append(w, &bad.hdr), -EINVAL);
	assert_int_equal(recording_writer__append(w, corpus_rec(&c, 1)), 0);
	assert_int_equal(recording_writer__append(w, corpus_rec(&c, 2)), 0);
	assert_int_equal(recording_writer__close(w), 0);

	assert_int_equal(replay(path, &c, &end, &r), 3);
	assert_false(recording_reader__truncated(r));
	recording_reader__free(r);
	corpus_free(&c);
}

/* Arbitrary bytes after a valid header, and random damage to a real file:
 * the reader must end with 0 or -EPROTO, never crash or loop. */
static void test_garbage_never_crashes(void **state)
{
	const char *path = *state;
	struct corpus c;
	unsigned char *data, *copy;
	size_t len;
	__u64 x = 0x9e3779b97f4a7c15ull;

	corpus_init(&c, 200);
	write_corpus(path, &c, c.n, true);
	slurp(path, &data, &len);
	copy = malloc(len);
	assert_non_null(copy);

	for (int iter = 0; iter < 400; iter++) {
		struct recording_reader *r;
		const struct aib_hdr *rec;
		size_t use = len;
		int ret, steps = 0;

		memcpy(copy, data, len);
		for (int k = 0; k < 1 + iter % 8; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			copy[HDR + x % (len - HDR)] = x >> 32;
		}
		if (iter % 4 == 0) /* pure noise */
			for (size_t i = HDR; i < len; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				copy[i] = x;
			}
		if (iter % 3 == 0)
			use = HDR + x % (len - HDR);
		spill(path, copy, use);
		r = recording_reader__open(path);
		assert_non_null(r);
		while ((ret = recording_reader__next(r, &rec)) == 1) {
			assert_true(rec->size >= sizeof(*rec));
			assert_true(++steps <= (int)len);
		}
		assert_true(ret == 0 || ret == -EPROTO);
		assert_true(ret == 0 || recording_reader__problem(r)[0] != '\0');
		recording_reader__free(r);
	}
	free(copy);
	free(data);
	corpus_free(&c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_empty_recording),
		T(test_cut_at_every_offset),
		T(test_abort_keeps_flushed),
		T(test_abort_after_buffer_flushes),
		T(test_bad_magic),
		T(test_short_header),
		T(test_future_version),
		T(test_longer_header_skipped),
		T(test_corrupt_record_in_middle),
		T(test_count_mismatch),
		T(test_missing_file),
		T(test_append_rejects_invalid),
		T(test_garbage_never_crashes),
	};
#undef T

	return cmocka_run_group_tests_name("recording", tests, NULL, NULL);
}
