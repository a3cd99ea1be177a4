/* The plan: a policy plus one invocation, compiled into the exact list of
 * steps `run` applies and `explain` prints. Building it touches the host
 * only through struct plan_host, so tests can give it a fake file system. */
#ifndef CORDON_PLAN_H
#define CORDON_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netplan.h"
#include "policy.h"
#include "profile.h"

enum mount_kind {
	MOUNT_BIND,    /* host source at dest */
	MOUNT_TMPFS,   /* a fresh, empty tmpfs */
	MOUNT_SYMLINK, /* a symlink at dest pointing to source */
	MOUNT_PROC,    /* this sandbox's own /proc */
	MOUNT_DEV,     /* minimal /dev: a few nodes, devpts, shm */
	MOUNT_PIN,     /* project directory bound onto itself: it cannot be renamed */
	MOUNT_PROTECT, /* project path bound onto itself read-only */
	MOUNT_MASK,    /* path covered by an empty read-only file or directory */
	/* A git directory's info/exclude, read-only, with the guarded paths
	 * appended (content), so git inside does not see the placeholders. */
	MOUNT_GITEXCLUDE,
	/* [secrets]: a private tmpfs the launcher's values are written
	 * into (by pid 1, before pivot_root), then made read-only. */
	MOUNT_SECRETS,
};

#define MF_RO       (1u << 0)
#define MF_OPTIONAL (1u << 1) /* skip when the source does not exist (ro_try, rw_try) */
#define MF_PROJECT  (1u << 2) /* a project root */
#define MF_HOME     (1u << 3) /* the agent's home */
#define MF_CREATE   (1u << 4) /* missing on the host: create a placeholder first */
#define MF_DIR      (1u << 5) /* the placeholder or mask is a directory */
#define MF_SELFREF  (1u << 6) /* the placeholder is a git commondir file naming its own directory (".") */
#define MF_GITDIR   (1u << 7) /* a git directory outside the project, mounted so git works inside */
#define MF_PERSIST  (1u << 8) /* home = persist: the launcher creates the source (plan.home_state_root) */
/* Mounted idmapped (plan.idmap): files of plan.idmap_uid/gid on disk are
 * the command's account's inside, and what it creates is theirs. */
#define MF_IDMAP (1u << 9)

struct mount_op {
	enum mount_kind kind;
	unsigned flags;
	char *dest;    /* absolute path inside the sandbox */
	char *source;  /* BIND/PIN/PROTECT/MASK: host path; SYMLINK: link target */
	char *origin;  /* what asked for it, for explain */
	int line;      /* policy line, 0 for built-ins */
	char *content; /* GITEXCLUDE: the lines appended to the host's file */
	char *note;    /* for explain: e.g. a masked path git tracks */
};

/* A directory inside the sandbox that the `.git/...` guards apply to: the
 * guard `.git/X` becomes root/prefixX. root is a mounted directory (the
 * project or an outside git directory), prefix names the git directory
 * below it ("" or ".git/modules/sub/", ending in '/'). */
struct git_site {
	char *root;
	char *prefix;
	bool worktree; /* a linked worktree's own directory: only its own files count */
};

/* The directory a run mounts read-write, and how it was chosen. */
struct project {
	char *dir;        /* canonical host path, the same path inside */
	char *why;        /* for explain */
	char *git_dir;    /* the work tree's git directory; NULL if none */
	char *common_dir; /* where its config, hooks and objects are; NULL if none */
	char *index;      /* the work tree's index file; NULL if none */
};

/* home_copy: one entry copied from the invoker's home into the agent's. */
struct home_copy {
	char *rel;    /* as in the policy: relative to both homes */
	char *source; /* host path: the invoker's home / rel */
	char *dest;   /* inside the sandbox: the agent's home / rel */
	int line;
};

/* The caps on what home_copy copies per start, all entries together. */
#define HOME_COPY_MAX_BYTES ((unsigned long long)64 << 20)
#define HOME_COPY_MAX_FILES 10000

/* Landlock access, as levels; the launcher turns them into the rights of
 * the ABI the kernel offers. */
enum ll_access {
	LL_LIST, /* read directories: "/" so that ls / works */
	LL_READ, /* read and execute: ro binds */
	LL_PROC, /* read, write files, truncate: /proc */
	LL_DEV,  /* read, write, truncate, ioctl on devices: /dev */
	LL_FULL, /* everything: rw binds, project roots, home, tmpfs */
};

struct ll_rule {
	char *path;
	enum ll_access access;
	bool optional; /* ro_try, rw_try: may be absent */
};

