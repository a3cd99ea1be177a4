/* The plan builder's view of the host, and the facts about this
 * invocation (who, where, what) that go into a plan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cordon.h"

#define MAX_SYMLINK_HOPS 40
#define MAX_ENV_FILE     (1 << 20)

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

static char *pop_component(char *cur)
{
	char *slash = strrchr(cur, '/');
	if (slash == cur)
		cur[1] = '\0';
	else if (slash)
		*slash = '\0';
	return cur;
}

/* True when link lies strictly below one of dirs. */
static bool planted_by_sandbox(const char *link, char *const *dirs)
{
	for (char *const *d = dirs; d && *d; d++)
		if (path_is_beneath(link, *d) && strcmp(link, *d) != 0)
			return true;
	return false;
}

/* Canonicalizes path following only symlinks owned by root, and none in a
 * directory a sandbox can write. A bind source or project root is a place
 * the agent may be able to write to (a previous run could have planted a
 * link in the project, as root too if it ran as root); root-owned links
 * such as /lib64 -> usr/lib64 are the system's own. */
static char *resolve_trusted(const char *path, char *const *untrusted, char **why)
{
	cleanup_free char *rest = xstrdup(path);
	cleanup_free char *cur = xstrdup("/");
	int hops = 0;

	while (*rest) {
		char *r = rest;
		while (*r == '/')
			r++;
		size_t n = strcspn(r, "/");
		if (n == 0)
			break;
		cleanup_free char *comp = xstrndup(r, n);
		char *tail = xstrdup(r + n);
		free(rest);
		rest = tail;

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			pop_component(cur);
			continue;
		}
		cleanup_free char *next = xasprintf("%s%s%s", cur, strcmp(cur, "/") == 0 ? "" : "/", comp);
		struct stat st;
		if (lstat(next, &st) < 0)
			return NULL;
		if (!S_ISLNK(st.st_mode)) {
			free(cur);
			cur = steal_pointer(&next);
			continue;
		}
		if (st.st_uid != 0) {
			*why = xasprintf("%s is a symlink owned by uid %u; only root-owned symlinks are followed in "
			                 "bind sources and project roots (name the target directly)",
			                 next, (unsigned)st.st_uid);
			errno = ELOOP;
			return NULL;
		}
		if (planted_by_sandbox(next, untrusted)) {
			*why =
			    xasprintf("%s is a symlink in a directory a sandbox can write; cordon does not follow it "
			              "(name the target directly)",
			              next);
			errno = ELOOP;
			return NULL;
		}
		if (++hops > MAX_SYMLINK_HOPS) {
			errno = ELOOP;
			return NULL;
		}
		char target[4096];
		ssize_t tl = readlink(next, target, sizeof(target) - 1);
		if (tl < 0)
			return NULL;
		if ((size_t)tl >= sizeof(target) - 1) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		target[tl] = '\0';
		char *joined = xasprintf("%s/%s", target, rest);
		free(rest);
		rest = joined;
		if (target[0] == '/') {
			free(cur);
			cur = xstrdup("/");
		}
	}
	return steal_pointer(&cur);
}

static bool has_dot_components(const char *p)
{
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n;
	}
	return false;
}

static char *host_resolve(void *ctx, const char *path, char *const *untrusted, char **why)
{
	(void)ctx;
	if (path[0] != '/' || has_dot_components(path))
		return resolve_trusted(path, untrusted, why);
	/* Fast path: most paths contain no symlink at all. */
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int fd = (int)sys_openat2(AT_FDCWD, path, &how);
	if (fd >= 0) {
		close(fd);
		return normalize_path(path);
	}
	if (errno != ELOOP && errno != ENOSYS && errno != EXDEV)
		return NULL;
	return resolve_trusted(path, untrusted, why);
}

