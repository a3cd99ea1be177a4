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

static bool writable_by_us(const char *dir)
{
	return geteuid() == 0 || (access(dir, W_OK | X_OK) == 0);
}

/* Where each needed controller can be applied, or why not. */
struct cg_choice {
	int version;        /* 1 or 2; 0: refused (why) */
	char *parent[CG_N]; /* v1: per controller; v2: parent[0], the directory cordon/ goes in */
	char *mnt;          /* v2: the hierarchy's root */
	bool fake;          /* v2 against a test directory (test builds) */
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

static bool decide(const struct plan *pl, struct cg_choice *c)
{
	unsigned need = needed(pl);
	memset(c, 0, sizeof(*c));
	if (!need)
		return true;
	cleanup_free char *names = limits_named(need);
	if (choose_v2(need, c)) {
		if (!c->fake && !writable_by_us(c->parent[0])) {
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
	if (c.version == 2) {
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
	if (c.version == 2) {
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

void cgroup_enter(const struct cgroup *cg, pid_t pid)
{
	char v[32];
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
