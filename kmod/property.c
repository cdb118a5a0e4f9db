// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT 5.0 properties: one table says each identifier's type and the
 * packets that may carry it (2.2.2.2); one walk checks a block against
 * it.  Portable (see property.h).
 */
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "codec.h"
#include "property.h"
#include "topic.h"

enum kmqtt_prop_type {
	KMQTT_PROP_NONE,	/* not an identifier: malformed */
	KMQTT_PROP_BYTE,
	KMQTT_PROP_U16,
	KMQTT_PROP_U32,
	KMQTT_PROP_VARINT,
	KMQTT_PROP_UTF8,
	KMQTT_PROP_BINARY,
	KMQTT_PROP_PAIR,	/* two UTF-8 strings */
};

#define IN(x)		(1U << KMQTT_PROPS_##x)
#define IN_PUBLISH	(IN(PUBLISH) | IN(WILL))
#define IN_REASON	(IN(CONNACK) | IN(ACK) | IN(SUBACK) | IN(UNSUBACK) | \
			 IN(DISCONNECT) | IN(AUTH))

static const struct {
	u8 type;
	u16 in;
} kmqtt_prop_info[MQTT_PROP_MAX_ID + 1] = {
	[MQTT_PROP_PAYLOAD_FORMAT] = { KMQTT_PROP_BYTE, IN_PUBLISH },
	[MQTT_PROP_MESSAGE_EXPIRY] = { KMQTT_PROP_U32, IN_PUBLISH },
	[MQTT_PROP_CONTENT_TYPE] = { KMQTT_PROP_UTF8, IN_PUBLISH },
	[MQTT_PROP_RESPONSE_TOPIC] = { KMQTT_PROP_UTF8, IN_PUBLISH },
	[MQTT_PROP_CORRELATION_DATA] = { KMQTT_PROP_BINARY, IN_PUBLISH },
	[MQTT_PROP_SUBSCRIPTION_ID] = { KMQTT_PROP_VARINT,
					IN(PUBLISH) | IN(SUBSCRIBE) },
	[MQTT_PROP_SESSION_EXPIRY] = { KMQTT_PROP_U32, IN(CONNECT) |
				       IN(CONNACK) | IN(DISCONNECT) },
	[MQTT_PROP_ASSIGNED_CLIENT_ID] = { KMQTT_PROP_UTF8, IN(CONNACK) },
	[MQTT_PROP_SERVER_KEEPALIVE] = { KMQTT_PROP_U16, IN(CONNACK) },
	[MQTT_PROP_AUTH_METHOD] = { KMQTT_PROP_UTF8, IN(CONNECT) |
				    IN(CONNACK) | IN(AUTH) },
	[MQTT_PROP_AUTH_DATA] = { KMQTT_PROP_BINARY, IN(CONNECT) |
				  IN(CONNACK) | IN(AUTH) },
	[MQTT_PROP_REQUEST_PROBLEM_INFO] = { KMQTT_PROP_BYTE, IN(CONNECT) },
	[MQTT_PROP_WILL_DELAY] = { KMQTT_PROP_U32, IN(WILL) },
	[MQTT_PROP_REQUEST_RESPONSE_INFO] = { KMQTT_PROP_BYTE, IN(CONNECT) },
	[MQTT_PROP_RESPONSE_INFO] = { KMQTT_PROP_UTF8, IN(CONNACK) },
	[MQTT_PROP_SERVER_REFERENCE] = { KMQTT_PROP_UTF8, IN(CONNACK) |
					 IN(DISCONNECT) },
	[MQTT_PROP_REASON_STRING] = { KMQTT_PROP_UTF8, IN_REASON },
	[MQTT_PROP_RECEIVE_MAX] = { KMQTT_PROP_U16, IN(CONNECT) | IN(CONNACK) },
	[MQTT_PROP_TOPIC_ALIAS_MAX] = { KMQTT_PROP_U16,
					IN(CONNECT) | IN(CONNACK) },
	[MQTT_PROP_TOPIC_ALIAS] = { KMQTT_PROP_U16, IN(PUBLISH) },
	[MQTT_PROP_MAX_QOS] = { KMQTT_PROP_BYTE, IN(CONNACK) },
	[MQTT_PROP_RETAIN_AVAILABLE] = { KMQTT_PROP_BYTE, IN(CONNACK) },
	[MQTT_PROP_USER_PROPERTY] = { KMQTT_PROP_PAIR, 0xffff },
	[MQTT_PROP_MAX_PACKET_SIZE] = { KMQTT_PROP_U32,
					IN(CONNECT) | IN(CONNACK) },
	[MQTT_PROP_WILDCARD_SUB_AVAILABLE] = { KMQTT_PROP_BYTE, IN(CONNACK) },
	[MQTT_PROP_SUB_ID_AVAILABLE] = { KMQTT_PROP_BYTE, IN(CONNACK) },
	[MQTT_PROP_SHARED_SUB_AVAILABLE] = { KMQTT_PROP_BYTE, IN(CONNACK) },
};

