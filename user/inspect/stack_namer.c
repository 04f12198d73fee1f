// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "binary/symbolizer.h"
#include "binary/unwinder.h"
#include "inspect/stack_namer.h"
#include "runtime/runtime.h"

#define MAX_PCS 64	   /* frames unwound for an await chain */
#define MAX_SPAWN_PCS 48   /* frames searched for a spawn's caller */
#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

struct stack_namer {
	struct unwinder *unwinder;
	struct symbolizer *symbolizer;
};

struct stack_namer *stack_namer__new(const struct binary *bin)
{
	struct stack_namer *n = calloc(1, sizeof(*n));
	int err;

	if (!n)
		return NULL;
	n->unwinder = unwinder__new(bin);
	n->symbolizer = n->unwinder ? symbolizer__new(bin) : NULL;
	if (!n->symbolizer) {
		err = errno;
		stack_namer__free(n);
		errno = err;
		return NULL;
	}
	return n;
}

void stack_namer__free(struct stack_namer *n)
{
	if (!n)
		return;
	unwinder__free(n->unwinder);
	symbolizer__free(n->symbolizer);
	free(n);
}

struct symbolizer *stack_namer__symbolizer(struct stack_namer *n)
{
	return n->symbolizer;
}

/* The probe's registers and the len bytes copied from sp up. */
static struct stack_snapshot snapshot(const struct aib_stack *st, const __u8 *bytes, size_t len)
{
	return (struct stack_snapshot){
		.bias = st->bias, .ip = st->ip, .sp = st->sp, .bp = st->bp, .stack = bytes, .len = len,
	};
}

/* ---- await chains ---- */

/* async fn bodies are closures to the demangler: drop those suffixes. */
static void strip_closures(char *s)
{
	static const char *const suffixes[] = {"::{{closure}}", "::{closure#0}", "::{async_fn#0}",
					       "::{async_block#0}"};
	bool again = true;

	while (again) {
		size_t len = strlen(s);

		again = false;
		for (size_t i = 0; i < NRULES(suffixes); i++) {
			size_t sl = strlen(suffixes[i]);

			if (len > sl && !strcmp(s + len - sl, suffixes[i])) {
				s[len - sl] = '\0';
				again = true;
				break;
			}
		}
	}
}

static void frame_from(struct await_frame *out, const struct sym_frame *f)
{
	snprintf(out->function, sizeof(out->function), "%s", f->function ? f->function : "");
	strip_closures(out->function);
	snprintf(out->file, sizeof(out->file), "%s", f->file ? f->file : "");
	out->line = f->line;
	out->col = f->col;
	out->library = f->library;
}

/* How the addresses of a chain are looked up: each a return address
 * (the first too, or not), or each already inside its instruction (a chain
 * recorded by address: "0x<vaddr>" names the looked-up address). */
enum chain_pcs { FIRST_IS_IP, ALL_RETURN, LOOKED_UP };

/* Name the frames of an unwound chain into out (method STACK): from the
 * program's innermost own frame out, runtime frames above the task's root
 * future dropped. */
static int describe(struct symbolizer *sym, const __u64 *pcs, int npcs, enum chain_pcs kind,
		    struct await_desc *out)
{
	struct await_frame inner[AWAIT_MAX_FRAMES];
	int n = 0, user = -1;

	for (int i = 0; i < npcs && n < AWAIT_MAX_FRAMES; i++) {
		struct sym_frame f[16];
		bool is_return = kind == ALL_RETURN || (kind == FIRST_IS_IP && i > 0);
		int nf = symbolizer__frames(sym, pcs[i], is_return, f, 16);

		for (int j = 0; j < nf && n < AWAIT_MAX_FRAMES; j++) {
			frame_from(&inner[n], &f[j]);
			if (user < 0 && !inner[n].library)
				user = n;
			n++;
		}
	}
	if (user < 0)
		return -ENOENT;
	/* the poll machinery above the task's root future is not the task's */
	while (n > user + 1 && inner[n - 1].library)
		n--;
	out->method = AIB_AWAIT_STACK;
	out->kind = await_site__classify(inner, n, out->detail, sizeof(out->detail));
	out->nframes = n;
	for (int i = 0; i < n; i++)
		out->frames[i] = inner[n - 1 - i];
	return 0;
}

