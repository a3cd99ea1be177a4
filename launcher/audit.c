/* Audit records: one JSON object per line, each written with one write(2)
 * on an O_APPEND descriptor so concurrent sandboxes never interleave. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cordon.h"

void sandbox_id_new(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die_with_error("getrandom for the sandbox id");
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
}

/* Under sudo, why the directory or log at st (shown as path) could be
 * changed by someone other than root, or NULL. A sticky directory may be
 * writable by all (/tmp): no one but root can then rename or remove what
 * root put in it, and the next step is checked to be root's. */
static char *runner_untrusted(const char *path, const struct stat *st, bool dir)
{
	if (st->st_uid != 0)
		return xasprintf("%s is owned by uid %u, not root", path, (unsigned)st->st_uid);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st->st_mode & S_ISVTX)))
		return xasprintf("%s is %s-writable", path, (st->st_mode & S_IWOTH) ? "world" : "group");
	return NULL;
}

/* The directory of path, open (O_PATH), made where missing (0750; root's
 * when the launcher is root), one component at a time from / without
 * following a symlink. Dies (125) naming the step. *name gets the log's
 * own name within it. */
static int open_log_dir(const char *path, bool runner, const char **name)
{
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || !slash || !slash[1])
		die("audit: log %s: not an absolute path to a file", path);
	*name = slash + 1;
	int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		die_with_error("audit: open /");
	cleanup_free char *parents = xstrndup(path, (size_t)(slash - path));
	char *save = NULL;
	size_t shown = 0;
	for (char *comp = strtok_r(parents, "/", &save);; comp = strtok_r(NULL, "/", &save)) {
		struct stat st;
		cleanup_free char *where = xstrndup(path, shown ? shown : 1);
		if (fstat(dir, &st) < 0)
			die_with_error("audit: log directory %s: stat", where);
		cleanup_free char *bad = runner ? runner_untrusted(where, &st, true) : NULL;
		if (bad)
			die("audit: log %s: under sudo the log must be root's alone: %s", path, bad);
		if (!comp)
			return dir;
		shown = (size_t)(comp - parents) + strlen(comp);
		if (mkdirat(dir, comp, 0750) < 0 && errno != EEXIST)
			die_with_error("audit: log directory %.*s: create", (int)shown, path);
		int next = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && (errno == ELOOP || errno == ENOTDIR))
			die("audit: log directory %.*s: a symlink or not a directory (cordon does not follow symlinks "
			    "to the log)",
			    (int)shown, path);
		if (next < 0)
			die_with_error("audit: log directory %.*s: open", (int)shown, path);
		close(dir);
		dir = next;
	}
}

