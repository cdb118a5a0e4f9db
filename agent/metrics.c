// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus endpoint: what the metrics are (the exposition of the
 * module's totals, the listeners' figures and kmqttd's own), and the
 * HTTP/1.1 server that answers GET /metrics with them.  Each scraper gets
 * one response and Connection: close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>
#include <kmqtt/version.h>

#include "kmqtt_nl.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
/* Accepts per wakeup of the listening socket. */
#define METRICS_ACCEPT_BATCH	16
#define METRICS_BACKLOG		16
/* Back-off after running out of file descriptors or memory. */
#define METRICS_PAUSE_MS	100
/* Reads of a finished scraper's leftovers per wakeup. */
#define METRICS_DRAIN_READS	4

#define CONTENT_TYPE		"text/plain; version=0.0.4; charset=utf-8"

/* -- The text -- */

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
	size_t cap;
	va_list ap;
	char *data;
	int n;

	while (!b->failed) {
		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, b->cap - b->len,
			      fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (!data) {
			b->failed = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
}

static void metrics_buf_append(struct metrics_buf *b, const char *data,
			       size_t len)
{
	metrics_buf_printf(b, "%.*s", (int)len, data);
}

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* A metric's family: its HELP and TYPE lines. */
struct family {
	const char *name;
	const char *type;		/* "counter" or "gauge" */
	const char *help;
};

/* The module's totals (GET_INFO), one metric each. */
struct module_metric {
	enum kmqtt_stat stat;
	struct family f;
};

#define COUNTER(stat, name, help) { stat, { name, "counter", help } }
#define GAUGE(stat, name, help) { stat, { name, "gauge", help } }

static const struct module_metric module_metrics[] = {
	GAUGE(KMQTT_STAT_CONNECTIONS, "kmqtt_connections_open",
	      "MQTT connections the module holds now, bridge links included."),
	COUNTER(KMQTT_STAT_CONNECTIONS_TOTAL, "kmqtt_connections_attached_total",
		"Connections handed to the module since it was loaded."),
	COUNTER(KMQTT_STAT_CONNECTIONS_REFUSED, "kmqtt_connections_refused_total",
		"Connections the module refused over max_connections."),
	GAUGE(KMQTT_STAT_SESSIONS, "kmqtt_sessions",
	      "Sessions stored now, online or offline."),
	COUNTER(KMQTT_STAT_SESSIONS_EXPIRED, "kmqtt_sessions_expired_total",
		"Offline sessions removed after their expiry."),
	GAUGE(KMQTT_STAT_SUBSCRIPTIONS, "kmqtt_subscriptions",
	      "Subscriptions active now."),
	COUNTER(KMQTT_STAT_MSGS_IN, "kmqtt_messages_received_total",
		"PUBLISH packets received from clients."),
	COUNTER(KMQTT_STAT_MSGS_OUT, "kmqtt_messages_sent_total",
		"PUBLISH packets queued to subscribers."),
	COUNTER(KMQTT_STAT_BYTES_IN, "kmqtt_received_bytes_total",
		"MQTT bytes received."),
	COUNTER(KMQTT_STAT_BYTES_OUT, "kmqtt_sent_bytes_total",
		"MQTT bytes sent."),
	COUNTER(KMQTT_STAT_PROTOCOL_ERRORS, "kmqtt_protocol_errors_total",
		"Connections closed for a protocol violation."),
	GAUGE(KMQTT_STAT_INFLIGHT, "kmqtt_inflight_messages",
	      "QoS 1 and 2 messages sent and not yet acknowledged."),
	GAUGE(KMQTT_STAT_QUEUED, "kmqtt_queued_messages",
	      "Messages waiting for a subscriber's window or for it to connect."),
	GAUGE(KMQTT_STAT_QUEUED_BYTES, "kmqtt_queued_bytes",
	      "Bytes of the queued messages."),
	GAUGE(KMQTT_STAT_RETAINED, "kmqtt_retained_messages",
	      "Retained messages stored."),
	GAUGE(KMQTT_STAT_RETAINED_BYTES, "kmqtt_retained_bytes",
	      "Bytes of the retained messages."),
	GAUGE(KMQTT_STAT_MEMORY, "kmqtt_memory_bytes",
	      "Bytes the module holds (what memory_limit bounds)."),
	COUNTER(KMQTT_STAT_ACL_DENIED, "kmqtt_acl_denied_total",
		"Publishes, deliveries and subscriptions the access rules refused."),
	GAUGE(KMQTT_STAT_PUBLISHERS_PAUSED, "kmqtt_publishers_paused",
	      "Connections not read now: their message did not fit the memory limit."),
	GAUGE(KMQTT_STAT_ACKS_HELD, "kmqtt_acks_held",
	      "QoS 1 and 2 acknowledgements waiting for a save (kmqtt_save_before_ack)."),
	COUNTER(KMQTT_STAT_RX_RUNS, "kmqtt_receive_runs_total",
		"Receive work items the module ran."),
	COUNTER(KMQTT_STAT_RX_READS, "kmqtt_receive_reads_total",
		"Socket reads that returned bytes."),
	COUNTER(KMQTT_STAT_TX_RUNS, "kmqtt_transmit_runs_total",
		"Transmit work items the module ran with something to send."),
	COUNTER(KMQTT_STAT_TX_WRITES, "kmqtt_transmit_writes_total",
		"Socket writes (sendmsg and sendpage calls)."),
	COUNTER(KMQTT_STAT_TX_COPIED, "kmqtt_transmit_copied_total",
		"Small QoS 0 PUBLISH packets copied into chunks to be sent."),
	COUNTER(KMQTT_STAT_RX_REUSED, "kmqtt_receive_reused_total",
		"Messages received into the memory of their publisher's last one."),
	COUNTER(KMQTT_STAT_RX_MATCH_KEPT, "kmqtt_receive_match_kept_total",
		"Messages fanned out with the match of their publisher's last one."),
	COUNTER(KMQTT_STAT_TX_ZEROCOPY, "kmqtt_transmit_zerocopy_total",
		"Messages whose payload the socket got from the message's own pages."),
};

/* Why messages were not delivered: one counter, a reason each. */
static const struct {
	enum kmqtt_stat stat;
	const char *reason;
} drop_reasons[] = {
	{ KMQTT_STAT_DROPPED_QUEUE_FULL, "queue_full" },
	{ KMQTT_STAT_DROPPED_NO_MEMORY, "no_memory" },
	{ KMQTT_STAT_DROPPED_CLOSING, "closing" },
	{ KMQTT_STAT_DROPPED_FANOUT, "fanout" },
	{ KMQTT_STAT_DROPPED_DENIED, "denied" },
	{ KMQTT_STAT_DROPPED_TOO_LARGE, "too_large" },
	{ KMQTT_STAT_DROPPED_EXPIRED, "expired" },
};

static const struct family dropped = {
	"kmqtt_messages_dropped_total", "counter",
	"Messages not delivered, by reason (they add up to the module's MSGS_DROPPED).",
};

/* CONNACK refusals, by the name of their MQTT 5.0 reason code. */
static const struct {
	uint8_t code;
	const char *reason;
} refusal_reasons[] = {
	{ MQTT_RC_UNSPECIFIED_ERROR, "unspecified_error" },
	{ MQTT_RC_MALFORMED_PACKET, "malformed_packet" },
	{ MQTT_RC_PROTOCOL_ERROR, "protocol_error" },
	{ MQTT_RC_UNSUPPORTED_PROTOCOL, "unsupported_protocol_version" },
	{ MQTT_RC_CLIENT_ID_NOT_VALID, "client_identifier_not_valid" },
	{ MQTT_RC_BAD_USERNAME_PASSWORD, "bad_user_name_or_password" },
	{ MQTT_RC_NOT_AUTHORIZED, "not_authorized" },
	{ MQTT_RC_SERVER_UNAVAILABLE, "server_unavailable" },
	{ MQTT_RC_BAD_AUTH_METHOD, "bad_authentication_method" },
	{ MQTT_RC_PACKET_TOO_LARGE, "packet_too_large" },
	{ MQTT_RC_QUOTA_EXCEEDED, "quota_exceeded" },
	{ MQTT_RC_RETAIN_NOT_SUPPORTED, "retain_not_supported" },
};

static const struct family build_info = {
	"kmqtt_build_info", "gauge",
	"Always 1: kmqttd's version and the netlink ABI version it speaks.",
};
static const struct family start_time = {
	"kmqtt_start_time_seconds", "gauge",
	"When kmqttd started, in seconds since the Unix epoch.",
};
static const struct family module_up = {
	"kmqtt_module_up", "gauge",
	"1 when the module answered GET_INFO for this scrape; 0: its totals are left out.",
};

static const struct family listener_families[] = {
#define L_ACCEPTED	0
	{ "kmqtt_listener_connections_accepted_total", "counter",
	  "TCP connections accepted by the listener since kmqttd opened it." },
#define L_ATTACHED	1
	{ "kmqtt_listener_connections_attached_total", "counter",
	  "Connections whose CONNECT was accepted and handed to the module." },
#define L_REFUSED	2
	{ "kmqtt_listener_connects_refused_total", "counter",
	  "CONNECTs refused with a CONNACK, by its MQTT 5.0 reason code's name." },
#define L_DROPPED	3
	{ "kmqtt_listener_connections_dropped_total", "counter",
	  "Connections closed without CONNACK: timeout, too_many_pending or other (malformed, TLS failed, closed by the client)." },
#define L_PENDING	4
	{ "kmqtt_listener_connections_pending", "gauge",
	  "Connections accepted that have not finished their CONNECT (and TLS handshake or AUTH) yet." },
};

static void write_family(struct metrics_buf *b, const struct family *f)
{
	metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
			   f->name, f->type);
}

