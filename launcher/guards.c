/* The host side of mask and protect: placeholders for guarded paths that
 * do not exist yet, and the locks that keep every run's guards in place.
 *
 * A guard is a mount inside one sandbox's namespace on top of a path in
 * the project. If that path is removed on the host, the kernel detaches
 * the mount in every namespace, so a placeholder one run made must not be
 * removed while any other run relies on it. Each run therefore holds a
 * shared flock(2) on every directory that contains a path it guards, from
 * before it looks at those paths until its sandbox is gone (pid 1 holds it
 * too, for a sandbox that outlives its launcher). A placeholder is removed
 * only under an exclusive lock on its directory: by its run at exit when
 * no other run holds the directory, otherwise by a short-lived helper that
 * waits for the last one.
 *
 * A run killed with SIGKILL cannot clean up. Every placeholder is written
 * down before it is made, in a record only cordon can write
 * (/var/lib/cordon/placeholders as root, ~/.local/state/cordon/placeholders
 * otherwise), and the next run removes what a dead run left. Nothing is
 * removed that is not provably the object cordon made: a placeholder is
 * created under a name no one else uses (the run's random id), its device,
 * inode and birth time are recorded, and only then is it renamed into
 * place; removal checks all of that and that it is still empty. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cordon.h"

#define PLACEHOLDER_PREFIX ".cordon-placeholder-"
#define MAX_RECORD         ((size_t)1 << 20)
/* How long a run waits for another run's cleanup to let go of a directory
 * before it gives up (exit 125). Cleanup holds it for microseconds; only a
 * process holding the lock on purpose makes this expire. */
#define LOCK_WAIT_MS 10000

