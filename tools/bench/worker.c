// SPDX-License-Identifier: GPL-2.0
/*
 * A worker thread: one epoll set for its clients, connection pacing during
 * setup, its publishers' credit while running, keepalive, and DISCONNECT
 * at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"

#define MAX_EVENTS	256
/* How often the worker looks at the phase and keepalives at the least. */
#define TICK_NS		(100 * 1000 * 1000ull)

int worker_init(struct worker *w, struct bench *b, uint32_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	w->idx = idx;
	w->bench = b;
	hist_init(&w->hist);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0)
		return -errno;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev))
		return -errno;
	w->clients = calloc(b->plan.nclients / b->opt.threads + 1,
			    sizeof(*w->clients));
	w->pubs = calloc(b->plan.npubs / b->opt.threads + 1, sizeof(*w->pubs));
	return w->clients && w->pubs ? 0 : -ENOMEM;
}

void worker_free(struct worker *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	free(w->clients);
	free(w->pubs);
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("kmqtt-bench: eventfd");
}

/*
 * MAX_HANDSHAKES is for all workers together: it stays below the listen
 * backlog of common brokers (Mosquitto's is 100), whose overflow costs a
 * SYN retransmission, a second or more.
 */
static uint32_t worker_max_handshakes(const struct worker *w)
{
	uint32_t n = MAX_HANDSHAKES / w->bench->opt.threads;

	return n ? n : 1;
}

/* --connect-rate is shared evenly by the workers. */
static void worker_connect_more(struct worker *w, uint64_t now)
{
	const struct options *o = &w->bench->opt;
	double per_ns = o->connect_rate / o->threads / NSEC_PER_SEC;
	uint64_t allowed;

	while (w->next_connect < w->nclients &&
	       w->handshakes < worker_max_handshakes(w) && !w->bench->failed) {
		if (per_ns > 0) {
			allowed = (uint64_t)((now - w->setup_ns) * per_ns) + 1;
			if (w->next_connect >= allowed)
				break;
		}
		w->handshakes++;
		client_connect(w->clients[w->next_connect++]);
	}
}

static void worker_publish(struct worker *w, uint64_t now)
{
	uint32_t i;

	for (i = 0; i < w->npubs; i++) {
		struct publisher *p = w->pubs[i];

		if (!p->start_ns)
			publisher_start(p, w->bench->start_ns);
		publisher_fill(p, now);
		client_pump(p->client);
	}
}

static void worker_tick(struct worker *w, uint64_t now)
{
	uint32_t i;

	if (now < w->tick_ns)
		return;
	w->tick_ns = now + TICK_NS;
	for (i = 0; i < w->nclients; i++)
		client_keepalive(w->clients[i], now);
}

/* Milliseconds epoll_wait may sleep, rounded up. */
static int worker_timeout(struct worker *w, int phase, uint64_t now)
{
	int64_t wait = TICK_NS, p;
	uint32_t i;

	if (phase == PHASE_SETUP && w->next_connect < w->nclients &&
	    w->handshakes < worker_max_handshakes(w))
		wait = 1000 * 1000;
	for (i = 0; phase == PHASE_RUN && i < w->npubs && wait; i++) {
		p = publisher_wait_ns(w->pubs[i], now);
		if (p >= 0 && p < wait)
			wait = p;
	}
	return (wait + 999999) / 1000000;
}

static void worker_events(struct worker *w, struct epoll_event *ev, int n)
{
	uint64_t drained;
	int i;

	for (i = 0; i < n; i++) {
		if (!ev[i].data.ptr) {
			if (read(w->evfd, &drained, sizeof(drained)) < 0 &&
			    errno != EAGAIN)
				perror("kmqtt-bench: eventfd");
			continue;
		}
		client_event(ev[i].data.ptr, ev[i].events);
	}
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[MAX_EVENTS];
	uint64_t now = now_ns();
	int phase, n;
	uint32_t i;

	w->setup_ns = now;
	for (;;) {
		phase = bench_phase(w->bench);
		if (phase == PHASE_DONE)
			break;
		if (phase == PHASE_SETUP)
			worker_connect_more(w, now);
		if (phase == PHASE_RUN)
			worker_publish(w, now);
		n = epoll_wait(w->epfd, ev, MAX_EVENTS,
			       worker_timeout(w, phase, now));
		if (n < 0 && errno != EINTR) {
			bench_fail(w->bench, "epoll_wait: %s", strerror(errno));
			break;
		}
		worker_events(w, ev, n > 0 ? n : 0);
		now = now_ns();
		worker_tick(w, now);
	}
	for (i = 0; i < w->nclients; i++)
		client_disconnect(w->clients[i]);
	return NULL;
}
