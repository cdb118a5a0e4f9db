/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The little of MQTT 3.1.1 and 5.0 that kmqtt-bench speaks: framing, the
 * packets a load generator (and its stand-in broker, limit mode) sends and
 * reads, and topic filter matching.  Functions whose packet differs between
 * the two take the protocol level (MQTT_V311 or MQTT_V5); a 5.0 client
 * sends no properties, and of the broker's it reads only the few that
 * bound what it may send.  Encoders write into a caller's bounded buffer
 * and return the bytes written, 0 when the packet does not fit; nothing
 * here allocates or does I/O, so it is unit tested against known bytes.
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

/* Protocol levels: the byte after CONNECT's protocol name (3.1.2.2). */
enum mqtt_level {
	MQTT_V311 = 4,
	MQTT_V5 = 5,
};

/* The 5.0 properties kmqtt-bench reads (2.2.2.2). */
#define MQTT_PROP_SERVER_KEEPALIVE	0x13
#define MQTT_PROP_REASON_STRING		0x1f
#define MQTT_PROP_RECEIVE_MAX		0x21
#define MQTT_PROP_MAX_QOS		0x24
#define MQTT_PROP_MAX_PACKET_SIZE	0x27

/* Reason codes from 0x80 on are failures (5.0, 2.4). */
#define MQTT_RC_FAILURE			0x80

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
	const uint8_t *props;	/* 5.0: the property block, skipped */
	size_t props_len;
	uint16_t id;		/* 0 for QoS 0 */
	uint8_t qos;
	bool dup;
};

/* What a client takes from CONNACK; 3.1.1 has the defaults of 5.0. */
struct mqtt_connack {
	uint8_t rc;		/* return code (3.1.1) or reason code (5.0) */
	bool session_present;
	uint16_t receive_max;	/* QoS 1/2 PUBLISH unacknowledged; 65535 */
	uint8_t max_qos;	/* 2 */
	uint32_t max_packet;	/* 0: no limit */
	int32_t keepalive;	/* server keep alive replacing ours; -1 */
};

/* One property of a 5.0 property block. */
struct mqtt_prop {
	uint8_t id;
	uint32_t num;		/* byte, two/four byte or variable integers */
	const uint8_t *data;	/* strings and binary data: the bytes, */
	size_t len;		/* without their length; a pair: both */
};

ssize_t mqtt_frame(const uint8_t *buf, size_t len, size_t max,
		   struct mqtt_packet *pkt);
int mqtt_prop_next(const uint8_t **cur, const uint8_t *end,
		   struct mqtt_prop *prop);
int mqtt_parse_publish(const struct mqtt_packet *pkt, int level,
		       struct mqtt_publish *pub);
int mqtt_parse_ack(const struct mqtt_packet *pkt, int level, uint16_t *id,
		   uint8_t *reason);
int mqtt_parse_connack(const struct mqtt_packet *pkt, int level,
		       struct mqtt_connack *ca);
int mqtt_parse_suback(const struct mqtt_packet *pkt, int level, uint16_t *id,
		      uint8_t *granted);
int mqtt_parse_disconnect(const struct mqtt_packet *pkt, uint8_t *reason,
			  const uint8_t **why, size_t *why_len);
int mqtt_parse_connect(const struct mqtt_packet *pkt, int *level,
		       const uint8_t **id, size_t *id_len);
int mqtt_parse_subscribe(const struct mqtt_packet *pkt, int level,
			 uint16_t *id, const uint8_t **filter,
			 size_t *filter_len, uint8_t *qos);
const char *mqtt_reason_name(uint8_t rc);

size_t mqtt_publish_len(int level, size_t topic_len, int qos,
			size_t payload_len);
size_t mqtt_put_publish_header(uint8_t *buf, size_t cap, int level,
			       const char *topic, size_t topic_len, int qos,
			       uint16_t id, size_t payload_len);
size_t mqtt_put_connect(uint8_t *buf, size_t cap, int level,
			const char *client_id, uint16_t keepalive);
size_t mqtt_put_subscribe(uint8_t *buf, size_t cap, int level, uint16_t id,
			  const char *filter, int qos);
size_t mqtt_put_ack(uint8_t *buf, size_t cap, enum mqtt_type type,
		    uint16_t id);
size_t mqtt_put_empty(uint8_t *buf, size_t cap, enum mqtt_type type);
size_t mqtt_put_connack(uint8_t *buf, size_t cap, int level, uint8_t rc);
size_t mqtt_put_suback(uint8_t *buf, size_t cap, int level, uint16_t id,
		       uint8_t granted);

bool mqtt_topic_matches(const char *filter, const char *topic);
bool mqtt_filter_has_wildcard(const char *filter);

#endif