static int open_how(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Opens a canonical host directory for locking; no symlink anywhere. */
static int open_dir(const char *path)
{
	return open_how(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOCTTY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static bool is_guard(const struct mount_op *op)
{
	switch (op->kind) {
	case MOUNT_PIN:
	case MOUNT_PROTECT:
	case MOUNT_GITEXCLUDE:
		return true;
	case MOUNT_MASK:
		return op->source != NULL; /* a mask outside the projects touches nothing on the host */
	default:
		return false;
	}
}

/* ---- locks ---- */

static bool lock_shared(int fd, const char *dir)
{
	for (int waited = 0;; waited += 10) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR)
			die_with_error("guards: lock %s", dir);
		if (waited >= LOCK_WAIT_MS)
			return false;
		struct timespec ts = {0, 10L * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static bool holds(const struct guard_state *gs, const struct stat *st)
{
	for (size_t i = 0; i < gs->n_locks; i++)
		if (gs->locks[i].dev == st->st_dev && gs->locks[i].ino == st->st_ino)
			return true;
	return false;
}

/* Locks dir (shared) unless already held. Returns false if it does not
 * exist (a placeholder directory this run has yet to make). */
static bool lock_dir(struct guard_state *gs, const char *dir)
{
	cleanup_fd int fd = open_dir(dir);
	if (fd < 0) {
		if (errno == ENOENT)
			return false;
		die_with_error("guards: open %s", dir);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_with_error("guards: stat %s", dir);
	if (holds(gs, &st))
		return true;
	if (!lock_shared(fd, dir))
		die("guards: %s stayed locked by another process for %d s", dir, LOCK_WAIT_MS / 1000);
	gs->locks = xreallocarray(gs->locks, gs->n_locks + 1, sizeof(*gs->locks));
	gs->locks[gs->n_locks++] = (struct guard_lock){steal_fd(&fd), xstrdup(dir), st.st_dev, st.st_ino};
	return true;
}

void guards_lock(const struct plan *pl, struct guard_state *gs)
{
	for (size_t i = 0; i < pl->n_mounts; i++) {
		if (!is_guard(&pl->mounts[i]))
			continue;
		cleanup_free char *dir = dirname_of(pl->mounts[i].source);
		(void)lock_dir(gs, dir);
	}
}

/* What the plan assumed of each guarded path must still hold now that no
 * other run can remove it: what existed still exists, as the same type. */
bool guards_still_valid(const struct plan *pl)
{
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		if (!is_guard(op) || (op->flags & MF_CREATE))
			continue;
		struct stat st;
		if (lstat(op->source, &st) < 0 || S_ISLNK(st.st_mode))
			return false;
		if (op->kind == MOUNT_PIN && !S_ISDIR(st.st_mode))
			return false;
		if (op->kind == MOUNT_GITEXCLUDE && !S_ISREG(st.st_mode))
			return false;
		if (op->kind != MOUNT_PIN && op->kind != MOUNT_GITEXCLUDE &&
		    !!(op->flags & MF_DIR) != !!S_ISDIR(st.st_mode))
			return false;
	}
	return true;
}

void guards_unlock(struct guard_state *gs)
{
	for (size_t i = 0; i < gs->n_locks; i++) {
		close(gs->locks[i].fd);
		free(gs->locks[i].dir);
	}
	free(gs->locks);
	gs->locks = NULL;
	gs->n_locks = 0;
}

/* ---- the record ---- */

static void hex_encode(buf_t *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char two[2] = {hex[*p >> 4], hex[*p & 15]};
		buf_add(b, two, 2);
	}
	if (!*s)
		buf_puts(b, "-");
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* NULL for anything hex_encode would not have written. */
static char *hex_decode(const char *s)
{
	if (strcmp(s, "-") == 0)
		return xstrdup("");
	size_t n = strlen(s);
	if (n == 0 || n % 2)
		return NULL;
	char *out = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[i] = (char)(hi * 16 + lo);
	}
	out[n / 2] = '\0';
	return out;
}

static void record_line(struct guard_state *gs, buf_t *line)
{
	if (write_all(gs->record_fd, line->p, line->len) < 0)
		die_with_error("placeholders: write the record %s", gs->record_path);
	buf_free(line);
}

/* The directory cordon keeps its records in, created if needed. As root
 * it is root's own: nothing the invoker can write is trusted. */
static char *registry_dir(bool privileged, const char *home, bool create)
{
	if (privileged) {
		if (create && ((mkdir("/var/lib/cordon", 0755) < 0 && errno != EEXIST) ||
		               (mkdir("/var/lib/cordon/placeholders", 0700) < 0 && errno != EEXIST)))
			die_with_error("placeholders: create /var/lib/cordon/placeholders");
		struct stat st;
		if (lstat("/var/lib/cordon/placeholders", &st) == 0 && (!S_ISDIR(st.st_mode) || st.st_uid != 0))
			die("placeholders: /var/lib/cordon/placeholders is not a directory owned by root");
		return xstrdup("/var/lib/cordon/placeholders");
	}
	if (!home || home[0] != '/')
		die("placeholders: the invoking user has no home directory to keep records in");
	static const char *const parts[] = {"/.local", "/.local/state", "/.local/state/cordon",
	                                    "/.local/state/cordon/placeholders"};
	char *dir = NULL;
	for (size_t i = 0; i < N_ELEMENTS(parts); i++) {
		free(dir);
		dir = xasprintf("%s%s", home, parts[i]);
		if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
			die_with_error("placeholders: create %s", dir);
	}
	return dir;
}

void placeholders_prepare(bool privileged, const char *invoker_home)
{
	/* Made before the plan, so that a plan whose writable mounts hold it
	 * masks an existing directory (see plan.c, hide_cordon_state). A
	 * failure here matters only to a run that makes placeholders, which
	 * then stops with the reason. */
	if (privileged) {
		(void)mkdir("/var/lib/cordon", 0755);
		(void)mkdir("/var/lib/cordon/placeholders", 0700);
		return;
	}
	if (!invoker_home || invoker_home[0] != '/')
		return;
	static const char *const parts[] = {"/.local", "/.local/state", "/.local/state/cordon",
	                                    "/.local/state/cordon/placeholders"};
	for (size_t i = 0; i < N_ELEMENTS(parts); i++) {
		cleanup_free char *dir = xasprintf("%s%s", invoker_home, parts[i]);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return;
	}
}

/* ---- making placeholders ---- */

static void record_open(const struct plan *pl, struct guard_state *gs, const char *sandbox_id)
{
	cleanup_free char *dir = registry_dir(pl->privileged, pl->invoker_home, true);
	gs->record_path = xasprintf("%s/%s", dir, sandbox_id);
	gs->record_fd = open(gs->record_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (gs->record_fd < 0)
		die_with_error("placeholders: create the record %s", gs->record_path);
	/* Held while this run (or its cleanup helper) lives: a record whose
	 * lock can be taken belongs to a run that is gone. */
	if (flock(gs->record_fd, LOCK_EX | LOCK_NB) < 0)
		die_with_error("placeholders: lock the record %s", gs->record_path);
}

static void stat_identity(int dfd, const char *name, struct placeholder_id *id)
{
	struct statx stx;
	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME, &stx) < 0)
		die_with_error("placeholders: stat %s", name);
	id->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	id->ino = stx.stx_ino;
	id->btime_sec = (stx.stx_mask & STATX_BTIME) ? stx.stx_btime.tv_sec : 0;
	id->btime_nsec = (stx.stx_mask & STATX_BTIME) ? stx.stx_btime.tv_nsec : 0;
}

static void placeholder_free(struct placeholder *ph)
{
	free(ph->parent);
	free(ph->name);
	free(ph->tmp);
}

/* Makes one placeholder: under a name only this run uses, recorded, then
 * renamed into place without replacing anything. Returns false if the
 * path appeared meanwhile (the sandbox then guards what is there). It is
 * in gs->made from before it exists, under its temporary name until the
 * rename, so a launcher that dies halfway removes it like the others. */
static bool make_one(struct guard_state *gs, const struct mount_op *op, const char *sandbox_id)
{
	cleanup_free char *parent = dirname_of(op->source);
	const char *name = strrchr(op->source, '/') + 1;
	cleanup_fd int pfd = open_dir(parent);
	if (pfd < 0)
		die_with_error("%s %s: open parent directory", op->origin, op->dest);
	struct stat pst;
	if (fstat(pfd, &pst) < 0)
		die_with_error("%s %s: stat parent directory", op->origin, op->dest);
	if (!holds(gs, &pst))
		die("%s %s: parent directory not locked (changed during setup?)", op->origin, op->dest);

	char kind = 'f';
	if (op->flags & MF_DIR)
		kind = 'd';
	else if (op->flags & MF_SELFREF)
		kind = 's';
	cleanup_free char *tmp = xasprintf(PLACEHOLDER_PREFIX "%s-%u", sandbox_id, gs->seq++);
	buf_t line = {0};
	buf_printf(&line, "P %llu %llu ", (unsigned long long)pst.st_dev, (unsigned long long)pst.st_ino);
	hex_encode(&line, parent);
	buf_printf(&line, "\nO %c ", kind);
	hex_encode(&line, tmp);
	buf_puts(&line, " ");
	hex_encode(&line, name);
	buf_puts(&line, "\n");
	record_line(gs, &line);
	gs->made = xreallocarray(gs->made, gs->n_made + 1, sizeof(*gs->made));
	struct placeholder *ph = &gs->made[gs->n_made++];
	*ph = (struct placeholder){xstrdup(parent), xstrdup(name), pst.st_dev, pst.st_ino, {0}, kind, xstrdup(tmp)};

	if (kind == 'd') {
		if (mkdirat(pfd, tmp, 0755) < 0)
			die_with_error("%s %s: create placeholder", op->origin, op->dest);
	} else {
		cleanup_fd int f = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0)
			die_with_error("%s %s: create placeholder", op->origin, op->dest);
		if (kind == 's' && write_all(f, ".", 1) != 1)
			die_with_error("%s %s: write placeholder", op->origin, op->dest);
	}
	/* As root, in someone's project: theirs, like the directory it is in,
	 * so their own runs can put their placeholders inside it too. */
	if (geteuid() == 0 && fchownat(pfd, tmp, pst.st_uid, pst.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		die_with_error("%s %s: give the placeholder to the directory's owner", op->origin, op->dest);
	stat_identity(pfd, tmp, &ph->id);
	buf_printf(&line, "I %llu %llu %lld %u\n", (unsigned long long)ph->id.dev, (unsigned long long)ph->id.ino,
	           (long long)ph->id.btime_sec, ph->id.btime_nsec);
	record_line(gs, &line);

	if (syscall(SYS_renameat2, pfd, tmp, pfd, name, RENAME_NOREPLACE) < 0) {
		int err = errno;
		(void)unlinkat(pfd, tmp, kind == 'd' ? AT_REMOVEDIR : 0);
		if (err == EEXIST) {
			placeholder_free(ph);
			gs->n_made--;
			return false;
		}
		errno = err;
		die_with_error("%s %s: put placeholder in place", op->origin, op->dest);
	}
	free(ph->tmp);
	ph->tmp = NULL;
	return true;
}

static void finish_on_die(void *gs)
{
	guards_finish(gs);
}

void placeholders_create(const struct plan *pl, struct guard_state *gs, const char *sandbox_id)
{
	bool any = false;
	for (size_t i = 0; i < pl->n_mounts; i++)
		any |= (pl->mounts[i].flags & MF_CREATE) != 0;
	if (!any)
		return;
	/* From the first placeholder until guards_finish, a launcher that
	 * dies (a later placeholder that cannot be made, a step of the
	 * launch that fails) removes what it made, as a run that ends does,
	 * rather than leave it to the next run's sweep. */
	die_set_cleanup(finish_on_die, gs);
	record_open(pl, gs, sandbox_id);
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		if (!(op->flags & MF_CREATE))
			continue;
		/* A placeholder inside a placeholder directory made just
		 * before: its directory exists now, and is locked like any. */
		cleanup_free char *parent = dirname_of(op->source);
		if (!lock_dir(gs, parent))
			die("%s %s: parent directory %s is missing", op->origin, op->dest, parent);
		(void)make_one(gs, op, sandbox_id);
	}
}

/* ---- removing placeholders ---- */

static bool same_id(const struct statx *stx, const struct placeholder_id *id)
{
	return makedev(stx->stx_dev_major, stx->stx_dev_minor) == id->dev && stx->stx_ino == id->ino &&
	       (!(stx->stx_mask & STATX_BTIME) ||
	        (stx->stx_btime.tv_sec == id->btime_sec && stx->stx_btime.tv_nsec == id->btime_nsec));
}

/* A file placeholder is still what was made: empty, or "." for a git
 * commondir. */
static bool unchanged_file(int pfd, const char *name, char kind, const struct statx *stx)
{
	if (!S_ISREG(stx->stx_mode) || stx->stx_nlink != 1)
		return false;
	if (kind == 'f')
		return stx->stx_size == 0;
	if (stx->stx_size != 1)
		return false;
	cleanup_fd int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	char c = 0;
	return fd >= 0 && read(fd, &c, 1) == 1 && c == '.';
}

/* Removes the placeholder if it is provably the one made; pfd's directory
 * is locked exclusively. Returns false when it must be tried again later
 * (a directory placeholder that another run's placeholder is still in). */
static bool remove_one(int pfd, const struct placeholder *ph)
{
	struct statx stx;
	if (ph->tmp && statx(pfd, ph->tmp, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0)
		(void)unlinkat(pfd, ph->tmp, ph->kind == 'd' ? AT_REMOVEDIR : 0); /* a name only this run used */
	if (!ph->id.ino || statx(pfd, ph->name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &stx) < 0 ||
	    !same_id(&stx, &ph->id))
		return true;
	if (ph->kind == 'd') {
		if (!S_ISDIR(stx.stx_mode))
			return true;
		if (unlinkat(pfd, ph->name, AT_REMOVEDIR) < 0 && (errno == ENOTEMPTY || errno == EEXIST))
			return false;
		return true;
	}
	if (unchanged_file(pfd, ph->name, ph->kind, &stx))
		(void)unlinkat(pfd, ph->name, 0);
	return true;
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long to wait for another run to let go of a directory. */
#define WAIT_NONE    0LL
#define WAIT_FOREVER (-1LL)

/* Opens and exclusively locks ph's directory, checking it is the same
 * directory, waiting until the monotonic time deadline (WAIT_NONE: not at
 * all; WAIT_FOREVER: as long as it takes). Returns -1 if it is gone
 * (nothing of ours can be found there), -2 if another run holds it. */
static int lock_parent_exclusive(const struct placeholder *ph, long long deadline)
{
	int fd = open_dir(ph->parent);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_dev != ph->parent_dev || st.st_ino != ph->parent_ino) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (flock(fd, LOCK_EX | (deadline == WAIT_FOREVER ? 0 : LOCK_NB)) == 0)
			return fd;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || deadline == WAIT_NONE || monotonic_ms() >= deadline)
			break;
		struct timespec ts = {0, 10L * 1000000L};
		nanosleep(&ts, NULL);
	}
	close(fd);
	return -2;
}

/* Removes what can be removed now; keeps in v the ones to retry. Deeper
 * placeholders go first, so a placeholder directory is empty by the time
 * its turn comes. */
static void remove_all(struct placeholder *v, size_t *n, long long deadline)
{
	if (!v || *n == 0) {
		*n = 0;
		return;
	}
	cleanup_free bool *keep = xcalloc(*n ? *n : 1, sizeof(bool));
	for (size_t i = *n; i-- > 0;) {
		int fd = lock_parent_exclusive(&v[i], deadline);
		keep[i] = fd == -2 || (fd >= 0 && !remove_one(fd, &v[i]));
		if (fd >= 0)
			close(fd);
	}
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		if (keep[i])
			v[kept++] = v[i];
		else
			placeholder_free(&v[i]);
	}
	*n = kept;
}

