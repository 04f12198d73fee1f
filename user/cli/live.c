// SPDX-License-Identifier: MIT
/*
 * The live commands, `--pid PID` (attach) and `run -- CMD`: open the target,
 * plan and attach the probes, trace until Ctrl-C, --duration or the target's
 * exit, detach, then write the outputs. Never leaves a process stopped or
 * held. Also each session `test` starts (--test-child, cli/test_run.c): on a
 * process stopped at its exec, continued once attached, watched for hung
 * tests (cli/hang.h), quiet unless one hangs or deadlocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "cli/commands.h"
#include "cli/hang.h"
#include "cli/live_view.h"
#include "cli/outputs.h"
#include "lib/clock.h"
#include "lib/u64_map.h"
#include "binary/binary.h"
#include "binary/debug_file.h"
#include "binary/elf_symbols.h"
#include "binary/symbolizer.h"
#include "binary/x86_code.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"
#include "trace/target.h"
#include "trace/tracer.h"
#include "record/recording.h"
#include "model/task_model.h"
#include "inspect/future_decoder.h"
#include "inspect/parked.h"
#include "inspect/proc_mem.h"
#include "inspect/stack_namer.h"
#include "analysis/deadlock.h"
#include "report/report.h"
#include "session/late_attach.h"
#include "session/session.h"

/* Set by the signal handler, read by the trace loop. */
static volatile sig_atomic_t stop_requested;
/* A child of ours stopped while probes detach: never leave it stopped. */
static volatile sig_atomic_t paused_child;

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

bool command__may_trace(void)
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

struct live {
	const struct options *o;
	struct target target;
	struct binary *bin;		 /* the target's executable, opened once */
	const struct elf_symbols *syms;	 /* binary__symbols(bin) */
	char stripped[PATH_MAX + 4200];	 /* why it has no symbols, if it has none */
	struct probe_plan plan;
	struct task_model *model;
	struct recording_writer *recording;
	struct session *session;
	struct export_set *exports;
	FILE *json;			 /* --json, opened before the session */
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
	struct hang_watch hang; /* --test-child */
	struct live_view *view; /* top: the screen */
	FILE *child_out;	/* top -- CMD: its output, kept while the screen shows */
};

static void emit_losses(struct live *l, bool force)
{
	struct aib_rec_lost rec = {.hdr = {.kind = AIB_REC_LOST, .size = sizeof(rec)}};
	struct aib_rec_drops by = {.hdr = {.kind = AIB_REC_DROPS, .size = sizeof(by)}};

	if (tracer__losses(l->tracer, &rec.lost, &rec.dropped, by.count))
		return;
	if (!force && rec.lost == l->last_lost && rec.dropped == l->last_dropped)
		return;
	if (rec.lost > l->last_lost)
		fprintf(stderr, "async-inspect-bpf: %llu events lost so far (ring buffer full)\n",
			(unsigned long long)rec.lost);
	if (rec.dropped > l->last_dropped) {
		fprintf(stderr, "async-inspect-bpf: %llu events dropped so far:",
			(unsigned long long)rec.dropped);
		for (int d = AIB_DROP_RINGBUF + 1; d < AIB_DROP_MAX; d++)
			if (by.count[d])
				fprintf(stderr, " %llu %s (%s);", (unsigned long long)by.count[d],
					aib_drop_key(d), aib_drop_what(d));
		fputc('\n', stderr);
	}
	l->last_lost = rec.lost;
	l->last_dropped = rec.dropped;
	rec.hdr.ts = by.hdr.ts = clock__ns(CLOCK_MONOTONIC);
	session__emit(l->session, &rec.hdr);
	session__emit(l->session, &by.hdr);
}

static bool has_line_tables(struct live *l)
{
	return l->stacks && symbolizer__has_lines(stack_namer__symbolizer(l->stacks));
}

