// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "trace/target.h"

/* Resolve argv[0] as execvp would, so a missing command is reported before
 * anything is forked and probes attach to the file that will really run. */
static int resolve(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK))
			return -errno;
		return realpath(cmd, out) ? 0 : -errno;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		int n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - path), path, cmd);
		struct stat st;

		if (n > 0 && (size_t)n < sizeof(buf) && !stat(buf, &st) && S_ISREG(st.st_mode) &&
		    !access(buf, X_OK))
			return realpath(buf, out) && strlen(out) < len ? 0 : -ENAMETOOLONG;
		path = *end ? end + 1 : end;
	}
	return -ENOENT;
}

int target__launch(struct target *t, char *const argv[])
{
	return target__launch_into(t, argv, -1);
}

int target__launch_into(struct target *t, char *const argv[], int output_fd)
{
	int fds[2], err;
	pid_t pid;

	memset(t, 0, sizeof(*t));
	t->release_fd = -1;
	err = resolve(argv[0], t->exe, sizeof(t->exe));
	if (err)
		return err;
	snprintf(t->name, sizeof(t->name), "%s", argv[0]);
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0) {
		char go;

		close(fds[1]);
		/* Wait for the probes; EOF without a byte means the tracer gave up. */
		if (read(fds[0], &go, 1) != 1)
			_exit(127);
		if (output_fd >= 0) { /* the terminal is the tool's: no input, output kept */
			int null = open("/dev/null", O_RDONLY);

			if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0 ||
			    dup2(output_fd, STDERR_FILENO) < 0)
				_exit(127);
			close(null);
			if (output_fd > STDERR_FILENO)
				close(output_fd);
		}
		execv(t->exe, argv);
		fprintf(stderr, "async-inspect-bpf: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	t->pid = pid;
	t->ours = true;
	t->release_fd = fds[1];
	return 0;
}

int target__release(struct target *t)
{
	int err = 0;

	if (t->release_fd < 0)
		return 0;
	if (write(t->release_fd, "g", 1) != 1)
		err = -errno;
	close(t->release_fd);
	t->release_fd = -1;
	return err;
}

static bool is_zombie(int pid);

/* The process a task id belongs to (its Tgid), or -errno. A thread id is
 * no pid: kill(2) and /proc take it, but uprobe_multi refuses it, and a
 * per-site uprobe would trace that one thread only. */
static int process_of(int pid)
{
	char path[64], line[128];
	int tgid = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

int target__attach(struct target *t, int pid)
{
	char link[64];
	ssize_t n;
	int tgid;

	memset(t, 0, sizeof(*t));
	t->release_fd = -1;
	if (pid <= 0)
		return -ESRCH;
	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	tgid = process_of(pid);
	if (tgid < 0)
		return tgid;
	if (tgid != pid) {
		t->pid = tgid;
		return TARGET_THREAD;
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, t->name, sizeof(t->name) - 1);
	/* no executable: it has exited (a zombie), or never had one (a kernel thread) */
	if (n < 0 && errno == ENOENT)
		return is_zombie(pid) ? TARGET_ZOMBIE : TARGET_KTHREAD;
	if (n < 0)
		return -errno;
	t->name[n] = 0;
	/* Attach through /proc: works even if the file was replaced or deleted. */
	snprintf(t->exe, sizeof(t->exe), "%s", link);
	t->pid = pid;
	return 0;
}

/* Not our child: a zombie waiting for its parent to reap it has exited. */
static bool is_zombie(int pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

bool target__gone(struct target *t)
{
	if (t->exited)
		return true;
	if (t->ours) {
		pid_t r = waitpid(t->pid, &t->status, WNOHANG);

		if (r == t->pid || (r < 0 && errno == ECHILD))
			t->exited = true;
	} else if ((kill(t->pid, 0) && errno == ESRCH) || is_zombie(t->pid)) {
		t->exited = true;
	}
	return t->exited;
}

void target__pause(struct target *t)
{
	if (t->ours && t->release_fd < 0 && !target__gone(t) &&
	    !watchdog__start(&t->watchdog, t->pid))
		kill(t->pid, SIGSTOP);
}

/* SIGTERM, then SIGKILL after grace_ms. */
static void end_child(struct target *t, int grace_ms)
{
	kill(t->pid, SIGTERM);
	kill(t->pid, SIGCONT); /* in case it was paused */
	for (int waited = 0; waited < grace_ms; waited += 10) {
		if (target__gone(t))
			return;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	kill(t->pid, SIGKILL);
	if (waitpid(t->pid, &t->status, 0) == t->pid)
		t->exited = true;
}

void target__terminate(struct target *t, int grace_ms)
{
	if (t->ours && !target__gone(t))
		end_child(t, grace_ms);
	watchdog__stand_down(&t->watchdog); /* continued or gone: nothing left to guard */
}

int target__exit_code(const struct target *t)
{
	if (!t->ours || !t->exited)
		return 0;
	if (WIFEXITED(t->status))
		return WEXITSTATUS(t->status);
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return 1;
}

/* Its parent's pid from /proc/PID/stat ("pid (comm) state ppid ..."), or -1. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *close_paren;
	int ppid = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	close_paren = strrchr(buf, ')'); /* the name may hold spaces and parens */
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

int target__kill_tree(pid_t pid)
{
	struct proc {
		pid_t pid, ppid;
		bool in_tree;
	} *procs = NULL, *more;
	size_t n = 0, cap = 0;
	struct dirent *d;
	bool grew = true;
	int killed = 0;
	DIR *dir;

	/* who is whose, read whole before any kill: a killed process's
	 * children are reparented and would no longer tell */
	dir = opendir("/proc");
	while (dir && (d = readdir(dir))) {
		pid_t p = (pid_t)strtol(d->d_name, NULL, 10);

		if (p <= 0 || p == pid)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			more = realloc(procs, cap * sizeof(*procs));
			if (!more)
				break;
			procs = more;
		}
		procs[n++] = (struct proc){p, parent_of(p), false};
	}
	if (dir)
		closedir(dir);
	while (grew) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			bool under = procs[i].ppid == pid;

			for (size_t j = 0; !under && j < n; j++)
				under = procs[j].in_tree && procs[j].pid == procs[i].ppid;
			if (under && !procs[i].in_tree)
				procs[i].in_tree = grew = true;
		}
	}
	for (size_t i = 0; i < n; i++)
		killed += procs[i].in_tree && !kill(procs[i].pid, SIGKILL);
	free(procs);
	return killed + !kill(pid, SIGKILL);
}
