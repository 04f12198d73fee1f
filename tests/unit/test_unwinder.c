// SPDX-License-Identifier: MIT
/*
 * unwinder on this very test binary: a chain of real calls copies its own
 * stack the way the probe does (registers + bytes from rsp up) and the
 * unwound return addresses must land in the callers, named through the ELF
 * symbol table. The chain mixes frames without a frame pointer (CFA on rsp)
 * and one with (alloca: CFA on rbp), so both CFA rules are exercised.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stack_copy.h"

#include <alloca.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "binary/unwinder.h"

/* a real call: neither inlined nor cloned nor specialised away */
#ifdef __clang__
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

#define SNAP_MAX (16 * 1024)
#define MAX_FRAMES 64

static __u8 snap_bytes[SNAP_MAX]; /* not on the stack being copied */
static struct stack_snapshot snap;
static struct binary *bin;
static const struct elf_symbols *syms;
static struct unwinder *uw;
static __u64 bias;

/* End of the mapping holding addr, so the copy never reads past the stack */
static __u64 mapping_end(__u64 addr)
{
	unsigned long long start, end;
	char line[512];
	__u64 ret = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &start, &end) == 2 && addr >= start && addr < end)
			ret = end;
	fclose(f);
	assert_true(ret > addr);
	return ret;
}

/* The probe's view at this instruction: ip, rsp, rbp, then the stack above */
static NOIPA void capture(void)
{
	__u64 ip, sp, bp, avail;

	asm volatile("lea 0(%%rip), %0\n\t"
		     "mov %%rsp, %1\n\t"
		     "mov %%rbp, %2"
		     : "=r"(ip), "=r"(sp), "=r"(bp));
	avail = mapping_end(sp) - sp;
	snap = (struct stack_snapshot){ .bias = bias, .ip = ip, .sp = sp, .bp = bp,
					.stack = snap_bytes,
					.len = avail < SNAP_MAX ? avail : SNAP_MAX };
	stack_copy(snap_bytes, (uintptr_t)sp, snap.len);
	/* no tail call: the copy must run below this frame, not over it */
	asm volatile("" : : "r"(snap_bytes[0]) : "memory");
}

static volatile int sink;

NOIPA int chain_c(int x)
{
	capture();
	return x + sink; /* not a tail call */
}

/* alloca forces a frame pointer: this frame's CFA is rbp-based */
NOIPA int chain_b(int x)
{
	volatile char *p = alloca((size_t)x + 16);

	p[0] = (char)x;
	return chain_c(x + 1) + p[0];
}

NOIPA int chain_a(int x)
{
	return chain_b(x + 1) * 3;
}

/* A frame-pointer frame with no call frame information (no .cfi_*
 * directives: no FDE): the walk goes through it by its frame pointer. */
int no_cfi_frame(int x);
__asm__(".text\n.globl no_cfi_frame\n.type no_cfi_frame,@function\nno_cfi_frame:\n"
	"push %rbp\n mov %rsp,%rbp\n call chain_c\n pop %rbp\n ret\n"
	".size no_cfi_frame, .-no_cfi_frame\n");

/* Recursion deeper than any max the tests pass */
static int (*volatile recurse_p)(int);

NOIPA int recurse(int depth)
{
	if (!depth) {
		capture();
		return 0;
	}
	return recurse_p(depth - 1) + 1;
}

/* Name of the function symbol containing vaddr, or "?" */
static const char *func_at(__u64 vaddr)
{
	for (size_t i = 0; i < elf_symbols__count(syms); i++) {
		const struct elf_symbol *sym = elf_symbols__get(syms, i);

		if (sym->is_func && vaddr >= sym->vaddr && vaddr < sym->vaddr + sym->size)
			return sym->path;
	}
	return "?";
}

static int setup(void **state)
{
	bin = binary__open("/proc/self/exe");
	syms = binary__symbols(bin);
	uw = bin ? unwinder__new(bin) : NULL;
	if (!uw || elf_symbols__load_bias(syms, getpid(), &bias))
		return -1;
	recurse_p = recurse;
	return 0;
}

