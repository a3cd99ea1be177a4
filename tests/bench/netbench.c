/* netbench: a load client for the egress benchmark, against tests/bin/httpd.
 *
 *   netbench bulk  [VIA] HOST PORT BYTES   one download of /bytes/BYTES
 *   netbench small [VIA] HOST PORT COUNT   COUNT sequential requests for "/",
 *                                          each on a new connection
 * VIA is one of
 *   --direct                     connect to HOST:PORT (the default)
 *   --connect-proxy PHOST:PPORT  ask the proxy for a CONNECT tunnel to
 *                                HOST:PORT, then speak HTTP through it
 *   --raw PHOST:PPORT            connect to PHOST:PPORT and speak HTTP to it
 *                                as if it were HOST:PORT (a plain TCP bridge)
 *
 * Output, one line: "BYTES SECONDS GIB_PER_S" for bulk, "COUNT SECONDS
 * MS_PER_REQUEST" for small. Times are CLOCK_MONOTONIC and include connecting
 * (and the CONNECT exchange). Every response must be 200 with a body as long
 * as its Content-Length (for bulk, exactly BYTES); anything else, or no
 * progress for 30 seconds, is an error (exit 1). */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE    (1 << 20)
#define IO_TIMEOUT  30 /* seconds without progress */
#define REPLY_LIMIT (64 * 1024)

enum via { DIRECT, CONNECT_PROXY, RAW };

static char buf[BUF_SIZE];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("netbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fail("clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t parse_count(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		fail("bad %s: %s", what, s);
	return (uint64_t)v;
}

/* Splits "host:port" or "[v6]:port". */
static void split_hostport(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1])
		fail("expected HOST:PORT, got %s", s);
	const char *h = s;
	size_t hlen = (size_t)(colon - s);
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen + 1 > hsize || strlen(colon + 1) + 1 > psize)
		fail("address too long: %s", s);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0)
		fail("%s:%s: %s", host, port, gai_strerror(r));
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		/* A receive and send timeout (the send one also bounds connect) so a
		 * stuck proxy fails the run instead of hanging it. */
		struct timeval tv = {.tv_sec = IO_TIMEOUT};
		int one = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			fail("setsockopt: %s", strerror(errno));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (close(fd) < 0)
			fail("close: %s", strerror(errno));
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fail("connect %s:%s: %s", host, port, strerror(err));
	return fd;
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			fail("send: %s", errno == EAGAIN ? "timed out" : strerror(errno));
		p += w;
		len -= (size_t)w;
	}
}

/* Reads into buf at off; returns the count, 0 at end of stream. */
static size_t recv_some(int fd, size_t off)
{
	for (;;) {
		ssize_t n = recv(fd, buf + off, sizeof(buf) - off, 0);
		if (n >= 0)
			return (size_t)n;
		if (errno == EINTR)
			continue;
		fail("recv: %s", errno == EAGAIN ? "timed out" : strerror(errno));
	}
}

/* Reads until a whole head ("\r\n\r\n") is in buf. Returns the head's
 * length; *len is everything read, the head and what came after it. */
static size_t read_head(int fd, size_t *len, const char *what)
{
	size_t have = 0;
	for (;;) {
		if (have >= REPLY_LIMIT)
			fail("%s: head longer than %d bytes", what, REPLY_LIMIT);
		size_t n = recv_some(fd, have);
		if (n == 0)
			fail("%s: connection closed after %zu bytes of the head", what, have);
		size_t from = have > 3 ? have - 3 : 0;
		have += n;
		char *end = memmem(buf + from, have - from, "\r\n\r\n", 4);
		if (end) {
			*len = have;
			return (size_t)(end + 4 - buf);
		}
	}
}

/* The first line of the head in buf, for messages. */
static const char *first_line(size_t head)
{
	static char line[200];
	size_t n = strcspn(buf, "\r\n");
	if (n > head)
		n = head;
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, buf, n);
	line[n] = '\0';
	return line;
}

/* Opens a connection on which HTTP goes to HOST:PORT. */
static int open_channel(enum via via, const char *phost, const char *pport, const char *authority, const char *host,
                        const char *port)
{
	if (via == DIRECT)
		return dial(host, port);
	int fd = dial(phost, pport);
	if (via == RAW)
		return fd;
	char req[600];
	int n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", authority, authority);
	if (n < 0 || (size_t)n >= sizeof(req))
		fail("CONNECT request too long");
	send_all(fd, req, (size_t)n);
	size_t len, head = read_head(fd, &len, "CONNECT reply");
	if (head < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0)
		fail("CONNECT %s refused: %s", authority, first_line(head));
	/* The server speaks only when spoken to: nothing may follow the reply. */
	if (len != head)
		fail("CONNECT reply followed by %zu unexpected bytes", len - head);
	return fd;
}

