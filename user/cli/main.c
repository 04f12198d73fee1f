// SPDX-License-Identifier: MIT
/*
 * async-inspect-bpf: see every task of an async Rust program, with no code
 * change. This file is the command line and the session loop; each stage of
 * the pipeline (target, symbols, probe plan, tracer, session, model,
 * outputs) lives in its own module.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "export/exporter.h"
#include "runtime/probe_plan.h"
#include "lib/u64_map.h"
#include "binary/x86_code.h"
#include "analysis/deadlock.h"
#include "model/lock_table.h"
#include "inspect/future_decoder.h"
#include "inspect/parked.h"
#include "inspect/stack_namer.h"
#include "inspect/proc_mem.h"
#include "record/recording.h"
#include "report/report.h"
#include "session/session.h"
#include "trace/target.h"
#include "inspect/task_scan.h"
#include "model/task_model.h"
#include "trace/tracer.h"

#define VERSION "0.1.0"
#define EXIT_USAGE 2
#define EXIT_DEADLOCK 3
/* The wait-for graph is checked this often (record time); a deadlock then
 * shows within DEADLOCK_CONFIRM_NS + this of forming. */
#define DEADLOCK_CHECK_NS 250000000ULL
/* --blocking: a syscall this long inside a poll stalls the worker's other tasks */
#define DEFAULT_BLOCKING_NS 1000000ULL

struct options {
	enum { CMD_ATTACH, CMD_RUN, CMD_REPLAY } cmd;
	int pid;
	double duration;
	const char *json;
	const char *record;
	const char *replay;
	size_t max_tasks;
	size_t ringbuf_mb;
	__u64 stuck_after_ns;
	bool all_frames;
	bool fail_on_deadlock;
	bool locks;	       /* optional captures (enum probe_capture): tokio's locks */
	__u64 blocking_min_ns; /* syscalls inside polls this long are reported; 0 = off */
	bool verbose;
	char **argv; /* run: the command */
	struct export_opts exports; /* --perfetto, --chrome-trace, --flamegraph, --csv */
};

static volatile sig_atomic_t stop_requested;
/* A child of ours stopped while probes detach: never leave it stopped. */
static volatile sig_atomic_t paused_child;

static const char usage[] =
	"Usage: async-inspect-bpf --pid PID [OPTIONS]           attach to a running process\n"
	"       async-inspect-bpf attach --pid PID [OPTIONS]    the same\n"
	"       async-inspect-bpf run [OPTIONS] -- CMD [ARGS...] start CMD under inspection\n"
	"       async-inspect-bpf replay FILE [--json FILE] [EXPORTS] report on a recording (no root)\n"
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
	"Exit status: 0 on success (run: the command's own exit status if it exited by\n"
	"itself), 1 on an error, 2 on a usage error, 3 when --fail-on-deadlock found one.\n";

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("async-inspect-bpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
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
};

/* "2s", "500ms", "1.5", "3m" (no unit: seconds) -> ns; -EINVAL if not one. */
static int parse_duration(const char *s, __u64 *ns)
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