int stack_namer__await(struct stack_namer *sn, const struct aib_await_stack *s,
		       struct await_desc *out)
{
	struct stack_snapshot snap = snapshot(&s->stack, s->bytes,
					      s->stack.len <= AIB_AWAIT_STACK_MAX ? s->stack.len
										  : AIB_AWAIT_STACK_MAX);
	__u64 pcs[MAX_PCS];
	int npcs = unwinder__unwind(sn->unwinder, &snap, pcs, MAX_PCS), err;

	memset(out, 0, sizeof(*out));
	err = describe(sn->symbolizer, pcs, npcs, FIRST_IS_IP, out);
	out->captured_ts = s->ts;
	return err;
}

/* How far into a blocked call's stack to look for the executable's frame
 * that called into libc: the C library's own frames are small. */
#define LIBC_FRAMES_MAX 2048

int stack_namer__blocked(struct stack_namer *sn, const struct aib_ev_blocked *e,
			 struct await_desc *out)
{
	const __u8 *bytes = (const __u8 *)(e + 1);
	struct stack_snapshot snap = snapshot(&e->stack, bytes, e->stack.len);
	__u64 pcs[MAX_PCS];
	int npcs = unwinder__unwind(sn->unwinder, &snap, pcs, MAX_PCS);
	bool returns = false;

	memset(out, 0, sizeof(*out));
	/* The syscall sits in the C library, which this unwinder does not
	 * read: the first word up the stack from which the executable unwinds
	 * is the return address of its call into libc. */
	for (size_t off = 0; npcs < 2 && off + 8 <= snap.len && off < LIBC_FRAMES_MAX; off += 8) {
		struct stack_snapshot from = snap;
		__u64 word;

		memcpy(&word, bytes + off, sizeof(word));
		from.ip = word;
		from.sp = snap.sp + off + 8;
		from.stack = bytes + off + 8;
		from.len = snap.len - off - 8;
		npcs = unwinder__unwind(sn->unwinder, &from, pcs, MAX_PCS);
		returns = true;
	}
	if (npcs < 1)
		return -ENOENT;
	out->captured_ts = e->hdr.ts;
	return describe(sn->symbolizer, pcs, npcs, returns ? ALL_RETURN : FIRST_IS_IP, out);
}

int stack_namer__rename_addresses(struct symbolizer *sym, struct await_desc *d)
{
	__u64 pcs[AWAIT_MAX_FRAMES];
	struct await_desc named;
	int n = 0;

	if (d->method != AIB_AWAIT_STACK || !d->nframes)
		return 0;
	/* recorded outermost first; the chain is innermost first */
	for (int i = d->nframes - 1; i >= 0; i--) {
		const struct await_frame *f = &d->frames[i];
		char *end;

		if (f->file[0] || strncmp(f->function, "0x", 2))
			return 0; /* a name already: not a stack recorded by address */
		pcs[n] = strtoull(f->function + 2, &end, 16);
		if (*end || end == f->function + 2)
			return 0;
		n++;
	}
	if (describe(sym, pcs, n, LOOKED_UP, &named))
		return 0; /* nothing of the program's own there: keep the addresses */
	named.captured_ts = d->captured_ts;
	named.joined_id = d->joined_id;
	named.deadline_ts = d->deadline_ts;
	*d = named;
	return 1;
}

/* ---- spawn sites ---- */

static bool in_loop(const struct sym_frame *f, const struct root_loop *loops);

struct passed {
	struct spawn_site *out;
	const struct spawn_kind *kinds;
};

/* A spawn through the blocking crate's pool passes its frames on the way
 * from the program's own code; one of a runtime's spawn functions that was
 * inlined into the program says its kind. */
static void note_kind(const struct sym_frame *f, void *ctx)
{
	struct passed *p = ctx;

	if ((f->function && !strncmp(f->function, "blocking::", 10)) ||
	    (f->file && strstr(f->file, "/blocking-") && strstr(f->file, "/src/")))
		p->out->flags |= AIB_SPAWN_BLOCKING;
	for (const struct spawn_kind *k = p->kinds; k && k->fn.path; k++) {
		const struct root_loop one[] = {k->fn, {NULL, NULL}};

		if (in_loop(f, one))
			p->out->flags |= k->flag;
	}
}

