// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of agent/metrics.c: the exposition text from figures, and the
 * HTTP server over real loopback sockets with a fake scrape, driven by
 * the agent's loop as kmqttd drives it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>

#include "kmqtt_nl.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "test_loopback.h"
#include "kselftest_harness.h"

/* -- The exposition -- */

static char *render(const struct metrics_figures *f)
{
	struct metrics_buf b = { 0 };

	metrics_write(&b, f);
	if (b.failed) {
		metrics_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The line of @text that starts with @prefix, or NULL. */
static const char *line_with(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *l;

	for (l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, prefix, n))
			return l;
	return NULL;
}

/* Each of @lines (each up to its newline) is a line of @text. */
#define EXPECT_LINES(text, ...) \
	expect_lines(_metadata, text, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_lines(struct __test_metadata *_metadata, const char *text,
			 const char *const *lines)
{
	for (; *lines; lines++)
		EXPECT_NE(NULL, line_with(text, *lines)) {
			TH_LOG("no line %s", *lines);
		}
}

/*
 * Every sample's family has HELP and TYPE lines before it, once; counters
 * end in _total and gauges do not.  Returns NULL or what is wrong.
 */
static const char *check_format(const char *text, char *why, size_t len)
{
	char seen[64][96], name[96], type[16];
	const char *l, *end;
	int families = 0, i;
	size_t n;

	for (l = text; *l; l = end + 1) {
		end = strchr(l, '\n');
		if (!end)
			return "text does not end with a newline";
		if (sscanf(l, "# TYPE %95s %15s", name, type) == 2) {
			for (i = 0; i < families; i++)
				if (!strcmp(seen[i], name))
					return "a TYPE line twice";
			n = strlen(name);
			if (!strcmp(type, "counter") !=
			    (n > 6 && !strcmp(name + n - 6, "_total"))) {
				snprintf(why, len, "%s %s: _total is for counters",
					 name, type);
				return why;
			}
			if (families == 64)
				return "too many families";
			snprintf(seen[families++], sizeof(seen[0]), "%s", name);
			continue;
		}
		if (*l == '#')
			continue;
		n = strcspn(l, "{ ");
		if (!families || strncmp(seen[families - 1], l, n) ||
		    seen[families - 1][n]) {
			snprintf(why, len, "sample without its TYPE: %.*s",
				 (int)(end - l), l);
			return why;
		}
	}
	return NULL;
}

static void expect_format(struct __test_metadata *_metadata, const char *text)
{
	char why[256];

	EXPECT_EQ(NULL, check_format(text, why, sizeof(why))) {
		TH_LOG("%s", why);
	}
}

TEST(exposition_every_module_total)
{
	struct kmqtt_nl_info info = { 0 };
	struct metrics_figures f = { .info = &info, .start_time = 1700000000 };
	char want[64];
	char *text;
	int id;

	for (id = KMQTT_STAT_PAD + 1; id <= KMQTT_STAT_MAX; id++)
		info.stats[id] = 1000 + (uint64_t)id;
	text = render(&f);
	ASSERT_NE(NULL, text);
	expect_format(_metadata, text);
	/* Each total once, under its own name; the drops' sum is left out. */
	for (id = KMQTT_STAT_PAD + 1; id <= KMQTT_STAT_MAX; id++) {
		snprintf(want, sizeof(want), " %d\n", 1000 + id);
		if (id == KMQTT_STAT_MSGS_DROPPED) {
			EXPECT_EQ(NULL, strstr(text, want));
			continue;
		}
		EXPECT_NE(NULL, strstr(text, want)) {
			TH_LOG("stat %d is not exported", id);
		}
		if (strstr(text, want))
			EXPECT_EQ(NULL, strstr(strstr(text, want) + 1, want));
	}
	EXPECT_NE(NULL, line_with(text, "kmqtt_connections_open 1002\n"));
	snprintf(want, sizeof(want),
		 "kmqtt_messages_dropped_total{reason=\"queue_full\"} %d\n",
		 1000 + KMQTT_STAT_DROPPED_QUEUE_FULL);
	EXPECT_LINES(text, want, "kmqtt_module_up 1\n",
		     "kmqtt_start_time_seconds 1700000000\n",
		     "kmqtt_build_info{version=\"",
		     "# HELP kmqtt_received_bytes_total ",
		     "# TYPE kmqtt_received_bytes_total counter\n",
		     "# TYPE kmqtt_memory_bytes gauge\n");
	free(text);
}

TEST(exposition_without_the_module)
{
	struct metrics_figures f = { 0 };
	char *text = render(&f);

	ASSERT_NE(NULL, text);
	expect_format(_metadata, text);
	EXPECT_NE(NULL, line_with(text, "kmqtt_module_up 0\n"));
	EXPECT_EQ(NULL, strstr(text, "kmqtt_connections_open"));
	EXPECT_EQ(NULL, strstr(text, "kmqtt_messages_dropped_total{"));
	free(text);
}

TEST(exposition_listeners)
{
	struct listener_stats s1 = { .accepted = 7, .attached = 3,
				     .timeouts = 2, .overflows = 1,
				     .dropped = 4 };
	struct listener_stats s2 = { 0 };
	struct metrics_listener ls[] = {
		{ .name = "127.0.0.1:1883", .stats = &s1, .pending = 5 },
		{ .name = "[::1]:8883", .stats = &s2 },
	};
	struct metrics_figures f = { .listeners = ls, .listener_count = 2 };
	char *text;

	s1.refused[MQTT_RC_NOT_AUTHORIZED - 0x80] = 6;
	s1.refused[MQTT_RC_QUOTA_EXCEEDED - 0x80] = 1;
	/* Codes without a name of their own add up under "other". */
	s1.refused[MQTT_RC_BANNED - 0x80] = 8;
	s1.refused[MQTT_RC_SERVER_BUSY - 0x80] = 1;
	text = render(&f);
	ASSERT_NE(NULL, text);
	expect_format(_metadata, text);
	EXPECT_LINES(text,
		"kmqtt_listener_connections_accepted_total{listener=\"127.0.0.1:1883\"} 7\n",
		"kmqtt_listener_connections_attached_total{listener=\"127.0.0.1:1883\"} 3\n",
		"kmqtt_listener_connects_refused_total{listener=\"127.0.0.1:1883\",reason=\"not_authorized\"} 6\n",
		"kmqtt_listener_connects_refused_total{listener=\"127.0.0.1:1883\",reason=\"quota_exceeded\"} 1\n",
		"kmqtt_listener_connects_refused_total{listener=\"127.0.0.1:1883\",reason=\"other\"} 9\n",
		"kmqtt_listener_connects_refused_total{listener=\"[::1]:8883\",reason=\"not_authorized\"} 0\n",
		"kmqtt_listener_connections_dropped_total{listener=\"127.0.0.1:1883\",reason=\"timeout\"} 2\n",
		"kmqtt_listener_connections_dropped_total{listener=\"127.0.0.1:1883\",reason=\"too_many_pending\"} 1\n",
		"kmqtt_listener_connections_dropped_total{listener=\"127.0.0.1:1883\",reason=\"other\"} 4\n",
		"kmqtt_listener_connections_pending{listener=\"127.0.0.1:1883\"} 5\n",
		"kmqtt_listener_connections_pending{listener=\"[::1]:8883\"} 0\n");
	free(text);
}

/* A label value with quotes, a backslash or a newline stays one line. */
TEST(exposition_label_escaped)
{
	struct listener_stats s = { 0 };
	struct metrics_listener ls = { .name = "a\"b\\c\nd", .stats = &s };
	struct metrics_figures f = { .listeners = &ls, .listener_count = 1 };
	char *text = render(&f);

	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, line_with(text, "kmqtt_listener_connections_pending{listener=\"a\\\"b\\\\c\\nd\"} 0\n"));
	free(text);
}

/*
 * promtool, Prometheus' own checker (tools/deps.sh installs it), on a
 * scrape with every figure set: no error and no lint.
 */
TEST(exposition_passes_promtool)
{
	struct kmqtt_nl_info info = { 0 };
	struct listener_stats s = { .accepted = 1 };
	struct metrics_listener ls[] = {
		{ .name = "127.0.0.1:1883", .stats = &s, .pending = 1 },
		{ .name = "[::]:8883", .stats = &s },
	};
	struct metrics_figures f = { .info = &info, .listeners = ls,
				     .listener_count = 2,
				     .start_time = 1700000000 };
	char path[] = "/tmp/kmqtt-metrics-XXXXXX", cmd[256], out[4096];
	size_t n;
	FILE *p;
	char *text;
	int fd, id, status;

	if (system("command -v promtool >/dev/null 2>&1"))
		SKIP(return, "no promtool (tools/deps.sh installs it)");
	for (id = KMQTT_STAT_PAD + 1; id <= KMQTT_STAT_MAX; id++)
		info.stats[id] = (uint64_t)id * 12345;
	text = render(&f);
	ASSERT_NE(NULL, text);
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(text), write(fd, text, strlen(text)));
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	unlink(path);
	free(text);
	EXPECT_EQ(0, status) {
		TH_LOG("promtool: %s", out);
	}
	EXPECT_EQ(0, n) {
		TH_LOG("promtool: %s", out);
	}
}

