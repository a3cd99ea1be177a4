/* One connection through the proxy, from its request to its relay: the
 * request read (HTTP or SOCKS5), the policy's decision, the vetted
 * addresses, the connect, and every refusal with its answer and record;
 * buffers and connections counted against the sandbox's share. */
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

void tenant_put(struct tenant *id)
{
	if (id && --id->refs == 0)
		free(id);
}

bool buffer_room(struct proxy *px, const struct tenant *id, size_t more)
{
	return px->buffers + more <= MAX_BUFFERS && (!px->shared || id->buffers + more <= SHARE_BUFFERS);
}

char *buffer_get(struct proxy *px, struct tenant *id, size_t n)
{
	id->buffers += n;
	px->buffers += n;
	return xmalloc(n);
}

void buffer_put(struct proxy *px, struct tenant *id, char **p, size_t *n)
{
	if (!*p)
		return;
	free(*p);
	*p = NULL;
	id->buffers -= *n;
	px->buffers -= *n;
	*n = 0;
}

void conn_free(struct conn *c)
{
	struct proxy *px = c->px;
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
		px->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	px->n_conns--;
	c->id->conns--;
	/* Later events of the same epoll batch may still point at it. */
	c->dead = true;
	c->next = px->graveyard;
	px->graveyard = c;
}

void bury(struct proxy *px)
{
	while (px->graveyard) {
		struct conn *c = px->graveyard;
		px->graveyard = c->next;
		buffer_put(px, c->id, &c->buf, &c->buf_cap);
		buffer_put(px, c->id, &c->up.buf, &c->up.cap);
		buffer_put(px, c->id, &c->down.buf, &c->down.cap);
		tenant_put(c->id);
		free(c->out);
		free(c);
	}
}

void conn_end(struct conn *c, const char *reason)
{
	if (!c->end_reason)
		c->end_reason = reason;
	conn_free(c);
}

/* A line on stderr about refusals, at most once a second per *last. */
bool shed_line_due(long long *last)
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
void shed(struct proxy *px, int fd, const char *why)
{
	refuse_fd(fd, why);
	if (shed_line_due(&px->last_shed))
		warn_msg("egress: %s; refusing connections", why);
}

/* A sandbox over its share of a shared proxy: a line on stderr naming
 * it, at most once a second. */
void over_share(struct tenant *id, const char *why)
{
	if (shed_line_due(&id->last_shed))
		warn_msg("egress: sandbox %s (uid %u): %s; refusing its requests",
		         id->sandbox_id[0] ? id->sandbox_id : "?", (unsigned)id->uid, why);
}