/* A label value, escaped as the format says: \\, \" and \n. */
static void write_label_value(struct metrics_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			metrics_buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			metrics_buf_printf(b, "\\n");
		else
			metrics_buf_printf(b, "%c", *v);
	}
}

/* NAME{listener="IP:PORT"[,reason="REASON"]} VALUE */
static void write_listener_sample(struct metrics_buf *b, const char *name,
				  const char *listener, const char *reason,
				  uint64_t value)
{
	metrics_buf_printf(b, "%s{listener=\"", name);
	write_label_value(b, listener);
	if (reason)
		metrics_buf_printf(b, "\",reason=\"%s", reason);
	metrics_buf_printf(b, "\"} %" PRIu64 "\n", value);
}

static void write_refusals(struct metrics_buf *b,
			   const struct metrics_listener *l)
{
	const char *name = listener_families[L_REFUSED].name;
	uint64_t other = 0;
	size_t i, j;

	for (j = 0; j < ARRAY_SIZE(refusal_reasons); j++) {
		i = refusal_reasons[j].code - MQTT_RC_UNSPECIFIED_ERROR;
		write_listener_sample(b, name, l->name,
				      refusal_reasons[j].reason,
				      l->stats->refused[i]);
	}
	for (i = 0; i < LISTENER_REFUSED_CODES; i++) {
		for (j = 0; j < ARRAY_SIZE(refusal_reasons); j++)
			if (refusal_reasons[j].code ==
			    i + MQTT_RC_UNSPECIFIED_ERROR)
				break;
		if (j == ARRAY_SIZE(refusal_reasons))
			other += l->stats->refused[i];
	}
	write_listener_sample(b, name, l->name, "other", other);
}

