/* `cordon run`: compute the plan, then apply it.
 *
 * Three processes take part. The launcher stays on the host side: it
 * waits, forwards signals, removes placeholders and writes the audit
 * trail. Its child is created in all the namespaces at once and is pid 1
 * inside: it builds the root, then forks the command and becomes its init.
 * The command's process drops every privilege and execs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cordon.h"
#include "proxy.h"

/* Extra time the launcher allows pid 1 beyond timeout + grace before it
 * kills the whole namespace itself. */
#define BACKSTOP_MS 2000

struct sandbox_fds {
	int status_r, status_w; /* setup failures, written by die() inside */
	int alive_r, alive_w;   /* closes when the launcher dies */
	int proxy_control;      /* pid 1's end of the built-in proxy's socket, or -1 */
	int go_r, go_w;         /* cgroup v1: pid 1 waits until the launcher has moved it in; -1 */
	int idmap_userns;       /* the mapping of idmapped projects (plan.idmap), or -1 */
	const char *sandbox_id;
	const struct guard_state *guards; /* locks pid 1 keeps */
	struct secret_values *secrets;    /* written into /run/secrets by pid 1 */
};

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Pid 1 lives as long as the sandbox: it keeps only what it uses (and the
 * guard locks, so a sandbox that outlives its launcher keeps its guards),
 * not whatever descriptors the invoker passed to cordon. A pipe's write
 * end kept open here would keep its reader waiting until the sandbox
 * ends. */
static void close_inherited_fds(const struct sandbox_fds *f, const struct seccomp_job *filters)
{
	int keep[64];
	size_t n = 0;
	const int fixed[] = {f->status_w,     f->alive_r,     f->proxy_control,
	                     f->idmap_userns, filters->memfd, filters->sizes_r};
	for (size_t i = 0; i < N_ELEMENTS(fixed); i++)
		if (fixed[i] > 2)
			keep[n++] = fixed[i];
	for (size_t i = 0; f->guards && i < f->guards->n_locks && n < N_ELEMENTS(keep); i++)
		keep[n++] = f->guards->locks[i].fd;
	qsort(keep, n, sizeof(int), compare_ints);
	unsigned lo = 3;
	for (size_t i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)keep[i] : ~0U;
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0U) < 0)
			die_with_error("close inherited descriptors");
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
}

/* Runs in the new namespaces as pid 1; never returns. */
static void sandbox_child(const struct plan *pl, struct sandbox_fds *f, const sigset_t *saved_mask,
                          struct seccomp_job *filters)
{
	/* The placeholders are the launcher's to remove; pid 1 may even
	 * share its pid number (a launcher that is pid 1 of a container). */
	die_set_cleanup(NULL, NULL);
	die_status_fd = f->status_w;
	close(f->status_r);
	close(f->alive_w);
	if (f->go_r >= 0) {
		/* Nothing runs until the launcher has put us in the sandbox's
		 * cgroup(s) (v1 has no CLONE_INTO_CGROUP): a byte when it has,
		 * end of file when it could not (it dies with the reason). */
		char go;
		close(f->go_w);
		if (TEMP_FAILURE_RETRY_INT(read(f->go_r, &go, 1)) != 1)
			_exit(EXIT_SETUP);
		close(f->go_r);
		/* Our cgroup namespace was rooted where the launcher is; the
		 * sandbox sees its own cgroup as / (as CLONE_INTO_CGROUP does). */
		if ((pl->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
			die_with_error("limits: cgroup namespace");
	}
	close_inherited_fds(f, filters);

	if (pl->die_with_parent) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			die_with_error("die_with_parent: set parent-death signal");
		/* The launcher may have died before the line above. */
		struct pollfd p = {.fd = f->alive_r, .events = POLLIN};
		if (poll(&p, 1, 0) != 0)
			_exit(EXIT_SETUP);
	}
	close(f->alive_r);

	/* The id maps are written through /proc/self, which stops being ours
	 * once we are non-dumpable; so maps first. */
	if (pl->clone_flags & CLONE_NEWUSER)
		setup_user_namespace(pl);
	/* Nothing inside may ptrace or read the memory of pid 1. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_with_error("set non-dumpable");
	setup_uts_and_net(pl);
	if (pl->net.mode == NET_PROXY) {
		/* The control socket stays open in pid 1 for the sandbox's
		 * life: its end tells the proxy the sandbox is gone. */
		int control = pl->net.socket ? relay_connect_external(pl->net.socket, f->sandbox_id) : f->proxy_control;
		int relay = relay_listen(pl->net.port);
		relay_hand_over(relay, control);
		close(relay);
	}
	mounts_apply(pl, f->idmap_userns, f->secrets);
	/* The values are in their files now; pid 1 outlives the setup. */
	secrets_clear(f->secrets);
	if (f->idmap_userns >= 0)
		close(f->idmap_userns);
	if (chdir(pl->cwd) < 0)
		die_with_error("chdir %s", pl->cwd);
	seccomp_receive(filters);

