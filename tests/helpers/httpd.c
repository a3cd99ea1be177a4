/* httpd: a tiny HTTP/1.1 origin server for the egress tests and
 * benchmarks.
 *
 *   httpd [-a ADDR] [-p PORT] [-f PORTFILE] [-r RECORDFILE]
 *
 * Listens on ADDR:PORT (ADDR an IPv4 address, 127.0.0.1 by default; PORT 0,
 * the default, picks a free port), prints the bound port on stdout as one
 * line (and writes it to PORTFILE, atomically through a rename), then serves
 * until SIGTERM or SIGINT (exit 0). One request per connection; every
 * response says "Connection: close".
 *
 *   GET /bytes/N   N bytes of 'x'
 *   GET /echo      the request head as received (request line and headers)
 *   GET /slow/MS   "slow\n" after MS milliseconds
 *   GET anything   "hello from httpd\n"
 *   POST, PUT      the body (Content-Length or chunked) is read and
 *                  discarded: "got N\n" (N the body's length, decoded)
 *
 * HEAD works on every GET route. A query string is ignored, and an
 * absolute-form target ("http://host/path") is served as its path. One
 * thread serves every connection through epoll; bulk bodies are written from
 * one static 1 MiB buffer.
 *
 * With -r, every byte each connection brought is appended to RECORDFILE
 * when it closes, as one line (bytes outside printable ASCII escaped: \r,
 * \n, \xHH): what reached the server, for tests that nothing else did.
 * The server then closes the way a careful one does (lingering): after its
 * response it shuts down its sending side and keeps reading, and recording,
 * until the peer closes or LINGER_MS pass, so bytes a client (or a proxy)
 * sends after the request are seen rather than lost to a reset. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX    (16 * 1024)
#define FILL_SIZE   (1 << 20)
#define WRITE_BURST (16u << 20) /* bytes per wakeup, so one fast reader cannot starve the rest */
#define MAX_EVENTS  256
#define LINGER_MS   2000

enum state { READ_HEAD, READ_BODY, READ_CHUNKED, SLEEP, WRITE, LINGER };
/* Where a chunked body's decoding is: a size line (hex digits, anything
 * after them ignored), chunk data and its CRLF, then trailer lines up to
 * an empty one. Lenient: this is a test server, not the code under test. */
enum chunk_state { CK_SIZE, CK_SIZE_REST, CK_DATA, CK_DATA_END, CK_TRAILER_START, CK_TRAILER };
enum method { M_GET, M_HEAD, M_POST, M_OTHER };

struct conn {
	int fd;
	enum state state;
	uint32_t events; /* what epoll watches for this connection */
	char head[HEAD_MAX];
	size_t head_len; /* bytes in head[] */
	size_t head_end; /* length of the head through its blank line */
	enum method method;
	size_t path_off, path_len; /* the path within head[], without a query */
	uint64_t body_len;         /* the request body's Content-Length */
	uint64_t body_left;        /* request body bytes still to read and discard */
	enum chunk_state chunk;    /* READ_CHUNKED: where the decoding is */
	uint64_t chunk_left;       /* READ_CHUNKED: bytes of the current chunk still to come */
	bool chunk_digit;          /* READ_CHUNKED: the size line had a digit */
	double wake;               /* SLEEP, LINGER: CLOCK_MONOTONIC deadline in ms */
	struct conn *prev, *next;  /* SLEEP, LINGER: the list of sleepers, earliest first */
	char *out;                 /* the response head and any small body */
	size_t out_len, out_off;
	uint64_t fill_left; /* bulk body bytes still to send from fill[] */
	char *rec;          /* -r: every byte received, escaped */
	size_t rec_len, rec_cap;
};

static char fill[FILL_SIZE];
static char scratch[256 * 1024]; /* discarded request bodies */
static int epfd = -1;
static int spare_fd = -1; /* given up to accept and drop a connection when out of descriptors */
static struct conn *sleepers;
static volatile sig_atomic_t stop;
static int record_fd = -1; /* -r */