int kmqtt_codec_get_varint(const u8 *buf, size_t len, u32 *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (i >= len)
			return 0;
		*v |= (u32)(buf[i] & 0x7f) << (7 * i);
		if (!(buf[i] & 0x80))
			return i + 1;
	}
	return -EPROTO;
}

size_t kmqtt_codec_varint_size(u32 v)
{
	return kmqtt_codec_fixed_hdr_len(v) - 1;
}

u8 *kmqtt_codec_put_varint(u8 *p, u32 v)
{
	do {
		*p = v & 0x7f;
		v >>= 7;
		if (v)
			*p |= 0x80;
		p++;
	} while (v);
	return p;
}

static u32 kmqtt_prop_get_u32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static u16 kmqtt_prop_get_u16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

/*
 * A UTF-8 string (1.5.4) at @pos: returns its total size (2 + length),
 * or -EPROTO.
 */
static int kmqtt_prop_utf8(const u8 *pos, const u8 *end,
			   struct kmqtt_prop_bytes *b)
{
	u32 n;

	if (end - pos < 2)
		return -EPROTO;
	n = kmqtt_prop_get_u16(pos);
	if ((u32)(end - pos - 2) < n)
		return -EPROTO;
	b->data = pos + 2;
	b->len = n;
	return 2 + n;
}

/* Bytes the value of type @type at @pos takes, or -EPROTO. */
static int kmqtt_prop_value_size(u8 type, const u8 *pos, const u8 *end,
				 u32 *num, struct kmqtt_prop_bytes *b)
{
	struct kmqtt_prop_bytes second;
	int n, m;

	switch (type) {
	case KMQTT_PROP_BYTE:
		if (end - pos < 1)
			return -EPROTO;
		*num = *pos;
		return 1;
	case KMQTT_PROP_U16:
		if (end - pos < 2)
			return -EPROTO;
		*num = kmqtt_prop_get_u16(pos);
		return 2;
	case KMQTT_PROP_U32:
		if (end - pos < 4)
			return -EPROTO;
		*num = kmqtt_prop_get_u32(pos);
		return 4;
	case KMQTT_PROP_VARINT:
		n = kmqtt_codec_get_varint(pos, end - pos, num);
		return n > 0 ? n : -EPROTO;
	case KMQTT_PROP_UTF8:
	case KMQTT_PROP_BINARY:
		n = kmqtt_prop_utf8(pos, end, b);
		if (n > 0 && type == KMQTT_PROP_UTF8 &&
		    !kmqtt_codec_utf8_valid(b->data, b->len))
			return -EPROTO;
		return n;
	case KMQTT_PROP_PAIR:
		n = kmqtt_prop_utf8(pos, end, b);
		if (n < 0 || !kmqtt_codec_utf8_valid(b->data, b->len))
			return -EPROTO;
		m = kmqtt_prop_utf8(pos + n, end, &second);
		if (m < 0 || !kmqtt_codec_utf8_valid(second.data, second.len))
			return -EPROTO;
		return n + m;
	}
	return -EPROTO;
}

