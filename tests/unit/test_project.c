/* Unit tests for which directory a plan mounts (policy/project.c) and how
 * the guards reach git's other directories, with a fake host in memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "policy.h"
#include "util.h"

struct fake_file {
	const char *path;
	enum path_state state;
	const char *content; /* for files read with read_nofollow */
};

static const struct fake_file *FS;
static size_t N_FS;

static const struct fake_file *find(const char *path)
{
	for (size_t i = 0; i < N_FS; i++)
		if (strcmp(FS[i].path, path) == 0)
			return &FS[i];
	return NULL;
}

/* Paths in these tests are canonical except for ".." in pointers. */
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
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else if (!(n == 1 && p[0] == '.')) {
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

static enum path_state fake_lstat(void *ctx, const char *path)
{
	(void)ctx;
	cleanup_free char *c = canon(path);
	const struct fake_file *f = find(c);
	return f ? f->state : PATH_MISSING;
}

static char *fake_resolve(void *ctx, const char *path, char *const *untrusted, char **why)
{
	(void)untrusted;
	(void)why;
	if (fake_lstat(ctx, path) == PATH_MISSING) {
		errno = ENOENT;
		return NULL;
	}
	return canon(path);
}

static char *fake_read(void *ctx, const char *path, size_t max, size_t *len, char **why)
{
	(void)ctx;
	(void)max;
	(void)why;
	const struct fake_file *f = find(path);
	if (!f || f->state != PATH_FILE) {
		errno = ENOENT;
		return NULL;
	}
	const char *c = f->content ? f->content : "";
	*len = strlen(c);
	return xstrdup(c);
}

static char **fake_list(void *ctx, const char *path, size_t max)
{
	(void)ctx;
	(void)max;
	strv_t names = {0};
	size_t n = strlen(path);
	for (size_t i = 0; i < N_FS; i++) {
		const char *p = FS[i].path;
		if (strncmp(p, path, n) == 0 && p[n] == '/' && !strchr(p + n + 1, '/'))
			strv_push(&names, xstrdup(p + n + 1));
	}
	return names.v ? names.v : xcalloc(1, sizeof(char *));
}

static char *fake_read_file(void *ctx, const char *path, size_t *len, char **why)
{
	(void)ctx;
	(void)path;
	(void)len;
	*why = xstrdup("no");
	return NULL;
}

static const struct plan_host host = {
    .resolve = fake_resolve,
    .lstat = fake_lstat,
    .read_file = fake_read_file,
    .read_nofollow = fake_read,
    .list_dir = fake_list,
};

static char *default_argv[] = {"sh", NULL};
static char *no_env[] = {NULL};

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
}

TestSuite(project, .fini = teardown);
TestSuite(gitdirs, .fini = teardown);

#define SRC "/home/alice/src"
#define POLICY                                                                                                         \
	"[filesystem]\nro = /usr\nproject_root = ~/src\nmask = .env\nprotect = .git/hooks/\nprotect = "                \
	".git/config\nprotect = .git/commondir\nprotect = .git/config.worktree\nprotect = .mcp.json\n"

#define REPO(dir)                                                                                                      \
	{dir, PATH_DIR, NULL}, {dir "/.git", PATH_DIR, NULL}, {dir "/.git/HEAD", PATH_FILE, "ref: refs/heads/main\n"}, \
	    {dir "/.git/objects", PATH_DIR, NULL}, {dir "/.git/hooks", PATH_DIR, NULL},                                \
	    {dir "/.git/config", PATH_FILE, NULL}, {dir "/.git/info", PATH_DIR, NULL},                                 \
	{                                                                                                              \
		dir "/.git/info/exclude", PATH_FILE, NULL                                                              \
	}

#define BASE                                                                                                           \
	{"/usr", PATH_DIR, NULL}, {"/home/alice", PATH_DIR, NULL},                                                     \
	{                                                                                                              \
		SRC, PATH_DIR, NULL                                                                                    \
	}

