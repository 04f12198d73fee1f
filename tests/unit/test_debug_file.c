// SPDX-License-Identifier: MIT
/*
 * The separate debug file of an executable (binary/debug_file.c), found on
 * real files made here: a small C program compiled with a build-id set by
 * hand (so the expected paths are known without parsing the file), split
 * with objcopy as distributions do (--only-keep-debug, --strip-debug,
 * --strip-all, --add-gnu-debuglink), the debug folder a temporary one.
 * Every place gdb looks, the CRC of .gnu_debuglink, files refused and why,
 * and what the binary then reads from the debug file: DWARF, symbols.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "binary/binary.h"
#include "binary/debug_file.h"
#include "binary/elf_symbols.h"
#include "binary/symbolizer.h"

/* the build-id's file under .build-id/01/ is PROG_TAIL.debug */
#define PROG_TAIL "23456789abcdef0123456789abcdef01234567"
#define PROG_ID "01" PROG_TAIL
#define OTHER_ID "fedcba9876543210fedcba9876543210fedcba98"
#define ANSWER_LINE 3 /* of answer() in prog.c */

static const char prog_c[] = "#include <stdio.h>\n"
			     "int answer(int x)\n"
			     "{\n"
			     "\treturn x * 2 + 1;\n"
			     "}\n"
			     "int main(int argc, char **argv)\n"
			     "{\n"
			     "\tprintf(\"%d\\n\", answer(argc));\n"
			     "\treturn 0;\n"
			     "}\n";
static const char other_c[] = "int answer(int x) { return x * 3; }\n"
			      "int main(void) { return answer(1) - 3; }\n";

/* R/src: the sources; R/bin: the executables; R/store: their debug files
 * as objcopy made them; R/debug: the global debug folder. */
static char R[256]; /* short: every path below fits */

static void sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		fail_msg("failed: %s", cmd);
}

