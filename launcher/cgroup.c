/* [limits] memory, pids and cpu through cgroups: detection, the v2 and v1
 * drivers, removal, and the sweep of what a killed launcher left.
 *
 * The whole sandbox lives in one cgroup made for it (one per hierarchy
 * under v1), named by its sandbox id under a `cordon` directory:
 *
 *   v2, as root      <unified mount>/cordon/ID, controllers enabled on the
 *                    way down through cgroup.subtree_control
 *   v2, delegated    <the launcher's own cgroup>/cordon/ID, when that
 *                    cgroup is writable by the invoker (a container, a
 *                    delegated CI slice)
 *   v2, systemd      a transient scope, cordon-ID.scope, that the user's
 *                    systemd makes for pid 1 with the limits as its
 *                    properties and delegates to the user: unprivileged,
 *                    when the launcher's own cgroup is not writable and a
 *                    user bus is reachable (never under sudo)
 *   v1               <the launcher's own cgroup in that controller's
 *                    hierarchy>/cordon/ID, so the limits the machine put
 *                    above us still apply; as root, or where the invoker
 *                    was given that directory
 *
 * Under v2 pid 1 is created inside it (clone3 CLONE_INTO_CGROUP); under v1
 * the launcher writes pid 1 into it before pid 1 does anything (run.c
 * holds pid 1 until then). A limit the policy sets that no driver can
 * apply refuses the run (125) with the reason and the way out.
 *
 * Every run holds an exclusive flock on its cgroup directories for its
 * life. A run's cgroups are removed (rmdir: the kernel refuses a cgroup
 * that still has processes) when its sandbox is gone; cgroups whose run
 * died (its lock is free) and which are empty are removed by the next run
 * that uses the same place. Nothing here kills a process. */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

/* The types only: libsystemd is loaded (dlopen) by the systemd driver
 * alone, so other launches map no more than libc. */
#include <systemd/sd-bus.h>

#include "cordon.h"

#define CG_BASE     "cordon"
#define CPU_PERIOD  100000ULL
#define CG_FILE_MAX 4096

static const char *const controller_names[CG_N] = {[CG_MEMORY] = "memory", [CG_PIDS] = "pids", [CG_CPU] = "cpu"};

/* The controllers the plan's limits need. */
static unsigned needed(const struct plan *pl)
{
	return (pl->memory_bytes ? 1U << CG_MEMORY : 0) | (pl->pids ? 1U << CG_PIDS : 0) |
	       (pl->cpu_milli ? 1U << CG_CPU : 0);
}

static char *read_small(int dfd, const char *name)
{
	cleanup_fd int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char *buf = xmalloc(CG_FILE_MAX + 1);
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, CG_FILE_MAX - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0 || (got += (size_t)r) == CG_FILE_MAX)
			break;
	}
	buf[got] = '\0';
	return buf;
}

static char *read_path(const char *path)
{
	return read_small(AT_FDCWD, path);
}

/* Whether the word is one of the words (spaces, commas or newlines) of s. */
static bool has_word(const char *s, const char *word, const char *seps)
{
	size_t n = strlen(word);
	for (const char *p = s; p && *p;) {
		size_t k = strcspn(p, seps);
		if (k == n && strncmp(p, word, n) == 0)
			return true;
		p += k;
		p += strspn(p, seps);
	}
	return false;
}

