// SPDX-License-Identifier: GPL-2.0
/*
 * One MQTT connection: non-blocking socket, bounded send and receive
 * buffers, the CONNECT/SUBSCRIBE handshake and the packets of a running
 * client, in MQTT 3.1.1 or 5.0 (c->level), over TCP or, with --ws, over
 * WebSockets (ws.c: tx and rx keep the MQTT bytes, c->ws the frames),
 * and either in the clear or, with --tls, through c->ssl (tls.c): the
 * bytes that plain TCP would read() and write() go through SSL_read()
 * and SSL_write() instead, a call each where TCP makes one.
 * Everything here runs on the client's worker thread.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/err.h>

#include "bench.h"
#include "tls.h"

/* PUBACK, PUBREC, PUBREL, PUBCOMP: what one received packet may add to tx. */
#define ACK_SIZE	4

/* A pointer to n bytes of room at the end of b, or NULL; see buf_commit. */
uint8_t *buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len < n && b->head) {
		memmove(b->data, b->data + b->head, b->len - b->head);
		b->len -= b->head;
		b->head = 0;
	}
	return b->cap - b->len >= n ? b->data + b->len : NULL;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

static int buf_alloc(struct buf *b, size_t cap)
{
	b->data = malloc(cap);
	b->cap = cap;
	b->head = b->len = 0;
	return b->data ? 0 : -1;
}

/*
 * Buffers hold a whole burst of frames each way, and at least a few of the
 * largest packets, whatever the payload size.
 */
static size_t client_buf_size(const struct bench *b, uint8_t level)
{
	size_t frame = mqtt_publish_len(level, MAX_TOPIC, 2, b->opt.payload);

	return frame * 4 > BUF_MIN ? frame * 4 : BUF_MIN;
}

/*
 * in holds what rx would; out one frame of all that tx holds, beside a
 * pong and a close.
 */
static int client_ws_init(struct client *c, size_t size)
{
	c->ws = calloc(1, sizeof(*c->ws));
	if (!c->ws)
		return -1;
	return buf_alloc(&c->ws->in, size) ||
	       buf_alloc(&c->ws->out, size + 3 * WS_HEADER_MAX +
			 2 * WS_CONTROL_MAX) ? -1 : 0;
}

int client_init(struct client *c, struct bench *b, uint32_t idx,
		uint8_t level)
{
	size_t size = client_buf_size(b, level);

	c->idx = idx;
	c->fd = -1;
	c->state = CLIENT_IDLE;
	c->level = level;
	c->keepalive = b->opt.keepalive;
	snprintf(c->id, sizeof(c->id), "kb-%d-%u", (int)getpid(), idx);
	if (buf_alloc(&c->tx, size) || buf_alloc(&c->rx, size))
		return -1;
	return b->opt.ws ? client_ws_init(c, size) : 0;
}

void client_free(struct client *c)
{
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->tx.data);
	free(c->rx.data);
	if (c->ws) {
		free(c->ws->in.data);
		free(c->ws->out.data);
		free(c->ws);
	}
}