static void build(const struct fake_file *fs, size_t n, const char *cwd, char **projects)
{
	FS = fs;
	N_FS = n;
	P = policy_parse("/p.ini", POLICY, strlen(POLICY), &D);
	cr_assert_eq(D.n, 0);
	struct invocation inv = {.uid = 1000,
	                         .gid = 1000,
	                         .user = "alice",
	                         .home = "/home/alice",
	                         .run_uid = 1000,
	                         .run_gid = 1000,
	                         .run_user = "alice",
	                         .run_home = "/home/alice",
	                         .cwd = cwd,
	                         .argv = default_argv,
	                         .projects = projects,
	                         .environ = no_env};
	PL = plan_build(P, &inv, &host, &D);
	cr_assert_not_null(PL);
}

static const struct mount_op *op_at(const char *dest)
{
	for (size_t i = 0; i < PL->n_mounts; i++)
		if (strcmp(PL->mounts[i].dest, dest) == 0)
			return &PL->mounts[i];
	return NULL;
}

static void need(const char *dest, enum mount_kind kind)
{
	const struct mount_op *op = op_at(dest);
	cr_assert_not_null(op, "no mount at %s", dest);
	cr_assert_eq(op->kind, kind, "%s is %s", dest, mount_kind_name(op->kind));
}

Test(project, the_work_tree_top_not_the_root)
{
	static const struct fake_file fs[] = {
	    BASE, REPO(SRC "/app"), {SRC "/app/pkg", PATH_DIR, NULL}, {SRC "/other", PATH_DIR, NULL}};
	build(fs, N_ELEMENTS(fs), SRC "/app/pkg", NULL);
	cr_assert_null(PL->refusal, "%s", PL->refusal);
	cr_assert_eq(PL->n_projects, 1);
	cr_expect_str_eq(PL->projects[0].dir, SRC "/app");
	cr_expect_str_eq(PL->projects[0].git_dir, SRC "/app/.git");
	need(SRC "/app", MOUNT_BIND);
	cr_expect_null(op_at(SRC));
	cr_expect_null(op_at(SRC "/other"));
	need(SRC "/app/.git/hooks", MOUNT_PROTECT);
	need(SRC "/app/.env", MOUNT_MASK);
	cr_expect_eq(PL->cwd ? strcmp(PL->cwd, SRC "/app/pkg") : -1, 0);
}

Test(project, an_empty_dot_git_is_not_a_repository)
{
	/* An earlier run's placeholder .git (empty) must not make its
	 * directory the project. */
	static const struct fake_file fs[] = {
	    BASE, {SRC "/app", PATH_DIR, NULL}, {SRC "/app/.git", PATH_DIR, NULL}, {SRC "/app/x", PATH_DIR, NULL}};
	build(fs, N_ELEMENTS(fs), SRC "/app/x", NULL);
	cr_assert_eq(PL->n_projects, 1);
	cr_expect_str_eq(PL->projects[0].dir, SRC "/app/x");
}

Test(project, never_above_the_root)
{
	static const struct fake_file fs[] = {BASE, REPO("/home/alice"), {SRC "/x", PATH_DIR, NULL}};
	build(fs, N_ELEMENTS(fs), SRC "/x", NULL);
	cr_assert_eq(PL->n_projects, 1);
	cr_expect_str_eq(PL->projects[0].dir, SRC "/x");
	cr_expect_null(PL->projects[0].git_dir);
}

Test(project, the_cwd_when_there_is_no_git)
{
	static const struct fake_file fs[] = {BASE, {SRC "/a", PATH_DIR, NULL}, {SRC "/a/b", PATH_DIR, NULL}};
	build(fs, N_ELEMENTS(fs), SRC "/a/b", NULL);
	cr_expect_str_eq(PL->projects[0].dir, SRC "/a/b");
	cr_expect(strstr(PL->projects[0].why, "the working directory") != NULL);
}

