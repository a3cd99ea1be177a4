/* Unit tests for the seccomp profile format (policy/profile.c): the built-in
 * profiles, the syntax, every FILE:LINE error, and sc_action_text. */
#include <criterion/criterion.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "profile.h"
#include "util.h"

#define CLONE_NEWNS_V   0x00020000ULL
#define CLONE_NEWUSER_V 0x10000000ULL
#define TIOCSTI_V       0x5412ULL
#define TIOCLINUX_V     0x541CULL

#define FILE_NAME "test.profile"

/* Every parse goes through these so that the suite's fini frees them even
 * when an assertion ends the test early. */
static struct sc_profile *PR, *PR2;
static struct diags D;
static char *BIG;

static void teardown(void)
{
	profile_free(PR);
	PR = NULL;
	profile_free(PR2);
	PR2 = NULL;
	diags_free(&D);
	free(BIG);
	BIG = NULL;
}

TestSuite(builtin, .fini = teardown);
TestSuite(syntax, .fini = teardown);
TestSuite(errors, .fini = teardown);
TestSuite(action_text, .fini = teardown);
TestSuite(load, .fini = teardown);

static void dump_diags(void)
{
	diags_print(&D, STDERR_FILENO);
}

static struct sc_profile *parse(const char *text)
{
	profile_free(PR);
	PR = NULL;
	diags_free(&D);
	PR = profile_parse("test", FILE_NAME, text, &D);
	return PR;
}

static struct sc_profile *parse_ok(const char *text)
{
	parse(text);
	if (D.n)
		dump_diags();
	cr_assert_eq(D.n, 0, "expected no diagnostics, got %zu (first: line %d: %s) for:\n%s", D.n,
	             D.n ? D.v[0].line : 0, D.n ? D.v[0].msg : "", text);
	cr_assert_not_null(PR);
	return PR;
}

static const struct diag *find_diag(const char *file, int line, const char *needle)
{
	for (size_t i = 0; i < D.n; i++)
		if (strcmp(D.v[i].file, file) == 0 && D.v[i].line == line && strstr(D.v[i].msg, needle))
			return &D.v[i];
	return NULL;
}

/* Parses text and requires it to fail with a diagnostic at FILE_NAME:line
 * whose message contains needle. */
static void expect_error(const char *text, int line, const char *needle)
{
	parse(text);
	const struct diag *x = find_diag(FILE_NAME, line, needle);
	if (!x)
		dump_diags();
	cr_expect_null(PR, "profile_parse returned a profile despite an error in:\n%s", text);
	cr_expect_not_null(x, "expected a diagnostic at %s:%d containing \"%s\" for:\n%s", FILE_NAME, line, needle,
	                   text);
}

static struct sc_profile *parse_builtin(const char *name, struct sc_profile **out)
{
	const char *text = profile_builtin_text(name);
	cr_assert_not_null(text, "no built-in profile %s", name);
	char file[64];
	snprintf(file, sizeof(file), "seccomp-profiles/%s.profile", name);
	*out = profile_parse(name, file, text, &D);
	if (D.n)
		dump_diags();
	cr_assert_eq(D.n, 0, "built-in profile %s has %zu diagnostics", name, D.n);
	cr_assert_not_null(*out);
	return *out;
}

/* The 1-based line of text that holds exactly want (after trimming). */
static int line_of(const char *text, const char *want)
{
	int line = 0;
	for (const char *s = text; s && *s;) {
		line++;
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		if (n == strlen(want) && strncmp(s, want, n) == 0)
			return line;
		s = nl ? nl + 1 : NULL;
	}
	return -1;
}

static size_t count_rules(const struct sc_layer *ly, const char *syscall)
{
	size_t n = 0;
	for (size_t i = 0; i < ly->n_rules; i++)
		if (strcmp(ly->rules[i].syscall, syscall) == 0)
			n++;
	return n;
}

static const struct sc_rule *find_rule(const struct sc_layer *ly, const char *syscall)
{
	for (size_t i = 0; i < ly->n_rules; i++)
		if (strcmp(ly->rules[i].syscall, syscall) == 0)
			return &ly->rules[i];
	return NULL;
}

/* A rule for syscall with exactly one condition, as given. */
static const struct sc_rule *find_cond_rule(const struct sc_layer *ly, const char *syscall, unsigned arg, enum sc_op op,
                                            uint64_t mask, uint64_t value)
{
	for (size_t i = 0; i < ly->n_rules; i++) {
		const struct sc_rule *r = &ly->rules[i];
		if (strcmp(r->syscall, syscall) != 0 || r->n_conds != 1)
			continue;
		const struct sc_cond *c = &r->conds[0];
		if (c->arg == arg && c->op == op && c->value == value && (op != SC_MASKED_EQ || c->mask == mask))
			return r;
	}
	return NULL;
}

static void expect_action(const struct sc_action *a, enum sc_action_kind kind, int err)
{
	cr_expect_eq(a->kind, kind, "action kind %d, want %d", a->kind, kind);
	if (kind == SC_ERRNO)
		cr_expect_eq(a->err, err, "errno %d, want %d", a->err, err);
}

/* A rule with no conditions whose action is EPERM. */
static void expect_plain_deny(const struct sc_layer *ly, const char *syscall)
{
	const struct sc_rule *r = find_rule(ly, syscall);
	cr_assert_not_null(r, "no rule for %s", syscall);
	cr_expect_eq(count_rules(ly, syscall), 1, "%s has %zu rules", syscall, count_rules(ly, syscall));
	cr_expect_eq(r->n_conds, 0, "%s deny has conditions", syscall);
	expect_action(&r->action, SC_ERRNO, EPERM);
}

/* ---- built-in profiles ---- */

Test(builtin, texts_and_names)
{
	cr_expect_not_null(profile_builtin_text("default"));
	cr_expect_not_null(profile_builtin_text("strict"));
	cr_expect_not_null(profile_builtin_text("ci"));
	cr_expect_null(profile_builtin_text("none"));
	cr_expect_null(profile_builtin_text("nosuch"));
	cr_expect_null(profile_builtin_text(""));
	cr_expect_null(profile_builtin_text("default.profile"));
	cr_expect_str_eq(profile_builtin_names(), "ci, default, strict");
}

Test(builtin, every_builtin_parses_cleanly)
{
	const char *names[] = {"default", "strict", "ci"};
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		parse_builtin(names[i], &PR);
		cr_expect_str_eq(PR->name, names[i]);
		cr_expect_gt(PR->n_layers, 0);
		profile_free(PR);
		PR = NULL;
	}
}

