// SPDX-License-Identifier: MIT
/*
 * Locks: the guards a parked future holds, the Acquire it awaits. Guards
 * are found by their type's name (tokio::sync's), by value in the live
 * variant of each async fn of the chain; the semaphore each one reaches is
 * checked mapped, and an exclusive one that shows a free permit is not held.
 */
#include "inspect/future_locks.h"

#include <dwarf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/str.h"
#include "lib/u64_map.h"
#include "binary/dwarf_die.h"
#include "binary/dwarf_types.h"
#include "inspect/future_decoder.h"
#include "inspect/future_walk.h"

#define MAX_LOCK_DEPTH 12 /* struct nesting searched for guards */
#define MAX_LOCK_SEEN 64  /* guards told apart by address */
#define BATCH_SEM "tokio::sync::batch_semaphore::Semaphore"
#define BATCH_ACQUIRE "tokio::sync::batch_semaphore::Acquire"

struct future_locks {
	struct dwarf_types *types;
	struct u64_map *guards; /* type DIE offset -> may_hold(): 0, 1; 2 while deciding */

	/* the task's */
	struct future_lock *out;
	int n, max;
	bool has_wait;
	struct future_lock wait;
	enum aib_lock_kind kind; /* of the innermost async fn so far */
	bool in_sync;		 /* that fn is tokio::sync's */
	unsigned permit_shift;	 /* of the semaphore's permit word (struct lock_layout) */
	__u64 seen[MAX_LOCK_SEEN];
	int nseen;
};

/* tokio::sync's guards and permits, by the last segment of their path */
static const struct guard_type {
	const char *name;
	const char *lock;    /* the member leading to the semaphore */
	const char *permits; /* the member counting the permits; NULL: 1 */
	enum aib_lock_kind kind;
} guard_types[] = {
	{ "MutexGuard", "lock", NULL, AIB_LOCK_KIND_MUTEX },
	{ "OwnedMutexGuard", "lock", NULL, AIB_LOCK_KIND_MUTEX },
	{ "MappedMutexGuard", "s", NULL, AIB_LOCK_KIND_MUTEX },
	{ "RwLockReadGuard", "s", NULL, AIB_LOCK_KIND_RWLOCK_READ },
	{ "OwnedRwLockReadGuard", "lock", NULL, AIB_LOCK_KIND_RWLOCK_READ },
	{ "RwLockWriteGuard", "s", "permits_acquired", AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "RwLockMappedWriteGuard", "s", "permits_acquired", AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "OwnedRwLockWriteGuard", "lock", "permits_acquired", AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "OwnedRwLockMappedWriteGuard", "lock", "permits_acquired",
	  AIB_LOCK_KIND_RWLOCK_WRITE },
	{ "SemaphorePermit", "sem", "permits", AIB_LOCK_KIND_SEMAPHORE },
	{ "OwnedSemaphorePermit", "sem", "permits", AIB_LOCK_KIND_SEMAPHORE },
};

static const struct guard_type *guard_type(struct future_locks *fl, Dwarf_Die *t)
{
	const char *name = dwarf_diename(t);
	size_t n;

	if (!name || !die__is_struct(t))
		return NULL;
	n = strcspn(name, "<");
	for (size_t i = 0; i < sizeof(guard_types) / sizeof(*guard_types); i++)
		if (strlen(guard_types[i].name) == n && !strncmp(name, guard_types[i].name, n)) {
			const char *q = dwarf_types__name(fl->types, t);

			return str__starts(q, "tokio::sync::") ? &guard_types[i] : NULL;
		}
	return NULL;
}

/* the lock kind an async fn of tokio::sync waits for */
static enum aib_lock_kind fn_kind(const char *f)
{
	const char *last = f ? strrchr(f, ':') : NULL;

