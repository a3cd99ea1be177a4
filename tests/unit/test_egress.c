/* Unit tests for the egress proxy's decisions (policy/egress.c): host
 * validation, authorities, the allow/deny decision, private addresses,
 * HTTP request heads and SOCKS5. Every untrusted input is copied into a
 * heap buffer of exactly its length first, so that a read past len shows
 * up under AddressSanitizer. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "egress.h"
#include "policy.h"
#include "util.h"

/* A heap copy of n bytes with nothing after them (malloc(0) avoided). */
static char *exact(const void *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	if (n)
		memcpy(p, s, n);
	return p;
}

/* ---- egress_check_host ---- */

static void host_ok_n(const char *s, size_t n, const char *want, bool is_ip, int family)
{
	struct egress_target t;
	memset(&t, 0xa5, sizeof(t));
	t.port = 4242;
	const char *why = NULL;
	char *p = exact(s, n);
	bool ok = egress_check_host(p, n, &t, &why);
	free(p);
	cr_assert(ok, "egress_check_host(\"%.*s\") rejected: %s", (int)n, s, why ? why : "?");
	cr_expect_str_eq(t.host, want, "egress_check_host(\"%.*s\") = \"%s\", want \"%s\"", (int)n, s, t.host, want);
	cr_expect_eq(t.is_ip, is_ip, "\"%.*s\": is_ip %d", (int)n, s, t.is_ip);
	if (is_ip)
		cr_expect_eq(t.family, family, "\"%.*s\": family %d", (int)n, s, t.family);
	cr_expect_eq(t.port, 4242, "\"%.*s\": port was changed", (int)n, s);
}

static void host_ok(const char *s, const char *want)
{
	host_ok_n(s, strlen(s), want, false, 0);
}

static void ip_ok(const char *s, const char *want, int family)
{
	host_ok_n(s, strlen(s), want, true, family);
}

static void host_bad_n(const char *s, size_t n)
{
	struct egress_target t;
	memset(&t, 0, sizeof(t));
	const char *why = NULL;
	char *p = exact(s, n);
	bool ok = egress_check_host(p, n, &t, &why);
	free(p);
	cr_expect_not(ok, "egress_check_host(\"%.*s\", %zu) accepted as \"%s\"", (int)n, s, n, t.host);
	if (!ok)
		cr_expect_not_null(why, "no reason for \"%.*s\"", (int)n, s);
}

static void host_bad(const char *s)
{
	host_bad_n(s, strlen(s));
}

/* A string literal with its exact length, embedded NULs included. */
#define LIT(s) (s), (sizeof(s) - 1)

Test(check_host, valid_names)
{
	host_ok("example.com", "example.com");
	host_ok("localhost", "localhost");
	host_ok("a.b.c.d.example.org", "a.b.c.d.example.org");
	host_ok("my-host.example-1.org", "my-host.example-1.org");
	host_ok("123abc.com", "123abc.com");
	host_ok("x1.2y", "x1.2y");
	host_ok("0xg.example", "0xg.example");
	host_ok("xn--bcher-kva.example", "xn--bcher-kva.example");
}

Test(check_host, upper_case_is_lowered)
{
	host_ok("GitHub.COM", "github.com");
	host_ok("API.EXAMPLE.ORG", "api.example.org");
}