static void write_listener_family(struct metrics_buf *b,
				  const struct metrics_figures *f, int which)
{
	const char *name = listener_families[which].name;
	const struct metrics_listener *l;
	size_t i;

	write_family(b, &listener_families[which]);
	for (i = 0; i < f->listener_count; i++) {
		l = &f->listeners[i];
		switch (which) {
		case L_ACCEPTED:
			write_listener_sample(b, name, l->name, NULL,
					      l->stats->accepted);
			break;
		case L_ATTACHED:
			write_listener_sample(b, name, l->name, NULL,
					      l->stats->attached);
			break;
		case L_REFUSED:
			write_refusals(b, l);
			break;
		case L_DROPPED:
			write_listener_sample(b, name, l->name, "timeout",
					      l->stats->timeouts);
			write_listener_sample(b, name, l->name,
					      "too_many_pending",
					      l->stats->overflows);
			write_listener_sample(b, name, l->name, "other",
					      l->stats->dropped);
			break;
		case L_PENDING:
			write_listener_sample(b, name, l->name, NULL, l->pending);
			break;
		}
	}
}

static void write_module(struct metrics_buf *b,
			 const struct kmqtt_nl_info *info)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(module_metrics); i++) {
		write_family(b, &module_metrics[i].f);
		metrics_buf_printf(b, "%s %" PRIu64 "\n",
				   module_metrics[i].f.name,
				   info->stats[module_metrics[i].stat]);
	}
	write_family(b, &dropped);
	for (i = 0; i < ARRAY_SIZE(drop_reasons); i++)
		metrics_buf_printf(b, "%s{reason=\"%s\"} %" PRIu64 "\n",
				   dropped.name, drop_reasons[i].reason,
				   info->stats[drop_reasons[i].stat]);
}

