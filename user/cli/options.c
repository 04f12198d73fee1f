// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/options.h"
#include "report/report.h"

/* --blocking: a syscall this long inside a poll stalls the worker's other tasks */
#define DEFAULT_BLOCKING_NS 1000000ULL
/* The kernel's ring-buffer size is a power of two in a 32-bit byte count:
 * 4096 MiB is 2^32, which wraps to 0. */
#define MAX_RINGBUF_MB 2048
/* A session's --duration, in seconds: far beyond any session, and its ns
 * fit a __u64 (2^64 ns is 584 years). */
#define MAX_DURATION_S 1e9
/* test: a test hangs after this long without --timeout */
#define DEFAULT_TEST_TIMEOUT_NS 60000000000ULL

static const char usage[] =
	"Usage: async-inspect-bpf --pid PID [OPTIONS]           attach to a running process\n"
	"       async-inspect-bpf attach --pid PID [OPTIONS]    the same\n"
	"       async-inspect-bpf run [OPTIONS] -- CMD [ARGS...] start CMD under inspection\n"
	"       async-inspect-bpf replay FILE [--json FILE] [--debuginfo FILE] [EXPORTS]\n"
	"                                                       report on a recording (no root)\n"
	"       async-inspect-bpf test [TEST OPTIONS] -- CMD [ARGS...]  find hung tests (CI)\n"
	"       async-inspect-bpf top --pid PID [OPTIONS]        the live task view (ncurses)\n"
	"       async-inspect-bpf top [OPTIONS] -- CMD [ARGS...] the same, on a command it starts\n"
	"       async-inspect-bpf top --replay FILE              a recording in that view, with a clock\n"
	"\n"
	"Shows every task of a tokio program: where it was spawned, its state, polls, busy,\n"
	"idle and scheduling-delay times, and who woke it. Runs until Ctrl-C, --duration,\n"
	"or the target exits, then prints the report. A second Ctrl-C quits at once.\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID         process to attach to\n"
	"  -d, --duration SECS   stop after SECS seconds (fractions allowed)\n"
	"  -j, --json FILE       also write the report as JSON ('-' for stdout)\n"
	"  -r, --record FILE     write the raw event stream, for `replay`\n"
	"  -t, --tasks N         rows in the task table (default 40, 0 = all)\n"
	"      --stuck-after DURATION  list tasks parked longer than this first, with the\n"
	"                        .await they wait on (default 2s; 500ms, 1.5s, 3m)\n"
	"      --all-frames      await stacks keep the runtime's and std's frames\n"
	"      --debuginfo FILE  the program's separate debug file (DWARF split out); else\n"
	"                        it is looked for by build-id, .gnu_debuglink, debuginfod;\n"
	"                        replay: names the code addresses a stripped binary's\n"
	"                        stacks were recorded as\n"
	"      --ringbuf-mb N    each CPU's ring buffer, in MiB (default 16; 256 in all\n"
	"                        shared when there are more than 16 CPUs)\n"
	"      --fail-on-deadlock  exit with status 3 once a deadlock is found (after the\n"
	"                        report and the other outputs are written); implies --locks\n"

	"  -v, --verbose         show libbpf's messages and every probe attached\n"
	"  -h, --help            this text\n"
	"  -V, --version         print the version\n"	"\n"
	"Optional captures (each costs the target more per event: README, Performance):\n"
	"      --locks           trace tokio's Mutex, RwLock, Semaphore and channel capacity:\n"
	"                        contention, holders, waiters, deadlocks on locks\n"
	"      --blocking        report syscalls that block a worker inside a poll for 1ms\n"
	"                        or more (std Mutex, sleep, blocking I/O in async code)\n"
	"      --blocking-threshold DURATION  the same, for this long (0 = off)\n"
	"\n"
	"Exports (written as the session goes; from `replay` too):\n"
	"      --perfetto FILE   Perfetto trace (native protobuf): open it in ui.perfetto.dev\n"
	"      --chrome-trace FILE  Chrome JSON trace (chrome://tracing, ui.perfetto.dev)\n"
	"      --flamegraph FILE folded stacks: busy (LOCATION;poll) and idle (LOCATION;idle) ns\n"
	"      --flamegraph-kind both|busy|idle  which of the two to write (default both)\n"
	"      --csv DIR         DIR/tasks.csv and DIR/events.csv\n"
	"\n"
	"test: CMD (cargo test, a test binary, a script) and every process it starts, at\n"
	"any depth, each inspected from its first instruction when it has a supported\n"
	"runtime. A test running longer than --timeout (or a test process making no\n"
	"progress that long) is reported with where it is stuck, its files written to\n"
	"--output, and its process ended; the run goes on.\n"
	"      --timeout DURATION  a test hangs after this long (default 60s)\n"
	"      --fail-on-hang    exit with status 4 when a test hung\n"
	"      --output DIR      per hung or deadlocked process: its JSON, Perfetto trace and\n"
	"                        recording (default ./" DEFAULT_TEST_OUTPUT ")\n"
	"      (with --locks, --fail-on-deadlock as above)\n"
	"\n"
	"Exit status: 0 on success (run, test: the command's own exit status if it exited\n"
	"by itself), 1 on an error, 2 on a usage error, 3 when --fail-on-deadlock found\n"
	"one, 4 when test --fail-on-hang found a hung test.\n";

