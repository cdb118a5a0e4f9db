/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's event loop: one epoll set, each file descriptor with its own
 * handler.  Handlers may free their own source, never another one.
 */
#ifndef KMQTTD_LOOP_H
#define KMQTTD_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct loop_source {
	int fd;
	void (*handle)(struct loop_source *src, uint32_t events);
};

struct loop {
	int epfd;
};

int loop_init(struct loop *loop);
void loop_fini(struct loop *loop);
int loop_add(struct loop *loop, struct loop_source *src, uint32_t events);
int loop_mod(struct loop *loop, struct loop_source *src, uint32_t events);
void loop_del(struct loop *loop, struct loop_source *src);

/* Wait up to @timeout_ms (-1: forever) and run the handlers of ready fds. */
int loop_run_once(struct loop *loop, int timeout_ms);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
uint64_t loop_now_ms(void);

/*
 * Things due at a deadline, oldest first: each is appended with a
 * deadline no earlier than the newest's (now plus a fixed timeout), so
 * the oldest is always the next due.  Embedded in what it times.
 */
struct deadline {
	struct deadline *prev, *next;
	uint64_t at_ms;			/* loop_now_ms() time it is due */
};

struct deadline_list {
	struct deadline *oldest, *newest;
};

/* Append @d, due at @at_ms. */
void deadline_append(struct deadline_list *list, struct deadline *d,
		     uint64_t at_ms);
/* Take @d, appended, out of @list. */
void deadline_remove(struct deadline_list *list, struct deadline *d);

/*
 * Milliseconds until the sooner of @list's oldest deadline and @also_ms
 * (a loop_now_ms() time, 0: none), 0 when it is past; -1 for neither.
 */
int deadline_timeout(const struct deadline_list *list, uint64_t also_ms);

#endif /* KMQTTD_LOOP_H */
