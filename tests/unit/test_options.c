// SPDX-License-Identifier: MIT
/* The command line: every flag into its field, the defaults, the commands,
 * and every usage error with its one-line message (no root, no exit). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/options.h"

#define MAX_ARGS 32

struct parsed {
	struct options o;
	char err[256];
	char *argv[MAX_ARGS + 1];
	int ret;
};

/* Parses a NULL-terminated list of words after the program name. */
static struct parsed *parse(struct parsed *p, ...)
{
	static char prog[] = "async-inspect-bpf";
	va_list ap;
	int argc = 0;
	char *word;

	memset(p, 0, sizeof(*p));
	p->argv[argc++] = prog;
	va_start(ap, p);
	while ((word = va_arg(ap, char *)) && argc < MAX_ARGS)
		p->argv[argc++] = word;
	va_end(ap);
	p->ret = options__parse(&p->o, argc, p->argv, p->err, sizeof(p->err));
	return p;
}

static void expect_ok(const struct parsed *p)
{
	if (p->ret != OPTIONS_RUN)
		fail_msg("parse returned %d: %s", p->ret, p->err);
}

static void expect_error(const struct parsed *p, const char *message)
{
	assert_int_equal(p->ret, -EINVAL);
	assert_string_equal(p->err, message);
	assert_null(strchr(p->err, '\n'));
}

static void test_defaults(void **state)
{
	struct parsed p;

	expect_ok(parse(&p, "--pid", "42", NULL));
	assert_int_equal(p.o.cmd, CMD_ATTACH);
	assert_int_equal(p.o.pid, 42);
	assert_true(p.o.duration == 0);
	assert_null(p.o.json);
	assert_null(p.o.record);
	assert_int_equal(p.o.max_tasks, 40);
	assert_int_equal(p.o.ringbuf_mb, 16);
	assert_int_equal(p.o.stuck_after_ns, 2000000000ULL);
	assert_false(p.o.all_frames || p.o.fail_on_deadlock || p.o.locks || p.o.verbose);
	assert_int_equal(p.o.blocking_min_ns, 0);
	assert_null(p.o.exports.perfetto);
	assert_null(p.o.exports.chrome);
	assert_null(p.o.exports.folded);
	assert_null(p.o.exports.csv_dir);
	assert_int_equal(p.o.exports.folded_kind, FOLDED_BOTH);
	assert_null(p.o.debuginfo);
}

static void test_every_flag(void **state)
{
	struct parsed p;

	expect_ok(parse(&p, "attach", "-p", "7", "-d", "1.5", "-j", "out.json", "-r", "s.rec", "-t",
			"0", "--ringbuf-mb", "64", "-v", "--stuck-after", "500ms", "--all-frames",
			"--locks", "--blocking-threshold", "2ms", "--perfetto", "t.pftrace",
			"--chrome-trace", "c.json", "--flamegraph", "f.folded", "--flamegraph-kind",
			"idle", "--csv", "csvdir", NULL));
	assert_int_equal(p.o.cmd, CMD_ATTACH);
	assert_int_equal(p.o.pid, 7);
	assert_true(p.o.duration == 1.5);
	assert_string_equal(p.o.json, "out.json");
	assert_string_equal(p.o.record, "s.rec");
	assert_int_equal(p.o.max_tasks, 0);
	assert_int_equal(p.o.ringbuf_mb, 64);
	assert_true(p.o.verbose);
	assert_int_equal(p.o.stuck_after_ns, 500000000ULL);
	assert_true(p.o.all_frames);
	assert_true(p.o.locks);
	assert_false(p.o.fail_on_deadlock);
	assert_int_equal(p.o.blocking_min_ns, 2000000ULL);
	assert_string_equal(p.o.exports.perfetto, "t.pftrace");
	assert_string_equal(p.o.exports.chrome, "c.json");
	assert_string_equal(p.o.exports.folded, "f.folded");
	assert_int_equal(p.o.exports.folded_kind, FOLDED_IDLE);
	assert_string_equal(p.o.exports.csv_dir, "csvdir");

	/* long spellings and --name=value */
	expect_ok(parse(&p, "--pid=9", "--duration=2", "--json=-", "--record", "r", "--tasks=5",
			"--verbose", "--flamegraph-kind=busy", NULL));
	assert_int_equal(p.o.pid, 9);
	assert_true(p.o.duration == 2);
	assert_string_equal(p.o.json, "-");
	assert_string_equal(p.o.record, "r");
	assert_int_equal(p.o.max_tasks, 5);
	assert_true(p.o.verbose);
	assert_int_equal(p.o.exports.folded_kind, FOLDED_BUSY);
}

