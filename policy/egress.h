/* The egress proxy's decisions, without any I/O: what a requested name
 * may look like, whether the policy allows it, whether an address is
 * private, and parsing of the two request formats the proxy speaks (HTTP
 * request heads and SOCKS5). Everything here reads untrusted bytes from
 * the sandbox and is unit-tested and fuzzed on its own. */
#ifndef CORDON_EGRESS_H
#define CORDON_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netplan.h"

/* A destination as requested, validated. */
struct egress_target {
	char host[EGRESS_MAX_HOST + 1]; /* lower case; IPs in canonical text form (IPv6 without brackets) */
	bool is_ip;                     /* an IP literal was requested */
	int family;                     /* AF_INET or AF_INET6 when is_ip */
	unsigned char addr[16];         /* the literal's address when is_ip */
	unsigned short port;
};

/* Checks a requested host (a name or an IP literal; IPv6 without
 * brackets) of len bytes, which may contain anything, NUL included. Names:
 * letters, digits, hyphens and dots only, labels of 1 to 63, at most 253,
 * no trailing dot, not a numeric form a resolver would read as an IPv4
 * address (octal, hex, fewer than four parts). IPv4 literals: strict
 * dotted quads. IPv6: no zone ("%eth0"). Fills t->host, is_ip, family,
 * addr; leaves t->port alone. */
bool egress_check_host(const char *host, size_t len, struct egress_target *t, const char **why);

/* Parses an authority "host:port" or "[v6]:port" of len bytes: the one
 * host:port grammar, read from requests (CONNECT, absolute URIs) and from
 * the policy's allow and deny values (net_rule_parse). Without a port,
 * t->port is default_port, or the authority is refused when that is
 * EGRESS_PORT_REQUIRED. */
#define EGRESS_PORT_REQUIRED (-1)
bool egress_parse_authority(const char *s, size_t len, int default_port, struct egress_target *t, const char **why);

/* Why the policy refused a request, or which rule allowed it. */
enum egress_refusal {
	EGRESS_OK,
	EGRESS_NOT_LISTED, /* no allow rule matches the requested host:port */
	EGRESS_DENY_RULE,  /* rule: the deny rule that matched */
	EGRESS_PRIVATE,    /* a private address, outside allow_private */
	EGRESS_LINK_LOCAL, /* link-local: only an allow rule naming the address opens it */
	EGRESS_METADATA,   /* a cloud metadata address: only an allow rule naming exactly it */
};

struct egress_verdict {
	enum egress_refusal kind;
	const char *reason;          /* static, short: "not in the allow list", ... */
	const struct net_rule *rule; /* EGRESS_DENY_RULE: the deny rule; EGRESS_OK: the allow rule, if any */
	const char *what;            /* an address refusal: the range's name ("RFC 1918") */
	char range[64];              /* EGRESS_PRIVATE: the range as allow_private would name it */
	char addr[46];               /* an address refusal: the address, as text */
};

/* The net plan's decision on the requested host:port: deny rules first,
 * then allow; default deny. Names match case-insensitively; "*.suffix"
 * matches subdomains only; an IP literal only matches a rule naming an
 * address or range, compared as binary addresses over the rule's prefix
 * length. v (may be NULL) says why. */
bool egress_decide(const struct net_plan *np, const struct egress_target *t, struct egress_verdict *v);
/* The same, with v's short reason only. */
bool egress_allowed(const struct net_plan *np, const struct egress_target *t, const char **reason);

/* Whether the proxy may connect to sa (an address the target resolved
 * to, or its literal) for a request egress_decide allowed. In order: a
 * deny rule naming the address (or a range around it) refuses it; a cloud
 * metadata address (169.254.169.254, fd00:ec2::254, 100.100.100.200, and
 * IPv6 forms embedding the IPv4 ones) is reached only through an allow
 * rule naming exactly that address; an allow rule naming the address or a
 * range around it (with the port) grants it, private or not; a public
 * address is allowed; a link-local one (169.254/16, fe80::/10) is refused
 * (allow_private never opens it); any other private address is allowed by
 * allow_private = true or by an allow_private range around it. */
bool egress_addr_allowed(const struct net_plan *np, const struct egress_target *t, const struct sockaddr *sa,
                         struct egress_verdict *v);

