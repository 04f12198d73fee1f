// SPDX-License-Identifier: MIT
/*
 * future_decoder on the real DWARF of the await fixture
 * (tests/programs/await, built with debug = "full"): synthetic memory images
 * of tokio task cells laid out with the fixture's own types (found here with
 * libdw, independently of the decoder), decoded through a read callback; the
 * lines expected are those of the `// aib:LABEL` markers in stuck.rs. Then,
 * when process_vm_readv is allowed, the fixture itself, run as a child: a
 * task found by scanning its memory for its vtable, decoded live. Skipped
 * when the fixture is not built. Its directory: $AIB_AWAIT, else
 * $AIB_PROGRAMS/../../await, else tests/programs/await.
 *
 * The locks a parked task holds and waits for (future_decoder__tokio_locks):
 * on images of the await fixture, then live on the locks fixture built with
 * debug = "full" (tests/programs/locks, CARGO_TARGET_DIR=target/full: its
 * binary $AIB_LOCKS_FULL, else $AIB_PROGRAMS/../../locks/target/full/release/
 * locks, else tests/programs/locks/target/full/release/locks), its tasks
 * found by task_scan; skipped when not built or its memory is not readable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "binary/binary.h"
#include "binary/elf_symbols.h"
#include "inspect/future_decoder.h"
#include "inspect/proc_mem.h"
#include "inspect/task_scan.h"
#include "runtime/probe_plan.h"
#include "runtime/runtime.h"

#define MT_SCHED "alloc::sync::Arc<tokio::runtime::scheduler::multi_thread::handle::Handle, alloc::alloc::Global>"

static char await_dir[PATH_MAX];

static const char *fixture_dir(void)
{
	const char *e = getenv("AIB_AWAIT"), *p = getenv("AIB_PROGRAMS");

	if (e)
		snprintf(await_dir, sizeof(await_dir), "%s", e);
	else if (p)
		snprintf(await_dir, sizeof(await_dir), "%s/../../await", p);
	else
		snprintf(await_dir, sizeof(await_dir), "tests/programs/await");
	return await_dir;
}

static void fixture_path(char *buf, size_t len, const char *variant)
{
	snprintf(buf, len, "%s/target/%s/release/stuck", fixture_dir(), variant);
}

/* the line of `// aib:label` in stuck.rs (the label whole), 0 if none */
static __u32 marker_line(const char *label)
{
	char path[PATH_MAX], line[512], pat[64];
	__u32 n = 0, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/src/stuck.rs", fixture_dir());
	snprintf(pat, sizeof(pat), "// aib:%s", label);
	if (!(f = fopen(path, "r")))
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, pat);

		n++;
		if (p) {
			char c = p[strlen(pat)];

			if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
				found = n;
		}
	}
	fclose(f);
	return found;
}

/* ---- the fixture's types, found independently of the decoder ---- */

struct variant_ctx {
	const char *name; /* nofp-full, fp-full */
	char path[PATH_MAX];
	struct binary *bin;
	struct future_decoder *d;
	Dwarf *dw; /* the binary's, to build memory images from its types */
	unsigned shift; /* its semaphores' permit shift, read from it */
};

static bool peel(Dwarf_Die *t)
{
	Dwarf_Attribute a;

	while (dwarf_tag(t) == DW_TAG_typedef || dwarf_tag(t) == DW_TAG_const_type)
		if (!dwarf_formref_die(dwarf_attr(t, DW_AT_type, &a), t))
			return false;
	return true;
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	return dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &a), out) && peel(out);
}

static __u64 moff(Dwarf_Die *m)
{
	Dwarf_Attribute a;
	Dwarf_Word v = 0;

	dwarf_formudata(dwarf_attr(m, DW_AT_data_member_location, &a), &v);
	return v;
}

/* depth-first, every unit: the first DIE with that tag and name (and a low
 * pc for a subprogram) */
static bool find_in(Dwarf_Die *parent, int tag, const char *name, Dwarf_Die *out)
{
	Dwarf_Die c;

	if (dwarf_child(parent, &c))
		return false;
	do {
		const char *n = dwarf_diename(&c);
		Dwarf_Addr lo;

		if (dwarf_tag(&c) == tag && n && !strcmp(n, name) &&
		    (tag != DW_TAG_subprogram || !dwarf_lowpc(&c, &lo))) {
			*out = c;
			return true;
		}
		if (dwarf_tag(&c) == DW_TAG_namespace || dwarf_tag(&c) == DW_TAG_structure_type)
			if (find_in(&c, tag, name, out))
				return true;
	} while (!dwarf_siblingof(&c, &c));
	return false;
}

static bool find_die(Dwarf *dw, int tag, const char *name, Dwarf_Die *out)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;

	while (!dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL))
		if (find_in(&cudie, tag, name, out))
			return true;
	return false;
}

/* tokio::runtime::task::raw::poll<stuck::fn::{async_fn_env#0}, MT_SCHED>
 * (not Harness::poll, whose DW_AT_name is the same) */
static bool find_poll(Dwarf *dw, const char *fn, Dwarf_Addr *lo)
{
	static const char *const ns[] = { "tokio", "runtime", "task", "raw" };
	char name[1024];
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;

	snprintf(name, sizeof(name), "poll<stuck::%s::{async_fn_env#0}, " MT_SCHED ">", fn);
	while (!dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL)) {
		Dwarf_Die die = cudie, c;
		size_t i;

		for (i = 0; i < 4; i++) {
			bool found = false;

			if (dwarf_child(&die, &c))
				break;
			do {
				const char *n = dwarf_diename(&c);

				found = dwarf_tag(&c) == DW_TAG_namespace && n && !strcmp(n, ns[i]);
			} while (!found && !dwarf_siblingof(&c, &c));
			if (!found)
				break;
			die = c;
		}
		if (i < 4 || dwarf_child(&die, &c))
			continue;
		do {
			const char *n = dwarf_diename(&c);

			if (dwarf_tag(&c) == DW_TAG_subprogram && n && !strcmp(n, name) &&
			    !dwarf_lowpc(&c, lo))
				return true;
		} while (!dwarf_siblingof(&c, &c));
	}
	return false;
}

static bool member(Dwarf_Die *t, const char *name, __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m;

	if (dwarf_child(t, &m))
		return false;
	do {
		const char *n = dwarf_diename(&m);

		if (dwarf_tag(&m) == DW_TAG_member && n && !strcmp(n, name)) {
			*off = moff(&m);
			return type_of(&m, type);
		}
	} while (!dwarf_siblingof(&m, &m));
	return false;
}

/* depth first through members and every variant: the first member `name` */
static bool deep_member(Dwarf_Die *t, const char *name, int depth, __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m, mt;

	if (depth > 16 || dwarf_child(t, &m))
		return false;
	do {
		const char *n = dwarf_diename(&m);
		__u64 inner;

		if (dwarf_tag(&m) == DW_TAG_variant_part || dwarf_tag(&m) == DW_TAG_variant) {
			if (deep_member(&m, name, depth + 1, off, type))
				return true;
			continue;
		}
		if (dwarf_tag(&m) != DW_TAG_member || !type_of(&m, &mt))
			continue;
		if (n && !strcmp(n, name)) {
			*off = moff(&m);
			*type = mt;
			return true;
		}
		if (dwarf_tag(&mt) == DW_TAG_structure_type &&
		    deep_member(&mt, name, depth + 1, &inner, type)) {
			*off = moff(&m) + inner;
			return true;
		}
	} while (!dwarf_siblingof(&m, &m));
	return false;
}

