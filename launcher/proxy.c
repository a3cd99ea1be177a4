/* The egress proxy: the sandbox's only way out.
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
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cordon.h"
#include "egress.h"
#include "proxy.h"

#define MAX_HEAD             ((size_t)64 << 10)
#define HEAD_MIN_BUF         ((size_t)4 << 10) /* doubles up to MAX_HEAD as a head needs */
#define HANDSHAKE_TIMEOUT_MS 10000LL           /* the whole request head, or SOCKS handshake */
#define RELAY_MIN_BUF        ((size_t)64 << 10)
#define RELAY_MAX_BUF        ((size_t)4 << 20)
#define MAX_ADDRS            16
#define ACCEPT_BATCH         64 /* connections taken from one listener per wake-up */

/* The proxy's limits, and what one sandbox may hold of them when the proxy
 * is shared (`cordon proxy`, one control connection per sandbox): a
 * quarter of each, so that one sandbox, however greedy, cannot starve the
 * others; beyond its share it gets its own 503 that says so. A built-in
 * proxy serves one sandbox, which may use all of it. Buffers beyond the
 * first (a head's first HEAD_MIN_BUF, a relay direction's first
 * RELAY_MIN_BUF) are optional: a buffer grows only while there is room. */
#define MAX_CONNECTIONS   1024
#define SHARE_CONNECTIONS 256
#define MAX_RESOLVING     256 /* names being resolved, waiting or on a thread */
#define SHARE_RESOLVING   64
#define RESOLVERS         4  /* resolver threads, built in */
#define SHARED_RESOLVERS  16 /* resolver threads of a shared proxy */
#define SHARE_RESOLVERS   4  /* of them, resolving for one sandbox at once */
#define MAX_BUFFERS       ((size_t)256 << 20)
#define SHARE_BUFFERS     ((size_t)64 << 20)

enum ep_kind { EP_CLIENT, EP_UPSTREAM, EP_CONTROL, EP_SANDBOX, EP_LISTEN, EP_RESOLVED, EP_SIGNAL };

struct endpoint {
	enum ep_kind kind;
	int fd;
	uint32_t events; /* what epoll watches now */
	void *owner;
};

/* A sandbox the proxy serves: who its connections come from, for the
 * audit record, and what of the proxy they hold, against its share.
 * Freed with its last connection (or its control socket). */
struct tenant {
	char sandbox_id[33];
	uid_t uid;
	int refs;
	size_t conns;        /* connections open */
	size_t resolving;    /* jobs waiting or running */
	size_t running;      /* jobs on a resolver thread (under P.mu) */
	size_t buffers;      /* bytes of buffers its connections hold */
	long long last_shed; /* when a line about its refusals was last printed */
};

/* A sandbox: the Unix socket its pid 1 talks on, and the loopback
 * listener inside its network namespace that it handed over. */
struct control {
	struct endpoint ep;
	struct endpoint sandbox; /* EP_SANDBOX */
	struct tenant *id;
};

enum state { S_HEAD, S_RESOLVING, S_CONNECTING, S_RELAY };
enum proto { P_UNKNOWN, P_HTTP, P_CONNECT, P_SOCKS };

/* One direction of a relay: from -> buffer -> to. The buffer starts
 * small and doubles while reads keep filling it, so a bulk download gets
 * large reads and writes while a short request costs little memory. */
struct half {
	char *buf;
	size_t cap, off, len; /* bytes [off, off + len) wait to be written */
	uint64_t read;        /* bytes taken from the source */
	uint64_t max;         /* 0: no limit */
	bool full;            /* the last read filled the buffer */
	bool eof, shut;
};

struct conn {
	struct conn *prev, *next;
	struct endpoint client, upstream;
	enum state state;
	enum proto proto;
	char *buf; /* the head as it arrives */
	size_t len, buf_cap;
	char *out; /* for upstream before relaying: the rewritten head, early data */
	size_t out_len, out_off;
	struct egress_target t;
	struct sockaddr_storage addrs[MAX_ADDRS];
	socklen_t addr_lens[MAX_ADDRS];
	size_t n_addrs, next_addr;
	char addr_text[INET6_ADDRSTRLEN];
	struct half up, down;
	/* Plain HTTP: the one request the policy vetted goes upstream, its
	 * rewritten head and its body (as far as Content-Length or the
	 * chunked framing says); whatever the client sends after it is read
	 * and dropped, never forwarded: a second request on the same
	 * connection (pipelined, or smuggled past the check in the first
	 * one's body framing) could name any host. The upstream was asked to
	 * close after its answer (Connection: close), which ends the relay. */
	struct http_body body;
	uint64_t dropped; /* bytes the client sent after its request */
	long long start, deadline;
	struct tenant *id;
	struct conn *job_next; /* S_RESOLVING: the next connection waiting for the same job */
	bool socks_greeted, allowed;
	const char *end_reason;
	char end_buf[96];
	bool dead; /* closed; freed after the current batch of events */
};

/* A name to resolve, for one sandbox's connections to it: parallel
 * connections to one host (a package manager's) share one lookup. */
