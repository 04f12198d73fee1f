// SPDX-License-Identifier: MIT
/*
 * echo_load PORT CONNS REQUESTS [BYTES] [TIMEOUT_S]: the load generator of
 * the echo benchmark (tools/bench.sh, against tests/programs echo_server).
 * Opens CONNS connections to 127.0.0.1:PORT (TCP_NODELAY), keeps one request
 * of BYTES bytes (default 64) in flight on each, and counts a request done
 * when its BYTES come back; stops after REQUESTS requests in all, closes the
 * connections and prints one line on stdout:
 *
 *   echo_load: requests=N conns=C bytes=B elapsed_s=X rps=Y
 *
 * elapsed_s runs from the first request sent to the last answer. One thread,
 * poll(2) over the connections. Exit 0; 1 on an error, or if TIMEOUT_S
 * (default 60) passed first (the line is printed with what was done); 2 on
 * bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BYTES 4096
#define MAX_CONNS 1024

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct pollfd fds[MAX_CONNS];
	static size_t got[MAX_CONNS];
	static char msg[MAX_BYTES], buf[MAX_BYTES];
	long conns, requests, bytes = 64, sent = 0, done = 0;
	double timeout = 60, t0, t1;
	int port, ret = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: echo_load PORT CONNS REQUESTS [BYTES] [TIMEOUT_S]\n");
		return 2;
	}
	port = atoi(argv[1]);
	conns = atol(argv[2]);
	requests = atol(argv[3]);
	if (argc > 4)
		bytes = atol(argv[4]);
	if (argc > 5)
		timeout = atof(argv[5]);
	if (port <= 0 || port > 65535 || conns < 1 || conns > MAX_CONNS || requests < 1 || bytes < 1 ||
	    bytes > MAX_BYTES || !(timeout > 0)) {
		fprintf(stderr, "echo_load: bad arguments (CONNS 1..%d, BYTES 1..%d)\n", MAX_CONNS,
			MAX_BYTES);
		return 2;
	}
	for (long i = 0; i < bytes; i++)
		msg[i] = (char)('a' + i % 26);

	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (long i = 0; i < conns; i++) {
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
			fprintf(stderr, "echo_load: connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
			return 1;
		}
		fds[i] = (struct pollfd){.fd = fd, .events = POLLIN};
	}

	t0 = t1 = now_s();
	for (long i = 0; i < conns && sent < requests; i++, sent++)
		if (send_all(fds[i].fd, msg, (size_t)bytes))
			goto io_error;
	while (done < requests) {
		int n = poll(fds, (nfds_t)conns, 1000);

		if (n < 0 && errno != EINTR)
			goto io_error;
		if (now_s() - t0 > timeout) {
			fprintf(stderr, "echo_load: timeout after %.0f s\n", timeout);
			ret = 1;
			break;
		}
		for (long i = 0; n > 0 && i < conns; i++) {
			if (!fds[i].revents)
				continue;
			ssize_t r = recv(fds[i].fd, buf, sizeof(buf), 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				fprintf(stderr, "echo_load: connection %ld closed by the server\n", i);
				return 1;
			}
			got[i] += (size_t)r;
			if (got[i] < (size_t)bytes)
				continue;
			got[i] -= (size_t)bytes;
			done++;
			t1 = now_s();
			if (sent < requests) {
				if (send_all(fds[i].fd, msg, (size_t)bytes))
					goto io_error;
				sent++;
			}
		}
	}
	for (long i = 0; i < conns; i++)
		close(fds[i].fd);
	printf("echo_load: requests=%ld conns=%ld bytes=%ld elapsed_s=%.6f rps=%.0f\n", done, conns,
	       bytes, t1 - t0, t1 > t0 ? (double)done / (t1 - t0) : 0.0);
	return ret;
io_error:
	fprintf(stderr, "echo_load: %s\n", strerror(errno));
	return 1;
}