static void test_captures(void **state)
{
	struct parsed p;
	char buf[96];

	expect_ok(parse(&p, "-p", "1", NULL));
	assert_string_equal(options__captures(&p.o, buf, sizeof(buf)),
			    "optional captures: none (--locks, --blocking)");
	/* --fail-on-deadlock implies --locks: lock waits are most cycles' edges */
	expect_ok(parse(&p, "-p", "1", "--fail-on-deadlock", NULL));
	assert_true(p.o.fail_on_deadlock && p.o.locks);
	assert_string_equal(options__captures(&p.o, buf, sizeof(buf)), "optional captures: locks");
	/* --blocking means 1ms, and does not lower a threshold given before */
	expect_ok(parse(&p, "-p", "1", "--blocking", NULL));
	assert_int_equal(p.o.blocking_min_ns, 1000000ULL);
	expect_ok(parse(&p, "-p", "1", "--blocking-threshold", "5ms", "--blocking", "--locks", NULL));
	assert_int_equal(p.o.blocking_min_ns, 5000000ULL);
	assert_string_equal(options__captures(&p.o, buf, sizeof(buf)),
			    "optional captures: locks, blocking syscalls >= 5.00ms");
	/* 0 turns it off again */
	expect_ok(parse(&p, "-p", "1", "--blocking", "--blocking-threshold", "0", NULL));
	assert_int_equal(p.o.blocking_min_ns, 0);
}

static void test_commands(void **state)
{
	struct parsed p;

	/* run: options before the command word, and CMD's own flags kept */
	expect_ok(parse(&p, "--json", "j", "run", "--locks", "--", "./app", "-x", "--pid", "3", NULL));
	assert_int_equal(p.o.cmd, CMD_RUN);
	assert_true(p.o.locks);
	assert_string_equal(p.o.json, "j");
	assert_string_equal(p.o.argv[0], "./app");
	assert_string_equal(p.o.argv[1], "-x");
	assert_string_equal(p.o.argv[2], "--pid");
	assert_null(p.o.argv[4]);
	assert_int_equal(p.o.pid, 0);
	/* without "--", the first word that is no option starts CMD */
	expect_ok(parse(&p, "run", "./app", "-v", NULL));
	assert_string_equal(p.o.argv[0], "./app");
	assert_string_equal(p.o.argv[1], "-v");
	assert_false(p.o.verbose);

	/* replay: options before and after FILE */
	expect_ok(parse(&p, "replay", "--tasks", "3", "s.rec", "--perfetto", "t", NULL));
	assert_int_equal(p.o.cmd, CMD_REPLAY);
	assert_string_equal(p.o.replay, "s.rec");
	assert_int_equal(p.o.max_tasks, 3);
	assert_string_equal(p.o.exports.perfetto, "t");

	/* top: on a process, a command, or a recording */
	expect_ok(parse(&p, "top", "--pid", "7", "--locks", NULL));
	assert_true(p.o.top);
	assert_int_equal(p.o.cmd, CMD_ATTACH);
	assert_int_equal(p.o.pid, 7);
	expect_ok(parse(&p, "top", "--stuck-after", "1s", "--", "./app", "-x", NULL));
	assert_int_equal(p.o.cmd, CMD_RUN);
	assert_string_equal(p.o.argv[0], "./app");
	expect_ok(parse(&p, "top", "--replay", "s.rec", NULL));
	assert_int_equal(p.o.cmd, CMD_REPLAY);
	assert_string_equal(p.o.replay, "s.rec");
	expect_error(parse(&p, "top", "--replay", "s.rec", "--pid", "3", NULL),
		     "top --replay FILE takes no process: it plays the recording");
	expect_error(parse(&p, "top", "--json", "-", "--pid", "3", NULL),
		     "top draws on the terminal: --json needs a file, not '-'");
	expect_error(parse(&p, "--replay", "s.rec", NULL),
		     "--replay goes with top: top --replay FILE (or: replay FILE)");
	expect_error(parse(&p, "top", NULL),
		     "which process? give --pid PID, or use `run -- CMD` (try --help)");

	assert_int_equal(parse(&p, "--help", NULL)->ret, OPTIONS_HELP);
	assert_int_equal(parse(&p, "replay", "-h", NULL)->ret, OPTIONS_HELP);
	assert_int_equal(parse(&p, "-V", NULL)->ret, OPTIONS_VERSION);
	assert_int_equal(parse(&p, "--version", NULL)->ret, OPTIONS_VERSION);
	assert_non_null(strstr(options__usage(), "--flamegraph-kind"));
}