struct job {
	struct job *next;                /* in P.todo or P.done (under P.mu) */
	struct job *prev_job, *next_job; /* in P.jobs (event loop only) */
	struct conn *waiting;            /* the connections it resolves for */
	struct tenant *tenant;
	char host[EGRESS_MAX_HOST + 1];
	struct addrinfo *res;
	int err;
};

static struct {
	const struct proxy_config *cfg;
	int epfd;
	struct conn *conns;
	struct conn *graveyard; /* closed during this batch of events */
	size_t n_conns;
	struct endpoint resolved, sig, listen;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail, *done;
	struct job *jobs; /* every job not yet answered */
	size_t n_jobs;
	size_t buffers; /* bytes of buffers all connections hold */
	bool shared;    /* `cordon proxy`: each sandbox gets its share */
	bool stopping;
	uint64_t moved;      /* bytes relayed in the current batch of events */
	int spare_fd;        /* given up to accept a connection only to refuse it */
	long long last_shed; /* when the last "refusing" line was printed */
} P = {.spare_fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* ---- epoll ---- */

static void watch(struct endpoint *ep, uint32_t events)
{
	if (ep->fd < 0 || ep->events == events)
		return;
	struct epoll_event ev = {.events = events, .data.ptr = ep};
	int op = ep->events == (uint32_t)-1 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(P.epfd, op, ep->fd, &ev) < 0)
		die_with_error("proxy: epoll_ctl");
	ep->events = events;
}

static void endpoint_init(struct endpoint *ep, enum ep_kind kind, int fd, void *owner)
{
	*ep = (struct endpoint){.kind = kind, .fd = fd, .events = (uint32_t)-1, .owner = owner};
}

static void endpoint_close(struct endpoint *ep)
{
	if (ep->fd >= 0)
		close(ep->fd); /* also leaves the epoll set */
	ep->fd = -1;
}

/* ---- audit ---- */

static void audit_egress(struct conn *c, const char *event, const char *reason)
{
	if (P.cfg->audit_fd < 0)
		return;
	const char *proto = c->proto == P_CONNECT ? "connect"
	                    : c->proto == P_HTTP  ? "http"
	                    : c->proto == P_SOCKS ? "socks5"
	                                          : "unknown";
	buf_t f = {0};
	buf_puts(&f, ",\"host\":");
	buf_json_str(&f, c->t.host[0] ? c->t.host : "");
	buf_printf(&f, ",\"port\":%u,\"address\":", c->t.port);
	if (c->addr_text[0])
		buf_json_str(&f, c->addr_text);
	else
		buf_puts(&f, "null");
	buf_printf(&f,
	           ",\"protocol\":\"%s\",\"bytes_up\":%llu,\"bytes_down\":%llu,\"duration_ms\":%lld,\"reason\":", proto,
	           (unsigned long long)c->up.read, (unsigned long long)c->down.read, now_ms() - c->start);
	buf_json_str(&f, reason);
	audit_record(P.cfg->audit_fd, event, P.cfg->net->policy_name, c->id ? c->id->sandbox_id : "",
	             c->id ? c->id->uid : 0, f.p);
	buf_free(&f);
}

/* ---- connections ---- */

static void tenant_put(struct tenant *id)
{
	if (id && --id->refs == 0)
		free(id);
}

/* ---- buffers, counted against the sandbox's share ---- */

static bool buffer_room(const struct tenant *id, size_t more)
{
	return P.buffers + more <= MAX_BUFFERS && (!P.shared || id->buffers + more <= SHARE_BUFFERS);
}

static char *buffer_get(struct tenant *id, size_t n)
{
	id->buffers += n;
	P.buffers += n;
	return xmalloc(n);
}

static void buffer_put(struct tenant *id, char **p, size_t *n)
{
	if (!*p)
		return;
	free(*p);
	*p = NULL;
	id->buffers -= *n;
	P.buffers -= *n;
	*n = 0;
}

static void conn_free(struct conn *c)
{
	if (c->allowed) {
		const char *reason = c->end_reason ? c->end_reason : "closed";
		char why[192];
		if (c->dropped) {
			snprintf(why, sizeof(why), "%s; %llu bytes sent after the request were not forwarded", reason,
			         (unsigned long long)c->dropped);
			reason = why;
		}
		audit_egress(c, "egress_allow", reason);
	}
	endpoint_close(&c->client);
	endpoint_close(&c->upstream);
	if (c->prev)
		c->prev->next = c->next;
	else
		P.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	P.n_conns--;
	c->id->conns--;
	/* Later events of the same epoll batch may still point at it. */
	c->dead = true;
	c->next = P.graveyard;
	P.graveyard = c;
}

static void bury(void)
{
	while (P.graveyard) {
		struct conn *c = P.graveyard;
		P.graveyard = c->next;
		buffer_put(c->id, &c->buf, &c->buf_cap);
		buffer_put(c->id, &c->up.buf, &c->up.cap);
		buffer_put(c->id, &c->down.buf, &c->down.cap);
		tenant_put(c->id);
		free(c->out);
		free(c);
	}
}

static void conn_end(struct conn *c, const char *reason)
{
	if (!c->end_reason)
		c->end_reason = reason;
	conn_free(c);
}

