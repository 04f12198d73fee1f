// SPDX-License-Identifier: MIT
/*
 * symbolizer on real DWARF: this test binary's own functions (built -O2 -g;
 * the lines expected are taken with __LINE__ on the line of the call), a
 * stripped system library (libcmocka, symbols only), and, when `make
 * programs` built them, Rust programs of tests/programs: one with line
 * tables, one whose only DWARF is the standard library's. The last functions
 * of this file pretend, with #line, to come from a cargo registry crate, so
 * library classification is checked on real frames too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "binary/symbolizer.h"
#include "stripped_copy.h"
#include "binary/crate_map.h"

/* a real call: neither inlined nor cloned nor specialised away */
#ifdef __clang__
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

#define THIS_FILE "test_symbolizer.c"
#define LIB_FILE "/usr/share/cargo/registry/async-task-4.3.0/src/raw.rs"

static struct binary *self;
static struct symbolizer *sym;
static __u64 bias;

/* return addresses, as runtime addresses, and the source lines of the calls */
static void *ra_inner, *ra_outer;
static int line_call, line_inline_call, line_inline_call2;
static volatile int sink;

static NOIPA void capture_ra(void)
{
	ra_inner = __builtin_return_address(0);
}

NOIPA int plain_caller(int x)
{
	line_call = __LINE__; capture_ra();
	return x + sink;
}

static inline __attribute__((always_inline)) int inner_helper(int x)
{
	line_inline_call2 = __LINE__; capture_ra();
	return x * 2 + sink;
}

static inline __attribute__((always_inline)) int outer_helper(int x)
{
	int r;

	line_inline_call = __LINE__; r = inner_helper(x + 1);
	return r + sink;
}

NOIPA int inlining_caller(int x)
{
	int r;

	line_call = __LINE__; r = outer_helper(x);
	return r - sink;
}

/* Defined at the end of this file, "in" a cargo registry crate */
int lib_function(int x);
int lib_inlining_caller(int x);

static __u64 vaddr_of(const void *p)
{
	return (__u64)(uintptr_t)p - bias;
}

static const char *base(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static int setup(void **state)
{
	self = binary__open("/proc/self/exe");
	if (!self || elf_symbols__load_bias(binary__symbols(self), getpid(), &bias))
		return -1;
	sym = symbolizer__new(self);
	return sym ? 0 : -1;
}

static int teardown(void **state)
{
	symbolizer__free(sym);
	binary__free(self);
	return 0;
}

static void test_open_errors(void **state)
{
	char path[] = "/tmp/test_symbolizer_XXXXXX";
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
	symbolizer__free(NULL);
	assert_true(symbolizer__has_lines(sym));
}

static void test_plain_line(void **state)
{
	struct sym_frame f[8];
	int n;

	plain_caller(1);
	n = symbolizer__frames(sym, vaddr_of(ra_inner), true, f, 8);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "plain_caller");
	assert_string_equal(base(f[0].file), THIS_FILE);
	assert_int_equal(f[0].line, line_call);
	assert_false(f[0].inlined);

	/* a function's first instruction */
	n = symbolizer__frames(sym, vaddr_of((const void *)capture_ra), false, f, 8);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "capture_ra");
	assert_string_equal(base(f[0].file), THIS_FILE);
	assert_true(f[0].line > 0 && f[0].line < (__u32)line_call);

	/* nothing there */
	assert_int_equal(symbolizer__frames(sym, 0, false, f, 8), 0);
	assert_int_equal(symbolizer__frames(sym, ~0ULL, true, f, 8), 0);
}

static void test_inlined(void **state)
{
	struct sym_frame f[8], again[8];
	int n;

	inlining_caller(1);
	n = symbolizer__frames(sym, vaddr_of(ra_inner), true, f, 8);
	assert_int_equal(n, 3);
	assert_string_equal(f[0].function, "inner_helper");
	assert_true(f[0].inlined);
	assert_int_equal(f[0].line, line_inline_call2);
	assert_string_equal(f[1].function, "outer_helper");
	assert_true(f[1].inlined);
	assert_int_equal(f[1].line, line_inline_call);
	assert_string_equal(f[2].function, "inlining_caller");
	assert_false(f[2].inlined);
	assert_int_equal(f[2].line, line_call);
	for (int i = 0; i < n; i++) {
		assert_string_equal(base(f[i].file), THIS_FILE);
		assert_true(f[i].col > 0);
		assert_false(f[i].library);
	}

	/* cached: the same strings; max keeps the innermost */
	assert_int_equal(symbolizer__frames(sym, vaddr_of(ra_inner), true, again, 8), 3);
	for (int i = 0; i < n; i++) {
		assert_ptr_equal(again[i].function, f[i].function);
		assert_ptr_equal(again[i].file, f[i].file);
		assert_int_equal(again[i].line, f[i].line);
		assert_int_equal(again[i].col, f[i].col);
		assert_int_equal(again[i].inlined, f[i].inlined);
	}
	assert_int_equal(symbolizer__frames(sym, vaddr_of(ra_inner), true, again, 1), 1);
	assert_ptr_equal(again[0].function, f[0].function);
	assert_int_equal(symbolizer__frames(sym, vaddr_of(ra_inner), true, again, 0), 0);
}