	if (!last)
		return AIB_LOCK_KIND_UNKNOWN;
	last++;
	if (str__starts(f, "tokio::sync::mutex::"))
		return AIB_LOCK_KIND_MUTEX;
	if (str__starts(f, "tokio::sync::rwlock::"))
		return str__starts(last, "write") ? AIB_LOCK_KIND_RWLOCK_WRITE :
		       str__starts(last, "read")  ? AIB_LOCK_KIND_RWLOCK_READ :
						    AIB_LOCK_KIND_UNKNOWN;
	if (str__starts(f, "tokio::sync::semaphore::"))
		return AIB_LOCK_KIND_SEMAPHORE;
	if (str__starts(f, "tokio::sync::mpsc::"))
		return AIB_LOCK_KIND_CHANNEL;
	return AIB_LOCK_KIND_UNKNOWN;
}

static bool is_named(struct future_locks *fl, Dwarf_Die *t, const char *base, const char *q)
{
	const char *name = dwarf_diename(t), *qn;

	return die__is_struct(t) && name && !strcmp(name, base) &&
	       (qn = dwarf_types__name(fl->types, t)) && !strcmp(qn, q);
}

struct named_type {
	struct future_locks *fl;
	const char *base, *q;
};

static bool has_named_type(void *ctx, Dwarf_Die *m, Dwarf_Die *t)
{
	struct named_type *n = ctx;

	return is_named(n->fl, t, n->base, n->q);
}

/* t itself, else a member by value (direct members first, then nested up to
 * depth 3), of the type named q ("a::b::base"): its offset in t and type */
static bool find_typed(struct future_locks *fl, Dwarf_Die *t, const char *base, const char *q,
		       __u64 *off, Dwarf_Die *type)
{
	struct named_type n = { fl, base, q };

	if (is_named(fl, t, base, q)) {
		*off = 0;
		*type = *t;
		return true;
	}
	return die__find(t, has_named_type, &n, 3, true, off, type);
}

/* The batch semaphore a guard's member reaches: the member is, or wraps
 * (ManuallyDrop, Arc, NonNull), a pointer to a type holding one by value
 * (Mutex<T>.s, RwLock<T>.s, Semaphore.ll_sem, ArcInner<..>.data.s). Its
 * runtime address and type. */
static bool lock_sem(struct future_locks *fl, struct future_walk *w, Dwarf_Die *t, __u64 addr,
		     __u64 *sem, Dwarf_Die *st)
{
	Dwarf_Die pt = *t, pointee;
	__u64 off, p, probe;

	if (!die__unwrap(&pt, &addr))
		return false;
	if (dwarf_tag(&pt) != DW_TAG_pointer_type || !die__type(&pt, &pointee) ||
	    !find_typed(fl, &pointee, "Semaphore", BATCH_SEM, &off, st))
		return false;
	if ((w->reads -= 2) < 0 || future_walk__read_uint(w, addr, 8, &p) || p < 4096 || (p & 7) ||
	    p + off < p || future_walk__read_uint(w, p + off, 8, &probe)) /* it is mapped */
		return false;
	*sem = p + off;
	return true;
}

/* whether the semaphore of type st at sem has a free permit (read: yes/no;
 * unreadable: false) */
static bool sem_free(struct future_walk *w, Dwarf_Die *st, __u64 sem, unsigned shift)
{
	Dwarf_Die pt;
	__u64 off;
	__s64 permits;

	return die__child_member(st, "permits", &off, &pt) &&
	       future_walk__read_scalar(w, &pt, sem + off, &permits) &&
	       (__u64)permits >> shift > 0;
}

static void lock_add(struct future_locks *fl, const struct future_lock *l)
{
	if (fl->n < fl->max)
		fl->out[fl->n++] = *l;
}

static bool lock_seen(struct future_locks *fl, __u64 addr)
{
	for (int i = 0; i < fl->nseen; i++)
		if (fl->seen[i] == addr)
			return true;
	if (fl->nseen < MAX_LOCK_SEEN)
		fl->seen[fl->nseen++] = addr;
	return false;
}