static void emit_process(struct live *l)
{
	struct aib_rec_process rec = {.hdr = {.kind = AIB_REC_PROCESS, .size = sizeof(rec)}};

	rec.hdr.ts = clock__ns(CLOCK_MONOTONIC);
	rec.realtime_ns = clock__ns(CLOCK_REALTIME);
	rec.pid = (__u32)l->target.pid;
	rec.runtimes = l->plan.runtimes;
	snprintf(rec.runtime_desc, sizeof(rec.runtime_desc), "%s", l->plan.runtime_desc);
	rec.poll_sites = l->plan.poll_sites;
	rec.flags = (l->plan.spawn_sites || l->plan.spawn_stack_sites ? AIB_PROC_SPAWN_LOCATIONS : 0) |
		    (l->target.ours || l->o->test_child ? 0 : AIB_PROC_LATE_ATTACH) |
		    (has_line_tables(l) ? 0 : AIB_PROC_NO_LINE_TABLES) |
		    (l->plan.spawn_kinds_unknown ? AIB_PROC_NO_SPAWN_KINDS : 0);
	/* the tail of a long path names the program best */
	size_t n = strlen(l->target.name);
	const char *name = n >= sizeof(rec.exe) ? l->target.name + n - (sizeof(rec.exe) - 1) : l->target.name;

	memcpy(rec.exe, name, strlen(name));
	session__emit(l->session, &rec.hdr);

	_Alignas(8) __u8 buf[sizeof(struct aib_rec_build_id) + AIB_BUILD_ID_MAX] = {0};
	struct aib_rec_build_id *bid = (void *)buf;
	int len = binary__build_id(l->bin, bid->id, AIB_BUILD_ID_MAX);

	if (len > 0) {
		bid->hdr = (struct aib_hdr){.kind = AIB_REC_BUILD_ID, .ts = rec.hdr.ts,
					    .size = (__u16)(sizeof(*bid) + (size_t)len)};
		bid->len = (__u32)len;
		session__emit(l->session, &bid->hdr);
	}
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
		cli__warn("no probe at return site 0x%llx (%s): polls from there end late",
			  (unsigned long long)vaddr, why[0] ? why : strerror(-err));
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

/* Where the tasks parked (idle at least min_parked_ns and not named since
 * their park began; 0: every one) wait, into the record stream. */
static void resolve_parked(struct live *l, __u64 min_parked_ns)
{
	target_memory(l);
	struct parked_opts po = {
		.model = l->model, .stacks = l->stacks, .stacks_err = l->stacks_err,
		.await_stack = await_stack, .emit = emit_rec, .ctx = l,
		.now = clock__ns(CLOCK_MONOTONIC),
		.decoder = l->mem ? l->decoder : NULL, .read_mem = proc_mem__read_cb,
		.read_ctx = l->mem, .bias = l->bias, .pid = l->target.pid,
		.min_parked_ns = min_parked_ns,
	};
	struct parked_stats st;
	int err;

	if (!l->plan.await_sites)
		return;
	err = parked__resolve(&po, &st);
	if (err)
		cli__fail("cannot resolve await sites: %s", strerror(-err));
	else if (l->o->verbose)
		fprintf(stderr, "async-inspect-bpf: %u parked tasks: %u await sites from stacks, "
			"%u from memory, %u unknown\n", st.parked, st.from_stack, st.from_memory,
			st.unknown);
}

/* Attached to a running process: the tasks it has now, from its memory. */
static void find_tasks(struct live *l)
{
	struct proc_mem *mem = target_memory(l); /* kept for decoding futures at the end */
	struct late_attach la = {
		.pid = l->target.pid, .syms = l->syms, .decoder = l->decoder, .mem = mem,
		.bias = l->bias, .locks = l->plan.lock_sites,
		.permit_shift = l->plan.lock_layout.permit_shift, .session = l->session,
		.stacks = l->plan.root_sites ? l->stacks : NULL, .tracer = l->tracer,
		.runtimes = l->plan.runtimes,
	};
	struct late_attach_stats st;
	__u64 t0 = clock__ns(CLOCK_MONOTONIC);
	int err = late_attach__find_tasks(&la, &st), roots = late_attach__find_roots(&la);

	if (roots < 0)
		cli__warn("cannot look for threads parked in a block_on (%s): their roots show up at "
			  "their next start only", strerror(-roots));
	else if (roots)
		fprintf(stderr, "async-inspect-bpf: %d threads parked in a block_on: their futures "
			"are block_on roots\n", roots);

	if (err) {
		cli__warn("cannot search the target's memory for its tasks (%s): tasks spawned "
			  "before the attach are found on first sight only", strerror(-err));
		return;
	}
	fprintf(stderr, "async-inspect-bpf: %d tasks found in memory, and %d running ones taken "
		"for tokio's worker carriers (%.1f MiB searched in %.0f ms%s)\n",
		st.tasks, st.carriers, st.scan.bytes / 1048576.0,
		(clock__ns(CLOCK_MONOTONIC) - t0) / 1e6,
		st.scan.truncated ? "; memory above the bound not searched" : "");
}

/* How spawn locations are found: tokio's spawn functions are given a
 * #[track_caller] Location; where they are inlined, and for async-task
 * (which keeps none), the spawn's stack is unwound to the program's frame. */
static const char *spawn_locations(struct live *l, char *buf, size_t len)
{
	const struct probe_plan *plan = &l->plan;
	bool tokio = plan->runtimes & AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO);
	bool at = plan->runtimes & AIB_RUNTIME_BIT(AIB_RUNTIME_ASYNC_TASK);
	bool track_caller = tokio && plan->spawn_sites && plan->next_id_vaddr;
	bool stack = (tokio && plan->spawn_stack_sites) || (at && plan->spawn_sites);

	if (!track_caller && !stack)
		return "no";
	snprintf(buf, len, "%s%s%s", track_caller ? "#[track_caller] Location" : "",
		 track_caller && stack ? ", " : "",
		 !stack ? "" : tokio && at ? "the stack where inlined and for async-task"
			     : tokio	   ? "the stack where inlined"
					   : "the spawn's stack");
	return buf;
}