static void client_close(struct client *c, const char *why)
{
	struct bench *b = c->worker->bench;

	if (c->state == CLIENT_CLOSED)
		return;
	if (c->state != CLIENT_READY) {
		bench_fail(b, "client %s: %s during setup", c->id, why);
	} else if (bench_phase(b) != PHASE_DONE) {
		stat_add(c->worker->stats.closed, 1);
		if (!b->opt.quiet)
			fprintf(stderr, "kmqtt-bench: client %s: %s\n",
				c->id, why);
	}
	epoll_ctl(c->worker->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = CLIENT_CLOSED;
	if (c->pub)
		c->pub->done = true;
}

static int client_send(struct client *c, const void *data, size_t len)
{
	uint8_t *p = buf_reserve(&c->tx, len);

	if (!p)
		return -1;
	memcpy(p, data, len);
	buf_commit(&c->tx, len);
	return 0;
}

/*
 * A frame of len bytes (masked, 5.3) at the end of out; false if out has
 * no room for it.
 */
static bool client_ws_put(struct client *c, uint8_t fin_opcode,
			  const uint8_t *data, size_t len)
{
	struct buf *out = &c->ws->out;
	uint8_t mask[4], *p = buf_reserve(out, len + WS_HEADER_MAX);

	if (!p)
		return false;
	ws_mask_next(&c->ws->rng, mask);
	buf_commit(out, ws_put_frame(p, len + WS_HEADER_MAX, fin_opcode, data,
				     len, mask));
	return true;
}

/*
 * All that tx holds becomes one binary frame, once out has room for it:
 * a frame per write batch, as the broker's are.  Nothing is framed before
 * the 101 (RFC 6455 4.1: the client waits for the response).
 */
static void client_ws_wrap(struct client *c)
{
	struct buf *tx = &c->tx;

	if (c->state == CLIENT_UPGRADE || tx->len == tx->head)
		return;
	if (client_ws_put(c, WS_FIN | WS_BINARY, tx->data + tx->head,
			  tx->len - tx->head))
		tx->head = tx->len = 0;
}

/*
 * An SSL_write() (of a record at most: partial writes, an SSL_write() per
 * write() of the plain path; after a retry the same bytes come again,
 * maybe moved and with more behind) or an SSL_read() (of a record at
 * most; read-ahead keeps the rest in OpenSSL).  Returns the bytes moved,
 * 0 if none for now (the BIO found the socket full or empty, or the call
 * waits for the other direction), -1 once the client is closed.
 */
static ssize_t client_tls_io(struct client *c, uint8_t *data, size_t len,
			     bool writing)
{
	int r, n = len > INT32_MAX ? INT32_MAX : len;
	char err[160];

	ERR_clear_error();
	if (writing) {
		c->write_wants_read = false;
		r = SSL_write(c->ssl, data, n);
	} else {
		c->read_wants_write = false;
		r = SSL_read(c->ssl, data, n);
	}
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		if (writing)
			c->write_wants_read = true;
		else
			c->readable = false;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		if (!writing)
			c->read_wants_write = true;
		return 0;
	}
	client_close(c, tls_error(c->ssl, r, err, sizeof(err)));
	return -1;
}

/*
 * The one read() or write() of the socket, as the plain path and the TLS
 * BIO (tls.c) make them: none while the socket is known to be empty or
 * full (-1, EAGAIN), and a short read or write marks it so, which saves
 * the call that would say EAGAIN (a system call per wakeup is dear under
 * emulation): new data or room is a new edge for epoll.
 */
ssize_t client_sock_io(struct client *c, void *data, size_t len,
		       bool writing)
{
	bool *ready = writing ? &c->writable : &c->readable;
	ssize_t n;

	if (!*ready) {
		errno = EAGAIN;
		return -1;
	}
	do
		n = writing ? write(c->fd, data, len) : read(c->fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EWOULDBLOCK)
		errno = EAGAIN;
	if ((n >= 0 && (size_t)n < len) || (n < 0 && errno == EAGAIN))
		*ready = false;
	return n;
}

/*
 * Writes or reads up to len bytes: how many moved, 0 if none for now
 * (the socket is full or empty, or TLS waits for the other direction),
 * -1 once the client is closed.
 */
static ssize_t client_io(struct client *c, uint8_t *data, size_t len,
			 bool writing)
{
	ssize_t n;

	if (c->ssl)
		return client_tls_io(c, data, len, writing);
	n = client_sock_io(c, data, len, writing);
	if (n > 0 || (n == 0 && writing))
		return n;
	if (n < 0 && errno == EAGAIN)
		return 0;
	client_close(c, n ? strerror(errno) : "closed by the broker");
	return -1;
}

/*
 * Whether a write may move: the socket has room, or a TLS write waits
 * for a read, which its BIO only makes when the socket is readable.
 */
static bool client_can_write(const struct client *c)
{
	return c->writable || c->write_wants_read;
}

static void client_flush(struct client *c)
{
	struct buf *out = c->ws ? &c->ws->out : &c->tx;
	ssize_t n;

	for (;;) {
		if (c->ws)
			client_ws_wrap(c);
		if (!client_can_write(c) || out->len == out->head)
			break;
		n = client_io(c, out->data + out->head, out->len - out->head,
			      true);
		if (n < 0)
			return;
		if (n == 0)
			break;
		out->head += n;
		c->last_tx_ns = now_ns();
	}
	if (out->head == out->len)
		out->head = out->len = 0;
}