int audit_open_log(const char *path, bool runner)
{
	/* log = stderr: the launcher's own, duplicated so the sandbox never
	 * inherits it (close-on-exec) and the proxy gets it as its audit
	 * descriptor like a file's. */
	if (strcmp(path, AUDIT_STDERR) == 0) {
		int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			die_with_error("audit: log = stderr: duplicate standard error");
		return fd;
	}
	/* Opened before anything runs: if the record cannot be written, the
	 * sandbox (or the proxy) does not start. */
	const char *name;
	cleanup_fd int dir = open_log_dir(path, runner, &name);
	int fd = openat(dir, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		die_with_error("audit: open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_with_error("audit: stat %s", path);
	if (!S_ISREG(st.st_mode))
		die("audit: log %s is not a regular file", path);
	cleanup_free char *bad = runner ? runner_untrusted(path, &st, false) : NULL;
	if (bad)
		die("audit: log %s: under sudo the log must be root's alone: %s", path, bad);
	return fd;
}

void audit_open(struct audit *a, const struct plan *pl)
{
	a->plan = pl;
	a->limits = NULL;
	a->fd = -1;
	sandbox_id_new(a->id);
	if (pl->audit_log)
		a->fd = audit_open_log(pl->audit_log, pl->runner);
}

static void envelope(buf_t *b, const char *event, const char *policy, const char *sandbox_id, uid_t uid)
{
	struct timespec ts;
	struct tm tm;
	char when[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(b, "{\"time\":\"%s.%03ldZ\",\"event\":", when, ts.tv_nsec / 1000000);
	buf_json_str(b, event);
	buf_puts(b, ",\"policy\":");
	buf_json_str(b, policy);
	buf_puts(b, ",\"sandbox_id\":");
	buf_json_str(b, sandbox_id);
	buf_printf(b, ",\"uid\":%u", (unsigned)uid);
}

/* One record, one write(2). fields is the rest of the object, starting
 * with a comma. */
void audit_record(int fd, const char *event, const char *policy, const char *sandbox_id, uid_t uid, const char *fields)
{
	if (fd < 0)
		return;
	buf_t b = {0};
	envelope(&b, event, policy, sandbox_id, uid);
	buf_puts(&b, fields);
	buf_puts(&b, "}\n");
	if (write_all(fd, b.p, b.len) < 0)
		warn_msg("audit: write: %s", strerror(errno));
	buf_free(&b);
}

static void begin(buf_t *b, const struct audit *a, const char *event)
{
	envelope(b, event, a->plan->policy_name, a->id, a->plan->invoker_uid);
}

static void finish(buf_t *b, struct audit *a)
{
	buf_puts(b, "}\n");
	if (a->fd >= 0 && write_all(a->fd, b->p, b->len) < 0)
		warn_msg("audit: write %s: %s", a->plan->audit_log, strerror(errno));
	buf_free(b);
}

static void json_strv_field(buf_t *b, const char *key, char *const *v)
{
	buf_printf(b, ",\"%s\":[", key);
	for (char *const *p = v; p && *p; p++) {
		if (p != v)
			buf_puts(b, ",");
		buf_json_str(b, *p);
	}
	buf_puts(b, "]");
}

/* A limit as a number, or null when the plan sets none. */
static void limit_field(buf_t *b, const char *key, uint64_t v)
{
	if (v)
		buf_printf(b, "\"%s\":%llu", key, (unsigned long long)v);
	else
		buf_printf(b, "\"%s\":null", key);
}

/* Which policy (and the exact bytes of it) and who asked: the fields
 * sandbox_start and sandbox_refused share. */
static void policy_fields(buf_t *b, const struct plan *pl)
{
	buf_puts(b, ",\"policy_file\":");
	buf_json_str(b, pl->policy_file);
	buf_puts(b, ",\"policy_sha256\":");
	if (pl->policy_sha256)
		buf_json_str(b, pl->policy_sha256);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"user\":");
	buf_json_str(b, pl->invoker_name);
}

/* What a CI system needs to trust the run: which policy (and the exact
 * bytes of it), who asked and who ran, where, what, and inside which
 * walls. docs/audit.md documents each field. */
void audit_sandbox_start(struct audit *a)
{
	if (a->fd < 0)
		return;
	const struct plan *pl = a->plan;
	buf_t b = {0};
	begin(&b, a, "sandbox_start");
	policy_fields(&b, pl);
	buf_printf(&b, ",\"gid\":%u,\"run_uid\":%u,\"run_gid\":%u,\"run_user\":", (unsigned)pl->invoker_gid,
	           (unsigned)pl->run_uid, (unsigned)pl->run_gid);
	buf_json_str(&b, pl->run_user);
	/* uid 0 kept for the command is the policy's explicit choice
	 * (user = root): recorded so an auditor sees it. */
	buf_printf(&b, ",\"runner\":%s,\"root_kept\":%s,\"idmap\":%s", pl->runner ? "true" : "false",
	           pl->privileged && pl->run_uid == 0 ? "true" : "false", pl->idmap ? "true" : "false");
	buf_puts(&b, ",\"cwd\":");
	buf_json_str(&b, pl->cwd);
	json_strv_field(&b, "argv", pl->argv);
	json_strv_field(&b, "projects", pl->project_roots);
	json_strv_field(&b, "project_roots", pl->allowed_roots);
	const char *ns[16];
	size_t n_ns = plan_namespaces(pl, ns, N_ELEMENTS(ns));
	buf_puts(&b, ",\"namespaces\":[");
	for (size_t i = 0; i < n_ns; i++) {
		buf_puts(&b, i ? "," : "");
		buf_json_str(&b, ns[i]);
	}
	buf_puts(&b, "],\"network\":");
	buf_json_str(&b, net_mode_name(pl->net.mode));
	buf_puts(&b, ",\"seccomp\":");
	buf_json_str(&b, pl->seccomp ? pl->seccomp_profile : "none");
	bool ll = pl->landlock != LANDLOCK_OFF && pl->kernel_landlock_abi > 0;
	buf_printf(&b, ",\"landlock\":{\"mode\":\"%s\",\"abi\":%d,\"applied\":%s}", landlock_mode_name(pl->landlock),
	           ll ? pl->kernel_landlock_abi : 0, ll ? "true" : "false");
	buf_puts(&b, ",\"limits\":{");
	limit_field(&b, "timeout_ms", pl->timeout_ms);
	buf_puts(&b, ",");
	limit_field(&b, "memory_bytes", pl->memory_bytes);
	buf_puts(&b, ",");
	limit_field(&b, "pids", pl->pids);
	buf_puts(&b, ",");
	limit_field(&b, "cpu_milli", pl->cpu_milli);
	buf_puts(&b, ",");
	limit_field(&b, "nofile", pl->nofile);
	/* How memory, pids and cpu are applied: the cgroup driver and place. */
	buf_puts(&b, ",\"cgroup\":");
	if (pl->cgroup_driver && (pl->memory_bytes || pl->pids || pl->cpu_milli))
		buf_json_str(&b, pl->cgroup_driver);
	else
		buf_puts(&b, "null");
	/* Names and sources: a secret's value is never recorded. */
	buf_puts(&b, "},\"secrets\":[");
	for (size_t i = 0; i < pl->n_secrets; i++) {
		buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_str(&b, pl->secrets[i].name);
		buf_printf(&b, ",\"source\":\"%s\",\"from\":", secret_kind_name(pl->secrets[i].kind));
		buf_json_str(&b, pl->secrets[i].from);
		buf_puts(&b, "}");
	}
	buf_puts(&b, "]");
	finish(&b, a);
}

/* A run the plan refused (its cwd outside the roots, under sudo an
 * account or project the invoker may not have, no command): nothing was
 * built and nothing ran, but whoever reads the log learns who tried what.
 * The log is opened as for a run, with the same checks; a log that cannot
 * be opened refuses the run with that reason instead. */
void audit_sandbox_refused(const struct plan *pl, const char *cwd, const char *why)
{
	if (!pl->audit_log || !pl->audit_log_usable)
		return;
	struct audit a = {.plan = pl, .fd = -1};
	sandbox_id_new(a.id);
	a.fd = audit_open_log(pl->audit_log, pl->runner);
	buf_t b = {0};
	begin(&b, &a, "sandbox_refused");
	policy_fields(&b, pl);
	buf_printf(&b, ",\"runner\":%s,\"cwd\":", pl->runner ? "true" : "false");
	if (cwd)
		buf_json_str(&b, cwd);
	else
		buf_puts(&b, "null");
	json_strv_field(&b, "argv", pl->argv);
	buf_puts(&b, ",\"reason\":");
	buf_json_str(&b, why);
	finish(&b, &a);
	close(a.fd);
}

void audit_sandbox_exit(struct audit *a, int status, const char *reason, const char *detail, long long duration_ms)
{
	if (a->fd < 0)
		return;
	buf_t b = {0};
	begin(&b, a, "sandbox_exit");
	buf_printf(&b, ",\"status\":%d,\"reason\":", status);
	buf_json_str(&b, reason);
	if (detail) {
		buf_puts(&b, ",\"detail\":");
		buf_json_str(&b, detail);
	}
	buf_printf(&b, ",\"duration_ms\":%lld", duration_ms);
	/* What the sandbox's cgroup saw (run.c), when limits made one. */
	const struct cgroup_stats *l = a->limits;
	if (l && l->applied) {
		if (l->peak_known)
			buf_printf(&b, ",\"peak_memory_bytes\":%llu", l->peak_memory_bytes);
		buf_printf(&b, ",\"oom_kills\":%llu,\"pids_max_hit\":%llu", l->oom_kills, l->pids_max_hit);
	}
	finish(&b, a);
}
