/* Unit tests for plan_build (policy/plan.c) and the explain renderers
 * (policy/explain.c), with a fake host file system in memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "policy.h"
#include "util.h"

/* ---- the fake host ---- */

struct fake_entry {
	const char *path;
	enum path_state state;
};

/* What exists on the fake host. Tests add entries (or hide base ones by
 * listing them as PATH_MISSING) through F.extra. */
static const struct fake_entry base_fs[] = {
    {"/usr", PATH_DIR},
    {"/usr/lib", PATH_DIR},
    {"/etc", PATH_DIR},
    {"/etc/shadow", PATH_FILE},
    {"/etc/cordon/pi.env", PATH_FILE},
    {"/tmp", PATH_DIR},
    {"/tmp/work", PATH_DIR},
    {"/var/cache/pi", PATH_DIR},
    {"/var/lib/pi-agent", PATH_DIR},
    {"/srv/other", PATH_DIR},
    {"/srv/alice/work", PATH_DIR},
    {"/srv/agent-home", PATH_DIR},
    {"/home/alice", PATH_DIR},
    {"/home/alice/.config/git", PATH_DIR},
    {"/home/alice/src", PATH_DIR},
    {"/home/alice/src/notes.txt", PATH_FILE},
    {"/home/alice/src/other", PATH_DIR},
    {"/home/alice/src/proj", PATH_DIR},
    {"/home/alice/src/proj/sub", PATH_DIR},
    {"/home/alice/src/proj/.env", PATH_FILE},
    {"/home/alice/src/proj/secrets", PATH_DIR},
    {"/home/alice/src/proj/.git", PATH_DIR},
    {"/home/alice/src/proj/.git/hooks", PATH_DIR},
};

/* The invoker's own files (read_user_file): text, or an errno. */
struct fake_user_file {
	const char *path;
	const char *text;
	int err;
};

static struct {
	const struct fake_entry *extra; /* consulted before base_fs */
	size_t n_extra;
	const char *file_text; /* contents of every PATH_FILE read_file opens */
	const struct fake_user_file *user_files;
	size_t n_user_files;
	/* The owner every path has (owner): uid 1000 (alice) unless set. */
	uid_t owner_uid;
	bool owner_set;
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
	for (size_t i = 0; i < F.n_extra; i++)
		if (strcmp(F.extra[i].path, c) == 0)
			return F.extra[i].state;
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
	if (fake_state(path) != PATH_FILE || !F.file_text) {
		*why = xstrdup("No such file or directory");
		return NULL;
	}
	*len = strlen(F.file_text);
	return xstrdup(F.file_text);
}

static char *fake_read_user_file(void *ctx, uid_t uid, gid_t gid, const char *dir, const char *rel, size_t max,
                                 size_t *len)
{
	cleanup_free char *path = xasprintf("%s/%s", dir, rel);
	for (size_t i = 0; i < F.n_user_files; i++) {
		if (strcmp(F.user_files[i].path, path) != 0)
			continue;
		if (F.user_files[i].err) {
			errno = F.user_files[i].err;
			return NULL;
		}
		*len = strlen(F.user_files[i].text);
		return xstrdup(F.user_files[i].text);
	}
	errno = ENOENT;
	return NULL;
}

static bool fake_owner(void *ctx, const char *path, uid_t *uid, gid_t *gid)
{
	(void)ctx;
	(void)path;
	*uid = F.owner_set ? F.owner_uid : 1000;
	*gid = *uid;
	return true;
}

static const struct plan_host host = {
    .ctx = NULL,
    .resolve = fake_resolve,
    .lstat = fake_lstat,
    .read_file = fake_read_file,
    .read_user_file = fake_read_user_file,
    .owner = fake_owner,
};

/* ---- the invocation ---- */

static char *default_argv[] = {"make", "test", NULL};
static char *no_argv[] = {NULL};
static char *default_environ[] = {
    "TERM=xterm-256color",
    "SECRET_TOKEN=s3cret",
    "HOME=/evil",
    "USER=mallory",
    "LOGNAME=mallory",
    "LANG=C.UTF-8",
    "LANGUAGE=en",
    "LC_ALL=C",
    "LC_TIME=en_GB.UTF-8",
    "NOEQUALS",
    NULL,
};

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
	    .cwd = "/home/alice/src/proj",
	    .argv = default_argv,
	    .projects = NULL,
	    .environ = default_environ,
	};
}

/* ---- fixture ---- */

static struct policy *P;
static struct plan *PL;
static struct diags D;
static char *TXT;

static void teardown(void)
{
	plan_free(PL);
	PL = NULL;
	policy_free(P);
	P = NULL;
	diags_free(&D);
	free(TXT);
	TXT = NULL;
	memset(&F, 0, sizeof(F));
}

TestSuite(mounts, .fini = teardown);
TestSuite(roots, .fini = teardown);
TestSuite(guards, .fini = teardown);
TestSuite(env, .fini = teardown);
TestSuite(argv, .fini = teardown);
TestSuite(identity, .fini = teardown);
TestSuite(explain, .fini = teardown);

#define POLICY_FILE "/etc/cordon/policies/pi.ini"

static struct plan *build_inv(const char *text, const struct invocation *inv)
{
	/* A test may build several plans: each replaces the last. */
	plan_free(PL);
	PL = NULL;
	policy_free(P);
	diags_free(&D);
	P = policy_parse(POLICY_FILE, text, strlen(text), &D);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_eq(D.n, 0, "the test policy itself is invalid");
	PL = plan_build(P, inv, &host, &D);
	return PL;
}

static struct plan *build(const char *text)
{
	struct invocation inv = inv_default();
	return build_inv(text, &inv);
}

/* A plan without diagnostics (it may still carry a refusal). */
static struct plan *build_ok_inv(const char *text, const struct invocation *inv)
{
	build_inv(text, inv);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_not_null(PL, "plan_build failed with %zu diagnostics", D.n);
	cr_assert_eq(D.n, 0);
	return PL;
}

static struct plan *build_ok(const char *text)
{
	struct invocation inv = inv_default();
	return build_ok_inv(text, &inv);
}

/* A plan that may run: no diagnostics and no refusal. */
static struct plan *build_clean_inv(const char *text, const struct invocation *inv)
{
	build_ok_inv(text, inv);
	cr_assert_null(PL->refusal, "unexpected refusal: %s", PL->refusal);
	return PL;
}

static struct plan *build_clean(const char *text)
{
	struct invocation inv = inv_default();
	return build_clean_inv(text, &inv);
}

static void expect_refusal(const char *needle)
{
	cr_assert_not_null(PL);
	cr_assert_not_null(PL->refusal, "expected a refusal containing \"%s\"", needle);
	cr_expect(strstr(PL->refusal, needle) != NULL, "refusal \"%s\" lacks \"%s\"", PL->refusal, needle);
}

static ssize_t mount_index(const char *dest)
{
	for (size_t i = 0; i < PL->n_mounts; i++)
		if (strcmp(PL->mounts[i].dest, dest) == 0)
			return (ssize_t)i;
	return -1;
}

static const struct mount_op *mount_at(const char *dest)
{
	ssize_t i = mount_index(dest);
	return i < 0 ? NULL : &PL->mounts[i];
}

static const struct mount_op *need_mount(const char *dest, enum mount_kind kind)
{
	const struct mount_op *op = mount_at(dest);
	cr_assert_not_null(op, "no mount at %s", dest);
	cr_assert_eq(op->kind, kind, "mount at %s is %s, want %s", dest, mount_kind_name(op->kind),
	             mount_kind_name(kind));
	return op;
}

static const char *env_get(const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;
	size_t count = 0;
	for (char **e = PL->envp; *e; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
			found = *e + n + 1;
			count++;
		}
	}
	cr_assert_leq(count, 1, "%s appears %zu times in the environment", name, count);
	return found;
}

static void env_is(const char *name, const char *want)
{
	const char *v = env_get(name);
	cr_assert_not_null(v, "%s missing from the environment", name);
	cr_expect_str_eq(v, want, "%s=%s, want %s", name, v, want);
}

static bool has_diag(int line, const char *needle)
{
	for (size_t i = 0; i < D.n; i++)
		if (D.v[i].line == line && strstr(D.v[i].msg, needle))
			return true;
	return false;
}

#define CMD      "[sandbox]\ncommand = /bin/sh\n"
#define PROJ     "project_root = ~/src/proj\n"
#define FS_BASIC CMD "[filesystem]\nro = /usr\n" PROJ

/* ---- mounts ---- */

Test(mounts, builtin_proc_and_dev)
{
	build_clean(FS_BASIC);
	need_mount("/proc", MOUNT_PROC);
	need_mount("/dev", MOUNT_DEV);
}