static void read_guard(struct future_locks *fl, struct future_walk *w, const struct guard_type *g,
		       Dwarf_Die *t, __u64 addr)
{
	struct future_lock l = { .permits = 1, .kind = g->kind };
	Dwarf_Die ft, st;
	__u64 off;
	__s64 n;

	if (lock_seen(fl, addr) || !die__child_member(t, g->lock, &off, &ft) ||
	    !lock_sem(fl, w, &ft, addr + off, &l.sem, &st))
		return;
	if (g->permits) {
		if (!die__child_member(t, g->permits, &off, &ft) ||
		    !future_walk__read_scalar(w, &ft, addr + off, &n) || n <= 0 || n > UINT32_MAX)
			return; /* holding no permit holds nothing */
		l.permits = (__u32)n;
	}
	/* exclusive: the semaphore has no permit left while it is held */
	if ((l.kind == AIB_LOCK_KIND_MUTEX || l.kind == AIB_LOCK_KIND_RWLOCK_WRITE) &&
	    sem_free(w, &st, l.sem, fl->permit_shift))
		return;
	lock_add(fl, &l);
}

/* Could a value of type t hold a guard in place? Static, over every
 * variant; memoized. Not through pointers, not into async fn state machines
 * (the chain's are walked frame by frame). Too deep counts as yes. */
static bool may_hold(void *ctx, Dwarf_Die *t, int depth)
{
	struct future_locks *fl = ctx;
	Dwarf_Off off = dwarf_dieoffset(t);
	bool yes = false;
	__u32 memo;

	if (!die__is_struct(t) || die__is_async_env(t))
		return false;
	if (depth > MAX_LOCK_DEPTH)
		return true;
	if (u64_map__get(fl->guards, off, &memo))
		return memo == 1; /* 2: deciding (no cycle without pointers anyway) */
	if (guard_type(fl, t))
		yes = true;
	else if (u64_map__set(fl->guards, off, 2))
		return true;
	yes = yes || die__any_member(t, may_hold, fl, depth + 1);
	u64_map__set(fl->guards, off, yes ? 1 : 0);
	return yes;
}

/* the guards in the value of type t at addr: its members, an enum's live variant */
static void collect_guards(struct future_locks *fl, struct future_walk *w, Dwarf_Die *t,
			   __u64 addr, int depth)
{
	const struct guard_type *g;
	const struct enum_layout *l;
	const struct enum_variant *v;
	Dwarf_Die m, mt;
	__u64 off;

	if (depth > MAX_LOCK_DEPTH || w->nodes-- <= 0 || !may_hold(fl, t, 0))
		return;
	if ((g = guard_type(fl, t))) {
		read_guard(fl, w, g, t, addr);
		return;
	}
	if (!dwarf_child(t, &m)) {
		do {
			if (dwarf_tag(&m) == DW_TAG_member && die__member_off(&m, &off) &&
			    die__type(&m, &mt))
				collect_guards(fl, w, &mt, addr + off, depth + 1);
		} while (!dwarf_siblingof(&m, &m));
	}
	if (die__variant_part(t, &m) && (l = dwarf_types__enum(fl->types, t)) && w->reads-- > 0 &&
	    !future_walk__pick(w, l, addr, &v) && dwarf_types__die(fl->types, v->type, &mt))
		collect_guards(fl, w, &mt, addr + v->off, depth + 1);
}

/* The guards of an async fn's frame at addr in variant v: the members of
 * the state machine outside its variants (none on rustc 1.95: the upvars
 * are repeated in each variant), then the variant's but its awaitee. */