/* Sends GET target and reads the response. Returns the body's length,
 * which must match Content-Length; the status must be 200. */
static uint64_t get(int fd, const char *authority, const char *target)
{
	char req[800];
	int n = snprintf(req, sizeof(req),
	                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: netbench\r\nConnection: close\r\n\r\n", target,
	                 authority);
	if (n < 0 || (size_t)n >= sizeof(req))
		fail("request too long");
	send_all(fd, req, (size_t)n);

	size_t len, head = read_head(fd, &len, "response");
	if (head < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || memcmp(buf + 8, " 200", 4) != 0)
		fail("GET %s: %s", target, first_line(head));
	bool have_length = false;
	uint64_t clen = 0;
	for (char *line = (char *)memchr(buf, '\n', head) + 1; line < buf + head;) {
		char *nl = memchr(line, '\n', (size_t)(buf + head - line));
		if (nl - line > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
			char *end;
			errno = 0;
			clen = strtoull(line + 15, &end, 10);
			if (errno || (*end != '\r' && *end != ' '))
				fail("bad Content-Length in the response");
			have_length = true;
		}
		line = nl + 1;
	}

	/* Read until the body is complete (or, without a length, until the
	 * server closes). */
	uint64_t body = len - head;
	while (!have_length || body < clen) {
		size_t r = recv_some(fd, 0);
		if (r == 0)
			break;
		body += r;
	}
	if (have_length && body != clen)
		fail("GET %s: body of %" PRIu64 " bytes, Content-Length %" PRIu64, target, body, clen);
	return body;
}

static void usage(void)
{
	fprintf(stderr, "usage: netbench bulk|small [--direct | --connect-proxy PHOST:PPORT | --raw PHOST:PPORT] "
	                "HOST PORT BYTES|COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	bool bulk = strcmp(argv[1], "bulk") == 0;
	if (!bulk && strcmp(argv[1], "small") != 0)
		usage();
	int i = 2;
	enum via via = DIRECT;
	char phost[256] = "", pport[32] = "";
	if (i < argc && strcmp(argv[i], "--direct") == 0) {
		i++;
	} else if (i + 1 < argc && (strcmp(argv[i], "--connect-proxy") == 0 || strcmp(argv[i], "--raw") == 0)) {
		via = strcmp(argv[i], "--raw") == 0 ? RAW : CONNECT_PROXY;
		split_hostport(argv[i + 1], phost, sizeof(phost), pport, sizeof(pport));
		i += 2;
	} else if (i < argc && strncmp(argv[i], "--", 2) == 0) {
		usage();
	}
	if (argc - i != 3)
		usage();
	const char *host = argv[i], *port = argv[i + 1];
	uint64_t n = parse_count(argv[i + 2], bulk ? "byte count" : "request count");
	if (strlen(host) > 255 || strlen(port) > 5)
		fail("host or port too long");
	char authority[300];
	int alen = snprintf(authority, sizeof(authority), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	if (alen < 0 || (size_t)alen >= sizeof(authority))
		fail("host too long");

	if (bulk) {
		char target[64];
		int tlen = snprintf(target, sizeof(target), "/bytes/%" PRIu64, n);
		if (tlen < 0 || (size_t)tlen >= sizeof(target))
			fail("target too long");
		double t0 = now();
		int fd = open_channel(via, phost, pport, authority, host, port);
		uint64_t got = get(fd, authority, target);
		double secs = now() - t0;
		if (close(fd) < 0)
			fail("close: %s", strerror(errno));
		if (got != n)
			fail("received %" PRIu64 " body bytes, expected %" PRIu64, got, n);
		if (printf("%" PRIu64 " %.6f %.3f\n", n, secs, (double)n / secs / (1024.0 * 1024 * 1024)) < 0)
			fail("stdout: %s", strerror(errno));
	} else {
		if (n == 0)
			fail("request count must be at least 1");
		double t0 = now();
		for (uint64_t k = 0; k < n; k++) {
			int fd = open_channel(via, phost, pport, authority, host, port);
			get(fd, authority, "/");
			if (close(fd) < 0)
				fail("close: %s", strerror(errno));
		}
		double secs = now() - t0;
		if (printf("%" PRIu64 " %.6f %.4f\n", n, secs, secs * 1e3 / (double)n) < 0)
			fail("stdout: %s", strerror(errno));
	}
	if (fflush(stdout) != 0)
		fail("stdout: %s", strerror(errno));
	return 0;
}
