/* Fatal-error helpers. Messages are assembled in one buffer and written
 * with a single write(2) so lines from the launcher, pid 1 and the child
 * never interleave mid-line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

#include "cordon.h"

int die_status_fd = -1;

static void (*cleanup_fn)(void *);
static void *cleanup_arg;
static pid_t cleanup_pid;

void die_set_cleanup(void (*fn)(void *), void *arg)
{
	cleanup_fn = fn;
	cleanup_arg = arg;
	cleanup_pid = fn ? getpid() : 0;
}

/* Runs the cleanup once, and only in the process that set it: a child
 * forked or cloned since then has its copy of the pointer, not its job.
 * Cleared first, so a die inside the cleanup exits at once. */
static void run_cleanup(void)
{
	void (*fn)(void *) = cleanup_fn;
	cleanup_fn = NULL;
	if (fn && getpid() == cleanup_pid)
		fn(cleanup_arg);
}

ssize_t write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

char *read_regular_file(int fd, size_t max, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		errno = EFBIG;
		return NULL;
	}
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			free(buf);
			errno = err;
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

static void emit(const char *fmt, va_list ap, int err, bool fatal)
{
	char msg[2048];
	int n = snprintf(msg, sizeof(msg), "cordon: ");
	/* Every caller va_starts ap; the analyzer loses track across calls. */
	n += vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	if (n >= (int)sizeof(msg))
		n = (int)sizeof(msg) - 1;
	if (err)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err));
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	(void)write_all(STDERR_FILENO, msg, (size_t)n);
	if (fatal && die_status_fd >= 0)
		(void)write_all(die_status_fd, msg + 8, (size_t)n - 8);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, 0, true);
	va_end(ap);
	run_cleanup();
	_exit(EXIT_SETUP);
}

void die_with_status(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, 0, true);
	va_end(ap);
	run_cleanup();
	_exit(status);
}

void die_with_error(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, err, true);
	va_end(ap);
	run_cleanup();
	_exit(EXIT_SETUP);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, 0, false);
	va_end(ap);
}
