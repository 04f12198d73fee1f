/* SPDX-License-Identifier: MIT */
/*
 * The tokio locks of a parked future, for the future decoder (not an API of
 * its own: future_decoder__tokio_locks is): the guards and permits the async
 * fns of its chain hold, the Acquire its leaf awaits. One task at a time:
 * begin, then each frame of the chain outermost first, then its leaf, then
 * end.
 */
#ifndef FUTURE_LOCKS_H
#define FUTURE_LOCKS_H

#include <elfutils/libdw.h>
#include <linux/types.h>

/* what a task's walk may spend more on its locks */
#define FUTURE_LOCKS_NODES 2048
#define FUTURE_LOCKS_READS 256

struct dwarf_types;
struct enum_variant;
struct future_lock;
struct future_locks;
struct future_walk;

/* Reads through types (borrowed). NULL: out of memory. */
struct future_locks *future_locks__new(struct dwarf_types *types);
void future_locks__free(struct future_locks *fl);

/* A task: its locks go to out, at most max (max >= 0); the semaphores'
 * permit words hold the free permits << permit_shift (struct lock_layout). */
void future_locks__begin(struct future_locks *fl, unsigned permit_shift, struct future_lock *out,
			 int max);
/* An async fn of the chain (function: its path): its state machine env at
 * runtime address addr, in variant v. */
void future_locks__frame(struct future_locks *fl, struct future_walk *w, const char *function,
			 Dwarf_Die *env, __u64 addr, const struct enum_variant *v);
/* The chain's leaf awaitee, of type t at addr. */
void future_locks__leaf(struct future_locks *fl, struct future_walk *w, Dwarf_Die *t, __u64 addr);
/* How many locks the task's are in out (the waited one last). */
int future_locks__end(struct future_locks *fl);

#endif
