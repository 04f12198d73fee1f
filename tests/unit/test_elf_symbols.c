// SPDX-License-Identifier: MIT
/*
 * elf_symbols against a real tokio release binary: $AIB_PROGRAMS/multi_thread
 * (the Makefile points AIB_PROGRAMS at tests/programs/target/release), or
 * /tmp/tk/target/release/tk when run by hand. Expected values come from the
 * file itself, parsed here with <elf.h> alone, so the module is not checked
 * against itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "binary/binary.h"
#include "binary/elf_symbols.h"

#define FALLBACK_FIXTURE "/tmp/tk/target/release/tk"
#define POLL "tokio::runtime::task::raw::poll"
#define WAKE_BY_VAL "tokio::runtime::task::waker::wake_by_val"

struct fixture {
	char path[PATH_MAX];
	struct binary *bin;
	const struct elf_symbols *syms;
	unsigned char *img; /* the whole file, for independent parsing */
	size_t size;
};

static int setup(void **state)
{
	const char *dir = getenv("AIB_PROGRAMS");
	struct fixture *f = calloc(1, sizeof(*f));
	struct stat st;
	int fd;

	if (!f)
		return -1;
	if (dir)
		snprintf(f->path, sizeof(f->path), "%s/multi_thread", dir);
	else
		snprintf(f->path, sizeof(f->path), "%s", FALLBACK_FIXTURE);

	fd = open(f->path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "fixture %s: %s (run `make programs`)\n", f->path, strerror(errno));
		return -1;
	}
	f->size = st.st_size;
	f->img = malloc(f->size);
	if (!f->img || pread(fd, f->img, f->size, 0) != (ssize_t)f->size)
		return -1;
	close(fd);

	f->bin = binary__open(f->path);
	if (!f->bin) {
		fprintf(stderr, "binary__open(%s): %s\n", f->path, strerror(errno));
		return -1;
	}
	f->syms = binary__symbols(f->bin);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		binary__free(f->bin);
		free(f->img);
		free(f);
	}
	return 0;
}

/* ---- independent ELF parsing ---- */

static const Elf64_Phdr *phdrs(const struct fixture *f, size_t *n)
{
	const Elf64_Ehdr *eh = (const void *)f->img;

	*n = eh->e_phnum;
	return (const void *)(f->img + eh->e_phoff);
}

static const Elf64_Shdr *section(const struct fixture *f, const char *name)
{
	const Elf64_Ehdr *eh = (const void *)f->img;
	const Elf64_Shdr *sh = (const void *)(f->img + eh->e_shoff);
	const char *names = (const char *)f->img + sh[eh->e_shstrndx].sh_offset;

	for (size_t i = 0; i < eh->e_shnum; i++)
		if (!strcmp(names + sh[i].sh_name, name))
			return &sh[i];
	return NULL;
}

static bool file_offset_to_vaddr(const struct fixture *f, __u64 off, __u64 *vaddr)
{
	size_t n;
	const Elf64_Phdr *ph = phdrs(f, &n);

	for (size_t i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && off >= ph[i].p_offset &&
		    off < ph[i].p_offset + ph[i].p_filesz) {
			*vaddr = off - ph[i].p_offset + ph[i].p_vaddr;
			return true;
		}
	return false;
}

static bool vaddr_to_file_offset(const struct fixture *f, __u64 vaddr, __u64 *off)
{
	size_t n;
	const Elf64_Phdr *ph = phdrs(f, &n);

	for (size_t i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr < ph[i].p_vaddr + ph[i].p_filesz) {
			*off = vaddr - ph[i].p_vaddr + ph[i].p_offset;
			return true;
		}
	return false;
}

/* ---- match callbacks ---- */

#define MAX_HITS 4096

struct hits {
	size_t n;
	struct elf_symbol sym[MAX_HITS];
};

static int collect(const struct elf_symbol *sym, void *ctx)
{
	struct hits *h = ctx;

	if (h->n < MAX_HITS)
		h->sym[h->n] = *sym;
	h->n++;
	return 0;
}

static struct hits *match(const struct fixture *f, const char *path, int *ret)
{
	struct hits *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	*ret = elf_symbols__match(f->syms, path, collect, h);
	return h;
}

static void assert_distinct_addresses(const struct hits *h)
{
	for (size_t i = 0; i < h->n && i < MAX_HITS; i++)
		for (size_t j = i + 1; j < h->n && j < MAX_HITS; j++)
			assert_true(h->sym[i].vaddr != h->sym[j].vaddr);
}

