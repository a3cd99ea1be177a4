/* What keeps cordon from building a sandbox here, and the setting that
 * grants it: the second half of a 125 line, and of doctor's lines, when
 * the namespaces or the new /proc are refused. Each cause is read from
 * where the kernel shows it, never guessed from a distribution's name:
 *
 *   AppArmor   Ubuntu 23.10+ (kernel.apparmor_restrict_unprivileged_userns
 *              = 1) lets only profiled programs make user namespaces; the
 *              package's profile, `cordon`, attaches to /usr/bin/cordon
 *   seccomp    a filter cordon was started under (a container's: Docker's
 *              default refuses namespaces to a process without
 *              CAP_SYS_ADMIN); cordon installs none on itself before
 *              the sandbox exists, so Seccomp: 2 is someone else's
 *   sysctls    user.max_user_namespaces = 0, Debian's older
 *              kernel.unprivileged_userns_clone = 0
 *   root       uid 0 without CAP_SYS_ADMIN (a container's root keeps a
 *              reduced capability set)
 *   /proc      a container's masked /proc: the kernel refuses a new proc
 *              file system in a user namespace while the one it would
 *              replace is partly covered (it would reveal what the covers
 *              hide)
 *
 * Compiled twice, as cgroup.c is: test builds (CORDON_TEST_HOOKS, never
 * installed) read the AppArmor sysctl and profile list from the files
 * CORDON_TEST_APPARMOR_SYSCTL, CORDON_TEST_APPARMOR_PROFILES and
 * CORDON_TEST_APPARMOR_CURRENT (this process's label) name, so
 * the detection can be tested on hosts without AppArmor. They change
 * words only: what a run may do never depends on them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cordon.h"

#define AA_SYSCTL   "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
#define AA_PROFILES "/sys/kernel/security/apparmor/profiles"

#ifdef CORDON_TEST_HOOKS
static const char *hooked(const char *var, const char *path)
{
	const char *v = getenv(var);
	return v && *v ? v : path;
}
#else
static const char *hooked(const char *var, const char *path)
{
	return path;
}
#endif

long read_long_file(const char *path)
{
	char buf[32];
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

void apparmor_probe(struct apparmor_state *s)
{
	memset(s, 0, sizeof(*s));
	s->restricted = (int)read_long_file(hooked("CORDON_TEST_APPARMOR_SYSCTL", AA_SYSCTL));
	ssize_t n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
	s->exe[n > 0 ? n : 0] = '\0';
	s->attached = strcmp(s->exe, CORDON_APPARMOR_ATTACH) == 0;
	/* One loaded profile a line, "NAME (MODE)"; root's to read. */
	FILE *f = fopen(hooked("CORDON_TEST_APPARMOR_PROFILES", AA_PROFILES), "re");
	if (!f) {
		s->loaded = errno == ENOENT ? AA_NO_APPARMOR : AA_CANNOT_TELL;
		return;
	}
	s->loaded = AA_NOT_LOADED;
	char line[512];
	const char *want = CORDON_APPARMOR_PROFILE " (";
	while (fgets(line, sizeof(line), f))
		if (str_has_prefix(line, want)) {
			s->loaded = AA_LOADED;
			snprintf(s->mode, sizeof(s->mode), "%.*s", (int)strcspn(line + strlen(want), ")\n"),
			         line + strlen(want));
			break;
		}
	fclose(f);
}

#define AA_RESTRICTS "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)"
#define AA_LOAD                                                                                                        \
	"install the package's /etc/apparmor.d/cordon and run `apparmor_parser -r /etc/apparmor.d/cordon`, or "        \
	"`sysctl kernel.apparmor_restrict_unprivileged_userns=0`"

char *apparmor_describe(const struct apparmor_state *s, bool *ok)
{
	*ok = true;
	if (s->restricted <= 0)
		return xstrdup(s->restricted == 0 ? "kernel.apparmor_restrict_unprivileged_userns=0: not restricted"
		                                  : "no AppArmor restriction of user namespaces on this kernel");
	if (s->loaded == AA_LOADED && s->attached)
		return xasprintf(AA_RESTRICTS "; the cordon profile is loaded (%s) and attaches to %s, this binary",
		                 s->mode, CORDON_APPARMOR_ATTACH);
	*ok = false;
	if (s->loaded == AA_LOADED)
		return xasprintf(AA_RESTRICTS "; the cordon profile is loaded (%s) but attaches to %s, not to this "
		                              "binary (%s): run %s, or `sysctl "
		                              "kernel.apparmor_restrict_unprivileged_userns=0`",
		                 s->mode, CORDON_APPARMOR_ATTACH, s->exe, CORDON_APPARMOR_ATTACH);
	if (s->loaded == AA_CANNOT_TELL)
		return xstrdup(AA_RESTRICTS "; cannot tell whether the cordon profile is loaded (only root may list "
		                            "the loaded profiles: run `sudo cordon doctor`); if it is not, " AA_LOAD);
	return xstrdup(AA_RESTRICTS "; the cordon profile is not loaded: " AA_LOAD);
}

/* The AppArmor profile this process runs under, when it is one that
 * enforces rules on it ("docker-default (enforce)"), without the mode;
 * NULL when unconfined, under cordon's own profile (which confines
 * nothing), or without AppArmor. /proc/self/attr/apparmor/current is
 * AppArmor's own file (the older /proc/self/attr/current may be another
 * security module's). */