Test(builtin, default_is_one_allow_layer)
{
	parse_builtin("default", &PR);
	cr_assert_eq(PR->n_layers, 1);
	expect_action(&PR->layers[0].def, SC_ALLOW, 0);
	/* Every rule denies something: none may repeat the default. */
	for (size_t i = 0; i < PR->layers[0].n_rules; i++)
		cr_expect_neq(PR->layers[0].rules[i].action.kind, SC_ALLOW, "%s", PR->layers[0].rules[i].text);
}

Test(builtin, default_denies_new_user_namespaces)
{
	parse_builtin("default", &PR);
	const struct sc_layer *ly = &PR->layers[0];
	const struct sc_rule *r = find_cond_rule(ly, "unshare", 0, SC_MASKED_EQ, CLONE_NEWUSER_V, CLONE_NEWUSER_V);
	cr_assert_not_null(r, "no unshare arg0&CLONE_NEWUSER==CLONE_NEWUSER rule");
	expect_action(&r->action, SC_ERRNO, EPERM);
	r = find_cond_rule(ly, "clone", 0, SC_MASKED_EQ, CLONE_NEWUSER_V, CLONE_NEWUSER_V);
	cr_assert_not_null(r, "no clone arg0&CLONE_NEWUSER==CLONE_NEWUSER rule");
	expect_action(&r->action, SC_ERRNO, EPERM);
	cr_expect_eq(r->nr, seccomp_syscall_resolve_name("clone"));
}

Test(builtin, default_clone3_is_enosys)
{
	parse_builtin("default", &PR);
	const struct sc_rule *r = find_rule(&PR->layers[0], "clone3");
	cr_assert_not_null(r);
	cr_expect_eq(count_rules(&PR->layers[0], "clone3"), 1);
	cr_expect_eq(r->n_conds, 0);
	expect_action(&r->action, SC_ERRNO, ENOSYS);
}

Test(builtin, default_plain_denials)
{
	parse_builtin("default", &PR);
	const char *denied[] = {"mount",      "umount2",           "pivot_root",     "setns",           "bpf",
	                        "ptrace",     "process_vm_readv",  "io_uring_setup", "io_uring_enter",  "keyctl",
	                        "add_key",    "open_by_handle_at", "userfaultfd",    "perf_event_open", "kexec_load",
	                        "init_module"};
	for (size_t i = 0; i < N_ELEMENTS(denied); i++)
		expect_plain_deny(&PR->layers[0], denied[i]);
}

Test(builtin, default_terminal_injection)
{
	parse_builtin("default", &PR);
	const struct sc_layer *ly = &PR->layers[0];
	cr_expect_eq(count_rules(ly, "ioctl"), 2);
	const struct sc_rule *sti = find_cond_rule(ly, "ioctl", 1, SC_MASKED_EQ, 0xffffffffULL, TIOCSTI_V);
	const struct sc_rule *lin = find_cond_rule(ly, "ioctl", 1, SC_MASKED_EQ, 0xffffffffULL, TIOCLINUX_V);
	cr_assert_not_null(sti, "no ioctl arg1&0xffffffff==TIOCSTI rule");
	cr_assert_not_null(lin, "no ioctl arg1&0xffffffff==TIOCLINUX rule");
	expect_action(&sti->action, SC_ERRNO, EPERM);
	expect_action(&lin->action, SC_ERRNO, EPERM);
}

Test(builtin, default_personality)
{
	parse_builtin("default", &PR);
	const struct sc_layer *ly = &PR->layers[0];
	cr_expect_eq(count_rules(ly, "personality"), 2);
	const struct sc_rule *le = find_cond_rule(ly, "personality", 0, SC_LE, 0, 0xfffffffeULL);
	const struct sc_rule *gt = find_cond_rule(ly, "personality", 0, SC_GT, 0, 0xffffffffULL);
	cr_assert_not_null(le, "no personality arg0<=0xfffffffe rule");
	cr_assert_not_null(gt, "no personality arg0>0xffffffff rule");
	expect_action(&le->action, SC_ERRNO, EPERM);
	expect_action(&gt->action, SC_ERRNO, EPERM);
}

Test(builtin, default_rules_carry_file_line_and_text)
{
	const char *text = profile_builtin_text("default");
	parse_builtin("default", &PR);
	const struct sc_layer *ly = &PR->layers[0];
	for (size_t i = 0; i < ly->n_rules; i++) {
		const struct sc_rule *r = &ly->rules[i];
		cr_expect_str_eq(r->file, "seccomp-profiles/default.profile");
		cr_expect_eq(r->line, line_of(text, r->text), "%s: line %d, want %d", r->text, r->line,
		             line_of(text, r->text));
		cr_expect_eq(r->nr, seccomp_syscall_resolve_name(r->syscall), "%s", r->syscall);
	}
	const struct sc_rule *r = find_cond_rule(ly, "ioctl", 1, SC_MASKED_EQ, 0xffffffffULL, TIOCSTI_V);
	cr_assert_not_null(r);
	cr_expect_str_eq(r->text, "ioctl deny arg1&0xffffffff==TIOCSTI");
}

Test(builtin, strict_is_an_allowlist_plus_default)
{
	parse_builtin("strict", &PR);
	cr_assert_eq(PR->n_layers, 2);
	const struct sc_layer *allow = &PR->layers[0];
	expect_action(&allow->def, SC_ERRNO, ENOSYS);
	cr_expect_gt(allow->n_rules, 100);
	for (size_t i = 0; i < allow->n_rules; i++) {
		expect_action(&allow->rules[i].action, SC_ALLOW, 0);
		cr_expect_eq(allow->rules[i].n_conds, 0, "%s", allow->rules[i].text);
		cr_expect_str_eq(allow->rules[i].file, "seccomp-profiles/strict.profile");
	}
	const char *allowed[] = {"ioctl", "clone", "clone3", "read", "write", "execve", "openat", "exit_group"};
	for (size_t i = 0; i < N_ELEMENTS(allowed); i++)
		cr_expect_not_null(find_rule(allow, allowed[i]), "strict does not allow %s", allowed[i]);
	const char *left_out[] = {"ptrace", "mount", "bpf", "setns", "io_uring_setup", "keyctl", "process_vm_readv"};
	for (size_t i = 0; i < N_ELEMENTS(left_out); i++)
		cr_expect_null(find_rule(allow, left_out[i]), "strict allows %s", left_out[i]);
}

