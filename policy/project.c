/* The project a run mounts, found as git would find its work tree, and the
 * git directories that must be mounted and guarded with it.
 *
 * git reads configuration and runs programs from files in its directory
 * (config, hooks/, commondir, config.worktree, ...). Those files are
 * guarded in the git directory of the project, but git also reads them
 * from directories the project only points at: a submodule's or a linked
 * worktree's git directory (named by a `.git` file), the common directory
 * (named by a `commondir` file), and the git directories of submodules and
 * worktrees nested below them. Every one of those is a "site" the `.git/`
 * guards apply to. */
#include "project.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A `.git` file or a commondir file is one short line. */
#define MAX_POINTER_FILE 4096
/* Submodule names may contain slashes: modules/a/b/ is one git directory. */
#define MAX_MODULE_DEPTH 8
#define MAX_SITES        256
#define MAX_DIR_ENTRIES  4096

static char *join(const char *dir, const char *name)
{
	if (!*name)
		return xstrdup(dir);
	return xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* As git's is_git_directory(): a HEAD, and objects/ here or a commondir
 * file saying where they are. An empty directory called .git (a
 * placeholder of an earlier run, say) is not one. */
static bool is_git_dir(const struct plan_host *h, const char *dir)
{
	cleanup_free char *head = join(dir, "HEAD");
	enum path_state hs = h->lstat(h->ctx, head);
	if (hs != PATH_FILE && hs != PATH_SYMLINK)
		return false;
	cleanup_free char *objects = join(dir, "objects");
	cleanup_free char *commondir = join(dir, "commondir");
	return h->lstat(h->ctx, objects) == PATH_DIR || h->lstat(h->ctx, commondir) == PATH_FILE;
}

void project_find(const struct plan_host *h, const char *cwd, const char *root, struct project *out)
{
	memset(out, 0, sizeof(*out));
	cleanup_free char *dir = xstrdup(cwd);
	for (;;) {
		cleanup_free char *dotgit = join(dir, ".git");
		enum path_state st = h->lstat(h->ctx, dotgit);
		if ((st == PATH_DIR && is_git_dir(h, dotgit)) || st == PATH_FILE || st == PATH_SYMLINK) {
			out->why = xasprintf("the top of the git work tree containing the working directory (%s is %s)",
			                     dotgit,
			                     st == PATH_DIR    ? "its git directory"
			                     : st == PATH_FILE ? "a file naming its git directory"
			                                       : "a symlink");
			out->dir = steal_pointer(&dir);
			return;
		}
		if (strcmp(dir, root) == 0 || strcmp(dir, "/") == 0)
			break;
		char *up = parent_of(dir);
		free(dir);
		dir = up;
	}
	out->dir = xstrdup(cwd);
	out->why = xasprintf("the working directory (no git work tree between it and the project root %s)", root);
}

/* The absolute path a `.git` file ("gitdir: PATH") or a commondir file
 * ("PATH") names; a relative one is relative to base. NULL with *why. */
static char *read_pointer(const struct plan_host *h, const char *file, const char *prefix, const char *base, char **why)
{
	size_t len = 0;
	errno = ENOSYS;
	cleanup_free char *text = h->read_nofollow ? h->read_nofollow(h->ctx, file, MAX_POINTER_FILE, &len, why) : NULL;
	if (!text) {
		if (!*why)
			*why = xasprintf("cannot read %s: %s", file, strerror(errno));
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		*why = xasprintf("%s contains a NUL byte", file);
		return NULL;
	}
	char *s = text;
	if (prefix) {
		if (!str_has_prefix(s, prefix)) {
			*why = xasprintf("%s does not start with '%s'", file, prefix);
			return NULL;
		}
		s += strlen(prefix);
	}
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	if (!n || strchr(s, '\n')) {
		*why = xasprintf("%s is not one line naming a directory", file);
		return NULL;
	}
	return s[0] == '/' ? xstrdup(s) : join(base, s);
}

static void add_site(struct project_scan *scan, const char *root, const char *prefix, bool worktree)
{
	if (scan->n_sites == MAX_SITES) {
		if (!scan->refusal)
			scan->refusal = xasprintf("more than %d git directories below %s; cordon cannot guard them all",
			                          MAX_SITES, root);
		return;
	}
	scan->sites = xreallocarray(scan->sites, scan->n_sites + 1, sizeof(*scan->sites));
	scan->sites[scan->n_sites++] = (struct git_site){xstrdup(root), xstrdup(prefix), worktree};
}

static char **list(const struct plan_host *h, const char *dir, struct project_scan *scan)
{
	if (!h->list_dir)
		return NULL;
	char **names = h->list_dir(h->ctx, dir, MAX_DIR_ENTRIES);
	if (!names && !scan->refusal)
		scan->refusal = xasprintf("cannot list %s: %s", dir, strerror(errno ? errno : EIO));
	return names;
}

static void walk_git_dir(const struct plan_host *h, const char *root, const char *prefix, int depth,
                         struct project_scan *scan);

/* What is at path in a git directory. A symlink there refuses the run:
 * cordon could not guard the git directory (or directories) it leads to;
 * what says which, for the message. */
static enum path_state lstat_unless_symlink(const struct plan_host *h, const char *path, const char *what,
                                            struct project_scan *scan)
{
	enum path_state st = h->lstat(h->ctx, path);
	if (st == PATH_SYMLINK)
		scan->refusal = xasprintf("%s is a symlink; cordon cannot guard the git %s", path, what);
	return st;
}

/* Below modules/ every directory is either a submodule's git directory or
 * a part of a submodule name with slashes in it. */
static void walk_modules(const struct plan_host *h, const char *root, const char *prefix, int depth,
                         struct project_scan *scan)
{
	cleanup_free char *dir = join(root, prefix);
	dir[strlen(dir) - 1] = '\0'; /* prefix ends in '/' */
	cleanup_strv char **names = list(h, dir, scan);
	for (char **n = names; n && *n && !scan->refusal; n++) {
		cleanup_free char *rel = xasprintf("%s%s/", prefix, *n);
		cleanup_free char *path = join(dir, *n);
		enum path_state st = lstat_unless_symlink(h, path, "directory it names", scan);
		if (st == PATH_SYMLINK)
			return;
		if (st != PATH_DIR)
			continue;
		if (is_git_dir(h, path)) {
			add_site(scan, root, rel, false);
			walk_git_dir(h, root, rel, depth + 1, scan);
		} else if (depth < MAX_MODULE_DEPTH) {
			walk_modules(h, root, rel, depth + 1, scan);
		}
	}
}

/* The submodules' and linked worktrees' git directories kept inside the
 * git directory at root/prefix. */
static void walk_git_dir(const struct plan_host *h, const char *root, const char *prefix, int depth,
                         struct project_scan *scan)
{
	if (depth > MAX_MODULE_DEPTH) {
		if (!scan->refusal)
			scan->refusal =
			    xasprintf("submodules nested deeper than %d levels in %s", MAX_MODULE_DEPTH, root);
		return;
	}
	cleanup_free char *modules_rel = xasprintf("%smodules/", prefix);
	cleanup_free char *modules = join(root, modules_rel);
	modules[strlen(modules) - 1] = '\0';
	enum path_state st = lstat_unless_symlink(h, modules, "directories below it", scan);
	if (st == PATH_SYMLINK)
		return;
	if (st == PATH_DIR)
		walk_modules(h, root, modules_rel, depth, scan);

	cleanup_free char *wt_rel = xasprintf("%sworktrees/", prefix);
	cleanup_free char *wt = join(root, wt_rel);
	wt[strlen(wt) - 1] = '\0';
	st = lstat_unless_symlink(h, wt, "directories below it", scan);
	if (st != PATH_DIR)
		return;
	cleanup_strv char **names = list(h, wt, scan);
	for (char **n = names; n && *n && !scan->refusal; n++) {
		cleanup_free char *path = join(wt, *n);
		st = lstat_unless_symlink(h, path, "directory it names", scan);
		if (st == PATH_SYMLINK)
			return;
		if (st != PATH_DIR)
			continue;
		cleanup_free char *rel = xasprintf("%s%s/", wt_rel, *n);
		add_site(scan, root, rel, true);
	}
}

static const char *containing(char *const *dirs, const char *path)
{
	const char *best = NULL;
	for (char *const *d = dirs; d && *d; d++)
		if (path_is_beneath(path, *d) && (!best || strlen(*d) > strlen(best)))
			best = *d;
	return best;
}

/* Mounts dir too if it lies outside what is already mounted but inside an
 * allowed root; says why not otherwise. Returns the mounted directory that
 * holds it, or NULL. */
static const char *mount_git_dir(const char *git_dir, const char *what, const char *project_dir, char *const *allowed,
                                 struct project_scan *scan)
{
	const char *dir = git_dir;
	if (path_is_beneath(git_dir, project_dir))
		return project_dir;
	const char *holder = containing(scan->extra_mounts.v, dir);
	if (holder)
		return holder;
	if (!containing(allowed, dir)) {
		strv_pushf(&scan->notes,
		           "%s %s lies outside the allowed project roots: not mounted, so git will not work inside",
		           what, dir);
		return NULL;
	}
	/* A directory already listed below the new one is covered by it. */
	for (size_t i = 0; i < scan->extra_mounts.n; i++) {
		if (path_is_beneath(scan->extra_mounts.v[i], dir)) {
			free(scan->extra_mounts.v[i]);
			scan->extra_mounts.v[i] = scan->extra_mounts.v[--scan->extra_mounts.n];
			scan->extra_mounts.v[scan->extra_mounts.n] = NULL;
			i--;
		}
	}
	strv_push(&scan->extra_mounts, xstrdup(dir));
	return scan->extra_mounts.v[scan->extra_mounts.n - 1];
}

static char *resolve_dir(const struct plan_host *h, const char *path, char *const *untrusted, const char *what,
                         struct project_scan *scan)
{
	cleanup_free char *why = NULL;
	errno = 0;
	char *canon = h->resolve(h->ctx, path, untrusted, &why);
	if (!canon) {
		strv_pushf(&scan->notes, "%s %s: %s; git will not work inside", what, path,
		           why ? why : strerror(errno ? errno : EINVAL));
		return NULL;
	}
	if (h->lstat(h->ctx, canon) != PATH_DIR || !is_git_dir(h, canon)) {
		strv_pushf(&scan->notes, "%s %s is not a git directory; git will not work inside", what, canon);
		free(canon);
		return NULL;
	}
	return canon;
}

/* The site for the git directory dir, which lies in the mounted holder. */
static void add_dir_site(const struct plan_host *h, struct project_scan *scan, const char *holder, const char *dir,
                         bool worktree)
{
	cleanup_free char *prefix = strcmp(holder, dir) == 0
	                                ? xstrdup("")
	                                : xasprintf("%s/", dir + strlen(holder) + (strcmp(holder, "/") != 0));
	for (size_t i = 0; i < scan->n_sites; i++)
		if (strcmp(scan->sites[i].root, holder) == 0 && strcmp(scan->sites[i].prefix, prefix) == 0)
			return;
	add_site(scan, holder, prefix, worktree);
	if (!worktree)
		walk_git_dir(h, holder, prefix, 0, scan);
}

void project_git_dirs(const struct plan_host *h, struct project *pr, char *const *allowed, char *const *untrusted,
                      struct project_scan *scan)
{
	cleanup_free char *dotgit = join(pr->dir, ".git");
	enum path_state st = h->lstat(h->ctx, dotgit);
	if (st == PATH_SYMLINK) {
		strv_pushf(&scan->notes, "%s is a symlink: not followed; git may not work inside", dotgit);
		return;
	}
	if (st == PATH_DIR) {
		if (!is_git_dir(h, dotgit))
			return;
		pr->git_dir = xstrdup(dotgit);
		/* Its own files are guarded by the project-relative entries;
		 * what lies below it is walked here. */
		walk_git_dir(h, pr->dir, ".git/", 0, scan);
	} else if (st == PATH_FILE) {
		cleanup_free char *why = NULL;
		cleanup_free char *named = read_pointer(h, dotgit, "gitdir: ", pr->dir, &why);
		if (!named) {
			strv_pushf(&scan->notes, "%s; git will not work inside", why);
			return;
		}
		pr->git_dir = resolve_dir(h, named, untrusted, "git directory", scan);
		if (!pr->git_dir)
			return;
	} else {
		return;
	}

	/* A linked worktree's git directory names the repository's common
	 * directory, where config, hooks and objects are. */
	cleanup_free char *commondir_file = join(pr->git_dir, "commondir");
	if (h->lstat(h->ctx, commondir_file) == PATH_FILE) {
		cleanup_free char *why = NULL;
		cleanup_free char *named = read_pointer(h, commondir_file, NULL, pr->git_dir, &why);
		if (named)
			pr->common_dir = resolve_dir(h, named, untrusted, "git common directory", scan);
		else
			strv_pushf(&scan->notes, "%s; git will not work inside", why);
	} else {
		pr->common_dir = xstrdup(pr->git_dir);
	}
	pr->index = join(pr->git_dir, "index");

	bool linked = pr->common_dir && strcmp(pr->common_dir, pr->git_dir) != 0;
	if (linked) {
		const char *holder = mount_git_dir(pr->common_dir, "git common directory", pr->dir, allowed, scan);
		if (holder)
			add_dir_site(h, scan, holder, pr->common_dir, false);
	}
	if (strcmp(pr->git_dir, dotgit) != 0) {
		const char *holder = mount_git_dir(pr->git_dir, "git directory", pr->dir, allowed, scan);
		if (holder)
			add_dir_site(h, scan, holder, pr->git_dir, linked);
	}
}

void project_scan_free(struct project_scan *scan)
{
	strv_free(&scan->extra_mounts);
	for (size_t i = 0; i < scan->n_sites; i++) {
		free(scan->sites[i].root);
		free(scan->sites[i].prefix);
	}
	free(scan->sites);
	strv_free(&scan->notes);
	free(scan->refusal);
	memset(scan, 0, sizeof(*scan));
}

void project_clear(struct project *pr)
{
	free(pr->dir);
	free(pr->why);
	free(pr->git_dir);
	free(pr->common_dir);
	free(pr->index);
	memset(pr, 0, sizeof(*pr));
}
