// SPDX-License-Identifier: MIT
/*
 * Locks by address (u64_map -> index into one array). Two more indexes keep
 * the per-task work O(1), since tasks end by the million: task id -> the
 * lock it waits on, and task id -> how many live holder entries it has (a
 * task that ends holding nothing costs two lookups).
 *
 * A waiter is one Acquire future: records are matched to it by the
 * future's address first (a pinned future keeps it, even when another task
 * polls it), by the task when the record names no future. A task (id != 0)
 * has at most one waiter entry in the whole table.
 *
 * Holders are kept oldest first and waiters in queue order: removals shift.
 * Pointers from lock_table__get/find/waiting_for are valid until the next
 * apply (the array may move).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "model/lock_table.h"
#include "lib/u64_map.h"

struct lock {
	struct lock_info info;
	__u64 held; /* permits held by the holders, for permits_seen */
};

struct lock_table {
	struct lock *locks;
	size_t n, cap;
	struct u64_map *by_addr; /* address -> index */
	struct u64_map *waiting; /* task id -> index of the lock it waits on */
	struct u64_map *holding; /* task id -> its holder entries, task not ended */
	__u64 evicted, anomalies;
	bool finished;
};

struct lock_table *lock_table__new(void)
{
	struct lock_table *lt = calloc(1, sizeof(*lt));

	if (!lt)
		return NULL;
	lt->by_addr = u64_map__new();
	lt->waiting = u64_map__new();
	lt->holding = u64_map__new();
	if (!lt->by_addr || !lt->waiting || !lt->holding) {
		lock_table__free(lt);
		return NULL;
	}
	return lt;
}

static void lock_release(struct lock *k)
{
	samples__release(&k->info.wait);
	samples__release(&k->info.hold);
	free(k->info.holders);
	free(k->info.waiters);
	memset(k, 0, sizeof(*k));
}

void lock_table__free(struct lock_table *lt)
{
	if (!lt)
		return;
	for (size_t i = 0; i < lt->n; i++)
		lock_release(&lt->locks[i]);
	free(lt->locks);
	u64_map__free(lt->by_addr);
	u64_map__free(lt->waiting);
	u64_map__free(lt->holding);
	free(lt);
}

/*
 * Overwrite a key that may exist. u64_map__set grows on the count before
 * it looks, so delete first: a set right after a delete never grows (the
 * map keeps count * 4 <= cap * 3), it can only fail for a new key.
 */
static int index_set(struct u64_map *m, __u64 key, __u32 value)
{
	u64_map__del(m, key);
	return u64_map__set(m, key, value);
}

static __u64 since_to(__u64 since, __u64 ts)
{
	return ts > since ? ts - since : 0; /* CPUs' records may cross */
}

/* ---- the table: lookup, creation, eviction ---- */

static long oldest_idle(const struct lock_table *lt)
{
	long best = -1;

	for (size_t i = 0; i < lt->n; i++) {
		const struct lock_info *l = &lt->locks[i].info;

		if (l->nholders || l->nwaiters)
			continue;
		if (best < 0 || l->last_change_ts < lt->locks[best].info.last_change_ts)
			best = (long)i;
	}
	return best;
}

/* The lock at `addr`, created if new: its index, -ENOMEM, or -ENOSPC when
 * the table is full of busy locks (the record is dropped). A new lock takes
 * the evicted one's slot, so no other index moves. */
static long lock_lookup(struct lock_table *lt, __u64 addr, __u64 ts)
{
	struct lock *k;
	__u32 idx;

	if (u64_map__get(lt->by_addr, addr, &idx))
		return idx;
	if (lt->n < LOCK_TABLE_MAX) {
		if (array__grow((void **)&lt->locks, &lt->cap, lt->n + 1, sizeof(*lt->locks)))
			return -ENOMEM;
		if (u64_map__set(lt->by_addr, addr, (__u32)lt->n))
			return -ENOMEM;
		idx = (__u32)lt->n++;
	} else {
		long victim = oldest_idle(lt);

		if (victim < 0)
			return -ENOSPC;
		idx = (__u32)victim;
		u64_map__del(lt->by_addr, lt->locks[idx].info.address);
		lock_release(&lt->locks[idx]);
		u64_map__set(lt->by_addr, addr, idx); /* after a delete: cannot fail */
		lt->evicted++;
	}
	k = &lt->locks[idx];
	memset(k, 0, sizeof(*k));
	k->info.address = addr;
	k->info.first_ts = ts;
	k->info.last_change_ts = ts;
	return idx;
}

