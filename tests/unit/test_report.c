// SPDX-License-Identifier: MIT
/*
 * The text report and the JSON export of a small model built from synthetic
 * records: two spawn locations, a completed task, an idle task alive at the
 * end, and the runtime's carrier task (which neither output lists).
 *
 * Timeline (B = 1 s, times in us after B):
 *   0     process record (session start)
 *   100   R: spawn_blocking (id 1); polled from 200 on tid 11, never ends
 *   1000  T2 spawned at src/main.rs:10:5 (id 2)
 *   2000  T2 polled (depth 1 inside R: R becomes the runtime's carrier)
 *   2100  T3 spawned by T2 at src/worker.rs:20:9 (id 3)
 *   2500  T2 Pending
 *   3000  T3 polled on tid 12, Pending at 3500: idle to the end
 *   4200  T2 woken by a thread; polled 5000..6000, Ready
 *   10000 END (duration)
 * T2: busy 1500, idle 1700, sched {1000, 800}, total 5000
 * T3: busy 500, idle 6500, sched {900}, total 7900
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/location_stats.h"
#include "report/report.h"
#include "model/task_model.h"

#define B 1000000000ULL
#define US(x) (B + (__u64)(x) * 1000)
#define HR 0x7f0000000100ULL
#define H2 0x7f0000000200ULL
#define H3 0x7f0000000300ULL
#define H9 0x7f0000000900ULL
#define FILE_MAIN 0x5000ULL
#define FILE_WORKER 0x6000ULL
#define FILE_LONG 0x7000ULL
#define LONG_FILE "src/some/really/deeply/nested/module/path/that/goes/on/and/on/forever.rs"

struct fixture {
	struct task_model *m;
	__u64 records;
};

static void apply(struct fixture *f, const void *rec)
{
	assert_int_equal(task_model__apply(f->m, rec), 0);
	f->records++;
}

static void location(struct fixture *f, __u64 addr, const char *text)
{
	union {
		struct aib_rec_location r;
		char b[sizeof(struct aib_rec_location) + 128];
	} u = {0};
	size_t len = strlen(text);

	u.r.hdr = (struct aib_hdr){AIB_REC_LOCATION, (__u16)(sizeof(u.r) + len), 0, B};
	u.r.file_addr = addr;
	u.r.len = (__u32)len;
	memcpy(u.r.text, text, len);
	apply(f, &u.r);
}

static void spawn(struct fixture *f, __u64 ts, __u32 tid, __u64 id, __u64 parent_id, __u64 file,
		  __u32 line, __u32 col, __u32 flags)
{
	struct aib_ev_spawn e = {
		.hdr = {AIB_EV_SPAWN, sizeof(e), tid, ts},
		.predicted_id = id,
		.parent_task_id = parent_id,
		.file_addr = file,
		.line = line,
		.col = col,
		.flags = flags | (file ? AIB_SPAWN_HAS_LOCATION : 0),
	};

	apply(f, &e);
}

static void poll_ev(struct fixture *f, __u16 kind, __u64 ts, __u32 tid, __u64 task, __u64 id,
		    __u32 depth, __u32 result)
{
	struct aib_ev_poll e = {
		.hdr = {kind, sizeof(e), tid, ts},
		.task = task,
		.task_id = id,
		.result = result,
		.depth = (__u16)depth,
		.runtime = AIB_RUNTIME_TOKIO,
	};

	apply(f, &e);
}

static void wake(struct fixture *f, __u64 ts, __u32 tid, __u64 task, __u64 id)
{
	struct aib_ev_wake e = {.hdr = {AIB_EV_WAKE, sizeof(e), tid, ts}, .task = task, .task_id = id,
				.runtime = AIB_RUNTIME_TOKIO};

	apply(f, &e);
}

/* The model of the timeline above; extra adds a third task whose location
 * is too long for the table, and loss / late-attach notes. */
