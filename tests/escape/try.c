/* try: one escape attempt, for the escape tests. Prints "ok" if the
 * attempt succeeded, or the errno name it failed with, and exits 0; 2 on
 * bad usage.
 *
 *   try syscall NAME     call NAME with arguments the kernel itself would
 *                        refuse for another reason (EFAULT, EBADF, EINVAL)
 *                        or that succeed harmlessly; so EPERM/ENOSYS can
 *                        only come from a filter (or a missing capability,
 *                        which the tests account for)
 *   try syscalls NAME... each NAME as `syscall` does, each in a child of
 *                        its own (a call that works, unshare say, changes
 *                        only that child), one "NAME RESULT" line each
 *   try mkdir PATH       mkdir PATH
 *   try create PATH      create the file PATH (O_CREAT | O_EXCL)
 *   try privileged [userns]   calls that need a capability in the
 *                        sandbox's own namespaces (sethostname, mount a
 *                        tmpfs on /tmp, a raw socket), one "CALL RESULT"
 *                        line each; with userns, first in a new user, UTS,
 *                        mount and network namespace, which holds every
 *                        capability (the control)
 *   try userns-mount     unshare a user and mount namespace, then mount
 *   try ptrace-pid1      PTRACE_ATTACH to pid 1 (detached again at once,
 *                        should it work)
 *   try tiocsti [high]   push a character into the controlling terminal,
 *                        optionally with bit 32 set in the request
 *   try euid             print the effective uid
 *   try abstract NAME    connect to the abstract Unix socket @NAME
 *   try abstract-listen NAME   listen on @NAME until killed (for controls)
 *   try kill1            kill(1, 0): may this process signal pid 1?
 *   try ptrace-child     fork a child and PTRACE_ATTACH to it
 *   try open PATH r|w    open PATH for reading or writing (nothing is
 *                        written), e.g. /proc/1/exe, /proc/sys/...
 *   try unix PATH        connect to the filesystem Unix socket PATH
 *   try unix-listen PATH listen on PATH until killed (for controls)
 *   try kill PID         kill(PID, 0): may this process signal PID?
 *   try swap A B [USEC]  exchange A and B (renameat2 RENAME_EXCHANGE) in
 *                        a loop until killed: a race against a launch;
 *                        with USEC, a pause of that many microseconds
 *                        after each exchange leaves the launch a CPU
 *   try tcp-blackhole    listen on 127.0.0.1 with a full accept queue, so
 *                        further connects hang; print the port, wait
 *   try ns unshare|clone FLAG[+FLAG]...   unshare, or clone a child that
 *                        exits at once, with the CLONE_NEW* flags named
 *                        (user, ns, pid, net, ipc, uts, cgroup, time)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM:
		return "EPERM";
	case ENOSYS:
		return "ENOSYS";
	case EACCES:
		return "EACCES";
	case EFAULT:
		return "EFAULT";
	case EBADF:
		return "EBADF";
	case EINVAL:
		return "EINVAL";
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	case EIO:
		return "EIO";
	case ENOTTY:
		return "ENOTTY";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EXDEV:
		return "EXDEV";
	case EAGAIN:
		return "EAGAIN";
	case EROFS:
		return "EROFS";
	case ENOTDIR:
		return "ENOTDIR";
	case EBUSY:
		return "EBUSY";
	case ETXTBSY:
		return "ETXTBSY";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case EEXIST:
		return "EEXIST";
	case EHWPOISON:
		return "EHWPOISON";
	default: {
		static char buf[32];
		snprintf(buf, sizeof(buf), "errno%d", e);
		return buf;
	}
	}
}

static int report(long r)
{
	if (r < 0)
		printf("%s\n", errname(errno));
	else
		printf("ok\n");
	return 0;
}

/* Forks with raw clone flags; the child exits at once. */
static long try_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