static enum lock_type kind_type(__u16 kind)
{
	static const enum lock_type types[AIB_LOCK_KIND_MAX] = {
		[AIB_LOCK_KIND_MUTEX] = LOCK_TYPE_MUTEX,
		[AIB_LOCK_KIND_RWLOCK_READ] = LOCK_TYPE_RWLOCK,
		[AIB_LOCK_KIND_RWLOCK_WRITE] = LOCK_TYPE_RWLOCK,
		[AIB_LOCK_KIND_SEMAPHORE] = LOCK_TYPE_SEMAPHORE,
		[AIB_LOCK_KIND_CHANNEL] = LOCK_TYPE_CHANNEL,
	};

	return kind < AIB_LOCK_KIND_MAX ? types[kind] : LOCK_TYPE_UNKNOWN;
}

/* A known type stays, except that RwLock wins: its read and write sites
 * are the surest sign. Two other known types disagreeing is an anomaly. */
static void set_type(struct lock_table *lt, struct lock_info *l, __u16 kind)
{
	enum lock_type t = kind_type(kind);

	if (t == LOCK_TYPE_UNKNOWN || t == l->type)
		return;
	if (l->type != LOCK_TYPE_UNKNOWN)
		lt->anomalies++;
	if (l->type == LOCK_TYPE_UNKNOWN || t == LOCK_TYPE_RWLOCK)
		l->type = t;
}

/* ---- waiters ---- */

static long waiter_of_task(const struct lock_info *l, __u64 task_id)
{
	for (size_t i = 0; i < l->nwaiters; i++)
		if (l->waiters[i].task_id == task_id)
			return (long)i;
	return -1;
}

/* The waiter a record is about: its Acquire future, else its task. */
static long waiter_find(const struct lock_info *l, __u64 task_id, __u64 acquire)
{
	long i = task_id ? waiter_of_task(l, task_id) : -1;

	if (!acquire)
		return i;
	for (size_t k = 0; k < l->nwaiters; k++)
		if (l->waiters[k].acquire == acquire)
			return (long)k;
	/* a wait found in memory at attach names no Acquire: the task's */
	return i >= 0 && !l->waiters[i].acquire ? i : -1;
}

static void waiter_remove(struct lock_table *lt, struct lock_info *l, long i)
{
	if (l->waiters[i].task_id)
		u64_map__del(lt->waiting, l->waiters[i].task_id);
	memmove(&l->waiters[i], &l->waiters[i + 1], (l->nwaiters - i - 1) * sizeof(*l->waiters));
	l->nwaiters--;
}

/* A task polled again Pending keeps its first wait; a wait on another
 * lock is dropped (it cannot be parked on two). */
static int on_pending(struct lock_table *lt, __u32 idx, const struct aib_ev_lock *e,
		      __u64 task_id)
{
	struct lock_info *l = &lt->locks[idx].info;
	struct lock_waiter *w;
	long i = -1;
	__u32 other;

	if (task_id && u64_map__get(lt->waiting, task_id, &other)) {
		if (other != idx) {
			struct lock_info *o = &lt->locks[other].info;
			long j = waiter_of_task(o, task_id);

			if (j >= 0)
				waiter_remove(lt, o, j);
			else
				u64_map__del(lt->waiting, task_id);
			lt->anomalies++;
		} else {
			i = waiter_of_task(l, task_id);
		}
	}
	if (i < 0 && e->acquire)
		i = waiter_find(l, 0, e->acquire); /* the future, polled by another task now */
	if (i >= 0) {
		w = &l->waiters[i];
		if (w->task_id != task_id) {
			if (task_id && u64_map__set(lt->waiting, task_id, idx))
				return -ENOMEM;
			if (w->task_id)
				u64_map__del(lt->waiting, w->task_id);
			w->task_id = task_id;
		}
		/* a new Acquire of the same task takes the entry over */
		w->acquire = e->acquire;
		w->permits = e->permits;
		w->kind = e->kind;
		return 0;
	}
	if (!task_id && !e->acquire) {
		lt->anomalies++; /* nothing could ever end this wait */
		return 0;
	}
	if (array__grow((void **)&l->waiters, &l->waiters_cap, l->nwaiters + 1,
			sizeof(*l->waiters)))
		return -ENOMEM;
	if (task_id && u64_map__set(lt->waiting, task_id, idx))
		return -ENOMEM;
	l->waiters[l->nwaiters++] = (struct lock_waiter){
		.task_id = task_id,
		.acquire = e->acquire,
		.permits = e->permits,
		.kind = e->kind,
		.since = e->hdr.ts,
	};
	if (l->nwaiters > l->max_waiters)
		l->max_waiters = (__u32)l->nwaiters;
	return 0;
}