Test(mounts, ro_bind)
{
	build_clean(FS_BASIC);
	const struct mount_op *op = need_mount("/usr", MOUNT_BIND);
	cr_expect_eq(op->flags, MF_RO);
	cr_expect_str_eq(op->source, "/usr");
	cr_expect_str_eq(op->origin, "ro");
	cr_expect_eq(op->line, 4);
}

Test(mounts, rw_bind_is_writable)
{
	build_clean(FS_BASIC "rw = /var/cache/pi\n");
	const struct mount_op *op = need_mount("/var/cache/pi", MOUNT_BIND);
	cr_expect_eq(op->flags & MF_RO, 0);
	cr_expect_str_eq(op->source, "/var/cache/pi");
}

Test(mounts, tmpfs_and_symlink)
{
	build_clean(FS_BASIC "tmpfs = /tmp\nsymlink = usr/bin:/bin\n");
	need_mount("/tmp", MOUNT_TMPFS);
	const struct mount_op *op = need_mount("/bin", MOUNT_SYMLINK);
	cr_expect_str_eq(op->source, "usr/bin");
}

Test(mounts, home_is_an_empty_tmpfs_by_default)
{
	build_clean(FS_BASIC);
	const struct mount_op *op = need_mount("/home/alice", MOUNT_TMPFS);
	cr_expect(op->flags & MF_HOME);
}

Test(mounts, home_directory_is_bound_at_the_run_home)
{
	build_clean("[sandbox]\ncommand = x\nhome = /srv/agent-home\n[filesystem]\n" PROJ);
	const struct mount_op *op = need_mount("/home/alice", MOUNT_BIND);
	cr_expect(op->flags & MF_HOME);
	cr_expect_eq(op->flags & MF_RO, 0);
	cr_expect_str_eq(op->source, "/srv/agent-home");
}

Test(mounts, persistent_home_is_kept_per_user_and_policy_name)
{
	build_clean("[sandbox]\ncommand = x\nname = pi\nhome = persist\nhome_copy = .pi/agent\n[filesystem]\n" PROJ);
	const struct mount_op *op = need_mount("/home/alice", MOUNT_BIND);
	cr_expect_eq(op->flags & (MF_HOME | MF_PERSIST | MF_RO), MF_HOME | MF_PERSIST);
	cr_expect_str_eq(op->source, "/home/alice/.local/state/cordon/home/pi");
	cr_expect_str_eq(PL->home_state_root, "/home/alice");
	cr_assert_eq(PL->n_home_copies, 1);
	cr_expect_str_eq(PL->home_copies[0].source, "/home/alice/.pi/agent");
	cr_expect_str_eq(PL->home_copies[0].dest, "/home/alice/.pi/agent");
	cr_expect(strstr(TXT = plan_explain_text(PL, false), "persist /home/alice/.local/state/cordon/home/pi") !=
	          NULL);
}

Test(mounts, persistent_home_as_root_is_in_var_lib_cordon)
{
	struct invocation inv = inv_default();
	inv.privileged = true;
	inv.uid = inv.gid = 0;
	inv.user = "root";
	inv.home = "/root";
	build_clean_inv("[sandbox]\ncommand = x\nname = pi\nuser = alice\nhome = persist\nhome_copy = .pi\n"
	                "[filesystem]\nproject_root = /home/alice/src/proj\n",
	                &inv);
	const struct mount_op *op = need_mount("/home/alice", MOUNT_BIND);
	cr_expect_str_eq(op->source, "/var/lib/cordon/home/root/pi");
	cr_expect_str_eq(PL->home_state_root, "/var/lib");
	cr_expect_str_eq(PL->home_copies[0].source, "/root/.pi");
	cr_expect_str_eq(PL->home_copies[0].dest, "/home/alice/.pi");
}

Test(mounts, persistent_home_needs_a_name_that_is_a_directory_name)
{
	build_ok("[sandbox]\ncommand = x\nname = ..\nhome = persist\n[filesystem]\n" PROJ);
	expect_refusal("cannot name a directory");
}

/* Asserts that no mount is beneath one that comes after it. */
static void expect_parents_first(void)
{
	for (size_t i = 0; i < PL->n_mounts; i++)
		for (size_t j = i + 1; j < PL->n_mounts; j++)
			cr_expect_not(path_is_beneath(PL->mounts[i].dest, PL->mounts[j].dest),
			              "%s (#%zu) is mounted before its parent %s (#%zu)", PL->mounts[i].dest, i,
			              PL->mounts[j].dest, j);
}

Test(mounts, tmpfs_listed_after_a_project_root_beneath_it_comes_first)
{
	struct invocation inv = inv_default();
	inv.cwd = "/tmp/work";
	build_clean_inv(CMD "[filesystem]\nproject_root = /tmp/work\ntmpfs = /tmp\n", &inv);
	ssize_t tmp = mount_index("/tmp"), work = mount_index("/tmp/work");
	cr_assert_geq(tmp, 0);
	cr_assert_geq(work, 0);
	cr_expect_lt(tmp, work);
	expect_parents_first();
}

Test(mounts, ro_parent_listed_after_child_comes_first)
{
	build_clean(CMD "[filesystem]\nro = /usr/lib\nro = /usr\n" PROJ);
	cr_expect_lt(mount_index("/usr"), mount_index("/usr/lib"));
	expect_parents_first();
}

Test(mounts, file_order_does_not_change_the_mount_order)
{
	build_clean(CMD "[filesystem]\nro = /usr/lib\ntmpfs = /tmp\nro = /usr\nro = ~/.config/git\n" PROJ);
	size_t n = PL->n_mounts;
	char **first = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		first[i] = xstrdup(PL->mounts[i].dest);
	teardown();
	build_clean(CMD "[filesystem]\n" PROJ "ro = ~/.config/git\nro = /usr\ntmpfs = /tmp\nro = /usr/lib\n");
	cr_expect_eq(PL->n_mounts, n);
	for (size_t i = 0; i < n && i < PL->n_mounts; i++)
		cr_expect_str_eq(PL->mounts[i].dest, first[i], "mount #%zu", i);
	strv_clear(first);
	expect_parents_first();
}

Test(mounts, home_tmpfs_before_binds_beneath_it)
{
	build_clean(FS_BASIC "ro = ~/.config/git\n");
	cr_expect_lt(mount_index("/home/alice"), mount_index("/home/alice/.config/git"));
	cr_expect_lt(mount_index("/home/alice"), mount_index("/home/alice/src/proj"));
}

Test(mounts, same_path_twice_is_an_error)
{
	cr_expect_null(build(CMD "[filesystem]\nro = /usr\nrw = /usr\n" PROJ));
	cr_expect(has_diag(5, "already mounted"), "no diagnostic at the second entry's line");
}

Test(mounts, same_path_after_normalization_is_an_error)
{
	cr_expect_null(build(CMD "[filesystem]\nro = /usr\nro_try = /usr/\n" PROJ));
	cr_expect(has_diag(5, "already mounted"));
}

Test(mounts, tmpfs_and_bind_on_same_path_is_an_error)
{
	cr_expect_null(build(CMD "[filesystem]\ntmpfs = /tmp\nro = /tmp\n" PROJ));
	cr_expect_eq(D.n, 1);
}

Test(mounts, mount_over_the_home_is_an_error)
{
	cr_expect_null(build(CMD "[filesystem]\ntmpfs = ~\n" PROJ));
	cr_expect(has_diag(4, "already mounted"));
}

Test(mounts, bind_over_a_project_root_is_an_error)
{
	cr_expect_null(build(FS_BASIC "rw = ~/src/proj\n"));
	cr_expect_gt(D.n, 0);
}

Test(mounts, ro_try_of_a_missing_path_is_kept_optional)
{
	build_clean(FS_BASIC "ro_try = /lib64\n");
	const struct mount_op *op = need_mount("/lib64", MOUNT_BIND);
	cr_expect_eq(op->flags, MF_RO | MF_OPTIONAL);
	cr_expect_null(op->source);
}

Test(mounts, ro_try_of_an_existing_path_has_a_source)
{
	build_clean(FS_BASIC "ro_try = /etc\n");
	const struct mount_op *op = need_mount("/etc", MOUNT_BIND);
	cr_expect_str_eq(op->source, "/etc");
}

Test(mounts, rw_try_of_a_missing_path_is_skipped)
{
	build_clean(FS_BASIC "rw_try = /var/cache/absent\n");
	const struct mount_op *op = need_mount("/var/cache/absent", MOUNT_BIND);
	cr_expect_eq(op->flags, MF_OPTIONAL);
	cr_expect_null(op->source);
	for (size_t i = 0; i < PL->n_ll_rules; i++)
		cr_expect_str_neq(PL->ll_rules[i].path, "/var/cache/absent");
}