void metrics_write(struct metrics_buf *b, const struct metrics_figures *f)
{
	size_t i;

	write_family(b, &build_info);
	metrics_buf_printf(b, "%s{version=\"", build_info.name);
	write_label_value(b, KMQTT_VERSION);
	metrics_buf_printf(b, "\",abi=\"%d\"} 1\n", KMQTT_GENL_VERSION);
	write_family(b, &start_time);
	metrics_buf_printf(b, "%s %" PRIu64 "\n", start_time.name,
			   f->start_time);
	write_family(b, &module_up);
	metrics_buf_printf(b, "%s %d\n", module_up.name, f->info ? 1 : 0);
	if (f->info)
		write_module(b, f->info);
	for (i = 0; i < ARRAY_SIZE(listener_families); i++)
		write_listener_family(b, f, (int)i);
}

/* -- The server -- */

enum client_state {
	CLIENT_READING,		/* the request, up to its empty line */
	CLIENT_WRITING,		/* the response */
	CLIENT_DRAINING,	/* sent; reading what is left until EOF */
};

struct metrics_client {
	struct loop_source src;
	struct metrics *m;
	struct deadline deadline;	/* in m->clients */
	enum client_state state;
	uint32_t events;		/* what src waits for */
	char in[METRICS_REQUEST_MAX];
	size_t in_len;
	struct metrics_buf out;		/* the whole response */
	size_t sent;
};

static void client_free(struct metrics_client *c)
{
	struct metrics *m = c->m;

	deadline_remove(&m->clients, &c->deadline);
	m->client_count--;
	loop_del(m->loop, &c->src);
	close(c->src.fd);
	metrics_buf_free(&c->out);
	free(c);
}

static void client_wait(struct metrics_client *c, uint32_t events)
{
	if (c->events == events)
		return;
	if (loop_mod(c->m->loop, &c->src, events))
		log_error("Watching a metrics scraper failed.");
	c->events = events;
}

/* Read and drop what the client still sends, until it closes. */
static void client_drain(struct metrics_client *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < METRICS_DRAIN_READS; i++) {
		n = recv(c->src.fd, c->in, sizeof(c->in), 0);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		client_free(c);
		return;
	}
}

static void client_write(struct metrics_client *c)
{
	ssize_t n;

	while (c->sent < c->out.len) {
		n = send(c->src.fd, c->out.data + c->sent, c->out.len - c->sent,
			 MSG_NOSIGNAL);
		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			client_wait(c, EPOLLOUT);
			return;
		}
		client_free(c);
		return;
	}
	/*
	 * All sent: the client reads up to our FIN.  Closing with its bytes
	 * unread would send a reset, which may discard the response.
	 */
	shutdown(c->src.fd, SHUT_WR);
	metrics_buf_free(&c->out);
	c->state = CLIENT_DRAINING;
	client_wait(c, EPOLLIN);
	client_drain(c);
}

/* Send @status with @body (NULL: its reason phrase) and close. */
static void client_respond(struct metrics_client *c, const char *status,
			   const char *headers, const struct metrics_buf *body,
			   bool head)
{
	char text[64];
	size_t len;

	if (!body)
		len = (size_t)snprintf(text, sizeof(text), "%s\n", status + 4);
	else
		len = body->len;
	metrics_buf_printf(&c->out,
			   "HTTP/1.1 %s\r\n"
			   "Content-Type: %s\r\n"
			   "Content-Length: %zu\r\n"
			   "%s"
			   "Connection: close\r\n\r\n",
			   status,
			   body ? CONTENT_TYPE : "text/plain; charset=utf-8",
			   len, headers);
	if (!head)
		metrics_buf_append(&c->out, body ? body->data : text, len);
	if (c->out.failed || (body && body->failed)) {
		log_error("Metrics: out of memory for a response.");
		client_free(c);
		return;
	}
	c->state = CLIENT_WRITING;
	client_write(c);
}

/* The word of @line (of @len bytes) at *@pos, and *@pos past it. */
static const char *next_word(const char *line, size_t len, size_t *pos,
			     size_t *word_len)
{
	const char *word = line + *pos;
	const char *sp = memchr(word, ' ', len - *pos);

	*word_len = sp ? (size_t)(sp - word) : len - *pos;
	*pos += *word_len + (sp ? 1 : 0);
	return word;
}

