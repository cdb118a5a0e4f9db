// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "loopback.h"
#include "mqtt_client.h"

static const char *const packet_names[16] = {
	"RESERVED0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
	"PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK",
	"PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED15",
};

void mqtt_builder_put(struct mqtt_builder *b, const void *data, size_t len)
{
	uint8_t *grown;

	if (b->err)
		return;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;

		grown = realloc(b->buf, cap);
		if (!grown) {
			b->err = -ENOMEM;
			return;
		}
		b->buf = grown;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
}

void mqtt_builder_u8(struct mqtt_builder *b, uint8_t v)
{
	mqtt_builder_put(b, &v, 1);
}

void mqtt_builder_u16(struct mqtt_builder *b, uint16_t v)
{
	uint8_t be[2] = { v >> 8, v & 0xff };

	mqtt_builder_put(b, be, 2);
}

void mqtt_builder_bytes(struct mqtt_builder *b, const void *data,
			  size_t len)
{
	mqtt_builder_u16(b, len);
	mqtt_builder_put(b, data, len);
}

void mqtt_builder_string(struct mqtt_builder *b, const char *s)
{
	mqtt_builder_bytes(b, s, strlen(s));
}

void mqtt_builder_start(struct mqtt_builder *b)
{
	*b = (struct mqtt_builder){ 0 };
	/* Reserve the largest fixed header; the body goes after it. */
	mqtt_builder_put(b, (uint8_t[MQTT_MAX_FIXED_HEADER]){ 0 },
		    MQTT_MAX_FIXED_HEADER);
}