static void test_symbols_only(void **state)
{
	struct symbolizer *lib;
	const struct elf_symbols *syms;
	struct binary *b;
	struct sym_frame f[4];
	Dl_info info;
	__u64 vaddr = 0;
	int n;

	/* Debian strips its libraries: libcmocka has .dynsym and no DWARF */
	assert_true(dladdr((void *)_cmocka_run_group_tests, &info));
	b = binary__open(info.dli_fname);
	assert_non_null(b);
	syms = binary__symbols(b);
	for (size_t i = 0; i < elf_symbols__count(syms); i++)
		if (!strcmp(elf_symbols__get(syms, i)->path, "_cmocka_run_group_tests"))
			vaddr = elf_symbols__get(syms, i)->vaddr;
	assert_true(vaddr != 0);

	lib = symbolizer__new(b);
	assert_non_null(lib);
	if (symbolizer__has_lines(lib)) {
		symbolizer__free(lib);
		binary__free(b);
		skip(); /* someone built it with DWARF */
	}
	n = symbolizer__frames(lib, vaddr + 4, false, f, 4);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].function, "_cmocka_run_group_tests");
	assert_null(f[0].file);
	assert_int_equal(f[0].line, 0);
	assert_false(f[0].inlined);
	assert_false(f[0].library); /* judged by its name: not a Rust runtime's */
	assert_int_equal(symbolizer__frames(lib, 0, false, f, 4), 0); /* in no segment */
	symbolizer__free(lib);
	binary__free(b);
}

static void program_path(char *path, size_t len, const char *rel);

/* A binary stripped of everything, no debug file: a frame in its .text
 * is named by its address (for addr2line with the debug file of its
 * build-id), the program's own as far as anyone can tell. */
static void test_stripped_addresses(void **state)
{
	char path[PATH_MAX], cmd[64];
	struct symbolizer *rs;
	struct sym_frame f[4];
	struct binary *b;
	__u64 lo, hi;

	program_path(path, sizeof(path), "current_thread");
	if (access(path, R_OK))
		skip();
	b = stripped(path);
	rs = symbolizer__new(b);
	assert_non_null(rs);
	assert_int_equal(elf_symbols__section_bounds(binary__symbols(b), ".text", &lo, &hi), 0);
	assert_int_equal(symbolizer__frames(rs, lo + 0x40, false, f, 4), 1);
	snprintf(cmd, sizeof(cmd), "0x%llx", (unsigned long long)(lo + 0x40));
	assert_string_equal(f[0].function, cmd);
	assert_null(f[0].file);
	assert_false(f[0].library);
	assert_true(f[0].by_address);
	/* a return address: the call's */
	assert_int_equal(symbolizer__frames(rs, lo + 0x41, true, f, 4), 1);
	assert_string_equal(f[0].function, cmd);
	assert_int_equal(symbolizer__frames(rs, hi + 0x1000, false, f, 4), 0);
	symbolizer__free(rs);
	binary__free(b);
}

