/* The egress proxy's decisions on untrusted bytes, without any I/O. Every
 * input is bounded by an explicit length and may hold any byte, NUL
 * included: nothing here calls strlen() on it or reads past len, and text
 * is copied into a NUL-terminated local buffer only after its length has
 * been checked against that buffer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "egress.h"
#include "util.h"

#define IPV6_TEXT_MAX       45  /* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */
#define HTTP_MAX_FIELDS     256 /* header lines in one request head */
#define HTTP_MAX_CONN_NAMES 32  /* header names listed in Connection */
#define HTTP_MAX_METHOD     15

static bool fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return false;
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static char lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* ASCII case-insensitive comparison of n bytes. */
static bool mem_ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/* a (n bytes) equals the NUL-terminated constant lit, ignoring case. */
static bool token_is(const char *a, size_t n, const char *lit)
{
	return strlen(lit) == n && mem_ieq(a, lit, n);
}

/* ---- host names and addresses ---- */

static bool check_ipv6(const char *host, size_t len, struct egress_target *t, const char **why)
{
	char text[IPV6_TEXT_MAX + 1];
	struct in6_addr a6;

	if (memchr(host, '%', len))
		return fail(why, "IPv6 zone identifiers are not allowed");
	if (len > IPV6_TEXT_MAX)
		return fail(why, "not a valid IPv6 address");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];
		if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return fail(why, "not a valid IPv6 address");
	}
	memcpy(text, host, len);
	text[len] = '\0';
	if (inet_pton(AF_INET6, text, &a6) != 1)
		return fail(why, "not a valid IPv6 address");
	memset(t->host, 0, sizeof(t->host));
	if (!inet_ntop(AF_INET6, &a6, t->host, sizeof(t->host)))
		return fail(why, "not a valid IPv6 address");
	t->is_ip = true;
	t->family = AF_INET6;
	memset(t->addr, 0, sizeof(t->addr));
	memcpy(t->addr, &a6, 16);
	return true;
}

bool egress_check_host(const char *host, size_t len, struct egress_target *t, const char **why)
{
	char name[EGRESS_MAX_HOST + 1];
	struct egress_target r;

	if (!host || len == 0)
		return fail(why, "empty host");
	if (memchr(host, '\0', len))
		return fail(why, "host contains a NUL byte");
	memset(&r, 0, sizeof(r));
	if (memchr(host, ':', len)) {
		if (!check_ipv6(host, len, &r, why))
			return false;
		goto done;
	}
	if (len > EGRESS_MAX_HOST)
		return fail(why, "host name longer than 253 characters");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];
		if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.'))
			return fail(why, "host name may contain only letters, digits, hyphens and dots");
		name[i] = lower(c);
	}
	name[len] = '\0';
	if (!valid_hostname_label_chars(name))
		return fail(why, "not a valid host name (labels of 1 to 63 characters, no leading or trailing "
		                 "hyphen, no empty label or trailing dot)");
	if (looks_numeric(name)) {
		/* Only the one spelling of an IPv4 address that every resolver
		 * reads the same way; 0177.0.0.1, 0x7f.1, 127.1 and 2130706433
		 * would all reach 127.0.0.1 past a name-based policy. */
		struct in_addr a4;
		if (!is_strict_ipv4(name) || inet_pton(AF_INET, name, &a4) != 1)
			return fail(why, "numeric host must be a dotted-quad IPv4 address without leading zeros");
		if (!inet_ntop(AF_INET, &a4, r.host, sizeof(r.host)))
			return fail(why, "not a valid IPv4 address");
		r.is_ip = true;
		r.family = AF_INET;
		memcpy(r.addr, &a4, 4);
	} else {
		memcpy(r.host, name, len + 1);
	}
done:
	memcpy(t->host, r.host, sizeof(t->host));
	t->is_ip = r.is_ip;
	t->family = r.family;
	memcpy(t->addr, r.addr, sizeof(t->addr));
	return true;
}

/* 1 to 65535, decimal digits only. */
static bool parse_port(const char *s, size_t n, unsigned short *port, const char **why)
{
	unsigned v = 0;
	if (n == 0)
		return fail(why, "empty port");
	if (n > 5)
		return fail(why, "port must be a number from 1 to 65535");
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return fail(why, "port must be a number from 1 to 65535");
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return fail(why, "port must be a number from 1 to 65535");
	*port = (unsigned short)v;
	return true;
}

bool egress_parse_authority(const char *s, size_t len, int default_port, struct egress_target *t, const char **why)
{
	const char *host, *portp = NULL;
	size_t hlen, plen = 0;
	bool bracketed = false, have_port = false;
	unsigned short port = default_port > 0 ? (unsigned short)default_port : 0;
	struct egress_target r;

	if (!s || len == 0)
		return fail(why, "empty authority");
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return fail(why, "unterminated [IPv6] address");
		host = s + 1;
		hlen = (size_t)(close - s) - 1;
		size_t rest = len - (size_t)(close - s) - 1;
		if (rest > 0) {
			if (close[1] != ':')
				return fail(why, "unexpected text after ]");
			have_port = true;
			portp = close + 2;
			plen = rest - 1;
		}
		bracketed = true;
	} else {
		const char *colon = memchr(s, ':', len);
		host = s;
		hlen = len;
		if (colon) {
			size_t after = len - (size_t)(colon - s) - 1;
			if (memchr(colon + 1, ':', after))
				return fail(why, "an IPv6 address must be written in brackets, e.g. [2001:db8::1]:443");
			hlen = (size_t)(colon - s);
			have_port = true;
			portp = colon + 1;
			plen = after;
		}
	}
	memset(&r, 0, sizeof(r));
	if (!egress_check_host(host, hlen, &r, why))
		return false;
	if (bracketed && !(r.is_ip && r.family == AF_INET6))
		return fail(why, "only an IPv6 address may be written in brackets");
	if (have_port) {
		if (!parse_port(portp, plen, &port, why))
			return false;
	} else if (default_port == EGRESS_PORT_REQUIRED) {
		return fail(why, "a port is required (host:port)");
	}
	*t = r;
	t->port = port;
	return true;
}