static enum path_state host_lstat(void *ctx, const char *path)
{
	(void)ctx;
	struct stat st;
	if (lstat(path, &st) < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? PATH_MISSING : PATH_ERROR;
	if (S_ISLNK(st.st_mode))
		return PATH_SYMLINK;
	if (S_ISDIR(st.st_mode))
		return PATH_DIR;
	if (S_ISREG(st.st_mode))
		return PATH_FILE;
	return PATH_OTHER;
}

static char *host_read_file(void *ctx, const char *path, size_t *len, char **why)
{
	(void)ctx;
	cleanup_fd int fd = -1;
	/* Under sudo what the policy reads in (env files, a seccomp profile
	 * by path) must be as much root's as the policy itself. */
	if (running_under_sudo()) {
		cleanup_free char *bad = NULL;
		fd = open_root_owned(path, O_RDONLY, &bad);
		if (fd < 0) {
			*why = xasprintf("under sudo it must be root's: %s", bad);
			return NULL;
		}
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0) {
		*why = xstrdup(strerror(errno));
		return NULL;
	}
	size_t got = 0;
	char *buf = read_regular_file(fd, MAX_ENV_FILE, &got);
	if (!buf) {
		*why = xstrdup(errno == EFBIG ? "not a regular file of at most 1 MiB" : strerror(errno));
		return NULL;
	}
	if (memchr(buf, '\0', got)) {
		free(buf);
		*why = xstrdup("file contains a NUL byte");
		return NULL;
	}
	*len = got;
	return buf;
}

/* Guarded trees are small (.git/hooks, .vscode); past this many entries
 * cordon refuses rather than walk a large tree on every launch. */
#define MAX_GUARD_ENTRIES 10000

static struct {
	size_t entries;
	char *found;
} walk;

static int walk_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (++walk.entries > MAX_GUARD_ENTRIES)
		return 2;
	if (type == FTW_F && S_ISREG(st->st_mode) && st->st_nlink > 1) {
		walk.found = xasprintf("%s has %lu hard links", path, (unsigned long)st->st_nlink);
		return 1;
	}
	return 0;
}

static char *host_find_hard_link(void *ctx, const char *path)
{
	(void)ctx;
	struct stat st;
	if (lstat(path, &st) < 0)
		return NULL;
	if (S_ISREG(st.st_mode))
		return st.st_nlink > 1 ? xasprintf("%s has %lu hard links", path, (unsigned long)st.st_nlink) : NULL;
	if (!S_ISDIR(st.st_mode))
		return NULL;
	walk.entries = 0;
	walk.found = NULL;
	int r = nftw(path, walk_entry, 16, FTW_PHYS | FTW_MOUNT);
	if (r == 2)
		return xasprintf("%s has more than %d entries to check for hard links; guard a narrower path", path,
		                 MAX_GUARD_ENTRIES);
	return walk.found;
}

/* Files in a project (a `.git` file, a commondir, an index) may have
 * been written by the agent: no symlink is followed anywhere in the path,
 * which the plan builder has already made canonical. */
static char *host_read_nofollow(void *ctx, const char *path, size_t max, size_t *len, char **why)
{
	(void)ctx;
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	                       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	cleanup_fd int fd = (int)sys_openat2(AT_FDCWD, path, &how);
	if (fd < 0)
		return NULL;
	char *buf = read_regular_file(fd, max, len);
	if (!buf && errno == EFBIG)
		*why = xasprintf("%s is not a regular file of at most %zu bytes", path, max);
	return buf;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **host_list_dir(void *ctx, const char *path, size_t max)
{
	(void)ctx;
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	                       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int fd = (int)sys_openat2(AT_FDCWD, path, &how);
	if (fd < 0)
		return NULL;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return NULL;
	}
	strv_t names = {0};
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (names.n == max) {
			errno = E2BIG;
			break;
		}
		strv_push(&names, xstrdup(de->d_name));
	}
	int err = errno;
	closedir(dir);
	if (err) {
		strv_free(&names);
		errno = err;
		return NULL;
	}
	if (!names.v)
		return xcalloc(1, sizeof(char *));
	qsort(names.v, names.n, sizeof(char *), compare_names);
	return names.v;
}

static char *host_realpath(void *ctx, const char *path)
{
	(void)ctx;
	return realpath(path, NULL);
}

/* The file system identity for reading the invoker's own files: as root,
 * never with root's rights (a non-zero fsuid also drops the capabilities
 * that bypass file permissions). Back to the launcher's own when uid is
 * its effective uid. */
