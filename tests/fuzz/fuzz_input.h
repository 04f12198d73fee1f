/* SPDX-License-Identifier: MIT */
/*
 * What the harnesses share: the fuzz input as a file, for the readers that
 * take a path (a memfd, opened again through /proc/self/fd/N).
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct fuzz_file {
	int fd;
	char path[64];
};

/* Aborts on failure: a harness that cannot set up tests nothing. */
static inline void fuzz_file__open(struct fuzz_file *f, const unsigned char *data, size_t size)
{
	size_t done = 0;
	ssize_t n;

	f->fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (f->fd < 0)
		abort();
	while (done < size) {
		n = write(f->fd, data + done, size - done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

static inline void fuzz_file__close(struct fuzz_file *f)
{
	close(f->fd);
}

#endif
