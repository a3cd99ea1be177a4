/* The network part of the plan, built from a validated policy. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "egress.h"
#include "netplan.h"

bool net_rule_parse(const char *s, struct net_rule *r, const char **why)
{
	struct egress_target t;
	bool wildcard = str_has_prefix(s, "*.");
	const char *rest = wildcard ? s + 2 : s;

	memset(r, 0, sizeof(*r));
	memset(&t, 0, sizeof(t));
	/* The requests' grammar, with "any port" where a request would have
	 * its scheme's default. */
	if (!egress_parse_authority(rest, strlen(rest), 0, &t, why))
		return false;
	if (wildcard && t.is_ip) {
		*why = "a wildcard applies to names, not to IP addresses";
		return false;
	}
	memcpy(r->host, t.host, sizeof(r->host));
	r->wildcard = wildcard;
	r->port = t.port;
	if (t.is_ip) {
		r->family = t.family;
		memcpy(r->addr, t.addr, sizeof(r->addr));
		r->prefix_len = t.family == AF_INET ? 32 : 128;
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

bool netplan_build(struct net_plan *np, const struct policy *p, const char *home, struct diags *d)
{
	size_t before = d->n;
	memset(np, 0, sizeof(*np));
	np->mode = p->net_mode;
	np->policy_name = policy_display_name(p);
	np->audit_log = p->audit_log.value ? expand_home_path(p->audit_log.value, home) : NULL;
	if (p->net_mode == NET_PROXY) {
		np->port = PROXY_PORT;
		np->socket = p->socket.value ? expand_home_path(p->socket.value, home) : NULL;
	}
	/* Under another mode the policy has none of these (check refuses
	 * them) and the values are the defaults explain shows. */
	build_rules(p, &p->allow, "allow", &np->allow, &np->n_allow, d);
	build_rules(p, &p->deny, "deny", &np->deny, &np->n_deny, d);
	np->allow_private = p->allow_private;
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
	free(np->policy_name);
	free(np->audit_log);
	memset(np, 0, sizeof(*np));
}
