/* Renders a plan for people (`cordon explain`) and for programs
 * (`cordon explain --json`). Both read the same struct plan that `run`
 * applies; nothing here decides anything. */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "util.h"

static const struct {
	unsigned long flag;
	const char *name;
} ns_names[] = {
    {CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mount"}, {CLONE_NEWPID, "pid"},       {CLONE_NEWNET, "net"},
    {CLONE_NEWIPC, "ipc"},   {CLONE_NEWUTS, "uts"},  {CLONE_NEWCGROUP, "cgroup"},
};

static void mount_detail(buf_t *b, const struct mount_op *op)
{
	switch (op->kind) {
	case MOUNT_BIND:
		if (!op->source) {
			buf_puts(b, "(absent on host: skipped)");
			break;
		}
		buf_printf(b, "%s%s", op->source, (op->flags & MF_RO) ? " (read-only)" : " (read-write)");
		break;
	case MOUNT_TMPFS:
		buf_puts(b, "empty tmpfs");
		break;
	case MOUNT_SYMLINK:
		buf_printf(b, "-> %s", op->source);
		break;
	case MOUNT_PROC:
		buf_puts(b, "this pid namespace's own; /proc/sys etc. read-only");
		break;
	case MOUNT_DEV:
		buf_puts(b, "null zero full random urandom tty, devpts, shm");
		break;
	case MOUNT_PIN:
		buf_puts(b, "bound onto itself so it cannot be renamed");
		break;
	case MOUNT_PROTECT:
		buf_puts(b, (op->flags & MF_CREATE) ? "missing: empty placeholder, read-only" : "read-only");
		break;
	case MOUNT_MASK:
		if (op->flags & MF_CREATE)
			buf_puts(b, "missing: empty placeholder, read-only");
		else if (op->flags & MF_OPTIONAL)
			buf_puts(b, "hidden if present (empty, read-only)");
		else
			buf_puts(b, "hidden (empty, read-only)");
		break;
	case MOUNT_GITEXCLUDE:
		buf_puts(b, (op->flags & MF_CREATE) ? "missing: placeholder; " : "");
		buf_puts(b, "read-only copy with the guarded paths added");
		break;
	case MOUNT_SECRETS:
		buf_puts(b, "private tmpfs, the secrets as files (0400), read-only");
		break;
	}
	if (op->kind == MOUNT_PROTECT && (op->flags & MF_SELFREF))
		buf_puts(b, " (containing \".\": git's own directory)");
	if (op->note)
		buf_printf(b, "; %s", op->note);
}

size_t plan_namespaces(const struct plan *pl, const char **names, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < N_ELEMENTS(ns_names) && n < max; i++)
		if (pl->clone_flags & ns_names[i].flag)
			names[n++] = ns_names[i].name;
	return n;
}

/* Names and sources only: the values are never part of the plan. */
static void secrets_text(buf_t *b, const struct plan *pl)
{
	if (!pl->n_secrets)
		return;
	buf_puts(b, "\nsecrets (files in " SECRETS_DIR ", mode 0400, owned by the command's account):\n");
	for (size_t i = 0; i < pl->n_secrets; i++) {
		const struct plan_secret *s = &pl->secrets[i];
		buf_printf(b, "  %-24s from %s %s (line %d)\n", s->name,
		           s->kind == SECRET_ENV ? "the launcher's environment variable" : "the file", s->from,
		           s->line);
	}
}

static void origin_text(buf_t *b, const struct mount_op *op)
{
	if (op->line > 0)
		buf_printf(b, "%s, line %d", op->origin, op->line);
	else
		buf_printf(b, "%s", op->origin);
}

static const char *ns_list(const struct plan *pl, buf_t *b)
{
	for (size_t i = 0; i < N_ELEMENTS(ns_names); i++)
		if (pl->clone_flags & ns_names[i].flag)
			buf_printf(b, "%s%s", b->len ? " " : "", ns_names[i].name);
	return b->p ? b->p : "";
}