/* "KEY N" in a flat keyed file (memory.events, pids.events, oom_control). */
static bool keyed_value(const char *s, const char *key, unsigned long long *out)
{
	size_t n = strlen(key);
	for (const char *p = s; p && *p;) {
		if (strncmp(p, key, n) == 0 && p[n] == ' ') {
			*out = strtoull(p + n + 1, NULL, 10);
			return true;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return false;
}

#ifdef CORDON_TEST_HOOKS
/* Test builds only (build/tests/bin/cordon-testhooks, never installed):
 * CORDON_TEST_CGROUP2 names a directory laid out like the root of a
 * cgroup2 hierarchy, which the v2 driver then uses instead of the host's
 * (this host's v2 tree has none of the controllers, which are bound to
 * v1). Refused under sudo and for anything on a real cgroup file system,
 * so even this binary cannot be pointed away from a hierarchy that would
 * apply the limits. */
static const char *test_cgroup2_root(void)
{
	const char *r = getenv("CORDON_TEST_CGROUP2");
	if (!r || !*r)
		return NULL;
	struct statfs sf;
	if (running_under_sudo())
		die("limits: CORDON_TEST_CGROUP2 is not honoured under sudo");
	if (statfs(r, &sf) < 0)
		die_with_error("limits: CORDON_TEST_CGROUP2 %s", r);
	if (sf.f_type == CGROUP2_SUPER_MAGIC || sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC)
		die("limits: CORDON_TEST_CGROUP2 %s is a real cgroup or sysfs file system", r);
	return r;
}
#else
static const char *test_cgroup2_root(void)
{
	return NULL;
}
#endif

/* The launcher's own cgroup in the hierarchy mounted with fstype and, for
 * v1, the controller among its super options: the mount point joined with
 * our path from /proc/self/cgroup relative to the mount's root. */
static char *own_dir(const char *fstype, const char *controller)
{
	cleanup_free char *cg = read_path("/proc/self/cgroup");
	if (!cg)
		return NULL;
	cleanup_free char *path = NULL;
	for (char *line = cg, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match = controller ? has_word(c1 + 1, controller, ",") : (strncmp(line, "0:", 2) == 0 && !c1[1]);
		if (match) {
			path = xstrdup(c2 + 1);
			break;
		}
	}
	if (!path)
		return NULL;
	/* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS */
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	char *line = NULL, *found = NULL;
	size_t cap = 0;
	while (!found && getline(&line, &cap, f) > 0) {
		char root[4096], mnt[4096], type[64], super[1024];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", type, super) != 2)
			continue;
		if (strcmp(type, fstype) != 0 || (controller && !has_word(super, controller, ",")))
			continue;
		if (strchr(mnt, '\\') || strchr(root, '\\'))
			continue; /* an escaped space or newline: not a cgroup mount we would use */
		size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
			continue; /* our cgroup is not below this mount's root */
		const char *rest = path + rl;
		found = xasprintf("%s%s", mnt, strcmp(rest, "/") == 0 ? "" : rest);
	}
	free(line);
	fclose(f);
	return found;
}

/* Asked of the kernel even as root: a container's root (uid 0 in a user
 * namespace) cannot write the host's cgroups, nor anyone a read-only
 * cgroup mount (access() says EROFS). */
static bool writable_by_us(const char *dir)
{
	return access(dir, W_OK | X_OK) == 0;
}

/* Why root cannot write dir, and the ways out: names, the limits. */
static char *root_cannot_write(const char *names, const char *dir)
{
	return xasprintf("%s: %s is not writable even by root here: this is a container's root, whose cgroups are not "
	                 "delegated to it (or are mounted read-only); set the limit on the container instead "
	                 "(Docker, Podman: --memory, --pids-limit, --cpus; Kubernetes: resources.limits) and "
	                 "remove %s from [limits], or run cordon where a cgroup is delegated to it",
	                 names, dir, names);
}

/* Where each needed controller can be applied, or why not. */
struct cg_choice {
	int version;        /* 1 or 2; 0: refused (why) */
	char *parent[CG_N]; /* v1: per controller; v2: parent[0], the directory cordon/ goes in */
	char *mnt;          /* v2: the hierarchy's root */
	bool fake;          /* v2 against a test directory (test builds) */
	bool systemd;       /* v2 through a scope the user's systemd makes */
	char *why;
};

static void choice_clear(struct cg_choice *c)
{
	for (size_t i = 0; i < CG_N; i++)
		free(c->parent[i]);
	free(c->mnt);
	free(c->why);
	memset(c, 0, sizeof(*c));
}

static void names_of(buf_t *b, unsigned mask)
{
	bool first = true;
	for (unsigned i = 0; i < CG_N; i++)
		if (mask & (1U << i)) {
			buf_printf(b, "%s%s", first ? "" : ", ", controller_names[i]);
			first = false;
		}
}

static char *limits_named(unsigned mask)
{
	buf_t b = {0};
	names_of(&b, mask);
	return b.p;
}

/* v2: the unified mount (pure or hybrid), and the directory under which
 * cordon/ is made: its root as root, else the launcher's own cgroup. */
static bool choose_v2(unsigned need, struct cg_choice *c)
{
	const char *test = test_cgroup2_root();
	char *own = NULL;
	if (test) {
		c->mnt = xstrdup(test);
		c->fake = true;
		own = xstrdup(test);
	} else {
		own = own_dir("cgroup2", NULL);
		if (!own)
			return false;
		struct statfs sf;
		const char *cands[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
		for (size_t i = 0; i < N_ELEMENTS(cands) && !c->mnt; i++)
			if (statfs(cands[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC &&
			    str_has_prefix(own, cands[i]))
				c->mnt = xstrdup(cands[i]);
		if (!c->mnt) {
			free(own);
			return false;
		}
	}
	const char *parent = geteuid() == 0 && !c->fake ? c->mnt : own;
	cleanup_free char *ctl_path = xasprintf("%s/cgroup.controllers", parent);
	cleanup_free char *ctl = read_path(ctl_path);
	for (unsigned i = 0; i < CG_N; i++)
		if ((need & (1U << i)) && !(ctl && has_word(ctl, controller_names[i], " \n"))) {
			free(own);
			return false;
		}
	c->version = 2;
	c->parent[0] = xstrdup(parent);
	free(own);
	return true;
}

/* The invoker's user bus, where its systemd listens: named by
 * DBUS_SESSION_BUS_ADDRESS, or the socket $XDG_RUNTIME_DIR/bus (what
 * sd_bus_open_user connects to). */
static bool user_bus_reachable(void)
{
	const char *a = getenv("DBUS_SESSION_BUS_ADDRESS");
	if (a && *a)
		return true;
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (!rt || *rt != '/')
		return false;
	cleanup_free char *sock = xasprintf("%s/bus", rt);
	struct stat st;
	return stat(sock, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool decide(const struct plan *pl, struct cg_choice *c)
{
	unsigned need = needed(pl);
	memset(c, 0, sizeof(*c));
	if (!need)
		return true;
	cleanup_free char *names = limits_named(need);
	if (choose_v2(need, c)) {
		if (!writable_by_us(c->parent[0]) && geteuid() != 0 && !running_under_sudo() && user_bus_reachable()) {
			c->systemd = true;
			return true;
		}
		if (!writable_by_us(c->parent[0]) && geteuid() == 0) {
			c->why = root_cannot_write(names, c->parent[0]);
			c->version = 0;
		} else if (!writable_by_us(c->parent[0])) {
			c->why = xasprintf("%s: cgroup v2 has the controllers, but %s is not writable by uid %u; run "
			                   "as root, start cordon "
			                   "in a cgroup delegated to this user (systemd-run --user --scope -p "
			                   "Delegate=yes), or remove %s "
			                   "from [limits]",
			                   names, c->parent[0], (unsigned)geteuid(), names);
			c->version = 0;
		}
		return c->version == 2;
	}
	free(c->mnt);
	c->mnt = NULL;
	c->version = 1;
	for (unsigned i = 0; i < CG_N; i++) {
		if (!(need & (1U << i)))
			continue;
		c->parent[i] = own_dir("cgroup", controller_names[i]);
		if (!c->parent[i]) {
			c->why = xasprintf(
			    "%s: this host has the cgroup %s controller in neither cgroup v2 nor v1; enable it "
			    "(or run on a host that has it), or remove %s from [limits]",
			    controller_names[i], controller_names[i], controller_names[i]);
			c->version = 0;
			return false;
		}
		if (!writable_by_us(c->parent[i]) && geteuid() == 0) {
			c->why = root_cannot_write(controller_names[i], c->parent[i]);
			c->version = 0;
			return false;
		}
		if (!writable_by_us(c->parent[i])) {
			c->why = xasprintf(
			    "%s: only cgroup v1 has the %s controller here, and %s is not writable by uid %u (no "
			    "cgroup "
			    "is delegated to this user); run as root, have an administrator delegate that directory to "
			    "this user, or remove %s from [limits]",
			    controller_names[i], controller_names[i], c->parent[i], (unsigned)geteuid(),
			    controller_names[i]);
			c->version = 0;
			return false;
		}
	}
	return true;
}

void cgroup_describe(struct plan *pl)
{
	struct cg_choice c;
	if (!needed(pl))
		return;
	if (!decide(pl, &c)) {
		pl->cgroup_refusal = xstrdup(c.why ? c.why : "no cgroup driver");
		choice_clear(&c);
		return;
	}
	buf_t b = {0};
	if (c.systemd) {
		buf_printf(&b, "v2 through systemd: ");
		names_of(&b, needed(pl));
		buf_printf(&b, " in the scope " CG_BASE "-ID.scope it delegates (user bus)");
	} else if (c.version == 2) {
		buf_printf(&b, "v2: ");
		names_of(&b, needed(pl));
		buf_printf(&b, " in %s/" CG_BASE "/ID%s", c.parent[0], c.fake ? " (test directory)" : "");
	} else {
		buf_puts(&b, "v1:");
		for (unsigned i = 0; i < CG_N; i++)
			if (c.parent[i])
				buf_printf(&b, "%s %s in %s/" CG_BASE "/ID", b.len > 3 ? ";" : "", controller_names[i],
				           c.parent[i]);
	}
	pl->cgroup_driver = b.p;
	choice_clear(&c);
}

bool cgroup_can_apply(enum cg_controller c, char **how)
{
	struct plan pl = {0};
	pl.memory_bytes = c == CG_MEMORY;
	pl.pids = c == CG_PIDS;
	pl.cpu_milli = c == CG_CPU;
	cgroup_describe(&pl);
	*how = pl.cgroup_driver ? pl.cgroup_driver : pl.cgroup_refusal;
	return pl.cgroup_driver != NULL;
}

/* Writes value to name in the cgroup open at dfd. A test directory has no
 * kernel to make the files: they are created there. */
static bool cg_write(const struct cgroup *cg, int dfd, const char *name, const char *value)
{
	int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_TRUNC | (cg->fake ? O_CREAT : 0);
	cleanup_fd int fd = openat(dfd, name, flags, 0644);
	if (fd < 0)
		return false;
	return write_all(fd, value, strlen(value)) >= 0;
}

static void cg_write_or_die(const struct cgroup *cg, int dfd, const char *dir, const char *name, const char *value)
{
	if (!cg_write(cg, dfd, name, value))
		die_with_error("limits: write %s to %s/%s", value, dir, name);
}

/* v2: each controller enabled for the children of dir, unless it is. */
static void enable_controllers(const struct cgroup *cg, const char *dir, unsigned need)
{
	cleanup_fd int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die_with_error("limits: open %s", dir);
	cleanup_free char *on = read_small(dfd, "cgroup.subtree_control");
	for (unsigned i = 0; i < CG_N; i++) {
		if (!(need & (1U << i)) || (on && has_word(on, controller_names[i], " \n")))
			continue;
		char word[16];
		snprintf(word, sizeof(word), "+%s", controller_names[i]);
		if (cg->fake) {
			/* Appended, as the kernel would list it. */
			cleanup_free char *now =
			    xasprintf("%s%s%s", on ? on : "", on && *on ? " " : "", controller_names[i]);
			cg_write_or_die(cg, dfd, dir, "cgroup.subtree_control", now);
			free(on);
			on = xstrdup(now);
			continue;
		}
		if (!cg_write(cg, dfd, "cgroup.subtree_control", word))
			die_with_error("limits: enable the %s controller in %s/cgroup.subtree_control (a cgroup with "
			               "processes of its own cannot; start cordon in a cgroup of its own)",
			               controller_names[i], dir);
	}
}

/* Makes BASE/ID under parent, locked; the open directory or dies. The
 * sweep of another run may remove our empty BASE or BASE/ID before we
 * hold the lock (it removes what is empty and unlocked): then both are
 * made again. Once locked, no sweep removes it. */
static int make_locked(const char *parent, const char *id, char **path_out)
{
	cleanup_free char *base = xasprintf("%s/" CG_BASE, parent);
	char *path = xasprintf("%s/%s", base, id);
	for (int attempt = 0;; attempt++) {
		if (attempt == 5)
			die("limits: %s kept disappearing while it was being made", path);
		if (mkdir(base, 0755) < 0 && errno != EEXIST)
			die_with_error("limits: create %s", base);
		if (mkdir(path, 0755) < 0) {
			if (errno == ENOENT)
				continue;
			die_with_error("limits: create %s", path);
		}
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			die_with_error("limits: open and lock %s", path);
		struct stat locked, now;
		if (fstat(fd, &locked) == 0 && stat(path, &now) == 0 && locked.st_dev == now.st_dev &&
		    locked.st_ino == now.st_ino) {
			*path_out = path;
			return fd;
		}
		close(fd);
	}
}

static void write_limits_v2(const struct plan *pl, const struct cgroup *cg)
{
	char v[64];
	int dfd = cg->dir_fd[0];
	const char *dir = cg->path[0];
	if (pl->memory_bytes) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)pl->memory_bytes);
		cg_write_or_die(cg, dfd, dir, "memory.max", v);
		/* No swap beyond the limit. Without swap accounting the file is
		 * absent, and there is nothing to cap. */
		if (!cg_write(cg, dfd, "memory.swap.max", "0") && errno != ENOENT)
			die_with_error("limits: write 0 to %s/memory.swap.max", dir);
	}
	if (pl->pids) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)pl->pids);
		cg_write_or_die(cg, dfd, dir, "pids.max", v);
	}
	if (pl->cpu_milli) {
		snprintf(v, sizeof(v), "%llu %llu", (unsigned long long)(pl->cpu_milli * CPU_PERIOD / 1000),
		         (unsigned long long)CPU_PERIOD);
		cg_write_or_die(cg, dfd, dir, "cpu.max", v);
	}
}

static void write_limits_v1(const struct plan *pl, const struct cgroup *cg)
{
	char v[64];
	if (pl->memory_bytes) {
		int dfd = cg->dir_fd[CG_MEMORY];
		const char *dir = cg->path[CG_MEMORY];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)pl->memory_bytes);
		cg_write_or_die(cg, dfd, dir, "memory.limit_in_bytes", v);
		/* memory+swap at the same value: no swap beyond the limit
		 * (absent without swap accounting, when there is none). */
		if (!cg_write(cg, dfd, "memory.memsw.limit_in_bytes", v) && errno != ENOENT)
			die_with_error("limits: write %s to %s/memory.memsw.limit_in_bytes", v, dir);
		/* The OOM killer on (0), not a frozen sandbox waiting forever. */
		cg_write_or_die(cg, dfd, dir, "memory.oom_control", "0");
	}
	if (pl->pids) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)pl->pids);
		cg_write_or_die(cg, cg->dir_fd[CG_PIDS], cg->path[CG_PIDS], "pids.max", v);
	}
	if (pl->cpu_milli) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)CPU_PERIOD);
		cg_write_or_die(cg, cg->dir_fd[CG_CPU], cg->path[CG_CPU], "cpu.cfs_period_us", v);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)(pl->cpu_milli * CPU_PERIOD / 1000));
		cg_write_or_die(cg, cg->dir_fd[CG_CPU], cg->path[CG_CPU], "cpu.cfs_quota_us", v);
	}
}