void conn_new(struct proxy *px, int fd, struct tenant *id)
{
	char why[128];
	if (px->shared && id->conns >= SHARE_CONNECTIONS) {
		snprintf(why, sizeof(why), "this sandbox has %d connections open, its share of the shared egress proxy",
		         SHARE_CONNECTIONS);
		over_share(id, why);
		refuse_fd(fd, why);
		return;
	}
	if (px->n_conns >= MAX_CONNECTIONS) {
		snprintf(why, sizeof(why), "the egress proxy has %d connections open, its limit", MAX_CONNECTIONS);
		shed(px, fd, why);
		return;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn *c = xcalloc(1, sizeof(*c));
	c->px = px;
	endpoint_init(&c->client, EP_CLIENT, fd, c);
	endpoint_init(&c->upstream, EP_UPSTREAM, -1, c);
	c->up.max = px->cfg->net->max_request_bytes;
	c->down.max = px->cfg->net->max_response_bytes;
	c->buf_cap = HEAD_MIN_BUF;
	c->buf = buffer_get(px, id, c->buf_cap);
	c->start = now_ms();
	c->deadline = c->start + HANDSHAKE_TIMEOUT_MS;
	c->id = id;
	id->refs++;
	id->conns++;
	c->next = px->conns;
	if (px->conns)
		px->conns->prev = c;
	px->conns = c;
	px->n_conns++;
	watch(px, &c->client, EPOLLIN);
}

/* Small replies to the client (403 pages, SOCKS replies) fit in an empty
 * socket buffer; a client that cannot take them is dropped. */
static void client_say(struct conn *c, const void *p, size_t n)
{
	(void)!write(c->client.fd, p, n);
}

void http_error(struct conn *c, int status, const char *title, const char *text)
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
void deny(struct conn *c, int http_status, int socks_code, const char *reason)
{
	struct proxy *px = c->px;
	char text[600];
	const char *host = c->t.host[0] ? c->t.host : "(unparsed request)";
	if (http_status == 403)
		snprintf(text, sizeof(text), "policy '%s' does not allow %s:%u: %s", px->cfg->net->policy_name, host,
		         c->t.port, reason);
	else /* not the policy's refusal: a bad request, or the way out failed */
		snprintf(text, sizeof(text), "%s:%u: %s (policy '%s')", host, c->t.port, reason,
		         px->cfg->net->policy_name);
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

/* Whether the denial of host:port is to be told on stderr now: once per
 * host:port for the proxy's life, and at most NOTIFY_PER_SECOND lines a
 * second (a denial over the rate is told when it comes again later). */
static bool notify_due(struct proxy *px, const char *key)
{
	for (size_t i = 0; i < px->n_notified; i++)
		if (strcmp(px->notified[i], key) == 0)
			return false;
	long long now = now_ms();
	if (now - px->notify_window >= 1000) {
		px->notify_window = now;
		px->notify_lines = 0;
	}
	if (px->notify_lines >= NOTIFY_PER_SECOND)
		return false;
	px->notify_lines++;
	if (px->n_notified < NOTIFY_MAX_HOSTS) {
		px->notified = xreallocarray(px->notified, px->n_notified + 1, sizeof(*px->notified));
		px->notified[px->n_notified++] = xstrdup(key);
	}
	return true;
}

/* The policy refuses the request: a 403 (or SOCKS "not allowed") whose
 * page says why and which policy line would allow it, the same sentence
 * in the egress_deny record and, with notify = stderr, on the launcher's
 * terminal. */
static void deny_by_policy(struct conn *c, const struct egress_verdict *v)
{
	struct proxy *px = c->px;
	const struct net_plan *np = px->cfg->net;
	buf_t why = {0}, line = {0};
	egress_refusal_text(&why, np, &c->t, v);
	bool v6 = c->t.is_ip && c->t.family == AF_INET6;
	buf_printf(&line, v6 ? "egress denied [%s]:%u (%s)" : "egress denied %s:%u (%s)", c->t.host, c->t.port, why.p);
	if (c->proto == P_SOCKS)
		socks_reply(c, 2);
	else
		http_error(c, 403, "Forbidden", line.p);
	if (np->notify) {
		char key[EGRESS_MAX_HOST + 16];
		snprintf(key, sizeof(key), "%s:%u", c->t.host, c->t.port);
		if (notify_due(px, key)) {
			buf_t out = {0};
			buf_printf(&out, "cordon: %s\n", line.p);
			(void)!write(STDERR_FILENO, out.p, out.len); /* one line, one write */
			buf_free(&out);
		}
	}
	audit_egress(c, "egress_deny", why.p);
	buf_free(&why);
	buf_free(&line);
	conn_free(c);
}

/* Keeps only the addresses the sandbox may reach (egress_addr_allowed).
 * The proxy connects to exactly these: the name is never resolved again,
 * so it cannot be rebound to something else between check and use. */
void vet_and_connect(struct conn *c, const struct addrinfo *res)
{
	struct proxy *px = c->px;
	struct egress_verdict first = {.kind = EGRESS_OK}, v;
	for (const struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		if (!egress_addr_allowed(px->cfg->net, &c->t, a->ai_addr, &v)) {
			if (first.kind == EGRESS_OK)
				first = v;
			continue;
		}
		add_addr(c, a->ai_addr, a->ai_addrlen, c->t.port);
	}
	if (c->n_addrs == 0) {
		if (first.kind != EGRESS_OK)
			deny_by_policy(c, &first);
		else
			deny(c, 502, 4, "no usable address");
		return;
	}
	start_connect(c);
}

static void decide(struct conn *c)
{
	struct proxy *px = c->px;
	struct egress_verdict v;
	if (!egress_decide(px->cfg->net, &c->t, &v)) {
		deny_by_policy(c, &v);
		return;
	}
	watch(px, &c->client, 0); /* nothing more is read until the upstream is there */
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
	struct proxy *px = c->px;
	struct http_head h = {0};
	int status;
	const char *why;
	int r = http_parse_head(c->buf, c->len, MAX_HEAD, px->cfg->net->max_request_bytes, &h, &status, &why);
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
	struct proxy *px = c->px;
	char why[128];
	if (!buffer_room(px, c->id, c->buf_cap)) {
		if (px->shared && c->id->buffers + c->buf_cap > SHARE_BUFFERS) {
			snprintf(
			    why, sizeof(why),
			    "this sandbox's connections hold %zu MiB of buffers, its share of the shared egress proxy",
			    SHARE_BUFFERS >> 20);
			over_share(c->id, why);
		} else {
			snprintf(why, sizeof(why), "the egress proxy's connections hold %zu MiB of buffers, its limit",
			         MAX_BUFFERS >> 20);
			if (shed_line_due(&px->last_shed))
				warn_msg("egress: %s; refusing requests", why);
		}
		deny(c, 503, 1, why);
		return false;
	}
	size_t cap = c->buf_cap * 2;
	char *buf = buffer_get(px, c->id, cap);
	memcpy(buf, c->buf, c->len);
	buffer_put(px, c->id, &c->buf, &c->buf_cap);
	c->buf = buf;
	c->buf_cap = cap;
	return true;
}

void on_client_head(struct conn *c)
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

static void start_connect(struct conn *c)
{
	struct proxy *px = c->px;
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
		watch(px, &c->upstream, EPOLLOUT);
		c->deadline = now_ms() + (long long)px->cfg->net->connect_timeout_ms;
		return;
	}
	deny(c, 502, 5, "cannot connect to any address of the host");
}

void on_connected(struct conn *c)
{
	struct proxy *px = c->px;
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
	c->deadline = now_ms() + (long long)px->cfg->net->idle_timeout_ms;
	buffer_put(px, c->id, &c->buf, &c->buf_cap);
	relay_update(c);
}