static int count_calls(const struct elf_symbol *sym, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static int stop_at_first(const struct elf_symbol *sym, void *ctx)
{
	(*(int *)ctx)++;
	return -ECANCELED;
}

/* ---- symbol lookup ---- */

static void test_poll_has_several_copies(void **state)
{
	struct fixture *f = *state;
	int ret;
	struct hits *h = match(f, POLL, &ret);

	/* one monomorphized copy per task type the program spawns */
	assert_true(ret >= 2);
	assert_int_equal(ret, h->n);
	assert_distinct_addresses(h);
	for (size_t i = 0; i < h->n; i++) {
		assert_string_equal(h->sym[i].path, POLL);
		assert_non_null(strstr(h->sym[i].raw, "3raw4poll17h"));
		assert_true(h->sym[i].is_func);
		assert_true(h->sym[i].size > 0);
	}
	free(h);
}

static void test_wake_by_val_exactly_once(void **state)
{
	struct fixture *f = *state;
	int ret;
	struct hits *h = match(f, WAKE_BY_VAL, &ret);

	assert_int_equal(ret, 1);
	assert_int_equal(h->n, 1);
	assert_string_equal(h->sym[0].path, WAKE_BY_VAL);
	assert_true(h->sym[0].is_func);
	free(h);
}

static void test_v0_rust_dealloc(void **state)
{
	struct fixture *f = *state;
	int ret;
	struct hits *h = match(f, "__rustc::__rust_dealloc", &ret);

	/* v0 mangling: _RNvCs<crate-hash>_7___rustc14___rust_dealloc */
	assert_int_equal(ret, 1);
	assert_true(!strncmp(h->sym[0].raw, "_R", 2));
	assert_non_null(strstr(h->sym[0].raw, "___rust_dealloc"));
	assert_true(h->sym[0].is_func);
	free(h);
}

/* Every Rust symbol's path is normalised and finds the symbol again. */
static void test_all_rust_paths_normalised(void **state)
{
	struct fixture *f = *state;
	size_t n = elf_symbols__count(f->syms), v0 = 0, legacy = 0, llvm = 0;

	for (size_t i = 0; i < n; i++) {
		const struct elf_symbol *s = elf_symbols__get(f->syms, i);
		const char *hash;
		int calls = 0;

		assert_non_null(s);
		if (!strcmp(s->path, s->raw))
			continue; /* not Rust */
		if (!strncmp(s->raw, "_R", 2))
			v0++;
		else if (!strncmp(s->raw, "_ZN", 3))
			legacy++;
		else
			continue;
		if (strstr(s->raw, ".llvm."))
			llvm++;
		assert_null(strstr(s->path, "::<"));
		assert_null(strstr(s->path, ".llvm."));
		hash = s->path + strlen(s->path);
		assert_false(hash - s->path > 19 && !strncmp(hash - 19, "::h", 3) &&
			     strspn(hash - 16, "0123456789abcdef") == 16);
		if (s->size)
			assert_true(elf_symbols__match(f->syms, s->path, count_calls, &calls) >= 1);
	}
	assert_true(v0 > 0);
	assert_true(legacy > 0);
	assert_true(llvm > 0);
}

static void test_prefix_match(void **state)
{
	struct fixture *f = *state;
	const char *prefix = "tokio::runtime::task::raw::";
	int ret, polls;
	struct hits *h = match(f, "tokio::runtime::task::raw::*", &ret);
	size_t n = elf_symbols__count(f->syms), expect = 0;

	assert_true(ret > 0);
	assert_int_equal(ret, h->n);
	assert_distinct_addresses(h);
	for (size_t i = 0; i < h->n; i++)
		assert_true(!strncmp(h->sym[i].path, prefix, strlen(prefix)));

	/* expected: distinct addresses of sized symbols with the prefix */
	for (size_t i = 0; i < n; i++) {
		const struct elf_symbol *s = elf_symbols__get(f->syms, i);
		bool seen = false;

		if (!s->size || strncmp(s->path, prefix, strlen(prefix)))
			continue;
		for (size_t j = 0; j < i && !seen; j++) {
			const struct elf_symbol *t = elf_symbols__get(f->syms, j);

			seen = t->size && t->vaddr == s->vaddr &&
			       !strncmp(t->path, prefix, strlen(prefix));
		}
		expect += !seen;
	}
	assert_int_equal(ret, expect);

	polls = elf_symbols__match(f->syms, POLL, count_calls, &(int){ 0 });
	assert_true(ret > polls);
	free(h);
}

static int cmp_u64(const void *a, const void *b)
{
	const __u64 *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Same-address symbols (aliases, folded copies) come back once. */
static void test_match_all_reports_each_address_once(void **state)
{
	struct fixture *f = *state;
	size_t n = elf_symbols__count(f->syms), sized = 0, distinct = 0;
	__u64 *addrs = calloc(n, sizeof(*addrs));
	int ret;
	struct hits *h;

	assert_non_null(addrs);
	for (size_t i = 0; i < n; i++)
		if (elf_symbols__get(f->syms, i)->size)
			addrs[sized++] = elf_symbols__get(f->syms, i)->vaddr;
	qsort(addrs, sized, sizeof(*addrs), cmp_u64);
	for (size_t i = 0; i < sized; i++)
		distinct += !i || addrs[i] != addrs[i - 1];

	h = match(f, "*", &ret);
	assert_int_equal(ret, distinct);
	if (h->n <= MAX_HITS)
		assert_distinct_addresses(h);
	free(h);
	free(addrs);
}

static void test_no_match(void **state)
{
	struct fixture *f = *state;
	int calls = 0;

	assert_int_equal(elf_symbols__match(f->syms, "tokio::no::such::thing", count_calls, &calls), 0);
	/* a prefix of a real path is not a match without the '*' */
	assert_int_equal(elf_symbols__match(f->syms, "tokio::runtime::task::raw::pol", count_calls, &calls), 0);
	assert_int_equal(elf_symbols__match(f->syms, "zzzz*", count_calls, &calls), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(elf_symbols__match(f->syms, NULL, count_calls, &calls), -EINVAL);
}

static void test_callback_error_stops(void **state)
{
	struct fixture *f = *state;
	int calls = 0;

	assert_int_equal(elf_symbols__match(f->syms, POLL, stop_at_first, &calls), -ECANCELED);
	assert_int_equal(calls, 1);
}

static void test_count_and_get(void **state)
{
	struct fixture *f = *state;
	size_t n = elf_symbols__count(f->syms);

	assert_true(n > 1000);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(elf_symbols__get(f->syms, i - 1)->path,
				   elf_symbols__get(f->syms, i)->path) <= 0);
	errno = 0;
	assert_null(elf_symbols__get(f->syms, n));
	assert_int_equal(errno, EINVAL);
}

/* ---- addresses and contents ---- */

static void test_vaddr_to_offset_pie(void **state)
{
	struct fixture *f = *state;
	int ret;
	struct hits *h = match(f, POLL, &ret);
	const Elf64_Shdr *bss = section(f, ".bss");
	__u64 off, expect;

	assert_true(elf_symbols__is_pie(f->syms));
	assert_true(ret >= 1);
	for (size_t i = 0; i < h->n; i++) {
		assert_int_equal(elf_symbols__vaddr_to_offset(f->syms, h->sym[i].vaddr, &off), 0);
		assert_true(vaddr_to_file_offset(f, h->sym[i].vaddr, &expect));
		assert_int_equal(off, expect);
		/* .text sits above its file offset in this layout (rust-lld/ld.bfd) */
		assert_true(off != h->sym[i].vaddr);
	}
	/* .bss has no file contents */
	assert_non_null(bss);
	assert_int_equal(elf_symbols__vaddr_to_offset(f->syms, bss->sh_addr + bss->sh_size - 1, &off),
			 -ENOENT);
	assert_int_equal(elf_symbols__vaddr_to_offset(f->syms, 0x7fff00000000ull, &off), -ENOENT);
	free(h);
}

static void test_read_rodata_string(void **state)
{
	static const char *const candidates[] = {
		"cannot access a Thread Local Storage value during or after destruction",
		"A Tokio 1.x context was found, but it is being shutdown.",
	};
	struct fixture *f = *state;
	const char *needle = NULL;
	const unsigned char *at = NULL;
	__u64 vaddr = 0, start = 0, end = 0;
	char buf[128];

	for (size_t i = 0; i < sizeof(candidates) / sizeof(*candidates) && !at; i++) {
		needle = candidates[i];
		at = memmem(f->img, f->size, needle, strlen(needle));
	}
	assert_non_null(at);
	assert_true(file_offset_to_vaddr(f, at - f->img, &vaddr));

	memset(buf, 0, sizeof(buf));
	assert_int_equal(elf_symbols__read(f->syms, vaddr, buf, strlen(needle)), 0);
	assert_string_equal(buf, needle);

	assert_int_equal(elf_symbols__section_bounds(f->syms, ".rodata", &start, &end), 0);
	assert_true(vaddr >= start && vaddr + strlen(needle) <= end);

	assert_int_equal(elf_symbols__read(f->syms, 0x7fff00000000ull, buf, 1), -ENOENT);
}

static void test_read_past_segment_end(void **state)
{
	struct fixture *f = *state;
	size_t n;
	const Elf64_Phdr *ph = phdrs(f, &n);
	char buf[16];

	for (size_t i = 0; i < n; i++) {
		__u64 last;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_filesz)
			continue;
		last = ph[i].p_vaddr + ph[i].p_filesz - 1;
		assert_int_equal(elf_symbols__read(f->syms, last, buf, 1), 0);
		assert_memory_equal(buf, f->img + ph[i].p_offset + ph[i].p_filesz - 1, 1);
		assert_int_equal(elf_symbols__read(f->syms, last, buf, 2), -EFAULT);
	}
}

static void test_section_bounds(void **state)
{
	struct fixture *f = *state;
	const Elf64_Shdr *ro = section(f, ".rodata");
	__u64 start, end, poll_vaddr = 0;
	int ret;
	struct hits *h = match(f, POLL, &ret);

	assert_non_null(ro);
	assert_int_equal(elf_symbols__section_bounds(f->syms, ".rodata", &start, &end), 0);
	assert_int_equal(start, ro->sh_addr);
	assert_int_equal(end, ro->sh_addr + ro->sh_size);
	assert_true(start < end);

	assert_true(ret >= 1);
	poll_vaddr = h->sym[0].vaddr;
	assert_int_equal(elf_symbols__section_bounds(f->syms, ".text", &start, &end), 0);
	assert_true(poll_vaddr >= start && poll_vaddr < end);

	assert_int_equal(elf_symbols__section_bounds(f->syms, ".data.rel.ro", &start, &end), 0);
	assert_int_equal(elf_symbols__section_bounds(f->syms, ".nope", &start, &end), -ENOENT);
	/* not loaded, so it has no address range */
	assert_int_equal(elf_symbols__section_bounds(f->syms, ".symtab", &start, &end), -ENOENT);
	free(h);
}

/* ---- opening ---- */

static void test_open_missing_file(void **state)
{
	errno = 0;
	assert_null(binary__open("/nonexistent/dir/binary"));
	assert_int_equal(errno, ENOENT);
}

static void test_open_not_elf(void **state)
{
	char path[] = "/tmp/aib-notelf-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "#!/bin/sh\necho this is not an ELF file\n";

	assert_true(fd >= 0);
	/* empty first, then a script */
	errno = 0;
	assert_null(binary__open(path));
	assert_int_equal(errno, ENOEXEC);
	assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);
	errno = 0;
	assert_null(binary__open(path));
	assert_int_equal(errno, ENOEXEC);
	unlink(path);
}

