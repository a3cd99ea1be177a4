/* Unit tests for policy_parse (policy/policy.c): the INI policy as fixed by
 * the product contract, parsed from in-memory text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "util.h"

/* Every parse in a test goes through these so that the suite's fini frees
 * them even when an assertion ends the test early. */
static struct policy *P;
static struct diags D;

static void teardown(void)
{
	policy_free(P);
	P = NULL;
	diags_free(&D);
}

TestSuite(parse, .fini = teardown);
TestSuite(parse_errors, .fini = teardown);
TestSuite(parse_network, .fini = teardown);
TestSuite(parse_format, .fini = teardown);

static struct policy *parse_n(const char *text, size_t len)
{
	policy_free(P);
	diags_free(&D);
	P = policy_parse("test.ini", text, len, &D);
	cr_assert_not_null(P);
	return P;
}

static struct policy *parse(const char *text)
{
	return parse_n(text, strlen(text));
}

static void dump_diags(void)
{
	diags_print(&D, STDERR_FILENO);
}

/* Parses text and requires it to be valid. */
static struct policy *parse_ok(const char *text)
{
	parse(text);
	if (D.n)
		dump_diags();
	cr_assert_eq(D.n, 0, "expected no diagnostics, got %zu (first: line %d: %s)", D.n, D.n ? D.v[0].line : 0,
	             D.n ? D.v[0].msg : "");
	return P;
}

static const struct diag *find_diag(int line, const char *needle)
{
	for (size_t i = 0; i < D.n; i++)
		if (D.v[i].line == line && strstr(D.v[i].msg, needle))
			return &D.v[i];
	return NULL;
}

/* Parses text and requires a diagnostic at line whose message contains
 * needle. */
static void expect_diag(const char *text, int line, const char *needle)
{
	parse(text);
	const struct diag *x = find_diag(line, needle);
	if (!x)
		dump_diags();
	cr_assert_not_null(x, "expected a diagnostic at line %d containing \"%s\" for:\n%s", line, needle, text);
}

/* The example from the contract's "Policy (INI, parsed with inih)" section,
 * verbatim (inline comments included), but for `socket`, commented out on
 * its line: with a shared proxy the sandbox's allow list, limits and
 * timeouts are unused, and refused (parse_network below). */
static const char contract_example[] =
    "[sandbox]\n"
    "name = pi                      ; used in audit records\n"
    "command = /usr/bin/pi-real     ; default CMD\n"
    "user = pi-agent                ; confined account when run with privilege; ignored unprivileged\n"
    "hostname = cordon\n"
    "home = tmpfs                   ; or a directory bound read-write as the agent's home\n"
    "die_with_parent = true\n"
    "\n"
    "[filesystem]\n"
    "ro = /usr                      ; read-only bind, same path inside\n"
    "ro_try = /lib64                ; read-only bind if it exists\n"
    "rw = /var/cache/pi             ; read-write bind\n"
    "tmpfs = /tmp\n"
    "symlink = usr/bin:/bin         ; TARGET:LINKPATH\n"
    "project_root = ~/src           ; the allowed project roots (read-write)\n"
    "mask = .env                    ; path, absolute or relative to each project root, hidden inside\n"
    "protect = .git/hooks           ; relative to each project root: stays read-only inside\n"
    "\n"
    "[user:alice]                   ; per-invoking-user overrides (sudo mode)\n"
    "project_root = /srv/alice/work\n"
    "\n"
    "[network]\n"
    "mode = proxy                   ; none | proxy | host\n"
    "allow = github.com:443         ; host[:port]; *.example.org matches subdomains only\n"
    "deny = gist.github.com\n"
    "allow_private = false          ; loopback, RFC1918, link-local (incl. 169.254.169.254), ULA\n"
    "; socket = /run/cordon/egress.sock ; optional: use an external `cordon proxy` instead of a built-in one\n"
    "max_request_bytes = 10485760\n"
    "max_response_bytes = 104857600\n"
    "\n"
    "[seccomp]\n"
    "profile = default              ; a name from seccomp-profiles/ or a path\n"
    "\n"
    "[landlock]\n"
    "mode = require                 ; require | best-effort | off\n"
    "\n"
    "[env]\n"
    "keep = TERM                    ; variables passed through; everything else is dropped\n"
    "set = EDITOR=vi\n"
    "file = /etc/cordon/pi.env      ; KEY=VALUE lines\n"
    "\n"
    "[limits]\n"
    "timeout = 2h\n"
    "memory = 8G\n"
    "pids = 1024\n"
    "nofile = 4096\n"
    "\n"
    "[audit]\n"
    "log = /var/log/cordon/audit.jsonl\n";

static void pval_is(const struct pval *v, const char *want, int line)
{
	cr_assert_not_null(v->value, "value for line %d missing", line);
	cr_expect_str_eq(v->value, want);
	cr_expect_eq(v->line, line, "\"%s\" at line %d, want %d", want, v->line, line);
}

static void plist_is(const struct plist *l, const char *want, int line)
{
	cr_assert_eq(l->n, 1, "want one value \"%s\", have %zu", want, l->n);
	pval_is(&l->v[0], want, line);
}

/* ---- a complete, valid policy ---- */

Test(parse, contract_example_has_no_diagnostics)
{
	parse_ok(contract_example);
	cr_expect_str_eq(P->file, "test.ini");
}

Test(parse, contract_example_sandbox_section)
{
	parse_ok(contract_example);
	pval_is(&P->name, "pi", 2);
	pval_is(&P->command, "/usr/bin/pi-real", 3);
	pval_is(&P->user, "pi-agent", 4);
	pval_is(&P->hostname, "cordon", 5);
	pval_is(&P->home, "tmpfs", 6);
	pval_is(&P->die_with_parent, "true", 7);
	cr_expect(P->die_with_parent_on);
}

