/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A deliberately small MQTT 3.1.1 client for tests, on raw sockets so that a
 * test controls every byte (and can send malformed ones).  Functions return
 * 0 or a non-negative value on success and -errno on failure; a packet that
 * arrives but is not the one expected gives -EPROTO and a "# " diagnostic
 * line on stderr (TAP comments), so a failing test says what it saw.
 */
#ifndef KMQTT_TEST_MQTT_CLIENT_H
#define KMQTT_TEST_MQTT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failure bound for anything the broker should do at once. */
#define MQTT_TEST_TIMEOUT_MS	5000

struct mqtt_packet {
	uint8_t type;		/* MQTT_CONNECT ... MQTT_DISCONNECT */
	uint8_t flags;		/* low nibble of the fixed header */
	uint32_t len;		/* remaining length */
	uint8_t *body;		/* len bytes; owned, reused by the next read */
	size_t cap;
};

struct mqtt5_props;

struct mqtt_connect_opts {
	const char *client_id;
	uint16_t keepalive;
	bool clean_session;
	/* A will message (3.1.2.5) when will_topic is set. */
	const char *will_topic;
	const void *will_payload;
	size_t will_len;
	uint8_t will_qos;
	bool will_retain;
	/* MQTT 5.0 (mqtt5_send_connect()): the will's properties; NULL: none. */
	const struct mqtt5_props *will_props;
};

/* PUBLISH header fields beyond topic and payload (3.3.1, 3.3.2.2). */
struct mqtt_pub_opts {
	uint8_t qos;
	bool retain;
	bool dup;
	uint16_t packet_id;	/* QoS 1 and 2 only */
};

struct mqtt_publish {
	const uint8_t *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t payload_len;
	struct mqtt_pub_opts opts;
};

/* A received application message, copied out of the packet buffer. */
#define MQTT_RECEIVED_MAX	256
struct mqtt_received {
	char topic[MQTT_RECEIVED_MAX];	/* NUL-terminated */
	uint8_t payload[MQTT_RECEIVED_MAX];
	size_t payload_len;
	struct mqtt_pub_opts opts;
};

void mqtt_packet_free(struct mqtt_packet *p);

/*
 * A packet under construction: room for the fixed header first, the body
 * after it.  An allocation failure is kept in @err and returned by
 * mqtt_builder_send(), which frees the buffer.
 */
struct mqtt_builder {
	uint8_t *buf;
	size_t len, cap;
	int err;
};

void mqtt_builder_start(struct mqtt_builder *b);
void mqtt_builder_put(struct mqtt_builder *b, const void *data, size_t len);
void mqtt_builder_u8(struct mqtt_builder *b, uint8_t v);
void mqtt_builder_u16(struct mqtt_builder *b, uint16_t v);
/* Two-byte length, then the bytes (1.5.3); a string without its NUL. */
void mqtt_builder_bytes(struct mqtt_builder *b, const void *data, size_t len);
void mqtt_builder_string(struct mqtt_builder *b, const char *s);
/* A variable byte integer (1.5.5) into @out (4 bytes): returns its size. */
size_t mqtt_put_varint(uint8_t *out, uint32_t v);
/* Write the fixed header in front of the body and send the packet. */
int mqtt_builder_send(struct mqtt_builder *b, int fd, uint8_t type,
		      uint8_t flags);

int mqtt_send_raw(int fd, const void *buf, size_t len);
int mqtt_send_connect(int fd, const struct mqtt_connect_opts *opts);
/* QoS 0 SUBSCRIBE of n filters. */
int mqtt_send_subscribe(int fd, uint16_t packet_id,
			const char *const *filters, size_t n);
/* SUBSCRIBE of n filters, each at its requested QoS qos[i]. */
int mqtt_send_subscribe_qos(int fd, uint16_t packet_id,
			    const char *const *filters, const uint8_t *qos,
			    size_t n);
int mqtt_send_unsubscribe(int fd, uint16_t packet_id,
			  const char *const *filters, size_t n);
/* QoS 0 PUBLISH, no retain. */
int mqtt_send_publish(int fd, const char *topic,
		      const void *payload, size_t len);
/* PUBLISH with the header fields of opts. */
int mqtt_send_publish_opts(int fd, const char *topic, const void *payload,
			   size_t len, const struct mqtt_pub_opts *opts);
/* PUBACK, PUBREC, PUBREL (with its required flags) or PUBCOMP. */
int mqtt_send_pub_ack(int fd, uint8_t type, uint16_t packet_id);
int mqtt_send_pingreq(int fd);
int mqtt_send_disconnect(int fd);

/*
 * Read the next packet within timeout_ms: 0, -ETIMEDOUT, or -ECONNRESET
 * when the peer closed (EOF or reset).
 */