static void test_stripped_copy_has_no_symtab(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/aib-stripped-XXXXXX";
	char cmd[2 * PATH_MAX];
	const struct elf_symbols *s;
	struct binary *b;
	int fd = mkstemp(path), calls = 0;

	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "strip -o '%s' '%s'", path, f->path);
	assert_int_equal(system(cmd), 0);

	b = binary__open(path);
	unlink(path);
	assert_non_null(b);
	s = binary__symbols(b);
	assert_true(elf_symbols__has_symtab(f->syms));
	assert_false(elf_symbols__has_symtab(s));
	assert_true(elf_symbols__is_pie(s));
	assert_int_equal(elf_symbols__match(s, POLL, count_calls, &calls), 0);
	assert_int_equal(elf_symbols__section_bounds(s, ".rodata", NULL, NULL), 0);
	binary__free(b);
}

/* ---- load bias ---- */

/* This test binary: &elf_symbols__match == its vaddr + bias. */
static void test_load_bias_self(void **state)
{
	struct binary *b = binary__open("/proc/self/exe");
	const struct elf_symbols *s = binary__symbols(b);
	struct hits *h = calloc(1, sizeof(*h));
	__u64 bias;

	assert_non_null(s);
	assert_non_null(h);
	assert_int_equal(elf_symbols__match(s, "elf_symbols__match", collect, h), 1);
	assert_string_equal(h->sym[0].path, h->sym[0].raw); /* C: raw name */
	assert_int_equal(elf_symbols__load_bias(s, getpid(), &bias), 0);
	assert_int_equal(h->sym[0].vaddr + bias, (uintptr_t)&elf_symbols__match);
	free(h);
	binary__free(b);
}

