/* libFuzzer harness: a requested authority ("host:port", "[v6]:port") and
 * the policy's decision on it. The first line of the input is the
 * authority, the rest a policy whose [network] allow/deny it is matched
 * against, so both sides vary. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "egress.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *nl = memchr(buf, '\n', size);
	size_t alen = nl ? (size_t)(nl - buf) : size;
	struct egress_target t = {0};
	const char *why = NULL;
	if (!egress_parse_authority(buf, alen, 80, &t, &why)) {
		FUZZ_CHECK(why != NULL);
		return 0;
	}
	check_target(&t);
	if (!nl)
		return 0;
	struct diags d = {0};
	struct policy *p = policy_parse("fuzz.ini", nl + 1, size - alen - 1, &d);
	struct net_plan np;
	if (p && d.n == 0 && netplan_build(&np, p, "/home/fuzz", &d)) {
		struct egress_verdict v;
		bool allowed = egress_decide(&np, &t, &v);
		FUZZ_CHECK(v.reason != NULL);
		FUZZ_CHECK(allowed == (v.kind == EGRESS_OK));
		if (allowed && t.is_ip) {
			/* The address check of a literal: what the proxy would
			 * connect to, or a refusal that reads as one line. */
			struct sockaddr_storage ss = {0};
			if (t.family == AF_INET) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
				s4->sin_family = AF_INET;
				memcpy(&s4->sin_addr, t.addr, 4);
			} else {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
				s6->sin6_family = AF_INET6;
				memcpy(&s6->sin6_addr, t.addr, 16);
			}
			allowed = egress_addr_allowed(&np, &t, (struct sockaddr *)&ss, &v);
			FUZZ_CHECK(allowed == (v.kind == EGRESS_OK));
		}
		if (!allowed) {
			buf_t text = {0};
			egress_refusal_text(&text, &np, &t, &v);
			FUZZ_CHECK(text.len > 0 && !memchr(text.p, '\n', text.len));
			buf_free(&text);
		}
		/* allow_private's ranges read back as ranges too. */
		for (size_t i = 0; i < np.n_private_ok; i++) {
			buf_t b = {0};
			net_rule_text(&b, &np.private_ok[i]);
			struct net_rule again;
			const char *why2 = NULL;
			FUZZ_CHECK(net_cidr_parse(b.p, &again, &why2));
			again.line = np.private_ok[i].line;
			FUZZ_CHECK(memcmp(&again, &np.private_ok[i], sizeof(again)) == 0);
			buf_free(&b);
		}
		/* Every rule the net plan holds reads back as a rule that
		 * parses to the same thing: explain prints what is enforced. */
		for (size_t i = 0; i < np.n_allow + np.n_deny; i++) {
			const struct net_rule *r = i < np.n_allow ? &np.allow[i] : &np.deny[i - np.n_allow];
			buf_t b = {0};
			net_rule_text(&b, r);
			struct net_rule again;
			const char *why2 = NULL;
			FUZZ_CHECK(net_rule_parse(b.p, &again, &why2));
			again.line = r->line;
			FUZZ_CHECK(memcmp(&again, r, sizeof(again)) == 0);
			buf_free(&b);
		}
		netplan_clear(&np);
	}
	policy_free(p);
	diags_free(&d);
	return 0;
}
