/* The egress proxy's event loop: the sandbox's only way out.
 *
 * It runs outside the sandbox's network namespace, in its own process,
 * with no capabilities, not as root, under Landlock and the strict seccomp
 * profile. Pid 1 of each sandbox makes a listener on 127.0.0.1 inside and
 * hands it over a Unix socket (SCM_RIGHTS); a socket stays in the network
 * namespace it was made in, so the proxy accepts the sandbox's loopback
 * connections on it directly. For each one the proxy
 * reads the request (HTTP CONNECT, plain HTTP with an absolute URI, or
 * SOCKS5), checks the name, resolves it itself, refuses private addresses,
 * connects only to the addresses it vetted, and then moves bytes between
 * the two sockets: all of them for a tunnel (CONNECT, SOCKS5), one request
 * for plain HTTP (see struct http_body). One thread runs the event loop (epoll);
 * a few threads run getaddrinfo(), which blocks. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cordon.h"
#include "egress.h"
#include "proxy_state.h"

void watch(struct proxy *px, struct endpoint *ep, uint32_t events)
{
	if (ep->fd < 0 || ep->events == events)
		return;
	struct epoll_event ev = {.events = events, .data.ptr = ep};
	int op = ep->events == (uint32_t)-1 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(px->epfd, op, ep->fd, &ev) < 0)
		die_with_error("proxy: epoll_ctl");
	ep->events = events;
}

void endpoint_init(struct endpoint *ep, enum ep_kind kind, int fd, void *owner)
{
	*ep = (struct endpoint){.kind = kind, .fd = fd, .events = (uint32_t)-1, .owner = owner};
}

void endpoint_close(struct endpoint *ep)
{
	if (ep->fd >= 0)
		close(ep->fd); /* also leaves the epoll set */
	ep->fd = -1;
}

/* Accepts the next connection on a listener; -1 when there is none. Out
 * of descriptors, the listener stays readable and a level-triggered loop
 * would spin on it while the clients wait: give up the spare descriptor
 * for a moment, accept, and refuse with a clear answer. */
static int accept_next(struct proxy *px, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno != EMFILE && errno != ENFILE) || px->spare_fd < 0)
			return -1;
		close(px->spare_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			shed(px, fd, "the egress proxy is out of file descriptors");
		/* Taken back once the refused connection's descriptor is closed. */
		px->spare_fd = fcntl(px->epfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -1;
	}
}

static void control_close(struct control *ctl)
{
	endpoint_close(&ctl->sandbox);
	endpoint_close(&ctl->ep);
	tenant_put(ctl->id);
	free(ctl);
}

static void control_free(struct control *ctl)
{
	if (ctl->prev)
		ctl->prev->next = ctl->next;
	else
		ctl->px->controls = ctl->next;
	if (ctl->next)
		ctl->next->prev = ctl->prev;
	control_close(ctl);
}

static void on_control(struct control *ctl)
{
	struct proxy *px = ctl->px;
	for (;;) {
		char data[64];
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = {data, sizeof(data)};
		struct msghdr msg = {
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
		ssize_t n = recvmsg(ctl->ep.fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* The sandbox is gone. A built-in proxy has nothing
			 * more to do once its one sandbox is. */
			bool builtin = px->cfg->listen_fd < 0;
			control_free(ctl);
			if (builtin)
				px->stopping = true;
			return;
		}
		int fd = -1;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
			    h->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&fd, CMSG_DATA(h), sizeof(int));
		if (fd >= 0 && n == 1 && data[0] == 'L' && ctl->sandbox.fd < 0) {
			endpoint_init(&ctl->sandbox, EP_SANDBOX, fd, ctl);
			watch(px, &ctl->sandbox, EPOLLIN);
		} else if (fd >= 0) {
			close(fd); /* nothing else is expected with a descriptor */
		} else if (n == 1 + 32 && data[0] == 'H') {
			/* An external proxy learns the sandbox id from the
			 * hello; the uid it takes from the kernel. */
			memcpy(ctl->id->sandbox_id, data + 1, 32);
			ctl->id->sandbox_id[32] = '\0';
		}
	}
}

