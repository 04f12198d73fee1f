// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tokio_layout.h"
#include "record/decoder.h"
#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "runtime/runtime.h"
#include "export/exporter.h"
#include "record/recording.h"
#include "session/session.h"
#include "inspect/stack_namer.h"
#include "record/await_site.h"
#include "model/task_model.h"
#include "lib/u64_map.h"

struct session {
	struct session_opts o;
	struct u64_map *files_defined; /* file_addr already sent as a LOCATION */
	struct u64_map *threads_named; /* tids already looked up */
	struct u64_map *where_keys;	/* hash of a resolved file/function -> key */
	__u64 next_where_key;
	__u64 unresolved;
	__u64 invalid;
	__u64 exec_ts;	  /* the target's exec, 0 if none */
	__u64 after_exec; /* samples of the new image, dropped */
	bool launch_seen; /* a launched target's first exec went by */
	int recording_error;
	union { /* the record a blocked call becomes */
		struct aib_rec_blocked rec;
		char bytes[sizeof(struct aib_rec_blocked) + AIB_AWAIT_TEXT_MAX];
	} blocked;
};

struct session *session__new(const struct session_opts *opts)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->o = *opts;
	s->files_defined = u64_map__new();
	s->threads_named = u64_map__new();
	s->where_keys = u64_map__new();
	if (!s->files_defined || !s->threads_named || !s->where_keys) {
		session__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	u64_map__free(s->files_defined);
	u64_map__free(s->threads_named);
	u64_map__free(s->where_keys);
	free(s);
}

int session__emit(struct session *s, const struct aib_hdr *rec)
{
	if (s->o.recording && !s->recording_error) {
		int err = recording_writer__append(s->o.recording, rec);

		if (err)
			s->recording_error = err; /* keep tracing; reported at the end */
	}
	int err = task_model__apply(s->o.model, rec);

	if (!err && s->o.exports)
		export_set__record(s->o.exports, rec, s->o.model); /* errors: at the end */
	return err;
}

static void define_location(struct session *s, const struct aib_ev_spawn *e)
{
	union { /* the record and room for its text, without a GNU extension */
		struct aib_rec_location rec;
		char buf[sizeof(struct aib_rec_location) + AIB_LOCATION_MAX];
	} loc;
	__u32 len = e->file_len;

	if (u64_map__get(s->files_defined, e->file_addr, NULL))
		return;
	u64_map__set(s->files_defined, e->file_addr, 0);
	if (len > AIB_LOCATION_MAX)
		len = AIB_LOCATION_MAX;
	/* From the file, not the process: .rodata pages may not be resident,
	 * and the process may be gone by the time the ring buffer drains. */
	if (!s->o.binary ||
	    elf_symbols__read(binary__symbols(s->o.binary), e->file_addr, loc.rec.text, len))
		return; /* the model names it by address */
	memset(&loc.rec, 0, sizeof(loc.rec));
	loc.rec.hdr.kind = AIB_REC_LOCATION;
	loc.rec.hdr.size = (__u16)(sizeof(loc.rec) + len);
	loc.rec.hdr.ts = e->hdr.ts;
	loc.rec.file_addr = e->file_addr;
	loc.rec.len = len;
	session__emit(s, &loc.rec.hdr);
}

static void name_thread(struct session *s, __u32 tid, __u64 ts)
{
	struct aib_rec_thread rec = {0};
	char path[64];
	ssize_t n;
	int fd;

	if (!tid || u64_map__get(s->threads_named, tid, NULL))
		return;
	u64_map__set(s->threads_named, tid, 0);
	snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", s->o.pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* the thread (or process) is gone; it stays unnamed */
	n = read(fd, rec.name, sizeof(rec.name) - 1);
	close(fd);
	if (n <= 0)
		return;
	if (rec.name[n - 1] == '\n')
		rec.name[n - 1] = 0;
	rec.hdr.kind = AIB_REC_THREAD;
	rec.hdr.size = sizeof(rec);
	rec.hdr.tid = tid;
	rec.hdr.ts = ts;
	session__emit(s, &rec.hdr);
}

