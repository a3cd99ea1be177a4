/* The policy's keys, in one table: for each, its section and name, the
 * type of its value, its default, whether it is a list, whether it may or
 * must be given under sudo, and under which network mode it means
 * anything. Parsing, the validation of the simple types, policy_free and
 * the proxy-only check walk this table; tests hold docs/policy.md and the
 * fuzzer's dictionary to it, and the man page cordon-policy(5) is made
 * from it. A key added here is parsed, freed and checked
 * everywhere at once. */
#ifndef CORDON_SCHEMA_H
#define CORDON_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the value is. The simple types are validated from the table alone
 * (into the typed field of struct policy that `out` names); TEXT values
 * and the extra rules of some paths are checked by policy.c, key by key. */
enum key_type {
	KT_TEXT,     /* a string with a grammar of its own (policy.c) */
	KT_PATH,     /* absolute or ~/...; relative ones where `paths` allows */
	KT_BOOL,     /* true/false, yes/no, on/off, 1/0 */
	KT_SIZE,     /* 512M, 8G, ... */
	KT_DURATION, /* 90s, 30m, 1h30m, ... */
	KT_UINT,     /* a whole number up to max */
	KT_ENUM,     /* one of values */
	KT_CPU,      /* CPUs' worth of time: 2, 1.5, 0.25 (stored in thousandths) */
};

/* A scalar is a struct pval (freed with its value); a list, repeatable, a
 * struct plist (freed with every value). */
enum key_kind { KEY_SCALAR, KEY_LIST };

enum key_paths {
	PATHS_ABSOLUTE, /* "/x", "~", "~/x" */
	PATHS_ANY,      /* those, or relative to the project */
	PATHS_RELATIVE, /* relative to the project only */
};

/* The runner (sudo) contract: every key an administrator's policy may set;
 * `user` must be set, since the command never runs as root or as the
 * invoker there. */
enum key_sudo { SUDO_ALLOWED, SUDO_REQUIRED };

/* Keys that only mean something for one network set-up: refused elsewhere,
 * since they would read as restrictions that are not applied. */
enum key_net {
	NET_ANY_MODE,
	NET_PROXY_MODE, /* mode = proxy */
	NET_OWN_PROXY,  /* mode = proxy without socket: a shared proxy applies its own policy */
};

struct policy_key {
	const char *section;
	const char *name;
	enum key_kind kind;
	enum key_type type;
	size_t field;              /* offset in struct policy of the struct pval or struct plist */
	size_t out;                /* bool, uint64_t or enum: offset of the typed value; 0 if none */
	const char *dflt;          /* as it would be written; NULL: none */
	enum key_paths paths;      /* KT_PATH */
	uint64_t min, max;         /* KT_SIZE, KT_DURATION, KT_UINT, KT_CPU; max 0: no bound beyond the type's */
	const char *range;         /* the message for a value outside min..max */
	const char *const *values; /* KT_ENUM: NULL-terminated, in the order of the C enum */
	enum key_sudo sudo;
	enum key_net net;
	const char *doc; /* what the key means, one line: cordon-policy(5) prints it (policy/schema-man.c) */
};

extern const struct policy_key policy_keys[];
extern const size_t n_policy_keys;

/* The key, or NULL. */
const struct policy_key *policy_key_find(const char *section, const char *name);
bool policy_section_known(const char *section);
/* "string", "path", "bool", ...: for messages and tests. */
const char *key_type_name(enum key_type t);

/* The values of [network] mode and [landlock] mode, by enum value. */
extern const char *const net_mode_values[];
extern const char *const landlock_mode_values[];

#endif
