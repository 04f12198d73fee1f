/* SPDX-License-Identifier: MIT */
/* A binary's copy stripped of every symbol (`objcopy --strip-all`), opened
 * for a test. Include after cmocka.h. */
#ifndef TEST_STRIPPED_COPY_H
#define TEST_STRIPPED_COPY_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "binary/binary.h"
#include "binary/elf_symbols.h"

/* The copy of path, opened; the file is gone once opened. */
static struct binary *stripped(const char *path)
{
	char out[] = "/tmp/aib_strip_XXXXXX", cmd[PATH_MAX * 2 + 64];
	struct binary *bin;
	int fd = mkstemp(out);

	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "objcopy --strip-all '%s' %s", path, out);
	assert_int_equal(system(cmd), 0);
	bin = binary__open(out);
	unlink(out);
	assert_non_null(bin);
	assert_false(elf_symbols__has_symtab(binary__symbols(bin)));
	return bin;
}

#endif