Test(parse, contract_example_filesystem_section)
{
	parse_ok(contract_example);
	plist_is(&P->ro, "/usr", 10);
	plist_is(&P->ro_try, "/lib64", 11);
	plist_is(&P->rw, "/var/cache/pi", 12);
	plist_is(&P->tmpfs, "/tmp", 13);
	plist_is(&P->symlink, "usr/bin:/bin", 14);
	plist_is(&P->project_root, "~/src", 15);
	plist_is(&P->mask, ".env", 16);
	plist_is(&P->protect, ".git/hooks", 17);
}

Test(parse, contract_example_user_section)
{
	parse_ok(contract_example);
	cr_assert_eq(P->n_users, 1);
	cr_expect_str_eq(P->users[0].name, "alice");
	cr_expect_eq(P->users[0].line, 20);
	plist_is(&P->users[0].project_root, "/srv/alice/work", 20);
}

Test(parse, contract_example_network_section)
{
	parse_ok(contract_example);
	cr_expect_eq(P->net_mode, NET_PROXY);
	pval_is(&P->net_mode_v, "proxy", 23);
	cr_assert_eq(P->allow.n, 1);
	pval_is(&P->allow.v[0], "github.com:443", 24);
	cr_assert_eq(P->deny.n, 1);
	pval_is(&P->deny.v[0], "gist.github.com", 25);
	cr_assert_eq(P->allow_private_v.n, 1);
	pval_is(&P->allow_private_v.v[0], "false", 26);
	cr_expect_not(P->allow_private);
	cr_expect_null(P->socket.value);
	cr_expect_eq(P->max_request_bytes, 10485760);
	cr_expect_eq(P->max_response_bytes, 104857600);
}

Test(parse, contract_example_seccomp_and_landlock)
{
	parse_ok(contract_example);
	pval_is(&P->seccomp_profile, "default", 32);
	pval_is(&P->landlock_v, "require", 35);
	cr_expect_eq(P->landlock, LANDLOCK_REQUIRE);
}

Test(parse, contract_example_env_section)
{
	parse_ok(contract_example);
	plist_is(&P->env_keep, "TERM", 38);
	plist_is(&P->env_set, "EDITOR=vi", 39);
	plist_is(&P->env_file, "/etc/cordon/pi.env", 40);
}

Test(parse, contract_example_limits_and_audit)
{
	parse_ok(contract_example);
	cr_expect_eq(P->timeout_ms, 2ULL * 3600 * 1000);
	cr_expect_eq(P->memory_bytes, 8ULL << 30);
	cr_expect_eq(P->pids, 1024);
	cr_expect_eq(P->nofile, 4096);
	pval_is(&P->timeout_v, "2h", 43);
	pval_is(&P->audit_log, "/var/log/cordon/audit.jsonl", 49);
}

/* ---- defaults ---- */

Test(parse, empty_policy_is_valid)
{
	parse_ok("");
}

Test(parse, defaults)
{
	parse_ok("[sandbox]\nname = x\n");
	cr_expect_eq(P->landlock, LANDLOCK_REQUIRE);
	cr_expect_eq(P->net_mode, NET_NONE);
	cr_expect(P->die_with_parent_on);
	cr_expect_null(P->seccomp_profile.value);
	cr_expect_null(P->command.value);
	cr_expect_null(P->home.value);
	cr_expect_null(P->audit_log.value);
	cr_expect_eq(P->allow.n, 0);
	cr_expect_eq(P->deny.n, 0);
	cr_expect_not(P->allow_private);
	cr_expect_eq(P->timeout_ms, 0);
	cr_expect_eq(P->memory_bytes, 0);
	cr_expect_eq(P->pids, 0);
	cr_expect_eq(P->nofile, 0);
	cr_expect_eq(P->n_users, 0);
}

Test(parse, die_with_parent_false)
{
	parse_ok("[sandbox]\ndie_with_parent = no\n");
	cr_expect_not(P->die_with_parent_on);
}

Test(parse, landlock_modes)
{
	parse_ok("[landlock]\nmode = best-effort\n");
	cr_expect_eq(P->landlock, LANDLOCK_BEST_EFFORT);
	parse_ok("[landlock]\nmode = off\n");
	cr_expect_eq(P->landlock, LANDLOCK_OFF);
}

Test(parse, network_modes)
{
	parse_ok("[network]\nmode = host\n");
	cr_expect_eq(P->net_mode, NET_HOST);
	parse_ok("[network]\nmode = none\n");
	cr_expect_eq(P->net_mode, NET_NONE);
}

Test(parse, seccomp_profile_may_be_a_path)
{
	parse_ok("[seccomp]\nprofile = /etc/cordon/strict.json\n");
	cr_expect_str_eq(P->seccomp_profile.value, "/etc/cordon/strict.json");
}

Test(parse, home_may_be_a_directory)
{
	parse_ok("[sandbox]\nhome = ~/agent-home/\n");
	cr_expect_str_eq(P->home.value, "~/agent-home");
}

/* ---- lists ---- */

Test(parse, repeated_list_keys_accumulate_in_order)
{
	parse_ok("[filesystem]\n"
	         "ro = /usr\n"
	         "rw = /var/cache\n"
	         "ro = /etc\n"
	         "\n"
	         "ro = /opt\n");
	cr_assert_eq(P->ro.n, 3);
	cr_expect_str_eq(P->ro.v[0].value, "/usr");
	cr_expect_eq(P->ro.v[0].line, 2);
	cr_expect_str_eq(P->ro.v[1].value, "/etc");
	cr_expect_eq(P->ro.v[1].line, 4);
	cr_expect_str_eq(P->ro.v[2].value, "/opt");
	cr_expect_eq(P->ro.v[2].line, 6);
	cr_expect_eq(P->rw.n, 1);
}

