/* Compiles a policy and an invocation into a plan. Every decision about
 * what the sandbox contains is made here, before anything is mounted, so
 * that `explain` and `run` cannot disagree. */
#include "plan.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "gitident.h"
#include "gitindex.h"
#include "project.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct builder {
	const struct policy *p;
	const struct invocation *inv;
	const struct plan_host *host;
	struct diags *d;
	struct plan *plan;
	size_t cap;
	strv_t env;
	strv_t untrusted; /* directories a sandbox can write: no symlink followed there */
	strv_t notes;
	strv_t warnings;
};

static void refuse(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct builder *b, const char *fmt, ...)
{
	if (b->plan->refusal)
		return; /* the first reason is the one worth reading */
	va_list ap;
	va_start(ap, fmt);
	b->plan->refusal = xvasprintf(fmt, ap);
	va_end(ap);
}

static void note(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *expand_home(struct builder *b, const char *path)
{
	return expand_home_path(path, b->inv->home);
}

static struct mount_op *find_op(struct builder *b, const char *dest)
{
	for (size_t i = 0; i < b->plan->n_mounts; i++)
		if (strcmp(b->plan->mounts[i].dest, dest) == 0)
			return &b->plan->mounts[i];
	return NULL;
}

static struct mount_op *push_op(struct builder *b, enum mount_kind kind, unsigned flags, const char *dest,
                                const char *source, const char *origin, int line)
{
	if (b->plan->n_mounts == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->plan->mounts = xreallocarray(b->plan->mounts, b->cap, sizeof(struct mount_op));
	}
	struct mount_op *op = &b->plan->mounts[b->plan->n_mounts++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->flags = flags;
	op->dest = xstrdup(dest);
	op->source = source ? xstrdup(source) : NULL;
	op->origin = xstrdup(origin);
	op->line = line;
	return op;
}

static const char *describe_op(const struct mount_op *op, char *tmp, size_t n)
{
	if (op->line > 0)
		snprintf(tmp, n, "%s at line %d", op->origin, op->line);
	else
		snprintf(tmp, n, "the built-in %s mount", op->origin);
	return tmp;
}

/* A policy entry (or a built-in) claims dest; two claims on one path are a
 * policy error, because whichever came second would hide the first. */
static struct mount_op *claim(struct builder *b, enum mount_kind kind, unsigned flags, const char *dest,
                              const char *source, const char *origin, int line)
{
	struct mount_op *ex = find_op(b, dest);
	if (ex) {
		char tmp[128];
		diags_add(b->d, b->p->file, line, "%s: %s is already mounted by %s", origin, dest,
		          describe_op(ex, tmp, sizeof(tmp)));
		return NULL;
	}
	return push_op(b, kind, flags, dest, source, origin, line);
}

static char *resolve_source(struct builder *b, const char *key, const char *path, int line, bool optional)
{
	cleanup_free char *why = NULL;
	errno = 0;
	char *r = b->host->resolve(b->host->ctx, path, b->untrusted.v, &why);
	if (r)
		/* cppcheck-suppress returnDanglingLifetime ; r is a new string, why only an out-parameter */
		return r;
	if (errno == ENOENT && optional)
		return NULL;
	refuse(b, "%s:%d: %s %s: %s", b->p->file, line, key, path, why ? why : strerror(errno ? errno : EINVAL));
	return NULL;
}

static void add_binds(struct builder *b, const struct plist *l, const char *key, unsigned flags)
{
	for (size_t i = 0; i < l->n; i++) {
		cleanup_free char *dest = expand_home(b, l->v[i].value);
		cleanup_free char *src = resolve_source(b, key, dest, l->v[i].line, flags & MF_OPTIONAL);
		claim(b, MOUNT_BIND, flags, dest, src, key, l->v[i].line);
	}
}

static void add_policy_mounts(struct builder *b)
{
	const struct policy *p = b->p;
	add_binds(b, &p->ro, "ro", MF_RO);
	add_binds(b, &p->ro_try, "ro_try", MF_RO | MF_OPTIONAL);
	add_binds(b, &p->rw, "rw", 0);
	add_binds(b, &p->rw_try, "rw_try", MF_OPTIONAL);
	for (size_t i = 0; i < p->tmpfs.n; i++) {
		cleanup_free char *dest = expand_home(b, p->tmpfs.v[i].value);
		claim(b, MOUNT_TMPFS, 0, dest, NULL, "tmpfs", p->tmpfs.v[i].line);
	}
	for (size_t i = 0; i < p->symlink.n; i++) {
		const char *v = p->symlink.v[i].value;
		const char *colon = strrchr(v, ':');
		cleanup_free char *target = xstrndup(v, (size_t)(colon - v));
		cleanup_free char *dest = expand_home(b, colon + 1);
		claim(b, MOUNT_SYMLINK, 0, dest, target, "symlink", p->symlink.v[i].line);
	}
}

/* A name that is one safe path component: not empty, not . or .., no
 * slash. */
static bool safe_component(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 64 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* home = persist: a directory per invoking user and policy name. As root
 * it lives in root's own /var/lib/cordon (the invoker's name below it, so
 * users do not share one); unprivileged, in the invoker's own state
 * directory. The launcher creates it below home_state_root, the part of
 * the path that only root (or the invoker) can change. */
static void add_persist_home(struct builder *b, const char *home)
{
	const struct policy *p = b->p;
	struct plan *pl = b->plan;
	if (!safe_component(pl->policy_name)) {
		refuse(b, "%s:%d: home = persist: the policy name '%s' cannot name a directory; set [sandbox] name",
		       p->file, p->home.line, pl->policy_name);
		return;
	}
	if (pl->privileged) {
		if (!b->inv->user || !safe_component(b->inv->user)) {
			refuse(b, "%s:%d: home = persist: the invoking user has no usable name", p->file, p->home.line);
			return;
		}
		pl->home_state_root = xstrdup("/var/lib");
		pl->home_persist = xasprintf("/var/lib/cordon/home/%s/%s", b->inv->user, pl->policy_name);
	} else {
		const char *ih = b->inv->home;
		if (!ih || ih[0] != '/' || strcmp(ih, "/") == 0) {
			refuse(b,
			       "%s:%d: home = persist: the invoking user's home is %s; it must be an absolute path "
			       "below /",
			       p->file, p->home.line, ih ? ih : "unknown");
			return;
		}
		pl->home_state_root = normalize_path(ih);
		pl->home_persist = xasprintf("%s/.local/state/cordon/home/%s", pl->home_state_root, pl->policy_name);
	}
	claim(b, MOUNT_BIND, MF_HOME | MF_PERSIST, home, pl->home_persist, "home", p->home.line);
}

/* home_copy: what the launcher copies from the invoker's home into the
 * agent's at every start, named here so explain shows it. */
static void add_home_copies(struct builder *b, const char *home)
{
	const struct plist *l = &b->p->home_copy;
	const char *ih = b->inv->home;
	if (!l->n)
		return;
	if (!ih || ih[0] != '/') {
		refuse(b, "%s:%d: home_copy: the invoking user has no home directory to copy from", b->p->file,
		       l->v[0].line);
		return;
	}
	struct plan *pl = b->plan;
	pl->home_copies = xcalloc(l->n, sizeof(*pl->home_copies));
	for (size_t i = 0; i < l->n; i++) {
		struct home_copy *c = &pl->home_copies[pl->n_home_copies++];
		c->rel = xstrdup(l->v[i].value);
		cleanup_free char *src = xasprintf("%s/%s", ih, c->rel);
		cleanup_free char *dst = xasprintf("%s/%s", home, c->rel);
		c->source = normalize_path(src);
		c->dest = normalize_path(dst);
		c->line = l->v[i].line;
		enum path_state st = b->host->lstat(b->host->ctx, c->source);
		if (st == PATH_MISSING)
			note(b, "home_copy %s: ~/%s does not exist; nothing is copied", c->dest, c->rel);
		else if (st == PATH_SYMLINK)
			note(b, "home_copy %s: ~/%s is a symlink; cordon does not follow it, nothing is copied",
			     c->dest, c->rel);
	}
}

/* home_managed: the administrator's files over the agent's home, read-only
 * (mounted after the home and its copies: the plan orders a directory
 * before what lies beneath it). Under sudo they must be root's, like the
 * policy. */
static void add_home_managed(struct builder *b)
{
	const struct plist *l = &b->p->home_managed;
	const char *home = b->plan->run_home;
	if (!l->n || !home || home[0] != '/')
		return;
	for (size_t i = 0; i < l->n; i++) {
		const char *v = l->v[i].value;
		const char *colon = strchr(v, ':');
		cleanup_free char *rel = xstrndup(v, (size_t)(colon - v));
		cleanup_free char *dest = xasprintf("%s/%s", home, rel);
		cleanup_free char *src = resolve_source(b, "home_managed", colon + 1, l->v[i].line, false);
		if (!src)
			continue;
		if (b->host->lstat(b->host->ctx, src) != PATH_FILE) {
			refuse(b, "%s:%d: home_managed %s: not a regular file", b->p->file, l->v[i].line, src);
			continue;
		}
		if (b->inv->runner) {
			size_t len = 0;
			cleanup_free char *why = NULL;
			cleanup_free char *text = b->host->read_file(b->host->ctx, src, &len, &why);
			if (!text) {
				refuse(b, "%s:%d: home_managed %s: %s", b->p->file, l->v[i].line, src,
				       why ? why : "cannot read");
				continue;
			}
		}
		claim(b, MOUNT_BIND, MF_RO, dest, src, "home_managed", l->v[i].line);
	}
}

static void add_home(struct builder *b)
{
	const struct policy *p = b->p;
	const char *home = b->plan->run_home;
	if (!home || home[0] != '/' || strcmp(home, "/") == 0) {
		refuse(b, "home directory of %s is %s; it must be an absolute path below /", b->plan->run_user,
		       home ? home : "unknown");
		return;
	}
	add_home_copies(b, home);
	if (!p->home.value || strcmp(p->home.value, "tmpfs") == 0) {
		claim(b, MOUNT_TMPFS, MF_HOME, home, NULL, "home", p->home.line);
		return;
	}
	if (strcmp(p->home.value, "persist") == 0) {
		add_persist_home(b, home);
		return;
	}
	cleanup_free char *dir = expand_home(b, p->home.value);
	cleanup_free char *src = resolve_source(b, "home", dir, p->home.line, false);
	claim(b, MOUNT_BIND, MF_HOME, home, src, "home", p->home.line);
}

/* ---- places a sandbox can write ---- */

static void untrusted_add(struct builder *b, const char *path)
{
	cleanup_free char *why = NULL;
	/* Canonical where possible, so a symlink found while resolving (whose
	 * location is canonical) is compared with the real directory. */
	char *canon = b->host->resolve(b->host->ctx, path, NULL, &why);
	char *dir = canon ? canon : normalize_path(path);
	if (strv_contains(b->untrusted.v, dir))
		free(dir);
	else
		strv_push(&b->untrusted, dir);
}

/* A symlink in a directory that this or any earlier sandbox could write
 * may have been planted there, by a command running as root too; such a
 * link is never followed, root-owned or not. */
static void collect_untrusted(struct builder *b)
{
	static const char *const scratch[] = {"/tmp", "/var/tmp", "/dev/shm", "/run/user", "/var/lib/cordon"};
	const struct policy *p = b->p;
	for (size_t i = 0; i < N_ELEMENTS(scratch); i++)
		untrusted_add(b, scratch[i]);
	const struct plist *lists[] = {&p->rw, &p->rw_try, &p->project_root};
	for (size_t l = 0; l < N_ELEMENTS(lists); l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			cleanup_free char *path = expand_home(b, lists[l]->v[i].value);
			untrusted_add(b, path);
		}
	for (size_t u = 0; u < p->n_users; u++)
		for (size_t i = 0; i < p->users[u].project_root.n; i++) {
			cleanup_free char *path = expand_home(b, p->users[u].project_root.v[i].value);
			untrusted_add(b, path);
		}
	if (p->home.value && strcmp(p->home.value, "tmpfs") != 0 && strcmp(p->home.value, "persist") != 0) {
		cleanup_free char *home = expand_home(b, p->home.value);
		untrusted_add(b, home);
	}
	if (b->inv->home && b->inv->home[0] == '/' && strcmp(b->inv->home, "/") != 0)
		untrusted_add(b, b->inv->home);
	if (b->plan->run_home && b->plan->run_home[0] == '/' && strcmp(b->plan->run_home, "/") != 0)
		untrusted_add(b, b->plan->run_home);
}

/* ---- projects ---- */

static const struct plist *root_list(struct builder *b)
{
	for (size_t i = 0; i < b->p->n_users; i++)
		if (b->inv->user && strcmp(b->p->users[i].name, b->inv->user) == 0)
			return &b->p->users[i].project_root;
	return &b->p->project_root;
}

static void add_guard_op(struct builder *b, enum mount_kind kind, unsigned flags, const char *path, const char *origin,
                         int line)
{
	struct mount_op *ex = find_op(b, path);
	if (!ex) {
		push_op(b, kind, flags, path, path, origin, line);
		return;
	}
	switch (ex->kind) {
	case MOUNT_MASK:
		return; /* nothing is stronger than hiding it */
	case MOUNT_PIN:
	case MOUNT_PROTECT:
		if (kind == MOUNT_PIN || (kind == MOUNT_PROTECT && ex->kind == MOUNT_PROTECT))
			return;
		ex->kind = kind;
		ex->flags = flags;
		free(ex->origin);
		ex->origin = xstrdup(origin);
		ex->line = line;
		return;
	default:
		if (kind == MOUNT_PIN)
			return; /* already a mount point: it cannot be renamed either */
		char tmp[128];
		diags_add(b->d, b->p->file, line, "%s: %s is already mounted by %s", origin, path,
		          describe_op(ex, tmp, sizeof(tmp)));
	}
}

/* A second name for a guarded file, anywhere else in the project, would
 * make a protected file writable or a masked one readable through it. */
static void check_hard_links(struct builder *b, const char *key, const char *rel, const char *path, int line)
{
	if (!b->host->find_hard_link)
		return;
	cleanup_free char *why = b->host->find_hard_link(b->host->ctx, path);
	if (why)
		refuse(b, "%s:%d: %s %s: %s (another name would let the content be %s)", b->p->file, line, key, rel,
		       why, strcmp(key, "mask") == 0 ? "read" : "written");
}

/* A missing commondir in a git directory is covered by a placeholder that
 * names the directory itself: git refuses an empty one, and "." means
 * what the absence meant. */
static bool git_commondir(struct builder *b, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || strcmp(slash + 1, "commondir") != 0)
		return false;
	cleanup_free char *head = xasprintf("%.*s/HEAD", (int)(slash - path), path);
	enum path_state st = b->host->lstat(b->host->ctx, head);
	return st == PATH_FILE || st == PATH_SYMLINK;
}

/* Walks rel below root one component at a time. Each existing directory on
 * the way is pinned (made a mount point) so that it cannot be renamed away
 * with the guarded path inside it; the first missing component gets a
 * placeholder so the agent cannot create it. */
static void add_guard(struct builder *b, const char *root, const char *rel_in, int line, enum mount_kind kind)
{
	const char *key = kind == MOUNT_MASK ? "mask" : "protect";
	bool dir_hint = str_has_suffix(rel_in, "/");
	cleanup_free char *rel = normalize_path(rel_in);
	size_t rlen = strlen(rel);

	for (size_t i = 0; i <= rlen; i++) {
		if (rel[i] != '/' && rel[i] != '\0')
			continue;
		bool last = rel[i] == '\0';
		cleanup_free char *raw = xasprintf("%s/%.*s", root, (int)i, rel);
		cleanup_free char *path = normalize_path(raw);
		switch (b->host->lstat(b->host->ctx, path)) {
		case PATH_SYMLINK:
			refuse(b, "%s:%d: %s %s: %s is a symlink; mask and protect paths must not contain symlinks",
			       b->p->file, line, key, rel_in, path);
			return;
		case PATH_ERROR:
			refuse(b, "%s:%d: %s %s: cannot inspect %s: %s", b->p->file, line, key, rel_in, path,
			       strerror(errno));
			return;
		case PATH_MISSING: {
			unsigned flags = MF_CREATE | ((!last || dir_hint) ? MF_DIR : 0);
			if (last && !dir_hint && git_commondir(b, path))
				flags |= MF_SELFREF;
			add_guard_op(b, kind, flags, path, key, line);
			return;
		}
		case PATH_DIR:
			if (last) {
				check_hard_links(b, key, rel_in, path, line);
				add_guard_op(b, kind, MF_DIR, path, key, line);
				return;
			}
			add_guard_op(b, MOUNT_PIN, MF_DIR, path, key, line);
			break;
		case PATH_FILE:
		case PATH_OTHER:
			/* Nothing can exist below a file, but the file could be
			 * replaced by a directory: guard the file itself. */
			check_hard_links(b, key, rel_in, path, line);
			add_guard_op(b, kind, 0, path, key, line);
			return;
		}
	}
}

static const char *deepest_root(struct builder *b, const char *path)
{
	const char *best = NULL;
	for (char **r = b->plan->project_roots; r && *r; r++)
		if (path_is_beneath(path, *r) && strcmp(path, *r) != 0 && (!best || strlen(*r) > strlen(best)))
			best = *r;
	return best;
}

/* A guard below .git/ applies to the project's git directory and to every
 * other git directory git reads configuration or hooks from (see
 * project.c). In a linked worktree's own directory git reads only
 * commondir and config.worktree; the rest comes from the common one. */
static void add_git_site_guards(struct builder *b, const char *rel, int line, enum mount_kind kind)
{
	const char *tail;
	if (strcmp(rel, ".git") == 0 || strcmp(rel, ".git/") == 0)
		tail = "";
	else if (str_has_prefix(rel, ".git/"))
		tail = rel + 5;
	else
		return;
	for (size_t i = 0; i < b->plan->n_git_sites; i++) {
		const struct git_site *s = &b->plan->git_sites[i];
		cleanup_free char *sub = xasprintf("%s%s", s->prefix, tail);
		if (s->worktree) {
			cleanup_free char *name = normalize_path(tail);
			cleanup_free char *full = xasprintf("%s/%s", s->root, sub);
			if (strcmp(name, "commondir") != 0 && strcmp(name, "config.worktree") != 0 &&
			    b->host->lstat(b->host->ctx, full) == PATH_MISSING)
				continue;
		}
		if (!*sub) {
			/* The whole git directory of an outside mount. */
			struct mount_op *ex = find_op(b, s->root);
			if (ex && kind == MOUNT_PROTECT)
				ex->flags |= MF_RO;
			continue;
		}
		add_guard(b, s->root, sub, line, kind);
	}
}

static void add_guards(struct builder *b)
{
	const struct policy *p = b->p;
	for (size_t i = 0; i < p->protect.n; i++) {
		for (char **r = b->plan->project_roots; r && *r; r++)
			add_guard(b, *r, p->protect.v[i].value, p->protect.v[i].line, MOUNT_PROTECT);
		add_git_site_guards(b, p->protect.v[i].value, p->protect.v[i].line, MOUNT_PROTECT);
	}
	for (size_t i = 0; i < p->mask.n; i++) {
		const char *v = p->mask.v[i].value;
		int line = p->mask.v[i].line;
		if (v[0] != '/' && v[0] != '~') {
			for (char **r = b->plan->project_roots; r && *r; r++)
				add_guard(b, *r, v, line, MOUNT_MASK);
			add_git_site_guards(b, v, line, MOUNT_MASK);
			continue;
		}
		cleanup_free char *abs = expand_home(b, v);
		const char *root = deepest_root(b, abs);
		if (root) {
			add_guard(b, root, abs + strlen(root) + (strcmp(root, "/") != 0), line, MOUNT_MASK);
			continue;
		}
		/* Outside the projects the host is not touched: the mask
		 * covers whatever the sandbox shows there, if anything. */
		struct mount_op *ex = find_op(b, abs);
		if (ex) {
			char tmp[128];
			diags_add(b->d, p->file, line, "mask: %s is already mounted by %s", abs,
			          describe_op(ex, tmp, sizeof(tmp)));
			continue;
		}
		push_op(b, MOUNT_MASK, MF_OPTIONAL, abs, NULL, "mask", line);
	}
}

/* cordon's own state (the placeholder records, persistent homes) is what
 * a later run trusts: when a writable mount would show it to the
 * sandbox (project_root = ~, say), it is hidden there. */
static void hide_cordon_state(struct builder *b)
{
	cleanup_free char *state = b->inv->privileged ? xstrdup("/var/lib/cordon")
	                           : b->inv->home && b->inv->home[0] == '/'
	                               ? xasprintf("%s/.local/state/cordon", b->inv->home)
	                               : NULL;
	if (!state)
		return;
	const char *root = deepest_root(b, state);
	if (root) {
		if (b->host->lstat(b->host->ctx, state) == PATH_DIR)
			add_guard(b, root, state + strlen(root) + (strcmp(root, "/") != 0), 0, MOUNT_MASK);
		return;
	}
	for (size_t i = 0; i < b->plan->n_mounts; i++) {
		const struct mount_op *op = &b->plan->mounts[i];
		/* A persistent home shows its own directory, not the host's. */
		if (op->kind == MOUNT_BIND && op->source && !(op->flags & (MF_RO | MF_PERSIST)) &&
		    path_is_beneath(state, op->dest) && !find_op(b, state)) {
			push_op(b, MOUNT_MASK, MF_OPTIONAL, state, NULL, "cordon state", 0);
			return;
		}
	}
}

/* Without the host's network there is no resolver to ask: names are
 * resolved by the proxy. Whatever the policy binds of /etc, the sandbox
 * sees an empty resolv.conf (or none). */
static void hide_resolver(struct builder *b)
{
	static const char path[] = "/etc/resolv.conf";
	if (b->p->net_mode == NET_HOST)
		return;
	struct mount_op *ex = find_op(b, path);
	if (ex && ex->kind == MOUNT_MASK)
		return;
	if (ex) {
		diags_add(b->d, b->p->file, ex->line,
		          "%s: %s would give the sandbox a resolver; with mode = %s names are %s", ex->origin, path,
		          net_mode_name(b->p->net_mode),
		          b->p->net_mode == NET_PROXY ? "resolved by the proxy" : "not resolved at all");
		return;
	}
	push_op(b, MOUNT_MASK, MF_OPTIONAL, path, NULL, "network", 0);
}

static bool beneath_any(char *const *dirs, const char *path)
{
	for (char *const *r = dirs; r && *r; r++)
		if (path_is_beneath(path, *r))
			return true;
	return false;
}

static void note(struct builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strv_push(&b->notes, xvasprintf(fmt, ap));
	va_end(ap);
}

/* A note that run prints on stderr as well. */
static void warn_note(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_note(struct builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strv_push(&b->warnings, xvasprintf(fmt, ap));
	va_end(ap);
}

/* A project_root that is refused (a symlink cordon does not follow, not
 * a directory) is skipped, unless the working directory is in it: then
 * the run is refused with the reason. */
struct skipped_root {
	char *path; /* as configured, ~ expanded */
	char *why;
};

/* The allowed roots: every project_root that exists and is acceptable. */
static void collect_roots(struct builder *b, strv_t *allowed, strv_t *configured, struct skipped_root **skipped,
                          size_t *n_skipped)
{
	const struct plist *roots = root_list(b);
	for (size_t i = 0; i < roots->n; i++) {
		char *path = expand_home(b, roots->v[i].value);
		strv_push(configured, path);
		cleanup_free char *why = NULL;
		errno = 0;
		char *canon = NULL;
		/* Under sudo a root that is itself a symlink is not followed,
		 * whoever owns it: the roots are the administrator's words, and
		 * a link makes them mean whatever its target becomes. */
		if (b->inv->runner && b->host->lstat(b->host->ctx, path) == PATH_SYMLINK) {
			why = xstrdup("a symlink (under sudo a project root must be the directory itself)");
			errno = ELOOP;
		} else {
			canon = b->host->resolve(b->host->ctx, path, b->untrusted.v, &why);
		}
		int err = errno;
		if (canon && b->host->lstat(b->host->ctx, canon) != PATH_DIR) {
			free(canon);
			canon = NULL;
			why = xstrdup("not a directory");
			err = ENOTDIR;
		}
		if (canon) {
			if (!strv_contains(allowed->v, canon))
				strv_push(allowed, canon);
			else
				free(canon);
			continue;
		}
		if (err == ENOENT) {
			note(b, "project_root %s does not exist: skipped", path);
			continue;
		}
		cleanup_free char *reason = why ? xstrdup(why) : xstrdup(strerror(err ? err : EINVAL));
		warn_note(b, "project_root %s refused: %s; skipped", path, reason);
		*skipped = xreallocarray(*skipped, *n_skipped + 1, sizeof(**skipped));
		(*skipped)[(*n_skipped)++] = (struct skipped_root){
		    xstrdup(path), xasprintf("%s:%d: project_root %s: %s", b->p->file, roots->v[i].line, path, reason)};
	}
}

static void add_project(struct builder *b, struct project *pr)
{
	struct plan *pl = b->plan;
	pl->projects = xreallocarray(pl->projects, pl->n_projects + 1, sizeof(*pl->projects));
	pl->projects[pl->n_projects++] = *pr;
	memset(pr, 0, sizeof(*pr));
}

/* The projects --project names: each inside an allowed root, mounted as
 * given (a subdirectory of a work tree stays that subdirectory). */
static void named_projects(struct builder *b, char *const *allowed)
{
	for (char *const *pp = b->inv->projects; *pp; pp++) {
		cleanup_free char *why = NULL;
		cleanup_free char *abs =
		    (*pp)[0] == '/' ? xstrdup(*pp) : xasprintf("%s/%s", b->inv->cwd ? b->inv->cwd : "/", *pp);
		char *canon = b->host->resolve(b->host->ctx, abs, b->untrusted.v, &why);
		if (!canon || !beneath_any(allowed, canon)) {
			refuse(b, "--project %s is outside the allowed project roots%s%s", *pp, why ? ": " : "",
			       why ? why : "");
			free(canon);
			continue;
		}
		if (b->host->lstat(b->host->ctx, canon) != PATH_DIR) {
			refuse(b, "--project %s is not a directory", *pp);
			free(canon);
			continue;
		}
		bool inside = false, around = false;
		for (size_t i = 0; i < b->plan->n_projects; i++) {
			inside |= path_is_beneath(canon, b->plan->projects[i].dir);
			around |= path_is_beneath(b->plan->projects[i].dir, canon);
		}
		if (inside) {
			free(canon); /* already mounted with the one it is in */
			continue;
		}
		if (around) {
			refuse(b, "--project %s contains a project named before it; name the outer one first or only",
			       *pp);
			free(canon);
			continue;
		}
		struct project pr = {.dir = canon, .why = xstrdup("named by --project")};
		add_project(b, &pr);
	}
}

static char *roots_text(char *const *roots)
{
	buf_t t = {0};
	for (char *const *r = roots; r && *r; r++)
		buf_printf(&t, "%s%s", r == roots ? "" : ", ", *r);
	return t.p ? t.p : xstrdup("none");
}

/* The project the working directory is in. */
static void found_project(struct builder *b, char *const *allowed, char *const *configured,
                          const struct skipped_root *skipped, size_t n_skipped)
{
	const char *cwd = b->inv->cwd;
	const char *root = NULL;
	for (char *const *r = allowed; cwd && r && *r; r++)
		if (path_is_beneath(cwd, *r) && (!root || strlen(*r) > strlen(root)))
			root = *r;
	if (root) {
		struct project pr;
		project_find(b->host, cwd, root, &pr);
		add_project(b, &pr);
		return;
	}
	for (size_t i = 0; cwd && i < n_skipped; i++) {
		cleanup_free char *real = b->host->realpath ? b->host->realpath(b->host->ctx, skipped[i].path) : NULL;
		if (path_is_beneath(cwd, skipped[i].path) || (real && path_is_beneath(cwd, real))) {
			refuse(b, "%s", skipped[i].why);
			return;
		}
	}
	cleanup_free char *list = roots_text(configured);
	refuse(b, "cwd %s is outside the allowed project roots (%s)", cwd ? cwd : "(unknown)", list);
}

/* Who may write the projects. Unprivileged, the command runs as the
 * invoker and the files are its own. As root with a dedicated account
 * (user = NAME), the projects are mounted idmapped so that account writes
 * them as their owner: in runner mode the invoker, whose own directory
 * each project must be (a sudo caller cannot lend the agent somebody
 * else's files); otherwise the owner of the project directory (a CI
 * checkout), one owner for all projects. The account may then not make
 * set-ID files: one it made would be the owner's on the host. */
static void plan_idmap(struct builder *b)
{
	struct plan *pl = b->plan;
	if (!pl->privileged || !pl->n_projects || !b->host->owner || pl->run_uid == (uid_t)-1)
		return;
	uid_t uid = pl->invoker_uid;
	gid_t gid = pl->invoker_gid;
	for (size_t i = 0; i < pl->n_projects; i++) {
		uid_t u;
		gid_t g;
		const char *dir = pl->projects[i].dir;
		if (!b->host->owner(b->host->ctx, dir, &u, &g)) {
			refuse(b, "project %s: cannot read its owner", dir);
			return;
		}
		if (pl->runner && u != pl->invoker_uid) {
			refuse(b,
			       "project %s is owned by uid %u, not by %s (uid %u): under sudo only your own projects "
			       "are mounted",
			       dir, (unsigned)u, pl->invoker_name, (unsigned)pl->invoker_uid);
			return;
		}
		if (!pl->runner && i == 0) {
			uid = u;
			gid = g;
		} else if (!pl->runner && u != uid) {
			refuse(
			    b,
			    "project %s is owned by uid %u and %s by uid %u: one run mounts the projects of one owner",
			    dir, (unsigned)u, pl->projects[0].dir, (unsigned)uid);
			return;
		}
	}
	if (uid == pl->run_uid && gid == pl->run_gid)
		return; /* the account owns them: nothing to map */
	pl->idmap = true;
	pl->idmap_uid = uid;
	pl->idmap_gid = gid;
	pl->no_setid = true;
	for (size_t i = 0; i < pl->n_mounts; i++)
		if (pl->mounts[i].flags & MF_PROJECT)
			pl->mounts[i].flags |= MF_IDMAP;
}

static void add_projects(struct builder *b)
{
	struct plan *pl = b->plan;
	strv_t allowed = {0}, configured = {0};
	struct skipped_root *skipped = NULL;
	size_t n_skipped = 0;
	collect_roots(b, &allowed, &configured, &skipped, &n_skipped);

	bool named = b->inv->projects && b->inv->projects[0];
	if (b->inv->runner && root_list(b)->n == 0)
		refuse(
		    b,
		    "no project roots for %s: under sudo the policy must give them ([user:%s] project_root = ..., or "
		    "project_root in [filesystem])",
		    b->inv->user ? b->inv->user : "the invoking user", b->inv->user ? b->inv->user : "NAME");
	else if (named)
		named_projects(b, allowed.v);
	else if (root_list(b)->n > 0)
		found_project(b, allowed.v, configured.v, skipped, n_skipped);

	strv_t dirs = {0};
	struct project_scan scan = {0};
	for (size_t i = 0; i < pl->n_projects; i++) {
		project_git_dirs(b->host, &pl->projects[i], allowed.v, b->untrusted.v, &scan);
		strv_push(&dirs, xstrdup(pl->projects[i].dir));
		claim(b, MOUNT_BIND, MF_PROJECT, pl->projects[i].dir, pl->projects[i].dir, "project", 0);
	}
	for (size_t i = 0; i < scan.extra_mounts.n; i++) {
		const char *dir = scan.extra_mounts.v[i];
		if (beneath_any(dirs.v, dir))
			continue; /* another project holds it */
		claim(b, MOUNT_BIND, MF_PROJECT | MF_GITDIR, dir, dir, "git", 0);
	}
	for (size_t i = 0; i < scan.notes.n; i++)
		warn_note(b, "%s", scan.notes.v[i]);
	if (scan.refusal)
		refuse(b, "%s", scan.refusal);
	pl->git_sites = steal_pointer(&scan.sites);
	pl->n_git_sites = scan.n_sites;
	scan.n_sites = 0;
	project_scan_free(&scan);

	pl->project_roots = dirs.v ? dirs.v : xcalloc(1, sizeof(char *));
	pl->allowed_roots = allowed.v ? allowed.v : xcalloc(1, sizeof(char *));
	strv_free(&configured);
	for (size_t i = 0; i < n_skipped; i++) {
		free(skipped[i].path);
		free(skipped[i].why);
	}
	free(skipped);

	const char *cwd = b->inv->cwd;
	if (!named && root_list(b)->n == 0) {
		/* A policy without project roots mounts none; the command then
		 * starts in its home directory. */
		pl->cwd = xstrdup(pl->run_home ? pl->run_home : "/");
		return;
	}
	if (pl->n_projects > 0 && (!cwd || !beneath_any(pl->project_roots, cwd))) {
		cleanup_free char *list = roots_text(pl->project_roots);
		refuse(b, "cwd %s is outside the projects named with --project (%s)", cwd ? cwd : "(unknown)", list);
	}
	pl->cwd = xstrdup(pl->refusal || !cwd ? "/" : cwd);
}

/* ---- masked files git tracks ---- */

/* An index of a big repository is a few tens of MiB. */
#define MAX_GIT_INDEX ((size_t)128 << 20)

/* Reads and parses the index at path: SHA-1 names, else SHA-256. */
static bool read_index(struct builder *b, const char *path, struct git_index *idx, char **why)
{
	size_t len = 0;
	cleanup_free char *data =
	    b->host->read_nofollow ? b->host->read_nofollow(b->host->ctx, path, MAX_GIT_INDEX, &len, why) : NULL;
	if (!data)
		return false;
	const char *reason = NULL;
	if (git_index_parse(data, len, 20, idx, &reason) || git_index_parse(data, len, 32, idx, &reason))
		return true;
	*why = xasprintf("%s: %s", path, reason);
	return false;
}

/* Inside the sandbox a masked file reads as empty; if git tracks it, git
 * there sees it changed and a commit of it would record it empty. The
 * user learns that before it happens. The index is untrusted input: it
 * can only make this note appear or not. */
static void note_tracked_masks(struct builder *b, const struct project *pr)
{
	if (!pr->index || b->host->lstat(b->host->ctx, pr->index) != PATH_FILE)
		return;
	bool any = false;
	for (size_t i = 0; i < b->plan->n_mounts && !any; i++)
		any = b->plan->mounts[i].kind == MOUNT_MASK && b->plan->mounts[i].source &&
		      path_is_beneath(b->plan->mounts[i].dest, pr->dir);
	if (!any)
		return;
	struct git_index idx = {0}, shared = {0};
	cleanup_free char *why = NULL;
	if (!read_index(b, pr->index, &idx, &why)) {
		note(b, "cannot tell which masked files git tracks: %s", why ? why : strerror(errno));
		return;
	}
	if (idx.split && idx.shared_index[0]) {
		cleanup_free char *sp = xasprintf("%s/sharedindex.%s", pr->git_dir, idx.shared_index);
		cleanup_free char *why2 = NULL;
		if (!read_index(b, sp, &shared, &why2))
			note(b, "cannot tell which masked files git tracks: %s", why2 ? why2 : strerror(errno));
	}
	for (size_t i = 0; i < b->plan->n_mounts; i++) {
		struct mount_op *op = &b->plan->mounts[i];
		if (op->kind != MOUNT_MASK || !op->source || !path_is_beneath(op->dest, pr->dir) ||
		    strcmp(op->dest, pr->dir) == 0)
			continue;
		const char *rel = op->dest + strlen(pr->dir) + (strcmp(pr->dir, "/") != 0);
		if (!git_index_covers(&idx, rel) && !git_index_covers(&shared, rel))
			continue;
		free(op->note);
		op->note = xstrdup("git tracks it: git inside sees it emptied");
		warn_note(b,
		          "mask %s: git tracks it; inside the sandbox it reads as empty, so git there shows it changed "
		          "and a commit of it would record it empty",
		          rel);
	}
	git_index_free(&idx);
	git_index_free(&shared);
}

/* ---- what git inside must not see ---- */

/* A gitignore pattern matching exactly the path rel (relative to the work
 * tree): anchored, with the characters patterns treat specially escaped. */
static void exclude_pattern(buf_t *out, const char *rel)
{
	buf_puts(out, "/");
	for (const char *c = rel; *c; c++) {
		if (strchr("\\*?[!# ", *c))
			buf_puts(out, "\\");
		buf_add(out, c, 1);
	}
	buf_puts(out, "\n");
}

/* Inside the sandbox git reads a copy of the repository's info/exclude
 * with every guarded path of the work tree appended, so placeholders (and
 * masked files) are neither shown by `git status` nor staged by `git add
 * -A`. The host's file is not changed. */
static void add_git_exclude(struct builder *b, const struct project *pr)
{
	if (!pr->git_dir || !pr->common_dir)
		return;
	buf_t lines = {0};
	for (size_t i = 0; i < b->plan->n_mounts; i++) {
		const struct mount_op *op = &b->plan->mounts[i];
		if ((op->kind != MOUNT_MASK && op->kind != MOUNT_PROTECT) || !op->source ||
		    !path_is_beneath(op->dest, pr->dir) || strcmp(op->dest, pr->dir) == 0)
			continue;
		const char *rel = op->dest + strlen(pr->dir) + (strcmp(pr->dir, "/") != 0);
		if (strcmp(rel, ".git") == 0 || str_has_prefix(rel, ".git/") ||
		    path_is_beneath(op->dest, pr->git_dir) || path_is_beneath(op->dest, pr->common_dir))
			continue;
		exclude_pattern(&lines, rel);
	}
	if (!lines.len)
		return;
	if (!find_op(b, pr->common_dir) && !beneath_any(b->plan->project_roots, pr->common_dir)) {
		buf_free(&lines);
		return; /* the common directory is not mounted: git does not work inside anyway */
	}
	cleanup_free char *info = xasprintf("%s/info", pr->common_dir);
	cleanup_free char *exclude = xasprintf("%s/info/exclude", pr->common_dir);
	enum path_state st = b->host->lstat(b->host->ctx, info);
	if (st == PATH_MISSING)
		add_guard_op(b, MOUNT_PROTECT, MF_CREATE | MF_DIR, info, "git exclude", 0);
	else if (st != PATH_DIR) {
		refuse(b, "git exclude: %s is not a directory", info);
		buf_free(&lines);
		return;
	}
	unsigned flags = 0;
	st = b->host->lstat(b->host->ctx, exclude);
	if (st == PATH_MISSING)
		flags = MF_CREATE;
	else if (st != PATH_FILE) {
		refuse(b, "git exclude: %s is not a regular file", exclude);
		buf_free(&lines);
		return;
	}
	struct mount_op *ex = find_op(b, exclude);
	if (ex) {
		/* Two projects of one repository (linked worktrees) share it. */
		if (ex->kind == MOUNT_GITEXCLUDE) {
			buf_t all = {0};
			buf_puts(&all, ex->content);
			buf_add(&all, lines.p, lines.len);
			free(ex->content);
			ex->content = all.p;
		}
		buf_free(&lines);
		return;
	}
	struct mount_op *op = push_op(b, MOUNT_GITEXCLUDE, flags, exclude, exclude, "git exclude", 0);
	op->content = lines.p;
}

/* ---- secrets ---- */

/* The secrets' names and sources (never their values: the launcher reads
 * those, secrets.c), and the private tmpfs they are written into. It is
 * made at SECRETS_DIR in the new root, or in a tmpfs the policy mounts
 * above it; under a host bind the mount point would be made on the host
 * (or fail on a read-only one), and a mount below it would cover it. */
static void add_secrets(struct builder *b)
{
	const struct policy *p = b->p;
	struct plan *pl = b->plan;
	if (!p->n_secrets)
		return;
	pl->secrets = xcalloc(p->n_secrets, sizeof(*pl->secrets));
	for (size_t i = 0; i < p->n_secrets; i++) {
		const struct secret_entry *e = &p->secrets[i];
		bool env = str_has_prefix(e->source, "env:");
		pl->secrets[pl->n_secrets++] = (struct plan_secret){
		    .name = xstrdup(e->name),
		    .kind = env ? SECRET_ENV : SECRET_FILE,
		    .from = xstrdup(e->source + (env ? 4 : 5)),
		    .line = e->line,
		};
	}
	int line = p->secrets[0].line;
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		char tmp[128];
		bool above = path_is_beneath(SECRETS_DIR, op->dest) && strcmp(op->dest, SECRETS_DIR) != 0;
		bool below = path_is_beneath(op->dest, SECRETS_DIR) && strcmp(op->dest, SECRETS_DIR) != 0;
		if (!(above && op->kind != MOUNT_TMPFS) && !below)
			continue;
		const char *why = below ? "it would cover the secrets" : "the secrets' mount point would be made in it";
		if (op->line > 0)
			diags_add(b->d, p->file, line, "secrets: %s is %s %s (%s); %s", SECRETS_DIR,
			          below ? "above" : "below", op->dest, describe_op(op, tmp, sizeof(tmp)), why);
		else
			refuse(b, "secrets: %s is %s %s (%s); %s", SECRETS_DIR, below ? "above" : "below", op->dest,
			       describe_op(op, tmp, sizeof(tmp)), why);
	}
	claim(b, MOUNT_SECRETS, MF_RO, SECRETS_DIR, NULL, "secrets", line);
}

/* The variable an env: secret comes from, or NULL. */
static const struct plan_secret *env_secret(const struct plan *pl, const char *name, size_t nlen)
{
	for (size_t i = 0; i < pl->n_secrets; i++)
		if (pl->secrets[i].kind == SECRET_ENV && strlen(pl->secrets[i].from) == nlen &&
		    strncmp(pl->secrets[i].from, name, nlen) == 0)
			return &pl->secrets[i];
	return NULL;
}

/* ---- environment ---- */

static void env_set(struct builder *b, const char *name, size_t nlen, const char *value)
{
	for (size_t i = 0; i < b->env.n; i++) {
		if (strncmp(b->env.v[i], name, nlen) == 0 && b->env.v[i][nlen] == '=') {
			free(b->env.v[i]);
			b->env.v[i] = xasprintf("%.*s=%s", (int)nlen, name, value);
			return;
		}
	}
	strv_pushf(&b->env, "%.*s=%s", (int)nlen, name, value);
}

static bool env_has(struct builder *b, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < b->env.n; i++)
		if (strncmp(b->env.v[i], name, n) == 0 && b->env.v[i][n] == '=')
			return true;
	return false;
}

