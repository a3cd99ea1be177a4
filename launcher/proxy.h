/* The egress proxy (proxy.c) and the relay that feeds it from inside a
 * sandbox (relay.c). */
#ifndef CORDON_PROXY_H
#define CORDON_PROXY_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "netplan.h"

struct proxy_config {
	const struct net_plan *net; /* rules, limits, timeouts, the policy's name */
	int audit_fd;               /* -1: no records */
	bool privileged;            /* started as root: drop to nobody */
	/* Built in: one control socket, from the one sandbox it serves. */
	int control_fd;
	const char *sandbox_id;
	uid_t uid;
	/* Standalone: a listening Unix socket that sandboxes connect to. */
	int listen_fd;
};

/* Confines the calling process and serves until told to stop (SIGTERM,
 * or, built in, when its sandbox is gone). Never returns. */
__attribute__((noreturn)) void proxy_run(const struct proxy_config *cfg);

/* path as a Unix socket address; exits 125 naming step when it is too
 * long for one. */
struct sockaddr_un unix_address(const char *path, const char *step);

/* In pid 1: the loopback listener the sandbox's clients connect to, and
 * handing it to the proxy. */
int relay_listen(unsigned short port);
int relay_connect_external(const char *path, const char *sandbox_id);
void relay_hand_over(int listen_fd, int control_fd);

#endif
