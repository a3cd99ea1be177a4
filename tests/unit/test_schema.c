/* Unit tests for the key table (policy/schema.c): each key reaches its
 * own field and is freed, its default parses, and the documentation and
 * the fuzzer's dictionary name every key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "schema.h"
#include "util.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	cr_assert_not_null(f, "cannot open %s", path);
	buf_t b = {0};
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	buf_add(&b, "", 0);
	return b.p;
}

static const void *field_of(const struct policy *p, const struct policy_key *k)
{
	return (const char *)p + k->field;
}

/* Every key given once, in table order, each on its own line: each must
 * land in its own field at its own line (two rows sharing a field would
 * show as a duplicate or a list of two), and policy_free must free it
 * (LeakSanitizer, in the sanitized build, reports what it does not). */
Test(schema, every_key_reaches_its_own_field)
{
	buf_t text = {0};
	int *lines = xcalloc(n_policy_keys, sizeof(int));
	int line = 0;
	for (size_t i = 0; i < n_policy_keys; i++) {
		buf_printf(&text, "[%s]\n%s = x%zu\n", policy_keys[i].section, policy_keys[i].name, i);
		line += 2;
		lines[i] = line;
	}
	struct diags d = {0};
	struct policy *p = policy_parse("t.ini", text.p, text.len, &d);
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		const struct pval *v = field_of(p, k);
		if (k->kind == KEY_LIST) {
			const struct plist *l = field_of(p, k);
			cr_assert_eq(l->n, 1, "[%s] %s: %zu values", k->section, k->name, l->n);
			v = &l->v[0];
		}
		cr_assert_not_null(v->value, "[%s] %s: no value", k->section, k->name);
		cr_expect_eq(v->line, lines[i], "[%s] %s: line %d, want %d", k->section, k->name, v->line, lines[i]);
	}
	for (size_t i = 0; i < d.n; i++)
		cr_expect_null(strstr(d.v[i].msg, "duplicate"), "%s", d.v[i].msg);
	policy_free(p);
	diags_free(&d);
	buf_free(&text);
	free(lines);
}

Test(schema, no_two_keys_share_a_name_or_a_field)
{
	for (size_t i = 0; i < n_policy_keys; i++) {
		for (size_t j = i + 1; j < n_policy_keys; j++) {
			const struct policy_key *a = &policy_keys[i], *b = &policy_keys[j];
			cr_expect(strcmp(a->section, b->section) != 0 || strcmp(a->name, b->name) != 0, "[%s] %s twice",
			          a->section, a->name);
			cr_expect_neq(a->field, b->field, "[%s] %s and [%s] %s", a->section, a->name, b->section,
			              b->name);
			cr_expect(a->out == 0 || a->out != b->out, "[%s] %s and [%s] %s", a->section, a->name,
			          b->section, b->name);
		}
	}
}

/* A simple type's default, written in the policy, gives the value the
 * policy has when the key is left out. */
Test(schema, each_default_is_what_an_unset_key_means)
{
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		if (!k->out)
			continue;
		const char *mode =
		    k->net == NET_ANY_MODE || strcmp(k->name, "mode") == 0 ? "" : "[network]\nmode = proxy\n";
		cleanup_free char *unset = xasprintf("%s[%s]\n", mode, k->section);
		cleanup_free char *set =
		    xasprintf("%s[%s]\n%s = %s\n", mode, k->section, k->name, k->dflt ? k->dflt : "0");
		struct diags d = {0};
		struct policy *a = policy_parse("t.ini", unset, strlen(unset), &d);
		cr_expect_eq(d.n, 0, "[%s] %s unset: %s", k->section, k->name, d.n ? d.v[0].msg : "");
		if (!k->dflt) {
			/* No default: unset means 0 (no limit), which is not a
			 * value one may write where there is a minimum. */
			uint64_t zero = 0;
			cr_expect_eq(memcmp((char *)a + k->out, &zero, sizeof(zero)), 0, "[%s] %s", k->section,
			             k->name);
			policy_free(a);
			diags_free(&d);
			continue;
		}
		struct policy *b = policy_parse("t.ini", set, strlen(set), &d);
		cr_expect_eq(d.n, 0, "[%s] %s = %s: %s", k->section, k->name, k->dflt, d.n ? d.v[0].msg : "");
		size_t size = k->type == KT_BOOL   ? sizeof(bool)
		              : k->type == KT_ENUM ? sizeof(unsigned)
		                                   : sizeof(uint64_t);
		cr_expect_eq(memcmp((char *)a + k->out, (char *)b + k->out, size), 0, "[%s] %s: default %s", k->section,
		             k->name, k->dflt);
		policy_free(a);
		policy_free(b);
		diags_free(&d);
	}
}

Test(schema, enum_values_are_the_names_of_the_enums)
{
	for (unsigned m = NET_NONE; m <= NET_HOST; m++)
		cr_expect_str_eq(net_mode_name((enum net_mode)m), net_mode_values[m]);
	for (unsigned m = LANDLOCK_REQUIRE; m <= LANDLOCK_OFF; m++)
		cr_expect_str_eq(landlock_mode_name((enum landlock_mode)m), landlock_mode_values[m]);
	struct diags d = {0};
	const char text[] = "[network]\nmode = host\n[landlock]\nmode = best-effort\n";
	struct policy *p = policy_parse("t.ini", text, strlen(text), &d);
	cr_expect_eq(d.n, 0);
	cr_expect_eq(p->net_mode, NET_HOST);
	cr_expect_eq(p->landlock, LANDLOCK_BEST_EFFORT);
	policy_free(p);
}