static bool keep_matches(const char *pattern, const char *entry, size_t nlen)
{
	size_t pl = strlen(pattern);
	if (pl && pattern[pl - 1] == '*')
		return nlen >= pl - 1 && strncmp(entry, pattern, pl - 1) == 0;
	return nlen == pl && strncmp(entry, pattern, nlen) == 0;
}

static void env_from_file(struct builder *b, const char *file, int line)
{
	cleanup_free char *path = expand_home(b, file);
	cleanup_free char *why = NULL;
	size_t len = 0;
	cleanup_free char *text = b->host->read_file(b->host->ctx, path, &len, &why);
	if (!text) {
		refuse(b, "%s:%d: env file %s: %s", b->p->file, line, path, why ? why : "cannot read");
		return;
	}
	int lineno = 0;
	for (char *s = text, *next; s && *s; s = next) {
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		s += strspn(s, " \t");
		size_t l = strlen(s);
		while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
			s[--l] = '\0';
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq)
			*eq = '\0';
		if (!eq || !valid_env_name(s, false)) {
			refuse(b, "%s:%d: expected NAME=VALUE", path, lineno);
			return;
		}
		env_set(b, s, strlen(s), eq + 1);
	}
}

/* The git config files are small; past this, not worth reading at every
 * start. */
#define MAX_GITCONFIG ((size_t)1 << 20)