Test(mounts, rw_try_of_an_existing_path_is_a_writable_bind)
{
	build_clean(FS_BASIC "rw_try = /var/cache/pi\n");
	const struct mount_op *op = need_mount("/var/cache/pi", MOUNT_BIND);
	cr_expect_eq(op->flags & MF_RO, 0);
	cr_expect_str_eq(op->source, "/var/cache/pi");
	cr_expect_str_eq(op->origin, "rw_try");
	bool found = false;
	for (size_t i = 0; i < PL->n_ll_rules; i++)
		if (strcmp(PL->ll_rules[i].path, "/var/cache/pi") == 0) {
			found = true;
			cr_expect_eq(PL->ll_rules[i].access, LL_FULL);
		}
	cr_expect(found, "no Landlock rule for the rw_try bind");
}

Test(mounts, rw_try_takes_the_rules_of_rw)
{
	cr_expect_null(build(CMD "[filesystem]\nrw = /usr\nrw_try = /usr\n" PROJ));
	cr_expect_gt(D.n, 0);
}

Test(mounts, ro_of_a_missing_path_is_refused)
{
	build_ok(FS_BASIC "ro = /opt/missing\n");
	expect_refusal("/opt/missing");
}

Test(mounts, tilde_is_the_invokers_home)
{
	build_clean(FS_BASIC "ro = ~/.config/git\n");
	const struct mount_op *op = need_mount("/home/alice/.config/git", MOUNT_BIND);
	cr_expect_str_eq(op->source, "/home/alice/.config/git");
}

Test(mounts, tilde_alone_and_audit_log)
{
	build_clean(FS_BASIC "[audit]\nlog = ~/audit.jsonl\n");
	cr_expect_str_eq(PL->audit_log, "/home/alice/audit.jsonl");
}

Test(mounts, dests_are_unique)
{
	build_clean(FS_BASIC "ro_try = /lib64\ntmpfs = /tmp\nmask = .env\nprotect = .git/hooks\n");
	for (size_t i = 0; i < PL->n_mounts; i++)
		for (size_t j = i + 1; j < PL->n_mounts; j++)
			cr_expect_str_neq(PL->mounts[i].dest, PL->mounts[j].dest);
}

/* ---- project roots and cwd ---- */

Test(roots, existing_root_is_mounted_read_write)
{
	build_clean(FS_BASIC);
	const struct mount_op *op = need_mount("/home/alice/src/proj", MOUNT_BIND);
	cr_expect(op->flags & MF_PROJECT);
	cr_expect_eq(op->flags & MF_RO, 0);
	cr_expect_str_eq(op->source, "/home/alice/src/proj");
	cr_assert_eq(strv_len(PL->project_roots), 1);
	cr_expect_str_eq(PL->project_roots[0], "/home/alice/src/proj");
	cr_expect_str_eq(PL->cwd, "/home/alice/src/proj");
}

Test(roots, missing_roots_are_skipped)
{
	build_clean(CMD "[filesystem]\nproject_root = /srv/missing\n" PROJ "project_root = ~/missing\n");
	cr_expect_null(mount_at("/srv/missing"));
	cr_expect_null(mount_at("/home/alice/missing"));
	cr_assert_eq(strv_len(PL->project_roots), 1);
	cr_expect_str_eq(PL->project_roots[0], "/home/alice/src/proj");
}

Test(roots, root_that_is_a_file_is_refused)
{
	/* Skipped with a note; the working directory is in the other root. */
	build_clean(CMD "[filesystem]\nproject_root = ~/src/notes.txt\n" PROJ);
	cr_assert(PL->warnings[0] != NULL);
	cr_expect(strstr(PL->warnings[0], "not a directory") != NULL, "%s", PL->warnings[0]);
	cr_expect_eq(strv_len(PL->allowed_roots), 1);
}

Test(roots, cwd_below_a_root)
{
	struct invocation inv = inv_default();
	inv.cwd = "/home/alice/src/proj/sub";
	build_clean_inv(FS_BASIC, &inv);
	cr_expect_str_eq(PL->cwd, "/home/alice/src/proj/sub");
}

Test(roots, cwd_outside_every_root_is_refused)
{
	struct invocation inv = inv_default();
	inv.cwd = "/etc";
	build_ok_inv(FS_BASIC, &inv);
	expect_refusal("cwd /etc is outside the allowed project roots");
	cr_expect_str_eq(PL->cwd, "/");
}

Test(roots, cwd_in_a_sibling_sharing_a_prefix_is_refused)
{
	struct invocation inv = inv_default();
	inv.cwd = "/home/alice/src/proj-old";
	build_ok_inv(FS_BASIC, &inv);
	expect_refusal("is outside the allowed project roots");
}

Test(roots, cwd_refused_when_no_root_exists)
{
	build_ok(CMD "[filesystem]\nproject_root = /srv/missing\n");
	expect_refusal("is outside the allowed project roots");
	cr_expect_eq(strv_len(PL->project_roots), 0);
}

Test(roots, without_project_roots_cwd_is_the_home)
{
	struct invocation inv = inv_default();
	inv.cwd = "/etc";
	build_clean_inv(CMD "[filesystem]\nro = /usr\n", &inv);
	cr_expect_str_eq(PL->cwd, "/home/alice");
	cr_expect_eq(strv_len(PL->project_roots), 0);
}

Test(roots, project_option_narrows_to_that_directory)
{
	char *projects[] = {"/home/alice/src/proj", NULL};
	struct invocation inv = inv_default();
	inv.projects = projects;
	build_clean_inv(CMD "[filesystem]\nproject_root = ~/src\n", &inv);
	cr_expect_null(mount_at("/home/alice/src"));
	const struct mount_op *op = need_mount("/home/alice/src/proj", MOUNT_BIND);
	cr_expect(op->flags & MF_PROJECT);
	cr_assert_eq(strv_len(PL->project_roots), 1);
	cr_expect_str_eq(PL->project_roots[0], "/home/alice/src/proj");
}

Test(roots, project_option_outside_the_roots_is_refused)
{
	char *projects[] = {"/srv/other", NULL};
	struct invocation inv = inv_default();
	inv.projects = projects;
	build_ok_inv(FS_BASIC, &inv);
	expect_refusal("--project /srv/other is outside the allowed project roots");
	cr_expect_null(mount_at("/srv/other"));
}

Test(roots, project_option_cannot_widen_to_a_parent)
{
	char *projects[] = {"/home/alice/src", NULL};
	struct invocation inv = inv_default();
	inv.projects = projects;
	build_ok_inv(FS_BASIC, &inv);
	expect_refusal("outside the allowed project roots");
	cr_expect_null(mount_at("/home/alice/src"));
}

Test(roots, project_option_that_does_not_exist_is_refused)
{
	char *projects[] = {"/home/alice/src/proj/nope", NULL};
	struct invocation inv = inv_default();
	inv.projects = projects;
	build_ok_inv(FS_BASIC, &inv);
	cr_expect_not_null(PL->refusal);
	cr_expect_null(mount_at("/home/alice/src/proj/nope"));
}

Test(roots, project_option_that_is_a_file_is_refused)
{
	char *projects[] = {"/home/alice/src/notes.txt", NULL};
	struct invocation inv = inv_default();
	inv.cwd = "/home/alice/src";
	inv.projects = projects;
	build_ok_inv(CMD "[filesystem]\nproject_root = ~/src\n", &inv);
	expect_refusal("not a directory");
}

Test(roots, relative_project_option_is_resolved_against_cwd)
{
	char *projects[] = {".", NULL};
	struct invocation inv = inv_default();
	inv.projects = projects;
	build_clean_inv(CMD "[filesystem]\nproject_root = ~/src\n", &inv);
	need_mount("/home/alice/src/proj", MOUNT_BIND);
	cr_expect_null(mount_at("/home/alice/src"));
}

Test(roots, relative_project_option_to_a_sibling)
{
	char *projects[] = {"../other", NULL};
	struct invocation inv = inv_default();
	inv.projects = projects;
	build_ok_inv(CMD "[filesystem]\nproject_root = ~/src\n", &inv);
	need_mount("/home/alice/src/other", MOUNT_BIND);
	/* cwd (proj) is not inside the narrowed set */
	expect_refusal("cwd /home/alice/src/proj is outside");
}

Test(roots, repeated_project_option_mounts_once)
{
	char *projects[] = {"/home/alice/src/proj", ".", NULL};
	struct invocation inv = inv_default();
	inv.projects = projects;
	build_clean_inv(CMD "[filesystem]\nproject_root = ~/src\n", &inv);
	cr_expect_eq(strv_len(PL->project_roots), 1);
}