static struct fixture *build(bool extra)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct aib_rec_process p = {
		.hdr = {AIB_REC_PROCESS, sizeof(p), 0, B},
		.realtime_ns = 1700000000ULL * 1000000000ULL, /* 2023-11-14T22:13:20Z */
		.pid = 4242,
		.runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO), .runtime_desc = "tokio",
		.poll_sites = 3,
		.flags = AIB_PROC_SPAWN_LOCATIONS | (extra ? AIB_PROC_LATE_ATTACH : 0),
	};
	struct aib_rec_thread th = {.hdr = {AIB_REC_THREAD, sizeof(th), 11, B}, .name = "tokio-rt-w\"0"};
	struct aib_rec_lost lost = {.hdr = {AIB_REC_LOST, sizeof(lost), 0, US(7000)}, .lost = 3, .dropped = 1};
	struct aib_rec_end end = {.hdr = {AIB_REC_END, sizeof(end), 0, US(10000)}, .reason = AIB_END_DURATION};

	assert_non_null(f);
	f->m = task_model__new();
	assert_non_null(f->m);
	strcpy(p.exe, "/srv/app");
	apply(f, &p);
	apply(f, &th);
	location(f, FILE_MAIN, "src/main.rs");
	location(f, FILE_WORKER, "src/worker.rs");
	spawn(f, US(100), 10, 1, 0, 0, 0, 0, AIB_SPAWN_BLOCKING);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(200), 11, HR, 1, 0, 0);
	spawn(f, US(1000), 10, 2, 0, FILE_MAIN, 10, 5, 0);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(2000), 11, H2, 2, 1, 0);
	spawn(f, US(2100), 11, 3, 2, FILE_WORKER, 20, 9, 0);
	poll_ev(f, AIB_EV_POLL_END, US(2500), 11, H2, 2, 1, AIB_POLL_PENDING);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(3000), 12, H3, 3, 0, 0);
	poll_ev(f, AIB_EV_POLL_END, US(3500), 12, H3, 3, 0, AIB_POLL_PENDING);
	wake(f, US(4200), 13, H2, 2);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(5000), 11, H2, 2, 1, 0);
	poll_ev(f, AIB_EV_POLL_END, US(6000), 11, H2, 2, 1, AIB_POLL_READY);
	if (extra) {
		location(f, FILE_LONG, LONG_FILE);
		spawn(f, US(6500), 10, 4, 0, FILE_LONG, 123, 45, 0);
		poll_ev(f, AIB_EV_POLL_BEGIN, US(6600), 12, H9, 4, 0, 0);
		poll_ev(f, AIB_EV_POLL_END, US(6700), 12, H9, 4, 0, AIB_POLL_PENDING);
		apply(f, &lost);
	}
	apply(f, &end);
	task_model__finish(f->m, 0);
	return f;
}

static void destroy(struct fixture *f)
{
	task_model__free(f->m);
	free(f);
}