Test(builtin, strict_second_layer_is_the_default_profile)
{
	parse_builtin("strict", &PR);
	parse_builtin("default", &PR2);
	cr_assert_eq(PR->n_layers, 2);
	const struct sc_layer *a = &PR->layers[1], *b = &PR2->layers[0];
	expect_action(&a->def, SC_ALLOW, 0);
	cr_assert_eq(a->n_rules, b->n_rules);
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct sc_rule *x = &a->rules[i], *y = &b->rules[i];
		cr_expect_str_eq(x->syscall, y->syscall);
		cr_expect_str_eq(x->text, y->text);
		cr_expect_eq(x->line, y->line, "%s: line %d, want %d (the line in default.profile)", x->text, x->line,
		             y->line);
		cr_expect_eq(x->action.kind, y->action.kind);
		cr_expect_eq(x->action.err, y->action.err);
		cr_expect_eq(x->n_conds, y->n_conds);
		cr_expect_eq(memcmp(x->conds, y->conds, sizeof(x->conds)), 0, "%s", x->text);
		/* Included rules name the profile they came from. */
		cr_expect(strstr(x->file, "default") != NULL, "%s: file %s", x->text, x->file);
	}
}

Test(builtin, ci_allows_ptrace_and_personality)
{
	parse_builtin("ci", &PR);
	parse_builtin("default", &PR2);
	cr_assert_eq(PR->n_layers, 1);
	const struct sc_layer *ly = &PR->layers[0];
	expect_action(&ly->def, SC_ALLOW, 0);
	cr_expect_eq(count_rules(ly, "ptrace"), 0);
	cr_expect_eq(count_rules(ly, "personality"), 0);
	cr_expect_eq(ly->n_rules, PR2->layers[0].n_rules - 3);
	const struct sc_rule *r = find_cond_rule(ly, "unshare", 0, SC_MASKED_EQ, CLONE_NEWUSER_V, CLONE_NEWUSER_V);
	cr_assert_not_null(r, "ci no longer denies unshare(CLONE_NEWUSER)");
	expect_action(&r->action, SC_ERRNO, EPERM);
	cr_expect_not_null(find_cond_rule(ly, "ioctl", 1, SC_MASKED_EQ, 0xffffffffULL, TIOCSTI_V));
	expect_plain_deny(ly, "process_vm_readv");
	expect_plain_deny(ly, "bpf");
}

/* ---- syntax ---- */

Test(syntax, minimal_profile)
{
	parse_ok("default allow\n");
	cr_expect_str_eq(PR->name, "test");
	cr_assert_eq(PR->n_layers, 1);
	cr_expect_eq(PR->layers[0].n_rules, 0);
	expect_action(&PR->layers[0].def, SC_ALLOW, 0);
}

Test(syntax, no_trailing_newline)
{
	parse_ok("default allow\nptrace deny");
	cr_assert_eq(PR->layers[0].n_rules, 1);
	cr_expect_eq(PR->layers[0].rules[0].line, 2);
}

Test(syntax, comments_and_blank_lines_are_ignored)
{
	parse_ok("# leading comment\n"
	         "\n"
	         "   \t \n"
	         "\tdefault allow   # trailing comment\n"
	         "\n"
	         "# ptrace deny\n"
	         "  ptrace deny # why\n"
	         "#\n"
	         "bpf deny#no space\n");
	cr_assert_eq(PR->n_layers, 1);
	const struct sc_layer *ly = &PR->layers[0];
	cr_assert_eq(ly->n_rules, 2);
	cr_expect_str_eq(ly->rules[0].syscall, "ptrace");
	cr_expect_eq(ly->rules[0].line, 7);
	cr_expect_str_eq(ly->rules[0].text, "ptrace deny");
	cr_expect_str_eq(ly->rules[1].syscall, "bpf");
	cr_expect_eq(ly->rules[1].line, 9);
	cr_expect_str_eq(ly->rules[1].text, "bpf deny");
}

Test(syntax, crlf_line_endings)
{
	parse_ok("default allow\r\nptrace deny\r\n\r\nbpf deny arg0==1\r\n");
	cr_assert_eq(PR->layers[0].n_rules, 2);
	cr_expect_str_eq(PR->layers[0].rules[0].text, "ptrace deny");
	cr_expect_str_eq(PR->layers[0].rules[1].text, "bpf deny arg0==1");
	cr_expect_eq(PR->layers[0].rules[1].line, 4);
	cr_expect_eq(PR->layers[0].rules[1].conds[0].value, 1);
}

Test(syntax, rule_fields)
{
	parse_ok("default allow\nptrace deny arg0==16\n");
	const struct sc_rule *r = &PR->layers[0].rules[0];
	cr_expect_str_eq(r->syscall, "ptrace");
	cr_expect_eq(r->nr, seccomp_syscall_resolve_name("ptrace"));
	cr_expect_geq(r->nr, 0);
	expect_action(&r->action, SC_ERRNO, EPERM);
	cr_assert_eq(r->n_conds, 1);
	cr_expect_eq(r->conds[0].arg, 0);
	cr_expect_eq(r->conds[0].op, SC_EQ);
	cr_expect_eq(r->conds[0].value, 16);
	cr_expect_str_eq(r->file, FILE_NAME);
	cr_expect_eq(r->line, 2);
}

Test(syntax, rule_text_is_normalised_for_explain)
{
	parse_ok("default allow\n   ioctl \t deny\t\targ1&0xffffffff==TIOCSTI    # no injection\n");
	const struct sc_rule *r = &PR->layers[0].rules[0];
	cr_expect_str_eq(r->text, "ioctl deny arg1&0xffffffff==TIOCSTI");
	cr_expect_eq(r->line, 2);
}

Test(syntax, every_operator)
{
	parse_ok("default allow\n"
	         "ptrace deny arg0==1 arg1!=2 arg2<3 arg3<=4 arg4>5 arg5>=6\n"
	         "ioctl deny arg1&0xff==0x12\n");
	const struct sc_rule *r = &PR->layers[0].rules[0];
	cr_assert_eq(r->n_conds, 6);
	const enum sc_op want[] = {SC_EQ, SC_NE, SC_LT, SC_LE, SC_GT, SC_GE};
	for (unsigned i = 0; i < 6; i++) {
		cr_expect_eq(r->conds[i].arg, i);
		cr_expect_eq(r->conds[i].op, want[i], "cond %u: op %d, want %d", i, r->conds[i].op, want[i]);
		cr_expect_eq(r->conds[i].value, i + 1);
	}
	const struct sc_rule *m = &PR->layers[0].rules[1];
	cr_assert_eq(m->n_conds, 1);
	cr_expect_eq(m->conds[0].arg, 1);
	cr_expect_eq(m->conds[0].op, SC_MASKED_EQ);
	cr_expect_eq(m->conds[0].mask, 0xff);
	cr_expect_eq(m->conds[0].value, 0x12);
}

