// SPDX-License-Identifier: MIT
/*
 * async-inspect-bpf: see every task of an async Rust program, with no code
 * change. The command line, then one command (cli/commands.h); each stage
 * of the pipeline lives in its own folder under user/.
 */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "cli/commands.h"
#include "cli/outputs.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct options o;
	char err[512];

	switch (options__parse(&o, argc, argv, err, sizeof(err))) {
	case OPTIONS_RUN:
		break;
	case OPTIONS_HELP:
		fputs(options__usage(), stdout);
		return 0;
	case OPTIONS_VERSION:
		printf("async-inspect-bpf " AIB_VERSION "\n");
		return 0;
	default:
		cli__fail("%s", err);
		return EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	libbpf_set_print(o.verbose ? libbpf_print : NULL);
	if (o.top && o.cmd == CMD_REPLAY)
		return command__top_replay(&o);
	if (o.cmd == CMD_REPLAY)
		return command__replay(&o);
	if (o.cmd == CMD_TEST)
		return command__test(&o);
	return command__live(&o);
}