Test(check_host, label_and_total_lengths_at_the_limits)
{
	char label63[64], name253[254];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	host_ok(label63, label63);
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	snprintf(name253, sizeof(name253), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	cr_assert_eq(strlen(name253), 253);
	host_ok(name253, name253);
}

Test(check_host, rejects_overlong_label_and_name)
{
	char label64[65], name254[300];
	memset(label64, 'a', 64);
	label64[64] = '\0';
	host_bad(label64);
	char l63[64];
	memset(l63, 'b', 63);
	l63[63] = '\0';
	snprintf(name254, sizeof(name254), "%s.%s.%s.%.62s", l63, l63, l63, l63);
	cr_assert_eq(strlen(name254), 254);
	host_bad(name254);
	char huge[5000];
	memset(huge, 'a', sizeof(huge));
	for (size_t i = 10; i < sizeof(huge); i += 10)
		huge[i] = '.';
	host_bad_n(huge, sizeof(huge));
}

Test(check_host, rejects_embedded_nul)
{
	host_bad_n(LIT("evil\0.allowed.com"));
	host_bad_n(LIT("allowed.com\0"));
	host_bad_n(LIT("\0"));
	host_bad_n(LIT("\0allowed.com"));
	host_bad_n(LIT("::1\0"));
}

Test(check_host, rejects_empty)
{
	host_bad_n("", 0);
	struct egress_target t;
	const char *why = NULL;
	cr_expect_not(egress_check_host(NULL, 0, &t, &why));
}

Test(check_host, rejects_odd_characters)
{
	host_bad("a b.com");
	host_bad(" example.com");
	host_bad("example.com ");
	host_bad("exa_mple.com");
	host_bad("_dmarc.example.com");
	host_bad("ex%61mple.com");
	host_bad("user@example.com");
	host_bad("exa/mple.com");
	host_bad("example.com\t");
	host_bad("example.com\r\n");
	host_bad("*.example.com");
	host_bad("[::1]");
	host_bad("exam\\ple.com");
}

Test(check_host, rejects_non_ascii_bytes)
{
	host_bad("b\xc3\xbc"
	         "cher.example"); /* "bücher" in UTF-8 */
	host_bad("\xff.example");
	host_bad("exampl\xd0\xb5.com"); /* Cyrillic e */
	host_bad("example.com\x80");
}

Test(check_host, rejects_dots_in_the_wrong_place)
{
	host_bad("example.com.");
	host_bad(".example.com");
	host_bad("example..com");
	host_bad(".");
	host_bad("..");
}

Test(check_host, rejects_hyphens_at_label_ends)
{
	host_bad("-example.com");
	host_bad("example-.com");
	host_bad("www.-example.com");
	host_bad("www.example.com-");
	host_bad("-");
}

Test(check_host, rejects_numeric_forms_resolvers_read_as_ipv4)
{
	host_bad("0177.0.0.1");
	host_bad("127.0.0.01");
	host_bad("0x7f.0.0.1");
	host_bad("0X7F.0.0.1");
	host_bad("0x7f000001");
	host_bad("2130706433");
	host_bad("017700000001");
	host_bad("127.1");
	host_bad("127.0.1");
	host_bad("10.1");
	host_bad("0");
	host_bad("256.0.0.1");
	host_bad("1.2.3.4.5");
	host_bad("example.123");
}

Test(check_host, strict_ipv4_literal)
{
	ip_ok("127.0.0.1", "127.0.0.1", AF_INET);
	ip_ok("0.0.0.0", "0.0.0.0", AF_INET);
	ip_ok("255.255.255.255", "255.255.255.255", AF_INET);
	ip_ok("10.20.30.40", "10.20.30.40", AF_INET);

	struct egress_target t;
	const char *why = NULL;
	cr_assert(egress_check_host(LIT("169.254.169.254"), &t, &why));
	const unsigned char want[4] = {169, 254, 169, 254};
	cr_expect_eq(memcmp(t.addr, want, 4), 0);
}

Test(check_host, ipv6_canonicalised)
{
	ip_ok("::1", "::1", AF_INET6);
	ip_ok("0:0:0:0:0:0:0:1", "::1", AF_INET6);
	ip_ok("2001:DB8:0:0::1", "2001:db8::1", AF_INET6);
	ip_ok("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", AF_INET6);
	ip_ok("FE80::1", "fe80::1", AF_INET6);
	ip_ok("::ffff:127.0.0.1", "::ffff:127.0.0.1", AF_INET6);
	ip_ok("0000:0000:0000:0000:0000:ffff:255.255.255.255", "::ffff:255.255.255.255", AF_INET6);

	struct egress_target t;
	const char *why = NULL;
	cr_assert(egress_check_host(LIT("::1"), &t, &why));
	unsigned char want[16] = {0};
	want[15] = 1;
	cr_expect_eq(memcmp(t.addr, want, 16), 0);
}

Test(check_host, ipv6_refusals)
{
	host_bad("fe80::1%eth0");
	host_bad("fe80::1%25eth0");
	host_bad("::1%1");
	host_bad(":::1");
	host_bad("1:2:3:4:5:6:7:8:9");
	host_bad("12345::1");
	host_bad("::g");
	host_bad("::ffff:0177.0.0.1");
	host_bad("::ffff:127.0.0.01");
	host_bad("0000:0000:0000:0000:0000:ffff:255.255.255.2555");
	host_bad("example.com:443"); /* a port is not part of a host */
}

Test(check_host, why_is_static_text)
{
	struct egress_target t;
	const char *why = NULL;
	cr_assert_not(egress_check_host(LIT("evil\0.allowed.com"), &t, &why));
	cr_assert_not_null(why);
	cr_expect_gt(strlen(why), 0);
}

/* ---- egress_parse_authority ---- */

#define REQ EGRESS_PORT_REQUIRED

static struct egress_target auth_ok(const char *s, int def, const char *host, unsigned short port)
{
	struct egress_target t;
	memset(&t, 0, sizeof(t));
	const char *why = NULL;
	size_t n = strlen(s);
	char *p = exact(s, n);
	bool ok = egress_parse_authority(p, n, def, &t, &why);
	free(p);
	cr_assert(ok, "egress_parse_authority(\"%s\", %d) rejected: %s", s, def, why ? why : "?");
	cr_expect_str_eq(t.host, host, "\"%s\": host \"%s\"", s, t.host);
	cr_expect_eq(t.port, port, "\"%s\": port %u, want %u", s, t.port, port);
	return t;
}

static void auth_bad_n(const char *s, size_t n, int def)
{
	struct egress_target t;
	memset(&t, 0, sizeof(t));
	const char *why = NULL;
	char *p = exact(s, n);
	bool ok = egress_parse_authority(p, n, def, &t, &why);
	free(p);
	cr_expect_not(ok, "egress_parse_authority(\"%.*s\", %d) accepted as %s port %u", (int)n, s, def, t.host,
	              t.port);
	if (!ok)
		cr_expect_not_null(why);
}

static void auth_bad(const char *s, int def)
{
	auth_bad_n(s, strlen(s), def);
}

Test(authority, host_and_port)
{
	struct egress_target t = auth_ok("github.com:443", REQ, "github.com", 443);
	cr_expect_not(t.is_ip);
	auth_ok("GitHub.COM:443", REQ, "github.com", 443);
	auth_ok("a:1", REQ, "a", 1);
	auth_ok("a:65535", REQ, "a", 65535);
	t = auth_ok("10.0.0.1:8080", REQ, "10.0.0.1", 8080);
	cr_expect(t.is_ip);
	cr_expect_eq(t.family, AF_INET);
}

Test(authority, bracketed_ipv6)
{
	struct egress_target t = auth_ok("[::1]:443", REQ, "::1", 443);
	cr_expect(t.is_ip);
	cr_expect_eq(t.family, AF_INET6);
	auth_ok("[2001:DB8:0::1]:8443", REQ, "2001:db8::1", 8443);
	auth_ok("[::1]", 80, "::1", 80);
}

Test(authority, default_port)
{
	auth_ok("example.com", 80, "example.com", 80);
	auth_ok("example.com:8080", 80, "example.com", 8080);
	auth_bad("example.com", REQ);
	auth_bad("[::1]", REQ);
}

Test(authority, bad_ports)
{
	auth_bad("example.com:0", REQ);
	auth_bad("example.com:0", 80);
	auth_bad("example.com:65536", REQ);
	auth_bad("example.com:99999", REQ);
	auth_bad("example.com:100000", REQ);
	auth_bad("example.com:18446744073709551617", REQ);
	auth_bad("example.com:", REQ);
	auth_bad("example.com:", 80);
	auth_bad("example.com:44a", REQ);
	auth_bad("example.com:+443", REQ);
	auth_bad("example.com:-1", REQ);
	auth_bad("example.com: 443", REQ);
	auth_bad("example.com:443 ", REQ);
	auth_bad("example.com:0x1bb", REQ);
	auth_bad("[::1]:", REQ);
	auth_bad("[::1]:0", REQ);
	auth_bad_n(LIT("example.com:44\0003"), REQ);
}

Test(authority, unbracketed_ipv6_refused)
{
	auth_bad("::1", REQ);
	auth_bad("::1", 80);
	auth_bad("::1:443", REQ);
	auth_bad("2001:db8::1:443", REQ);
	auth_bad("example.com:443:443", REQ);
}

Test(authority, malformed_brackets)
{
	auth_bad("[::1", REQ);
	auth_bad("[::1]443", REQ);
	auth_bad("[::1]x:443", REQ);
	auth_bad("[]:443", REQ);
	auth_bad("[127.0.0.1]:443", REQ);
	auth_bad("[example.com]:443", REQ);
	auth_bad("[fe80::1%eth0]:443", REQ);
	auth_bad("::1]:443", REQ);
}

Test(authority, host_rules_apply)
{
	auth_bad("", REQ);
	auth_bad(":443", REQ);
	auth_bad("user@example.com:443", REQ);
	auth_bad("0x7f000001:443", REQ);
	auth_bad("127.1:443", REQ);
	auth_bad("example.com.:443", REQ);
	auth_bad_n(LIT("evil\0.allowed.com:443"), REQ);
}

/* ---- egress_allowed ---- */

static struct policy *P;
static struct net_plan NP;
static struct diags D;

static void policy_teardown(void)
{
	netplan_clear(&NP);
	policy_free(P);
	P = NULL;
	diags_free(&D);
}

TestSuite(allowed, .fini = policy_teardown);

/* The net plan of a [network] section in proxy mode with the given
 * allow/deny lines: what the proxy decides with. */
static const struct net_plan *net_policy(const char *lines)
{
	char *text = xasprintf("[network]\nmode = proxy\n%s", lines);
	netplan_clear(&NP);
	policy_free(P);
	diags_free(&D);
	P = policy_parse("test.ini", text, strlen(text), &D);
	free(text);
	cr_assert_not_null(P);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_eq(D.n, 0, "policy has diagnostics");
	cr_assert(netplan_build(&NP, P, "/home/t", &D));
	return &NP;
}

static struct egress_target target(const char *host, unsigned short port)
{
	struct egress_target t;
	memset(&t, 0, sizeof(t));
	const char *why = NULL;
	cr_assert(egress_check_host(host, strlen(host), &t, &why), "%s: %s", host, why);
	t.port = port;
	return t;
}

static void expect_decision(const struct net_plan *p, const char *host, unsigned short port, bool want,
                            const char *reason)
{
	struct egress_target t = target(host, port);
	const char *r = NULL;
	bool got = egress_allowed(p, &t, &r);
	cr_expect_eq(got, want, "%s:%u: %s, want %s (%s)", host, port, got ? "allowed" : "denied",
	             want ? "allowed" : "denied", r ? r : "no reason");
	cr_expect_not_null(r, "%s:%u: no reason", host, port);
	if (r && reason)
		cr_expect_str_eq(r, reason, "%s:%u: reason \"%s\", want \"%s\"", host, port, r, reason);
}

#define ALLOWED  "allowed by allow pattern"
#define DENIED   "denied by deny pattern"
#define NOT_LIST "not in the allow list"
#define IP_LIT   "IP literal not allowed literally"

Test(allowed, exact_host_any_port)
{
	const struct net_plan *p = net_policy("allow = example.com\n");
	expect_decision(p, "example.com", 443, true, ALLOWED);
	expect_decision(p, "example.com", 80, true, ALLOWED);
	expect_decision(p, "www.example.com", 443, false, NOT_LIST);
	expect_decision(p, "example.co", 443, false, NOT_LIST);
	expect_decision(p, "example.com.evil.org", 443, false, NOT_LIST);
	expect_decision(p, "xexample.com", 443, false, NOT_LIST);
}

Test(allowed, host_and_port)
{
	const struct net_plan *p = net_policy("allow = github.com:443\n");
	expect_decision(p, "github.com", 443, true, ALLOWED);
	expect_decision(p, "github.com", 80, false, NOT_LIST);
	expect_decision(p, "github.com", 22, false, NOT_LIST);
}

Test(allowed, wildcard_matches_subdomains_only)
{
	const struct net_plan *p = net_policy("allow = *.example.org\n");
	expect_decision(p, "a.example.org", 443, true, ALLOWED);
	expect_decision(p, "a.b.example.org", 80, true, ALLOWED);
	expect_decision(p, "example.org", 443, false, NOT_LIST);
	expect_decision(p, "evilexample.org", 443, false, NOT_LIST);
	expect_decision(p, "a.evilexample.org", 443, false, NOT_LIST);
	expect_decision(p, "example.org.evil.com", 443, false, NOT_LIST);
	expect_decision(p, "org", 443, false, NOT_LIST);
}

Test(allowed, wildcard_with_port)
{
	const struct net_plan *p = net_policy("allow = *.example.org:8443\n");
	expect_decision(p, "a.example.org", 8443, true, ALLOWED);
	expect_decision(p, "a.example.org", 443, false, NOT_LIST);
}

Test(allowed, deny_wins_over_allow)
{
	const struct net_plan *p = net_policy("allow = *.github.com\nallow = github.com\ndeny = gist.github.com\n");
	expect_decision(p, "api.github.com", 443, true, ALLOWED);
	expect_decision(p, "github.com", 443, true, ALLOWED);
	expect_decision(p, "gist.github.com", 443, false, DENIED);
	expect_decision(p, "x.gist.github.com", 443, true, ALLOWED);

	p = net_policy("deny = *.example.com\nallow = a.example.com\n");
	expect_decision(p, "a.example.com", 443, false, DENIED);

	p = net_policy("allow = example.com\ndeny = example.com:80\n");
	expect_decision(p, "example.com", 80, false, DENIED);
	expect_decision(p, "example.com", 443, true, ALLOWED);
}

Test(allowed, default_deny)
{
	const struct net_plan *p = net_policy("");
	expect_decision(p, "example.com", 443, false, NOT_LIST);
	expect_decision(p, "127.0.0.1", 80, false, IP_LIT);
	p = net_policy("deny = evil.com\n");
	expect_decision(p, "example.com", 443, false, NOT_LIST);
	expect_decision(p, "evil.com", 443, false, DENIED);
}

Test(allowed, case_insensitive)
{
	const struct net_plan *p = net_policy("allow = GitHub.COM\nallow = *.Example.ORG\n");
	expect_decision(p, "GITHUB.com", 443, true, ALLOWED);
	expect_decision(p, "WWW.EXAMPLE.org", 443, true, ALLOWED);

	/* A target built by hand with capitals matches too. */
	struct egress_target t;
	memset(&t, 0, sizeof(t));
	strcpy(t.host, "Api.Example.Org");
	t.port = 443;
	const char *r = NULL;
	cr_expect(egress_allowed(p, &t, &r));
}

Test(allowed, ip_literal_only_when_allowed_literally)
{
	const struct net_plan *p = net_policy("allow = 10.1.2.3:8080\nallow = [2001:db8::1]\nallow = example.com\n");
	expect_decision(p, "10.1.2.3", 8080, true, ALLOWED);
	expect_decision(p, "10.1.2.3", 80, false, IP_LIT);
	expect_decision(p, "10.1.2.4", 8080, false, IP_LIT);
	expect_decision(p, "2001:db8::1", 443, true, ALLOWED);
	expect_decision(p, "2001:0DB8:0:0:0:0:0:1", 443, true, ALLOWED);
	expect_decision(p, "2001:db8::2", 443, false, IP_LIT);
	expect_decision(p, "::ffff:10.1.2.3", 8080, false, IP_LIT);
}

Test(allowed, name_pattern_never_allows_an_ip_and_vice_versa)
{
	/* Even a pattern whose name looks like the start of an address. */
	const struct net_plan *p = net_policy("allow = *.0.0.10.in-addr.arpa\nallow = localhost\n");
	expect_decision(p, "127.0.0.1", 80, false, IP_LIT);
	expect_decision(p, "10.0.0.1", 80, false, IP_LIT);
	expect_decision(p, "::1", 80, false, IP_LIT);

	p = net_policy("allow = 127.0.0.1\nallow = [::1]\n");
	expect_decision(p, "localhost", 80, false, NOT_LIST);
	expect_decision(p, "127.0.0.1", 80, true, ALLOWED);
	expect_decision(p, "::1", 80, true, ALLOWED);

	/* A forged target claiming to be a name but spelling an address
	 * still does not match an IP pattern. */
	struct egress_target t;
	memset(&t, 0, sizeof(t));
	strcpy(t.host, "127.0.0.1");
	t.port = 80;
	const char *r = NULL;
	cr_expect_not(egress_allowed(p, &t, &r));
}

Test(allowed, deny_ip_literal)
{
	const struct net_plan *p = net_policy("allow = 169.254.169.254\ndeny = 169.254.169.254:80\n");
	expect_decision(p, "169.254.169.254", 80, false, DENIED);
	expect_decision(p, "169.254.169.254", 443, true, ALLOWED);
}

Test(allowed, unterminated_target_host_is_denied)
{
	const struct net_plan *p = net_policy("allow = *.a\n");
	struct egress_target t;
	memset(&t, 'a', sizeof(t.host));
	t.host[1] = '.';
	t.is_ip = false;
	t.port = 1;
	const char *r = NULL;
	cr_expect_not(egress_allowed(p, &t, &r));
	cr_expect_not(egress_allowed(NULL, &t, &r));
}

/* ---- egress_addr_is_private ---- */

static bool private4(const char *s, const char **what)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(443);
	cr_assert_eq(inet_pton(AF_INET, s, &sin.sin_addr), 1, "bad test address %s", s);
	*what = NULL;
	return egress_addr_is_private((const struct sockaddr *)&sin, what);
}

