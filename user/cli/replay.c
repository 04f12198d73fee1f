// SPDX-License-Identifier: MIT
/*
 * `replay FILE`: a recording through the same model, deadlock checks and
 * outputs as the live session that made it (no root needed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/outputs.h"
#include "analysis/deadlock.h"
#include "binary/binary.h"
#include "binary/symbolizer.h"
#include "inspect/stack_namer.h"
#include "model/task_model.h"
#include "record/await_site.h"
#include "record/recording.h"

/* `--debuginfo FILE`: the stacks a stripped binary's session recorded by
 * code address, named from FILE (its debug file, or the unstripped build)
 * once its build-id is the recording's. */
struct debug_names {
	struct binary *bin;
	struct symbolizer *sym;
	__u64 named, kept; /* stacks recorded by address: named, or not */
	_Alignas(8) char buf[sizeof(struct aib_rec_await) + AIB_AWAIT_TEXT_MAX];
};

/* The recording's build-id record (it follows the process record), hex
 * into out; "" if it has none. */
static void recorded_build_id(const char *path, char *out)
{
	struct recording_reader *r = recording_reader__open(path);
	const struct aib_hdr *rec;

	out[0] = 0;
	for (int i = 0; r && i < 16 && recording_reader__next(r, &rec) == 1; i++) {
		const struct aib_rec_build_id *b = (const void *)rec;

		if (rec->kind != AIB_REC_BUILD_ID)
			continue;
		for (__u32 k = 0; k < b->len; k++)
			snprintf(out + 2 * k, 3, "%02x", b->id[k]);
		break;
	}
	recording_reader__free(r);
}

/* Opens FILE for the recording at path: 0, or the exit status after the
 * one-line error. */
static int debug_names__open(struct debug_names *dn, const char *file, const char *path)
{
	unsigned char id[AIB_BUILD_ID_MAX];
	char want[2 * AIB_BUILD_ID_MAX + 1], have[2 * AIB_BUILD_ID_MAX + 1] = "";
	int n;

	dn->bin = binary__open(file);
	if (!dn->bin)
		return cli__fail("--debuginfo %s: %s", file, strerror(errno));
	n = binary__build_id(dn->bin, id, sizeof(id));
	for (int k = 0; k < n; k++)
		snprintf(have + 2 * k, 3, "%02x", id[k]);
	recorded_build_id(path, want);
	if (!want[0])
		return cli__fail("--debuginfo %s: %s names no build-id to check it against (recorded "
				 "by an older version, or of a binary without one)", file, path);
	if (strcmp(want, have))
		return cli__fail("--debuginfo %s: build-id %s, the recording's executable has %s", file,
				 have[0] ? have : "(none)", want);
	dn->sym = symbolizer__new(dn->bin);
	return dn->sym ? 0 : cli__fail("out of memory");
}

static void debug_names__close(struct debug_names *dn)
{
	symbolizer__free(dn->sym);
	binary__free(dn->bin);
}

/* rec, or its copy with the stack recorded by address named (valid until
 * the next call), or with the file's line tables said (a process record). */
static const struct aib_hdr *debug_names__apply(struct debug_names *dn, const struct aib_hdr *rec)
{
	struct await_desc d;
	int renamed;

	if (!dn->sym)
		return rec;
	if (rec->kind == AIB_REC_PROCESS && symbolizer__has_lines(dn->sym)) {
		struct aib_rec_process *p = memcpy(dn->buf, rec, sizeof(*p));

		p->flags &= ~(__u32)AIB_PROC_NO_LINE_TABLES;
		return &p->hdr;
	}
	if (rec->kind == AIB_REC_AWAIT) {
		const struct aib_rec_await *a = (const void *)rec;

		if (await_desc__from_record(a, &d) || (renamed = stack_namer__rename_addresses(dn->sym, &d)) < 0)
			return rec;
		dn->named += renamed;
		return renamed ? &await_desc__to_record(&d, a->task, a->task_id, a->hdr.ts, dn->buf)->hdr
			       : rec;
	}
	if (rec->kind == AIB_REC_BLOCKED) {
		const struct aib_rec_blocked *b = (const void *)rec;
		struct aib_ev_blocked e = {.hdr = b->hdr, .task = b->task, .task_id = b->task_id,
					   .start_ts = b->start_ts, .arg = b->arg,
					   .syscall = b->syscall, .op = b->op};

		if (await_desc__from_blocked_record(b, &d) ||
		    (renamed = stack_namer__rename_addresses(dn->sym, &d)) < 0)
			return rec;
		dn->named += renamed;
		return renamed ? &await_desc__to_blocked_record(&d, &e, dn->buf)->hdr : rec;
	}
	return rec;
}

