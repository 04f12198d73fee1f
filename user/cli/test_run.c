// SPDX-License-Identifier: MIT
/*
 * `test -- CMD`: CI hang detection. CMD (cargo test, a test binary, a
 * script) runs as it would, its output untouched; every process it starts,
 * at any depth, is stopped at its exec (trace/follower.h) and, when its
 * program has a supported runtime, inspected from its first instruction by
 * a session of its own: this program again, with --test-child, which
 * attaches, continues it, and watches its tests (cli/hang.h). A process
 * with no runtime is continued at once. Each process that hangs or
 * deadlocks gets its report on stderr and its files in --output; it is
 * ended, and the run goes on. At the end, one line per test process.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/commands.h"
#include "cli/outputs.h"
#include "lib/u64_map.h"
#include "binary/binary.h"
#include "binary/debug_file.h"
#include "binary/elf_symbols.h"
#include "runtime/probe_plan.h"
#include "trace/follower.h"
#include "trace/target.h"
#include "trace/watchdog.h"

#define MAX_CHILDREN 256 /* test processes inspected at once */

/* One test process and the session inspecting it. */
struct child_session {
	pid_t session, target;
	int summary;		  /* its line's index in test_run.summaries */
	struct watchdog watchdog; /* continues the target should we die first */
	char dir[PATH_MAX];	  /* its --output folder */
	bool told_to_end;	  /* SIGINT sent (once: a second one quits it at once) */
};

struct test_run {
	const struct options *o;
	struct target cmd;
	int cmd_status;
	bool cmd_exited;
	struct child_session children[MAX_CHILDREN];
	int nchildren;
	/* the sessions' summary lines, in start order: printed for libtest
	 * binaries, and for any process that hung or deadlocked */
	struct summary {
		char *path;
		bool shown;
	} *summaries;
	int nsummaries;
	int hangs, deadlocks, errors;
	bool made_output; /* --output created by us: removed if left empty */
	/* programs looked at (device and inode) -> enum program_kind: a build
	 * execs the same compiler thousands of times */
	struct u64_map *programs;
};

enum program_kind { PROGRAM_NO_RUNTIME = 1, PROGRAM_RUNTIME, PROGRAM_TEST };

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = 1;
}

/* Its program's key in r->programs (device and inode), 0 if gone. */
static __u64 program_key(pid_t pid)
{
	char exe[64];
	struct stat st;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	return stat(exe, &st) ? 0 : ((__u64)st.st_dev << 40) ^ (__u64)st.st_ino;
}

static bool known_plain(const struct test_run *r, pid_t pid)
{
	__u64 key = program_key(pid);
	__u32 kind;

	return key && r->programs && u64_map__get(r->programs, key, &kind) &&
	       kind == PROGRAM_NO_RUNTIME;
}

/* Does the program have a runtime we inspect (planned as the session
 * will)? And is it a test binary (libtest's test::test_main* in it)? */