/* The net plan, as the proxy enforces it. */
static void network_text(buf_t *b, const struct net_plan *np)
{
	buf_printf(b, "\nnetwork      mode %s", net_mode_name(np->mode));
	if (np->mode == NET_NONE)
		buf_puts(b, " (loopback only)");
	else if (np->mode == NET_HOST)
		buf_puts(b, " (the host's network, unfiltered)");
	buf_puts(b, "\n");
	if (np->mode != NET_PROXY)
		return;
	buf_printf(b, "  listener   127.0.0.1:%u inside, handed to ", (unsigned)np->port);
	if (np->socket)
		buf_printf(b, "the proxy at %s\n", np->socket);
	else
		buf_puts(b, "a proxy of the sandbox's own\n");
	for (size_t i = 0; i < np->n_allow; i++) {
		buf_puts(b, "  allow      ");
		net_rule_text(b, &np->allow[i]);
		buf_puts(b, "\n");
	}
	for (size_t i = 0; i < np->n_deny; i++) {
		buf_puts(b, "  deny       ");
		net_rule_text(b, &np->deny[i]);
		buf_puts(b, "\n");
	}
	if (np->allow_private)
		buf_puts(b, "  private addresses allowed (link-local and metadata only to allow rules naming them)\n");
	else if (np->n_private_ok) {
		buf_puts(b, "  private addresses refused, except");
		for (size_t i = 0; i < np->n_private_ok; i++) {
			buf_puts(b, i ? ", " : " ");
			net_rule_text(b, &np->private_ok[i]);
		}
		buf_puts(b, "\n");
	} else
		buf_puts(b, "  private addresses refused (except those allow rules name)\n");
	buf_printf(b, "  notify     %s\n", np->notify ? "stderr: each denied host:port once" : "off");
	buf_printf(b, "  timeouts   connect %llu ms, idle %llu ms\n", (unsigned long long)np->connect_timeout_ms,
	           (unsigned long long)np->idle_timeout_ms);
	buf_puts(b, "  byte caps  request ");
	if (np->max_request_bytes)
		buf_printf(b, "%llu", (unsigned long long)np->max_request_bytes);
	else
		buf_puts(b, "none");
	buf_puts(b, ", response ");
	if (np->max_response_bytes)
		buf_printf(b, "%llu\n", (unsigned long long)np->max_response_bytes);
	else
		buf_puts(b, "none\n");
}

static const char *const ll_names[] = {"list directories", "read, execute", "read, write files", "read, write, ioctl",
                                       "full"};

static void ports_text(buf_t *b, const char *what, const struct port_list *p)
{
	buf_printf(b, "  tcp %-8s ", what);
	if (p->any)
		buf_puts(b, "any port");
	else if (!p->n)
		buf_puts(b, "no port");
	for (size_t i = 0; !p->any && i < p->n; i++)
		buf_printf(b, "%s%u", i ? ", " : "", p->v[i]);
	buf_puts(b, "\n");
}

static void landlock_text(buf_t *b, const struct plan *pl)
{
	buf_printf(b, "\nlandlock     mode %s", landlock_mode_name(pl->landlock));
	if (pl->landlock == LANDLOCK_OFF) {
		buf_puts(b, " (not applied)\n");
		return;
	}
	/* What this host lacks is a condition of the host, not of the
	 * policy: check passes it, explain says what run would do. */
	if (pl->kernel_landlock_abi > 0) {
		buf_printf(b, "; this kernel offers ABI %d", pl->kernel_landlock_abi);
		if (pl->landlock == LANDLOCK_REQUIRE && (unsigned)pl->kernel_landlock_abi < pl->landlock_min_abi)
			buf_printf(b, "; run would refuse: the policy needs ABI %u", pl->landlock_min_abi);
	} else if (pl->landlock == LANDLOCK_BEST_EFFORT)
		buf_puts(b, "; NOT APPLIED: this kernel has no Landlock");
	else
		buf_puts(b, "; run would refuse: this kernel has no Landlock");
	buf_puts(b, "\n");
	for (size_t i = 0; i < pl->n_ll_rules; i++)
		buf_printf(b, "  %-36s %s%s\n", pl->ll_rules[i].path, ll_names[pl->ll_rules[i].access],
		           pl->ll_rules[i].optional ? " (if present)" : "");
	buf_puts(b, "  anything else: no access\n");
	if (pl->kernel_landlock_abi > 0 && pl->kernel_landlock_abi < 4)
		buf_puts(b, "  tcp          not restricted (needs ABI 4)\n");
	else {
		ports_text(b, "bind", &pl->tcp_bind);
		ports_text(b, "connect", &pl->tcp_connect);
	}
	if (pl->kernel_landlock_abi >= 6)
		buf_puts(b, "  scoped       abstract unix sockets and signals stay inside the sandbox\n");
}

