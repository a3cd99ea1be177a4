/* Unit tests for the network part of the plan (policy/netplan.c): the
 * grammar of allow and deny, the net plan built from a policy, and that
 * what explain prints of it is what egress_allowed enforces. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "egress.h"
#include "netplan.h"
#include "policy.h"
#include "util.h"

/* ---- net_rule_parse: the values of allow and deny ---- */

static void host_ok(const char *s, const char *host, int port, bool wildcard, bool ip)
{
	struct net_rule r;
	const char *why = NULL;
	bool ok = net_rule_parse(s, &r, &why);
	cr_assert(ok, "net_rule_parse(\"%s\") rejected: %s", s, why ? why : "?");
	bool same = strcmp(r.host, host) == 0 && r.port == port && r.wildcard == wildcard && (r.family != 0) == ip;
	cr_expect(same, "net_rule_parse(\"%s\") = {host \"%s\", port %u, wildcard %d, family %d}", s, r.host, r.port,
	          r.wildcard, r.family);
}

static void host_bad(const char *s)
{
	struct net_rule r;
	const char *why = NULL;
	bool ok = net_rule_parse(s, &r, &why);
	if (ok) {
		cr_expect_fail("net_rule_parse(\"%s\") accepted as host \"%s\"", s, r.host);
		return;
	}
	cr_expect_not_null(why, "no reason given for \"%s\"", s);
}

Test(rule, plain_host)
{
	host_ok("example.com", "example.com", 0, false, false);
}

Test(rule, host_and_port)
{
	host_ok("github.com:443", "github.com", 443, false, false);
	host_ok("a.example.com:1", "a.example.com", 1, false, false);
	host_ok("a.example.com:65535", "a.example.com", 65535, false, false);
}

Test(rule, single_label_host)
{
	host_ok("localhost", "localhost", 0, false, false);
}

Test(rule, subdomain_wildcard)
{
	host_ok("*.example.org", "example.org", 0, true, false);
	host_ok("*.example.org:8443", "example.org", 8443, true, false);
}

Test(rule, ipv4_literal)
{
	host_ok("127.0.0.1", "127.0.0.1", 0, false, true);
	host_ok("10.1.2.3:8080", "10.1.2.3", 8080, false, true);
	host_ok("255.255.255.255", "255.255.255.255", 0, false, true);
}

Test(rule, bracketed_ipv6_with_port)
{
	host_ok("[2001:db8::1]:443", "2001:db8::1", 443, false, true);
	host_ok("[::1]", "::1", 0, false, true);
}

Test(rule, ipv6_is_canonicalised)
{
	host_ok("[2001:DB8:0:0::1]", "2001:db8::1", 0, false, true);
}

Test(rule, upper_case_is_lowered)
{
	host_ok("GitHub.COM", "github.com", 0, false, false);
	host_ok("*.Example.ORG:443", "example.org", 443, true, false);
}

Test(rule, hyphens_inside_labels)
{
	host_ok("my-host.example-1.org", "my-host.example-1.org", 0, false, false);
}

Test(rule, rejects_empty)
{
	host_bad("");
	host_bad(":443");
}

Test(rule, rejects_trailing_dot)
{
	host_bad("example.com.");
	host_bad("example.com.:443");
}

Test(rule, rejects_odd_characters)
{
	host_bad("evil_.com");
	host_bad("a b");
	host_bad("ex%61mple.com");
	host_bad("exa/mple.com");
	host_bad("user@example.com");
	host_bad("example.com\t");
}

Test(rule, rejects_octal_ipv4)
{
	host_bad("0177.0.0.1");
	host_bad("127.0.0.01");
}

Test(rule, rejects_hex_ipv4_digits_only)
{
	host_bad("0x10.0.0.1");
}

/* glibc's inet_aton (and so getaddrinfo) reads these as 127.0.0.1 and
 * 10.0.0.1; values.c:160 says such forms are refused. */