char *apparmor_confining_profile(void)
{
	char label[256];
	cleanup_fd int fd =
	    open(hooked("CORDON_TEST_APPARMOR_CURRENT", "/proc/self/attr/apparmor/current"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, label, sizeof(label) - 1);
	if (n <= 0)
		return NULL;
	label[n] = '\0';
	label[strcspn(label, "\n")] = '\0';
	/* Only a profile whose rules are applied refuses anything: enforce or
	 * kill, not complain or unconfined. */
	const char *mode = strrchr(label, '(');
	if (!mode || (strcmp(mode, "(enforce)") != 0 && strcmp(mode, "(kill)") != 0) ||
	    str_has_prefix(label, CORDON_APPARMOR_PROFILE " ("))
		return NULL;
	return xstrndup(label, (size_t)(mode - label - (mode > label && mode[-1] == ' ')));
}

char *mount_denied_hint(void)
{
	cleanup_free char *profile = apparmor_confining_profile();
	if (!profile)
		return NULL;
	return xasprintf("cordon runs under the AppArmor profile %s, which may refuse mounts (a container's default, "
	                 "docker-default or cri-containerd.apparmor.d, does): run the container with "
	                 "--security-opt apparmor=unconfined (Kubernetes: securityContext.appArmorProfile type "
	                 "Unconfined) or a profile that allows mounts",
	                 profile);
}

/* Seccomp: 2 in our own status: a filter we were started under. */
static bool under_seccomp_filter(void)
{
	char buf[8192];
	size_t got = 0;
	cleanup_fd int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	for (ssize_t n; got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)n;
	buf[got] = '\0';
	const char *p = strstr(buf, "\nSeccomp:");
	return p && strtol(p + strlen("\nSeccomp:"), NULL, 10) == 2;
}

static bool has_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

#define SECCOMP_HINT                                                                                                   \
	"cordon runs under a seccomp filter (Seccomp: 2 in /proc/self/status), as a container's default profile "      \
	"that refuses namespaces: allow clone, clone3 and unshare with namespace flags (Docker, Podman: "              \
	"--security-opt seccomp=unconfined or a profile that allows them; Kubernetes: securityContext.seccompProfile " \
	"type Unconfined or a Localhost profile that allows them)"

char *namespaces_hint(int err, bool userns)
{
	if (userns) {
		struct apparmor_state aa;
		apparmor_probe(&aa);
		bool aa_ok;
		cleanup_free char *aa_text = apparmor_describe(&aa, &aa_ok);
		if (!aa_ok)
			return xstrdup(aa_text);
		if (err == ENOSPC || read_long_file("/proc/sys/user/max_user_namespaces") == 0)
			return xstrdup("user.max_user_namespaces is 0 (or used up) in this user namespace: raise it "
			               "(`sysctl user.max_user_namespaces=15000`; a container's own is set by its "
			               "runtime)");
		if (read_long_file("/proc/sys/kernel/unprivileged_userns_clone") == 0)
			return xstrdup(
			    "kernel.unprivileged_userns_clone=0: `sysctl kernel.unprivileged_userns_clone=1`, "
			    "or run cordon as root (the sudo runner)");
	}
	if (under_seccomp_filter())
		return xstrdup(SECCOMP_HINT);
	if (!userns && !has_cap_sys_admin())
		return xstrdup("cordon runs as uid 0 without CAP_SYS_ADMIN (a container's root keeps a reduced set): "
		               "run cordon as a non-root user, which makes its own user namespace (needs a seccomp "
		               "profile that allows it), or give the container CAP_SYS_ADMIN");
	return NULL;
}

char *proc_mount_hint(void)
{
	/* What covers the /proc we started from: a container's masks. */
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char first[256] = "";
	unsigned covered = 0;
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		char mnt[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && str_has_prefix(mnt, "/proc/") &&
		    !strstr(line, " - binfmt_misc ") && !strstr(line, " - autofs ")) {
			if (!covered++)
				snprintf(first, sizeof(first), "%.200s", mnt);
		}
	}
	free(line);
	if (f)
		fclose(f);
	buf_t b = {0};
	buf_puts(&b, "the kernel refuses a new proc file system in this user namespace while the /proc cordon "
	             "started from is partly covered");
	if (covered)
		buf_printf(&b, " (%s%s: a container's masked paths)", first, covered > 1 ? " and more" : "");
	buf_puts(&b, "; run the container with an unmasked /proc (Docker, Podman: --security-opt "
	             "systempaths=unconfined; Kubernetes: securityContext.procMount: Unmasked)");
	return b.p;
}

bool in_initial_userns(void)
{
	char buf[128] = {0};
	cleanup_fd int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return true; /* cannot tell: no hint rather than a wrong one */
	/* "INSIDE OUTSIDE COUNT": the initial one is 0 0 4294967295. */
	char *p = buf;
	unsigned long v[3];
	for (int i = 0; i < 3; i++) {
		char *end;
		errno = 0;
		v[i] = strtoul(p, &end, 10);
		if (end == p || errno)
			return true;
		p = end;
	}
	return v[0] == 0 && v[1] == 0 && v[2] == 4294967295UL;
}

char *idmap_hint(void)
{
	if (in_initial_userns())
		return NULL;
	return xstrdup("cordon runs in a user namespace of its own (a container's), whose root cannot idmap the "
	               "host's file systems (that needs CAP_SYS_ADMIN where they belong, and the ids mapped); in a "
	               "container, run the job as a non-root user (user = is then ignored) or set user = root");
}
