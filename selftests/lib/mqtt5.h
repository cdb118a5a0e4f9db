/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT 5.0 packets for tests, on top of mqtt_client.h's raw sockets:
 * properties are built and read here byte by byte, independently of the
 * module's parser, so that a test states the wire format it expects.
 * Functions return 0 (or a reason code) or -errno, as mqtt_client.h's.
 */
#ifndef KMQTT_TEST_MQTT5_H
#define KMQTT_TEST_MQTT5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_client.h"

/* A property block (without its length), built or received. */
#define MQTT5_PROPS_MAX	1024
struct mqtt5_props {
	uint8_t buf[MQTT5_PROPS_MAX];
	size_t len;
};

void mqtt5_prop_byte(struct mqtt5_props *p, uint8_t id, uint8_t v);
void mqtt5_prop_u16(struct mqtt5_props *p, uint8_t id, uint16_t v);
void mqtt5_prop_u32(struct mqtt5_props *p, uint8_t id, uint32_t v);
void mqtt5_prop_varint(struct mqtt5_props *p, uint8_t id, uint32_t v);
/* A UTF-8 string or binary data property. */
void mqtt5_prop_str(struct mqtt5_props *p, uint8_t id, const char *s);
/* A user property (0x26): a name and a value. */
void mqtt5_prop_pair(struct mqtt5_props *p, const char *name,
		     const char *value);
/*
 * The value of property @id in @p: returns its offset in p->buf (after
 * the identifier), or -ENOENT.  Knows the types of every 5.0 property.
 */
int mqtt5_prop_find(const struct mqtt5_props *p, uint8_t id);
/*
 * The values of every Subscription Identifier in @p, in order, into @ids
 * (room for @max): returns how many, -E2BIG or -EPROTO.
 */
int mqtt5_prop_sub_ids(const struct mqtt5_props *p, uint32_t *ids,
		       size_t max);
/* A four-byte value at p->buf[off]. */
uint32_t mqtt5_prop_get_u32(const struct mqtt5_props *p, int off);

/* CONNECT of MQTT 5.0 (protocol level 5) with these properties. */
int mqtt5_send_connect(int fd, const struct mqtt_connect_opts *opts,
		       const struct mqtt5_props *props);
/*
 * CONNACK of MQTT 5.0: returns its reason code, with the session present
 * flag and the properties when not NULL.
 */
int mqtt5_read_connack(int fd, int timeout_ms, bool *session_present,
		       struct mqtt5_props *props);
int mqtt5_send_publish(int fd, const char *topic,
		       const struct mqtt5_props *props, const void *payload,
		       size_t len, const struct mqtt_pub_opts *opts);
/* SUBSCRIBE of one filter with this options byte (3.8.3.1). */
int mqtt5_send_subscribe(int fd, uint16_t packet_id,
			 const struct mqtt5_props *props, const char *filter,
			 uint8_t options);
int mqtt5_send_unsubscribe(int fd, uint16_t packet_id, const char *filter);
/* PUBACK...PUBCOMP: reason 0 in the two-byte form, else with it. */
int mqtt5_send_ack(int fd, uint8_t type, uint16_t packet_id, uint8_t reason);
int mqtt5_send_disconnect(int fd, uint8_t reason,
			  const struct mqtt5_props *props);
/* AUTH (3.15) with @reason and @props (NULL: none). */
int mqtt5_send_auth(int fd, uint8_t reason, const struct mqtt5_props *props);
/* The next packet is an AUTH: returns its reason code, props into @props. */
int mqtt5_read_auth(int fd, struct mqtt5_props *props);

/* A received 5.0 PUBLISH; @props copied, the rest points into the packet. */
struct mqtt5_publish {
	struct mqtt_publish pub;
	struct mqtt5_props props;
};

int mqtt5_parse_publish(const struct mqtt_packet *p, struct mqtt5_publish *out);
/* The next packet is a PUBLISH: parsed into @out (packet kept in @p). */
int mqtt5_read_publish(int fd, struct mqtt_packet *p, struct mqtt5_publish *out);
/*
 * An ack of @type for @packet_id: returns its reason code (0 when the
 * short form leaves it out).
 */
int mqtt5_expect_ack(int fd, uint8_t type, uint16_t packet_id);
/* SUBACK or UNSUBACK (@type) with exactly n reason codes, into codes. */
int mqtt5_expect_suback(int fd, uint8_t type, uint16_t packet_id,
			uint8_t *codes, size_t n);

#endif