static const char *inv_getenv(struct builder *b, const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;
	/* Under sudo the invoker's variables choose nothing cordon does. */
	if (b->inv->runner)
		return NULL;
	for (char *const *e = b->inv->environ; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			found = *e + n + 1;
	return found;
}

/* One of the invoker's git config files, applied to id in git's order. */
static void read_git_config(struct builder *b, const char *dir, const char *rel, const char *shown,
                            struct git_ident *id)
{
	size_t len = 0;
	errno = 0;
	cleanup_free char *text =
	    b->host->read_user_file(b->host->ctx, b->inv->uid, b->inv->gid, dir, rel, MAX_GITCONFIG, &len);
	if (!text) {
		if (errno == ELOOP)
			note(b,
			     "git identity: %s is a symlink; cordon does not follow it (set GIT_AUTHOR_NAME and "
			     "the like in [env] set instead)",
			     shown);
		else if (errno != ENOENT && errno != ENOTDIR)
			note(b, "git identity: %s not read: %s", shown,
			     errno == EFBIG ? "not a regular file of at most 1 MiB" : strerror(errno ? errno : EIO));
		return;
	}
	if (!git_ident_parse(text, len, id))
		note(b, "git identity: %s is not valid git config; its user.name and user.email are not used", shown);
}

/* Commits inside carry the invoker's git identity: user.name and
 * user.email from their git config files (read as the invoker, no
 * symlink followed, nothing run, includes not followed) become
 * GIT_AUTHOR_* and GIT_COMMITTER_*, unless the policy's environment
 * already has them. Nothing else of those files (credential helpers,
 * aliases, core.* settings) reaches the sandbox. */
static void add_git_identity(struct builder *b)
{
	const char *home = b->inv->home;
	if (!b->host->read_user_file || !home || home[0] != '/')
		return;
	struct git_ident id = {0};
	/* git reads the XDG file first, then ~/.gitconfig, which wins. */
	const char *xdg = inv_getenv(b, "XDG_CONFIG_HOME");
	if (xdg && xdg[0] == '/') {
		cleanup_free char *shown = xasprintf("%s/git/config", xdg);
		read_git_config(b, xdg, "git/config", shown, &id);
	} else {
		read_git_config(b, home, ".config/git/config", "~/.config/git/config", &id);
	}
	read_git_config(b, home, ".gitconfig", "~/.gitconfig", &id);
	const struct {
		const char *var;
		const char *value;
	} vars[] = {
	    {"GIT_AUTHOR_NAME", id.name},
	    {"GIT_AUTHOR_EMAIL", id.email},
	    {"GIT_COMMITTER_NAME", id.name},
	    {"GIT_COMMITTER_EMAIL", id.email},
	};
	for (size_t i = 0; i < N_ELEMENTS(vars); i++)
		if (vars[i].value && !env_has(b, vars[i].var))
			env_set(b, vars[i].var, strlen(vars[i].var), vars[i].value);
	git_ident_clear(&id);
}

/* TERM names a terminfo entry; keep it to the characters such names use so
 * a hostile value cannot point terminfo lookups at a path. */
static bool sane_term(const char *t)
{
	size_t n = strlen(t);
	return n > 0 && n <= 64 && t[0] != '.' &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == n;
}

/* The value [env] set gives name (the last one, as env_set applies them),
 * or NULL. */
static const char *set_value(const struct policy *p, const char *name)
{
	const char *found = NULL;
	size_t n = strlen(name);
	for (size_t i = 0; i < p->env_set.n; i++) {
		const char *v = p->env_set.v[i].value;
		if (strncmp(v, name, n) == 0 && v[n] == '=')
			found = v + n + 1;
	}
	return found;
}

static void build_env(struct builder *b)
{
	const struct policy *p = b->p;
	for (char *const *e = b->inv->environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		size_t nlen = (size_t)(eq - *e);
		const struct plan_secret *sec = env_secret(b->plan, *e, nlen);
		for (size_t i = 0; i < p->env_keep.n; i++) {
			if (!keep_matches(p->env_keep.v[i].value, *e, nlen))
				continue;
			/* A secret's variable is delivered as a file only,
			 * whatever keep says. */
			if (sec)
				note(b, "%s:%d: keep = %s: %.*s is the source of secret %s and is not passed on",
				     p->file, p->env_keep.v[i].line, p->env_keep.v[i].value, (int)nlen, *e, sec->name);
			else
				env_set(b, *e, nlen, eq + 1);
			break;
		}
	}
	for (size_t i = 0; i < p->env_file.n; i++)
		env_from_file(b, p->env_file.v[i].value, p->env_file.v[i].line);
	for (size_t i = 0; i < p->env_set.n; i++) {
		const char *v = p->env_set.v[i].value;
		const char *eq = strchr(v, '=');
		env_set(b, v, (size_t)(eq - v), eq + 1);
	}
	add_git_identity(b);
	/* Identity comes from the password database, never from the policy or
	 * the invoker, so tools inside agree with `id`. */
	env_set(b, "HOME", 4, b->plan->run_home ? b->plan->run_home : "/");
	env_set(b, "USER", 4, b->plan->run_user ? b->plan->run_user : "unknown");
	env_set(b, "LOGNAME", 7, b->plan->run_user ? b->plan->run_user : "unknown");
	if (!env_has(b, "PATH"))
		env_set(b, "PATH", 4, DEFAULT_PATH);
	if (b->p->net_mode == NET_PROXY) {
		/* The proxy is the only way out; these send every common client
		 * to it. socks5h: names are resolved by the proxy, not here. */
		cleanup_free char *http = xasprintf("http://127.0.0.1:%u", b->plan->net.port);
		cleanup_free char *socks = xasprintf("socks5h://127.0.0.1:%u", b->plan->net.port);
		const char *names[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"};
		for (size_t i = 0; i < N_ELEMENTS(names); i++)
			env_set(b, names[i], strlen(names[i]), http);
		env_set(b, "ALL_PROXY", 9, socks);
		env_set(b, "all_proxy", 9, socks);
		/* A NO_PROXY or no_proxy of [env] set replaces cordon's, in
		 * both spellings (clients read one or the other), so that, say,
		 * NO_PROXY= sends 127.0.0.1 through the proxy to the host's
		 * loopback that an `allow = 127.0.0.1:PORT` grants. */
		const char *upper = set_value(p, "NO_PROXY"), *lower = set_value(p, "no_proxy");
		const char *dflt = "localhost,127.0.0.1,::1";
		upper = upper ? upper : lower ? lower : dflt;
		lower = lower ? lower : upper;
		env_set(b, "NO_PROXY", 8, upper);
		env_set(b, "no_proxy", 8, lower);
	}
	if (!env_has(b, "TERM")) {
		const char *term = NULL;
		for (char *const *e = b->inv->environ; e && *e; e++)
			if (str_has_prefix(*e, "TERM="))
				term = *e + 5;
		env_set(b, "TERM", 4, term ? term : "dumb");
	}
	/* Whoever set it (the invoker through keep, or the invoker's own
	 * TERM), a value that is not a plain terminfo name becomes dumb. */
	for (size_t i = 0; i < b->env.n; i++)
		if (str_has_prefix(b->env.v[i], "TERM=") && !sane_term(b->env.v[i] + 5)) {
			free(b->env.v[i]);
			b->env.v[i] = xstrdup("TERM=dumb");
		}
	b->plan->envp = b->env.v ? b->env.v : xcalloc(1, sizeof(char *));
	b->env.v = NULL;
}

static void build_argv(struct builder *b)
{
	strv_t argv = {0};
	if (b->inv->argv && b->inv->argv[0]) {
		for (char *const *a = b->inv->argv; *a; a++)
			strv_push(&argv, xstrdup(*a));
	} else if (b->p->command.value) {
		/* The policy's command is split on whitespace; there is no shell
		 * and no quoting. */
		const char *s = b->p->command.value;
		while (*s) {
			s += strspn(s, " \t");
			size_t n = strcspn(s, " \t");
			if (n)
				strv_push(&argv, xstrndup(s, n));
			s += n;
		}
	}
	/* Not a refusal: explain still shows what a run would build, and
	 * run refuses an empty argv itself (run.c). */
	if (argv.n == 0)
		note(b, "no command: run needs CMD or [sandbox] command");
	b->plan->argv = argv.v ? argv.v : xcalloc(1, sizeof(char *));
}

static int compare_ops(const void *a, const void *b)
{
	return path_compare_components(((const struct mount_op *)a)->dest, ((const struct mount_op *)b)->dest);
}

/* After sorting, drop guard mounts that another guard already covers: below
 * a mask nothing is visible, and below a protected directory nothing can be
 * renamed or written, so pins and protects there add nothing. */
static void prune_guards(struct builder *b)
{
	struct plan *pl = b->plan;
	size_t out = 0;
	for (size_t i = 0; i < pl->n_mounts; i++) {
		struct mount_op *op = &pl->mounts[i];
		bool drop = false;
		for (size_t j = 0; j < out && !drop; j++) {
			const struct mount_op *up = &pl->mounts[j];
			if (!path_is_beneath(op->dest, up->dest) || strcmp(op->dest, up->dest) == 0)
				continue;
			if (up->kind == MOUNT_MASK &&
			    (op->kind == MOUNT_PIN || op->kind == MOUNT_PROTECT || op->kind == MOUNT_MASK))
				drop = true;
			if (up->kind == MOUNT_PROTECT && (op->kind == MOUNT_PIN || op->kind == MOUNT_PROTECT))
				drop = true;
		}
		if (drop) {
			free(op->dest);
			free(op->source);
			free(op->origin);
			free(op->content);
			free(op->note);
			continue;
		}
		pl->mounts[out++] = *op;
	}
	pl->n_mounts = out;
}

static void build_seccomp(struct builder *b)
{
	const struct pval *v = &b->p->seccomp_profile;
	const char *name = v->value ? v->value : "default";
	b->plan->seccomp_profile = xstrdup(name);
	/* A name is the installed profile (the package's copy in the profile
	 * directory, or one an administrator added there) when that file
	 * exists, else cordon's built-in copy: the same text for default,
	 * strict and ci. A file that is there but cannot be read, or under
	 * sudo is not root's, is a refusal, never the built-in instead. */
	const char *load = name;
	cleanup_free char *file = NULL;
	if (name[0] == '/') {
		b->plan->seccomp_file = xstrdup(name);
	} else if (strcmp(name, "none") != 0 && b->host->profile_dir) {
		file = xasprintf("%s/%s.profile", b->host->profile_dir, name);
		if (b->host->lstat(b->host->ctx, file) != PATH_MISSING) {
			load = file;
			b->plan->seccomp_file = xstrdup(file);
		}
	}
	/* A profile that cannot be used is a problem of the policy, not of
	 * this invocation: a diagnostic, so that `check` reports it too. */
	b->plan->seccomp = profile_load(load, b->p->file, v->line, b->host->read_file, b->host->ctx, b->d);
}

static void ll_add(struct builder *b, size_t *cap, const char *path, enum ll_access access, bool optional)
{
	struct plan *pl = b->plan;
	if (pl->n_ll_rules == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		pl->ll_rules = xreallocarray(pl->ll_rules, *cap, sizeof(*pl->ll_rules));
	}
	pl->ll_rules[pl->n_ll_rules++] = (struct ll_rule){xstrdup(path), access, optional};
}

static void build_ports(struct builder *b, const struct plist *l, struct port_list *out, bool relay)
{
	/* With the host's network the sandbox is not network-confined by
	 * design; elsewhere TCP is limited to what the mode needs and the
	 * ports the policy lists. */
	out->any = b->p->net_mode == NET_HOST && l->n == 0;
	out->v = xcalloc(l->n + 1, sizeof(*out->v));
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].value, "any") == 0) {
			out->any = true;
			continue;
		}
		out->v[out->n++] = (unsigned short)strtoul(l->v[i].value, NULL, 10);
		b->plan->landlock_min_abi = 4;
	}
	if (relay && !out->any)
		out->v[out->n++] = b->plan->net.port; /* the way out, through pid 1's relay */
}