static const char *at(char *buf, const char *fmt, ...)
{
	char rel[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(buf, PATH_MAX, "%s/%s", R, rel);
	return buf;
}

static int write_file(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f = fopen(at(path, "%s", name), "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* One executable, built and split every way the tests need. */
static int build(const char *name, const char *src, const char *build_id)
{
	char cmd[8 * PATH_MAX];

	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; cc -g -O0 -Wl,--build-id=%s -o bin/%s src/%s;"
		 "objcopy --only-keep-debug bin/%s store/%s.debug;"
		 "objcopy --strip-debug bin/%s bin/%s-g;"
		 "objcopy --strip-all bin/%s bin/%s-all;"
		 "objcopy --strip-all --add-gnu-debuglink=store/%s.debug bin/%s bin/%s-link",
		 R, build_id, name, src, name, name, name, name, name, name, name, name, name);
	return system(cmd) ? -1 : 0;
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/aib-debug-file-XXXXXX", cmd[PATH_MAX + 64];

	if (!mkdtemp(tmpl) || snprintf(R, sizeof(R), "%s", tmpl) >= (int)sizeof(R))
		return -1;
	snprintf(cmd, sizeof(cmd), "cd '%s' && mkdir src bin store debug", R);
	if (system(cmd) || write_file("src/prog.c", prog_c) || write_file("src/other.c", other_c))
		return -1;
	if (build("prog", "prog.c", "0x" PROG_ID) || build("other", "other.c", "0x" OTHER_ID) ||
	    build("noid", "prog.c", "none"))
		return -1;
	unsetenv("DEBUGINFOD_URLS");
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", R);
	return system(cmd) ? -1 : 0;
}

/* The executable bin/NAME opened with the debug folder R/debug. */
static struct binary *open_exe(const char *name, const char *given, bool debuginfod)
{
	char exe[PATH_MAX], dir[PATH_MAX];
	struct binary *b = binary__open_with_debug(
		at(exe, "bin/%s", name),
		&(struct debug_search){.given = given, .dir = at(dir, "debug"), .debuginfod = debuginfod});

	if (!b)
		fail_msg("cannot open %s: %s", exe, strerror(errno));
	return b;
}

static const struct debug_file *found(const struct binary *b, enum debug_source src,
				      const char *path)
{
	const struct debug_file *df = binary__debug_file(b);

	assert_non_null(df);
	if (debug_file__source(df) != src)
		fail_msg("found by %s (%s), expected %s; tried: %s",
			 debug_file__source_name(debug_file__source(df)), debug_file__path(df),
			 debug_file__source_name(src), debug_file__tried(df));
	assert_string_equal(debug_file__path(df), path);
	assert_true((debug_file__elf(df) != NULL) == (src != DEBUG_NONE));
	return df;
}

static int take_vaddr(const struct elf_symbol *sym, void *ctx)
{
	*(__u64 *)ctx = sym->vaddr;
	return 0;
}

/* answer() by its symbol, then named by the DWARF: prog.c, its line. */
static void expect_answer_in_dwarf(const struct binary *b, __u64 want_vaddr)
{
	struct sym_frame fr[4];
	struct symbolizer *s;
	__u64 vaddr = 0;
	int n;

	assert_true(elf_symbols__has_symtab(binary__symbols(b)));
	assert_int_equal(elf_symbols__match(binary__symbols(b), "answer", take_vaddr, &vaddr), 1);
	assert_int_equal(vaddr, want_vaddr);
	assert_non_null(binary__dwarf(b));
	s = symbolizer__new(b);
	assert_non_null(s);
	assert_true(symbolizer__has_lines(s));
	n = symbolizer__frames(s, vaddr, false, fr, 4);
	assert_int_equal(n, 1);
	assert_string_equal(fr[0].function, "answer");
	assert_non_null(fr[0].file);
	assert_string_equal(strrchr(fr[0].file, '/') ? strrchr(fr[0].file, '/') + 1 : fr[0].file,
			    "prog.c");
	assert_int_equal(fr[0].line, ANSWER_LINE);
	symbolizer__free(s);
}

/* answer()'s address in the unsplit executable */
static __u64 prog_answer(void)
{
	char exe[PATH_MAX];
	struct binary *b = binary__open(at(exe, "bin/prog"));
	__u64 vaddr = 0;

	assert_non_null(b);
	assert_int_equal(elf_symbols__match(binary__symbols(b), "answer", take_vaddr, &vaddr), 1);
	binary__free(b);
	assert_true(vaddr != 0);
	return vaddr;
}

/* An executable with its own DWARF and symbols: nothing is looked for. */
static void test_not_needed(void **state)
{
	struct binary *b = open_exe("prog", NULL, true);

	assert_null(binary__debug_file(b));
	expect_answer_in_dwarf(b, prog_answer());
	binary__free(b);
}

/* strip -g, the debug file under <dir>/.build-id/01/23...67.debug: the
 * DWARF comes from it (the executable alone has none). */
static void test_build_id(void **state)
{
	char exe[PATH_MAX], want[PATH_MAX];
	struct binary *b;

	sh("set -e; cd '%s'; mkdir -p debug/.build-id/01; cp store/prog.debug "
	   "debug/.build-id/01/%s.debug",
	   R, PROG_TAIL);
	at(want, "debug/.build-id/01/%s.debug", PROG_TAIL);
	b = binary__open(at(exe, "bin/prog-g"));
	assert_null(binary__dwarf(b));
	binary__free(b);

	b = open_exe("prog-g", NULL, false);
	found(b, DEBUG_BUILD_ID, want);
	expect_answer_in_dwarf(b, prog_answer());
	binary__free(b);
	sh("rm -r '%s/debug/.build-id'", R);
}

/* strip --strip-all: .symtab is only in the debug file, and is used. */
static void test_symtab_from_debug_file(void **state)
{
	char exe[PATH_MAX], want[PATH_MAX];
	struct binary *b = binary__open(at(exe, "bin/prog-all"));

	assert_false(elf_symbols__has_symtab(binary__symbols(b)));
	assert_int_equal(elf_symbols__match(binary__symbols(b), "answer", take_vaddr, &(__u64){0}), 0);
	binary__free(b);

	b = open_exe("prog-all", at(want, "store/prog.debug"), false);
	found(b, DEBUG_GIVEN, want);
	expect_answer_in_dwarf(b, prog_answer());
	binary__free(b);
}

/* .gnu_debuglink in each of gdb's three folders, in turn. */
static void test_debuglink_folders(void **state)
{
	const char *where[] = {"bin", "bin/.debug", NULL};
	char dir[PATH_MAX], want[PATH_MAX], global[PATH_MAX];

	snprintf(global, sizeof(global), "debug%s/bin", R);
	where[2] = global;
	for (int i = 0; i < 3; i++) {
		struct binary *b;

		sh("mkdir -p '%s' && cp '%s/store/prog.debug' '%s/'", at(dir, "%s", where[i]), R, dir);
		at(want, "%s/prog.debug", where[i]);
		b = open_exe("prog-link", NULL, false);
		found(b, DEBUG_LINK, want);
		expect_answer_in_dwarf(b, prog_answer());
		binary__free(b);
		sh("rm '%s'", want);
	}
}

static unsigned long file_crc(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char buf[4096];
	uLong crc = crc32(0, Z_NULL, 0);
	size_t n;

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crc = crc32(crc, buf, (uInt)n);
	fclose(f);
	return crc;
}

/* No build-id: the CRC alone tells the file. One changed after the link
 * was made is refused (and said); the right one is taken. */
static void test_debuglink_crc(void **state)
{
	char want[PATH_MAX], tried[3 * PATH_MAX], store[PATH_MAX];
	struct binary *b;

	sh("set -e; cd '%s'; cp store/noid.debug bin/; printf 'changed' >> bin/noid.debug", R);
	at(want, "bin/noid.debug");
	b = open_exe("noid-link", NULL, false);
	snprintf(tried, sizeof(tried),
		 "no build-id; %s (.gnu_debuglink): CRC32 %08lx, its .gnu_debuglink says %08lx; "
		 ".gnu_debuglink noid.debug: not in %s/bin/.debug/, %s/debug%s/bin/",
		 want, file_crc(want), file_crc(at(store, "store/noid.debug")), R, R, R);
	assert_string_equal(debug_file__tried(found(b, DEBUG_NONE, "")), tried);
	assert_null(binary__dwarf(b));
	binary__free(b);

	sh("cp '%s/store/noid.debug' '%s'", R, want);
	b = open_exe("noid-link", NULL, false);
	found(b, DEBUG_LINK, want);
	assert_non_null(binary__dwarf(b));
	binary__free(b);
	sh("rm '%s'", want);
}

/* Another program's debug file, under this one's build-id or given: refused. */
static void test_mismatch_refused(void **state)
{
	char given[PATH_MAX], store[PATH_MAX], tried[2 * PATH_MAX];
	const struct debug_file *df;
	struct binary *b;

	sh("set -e; cd '%s'; mkdir -p debug/.build-id/01; cp store/other.debug "
	   "debug/.build-id/01/%s.debug",
	   R, PROG_TAIL);
	b = open_exe("prog-g", at(given, "store/other.debug"), false);
	df = found(b, DEBUG_NONE, "");
	assert_string_equal(debug_file__given_refused(df),
			    "build-id " OTHER_ID ", the executable's is " PROG_ID);
	snprintf(tried, sizeof(tried),
		 "--debuginfo %s: build-id " OTHER_ID ", the executable's is " PROG_ID
		 "; build-id %s/debug/.build-id/01/%s.debug: build-id " OTHER_ID
		 ", the executable's is " PROG_ID "; no .gnu_debuglink",
		 given, R, PROG_TAIL);
	assert_string_equal(debug_file__tried(df), tried);
	assert_null(binary__dwarf(b));
	binary__free(b);
	sh("rm -r '%s/debug/.build-id'", R);

	/* refused, the search goes on: by .gnu_debuglink here */
	sh("cp '%s/store/prog.debug' '%s/bin/'", R, R);
	b = open_exe("prog-link", given, false);
	df = found(b, DEBUG_LINK, at(store, "bin/prog.debug"));
	assert_string_equal(debug_file__given_refused(df),
			    "build-id " OTHER_ID ", the executable's is " PROG_ID);
	binary__free(b);
	sh("rm '%s/bin/prog.debug'", R);
}

/* --debuginfo: taken first (even over the executable's own DWARF), and
 * each reason a given file is refused. */
static void test_given(void **state)
{
	char path[PATH_MAX];
	struct binary *b;

	b = open_exe("prog-g", at(path, "store/prog.debug"), false);
	found(b, DEBUG_GIVEN, path);
	assert_null(debug_file__given_refused(binary__debug_file(b)));
	expect_answer_in_dwarf(b, prog_answer());
	binary__free(b);

	b = open_exe("prog", path, false);
	found(b, DEBUG_GIVEN, path);
	assert_ptr_equal(dwarf_getelf(binary__dwarf(b)), debug_file__elf(binary__debug_file(b)));
	binary__free(b);

	struct {
		const char *given, *why;
	} refused[] = {
		{"store/none.debug", "No such file or directory"},
		{"bin/prog-g", "the executable itself"},
		{"src/prog.c", "not an ELF file for the executable's machine"},
		{"store", "not a regular file"},
		{"bin/prog-all", "neither DWARF nor a symbol table in it"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		b = open_exe("prog-g", at(path, "%s", refused[i].given), false);
		if (!debug_file__given_refused(binary__debug_file(b)))
			fail_msg("%s taken", path);
		assert_string_equal(debug_file__given_refused(binary__debug_file(b)), refused[i].why);
		binary__free(b);
	}
}

/* Nothing anywhere: each place tried, in order, in one line. */
static void test_nothing_found(void **state)
{
	char tried[4 * PATH_MAX];
	struct binary *b;

	b = open_exe("prog-g", NULL, false);
	snprintf(tried, sizeof(tried),
		 "build-id %s/debug/.build-id/01/%s.debug: not found; no .gnu_debuglink", R,
		 PROG_TAIL);
	assert_string_equal(debug_file__tried(found(b, DEBUG_NONE, "")), tried);
	binary__free(b);

	b = open_exe("prog-link", NULL, true);
	snprintf(tried, sizeof(tried),
		 "build-id %s/debug/.build-id/01/%s.debug: not found; .gnu_debuglink prog.debug: "
		 "not in %s/bin/, %s/bin/.debug/, %s/debug%s/bin/; debuginfod: DEBUGINFOD_URLS is "
		 "not set",
		 R, PROG_TAIL, R, R, R, R);
	assert_string_equal(debug_file__tried(found(b, DEBUG_NONE, "")), tried);
	assert_false(elf_symbols__has_symtab(binary__symbols(b)));
	binary__free(b);

	b = open_exe("noid-g", NULL, true);
	assert_string_equal(debug_file__tried(found(b, DEBUG_NONE, "")),
			    "no build-id; no .gnu_debuglink; debuginfod: no build-id to ask for");
	binary__free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_needed),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_symtab_from_debug_file),
		cmocka_unit_test(test_debuglink_folders),
		cmocka_unit_test(test_debuglink_crc),
		cmocka_unit_test(test_mismatch_refused),
		cmocka_unit_test(test_given),
		cmocka_unit_test(test_nothing_found),
	};

	return cmocka_run_group_tests_name("debug_file", tests, setup, teardown);
}