/* ---- the policy's decision ---- */

/* The first prefix_len bits of a and b are the same. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned prefix_len)
{
	size_t whole = prefix_len / 8;
	unsigned rest = prefix_len % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* r names an address or range that holds addr (of family), on port. */
static bool addr_rule_matches(const struct net_rule *r, int family, const unsigned char *addr, unsigned short port)
{
	if (!r->family || r->family != family)
		return false;
	if (r->port != 0 && r->port != port)
		return false;
	/* Compared as addresses, not text, so two spellings of the same
	 * IPv6 address cannot disagree. */
	return prefix_equal(r->addr, addr, r->prefix_len);
}

static bool rule_matches(const struct net_rule *r, const struct egress_target *t)
{
	if (r->port != 0 && r->port != t->port)
		return false;
	if (r->family)
		return t->is_ip && addr_rule_matches(r, t->family, t->addr, t->port);
	if (t->is_ip)
		return false; /* a name pattern never allows an address */
	size_t tl = strnlen(t->host, sizeof(t->host));
	size_t sl = strnlen(r->host, sizeof(r->host));
	if (tl == sizeof(t->host) || sl == sizeof(r->host))
		return false; /* not terminated: not made by egress_check_host or net_rule_parse */
	if (!r->wildcard)
		return tl == sl && mem_ieq(t->host, r->host, sl);
	/* "*.example.org": "a.example.org" and "a.b.example.org", never
	 * "example.org" itself or "evilexample.org". */
	return tl > sl + 1 && t->host[tl - sl - 1] == '.' && mem_ieq(t->host + tl - sl, r->host, sl);
}

static void verdict(struct egress_verdict *v, enum egress_refusal kind, const char *reason, const struct net_rule *rule)
{
	v->kind = kind;
	v->reason = reason;
	v->rule = rule;
}

bool egress_decide(const struct net_plan *np, const struct egress_target *t, struct egress_verdict *v)
{
	struct egress_verdict dummy;
	if (!v)
		v = &dummy;
	memset(v, 0, sizeof(*v));
	if (!np || !t) {
		verdict(v, EGRESS_NOT_LISTED, "not in the allow list", NULL);
		return false;
	}
	for (size_t i = 0; i < np->n_deny; i++) {
		if (rule_matches(&np->deny[i], t)) {
			verdict(v, EGRESS_DENY_RULE, "denied by deny pattern", &np->deny[i]);
			return false;
		}
	}
	for (size_t i = 0; i < np->n_allow; i++) {
		if (rule_matches(&np->allow[i], t)) {
			verdict(v, EGRESS_OK, "allowed by allow pattern", &np->allow[i]);
			return true;
		}
	}
	verdict(v, EGRESS_NOT_LISTED, t->is_ip ? "IP literal not allowed literally" : "not in the allow list", NULL);
	return false;
}

bool egress_allowed(const struct net_plan *np, const struct egress_target *t, const char **reason)
{
	struct egress_verdict v;
	bool ok = egress_decide(np, t, &v);
	if (reason)
		*reason = v.reason;
	return ok;
}

/* ---- private addresses ---- */

/* The IPv4 ranges a sandbox must not reach, in the order v4_range()
 * tests them. V4_WHAT(prefix) spells their names, so an IPv6 form that
 * embeds one can name both with static text. */
enum {
	V4_UNSPECIFIED,
	V4_THIS_NET,
	V4_LOOPBACK,
	V4_RFC1918,
	V4_CGNAT,
	V4_LINK_LOCAL,
	V4_IETF,
	V4_DOC,
	V4_BENCH,
	V4_MULTICAST,
	V4_BROADCAST,
	V4_RESERVED,
	V4_N
};

#define V4_WHAT(P)                                                                                                     \
	{                                                                                                              \
		P "unspecified", P "this network (0/8)", P "loopback", P "RFC 1918", P "CGNAT", P "link-local",        \
		    P "IETF protocol assignments (192.0.0/24)", P "documentation", P "benchmarking (198.18/15)",       \
		    P "multicast", P "broadcast", P "reserved (240/4)",                                                \
	}

static const char *const v4_what[V4_N] = V4_WHAT("");
static const char *const mapped_what[V4_N] = V4_WHAT("IPv4-mapped ");
static const char *const compat_what[V4_N] = V4_WHAT("IPv4-compatible ");
static const char *const translated_what[V4_N] = V4_WHAT("IPv4-translated ");
static const char *const nat64_what[V4_N] = V4_WHAT("NAT64 ");
static const char *const sixto4_what[V4_N] = V4_WHAT("6to4 ");
static const char *const teredo_what[V4_N] = V4_WHAT("Teredo ");