/* The systemd driver: libsystemd's sd-bus, loaded when it is used. */
struct sd_scope {
	void *handle;
	sd_bus *bus;
	char *unit;
	char *mnt;
	uint64_t memory, pids, cpu_usec;
	/* JobRemoved, which may come before the reply naming the job. */
	char *job, *seen_job, *seen_result;
	__typeof__(sd_bus_open_user) *open_user;
	__typeof__(sd_bus_message_new_method_call) *new_method_call;
	__typeof__(sd_bus_message_append) *append;
	__typeof__(sd_bus_message_open_container) *open_container;
	__typeof__(sd_bus_message_close_container) *close_container;
	__typeof__(sd_bus_call) *call;
	__typeof__(sd_bus_call_method) *call_method;
	__typeof__(sd_bus_message_read) *read;
	__typeof__(sd_bus_match_signal) *match_signal;
	__typeof__(sd_bus_process) *process;
	__typeof__(sd_bus_wait) *wait;
	__typeof__(sd_bus_get_property_string) *get_property_string;
	__typeof__(sd_bus_message_unref) *message_unref;
	__typeof__(sd_bus_flush_close_unref) *flush_close_unref;
	__typeof__(sd_bus_error_free) *error_free;
};

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MGR  "org.freedesktop.systemd1.Manager"
#define SD_WAIT (30ULL * 1000 * 1000) /* µs for systemd to start the scope */

