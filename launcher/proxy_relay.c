/* Relaying an allowed connection: bytes each way through buffers that
 * grow with bulk transfers, one request for plain HTTP, and the byte caps
 * (max_request_bytes, max_response_bytes). */
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
	struct proxy *px = c->px;
	snprintf(c->end_buf, sizeof(c->end_buf), "malformed request body: %s", why);
	warn_msg("egress: %s:%u: %s; connection closed", c->t.host, c->t.port, c->end_buf);
	c->end_reason = c->end_buf;
	if (c->down.read == 0) {
		char text[400];
		snprintf(text, sizeof(text), "%s:%u: %s (policy '%s')", c->t.host, c->t.port, why,
		         px->cfg->net->policy_name);
		http_error(c, 400, "Bad Request", text);
	}
}

/* Moves what it can in one direction. Returns false when the connection
 * must end (an error, or a byte limit). read/write with a large buffer was
 * measured faster than splice(2) through a pipe for loopback TCP here, and
 * needs no pipe descriptors per connection. */
static bool pump(struct conn *c, struct half *h, int from, int to, const char *limit_name)
{
	struct proxy *px = c->px;
	for (;;) {
		if (h->len == 0 && !h->eof) {
			if (!h->buf) {
				h->buf = buffer_get(px, c->id, RELAY_MIN_BUF);
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
				px->moved += (uint64_t)n;
				h->off = 0;
				h->len = (size_t)n;
				h->full = (size_t)n == h->cap;
				h->read += (uint64_t)n;
				c->deadline = now_ms() + (long long)px->cfg->net->idle_timeout_ms;
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
			if (h->len == 0 && h->full && h->cap < RELAY_MAX_BUF && buffer_room(px, c->id, h->cap)) {
				/* The last read filled the buffer: this is bulk. */
				size_t cap = h->cap * 2;
				buffer_put(px, c->id, &h->buf, &h->cap);
				h->buf = buffer_get(px, c->id, cap);
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

void relay_update(struct conn *c)
{
	struct proxy *px = c->px;
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
	watch(px, &c->client, cl);
	watch(px, &c->upstream, up);
}