int mqtt_read_packet(int fd, struct mqtt_packet *p, int timeout_ms);
/* Wait for the peer to close, discarding packets: 0 or -ETIMEDOUT. */
int mqtt_wait_closed(int fd, int timeout_ms);
/* Nothing arrives and the peer does not close for quiet_ms. */
int mqtt_expect_silence(int fd, int quiet_ms);
int mqtt_parse_publish(const struct mqtt_packet *p, struct mqtt_publish *out);

/* Returns the CONNACK return code. */
int mqtt_expect_connack(int fd, int timeout_ms);
/* The same, and the session present flag (3.2.2.2) when not NULL. */
int mqtt_read_connack(int fd, int timeout_ms, bool *session_present);
/* SUBACK with this packet id and exactly n return codes, copied to codes. */
int mqtt_expect_suback(int fd, uint16_t packet_id, uint8_t *codes, size_t n);
int mqtt_expect_unsuback(int fd, uint16_t packet_id);
int mqtt_expect_pingresp(int fd);
/* PUBACK, PUBREC, PUBREL or PUBCOMP for this packet id. */
int mqtt_expect_pub_ack(int fd, uint8_t type, uint16_t packet_id);
/* A QoS 0 PUBLISH with exactly this topic and payload. */
int mqtt_expect_publish(int fd, const char *topic,
			const void *payload, size_t len);

/*
 * Subscriber side of QoS 1 and 2: read the next PUBLISH within timeout_ms
 * into *m, answering each PUBREL met on the way with PUBCOMP (4.3.3).
 * With ack, acknowledge the PUBLISH (PUBACK for QoS 1, PUBREC for QoS 2).
 */
int mqtt_receive(int fd, struct mqtt_received *m, bool ack, int timeout_ms);
/* mqtt_receive with ack, and check topic, payload and header fields. */
int mqtt_expect_message(int fd, const char *topic, const char *payload,
			const struct mqtt_pub_opts *expect);
/*
 * Numbered messages, for order checks: payload "N" (decimal), published
 * with packet id N % 65535 + 1, and expected as by mqtt_expect_message().
 */
int mqtt_publish_nth(int fd, const char *topic, int n,
		     const struct mqtt_pub_opts *opts);
int mqtt_expect_nth(int fd, const char *topic, int n,
		    const struct mqtt_pub_opts *expect);
/*
 * PINGREQ, then answer PUBRELs with PUBCOMP until PINGRESP: the broker has
 * handled everything sent before.  A PUBLISH meanwhile is an error.
 */
int mqtt_sync(int fd);
/*
 * Publisher side: PUBLISH at opts' QoS and complete its flow (PUBACK, or
 * PUBREC, PUBREL, PUBCOMP); nothing else may arrive meanwhile.
 */
int mqtt_publish(int fd, const char *topic, const char *payload,
		 const struct mqtt_pub_opts *opts);

/* TCP connect, CONNECT (clean session), CONNACK 0: returns the fd. */
int mqtt_client_open(uint16_t port, const char *client_id, uint16_t keepalive);
/*
 * TCP connect, CONNECT with opts, CONNACK 0: returns the fd, and the
 * session present flag when session_present is not NULL.
 */
int mqtt_client_connect(uint16_t port, const struct mqtt_connect_opts *opts,
			bool *session_present);
/* The same over an already connected socket; closes it on failure. */
int mqtt_client_handshake(int fd, const char *client_id, uint16_t keepalive);
/*
 * mqtt_client_open() (no keepalive) of a client that reads little: a
 * receive buffer of 1 KiB and segments of 536 bytes keep the broker's
 * send buffer for it small (it grows with the segment size), so its queue
 * in kmqtt.ko fills after a few dozen KiB instead of megabytes when it
 * does not read.  Both options are set before connect.
 */
int mqtt_client_open_stalled(uint16_t port, const char *client_id);
/* Its socket, connected and not yet sent anything: for a 5.0 CONNECT. */
int mqtt_client_stalled_socket(uint16_t port);
/*
 * Remove the stored session of client_id (MQTT-3.1.2-6: a clean session
 * connect discards it, and ends with the connection): tests that make
 * persistent sessions call it so none outlives them.
 */
int mqtt_session_discard(uint16_t port, const char *client_id);
/* SUBSCRIBE one filter at QoS 0 and expect it granted at QoS 0. */
int mqtt_subscribe(int fd, uint16_t packet_id, const char *filter);
/* SUBSCRIBE one filter at qos and expect it granted at qos. */
int mqtt_subscribe_qos(int fd, uint16_t packet_id, const char *filter,
		       uint8_t qos);

/*
 * The next len bytes on fd are exactly these (several packets may be
 * given): 0, -EPROTO with both shown, -ETIMEDOUT or -ECONNRESET.
 */
int mqtt_expect_bytes(int fd, const void *bytes, size_t len, int timeout_ms);

#endif