/* Runs a writer into a memory buffer; returns the NUL-terminated text. */
static char *render(struct fixture *f, bool json, const struct report_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);

	assert_non_null(mf);
	if (json)
		assert_int_equal(report_json__write(f->m, o, mf), 0);
	else
		assert_int_equal(report_text__write(f->m, o, mf), 0);
	assert_int_equal(fclose(mf), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static const struct report_opts OPTS = {.ended = "duration reached", .version = "9.9.9-test"};

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected to find\n---\n%s\n---\nin\n---\n%s\n---", needle, hay);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- report__duration ---- */

static void test_duration_format(void **state)
{
	static const struct {
		unsigned long long ns;
		const char *want;
	} cases[] = {
		{0, "0ns"},
		{812, "812ns"},
		{999, "999ns"},
		{1000, "1.0us"},
		{4500, "4.5us"},
		{52449, "52.4us"},
		{999900, "999.9us"},
		{999949, "999.9us"},
		{999999, "1.00ms"}, /* never "1000.0us" */
		{999996000, "1.00s"},
		{59996000000ULL, "1m00s"},
		{1000000, "1.00ms"},
		{1234000, "1.23ms"},
		{20020000, "20.02ms"},
		{266570000, "266.57ms"},
		{1000000000ULL, "1.00s"},
		{4030000000ULL, "4.03s"},
		{59990000000ULL, "59.99s"},
		{60000000000ULL, "1m00s"},
		{123000000000ULL, "2m03s"},
		{3599000000000ULL, "59m59s"},
		{3600000000000ULL, "1h00m"},
		{3723000000000ULL, "1h02m"},
		{100ULL * 3600000000000ULL + 5 * 60000000000ULL, "100h05m"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = report__duration(cases[i].ns, buf, sizeof(buf));

		assert_ptr_equal(got, buf);
		if (strcmp(got, cases[i].want))
			fail_msg("report__duration(%llu) = \"%s\", want \"%s\"", cases[i].ns, got,
				 cases[i].want);
	}
	/* a short buffer is truncated, never overrun */
	memset(buf, 'x', sizeof(buf));
	report__duration(266570000, buf, 4);
	assert_string_equal(buf, "266");
	assert_int_equal(buf[4], 'x');
}

/* ---- the model itself, so the report assertions below rest on it ---- */

static void test_model_as_described(void **state)
{
	struct fixture *f = build(false);
	const struct model_summary *s = task_model__summary(f->m);
	struct task_info *r = task_model__task(f->m, 0), *t2 = task_model__task(f->m, 1),
			 *t3 = task_model__task(f->m, 2);

	assert_int_equal(task_model__task_count(f->m), 3);
	assert_int_equal(r->kind, TASK_RUNTIME);
	assert_int_equal(t2->busy_ns, 1500000);
	assert_int_equal(t2->idle_ns, 1700000);
	assert_int_equal(t3->idle_ns, 6500000);
	assert_int_equal(s->tasks_spawned, 2);
	assert_int_equal(s->runtime_tasks, 1);
	assert_int_equal(s->events, f->records);
	assert_int_equal(s->events, 16);
	destroy(f);
}

/* ---- JSON ---- */

static void test_json_fragments(void **state)
{
	struct fixture *f = build(false);
	char *out = render(f, true, &OPTS);
	const char *tasks, *meta, *locs, *main_loc, *worker_loc;

	/* metadata */
	assert_contains(out, "\"version\": \"9.9.9-test\"");
	assert_contains(out, "\"timestamp\": \"2023-11-14T22:13:20Z\"");
	assert_contains(out, "\"total_tasks\": 2,");
	assert_contains(out, "\"completed_tasks\": 1,");
	assert_contains(out, "\"alive_tasks\": 1,");
	assert_contains(out, "\"runtime_tasks\": 1,");
	assert_contains(out, "\"total_polls\": 3,");
	assert_contains(out, "\"total_wakes\": 1,");
	assert_contains(out, "\"total_events\": 16,");
	assert_contains(out, "\"lost_events\": 0,");
	assert_contains(out, "\"duration_ms\": 10.000,");
	assert_contains(out, "\"pid\": 4242,");
	assert_contains(out, "\"exe\": \"/srv/app\",");
	assert_contains(out, "\"runtime\": \"tokio\",");
	assert_contains(out, "\"spawn_locations\": true,");
	assert_contains(out, "\"late_attach\": false,");
	assert_contains(out, "\"ended\": \"duration reached\"");

	/* the two user tasks, in order of appearance; R (id 1) is not listed */
	assert_int_equal(count_of(out, "\"name\": \"task "), 2);
	assert_null(strstr(out, "\"id\": 1,"));
	assert_null(strstr(out, "\"kind\": \"runtime\""));
	assert_null(strstr(out, "\"state\": \"running\""));
	assert_contains(out, "\"spawn_location\": \"src/main.rs:10:5\"");
	assert_contains(out, "\"spawn_location\": \"src/worker.rs:20:9\"");

	/* T2, field by field */
	assert_contains(out,
			"      \"id\": 2,\n"
			"      \"name\": \"task 2\",\n"
			"      \"runtime\": \"tokio\",\n"
			"      \"state\": \"completed\",\n"
			"      \"kind\": \"async\",\n"
			"      \"created_at_ms\": 1.000,\n"
			"      \"duration_ms\": 5.000,\n"
			"      \"poll_count\": 2,\n"
			"      \"run_time_ms\": 1.500,\n"
			"      \"parent_id\": null,\n"
			"      \"spawn_location\": \"src/main.rs:10:5\",\n"
			"      \"spawn_location_from\": \"track_caller\",\n"
			"      \"spawn_seen\": true,\n"
			"      \"cancelled\": false,\n"
			"      \"panicked\": false,\n"
			"      \"idle_ms\": 1.700,\n"
			"      \"sched_delay_us\": {\n"
			"        \"count\": 2,\n"
			"        \"min\": 800.000,\n"
			"        \"p50\": 800.000,\n"
			"        \"p99\": 1000.000,\n"
			"        \"max\": 1000.000,\n"
			"        \"exact\": true\n"
			"      },\n"
			"      \"wakes\": {\n"
			"        \"total\": 1,\n"
			"        \"by_task\": 0,\n"
			"        \"by_self\": 0,\n"
			"        \"by_thread\": 1\n"
			"      },\n"
			"      \"blocked_in_syscalls_ms\": 0.000,\n"
			"      \"blocked_syscalls\": 0,\n"
			"      \"worker_threads\": [\n"
			"        {\n"
			"          \"tid\": 11,\n"
			"          \"name\": \"tokio-rt-w\\\"0\"\n"
			"        }\n"
			"      ],\n"
			"      \"warnings\": []\n");
	/* T3 */
	assert_contains(out,
			"      \"id\": 3,\n"
			"      \"name\": \"task 3\",\n"
			"      \"runtime\": \"tokio\",\n"
			"      \"state\": \"idle\",\n"
			"      \"kind\": \"async\",\n"
			"      \"created_at_ms\": 2.100,\n"
			"      \"duration_ms\": 7.900,\n"
			"      \"poll_count\": 1,\n"
			"      \"run_time_ms\": 0.500,\n"
			"      \"parent_id\": 2,\n"
			"      \"spawn_location\": \"src/worker.rs:20:9\",\n"
			"      \"spawn_location_from\": \"track_caller\",\n");
	assert_contains(out, "      \"idle_ms\": 6.500,\n");
	assert_contains(out, "          \"tid\": 12,\n          \"name\": null\n");

	/* top-level order and shape: tasks, metadata, locations */
	tasks = strstr(out, "\"tasks\": [");
	meta = strstr(out, "\"metadata\": {");
	locs = strstr(out, "\"locations\": [");
	assert_non_null(tasks);
	assert_non_null(meta);
	assert_non_null(locs);
	assert_true(out[0] == '{' && tasks < meta && meta < locs);
	assert_true(strstr(out, "\"id\": 2,") < strstr(out, "\"id\": 3,"));

	/* locations: one task each, equal counts, so by name */
	main_loc = strstr(locs, "\"location\": \"src/main.rs:10:5\"");
	worker_loc = strstr(locs, "\"location\": \"src/worker.rs:20:9\"");
	assert_non_null(main_loc);
	assert_non_null(worker_loc);
	assert_true(main_loc < worker_loc);
	assert_contains(locs,
			"      \"location\": \"src/main.rs:10:5\",\n"
			"      \"spawned\": 1,\n"
			"      \"completed\": 1,\n"
			"      \"alive\": 0,\n"
			"      \"busy_ms\": 1.500\n");
	assert_contains(locs,
			"      \"location\": \"src/worker.rs:20:9\",\n"
			"      \"spawned\": 1,\n"
			"      \"completed\": 0,\n"
			"      \"alive\": 1,\n"
			"      \"busy_ms\": 0.500\n");
	assert_int_equal(count_of(locs, "\"location\": "), 2);
	assert_string_equal(out + strlen(out) - 4, "]\n}\n");

	free(out);
	destroy(f);
}

/* Pipes the text through `jq` with a filter; returns jq's exit status, or
 * -1 when jq is not installed. */
static int run_jq(const char *json, const char *filter)
{
	char path[] = "/tmp/aib_test_report_XXXXXX", cmd[512];
	int fd, rc;
	size_t len = strlen(json);

	if (system("command -v jq >/dev/null 2>&1") != 0)
		return -1;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "jq -e '%s' %s >/dev/null 2>&1", filter, path);
	rc = system(cmd);
	unlink(path);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void test_json_valid_by_jq(void **state)
{
	struct fixture *f = build(true);
	char *out = render(f, true, &OPTS);
	static const char *const checks[] = {
		".",
		".tasks | length == 3",
		"[.tasks[].id] == [2, 3, 4]",
		".metadata.total_tasks == 2 + 1 and .metadata.runtime_tasks == 1",
		".metadata.lost_events == 3 and .metadata.dropped_events == 1",
		".metadata.late_attach == true",
		"[.locations[].spawned] == [1, 1, 1]",
		".locations[1].location | startswith(\"src/some/really\")",
		".tasks[0].sched_delay_us.p99 == 1000 and .tasks[0].wakes.total == 1",
		".tasks[1].parent_id == 2 and .tasks[0].parent_id == null",
	};
	int rc = run_jq(out, ".");

	if (rc == -1) {
		fprintf(stderr, "jq not installed: JSON validity by jq not checked\n");
		free(out);
		destroy(f);
		skip();
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		rc = run_jq(out, checks[i]);
		if (rc != 0)
			fail_msg("jq -e '%s' exited %d on:\n%s", checks[i], rc, out);
	}
	/* and the check can fail: jq rejects what is not JSON */
	out[strlen(out) - 3] = ',';
	assert_int_not_equal(run_jq(out, "."), 0);
	free(out);
	destroy(f);
}

/* ---- text ---- */

/* Splits the report into lines (in place); returns the count. */
static size_t lines_of(char *text, char **lines, size_t max)
{
	size_t n = 0;

	for (char *p = text; *p && n < max;) {
		char *nl = strchr(p, '\n');

		lines[n++] = p;
		if (!nl)
			break;
		*nl = 0;
		p = nl + 1;
	}
	return n;
}

static size_t find_line(char **lines, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(lines[i], prefix, strlen(prefix)))
			return i;
	fail_msg("no line starting with \"%s\"", prefix);
	return 0;
}

/* Whitespace-separated fields of a table row. */
static size_t fields(const char *line, char out[][80], size_t max)
{
	size_t n = 0;
	const char *p = line;

	while (n < max) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (!len)
			break;
		assert_true(len < 80);
		memcpy(out[n], p, len);
		out[n][len] = 0;
		n++;
		p += len;
	}
	return n;
}

