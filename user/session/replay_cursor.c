// SPDX-License-Identifier: MIT
/*
 * Checkpoints of a recording's model (replay_cursor.h). Record i is part of
 * the model at T when every record up to it is stamped at or before T: a
 * prefix of the file, so one running maximum of the times read (`max_ts`)
 * says where a prefix may start (a checkpoint with max_ts <= T) and how far
 * it goes. The reader is moved with recording_reader__seek; `reader_at`
 * says which record it reads next.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "model/task_model.h"
#include "record/recording.h"
#include "session/replay_cursor.h"

struct checkpoint {
	struct task_model *m; /* records [0, index) applied, never finished */
	__u64 index;
	__u64 offset;	      /* of record `index` in the file */
	__u64 max_ts;	      /* the latest time among those records */
	size_t bytes;
};

struct replay_cursor {
	struct recording_reader *r;
	struct replay_cursor_opts o;
	struct checkpoint *cps; /* by index; cps[0] is the empty model */
	size_t ncps, cps_cap, cp_bytes;
	__u64 every_records, every_ns; /* the spacing now: doubled at each thinning */
	__u64 last_cp_ts;
	__u64 nrecords, first_ts, last_ts;
	int status;
	bool truncated;
	char problem[256];
	/* where the last seek left off: records [0, work_index) applied */
	struct task_model *work;
	__u64 work_index, work_offset, work_max_ts;
	__u64 reader_at;
};

void replay_cursor_opts__default(struct replay_cursor_opts *o)
{
	*o = (struct replay_cursor_opts){
		.every_records = 65536,
		.max_checkpoints = 64,
		.max_bytes = 256u << 20,
	};
}

static struct task_model *new_model(const struct replay_cursor *c)
{
	struct task_model *m = task_model__new();

	if (m && c->o.keep_completed)
		task_model__set_keep_completed(m, c->o.keep_completed);
	return m;
}

static void drop_checkpoint(struct replay_cursor *c, size_t i)
{
	c->cp_bytes -= c->cps[i].bytes;
	task_model__free(c->cps[i].m);
}

/* Every other checkpoint after the first goes, and the spacing doubles:
 * what is kept stays evenly spread, whatever the recording's length. */
static void thin(struct replay_cursor *c)
{
	size_t kept = 1;

	for (size_t i = 1; i < c->ncps; i++) {
		if (i % 2) {
			drop_checkpoint(c, i);
			continue;
		}
		c->cps[kept++] = c->cps[i];
	}
	c->ncps = kept;
	c->every_records *= 2;
	c->every_ns *= 2;
}

static int add_checkpoint(struct replay_cursor *c, __u64 offset, __u64 max_ts)
{
	struct checkpoint cp = {.index = c->work_index, .offset = offset, .max_ts = max_ts};

	cp.m = task_model__clone(c->work);
	if (!cp.m || array__grow((void **)&c->cps, &c->cps_cap, c->ncps + 1, sizeof(*c->cps))) {
		task_model__free(cp.m);
		return -ENOMEM;
	}
	cp.bytes = task_model__bytes(cp.m);
	c->cps[c->ncps++] = cp;
	c->cp_bytes += cp.bytes;
	while (c->ncps > 1 && (c->ncps > c->o.max_checkpoints || c->cp_bytes > c->o.max_bytes))
		thin(c);
	return 0;
}

static bool checkpoint_due(const struct replay_cursor *c, __u64 ts)
{
	const struct checkpoint *last = &c->cps[c->ncps - 1];

	return (c->every_records && c->work_index - last->index >= c->every_records) ||
	       (c->every_ns && ts >= c->last_cp_ts + c->every_ns);
}

/* The first pass: every record applied, checkpoints on the way. */
static int first_pass(struct replay_cursor *c)
{
	const struct aib_hdr *rec;
	__u64 max_ts = 0;
	int ret, err;

	while ((ret = recording_reader__next(c->r, &rec)) == 1) {
		err = task_model__apply(c->work, rec);
		if (err)
			return err;
		c->work_index++;
		if (rec->ts > max_ts)
			max_ts = rec->ts;
		if (!c->first_ts && rec->ts)
			c->first_ts = c->last_cp_ts = rec->ts;
		if (checkpoint_due(c, rec->ts)) {
			err = add_checkpoint(c, recording_reader__tell(c->r), max_ts);
			if (err)
				return err;
			c->last_cp_ts = rec->ts;
		}
	}
	c->nrecords = c->reader_at = c->work_index;
	c->work_offset = recording_reader__tell(c->r);
	c->work_max_ts = c->last_ts = max_ts;
	if (!c->first_ts)
		c->first_ts = max_ts;
	c->status = ret;
	c->truncated = ret == 0 && recording_reader__truncated(c->r);
	snprintf(c->problem, sizeof(c->problem), "%s", recording_reader__problem(c->r));
	return 0;
}

