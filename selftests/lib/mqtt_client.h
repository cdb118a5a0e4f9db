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

struct mqtt_connect_opts {
	const char *client_id;
	uint16_t keepalive;
	bool clean_session;
};

struct mqtt_publish {
	const uint8_t *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t payload_len;
};

void mqtt_packet_free(struct mqtt_packet *p);

int mqtt_send_raw(int fd, const void *buf, size_t len);
int mqtt_send_connect(int fd, const struct mqtt_connect_opts *opts);
/* QoS 0 SUBSCRIBE of n filters. */
int mqtt_send_subscribe(int fd, uint16_t packet_id,
			const char *const *filters, size_t n);
int mqtt_send_unsubscribe(int fd, uint16_t packet_id,
			  const char *const *filters, size_t n);
/* QoS 0 PUBLISH, no retain. */
int mqtt_send_publish(int fd, const char *topic,
		      const void *payload, size_t len);
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
/* SUBACK with this packet id and exactly n return codes, copied to codes. */
int mqtt_expect_suback(int fd, uint16_t packet_id, uint8_t *codes, size_t n);
int mqtt_expect_unsuback(int fd, uint16_t packet_id);
int mqtt_expect_pingresp(int fd);
/* A QoS 0 PUBLISH with exactly this topic and payload. */
int mqtt_expect_publish(int fd, const char *topic,
			const void *payload, size_t len);

/* TCP connect, CONNECT (clean session), CONNACK 0: returns the fd. */
int mqtt_client_open(uint16_t port, const char *client_id, uint16_t keepalive);
/* The same over an already connected socket; closes it on failure. */
int mqtt_client_handshake(int fd, const char *client_id, uint16_t keepalive);
/* SUBSCRIBE one filter at QoS 0 and expect it granted at QoS 0. */
int mqtt_subscribe(int fd, uint16_t packet_id, const char *filter);

#endif
