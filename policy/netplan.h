/* The network part of the plan: everything the egress proxy enforces,
 * parsed once from the policy. `explain` prints it, `run` hands it to the
 * built-in proxy, `cordon proxy` builds it alone; so what is printed is
 * what is enforced. Rules hold IP literals as binary addresses: a request
 * is matched without parsing the policy's text again. */
#ifndef CORDON_NETPLAN_H
#define CORDON_NETPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "util.h"

#define EGRESS_MAX_HOST 253

/* One value of `allow` or `deny`. */
struct net_rule {
	char host[EGRESS_MAX_HOST + 1]; /* lower case; a wildcard's suffix without "*."; an IP in canonical text */
	bool wildcard;                  /* "*.example.org": subdomains only */
	int family;                     /* 0 for a name; AF_INET or AF_INET6 for an address */
	unsigned char addr[16];         /* the address, network order, when family is not 0 */
	unsigned prefix_len; /* bits of addr a target must share: 32 or 128 for one address, less for a CIDR */
	unsigned short port; /* 0: any port */
	int line;            /* in the policy */
};

struct net_plan {
	enum net_mode mode;
	/* mode = proxy: pid 1 listens on 127.0.0.1:port inside the sandbox
	 * (HTTP and SOCKS5) and hands each connection to the proxy, built in
	 * or the one at socket (~ expanded; NULL: built in). */
	unsigned short port;
	char *socket;
	struct net_rule *allow, *deny;
	size_t n_allow, n_deny;
	bool allow_private; /* allow_private = true: allowed names may resolve to any private address */
	/* allow_private = CIDRs: the ranges allowed names may resolve into
	 * (net_rule entries with a prefix, never a port). */
	struct net_rule *private_ok;
	size_t n_private_ok;
	bool notify;                /* notify = stderr: each denied host:port once on the proxy's stderr */
	uint64_t max_request_bytes; /* 0: no limit */
	uint64_t max_response_bytes;
	uint64_t connect_timeout_ms; /* the proxy's connect to a vetted address */
	uint64_t idle_timeout_ms;    /* a relayed connection with no bytes either way */
	char *policy_name;           /* in 403 pages and audit records */
	char *audit_log;             /* ~ expanded, or AUDIT_STDERR; NULL: none */
};

#define PROXY_PORT 3128 /* inside the sandbox's own network namespace */

/* [audit] log = stderr: records go to the launcher's (and its proxy's)
 * standard error instead of a file. */
#define AUDIT_STDERR "stderr"

/* Parses a value of `allow`/`deny`: "host", "host:port", "*.suffix[:port]",
 * a dotted-quad IPv4 address or a bracketed IPv6 one, with the same
 * host:port grammar the proxy reads requests with (egress_parse_authority);
 * or an address range, the address followed by /PREFIX and then the
 * optional port: "10.0.0.0/8", "10.0.0.0/8:443", "[fd00::]/8:443". A
 * range's address has no bits set past its prefix. Returns false with a
 * static reason in *why. */
bool net_rule_parse(const char *s, struct net_rule *r, const char **why);
/* A CIDR of `allow_private`: an address or range as in allow, without a
 * port and without a name; an IPv6 one with or without brackets
 * ("fd00::/8", "[fd00::]/8"). */
bool net_cidr_parse(const char *s, struct net_rule *r, const char **why);
/* The rule as a policy would write it ("*.example.org:443", "[::1]",
 * "10.0.0.0/8", "[fd00::]/8:443"). */
void net_rule_text(buf_t *b, const struct net_rule *r);

/* The name audit records and 403 pages give the policy: its `name`, or
 * its file name without ".ini". Allocated. */
char *policy_display_name(const struct policy *p);
/* path with a leading "~" replaced by home, repeated slashes removed.
 * Allocated. */
char *expand_home_path(const char *path, const char *home);

/* Fills np from a policy that parsed without diagnostics; home expands
 * "~" in socket and the audit log. A value that does not parse (which
 * policy_parse would have reported) goes to d. Returns false if d gained
 * entries; np is then cleared. */
bool netplan_build(struct net_plan *np, const struct policy *p, const char *home, struct diags *d);
void netplan_clear(struct net_plan *np);

#endif