static void die(const char *what)
{
	fprintf(stderr, "httpd: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void report(const char *what)
{
	fprintf(stderr, "httpd: %s: %s\n", what, strerror(errno));
}

static double now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		die("clock_gettime");
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_signal(int sig)
{
	stop = 1;
}

/* Parses a whole decimal number of len bytes, nothing else. */
static bool parse_u64(const char *s, size_t len, uint64_t *v)
{
	if (len == 0)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*v = n;
	return true;
}

static void unsleep(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		sleepers = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* -r: keeps what arrived, escaped, for the record line. */
static void record(struct conn *c, const char *p, size_t n)
{
	if (record_fd < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (c->rec_len + 5 > c->rec_cap) {
			size_t cap = c->rec_cap ? c->rec_cap * 2 : 4096;
			char *r = realloc(c->rec, cap);
			if (!r) {
				report("realloc");
				return;
			}
			c->rec = r;
			c->rec_cap = cap;
		}
		unsigned char b = (unsigned char)p[i];
		if (b == '\r' || b == '\n') {
			c->rec[c->rec_len++] = '\\';
			c->rec[c->rec_len++] = b == '\r' ? 'r' : 'n';
		} else if (b < 0x20 || b >= 0x7f || b == '\\') {
			c->rec_len += (size_t)snprintf(c->rec + c->rec_len, 5, "\\x%02x", b);
		} else {
			c->rec[c->rec_len++] = (char)b;
		}
	}
}

/* -r: one line per connection, in one write, so lines never interleave. */
static void write_record(struct conn *c)
{
	if (record_fd < 0)
		return;
	char *line = malloc(c->rec_len + 1);
	if (!line) {
		report("malloc");
		return;
	}
	if (c->rec_len)
		memcpy(line, c->rec, c->rec_len);
	line[c->rec_len] = '\n';
	if (write(record_fd, line, c->rec_len + 1) != (ssize_t)(c->rec_len + 1))
		report("write record");
	free(line);
}

static void close_conn(struct conn *c)
{
	if (c->state == SLEEP || c->state == LINGER)
		unsleep(c);
	write_record(c);
	free(c->rec);
	/* Closing the only descriptor also takes it out of the epoll set. */
	if (close(c->fd) < 0)
		report("close");
	free(c->out);
	free(c);
}

static bool set_events(struct conn *c, uint32_t events)
{
	if (c->events == events)
		return true;
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		report("epoll_ctl");
		return false;
	}
	c->events = events;
	return true;
}

/* Sends what is left of the response. Returns 1 when all is sent, 0 when
 * the socket is full or this wakeup's share is used up (EPOLLOUT, level
 * triggered, brings us back), -1 on error. */
static int send_out(struct conn *c)
{
	size_t budget = WRITE_BURST;
	while (c->out_off < c->out_len || c->fill_left > 0) {
		struct iovec iov[2];
		size_t n = 0;
		if (c->out_off < c->out_len)
			iov[n++] = (struct iovec){.iov_base = c->out + c->out_off, .iov_len = c->out_len - c->out_off};
		if (c->fill_left > 0)
			iov[n++] = (struct iovec){
			    .iov_base = fill, .iov_len = c->fill_left < FILL_SIZE ? (size_t)c->fill_left : FILL_SIZE};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (w == 0)
			return -1;
		size_t k = (size_t)w, head = c->out_len - c->out_off;
		if (k <= head) {
			c->out_off += k;
		} else {
			c->out_off = c->out_len;
			c->fill_left -= k - head;
		}
		if ((size_t)w >= budget)
			return 0;
		budget -= (size_t)w;
	}
	return 1;
}

static void enlist(struct conn *c, uint64_t ms);

/* The response is sent (or failed): close, or with -r linger. */
static void finish(struct conn *c, int sent)
{
	if (sent < 0 || record_fd < 0 || shutdown(c->fd, SHUT_WR) < 0) {
		close_conn(c);
		return;
	}
	c->state = LINGER;
	enlist(c, LINGER_MS);
	if (!set_events(c, EPOLLIN))
		close_conn(c);
}

static void on_writable(struct conn *c)
{
	int r = send_out(c);
	if (r != 0) /* a failed or finished response: either way, done */
		finish(c, r);
}

/* Sets the response and starts sending it. body (small, copied) and fill
 * (that many bytes of 'x') make up the body; HEAD gets the head alone. */
static void respond(struct conn *c, int status, const char *reason, const char *ctype, const char *body,
                    size_t body_len, uint64_t fill_len)
{
	uint64_t clen = (uint64_t)body_len + fill_len;
	bool head_only = c->method == M_HEAD;
	char hdr[256];
	int h = snprintf(hdr, sizeof(hdr),
	                 "HTTP/1.1 %d %s\r\nServer: cordon-test-httpd\r\nContent-Type: %s\r\n"
	                 "Content-Length: %" PRIu64 "\r\nConnection: close\r\n\r\n",
	                 status, reason, ctype, clen);
	if (h < 0 || (size_t)h >= sizeof(hdr)) {
		fprintf(stderr, "httpd: response head too long\n");
		close_conn(c);
		return;
	}
	size_t total = (size_t)h + (head_only ? 0 : body_len);
	free(c->out);
	c->out = malloc(total);
	if (!c->out) {
		report("malloc");
		close_conn(c);
		return;
	}
	memcpy(c->out, hdr, (size_t)h);
	if (!head_only && body_len > 0)
		memcpy(c->out + h, body, body_len);
	c->out_len = total;
	c->out_off = 0;
	c->fill_left = head_only ? 0 : fill_len;
	c->state = WRITE;
	/* Most responses fit the socket at once: try before asking epoll. */
	int r = send_out(c);
	if (r != 0) {
		finish(c, r);
		return;
	}
	if (!set_events(c, EPOLLOUT))
		close_conn(c);
}

static void respond_text(struct conn *c, int status, const char *reason, const char *text)
{
	respond(c, status, reason, "text/plain", text, strlen(text), 0);
}

/* Puts c on the list of sleepers, woken after ms (SLEEP: to answer;
 * LINGER: to close). */
static void enlist(struct conn *c, uint64_t ms)
{
	c->wake = now_ms() + (double)ms;
	struct conn **p = &sleepers, *prev = NULL;
	while (*p && (*p)->wake <= c->wake) {
		prev = *p;
		p = &(*p)->next;
	}
	c->next = *p;
	c->prev = prev;
	if (*p)
		(*p)->prev = c;
	*p = c;
}

static void go_to_sleep(struct conn *c, uint64_t ms)
{
	c->state = SLEEP;
	enlist(c, ms);
	/* Nothing to watch while asleep; errors are still reported. */
	if (!set_events(c, 0))
		close_conn(c);
}

/* The request (and its body) is in: route it. */
static void route(struct conn *c)
{
	if (c->method == M_POST) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "got %" PRIu64 "\n", c->body_len);
		if (n < 0 || (size_t)n >= sizeof(msg)) {
			close_conn(c);
			return;
		}
		respond(c, 200, "OK", "text/plain", msg, (size_t)n, 0);
		return;
	}
	if (c->method == M_OTHER) {
		respond_text(c, 405, "Method Not Allowed", "method not allowed\n");
		return;
	}
	const char *path = c->head + c->path_off;
	size_t len = c->path_len;
	uint64_t v;
	if (len >= 7 && memcmp(path, "/bytes/", 7) == 0) {
		if (!parse_u64(path + 7, len - 7, &v)) {
			respond_text(c, 400, "Bad Request", "bad byte count\n");
			return;
		}
		respond(c, 200, "OK", "application/octet-stream", NULL, 0, v);
	} else if (len == 5 && memcmp(path, "/echo", 5) == 0) {
		respond(c, 200, "OK", "text/plain", c->head, c->head_end, 0);
	} else if (len >= 6 && memcmp(path, "/slow/", 6) == 0) {
		if (!parse_u64(path + 6, len - 6, &v) || v > 24ull * 3600 * 1000) {
			respond_text(c, 400, "Bad Request", "bad delay\n");
			return;
		}
		go_to_sleep(c, v);
	} else {
		respond_text(c, 200, "OK", "hello from httpd\n");
	}
}