Test(parse, list_keys_across_repeated_sections)
{
	parse_ok("[env]\nkeep = TERM\n[limits]\npids = 5\n[env]\nkeep = LANG\n");
	cr_assert_eq(P->env_keep.n, 2);
	cr_expect_str_eq(P->env_keep.v[0].value, "TERM");
	cr_expect_str_eq(P->env_keep.v[1].value, "LANG");
}

Test(parse, allow_list_keeps_order_and_lines)
{
	parse_ok("[network]\nmode = proxy\nallow = a.example.com\nallow = *.Example.org:443\nallow = [::1]:8080\n");
	cr_assert_eq(P->allow.n, 3);
	pval_is(&P->allow.v[0], "a.example.com", 3);
	pval_is(&P->allow.v[1], "*.Example.org:443", 4);
	pval_is(&P->allow.v[2], "[::1]:8080", 5);
}

Test(parse, paths_are_normalized)
{
	parse_ok("[filesystem]\nro = /usr//lib/\nproject_root = ~//src/\nmask = secrets//\nprotect = .git/hooks/\n");
	cr_expect_str_eq(P->ro.v[0].value, "/usr/lib");
	cr_expect_str_eq(P->project_root.v[0].value, "~/src");
	/* a trailing slash on a relative mask/protect asks for a directory */
	cr_expect_str_eq(P->mask.v[0].value, "secrets/");
	cr_expect_str_eq(P->protect.v[0].value, ".git/hooks/");
}

Test(parse, mask_may_be_absolute_or_home_relative)
{
	parse_ok("[filesystem]\nmask = /etc/shadow\nmask = ~/.ssh\nmask = .env\n");
	cr_expect_eq(P->mask.n, 3);
}

/* ---- [user:NAME] ---- */

Test(parse, user_sections_collect_project_roots)
{
	parse_ok("[filesystem]\nproject_root = ~/src\n"
	         "[user:alice]\nproject_root = /srv/alice/work\nproject_root = /srv/alice/other\n"
	         "[user:bob]\nproject_root = /srv/bob\n");
	cr_assert_eq(P->n_users, 2);
	cr_expect_str_eq(P->users[0].name, "alice");
	cr_assert_eq(P->users[0].project_root.n, 2);
	cr_expect_str_eq(P->users[0].project_root.v[0].value, "/srv/alice/work");
	cr_expect_eq(P->users[0].project_root.v[0].line, 4);
	cr_expect_str_eq(P->users[0].project_root.v[1].value, "/srv/alice/other");
	cr_expect_str_eq(P->users[1].name, "bob");
	cr_expect_eq(P->users[1].project_root.n, 1);
	cr_expect_eq(P->project_root.n, 1);
}

Test(parse, same_user_section_twice_merges)
{
	parse_ok("[user:alice]\nproject_root = /a\n[env]\nkeep = X\n[user:alice]\nproject_root = /b\n");
	cr_assert_eq(P->n_users, 1);
	cr_expect_eq(P->users[0].project_root.n, 2);
}

Test(parse, command_sha256_is_stored_lowercase)
{
	parse_ok("[sandbox]\ncommand_sha256 = "
	         "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n");
	pval_is(&P->command_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 2);
}

Test(parse_errors, command_sha256_must_be_64_hex_digits)
{
	expect_diag("[sandbox]\ncommand_sha256 = xyz\n", 2, "command_sha256: expected the file's SHA-256");
	/* 63 digits, 65 digits, and one that is not hexadecimal. */
	expect_diag("[sandbox]\n\ncommand_sha256 = "
	            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85\n",
	            3, "64 hexadecimal digits");
	expect_diag("[sandbox]\ncommand_sha256 = "
	            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555\n",
	            2, "64 hexadecimal digits");
	expect_diag("[sandbox]\ncommand_sha256 = "
	            "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
	            2, "64 hexadecimal digits");
}

Test(parse_errors, unknown_key_in_user_section)
{
	expect_diag("[user:alice]\nproject_root = /srv/a\nro = /usr\n", 3, "unknown key");
	cr_expect(strncmp(find_diag(3, "unknown key")->msg, "unknown key", 11) == 0);
}

Test(parse_errors, invalid_user_section_name)
{
	/* Reported once, at the header, even with no keys below it. */
	expect_diag("[user:-rf]\nproject_root = /srv/a\n", 1, "invalid user name");
	expect_diag("[user:]\n", 1, "invalid user name");
}

Test(parse_errors, relative_project_root_in_user_section)
{
	expect_diag("[user:alice]\nproject_root = work\n", 2, "project_root");
}

/* ---- structural errors ---- */

Test(parse_errors, unknown_key_reported_at_its_line)
{
	expect_diag("[sandbox]\nname = x\nnmae = y\n", 3, "unknown key");
	const struct diag *x = find_diag(3, "unknown key");
	cr_expect(strncmp(x->msg, "unknown key", 11) == 0, "message: %s", x->msg);
	cr_expect(strstr(x->msg, "nmae") != NULL, "message names the key: %s", x->msg);
	cr_expect_str_eq(x->file, "test.ini");
}

Test(parse_errors, unknown_key_of_a_section_elsewhere)
{
	/* "ro" is a [filesystem] key, not a [sandbox] one */
	expect_diag("[sandbox]\nro = /usr\n", 2, "unknown key");
}

Test(parse_errors, line_numbers_count_blank_lines_and_comments)
{
	expect_diag("; leading comment\n"
	            "\n"
	            "# another comment\n"
	            "[sandbox]\n"
	            "\n"
	            "   ; indented comment\n"
	            "name = ok\n"
	            "\n"
	            "bogus = 1\n",
	            9, "unknown key");
	cr_expect_eq(D.n, 1);
}