static bool has_runtime(struct test_run *r, pid_t pid, bool *libtest)
{
	char exe[64], why[256];
	struct probe_plan plan;
	struct binary *bin;
	__u64 key = program_key(pid);
	__u32 kind = 0;
	bool yes;

	*libtest = false;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (!key)
		return false;
	if (r->programs && u64_map__get(r->programs, key, &kind)) {
		*libtest = kind == PROGRAM_TEST;
		return kind != PROGRAM_NO_RUNTIME;
	}
	/* found locally as the session will (debuginfod is not asked for
	 * every program a build runs) */
	bin = binary__open_with_debug(exe, &(struct debug_search){.given = r->o->debuginfo});
	if (!bin)
		return false;
	yes = elf_symbols__has_symtab(binary__symbols(bin)) &&
	      !probe_plan__for_binary(binary__symbols(bin), &plan, 0, why, sizeof(why));
	if (yes) {
		probe_plan__release(&plan);
		*libtest = probe_plan__function(binary__symbols(bin), "test::test_main*") != 0;
	}
	binary__free(bin);
	if (r->programs)
		u64_map__set(r->programs, key,
			     !yes ? PROGRAM_NO_RUNTIME : *libtest ? PROGRAM_TEST : PROGRAM_RUNTIME);
	return yes;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* This program again, as the session of test process `pid`. */
static pid_t start_session(struct test_run *r, pid_t pid, const char *dir)
{
	const struct options *o = r->o;
	char spid[16], timeout[32], stuck[32], json[PATH_MAX + 32], rec[PATH_MAX + 32],
		pftrace[PATH_MAX + 32];
	__u64 stuck_ns = o->hang_timeout_ns / 2 < 2000000000ULL ? o->hang_timeout_ns / 2
								 : 2000000000ULL;
	char *argv[24];
	int n = 0;
	pid_t s;

	snprintf(spid, sizeof(spid), "%d", pid);
	snprintf(timeout, sizeof(timeout), "%.6f", o->hang_timeout_ns / 1e9); /* seconds */
	snprintf(stuck, sizeof(stuck), "%.6f", stuck_ns / 1e9);
	snprintf(json, sizeof(json), "%s/async-inspect-trace.json", dir);
	snprintf(rec, sizeof(rec), "%s/session.rec", dir);
	snprintf(pftrace, sizeof(pftrace), "%s/trace.pftrace", dir);
	argv[n++] = "async-inspect-bpf";
	argv[n++] = "attach";
	argv[n++] = "--test-child";
	argv[n++] = "--pid";
	argv[n++] = spid;
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	argv[n++] = "--stuck-after";
	argv[n++] = stuck;
	argv[n++] = "--output";
	argv[n++] = (char *)dir;
	argv[n++] = "--json";
	argv[n++] = json;
	argv[n++] = "--record";
	argv[n++] = rec;
	argv[n++] = "--perfetto";
	argv[n++] = pftrace;
	if (o->locks)
		argv[n++] = "--locks";
	if (o->verbose)
		argv[n++] = "-v";
	if (o->debuginfo) {
		argv[n++] = "--debuginfo";
		argv[n++] = (char *)o->debuginfo;
	}
	argv[n] = NULL;
	s = fork();
	if (s == 0) {
		/* its stdout is ours (nothing goes there: reports go to stderr) */
		execv("/proc/self/exe", argv);
		fprintf(stderr, "async-inspect-bpf: cannot start a session for pid %d: %s\n", pid,
			strerror(errno));
		_exit(EXIT_ERROR);
	}
	return s;
}

/* A process of the tree exec'd and is stopped: inspect it, or let it go. */
static void on_exec(int pid, int ppid, void *ctx)
{
	struct test_run *r = ctx;
	struct child_session *c = &r->children[r->nchildren < MAX_CHILDREN ? r->nchildren : 0];
	struct watchdog watchdog = {0};
	struct summary *more;
	bool libtest;

	/* a program known to have no runtime goes on at once (a build's
	 * compilers); else, stopped by us while we look, a watchdog continues
	 * it should we die before we do */
	if (known_plain(r, pid)) {
		kill(pid, SIGCONT);
		return;
	}
	if (watchdog__start(&watchdog, pid))
		watchdog = (struct watchdog){0}; /* then only our own SIGCONT */
	if (r->nchildren == MAX_CHILDREN || !has_runtime(r, pid, &libtest)) {
		kill(pid, SIGCONT);
		watchdog__stand_down(&watchdog);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->target = pid;
	c->watchdog = watchdog;
	if (mkdir(r->o->output_dir, 0755) == 0)
		r->made_output = true;
	{
		char exe[64], path[PATH_MAX];
		ssize_t len;

		snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
		len = readlink(exe, path, sizeof(path) - 1);
		path[len > 0 ? len : 0] = 0;
		if (snprintf(c->dir, sizeof(c->dir), "%.2048s/%.1024s-%d", r->o->output_dir,
			     len > 0 ? base_name(path) : "process", pid) < 0)
			c->dir[0] = 0;
	}
	if (mkdir(c->dir, 0755) && errno != EEXIST) {
		cli__warn("cannot create %s (%s): pid %d runs uninspected", c->dir, strerror(errno), pid);
		kill(pid, SIGCONT);
		watchdog__stand_down(&c->watchdog);
		return;
	}
	c->session = start_session(r, pid, c->dir);
	if (c->session < 0) {
		kill(pid, SIGCONT);
		watchdog__stand_down(&c->watchdog);
		return;
	}
	c->summary = -1;
	more = realloc(r->summaries, (size_t)(r->nsummaries + 1) * sizeof(*more));
	if (more) {
		r->summaries = more;
		more = &r->summaries[r->nsummaries];
		more->shown = libtest;
		if (asprintf(&more->path, "%s.summary", c->dir) > 0)
			c->summary = r->nsummaries++;
	}
	r->nchildren++;
}

/* A session ended: what it found; its target is never left stopped. */
static void session_ended(struct test_run *r, int i, int status)
{
	struct child_session *c = &r->children[i];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	kill(c->target, SIGCONT);
	watchdog__stand_down(&c->watchdog);
	if (code == EXIT_HANG)
		r->hangs++;
	else if (code == EXIT_DEADLOCK)
		r->deadlocks++;
	else if (code)
		r->errors++;
	if (c->summary >= 0 && (code == EXIT_HANG || code == EXIT_DEADLOCK))
		r->summaries[c->summary].shown = true;
	r->children[i] = r->children[--r->nchildren];
}

static void reap(struct test_run *r)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == r->cmd.pid) {
			r->cmd_exited = true;
			r->cmd_status = status;
			continue;
		}
		for (int i = 0; i < r->nchildren; i++)
			if (r->children[i].session == pid) {
				session_ended(r, i, status);
				break;
			}
	}
}