static long try_clone3(void)
{
	struct clone_args a = {.exit_signal = SIGCHLD};
	long pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

static long x32_getpid(void)
{
	return syscall(__NR_getpid | 0x40000000);
}

static long int80_getpid(void)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory"); /* i386 getpid */
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static long try_syscall(const char *n)
{
	char c = 0;
	struct iovec iov = {&c, 1};
#define IS(x) (strcmp(n, x) == 0)
	if (IS("unshare-user"))
		return unshare(CLONE_NEWUSER);
	if (IS("unshare-net"))
		return unshare(CLONE_NEWNET);
	if (IS("clone-user"))
		return try_clone(CLONE_NEWUSER);
	if (IS("clone3"))
		return try_clone3();
	if (IS("setns"))
		return setns(-1, 0);
	if (IS("mount"))
		return mount(NULL, NULL, NULL, 0, NULL);
	if (IS("umount2"))
		return umount2(NULL, 0);
	if (IS("pivot_root"))
		return syscall(SYS_pivot_root, NULL, NULL);
	if (IS("chroot"))
		return syscall(SYS_chroot, NULL);
	if (IS("open_tree"))
		return syscall(SYS_open_tree, -1, NULL, 0);
	if (IS("move_mount"))
		return syscall(SYS_move_mount, -1, NULL, -1, NULL, 0);
	if (IS("fsopen"))
		return syscall(SYS_fsopen, NULL, 0);
	if (IS("fsmount"))
		return syscall(SYS_fsmount, -1, 0, 0);
	if (IS("fspick"))
		return syscall(SYS_fspick, -1, NULL, 0);
	if (IS("fsconfig"))
		return syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0);
	if (IS("mount_setattr"))
		return syscall(SYS_mount_setattr, -1, NULL, 0, NULL, 0);
	if (IS("bpf"))
		return syscall(SYS_bpf, -1, NULL, 0);
	if (IS("perf_event_open"))
		return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	if (IS("userfaultfd"))
		return syscall(SYS_userfaultfd, ~0);
	if (IS("keyctl"))
		return syscall(SYS_keyctl, -1, 0, 0, 0, 0);
	if (IS("add_key"))
		return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0);
	if (IS("request_key"))
		return syscall(SYS_request_key, NULL, NULL, NULL, 0);
	if (IS("kexec_load"))
		return syscall(SYS_kexec_load, 0, 0, NULL, ~0UL);
	if (IS("kexec_file_load"))
		return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL);
	if (IS("init_module"))
		return syscall(SYS_init_module, NULL, 0, NULL);
	if (IS("finit_module"))
		return syscall(SYS_finit_module, -1, NULL, 0);
	if (IS("delete_module"))
		return syscall(SYS_delete_module, NULL, 0);
	if (IS("open_by_handle_at"))
		return syscall(SYS_open_by_handle_at, -1, NULL, 0);
	if (IS("name_to_handle_at"))
		return syscall(SYS_name_to_handle_at, -1, NULL, NULL, NULL, 0);
	if (IS("io_uring_setup"))
		return syscall(SYS_io_uring_setup, 0, NULL);
	if (IS("io_uring_enter"))
		return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
	if (IS("io_uring_register"))
		return syscall(SYS_io_uring_register, -1, 0, NULL, 0);
	if (IS("ptrace-traceme"))
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	if (IS("process_vm_readv"))
		return syscall(SYS_process_vm_readv, getpid(), &iov, 1, &iov, 1, 0);
	if (IS("process_vm_writev"))
		return syscall(SYS_process_vm_writev, getpid(), &iov, 1, &iov, 1, 0);
	if (IS("personality-query"))
		return syscall(SYS_personality, 0xffffffffUL);
	if (IS("personality-aslr"))
		return syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE);
	if (IS("personality-high"))
		return syscall(SYS_personality, (1UL << 32) | READ_IMPLIES_EXEC);
	if (IS("ioctl-tioclinux")) {
		char sub = 0;
		return ioctl(0, TIOCLINUX, &sub);
	}
	if (IS("iopl"))
		return syscall(SYS_iopl, 4);
	if (IS("ioperm"))
		return syscall(SYS_ioperm, 0x80, 1, 1);
	if (IS("modify_ldt"))
		return syscall(SYS_modify_ldt, 0, NULL, 0);
	if (IS("reboot"))
		return syscall(SYS_reboot, 0, 0, 0, NULL);
	if (IS("swapon"))
		return syscall(SYS_swapon, NULL, 0);
	if (IS("swapoff"))
		return syscall(SYS_swapoff, NULL);
	if (IS("acct"))
		return syscall(SYS_acct, "/nonexistent/cordon");
	if (IS("quotactl"))
		return syscall(SYS_quotactl, 0, NULL, 0, NULL);
	if (IS("syslog"))
		return syscall(SYS_syslog, 10, NULL, 0); /* SYSLOG_ACTION_SIZE_BUFFER */
	if (IS("lookup_dcookie"))
		return syscall(SYS_lookup_dcookie, 0, NULL, 0);
	if (IS("x32-getpid"))
		return x32_getpid();
	if (IS("int80-getpid"))
		return int80_getpid();
	if (IS("getpid"))
		return syscall(SYS_getpid);
	if (IS("rt_sigprocmask")) {
		sigset_t old;
		return syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, _NSIG / 8);
	}
