/* Declarations shared by the launcher's modules. Each module owns one
 * boundary; this header is the map of who does what. */
#ifndef CORDON_LAUNCHER_H
#define CORDON_LAUNCHER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"
#include "policy.h"
#include "util.h"

/* Where bare names are looked up: `--policy NAME` as NAME.ini in the
 * policy directory, `profile = NAME` as NAME.profile in the profile
 * directory (else the built-in copy). CMake sets both from the install
 * prefix; `cordon --version` prints them. */
#ifndef CORDON_POLICY_DIR
#define CORDON_POLICY_DIR "/etc/cordon/policies"
#endif
#ifndef CORDON_PROFILE_DIR
#define CORDON_PROFILE_DIR "/usr/share/cordon/seccomp"
#endif

#define EXIT_TIMEOUT  124
#define EXIT_SETUP    125
#define EXIT_NOEXEC   126
#define EXIT_NOTFOUND 127

/* What the kernel sends the launcher when its parent dies (die_with_parent). */
#define SIG_PARENT_DIED (SIGRTMIN + 4)

/* Seconds between the SIGTERM of a timeout and the SIGKILL that follows. */
#define TIMEOUT_GRACE_MS 5000

/* die.c: fatal errors. Each prints one line "cordon: STEP: reason" and
 * exits 125, so a sandbox that cannot be built never runs its command. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void die_with_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* The same line, and exit status instead of 125 (the command's 126, 127). */