Test(rule, rejects_hex_ipv4_with_letters)
{
	host_bad("0x7f.0.0.1");
	host_bad("0xa.0.0.1");
}

Test(rule, rejects_single_hex_number)
{
	host_bad("0x7f000001");
}

Test(rule, rejects_decimal_ipv4)
{
	host_bad("2130706433");
}

Test(rule, rejects_short_ipv4)
{
	host_bad("127.1");
	host_bad("127.0.1");
}

Test(rule, rejects_long_or_out_of_range_ipv4)
{
	host_bad("1.2.3.4.5");
	host_bad("256.0.0.1");
	host_bad("1.2.3.1000");
}

Test(rule, rejects_wildcard_on_ip)
{
	host_bad("*.127.0.0.1");
}

Test(rule, rejects_bad_wildcards)
{
	host_bad("*");
	host_bad("*.");
	host_bad("*.*.example.org");
	host_bad("a.*.example.org");
	host_bad("*example.org");
}

Test(rule, rejects_port_out_of_range)
{
	host_bad("example.com:0");
	host_bad("example.com:65536");
	host_bad("[::1]:0");
	host_bad("[::1]:65536");
}

Test(rule, rejects_malformed_port)
{
	host_bad("example.com:");
	host_bad("example.com:http");
	host_bad("example.com:-1");
	host_bad("example.com:44 3");
}

Test(rule, rejects_unbracketed_ipv6)
{
	host_bad("2001:db8::1");
	host_bad("::1");
}

Test(rule, rejects_scoped_ipv6)
{
	host_bad("[fe80::1%eth0]");
	host_bad("[fe80::1%eth0]:443");
}

Test(rule, rejects_malformed_brackets)
{
	host_bad("[::1");
	host_bad("[::1]x");
	host_bad("[::1]:");
	host_bad("[]");
	host_bad("[example.com]");
}

Test(rule, rejects_empty_labels)
{
	host_bad("a..b");
	host_bad(".example.com");
}

Test(rule, rejects_label_longer_than_63)
{
	char label[64 + 5];
	memset(label, 'a', 64);
	strcpy(label + 64, ".com");
	host_bad(label);
	/* 63 is the limit and is fine */
	char ok[63 + 5];
	memset(ok, 'a', 63);
	strcpy(ok + 63, ".com");
	host_ok(ok, ok, 0, false, false);
}

Test(rule, rejects_name_longer_than_253)
{
	char name[300] = "";
	while (strlen(name) < 254)
		strcat(name, "abcdefghi.");
	strcat(name, "com");
	host_bad(name);
}

Test(rule, rejects_hyphen_at_label_edge)
{
	host_bad("-example.com");
	host_bad("example-.com");
	host_bad("a.-b.com");
	host_bad("a.b-.com");
}

/* ---- binary addresses ---- */

Test(rule, ip_literals_are_binary_with_a_full_prefix)
{
	struct net_rule r;
	const char *why = NULL;
	unsigned char want4[4] = {10, 1, 2, 3};
	cr_assert(net_rule_parse("10.1.2.3:8080", &r, &why));
	cr_expect_eq(r.family, AF_INET);
	cr_expect_eq(r.prefix_len, 32);
	cr_expect_eq(memcmp(r.addr, want4, 4), 0);

	struct in6_addr want6;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", &want6), 1);
	cr_assert(net_rule_parse("[2001:DB8:0::1]", &r, &why));
	cr_expect_eq(r.family, AF_INET6);
	cr_expect_eq(r.prefix_len, 128);
	cr_expect_eq(memcmp(r.addr, &want6, 16), 0);

	cr_assert(net_rule_parse("*.example.org", &r, &why));
	cr_expect_eq(r.family, 0);
}

/* in parses (with parse) to a rule that net_rule_text writes as want. */
static void reads_back(bool (*parse)(const char *, struct net_rule *, const char **), const char *in, const char *want)
{
	struct net_rule r;
	const char *why = NULL;
	cr_assert(parse(in, &r, &why), "%s: %s", in, why);
	buf_t b = {0};
	net_rule_text(&b, &r);
	cr_expect_str_eq(b.p, want);
	buf_free(&b);
}

