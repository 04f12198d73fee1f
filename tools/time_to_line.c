// SPDX-License-Identifier: MIT
/*
 * time_to_line TEXT CMD [ARGS...]: run CMD with its stderr passed through us
 * (line by line, to our stderr) and report how long after starting CMD the
 * first stderr line containing TEXT appeared, on stderr after CMD exits:
 *
 *   time_to_line_ms=123.456
 *
 * (-1 if no such line). The benchmark (tools/bench.sh) times the attach of
 * async-inspect-bpf this way: from its exec to its start-up line, which it
 * prints once every probe is attached. CMD's stdout is untouched. Exits with
 * CMD's status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	double t0, found = -1;
	int pipefd[2], status;
	FILE *in;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: time_to_line TEXT CMD [ARGS...]\n");
		return 2;
	}
	if (pipe(pipefd)) {
		perror("time_to_line: pipe");
		return 2;
	}
	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		perror("time_to_line: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	close(pipefd[1]);
	in = fdopen(pipefd[0], "r");
	if (!in) {
		perror("time_to_line: fdopen");
		return 2;
	}
	while (getline(&line, &cap, in) > 0) {
		if (found < 0 && strstr(line, argv[1]))
			found = now_ms() - t0;
		fputs(line, stderr);
	}
	free(line);
	fclose(in);
	if (waitpid(pid, &status, 0) < 0) {
		perror("time_to_line: waitpid");
		return 2;
	}
	fprintf(stderr, "time_to_line_ms=%.3f\n", found);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
