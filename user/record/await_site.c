// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record/await_site.h"

/* Runtime code a parking poll passes through, by the path of its
 * functions or types; the first rule matching the innermost frame below
 * the program's own code wins (a weak one only if nothing outer matches). */
struct wait_rule {
	const char *needle;
	enum aib_wait_kind kind;
	const char *detail;
};

static const struct wait_rule wait_rules[] = {
	{"tokio::sync::oneshot", AIB_WAIT_CHANNEL, "oneshot receive"},
	{"tokio::sync::mpsc", AIB_WAIT_CHANNEL, "mpsc receive"},
	{"tokio::sync::broadcast", AIB_WAIT_CHANNEL, "broadcast receive"},
	{"tokio::sync::watch", AIB_WAIT_CHANNEL, "watch change"},
	{"tokio::sync::notify", AIB_WAIT_CHANNEL, "Notify"},
	{"tokio::sync::batch_semaphore", AIB_WAIT_LOCK, "semaphore acquire"},
	{"tokio::sync::mutex", AIB_WAIT_LOCK, "Mutex lock"},
	{"tokio::sync::rwlock", AIB_WAIT_LOCK, "RwLock"},
	{"tokio::sync::semaphore", AIB_WAIT_LOCK, "Semaphore acquire"},
	{"tokio::time::", AIB_WAIT_TIMER, "sleep"},
	{"tokio::runtime::time::", AIB_WAIT_TIMER, "sleep"},
	{"tokio::runtime::task::join::JoinHandle", AIB_WAIT_JOIN, "JoinHandle"},
	{"tokio::runtime::task::harness::can_read_output", AIB_WAIT_JOIN, "JoinHandle"},
	{"tokio::runtime::task::harness::set_join_waker", AIB_WAIT_JOIN, "JoinHandle"},
	{"tokio::runtime::task::raw::try_read_output", AIB_WAIT_JOIN, "JoinHandle"},
	{"tokio::runtime::io::", AIB_WAIT_IO, "readiness"},
	{"tokio::io::", AIB_WAIT_IO, "readiness"},
	{"tokio::net::", AIB_WAIT_IO, "socket readiness"},
	{"tokio::runtime::blocking::", AIB_WAIT_BLOCKING, "spawn_blocking"},
	/* async-std, smol and their crates */
	{"async_io::timer", AIB_WAIT_TIMER, "timer"},
	{"async_io::Timer", AIB_WAIT_TIMER, "timer"},
	{"async_io::", AIB_WAIT_IO, "readiness"},
	{"async_channel::", AIB_WAIT_CHANNEL, "async-channel receive"},
	{"async_lock::", AIB_WAIT_LOCK, "async-lock"},
	{"async_std::sync::", AIB_WAIT_LOCK, "async-std lock"},
	{"async_task::task::Task", AIB_WAIT_JOIN, "task handle"},
	{"futures_channel::oneshot", AIB_WAIT_CHANNEL, "oneshot receive"},
	{"futures_channel::mpsc", AIB_WAIT_CHANNEL, "mpsc receive"},
};

/* Building blocks of the above: matched only when no outer frame says more. */
static const struct wait_rule weak_rules[] = {
	{"event_listener::", AIB_WAIT_CHANNEL, "event listener"},
};

/* Which lock: the outer runtime frames say what the semaphore serves. */
static const struct wait_rule lock_kinds[] = {
	{"tokio::sync::mutex", AIB_WAIT_LOCK, "Mutex lock"},
	{"tokio::sync::rwlock", AIB_WAIT_LOCK, "RwLock"},
	{"tokio::sync::semaphore", AIB_WAIT_LOCK, "Semaphore acquire"},
};

static const struct wait_rule *match_rule(const struct wait_rule *rules, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strstr(s, rules[i].needle))
			return &rules[i];
	return NULL;
}

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

/* What the rules match a frame by: its path, or where the DWARF names an
 * inlined function by its short name only (line tables only, fat LTO),
 * the module its file is: ".../tokio-1.24.2/src/sync/oneshot.rs" or
 * ".../tokio/src/sync/oneshot.rs" -> "tokio::sync::oneshot::poll". */