/* Non-blocking connect; the worker's epoll reports when it is done. */
void client_connect(struct client *c)
{
	struct bench *b = c->worker->bench;
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = c,
	};
	int one = 1;

	c->fd = socket(b->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		bench_fail(b, "socket: %s", strerror(errno));
		return;
	}
	/* Frames are batched per write() already; acks should not wait. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&b->addr, b->addr_len) &&
	    errno != EINPROGRESS) {
		bench_fail(b, "connect %s: %s", c->id, strerror(errno));
		return;
	}
	c->state = CLIENT_CONNECTING;
	if (epoll_ctl(c->worker->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		bench_fail(b, "epoll_ctl: %s", strerror(errno));
}

static void client_send_connect(struct client *c)
{
	size_t n = mqtt_put_connect(c->tx.data, c->tx.cap, c->level, c->id,
				    c->worker->bench->opt.keepalive);

	buf_commit(&c->tx, n);
	c->state = CLIENT_CONNACK;
	c->last_tx_ns = now_ns();
}

/* The opening handshake's GET with a fresh key (RFC 6455 4.1). */
static void client_ws_request(struct client *c)
{
	struct bench *b = c->worker->bench;
	struct client_ws *ws = c->ws;
	uint8_t seed[WS_NONCE_LEN + sizeof(ws->rng)];
	size_t n;

	if (getrandom(seed, sizeof(seed), 0) != sizeof(seed)) {
		bench_fail(b, "getrandom: %s", strerror(errno));
		return;
	}
	ws_key(seed, ws->key);
	memcpy(&ws->rng, seed + WS_NONCE_LEN, sizeof(ws->rng));
	ws->rng |= 1;	/* xorshift stays at 0 */
	n = ws_put_request((char *)ws->out.data, ws->out.cap, b->opt.host,
			   b->opt.port, b->opt.ws_path, ws->key);
	if (!n) {
		bench_fail(b, "WebSocket request: host name too long");
		return;
	}
	buf_commit(&ws->out, n);
	c->state = CLIENT_UPGRADE;
	c->last_tx_ns = now_ns();
}

/* Over the connection (and TLS), the WebSocket upgrade or CONNECT. */
static void client_open(struct client *c)
{
	if (c->ws)
		client_ws_request(c);
	else
		client_send_connect(c);
}

static void client_connected(struct client *c)
{
	struct bench *b = c->worker->bench;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		bench_fail(b, "connect %s: %s", c->id, strerror(err));
		return;
	}
	if (b->ssl_ctx) {
		c->ssl = tls_client_new(b->ssl_ctx, c, b->opt.host);
		if (!c->ssl) {
			bench_fail(b, "TLS: out of memory");
			return;
		}
		c->state = CLIENT_TLS;
		c->last_tx_ns = now_ns();
		return;
	}
	client_open(c);
}