static void test_library_file(void **state)
{
	static const struct {
		const char *file;
		bool lib;
	} cases[] = {
		{ "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/sync/atomic.rs", true },
		{ "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/thread/mod.rs", true },
		{ "/usr/share/cargo/registry/async-task-4.3.0/src/raw.rs", true },
		{ "/root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/tokio-1.40.0/src/runtime/task/raw.rs", true },
		{ "/home/me/.cargo/git/checkouts/smol-1234/abcd/src/lib.rs", true },
		{ "/usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/mio-1.0.2/src/poll.rs", true },
		{ "/home/me/proj/vendor/tokio/src/lib.rs", true },
		{ "vendor/futures-lite/src/future.rs", true },
		{ "library/std/src/rt.rs", true },
		{ "/rust/deps/hashbrown-0.16.1/src/raw/mod.rs", true },
		{ "/home/me/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/alloc/src/vec/mod.rs", true },
		{ "src/main.rs", false },
		{ "src/bin/server.rs", false },
		{ "/work/main/tests/programs/src/demo.rs", false },
		{ "/home/me/registry/src/main.rs", false },
		{ "/home/me/my-library/src/lib.rs", false },
		{ "/home/me/notvendor/src/lib.rs", false },
		{ "", false },
		{ NULL, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		if (symbolizer__is_library_file(cases[i].file) != cases[i].lib)
			fail_msg("%s: expected %d", cases[i].file, cases[i].lib);
	}
}

static void test_library_function(void **state)
{
	static const struct {
		const char *fn;
		bool lib;
	} cases[] = {
		{ "std::thread::local::LocalKey<T>::with", true },
		{ "core::ptr::drop_in_place<tokio::runtime::task::core::Stage<F>>", true },
		{ "alloc::sync::Arc<T,A>::drop_slow", true },
		{ "tokio::runtime::task::raw::poll", true },
		{ "<tokio::runtime::blocking::schedule::BlockingSchedule as tokio::runtime::task::Schedule>::schedule", true },
		{ "<&mut core::future::ready::Ready<T> as core::future::future::Future>::poll", true },
		{ "async_task::raw::RawTask<F,T,S>::run", true },
		{ "async_executor::Executor::spawn", true },
		{ "async_std::task::builder::Builder::spawn", true },
		{ "async_global_executor::executor::block_on", true },
		{ "blocking::Executor::main_loop", true },
		{ "smol::spawn", true },
		{ "futures_lite::future::block_on", true },
		{ "futures_util::future::future::FutureExt::poll_unpin", true },
		{ "async_io::driver::block_on", true },
		{ "async_channel::Channel<T>::close", true },
		{ "event_listener::Event::notify", true },
		{ "concurrent_queue::bounded::Bounded<T>::push", true },
		{ "tokio[a1b2c3]::runtime::park::CachedParkThread::block_on", true },
		{ "demo::main", false },
		{ "demo::handler::{{closure}}", false },
		{ "<demo::Job as core::future::future::Future>::poll", false },
		{ "tokio_demo::main", false },
		{ "stdout_printer::run", false },
		{ "main", false },
		{ "memcpy", false },
		{ "", false },
		{ NULL, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		if (symbolizer__is_library_function(cases[i].fn) != cases[i].lib)
			fail_msg("%s: expected %d", cases[i].fn, cases[i].lib);
	}
}

/* A frame is judged by its crate first: tokio built from a path, git or
 * vendored checkout is tokio still; a third-party crate is library code by
 * its registry file; the program's own crate by neither. */
static void test_library_by_crate(void **state)
{
	static const struct {
		const char *fn, *file;
		bool lib;
	} cases[] = {
		{ "tokio::runtime::task::state::State::ref_inc",
		  "/home/u/src/tokio-1.53.1/tokio/src/runtime/task/state.rs", true },
		{ "tokio::sync::oneshot::Receiver<T>::poll", "../tokio/src/sync/oneshot.rs", true },
		{ "<async_task::raw::RawTask<F,T,S,M>>::run", "/work/app/async-task/src/raw.rs", true },
		{ "hyper::client::conn::SendRequest<B>::send_request",
		  "/root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/hyper-0.14.27/src/client/conn.rs",
		  true },
		{ NULL, "vendor/tokio/src/runtime/park.rs", true },
		{ "demo::handler::{{closure}}", "src/main.rs", false },
		{ "demo::handler", NULL, false },
		{ "tokio_demo::serve", "/home/u/tokio-demo/src/lib.rs", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (symbolizer__is_library(cases[i].fn, cases[i].file) != cases[i].lib)
			fail_msg("%s in %s: expected %d", cases[i].fn, cases[i].file, cases[i].lib);
}

static void test_first_user_frame(void **state)
{
	struct sym_frame f[4], user;
	__u64 pcs[2];
	int n, caller_line;

	/* a call chain: pcs[0] in the library function, pcs[1] in its caller */
	caller_line = __LINE__; lib_function(3);
	pcs[0] = vaddr_of(ra_inner) - 1; /* an instruction: inside the call */
	pcs[1] = vaddr_of(ra_outer);
	n = symbolizer__frames(sym, pcs[0], false, f, 4);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].file, LIB_FILE);
	assert_true(f[0].library);
	assert_int_equal(symbolizer__first_user_frame(sym, pcs, 2, &user, NULL, NULL), 0);
	assert_string_equal(user.function, "test_first_user_frame");
	assert_string_equal(base(user.file), THIS_FILE);
	assert_int_equal(user.line, caller_line);
	assert_int_equal(symbolizer__first_user_frame(sym, pcs, 1, &user, NULL, NULL), -ENOENT);

	/* one address, a library frame inlined into the program's own */
	lib_inlining_caller(2);
	pcs[0] = vaddr_of(ra_inner) - 1;
	n = symbolizer__frames(sym, pcs[0], false, f, 4);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].file, LIB_FILE);
	assert_true(f[0].inlined);
	assert_true(f[0].library);
	assert_false(f[1].library);
	assert_int_equal(symbolizer__first_user_frame(sym, pcs, 1, &user, NULL, NULL), 0);
	assert_string_equal(user.function, "lib_inlining_caller");
	assert_int_equal(user.line, line_call);
	assert_false(user.inlined);
	assert_false(user.library);

	assert_int_equal(symbolizer__first_user_frame(sym, pcs, 0, &user, NULL, NULL), -ENOENT);
}

