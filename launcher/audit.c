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

int audit_open_log(const char *path)
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
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		die_with_error("audit: open %s", path);
	return fd;
}

void audit_open(struct audit *a, const struct plan *pl)
{
	a->plan = pl;
	a->limits = NULL;
	a->fd = -1;
	sandbox_id_new(a->id);
	if (pl->audit_log)
		a->fd = audit_open_log(pl->audit_log);
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

void audit_sandbox_start(struct audit *a)
{
	if (a->fd < 0)
		return;
	const struct plan *pl = a->plan;
	buf_t b = {0};
	begin(&b, a, "sandbox_start");
	buf_printf(&b, ",\"run_uid\":%u,\"run_user\":", (unsigned)pl->run_uid);
	buf_json_str(&b, pl->run_user);
	/* uid 0 kept for the command is the policy's explicit choice
	 * (user = root): recorded so an auditor sees it. */
	buf_printf(&b, ",\"runner\":%s,\"root_kept\":%s,\"idmap\":%s", pl->runner ? "true" : "false",
	           pl->privileged && pl->run_uid == 0 ? "true" : "false", pl->idmap ? "true" : "false");
	buf_puts(&b, ",\"cwd\":");
	buf_json_str(&b, pl->cwd);
	buf_puts(&b, ",\"argv\":[");
	for (char **v = pl->argv; *v; v++) {
		if (v != pl->argv)
			buf_puts(&b, ",");
		buf_json_str(&b, *v);
	}
	buf_puts(&b, "],\"project_roots\":[");
	for (char **v = pl->project_roots; *v; v++) {
		if (v != pl->project_roots)
			buf_puts(&b, ",");
		buf_json_str(&b, *v);
	}
	buf_puts(&b, "],\"network\":");
	buf_json_str(&b, net_mode_name(pl->net.mode));
	buf_puts(&b, ",\"policy_file\":");
	buf_json_str(&b, pl->policy_file);
	buf_puts(&b, ",\"seccomp\":");
	buf_json_str(&b, pl->seccomp ? pl->seccomp_profile : "none");
	bool ll = pl->landlock != LANDLOCK_OFF && pl->kernel_landlock_abi > 0;
	buf_printf(&b, ",\"landlock\":{\"mode\":\"%s\",\"abi\":%d,\"applied\":%s}", landlock_mode_name(pl->landlock),
	           ll ? pl->kernel_landlock_abi : 0, ll ? "true" : "false");
	finish(&b, a);
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
