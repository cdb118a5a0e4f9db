/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The little of MQTT 3.1.1 that kmqtt-bench speaks: framing, the packets a
 * load generator (and its stand-in broker, limit mode) sends and reads, and
 * topic filter matching.  Encoders write into a caller's bounded buffer and
 * return the bytes written, 0 when the packet does not fit; nothing here
 * allocates or does I/O, so it is unit tested against known bytes.
 */
#ifndef BENCH_MQTT_H
#define BENCH_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_PUBREC = 5,
	MQTT_PUBREL = 6,
	MQTT_PUBCOMP = 7,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
};

/* Fixed header of 1 byte plus at most 4 of remaining length (2.2.3). */
#define MQTT_MAX_HEADER		5
#define MQTT_MAX_REMAINING	268435455u

/* One framed packet; body points into the caller's buffer. */
struct mqtt_packet {
	uint8_t type;
	uint8_t flags;
	const uint8_t *body;
	size_t len;
};

struct mqtt_publish {
	const uint8_t *topic;
	size_t topic_len;
	const uint8_t *payload;
	size_t payload_len;
	uint16_t id;		/* 0 for QoS 0 */
	uint8_t qos;
	bool dup;
};

ssize_t mqtt_frame(const uint8_t *buf, size_t len, size_t max,
		   struct mqtt_packet *pkt);
int mqtt_parse_publish(const struct mqtt_packet *pkt, struct mqtt_publish *pub);
int mqtt_parse_id(const struct mqtt_packet *pkt, uint16_t *id);
int mqtt_parse_connack(const struct mqtt_packet *pkt, uint8_t *rc);
int mqtt_parse_suback(const struct mqtt_packet *pkt, uint16_t *id,
		      uint8_t *granted);
int mqtt_parse_connect(const struct mqtt_packet *pkt, const uint8_t **id,
		       size_t *id_len);
int mqtt_parse_subscribe(const struct mqtt_packet *pkt, uint16_t *id,
			 const uint8_t **filter, size_t *filter_len,
			 uint8_t *qos);

size_t mqtt_publish_len(size_t topic_len, int qos, size_t payload_len);
size_t mqtt_put_publish_header(uint8_t *buf, size_t cap, const char *topic,
			       size_t topic_len, int qos, uint16_t id,
			       size_t payload_len);
size_t mqtt_put_connect(uint8_t *buf, size_t cap, const char *client_id,
			uint16_t keepalive);
size_t mqtt_put_subscribe(uint8_t *buf, size_t cap, uint16_t id,
			  const char *filter, int qos);
size_t mqtt_put_ack(uint8_t *buf, size_t cap, enum mqtt_type type,
		    uint16_t id);
size_t mqtt_put_empty(uint8_t *buf, size_t cap, enum mqtt_type type);
size_t mqtt_put_connack(uint8_t *buf, size_t cap, uint8_t rc);
size_t mqtt_put_suback(uint8_t *buf, size_t cap, uint16_t id, uint8_t granted);

bool mqtt_topic_matches(const char *filter, const char *topic);
bool mqtt_filter_has_wildcard(const char *filter);

#endif