Test(schema, enum_error_lists_the_values)
{
	struct diags d = {0};
	const char text[] = "[landlock]\nmode = on\n";
	struct policy *p = policy_parse("t.ini", text, strlen(text), &d);
	cr_assert_eq(d.n, 1);
	cr_expect_str_eq(d.v[0].msg, "mode: expected require, best-effort or off");
	policy_free(p);
	diags_free(&d);
}

/* The runner contract: under sudo a policy must name the account the
 * command runs as; nothing else is required or forbidden there. */
Test(schema, only_user_is_required_under_sudo)
{
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		bool is_user = strcmp(k->section, "sandbox") == 0 && strcmp(k->name, "user") == 0;
		cr_expect_eq(k->sudo, is_user ? SUDO_REQUIRED : SUDO_ALLOWED, "[%s] %s", k->section, k->name);
	}
}

/* The text of docs/policy.md from "## [section]" to the next "## ". */
static char *doc_section(const char *doc, const char *section)
{
	cleanup_free char *head = xasprintf("\n## [%s]", section);
	const char *s = strstr(doc, head);
	cr_assert_not_null(s, "docs/policy.md has no \"## [%s]\"", section);
	const char *e = strstr(s + 1, "\n## ");
	return e ? xstrndup(s, (size_t)(e - s)) : xstrdup(s);
}

static bool mentions(const char *text, const char *word)
{
	cleanup_free char *quoted = xasprintf("`%s`", word);
	cleanup_free char *assign = xasprintf("`%s =", word);
	return strstr(text, quoted) || strstr(text, assign);
}

/* The reference is written by hand, with the meaning of each key; the
 * table cannot hold that prose. What the table knows, the reference must
 * say: every key under its section, every value of an enum, every
 * default. */
Test(schema, docs_policy_md_names_every_key)
{
	cleanup_free char *doc = slurp(CORDON_SRC_DIR "/docs/policy.md");
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		cleanup_free char *sec = doc_section(doc, k->section);
		cr_expect(mentions(sec, k->name), "docs/policy.md: [%s] does not mention `%s`", k->section, k->name);
		for (size_t v = 0; k->values && k->values[v]; v++)
			cr_expect(mentions(sec, k->values[v]), "docs/policy.md: [%s] %s: value `%s` missing",
			          k->section, k->name, k->values[v]);
		if (k->dflt)
			cr_expect(mentions(sec, k->dflt), "docs/policy.md: [%s] %s: default `%s` missing", k->section,
			          k->name, k->dflt);
	}
	cleanup_free char *user = doc_section(doc, "user:NAME");
	cr_expect(mentions(user, "project_root"));
	/* [secrets] has no keys of its own: its keys are names. */
	cleanup_free char *secrets = doc_section(doc, "secrets");
	cr_expect(strstr(secrets, "`env:VAR`") && strstr(secrets, "`file:/PATH`") &&
	              strstr(secrets, "/run/secrets/NAME"),
	          "docs/policy.md: [secrets] must describe env:, file: and /run/secrets/NAME");
}

Test(schema, fuzz_dictionary_has_every_section_key_and_value)
{
	cleanup_free char *dict = slurp(CORDON_SRC_DIR "/tests/fuzz/policy.dict");
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		cleanup_free char *sec = xasprintf("\n\"[%s]\"\n", k->section);
		cleanup_free char *name = xasprintf("\n\"%s\"\n", k->name);
		cr_expect_not_null(strstr(dict, sec), "tests/fuzz/policy.dict lacks [%s]", k->section);
		cr_expect_not_null(strstr(dict, name), "tests/fuzz/policy.dict lacks %s", k->name);
		for (size_t v = 0; k->values && k->values[v]; v++) {
			cleanup_free char *val = xasprintf("\n\"%s\"\n", k->values[v]);
			cr_expect_not_null(strstr(dict, val), "tests/fuzz/policy.dict lacks %s", k->values[v]);
		}
	}
}

/* cordon-policy(5) is printed from the table (policy/schema-man.c): each
 * key says what it means, in one line, and an enum key's line names each
 * of its values. */
Test(schema, every_key_has_a_one_line_doc)
{
	for (size_t i = 0; i < n_policy_keys; i++) {
		const struct policy_key *k = &policy_keys[i];
		cr_assert(k->doc && *k->doc, "[%s] %s has no doc", k->section, k->name);
		cr_expect_null(strchr(k->doc, '\n'), "[%s] %s: doc is more than one line", k->section, k->name);
		cr_expect_eq(k->doc[strlen(k->doc) - 1], '.', "[%s] %s: doc is not a sentence", k->section, k->name);
		for (size_t v = 0; k->values && k->values[v]; v++)
			cr_expect_not_null(strstr(k->doc, k->values[v]), "[%s] %s: doc does not name %s", k->section,
			                   k->name, k->values[v]);
	}
}
