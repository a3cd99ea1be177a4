/* The sandbox side of egress, run by pid 1 (never by the agent): a
 * listener on 127.0.0.1 inside the sandbox's network namespace, and for
 * each connection accepted there, its socket handed to the proxy over a
 * Unix socket (SCM_RIGHTS). Pid 1 copies no bytes: the proxy moves them
 * between this socket and the upstream one itself. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cordon.h"
#include "proxy.h"

int relay_listen(unsigned short port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_with_error("egress relay: socket");
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
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
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		die("egress: socket path %s is too long", path);
	strcpy(sa.sun_path, path);
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

/* Sends one socket to the proxy. Returns 1 sent, 0 try later (the
 * proxy's queue is full), -1 the proxy is gone. */
static int hand_over(int control_fd, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	memset(&cm, 0, sizeof(cm));
	char c = 'c';
	struct iovec iov = {&c, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	if (sendmsg(control_fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		return 1;
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) ? 0 : -1;
}

void relay_init(struct relay *r, int listen_fd, int control_fd)
{
	memset(r, 0, sizeof(*r));
	r->listen_fd = listen_fd;
	r->control_fd = control_fd;
}

/* Pid 1 never blocks on the proxy. Connections wait in a short queue
 * while the proxy's socket is full (the kernel allows only a few messages
 * in flight); when the queue is full, pid 1 stops accepting and the
 * listen backlog holds the rest. */
short relay_listen_events(const struct relay *r)
{
	return r->listen_fd >= 0 && r->n < RELAY_QUEUE ? POLLIN : 0;
}

short relay_control_events(const struct relay *r)
{
	return r->n ? POLLOUT : 0;
}

static void proxy_gone(struct relay *r)
{
	for (size_t i = 0; i < r->n; i++)
		close(r->pending[i]);
	r->n = 0;
	if (r->control_fd >= 0)
		close(r->control_fd);
	r->control_fd = -1; /* from now on connections are closed at once */
}

void relay_flush(struct relay *r)
{
	size_t sent = 0;
	while (sent < r->n && r->control_fd >= 0) {
		int k = hand_over(r->control_fd, r->pending[sent]);
		if (k == 0)
			break;
		if (k < 0) {
			proxy_gone(r);
			return;
		}
		close(r->pending[sent++]);
	}
	memmove(r->pending, r->pending + sent, (r->n - sent) * sizeof(int));
	r->n -= sent;
}

void relay_accept(struct relay *r)
{
	while (r->n < RELAY_QUEUE) {
		int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (r->control_fd < 0) {
			close(fd);
			continue;
		}
		r->pending[r->n++] = fd;
		relay_flush(r);
	}
}