/* The range a (network order) is in, or -1 for a public address. */
static int v4_range(const unsigned char a[4])
{
	if (a[0] == 0)
		return a[1] == 0 && a[2] == 0 && a[3] == 0 ? V4_UNSPECIFIED : V4_THIS_NET;
	if (a[0] == 127)
		return V4_LOOPBACK;
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
		return V4_RFC1918;
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return V4_CGNAT;
	if (a[0] == 169 && a[1] == 254)
		return V4_LINK_LOCAL;
	if (a[0] == 192 && a[1] == 0 && a[2] == 0)
		return V4_IETF;
	if ((a[0] == 192 && a[1] == 0 && a[2] == 2) || (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
	    (a[0] == 203 && a[1] == 0 && a[2] == 113))
		return V4_DOC;
	if (a[0] == 198 && (a[1] & 0xfe) == 18)
		return V4_BENCH;
	if ((a[0] & 0xf0) == 224)
		return V4_MULTICAST;
	if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
		return V4_BROADCAST;
	if ((a[0] & 0xf0) == 240)
		return V4_RESERVED;
	return -1;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The IPv4 addresses an IPv6 address embeds, as v6_is_private finds them. */
struct embedded_v4 {
	unsigned char a[2][4];
	size_t n;
};

/* An IPv6 form embedding an IPv4 address: private when the embedded
 * address is, and then named after both. The address goes to e. */
static bool embedded(const unsigned char v4[4], const char *const names[V4_N], const char **what, struct embedded_v4 *e)
{
	if (e && e->n < N_ELEMENTS(e->a))
		memcpy(e->a[e->n++], v4, 4);
	int r = v4_range(v4);
	if (r < 0)
		return false;
	*what = names[r];
	return true;
}

static bool v6_is_private(const unsigned char a[16], const char **what, struct embedded_v4 *e)
{
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

	if (all_zero(a, 16)) {
		*what = "unspecified";
		return true;
	}
	if (all_zero(a, 15) && a[15] == 1) {
		*what = "loopback";
		return true;
	}
	if (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff)
		return embedded(a + 12, mapped_what, what, e); /* ::ffff:a.b.c.d is that IPv4 address */
	if (all_zero(a, 12)) {
		/* ::a.b.c.d, deprecated by RFC 4291 and never a real
		 * destination: refused even with a public IPv4 inside. */
		if (!embedded(a + 12, compat_what, what, e))
			*what = "IPv4-compatible (deprecated)";
		return true;
	}
	if (all_zero(a, 8) && a[8] == 0xff && a[9] == 0xff && a[10] == 0 && a[11] == 0) {
		if (!embedded(a + 12, translated_what, what, e))
			*what = "reserved (::/8)";
		return true;
	}
	if (a[0] == 0 && a[1] == 0) {
		*what = "reserved (::/8)";
		return true;
	}
	if (memcmp(a, nat64, 12) == 0)
		return embedded(a + 12, nat64_what, what, e); /* 64:ff9b::/96 */
	if (memcmp(a, nat64, 4) == 0 && a[4] == 0 && a[5] == 1) {
		*what = "NAT64 local-use (64:ff9b:1::/48)";
		return true;
	}
	if (a[0] == 0x20 && a[1] == 0x02)
		return embedded(a + 2, sixto4_what, what, e); /* 2002:aabb:ccdd::/48 */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
		/* Teredo 2001::/32: the server's IPv4 address, then the
		 * client's, inverted. */
		unsigned char client[4] = {(unsigned char)~a[12], (unsigned char)~a[13], (unsigned char)~a[14],
		                           (unsigned char)~a[15]};
		const char *client_what = NULL;
		bool client_private = embedded(client, teredo_what, &client_what, e);
		if (embedded(a + 4, teredo_what, what, e))
			return true;
		if (client_private)
			*what = client_what;
		return client_private;
	}
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) {
		*what = "documentation (2001:db8::/32)";
		return true;
	}
	if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0) {
		*what = "documentation (3fff::/20)";
		return true;
	}
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0x02 && a[4] == 0 && a[5] == 0) {
		*what = "benchmarking (2001:2::/48)";
		return true;
	}
	if (a[0] == 0x01 && a[1] == 0 && all_zero(a + 2, 6)) {
		*what = "discard-only (100::/64)";
		return true;
	}
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
		*what = "link-local";
		return true;
	}
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) {
		*what = "site-local (deprecated)";
		return true;
	}
	if ((a[0] & 0xfe) == 0xfc) {
		*what = "ULA";
		return true;
	}
	if (a[0] == 0xff) {
		*what = "multicast";
		return true;
	}
	if ((a[0] & 0xe0) != 0x20) {
		*what = "reserved (outside 2000::/3)";
		return true;
	}
	return false;
}

bool egress_addr_is_private(const struct sockaddr *sa, const char **what)
{
	const char *dummy;
	if (!what)
		what = &dummy;
	if (!sa) {
		*what = "not an IP address";
		return true;
	}
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		unsigned char a[4];
		memcpy(a, &sin.sin_addr, 4);
		int r = v4_range(a);
		if (r < 0)
			return false;
		*what = v4_what[r];
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		unsigned char a[16];
		memcpy(a, &sin6.sin6_addr, 16);
		return v6_is_private(a, what, NULL);
	}
	*what = "not an IP address"; /* fail closed */
	return true;
}

/* ---- the addresses a request may reach ---- */

enum addr_class { AC_PUBLIC, AC_PRIVATE, AC_LINK_LOCAL, AC_METADATA };

/* Cloud metadata services: AWS, GCP, Azure, Oracle (169.254.169.254),
 * Alibaba (100.100.100.200), AWS over IPv6 (fd00:ec2::254). */
static const unsigned char metadata_v4[][4] = {{169, 254, 169, 254}, {100, 100, 100, 200}};
static const unsigned char metadata_v6[16] = {0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54};

static enum addr_class v4_class(const unsigned char a[4], const char **what)
{
	for (size_t i = 0; i < N_ELEMENTS(metadata_v4); i++) {
		if (memcmp(a, metadata_v4[i], 4) == 0) {
			*what = "cloud metadata address";
			return AC_METADATA;
		}
	}
	int range = v4_range(a);
	if (range < 0)
		return AC_PUBLIC;
	*what = v4_what[range];
	return range == V4_LINK_LOCAL ? AC_LINK_LOCAL : AC_PRIVATE;
}