void die_with_status(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A function die() calls before it exits, in the process that set it
 * (fn NULL: none): the launcher's way to remove what it made on the host
 * when a later step fails. */
void die_set_cleanup(void (*fn)(void *), void *arg);
/* Where die() also copies its message, so the launcher can audit why
 * setup failed inside the sandbox. -1 when unused. */
extern int die_status_fd;
ssize_t write_all(int fd, const void *buf, size_t len);
/* The whole content of the regular file open at fd, NUL-terminated;
 * NULL with errno (EFBIG: not a regular file, or larger than max). */
char *read_regular_file(int fd, size_t max, size_t *len);
#define TEMP_FAILURE_RETRY_INT(expr)                                                                                   \
	({                                                                                                             \
		long _r;                                                                                               \
		do                                                                                                     \
			_r = (long)(expr);                                                                             \
		while (_r == -1L && errno == EINTR);                                                                   \
		_r;                                                                                                    \
	})

/* clock.c: the monotonic clock, and arming a one-shot timerfd (false
 * with errno when timerfd_settime fails). */
long long now_ms(void);
long long now_us(void);
bool timer_arm(int tfd, uint64_t ms);

/* host.c: the plan's view of the host, and the invocation. */
extern const struct plan_host host_ops;
struct invocation_storage {
	struct invocation inv;
	char *user, *home, *run_user, *run_home, *cwd;
};
void invocation_gather(struct invocation_storage *s, const struct policy *p, char *const *argv, char *const *projects);
void invocation_release(struct invocation_storage *s);
/* For the message of a 127: looks the command up on the host as the
 * invoker would (their PATH, their rights) and fills in the plan's
 * command_host_path and command_hint; nothing when it is not there. */
void command_host_lookup(struct plan *pl, char *const *environ);
bool running_under_sudo(void);

/* policyfile.c: finding and reading policy files. */
/* Locates P (a path or a bare name) and loads it: the policy, or NULL with
 * the problems added to d. The path it was read from goes to *path_out
 * (the caller frees it) unless path_out is NULL. */
struct policy *policy_open(const char *arg, struct diags *d, char **path_out);
/* Opens path (absolute) with flags, O_NOFOLLOW, only if it and every
 * directory above it are root's, not symlinks and not writable by group
 * or others: what a sudo runner may trust. -1 with errno and *why
 * (allocated) naming the offending path. */
int open_root_owned(const char *path, int flags, char **why);

/* ns.c: entering namespaces. */
/* cgroup_fd >= 0: pid 1 is created in that cgroup (CLONE_INTO_CGROUP). */
pid_t spawn_sandbox(unsigned long clone_flags, int cgroup_fd);
void setup_user_namespace(const struct plan *pl);
/* Exits 125 with "STEP: error; what refused it and what grants it". */
void die_namespaces(const char *step, bool userns) __attribute__((noreturn));
void setup_uts_and_net(const struct plan *pl);

/* guards.c: the host side of mask and protect. Every run holds a shared
 * lock on each directory holding a path it guards; placeholders are made
 * under those locks, recorded so a killed run's are removed by the next,
 * and removed only under an exclusive lock, by their run or a helper. */
struct guard_lock {
	int fd;
	char *dir;
	dev_t dev;
	ino_t ino;
};
struct placeholder_id {
	dev_t dev;
	ino_t ino;
	long long btime_sec;
	unsigned btime_nsec;
};
struct placeholder {
	char *parent, *name;
	dev_t parent_dev;
	ino_t parent_ino;
	struct placeholder_id id;
	char kind; /* 'd' directory, 'f' empty file, 's' git commondir "." */
	char *tmp; /* the name it was made under, while that may still exist */
};
struct guard_state {
	struct guard_lock *locks;
	size_t n_locks;
	struct placeholder *made;
	size_t n_made;
	unsigned seq;
	int record_fd;
	char *record_path;
};
void guard_state_init(struct guard_state *gs);
/* Makes the directory records are kept in, if it can. */
void placeholders_prepare(bool privileged, const char *invoker_home);
/* Removes what runs that are gone left behind (non-blocking). */
void placeholders_sweep(bool privileged, const char *invoker_home);
/* Shared locks on the directories of every guarded path (waits briefly
 * for a cleanup in progress; exits 125 if one never ends). */
void guards_lock(const struct plan *pl, struct guard_state *gs);
/* Under the locks: are the paths the plan found still there? */
bool guards_still_valid(const struct plan *pl);
void guards_unlock(struct guard_state *gs);
void placeholders_create(const struct plan *pl, struct guard_state *gs, const char *sandbox_id);
/* After the sandbox is gone: releases the locks and removes this run's
 * placeholders, now or through a helper that waits for the other runs. */
void guards_finish(struct guard_state *gs);

/* secrets.c: [secrets] values. */
struct secret_value {
	const struct plan_secret *secret;
	char *data;
	size_t len;
};
struct secret_values {
	struct secret_value *v;
	size_t n;
};
/* In the launcher, before the sandbox is cloned: every secret's value
 * (dies, 125, naming the secret, when one is missing or refused). */
void secrets_load(const struct plan *pl, struct secret_values *sv);
/* Wipes and frees the values. */
void secrets_clear(struct secret_values *sv);
/* The size of a tmpfs that holds them. */
size_t secrets_bytes(const struct secret_values *sv);
/* In pid 1: each value as the file NAME in dir, mode 0400, the command's
 * account's. */
void secrets_write(const struct plan *pl, int dir, const struct secret_values *sv);

/* mounts.c: the new root. userns: idmap_userns()'s fd when plan.idmap
 * (the MF_IDMAP binds are idmapped with it), else -1. secrets: the values
 * the MOUNT_SECRETS tmpfs is filled with. */
void mounts_apply(const struct plan *pl, int userns, const struct secret_values *secrets);

/* idmap.c: idmapped projects. A user namespace (an O_CLOEXEC fd) mapping
 * inside_uid/gid, the ids on disk, to outside_uid/gid, the ids seen through
 * the mount; -1 with errno and the step that failed in *step. */
int idmap_userns(uid_t inside_uid, gid_t inside_gid, uid_t outside_uid, gid_t outside_gid, const char **step);
/* Idmaps the detached tree with userns, submounts too; false with errno. */
bool idmap_tree(int tree, int userns);
/* A name for statfs's f_type ("ext4", "nfs", "fuse"), else its hex in buf. */
#define FS_NAME_MAX 48
const char *fs_type_name(long f_type, char buf[FS_NAME_MAX]);

/* home.c: the agent's home, in pid 1 before pivot_root. home = persist:
 * the persistent directory, made and checked without following a symlink,
 * opened (to be cloned). home_copy: the copies, into the home open at
 * home (the mounted tmpfs or directory), read as the invoker. */
int home_persist_open(const struct plan *pl);
void home_copy_apply(const struct plan *pl, int home);

/* caps.c: identity and privileges. */
/* Clears bounding and ambient sets, switches to the plan's account (when
 * privileged), clears the rest, and verifies all of it. */
void drop_privileges(const struct plan *pl);
void drop_privileges_to(bool change_id, uid_t uid, gid_t gid);
void set_no_new_privs(void);
bool no_capabilities(void); /* effective, permitted and inheritable all empty */

/* seccomp.c: the plan's profile, compiled by libseccomp in the launcher
 * while pid 1 builds the root (prepare before clone, export after it),
 * received by pid 1, loaded by the command as its last step before exec.
 * validate (for check and explain) and export (for run) report what
 * libseccomp or the kernel's limits refuse the same way, as FILE:LINE. */
/* A profile's layers, and the no-set-ID layer in front of them. */
#define SECCOMP_MAX_LAYERS (SC_MAX_LAYERS + 1)
struct sock_filter;
struct seccomp_job {
	struct sock_filter *prog[SECCOMP_MAX_LAYERS];
	uint32_t len[SECCOMP_MAX_LAYERS]; /* bytes */
	size_t n;
	int memfd, sizes_r, sizes_w;
};
void seccomp_prepare(const struct sc_profile *p, struct seccomp_job *job);
bool seccomp_export(const struct sc_profile *p, struct seccomp_job *job, struct diags *d);
void seccomp_receive(struct seccomp_job *job);
void seccomp_load_programs(const struct seccomp_job *job);
void seccomp_validate(const struct sc_profile *p, struct diags *d);
void seccomp_load_profile(const struct sc_profile *p);

/* landlock.c: the kernel's Landlock ABI (negative errno if none), and the
 * plan's ruleset applied to the calling process. */
int landlock_abi(void);
void landlock_apply(const struct plan *pl);
void landlock_restrict(int abi, const struct ll_rule *rules, size_t n, const struct port_list *bind,
                       const struct port_list *connect);

/* init.c: pid 1 of the sandbox. */
extern mode_t command_umask; /* the invoker's, restored for the command */
/* Adds the signals passed on to the command: the launcher sends them on
 * to pid 1, which sends them on to the command. One list, so the two
 * hops cannot disagree. */
void add_forwarded_signals(sigset_t *mask);
__attribute__((noreturn)) void init_main(const struct plan *pl, pid_t child, const sigset_t *saved_mask);
__attribute__((noreturn)) void exec_command(const struct plan *pl, const sigset_t *saved_mask,
                                            const struct seccomp_job *filters);

/* cmdhash.c: with [sandbox] command_sha256, in the command's process
 * before its filters: the command's file found as execvp finds it (the
 * environment's PATH), opened and hashed. Returns the descriptor to
 * execveat; dies (125) naming the file and both hashes when it has another
 * hash; -1 with errno as execvp would fail (ENOENT, EACCES, ...) when
 * there is no executable file to hash. */
int command_open_pinned(const struct plan *pl);

/* cgroup.c: [limits] memory, pids and cpu, applied through a cgroup made
 * for the sandbox (v2, or v1 where the host has the controllers there). */
enum cg_controller { CG_MEMORY, CG_PIDS, CG_CPU, CG_N };
struct cgroup {
	int version;            /* 2 or 1; 0: no cgroup (no such limits) */
	int dir_fd[CG_N];       /* v1: per controller; v2: [0]; locked while the run lives */
	char *path[CG_N];       /* the same, as paths */
	int clone_fd;           /* v2: clone3 CLONE_INTO_CGROUP puts pid 1 here; else -1 */
	bool need_move;         /* the launcher writes pid 1 in (cgroup_enter) before it runs */
	bool fake;              /* v2 against a test directory (test builds only) */
	struct sd_scope *scope; /* v2 through a systemd scope: its bus (cgroup.c) */
	const char *memory_text;
};
struct cgroup_stats {
	bool applied;
	bool peak_known;
	unsigned long long peak_memory_bytes, oom_kills, pids_max_hit;
};
void cgroup_init(struct cgroup *cg);
/* For explain and doctor: fills pl->cgroup_driver (how) or
 * pl->cgroup_refusal (why not); creates nothing. */
void cgroup_describe(struct plan *pl);
/* For doctor: whether this host applies the controller's limit as this
 * user; how (the driver and place) or why not in *how (allocated). */
bool cgroup_can_apply(enum cg_controller c, char **how);
/* Removes what killed runs left in the places this plan uses, makes this
 * run's cgroup(s) and writes the limits; dies (125) with the reason when
 * a limit cannot be applied. Nothing when the plan sets none. */
void cgroup_create(const struct plan *pl, const char *sandbox_id, struct cgroup *cg);
/* Writes pid into every cgroup (need_move), or has systemd make the
 * scope with pid in it; dies when it cannot. */
void cgroup_enter(struct cgroup *cg, pid_t pid);
/* After the sandbox is gone: what it saw, then the cgroup(s) removed. */
void cgroup_finish(struct cgroup *cg, struct cgroup_stats *st);
/* The host's RAM (sysinfo), 0 if unknown. */
uint64_t host_ram_bytes(void);

/* hints.c: what keeps cordon from building a sandbox here, and the
 * setting that grants it (the end of a 125 line, and doctor's). */
#define CORDON_APPARMOR_PROFILE "cordon" /* the package's /etc/apparmor.d/cordon */
#ifndef CORDON_BINARY
#define CORDON_BINARY "/usr/bin/cordon" /* where it is installed (CMake sets it) */
#endif
#define CORDON_APPARMOR_ATTACH CORDON_BINARY /* the binary that profile attaches to */
enum apparmor_loaded { AA_NO_APPARMOR, AA_CANNOT_TELL, AA_NOT_LOADED, AA_LOADED };
struct apparmor_state {
	int restricted; /* kernel.apparmor_restrict_unprivileged_userns; -1 absent */
	enum apparmor_loaded loaded;
	char mode[32]; /* the profile's mode when loaded (enforce, complain, unconfined) */
	bool attached; /* this binary is CORDON_APPARMOR_ATTACH */
	char exe[4096];
};
void apparmor_probe(struct apparmor_state *s);
/* One sentence on s (allocated); *ok false when the restriction keeps
 * this binary from making user namespaces, the sentence saying what to do. */
char *apparmor_describe(const struct apparmor_state *s, bool *ok);
/* The namespaces of a sandbox (a user namespace among them: userns) were
 * refused with err: what refused them and what grants them (allocated),
 * or NULL when no cause is found. */
char *namespaces_hint(int err, bool userns);
/* A new proc file system was refused (EPERM) in the sandbox's namespaces:
 * why, and what grants it (allocated). */
char *proc_mount_hint(void);
/* The AppArmor profile confining this process (allocated, without its
 * mode), or NULL: unconfined, cordon's own, or no AppArmor. */
char *apparmor_confining_profile(void);
/* A mount was refused (EACCES, EPERM): the AppArmor profile that may have
 * refused it and what lifts it (allocated), or NULL when unconfined. */
char *mount_denied_hint(void);
/* The number at the start of a small file (a sysctl); -1 if it cannot be
 * read. */
long read_long_file(const char *path);
/* The uid map is the whole range onto itself: not a container's. */
bool in_initial_userns(void);
/* Why an idmapped project failed inside a container (allocated), or NULL
 * outside one. */
char *idmap_hint(void);

/* audit.c */
struct audit {
	int fd;
	char id[33];
	const struct plan *plan;
	const struct cgroup_stats *limits; /* what the cgroup saw, for sandbox_exit; NULL: none */
};
/* The audit log at path, for appending (0600 when created), its directory
 * made where missing (0750), no symlink followed anywhere on the path;
 * runner (under sudo): every directory and the log root's alone. Dies
 * (125) when it cannot be opened. */
int audit_open_log(const char *path, bool runner);
void audit_open(struct audit *a, const struct plan *pl);
void audit_sandbox_start(struct audit *a);
/* A `sandbox_refused` record for a plan with a refusal, when the plan has
 * a log (opened and closed here; dies, 125, if it cannot be opened); cwd
 * is the invocation's, on the host (NULL: unknown). */
void audit_sandbox_refused(const struct plan *pl, const char *cwd, const char *why);
void audit_sandbox_exit(struct audit *a, int status, const char *reason, const char *detail, long long duration_ms);
void sandbox_id_new(char out[33]);
void audit_record(int fd, const char *event, const char *policy, const char *sandbox_id, uid_t uid, const char *fields);

/* commands */
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_proxy(int argc, char **argv);

#endif