/* 1: c was an export option; 0: it was not; -1: a bad value (said why). */
static int export_option(int c, struct options *o)
{
	switch (c) {
	case OPT_PERFETTO:
		o->exports.perfetto = optarg;
		return 1;
	case OPT_CHROME:
		o->exports.chrome = optarg;
		return 1;
	case OPT_FLAMEGRAPH:
		o->exports.folded = optarg;
		return 1;
	case OPT_CSV:
		o->exports.csv_dir = optarg;
		return 1;
	case OPT_FLAMEGRAPH_KIND:
		if (!strcmp(optarg, "both"))
			o->exports.folded_kind = FOLDED_BOTH;
		else if (!strcmp(optarg, "busy"))
			o->exports.folded_kind = FOLDED_BUSY;
		else if (!strcmp(optarg, "idle"))
			o->exports.folded_kind = FOLDED_IDLE;
		else
			return -fail("--flamegraph-kind needs both, busy or idle, not '%s'", optarg);
		return 1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"pid", required_argument, 0, 'p'},	{"duration", required_argument, 0, 'd'},
		{"json", required_argument, 0, 'j'},	{"record", required_argument, 0, 'r'},
		{"tasks", required_argument, 0, 't'},	{"ringbuf-mb", required_argument, 0, 'R'},
		{"verbose", no_argument, 0, 'v'},	{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},	{"perfetto", required_argument, 0, OPT_PERFETTO},
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
		{0, 0, 0, 0},
	};
	bool have_cmd = false;
	int c, ret;
	char *end;

	*o = (struct options){
		.cmd = CMD_ATTACH, .max_tasks = 40, .ringbuf_mb = 16, .stuck_after_ns = 2000000000ULL};
	optind = 1;
	/* '+': stop at the first non-option, so `run CMD -x` keeps -x for CMD.
	 * Options may stand before the command word and after replay's FILE. */
	for (;;) {
		c = getopt_long(argc, argv, "+p:d:j:r:t:vhV", longopts, NULL);
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
				else
					return fail("unknown command '%s' (try --help)", word) ? EXIT_USAGE : 0;
				have_cmd = true;
				optind++;
				continue;
			}
			if (o->cmd == CMD_REPLAY && !o->replay) {
				o->replay = word;
				optind++;
				continue;
			}
			break;
		}
		switch (c) {
		case 'p':
			errno = 0;
			o->pid = (int)strtol(optarg, &end, 10);
			if (errno || *end || o->pid <= 0)
				return fail("--pid needs a process id, not '%s'", optarg) ? EXIT_USAGE : 0;
			break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || !(o->duration > 0))
				return fail("--duration needs a positive number of seconds, not '%s'", optarg)
					       ? EXIT_USAGE : 0;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'r':
			o->record = optarg;
			break;
		case 't':
			o->max_tasks = strtoul(optarg, &end, 10);
			if (*end)
				return fail("--tasks needs a number, not '%s'", optarg) ? EXIT_USAGE : 0;
			break;
		case 'R':
			o->ringbuf_mb = strtoul(optarg, &end, 10);
			if (*end || o->ringbuf_mb == 0 || o->ringbuf_mb > 4096)
				return fail("--ringbuf-mb needs a size from 1 to 4096") ? EXIT_USAGE : 0;
			break;
		case 'v':
			o->verbose = true;
			break;
		case OPT_STUCK_AFTER:
			if (parse_duration(optarg, &o->stuck_after_ns))
				return fail("--stuck-after needs a duration such as 2s, 500ms or 3m, not '%s'",
					    optarg) ? EXIT_USAGE : 0;
			break;
		case OPT_ALL_FRAMES:
			o->all_frames = true;
			break;
		case OPT_FAIL_ON_DEADLOCK:
			o->fail_on_deadlock = true;
			o->locks = true; /* the waits on locks are most cycles' edges */
			break;
		case OPT_LOCKS:
			o->locks = true;
			break;
		case OPT_BLOCKING:
			if (!o->blocking_min_ns)
				o->blocking_min_ns = DEFAULT_BLOCKING_NS;
			break;
		case OPT_BLOCKING_THRESHOLD:
			if (strcmp(optarg, "0") && parse_duration(optarg, &o->blocking_min_ns))
				return fail("--blocking-threshold needs a duration such as 1ms or 500us, "
					    "not '%s'", optarg) ? EXIT_USAGE : 0;
			if (!strcmp(optarg, "0"))
				o->blocking_min_ns = 0;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("async-inspect-bpf " VERSION "\n");
			exit(0);
		default:
			ret = export_option(c, o);
			if (ret > 0)
				break;
			if (ret == 0)
				fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	switch (o->cmd) {
	case CMD_RUN:
		if (optind >= argc)
			return fail("run needs a command: run [OPTIONS] -- CMD [ARGS...]") ? EXIT_USAGE : 0;
		o->argv = &argv[optind];
		break;
	case CMD_REPLAY:
		if (!o->replay)
			return fail("replay needs a recording: replay FILE") ? EXIT_USAGE : 0;
		if (optind < argc)
			return fail("unexpected argument '%s'", argv[optind]) ? EXIT_USAGE : 0;
		break;
	case CMD_ATTACH:
		if (!o->pid)
			return fail("which process? give --pid PID, or use `run -- CMD` (try --help)")
				       ? EXIT_USAGE : 0;
		if (optind < argc)
			return fail("unexpected argument '%s'", argv[optind]) ? EXIT_USAGE : 0;
		break;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

static void on_signal(int sig)
{
	static struct timespec first;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
	if (stop_requested) {
		long ms = (now.tv_sec - first.tv_sec) * 1000 + (now.tv_nsec - first.tv_nsec) / 1000000;

		/* One Ctrl-C can arrive twice (to us, and to our process group);
		 * a second press by a person comes later: quit now. */
		if (ms < 300)
			return;
		if (paused_child > 0) {
			kill(paused_child, SIGTERM);
			kill(paused_child, SIGCONT);
		}
		signal(sig, SIG_DFL);
		raise(sig);
	}
	first = now;
	stop_requested = 1;
}

/* Uprobes and BPF programs need root, or CAP_BPF with CAP_PERFMON. */
static bool may_trace(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return (data[1].effective & (1u << (CAP_BPF - 32))) &&
	       (data[1].effective & (1u << (CAP_PERFMON - 32)));
}

static __u64 now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static const char *end_reason_name(__u32 reason, bool replay)
{
	switch (reason) {
	case AIB_END_TARGET_EXITED:
		return "target exited";
	case AIB_END_DURATION:
		return "duration reached";
	case AIB_END_INTERRUPTED:
		return "interrupted";
	case AIB_END_DEADLOCK:
		return "deadlock found";
	default:
		return replay ? "recording cut short" : "unknown";
	}
}

/* Look for deadlocks in the model as it is at `now`: how many new ones,
 * or -ENOMEM. */
static int check_deadlocks(struct deadlock_finder *df, const struct task_model *m, __u64 now)
{
	size_t n = task_model__join_waits(m, NULL, 0);
	struct join_wait *joins = calloc(n ? n : 1, sizeof(*joins));
	int found;

	if (!joins)
		return -ENOMEM;
	task_model__join_waits(m, joins, n);
	found = deadlock_finder__check(df, task_model__locks(m), joins, n, now);
	free(joins);
	return found;
}

static int write_outputs(struct task_model *model, const struct deadlock_finder *df,
			 const struct options *o, bool replay)
{
	struct report_opts ro = {
		.ended = end_reason_name(task_model__summary(model)->end_reason, replay),
		.max_tasks = o->max_tasks,
		.version = VERSION,
		.stuck_after_ns = o->stuck_after_ns,
		.all_frames = o->all_frames,
		.deadlocks = df,
	};
	bool json_stdout = o->json && !strcmp(o->json, "-");
	int err;

	if (!json_stdout) {
		err = report_text__write(model, &ro, stdout);
		if (err)
			return fail("cannot write the report: %s", strerror(-err));
	}
	if (o->json) {
		FILE *f = json_stdout ? stdout : fopen(o->json, "w");

		if (!f)
			return fail("cannot write %s: %s", o->json, strerror(errno));
		err = report_json__write(model, &ro, f);
		if (!json_stdout && fclose(f) && !err)
			err = -errno;
		if (err)
			return fail("cannot write %s: %s", o->json, strerror(-err));
	}
	return 0;
}

/* The exports asked for, or NULL after saying why one cannot be written. */
static struct export_set *open_exports(const struct options *o)
{
	const char *failed;
	struct export_set *s = export_set__open(&o->exports, &failed);

	if (!s)
		fail("cannot write %s: %s", failed ? failed : "the exports", strerror(errno));
	return s;
}

static int finish_exports(struct export_set *s, const struct task_model *m)
{
	const char *failed;
	int err = s ? export_set__finish(s, m, &failed) : 0;

	return err ? fail("cannot write %s: %s", failed, strerror(-err)) : 0;
}

static int cmd_replay(const struct options *o)
{
	struct recording_reader *r = recording_reader__open(o->replay);
	struct export_set *exports = NULL;
	struct deadlock_finder *df = deadlock_finder__new(DEADLOCK_CONFIRM_NS);
	struct task_model *model;
	const struct aib_hdr *rec;
	__u64 last_check = 0;
	int ret, err;

	if (!r) {
		if (errno == EPROTO)
			return fail("%s: not a recording this version can read (bad or unsupported header)",
				    o->replay);
		return fail("cannot open %s: %s", o->replay, strerror(errno));
	}
	model = task_model__new();
	if (!model || !df) {
		recording_reader__free(r);
		task_model__free(model);
		deadlock_finder__free(df);
		return fail("out of memory");
	}
	exports = open_exports(o);
	if (!exports) {
		ret = 1;
		goto out;
	}
	while ((ret = recording_reader__next(r, &rec)) == 1) {
		err = task_model__apply(model, rec);
		if (err) {
			ret = err;
			break;
		}
		export_set__record(exports, rec, model);
		/* the checks a live session made, at the same record times */
		if (rec->kind < AIB_REC_FIRST && rec->ts >= last_check + DEADLOCK_CHECK_NS) {
			if (last_check && check_deadlocks(df, model, rec->ts) < 0) {
				ret = -ENOMEM;
				break;
			}
			last_check = rec->ts;
		}
	}
	if (ret < 0) {
		fail("%s: corrupt recording: %s", o->replay,
		     *recording_reader__problem(r) ? recording_reader__problem(r) : strerror(-ret));
		goto out;
	}
	if (recording_reader__truncated(r))
		fprintf(stderr, "async-inspect-bpf: warning: %s: %s; the report covers what was recorded\n",
			o->replay, recording_reader__problem(r));
	task_model__finish(model, 0);
	check_deadlocks(df, model, task_model__summary(model)->end_ts);
	ret = finish_exports(exports, model);
	ret = write_outputs(model, df, o, true) || ret;
	if (!ret && o->fail_on_deadlock && deadlock_finder__count(df))
		ret = EXIT_DEADLOCK;
out:
	export_set__free(exports);
	recording_reader__free(r);
	task_model__free(model);
	deadlock_finder__free(df);
	return ret == EXIT_DEADLOCK ? ret : ret ? 1 : 0;
}

struct live {
	const struct options *o;
	struct target target;
	struct binary *bin; /* the target's executable, opened once */
	const struct elf_symbols *syms; /* binary__symbols(bin) */
	struct probe_plan plan;
	struct task_model *model;
	struct recording_writer *recording;
	struct session *session;
	struct export_set *exports;
	struct tracer *tracer;
	struct u64_map *return_sites; /* return addresses probed (AT_RUN_RETURN) */
	struct stack_namer *stacks;	 /* built while the target runs */
	int stacks_err;
	struct future_decoder *decoder;	 /* NULL without DWARF types */
	struct proc_mem *mem;		 /* the target's memory, for the decoder and the scan */
	struct u64_map *lock_kinds;	 /* lock return site -> enum aib_lock_kind */
	struct deadlock_finder *deadlocks;
	__u64 bias;
	__u64 last_lost, last_dropped;
};

static void emit_losses(struct live *l, bool force)
{
	struct aib_rec_lost rec = {.hdr = {.kind = AIB_REC_LOST, .size = sizeof(rec)}};

	if (tracer__losses(l->tracer, &rec.lost, &rec.dropped))
		return;
	if (!force && rec.lost == l->last_lost && rec.dropped == l->last_dropped)
		return;
	if (rec.lost > l->last_lost)
		fprintf(stderr, "async-inspect-bpf: %llu events lost so far (ring buffer full)\n",
			(unsigned long long)rec.lost);
	l->last_lost = rec.lost;
	l->last_dropped = rec.dropped;
	rec.hdr.ts = now_ns(CLOCK_MONOTONIC);
	session__emit(l->session, &rec.hdr);
}

static void emit_process(struct live *l)
{
	struct aib_rec_process rec = {.hdr = {.kind = AIB_REC_PROCESS, .size = sizeof(rec)}};

	rec.hdr.ts = now_ns(CLOCK_MONOTONIC);
	rec.realtime_ns = now_ns(CLOCK_REALTIME);
	rec.pid = (__u32)l->target.pid;
	rec.runtimes = l->plan.runtimes;
	snprintf(rec.runtime_desc, sizeof(rec.runtime_desc), "%s", l->plan.runtime_desc);
	rec.poll_sites = l->plan.poll_sites;
	rec.flags = (l->plan.spawn_sites ? AIB_PROC_SPAWN_LOCATIONS : 0) |
		    (l->target.ours ? 0 : AIB_PROC_LATE_ATTACH);
	/* the tail of a long path names the program best */
	size_t n = strlen(l->target.name);
	const char *name = n >= sizeof(rec.exe) ? l->target.name + n - (sizeof(rec.exe) - 1) : l->target.name;

	memcpy(rec.exe, name, strlen(name));
	session__emit(l->session, &rec.hdr);
}

/* A return site the BPF side found: probe it, at the first instruction
 * there the kernel emulates (a single-stepped one costs ~20x per poll). */
static int add_return_site(__u64 vaddr, enum aib_probe probe, void *ctx)
{
	struct live *l = ctx;
	struct probe_site site = {.probe = probe, .what = "a return site of RawTask::run"};
	char why[256] = "";
	int err;

	if (probe != AIB_PROBE_AT_RUN_RETURN)
		return -EINVAL;
	if (u64_map__get(l->return_sites, vaddr, NULL))
		return 0; /* found in the file already */
	if (u64_map__set(l->return_sites, vaddr, 0))
		return -ENOMEM;
	err = x86_code__cheap_probe_point(l->syms, vaddr, &site.vaddr);
	err = err ?: elf_symbols__vaddr_to_offset(l->syms, site.vaddr, &site.offset);
	err = err ?: tracer__attach_site(l->tracer, &site, why, sizeof(why));
	if (err)
		fprintf(stderr, "async-inspect-bpf: warning: no probe at return site 0x%llx (%s): "
			"polls from there end late\n", (unsigned long long)vaddr,
			why[0] ? why : strerror(-err));
	else if (l->o->verbose)
		fprintf(stderr, "  probe %d at 0x%llx: return site 0x%llx of RawTask::run\n", probe,
			(unsigned long long)site.offset, (unsigned long long)vaddr);
	return err;
}

static int await_stack(__u64 task, struct aib_await_stack *out, void *ctx)
{
	return tracer__await_stack(((struct live *)ctx)->tracer, task, out);
}

static int emit_rec(const struct aib_hdr *rec, void *ctx)
{
	return session__emit(((struct live *)ctx)->session, rec);
}

/* The target's memory, once it runs its own program (a `run` child is
 * held before its exec until released); NULL when it cannot be read. */
static struct proc_mem *target_memory(struct live *l)
{
	if (l->mem || l->target.exited)
		return l->mem;
	l->mem = proc_mem__open(l->target.pid);
	if (l->mem && proc_mem__load_bias(l->mem, &l->bias)) {
		proc_mem__close(l->mem);
		l->mem = NULL;
	}
	return l->mem;
}

/* Where every task still parked waits, into the record stream. */
static void resolve_parked(struct live *l)
{
	target_memory(l);
	struct parked_opts po = {
		.model = l->model, .stacks = l->stacks, .stacks_err = l->stacks_err,
		.await_stack = await_stack, .emit = emit_rec, .ctx = l, .now = now_ns(CLOCK_MONOTONIC),
		.decoder = l->mem ? l->decoder : NULL, .read_mem = proc_mem__read_cb,
		.read_ctx = l->mem, .bias = l->bias, .pid = l->target.pid,
	};
	struct parked_stats st;
	int err;

	if (!l->plan.await_sites)
		return;
	err = parked__resolve(&po, &st);
	if (err)
		fail("cannot resolve await sites: %s", strerror(-err));
	else if (l->o->verbose)
		fprintf(stderr, "async-inspect-bpf: %u parked tasks: %u await sites from stacks, "
			"%u from memory, %u unknown\n", st.parked, st.from_stack, st.from_memory,
			st.unknown);
}

/* A task running at attach: a tokio worker thread's carrier (a blocking
 * task around the worker loop, running for the runtime's life) unless its
 * future's type says otherwise, which takes full debug info. Left out: a
 * user's task in a poll shows up at the poll's end anyway. */
static bool is_carrier(struct live *l, const struct found_task *f, struct future_await *fa)
{
	if (f->runtime != AIB_RUNTIME_TOKIO || !(f->state & 0x1))
		return false;
	if (!l->decoder || !l->mem ||
	    future_decoder__tokio_task(l->decoder, f->header, l->bias, proc_mem__read_cb, l->mem, fa))
		return true;
	return !fa->nframes && strstr(fa->leaf_type, "scheduler::multi_thread::worker");
}

/* The tokio locks a task found at attach holds and waits for, read from
 * its parked future (full debug info): held before any probe could see. */
static void found_locks(struct live *l, const struct found_task *f, __u64 ts)
{
	struct future_lock locks[FUTURE_MAX_LOCKS];
	struct aib_ev_lock e = {.hdr = {.kind = AIB_EV_LOCK, .size = sizeof(e), .ts = ts}};
	int n;

	if (!l->decoder || !l->mem || f->runtime != AIB_RUNTIME_TOKIO || (f->state & 0x1))
		return;
	n = future_decoder__tokio_locks(l->decoder, f->header, l->bias, proc_mem__read_cb, l->mem,
					locks, FUTURE_MAX_LOCKS);
	for (int i = 0; i < n; i++) {
		e.sem = locks[i].sem;
		e.task = f->header;
		e.task_id = f->id;
		e.available = ~0ULL;
		e.permits = locks[i].permits;
		e.op = locks[i].waiting ? AIB_LOCK_PENDING : AIB_LOCK_HELD;
		e.kind = (__u16)locks[i].kind;
		session__emit(l->session, &e.hdr);
	}
}

/* Attached to a running process: the tasks it has now, parked ones
 * included, from its memory (probes are in place, so nothing that happens
 * next is missed; a task also seen by a probe keeps what the probe said). */
static void find_tasks(struct live *l)
{
	enum { MAX_FOUND = 1 << 20 };
	struct found_task *found = calloc(MAX_FOUND, sizeof(*found));
	struct aib_rec_task_found rec = {.hdr = {.kind = AIB_REC_TASK_FOUND, .size = sizeof(rec)}};
	struct future_await fa;
	struct task_scan_stats st;
	__u64 t0 = now_ns(CLOCK_MONOTONIC);
	int n, carriers = 0;

	if (!found) {
		fail("out of memory: tasks spawned before the attach are found on first sight only");
		return;
	}
	target_memory(l); /* kept for decoding futures at the end */
	n = task_scan__pid(l->target.pid, l->syms, NULL, found, MAX_FOUND, &st);
	if (n < 0) {
		fprintf(stderr, "async-inspect-bpf: warning: cannot search the target's memory for its "
			"tasks (%s): tasks spawned before the attach are found on first sight only\n",
			strerror(-n));
		free(found);
		return;
	}
	rec.hdr.ts = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i++) {
		if (is_carrier(l, &found[i], &fa)) {
			carriers++;
			continue;
		}
		rec.task = found[i].header;
		rec.task_id = found[i].id;
		rec.state = found[i].state;
		rec.runtime = found[i].runtime;
		session__emit(l->session, &rec.hdr);
		/* a guard found without the lock probes would never be released */
		if (l->plan.lock_sites)
			found_locks(l, &found[i], rec.hdr.ts);
	}
	fprintf(stderr, "async-inspect-bpf: %d tasks found in memory, and %d running ones taken "
		"for tokio's worker carriers (%.1f MiB searched in %.0f ms%s)\n",
		n - carriers, carriers, st.bytes / 1048576.0, (now_ns(CLOCK_MONOTONIC) - t0) / 1e6,
		st.truncated ? "; memory above the bound not searched" : "");
	free(found);
}

