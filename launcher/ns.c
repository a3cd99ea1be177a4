/* Entering the namespaces: one clone3() creates all of them at once, so
 * the child is pid 1 of its pid namespace from its first instruction. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cordon.h"

/* clone3 with no stack behaves like fork(): the child continues on a copy
 * of the parent's stack. glibc has no wrapper; the launcher is single
 * threaded, so skipping glibc's fork bookkeeping is safe. */
pid_t spawn_sandbox(unsigned long clone_flags, int cgroup_fd)
{
	struct clone_args args = {
	    .flags = clone_flags,
	    .exit_signal = SIGCHLD,
	};
	/* In its cgroup from its first instruction: nothing of the sandbox
	 * ever runs outside the limits. */
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && errno == ENOSYS && cgroup_fd < 0)
		pid = syscall(SYS_clone, (unsigned long)SIGCHLD | clone_flags, NULL, NULL, NULL, NULL);
	return (pid_t)pid;
}

/* A step of making the sandbox's namespaces failed with errno: the line
 * names the step, the error and, when one is found, what refused it and
 * the setting that grants it (hints.c). Exits 125. */
void die_namespaces(const char *step, bool userns)
{
	int err = errno;
	cleanup_free char *hint = namespaces_hint(err, userns);
	if (hint)
		die("%s: %s; %s", step, strerror(err), hint);
	errno = err;
	die_with_error("%s", step);
}

static void write_proc_file(const char *path, const char *content)
{
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, content, strlen(content)) < 0) {
		cleanup_free char *step = xasprintf("user namespace: %s %s", fd < 0 ? "open" : "write", path);
		die_namespaces(step, true);
	}
}

/* Unprivileged: the only mapping the kernel lets us write ourselves is our
 * own uid and gid onto themselves, after giving up setgroups(). That is also
 * the mapping we want: files created in the project belong to the user. */
void setup_user_namespace(const struct plan *pl)
{
	char map[64];
	write_proc_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)pl->invoker_uid, (unsigned)pl->invoker_uid);
	write_proc_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)pl->invoker_gid, (unsigned)pl->invoker_gid);
	write_proc_file("/proc/self/gid_map", map);
}

static void loopback_up(void)
{
	cleanup_fd int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_with_error("network: socket for loopback");
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		die_with_error("network: get flags of lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		die_with_error("network: bring lo up");
}

void setup_uts_and_net(const struct plan *pl)
{
	if (sethostname(pl->hostname, strlen(pl->hostname)) < 0)
		die_with_error("uts namespace: sethostname %s", pl->hostname);
	if (pl->clone_flags & CLONE_NEWNET)
		loopback_up();
}