/* An IPv6 address is as bad as the worst IPv4 address it embeds. */
static enum addr_class v6_class(const unsigned char a[16], const char **what)
{
	struct embedded_v4 e = {.n = 0};
	if (memcmp(a, metadata_v6, 16) == 0) {
		*what = "cloud metadata address";
		return AC_METADATA;
	}
	if (!v6_is_private(a, what, &e))
		return AC_PUBLIC;
	enum addr_class worst = AC_PRIVATE;
	for (size_t i = 0; i < e.n; i++) {
		const char *w = NULL;
		enum addr_class c = v4_class(e.a[i], &w);
		if (c > worst) {
			worst = c;
			if (c == AC_METADATA)
				*what = w;
		}
	}
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		worst = AC_LINK_LOCAL;
	return worst;
}

/* The ranges a refusal suggests for allow_private, as written there; an
 * address in none of them is suggested alone (/32, /128). */
static const struct {
	int family;
	unsigned char addr[16];
	unsigned prefix_len;
	const char *text;
} suggest_ranges[] = {
    {AF_INET, {0}, 8, "0.0.0.0/8"},
    {AF_INET, {127}, 8, "127.0.0.0/8"},
    {AF_INET, {10}, 8, "10.0.0.0/8"},
    {AF_INET, {172, 16}, 12, "172.16.0.0/12"},
    {AF_INET, {192, 168}, 16, "192.168.0.0/16"},
    {AF_INET, {100, 64}, 10, "100.64.0.0/10"},
    {AF_INET, {169, 254}, 16, "169.254.0.0/16"},
    {AF_INET, {192, 0, 0}, 24, "192.0.0.0/24"},
    {AF_INET, {192, 0, 2}, 24, "192.0.2.0/24"},
    {AF_INET, {198, 51, 100}, 24, "198.51.100.0/24"},
    {AF_INET, {203, 0, 113}, 24, "203.0.113.0/24"},
    {AF_INET, {198, 18}, 15, "198.18.0.0/15"},
    {AF_INET, {224}, 4, "224.0.0.0/4"},
    {AF_INET, {240}, 4, "240.0.0.0/4"},
    {AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32, "2001:db8::/32"},
    {AF_INET6, {0x3f, 0xff}, 20, "3fff::/20"},
    {AF_INET6, {0x20, 0x01, 0, 0x02}, 48, "2001:2::/48"},
    {AF_INET6, {0x01}, 64, "100::/64"},
    {AF_INET6, {0, 0x64, 0xff, 0x9b, 0, 1}, 48, "64:ff9b:1::/48"},
    {AF_INET6, {0xfc}, 7, "fc00::/7"},
    {AF_INET6, {0xfe, 0x80}, 10, "fe80::/10"},
    {AF_INET6, {0xfe, 0xc0}, 10, "fec0::/10"},
    {AF_INET6, {0xff}, 8, "ff00::/8"},
};

static void suggest_range(struct egress_verdict *v, int family, const unsigned char *a)
{
	for (size_t i = 0; i < N_ELEMENTS(suggest_ranges); i++) {
		if (suggest_ranges[i].family == family &&
		    prefix_equal(suggest_ranges[i].addr, a, suggest_ranges[i].prefix_len)) {
			snprintf(v->range, sizeof(v->range), "%s", suggest_ranges[i].text);
			return;
		}
	}
	snprintf(v->range, sizeof(v->range), "%s/%u", v->addr, family == AF_INET ? 32u : 128u);
}

bool egress_addr_allowed(const struct net_plan *np, const struct egress_target *t, const struct sockaddr *sa,
                         struct egress_verdict *v)
{
	struct egress_verdict dummy;
	unsigned char a[16] = {0};
	int family = sa ? sa->sa_family : AF_UNSPEC;
	unsigned short port = t ? t->port : 0;
	const char *what = NULL;
	if (!v)
		v = &dummy;
	memset(v, 0, sizeof(*v));
	if (!np || (family != AF_INET && family != AF_INET6)) {
		verdict(v, EGRESS_PRIVATE, "not an IP address", NULL); /* fail closed */
		v->what = "not an IP address";
		return false;
	}
	if (family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		memcpy(a, &sin.sin_addr, 4);
	} else {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(a, &sin6.sin6_addr, 16);
	}
	if (!inet_ntop(family, a, v->addr, sizeof(v->addr)))
		v->addr[0] = '\0';
	for (size_t i = 0; i < np->n_deny; i++) {
		if (addr_rule_matches(&np->deny[i], family, a, port)) {
			verdict(v, EGRESS_DENY_RULE, "denied by deny pattern", &np->deny[i]);
			return false;
		}
	}
	enum addr_class cls = family == AF_INET ? v4_class(a, &what) : v6_class(a, &what);
	unsigned full = family == AF_INET ? 32 : 128;
	for (size_t i = 0; i < np->n_allow; i++) {
		const struct net_rule *r = &np->allow[i];
		/* A metadata address only to a rule naming exactly it: a
		 * range granted for a subnet never opens it by accident. */
		if (cls == AC_METADATA && r->prefix_len != full)
			continue;
		if (addr_rule_matches(r, family, a, port)) {
			verdict(v, EGRESS_OK, "allowed by allow pattern", r);
			return true;
		}
	}
	v->what = what;
	switch (cls) {
	case AC_PUBLIC:
		verdict(v, EGRESS_OK, "public address", NULL);
		return true;
	case AC_METADATA:
		verdict(v, EGRESS_METADATA, "cloud metadata address, not named by an allow rule", NULL);
		return false;
	case AC_LINK_LOCAL:
		verdict(v, EGRESS_LINK_LOCAL, "link-local address, not named by an allow rule", NULL);
		return false;
	case AC_PRIVATE:
		break;
	}
	if (np->allow_private) {
		verdict(v, EGRESS_OK, "allow_private", NULL);
		return true;
	}
	for (size_t i = 0; i < np->n_private_ok; i++) {
		if (addr_rule_matches(&np->private_ok[i], family, a, port)) {
			verdict(v, EGRESS_OK, "allow_private range", &np->private_ok[i]);
			return true;
		}
	}
	suggest_range(v, family, a);
	verdict(v, EGRESS_PRIVATE, "private address, outside allow_private", NULL);
	return false;
}

