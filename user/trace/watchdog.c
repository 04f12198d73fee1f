// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "trace/watchdog.h"

/* The watchdog's files, after it has closed all others (close_range). */
enum { WD_SOCK = 3, WD_PIDFD = 4 };

/* The watchdog itself: only async-signal-safe calls, as after any fork. */
static void __attribute__((noreturn)) watch(int sock, int pidfd)
{
	static const int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP};
	struct sigaction ign = {.sa_handler = SIG_IGN};
	char word = 0;

	/* a Ctrl-C to our process group is ours to handle, not its */
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &ign, NULL);
	/* out of the way first, so that neither lands on the other */
	sock = fcntl(sock, F_DUPFD, 16);
	pidfd = fcntl(pidfd, F_DUPFD, 16);
	if (sock < 0 || pidfd < 0 || dup2(sock, WD_SOCK) < 0 || dup2(pidfd, WD_PIDFD) < 0 ||
	    syscall(SYS_close_range, WD_PIDFD + 1, ~0U, 0))
		_exit(1);
	if (write(WD_SOCK, "r", 1) != 1)
		_exit(1);
	while (read(WD_SOCK, &word, 1) < 0 && errno == EINTR)
		;
	if (word != 'd') /* EOF: we died with the child stopped */
		syscall(SYS_pidfd_send_signal, WD_PIDFD, SIGCONT, NULL, 0);
	_exit(0);
}

int watchdog__start(struct watchdog *w, pid_t child)
{
	int sv[2], pidfd, err = 0;
	char ready = 0;
	pid_t pid;

	memset(w, 0, sizeof(*w));
	w->sock = -1;
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		close(pidfd);
		return err;
	}
	pid = fork();
	if (pid == 0)
		watch(sv[1], pidfd); /* its dup2 copies lose CLOEXEC */
	close(sv[1]);
	close(pidfd);
	if (pid < 0) {
		err = -errno;
		close(sv[0]);
		return err;
	}
	w->pid = pid;
	w->sock = sv[0];
	/* Ready: it holds none of our BPF links, perf events or maps. */
	while (read(w->sock, &ready, 1) < 0 && errno == EINTR)
		;
	if (ready != 'r') {
		watchdog__stand_down(w);
		return -ECHILD;
	}
	return 0;
}

void watchdog__stand_down(struct watchdog *w)
{
	if (w->pid <= 0)
		return;
	if (w->sock >= 0) {
		/* if it is gone already there is nothing to tell: no SIGPIPE */
		send(w->sock, "d", 1, MSG_NOSIGNAL);
		close(w->sock);
		w->sock = -1;
	}
	waitpid(w->pid, NULL, 0);
	w->pid = 0;
}