/* depth first: the first member whose type's name starts with prefix */
static bool member_typed(Dwarf_Die *t, const char *prefix, int depth, __u64 *off, Dwarf_Die *type)
{
	Dwarf_Die m, mt;

	if (depth > 8 || dwarf_child(t, &m))
		return false;
	do {
		const char *n;
		__u64 inner;

		if (dwarf_tag(&m) != DW_TAG_member || !type_of(&m, &mt))
			continue;
		n = dwarf_diename(&mt);
		if (n && !strncmp(n, prefix, strlen(prefix))) {
			*off = moff(&m);
			*type = mt;
			return true;
		}
		if (member_typed(&mt, prefix, depth + 1, &inner, type)) {
			*off = moff(&m) + inner;
			return true;
		}
	} while (!dwarf_siblingof(&m, &m));
	return false;
}

struct tvariant {
	__u64 discr_off, value, off; /* discriminant, its value, the member */
	int discr_size;
	Dwarf_Die type;		     /* the member's */
};

/* the variant of enum t whose member is named, or typed, `which` */
static bool variant(Dwarf_Die *t, const char *which, struct tvariant *v)
{
	Dwarf_Die vp, c, m, discr, dt;
	Dwarf_Attribute a;

	if (dwarf_child(t, &vp))
		return false;
	while (dwarf_tag(&vp) != DW_TAG_variant_part)
		if (dwarf_siblingof(&vp, &vp))
			return false;
	if (!dwarf_formref_die(dwarf_attr(&vp, DW_AT_discr, &a), &discr) || !type_of(&discr, &dt))
		return false;
	v->discr_off = moff(&discr);
	v->discr_size = dwarf_bytesize(&dt);
	if (dwarf_child(&vp, &c))
		return false;
	do {
		Dwarf_Word value;
		const char *n, *tn;

		if (dwarf_tag(&c) != DW_TAG_variant || dwarf_child(&c, &m) || !type_of(&m, &v->type))
			continue;
		n = dwarf_diename(&m);
		tn = dwarf_diename(&v->type);
		if ((n && !strcmp(n, which)) || (tn && !strcmp(tn, which))) {
			if (dwarf_formudata(dwarf_attr(&c, DW_AT_discr_value, &a), &value))
				return false; /* the default variant: no value to write */
			v->value = value;
			v->off = moff(&m);
			return true;
		}
	} while (!dwarf_siblingof(&c, &c));
	return false;
}

/* ---- memory images ---- */

#define IMG_BASE 0x7f1200000000ULL
#define IMG_SIZE (1u << 16)
#define BIAS 0x555500000000ULL
#define VTABLE (IMG_BASE + 0x100)
#define HEADER (IMG_BASE + 0x1000)

static __u8 img[IMG_SIZE];
static int nreads;

/* what put() wrote, to write again over random memory */
static struct poke {
	__u64 addr, v;
	int size;
} pokes[64];
static int npokes;

static int img_read(__u64 addr, void *buf, size_t len, void *ctx)
{
	nreads++;
	if (addr < IMG_BASE || addr - IMG_BASE > IMG_SIZE || len > IMG_SIZE - (addr - IMG_BASE))
		return -EFAULT;
	memcpy(buf, img + (addr - IMG_BASE), len);
	return 0;
}

static void put(__u64 addr, __u64 v, int size)
{
	assert_true(addr >= IMG_BASE && addr + size <= IMG_BASE + IMG_SIZE);
	memcpy(img + (addr - IMG_BASE), &v, size); /* little-endian */
	if (npokes < 64)
		pokes[npokes++] = (struct poke){ addr, v, size };
}

/* A Cell<fn's future, multi-thread scheduler> at HEADER, stage Running:
 * the future's address and type. */
static void task_image(struct variant_ctx *vc, const char *fn, __u64 *fut, Dwarf_Die *fut_type)
{
	char name[1024];
	Dwarf_Die cell, stage;
	Dwarf_Addr lo;
	struct tvariant run;
	__u64 stage_off, f_off;

	memset(img, 0, sizeof(img));
	npokes = 0;
	assert_true(find_poll(vc->dw, fn, &lo));
	snprintf(name, sizeof(name), "Cell<stuck::%s::{async_fn_env#0}, " MT_SCHED ">", fn);
	assert_true(find_die(vc->dw, DW_TAG_structure_type, name, &cell));
	assert_true(member_typed(&cell, "Stage<", 0, &stage_off, &stage));
	assert_true(variant(&stage, "Running", &run));
	assert_true(member(&run.type, "__0", &f_off, fut_type));

	put(HEADER + 16, VTABLE, 8);
	put(VTABLE, lo + BIAS, 8);
	put(HEADER + stage_off + run.discr_off, run.value, run.discr_size);
	*fut = HEADER + stage_off + run.off + f_off;
}

/* Sets the state machine at addr to variant `kind` ("Suspend0",
 * "Unresumed", ...); the awaitee's address and type if it has one. */
static void set_state(Dwarf_Die *env, __u64 addr, const char *kind, __u64 *aw, Dwarf_Die *aw_type)
{
	struct tvariant v;
	__u64 off;

	assert_true(variant(env, kind, &v));
	put(addr + v.discr_off, v.value, v.discr_size);
	if (aw)
		assert_true(member(&v.type, "__awaitee", &off, aw_type));
	if (aw)
		*aw = addr + v.off + off;
}