Test(project, outside_lists_the_roots)
{
	static const struct fake_file fs[] = {BASE, {"/etc", PATH_DIR, NULL}};
	build(fs, N_ELEMENTS(fs), "/etc", NULL);
	cr_assert_not_null(PL->refusal);
	cr_expect_str_eq(PL->refusal, "cwd /etc is outside the allowed project roots (/home/alice/src)");
}

Test(project, named_projects_narrow)
{
	static const struct fake_file fs[] = {BASE, REPO(SRC "/a"), REPO(SRC "/b")};
	char *projects[] = {SRC "/a", SRC "/a", NULL};
	build(fs, N_ELEMENTS(fs), SRC "/a", projects);
	cr_assert_null(PL->refusal, "%s", PL->refusal);
	cr_expect_eq(PL->n_projects, 1);
	cr_expect_null(op_at(SRC "/b"));
}

Test(gitdirs, missing_commondir_placeholder_names_its_own_directory)
{
	static const struct fake_file fs[] = {BASE, REPO(SRC "/app")};
	build(fs, N_ELEMENTS(fs), SRC "/app", NULL);
	const struct mount_op *op = op_at(SRC "/app/.git/commondir");
	cr_assert_not_null(op);
	cr_expect_eq(op->flags & (MF_CREATE | MF_SELFREF), MF_CREATE | MF_SELFREF);
}

Test(gitdirs, exclude_lists_the_guarded_work_tree_paths)
{
	static const struct fake_file fs[] = {BASE, REPO(SRC "/app")};
	build(fs, N_ELEMENTS(fs), SRC "/app", NULL);
	const struct mount_op *op = op_at(SRC "/app/.git/info/exclude");
	cr_assert_not_null(op);
	cr_expect_eq(op->kind, MOUNT_GITEXCLUDE);
	cr_expect(strstr(op->content, "/.env\n") != NULL, "%s", op->content);
	cr_expect(strstr(op->content, "/.mcp.json\n") != NULL, "%s", op->content);
	cr_expect(strstr(op->content, ".git") == NULL, "nothing inside the git directory: %s", op->content);
}

Test(gitdirs, submodule_git_directory_is_mounted_and_guarded)
{
	static const struct fake_file fs[] = {
	    BASE,
	    REPO(SRC "/super"),
	    {SRC "/super/.git/modules", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/lib", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/lib/HEAD", PATH_FILE, NULL},
	    {SRC "/super/.git/modules/lib/objects", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/lib/hooks", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/lib/config", PATH_FILE, NULL},
	    {SRC "/super/lib", PATH_DIR, NULL},
	    {SRC "/super/lib/.git", PATH_FILE, "gitdir: ../.git/modules/lib\n"},
	};
	build(fs, N_ELEMENTS(fs), SRC "/super/lib", NULL);
	cr_assert_null(PL->refusal, "%s", PL->refusal);
	cr_expect_str_eq(PL->projects[0].dir, SRC "/super/lib");
	cr_expect_str_eq(PL->projects[0].git_dir, SRC "/super/.git/modules/lib");
	need(SRC "/super/.git/modules/lib", MOUNT_BIND);
	need(SRC "/super/.git/modules/lib/hooks", MOUNT_PROTECT);
	need(SRC "/super/.git/modules/lib/config", MOUNT_PROTECT);
	/* The .git file itself: rewriting it would point git elsewhere. */
	need(SRC "/super/lib/.git", MOUNT_PROTECT);
	cr_expect_null(op_at(SRC "/super"));
}