	/* vfork: the child only drops privileges and execs, and pid 1 has
	 * nothing to do until it has; sharing memory for that moment saves
	 * copying page tables on every launch. */
	pid_t child = vfork(); // NOLINT(clang-analyzer-security.insecureAPI.vfork): see above
	if (child < 0)
		die_with_error("fork the command");
	/* The child only drops privileges and execs. */
	if (child == 0)
		exec_command(pl, saved_mask, filters); // NOLINT(clang-analyzer-unix.Vfork)
	init_main(pl, child, saved_mask);
}

struct wait_result {
	int code;
	const char *reason;
};

/* The built-in proxy ended while the sandbox runs: the sandbox keeps
 * running without a way out (its listener went with the proxy), and the
 * user learns why connections are refused. */
static void report_proxy_exit(int status)
{
	if (WIFSIGNALED(status))
		warn_msg("egress: the proxy was killed by signal %d; the sandbox has no network from now on",
		         WTERMSIG(status));
	else
		warn_msg("egress: the proxy exited with status %d; the sandbox has no network from now on",
		         WEXITSTATUS(status));
}

static struct wait_result wait_sandbox(const struct plan *pl, pid_t pid, pid_t *proxy, const sigset_t *mask)
{
	int sfd = signalfd(-1, mask, SFD_CLOEXEC);
	if (sfd < 0) {
		kill(pid, SIGKILL);
		die_with_error("signalfd");
	}
	int tfd = -1;
	if (pl->timeout_ms) {
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (tfd < 0 || !timer_arm(tfd, pl->timeout_ms + TIMEOUT_GRACE_MS + BACKSTOP_MS)) {
			kill(pid, SIGKILL);
			die_with_error("timeout: timer");
		}
	}
	bool backstop = false, parent_died = false;
	int status = 0;
	for (;;) {
		struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
		if (poll(fds, tfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			kill(pid, SIGKILL);
			die_with_error("poll");
		}
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD &&
			    (int)si.ssi_code <= 0)
				kill(pid, (int)si.ssi_signo); /* the tty already told the command */
			if (si.ssi_signo == (uint32_t)SIG_PARENT_DIED) {
				/* die_with_parent: whoever started us is gone. */
				parent_died = true;
				kill(pid, SIGKILL);
			}
			pid_t r = waitpid(pid, &status, WNOHANG);
			int proxy_status;
			if (*proxy > 0 && waitpid(*proxy, &proxy_status, WNOHANG) == *proxy) {
				*proxy = -1;
				/* The proxy ends cleanly when pid 1's end of its socket
				 * closes, which pid 1 does as it exits, just before it
				 * can be reaped: that is the sandbox's end, not news. */
				if (r != pid && (WIFSIGNALED(proxy_status) || WEXITSTATUS(proxy_status) != 0))
					report_proxy_exit(proxy_status);
			}
			if (r == pid)
				break;
		}
		if (tfd >= 0 && (fds[1].revents & POLLIN)) {
			uint64_t t;
			if (read(tfd, &t, sizeof(t)) == sizeof(t)) {
				backstop = true;
				kill(pid, SIGKILL);
			}
		}
	}
	close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (WIFEXITED(status)) {
		int c = WEXITSTATUS(status);
		return (struct wait_result){c, c == EXIT_TIMEOUT && pl->timeout_ms ? "timeout" : "exit"};
	}
	if (backstop)
		return (struct wait_result){EXIT_TIMEOUT, "timeout"};
	if (parent_died)
		return (struct wait_result){128 + SIGKILL, "parent_died"};
	return (struct wait_result){128 + WTERMSIG(status), "signal"};
}

static char *read_status(int fd)
{
	buf_t b = {0};
	char tmp[512];
	ssize_t r;
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)r);
	if (b.len && b.p[b.len - 1] == '\n')
		b.p[--b.len] = '\0';
	return b.p;
}