/* s with anything but printable ASCII as '?': a policy's file name may
 * hold anything, and this text goes to a terminal. */
static void put_printable(buf_t *b, const char *s)
{
	for (; *s; s++)
		buf_add(b, *s >= 0x20 && *s < 0x7f ? s : "?", 1);
}

/* "host:port", "[v6]:port" */
static void put_authority(buf_t *b, const char *host, bool v6, unsigned port)
{
	buf_printf(b, v6 ? "[%s]:%u" : "%s:%u", host, port);
}

void egress_refusal_text(buf_t *b, const struct net_plan *np, const struct egress_target *t,
                         const struct egress_verdict *v)
{
	const char *name = np && np->policy_name ? np->policy_name : "?";
	bool v6 = strchr(v->addr, ':') != NULL;
	const char *subject = t && t->is_ip ? "" : "resolves to ";
	switch (v->kind) {
	case EGRESS_NOT_LISTED:
		buf_puts(b, "not in the allow list of policy '");
		put_printable(b, name);
		buf_puts(b, "'; add: allow = ");
		put_authority(b, t ? t->host : "?", t && t->is_ip && t->family == AF_INET6, t ? t->port : 0);
		return;
	case EGRESS_DENY_RULE:
		buf_puts(b, "denied by deny = ");
		if (v->rule)
			net_rule_text(b, v->rule);
		buf_printf(b, " (line %d) of policy '", v->rule ? v->rule->line : 0);
		put_printable(b, name);
		buf_puts(b, "'");
		return;
	case EGRESS_METADATA:
	case EGRESS_LINK_LOCAL:
		buf_printf(b, "%s%s (%s), which policy '", subject, v->addr, v->what ? v->what : "link-local");
		put_printable(b, name);
		buf_printf(b, "' opens only to an allow rule naming %s; add: allow = ",
		           v->kind == EGRESS_METADATA ? "exactly that address" : "the address");
		put_authority(b, v->addr, v6, t ? t->port : 0);
		return;
	case EGRESS_PRIVATE:
		if (!v->range[0]) {
			buf_printf(b, "%s (policy '", v->what ? v->what : "refused");
			put_printable(b, name);
			buf_puts(b, "')");
			return;
		}
		buf_printf(b, "%s%s in %s (%s, private), which policy '", subject, v->addr, v->range,
		           v->what ? v->what : "private");
		put_printable(b, name);
		buf_printf(b, "' does not allow; add: allow_private = %s", v->range);
		return;
	case EGRESS_OK:
		break;
	}
	buf_puts(b, "allowed");
}

/* ---- HTTP request heads ---- */