/* "; debug info: FILE (how found)" for the start-up line, when a separate
 * debug file is used. */
static const char *debug_info(const struct live *l, char *buf, size_t len)
{
	const struct debug_file *df = binary__debug_file(l->bin);

	if (!df || !debug_file__elf(df))
		return "";
	snprintf(buf, len, "; debug info: %s (%s)", debug_file__path(df),
		 debug_file__source_name(debug_file__source(df)));
	return buf;
}

/* The executable and its debug file, if it has one. */
static int open_binary(struct live *l)
{
	const struct options *o = l->o;
	const struct debug_file *df;
	char where[PATH_MAX + 4096] = ""; /* where no symbol table was found */

	/* test's sessions look locally, as test did before starting them */
	l->bin = binary__open_with_debug(l->target.exe,
					 &(struct debug_search){.given = o->debuginfo,
								.debuginfod = !o->test_child});
	if (!l->bin) {
		if (errno == ENOEXEC)
			return cli__fail("%s: not an x86_64 ELF executable", l->target.name);
		return cli__fail("cannot read %s: %s", l->target.name, strerror(errno));
	}
	l->syms = binary__symbols(l->bin);
	df = binary__debug_file(l->bin);
	/* test gives it to every program of its tree: it fits one of them */
	if (df && debug_file__given_refused(df) && !o->test_child)
		return cli__fail("cannot use --debuginfo %s for %s: %s", o->debuginfo,
				 l->target.name, debug_file__given_refused(df));
	if (elf_symbols__has_symtab(l->syms))
		return 0;
	/* its runtime may still be found by its structure (the plan) */
	if (df && debug_file__elf(df))
		snprintf(where, sizeof(where), ", nor has its debug file %s", debug_file__path(df));
	else if (df)
		snprintf(where, sizeof(where), ", no debug file: %s", debug_file__tried(df));
	snprintf(l->stripped, sizeof(l->stripped), "is stripped (no symbol table%s)", where);
	return 0;
}