static bool word_is(const char *word, size_t len, const char *s)
{
	return len == strlen(s) && !memcmp(word, s, len);
}

/* The request line, "METHOD TARGET HTTP/1.x", of a whole request. */
static void client_request(struct metrics_client *c)
{
	const char *eol = memchr(c->in, '\n', c->in_len);
	size_t len = (size_t)(eol - c->in), pos = 0, mlen, tlen, vlen;
	const char *method, *target, *version;
	struct metrics_buf body = { 0 };
	bool head;

	if (len && c->in[len - 1] == '\r')
		len--;
	method = next_word(c->in, len, &pos, &mlen);
	target = next_word(c->in, len, &pos, &tlen);
	version = next_word(c->in, len, &pos, &vlen);
	if (!mlen || !tlen || pos != len || vlen != 8 ||
	    memcmp(version, "HTTP/1.", 7) || version[7] < '0' ||
	    version[7] > '9') {
		client_respond(c, "400 Bad Request", "", NULL, false);
		return;
	}
	head = word_is(method, mlen, "HEAD");
	if (!head && !word_is(method, mlen, "GET")) {
		client_respond(c, "405 Method Not Allowed",
			       "Allow: GET, HEAD\r\n", NULL, false);
		return;
	}
	/* Prometheus sends none, but a query string changes nothing. */
	if (memchr(target, '?', tlen))
		tlen = (size_t)((const char *)memchr(target, '?', tlen) - target);
	if (!word_is(target, tlen, "/metrics")) {
		client_respond(c, "404 Not Found", "", NULL, head);
		return;
	}
	c->m->scrape(&body, c->m->arg);
	client_respond(c, "200 OK", "", &body, head);
	metrics_buf_free(&body);
}

/* Whether the request has come up to the empty line after its headers. */
static bool client_request_complete(const struct metrics_client *c)
{
	return memmem(c->in, c->in_len, "\r\n\r\n", 4) ||
	       memmem(c->in, c->in_len, "\n\n", 2);
}

static void client_read(struct metrics_client *c)
{
	ssize_t n;

	while (c->in_len < sizeof(c->in)) {
		n = recv(c->src.fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
			 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_free(c);	/* gone before its request */
			return;
		}
		c->in_len += (size_t)n;
		if (client_request_complete(c)) {
			client_request(c);
			return;
		}
	}
	client_respond(c, "431 Request Header Fields Too Large", "", NULL,
		       false);
}

static void client_handle(struct loop_source *src, uint32_t events)
{
	struct metrics_client *c = container_of(src, struct metrics_client,
						src);

	(void)events;	/* errors and hangups show up as results */
	switch (c->state) {
	case CLIENT_READING:
		client_read(c);
		break;
	case CLIENT_WRITING:
		client_write(c);
		break;
	case CLIENT_DRAINING:
		client_drain(c);
		break;
	}
}

static void client_add(struct metrics *m, int fd)
{
	struct metrics_client *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		log_error("Metrics: out of memory for a scraper.");
		close(fd);
		return;
	}
	c->src = (struct loop_source){ .fd = fd, .handle = client_handle };
	c->m = m;
	c->events = EPOLLIN;
	err = loop_add(m->loop, &c->src, EPOLLIN);
	if (err) {
		log_error("Metrics: watching a scraper: %s", strerror(-err));
		close(fd);
		free(c);
		return;
	}
	deadline_append(&m->clients, &c->deadline,
			loop_now_ms() + m->timeout_ms);
	m->client_count++;
}

static void metrics_accept(struct loop_source *src, uint32_t events)
{
	struct metrics_socket *s = container_of(src, struct metrics_socket,
						src);
	struct metrics *m = s->m;
	int i, fd;

	(void)events;
	for (i = 0; i < METRICS_ACCEPT_BATCH; i++) {
		fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_error("Metrics: accepting on %s: %s; pausing for %d ms",
					  s->name, strerror(errno),
					  METRICS_PAUSE_MS);
				m->accept_resume_ms = loop_now_ms() +
						      METRICS_PAUSE_MS;
				loop_mod(m->loop, src, 0);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
				   errno != EINTR && errno != ECONNABORTED) {
				log_error("Metrics: accepting on %s: %s",
					  s->name, strerror(errno));
			}
			return;
		}
		if (m->client_count >= METRICS_CLIENTS_MAX) {
			log_verbose("Metrics: %d scrapers already, closing a new one.",
				    METRICS_CLIENTS_MAX);
			close(fd);
			continue;
		}
		client_add(m, fd);
	}
}

