/* Idmapped projects (root with user = NAME): the user namespace that
 * carries the mapping, and idmapping a detached tree with it.
 *
 * An idmapped mount reads an id on disk as an id inside the mount's user
 * namespace and shows it as what that id maps to outside: with the map
 * "OWNER ACCOUNT 1" the owner's files are the account's through the mount,
 * and a file the account creates there is the owner's on disk. Only the
 * one uid and gid are mapped; every other id shows as the overflow id
 * (nobody), and a process whose id is unmapped cannot create files there.
 *
 * The namespace is never entered: a child is cloned into it, its maps
 * are written from outside (writing them needs CAP_SETUID in the parent
 * namespace, which the child itself no longer has), and its
 * /proc/PID/ns/user is kept open. The child then exits; the fd keeps the
 * namespace alive for the mount_setattr calls. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cordon.h"

static bool write_map(int dir, const char *file, const char *content, const char **step)
{
	cleanup_fd int fd = openat(dir, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || write_all(fd, content, strlen(content)) < 0) {
		*step = file;
		return false;
	}
	return true;
}

static int map_child(pid_t pid, uid_t inside_uid, gid_t inside_gid, uid_t outside_uid, gid_t outside_gid,
                     const char **step)
{
	char path[32], map[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	cleanup_fd int dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dir < 0) {
		*step = "open the helper's /proc directory";
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)inside_uid, (unsigned)outside_uid);
	if (!write_map(dir, "uid_map", map, step))
		return -1;
	/* Not needed by root, and it leaves the gid map as narrow as the uid
	 * map whatever writes it. */
	if (!write_map(dir, "setgroups", "deny", step))
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)inside_gid, (unsigned)outside_gid);
	if (!write_map(dir, "gid_map", map, step))
		return -1;
	int ns = openat(dir, "ns/user", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		*step = "open the user namespace";
	return ns;
}

int idmap_userns(uid_t inside_uid, gid_t inside_gid, uid_t outside_uid, gid_t outside_gid, const char **step)
{
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0) {
		*step = "pipe";
		return -1;
	}
	/* Cloned straight into the namespace, so its maps can be written as
	 * soon as it exists: no handshake to wait for an unshare. */
	pid_t pid = spawn_sandbox(CLONE_NEWUSER, -1);
	if (pid < 0) {
		*step = "create the user namespace";
		close(hold[0]);
		close(hold[1]);
		return -1;
	}
	if (pid == 0) {
		/* Waits until the launcher closes its end (or dies). */
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	int ns = map_child(pid, inside_uid, inside_gid, outside_uid, outside_gid, step);
	int saved = errno;
	close(hold[1]);
	int status;
	if (TEMP_FAILURE_RETRY_INT(waitpid(pid, &status, 0)) != pid && ns >= 0) {
		saved = errno;
		*step = "reap the helper";
		close(ns);
		ns = -1;
	}
	errno = saved;
	return ns;
}

bool idmap_tree(int tree, int userns)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	return mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) == 0;
}

/* Magic numbers the kernel headers do not all name. */
#define FS_NFS     0x6969
#define FS_FUSE    0x65735546
#define FS_9P      0x01021997
#define FS_CIFS    0xFF534D42
#define FS_SMB2    0xFE534D42
#define FS_ZFS     0x2FC12FC1
#define FS_F2FS    0xF2F52010
#define FS_BCACHE  0xCA451A4E
#define FS_CEPH    0x00C36400
#define FS_VFAT    0x4d44
#define FS_EXFAT   0x2011BAB0
#define FS_EROFS   0xE0F5E1E2
#define FS_SQUASH  0x73717368
#define FS_NTFS3   0x7366746E
#define FS_VBOXSF  0x786F4256
#define FS_VIRTIOF 0x6a656a63

const char *fs_type_name(long f_type, char buf[FS_NAME_MAX])
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
	    {EXT4_SUPER_MAGIC, "ext4"},
	    {XFS_SUPER_MAGIC, "xfs"},
	    {BTRFS_SUPER_MAGIC, "btrfs"},
	    {TMPFS_MAGIC, "tmpfs"},
	    {RAMFS_MAGIC, "ramfs"},
	    {OVERLAYFS_SUPER_MAGIC, "overlay"},
	    {FS_NFS, "nfs"},
	    {FS_FUSE, "fuse"},
	    {FS_9P, "9p"},
	    {FS_CIFS, "cifs"},
	    {FS_SMB2, "smb"},
	    {FS_ZFS, "zfs"},
	    {FS_F2FS, "f2fs"},
	    {FS_BCACHE, "bcachefs"},
	    {FS_CEPH, "ceph"},
	    {FS_VFAT, "vfat"},
	    {FS_EXFAT, "exfat"},
	    {FS_EROFS, "erofs"},
	    {FS_SQUASH, "squashfs"},
	    {FS_NTFS3, "ntfs3"},
	    {FS_VBOXSF, "vboxsf"},
	    {FS_VIRTIOF, "virtiofs"},
	};
	unsigned long magic = (unsigned long)f_type & 0xFFFFFFFFUL;
	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		if (names[i].magic == magic)
			return names[i].name;
	snprintf(buf, FS_NAME_MAX, "a file system of type 0x%lx", magic);
	return buf;
}
