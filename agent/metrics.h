/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus endpoint (metrics_listener, Documentation/metrics.rst):
 * a small HTTP/1.1 server in kmqttd's loop that answers GET /metrics with
 * the text exposition format (version 0.0.4), and the writer of that text
 * from plain figures.  Every byte a scraper sends is hostile: a request
 * is read up to METRICS_REQUEST_MAX bytes, at most METRICS_CLIENTS_MAX
 * scrapers are served at once, each within METRICS_TIMEOUT_MS of its
 * connection, and nothing blocks the loop.
 */
#ifndef KMQTTD_METRICS_H
#define KMQTTD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "loop.h"

#define METRICS_REQUEST_MAX	8192	/* request line and headers */
#define METRICS_CLIENTS_MAX	16	/* beyond: closed at once */
#define METRICS_TIMEOUT_MS	5000	/* from accept to the last byte sent */
/* Where metrics_listener binds without an address: this host only. */
#define METRICS_DEFAULT_ADDR	"127.0.0.1"

struct kmqtt_nl_info;
struct listener_stats;

/* The text being written; @failed once out of memory. */
struct metrics_buf {
	char *data;
	size_t len, cap;
	bool failed;
};

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void metrics_buf_free(struct metrics_buf *b);

/* One listener's figures, for kmqtt_listener_* metrics. */
struct metrics_listener {
	const char *name;		/* "IP:PORT" */
	const struct listener_stats *stats;
	unsigned int pending;
};

/* What one scrape shows. */
struct metrics_figures {
	const struct kmqtt_nl_info *info;	/* NULL: GET_INFO failed */
	const struct metrics_listener *listeners;
	size_t listener_count;
	uint64_t start_time;		/* kmqttd's, seconds since the epoch */
};

/* The exposition of @f, appended to @b. */
void metrics_write(struct metrics_buf *b, const struct metrics_figures *f);

/* Fills @b with the body of a scrape; called once per GET /metrics. */
typedef void (*metrics_scrape_fn)(struct metrics_buf *b, void *arg);

struct metrics_socket {
	struct loop_source src;		/* the listening socket */
	struct metrics *m;
	char *addr;			/* as configured */
	char port[6];
	char name[ADDR_STR_MAX];	/* bound, "IP:PORT" */
};

struct metrics {
	struct loop *loop;
	metrics_scrape_fn scrape;
	void *arg;
	uint64_t start_time;
	struct metrics_socket *sock;	/* in force, or NULL: off */
	struct metrics_socket *next;	/* prepared, not committed */
	bool next_set;			/* next is what commit puts in force */
	/* Scrapers being served (struct metrics_client), oldest first. */
	struct deadline_list clients;
	unsigned int client_count;
	uint64_t timeout_ms;		/* METRICS_TIMEOUT_MS; tests lower it */
	uint64_t accept_resume_ms;	/* accepting paused until then, or 0 */
};

void metrics_init(struct metrics *m, struct loop *loop,
		  metrics_scrape_fn scrape, void *arg);

/*
 * The endpoint a configuration asks for: @port ("0": any, for tests) on
 * @addr (numeric IPv4 or IPv6; NULL: METRICS_DEFAULT_ADDR), or none when
 * @port is NULL.  Opens a new socket when the address or port changed
 * and leaves the one in force alone.  Returns 0, then metrics_commit()
 * or metrics_abort() must follow; or -1 with @err set and nothing
 * changed.
 */
int metrics_prepare(struct metrics *m, const char *addr, const char *port,
		    char *err, size_t errlen);
/* Put the prepared endpoint in force, closing the one it replaces. */
void metrics_commit(struct metrics *m);
void metrics_abort(struct metrics *m);

/* Milliseconds until metrics_expire() has work, or -1. */
int metrics_timeout(const struct metrics *m);
/* Close scrapers past their deadline. */
void metrics_expire(struct metrics *m);
/* Close the endpoint and every scraper. */
void metrics_close(struct metrics *m);

#endif /* KMQTTD_METRICS_H */