/* mode = proxy without socket =: a proxy of this sandbox's own, in its own
 * process outside the sandbox's namespaces, started before them so it is
 * ready when the command starts. Pid 1 gets the other end of a socket
 * pair: there is no path for anyone else to connect to. */
static pid_t start_builtin_proxy(const struct plan *pl, const struct audit *audit, struct sandbox_fds *f)
{
	if (pl->net.mode != NET_PROXY || pl->net.socket)
		return 0;
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		die_with_error("egress: socketpair");
	pid_t pid = fork();
	if (pid < 0)
		die_with_error("egress: start the proxy");
	if (pid == 0) {
		/* Out of the terminal's process group: a Ctrl-C meant for the
		 * command must not take its network away. */
		setsid();
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			die_with_error("egress: set parent-death signal");
		close(pair[1]);
		close(f->status_r);
		close(f->status_w);
		close(f->alive_r);
		close(f->alive_w);
		for (size_t i = 0; f->guards && i < f->guards->n_locks; i++)
			close(f->guards->locks[i].fd);
		if (f->guards && f->guards->record_fd >= 0)
			close(f->guards->record_fd);
		secrets_clear(f->secrets); /* the proxy has no use for them */
		struct proxy_config cfg = {
		    .net = &pl->net,
		    .audit_fd = audit->fd,
		    .privileged = pl->privileged,
		    .control_fd = pair[0],
		    .sandbox_id = audit->id,
		    .uid = pl->invoker_uid,
		    .listen_fd = -1,
		};
		proxy_run(&cfg);
	}
	close(pair[0]);
	f->proxy_control = pair[1];
	return pid;
}

/* Idmapped projects: the user namespace of the mapping, made here on the
 * host side because its maps are written through /proc/PID, which pid 1
 * (in its own pid namespace, with the host's /proc) could not name. After
 * the proxy has started, which has no use for it; pid 1 inherits it. */
static void make_idmap(const struct plan *pl, struct sandbox_fds *f)
{
	if (!pl->idmap)
		return;
	const char *step = NULL;
	f->idmap_userns = idmap_userns(pl->idmap_uid, pl->idmap_gid, pl->run_uid, pl->run_gid, &step);
	if (f->idmap_userns < 0) {
		int err = errno;
		cleanup_free char *hint = idmap_hint();
		if (hint)
			die("idmap: map uid %u to %u: %s: %s; %s", (unsigned)pl->idmap_uid, (unsigned)pl->run_uid, step,
			    strerror(err), hint);
		errno = err;
		die_with_error("idmap: map uid %u to %u: %s", (unsigned)pl->idmap_uid, (unsigned)pl->run_uid, step);
	}
}

/* The launcher's parent when cordon started: die_with_parent watches it. */
static pid_t original_parent;

/* die_with_parent, as bubblewrap's --die-with-parent: when the process
 * that started cordon dies (a CI runner or a wrapper killed mid-job), the
 * sandbox ends too. The kernel tells us with a signal we read like the
 * others, so the launcher still cleans up and writes its exit record. */
static void watch_parent(const struct plan *pl, sigset_t *mask)
{
	if (!pl->die_with_parent)
		return;
	sigaddset(mask, SIG_PARENT_DIED);
	if (prctl(PR_SET_PDEATHSIG, SIG_PARENT_DIED, 0, 0, 0) < 0)
		die_with_error("die_with_parent: set parent-death signal");
}

/* Under sudo the shared proxy the policy names must be root's to replace:
 * a socket in a directory the invoker can write could be their own proxy,
 * with their own allow list. */
static void check_runner_socket(const struct plan *pl)
{
	if (!pl->runner || !pl->net.socket)
		return;
	cleanup_free char *dir = xstrdup(pl->net.socket);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	cleanup_free char *why = NULL;
	cleanup_fd int dfd = open_root_owned(dir, O_PATH | O_DIRECTORY, &why);
	if (dfd < 0)
		die("egress: under sudo the proxy socket's directory must be root's: %s", why);
	struct stat st;
	const char *name = strrchr(pl->net.socket, '/') + 1;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		die_with_error("egress: the proxy socket %s", pl->net.socket);
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
		die("egress: under sudo the proxy socket %s must be a socket of root's", pl->net.socket);
}

/* The line and the audit reason of an OOM kill: the policy's own text of
 * the limit. The command's status stays its own (137 when the OOM killer
 * took it); reason oom when the run ended by a SIGKILL. */