static int decode(struct variant_ctx *vc, struct future_await *out)
{
	nreads = 0;
	return future_decoder__tokio_task(vc->d, HEADER, BIAS, img_read, NULL, out);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = s ? strlen(s) : 0, m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

/* ---- setup ---- */

/* The permit shift the probes would read from bin (0: not recognized). */
static unsigned permit_shift_of(struct binary *bin)
{
	struct lock_layout l;
	char why[256];

	if (tokio_runtime.lock_layout(binary__symbols(bin), LAYOUT_FROM_ANY, &l, why,
				      sizeof(why))) {
		print_message("lock layout not recognized: %s\n", why);
		return 0;
	}
	return l.permit_shift;
}

static struct variant_ctx nofp = { .name = "nofp-full" }, fp = { .name = "fp-full" };

static int open_variant(void **state)
{
	struct variant_ctx *vc = *state;

	if (vc->d)
		return 0;
	fixture_path(vc->path, sizeof(vc->path), vc->name);
	if (access(vc->path, R_OK))
		return 0;
	vc->bin = binary__open(vc->path);
	vc->d = vc->bin ? future_decoder__new(vc->bin) : NULL;
	if (!vc->d)
		return -1;
	vc->dw = binary__dwarf(vc->bin);
	vc->shift = permit_shift_of(vc->bin);
	return 0;
}

static int close_locks(void);

static int close_all(void **state)
{
	struct variant_ctx *all[] = { &nofp, &fp };

	close_locks();

	for (int i = 0; i < 2; i++) {
		future_decoder__free(all[i]->d);
		binary__free(all[i]->bin);
	}
	return 0;
}

#define NEED_FIXTURE(vc)                                                                  \
	do {                                                                              \
		if (!(vc)->d) {                                                           \
			print_message("[  SKIPPED ] %s not built\n", (vc)->path);          \
			skip();                                                           \
		}                                                                         \
	} while (0)

/* ---- tests ---- */

static void test_open_errors(void **state)
{
	char path[PATH_MAX];
	struct binary *b;

	errno = 0;
	assert_null(binary__open("/nonexistent/stuck"));
	assert_int_equal(errno, ENOENT);

	snprintf(path, sizeof(path), "%s/src/stuck.rs", fixture_dir());
	if (!access(path, R_OK)) {
		assert_null(binary__open(path));
		assert_int_equal(errno, ENOEXEC);
	}
	fixture_path(path, sizeof(path), "nofp-lines");
	if (access(path, R_OK)) {
		print_message("[  SKIPPED ] %s not built\n", path);
		skip();
	}
	b = binary__open(path);
	assert_non_null(b);
	errno = 0;
	assert_null(future_decoder__new(b));
	assert_int_equal(errno, ENODATA);
	binary__free(b);
}

/* aib:spawn_oneshot: wait_for_config at aib:oneshot_outer awaiting
 * recv_config at aib:oneshot, awaiting a oneshot Receiver */
static void test_oneshot_chain(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	Dwarf_Die t, inner, leaf;
	__u64 fut, aw, aw2;

	NEED_FIXTURE(vc);
	task_image(vc, "wait_for_config", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &inner);
	set_state(&inner, aw, "Suspend0", &aw2, &leaf);

	assert_int_equal(decode(vc, &out), 0);
	assert_string_equal(out.root_state, "suspended");
	assert_int_equal(out.nframes, 2);
	assert_string_equal(out.frames[0].function, "stuck::wait_for_config");
	assert_true(ends_with(out.frames[0].file, "src/stuck.rs"));
	assert_int_equal(out.frames[0].line, marker_line("oneshot_outer"));
	assert_string_equal(out.frames[1].function, "stuck::recv_config");
	assert_true(ends_with(out.frames[1].file, "src/stuck.rs"));
	assert_int_equal(out.frames[1].line, marker_line("oneshot"));
	assert_string_equal(out.leaf_type, "tokio::sync::oneshot::Receiver<u32>");
	assert_true(out.leaf_addr == aw2);
	assert_false(out.has_deadline);
	assert_true(out.join_header == 0);
	assert_int_equal(out.fd, -1);

	/* cached: the same again */
	assert_int_equal(decode(vc, &out), 0);
	assert_int_equal(out.nframes, 2);
	assert_int_equal(out.frames[1].line, marker_line("oneshot"));
}

static void test_unresumed_and_finished(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	struct tvariant fin;
	Dwarf_Die t, cell, stage;
	__u64 fut, stage_off;

	NEED_FIXTURE(vc);
	task_image(vc, "wait_for_config", &fut, &t);
	set_state(&t, fut, "Unresumed", NULL, NULL);
	assert_int_equal(decode(vc, &out), 0);
	assert_string_equal(out.root_state, "unresumed");
	assert_int_equal(out.nframes, 1);
	assert_string_equal(out.frames[0].function, "stuck::wait_for_config");
	assert_int_equal(out.frames[0].line, marker_line("oneshot_outer") - 1); /* the fn */
	assert_string_equal(out.leaf_type, "");

	/* Finished: the output is stored, no future any more */
	assert_true(find_die(vc->dw, DW_TAG_structure_type,
			     "Cell<stuck::wait_for_config::{async_fn_env#0}, " MT_SCHED ">", &cell));
	assert_true(member_typed(&cell, "Stage<", 0, &stage_off, &stage));
	assert_true(variant(&stage, "Finished", &fin));
	put(HEADER + stage_off + fin.discr_off, fin.value, fin.discr_size);
	assert_int_equal(decode(vc, &out), 0);
	assert_string_equal(out.root_state, "finished");
	assert_int_equal(out.nframes, 0);
}

/* aib:sleep: a Sleep and its deadline */
static void test_sleep_deadline(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	Dwarf_Die t, sleep, x;
	__u64 fut, aw, dl, sec, nsec;

	NEED_FIXTURE(vc);
	task_image(vc, "nap", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &sleep);
	assert_true(deep_member(&sleep, "deadline", 0, &dl, &x));
	assert_true(deep_member(&x, "tv_sec", 0, &sec, &t));
	assert_true(deep_member(&x, "tv_nsec", 0, &nsec, &t));
	put(aw + dl + sec, 12345, 8);
	put(aw + dl + nsec, 678, 4);

	assert_int_equal(decode(vc, &out), 0);
	assert_int_equal(out.nframes, 1);
	assert_string_equal(out.frames[0].function, "stuck::nap");
	assert_int_equal(out.frames[0].line, marker_line("sleep"));
	assert_string_equal(out.leaf_type, "tokio::time::sleep::Sleep");
	assert_true(out.leaf_addr == aw);
	assert_true(out.has_deadline);
	assert_true(out.deadline_ns == 12345 * 1000000000ULL + 678);

	put(aw + dl + nsec, 2000000000u, 4); /* not a valid timespec: no deadline */
	assert_int_equal(decode(vc, &out), 0);
	assert_false(out.has_deadline);
}

/* aib:join: a JoinHandle and the header of the task it waits for */
static void test_join_handle(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	Dwarf_Die t, jh, x;
	__u64 fut, aw, ptr;

	NEED_FIXTURE(vc);
	task_image(vc, "join_other", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &jh);
	assert_true(deep_member(&jh, "ptr", 0, &ptr, &x));
	put(aw + ptr, 0x7f1300004000ULL, 8);

	assert_int_equal(decode(vc, &out), 0);
	assert_int_equal(out.nframes, 1);
	assert_string_equal(out.frames[0].function, "stuck::join_other");
	assert_int_equal(out.frames[0].line, marker_line("join"));
	assert_string_equal(out.leaf_type, "tokio::runtime::task::join::JoinHandle<u32>");
	assert_true(out.join_header == 0x7f1300004000ULL);
}

/* aib:socket: a read on a TcpStream, through &mut TcpStream to its fd */
static void test_socket_fd(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	Dwarf_Die t, rd, stream, x;
	__u64 fut, aw, reader, fd;
	const __u64 stream_addr = IMG_BASE + 0x8000;

	NEED_FIXTURE(vc);
	task_image(vc, "read_socket", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &rd);
	assert_true(member(&rd, "reader", &reader, &stream));
	assert_int_equal(dwarf_tag(&stream), DW_TAG_pointer_type);
	assert_true(type_of(&stream, &stream));
	assert_true(deep_member(&stream, "fd", 0, &fd, &x));
	put(aw + reader, stream_addr, 8);
	put(stream_addr + fd, 7, 4);

	assert_int_equal(decode(vc, &out), 0);
	assert_int_equal(out.nframes, 1);
	assert_string_equal(out.frames[0].function, "stuck::read_socket");
	assert_int_equal(out.frames[0].line, marker_line("socket"));
	assert_true(!strncmp(out.leaf_type, "tokio::io::util::read::Read<", 28));
	assert_int_equal(out.fd, 7);

	put(stream_addr + fd, 0xffffffff, 4); /* -1: the Option is None */
	assert_int_equal(decode(vc, &out), 0);
	assert_int_equal(out.fd, -1);
}

/* aib:lock: into tokio's own async fns (Mutex::lock, Mutex::acquire), down
 * to the semaphore's Acquire */
static void test_lock_chain(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	Dwarf_Die t, lock, acq, leaf;
	__u64 fut, aw, aw2, aw3;

	NEED_FIXTURE(vc);
	task_image(vc, "take_lock", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &lock);
	set_state(&lock, aw, "Suspend0", &aw2, &acq);
	set_state(&acq, aw2, "Suspend0", &aw3, &leaf);
	assert_int_equal(decode(vc, &out), 0);
	assert_int_equal(out.nframes, 3);
	assert_string_equal(out.frames[0].function, "stuck::take_lock");
	assert_int_equal(out.frames[0].line, marker_line("lock"));
	assert_string_equal(out.frames[1].function, "tokio::sync::mutex::Mutex<T>::lock");
	assert_string_equal(out.frames[2].function, "tokio::sync::mutex::Mutex<T>::acquire");
	for (int i = 1; i < 3; i++) {
		assert_true(ends_with(out.frames[i].file, "src/sync/mutex.rs"));
		assert_true(out.frames[i].line > 0);
	}
	assert_string_equal(out.leaf_type, "tokio::sync::batch_semaphore::Acquire");
	assert_true(out.leaf_addr == aw3);
}

/* ---- locks, on images ---- */

static int locks_of(struct variant_ctx *vc, struct future_lock *out)
{
	nreads = 0;
	assert_int_not_equal(vc->shift, 0);
	return future_decoder__tokio_locks(vc->d, HEADER, BIAS, img_read, NULL, vc->shift, out,
					   FUTURE_MAX_LOCKS);
}

static void assert_lock(const struct future_lock *l, __u64 sem, __u32 permits, bool waiting,
			enum aib_lock_kind kind)
{
	if (l->sem != sem || l->permits != permits || l->waiting != waiting || l->kind != kind)
		print_message("lock: sem %#llx permits %u waiting %d kind %d; want %#llx %u %d %d\n",
			      (unsigned long long)l->sem, l->permits, l->waiting, l->kind,
			      (unsigned long long)sem, permits, waiting, kind);
	assert_true(l->sem == sem);
	assert_int_equal(l->permits, permits);
	assert_int_equal(l->waiting, waiting);
	assert_int_equal(l->kind, kind);
}

/* aib:holder: hold_lock keeps its MutexGuard across its sleep (Suspend1) */
static void test_locks_held_image(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_lock locks[FUTURE_MAX_LOCKS];
	struct tvariant v;
	Dwarf_Die t, aw_t, guard, lockp, mutex, sem, x;
	__u64 fut, aw, goff, loff, soff, poff, gptr;
	const __u64 mutex_addr = IMG_BASE + 0x9000;

	NEED_FIXTURE(vc);
	task_image(vc, "hold_lock", &fut, &t);
	set_state(&t, fut, "Suspend1", &aw, &aw_t);
	assert_true(variant(&t, "Suspend1", &v));
	assert_true(member(&v.type, "_guard", &goff, &guard));
	assert_true(member(&guard, "lock", &loff, &lockp));
	assert_int_equal(dwarf_tag(&lockp), DW_TAG_pointer_type);
	assert_true(type_of(&lockp, &mutex));
	assert_true(member(&mutex, "s", &soff, &sem)); /* found, not assumed at 0 */
	assert_true(deep_member(&sem, "permits", 0, &poff, &x));
	gptr = fut + v.off + goff + loff;
	put(gptr, mutex_addr, 8);
	put(mutex_addr + soff + poff, 0, 8); /* no permit left: locked */

	assert_int_equal(locks_of(vc, locks), 1);
	assert_lock(&locks[0], mutex_addr + soff, 1, false, AIB_LOCK_KIND_MUTEX);
	assert_int_equal(locks_of(vc, locks), 1); /* cached: the same again */
	assert_lock(&locks[0], mutex_addr + soff, 1, false, AIB_LOCK_KIND_MUTEX);

	/* its semaphore has the permit back: a stale guard, not held */
	put(mutex_addr + soff + poff, 1 << 1, 8);
	assert_int_equal(locks_of(vc, locks), 0);
	put(mutex_addr + soff + poff, 0, 8);

	/* the guard points to no readable memory, or nowhere */
	put(gptr, IMG_BASE + IMG_SIZE + 0x1000, 8);
	assert_int_equal(locks_of(vc, locks), 0);
	put(gptr, 0, 8);
	assert_int_equal(locks_of(vc, locks), 0);
	put(gptr, mutex_addr, 8);

	/* the arguments */
	assert_int_equal(future_decoder__tokio_locks(vc->d, HEADER, BIAS, img_read, NULL, vc->shift,
						     locks, 0),
			 0);
	assert_int_equal(future_decoder__tokio_locks(vc->d, HEADER, BIAS, img_read, NULL, vc->shift,
						     NULL, 0),
			 0);
	assert_int_equal(future_decoder__tokio_locks(vc->d, HEADER, BIAS, img_read, NULL, vc->shift,
						     locks, -1),
			 -EINVAL);
	assert_int_equal(future_decoder__tokio_locks(vc->d, HEADER, BIAS, img_read, NULL, vc->shift,
						     NULL, 1),
			 -EINVAL);
	assert_int_equal(future_decoder__tokio_locks(NULL, HEADER, BIAS, img_read, NULL, vc->shift,
						     locks, 1),
			 -EINVAL);

	/* still taking the lock (Suspend0, Mutex::lock not started): no guard,
	 * whatever Suspend1's bytes */
	set_state(&t, fut, "Suspend0", &aw, &aw_t);
	set_state(&aw_t, aw, "Unresumed", NULL, NULL);
	assert_int_equal(locks_of(vc, locks), 0);
	/* returned: nothing held any more */
	set_state(&t, fut, "Returned", NULL, NULL);
	assert_int_equal(locks_of(vc, locks), 0);
}

/* aib:lock: take_lock down to the Acquire of Mutex::acquire, waiting */
static void test_locks_wait_image(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_lock locks[FUTURE_MAX_LOCKS];
	Dwarf_Die t, lock, acq, leaf, x, node;
	__u64 fut, aw, aw2, aw3, semoff, noff, stoff, qoff, poff;
	const __u64 sem_addr = IMG_BASE + 0xa000;

	NEED_FIXTURE(vc);
	task_image(vc, "take_lock", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &lock);
	set_state(&lock, aw, "Suspend0", &aw2, &acq);
	set_state(&acq, aw2, "Suspend0", &aw3, &leaf);
	assert_true(member(&leaf, "semaphore", &semoff, &x));
	assert_true(member(&leaf, "num_permits", &poff, &x));
	assert_true(member(&leaf, "queued", &qoff, &x));
	assert_true(member(&leaf, "node", &noff, &node));
	assert_true(deep_member(&node, "state", 0, &stoff, &x));
	put(aw3 + semoff, sem_addr, 8);
	put(aw3 + poff, 1, 4);
	put(aw3 + qoff, 1, 1);
	put(aw3 + noff + stoff, 1, 8); /* one permit still needed */

	assert_int_equal(locks_of(vc, locks), 1);
	assert_lock(&locks[0], sem_addr, 1, true, AIB_LOCK_KIND_MUTEX);

	/* not queued (a coop yield): still an acquire in progress */
	put(aw3 + qoff, 0, 1);
	assert_int_equal(locks_of(vc, locks), 1);
	assert_lock(&locks[0], sem_addr, 1, true, AIB_LOCK_KIND_MUTEX);
	put(aw3 + noff + stoff, 0, 8);
	assert_int_equal(locks_of(vc, locks), 1);
	assert_true(locks[0].waiting);

	/* queued and its permits all assigned, not polled since: its own */
	put(aw3 + qoff, 1, 1);
	assert_int_equal(locks_of(vc, locks), 1);
	assert_lock(&locks[0], sem_addr, 1, false, AIB_LOCK_KIND_MUTEX);
	put(aw3 + noff + stoff, 1, 8);

	/* max 1 keeps the waiting one */
	assert_int_equal(future_decoder__tokio_locks(vc->d, HEADER, BIAS, img_read, NULL, vc->shift,
						     locks, 1),
			 1);
	assert_true(locks[0].waiting);

	/* no permit asked, a semaphore not readable: nothing */
	put(aw3 + poff, 0, 4);
	assert_int_equal(locks_of(vc, locks), 0);
	put(aw3 + poff, 1, 4);
	put(aw3 + semoff, IMG_BASE + IMG_SIZE + 0x1000, 8);
	assert_int_equal(locks_of(vc, locks), 0);
	put(aw3 + semoff, sem_addr + 4, 8); /* misaligned */
	assert_int_equal(locks_of(vc, locks), 0);
}

static void test_bad_memory(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	struct tvariant run;
	Dwarf_Die t, inner, cell, stage;
	__u64 fut, aw, stage_off;

	NEED_FIXTURE(vc);
	/* a state no variant has */
	task_image(vc, "wait_for_config", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &inner);
	set_state(&inner, aw, "Suspend0", NULL, NULL);
	assert_true(variant(&inner, "Suspend0", &run));
	put(aw + run.discr_off, 0x7e, run.discr_size);
	assert_int_equal(decode(vc, &out), -EPROTO);

	/* a stage no variant has */
	task_image(vc, "wait_for_config", &fut, &t);
	assert_true(find_die(vc->dw, DW_TAG_structure_type,
			     "Cell<stuck::wait_for_config::{async_fn_env#0}, " MT_SCHED ">", &cell));
	assert_true(member_typed(&cell, "Stage<", 0, &stage_off, &stage));
	assert_true(variant(&stage, "Running", &run));
	put(HEADER + stage_off + run.discr_off, 0x1234, run.discr_size);
	assert_int_equal(decode(vc, &out), -EPROTO);

	/* a vtable whose slot 0 is no poll function: not a task we know */
	task_image(vc, "wait_for_config", &fut, &t);
	put(VTABLE, BIAS + 0x10, 8);
	assert_int_equal(decode(vc, &out), -ENOENT);

	/* unreadable */
	assert_int_equal(future_decoder__tokio_task(vc->d, IMG_BASE - 0x1000, BIAS, img_read,
						    NULL, &out), -EFAULT);
	task_image(vc, "wait_for_config", &fut, &t);
	put(HEADER + 16, 0x1000, 8);
	assert_int_equal(decode(vc, &out), -EFAULT);
}

/* Random memory, with pointers back into it, under valid states down the
 * chain of async fns (so that the leaves are explored): never a crash, a
 * bounded number of reads, frames within bounds. */
static void test_garbage_bounded(void **state)
{
	static const char *const fns[] = { "wait_for_config", "nap", "join_other",
					   "read_socket", "take_lock", "recv_mpsc",
					   "wait_notify", "hold_lock", "wait_blocking" };
	struct variant_ctx *vc = *state;
	struct future_await out;
	struct future_lock locks[FUTURE_MAX_LOCKS];
	unsigned int seed = 1;
	int max_reads = 0, ok = 0, max_lock_reads = 0, nlocks = 0;

	NEED_FIXTURE(vc);
	for (size_t k = 0; k < sizeof(fns) / sizeof(*fns); k++) {
		Dwarf_Die t, aw_t;
		__u64 fut, aw;
		const char *n;

		task_image(vc, fns[k], &fut, &t);
		/* the last SuspendN down the chain of async fns */
		for (int depth = 0; depth < 4; depth++) {
			char kind[32];
			struct tvariant v;
			int last = 0;

			while (snprintf(kind, sizeof(kind), "Suspend%d", last + 1),
			       variant(&t, kind, &v))
				last++;
			snprintf(kind, sizeof(kind), "Suspend%d", last);
			set_state(&t, fut, kind, &aw, &aw_t);
			n = dwarf_diename(&aw_t);
			if (!n || strncmp(n, "{async_", 7))
				break;
			t = aw_t;
			fut = aw;
		}
		for (int round = 0; round < 300; round++) {
			int r;

			for (size_t i = 0x1000 + 0x20; i < IMG_SIZE; i += 8) {
				__u64 v = (__u64)rand_r(&seed) << 31 ^ (__u64)rand_r(&seed);

				if (v % 3 == 0) /* a pointer into the image */
					v = IMG_BASE + (v % IMG_SIZE & ~7ULL);
				else if (v % 3 == 1)
					v %= 8;
				memcpy(img + i, &v, 8);
			}
			for (int i = 0; i < npokes; i++)
				memcpy(img + (pokes[i].addr - IMG_BASE), &pokes[i].v, pokes[i].size);
			r = decode(vc, &out);
			assert_true(r == 0 || r == -EPROTO || r == -EFAULT);
			assert_true(out.nframes >= 0 && out.nframes <= FUTURE_MAX_FRAMES);
			ok += !r;
			if (nreads > max_reads)
				max_reads = nreads;
			r = locks_of(vc, locks);
			assert_true((r >= 0 && r <= FUTURE_MAX_LOCKS) || r == -EPROTO || r == -EFAULT);
			for (int i = 0; i < r; i++)
				assert_true(locks[i].permits > 0 && locks[i].sem &&
					    !(locks[i].sem & 7) && locks[i].kind < AIB_LOCK_KIND_MAX);
			nlocks += r > 0 ? r : 0;
			if (nreads > max_lock_reads)
				max_lock_reads = nreads;
		}
	}
	print_message("garbage: %d decoded, at most %d reads per task; %d locks, at most %d "
		      "reads per task\n", ok, max_reads, nlocks, max_lock_reads);
	assert_true(ok > 0);
	assert_true(max_reads <= 400);
	assert_true(max_lock_reads <= 1000);
}

static void test_fast_when_cached(void **state)
{
	struct variant_ctx *vc = *state;
	struct future_await out;
	struct timespec a, b;
	Dwarf_Die t, inner, leaf;
	__u64 fut, aw;
	double ms;

	NEED_FIXTURE(vc);
	task_image(vc, "wait_for_config", &fut, &t);
	set_state(&t, fut, "Suspend0", &aw, &inner);
	set_state(&inner, aw, "Suspend0", NULL, &leaf);
	assert_int_equal(decode(vc, &out), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(decode(vc, &out), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	print_message("10000 decodes: %.1f ms\n", ms);
	assert_true(ms < 2000);
}

/* ---- the fixture, live ---- */

static pid_t child = -1;

static int pid_read(__u64 addr, void *buf, size_t len, void *ctx)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(*(pid_t *)ctx, &local, 1, &remote, 1, 0);

	return n == (ssize_t)len ? 0 : -EFAULT;
}

struct mapping {
	__u64 start, end;
	char perms[5];
	char path[PATH_MAX];
};

static int read_maps(pid_t pid, struct mapping *m, int max)
{
	char path[64], line[PATH_MAX + 128];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		int off = 0;

		if (sscanf(line, "%llx-%llx %4s %*s %*s %*s %n", &s, &e, m[n].perms, &off) < 3)
			continue;
		m[n].start = s;
		m[n].end = e;
		snprintf(m[n].path, sizeof(m[n].path), "%s", line + off);
		m[n].path[strcspn(m[n].path, "\n")] = '\0';
		n++;
	}
	fclose(f);
	return n;
}

/* 8-aligned addresses in the mappings accepted by `want` holding value;
 * up to max into out */
static int scan(pid_t pid, struct mapping *m, int nm, bool (*want)(struct mapping *),
		__u64 value, __u64 *out, int max)
{
	static __u64 buf[1 << 17];
	int n = 0;

	for (int i = 0; i < nm && n < max; i++) {
		if (!want(&m[i]) || m[i].end - m[i].start > (1ULL << 30))
			continue;
		for (__u64 a = m[i].start; a < m[i].end && n < max; a += sizeof(buf)) {
			size_t len = m[i].end - a < sizeof(buf) ? m[i].end - a : sizeof(buf);
			struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)a, len };

			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
				continue;
			for (size_t j = 0; j < len / 8 && n < max; j++)
				if (buf[j] == value)
					out[n++] = a + j * 8;
		}
	}
	return n;
}