/* Landlock rules come from the same mount list as the mount table, so
 * the two walls describe the same sandbox. */
static void build_landlock(struct builder *b)
{
	const struct policy *p = b->p;
	struct plan *pl = b->plan;
	size_t cap = 0;
	pl->landlock = p->landlock;
	pl->landlock_min_abi = 1;
	ll_add(b, &cap, "/", LL_LIST, false);
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		switch (op->kind) {
		case MOUNT_BIND:
			if (op->source)
				ll_add(b, &cap, op->dest, (op->flags & MF_RO) ? LL_READ : LL_FULL,
				       op->flags & MF_OPTIONAL);
			break;
		case MOUNT_TMPFS:
			ll_add(b, &cap, op->dest, LL_FULL, false);
			break;
		case MOUNT_PROC:
			ll_add(b, &cap, op->dest, LL_PROC, false);
			break;
		case MOUNT_DEV:
			ll_add(b, &cap, op->dest, LL_DEV, false);
			ll_add(b, &cap, "/dev/shm", LL_FULL, false);
			break;
		case MOUNT_SECRETS:
			ll_add(b, &cap, op->dest, LL_READ, false);
			break;
		default:
			break; /* symlinks, and guards below project roots */
		}
	}
	for (size_t i = 0; i < p->landlock_deny.n; i++) {
		cleanup_free char *path = expand_home(b, p->landlock_deny.v[i].value);
		bool found = false;
		for (size_t j = 0; j < pl->n_ll_rules; j++) {
			if (strcmp(pl->ll_rules[j].path, path) != 0 || strcmp(path, "/") == 0)
				continue;
			free(pl->ll_rules[j].path);
			pl->ll_rules[j--] = pl->ll_rules[--pl->n_ll_rules];
			found = true;
		}
		if (!found) {
			/* An ro_try that this host lacks has no rule to remove;
			 * whether the host has it must not make the policy
			 * invalid. */
			if (!find_op(b, path))
				diags_add(b->d, p->file, p->landlock_deny.v[i].line,
				          "deny: %s is not a mount of this policy", path);
			continue;
		}
		/* Landlock grants whole hierarchies and cannot take access away
		 * below a granted directory; a deny there would be a no-op. */
		for (size_t j = 0; j < pl->n_ll_rules; j++) {
			const struct ll_rule *r = &pl->ll_rules[j];
			if (r->access != LL_LIST && path_is_beneath(path, r->path))
				diags_add(b->d, p->file, p->landlock_deny.v[i].line,
				          "deny: %s lies below %s, which Landlock grants; it cannot be denied there",
				          path, r->path);
		}
	}
	build_ports(b, &p->tcp_bind, &pl->tcp_bind, false);
	build_ports(b, &p->tcp_connect, &pl->tcp_connect, p->net_mode == NET_PROXY);
}