static int refuse(int *status, const char **why, int code, const char *msg)
{
	if (status)
		*status = code;
	if (why)
		*why = msg;
	return -1;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool all_tchar(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

struct span {
	const char *p;
	size_t n;
};

struct field {
	struct span name, value;
};

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Headers the proxy consumes and never forwards, besides every Proxy-*
 * header and those the client's Connection header names. */
static bool is_hop_by_hop(const struct span *name)
{
	static const char *const hop[] = {"host",    "connection", "keep-alive",      "te",
	                                  "trailer", "upgrade",    "proxy-connection"};
	for (size_t i = 0; i < N_ELEMENTS(hop); i++)
		if (token_is(name->p, name->n, hop[i]))
			return true;
	return name->n >= 6 && mem_ieq(name->p, "proxy-", 6);
}

/* Splits a Connection value into the header names it lists. */
static int connection_names(const struct span *v, struct span *names, size_t *n, int *status, const char **why)
{
	size_t i = 0;
	while (i < v->n) {
		while (i < v->n && (is_ows(v->p[i]) || v->p[i] == ','))
			i++;
		size_t start = i;
		while (i < v->n && v->p[i] != ',' && !is_ows(v->p[i]))
			i++;
		size_t len = i - start;
		while (i < v->n && is_ows(v->p[i]))
			i++;
		if (i < v->n && v->p[i] != ',')
			return refuse(status, why, 400, "invalid Connection header");
		if (len == 0)
			continue;
		if (!all_tchar(v->p + start, len))
			return refuse(status, why, 400, "invalid Connection header");
		/* Naming a framing header would strip it from what goes
		 * upstream while the proxy still framed the body by it. */
		if (token_is(v->p + start, len, "content-length") || token_is(v->p + start, len, "transfer-encoding"))
			return refuse(status, why, 400, "Connection must not name Content-Length or Transfer-Encoding");
		if (*n == HTTP_MAX_CONN_NAMES)
			return refuse(status, why, 400, "too many names in Connection");
		names[*n].p = v->p + start;
		names[*n].n = len;
		(*n)++;
	}
	return 0;
}

static bool parse_content_length(const struct span *v, uint64_t *out)
{
	uint64_t x = 0;
	if (v->n == 0)
		return false;
	for (size_t i = 0; i < v->n; i++) {
		unsigned char c = (unsigned char)v->p[i];
		if (!is_digit(c))
			return false;
		if (x > (UINT64_MAX - (c - '0')) / 10)
			return false;
		x = x * 10 + (c - '0');
	}
	*out = x;
	return true;
}

/* The absolute http:// URI of a forwarded request: fills h->dest and
 * the origin-form path (with query) to send upstream. */
static int parse_absolute_uri(const char *u, size_t n, struct http_head *h, struct span *path, int *status,
                              const char **why)
{
	const char *w = NULL;
	if (n >= 8 && mem_ieq(u, "https://", 8))
		return refuse(status, why, 400, "use CONNECT for https");
	if (n < 7 || !mem_ieq(u, "http://", 7)) {
		if (u[0] == '/' || (n == 1 && u[0] == '*'))
			return refuse(status, why, 400, "a proxy request needs an absolute http:// URI");
		return refuse(status, why, 400, "only http:// URIs are proxied");
	}
	const char *a = u + 7;
	size_t rest = n - 7, alen = 0;
	while (alen < rest && a[alen] != '/' && a[alen] != '?' && a[alen] != '#')
		alen++;
	if (memchr(a, '@', alen))
		return refuse(status, why, 400, "userinfo in the URI is refused");
	if (alen == 0)
		return refuse(status, why, 400, "URI without a host");
	if (!egress_parse_authority(a, alen, 80, &h->dest, &w))
		return refuse(status, why, 400, w);
	path->p = a + alen;
	path->n = rest - alen;
	const char *frag = memchr(path->p, '#', path->n);
	if (frag)
		path->n = (size_t)(frag - path->p); /* a fragment is never sent */
	return 0;
}

static void build_upstream(struct http_head *h, const struct span *method, const struct span *path,
                           const struct field *f, size_t nf, const struct span *conn, size_t nconn)
{
	buf_t b = {0};
	buf_add(&b, method->p, method->n);
	buf_add(&b, " ", 1);
	if (path->n == 0 || path->p[0] != '/')
		buf_add(&b, "/", 1); /* "" or "?query" */
	buf_add(&b, path->p, path->n);
	buf_puts(&b, " HTTP/1.1\r\nHost: ");
	if (h->dest.family == AF_INET6 && h->dest.is_ip)
		buf_printf(&b, "[%s]", h->dest.host);
	else
		buf_puts(&b, h->dest.host);
	if (h->dest.port != 80)
		buf_printf(&b, ":%u", (unsigned)h->dest.port);
	buf_puts(&b, "\r\n");
	for (size_t i = 0; i < nf; i++) {
		bool drop = is_hop_by_hop(&f[i].name);
		for (size_t j = 0; !drop && j < nconn; j++)
			drop = f[i].name.n == conn[j].n && mem_ieq(f[i].name.p, conn[j].p, conn[j].n);
		if (drop)
			continue;
		buf_add(&b, f[i].name.p, f[i].name.n);
		buf_add(&b, ": ", 2);
		buf_add(&b, f[i].value.p, f[i].value.n);
		buf_add(&b, "\r\n", 2);
	}
	buf_puts(&b, "Connection: close\r\n\r\n");
	h->upstream = b.p;
	h->upstream_len = b.len;
}

/* Finds the end of the head (just past CRLF CRLF) in buf, rejecting bytes
 * no valid head contains as soon as they arrive. Returns 1 found, 0 more
 * needed, -1 refused. */
static int find_head_end(const char *buf, size_t len, size_t max_head, size_t *end, int *status, const char **why)
{
	size_t limit = max_head && len > max_head ? max_head : len;
	for (size_t i = 0; i < limit; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n') {
			if (i == 0 || buf[i - 1] != '\r')
				return refuse(status, why, 400, "bare LF line ending");
			if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
				*end = i + 1;
				return 1;
			}
		} else if (c == '\r') {
			if (i + 1 < len && buf[i + 1] != '\n')
				return refuse(status, why, 400, "bare CR in request head");
		} else if (c == '\0') {
			return refuse(status, why, 400, "NUL byte in request head");
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return refuse(status, why, 400, "control character in request head");
		}
	}
	if (max_head && len >= max_head)
		return refuse(status, why, 431, "request head too large");
	return 0;
}