/* A line on stderr about refusals, at most once a second per *last. */
static bool shed_line_due(long long *last)
{
	long long now = now_ms();
	if (now - *last < 1000)
		return false;
	*last = now;
	return true;
}

/* Refuses a connection the proxy cannot take, before reading it (so the
 * answer is HTTP even to a SOCKS client, which sees a failure either way):
 * a 503 that says why. */
static void refuse_fd(int fd, const char *why)
{
	char reply[256];
	int body = snprintf(NULL, 0, "cordon: %s\n", why);
	int n = snprintf(reply, sizeof(reply),
	                 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                 "Content-Length: %d\r\nConnection: close\r\n\r\ncordon: %s\n",
	                 body, why);
	if (n > 0 && (size_t)n < sizeof(reply))
		(void)!write(fd, reply, (size_t)n);
	close(fd);
}

/* The same for the proxy's own limits, and a line on stderr at most once a
 * second. */
static void shed(int fd, const char *why)
{
	refuse_fd(fd, why);
	if (shed_line_due(&P.last_shed))
		warn_msg("egress: %s; refusing connections", why);
}

/* A sandbox over its share of a shared proxy: a line on stderr naming
 * it, at most once a second. */
static void over_share(struct tenant *id, const char *why)
{
	if (shed_line_due(&id->last_shed))
		warn_msg("egress: sandbox %s (uid %u): %s; refusing its requests",
		         id->sandbox_id[0] ? id->sandbox_id : "?", (unsigned)id->uid, why);
}

/* Accepts the next connection on a listener; -1 when there is none. Out
 * of descriptors, the listener stays readable and a level-triggered loop
 * would spin on it while the clients wait: give up the spare descriptor
 * for a moment, accept, and refuse with a clear answer. */
static int accept_next(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno != EMFILE && errno != ENFILE) || P.spare_fd < 0)
			return -1;
		close(P.spare_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			shed(fd, "the egress proxy is out of file descriptors");
		/* Taken back once the refused connection's descriptor is closed. */
		P.spare_fd = fcntl(P.epfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -1;
	}
}

static void conn_new(int fd, struct tenant *id)
{
	char why[128];
	if (P.shared && id->conns >= SHARE_CONNECTIONS) {
		snprintf(why, sizeof(why), "this sandbox has %d connections open, its share of the shared egress proxy",
		         SHARE_CONNECTIONS);
		over_share(id, why);
		refuse_fd(fd, why);
		return;
	}
	if (P.n_conns >= MAX_CONNECTIONS) {
		snprintf(why, sizeof(why), "the egress proxy has %d connections open, its limit", MAX_CONNECTIONS);
		shed(fd, why);
		return;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn *c = xcalloc(1, sizeof(*c));
	endpoint_init(&c->client, EP_CLIENT, fd, c);
	endpoint_init(&c->upstream, EP_UPSTREAM, -1, c);
	c->up.max = P.cfg->net->max_request_bytes;
	c->down.max = P.cfg->net->max_response_bytes;
	c->buf_cap = HEAD_MIN_BUF;
	c->buf = buffer_get(id, c->buf_cap);
	c->start = now_ms();
	c->deadline = c->start + HANDSHAKE_TIMEOUT_MS;
	c->id = id;
	id->refs++;
	id->conns++;
	c->next = P.conns;
	if (P.conns)
		P.conns->prev = c;
	P.conns = c;
	P.n_conns++;
	watch(&c->client, EPOLLIN);
}

/* Small replies to the client (403 pages, SOCKS replies) fit in an empty
 * socket buffer; a client that cannot take them is dropped. */
static void client_say(struct conn *c, const void *p, size_t n)
{
	(void)!write(c->client.fd, p, n);
}

static void http_error(struct conn *c, int status, const char *title, const char *text)
{
	buf_t b = {0};
	buf_printf(&b, "cordon: %s\n", text);
	buf_t h = {0};
	buf_printf(&h,
	           "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
	           "Connection: close\r\n\r\n%s",
	           status, title, b.len, b.p);
	client_say(c, h.p, h.len);
	buf_free(&b);
	buf_free(&h);
}

static void socks_reply(struct conn *c, int code)
{
	unsigned char r[10] = {5, (unsigned char)code, 0, 1, 0, 0, 0, 0, 0, 0};
	client_say(c, r, sizeof(r));
}

/* Refuses the request: a 403 (or SOCKS "not allowed") naming the policy
 * and the host, or another status when the request is bad or the way out
 * failed; and an egress_deny record. */
static void deny(struct conn *c, int http_status, int socks_code, const char *reason)
{
	char text[600];
	const char *host = c->t.host[0] ? c->t.host : "(unparsed request)";
	if (http_status == 403)
		snprintf(text, sizeof(text), "policy '%s' does not allow %s:%u: %s", P.cfg->net->policy_name, host,
		         c->t.port, reason);
	else /* not the policy's refusal: a bad request, or the way out failed */
		snprintf(text, sizeof(text), "%s:%u: %s (policy '%s')", host, c->t.port, reason,
		         P.cfg->net->policy_name);
	if (c->proto == P_SOCKS)
		socks_reply(c, socks_code);
	else
		http_error(c, http_status,
		           http_status == 403   ? "Forbidden"
		           : http_status == 502 ? "Bad Gateway"
		           : http_status == 504 ? "Gateway Timeout"
		           : http_status == 503 ? "Service Unavailable"
		           : http_status == 431 ? "Request Header Fields Too Large"
		           : http_status == 413 ? "Payload Too Large"
		           : http_status == 501 ? "Not Implemented"
		           : http_status == 405 ? "Method Not Allowed"
		                                : "Bad Request",
		           text);
	audit_egress(c, "egress_deny", reason);
	conn_free(c);
}

/* ---- resolving ---- */

/* The oldest waiting job whose sandbox is under its share of resolver
 * threads, taken off the queue; NULL if none. A sandbox with many slow
 * names then holds SHARE_RESOLVERS threads at most, and the next sandbox's
 * job goes ahead of its queue. Called with P.mu held. */
static struct job *next_job(void)
{
	size_t limit = P.shared ? SHARE_RESOLVERS : SIZE_MAX; /* built in: all of them */
	for (struct job *j = P.todo, *prev = NULL; j; prev = j, j = j->next) {
		if (j->tenant->running >= limit)
			continue;
		if (prev)
			prev->next = j->next;
		else
			P.todo = j->next;
		if (P.todo_tail == j)
			P.todo_tail = prev;
		j->tenant->running++;
		return j;
	}
	return NULL;
}

static void *resolver(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&P.mu);
		struct job *j;
		while (!(j = next_job()))
			pthread_cond_wait(&P.cv, &P.mu);
		pthread_mutex_unlock(&P.mu);

		struct addrinfo hints = {
		    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
		j->err = getaddrinfo(j->host, NULL, &hints, &j->res);

		pthread_mutex_lock(&P.mu);
		j->tenant->running--;
		j->next = P.done;
		P.done = j;
		/* A job passed over for this sandbox's share may go now. */
		if (P.todo)
			pthread_cond_broadcast(&P.cv);
		pthread_mutex_unlock(&P.mu);
		uint64_t one = 1;
		(void)!write(P.resolved.fd, &one, sizeof(one));
	}
	return NULL;
}

