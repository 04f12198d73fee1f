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
#include "model/task_model.h"
#include "record/recording.h"

/* Applies every record; 0, or -errno for a corrupt one (or no memory). */
static int replay_records(struct recording_reader *r, struct task_model *model,
			  struct export_set *exports, struct deadlock_finder *df)
{
	const struct aib_hdr *rec;
	__u64 last_check = 0;
	int ret, err;

	while ((ret = recording_reader__next(r, &rec)) == 1) {
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
	struct task_model *model;
	FILE *json = NULL;
	int ret, corrupt;

	if (!r) {
		deadlock_finder__free(df);
		if (errno == EPROTO)
			return cli__fail("%s: not a recording this version can read (bad or unsupported header)",
					 o->replay);
		return cli__fail("cannot open %s: %s", o->replay, strerror(errno));
	}
	model = task_model__new();
	if (!model || !df) {
		ret = cli__fail("out of memory");
		goto out;
	}
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
	corrupt = replay_records(r, model, exports, df);
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
	return ret;
}
