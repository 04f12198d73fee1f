// SPDX-License-Identifier: MIT
#include "binary/debug_file.h"

#include <elfutils/debuginfod.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define DEFAULT_DEBUG_DIR "/usr/lib/debug"
/* a SHA-1 build-id is 20 bytes; allow longer ones */
#define MAX_BUILD_ID 64

struct debug_file {
	int fd;
	Elf *elf;
	enum debug_source source;
	char path[PATH_MAX];
	char refused[PATH_MAX + 256]; /* why the given file was not taken */
	bool given_refused;
	char tried[4096];
	size_t tried_len;
};

/* The executable, as every candidate is checked against it. */
struct exe {
	Elf *elf;
	GElf_Ehdr eh;
	struct stat st; /* st_ino 0: unknown */
	const unsigned char *id;
	size_t idlen; /* 0: no build-id */
	char id_hex[2 * MAX_BUILD_ID + 1];
};

/* One more place tried, "; " after the last; cut when full. */
static void note(struct debug_file *f, const char *fmt, ...)
{
	size_t room = sizeof(f->tried) - f->tried_len;
	va_list ap;
	int n;

	if (f->tried_len && room > 2) {
		memcpy(f->tried + f->tried_len, "; ", 3);
		f->tried_len += 2;
		room -= 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(f->tried + f->tried_len, room, fmt, ap);
	va_end(ap);
	f->tried_len += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

void debug_file__sections(Elf *elf, bool *dwarf, bool *symtab)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	*dwarf = *symtab = false;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		*symtab |= sh.sh_type == SHT_SYMTAB;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		*dwarf |= name && (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info"));
	}
}

/* The CRC32 that .gnu_debuglink keeps of its file (zlib's). */
static int file_crc(int fd, GElf_Word *crc)
{
	const size_t chunk = 1 << 20;
	unsigned char *buf = malloc(chunk);
	uLong c = crc32(0, Z_NULL, 0);
	off_t off = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while ((n = pread(fd, buf, chunk, off)) > 0) {
		c = crc32(c, buf, (uInt)n);
		off += n;
	}
	free(buf);
	if (n < 0)
		return -errno;
	*crc = (GElf_Word)c;
	return 0;
}

/* Does the open file fd fit the executable? Its ELF into *out, or why not. */
static bool fits(const struct exe *x, int fd, const GElf_Word *crc, Elf **out, char *why,
		 size_t len)
{
	const void *id;
	char id_hex[2 * MAX_BUILD_ID + 1];
	struct stat st;
	GElf_Ehdr eh;
	GElf_Word got = 0;
	ssize_t idlen;
	bool dwarf, symtab;
	Elf *elf;
	int err;

	if (fstat(fd, &st)) {
		snprintf(why, len, "%s", strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "not a regular file");
		return false;
	}
	if (x->st.st_ino && st.st_dev == x->st.st_dev && st.st_ino == x->st.st_ino) {
		snprintf(why, len, "the executable itself");
		return false;
	}
	if (crc && (err = file_crc(fd, &got))) {
		snprintf(why, len, "%s", strerror(-err));
		return false;
	}
	if (crc && got != *crc) {
		snprintf(why, len, "CRC32 %08x, its .gnu_debuglink says %08x", got, *crc);
		return false;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    eh.e_ident[EI_CLASS] != x->eh.e_ident[EI_CLASS] || eh.e_machine != x->eh.e_machine) {
		snprintf(why, len, "not an ELF file for the executable's machine");
		goto refuse;
	}
	idlen = dwelf_elf_gnu_build_id(elf, &id);
	if (x->idlen && idlen > 0 &&
	    ((size_t)idlen != x->idlen || memcmp(id, x->id, x->idlen))) {
		hex(id, (size_t)idlen < MAX_BUILD_ID ? (size_t)idlen : MAX_BUILD_ID, id_hex);
		snprintf(why, len, "build-id %s, the executable's is %s", id_hex, x->id_hex);
		goto refuse;
	}
	debug_file__sections(elf, &dwarf, &symtab);
	if (!dwarf && !symtab) {
		snprintf(why, len, "neither DWARF nor a symbol table in it");
		goto refuse;
	}
	*out = elf;
	return true;
refuse:
	if (elf)
		elf_end(elf);
	return false;
}

/* Takes the file at path (fd already open, ours to close) when it fits. */
static bool take(struct debug_file *f, const struct exe *x, int fd, const char *path,
		 enum debug_source src, const GElf_Word *crc, char *why, size_t len)
{
	Elf *elf;

	if (!fits(x, fd, crc, &elf, why, len)) {
		close(fd);
		return false;
	}
	f->fd = fd;
	f->elf = elf;
	f->source = src;
	snprintf(f->path, sizeof(f->path), "%s", path);
	return true;
}

/* Opens and takes path: 0, -ENOENT when there is no such file, or
 * -EINVAL with why said. */
static int try_path(struct debug_file *f, const struct exe *x, const char *path,
		    enum debug_source src, const GElf_Word *crc, char *why, size_t len)
{
	/* O_NONBLOCK: a FIFO in its place must not hang the open */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -EINVAL;
	}
	return take(f, x, fd, path, src, crc, why, len) ? 0 : -EINVAL;
}

static bool by_build_id(struct debug_file *f, const struct exe *x, const char *dir)
{
	char path[PATH_MAX], why[PATH_MAX + 128];
	int err;

	if (!x->idlen) {
		note(f, "no build-id");
		return false;
	}
	snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", dir, x->id_hex, x->id_hex + 2);
	err = try_path(f, x, path, DEBUG_BUILD_ID, NULL, why, sizeof(why));
	if (err)
		note(f, "build-id %s: %s", path, err == -ENOENT ? "not found" : why);
	return !err;
}