static void test_usage_errors(void **state)
{
	struct parsed p;

	expect_error(parse(&p, NULL),
		     "which process? give --pid PID, or use `run -- CMD` (try --help)");
	expect_error(parse(&p, "frobnicate", NULL), "unknown command 'frobnicate' (try --help)");
	expect_error(parse(&p, "run", NULL), "run needs a command: run [OPTIONS] -- CMD [ARGS...]");
	expect_error(parse(&p, "run", "--", NULL),
		     "run needs a command: run [OPTIONS] -- CMD [ARGS...]");
	expect_error(parse(&p, "replay", NULL), "replay needs a recording: replay FILE");
	expect_error(parse(&p, "replay", "a.rec", "b.rec", NULL), "unexpected argument 'b.rec'");
	expect_error(parse(&p, "-p", "1", "extra", NULL), "unknown command 'extra' (try --help)");
	expect_error(parse(&p, "attach", "-p", "1", "extra", NULL), "unexpected argument 'extra'");
	expect_error(parse(&p, "--bogus", NULL), "unknown option '--bogus' (try --help)");
	expect_error(parse(&p, "-x", NULL), "unknown option '-x' (try --help)");
	expect_error(parse(&p, "--locks=yes", NULL), "--locks takes no value (try --help)");
	expect_error(parse(&p, "--pid", NULL), "--pid needs a value (try --help)");
	expect_error(parse(&p, "-p", NULL), "-p needs a value (try --help)");
}

static void test_bad_values(void **state)
{
	struct parsed p;

	expect_error(parse(&p, "-p", "abc", NULL), "--pid needs a process id, not 'abc'");
	expect_error(parse(&p, "-p", "0", NULL), "--pid needs a process id, not '0'");
	expect_error(parse(&p, "-p", "-5", NULL), "--pid needs a process id, not '-5'");
	expect_error(parse(&p, "-p", "", NULL), "--pid needs a process id, not ''");
	/* no wrap modulo 2^32: 4294967297 is not pid 1 */
	expect_error(parse(&p, "-p", "4294967297", NULL),
		     "--pid needs a process id, not '4294967297'");
	expect_error(parse(&p, "-p", "1", "-d", "0", NULL),
		     "--duration needs a positive number of seconds up to 1e9, not '0'");
	expect_error(parse(&p, "-p", "1", "-d", "1s", NULL),
		     "--duration needs a positive number of seconds up to 1e9, not '1s'");
	/* ns past 2^64 ended the session at once */
	expect_error(parse(&p, "-p", "1", "-d", "inf", NULL),
		     "--duration needs a positive number of seconds up to 1e9, not 'inf'");
	expect_error(parse(&p, "-p", "1", "-d", "nan", NULL),
		     "--duration needs a positive number of seconds up to 1e9, not 'nan'");
	expect_error(parse(&p, "-p", "1", "-d", "2e10", NULL),
		     "--duration needs a positive number of seconds up to 1e9, not '2e10'");
	expect_ok(parse(&p, "-p", "1", "-d", "1e9", NULL));
	expect_error(parse(&p, "-p", "1", "-t", "many", NULL),
		     "--tasks needs a number (0 = all), not 'many'");
	/* no sign and no wrap: -1 was 2^64 - 1 rows */
	expect_error(parse(&p, "-p", "1", "-t", "-1", NULL),
		     "--tasks needs a number (0 = all), not '-1'");
	expect_error(parse(&p, "-p", "1", "-t", "99999999999999999999", NULL),
		     "--tasks needs a number (0 = all), not '99999999999999999999'");
	expect_error(parse(&p, "-p", "1", "--ringbuf-mb", "0", NULL),
		     "--ringbuf-mb needs a size from 1 to 2048, not '0'");
	/* 4096 MiB is 2^32 bytes: the kernel's 32-bit size wraps to 0 */
	expect_error(parse(&p, "-p", "1", "--ringbuf-mb", "4096", NULL),
		     "--ringbuf-mb needs a size from 1 to 2048, not '4096'");
	expect_ok(parse(&p, "-p", "1", "--ringbuf-mb", "2048", NULL));
	assert_int_equal(p.o.ringbuf_mb, 2048);
	expect_error(parse(&p, "-p", "1", "--stuck-after", "soon", NULL),
		     "--stuck-after needs a duration such as 2s, 500ms or 3m, not 'soon'");
	expect_error(parse(&p, "-p", "1", "--blocking-threshold", "-1ms", NULL),
		     "--blocking-threshold needs a duration such as 1ms or 500us, not '-1ms'");
	expect_error(parse(&p, "-p", "1", "--flamegraph-kind", "hot", NULL),
		     "--flamegraph-kind needs both, busy or idle, not 'hot'");
}

