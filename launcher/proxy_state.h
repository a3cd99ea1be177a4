/* The egress proxy's insides, shared by its files: the connection state
 * machine (proxy_conn.c, proxy_relay.c), the resolver pool
 * (proxy_resolve.c), the event loop (proxy_loop.c) and audit records
 * (proxy_audit.c). The proxy's state is one struct proxy, passed to them
 * explicitly, so unit tests can drive the loop in-process; confinement
 * (proxy_confine.c) is not among them. */
#ifndef CORDON_PROXY_STATE_H
#define CORDON_PROXY_STATE_H

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "egress.h"
#include "proxy.h"

#define MAX_HEAD             ((size_t)64 << 10)
#define HEAD_MIN_BUF         ((size_t)4 << 10) /* doubles up to MAX_HEAD as a head needs */
#define HANDSHAKE_TIMEOUT_MS 10000LL           /* the whole request head, or SOCKS handshake */
#define RELAY_MIN_BUF        ((size_t)64 << 10)
#define RELAY_MAX_BUF        ((size_t)4 << 20)
#define MAX_ADDRS            16
#define ACCEPT_BATCH         64 /* connections taken from one listener per wake-up */

/* The proxy's limits, and what one sandbox may hold of them when the proxy
 * is shared (`cordon proxy`, one control connection per sandbox): a
 * quarter of each, so that one sandbox, however greedy, cannot starve the
 * others; beyond its share it gets its own 503 that says so. A built-in
 * proxy serves one sandbox, which may use all of it. Buffers beyond the
 * first (a head's first HEAD_MIN_BUF, a relay direction's first
 * RELAY_MIN_BUF) are optional: a buffer grows only while there is room. */
#define MAX_CONNECTIONS   1024
#define SHARE_CONNECTIONS 256
#define MAX_RESOLVING     256 /* names being resolved, waiting or on a thread */
#define SHARE_RESOLVING   64
#define RESOLVERS         4  /* resolver threads, built in */
#define SHARED_RESOLVERS  16 /* resolver threads of a shared proxy */
#define SHARE_RESOLVERS   4  /* of them, resolving for one sandbox at once */
#define MAX_BUFFERS       ((size_t)256 << 20)
#define SHARE_BUFFERS     ((size_t)64 << 20)

/* notify = stderr: each denied host:port told once, at most this many
 * lines a second, and this many host:ports remembered (past it, a denial
 * is told again, still within the rate). */
#define NOTIFY_PER_SECOND 5
#define NOTIFY_MAX_HOSTS  1024

enum ep_kind { EP_CLIENT, EP_UPSTREAM, EP_CONTROL, EP_SANDBOX, EP_LISTEN, EP_RESOLVED, EP_SIGNAL };

struct endpoint {
	enum ep_kind kind;
	int fd;
	uint32_t events; /* what epoll watches now */
	void *owner;
};

/* A sandbox the proxy serves: who its connections come from, for the
 * audit record, and what of the proxy they hold, against its share.
 * Freed with its last connection (or its control socket). */
struct tenant {
	char sandbox_id[33];
	uid_t uid;
	int refs;
	size_t conns;        /* connections open */
	size_t resolving;    /* jobs waiting or running */
	size_t running;      /* jobs on a resolver thread (under px->mu) */
	size_t buffers;      /* bytes of buffers its connections hold */
	long long last_shed; /* when a line about its refusals was last printed */
};

/* A sandbox: the Unix socket its pid 1 talks on, and the loopback
 * listener inside its network namespace that it handed over. */
struct control {
	struct proxy *px;
	struct control *prev, *next; /* in px->controls */
	struct endpoint ep;
	struct endpoint sandbox; /* EP_SANDBOX */
	struct tenant *id;
};

enum state { S_HEAD, S_RESOLVING, S_CONNECTING, S_RELAY };
enum proto { P_UNKNOWN, P_HTTP, P_CONNECT, P_SOCKS };

/* One direction of a relay: from -> buffer -> to. The buffer starts
 * small and doubles while reads keep filling it, so a bulk download gets
 * large reads and writes while a short request costs little memory. */
struct half {
	char *buf;
	size_t cap, off, len; /* bytes [off, off + len) wait to be written */
	uint64_t read;        /* bytes taken from the source */
	uint64_t max;         /* 0: no limit */
	bool full;            /* the last read filled the buffer */
	bool eof, shut;
};

