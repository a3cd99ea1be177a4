/* Building the sandbox's root from the plan's mount list.
 *
 * Order matters, and this is why:
 *  1. Propagation is made private first, so nothing we mount leaks to the
 *     host and nothing the host mounts later appears inside.
 *  2. Every host bind is cloned (open_tree) while the host tree is still in
 *     view, from an O_PATH fd opened without following symlinks. The clone
 *     is of that exact inode: a path swapped later cannot redirect it.
 *     Read-only is set on the detached clone with AT_RECURSIVE, so every
 *     submount is read-only too, without reading the mount table. A
 *     project mounted for another account is idmapped the same way
 *     (idmap.c); the self-binds cloned from it later keep the mapping.
 *  3. A scratch tmpfs becomes the new root. Mount points are created and
 *     opened beneath it with RESOLVE_NO_SYMLINKS, and trees are attached by
 *     fd, so a symlink planted inside a bound project directory cannot send
 *     a later mount somewhere else.
 *  4. The plan's order puts each directory before anything below it, so no
 *     mount hides another one.
 *  5. pivot_root into the new root and detach the host's entirely. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cordon.h"

#define SCRATCH     "/tmp"
#define EMPTY_FILE  ".cordon-empty-file"
#define EMPTY_DIR   ".cordon-empty-dir"
#define EXCLUDE_SRC ".cordon-git-exclude-%zu"
/* A repository's info/exclude is small; a bigger one is refused. */
#define MAX_EXCLUDE ((size_t)1 << 20)