static void seccomp_layers_text(buf_t *b, const struct sc_profile *sp, bool verbose)
{
	if (!verbose) {
		char tmp[32];
		for (size_t l = 0; l < sp->n_layers; l++) {
			const struct sc_layer *ly = &sp->layers[l];
			if (sp->n_layers > 1)
				buf_printf(b, "%s layer %zu", l ? ";" : ":", l + 1);
			buf_printf(b, "%s %zu rule%s, default %s", sp->n_layers > 1 ? "" : ":", ly->n_rules,
			           ly->n_rules == 1 ? "" : "s", sc_action_text(&ly->def, tmp, sizeof(tmp)));
		}
		buf_puts(b, "; other ABIs (i386, x32): ENOSYS (--verbose lists the rules)\n");
		return;
	}
	buf_printf(b, ", %zu layer%s; other ABIs (i386, x32): ENOSYS\n", sp->n_layers, sp->n_layers == 1 ? "" : "s");
	for (size_t l = 0; l < sp->n_layers; l++) {
		const struct sc_layer *ly = &sp->layers[l];
		char tmp[32];
		buf_printf(b, "  layer %zu: default %s, %zu rules\n", l + 1, sc_action_text(&ly->def, tmp, sizeof(tmp)),
		           ly->n_rules);
		for (size_t i = 0; i < ly->n_rules; i++)
			buf_printf(b, "    %-58s %s:%d\n", ly->rules[i].text, ly->rules[i].file, ly->rules[i].line);
	}
}

/* Folded (the default), one line: the profile, and each layer's rule
 * count and default action. The rule list is long (about a hundred
 * lines for the default profile) and rarely what a reader is after. The
 * no-set-ID layer, when there is one, is layer 1 and has its own line. */
static void seccomp_text(buf_t *b, const struct plan *pl, bool verbose)
{
	const struct sc_profile *sp = pl->seccomp;
	buf_printf(b, "\nseccomp      profile %s", pl->seccomp_profile);
	if (!sp)
		buf_puts(b, " (no syscall filter)\n");
	else if (sp->no_setid && sp->n_layers == 1)
		buf_puts(b, " (no filter of its own)");
	if (sp)
		seccomp_layers_text(b, sp, verbose);
	if (sp && pl->seccomp_file)
		buf_printf(b, "  file       %s\n", pl->seccomp_file);
	else if (sp && strcmp(pl->seccomp_profile, "none") != 0)
		buf_puts(b, "  file       built into cordon (no installed copy)\n");
	if (sp && sp->no_setid)
		buf_puts(b,
		         "  no-setid   layer 1, cordon's, as the projects are idmapped: set-user-ID and set-group-ID "
		         "bits refused (EPERM) to chmod, fchmod, fchmodat, fchmodat2, and to open, openat, creat, "
		         "mknod, mknodat making a file; openat2 and io_uring_setup: ENOSYS\n");
}

/* A size for people: 64M, 1.5G, 512K, or bytes. */
static void size_text(buf_t *b, uint64_t n)
{
	static const char units[] = "KMGT";
	unsigned u = 0;
	uint64_t scale = 1;
	while (u < 4 && n >= scale * 1024 * 2) {
		scale *= 1024;
		u++;
	}
	if (u == 0)
		buf_printf(b, "%llu bytes", (unsigned long long)n);
	else if (n % scale == 0)
		buf_printf(b, "%llu%c", (unsigned long long)(n / scale), units[u - 1]);
	else
		buf_printf(b, "%.1f%c", (double)n / (double)scale, units[u - 1]);
}

