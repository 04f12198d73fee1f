// SPDX-License-Identifier: MIT
/* The command line parser on argv split from the input at its NUL bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli/options.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2], err[256], captures[128];
	struct options o;
	int argc = 1, ret;
	size_t i = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "async-inspect-bpf";
	while (i <= size && argc <= MAX_ARGS) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	memset(&o, 0, sizeof(o));
	memset(err, 'x', sizeof(err));
	ret = options__parse(&o, argc, argv, err, sizeof(err));
	if (ret == OPTIONS_RUN)
		options__captures(&o, captures, sizeof(captures));
	/* the contract: a result it documents; a usage error says why, in err */
	else if (ret != OPTIONS_HELP && ret != OPTIONS_VERSION &&
		 (ret != -EINVAL || !memchr(err, '\0', sizeof(err)) || !err[0]))
		abort();
	free(buf);
	return 0;
}
