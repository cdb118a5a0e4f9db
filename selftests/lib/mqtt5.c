// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "mqtt5.h"

static void props_put(struct mqtt5_props *p, const void *data, size_t len)
{
	/* Tests build small blocks; overflowing one is a test bug. */
	if (p->len + len > sizeof(p->buf)) {
		fprintf(stderr, "# property block over %zu bytes\n",
			sizeof(p->buf));
		return;
	}
	memcpy(p->buf + p->len, data, len);
	p->len += len;
}

void mqtt5_prop_byte(struct mqtt5_props *p, uint8_t id, uint8_t v)
{
	props_put(p, (uint8_t[]){ id, v }, 2);
}

void mqtt5_prop_u16(struct mqtt5_props *p, uint8_t id, uint16_t v)
{
	props_put(p, (uint8_t[]){ id, v >> 8, v & 0xff }, 3);
}

void mqtt5_prop_u32(struct mqtt5_props *p, uint8_t id, uint32_t v)
{
	props_put(p, (uint8_t[]){ id, v >> 24, v >> 16 & 0xff, v >> 8 & 0xff,
				  v & 0xff }, 5);
}

void mqtt5_prop_varint(struct mqtt5_props *p, uint8_t id, uint32_t v)
{
	uint8_t buf[5] = { id };

	props_put(p, buf, 1 + mqtt_put_varint(buf + 1, v));
}

static void props_string(struct mqtt5_props *p, const char *s)
{
	size_t n = strlen(s);

	props_put(p, (uint8_t[]){ n >> 8, n & 0xff }, 2);
	props_put(p, s, n);
}

void mqtt5_prop_str(struct mqtt5_props *p, uint8_t id, const char *s)
{
	props_put(p, &id, 1);
	props_string(p, s);
}

void mqtt5_prop_pair(struct mqtt5_props *p, const char *name,
		     const char *value)
{
	mqtt5_prop_str(p, MQTT_PROP_USER_PROPERTY, name);
	props_string(p, value);
}

/* Bytes of property @id's value at @v, or -EPROTO for an unknown id. */
static int prop_value_len(uint8_t id, const uint8_t *v, size_t left)
{
	size_t n;

	switch (id) {
	case MQTT_PROP_PAYLOAD_FORMAT: case MQTT_PROP_REQUEST_PROBLEM_INFO:
	case MQTT_PROP_REQUEST_RESPONSE_INFO: case MQTT_PROP_MAX_QOS:
	case MQTT_PROP_RETAIN_AVAILABLE: case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
	case MQTT_PROP_SUB_ID_AVAILABLE: case MQTT_PROP_SHARED_SUB_AVAILABLE:
		return 1;
	case MQTT_PROP_SERVER_KEEPALIVE: case MQTT_PROP_RECEIVE_MAX:
	case MQTT_PROP_TOPIC_ALIAS_MAX: case MQTT_PROP_TOPIC_ALIAS:
		return 2;
	case MQTT_PROP_MESSAGE_EXPIRY: case MQTT_PROP_SESSION_EXPIRY:
	case MQTT_PROP_WILL_DELAY: case MQTT_PROP_MAX_PACKET_SIZE:
		return 4;
	case MQTT_PROP_SUBSCRIPTION_ID:
		for (n = 0; n < left && n < 4; n++)
			if (!(v[n] & 0x80))
				return n + 1;
		return -EPROTO;
	case MQTT_PROP_USER_PROPERTY:
		if (left < 2)
			return -EPROTO;
		n = 2 + (v[0] << 8 | v[1]);
		if (left < n + 2)
			return -EPROTO;
		return n + 2 + (v[n] << 8 | v[n + 1]);
	case MQTT_PROP_CONTENT_TYPE: case MQTT_PROP_RESPONSE_TOPIC:
	case MQTT_PROP_CORRELATION_DATA: case MQTT_PROP_ASSIGNED_CLIENT_ID:
	case MQTT_PROP_AUTH_METHOD: case MQTT_PROP_AUTH_DATA:
	case MQTT_PROP_RESPONSE_INFO: case MQTT_PROP_SERVER_REFERENCE:
	case MQTT_PROP_REASON_STRING:
		if (left < 2)
			return -EPROTO;
		return 2 + (v[0] << 8 | v[1]);
	}
	return -EPROTO;
}

int mqtt5_prop_find(const struct mqtt5_props *p, uint8_t id)
{
	size_t off = 0;

	while (off < p->len) {
		uint8_t at = p->buf[off++];
		int n = prop_value_len(at, p->buf + off, p->len - off);

		if (n < 0 || (size_t)n > p->len - off)
			return -EPROTO;
		if (at == id)
			return off;
		off += n;
	}
	return -ENOENT;
}

int mqtt5_prop_sub_ids(const struct mqtt5_props *p, uint32_t *ids,
		       size_t max)
{
	size_t off = 0, n = 0;

	while (off < p->len) {
		uint8_t at = p->buf[off++];
		int len = prop_value_len(at, p->buf + off, p->len - off);
		uint32_t v = 0;
		int i;

		if (len < 0 || (size_t)len > p->len - off)
			return -EPROTO;
		if (at == MQTT_PROP_SUBSCRIPTION_ID) {
			for (i = len - 1; i >= 0; i--)
				v = v << 7 | (p->buf[off + i] & 0x7f);
			if (n == max)
				return -E2BIG;
			ids[n++] = v;
		}
		off += len;
	}
	return n;
}

