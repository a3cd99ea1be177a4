/* Unit tests for the kernel-facing layers of plan_build (policy/plan.c):
 * the seccomp profile it picks, the Landlock rules and TCP ports it derives
 * from the mounts, and the hard-link check on guarded paths, with a fake
 * host file system in memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "policy.h"
#include "profile.h"
#include "util.h"

/* ---- the fake host ---- */

struct fake_entry {
	const char *path;
	enum path_state state;
};

static const struct fake_entry base_fs[] = {
    {"/usr", PATH_DIR},
    {"/usr/lib", PATH_DIR},
    {"/etc", PATH_DIR},
    {"/etc/shadow", PATH_FILE},
    {"/etc/cordon/seccomp", PATH_DIR},
    {"/etc/cordon/seccomp/mine.profile", PATH_FILE},
    {"/etc/cordon/seccomp/broken.profile", PATH_FILE},
    {"/etc/cordon/seccomp/unreadable.profile", PATH_FILE},
    {"/etc/cordon/seccomp/nul.profile", PATH_FILE},
    {"/etc/cordon/seccomp/noexec.profile", PATH_FILE},
    {"/etc/cordon/seccomp/strict.profile", PATH_FILE},
    {"/opt/tools", PATH_DIR},
    {"/tmp", PATH_DIR},
    {"/var/cache/pi", PATH_DIR},
    {"/srv/agent-home", PATH_DIR},
    {"/home/alice", PATH_DIR},
    {"/home/alice/src", PATH_DIR},
    {"/home/alice/src/proj", PATH_DIR},
    {"/home/alice/src/proj/.env", PATH_FILE},
    {"/home/alice/src/proj/secrets", PATH_DIR},
    {"/home/alice/src/proj/.git", PATH_DIR},
    {"/home/alice/src/proj/.git/hooks", PATH_DIR},
};

#define MINE_TEXT   "# mine\ndefault allow\nptrace deny\nbpf enosys\n"
#define BROKEN_TEXT "default allow\n\nptrace forbid\n"
/* A NUL on line 3: the parser alone would see only two lines. */
#define NUL_TEXT    "default allow\nptrace deny\nbpf\0 deny\n"
#define NOEXEC_TEXT "default deny\nread allow\n"
/* An installed strict.profile that differs from the built-in one. */
#define INSTALLED_STRICT_TEXT "default allow\nmount deny\n"

/* Files read_file can open (len 0: up to the first NUL); any other path
 * fails. */
static const struct {
	const char *path;
	const char *text;
	size_t len;
} files[] = {
    {"/etc/cordon/seccomp/mine.profile", MINE_TEXT, 0},
    {"/etc/cordon/seccomp/broken.profile", BROKEN_TEXT, 0},
    {"/etc/cordon/seccomp/nul.profile", NUL_TEXT, sizeof(NUL_TEXT) - 1},
    {"/etc/cordon/seccomp/noexec.profile", NOEXEC_TEXT, 0},
    {"/etc/cordon/seccomp/strict.profile", INSTALLED_STRICT_TEXT, 0},
};

static struct {
	const char *hard_link_path; /* find_hard_link reports this path */
	char *seen[16];             /* the paths find_hard_link was asked about */
	size_t n_seen;
	const char *cwd; /* the invocation's cwd, if not the project */
} F;