/* The limits, who applies each, and the size of every tmpfs. */
static void limits_text(buf_t *b, const struct plan *pl)
{
	buf_t items = {0};
	if (pl->timeout_ms)
		buf_printf(&items, ", timeout %s (%llu ms; then SIGTERM, SIGKILL 5 s later, exit 124)",
		           pl->timeout_text ? pl->timeout_text : "?", (unsigned long long)pl->timeout_ms);
	if (pl->memory_bytes)
		buf_printf(&items, ", memory %s (%llu bytes, no swap)", pl->memory_text ? pl->memory_text : "?",
		           (unsigned long long)pl->memory_bytes);
	if (pl->pids)
		buf_printf(&items, ", pids %llu", (unsigned long long)pl->pids);
	if (pl->cpu_milli) {
		char cpu[32];
		format_cpu(pl->cpu_milli, cpu);
		buf_printf(&items, ", cpu %s (%llu us per 100000 us)", cpu, (unsigned long long)pl->cpu_milli * 100);
	}
	if (pl->nofile)
		buf_printf(&items, ", nofile %llu", (unsigned long long)pl->nofile);
	buf_printf(b, "\nlimits       %s\n", items.p ? items.p + 2 : "none");
	buf_free(&items);
	if (pl->cgroup_driver)
		buf_printf(b, "  cgroup     %s\n", pl->cgroup_driver);
	if (pl->cgroup_refusal)
		buf_printf(b, "  cgroup     cannot be applied here, run refuses: %s\n", pl->cgroup_refusal);
	uint64_t size = plan_tmpfs_size(pl);
	buf_puts(b, "tmpfs size   ");
	if (size) {
		size_text(b, size);
		buf_puts(b, pl->memory_bytes ? " each (the memory limit)" : " each (a quarter of RAM)");
	} else {
		buf_puts(b, "the kernel's default (half of RAM) each");
	}
	buf_puts(b, ": tmpfs =, the home, /dev/shm\n");
}

/* What the agent finds in its home: the mount at run_home, and the
 * copies made into it at every start. */
static void home_text(buf_t *b, const struct plan *pl)
{
	const struct mount_op *home = NULL;
	for (size_t i = 0; i < pl->n_mounts; i++)
		if (pl->mounts[i].flags & MF_HOME)
			home = &pl->mounts[i];
	if (pl->home_persist)
		buf_printf(b, "home         %s: persist %s (mode 0700, owned by %s; kept between runs)\n",
		           pl->run_home ? pl->run_home : "?", pl->home_persist, pl->run_user);
	else if (home && home->kind == MOUNT_BIND)
		buf_printf(b, "home         %s: the directory %s, bound read-write\n", home->dest,
		           home->source ? home->source : "?");
	else if (home)
		buf_printf(b, "home         %s: an empty tmpfs at every start\n", home->dest);
	for (size_t i = 0; i < pl->n_home_copies; i++)
		buf_printf(b, "  home_copy  %s -> %s (at every start, read as %s; symlinks skipped)\n",
		           pl->home_copies[i].source, pl->home_copies[i].dest, pl->invoker_name);
}

static void projects_text(buf_t *b, const struct plan *pl)
{
	for (char **r = pl->allowed_roots; r && *r; r++)
		buf_printf(b, "%s %s\n", r == pl->allowed_roots ? "allowed root" : "            ", *r);
	for (size_t i = 0; i < pl->n_projects; i++) {
		const struct project *pr = &pl->projects[i];
		buf_printf(b, "project      %s\n             chosen as %s\n", pr->dir, pr->why);
		if (pr->git_dir)
			buf_printf(b, "  git dir    %s\n", pr->git_dir);
		if (pr->common_dir && pr->git_dir && strcmp(pr->common_dir, pr->git_dir) != 0)
			buf_printf(b, "  git common %s\n", pr->common_dir);
	}
	for (size_t i = 0; i < pl->n_git_sites; i++)
		buf_printf(b, "  .git/ guards also apply to %s/%s%s\n", pl->git_sites[i].root, pl->git_sites[i].prefix,
		           pl->git_sites[i].worktree ? " (a linked worktree's: commondir, config.worktree)" : "");
	for (char **n = pl->warnings; n && *n; n++)
		buf_printf(b, "warning      %s\n", *n);
	for (char **n = pl->notes; n && *n; n++)
		buf_printf(b, "note         %s\n", *n);
}

/* What a person checks first comes first: what runs, where, which
 * project, what it sees (mounts), what it reaches (network) and what it
 * is told (environment). Then the layers that hold it in. */