static void record_rewrite(int fd, const struct placeholder *v, size_t n)
{
	buf_t b = {0};
	for (size_t i = 0; v && i < n; i++) {
		buf_printf(&b, "P %llu %llu ", (unsigned long long)v[i].parent_dev,
		           (unsigned long long)v[i].parent_ino);
		hex_encode(&b, v[i].parent);
		buf_printf(&b, "\nO %c ", v[i].kind);
		hex_encode(&b, v[i].tmp ? v[i].tmp : "");
		buf_puts(&b, " ");
		hex_encode(&b, v[i].name);
		buf_printf(&b, "\nI %llu %llu %lld %u\n", (unsigned long long)v[i].id.dev,
		           (unsigned long long)v[i].id.ino, v[i].id.btime_sec, v[i].id.btime_nsec);
	}
	if (ftruncate(fd, 0) == 0 && b.len)
		(void)write_all(fd, b.p, b.len);
	buf_free(&b);
}

/* Waits, outside any session or terminal, until every other run on these
 * directories is gone, then removes the rest. It holds the record's lock,
 * so no sweep competes with it. */
static void spawn_cleanup_helper(const char *record_path, struct placeholder *v, size_t n)
{
	pid_t pid = fork();
	if (pid < 0) {
		warn_msg("placeholders: cannot start the cleanup helper; the next run removes them");
		return;
	}
	if (pid > 0)
		return;
	(void)setsid();
	(void)prctl(PR_SET_NAME, "cordon-cleanup", 0, 0, 0);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		(void)dup2(null, fd);
	/* Nothing of the launcher's is kept: its descriptors (the record's
	 * among them, whose lock we take again below) hold the terminal, pipes
	 * a CI runner waits on, and the guard locks we are waiting for. */
	(void)syscall(SYS_close_range, 3U, ~0U, 0U);
	int rfd = open(record_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0 || flock(rfd, LOCK_EX) < 0)
		_exit(1);
	/* A placeholder directory may still hold another run's placeholder
	 * for a moment after that run let go of its lock. */
	for (int tries = 0; n > 0 && tries < 20; tries++) {
		if (tries) {
			struct timespec ts = {0, 100L * 1000000L};
			nanosleep(&ts, NULL);
		}
		remove_all(v, &n, WAIT_FOREVER);
	}
	if (n == 0)
		(void)unlink(record_path);
	else
		record_rewrite(rfd, v, n);
	_exit(0);
}

