/* SPDX-License-Identifier: MIT */
/*
 * An awaitee that is not an async fn, explored for the future decoder (not
 * an API of its own): for an async fn inside it (the chain goes on), else
 * for the facts of the well-known leaves it holds.
 */
#ifndef FUTURE_AWAITEE_H
#define FUTURE_AWAITEE_H

#include <elfutils/libdw.h>
#include <linux/types.h>
#include <stdbool.h>

struct awaitee_explorer;
struct dwarf_types;
struct future_walk;

struct awaitee_found {
	bool future; /* an async fn's state machine inside: where */
	Dwarf_Off fut_type;
	__u64 fut_addr;
	bool has_deadline;
	__u64 deadline_ns; /* a tokio Sleep's */
	__u64 join_header; /* a tokio JoinHandle's task, else 0 */
	int fd;		   /* an OwnedFd's, else -1 */
};

/* Explores through types (borrowed). NULL: out of memory. */
struct awaitee_explorer *awaitee_explorer__new(struct dwarf_types *types);
void awaitee_explorer__free(struct awaitee_explorer *x);

/* The awaitee of type t at runtime address addr, within w's budget: *f. */
void awaitee_explorer__explore(struct awaitee_explorer *x, struct future_walk *w, Dwarf_Die *t,
			       __u64 addr, struct awaitee_found *f);

#endif
