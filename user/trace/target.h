/* SPDX-License-Identifier: MIT */
/*
 * The traced process: either one we start (held before exec so probes are in
 * place before its first instruction) or one already running.
 */
#ifndef TARGET_H
#define TARGET_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include "trace/watchdog.h"

struct target {
	int pid;
	bool ours;	     /* started by us: we reap it and forward its status */
	int release_fd;	     /* write end of the pipe the child waits on */
	bool exited;
	int status;	     /* wait status once exited (ours only) */
	char exe[PATH_MAX];  /* the file probes attach to */
	char name[PATH_MAX]; /* for messages */
	struct watchdog watchdog; /* while we keep our child stopped */
};

/* Fork a child that waits until target__release() before exec'ing argv.
 * -ENOENT / -EACCES when argv[0] cannot be run (checked before forking). */
int target__launch(struct target *t, char *const argv[]);
/* The same, its output (stdout and stderr) into output_fd and its input
 * from /dev/null, when output_fd >= 0: the terminal is the tool's (`top`). */
int target__launch_into(struct target *t, char *const argv[], int output_fd);
int target__release(struct target *t);
/* An existing process: 0, or -ESRCH if there is none, -EACCES if
 * /proc/PID/exe cannot be read, or one of these refusals: */
#define TARGET_THREAD (-EINVAL)	  /* pid is a thread of process t->pid: give that */
#define TARGET_ZOMBIE (-ECHILD)	  /* it has exited; its parent has not reaped it */
#define TARGET_KTHREAD (-ENOEXEC) /* a kernel thread: no program to probe */
int target__attach(struct target *t, int pid);
/* Has it exited? Reaps our own child. */
bool target__gone(struct target *t);
/* SIGSTOP a child we started that is still running (target__terminate
 * continues it), under a watchdog that continues it should we die first
 * (without one, it is not stopped); other processes are never stopped. */
void target__pause(struct target *t);
/* Stop a child we started that is still running: SIGTERM (and SIGCONT),
 * then SIGKILL after grace_ms; its watchdog stands down. */
void target__terminate(struct target *t, int grace_ms);
/* SIGKILL process pid and every process under it (a hung test process
 * and the processes it started): how many were signalled. */
int target__kill_tree(pid_t pid);
/* Exit code to pass on for a child that exited: its status, or 128 + signal. */
int target__exit_code(const struct target *t);

#endif
