/* Finding and reading policy files. A bare name is looked up in the policy
 * directory; anything with a slash or an .ini suffix is a path. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cordon.h"

#define MAX_POLICY_SIZE (1 << 20)

static bool is_bare_name(const char *arg)
{
	return !strchr(arg, '/') && !str_has_suffix(arg, ".ini") && *arg && arg[0] != '.';
}

static char *policy_locate(const char *arg)
{
	if (!is_bare_name(arg))
		return xstrdup(arg);
	/* Under sudo the environment belongs to the invoker; it must not
	 * choose which file becomes the policy. */
	const char *env = running_under_sudo() ? NULL : getenv("CORDON_POLICY_PATH");
	if (env && *env) {
		cleanup_free char *dirs = xstrdup(env);
		char *save = NULL;
		for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char *candidate = xasprintf("%s/%s.ini", d, arg);
			if (access(candidate, F_OK) == 0)
				return candidate;
			free(candidate);
		}
	}
	return xasprintf("%s/%s.ini", CORDON_POLICY_DIR, arg);
}

/* Why st (of path) cannot be trusted under sudo, or NULL. */
static char *untrusted_why(const char *path, const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return xasprintf("%s is a symlink", path);
	if (st->st_uid != 0)
		return xasprintf("%s is owned by uid %u, not root", path, (unsigned)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return xasprintf("%s is %s-writable", path, (st->st_mode & S_IWOTH) ? "world" : "group");
	return NULL;
}

int open_root_owned(const char *path, int flags, char **why)
{
	if (path[0] != '/') {
		*why = xasprintf("%s is not an absolute path", path);
		errno = EINVAL;
		return -1;
	}
	cleanup_fd int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (dir < 0 || fstat(dir, &st) < 0) {
		*why = xasprintf("/: %s", strerror(errno));
		return -1;
	}
	if ((*why = untrusted_why("/", &st)) != NULL) {
		errno = EPERM;
		return -1;
	}
	cleanup_free char *rest = xstrdup(path);
	size_t done = 0;
	for (char *comp = rest, *next; comp; comp = next) {
		while (*comp == '/')
			comp++;
		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		while (next && *next == '/')
			next++;
		if (next && !*next)
			next = NULL;
		if (!*comp || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			*why = xasprintf("%s: . and .. are not allowed", path);
			errno = EINVAL;
			return -1;
		}
		done += strlen(comp) + 1;
		cleanup_free char *shown = xstrndup(path, done);
		bool last = next == NULL;
		int fd = openat(dir, comp, (last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			int err = errno;
			struct stat lst;
			if (fstatat(dir, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode))
				*why = xasprintf("%s is a symlink", shown);
			else
				*why = xasprintf("%s: %s", shown, strerror(err));
			errno = err;
			return -1;
		}
		close(dir);
		dir = fd;
		if (fstat(dir, &st) < 0) {
			*why = xasprintf("%s: %s", shown, strerror(errno));
			return -1;
		}
		if ((*why = untrusted_why(shown, &st)) != NULL) {
			errno = EPERM;
			return -1;
		}
	}
	return steal_fd(&dir);
}

/* The SHA-256 of the policy's bytes, as lowercase hex: audit records name
 * the exact text that was parsed, whatever the file holds later. */
static char *sha256_hex(const char *data, size_t len)
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)data);
	sha256_digest(&ctx, sizeof(digest), digest);
	const size_t n = (size_t)2 * SHA256_DIGEST_SIZE;
	char *hex = xmalloc(n + 1);
	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
		hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 0xf];
	}
	hex[n] = '\0';
	return hex;
}

static struct policy *policy_load(const char *path, struct diags *d)
{
	cleanup_fd int fd = -1;
	if (running_under_sudo()) {
		/* Under sudo the policy is the administrator's: the file and
		 * every directory above it root's, written by root alone. */
		cleanup_free char *why = NULL;
		fd = open_root_owned(path, O_RDONLY, &why);
		if (fd < 0) {
			diags_add(d, path, 0, "under sudo a policy must be root's: %s", why);
			return NULL;
		}
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0) {
		diags_add(d, path, 0, "cannot open policy: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		diags_add(d, path, 0, "cannot stat policy: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		diags_add(d, path, 0, "policy is not a regular file");
		return NULL;
	}
	if (st.st_size > MAX_POLICY_SIZE) {
		diags_add(d, path, 0, "policy is larger than 1 MiB");
		return NULL;
	}
	cleanup_free char *text = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diags_add(d, path, 0, "cannot read policy: %s", strerror(errno));
			return NULL;
		}
		if (r == 0 || got + (size_t)r == (size_t)st.st_size) {
			got += (size_t)r;
			break;
		}
		got += (size_t)r;
	}
	text[got] = '\0';
	struct policy *p = policy_parse(path, text, got, d);
	p->sha256 = sha256_hex(text, got);
	return p;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "ci, dev, pi": the policies in the policy directory by bare name, for
 * the message when a name is not found; "none" when there are none. */
static char *installed_policy_names(void)
{
	enum { MAX_LISTED = 32 };
	char *names[MAX_LISTED];
	size_t n = 0;
	DIR *dir = opendir(CORDON_POLICY_DIR);
	for (struct dirent *e; dir && n < MAX_LISTED && (e = readdir(dir));)
		if (e->d_name[0] != '.' && str_has_suffix(e->d_name, ".ini"))
			names[n++] = xstrndup(e->d_name, strlen(e->d_name) - strlen(".ini"));
	if (dir)
		closedir(dir);
	if (n == 0)
		return xstrdup("none");
	qsort(names, n, sizeof(*names), cmp_str);
	buf_t b = {0};
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
		free(names[i]);
	}
	return b.p;
}

struct policy *policy_open(const char *arg, struct diags *d, char **path_out)
{
	/* A sudoers rule names the policy; a path would let the invoker
	 * write their own. */
	if (running_under_sudo() && !is_bare_name(arg)) {
		diags_add(d, arg, 0, "under sudo --policy takes a bare name (a policy in %s), not a path",
		          CORDON_POLICY_DIR);
		if (path_out)
			*path_out = xstrdup(arg);
		return NULL;
	}
	char *path = policy_locate(arg);
	size_t before = d->n;
	struct policy *p = NULL;
	if (is_bare_name(arg) && access(path, F_OK) < 0 && errno == ENOENT) {
		cleanup_free char *names = installed_policy_names();
		diags_add(d, path, 0, "no policy named %s (in %s: %s)", arg, CORDON_POLICY_DIR, names);
	} else {
		p = policy_load(path, d);
	}
	/* A policy with a problem is not half used: the caller gets the
	 * problems, or a policy that has none. */
	if (d->n > before) {
		policy_free(p);
		p = NULL;
	}
	if (path_out)
		*path_out = path;
	else
		free(path);
	return p;
}
