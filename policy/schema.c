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
    {TEXT("sandbox", "name", name)},
    {TEXT("sandbox", "command", command)},
    /* 64 hex digits (policy.c), stored lowercase. */
    {TEXT("sandbox", "command_sha256", command_sha256)},
    {TEXT("sandbox", "user", user), .sudo = SUDO_REQUIRED},
    {TEXT("sandbox", "hostname", hostname), .dflt = "cordon"},
    {TEXT("sandbox", "home", home), .dflt = "tmpfs"},
    {TEXT_LIST("sandbox", "home_copy", home_copy)},
    /* REL:/ABS (policy.c checks both halves). */
    {TEXT_LIST("sandbox", "home_managed", home_managed)},
    {TYPED("sandbox", "die_with_parent", KT_BOOL, die_with_parent, BOOL_OUT(die_with_parent_on)), .dflt = "true"},

    {PATH_LIST("filesystem", "ro", ro, PATHS_ABSOLUTE)},
    {PATH_LIST("filesystem", "ro_try", ro_try, PATHS_ABSOLUTE)},
    {PATH_LIST("filesystem", "rw", rw, PATHS_ABSOLUTE)},
    {PATH_LIST("filesystem", "rw_try", rw_try, PATHS_ABSOLUTE)},
    {PATH_LIST("filesystem", "tmpfs", tmpfs, PATHS_ABSOLUTE)},
    {TEXT_LIST("filesystem", "symlink", symlink)},
    {PATH_LIST("filesystem", "project_root", project_root, PATHS_ABSOLUTE)},
    {PATH_LIST("filesystem", "mask", mask, PATHS_ANY)},
    {PATH_LIST("filesystem", "protect", protect, PATHS_RELATIVE)},

    {TYPED("network", "mode", KT_ENUM, net_mode_v, ENUM_OUT(net_mode)), .values = net_mode_values, .dflt = "none"},
    {TEXT_LIST("network", "allow", allow), .net = NET_OWN_PROXY},
    {TEXT_LIST("network", "deny", deny), .net = NET_OWN_PROXY},
    /* true, false or CIDRs: policy.c reads it, netplan.c builds the ranges. */
    {TEXT_LIST("network", "allow_private", allow_private_v), .dflt = "false", .net = NET_OWN_PROXY},
    {TEXT("network", "notify", notify_v), .dflt = "stderr", .net = NET_OWN_PROXY},
    {PATH("network", "socket", socket, PATHS_ABSOLUTE), .net = NET_PROXY_MODE},
    {TYPED("network", "max_request_bytes", KT_SIZE, max_request_v, U64_OUT(max_request_bytes)), .net = NET_OWN_PROXY},
    {TYPED("network", "max_response_bytes", KT_SIZE, max_response_v, U64_OUT(max_response_bytes)),
     .net = NET_OWN_PROXY},
    /* The proxy's timeouts: unbounded waits are what they exist to
     * prevent. */
    {TYPED("network", "connect_timeout", KT_DURATION, connect_timeout_v, U64_OUT(connect_timeout_ms)), .dflt = "10s",
     .min = 1000, .max = DAY_MS, .range = "must be between 1s and 24h", .net = NET_OWN_PROXY},
    {TYPED("network", "idle_timeout", KT_DURATION, idle_timeout_v, U64_OUT(idle_timeout_ms)), .dflt = "5m", .min = 1000,
     .max = DAY_MS, .range = "must be between 1s and 24h", .net = NET_OWN_PROXY},

    {TEXT("seccomp", "profile", seccomp_profile), .dflt = "default"},

    {TYPED("landlock", "mode", KT_ENUM, landlock_v, ENUM_OUT(landlock)), .values = landlock_mode_values,
     .dflt = "require"},
    {PATH_LIST("landlock", "deny", landlock_deny, PATHS_ABSOLUTE)},
    {TEXT_LIST("landlock", "tcp_bind", tcp_bind)},
    {TEXT_LIST("landlock", "tcp_connect", tcp_connect)},

    {TEXT_LIST("env", "keep", env_keep)},
    {TEXT_LIST("env", "set", env_set)},
    {PATH_LIST("env", "file", env_file, PATHS_ABSOLUTE)},

    {TYPED("limits", "timeout", KT_DURATION, timeout_v, U64_OUT(timeout_ms)), .min = 1,
     .range = "must be greater than zero"},
    {TYPED("limits", "memory", KT_SIZE, memory_v, U64_OUT(memory_bytes)), .min = 1 << 20,
     .range = "must be at least 1M"},
    {TYPED("limits", "pids", KT_UINT, pids_v, U64_OUT(pids)), .min = 1, .max = 1 << 22, .range = "must be at least 1"},
    {TYPED("limits", "nofile", KT_UINT, nofile_v, U64_OUT(nofile)), .min = 3, .max = 1 << 20,
     .range = "must be at least 3"},
    /* The kernel's smallest quota is 1 ms per 100 ms period: 0.01 CPU. */
    {TYPED("limits", "cpu", KT_CPU, cpu_v, U64_OUT(cpu_milli)), .min = 10, .max = 4096ULL * 1000,
     .range = "must be between 0.01 and 4096"},

    /* A path, or `stderr` (policy.c). */
    {TEXT("audit", "log", audit_log)},
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
