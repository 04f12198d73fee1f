/* SPDX-License-Identifier: MIT */
/*
 * Spawn locations as the records give them: a file (by the address of its
 * name in the target, defined once by an AIB_REC_LOCATION record) with a
 * line and column, interned as one "file:line:col" string each, so tasks
 * share it and compare locations by pointer.
 */
#ifndef LOCATION_TABLE_H
#define LOCATION_TABLE_H

#include <linux/types.h>
#include "aib_events.h"

struct location_table;

struct location_table *location_table__new(void); /* NULL + ENOMEM */
void location_table__free(struct location_table *t);
/* The name of the file at r->file_addr (the first definition stays): 0 or -ENOMEM. */
int location_table__define_file(struct location_table *t, const struct aib_rec_location *r);
/* "file:line:col" ("file:line" without a column, "file" without a line;
 * "<file@0x..>" for a file never defined), living as long as the table;
 * NULL when out of memory. */
const char *location_table__intern(struct location_table *t, __u64 file_addr, __u32 line,
				   __u32 col);

/* A copy with strings of its own; NULL when out of memory. */
struct location_table *location_table__clone(const struct location_table *t);
/* The string of `copy` (a clone of t, or of a clone of t) for the string
 * `loc` of t: records of a copied model point into their own table, so a
 * model outlives the one it was copied from. NULL for NULL or a string t
 * never interned. */
const char *location_table__translate(const struct location_table *t,
				      const struct location_table *copy, const char *loc);
size_t location_table__bytes(const struct location_table *t); /* owned bytes */

#endif