static int prepare(struct live *l)
{
	const struct options *o = l->o;
	char why[512] = "", captures_buf[96], spawn_buf[192], debug_buf[PATH_MAX + 64];
	const struct debug_file *df;
	struct stack_namer *awaits;
	int err;

	/* Read once, now (an attached target's /proc/PID/exe goes when it
	 * exits); every reader of the file borrows it. */
	err = open_binary(l);
	if (err)
		return err;
	err = probe_plan__for_binary(l->syms, &l->plan,
				     (o->locks ? PROBE_CAPTURE_LOCKS : 0) |
					     (o->blocking_min_ns ? PROBE_CAPTURE_BLOCKING : 0),
				     why, sizeof(why));
	if (err == -ENOENT && l->stripped[0])
		return cli__fail("%s %s, and %s: rebuild it without stripping (Cargo: [profile.release] "
				 "strip = false), give its debug file (--debuginfo FILE), or inspect an "
				 "unstripped copy", l->target.name, l->stripped, why);
	if (err == -ENOENT)
		return cli__fail("%s: %s", l->target.name, why);
	if (err)
		return cli__fail("%s: cannot plan probes: %s", l->target.name, strerror(-err));

	/* One unwinder and symbolizer for every stack: spawns', and when the
	 * plan takes await stacks, those, blocked syscalls' and lock sites'. */
	l->stacks = stack_namer__new(l->bin);
	l->stacks_err = l->stacks ? 0 : errno;
	if (!has_line_tables(l))
		probe_plan__note_missing(&l->plan, "the program's line tables "
			"(debug = \"line-tables-only\" in [profile.release] brings file:line)");
	awaits = l->plan.await_sites ? l->stacks : NULL;
	/* Futures decoded from memory need full debug info. */
	if (l->plan.runtimes & AIB_RUNTIME_BIT(AIB_RUNTIME_TOKIO))
		l->decoder = future_decoder__new(l->bin);
	if (l->plan.lock_sites) {
		l->lock_kinds = runtime__lock_kinds(&l->plan,
						    awaits ? stack_namer__symbolizer(awaits) : NULL);
		if (!l->lock_kinds)
			return cli__fail("out of memory");
	}
	l->model = task_model__new();
	l->return_sites = u64_map__new();
	l->deadlocks = deadlock_finder__new(DEADLOCK_CONFIRM_NS);
	if (!l->model || !l->return_sites || !l->deadlocks)
		return cli__fail("out of memory");
	for (size_t i = 0; i < l->plan.nsites; i++)
		if (l->plan.sites[i].probe == AIB_PROBE_AT_RUN_RETURN &&
		    u64_map__set(l->return_sites, l->plan.sites[i].origin, 0))
			return cli__fail("out of memory");
	if (o->record) {
		l->recording = recording_writer__open(o->record);
		if (!l->recording)
			return cli__fail("cannot write %s: %s", o->record, strerror(errno));
	}
	if (outputs__open_json(o, &l->json))
		return 1;
	l->exports = outputs__open_exports(o);
	if (!l->exports)
		return 1;
	l->session = session__new(&(struct session_opts){
		.model = l->model, .recording = l->recording, .binary = l->bin, .pid = l->target.pid,
		.launched = l->target.ours,
		.exports = l->exports, .lock_kinds = l->lock_kinds, .spawn_stacks = l->stacks,
		.blocked_stacks = awaits, .add_return_site = add_return_site, .ctx = l});
	if (!l->session)
		return cli__fail("out of memory");
	l->tracer = tracer__open(&l->plan,
				 &(struct tracer_opts){.pid = l->target.pid,
						       .binary = l->target.exe,
						       .ringbuf_bytes = o->ringbuf_mb << 20,
						       .blocked_min_ns = o->blocking_min_ns,
						       .on_sample = session__on_sample,
						       .ctx = l->session},
				 why, sizeof(why));
	if (!l->tracer)
		return cli__fail("%s", why);
	err = tracer__attach(l->tracer, &l->plan, why, sizeof(why));
	if (err)
		return cli__fail("%s", why);
	if (o->verbose)
		for (size_t i = 0; i < l->plan.nsites; i++)
			fprintf(stderr, "  probe %d%s at 0x%llx: %s\n", l->plan.sites[i].probe,
				l->plan.sites[i].retprobe ? " (return)" : "",
				(unsigned long long)l->plan.sites[i].offset, l->plan.sites[i].what);
	if (!o->test_child) /* test's own: quiet unless a test hangs */
		fprintf(stderr,
		"async-inspect-bpf: %s pid %d (%s): %s runtime, %u poll sites, %zu probes attached; "
		"spawn locations: %s%s; %s%s%s\n",
		l->target.ours ? "started" : "attached to", l->target.pid, l->target.name,
		l->plan.runtime_desc, l->plan.poll_sites, tracer__attached(l->tracer),
		spawn_locations(l, spawn_buf, sizeof(spawn_buf)), debug_info(l, debug_buf, sizeof(debug_buf)),
		options__captures(o, captures_buf, sizeof(captures_buf)),
		l->plan.missing[0] ? "; not found: " : "", l->plan.missing);
	df = binary__debug_file(l->bin);
	if (!o->test_child && df && !debug_file__elf(df))
		fprintf(stderr, "async-inspect-bpf: no debug info in %s and no debug file for it "
			"(tried: %s): %s\n", l->target.name, debug_file__tried(df),
			l->stripped[0] ? "no names: tasks by id, frames by code address"
				       : "names come from its symbol table, without file:line or types");
	if (o->blocking_min_ns && tracer__blocking_error(l->tracer) &&
	    tracer__blocking_error(l->tracer) != -ENOTSUP)
		cli__warn("blocking syscalls inside polls are not traced (syscall tracepoints: %s)",
			  strerror(-tracer__blocking_error(l->tracer)));
	if (tracer__exec_error(l->tracer))
		cli__warn("an exec of the target would not be seen (exec tracepoint: %s)",
			  strerror(-tracer__exec_error(l->tracer)));
	return 0;
}