struct replay_cursor *replay_cursor__open(const char *path, const struct replay_cursor_opts *o)
{
	struct replay_cursor *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	if (o)
		c->o = *o;
	else
		replay_cursor_opts__default(&c->o);
	c->every_records = c->o.every_records;
	c->every_ns = c->o.every_ns;
	c->r = recording_reader__open(path);
	if (!c->r) {
		err = errno;
		free(c);
		errno = err;
		return NULL;
	}
	c->work = new_model(c);
	err = c->work ? add_checkpoint(c, recording_reader__tell(c->r), 0) : -ENOMEM;
	err = err ?: first_pass(c);
	if (err) {
		replay_cursor__free(c);
		errno = -err;
		return NULL;
	}
	return c;
}

void replay_cursor__free(struct replay_cursor *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncps; i++)
		task_model__free(c->cps[i].m);
	free(c->cps);
	task_model__free(c->work);
	recording_reader__free(c->r);
	free(c);
}

int replay_cursor__status(const struct replay_cursor *c)
{
	return c->status;
}

bool replay_cursor__truncated(const struct replay_cursor *c)
{
	return c->truncated;
}

const char *replay_cursor__problem(const struct replay_cursor *c)
{
	return c->problem;
}

__u64 replay_cursor__first_ts(const struct replay_cursor *c)
{
	return c->first_ts;
}

__u64 replay_cursor__last_ts(const struct replay_cursor *c)
{
	return c->last_ts;
}

__u64 replay_cursor__records(const struct replay_cursor *c)
{
	return c->nrecords;
}

size_t replay_cursor__checkpoints(const struct replay_cursor *c)
{
	return c->ncps;
}

size_t replay_cursor__checkpoint_bytes(const struct replay_cursor *c)
{
	return c->cp_bytes;
}

/* The last checkpoint whose records all come at or before ts (strictly
 * before, with `strict`); cps[0], with none, always is. */