Test(syntax, number_bases)
{
	parse_ok("default allow\n"
	         "ptrace deny arg0==0x1F arg1==31 arg2==037 arg3==0 arg4==0xffffffffffffffff arg5==0X10\n");
	const struct sc_rule *r = &PR->layers[0].rules[0];
	cr_assert_eq(r->n_conds, 6);
	cr_expect_eq(r->conds[0].value, 31);
	cr_expect_eq(r->conds[1].value, 31);
	cr_expect_eq(r->conds[2].value, 31);
	cr_expect_eq(r->conds[3].value, 0);
	cr_expect_eq(r->conds[4].value, UINT64_MAX);
	cr_expect_eq(r->conds[5].value, 16);
}

Test(syntax, constants_and_or)
{
	parse_ok("default allow\n"
	         "unshare deny arg0&CLONE_NEWUSER|CLONE_NEWNS==CLONE_NEWUSER|CLONE_NEWNS\n"
	         "ioctl deny arg1==TIOCSTI|0x10000\n"
	         "socket deny arg0==AF_NETLINK\n");
	const struct sc_rule *r = &PR->layers[0].rules[0];
	cr_assert_eq(r->n_conds, 1);
	cr_expect_eq(r->conds[0].op, SC_MASKED_EQ);
	cr_expect_eq(r->conds[0].mask, CLONE_NEWUSER_V | CLONE_NEWNS_V);
	cr_expect_eq(r->conds[0].value, CLONE_NEWUSER_V | CLONE_NEWNS_V);
	cr_expect_eq(PR->layers[0].rules[1].conds[0].value, TIOCSTI_V | 0x10000);
	cr_expect_eq(PR->layers[0].rules[2].conds[0].value, 16); /* AF_NETLINK */
}

Test(syntax, masked_value_may_be_a_subset_of_the_mask)
{
	parse_ok("default allow\nclone deny arg0&CLONE_NEWUSER|CLONE_NEWNS==CLONE_NEWNS\nclone deny arg0&0xff==0\n");
	cr_expect_eq(PR->layers[0].rules[0].conds[0].value, CLONE_NEWNS_V);
	cr_expect_eq(PR->layers[0].rules[1].conds[0].value, 0);
}

Test(syntax, every_action)
{
	parse_ok("default allow\n"
	         "ptrace deny\n"
	         "bpf enosys\n"
	         "mount errno:EACCES\n"
	         "keyctl kill\n"
	         "acct log\n"
	         "default kill\n"
	         "read allow\n");
	cr_assert_eq(PR->n_layers, 2);
	const struct sc_layer *ly = &PR->layers[0];
	cr_assert_eq(ly->n_rules, 5);
	expect_action(&ly->rules[0].action, SC_ERRNO, EPERM);
	expect_action(&ly->rules[1].action, SC_ERRNO, ENOSYS);
	expect_action(&ly->rules[2].action, SC_ERRNO, EACCES);
	expect_action(&ly->rules[3].action, SC_KILL, 0);
	expect_action(&ly->rules[4].action, SC_LOG, 0);
	expect_action(&PR->layers[1].def, SC_KILL, 0);
	expect_action(&PR->layers[1].rules[0].action, SC_ALLOW, 0);
}

Test(syntax, errno_names)
{
	parse_ok("default allow\n"
	         "ptrace errno:EPERM\n"
	         "bpf errno:ENOSYS\n"
	         "mount errno:EINVAL\n"
	         "socket errno:EAFNOSUPPORT\n");
	const struct sc_layer *ly = &PR->layers[0];
	expect_action(&ly->rules[0].action, SC_ERRNO, EPERM);
	expect_action(&ly->rules[1].action, SC_ERRNO, ENOSYS);
	expect_action(&ly->rules[2].action, SC_ERRNO, EINVAL);
	expect_action(&ly->rules[3].action, SC_ERRNO, EAFNOSUPPORT);
}

/* Any name the C library knows, not a short list; an alias means the
 * number of the name it stands for. */
Test(syntax, every_errno_name_the_c_library_knows)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
	    {"EPERM", EPERM},
	    {"ENOSYS", ENOSYS},
	    {"EACCES", EACCES},
	    {"EAFNOSUPPORT", EAFNOSUPPORT},
	    {"EOPNOTSUPP", EOPNOTSUPP},
	    {"ENOTSUP", EOPNOTSUPP},
	    {"EWOULDBLOCK", EAGAIN},
	    {"EAGAIN", EAGAIN},
	    {"EDEADLOCK", EDEADLK},
	    {"EXDEV", EXDEV},
	    {"E2BIG", E2BIG},
	    {"ENOTTY", ENOTTY},
	    {"ECONNREFUSED", ECONNREFUSED},
	    {"EMFILE", EMFILE},
	    {"ENOTRECOVERABLE", ENOTRECOVERABLE},
	    {"EHWPOISON", EHWPOISON},
	};
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		char text[128];
		snprintf(text, sizeof(text), "default allow\nptrace errno:%s\ndefault errno:%s\nexecve allow\n",
		         names[i].name, names[i].name);
		parse_ok(text);
		expect_action(&PR->layers[0].rules[0].action, SC_ERRNO, names[i].value);
		expect_action(&PR->layers[1].def, SC_ERRNO, names[i].value);
		int err = 0;
		cr_expect(profile_errno_from_name(names[i].name, &err), "%s not known", names[i].name);
		cr_expect_eq(err, names[i].value, "%s is %d, want %d", names[i].name, err, names[i].value);
	}
	/* Every name the lookup answers with maps back to its number. */
	for (int e = 1; e < 4096; e++) {
		const char *name = strerrorname_np(e);
		int err = 0;
		if (name)
			cr_expect(profile_errno_from_name(name, &err) && err == e, "%s (%d) gives %d", name, e, err);
	}
}

Test(syntax, layers_stack_in_order)
{
	parse_ok("default enosys\nread allow\nioctl allow\ndefault allow\nioctl deny arg1==1\n");
	cr_assert_eq(PR->n_layers, 2);
	expect_action(&PR->layers[0].def, SC_ERRNO, ENOSYS);
	cr_expect_eq(PR->layers[0].n_rules, 2);
	expect_action(&PR->layers[1].def, SC_ALLOW, 0);
	cr_expect_eq(PR->layers[1].n_rules, 1);
}

Test(syntax, include_appends_the_builtin_layers)
{
	parse_builtin("default", &PR2);
	parse_ok("default enosys\nread allow\ninclude default\n");
	cr_assert_eq(PR->n_layers, 2);
	cr_expect_eq(PR->layers[0].n_rules, 1);
	cr_expect_eq(PR->layers[1].n_rules, PR2->layers[0].n_rules);
	expect_action(&PR->layers[1].def, SC_ALLOW, 0);
}

