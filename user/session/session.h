/* SPDX-License-Identifier: MIT */
/*
 * The live record pipeline: each ring-buffer sample is validated, enriched
 * with what only user space can know while the target lives (spawn location
 * strings from the ELF, thread names from /proc), written to the recording,
 * applied to the model, then handed to the exports. A replay applies the
 * recorded stream directly, so both give the same model and exports.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stddef.h>
#include <stdbool.h>
#include "aib_events.h"

struct task_model;
struct recording_writer;
struct binary;
struct export_set;
struct u64_map;
struct stack_namer;

struct session_opts {
	struct task_model *model;
	struct recording_writer *recording; /* may be NULL */
	const struct binary *binary;	    /* the traced executable: location strings */
	int pid;			    /* for thread names */
	bool launched;			    /* started by us: its first exec is its launch */
	struct export_set *exports;	    /* fed each record after the model; may be NULL */
	/* lock probe site (ELF vaddr) -> enum aib_lock_kind; may be NULL */
	const struct u64_map *lock_kinds;
	/* name the stacks of spawns (async-task) and of blocking syscalls; may
	 * be NULL (then the spawn is unresolved, the syscall unnamed) */
	struct stack_namer *spawn_stacks;
	struct stack_namer *blocked_stacks;
	/* The BPF side asks for a probe at a return address (ELF vaddr). */
	int (*add_return_site)(__u64 vaddr, enum aib_probe probe, void *ctx);
	void *ctx;
};

struct session;

struct session *session__new(const struct session_opts *opts);
void session__free(struct session *s);
/* tracer_sample_fn: one raw sample from the ring buffer */
int session__on_sample(const void *data, size_t size, void *ctx);
/* A record made in user space (process, losses, end): recorded and applied. */
int session__emit(struct session *s, const struct aib_hdr *rec);
__u64 session__invalid_samples(const struct session *s);
/* When the target exec'd (AIB_EV_EXEC, recorded; later samples are the
 * new image's and dropped), or 0. */
__u64 session__exec_ts(const struct session *s);
/* Spawn stacks in which no frame of the program's own code was found. */
__u64 session__unresolved_spawns(const struct session *s);
/* First error that stopped the recording (e.g. -ENOSPC), or 0. */
int session__recording_error(const struct session *s);

#endif