static size_t checkpoint_for(const struct replay_cursor *c, __u64 ts, bool strict)
{
	size_t lo = 0, hi = c->ncps; /* max_ts grows with the index: a binary search */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		__u64 m = c->cps[mid].max_ts;

		if (strict ? m < ts : m <= ts)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int reader_to(struct replay_cursor *c, __u64 index, __u64 offset)
{
	int err;

	if (c->reader_at == index)
		return 0;
	err = recording_reader__seek(c->r, offset, index);
	if (!err)
		c->reader_at = index;
	return err;
}

/* The next record, below nrecords: 1, 0 past the last, -errno. */
static int read_next(struct replay_cursor *c, const struct aib_hdr **rec)
{
	int ret;

	if (c->reader_at >= c->nrecords)
		return 0;
	ret = recording_reader__next(c->r, rec);
	if (ret == 1)
		c->reader_at++;
	return ret ? ret : -EIO; /* the file shrank since the first pass */
}

int replay_cursor__seek(struct replay_cursor *c, __u64 ts, struct task_model **out)
{
	const struct aib_hdr *rec;
	int ret = 0;

	*out = NULL;
	ts = ts < c->first_ts ? c->first_ts : ts > c->last_ts ? c->last_ts : ts;
	/* from where the last seek left off when that is on the way, else
	 * from the last checkpoint before ts */
	const struct checkpoint *cp = &c->cps[checkpoint_for(c, ts, false)];

	/* ... or from a checkpoint past it, on a long jump forward */
	if (!c->work || c->work_max_ts > ts || cp->index > c->work_index) {
		task_model__free(c->work);
		c->work = task_model__clone(cp->m);
		if (!c->work)
			return -ENOMEM;
		c->work_index = cp->index;
		c->work_offset = cp->offset;
		c->work_max_ts = cp->max_ts;
	}
	ret = reader_to(c, c->work_index, c->work_offset);
	while (!ret && (ret = read_next(c, &rec)) == 1) {
		if (rec->ts > ts) {
			/* not yet: read again by the next seek */
			ret = reader_to(c, c->work_index, c->work_offset);
			break;
		}
		ret = task_model__apply(c->work, rec);
		c->work_index++;
		c->work_offset = recording_reader__tell(c->r);
		if (rec->ts > c->work_max_ts)
			c->work_max_ts = rec->ts;
	}
	if (ret < 0) {
		/* the working model may be half way through a record: start over */
		task_model__free(c->work);
		c->work = NULL;
		return ret;
	}
	*out = task_model__clone(c->work);
	if (!*out)
		return -ENOMEM;
	task_model__finish(*out, ts);
	return 0;
}

/* ---- one task's events ---- */

struct follow {
	const struct task_info *t;
	bool over; /* the task ended, or its header began another task */
};

/* A record naming `task` and `id` (0: its runtime numbers no tasks) at ts.
 * With an id, the id tells; without, the time: from the task's spawn to its
 * end (when the model at hand knows it), or to its header's next spawn. */
static bool same_task(const struct task_info *t, __u64 task, __u64 id, __u64 ts)
{
	if (task != t->header)
		return false;
	if (id && t->id)
		return id == t->id;
	return !t->end_ts || ts <= t->end_ts;
}

/* Is rec about f's task? Records stamped before its spawn are another
 * task's at the same address. */
static bool about(struct follow *f, const struct aib_hdr *rec)
{
	const struct task_info *t = f->t;
	__u64 ts = rec->ts;
	bool yes = false, ends = false;

	if (f->over || ts < t->spawn_ts)
		return false;
	switch (rec->kind) {
	case AIB_EV_SPAWN: {
		const struct aib_ev_spawn *e = (const void *)rec;

		if (!(e->flags & AIB_SPAWN_TASK_KNOWN))
			return t->id && t->runtime == AIB_RUNTIME_TOKIO && e->predicted_id == t->id &&
			       rec->ts == t->spawn_ts;
		if (e->task != t->header)
			return false;
		if (rec->ts == t->spawn_ts)
			return true;
		f->over = true; /* a new task at its address */
		return false;
	}
	case AIB_EV_POLL_BEGIN:
	case AIB_EV_POLL_END: {
		const struct aib_ev_poll *e = (const void *)rec;

		yes = same_task(t, e->task, e->task_id, ts);
		break;
	}
	case AIB_EV_WAKE: {
		const struct aib_ev_wake *e = (const void *)rec;

		yes = same_task(t, e->task, e->task_id, ts);
		break;
	}
	case AIB_EV_SHUTDOWN:
	case AIB_EV_DEALLOC: {
		const struct aib_ev_task *e = (const void *)rec;

		yes = same_task(t, e->task, e->task_id, ts);
		ends = rec->kind == AIB_EV_DEALLOC; /* its identity ends */
		break;
	}
	case AIB_EV_JOIN: {
		const struct aib_ev_join *e = (const void *)rec;

		yes = same_task(t, e->waiter, e->waiter_id, ts);
		break;
	}
	case AIB_EV_LOCK: {
		const struct aib_ev_lock *e = (const void *)rec;

		yes = same_task(t, e->task, e->task_id, ts);
		break;
	}
	case AIB_REC_TASK_FOUND: {
		const struct aib_rec_task_found *e = (const void *)rec;

		yes = same_task(t, e->task, e->task_id, ts);
		break;
	}
	case AIB_REC_AWAIT: {
		const struct aib_rec_await *e = (const void *)rec;

		yes = same_task(t, e->task, e->task_id, ts);
		break;
	}
	case AIB_REC_BLOCKED: {
		const struct aib_rec_blocked *e = (const void *)rec;

		yes = same_task(t, e->task, e->task_id, ts);
		break;
	}
	default:
		break;
	}
	if (yes && ends)
		f->over = true;
	return yes;
}

int replay_cursor__next_event_ts(struct replay_cursor *c, const struct task_info *t, __u64 after,
				 __u64 *ts)
{
	const struct checkpoint *cp = &c->cps[checkpoint_for(c, after, false)];
	struct follow f = {.t = t};
	const struct aib_hdr *rec;
	__u64 max_ts = cp->max_ts;
	int ret = reader_to(c, cp->index, cp->offset);

	while (ret >= 0 && (ret = read_next(c, &rec)) == 1) {
		if (rec->ts > max_ts)
			max_ts = rec->ts;
		/* a record within the model at `after` has happened already */
		if (about(&f, rec) && max_ts > after) {
			*ts = max_ts;
			return 0;
		}
		if (f.over)
			break;
	}
	return ret < 0 ? ret : -ENOENT;
}

int replay_cursor__prev_event_ts(struct replay_cursor *c, const struct task_info *t, __u64 before,
				 __u64 *ts)
{
	size_t k = checkpoint_for(c, before, true);
	__u64 end = c->nrecords; /* the records of checkpoint k's span */

	for (;; end = c->cps[k--].index) {
		const struct checkpoint *cp = &c->cps[k];
		struct follow f = {.t = t};
		const struct aib_hdr *rec;
		__u64 max_ts = cp->max_ts, found = 0;
		int ret = reader_to(c, cp->index, cp->offset);

		while (ret >= 0 && c->reader_at < end && (ret = read_next(c, &rec)) == 1) {
			if (rec->ts > max_ts)
				max_ts = rec->ts;
			if (max_ts >= before)
				break;
			if (about(&f, rec))
				found = max_ts;
		}
		if (ret < 0)
			return ret;
		if (found) {
			*ts = found;
			return 0;
		}
		/* the spans before this one all come before the task */
		if (k == 0 || cp->max_ts < t->spawn_ts)
			return -ENOENT;
	}
}
