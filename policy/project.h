/* Which directory a run mounts: the project the working directory is in,
 * found the way git finds its work tree (without running git), and the
 * git directories git needs to work there. Pure: the host is seen only
 * through struct plan_host. */
#ifndef CORDON_PROJECT_H
#define CORDON_PROJECT_H

#include <stdbool.h>

#include "plan.h"
#include "util.h"

/* What project_find and project_git_dirs report besides the project. */
struct project_scan {
	strv_t extra_mounts;    /* git directories outside the project that git needs, canonical */
	struct git_site *sites; /* other git directories the `.git/` guards apply to */
	size_t n_sites;
	strv_t notes;  /* for the user; the run goes on */
	char *refusal; /* set when the run must not go on */
};

/* The project for a working directory inside root: the top of the git
 * work tree that contains cwd, never above root; or cwd itself. Fills
 * out->dir and out->why; the git fields are left NULL. */
void project_find(const struct plan_host *h, const char *cwd, const char *root, struct project *out);

/* Fills the git fields of pr (already holding dir) and adds to scan the
 * git directories outside pr->dir that must be mounted for git to work
 * (when they lie inside one of the allowed roots), and every git directory
 * (the project's own, a submodule's, a linked worktree's, nested ones)
 * that the `.git/` guards must cover. untrusted: directories in which no
 * symlink is followed. */
void project_git_dirs(const struct plan_host *h, struct project *pr, char *const *allowed, char *const *untrusted,
                      struct project_scan *scan);

void project_scan_free(struct project_scan *scan);
void project_clear(struct project *pr);

#endif
