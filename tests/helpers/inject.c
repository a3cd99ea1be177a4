/* inject: makes a running process call one syscall, through ptrace, to
 * test from outside what that process's confinement (seccomp, Landlock,
 * its uid) lets it do. Prints "ok" or the errno name the call failed with,
 * as tests/escape/try.c does, and exits 0; 1 if the injection itself
 * failed; 2 on bad usage.
 *
 *   inject PID create PATH    openat(PATH, O_WRONLY|O_CREAT|O_EXCL, 0600);
 *                             the file it made, if any, stays (the test
 *                             removes it)
 *   inject PID bind-tcp       socket(AF_INET, SOCK_STREAM), then bind it to
 *                             127.0.0.1 on a free port
 *   inject PID adjtimex       adjtimex(NULL): EFAULT from the kernel, unless
 *                             a filter answers first (the strict profile
 *                             leaves it out: ENOSYS)
 *
 * The thread PID must be blocked in a syscall (an event loop's epoll_wait,
 * a sleep): the syscall instruction it is in is the one reused. Its
 * registers and the stack bytes borrowed for arguments are restored before
 * it goes on, and any descriptor made is closed in it; the interrupted call
 * returns EINTR or restarts, as for a signal. x86_64 only. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)

static pid_t pid;
static struct user_regs_struct saved;
static unsigned long long syscall_insn; /* address of a "syscall" instruction in the target */
static unsigned long long scratch;      /* stack space below the red zone, for arguments */
static unsigned char scratch_saved[256];

static void fail(const char *what)
{
	fprintf(stderr, "inject: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void wait_stop(void)
{
	int st;
	if (waitpid(pid, &st, __WALL) < 0)
		fail("waitpid");
	if (!WIFSTOPPED(st)) {
		errno = ESRCH;
		fail("the target did not stop");
	}
}

static void poke(unsigned long long addr, const void *data, size_t n)
{
	for (size_t i = 0; i < n; i += sizeof(long)) {
		long word;
		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, pid, (void *)(addr + i), NULL);
		if (errno)
			fail("read the target's memory");
		memcpy(&word, (const char *)data + i, n - i < sizeof(long) ? n - i : sizeof(long));
		if (ptrace(PTRACE_POKEDATA, pid, (void *)(addr + i), (void *)word) < 0)
			fail("write the target's memory");
	}
}

static void peek(unsigned long long addr, void *data, size_t n)
{
	for (size_t i = 0; i < n; i += sizeof(long)) {
		errno = 0;
		long word = ptrace(PTRACE_PEEKDATA, pid, (void *)(addr + i), NULL);
		if (errno)
			fail("read the target's memory");
		memcpy((char *)data + i, &word, n - i < sizeof(long) ? n - i : sizeof(long));
	}
}

/* One syscall in the target: the result, or -errno. orig_rax = -1 keeps the
 * kernel from restarting the call the target was interrupted in. */
static long call(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	struct user_regs_struct r = saved;
	r.rip = syscall_insn;
	r.rax = (unsigned long long)nr;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = (unsigned long long)a1;
	r.rsi = (unsigned long long)a2;
	r.rdx = (unsigned long long)a3;
	r.r10 = (unsigned long long)a4;
	r.r8 = (unsigned long long)a5;
	r.r9 = (unsigned long long)a6;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &r) < 0)
		fail("set registers");
	if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0)
		fail("single-step");
	wait_stop();
	if (ptrace(PTRACE_GETREGS, pid, NULL, &r) < 0)
		fail("get registers");
	return (long)r.rax;
}

static const char *errname(long e)
{
	static char buf[32];
	switch (e) {
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case ENOSYS:
		return "ENOSYS";
	case EFAULT:
		return "EFAULT";
	case EEXIST:
		return "EEXIST";
	case EROFS:
		return "EROFS";
	case ENOENT:
		return "ENOENT";
	default:
		snprintf(buf, sizeof(buf), "errno%ld", e);
		return buf;
	}
}

/* Stops the target where it is blocked in a syscall: a busy one is let go
 * and caught again, a few times. */
static void attach(void)
{
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
		fail("attach");
	for (int tries = 0;; tries++) {
		if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0)
			fail("interrupt");
		wait_stop();
		if (ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0)
			fail("get registers");
		unsigned char insn[8];
		peek(saved.rip - 2, insn, sizeof(insn));
		if (insn[0] == 0x0f && insn[1] == 0x05 && (long long)saved.orig_rax >= 0)
			break;
		if (tries == 100) {
			errno = EINVAL;
			fail("the target is not blocked in a syscall");
		}
		if (ptrace(PTRACE_CONT, pid, NULL, NULL) < 0)
			fail("continue");
		usleep(10000);
	}
	syscall_insn = saved.rip - 2;
	scratch = ((saved.rsp - 128 - sizeof(scratch_saved)) & ~15ULL);
	peek(scratch, scratch_saved, sizeof(scratch_saved));
}

static void detach(void)
{
	poke(scratch, scratch_saved, sizeof(scratch_saved));
	if (ptrace(PTRACE_SETREGS, pid, NULL, &saved) < 0)
		fail("restore registers");
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0)
		fail("detach");
}

int main(int argc, char **argv)
{
	if (argc < 3)
		goto usage;
	pid = (pid_t)atoi(argv[1]);
	const char *what = argv[2];
	long r;
	if (strcmp(what, "create") == 0 && argc == 4) {
		size_t n = strlen(argv[3]) + 1;
		if (n > sizeof(scratch_saved))
			goto usage;
		attach();
		poke(scratch, argv[3], n);
		r = call(SYS_openat, AT_FDCWD, (long)scratch, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, 0, 0);
		if (r >= 0)
			call(SYS_close, r, 0, 0, 0, 0, 0);
	} else if (strcmp(what, "bind-tcp") == 0 && argc == 3) {
		attach();
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		poke(scratch, &sin, sizeof(sin));
		long fd = call(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0);
		if (fd < 0) {
			detach();
			printf("socket:%s\n", errname(-fd));
			return 0;
		}
		r = call(SYS_bind, fd, (long)scratch, sizeof(sin), 0, 0, 0);
		call(SYS_close, fd, 0, 0, 0, 0, 0);
	} else if (strcmp(what, "adjtimex") == 0 && argc == 3) {
		attach();
		r = call(SYS_adjtimex, 0, 0, 0, 0, 0, 0);
	} else {
		goto usage;
	}
	detach();
	if (r < 0 && r > -4096)
		printf("%s\n", errname(-r));
	else
		printf("ok\n");
	return 0;
usage:
	fprintf(stderr, "usage: inject PID create PATH | inject PID bind-tcp | inject PID adjtimex\n");
	return 2;
}

#else

int main(void)
{
	fprintf(stderr, "inject: x86_64 only\n");
	return 2;
}

#endif
