/* `cordon doctor`: what this kernel and host support, and what a policy
 * loses where something is missing. Every check probes the feature itself
 * (a real syscall) rather than guessing from version numbers. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <linux/landlock.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cordon.h"

/* The overflow id, for a mapping made only to be tried. */
#define NOBODY_ID 65534

struct check {
	const char *name;
	bool ok;
	bool required;
	char *detail;
	const char *impact; /* what a policy loses without it */
};

struct report {
	struct check *v;
	size_t n;
};

static void add(struct report *r, const char *name, bool ok, bool required, const char *impact, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void add(struct report *r, const char *name, bool ok, bool required, const char *impact, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = (struct check){name, ok, required, xvasprintf(fmt, ap), impact};
	va_end(ap);
}

/* Tries the real thing in a child: unshare a user namespace as ourselves. */
static bool probe_userns(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void check_userns(struct report *r)
{
	long max = read_long_file("/proc/sys/user/max_user_namespaces");
	long clone = read_long_file("/proc/sys/kernel/unprivileged_userns_clone");
	bool works = probe_userns();
	bool privileged = geteuid() == 0;
	add(r, "user_namespaces", works || privileged, !privileged,
	    "unprivileged use is impossible; run cordon as root (sudo runner) instead",
	    "%s; user.max_user_namespaces=%ld%s%s", works ? "creating one works" : "creating one FAILED", max,
	    clone >= 0
	        ? (clone ? "; kernel.unprivileged_userns_clone=1" : "; kernel.unprivileged_userns_clone=0 (set to 1)")
	        : "",
	    max == 0 ? " (set user.max_user_namespaces > 0)" : "");
}

/* Ubuntu's restriction (hints.c): whether this binary may make user
 * namespaces under it, and what to do if not. */
static void check_apparmor(struct report *r)
{
	struct apparmor_state s;
	apparmor_probe(&s);
	bool ok;
	char *text = apparmor_describe(&s, &ok);
	add(r, "apparmor", ok, false, "an unprivileged run cannot make its user namespace (a root run can)", "%s",
	    text);
	free(text);
	/* A container's default profile (docker-default) refuses mounts. */
	cleanup_free char *profile = apparmor_confining_profile();
	if (profile)
		add(r, "apparmor_profile", false, false, "the sandbox's mounts may be refused (125 at the first)",
		    "cordon runs under the AppArmor profile %s: a container's default profile refuses mounts; run "
		    "the container with --security-opt apparmor=unconfined (Kubernetes: appArmorProfile type "
		    "Unconfined) or a profile that allows mounts",
		    profile);
	else
		add(r, "apparmor_profile", true, false, NULL, "not confined by an AppArmor profile");
}

enum { PROBE_OK, PROBE_NAMESPACES, PROBE_PROC };

/* What a run does first, tried in children: the sandbox's namespaces (a
 * user namespace among them unless root, as plan.c decides), then a new
 * proc file system as pid 1 of the new pid namespace (mounts.c). Returns
 * the step that failed, its errno in *err. */
static int probe_sandbox(bool userns, int *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = errno;
		return PROBE_NAMESPACES;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		int res[2] = {PROBE_NAMESPACES, 0};
		int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWNET;
		if (unshare(flags | (userns ? CLONE_NEWUSER : 0)) < 0) {
			res[1] = errno;
			(void)write_all(p[1], res, sizeof(res));
			_exit(0);
		}
		pid_t init = fork(); /* pid 1 of the new pid namespace */
		if (init == 0) {
			res[0] = PROBE_PROC;
			int fs = fsopen("proc", FSOPEN_CLOEXEC);
			int m =
			    fs >= 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0
			        ? fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
			        : -1;
			if (m < 0)
				res[1] = errno;
			else
				res[0] = PROBE_OK;
			(void)write_all(p[1], res, sizeof(res));
			_exit(0);
		}
		if (init < 0) {
			res[1] = errno;
			(void)write_all(p[1], res, sizeof(res));
		}
		while (init > 0 && waitpid(init, NULL, 0) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[1]);
	int res[2] = {PROBE_NAMESPACES, pid < 0 ? errno : ECHILD};
	if (pid > 0) {
		if (TEMP_FAILURE_RETRY_INT(read(p[0], res, sizeof(res))) != (long)sizeof(res))
			res[0] = PROBE_NAMESPACES;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close(p[0]);
	*err = res[1];
	return res[0];
}

static void check_sandbox(struct report *r)
{
	bool userns = geteuid() != 0;
	int err = 0;
	int failed = probe_sandbox(userns, &err);
	const char *which = userns ? "a user namespace and the rest" : "as root: no user namespace";
	if (failed == PROBE_NAMESPACES) {
		cleanup_free char *hint = namespaces_hint(err, userns);
		add(r, "sandbox_ns", false, true, "no run can start here: each fails with 125",
		    "creating a sandbox's namespaces (%s) FAILED: %s%s%s", which, strerror(err), hint ? "; " : "",
		    hint ? hint : "");
		return;
	}
	add(r, "sandbox_ns", true, true, NULL, "creating a sandbox's namespaces (%s) works", which);
	if (failed == PROBE_PROC && err == EPERM) {
		cleanup_free char *hint = proc_mount_hint();
		add(r, "proc", false, true, "no run can start here: each fails with 125", "a new /proc FAILED: %s; %s",
		    strerror(err), hint);
	} else if (failed == PROBE_PROC)
		add(r, "proc", false, true, "no run can start here: each fails with 125", "a new /proc FAILED: %s",
		    strerror(err));
	else
		add(r, "proc", true, true, NULL, "a new /proc in them works");
}

static void check_landlock(struct report *r)
{
	int abi = landlock_abi();
	if (abi > 0)
		add(r, "landlock", true, false, NULL, "ABI %d", abi);
	else
		add(r, "landlock", false, false,
		    "policies with [landlock] mode = require refuse to run; best-effort runs without the second "
		    "filesystem wall",
		    "%s",
		    abi == -EOPNOTSUPP ? "built in but disabled (add landlock to the lsm= boot parameter)"
		                       : "not supported by this kernel");
}

static void check_seccomp(struct report *r)
{
	unsigned action = SECCOMP_RET_ERRNO;
	long ok = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
	add(r, "seccomp", ok == 0, true, "no syscall filtering: the kernel attack surface stays open",
	    ok == 0 ? "filter mode available" : "unavailable: %s", ok == 0 ? "" : strerror(errno));
}

static void check_mount_api(struct report *r)
{
	/* Invalid arguments: EINVAL/EBADF means the syscall exists. */
	errno = 0;
	long a = syscall(SYS_mount_setattr, -1, "", 0, NULL, 0);
	bool setattr = a < 0 && errno != ENOSYS;
	errno = 0;
	long b = syscall(SYS_open_tree, -1, "", 0);
	bool tree = b < 0 && errno != ENOSYS;
	errno = 0;
	long c = syscall(SYS_openat2, -1, "", NULL, 0);
	bool oa2 = c < 0 && errno != ENOSYS;
	add(r, "mount_api", setattr && tree, true, "cordon cannot build a root (needs Linux 5.12 or later)",
	    "open_tree/move_mount %s, mount_setattr %s", tree ? "present" : "MISSING", setattr ? "present" : "MISSING");
	add(r, "openat2", oa2, true, "paths cannot be resolved safely (needs Linux 5.6 or later)", "%s",
	    oa2 ? "present" : "MISSING");
}

static void check_pidfd(struct report *r)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	add(r, "pidfd", fd >= 0, false, "nothing today; reserved for race-free process tracking", "%s",
	    fd >= 0 ? "present" : strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void check_cgroups(struct report *r)
{
	struct statfs sf;
	bool v2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
	bool hybrid = !v2 && statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
	bool v1_mem = access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0;
	bool v1_pids = access("/sys/fs/cgroup/pids", F_OK) == 0;
	add(r, "cgroups", v2 || (v1_mem && v1_pids), false,
	    "[limits] memory, pids and cpu cannot be enforced; such policies refuse to run", "%s%s%s",
	    v2       ? "cgroup v2 unified"
	    : hybrid ? "hybrid (v2 at /sys/fs/cgroup/unified)"
	             : "no cgroup v2",
	    v1_mem ? "; v1 memory" : "", v1_pids ? "; v1 pids" : "");
	/* Per limit, as run would decide it for this user (cgroup.c). */
	static const char *const names[CG_N] = {
	    [CG_MEMORY] = "limit memory", [CG_PIDS] = "limit pids", [CG_CPU] = "limit cpu"};
	for (unsigned c = 0; c < CG_N; c++) {
		cleanup_free char *how = NULL;
		bool ok = cgroup_can_apply((enum cg_controller)c, &how);
		add(r, names[c], ok, false, "a policy that sets it refuses to run (125) for this user on this host",
		    "%s%s", ok ? "cgroup " : "", how ? how : "?");
	}
}

#define IDMAP_IMPACT "a root run with user = NAME refuses a project here: the account cannot be made its owner"

/* Idmapped projects are a root run's (user = NAME), made as root: the
 * user namespace of a mapping is made for real, and each project root's
 * file system tried with it (check_root). Returns its fd, or -1. */
static int check_idmap(struct report *r)
{
	if (geteuid() != 0) {
		add(r, "idmapped_mounts", true, false, NULL,
		    "not tried: they are made as root (user = NAME, the sudo runner); run doctor as root to try them");
		return -1;
	}
	const char *step = NULL;
	int userns = idmap_userns(NOBODY_ID, NOBODY_ID, NOBODY_ID, NOBODY_ID, &step);
	if (userns < 0)
		add(r, "idmapped_mounts", false, false, IDMAP_IMPACT, "making a mapping FAILED: %s: %s", step,
		    strerror(errno));
	else
		add(r, "idmapped_mounts", true, false, NULL,
		    "making a mapping works; each project root is tried below");
	return userns;
}

/* An idmapped clone of root, as a run makes it, detached and dropped. */
static void check_root_idmap(struct report *r, const char *root, int userns)
{
	struct statfs sf;
	char buf[FS_NAME_MAX];
	const char *fs = statfs(root, &sf) == 0 ? fs_type_name(sf.f_type, buf) : "an unknown file system";
	cleanup_fd int tree = open_tree(AT_FDCWD, root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree >= 0 && idmap_tree(tree, userns))
		add(r, "project_idmap", true, false, NULL, "%s: an idmapped mount works (%s)", root, fs);
	else
		add(r, "project_idmap", false, false, IDMAP_IMPACT,
		    "%s: an idmapped mount FAILED on %s (or below it): %s", root, fs, strerror(errno));
}

/* libmount, loaded here only: linked into cordon, it and what it needs
 * (libblkid, libselinux, libpcre2) would be mapped by every launch, which
 * maps nothing but libc (docs/architecture.md). */
struct libmount {
	void *handle;
	__typeof__(mnt_new_table) *new_table;
	__typeof__(mnt_table_parse_file) *parse_file;
	__typeof__(mnt_table_find_mountpoint) *find_mountpoint;
	__typeof__(mnt_fs_get_fstype) *fstype;
	__typeof__(mnt_fs_get_target) *target;
	__typeof__(mnt_fs_is_netfs) *is_netfs;
	__typeof__(mnt_unref_table) *unref_table;
};

/* The mount table, or NULL (and why in *why). */
static struct libmnt_table *mount_table(struct libmount *m, const char **why)
{
	m->handle = dlopen("libmount.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!m->handle) {
		*why = "libmount.so.1 cannot be loaded";
		return NULL;
	}
#define SYM(field, name) ((m->field = (__typeof__(m->field))dlsym(m->handle, name)) != NULL)
	if (!SYM(new_table, "mnt_new_table") || !SYM(parse_file, "mnt_table_parse_file") ||
	    !SYM(find_mountpoint, "mnt_table_find_mountpoint") || !SYM(fstype, "mnt_fs_get_fstype") ||
	    !SYM(target, "mnt_fs_get_target") || !SYM(is_netfs, "mnt_fs_is_netfs") ||
	    !SYM(unref_table, "mnt_unref_table")) {
		*why = "libmount.so.1 lacks a function cordon uses";
		return NULL;
	}
#undef SYM
	struct libmnt_table *tb = m->new_table();
	if (!tb || m->parse_file(tb, "/proc/self/mountinfo") != 0) {
		if (tb)
			m->unref_table(tb);
		*why = "/proc/self/mountinfo cannot be read";
		return NULL;
	}
	return tb;
}

#define ROOT_FS_IMPACT                                                                                                 \
	"placeholders (mask, protect) need flock; network filesystems may not support it, FUSE ones only as their "    \
	"server does, and idmapped mounts (runner mode) do not work on them"

/* One project root: its filesystem (libmount: the mount it is on, the
 * last mounted if several), whether flock works there (tried), and as
 * root whether it can be idmapped (tried). */
static void check_root(struct report *r, const struct libmount *m, struct libmnt_table *tb, const char *root,
                       int userns)
{
	struct libmnt_fs *fs = m->find_mountpoint(tb, root, MNT_ITER_BACKWARD);
	const char *type = fs ? m->fstype(fs) : NULL;
	const char *target = fs ? m->target(fs) : NULL;
	bool remote = fs && (m->is_netfs(fs) || (type && str_has_prefix(type, "fuse")));
	cleanup_fd int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
	/* EWOULDBLOCK: another process holds it exclusively, so flock works. */
	bool locks = fd >= 0 && (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno == EWOULDBLOCK);
	const char *lock_error = locks ? NULL : strerror(errno);
	add(r, "project_root", !remote && !lock_error, false, ROOT_FS_IMPACT, "%s: %s on %s%s%s%s", root,
	    type ? type : "unknown filesystem", target ? target : "an unknown mount",
	    remote ? " (a network or FUSE filesystem)" : "", lock_error ? "; flock FAILED: " : "",
	    lock_error ? lock_error : "");
	if (userns >= 0)
		check_root_idmap(r, root, userns);
}

/* The project roots of the policy run uses without --policy ("default"),
 * as a run from here would allow them. */
static void check_project_roots(struct report *r, int userns)
{
	struct diags d = {0};
	cleanup_free char *path = NULL;
	struct policy *p = policy_open("default", &d, &path);
	if (!p) {
		const struct diag *first = d.n ? &d.v[0] : NULL;
		if (first && first->line > 0)
			add(r, "project_root", true, false, NULL, "policy default: %s:%d: %s; not checked", first->file,
			    first->line, first->msg);
		else
			add(r, "project_root", true, false, NULL, "policy default: %s: %s; not checked", path,
			    first ? first->msg : "cannot be read");
		diags_free(&d);
		return;
	}
	static char *no_cmd[] = {NULL};
	struct invocation_storage inv;
	invocation_gather(&inv, p, no_cmd, NULL);
	struct plan *pl = plan_build(p, &inv.inv, &host_ops, &d);
	struct libmount m = {0};
	const char *why = NULL;
	struct libmnt_table *tb = NULL;
	if (!pl)
		add(r, "project_root", true, false, NULL, "policy %s is invalid (see cordon check); not checked", path);
	else if (!pl->allowed_roots[0])
		add(r, "project_root", true, false, NULL, "policy %s: no project root exists here", path);
	else if (!(tb = mount_table(&m, &why)))
		add(r, "project_root", false, false, ROOT_FS_IMPACT, "%s; not checked", why);
	else
		for (char **root = pl->allowed_roots; *root; root++)
			check_root(r, &m, tb, *root, userns);
	if (tb)
		m.unref_table(tb);
	if (m.handle)
		dlclose(m.handle);
	diags_free(&d);
	plan_free(pl);
	invocation_release(&inv);
	policy_free(p);
}

int cmd_doctor(int argc, char **argv)
{
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	if (argc > 2 || (argc == 2 && !json)) {
		fputs("usage: cordon doctor [--json]\n", stderr);
		return 2;
	}
	struct report r = {0};
	check_userns(&r);
	check_apparmor(&r);
	check_sandbox(&r);
	check_mount_api(&r);
	check_seccomp(&r);
	check_landlock(&r);
	check_cgroups(&r);
	int userns = check_idmap(&r);
	check_pidfd(&r);
	check_project_roots(&r, userns);
	if (userns >= 0)
		close(userns);

	bool all = true;
	for (size_t i = 0; i < r.n; i++)
		all &= r.v[i].ok || !r.v[i].required;
	struct utsname u;
	uname(&u);

	buf_t b = {0};
	if (json) {
		buf_puts(&b, "{\"kernel\":");
		buf_json_str(&b, u.release);
		buf_printf(&b, ",\"landlock_abi\":%d,\"ok\":%s,\"checks\":[", landlock_abi() > 0 ? landlock_abi() : 0,
		           all ? "true" : "false");
		for (size_t i = 0; i < r.n; i++) {
			buf_printf(&b, "%s{\"name\":", i ? "," : "");
			buf_json_str(&b, r.v[i].name);
			buf_printf(&b, ",\"ok\":%s,\"required\":%s,\"detail\":", r.v[i].ok ? "true" : "false",
			           r.v[i].required ? "true" : "false");
			buf_json_str(&b, r.v[i].detail);
			buf_puts(&b, ",\"impact\":");
			if (r.v[i].ok || !r.v[i].impact)
				buf_puts(&b, "null");
			else
				buf_json_str(&b, r.v[i].impact);
			buf_puts(&b, "}");
		}
		buf_puts(&b, "]}\n");
	} else {
		buf_printf(&b, "kernel %s\n", u.release);
		for (size_t i = 0; i < r.n; i++) {
			buf_printf(&b, "%-5s %-16s %s%s\n", r.v[i].ok ? "ok" : (r.v[i].required ? "FAIL" : "warn"),
			           r.v[i].name, r.v[i].detail, r.v[i].required ? "" : " (optional)");
			if (!r.v[i].ok && r.v[i].impact)
				buf_printf(&b, "      %-16s without it: %s\n", "", r.v[i].impact);
		}
		buf_printf(&b, "%s\n",
		           all ? "everything cordon requires is present" : "something cordon requires is missing");
	}
	fputs(b.p, stdout);
	buf_free(&b);
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i].detail);
	free(r.v);
	return all ? 0 : 1;
}