static const char *spawn_locations(const struct probe_plan *plan)
{
	bool tokio = plan->runtimes & AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO);
	bool at = plan->runtimes & AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK);

	if (at && plan->spawn_sites)
		return tokio ? "yes (async-task: unwound from the spawn's stack)"
			     : "unwound from the spawn's stack";
	return plan->spawn_sites && plan->next_id_vaddr ? "yes" : "no";
}

/* "optional captures: locks, blocking syscalls >= 1.00ms" */
static const char *captures(const struct options *o, char *buf, size_t len)
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

static int prepare(struct live *l)
{
	const struct options *o = l->o;
	char why[512] = "", captures_buf[96];
	struct stack_namer *awaits;
	int err;

	/* Read once, now (an attached target's /proc/PID/exe goes when it
	 * exits); every reader of the file borrows it. */
	l->bin = binary__open(l->target.exe);
	if (!l->bin) {
		if (errno == ENOEXEC)
			return fail("%s: not an x86_64 ELF executable", l->target.name);
		return fail("cannot read %s: %s", l->target.name, strerror(errno));
	}
	l->syms = binary__symbols(l->bin);
	if (!elf_symbols__has_symtab(l->syms))
		return fail("%s is stripped (no symbol table): rebuild it without stripping "
			    "(Cargo: [profile.release] strip = false), or inspect an unstripped copy",
			    l->target.name);
	err = probe_plan__for_binary(l->syms, &l->plan,
				     (o->locks ? PROBE_CAPTURE_LOCKS : 0) |
					     (o->blocking_min_ns ? PROBE_CAPTURE_BLOCKING : 0),
				     why, sizeof(why));
	if (err == -ENOENT)
		return fail("%s: %s", l->target.name, why);
	if (err)
		return fail("%s: cannot plan probes: %s", l->target.name, strerror(-err));

	/* One unwinder and symbolizer for every stack: spawns', and when the
	 * plan takes await stacks, those, blocked syscalls' and lock sites'. */
	l->stacks = stack_namer__new(l->bin);
	l->stacks_err = l->stacks ? 0 : errno;
	awaits = l->plan.await_sites ? l->stacks : NULL;
	/* Futures decoded from memory need full debug info. */
	if (l->plan.runtimes & AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO))
		l->decoder = future_decoder__new(l->bin);
	if (l->plan.lock_sites) {
		l->lock_kinds = tokio_lock_kinds(&l->plan,
						 awaits ? stack_namer__symbolizer(awaits) : NULL);
		if (!l->lock_kinds)
			return fail("out of memory");
	}
	l->model = task_model__new();
	l->return_sites = u64_map__new();
	l->deadlocks = deadlock_finder__new(DEADLOCK_CONFIRM_NS);
	if (!l->model || !l->return_sites || !l->deadlocks)
		return fail("out of memory");
	for (size_t i = 0; i < l->plan.nsites; i++)
		if (l->plan.sites[i].probe == AIB_PROBE_AT_RUN_RETURN &&
		    u64_map__set(l->return_sites, l->plan.sites[i].origin, 0))
			return fail("out of memory");
	if (o->record) {
		l->recording = recording_writer__open(o->record);
		if (!l->recording)
			return fail("cannot write %s: %s", o->record, strerror(errno));
	}
	l->exports = open_exports(o);
	if (!l->exports)
		return 1;
	l->session = session__new(&(struct session_opts){
		.model = l->model, .recording = l->recording, .binary = l->bin, .pid = l->target.pid,
		.exports = l->exports, .lock_kinds = l->lock_kinds, .spawn_stacks = l->stacks,
		.blocked_stacks = awaits, .add_return_site = add_return_site, .ctx = l});
	if (!l->session)
		return fail("out of memory");
	l->tracer = tracer__open(&l->plan,
				 &(struct tracer_opts){.pid = l->target.pid,
						       .binary = l->target.exe,
						       .ringbuf_bytes = o->ringbuf_mb << 20,
						       .blocked_min_ns = o->blocking_min_ns,
						       .on_sample = session__on_sample,
						       .ctx = l->session},
				 why, sizeof(why));
	if (!l->tracer)
		return fail("%s", why);
	err = tracer__attach(l->tracer, &l->plan, why, sizeof(why));
	if (err)
		return fail("%s", why);
	if (o->verbose)
		for (size_t i = 0; i < l->plan.nsites; i++)
			fprintf(stderr, "  probe %d%s at 0x%llx: %s\n", l->plan.sites[i].probe,
				l->plan.sites[i].retprobe ? " (return)" : "",
				(unsigned long long)l->plan.sites[i].offset, l->plan.sites[i].what);
	fprintf(stderr,
		"async-inspect-bpf: %s pid %d (%s): %s runtime, %u poll sites, %zu probes attached; "
		"spawn locations: %s; %s%s%s\n",
		l->target.ours ? "started" : "attached to", l->target.pid, l->target.name,
		l->plan.runtime_desc, l->plan.poll_sites, tracer__attached(l->tracer),
		spawn_locations(&l->plan), captures(o, captures_buf, sizeof(captures_buf)),
		l->plan.missing[0] ? "; not found: " : "", l->plan.missing);
	if (o->blocking_min_ns && tracer__blocking_error(l->tracer) &&
	    tracer__blocking_error(l->tracer) != -ENOTSUP)
		fprintf(stderr, "async-inspect-bpf: warning: blocking syscalls inside polls are not "
			"traced (syscall tracepoints: %s)\n", strerror(-tracer__blocking_error(l->tracer)));
	return 0;
}