static char exe_real[PATH_MAX];

static bool exe_data(struct mapping *m)
{
	return m->perms[0] == 'r' && !strcmp(m->path, exe_real);
}

static bool anon_rw(struct mapping *m)
{
	return m->perms[0] == 'r' && m->perms[1] == 'w' && (!m->path[0] || !strcmp(m->path, "[heap]"));
}

/* the header of fn's task: the vtable whose slot 0 is its poll function
 * in the executable's data, then that vtable at +16 on the heap */
static __u64 find_task(struct variant_ctx *vc, pid_t pid, __u64 bias, const char *fn,
		       struct mapping *m, int nm)
{
	Dwarf_Addr lo;
	__u64 vt[4], hdr[64];
	int nvt, nh;

	if (!find_poll(vc->dw, fn, &lo))
		return 0;
	nvt = scan(pid, m, nm, exe_data, lo + bias, vt, 4);
	if (getenv("DEBUG_LIVE"))
		print_message("%s: poll %#llx, %d vtables\n", fn, (unsigned long long)lo, nvt);
	for (int i = 0; i < nvt; i++) {
		nh = scan(pid, m, nm, anon_rw, vt[i], hdr, 64);
		if (getenv("DEBUG_LIVE"))
			print_message("vtable %#llx: %d refs\n", (unsigned long long)vt[i], nh);
		for (int j = 0; j < nh; j++) {
			struct future_await out;
			pid_t p = pid;

			int r = future_decoder__tokio_task(vc->d, hdr[j] - 16, bias, pid_read, &p,
							   &out);

			if (getenv("DEBUG_LIVE"))
				print_message("  %#llx: %d %d %s\n", (unsigned long long)hdr[j] - 16, r,
					      out.nframes, r ? "" : out.root_state);
			if (!r && out.nframes > 0)
				return hdr[j] - 16;
		}
	}
	return 0;
}