/* Record a checked value; -EPROTO when it is out of its range. */
static int kmqtt_prop_store(struct kmqtt_props *p, u8 id, u32 num,
			    const struct kmqtt_prop_bytes *b)
{
	switch (id) {
	case MQTT_PROP_PAYLOAD_FORMAT:
		p->payload_format = num;
		return num > 1 ? -EPROTO : 0;
	case MQTT_PROP_REQUEST_PROBLEM_INFO:
		p->request_problem_info = num;
		return num > 1 ? -EPROTO : 0;
	case MQTT_PROP_REQUEST_RESPONSE_INFO:
		p->request_response_info = num;
		return num > 1 ? -EPROTO : 0;
	case MQTT_PROP_MAX_QOS:
	case MQTT_PROP_RETAIN_AVAILABLE:
	case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
	case MQTT_PROP_SUB_ID_AVAILABLE:
	case MQTT_PROP_SHARED_SUB_AVAILABLE:
		return num > 1 ? -EPROTO : 0;
	case MQTT_PROP_MESSAGE_EXPIRY:
		p->message_expiry = num;
		return 0;
	case MQTT_PROP_SESSION_EXPIRY:
		p->session_expiry = num;
		return 0;
	case MQTT_PROP_WILL_DELAY:
		p->will_delay = num;
		return 0;
	case MQTT_PROP_MAX_PACKET_SIZE:
		p->max_packet_size = num;
		return num ? 0 : -EPROTO;	/* 3.1.2.11.4 */
	case MQTT_PROP_SUBSCRIPTION_ID:
		if (!kmqtt_props_has(p, id))
			p->subscription_id = num;
		return num ? 0 : -EINVAL;	/* 3.8.2.1.2: protocol error */
	case MQTT_PROP_RECEIVE_MAX:
		p->receive_max = num;
		return num ? 0 : -EPROTO;	/* 3.1.2.11.3 */
	case MQTT_PROP_TOPIC_ALIAS_MAX:
		p->topic_alias_max = num;
		return 0;
	case MQTT_PROP_TOPIC_ALIAS:
		p->topic_alias = num;
		return 0;			/* 0 is the caller's to refuse */
	case MQTT_PROP_SERVER_KEEPALIVE:
		p->server_keepalive = num;
		return 0;
	case MQTT_PROP_RESPONSE_TOPIC:
		/* MQTT-3.3.2-14: a topic name, no wildcards. */
		return kmqtt_topic_name_valid(b->data, b->len) ? 0 : -EPROTO;
	case MQTT_PROP_AUTH_METHOD:
		p->auth_method = *b;
		return 0;
	case MQTT_PROP_AUTH_DATA:
		p->auth_data = *b;
		return 0;
	}
	return 0;
}

/* Passed on to subscribers as they are (kmqtt_props_copy_forward()). */
static bool kmqtt_prop_forwarded(u8 id)
{
	return id != MQTT_PROP_MESSAGE_EXPIRY && id != MQTT_PROP_TOPIC_ALIAS &&
	       id != MQTT_PROP_WILL_DELAY && id != MQTT_PROP_SUBSCRIPTION_ID;
}

int kmqtt_props_parse_block(const u8 *props, u32 len, enum kmqtt_props_in in,
			    struct kmqtt_props *p)
{
	const u8 *pos = props, *end = props + len;
	int n;

	memset(p, 0, sizeof(*p));
	p->start = props;
	p->len = len;
	while (pos < end) {
		const u8 *id_pos = pos;
		struct kmqtt_prop_bytes b = { NULL, 0 };
		u32 num = 0;
		u8 id = *pos++;
		int ret;

		/* Identifiers are variable byte integers; all known are < 128. */
		if (id > MQTT_PROP_MAX_ID || !kmqtt_prop_info[id].type)
			return -EPROTO;
		n = kmqtt_prop_value_size(kmqtt_prop_info[id].type, pos, end,
					  &num, &b);
		if (n < 0)
			return -EPROTO;
		pos += n;
		if (!(kmqtt_prop_info[id].in & (1U << in)))
			return -EINVAL;
		/* 2.2.2.2: only these two may come more than once. */
		if (kmqtt_props_has(p, id) && id != MQTT_PROP_USER_PROPERTY &&
		    !(id == MQTT_PROP_SUBSCRIPTION_ID && in == KMQTT_PROPS_PUBLISH))
			return -EINVAL;
		ret = kmqtt_prop_store(p, id, num, &b);
		if (ret)
			return ret;
		p->seen |= 1ULL << id;
		if (kmqtt_prop_forwarded(id))
			p->forward_len += pos - id_pos;
	}
	return 0;
}

int kmqtt_props_parse(const u8 *buf, u32 len, enum kmqtt_props_in in,
		      struct kmqtt_props *p)
{
	u32 total;
	int n, ret;

	n = kmqtt_codec_get_varint(buf, len, &total);
	if (n <= 0 || total > len - n)
		return -EPROTO;
	ret = kmqtt_props_parse_block(buf + n, total, in, p);
	return ret ? ret : n + (int)total;
}

void kmqtt_props_copy_forward(u8 *dst, const struct kmqtt_props *p)
{
	const u8 *pos = p->start, *end = p->start + p->len;

	while (pos < end) {
		const u8 *id_pos = pos;
		struct kmqtt_prop_bytes b;
		u8 id = *pos++;
		u32 num;

		/* Parsed before: every size is known good. */
		pos += kmqtt_prop_value_size(kmqtt_prop_info[id].type, pos, end,
					     &num, &b);
		if (!kmqtt_prop_forwarded(id))
			continue;
		memcpy(dst, id_pos, pos - id_pos);
		dst += pos - id_pos;
	}
}