/* The fixture, stopped right after exec: the code at poll's runtime address
 * is the code in the file at poll's vaddr. */
static void test_load_bias_fixture_process(void **state)
{
	struct fixture *f = *state;
	int ret, status, memfd;
	struct hits *h;
	char mem[64], file_bytes[16], proc_bytes[16];
	__u64 bias;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(127);
		execl(f->path, f->path, (char *)NULL);
		_exit(126);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSTOPPED(status)) {
		/* no ptrace here (seccomp); the self test covers the arithmetic */
		skip();
	}

	assert_int_equal(elf_symbols__load_bias(f->syms, pid, &bias), 0);
	assert_int_equal(elf_symbols__load_bias(f->syms, getpid(), &bias), -ENOENT);
	assert_int_equal(elf_symbols__load_bias(f->syms, pid, &bias), 0);

	h = match(f, POLL, &ret);
	assert_true(ret >= 1);
	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
	memfd = open(mem, O_RDONLY);
	assert_true(memfd >= 0);
	for (size_t i = 0; i < h->n; i++) {
		size_t len = h->sym[i].size < sizeof(file_bytes) ? h->sym[i].size : sizeof(file_bytes);

		assert_int_equal(elf_symbols__read(f->syms, h->sym[i].vaddr, file_bytes, len), 0);
		assert_int_equal(pread(memfd, proc_bytes, len, h->sym[i].vaddr + bias), len);
		assert_memory_equal(file_bytes, proc_bytes, len);
	}
	close(memfd);
	free(h);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* ---- demangled-path normaliser ---- */