/* Deadlocks found while the session runs, told at once on stderr, with
 * the await sites of the tasks involved. */
static void announce_deadlocks(struct live *l, size_t from)
{
	resolve_parked(l);
	for (size_t i = from; i < deadlock_finder__count(l->deadlocks); i++) {
		fputs("async-inspect-bpf: ", stderr);
		report_text__deadlock(l->model, deadlock_finder__get(l->deadlocks, i), stderr);
	}
}

static __u32 trace_loop(struct live *l)
{
	__u64 start = now_ns(CLOCK_MONOTONIC), last_tick = start, last_check = start;
	__u64 deadline = l->o->duration > 0 ? start + (__u64)(l->o->duration * 1e9) : 0;

	for (;;) {
		int err = tracer__poll(l->tracer, 100);
		__u64 now = now_ns(CLOCK_MONOTONIC);

		if (err < 0 && err != -EINTR) {
			fail("reading events failed: %s", strerror(-err));
			return AIB_END_INTERRUPTED;
		}
		if (stop_requested)
			return AIB_END_INTERRUPTED;
		if (deadline && now >= deadline)
			return AIB_END_DURATION;
		if (target__gone(&l->target))
			return AIB_END_TARGET_EXITED;
		if (now - last_check >= DEADLOCK_CHECK_NS) {
			size_t before = deadlock_finder__count(l->deadlocks);

			last_check = now;
			if (check_deadlocks(l->deadlocks, l->model, now) > 0) {
				announce_deadlocks(l, before);
				if (l->o->fail_on_deadlock)
					return AIB_END_DEADLOCK;
			}
		}
		if (now - last_tick >= 1000000000ULL) {
			last_tick = now;
			emit_losses(l, false);
			if (l->recording)
				recording_writer__flush(l->recording);
		}
	}
}