/* Deadlocks found while the session runs, told at once on stderr, with
 * the await sites of the tasks involved. */
static void announce_deadlocks(struct live *l, size_t from)
{
	resolve_parked(l, 0);
	for (size_t i = from; i < deadlock_finder__count(l->deadlocks); i++) {
		fputs("async-inspect-bpf: ", stderr);
		report_text__deadlock(l->model, deadlock_finder__get(l->deadlocks, i), stderr);
	}
}

static void view_resolve(void *ctx, __u64 min_parked_ns)
{
	resolve_parked(ctx, min_parked_ns);
}

/* top: the screen takes the terminal. 0, or -1 with errno. */
static int open_view(struct live *l)
{
	char title[PATH_MAX + 128];

	snprintf(title, sizeof(title), "pid %d (%s): %s", l->target.pid, l->target.name,
		 l->plan.runtime_desc);
	l->view = live_view__new(&(struct live_view_opts){
		.title = title, .model = l->model, .deadlocks = l->deadlocks,
		.stuck_after_ns = l->o->stuck_after_ns, .locks = l->plan.lock_sites > 0,
		.resolve_parked = view_resolve, .ctx = l}, clock__ns(CLOCK_MONOTONIC));
	return l->view ? 0 : -1;
}

/* top -- CMD: what the command wrote while the screen held the terminal. */
static void print_child_output(struct live *l)
{
	char buf[4096];
	size_t n;

	if (!l->child_out)
		return;
	fflush(stdout);
	rewind(l->child_out);
	while ((n = fread(buf, 1, sizeof(buf), l->child_out)) > 0)
		fwrite(buf, 1, n, stdout);
	fflush(stdout);
}

static __u32 trace_loop(struct live *l)
{
	__u64 start = clock__ns(CLOCK_MONOTONIC), last_tick = start, last_check = start;
	__u64 deadline = l->o->duration > 0 ? start + (__u64)(l->o->duration * 1e9) : 0;

	for (;;) {
		int err = tracer__poll(l->tracer, 100);
		__u64 now = clock__ns(CLOCK_MONOTONIC);

		if (err < 0 && err != -EINTR) {
			cli__fail("reading events failed: %s", strerror(-err));
			return AIB_END_INTERRUPTED;
		}
		if (stop_requested)
			return AIB_END_INTERRUPTED;
		if (deadline && now >= deadline)
			return AIB_END_DURATION;
		if (target__gone(&l->target))
			return AIB_END_TARGET_EXITED;
		if (session__exec_ts(l->session))
			return AIB_END_TARGET_EXEC;
		if (now - last_check >= DEADLOCK_CHECK_NS) {
			size_t before = deadlock_finder__count(l->deadlocks);

			last_check = now;
			if (deadlock_finder__check_model(l->deadlocks, l->model, now) > 0) {
				if (!l->o->test_child && !l->view) /* said with its report, or top's banner */
					announce_deadlocks(l, before);
				if (l->o->fail_on_deadlock || l->o->test_child)
					return AIB_END_DEADLOCK;
			}
			if (l->o->test_child && hang_watch__check(&l->hang, l->model, now))
				return AIB_END_HANG;
		}
		if (l->view && live_view__tick(l->view, now))
			return AIB_END_INTERRUPTED;
		if (now - last_tick >= 1000000000ULL) {
			last_tick = now;
			emit_losses(l, false);
			if (l->recording)
				recording_writer__flush(l->recording);
		}
	}
}