Test(parse_errors, unknown_section_reported_at_header)
{
	expect_diag("[sandbox]\nname = x\n\n[sandboks]\nname = y\nfoo = z\n", 4, "unknown section");
	/* keys inside it are not reported again */
	cr_expect_eq(D.n, 1, "got %zu diagnostics", D.n);
}

Test(parse_errors, empty_unknown_section_reported)
{
	expect_diag("[sandbox]\nname = x\n[filesytem]\n", 3, "unknown section");
}

Test(parse_errors, unknown_section_with_comment_after_header)
{
	expect_diag("[netwrok]   ; typo\nmode = host\n", 1, "unknown section");
}

Test(parse_errors, key_outside_any_section)
{
	expect_diag("; comment\nname = pi\n[sandbox]\n", 2, "outside");
}

Test(parse_errors, duplicate_scalar_key_at_second_line)
{
	expect_diag("[sandbox]\nname = a\nhostname = h\nname = b\n", 4, "duplicate key");
	cr_expect_null(find_diag(2, "duplicate"));
	cr_expect(strstr(find_diag(4, "duplicate key")->msg, "line 2") != NULL, "message mentions the first line");
	cr_expect_str_eq(P->name.value, "a");
}

Test(parse_errors, duplicate_scalar_key_across_repeated_sections)
{
	expect_diag("[limits]\npids = 1\n[env]\nkeep = X\n[limits]\npids = 2\n", 6, "duplicate key");
}

Test(parse_errors, syntax_error_line_without_equals)
{
	expect_diag("[sandbox]\nname = x\njust some words\n", 3, "syntax error");
}

Test(parse_errors, unterminated_section_header)
{
	expect_diag("[sandbox\nname = x\n", 1, "syntax error");
}

/* inih returns only the first error line; the contract says `cordon check`
 * prints each problem. */
Test(parse_errors, every_syntax_error_is_reported)
{
	parse("[sandbox]\nfirst bad line\nname = x\nsecond bad line\n");
	if (!find_diag(2, "syntax error") || !find_diag(4, "syntax error"))
		dump_diags();
	cr_expect_not_null(find_diag(2, "syntax error"));
	cr_expect_not_null(find_diag(4, "syntax error"));
}

Test(parse_errors, syntax_error_after_unknown_key_is_reported)
{
	parse("[sandbox]\nbogus = 1\nnot a key value line\n");
	if (!find_diag(2, "unknown key") || !find_diag(3, "syntax error"))
		dump_diags();
	cr_expect_not_null(find_diag(2, "unknown key"));
	cr_expect_not_null(find_diag(3, "syntax error"));
}

static char *long_line_policy(size_t value_len, const char *eol, const char *after)
{
	const char *head = "[sandbox]\ncommand = ";
	size_t n = strlen(head) + value_len + strlen(eol) + strlen(after) + 1;
	char *t = malloc(n);
	cr_assert_not_null(t);
	strcpy(t, head);
	memset(t + strlen(head), 'a', value_len);
	strcpy(t + strlen(head) + value_len, eol);
	strcat(t, after);
	return t;
}

static char *long_text;

static void free_long_text(void)
{
	free(long_text);
	long_text = NULL;
	teardown();
}

Test(parse_errors, over_long_line_reported, .fini = free_long_text)
{
	long_text = long_line_policy(20000, "\n", "bogus\n");
	parse(long_text);
	cr_expect_not_null(find_diag(2, "line too long"));
	/* the long line is dropped, not split into pieces ... */
	cr_expect_null(P->command.value);
	/* ... and later line numbers are unaffected */
	cr_expect_not_null(find_diag(3, "syntax error"));
}

Test(parse_errors, over_long_comment_line_reported, .fini = free_long_text)
{
	long_text = malloc(16400 + 32);
	strcpy(long_text, "[sandbox]\n;");
	memset(long_text + 11, 'x', 16400);
	strcpy(long_text + 11 + 16400, "\nname = x\n");
	parse(long_text);
	cr_expect_not_null(find_diag(2, "line too long"));
	cr_expect_str_eq(P->name.value, "x");
	cr_expect_eq(P->name.line, 3);
}

Test(parse_errors, over_long_last_line_without_newline, .fini = free_long_text)
{
	long_text = long_line_policy(20000, "", "");
	expect_diag(long_text, 2, "line too long");
}

Test(parse, long_line_below_limit_accepted, .fini = free_long_text)
{
	long_text = long_line_policy(16000, "\n", "name = x\n");
	parse_ok(long_text);
	cr_expect_eq(strlen(P->command.value), 16000);
	cr_expect_eq(P->name.line, 3);
}

/* A line of exactly 16384 bytes is not "> 16384 bytes". It is accepted as
 * the last line of a file, so it must also be accepted when a newline (or
 * CRLF) follows it: the limit must not depend on the line terminator. */
Test(parse, line_of_exactly_16384_bytes_accepted_with_newline, .fini = free_long_text)
{
	size_t value_len = 16384 - strlen("command = ");
	long_text = long_line_policy(value_len, "", "");
	parse(long_text);
	cr_expect_eq(D.n, 0, "16384-byte last line without newline rejected");
	free(long_text);
	long_text = long_line_policy(value_len, "\n", "");
	parse(long_text);
	if (D.n)
		dump_diags();
	cr_expect_eq(D.n, 0, "16384-byte line followed by \\n rejected");
	free(long_text);
	long_text = long_line_policy(value_len, "\r\n", "");
	parse(long_text);
	cr_expect_eq(D.n, 0, "16384-byte line followed by \\r\\n rejected");
}

Test(parse_errors, nul_byte_in_line)
{
	static const char text[] = "[sandbox]\nname = a\0b\nhostname = h\n";
	parse_n(text, sizeof(text) - 1);
	cr_expect_not_null(find_diag(2, "NUL"));
	cr_expect_null(P->name.value);
	cr_expect_str_eq(P->hostname.value, "h");
	cr_expect_eq(P->hostname.line, 3);
}