const char *options__usage(void)
{
	return usage;
}

enum {
	OPT_PERFETTO = 256,
	OPT_CHROME,
	OPT_FLAMEGRAPH,
	OPT_FLAMEGRAPH_KIND,
	OPT_CSV,
	OPT_STUCK_AFTER,
	OPT_ALL_FRAMES,
	OPT_FAIL_ON_DEADLOCK,
	OPT_BLOCKING_THRESHOLD,
	OPT_BLOCKING,
	OPT_LOCKS,
	OPT_RINGBUF_MB,
	OPT_TIMEOUT,
	OPT_FAIL_ON_HANG,
	OPT_OUTPUT,
	OPT_TEST_CHILD,
	OPT_DEBUGINFO,
	OPT_REPLAY,
};

static const struct option longopts[] = {
	{"pid", required_argument, 0, 'p'},
	{"duration", required_argument, 0, 'd'},
	{"json", required_argument, 0, 'j'},
	{"record", required_argument, 0, 'r'},
	{"tasks", required_argument, 0, 't'},
	{"ringbuf-mb", required_argument, 0, OPT_RINGBUF_MB},
	{"verbose", no_argument, 0, 'v'},
	{"help", no_argument, 0, 'h'},
	{"version", no_argument, 0, 'V'},
	{"perfetto", required_argument, 0, OPT_PERFETTO},
	{"chrome-trace", required_argument, 0, OPT_CHROME},
	{"flamegraph", required_argument, 0, OPT_FLAMEGRAPH},
	{"flamegraph-kind", required_argument, 0, OPT_FLAMEGRAPH_KIND},
	{"csv", required_argument, 0, OPT_CSV},
	{"stuck-after", required_argument, 0, OPT_STUCK_AFTER},
	{"all-frames", no_argument, 0, OPT_ALL_FRAMES},
	{"fail-on-deadlock", no_argument, 0, OPT_FAIL_ON_DEADLOCK},
	{"blocking-threshold", required_argument, 0, OPT_BLOCKING_THRESHOLD},
	{"blocking", no_argument, 0, OPT_BLOCKING},
	{"locks", no_argument, 0, OPT_LOCKS},
	{"timeout", required_argument, 0, OPT_TIMEOUT},
	{"fail-on-hang", no_argument, 0, OPT_FAIL_ON_HANG},
	{"output", required_argument, 0, OPT_OUTPUT},
	{"debuginfo", required_argument, 0, OPT_DEBUGINFO},
	{"replay", required_argument, 0, OPT_REPLAY}, /* top --replay FILE */
	{"test-child", no_argument, 0, OPT_TEST_CHILD}, /* test's own, per process */
	{0, 0, 0, 0},
};