Test(rule, text_reads_back_as_written_canonically)
{
	static const char *const cases[][2] = {
	    {"example.com", "example.com"},
	    {"GitHub.COM:443", "github.com:443"},
	    {"*.Example.org:8443", "*.example.org:8443"},
	    {"127.0.0.1", "127.0.0.1"},
	    {"[2001:DB8:0:0::1]:443", "[2001:db8::1]:443"},
	    {"[::1]", "[::1]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		reads_back(net_rule_parse, cases[i][0], cases[i][1]);
}

/* ---- the net plan ---- */

static struct policy *P;
static struct net_plan NP;
static struct diags D;

static void teardown(void)
{
	netplan_clear(&NP);
	policy_free(P);
	P = NULL;
	diags_free(&D);
}

TestSuite(netplan, .fini = teardown);

static const struct net_plan *plan_of(const char *file, const char *text)
{
	P = policy_parse(file, text, strlen(text), &D);
	cr_assert_not_null(P);
	if (D.n)
		diags_print(&D, STDERR_FILENO);
	cr_assert_eq(D.n, 0, "policy has diagnostics");
	cr_assert(netplan_build(&NP, P, "/home/alice", &D));
	return &NP;
}

Test(netplan, proxy_policy_is_parsed_once_with_lines)
{
	const struct net_plan *np =
	    plan_of("/etc/cordon/policies/dev.ini",
	            "[network]\nmode = proxy\nallow = a.example.com\nallow = *.Example.org:443\n"
	            "allow = [::1]:8080\ndeny = 10.0.0.1\n"
	            "allow_private = yes\nmax_request_bytes = 1M\nmax_response_bytes = 2M\n"
	            "connect_timeout = 3s\nidle_timeout = 2m\n[audit]\nlog = ~//audit.jsonl\n");
	cr_expect_eq(np->mode, NET_PROXY);
	cr_expect_eq(np->port, PROXY_PORT);
	cr_expect_null(np->socket);
	cr_assert_eq(np->n_allow, 3);
	cr_expect_str_eq(np->allow[0].host, "a.example.com");
	cr_expect_eq(np->allow[0].line, 3);
	cr_expect_str_eq(np->allow[1].host, "example.org");
	cr_expect(np->allow[1].wildcard);
	cr_expect_eq(np->allow[1].port, 443);
	cr_expect_eq(np->allow[1].line, 4);
	cr_expect_str_eq(np->allow[2].host, "::1");
	cr_expect_eq(np->allow[2].family, AF_INET6);
	cr_expect_eq(np->allow[2].port, 8080);
	cr_assert_eq(np->n_deny, 1);
	cr_expect_eq(np->deny[0].family, AF_INET);
	cr_expect_eq(np->deny[0].line, 6);
	cr_expect(np->allow_private);
	cr_expect_eq(np->max_request_bytes, 1ULL << 20);
	cr_expect_eq(np->max_response_bytes, 2ULL << 20);
	cr_expect_eq(np->connect_timeout_ms, 3000);
	cr_expect_eq(np->idle_timeout_ms, 120000);
	cr_expect_str_eq(np->policy_name, "dev");
	cr_expect_str_eq(np->audit_log, "/home/alice/audit.jsonl");
}

/* With socket =, the shared proxy's own policy applies: the plan names
 * the socket, ~ expanded, and has no rules of its own. */
Test(netplan, shared_proxy_socket_is_expanded)
{
	const struct net_plan *np = plan_of("p.ini", "[network]\nmode = proxy\nsocket = ~/run/proxy.sock\n");
	cr_expect_eq(np->mode, NET_PROXY);
	cr_expect_str_eq(np->socket, "/home/alice/run/proxy.sock");
	cr_expect_eq(np->n_allow, 0);
	cr_expect_eq(np->n_deny, 0);
}

Test(netplan, defaults_and_other_modes)
{
	const struct net_plan *np = plan_of("p.ini", "[sandbox]\nname = quiet\n");
	cr_expect_eq(np->mode, NET_NONE);
	cr_expect_eq(np->port, 0);
	cr_expect_null(np->socket);
	cr_expect_eq(np->n_allow, 0);
	cr_expect_not(np->allow_private);
	cr_expect_eq(np->connect_timeout_ms, 10000);
	cr_expect_eq(np->idle_timeout_ms, 300000);
	cr_expect_str_eq(np->policy_name, "quiet");
	cr_expect_null(np->audit_log);
}

Test(netplan, built_in_proxy_has_no_socket)
{
	const struct net_plan *np = plan_of("x/ci.ini", "[network]\nmode = proxy\nallow = github.com\n");
	cr_expect_eq(np->port, PROXY_PORT);
	cr_expect_null(np->socket);
	cr_expect_str_eq(np->policy_name, "ci");
}

/* What explain prints of each rule (net_rule_text, the same function
 * explain's text and JSON use) is what egress_allowed decides: a request
 * for exactly the printed host and port is allowed by each allow rule
 * and denied by each deny rule; the same host on another port is not
 * allowed by a rule with a port. */
static struct egress_target target_of(const struct net_rule *r, unsigned short port)
{
	buf_t b = {0};
	if (r->wildcard)
		buf_puts(&b, "x.");
	if (r->family == AF_INET6)
		buf_printf(&b, "[%s]:%u", r->host, port);
	else
		buf_printf(&b, "%s:%u", r->host, port);
	struct egress_target t;
	const char *why = NULL;
	cr_assert(egress_parse_authority(b.p, b.len, EGRESS_PORT_REQUIRED, &t, &why), "%s: %s", b.p, why);
	buf_free(&b);
	return t;
}

Test(netplan, printed_rules_are_the_enforced_rules)
{
	const struct net_plan *np =
	    plan_of("p.ini", "[network]\nmode = proxy\nallow = a.example.com\nallow = *.example.org:443\n"
	                     "allow = [2001:db8::1]:8080\nallow = 10.1.2.3\nallow = gist.github.com:22\n"
	                     "deny = bad.example.org\ndeny = gist.github.com\n");
	for (size_t i = 0; i < np->n_allow; i++) {
		const struct net_rule *r = &np->allow[i];
		unsigned short port = r->port ? r->port : 4242;
		struct egress_target t = target_of(r, port);
		const char *why = NULL;
		bool denied_too = false;
		for (size_t j = 0; j < np->n_deny; j++)
			denied_too |= strcmp(np->deny[j].host, t.host) == 0;
		cr_expect_eq(egress_allowed(np, &t, &why), !denied_too, "allow rule %zu (%s:%u): %s", i, t.host, port,
		             why);
		if (r->port) {
			t = target_of(r, (unsigned short)(r->port + 1));
			cr_expect_not(egress_allowed(np, &t, &why), "allow rule %zu on another port", i);
		}
	}
	for (size_t i = 0; i < np->n_deny; i++) {
		struct egress_target t = target_of(&np->deny[i], 443);
		const char *why = NULL;
		cr_expect_not(egress_allowed(np, &t, &why), "deny rule %zu (%s)", i, t.host);
		cr_expect_str_eq(why, "denied by deny pattern");
	}
}

/* ---- address ranges ---- */

Test(rule, ranges_parse_and_read_back)
{
	static const char *const cases[][2] = {
	    {"10.0.0.0/8", "10.0.0.0/8"},
	    {"10.0.0.0/8:443", "10.0.0.0/8:443"},
	    {"192.168.1.128/25", "192.168.1.128/25"},
	    {"10.1.2.3/32", "10.1.2.3"},
	    {"0.0.0.0/0", "0.0.0.0/0"},
	    {"[FD00::]/8", "[fd00::]/8"},
	    {"[fd00::]/8:443", "[fd00::]/8:443"},
	    {"[::1]/128", "[::1]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		reads_back(net_rule_parse, cases[i][0], cases[i][1]);
	struct net_rule r;
	const char *why = NULL;
	cr_assert(net_rule_parse("172.16.0.0/12:443", &r, &why));
	cr_expect_eq(r.prefix_len, 12);
	cr_expect_eq(r.port, 443);
	cr_expect_eq(r.family, AF_INET);
}

Test(rule, bad_ranges)
{
	host_bad("10.0.0.0/33");
	host_bad("[::]/129");
	host_bad("10.1.0.0/8"); /* bits past the prefix */
	host_bad("192.168.1.129/25");
	host_bad("[fd00::1]/8");
	host_bad("fd00::/8"); /* brackets in allow and deny */
	host_bad("example.com/8");
	host_bad("*.example.com/8");
	host_bad("10.0.0.0/");
	host_bad("10.0.0.0/08");
	host_bad("10.0.0.0/8/8");
	host_bad("10.0.0.0/8:");
	host_bad("10.0.0.0/8x");
	host_bad("[fd00::/8]");
	host_bad("/8");
}

Test(rule, allow_private_ranges)
{
	static const char *const ok[][2] = {
	    {"10.0.0.0/8", "10.0.0.0/8"}, {"fd00::/8", "[fd00::]/8"}, {"[fd00::]/8", "[fd00::]/8"},
	    {"10.1.2.3", "10.1.2.3"},     {"::1", "[::1]"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		reads_back(net_cidr_parse, ok[i][0], ok[i][1]);
	static const char *const bad[] = {"10.0.0.0/8:443", "example.com", "*.corp",
	                                  "[fd00::]/8:443", "10.1.0.0/8",  "maybe"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct net_rule r;
		const char *why = NULL;
		cr_expect_not(net_cidr_parse(bad[i], &r, &why), "%s accepted", bad[i]);
	}
}

Test(netplan, allow_private_ranges_notify_and_audit_stderr)
{
	const struct net_plan *np =
	    plan_of("p.ini", "[network]\nmode = proxy\nallow = a.corp\nallow_private = 10.0.0.0/8\n"
	                     "allow_private = fd00::/8\nnotify = off\n[audit]\nlog = stderr\n");
	cr_expect_not(np->allow_private);
	cr_assert_eq(np->n_private_ok, 2);
	cr_expect_eq(np->private_ok[0].prefix_len, 8);
	cr_expect_eq(np->private_ok[0].line, 4);
	cr_expect_eq(np->private_ok[1].family, AF_INET6);
	cr_expect_not(np->notify);
	cr_expect_str_eq(np->audit_log, AUDIT_STDERR);
	teardown();
	np = plan_of("p.ini", "[network]\nmode = proxy\nallow_private = false\n");
	cr_expect_not(np->allow_private);
	cr_expect_eq(np->n_private_ok, 0);
	cr_expect(np->notify, "notify = stderr is the default");
}

Test(netplan, allow_private_true_with_ranges_is_refused)
{
	const char *text = "[network]\nmode = proxy\nallow_private = true\nallow_private = 10.0.0.0/8\n";
	P = policy_parse("p.ini", text, strlen(text), &D);
	cr_assert_eq(D.n, 1);
	cr_expect_eq(D.v[0].line, 3);
	cr_expect(strstr(D.v[0].msg, "cannot be combined"), "%s", D.v[0].msg);
	diags_free(&D);
	policy_free(P);
	text = "[network]\nmode = proxy\nnotify = loud\n[audit]\nlog = relative/file\n";
	P = policy_parse("p.ini", text, strlen(text), &D);
	cr_assert_eq(D.n, 2);
	cr_expect(strstr(D.v[0].msg, "notify: expected stderr or off"), "%s", D.v[0].msg);
	cr_expect(strstr(D.v[1].msg, "log: "), "%s", D.v[1].msg);
}