/* inih skips a UTF-8 BOM and any leading white space (isspace) before a
 * section header; a misspelt first section must still be reported, or
 * every key in it is silently ignored. */
Test(parse_errors, unknown_section_after_utf8_bom)
{
	expect_diag("\xEF\xBB\xBF[sandbx]\nname = pi\n", 1, "unknown section");
}

Test(parse, utf8_bom_before_known_section)
{
	parse_ok("\xEF\xBB\xBF[sandbox]\nname = pi\n");
	cr_expect_str_eq(P->name.value, "pi");
}

Test(parse_errors, unknown_section_after_form_feed)
{
	expect_diag("\f[filesytem]\nro = /usr\n", 1, "unknown section");
}

/* inih ignores whatever follows "]" on a header line, so a key written
 * there is dropped without a word: here the mask that hides .env. */
Test(parse_errors, text_after_section_header)
{
	parse("[filesystem] mask = .env\nro = /usr\n");
	if (D.n == 0)
		cr_expect_eq(P->mask.n, 1, "mask on the header line was silently dropped");
	cr_expect_gt(D.n, 0, "no diagnostic for a key on the section header line");
}

/* ---- typed values ---- */

Test(parse_errors, bad_network_mode)
{
	expect_diag("[network]\nmode = proxied\n", 2, "mode");
}

Test(parse_errors, bad_allow_host)
{
	expect_diag("[network]\nmode = proxy\nallow = evil_.com\n", 3, "allow");
}

Test(parse_errors, bad_deny_host)
{
	expect_diag("[network]\nmode = proxy\ndeny = 0177.0.0.1\n", 3, "deny");
}

Test(parse_errors, bad_size)
{
	expect_diag("[network]\nmode = proxy\nmax_request_bytes = 10X\n", 3, "max_request_bytes");
	expect_diag("[network]\nmode = proxy\nmax_response_bytes = -1\n", 3, "max_response_bytes");
	expect_diag("[limits]\nmemory = 1.5G\n", 2, "memory");
}

Test(parse_errors, memory_below_one_megabyte)
{
	expect_diag("[limits]\nmemory = 512K\n", 2, "memory");
}

Test(parse_errors, bad_duration)
{
	expect_diag("[limits]\ntimeout = 5x\n", 2, "timeout");
	expect_diag("[limits]\ntimeout = -5s\n", 2, "timeout");
}

Test(parse_errors, zero_timeout)
{
	expect_diag("[limits]\ntimeout = 0s\n", 2, "timeout");
}

Test(parse_errors, bad_pids_and_nofile)
{
	expect_diag("[limits]\npids = 0\n", 2, "pids");
	expect_diag("[limits]\npids = lots\n", 2, "pids");
	expect_diag("[limits]\npids = 99999999\n", 2, "pids");
	expect_diag("[limits]\nnofile = 2\n", 2, "nofile");
	expect_diag("[limits]\nnofile = 0x100\n", 2, "nofile");
}

Test(parse_errors, bad_bool)
{
	expect_diag("[sandbox]\ndie_with_parent = maybe\n", 2, "die_with_parent");
	expect_diag("[network]\nmode = proxy\nallow_private = sometimes\n", 3, "allow_private");
}

Test(parse_errors, bad_landlock_mode)
{
	expect_diag("[landlock]\nmode = required\n", 2, "mode");
}

Test(parse_errors, bad_hostname)
{
	expect_diag("[sandbox]\nhostname = my_host\n", 2, "hostname");
	expect_diag("[sandbox]\nhostname = host.\n", 2, "hostname");
}

Test(parse_errors, bad_name)
{
	expect_diag("[sandbox]\nname = pi agent\n", 2, "name");
	expect_diag("[sandbox]\nname = a/b\n", 2, "name");
}

Test(parse_errors, empty_command)
{
	expect_diag("[sandbox]\ncommand =\n", 2, "command");
}

Test(parse_errors, bad_user)
{
	expect_diag("[sandbox]\nuser = -root\n", 2, "user");
	expect_diag("[sandbox]\nuser = pi agent\n", 2, "user");
}

Test(parse_errors, bad_home)
{
	expect_diag("[sandbox]\nhome = agent-home\n", 2, "home");
	expect_diag("[sandbox]\nhome = /srv/../etc\n", 2, "home");
	expect_diag("[sandbox]\nhome = ~bob\n", 2, "home");
}

Test(parse_errors, symlink_without_colon)
{
	expect_diag("[filesystem]\nsymlink = usr/bin\n", 2, "symlink");
	expect_diag("[filesystem]\nsymlink = :/bin\n", 2, "symlink");
	expect_diag("[filesystem]\nsymlink = usr/bin:\n", 2, "symlink");
}

Test(parse_errors, symlink_with_relative_link_path)
{
	expect_diag("[filesystem]\nsymlink = usr/bin:bin\n", 2, "symlink");
}

Test(parse_errors, symlink_over_proc_dev_or_root)
{
	expect_diag("[filesystem]\nsymlink = x:/proc/self\n", 2, "symlink");
	expect_diag("[filesystem]\nsymlink = x:/dev/null\n", 2, "symlink");
	expect_diag("[filesystem]\nsymlink = x:/\n", 2, "symlink");
}

/* Link paths are checked before they are normalized, and the plan
 * normalizes them later: "//dev/null" becomes "/dev/null" and "//" "/". */
Test(parse_errors, symlink_over_proc_dev_or_root_with_doubled_slash)
{
	expect_diag("[filesystem]\nsymlink = x://proc/self\n", 2, "symlink");
	expect_diag("[filesystem]\nsymlink = x://dev/null\n", 2, "symlink");
	expect_diag("[filesystem]\nsymlink = x://\n", 2, "symlink");
}

