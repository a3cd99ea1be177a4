/* Identity and privilege: the last steps before exec.
 *
 * The order is forced by the kernel: clearing the bounding set needs
 * CAP_SETPCAP and changing ids needs CAP_SETUID/CAP_SETGID, and a switch
 * away from uid 0 empties the effective and permitted sets. So: bounding
 * and ambient first, then ids, then the remaining sets, then read
 * everything back rather than trusting the calls. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cordon.h"

/* A user namespace whose maps an unprivileged process wrote (`unshare
 * --map-root-user`, a rootless container without newgidmap) has
 * setgroups denied for good: no process in it can change its groups. */
static bool setgroups_denied(void)
{
	char buf[16] = {0};
	cleanup_fd int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && strncmp(buf, "deny", 4) == 0;
}

/* Nothing to drop: no supplementary group but, at most, gid itself. */
static bool holds_no_groups(gid_t gid)
{
	gid_t groups[64];
	int n = getgroups(N_ELEMENTS(groups), groups);
	if (n < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] != gid)
			return false;
	return true;
}

/* Supplementary groups are reset: the command gets only the primary
 * group of the account it runs as. */
static void drop_groups(gid_t gid)
{
	if (setgroups(0, NULL) == 0)
		return;
	int err = errno;
	bool denied = err == EPERM && setgroups_denied();
	if (denied && holds_no_groups(gid))
		return; /* nothing to drop, and no way to */
	errno = err;
	if (denied)
		die_with_error("drop supplementary groups: this user namespace denies setgroups and the process holds "
		               "groups; start the container without supplementary groups, or with its id maps "
		               "written by its runtime or newgidmap, which allow setgroups");
	die_with_error("drop supplementary groups");
}

static void switch_identity(bool change, uid_t uid, gid_t gid)
{
	if (!change)
		return; /* the user namespace already maps us to the invoker */
	drop_groups(gid);
	if (setresgid(gid, gid, gid) < 0)
		die_with_error("setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		die_with_error("setresuid %u", (unsigned)uid);
}

void drop_privileges(const struct plan *pl)
{
	drop_privileges_to(pl->privileged, pl->run_uid, pl->run_gid);
}

void drop_privileges_to(bool change_id, uid_t uid, gid_t gid)
{
	/* libcap-ng caches the pid it applies to and resets it in a
	 * pthread_atfork() handler; clone3 and vfork skip those handlers. */
	capng_setpid((int)syscall(SYS_gettid));
	/* Locked securebits: uid 0 gets no capabilities from exec, a uid
	 * change never keeps or re-grants them, and the ambient set cannot be
	 * raised again. Needs CAP_SETPCAP, so it comes first. */
	if (prctl(PR_SET_SECUREBITS,
	          SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	              SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
	          0, 0, 0) < 0)
		die_with_error("lock securebits");
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		die("drop capabilities: clearing the bounding set failed");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die_with_error("drop capabilities: clear ambient set");

	switch_identity(change_id, uid, gid);

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		die("drop capabilities: clearing effective/permitted/inheritable failed");

	/* capng_apply checked each bounding-set drop and the ambient clear
	 * reported success; read the three per-process sets back. */
	if (!no_capabilities())
		die("drop capabilities: some remain after dropping");
}

bool no_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &hdr, data) < 0)
		die_with_error("capget");
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return false;
	return true;
}

void set_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die_with_error("set no_new_privs");
}
