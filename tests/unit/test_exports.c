/* Every export of one small synthetic session, compared with what it must
 * hold: CSV and folded stacks exactly, the Perfetto file's first packets
 * byte by byte, the Chrome trace's events by count. */
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

#include "export/exporter.h"
#include "model/task_model.h"

static char dir[] = "/tmp/aib-test-exports-XXXXXX";
static char path[5][256];
static struct task_model *m;
static struct export_set *set;

static void feed(const struct aib_hdr *h)
{
	assert_int_equal(task_model__apply(m, h), 0);
	export_set__record(set, h, m);
}

static void poll(int kind, __u64 header, __u64 id, __u32 tid, __u64 ts, __u32 result)
{
	struct aib_ev_poll e = {.hdr = {kind, sizeof(e), tid, ts}, .task = header, .task_id = id,
				.result = result};

	feed(&e.hdr);
}

/* Task 1 (spawned at src/main.rs:5:9) polls, parks, is woken by task 2
 * (first seen, polled on another thread) and completes; task 2 is left idle. */
static void session(void)
{
	struct aib_rec_process p = {.hdr = {AIB_REC_PROCESS, sizeof(p), 0, 1000},
				    .realtime_ns = 5, .pid = 42, .runtimes = AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO), .runtime_desc = "tokio"};
	struct aib_rec_thread th = {.hdr = {AIB_REC_THREAD, sizeof(th), 2, 1000}, .name = "worker-0"};
	union { /* the record and room for its text, without a GNU extension */
		struct aib_rec_location rec;
		char buf[sizeof(struct aib_rec_location) + 16];
	} loc = {.rec = {.hdr = {AIB_REC_LOCATION, sizeof(loc.rec) + 11, 0, 1500}, .file_addr = 0x10,
			 .len = 11}};
	struct aib_ev_spawn sp = {.hdr = {AIB_EV_SPAWN, sizeof(sp), 1, 2000}, .predicted_id = 1,
				  .file_addr = 0x10, .file_len = 11, .line = 5, .col = 9,
				  .flags = AIB_SPAWN_HAS_LOCATION};
	struct aib_ev_wake wk = {.hdr = {AIB_EV_WAKE, sizeof(wk), 3, 6000}, .task = 0x100, .task_id = 1,
				 .waker_task = 0x200, .waker_task_id = 2};
	struct aib_ev_task free1 = {.hdr = {AIB_EV_DEALLOC, sizeof(free1), 2, 8000}, .task = 0x100,
				    .task_id = 1};
	struct aib_rec_end end = {.hdr = {AIB_REC_END, sizeof(end), 0, 10100},
				  .reason = AIB_END_DURATION};

	strcpy(p.exe, "demo");
	memcpy(loc.rec.text, "src/main.rs", 11);
	feed(&p.hdr);
	feed(&th.hdr);
	feed(&loc.rec.hdr);
	feed(&sp.hdr);
	poll(AIB_EV_POLL_BEGIN, 0x100, 1, 2, 3000, 0);
	poll(AIB_EV_POLL_END, 0x100, 1, 2, 4000, AIB_POLL_PENDING);
	poll(AIB_EV_POLL_BEGIN, 0x200, 2, 3, 5400, 0);
	feed(&wk.hdr);
	poll(AIB_EV_POLL_END, 0x200, 2, 3, 6500, AIB_POLL_PENDING);
	poll(AIB_EV_POLL_BEGIN, 0x100, 1, 2, 7000, 0);
	poll(AIB_EV_POLL_END, 0x100, 1, 2, 7600, AIB_POLL_READY);
	feed(&free1.hdr);
	feed(&end.hdr);
}

