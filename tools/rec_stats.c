// SPDX-License-Identifier: MIT
/*
 * rec_stats FILE: count a recording's records by kind, for the benchmark's
 * "probe hits per poll" (tools/bench.sh). Every BPF record is one probe hit
 * (a return probe that finds no frame, or a spawn-id probe with no spawn
 * call to check, sends nothing: neither happens in a `run` session of the
 * benchmark's workloads). Wakes are split by probe, because the probes' first
 * instructions differ in price (the kernel emulates some, single-steps
 * others). One line on stdout:
 *
 *   rec_stats: records=N bpf=N spawn=N spawn_id=N poll_begin=N poll_end=N
 *     wake_by_val=N wake_by_ref=N shutdown=N dealloc=N worker_start=N user=N
 *
 * Exit 0, or 1 if the file cannot be read (a recording cut short is counted
 * up to its last whole record, with a warning).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "record/decoder.h"
#include "record/recording.h"

int main(int argc, char **argv)
{
	unsigned long long kinds[AIB_KIND_MAX] = {0}, by_val = 0, by_ref = 0, records = 0, bpf = 0;
	struct recording_reader *r;
	const struct aib_hdr *rec;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: rec_stats FILE\n");
		return 2;
	}
	r = recording_reader__open(argv[1]);
	if (!r) {
		fprintf(stderr, "rec_stats: cannot read %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((ret = recording_reader__next(r, &rec)) == 1) {
		records++;
		if (rec->kind < AIB_KIND_MAX)
			kinds[rec->kind]++;
		if (rec->kind < AIB_REC_FIRST)
			bpf++;
		if (rec->kind == AIB_EV_WAKE) {
			if (aib_as_wake(rec)->how == AIB_WAKE_BY_REF)
				by_ref++;
			else
				by_val++;
		}
	}
	if (ret < 0) {
		fprintf(stderr, "rec_stats: %s: %s\n", argv[1], recording_reader__problem(r));
		recording_reader__free(r);
		return 1;
	}
	if (recording_reader__truncated(r))
		fprintf(stderr, "rec_stats: warning: %s: %s\n", argv[1], recording_reader__problem(r));
	printf("rec_stats: records=%llu bpf=%llu spawn=%llu spawn_id=%llu poll_begin=%llu "
	       "poll_end=%llu wake_by_val=%llu wake_by_ref=%llu shutdown=%llu dealloc=%llu "
	       "worker_start=%llu user=%llu\n",
	       records, bpf, kinds[AIB_EV_SPAWN], kinds[AIB_EV_SPAWN_ID], kinds[AIB_EV_POLL_BEGIN],
	       kinds[AIB_EV_POLL_END], by_val, by_ref, kinds[AIB_EV_SHUTDOWN], kinds[AIB_EV_DEALLOC],
	       kinds[AIB_EV_WORKER_START], records - bpf);
	recording_reader__free(r);
	return 0;
}