static void test_live(void **state)
{
	struct variant_ctx *vc = *state;
	static struct mapping m[4096];
	struct future_await out, joined;
	struct pollfd pfd;
	struct timespec now;
	char buf[256] = "";
	size_t got = 0;
	__u64 bias, h;
	int pipefd[2], nm;
	pid_t pid;

	NEED_FIXTURE(vc);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(vc->path, vc->path, (char *)NULL);
		_exit(127);
	}
	child = pid;
	close(pipefd[1]);
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	while (!strstr(buf, "READY") && got < sizeof(buf) - 1 && poll(&pfd, 1, 20000) > 0) {
		ssize_t n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += n;
		buf[got] = '\0';
	}
	buf[got] = '\0';
	close(pipefd[0]);
	if (!strstr(buf, "READY")) {
		print_message("[  SKIPPED ] the fixture did not get READY\n");
		skip();
	}
	nm = read_maps(pid, m, 4096);
	assert_true(nm > 0);
	{
		__u64 probe;
		struct iovec local = { &probe, 8 }, remote = { (void *)(uintptr_t)m[0].start, 8 };

		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0) {
			print_message("[  SKIPPED ] process_vm_readv: %s\n", strerror(errno));
			skip();
		}
	}
	assert_int_equal(elf_symbols__load_bias(binary__symbols(vc->bin), pid, &bias), 0);
	assert_non_null(realpath(vc->path, exe_real));

	h = find_task(vc, pid, bias, "wait_for_config", m, nm);
	assert_true(h != 0);
	assert_int_equal(future_decoder__tokio_task(vc->d, h, bias, pid_read, &pid, &out), 0);
	assert_string_equal(out.root_state, "suspended");
	assert_int_equal(out.nframes, 2);
	assert_string_equal(out.frames[0].function, "stuck::wait_for_config");
	assert_int_equal(out.frames[0].line, marker_line("oneshot_outer"));
	assert_string_equal(out.frames[1].function, "stuck::recv_config");
	assert_int_equal(out.frames[1].line, marker_line("oneshot"));
	assert_string_equal(out.leaf_type, "tokio::sync::oneshot::Receiver<u32>");

	h = find_task(vc, pid, bias, "nap", m, nm);
	assert_true(h != 0);
	assert_int_equal(future_decoder__tokio_task(vc->d, h, bias, pid_read, &pid, &out), 0);
	assert_int_equal(out.frames[0].line, marker_line("sleep"));
	assert_true(out.has_deadline);
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* slept an hour from about now */
	assert_true(out.deadline_ns > (__u64)now.tv_sec * 1000000000ULL + 3000ULL * 1000000000ULL);
	assert_true(out.deadline_ns < (__u64)now.tv_sec * 1000000000ULL + 3700ULL * 1000000000ULL);

	h = find_task(vc, pid, bias, "join_other", m, nm);
	assert_true(h != 0);
	assert_int_equal(future_decoder__tokio_task(vc->d, h, bias, pid_read, &pid, &out), 0);
	assert_int_equal(out.frames[0].line, marker_line("join"));
	assert_true(out.join_header != 0);
	assert_int_equal(future_decoder__tokio_task(vc->d, out.join_header, bias, pid_read, &pid,
						    &joined), 0);
	assert_int_equal(joined.nframes, 1);
	assert_string_equal(joined.frames[0].function, "stuck::never_sent");
	assert_int_equal(joined.frames[0].line, marker_line("joined"));

	{ /* holder holds the Mutex that take_lock waits for */
		struct future_lock held[FUTURE_MAX_LOCKS], wait[FUTURE_MAX_LOCKS];

		h = find_task(vc, pid, bias, "hold_lock", m, nm);
		assert_true(h != 0);
		assert_int_equal(future_decoder__tokio_locks(vc->d, h, bias, pid_read, &pid,
							     vc->shift, held, FUTURE_MAX_LOCKS), 1);
		assert_false(held[0].waiting);
		assert_int_equal(held[0].kind, AIB_LOCK_KIND_MUTEX);
		assert_int_equal(held[0].permits, 1);
		h = find_task(vc, pid, bias, "take_lock", m, nm);
		assert_true(h != 0);
		assert_int_equal(future_decoder__tokio_locks(vc->d, h, bias, pid_read, &pid,
							     vc->shift, wait, FUTURE_MAX_LOCKS), 1);
		assert_lock(&wait[0], held[0].sem, 1, true, AIB_LOCK_KIND_MUTEX);
		h = find_task(vc, pid, bias, "nap", m, nm);
		assert_int_equal(future_decoder__tokio_locks(vc->d, h, bias, pid_read, &pid,
							     vc->shift, wait, FUTURE_MAX_LOCKS), 0);
	}

	h = find_task(vc, pid, bias, "read_socket", m, nm);
	assert_true(h != 0);
	assert_int_equal(future_decoder__tokio_task(vc->d, h, bias, pid_read, &pid, &out), 0);
	assert_int_equal(out.frames[0].line, marker_line("socket"));
	assert_true(out.fd > 2);
	{ /* it is a socket */
		char link[64], target[128];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, out.fd);
		n = readlink(link, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_true(!strncmp(target, "socket:", 7));
	}
}

