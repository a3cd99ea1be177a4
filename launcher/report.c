/* `cordon check` and `cordon explain`: the policy and the plan, reported
 * without running anything. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cordon.h"

#define EXIT_INVALID 2

/* Loads P and builds the plan for this invocation. Returns NULL after
 * printing the problems. */
static struct plan *load_plan(const char *arg, char **command, char **projects, struct policy **out,
                              struct invocation_storage *inv, int diag_fd)
{
	struct diags d = {0};
	struct policy *p = policy_open(arg, &d, NULL);
	if (!p) {
		diags_print(&d, diag_fd);
		diags_free(&d);
		return NULL;
	}
	invocation_gather(inv, p, command, projects);
	struct plan *pl = plan_build(p, &inv->inv, &host_ops, &d);
	/* Also compile the filter (without loading it), as run will: libseccomp
	 * and the kernel's limits refuse some profiles that parse fine. */
	if (pl)
		seccomp_validate(pl->seccomp, &d);
	if (!pl || d.n) {
		diags_print(&d, diag_fd);
		diags_free(&d);
		plan_free(pl);
		invocation_release(inv);
		policy_free(p);
		return NULL;
	}
	*out = p;
	return pl;
}

int cmd_check(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fputs("usage: cordon check P\n", stderr);
		return EXIT_INVALID;
	}
	static char *no_cmd[] = {NULL};
	struct policy *p = NULL;
	struct invocation_storage inv;
	/* The findings are what `check` is asked for: they go to stdout. */
	struct plan *pl = load_plan(argv[1], no_cmd, NULL, &p, &inv, STDOUT_FILENO);
	if (!pl)
		return EXIT_INVALID;
	printf("%s: ok\n", pl->policy_file);
	plan_free(pl);
	invocation_release(&inv);
	policy_free(p);
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	struct run_options o;
	if (!parse_explain_options(argc, argv, &o) || !o.policy) {
		if (!o.policy)
			fputs("usage: cordon explain P [--json] [--verbose]\n", stderr);
		strv_free(&o.projects);
		return EXIT_INVALID;
	}
	struct policy *p = NULL;
	struct invocation_storage inv;
	struct plan *pl = load_plan(o.policy, o.command, o.projects.v, &p, &inv, STDERR_FILENO);
	if (!pl) {
		strv_free(&o.projects);
		return EXIT_INVALID;
	}
	pl->kernel_landlock_abi = landlock_abi();
	pl->host_ram_bytes = host_ram_bytes();
	cgroup_describe(pl);
	cleanup_free char *out = o.json ? plan_explain_json(pl) : plan_explain_text(pl, o.verbose);
	fputs(out, stdout);
	plan_free(pl);
	invocation_release(&inv);
	policy_free(p);
	o.projects.n = 0; /* borrowed strings */
	free(o.projects.v);
	return 0;
}