static struct guard_lock *lock_of(struct guard_state *gs, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < gs->n_locks; i++)
		if (gs->locks[i].dev == dev && gs->locks[i].ino == ino)
			return &gs->locks[i];
	return NULL;
}

void guards_finish(struct guard_state *gs)
{
	die_set_cleanup(NULL, NULL);
	if (gs->record_fd < 0) {
		guards_unlock(gs);
		return;
	}
	/* Our shared lock on a placeholder's directory becomes exclusive if
	 * no other run holds it: the placeholder goes now, deepest first,
	 * before we let go of the directories above it (whose placeholders
	 * another run's cleanup may be waiting to remove once they are
	 * empty). */
	cleanup_free bool *done = xcalloc(gs->n_made ? gs->n_made : 1, sizeof(bool));
	for (size_t i = gs->n_made; i-- > 0;) {
		struct placeholder *ph = &gs->made[i];
		struct guard_lock *l = lock_of(gs, ph->parent_dev, ph->parent_ino);
		done[i] = l && flock(l->fd, LOCK_EX | LOCK_NB) == 0 && remove_one(l->fd, ph);
	}
	guards_unlock(gs);
	size_t kept = 0;
	for (size_t i = 0; i < gs->n_made; i++) {
		if (done[i])
			placeholder_free(&gs->made[i]);
		else
			gs->made[kept++] = gs->made[i];
	}
	gs->n_made = kept;
	if (gs->n_made == 0) {
		(void)unlink(gs->record_path);
	} else {
		record_rewrite(gs->record_fd, gs->made, gs->n_made);
		spawn_cleanup_helper(gs->record_path, gs->made, gs->n_made);
		for (size_t i = 0; i < gs->n_made; i++)
			placeholder_free(&gs->made[i]);
	}
	close(gs->record_fd);
	gs->record_fd = -1;
	free(gs->made);
	gs->made = NULL;
	gs->n_made = 0;
	free(gs->record_path);
	gs->record_path = NULL;
}

