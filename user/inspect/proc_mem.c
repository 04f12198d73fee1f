// SPDX-License-Identifier: MIT
/*
 * A live process's memory. /proc/PID/mem is opened up front even though
 * process_vm_readv does the reading: opening it runs the kernel's ptrace
 * access check, so a caller learns at open, not at the first read, that it
 * may not look; and it is the fallback where seccomp filters the syscall.
 */
#include "inspect/proc_mem.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct proc_mem {
	int pid;
	int memfd;
	bool no_vm_readv; /* filtered or missing: read /proc/PID/mem */
};

struct proc_mem *proc_mem__open(int pid)
{
	struct proc_mem *pm;
	char path[64];

	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	pm = calloc(1, sizeof(*pm));
	if (!pm) {
		errno = ENOMEM;
		return NULL;
	}
	pm->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	pm->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->memfd < 0) {
		int err = errno == ENOENT ? ESRCH : errno;

		free(pm);
		errno = err;
		return NULL;
	}
	return pm;
}

void proc_mem__close(struct proc_mem *pm)
{
	if (!pm)
		return;
	close(pm->memfd);
	free(pm);
}

int proc_mem__pid(const struct proc_mem *pm)
{
	return pm ? pm->pid : -1;
}

/* A short read of /proc/PID/mem: a hole in the range, or an exited process
 * (whose mm is gone, so every read comes back empty). */
static int short_read(const struct proc_mem *pm)
{
	return kill(pm->pid, 0) && errno == ESRCH ? -ESRCH : -EFAULT;
}

int proc_mem__read(struct proc_mem *pm, __u64 addr, void *buf, size_t len)
{
	size_t done = 0;

	if (!pm || (!buf && len))
		return -EINVAL;
	if (!len)
		return 0;
	if (addr + len < addr || addr + len > (__u64)LLONG_MAX)
		return -EFAULT;
	if (!pm->no_vm_readv) {
		struct iovec local = {buf, len}, remote = {(void *)(unsigned long)addr, len};
		ssize_t n = process_vm_readv(pm->pid, &local, 1, &remote, 1, 0);

		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EFAULT; /* stopped at an unmapped page */
		if (errno != ENOSYS && errno != EPERM)
			return -errno;
		/* the open check passed, so EPERM is a seccomp filter: use the fd */
		pm->no_vm_readv = true;
	}
	while (done < len) {
		ssize_t n = pread(pm->memfd, (char *)buf + done, len - done, (off_t)(addr + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EIO ? -EFAULT : -errno;
		if (n == 0)
			return short_read(pm);
		done += (size_t)n;
	}
	return 0;
}

int proc_mem__read_cb(__u64 addr, void *buf, size_t len, void *ctx)
{
	return proc_mem__read(ctx, addr, buf, len);
}

struct maps_line {
	__u64 start, end, offset, inode;
	char perms[8];
	const char *name; /* "" for an anonymous mapping */
};

static bool parse_maps_line(char *line, struct maps_line *m)
{
	unsigned long long start, end, off, ino;
	int name_at = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %*x:%*x %llu %n", &start, &end, m->perms, &off, &ino,
		   &name_at) < 5 || !name_at)
		return false;
	line[strcspn(line, "\n")] = '\0';
	m->start = start;
	m->end = end;
	m->offset = off;
	m->inode = ino;
	m->name = line + name_at;
	return true;
}

static FILE *open_maps(const struct proc_mem *pm)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", pm->pid);
	return fopen(path, "re");
}

/* The vaddr the ELF's file offset 0 is loaded at: its first PT_LOAD with
 * its page-aligned file offset at 0. */
static int offset0_vaddr(const struct proc_mem *pm, __u64 page, __u64 *vaddr)
{
	char path[64];
	Elf64_Ehdr eh;
	int fd, ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/exe", pm->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
		ret = -ENOEXEC;
	for (unsigned i = 0; ret == -ENOENT && i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph)) {
			ret = -ENOEXEC;
			break;
		}
		if (ph.p_type == PT_LOAD && ph.p_offset < page) {
			*vaddr = ph.p_vaddr & ~(page - 1);
			ret = 0;
		}
	}
	close(fd);
	return ret;
}

int proc_mem__load_bias(struct proc_mem *pm, __u64 *bias)
{
	char link[64], exe[PATH_MAX], *line = NULL;
	__u64 page = (__u64)sysconf(_SC_PAGESIZE), vaddr = 0, lowest = 0;
	size_t cap = 0;
	ssize_t n;
	bool found = false;
	FILE *f;
	int err;

	if (!pm || !bias)
		return -EINVAL;
	/* maps names the file as readlink(exe) does, " (deleted)" included */
	snprintf(link, sizeof(link), "/proc/%d/exe", pm->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	exe[n] = '\0';
	err = offset0_vaddr(pm, page, &vaddr);
	if (err)
		return err;

	f = open_maps(pm);
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	/* the lowest: a process may also map its own file later (backtraces) */
	while (getline(&line, &cap, f) > 0) {
		struct maps_line m;

		if (!parse_maps_line(line, &m) || m.offset || !m.inode || strcmp(m.name, exe))
			continue;
		if (!found || m.start < lowest)
			lowest = m.start;
		found = true;
	}
	free(line);
	fclose(f);
	if (!found)
		return -ENOENT;
	*bias = lowest - vaddr;
	return 0;
}

/* [stack] is the main thread's. Thread stacks are kept: before Linux 6.7,
 * where MAP_STACK began to set VM_NOHUGEPAGE, a stack's VMA can merge with
 * an anonymous mapping right above it (a malloc arena even), so leaving
 * out what looks like a stack could leave out heap. */
static bool heap_like(const struct maps_line *m)
{
	if (strcmp(m->perms, "rw-p") || m->inode)
		return false;
	return !m->name[0] || !strcmp(m->name, "[heap]") || !strncmp(m->name, "[anon:", 6);
}

int proc_mem__for_each_region(struct proc_mem *pm, __u64 max_bytes,
			      int (*cb)(const struct proc_mem_region *r, void *ctx), void *ctx)
{
	__u64 left = max_bytes;
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	if (!pm || !cb)
		return -EINVAL;
	f = open_maps(pm);
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (ret >= 0 && getline(&line, &cap, f) > 0) {
		struct maps_line m;
		struct proc_mem_region r;
		int err;

		if (!parse_maps_line(line, &m) || !heap_like(&m))
			continue;
		if (!left) {
			ret = 1;
			break;
		}
		r.start = m.start;
		r.end = m.end - m.start > left ? m.start + left : m.end;
		if (r.end != m.end)
			ret = 1;
		left -= r.end - r.start;
		err = cb(&r, ctx);
		if (err < 0)
			ret = err;
	}
	free(line);
	fclose(f);
	return ret;
}
