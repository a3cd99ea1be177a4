/* The network part of the plan, built from a validated policy. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "egress.h"
#include "netplan.h"

/* Splits "ADDRESS/PREFIX[:PORT]" into the authority "ADDRESS[:PORT]" and
 * PREFIX. Returns 0 when s has no '/', 1 when split, -1 when malformed. */
static int split_prefix(const char *s, buf_t *auth, unsigned *prefix_len, const char **why)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return 0;
	const char *digits = slash + 1;
	size_t n = strspn(digits, "0123456789");
	if (n == 0 || n > 3 || (n > 1 && digits[0] == '0') || (digits[n] != '\0' && digits[n] != ':')) {
		*why = "a range is written ADDRESS/PREFIX, then :PORT if any (10.0.0.0/8:443, [fd00::]/8)";
		return -1;
	}
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(digits[i] - '0');
	buf_add(auth, s, (size_t)(slash - s));
	buf_puts(auth, digits + n);
	*prefix_len = v;
	return 1;
}

/* No bit of addr past the first prefix_len is set. */
static bool host_bits_clear(const unsigned char *addr, size_t bytes, unsigned prefix_len)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned first = (unsigned)i * 8; /* the bit this byte starts at */
		unsigned keep = prefix_len <= first ? 0 : prefix_len - first >= 8 ? 8 : prefix_len - first;
		unsigned char host = (unsigned char)(0xffu >> keep);
		if (addr[i] & host)
			return false;
	}
	return true;
}

bool net_rule_parse(const char *s, struct net_rule *r, const char **why)
{
	struct egress_target t;
	bool wildcard = str_has_prefix(s, "*.");
	const char *rest = wildcard ? s + 2 : s;
	buf_t auth = {0};
	unsigned prefix_len = 0;

	memset(r, 0, sizeof(*r));
	memset(&t, 0, sizeof(t));
	int ranged = split_prefix(rest, &auth, &prefix_len, why);
	if (ranged < 0)
		return false;
	if (ranged)
		rest = auth.p;
	/* The requests' grammar, with "any port" where a request would have
	 * its scheme's default. */
	bool ok = egress_parse_authority(rest, strlen(rest), 0, &t, why);
	buf_free(&auth);
	if (!ok)
		return false;
	if (wildcard && t.is_ip) {
		*why = "a wildcard applies to names, not to IP addresses";
		return false;
	}
	if (ranged && !t.is_ip) {
		*why = "a /PREFIX applies to IP addresses, not to names";
		return false;
	}
	memcpy(r->host, t.host, sizeof(r->host));
	r->wildcard = wildcard;
	r->port = t.port;
	if (t.is_ip) {
		unsigned full = t.family == AF_INET ? 32 : 128;
		if (ranged && prefix_len > full) {
			*why = t.family == AF_INET ? "an IPv4 prefix is at most /32" : "an IPv6 prefix is at most /128";
			return false;
		}
		r->family = t.family;
		memcpy(r->addr, t.addr, sizeof(r->addr));
		r->prefix_len = ranged ? prefix_len : full;
		if (!host_bits_clear(r->addr, full / 8, r->prefix_len)) {
			*why = "the address has bits set past its prefix (write the range's first address, e.g. "
			       "10.0.0.0/8)";
			return false;
		}
	}
	return true;
}

bool net_cidr_parse(const char *s, struct net_rule *r, const char **why)
{
	cleanup_free char *bracketed = NULL;
	/* "fd00::/8": no port can follow, so brackets are optional here. */
	const char *colon = strchr(s, ':');
	if (s[0] != '[' && colon && strchr(colon + 1, ':')) {
		const char *slash = strchr(s, '/');
		size_t alen = slash ? (size_t)(slash - s) : strlen(s);
		bracketed = xasprintf("[%.*s]%s", (int)alen, s, slash ? slash : "");
		s = bracketed;
	}
	if (str_has_prefix(s, "*.")) {
		*why = "expected true, false, or an address range (10.0.0.0/8, fd00::/8)";
		return false;
	}
	if (!net_rule_parse(s, r, why))
		return false;
	if (!r->family) {
		*why = "expected true, false, or an address range (10.0.0.0/8, fd00::/8)";
		return false;
	}
	if (r->port) {
		*why = "a range of allow_private has no port (allowed names choose the port)";
		return false;
	}
	return true;
}