static int teardown(void **state)
{
	unwinder__free(uw);
	binary__free(bin);
	return 0;
}

static void test_open_errors(void **state)
{
	char path[] = "/tmp/test_unwinder_XXXXXX";
	int fd;

	errno = 0;
	assert_null(binary__open("/nonexistent/file"));
	assert_int_equal(errno, ENOENT);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
	close(fd);
	errno = 0;
	assert_null(binary__open(path));
	assert_int_equal(errno, ENOEXEC);
	unlink(path);

	errno = 0;
	assert_null(binary__open(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(unwinder__new(NULL));
	assert_int_equal(errno, EINVAL);
	unwinder__free(NULL);
}

/* An x86_64 executable that is an ELF header alone: no sections, no CFI. */
static void test_no_cfi(void **state)
{
	char path[] = "/tmp/test_unwinder_XXXXXX";
	Elf64_Ehdr eh = {
		.e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_ehsize = sizeof(eh), .e_phentsize = sizeof(Elf64_Phdr),
		.e_shentsize = sizeof(Elf64_Shdr),
	};
	struct binary *b;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, &eh, sizeof(eh)), sizeof(eh));
	close(fd);
	b = binary__open(path);
	unlink(path);
	assert_non_null(b);
	assert_null(binary__dwarf(b));
	assert_null(binary__cfi(b));
	errno = 0;
	assert_null(unwinder__new(b));
	assert_int_equal(errno, ENODATA);
	binary__free(b);
}

/* Debian strips its libraries: libcmocka has .eh_frame and no DWARF. At a
 * function's entry its CFI puts the return address at [rsp]. */
static void test_no_dwarf(void **state)
{
	const struct elf_symbol *sym = NULL;
	const struct elf_symbols *lib_syms;
	struct stack_snapshot t = {0};
	struct unwinder *lib_uw;
	struct binary *lib;
	__u64 ret_addr, pcs[4];
	Dl_info info;

	assert_true(dladdr((void *)_cmocka_run_group_tests, &info));
	lib = binary__open(info.dli_fname);
	assert_non_null(lib);
	lib_syms = binary__symbols(lib);
	if (binary__dwarf(lib)) {
		binary__free(lib);
		skip(); /* someone built it with DWARF */
	}
	assert_non_null(binary__cfi(lib));
	lib_uw = unwinder__new(lib);
	assert_non_null(lib_uw);
	for (size_t i = 0; i < elf_symbols__count(lib_syms); i++)
		if (!strcmp(elf_symbols__get(lib_syms, i)->path, "_cmocka_run_group_tests"))
			sym = elf_symbols__get(lib_syms, i);
	assert_non_null(sym);
	assert_int_equal(elf_symbols__load_bias(lib_syms, getpid(), &t.bias), 0);
	ret_addr = t.bias + sym->vaddr + 17; /* any address of its text */
	t.ip = t.bias + sym->vaddr;
	t.sp = 0x7ff000000000;
	t.stack = (const __u8 *)&ret_addr;
	t.len = sizeof(ret_addr);
	assert_true(unwinder__unwind(lib_uw, &t, pcs, 4) >= 2);
	assert_int_equal(pcs[0], sym->vaddr);
	assert_int_equal(pcs[1], sym->vaddr + 17);
	unwinder__free(lib_uw);
	binary__free(lib);
}

static void test_frame_pointer_fallback(void **state)
{
	__u64 pcs[MAX_FRAMES];
	int n;

	no_cfi_frame(1);
	n = unwinder__unwind(uw, &snap, pcs, MAX_FRAMES);
	assert_true(n >= 4);
	assert_string_equal(func_at(pcs[0]), "capture");
	assert_string_equal(func_at(pcs[1]), "chain_c");
	assert_string_equal(func_at(pcs[2]), "no_cfi_frame");
	assert_string_equal(func_at(pcs[3]), "test_frame_pointer_fallback");
}