int options__parse_duration(const char *s, __u64 *ns)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {{"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"m", 60e9}, {"h", 3600e9}};
	char *end;
	double v = strtod(s, &end);

	if (end == s || !(v >= 0) || v > 1e6)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit)) {
			*ns = (__u64)(v * units[i].scale);
			return 0;
		}
	return -EINVAL;
}

/* The one way a parse fails: the message into err, -EINVAL. */
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A whole number from 0 to max: no sign, no wrap-around. */
static bool parse_count(const char *arg, unsigned long max, size_t *out)
{
	char *end;
	unsigned long v;

	if (*arg < '0' || *arg > '9')
		return false;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* One option and its value into *o: 0, or -EINVAL with err said. */
static int take_option(int c, const char *arg, struct options *o, char *err, size_t errlen)
{
	char *end;
	long long n;

	switch (c) {
	case 'p':
		errno = 0;
		n = strtoll(arg, &end, 10);
		if (errno || *end || end == arg || n <= 0 || n > 0x7fffffff)
			return bad(err, errlen, "--pid needs a process id, not '%s'", arg);
		o->pid = (int)n;
		return 0;
	case 'd':
		o->duration = strtod(arg, &end);
		if (*end || end == arg || !(o->duration > 0) || !(o->duration <= MAX_DURATION_S))
			return bad(err, errlen,
				   "--duration needs a positive number of seconds up to 1e9, not '%s'", arg);
		return 0;
	case 'j':
		o->json = arg;
		return 0;
	case 'r':
		o->record = arg;
		return 0;
	case 't':
		if (!parse_count(arg, INT_MAX, &o->max_tasks))
			return bad(err, errlen, "--tasks needs a number (0 = all), not '%s'", arg);
		return 0;
	case OPT_RINGBUF_MB:
		if (!parse_count(arg, MAX_RINGBUF_MB, &o->ringbuf_mb) || !o->ringbuf_mb)
			return bad(err, errlen, "--ringbuf-mb needs a size from 1 to %d, not '%s'",
				   MAX_RINGBUF_MB, arg);
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case OPT_STUCK_AFTER:
		if (options__parse_duration(arg, &o->stuck_after_ns))
			return bad(err, errlen,
				   "--stuck-after needs a duration such as 2s, 500ms or 3m, not '%s'", arg);
		return 0;
	case OPT_ALL_FRAMES:
		o->all_frames = true;
		return 0;
	case OPT_FAIL_ON_DEADLOCK:
		o->fail_on_deadlock = true;
		o->locks = true; /* the waits on locks are most cycles' edges */
		return 0;
	case OPT_LOCKS:
		o->locks = true;
		return 0;
	case OPT_BLOCKING:
		if (!o->blocking_min_ns)
			o->blocking_min_ns = DEFAULT_BLOCKING_NS;
		return 0;
	case OPT_BLOCKING_THRESHOLD:
		if (!strcmp(arg, "0"))
			o->blocking_min_ns = 0;
		else if (options__parse_duration(arg, &o->blocking_min_ns))
			return bad(err, errlen,
				   "--blocking-threshold needs a duration such as 1ms or 500us, not '%s'",
				   arg);
		return 0;
	case OPT_PERFETTO:
		o->exports.perfetto = arg;
		return 0;
	case OPT_CHROME:
		o->exports.chrome = arg;
		return 0;
	case OPT_FLAMEGRAPH:
		o->exports.folded = arg;
		return 0;
	case OPT_CSV:
		o->exports.csv_dir = arg;
		return 0;
	case OPT_TIMEOUT:
		if (options__parse_duration(arg, &o->hang_timeout_ns) || !o->hang_timeout_ns)
			return bad(err, errlen, "--timeout needs a duration such as 30s or 2m, not '%s'",
				   arg);
		return 0;
	case OPT_FAIL_ON_HANG:
		o->fail_on_hang = true;
		return 0;
	case OPT_OUTPUT:
		o->output_dir = arg;
		return 0;
	case OPT_TEST_CHILD:
		o->test_child = true;
		return 0;
	case OPT_DEBUGINFO:
		o->debuginfo = arg;
		return 0;
	case OPT_REPLAY:
		o->replay = arg;
		return 0;
	case OPT_FLAMEGRAPH_KIND:
		if (!strcmp(arg, "both"))
			o->exports.folded_kind = FOLDED_BOTH;
		else if (!strcmp(arg, "busy"))
			o->exports.folded_kind = FOLDED_BUSY;
		else if (!strcmp(arg, "idle"))
			o->exports.folded_kind = FOLDED_IDLE;
		else
			return bad(err, errlen, "--flamegraph-kind needs both, busy or idle, not '%s'", arg);
		return 0;
	}
	return bad(err, errlen, "unknown option (try --help)");
}

/* getopt's '?': an option we do not have, or a value given to one that
 * takes none (`--locks=1`). */
static int unknown_option(const char *word, char *err, size_t errlen)
{
	size_t name_len = strcspn(word, "=");

	if (!strncmp(word, "--", 2) && word[name_len])
		for (const struct option *l = longopts; l->name; l++)
			if (strlen(l->name) == name_len - 2 && !strncmp(l->name, word + 2, name_len - 2))
				return bad(err, errlen, "--%s takes no value (try --help)", l->name);
	if (!strncmp(word, "--", 2) || !optopt)
		return bad(err, errlen, "unknown option '%s' (try --help)", word);
	return bad(err, errlen, "unknown option '-%c' (try --help)", optopt);
}

/* The options that only a live session takes: a recording is replayed as
 * it was made. */
static const char *live_only(int c)
{
	switch (c) {
	case 'p':
		return "--pid";
	case 'd':
		return "--duration";
	case 'r':
		return "--record";
	case OPT_RINGBUF_MB:
		return "--ringbuf-mb";
	case OPT_LOCKS:
		return "--locks";
	case OPT_BLOCKING:
		return "--blocking";
	case OPT_BLOCKING_THRESHOLD:
		return "--blocking-threshold";
	case OPT_TIMEOUT:
		return "--timeout";
	case OPT_FAIL_ON_HANG:
		return "--fail-on-hang";
	case OPT_OUTPUT:
		return "--output";
	}
	return NULL;
}

/* "dir/base" with dir resolved, for a file that may not exist yet; false
 * when its folder does not exist either. */
static bool canonical(const char *path, char *out)
{
	char dir_copy[PATH_MAX], base_copy[PATH_MAX], dir[PATH_MAX];

	if (snprintf(dir_copy, sizeof(dir_copy), "%s", path) >= (int)sizeof(dir_copy))
		return false;
	snprintf(base_copy, sizeof(base_copy), "%s", path);
	if (!realpath(dirname(dir_copy), dir))
		return false;
	return snprintf(out, PATH_MAX, "%s/%s", dir, basename(base_copy)) < PATH_MAX;
}

/* One file under two names (a link, "./x" and "x"), or the same name. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	char ca[PATH_MAX], cb[PATH_MAX];

	if (!strcmp(a, b))
		return true;
	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return canonical(a, ca) && canonical(b, cb) && !strcmp(ca, cb);
}

/* Every file the session writes, and the recording it reads: no two the
 * same, so no output destroys another or the input. Only --json takes '-'
 * (stdout, which the text report then leaves to it). */
static int check_outputs(const struct options *o, char *err, size_t errlen)
{
	char tasks_csv[PATH_MAX], events_csv[PATH_MAX];
	struct {
		const char *option, *path;
	} f[] = {
		{"replay's recording", o->replay},
		{"--json", o->json && strcmp(o->json, "-") ? o->json : NULL},
		{"--record", o->record},
		{"--perfetto", o->exports.perfetto},
		{"--chrome-trace", o->exports.chrome},
		{"--flamegraph", o->exports.folded},
		{"--csv", o->exports.csv_dir ? tasks_csv : NULL},
		{"--csv", o->exports.csv_dir ? events_csv : NULL},
	};
	size_t n = sizeof(f) / sizeof(f[0]);

	if (o->exports.csv_dir) {
		snprintf(tasks_csv, sizeof(tasks_csv), "%s/tasks.csv", o->exports.csv_dir);
		snprintf(events_csv, sizeof(events_csv), "%s/events.csv", o->exports.csv_dir);
	}
	for (size_t i = 2; i < n; i++) {
		const char *given = strcmp(f[i].option, "--csv") ? f[i].path : o->exports.csv_dir;

		if (given && !strcmp(given, "-"))
			return bad(err, errlen, "%s writes a file, not stdout ('-' is for --json only)",
				   f[i].option);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; f[i].path && j < n; j++)
			if (f[j].path && same_file(f[i].path, f[j].path) &&
			    strcmp(f[i].option, f[j].option))
				return bad(err, errlen, "%s and %s name the same file (%s): %s",
					   f[i].option, f[j].option, f[j].path,
					   i ? "each output needs its own"
					     : "an output would overwrite the recording");
	return 0;
}

/* A file we can read, said now rather than once the target runs (whether it
 * is the target's debug file is known once the target is opened). */
static int check_debuginfo(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return bad(err, errlen, "--debuginfo %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return bad(err, errlen, "--debuginfo %s is not a file", path);
	}
	close(fd);
	return 0;
}

/* What the command needs once every option is read. */
static int check_command(struct options *o, int argc, char **argv, const char *live_option,
			 char *err, size_t errlen)
{
	bool test_option = o->hang_timeout_ns || o->fail_on_hang || o->output_dir;

	if (o->cmd == CMD_TEST || o->test_child) {
		if (!o->hang_timeout_ns)
			o->hang_timeout_ns = DEFAULT_TEST_TIMEOUT_NS;
		if (!o->output_dir)
			o->output_dir = DEFAULT_TEST_OUTPUT;
	} else if (test_option) {
		return bad(err, errlen, "%s applies to test only (try --help)",
			   o->hang_timeout_ns ? "--timeout" : o->fail_on_hang ? "--fail-on-hang"
									   : "--output");
	}
	if (o->debuginfo && check_debuginfo(o->debuginfo, err, errlen))
		return -EINVAL;
	switch (o->cmd) {
	case CMD_TEST:
		if (optind >= argc)
			return bad(err, errlen, "test needs a command: test [OPTIONS] -- CMD [ARGS...]");
		if (o->pid)
			return bad(err, errlen, "--pid does not go with test, which starts its own process");
		if (o->json || o->record || o->exports.perfetto || o->exports.chrome ||
		    o->exports.folded || o->exports.csv_dir)
			return bad(err, errlen, "test writes its files to --output DIR, per process that "
						"hung or deadlocked");
		o->argv = &argv[optind];
		return 0;
	case CMD_RUN:
		if (optind >= argc)
			return bad(err, errlen, "run needs a command: run [OPTIONS] -- CMD [ARGS...]");
		if (o->pid)
			return bad(err, errlen, "--pid does not go with run, which starts its own process");
		o->argv = &argv[optind];
		return check_outputs(o, err, errlen);
	case CMD_REPLAY:
		if (!o->replay)
			return bad(err, errlen, "replay needs a recording: replay FILE");
		if (live_option)
			return bad(err, errlen,
				   "%s does not apply to replay: a recording is replayed as it was made",
				   live_option);
		break;
	case CMD_ATTACH:
		if (!o->pid)
			return bad(err, errlen,
				   "which process? give --pid PID, or use `run -- CMD` (try --help)");
		break;
	}
	if (optind < argc)
		return bad(err, errlen, "unexpected argument '%s'", argv[optind]);
	return check_outputs(o, err, errlen);
}

/* `top`: on a recording (--replay FILE), a command it starts (-- CMD), or
 * a process (--pid). */
static int top_command(struct options *o, int argc, char *err, size_t errlen)
{
	if (o->replay && (o->pid || optind < argc))
		return bad(err, errlen, "top --replay FILE takes no process: it plays the recording");
	if (o->json && !strcmp(o->json, "-"))
		return bad(err, errlen, "top draws on the terminal: --json needs a file, not '-'");
	o->cmd = o->replay ? CMD_REPLAY : optind < argc ? CMD_RUN : CMD_ATTACH;
	return 0;
}

int options__parse(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
	const char *live_option = NULL; /* the first option only a live session takes */
	bool have_cmd = false;
	int c, ret;

	*o = (struct options){
		.cmd = CMD_ATTACH, .max_tasks = 40, .ringbuf_mb = 16, .stuck_after_ns = 2000000000ULL};
	optind = 0; /* 0, not 1: getopt starts afresh, as a test parses many lines */
	opterr = 0; /* its errors are ours to word */
	/* '+': stop at the first non-option, so `run CMD -x` keeps -x for CMD.
	 * ':': a missing value is told apart from an unknown option.
	 * Options may stand before the command word and after replay's FILE. */
	for (;;) {
		c = getopt_long(argc, argv, "+:p:d:j:r:t:vhV", longopts, NULL);
		if (c == -1) {
			const char *word = optind < argc ? argv[optind] : NULL;

			if (!word || !strcmp(argv[optind - 1], "--"))
				break;
			if (!have_cmd) {
				if (!strcmp(word, "run"))
					o->cmd = CMD_RUN;
				else if (!strcmp(word, "attach"))
					o->cmd = CMD_ATTACH;
				else if (!strcmp(word, "replay"))
					o->cmd = CMD_REPLAY;
				else if (!strcmp(word, "test"))
					o->cmd = CMD_TEST;
				else if (!strcmp(word, "top"))
					o->top = true;
				else
					return bad(err, errlen, "unknown command '%s' (try --help)", word);
				have_cmd = true;
				optind++;
				continue;
			}
			if (o->cmd == CMD_REPLAY && !o->top && !o->replay) {
				o->replay = word;
				optind++;
				continue;
			}
			break;
		}
		switch (c) {
		case 'h':
			return OPTIONS_HELP;
		case 'V':
			return OPTIONS_VERSION;
		case ':':
			return bad(err, errlen, "%s needs a value (try --help)", argv[optind - 1]);
		case '?':
			return unknown_option(argv[optind - 1], err, errlen);
		}
		ret = take_option(c, optarg, o, err, errlen);
		if (ret)
			return ret;
		if (!live_option)
			live_option = live_only(c);
	}
	if (o->top && (ret = top_command(o, argc, err, errlen)))
		return ret;
	else if (!o->top && o->replay && o->cmd != CMD_REPLAY)
		return bad(err, errlen, "--replay goes with top: top --replay FILE (or: replay FILE)");
	return check_command(o, argc, argv, live_option, err, errlen);
}

const char *options__captures(const struct options *o, char *buf, size_t len)
{
	char d[16];

	if (!o->locks && !o->blocking_min_ns)
		return "optional captures: none (--locks, --blocking)";
	snprintf(buf, len, "optional captures: %s%s%s%s", o->locks ? "locks" : "",
		 o->locks && o->blocking_min_ns ? ", " : "",
		 o->blocking_min_ns ? "blocking syscalls >= " : "",
		 o->blocking_min_ns ? report__duration(o->blocking_min_ns, d, sizeof(d)) : "");
	return buf;
}