/* ---- what dead runs left ---- */

/* Splits line at spaces into at most max fields; returns how many. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	return n;
}

static bool parse_u64(const char *s, unsigned long long *out)
{
	if (!*s || *s == '-')
		return false;
	char *end;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static void record_push(struct placeholder **out, size_t *n, const struct placeholder *p)
{
	*out = xreallocarray(*out, *n + 1, sizeof(**out));
	(*out)[(*n)++] = (struct placeholder){
	    xstrdup(p->parent), xstrdup(p->name), p->parent_dev, p->parent_ino, p->id, p->kind, xstrdup(p->tmp)};
}

/* The record of a run: "P dev ino HEXPATH" (the directory), "O KIND
 * HEXTMP HEXNAME" (a placeholder about to be made), "I dev ino btime_s
 * btime_ns" (what it is). A line cut short by a kill is ignored; anything
 * malformed ends the parse, keeping what came before. */
static void parse_record(char *text, struct placeholder **out, size_t *n)
{
	struct placeholder cur = {0};
	bool have_p = false, have_o = false;
	*out = NULL;
	*n = 0;
	for (char *s = text, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
		*nl = '\0';
		char *f[6];
		size_t nf = split_fields(s, f, N_ELEMENTS(f));
		unsigned long long a, b, c, d;
		if (nf == 4 && strcmp(f[0], "P") == 0 && parse_u64(f[1], &a) && parse_u64(f[2], &b)) {
			free(cur.parent);
			cur.parent = hex_decode(f[3]);
			cur.parent_dev = (dev_t)a;
			cur.parent_ino = (ino_t)b;
			have_p = cur.parent && cur.parent[0] == '/';
			have_o = false;
		} else if (have_p && nf == 4 && strcmp(f[0], "O") == 0 && strlen(f[1]) == 1 && strchr("dfs", f[1][0])) {
			free(cur.tmp);
			free(cur.name);
			cur.tmp = hex_decode(f[2]);
			cur.name = hex_decode(f[3]);
			cur.kind = f[1][0];
			memset(&cur.id, 0, sizeof(cur.id));
			/* Only names cordon writes: a bare name, and a temporary
			 * one with cordon's prefix. */
			have_o = cur.tmp && cur.name && *cur.name && !strchr(cur.name, '/') &&
			         strcmp(cur.name, ".") != 0 && strcmp(cur.name, "..") != 0 &&
			         str_has_prefix(cur.tmp, PLACEHOLDER_PREFIX) && !strchr(cur.tmp, '/');
			if (have_o)
				record_push(out, n, &cur);
		} else if (have_o && nf == 5 && strcmp(f[0], "I") == 0 && parse_u64(f[1], &a) && parse_u64(f[2], &b) &&
		           parse_u64(f[3], &c) && parse_u64(f[4], &d)) {
			(*out)[*n - 1].id = (struct placeholder_id){(dev_t)a, (ino_t)b, (long long)c, (unsigned)d};
		} else {
			break;
		}
	}
	free(cur.parent);
	free(cur.tmp);
	free(cur.name);
}