int http_parse_head(const char *buf, size_t len, size_t max_head, uint64_t max_body, struct http_head *h, int *status,
                    const char **why)
{
	cleanup_free struct field *f = NULL;
	struct span conn[HTTP_MAX_CONN_NAMES];
	size_t nf = 0, nconn = 0, end = 0, nhost = 0;
	bool has_te = false;
	int r;

	memset(h, 0, sizeof(*h));
	if (!buf)
		return len ? refuse(status, why, 400, "no request") : 0;
	r = find_head_end(buf, len, max_head, &end, status, why);
	if (r <= 0)
		return r;

	/* Request line: METHOD SP request-target SP HTTP-version, one space
	 * each, nothing else. */
	const char *line_end = memchr(buf, '\r', end);
	size_t rl = (size_t)(line_end - buf);
	const char *sp1 = memchr(buf, ' ', rl);
	if (!sp1)
		return refuse(status, why, 400, "malformed request line");
	struct span method = {buf, (size_t)(sp1 - buf)};
	if (!all_tchar(method.p, method.n))
		return refuse(status, why, 400, "malformed request line");
	for (size_t i = 0; i < method.n; i++)
		if (method.p[i] < 'A' || method.p[i] > 'Z')
			return refuse(status, why, 501, "method not supported");
	if (method.n > HTTP_MAX_METHOD)
		return refuse(status, why, 501, "method not supported");
	const char *tgt = sp1 + 1;
	const char *sp2 = memchr(tgt, ' ', rl - (size_t)(tgt - buf));
	if (!sp2 || sp2 == tgt)
		return refuse(status, why, 400, "malformed request line");
	struct span target = {tgt, (size_t)(sp2 - tgt)};
	for (size_t i = 0; i < target.n; i++) {
		unsigned char c = (unsigned char)target.p[i];
		if (c <= 0x20 || c >= 0x7f)
			return refuse(status, why, 400, "malformed request target");
	}
	const char *ver = sp2 + 1;
	size_t vlen = rl - (size_t)(ver - buf);
	bool http10 = vlen == 8 && memcmp(ver, "HTTP/1.0", 8) == 0;
	if (!http10 && !(vlen == 8 && memcmp(ver, "HTTP/1.1", 8) == 0))
		return refuse(status, why, 400, "unsupported HTTP version (HTTP/1.0 or HTTP/1.1 only)");
	h->is_connect = method.n == 7 && memcmp(method.p, "CONNECT", 7) == 0;
	if (method.n == 5 && memcmp(method.p, "TRACE", 5) == 0)
		return refuse(status, why, 405, "TRACE is not allowed through the proxy");

	/* Header fields. The head ends in CRLF CRLF and holds no CR that is
	 * not followed by LF, so every line ends at the next CR. */
	size_t pos = rl + 2;
	while (pos < end - 2) {
		const char *lp = buf + pos;
		const char *le = memchr(lp, '\r', end - pos);
		size_t ll = (size_t)(le - lp);
		if (is_ows(lp[0]))
			return refuse(status, why, 400, "folded header line (obs-fold)");
		const char *colon = memchr(lp, ':', ll);
		if (!colon)
			return refuse(status, why, 400, "header line without a colon");
		struct span name = {lp, (size_t)(colon - lp)};
		if (!all_tchar(name.p, name.n))
			return refuse(status, why, 400, "invalid header name");
		struct span v = {colon + 1, ll - name.n - 1};
		while (v.n && is_ows(v.p[0])) {
			v.p++;
			v.n--;
		}
		while (v.n && is_ows(v.p[v.n - 1]))
			v.n--;
		if (nf == HTTP_MAX_FIELDS)
			return refuse(status, why, 431, "too many header fields");
		if (nf % 16 == 0)
			f = xreallocarray(f, nf + 16, sizeof(*f));
		f[nf].name = name;
		f[nf].value = v;
		nf++;
		pos += ll + 2;

		if (token_is(name.p, name.n, "content-length")) {
			/* Repeated even with the same value: a second copy is
			 * only ever there to be read differently by someone. */
			if (h->has_content_length)
				return refuse(status, why, 400, "repeated Content-Length");
			if (!parse_content_length(&v, &h->content_length))
				return refuse(status, why, 400, "invalid Content-Length");
			h->has_content_length = true;
		} else if (token_is(name.p, name.n, "transfer-encoding")) {
			if (has_te)
				return refuse(status, why, 400, "repeated Transfer-Encoding");
			if (!token_is(v.p, v.n, "chunked"))
				return refuse(status, why, 501, "unsupported Transfer-Encoding (only chunked)");
			has_te = true;
		} else if (token_is(name.p, name.n, "host")) {
			if (++nhost > 1)
				return refuse(status, why, 400, "repeated Host header");
		} else if (token_is(name.p, name.n, "connection")) {
			if (connection_names(&v, conn, &nconn, status, why) < 0)
				return -1;
		}
	}

	if (has_te && h->has_content_length)
		return refuse(status, why, 400, "Transfer-Encoding together with Content-Length");
	if (has_te && http10)
		return refuse(status, why, 400, "Transfer-Encoding in an HTTP/1.0 request");

	struct span path = {NULL, 0};
	if (h->is_connect) {
		const char *w = NULL;
		if (!egress_parse_authority(target.p, target.n, EGRESS_PORT_REQUIRED, &h->dest, &w))
			return refuse(status, why, 400, w);
		if (has_te || (h->has_content_length && h->content_length > 0))
			return refuse(status, why, 400, "CONNECT with a request body");
	} else if (parse_absolute_uri(target.p, target.n, h, &path, status, why) < 0) {
		return -1;
	}
	if (h->has_content_length && max_body && h->content_length > max_body)
		return refuse(status, why, 413, "request body larger than max_request_bytes");

	if (!h->is_connect)
		build_upstream(h, &method, &path, f, nf, conn, nconn);
	h->chunked = has_te;
	h->head_len = end;
	return 1;
}

void http_head_free(struct http_head *h)
{
	if (!h)
		return;
	free(h->upstream);
	h->upstream = NULL;
	h->upstream_len = 0;
}

/* ---- request bodies ---- */

enum {
	BODY_DONE,
	BODY_LENGTH, /* left: Content-Length bytes still to come */
	CHUNK_SIZE,  /* hex digits of a chunk size */
	CHUNK_SIZE_LF,
	CHUNK_DATA, /* left: bytes of this chunk still to come */
	CHUNK_DATA_CR,
	CHUNK_DATA_LF,
	CHUNK_END_CR, /* after the last chunk: CRLF, no trailer fields */
	CHUNK_END_LF,
};

#define HTTP_MAX_CHUNK_DIGITS 8
#define HTTP_MAX_CHUNK        ((uint64_t)INT32_MAX)

void http_body_init(struct http_body *b, const struct http_head *h)
{
	*b = (struct http_body){.state = BODY_DONE};
	if (h->chunked)
		b->state = CHUNK_SIZE;
	else if (h->has_content_length && h->content_length > 0)
		*b = (struct http_body){.state = BODY_LENGTH, .left = h->content_length};
}

