// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cli/outputs.h"
#include "model/task_model.h"
#include "report/report.h"

static void say(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "async-inspect-bpf: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli__fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
	return EXIT_ERROR;
}

void cli__warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
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
	case AIB_END_TARGET_EXEC:
		return "target exec'd a new program (not traced)";
	case AIB_END_HANG:
		return "a test hung";
	default:
		return replay ? "recording cut short" : "unknown";
	}
}

struct export_set *outputs__open_exports(const struct options *o)
{
	const char *failed;
	struct export_set *s = export_set__open(&o->exports, &failed);

	if (!s)
		cli__fail("cannot write %s: %s", failed ? failed : "the exports", strerror(errno));
	return s;
}

int outputs__finish_exports(struct export_set *s, const struct task_model *m)
{
	const char *failed;
	int err = s ? export_set__finish(s, m, &failed) : 0;

	return err ? cli__fail("cannot write %s: %s", failed, strerror(-err)) : 0;
}

int outputs__open_json(const struct options *o, FILE **json)
{
	*json = NULL;
	if (!o->json)
		return 0;
	*json = strcmp(o->json, "-") ? fopen(o->json, "w") : stdout;
	return *json ? 0 : cli__fail("cannot write %s: %s", o->json, strerror(errno));
}

void outputs__close_json(FILE *json)
{
	if (json && json != stdout)
		fclose(json);
}

int outputs__write(const struct task_model *m, const struct deadlock_finder *df,
		   const struct options *o, bool replay, FILE *text, FILE *json)
{
	struct report_opts ro = {
		.ended = end_reason_name(task_model__summary(m)->end_reason, replay),
		.max_tasks = o->max_tasks,
		.version = AIB_VERSION,
		.stuck_after_ns = o->stuck_after_ns,
		.all_frames = o->all_frames,
		.deadlocks = df,
	};
	int err;

	if (text && json != text) {
		err = report_text__write(m, &ro, text);
		if (err) {
			outputs__close_json(json);
			return cli__fail("cannot write the report: %s", strerror(-err));
		}
	}
	if (!json)
		return 0;
	err = report_json__write(m, &ro, json);
	if (json != stdout && fclose(json) && !err)
		err = -errno;
	return err ? cli__fail("cannot write %s: %s", o->json, strerror(-err)) : 0;
}
