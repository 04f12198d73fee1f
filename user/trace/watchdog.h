/* SPDX-License-Identifier: MIT */
/*
 * A process that outlives us for as long as we keep a child of ours
 * stopped (SIGSTOP while the probes detach): should we die there, by
 * SIGKILL or a crash, nobody else would ever continue it. The watchdog
 * waits on a socket; our end closing without a word (we died) makes it
 * send the child SIGCONT, through a pidfd so that a recycled pid is never
 * signalled; a word from us (watchdog__stand_down) lets it go quietly.
 */
#ifndef WATCHDOG_H
#define WATCHDOG_H

#include <sys/types.h>

struct watchdog {
	pid_t pid;   /* the watchdog process; 0 when none */
	int sock;    /* our end */
};

/* Starts one for `child`; returns once it has let go of every other file
 * of ours (a BPF link it kept would keep the probes attached). 0 or -errno. */
int watchdog__start(struct watchdog *w, pid_t child);
/* We continue the child ourselves: the watchdog exits without a signal,
 * and is reaped. Harmless on one never started. */
void watchdog__stand_down(struct watchdog *w);

#endif