/* Path of a Rust program of tests/programs (built by `make programs`) */
static void program_path(char *path, size_t len, const char *rel)
{
	const char *dir = getenv("AIB_PROGRAMS");

	snprintf(path, len, "%s/%s", dir ? dir : "tests/programs/target/release", rel);
}

/* vaddr of the (first, by address) function with this demangled path */
static __u64 func_vaddr(const struct binary *b, const char *path)
{
	const struct elf_symbols *syms = binary__symbols(b);
	__u64 vaddr = 0;

	for (size_t i = 0; i < elf_symbols__count(syms); i++) {
		const struct elf_symbol *e = elf_symbols__get(syms, i);

		if (e->is_func && e->size > 16 && !strcmp(e->path, path) && (!vaddr || e->vaddr < vaddr))
			vaddr = e->vaddr;
	}
	if (!vaddr)
		fail_msg("no function %s", path);
	return vaddr;
}

/* async-task programs keep line tables (debug = "line-tables-only") */
static void test_rust_lines(void **state)
{
	char path[PATH_MAX];
	struct binary *b;
	struct symbolizer *rs;
	struct sym_frame f[16], user;
	__u64 main_vaddr, lib_vaddr, rel_vaddr, pcs[2];
	int n;

	program_path(path, sizeof(path), "../../async-task/target/release/astd_tasks");
	if (access(path, R_OK))
		skip();
	b = binary__open(path);
	assert_non_null(b);
	main_vaddr = func_vaddr(b, "astd_tasks::main");
	lib_vaddr = func_vaddr(b, "async_task::raw::RawTask<F,T,S>::drop_waker");
	rel_vaddr = func_vaddr(b, "async_global_executor::threading::thread_main_loop");
	rs = symbolizer__new(b);
	assert_non_null(rs);
	assert_true(symbolizer__has_lines(rs));

	n = symbolizer__frames(rs, main_vaddr, false, f, 16);
	assert_true(n >= 1);
	/* line-tables-only DWARF: the path comes from the symbol table */
	assert_string_equal(f[n - 1].function, "astd_tasks::main");
	assert_false(f[n - 1].inlined);
	assert_string_equal(f[0].file, "src/astd_tasks.rs");
	assert_true(f[0].line > 0);
	assert_false(f[0].library);
	assert_int_equal(symbolizer__first_user_frame(rs, &main_vaddr, 1, &user, NULL, NULL), 0);
	assert_string_equal(user.file, "src/astd_tasks.rs");

	/* Debian's crate, whatever got inlined there: library all the way */
	n = symbolizer__frames(rs, lib_vaddr + 16, false, f, 16);
	assert_true(n >= 1);
	assert_string_equal(f[n - 1].function, "async_task::raw::RawTask<F,T,S>::drop_waker");
	for (int i = 0; i < n; i++) {
		assert_true(symbolizer__is_library_file(f[i].file));
		assert_true(f[i].library);
	}
	pcs[0] = lib_vaddr + 16;
	pcs[1] = main_vaddr + 1; /* as a return address, looked up at main_vaddr */
	assert_int_equal(symbolizer__first_user_frame(rs, pcs, 1, &user, NULL, NULL), -ENOENT);
	assert_int_equal(symbolizer__first_user_frame(rs, pcs, 2, &user, NULL, NULL), 0);
	assert_string_equal(user.function, "astd_tasks::main");

	/* A Debian crate's own files are as relative as the program's, to its
	 * unit's directory: "src/threading.rs" of async-global-executor-2.3.1 */
	n = symbolizer__frames(rs, rel_vaddr, false, f, 16);
	assert_true(n >= 1);
	assert_string_equal(f[0].file, "src/threading.rs");
	assert_true(f[0].library);
	pcs[0] = rel_vaddr;
	assert_int_equal(symbolizer__first_user_frame(rs, pcs, 2, &user, NULL, NULL), 0);
	assert_string_equal(user.function, "astd_tasks::main");
	symbolizer__free(rs);
	binary__free(b);
}

