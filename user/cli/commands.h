/* SPDX-License-Identifier: MIT */
/* The commands, one file each: each returns the process's exit status. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include "cli/options.h"

/* replay.c: `replay FILE` */
int command__replay(const struct options *o);
/* top.c: `top --replay FILE` (live top is command__live's) */
int command__top_replay(const struct options *o);
/* live.c: `--pid PID` / `attach` and `run -- CMD` (and test's per process) */
int command__live(const struct options *o);
/* test_run.c: `test -- CMD` */
int command__test(const struct options *o);
/* live.c: uprobes and BPF programs need root, or CAP_BPF with CAP_PERFMON */
bool command__may_trace(void);

#endif