char *plan_explain_text(const struct plan *pl, bool verbose)
{
	buf_t b = {0};
	buf_t ns = {0};

	buf_printf(&b, "policy       %s (%s)\n", pl->policy_name, pl->policy_file);
	if (pl->refusal)
		buf_printf(&b, "REFUSED      run would exit 125: %s\n", pl->refusal);
	buf_puts(&b, "command     ");
	for (char **a = pl->argv; *a; a++)
		buf_printf(&b, " %s", *a);
	if (!pl->argv[0])
		buf_puts(&b, " (none)");
	if (pl->command_sha256)
		buf_printf(&b, "\n  sha256     %s: run executes only a file with this hash (125 otherwise)",
		           pl->command_sha256);
	buf_printf(&b, "\ncwd          %s\n", pl->cwd);
	projects_text(&b, pl);
	buf_printf(&b, "runs as      %s (uid %u, gid %u), %s\n", pl->run_user, (unsigned)pl->run_uid,
	           (unsigned)pl->run_gid,
	           pl->privileged ? "switched to after setup" : "mapped to itself in a user namespace");
	if (pl->runner)
		buf_printf(&b, "invoked by   %s (uid %u) through sudo: runner mode\n", pl->invoker_name,
		           (unsigned)pl->invoker_uid);
	if (pl->privileged && pl->run_uid == 0)
		buf_puts(&b, "             uid 0 kept for the command: the policy says user = root (audited)\n");
	if (pl->idmap)
		buf_printf(&b,
		           "idmapped     projects: files of uid %u, gid %u are %s's inside, and what it creates is "
		           "theirs; set-ID bits refused\n",
		           (unsigned)pl->idmap_uid, (unsigned)pl->idmap_gid, pl->run_user);
	home_text(&b, pl);

	buf_puts(&b, "\nmounts, in the order they are made (a fresh tmpfs is the root):\n");
	buf_printf(&b, "  %3s  %-8s %-36s %-22s %s\n", "#", "kind", "path", "from", "what");
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		buf_t what = {0}, from = {0};
		mount_detail(&what, op);
		origin_text(&from, op);
		buf_printf(&b, "  %3zu  %-8s %-36s %-22s %s\n", i + 1, mount_kind_name(op->kind), op->dest, from.p,
		           what.p);
		buf_free(&what);
		buf_free(&from);
	}
	buf_puts(&b, "  then: pivot_root into the new root, detach the host's, read-only root\n");

	network_text(&b, &pl->net);

	secrets_text(&b, pl);

	buf_puts(&b, "\nenvironment (everything else is dropped):\n");
	for (char **e = pl->envp; *e; e++)
		buf_printf(&b, "  %s\n", *e);

	buf_printf(&b, "\ninvoker      %s (uid %u, gid %u)\n", pl->invoker_name, (unsigned)pl->invoker_uid,
	           (unsigned)pl->invoker_gid);
	buf_printf(&b, "namespaces   %s\n", ns_list(pl, &ns));
	buf_printf(&b, "hostname     %s\n", pl->hostname);

	landlock_text(&b, pl);
	seccomp_text(&b, pl, verbose);

	limits_text(&b, pl);
	buf_printf(&b, "die_with_parent %s\n", pl->die_with_parent ? "yes" : "no");
	buf_printf(&b, "audit log    %s\n", pl->audit_log ? pl->audit_log : "(none)");
	buf_free(&ns);
	return b.p;
}

static void json_key(buf_t *b, bool *first, const char *key)
{
	buf_puts(b, *first ? "" : ",");
	*first = false;
	buf_json_str(b, key);
	buf_puts(b, ":");
}

static void json_str_or_null(buf_t *b, const char *s)
{
	if (s)
		buf_json_str(b, s);
	else
		buf_puts(b, "null");
}

static void json_strv(buf_t *b, char **v)
{
	buf_puts(b, "[");
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			buf_puts(b, ",");
		buf_json_str(b, v[i]);
	}
	buf_puts(b, "]");
}

static void json_rules(buf_t *b, const struct net_rule *r, size_t n)
{
	buf_puts(b, "[");
	for (size_t i = 0; i < n; i++) {
		buf_t t = {0};
		net_rule_text(&t, &r[i]);
		buf_printf(b, "%s", i ? "," : "");
		buf_json_str(b, t.p);
		buf_free(&t);
	}
	buf_puts(b, "]");
}