Test(roots, user_section_replaces_the_filesystem_list)
{
	struct invocation inv = inv_default();
	inv.cwd = "/srv/alice/work";
	build_clean_inv(CMD "[filesystem]\n" PROJ "[user:alice]\nproject_root = /srv/alice/work\n", &inv);
	need_mount("/srv/alice/work", MOUNT_BIND);
	cr_expect_null(mount_at("/home/alice/src/proj"));
	cr_assert_eq(strv_len(PL->project_roots), 1);
	cr_expect_str_eq(PL->project_roots[0], "/srv/alice/work");
}

Test(roots, user_section_makes_the_filesystem_roots_outside)
{
	build_ok(CMD "[filesystem]\n" PROJ "[user:alice]\nproject_root = /srv/alice/work\n");
	expect_refusal("cwd /home/alice/src/proj is outside the allowed project roots");
}

Test(roots, other_users_keep_the_filesystem_list)
{
	struct invocation inv = inv_default();
	inv.user = "bob";
	inv.home = "/home/bob";
	inv.run_user = "bob";
	inv.run_home = "/home/bob";
	inv.cwd = "/srv/other";
	build_clean_inv(CMD "[filesystem]\nproject_root = /srv/other\n[user:alice]\nproject_root = /srv/alice/work\n",
	                &inv);
	need_mount("/srv/other", MOUNT_BIND);
	cr_expect_null(mount_at("/srv/alice/work"));
}

/* ---- mask and protect ---- */

#define ROOT "/home/alice/src/proj"

Test(guards, protect_pins_the_parent_and_protects_the_path)
{
	build_clean(FS_BASIC "protect = .git/hooks\n");
	const struct mount_op *pin = need_mount(ROOT "/.git", MOUNT_PIN);
	cr_expect(pin->flags & MF_DIR);
	cr_expect_str_eq(pin->source, ROOT "/.git");
	const struct mount_op *op = need_mount(ROOT "/.git/hooks", MOUNT_PROTECT);
	cr_expect_eq(op->flags, MF_DIR);
	cr_expect_str_eq(op->source, ROOT "/.git/hooks");
	cr_expect_eq(op->line, 6);
	cr_expect_lt(mount_index(ROOT), mount_index(ROOT "/.git"));
	cr_expect_lt(mount_index(ROOT "/.git"), mount_index(ROOT "/.git/hooks"));
}

Test(guards, protect_of_an_existing_file)
{
	build_clean(FS_BASIC "protect = .env\n");
	const struct mount_op *op = need_mount(ROOT "/.env", MOUNT_PROTECT);
	cr_expect_eq(op->flags, 0);
}

Test(guards, protect_of_a_missing_path_creates_a_placeholder)
{
	build_clean(FS_BASIC "protect = .git/info\n");
	need_mount(ROOT "/.git", MOUNT_PIN);
	const struct mount_op *op = need_mount(ROOT "/.git/info", MOUNT_PROTECT);
	cr_expect_eq(op->flags, MF_CREATE);
}

Test(guards, protect_with_trailing_slash_creates_a_directory)
{
	build_clean(FS_BASIC "protect = .git/info/\n");
	const struct mount_op *op = need_mount(ROOT "/.git/info", MOUNT_PROTECT);
	cr_expect_eq(op->flags, MF_CREATE | MF_DIR);
}

Test(guards, protect_with_missing_intermediate_creates_a_directory_there)
{
	build_clean(FS_BASIC "protect = .config/hooks\n");
	const struct mount_op *op = need_mount(ROOT "/.config", MOUNT_PROTECT);
	cr_expect_eq(op->flags, MF_CREATE | MF_DIR);
	cr_expect_null(mount_at(ROOT "/.config/hooks"));
}

Test(guards, protect_applies_to_every_root)
{
	/* Only the project the working directory is in is mounted, and
	 * guarded; the other root stays out of the sandbox entirely. */
	build_clean(CMD "[filesystem]\n" PROJ "project_root = /srv/other\nprotect = .git\n");
	cr_expect_eq(need_mount(ROOT "/.git", MOUNT_PROTECT)->flags, MF_DIR);
	cr_expect_null(mount_at("/srv/other/.git"));
	cr_expect_null(mount_at("/srv/other"));
}

Test(guards, symlink_component_in_protect_is_refused)
{
	static const struct fake_entry extra[] = {{ROOT "/link", PATH_SYMLINK}};
	F.extra = extra;
	F.n_extra = N_ELEMENTS(extra);
	build_ok(FS_BASIC "protect = link/hooks\n");
	expect_refusal("is a symlink");
	cr_expect(strstr(PL->refusal, ROOT "/link") != NULL, "refusal names the symlink: %s", PL->refusal);
}

Test(guards, symlink_at_the_end_of_a_mask_is_refused)
{
	static const struct fake_entry extra[] = {{ROOT "/.env", PATH_SYMLINK}};
	F.extra = extra;
	F.n_extra = N_ELEMENTS(extra);
	build_ok(FS_BASIC "mask = .env\n");
	expect_refusal("is a symlink");
}

Test(guards, mask_of_an_existing_directory)
{
	build_clean(FS_BASIC "mask = secrets\n");
	const struct mount_op *op = need_mount(ROOT "/secrets", MOUNT_MASK);
	cr_expect_eq(op->flags, MF_DIR);
}

Test(guards, mask_of_an_existing_file)
{
	build_clean(FS_BASIC "mask = .env\n");
	const struct mount_op *op = need_mount(ROOT "/.env", MOUNT_MASK);
	cr_expect_eq(op->flags, 0);
}

Test(guards, mask_of_a_missing_file_creates_a_placeholder)
{
	build_clean(FS_BASIC "mask = .npmrc\n");
	const struct mount_op *op = need_mount(ROOT "/.npmrc", MOUNT_MASK);
	cr_expect_eq(op->flags, MF_CREATE);
}

Test(guards, absolute_mask_outside_the_roots_is_optional)
{
	build_clean(FS_BASIC "mask = /etc/shadow\n");
	const struct mount_op *op = need_mount("/etc/shadow", MOUNT_MASK);
	cr_expect_eq(op->flags, MF_OPTIONAL);
	cr_expect_null(op->source);
}

Test(guards, home_relative_mask_outside_the_roots_is_optional)
{
	build_clean(FS_BASIC "mask = ~/.ssh\n");
	const struct mount_op *op = need_mount("/home/alice/.ssh", MOUNT_MASK);
	cr_expect_eq(op->flags, MF_OPTIONAL);
}

Test(guards, absolute_mask_inside_a_root_is_guarded_like_a_relative_one)
{
	build_clean(FS_BASIC "mask = ~/src/proj/.env\n");
	const struct mount_op *op = need_mount(ROOT "/.env", MOUNT_MASK);
	cr_expect_eq(op->flags & MF_OPTIONAL, 0);
}

Test(guards, mask_hides_guards_beneath_it)
{
	build_clean(FS_BASIC "protect = .git/hooks\nmask = .git\n");
	need_mount(ROOT "/.git", MOUNT_MASK);
	cr_expect_null(mount_at(ROOT "/.git/hooks"));
}

Test(guards, protect_covers_guards_beneath_it)
{
	build_clean(FS_BASIC "protect = .git/hooks\nprotect = .git\n");
	need_mount(ROOT "/.git", MOUNT_PROTECT);
	cr_expect_null(mount_at(ROOT "/.git/hooks"));
}

Test(guards, mask_and_protect_of_the_same_path_is_a_mask)
{
	build_clean(FS_BASIC "protect = .env\nmask = .env\n");
	need_mount(ROOT "/.env", MOUNT_MASK);
}

/* ---- environment ---- */

Test(env, only_kept_variables_pass)
{
	build_clean(FS_BASIC "[env]\nkeep = LANG\n");
	env_is("LANG", "C.UTF-8");
	cr_expect_null(env_get("SECRET_TOKEN"));
	cr_expect_null(env_get("LANGUAGE"));
	cr_expect_null(env_get("LC_ALL"));
	cr_expect_null(env_get("NOEQUALS"));
}

Test(env, nothing_kept_by_default)
{
	build_clean(FS_BASIC);
	cr_expect_null(env_get("LANG"));
	cr_expect_null(env_get("SECRET_TOKEN"));
	/* HOME USER LOGNAME PATH TERM */
	cr_expect_eq(strv_len(PL->envp), 5);
}

Test(env, keep_prefix_glob)
{
	build_clean(FS_BASIC "[env]\nkeep = LC_*\n");
	env_is("LC_ALL", "C");
	env_is("LC_TIME", "en_GB.UTF-8");
	cr_expect_null(env_get("LANG"));
}

Test(env, file_lines)
{
	F.file_text = "# a comment\n"
	              "\n"
	              "FOO=bar\n"
	              "   BAZ=qux  \r\n"
	              "EMPTY=\n"
	              "WITH_EQ=a=b";
	build_clean(FS_BASIC "[env]\nfile = /etc/cordon/pi.env\n");
	env_is("FOO", "bar");
	env_is("BAZ", "qux");
	env_is("EMPTY", "");
	env_is("WITH_EQ", "a=b");
}