size_t mqtt_put_varint(uint8_t *out, uint32_t v)
{
	size_t n = 0;

	do {
		out[n] = v & 0x7f;
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

int mqtt_builder_send(struct mqtt_builder *b, int fd, uint8_t type,
		      uint8_t flags)
{
	size_t body = b->len - MQTT_MAX_FIXED_HEADER;
	uint8_t hdr[MQTT_MAX_FIXED_HEADER];
	int err = b->err;
	size_t n;

	hdr[0] = type << 4 | flags;
	n = 1 + mqtt_put_varint(hdr + 1, body);
	if (!err) {
		memcpy(b->buf + MQTT_MAX_FIXED_HEADER - n, hdr, n);
		err = mqtt_send_raw(fd, b->buf + MQTT_MAX_FIXED_HEADER - n,
				    body + n);
	}
	free(b->buf);
	return err;
}

void mqtt_packet_free(struct mqtt_packet *p)
{
	free(p->body);
	*p = (struct mqtt_packet){ 0 };
}

int mqtt_send_raw(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int mqtt_send_connect(int fd, const struct mqtt_connect_opts *opts)
{
	uint8_t flags = opts->clean_session ? MQTT_CONNECT_CLEAN_SESSION : 0;
	struct mqtt_builder b;

	if (opts->will_topic) {
		flags |= MQTT_CONNECT_WILL;
		flags |= opts->will_qos << MQTT_CONNECT_WILL_QOS_SHIFT;
		if (opts->will_retain)
			flags |= MQTT_CONNECT_WILL_RETAIN;
	}
	mqtt_builder_start(&b);
	mqtt_builder_string(&b, "MQTT");
	mqtt_builder_u8(&b, MQTT_PROTO_V311);
	mqtt_builder_u8(&b, flags);
	mqtt_builder_u16(&b, opts->keepalive);
	mqtt_builder_string(&b, opts->client_id);
	if (opts->will_topic) {
		mqtt_builder_string(&b, opts->will_topic);
		mqtt_builder_bytes(&b, opts->will_payload, opts->will_len);
	}
	return mqtt_builder_send(&b, fd, MQTT_CONNECT, 0);
}

/* SUBSCRIBE has a QoS byte after each filter: qos[i], or 0 without qos. */
static int send_filters(int fd, uint8_t type, uint16_t packet_id,
			const char *const *filters, const uint8_t *qos,
			size_t n)
{
	struct mqtt_builder b;
	size_t i;

	mqtt_builder_start(&b);
	mqtt_builder_u16(&b, packet_id);
	for (i = 0; i < n; i++) {
		mqtt_builder_string(&b, filters[i]);
		if (type == MQTT_SUBSCRIBE)
			mqtt_builder_u8(&b, qos ? qos[i] : 0);
	}
	return mqtt_builder_send(&b, fd, type, MQTT_FLAGS_QOS1_RESERVED);
}

int mqtt_send_subscribe(int fd, uint16_t packet_id,
			const char *const *filters, size_t n)
{
	return send_filters(fd, MQTT_SUBSCRIBE, packet_id, filters, NULL, n);
}

int mqtt_send_subscribe_qos(int fd, uint16_t packet_id,
			    const char *const *filters, const uint8_t *qos,
			    size_t n)
{
	return send_filters(fd, MQTT_SUBSCRIBE, packet_id, filters, qos, n);
}

int mqtt_send_unsubscribe(int fd, uint16_t packet_id,
			  const char *const *filters, size_t n)
{
	return send_filters(fd, MQTT_UNSUBSCRIBE, packet_id, filters, NULL, n);
}

int mqtt_send_publish(int fd, const char *topic, const void *payload,
		      size_t len)
{
	static const struct mqtt_pub_opts qos0;

	return mqtt_send_publish_opts(fd, topic, payload, len, &qos0);
}

static uint8_t publish_flags(const struct mqtt_pub_opts *opts)
{
	return opts->qos << MQTT_PUBLISH_QOS_SHIFT |
	       (opts->retain ? MQTT_PUBLISH_RETAIN : 0) |
	       (opts->dup ? MQTT_PUBLISH_DUP : 0);
}

int mqtt_send_publish_opts(int fd, const char *topic, const void *payload,
			   size_t len, const struct mqtt_pub_opts *opts)
{
	struct mqtt_builder b;

	mqtt_builder_start(&b);
	mqtt_builder_string(&b, topic);
	if (opts->qos)
		mqtt_builder_u16(&b, opts->packet_id);
	mqtt_builder_put(&b, payload, len);
	return mqtt_builder_send(&b, fd, MQTT_PUBLISH, publish_flags(opts));
}

/* 2.2.2: PUBREL is the one acknowledgement with flags (0010). */
static uint8_t ack_flags(uint8_t type)
{
	return type == MQTT_PUBREL ? MQTT_FLAGS_QOS1_RESERVED : 0;
}

int mqtt_send_pub_ack(int fd, uint8_t type, uint16_t packet_id)
{
	uint8_t pkt[4] = { type << 4 | ack_flags(type), 2,
			   packet_id >> 8, packet_id & 0xff };

	return mqtt_send_raw(fd, pkt, sizeof(pkt));
}

int mqtt_send_pingreq(int fd)
{
	return mqtt_send_raw(fd, (uint8_t[]){ MQTT_PINGREQ << 4, 0 }, 2);
}

int mqtt_send_disconnect(int fd)
{
	return mqtt_send_raw(fd, (uint8_t[]){ MQTT_DISCONNECT << 4, 0 }, 2);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly len bytes before the deadline. */
static int read_exact(int fd, void *buf, size_t len, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t *p = buf;
	int64_t left;
	ssize_t n;

	while (len) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return errno == EPIPE ? -ECONNRESET : -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int mqtt_read_packet(int fd, struct mqtt_packet *p, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint32_t len = 0;
	uint8_t byte;
	int shift, err;

	err = read_exact(fd, &byte, 1, deadline);
	if (err)
		return err;
	p->type = byte >> 4;
	p->flags = byte & 0xf;
	for (shift = 0; shift < 28; shift += 7) {
		err = read_exact(fd, &byte, 1, deadline);
		if (err)
			return err;
		len |= (uint32_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			break;
	}
	if (shift == 28) {
		fprintf(stderr, "# broker sent a remaining length over 4 bytes\n");
		return -EPROTO;
	}
	if (len > p->cap) {
		uint8_t *body = realloc(p->body, len);

		if (!body)
			return -ENOMEM;
		p->body = body;
		p->cap = len;
	}
	p->len = len;
	return read_exact(fd, p->body, len, deadline);
}

int mqtt_wait_closed(int fd, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct mqtt_packet p = { 0 };
	int err;

	do {
		err = mqtt_read_packet(fd, &p, deadline - now_ms());
	} while (!err);
	mqtt_packet_free(&p);
	return err == -ECONNRESET ? 0 : err;
}

int mqtt_expect_silence(int fd, int quiet_ms)
{
	struct mqtt_packet p = { 0 };
	int err;

	err = mqtt_read_packet(fd, &p, quiet_ms);
	if (!err)
		fprintf(stderr, "# unexpected %s (%u bytes) during quiet period\n",
			packet_names[p.type], p.len);
	else if (err == -ECONNRESET)
		fprintf(stderr, "# connection closed during quiet period\n");
	mqtt_packet_free(&p);
	return err == -ETIMEDOUT ? 0 : err ? err : -EPROTO;
}

int mqtt_parse_publish(const struct mqtt_packet *p, struct mqtt_publish *out)
{
	size_t off;

	if (p->type != MQTT_PUBLISH || p->len < 2)
		return -EPROTO;
	out->opts = (struct mqtt_pub_opts){
		.qos = (p->flags & MQTT_PUBLISH_QOS_MASK) >>
		       MQTT_PUBLISH_QOS_SHIFT,
		.retain = p->flags & MQTT_PUBLISH_RETAIN,
		.dup = p->flags & MQTT_PUBLISH_DUP,
	};
	out->topic_len = (size_t)p->body[0] << 8 | p->body[1];
	off = 2 + out->topic_len;
	/* A QoS > 0 PUBLISH carries a packet id after the topic. */
	if (out->opts.qos)
		off += 2;
	if (off > p->len)
		return -EPROTO;
	if (out->opts.qos)
		out->opts.packet_id = p->body[off - 2] << 8 | p->body[off - 1];
	out->topic = p->body + 2;
	out->payload = p->body + off;
	out->payload_len = p->len - off;
	return 0;
}

/* Read the next packet and check its type and exact fixed header flags. */
static int expect_packet(int fd, struct mqtt_packet *p, uint8_t type,
			 uint8_t flags, int timeout_ms)
{
	int err = mqtt_read_packet(fd, p, timeout_ms);

	if (err) {
		fprintf(stderr, "# waiting for %s: %s\n", packet_names[type],
			strerror(-err));
		return err;
	}
	if (p->type != type || p->flags != flags) {
		fprintf(stderr, "# expected %s flags %#x, got %s flags %#x (%u bytes)\n",
			packet_names[type], flags, packet_names[p->type],
			p->flags, p->len);
		return -EPROTO;
	}
	return 0;
}

static uint16_t get_u16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

int mqtt_expect_connack(int fd, int timeout_ms)
{
	return mqtt_read_connack(fd, timeout_ms, NULL);
}

int mqtt_read_connack(int fd, int timeout_ms, bool *session_present)
{
	struct mqtt_packet p = { 0 };
	int err;

	err = expect_packet(fd, &p, MQTT_CONNACK, 0, timeout_ms);
	if (!err && p.len != 2) {
		fprintf(stderr, "# CONNACK of %u bytes\n", p.len);
		err = -EPROTO;
	}
	/* MQTT-3.2.2-1: bits 7-1 of the acknowledge flags are reserved. */
	if (!err && p.body[0] > 1) {
		fprintf(stderr, "# CONNACK flags %#x\n", p.body[0]);
		err = -EPROTO;
	}
	if (!err && session_present)
		*session_present = p.body[0];
	if (!err)
		err = p.body[1];
	mqtt_packet_free(&p);
	return err;
}

/* An acknowledgement: packet id then payload_len bytes. */
static int expect_ack(int fd, uint8_t type, uint16_t packet_id,
		      uint8_t *payload, size_t payload_len)
{
	struct mqtt_packet p = { 0 };
	int err;

	err = expect_packet(fd, &p, type, ack_flags(type),
			    MQTT_TEST_TIMEOUT_MS);
	if (!err && p.len != 2 + payload_len) {
		fprintf(stderr, "# %s of %u bytes, expected %zu\n",
			packet_names[type], p.len, 2 + payload_len);
		err = -EPROTO;
	}
	if (!err && get_u16(p.body) != packet_id) {
		fprintf(stderr, "# %s for packet id %u, expected %u\n",
			packet_names[type], get_u16(p.body), packet_id);
		err = -EPROTO;
	}
	if (!err && payload_len)
		memcpy(payload, p.body + 2, payload_len);
	mqtt_packet_free(&p);
	return err;
}

int mqtt_expect_suback(int fd, uint16_t packet_id, uint8_t *codes, size_t n)
{
	return expect_ack(fd, MQTT_SUBACK, packet_id, codes, n);
}

int mqtt_expect_unsuback(int fd, uint16_t packet_id)
{
	return expect_ack(fd, MQTT_UNSUBACK, packet_id, NULL, 0);
}

int mqtt_expect_pub_ack(int fd, uint8_t type, uint16_t packet_id)
{
	return expect_ack(fd, type, packet_id, NULL, 0);
}

int mqtt_expect_pingresp(int fd)
{
	struct mqtt_packet p = { 0 };
	int err;

	err = expect_packet(fd, &p, MQTT_PINGRESP, 0, MQTT_TEST_TIMEOUT_MS);
	if (!err && p.len) {
		fprintf(stderr, "# PINGRESP of %u bytes\n", p.len);
		err = -EPROTO;
	}
	mqtt_packet_free(&p);
	return err;
}

int mqtt_expect_publish(int fd, const char *topic, const void *payload,
			size_t len)
{
	struct mqtt_packet p = { 0 };
	struct mqtt_publish pub;
	int err;

	/* QoS 0 subscriptions only: flags must be 0 (no DUP, QoS, RETAIN). */
	err = expect_packet(fd, &p, MQTT_PUBLISH, 0, MQTT_TEST_TIMEOUT_MS);
	if (!err)
		err = mqtt_parse_publish(&p, &pub);
	if (!err && (pub.topic_len != strlen(topic) ||
		     memcmp(pub.topic, topic, pub.topic_len) ||
		     pub.payload_len != len ||
		     memcmp(pub.payload, payload, len))) {
		fprintf(stderr, "# expected PUBLISH '%s' (%zu bytes), got '%.*s' (%zu bytes)\n",
			topic, len, (int)pub.topic_len, pub.topic,
			pub.payload_len);
		err = -EPROTO;
	}
	mqtt_packet_free(&p);
	return err;
}

static int pub_opts_differ(const struct mqtt_pub_opts *got,
			   const struct mqtt_pub_opts *want)
{
	if (got->qos == want->qos && got->retain == want->retain &&
	    got->dup == want->dup)
		return 0;
	fprintf(stderr, "# PUBLISH QoS %u retain %d dup %d, expected QoS %u retain %d dup %d\n",
		got->qos, got->retain, got->dup, want->qos, want->retain,
		want->dup);
	return -EPROTO;
}

/* The next packet that is not a PUBREL; those get their PUBCOMP (4.3.3). */
static int read_completing_pubrels(int fd, struct mqtt_packet *p,
				   int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int err;

	for (;;) {
		err = mqtt_read_packet(fd, p, deadline - now_ms());
		if (err || p->type != MQTT_PUBREL)
			return err;
		if (p->flags != MQTT_FLAGS_QOS1_RESERVED || p->len != 2) {
			fprintf(stderr, "# PUBREL flags %#x, %u bytes\n",
				p->flags, p->len);
			return -EPROTO;
		}
		err = mqtt_send_pub_ack(fd, MQTT_PUBCOMP, get_u16(p->body));
		if (err)
			return err;
	}
}

int mqtt_receive(int fd, struct mqtt_received *m, bool ack, int timeout_ms)
{
	struct mqtt_packet p = { 0 };
	struct mqtt_publish pub;
	int err;

	err = read_completing_pubrels(fd, &p, timeout_ms);
	if (err) {
		fprintf(stderr, "# waiting for PUBLISH: %s\n", strerror(-err));
	} else if (mqtt_parse_publish(&p, &pub)) {
		fprintf(stderr, "# expected PUBLISH, got %s flags %#x (%u bytes)\n",
			packet_names[p.type], p.flags, p.len);
		err = -EPROTO;
	} else if (pub.topic_len >= sizeof(m->topic) ||
		   pub.payload_len > sizeof(m->payload)) {
		fprintf(stderr, "# PUBLISH too large for a test message\n");
		err = -EMSGSIZE;
	} else {
		memcpy(m->topic, pub.topic, pub.topic_len);
		m->topic[pub.topic_len] = '\0';
		memcpy(m->payload, pub.payload, pub.payload_len);
		m->payload_len = pub.payload_len;
		m->opts = pub.opts;
	}
	mqtt_packet_free(&p);
	if (!err && ack && m->opts.qos)
		err = mqtt_send_pub_ack(fd, m->opts.qos == 1 ? MQTT_PUBACK :
					MQTT_PUBREC, m->opts.packet_id);
	return err;
}

int mqtt_sync(int fd)
{
	struct mqtt_packet p = { 0 };
	int err;

	err = mqtt_send_pingreq(fd);
	if (!err)
		err = read_completing_pubrels(fd, &p, MQTT_TEST_TIMEOUT_MS);
	if (!err && (p.type != MQTT_PINGRESP || p.len)) {
		fprintf(stderr, "# expected PINGRESP, got %s (%u bytes)\n",
			packet_names[p.type], p.len);
		err = -EPROTO;
	}
	mqtt_packet_free(&p);
	return err;
}

int mqtt_expect_message(int fd, const char *topic, const char *payload,
			const struct mqtt_pub_opts *expect)
{
	struct mqtt_received m;
	int err;

	err = mqtt_receive(fd, &m, true, MQTT_TEST_TIMEOUT_MS);
	if (err)
		return err;
	if (strcmp(m.topic, topic) || m.payload_len != strlen(payload) ||
	    memcmp(m.payload, payload, m.payload_len)) {
		fprintf(stderr, "# expected PUBLISH '%s' '%s', got '%s' '%.*s'\n",
			topic, payload, m.topic, (int)m.payload_len,
			m.payload);
		return -EPROTO;
	}
	return pub_opts_differ(&m.opts, expect);
}

int mqtt_publish(int fd, const char *topic, const char *payload,
		 const struct mqtt_pub_opts *opts)
{
	uint16_t id = opts->packet_id;
	int err;

	err = mqtt_send_publish_opts(fd, topic, payload, strlen(payload), opts);
	if (err || !opts->qos)
		return err;
	if (opts->qos == 1)
		return mqtt_expect_pub_ack(fd, MQTT_PUBACK, id);
	err = mqtt_expect_pub_ack(fd, MQTT_PUBREC, id);
	if (!err)
		err = mqtt_send_pub_ack(fd, MQTT_PUBREL, id);
	if (!err)
		err = mqtt_expect_pub_ack(fd, MQTT_PUBCOMP, id);
	return err;
}

int mqtt_publish_nth(int fd, const char *topic, int n,
		     const struct mqtt_pub_opts *opts)
{
	struct mqtt_pub_opts o = *opts;
	char payload[16];

	o.packet_id = n % 65535 + 1;
	snprintf(payload, sizeof(payload), "%d", n);
	return mqtt_publish(fd, topic, payload, &o);
}

int mqtt_expect_nth(int fd, const char *topic, int n,
		    const struct mqtt_pub_opts *expect)
{
	char payload[16];

	snprintf(payload, sizeof(payload), "%d", n);
	return mqtt_expect_message(fd, topic, payload, expect);
}

int mqtt_client_open(uint16_t port, const char *client_id, uint16_t keepalive)
{
	int fd = loopback_connect(port, MQTT_TEST_TIMEOUT_MS);

	return fd < 0 ? fd : mqtt_client_handshake(fd, client_id, keepalive);
}

static int client_connect_on(int fd, const struct mqtt_connect_opts *opts,
			     bool *session_present)
{
	int err;

	err = mqtt_send_connect(fd, opts);
	if (!err)
		err = mqtt_read_connack(fd, MQTT_TEST_TIMEOUT_MS,
					session_present);
	if (err > 0) {
		fprintf(stderr, "# CONNACK return code %d\n", err);
		err = -ECONNREFUSED;
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int mqtt_client_handshake(int fd, const char *client_id, uint16_t keepalive)
{
	struct mqtt_connect_opts opts = {
		.client_id = client_id,
		.keepalive = keepalive,
		.clean_session = true,
	};

	return client_connect_on(fd, &opts, NULL);
}

int mqtt_client_stalled_socket(uint16_t port)
{
	int rcvbuf = 1024, mss = 536, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return loopback_connect_fd(fd, port, MQTT_TEST_TIMEOUT_MS);
}

int mqtt_client_open_stalled(uint16_t port, const char *client_id)
{
	int fd = mqtt_client_stalled_socket(port);

	return fd < 0 ? fd : mqtt_client_handshake(fd, client_id, 0);
}

int mqtt_client_connect(uint16_t port, const struct mqtt_connect_opts *opts,
			bool *session_present)
{
	int fd = loopback_connect(port, MQTT_TEST_TIMEOUT_MS);

	return fd < 0 ? fd : client_connect_on(fd, opts, session_present);
}

int mqtt_session_discard(uint16_t port, const char *client_id)
{
	int fd = mqtt_client_open(port, client_id, 0);
	int err;

	if (fd < 0)
		return fd;
	err = mqtt_send_disconnect(fd);
	if (!err)
		err = mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS);
	close(fd);
	return err;
}

int mqtt_subscribe(int fd, uint16_t packet_id, const char *filter)
{
	return mqtt_subscribe_qos(fd, packet_id, filter, 0);
}

int mqtt_subscribe_qos(int fd, uint16_t packet_id, const char *filter,
		       uint8_t qos)
{
	uint8_t code;
	int err;

	err = mqtt_send_subscribe_qos(fd, packet_id, &filter, &qos, 1);
	if (!err)
		err = mqtt_expect_suback(fd, packet_id, &code, 1);
	if (!err && code != qos) {
		fprintf(stderr, "# SUBACK code %#x for '%s'\n", code, filter);
		err = -EPROTO;
	}
	return err;
}

int mqtt_expect_bytes(int fd, const void *bytes, size_t len, int timeout_ms)
{
	uint8_t *got = malloc(len ? len : 1);
	size_t i;
	int err;

	if (!got)
		return -ENOMEM;
	err = read_exact(fd, got, len, now_ms() + timeout_ms);
	if (err)
		fprintf(stderr, "# waiting for %zu bytes: %s\n", len,
			strerror(-err));
	else if (memcmp(got, bytes, len)) {
		fprintf(stderr, "# expected");
		for (i = 0; i < len; i++)
			fprintf(stderr, " %02x", ((const uint8_t *)bytes)[i]);
		fprintf(stderr, ", got");
		for (i = 0; i < len; i++)
			fprintf(stderr, " %02x", got[i]);
		fprintf(stderr, "\n");
		err = -EPROTO;
	}
	free(got);
	return err;
}