/* ---- the locks fixture (debug = "full"), live ---- */

static struct locks_ctx {
	char path[PATH_MAX];
	struct binary *bin;
	struct future_decoder *d;
	Dwarf *dw; /* the binary's */
	unsigned shift;
} lk;

static int open_locks(void **state)
{
	const char *e = getenv("AIB_LOCKS_FULL"), *p = getenv("AIB_PROGRAMS");

	if (lk.bin)
		return 0;
	if (e)
		snprintf(lk.path, sizeof(lk.path), "%s", e);
	else if (p)
		snprintf(lk.path, sizeof(lk.path), "%s/../../locks/target/full/release/locks", p);
	else
		snprintf(lk.path, sizeof(lk.path), "tests/programs/locks/target/full/release/locks");
	if (access(lk.path, X_OK) || !(lk.bin = binary__open(lk.path)))
		return 0; /* not built: skipped */
	if (!(lk.d = future_decoder__new(lk.bin)))
		return 0; /* without full DWARF (ENODATA): skipped */
	lk.dw = binary__dwarf(lk.bin);
	lk.shift = permit_shift_of(lk.bin);
	return 0;
}

/* the offset of member m in a structure named s that has one (any unit) */
static bool struct_member_in(Dwarf_Die *parent, const char *s, const char *m, __u64 *off)
{
	Dwarf_Die c, x;

	if (dwarf_child(parent, &c))
		return false;
	do {
		const char *n = dwarf_diename(&c);

		if (dwarf_tag(&c) == DW_TAG_structure_type && n && !strcmp(n, s) &&
		    member(&c, m, off, &x))
			return true;
		if ((dwarf_tag(&c) == DW_TAG_namespace || dwarf_tag(&c) == DW_TAG_structure_type) &&
		    struct_member_in(&c, s, m, off))
			return true;
	} while (!dwarf_siblingof(&c, &c));
	return false;
}

