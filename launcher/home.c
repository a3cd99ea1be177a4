/* The agent's home: the persistent directory of `home = persist`, and the
 * copies `home_copy` makes into the home at every start.
 *
 * Both run in pid 1, in the new mount namespace, while the host's tree is
 * still in view (before pivot_root):
 *  - the persistent directory is made and checked there, and the fd that
 *    was checked is the one cloned (open_tree) and bound: a clone must come
 *    from the caller's own mount namespace, so the launcher could not hand
 *    one over;
 *  - the copies are made once the home is mounted in the new root and
 *    before anything is mounted beneath it, so they land in the home's own
 *    file system (the persistent directory, the tmpfs, or the bound
 *    directory) with one code path for every home mode. A child process
 *    does it, with the invoker's file system identity for reading and the
 *    agent's for writing: it never reads what the invoker could not.
 * Nothing here follows a symlink below a trusted directory: every
 * component is opened with O_NOFOLLOW relative to its parent's fd, and
 * what the agent left in its home is replaced, never followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cordon.h"

/* Deeper trees are refused rather than recursed into. */
#define MAX_DEPTH 64

/* ---- the persistent directory ---- */

/* Makes (if missing) and opens the directory name below dfd, never
 * following a symlink; checks who owns it and that only its owner can
 * write it. */
static int persist_step(const struct plan *pl, int dfd, const char *name, const char *path, bool last)
{
	/* Below the state root only root (as root) or the invoker writes;
	 * the last directory is the agent's. */
	uid_t owner = last ? pl->run_uid : pl->privileged ? 0 : pl->invoker_uid;
	mode_t mode = last || !pl->privileged ? 0700 : 0711;
	bool made = mkdirat(dfd, name, mode) == 0;
	if (!made && errno != EEXIST)
		die_with_error("home: create %s", path);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		die("home: %s is a symlink or not a directory; cordon does not follow it (remove it)", path);
	if (fd < 0)
		die_with_error("home: open %s", path);
	if (made && last && pl->privileged && fchown(fd, pl->run_uid, pl->run_gid) < 0)
		die_with_error("home: hand %s to %s", path, pl->run_user);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_with_error("home: stat %s", path);
	if (st.st_uid != owner)
		die("home: %s is owned by uid %u, not %u; cordon refuses it", path, (unsigned)st.st_uid,
		    (unsigned)owner);
	if (st.st_mode & 022)
		die("home: %s is writable by its group or others (mode %o); cordon refuses it", path,
		    (unsigned)(st.st_mode & 07777));
	return fd;
}

int home_persist_open(const struct plan *pl)
{
	const char *root = pl->home_state_root;
	size_t rl = strlen(root);
	if (!pl->home_persist || strncmp(pl->home_persist, root, rl) != 0 || pl->home_persist[rl] != '/')
		die("home: %s is not below %s", pl->home_persist ? pl->home_persist : "?", root);
	/* The state root itself is trusted: root's /var/lib, or the home the
	 * password database gives the invoker. */
	int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die_with_error("home: open %s", root);
	const char *p = pl->home_persist + rl + 1;
	for (;;) {
		size_t n = strcspn(p, "/");
		bool last = p[n] == '\0';
		cleanup_free char *name = xstrndup(p, n);
		cleanup_free char *path = xstrndup(pl->home_persist, (size_t)(p - pl->home_persist) + n);
		int next = persist_step(pl, dfd, name, path, last);
		close(dfd);
		dfd = next;
		if (last)
			return dfd;
		p += n + 1;
	}
}

/* ---- home_copy ---- */

struct copier {
	bool switch_ids; /* as root: read as the invoker, write as the agent */
	uid_t read_uid, write_uid;
	gid_t read_gid, write_gid;
	unsigned long long bytes;
	size_t files;
	const char *entry; /* the home_copy value, for messages */
};

/* The file system identity for what comes next. As root the copy never
 * reads with root's rights: fsuid/fsgid are the invoker's (a non-zero
 * fsuid also drops the capabilities that bypass file permissions), and the
 * files it writes are the agent's own. */
static void become(const struct copier *c, bool reader)
{
	if (!c->switch_ids)
		return;
	uid_t u = reader ? c->read_uid : c->write_uid;
	gid_t g = reader ? c->read_gid : c->write_gid;
	setfsgid(g);
	setfsuid(u);
	if ((uid_t)setfsuid((uid_t)-1) != u || (gid_t)setfsgid((gid_t)-1) != g)
		die("home_copy: switch the file system identity to uid %u, gid %u", (unsigned)u, (unsigned)g);
}

