/* Seccomp profiles: a small text format, parsed and validated here; the
 * launcher compiles the result with libseccomp (launcher/seccomp.c).
 *
 *   # comment
 *   default ACTION             start a filter layer; ACTION for syscalls
 *                              no rule of this layer matches
 *   SYSCALL ACTION [COND]...   a rule; conditions are ANDed
 *   include NAME               the rules and layers of a built-in profile
 *   unset SYSCALL              drop the rules so far for SYSCALL
 *
 * ACTION: allow | deny (EPERM) | enosys | errno:NAME | kill | log
 *         (NAME: any errno name the C library knows, e.g. EACCES; an
 *         alias such as EWOULDBLOCK means its number, EAGAIN's)
 * COND:   argN==V argN!=V argN<V argN<=V argN>V argN>=V argN&M==V
 *         (N 0-5; V and M numbers or constants such as CLONE_NEWUSER,
 *         joined with |)
 *
 * Layers are stacked filters: the kernel runs every layer and the most
 * restrictive answer wins. That is how an allowlist layer can allow ioctl
 * while a second layer still denies ioctl(TIOCSTI).
 *
 * What the launcher needs of a profile is checked here too, so that
 * `check` refuses what `run` would: at most SC_MAX_LAYERS layers (the
 * parser); every layer lets execve through, which follows the filters, and
 * every layer but the last lets seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)
 * through, because the layers are loaded one after another, each under
 * the ones before it (profile_load). */
#ifndef CORDON_PROFILE_H
#define CORDON_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define SC_MAX_CONDS  6
#define SC_MAX_LAYERS 4

enum sc_action_kind { SC_ALLOW, SC_ERRNO, SC_KILL, SC_LOG };

struct sc_action {
	enum sc_action_kind kind;
	int err; /* SC_ERRNO */
};

enum sc_op { SC_EQ, SC_NE, SC_LT, SC_LE, SC_GT, SC_GE, SC_MASKED_EQ };

struct sc_cond {
	unsigned arg;
	enum sc_op op;
	uint64_t mask; /* SC_MASKED_EQ */
	uint64_t value;
};

struct sc_rule {
	char *syscall;
	int nr; /* native number, from libseccomp */
	struct sc_action action;
	struct sc_cond conds[SC_MAX_CONDS];
	unsigned n_conds;
	char *text; /* the rule as written, for explain */
	char *file;
	int line;
};

struct sc_layer {
	struct sc_action def;
	struct sc_rule *rules;
	size_t n_rules;
	char *file; /* where its `default` line is */
	int line;
};

struct sc_profile {
	char *name;
	struct sc_layer *layers;
	size_t n_layers;
	bool no_setid; /* layers[0] is the no-set-ID layer (profile_add_no_setid) */
};

/* Built-in profiles (seccomp-profiles/, compiled in). NULL if unknown. */
const char *profile_builtin_text(const char *name);
const char *profile_builtin_names(void); /* "ci, default, strict" */

/* Parses text; problems go to d as FILE:LINE. Returns NULL if d gained
 * entries. */
struct sc_profile *profile_parse(const char *name, const char *file, const char *text, struct diags *d);

/* Reads a file, as struct plan_host's read_file does: NULL with *why
 * (allocated) on failure. */
typedef char *(*profile_read_fn)(void *ctx, const char *path, size_t *len, char **why);

/* The profile a policy names at policy_file:line: NULL for "none" (and no
 * diagnostic), a built-in profile, or an absolute path read through
 * read_file and parsed. Everything that makes it unusable goes to d: a
 * file that cannot be read or holds a NUL byte, a syntax error, a layer
 * that would refuse execve or the loading of the next layer. So `check`,
 * `explain` and `run`, which all come through here, refuse it the same
 * way. (What only libseccomp can tell, the launcher's seccomp_validate
 * adds.) Returns NULL if d gained entries. */
struct sc_profile *profile_load(const char *name, const char *policy_file, int line, profile_read_fn read_file,
                                void *ctx, struct diags *d);
void profile_free(struct sc_profile *p);

/* The no-set-ID layer (plan.no_setid; its rules in profile.c): put first,
 * in front of p's layers, or alone in a profile called name when p is
 * NULL (profile = none). Takes p; NULL (p freed) with a diagnostic if the
 * layer cannot be built. Its rules name NO_SETID_FILE as their file. At
 * most SC_MAX_LAYERS + 1 layers then. */
#define NO_SETID_FILE "cordon's no-set-ID layer"
struct sc_profile *profile_add_no_setid(struct sc_profile *p, const char *name, struct diags *d);
const char *profile_no_setid_text(void);
/* When the command is started with execveat (a pinned command_sha256):
 * a diagnostic for each layer of p that may refuse it; why says when. */
void profile_require_execveat(const struct sc_profile *p, const char *why, struct diags *d);

const char *sc_action_text(const struct sc_action *a, char *buf, size_t n);

/* The errno number for an errno name (EACCES, EWOULDBLOCK, ...); false if
 * the C library knows no such name. */
bool profile_errno_from_name(const char *name, int *out);

#endif
