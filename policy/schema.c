/* The table of policy keys (schema.h). Each field offset goes through a
 * _Generic selection that names the one type the field may have, so a row
 * pointing at a field of another type does not compile. */
#include "schema.h"

#include <string.h>

#include "policy.h"
#include "util.h"

/* The struct pval of a scalar key, the struct plist of a list key. */
#define SCALAR_FIELD(f) _Generic(((struct policy *)0)->f, struct pval : offsetof(struct policy, f))
#define LIST_FIELD(f)   _Generic(((struct policy *)0)->f, struct plist : offsetof(struct policy, f))
/* Where a simple type's parsed value goes. */
#define BOOL_OUT(f) _Generic(((struct policy *)0)->f, bool : offsetof(struct policy, f))
#define U64_OUT(f)  _Generic(((struct policy *)0)->f, uint64_t : offsetof(struct policy, f))
#define ENUM_OUT(f)                                                                                                    \
	_Generic(((struct policy *)0)->f, enum net_mode                                                                \
	         : offsetof(struct policy, f), enum landlock_mode                                                      \
	         : offsetof(struct policy, f))

/* policy.c stores an enum key's index into its field as an unsigned int. */
_Static_assert(sizeof(enum net_mode) == sizeof(unsigned) && sizeof(enum landlock_mode) == sizeof(unsigned),
               "enum fields are written as unsigned int");

const char *const net_mode_values[] = {"none", "proxy", "host", NULL};
const char *const landlock_mode_values[] = {"require", "best-effort", "off", NULL};

#define TEXT(sec, k, f)      .section = (sec), .name = (k), .kind = KEY_SCALAR, .type = KT_TEXT, .field = SCALAR_FIELD(f)
#define TEXT_LIST(sec, k, f) .section = (sec), .name = (k), .kind = KEY_LIST, .type = KT_TEXT, .field = LIST_FIELD(f)
#define PATH(sec, k, f, where)                                                                                         \
	.section = (sec), .name = (k), .kind = KEY_SCALAR, .type = KT_PATH, .field = SCALAR_FIELD(f), .paths = (where)
#define PATH_LIST(sec, k, f, where)                                                                                    \
	.section = (sec), .name = (k), .kind = KEY_LIST, .type = KT_PATH, .field = LIST_FIELD(f), .paths = (where)
#define TYPED(sec, k, t, f, o)                                                                                         \
	.section = (sec), .name = (k), .kind = KEY_SCALAR, .type = (t), .field = SCALAR_FIELD(f), .out = (o)

#define DAY_MS (24ULL * 3600 * 1000)

