// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record/await_site.h"
#include "inspect/await_stack.h"
#include "binary/symbolizer.h"
#include "binary/unwinder.h"

#define MAX_PCS 64
#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

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

struct await_sites {
	struct unwinder *unwinder;
	struct symbolizer *symbolizer;
};

struct await_sites *await_sites__new(const char *binary)
{
	struct await_sites *as = calloc(1, sizeof(*as));
	int err;

	if (!as)
		return NULL;
	as->unwinder = unwinder__new(binary);
	as->symbolizer = as->unwinder ? symbolizer__new(binary) : NULL;
	if (!as->symbolizer) {
		err = errno;
		await_sites__free(as);
		errno = err;
		return NULL;
	}
	return as;
}

void await_sites__free(struct await_sites *as)
{
	if (!as)
		return;
	unwinder__free(as->unwinder);
	symbolizer__free(as->symbolizer);
	free(as);
}

struct symbolizer *await_sites__symbolizer(struct await_sites *as)
{
	return as->symbolizer;
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

/* Name the frames of an unwound chain into out (method STACK): from the
 * program's innermost own frame out, runtime frames above the task's root
 * future dropped. pcs[0] is a return address too when `first_returns`. */
static int describe(struct await_sites *as, const __u64 *pcs, int npcs, bool first_returns,
		    struct await_desc *out)
{
	struct await_frame inner[AWAIT_MAX_FRAMES];
	int n = 0, user = -1;

	for (int i = 0; i < npcs && n < AWAIT_MAX_FRAMES; i++) {
		struct sym_frame f[16];
		int nf = symbolizer__frames(as->symbolizer, pcs[i], i > 0 || first_returns, f, 16);

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

int await_sites__from_stack(struct await_sites *as, const struct aib_await_stack *s,
			    struct await_desc *out)
{
	struct stack_snapshot snap = {
		.bias = s->stack.bias, .ip = s->stack.ip, .sp = s->stack.sp, .bp = s->stack.bp,
		.stack = s->bytes,
		.len = s->stack.len <= AIB_AWAIT_STACK_MAX ? s->stack.len : AIB_AWAIT_STACK_MAX,
	};
	__u64 pcs[MAX_PCS];
	int npcs = unwinder__unwind(as->unwinder, &snap, pcs, MAX_PCS), err;

	memset(out, 0, sizeof(*out));
	err = describe(as, pcs, npcs, false, out);
	out->captured_ts = s->ts;
	return err;
}

/* How far into a blocked call's stack to look for the executable's frame
 * that called into libc: the C library's own frames are small. */
#define LIBC_FRAMES_MAX 2048

int await_sites__from_blocked(struct await_sites *as, const struct aib_ev_blocked *e,
			      struct await_desc *out)
{
	const __u8 *bytes = (const __u8 *)(e + 1);
	struct stack_snapshot snap = {
		.bias = e->stack.bias, .ip = e->stack.ip, .sp = e->stack.sp, .bp = e->stack.bp,
		.stack = bytes, .len = e->stack.len,
	};
	__u64 pcs[MAX_PCS];
	int npcs = unwinder__unwind(as->unwinder, &snap, pcs, MAX_PCS);
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
		npcs = unwinder__unwind(as->unwinder, &from, pcs, MAX_PCS);
		returns = true;
	}
	if (npcs < 1)
		return -ENOENT;
	out->captured_ts = e->hdr.ts;
	return describe(as, pcs, npcs, returns, out);
}