/* The frame is in one of the loops: by its path, or, an inlined frame
 * with a short name only, by that name and its library source file. */
static bool in_loop(const struct sym_frame *f, const struct root_loop *loops)
{
	for (; f->function && loops->path; loops++) {
		const char *name = strrchr(loops->path, ':') + 1;
		size_t len = strlen(loops->path), nlen = strlen(name), flen = strlen(loops->file);
		size_t have = f->file ? strlen(f->file) : 0;

		if (!strncmp(f->function, loops->path, len) &&
		    (!f->function[len] || f->function[len] == ':' || f->function[len] == '<'))
			return true;
		if (f->library && !strncmp(f->function, name, nlen) &&
		    (!f->function[nlen] || f->function[nlen] == '<') && have >= flen &&
		    !strcmp(f->file + have - flen, loops->file))
			return true;
	}
	return false;
}

bool stack_namer__in_runtime_loop(struct stack_namer *sn, const struct aib_stack *stack,
				  const __u8 *bytes, const struct root_loop *loops)
{
	struct stack_snapshot snap = snapshot(stack, bytes, stack->len);
	__u64 pcs[MAX_PCS];
	int n = unwinder__unwind(sn->unwinder, &snap, pcs, MAX_PCS);

	for (int i = 0; i < n; i++) {
		struct sym_frame f[16];
		int nf = symbolizer__frames(sn->symbolizer, pcs[i], i > 0, f, 16);

		for (int j = 0; j < nf; j++) {
			if (in_loop(&f[j], loops))
				return true;
			if (!f[j].library)
				return false;
		}
	}
	return false;
}

int stack_namer__loop_frame(struct stack_namer *sn, const struct aib_stack *stack,
			    const __u8 *bytes, const struct root_loop *loops, __u64 *entry_sp)
{
	struct stack_snapshot snap = snapshot(stack, bytes, stack->len);
	__u64 pcs[MAX_PCS], off = 0, word;
	int n = unwinder__unwind(sn->unwinder, &snap, pcs, MAX_PCS), outer = -1;

	for (int i = 0; i < n; i++) {
		struct sym_frame f[16];
		int nf = symbolizer__frames(sn->symbolizer, pcs[i], i > 0, f, 16);

		for (int j = 0; j < nf; j++)
			if (in_loop(&f[j], loops))
				outer = i;
	}
	if (outer < 0 || outer + 1 >= n)
		return -ENOENT;
	/* where each frame's return address sits, in order: the loop's
	 * function was entered with sp at the slot of pcs[outer + 1] */
	for (int k = 1; k <= outer + 1; k++) {
		for (; off + 8 <= stack->len; off += 8) {
			memcpy(&word, bytes + off, 8);
			if (word == pcs[k] + stack->bias)
				break;
		}
		if (off + 8 > stack->len)
			return -ENOENT;
		off += k <= outer ? 8 : 0;
	}
	*entry_sp = stack->sp + off;
	return 0;
}

int stack_namer__spawn(struct stack_namer *sn, const struct aib_stack *stack, const __u8 *bytes,
		       const struct spawn_kind *kinds, struct spawn_site *out)
{
	struct passed passed = {out, kinds};
	struct stack_snapshot snap = snapshot(stack, bytes, stack->len);
	__u64 pcs[MAX_SPAWN_PCS];
	struct sym_frame user;
	int n = unwinder__unwind(sn->unwinder, &snap, pcs, MAX_SPAWN_PCS);

	memset(out, 0, sizeof(*out));
	/* an address says nothing of where the program spawned: the first
	 * unnamed frame is the runtime's spawn function as likely */
	if (symbolizer__first_user_frame(sn->symbolizer, pcs, n, &user, note_kind, &passed) ||
	    user.by_address)
		return -ENOENT;
	snprintf(out->where, sizeof(out->where), "%s", user.file ? user.file : user.function);
	snprintf(out->function, sizeof(out->function), "%s", user.function ? user.function : "");
	out->line = user.line;
	out->col = user.col;
	return 0;
}
