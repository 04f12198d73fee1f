// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spawn_site.h"
#include "symbolizer.h"
#include "unwinder.h"

#define MAX_FRAMES 48
#define MAX_INLINE 16

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

/* The blocking crate's pool: its frames sit between the program and the
 * task's creation. */
static bool is_blocking_pool(const struct sym_frame *f)
{
	return (f->function && !strncmp(f->function, "blocking::", 10)) ||
	       (f->file && strstr(f->file, "/blocking-") && strstr(f->file, "/src/"));
}

int spawn_sites__resolve(struct spawn_sites *ss, const struct aib_stack *stack, const __u8 *bytes,
			 struct spawn_site *out)
{
	struct stack_snapshot snap = {
		.bias = stack->bias, .ip = stack->ip, .sp = stack->sp, .bp = stack->bp,
		.stack = bytes, .len = stack->len,
	};
	__u64 pcs[MAX_FRAMES];
	struct sym_frame frames[MAX_INLINE];
	int n = unwinder__unwind(ss->unwinder, &snap, pcs, MAX_FRAMES);

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		int nf = symbolizer__frames(ss->symbolizer, pcs[i], i > 0, frames, MAX_INLINE);

		for (int k = 0; k < nf; k++) {
			const struct sym_frame *f = &frames[k];

			if (f->library) {
				if (is_blocking_pool(f))
					out->flags |= AIB_SPAWN_BLOCKING;
				if (f->function)
					snprintf(out->where, sizeof(out->where), "%s", f->function);
				continue;
			}
			snprintf(out->where, sizeof(out->where), "%s", f->file ? f->file : f->function);
			out->line = f->line;
			out->col = f->col;
			return 0;
		}
	}
	return -ENOENT;
}