static void frame_locks(struct future_locks *fl, struct future_walk *w, Dwarf_Die *env,
			__u64 addr, const struct enum_variant *v)
{
	Dwarf_Attribute attr;
	Dwarf_Die m, mt, vt;
	__u64 off;

	if (!str__starts(v->kind, "Suspend") && strcmp(v->kind ? v->kind : "", "Unresumed"))
		return; /* returned or panicked: its values are dropped */
	if (!dwarf_child(env, &m)) {
		do {
			if (dwarf_tag(&m) == DW_TAG_member && !dwarf_attr(&m, DW_AT_artificial, &attr) &&
			    die__member_off(&m, &off) && die__type(&m, &mt))
				collect_guards(fl, w, &mt, addr + off, 0);
		} while (!dwarf_siblingof(&m, &m));
	}
	if (!dwarf_types__die(fl->types, v->type, &vt) || dwarf_child(&vt, &m))
		return;
	do {
		const char *n = dwarf_diename(&m);

		if (dwarf_tag(&m) == DW_TAG_member && !(n && !strcmp(n, "__awaitee")) &&
		    die__member_off(&m, &off) && die__type(&m, &mt))
			collect_guards(fl, w, &mt, addr + v->off + off, 0);
	} while (!dwarf_siblingof(&m, &m));
}

void future_locks__frame(struct future_locks *fl, struct future_walk *w, const char *function,
			 Dwarf_Die *env, __u64 addr, const struct enum_variant *v)
{
	fl->kind = fn_kind(function);
	fl->in_sync = str__starts(function, "tokio::sync::");
	frame_locks(fl, w, env, addr, v);
}

/* The leaf awaitee of type t at addr: an Acquire (or, awaited by tokio::sync
 * code, a value holding one, as tracing's InstrumentedAsyncOp does) is the
 * lock waited for. */
void future_locks__leaf(struct future_locks *fl, struct future_walk *w, Dwarf_Die *t, __u64 addr)
{
	struct future_lock l = { .waiting = true, .kind = fl->kind };
	Dwarf_Die at, mt, nt;
	__u64 off, noff, probe;
	__s64 v;

	if ((!fl->in_sync && !is_named(fl, t, "Acquire", BATCH_ACQUIRE)) ||
	    !find_typed(fl, t, "Acquire", BATCH_ACQUIRE, &off, &at))
		return;
	addr += off;
	if (!die__child_member(&at, "semaphore", &off, &mt) ||
	    !future_walk__read_scalar(w, &mt, addr + off, &v) || (__u64)v < 4096 || (v & 7) ||
	    w->reads-- <= 0 || future_walk__read_uint(w, (__u64)v, 8, &probe))
		return;
	l.sem = (__u64)v;
	if (!die__child_member(&at, "num_permits", &off, &mt) ||
	    !future_walk__read_scalar(w, &mt, addr + off, &v) || v <= 0 || v > UINT32_MAX)
		return;
	l.permits = (__u32)v;
	/* queued, and its node needs no more permits: they are all its own */
	if (die__child_member(&at, "queued", &off, &mt) &&
	    future_walk__read_scalar(w, &mt, addr + off, &v) && v == 1 &&
	    die__child_member(&at, "node", &noff, &nt) &&
	    die__child_member(&nt, "state", &off, &mt) &&
	    future_walk__read_scalar(w, &mt, addr + noff + off, &v) && v == 0)
		l.waiting = false;
	fl->wait = l;
	fl->has_wait = true;
}

void future_locks__begin(struct future_locks *fl, unsigned permit_shift, struct future_lock *out,
			 int max)
{
	fl->permit_shift = permit_shift & 63;
	fl->out = out;
	fl->max = max;
	fl->n = fl->nseen = 0;
	fl->has_wait = false;
	fl->kind = AIB_LOCK_KIND_UNKNOWN;
	fl->in_sync = false;
}

int future_locks__end(struct future_locks *fl)
{
	if (fl->has_wait && fl->max > 0) {
		if (fl->n == fl->max)
			fl->n--;
		fl->out[fl->n++] = fl->wait;
	}
	return fl->n;
}

struct future_locks *future_locks__new(struct dwarf_types *types)
{
	struct future_locks *fl = calloc(1, sizeof(*fl));

	if (!fl || !(fl->guards = u64_map__new())) {
		free(fl);
		return NULL;
	}
	fl->types = types;
	return fl;
}

void future_locks__free(struct future_locks *fl)
{
	if (!fl)
		return;
	u64_map__free(fl->guards);
	free(fl);
}