static bool set_fs_identity(uid_t uid, gid_t gid)
{
	setfsgid(gid);
	setfsuid(uid);
	return (uid_t)setfsuid((uid_t)-1) == uid && (gid_t)setfsgid((gid_t)-1) == gid;
}

static char *host_read_user_file(void *ctx, uid_t uid, gid_t gid, const char *dir, const char *rel, size_t max,
                                 size_t *len)
{
	(void)ctx;
	bool switch_ids = geteuid() == 0 && uid != 0;
	if (switch_ids && !set_fs_identity(uid, gid)) {
		if (!set_fs_identity(geteuid(), getegid()))
			die("git identity: restore the file system identity");
		errno = EPERM;
		return NULL;
	}
	int fd = -1;
	/* dir (the home from the password database, or XDG_CONFIG_HOME) is
	 * taken as it is; below it nothing is followed. */
	cleanup_fd int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		                       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH};
		fd = (int)sys_openat2(dfd, rel, &how);
	}
	int err = errno;
	if (switch_ids && !set_fs_identity(geteuid(), getegid()))
		die("git identity: restore the file system identity");
	if (fd < 0) {
		errno = err;
		return NULL;
	}
	char *buf = read_regular_file(fd, max, len);
	err = errno;
	close(fd);
	errno = err;
	return buf;
}

static bool host_owner(void *ctx, const char *path, uid_t *uid, gid_t *gid)
{
	(void)ctx;
	struct stat st;
	if (lstat(path, &st) < 0)
		return false;
	*uid = st.st_uid;
	*gid = st.st_gid;
	return true;
}

const struct plan_host host_ops = {
    .ctx = NULL,
    .resolve = host_resolve,
    .lstat = host_lstat,
    .read_file = host_read_file,
    .find_hard_link = host_find_hard_link,
    .read_nofollow = host_read_nofollow,
    .list_dir = host_list_dir,
    .realpath = host_realpath,
    .read_user_file = host_read_user_file,
    .owner = host_owner,
    .profile_dir = CORDON_PROFILE_DIR,
};

/* An executable regular file at path, to the invoker. */
static bool host_executable(const struct plan *pl, const char *path)
{
	bool switch_ids = geteuid() == 0 && pl->invoker_uid != 0;
	if (switch_ids && !set_fs_identity(pl->invoker_uid, pl->invoker_gid)) {
		if (!set_fs_identity(geteuid(), getegid()))
			die("command lookup: restore the file system identity");
		return false;
	}
	struct stat st;
	bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
	if (switch_ids && !set_fs_identity(geteuid(), getegid()))
		die("command lookup: restore the file system identity");
	return ok;
}

void command_host_lookup(struct plan *pl, char *const *env)
{
	const char *cmd = pl->argv[0];
	if (!cmd || !*cmd)
		return;
	cleanup_free char *found = NULL;
	if (cmd[0] == '/') {
		if (host_executable(pl, cmd))
			found = normalize_path(cmd);
	} else if (!strchr(cmd, '/')) {
		const char *path = NULL;
		for (char *const *e = env; e && *e; e++)
			if (str_has_prefix(*e, "PATH="))
				path = *e + 5;
		for (const char *p = path ? path : ""; *p && !found;) {
			size_t n = strcspn(p, ":");
			if (n && p[0] == '/') {
				cleanup_free char *cand = xasprintf("%.*s/%s", (int)n, p, cmd);
				if (host_executable(pl, cand))
					found = normalize_path(cand);
			}
			p += n + (p[n] == ':');
		}
	}
	if (!found)
		return;
	cleanup_free char *located = xstrdup(found);
	*strrchr(located, '/') = '\0';
	const char *home = pl->invoker_home;
	cleanup_free char *shown = home && strcmp(home, "/") != 0 && path_is_beneath(located, home)
	                               ? xasprintf("~%s", located + strlen(home))
	                               : xstrdup(*located ? located : "/");
	/* A symlink (npm's global bin, ~/.local/bin): what it leads to must
	 * be visible too. */
	char target[4096];
	ssize_t tl = readlink(found, target, sizeof(target) - 1);
	cleanup_free char *link = tl > 0 ? xasprintf(", a symlink to %.*s", (int)tl, target) : xstrdup("");
	pl->command_hint = xasprintf("not found in the sandbox (it is %s on the host%s; add: ro = %s or ro_try = %s)",
	                             found, link, shown, shown);
	pl->command_host_path = steal_pointer(&found);
}