static void control_add(struct proxy *px, int fd, const char *sandbox_id, uid_t uid)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	ctl->id = xcalloc(1, sizeof(*ctl->id));
	ctl->id->refs = 1;
	ctl->id->uid = uid;
	snprintf(ctl->id->sandbox_id, sizeof(ctl->id->sandbox_id), "%s", sandbox_id ? sandbox_id : "");
	ctl->px = px;
	ctl->next = px->controls;
	if (px->controls)
		px->controls->prev = ctl;
	px->controls = ctl;
	endpoint_init(&ctl->ep, EP_CONTROL, fd, ctl);
	endpoint_init(&ctl->sandbox, EP_SANDBOX, -1, ctl);
	watch(px, &ctl->ep, EPOLLIN);
}

/* At most ACCEPT_BATCH at a time: the listener stays readable (level
 * triggered) and the others' events come first. */
static void on_sandbox(struct control *ctl)
{
	struct proxy *px = ctl->px;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept_next(px, ctl->sandbox.fd);
		if (fd < 0)
			return;
		conn_new(px, fd, ctl->id);
	}
}

static void on_listen(struct proxy *px)
{
	for (;;) {
		int fd = accept_next(px, px->listen.fd);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		uid_t uid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : (uid_t)-1;
		control_add(px, fd, NULL, uid);
	}
}

static void sweep_timeouts(struct proxy *px)
{
	long long now = now_ms();
	for (struct conn *c = px->conns, *next; c; c = next) {
		next = c->next;
		if (c->state == S_RESOLVING || now < c->deadline)
			continue; /* a resolving connection ends when its job returns */
		switch (c->state) {
		case S_HEAD:
			deny(c, 400, 1, "request not complete in time");
			break;
		case S_CONNECTING:
			deny(c, 504, 4, "connect timed out");
			break;
		default:
			conn_end(c, "idle timeout");
		}
	}
}

static void dispatch(struct proxy *px, struct endpoint *ep, uint32_t events)
{
	struct conn *c = ep->owner;
	if ((ep->kind == EP_CLIENT || ep->kind == EP_UPSTREAM) && c->dead)
		return;
	switch (ep->kind) {
	case EP_CLIENT:
		if (c->state == S_HEAD)
			on_client_head(c);
		else if (c->state == S_RELAY)
			relay_update(c);
		break;
	case EP_UPSTREAM:
		if (c->state == S_CONNECTING)
			on_connected(c);
		else if (c->state == S_RELAY)
			relay_update(c);
		break;
	case EP_CONTROL:
		on_control(ep->owner);
		break;
	case EP_SANDBOX:
		on_sandbox(ep->owner);
		break;
	case EP_LISTEN:
		on_listen(px);
		break;
	case EP_RESOLVED:
		on_resolved(px);
		break;
	case EP_SIGNAL: {
		struct signalfd_siginfo si;
		(void)!read(ep->fd, &si, sizeof(si));
		px->stopping = true;
		break;
	}
	}
	(void)events;
}

/* Waiting for events. After a batch of small exchanges (requests,
 * handshakes) the proxy polls for up to POLL_AFTER_ACTIVITY_US before it
 * sleeps: a request through the proxy takes about twice the process
 * wake-ups of a direct one, and on virtual machines waking an idle CPU
 * costs tens of microseconds. Measured here (1000 sequential connections),
 * this halves the proxy's added latency. After a batch that moved bulk
 * data it sleeps at once: polling then only takes CPU from the programs at
 * either end. An idle proxy sleeps as before. */
#define POLL_AFTER_ACTIVITY_US 100
#define POLL_MAX_BATCH_BYTES   ((uint64_t)256 << 10)