/* Resolved file names get keys outside any ELF address, so they share the
 * model's file table with the ELF-backed ones. */
#define WHERE_KEY_BASE (1ULL << 63)

static __u64 fnv1a(const char *str)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (; *str; str++)
		h = (h ^ (__u8)*str) * 0x100000001b3ULL;
	return h;
}

/* The key of a resolved file (or function) name, defined once by a
 * LOCATION record. */
static __u64 where_key(struct session *s, const char *where, __u64 ts)
{
	union { /* the record and room for its text, without a GNU extension */
		struct aib_rec_location rec;
		char buf[sizeof(struct aib_rec_location) + AIB_LOCATION_MAX];
	} loc;
	__u64 h = fnv1a(where);
	__u32 idx;
	size_t len = strlen(where);

	if (u64_map__get(s->where_keys, h, &idx))
		return WHERE_KEY_BASE + idx;
	idx = (__u32)s->next_where_key++;
	u64_map__set(s->where_keys, h, idx);
	if (len > AIB_LOCATION_MAX)
		len = AIB_LOCATION_MAX;
	memset(&loc.rec, 0, sizeof(loc.rec));
	loc.rec.hdr.kind = AIB_REC_LOCATION;
	loc.rec.hdr.size = (__u16)(sizeof(loc.rec) + len);
	loc.rec.hdr.ts = ts;
	loc.rec.file_addr = WHERE_KEY_BASE + idx;
	loc.rec.len = (__u32)len;
	memcpy(loc.rec.text, where, len);
	session__emit(s, &loc.rec.hdr);
	return WHERE_KEY_BASE + idx;
}

/* A block_on root is named after the program's function that called it
 * (a #[tokio::test]'s test, a main): a name record for the thread's next
 * spawn, which is the root's. */
static int name_root(struct session *s, const struct aib_ev_spawn *e, const char *function)
{
	struct aib_ev_task_name rec = {0};
	size_t len = strlen(function);

	if (!len)
		return 0;
	rec.hdr.kind = AIB_EV_TASK_NAME;
	rec.hdr.size = sizeof(rec);
	rec.hdr.tid = e->hdr.tid;
	rec.hdr.ts = e->hdr.ts;
	rec.len = (__u32)(len < AIB_TASK_NAME_MAX ? len : AIB_TASK_NAME_MAX);
	memcpy(rec.name, function, rec.len);
	return session__emit(s, &rec.hdr);
}

/* A block_on root called from one of its runtime's own threads (an
 * executor's loop), or a spawn of the runtime's own carrier (a worker):
 * not the program's. */
static bool runtime_loop(struct session *s, const struct aib_ev_spawn_stack *e)
{
	const struct runtime_ops *rt = runtime__get((enum aib_runtime)e->spawn.runtime);
	const struct root_loop *own = !rt ? NULL
				      : e->spawn.flags & AIB_SPAWN_BLOCK_ON ? rt->own_loops
									    : rt->own_spawns;

	return own && s->o.spawn_stacks &&
	       stack_namer__in_runtime_loop(s->o.spawn_stacks, &e->stack, (const __u8 *)(e + 1), own);
}

/* A spawn with the stack copied at it: unwind to the program's own frame,
 * then record a plain spawn (the stack itself is not kept). */
static int on_spawn_stack(struct session *s, const struct aib_ev_spawn_stack *e)
{
	const struct runtime_ops *rt = runtime__get((enum aib_runtime)e->spawn.runtime);
	struct aib_ev_spawn spawn = e->spawn;
	struct spawn_site site;
	int err;

	spawn.hdr.kind = AIB_EV_SPAWN;
	spawn.hdr.size = sizeof(spawn);
	/* the decoder checked that stack.len bytes follow */
	err = s->o.spawn_stacks
		      ? stack_namer__spawn(s->o.spawn_stacks, &e->stack, (const __u8 *)(e + 1),
					   rt ? rt->spawn_kinds : NULL, &site)
		      : -ENODATA;
	if (!err) {
		spawn.file_addr = where_key(s, site.where, spawn.hdr.ts);
		spawn.file_len = (__u32)strlen(site.where);
		spawn.line = site.line;
		spawn.col = site.col;
		spawn.flags |= AIB_SPAWN_HAS_LOCATION | AIB_SPAWN_UNWOUND | site.flags;
		if (spawn.flags & AIB_SPAWN_BLOCK_ON)
			err = name_root(s, &spawn, site.function);
		if (err)
			return err;
	} else {
		s->unresolved++;
	}
	if (runtime_loop(s, e))
		spawn.flags = (spawn.flags & ~AIB_SPAWN_BLOCK_ON) | AIB_SPAWN_RUNTIME_LOOP;
	return session__emit(s, &spawn.hdr);
}