static void print_summaries(struct test_run *r)
{
	char line[1024];

	for (int i = 0; i < r->nsummaries; i++) {
		FILE *f = fopen(r->summaries[i].path, "re");

		if (f && fgets(line, sizeof(line), f) && r->summaries[i].shown)
			fprintf(stderr, "async-inspect-bpf: %s", line);
		if (f)
			fclose(f);
		unlink(r->summaries[i].path);
		free(r->summaries[i].path);
	}
	free(r->summaries);
	if (r->made_output)
		rmdir(r->o->output_dir); /* only if nothing was kept */
}

int command__test(const struct options *o)
{
	struct test_run r = {.o = o};
	struct sigaction sa = {.sa_handler = on_interrupt};
	struct follower *f;
	char why[256];
	int err, ret;

	if (!command__may_trace())
		return cli__fail("permission denied: attaching uprobes needs root (or CAP_BPF and "
				 "CAP_PERFMON); try: sudo async-inspect-bpf test ...");
	r.programs = u64_map__new();
	f = follower__open(why, sizeof(why));
	if (!f) {
		u64_map__free(r.programs);
		return cli__fail("%s", why);
	}
	err = target__launch(&r.cmd, o->argv);
	if (err) {
		follower__free(f);
		u64_map__free(r.programs);
		return cli__fail("cannot run %s: %s", o->argv[0], strerror(-err));
	}
	err = follower__add(f, r.cmd.pid);
	if (err || target__release(&r.cmd)) {
		target__release(&r.cmd);
		target__terminate(&r.cmd, 0);
		follower__free(f);
		u64_map__free(r.programs);
		return cli__fail("cannot follow %s: %s", o->argv[0], strerror(err ? -err : errno));
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!r.cmd_exited || r.nchildren) {
		bool stop;

		if (follower__poll(f, 100, on_exec, &r) < 0 && !interrupted)
			break;
		reap(&r);
		stop = interrupted || r.cmd_exited;
		if (interrupted && !r.cmd_exited)
			kill(r.cmd.pid, SIGTERM);
		/* Ctrl-C, or processes CMD left behind when it exited: their
		 * sessions end now (each writes what it has) */
		for (int i = 0; stop && i < r.nchildren; i++)
			if (!r.children[i].told_to_end) {
				kill(r.children[i].session, SIGINT);
				r.children[i].told_to_end = true;
			}
		interrupted = 0;
	}
	if (follower__lost(f))
		cli__warn("%llu processes exec'd while the follower's queue was full: they ran "
			  "uninspected", (unsigned long long)follower__lost(f));
	follower__free(f);
	u64_map__free(r.programs);
	print_summaries(&r);
	ret = WIFEXITED(r.cmd_status) ? WEXITSTATUS(r.cmd_status) : 128 + WTERMSIG(r.cmd_status);
	if (r.hangs || r.deadlocks)
		fprintf(stderr, "async-inspect-bpf: %d test process%s hung, %d deadlocked: reports "
				"above, files in %s/\n",
			r.hangs, r.hangs == 1 ? "" : "es", r.deadlocks, o->output_dir);
	if (o->fail_on_deadlock && r.deadlocks)
		return EXIT_DEADLOCK;
	if (o->fail_on_hang && r.hangs)
		return EXIT_HANG;
	return ret;
}