#undef IS
	fprintf(stderr, "try: unknown syscall case %s\n", n);
	_exit(2);
}

/* Each syscall case in a child, so that one that works (unshare,
 * personality) changes nothing for the next. */
static int try_syscalls(char **names)
{
	for (; *names; names++) {
		printf("%s ", *names);
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0)
			return report(-1);
		if (pid == 0) {
			report(try_syscall(*names));
			fflush(stdout);
			_exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("died\n");
			fflush(stdout);
		}
	}
	return 0;
}

/* Calls the sandbox's own namespaces would allow with a capability:
 * without one each fails with EPERM, whatever the seccomp profile and
 * Landlock. With new_userns they are made in a new user namespace (and
 * new UTS, mount and network namespaces it owns), where this process
 * holds every capability: the control that the same calls work there. */
static int privileged(int new_userns)
{
	if (new_userns) {
		printf("unshare ");
		report(unshare(CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWNET));
	}
	static const char name[] = "cordon-try";
	printf("sethostname ");
	report(sethostname(name, sizeof(name) - 1));
	printf("mount ");
	report(mount("none", "/tmp", "tmpfs", 0, NULL));
	printf("rawsock ");
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	report(fd);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int userns_mount(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		printf("unshare:%s\n", errname(errno));
		return 0;
	}
	if (mount("none", "/tmp", "tmpfs", 0, NULL) < 0 && mount("none", "/", "tmpfs", 0, NULL) < 0) {
		printf("mount:%s\n", errname(errno));
		return 0;
	}
	printf("ok\n");
	return 0;
}

static int tiocsti(int high)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0) {
		printf("no-tty:%s\n", errname(errno));
		return 0;
	}
	char c = '#';
	unsigned long req = TIOCSTI;
	if (high)
		req |= 1UL << 32;
	/* Raw syscall: glibc's ioctl takes an unsigned long request and passes
	 * it through, but be explicit about the high bits. */
	return report(syscall(SYS_ioctl, fd, req, &c));
}

/* Connects to, or listens on (until killed), the Unix socket address a. */
static int unix_socket(const struct sockaddr_un *a, socklen_t len, int listen_mode)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return report(-1);
	if (!listen_mode)
		return report(connect(fd, (const struct sockaddr *)a, len));
	if (bind(fd, (const struct sockaddr *)a, len) < 0 || listen(fd, 8) < 0)
		return report(-1);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static int path_socket(const char *path, int listen_mode)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(a.sun_path))
		return 2;
	memcpy(a.sun_path, path, n + 1);
	return unix_socket(&a, sizeof(a), listen_mode);
}

static int swap_loop(const char *a, const char *b, useconds_t pause)
{
	printf("swapping\n");
	fflush(stdout);
	for (;;) {
		if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0)
			return report(-1);
		if (pause)
			usleep(pause);
	}
}

static int tcp_blackhole(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 0) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return report(-1);
	/* Fill the accept queue; the kernel drops SYNs beyond it. */
	for (int i = 0; i < 2; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c < 0)
			return report(-1);
		(void)connect(c, (struct sockaddr *)&a, len);
	}
	usleep(200000);
	printf("%u\n", (unsigned)ntohs(a.sin_port));
	fflush(stdout);
	for (;;)
		pause();
}

static int open_path(const char *path, const char *how)
{
	int flags = strcmp(how, "w") == 0 ? O_WRONLY : O_RDONLY;
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		close(fd);
	return report(fd);
}