/* What each lock acquire is for, told by the site that saw it. */
static int on_lock(struct session *s, const struct aib_ev_lock *e)
{
	struct aib_ev_lock lock = *e;
	__u32 kind;

	if (s->o.lock_kinds && lock.site && u64_map__get(s->o.lock_kinds, lock.site, &kind))
		lock.kind = (__u16)kind;
	/* tokio's RwLock writers ask for all its permits */
	if (lock.kind == AIB_LOCK_KIND_UNKNOWN && lock.op != AIB_LOCK_RELEASED &&
	    lock.permits == TOKIO_RWLOCK_MAX_READS)
		lock.kind = AIB_LOCK_KIND_RWLOCK_WRITE;
	return session__emit(s, &lock.hdr);
}

/* A blocking syscall: its stack named, recorded instead of the bytes. */
static int on_blocked(struct session *s, const struct aib_ev_blocked *e)
{
	struct await_desc desc;

	if (!s->o.blocked_stacks || stack_namer__blocked(s->o.blocked_stacks, e, &desc))
		memset(&desc, 0, sizeof(desc)); /* recorded with no frames */
	return session__emit(s, &await_desc__to_blocked_record(&desc, e, &s->blocked)->hdr);
}

int session__on_sample(const void *data, size_t size, void *ctx)
{
	struct session *s = ctx;
	const struct aib_hdr *rec;

	/* Only BPF kinds may come from the ring buffer, and exactly one per sample. */
	if (aib_decode(data, size, &rec) || rec->size != size || rec->kind >= AIB_REC_FIRST) {
		s->invalid++;
		return 0;
	}
	/* after the target's exec, a sample is the new image's: not ours */
	if (s->exec_ts && rec->ts >= s->exec_ts) {
		s->after_exec++;
		return 0;
	}
	if (rec->kind == AIB_EV_EXEC && s->o.launched && !s->launch_seen) {
		s->launch_seen = true; /* the program we started, exec'd by its held child */
		return 0;
	}
	if (rec->kind == AIB_EV_EXEC)
		s->exec_ts = rec->ts;
	if (rec->kind == AIB_EV_RET_SITE) {
		const struct aib_ev_ret_site *r = (const void *)rec;

		if (s->o.add_return_site)
			s->o.add_return_site(r->vaddr, r->probe, s->o.ctx);
		return 0;
	}
	name_thread(s, rec->tid, rec->ts);
	if (rec->kind == AIB_EV_SPAWN_STACK)
		return on_spawn_stack(s, (const void *)rec);
	if (rec->kind == AIB_EV_LOCK)
		return on_lock(s, (const void *)rec);
	if (rec->kind == AIB_EV_BLOCKED)
		return on_blocked(s, (const void *)rec);
	if (rec->kind == AIB_EV_SPAWN && (aib_as_spawn(rec)->flags & AIB_SPAWN_HAS_LOCATION))
		define_location(s, aib_as_spawn(rec));
	return session__emit(s, rec);
}

__u64 session__unresolved_spawns(const struct session *s)
{
	return s->unresolved;
}

__u64 session__invalid_samples(const struct session *s)
{
	return s->invalid;
}

__u64 session__exec_ts(const struct session *s)
{
	return s->exec_ts;
}

int session__recording_error(const struct session *s)
{
	return s->recording_error;
}