/* Finds the end of the head (a blank line, CRLF or bare LF) in head[],
 * scanning from where the last search stopped. */
static size_t find_head_end(const struct conn *c, size_t from)
{
	const char *h = c->head;
	for (size_t i = from; i < c->head_len; i++) {
		if (h[i] != '\n')
			continue;
		if (i + 1 < c->head_len && h[i + 1] == '\n')
			return i + 2;
		if (i + 2 < c->head_len && h[i + 1] == '\r' && h[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes n more bytes of a chunked body, counting its length in
 * body_len. Returns 1 at its end, 0 when more is needed, -1 when it is
 * malformed. Bytes after the end are ignored (one request per connection). */
static int chunk_feed(struct conn *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		switch (c->chunk) {
		case CK_SIZE: {
			int d = hex_digit(ch);
			if (d >= 0) {
				if (c->chunk_left > (UINT64_MAX >> 4))
					return -1;
				c->chunk_left = c->chunk_left * 16 + (uint64_t)d;
				c->chunk_digit = true;
				break;
			}
			if (!c->chunk_digit)
				return -1;
			c->chunk = CK_SIZE_REST;
		} /* fall through */
		case CK_SIZE_REST:
			if (ch == '\n') {
				c->chunk_digit = false;
				c->chunk = c->chunk_left ? CK_DATA : CK_TRAILER_START;
			}
			break;
		case CK_DATA: {
			size_t k = n - i;
			if (c->chunk_left < k)
				k = (size_t)c->chunk_left;
			c->chunk_left -= k;
			c->body_len += k;
			i += k - 1;
			if (c->chunk_left == 0)
				c->chunk = CK_DATA_END;
			break;
		}
		case CK_DATA_END:
			if (ch == '\n')
				c->chunk = CK_SIZE;
			else if (ch != '\r')
				return -1;
			break;
		case CK_TRAILER_START:
			if (ch == '\n')
				return 1;
			if (ch != '\r')
				c->chunk = CK_TRAILER;
			break;
		case CK_TRAILER:
			if (ch == '\n')
				c->chunk = CK_TRAILER_START;
			break;
		}
	}
	return 0;
}

static void after_chunked(struct conn *c, int r)
{
	if (r > 0)
		route(c);
	else
		respond_text(c, 400, "Bad Request", "bad chunked body\n");
}

/* Parses the head: method, path, Content-Length. Starts the body's
 * discarding or routes at once. */
static void parse_head(struct conn *c)
{
	char *h = c->head, *end = c->head + c->head_end;
	char *eol = memchr(h, '\n', c->head_end);
	char *sp1 = eol ? memchr(h, ' ', (size_t)(eol - h)) : NULL;
	char *tgt = sp1 ? sp1 + 1 : NULL;
	char *sp2 = tgt ? memchr(tgt, ' ', (size_t)(eol - tgt)) : NULL;
	if (!sp2 || sp2 == tgt) {
		c->method = M_GET;
		respond_text(c, 400, "Bad Request", "bad request line\n");
		return;
	}
	size_t mlen = (size_t)(sp1 - h);
	if (mlen == 3 && memcmp(h, "GET", 3) == 0)
		c->method = M_GET;
	else if (mlen == 4 && memcmp(h, "HEAD", 4) == 0)
		c->method = M_HEAD;
	else if ((mlen == 4 && memcmp(h, "POST", 4) == 0) || (mlen == 3 && memcmp(h, "PUT", 3) == 0))
		c->method = M_POST;
	else
		c->method = M_OTHER;

	/* Absolute form: skip the scheme and authority. */
	char *path = tgt, *pend = sp2;
	char *scheme = memmem(tgt, (size_t)(sp2 - tgt), "://", 3);
	if (*tgt != '/' && scheme) {
		path = memchr(scheme + 3, '/', (size_t)(sp2 - (scheme + 3)));
		if (!path)
			path = pend = scheme + 3; /* an empty path: the default route */
	}
	char *q = memchr(path, '?', (size_t)(pend - path));
	if (q)
		pend = q;
	c->path_off = (size_t)(path - h);
	c->path_len = (size_t)(pend - path);

	bool expect_continue = false, have_length = false, chunked = false;
	for (char *line = eol + 1; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;
		char *colon = memchr(line, ':', (size_t)(nl - line));
		char *vend = nl;
		while (vend > line && (vend[-1] == '\r' || vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (colon && colon < vend) {
			size_t nlen = (size_t)(colon - line);
			char *val = colon + 1;
			while (val < vend && (*val == ' ' || *val == '\t'))
				val++;
			size_t vlen = (size_t)(vend - val);
			if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
				if (have_length || !parse_u64(val, vlen, &c->body_len)) {
					respond_text(c, 400, "Bad Request", "bad content-length\n");
					return;
				}
				have_length = true;
			} else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
				if (vlen != 7 || strncasecmp(val, "chunked", 7) != 0) {
					respond_text(c, 501, "Not Implemented", "only chunked is supported\n");
					return;
				}
				chunked = true;
			} else if (nlen == 6 && strncasecmp(line, "Expect", 6) == 0 && vlen == 12 &&
			           strncasecmp(val, "100-continue", 12) == 0) {
				expect_continue = true;
			}
		}
		line = nl + 1;
	}

	/* Bytes read past the head are the body's start. */
	uint64_t extra = c->head_len - c->head_end;
	if (chunked) {
		c->body_len = 0;
		c->chunk = CK_SIZE;
		int r = chunk_feed(c, c->head + c->head_end, (size_t)extra);
		if (r != 0) {
			after_chunked(c, r);
			return;
		}
	} else {
		c->body_left = c->body_len > extra ? c->body_len - extra : 0;
		if (c->body_left == 0) {
			route(c);
			return;
		}
	}
	if (expect_continue) {
		/* A fresh socket always has room for this. */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		ssize_t w = send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL);
		if (w != (ssize_t)(sizeof(cont) - 1)) {
			close_conn(c);
			return;
		}
	}
	c->state = chunked ? READ_CHUNKED : READ_BODY;
}

static void on_readable(struct conn *c)
{
	if (c->state == LINGER || c->state == READ_CHUNKED) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) { /* the peer is done, or the body ended early */
			close_conn(c);
			return;
		}
		record(c, scratch, (size_t)n);
		if (c->state == READ_CHUNKED) {
			int r = chunk_feed(c, scratch, (size_t)n);
			if (r != 0)
				after_chunked(c, r);
		}
		return;
	}
	if (c->state == READ_BODY) {
		size_t want = c->body_left < sizeof(scratch) ? (size_t)c->body_left : sizeof(scratch);
		ssize_t n = recv(c->fd, scratch, want, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) { /* an error, or the body ended early */
			close_conn(c);
			return;
		}
		record(c, scratch, (size_t)n);
		c->body_left -= (uint64_t)n;
		if (c->body_left == 0)
			route(c);
		return;
	}
	ssize_t n = recv(c->fd, c->head + c->head_len, sizeof(c->head) - c->head_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		close_conn(c);
		return;
	}
	record(c, c->head + c->head_len, (size_t)n);
	size_t from = c->head_len > 2 ? c->head_len - 2 : 0;
	c->head_len += (size_t)n;
	c->head_end = find_head_end(c, from);
	if (c->head_end > 0)
		parse_head(c);
	else if (c->head_len == sizeof(c->head))
		respond_text(c, 431, "Request Header Fields Too Large", "request head too large\n");
}

