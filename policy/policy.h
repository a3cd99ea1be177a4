/* The policy model: what an INI policy file says, validated, with the line
 * each value came from. Parsing knows nothing about the host beyond reading
 * the file it is given; `~` is kept as written and expanded when the plan is
 * built, because whose home it is depends on the invocation. */
#ifndef CORDON_POLICY_H
#define CORDON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pval {
	char *value; /* NULL when the key was not given */
	int line;
};

struct plist {
	struct pval *v;
	size_t n;
};

enum net_mode { NET_NONE, NET_PROXY, NET_HOST };
enum landlock_mode { LANDLOCK_REQUIRE, LANDLOCK_BEST_EFFORT, LANDLOCK_OFF };

struct user_section {
	char *name;
	int line;
	struct plist project_root;
};

/* [secrets]: NAME = env:VAR or NAME = file:/PATH. The keys are names, so
 * the section is not in the key table (like [user:NAME]). */
#define SECRET_NAME_MAX 64
#define SECRETS_MAX     64
struct secret_entry {
	char *name;
	char *source; /* "env:VAR" or "file:/PATH", normalized by the parser */
	int line;
};

struct policy {
	char *file;   /* as given; used in messages */
	char *sha256; /* of the exact bytes parsed, set by whoever read the file (NULL: unknown) */

	/* [sandbox] */
	struct pval name, command, user, hostname, home, die_with_parent;
	struct pval command_sha256; /* 64 hex digits, lowercased by the parser */
	struct plist home_copy;     /* relative to the invoker's home */
	struct plist home_managed;  /* REL:/ABS: an administrator's file, read-only at ~/REL */
	bool die_with_parent_on;

	/* [filesystem] */
	struct plist ro, ro_try, rw, rw_try, tmpfs, symlink, project_root, mask, protect;
	struct user_section *users;
	size_t n_users;

	/* [network] */
	struct pval net_mode_v, socket, max_request_v, max_response_v;
	struct pval connect_timeout_v, idle_timeout_v, notify_v;
	struct plist allow, deny;     /* as written; parsed into the net plan (netplan.h) */
	struct plist allow_private_v; /* true, false, or CIDRs (parsed into the net plan) */
	enum net_mode net_mode;
	bool allow_private;         /* allow_private = true */
	bool notify;                /* notify = stderr (the default) */
	uint64_t max_request_bytes; /* 0 = no limit */
	uint64_t max_response_bytes;
	uint64_t connect_timeout_ms; /* the proxy's connect to a vetted address */
	uint64_t idle_timeout_ms;    /* a relayed connection with no bytes either way */

	/* [seccomp] */
	struct pval seccomp_profile; /* default "default" */

	/* [landlock] */
	struct pval landlock_v;
	enum landlock_mode landlock;
	struct plist landlock_deny;         /* mounts Landlock gives no access */
	struct plist tcp_bind, tcp_connect; /* ports, or "any" */

	/* [env] */
	struct plist env_keep, env_set, env_file;

	/* [limits] */
	struct pval timeout_v, memory_v, pids_v, nofile_v, cpu_v;
	uint64_t timeout_ms, memory_bytes, pids, nofile;
	uint64_t cpu_milli; /* cpu = 1.5 is 1500 */

	/* [audit] */
	struct pval audit_log;

	/* [secrets] */
	struct secret_entry *secrets;
	size_t n_secrets;
};

struct diag {
	char *file;
	int line;
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n;
};

void diags_add(struct diags *d, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void diags_free(struct diags *d);
/* Writes "FILE:LINE: message" lines (or "FILE: message" when line is 0). */
void diags_print(const struct diags *d, int fd);

/* Parses text (the contents of `file`); problems go to d. Returns the policy
 * even when d is not empty, so callers can report every problem at once; a
 * policy with diagnostics must not be used. */
struct policy *policy_parse(const char *file, const char *text, size_t len, struct diags *d);
void policy_free(struct policy *p);

/* Value parsers, exposed for tests and for the plan builder. Each returns
 * false with a static reason in *why on bad input. */
bool parse_bool(const char *s, bool *out, const char **why);
bool parse_size(const char *s, uint64_t *out, const char **why);
bool parse_duration_ms(const char *s, uint64_t *out, const char **why);
bool parse_uint(const char *s, uint64_t max, uint64_t *out, const char **why);
/* CPUs' worth of time, "2", "1.5", "0.25", in thousandths of a CPU (at
 * most three decimals; no sign, exponent or spaces). */
bool parse_cpu(const char *s, uint64_t *milli, const char **why);
/* The text of a cpu value back from thousandths: 1500 is "1.5". */
void format_cpu(uint64_t milli, char out[32]);
bool valid_hostname_label_chars(const char *s);
/* A dotted quad with no leading zeros, each part 0 to 255. */
bool is_strict_ipv4(const char *s);
/* True when a resolver would read s as an IPv4 address in any form
 * inet_aton() accepts, or when its last label is all digits. */
bool looks_numeric(const char *s);
bool valid_env_name(const char *s, bool allow_glob);
bool valid_account_name(const char *s);
/* A secret's name: one safe file name ([A-Za-z0-9_.-], not . or .., at
 * most SECRET_NAME_MAX). */
bool valid_secret_name(const char *s);
/* Absolute ("/x") or home-relative ("~", "~/x"), or relative when allowed;
 * no "." or ".." components and no control characters. Repeated slashes
 * are accepted here and removed by normalize_path(). */
bool valid_policy_path(const char *s, bool allow_relative, const char **why);
/* Collapses repeated slashes and drops a trailing one (keeps "/"). */
char *normalize_path(const char *s);

const char *net_mode_name(enum net_mode m);
const char *landlock_mode_name(enum landlock_mode m);

#endif
