/* The proxy's resolver pool: getaddrinfo() blocks, so a few threads run
 * it; parallel connections of one sandbox to one name share a lookup,
 * and a shared proxy gives each sandbox its share of the threads. */
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

/* The oldest waiting job whose sandbox is under its share of resolver
 * threads, taken off the queue; NULL if none. A sandbox with many slow
 * names then holds SHARE_RESOLVERS threads at most, and the next sandbox's
 * job goes ahead of its queue. Called with P.mu held. */
static struct job *next_job(struct proxy *px)
{
	size_t limit = px->shared ? SHARE_RESOLVERS : SIZE_MAX; /* built in: all of them */
	for (struct job *j = px->todo, *prev = NULL; j; prev = j, j = j->next) {
		if (j->tenant->running >= limit)
			continue;
		if (prev)
			prev->next = j->next;
		else
			px->todo = j->next;
		if (px->todo_tail == j)
			px->todo_tail = prev;
		j->tenant->running++;
		return j;
	}
	return NULL;
}

static void *resolver(void *arg)
{
	struct proxy *px = arg;
	for (;;) {
		pthread_mutex_lock(&px->mu);
		struct job *j = NULL;
		while (!px->quit && !(j = next_job(px)))
			pthread_cond_wait(&px->cv, &px->mu);
		if (px->quit) {
			pthread_mutex_unlock(&px->mu);
			return NULL;
		}
		pthread_mutex_unlock(&px->mu);

		struct addrinfo hints = {
		    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
		j->err = getaddrinfo(j->host, NULL, &hints, &j->res);

		pthread_mutex_lock(&px->mu);
		j->tenant->running--;
		j->next = px->done;
		px->done = j;
		/* A job passed over for this sandbox's share may go now. */
		if (px->todo)
			pthread_cond_broadcast(&px->cv);
		pthread_mutex_unlock(&px->mu);
		uint64_t one = 1;
		(void)!write(px->resolved.fd, &one, sizeof(one));
	}
	return NULL;
}

void on_resolved(struct proxy *px)
{
	uint64_t n;
	(void)!read(px->resolved.fd, &n, sizeof(n));
	pthread_mutex_lock(&px->mu);
	struct job *list = px->done;
	px->done = NULL;
	pthread_mutex_unlock(&px->mu);
	while (list) {
		struct job *j = list;
		list = j->next;
		if (j->prev_job)
			j->prev_job->next_job = j->next_job;
		else
			px->jobs = j->next_job;
		if (j->next_job)
			j->next_job->prev_job = j->prev_job;
		px->n_jobs--;
		j->tenant->resolving--;
		char why[200] = "";
		if (j->err)
			snprintf(why, sizeof(why), "cannot resolve: %s", gai_strerror(j->err));
		for (struct conn *c = j->waiting, *next; c; c = next) {
			next = c->job_next;
			if (j->err)
				deny(c, 502, 4, why);
			else
				vet_and_connect(c, j->res);
		}
		if (j->res)
			freeaddrinfo(j->res);
		free(j);
	}
}

/* Resolves c's name on a resolver thread, with the other connections of
 * its sandbox waiting for the same name if there are any. */
void resolve(struct conn *c)
{
	struct proxy *px = c->px;
	for (struct job *j = px->jobs; j; j = j->next_job) {
		if (j->tenant == c->id && strcmp(j->host, c->t.host) == 0) {
			c->state = S_RESOLVING;
			c->job_next = j->waiting;
			j->waiting = c;
			return;
		}
	}
	char why[128];
	if (px->shared && c->id->resolving >= SHARE_RESOLVING) {
		snprintf(why, sizeof(why),
		         "this sandbox has %d names being resolved, its share of the shared egress proxy",
		         SHARE_RESOLVING);
		over_share(c->id, why);
		deny(c, 503, 1, why);
		return;
	}
	if (px->n_jobs >= MAX_RESOLVING) {
		snprintf(why, sizeof(why), "the egress proxy has %d names being resolved, its limit", MAX_RESOLVING);
		if (shed_line_due(&px->last_shed))
			warn_msg("egress: %s; refusing requests", why);
		deny(c, 503, 1, why);
		return;
	}
	struct job *j = xcalloc(1, sizeof(*j));
	j->waiting = c;
	j->tenant = c->id;
	memcpy(j->host, c->t.host, sizeof(j->host));
	j->next_job = px->jobs;
	if (px->jobs)
		px->jobs->prev_job = j;
	px->jobs = j;
	px->n_jobs++;
	c->id->resolving++;
	c->state = S_RESOLVING;
	pthread_mutex_lock(&px->mu);
	if (px->todo_tail)
		px->todo_tail->next = j;
	else
		px->todo = j;
	px->todo_tail = j;
	pthread_cond_signal(&px->cv);
	pthread_mutex_unlock(&px->mu);
}

void resolvers_start(struct proxy *px, size_t n)
{
	for (size_t i = 0; i < n && i < N_ELEMENTS(px->resolvers); i++) {
		if (pthread_create(&px->resolvers[i], NULL, resolver, px) != 0)
			die("proxy: cannot start resolver threads");
		px->n_resolvers++;
	}
}

/* Waits for each thread's lookup in progress; frees the jobs left. */
void resolvers_stop(struct proxy *px)
{
	pthread_mutex_lock(&px->mu);
	px->quit = true;
	pthread_cond_broadcast(&px->cv);
	pthread_mutex_unlock(&px->mu);
	for (size_t i = 0; i < px->n_resolvers; i++)
		pthread_join(px->resolvers[i], NULL);
	px->n_resolvers = 0;
	while (px->jobs) {
		struct job *j = px->jobs;
		px->jobs = j->next_job;
		if (j->res)
			freeaddrinfo(j->res);
		free(j);
	}
	px->todo = px->todo_tail = px->done = NULL;
	px->n_jobs = 0;
}
