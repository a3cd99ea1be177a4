/* Landlock: a second, independent filesystem wall built from the same
 * plan as the mount table, plus TCP port rules and IPC scoping where the
 * kernel offers them. Rights are negotiated: the highest ABI the kernel
 * has, up to 7, and only the rights that ABI knows.
 *
 * Debian 12's uapi headers stop at ABI 2; what later ABIs added is
 * declared here with the kernel's values. */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cordon.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define CORDON_LL_NET_BIND_TCP        (1ULL << 0) /* ABI 4 */
#define CORDON_LL_NET_CONNECT_TCP     (1ULL << 1) /* ABI 4 */
#define CORDON_LL_RULE_NET_PORT       2           /* ABI 4 */
#define CORDON_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define CORDON_LL_SCOPE_SIGNAL        (1ULL << 1) /* ABI 6 */

#define LANDLOCK_MAX_ABI 7

struct cordon_ruleset_attr {
	__u64 handled_access_fs;
	__u64 handled_access_net;
	__u64 scoped;
};

struct cordon_net_port_attr {
	__u64 allowed_access;
	__u64 port;
} __attribute__((packed));

#define FS_READ (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* Rights that apply to a file (a rule on a non-directory may hold only
 * these). */
#define FS_FILE_RIGHTS                                                                                                 \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |                   \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0)
		return -errno;
	return abi > LANDLOCK_MAX_ABI ? LANDLOCK_MAX_ABI : (int)abi;
}

static __u64 fs_rights(int abi)
{
	__u64 r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* the 13 rights of ABI 1 */
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

static __u64 level_rights(enum ll_access a, __u64 handled)
{
	switch (a) {
	case LL_LIST:
		return LANDLOCK_ACCESS_FS_READ_DIR;
	case LL_READ:
		return FS_READ;
	case LL_PROC:
		return (FS_READ & ~LANDLOCK_ACCESS_FS_EXECUTE) | LANDLOCK_ACCESS_FS_WRITE_FILE |
		       (handled & LANDLOCK_ACCESS_FS_TRUNCATE);
	case LL_DEV:
		return LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_WRITE_FILE |
		       (handled & (LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV));
	case LL_FULL:
		return handled;
	}
	return 0;
}

static void add_port(int ruleset, __u64 access, unsigned short port)
{
	struct cordon_net_port_attr attr = {.allowed_access = access, .port = port};
	if (syscall(SYS_landlock_add_rule, ruleset, CORDON_LL_RULE_NET_PORT, &attr, 0) < 0)
		die_with_error("landlock: TCP port %u rule", port);
}

/* Restricts the calling thread (and what it starts later) to rules,
 * bind and connect, on the ABI abi (at least 1). */
void landlock_restrict(int abi, const struct ll_rule *rules, size_t n, const struct port_list *bind,
                       const struct port_list *connect)
{
	struct cordon_ruleset_attr attr = {.handled_access_fs = fs_rights(abi)};
	bool restrict_bind = abi >= 4 && !bind->any;
	bool restrict_connect = abi >= 4 && !connect->any;
	if (restrict_bind)
		attr.handled_access_net |= CORDON_LL_NET_BIND_TCP;
	if (restrict_connect)
		attr.handled_access_net |= CORDON_LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = CORDON_LL_SCOPE_ABSTRACT_UNIX | CORDON_LL_SCOPE_SIGNAL;

	/* The kernel takes the attribute size of the ABI it knows; a shorter
	 * struct is how an older kernel is asked for less. */
	size_t size = abi >= 6 ? sizeof(attr) : abi >= 4 ? 2 * sizeof(__u64) : sizeof(__u64);
	cleanup_fd int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset < 0)
		die_with_error("landlock: create ruleset (ABI %d)", abi);

	for (size_t i = 0; i < n; i++) {
		const struct ll_rule *r = &rules[i];
		cleanup_fd int fd = open(r->path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT && r->optional)
				continue;
			die_with_error("landlock: open %s", r->path);
		}
		struct stat st;
		if (fstat(fd, &st) < 0)
			die_with_error("landlock: stat %s", r->path);
		__u64 access = level_rights(r->access, attr.handled_access_fs) & attr.handled_access_fs;
		if (!S_ISDIR(st.st_mode))
			access &= FS_FILE_RIGHTS;
		if (!access)
			continue;
		struct landlock_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};
		if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			die_with_error("landlock: rule for %s", r->path);
	}
	for (size_t i = 0; restrict_bind && i < bind->n; i++)
		add_port(ruleset, CORDON_LL_NET_BIND_TCP, bind->v[i]);
	for (size_t i = 0; restrict_connect && i < connect->n; i++)
		add_port(ruleset, CORDON_LL_NET_CONNECT_TCP, connect->v[i]);

	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		die_with_error("landlock: restrict");
}

void landlock_apply(const struct plan *pl)
{
	if (pl->landlock == LANDLOCK_OFF)
		return;
	int abi = landlock_abi();
	bool require = pl->landlock == LANDLOCK_REQUIRE;
	if (abi < 1) {
		if (!require)
			return; /* best-effort; explain and the audit record say so */
		die("landlock: %s; set [landlock] mode = best-effort to run without it",
		    abi == -EOPNOTSUPP ? "disabled on this kernel (add landlock to the lsm= boot parameter)"
		                       : "not supported by this kernel");
	}
	if (require && (unsigned)abi < pl->landlock_min_abi)
		die("landlock: the policy needs ABI %u (TCP port rules), this kernel offers ABI %d",
		    pl->landlock_min_abi, abi);
	landlock_restrict(abi, pl->ll_rules, pl->n_ll_rules, &pl->tcp_bind, &pl->tcp_connect);
}