/* Where the secrets are, inside; each is SECRETS_DIR/NAME. */
#define SECRETS_DIR "/run/secrets"
/* The most a secret's file may hold. */
#define SECRET_MAX_BYTES ((size_t)1 << 20)

enum secret_kind { SECRET_ENV, SECRET_FILE };

/* A secret as the plan knows it: its name and where its value comes
 * from, never the value (the launcher reads that, secrets.c). */
struct plan_secret {
	char *name;
	enum secret_kind kind;
	char *from; /* SECRET_ENV: the variable; SECRET_FILE: the absolute path */
	int line;
};

struct port_list {
	bool any; /* not restricted */
	unsigned short *v;
	size_t n;
};

struct plan {
	const struct policy *policy; /* borrowed: outlives the plan */
	char *policy_file;
	char *policy_name;
	char *policy_sha256; /* of the bytes parsed (policy.sha256), or NULL */

	bool privileged; /* launcher is root: no user namespace */
	/* Runner mode: root under sudo (SUDO_UID set); the invoker is the
	 * sudo caller, hostile input. */
	bool runner;
	uid_t invoker_uid;
	gid_t invoker_gid;
	char *invoker_name;
	char *invoker_home;
	uid_t run_uid;
	gid_t run_gid;
	char *run_user;
	char *run_home;
	/* The projects (and their outside git directories) are mounted
	 * idmapped when the command's account is not their owner: the owner's
	 * files (idmap_uid, idmap_gid on disk) are the account's inside, and
	 * what it creates is the owner's on the host. Set-user/group-ID bits
	 * cannot be set then (no_setid: a seccomp layer). */
	bool idmap;
	uid_t idmap_uid;
	gid_t idmap_gid;
	bool no_setid;

	unsigned long clone_flags;
	char *hostname;
	struct net_plan net; /* the network: what the proxy enforces */

	/* home = persist: the home's source directory (the MF_PERSIST bind's
	 * source) is made below home_state_root, a directory only its owner
	 * (root, or the invoker) can write, one component at a time without
	 * following a symlink. NULL for other home modes. */
	char *home_persist;
	char *home_state_root;
	struct home_copy *home_copies;
	size_t n_home_copies;

	struct mount_op *mounts;
	size_t n_mounts;
	char **allowed_roots; /* project_root entries that exist, canonical */
	struct project *projects;
	size_t n_projects;
	char **project_roots; /* the projects' directories (projects[i].dir) */
	struct git_site *git_sites;
	size_t n_git_sites;
	/* Things a user should know that do not stop the run (a skipped
	 * project_root, a masked file git tracks): explain lists them, run
	 * prints them on stderr. */
	char **notes;
	char **warnings; /* notes run prints too */

	char *cwd; /* inside the sandbox */
	char **argv;
	char **envp;
	/* [sandbox] command_sha256, lowercase hex, or NULL: the command's
	 * process hashes the file it is about to execute and refuses (125)
	 * another (init.c). */
	char *command_sha256;

	bool die_with_parent;
	uint64_t timeout_ms, memory_bytes, pids, nofile;
	uint64_t cpu_milli; /* [limits] cpu in thousandths of a CPU; 0: none */
	/* [limits] timeout and memory as the policy wrote them ("2s", "64M"),
	 * for the lines run prints when one ends the command. */
	char *timeout_text, *memory_text;
	/* Filled in by the launcher (cgroup.c) after detection, for explain:
	 * how memory, pids and cpu will be applied ("cgroup v1: memory at
	 * /sys/fs/cgroup/memory/..."), or why they cannot be (then run
	 * refuses). Both NULL when the policy sets none of them. */
	char *cgroup_driver, *cgroup_refusal;
	/* Filled in by the launcher: the host's RAM (sysinfo), which sizes
	 * the tmpfs mounts when no memory limit does (plan_tmpfs_size). */
	uint64_t host_ram_bytes;
	char *seccomp_profile;      /* the name, or the path */
	char *seccomp_file;         /* the file it was read from; NULL: built into cordon (or none) */
	struct sc_profile *seccomp; /* NULL for profile = none */
	enum landlock_mode landlock;
	struct ll_rule *ll_rules;
	size_t n_ll_rules;
	struct port_list tcp_bind, tcp_connect;
	unsigned landlock_min_abi; /* what the policy needs under require */
	int kernel_landlock_abi;   /* filled in by the launcher; <= 0: none */
	/* Filled in by the launcher, for the message of a 127: where the
	 * command is on the host (NULL: not there either), and the line
	 * that says what to add to see it. */
	char *command_host_path;
	char *command_hint;
	char *audit_log;
	/* The log's place passed plan_audit_log's checks: a refused plan's
	 * `sandbox_refused` record may be written there. */
	bool audit_log_usable;