bool http_body_done(const struct http_body *b)
{
	return b->state == BODY_DONE;
}

static int hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool http_body_take(struct http_body *b, const char *p, size_t n, size_t *taken, const char **why)
{
	size_t i = 0;
	*taken = 0;
	while (i < n && b->state != BODY_DONE) {
		unsigned char c = (unsigned char)p[i];
		switch (b->state) {
		case BODY_LENGTH:
		case CHUNK_DATA: {
			size_t k = n - i;
			if (b->left < k)
				k = (size_t)b->left;
			i += k;
			b->left -= k;
			if (b->left == 0)
				b->state = b->state == BODY_LENGTH ? BODY_DONE : CHUNK_DATA_CR;
			continue;
		}
		case CHUNK_SIZE: {
			/* Hex digits and CRLF, nothing else: no chunk extension, no
			 * whitespace, and a size every parser reads the same way
			 * (a 64-bit overflow is the classic way to make two of them
			 * disagree on where the next request starts). */
			int v = hex_value(c);
			if (v >= 0) {
				if (++b->digits > HTTP_MAX_CHUNK_DIGITS)
					return fail(why, "chunk size too long");
				b->left = b->left * 16 + (unsigned)v;
				if (b->left > HTTP_MAX_CHUNK)
					return fail(why, "chunk size too large");
				break;
			}
			if (c == ';')
				return fail(why, "chunk extensions are refused");
			if (c != '\r' || b->digits == 0)
				return fail(why, "malformed chunk size");
			b->state = CHUNK_SIZE_LF;
			break;
		}
		case CHUNK_SIZE_LF:
			if (c != '\n')
				return fail(why, "malformed chunk size");
			b->state = b->left ? CHUNK_DATA : CHUNK_END_CR;
			break;
		case CHUNK_DATA_CR:
			if (c != '\r')
				return fail(why, "chunk data longer than its size");
			b->state = CHUNK_DATA_LF;
			break;
		case CHUNK_DATA_LF:
			if (c != '\n')
				return fail(why, "chunk data longer than its size");
			*b = (struct http_body){.state = CHUNK_SIZE};
			break;
		case CHUNK_END_CR:
			if (c != '\r')
				return fail(why, "trailer fields in a request are refused");
			b->state = CHUNK_END_LF;
			break;
		case CHUNK_END_LF:
			if (c != '\n')
				return fail(why, "malformed end of chunked body");
			b->state = BODY_DONE;
			break;
		default:
			return fail(why, "request body already complete");
		}
		i++;
	}
	*taken = i;
	return true;
}

/* ---- SOCKS5 ---- */

int socks5_parse_greeting(const unsigned char *buf, size_t len, size_t *consumed, bool *no_auth)
{
	*consumed = 0;
	*no_auth = false;
	if (len < 1)
		return 0;
	if (buf[0] != 5)
		return -1;
	if (len < 2)
		return 0;
	size_t n = buf[1];
	if (n == 0)
		return -1; /* RFC 1928: NMETHODS is 1 to 255 */
	if (len < 2 + n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (buf[2 + i] == 0)
			*no_auth = true;
	*consumed = 2 + n;
	return 1;
}

static int socks_refuse(int *reply, const char **why, int code, const char *msg)
{
	if (reply)
		*reply = code;
	if (why)
		*why = msg;
	return -1;
}

int socks5_parse_request(const unsigned char *buf, size_t len, size_t *consumed, struct egress_target *t, int *reply,
                         const char **why)
{
	struct egress_target r;
	size_t need;

	*consumed = 0;
	if (len < 1)
		return 0;
	if (buf[0] != 5)
		return socks_refuse(reply, why, 1, "not a SOCKS5 request");
	if (len < 2)
		return 0;
	if (buf[1] == 2)
		return socks_refuse(reply, why, 7, "SOCKS5 BIND is not supported");
	if (buf[1] == 3)
		return socks_refuse(reply, why, 7, "SOCKS5 UDP ASSOCIATE is not supported");
	if (buf[1] != 1)
		return socks_refuse(reply, why, 7, "unknown SOCKS5 command");
	if (len < 3)
		return 0;
	if (buf[2] != 0)
		return socks_refuse(reply, why, 1, "SOCKS5 reserved byte is not zero");
	if (len < 4)
		return 0;
	switch (buf[3]) {
	case 1:
		need = 4 + 4 + 2;
		break;
	case 3:
		if (len < 5)
			return 0;
		if (buf[4] == 0)
			return socks_refuse(reply, why, 1, "empty domain name");
		need = 5 + (size_t)buf[4] + 2;
		break;
	case 4:
		need = 4 + 16 + 2;
		break;
	default:
		return socks_refuse(reply, why, 8, "unknown SOCKS5 address type");
	}
	if (len < need)
		return 0;

	memset(&r, 0, sizeof(r));
	r.port = (unsigned short)((buf[need - 2] << 8) | buf[need - 1]);
	if (r.port == 0)
		return socks_refuse(reply, why, 1, "port 0");
	if (buf[3] == 3) {
		const char *w = NULL;
		if (!egress_check_host((const char *)buf + 5, buf[4], &r, &w))
			return socks_refuse(reply, why, 1, w);
	} else {
		int family = buf[3] == 1 ? AF_INET : AF_INET6;
		memcpy(r.addr, buf + 4, family == AF_INET ? 4 : 16);
		if (!inet_ntop(family, r.addr, r.host, sizeof(r.host)))
			return socks_refuse(reply, why, 1, "bad address");
		r.is_ip = true;
		r.family = family;
	}
	*t = r;
	*consumed = need;
	return 1;
}