static void start_connect(struct conn *c);

static void add_addr(struct conn *c, const struct sockaddr *sa, socklen_t len, unsigned short port)
{
	if (c->n_addrs == MAX_ADDRS)
		return;
	memcpy(&c->addrs[c->n_addrs], sa, len);
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)&c->addrs[c->n_addrs])->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&c->addrs[c->n_addrs])->sin6_port = htons(port);
	c->addr_lens[c->n_addrs++] = len;
}

/* Keeps only the addresses the sandbox may reach. The proxy connects to
 * exactly these: the name is never resolved again, so it cannot be
 * rebound to something else between check and use. */
static void vet_and_connect(struct conn *c, const struct addrinfo *res)
{
	const char *what = NULL, *first_private = NULL;
	char first_text[INET6_ADDRSTRLEN] = "";
	for (const struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		if (!P.cfg->net->allow_private && egress_addr_is_private(a->ai_addr, &what)) {
			if (!first_private) {
				first_private = what;
				const void *raw = a->ai_family == AF_INET
				                      ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
				                      : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
				inet_ntop(a->ai_family, raw, first_text, sizeof(first_text));
			}
			continue;
		}
		add_addr(c, a->ai_addr, a->ai_addrlen, c->t.port);
	}
	if (c->n_addrs == 0) {
		char why[200];
		if (first_private)
			snprintf(why, sizeof(why), "resolves to a private address (%s: %s) and allow_private is off",
			         first_text, first_private);
		else
			snprintf(why, sizeof(why), "no usable address");
		deny(c, 403, 2, why);
		return;
	}
	start_connect(c);
}

static void on_resolved(void)
{
	uint64_t n;
	(void)!read(P.resolved.fd, &n, sizeof(n));
	pthread_mutex_lock(&P.mu);
	struct job *list = P.done;
	P.done = NULL;
	pthread_mutex_unlock(&P.mu);
	while (list) {
		struct job *j = list;
		list = j->next;
		if (j->prev_job)
			j->prev_job->next_job = j->next_job;
		else
			P.jobs = j->next_job;
		if (j->next_job)
			j->next_job->prev_job = j->prev_job;
		P.n_jobs--;
		j->tenant->resolving--;
		char why[200] = "";
		if (j->err)
			snprintf(why, sizeof(why), "cannot resolve: %s", gai_strerror(j->err));
		for (struct conn *c = j->waiting, *next; c; c = next) {
			next = c->job_next;
			if (j->err)
				deny(c, 502, 4, why);
			else
				vet_and_connect(c, j->res);
		}
		if (j->res)
			freeaddrinfo(j->res);
		free(j);
	}
}

/* Resolves c's name on a resolver thread, with the other connections of
 * its sandbox waiting for the same name if there are any. */
