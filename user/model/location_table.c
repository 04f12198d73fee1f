// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/array.h"
#include "lib/u64_map.h"
#include "model/location_table.h"

/* An interned "file:line:col" */
struct location {
	__u64 file_addr;
	__u32 line, col;
	char *text;
};

struct location_table {
	struct u64_map *files; /* file_addr -> index in file_names */
	char **file_names;
	size_t nfiles, files_cap;

	struct location *locs;
	size_t nlocs, locs_cap;
	struct u64_map *loc_by_key; /* mixed key -> first index with that key */
	struct u64_map *loc_by_text; /* the interned string's address -> its index */
	size_t text_bytes;
};

struct location_table *location_table__new(void)
{
	struct location_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->files = u64_map__new();
	t->loc_by_key = u64_map__new();
	t->loc_by_text = u64_map__new();
	if (!t->files || !t->loc_by_key || !t->loc_by_text) {
		location_table__free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void location_table__free(struct location_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->file_names[i]);
	free(t->file_names);
	for (size_t i = 0; i < t->nlocs; i++)
		free(t->locs[i].text);
	free(t->locs);
	u64_map__free(t->files);
	u64_map__free(t->loc_by_key);
	u64_map__free(t->loc_by_text);
	free(t);
}

const char *location_table__intern(struct location_table *t, __u64 file_addr, __u32 line,
				   __u32 col)
{
	__u64 key = file_addr * 0x100000001b3ULL ^ ((__u64)line << 20) ^ col;
	__u32 idx, fidx;
	char buf[64];
	const char *file;
	struct location *l;

	if (u64_map__get(t->loc_by_key, key, &idx)) {
		l = &t->locs[idx];
		if (l->file_addr == file_addr && l->line == line && l->col == col)
			return l->text;
		/* a key collision: fall back to a scan */
		for (size_t i = 0; i < t->nlocs; i++) {
			l = &t->locs[i];
			if (l->file_addr == file_addr && l->line == line && l->col == col)
				return l->text;
		}
	}
	if (u64_map__get(t->files, file_addr, &fidx)) {
		file = t->file_names[fidx];
	} else {
		snprintf(buf, sizeof(buf), "<file@0x%llx>", (unsigned long long)file_addr);
		file = buf;
	}
	if (array__grow((void **)&t->locs, &t->locs_cap, t->nlocs + 1, sizeof(*t->locs)))
		return NULL;
	l = &t->locs[t->nlocs];
	*l = (struct location){.file_addr = file_addr, .line = line, .col = col};
	/* DWARF-resolved locations may lack a column, symbol-only ones a line */
	if ((!line ? asprintf(&l->text, "%s", file)
	     : !col ? asprintf(&l->text, "%s:%u", file, line)
		    : asprintf(&l->text, "%s:%u:%u", file, line, col)) < 0)
		return NULL;
	if (u64_map__set(t->loc_by_text, (uintptr_t)l->text, (__u32)t->nlocs)) {
		free(l->text);
		return NULL;
	}
	if (!u64_map__get(t->loc_by_key, key, NULL))
		u64_map__set(t->loc_by_key, key, (__u32)t->nlocs);
	t->text_bytes += strlen(l->text) + 1;
	t->nlocs++;
	return l->text;
}

int location_table__define_file(struct location_table *t, const struct aib_rec_location *r)
{
	char *text;

	if (u64_map__get(t->files, r->file_addr, NULL))
		return 0;
	if (array__grow((void **)&t->file_names, &t->files_cap, t->nfiles + 1, sizeof(*t->file_names)))
		return -ENOMEM;
	text = strndup(r->text, r->len);
	if (!text)
		return -ENOMEM;
	t->file_names[t->nfiles] = text;
	if (u64_map__set(t->files, r->file_addr, (__u32)t->nfiles)) {
		free(text);
		return -ENOMEM;
	}
	t->nfiles++;
	return 0;
}

struct location_table *location_table__clone(const struct location_table *t)
{
	struct location_table *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->files = u64_map__clone(t->files);
	c->loc_by_key = u64_map__clone(t->loc_by_key);
	c->loc_by_text = u64_map__new();
	c->file_names = calloc(t->nfiles ? t->nfiles : 1, sizeof(*c->file_names));
	c->locs = calloc(t->nlocs ? t->nlocs : 1, sizeof(*c->locs));
	c->files_cap = t->nfiles ? t->nfiles : 1;
	c->locs_cap = t->nlocs ? t->nlocs : 1;
	if (!c->files || !c->loc_by_key || !c->loc_by_text || !c->file_names || !c->locs)
		goto fail;
	for (; c->nfiles < t->nfiles; c->nfiles++)
		if (!(c->file_names[c->nfiles] = strdup(t->file_names[c->nfiles])))
			goto fail;
	/* same indexes as t: translate() goes through them */
	while (c->nlocs < t->nlocs) {
		struct location *l = &c->locs[c->nlocs];

		*l = t->locs[c->nlocs];
		if (!(l->text = strdup(l->text)))
			goto fail;
		c->nlocs++; /* its text is the table's to free from here */
		if (u64_map__set(c->loc_by_text, (uintptr_t)l->text, (__u32)(c->nlocs - 1)))
			goto fail;
	}
	c->text_bytes = t->text_bytes;
	return c;
fail:
	location_table__free(c);
	return NULL;
}

const char *location_table__translate(const struct location_table *t,
				      const struct location_table *copy, const char *loc)
{
	__u32 idx;

	if (!loc || !u64_map__get(t->loc_by_text, (uintptr_t)loc, &idx) || idx >= copy->nlocs)
		return NULL;
	return copy->locs[idx].text;
}

size_t location_table__bytes(const struct location_table *t)
{
	size_t n = sizeof(*t) + u64_map__bytes(t->files) + u64_map__bytes(t->loc_by_key) +
		   u64_map__bytes(t->loc_by_text) + t->files_cap * sizeof(*t->file_names) +
		   t->locs_cap * sizeof(*t->locs) + t->text_bytes;

	for (size_t i = 0; i < t->nfiles; i++)
		n += strlen(t->file_names[i]) + 1;
	return n;
}
