/* launchbench: times several commands round-robin, so drift in the
 * machine's speed affects them all alike, and prints each one's median.
 *
 *   launchbench RUNS WARMUP NAME -- CMD... \; NAME -- CMD... \; ...
 *
 * Output, one line per command: NAME MEDIAN_MS P10_MS P90_MS. A command
 * that exits non-zero stops the benchmark (exit 1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct cmd {
	const char *name;
	char **argv;
	double *ms;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double run_once(const struct cmd *c)
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		execvp(c->argv[0], c->argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		perror("launchbench");
		exit(1);
	}
	double t = now_ms() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "launchbench: %s failed (status %d)\n", c->name, st);
		exit(1);
	}
	return t;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: launchbench RUNS WARMUP NAME -- CMD... \\; ...\n");
		return 2;
	}
	int runs = atoi(argv[1]), warmup = atoi(argv[2]);
	struct cmd cmds[16];
	int n = 0;
	for (int i = 3; i < argc && n < 16;) {
		if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0) {
			fprintf(stderr, "launchbench: expected NAME -- CMD...\n");
			return 2;
		}
		cmds[n].name = argv[i];
		cmds[n].argv = &argv[i + 2];
		int j = i + 2;
		while (j < argc && strcmp(argv[j], ";") != 0)
			j++;
		argv[j < argc ? j : argc] = NULL;
		cmds[n].ms = calloc((size_t)runs, sizeof(double));
		n++;
		i = j + 1;
	}
	for (int w = 0; w < warmup; w++)
		for (int k = 0; k < n; k++)
			run_once(&cmds[k]);
	/* Each round runs every command once, starting with a different one
	 * each time, so neither drift nor position favours any. */
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < n; i++) {
			int k = (i + r) % n;
			cmds[k].ms[r] = run_once(&cmds[k]);
		}
	for (int k = 0; k < n; k++) {
		qsort(cmds[k].ms, (size_t)runs, sizeof(double), cmp);
		printf("%s %.3f %.3f %.3f\n", cmds[k].name, cmds[k].ms[runs / 2], cmds[k].ms[runs / 10],
		       cmds[k].ms[runs * 9 / 10]);
	}
	return 0;
}