static void resolve(struct conn *c)
{
	for (struct job *j = P.jobs; j; j = j->next_job) {
		if (j->tenant == c->id && strcmp(j->host, c->t.host) == 0) {
			c->state = S_RESOLVING;
			c->job_next = j->waiting;
			j->waiting = c;
			return;
		}
	}
	char why[128];
	if (P.shared && c->id->resolving >= SHARE_RESOLVING) {
		snprintf(why, sizeof(why),
		         "this sandbox has %d names being resolved, its share of the shared egress proxy",
		         SHARE_RESOLVING);
		over_share(c->id, why);
		deny(c, 503, 1, why);
		return;
	}
	if (P.n_jobs >= MAX_RESOLVING) {
		snprintf(why, sizeof(why), "the egress proxy has %d names being resolved, its limit", MAX_RESOLVING);
		if (shed_line_due(&P.last_shed))
			warn_msg("egress: %s; refusing requests", why);
		deny(c, 503, 1, why);
		return;
	}
	struct job *j = xcalloc(1, sizeof(*j));
	j->waiting = c;
	j->tenant = c->id;
	memcpy(j->host, c->t.host, sizeof(j->host));
	j->next_job = P.jobs;
	if (P.jobs)
		P.jobs->prev_job = j;
	P.jobs = j;
	P.n_jobs++;
	c->id->resolving++;
	c->state = S_RESOLVING;
	pthread_mutex_lock(&P.mu);
	if (P.todo_tail)
		P.todo_tail->next = j;
	else
		P.todo = j;
	P.todo_tail = j;
	pthread_cond_signal(&P.cv);
	pthread_mutex_unlock(&P.mu);
}

/* ---- deciding ---- */

static void decide(struct conn *c)
{
	const char *reason;
	if (!egress_allowed(P.cfg->net, &c->t, &reason)) {
		deny(c, 403, 2, reason);
		return;
	}
	watch(&c->client, 0); /* nothing more is read until the upstream is there */
	if (c->t.is_ip) {
		struct sockaddr_storage ss = {0};
		socklen_t len;
		if (c->t.family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, c->t.addr, 4);
			len = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, c->t.addr, 16);
			len = sizeof(*s6);
		}
		struct addrinfo ai = {.ai_family = c->t.family, .ai_addr = (struct sockaddr *)&ss, .ai_addrlen = len};
		vet_and_connect(c, &ai);
		return;
	}
	resolve(c);
}

/* ---- reading the request ---- */

/* What the client sent after its request head (a TLS hello through a
 * tunnel, a request body) goes upstream once connected; for plain HTTP only
 * as far as the request's body goes. False when that body is malformed. */
static bool take_early_data(struct conn *c, size_t consumed)
{
	size_t rest = c->len - consumed;
	if (c->proto == P_HTTP) {
		size_t body;
		const char *why;
		if (!http_body_take(&c->body, c->buf + consumed, rest, &body, &why)) {
			deny(c, 400, 1, why);
			return false;
		}
		c->dropped += rest - body;
		rest = body;
	}
	if (!rest)
		return true;
	c->out = xrealloc(c->out, c->out_len + rest);
	memcpy(c->out + c->out_len, c->buf + consumed, rest);
	c->out_len += rest;
	return true;
}

static void parse_socks(struct conn *c)
{
	size_t used;
	if (!c->socks_greeted) {
		bool no_auth;
		int r = socks5_parse_greeting((unsigned char *)c->buf, c->len, &used, &no_auth);
		if (r == 0)
			return;
		if (r < 0 || !no_auth) {
			static const unsigned char refuse[2] = {5, 0xFF};
			client_say(c, refuse, 2);
			deny(c, 400, 1,
			     r < 0 ? "not a SOCKS5 greeting" : "SOCKS5 without the no-authentication method");
			return;
		}
		static const unsigned char ok[2] = {5, 0};
		client_say(c, ok, 2);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		c->socks_greeted = true;
	}
	int reply;
	const char *why;
	int r = socks5_parse_request((unsigned char *)c->buf, c->len, &used, &c->t, &reply, &why);
	if (r == 0)
		return;
	if (r < 0) {
		deny(c, 400, reply, why);
		return;
	}
	if (take_early_data(c, used))
		decide(c);
}

static void parse_http(struct conn *c)
{
	struct http_head h = {0};
	int status;
	const char *why;
	int r = http_parse_head(c->buf, c->len, MAX_HEAD, P.cfg->net->max_request_bytes, &h, &status, &why);
	if (r == 0)
		return;
	if (r < 0) {
		deny(c, status, 1, why);
		return;
	}
	c->t = h.dest;
	c->proto = h.is_connect ? P_CONNECT : P_HTTP;
	if (h.upstream) {
		c->out = steal_pointer(&h.upstream);
		c->out_len = h.upstream_len;
		http_body_init(&c->body, &h);
	}
	http_head_free(&h);
	if (take_early_data(c, h.head_len))
		decide(c);
}

/* Makes the head buffer twice as large, if the sandbox's share of
 * buffers has room; else refuses the request. */