static int wait_events(struct proxy *px, struct epoll_event *evs, int max, bool active)
{
	if (active) {
		long long until = now_us() + POLL_AFTER_ACTIVITY_US;
		do {
			int n = epoll_wait(px->epfd, evs, max, 0);
			if (n != 0)
				return n;
		} while (now_us() < until);
	}
	return epoll_wait(px->epfd, evs, max, px->wait_ms);
}

struct proxy *proxy_new(const struct proxy_config *cfg, const sigset_t *sigmask)
{
	struct proxy *px = xcalloc(1, sizeof(*px));
	px->cfg = cfg;
	px->shared = cfg->listen_fd >= 0;
	px->spare_fd = -1;
	px->sweep_every_ms = 1000;
	px->wait_ms = 1000;
	if (pthread_mutex_init(&px->mu, NULL) != 0 || pthread_cond_init(&px->cv, NULL) != 0)
		die("proxy: mutex");
	px->epfd = epoll_create1(EPOLL_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int sfd = sigmask ? signalfd(-1, sigmask, SFD_CLOEXEC | SFD_NONBLOCK) : -1;
	px->spare_fd = px->epfd < 0 ? -1 : fcntl(px->epfd, F_DUPFD_CLOEXEC, 0);
	if (px->epfd < 0 || efd < 0 || (sigmask && sfd < 0) || px->spare_fd < 0)
		die_with_error("proxy: epoll");
	endpoint_init(&px->resolved, EP_RESOLVED, efd, NULL);
	endpoint_init(&px->sig, EP_SIGNAL, sfd, NULL);
	endpoint_init(&px->listen, EP_LISTEN, cfg->listen_fd, NULL);
	watch(px, &px->resolved, EPOLLIN);
	watch(px, &px->sig, EPOLLIN);
	watch(px, &px->listen, EPOLLIN);
	if (cfg->control_fd >= 0)
		control_add(px, cfg->control_fd, cfg->sandbox_id, cfg->uid);
	resolvers_start(px, px->shared ? SHARED_RESOLVERS : RESOLVERS);
	px->last_sweep = now_ms();
	return px;
}

void proxy_step(struct proxy *px)
{
	struct epoll_event evs[64];
	int n = wait_events(px, evs, N_ELEMENTS(evs), px->active);
	px->moved = 0;
	if (n < 0 && errno != EINTR)
		die_with_error("proxy: epoll_wait");
	for (int i = 0; i < n; i++)
		dispatch(px, evs[i].data.ptr, evs[i].events);
	bury(px);
	px->active = n > 0 && px->moved < POLL_MAX_BATCH_BYTES;
	if (now_ms() - px->last_sweep >= px->sweep_every_ms) {
		sweep_timeouts(px);
		bury(px);
		px->last_sweep = now_ms();
	}
}

/* Every open connection gets its record. */
static void end_all(struct proxy *px)
{
	while (px->conns) {
		if (px->conns->state == S_RESOLVING)
			px->conns->allowed = false; /* never reached anything */
		conn_end(px->conns, "proxy stopped");
	}
	bury(px);
}

void proxy_serve(struct proxy *px)
{
	while (!px->stopping)
		proxy_step(px);
	end_all(px);
}

void proxy_free(struct proxy *px)
{
	end_all(px);
	resolvers_stop(px);
	for (struct control *ctl = px->controls, *next; ctl; ctl = next) {
		next = ctl->next;
		control_close(ctl);
	}
	px->controls = NULL;
	endpoint_close(&px->resolved);
	endpoint_close(&px->sig);
	endpoint_close(&px->listen);
	if (px->spare_fd >= 0)
		close(px->spare_fd);
	close(px->epfd);
	pthread_mutex_destroy(&px->mu);
	pthread_cond_destroy(&px->cv);
	for (size_t i = 0; i < px->n_notified; i++)
		free(px->notified[i]);
	free(px->notified);
	free(px);
}