static struct sd_scope *sd_load(void)
{
	struct sd_scope *s = xcalloc(1, sizeof(*s));
	s->handle = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!s->handle)
		die("limits: the systemd driver cannot load libsystemd.so.0: %s", dlerror());
#define SYM(field, name) ((s->field = (__typeof__(s->field))dlsym(s->handle, name)) != NULL)
	if (!SYM(open_user, "sd_bus_open_user") || !SYM(new_method_call, "sd_bus_message_new_method_call") ||
	    !SYM(append, "sd_bus_message_append") || !SYM(open_container, "sd_bus_message_open_container") ||
	    !SYM(close_container, "sd_bus_message_close_container") || !SYM(call, "sd_bus_call") ||
	    !SYM(call_method, "sd_bus_call_method") || !SYM(read, "sd_bus_message_read") ||
	    !SYM(match_signal, "sd_bus_match_signal") || !SYM(process, "sd_bus_process") || !SYM(wait, "sd_bus_wait") ||
	    !SYM(get_property_string, "sd_bus_get_property_string") || !SYM(message_unref, "sd_bus_message_unref") ||
	    !SYM(flush_close_unref, "sd_bus_flush_close_unref") || !SYM(error_free, "sd_bus_error_free"))
		die("limits: the systemd driver: libsystemd.so.0 lacks a function cordon uses");