/* The files of a test process (--test-child): kept, with its report on
 * stderr, when a test hung or deadlocked (status EXIT_HANG or
 * EXIT_DEADLOCK); else removed, its folder too. Its summary line either
 * way, for test to print at the end. */
static int test_child_end(struct live *l, __u32 reason, bool failed)
{
	const struct options *o = l->o;
	bool kept = reason == AIB_END_HANG || reason == AIB_END_DEADLOCK ||
		    deadlock_finder__count(l->deadlocks);
	const char *files[] = {o->json, o->record, o->exports.perfetto};
	char summary[PATH_MAX];
	int ret;

	if (reason == AIB_END_HANG)
		hang_watch__say(&l->hang, l->model, l->target.pid, stderr);
	else if (kept)
		fprintf(stderr, "Found a deadlock in test process %d (%s)\n", l->target.pid,
			l->target.name);
	ret = outputs__write(l->model, l->deadlocks, o, false, kept ? stderr : NULL, l->json);
	l->json = NULL; /* closed */
	/* a hung test process and what it started end here, once said (its
	 * futures were read before), so the run goes on */
	if (kept) {
		target__kill_tree(l->target.pid);
		fprintf(stderr, "async-inspect-bpf: its files: %s/\n", o->output_dir);
	}
	for (size_t i = 0; !kept && i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i])
			unlink(files[i]);
	if (!kept)
		rmdir(o->output_dir);
	snprintf(summary, sizeof(summary), "%s.summary", o->output_dir);
	hang_watch__summary(&l->hang, l->model, l->deadlocks, l->target.name, l->target.pid,
			    o->stuck_after_ns, summary);
	if (ret || failed)
		return EXIT_ERROR;
	return reason == AIB_END_HANG ? EXIT_HANG : kept ? EXIT_DEADLOCK : 0;
}