static const char *report_limits(const struct plan *pl, const struct cgroup_stats *st, int code, const char *reason)
{
	if (st->oom_kills) {
		warn_msg("memory limit %s reached (oom kill)", pl->memory_text ? pl->memory_text : "?");
		if (code == 128 + SIGKILL)
			return "oom";
	}
	return reason;
}

/* For the audit: the cgroup(s) this run's limits live in. */
static void record_cgroup(struct plan *pl, const struct cgroup *cg)
{
	if (!cg->version)
		return;
	buf_t b = {0};
	buf_printf(&b, "v%d:", cg->version);
	for (size_t i = 0; i < CG_N; i++)
		if (cg->path[i])
			buf_printf(&b, " %s", cg->path[i]);
	free(pl->cgroup_driver);
	pl->cgroup_driver = b.p;
}

static int run_plan(struct plan *pl, struct guard_state *gs)
{
	/* Fail before anything is built if Landlock is required and missing;
	 * the command's process checks again when it applies the rules. */
	pl->kernel_landlock_abi = landlock_abi();
	if (pl->landlock == LANDLOCK_REQUIRE && pl->kernel_landlock_abi < (int)pl->landlock_min_abi)
		die("landlock: required (ABI %u) but this kernel offers %s; set [landlock] mode = best-effort to run "
		    "without it",
		    pl->landlock_min_abi, pl->kernel_landlock_abi > 0 ? "less" : "none");

	check_runner_socket(pl);
	/* The size of every tmpfs when no memory limit gives one (mounts.c). */
	pl->host_ram_bytes = host_ram_bytes();

	struct audit audit;
	audit_open(&audit, pl);
	/* Every secret is read before anything starts: one that is missing
	 * or refused ends the run here (125), naming it. */
	struct secret_values secrets;
	secrets_load(pl, &secrets);

	sigset_t mask, saved;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	add_forwarded_signals(&mask);
	watch_parent(pl, &mask);
	/* An inherited SIG_IGN for SIGCHLD would make the kernel reap the
	 * sandbox behind our back. */
	signal(SIGCHLD, SIG_DFL);
	if (sigprocmask(SIG_BLOCK, &mask, &saved) < 0)
		die_with_error("block signals");
	if (pl->die_with_parent && getppid() != original_parent)
		die("die_with_parent: the process that started cordon is gone");

	int sp[2], ap[2];
	if (pipe2(sp, O_CLOEXEC) < 0 || pipe2(ap, O_CLOEXEC) < 0)
		die_with_error("pipe");
	struct sandbox_fds f = {.status_r = sp[0],
	                        .status_w = sp[1],
	                        .alive_r = ap[0],
	                        .alive_w = ap[1],
	                        .proxy_control = -1,
	                        .go_r = -1,
	                        .go_w = -1,
	                        .idmap_userns = -1,
	                        .sandbox_id = audit.id,
	                        .guards = gs,
	                        .secrets = &secrets};
	pid_t proxy = start_builtin_proxy(pl, &audit, &f);

	struct seccomp_job filters;
	seccomp_prepare(pl->seccomp, &filters);
	make_idmap(pl, &f);

	/* After the proxy started: it is not the sandbox and stays out. */
	struct cgroup cg;
	cgroup_create(pl, audit.id, &cg);
	record_cgroup(pl, &cg);
	if (cg.need_move) {
		int gp[2];
		if (pipe2(gp, O_CLOEXEC) < 0)
			die_with_error("pipe");
		f.go_r = gp[0];
		f.go_w = gp[1];
	}

	placeholders_create(pl, gs, audit.id);

	long long start = now_ms();
	pid_t pid = spawn_sandbox(pl->clone_flags, cg.clone_fd);
	if (pid < 0)
		die_namespaces("create namespaces", pl->clone_flags & CLONE_NEWUSER); /* removes the placeholders */
	if (pid == 0)
		sandbox_child(pl, &f, &saved, &filters);
	/* Pid 1 has its own copy; the launcher needs none. */
	secrets_clear(&secrets);
	if (cg.need_move) {
		/* Pid 1 waits for this byte (sandbox_child); if we die first it
		 * reads end of file and exits, having run nothing. */
		close(f.go_r);
		cgroup_enter(&cg, pid);
		if (write_all(f.go_w, "g", 1) < 0)
			die_with_error("limits: release pid 1");
		close(f.go_w);
	}

	if (filters.sizes_r >= 0)
		close(filters.sizes_r);
	struct diags refused = {0};
	if (!seccomp_export(pl->seccomp, &filters, &refused))
		kill(pid, SIGKILL); /* it is waiting for the filter: nothing ran */
	if (refused.n)
		diags_print(&refused, STDERR_FILENO);
	close(f.status_w);
	close(f.alive_r);
	if (f.proxy_control >= 0)
		close(f.proxy_control);
	if (f.idmap_userns >= 0)
		close(f.idmap_userns);
	audit_sandbox_start(&audit);

	struct wait_result w = wait_sandbox(pl, pid, &proxy, &mask);
	if (proxy > 0) {
		/* Its records of the sandbox's connections come before the
		 * sandbox's exit record. */
		kill(proxy, SIGTERM);
		while (waitpid(proxy, NULL, 0) < 0 && errno == EINTR)
			;
	}
	guards_finish(gs);
	/* Pid 1 is reaped: its namespace and every process in it are gone,
	 * so the cgroup is empty and can go. */
	struct cgroup_stats cgs;
	cgroup_finish(&cg, &cgs);

	cleanup_free char *failure = read_status(f.status_r);
	close(f.status_r);
	close(f.alive_w);
	if (refused.n) {
		/* Pid 1 died of our SIGKILL: the status is the refusal's. */
		w.code = EXIT_SETUP;
		free(failure);
		const struct diag *r = &refused.v[0];
		failure = r->line > 0 ? xasprintf("%s:%d: %s", r->file, r->line, r->msg)
		                      : xasprintf("%s: %s", r->file, r->msg);
		diags_free(&refused);
	}
	const char *reason = report_limits(pl, &cgs, w.code, w.reason);
	if (failure && *failure)
		reason = (w.code == EXIT_NOTFOUND || w.code == EXIT_NOEXEC) ? "exec_failed" : "setup_failed";
	audit.limits = &cgs;
	audit_sandbox_exit(&audit, w.code, reason, failure && *failure ? failure : NULL, now_ms() - start);
	if (audit.fd >= 0)
		close(audit.fd);
	return w.code;
}

