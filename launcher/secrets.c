/* [secrets]: the values, read by the launcher before the sandbox exists,
 * and written by pid 1 into the private tmpfs at /run/secrets (mounts.c)
 * before pivot_root. The plan knows names and sources only; the values
 * live in this process's memory (and, once cloned, pid 1's) and nowhere
 * else: not in the command's environment or argv, not in explain, not in
 * audit records.
 *
 * Where a value may come from:
 *  - env:VAR, the launcher's environment. The variable is never passed on
 *    (plan.c drops it even when `keep` names it), and its bytes in this
 *    process's environment block are overwritten once read, so neither
 *    /proc/PID/environ of the launcher nor that of pid 1 (a copy of it)
 *    shows the value.
 *  - file:/PATH, opened without following any symlink and read up to
 *    SECRET_MAX_BYTES. Unprivileged, with the invoker's rights (the
 *    launcher is the invoker). Under sudo (runner mode) the invoker is
 *    hostile: the file and every directory above it must be root's and
 *    written by root alone (open_root_owned), and the invoker must not be
 *    able to read it: not world-readable, not group-readable by a group
 *    the invoker is in (primary or supplementary, from the group
 *    database), and no POSIX ACL (which could grant them more). Otherwise
 *    a secret meant for the agent account would leak to, or be chosen by,
 *    the user the runner is protecting it from. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cordon.h"

/* Wipes n bytes so the compiler cannot drop the stores. */
static void wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

static char *load_env(const struct plan_secret *s)
{
	size_t n = strlen(s->from);
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, s->from, n) != 0 || (*e)[n] != '=')
			continue;
		char *value = *e + n + 1;
		if (!*value)
			die("secrets: %s: the variable %s is empty in cordon's environment", s->name, s->from);
		char *copy = xstrdup(value);
		/* The environment block is what /proc/PID/environ shows, of
		 * this process and of the pid 1 cloned from it. */
		wipe(value, strlen(value));
		return copy;
	}
	die("secrets: %s: the variable %s is not set in cordon's environment", s->name, s->from);
}

/* Under sudo: why the invoker could read the file open at fd, or NULL. */
static char *readable_by_invoker(const struct plan *pl, int fd, const struct stat *st)
{
	if (st->st_mode & S_IROTH)
		return xstrdup("it is readable by everyone (mode o+r)");
	if (fgetxattr(fd, "system.posix_acl_access", NULL, 0) >= 0)
		return xstrdup("it has a POSIX ACL, which may let others read it");
	if (errno != ENODATA && errno != ENOTSUP)
		return xasprintf("cannot read its ACL: %s", strerror(errno));
	if (!(st->st_mode & S_IRGRP))
		return NULL;
	if (st->st_gid == pl->invoker_gid)
		return xasprintf("its group %u is the invoking user's and may read it (mode g+r)",
		                 (unsigned)st->st_gid);
	int n = 64;
	for (int attempt = 0; attempt < 4; attempt++) {
		cleanup_free gid_t *groups = xcalloc((size_t)n, sizeof(gid_t));
		int got = n;
		if (getgrouplist(pl->invoker_name, pl->invoker_gid, groups, &got) < 0) {
			n = got > n ? got : n * 4;
			continue;
		}
		for (int i = 0; i < got; i++)
			if (groups[i] == st->st_gid)
				return xasprintf(
				    "its group %u is one of the invoking user's and may read it (mode g+r)",
				    (unsigned)st->st_gid);
		return NULL;
	}
	return xstrdup("cannot list the invoking user's groups");
}

static char *load_file(const struct plan *pl, const struct plan_secret *s, size_t *len)
{
	cleanup_fd int fd = -1;
	if (pl->runner) {
		cleanup_free char *why = NULL;
		fd = open_root_owned(s->from, O_RDONLY | O_NONBLOCK, &why);
		if (fd < 0)
			die("secrets: %s: file %s: under sudo it must be root's: %s", s->name, s->from, why);
	} else {
		struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		                       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		fd = (int)syscall(SYS_openat2, AT_FDCWD, s->from, &how, sizeof(how));
		if (fd < 0 && errno == ELOOP)
			die("secrets: %s: file %s: its path has a symlink, which cordon does not follow", s->name,
			    s->from);
		if (fd < 0)
			die_with_error("secrets: %s: file %s", s->name, s->from);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_with_error("secrets: %s: file %s: stat", s->name, s->from);
	if (pl->runner) {
		cleanup_free char *why = readable_by_invoker(pl, fd, &st);
		if (why)
			die("secrets: %s: file %s: under sudo the invoking user must not be able to read it: %s",
			    s->name, s->from, why);
	}
	char *data = read_regular_file(fd, SECRET_MAX_BYTES, len);
	if (!data && errno == EFBIG)
		die("secrets: %s: file %s: not a regular file of at most 1 MiB", s->name, s->from);
	if (!data)
		die_with_error("secrets: %s: file %s: read", s->name, s->from);
	return data;
}

void secrets_load(const struct plan *pl, struct secret_values *sv)
{
	sv->v = pl->n_secrets ? xcalloc(pl->n_secrets, sizeof(*sv->v)) : NULL;
	sv->n = 0;
	for (size_t i = 0; i < pl->n_secrets; i++) {
		const struct plan_secret *s = &pl->secrets[i];
		struct secret_value *v = &sv->v[sv->n++];
		v->secret = s;
		if (s->kind == SECRET_ENV) {
			v->data = load_env(s);
			v->len = strlen(v->data);
		} else {
			v->data = load_file(pl, s, &v->len);
		}
	}
}

void secrets_clear(struct secret_values *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		wipe(sv->v[i].data, sv->v[i].len);
		free(sv->v[i].data);
	}
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

size_t secrets_bytes(const struct secret_values *sv)
{
	/* A page per file at least, and a few for the directory. */
	size_t total = (size_t)4 * 4096;
	for (size_t i = 0; i < sv->n; i++)
		total += (sv->v[i].len + 4095) / 4096 * 4096 + 4096;
	return total;
}

void secrets_write(const struct plan *pl, int dir, const struct secret_values *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		const struct secret_value *v = &sv->v[i];
		cleanup_fd int fd =
		    openat(dir, v->secret->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0400);
		if (fd < 0)
			die_with_error("secrets: %s: create " SECRETS_DIR "/%s", v->secret->name, v->secret->name);
		if (v->len && write_all(fd, v->data, v->len) < 0)
			die_with_error("secrets: %s: write", v->secret->name);
		/* As root the file is root's until given to the account; in a
		 * user namespace it is already the invoker's, who runs it. */
		if (fchown(fd, pl->run_uid, pl->run_gid) < 0 || fchmod(fd, 0400) < 0)
			die_with_error("secrets: %s: give it to uid %u", v->secret->name, (unsigned)pl->run_uid);
	}
}