static int open_how(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Opens rel (no leading slash) beneath dirfd; no symlink anywhere. */
static int open_beneath(int dirfd, const char *rel, int flags)
{
	return open_how(dirfd, *rel ? rel : ".", O_PATH | flags,
	                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

static void set_attr(int fd, const char *what, unsigned long long set, bool recursive)
{
	struct mount_attr attr = {.attr_set = set};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
		die_with_error("mount %s: set attributes", what);
}

/* ---- host trees ---- */

/* Idmaps the clone of a project (idmap.c). A file system that cannot be
 * idmapped ends the run: mounted as it is, the project's files would not
 * be the account's, and what it made would not be the owner's. The
 * clone is recursive, so a file system mounted below the project counts
 * too; a second clone of the top alone tells which one failed. */
static void idmap_clone(const struct mount_op *op, int src, int tree, int userns)
{
	if (userns < 0)
		die("idmap: %s %s: no user namespace for the mapping", op->origin, op->source);
	if (idmap_tree(tree, userns))
		return;
	int saved = errno;
	cleanup_free char *hint = idmap_hint();
	if (hint)
		die("idmap: %s %s: %s; %s", op->origin, op->source, strerror(saved), hint);
	struct statfs sf;
	char buf[FS_NAME_MAX];
	const char *fs = fstatfs(src, &sf) == 0 ? fs_type_name(sf.f_type, buf) : "an unknown file system";
	cleanup_fd int top = open_tree(src, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	if (top >= 0 && mount_setattr(top, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
		die("idmap: %s %s is on %s, but a file system mounted below it does not support idmapped mounts (%s); "
		    "it is not mounted without the mapping",
		    op->origin, op->source, fs, strerror(saved));
	die("idmap: %s %s is on %s, which does not support idmapped mounts (%s); it is not mounted without the "
	    "mapping",
	    op->origin, op->source, fs, strerror(saved));
}

/* Clones the host tree at source into a detached mount and records what
 * the source was. Returns -1 if it is optional and absent. */
static int clone_host_tree(const struct plan *pl, const struct mount_op *op, int userns, struct stat *st)
{
	if (!op->source && (op->flags & MF_OPTIONAL))
		return -1; /* absent when the plan was made */
	/* A persistent home is made here, and the directory checked is the
	 * one cloned (home.c). */
	cleanup_fd int src = (op->flags & MF_PERSIST)
	                         ? home_persist_open(pl)
	                         : open_how(AT_FDCWD, op->source, O_PATH, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (src < 0) {
		if (errno == ENOENT && (op->flags & MF_OPTIONAL))
			return -1;
		die_with_error("%s %s: open source %s", op->origin, op->dest, op->source);
	}
	if (fstat(src, st) < 0)
		die_with_error("%s %s: stat source %s", op->origin, op->dest, op->source);
	if ((op->flags & (MF_PROJECT | MF_HOME)) && !S_ISDIR(st->st_mode))
		die("%s %s: %s is no longer a directory", op->origin, op->dest, op->source);
	int tree = open_tree(src, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		die_with_error("%s %s: clone %s", op->origin, op->dest, op->source);
	if (op->flags & MF_IDMAP)
		idmap_clone(op, src, tree, userns);
	unsigned long long attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (op->flags & MF_RO)
		attr |= MOUNT_ATTR_RDONLY;
	set_attr(tree, op->dest, attr, true);
	return tree;
}

struct dev_node {
	const char *name;
	unsigned maj, min;
};

static const struct dev_node dev_nodes[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Device nodes cannot be created in a user namespace, so the few a
 * program needs are bound from the host, after checking they are the
 * devices they claim to be. */
static void clone_dev_nodes(int trees[N_ELEMENTS(dev_nodes)])
{
	for (size_t i = 0; i < N_ELEMENTS(dev_nodes); i++) {
		char path[32];
		struct stat st;
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i].name);
		trees[i] = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
		if (trees[i] < 0 || fstat(trees[i], &st) < 0)
			die_with_error("dev: clone host %s", path);
		if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != dev_nodes[i].maj ||
		    minor(st.st_rdev) != dev_nodes[i].min)
			die("dev: host %s is not the expected device", path);
		/* The clone keeps the host /dev's flags, which need not include
		 * nosuid; every mount inside has it. */
		set_attr(trees[i], path, MOUNT_ATTR_NOSUID, false);
	}
}

/* When stdin is a terminal, its device is bound at /dev/console (as
 * bubblewrap does): the terminal lives in the host's devpts, not ours, and
 * this is how ttyname() and `tty` find it. The fd was opened in the host's
 * mount namespace, so the clone goes by path, checked against the fd. */
static int clone_console(void)
{
	struct stat fd0, st;
	char path[PATH_MAX];
	if (!isatty(STDIN_FILENO) || fstat(STDIN_FILENO, &fd0) < 0)
		return -1;
	ssize_t n = readlink("/proc/self/fd/0", path, sizeof(path) - 1);
	if (n <= 0 || (size_t)n >= sizeof(path) - 1 || path[0] != '/')
		return -1;
	path[n] = '\0';
	int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (tree < 0)
		return -1;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID};
	if (fstat(tree, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != fd0.st_rdev ||
	    mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		close(tree);
		return -1;
	}
	return tree;
}

/* ---- building inside the new root ---- */

/* Creates the parent directories of rel beneath root, never following a
 * symlink. Returns an O_PATH fd of the parent (root itself when rel has no
 * slash; *owned says whether the caller must close it). */
static int make_parents(int root, const char *rel, const char **name, bool *owned)
{
	const char *slash = strrchr(rel, '/');
	*owned = false;
	if (!slash) {
		*name = rel;
		return root;
	}
	int dfd = root;
	const char *p = rel;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (p[n] == '\0') {
			*name = p;
			*owned = dfd != root;
			return dfd;
		}
		cleanup_free char *comp = xstrndup(p, n);
		if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST)
			die_with_error("create mount point /%.*s", (int)(p - rel + n), rel);
		int next = open_beneath(dfd, comp, O_DIRECTORY);
		if (next < 0)
			die_with_error("open /%.*s (a symlink or not a directory?)", (int)(p - rel + n), rel);
		if (dfd != root)
			close(dfd);
		dfd = next;
		p += n + 1;
	}
}

/* Makes sure rel exists beneath root as a directory or a file, to mount
 * on, and returns an O_PATH fd of it. Creating first and opening second
 * costs two calls whether or not it existed. */
static int make_mountpoint(int root, const char *rel, bool dir)
{
	const char *name;
	bool owned;
	int parent = make_parents(root, rel, &name, &owned);
	int r = dir ? mkdirat(parent, name, 0755) : mknodat(parent, name, S_IFREG | 0444, 0);
	if (r < 0 && errno != EEXIST)
		die_with_error("create mount point /%s", rel);
	int fd = open_beneath(parent, name, 0);
	if (fd < 0)
		die_with_error("open mount point /%s", rel);
	if (owned)
		close(parent);
	return fd;
}

/* A mount step refused with errno EACCES or EPERM: the line names the
 * step, the error and, under a confining AppArmor profile (a container's
 * default), that profile and how to lift it. Exits 125. */
static void die_mount_denied(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_mount_denied(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *step = xvasprintf(fmt, ap);
	va_end(ap);
	cleanup_free char *hint = mount_denied_hint();
	if (hint)
		die("%s: %s; %s", step, strerror(err), hint);
	errno = err;
	die_with_error("%s", step);
}

static void attach(int tree, int target, const char *what)
{
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0)
		return;
	if (errno == EACCES || errno == EPERM)
		die_mount_denied("mount %s", what);
	die_with_error("mount %s", what);
}

/* Confirms that what is now visible at rel is the tree we attached: same
 * device and inode as the source we opened. */
static void verify_attached(int root, const char *rel, const struct stat *want, const char *what)
{
	struct stat got;
	cleanup_fd int fd = open_beneath(root, rel, 0);
	if (fd < 0 || fstat(fd, &got) < 0)
		die_with_error("verify mount %s", what);
	if (want->st_dev != got.st_dev || want->st_ino != got.st_ino)
		die("verify mount %s: the mount point changed during setup", what);
}

/* A new file system of type, detached; dies naming the step. A new proc
 * refused (EPERM: mnt_too_revealing, in a user namespace) says why. */
static int fresh_fs(const char *type, const char *const *opts, unsigned attrs, const char *what)
{
	cleanup_fd int fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		die_with_error("mount %s: fsopen %s", what, type);
	for (; opts && *opts; opts += 2) {
		int r = opts[1] ? fsconfig(fs, FSCONFIG_SET_STRING, opts[0], opts[1], 0)
		                : fsconfig(fs, FSCONFIG_SET_FLAG, opts[0], NULL, 0);
		if (r < 0)
			die_with_error("mount %s: option %s", what, opts[0]);
	}
	const char *step = "create";
	int m = -1;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
		step = "fsmount";
		m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	}
	if (m < 0 && errno == EPERM && strcmp(type, "proc") == 0) {
		cleanup_free char *hint = proc_mount_hint();
		die("mount %s: %s %s: %s; %s", what, step, type, strerror(EPERM), hint);
	}
	if (m < 0 && (errno == EACCES || errno == EPERM))
		die_mount_denied("mount %s: %s %s", what, step, type);
	if (m < 0)
		die_with_error("mount %s: %s %s", what, step, type);
	return m;
}

/* size= for a tmpfs the sandbox can write (plan_tmpfs_size): its pages
 * are memory, and a file system that outgrows the memory limit would hold
 * them past the cgroup's reach (a file outlives the process charged for
 * it). "0" would mean no limit to the kernel, so none is never written. */
static const char *tmpfs_size(const struct plan *pl, char buf[32])
{
	uint64_t size = plan_tmpfs_size(pl);
	if (!size)
		return NULL;
	snprintf(buf, 32, "%llu", (unsigned long long)size);
	return buf;
}

static void mount_tmpfs(const struct plan *pl, int root, const struct mount_op *op)
{
	char uid[16], gid[16], size[32];
	const char *rel = op->dest + 1;
	bool sticky = strcmp(op->dest, "/tmp") == 0 || strcmp(op->dest, "/var/tmp") == 0;
	snprintf(uid, sizeof(uid), "%u", (unsigned)pl->run_uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)pl->run_gid);
	const char *sz = tmpfs_size(pl, size);
	/* In a user namespace the tmpfs already belongs to the mapped user;
	 * as root it must be handed to the account the command runs as. */
	const char *opts_sticky[] = {"mode", "1777", sz ? "size" : NULL, sz, NULL};
	const char *opts_owned[] = {
	    "mode", (op->flags & MF_HOME) ? "0700" : "0755", "uid", uid, "gid", gid, sz ? "size" : NULL, sz, NULL};
	cleanup_fd int m =
	    fresh_fs("tmpfs", sticky ? opts_sticky : opts_owned, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, op->dest);
	cleanup_fd int target = make_mountpoint(root, rel, true);
	attach(m, target, op->dest);
}

/* [secrets]: a private tmpfs just big enough, filled through its fd while
 * still detached (nothing else can see it), then made read-only and
 * attached: the command reads its secrets and can change nothing there. */
static void mount_secrets(const struct plan *pl, int root, const struct mount_op *op, const struct secret_values *sv)
{
	char uid[16], gid[16], size[32], inodes[16];
	snprintf(uid, sizeof(uid), "%u", (unsigned)pl->run_uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)pl->run_gid);
	snprintf(size, sizeof(size), "%zu", secrets_bytes(sv));
	snprintf(inodes, sizeof(inodes), "%zu", sv->n + 4);
	const char *opts[] = {"mode", "0500", "uid", uid, "gid", gid, "size", size, "nr_inodes", inodes, NULL};
	cleanup_fd int m = fresh_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, op->dest);
	secrets_write(pl, m, sv);
	set_attr(m, op->dest, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false);
	cleanup_fd int target = make_mountpoint(root, op->dest + 1, true);
	attach(m, target, op->dest);
}