int command__live(const struct options *o)
{
	struct live l = {.o = o};
	struct aib_rec_end end = {.hdr = {.kind = AIB_REC_END, .size = sizeof(end)}};
	struct sigaction sa = {.sa_handler = on_signal};
	int ret = 1, err, rec_err = 0;

	if (!command__may_trace())
		return cli__fail("permission denied: attaching uprobes needs root (or CAP_BPF and "
			    "CAP_PERFMON); try: sudo async-inspect-bpf ...");
	if (o->top && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		return cli__fail("top draws on a terminal, and %s is none: run it in one (or use %s for "
				 "a report)", isatty(STDIN_FILENO) ? "stdout" : "stdin",
				 o->cmd == CMD_RUN ? "run" : "--pid");
	if (o->cmd == CMD_RUN) {
		l.child_out = o->top ? tmpfile() : NULL;
		/* appended to, by CMD and what it starts, wherever we read */
		if (o->top && (!l.child_out || fcntl(fileno(l.child_out), F_SETFL, O_APPEND)))
			return cli__fail("cannot keep the command's output: %s", strerror(errno));
		err = target__launch_into(&l.target, o->argv, l.child_out ? fileno(l.child_out) : -1);
		if (err)
			return cli__fail("cannot run %s: %s", o->argv[0], strerror(-err));
	} else {
		err = target__attach(&l.target, o->pid);
		if (err == -ESRCH)
			return cli__fail("no process with pid %d", o->pid);
		if (err == TARGET_THREAD)
			return cli__fail("%d is a thread of process %d: give --pid %d", o->pid,
					 l.target.pid, l.target.pid);
		if (err == TARGET_ZOMBIE)
			return cli__fail("process %d has exited (a zombie its parent has not reaped)",
					 o->pid);
		if (err == TARGET_KTHREAD)
			return cli__fail("%d is a kernel thread: there is no program to inspect", o->pid);
		if (err)
			return cli__fail("cannot inspect pid %d: %s", o->pid, strerror(-err));
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o->top) { /* the terminal closed: end the session as Ctrl-C does */
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGQUIT, &sa, NULL);
	}

	if (prepare(&l))
		goto out; /* run: closing the release pipe makes the held child exit */
	emit_process(&l);
	if (o->test_child) {
		/* stopped at its exec by test's follower: nothing ran yet */
		hang_watch__init(&l.hang, o->hang_timeout_ns, clock__ns(CLOCK_MONOTONIC),
				 l.target.pid, probe_plan__function(l.syms, "test::test_main*") != 0);
		kill(l.target.pid, SIGCONT);
	} else if (!l.target.ours) {
		find_tasks(&l);
	}
	/* before CMD runs: should the terminal not be had, it never does */
	if (o->top && open_view(&l)) {
		ret = cli__fail("cannot take the terminal: %s", strerror(errno));
		goto out;
	}
	if (target__release(&l.target)) {
		cli__fail("cannot start %s", o->argv[0]);
		goto out;
	}

	end.reason = trace_loop(&l);
	if (end.reason != AIB_END_TARGET_EXITED) { /* the terminal back first */
		live_view__free(l.view);
		l.view = NULL;
	}
	if (end.reason == AIB_END_TARGET_EXITED && !o->test_child)
		fprintf(stderr, "async-inspect-bpf: target exited, finishing the report\n");
	if (end.reason == AIB_END_TARGET_EXEC && !o->test_child) /* test follows the exec */
		fprintf(stderr, "async-inspect-bpf: target exec'd a new program, which is not traced: "
			"finishing the report on the old one\n");
	/* The session ends now, however long the detach takes. */
	end.hdr.ts = clock__ns(CLOCK_MONOTONIC);
	/* A child we started is terminated after the report anyway: stop it
	 * first, because the kernel finishes unregistering uprobes only once no
	 * thread keeps hitting them (a worker's outer poll holds its uretprobe
	 * lease for as long as the worker keeps polling). */
	if (l.target.ours)
		paused_child = l.target.pid;
	target__pause(&l.target);
	/* Detach first so nothing new arrives, then take what is still queued. */
	__u64 t0 = clock__ns(CLOCK_MONOTONIC);
	tracer__detach(l.tracer);
	__u64 t1 = clock__ns(CLOCK_MONOTONIC);
	tracer__drain(l.tracer);
	if (o->verbose)
		fprintf(stderr, "async-inspect-bpf: detached in %.1f ms, drained in %.1f ms\n",
			(t1 - t0) / 1e6, (clock__ns(CLOCK_MONOTONIC) - t1) / 1e6);
	emit_losses(&l, true);
	resolve_parked(&l, 0);
	end.events = task_model__summary(l.model)->events;
	session__emit(l.session, &end.hdr);
	if (l.view) { /* the target's end stays on the screen until q */
		live_view__ended(l.view, end.hdr.ts, &stop_requested);
		live_view__free(l.view);
		l.view = NULL;
	}
	if (l.recording) {
		int close_err = recording_writer__close(l.recording);

		rec_err = session__recording_error(l.session) ?: close_err;
		l.recording = NULL;
		if (rec_err)
			cli__fail("recording to %s failed: %s (the report below is complete)", o->record,
				  strerror(-rec_err));
	}
	if (session__invalid_samples(l.session))
		fprintf(stderr, "async-inspect-bpf: %llu malformed samples ignored\n",
			(unsigned long long)session__invalid_samples(l.session));
	/* Our child goes before the report so its output does not mix in. */
	target__terminate(&l.target, 2000);
	paused_child = 0;
	print_child_output(&l); /* top -- CMD: all of it, its last words too */
	task_model__finish(l.model, end.hdr.ts);
	deadlock_finder__check_model(l.deadlocks, l.model, end.hdr.ts);
	err = outputs__finish_exports(l.exports, l.model);
	/* any output lost is an error, the recording's too */
	if (o->test_child) {
		ret = test_child_end(&l, end.reason, err || rec_err);
		goto out;
	}
	ret = outputs__write(l.model, l.deadlocks, o, false, stdout, l.json) || err || rec_err
		      ? EXIT_ERROR
		      : 0;
	l.json = NULL; /* closed */
	if (!ret && o->fail_on_deadlock && deadlock_finder__count(l.deadlocks))
		ret = EXIT_DEADLOCK;
	else if (!ret && l.target.ours && end.reason == AIB_END_TARGET_EXITED)
		ret = target__exit_code(&l.target);
out:
	live_view__free(l.view);
	if (l.child_out)
		fclose(l.child_out);
	if (l.target.release_fd >= 0) {
		target__release(&l.target); /* never leave a held child behind */
		target__terminate(&l.target, 0);
	}
	tracer__free(l.tracer);
	if (l.recording)
		recording_writer__abort(l.recording);
	session__free(l.session);
	outputs__close_json(l.json);
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