Test(parse_errors, protect_given_as_absolute_path)
{
	expect_diag("[filesystem]\nprotect = /home/alice/src/.git\n", 2, "protect");
	expect_diag("[filesystem]\nprotect = ~/.git\n", 2, "protect");
}

Test(parse_errors, protect_with_dotdot)
{
	expect_diag("[filesystem]\nprotect = ../outside\n", 2, "protect");
}

Test(parse_errors, ro_given_as_relative_path)
{
	expect_diag("[filesystem]\nro = usr\n", 2, "ro");
	expect_diag("[filesystem]\nrw = cache\n", 2, "rw");
	expect_diag("[filesystem]\nrw_try = cache\n", 2, "rw_try");
	expect_diag("[filesystem]\ntmpfs = tmp\n", 2, "tmpfs");
	expect_diag("[filesystem]\nproject_root = src\n", 2, "project_root");
}

Test(parse_errors, ro_of_the_root)
{
	expect_diag("[filesystem]\nro = /\n", 2, "ro");
	expect_diag("[filesystem]\nrw = //\n", 2, "rw");
	expect_diag("[filesystem]\nrw_try = /\n", 2, "rw_try");
	expect_diag("[filesystem]\ntmpfs = /\n", 2, "tmpfs");
}

Test(parse_errors, ro_under_proc_or_dev)
{
	expect_diag("[filesystem]\nro = /proc\n", 2, "ro");
	expect_diag("[filesystem]\nro = /proc/sys\n", 2, "ro");
	expect_diag("[filesystem]\nrw = /dev/shm\n", 2, "rw");
	expect_diag("[filesystem]\nrw_try = /proc/sys\n", 2, "rw_try");
	expect_diag("[filesystem]\nro_try = //dev//\n", 2, "ro_try");
	expect_diag("[filesystem]\ntmpfs = /dev\n", 2, "tmpfs");
}

Test(parse, paths_that_only_share_a_prefix_with_proc_or_dev)
{
	parse_ok("[filesystem]\nro = /devel\nro = /procedures\n");
}

Test(parse_errors, ro_with_dot_components)
{
	expect_diag("[filesystem]\nro = /usr/../etc\n", 2, "ro");
	expect_diag("[filesystem]\nro = ~root/.ssh\n", 2, "ro");
}

Test(parse_errors, env_set_without_equals)
{
	expect_diag("[env]\nset = EDITOR\n", 2, "set");
	expect_diag("[env]\nset = =vi\n", 2, "set");
	expect_diag("[env]\nset = 1X=vi\n", 2, "set");
}

Test(parse, env_set_value_may_contain_equals)
{
	parse_ok("[env]\nset = OPTS=a=b\nset = EMPTY=\n");
	cr_expect_str_eq(P->env_set.v[0].value, "OPTS=a=b");
	cr_expect_str_eq(P->env_set.v[1].value, "EMPTY=");
}

Test(parse_errors, env_keep_with_bad_name)
{
	expect_diag("[env]\nkeep = MY-VAR\n", 2, "keep");
	expect_diag("[env]\nkeep = *\n", 2, "keep");
	expect_diag("[env]\nkeep = A*B\n", 2, "keep");
}

Test(parse, env_keep_prefix_glob)
{
	parse_ok("[env]\nkeep = LC_*\n");
	cr_expect_str_eq(P->env_keep.v[0].value, "LC_*");
}

Test(parse_errors, env_file_relative)
{
	expect_diag("[env]\nfile = pi.env\n", 2, "file");
}

Test(parse_errors, bad_seccomp_profile)
{
	expect_diag("[seccomp]\nprofile = ../escape\n", 2, "profile");
	expect_diag("[seccomp]\nprofile = .hidden\n", 2, "profile");
	expect_diag("[seccomp]\nprofile = ~/p.json\n", 2, "profile");
}

Test(parse_errors, bad_audit_log)
{
	expect_diag("[audit]\nlog = audit.jsonl\n", 2, "log");
}

Test(parse_errors, every_problem_is_reported)
{
	parse("[sandbox]\nuser = -x\nhostname = a_b\n[limits]\npids = 0\n[landlock]\nmode = maybe\n");
	cr_expect_not_null(find_diag(2, "user"));
	cr_expect_not_null(find_diag(3, "hostname"));
	cr_expect_not_null(find_diag(5, "pids"));
	cr_expect_not_null(find_diag(7, "mode"));
}

/* ---- proxy-only keys ---- */

Test(parse_network, allow_needs_proxy_mode)
{
	expect_diag("[network]\nallow = github.com\n", 2, "only applies with mode = proxy");
}

Test(parse_network, deny_needs_proxy_mode)
{
	expect_diag("[network]\nmode = none\ndeny = github.com\n", 3, "only applies with mode = proxy");
}

Test(parse_network, socket_needs_proxy_mode)
{
	expect_diag("[network]\nmode = host\nsocket = /run/cordon/egress.sock\n", 3, "only applies with mode = proxy");
}

Test(parse_network, allow_private_needs_proxy_mode)
{
	expect_diag("[network]\nallow_private = true\nmode = host\n", 2, "only applies with mode = proxy");
}

Test(parse_network, size_limits_need_proxy_mode)
{
	expect_diag("[network]\nmax_request_bytes = 10M\n", 2, "only applies with mode = proxy");
	expect_diag("[network]\nmax_response_bytes = 10M\n", 2, "only applies with mode = proxy");
}

Test(parse_network, proxy_keys_accepted_in_proxy_mode)
{
	parse_ok("[network]\nallow = github.com\nmode = proxy\nallow_private = yes\nmax_request_bytes = 1M\n");
	cr_expect(P->allow_private);
	cr_expect_eq(P->max_request_bytes, 1ULL << 20);
	cr_expect_eq(P->max_response_bytes, 0);
}