__attribute__((noreturn)) static void over_cap(const struct copier *c)
{
	die("home_copy %s: more than %llu MiB or %d files to copy at one start (the cap of all home_copy entries "
	    "together); copy less, or bind it with ro =",
	    c->entry, HOME_COPY_MAX_BYTES >> 20, HOME_COPY_MAX_FILES);
}

/* Removes whatever is at name in the agent's home (a file, a symlink, a
 * tree): never followed, whatever the agent planted there. */
static void remove_entry(int dir, const char *name, const char *shown, int depth)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return;
		die_with_error("home_copy: stat %s in the agent's home", shown);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dir, name, 0) < 0)
			die_with_error("home_copy: replace %s in the agent's home", shown);
		return;
	}
	if (depth > MAX_DEPTH)
		die("home_copy: %s in the agent's home is more than %d directories deep", shown, MAX_DEPTH);
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0700) < 0)
		die_with_error("home_copy: open %s in the agent's home", shown);
	DIR *d = fdopendir(fd);
	if (!d)
		die_with_error("home_copy: read %s in the agent's home", shown);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			remove_entry(dirfd(d), e->d_name, shown, depth + 1);
	closedir(d);
	if (unlinkat(dir, name, AT_REMOVEDIR) < 0)
		die_with_error("home_copy: replace %s in the agent's home", shown);
}

/* The directory name below dir in the agent's home, made if missing; a
 * symlink or file the agent left there is replaced. */
static int dest_dir(int dir, const char *name, const char *shown)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		remove_entry(dir, name, shown, 0);
	else if (fd < 0 && errno != ENOENT)
		die_with_error("home_copy: open %s in the agent's home", shown);
	if (fd < 0) {
		if (mkdirat(dir, name, 0700) < 0)
			die_with_error("home_copy: create %s in the agent's home", shown);
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			die_with_error("home_copy: open %s in the agent's home", shown);
	}
	return fd;
}

static void copy_entry(struct copier *c, int sdir, int ddir, const char *name, const char *shown, int depth);

static void copy_file(struct copier *c, int sdir, int ddir, const char *name, const char *shown)
{
	become(c, true);
	cleanup_fd int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (in < 0)
		die_with_error("home_copy: read %s as uid %u", shown, (unsigned)c->read_uid);
	struct stat st;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
		die("home_copy: %s changed while it was copied", shown);
	if ((unsigned long long)st.st_size > HOME_COPY_MAX_BYTES - c->bytes)
		over_cap(c);
	become(c, false);
	/* Whatever is at the destination goes first: a symlink the agent
	 * planted there (to a file of the invoker's, say) is removed, not
	 * written through; O_EXCL makes sure of it. */
	remove_entry(ddir, name, shown, 0);
	cleanup_fd int out =
	    openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (st.st_mode & 0777) | 0600);
	if (out < 0)
		die_with_error("home_copy: create %s in the agent's home", shown);
	char buf[65536];
	for (;;) {
		ssize_t r = TEMP_FAILURE_RETRY_INT(read(in, buf, sizeof(buf)));
		if (r < 0)
			die_with_error("home_copy: read %s", shown);
		if (r == 0)
			break;
		c->bytes += (unsigned long long)r;
		if (c->bytes > HOME_COPY_MAX_BYTES)
			over_cap(c);
		if (write_all(out, buf, (size_t)r) < 0)
			die_with_error("home_copy: write %s in the agent's home", shown);
	}
}