static void mount_proc(int root, const struct mount_op *op)
{
	cleanup_fd int m = fresh_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "/proc");
	cleanup_fd int target = make_mountpoint(root, op->dest + 1, true);
	attach(m, target, "/proc");
	/* As in bubblewrap: these are global kernel knobs, not per-namespace
	 * state, so they are read-only whatever uid the command has. */
	static const char *const ro_paths[] = {"sys", "sysrq-trigger", "irq", "bus"};
	for (size_t i = 0; i < N_ELEMENTS(ro_paths); i++) {
		cleanup_fd int t = open_tree(m, ro_paths[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (t < 0 && errno == ENOENT)
			continue;
		if (t < 0)
			die_with_error("mount /proc/%s: clone", ro_paths[i]);
		set_attr(t, "/proc (read-only parts)", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true);
		if (move_mount(t, "", m, ro_paths[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
			die_with_error("mount /proc/%s read-only", ro_paths[i]);
	}
}

static void dev_symlink(int dev, const char *target, const char *name)
{
	if (symlinkat(target, dev, name) < 0)
		die_with_error("dev: symlink /dev/%s", name);
}

static void mount_dev(const struct plan *pl, int root, const struct mount_op *op,
                      const int node_trees[N_ELEMENTS(dev_nodes)], int console)
{
	static const char *const dev_opts[] = {"mode", "0755", NULL};
	static const char *const pts_opts[] = {"newinstance", NULL, "ptmxmode", "0666", "mode", "0620", NULL};
	char size[32];
	const char *sz = tmpfs_size(pl, size);
	const char *const shm_opts[] = {"mode", "1777", sz ? "size" : NULL, sz, NULL};

	cleanup_fd int m = fresh_fs("tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev");
	/* Populate the detached tmpfs through its fd before attaching it. */
	for (size_t i = 0; i < N_ELEMENTS(dev_nodes); i++)
		if (mknodat(m, dev_nodes[i].name, S_IFREG | 0666, 0) < 0)
			die_with_error("dev: create /dev/%s", dev_nodes[i].name);
	if (console >= 0 && mknodat(m, "console", S_IFREG | 0600, 0) < 0)
		die_with_error("dev: create /dev/console");
	if (mkdirat(m, "pts", 0755) < 0 || mkdirat(m, "shm", 01777) < 0)
		die_with_error("dev: create /dev/pts and /dev/shm");
	dev_symlink(m, "pts/ptmx", "ptmx");
	dev_symlink(m, "/proc/self/fd", "fd");
	dev_symlink(m, "/proc/self/fd/0", "stdin");
	dev_symlink(m, "/proc/self/fd/1", "stdout");
	dev_symlink(m, "/proc/self/fd/2", "stderr");

	cleanup_fd int target = make_mountpoint(root, op->dest + 1, true);
	attach(m, target, "/dev");
	for (size_t i = 0; i < N_ELEMENTS(dev_nodes); i++)
		if (move_mount(node_trees[i], "", m, dev_nodes[i].name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			die_with_error("dev: bind /dev/%s", dev_nodes[i].name);
	if (console >= 0 && move_mount(console, "", m, "console", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die_with_error("dev: bind the terminal at /dev/console");
	cleanup_fd int pts = fresh_fs("devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev/pts");
	if (move_mount(pts, "", m, "pts", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die_with_error("mount /dev/pts");
	cleanup_fd int shm =
	    fresh_fs("tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "/dev/shm");
	if (move_mount(shm, "", m, "shm", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die_with_error("mount /dev/shm");
	/* Nothing may be created in /dev itself once it is populated. */
	set_attr(m, "/dev", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);
}

static void mount_bind(int root, const struct mount_op *op, int tree, const struct stat *st)
{
	if (tree < 0)
		return; /* ro_try or rw_try whose source is absent */
	cleanup_fd int target = make_mountpoint(root, op->dest + 1, S_ISDIR(st->st_mode));
	attach(tree, target, op->dest);
	verify_attached(root, op->dest + 1, st, op->dest);
}

static void mount_symlink(int root, const struct mount_op *op)
{
	const char *name;
	bool owned;
	int parent = make_parents(root, op->dest + 1, &name, &owned);
	if (symlinkat(op->source, parent, name) < 0) {
		/* Inside a read-write bind the link may be there from an earlier
		 * run: the same link is fine (as in bubblewrap 0.9), anything
		 * else is not ours to replace. */
		char have[PATH_MAX];
		ssize_t n = errno == EEXIST ? readlinkat(parent, name, have, sizeof(have) - 1) : -1;
		if (n < 0 || (size_t)n != strlen(op->source) || memcmp(have, op->source, (size_t)n) != 0) {
			if (n >= 0)
				die("symlink %s -> %s: %s is already there, a symlink to %.*s", op->dest, op->source,
				    op->dest, (int)n, have);
			if (errno == EINVAL)
				die("symlink %s -> %s: %s is already there and is not a symlink", op->dest, op->source,
				    op->dest);
			die_with_error("symlink %s -> %s", op->dest, op->source);
		}
	}
	if (owned)
		close(parent);
}

/* Pins and protects bind a project path onto itself: a mount point cannot
 * be renamed or removed, and a read-only one cannot be written. */
static void mount_self(int root, const struct mount_op *op, bool read_only)
{
	cleanup_fd int target = open_beneath(root, op->dest + 1, op->kind == MOUNT_PIN ? O_DIRECTORY : 0);
	if (target < 0)
		die_with_error("%s %s: open (changed during setup?)", op->origin, op->dest);
	struct stat st;
	if (fstat(target, &st) < 0)
		die_with_error("%s %s: stat", op->origin, op->dest);
	cleanup_fd int tree = open_tree(target, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		die_with_error("%s %s: clone", op->origin, op->dest);
	if (read_only)
		set_attr(tree, op->dest, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true);
	attach(tree, target, op->dest);
	verify_attached(root, op->dest + 1, &st, op->dest);
}

static void mount_mask(int root, const struct mount_op *op)
{
	struct stat st;
	cleanup_fd int target = open_beneath(root, op->dest + 1, 0);
	if (target < 0 && errno == ENOENT && (op->flags & MF_OPTIONAL))
		return;
	if (target < 0 || fstat(target, &st) < 0)
		die_with_error("mask %s: open", op->dest);
	const char *src = S_ISDIR(st.st_mode) ? EMPTY_DIR : EMPTY_FILE;
	cleanup_fd int tree = open_tree(root, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		die_with_error("mask %s: clone empty %s", op->dest, S_ISDIR(st.st_mode) ? "directory" : "file");
	set_attr(tree, op->dest, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false);
	attach(tree, target, op->dest);
}

/* The host's info/exclude, read while the host is in view. */
static char *read_host_exclude(const struct mount_op *op)
{
	if (op->flags & MF_CREATE)
		return xstrdup(""); /* our own empty placeholder */
	cleanup_fd int fd = open_how(AT_FDCWD, op->source, O_RDONLY | O_NOCTTY | O_NONBLOCK,
	                             RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		die_with_error("git exclude %s: open", op->dest);
	size_t len;
	char *text = read_regular_file(fd, MAX_EXCLUDE, &len);
	if (!text && errno == EFBIG)
		die("git exclude %s: not a regular file of at most 1 MiB", op->dest);
	if (!text)
		die_with_error("git exclude %s: read", op->dest);
	return text;
}

/* A read-only copy of info/exclude with the guarded paths appended, made
 * in the new root (a tmpfs) and bound over the repository's file. */
static void mount_git_exclude(int root, const struct mount_op *op, size_t i, const char *host_text)
{
	char name[64];
	snprintf(name, sizeof(name), EXCLUDE_SRC, i);
	cleanup_fd int f = openat(root, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (f < 0)
		die_with_error("git exclude %s: create the copy", op->dest);
	size_t hl = strlen(host_text);
	static const char header[] = "# cordon: paths guarded in this sandbox (the host's file is unchanged)\n";
	if ((hl && write_all(f, host_text, hl) < 0) || (hl && host_text[hl - 1] != '\n' && write_all(f, "\n", 1) < 0) ||
	    write_all(f, header, sizeof(header) - 1) < 0 || write_all(f, op->content, strlen(op->content)) < 0)
		die_with_error("git exclude %s: write the copy", op->dest);
	cleanup_fd int target = open_beneath(root, op->dest + 1, 0);
	if (target < 0)
		die_with_error("git exclude %s: open", op->dest);
	cleanup_fd int tree = open_tree(root, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		die_with_error("git exclude %s: clone the copy", op->dest);
	set_attr(tree, op->dest, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false);
	attach(tree, target, op->dest);
	if (unlinkat(root, name, 0) < 0)
		die_with_error("git exclude %s: remove the source of the copy", op->dest);
}

static void pivot_into(int root)
{
	if (fchdir(root) < 0)
		die_with_error("pivot_root: chdir to new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die_with_error("pivot_root");
	/* The old root is now stacked on top of the new one at "/". */
	if (umount2(".", MNT_DETACH) < 0)
		die_with_error("pivot_root: detach the host's root");
	if (chdir("/") < 0)
		die_with_error("pivot_root: chdir /");
}

static bool has_masks(const struct plan *pl)
{
	for (size_t i = 0; i < pl->n_mounts; i++)
		if (pl->mounts[i].kind == MOUNT_MASK)
			return true;
	return false;
}

void mounts_apply(const struct plan *pl, int userns, const struct secret_values *secrets)
{
	/* Directories we create in the new root must be traversable by the
	 * command whatever umask the invoker had; exec_command restores it. */
	umask(022);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_with_error("make mount propagation private");

	int node_trees[N_ELEMENTS(dev_nodes)];
	cleanup_free int *trees = xcalloc(pl->n_mounts, sizeof(int));
	cleanup_free struct stat *sts = xcalloc(pl->n_mounts, sizeof(struct stat));
	cleanup_free char **excludes = xcalloc(pl->n_mounts, sizeof(char *));
	for (size_t i = 0; i < pl->n_mounts; i++) {
		trees[i] = pl->mounts[i].kind == MOUNT_BIND ? clone_host_tree(pl, &pl->mounts[i], userns, &sts[i]) : -1;
		if (pl->mounts[i].kind == MOUNT_GITEXCLUDE)
			excludes[i] = read_host_exclude(&pl->mounts[i]);
	}
	clone_dev_nodes(node_trees);
	cleanup_fd int console = clone_console();

	cleanup_fd int root = fresh_fs("tmpfs", (const char *const[]){"mode", "0755", NULL},
	                               MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "new root");
	if (move_mount(root, "", AT_FDCWD, SCRATCH, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die_with_error("mount new root on " SCRATCH);

	/* Sources for masks: an empty file and directory in the new root,
	 * removed again before the root is made read-only. */
	bool masks = has_masks(pl);
	if (masks && (mknodat(root, EMPTY_FILE, S_IFREG | 0444, 0) < 0 || mkdirat(root, EMPTY_DIR, 0555) < 0))
		die_with_error("create mask sources");

	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		switch (op->kind) {
		case MOUNT_BIND:
			mount_bind(root, op, trees[i], &sts[i]);
			break;
		case MOUNT_TMPFS:
			mount_tmpfs(pl, root, op);
			break;
		case MOUNT_SYMLINK:
			mount_symlink(root, op);
			break;
		case MOUNT_PROC:
			mount_proc(root, op);
			break;
		case MOUNT_DEV:
			mount_dev(pl, root, op, node_trees, console);
			break;
		case MOUNT_PIN:
			mount_self(root, op, false);
			break;
		case MOUNT_PROTECT:
			mount_self(root, op, true);
			break;
		case MOUNT_MASK:
			mount_mask(root, op);
			break;
		case MOUNT_GITEXCLUDE:
			mount_git_exclude(root, op, i, excludes[i]);
			free(excludes[i]);
			break;
		case MOUNT_SECRETS:
			mount_secrets(pl, root, op, secrets);
			break;
		}
		/* Copies into the home land in its own file system: nothing is
		 * mounted beneath it yet, and the host is still in view. */
		if ((op->flags & MF_HOME) && pl->n_home_copies) {
			cleanup_fd int home = open_beneath(root, op->dest + 1, O_DIRECTORY);
			if (home < 0)
				die_with_error("home_copy: open the agent's home %s", op->dest);
			home_copy_apply(pl, home);
		}
		if (trees[i] >= 0)
			close(trees[i]);
	}
	for (size_t i = 0; i < N_ELEMENTS(dev_nodes); i++)
		close(node_trees[i]);

	if (masks && (unlinkat(root, EMPTY_FILE, 0) < 0 || unlinkat(root, EMPTY_DIR, AT_REMOVEDIR) < 0))
		die_with_error("remove mask sources");
	set_attr(root, "/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false);
	pivot_into(root);
}
