/* Finding and reading policy files. A bare name is looked up in the policy
 * directory; anything with a slash or an .ini suffix is a path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cordon.h"

#ifndef CORDON_POLICY_DIR
#define CORDON_POLICY_DIR "/etc/cordon/policies"
#endif

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

static struct policy *policy_load(const char *path, struct diags *d)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
	return policy_parse(path, text, got, d);
}

struct policy *policy_open(const char *arg, struct diags *d, char **path_out)
{
	char *path = policy_locate(arg);
	size_t before = d->n;
	struct policy *p = policy_load(path, d);
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