Test(env, file_overrides_kept_variable)
{
	F.file_text = "LANG=fr_FR.UTF-8\n";
	build_clean(FS_BASIC "[env]\nkeep = LANG\nfile = /etc/cordon/pi.env\n");
	env_is("LANG", "fr_FR.UTF-8");
}

Test(env, set_overrides_file)
{
	F.file_text = "FOO=from-file\nBAR=file\n";
	build_clean(FS_BASIC "[env]\nset = FOO=from-set\nfile = /etc/cordon/pi.env\n");
	env_is("FOO", "from-set");
	env_is("BAR", "file");
}

Test(env, set_overrides_kept_variable)
{
	build_clean(FS_BASIC "[env]\nkeep = LANG\nset = LANG=C\n");
	env_is("LANG", "C");
}

Test(env, bad_env_file_line_is_refused)
{
	F.file_text = "FOO=bar\nexport BAZ=1\n";
	build_ok(FS_BASIC "[env]\nfile = /etc/cordon/pi.env\n");
	expect_refusal("/etc/cordon/pi.env:2");
}

Test(env, unreadable_env_file_stops_the_run)
{
	build(FS_BASIC "[env]\nfile = /etc/cordon/missing.env\n");
	cr_expect(PL == NULL || PL->refusal != NULL, "a plan that can run without its env file");
}

/* plan.h: "Policy errors that depend on the invocation (duplicate mount
 * targets, an unreadable env file) go to d". */
Test(env, identity_comes_from_the_run_account)
{
	build_clean(FS_BASIC "[env]\nkeep = HOME\nkeep = USER\nkeep = LOGNAME\nset = HOME=/set\n");
	env_is("HOME", "/home/alice");
	env_is("USER", "alice");
	env_is("LOGNAME", "alice");
}

Test(env, identity_from_the_file_is_overridden)
{
	F.file_text = "USER=root\nHOME=/root\n";
	build_clean(FS_BASIC "[env]\nfile = /etc/cordon/pi.env\n");
	env_is("HOME", "/home/alice");
	env_is("USER", "alice");
}

Test(env, path_has_a_default)
{
	build_clean(FS_BASIC);
	env_is("PATH", "/usr/local/bin:/usr/bin:/bin");
}

Test(env, path_from_the_policy_wins_over_the_default)
{
	build_clean(FS_BASIC "[env]\nset = PATH=/opt/bin:/usr/bin\n");
	env_is("PATH", "/opt/bin:/usr/bin");
}

Test(env, kept_path_wins_over_the_default)
{
	static char *environ_[] = {"PATH=/custom/bin", NULL};
	struct invocation inv = inv_default();
	inv.environ = environ_;
	build_clean_inv(FS_BASIC "[env]\nkeep = PATH\n", &inv);
	env_is("PATH", "/custom/bin");
}

Test(env, safe_term_is_passed_through_without_keep)
{
	build_clean(FS_BASIC);
	env_is("TERM", "xterm-256color");
}

Test(env, unsafe_term_becomes_dumb)
{
	static char *environ_[] = {"TERM=../../tmp/evil", NULL};
	struct invocation inv = inv_default();
	inv.environ = environ_;
	build_clean_inv(FS_BASIC, &inv);
	env_is("TERM", "dumb");
}

Test(env, term_with_a_space_or_leading_dot_becomes_dumb)
{
	static char *environ_[] = {"TERM=.hidden", NULL};
	struct invocation inv = inv_default();
	inv.environ = environ_;
	build_clean_inv(FS_BASIC, &inv);
	env_is("TERM", "dumb");
	teardown();
	static char *environ2[] = {"TERM=xterm 256", NULL};
	inv.environ = environ2;
	build_clean_inv(FS_BASIC, &inv);
	env_is("TERM", "dumb");
}

Test(env, empty_or_missing_term_becomes_dumb)
{
	static char *environ_[] = {"TERM=", NULL};
	struct invocation inv = inv_default();
	inv.environ = environ_;
	build_clean_inv(FS_BASIC, &inv);
	env_is("TERM", "dumb");
	teardown();
	inv.environ = NULL;
	build_clean_inv(FS_BASIC, &inv);
	env_is("TERM", "dumb");
}

/* The contract's own example policy has "keep = TERM"; a kept TERM must
 * not skip the check that a TERM taken from the invoker gets. */
Test(env, kept_unsafe_term_becomes_dumb)
{
	static char *environ_[] = {"TERM=../../tmp/evil", NULL};
	struct invocation inv = inv_default();
	inv.environ = environ_;
	build_clean_inv(FS_BASIC "[env]\nkeep = TERM\n", &inv);
	env_is("TERM", "dumb");
}

/* ---- argv ---- */

Test(argv, command_line_wins_over_the_policy)
{
	build_clean(FS_BASIC);
	cr_assert_eq(strv_len(PL->argv), 2);
	cr_expect_str_eq(PL->argv[0], "make");
	cr_expect_str_eq(PL->argv[1], "test");
}

Test(argv, policy_command_is_split_on_whitespace)
{
	struct invocation inv = inv_default();
	inv.argv = no_argv;
	build_clean_inv("[sandbox]\ncommand = /usr/bin/pi-real  --model\tbig  x\n[filesystem]\n" PROJ, &inv);
	cr_assert_eq(strv_len(PL->argv), 4);
	cr_expect_str_eq(PL->argv[0], "/usr/bin/pi-real");
	cr_expect_str_eq(PL->argv[1], "--model");
	cr_expect_str_eq(PL->argv[2], "big");
	cr_expect_str_eq(PL->argv[3], "x");
}

Test(argv, null_argv_uses_the_policy_command)
{
	struct invocation inv = inv_default();
	inv.argv = NULL;
	build_clean_inv(FS_BASIC, &inv);
	cr_assert_eq(strv_len(PL->argv), 1);
	cr_expect_str_eq(PL->argv[0], "/bin/sh");
}

/* explain shows the plan with a note; run refuses an empty argv itself
 * (launcher/run.c, t_no_command_is_refused). */
Test(argv, no_command_at_all_is_a_note_not_a_refusal)
{
	struct invocation inv = inv_default();
	inv.argv = no_argv;
	build_clean_inv("[filesystem]\n" PROJ, &inv);
	cr_assert_not_null(PL->argv);
	cr_expect_null(PL->argv[0]);
	bool noted = false;
	for (char **n = PL->notes; *n; n++)
		noted |= strstr(*n, "no command: run needs CMD or [sandbox] command") != NULL;
	cr_expect(noted, "no note about the missing command");
	TXT = plan_explain_text(PL, false);
	cr_expect(strstr(TXT, "REFUSED") == NULL, "%s", TXT);
	cr_expect(strstr(TXT, "command      (none)") != NULL, "%s", TXT);
	cr_expect(strstr(TXT, "note         no command: run needs CMD or [sandbox] command") != NULL, "%s", TXT);
}

/* ---- the invoker's git identity ---- */

static bool has_note(const char *needle)
{
	for (char **n = PL->notes; n && *n; n++)
		if (strstr(*n, needle))
			return true;
	return false;
}

Test(env, git_identity_comes_from_the_invokers_gitconfig_and_nothing_else)
{
	static const struct fake_user_file files[] = {
	    {"/home/alice/.gitconfig",
	     "[user]\n\tname = Alice Example\n\temail = alice@example.org\n[credential]\n"
	     "\thelper = store\n[core]\n\tsshCommand = evil\n",
	     0},
	};
	F.user_files = files;
	F.n_user_files = N_ELEMENTS(files);
	build_clean(FS_BASIC);
	env_is("GIT_AUTHOR_NAME", "Alice Example");
	env_is("GIT_COMMITTER_NAME", "Alice Example");
	env_is("GIT_AUTHOR_EMAIL", "alice@example.org");
	env_is("GIT_COMMITTER_EMAIL", "alice@example.org");
	for (char **e = PL->envp; *e; e++) {
		cr_expect(strstr(*e, "store") == NULL && strstr(*e, "evil") == NULL, "%s reached the sandbox", *e);
		cr_expect(!str_has_prefix(*e, "GIT_CONFIG"), "%s reached the sandbox", *e);
	}
}

Test(env, gitconfig_wins_over_the_xdg_file_key_by_key)
{
	static const struct fake_user_file files[] = {
	    {"/home/alice/.config/git/config", "[user]\nname = Xdg Name\nemail = xdg@example.org\n", 0},
	    {"/home/alice/.gitconfig", "[user]\nemail = home@example.org\n", 0},
	};
	F.user_files = files;
	F.n_user_files = N_ELEMENTS(files);
	build_clean(FS_BASIC);
	env_is("GIT_AUTHOR_NAME", "Xdg Name");
	env_is("GIT_AUTHOR_EMAIL", "home@example.org");
}