static const char *frame_path(const struct await_frame *f, char *buf, size_t len)
{
	const char *src = NULL, *crate, *p;
	size_t n = 0, clen;

	if (strstr(f->function, "::") || f->file[0] != '/')
		return f->function;
	for (p = strstr(f->file, "/src/"); p; p = strstr(p + 1, "/src/"))
		src = p;
	if (!src)
		return f->function;
	for (crate = src; crate > f->file && crate[-1] != '/'; crate--)
		;
	clen = (size_t)(src - crate);
	/* the version a registry adds: "-1.24.2" */
	for (p = crate; p < src; p++)
		if (*p == '-' && p[1] >= '0' && p[1] <= '9') {
			clen = (size_t)(p - crate);
			break;
		}
	for (size_t i = 0; i < clen && n + 1 < len; i++)
		buf[n++] = crate[i] == '-' ? '_' : crate[i];
	for (p = src + 4; *p && n + 2 < len; p++) {
		if (!strcmp(p, ".rs") || !strcmp(p, "/mod.rs") || !strcmp(p, "/lib.rs"))
			break;
		if (*p == '/') {
			buf[n++] = ':';
			buf[n++] = ':';
		} else {
			buf[n++] = *p;
		}
	}
	snprintf(buf + n, len - n, "::%s", f->function);
	return buf;
}

enum aib_wait_kind await_site__classify(const struct await_frame *f, int n, char *detail,
					size_t detail_len)
{
	const struct wait_rule *r = NULL;
	int i;

	const struct wait_rule *weak = NULL;

	snprintf(detail, detail_len, "%s", "");
	for (i = 0; i < n && f[i].library && !r; i++) {
		char buf[sizeof(f[i].file) + sizeof(f[i].function)];
		const char *path = frame_path(&f[i], buf, sizeof(buf));

		r = match_rule(wait_rules, NRULES(wait_rules), path);
		if (!weak)
			weak = match_rule(weak_rules, NRULES(weak_rules), path);
	}
	if (!r)
		r = weak;
	if (!r)
		return AIB_WAIT_UNKNOWN;
	if (r->kind == AIB_WAIT_LOCK)
		for (int j = i; j < n && f[j].library; j++) {
			char buf[sizeof(f[j].file) + sizeof(f[j].function)];
			const struct wait_rule *l =
				match_rule(lock_kinds, NRULES(lock_kinds), frame_path(&f[j], buf, sizeof(buf)));

			if (l) {
				r = l;
				break;
			}
		}
	snprintf(detail, detail_len, "%s", r->detail);
	return r->kind;
}

enum aib_wait_kind await_site__classify_type(const char *type, char *detail, size_t detail_len)
{
	const struct wait_rule *r = match_rule(wait_rules, NRULES(wait_rules), type);

	snprintf(detail, detail_len, "%s", r ? r->detail : "");
	return r ? r->kind : AIB_WAIT_UNKNOWN;
}

const char *await_site__kind_name(enum aib_wait_kind k)
{
	static const char *const names[AIB_WAIT_KIND_MAX] = {
		[AIB_WAIT_UNKNOWN] = "unknown", [AIB_WAIT_TIMER] = "timer",
		[AIB_WAIT_CHANNEL] = "channel", [AIB_WAIT_LOCK] = "lock",
		[AIB_WAIT_JOIN] = "join",	[AIB_WAIT_IO] = "io",
		[AIB_WAIT_BLOCKING] = "blocking",
	};

	return (unsigned)k < AIB_WAIT_KIND_MAX ? names[k] : "unknown";
}

const char *await_site__method_name(enum aib_await_method m)
{
	switch (m) {
	case AIB_AWAIT_STACK:
		return "stack";
	case AIB_AWAIT_STATE_MACHINE:
		return "state-machine";
	default:
		return "none";
	}
}

const char *await_site__short_name(const char *function, char *buf, size_t len)
{
	const char *p = function, *last = function;
	int depth = 0;

	if (!function || !*function)
		return "?";
	/* a body whose path the DWARF does not give (line-tables-only) */
	if (!strncmp(function, "{async_fn#", 10))
		return "async fn";
	if (!strncmp(function, "{async_block#", 13))
		return "async block";
	/* the last path segment outside generic arguments */
	for (; *p; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && depth)
			depth--;
		else if (!depth && p[0] == ':' && p[1] == ':')
			last = p + 2;
	}
	snprintf(buf, len, "%s", last);
	return buf;
}

/* ---- the record ---- */

static bool put(char *text, size_t *len, const char *s)
{
	size_t l = strlen(s) + 1;

	if (*len + l > AIB_AWAIT_TEXT_MAX)
		return false;
	memcpy(text + *len, s, l);
	*len += l;
	return true;
}

/* The detail, then per frame its function, file and "line:col[:lib]",
 * NUL-terminated, into text (AIB_AWAIT_TEXT_MAX bytes): its length. */