/* The refusal as one sentence, for the 403 page, the audit record and the
 * notify line: what was refused and the policy line that would allow it,
 * e.g. "not in the allow list of policy 'pi'; add: allow = host:443". */
void egress_refusal_text(buf_t *b, const struct net_plan *np, const struct egress_target *t,
                         const struct egress_verdict *v);

/* True for addresses a sandbox must not reach unless allow_private:
 * unspecified, loopback, RFC 1918, CGNAT (100.64/10), link-local
 * (169.254/16, fe80::/10; so the cloud metadata address), ULA (fc00::/7),
 * multicast, broadcast and reserved (240/4), 0/8, and IPv6 forms that
 * embed such an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d,
 * NAT64 64:ff9b::/96, 6to4 2002::/16). *what names the range. */
bool egress_addr_is_private(const struct sockaddr *sa, const char **what);

/* ---- HTTP request heads ---- */

struct http_head {
	bool is_connect;
	struct egress_target dest;
	/* For plain HTTP: the head to send upstream, rewritten: origin-form
	 * request line, Host from the URI, hop-by-hop and Proxy-* headers
	 * removed, "Connection: close" added. NULL for CONNECT. */
	char *upstream;
	size_t upstream_len;
	size_t head_len; /* bytes of the buffer the head used (through CRLF CRLF) */
	bool has_content_length;
	uint64_t content_length;
	bool chunked; /* Transfer-Encoding: chunked (never with Content-Length) */
};

/* Parses the request head at the start of buf. Returns 1 when complete
 * (h filled), 0 when more bytes are needed, -1 when the request is refused:
 * *status is the HTTP status to answer (400, 405, 413, 431, 501) and *why
 * says why. Refused: a head over max_head bytes; NUL or control bytes; bare
 * LF line ends; folded header lines; a request line that is not
 * "METHOD SP target SP HTTP/1.x"; CONNECT without an authority; any other
 * method without an absolute http:// URI (https:// must use CONNECT;
 * userinfo is refused); conflicting or repeated Content-Length; any
 * Transfer-Encoding together with Content-Length; a Transfer-Encoding other
 * than chunked; a Content-Length over max_body when max_body is not 0. */
int http_parse_head(const char *buf, size_t len, size_t max_head, uint64_t max_body, struct http_head *h, int *status,
                    const char **why);
void http_head_free(struct http_head *h);

/* Where a forwarded request's body ends, as its bytes arrive: after
 * Content-Length bytes, or at the end of a chunked body; a request with
 * neither has none. The proxy sends upstream exactly one request per
 * connection: the rewritten head and these bytes, never what the client
 * sends after them (a pipelined or smuggled second request). Chunked
 * framing is strict: chunk sizes of 1 to 8 hex digits below 2^31, then
 * CRLF; no chunk extensions; data followed by CRLF; and after the last
 * chunk ("0") CRLF at once, no trailer fields. */
struct http_body {
	int state;
	uint64_t left;   /* Content-Length bytes, or bytes of the current chunk, still to come */
	unsigned digits; /* of the chunk size being read */
};

void http_body_init(struct http_body *b, const struct http_head *h);

/* Takes the next n bytes the client sent: *taken is how many of them (a
 * prefix) belong to the body, 0 once it is complete. Returns false, with
 * *why, when a chunked body breaks the framing above; nothing more may go
 * upstream then. */
bool http_body_take(struct http_body *b, const char *p, size_t n, size_t *taken, const char **why);
bool http_body_done(const struct http_body *b);

/* ---- SOCKS5 (RFC 1928), CONNECT only, no authentication ---- */

/* The client's greeting. Returns 1 complete, 0 more bytes needed, -1 not
 * SOCKS5. *consumed is its length; *no_auth tells whether method 0 (no
 * authentication) was offered. */
int socks5_parse_greeting(const unsigned char *buf, size_t len, size_t *consumed, bool *no_auth);

/* The request. Returns 1 complete (t filled), 0 more bytes needed, -1
 * refused with *reply the SOCKS5 reply code (1 general failure, 2 not
 * allowed, 7 command not supported, 8 address type not supported) and
 * *why. Address types: IPv4, domain name (validated as in
 * egress_check_host), IPv6. */
int socks5_parse_request(const unsigned char *buf, size_t len, size_t *consumed, struct egress_target *t, int *reply,
                         const char **why);

#endif