/* Options a recording cannot honour are refused, not ignored. */
static void test_command_fit(void **state)
{
	static const char *const live_only[][2] = {
		{"--pid", "3"},	 {"-d", "3"},	      {"--record", "o.rec"}, {"--locks", NULL},
		{"--blocking", NULL}, {"--ringbuf-mb", "8"}, {"--blocking-threshold", "2ms"},
	};
	struct parsed p;
	char want[160];

	for (size_t i = 0; i < sizeof(live_only) / sizeof(live_only[0]); i++) {
		const char *flag = live_only[i][0], *value = live_only[i][1];
		const char *name = !strcmp(flag, "-d") ? "--duration" : flag;

		snprintf(want, sizeof(want),
			 "%s does not apply to replay: a recording is replayed as it was made", name);
		/* before and after the recording's name alike */
		expect_error(parse(&p, "replay", "s.rec", flag, value, NULL), want);
		if (value)
			expect_error(parse(&p, flag, value, "replay", "s.rec", NULL), want);
		else
			expect_error(parse(&p, flag, "replay", "s.rec", NULL), want);
	}
	/* --fail-on-deadlock implies --locks live, and applies to a replay too */
	expect_ok(parse(&p, "replay", "s.rec", "--fail-on-deadlock", NULL));
	assert_true(p.o.fail_on_deadlock);
	expect_error(parse(&p, "--pid", "3", "run", "--", "./app", NULL),
		     "--pid does not go with run, which starts its own process");
}

/* test -- CMD: its defaults, its options, and what goes with it only. */
static void test_test_command(void **state)
{
	struct parsed p;

	expect_ok(parse(&p, "test", "--", "cargo", "test", "--", "--exact", "x", NULL));
	assert_int_equal(p.o.cmd, CMD_TEST);
	assert_string_equal(p.o.argv[0], "cargo");
	assert_string_equal(p.o.argv[2], "--");
	assert_int_equal(p.o.hang_timeout_ns, 60000000000ULL);
	assert_string_equal(p.o.output_dir, DEFAULT_TEST_OUTPUT);
	assert_false(p.o.fail_on_hang);
	expect_ok(parse(&p, "test", "--timeout", "30s", "--fail-on-hang", "--fail-on-deadlock",
			"--output", "out", "--", "./t", NULL));
	assert_int_equal(p.o.hang_timeout_ns, 30000000000ULL);
	assert_true(p.o.fail_on_hang && p.o.fail_on_deadlock && p.o.locks);
	assert_string_equal(p.o.output_dir, "out");
	/* the per-process session test starts */
	expect_ok(parse(&p, "attach", "--test-child", "--pid", "7", "--timeout", "2.5", "--output",
			"d", NULL));
	assert_true(p.o.test_child);
	assert_int_equal(p.o.hang_timeout_ns, 2500000000ULL);

	expect_error(parse(&p, "test", NULL), "test needs a command: test [OPTIONS] -- CMD [ARGS...]");
	expect_error(parse(&p, "test", "--pid", "3", "--", "./t", NULL),
		     "--pid does not go with test, which starts its own process");
	expect_error(parse(&p, "test", "--json", "j", "--", "./t", NULL),
		     "test writes its files to --output DIR, per process that hung or deadlocked");
	expect_error(parse(&p, "--pid", "3", "--timeout", "3s", NULL),
		     "--timeout applies to test only (try --help)");
	expect_error(parse(&p, "run", "--fail-on-hang", "--", "./t", NULL),
		     "--fail-on-hang applies to test only (try --help)");
	expect_error(parse(&p, "test", "--timeout", "0", "--", "./t", NULL),
		     "--timeout needs a duration such as 30s or 2m, not '0'");
	assert_non_null(strstr(options__usage(), "--fail-on-hang"));
}