Test(env, policy_git_identity_wins)
{
	static const struct fake_user_file files[] = {
	    {"/home/alice/.gitconfig", "[user]\nname = Alice\nemail = alice@example.org\n", 0},
	};
	F.user_files = files;
	F.n_user_files = N_ELEMENTS(files);
	build_clean(FS_BASIC "[env]\nset = GIT_AUTHOR_NAME=Bot\n");
	env_is("GIT_AUTHOR_NAME", "Bot");
	env_is("GIT_COMMITTER_NAME", "Alice");
	env_is("GIT_AUTHOR_EMAIL", "alice@example.org");
}

Test(env, symlinked_or_invalid_gitconfig_gives_no_identity_and_a_note)
{
	static const struct fake_user_file link[] = {{"/home/alice/.gitconfig", NULL, ELOOP}};
	F.user_files = link;
	F.n_user_files = 1;
	build_clean(FS_BASIC);
	cr_expect_null(env_get("GIT_AUTHOR_NAME"));
	cr_expect(has_note("~/.gitconfig is a symlink"));
	plan_free(PL);
	PL = NULL;
	static const struct fake_user_file bad[] = {{"/home/alice/.gitconfig", "[user\nname = A\n", 0}};
	F.user_files = bad;
	build_clean(FS_BASIC);
	cr_expect_null(env_get("GIT_AUTHOR_NAME"));
	cr_expect(has_note("~/.gitconfig is not valid git config"));
	plan_free(PL);
	PL = NULL;
	/* Control: no file at all is no note. */
	F.n_user_files = 0;
	build_clean(FS_BASIC);
	cr_expect_null(env_get("GIT_AUTHOR_NAME"));
	cr_expect_not(has_note("git identity"));
}

/* ---- identity, namespaces, copied settings ---- */

#define NS_ALWAYS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

Test(identity, unprivileged_uses_a_user_namespace)
{
	build_clean(FS_BASIC);
	cr_expect_eq(PL->clone_flags, NS_ALWAYS | CLONE_NEWUSER | CLONE_NEWNET);
	cr_expect_not(PL->privileged);
}

/* As root, the policy's account: pi-agent (uid 900). */
static struct invocation inv_root(void)
{
	struct invocation inv = inv_default();
	inv.privileged = true;
	inv.run_uid = 900;
	inv.run_gid = 900;
	inv.run_user = "pi-agent";
	inv.run_home = "/home/pi-agent";
	return inv;
}

/* Under sudo: alice (1000) invoked it. */
static struct invocation inv_runner(void)
{
	struct invocation inv = inv_root();
	inv.runner = true;
	return inv;
}

#define AGENT_CMD "[sandbox]\ncommand = /bin/sh\nuser = pi-agent\n[filesystem]\nro = /usr\n" PROJ

Test(identity, root_without_user_is_refused)
{
	struct invocation inv = inv_default();
	inv.privileged = true;
	build_ok_inv(FS_BASIC, &inv);
	expect_refusal("as root the policy must name the account the command runs as");
	inv.runner = true;
	build_ok_inv(FS_BASIC, &inv);
	expect_refusal("under sudo the policy must name the account");
}

Test(identity, runner_refuses_root_and_the_invoker_as_user)
{
	struct invocation inv = inv_runner();
	inv.run_uid = 0;
	build_ok_inv(AGENT_CMD, &inv);
	expect_refusal("under sudo the command never runs as root");
	inv.run_uid = 1000;
	build_ok_inv(AGENT_CMD, &inv);
	expect_refusal("is the invoking user");
	inv = inv_runner();
	build_clean_inv(AGENT_CMD, &inv);
}

Test(identity, runner_without_roots_is_refused)
{
	struct invocation inv = inv_runner();
	build_ok_inv("[sandbox]\ncommand = /bin/sh\nuser = pi-agent\n[filesystem]\nro = /usr\n[user:bob]\n" PROJ, &inv);
	expect_refusal("no project roots for alice");
}

Test(identity, runner_maps_the_invokers_project_to_the_account)
{
	struct invocation inv = inv_runner();
	build_clean_inv(AGENT_CMD, &inv);
	cr_expect(PL->idmap && PL->no_setid);
	cr_expect_eq(PL->idmap_uid, 1000);
	const struct mount_op *op = need_mount("/home/alice/src/proj", MOUNT_BIND);
	cr_expect(op->flags & MF_IDMAP);
	F.owner_set = true;
	F.owner_uid = 1001;
	build_ok_inv(AGENT_CMD, &inv);
	expect_refusal("is owned by uid 1001, not by alice");
}

Test(identity, plain_root_maps_the_project_owner_unless_it_is_the_account)
{
	struct invocation inv = inv_root();
	F.owner_set = true;
	F.owner_uid = 0;
	build_clean_inv(AGENT_CMD, &inv);
	cr_expect(PL->idmap);
	cr_expect_eq(PL->idmap_uid, 0);
	F.owner_uid = 900;
	build_clean_inv(AGENT_CMD, &inv);
	cr_expect_not(PL->idmap);
	cr_expect_not(PL->no_setid);
	inv = inv_default();
	build_clean_inv(AGENT_CMD, &inv);
	cr_expect_not(PL->idmap, "unprivileged: never");
}

Test(identity, privileged_has_no_user_namespace)
{
	struct invocation inv = inv_default();
	inv.privileged = true;
	build_clean_inv("[sandbox]\nuser = root\n" FS_BASIC, &inv);
	cr_expect_eq(PL->clone_flags, NS_ALWAYS | CLONE_NEWNET);
	cr_expect(PL->privileged);
}

Test(identity, host_network_has_no_net_namespace)
{
	build_clean(FS_BASIC "[network]\nmode = host\n");
	cr_expect_eq(PL->clone_flags & CLONE_NEWNET, 0);
	cr_expect_eq(PL->net.mode, NET_HOST);
}

Test(identity, proxy_network_has_a_net_namespace)
{
	build_clean(FS_BASIC "[network]\nmode = proxy\nallow = github.com:443\n");
	cr_expect(PL->clone_flags & CLONE_NEWNET);
	cr_expect_eq(PL->net.mode, NET_PROXY);
}

Test(identity, unprivileged_runs_as_the_invoker)
{
	build_clean("[sandbox]\ncommand = x\nuser = pi-agent\n[filesystem]\n" PROJ);
	cr_expect_str_eq(PL->run_user, "alice");
	cr_expect_eq(PL->run_uid, 1000);
	cr_expect_str_eq(PL->run_home, "/home/alice");
}

static struct invocation inv_root_agent(void)
{
	struct invocation inv = inv_default();
	inv.privileged = true;
	inv.run_uid = 990;
	inv.run_gid = 980;
	inv.run_user = "pi-agent";
	inv.run_home = "/var/lib/pi-agent";
	return inv;
}

#define RUNNER "[sandbox]\ncommand = x\nuser = pi-agent\n[filesystem]\n" PROJ

Test(identity, privileged_runs_as_the_policy_user)
{
	struct invocation inv = inv_root_agent();
	build_clean_inv(RUNNER, &inv);
	cr_expect_eq(PL->run_uid, 990);
	cr_expect_eq(PL->run_gid, 980);
	cr_expect_str_eq(PL->run_user, "pi-agent");
	cr_expect_str_eq(PL->run_home, "/var/lib/pi-agent");
	cr_expect_eq(PL->invoker_uid, 1000);
	cr_expect_str_eq(PL->invoker_name, "alice");
	cr_expect_str_eq(PL->invoker_home, "/home/alice");
}

Test(identity, privileged_home_and_env_follow_the_run_account)
{
	struct invocation inv = inv_root_agent();
	build_clean_inv(RUNNER, &inv);
	cr_expect(need_mount("/var/lib/pi-agent", MOUNT_TMPFS)->flags & MF_HOME);
	cr_expect_null(mount_at("/home/alice"));
	env_is("HOME", "/var/lib/pi-agent");
	env_is("USER", "pi-agent");
	env_is("LOGNAME", "pi-agent");
	/* ~ is still the invoker's home */
	need_mount("/home/alice/src/proj", MOUNT_BIND);
}

Test(identity, privileged_with_unknown_account_is_refused)
{
	struct invocation inv = inv_root_agent();
	inv.run_user = NULL;
	inv.run_home = NULL;
	build_ok_inv(RUNNER, &inv);
	expect_refusal("no such account");
}

Test(identity, root_home_is_refused)
{
	/* unprivileged, the command runs as the invoker: their home counts */
	struct invocation inv = inv_default();
	inv.home = "/";
	inv.run_home = "/";
	build_ok_inv(FS_BASIC, &inv);
	expect_refusal("home directory");
	cr_expect_null(mount_at("/"));
}