static int abstract_socket(const char *name, int listen_mode)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	if (n + 1 >= sizeof(a.sun_path))
		return 2;
	memcpy(a.sun_path + 1, name, n);
	return unix_socket(&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n), listen_mode);
}

static int ptrace_child(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
	int saved = errno;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	errno = saved;
	return report(r);
}

/* PTRACE_ATTACH to pid 1; should it work, pid 1 is let go again, or its
 * stop would hang the sandbox. */
static int ptrace_pid1(void)
{
	long r = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
	int saved = errno;
	if (r == 0) {
		int st;
		(void)waitpid(1, &st, __WALL);
		(void)ptrace(PTRACE_DETACH, 1, NULL, NULL);
	}
	errno = saved;
	return report(r);
}

/* unshare(2), or clone(2) with a child that exits at once, with the
 * namespace flags named in spec ("user+net"). */
static int try_ns(const char *how, const char *spec)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} names[] = {
	    {"user", CLONE_NEWUSER}, {"ns", CLONE_NEWNS},   {"pid", CLONE_NEWPID},       {"net", CLONE_NEWNET},
	    {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
	};
	unsigned long flags = 0;
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, "+"), i;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n && strncmp(p, names[i].name, n) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "try: unknown namespace %.*s\n", (int)n, p);
			return 2;
		}
		flags |= names[i].flag;
		p += n + (p[n] == '+');
	}
	if (strcmp(how, "unshare") == 0)
		return report(unshare((int)flags));
	if (strcmp(how, "clone") == 0)
		return report(try_clone(flags));
	fprintf(stderr, "try: ns unshare|clone FLAGS\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "abstract") == 0)
		return abstract_socket(argv[2], 0);
	if (argc == 3 && strcmp(argv[1], "abstract-listen") == 0)
		return abstract_socket(argv[2], 1);
	if (argc == 4 && strcmp(argv[1], "open") == 0)
		return open_path(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "unix") == 0)
		return path_socket(argv[2], 0);
	if (argc == 3 && strcmp(argv[1], "unix-listen") == 0)
		return path_socket(argv[2], 1);
	if (argc == 2 && strcmp(argv[1], "tcp-blackhole") == 0)
		return tcp_blackhole();
	if (argc == 4 && strcmp(argv[1], "ns") == 0)
		return try_ns(argv[2], argv[3]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "swap") == 0)
		return swap_loop(argv[2], argv[3], argc == 5 ? (useconds_t)atoi(argv[4]) : 0);
	if (argc == 3 && strcmp(argv[1], "kill") == 0)
		return report(kill((pid_t)atoi(argv[2]), 0));
	if (argc == 2 && strcmp(argv[1], "kill1") == 0)
		return report(kill(1, 0));
	if (argc == 2 && strcmp(argv[1], "ptrace-child") == 0)
		return ptrace_child();
	if (argc >= 3 && strcmp(argv[1], "syscall") == 0)
		return report(try_syscall(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "syscalls") == 0)
		return try_syscalls(argv + 2);
	if (argc == 3 && strcmp(argv[1], "mkdir") == 0)
		return report(mkdir(argv[2], 0755));
	if (argc == 3 && strcmp(argv[1], "create") == 0) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		return report(fd);
	}
	if (argc >= 2 && strcmp(argv[1], "privileged") == 0)
		return privileged(argc == 3 && strcmp(argv[2], "userns") == 0);
	if (argc == 2 && strcmp(argv[1], "userns-mount") == 0)
		return userns_mount();
	if (argc == 2 && strcmp(argv[1], "ptrace-pid1") == 0)
		return ptrace_pid1();
	if (argc >= 2 && strcmp(argv[1], "tiocsti") == 0)
		return tiocsti(argc == 3 && strcmp(argv[2], "high") == 0);
	if (argc == 2 && strcmp(argv[1], "euid") == 0) {
		printf("%u\n", (unsigned)geteuid());
		return 0;
	}
	fprintf(stderr, "usage: try syscall NAME | syscalls NAME... | mkdir PATH | create PATH | privileged [userns] | "
	                "userns-mount | ptrace-pid1 | tiocsti [high] | euid\n");
	return 2;
}