Test(syntax, include_strict_nests_default)
{
	parse_ok("include strict\n");
	cr_expect_eq(PR->n_layers, 2);
}

Test(syntax, rules_after_include_go_to_the_included_last_layer)
{
	parse_ok("include default\nsyslog deny\nchroot enosys\n");
	cr_assert_eq(PR->n_layers, 1);
	const struct sc_layer *ly = &PR->layers[0];
	cr_expect_eq(count_rules(ly, "syslog"), 2);
	const struct sc_rule *last = &ly->rules[ly->n_rules - 1];
	cr_expect_str_eq(last->syscall, "chroot");
	cr_expect_str_eq(last->file, FILE_NAME);
	cr_expect_eq(last->line, 3);
}

Test(syntax, unset_removes_rules_from_every_earlier_layer)
{
	parse_ok("default allow\n"
	         "ptrace deny\n"
	         "ioctl deny arg1==1\n"
	         "ptrace deny arg0==7\n"
	         "default enosys\n"
	         "ptrace allow\n"
	         "read allow\n"
	         "unset ptrace\n");
	cr_assert_eq(PR->n_layers, 2);
	cr_expect_eq(count_rules(&PR->layers[0], "ptrace"), 0);
	cr_expect_eq(count_rules(&PR->layers[1], "ptrace"), 0);
	cr_assert_eq(PR->layers[0].n_rules, 1);
	cr_expect_str_eq(PR->layers[0].rules[0].syscall, "ioctl");
	cr_assert_eq(PR->layers[1].n_rules, 1);
	cr_expect_str_eq(PR->layers[1].rules[0].syscall, "read");
	/* the layers themselves stay */
	expect_action(&PR->layers[1].def, SC_ERRNO, ENOSYS);
}

Test(syntax, unset_does_not_affect_later_rules)
{
	parse_ok("default allow\nptrace deny\nunset ptrace\nptrace deny arg0==1\nunset bpf\n");
	cr_assert_eq(PR->layers[0].n_rules, 1);
	cr_expect_eq(PR->layers[0].rules[0].line, 4);
	cr_expect_eq(PR->layers[0].rules[0].n_conds, 1);
}

Test(syntax, unset_after_include)
{
	parse_builtin("default", &PR2);
	parse_ok("include default\nunset ioctl\n");
	cr_expect_eq(count_rules(&PR->layers[0], "ioctl"), 0);
	cr_expect_eq(PR->layers[0].n_rules, PR2->layers[0].n_rules - 2);
}

Test(syntax, unset_before_any_layer_is_harmless)
{
	parse_ok("unset ptrace\ndefault allow\nptrace deny\n");
	cr_expect_eq(PR->layers[0].n_rules, 1);
}

Test(syntax, six_conditions_are_allowed)
{
	parse_ok("default allow\nptrace deny arg0==0 arg1==1 arg2==2 arg3==3 arg4==4 arg5==5\n");
	cr_expect_eq(PR->layers[0].rules[0].n_conds, 6);
}

Test(syntax, earlier_diagnostics_do_not_fail_a_valid_profile)
{
	diags_add(&D, "other", 1, "unrelated");
	PR = profile_parse("test", FILE_NAME, "default allow\n", &D);
	cr_expect_not_null(PR);
	cr_expect_eq(D.n, 1);
}

/* ---- errors ---- */

Test(errors, unknown_syscall)
{
	expect_error("default allow\nptrace deny\nfrobnicate deny\n", 3, "unknown syscall 'frobnicate'");
	expect_error("default allow\nPTRACE deny\n", 2, "unknown syscall");
}

Test(errors, unknown_or_missing_action)
{
	expect_error("default allow\nptrace forbid\n", 2, "expected an action");
	expect_error("default allow\nptrace\n", 2, "expected an action");
	expect_error("default allow\nptrace Deny\n", 2, "expected an action");
	expect_error("default allow\nptrace arg0==1\n", 2, "expected an action");
}

Test(errors, errno_names)
{
	expect_error("default allow\nptrace errno:EBOGUS\n", 2, "ptrace: unknown errno name 'EBOGUS'");
	expect_error("default allow\nptrace errno:\n", 2, "unknown errno name ''");
	/* names are case-sensitive, as in C */
	expect_error("default allow\nptrace errno:eacces\n", 2, "unknown errno name 'eacces'");
	/* a number is not a name */
	expect_error("default allow\nptrace errno:13\n", 2, "unknown errno name '13'");
	expect_error("default allow\nptrace errno:EACCES \nbpf errno:ENOSUCH\n", 3, "unknown errno name 'ENOSUCH'");
	expect_error("default errno:EBOGUS\n", 1, "default: unknown errno name 'EBOGUS'");
	cr_expect_not(profile_errno_from_name("EBOGUS", &(int){0}));
	cr_expect_not(profile_errno_from_name("", &(int){0}));
}

Test(errors, bad_conditions)
{
	const char *bad[] = {
	    "arg6==1",                   /* argument out of range */
	    "argX==1",                   /* not a number */
	    "arg==1",                    /* no argument number */
	    "arg0=1",                    /* not an operator */
	    "arg0=>1",                   /* not an operator */
	    "arg0&0xff",                 /* masked without == */
	    "arg0&0xff!=1",              /* masked takes only == */
	    "arg0==foo",                 /* not a number or a constant */
	    "arg0==1x",                  /* trailing junk */
	    "arg0==-1",                  /* negative */
	    "arg0==+1",                  /* sign */
	    "arg0==08",                  /* bad octal */
	    "arg0==0x",                  /* no hex digits */
	    "arg0==1|",                  /* dangling | */
	    "arg0==|1",                  /* empty first part */
	    "arg0==1||2",                /* empty middle part */
	    "arg0==clone_newuser",       /* constants are case-sensitive */
	    "arg0==0x10000000000000000", /* over 64 bits */
	    "arg00==1",                  /* two digits */
	    "ARG0==1",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		char text[256];
		snprintf(text, sizeof(text), "default allow\n\nptrace deny %s\n", bad[i]);
		expect_error(text, 3, "bad condition");
		teardown();
	}
}

/* V and M must be values: "argN==" with nothing after it is not argN==0. */
Test(errors, empty_values)
{
	const char *bad[] = {"arg0==", "arg0!=", "arg0<=", "arg0>", "arg0&0xff==", "arg0&==0"};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		char text[128];
		snprintf(text, sizeof(text), "default allow\nptrace deny %s\n", bad[i]);
		expect_error(text, 2, "bad condition");
		teardown();
	}
}