static void socket_free(struct metrics *m, struct metrics_socket *s)
{
	if (s->src.fd >= 0) {
		loop_del(m->loop, &s->src);
		close(s->src.fd);
	}
	free(s->addr);
	free(s);
}

static struct metrics_socket *socket_open(struct metrics *m, const char *addr,
					  const char *port, char *err,
					  size_t errlen)
{
	struct metrics_socket *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, rc;

	if (!s || !(s->addr = strdup(addr))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	s->m = m;
	s->src = (struct loop_source){ .fd = -1, .handle = metrics_accept };
	snprintf(s->port, sizeof(s->port), "%s", port);
	if (addr_parse(addr, (uint16_t)atoi(port), &ss, &len)) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 address",
			 addr);
		goto fail;
	}
	s->src.fd = socket(ss.ss_family,
			   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->src.fd < 0 ||
	    setsockopt(s->src.fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) ||
	    bind(s->src.fd, (struct sockaddr *)&ss, len) ||
	    listen(s->src.fd, METRICS_BACKLOG) ||
	    getsockname(s->src.fd, (struct sockaddr *)&ss, &len)) {
		snprintf(err, errlen, "listening on %s port %s: %s", addr, port,
			 strerror(errno));
		if (s->src.fd >= 0)
			close(s->src.fd);
		s->src.fd = -1;
		goto fail;
	}
	addr_format((struct sockaddr *)&ss, s->name);
	rc = loop_add(m->loop, &s->src, EPOLLIN);
	if (rc) {
		snprintf(err, errlen, "epoll: %s", strerror(-rc));
		close(s->src.fd);
		s->src.fd = -1;
		goto fail;
	}
	/* Not a log line: scripts wait for it. */
	fprintf(stderr, "kmqttd: metrics on http://%s/metrics\n", s->name);
	return s;

fail:
	socket_free(m, s);
	return NULL;
}

void metrics_init(struct metrics *m, struct loop *loop,
		  metrics_scrape_fn scrape, void *arg)
{
	memset(m, 0, sizeof(*m));
	m->loop = loop;
	m->scrape = scrape;
	m->arg = arg;
	m->start_time = (uint64_t)time(NULL);
	m->timeout_ms = METRICS_TIMEOUT_MS;
}

int metrics_prepare(struct metrics *m, const char *addr, const char *port,
		    char *err, size_t errlen)
{
	metrics_abort(m);
	if (!addr)
		addr = METRICS_DEFAULT_ADDR;
	if (port && m->sock && !strcmp(m->sock->addr, addr) &&
	    !strcmp(m->sock->port, port))
		m->next = m->sock;
	else if (port && !(m->next = socket_open(m, addr, port, err, errlen)))
		return -1;
	m->next_set = true;
	return 0;
}

void metrics_commit(struct metrics *m)
{
	if (!m->next_set)
		return;
	if (m->sock && m->sock != m->next) {
		log_verbose("Closing the metrics endpoint on %s.", m->sock->name);
		socket_free(m, m->sock);
	}
	m->sock = m->next;
	m->next = NULL;
	m->next_set = false;
}

void metrics_abort(struct metrics *m)
{
	if (m->next && m->next != m->sock)
		socket_free(m, m->next);
	m->next = NULL;
	m->next_set = false;
}

int metrics_timeout(const struct metrics *m)
{
	return deadline_timeout(&m->clients, m->accept_resume_ms);
}

void metrics_expire(struct metrics *m)
{
	uint64_t now = loop_now_ms();
	struct deadline *d;

	while ((d = m->clients.oldest) && d->at_ms <= now) {
		log_verbose("Metrics: closing a scraper that took over %" PRIu64 " ms.",
			    m->timeout_ms);
		client_free(container_of(d, struct metrics_client, deadline));
	}
	if (m->accept_resume_ms && m->accept_resume_ms <= now) {
		m->accept_resume_ms = 0;
		if (m->sock)
			loop_mod(m->loop, &m->sock->src, EPOLLIN);
	}
}

void metrics_close(struct metrics *m)
{
	while (m->clients.oldest)
		client_free(container_of(m->clients.oldest,
					 struct metrics_client, deadline));
	metrics_abort(m);
	if (m->sock)
		socket_free(m, m->sock);
	m->sock = NULL;
}