Test(identity, settings_are_copied)
{
	build_clean(FS_BASIC "[limits]\ntimeout = 90s\nnofile = 1024\n"
	                     "[landlock]\nmode = best-effort\n[sandbox]\ndie_with_parent = false\nhostname = box\n");
	cr_expect_eq(PL->timeout_ms, 90000);
	cr_expect_eq(PL->memory_bytes, 0);
	cr_expect_eq(PL->pids, 0);
	cr_expect_eq(PL->nofile, 1024);
	cr_expect_eq(PL->landlock, LANDLOCK_BEST_EFFORT);
	cr_expect_not(PL->die_with_parent);
	cr_expect_str_eq(PL->hostname, "box");
}

/* memory, pids and cpu reach the plan with the policy's own text of the
 * limits, and size every tmpfs; no host detection happens here (the
 * launcher fills cgroup_driver or cgroup_refusal). */
Test(identity, memory_pids_and_cpu_are_planned)
{
	build_clean("[limits]\nmemory = 64M\ntimeout = 2s\npids = 64\ncpu = 1.5\n" FS_BASIC);
	cr_expect_eq(PL->memory_bytes, 64ULL << 20);
	cr_expect_eq(PL->pids, 64);
	cr_expect_eq(PL->cpu_milli, 1500);
	cr_expect_str_eq(PL->memory_text, "64M");
	cr_expect_str_eq(PL->timeout_text, "2s");
	cr_expect_null(PL->cgroup_driver);
	cr_expect_null(PL->cgroup_refusal);
	cr_expect_eq(plan_tmpfs_size(PL), 64ULL << 20);
	TXT = plan_explain_text(PL, false);
	cr_expect(strstr(TXT, "memory 64M (67108864 bytes, no swap)") != NULL, "%s", TXT);
	cr_expect(strstr(TXT, "cpu 1.5 (150000 us per 100000 us)") != NULL, "%s", TXT);
	cr_expect(strstr(TXT, "tmpfs size   64M each (the memory limit)") != NULL, "%s", TXT);
}

/* Without a memory limit each tmpfs gets a quarter of the RAM the
 * launcher found; with neither, the kernel's default (no size=). */
Test(identity, tmpfs_size_without_a_memory_limit)
{
	build_clean(FS_BASIC);
	cr_expect_eq(plan_tmpfs_size(PL), 0);
	PL->host_ram_bytes = 8ULL << 30;
	cr_expect_eq(plan_tmpfs_size(PL), 2ULL << 30);
	TXT = plan_explain_text(PL, false);
	cr_expect(strstr(TXT, "tmpfs size   2G each (a quarter of RAM)") != NULL, "%s", TXT);
}

/* What the launcher found is shown, and so is why run would refuse. */
Test(identity, explain_shows_the_cgroup_driver_or_refusal)
{
	build_clean("[limits]\nmemory = 64M\n" FS_BASIC);
	PL->cgroup_refusal = strdup("memory: not writable");
	TXT = plan_explain_text(PL, false);
	cr_expect(strstr(TXT, "cannot be applied here, run refuses: memory: not writable") != NULL, "%s", TXT);
}

/* Pid 1 could not connect to a shared proxy at a path longer than a Unix
 * socket address holds. */
Test(identity, socket_path_must_fit_a_unix_address)
{
	char text[512];
	snprintf(text, sizeof(text), "[network]\nmode = proxy\nsocket = ~/%.120d.sock\n" FS_BASIC, 0);
	build(text);
	cr_expect_null(PL);
	cr_expect(has_diag(3, "is too long for a Unix socket address (at most 107 bytes)"));
	snprintf(text, sizeof(text), "[network]\nmode = proxy\nsocket = /run/%.90d.sock\n" FS_BASIC, 0);
	build_clean(text);
}

Test(identity, defaults)
{
	build_clean(FS_BASIC);
	cr_expect_str_eq(PL->hostname, "cordon");
	cr_expect_str_eq(PL->seccomp_profile, "default");
	cr_expect_eq(PL->landlock, LANDLOCK_REQUIRE);
	cr_expect(PL->die_with_parent);
	cr_expect_null(PL->audit_log);
	cr_expect_str_eq(PL->policy_name, "pi");
	cr_expect_str_eq(PL->policy_file, POLICY_FILE);
	cr_expect_eq(PL->policy, P);
}

Test(identity, policy_name_from_the_name_key)
{
	build_clean("[sandbox]\nname = agent\ncommand = x\n[filesystem]\n" PROJ);
	cr_expect_str_eq(PL->policy_name, "agent");
}

/* ---- explain ---- */

static const char *EXPLAIN_POLICY = FS_BASIC "tmpfs = /tmp\nro_try = /lib64\nmask = .env\nprotect = .git/hooks\n"
                                             "[network]\nmode = proxy\nallow = *.github.com:443\n"
                                             "allow = [2001:db8::1]\ndeny = gist.github.com\n";

Test(explain, text_lists_every_mount)
{
	build_clean(EXPLAIN_POLICY);
	TXT = plan_explain_text(PL, false);
	cr_assert_not_null(TXT);
	for (size_t i = 0; i < PL->n_mounts; i++)
		cr_expect(strstr(TXT, PL->mounts[i].dest) != NULL, "%s missing from explain", PL->mounts[i].dest);
	cr_expect(strstr(TXT, "*.github.com:443") != NULL);
	cr_expect(strstr(TXT, "[2001:db8::1]") != NULL);
	cr_expect(strstr(TXT, "REFUSED") == NULL);
}

/* What a person checks first comes first: the project, the mounts, the
 * network, the environment; then namespaces, Landlock and seccomp. */
Test(explain, text_leads_with_project_mounts_network_environment)
{
	build_clean(EXPLAIN_POLICY);
	TXT = plan_explain_text(PL, false);
	const char *order[] = {"policy ",       "command ",    "project      /home/alice/src/proj",
	                       "\nmounts, ",    "\nnetwork ",  "\nenvironment ",
	                       "\nnamespaces ", "\nlandlock ", "\nseccomp ",
	                       "\nlimits "};
	const char *prev = TXT;
	for (size_t i = 0; i < N_ELEMENTS(order); i++) {
		const char *at = strstr(TXT, order[i]);
		cr_assert_not_null(at, "\"%s\" missing from explain:\n%s", order[i], TXT);
		cr_expect(at >= prev, "\"%s\" comes too early:\n%s", order[i], TXT);
		prev = at;
	}
}

/* The seccomp rules fold into one line unless asked for. */
Test(explain, seccomp_rules_are_folded_unless_verbose)
{
	build_clean(EXPLAIN_POLICY);
	cr_assert_not_null(PL->seccomp);
	const struct sc_layer *ly = &PL->seccomp->layers[0];
	cr_assert_gt(ly->n_rules, 10);
	TXT = plan_explain_text(PL, false);
	cleanup_free char *summary = xasprintf("seccomp      profile default: %zu rules, default allow;", ly->n_rules);
	cr_expect(strstr(TXT, summary) != NULL, "no \"%s\" in:\n%s", summary, TXT);
	cr_expect(strstr(TXT, ly->rules[0].text) == NULL, "a rule is listed without --verbose:\n%s", TXT);
	free(TXT);
	TXT = plan_explain_text(PL, true);
	for (size_t i = 0; i < ly->n_rules; i++)
		cr_expect(strstr(TXT, ly->rules[i].text) != NULL, "rule %s missing with --verbose", ly->rules[i].text);
	cr_expect(strstr(TXT, "layer 1: default allow") != NULL, "%s", TXT);
}

Test(explain, text_shows_the_refusal)
{
	struct invocation inv = inv_default();
	inv.cwd = "/etc";
	build_ok_inv(EXPLAIN_POLICY, &inv);
	TXT = plan_explain_text(PL, false);
	cr_assert_not_null(TXT);
	cr_expect(strstr(TXT, "REFUSED") != NULL);
	cr_expect(strstr(TXT, "cwd /etc is outside the allowed project roots") != NULL);
}

/* Landlock's ABI is the host's: run refuses (require), check does not,
 * explain says so. */
Test(explain, text_says_run_would_refuse_for_want_of_a_landlock_abi)
{
	build_clean(FS_BASIC "[landlock]\ntcp_bind = 8080\n");
	cr_assert_eq(PL->landlock_min_abi, 4);
	PL->kernel_landlock_abi = 3;
	TXT = plan_explain_text(PL, false);
	cr_expect(strstr(TXT, "this kernel offers ABI 3; run would refuse: the policy needs ABI 4") != NULL, "%s", TXT);
	free(TXT);
	PL->kernel_landlock_abi = 4;
	TXT = plan_explain_text(PL, false);
	cr_expect(strstr(TXT, "run would refuse") == NULL, "%s", TXT);
	free(TXT);
	PL->kernel_landlock_abi = 0;
	TXT = plan_explain_text(PL, false);
	cr_expect(strstr(TXT, "run would refuse: this kernel has no Landlock") != NULL, "%s", TXT);
}