Test(parse_network, proxy_timeouts_default_and_parse)
{
	parse_ok("[network]\nmode = proxy\n");
	cr_expect_eq(P->connect_timeout_ms, 10000);
	cr_expect_eq(P->idle_timeout_ms, 300000);
	policy_free(P);
	P = NULL;
	parse_ok("[network]\nmode = proxy\nconnect_timeout = 3s\nidle_timeout = 2m\n");
	cr_expect_eq(P->connect_timeout_ms, 3000);
	cr_expect_eq(P->idle_timeout_ms, 120000);
}

Test(parse_network, proxy_timeouts_are_bounded_and_need_proxy_mode)
{
	expect_diag("[network]\nmode = proxy\nconnect_timeout = 0\n", 3, "between 1s and 24h");
	expect_diag("[network]\nmode = proxy\nidle_timeout = 500ms\n", 3, "between 1s and 24h");
	expect_diag("[network]\nmode = proxy\nidle_timeout = 2d\n", 3, "idle_timeout");
	expect_diag("[network]\nmode = proxy\nconnect_timeout = soon\n", 3, "connect_timeout");
	expect_diag("[network]\nidle_timeout = 1m\n", 2, "only applies with mode = proxy");
}

/* A sandbox using a shared proxy (socket =) is served by that proxy's own
 * policy: its allow list, limits and timeouts would be unused. */
Test(parse_network, socket_with_allow_or_deny_names_both_lines)
{
	expect_diag("[network]\nmode = proxy\nsocket = /run/cordon/egress.sock\nallow = github.com\n", 4,
	            "allow is not used with socket = (line 3)");
	expect_diag("[network]\nmode = proxy\ndeny = gist.github.com\ndeny = x.org\nsocket = /run/e.sock\n", 3,
	            "deny is not used with socket = (line 5)");
	cr_expect_eq(D.n, 1, "one diagnostic for the list, at its first line");
}

Test(parse_network, socket_with_the_own_proxys_limits_is_refused)
{
	static const char *const keys[] = {"allow_private = true", "max_request_bytes = 1M", "max_response_bytes = 1M",
	                                   "connect_timeout = 5s", "idle_timeout = 1m"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "[network]\nsocket = /run/e.sock\nmode = proxy\n%s\n", keys[i]);
		expect_diag(text, 4, "is not used with socket = (line 2)");
	}
}

Test(parse_network, socket_alone_or_allow_alone_is_valid)
{
	parse_ok("[network]\nmode = proxy\nsocket = /run/cordon//egress.sock\n");
	cr_expect_str_eq(P->socket.value, "/run/cordon/egress.sock");
	parse_ok("[network]\nmode = proxy\nallow = github.com\ndeny = gist.github.com\nmax_request_bytes = 1M\n");
}

/* The contract's example as written sets socket and allow together. */
Test(parse_network, contract_example_with_its_socket_line)
{
	char *text = strdup(contract_example);
	cr_assert_not_null(text);
	char *hash = strstr(text, "; socket = ");
	memcpy(hash, "  ", 2);
	parse(text);
	free(text);
	cr_expect_not_null(find_diag(24, "allow is not used with socket = (line 27)"));
	cr_expect_not_null(find_diag(25, "deny is not used with socket = (line 27)"));
	cr_expect_eq(D.n, 5, "allow, deny, allow_private and the two byte limits");
}

Test(parse_network, socket_must_be_absolute)
{
	expect_diag("[network]\nmode = proxy\nsocket = egress.sock\n", 3, "socket");
}

/* ---- file format ---- */

Test(parse_format, crlf_line_endings)
{
	parse_ok("[sandbox]\r\nname = pi\r\ncommand = /usr/bin/pi-real --fast\r\n\r\n[filesystem]\r\nro = /usr\r\n"
	         "ro = /etc\r\n");
	cr_expect_str_eq(P->name.value, "pi");
	cr_expect_str_eq(P->command.value, "/usr/bin/pi-real --fast");
	cr_expect_eq(P->ro.n, 2);
	cr_expect_str_eq(P->ro.v[1].value, "/etc");
	cr_expect_eq(P->ro.v[1].line, 7);
}

Test(parse_format, crlf_line_numbers_in_diagnostics)
{
	expect_diag("[sandbox]\r\n\r\nbogus = 1\r\n", 3, "unknown key");
}

Test(parse_format, inline_comment_after_value)
{
	parse_ok("[sandbox]\nname = pi ; the name\n[env]\nset = PS1=a;b\n");
	cr_expect_str_eq(P->name.value, "pi");
	/* a ';' that does not follow white space is part of the value */
	cr_expect_str_eq(P->env_set.v[0].value, "PS1=a;b");
}

Test(parse_format, whitespace_around_values_is_trimmed)
{
	parse_ok("[sandbox]\n   name   =    pi   \n\tcommand\t=\t/bin/true\t\n");
	cr_expect_str_eq(P->name.value, "pi");
	cr_expect_str_eq(P->command.value, "/bin/true");
}

Test(parse_format, hash_comment_lines)
{
	parse_ok("# comment\n[sandbox]\n# name = nope\nname = yes\n");
	cr_expect_str_eq(P->name.value, "yes");
}

Test(parse_format, last_line_without_newline)
{
	parse_ok("[sandbox]\nname = pi");
	cr_expect_str_eq(P->name.value, "pi");
	cr_expect_eq(P->name.line, 2);
}

/* Reads everything diags_print writes to a pipe. */
static char *print_to_string(const struct diags *d)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	diags_print(d, fds[1]);
	close(fds[1]);
	char *out = calloc(1, 65536);
	size_t n = 0;
	ssize_t r;
	while ((r = read(fds[0], out + n, 65535 - n)) > 0)
		n += (size_t)r;
	close(fds[0]);
	return out;
}