static __u64 struct_member(Dwarf *dw, const char *s, const char *m)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	__u64 off;

	while (!dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL))
		if (struct_member_in(&cudie, s, m, &off))
			return off;
	fail_msg("no member %s in a structure %s", m, s);
	return 0;
}

/* Runs path with arg, its stdout a pipe, until it prints a line with
 * READY: that line into line; skips the test if it never does. */
static pid_t spawn_ready(const char *path, const char *arg, char *line, size_t len)
{
	char buf[1024] = "";
	struct pollfd pfd;
	size_t got = 0;
	int pipefd[2];
	char *r;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(path, path, arg, (char *)NULL);
		_exit(127);
	}
	child = pid;
	close(pipefd[1]);
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	while (!((r = strstr(buf, "READY")) && strchr(r, '\n')) && got < sizeof(buf) - 1 &&
	       poll(&pfd, 1, 20000) > 0) {
		ssize_t n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += n;
		buf[got] = '\0';
	}
	close(pipefd[0]);
	if (!(r = strstr(buf, "READY"))) {
		print_message("[  SKIPPED ] %s %s did not get READY\n", path, arg ? arg : "");
		skip();
	}
	snprintf(line, len, "%.*s", (int)strcspn(r, "\n"), r);
	return pid;
}

/* name=0x<hex> in the READY line */
static __u64 ready_addr(const char *line, const char *name)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=0x", name);
	p = strstr(line, pat);
	assert_non_null(p);
	return strtoull(p + strlen(pat), NULL, 16);
}

#define MAX_LIVE 64

struct live_task {
	__u64 header;
	const char *root; /* frames[0]'s function, "" if none */
	int n;		  /* tokio_locks' return */
	struct future_lock locks[FUTURE_MAX_LOCKS];
};

struct live {
	pid_t pid;
	__u64 bias;
	struct proc_mem *pm;
	char line[512];
	int ntasks;
	struct live_task t[MAX_LIVE];
};

/* Runs the locks fixture in mode, finds its tasks (task_scan) and decodes
 * each one's root async fn and locks; skips the test when the fixture is
 * not built or its memory cannot be read. */
static void live_locks(struct live *l, const char *mode)
{
	struct found_task found[MAX_LIVE];
	int n;

	if (!lk.d) {
		print_message("[  SKIPPED ] %s not built, or without full DWARF "
			      "(CARGO_TARGET_DIR=target/full CARGO_PROFILE_RELEASE_DEBUG=full)\n",
			      lk.path);
		skip();
	}
	memset(l, 0, sizeof(*l));
	l->pid = spawn_ready(lk.path, mode, l->line, sizeof(l->line));
	if (!(l->pm = proc_mem__open(l->pid))) {
		print_message("[  SKIPPED ] reading pid %d: %s\n", l->pid, strerror(errno));
		skip();
	}
	assert_int_equal(proc_mem__load_bias(l->pm, &l->bias), 0);
	n = task_scan__pid(l->pid, binary__symbols(lk.bin), NULL, found, MAX_LIVE, NULL);
	if (n == -EPERM || n == -EACCES) {
		print_message("[  SKIPPED ] scanning pid %d: %s\n", l->pid, strerror(-n));
		proc_mem__close(l->pm);
		skip();
	}
	assert_true(n > 0);
	l->ntasks = n;
	for (int i = 0; i < n; i++) {
		struct live_task *t = &l->t[i];
		struct future_await fa;

		t->header = found[i].header;
		assert_int_equal(future_decoder__tokio_task(lk.d, t->header, l->bias,
							    proc_mem__read_cb, l->pm, &fa), 0);
		t->root = fa.nframes ? fa.frames[0].function : "";
		t->n = future_decoder__tokio_locks(lk.d, t->header, l->bias, proc_mem__read_cb,
						   l->pm, lk.shift, t->locks, FUTURE_MAX_LOCKS);
		if (getenv("DEBUG_LIVE"))
			print_message("%#llx %s: %d locks\n", (unsigned long long)t->header, t->root,
				      t->n);
		assert_true(t->n >= 0);
	}
}

