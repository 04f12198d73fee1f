/* SPDX-License-Identifier: MIT */
/*
 * The command line, parsed into a struct: no printing, no exit, so every
 * flag and every usage error is unit-tested without root.
 */
#ifndef CLI_OPTIONS_H
#define CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "export/exporter.h"

#define AIB_VERSION "0.1.0"

/* Exit statuses: the command's own (run) or one of these. */
enum {
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_DEADLOCK = 3, /* --fail-on-deadlock found one */
	EXIT_HANG = 4,	   /* test --fail-on-hang: a test hung */
};

enum command { CMD_ATTACH, CMD_RUN, CMD_REPLAY, CMD_TEST };

#define DEFAULT_TEST_OUTPUT "async-inspect-trace"

struct options {
	enum command cmd;
	int pid;
	double duration;	/* seconds; 0 = until the target exits or Ctrl-C */
	const char *json;	/* "-" = stdout, then no text report */
	const char *record;
	const char *replay;	/* the recording to replay */
	bool top;		/* `top`: the live view (cmd ATTACH, RUN, or REPLAY for --replay) */
	size_t max_tasks;	/* rows in the task table; 0 = all */
	size_t ringbuf_mb;	/* each CPU's ring buffer */
	__u64 stuck_after_ns;
	bool all_frames;
	bool fail_on_deadlock;
	bool locks;		/* optional capture: tokio's locks */
	__u64 blocking_min_ns;	/* optional capture: syscalls inside polls this long; 0 = off */
	bool verbose;
	const char *debuginfo;	/* the target's separate debug file (live, test) */
	char **argv;		/* run, test: the command */
	/* test: a test running this long is hung; then its process's report
	 * and files go to output_dir, and the process is ended */
	__u64 hang_timeout_ns;
	bool fail_on_hang;
	const char *output_dir;
	/* a session `test` started on one process of its tree, stopped at its
	 * exec: continued once attached, quiet unless it hangs or deadlocks */
	bool test_child;
	struct export_opts exports;
};

/* What options__parse found besides options to run with. */
enum options_result {
	OPTIONS_RUN = 0,
	OPTIONS_HELP = 1,    /* print options__usage() to stdout, exit 0 */
	OPTIONS_VERSION = 2, /* print the version, exit 0 */
};

/* Parses argv into *o. Returns an enum options_result, or -EINVAL with a
 * one-line message (no trailing newline) in err. */
int options__parse(struct options *o, int argc, char **argv, char *err, size_t errlen);
const char *options__usage(void);

/* "2s", "500ms", "1.5", "3m" (no unit: seconds) -> ns; -EINVAL if not one. */
int options__parse_duration(const char *s, __u64 *ns);

/* "optional captures: locks, blocking syscalls >= 1.00ms" into buf, or a
 * constant when there are none; the start-up line shows it. */
const char *options__captures(const struct options *o, char *buf, size_t len);

#endif
