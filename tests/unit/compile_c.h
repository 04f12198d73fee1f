/* SPDX-License-Identifier: MIT */
/* C source compiled by the tests into a temporary executable, so that its
 * machine code and data are exactly what a test needs. Include after
 * cmocka.h. */
#ifndef TEST_COMPILE_C_H
#define TEST_COMPILE_C_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Compiles src with cc's flags into a temporary executable named in exe;
 * false if the compiler refuses them (an older linker). The test is
 * skipped when there is no compiler. */
static bool compile_c(const char *src, const char *flags, char *exe, size_t len)
{
	char cpath[] = "/tmp/aib_test_src_XXXXXX", cmd[PATH_MAX * 2 + 256];
	int fd, rc;

	if (system("command -v cc >/dev/null 2>&1") != 0) {
		fprintf(stderr, "no C compiler: test skipped\n");
		skip();
	}
	fd = mkstemp(cpath);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
	close(fd);
	snprintf(exe, len, "%s.bin", cpath);
	snprintf(cmd, sizeof(cmd), "cc -x c -O0 %s -o %s %s 2>/dev/null", flags, exe, cpath);
	rc = system(cmd);
	unlink(cpath);
	return rc == 0;
}

#endif
