/* SPDX-License-Identifier: MIT */
/*
 * A process tree followed through its execs (bpf/follow.bpf.c): every
 * process started under the root one, at any depth, is stopped as it
 * exec's a program and handed to a callback, which continues it (SIGCONT)
 * once it has attached what it wants, or at once.
 */
#ifndef FOLLOWER_H
#define FOLLOWER_H

#include <linux/types.h>

struct follower;

/* The BPF side loaded and attached: NULL + errno, `why` says. */
struct follower *follower__open(char *why, size_t why_len);
void follower__free(struct follower *f);
/* Follow pid and everything it starts from now on. 0 or -errno. */
int follower__add(struct follower *f, int pid);
/* Wait up to timeout_ms for execs; each one's process is stopped and
 * given to on_exec (pid, parent's pid). The number handled, or -errno. */
int follower__poll(struct follower *f, int timeout_ms,
		   void (*on_exec)(int pid, int ppid, void *ctx), void *ctx);
/* Execs not reported (their processes ran untraced). */
__u64 follower__lost(const struct follower *f);

#endif
