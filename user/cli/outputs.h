/* SPDX-License-Identifier: MIT */
/*
 * What every command writes at its end, in one place: the text report or
 * JSON, the exports, and the one-line errors on stderr.
 */
#ifndef CLI_OUTPUTS_H
#define CLI_OUTPUTS_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "cli/options.h"

struct task_model;
struct deadlock_finder;
struct export_set;

/* "async-inspect-bpf: <message>" on stderr; returns EXIT_ERROR. */
int cli__fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a warning, which changes no exit status. */
void cli__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exports asked for, or NULL after saying why one cannot be written. */
struct export_set *outputs__open_exports(const struct options *o);
/* Finish them (s may be NULL): 0, or EXIT_ERROR after saying why. */
int outputs__finish_exports(struct export_set *s, const struct task_model *m);
/* The --json file, opened (created) before the session starts, so that an
 * unwritable path fails at once, not after the whole session: 0 and *json
 * (NULL without --json, stdout for '-'), or EXIT_ERROR after saying why. */
int outputs__open_json(const struct options *o, FILE **json);
/* Closes it unwritten (a session that failed); json may be NULL. */
void outputs__close_json(FILE *json);
/* The text report into `text` (stdout; NULL: none; not when the JSON goes
 * there) and the JSON into `json` (from open_json; closed here), after the
 * model finished: 0, or EXIT_ERROR after saying why. `replay`: an unknown
 * end is a cut recording. */
int outputs__write(const struct task_model *m, const struct deadlock_finder *df,
		   const struct options *o, bool replay, FILE *text, FILE *json);

#endif