uint32_t mqtt5_prop_get_u32(const struct mqtt5_props *p, int off)
{
	const uint8_t *v = p->buf + off;

	return (uint32_t)v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
}

static void builder_props(struct mqtt_builder *b,
			  const struct mqtt5_props *props)
{
	uint8_t len[4];

	mqtt_builder_put(b, len, mqtt_put_varint(len, props ? props->len : 0));
	if (props)
		mqtt_builder_put(b, props->buf, props->len);
}

int mqtt5_send_connect(int fd, const struct mqtt_connect_opts *opts,
		       const struct mqtt5_props *props)
{
	uint8_t flags = opts->clean_session ? MQTT_CONNECT_CLEAN_SESSION : 0;
	struct mqtt_builder b;

	if (opts->will_topic)
		flags |= MQTT_CONNECT_WILL |
			 opts->will_qos << MQTT_CONNECT_WILL_QOS_SHIFT |
			 (opts->will_retain ? MQTT_CONNECT_WILL_RETAIN : 0);
	mqtt_builder_start(&b);
	mqtt_builder_string(&b, "MQTT");
	mqtt_builder_u8(&b, MQTT_PROTO_V5);
	mqtt_builder_u8(&b, flags);
	mqtt_builder_u16(&b, opts->keepalive);
	builder_props(&b, props);
	mqtt_builder_string(&b, opts->client_id);
	if (opts->will_topic) {
		builder_props(&b, opts->will_props);
		mqtt_builder_string(&b, opts->will_topic);
		mqtt_builder_bytes(&b, opts->will_payload, opts->will_len);
	}
	return mqtt_builder_send(&b, fd, MQTT_CONNECT, 0);
}

/* Read a variable byte integer at body[*off]: -EPROTO past @len. */
static int get_varint(const uint8_t *body, size_t len, size_t *off,
		      uint32_t *v)
{
	int shift;

	*v = 0;
	for (shift = 0; shift < 28; shift += 7) {
		if (*off >= len)
			return -EPROTO;
		*v |= (uint32_t)(body[*off] & 0x7f) << shift;
		if (!(body[(*off)++] & 0x80))
			return 0;
	}
	return -EPROTO;
}

/* The property block at body[*off]: copied into @props, *off past it. */
static int get_props(const uint8_t *body, size_t len, size_t *off,
		     struct mqtt5_props *props)
{
	uint32_t n;

	if (get_varint(body, len, off, &n) || n > len - *off ||
	    n > sizeof(props->buf)) {
		fprintf(stderr, "# bad property length\n");
		return -EPROTO;
	}
	if (props) {
		memcpy(props->buf, body + *off, n);
		props->len = n;
	}
	*off += n;
	return 0;
}

/* The next packet, which must be of @type. */
static int read_type(int fd, struct mqtt_packet *p, uint8_t type)
{
	int err = mqtt_read_packet(fd, p, MQTT_TEST_TIMEOUT_MS);

	if (err) {
		fprintf(stderr, "# waiting for packet type %u: %s\n", type,
			strerror(-err));
		return err;
	}
	if (p->type != type) {
		fprintf(stderr, "# expected packet type %u, got %u (%u bytes)\n",
			type, p->type, p->len);
		return -EPROTO;
	}
	return 0;
}

int mqtt5_read_connack(int fd, int timeout_ms, bool *session_present,
		       struct mqtt5_props *props)
{
	struct mqtt_packet p = { 0 };
	size_t off = 2;
	int err;

	err = mqtt_read_packet(fd, &p, timeout_ms);
	if (!err && (p.type != MQTT_CONNACK || p.flags || p.len < 3)) {
		fprintf(stderr, "# expected a 5.0 CONNACK, got type %u, %u bytes\n",
			p.type, p.len);
		err = -EPROTO;
	}
	if (!err)
		err = get_props(p.body, p.len, &off, props);
	if (!err && off != p.len)
		err = -EPROTO;
	if (!err && session_present)
		*session_present = p.body[0];
	if (!err)
		err = p.body[1];
	mqtt_packet_free(&p);
	return err;
}

int mqtt5_send_publish(int fd, const char *topic,
		       const struct mqtt5_props *props, const void *payload,
		       size_t len, const struct mqtt_pub_opts *opts)
{
	uint8_t flags = opts->qos << MQTT_PUBLISH_QOS_SHIFT |
			(opts->retain ? MQTT_PUBLISH_RETAIN : 0) |
			(opts->dup ? MQTT_PUBLISH_DUP : 0);
	struct mqtt_builder b;

	mqtt_builder_start(&b);
	mqtt_builder_string(&b, topic);
	if (opts->qos)
		mqtt_builder_u16(&b, opts->packet_id);
	builder_props(&b, props);
	mqtt_builder_put(&b, payload, len);
	return mqtt_builder_send(&b, fd, MQTT_PUBLISH, flags);
}