void net_rule_text(buf_t *b, const struct net_rule *r)
{
	if (r->wildcard)
		buf_puts(b, "*.");
	if (r->family == AF_INET6)
		buf_printf(b, "[%s]", r->host);
	else
		buf_puts(b, r->host);
	if (r->family && r->prefix_len != (r->family == AF_INET ? 32u : 128u))
		buf_printf(b, "/%u", r->prefix_len);
	if (r->port)
		buf_printf(b, ":%u", (unsigned)r->port);
}

char *policy_display_name(const struct policy *p)
{
	if (p->name.value)
		return xstrdup(p->name.value);
	const char *base = strrchr(p->file, '/');
	base = base ? base + 1 : p->file;
	size_t n = strlen(base);
	if (str_has_suffix(base, ".ini"))
		n -= 4;
	return n ? xstrndup(base, n) : xstrdup("policy");
}

char *expand_home_path(const char *path, const char *home)
{
	cleanup_free char *raw = NULL;
	if (path[0] == '~')
		raw = xasprintf("%s/%s", home, path + 1);
	else
		raw = xstrdup(path);
	return normalize_path(raw);
}

static void build_rules(const struct policy *p, const struct plist *l, const char *key, struct net_rule **out,
                        size_t *n, struct diags *d)
{
	*out = xcalloc(l->n ? l->n : 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *why = NULL;
		struct net_rule *r = &(*out)[*n];
		if (!net_rule_parse(l->v[i].value, r, &why)) {
			diags_add(d, p->file, l->v[i].line, "%s: %s: %s", key, l->v[i].value, why);
			continue;
		}
		r->line = l->v[i].line;
		(*n)++;
	}
}

static void build_cidrs(const struct policy *p, const struct plist *l, struct net_rule **out, size_t *n,
                        struct diags *d)
{
	*out = xcalloc(l->n ? l->n : 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *why = NULL;
		struct net_rule *r = &(*out)[*n];
		if (!net_cidr_parse(l->v[i].value, r, &why)) {
			diags_add(d, p->file, l->v[i].line, "allow_private: %s: %s", l->v[i].value, why);
			continue;
		}
		r->line = l->v[i].line;
		(*n)++;
	}
}

bool netplan_build(struct net_plan *np, const struct policy *p, const char *home, struct diags *d)
{
	size_t before = d->n;
	memset(np, 0, sizeof(*np));
	np->mode = p->net_mode;
	np->policy_name = policy_display_name(p);
	if (p->audit_log.value && strcmp(p->audit_log.value, AUDIT_STDERR) == 0)
		np->audit_log = xstrdup(AUDIT_STDERR);
	else if (p->audit_log.value)
		np->audit_log = expand_home_path(p->audit_log.value, home);
	if (p->net_mode == NET_PROXY) {
		np->port = PROXY_PORT;
		np->socket = p->socket.value ? expand_home_path(p->socket.value, home) : NULL;
	}
	/* Under another mode the policy has none of these (check refuses
	 * them) and the values are the defaults explain shows. */
	build_rules(p, &p->allow, "allow", &np->allow, &np->n_allow, d);
	build_rules(p, &p->deny, "deny", &np->deny, &np->n_deny, d);
	np->allow_private = p->allow_private;
	np->notify = p->notify;
	/* allow_private's ranges; true and false were read by policy_parse. */
	struct plist ranges = {0};
	ranges.v = xcalloc(p->allow_private_v.n ? p->allow_private_v.n : 1, sizeof(*ranges.v));
	for (size_t i = 0; i < p->allow_private_v.n; i++) {
		bool b;
		const char *why;
		if (!parse_bool(p->allow_private_v.v[i].value, &b, &why))
			ranges.v[ranges.n++] = p->allow_private_v.v[i];
	}
	build_cidrs(p, &ranges, &np->private_ok, &np->n_private_ok, d);
	free(ranges.v);
	np->max_request_bytes = p->max_request_bytes;
	np->max_response_bytes = p->max_response_bytes;
	np->connect_timeout_ms = p->connect_timeout_ms;
	np->idle_timeout_ms = p->idle_timeout_ms;
	if (d->n > before) {
		netplan_clear(np);
		return false;
	}
	return true;
}

void netplan_clear(struct net_plan *np)
{
	free(np->socket);
	free(np->allow);
	free(np->deny);
	free(np->private_ok);
	free(np->policy_name);
	free(np->audit_log);
	memset(np, 0, sizeof(*np));
}
