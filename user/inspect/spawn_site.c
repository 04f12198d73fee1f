// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "inspect/spawn_site.h"
#include "binary/symbolizer.h"
#include "binary/unwinder.h"

#define MAX_FRAMES 48

struct spawn_sites {
	struct unwinder *unwinder;
	struct symbolizer *symbolizer;
};

struct spawn_sites *spawn_sites__new(const char *binary)
{
	struct spawn_sites *ss = calloc(1, sizeof(*ss));
	int err;

	if (!ss)
		return NULL;
	ss->unwinder = unwinder__new(binary);
	ss->symbolizer = ss->unwinder ? symbolizer__new(binary) : NULL;
	if (!ss->symbolizer) {
		err = errno;
		spawn_sites__free(ss);
		errno = err;
		return NULL;
	}
	return ss;
}

void spawn_sites__free(struct spawn_sites *ss)
{
	if (!ss)
		return;
	unwinder__free(ss->unwinder);
	symbolizer__free(ss->symbolizer);
	free(ss);
}

/* A spawn through the blocking crate's pool passes its frames on the way
 * from the program's own code. */
static void note_pool(const struct sym_frame *f, void *ctx)
{
	struct spawn_site *out = ctx;

	if ((f->function && !strncmp(f->function, "blocking::", 10)) ||
	    (f->file && strstr(f->file, "/blocking-") && strstr(f->file, "/src/")))
		out->flags |= AIB_SPAWN_BLOCKING;
}

int spawn_sites__resolve(struct spawn_sites *ss, const struct aib_stack *stack, const __u8 *bytes,
			 struct spawn_site *out)
{
	struct stack_snapshot snap = {
		.bias = stack->bias, .ip = stack->ip, .sp = stack->sp, .bp = stack->bp,
		.stack = bytes, .len = stack->len,
	};
	__u64 pcs[MAX_FRAMES];
	struct sym_frame user;
	int n = unwinder__unwind(ss->unwinder, &snap, pcs, MAX_FRAMES);

	memset(out, 0, sizeof(*out));
	if (symbolizer__first_user_frame(ss->symbolizer, pcs, n, &user, note_pool, out))
		return -ENOENT;
	snprintf(out->where, sizeof(out->where), "%s", user.file ? user.file : user.function);
	out->line = user.line;
	out->col = user.col;
	return 0;
}