static struct plan *build_plan_or_die(const struct policy *p, const struct invocation_storage *inv)
{
	struct diags d = {0};
	struct plan *pl = plan_build(p, &inv->inv, &host_ops, &d);
	if (!pl) {
		diags_print(&d, STDERR_FILENO);
		exit(EXIT_SETUP);
	}
	const char *refusal = pl->refusal;
	if (!refusal && !pl->argv[0])
		refusal = "no command: give one after -- or set [sandbox] command";
	if (refusal) {
		audit_sandbox_refused(pl, inv->inv.cwd, refusal);
		die("%s", refusal);
	}
	return pl;
}

/* The plan decides, path by path, what to guard and whether a placeholder
 * is needed; it must not change before the sandbox is built. Once this
 * run holds its locks no other run's cleanup can remove a guarded path, so
 * the plan is checked again under them (and made again if a path went
 * away in between). */
static struct plan *build_locked_plan(const struct policy *p, const struct invocation_storage *inv,
                                      struct guard_state *gs)
{
	struct plan *pl = build_plan_or_die(p, inv);
	for (int attempt = 0;; attempt++) {
		guards_lock(pl, gs);
		if (guards_still_valid(pl))
			return pl;
		guards_unlock(gs);
		plan_free(pl);
		if (attempt == 5)
			die("guards: the guarded paths kept changing while the sandbox was being set up");
		pl = build_plan_or_die(p, inv);
	}
}

int cmd_run(int argc, char **argv)
{
	original_parent = getppid();
	command_umask = umask(022);
	umask(command_umask);
	struct run_options o;
	if (!parse_run_options(argc, argv, &o))
		return EXIT_SETUP;

	struct diags d = {0};
	struct policy *p = policy_open(o.policy ? o.policy : "default", &d, NULL);
	if (!p) {
		diags_print(&d, STDERR_FILENO);
		return EXIT_SETUP;
	}
	struct invocation_storage inv;
	invocation_gather(&inv, p, o.command, o.projects.v);
	placeholders_prepare(inv.inv.privileged, inv.home);
	placeholders_sweep(inv.inv.privileged, inv.home);
	struct guard_state gs;
	guard_state_init(&gs);
	struct plan *pl = build_locked_plan(p, &inv, &gs);
	command_host_lookup(pl, inv.inv.environ);
	for (char **w = pl->warnings; *w; w++)
		warn_msg("%s", *w);
	int code = run_plan(pl, &gs);
	plan_free(pl);
	invocation_release(&inv);
	policy_free(p);
	free(o.projects.v); /* the strings belong to argv */
	return code;
}