/* Runner mode: root with SUDO_UID in the environment, as sudo sets it
 * for the command it runs. SUDO_UID set by anyone else changes nothing:
 * a caller that is not root gets no privilege from it, and root is who
 * it claims to be either way. SUDO_UID=0 (root using sudo) is plain root. */
bool running_under_sudo(void)
{
	const char *v = getenv("SUDO_UID");
	return geteuid() == 0 && v != NULL && strcmp(v, "0") != 0;
}

static uid_t parse_id(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 10)
		die("runner: %s=%s is not a numeric id", name, v ? v : "");
	unsigned long long id = strtoull(v, NULL, 10);
	if (id >= (uid_t)-1)
		die("runner: %s=%s is out of range", name, v);
	return (uid_t)id;
}

/* The sudo caller: SUDO_UID must name an account, and SUDO_GID (the
 * group sudo ran from) must be one of that account's groups. */
static void runner_identity(struct invocation *inv)
{
	uid_t uid = parse_id("SUDO_UID");
	gid_t gid = getenv("SUDO_GID") ? (gid_t)parse_id("SUDO_GID") : (gid_t)-1;
	struct passwd *pw = getpwuid(uid);
	if (!pw)
		die("runner: SUDO_UID %u is not in the password database", (unsigned)uid);
	const char *sudo_user = getenv("SUDO_USER");
	if (sudo_user && strcmp(sudo_user, pw->pw_name) != 0) {
		struct passwd *alias = getpwnam(sudo_user);
		if (!alias || alias->pw_uid != uid)
			die("runner: SUDO_USER %s is not the account of SUDO_UID %u (%s)", sudo_user, (unsigned)uid,
			    pw->pw_name);
	}
	if (gid != (gid_t)-1 && gid != pw->pw_gid) {
		int n = 64;
		gid_t groups[64];
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
			n = 0; /* more groups than that: SUDO_GID must be the primary one */
		bool member = false;
		for (int i = 0; i < n && !member; i++)
			member = groups[i] == gid;
		if (!member)
			die("runner: SUDO_GID %u is not a group of %s", (unsigned)gid, pw->pw_name);
	}
	inv->runner = true;
	inv->uid = uid;
	inv->gid = gid != (gid_t)-1 ? gid : pw->pw_gid;
}

void invocation_gather(struct invocation_storage *s, const struct policy *p, char *const *argv, char *const *projects)
{
	struct invocation *inv = &s->inv;
	memset(s, 0, sizeof(*s));

	inv->privileged = geteuid() == 0;
	inv->uid = getuid();
	inv->gid = getgid();
	if (running_under_sudo())
		runner_identity(inv);
	struct passwd *pw = getpwuid(inv->uid);
	if (pw) {
		s->user = xstrdup(pw->pw_name);
		s->home = xstrdup(pw->pw_dir);
	}
	inv->user = s->user;
	inv->home = s->home;

	if (inv->privileged && p->user.value) {
		pw = getpwnam(p->user.value);
		if (pw) {
			inv->run_uid = pw->pw_uid;
			inv->run_gid = pw->pw_gid;
			s->run_user = xstrdup(pw->pw_name);
			s->run_home = xstrdup(pw->pw_dir);
		}
		inv->run_user = s->run_user;
		inv->run_home = s->run_home;
	}

	s->cwd = getcwd(NULL, 0);
	inv->cwd = s->cwd;
	inv->argv = argv;
	inv->projects = projects;
	inv->environ = environ;
}

void invocation_release(struct invocation_storage *s)
{
	free(s->user);
	free(s->home);
	free(s->run_user);
	free(s->run_home);
	free(s->cwd);
}
