// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "record/await_site.h"
#include "model/blocking_calls.h"
#include "lib/u64_map.h"

#define SYS_FUTEX 202

struct blocking_calls {
	struct blocked_site *sites;
	size_t nsites, cap;
	struct u64_map *by_key; /* site key -> index */
	__u64 unkept;
};

struct blocking_calls *blocking_calls__new(void)
{
	struct blocking_calls *b = calloc(1, sizeof(*b));

	if (b)
		b->by_key = u64_map__new();
	if (!b || !b->by_key) {
		blocking_calls__free(b);
		return NULL;
	}
	return b;
}

void blocking_calls__free(struct blocking_calls *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nsites; i++)
		free(b->sites[i].example);
	free(b->sites);
	u64_map__free(b->by_key);
	free(b);
}

struct blocking_calls *blocking_calls__clone(const struct blocking_calls *b)
{
	struct blocking_calls *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->unkept = b->unkept;
	c->by_key = u64_map__clone(b->by_key);
	if (b->nsites)
		c->sites = calloc(b->nsites, sizeof(*c->sites));
	if (!c->by_key || (b->nsites && !c->sites))
		goto fail;
	c->cap = b->nsites;
	for (; c->nsites < b->nsites; c->nsites++) {
		const struct blocked_site *from = &b->sites[c->nsites];
		struct blocked_site *s = &c->sites[c->nsites];

		*s = *from;
		s->example = NULL;
		if (from->example && !(s->example = malloc(from->example->hdr.size)))
			goto fail;
		if (from->example)
			memcpy(s->example, from->example, from->example->hdr.size);
	}
	return c;
fail:
	blocking_calls__free(c);
	return NULL;
}

size_t blocking_calls__bytes(const struct blocking_calls *b)
{
	size_t n = sizeof(*b) + b->cap * sizeof(*b->sites) + u64_map__bytes(b->by_key);

	for (size_t i = 0; i < b->nsites; i++)
		n += b->sites[i].example ? b->sites[i].example->hdr.size : 0;
	return n;
}

static __u64 mix(__u64 h, const void *p, size_t n)
{
	const __u8 *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

/* A site: where in the program (the innermost own frame, else the
 * innermost frame), what call, and for a futex which lock word. */
static __u64 site_key(const struct aib_rec_blocked *r, const struct await_desc *d)
{
	const struct await_frame *f = await_desc__site(d);
	__u64 h = 0xcbf29ce484222325ULL;

	if (!f && d->nframes)
		f = &d->frames[d->nframes - 1];
	if (f) {
		h = mix(h, f->function, strlen(f->function));
		h = mix(h, f->file, strlen(f->file));
		h = mix(h, &f->line, sizeof(f->line));
	}
	h = mix(h, &r->syscall, sizeof(r->syscall));
	if (blocking_call__is_futex(r->syscall))
		h = mix(h, &r->arg, sizeof(r->arg));
	return h;
}

static void note_task(struct blocked_site *s, __u64 task_id)
{
	for (__u32 i = 0; i < s->ntasks && i < BLOCKING_TASKS_SHOWN; i++)
		if (s->tasks[i] == task_id)
			return;
	if (s->ntasks < BLOCKING_TASKS_SHOWN)
		s->tasks[s->ntasks++] = task_id;
}

int blocking_calls__add(struct blocking_calls *b, const struct aib_rec_blocked *r, __u64 task_id)
{
	struct await_desc *d = malloc(sizeof(*d));
	__u64 dur = r->hdr.ts > r->start_ts ? r->hdr.ts - r->start_ts : 0, key;
	struct blocked_site *s;
	__u32 idx;
	int err = 0;

	if (!d)
		return -ENOMEM;
	if (await_desc__from_blocked_record(r, d))
		d->nframes = 0; /* kept under "no frames" */
	key = site_key(r, d);
	free(d);
	if (!u64_map__get(b->by_key, key, &idx)) {
		if (b->nsites >= BLOCKING_SITES_MAX) {
			b->unkept++;
			return 0;
		}
		err = array__grow((void **)&b->sites, &b->cap, b->nsites + 1, sizeof(*b->sites));
		err = err ?: u64_map__set(b->by_key, key, (__u32)b->nsites);
		if (err)
			return err;
		idx = (__u32)b->nsites++;
		memset(&b->sites[idx], 0, sizeof(b->sites[idx]));
		b->sites[idx].syscall = r->syscall;
		b->sites[idx].arg = r->arg;
		b->sites[idx].first_ts = r->start_ts;
	}
	s = &b->sites[idx];
	s->calls++;
	s->total_ns += dur;
	s->last_ts = r->hdr.ts;
	note_task(s, task_id);
	if (dur >= s->max_ns || !s->example) {
		struct aib_rec_blocked *copy = malloc(r->hdr.size);

		if (!copy)
			return -ENOMEM;
		memcpy(copy, r, r->hdr.size);
		free(s->example);
		s->example = copy;
		s->max_ns = dur > s->max_ns ? dur : s->max_ns;
	}
	return 0;
}

size_t blocking_calls__count(const struct blocking_calls *b)
{
	return b->nsites;
}

const struct blocked_site *blocking_calls__get(const struct blocking_calls *b, size_t i)
{
	return i < b->nsites ? &b->sites[i] : NULL;
}

__u64 blocking_calls__unkept(const struct blocking_calls *b)
{
	return b->unkept;
}

bool blocking_call__is_futex(__u32 syscall)
{
	return syscall == SYS_FUTEX;
}

const char *blocking_call__what(__u32 syscall, __u32 op, __u64 arg, char *buf, size_t len)
{
	static const struct {
		__u32 nr;
		const char *name;
		bool fd; /* the first argument is a file descriptor */
	} calls[] = {
		{0, "read", true},	   {1, "write", true},	     {17, "pread", true},
		{18, "pwrite", true},	   {19, "readv", true},	     {20, "writev", true},
		{7, "poll", false},	   {23, "select", false},    {35, "sleep", false},
		{230, "sleep", false},	   {43, "accept", true},     {288, "accept", true},
		{42, "connect", true},	   {44, "send", true},	     {45, "recv", true},
		{46, "send", true},	   {47, "recv", true},	     {74, "fsync", true},
		{75, "fdatasync", true},   {257, "open", false},     {2, "open", false},
		{61, "wait for a child", false}, {232, "epoll_wait", true}, {281, "epoll_wait", true},
		{271, "poll", false},	   {270, "select", false},   {73, "flock", true},
		{72, "fcntl", true},	   {3, "close", true},	     {87, "unlink", false},
		{82, "rename", false},	   {4, "stat", false},	     {262, "stat", false},
	};

	if (syscall == SYS_FUTEX) {
		__u32 cmd = op & 0x7f; /* FUTEX_CMD_MASK: private and clock flags aside */

		static const char *const cmds[] = {
			"wait", "wake", "fd", "requeue", "requeue", "wake", "lock", "unlock", "lock",
			"wait", "wake", "wait", "requeue", "lock",
		};

		snprintf(buf, len, "futex %s on %#llx", cmd < 14 ? cmds[cmd] : "op",
			 (unsigned long long)arg);
		return buf;
	}
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (calls[i].nr != syscall)
			continue;
		if (calls[i].fd)
			snprintf(buf, len, "%s fd %lld", calls[i].name, (long long)(__s32)arg);
		else
			snprintf(buf, len, "%s", calls[i].name);
		return buf;
	}
	snprintf(buf, len, "syscall %u", syscall);
	return buf;
}