/* A killed run's pid 1 may hold its locks for a moment longer than its
 * launcher lived: a sweep waits this long, in all, before it leaves the
 * rest to a helper. */
#define SWEEP_PATIENCE_MS 300

static void sweep_one(int dirfd, const char *name, const char *dir, long long deadline)
{
	cleanup_fd int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return; /* its run (or its helper) is alive */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_RECORD)
		return;
	cleanup_free char *text = xmalloc((size_t)st.st_size + 1);
	ssize_t got = read(fd, text, (size_t)st.st_size);
	if (got < 0)
		return;
	text[got] = '\0';
	struct placeholder *v = NULL;
	size_t n = 0;
	parse_record(text, &v, &n);
	if (!v)
		n = 0;
	remove_all(v, &n, deadline);
	if (n == 0) {
		(void)unlinkat(dirfd, name, 0);
	} else if (v) {
		record_rewrite(fd, v, n);
		cleanup_free char *path = xasprintf("%s/%s", dir, name);
		spawn_cleanup_helper(path, v, n);
		for (size_t i = 0; i < n; i++)
			placeholder_free(&v[i]);
	}
	free(v);
}

void placeholders_sweep(bool privileged, const char *invoker_home)
{
	if (!privileged && (!invoker_home || invoker_home[0] != '/'))
		return;
	cleanup_free char *dir = registry_dir(privileged, invoker_home, false);
	DIR *d = opendir(dir);
	if (!d)
		return;
	long long deadline = monotonic_ms() + SWEEP_PATIENCE_MS;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 32 || strspn(de->d_name, "0123456789abcdef") != 32)
			continue;
		sweep_one(dirfd(d), de->d_name, dir, deadline);
	}
	closedir(d);
}

void guard_state_init(struct guard_state *gs)
{
	memset(gs, 0, sizeof(*gs));
	gs->record_fd = -1;
}