	struct plan_secret *secrets;
	size_t n_secrets;

	/* Set when this invocation must not run (cwd outside the roots, a
	 * symlink where a protected path should be, ...). explain shows it;
	 * run exits 125 with it. */
	char *refusal;
};

/* The size= of every tmpfs cordon mounts (tmpfs =, the home, /dev/shm):
 * the memory limit when the policy sets one, else a quarter of the host's
 * RAM each; 0 when neither is known (no size= then). */
#define TMPFS_RAM_FRACTION 4
uint64_t plan_tmpfs_size(const struct plan *pl);

enum path_state { PATH_MISSING, PATH_DIR, PATH_FILE, PATH_SYMLINK, PATH_OTHER, PATH_ERROR };

struct plan_host {
	void *ctx;
	/* Canonical path of an existing bind source or project root. Only
	 * root-owned symlinks are followed, and none that lies beneath one of
	 * the untrusted directories (places a sandbox can write: a symlink
	 * there may have been planted by an earlier run, even as root).
	 * Returns NULL with errno set; *why (allocated) may carry a fuller
	 * reason. */
	char *(*resolve)(void *ctx, const char *path, char *const *untrusted, char **why);
	/* What is at path, not following a final symlink. */
	enum path_state (*lstat)(void *ctx, const char *path);
	/* Contents of a small file (env files); NULL with *why on failure. */
	char *(*read_file)(void *ctx, const char *path, size_t *len, char **why);
	/* For a guarded path: why it cannot be guarded by mounts alone (a
	 * file, or a regular file below a directory, with more than one hard
	 * link, whose content another name would expose), allocated; NULL if
	 * nothing. Optional. */
	char *(*find_hard_link)(void *ctx, const char *path);
	/* A small file read without following any symlink (a `.git` file, a
	 * commondir, a git index); NULL with errno (and *why) on failure or
	 * when it is larger than max. */
	char *(*read_nofollow)(void *ctx, const char *path, size_t max, size_t *len, char **why);
	/* The names in a directory, without . and ..; at most max of them,
	 * NULL with errno on failure. Optional. */
	char **(*list_dir)(void *ctx, const char *path, size_t max);
	/* Where path leads, following every symlink: only for messages (a
	 * refused project_root the working directory is in). Optional. */
	char *(*realpath)(void *ctx, const char *path);
	/* A small regular file of the invoking user (uid, gid), rel below
	 * dir, read with that user's rights and without following a symlink
	 * below dir (the git config files the git identity comes from).
	 * NULL with errno: ENOENT missing, ELOOP a symlink, EFBIG not a
	 * regular file of at most max bytes. Optional. */
	char *(*read_user_file)(void *ctx, uid_t uid, gid_t gid, const char *dir, const char *rel, size_t max,
	                        size_t *len);
	/* The owner of path, not following a final symlink; false with errno.
	 * Optional (absent: no idmapped mounts are planned). */
	bool (*owner)(void *ctx, const char *path, uid_t *uid, gid_t *gid);
	/* Where a profile named in the policy (`profile = NAME`) is looked
	 * for first, as NAME.profile; NULL: the built-in profiles only. */
	const char *profile_dir;
};

struct invocation {
	bool privileged;
	bool runner; /* root under sudo: uid, gid, user, home are the sudo caller's */
	uid_t uid;
	gid_t gid;
	const char *user;
	const char *home;
	/* The account the command runs as: the invoker, or the policy's user
	 * when privileged. run_user NULL means the lookup failed. */
	uid_t run_uid;
	gid_t run_gid;
	const char *run_user;
	const char *run_home;
	const char *cwd;       /* canonical */
	char *const *argv;     /* CMD from the command line; may be empty */
	char *const *projects; /* --project values */
	char *const *environ;
};

/* Policy errors go to d (two mounts on one path, a mask that collides with
 * a mount); conditions of the host or the invocation that forbid this run
 * (a missing source, an unreadable env file, cwd outside the roots) go to
 * plan->refusal. Returns NULL only if d gained entries. */
struct plan *plan_build(const struct policy *p, const struct invocation *inv, const struct plan_host *host,
                        struct diags *d);
void plan_free(struct plan *plan);

const char *mount_kind_name(enum mount_kind k);
/* The names of the namespaces the plan creates ("user", "mount", ...),
 * into names (at most max); returns how many. */
size_t plan_namespaces(const struct plan *pl, const char **names, size_t max);
const char *secret_kind_name(enum secret_kind k);
/* The human report (the seccomp rule list only when verbose) and the
 * JSON document (everything), allocated. */
char *plan_explain_text(const struct plan *plan, bool verbose);
char *plan_explain_json(const struct plan *plan);

#endif
