// SPDX-License-Identifier: MIT
/*
 * seek_bench: what stepping back costs in a long recording (`make bench`,
 * section 7), with the replay cursor's checkpoints and without:
 *
 *   seek_bench FILE [--every N] [--max-bytes MB] [--none]
 *
 * Opens FILE (one pass, checkpoints on the way: its time, how many were
 * kept and their bytes), then, from the end, seeks back to 90%, 50%, 10%
 * of the trace's time, and steps back from 50% in 10 steps of 1% (each
 * from where the last left off), printing each time. --none: no
 * checkpoint but the empty model, so every seek back replays from the
 * start. Times are printed, never asserted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/task_model.h"
#include "session/replay_cursor.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One seek: its time in ms, and the tasks of the model it gave. */
static double seek(struct replay_cursor *c, __u64 ts, size_t *tasks)
{
	struct task_model *m;
	double t0 = now_s(), t1;
	int err = replay_cursor__seek(c, ts, &m);

	t1 = now_s();
	if (err) {
		fprintf(stderr, "seek_bench: seek: %s\n", strerror(-err));
		exit(1);
	}
	*tasks = task_model__task_count(m);
	task_model__free(m);
	return (t1 - t0) * 1e3;
}

int main(int argc, char **argv)
{
	struct replay_cursor_opts o;
	struct replay_cursor *c;
	__u64 first, last, span;
	double t0, t1, ms;
	size_t tasks;

	if (argc < 2) {
		fprintf(stderr, "usage: seek_bench FILE [--every N] [--max-bytes MB] [--none]\n");
		return 2;
	}
	replay_cursor_opts__default(&o);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--none"))
			o.every_records = 0;
		else if (i + 1 < argc && !strcmp(argv[i], "--every"))
			o.every_records = strtoull(argv[++i], NULL, 10);
		else if (i + 1 < argc && !strcmp(argv[i], "--max-bytes"))
			o.max_bytes = (size_t)strtoull(argv[++i], NULL, 10) << 20;
		else
			return fprintf(stderr, "seek_bench: unknown argument %s\n", argv[i]), 2;
	}
	t0 = now_s();
	c = replay_cursor__open(argv[1], &o);
	t1 = now_s();
	if (!c)
		return fprintf(stderr, "seek_bench: %s: %s\n", argv[1], strerror(errno)), 1;
	first = replay_cursor__first_ts(c);
	last = replay_cursor__last_ts(c);
	span = last - first;
	printf("open: %.2f s, %llu records, %zu checkpoints, %.1f MB in checkpoints\n", t1 - t0,
	       (unsigned long long)replay_cursor__records(c), replay_cursor__checkpoints(c),
	       replay_cursor__checkpoint_bytes(c) / 1048576.0);
	for (int pct = 90; pct >= 10; pct -= 40) {
		seek(c, last, &tasks); /* from the end, each time */
		ms = seek(c, first + span / 100 * pct, &tasks);
		printf("seek back from the end to %d%%: %.1f ms (%zu tasks)\n", pct, ms, tasks);
	}
	seek(c, first + span / 2, &tasks);
	ms = 0;
	for (int k = 1; k <= 10; k++)
		ms += seek(c, first + span / 100 * (50 - k), &tasks);
	printf("10 steps back of 1%% from 50%%: %.1f ms each (%zu tasks)\n", ms / 10, tasks);
	ms = 0;
	for (int k = 1; k <= 10; k++)
		ms += seek(c, first + span / 100 * 40 + span / 1000 * k, &tasks);
	printf("10 steps forward of 0.1%% from 40%%: %.1f ms each\n", ms / 10);
	replay_cursor__free(c);
	return 0;
}