static char *slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	char *buf = calloc(1, 1 << 20);

	assert_non_null(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int setup(void **state)
{
	const char *failed;
	struct export_opts o;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path[0], sizeof(path[0]), "%s/t.pftrace", dir);
	snprintf(path[1], sizeof(path[1]), "%s/t.json", dir);
	snprintf(path[2], sizeof(path[2]), "%s/t.folded", dir);
	snprintf(path[3], sizeof(path[3]), "%s/csv", dir);
	o = (struct export_opts){.perfetto = path[0], .chrome = path[1], .folded = path[2],
				 .folded_kind = FOLDED_BOTH, .csv_dir = path[3]};
	m = task_model__new();
	set = export_set__open(&o, &failed);
	if (!m || !set)
		return -1;
	session();
	task_model__finish(m, 0);
	return export_set__finish(set, m, &failed) ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[300];

	export_set__free(set);
	task_model__free(m);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

static void test_csv_tasks(void **state)
{
	char file[300];
	size_t len;
	char *s;

	snprintf(file, sizeof(file), "%s/tasks.csv", path[3]);
	s = slurp(file, &len);
	assert_string_equal(s,
		"id,name,state,created_at_ms,duration_ms,poll_count,run_time_ms,parent_id,spawn_location,idle_ms\n"
		"1,task 1,completed,0.001,0.006,2,0.002,,src/main.rs:5:9,0.002\n"
		"2,task 2,idle,0.004,0.005,1,0.001,,,0.004\n");
	free(s);
}

static void test_csv_events(void **state)
{
	char file[300];
	size_t len;
	char *s;

	snprintf(file, sizeof(file), "%s/events.csv", path[3]);
	s = slurp(file, &len);
	assert_string_equal(s,
		"event_id,task_id,timestamp_ms,kind,details\n"
		"1,1,0.001000,spawn,kind=async\n"
		"2,1,0.002000,poll_begin,tid=2;poll=1\n"
		"3,1,0.003000,poll_end,tid=2;result=pending;busy_us=1.000\n"
		"4,2,0.004400,first_seen,\n"
		"5,2,0.004400,poll_begin,tid=3;poll=1\n"
		"6,1,0.005000,wake,by=task 2\n"
		"7,2,0.005500,poll_end,tid=3;result=pending;busy_us=1.100\n"
		"8,1,0.006000,poll_begin,tid=2;poll=2\n"
		"9,1,0.006600,poll_end,tid=2;result=ready;busy_us=0.600\n"
		"10,1,0.006600,completed,\n"
		"11,2,0.009100,alive_at_end,state=idle\n");
	free(s);
}

static void test_folded(void **state)
{
	size_t len;
	char *s = slurp(path[2], &len);

	assert_string_equal(s,
		"(unknown location);poll 1100\n"
		"(unknown location);idle 3600\n"
		"src/main.rs:5:9;poll 1600\n"
		"src/main.rs:5:9;idle 2000\n");
	free(s);
}

static void test_chrome(void **state)
{
	size_t len;
	char *s = slurp(path[1], &len);

	assert_true(!strncmp(s, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", 40));
	assert_int_equal(count(s, "\"ph\":\"B\""), 3);
	assert_int_equal(count(s, "\"ph\":\"E\""), 3);
	assert_int_equal(count(s, "\"ph\":\"s\""), 1); /* task 2's wake of task 1 */
	assert_int_equal(count(s, "\"ph\":\"f\""), 1);
	assert_int_equal(count(s, "\"name\":\"thread_name\""), 1); /* only tid 2 has a name */
	assert_non_null(strstr(s, "\"name\":\"task 1 src/main.rs:5:9\""));
	assert_non_null(strstr(s, "\"args\":{\"result\":\"ready\"}"));
	assert_non_null(strstr(s, "\"total_polls\":3"));
	assert_int_equal(count(s, "\"spawn_location\""), 2);
	assert_string_equal(s + len - 4, "]}}\n");
	free(s);
}

/* The clock snapshot, worked by hand: Trace.packet (1) { sequence id (10) 1,
 * clock_snapshot (6) { clocks (1) {clock_id 6, timestamp 1000},
 * {3, 1000}, {1 (REALTIME), 5} } }; then the packet clearing the
 * sequence's state: { sequence id 1, sequence_flags (13) 1, interned (12) ... }. */
static void test_perfetto_start(void **state)
{
	static const __u8 snapshot[] = {
		0x0a, 0x18, 0x50, 0x01, 0x32, 0x14,
		0x0a, 0x05, 0x08, 0x06, 0x10, 0xe8, 0x07,
		0x0a, 0x05, 0x08, 0x03, 0x10, 0xe8, 0x07,
		0x0a, 0x04, 0x08, 0x01, 0x10, 0x05,
	};
	size_t len, at = sizeof(snapshot);
	__u8 *s = (__u8 *)slurp(path[0], &len);

	assert_true(len > sizeof(snapshot) + 8);
	assert_memory_equal(s, snapshot, sizeof(snapshot));
	assert_int_equal(s[at], 0x0a);
	at += s[at + 1] & 0x80 ? 3 : 2; /* the second packet's length: 1 or 2 bytes */
	assert_memory_equal(s + at, ((const __u8[]){0x50, 0x01, 0x68, 0x01, 0x62}), 5);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_tasks),  cmocka_unit_test(test_csv_events),
		cmocka_unit_test(test_folded),	   cmocka_unit_test(test_chrome),
		cmocka_unit_test(test_perfetto_start),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