/* ---- holders ---- */

static int holder_add(struct lock_table *lt, struct lock *k, __u64 task_id, __u32 permits,
		      __u64 ts)
{
	struct lock_info *l = &k->info;
	__u32 c = 0;

	if (array__grow((void **)&l->holders, &l->holders_cap, l->nholders + 1,
			sizeof(*l->holders)))
		return -ENOMEM;
	if (task_id) {
		u64_map__get(lt->holding, task_id, &c);
		if (index_set(lt->holding, task_id, c + 1))
			return -ENOMEM;
	}
	l->holders[l->nholders++] = (struct lock_holder){
		.task_id = task_id, .permits = permits, .since = ts,
	};
	k->held += permits;
	return 0;
}

static void holding_drop(struct lock_table *lt, __u64 task_id)
{
	__u32 c;

	if (!task_id || !u64_map__get(lt->holding, task_id, &c))
		return;
	u64_map__del(lt->holding, task_id);
	if (c > 1)
		u64_map__set(lt->holding, task_id, c - 1); /* after a delete: cannot fail */
}

/* Whose permits come back: the same task's hold of that size, any hold of
 * that task, then (a guard moved to another task) the oldest of that size,
 * then the oldest. */
static size_t holder_match(const struct lock_info *l, __u64 task_id, __u32 permits)
{
	long same_task = -1, same_permits = -1;

	for (size_t i = 0; i < l->nholders; i++) {
		const struct lock_holder *h = &l->holders[i];

		if (h->task_id == task_id && h->permits == permits)
			return i;
		if (h->task_id == task_id && same_task < 0)
			same_task = (long)i;
		if (h->permits == permits && same_permits < 0)
			same_permits = (long)i;
	}
	if (same_task >= 0)
		return (size_t)same_task;
	return same_permits >= 0 ? (size_t)same_permits : 0;
}

/* Fewer permits than held (a Semaphore permit split, a RwLock write guard
 * downgraded) shorten the hold; as many or more end it. */
static int on_released(struct lock_table *lt, struct lock *k, const struct aib_ev_lock *e,
		       __u64 task_id)
{
	struct lock_info *l = &k->info;
	struct lock_holder *h;
	size_t i;
	int err;

	if (l->type == LOCK_TYPE_CHANNEL)
		return 0; /* the receiver frees capacity: nobody held it */
	if (!l->nholders) {
		if (l->type != LOCK_TYPE_UNKNOWN) /* unknown: maybe a channel */
			l->untracked_releases++;
		return 0;
	}
	i = holder_match(l, task_id, e->permits);
	h = &l->holders[i];
	if (e->permits < h->permits) {
		h->permits -= e->permits;
		k->held -= e->permits;
		return 0;
	}
	k->held -= h->permits;
	if (!h->task_ended)
		holding_drop(lt, h->task_id);
	err = samples__add(&l->hold, since_to(h->since, e->hdr.ts));
	memmove(h, h + 1, (l->nholders - i - 1) * sizeof(*h));
	l->nholders--;
	return err;
}

static int on_acquired(struct lock_table *lt, struct lock *k, const struct aib_ev_lock *e,
		       __u64 task_id)
{
	struct lock_info *l = &k->info;
	long i = waiter_find(l, task_id, e->acquire);
	int err = 0;

	l->acquisitions++;
	if (i < 0 && e->acquire && task_id) {
		/* The queue is fair: this task's older queued acquire cannot
		 * still be waiting behind one that got through. */
		long j = waiter_of_task(l, task_id);

		if (j >= 0) {
			waiter_remove(lt, l, j);
			lt->anomalies++;
		}
	}
	if (i >= 0) {
		l->contended++;
		err = samples__add(&l->wait, since_to(l->waiters[i].since, e->hdr.ts));
		waiter_remove(lt, l, i);
	}
	if (l->type != LOCK_TYPE_CHANNEL) {
		int e2 = holder_add(lt, k, task_id, e->permits, e->hdr.ts);

		err = err ? err : e2;
	}
	return err;
}

