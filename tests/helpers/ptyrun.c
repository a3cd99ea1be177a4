/* ptyrun: drives a program on a fresh pseudo-terminal, like a person at a
 * keyboard, for the interactive tests.
 *
 *   ptyrun [-t SECONDS] -- CMD [ARG]...  < script
 *
 * The script is read from stdin, one step per line:
 *   send TEXT        write TEXT to the terminal (\n, \r, \t, \xNN escapes)
 *   expect TEXT      wait until the output so far contains TEXT
 *   sleep MS         wait MS milliseconds
 *   resize ROWS COLS change the window size (the kernel sends SIGWINCH)
 * All output is copied to stdout. Exit status: CMD's status (128+N for a
 * signal), or 124 if an expect or the overall timeout fails. */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[1 << 20];
static size_t out_len;
static int master = -1;
static pid_t child;
static double deadline;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads whatever the terminal has for up to ms milliseconds. */
static void pump(int ms)
{
	struct pollfd p = {.fd = master, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return;
	char buf[4096];
	ssize_t n = read(master, buf, sizeof(buf));
	if (n <= 0)
		return;
	fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	if (out_len + (size_t)n < sizeof(out) - 1) {
		memcpy(out + out_len, buf, (size_t)n);
		out_len += (size_t)n;
		out[out_len] = '\0';
	}
}

static size_t unescape(const char *in, char *o)
{
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p != '\\' || !p[1]) {
			o[n++] = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'x': {
			char hex[3] = {p[1], p[1] ? p[2] : 0, 0};
			o[n++] = (char)strtol(hex, NULL, 16);
			p += 2;
			break;
		}
		default:
			o[n++] = *p;
		}
	}
	return n;
}

static int finish(int code)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	return code;
}

int main(int argc, char **argv)
{
	int timeout = 30, i = 1;
	if (i + 1 < argc && strcmp(argv[i], "-t") == 0) {
		timeout = atoi(argv[i + 1]);
		i += 2;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: ptyrun [-t SECONDS] -- CMD [ARG]... < script\n");
		return 2;
	}
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	child = forkpty(&master, NULL, NULL, &ws);
	if (child < 0) {
		perror("forkpty");
		return 2;
	}
	if (child == 0) {
		execvp(argv[i], argv + i);
		perror("exec");
		_exit(127);
	}
	deadline = now() + timeout;

	char line[4096], buf[4096];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "send ", 5) == 0) {
			size_t n = unescape(line + 5, buf);
			if (write(master, buf, n) != (ssize_t)n)
				return finish(124);
		} else if (strncmp(line, "expect ", 7) == 0) {
			size_t n = unescape(line + 7, buf);
			buf[n] = '\0';
			while (!strstr(out, buf)) {
				if (now() > deadline) {
					fprintf(stdout, "\nptyrun: EXPECT FAILED: %s\n", buf);
					return finish(124);
				}
				pump(50);
			}
		} else if (strncmp(line, "sleep ", 6) == 0) {
			double until = now() + atoi(line + 6) / 1000.0;
			while (now() < until)
				pump(10);
		} else if (strncmp(line, "resize ", 7) == 0) {
			struct winsize nws = {0};
			if (sscanf(line + 7, "%hu %hu", &nws.ws_row, &nws.ws_col) != 2 ||
			    ioctl(master, TIOCSWINSZ, &nws) < 0)
				return finish(124);
		}
	}
	/* Script done: wait for the program to finish, still draining output. */
	for (;;) {
		int st;
		pid_t r = waitpid(child, &st, WNOHANG);
		if (r == child) {
			for (int k = 0; k < 5; k++)
				pump(10);
			child = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		if (now() > deadline) {
			fprintf(stdout, "\nptyrun: TIMEOUT waiting for exit\n");
			return finish(124);
		}
		pump(20);
	}
}
