/* SPDX-License-Identifier: MIT */
/* The fixture programs' builds (`make programs`) a test checks one by one,
 * each skipped when not built. Include after cmocka.h. */
#ifndef TEST_FIXTURE_BUILDS_H
#define TEST_FIXTURE_BUILDS_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* tests/programs/target/release, or $AIB_PROGRAMS */
static const char *programs_dir(void)
{
	const char *dir = getenv("AIB_PROGRAMS");

	return dir ? dir : "tests/programs/target/release";
}

/* check() on each of paths that exists; none: the test is skipped. */
static void check_fixtures(const char *const *paths, int n, const char *what,
			   void (*check)(const char *path))
{
	int tried = 0;

	for (int i = 0; i < n; i++)
		if (!access(paths[i], R_OK)) {
			check(paths[i]);
			tried++;
		}
	if (!tried) {
		fprintf(stderr, "no %s fixture (`make programs`): test skipped\n", what);
		skip();
	}
}

/* The same for every <programs_dir>/<dir>/<variant>/release/<bin> (the
 * matrix's and await's builds). */
static void check_variants(const char *dir, const char *bin, void (*check)(const char *path))
{
	static char paths[32][PATH_MAX + 512];
	const char *p[32];
	char root[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(root, sizeof(root), "%s/%s", programs_dir(), dir);
	d = opendir(root);
	while (d && (e = readdir(d)) && n < 32) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(paths[n], sizeof(paths[n]), "%s/%s/release/%s", root, e->d_name, bin);
		p[n] = paths[n];
		n++;
	}
	if (d)
		closedir(d);
	check_fixtures(p, n, bin, check);
}

#endif