/* The first handshake's version and cipher go in the report. */
static void client_tls_note(struct client *c)
{
	struct bench *b = c->worker->bench;
	const char *none = NULL;

	if (__atomic_compare_exchange_n(&b->tls_cipher, &none,
					SSL_get_cipher_name(c->ssl), false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		b->tls_version = SSL_get_version(c->ssl);
}

/*
 * A step of the TLS handshake: true once it is done (and the WebSocket
 * or MQTT opening is in the send buffer), false while it waits for the
 * socket or has failed (the client is closed).
 */
static bool client_tls_handshake(struct client *c)
{
	char err[160];
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		client_tls_note(c);
		client_open(c);
		return true;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return false;
	}
	client_close(c, tls_error(c->ssl, r, err, sizeof(err)));
	return false;
}

static void client_ready(struct client *c)
{
	c->state = CLIENT_READY;
	c->worker->handshakes--;
	stat_add(c->worker->stats.ready, 1);
}

/* "0x87 not authorized": a 5.0 reason code, with its name if known. */
static const char *reason_text(char *buf, size_t size, uint8_t rc)
{
	const char *name = mqtt_reason_name(rc);

	snprintf(buf, size, "0x%02x%s%s", rc, *name ? " " : "", name);
	return buf;
}

/*
 * What a 5.0 broker's CONNACK bounds for a publisher: the QoS, the packet
 * size, and the QoS 1/2 PUBLISH in flight (receive maximum, which
 * narrows --inflight).  3.1.1's CONNACK reads as no bound.
 */
static const char *client_publish_limits(struct client *c,
					 const struct mqtt_connack *ca)
{
	const struct options *o = &c->worker->bench->opt;
	struct publisher *p = c->pub;

	if (o->qos > ca->max_qos)
		return "the broker's maximum QoS is below --qos";
	if (ca->max_packet && ca->max_packet <
	    mqtt_publish_len(c->level, p->topic_len, o->qos, o->payload))
		return "PUBLISH larger than the broker's maximum packet size";
	if (p->max_inflight > ca->receive_max)
		p->max_inflight = ca->receive_max;
	return NULL;
}

static void client_on_connack(struct client *c, const struct mqtt_packet *pkt)
{
	struct bench *b = c->worker->bench;
	struct mqtt_connack ca;
	uint8_t sub[1024];
	const char *limit;
	char why[96], rc[48];
	size_t n;

	if (c->state != CLIENT_CONNACK ||
	    mqtt_parse_connack(pkt, c->level, &ca)) {
		client_close(c, "unexpected or malformed CONNACK");
		return;
	}
	if (ca.rc) {
		if (c->level == MQTT_V5 && ca.rc >= MQTT_RC_FAILURE)
			reason_text(rc, sizeof(rc), ca.rc);
		else
			snprintf(rc, sizeof(rc), "%u", ca.rc);
		snprintf(why, sizeof(why), "CONNACK refused: %s", rc);
		client_close(c, why);
		return;
	}
	/* MQTT-3.2.2-21: the broker's keep alive replaces ours */
	if (ca.keepalive >= 0)
		c->keepalive = ca.keepalive;
	limit = c->pub ? client_publish_limits(c, &ca) : NULL;
	if (limit) {
		client_close(c, limit);
		return;
	}
	if (!c->sub) {
		client_ready(c);
		return;
	}
	n = mqtt_put_subscribe(sub, sizeof(sub), c->level, 1,
			       b->plan.sub_filter[c->sub->idx], b->opt.qos);
	if (!n || client_send(c, sub, n)) {
		client_close(c, "topic filter too long");
		return;
	}
	c->state = CLIENT_SUBACK;
}

static void client_on_suback(struct client *c, const struct mqtt_packet *pkt)
{
	uint8_t granted;
	uint16_t id;

	if (c->state != CLIENT_SUBACK ||
	    mqtt_parse_suback(pkt, c->level, &id, &granted) || granted > 2) {
		client_close(c, "SUBACK refused or malformed");
		return;
	}
	client_ready(c);
}

/* QoS 1 is acknowledged with PUBACK, QoS 2 with PUBREC then PUBCOMP. */
static void client_on_publish(struct client *c, const struct mqtt_packet *pkt,
			      size_t wire_len, uint64_t now)
{
	struct mqtt_publish m;
	uint8_t ack[4];

	if (mqtt_parse_publish(pkt, c->level, &m) || !c->sub) {
		stat_add(c->worker->stats.unexpected, 1);
		return;
	}
	subscriber_deliver(c->sub, c->worker, &m, wire_len, now);
	if (m.qos) {
		mqtt_put_ack(ack, sizeof(ack),
			     m.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC, m.id);
		client_send(c, ack, sizeof(ack));
	}
}

/*
 * Acks of the publisher's flows, and PUBREL of the subscriber's QoS 2
 * ones.  A 5.0 ack with a failure reason code ends the flow: a refusing
 * PUBREC gets no PUBREL (4.3.3), and the message is likely lost.
 */
static void client_on_ack(struct client *c, const struct mqtt_packet *pkt)
{
	uint8_t out[4], reason;
	uint16_t id;

	if (mqtt_parse_ack(pkt, c->level, &id, &reason)) {
		client_close(c, "malformed acknowledgement");
		return;
	}
	if (pkt->type == MQTT_PUBREL) {
		mqtt_put_ack(out, sizeof(out), MQTT_PUBCOMP, id);
		client_send(c, out, sizeof(out));
		return;
	}
	if (!c->pub || publisher_ack(c->pub, pkt->type, id, reason)) {
		stat_add(c->worker->stats.ack_errors, 1);
		return;
	}
	if (reason >= MQTT_RC_FAILURE) {
		stat_add(c->worker->stats.refused, 1);
	} else if (pkt->type == MQTT_PUBREC) {
		mqtt_put_ack(out, sizeof(out), MQTT_PUBREL, id);
		client_send(c, out, sizeof(out));
	}
}

/* A 5.0 broker says why it closes the connection; 3.1.1's never does. */
static void client_on_disconnect(struct client *c,
				 const struct mqtt_packet *pkt)
{
	const uint8_t *text;
	size_t text_len;
	char why[192], rc[48];
	uint8_t reason;

	if (c->level != MQTT_V5) {
		client_close(c, "unexpected packet type");
		return;
	}
	if (mqtt_parse_disconnect(pkt, &reason, &text, &text_len)) {
		client_close(c, "malformed DISCONNECT from the broker");
		return;
	}
	snprintf(why, sizeof(why), "DISCONNECT from the broker: %s%s%.*s",
		 reason_text(rc, sizeof(rc), reason), text ? ", " : "",
		 (int)(text_len < 100 ? text_len : 100),
		 text ? (const char *)text : "");
	client_close(c, why);
}

static void client_on_packet(struct client *c, const struct mqtt_packet *pkt,
			     size_t wire_len, uint64_t now)
{
	switch (pkt->type) {
	case MQTT_PUBLISH:
		client_on_publish(c, pkt, wire_len, now);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		client_on_ack(c, pkt);
		break;
	case MQTT_CONNACK:
		client_on_connack(c, pkt);
		break;
	case MQTT_SUBACK:
		client_on_suback(c, pkt);
		break;
	case MQTT_PINGRESP:
		break;
	case MQTT_DISCONNECT:
		client_on_disconnect(c, pkt);
		break;
	default:
		client_close(c, "unexpected packet type");
	}
}

/*
 * Handles every complete packet in rx.  Stops early, leaving the rest for
 * later, when tx could not take the acks of one more packet: the buffers
 * stay bounded and the broker sees the backpressure.
 */
static void client_parse(struct client *c)
{
	struct buf *rx = &c->rx;
	struct mqtt_packet pkt;
	uint64_t now = now_ns();
	ssize_t n;

	c->rx_stalled = false;
	while (c->state != CLIENT_CLOSED && rx->len > rx->head) {
		if (c->tx.cap - c->tx.len + c->tx.head < ACK_SIZE) {
			c->rx_stalled = true;
			break;
		}
		n = mqtt_frame(rx->data + rx->head, rx->len - rx->head,
			       rx->cap, &pkt);
		if (n == 0)
			break;
		if (n < 0) {
			client_close(c, "malformed or oversized packet");
			return;
		}
		rx->head += n;
		client_on_packet(c, &pkt, n, now);
	}
	if (rx->head == rx->len)
		rx->head = rx->len = 0;
	else if (rx->head && rx->len == rx->cap)
		buf_reserve(rx, rx->cap - rx->len + rx->head);
}

/*
 * The broker's control frames: a ping is answered (or, if out is full,
 * left to a later one: 5.5.3 lets a pong answer only the latest ping), a
 * close is echoed with its status code (5.5.1) and ends the connection.
 */
static void client_ws_control(struct client *c, const struct ws_ctl *ctl)
{
	char why[64];

	if (ctl->opcode == WS_PING) {
		client_ws_put(c, WS_FIN | WS_PONG, ctl->data, ctl->len);
		return;
	}
	if (ctl->opcode != WS_CLOSE)
		return;
	client_ws_put(c, WS_FIN | WS_CLOSE, ctl->data,
		      ctl->len < 2 ? 0 : 2);
	client_flush(c);
	/* 1005: no status code (7.4.1) */
	snprintf(why, sizeof(why), "WebSocket close from the broker (%d)",
		 ctl->len < 2 ? 1005 : ctl->data[0] << 8 | ctl->data[1]);
	client_close(c, why);
}

/* The 101 ends the handshake; CONNECT goes in the first frame. */
static ssize_t client_ws_upgraded(struct client *c)
{
	struct buf *in = &c->ws->in;
	const char *why;
	ssize_t n = ws_parse_response(in->data + in->head, in->len - in->head,
				      c->ws->key, &why);

	if (n < 0) {
		client_close(c, why);
	} else if (n > 0) {
		in->head += n;
		client_send_connect(c);
	}
	return n;
}

/*
 * Moves the MQTT bytes of the frames in ws->in to rx, as far as rx has
 * room, and answers a control frame.  Returns the bytes of in used, -1
 * once the connection is closed.
 */
static ssize_t client_ws_unwrap(struct client *c)
{
	struct buf *in = &c->ws->in, *rx = &c->rx;
	struct ws_ctl ctl;
	const char *why;
	size_t got;
	ssize_t n;

	if (c->state == CLIENT_UPGRADE)
		return client_ws_upgraded(c);
	buf_reserve(rx, rx->cap - rx->len + rx->head);
	n = ws_decode(&c->ws->state, in->data + in->head, in->len - in->head,
		      rx->data + rx->len, rx->cap - rx->len, &got, &ctl, &why);
	if (n < 0) {
		client_close(c, why);
		return -1;
	}
	in->head += n;
	rx->len += got;
	if (in->head == in->len)
		in->head = in->len = 0;
	if (ctl.opcode)
		client_ws_control(c, &ctl);
	return c->state == CLIENT_CLOSED ? -1 : n;
}

/* Handles what was read: the packets, after the frames around them. */
static void client_take(struct client *c)
{
	do {
		client_parse(c);
		if (!c->ws || c->rx_stalled || c->state == CLIENT_CLOSED)
			return;
	} while (client_ws_unwrap(c) > 0);
}

/*
 * Whether a read may bring something: the socket has data, OpenSSL holds
 * records it read ahead, or a TLS read waits for a write.
 */
static bool client_can_read(const struct client *c)
{
	return c->readable ||
	       (c->ssl && (c->read_wants_write || SSL_has_pending(c->ssl)));
}

static void client_read(struct client *c)
{
	struct buf *rx = c->ws ? &c->ws->in : &c->rx;
	ssize_t n;

	client_take(c);
	while (client_can_read(c) && !c->rx_stalled &&
	       c->state != CLIENT_CLOSED) {
		if (!buf_reserve(rx, 1)) {
			client_close(c, "packet larger than the buffer");
			return;
		}
		n = client_io(c, rx->data + rx->len, rx->cap - rx->len, false);
		if (n <= 0)
			return;
		rx->len += n;
		client_take(c);
	}
}

void client_event(struct client *c, uint32_t events)
{
	if (events & EPOLLOUT)
		c->writable = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (c->state == CLIENT_CONNECTING &&
	    (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		client_connected(c);
	client_pump(c);
}

/* Read what can be read, write what can be written, until neither moves. */
void client_pump(struct client *c)
{
	if (c->state == CLIENT_CONNECTING || c->state == CLIENT_IDLE)
		return;
	if (c->state == CLIENT_TLS && !client_tls_handshake(c))
		return;
	for (;;) {
		client_read(c);
		if (c->state == CLIENT_CLOSED)
			return;
		client_flush(c);
		/* Parsing resumes once half of tx has drained. */
		if (c->state == CLIENT_CLOSED || !c->rx_stalled ||
		    c->tx.len - c->tx.head > c->tx.cap / 2)
			return;
	}
}

/* A PINGREQ after half the keepalive without sending anything. */
void client_keepalive(struct client *c, uint64_t now)
{
	uint8_t ping[2];

	if (!c->keepalive || c->state != CLIENT_READY)
		return;
	if (now - c->last_tx_ns < c->keepalive * NSEC_PER_SEC / 2)
		return;
	mqtt_put_empty(ping, sizeof(ping), MQTT_PINGREQ);
	if (!client_send(c, ping, sizeof(ping)))
		client_pump(c);
}

/* DISCONNECT (then a WebSocket close, 1000), best effort, then close. */
void client_disconnect(struct client *c)
{
	static const uint8_t normal[2] = { 1000 >> 8, 1000 & 0xff };
	uint8_t pkt[2];

	if (c->state == CLIENT_CLOSED || c->fd < 0)
		return;
	if (c->state != CLIENT_CONNECTING && c->state != CLIENT_IDLE &&
	    c->state != CLIENT_TLS && c->state != CLIENT_UPGRADE) {
		mqtt_put_empty(pkt, sizeof(pkt), MQTT_DISCONNECT);
		if (!client_send(c, pkt, sizeof(pkt))) {
			if (c->ws) {
				client_ws_wrap(c);
				client_ws_put(c, WS_FIN | WS_CLOSE, normal,
					      sizeof(normal));
			}
			client_flush(c);
		}
	}
	/* close_notify, best effort: no waiting for the broker's */
	if (c->ssl && c->state != CLIENT_TLS && c->state != CLIENT_CLOSED) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
	}
	close(c->fd);
	c->fd = -1;
	c->state = CLIENT_CLOSED;
}