static void assert_row(const char *line, const char *const want[8])
{
	char got[10][80];
	size_t n = fields(line, got, 10);

	if (n != 8)
		fail_msg("row has %zu fields: \"%s\"", n, line);
	for (size_t i = 0; i < 8; i++)
		if (strcmp(got[i], want[i]))
			fail_msg("row field %zu is \"%s\", want \"%s\": \"%s\"", i, got[i], want[i], line);
}

static void test_text_report(void **state)
{
	struct fixture *f = build(false);
	char *out = render(f, false, &OPTS), *lines[64] = {0};
	size_t n = lines_of(out, lines, 64), hdr, loc;
	static const char *const row3[8] = {"3", "idle", "src/worker.rs:20:9", "7.90ms",
					    "500.0us", "900.0us", "6.50ms", "1"};
	static const char *const row2[8] = {"2", "completed", "src/main.rs:10:5", "5.00ms",
					    "1.50ms", "1.00ms", "1.70ms", "2"};

	assert_string_equal(lines[0], "async-inspect-bpf: pid 4242 /srv/app (tokio), 10.00ms traced, "
				      "ended: duration reached");
	assert_string_equal(lines[1], "Tasks:  2 spawned, 1 completed, 1 alive "
				      "(+1 runtime worker tasks not listed)");
	assert_string_equal(lines[2], "Polls:  3   Wakes: 1   Events: 16   Lost: 0   Dropped: 0");
	for (size_t i = 0; i < n; i++) {
		assert_null(strstr(lines[i], "WARNING"));
		assert_null(strstr(lines[i], "Note:"));
	}

	/* locations table: equal counts, by name */
	loc = find_line(lines, n, "Spawn location");
	assert_true(loc + 2 < n);
	assert_int_equal(strncmp(lines[loc + 1], "src/main.rs:10:5 ", 17), 0);
	assert_int_equal(strncmp(lines[loc + 2], "src/worker.rs:20:9 ", 19), 0);
	{
		char got[6][80];

		assert_int_equal(fields(lines[loc + 1], got, 6), 4);
		assert_string_equal(got[1], "1");
		assert_string_equal(got[2], "1");
		assert_string_equal(got[3], "0");
		assert_int_equal(fields(lines[loc + 2], got, 6), 4);
		assert_string_equal(got[2], "0");
		assert_string_equal(got[3], "1");
	}

	/* task table: header, then longest idle first (T3 before T2), no R */
	hdr = find_line(lines, n, "ID ");
	{
		char got[12][80];
		static const char *const want[] = {"ID", "State", "Location", "Total", "Busy",
						   "Sched", "p99", "Idle", "Polls"};

		assert_int_equal(fields(lines[hdr], got, 12), 9);
		for (size_t i = 0; i < 9; i++)
			assert_string_equal(got[i], want[i]);
	}
	assert_true(hdr + 2 < n);
	assert_row(lines[hdr + 1], row3);
	assert_row(lines[hdr + 2], row2);
	assert_int_equal(n, hdr + 3); /* nothing after: R is not listed */

	for (size_t i = 0; i < n; i++)
		if (strlen(lines[i]) > 100)
			fail_msg("line %zu is %zu columns: \"%s\"", i, strlen(lines[i]), lines[i]);
	free(out);
	destroy(f);
}