static bool grow_head(struct conn *c)
{
	char why[128];
	if (!buffer_room(c->id, c->buf_cap)) {
		if (P.shared && c->id->buffers + c->buf_cap > SHARE_BUFFERS) {
			snprintf(
			    why, sizeof(why),
			    "this sandbox's connections hold %zu MiB of buffers, its share of the shared egress proxy",
			    SHARE_BUFFERS >> 20);
			over_share(c->id, why);
		} else {
			snprintf(why, sizeof(why), "the egress proxy's connections hold %zu MiB of buffers, its limit",
			         MAX_BUFFERS >> 20);
			if (shed_line_due(&P.last_shed))
				warn_msg("egress: %s; refusing requests", why);
		}
		deny(c, 503, 1, why);
		return false;
	}
	size_t cap = c->buf_cap * 2;
	char *buf = buffer_get(c->id, cap);
	memcpy(buf, c->buf, c->len);
	buffer_put(c->id, &c->buf, &c->buf_cap);
	c->buf = buf;
	c->buf_cap = cap;
	return true;
}

static void on_client_head(struct conn *c)
{
	if (c->len == MAX_HEAD) {
		deny(c, 431, 1, "request head too large");
		return;
	}
	if (c->len == c->buf_cap && !grow_head(c))
		return;
	ssize_t n = read(c->client.fd, c->buf + c->len, c->buf_cap - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c); /* gone before asking for anything */
		return;
	}
	c->len += (size_t)n;
	if (c->proto == P_UNKNOWN)
		c->proto = (unsigned char)c->buf[0] == 5 ? P_SOCKS : P_HTTP;
	if (c->proto == P_SOCKS)
		parse_socks(c);
	else
		parse_http(c);
}

/* ---- connecting ---- */

static void start_connect(struct conn *c)
{
	c->state = S_CONNECTING;
	while (c->next_addr < c->n_addrs) {
		size_t i = c->next_addr++;
		const struct sockaddr *sa = (const struct sockaddr *)&c->addrs[i];
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			deny(c, 503, 1, "the egress proxy is out of file descriptors");
			return;
		}
		if (fd < 0)
			continue;
		const void *raw = sa->sa_family == AF_INET
		                      ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
		                      : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		inet_ntop(sa->sa_family, raw, c->addr_text, sizeof(c->addr_text));
		if (connect(fd, sa, c->addr_lens[i]) < 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		endpoint_init(&c->upstream, EP_UPSTREAM, fd, c);
		watch(&c->upstream, EPOLLOUT);
		c->deadline = now_ms() + (long long)P.cfg->net->connect_timeout_ms;
		return;
	}
	deny(c, 502, 5, "cannot connect to any address of the host");
}

static void relay_update(struct conn *c);

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		endpoint_close(&c->upstream);
		start_connect(c); /* the next address, or a 502 */
		return;
	}
	c->allowed = true;
	if (c->proto == P_CONNECT) {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		client_say(c, ok, sizeof(ok) - 1);
	} else if (c->proto == P_SOCKS) {
		socks_reply(c, 0);
	}
	c->state = S_RELAY;
	c->deadline = now_ms() + (long long)P.cfg->net->idle_timeout_ms;
	buffer_put(c->id, &c->buf, &c->buf_cap);
	relay_update(c);
}

/* ---- relaying ---- */

static bool over_limit(struct conn *c, struct half *h, const char *what)
{
	if (!h->max || h->read <= h->max)
		return false;
	snprintf(c->end_buf, sizeof(c->end_buf), "%s exceeded (%llu bytes)", what, (unsigned long long)h->max);
	warn_msg("egress: %s:%u: %s; connection closed", c->t.host, c->t.port, c->end_buf);
	c->end_reason = c->end_buf;
	return true;
}

/* A plain HTTP request body that breaks its framing after the head went
 * upstream: nothing more goes there, and the client hears why unless the
 * answer has begun. */
static void bad_body(struct conn *c, const char *why)
{
	snprintf(c->end_buf, sizeof(c->end_buf), "malformed request body: %s", why);
	warn_msg("egress: %s:%u: %s; connection closed", c->t.host, c->t.port, c->end_buf);
	c->end_reason = c->end_buf;
	if (c->down.read == 0) {
		char text[400];
		snprintf(text, sizeof(text), "%s:%u: %s (policy '%s')", c->t.host, c->t.port, why,
		         P.cfg->net->policy_name);
		http_error(c, 400, "Bad Request", text);
	}
}

/* Moves what it can in one direction. Returns false when the connection
 * must end (an error, or a byte limit). read/write with a large buffer was
 * measured faster than splice(2) through a pipe for loopback TCP here, and
 * needs no pipe descriptors per connection. */