/* What run would refuse from the policy alone is a policy error here, so
 * that `check` reports it and `run` refuses before anything is built. */
static void refuse_unrunnable(struct builder *b)
{
	const struct policy *p = b->p;
	/* Pid 1 connects to the shared proxy by this path: it must fit a Unix
	 * socket address. */
	if (p->net_mode == NET_PROXY && p->socket.value) {
		cleanup_free char *path = expand_home(b, p->socket.value);
		if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			diags_add(b->d, p->file, p->socket.line,
			          "socket: %s is too long for a Unix socket address (at most %zu bytes)", path,
			          sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
	}
}

/* ---- the audit log ---- */

/* The audit trail is what a CI system trusts about the job; a log the
 * sandbox can write (through its project, a read-write bind, its home,
 * or another project under an allowed root that a later run could
 * mount) could be forged by the job it records. */
static void plan_audit_log(struct builder *b)
{
	const struct policy *p = b->p;
	struct plan *pl = b->plan;
	if (!p->audit_log.value)
		return;
	if (strcmp(p->audit_log.value, AUDIT_STDERR) == 0) {
		pl->audit_log = xstrdup(AUDIT_STDERR);
		pl->audit_log_usable = true;
		return;
	}
	pl->audit_log = expand_home(b, p->audit_log.value);
	/* Compared as the host sees it: the directory's canonical path when
	 * it exists (following only the symlinks a bind source may have);
	 * the launcher makes a missing one without following any. */
	const char *slash = strrchr(pl->audit_log, '/');
	cleanup_free char *dir = xstrndup(pl->audit_log, slash == pl->audit_log ? 1 : (size_t)(slash - pl->audit_log));
	cleanup_free char *why = NULL;
	errno = 0;
	cleanup_free char *canon = b->host->resolve(b->host->ctx, dir, b->untrusted.v, &why);
	if (canon) {
		char *full =
		    strcmp(canon, "/") == 0 ? xasprintf("/%s", slash + 1) : xasprintf("%s/%s", canon, slash + 1);
		free(pl->audit_log);
		pl->audit_log = full;
	} else if (errno != ENOENT && errno != ENOTDIR) {
		refuse(b, "%s:%d: [audit] log %s: %s", p->file, p->audit_log.line, pl->audit_log,
		       why ? why : strerror(errno ? errno : EINVAL));
		return;
	}
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		if (op->kind != MOUNT_BIND || !op->source || (op->flags & MF_RO) ||
		    !path_is_beneath(pl->audit_log, op->source))
			continue;
		char tmp[128];
		refuse(b,
		       "%s:%d: [audit] log %s is inside %s, which the sandbox can write (%s at %s): the job could "
		       "forge its own audit trail; keep the log outside everything the sandbox writes",
		       p->file, p->audit_log.line, pl->audit_log, op->source, describe_op(op, tmp, sizeof(tmp)),
		       op->dest);
		return;
	}
	for (char **r = pl->allowed_roots; r && *r; r++)
		if (path_is_beneath(pl->audit_log, *r)) {
			refuse(b,
			       "%s:%d: [audit] log %s is inside the project root %s, whose projects a sandbox can "
			       "write: the job could forge its own audit trail; keep the log outside every "
			       "project_root",
			       p->file, p->audit_log.line, pl->audit_log, *r);
			return;
		}
	pl->audit_log_usable = true;
}