static void assert_demangles(const char *raw, const char *want)
{
	char buf[1024];

	assert_int_equal(elf_symbols__demangle(raw, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_demangle_legacy_hash(void **state)
{
	assert_demangles("_ZN5tokio7runtime4task3raw4poll17h6fdcee884787f6f9E", POLL);
}

static void test_demangle_llvm_suffix(void **state)
{
	assert_demangles("_ZN5tokio7runtime4task3raw4poll17h72cb4af51ea54a94E.llvm.5250316238738785446",
			 POLL);
	assert_demangles("_ZN5tokio7runtime4task5waker11wake_by_val17h9c081f16c06b226fE.llvm.123",
			 WAKE_BY_VAL);
	assert_demangles("_RNvMs5_NtNtCsjrHSEGnQ3l9_3std2io5errorNtB5_5Error4kind.llvm.4300924190757671051",
			 "<std::io::error::Error>::kind");
}

static void test_demangle_legacy_impl(void **state)
{
	assert_demangles("_ZN103_$LT$tokio..runtime..blocking..schedule..BlockingSchedule$u20$as$u20$"
			 "tokio..runtime..task..Schedule$GT$8schedule17h0123456789abcdefE",
			 "<tokio::runtime::blocking::schedule::BlockingSchedule as "
			 "tokio::runtime::task::Schedule>::schedule");
	/* legacy keeps a generic type's parameter names; only "::<...>" goes */
	assert_demangles("_ZN5tokio7runtime4task7harness20Harness$LT$T$C$S$GT$4poll17h0123456789abcdefE",
			 "tokio::runtime::task::harness::Harness<T,S>::poll");
}

static void test_demangle_v0_generic(void **state)
{
	/* <std::io::error::Error>::new::<&str> */
	assert_demangles("_RINvMs5_NtNtCsjrHSEGnQ3l9_3std2io5errorNtB6_5Error3newReEBa_",
			 "<std::io::error::Error>::new");
	/* core::ptr::drop_in_place::<addr2line::Context<...>> */
	assert_demangles("_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtCs4X4t9plMPHF_9addr2line7Context"
			 "INtNtNtCsduwmD7cSIQq_5gimli4read12endian_slice11EndianSliceNtNtB1m_9endianity"
			 "12LittleEndianEEECsjrHSEGnQ3l9_3std",
			 "core::ptr::drop_in_place");
	/* the '>' of a fn pointer's "->" inside the arguments does not close them:
	 * <gix_config::types::File>::path_filter::<&str, &mut for<'a> fn(&'a ..) -> bool> */
	assert_demangles("_RINvMNtNtNtCsiDnBiUdckdf_10gix_config4file6access7comfortNtNtB9_5types4File"
			 "11path_filterReQFG_RL0_NtB7_8MetadataEbECs26ezDKuLN16_5cargo",
			 "<gix_config::types::File>::path_filter");
	/* type arguments inside <...> of an impl are part of the path, the
	 * method's own ::<...> (with nested ::<...>) is not */
	assert_demangles("_RINvMNtNtCsjrHSEGnQ3l9_3std4sync9once_lockINtB3_8OnceLockNtNtB7_2fs4FileE"
			 "10initializeNCNvNtNtNtB7_3sys6random5linux9getrandom0NtNtNtB7_2io5error5ErrorEB7_",
			 "<std::sync::once_lock::OnceLock<std::fs::File>>::initialize");
	assert_demangles("_RNvCsfLfy6EI15iL_7___rustc14___rust_dealloc", "__rustc::__rust_dealloc");
}

static void test_demangle_rejects(void **state)
{
	char buf[64];

	assert_int_equal(elf_symbols__demangle("main", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(elf_symbols__demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(elf_symbols__demangle("_ZN5tokio4mainE", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(elf_symbols__demangle(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(elf_symbols__demangle("_ZN5tokio7runtime4task3raw4poll17h6fdcee884787f6f9E",
					       buf, strlen(POLL)),
			 -ENOSPC);
	assert_int_equal(elf_symbols__demangle("_ZN5tokio7runtime4task3raw4poll17h6fdcee884787f6f9E",
					       buf, strlen(POLL) + 1),
			 0);
}

/* ---- speed: attach opens the target and looks up a handful of paths ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_open_and_match_fast(void **state)
{
	static const char *const paths[] = {
		POLL, WAKE_BY_VAL, "tokio::runtime::task::raw::dealloc",
		"tokio::runtime::task::raw::shutdown", "tokio::runtime::task::raw::*",
		"__rustc::__rust_dealloc", "tokio::task::spawn::spawn_inner",
	};
	struct fixture *f = *state;
	const struct elf_symbols *s;
	struct binary *b;
	double t0, t1, t2;
	int calls = 0;

	t0 = now_ms();
	b = binary__open(f->path);
	t1 = now_ms();
	assert_non_null(b);
	s = binary__symbols(b);
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		assert_true(elf_symbols__match(s, paths[i], count_calls, &calls) >= 0);
	t2 = now_ms();
	print_message("open %.2f ms (%zu symbols, %zu KiB), %zu lookups %.3f ms\n", t1 - t0,
		      elf_symbols__count(s), f->size / 1024, sizeof(paths) / sizeof(*paths), t2 - t1);
	/* generous: the budget is 100 ms, sanitizers and loaded CI are slower */
	assert_true(t2 - t0 < 500);
	binary__free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_has_several_copies),
		cmocka_unit_test(test_wake_by_val_exactly_once),
		cmocka_unit_test(test_v0_rust_dealloc),
		cmocka_unit_test(test_all_rust_paths_normalised),
		cmocka_unit_test(test_prefix_match),
		cmocka_unit_test(test_match_all_reports_each_address_once),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_count_and_get),
		cmocka_unit_test(test_vaddr_to_offset_pie),
		cmocka_unit_test(test_read_rodata_string),
		cmocka_unit_test(test_read_past_segment_end),
		cmocka_unit_test(test_section_bounds),
		cmocka_unit_test(test_open_missing_file),
		cmocka_unit_test(test_open_not_elf),
		cmocka_unit_test(test_stripped_copy_has_no_symtab),
		cmocka_unit_test(test_load_bias_self),
		cmocka_unit_test(test_load_bias_fixture_process),
		cmocka_unit_test(test_demangle_legacy_hash),
		cmocka_unit_test(test_demangle_llvm_suffix),
		cmocka_unit_test(test_demangle_legacy_impl),
		cmocka_unit_test(test_demangle_v0_generic),
		cmocka_unit_test(test_demangle_rejects),
		cmocka_unit_test(test_open_and_match_fast),
	};

	return cmocka_run_group_tests_name("elf_symbols", tests, setup, teardown);
}
