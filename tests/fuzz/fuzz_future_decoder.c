// SPDX-License-Identifier: MIT
/*
 * The future decoder on a real executable with full debug info (the locks
 * fixture; AIB_FUZZ_BINARY to use another), reading a fuzzed memory image:
 * what an attach decodes from a live target's memory, never trusted.
 *
 * Input: a u16 that picks one of the binary's tokio::runtime::task::raw::poll
 * instances (so every input gets past the vtable to a real task type), then
 * the image, mapped at IMG_BASE, where the task header sits. The vtable the
 * header points to is served apart, its slot 0 that poll function.
 * AIB_FUZZ_VERBOSE=1: how far each input decoded, on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "inspect/future_decoder.h"

#define DEFAULT_BINARY "tests/programs/locks/target/full/release/locks"
#define IMG_BASE 0x7f1200000000ULL
#define VTABLE 0x7f1100000000ULL
#define BIAS 0x555500000000ULL
#define MAX_POLLS 1024

static struct binary *bin;
static struct future_decoder *dec;
static __u64 polls[MAX_POLLS];
static int npolls;

struct image {
	const unsigned char *data;
	size_t size;
	__u64 poll; /* runtime address: the vtable's slot 0 */
};

static int image_read(__u64 addr, void *buf, size_t len, void *ctx)
{
	const struct image *im = ctx;

	if (addr >= VTABLE && addr - VTABLE < 64 && len <= 64 - (addr - VTABLE)) {
		memset(buf, 0, len);
		if (addr == VTABLE && len >= 8)
			memcpy(buf, &im->poll, 8);
		return 0;
	}
	if (addr < IMG_BASE || addr - IMG_BASE > im->size || len > im->size - (addr - IMG_BASE))
		return -14; /* -EFAULT, as the real reader */
	memcpy(buf, im->data + (addr - IMG_BASE), len);
	return 0;
}

static int add_poll(const struct elf_symbol *sym, void *ctx)
{
	if (npolls < MAX_POLLS)
		polls[npolls++] = sym->vaddr;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("AIB_FUZZ_BINARY") ? getenv("AIB_FUZZ_BINARY") : DEFAULT_BINARY;

	bin = binary__open(path);
	dec = bin ? future_decoder__new(bin) : NULL;
	if (dec)
		elf_symbols__match(binary__symbols(bin), "tokio::runtime::task::raw::poll",
				   add_poll, NULL);
	if (getenv("AIB_FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz_future_decoder: %d poll instances\n", npolls);
	if (!npolls) {
		fprintf(stderr, "fuzz_future_decoder: no tokio task in %s (full debug info; `make programs`)\n",
			path);
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct image im;
	struct future_await out;
	struct future_lock locks[FUTURE_MAX_LOCKS];
	__u16 pick;
	int ret;
	/* a task header: the vtable pointer at +16 */
	unsigned char *img;

	if (size < 2)
		return 0;
	memcpy(&pick, data, 2);
	size -= 2;
	img = malloc(size + 24);
	if (!img)
		return 0;
	memcpy(img, data + 2, size);
	if (size < 24) {
		memset(img + size, 0, 24 - size);
		size = 24;
	}
	{
		__u64 vt = VTABLE;
		memcpy(img + 16, &vt, 8);
	}
	im = (struct image){ img, size, polls[pick % npolls] + BIAS };
	ret = future_decoder__tokio_task(dec, IMG_BASE, BIAS, image_read, &im, &out);
	if (ret == 0 && (out.nframes < 0 || out.nframes > FUTURE_MAX_FRAMES || !out.root_state))
		abort(); /* the contract */
	if (getenv("AIB_FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz_future_decoder: %d, %s, %d frames, leaf %s\n", ret,
			ret ? "-" : out.root_state, ret ? 0 : out.nframes, ret ? "-" : out.leaf_type);
	/* the permit shift tokio 1.24 and 1.53 use (the plan reads it off the binary) */
	if (future_decoder__tokio_locks(dec, IMG_BASE, BIAS, image_read, &im, 1, locks,
					FUTURE_MAX_LOCKS) > FUTURE_MAX_LOCKS)
		abort();
	free(img);
	return 0;
}
