/* libFuzzer harness: the git identity reader (policy/gitident.c). The
 * invoker's git config files are theirs to write, and what is taken from
 * them goes into the sandbox's environment. A parse must be repeatable; a
 * value taken must be non-empty, at most GIT_IDENT_MAX bytes, free of
 * control characters, and come back the same when written as a quoted
 * git config value and read again; a refused text leaves the identity as
 * it was. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "gitident.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const char *v)
{
	if (!v)
		return;
	size_t n = strlen(v);
	FUZZ_CHECK(n > 0 && n <= GIT_IDENT_MAX);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)v[i] >= 0x20 && (unsigned char)v[i] != 0x7f);
}

/* The value written back as `key = "..."` under [user]. */
static void round_trip(const char *key, const char *v)
{
	if (!v)
		return;
	buf_t t = {0};
	buf_printf(&t, "[user]\n\t%s = \"", key);
	for (const char *c = v; *c; c++) {
		if (*c == '"' || *c == '\\')
			buf_puts(&t, "\\");
		buf_add(&t, c, 1);
	}
	buf_puts(&t, "\"\n");
	struct git_ident again = {0};
	FUZZ_CHECK(git_ident_parse(t.p, t.len, &again));
	const char *got = strcmp(key, "name") == 0 ? again.name : again.email;
	FUZZ_CHECK(got && strcmp(got, v) == 0);
	git_ident_clear(&again);
	buf_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct git_ident a = {0}, b = {0};
	bool ok = git_ident_parse(text, size, &a);
	FUZZ_CHECK(ok == git_ident_parse(text, size, &b));
	FUZZ_CHECK((a.name == NULL) == (b.name == NULL) && (!a.name || strcmp(a.name, b.name) == 0));
	FUZZ_CHECK((a.email == NULL) == (b.email == NULL) && (!a.email || strcmp(a.email, b.email) == 0));
	if (!ok)
		FUZZ_CHECK(a.name == NULL && a.email == NULL);
	check_value(a.name);
	check_value(a.email);
	round_trip("name", a.name);
	round_trip("email", a.email);
	git_ident_clear(&b);

	/* Over an identity already set: refused text keeps it. */
	b.name = xstrdup("Before");
	b.email = xstrdup("before@example.org");
	if (!git_ident_parse(text, size, &b)) {
		FUZZ_CHECK(strcmp(b.name, "Before") == 0 && strcmp(b.email, "before@example.org") == 0);
	} else {
		FUZZ_CHECK((a.name == NULL) == (b.name == NULL) || strcmp(b.name, "Before") == 0);
	}
	git_ident_clear(&a);
	git_ident_clear(&b);
	return 0;
}
