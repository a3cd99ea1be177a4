/* The sandbox side of egress, run by pid 1 (never by the agent): a
 * listener on 127.0.0.1 inside the sandbox's network namespace, and for
 * each connection accepted there, its socket handed to the proxy over a
 * Unix socket (SCM_RIGHTS). Pid 1 copies no bytes: the proxy moves them
 * between this socket and the upstream one itself. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cordon.h"
#include "proxy.h"

struct sockaddr_un unix_address(const char *path, const char *step)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		die("%s: socket path %s is too long", step, path);
	memcpy(sa.sun_path, path, n + 1);
	return sa;
}

int relay_listen(unsigned short port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_with_error("egress relay: socket");
	int one = 1, defer = 10;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Accept only when the request's first bytes are there: one wake-up
	 * less for the proxy per connection. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0)
		die_with_error("egress relay: listen on 127.0.0.1:%u", port);
	return fd;
}

/* For [network] socket = PATH: connected while the host's paths are still
 * in view (before pivot_root), then kept for the sandbox's life. */
int relay_connect_external(const char *path, const char *sandbox_id)
{
	struct sockaddr_un sa = unix_address(path, "egress");
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die_with_error("egress: connect to the proxy at %s", path);
	char hello[1 + 32];
	hello[0] = 'H';
	memcpy(hello + 1, sandbox_id, 32);
	if (send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello))
		die_with_error("egress: greet the proxy at %s", path);
	return fd;
}

/* Hands the listening socket to the proxy, once. A socket stays in the
 * network namespace it was made in: the proxy, outside, accepts the
 * sandbox's loopback connections on it directly, and pid 1 touches no
 * connection itself. */
void relay_hand_over(int listen_fd, int control_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	memset(&cm, 0, sizeof(cm));
	char c = 'L';
	struct iovec iov = {&c, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &listen_fd, sizeof(int));
	if (sendmsg(control_fd, &msg, MSG_NOSIGNAL) != 1)
		die_with_error("egress: hand the loopback listener to the proxy");
}