/* gdb's order: the executable's real folder, its .debug/, then that folder
 * under the global debug folder. */
static bool by_debuglink(struct debug_file *f, const struct exe *x, const char *exe_path,
			 const char *dir)
{
	char real[PATH_MAX], path[PATH_MAX], why[PATH_MAX + 128], absent[3 * (PATH_MAX + 2)] = "";
	const char *folder, *name;
	GElf_Word crc;
	size_t used = 0;

	name = dwelf_elf_gnu_debuglink(x->elf, &crc);
	if (!name) {
		note(f, "no .gnu_debuglink");
		return false;
	}
	if (!*name || strchr(name, '/')) {
		note(f, ".gnu_debuglink '%s': not a file name", name);
		return false;
	}
	if (!realpath(exe_path, real)) {
		note(f, ".gnu_debuglink %s: the executable's folder is unknown (%s)", name,
		     strerror(errno));
		return false;
	}
	folder = dirname(real);
	if (!strcmp(folder, "/"))
		folder = "";
	for (int i = 0; i < 3; i++) {
		const char *fmt = i == 0 ? "%s%s/" : i == 1 ? "%s%s/.debug/" : "%s%s/";
		const char *pre = i == 2 ? dir : "";
		int n = snprintf(path, sizeof(path), fmt, pre, folder), err;

		if (n < 0 || (size_t)n >= sizeof(path) ||
		    snprintf(path + n, sizeof(path) - n, "%s", name) >= (int)(sizeof(path) - n))
			continue;
		err = try_path(f, x, path, DEBUG_LINK, &crc, why, sizeof(why));
		if (!err)
			return true;
		if (err != -ENOENT)
			note(f, "%s (.gnu_debuglink): %s", path, why);
		else
			used += snprintf(absent + used, sizeof(absent) - used, "%s%.*s", used ? ", " : "",
					 n, path);
	}
	if (used)
		note(f, ".gnu_debuglink %s: not in %s", name, absent);
	return false;
}

static bool by_debuginfod(struct debug_file *f, const struct exe *x)
{
	const char *urls = getenv(DEBUGINFOD_URLS_ENV_VAR);
	char why[PATH_MAX + 128], *path = NULL;
	debuginfod_client *client;
	bool taken;
	int fd;

	if (!x->idlen) {
		note(f, "debuginfod: no build-id to ask for");
		return false;
	}
	if (!urls || !*urls) {
		note(f, "debuginfod: " DEBUGINFOD_URLS_ENV_VAR " is not set");
		return false;
	}
	client = debuginfod_begin();
	if (!client) {
		note(f, "debuginfod %s: %s", urls, strerror(errno ? errno : ENOMEM));
		return false;
	}
	fd = debuginfod_find_debuginfo(client, x->id, (int)x->idlen, &path);
	debuginfod_end(client);
	if (fd < 0) {
		note(f, "debuginfod %s: %s", urls, fd == -ENOENT ? "not found" : strerror(-fd));
		return false;
	}
	taken = take(f, x, fd, path ? path : "(debuginfod)", DEBUG_DEBUGINFOD, NULL, why,
		     sizeof(why));
	if (!taken)
		note(f, "debuginfod %s: %s", path ? path : urls, why);
	free(path);
	return taken;
}

struct debug_file *debug_file__find(Elf *exe, const char *exe_path, const struct debug_search *s)
{
	struct debug_file *f = calloc(1, sizeof(*f));
	const char *dir = s->dir ? s->dir : DEFAULT_DEBUG_DIR;
	struct exe x = {.elf = exe};
	const void *id;
	ssize_t idlen;
	char why[PATH_MAX + 128];

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->fd = -1;
	if (!gelf_getehdr(exe, &x.eh))
		return f;
	if (stat(exe_path, &x.st))
		x.st.st_ino = 0;
	idlen = dwelf_elf_gnu_build_id(exe, &id);
	if (idlen > 0 && idlen <= MAX_BUILD_ID) {
		x.id = id;
		x.idlen = (size_t)idlen;
		hex(x.id, x.idlen, x.id_hex);
	}

	if (s->given) {
		int err = try_path(f, &x, s->given, DEBUG_GIVEN, NULL, why, sizeof(why));

		if (!err)
			return f;
		f->given_refused = true;
		snprintf(f->refused, sizeof(f->refused), "%s", err == -ENOENT ? strerror(ENOENT) : why);
		note(f, "--debuginfo %s: %s", s->given, f->refused);
	}
	if (by_build_id(f, &x, dir) || by_debuglink(f, &x, exe_path, dir))
		return f;
	if (s->debuginfod)
		by_debuginfod(f, &x);
	return f;
}

void debug_file__free(struct debug_file *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

Elf *debug_file__elf(const struct debug_file *f)
{
	return f->elf;
}

const char *debug_file__path(const struct debug_file *f)
{
	return f->path;
}

enum debug_source debug_file__source(const struct debug_file *f)
{
	return f->source;
}

const char *debug_file__source_name(enum debug_source src)
{
	switch (src) {
	case DEBUG_GIVEN:
		return "--debuginfo";
	case DEBUG_BUILD_ID:
		return "build-id";
	case DEBUG_LINK:
		return ".gnu_debuglink";
	case DEBUG_DEBUGINFOD:
		return "debuginfod";
	case DEBUG_NONE:
		break;
	}
	return "none";
}

const char *debug_file__tried(const struct debug_file *f)
{
	return f->tried;
}

const char *debug_file__given_refused(const struct debug_file *f)
{
	return f->given_refused ? f->refused : NULL;
}