static void test_chain(void **state)
{
	__u64 pcs[MAX_FRAMES];
	int n;

	sink = 0;
	chain_a(1);
	n = unwinder__unwind(uw, &snap, pcs, MAX_FRAMES);
	/* c, b, a, this test, then cmocka's library ends the walk */
	assert_true(n >= 4);
	assert_true(n < MAX_FRAMES);
	assert_int_equal(pcs[0], snap.ip - bias);
	assert_string_equal(func_at(pcs[0]), "capture");
	assert_string_equal(func_at(pcs[1]), "chain_c");
	assert_string_equal(func_at(pcs[2]), "chain_b");
	assert_string_equal(func_at(pcs[3]), "chain_a");
	assert_string_equal(func_at(pcs[4]), "test_chain");
	for (int i = 1; i < n; i++)
		assert_string_not_equal(func_at(pcs[i]), "?");

	/* max is respected, and a prefix of the same walk */
	{
		__u64 few[3];

		assert_int_equal(unwinder__unwind(uw, &snap, few, 3), 3);
		assert_memory_equal(few, pcs, sizeof(few));
		assert_int_equal(unwinder__unwind(uw, &snap, few, 0), 0);
	}
}

static void test_truncated(void **state)
{
	struct stack_snapshot t;
	__u64 full[MAX_FRAMES], pcs[MAX_FRAMES];
	int n_full, prev = 1;

	chain_a(1);
	n_full = unwinder__unwind(uw, &snap, full, MAX_FRAMES);
	assert_true(n_full >= 4);

	t = snap;
	t.len = 0;
	assert_int_equal(unwinder__unwind(uw, &t, pcs, MAX_FRAMES), 1);
	t.len = 7;
	assert_int_equal(unwinder__unwind(uw, &t, pcs, MAX_FRAMES), 1);

	/* a shorter copy gives a prefix of the full walk, never more frames */
	for (size_t len = 0; len <= snap.len; len += 8) {
		int n;

		t.len = len;
		n = unwinder__unwind(uw, &t, pcs, MAX_FRAMES);
		assert_true(n >= prev && n <= n_full);
		assert_memory_equal(pcs, full, (size_t)n * sizeof(*pcs));
		prev = n;
	}
	assert_int_equal(prev, n_full);
}

static void test_outside(void **state)
{
	struct stack_snapshot t;
	__u64 pcs[4];

	chain_a(1);
	t = snap;
	t.ip = (__u64)(uintptr_t)&printf; /* libc */
	assert_int_equal(unwinder__unwind(uw, &t, pcs, 4), 0);
	t.ip = 0;
	assert_int_equal(unwinder__unwind(uw, &t, pcs, 4), 0);
	assert_int_equal(unwinder__unwind(NULL, &snap, pcs, 4), 0);
}

static void test_max_deep(void **state)
{
	__u64 pcs[MAX_FRAMES];
	int n;

	recurse(100);
	assert_int_equal(unwinder__unwind(uw, &snap, pcs, 10), 10);
	for (int i = 1; i < 10; i++)
		assert_string_equal(func_at(pcs[i]), "recurse");
	n = unwinder__unwind(uw, &snap, pcs, MAX_FRAMES);
	assert_int_equal(n, MAX_FRAMES);
}

static void test_garbage(void **state)
{
	static __u8 junk[4096];
	struct stack_snapshot t;
	__u64 pcs[MAX_FRAMES];

	chain_a(1);
	srand(42);
	for (int round = 0; round < 2000; round++) {
		int n;

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (__u8)rand();
		/* sometimes plant plausible return addresses into the executable */
		if (round & 1)
			for (size_t i = 0; i + 8 <= sizeof(junk); i += 8 * (1 + rand() % 4))
				memcpy(junk + i, &snap.ip, 8);
		t = snap;
		t.stack = junk;
		t.len = (size_t)rand() % (sizeof(junk) + 1);
		t.bp = round % 3 ? ((__u64)rand() << 32 | (__u64)rand()) : snap.sp + (__u64)(rand() % 4096);
		n = unwinder__unwind(uw, &t, pcs, MAX_FRAMES);
		assert_true(n >= 1 && n <= MAX_FRAMES);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_no_cfi),
		cmocka_unit_test(test_no_dwarf),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_frame_pointer_fallback),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_outside),
		cmocka_unit_test(test_max_deep),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