static bool private6(const char *s, const char **what)
{
	struct sockaddr_in6 sin6;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	cr_assert_eq(inet_pton(AF_INET6, s, &sin6.sin6_addr), 1, "bad test address %s", s);
	*what = NULL;
	return egress_addr_is_private((const struct sockaddr *)&sin6, what);
}

static void is_private(const char *s, const char *what_contains)
{
	const char *what;
	bool r = strchr(s, ':') ? private6(s, &what) : private4(s, &what);
	cr_expect(r, "%s is not private", s);
	if (r) {
		cr_expect_not_null(what, "%s: no range named", s);
		if (what)
			cr_expect(strstr(what, what_contains), "%s: \"%s\" does not name \"%s\"", s, what,
			          what_contains);
	}
}

static void is_public(const char *s)
{
	const char *what;
	bool r = strchr(s, ':') ? private6(s, &what) : private4(s, &what);
	cr_expect_not(r, "%s is private (%s)", s, what ? what : "?");
}

Test(private, ipv4_ranges)
{
	is_private("0.0.0.0", "unspecified");
	is_private("0.1.2.3", "0/8");
	is_private("127.0.0.1", "loopback");
	is_private("127.255.255.254", "loopback");
	is_private("10.0.0.1", "RFC 1918");
	is_private("10.255.255.255", "RFC 1918");
	is_private("172.16.0.1", "RFC 1918");
	is_private("172.31.255.255", "RFC 1918");
	is_private("192.168.1.1", "RFC 1918");
	is_private("100.64.0.1", "CGNAT");
	is_private("100.127.255.255", "CGNAT");
	is_private("169.254.169.254", "link-local");
	is_private("169.254.0.1", "link-local");
	is_private("224.0.0.1", "multicast");
	is_private("239.255.255.250", "multicast");
	is_private("240.0.0.1", "reserved");
	is_private("254.255.255.255", "reserved");
	is_private("255.255.255.255", "broadcast");
	is_private("192.0.0.8", "192.0.0/24");
	is_private("192.0.2.1", "documentation");
	is_private("198.51.100.7", "documentation");
	is_private("203.0.113.9", "documentation");
	is_private("198.18.0.1", "benchmarking");
	is_private("198.19.255.255", "benchmarking");
}

Test(private, ipv4_public_and_range_edges)
{
	is_public("8.8.8.8");
	is_public("1.1.1.1");
	is_public("1.0.0.0");
	is_public("9.255.255.255");
	is_public("11.0.0.0");
	is_public("126.255.255.255");
	is_public("128.0.0.0");
	is_public("172.15.255.255");
	is_public("172.32.0.0");
	is_public("192.167.255.255");
	is_public("192.169.0.0");
	is_public("100.63.255.255");
	is_public("100.128.0.0");
	is_public("169.253.255.255");
	is_public("169.255.0.0");
	is_public("198.17.255.255");
	is_public("198.20.0.0");
	is_public("223.255.255.255");
	is_public("192.0.1.1");
	is_public("140.82.112.3");
}

Test(private, ipv6_ranges)
{
	is_private("::", "unspecified");
	is_private("::1", "loopback");
	is_private("fe80::1", "link-local");
	is_private("febf:ffff::1", "link-local");
	is_private("fc00::1", "ULA");
	is_private("fd12:3456::1", "ULA");
	is_private("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ULA");
	is_private("ff02::1", "multicast");
	is_private("ff0e::1", "multicast");
	is_private("fec0::1", "site-local");
	is_private("2001:db8::1", "documentation");
	is_private("3fff::1", "documentation");
	is_private("2001:2::1", "benchmarking");
	is_private("100::1", "discard");
	is_private("64:ff9b:1::a00:1", "NAT64");
	is_private("::2", "IPv4-compatible");
	is_private("0:0:1::1", "reserved");
	is_private("4000::1", "reserved");
	is_private("e000::1", "reserved");
}

Test(private, ipv6_public)
{
	is_public("2606:4700::1111");
	is_public("2606:4700:4700::1111");
	is_public("2001:4860:4860::8888");
	is_public("2a00:1450:4001:82b::200e");
	is_public("::ffff:8.8.8.8");
	is_public("64:ff9b::808:808");
	is_public("2002:808:808::1");
	is_public("2001:0:4136:e378:8000:63bf:f7f7:f7f7"); /* Teredo, client 8.8.8.8 */
}

Test(private, ipv6_forms_embedding_private_ipv4)
{
	static const struct {
		const char *v6, *what;
	} cases[] = {
	    {"::ffff:127.0.0.1", "IPv4-mapped loopback"},
	    {"::ffff:10.0.0.1", "IPv4-mapped RFC 1918"},
	    {"::ffff:169.254.169.254", "IPv4-mapped link-local"},
	    {"::ffff:0.0.0.0", "IPv4-mapped unspecified"},
	    {"::ffff:100.64.0.1", "IPv4-mapped CGNAT"},
	    {"::ffff:255.255.255.255", "IPv4-mapped broadcast"},
	    {"::127.0.0.1", "IPv4-compatible loopback"},
	    {"::10.0.0.1", "IPv4-compatible RFC 1918"},
	    {"::169.254.169.254", "IPv4-compatible link-local"},
	    {"::ffff:0:127.0.0.1", "IPv4-translated loopback"},
	    {"::ffff:0:10.0.0.1", "IPv4-translated RFC 1918"},
	    {"::ffff:0:169.254.169.254", "IPv4-translated link-local"},
	    {"64:ff9b::127.0.0.1", "NAT64 loopback"},
	    {"64:ff9b::7f00:1", "NAT64 loopback"},
	    {"64:ff9b::10.0.0.1", "NAT64 RFC 1918"},
	    {"64:ff9b::169.254.169.254", "NAT64 link-local"},
	    {"2002:7f00:1::", "6to4 loopback"},
	    {"2002:7f00:1::1", "6to4 loopback"},
	    {"2002:a00:1::1", "6to4 RFC 1918"},
	    {"2002:a9fe:a9fe::1", "6to4 link-local"},
	    {"2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo loopback"},   /* client 127.0.0.1 */
	    {"2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo RFC 1918"},   /* client 10.0.0.1 */
	    {"2001:0:4136:e378:8000:63bf:5601:5601", "Teredo link-local"}, /* client 169.254.169.254 */
	    {"2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", "Teredo link-local"}, /* server 169.254.169.254 */
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		const char *what;
		bool r = private6(cases[i].v6, &what);
		cr_expect(r, "%s is not private", cases[i].v6);
		if (r)
			cr_expect_str_eq(what, cases[i].what, "%s: \"%s\", want \"%s\"", cases[i].v6, what,
			                 cases[i].what);
	}
}

Test(private, ipv4_compatible_form_of_a_public_address_is_refused)
{
	/* ::/96 is deprecated and never a real destination. */
	is_private("::8.8.8.8", "IPv4-compatible");
}

Test(private, other_families_fail_closed)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	const char *what = NULL;
	cr_expect(egress_addr_is_private((const struct sockaddr *)&ss, &what));
	cr_expect_not_null(what);
	cr_expect(egress_addr_is_private(NULL, &what));
}

/* ---- http_parse_head ---- */

#define MAX_HEAD 8192

/* Parses s (strlen) with the given limits from an exact-size copy. */
static int parse_lim(const char *s, size_t n, size_t max_head, uint64_t max_body, struct http_head *h, int *status,
                     const char **why)
{
	char *p = exact(s, n);
	*status = 0;
	*why = NULL;
	int r = http_parse_head(p, n, max_head, max_body, h, status, why);
	free(p); /* h must not point into the input */
	return r;
}