static char *printed;

static void free_printed(void)
{
	free(printed);
	printed = NULL;
	teardown();
}

Test(parse_format, diags_print_file_line_message, .fini = free_printed)
{
	parse("[sandbox]\nname = x\nbogus = 1\n[limits]\npids = 0\n");
	cr_assert_eq(D.n, 2);
	printed = print_to_string(&D);
	char want[512];
	snprintf(want, sizeof(want), "test.ini:3: %s\ntest.ini:5: %s\n", D.v[0].msg, D.v[1].msg);
	cr_expect_str_eq(printed, want);
	cr_expect(strncmp(printed, "test.ini:3: unknown key", 23) == 0, "got: %s", printed);
}

Test(parse_format, diags_print_without_line, .fini = free_printed)
{
	struct diags d = {0};
	diags_add(&d, "p.ini", 0, "cannot read: %s", "No such file or directory");
	diags_add(&d, "p.ini", 7, "bad %d", 42);
	printed = print_to_string(&d);
	diags_free(&d);
	cr_expect_str_eq(printed, "p.ini: cannot read: No such file or directory\np.ini:7: bad 42\n");
}

Test(parse_format, diags_print_nothing_when_empty, .fini = free_printed)
{
	struct diags d = {0};
	printed = print_to_string(&d);
	cr_expect_str_eq(printed, "");
}

Test(parse, guard_paths_are_not_patterns)
{
	expect_diag("[filesystem]\nprotect = .git/modules/*/config\n", 2, "wildcards are not supported");
	expect_diag("[filesystem]\nmask = secrets/?.key\n", 2, "wildcards are not supported");
	expect_diag("[filesystem]\nmask = [abc]\n", 2, "wildcards are not supported");
}

/* ---- [secrets] ---- */

TestSuite(parse_secrets, .fini = teardown);

Test(parse_secrets, names_and_sources)
{
	parse_ok("[secrets]\nNPM_TOKEN = env:NPM_TOKEN\ndeploy.key = file:/etc/cordon//deploy.key\n");
	cr_assert_eq(P->n_secrets, 2);
	cr_expect_str_eq(P->secrets[0].name, "NPM_TOKEN");
	cr_expect_str_eq(P->secrets[0].source, "env:NPM_TOKEN");
	cr_expect_eq(P->secrets[0].line, 2);
	cr_expect_str_eq(P->secrets[1].name, "deploy.key");
	cr_expect_str_eq(P->secrets[1].source, "file:/etc/cordon/deploy.key");
	cr_expect_eq(P->secrets[1].line, 3);
}

Test(parse_secrets, the_contract_example)
{
	cleanup_free char *text = xasprintf("%s\n[secrets]\nNPM_TOKEN = env:NPM_TOKEN\nDEPLOY_KEY = "
	                                    "file:/etc/cordon/deploy.key\n",
	                                    contract_example);
	parse_ok(text);
	cr_expect_eq(P->n_secrets, 2);
}

Test(parse_secrets, bad_names)
{
	expect_diag("[secrets]\na/b = env:X\n", 2, "not a secret name");
	expect_diag("[secrets]\n.. = env:X\n", 2, "not a secret name");
	expect_diag("[secrets]\n. = env:X\n", 2, "not a secret name");
	expect_diag("[secrets]\nx y = env:X\n", 2, "not a secret name");
	cleanup_free char *long_name = xasprintf("[secrets]\n%065d = env:X\n", 0);
	expect_diag(long_name, 2, "not a secret name");
	cleanup_free char *max_name = xasprintf("[secrets]\n%064d = env:X\n", 0);
	parse_ok(max_name);
	expect_diag("[secrets]\nA = env:X\nB = env:Y\nA = env:Z\n", 4, "A is already defined at line 2");
}

Test(parse_secrets, bad_sources)
{
	expect_diag("[secrets]\nA = env:1X\n", 2, "env:1X is not a variable name");
	expect_diag("[secrets]\nA = env:\n", 2, "is not a variable name");
	expect_diag("[secrets]\nA = env:X*\n", 2, "is not a variable name");
	expect_diag("[secrets]\nA = file:key\n", 2, "must be an absolute path");
	expect_diag("[secrets]\nA = file:~/key\n", 2, "must be an absolute path");
	expect_diag("[secrets]\nA = file:/a/../key\n", 2, "file:/a/../key");
	expect_diag("[secrets]\nA = file:/\n", 2, "is not a file");
	expect_diag("[secrets]\nA = vault:x\n", 2, "expected env:VARIABLE or file:/ABSOLUTE/PATH");
	expect_diag("[secrets]\nA = NPM_TOKEN\n", 2, "expected env:VARIABLE");
}

Test(parse_secrets, at_most_64)
{
	buf_t b = {0};
	buf_puts(&b, "[secrets]\n");
	for (int i = 0; i < 65; i++)
		buf_printf(&b, "S%d = env:X\n", i);
	expect_diag(b.p, 66, "at most 64 secrets");
	buf_free(&b);
}

Test(parse, cpu_limit_in_thousandths)
{
	cr_expect_eq(parse_ok("[limits]\ncpu = 1.5\n")->cpu_milli, 1500);
}

Test(parse_errors, cpu_out_of_range_or_malformed)
{
	expect_diag("[limits]\ncpu = 0\n", 2, "cpu: must be between 0.01 and 4096");
	expect_diag("[limits]\ncpu = 0.001\n", 2, "cpu: must be between 0.01 and 4096");
	expect_diag("[limits]\ncpu = 5000\n", 2, "cpu: must be between 0.01 and 4096");
	expect_diag("[limits]\ncpu = 1.5G\n", 2, "cpu");
	expect_diag("[limits]\ncpu = 1.2345\n", 2, "at most three decimals");
}
