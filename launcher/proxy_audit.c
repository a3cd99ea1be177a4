/* The proxy's audit records: egress_allow and egress_deny, one JSON line
 * each, with the destination, the bytes each way and why. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cordon.h"
#include "egress.h"
#include "proxy_state.h"

void audit_egress(struct conn *c, const char *event, const char *reason)
{
	struct proxy *px = c->px;
	if (px->cfg->audit_fd < 0)
		return;
	const char *proto = c->proto == P_CONNECT ? "connect"
	                    : c->proto == P_HTTP  ? "http"
	                    : c->proto == P_SOCKS ? "socks5"
	                                          : "unknown";
	buf_t f = {0};
	buf_puts(&f, ",\"host\":");
	buf_json_str(&f, c->t.host[0] ? c->t.host : "");
	buf_printf(&f, ",\"port\":%u,\"address\":", c->t.port);
	if (c->addr_text[0])
		buf_json_str(&f, c->addr_text);
	else
		buf_puts(&f, "null");
	buf_printf(&f,
	           ",\"protocol\":\"%s\",\"bytes_up\":%llu,\"bytes_down\":%llu,\"duration_ms\":%lld,\"reason\":", proto,
	           (unsigned long long)c->up.read, (unsigned long long)c->down.read, now_ms() - c->start);
	buf_json_str(&f, reason);
	audit_record(px->cfg->audit_fd, event, px->cfg->net->policy_name, c->id ? c->id->sandbox_id : "",
	             c->id ? c->id->uid : 0, f.p);
	buf_free(&f);
}