/* Notes, a long location and the --tasks limit; still 100 columns. */
static void test_text_report_extra(void **state)
{
	struct fixture *f = build(true);
	struct report_opts o = OPTS;
	char *out, *lines[64] = {0};
	size_t n, hdr, warn;
	char got[10][80];

	o.max_tasks = 2;
	out = render(f, false, &o);
	n = lines_of(out, lines, 64);
	assert_string_equal(lines[1], "Tasks:  3 spawned, 1 completed, 2 alive "
				      "(+1 runtime worker tasks not listed)");
	assert_string_equal(lines[2], "Polls:  4   Wakes: 1   Events: 21   Lost: 3   Dropped: 1");
	warn = find_line(lines, n, "WARNING: 3 events were lost");
	assert_true(warn == 3);
	find_line(lines, n, "Note: attached to a running process");

	/* the long location keeps its end in both tables */
	hdr = find_line(lines, n, "ID ");
	{
		size_t l = find_line(lines, n, "...");

		assert_true(l < hdr); /* in the locations table */
		assert_non_null(strstr(lines[l], "forever.rs:123:45 "));
		assert_int_equal(fields(lines[l], got, 10), 4);
	}
	assert_true(hdr + 3 < n);
	/* T3 (idle 6.5 ms) before T4 (idle 3.3 ms); T2 (1.7 ms) cut by --tasks 2 */
	assert_int_equal(fields(lines[hdr + 1], got, 10), 8);
	assert_string_equal(got[0], "3");
	assert_int_equal(fields(lines[hdr + 2], got, 10), 8);
	assert_string_equal(got[0], "4");
	assert_string_equal(got[1], "idle");
	assert_int_equal(strncmp(got[2], "...", 3), 0);
	assert_non_null(strstr(got[2], "forever.rs:123:45"));
	assert_string_equal(got[6], "3.30ms");
	assert_string_equal(lines[hdr + 3], "... 1 more tasks (all of them: --json FILE, or --tasks 0)");
	assert_int_equal(n, hdr + 4);

	for (size_t i = 0; i < n; i++)
		if (strlen(lines[i]) > 100)
			fail_msg("line %zu is %zu columns: \"%s\"", i, strlen(lines[i]), lines[i]);
	free(out);
	destroy(f);
}