Test(errors, value_bits_outside_the_mask)
{
	expect_error("default allow\nioctl deny arg1&0xff==0x100\n", 2, "arg1&0xff==0x100");
	expect_error("default allow\nunshare deny arg0&CLONE_NEWNS==CLONE_NEWUSER\n", 2, "bad condition");
	expect_error("default allow\nunshare deny arg0&0==1\n", 2, "bad condition");
}

Test(errors, two_conditions_on_one_argument)
{
	expect_error("default allow\npersonality deny arg0>=1 arg0<=5\n", 2, "two conditions on arg0");
	expect_error("default allow\nioctl deny arg0==1 arg1==2 arg1&0xff==2\n", 2, "two conditions on arg1");
}

Test(errors, more_than_six_conditions)
{
	expect_error("default allow\nptrace deny arg0==0 arg1==1 arg2==2 arg3==3 arg4==4 arg5==5 arg0==6\n", 2,
	             "at most 6 conditions");
	/* far too many fields on one line is still an error at that line */
	expect_error("default allow\n\nptrace deny arg0==0 arg1==1 arg2==2 arg3==3 arg4==4 arg5==5 arg0==6 "
	             "arg1==7 arg2==8 arg3==9\n",
	             3, "");
}

Test(errors, rule_before_default)
{
	expect_error("ptrace deny\ndefault allow\n", 1, "before the first `default`");
	expect_error("# comment\n\nptrace deny\ndefault allow\n", 3, "before the first `default`");
}

Test(errors, rule_repeats_the_layer_default)
{
	expect_error("default allow\nread allow\n", 2, "same as this layer's default");
	expect_error("default deny\nptrace errno:EPERM\n", 2, "same as this layer's default");
	expect_error("default enosys\nread allow\nptrace enosys\n", 3, "same as this layer's default");
	expect_error("default errno:EACCES\nptrace errno:EACCES\n", 2, "same as this layer's default");
	expect_error("default allow\nptrace deny\ndefault kill\nptrace kill arg0==1\n", 4, "same as");
	/* another errno than the default's is a different action */
	parse_ok("default deny\nptrace errno:EACCES\nbpf enosys\n");
}

Test(errors, include_unknown_profile)
{
	expect_error("default allow\ninclude nosuch\n", 2, "include: expected a built-in profile");
	expect_error("include\n", 1, "include");
	expect_error("include default strict\n", 1, "include");
	expect_error("include none\n", 1, "include");
	expect_error("include /etc/cordon/x.profile\n", 1, "include");
}

Test(errors, include_names_the_builtins)
{
	expect_error("include nosuch\n", 1, "ci, default, strict");
}

/* MAX_INCLUDE_DEPTH cannot be reached with the built-in profiles alone
 * (strict -> default is the deepest chain, and no profile includes
 * itself), so "include: nested too deeply" is not tested here. */

Test(errors, default_without_or_with_two_actions)
{
	expect_error("default\n", 1, "default: expected one action");
	expect_error("# x\ndefault allow deny\n", 2, "default: expected one action");
	expect_error("default forbid\n", 1, "default: expected one action");
}

Test(errors, no_default_line_at_all)
{
	const char *texts[] = {"", "\n\n", "# only a comment\n", "unset ptrace\n"};
	for (size_t i = 0; i < N_ELEMENTS(texts); i++) {
		expect_error(texts[i], 0, "no `default` line");
		cr_expect_eq(D.n, 1);
		teardown();
	}
}

Test(errors, unset_arity)
{
	expect_error("default allow\nunset\n", 2, "unset: expected one syscall name");
	expect_error("default allow\nunset ptrace bpf\n", 2, "unset: expected one syscall name");
}

/* A typo in unset would silently leave the rules in place; profile.c
 * promises that a syscall name typo is a FILE:LINE error. */
Test(errors, unset_of_an_unknown_syscall)
{
	expect_error("include default\nunset ptrac\n", 2, "ptrac");
}

Test(errors, line_too_long)
{
	size_t n = 5000;
	BIG = xmalloc(n + 64);
	strcpy(BIG, "default allow\nptrace deny ");
	size_t off = strlen(BIG);
	memset(BIG + off, ' ', n);
	strcpy(BIG + off + n, "arg0==1\n");
	expect_error(BIG, 2, "line too long");
}

Test(errors, every_error_is_reported_at_its_line)
{
	parse("default allow\n"
	      "bogus deny\n"
	      "ptrace maybe\n"
	      "ptrace deny arg7==1\n"
	      "bpf deny\n"
	      "read allow\n"
	      "include nope\n");
	cr_expect_null(PR);
	cr_expect_eq(D.n, 5);
	cr_expect_not_null(find_diag(FILE_NAME, 2, "unknown syscall"));
	cr_expect_not_null(find_diag(FILE_NAME, 3, "expected an action"));
	cr_expect_not_null(find_diag(FILE_NAME, 4, "bad condition"));
	cr_expect_not_null(find_diag(FILE_NAME, 6, "same as"));
	cr_expect_not_null(find_diag(FILE_NAME, 7, "include"));
}

Test(errors, line_numbers_continue_after_an_include)
{
	expect_error("include default\n\nfrobnicate deny\n", 3, "unknown syscall");
	cr_expect_eq(D.n, 1);
}

/* ---- profile_load: what a policy names, as the launcher will use it ---- */

#define POLICY_FILE "pol.ini"
#define POLICY_LINE 7

/* A file system of one file, whose text may hold NUL bytes. */
static struct {
	const char *path;
	const char *text;
	size_t len;
} FAKE;

static char *fake_read(void *ctx, const char *path, size_t *len, char **why)
{
	(void)ctx;
	if (!FAKE.path || strcmp(path, FAKE.path) != 0) {
		*why = xstrdup("No such file or directory");
		return NULL;
	}
	char *text = xmalloc(FAKE.len + 1);
	memcpy(text, FAKE.text, FAKE.len);
	text[FAKE.len] = '\0';
	*len = FAKE.len;
	return text;
}

static struct sc_profile *load_text(const char *text, size_t len)
{
	profile_free(PR);
	PR = NULL;
	diags_free(&D);
	FAKE.path = "/etc/cordon/mine.profile";
	FAKE.text = text;
	FAKE.len = len;
	PR = profile_load(FAKE.path, POLICY_FILE, POLICY_LINE, fake_read, NULL, &D);
	return PR;
}

static struct sc_profile *load(const char *text)
{
	return load_text(text, strlen(text));
}