static __u32 encode_text(const struct await_desc *d, char *text, __u32 *nframes)
{
	size_t len = 0;
	int first = 0;

	/* keep the inner end: the await itself matters most */
	for (size_t need = strlen(d->detail) + 1;; first++) {
		size_t total = need;

		for (int i = first; i < d->nframes; i++)
			total += strlen(d->frames[i].function) + strlen(d->frames[i].file) + 26;
		if (total <= AIB_AWAIT_TEXT_MAX || first >= d->nframes)
			break;
	}
	*nframes = 0;
	put(text, &len, d->detail);
	for (int i = first; i < d->nframes; i++) {
		const struct await_frame *f = &d->frames[i];
		char pos[32];

		snprintf(pos, sizeof(pos), "%u:%u%s", f->line, f->col, f->library ? ":lib" : "");
		if (!put(text, &len, f->function) || !put(text, &len, f->file) ||
		    !put(text, &len, pos))
			break;
		(*nframes)++;
	}
	return (__u32)len;
}

struct aib_rec_await *await_desc__to_record(const struct await_desc *d, __u64 task, __u64 task_id,
					   __u64 ts, void *buf)
{
	struct aib_rec_await *r = buf;

	memset(r, 0, sizeof(*r));
	r->len = encode_text(d, r->text, &r->nframes);
	r->hdr.kind = AIB_REC_AWAIT;
	r->hdr.size = (__u16)(sizeof(*r) + r->len);
	r->hdr.ts = ts;
	r->task = task;
	r->task_id = task_id;
	r->captured_ts = d->captured_ts;
	r->joined_id = d->joined_id;
	r->deadline_ts = d->deadline_ts;
	r->method = d->method;
	r->kind = d->kind;
	return r;
}

struct aib_rec_blocked *await_desc__to_blocked_record(const struct await_desc *d,
						      const struct aib_ev_blocked *e, void *buf)
{
	struct aib_rec_blocked *r = buf;

	memset(r, 0, sizeof(*r));
	r->len = encode_text(d, r->text, &r->nframes);
	r->hdr = e->hdr;
	r->hdr.kind = AIB_REC_BLOCKED;
	r->hdr.size = (__u16)(sizeof(*r) + r->len);
	r->task = e->task;
	r->task_id = e->task_id;
	r->start_ts = e->start_ts;
	r->arg = e->arg;
	r->syscall = e->syscall;
	r->op = e->op;
	return r;
}

/* The next NUL-terminated string of text[0, len), or NULL past its end. */
static const char *next_str(const char *text, __u32 len, size_t *at)
{
	const char *s = text + *at;
	const void *nul;

	if (*at >= len)
		return NULL;
	nul = memchr(s, '\0', len - *at);
	if (!nul)
		return NULL;
	*at += (size_t)((const char *)nul - s) + 1;
	return s;
}

static int decode_text(const char *text, __u32 len, __u32 nframes, struct await_desc *out)
{
	size_t at = 0;
	const char *detail = next_str(text, len, &at);

	if (!detail || nframes > AWAIT_MAX_FRAMES)
		return -EPROTO;
	snprintf(out->detail, sizeof(out->detail), "%s", detail);
	for (__u32 i = 0; i < nframes; i++) {
		struct await_frame *f = &out->frames[i];
		const char *fn = next_str(text, len, &at), *file = next_str(text, len, &at);
		const char *pos = next_str(text, len, &at);
		char lib[8] = "";

		if (!fn || !file || !pos || sscanf(pos, "%u:%u:%7s", &f->line, &f->col, lib) < 2)
			return -EPROTO;
		snprintf(f->function, sizeof(f->function), "%s", fn);
		snprintf(f->file, sizeof(f->file), "%s", file);
		f->library = !strcmp(lib, "lib");
	}
	out->nframes = (int)nframes;
	return 0;
}

int await_desc__from_record(const struct aib_rec_await *r, struct await_desc *out)
{
	memset(out, 0, sizeof(*out));
	if (r->kind >= AIB_WAIT_KIND_MAX || r->method > AIB_AWAIT_STATE_MACHINE)
		return -EPROTO;
	out->method = r->method;
	out->kind = r->kind;
	out->captured_ts = r->captured_ts;
	out->joined_id = r->joined_id;
	out->deadline_ts = r->deadline_ts;
	return decode_text(r->text, r->len, r->nframes, out);
}

int await_desc__from_blocked_record(const struct aib_rec_blocked *r, struct await_desc *out)
{
	memset(out, 0, sizeof(*out));
	out->method = AIB_AWAIT_STACK;
	out->kind = AIB_WAIT_BLOCKING;
	out->captured_ts = r->hdr.ts;
	return decode_text(r->text, r->len, r->nframes, out);
}

const struct await_frame *await_desc__site(const struct await_desc *d)
{
	for (int i = d->nframes - 1; i >= 0; i--)
		if (!d->frames[i].library)
			return &d->frames[i];
	return NULL;
}