Test(gitdirs, superproject_guards_reach_nested_submodules_with_slashes)
{
	static const struct fake_file fs[] = {
	    BASE,
	    REPO(SRC "/super"),
	    {SRC "/super/.git/modules", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/vendor", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/vendor/lib", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/vendor/lib/HEAD", PATH_FILE, NULL},
	    {SRC "/super/.git/modules/vendor/lib/objects", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/vendor/lib/modules", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/vendor/lib/modules/deep", PATH_DIR, NULL},
	    {SRC "/super/.git/modules/vendor/lib/modules/deep/HEAD", PATH_FILE, NULL},
	    {SRC "/super/.git/modules/vendor/lib/modules/deep/objects", PATH_DIR, NULL},
	};
	build(fs, N_ELEMENTS(fs), SRC "/super", NULL);
	cr_assert_null(PL->refusal, "%s", PL->refusal);
	need(SRC "/super/.git/modules/vendor/lib/hooks", MOUNT_PROTECT);
	need(SRC "/super/.git/modules/vendor/lib/commondir", MOUNT_PROTECT);
	need(SRC "/super/.git/modules/vendor/lib/modules/deep/config", MOUNT_PROTECT);
	/* Every directory on the way is pinned so none can be swapped. */
	need(SRC "/super/.git/modules/vendor", MOUNT_PIN);
	need(SRC "/super/.git/modules/vendor/lib/modules/deep", MOUNT_PIN);
}

Test(gitdirs, linked_worktree_mounts_its_common_directory)
{
	static const struct fake_file fs[] = {
	    BASE,
	    REPO(SRC "/main"),
	    {SRC "/main/.git/worktrees", PATH_DIR, NULL},
	    {SRC "/main/.git/worktrees/wt", PATH_DIR, NULL},
	    {SRC "/main/.git/worktrees/wt/HEAD", PATH_FILE, NULL},
	    {SRC "/main/.git/worktrees/wt/commondir", PATH_FILE, "../..\n"},
	    {SRC "/wt", PATH_DIR, NULL},
	    {SRC "/wt/.git", PATH_FILE, "gitdir: " SRC "/main/.git/worktrees/wt\n"},
	};
	build(fs, N_ELEMENTS(fs), SRC "/wt", NULL);
	cr_assert_null(PL->refusal, "%s", PL->refusal);
	cr_expect_str_eq(PL->projects[0].common_dir, SRC "/main/.git");
	need(SRC "/main/.git", MOUNT_BIND);
	cr_expect_null(op_at(SRC "/main"));
	need(SRC "/main/.git/hooks", MOUNT_PROTECT);
	need(SRC "/main/.git/config", MOUNT_PROTECT);
	need(SRC "/main/.git/worktrees/wt/commondir", MOUNT_PROTECT);
	/* In a linked worktree's own directory only its own files count. */
	cr_expect_null(op_at(SRC "/main/.git/worktrees/wt/hooks"));
	/* git reads the common directory's exclude file. */
	need(SRC "/main/.git/info/exclude", MOUNT_GITEXCLUDE);
}

Test(gitdirs, git_directory_outside_the_roots_is_not_mounted)
{
	static const struct fake_file fs[] = {
	    BASE,
	    {"/srv", PATH_DIR, NULL},
	    {"/srv/g", PATH_DIR, NULL},
	    {"/srv/g/HEAD", PATH_FILE, NULL},
	    {"/srv/g/objects", PATH_DIR, NULL},
	    {SRC "/app", PATH_DIR, NULL},
	    {SRC "/app/.git", PATH_FILE, "gitdir: /srv/g\n"},
	};
	build(fs, N_ELEMENTS(fs), SRC "/app", NULL);
	cr_assert_null(PL->refusal, "%s", PL->refusal);
	cr_expect_null(op_at("/srv/g"));
	cr_assert_not_null(PL->warnings[0]);
	cr_expect(strstr(PL->warnings[0], "outside the allowed project roots") != NULL, "%s", PL->warnings[0]);
}

Test(gitdirs, a_symlink_in_modules_refuses_the_run)
{
	static const struct fake_file fs[] = {BASE,
	                                      REPO(SRC "/app"),
	                                      {SRC "/app/.git/modules", PATH_DIR, NULL},
	                                      {SRC "/app/.git/modules/evil", PATH_SYMLINK, NULL}};
	build(fs, N_ELEMENTS(fs), SRC "/app", NULL);
	cr_assert_not_null(PL->refusal);
	cr_expect(strstr(PL->refusal, "is a symlink") != NULL, "%s", PL->refusal);
}
