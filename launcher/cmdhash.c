/* [sandbox] command_sha256: the command's file, found as execvp(3) would
 * find it, opened once, hashed from that descriptor and executed from the
 * same descriptor (execveat with AT_EMPTY_PATH). The file that runs is the
 * file that was hashed: no path is looked up again between the check and
 * the exec, so nothing can be put in its place.
 *
 * Runs in the command's process (a vfork child of pid 1), after every
 * privilege is dropped and Landlock is applied, so the file is opened with
 * the rights the exec has, and before the seccomp filters, which need not
 * allow what hashing uses. Nothing here allocates: the memory is pid 1's
 * until the exec.
 *
 * SHA-256 is nettle's (statically linked): the kernel's AF_ALG hash socket
 * would need no library, but kernels built without
 * CONFIG_CRYPTO_USER_API_HASH (common in small VMs) have none, and a pinned
 * hash that cannot be checked would have to refuse every run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cordon.h"

/* glibc's execvp with no PATH in the environment (confstr _CS_PATH). */
#define DEFAULT_PATH "/bin:/usr/bin"

/* path opened for reading, if it is a regular file this process may
 * execute; -1 with errno as an exec would fail (EACCES for a file that is
 * not an executable regular file, or that cannot be read to be hashed). */
static int open_candidate(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || faccessat(fd, "", X_OK, AT_EMPTY_PATH) < 0) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/* The lookup of execvp (glibc's posix/execvpe.c): a name with a slash as
 * it is; otherwise each PATH entry in turn (an empty one is the working
 * directory), going on past a missing file or one that is not executable.
 * The path found goes to out. -1 with errno: EACCES if some file was there
 * but could not be used, else ENOENT (or the first other error). */
static int find_command(const char *name, char out[PATH_MAX])
{
	if (!*name) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(name, '/')) {
		int len = snprintf(out, PATH_MAX, "%s", name);
		if (len < 0 || len >= PATH_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return open_candidate(out);
	}
	const char *path = getenv("PATH");
	if (!path)
		path = DEFAULT_PATH;
	bool eacces = false;
	for (const char *p = path;;) {
		size_t n = strcspn(p, ":");
		int len = n ? snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, name) : snprintf(out, PATH_MAX, "%s", name);
		if (len > 0 && len < PATH_MAX) { /* a longer one cannot be opened: skipped, as execvp does */
			int fd = open_candidate(out);
			if (fd >= 0)
				return fd;
			switch (errno) {
			case EACCES:
				eacces = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				return -1;
			}
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	errno = eacces ? EACCES : ENOENT;
	return -1;
}

int command_open_pinned(const struct plan *pl)
{
	char path[PATH_MAX];
	int fd = find_command(pl->argv[0], path);
	if (fd < 0)
		return -1;

	struct sha256_ctx ctx;
	sha256_init(&ctx);
	uint8_t buf[65536];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die_with_error("command_sha256: read %s", path);
		if (r == 0)
			break;
		sha256_update(&ctx, (size_t)r, buf);
	}
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_digest(&ctx, sizeof(digest), digest);
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	for (size_t i = 0; i < sizeof(digest); i++) {
		hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 0xf];
	}
	hex[sizeof(hex) - 1] = '\0';
	if (strcmp(hex, pl->command_sha256) != 0)
		die("command_sha256: %s has sha256 %s, the policy pins %s", path, hex, pl->command_sha256);

	/* A #! script is run by its interpreter, which the kernel gives
	 * /dev/fd/N to read it: that descriptor must stay open across the
	 * exec (the kernel refuses a close-on-exec one, ENOENT). A binary
	 * needs nothing of it, so it keeps close-on-exec and the command
	 * does not inherit it. */
	char magic[2];
	if (pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) && magic[0] == '#' && magic[1] == '!' &&
	    fcntl(fd, F_SETFD, 0) < 0)
		die_with_error("command_sha256: keep %s open for its interpreter", path);
	return fd;
}