static void copy_dir(struct copier *c, int sdir, int ddir, const char *name, const char *shown, int depth)
{
	if (depth > MAX_DEPTH)
		die("home_copy: %s is more than %d directories deep", shown, MAX_DEPTH);
	become(c, true);
	int in = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		die_with_error("home_copy: read %s as uid %u", shown, (unsigned)c->read_uid);
	struct stat st;
	if (fstat(in, &st) < 0)
		die_with_error("home_copy: stat %s", shown);
	DIR *d = fdopendir(in);
	if (!d)
		die_with_error("home_copy: read %s", shown);
	become(c, false);
	cleanup_fd int out = dest_dir(ddir, name, shown);
	struct dirent *e;
	/* readdir reads the directory opened above: no permission is checked
	 * again, whichever identity is current. */
	while ((errno = 0, e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		cleanup_free char *sub = xasprintf("%s/%s", shown, e->d_name);
		copy_entry(c, dirfd(d), out, e->d_name, sub, depth + 1);
	}
	if (errno)
		die_with_error("home_copy: read %s", shown);
	closedir(d);
	become(c, false);
	if (fchmod(out, (st.st_mode & 0777) | 0700) < 0)
		die_with_error("home_copy: set the mode of %s in the agent's home", shown);
}

/* One entry of the invoker's home, file or tree. A symlink is skipped
 * with a warning wherever it is: its target may be anything the invoker
 * can read (~/.ssh/id_ed25519), which the copy would hand to the agent. */
static void copy_entry(struct copier *c, int sdir, int ddir, const char *name, const char *shown, int depth)
{
	struct stat st;
	become(c, true);
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		die_with_error("home_copy: stat %s as uid %u", shown, (unsigned)c->read_uid);
	if (S_ISLNK(st.st_mode)) {
		warn_msg("home_copy: %s is a symlink; not copied (cordon does not follow symlinks it copies)", shown);
		return;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		warn_msg("home_copy: %s is not a regular file or a directory; not copied", shown);
		return;
	}
	if (++c->files > HOME_COPY_MAX_FILES)
		over_cap(c);
	if (S_ISREG(st.st_mode))
		copy_file(c, sdir, ddir, name, shown);
	else
		copy_dir(c, sdir, ddir, name, shown, depth);
}

/* One home_copy entry: the directories on the way are walked without
 * following a symlink on either side. */
static void copy_one(struct copier *c, const struct plan *pl, const struct home_copy *hc, int home)
{
	cleanup_free char *shown = xasprintf("~/%s", hc->rel);
	c->entry = shown;
	become(c, true);
	/* The invoker's home, as the password database names it, is where
	 * the walk starts (the same trust as ~ everywhere in a policy). */
	cleanup_fd int src = open(pl->invoker_home, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		die_with_error("home_copy: open %s", pl->invoker_home);
	become(c, false);
	cleanup_fd int dst = fcntl(home, F_DUPFD_CLOEXEC, 3);
	if (dst < 0)
		die_with_error("home_copy: dup");
	const char *p = hc->rel;
	for (;;) {
		size_t n = strcspn(p, "/");
		cleanup_free char *name = xstrndup(p, n);
		cleanup_free char *upto = xasprintf("~/%.*s", (int)(p - hc->rel + (ptrdiff_t)n), hc->rel);
		if (p[n] == '\0') {
			struct stat st;
			become(c, true);
			if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
				warn_msg("home_copy: %s does not exist; nothing copied", shown);
				return;
			}
			copy_entry(c, src, dst, name, shown, 0);
			return;
		}
		become(c, true);
		int next = openat(src, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			warn_msg("home_copy: %s does not exist; nothing copied", shown);
			return;
		}
		if (next < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			warn_msg("home_copy: %s is a symlink or not a directory; %s not copied", upto, shown);
			return;
		}
		if (next < 0)
			die_with_error("home_copy: open %s as uid %u", upto, (unsigned)c->read_uid);
		close(src);
		src = next;
		become(c, false);
		int dnext = dest_dir(dst, name, upto);
		close(dst);
		dst = dnext;
		p += n + 1;
	}
}

static void copier_run(const struct plan *pl, int home)
{
	struct copier c = {.read_uid = pl->invoker_uid,
	                   .read_gid = pl->invoker_gid,
	                   .write_uid = pl->run_uid,
	                   .write_gid = pl->run_gid};
	if (pl->privileged) {
		/* The invoker's primary group only: fewer rights than the
		 * invoker has, never more. */
		if (setgroups(1, &pl->invoker_gid) < 0)
			die_with_error("home_copy: set groups");
		c.switch_ids = true;
	} else {
		/* In the user namespace pid 1 is the invoker already; without
		 * capabilities it is the invoker exactly. */
		drop_privileges_to(false, 0, 0);
	}
	for (size_t i = 0; i < pl->n_home_copies; i++)
		copy_one(&c, pl, &pl->home_copies[i], home);
}

void home_copy_apply(const struct plan *pl, int home)
{
	if (!pl->n_home_copies)
		return;
	pid_t pid = fork();
	if (pid < 0)
		die_with_error("home_copy: fork");
	if (pid == 0) {
		copier_run(pl, home);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die_with_error("home_copy: wait");
	/* The child said why it failed (die): pid 1 only passes its status on. */
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		_exit(EXIT_SETUP);
	if (WIFSIGNALED(status))
		die("home_copy: the copy was killed by signal %d", WTERMSIG(status));
}