static void expect_load_error(const char *text, const char *file, int line, const char *needle)
{
	load(text);
	const struct diag *x = find_diag(file, line, needle);
	if (!x)
		dump_diags();
	cr_expect_null(PR, "profile_load returned a profile despite an error in:\n%s", text);
	cr_expect_not_null(x, "expected a diagnostic at %s:%d containing \"%s\" for:\n%s", file, line, needle, text);
}

static void expect_load_ok(const char *text)
{
	load(text);
	if (D.n)
		dump_diags();
	cr_expect_eq(D.n, 0, "expected no diagnostics for:\n%s", text);
	cr_expect_not_null(PR);
}

Test(load, none_and_builtins)
{
	cr_expect_null(profile_load("none", POLICY_FILE, POLICY_LINE, fake_read, NULL, &D));
	cr_expect_eq(D.n, 0);
	const char *names[] = {"default", "strict", "ci"};
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		profile_free(PR);
		PR = profile_load(names[i], POLICY_FILE, POLICY_LINE, fake_read, NULL, &D);
		if (D.n)
			dump_diags();
		cr_expect_eq(D.n, 0, "built-in %s", names[i]);
		cr_expect_not_null(PR, "built-in %s", names[i]);
	}
}

Test(load, unknown_builtin_is_named_at_the_policy_key)
{
	cr_expect_null(profile_load("paranoid", POLICY_FILE, POLICY_LINE, fake_read, NULL, &D));
	cr_expect_not_null(find_diag(POLICY_FILE, POLICY_LINE, "unknown profile 'paranoid'"));
}

Test(load, unreadable_file_is_named_at_the_policy_key)
{
	cr_expect_null(profile_load("/nowhere.profile", POLICY_FILE, POLICY_LINE, fake_read, NULL, &D));
	cr_expect_not_null(find_diag(POLICY_FILE, POLICY_LINE, "seccomp profile /nowhere.profile: No such file"));
}

Test(load, file_is_parsed_with_its_own_name)
{
	expect_load_ok("default allow\nptrace deny\n");
	cr_expect_str_eq(PR->layers[0].rules[0].file, "/etc/cordon/mine.profile");
	expect_load_error("default allow\nptrace forbid\n", "/etc/cordon/mine.profile", 2, "expected an action");
}

/* The parser stops at a NUL: without this, the rules after it would
 * vanish. */
Test(load, nul_byte_is_refused_with_its_line)
{
	static const char text[] = "default allow\nptrace deny\nbpf\0deny\nmount deny\n";
	load_text(text, sizeof(text) - 1);
	cr_expect_null(PR);
	cr_expect_not_null(find_diag("/etc/cordon/mine.profile", 3, "NUL byte"));
	static const char first[] = "\0default allow\n";
	load_text(first, sizeof(first) - 1);
	cr_expect_null(PR);
	cr_expect_not_null(find_diag("/etc/cordon/mine.profile", 1, "NUL byte"));
}

/* execve follows the filters: a layer that does not surely let it through
 * could never start a command. */
Test(load, every_layer_must_allow_execve)
{
	expect_load_error("default enosys\nread allow\n", "/etc/cordon/mine.profile", 1, "execve");
	expect_load_error("default allow\nexecve deny\n", "/etc/cordon/mine.profile", 1, "execve");
	expect_load_error("default allow\nexecve kill\n", "/etc/cordon/mine.profile", 1, "execve");
	/* a condition on a pointer argument may or may not hold */
	expect_load_error("default allow\nexecve deny arg1==0\n", "/etc/cordon/mine.profile", 1, "execve");
	expect_load_error("default enosys\nexecve allow arg0!=0\n", "/etc/cordon/mine.profile", 1, "execve");
	/* the second layer, from its own `default` line */
	expect_load_error("default allow\n\ndefault deny\nread allow\n", "/etc/cordon/mine.profile", 3, "execve");
	/* controls */
	expect_load_ok("default enosys\nexecve allow\n");
	expect_load_ok("default enosys\nexecve log\n");
	expect_load_ok("default allow\nexecveat deny\n");
	/* an unconditional rule overrides the conditional ones */
	expect_load_ok("default enosys\nexecve deny arg1==0\nexecve allow\n");
	/* unset drops an earlier refusal */
	expect_load_ok("default allow\nexecve deny\nunset execve\n");
}

/* Each layer after the first is loaded with seccomp(), under the layers
 * before it. */
Test(load, every_layer_but_the_last_must_allow_seccomp)
{
	expect_load_error("default enosys\nexecve allow\ndefault allow\nmount deny\n", "/etc/cordon/mine.profile", 1,
	                  "loads layer 2");
	expect_load_error("default allow\nseccomp deny\ndefault allow\nmount deny\n", "/etc/cordon/mine.profile", 1,
	                  "seccomp allow");
	expect_load_error("default allow\ndefault allow\nseccomp errno:EACCES\ndefault allow\n",
	                  "/etc/cordon/mine.profile", 2, "loads layer 3");
	/* conditions on the operation and the flags are evaluated; cordon's
	 * call is seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) */
	expect_load_ok("default enosys\nexecve allow\nseccomp allow arg0==1\ndefault allow\n");
	expect_load_ok("default enosys\nexecve allow\nseccomp allow arg0==1 arg1==0\ndefault allow\n");
	expect_load_ok("default allow\nseccomp deny arg0==0\ndefault allow\n");
	expect_load_ok("default allow\nseccomp deny arg1&1==1\ndefault allow\n");
	expect_load_error("default enosys\nexecve allow\nseccomp allow arg0==0\ndefault allow\n",
	                  "/etc/cordon/mine.profile", 1, "seccomp");
	expect_load_error("default allow\nseccomp deny arg1==0\ndefault allow\n", "/etc/cordon/mine.profile", 1,
	                  "seccomp");
	/* the program's address is not known */
	expect_load_error("default allow\nseccomp deny arg2!=0\ndefault allow\n", "/etc/cordon/mine.profile", 1,
	                  "seccomp");
	/* the last layer is loaded by the call the others filter: it may
	 * refuse seccomp, and so may a single layer */
	expect_load_ok("default allow\ndefault allow\nseccomp deny\n");
	expect_load_ok("default enosys\nexecve allow\n");
	expect_load_ok("default enosys\nexecve allow\nseccomp allow\ndefault allow\nmount deny\n");
}

/* The launcher's job holds SC_MAX_LAYERS programs; more is a FILE:LINE
 * error, not a failure at run time only. */