#undef SYM
	return s;
}

static const char *sd_why(const sd_bus_error *e, int r)
{
	return e && e->message ? e->message : strerror(r < 0 ? -r : r);
}

static int sd_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct sd_scope *s = userdata;
	uint32_t id;
	const char *job, *unit, *result;
	(void)ret_error;
	if (s->read(m, "uoss", &id, &job, &unit, &result) < 0)
		return 0;
	if (s->job && strcmp(job, s->job) != 0)
		return 0;
	free(s->seen_job);
	free(s->seen_result);
	s->seen_job = xstrdup(job);
	s->seen_result = xstrdup(result);
	return 0;
}

/* Connects to the user bus; the scope itself is asked for with pid 1
 * (sd_start_scope). Dies (125) naming why. */
static void sd_connect(const struct plan *pl, const struct cg_choice *c, const char *id, struct cgroup *cg)
{
	struct sd_scope *s = sd_load();
	int r = s->open_user(&s->bus);
	if (r < 0)
		die("limits: the systemd driver cannot connect to the user bus: %s", strerror(-r));
	s->unit = xasprintf(CG_BASE "-%s.scope", id);
	s->mnt = xstrdup(c->mnt);
	s->memory = pl->memory_bytes;
	s->pids = pl->pids;
	/* CPUQuotaPerSecUSec: µs of CPU time per second of wall time. */
	s->cpu_usec = pl->cpu_milli * 1000;
	r = s->match_signal(s->bus, NULL, SD_DEST, SD_PATH, SD_MGR, "JobRemoved", sd_job_removed, s);
	if (r < 0)
		die("limits: the systemd driver cannot watch for JobRemoved: %s", strerror(-r));
	cg->scope = s;
	cg->path[0] = xstrdup(s->unit);
}

