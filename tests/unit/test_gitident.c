/* Unit tests for the git identity reader (policy/gitident.c): git config
 * syntax as git parses it, and only [user] name and email kept. */
#include <criterion/criterion.h>
#include <string.h>

#include "gitident.h"
#include "util.h"

static struct git_ident ID;

static void teardown(void)
{
	git_ident_clear(&ID);
}

TestSuite(gitident, .fini = teardown);

static bool parse(const char *text)
{
	return git_ident_parse(text, strlen(text), &ID);
}

static void expect(const char *text, const char *name, const char *email)
{
	git_ident_clear(&ID);
	cr_assert(parse(text), "refused: %s", text);
	if (name)
		cr_expect(ID.name && strcmp(ID.name, name) == 0, "name [%s], want [%s] in: %s",
		          ID.name ? ID.name : "(null)", name, text);
	else
		cr_expect_null(ID.name, "name [%s], want none in: %s", ID.name, text);
	if (email)
		cr_expect(ID.email && strcmp(ID.email, email) == 0, "email [%s], want [%s] in: %s",
		          ID.email ? ID.email : "(null)", email, text);
	else
		cr_expect_null(ID.email, "email [%s], want none in: %s", ID.email, text);
}

Test(gitident, plain_user_section)
{
	expect("[user]\n\tname = Alice Example\n\temail = alice@example.org\n", "Alice Example", "alice@example.org");
}

Test(gitident, only_the_user_section_counts)
{
	expect("[credential]\n\thelper = store\n[core]\n\tname = x\n[alias]\n\temail = y\n", NULL, NULL);
	expect("[user \"work\"]\n\tname = Sub\n[user.work]\nemail = sub@x\n", NULL, NULL);
	expect("[include]\n\tpath = ~/.gitconfig.local\n[user]\nname = A\n", "A", NULL);
	expect("[includeIf \"gitdir:~/w/\"]\n\tpath = w.inc\n[user]\nemail = a@b\n", NULL, "a@b");
}

Test(gitident, case_insensitive_section_and_keys)
{
	expect("[USER]\nNAME = A\nEMail = a@b\n", "A", "a@b");
}

Test(gitident, last_value_wins)
{
	expect("[user]\nname = First\n[user]\nname = Second\n", "Second", NULL);
}

Test(gitident, quotes_escapes_and_comments)
{
	expect("[user]\n  name = \"Alice  \\\"Q\\\" Example\"  ; a comment\n  email = a@b # another\n",
	       "Alice  \"Q\" Example", "a@b");
	expect("[user]\nname = Al\\\nice\n", "Alice", NULL);
	expect("# top\n; also\n[user] name = Same Line\n", "Same Line", NULL);
	expect("[user]\r\nname = CRLF\r\nemail = c@d\r\n", "CRLF", "c@d");
	expect("\xef\xbb\xbf[user]\nname = BOM\n", "BOM", NULL);
	expect("[user]\nname = \"  spaced  \"\n", "  spaced  ", NULL);
	expect("[user]\nname = no newline at the end", "no newline at the end", NULL);
}

Test(gitident, unusable_values_unset_the_key)
{
	expect("[user]\nname = Good\nname\n", NULL, NULL);         /* a bare key is "true" */
	expect("[user]\nname = Good\nname = \"\"\n", NULL, NULL);  /* empty */
	expect("[user]\nname = Good\nname = a\\nb\n", NULL, NULL); /* a newline */
	expect("[user]\nname = Good\nname = a\\tb\n", NULL, NULL); /* a tab */
	expect("[user]\nname = Good\nname = a\x01"
	       "b\n",
	       NULL, NULL); /* a control character */
	cleanup_free char *long_text = xasprintf("[user]\nname = %0*d\n", GIT_IDENT_MAX + 1, 0);
	expect(long_text, NULL, NULL);
	cleanup_free char *max_text = xasprintf("[user]\nname = %0*d\n", GIT_IDENT_MAX, 0);
	git_ident_clear(&ID);
	cr_assert(parse(max_text));
	cr_expect_eq(strlen(ID.name), GIT_IDENT_MAX);
}

Test(gitident, syntax_errors_leave_the_identity_unchanged)
{
	const char *bad[] = {
	    "[user\nname = A\n",
	    "[user]\nname = \"open\n",
	    "[user]\nname = a\\q\n",
	    "[user]\n1name = A\n",
	    "[user]\nname A\n",
	    "[]\nname = A\n",
	    "[us er]\n",
	    "[user]\nname = A\0",
	    "[user \"x\" ]\nname = A\n",
	    "[user]\nname = A\\",
	    "[user ",
	    "[user \n\"x\"]\n",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		git_ident_clear(&ID);
		ID.name = xstrdup("Before");
		size_t len = i == 7 ? 16 : strlen(bad[i]); /* the NUL inside */
		cr_expect_not(git_ident_parse(bad[i], len, &ID), "accepted: %s", bad[i]);
		cr_expect_str_eq(ID.name, "Before");
	}
}

/* A later file (git reads ~/.config/git/config, then ~/.gitconfig)
 * overrides only what it sets. */
Test(gitident, a_second_file_overrides_what_it_sets)
{
	cr_assert(parse("[user]\nname = Xdg\nemail = xdg@x\n"));
	cr_assert(parse("[user]\nemail = home@x\n[core]\neditor = vi\n"));
	cr_expect_str_eq(ID.name, "Xdg");
	cr_expect_str_eq(ID.email, "home@x");
}