struct conn {
	struct proxy *px;
	struct conn *prev, *next;
	struct endpoint client, upstream;
	enum state state;
	enum proto proto;
	char *buf; /* the head as it arrives */
	size_t len, buf_cap;
	char *out; /* for upstream before relaying: the rewritten head, early data */
	size_t out_len, out_off;
	struct egress_target t;
	struct sockaddr_storage addrs[MAX_ADDRS];
	socklen_t addr_lens[MAX_ADDRS];
	size_t n_addrs, next_addr;
	char addr_text[INET6_ADDRSTRLEN];
	struct half up, down;
	/* Plain HTTP: the one request the policy vetted goes upstream, its
	 * rewritten head and its body (as far as Content-Length or the
	 * chunked framing says); whatever the client sends after it is read
	 * and dropped, never forwarded: a second request on the same
	 * connection (pipelined, or smuggled past the check in the first
	 * one's body framing) could name any host. The upstream was asked to
	 * close after its answer (Connection: close), which ends the relay. */
	struct http_body body;
	uint64_t dropped; /* bytes the client sent after its request */
	long long start, deadline;
	struct tenant *id;
	struct conn *job_next; /* S_RESOLVING: the next connection waiting for the same job */
	bool socks_greeted, allowed;
	const char *end_reason;
	char end_buf[96];
	bool dead; /* closed; freed after the current batch of events */
};

/* A name to resolve, for one sandbox's connections to it: parallel
 * connections to one host (a package manager's) share one lookup. */
struct job {
	struct job *next;                /* in P.todo or P.done (under px->mu) */
	struct job *prev_job, *next_job; /* in jobs (event loop only) */
	struct conn *waiting;            /* the connections it resolves for */
	struct tenant *tenant;
	char host[EGRESS_MAX_HOST + 1];
	struct addrinfo *res;
	int err;
};

/* The proxy's state: every connection, the sandboxes it serves, the
 * resolver pool's queues, and the limits they share. One per proxy
 * process; unit tests make their own and drive the loop in-process. */
struct proxy {
	const struct proxy_config *cfg;
	int epfd;
	struct conn *conns;
	struct control *controls; /* one per sandbox served */
	struct conn *graveyard;   /* closed during this batch of events */
	size_t n_conns;
	struct endpoint resolved, sig, listen;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail, *done; /* under mu */
	struct job *jobs;                    /* every job not yet answered */
	size_t n_jobs;
	pthread_t resolvers[SHARED_RESOLVERS];
	size_t n_resolvers;
	bool quit;      /* resolver threads end (under mu) */
	size_t buffers; /* bytes of buffers all connections hold */
	bool shared;    /* `cordon proxy`: each sandbox gets its share */
	bool stopping;
	uint64_t moved;                       /* bytes relayed in the current batch of events */
	int spare_fd;                         /* given up to accept a connection only to refuse it */
	long long last_shed;                  /* when the last "refusing" line was printed */
	long long sweep_every_ms, last_sweep; /* timeouts are checked this often */
	int wait_ms;                          /* the longest wait for events */
	bool active;                          /* the last batch had events */
	char **notified;                      /* host:port already told on stderr */
	size_t n_notified;
	long long notify_window; /* when the current second of notify lines began */
	int notify_lines;        /* lines told in it */
};

/* proxy_loop.c: a proxy serving cfg's sockets, its resolver threads
 * started; with sigmask, the signals in it (blocked by the caller) stop
 * it. No confinement: proxy_run confines the process first. */
struct proxy *proxy_new(const struct proxy_config *cfg, const sigset_t *sigmask);
/* One batch of events (waiting at most wait_ms), then the timeouts when
 * due. */
void proxy_step(struct proxy *px);
/* Steps until stopped (a signal, or a built-in proxy's sandbox gone),
 * then ends every connection with its record. */
void proxy_serve(struct proxy *px);
/* Ends the connections (each with its record) and the resolver threads,
 * closes every descriptor the proxy holds (cfg's sockets among them) and
 * frees it. */
void proxy_free(struct proxy *px);

/* proxy_loop.c: the event loop and the sandboxes' sockets */
void watch(struct proxy *px, struct endpoint *ep, uint32_t events);
void endpoint_init(struct endpoint *ep, enum ep_kind kind, int fd, void *owner);
void endpoint_close(struct endpoint *ep);

/* proxy_conn.c: a connection from its request to its relay */
void tenant_put(struct tenant *id);
bool buffer_room(struct proxy *px, const struct tenant *id, size_t more);
char *buffer_get(struct proxy *px, struct tenant *id, size_t n);
void buffer_put(struct proxy *px, struct tenant *id, char **p, size_t *n);
void conn_free(struct conn *c);
void bury(struct proxy *px);
void conn_end(struct conn *c, const char *reason);
bool shed_line_due(long long *last);
void shed(struct proxy *px, int fd, const char *why);
void over_share(struct tenant *id, const char *why);
void conn_new(struct proxy *px, int fd, struct tenant *id);
void http_error(struct conn *c, int status, const char *title, const char *text);
void deny(struct conn *c, int http_status, int socks_code, const char *reason);
void vet_and_connect(struct conn *c, const struct addrinfo *res);
void on_client_head(struct conn *c);
void on_connected(struct conn *c);

/* proxy_relay.c: moving bytes, within the byte caps */
void relay_update(struct conn *c);

/* proxy_resolve.c: the resolver thread pool */
void on_resolved(struct proxy *px);
void resolve(struct conn *c);
void resolvers_start(struct proxy *px, size_t n);
void resolvers_stop(struct proxy *px);

/* proxy_audit.c: egress records */
void audit_egress(struct conn *c, const char *event, const char *reason);

#endif