/* The program's crates are its workspace's members: by a function's crate,
 * else by the file's directory; Debian's crates, std and anything outside
 * the workspace are not. */
static void test_crate_map(void **state)
{
	char path[PATH_MAX], file[PATH_MAX + 32];
	struct binary *b;
	struct crate_map *m;
	const char *ws;

	program_path(path, sizeof(path), "../../async-task/target/release/astd_tasks");
	if (access(path, R_OK))
		skip();
	b = binary__open(path);
	assert_non_null(b);
	m = crate_map__new(binary__dwarf(b), func_vaddr(b, "main"));
	assert_non_null(m);
	ws = crate_map__workspace(m);
	assert_non_null(ws);
	assert_non_null(strstr(ws, "tests/programs/async-task"));
	assert_int_equal(crate_map__is_own(m, "astd_tasks::main", NULL), 1);
	assert_int_equal(crate_map__is_own(m, "<astd_tasks::Job as core::future::future::Future>::poll", NULL), 1);
	assert_int_equal(crate_map__is_own(m, "async_task::raw::RawTask<F,T,S>::run", NULL), 0);
	assert_int_equal(crate_map__is_own(m, "async_global_executor::threading::thread_main_loop", NULL), 0);
	assert_int_equal(crate_map__is_own(m, "<F as core::future::into_future::IntoFuture>::into_future", NULL), 0);
	/* no path: the file says */
	snprintf(file, sizeof(file), "%s/src/astd_tasks.rs", ws);
	assert_int_equal(crate_map__is_own(m, "{async_fn#0}", file), 1);
	assert_int_equal(crate_map__is_own(m, "ref_inc", "/usr/share/cargo/registry/async-task-4.3.0/src/raw.rs"), 0);
	assert_int_equal(crate_map__is_own(m, NULL, "/rustc/0123abcd/library/core/src/future/mod.rs"), 0);
	/* a dependency built from a path outside the workspace */
	assert_int_equal(crate_map__is_own(m, "poll<u32>", "/home/u/src/tokio/tokio/src/sync/oneshot.rs"), 0);
	assert_int_equal(crate_map__is_own(m, "ref_inc", NULL), -1);
	assert_int_equal(crate_map__is_own(NULL, "astd_tasks::main", NULL), -1);
	crate_map__free(m);
	binary__free(b);
}

/* Line tables only: an async body inlined into tokio's harness or into
 * async-executor's wrapper is named by the type the generic function it
 * sits in names, one inlined into another async body by the future its
 * drop glue drops where it is awaited (line, then column), one not inlined by its
 * symbol (the build matrix's o3 cell and the await fixture: make
 * programs); none of the program's own is left unnamed. */