#define SD_CHECK(r, what)                                                                                              \
	do {                                                                                                           \
		if ((r) < 0)                                                                                           \
			die("limits: the systemd driver cannot %s: %s", what, strerror(-(r)));                         \
	} while (0)

/* StartTransientUnit(cordon-ID.scope, "fail", properties, []) with pid 1
 * (waiting: it runs nothing before it is in the scope), the job waited
 * for, and the scope's cgroup opened for what it saw at the end. */
static void sd_start_scope(struct cgroup *cg, pid_t pid)
{
	struct sd_scope *s = cg->scope;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r = s->new_method_call(s->bus, &m, SD_DEST, SD_PATH, SD_MGR, "StartTransientUnit");
	SD_CHECK(r, "make the StartTransientUnit call");
	SD_CHECK(s->append(m, "ss", s->unit, "fail"), "append the unit name");
	SD_CHECK(s->open_container(m, 'a', "(sv)"), "append the properties");
	SD_CHECK(s->append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid), "append PIDs");
	SD_CHECK(s->append(m, "(sv)", "Delegate", "b", 1), "append Delegate");
	/* The scope stays while we hold the bus (its counters are read after
	 * the sandbox is gone), and is collected even when it failed. */
	SD_CHECK(s->append(m, "(sv)", "AddRef", "b", 1), "append AddRef");
	SD_CHECK(s->append(m, "(sv)", "CollectMode", "s", "inactive-or-failed"), "append CollectMode");
	if (s->memory) {
		SD_CHECK(s->append(m, "(sv)", "MemoryMax", "t", s->memory), "append MemoryMax");
		/* No swap beyond the limit. */
		SD_CHECK(s->append(m, "(sv)", "MemorySwapMax", "t", (uint64_t)0), "append MemorySwapMax");
	}
	if (s->pids)
		SD_CHECK(s->append(m, "(sv)", "TasksMax", "t", s->pids), "append TasksMax");
	if (s->cpu_usec)
		SD_CHECK(s->append(m, "(sv)", "CPUQuotaPerSecUSec", "t", s->cpu_usec), "append CPUQuotaPerSecUSec");
	SD_CHECK(s->close_container(m), "append the properties");
	SD_CHECK(s->append(m, "a(sa(sv))", 0), "append the auxiliary units");
	r = s->call(s->bus, m, SD_WAIT, &err, &reply);
	s->message_unref(m);
	if (r < 0)
		die("limits: systemd refused the scope %s: %s", s->unit, sd_why(&err, r));
	const char *job;
	if (s->read(reply, "o", &job) < 0)
		die("limits: systemd's answer to StartTransientUnit names no job");
	s->job = xstrdup(job);
	s->message_unref(reply);
	reply = NULL;
	if (s->seen_job && strcmp(s->seen_job, s->job) != 0) {
		free(s->seen_job);
		free(s->seen_result);
		s->seen_job = s->seen_result = NULL;
	}
	long long deadline = now_ms() + (long long)(SD_WAIT / 1000);
	while (!s->seen_result) {
		r = s->process(s->bus, NULL);
		SD_CHECK(r, "read the user bus");
		if (r > 0)
			continue;
		if (now_ms() > deadline)
			die("limits: systemd did not start the scope %s in %llu s", s->unit, SD_WAIT / 1000000);
		r = s->wait(s->bus, SD_WAIT);
		SD_CHECK(r, "wait on the user bus");
	}
	if (strcmp(s->seen_result, "done") != 0)
		die("limits: systemd could not start the scope %s: its job ended %s", s->unit, s->seen_result);
	/* Where it is: the unit's ControlGroup, below the cgroup2 mount. */
	r = s->call_method(s->bus, SD_DEST, SD_PATH, SD_MGR, "GetUnit", &err, &reply, "s", s->unit);
	if (r < 0)
		die("limits: systemd does not know the scope %s it started: %s", s->unit, sd_why(&err, r));
	const char *unit_path;
	if (s->read(reply, "o", &unit_path) < 0)
		die("limits: systemd's answer to GetUnit names no unit");
	cleanup_free char *cgpath = NULL;
	r = s->get_property_string(s->bus, SD_DEST, unit_path, "org.freedesktop.systemd1.Scope", "ControlGroup", &err,
	                           &cgpath);
	s->message_unref(reply);
	if (r < 0 || !cgpath || cgpath[0] != '/' || strstr(cgpath, "/.."))
		die("limits: systemd does not name the cgroup of the scope %s: %s", s->unit,
		    r < 0 ? sd_why(&err, r) : "not an absolute path");
	free(cg->path[0]);
	cg->path[0] = xasprintf("%s%s", s->mnt, cgpath);
	cg->dir_fd[0] = open(cg->path[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dir_fd[0] < 0)
		die_with_error("limits: open the scope's cgroup %s", cg->path[0]);
	s->error_free(&err);
}