/* Locations: most spawned first, then by name; unknown location last;
 * runtime tasks left out. */
static void test_location_stats_order(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct location_stat *st;
	long n;
	char *out, *lines[64] = {0};
	size_t nl, loc;

	assert_non_null(f);
	f->m = task_model__new();
	assert_non_null(f->m);
	location(f, FILE_MAIN, "src/main.rs");
	location(f, FILE_WORKER, "src/worker.rs");
	/* R: carrier, spawned at a location of its own, which must not show */
	spawn(f, US(1), 10, 1, 0, FILE_MAIN, 1, 1, AIB_SPAWN_BLOCKING);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(2), 11, HR, 1, 0, 0);
	for (__u64 i = 0; i < 3; i++) {
		spawn(f, US(10 + i), 10, 10 + i, 0, FILE_WORKER, 20, 9, 0);
		poll_ev(f, AIB_EV_POLL_BEGIN, US(20 + 10 * i), 11, H2 + 64 * i, 10 + i, 1, 0);
		poll_ev(f, AIB_EV_POLL_END, US(25 + 10 * i), 11, H2 + 64 * i, 10 + i, 1,
			i ? AIB_POLL_READY : AIB_POLL_PENDING);
	}
	spawn(f, US(100), 10, 20, 0, FILE_MAIN, 10, 5, 0);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(110), 12, H3, 20, 0, 0);
	poll_ev(f, AIB_EV_POLL_END, US(111), 12, H3, 20, 0, AIB_POLL_READY);
	spawn(f, US(112), 10, 21, 0, FILE_MAIN, 10, 5, 0);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(113), 12, H3 + 64, 21, 0, 0);
	poll_ev(f, AIB_EV_POLL_BEGIN, US(120), 12, H9, 30, 0, 0); /* first seen */
	poll_ev(f, AIB_EV_POLL_BEGIN, US(130), 13, H9 + 64, 31, 0, 0); /* first seen */
	task_model__finish(f->m, 0);
	assert_int_equal(task_model__summary(f->m)->runtime_tasks, 1);

	n = location_stats__collect(f->m, &st);
	assert_int_equal(n, 3);
	assert_string_equal(st[0].location, "src/worker.rs:20:9");
	assert_int_equal(st[0].spawned, 3);
	assert_int_equal(st[0].completed, 2);
	assert_int_equal(st[0].alive, 1);
	assert_int_equal(st[0].busy_ns, 15000);
	/* main.rs and the 2 first-seen tasks tie: the unknown location last */
	assert_string_equal(st[1].location, "src/main.rs:10:5");
	assert_int_equal(st[1].spawned, 2);
	assert_int_equal(st[1].completed, 1);
	assert_int_equal(st[1].alive, 1);
	assert_null(st[2].location);
	assert_int_equal(st[2].spawned, 2);
	assert_int_equal(st[2].alive, 2);
	free(st);

	out = render(f, false, &OPTS);
	nl = lines_of(out, lines, 64);
	loc = find_line(lines, nl, "Spawn location");
	assert_true(loc + 3 < nl);
	assert_int_equal(strncmp(lines[loc + 1], "src/worker.rs:20:9 ", 19), 0);
	assert_int_equal(strncmp(lines[loc + 2], "src/main.rs:10:5 ", 17), 0);
	/* no process record: not a late attach, so the first-seen tasks' spawns were missed */
	assert_int_equal(strncmp(lines[loc + 3], "(unknown: spawn not seen) ", 26), 0);
	assert_null(strstr(out, "src/main.rs:1:1"));
	free(out);
	destroy(f);
}