int mqtt5_send_subscribe(int fd, uint16_t packet_id,
			 const struct mqtt5_props *props, const char *filter,
			 uint8_t options)
{
	struct mqtt_builder b;

	mqtt_builder_start(&b);
	mqtt_builder_u16(&b, packet_id);
	builder_props(&b, props);
	mqtt_builder_string(&b, filter);
	mqtt_builder_u8(&b, options);
	return mqtt_builder_send(&b, fd, MQTT_SUBSCRIBE,
				 MQTT_FLAGS_QOS1_RESERVED);
}

int mqtt5_send_unsubscribe(int fd, uint16_t packet_id, const char *filter)
{
	struct mqtt_builder b;

	mqtt_builder_start(&b);
	mqtt_builder_u16(&b, packet_id);
	builder_props(&b, NULL);
	mqtt_builder_string(&b, filter);
	return mqtt_builder_send(&b, fd, MQTT_UNSUBSCRIBE,
				 MQTT_FLAGS_QOS1_RESERVED);
}

int mqtt5_send_ack(int fd, uint8_t type, uint16_t packet_id, uint8_t reason)
{
	struct mqtt_builder b;

	mqtt_builder_start(&b);
	mqtt_builder_u16(&b, packet_id);
	if (reason)
		mqtt_builder_u8(&b, reason);
	return mqtt_builder_send(&b, fd, type, type == MQTT_PUBREL ?
				 MQTT_FLAGS_QOS1_RESERVED : 0);
}

int mqtt5_send_disconnect(int fd, uint8_t reason,
			  const struct mqtt5_props *props)
{
	struct mqtt_builder b;

	mqtt_builder_start(&b);
	mqtt_builder_u8(&b, reason);
	builder_props(&b, props);
	return mqtt_builder_send(&b, fd, MQTT_DISCONNECT, 0);
}

int mqtt5_send_auth(int fd, uint8_t reason, const struct mqtt5_props *props)
{
	struct mqtt_builder b;

	mqtt_builder_start(&b);
	mqtt_builder_u8(&b, reason);
	builder_props(&b, props);
	return mqtt_builder_send(&b, fd, MQTT_AUTH, 0);
}

int mqtt5_read_auth(int fd, struct mqtt5_props *props)
{
	struct mqtt_packet p = { 0 };
	size_t off = 1;
	int err;

	err = read_type(fd, &p, MQTT_AUTH);
	/* 3.15.2: a reason code and properties, or neither (success). */
	if (!err && p.len && (get_props(p.body, p.len, &off, props) ||
			      off != p.len))
		err = -EPROTO;
	if (!err)
		err = p.len ? p.body[0] : 0;
	mqtt_packet_free(&p);
	return err;
}

int mqtt5_parse_publish(const struct mqtt_packet *p, struct mqtt5_publish *out)
{
	struct mqtt_publish *pub = &out->pub;
	size_t off;

	/* 3.1.1's layout, with the properties in front of the payload. */
	if (mqtt_parse_publish(p, pub))
		return -EPROTO;
	off = pub->payload - p->body;
	if (get_props(p->body, p->len, &off, &out->props))
		return -EPROTO;
	pub->payload = p->body + off;
	pub->payload_len = p->len - off;
	return 0;
}

int mqtt5_read_publish(int fd, struct mqtt_packet *p, struct mqtt5_publish *out)
{
	int err = read_type(fd, p, MQTT_PUBLISH);

	if (!err)
		err = mqtt5_parse_publish(p, out);
	return err;
}

int mqtt5_expect_ack(int fd, uint8_t type, uint16_t packet_id)
{
	struct mqtt_packet p = { 0 };
	size_t off = 3;
	int err;

	err = read_type(fd, &p, type);
	if (!err && (p.len < 2 ||
		     (p.body[0] << 8 | p.body[1]) != packet_id)) {
		fprintf(stderr, "# ack of %u bytes, not for id %u\n", p.len,
			packet_id);
		err = -EPROTO;
	}
	/* 3.4.2.2: no property length below 4 bytes. */
	if (!err && p.len > 3 && (get_props(p.body, p.len, &off, NULL) ||
				  off != p.len))
		err = -EPROTO;
	if (!err)
		err = p.len > 2 ? p.body[2] : 0;
	mqtt_packet_free(&p);
	return err;
}

int mqtt5_expect_suback(int fd, uint8_t type, uint16_t packet_id,
			uint8_t *codes, size_t n)
{
	struct mqtt_packet p = { 0 };
	size_t off = 2;
	int err;

	err = read_type(fd, &p, type);
	if (!err && (p.len < 3 ||
		     (p.body[0] << 8 | p.body[1]) != packet_id))
		err = -EPROTO;
	if (!err)
		err = get_props(p.body, p.len, &off, NULL);
	if (!err && p.len - off != n) {
		fprintf(stderr, "# %zu codes, expected %zu\n", p.len - off, n);
		err = -EPROTO;
	}
	if (!err)
		memcpy(codes, p.body + off, n);
	mqtt_packet_free(&p);
	return err;
}
