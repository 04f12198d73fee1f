/* SPDX-License-Identifier: MIT */
/* The commands, one file each: each returns the process's exit status. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include "cli/options.h"

/* replay.c: `replay FILE` */
int command__replay(const struct options *o);
/* live.c: `--pid PID` / `attach` and `run -- CMD` */
int command__live(const struct options *o);

#endif