int lock_table__apply(struct lock_table *lt, const struct aib_ev_lock *e, __u64 task_id)
{
	struct lock *k;
	struct lock_info *l;
	long idx;
	__u64 seen;

	if (e->op > AIB_LOCK_HELD) {
		lt->anomalies++;
		return 0;
	}
	idx = lock_lookup(lt, e->sem, e->hdr.ts);
	if (idx == -ENOSPC) {
		lt->anomalies++;
		return 0;
	}
	if (idx < 0)
		return (int)idx;
	k = &lt->locks[idx];
	l = &k->info;
	set_type(lt, l, e->kind);
	if (e->available != ~0ULL) {
		/* free before this poll took its own, plus held then; saturating */
		seen = e->available + k->held < e->available ? ~0ULL : e->available + k->held;
		if (seen > l->permits_seen)
			l->permits_seen = seen;
	}
	if (e->hdr.ts > l->last_change_ts)
		l->last_change_ts = e->hdr.ts;

	switch (e->op) {
	case AIB_LOCK_PENDING:
		return on_pending(lt, (__u32)idx, e, task_id);
	case AIB_LOCK_ACQUIRED:
		return on_acquired(lt, k, e, task_id);
	case AIB_LOCK_RELEASED:
		return on_released(lt, k, e, task_id);
	case AIB_LOCK_HELD: /* taken before the session: a holder, not an acquisition */
		return l->type == LOCK_TYPE_CHANNEL ? 0 : holder_add(lt, k, task_id, e->permits, e->hdr.ts);
	case AIB_LOCK_CLOSED:
	case AIB_LOCK_GAVE_UP: {
		long i = waiter_find(l, task_id, e->acquire);

		if (e->op == AIB_LOCK_CLOSED)
			l->closed++;
		else
			l->gave_up++;
		if (i >= 0)
			waiter_remove(lt, l, i);
		return 0;
	}
	}
	return 0;
}

void lock_table__task_ended(struct lock_table *lt, __u64 task_id, __u64 ts)
{
	__u32 idx, c;

	if (!task_id)
		return;
	if (u64_map__get(lt->waiting, task_id, &idx)) {
		struct lock_info *l = &lt->locks[idx].info;
		long i = waiter_of_task(l, task_id);

		if (i >= 0)
			waiter_remove(lt, l, i);
		else
			u64_map__del(lt->waiting, task_id);
		if (ts > l->last_change_ts)
			l->last_change_ts = ts;
	}
	if (!u64_map__get(lt->holding, task_id, &c))
		return;
	/* rare (a leaked or lost guard): a scan, stopped at the last one */
	u64_map__del(lt->holding, task_id);
	for (size_t i = 0; i < lt->n && c; i++) {
		struct lock_info *l = &lt->locks[i].info;

		for (size_t j = 0; j < l->nholders && c; j++) {
			struct lock_holder *h = &l->holders[j];

			if (h->task_id == task_id && !h->task_ended) {
				h->task_ended = true;
				c--;
			}
		}
	}
}

void lock_table__finish(struct lock_table *lt, __u64 end_ts)
{
	if (lt->finished)
		return;
	lt->finished = true;
	for (size_t i = 0; i < lt->n; i++) {
		struct lock_info *l = &lt->locks[i].info;

		for (size_t j = 0; j < l->nwaiters; j++) {
			__u64 d = since_to(l->waiters[j].since, end_ts);

			samples__add(&l->wait, d); /* on -ENOMEM still counted */
			l->open_wait_ns += d;
		}
	}
}

