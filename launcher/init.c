/* Pid 1 of the sandbox, and the last steps of the command's process.
 *
 * Pid 1 reaps every orphan, forwards to the command the signals sent to
 * the sandbox from outside, enforces the timeout, and exits with the
 * command's status. When it exits the kernel kills everything left in the
 * pid namespace, so nothing outlives the command. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cordon.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

mode_t command_umask = 022;

static void arm_timer(int tfd, uint64_t ms)
{
	if (!timer_arm(tfd, ms))
		die_with_error("timeout: arm timer");
}

void add_forwarded_signals(sigset_t *mask)
{
	static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t i = 0; i < N_ELEMENTS(forwarded); i++)
		sigaddset(mask, forwarded[i]);
}

/* A signal counts as sent to the sandbox from outside when a process sent
 * it (not the kernel, e.g. the tty on Ctrl-C, which already signalled the
 * command's process group) and that process is not in our pid namespace
 * (the kernel shows such senders as pid 0). */
static bool forwardable(const struct signalfd_siginfo *si)
{
	return (int)si->ssi_code <= 0 && si->ssi_pid == 0;
}

void init_main(const struct plan *pl, pid_t child, const sigset_t *saved_mask)
{
	(void)saved_mask;
	/* Pid 1 needs no privilege once the command is forked: it only waits
	 * and signals processes of its own uid. */
	drop_privileges(pl);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_with_error("init: set non-dumpable");
	set_no_new_privs();

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	add_forwarded_signals(&mask);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		die_with_error("init: signalfd");
	int tfd = -1;
	if (pl->timeout_ms) {
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (tfd < 0)
			die_with_error("init: timerfd");
		arm_timer(tfd, pl->timeout_ms);
	}

	bool done = false, timed_out = false;
	int status = 0;
	while (!done) {
		struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
		if (poll(fds, tfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_with_error("init: poll");
		}
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				int st;
				pid_t p;
				while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
					if (p == child) {
						status = st;
						done = true;
					}
				}
			} else if (forwardable(&si)) {
				kill(child, (int)si.ssi_signo);
			}
		}
		if (tfd >= 0 && (fds[1].revents & POLLIN)) {
			uint64_t ticks;
			if (read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
				continue;
			if (!timed_out) {
				timed_out = true;
				/* Said by pid 1, which alone knows the 124 is the
				 * timeout's and not the command's own. */
				warn_msg(
				    "timeout %s reached; the command was stopped (SIGTERM, then SIGKILL after %d s)",
				    pl->timeout_text ? pl->timeout_text : "?", TIMEOUT_GRACE_MS / 1000);
				kill(-1, SIGTERM);
				arm_timer(tfd, TIMEOUT_GRACE_MS);
			} else {
				kill(-1, SIGKILL);
			}
		}
	}
	if (timed_out)
		_exit(EXIT_TIMEOUT);
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

static void set_limits(const struct plan *pl)
{
	if (pl->nofile) {
		struct rlimit rl = {.rlim_cur = pl->nofile, .rlim_max = pl->nofile};
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die_with_error("limits: nofile %llu", (unsigned long long)pl->nofile);
	}
}

/* Whether file's directory is one of the entries of PATH (the
 * command's environment, in place by now). */
static bool in_path(const char *file)
{
	const char *slash = strrchr(file, '/');
	size_t dl = slash > file ? (size_t)(slash - file) : 1;
	const char *path = getenv("PATH");
	for (const char *p = path ? path : ""; *p;) {
		size_t n = strcspn(p, ":");
		size_t m = n;
		while (m > 1 && p[m - 1] == '/')
			m--;
		if (m == dl && strncmp(p, file, m) == 0)
			return true;
		p += n;
		p += *p == ':';
	}
	return false;
}

void exec_command(const struct plan *pl, const sigset_t *saved_mask, const struct seccomp_job *filters)
{
	set_limits(pl);
	drop_privileges(pl);
	set_no_new_privs();

	/* Nothing of the launcher's may reach the command: every descriptor
	 * above stderr closes on exec (our status pipe among them, which is
	 * how the launcher learns the exec happened). */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 65536; fd++) {
			int fl = fcntl(fd, F_GETFD);
			if (fl >= 0)
				fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		}
	}
	umask(command_umask);
	environ = pl->envp;
	landlock_apply(pl);
	if (sigprocmask(SIG_SETMASK, saved_mask, NULL) < 0)
		die_with_error("restore signal mask");
	/* A pinned hash: the file is found, opened and hashed now, with the
	 * command's rights and before the filter (which need not allow what
	 * hashing uses), and executed from that descriptor below. With no
	 * file to hash, the error is execvp's; execvp itself must not run
	 * then, or a file that appeared since would run unhashed. */
	int pinned = -1, pinned_err = 0;
	if (pl->command_sha256) {
		pinned = command_open_pinned(pl);
		pinned_err = errno;
	}
	/* The filter comes last, so that a profile cannot keep any step of
	 * ours from running (an allowlist without rt_sigprocmask, say): after
	 * it only the seccomp() calls that load its later layers and execve
	 * (execveat for a pinned hash) run, and profile_load refuses a
	 * profile whose layers would refuse those (profile_require_execveat).
	 * execvp makes no other call: it tries execve on each PATH entry, and
	 * on ENOEXEC runs /bin/sh with execve too. (If the exec fails, the
	 * report below is written under the filter: a profile that refuses
	 * write loses the words, not the status.) */
	seccomp_load_programs(filters);
	if (pinned >= 0)
		execveat(pinned, "", pl->argv, environ, AT_EMPTY_PATH);
	else if (!pl->command_sha256)
		execvp(pl->argv[0], pl->argv);
	else
		errno = pinned_err;

	int err = errno;
	int code = (err == ENOENT || err == ENOTDIR) ? EXIT_NOTFOUND : EXIT_NOEXEC;
	if (code == EXIT_NOTFOUND && pl->command_host_path) {
		/* The host has it (command_host_lookup). Absent here: say what
		 * shows it. Present here: the sandbox's PATH lacks its
		 * directory, or what it needs to start (its #! interpreter) is
		 * what is missing. */
		if (access(pl->command_host_path, F_OK) != 0)
			die_with_status(code, "%s: %s", pl->argv[0], pl->command_hint);
		if (!strchr(pl->argv[0], '/') && !in_path(pl->command_host_path))
			die_with_status(code,
			                "%s: not found in the sandbox's PATH (%s is there; add its directory to PATH "
			                "with [env] set)",
			                pl->argv[0], pl->command_host_path);
		die_with_status(code,
		                "%s: %s is in the sandbox, but what it needs to start (its #! interpreter or its "
		                "dynamic loader) is not",
		                pl->argv[0], pl->command_host_path);
	}
	die_with_status(code, "%s: %s", pl->argv[0], code == EXIT_NOTFOUND ? "command not found" : strerror(err));
}