Test(explain, json_is_one_object)
{
	build_clean(EXPLAIN_POLICY);
	TXT = plan_explain_json(PL);
	cr_assert_not_null(TXT);
	size_t n = strlen(TXT);
	cr_assert_gt(n, 3);
	cr_expect_eq(TXT[0], '{');
	cr_expect_str_eq(TXT + n - 2, "}\n");
	for (size_t i = 0; i < PL->n_mounts; i++) {
		char want[512];
		snprintf(want, sizeof(want), "\"dest\":\"%s\"", PL->mounts[i].dest);
		cr_expect(strstr(TXT, want) != NULL, "%s missing from JSON", want);
	}
	cr_expect(strstr(TXT, "\"refusal\":null") != NULL);
	cr_expect(strstr(TXT, "\"project_roots\":[\"" ROOT "\"]") != NULL);
}

Test(explain, json_escapes_strings)
{
	static char *argv_[] = {"printf", "a\"b\\c\n", NULL};
	struct invocation inv = inv_default();
	inv.argv = argv_;
	build_clean_inv(FS_BASIC, &inv);
	TXT = plan_explain_json(PL);
	cr_assert_not_null(TXT);
	cr_expect(strstr(TXT, "\"command\":[\"printf\",\"a\\\"b\\\\c\\n\"]") != NULL, "%s", TXT);
}

Test(explain, json_is_utf8_whatever_the_bytes)
{
	/* Well-formed UTF-8 stays as it is; any other byte (a truncated
	 * sequence, an overlong form, a surrogate, a lone continuation byte)
	 * becomes U+FFFD, escaped. */
	static char *argv_[] = {"echo", "caf\xc3\xa9 \xe2\x82\xac", "\xff\xc3 \xc0\xaf \xed\xa0\x80 \x80", NULL};
	struct invocation inv = inv_default();
	inv.argv = argv_;
	build_clean_inv(FS_BASIC, &inv);
	TXT = plan_explain_json(PL);
	cr_assert_not_null(TXT);
	cr_expect(strstr(TXT, "\"command\":[\"echo\",\"caf\xc3\xa9 \xe2\x82\xac\",\"\\ufffd\\ufffd "
	                      "\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\"]") != NULL,
	          "%s", TXT);
}

Test(explain, json_shows_the_refusal)
{
	struct invocation inv = inv_default();
	inv.cwd = "/etc";
	build_ok_inv("[filesystem]\n" PROJ, &inv);
	TXT = plan_explain_json(PL);
	cr_assert_not_null(TXT);
	cr_expect(strstr(TXT, "\"refusal\":\"cwd /etc is outside") != NULL, "%s", TXT);
	cr_expect_str_eq(TXT + strlen(TXT) - 2, "}\n");
}

Test(explain, json_of_no_command_is_a_note)
{
	struct invocation inv = inv_default();
	inv.argv = no_argv;
	build_ok_inv("[filesystem]\n" PROJ, &inv);
	TXT = plan_explain_json(PL);
	cr_assert_not_null(TXT);
	cr_expect(strstr(TXT, "\"refusal\":null") != NULL, "%s", TXT);
	cr_expect(strstr(TXT, "\"command\":[]") != NULL, "%s", TXT);
	cr_expect(strstr(TXT, "no command: run needs CMD or [sandbox] command") != NULL, "%s", TXT);
}

/* ---- secrets and the audit log ---- */

TestSuite(secrets, .fini = teardown);

#define SECRETS "[secrets]\nTOKEN = env:SECRET_TOKEN\nkey = file:/etc/cordon/deploy.key\n"

Test(secrets, a_private_tmpfs_at_run_secrets_readable_through_landlock)
{
	build_clean(FS_BASIC SECRETS);
	const struct mount_op *op = need_mount(SECRETS_DIR, MOUNT_SECRETS);
	cr_expect(op->flags & MF_RO);
	cr_assert_eq(PL->n_secrets, 2);
	cr_expect_str_eq(PL->secrets[0].name, "TOKEN");
	cr_expect_eq(PL->secrets[0].kind, SECRET_ENV);
	cr_expect_str_eq(PL->secrets[0].from, "SECRET_TOKEN");
	cr_expect_eq(PL->secrets[1].kind, SECRET_FILE);
	cr_expect_str_eq(PL->secrets[1].from, "/etc/cordon/deploy.key");
	bool readable = false;
	for (size_t i = 0; i < PL->n_ll_rules; i++)
		if (strcmp(PL->ll_rules[i].path, SECRETS_DIR) == 0)
			readable = PL->ll_rules[i].access == LL_READ;
	cr_expect(readable, "no read-only Landlock rule for " SECRETS_DIR);
}

Test(secrets, none_no_mount)
{
	build_clean(FS_BASIC);
	cr_expect_null(mount_at(SECRETS_DIR));
	cr_expect_eq(PL->n_secrets, 0);
}

Test(secrets, the_variable_is_not_passed_on_even_when_kept)
{
	build_clean(FS_BASIC SECRETS "[env]\nkeep = SECRET_*\nkeep = LANG\n");
	cr_expect_null(env_get("SECRET_TOKEN"));
	cr_expect_str_eq(env_get("LANG"), "C.UTF-8");
	bool noted = false;
	for (char **n = PL->notes; *n; n++)
		noted |= strstr(*n, "SECRET_TOKEN is the source of secret TOKEN") != NULL;
	cr_expect(noted, "no note that keep does not pass the secret's variable");
	/* Control: without the secret, keep passes it. */
	teardown();
	build_clean(FS_BASIC "[env]\nkeep = SECRET_*\n");
	cr_expect_str_eq(env_get("SECRET_TOKEN"), "s3cret");
}

Test(secrets, explain_names_sources_never_values)
{
	build_clean(FS_BASIC SECRETS "[env]\nkeep = SECRET_TOKEN\n");
	cleanup_free char *text = plan_explain_text(PL, false);
	cleanup_free char *json = plan_explain_json(PL);
	cr_expect(strstr(text, "TOKEN") && strstr(text, "/etc/cordon/deploy.key"));
	cr_expect(strstr(json, "{\"name\":\"TOKEN\",\"source\":\"env\",\"from\":\"SECRET_TOKEN\""));
	cr_expect_null(strstr(text, "s3cret"));
	cr_expect_null(strstr(json, "s3cret"));
}

Test(secrets, a_bind_above_or_a_mount_below_is_a_policy_error)
{
	build(FS_BASIC "ro = /usr/lib\n" SECRETS "[filesystem]\nro_try = /run\n");
	cr_expect_null(PL);
	cr_expect(D.n > 0 && strstr(D.v[0].msg, "secrets: /run/secrets is below /run"), "%s", D.n ? D.v[0].msg : "");
	teardown();
	build(FS_BASIC SECRETS "[filesystem]\ntmpfs = /run/secrets/x\n");
	cr_expect_null(PL);
	teardown();
	build(FS_BASIC SECRETS "[filesystem]\ntmpfs = /run/secrets\n");
	cr_expect_null(PL);
	teardown();
	build_clean(FS_BASIC SECRETS "[filesystem]\ntmpfs = /run\n"); /* control */
	cr_expect_lt(mount_index("/run"), mount_index(SECRETS_DIR));
}

Test(secrets, audit_log_where_the_sandbox_writes_is_refused)
{
	build_ok(FS_BASIC "[audit]\nlog = ~/src/proj/logs/audit.jsonl\n");
	expect_refusal("could forge its own audit trail");
	teardown();
	build_ok(CMD "[filesystem]\nrw = /var/cache/pi\n" PROJ "[audit]\nlog = /var/cache/pi/a.jsonl\n");
	expect_refusal("/var/cache/pi, which the sandbox can write");
	teardown();
	build_ok(CMD "[filesystem]\nproject_root = ~/src\n[audit]\nlog = /home/alice/src/other/a.jsonl\n");
	expect_refusal("inside the project root /home/alice/src");
	teardown();
	build_ok(CMD "[sandbox]\nhome = /srv/agent-home\n[filesystem]\n" PROJ "[audit]\nlog = /srv/agent-home/a\n");
	expect_refusal("could forge its own audit trail");
	teardown();
	/* Controls: read-only, and elsewhere. */
	build_clean(CMD "[filesystem]\nro = /var/cache/pi\n" PROJ "[audit]\nlog = /var/cache/pi/a.jsonl\n");
	teardown();
	build_clean(FS_BASIC "[audit]\nlog = /var/log/cordon/audit.jsonl\n");
	cr_expect_str_eq(PL->audit_log, "/var/log/cordon/audit.jsonl");
}
