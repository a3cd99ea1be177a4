/* `cordon proxy --socket PATH --policy P`: a proxy shared by the sandboxes
 * whose policies name its socket. It builds the policy's net plan (the
 * only part of a plan the proxy enforces), makes its control socket with
 * the permissions asked for, and serves. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "cordon.h"
#include "netplan.h"
#include "proxy.h"

/* Who may connect to a shared proxy's socket: the kernel checks write
 * permission on the socket file at connect(). */
struct socket_access {
	mode_t mode; /* permission bits, set at creation (no window wider) */
	gid_t gid;   /* (gid_t)-1: the proxy's own group */
};

static int bind_control_socket(const char *path, const struct socket_access *acc)
{
	struct sockaddr_un sa = unix_address(path, "proxy");
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_with_error("proxy: socket");
	struct stat st;
	if (lstat(path, &st) == 0) {
		/* A socket left by a proxy that is gone may be replaced; one a
		 * proxy still answers on, or anything else, may not. */
		if (!S_ISSOCK(st.st_mode))
			die("proxy: %s exists and is not a socket", path);
		int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			die("proxy: another proxy is listening on %s", path);
		if (unlink(path) < 0)
			die_with_error("proxy: remove stale socket %s", path);
	}
	mode_t old = umask(~acc->mode & 0777);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		die_with_error("proxy: bind %s", path);
	/* Before listen(): nobody can connect while the group changes. */
	if (acc->gid != (gid_t)-1 && lchown(path, (uid_t)-1, acc->gid) < 0)
		die_with_error("proxy: give %s to group %u", path, (unsigned)acc->gid);
	if (listen(fd, 128) < 0)
		die_with_error("proxy: listen on %s", path);
	return fd;
}

static bool parse_socket_mode(const char *s, mode_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 0777)
		return false;
	*out = (mode_t)v;
	return true;
}

static bool parse_group(const char *s, gid_t *out)
{
	struct group *g = getgrnam(s);
	if (g) {
		*out = g->gr_gid;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v >= (gid_t)-1)
		return false;
	*out = (gid_t)v;
	return true;
}

#define PROXY_USAGE "usage: cordon proxy --socket PATH --policy P [--mode OCTAL] [--group GROUP]\n"

int cmd_proxy(int argc, char **argv)
{
	const char *socket_path = NULL, *policy_arg = NULL, *mode_arg = NULL, *group_arg = NULL;
	/* Owner and group may connect unless told otherwise. */
	struct socket_access acc = {.mode = 0660, .gid = (gid_t)-1};
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
	                                     {"policy", required_argument, NULL, 'p'},
	                                     {"mode", required_argument, NULL, 'm'},
	                                     {"group", required_argument, NULL, 'g'},
	                                     {NULL, 0, NULL, 0}};
	const char **slots[] = {&socket_path, &policy_arg, &mode_arg, &group_arg};
	optind = 0; /* a fresh scan, whatever parsed options before */
	for (;;) {
		int k = -1;
		int at = optind ? optind : 1; /* the word getopt is about to read */
		opterr = 0;                   /* the messages below are cordon's */
		int c = getopt_long(argc, argv, "+:", opts, &k);
		if (c == -1)
			break;
		if (c == ':') {
			fprintf(stderr, "cordon: %s needs a value\n", argv[optind - 1]);
			return EXIT_SETUP;
		}
		if (c == '?' || k < 0 || !spelt_in_full(argv[at], opts[k].name)) {
			fputs(PROXY_USAGE, stderr);
			return EXIT_SETUP;
		}
		/* Each once: under a sudoers rule that lets the invoker append
		 * options, a second --policy or --socket must not replace the
		 * administrator's. */
		if (*slots[k]) {
			fprintf(stderr, "cordon: --%s given more than once\n", opts[k].name);
			return EXIT_SETUP;
		}
		*slots[k] = optarg;
	}
	if (optind < argc) {
		fputs(PROXY_USAGE, stderr);
		return EXIT_SETUP;
	}
	if (!socket_path || !policy_arg) {
		fputs(PROXY_USAGE, stderr);
		return EXIT_SETUP;
	}
	if (mode_arg && !parse_socket_mode(mode_arg, &acc.mode))
		die("proxy: --mode %s: expected octal permission bits, at most 0777", mode_arg);
	if (group_arg && !parse_group(group_arg, &acc.gid))
		die("proxy: --group %s: no such group", group_arg);
	cleanup_free char *path = NULL;
	struct diags d = {0};
	struct policy *p = policy_open(policy_arg, &d, &path);
	if (!p) {
		diags_print(&d, STDERR_FILENO);
		return EXIT_SETUP;
	}
	if (p->net_mode != NET_PROXY)
		die("proxy: policy %s has [network] mode = %s; the proxy serves mode = proxy", path,
		    net_mode_name(p->net_mode));
	/* Only the network part of a plan: the proxy enforces nothing else. */
	struct passwd *pw = getpwuid(getuid());
	struct net_plan net;
	if (!netplan_build(&net, p, pw ? pw->pw_dir : NULL, &d)) {
		diags_print(&d, STDERR_FILENO);
		return EXIT_SETUP;
	}
	int audit_fd = net.audit_log ? audit_open_log(net.audit_log, running_under_sudo()) : -1;
	int lfd = bind_control_socket(socket_path, &acc);
	struct proxy_config cfg = {
	    .net = &net,
	    .audit_fd = audit_fd,
	    .privileged = geteuid() == 0,
	    .control_fd = -1,
	    .listen_fd = lfd,
	};
	proxy_run(&cfg);
}