static void set_identity(struct builder *b)
{
	const struct invocation *inv = b->inv;
	struct plan *pl = b->plan;
	pl->privileged = inv->privileged;
	pl->runner = inv->runner;
	pl->invoker_uid = inv->uid;
	pl->invoker_gid = inv->gid;
	pl->invoker_name = xstrdup(inv->user ? inv->user : "unknown");
	pl->invoker_home = xstrdup(inv->home ? inv->home : "/");
	if (inv->privileged && !b->p->user.value)
		refuse(b, inv->runner
		              ? "under sudo the policy must name the account the command runs as: set [sandbox] user "
		                "= ACCOUNT (a dedicated one, not root and not the invoking user)"
		              : "as root the policy must name the account the command runs as: set [sandbox] user = "
		                "ACCOUNT, or user = root to keep uid 0");
	if (inv->privileged && b->p->user.value) {
		if (inv->runner && inv->run_user && inv->run_uid == 0)
			refuse(b, "%s:%d: user %s: under sudo the command never runs as root", b->p->file,
			       b->p->user.line, b->p->user.value);
		else if (inv->runner && inv->run_user && inv->run_uid == inv->uid)
			refuse(
			    b,
			    "%s:%d: user %s is the invoking user: under sudo the command runs as a dedicated account",
			    b->p->file, b->p->user.line, b->p->user.value);
		if (!inv->run_user) {
			refuse(b, "%s:%d: user %s: no such account", b->p->file, b->p->user.line, b->p->user.value);
			pl->run_uid = (uid_t)-1;
			pl->run_gid = (gid_t)-1;
			pl->run_user = xstrdup(b->p->user.value);
			pl->run_home = NULL;
			return;
		}
		pl->run_uid = inv->run_uid;
		pl->run_gid = inv->run_gid;
		pl->run_user = xstrdup(inv->run_user);
		pl->run_home = inv->run_home ? xstrdup(inv->run_home) : NULL;
		return;
	}
	pl->run_uid = inv->uid;
	pl->run_gid = inv->gid;
	pl->run_user = xstrdup(inv->user ? inv->user : "unknown");
	pl->run_home = inv->home ? xstrdup(inv->home) : NULL;
}