static void test_async_body_names(void **state)
{
	static const struct {
		const char *prog, *want[2];
	} cases[] = {
		{ "mx_tokio", { "mx_tokio::nap::", "mx_tokio::wait_for_config::" } },
		{ "mx_smol", { "mx_smol::nap::", "mx_smol::wait_for_config::" } },
		/* an async fn inlined into another: by the line it is awaited on */
		{ "../../await/target/nofp-lines/release/stuck",
		  { "stuck::recv_config::{async_fn#0}", "stuck::wait_for_config::" } },
		/* two awaited on one line: by the column of its await */
		{ "../../await/target/nofp-lines/release/stuck",
		  { "stuck::first_value::{async_fn#0}", "stuck::two_on_a_line::" } },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		char path[PATH_MAX], rel[96];
		struct binary *b;
		struct symbolizer *rs;
		__u64 lo, hi;
		bool found[2] = { false, false };

		if (cases[c].prog[0] == '.')
			snprintf(rel, sizeof(rel), "%s", cases[c].prog);
		else
			snprintf(rel, sizeof(rel), "../../matrix/target/o3/release/%s", cases[c].prog);
		program_path(path, sizeof(path), rel);
		if (access(path, R_OK))
			skip();
		b = binary__open(path);
		assert_non_null(b);
		rs = symbolizer__new(b);
		assert_non_null(rs);
		assert_int_equal(elf_symbols__section_bounds(binary__symbols(b), ".text", &lo, &hi), 0);
		for (__u64 a = lo; a < hi && !(found[0] && found[1]); a += 4) {
			struct sym_frame f[16];
			int n = symbolizer__frames(rs, a, false, f, 16);

			for (int i = 0; i < n; i++) {
				/* no body of the program's own file left unnamed */
				if (f[i].function && !f[i].library && i + 1 < n && f[i + 1].library &&
				    (!strncmp(f[i].function, "{async_fn#", 10) ||
				     !strncmp(f[i].function, "{async_block#", 13)))
					fail_msg("%s: 0x%llx: %s in %s:%u unnamed", cases[c].prog,
						 (unsigned long long)a, f[i].function, f[i].file, f[i].line);
				for (int k = 0; k < 2; k++)
					found[k] |= f[i].function && !f[i].library &&
						    !strncmp(f[i].function, cases[c].want[k],
							     strlen(cases[c].want[k]));
			}
		}
		for (int k = 0; k < 2; k++)
			if (!found[k])
				fail_msg("%s: no frame named %s", cases[c].prog, cases[c].want[k]);
		symbolizer__free(rs);
		binary__free(b);
	}
}

/* The tokio programs are built without debuginfo, but the standard library
 * linked in brings its own DWARF: the program's frames have no file. */
static void test_rust_std_lines_only(void **state)
{
	char path[PATH_MAX];
	struct binary *b;
	struct symbolizer *rs;
	struct sym_frame f[16], user;
	__u64 main_vaddr, std_vaddr, pcs[2];
	int n;

	program_path(path, sizeof(path), "multi_thread");
	if (access(path, R_OK))
		skip();
	b = binary__open(path);
	assert_non_null(b);
	main_vaddr = func_vaddr(b, "multi_thread::main");
	std_vaddr = func_vaddr(b, "std::rt::lang_start_internal");
	/* generic: instantiated in the program's crate, without DWARF */
	pcs[0] = func_vaddr(b, "std::sys::backtrace::__rust_begin_short_backtrace") + 4;
	pcs[1] = main_vaddr + 5;
	rs = symbolizer__new(b);
	assert_non_null(rs);
	/* std's lines are not the program's */
	assert_false(symbolizer__has_lines(rs));

	n = symbolizer__frames(rs, std_vaddr + 4, false, f, 16);
	assert_true(n >= 1);
	assert_non_null(f[0].file);
	assert_true(f[0].library);
	assert_int_equal(symbolizer__frames(rs, pcs[0], false, f, 16), 1);
	assert_null(f[0].file);
	assert_true(f[0].library);
	assert_int_equal(symbolizer__frames(rs, main_vaddr, false, f, 16), 1);
	assert_string_equal(f[0].function, "multi_thread::main");
	assert_null(f[0].file);
	assert_false(f[0].library);
	assert_int_equal(symbolizer__first_user_frame(rs, pcs, 2, &user, NULL, NULL), 0);
	assert_string_equal(user.function, "multi_thread::main");
	assert_null(user.file);
	assert_int_equal(symbolizer__first_user_frame(rs, pcs, 1, &user, NULL, NULL), -ENOENT);
	symbolizer__free(rs);
	binary__free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_plain_line),
		cmocka_unit_test(test_inlined),
		cmocka_unit_test(test_symbols_only),
		cmocka_unit_test(test_stripped_addresses),
		cmocka_unit_test(test_library_file),
		cmocka_unit_test(test_library_function),
		cmocka_unit_test(test_library_by_crate),
		cmocka_unit_test(test_first_user_frame),
		cmocka_unit_test(test_rust_lines),
		cmocka_unit_test(test_crate_map),
		cmocka_unit_test(test_async_body_names),
		cmocka_unit_test(test_rust_std_lines_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Everything below is "in" a registry crate as far as DWARF is concerned. */
#line 100 LIB_FILE
NOIPA int lib_function(int x)
{
	ra_outer = __builtin_return_address(0);
	capture_ra();
	return x + sink;
}

static inline __attribute__((always_inline)) int lib_inline(int x)
{
	capture_ra();
	return x + sink;
}

#line 200 "tests/unit/test_symbolizer.c"
NOIPA int lib_inlining_caller(int x)
{
	line_call = __LINE__; return lib_inline(x) * 3;
}