static struct http_head head_ok(const char *s)
{
	struct http_head h;
	int status;
	const char *why;
	int r = parse_lim(s, strlen(s), MAX_HEAD, 0, &h, &status, &why);
	cr_assert_eq(r, 1, "http_parse_head(\"%s\") = %d (%d %s)", s, r, status, why ? why : "");
	return h;
}

static void head_refused_n(const char *s, size_t n, size_t max_head, uint64_t max_body, int want_status)
{
	struct http_head h;
	int status;
	const char *why;
	int r = parse_lim(s, n, max_head, max_body, &h, &status, &why);
	cr_expect_eq(r, -1, "http_parse_head(\"%.*s\") = %d, want refusal %d", (int)n, s, r, want_status);
	if (r == -1) {
		cr_expect_eq(status, want_status, "http_parse_head(\"%.*s\"): status %d (%s), want %d", (int)n, s,
		             status, why ? why : "", want_status);
		cr_expect_not_null(why);
	}
	if (r == 1)
		http_head_free(&h);
}

static void head_refused(const char *s, int want_status)
{
	head_refused_n(s, strlen(s), MAX_HEAD, 0, want_status);
}

/* Every strict prefix of a valid head needs more bytes, and the whole is
 * complete. */
static void every_prefix_incomplete(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		struct http_head h;
		int status;
		const char *why;
		int r = parse_lim(s, i, MAX_HEAD, 0, &h, &status, &why);
		cr_assert_eq(r, 0, "prefix of %zu bytes of \"%s\": %d (%d %s)", i, s, r, status, why ? why : "");
		cr_assert_null(h.upstream);
	}
	struct http_head h = head_ok(s);
	http_head_free(&h);
}

static void upstream_is(const char *req, const char *want)
{
	struct http_head h = head_ok(req);
	cr_assert_not_null(h.upstream, "no upstream head for \"%s\"", req);
	cr_expect_eq(h.upstream_len, strlen(want), "upstream length %zu, want %zu", h.upstream_len, strlen(want));
	cr_expect(h.upstream_len == strlen(want) && memcmp(h.upstream, want, h.upstream_len) == 0,
	          "upstream head:\n%.*s\nwant:\n%s", (int)h.upstream_len, h.upstream, want);
	http_head_free(&h);
}

static const char valid_get[] = "GET http://example.com/index.html?a=1 HTTP/1.1\r\n"
                                "Host: example.com\r\n"
                                "User-Agent: curl/8.0\r\n"
                                "Accept: */*\r\n"
                                "\r\n";

static const char valid_connect[] = "CONNECT github.com:443 HTTP/1.1\r\n"
                                    "Host: github.com:443\r\n"
                                    "User-Agent: curl/8.0\r\n"
                                    "Proxy-Connection: Keep-Alive\r\n"
                                    "\r\n";