/* Drops our reference: systemd collects the scope, empty now. */
static void sd_close(struct cgroup *cg)
{
	struct sd_scope *s = cg->scope;
	if (s->bus)
		s->flush_close_unref(s->bus);
	free(s->unit);
	free(s->mnt);
	free(s->job);
	free(s->seen_job);
	free(s->seen_result);
	free(s);
	cg->scope = NULL;
}

void cgroup_init(struct cgroup *cg)
{
	memset(cg, 0, sizeof(*cg));
	for (size_t i = 0; i < CG_N; i++)
		cg->dir_fd[i] = -1;
	cg->clone_fd = -1;
}

static void sweep_base(const char *parent);

void cgroup_create(const struct plan *pl, const char *id, struct cgroup *cg)
{
	cgroup_init(cg);
	struct cg_choice c;
	if (!needed(pl))
		return;
	if (!decide(pl, &c))
		die("limits: %s", c.why ? c.why : "no cgroup driver");
	cg->version = c.version;
	cg->fake = c.fake;
	cg->memory_text = pl->memory_text;
	if (c.systemd) {
		/* Nothing is made here: systemd makes the scope for pid 1. */
		sd_connect(pl, &c, id, cg);
		cg->need_move = true;
	} else if (c.version == 2) {
		sweep_base(c.parent[0]);
		enable_controllers(cg, c.parent[0], needed(pl));
		/* cordon/ is enabled once ours is in it: a sweep cannot remove
		 * it from under us then. */
		cg->dir_fd[0] = make_locked(c.parent[0], id, &cg->path[0]);
		cleanup_free char *base = xasprintf("%s/" CG_BASE, c.parent[0]);
		enable_controllers(cg, base, needed(pl));
		write_limits_v2(pl, cg);
		/* A real cgroup2 directory takes pid 1 at its creation; a test
		 * directory cannot, and gets its pid written like v1's. */
		struct statfs sf;
		if (fstatfs(cg->dir_fd[0], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			cg->clone_fd = cg->dir_fd[0];
		else
			cg->need_move = true;
	} else {
		for (unsigned i = 0; i < CG_N; i++) {
			if (!c.parent[i])
				continue;
			/* Controllers mounted together (cpu,cpuacct,memory...)
			 * share one directory. */
			for (unsigned j = 0; j < i && cg->dir_fd[i] < 0; j++) {
				if (c.parent[j] && strcmp(c.parent[j], c.parent[i]) == 0) {
					cg->dir_fd[i] = fcntl(cg->dir_fd[j], F_DUPFD_CLOEXEC, 3);
					if (cg->dir_fd[i] < 0)
						die_with_error("limits: duplicate a descriptor");
					cg->path[i] = xstrdup(cg->path[j]);
				}
			}
			if (cg->dir_fd[i] >= 0)
				continue;
			sweep_base(c.parent[i]);
			cg->dir_fd[i] = make_locked(c.parent[i], id, &cg->path[i]);
		}
		write_limits_v1(pl, cg);
		cg->need_move = true;
	}
	choice_clear(&c);
}

void cgroup_enter(struct cgroup *cg, pid_t pid)
{
	char v[32];
	if (cg->scope) {
		sd_start_scope(cg, pid);
		return;
	}
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; i < CG_N; i++)
		if (cg->dir_fd[i] >= 0 && !cg_write(cg, cg->dir_fd[i], "cgroup.procs", v))
			die_with_error("limits: move the sandbox into %s", cg->path[i]);
}

/* What the cgroup saw: OOM kills, the pids limit reached, peak memory. */
static void read_stats(const struct cgroup *cg, struct cgroup_stats *st)
{
	unsigned long long n;
	int mem = cg->version == 2 ? 0 : CG_MEMORY, pids = cg->version == 2 ? 0 : CG_PIDS;
	if (cg->dir_fd[mem] >= 0) {
		cleanup_free char *ev =
		    read_small(cg->dir_fd[mem], cg->version == 2 ? "memory.events" : "memory.oom_control");
		if (ev && keyed_value(ev, "oom_kill", &n))
			st->oom_kills = n;
		cleanup_free char *peak =
		    read_small(cg->dir_fd[mem], cg->version == 2 ? "memory.peak" : "memory.max_usage_in_bytes");
		if (peak && isdigit((unsigned char)peak[0])) {
			st->peak_memory_bytes = strtoull(peak, NULL, 10);
			st->peak_known = true;
		}
	}
	if (cg->dir_fd[pids] >= 0) {
		cleanup_free char *ev = read_small(cg->dir_fd[pids], "pids.events");
		if (ev && keyed_value(ev, "max", &n))
			st->pids_max_hit = n;
	}
}

/* rmdir, retried briefly: the last exits may still be leaving it. */
static void remove_dir(const struct cgroup *cg, size_t i)
{
	if (cg->fake) {
		static const char *const files[] = {"memory.max", "memory.swap.max", "pids.max",
		                                    "cpu.max",    "cgroup.procs",    "cgroup.subtree_control"};
		for (size_t f = 0; f < N_ELEMENTS(files); f++)
			unlinkat(cg->dir_fd[i], files[f], 0);
	}
	for (int attempt = 0; rmdir(cg->path[i]) < 0 && errno == EBUSY && attempt < 100; attempt++)
		nanosleep(&(struct timespec){.tv_nsec = 10L * 1000 * 1000}, NULL);
	if (access(cg->path[i], F_OK) == 0)
		warn_msg("limits: could not remove %s: %s (the next run removes it once it is empty)", cg->path[i],
		         strerror(errno));
	/* And cordon/ when this was its last run. */
	cleanup_free char *base = xstrdup(cg->path[i]);
	char *slash = strrchr(base, '/');
	if (slash) {
		*slash = '\0';
		rmdir(base);
	}
}

void cgroup_finish(struct cgroup *cg, struct cgroup_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!cg->version)
		return;
	st->applied = true;
	read_stats(cg, st);
	if (cg->scope) {
		/* The scope is systemd's to remove. */
		if (cg->dir_fd[0] >= 0)
			close(cg->dir_fd[0]);
		cg->dir_fd[0] = -1;
		free(cg->path[0]);
		cg->path[0] = NULL;
		sd_close(cg);
		cg->version = 0;
		return;
	}
	for (size_t i = 0; i < CG_N; i++) {
		if (cg->dir_fd[i] < 0)
			continue;
		remove_dir(cg, i);
		close(cg->dir_fd[i]);
		cg->dir_fd[i] = -1;
		free(cg->path[i]);
		cg->path[i] = NULL;
	}
	cg->clone_fd = -1;
	cg->version = 0;
}

static bool sandbox_id_name(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 32 && s[n] == '\0';
}

/* The cgroups of runs that are gone: named like a sandbox id, under
 * parent/cordon, not locked (their launcher is dead) and empty (rmdir
 * refuses one with processes or children). */
static void sweep_base(const char *parent)
{
	cleanup_free char *base = xasprintf("%s/" CG_BASE, parent);
	int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (bfd < 0)
		return;
	DIR *d = fdopendir(bfd);
	if (!d) {
		close(bfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!sandbox_id_name(e->d_name))
			continue;
		cleanup_fd int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

uint64_t host_ram_bytes(void)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return 0;
	return (uint64_t)si.totalram * si.mem_unit;
}