/* Applies every record; 0, or -errno for a corrupt one (or no memory). */
static int replay_records(struct recording_reader *r, struct task_model *model,
			  struct export_set *exports, struct deadlock_finder *df,
			  struct debug_names *dn)
{
	const struct aib_hdr *rec;
	__u64 last_check = 0;
	int ret, err;

	while ((ret = recording_reader__next(r, &rec)) == 1) {
		rec = debug_names__apply(dn, rec);
		err = task_model__apply(model, rec);
		if (err)
			return err;
		export_set__record(exports, rec, model);
		/* the checks a live session made, at the same record times */
		if (rec->kind < AIB_REC_FIRST && rec->ts >= last_check + DEADLOCK_CHECK_NS) {
			if (last_check && deadlock_finder__check_model(df, model, rec->ts) < 0)
				return -ENOMEM;
			last_check = rec->ts;
		}
	}
	return ret;
}

int command__replay(const struct options *o)
{
	struct recording_reader *r = recording_reader__open(o->replay);
	struct export_set *exports = NULL;
	struct deadlock_finder *df = deadlock_finder__new(DEADLOCK_CONFIRM_NS);
	struct debug_names *dn = calloc(1, sizeof(*dn));
	struct task_model *model = NULL;
	FILE *json = NULL;
	int ret, corrupt;

	if (!r) {
		deadlock_finder__free(df);
		free(dn);
		if (errno == EPROTO)
			return cli__fail("%s: not a recording this version can read (bad or unsupported header)",
					 o->replay);
		return cli__fail("cannot open %s: %s", o->replay, strerror(errno));
	}
	model = task_model__new();
	if (!model || !df || !dn) {
		ret = cli__fail("out of memory");
		goto out;
	}
	if (o->debuginfo && (ret = debug_names__open(dn, o->debuginfo, o->replay)))
		goto out;
	ret = outputs__open_json(o, &json);
	if (ret)
		goto out;
	exports = outputs__open_exports(o);
	if (!exports) {
		ret = EXIT_ERROR;
		goto out;
	}
	/* A corrupt record ends the replay there, as a cut does; the outputs
	 * cover what came before, and the exit status says it was not all. */
	corrupt = replay_records(r, model, exports, df, dn);
	if (corrupt == -ENOMEM) {
		ret = cli__fail("out of memory");
		goto out;
	}
	if (corrupt < 0)
		cli__fail("%s: corrupt recording: %s; the report covers the records before it",
			  o->replay,
			  *recording_reader__problem(r) ? recording_reader__problem(r)
							: strerror(-corrupt));
	else if (recording_reader__truncated(r))
		cli__warn("%s: %s; the report covers what was recorded", o->replay,
			  recording_reader__problem(r));
	if (o->debuginfo)
		fprintf(stderr, "async-inspect-bpf: --debuginfo %s: %llu stack%s recorded by code address named\n",
			o->debuginfo, (unsigned long long)dn->named, dn->named == 1 ? "" : "s");
	task_model__finish(model, 0);
	deadlock_finder__check_model(df, model, task_model__summary(model)->end_ts);
	ret = outputs__finish_exports(exports, model);
	ret = outputs__write(model, df, o, true, stdout, json) || ret || corrupt < 0 ? EXIT_ERROR : 0;
	json = NULL; /* closed */
	if (!ret && o->fail_on_deadlock && deadlock_finder__count(df))
		ret = EXIT_DEADLOCK;
out:
	outputs__close_json(json);
	export_set__free(exports);
	recording_reader__free(r);
	task_model__free(model);
	deadlock_finder__free(df);
	if (dn)
		debug_names__close(dn);
	free(dn);
	return ret;
}