Test(http, every_strict_prefix_needs_more)
{
	every_prefix_incomplete(valid_get);
	every_prefix_incomplete(valid_connect);
	every_prefix_incomplete("GET http://[::1]:8080/ HTTP/1.0\r\n\r\n");
	every_prefix_incomplete("POST http://example.com/ HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
}

Test(http, nothing_yet)
{
	struct http_head h;
	int status = 0;
	const char *why = NULL;
	cr_expect_eq(http_parse_head("", 0, MAX_HEAD, 0, &h, &status, &why), 0);
}

Test(http, absolute_get)
{
	struct http_head h = head_ok(valid_get);
	cr_expect_not(h.is_connect);
	cr_expect_str_eq(h.dest.host, "example.com");
	cr_expect_eq(h.dest.port, 80);
	cr_expect_not(h.dest.is_ip);
	cr_expect_eq(h.head_len, strlen(valid_get));
	cr_expect_not(h.has_content_length);
	cr_assert_not_null(h.upstream);
	cr_expect_str_eq(h.upstream, "GET /index.html?a=1 HTTP/1.1\r\n"
	                             "Host: example.com\r\n"
	                             "User-Agent: curl/8.0\r\n"
	                             "Accept: */*\r\n"
	                             "Connection: close\r\n\r\n");
	http_head_free(&h);
	cr_expect_null(h.upstream);
	http_head_free(&h); /* twice is harmless */
}

Test(http, head_len_excludes_the_body)
{
	const char *req = "POST http://example.com/up HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
	struct http_head h = head_ok(req);
	cr_expect_eq(h.head_len, strlen(req) - 5);
	cr_expect(h.has_content_length);
	cr_expect_eq(h.content_length, 5);
	cr_expect_str_eq(h.upstream, "POST /up HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n"
	                             "Connection: close\r\n\r\n");
	http_head_free(&h);
}

Test(http, connect)
{
	struct http_head h = head_ok(valid_connect);
	cr_expect(h.is_connect);
	cr_expect_str_eq(h.dest.host, "github.com");
	cr_expect_eq(h.dest.port, 443);
	cr_expect_null(h.upstream);
	cr_expect_eq(h.upstream_len, 0);
	cr_expect_eq(h.head_len, strlen(valid_connect));
	http_head_free(&h);

	h = head_ok("CONNECT [2001:DB8::1]:443 HTTP/1.1\r\n\r\n");
	cr_expect(h.is_connect);
	cr_expect(h.dest.is_ip);
	cr_expect_eq(h.dest.family, AF_INET6);
	cr_expect_str_eq(h.dest.host, "2001:db8::1");
	http_head_free(&h);

	h = head_ok("CONNECT 10.0.0.1:22 HTTP/1.0\r\n\r\n");
	cr_expect(h.dest.is_ip);
	cr_expect_eq(h.dest.family, AF_INET);
	cr_expect_eq(h.dest.port, 22);
	http_head_free(&h);

	/* Some clients send an explicit empty body. */
	h = head_ok("CONNECT example.com:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	cr_expect(h.has_content_length);
	cr_expect_eq(h.content_length, 0);
	http_head_free(&h);
}

Test(http, connect_refusals)
{
	head_refused("CONNECT github.com HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT github.com: HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT github.com:0 HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT github.com:65536 HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT /index.html HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT http://github.com:443/ HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT user@github.com:443 HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT ::1:443 HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT 0x7f000001:443 HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT git_hub.com:443 HTTP/1.1\r\n\r\n", 400);
	head_refused("CONNECT github.com:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400);
	head_refused("CONNECT github.com:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

Test(http, absolute_uri_forms)
{
	upstream_is("GET http://Example.COM:8080/a/b?x=1&y=2 HTTP/1.1\r\n\r\n",
	            "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n");
	upstream_is("GET http://example.com HTTP/1.1\r\n\r\n",
	            "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
	upstream_is("GET http://example.com?q=1 HTTP/1.0\r\n\r\n",
	            "GET /?q=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
	upstream_is("GET http://example.com:80/ HTTP/1.1\r\n\r\n",
	            "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
	upstream_is("GET HTTP://example.com/x HTTP/1.1\r\n\r\n",
	            "GET /x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
	upstream_is("GET http://example.com/page#section HTTP/1.1\r\n\r\n",
	            "GET /page HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
	upstream_is("GET http://[2001:DB8::1]/ HTTP/1.1\r\n\r\n",
	            "GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\nConnection: close\r\n\r\n");
	upstream_is("GET http://[::1]:8080/p HTTP/1.1\r\n\r\n",
	            "GET /p HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n");
	upstream_is("DELETE http://10.0.0.1:81/r HTTP/1.1\r\n\r\n",
	            "DELETE /r HTTP/1.1\r\nHost: 10.0.0.1:81\r\nConnection: close\r\n\r\n");
	upstream_is("PROPFIND http://example.com/dav/ HTTP/1.1\r\n\r\n",
	            "PROPFIND /dav/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");

	struct http_head h = head_ok("GET http://Example.COM:8080/ HTTP/1.1\r\n\r\n");
	cr_expect_str_eq(h.dest.host, "example.com");
	cr_expect_eq(h.dest.port, 8080);
	http_head_free(&h);
}

Test(http, rewritten_head_exact_bytes)
{
	upstream_is("GET http://Example.COM:8080/a/b?x=1&y=2#frag HTTP/1.1\r\n"
	            "Host: wrong.example\r\n"
	            "User-Agent: t/1\r\n"
	            "Proxy-Authorization: Basic abc\r\n"
	            "Connection: keep-alive, X-Secret\r\n"
	            "X-Secret: s\r\n"
	            "Keep-Alive: timeout=5\r\n"
	            "Proxy-Connection: keep-alive\r\n"
	            "TE: trailers\r\n"
	            "Trailer: X-Sum\r\n"
	            "Upgrade: h2c\r\n"
	            "Proxy-Authenticate: Basic\r\n"
	            "Accept:   */*  \r\n"
	            "x-secret: again\r\n"
	            "Cookie: a=b\r\n"
	            "\r\n",
	            "GET /a/b?x=1&y=2 HTTP/1.1\r\n"
	            "Host: example.com:8080\r\n"
	            "User-Agent: t/1\r\n"
	            "Accept: */*\r\n"
	            "Cookie: a=b\r\n"
	            "Connection: close\r\n\r\n");
}

Test(http, hop_by_hop_headers_removed_case_insensitively)
{
	upstream_is("GET http://example.com/ HTTP/1.1\r\n"
	            "HOST: example.com\r\n"
	            "connection: Upgrade,  x-a ,,X-B\r\n"
	            "CONNECTION: x-c\r\n"
	            "X-A: 1\r\n"
	            "x-b: 2\r\n"
	            "X-C: 3\r\n"
	            "X-D: 4\r\n"
	            "keep-alive: 1\r\n"
	            "PROXY-AUTHORIZATION: Bearer t\r\n"
	            "upgrade: websocket\r\n"
	            "te: gzip\r\n"
	            "trailer: x\r\n"
	            "Proxy-Status: x\r\n"
	            "\r\n",
	            "GET / HTTP/1.1\r\nHost: example.com\r\nX-D: 4\r\nConnection: close\r\n\r\n");
}

Test(http, header_values_kept_verbatim)
{
	upstream_is("GET http://example.com/ HTTP/1.1\r\n"
	            "X-Empty:\r\n"
	            "X-Tab:\tin\tside\t\r\n"
	            "X-Obs: caf\xc3\xa9\r\n"
	            "X-Colon: a:b:c\r\n"
	            "\r\n",
	            "GET / HTTP/1.1\r\nHost: example.com\r\nX-Empty: \r\nX-Tab: in\tside\r\nX-Obs: caf\xc3\xa9\r\n"
	            "X-Colon: a:b:c\r\nConnection: close\r\n\r\n");
}

Test(http, chunked_request)
{
	struct http_head h = head_ok("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	cr_expect_not(h.has_content_length);
	cr_expect_str_eq(
	    h.upstream,
	    "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	http_head_free(&h);
	h = head_ok("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n");
	http_head_free(&h);
}

Test(http, head_size_limit)
{
	/* Exactly max_head bytes is accepted; one more is 431. */
	const char *req = "GET http://example.com/ HTTP/1.1\r\n\r\n";
	size_t n = strlen(req);
	struct http_head h;
	int status;
	const char *why;
	cr_expect_eq(parse_lim(req, n, n, 0, &h, &status, &why), 1);
	http_head_free(&h);
	head_refused_n(req, n, n - 1, 0, 431);

	/* An unterminated head reaching max_head is 431 without waiting. */
	char big[200];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET http://example.com/ HTTP/1.1\r\nX-Long: ", 42);
	head_refused_n(big, sizeof(big), 100, 0, 431);
	head_refused_n(big, 100, 100, 0, 431);
	cr_expect_eq(parse_lim(big, 99, 100, 0, &h, &status, &why), 0);
}

Test(http, too_many_header_fields)
{
	buf_t b = {0};
	buf_puts(&b, "GET http://example.com/ HTTP/1.1\r\n");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "X-%d: v\r\n", i);
	buf_puts(&b, "\r\n");
	head_refused_n(b.p, b.len, 1 << 20, 0, 431);
	buf_free(&b);
}

Test(http, body_size_limit)
{
	struct http_head h;
	int status;
	const char *why;
	const char *req = "POST http://example.com/ HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
	head_refused_n(req, strlen(req), MAX_HEAD, 999, 413);
	cr_expect_eq(parse_lim(req, strlen(req), MAX_HEAD, 1000, &h, &status, &why), 1);
	http_head_free(&h);
	cr_expect_eq(parse_lim(req, strlen(req), MAX_HEAD, 0, &h, &status, &why), 1);
	http_head_free(&h);
	const char *huge = "POST http://example.com/ HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n";
	head_refused_n(huge, strlen(huge), MAX_HEAD, 10485760, 413);
	cr_expect_eq(parse_lim(huge, strlen(huge), MAX_HEAD, 0, &h, &status, &why), 1);
	cr_expect_eq(h.content_length, UINT64_MAX);
	http_head_free(&h);
}

Test(http, smuggling)
{
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	             400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	             400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
	/* A repeated Content-Length is refused even with the same value:
	 * egress.h refuses "conflicting or repeated" ones, and a second copy
	 * only ever exists to be read differently by someone downstream. */
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 5,6\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 1 0\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nContent-Length : 5\r\n\r\n", 400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	             "Transfer-Encoding: chunked\r\n\r\n",
	             400);
	head_refused("POST http://example.com/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	/* Naming a framing header in Connection would strip it upstream. */
	head_refused("POST http://example.com/ HTTP/1.1\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n",
	             400);
	head_refused("POST http://example.com/ HTTP/1.1\r\nConnection: close, transfer-encoding\r\n"
	             "Transfer-Encoding: chunked\r\n\r\n",
	             400);
}

Test(http, transfer_encoding_other_than_chunked)
{
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501);
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 501);
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 501);
	head_refused("POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", 501);
}

Test(http, line_ends_and_control_bytes)
{
	/* Bare LF is refused as soon as it arrives. */
	head_refused("GET http://example.com/ HTTP/1.1\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\n\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nHost: a\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nHost: a\r\n\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX: a\rb\r\n\r\n", 400);
	head_refused_n(LIT("GET http://example.com/ HTTP/1.1\r\nX: a\0b\r\n\r\n"), MAX_HEAD, 0, 400);
	head_refused_n(LIT("GET http://example.com/\0 HTTP/1.1\r\n\r\n"), MAX_HEAD, 0, 400);
	head_refused_n(LIT("\0"), MAX_HEAD, 0, 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX: a\x01\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX: a\x1b[0m\r\n\r\n", 400);
	head_refused("\r\n\r\n", 400);
	head_refused("\r\nGET http://example.com/ HTTP/1.1\r\n\r\n", 400);
}

Test(http, obs_fold)
{
	head_refused("GET http://example.com/ HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\n Host: example.com\r\n\r\n", 400);
}

Test(http, bad_header_names)
{
	head_refused("GET http://example.com/ HTTP/1.1\r\nX A: 1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nHost : a\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\n: a\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX(a): 1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX@a: 1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX\"a: 1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX/a: 1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nX\xc3\xa9: 1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nNoColon\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nConnection: a b\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nConnection: a;b\r\n\r\n", 400);

	/* All tchar punctuation is fine in a name. */
	upstream_is("GET http://example.com/ HTTP/1.1\r\nX!#$%&'*+-.^_`|~9: 1\r\n\r\n",
	            "GET / HTTP/1.1\r\nHost: example.com\r\nX!#$%&'*+-.^_`|~9: 1\r\nConnection: close\r\n\r\n");
}

Test(http, repeated_host)
{
	head_refused("GET http://example.com/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
}

Test(http, request_line_refusals)
{
	head_refused("GET  http://example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com/  HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.1 \r\n\r\n", 400);
	head_refused(" GET http://example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET\thttp://example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com/\tHTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com/\r\n\r\n", 400);
	head_refused("GET\r\n\r\n", 400);
	head_refused("GET http://example.com/ x HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://exa mple.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com/\xc3\xa9 HTTP/1.1\r\n\r\n", 400);
}

Test(http, versions)
{
	head_refused("GET http://example.com/ HTTP/2.0\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.2\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1.10\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/1\r\n\r\n", 400);
	head_refused("GET http://example.com/ http/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com/ HTTP/0.9\r\n\r\n", 400);
	head_refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400);
	struct http_head h = head_ok("GET http://example.com/ HTTP/1.0\r\n\r\n");
	http_head_free(&h);
}

Test(http, methods)
{
	head_refused("get http://example.com/ HTTP/1.1\r\n\r\n", 501);
	head_refused("Get http://example.com/ HTTP/1.1\r\n\r\n", 501);
	head_refused("connect github.com:443 HTTP/1.1\r\n\r\n", 501);
	head_refused("M-SEARCH http://example.com/ HTTP/1.1\r\n\r\n", 501);
	head_refused("GET1 http://example.com/ HTTP/1.1\r\n\r\n", 501);
	head_refused("ABCDEFGHIJKLMNOP http://example.com/ HTTP/1.1\r\n\r\n", 501); /* 16 letters */
	head_refused("GE(T http://example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("G\xc3\x89T http://example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("TRACE http://example.com/ HTTP/1.1\r\n\r\n", 405);
	upstream_is("ABCDEFGHIJKLMNO http://example.com/ HTTP/1.1\r\n\r\n",
	            "ABCDEFGHIJKLMNO / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
}

Test(http, target_refusals)
{
	head_refused("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 400);
	head_refused("OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n", 400);
	head_refused("GET example.com:80 HTTP/1.1\r\n\r\n", 400);
	head_refused("GET ftp://example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET file:///etc/passwd HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http:/example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http:// HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http:///etc/passwd HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://user:pw@example.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com@evil.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com:0/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com:/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com:99999/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://ex_ample.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://ex%61mple.com/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://example.com./ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://0x7f000001/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://127.1/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://2130706433/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://::1/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://[fe80::1%25eth0]/ HTTP/1.1\r\n\r\n", 400);
	head_refused("GET http://[127.0.0.1]/ HTTP/1.1\r\n\r\n", 400);
}

Test(http, https_needs_connect)
{
	struct http_head h;
	int status;
	const char *why;
	const char *req = "GET https://example.com/ HTTP/1.1\r\n\r\n";
	cr_assert_eq(parse_lim(req, strlen(req), MAX_HEAD, 0, &h, &status, &why), -1);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(why, "use CONNECT for https");
	req = "GET HTTPS://example.com/ HTTP/1.1\r\n\r\n";
	cr_assert_eq(parse_lim(req, strlen(req), MAX_HEAD, 0, &h, &status, &why), -1);
	cr_expect_str_eq(why, "use CONNECT for https");
}

/* ---- request bodies (http_body_*) ---- */

/* Parses the head req, then feeds rest (n bytes) to its body: all at once,
 * byte by byte and split at every point, which must agree. Returns how
 * many bytes of rest belong to the body, or -1 (with *why) when the body is
 * refused; *done tells whether it is complete. */
static long body_take(const char *req, const char *rest, size_t n, bool *done, const char **why)
{
	struct http_head h = head_ok(req);
	http_head_free(&h);
	char *p = exact(rest, n);
	long want = -2;
	bool want_done = false;
	for (size_t split = 0; split <= n + 1; split++) {
		/* split n + 1: one byte at a time. */
		struct http_body b;
		http_body_init(&b, &h);
		size_t total = 0, pos = 0;
		long got = 0;
		while (pos < n || (pos == 0 && n == 0)) {
			size_t len = split == n + 1 ? 1 : split == 0 ? n : pos < split ? split - pos : n - pos;
			if (len > n - pos)
				len = n - pos;
			size_t taken = 99;
			const char *w = NULL;
			if (!http_body_take(&b, p + pos, len, &taken, &w)) {
				cr_assert_not_null(w);
				*why = w;
				got = -1;
				break;
			}
			cr_assert_leq(taken, len);
			/* Once a piece is not taken whole, the body has ended. */
			if (taken < len)
				cr_assert(http_body_done(&b), "\"%s\": %zu of %zu taken but not done", rest, taken,
				          len);
			total += taken;
			pos += len;
			if (n == 0)
				break;
		}
		if (got == 0)
			got = (long)total;
		bool d = got >= 0 && http_body_done(&b);
		if (d) {
			size_t taken = 99;
			const char *w = NULL;
			cr_assert(http_body_take(&b, "GET / HTTP/1.1\r\n\r\n", 18, &taken, &w));
			cr_assert_eq(taken, 0, "bytes taken after the body's end");
		}
		if (want == -2) {
			want = got;
			want_done = d;
		}
		cr_assert_eq(got, want, "\"%s\" split at %zu: %ld, all at once: %ld", rest, split, got, want);
		cr_assert_eq(d, want_done, "\"%s\" split at %zu: done %d", rest, split, d);
	}
	free(p);
	*done = want_done;
	return want;
}

static const char post_len5[] = "POST http://example.com/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
static const char post_chunked[] = "POST http://example.com/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
static const char smuggled[] = "GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n";

static void body_is(const char *req, const char *body, bool want_done)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s%s", body, smuggled);
	bool done;
	const char *why = NULL;
	long n = body_take(req, buf, strlen(buf), &done, &why);
	cr_expect_eq(n, want_done ? (long)strlen(body) : (long)strlen(buf), "body \"%s\": %ld bytes taken (%s)", body,
	             n, why ? why : "");
	cr_expect_eq(done, want_done, "body \"%s\": done %d", body, done);
}

static void body_refused(const char *req, const char *body, const char *want_why)
{
	bool done;
	const char *why = NULL;
	long n = body_take(req, body, strlen(body), &done, &why);
	cr_expect_eq(n, -1, "body \"%s\" accepted (%ld)", body, n);
	if (n == -1 && want_why)
		cr_expect_str_eq(why, want_why, "body \"%s\"", body);
}

Test(http_body, no_body_without_length_or_chunked)
{
	/* Bytes after a GET's head are another request: none is the body. */
	body_is("GET http://example.com/ HTTP/1.1\r\n\r\n", "", true);
	body_is("GET http://example.com/ HTTP/1.0\r\n\r\n", "", true);
	body_is("POST http://example.com/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "", true);
	bool done;
	const char *why;
	cr_expect_eq(body_take("GET http://example.com/ HTTP/1.1\r\n\r\n", "", 0, &done, &why), 0);
	cr_expect(done);
}

Test(http_body, content_length)
{
	body_is(post_len5, "hello", true);
	body_is(post_len5, "\r\n\r\nx", true);
	body_is("GET http://example.com/ HTTP/1.1\r\nContent-Length: 3\r\n\r\n", "abc", true);
	/* Not all there yet: all of it is body, and more is awaited. */
	bool done;
	const char *why;
	cr_expect_eq(body_take(post_len5, "hel", 3, &done, &why), 3);
	cr_expect_not(done);
	/* A chunked-looking body under Content-Length is just bytes. */
	body_is("POST http://example.com/ HTTP/1.1\r\nContent-Length: 10\r\n\r\n", "0\r\n\r\nGET /", true);
}

Test(http_body, chunked)
{
	struct http_head h = head_ok(post_chunked);
	cr_expect(h.chunked);
	http_head_free(&h);
	h = head_ok(post_len5);
	cr_expect_not(h.chunked);
	http_head_free(&h);

	body_is(post_chunked, "0\r\n\r\n", true);
	body_is(post_chunked, "5\r\nhello\r\n0\r\n\r\n", true);
	body_is(post_chunked, "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n", true);
	body_is(post_chunked, "A\r\n0123456789\r\na\r\n0123456789\r\n000\r\n\r\n", true);
	body_is(post_chunked, "00000005\r\nhello\r\n0\r\n\r\n", true);
	/* Chunk data is opaque: CRLFs and a request inside it are data. */
	body_is(post_chunked, "6\r\n0\r\n\r\nG\r\n0\r\n\r\n", true);
	/* Incomplete: everything so far is body. */
	bool done;
	const char *why;
	cr_expect_eq(body_take(post_chunked, "5\r\nhel", 6, &done, &why), 6);
	cr_expect_not(done);
	cr_expect_eq(body_take(post_chunked, "7fffffff\r\n", 10, &done, &why), 10);
	cr_expect_not(done);
	cr_expect_eq(body_take(post_chunked, "0\r\n\r", 4, &done, &why), 4);
	cr_expect_not(done);
}

Test(http_body, chunked_framing_is_strict)
{
	body_refused(post_chunked, "5;ext=1\r\nhello\r\n0\r\n\r\n", "chunk extensions are refused");
	body_refused(post_chunked, "0;ext\r\n\r\n", "chunk extensions are refused");
	body_refused(post_chunked, "5 \r\nhello\r\n0\r\n\r\n", "malformed chunk size");
	body_refused(post_chunked, " 5\r\nhello\r\n0\r\n\r\n", "malformed chunk size");
	body_refused(post_chunked, "\r\n", "malformed chunk size");
	body_refused(post_chunked, "5\nhello\r\n0\r\n\r\n", "malformed chunk size");
	body_refused(post_chunked, "5\r\rhello", "malformed chunk size");
	body_refused(post_chunked, "-1\r\n", "malformed chunk size");
	body_refused(post_chunked, "+5\r\n", "malformed chunk size");
	body_refused(post_chunked, "0x5\r\n", "malformed chunk size");
	body_refused(post_chunked, "g\r\n", "malformed chunk size");
	/* Sizes every parser reads alike: no 64-bit (or 32-bit) overflow. */
	body_refused(post_chunked, "000000005\r\n", "chunk size too long");
	body_refused(post_chunked, "10000000000000005\r\nhello\r\n0\r\n\r\n", "chunk size too long");
	body_refused(post_chunked, "80000000\r\n", "chunk size too large");
	body_refused(post_chunked, "ffffffff\r\n", "chunk size too large");
	/* Data longer than its size, or not followed by CRLF. */
	body_refused(post_chunked, "5\r\nhello!\r\n0\r\n\r\n", "chunk data longer than its size");
	body_refused(post_chunked, "5\r\nhello\n0\r\n\r\n", "chunk data longer than its size");
	body_refused(post_chunked, "5\r\nhello\r\r", "chunk data longer than its size");
	/* No trailer fields, and the end is CRLF exactly. */
	body_refused(post_chunked, "0\r\nX-Trailer: 1\r\n\r\n", "trailer fields in a request are refused");
	body_refused(post_chunked, "0\r\nContent-Length: 5\r\n\r\n", "trailer fields in a request are refused");
	body_refused(post_chunked, "0\r\n\n", "trailer fields in a request are refused");
	body_refused(post_chunked, "0\r\n\rX", "malformed end of chunked body");
}

/* ---- SOCKS5 ---- */

static int greeting(const void *s, size_t n, size_t *consumed, bool *no_auth)
{
	unsigned char *p = (unsigned char *)exact(s, n);
	int r = socks5_parse_greeting(p, n, consumed, no_auth);
	free(p);
	return r;
}

Test(socks5, greeting)
{
	size_t c;
	bool na;
	static const unsigned char g1[] = {5, 1, 0};
	cr_expect_eq(greeting(g1, 0, &c, &na), 0);
	cr_expect_eq(greeting(g1, 1, &c, &na), 0);
	cr_expect_eq(greeting(g1, 2, &c, &na), 0);
	cr_expect_eq(greeting(g1, 3, &c, &na), 1);
	cr_expect_eq(c, 3);
	cr_expect(na);

	/* More bytes after the greeting are not consumed. */
	static const unsigned char g2[] = {5, 3, 2, 1, 0, 5, 1, 0};
	for (size_t i = 0; i < 5; i++)
		cr_expect_eq(greeting(g2, i, &c, &na), 0, "prefix %zu", i);
	cr_expect_eq(greeting(g2, sizeof(g2), &c, &na), 1);
	cr_expect_eq(c, 5);
	cr_expect(na);

	static const unsigned char g3[] = {5, 2, 1, 2};
	cr_expect_eq(greeting(g3, sizeof(g3), &c, &na), 1);
	cr_expect_eq(c, 4);
	cr_expect_not(na, "no-auth not offered");

	static const unsigned char all[257] = {5, 255};
	cr_expect_eq(greeting(all, 256, &c, &na), 0);
	cr_expect_eq(greeting(all, 257, &c, &na), 1);
	cr_expect_eq(c, 257);
	cr_expect(na);
}

Test(socks5, greeting_not_socks5)
{
	size_t c;
	bool na;
	static const unsigned char s4[] = {4, 1, 0, 80, 127, 0, 0, 1, 0};
	cr_expect_eq(greeting(s4, sizeof(s4), &c, &na), -1);
	cr_expect_eq(greeting(s4, 1, &c, &na), -1);
	cr_expect_eq(greeting("GET / HTTP/1.1\r\n", 16, &c, &na), -1);
	/* RFC 1928: NMETHODS is 1 to 255; zero is not a SOCKS5 greeting. */
	static const unsigned char zero[] = {5, 0};
	cr_expect_eq(greeting(zero, 2, &c, &na), -1);
}

static int request(const void *s, size_t n, size_t *consumed, struct egress_target *t, int *reply, const char **why)
{
	unsigned char *p = (unsigned char *)exact(s, n);
	*reply = -1;
	*why = NULL;
	int r = socks5_parse_request(p, n, consumed, t, reply, why);
	free(p);
	return r;
}

/* Every strict prefix needs more; the whole (with trailing bytes after
 * it) is complete and consumes exactly n bytes. */
static struct egress_target request_ok(const unsigned char *s, size_t n)
{
	size_t c;
	struct egress_target t;
	int reply;
	const char *why;
	for (size_t i = 0; i < n; i++) {
		int r = request(s, i, &c, &t, &reply, &why);
		cr_assert_eq(r, 0, "prefix of %zu of %zu bytes: %d (reply %d, %s)", i, n, r, reply, why ? why : "");
	}
	unsigned char *more = malloc(n + 3);
	cr_assert_not_null(more);
	memcpy(more, s, n);
	memcpy(more + n, "xyz", 3);
	int r = request(more, n + 3, &c, &t, &reply, &why);
	free(more);
	cr_assert_eq(r, 1, "request refused: reply %d, %s", reply, why ? why : "");
	cr_expect_eq(c, n);
	memset(&t, 0, sizeof(t));
	r = request(s, n, &c, &t, &reply, &why);
	cr_assert_eq(r, 1);
	cr_expect_eq(c, n);
	return t;
}

static void request_refused(const unsigned char *s, size_t n, int want_reply)
{
	size_t c;
	struct egress_target t;
	int reply;
	const char *why;
	int r = request(s, n, &c, &t, &reply, &why);
	cr_expect_eq(r, -1, "request accepted (%d)", r);
	if (r == -1) {
		cr_expect_eq(reply, want_reply, "reply %d (%s), want %d", reply, why ? why : "", want_reply);
		cr_expect_not_null(why);
	}
}

Test(socks5, request_ipv4)
{
	static const unsigned char q[] = {5, 1, 0, 1, 93, 184, 216, 34, 0x01, 0xbb};
	struct egress_target t = request_ok(q, sizeof(q));
	cr_expect(t.is_ip);
	cr_expect_eq(t.family, AF_INET);
	cr_expect_str_eq(t.host, "93.184.216.34");
	cr_expect_eq(t.port, 443);
	cr_expect_eq(memcmp(t.addr, q + 4, 4), 0);
}

Test(socks5, request_domain)
{
	static const unsigned char q[] = {5, 1, 0, 3, 10, 'G', 'i', 't', 'H', 'u', 'b', '.', 'c', 'o', 'm', 0, 80};
	struct egress_target t = request_ok(q, sizeof(q));
	cr_expect_not(t.is_ip);
	cr_expect_str_eq(t.host, "github.com");
	cr_expect_eq(t.port, 80);

	/* A literal sent as a name is recognised as one. */
	static const unsigned char lit[] = {5, 1, 0, 3, 9, '1', '2', '7', '.', '0', '.', '0', '.', '1', 0, 80};
	t = request_ok(lit, sizeof(lit));
	cr_expect(t.is_ip);
	cr_expect_eq(t.family, AF_INET);
}

Test(socks5, request_ipv6)
{
	static const unsigned char q[] = {5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0,    0,
	                                  0, 0, 0, 0, 0,    0,    0,    0,    1, 0x20, 0xfb};
	struct egress_target t = request_ok(q, sizeof(q));
	cr_expect(t.is_ip);
	cr_expect_eq(t.family, AF_INET6);
	cr_expect_str_eq(t.host, "2001:db8::1");
	cr_expect_eq(t.port, 8443);
	cr_expect_eq(memcmp(t.addr, q + 4, 16), 0);
}

Test(socks5, invalid_domains)
{
	static const unsigned char nul[] = {5,   1,   0,   3,   17,  'e', 'v', 'i', 'l', 0,   '.', 'a',
	                                    'l', 'l', 'o', 'w', 'e', 'd', '.', 'c', 'o', 'm', 1,   0xbb};
	request_refused(nul, sizeof(nul), 1);
	static const unsigned char empty[] = {5, 1, 0, 3, 0, 1, 0xbb};
	request_refused(empty, sizeof(empty), 1);
	static const unsigned char octal[] = {5, 1, 0, 3, 10, '0', '1', '7', '7', '.', '0', '.', '0', '.', '1', 0, 80};
	request_refused(octal, sizeof(octal), 1);
	static const unsigned char hex[] = {5, 1, 0, 3, 10, '0', 'x', '7', 'f', '0', '0', '0', '0', '0', '1', 0, 80};
	request_refused(hex, sizeof(hex), 1);
	static const unsigned char under[] = {5, 1, 0, 3, 5, 'a', '_', 'b', '.', 'c', 0, 80};
	request_refused(under, sizeof(under), 1);
	static const unsigned char dot[] = {5, 1, 0, 3, 4, 'a', '.', 'b', '.', 0, 80};
	request_refused(dot, sizeof(dot), 1);
	static const unsigned char zone[] = {5, 1, 0, 3, 10, 'f', 'e', '8', '0', ':', ':', '1', '%', 'e', '0', 0, 80};
	request_refused(zone, sizeof(zone), 1);

	unsigned char longname[5 + 255 + 2];
	longname[0] = 5;
	longname[1] = 1;
	longname[2] = 0;
	longname[3] = 3;
	longname[4] = 255;
	for (int i = 0; i < 255; i++)
		longname[5 + i] = (i % 50 == 49) ? '.' : 'a';
	longname[5 + 255] = 0;
	longname[5 + 256] = 80;
	request_refused(longname, sizeof(longname), 1);
}

Test(socks5, unsupported_commands)
{
	static const unsigned char bind[] = {5, 2, 0, 1, 0, 0, 0, 0, 0, 0};
	request_refused(bind, sizeof(bind), 7);
	static const unsigned char udp[] = {5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
	request_refused(udp, sizeof(udp), 7);
	static const unsigned char other[] = {5, 9, 0, 1, 1, 2, 3, 4, 0, 80};
	request_refused(other, sizeof(other), 7);
	static const unsigned char zero[] = {5, 0, 0, 1, 1, 2, 3, 4, 0, 80};
	request_refused(zero, sizeof(zero), 7);
}

Test(socks5, bad_address_type)
{
	static const unsigned char q0[] = {5, 1, 0, 0, 1, 2, 3, 4, 0, 80};
	request_refused(q0, sizeof(q0), 8);
	static const unsigned char q2[] = {5, 1, 0, 2, 1, 2, 3, 4, 0, 80};
	request_refused(q2, sizeof(q2), 8);
	static const unsigned char q5[] = {5, 1, 0, 5, 1, 2, 3, 4, 0, 80};
	request_refused(q5, sizeof(q5), 8);
	static const unsigned char qff[] = {5, 1, 0, 0xff};
	request_refused(qff, sizeof(qff), 8);
}

Test(socks5, bad_version_reserved_and_port)
{
	static const unsigned char v4[] = {4, 1, 0, 1, 1, 2, 3, 4, 0, 80};
	request_refused(v4, sizeof(v4), 1);
	request_refused(v4, 1, 1);
	static const unsigned char rsv[] = {5, 1, 1, 1, 1, 2, 3, 4, 0, 80};
	request_refused(rsv, sizeof(rsv), 1);
	static const unsigned char port0[] = {5, 1, 0, 1, 1, 2, 3, 4, 0, 0};
	request_refused(port0, sizeof(port0), 1);
}

Test(socks5, prefixes_of_refused_requests_never_complete)
{
	/* Before the deciding byte arrives the answer is "more"; after it,
	 * a refusal; never a completed request. */
	static const unsigned char bind[] = {5, 2, 0, 1, 0, 0, 0, 0, 0, 0};
	for (size_t i = 0; i <= sizeof(bind); i++) {
		size_t c;
		struct egress_target t;
		int reply;
		const char *why;
		int r = request(bind, i, &c, &t, &reply, &why);
		cr_expect_eq(r, i < 2 ? 0 : -1, "prefix %zu: %d", i, r);
	}
}

/* ---- egress_addr_allowed: the addresses a request may reach ---- */

static struct sockaddr_storage SS;

static const struct sockaddr *addr_of(const char *text)
{
	memset(&SS, 0, sizeof(SS));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&SS;
		s6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1, "%s", text);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&SS;
		s4->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1, "%s", text);
	}
	return (const struct sockaddr *)&SS;
}

/* The proxy's check of addr for a request to host:port; want_kind is
 * EGRESS_OK when it may connect. */
static void expect_addr(const struct net_plan *p, const char *host, unsigned short port, const char *addr,
                        enum egress_refusal want_kind)
{
	struct egress_target t = target(host, port);
	struct egress_verdict v;
	bool ok = egress_addr_allowed(p, &t, addr_of(addr), &v);
	cr_expect_eq(v.kind, want_kind, "%s:%u at %s: kind %d (%s), want %d", host, port, addr, v.kind, v.reason,
	             want_kind);
	cr_expect_eq(ok, want_kind == EGRESS_OK, "%s:%u at %s", host, port, addr);
}

Test(allowed, address_allow_is_a_grant_private_or_not)
{
	const struct net_plan *p = net_policy("allow = 127.0.0.1:11434\nallow = 10.0.0.0/8:443\nallow = [fd00::]/8\n");
	expect_decision(p, "127.0.0.1", 11434, true, ALLOWED);
	expect_addr(p, "127.0.0.1", 11434, "127.0.0.1", EGRESS_OK);
	expect_decision(p, "127.0.0.1", 11435, false, IP_LIT);
	expect_decision(p, "10.200.3.4", 443, true, ALLOWED);
	expect_addr(p, "10.200.3.4", 443, "10.200.3.4", EGRESS_OK);
	expect_decision(p, "10.200.3.4", 80, false, IP_LIT);
	expect_decision(p, "11.0.0.1", 443, false, IP_LIT);
	expect_decision(p, "9.255.255.255", 443, false, IP_LIT);
	expect_decision(p, "fd12::1", 22, true, ALLOWED);
	expect_addr(p, "fd12::1", 22, "fd12::1", EGRESS_OK);
	expect_decision(p, "fe00::1", 22, false, IP_LIT);
	/* A range's grant covers names that resolve into it too, on its
	 * port; other private addresses stay refused. */
	p = net_policy("allow = mirror.corp\nallow = 10.1.0.0/16:443\n");
	expect_addr(p, "mirror.corp", 443, "10.1.2.3", EGRESS_OK);
	expect_addr(p, "mirror.corp", 80, "10.1.2.3", EGRESS_PRIVATE);
	expect_addr(p, "mirror.corp", 443, "10.2.2.3", EGRESS_PRIVATE);
	expect_addr(p, "mirror.corp", 443, "93.184.216.34", EGRESS_OK);
}

Test(allowed, prefix_boundaries)
{
	const struct net_plan *p =
	    net_policy("allow = 172.16.0.0/12\nallow = 192.168.1.128/25\nallow = [2001:db8::]/33\n");
	expect_decision(p, "172.16.0.0", 1, true, ALLOWED);
	expect_decision(p, "172.31.255.255", 1, true, ALLOWED);
	expect_decision(p, "172.32.0.0", 1, false, IP_LIT);
	expect_decision(p, "172.15.255.255", 1, false, IP_LIT);
	expect_decision(p, "192.168.1.128", 1, true, ALLOWED);
	expect_decision(p, "192.168.1.255", 1, true, ALLOWED);
	expect_decision(p, "192.168.1.127", 1, false, IP_LIT);
	expect_decision(p, "2001:db8:7fff::1", 1, true, ALLOWED);
	expect_decision(p, "2001:db8:8000::1", 1, false, IP_LIT);
	p = net_policy("allow = 0.0.0.0/0:443\n");
	expect_decision(p, "1.2.3.4", 443, true, ALLOWED);
	expect_decision(p, "::1", 443, false, IP_LIT);
}

Test(allowed, metadata_only_to_a_rule_naming_it_exactly)
{
	const struct net_plan *p = net_policy("allow = 169.254.0.0/16\nallow = [fd00::]/8\nallow = 100.64.0.0/10\n");
	expect_decision(p, "169.254.169.254", 80, true, ALLOWED);
	expect_addr(p, "169.254.169.254", 80, "169.254.169.254", EGRESS_METADATA);
	expect_addr(p, "fd00:ec2::254", 80, "fd00:ec2::254", EGRESS_METADATA);
	expect_addr(p, "100.100.100.200", 80, "100.100.100.200", EGRESS_METADATA);
	/* The rest of the range is granted. */
	expect_addr(p, "169.254.1.2", 80, "169.254.1.2", EGRESS_OK);
	expect_addr(p, "fd00:ec2::253", 80, "fd00:ec2::253", EGRESS_OK);

	p = net_policy("allow = 169.254.169.254:80\nallow = [fd00:ec2::254]\n");
	expect_addr(p, "169.254.169.254", 80, "169.254.169.254", EGRESS_OK);
	expect_addr(p, "169.254.169.254", 8080, "169.254.169.254", EGRESS_METADATA);
	expect_addr(p, "fd00:ec2::254", 80, "fd00:ec2::254", EGRESS_OK);

	/* allow_private never opens metadata or link-local; nor for names. */
	p = net_policy("allow = metadata.google.internal\nallow = [::ffff:169.254.0.0]/112\nallow_private = true\n");
	expect_addr(p, "metadata.google.internal", 80, "169.254.169.254", EGRESS_METADATA);
	expect_addr(p, "metadata.google.internal", 80, "169.254.1.1", EGRESS_LINK_LOCAL);
	expect_addr(p, "metadata.google.internal", 80, "fe80::1", EGRESS_LINK_LOCAL);
	expect_addr(p, "metadata.google.internal", 80, "::ffff:169.254.169.254", EGRESS_METADATA);
	expect_addr(p, "metadata.google.internal", 80, "64:ff9b::a9fe:a9fe", EGRESS_METADATA);
	expect_addr(p, "metadata.google.internal", 80, "2002:a9fe:a9fe::1", EGRESS_METADATA);
	expect_addr(p, "metadata.google.internal", 80, "10.0.0.1", EGRESS_OK);
	expect_addr(p, "metadata.google.internal", 80, "fd00:ec2::254", EGRESS_METADATA);
}

Test(allowed, allow_private_ranges_for_names)
{
	const struct net_plan *p = net_policy("allow = *.corp\nallow_private = 10.0.0.0/8\nallow_private = fd00::/8\n");
	expect_addr(p, "a.corp", 443, "10.1.2.3", EGRESS_OK);
	expect_addr(p, "a.corp", 443, "fd00::1", EGRESS_OK);
	expect_addr(p, "a.corp", 443, "11.1.2.3", EGRESS_OK); /* public */
	expect_addr(p, "a.corp", 443, "192.168.1.1", EGRESS_PRIVATE);
	expect_addr(p, "a.corp", 443, "127.0.0.1", EGRESS_PRIVATE);
	expect_addr(p, "a.corp", 443, "fe80::1", EGRESS_LINK_LOCAL);
	expect_addr(p, "a.corp", 443, "::ffff:10.1.2.3", EGRESS_PRIVATE);
	/* A range around link-local does not open it either. */
	p = net_policy("allow = a.corp\nallow_private = 169.254.0.0/16\n");
	expect_addr(p, "a.corp", 443, "169.254.3.3", EGRESS_LINK_LOCAL);
}

Test(allowed, deny_ranges_refuse_resolved_addresses)
{
	const struct net_plan *p = net_policy("allow = *.corp\nallow_private = true\ndeny = 10.9.0.0/16\n");
	expect_addr(p, "a.corp", 443, "10.8.0.1", EGRESS_OK);
	expect_addr(p, "a.corp", 443, "10.9.0.1", EGRESS_DENY_RULE);
	p = net_policy("allow = 10.0.0.0/8\ndeny = 10.9.0.0/16:22\n");
	expect_decision(p, "10.9.0.1", 22, false, DENIED);
	expect_decision(p, "10.9.0.1", 443, true, ALLOWED);
}

static char *refusal(const struct net_plan *p, const char *host, unsigned short port, const char *addr)
{
	struct egress_target t = target(host, port);
	struct egress_verdict v;
	if (!addr)
		cr_assert_not(egress_decide(p, &t, &v));
	else
		cr_assert_not(egress_addr_allowed(p, &t, addr_of(addr), &v));
	buf_t b = {0};
	egress_refusal_text(&b, p, &t, &v);
	return b.p;
}

Test(allowed, refusals_name_the_line_that_would_allow)
{
	const struct net_plan *p = net_policy("allow = a.corp\nallow = 169.254.0.0/16\ndeny = gist.github.com\n");
	cleanup_free char *a = refusal(p, "registry.example.org", 443, NULL);
	cr_expect_str_eq(a, "not in the allow list of policy 'test'; add: allow = registry.example.org:443");
	cleanup_free char *b = refusal(p, "::1", 8080, NULL);
	cr_expect_str_eq(b, "not in the allow list of policy 'test'; add: allow = [::1]:8080");
	cleanup_free char *c = refusal(p, "gist.github.com", 443, NULL);
	cr_expect_str_eq(c, "denied by deny = gist.github.com (line 5) of policy 'test'");
	cleanup_free char *d = refusal(p, "a.corp", 443, "10.1.2.3");
	cr_expect_str_eq(d, "resolves to 10.1.2.3 in 10.0.0.0/8 (RFC 1918, private), which policy 'test' does not "
	                    "allow; add: allow_private = 10.0.0.0/8");
	cleanup_free char *e = refusal(p, "a.corp", 443, "fd12::1");
	cr_expect_str_eq(e, "resolves to fd12::1 in fc00::/7 (ULA, private), which policy 'test' does not allow; "
	                    "add: allow_private = fc00::/7");
	cleanup_free char *f = refusal(p, "169.254.169.254", 80, "169.254.169.254");
	cr_expect_str_eq(f, "169.254.169.254 (cloud metadata address), which policy 'test' opens only to an allow "
	                    "rule naming exactly that address; add: allow = 169.254.169.254:80");
	cleanup_free char *g = refusal(p, "a.corp", 80, "fe80::1");
	cr_expect_str_eq(g, "resolves to fe80::1 (link-local), which policy 'test' opens only to an allow rule "
	                    "naming the address; add: allow = [fe80::1]:80");
	cleanup_free char *h = refusal(p, "a.corp", 80, "::ffff:10.1.2.3");
	cr_expect(strstr(h, "add: allow_private = ::ffff:10.1.2.3/128"), "%s", h);
}

Test(allowed, suggested_allow_private_range_allows_it)
{
	/* What a refusal says to add does allow the address. */
	static const char *const addrs[] = {"10.1.2.3",   "172.20.1.1", "192.168.9.9",  "127.0.0.5",
	                                    "100.64.1.1", "192.0.2.7",  "198.51.100.1", "203.0.113.9",
	                                    "198.19.1.1", "fd12::1",    "2001:db8::5",  "::ffff:10.1.2.3"};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		const struct net_plan *p = net_policy("allow = a.corp\n");
		cleanup_free char *r = refusal(p, "a.corp", 443, addrs[i]);
		const char *add = strstr(r, "add: allow_private = ");
		cr_assert_not_null(add, "%s: %s", addrs[i], r);
		cleanup_free char *lines = xasprintf("allow = a.corp\nallow_private = %s\n", add + 21);
		p = net_policy(lines);
		expect_addr(p, "a.corp", 443, addrs[i], EGRESS_OK);
	}
}