static void on_event(struct conn *c, uint32_t events)
{
	if (events & EPOLLERR || (events & EPOLLHUP && !(events & EPOLLIN))) {
		close_conn(c);
		return;
	}
	switch (c->state) {
	case READ_HEAD:
	case READ_BODY:
	case READ_CHUNKED:
	case LINGER:
		if (events & EPOLLIN)
			on_readable(c);
		break;
	case WRITE:
		if (events & EPOLLOUT)
			on_writable(c);
		break;
	case SLEEP:
		break;
	}
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: accept with the spare one and drop the
				 * connection, rather than spin on a listener that stays ready. */
				if (spare_fd >= 0 && close(spare_fd) == 0) {
					spare_fd = -1;
					int dropped = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
					if (dropped >= 0 && close(dropped) < 0)
						report("close");
					spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				}
				report("accept");
				return;
			}
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			report("accept");
			return;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			report("calloc");
			if (close(fd) < 0)
				report("close");
			continue;
		}
		c->fd = fd;
		c->state = READ_HEAD;
		c->events = EPOLLIN;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			report("epoll_ctl");
			if (close(fd) < 0)
				report("close");
			free(c);
		}
	}
}

static void wake_sleepers(void)
{
	double t = now_ms();
	while (sleepers && sleepers->wake <= t) {
		struct conn *c = sleepers;
		if (c->state == LINGER) {
			close_conn(c); /* the peer never closed */
			continue;
		}
		unsleep(c);
		c->state = WRITE;
		respond_text(c, 200, "OK", "slow\n");
	}
}