Test(load, at_most_four_layers)
{
	expect_load_ok("default allow\ndefault allow\ndefault allow\ndefault allow\n");
	expect_load_error("default allow\ndefault allow\ndefault allow\ndefault allow\ndefault allow\n",
	                  "/etc/cordon/mine.profile", 5, "more than 4 layers");
	/* include counts its layers too: strict has two */
	expect_load_error("include strict\ninclude strict\ndefault allow\n", "/etc/cordon/mine.profile", 3,
	                  "more than 4 layers");
}

/* A pinned command_sha256 starts the command with execveat: each layer
 * that may refuse it is a FILE:LINE error (profile_require_execveat). */
Test(load, a_pinned_hash_needs_execveat)
{
	expect_load_ok("default enosys\nexecve allow\n");
	profile_require_execveat(PR, "pinned", &D);
	cr_expect_eq(D.n, 1, "one layer refuses execveat");
	cr_expect_not_null(find_diag("/etc/cordon/mine.profile", 1,
	                             "may refuse execveat, which starts the command when "
	                             "pinned"));
	expect_load_ok("default allow\nexecveat deny arg4==0\n");
	profile_require_execveat(PR, "pinned", &D);
	cr_expect_not_null(find_diag("/etc/cordon/mine.profile", 1, "execveat"), "a condition that may hold");
	/* controls: allowed, and every built-in profile */
	expect_load_ok("default enosys\nexecve allow\nexecveat allow\n");
	profile_require_execveat(PR, "pinned", &D);
	cr_expect_eq(D.n, 0);
	const char *names[] = {"default", "strict", "ci"};
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		profile_free(PR);
		PR = profile_load(names[i], POLICY_FILE, POLICY_LINE, fake_read, NULL, &D);
		cr_assert_not_null(PR);
		profile_require_execveat(PR, "pinned", &D);
		cr_expect_eq(D.n, 0, "built-in %s refuses execveat", names[i]);
	}
}

/* The no-set-ID layer goes first, even in front of a profile of the most
 * layers a profile may have; with profile = none it is the only one. */
Test(load, no_setid_layer_goes_first)
{
	expect_load_ok("default allow\ndefault allow\ndefault allow\ndefault enosys\nexecve allow\n");
	PR = profile_add_no_setid(PR, "mine", &D);
	cr_assert_not_null(PR);
	cr_expect_eq(D.n, 0);
	cr_expect(PR->no_setid);
	cr_assert_eq(PR->n_layers, SC_MAX_LAYERS + 1);
	cr_expect_str_eq(PR->layers[0].file, NO_SETID_FILE);
	cr_expect_eq(PR->layers[4].def.kind, SC_ERRNO, "the profile's last layer stays last");
	profile_free(PR);
	PR = profile_add_no_setid(NULL, "none", &D);
	cr_assert_not_null(PR);
	cr_expect_str_eq(PR->name, "none");
	cr_expect_eq(PR->n_layers, 1);
}

/* ---- sc_action_text ---- */

static const char *action_text(enum sc_action_kind kind, int err, char *buf, size_t n)
{
	struct sc_action a = {kind, err};
	return sc_action_text(&a, buf, n);
}

Test(action_text, each_kind)
{
	char buf[64];
	cr_expect_str_eq(action_text(SC_ALLOW, 0, buf, sizeof(buf)), "allow");
	cr_expect_str_eq(action_text(SC_KILL, 0, buf, sizeof(buf)), "kill");
	cr_expect_str_eq(action_text(SC_LOG, 0, buf, sizeof(buf)), "log");
	cr_expect_str_eq(action_text(SC_ERRNO, EPERM, buf, sizeof(buf)), "deny");
	cr_expect_str_eq(action_text(SC_ERRNO, ENOSYS, buf, sizeof(buf)), "enosys");
	cr_expect_str_eq(action_text(SC_ERRNO, EACCES, buf, sizeof(buf)), "errno:EACCES");
	cr_expect_str_eq(action_text(SC_ERRNO, EINVAL, buf, sizeof(buf)), "errno:EINVAL");
	cr_expect_str_eq(action_text(SC_ERRNO, ENOENT, buf, sizeof(buf)), "errno:ENOENT");
	cr_expect_str_eq(action_text(SC_ERRNO, EOPNOTSUPP, buf, sizeof(buf)), "errno:EOPNOTSUPP");
	cr_expect_str_eq(action_text(SC_ERRNO, EAFNOSUPPORT, buf, sizeof(buf)), "errno:EAFNOSUPPORT");
	cr_expect_str_eq(action_text(SC_ERRNO, EPROTONOSUPPORT, buf, sizeof(buf)), "errno:EPROTONOSUPPORT");
	cr_expect_str_eq(action_text(SC_ERRNO, EXDEV, buf, sizeof(buf)), "errno:EXDEV");
	/* an alias reads back as the C library's name for the number */
	cr_expect_str_eq(action_text(SC_ERRNO, EWOULDBLOCK, buf, sizeof(buf)), "errno:EAGAIN");
	cr_expect_str_eq(action_text(SC_ERRNO, 9999, buf, sizeof(buf)), "errno:9999");
}

Test(action_text, small_buffer_is_truncated_not_overrun)
{
	char buf[9];
	memset(buf, 'x', sizeof(buf));
	const char *s = action_text(SC_ERRNO, EPROTONOSUPPORT, buf, sizeof(buf));
	cr_expect_eq(s, buf);
	cr_expect_str_eq(buf, "errno:EP");
}

/* Every action written in a profile reads back as written (errno:EPERM and
 * errno:ENOSYS read back as their short names). */
Test(action_text, round_trip_through_the_parser)
{
	const char *words[][2] = {{"deny", "deny"},
	                          {"enosys", "enosys"},
	                          {"kill", "kill"},
	                          {"log", "log"},
	                          {"errno:EACCES", "errno:EACCES"},
	                          {"errno:ENOENT", "errno:ENOENT"},
	                          {"errno:EPERM", "deny"},
	                          {"errno:ENOSYS", "enosys"}};
	for (size_t i = 0; i < N_ELEMENTS(words); i++) {
		char text[128], buf[64];
		snprintf(text, sizeof(text), "default allow\nptrace %s\ndefault %s\n", words[i][0], words[i][0]);
		parse_ok(text);
		cr_expect_str_eq(sc_action_text(&PR->layers[0].rules[0].action, buf, sizeof(buf)), words[i][1]);
		cr_expect_str_eq(sc_action_text(&PR->layers[1].def, buf, sizeof(buf)), words[i][1]);
	}
	parse_ok("default allow\n");
	char buf[16];
	cr_expect_str_eq(sc_action_text(&PR->layers[0].def, buf, sizeof(buf)), "allow");
}