static void live_done(struct live *l)
{
	proc_mem__close(l->pm);
	l->pm = NULL;
}

/* Deadlocks: each task of the cycle holds its first Mutex and waits for the
 * next one; no other task holds or waits for anything. */
static void check_cycle(const char *mode, const char *const *fns, const char *const *names,
			int len)
{
	struct live l;
	__u64 sem[3];
	int seen[3] = { 0 };

	live_locks(&l, mode);
	for (int k = 0; k < len; k++) /* `s` found, not assumed at 0 */
		sem[k] = ready_addr(l.line, names[k]) + struct_member(lk.dw, "Mutex<u64>", "s");
	for (int i = 0; i < l.ntasks; i++) {
		struct live_task *t = &l.t[i];
		int k = 0;

		while (k < len && strcmp(t->root, fns[k]))
			k++;
		if (k == len) {
			assert_int_equal(t->n, 0);
			continue;
		}
		seen[k]++;
		assert_int_equal(t->n, 2);
		assert_lock(&t->locks[0], sem[k], 1, false, AIB_LOCK_KIND_MUTEX);
		assert_lock(&t->locks[1], sem[(k + 1) % len], 1, true, AIB_LOCK_KIND_MUTEX);
		/* room for one: the waiting one */
		assert_int_equal(future_decoder__tokio_locks(lk.d, t->header, l.bias,
							     proc_mem__read_cb, l.pm, lk.shift,
							     t->locks, 1), 1);
		assert_lock(&t->locks[0], sem[(k + 1) % len], 1, true, AIB_LOCK_KIND_MUTEX);
	}
	for (int k = 0; k < len; k++)
		assert_int_equal(seen[k], 1);
	live_done(&l);
}

static void test_locks_live_abba(void **state)
{
	static const char *const fns[] = { "locks::transfer_a", "locks::transfer_b" };
	static const char *const names[] = { "a", "b" };

	check_cycle("abba", fns, names, 2);
}

static void test_locks_live_cycle3(void **state)
{
	static const char *const fns[] = { "locks::cycle1", "locks::cycle2", "locks::cycle3" };
	static const char *const names[] = { "m1", "m2", "m3" };

	check_cycle("cycle3", fns, names, 3);
}

/* Contention: 3 readers hold rw, a writer and a late reader wait for it;
 * 3 tasks hold a permit of sem each, a fourth waits. */
static void test_locks_live_rwlock(void **state)
{
	struct live l;
	__u64 rw, sem;
	int readers = 0, writers = 0, late = 0, holders = 0, waiters = 0;

	live_locks(&l, "rwlock");
	rw = ready_addr(l.line, "rw") + struct_member(lk.dw, "RwLock<u64>", "s");
	sem = ready_addr(l.line, "sem") + struct_member(lk.dw, "Semaphore", "ll_sem");
	for (int i = 0; i < l.ntasks; i++) {
		struct live_task *t = &l.t[i];

		if (!strcmp(t->root, "locks::reader")) {
			readers++;
			assert_int_equal(t->n, 1);
			assert_lock(&t->locks[0], rw, 1, false, AIB_LOCK_KIND_RWLOCK_READ);
		} else if (!strcmp(t->root, "locks::writer")) {
			writers++;
			assert_int_equal(t->n, 1);
			/* RwLock::write asks for all of them (MAX_READS) */
			assert_true(t->locks[0].permits > 3);
			assert_lock(&t->locks[0], rw, t->locks[0].permits, true,
				    AIB_LOCK_KIND_RWLOCK_WRITE);
		} else if (!strcmp(t->root, "locks::late_reader")) {
			late++;
			assert_int_equal(t->n, 1);
			assert_lock(&t->locks[0], rw, 1, true, AIB_LOCK_KIND_RWLOCK_READ);
		} else if (!strcmp(t->root, "locks::permit_holder")) {
			holders++;
			assert_int_equal(t->n, 1);
			assert_lock(&t->locks[0], sem, 1, false, AIB_LOCK_KIND_SEMAPHORE);
		} else if (!strcmp(t->root, "locks::permit_waiter")) {
			waiters++;
			assert_int_equal(t->n, 1);
			assert_lock(&t->locks[0], sem, 1, true, AIB_LOCK_KIND_SEMAPHORE);
		} else {
			assert_int_equal(t->n, 0);
		}
	}
	assert_int_equal(readers, 3);
	assert_int_equal(writers, 1);
	assert_int_equal(late, 1);
	assert_int_equal(holders, 3);
	assert_int_equal(waiters, 1);
	live_done(&l);
}

static int close_locks(void)
{
	future_decoder__free(lk.d);
	binary__free(lk.bin);
	lk = (struct locks_ctx){0};
	return 0;
}

static int kill_child(void **state)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	return 0;
}

#define VARIANT_TESTS(vc)                                                                        \
	cmocka_unit_test_prestate_setup_teardown(test_oneshot_chain, open_variant, NULL, &vc),   \
	cmocka_unit_test_prestate_setup_teardown(test_unresumed_and_finished, open_variant,      \
						 NULL, &vc),                                     \
	cmocka_unit_test_prestate_setup_teardown(test_sleep_deadline, open_variant, NULL, &vc),  \
	cmocka_unit_test_prestate_setup_teardown(test_join_handle, open_variant, NULL, &vc),     \
	cmocka_unit_test_prestate_setup_teardown(test_socket_fd, open_variant, NULL, &vc),       \
	cmocka_unit_test_prestate_setup_teardown(test_lock_chain, open_variant, NULL, &vc),      \
	cmocka_unit_test_prestate_setup_teardown(test_locks_held_image, open_variant, NULL,     \
						 &vc),                                           \
	cmocka_unit_test_prestate_setup_teardown(test_locks_wait_image, open_variant, NULL,     \
						 &vc),                                           \
	cmocka_unit_test_prestate_setup_teardown(test_bad_memory, open_variant, NULL, &vc)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		VARIANT_TESTS(nofp),
		VARIANT_TESTS(fp),
		cmocka_unit_test_prestate_setup_teardown(test_garbage_bounded, open_variant, NULL,
							 &nofp),
		cmocka_unit_test_prestate_setup_teardown(test_fast_when_cached, open_variant, NULL,
							 &nofp),
		cmocka_unit_test_prestate_setup_teardown(test_live, open_variant, kill_child,
							 &nofp),
		cmocka_unit_test_setup_teardown(test_locks_live_abba, open_locks, kill_child),
		cmocka_unit_test_setup_teardown(test_locks_live_cycle3, open_locks, kill_child),
		cmocka_unit_test_setup_teardown(test_locks_live_rwlock, open_locks, kill_child),
	};

	return cmocka_run_group_tests(tests, NULL, close_all);
}