static int sleep_timeout(void)
{
	if (!sleepers)
		return -1;
	double ms = sleepers->wake - now_ms();
	if (ms <= 0)
		return 0;
	if (ms >= INT_MAX)
		return INT_MAX;
	return (int)ms + 1; /* round up: waking early would only loop */
}

static void write_port_file(const char *path, unsigned port)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "httpd: port file name too long\n");
		exit(1);
	}
	FILE *f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	if (fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
		int e = errno;
		if (unlink(tmp) < 0)
			report("unlink");
		errno = e;
		die(tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		if (unlink(tmp) < 0)
			report("unlink");
		errno = e;
		die(path);
	}
}

int main(int argc, char **argv)
{
	long port = 0;
	const char *port_file = NULL;
	struct in_addr addr = {.s_addr = htonl(INADDR_LOOPBACK)};
	int opt;
	while ((opt = getopt(argc, argv, "a:p:f:r:")) != -1) {
		char *end;
		switch (opt) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &addr) != 1) {
				fprintf(stderr, "httpd: bad IPv4 address: %s\n", optarg);
				return 2;
			}
			break;
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || port < 0 || port > 65535) {
				fprintf(stderr, "httpd: bad port: %s\n", optarg);
				return 2;
			}
			break;
		case 'f':
			port_file = optarg;
			break;
		case 'r':
			record_fd = open(optarg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
			if (record_fd < 0)
				die(optarg);
			break;
		default:
			fprintf(stderr, "usage: httpd [-a ADDR] [-p PORT] [-f PORTFILE] [-r RECORDFILE]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: httpd [-a ADDR] [-p PORT] [-f PORTFILE] [-r RECORDFILE]\n");
		return 2;
	}
	memset(fill, 'x', sizeof(fill));

	/* Hundreds of connections: take all the descriptors we may. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			report("setrlimit");
	}

	/* SIGTERM and SIGINT are blocked except inside epoll_pwait, so a stop
	 * request is never missed between checks. */
	struct sigaction sa = {.sa_handler = SIG_IGN};
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(SIGPIPE, &sa, NULL) < 0)
		die("sigaction");
	sa.sa_handler = on_signal;
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		die("sigaction");
	sigset_t block, waitmask;
	if (sigemptyset(&block) < 0 || sigaddset(&block, SIGTERM) < 0 || sigaddset(&block, SIGINT) < 0)
		die("sigset");
	if (sigprocmask(SIG_BLOCK, &block, &waitmask) < 0)
		die("sigprocmask");
	if (sigdelset(&waitmask, SIGTERM) < 0 || sigdelset(&waitmask, SIGINT) < 0)
		die("sigset");

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	int one = 1;
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt");
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sin.sin_addr = addr;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind");
	if (listen(lfd, 4096) < 0)
		die("listen");
	socklen_t slen = sizeof(sin);
	if (getsockname(lfd, (struct sockaddr *)&sin, &slen) < 0)
		die("getsockname");
	unsigned bound = ntohs(sin.sin_port);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0)
		die("epoll_ctl");
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (spare_fd < 0)
		die("/dev/null");

	if (port_file)
		write_port_file(port_file, bound);
	if (printf("%u\n", bound) < 0 || fflush(stdout) != 0)
		die("stdout");

	struct epoll_event evs[MAX_EVENTS];
	while (!stop) {
		int n = epoll_pwait(epfd, evs, MAX_EVENTS, sleep_timeout(), &waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_pwait");
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				on_event(evs[i].data.ptr, evs[i].events);
			else
				accept_all(lfd);
		}
		wake_sleepers();
	}
	return 0;
}