static bool pump(struct conn *c, struct half *h, int from, int to, const char *limit_name)
{
	for (;;) {
		if (h->len == 0 && !h->eof) {
			if (!h->buf) {
				h->buf = buffer_get(c->id, RELAY_MIN_BUF);
				h->cap = RELAY_MIN_BUF;
			}
			size_t want = h->cap;
			if (h->max && h->max + 1 - h->read < want)
				want = (size_t)(h->max + 1 - h->read);
			ssize_t n = read(from, h->buf, want);
			if (n > 0 && h == &c->up && c->proto == P_HTTP) {
				/* Only the rest of the one request goes upstream. */
				size_t body;
				const char *why;
				if (!http_body_take(&c->body, h->buf, (size_t)n, &body, &why)) {
					bad_body(c, why);
					return false;
				}
				c->dropped += (uint64_t)n - body;
				if (body == 0)
					break; /* dropped: no fresh deadline; epoll brings the rest */
				n = (ssize_t)body;
			}
			if (n > 0) {
				P.moved += (uint64_t)n;
				h->off = 0;
				h->len = (size_t)n;
				h->full = (size_t)n == h->cap;
				h->read += (uint64_t)n;
				c->deadline = now_ms() + (long long)P.cfg->net->idle_timeout_ms;
				if (over_limit(c, h, limit_name))
					return false;
			} else if (n == 0) {
				h->eof = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				c->end_reason = "reset";
				return false;
			}
		}
		if (h->len == 0)
			break;
		ssize_t m = write(to, h->buf + h->off, h->len);
		if (m > 0) {
			h->off += (size_t)m;
			h->len -= (size_t)m;
			if (h->len == 0 && h->full && h->cap < RELAY_MAX_BUF && buffer_room(c->id, h->cap)) {
				/* The last read filled the buffer: this is bulk. */
				size_t cap = h->cap * 2;
				buffer_put(c->id, &h->buf, &h->cap);
				h->buf = buffer_get(c->id, cap);
				h->cap = cap;
			}
			continue;
		}
		if (m < 0 && errno != EAGAIN && errno != EINTR) {
			c->end_reason = "reset";
			return false;
		}
		break; /* the destination is full */
	}
	if (h->eof && h->len == 0 && !h->shut) {
		shutdown(to, SHUT_WR);
		h->shut = true;
	}
	return true;
}

static bool flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->upstream.fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0) {
			c->end_reason = "reset";
			return false;
		}
		c->out_off += (size_t)n;
		c->up.read += (uint64_t)n;
		if (over_limit(c, &c->up, "max_request_bytes"))
			return false;
	}
	return true;
}

static void relay_update(struct conn *c)
{
	if (!flush_out(c)) {
		conn_free(c);
		return;
	}
	bool pending = c->out_off < c->out_len;
	if (!pending && (!pump(c, &c->up, c->client.fd, c->upstream.fd, "max_request_bytes") ||
	                 !pump(c, &c->down, c->upstream.fd, c->client.fd, "max_response_bytes"))) {
		conn_free(c);
		return;
	}
	if (c->up.shut && c->down.shut) {
		conn_end(c, "closed");
		return;
	}
	uint32_t cl = 0, up = 0;
	if (pending) {
		up |= EPOLLOUT;
	} else {
		if (c->up.len == 0 && !c->up.eof)
			cl |= EPOLLIN;
		if (c->up.len > 0)
			up |= EPOLLOUT;
		if (c->down.len == 0 && !c->down.eof)
			up |= EPOLLIN;
		if (c->down.len > 0)
			cl |= EPOLLOUT;
	}
	watch(&c->client, cl);
	watch(&c->upstream, up);
}

/* ---- control sockets: connections arriving from sandboxes ---- */

static void control_free(struct control *ctl)
{
	endpoint_close(&ctl->sandbox);
	endpoint_close(&ctl->ep);
	tenant_put(ctl->id);
	free(ctl);
}

static void on_control(struct control *ctl)
{
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
			bool builtin = P.cfg->listen_fd < 0;
			control_free(ctl);
			if (builtin)
				P.stopping = true;
			return;
		}
		int fd = -1;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
			    h->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&fd, CMSG_DATA(h), sizeof(int));
		if (fd >= 0 && n == 1 && data[0] == 'L' && ctl->sandbox.fd < 0) {
			endpoint_init(&ctl->sandbox, EP_SANDBOX, fd, ctl);
			watch(&ctl->sandbox, EPOLLIN);
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

static void control_add(int fd, const char *sandbox_id, uid_t uid)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	ctl->id = xcalloc(1, sizeof(*ctl->id));
	ctl->id->refs = 1;
	ctl->id->uid = uid;
	snprintf(ctl->id->sandbox_id, sizeof(ctl->id->sandbox_id), "%s", sandbox_id ? sandbox_id : "");
	endpoint_init(&ctl->ep, EP_CONTROL, fd, ctl);
	endpoint_init(&ctl->sandbox, EP_SANDBOX, -1, ctl);
	watch(&ctl->ep, EPOLLIN);
}

/* At most ACCEPT_BATCH at a time: the listener stays readable (level
 * triggered) and the others' events come first. */
static void on_sandbox(struct control *ctl)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept_next(ctl->sandbox.fd);
		if (fd < 0)
			return;
		conn_new(fd, ctl->id);
	}
}

static void on_listen(void)
{
	for (;;) {
		int fd = accept_next(P.listen.fd);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		uid_t uid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : (uid_t)-1;
		control_add(fd, NULL, uid);
	}
}

/* ---- the loop ---- */