const struct policy_key policy_keys[] = {
    {TEXT("sandbox", "name", name),
     .doc = "Used in audit records and by explain; unset, the policy file's name without .ini."},
    {TEXT("sandbox", "command", command),
     .doc = "The command run when none is given after --; split on whitespace, with no shell and no quoting."},
    /* 64 hex digits (policy.c), stored lowercase. */
    {TEXT("sandbox", "command_sha256", command_sha256),
     .doc = "The SHA-256 of the command's file, 64 hexadecimal digits: run hashes the file it would execute from an "
            "open descriptor, executes that same descriptor, and refuses (125) a file with another hash."},
    {TEXT("sandbox", "user", user), .sudo = SUDO_REQUIRED,
     .doc = "As root, the account the command runs as (root keeps uid 0, without capabilities, and is audited); under "
            "sudo a dedicated account, neither root nor the invoking user; ignored unprivileged, where the command "
            "runs as the invoking user."},
    {TEXT("sandbox", "hostname", hostname), .dflt = "cordon", .doc = "The sandbox's host name."},
    {TEXT("sandbox", "home", home), .dflt = "tmpfs",
     .doc = "What is mounted at the home directory of the account the command runs as: tmpfs (an empty tmpfs), persist "
            "(a directory kept between runs for the invoking user and this policy), or a directory bound read-write."},
    {TEXT_LIST("sandbox", "home_copy", home_copy),
     .doc = "A file or tree, relative to the invoking user's home (no /, ~ or ..), copied one way into the agent's "
            "home at every start; symlinks are not followed; at most 64 MiB and 10000 files in all."},
    /* REL:/ABS (policy.c checks both halves). */
    {TEXT_LIST("sandbox", "home_managed", home_managed),
     .doc = "REL:/ABSOLUTE: the administrator's file ABSOLUTE shown read-only at REL in the agent's home, over what "
            "home_copy put there; under sudo it and every directory above it must be root's and not writable by group "
            "or others."},
    {TYPED("sandbox", "die_with_parent", KT_BOOL, die_with_parent, BOOL_OUT(die_with_parent_on)), .dflt = "true",
     .doc = "Killing the launcher, even with SIGKILL, ends everything inside."},

    {PATH_LIST("filesystem", "ro", ro, PATHS_ABSOLUTE),
     .doc = "A read-only bind of the path at the same path inside, with every mount beneath it."},
    {PATH_LIST("filesystem", "ro_try", ro_try, PATHS_ABSOLUTE), .doc = "As ro, skipped when the path does not exist."},
    {PATH_LIST("filesystem", "rw", rw, PATHS_ABSOLUTE),
     .doc = "A read-write bind of the path at the same path inside."},
    {PATH_LIST("filesystem", "rw_try", rw_try, PATHS_ABSOLUTE), .doc = "As rw, skipped when the path does not exist."},
    {PATH_LIST("filesystem", "tmpfs", tmpfs, PATHS_ABSOLUTE),
     .doc = "An empty tmpfs: mode 1777 for /tmp and /var/tmp, else 0755 owned by the command's account; its size is "
            "the memory limit, else a quarter of the host's RAM."},
    {TEXT_LIST("filesystem", "symlink", symlink),
     .doc = "TARGET:LINKPATH: a symlink at LINKPATH pointing to TARGET (split at the last colon)."},
    {PATH_LIST("filesystem", "project_root", project_root, PATHS_ABSOLUTE),
     .doc = "Where projects may live: only the project (the top of the git work tree holding the working directory, or "
            "that directory) is mounted, read-write at the same path; the working directory must lie inside a root."},
    {PATH_LIST("filesystem", "mask", mask, PATHS_ANY),
     .doc = "Hidden inside: reads as an empty file or directory, read-only; a relative path applies inside the "
            "project, an absolute one anywhere in the sandbox."},
    {PATH_LIST("filesystem", "protect", protect, PATHS_RELATIVE),
     .doc = "Read-only inside, even if it does not exist yet (a placeholder that leaves no trace covers it); a guard "
            "below .git/ applies to every git directory of the project."},

    {TYPED("network", "mode", KT_ENUM, net_mode_v, ENUM_OUT(net_mode)), .values = net_mode_values, .dflt = "none",
     .doc = "none: a network namespace of its own with only lo and no resolver; proxy: as none, plus the allowlisting "
            "egress proxy as the only way out; host: the host's network, unfiltered."},
    {TEXT_LIST("network", "allow", allow), .net = NET_OWN_PROXY,
     .doc = "A destination the proxy lets through: host, host:port, *.suffix (subdomains only), an IPv4 address, "
            "[IPv6], or a range such as 10.0.0.0/8, each with an optional port; an address or range is an explicit "
            "grant, private or not."},
    {TEXT_LIST("network", "deny", deny), .net = NET_OWN_PROXY,
     .doc = "A destination refused even when allow matches it, in the forms of allow; an address or range also refuses "
            "names that resolve into it."},
    /* true, false or CIDRs: policy.c reads it, netplan.c builds the ranges. */
    {TEXT_LIST("network", "allow_private", allow_private_v), .dflt = "false", .net = NET_OWN_PROXY,
     .doc = "true, false, or address ranges (no port) that allowed names may resolve into; otherwise loopback, "
            "private, link-local, ULA, documentation and other special ranges are refused after resolution."},
    {TEXT("network", "notify", notify_v), .dflt = "stderr", .net = NET_OWN_PROXY,
     .doc = "stderr: each denied host:port is named once on the launcher's standard error with the policy line that "
            "would allow it; off: only the 403 page and the audit record say it."},
    {PATH("network", "socket", socket, PATHS_ABSOLUTE), .net = NET_PROXY_MODE,
     .doc = "The Unix socket of a cordon proxy to use instead of a proxy of the sandbox's own; that proxy applies its "
            "own policy. At most 107 bytes."},
    {TYPED("network", "max_request_bytes", KT_SIZE, max_request_v, U64_OUT(max_request_bytes)), .net = NET_OWN_PROXY,
     .doc = "Bytes the command may send on one connection; unset, no limit."},
    {TYPED("network", "max_response_bytes", KT_SIZE, max_response_v, U64_OUT(max_response_bytes)), .net = NET_OWN_PROXY,
     .doc = "Bytes the command may receive on one connection; unset, no limit."},
    /* The proxy's timeouts: unbounded waits are what they exist to
     * prevent. */
    {TYPED("network", "connect_timeout", KT_DURATION, connect_timeout_v, U64_OUT(connect_timeout_ms)), .dflt = "10s",
     .min = 1000, .max = DAY_MS, .range = "must be between 1s and 24h", .net = NET_OWN_PROXY,
     .doc = "How long the proxy waits for a connection to a vetted address before answering 504."},
    {TYPED("network", "idle_timeout", KT_DURATION, idle_timeout_v, U64_OUT(idle_timeout_ms)), .dflt = "5m", .min = 1000,
     .max = DAY_MS, .range = "must be between 1s and 24h", .net = NET_OWN_PROXY,
     .doc = "A relayed connection with no bytes either way for this long is closed."},

    {TEXT("seccomp", "profile", seccomp_profile), .dflt = "default",
     .doc = "A profile name (default, strict, ci), none for no syscall filter, or an absolute path to a profile file; "
            "an error in the file is reported as FILE:LINE."},

    {TYPED("landlock", "mode", KT_ENUM, landlock_v, ENUM_OUT(landlock)), .values = landlock_mode_values,
     .dflt = "require",
     .doc = "require: refuse to run (125) when the kernel lacks Landlock or an ABI the policy needs; best-effort: "
            "apply what the kernel has, as explain and the audit record say; off: no Landlock."},
    {PATH_LIST("landlock", "deny", landlock_deny, PATHS_ABSOLUTE),
     .doc = "A mount of this policy that Landlock gives no access to; it must not lie below another mount Landlock "
            "grants."},
    {TEXT_LIST("landlock", "tcp_bind", tcp_bind), .doc = "A TCP port (0 to 65535) the command may bind, or any; "
                                                         "listing ports needs Landlock ABI 4 under mode = require."},
    {TEXT_LIST("landlock", "tcp_connect", tcp_connect),
     .doc = "A TCP port (0 to 65535) the command may connect to, or any; listing ports needs Landlock ABI 4 under mode "
            "= require."},

    {TEXT_LIST("env", "keep", env_keep),
     .doc = "NAME or PREFIX*: a variable copied from the invoker's environment; the environment is cleared first."},
    {TEXT_LIST("env", "set", env_set), .doc = "KEY=VALUE, set after keep and file."},
    {PATH_LIST("env", "file", env_file, PATHS_ABSOLUTE),
     .doc = "A file of KEY=VALUE lines (blank lines and # comments skipped, values taken literally), read after keep."},

    {TYPED("limits", "timeout", KT_DURATION, timeout_v, U64_OUT(timeout_ms)), .min = 1,
     .range = "must be greater than zero",
     .doc = "Wall-clock time: on expiry every process gets SIGTERM, then SIGKILL 5 s later, and the exit status is "
            "124; unset, no limit."},
    {TYPED("limits", "memory", KT_SIZE, memory_v, U64_OUT(memory_bytes)), .min = 1 << 20,
     .range = "must be at least 1M",
     .doc = "The sandbox's memory, kernel memory and page cache included, with no swap beyond it (cgroup); an OOM kill "
            "is reported; unset, no limit."},
    {TYPED("limits", "pids", KT_UINT, pids_v, U64_OUT(pids)), .min = 1, .max = 1 << 22, .range = "must be at least 1",
     .doc = "The number of processes and threads in the sandbox, pid 1 included (cgroup); unset, no limit."},
    {TYPED("limits", "nofile", KT_UINT, nofile_v, U64_OUT(nofile)), .min = 3, .max = 1 << 20,
     .range = "must be at least 3", .doc = "RLIMIT_NOFILE, soft and hard; unset, the launcher's."},
    /* The kernel's smallest quota is 1 ms per 100 ms period: 0.01 CPU. */
    {TYPED("limits", "cpu", KT_CPU, cpu_v, U64_OUT(cpu_milli)), .min = 10, .max = 4096ULL * 1000,
     .range = "must be between 0.01 and 4096",
     .doc = "CPUs' worth of time, such as 2, 1.5 or 0.25 (at most three decimals): a quota of that many times a 100 ms "
            "period (cgroup); unset, no limit."},

    /* A path, or `stderr` (policy.c). */
    {TEXT("audit", "log", audit_log),
     .doc = "A file JSON-lines records are appended to (created mode 0600, its new directories 0750), or stderr; a log "
            "inside anything the sandbox can write is refused."},
};

const size_t n_policy_keys = N_ELEMENTS(policy_keys);

const struct policy_key *policy_key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < n_policy_keys; i++)
		if (strcmp(policy_keys[i].section, section) == 0 && strcmp(policy_keys[i].name, name) == 0)
			return &policy_keys[i];
	return NULL;
}

bool policy_section_known(const char *section)
{
	if (str_has_prefix(section, "user:") || strcmp(section, "secrets") == 0)
		return true;
	for (size_t i = 0; i < n_policy_keys; i++)
		if (strcmp(policy_keys[i].section, section) == 0)
			return true;
	return false;
}

const char *key_type_name(enum key_type t)
{
	static const char *const names[] = {
	    [KT_TEXT] = "string",       [KT_PATH] = "path", [KT_BOOL] = "bool", [KT_SIZE] = "size",
	    [KT_DURATION] = "duration", [KT_UINT] = "uint", [KT_ENUM] = "enum", [KT_CPU] = "cpu",
	};
	return (size_t)t < N_ELEMENTS(names) && names[t] ? names[t] : "?";
}