struct lock_table *lock_table__clone(const struct lock_table *lt)
{
	struct lock_table *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	*c = *lt;
	c->locks = NULL;
	c->n = c->cap = 0;
	c->by_addr = u64_map__clone(lt->by_addr);
	c->waiting = u64_map__clone(lt->waiting);
	c->holding = u64_map__clone(lt->holding);
	if (lt->n)
		c->locks = calloc(lt->n, sizeof(*c->locks));
	if (!c->by_addr || !c->waiting || !c->holding || (lt->n && !c->locks))
		goto fail;
	c->cap = lt->n;
	for (; c->n < lt->n; c->n++) {
		const struct lock_info *from = &lt->locks[c->n].info;
		struct lock *k = &c->locks[c->n];
		struct lock_info *l = &k->info;

		*k = lt->locks[c->n];
		l->holders = NULL;
		l->waiters = NULL;
		l->holders_cap = l->waiters_cap = 0;
		l->nholders = l->nwaiters = 0;
		l->wait = l->hold = (struct samples){0};
		if (samples__clone(&l->wait, &from->wait) || samples__clone(&l->hold, &from->hold))
			goto fail_lock;
		if (from->nholders &&
		    !(l->holders = malloc(from->nholders * sizeof(*l->holders))))
			goto fail_lock;
		if (from->nwaiters &&
		    !(l->waiters = malloc(from->nwaiters * sizeof(*l->waiters))))
			goto fail_lock;
		l->nholders = l->holders_cap = from->nholders;
		l->nwaiters = l->waiters_cap = from->nwaiters;
		if (from->nholders)
			memcpy(l->holders, from->holders, from->nholders * sizeof(*l->holders));
		if (from->nwaiters)
			memcpy(l->waiters, from->waiters, from->nwaiters * sizeof(*l->waiters));
	}
	return c;
fail_lock:
	lock_release(&c->locks[c->n]);
fail:
	lock_table__free(c);
	return NULL;
}

size_t lock_table__bytes(const struct lock_table *lt)
{
	size_t n = sizeof(*lt) + lt->cap * sizeof(*lt->locks) + u64_map__bytes(lt->by_addr) +
		   u64_map__bytes(lt->waiting) + u64_map__bytes(lt->holding);

	for (size_t i = 0; i < lt->n; i++) {
		const struct lock_info *l = &lt->locks[i].info;

		n += l->holders_cap * sizeof(*l->holders) + l->waiters_cap * sizeof(*l->waiters) +
		     (l->wait.cap + l->hold.cap) * sizeof(__u64);
	}
	return n;
}

size_t lock_table__count(const struct lock_table *lt)
{
	return lt->n;
}

/* In order of first sight, except that a lock created once the table is
 * full takes the slot of the one it evicted. */
const struct lock_info *lock_table__get(const struct lock_table *lt, size_t i)
{
	return i < lt->n ? &lt->locks[i].info : NULL;
}

const struct lock_info *lock_table__find(const struct lock_table *lt, __u64 address)
{
	__u32 idx;

	return u64_map__get(lt->by_addr, address, &idx) ? &lt->locks[idx].info : NULL;
}

const struct lock_info *lock_table__waiting_for(const struct lock_table *lt, __u64 task_id,
						const struct lock_waiter **waiter)
{
	const struct lock_info *l;
	__u32 idx;
	long i;

	if (!task_id || !u64_map__get(lt->waiting, task_id, &idx))
		return NULL;
	l = &lt->locks[idx].info;
	i = waiter_of_task(l, task_id);
	if (i < 0)
		return NULL;
	if (waiter)
		*waiter = &l->waiters[i];
	return l;
}

__u64 lock_table__evicted(const struct lock_table *lt)
{
	return lt->evicted;
}

__u64 lock_table__anomalies(const struct lock_table *lt)
{
	return lt->anomalies;
}

const char *lock_type_name(enum lock_type t)
{
	static const char *const names[] = {
		[LOCK_TYPE_UNKNOWN] = "lock",	   [LOCK_TYPE_MUTEX] = "Mutex",
		[LOCK_TYPE_RWLOCK] = "RwLock",	   [LOCK_TYPE_SEMAPHORE] = "Semaphore",
		[LOCK_TYPE_CHANNEL] = "channel",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "lock";
}

const char *lock_info__label(const struct lock_info *l, char *buf, size_t len)
{
	if (l->type == LOCK_TYPE_SEMAPHORE && l->permits_seen)
		snprintf(buf, len, "Semaphore(%llu)@%#llx", (unsigned long long)l->permits_seen,
			 (unsigned long long)l->address);
	else
		snprintf(buf, len, "%s@%#llx", lock_type_name(l->type),
			 (unsigned long long)l->address);
	return buf;
}
