/* Unit tests for the egress proxy's event loop (launcher/proxy_*.c), driven
 * in-process: a struct proxy without confinement, its control socket one
 * end of a socketpair, a loopback listener handed to it the way pid 1 does
 * (relay_hand_over), and loopback servers the test starts. Each test steps
 * the loop until the socket it waits on is ready. Only 127.0.0.1. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cordon.h"
#include "netplan.h"
#include "proxy.h"
#include "proxy_state.h"

static struct net_plan NP;
static struct proxy_config CFG;
static struct proxy *PX;
static int CONTROL = -1;             /* pid 1's end */
static unsigned short SANDBOX_PORT;  /* the listener the proxy accepts on */
static unsigned short UPSTREAM_PORT; /* a server of the test's */
static int UPSTREAM = -1;

static int tcp_listen(unsigned short *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void allow(const char *rule)
{
	const char *why = NULL;
	NP.allow = xreallocarray(NP.allow, NP.n_allow + 1, sizeof(*NP.allow));
	cr_assert(net_rule_parse(rule, &NP.allow[NP.n_allow], &why), "%s: %s", rule, why);
	NP.n_allow++;
}

/* The net plan a test adjusts before start(). */
static void setup(void)
{
	signal(SIGPIPE, SIG_IGN); /* as proxy_run does */
	memset(&NP, 0, sizeof(NP));
	NP.mode = NET_PROXY;
	NP.port = PROXY_PORT;
	NP.allow_private = true; /* the servers are on loopback */
	NP.connect_timeout_ms = 10000;
	NP.idle_timeout_ms = 300000;
	NP.policy_name = xstrdup("unit");
	UPSTREAM = tcp_listen(&UPSTREAM_PORT);
}

static void teardown(void)
{
	if (PX) {
		close(CONTROL);
		proxy_free(PX);
		PX = NULL;
	}
	if (CFG.audit_fd >= 0)
		close(CFG.audit_fd);
	close(UPSTREAM);
	netplan_clear(&NP);
}

TestSuite(proxy, .init = setup, .fini = teardown);

/* A built-in proxy for one sandbox, its listener handed over. */
static void start(void)
{
	int pair[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
	int audit = memfd_create("audit", MFD_CLOEXEC);
	cr_assert_geq(audit, 0);
	CFG = (struct proxy_config){.net = &NP,
	                            .audit_fd = audit,
	                            .privileged = false,
	                            .control_fd = pair[0],
	                            .sandbox_id = "0123456789abcdef0123456789abcdef",
	                            .uid = getuid(),
	                            .listen_fd = -1};
	PX = proxy_new(&CFG, NULL);
	PX->wait_ms = 10;
	PX->sweep_every_ms = 20;
	CONTROL = pair[1];
	/* As pid 1 makes it (non-blocking, accepting once data is there). */
	int lfd = relay_listen(0);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	SANDBOX_PORT = ntohs(sa.sin_port);
	relay_hand_over(lfd, CONTROL);
	close(lfd);
}

/* Steps the proxy until fd is ready for events (or 5 s pass). */
static bool drive_until(int fd, short events)
{
	long long end = now_ms() + 5000;
	while (now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = events};
		if (poll(&p, 1, 0) > 0)
			return true;
		proxy_step(PX);
	}
	return false;
}

static int client_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(SANDBOX_PORT), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void say(int fd, const char *s)
{
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* What fd has now, after the proxy made it readable. */
static char *hear(int fd)
{
	cr_assert(drive_until(fd, POLLIN), "nothing to read in time");
	static char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Reads fd until its end (the proxy closed it); the byte count. */
static size_t hear_all(int fd)
{
	size_t total = 0;
	for (;;) {
		cr_assert(drive_until(fd, POLLIN), "the connection did not end in time");
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return total;
		total += (size_t)n;
	}
}

/* The audit records written so far, once one holds want (or 5 s pass). */
static char *audit_text(const char *want)
{
	static char buf[16384];
	long long end = now_ms() + 5000;
	do {
		ssize_t n = pread(CFG.audit_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, want))
			break;
		proxy_step(PX);
	} while (now_ms() < end);
	return buf;
}

/* CONNECT 127.0.0.1:UPSTREAM_PORT, accepted by the test's server: the
 * client's and the server's ends of the tunnel. */
static void open_tunnel(int *client, int *server)
{
	char req[128];
	*client = client_connect();
	snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", UPSTREAM_PORT);
	say(*client, req);
	cr_assert(drive_until(UPSTREAM, POLLIN), "the proxy did not connect upstream");
	*server = accept4(UPSTREAM, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(*server, 0);
	cr_assert_str_eq(hear(*client), "HTTP/1.1 200 Connection established\r\n\r\n");
}

Test(proxy, connect_tunnel_relays_bytes_both_ways)
{
	allow("127.0.0.1");
	start();
	int c, s;
	open_tunnel(&c, &s);
	say(c, "ping");
	cr_expect_str_eq(hear(s), "ping");
	say(s, "pong!");
	cr_expect_str_eq(hear(c), "pong!");
	close(s);
	cr_expect_eq(hear_all(c), 0);
	close(c);
	char *a = audit_text("egress_allow");
	cr_expect(strstr(a, "\"event\":\"egress_allow\""), "%s", a);
	cr_expect(strstr(a, "\"protocol\":\"connect\""), "%s", a);
	cr_expect(strstr(a, "\"bytes_up\":4,\"bytes_down\":5"), "%s", a);
	cr_expect(strstr(a, "\"policy\":\"unit\""), "%s", a);
}

Test(proxy, host_not_allowed_gets_403_and_a_record)
{
	char req[128];
	snprintf(req, sizeof(req), "127.0.0.1:%u", UPSTREAM_PORT);
	allow(req);
	start();
	int c = client_connect();
	say(c, "CONNECT other.test:443 HTTP/1.1\r\n\r\n");
	char *r = hear(c);
	cr_expect(strncmp(r, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", r);
	cr_expect(strstr(r,
	                 "cordon: egress denied other.test:443 (not in the allow list of policy 'unit'; add: allow = "
	                 "other.test:443)\n"),
	          "%s", r);
	cr_expect_eq(hear_all(c), 0);
	close(c);
	char *a = audit_text("egress_deny");
	cr_expect(strstr(a, "\"event\":\"egress_deny\""), "%s", a);
	cr_expect(strstr(a, "\"host\":\"other.test\""), "%s", a);
	/* Control: the allowed address, through the same proxy. */
	int s;
	open_tunnel(&c, &s);
	close(s);
	close(c);
}

Test(proxy, idle_timeout_ends_a_silent_tunnel)
{
	allow("127.0.0.1");
	NP.idle_timeout_ms = 300;
	start();
	int c, s;
	open_tunnel(&c, &s);
	/* Control: bytes go through while the tunnel is young. */
	say(c, "x");
	cr_expect_str_eq(hear(s), "x");
	long long t0 = now_ms();
	cr_expect_eq(hear_all(c), 0);
	cr_expect_geq(now_ms() - t0, 250, "ended before the idle timeout");
	char *a = audit_text("idle timeout");
	cr_expect(strstr(a, "\"reason\":\"idle timeout\""), "%s", a);
	close(s);
	close(c);
}

Test(proxy, response_byte_cap_cuts_the_tunnel)
{
	allow("127.0.0.1");
	NP.max_response_bytes = 1000;
	start();
	int c, s;
	open_tunnel(&c, &s);
	/* Control: an answer within the cap goes through. */
	char chunk[4096];
	memset(chunk, 'x', sizeof(chunk));
	cr_assert_eq(write(s, chunk, 600), 600);
	cr_assert(drive_until(c, POLLIN));
	size_t got = 0;
	while (got < 600) {
		cr_assert(drive_until(c, POLLIN));
		ssize_t n = read(c, chunk, 600 - got);
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	/* Then more than the cap allows: the proxy ends the connection
	 * without relaying past it. */
	memset(chunk, 'y', sizeof(chunk));
	cr_assert_eq(write(s, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	cr_expect_leq(got + hear_all(c), 1000);
	char *a = audit_text("max_response_bytes");
	cr_expect(strstr(a, "\"reason\":\"max_response_bytes exceeded (1000 bytes)\""), "%s", a);
	close(s);
	close(c);
}