/* A string-only realpath: collapses slashes and resolves "." and "..". */
static char *canon(const char *path)
{
	char *out = xmalloc(strlen(path) + 2);
	size_t o = 0;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static enum path_state fake_state(const char *path)
{
	cleanup_free char *c = canon(path);
	for (size_t i = 0; i < N_ELEMENTS(base_fs); i++)
		if (strcmp(base_fs[i].path, c) == 0)
			return base_fs[i].state;
	return PATH_MISSING;
}

static char *fake_resolve(void *ctx, const char *path, char *const *untrusted, char **why)
{
	if (fake_state(path) == PATH_MISSING) {
		errno = ENOENT;
		return NULL;
	}
	return canon(path);
}

static enum path_state fake_lstat(void *ctx, const char *path)
{
	return fake_state(path);
}

static char *fake_read_file(void *ctx, const char *path, size_t *len, char **why)
{
	for (size_t i = 0; i < N_ELEMENTS(files); i++)
		if (strcmp(files[i].path, path) == 0) {
			*len = files[i].len ? files[i].len : strlen(files[i].text);
			char *text = xmalloc(*len + 1);
			memcpy(text, files[i].text, *len);
			text[*len] = '\0';
			return text;
		}
	*why = xstrdup(fake_state(path) == PATH_MISSING ? "No such file or directory" : "Permission denied");
	return NULL;
}

static char *fake_find_hard_link(void *ctx, const char *path)
{
	if (F.n_seen < N_ELEMENTS(F.seen))
		F.seen[F.n_seen++] = xstrdup(path);
	if (F.hard_link_path && strcmp(path, F.hard_link_path) == 0)
		return xasprintf("%s has 2 links", path);
	return NULL;
}

static const struct plan_host host = {
    .ctx = NULL,
    .resolve = fake_resolve,
    .lstat = fake_lstat,
    .read_file = fake_read_file,
    .find_hard_link = fake_find_hard_link,
};

/* As installed: profile names are looked up in a directory first. */
static const struct plan_host host_with_profile_dir = {
    .ctx = NULL,
    .resolve = fake_resolve,
    .lstat = fake_lstat,
    .read_file = fake_read_file,
    .find_hard_link = fake_find_hard_link,
    .profile_dir = "/etc/cordon/seccomp",
};

static const struct plan_host host_without_links = {
    .ctx = NULL,
    .resolve = fake_resolve,
    .lstat = fake_lstat,
    .read_file = fake_read_file,
    .find_hard_link = NULL,
};

/* ---- the invocation ---- */

static char *default_argv[] = {"make", "test", NULL};
static char *default_environ[] = {"TERM=xterm", NULL};

static struct invocation inv_default(void)
{
	return (struct invocation){
	    .privileged = false,
	    .uid = 1000,
	    .gid = 1000,
	    .user = "alice",
	    .home = "/home/alice",
	    .run_uid = 1000,
	    .run_gid = 1000,
	    .run_user = "alice",
	    .run_home = "/home/alice",
	    .cwd = F.cwd ? F.cwd : "/home/alice/src/proj",
	    .argv = default_argv,
	    .projects = NULL,
	    .environ = default_environ,
	};
}

/* ---- fixture ---- */

static struct policy *P;
static struct plan *PL;
static struct diags D;

static void teardown(void)
{
	plan_free(PL);
	PL = NULL;
	policy_free(P);
	P = NULL;
	diags_free(&D);
	for (size_t i = 0; i < F.n_seen; i++)
		free(F.seen[i]);
	memset(&F, 0, sizeof(F));
}

TestSuite(seccomp, .fini = teardown);
TestSuite(landlock, .fini = teardown);
TestSuite(ports, .fini = teardown);
TestSuite(hard_links, .fini = teardown);

#define POLICY_FILE "/etc/cordon/policies/pi.ini"

static struct plan *build_with(const char *text, const struct plan_host *h)
{
	plan_free(PL);
	PL = NULL;
	policy_free(P);
	diags_free(&D);
	P = policy_parse(POLICY_FILE, text, strlen(text), &D);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_eq(D.n, 0, "the test policy itself is invalid");
	struct invocation inv = inv_default();
	PL = plan_build(P, &inv, h, &D);
	return PL;
}

static struct plan *build(const char *text)
{
	return build_with(text, &host);
}

/* A plan without diagnostics and without a refusal. */
static struct plan *build_clean(const char *text)
{
	build(text);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_not_null(PL, "plan_build failed with %zu diagnostics", D.n);
	cr_assert_eq(D.n, 0);
	cr_assert_null(PL->refusal, "unexpected refusal: %s", PL->refusal);
	return PL;
}

static bool has_diag(const char *file, int line, const char *needle)
{
	for (size_t i = 0; i < D.n; i++)
		if (strcmp(D.v[i].file, file) == 0 && D.v[i].line == line && strstr(D.v[i].msg, needle))
			return true;
	return false;
}

static void expect_diag(const char *file, int line, const char *needle)
{
	if (!has_diag(file, line, needle))
		diags_print(&D, STDERR_FILENO);
	cr_expect(has_diag(file, line, needle), "no diagnostic at %s:%d containing \"%s\"", file, line, needle);
}

static void expect_refusal(const char *needle)
{
	cr_assert_not_null(PL);
	cr_assert_not_null(PL->refusal, "expected a refusal containing \"%s\"", needle);
	cr_expect(strstr(PL->refusal, needle) != NULL, "refusal \"%s\" lacks \"%s\"", PL->refusal, needle);
}

#define CMD  "[sandbox]\ncommand = /bin/sh\n"
#define PROJ "project_root = ~/src/proj\n"
#define FS   CMD "[filesystem]\nro = /usr\n" PROJ
#define ROOT "/home/alice/src/proj"

/* ---- seccomp ---- */

static size_t builtin_rules(const char *name, size_t layer)
{
	struct diags d = {0};
	struct sc_profile *p = profile_parse(name, name, profile_builtin_text(name), &d);
	cr_assert_not_null(p);
	size_t n = layer < p->n_layers ? p->layers[layer].n_rules : 0;
	profile_free(p);
	diags_free(&d);
	return n;
}

Test(seccomp, none_means_no_filter)
{
	build_clean(FS "[seccomp]\nprofile = none\n");
	cr_expect_null(PL->seccomp);
	cr_expect_str_eq(PL->seccomp_profile, "none");
}

Test(seccomp, no_key_means_the_default_profile)
{
	build_clean(FS);
	cr_expect_str_eq(PL->seccomp_profile, "default");
	cr_assert_not_null(PL->seccomp);
	cr_expect_str_eq(PL->seccomp->name, "default");
	cr_assert_eq(PL->seccomp->n_layers, 1);
	cr_expect_eq(PL->seccomp->layers[0].def.kind, SC_ALLOW);
	cr_expect_eq(PL->seccomp->layers[0].n_rules, builtin_rules("default", 0));
	cr_assert_gt(PL->seccomp->layers[0].n_rules, 0);
	cr_expect_str_eq(PL->seccomp->layers[0].rules[0].file, "seccomp-profiles/default.profile");
}

Test(seccomp, builtin_names)
{
	build_clean(FS "[seccomp]\nprofile = strict\n");
	cr_expect_str_eq(PL->seccomp_profile, "strict");
	cr_assert_not_null(PL->seccomp);
	cr_expect_eq(PL->seccomp->n_layers, 2);
	cr_expect_eq(PL->seccomp->layers[0].def.kind, SC_ERRNO);
	cr_expect_eq(PL->seccomp->layers[0].def.err, ENOSYS);

	build_clean(FS "[seccomp]\nprofile = ci\n");
	cr_expect_str_eq(PL->seccomp_profile, "ci");
	cr_assert_not_null(PL->seccomp);
	cr_expect_eq(PL->seccomp->n_layers, 1);
	cr_expect_eq(PL->seccomp->layers[0].n_rules, builtin_rules("ci", 0));

	build_clean(FS "[seccomp]\nprofile = default\n");
	cr_expect_str_eq(PL->seccomp_profile, "default");
	cr_expect_not_null(PL->seccomp);
}

Test(seccomp, unknown_name_is_a_diagnostic_at_the_key)
{
	cr_expect_null(build(FS "[seccomp]\n\nprofile = paranoid\n"));
	expect_diag(POLICY_FILE, 8, "unknown profile 'paranoid'");
	expect_diag(POLICY_FILE, 8, "ci, default, strict");
}

Test(seccomp, absolute_path_is_read_through_the_host)
{
	build_clean(FS "[seccomp]\nprofile = /etc/cordon/seccomp/mine.profile\n");
	cr_expect_str_eq(PL->seccomp_profile, "/etc/cordon/seccomp/mine.profile");
	cr_assert_not_null(PL->seccomp);
	cr_assert_eq(PL->seccomp->n_layers, 1);
	const struct sc_layer *ly = &PL->seccomp->layers[0];
	cr_assert_eq(ly->n_rules, 2);
	cr_expect_str_eq(ly->rules[0].syscall, "ptrace");
	cr_expect_str_eq(ly->rules[0].file, "/etc/cordon/seccomp/mine.profile");
	cr_expect_eq(ly->rules[0].line, 3);
	cr_expect_str_eq(ly->rules[1].syscall, "bpf");
	cr_expect_eq(ly->rules[1].line, 4);
}

/* Installed, a name is NAME.profile in the profile directory when that
 * file exists (the package's copy, or an administrator's own profile). */
Test(seccomp, a_name_is_read_from_the_profile_directory_when_the_file_is_there)
{
	cr_assert_not_null(build_with(FS "[seccomp]\nprofile = strict\n", &host_with_profile_dir));
	cr_expect_str_eq(PL->seccomp_profile, "strict");
	cr_expect_str_eq(PL->seccomp_file, "/etc/cordon/seccomp/strict.profile");
	cr_assert_eq(PL->seccomp->n_layers, 1);
	cr_assert_eq(PL->seccomp->layers[0].n_rules, 1);
	cr_expect_str_eq(PL->seccomp->layers[0].rules[0].syscall, "mount");
	cr_assert_not_null(build_with(FS "[seccomp]\nprofile = mine\n", &host_with_profile_dir));
	cr_expect_str_eq(PL->seccomp_file, "/etc/cordon/seccomp/mine.profile");
}

/* Control: without a profile directory the built-in strict applies, and a
 * name that is only a file there is unknown. */
Test(seccomp, without_a_profile_directory_names_are_the_built_in_profiles)
{
	cr_assert_not_null(build(FS "[seccomp]\nprofile = strict\n"));
	cr_expect_null(PL->seccomp_file);
	cr_expect_gt(PL->seccomp->layers[0].n_rules, 1);
	cr_expect_null(build(FS "[seccomp]\nprofile = mine\n"));
	expect_diag(POLICY_FILE, 7, "unknown profile 'mine'");
}

Test(seccomp, a_name_missing_from_the_profile_directory_is_the_built_in_copy)
{
	cr_assert_not_null(build_with(FS "[seccomp]\nprofile = default\n", &host_with_profile_dir));
	cr_expect_null(PL->seccomp_file);
	cr_expect_gt(PL->seccomp->layers[0].n_rules, 10);
}

/* A file that is there but cannot be read is refused, never replaced by
 * the built-in copy. */
Test(seccomp, an_unreadable_file_in_the_profile_directory_is_refused_not_replaced)
{
	cr_expect_null(build_with(FS "[seccomp]\nprofile = unreadable\n", &host_with_profile_dir));
	expect_diag(POLICY_FILE, 7, "seccomp profile /etc/cordon/seccomp/unreadable.profile");
}

Test(seccomp, parse_error_in_a_profile_file_names_that_file)
{
	cr_expect_null(build(FS "[seccomp]\nprofile = /etc/cordon/seccomp/broken.profile\n"));
	expect_diag("/etc/cordon/seccomp/broken.profile", 3, "expected an action");
}

/* The profile is part of the policy: a file that cannot be used is a
 * diagnostic at the key, which `check` reports as well as `run`. */
Test(seccomp, unreadable_profile_file_is_a_diagnostic_at_the_key)
{
	cr_expect_null(build(FS "[seccomp]\nprofile = /etc/cordon/seccomp/unreadable.profile\n"));
	expect_diag(POLICY_FILE, 7, "seccomp profile /etc/cordon/seccomp/unreadable.profile");
	expect_diag(POLICY_FILE, 7, "Permission denied");
}

Test(seccomp, missing_profile_file_is_a_diagnostic_at_the_key)
{
	cr_expect_null(build(FS "[seccomp]\nprofile = /etc/cordon/seccomp/gone.profile\n"));
	expect_diag(POLICY_FILE, 7, "seccomp profile /etc/cordon/seccomp/gone.profile");
	expect_diag(POLICY_FILE, 7, "No such file");
}

Test(seccomp, profile_file_with_a_nul_byte_is_a_diagnostic)
{
	cr_expect_null(build(FS "[seccomp]\nprofile = /etc/cordon/seccomp/nul.profile\n"));
	expect_diag("/etc/cordon/seccomp/nul.profile", 3, "NUL byte");
}

Test(seccomp, profile_that_could_not_start_a_command_is_a_diagnostic)
{
	cr_expect_null(build(FS "[seccomp]\nprofile = /etc/cordon/seccomp/noexec.profile\n"));
	expect_diag("/etc/cordon/seccomp/noexec.profile", 1, "execve");
}

/* ---- landlock ---- */

static const struct ll_rule *ll_rule(const char *path)
{
	const struct ll_rule *found = NULL;
	size_t n = 0;
	for (size_t i = 0; i < PL->n_ll_rules; i++)
		if (strcmp(PL->ll_rules[i].path, path) == 0) {
			found = &PL->ll_rules[i];
			n++;
		}
	cr_assert_leq(n, 1, "%zu Landlock rules for %s", n, path);
	return found;
}

static void expect_ll(const char *path, enum ll_access access, bool optional)
{
	const struct ll_rule *r = ll_rule(path);
	cr_assert_not_null(r, "no Landlock rule for %s", path);
	cr_expect_eq(r->access, access, "%s: access %d, want %d", path, r->access, access);
	cr_expect_eq(r->optional, optional, "%s: optional %d, want %d", path, r->optional, optional);
}

static void expect_no_ll(const char *path)
{
	cr_expect_null(ll_rule(path), "unexpected Landlock rule for %s", path);
}

#define LL_POLICY                                                                                                      \
	CMD "[filesystem]\n"                                                                                           \
	    "ro = /usr\n"                                                                                              \
	    "ro_try = /opt/tools\n"                                                                                    \
	    "ro_try = /opt/absent\n"                                                                                   \
	    "rw = /var/cache/pi\n"                                                                                     \
	    "tmpfs = /tmp\n"                                                                                           \
	    "symlink = usr/bin:/bin\n" PROJ "mask = .env\n"                                                            \
	    "protect = .git/hooks\n"

Test(landlock, rules_follow_the_mounts)
{
	build_clean(LL_POLICY);
	expect_ll("/", LL_LIST, false);
	expect_ll("/usr", LL_READ, false);
	expect_ll("/opt/tools", LL_READ, true);
	expect_ll("/var/cache/pi", LL_FULL, false);
	expect_ll("/tmp", LL_FULL, false);
	expect_ll("/home/alice", LL_FULL, false); /* the tmpfs home */
	expect_ll(ROOT, LL_FULL, false);
	expect_ll("/proc", LL_PROC, false);
	expect_ll("/dev", LL_DEV, false);
	expect_ll("/dev/shm", LL_FULL, false);
	/* an absent ro_try, symlinks and guards get none */
	expect_no_ll("/opt/absent");
	expect_no_ll("/bin");
	expect_no_ll(ROOT "/.env");
	expect_no_ll(ROOT "/.git/hooks");
	cr_expect_eq(PL->n_ll_rules, 10);
	cr_expect_eq(PL->landlock, LANDLOCK_REQUIRE);
	cr_expect_eq(PL->landlock_min_abi, 1);
}

Test(landlock, root_is_listed_first)
{
	build_clean(FS);
	cr_assert_gt(PL->n_ll_rules, 0);
	cr_expect_str_eq(PL->ll_rules[0].path, "/");
	cr_expect_eq(PL->ll_rules[0].access, LL_LIST);
}

Test(landlock, bound_home_is_full)
{
	build_clean("[sandbox]\ncommand = x\nhome = /srv/agent-home\n[filesystem]\n" PROJ);
	expect_ll("/home/alice", LL_FULL, false);
	expect_no_ll("/srv/agent-home");
}

Test(landlock, mode_is_copied)
{
	build_clean(FS "[landlock]\nmode = off\n");
	cr_expect_eq(PL->landlock, LANDLOCK_OFF);
	build_clean(FS "[landlock]\nmode = best-effort\n");
	cr_expect_eq(PL->landlock, LANDLOCK_BEST_EFFORT);
}

Test(landlock, deny_removes_a_mount_rule)
{
	build_clean(LL_POLICY "[landlock]\ndeny = /var/cache/pi\ndeny = /opt/tools\n");
	expect_no_ll("/var/cache/pi");
	expect_no_ll("/opt/tools");
	expect_ll("/", LL_LIST, false);
	expect_ll("/usr", LL_READ, false);
	expect_ll("/tmp", LL_FULL, false);
	expect_ll("/home/alice", LL_FULL, false);
	expect_ll(ROOT, LL_FULL, false);
	expect_ll("/proc", LL_PROC, false);
	expect_ll("/dev", LL_DEV, false);
	expect_ll("/dev/shm", LL_FULL, false);
	cr_expect_eq(PL->n_ll_rules, 8);
	/* the mounts themselves stay */
	bool found = false;
	for (size_t i = 0; i < PL->n_mounts; i++)
		found |= strcmp(PL->mounts[i].dest, "/var/cache/pi") == 0;
	cr_expect(found, "deny removed the mount too");
}

Test(landlock, deny_of_a_project_root_outside_the_home)
{
	F.cwd = "/var/cache/pi";
	build_clean(CMD "[sandbox]\nhome = /srv/agent-home\n[filesystem]\nproject_root = /var/cache/pi\n"
	                "[landlock]\ndeny = /var/cache/pi\n");
	expect_no_ll("/var/cache/pi");
	expect_ll("/home/alice", LL_FULL, false);
}

/* Landlock cannot take access away below a directory it grants. */
Test(landlock, deny_below_a_granted_mount_is_a_diagnostic)
{
	cr_expect_null(build(FS "[landlock]\ndeny = ~/src/proj\n"));
	expect_diag(POLICY_FILE, 7, "below /home/alice");
}

Test(landlock, deny_of_the_home_and_of_a_path_with_slashes)
{
	build_clean(FS "[landlock]\ndeny = ~\ndeny = //usr/\n");
	expect_no_ll("/home/alice");
	expect_no_ll("/usr");
	expect_ll(ROOT, LL_FULL, false);
}

Test(landlock, deny_of_a_path_that_is_not_a_mount_is_a_diagnostic)
{
	cr_expect_null(build(FS "[landlock]\ndeny = /usr\ndeny = /etc\n"));
	expect_diag(POLICY_FILE, 8, "/etc is not a mount");
	cr_expect_eq(D.n, 1);
	cr_expect_null(build(FS "[landlock]\ndeny = /usr/lib\n"));
	expect_diag(POLICY_FILE, 7, "/usr/lib is not a mount");
}

/* Whether an ro_try source exists is a condition of the host: on a host
 * without it the policy is the same policy, and denying Landlock access to
 * that mount must not turn into "not a mount of this policy". */
Test(landlock, deny_of_an_absent_ro_try_is_not_a_policy_error)
{
	build(CMD "[filesystem]\nro_try = /opt/absent\n" PROJ "[landlock]\ndeny = /opt/absent\n");
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_expect_eq(D.n, 0, "diagnostic for a mount the policy does have");
	cr_assert_not_null(PL);
	expect_no_ll("/opt/absent");
}

Test(landlock, min_abi)
{
	build_clean(FS);
	cr_expect_eq(PL->landlock_min_abi, 1);
	build_clean(FS "[landlock]\ntcp_bind = 8080\n");
	cr_expect_eq(PL->landlock_min_abi, 4);
	build_clean(FS "[landlock]\ntcp_connect = 443\n");
	cr_expect_eq(PL->landlock_min_abi, 4);
	build_clean(FS "[landlock]\ntcp_connect = any\ntcp_bind = any\n");
	cr_expect_eq(PL->landlock_min_abi, 1);
}

/* ---- ports ---- */

static void expect_ports(const struct port_list *l, bool any, size_t n, const unsigned short *want)
{
	cr_expect_eq(l->any, any, "any is %d, want %d", l->any, any);
	cr_assert_eq(l->n, n, "%zu ports, want %zu", l->n, n);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(l->v[i], want[i], "port #%zu is %u, want %u", i, l->v[i], want[i]);
}

Test(ports, none_and_proxy_without_keys_allow_only_the_relay)
{
	build_clean(FS);
	expect_ports(&PL->tcp_bind, false, 0, NULL);
	expect_ports(&PL->tcp_connect, false, 0, NULL);
	build_clean(FS "[network]\nmode = none\n");
	expect_ports(&PL->tcp_bind, false, 0, NULL);
	expect_ports(&PL->tcp_connect, false, 0, NULL);
	/* Proxy mode: connecting to pid 1's relay is the way out. */
	static const unsigned short relay[] = {PROXY_PORT};
	build_clean(FS "[network]\nmode = proxy\n");
	expect_ports(&PL->tcp_bind, false, 0, NULL);
	expect_ports(&PL->tcp_connect, false, 1, relay);
}

Test(ports, host_without_keys_is_not_restricted)
{
	build_clean(FS "[network]\nmode = host\n");
	expect_ports(&PL->tcp_bind, true, 0, NULL);
	expect_ports(&PL->tcp_connect, true, 0, NULL);
	cr_expect_eq(PL->landlock_min_abi, 1);
}

Test(ports, host_with_ports_is_restricted_to_them)
{
	build_clean(FS "[network]\nmode = host\n[landlock]\ntcp_connect = 443\n");
	expect_ports(&PL->tcp_connect, false, 1, (const unsigned short[]){443});
	expect_ports(&PL->tcp_bind, true, 0, NULL);
}

Test(ports, explicit_any)
{
	build_clean(FS "[landlock]\ntcp_bind = any\ntcp_connect = any\n");
	expect_ports(&PL->tcp_bind, true, 0, NULL);
	expect_ports(&PL->tcp_connect, true, 0, NULL);
	build_clean(FS "[network]\nmode = proxy\n[landlock]\ntcp_connect = any\n");
	expect_ports(&PL->tcp_connect, true, 0, NULL);
	expect_ports(&PL->tcp_bind, false, 0, NULL);
}

Test(ports, listed_in_order)
{
	build_clean(FS "[landlock]\ntcp_bind = 8080\ntcp_connect = 443\ntcp_bind = 3000\n"
	               "tcp_connect = 80\ntcp_connect = 65535\ntcp_bind = 0\n");
	expect_ports(&PL->tcp_bind, false, 3, (const unsigned short[]){8080, 3000, 0});
	expect_ports(&PL->tcp_connect, false, 3, (const unsigned short[]){443, 80, 65535});
}

/* ---- hard links ---- */

static bool seen(const char *path)
{
	for (size_t i = 0; i < F.n_seen; i++)
		if (strcmp(F.seen[i], path) == 0)
			return true;
	return false;
}

Test(hard_links, protected_file_with_another_name_is_refused)
{
	F.hard_link_path = ROOT "/.env";
	build(FS "protect = .env\n");
	cr_assert_not_null(PL);
	cr_expect_eq(D.n, 0);
	expect_refusal(POLICY_FILE ":6:");
	expect_refusal("protect .env");
	expect_refusal(ROOT "/.env has 2 links");
	expect_refusal("written");
}

Test(hard_links, masked_file_with_another_name_is_refused)
{
	F.hard_link_path = ROOT "/.env";
	build(FS "mask = .env\n");
	cr_assert_not_null(PL);
	expect_refusal("mask .env");
	expect_refusal(ROOT "/.env has 2 links");
	expect_refusal("read");
}

Test(hard_links, absolute_mask_inside_a_root)
{
	F.hard_link_path = ROOT "/.env";
	build(FS "mask = ~/src/proj/.env\n");
	cr_assert_not_null(PL);
	expect_refusal(ROOT "/.env has 2 links");
}

Test(hard_links, guarded_directory_is_checked)
{
	F.hard_link_path = ROOT "/secrets";
	build(FS "mask = secrets/\n");
	cr_assert_not_null(PL);
	expect_refusal(ROOT "/secrets has 2 links");

	teardown();
	F.hard_link_path = ROOT "/.git/hooks";
	build(FS "protect = .git/hooks\n");
	cr_assert_not_null(PL);
	expect_refusal(ROOT "/.git/hooks has 2 links");
}

Test(hard_links, other_paths_are_asked_about_but_not_refused)
{
	F.hard_link_path = "/etc/shadow";
	build_clean(FS "protect = .env\nmask = secrets\nprotect = .git/hooks\n");
	cr_expect(seen(ROOT "/.env"));
	cr_expect(seen(ROOT "/secrets"));
	cr_expect(seen(ROOT "/.git/hooks"));
	/* pinned directories on the way are not the guarded path */
	cr_expect_not(seen(ROOT "/.git"));
}

Test(hard_links, missing_guarded_path_is_not_checked)
{
	F.hard_link_path = ROOT "/.npmrc";
	build_clean(FS "mask = .npmrc\nprotect = Makefile\n");
	cr_expect_eq(F.n_seen, 0);
}

Test(hard_links, no_callback_no_check)
{
	F.hard_link_path = ROOT "/.env";
	build_with(FS "protect = .env\nmask = secrets\n", &host_without_links);
	cr_assert_not_null(PL);
	cr_expect_eq(D.n, 0);
	cr_expect_null(PL->refusal, "unexpected refusal: %s", PL->refusal);
	cr_expect_eq(F.n_seen, 0);
}