struct plan *plan_build(const struct policy *p, const struct invocation *inv, const struct plan_host *host,
                        struct diags *d)
{
	size_t before = d->n;
	struct plan *pl = xcalloc(1, sizeof(*pl));
	struct builder b = {.p = p, .inv = inv, .host = host, .d = d, .plan = pl};

	pl->policy = p;
	pl->policy_file = xstrdup(p->file);
	pl->policy_name = policy_display_name(p);
	pl->policy_sha256 = p->sha256 ? xstrdup(p->sha256) : NULL;
	set_identity(&b);
	collect_untrusted(&b);

	pl->clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	if (!pl->privileged)
		pl->clone_flags |= CLONE_NEWUSER;
	if (p->net_mode != NET_HOST)
		pl->clone_flags |= CLONE_NEWNET;
	if (!netplan_build(&pl->net, p, inv->home, d)) {
		plan_free(pl);
		return NULL;
	}
	pl->hostname = xstrdup(p->hostname.value ? p->hostname.value : "cordon");

	push_op(&b, MOUNT_PROC, 0, "/proc", NULL, "proc", 0);
	push_op(&b, MOUNT_DEV, 0, "/dev", NULL, "dev", 0);
	add_home(&b);
	add_home_managed(&b);
	add_policy_mounts(&b);
	add_projects(&b);
	plan_idmap(&b);
	add_guards(&b);
	hide_cordon_state(&b);
	for (size_t i = 0; i < pl->n_projects; i++) {
		add_git_exclude(&b, &pl->projects[i]);
		note_tracked_masks(&b, &pl->projects[i]);
	}
	hide_resolver(&b);
	add_secrets(&b);
	qsort(pl->mounts, pl->n_mounts, sizeof(*pl->mounts), compare_ops);
	prune_guards(&b);

