// SPDX-License-Identifier: MIT
/*
 * A fuzzed recording through `replay` with every output: the reader, the
 * decoder, the task model, the deadlock checks, the text and JSON reports
 * and all four exports (written to /dev/null and a scratch CSV folder).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "fuzz_input.h"

/* tmpfs: on ext4 each truncation of a written file flushes it to disk */
static char csv_dir[] = "/dev/shm/fuzz_recording.XXXXXX";

static void remove_csv_dir(void)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/tasks.csv", csv_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/events.csv", csv_dir);
	unlink(path);
	rmdir(csv_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null = open("/dev/null", O_WRONLY);

	/* the text report goes to stdout: thousands of them a second */
	if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
		abort();
	if (!mkdtemp(csv_dir)) {
		memcpy(csv_dir, "/tmp/fuzz_recording.XXXXXX", sizeof("/tmp/fuzz_recording.XXXXXX"));
		if (!mkdtemp(csv_dir))
			abort();
	}
	close(null);
	atexit(remove_csv_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct fuzz_file f;
	struct options o = {
		.cmd = CMD_REPLAY,
		.json = "/dev/null",
		.stuck_after_ns = 2000000000ULL,
		/* the input's length picks the few switches the reports have */
		.all_frames = size & 1,
		.max_tasks = size & 2 ? 0 : 3,
		.fail_on_deadlock = size & 4,
		.exports = {
			.perfetto = "/dev/null",
			.chrome = "/dev/null",
			.folded = "/dev/null",
			.folded_kind = (enum folded_kind)(size % 3),
			.csv_dir = csv_dir,
		},
	};

	fuzz_file__open(&f, data, size);
	o.replay = f.path;
	command__replay(&o);
	fuzz_file__close(&f);
	return 0;
}