/* An empty model still gives a well-formed report and JSON. */
static void test_empty_model(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *out;

	assert_non_null(f);
	f->m = task_model__new();
	assert_non_null(f->m);
	task_model__finish(f->m, 0);
	out = render(f, true, &OPTS);
	assert_contains(out, "\"tasks\": [],");
	assert_contains(out, "\"locations\": []");
	assert_contains(out, "\"total_tasks\": 0,");
	assert_contains(out, "\"timestamp\": null,");
	assert_contains(out, "\"exe\": null,");
	if (run_jq(out, ".") > 0)
		fail_msg("jq rejects the empty export:\n%s", out);
	free(out);
	out = render(f, false, &OPTS);
	assert_contains(out, "Tasks:  0 spawned, 0 completed, 0 alive\n");
	assert_null(strstr(out, "Spawn location"));
	free(out);
	destroy(f);
}

/* A long exe path is cut from the left so the first line keeps 100 columns
 * and still ends with the program's own name. */
static void test_long_exe_path(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct aib_rec_process p = {.hdr = {.kind = AIB_REC_PROCESS, .size = sizeof(p), .ts = 1}};
	char *out, *nl;

	assert_non_null(f);
	f->m = task_model__new();
	assert_non_null(f->m);
	p.pid = 4194304;
	p.runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO);
	strcpy(p.runtime_desc, "tokio");
	memset(p.exe, 'd', 150);
	strcpy(p.exe + 150, "/my-service");
	assert_int_equal(task_model__apply(f->m, &p.hdr), 0);
	task_model__finish(f->m, 5000000000ULL);
	out = render(f, false, &OPTS);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_int_equal(nl - out, 100);
	assert_non_null(strstr(out, "d/my-service (tokio), 5.00s traced, ended: duration reached\n"));
	free(out);
	destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_model_as_described),
		cmocka_unit_test(test_json_fragments),
		cmocka_unit_test(test_json_valid_by_jq),
		cmocka_unit_test(test_text_report),
		cmocka_unit_test(test_text_report_extra),
		cmocka_unit_test(test_long_exe_path),
		cmocka_unit_test(test_location_stats_order),
		cmocka_unit_test(test_empty_model),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