/* The net plan, as the proxy enforces it. */
static void network_json(buf_t *b, const struct net_plan *np)
{
	buf_puts(b, "{\"mode\":");
	buf_json_str(b, net_mode_name(np->mode));
	buf_printf(b, ",\"port\":%u,\"socket\":", (unsigned)np->port);
	json_str_or_null(b, np->socket);
	buf_puts(b, ",\"allow\":");
	json_rules(b, np->allow, np->n_allow);
	buf_puts(b, ",\"deny\":");
	json_rules(b, np->deny, np->n_deny);
	buf_puts(b, ",\"allow_private_ranges\":");
	json_rules(b, np->private_ok, np->n_private_ok);
	buf_printf(b, ",\"notify\":\"%s\"", np->notify ? "stderr" : "off");
	buf_printf(b,
	           ",\"allow_private\":%s,\"max_request_bytes\":%llu,\"max_response_bytes\":%llu,"
	           "\"connect_timeout_ms\":%llu,\"idle_timeout_ms\":%llu}",
	           np->allow_private ? "true" : "false", (unsigned long long)np->max_request_bytes,
	           (unsigned long long)np->max_response_bytes, (unsigned long long)np->connect_timeout_ms,
	           (unsigned long long)np->idle_timeout_ms);
}

char *plan_explain_json(const struct plan *pl)
{
	buf_t b = {0};
	bool f = true;

	buf_puts(&b, "{");
	json_key(&b, &f, "policy");
	buf_puts(&b, "{\"file\":");
	buf_json_str(&b, pl->policy_file);
	buf_puts(&b, ",\"name\":");
	buf_json_str(&b, pl->policy_name);
	buf_puts(&b, ",\"sha256\":");
	json_str_or_null(&b, pl->policy_sha256);
	buf_puts(&b, "}");
	json_key(&b, &f, "refusal");
	json_str_or_null(&b, pl->refusal);
	json_key(&b, &f, "privileged");
	buf_puts(&b, pl->privileged ? "true" : "false");
	json_key(&b, &f, "runner");
	buf_puts(&b, pl->runner ? "true" : "false");
	json_key(&b, &f, "idmap");
	if (pl->idmap)
		buf_printf(&b, "{\"uid\":%u,\"gid\":%u,\"no_setid\":%s}", (unsigned)pl->idmap_uid,
		           (unsigned)pl->idmap_gid, pl->no_setid ? "true" : "false");
	else
		buf_puts(&b, "null");
	json_key(&b, &f, "invoker");
	buf_printf(&b, "{\"uid\":%u,\"gid\":%u,\"name\":", (unsigned)pl->invoker_uid, (unsigned)pl->invoker_gid);
	buf_json_str(&b, pl->invoker_name);
	buf_puts(&b, ",\"home\":");
	buf_json_str(&b, pl->invoker_home);
	buf_puts(&b, "}");
	json_key(&b, &f, "run_as");
	buf_printf(&b, "{\"uid\":%u,\"gid\":%u,\"user\":", (unsigned)pl->run_uid, (unsigned)pl->run_gid);
	buf_json_str(&b, pl->run_user);
	buf_puts(&b, ",\"home\":");
	json_str_or_null(&b, pl->run_home);
	buf_puts(&b, "}");
	json_key(&b, &f, "home");
	buf_puts(&b, "{\"persist\":");
	json_str_or_null(&b, pl->home_persist);
	buf_puts(&b, ",\"copies\":[");
	for (size_t i = 0; i < pl->n_home_copies; i++) {
		buf_puts(&b, i ? ",{\"source\":" : "{\"source\":");
		buf_json_str(&b, pl->home_copies[i].source);
		buf_puts(&b, ",\"dest\":");
		buf_json_str(&b, pl->home_copies[i].dest);
		buf_printf(&b, ",\"line\":%d}", pl->home_copies[i].line);
	}
	buf_puts(&b, "]}");
	json_key(&b, &f, "namespaces");
	buf_puts(&b, "[");
	bool nf = true;
	for (size_t i = 0; i < N_ELEMENTS(ns_names); i++) {
		if (!(pl->clone_flags & ns_names[i].flag))
			continue;
		buf_puts(&b, nf ? "" : ",");
		nf = false;
		buf_json_str(&b, ns_names[i].name);
	}
	buf_puts(&b, "]");
	json_key(&b, &f, "hostname");
	buf_json_str(&b, pl->hostname);
	json_key(&b, &f, "command");
	json_strv(&b, pl->argv);
	json_key(&b, &f, "command_sha256");
	json_str_or_null(&b, pl->command_sha256);
	json_key(&b, &f, "cwd");
	buf_json_str(&b, pl->cwd);

	json_key(&b, &f, "mounts");
	buf_puts(&b, "[");
	for (size_t i = 0; i < pl->n_mounts; i++) {
		const struct mount_op *op = &pl->mounts[i];
		buf_printf(&b, "%s{\"kind\":", i ? "," : "");
		buf_json_str(&b, mount_kind_name(op->kind));
		buf_puts(&b, ",\"dest\":");
		buf_json_str(&b, op->dest);
		buf_puts(&b, ",\"source\":");
		json_str_or_null(&b, op->source);
		bool ro = (op->flags & MF_RO) || op->kind == MOUNT_PROTECT || op->kind == MOUNT_MASK;
		buf_printf(&b, ",\"read_only\":%s,\"optional\":%s,\"placeholder\":%s,\"project_root\":%s,\"home\":%s",
		           ro ? "true" : "false", (op->flags & MF_OPTIONAL) ? "true" : "false",
		           (op->flags & MF_CREATE) ? "true" : "false", (op->flags & MF_PROJECT) ? "true" : "false",
		           (op->flags & MF_HOME) ? "true" : "false");
		if (op->flags & MF_IDMAP)
			buf_puts(&b, ",\"idmapped\":true");
		buf_puts(&b, ",\"origin\":");
		buf_json_str(&b, op->origin);
		buf_printf(&b, ",\"line\":%d", op->line);
		if (op->content) {
			buf_puts(&b, ",\"content\":");
			buf_json_str(&b, op->content);
		}
		if (op->note) {
			buf_puts(&b, ",\"note\":");
			buf_json_str(&b, op->note);
		}
		buf_puts(&b, "}");
	}
	buf_puts(&b, "]");
	json_key(&b, &f, "project_roots");
	json_strv(&b, pl->project_roots);
	json_key(&b, &f, "allowed_roots");
	json_strv(&b, pl->allowed_roots);
	json_key(&b, &f, "projects");
	buf_puts(&b, "[");
	for (size_t i = 0; i < pl->n_projects; i++) {
		const struct project *pr = &pl->projects[i];
		buf_puts(&b, i ? ",{\"dir\":" : "{\"dir\":");
		buf_json_str(&b, pr->dir);
		buf_puts(&b, ",\"why\":");
		buf_json_str(&b, pr->why);
		buf_puts(&b, ",\"git_dir\":");
		json_str_or_null(&b, pr->git_dir);
		buf_puts(&b, ",\"git_common_dir\":");
		json_str_or_null(&b, pr->common_dir);
		buf_puts(&b, "}");
	}
	buf_puts(&b, "]");
	json_key(&b, &f, "git_guard_dirs");
	buf_puts(&b, "[");
	for (size_t i = 0; i < pl->n_git_sites; i++) {
		cleanup_free char *dir = xasprintf("%s/%s", pl->git_sites[i].root, pl->git_sites[i].prefix);
		buf_puts(&b, i ? "," : "");
		buf_json_str(&b, dir);
	}
	buf_puts(&b, "]");
	json_key(&b, &f, "warnings");
	json_strv(&b, pl->warnings);
	json_key(&b, &f, "notes");
	json_strv(&b, pl->notes);

	json_key(&b, &f, "landlock");
	buf_puts(&b, "{\"mode\":");
	buf_json_str(&b, landlock_mode_name(pl->landlock));
	buf_printf(&b, ",\"kernel_abi\":%d,\"required_abi\":%u,\"rules\":[",
	           pl->kernel_landlock_abi > 0 ? pl->kernel_landlock_abi : 0, pl->landlock_min_abi);
	static const char *const ll_keys[] = {"list", "read", "proc", "dev", "full"};
	for (size_t i = 0; i < pl->n_ll_rules; i++) {
		buf_printf(&b, "%s{\"path\":", i ? "," : "");
		buf_json_str(&b, pl->ll_rules[i].path);
		buf_printf(&b, ",\"access\":\"%s\",\"optional\":%s}", ll_keys[pl->ll_rules[i].access],
		           pl->ll_rules[i].optional ? "true" : "false");
	}
	buf_puts(&b, "]");
	const struct port_list *pls[] = {&pl->tcp_bind, &pl->tcp_connect};
	const char *pnames[] = {"tcp_bind", "tcp_connect"};
	for (size_t k = 0; k < 2; k++) {
		buf_printf(&b, ",\"%s\":", pnames[k]);
		if (pls[k]->any) {
			buf_puts(&b, "\"any\"");
			continue;
		}
		buf_puts(&b, "[");
		for (size_t i = 0; i < pls[k]->n; i++)
			buf_printf(&b, "%s%u", i ? "," : "", pls[k]->v[i]);
		buf_puts(&b, "]");
	}
	buf_puts(&b, "}");
	json_key(&b, &f, "seccomp");
	buf_puts(&b, "{\"profile\":");
	buf_json_str(&b, pl->seccomp_profile);
	/* true: layers[0] is cordon's no-set-ID layer (profile_add_no_setid). */
	buf_printf(&b, ",\"no_setid\":%s", pl->seccomp && pl->seccomp->no_setid ? "true" : "false");
	/* The file the profile was read from; null: built into cordon. */
	buf_puts(&b, ",\"file\":");
	if (pl->seccomp_file)
		buf_json_str(&b, pl->seccomp_file);
	else
		buf_puts(&b, "null");
	buf_puts(&b, ",\"layers\":[");
	for (size_t l = 0; pl->seccomp && l < pl->seccomp->n_layers; l++) {
		const struct sc_layer *ly = &pl->seccomp->layers[l];
		char tmp[32];
		buf_printf(&b, "%s{\"default\":", l ? "," : "");
		buf_json_str(&b, sc_action_text(&ly->def, tmp, sizeof(tmp)));
		buf_puts(&b, ",\"rules\":[");
		for (size_t i = 0; i < ly->n_rules; i++) {
			const struct sc_rule *r = &ly->rules[i];
			buf_printf(&b, "%s{\"syscall\":", i ? "," : "");
			buf_json_str(&b, r->syscall);
			buf_puts(&b, ",\"action\":");
			buf_json_str(&b, sc_action_text(&r->action, tmp, sizeof(tmp)));
			buf_puts(&b, ",\"rule\":");
			buf_json_str(&b, r->text);
			buf_puts(&b, ",\"file\":");
			buf_json_str(&b, r->file);
			buf_printf(&b, ",\"line\":%d}", r->line);
		}
		buf_puts(&b, "]}");
	}
	buf_puts(&b, "]}");
	json_key(&b, &f, "network");
	network_json(&b, &pl->net);
	json_key(&b, &f, "secrets");
	buf_puts(&b, "[");
	for (size_t i = 0; i < pl->n_secrets; i++) {
		const struct plan_secret *s = &pl->secrets[i];
		buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_str(&b, s->name);
		buf_printf(&b, ",\"source\":\"%s\",\"from\":", secret_kind_name(s->kind));
		buf_json_str(&b, s->from);
		buf_puts(&b, ",\"path\":");
		cleanup_free char *path = xasprintf(SECRETS_DIR "/%s", s->name);
		buf_json_str(&b, path);
		buf_printf(&b, ",\"line\":%d}", s->line);
	}
	buf_puts(&b, "]");
	json_key(&b, &f, "environment");
	json_strv(&b, pl->envp);
	json_key(&b, &f, "limits");
	buf_printf(&b, "{\"timeout_ms\":%llu,\"memory_bytes\":%llu,\"pids\":%llu,\"nofile\":%llu,\"cpu\":%.3f",
	           (unsigned long long)pl->timeout_ms, (unsigned long long)pl->memory_bytes,
	           (unsigned long long)pl->pids, (unsigned long long)pl->nofile, (double)pl->cpu_milli / 1000.0);
	buf_printf(&b, ",\"tmpfs_size_bytes\":%llu,\"cgroup_driver\":", (unsigned long long)plan_tmpfs_size(pl));
	json_str_or_null(&b, pl->cgroup_driver);
	buf_puts(&b, ",\"cgroup_refusal\":");
	json_str_or_null(&b, pl->cgroup_refusal);
	buf_puts(&b, "}");
	json_key(&b, &f, "die_with_parent");
	buf_puts(&b, pl->die_with_parent ? "true" : "false");
	json_key(&b, &f, "audit_log");
	json_str_or_null(&b, pl->audit_log);
	buf_puts(&b, "}\n");
	return b.p;
}
