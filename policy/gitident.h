/* The invoking user's git identity (user.name, user.email), read from
 * their git config files without running git, so that commits inside the
 * sandbox carry it while nothing else of those files (credential helpers,
 * includes, aliases, core.* settings) reaches the sandbox. The files are
 * the invoker's own and untrusted: only the [user] section's two keys are
 * taken, checked, and passed on as environment variables. */
#ifndef CORDON_GITIDENT_H
#define CORDON_GITIDENT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest name or email passed on; a longer one is dropped. */
#define GIT_IDENT_MAX 256

struct git_ident {
	char *name;  /* NULL: not set */
	char *email; /* NULL: not set */
};

/* Parses text (len bytes, not NUL-terminated) as a git config file and
 * applies its [user] name and email to id, the last one winning as in git.
 * A value that cannot be passed on (empty, longer than GIT_IDENT_MAX,
 * holding a control character) unsets the key, so that an earlier value
 * is not used where git would not use it. include and includeIf are not
 * followed. Returns false, with id unchanged, when the text is not valid
 * git config syntax (git itself would refuse it). */
bool git_ident_parse(const char *text, size_t len, struct git_ident *id);
void git_ident_clear(struct git_ident *id);

#endif