static void sweep_timeouts(void)
{
	long long now = now_ms();
	for (struct conn *c = P.conns, *next; c; c = next) {
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

static void dispatch(struct endpoint *ep, uint32_t events)
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
		on_listen();
		break;
	case EP_RESOLVED:
		on_resolved();
		break;
	case EP_SIGNAL: {
		struct signalfd_siginfo si;
		(void)!read(ep->fd, &si, sizeof(si));
		P.stopping = true;
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

static int wait_events(struct epoll_event *evs, int max, bool active)
{
	if (active) {
		long long until = now_us() + POLL_AFTER_ACTIVITY_US;
		do {
			int n = epoll_wait(P.epfd, evs, max, 0);
			if (n != 0)
				return n;
		} while (now_us() < until);
	}
	return epoll_wait(P.epfd, evs, max, 1000);
}

/* Everything the proxy may touch, and nothing more. */
static void confine(void)
{
	if (P.cfg->privileged) {
		/* Not root: the unprivileged "nobody" account. */
		struct passwd *pw = getpwnam("nobody");
		drop_privileges_to(true, pw ? pw->pw_uid : 65534, pw ? pw->pw_gid : 65534);
	} else {
		/* An ordinary process of the invoker: it holds no capability
		 * to drop and may not touch the bounding set or securebits;
		 * no_new_privs keeps it from gaining any. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
			die_with_error("proxy: clear ambient capabilities");
		if (!no_capabilities())
			die("proxy: started with capabilities but without privilege");
	}
	set_no_new_privs();

	/* Landlock: read what name resolution needs (resolv.conf, hosts,
	 * nsswitch.conf, and the NSS modules it may load); write nothing (the
	 * audit log is already open); bind no TCP port. */
	int abi = landlock_abi();
	if (abi >= 1) {
		static const struct ll_rule rules[] = {
		    {(char *)"/etc", LL_READ, true},
		    {(char *)"/usr", LL_READ, true},
		    {(char *)"/lib", LL_READ, true},
		    {(char *)"/lib64", LL_READ, true},
		};
		struct port_list no_bind = {.any = false}, any_connect = {.any = true};
		landlock_restrict(abi, rules, N_ELEMENTS(rules), &no_bind, &any_connect);
	}
	struct diags d = {0};
	struct sc_profile *prof =
	    profile_parse("strict", "seccomp-profiles/strict.profile", profile_builtin_text("strict"), &d);
	if (!prof)
		die("proxy: the strict profile does not parse");
	seccomp_load_profile(prof);
	profile_free(prof);
}

void proxy_run(const struct proxy_config *cfg)
{
	P.cfg = cfg;
	P.shared = cfg->listen_fd >= 0;
	/* So ps, top and pgrep tell it from the launcher it was forked from
	 * (its resolver threads inherit the name). */
	(void)prctl(PR_SET_NAME, "cordon-proxy", 0, 0, 0);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max; /* two sockets per connection */
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die_with_error("proxy: block signals");

	confine();

	P.epfd = epoll_create1(EPOLL_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	P.spare_fd = P.epfd < 0 ? -1 : fcntl(P.epfd, F_DUPFD_CLOEXEC, 0);
	if (P.epfd < 0 || efd < 0 || sfd < 0 || P.spare_fd < 0)
		die_with_error("proxy: epoll");
	endpoint_init(&P.resolved, EP_RESOLVED, efd, NULL);
	endpoint_init(&P.sig, EP_SIGNAL, sfd, NULL);
	watch(&P.resolved, EPOLLIN);
	watch(&P.sig, EPOLLIN);
	if (cfg->listen_fd >= 0) {
		endpoint_init(&P.listen, EP_LISTEN, cfg->listen_fd, NULL);
		watch(&P.listen, EPOLLIN);
	}
	if (cfg->control_fd >= 0)
		control_add(cfg->control_fd, cfg->sandbox_id, cfg->uid);

	for (int i = 0; i < (P.shared ? SHARED_RESOLVERS : RESOLVERS); i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, resolver, NULL) != 0)
			die("proxy: cannot start resolver threads");
		pthread_detach(t);
	}

	long long last_sweep = now_ms();
	bool active = false;
	while (!P.stopping) {
		struct epoll_event evs[64];
		int n = wait_events(evs, N_ELEMENTS(evs), active);
		P.moved = 0;
		if (n < 0 && errno != EINTR)
			die_with_error("proxy: epoll_wait");
		for (int i = 0; i < n; i++)
			dispatch(evs[i].data.ptr, evs[i].events);
		bury();
		active = n > 0 && P.moved < POLL_MAX_BATCH_BYTES;
		if (now_ms() - last_sweep >= 1000) {
			sweep_timeouts();
			bury();
			last_sweep = now_ms();
		}
	}
	/* Stopping: every open connection gets its record. */
	while (P.conns) {
		if (P.conns->state == S_RESOLVING) {
			P.conns->allowed = false; /* never reached anything */
		}
		conn_end(P.conns, "proxy stopped");
	}
	_exit(0);
}

/* ---- `cordon proxy --socket PATH --policy P` ---- */

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
		opterr = 0; /* the messages below are cordon's */
		int c = getopt_long(argc, argv, "+:", opts, &k);
		if (c == -1)
			break;
		if (c == ':') {
			fprintf(stderr, "cordon: %s needs a value\n", argv[optind - 1]);
			return EXIT_SETUP;
		}
		if (c == '?' || k < 0) {
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
	cleanup_free char *path = policy_locate(policy_arg);
	struct diags d = {0};
	struct policy *p = policy_load(path, &d);
	if (d.n) {
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
	int audit_fd = -1;
	if (net.audit_log) {
		audit_fd = open(net.audit_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		if (audit_fd < 0)
			die_with_error("audit: open %s", net.audit_log);
	}
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