	build_env(&b);
	build_argv(&b);
	pl->command_sha256 = p->command_sha256.value ? xstrdup(p->command_sha256.value) : NULL;

	pl->die_with_parent = p->die_with_parent_on;
	pl->timeout_ms = p->timeout_ms;
	pl->memory_bytes = p->memory_bytes;
	pl->pids = p->pids;
	pl->nofile = p->nofile;
	pl->cpu_milli = p->cpu_milli;
	pl->timeout_text = p->timeout_v.value ? xstrdup(p->timeout_v.value) : NULL;
	pl->memory_text = p->memory_v.value ? xstrdup(p->memory_v.value) : NULL;
	refuse_unrunnable(&b);
	build_seccomp(&b);
	if (pl->no_setid) /* after every step that may set it */
		pl->seccomp = profile_add_no_setid(pl->seccomp, pl->seccomp_profile, d);
	if (pl->command_sha256)
		profile_require_execveat(pl->seccomp, "[sandbox] command_sha256 pins its hash", d);
	build_landlock(&b);
	plan_audit_log(&b);
	pl->notes = b.notes.v ? b.notes.v : xcalloc(1, sizeof(char *));
	b.notes.v = NULL;
	pl->warnings = b.warnings.v ? b.warnings.v : xcalloc(1, sizeof(char *));
	b.warnings.v = NULL;
	strv_free(&b.untrusted);

	if (d->n > before) {
		plan_free(pl);
		return NULL;
	}
	return pl;
}

uint64_t plan_tmpfs_size(const struct plan *pl)
{
	if (pl->memory_bytes)
		return pl->memory_bytes;
	return pl->host_ram_bytes / TMPFS_RAM_FRACTION;
}

void plan_free(struct plan *pl)
{
	if (!pl)
		return;
	free(pl->policy_file);
	free(pl->policy_name);
	free(pl->policy_sha256);
	free(pl->invoker_name);
	free(pl->invoker_home);
	free(pl->run_user);
	free(pl->run_home);
	free(pl->home_persist);
	free(pl->home_state_root);
	for (size_t i = 0; i < pl->n_home_copies; i++) {
		free(pl->home_copies[i].rel);
		free(pl->home_copies[i].source);
		free(pl->home_copies[i].dest);
	}
	free(pl->home_copies);
	free(pl->hostname);
	netplan_clear(&pl->net);
	for (size_t i = 0; i < pl->n_mounts; i++) {
		free(pl->mounts[i].dest);
		free(pl->mounts[i].source);
		free(pl->mounts[i].origin);
		free(pl->mounts[i].content);
		free(pl->mounts[i].note);
	}
	free(pl->mounts);
	strv_clear(pl->project_roots);
	strv_clear(pl->allowed_roots);
	for (size_t i = 0; i < pl->n_projects; i++)
		project_clear(&pl->projects[i]);
	free(pl->projects);
	for (size_t i = 0; i < pl->n_git_sites; i++) {
		free(pl->git_sites[i].root);
		free(pl->git_sites[i].prefix);
	}
	free(pl->git_sites);
	strv_clear(pl->notes);
	strv_clear(pl->warnings);
	free(pl->cwd);
	strv_clear(pl->argv);
	strv_clear(pl->envp);
	free(pl->command_sha256);
	free(pl->timeout_text);
	free(pl->memory_text);
	free(pl->cgroup_driver);
	free(pl->cgroup_refusal);
	free(pl->seccomp_profile);
	free(pl->seccomp_file);
	profile_free(pl->seccomp);
	for (size_t i = 0; i < pl->n_ll_rules; i++)
		free(pl->ll_rules[i].path);
	free(pl->ll_rules);
	free(pl->tcp_bind.v);
	free(pl->tcp_connect.v);
	free(pl->audit_log);
	for (size_t i = 0; i < pl->n_secrets; i++) {
		free(pl->secrets[i].name);
		free(pl->secrets[i].from);
	}
	free(pl->secrets);
	free(pl->command_host_path);
	free(pl->command_hint);
	free(pl->refusal);
	free(pl);
}

const char *mount_kind_name(enum mount_kind k)
{
	switch (k) {
	case MOUNT_BIND:
		return "bind";
	case MOUNT_TMPFS:
		return "tmpfs";
	case MOUNT_SYMLINK:
		return "symlink";
	case MOUNT_PROC:
		return "proc";
	case MOUNT_DEV:
		return "dev";
	case MOUNT_PIN:
		return "pin";
	case MOUNT_PROTECT:
		return "protect";
	case MOUNT_MASK:
		return "mask";
	case MOUNT_GITEXCLUDE:
		return "git-exclude";
	case MOUNT_SECRETS:
		return "secrets";
	}
	return "?";
}

const char *secret_kind_name(enum secret_kind k)
{
	return k == SECRET_ENV ? "env" : "file";
}