/* -- The server -- */

/* What the fake scrape writes: @scrape_size bytes of @scrape_fill lines. */
static size_t scrape_size;
static int scrapes;

static void fake_scrape(struct metrics_buf *b, void *arg)
{
	size_t i;

	(void)arg;
	scrapes++;
	if (!scrape_size) {
		metrics_buf_printf(b, "kmqtt_test 1\n");
		return;
	}
	for (i = 0; i + 10 <= scrape_size; i += 10)
		metrics_buf_printf(b, "#%08zu\n", i);
}

FIXTURE(server) {
	struct loop loop;
	struct metrics m;
	uint16_t port;
};

static uint16_t bound_port(const struct metrics *m)
{
	const char *colon = strrchr(m->sock->name, ':');

	return colon ? (uint16_t)atoi(colon + 1) : 0;
}

FIXTURE_SETUP(server)
{
	char err[256];

	log_init(false);
	scrape_size = 0;
	scrapes = 0;
	ASSERT_EQ(0, loop_init(&self->loop));
	metrics_init(&self->m, &self->loop, fake_scrape, NULL);
	ASSERT_EQ(0, metrics_prepare(&self->m, NULL, "0", err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	metrics_commit(&self->m);
	ASSERT_NE(NULL, self->m.sock);
	ASSERT_EQ(0, strncmp(self->m.sock->name, "127.0.0.1:", 10));
	self->port = bound_port(&self->m);
	ASSERT_NE(0, self->port);
}

FIXTURE_TEARDOWN(server)
{
	metrics_close(&self->m);
	loop_fini(&self->loop);
}

/* Non-blocking: the test turns the loop while its clients wait. */
static int client_connect(uint16_t port)
{
	return test_loopback_connect(port, SOCK_STREAM | SOCK_NONBLOCK);
}

static void turn(struct metrics *m, struct loop *loop)
{
	loop_run_once(loop, 5);
	metrics_expire(m);
}

/*
 * Run the loop and read @fd until it is closed, at most @max_ms: returns
 * the bytes read into @buf (NUL-terminated, the rest dropped), or -1 if
 * it was not closed in time.
 */
static ssize_t read_until_closed(struct metrics *m, struct loop *loop, int fd,
				 char *buf, size_t cap, int max_ms)
{
	uint64_t until = loop_now_ms() + (uint64_t)max_ms;
	size_t have = 0;
	char scratch[65536];
	ssize_t n;

	while (loop_now_ms() < until) {
		turn(m, loop);
		for (;;) {
			n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
			if (n > 0) {
				if (have + 1 < cap) {
					size_t take = (size_t)n < cap - 1 - have ?
						      (size_t)n : cap - 1 - have;

					memcpy(buf + have, scratch, take);
				}
				have += (size_t)n;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				buf[have < cap ? have : cap - 1] = '\0';
				return (ssize_t)have;
			}
			break;
		}
	}
	return -1;
}

/* Send @req whole on a new connection; the response, -1 if none. */
static ssize_t exchange(struct metrics *m, struct loop *loop, uint16_t port,
			const char *req, size_t len, char *buf, size_t cap)
{
	int fd = client_connect(port);
	ssize_t n;

	if (fd < 0)
		return -1;
	turn(m, loop);		/* accepted */
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	n = read_until_closed(m, loop, fd, buf, cap, 3000);
	close(fd);
	return n;
}

#define GET_METRICS "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"

/* Turn the loop until every scraper is gone (they close after us). */
static unsigned int settle(struct metrics *m, struct loop *loop)
{
	int i;

	for (i = 0; i < 200 && m->client_count; i++)
		turn(m, loop);
	return m->client_count;
}

static const char *body_of(const char *response)
{
	const char *end = strstr(response, "\r\n\r\n");

	return end ? end + 4 : "";
}

TEST_F(server, get_metrics)
{
	char buf[4096];
	ssize_t n;

	n = exchange(&self->m, &self->loop, self->port, GET_METRICS,
		     strlen(GET_METRICS), buf, sizeof(buf));
	ASSERT_LT(0, n);
	EXPECT_EQ(0, strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
	EXPECT_NE(NULL, strstr(buf, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	EXPECT_NE(NULL, strstr(buf, "\r\nContent-Length: 13\r\n"));
	EXPECT_NE(NULL, strstr(buf, "\r\nConnection: close\r\n"));
	EXPECT_STREQ("kmqtt_test 1\n", body_of(buf));
	EXPECT_EQ(1, scrapes);
	EXPECT_EQ(0, settle(&self->m, &self->loop));
}

TEST_F(server, head_has_no_body)
{
	const char req[] = "HEAD /metrics HTTP/1.0\r\n\r\n";
	char buf[4096];

	ASSERT_LT(0, exchange(&self->m, &self->loop, self->port, req,
			      strlen(req), buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
	EXPECT_NE(NULL, strstr(buf, "\r\nContent-Length: 13\r\n"));
	EXPECT_STREQ("", body_of(buf));
}

TEST_F(server, wrong_path_method_or_line)
{
	static const struct {
		const char *req, *status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 " },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", "HTTP/1.1 404 " },
		{ "GET /metrics/ HTTP/1.1\r\n\r\n", "HTTP/1.1 404 " },
		{ "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 " },
		{ "DELETE /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 " },
		{ "get /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 " },
		{ "GET /metrics\r\n\r\n", "HTTP/1.1 400 " },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 " },
		{ "GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.1 400 " },
		{ "GET /metrics HTTP/1.1 x\r\n\r\n", "HTTP/1.1 400 " },
		{ "\r\n\r\n", "HTTP/1.1 400 " },
		/* a NUL is a byte like any other: not /metrics */
		{ "GET /metrics\0 HTTP/1.1\r\n\r\n", "HTTP/1.1 404 " },
	};
	char buf[4096];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].req);

		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			len = sizeof("GET /metrics\0 HTTP/1.1\r\n\r\n") - 1;
		ASSERT_LT(0, exchange(&self->m, &self->loop, self->port,
				      cases[i].req, len, buf, sizeof(buf)));
		EXPECT_EQ(0, strncmp(buf, cases[i].status,
				     strlen(cases[i].status))) {
			TH_LOG("%s: got %.40s", cases[i].req, buf);
		}
		EXPECT_NE(NULL, strstr(buf, "\r\nConnection: close\r\n"));
		if (!strncmp(cases[i].status, "HTTP/1.1 405", 12))
			EXPECT_NE(NULL, strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
	}
	EXPECT_EQ(0, scrapes);
	EXPECT_EQ(0, settle(&self->m, &self->loop));
}

/* A query string is allowed; a bare \n ends lines too. */
TEST_F(server, query_and_bare_newlines)
{
	const char req[] = "GET /metrics?x=1 HTTP/1.1\nHost: x\n\n";
	char buf[4096];

	ASSERT_LT(0, exchange(&self->m, &self->loop, self->port, req,
			      strlen(req), buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
}

/* A request in pieces, a byte at a time: answered once it is whole. */
TEST_F(server, partial_request)
{
	const char *req = GET_METRICS;
	char buf[4096];
	size_t i;
	int fd = client_connect(self->port);

	ASSERT_LE(0, fd);
	for (i = 0; req[i]; i++) {
		ASSERT_EQ(1, send(fd, req + i, 1, MSG_NOSIGNAL));
		turn(&self->m, &self->loop);
		if (req[i + 1]) {
			ASSERT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
			ASSERT_EQ(EAGAIN, errno);
			ASSERT_EQ(0, scrapes);
		}
	}
	ASSERT_LT(0, read_until_closed(&self->m, &self->loop, fd, buf,
				       sizeof(buf), 3000));
	EXPECT_EQ(0, strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
	EXPECT_STREQ("kmqtt_test 1\n", body_of(buf));
	close(fd);
}

/* Headers past 8 KiB: 431, closed, nothing scraped. */
TEST_F(server, oversized_request)
{
	size_t len = METRICS_REQUEST_MAX + 1000;
	char *req = malloc(len), buf[4096];

	ASSERT_NE(NULL, req);
	memset(req, 'a', len);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX: ", 26);
	ASSERT_LT(0, exchange(&self->m, &self->loop, self->port, req, len, buf,
			      sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "HTTP/1.1 431 ", 13));
	EXPECT_EQ(0, scrapes);
	EXPECT_EQ(0, settle(&self->m, &self->loop));
	free(req);
}

/* A client that never finishes its request is closed at its deadline. */
TEST_F(server, slow_client_timed_out)
{
	char buf[256];
	uint64_t start;
	ssize_t n;
	int fd;

	self->m.timeout_ms = 300;
	fd = client_connect(self->port);
	ASSERT_LE(0, fd);
	turn(&self->m, &self->loop);
	ASSERT_EQ(5, send(fd, "GET /", 5, MSG_NOSIGNAL));
	start = loop_now_ms();
	ASSERT_EQ(1, self->m.client_count);
	ASSERT_LE(0, metrics_timeout(&self->m));
	ASSERT_GE(300, metrics_timeout(&self->m));
	n = read_until_closed(&self->m, &self->loop, fd, buf, sizeof(buf),
			      3000);
	EXPECT_EQ(0, n);
	EXPECT_LE(250, loop_now_ms() - start);
	EXPECT_EQ(0, self->m.client_count);
	EXPECT_EQ(-1, metrics_timeout(&self->m));
	EXPECT_EQ(0, scrapes);
	close(fd);
}

/*
 * METRICS_CLIENTS_MAX silent clients: the next one is closed at once,
 * and served once they are gone.
 */
TEST_F(server, scrapers_bounded)
{
	int fds[METRICS_CLIENTS_MAX], fd, i;
	char buf[4096];

	for (i = 0; i < METRICS_CLIENTS_MAX; i++) {
		fds[i] = client_connect(self->port);
		ASSERT_LE(0, fds[i]);
		turn(&self->m, &self->loop);
	}
	for (i = 0; i < 20 && self->m.client_count < METRICS_CLIENTS_MAX; i++)
		turn(&self->m, &self->loop);
	ASSERT_EQ(METRICS_CLIENTS_MAX, self->m.client_count);
	fd = client_connect(self->port);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(GET_METRICS),
		  send(fd, GET_METRICS, strlen(GET_METRICS), MSG_NOSIGNAL));
	EXPECT_EQ(0, read_until_closed(&self->m, &self->loop, fd, buf,
				       sizeof(buf), 3000));
	EXPECT_EQ(0, scrapes);
	close(fd);
	for (i = 0; i < METRICS_CLIENTS_MAX; i++)
		close(fds[i]);
	for (i = 0; i < 100 && self->m.client_count; i++)
		turn(&self->m, &self->loop);
	EXPECT_EQ(0, self->m.client_count);
	ASSERT_LT(0, exchange(&self->m, &self->loop, self->port, GET_METRICS,
			      strlen(GET_METRICS), buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
}

/*
 * A response far larger than the socket buffers, to a client that reads
 * only while the loop turns: sent whole through EPOLLOUT, the loop never
 * blocked (each turn returns), and another scraper served meanwhile.
 */
TEST_F(server, large_response_without_blocking)
{
	size_t want_body = 8000000;	/* of 10-byte lines */
	char *buf = malloc(want_body + 4096), other[4096];
	const char *body;
	int rcvbuf = 65536;
	int fd, i;
	ssize_t n;

	ASSERT_NE(NULL, buf);
	self->m.timeout_ms = 30000;
	scrape_size = want_body;
	fd = client_connect(self->port);
	ASSERT_LE(0, fd);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	turn(&self->m, &self->loop);
	ASSERT_EQ((ssize_t)strlen(GET_METRICS),
		  send(fd, GET_METRICS, strlen(GET_METRICS), MSG_NOSIGNAL));
	for (i = 0; i < 50 && !scrapes; i++)
		turn(&self->m, &self->loop);
	ASSERT_EQ(1, scrapes);
	ASSERT_EQ(1, self->m.client_count);	/* still writing */
	scrape_size = 0;
	ASSERT_LT(0, exchange(&self->m, &self->loop, self->port, GET_METRICS,
			      strlen(GET_METRICS), other, sizeof(other)));
	EXPECT_STREQ("kmqtt_test 1\n", body_of(other));
	n = read_until_closed(&self->m, &self->loop, fd, buf,
			      want_body + 4096, 20000);
	ASSERT_LT(0, n);
	body = body_of(buf);
	EXPECT_EQ(want_body, strlen(body));
	EXPECT_EQ(0, strncmp(body + want_body - 10, "#07999990\n", 10));
	close(fd);
	fd = -1;
	EXPECT_EQ(0, settle(&self->m, &self->loop));
	free(buf);
}

/*
 * Reload: the same address and port keep the socket, another opens a new
 * one once committed, an abort leaves the current one, none closes it.
 */
TEST_F(server, reconfigure)
{
	struct metrics_socket *first = self->m.sock;
	char err[256], buf[4096];
	int fd;

	ASSERT_EQ(0, metrics_prepare(&self->m, "127.0.0.1", "0", err,
				     sizeof(err)));
	metrics_commit(&self->m);
	EXPECT_EQ(first, self->m.sock);

	ASSERT_EQ(0, metrics_prepare(&self->m, "::1", "0", err, sizeof(err)));
	metrics_abort(&self->m);
	EXPECT_EQ(first, self->m.sock);

	EXPECT_EQ(-1, metrics_prepare(&self->m, "not-an-ip", "0", err,
				      sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not an IPv4 or IPv6 address"));
	metrics_commit(&self->m);		/* nothing prepared */
	EXPECT_EQ(first, self->m.sock);

	ASSERT_EQ(0, metrics_prepare(&self->m, "[::1]", "0", err,
				     sizeof(err)));
	metrics_commit(&self->m);
	ASSERT_NE(NULL, self->m.sock);
	EXPECT_EQ(0, strncmp(self->m.sock->name, "[::1]:", 6));
	/* The old port is closed. */
	fd = client_connect(self->port);
	if (fd >= 0) {
		turn(&self->m, &self->loop);
		EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), 0));
		EXPECT_EQ(ECONNREFUSED, errno);
		close(fd);
	}

	ASSERT_EQ(0, metrics_prepare(&self->m, NULL, NULL, err, sizeof(err)));
	metrics_commit(&self->m);
	EXPECT_EQ(NULL, self->m.sock);
	EXPECT_EQ(-1, metrics_timeout(&self->m));
}

/* A port in use fails the prepare and changes nothing. */
TEST_F(server, port_in_use)
{
	struct metrics_socket *first = self->m.sock;
	char err[256], port[8];

	snprintf(port, sizeof(port), "%u", self->port);
	EXPECT_EQ(-1, metrics_prepare(&self->m, "0.0.0.0", port, err,
				      sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "Address already in use"));
	metrics_commit(&self->m);
	EXPECT_EQ(first, self->m.sock);
}

TEST_HARNESS_MAIN
