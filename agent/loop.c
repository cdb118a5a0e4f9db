// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "loop.h"

#define LOOP_BATCH	64

int loop_init(struct loop *loop)
{
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

void loop_fini(struct loop *loop)
{
	close(loop->epfd);
}

static int loop_ctl(struct loop *loop, int op, struct loop_source *src,
		    uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(loop->epfd, op, src->fd, &ev) ? -errno : 0;
}

int loop_add(struct loop *loop, struct loop_source *src, uint32_t events)
{
	return loop_ctl(loop, EPOLL_CTL_ADD, src, events);
}

int loop_mod(struct loop *loop, struct loop_source *src, uint32_t events)
{
	return loop_ctl(loop, EPOLL_CTL_MOD, src, events);
}

/*
 * Explicit, not left to close(): epoll watches the open file, which lives
 * on after close() when someone else (kmqtt.ko after ATTACH) holds it.
 */
void loop_del(struct loop *loop, struct loop_source *src)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
	struct epoll_event ev[LOOP_BATCH];
	int n, i;

	n = epoll_wait(loop->epfd, ev, LOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct loop_source *src = ev[i].data.ptr;

		src->handle(src, ev[i].events);
	}
	return n;
}

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void deadline_append(struct deadline_list *list, struct deadline *d,
		     uint64_t at_ms)
{
	d->at_ms = at_ms;
	d->next = NULL;
	d->prev = list->newest;
	if (list->newest)
		list->newest->next = d;
	else
		list->oldest = d;
	list->newest = d;
}

int deadline_timeout(const struct deadline_list *list, uint64_t also_ms)
{
	uint64_t now = loop_now_ms(), next = UINT64_MAX;

	if (list->oldest)
		next = list->oldest->at_ms;
	if (also_ms && also_ms < next)
		next = also_ms;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

void deadline_remove(struct deadline_list *list, struct deadline *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		list->oldest = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		list->newest = d->prev;
	d->prev = d->next = NULL;
}