/* No output may destroy another, or the recording being replayed. */
static void test_output_collisions(void **state)
{
	struct parsed p;

	expect_error(parse(&p, "replay", "r.rec", "--json", "r.rec", NULL),
		     "replay's recording and --json name the same file (r.rec): an output would "
		     "overwrite the recording");
	expect_error(parse(&p, "replay", "r.rec", "--perfetto", "./r.rec", NULL),
		     "replay's recording and --perfetto name the same file (./r.rec): an output "
		     "would overwrite the recording");
	expect_error(parse(&p, "-p", "1", "--record", "x", "--json", "x", NULL),
		     "--json and --record name the same file (x): each output needs its own");
	expect_error(parse(&p, "-p", "1", "--json", "z", "--perfetto", "z", NULL),
		     "--json and --perfetto name the same file (z): each output needs its own");
	expect_error(parse(&p, "-p", "1", "--csv", "d", "--chrome-trace", "d/tasks.csv", NULL),
		     "--chrome-trace and --csv name the same file (d/tasks.csv): each output needs "
		     "its own");
	/* one file, two names: a hard link */
	{
		char a[] = "/tmp/aib_opt_XXXXXX", b[64];
		int fd = mkstemp(a);

		assert_true(fd >= 0);
		close(fd);
		snprintf(b, sizeof(b), "%s.link", a);
		assert_int_equal(link(a, b), 0);
		parse(&p, "-p", "1", "--json", a, "--flamegraph", b, NULL);
		assert_int_equal(p.ret, -EINVAL);
		assert_non_null(strstr(p.err, "--json and --flamegraph name the same file"));
		unlink(b);
		unlink(a);
	}
	/* '-' is stdout for --json only */
	expect_ok(parse(&p, "-p", "1", "--json", "-", "--perfetto", "t", NULL));
	expect_error(parse(&p, "-p", "1", "--perfetto", "-", NULL),
		     "--perfetto writes a file, not stdout ('-' is for --json only)");
	expect_error(parse(&p, "replay", "r.rec", "--csv", "-", NULL),
		     "--csv writes a file, not stdout ('-' is for --json only)");
	/* distinct files are fine, the same option given twice keeps the last */
	expect_ok(parse(&p, "-p", "1", "--json", "a", "--perfetto", "b", "--json", "c", NULL));
	assert_string_equal(p.o.json, "c");
}

/* --debuginfo FILE: live sessions and test take it; a file that cannot be
 * read is a usage error before anything starts. */
static void test_debuginfo(void **state)
{
	char path[] = "/tmp/aib_opt_XXXXXX", eq[64];
	struct parsed p;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	expect_ok(parse(&p, "run", "--debuginfo", path, "--", "./app", NULL));
	assert_int_equal(p.o.cmd, CMD_RUN);
	assert_string_equal(p.o.debuginfo, path);
	expect_ok(parse(&p, "--debuginfo", path, "-p", "7", NULL));
	assert_int_equal(p.o.cmd, CMD_ATTACH);
	assert_string_equal(p.o.debuginfo, path);
	snprintf(eq, sizeof(eq), "--debuginfo=%s", path);
	expect_ok(parse(&p, "test", eq, "--", "cargo", "test", NULL));
	assert_int_equal(p.o.cmd, CMD_TEST);
	assert_string_equal(p.o.debuginfo, path);
	/* replay: names a stripped binary's code addresses from it */
	expect_ok(parse(&p, "replay", "s.rec", "--debuginfo", path, NULL));
	assert_int_equal(p.o.cmd, CMD_REPLAY);
	assert_string_equal(p.o.debuginfo, path);
	expect_error(parse(&p, "replay", "s.rec", "--debuginfo", "/nonexistent/app.debug", NULL),
		     "--debuginfo /nonexistent/app.debug: No such file or directory");
	/* after `--`, it is CMD's */
	expect_ok(parse(&p, "run", "--", "./app", "--debuginfo", "/nonexistent", NULL));
	assert_null(p.o.debuginfo);

	expect_error(parse(&p, "-p", "1", "--debuginfo", NULL), "--debuginfo needs a value (try --help)");
	expect_error(parse(&p, "run", "--debuginfo", "/nonexistent/app.debug", "--", "./app", NULL),
		     "--debuginfo /nonexistent/app.debug: No such file or directory");
	expect_error(parse(&p, "-p", "1", "--debuginfo", "/tmp", NULL),
		     "--debuginfo /tmp is not a file");
	unlink(path);
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		__u64 ns;
	} good[] = {{"2s", 2000000000ULL}, {"500ms", 500000000ULL}, {"1.5", 1500000000ULL},
		    {"3m", 180000000000ULL},	{"250us", 250000ULL},	 {"1h", 3600000000000ULL},
		    {"0", 0}};
	static const char *const bad[] = {"", "s", "2x", "-1s", "1e7", "nan", "2 s"};
	__u64 ns;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(options__parse_duration(good[i].text, &ns), 0);
		assert_int_equal(ns, good[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(options__parse_duration(bad[i], &ns), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),     cmocka_unit_test(test_every_flag),
		cmocka_unit_test(test_captures),     cmocka_unit_test(test_commands),
		cmocka_unit_test(test_usage_errors), cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_durations),    cmocka_unit_test(test_command_fit),
		cmocka_unit_test(test_output_collisions), cmocka_unit_test(test_test_command),
		cmocka_unit_test(test_debuginfo),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