static int cmd_live(const struct options *o)
{
	struct live l = {.o = o};
	struct aib_rec_end end = {.hdr = {.kind = AIB_REC_END, .size = sizeof(end)}};
	struct sigaction sa = {.sa_handler = on_signal};
	int ret = 1, err;

	if (!may_trace())
		return fail("permission denied: attaching uprobes needs root (or CAP_BPF and "
			    "CAP_PERFMON); try: sudo async-inspect-bpf ...");
	if (o->cmd == CMD_RUN) {
		err = target__launch(&l.target, o->argv);
		if (err)
			return fail("cannot run %s: %s", o->argv[0], strerror(-err));
	} else {
		err = target__attach(&l.target, o->pid);
		if (err == -ESRCH)
			return fail("no process with pid %d", o->pid);
		if (err)
			return fail("cannot inspect pid %d: %s", o->pid, strerror(-err));
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (prepare(&l))
		goto out; /* run: closing the release pipe makes the held child exit */
	emit_process(&l);
	if (!l.target.ours)
		find_tasks(&l);
	if (target__release(&l.target)) {
		fail("cannot start %s", o->argv[0]);
		goto out;
	}

	end.reason = trace_loop(&l);
	if (end.reason == AIB_END_TARGET_EXITED)
		fprintf(stderr, "async-inspect-bpf: target exited, finishing the report\n");
	/* The session ends now, however long the detach takes. */
	end.hdr.ts = now_ns(CLOCK_MONOTONIC);
	/* A child we started is terminated after the report anyway: stop it
	 * first, because the kernel finishes unregistering uprobes only once no
	 * thread keeps hitting them (a worker's outer poll holds its uretprobe
	 * lease for as long as the worker keeps polling). */
	if (l.target.ours)
		paused_child = l.target.pid;
	target__pause(&l.target);
	/* Detach first so nothing new arrives, then take what is still queued. */
	__u64 t0 = now_ns(CLOCK_MONOTONIC);
	tracer__detach(l.tracer);
	__u64 t1 = now_ns(CLOCK_MONOTONIC);
	tracer__drain(l.tracer);
	if (o->verbose)
		fprintf(stderr, "async-inspect-bpf: detached in %.1f ms, drained in %.1f ms\n",
			(t1 - t0) / 1e6, (now_ns(CLOCK_MONOTONIC) - t1) / 1e6);
	emit_losses(&l, true);
	resolve_parked(&l);
	end.events = task_model__summary(l.model)->events;
	session__emit(l.session, &end.hdr);
	if (l.recording) {
		err = session__recording_error(l.session);
		if (recording_writer__close(l.recording) && !err)
			err = -EIO;
		l.recording = NULL;
		if (err)
			fail("recording to %s failed: %s (the report below is complete)", o->record,
			     strerror(-err));
	}
	if (session__invalid_samples(l.session))
		fprintf(stderr, "async-inspect-bpf: %llu malformed samples ignored\n",
			(unsigned long long)session__invalid_samples(l.session));
	/* Our child goes before the report so its output does not mix in. */
	target__terminate(&l.target, 2000);
	paused_child = 0;
	task_model__finish(l.model, end.hdr.ts);
	check_deadlocks(l.deadlocks, l.model, end.hdr.ts);
	err = finish_exports(l.exports, l.model);
	ret = write_outputs(l.model, l.deadlocks, o, false) || err;
	if (!ret && o->fail_on_deadlock && deadlock_finder__count(l.deadlocks))
		ret = EXIT_DEADLOCK;
	else if (!ret && l.target.ours && end.reason == AIB_END_TARGET_EXITED)
		ret = target__exit_code(&l.target);
out:
	if (l.target.release_fd >= 0) {
		target__release(&l.target); /* never leave a held child behind */
		target__terminate(&l.target, 0);
	}
	tracer__free(l.tracer);
	if (l.recording)
		recording_writer__abort(l.recording);
	session__free(l.session);
	export_set__free(l.exports);
	task_model__free(l.model);
	probe_plan__release(&l.plan);
	u64_map__free(l.return_sites);
	u64_map__free(l.lock_kinds);
	deadlock_finder__free(l.deadlocks);
	stack_namer__free(l.stacks);
	future_decoder__free(l.decoder);
	proc_mem__close(l.mem);
	binary__free(l.bin); /* last: the namer and the decoder borrow it */
	return ret;
}

int main(int argc, char **argv)
{
	struct options o;
	int ret = parse_args(argc, argv, &o);

	if (ret)
		return ret;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	libbpf_set_print(o.verbose ? libbpf_print : NULL);
	if (o.cmd == CMD_REPLAY)
		return cmd_replay(&o);
	return cmd_live(&o);
}
