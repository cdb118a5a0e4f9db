// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT 3.1.1 and 5.0 framing, parsing and encoding.  Portable (see codec.h): kernel
 * headers only from the small set that tools/include shims for userspace.
 */
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "codec.h"
#include "topic.h"

/* Fixed header flags 2.2.2 requires for @type; PUBLISH's are free-form. */
static bool kmqtt_codec_flags_valid(u8 type, u8 flags)
{
	switch (type) {
	case MQTT_PUBLISH:
		return true;
	case MQTT_PUBREL:
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		return flags == MQTT_FLAGS_QOS1_RESERVED;
	default:
		return flags == 0;
	}
}

int kmqtt_codec_fixed_hdr(const u8 *buf, size_t len, u32 max_packet,
			  struct kmqtt_fixed_hdr *hdr)
{
	u32 rem_len = 0;
	size_t i;
	u8 type, flags;

	if (len < 1)
		return 0;
	type = buf[0] >> 4;
	flags = buf[0] & 0x0f;
	if (type < MQTT_CONNECT || type > MQTT_AUTH ||
	    !kmqtt_codec_flags_valid(type, flags))
		return -EPROTO;

	/* Up to four length bytes of 7 bits each, least significant first. */
	for (i = 1; i < MQTT_MAX_FIXED_HEADER; i++) {
		if (i >= len)
			return 0;
		rem_len |= (u32)(buf[i] & 0x7f) << (7 * (i - 1));
		if (buf[i] & 0x80)
			continue;
		hdr->type = type;
		hdr->flags = flags;
		hdr->hdr_len = i + 1;
		hdr->rem_len = rem_len;
		if ((u64)hdr->hdr_len + rem_len > max_packet)
			return -EMSGSIZE;
		return hdr->hdr_len;
	}
	return -EPROTO;	/* the fourth length byte asked for a fifth */
}

static u16 kmqtt_codec_get_u16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

u8 *kmqtt_codec_put_u16(u8 *p, u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return p + 2;
}

u8 *kmqtt_codec_put_u32(u8 *p, u32 v)
{
	return kmqtt_codec_put_u16(kmqtt_codec_put_u16(p, v >> 16), v);
}

int kmqtt_codec_parse_publish(u8 flags, const u8 *body, u32 len, bool v5,
			      struct kmqtt_publish *pub)
{
	u32 off;
	int ret;

	pub->qos = (flags & MQTT_PUBLISH_QOS_MASK) >> MQTT_PUBLISH_QOS_SHIFT;
	pub->retain = flags & MQTT_PUBLISH_RETAIN;
	pub->dup = flags & MQTT_PUBLISH_DUP;
	memset(&pub->props, 0, sizeof(pub->props));
	if (pub->qos > 2 || (pub->dup && pub->qos == 0))
		return -EPROTO;

	if (len < 2)
		return -EPROTO;
	pub->topic_len = kmqtt_codec_get_u16(body);
	off = 2 + pub->topic_len;
	if (off > len)
		return -EPROTO;
	pub->topic = body + 2;
	/* 5.0: an empty topic stands for a topic alias (3.3.4). */
	if ((pub->topic_len || !v5) &&
	    !kmqtt_topic_name_valid(pub->topic, pub->topic_len))
		return -EPROTO;

	pub->packet_id = 0;
	if (pub->qos) {
		if (len - off < 2)
			return -EPROTO;
		pub->packet_id = kmqtt_codec_get_u16(body + off);
		if (!pub->packet_id)	/* MQTT-2.3.1-1 */
			return -EPROTO;
		off += 2;
	}
	if (v5) {
		ret = kmqtt_props_parse(body + off, len - off,
					KMQTT_PROPS_PUBLISH, &pub->props);
		if (ret < 0)
			return ret;
		/* MQTT-3.3.4-6: only the server sends these. */
		if (kmqtt_props_has(&pub->props, MQTT_PROP_SUBSCRIPTION_ID))
			return -EINVAL;
		off += ret;
	}
	pub->payload = body + off;
	pub->payload_len = len - off;
	return 0;
}

int kmqtt_codec_parse_stored(const u8 *data, u32 len,
			     struct kmqtt_publish *pub)
{
	if (kmqtt_codec_parse_publish(0, data, len, true, pub) ||
	    !pub->topic_len || pub->props.forward_len != pub->props.len)
		return -EINVAL;
	return 0;
}

int kmqtt_codec_parse_ack(const u8 *body, u32 len, bool v5, u16 *packet_id,
			  u8 *reason)
{
	struct kmqtt_props props;

	*reason = 0;
	if (len < 2 || (len > 2 && !v5))
		return -EPROTO;
	*packet_id = kmqtt_codec_get_u16(body);
	if (!*packet_id)	/* MQTT-2.3.1-1 */
		return -EPROTO;
	if (len == 2)
		return 0;
	*reason = body[2];
	/* 3.4.2.2: no property length below 4 bytes. */
	if (len > 3 && kmqtt_props_parse(body + 3, len - 3, KMQTT_PROPS_ACK,
					 &props) != (int)(len - 3))
		return -EPROTO;
	return 0;
}

int kmqtt_codec_parse_reason(const u8 *body, u32 len, enum kmqtt_props_in in,
			     u8 *reason, struct kmqtt_props *props)
{
	int ret;

	*reason = 0;
	memset(props, 0, sizeof(*props));
	if (!len)
		return 0;
	*reason = body[0];
	if (len == 1)
		return 0;
	ret = kmqtt_props_parse(body + 1, len - 1, in, props);
	if (ret < 0)
		return ret;
	return ret == (int)(len - 1) ? 0 : -EPROTO;
}

/* A SUBSCRIBE entry's options byte: 3.8.3.1, MQTT-3.8.3-4, MQTT-3.8.3-5. */
static bool kmqtt_codec_sub_options_valid(u8 options, bool v5)
{
	if (!v5)
		return options <= 2;
	return (options & MQTT_SUBOPT_QOS_MASK) <= 2 &&
	       (options & MQTT_SUBOPT_RETAIN_HANDLING_MASK) >>
	       MQTT_SUBOPT_RETAIN_HANDLING_SHIFT <= 2 &&
	       !(options & MQTT_SUBOPT_RESERVED);
}

bool kmqtt_codec_subscription_valid(const u8 *filter, u16 len, u8 options)
{
	const u8 *topic_filter;
	size_t topic_len;
	int shared;

	if (!kmqtt_topic_filter_valid(filter, len) ||
	    !kmqtt_codec_sub_options_valid(options, true))
		return false;
	shared = kmqtt_topic_share_split(filter, len, &topic_filter,
					 &topic_len);
	return !shared || (shared > 0 && !(options & MQTT_SUBOPT_NO_LOCAL));
}

int kmqtt_codec_parse_sub(const u8 *body, u32 len, bool with_qos, bool v5,
			  u16 *packet_id, struct kmqtt_sub_iter *it,
			  struct kmqtt_props *props)
{
	const u8 *pos = body + 2, *end = body + len, *first;
	int n = 0, ret;

	memset(props, 0, sizeof(*props));
	if (len < 2)
		return -EPROTO;
	*packet_id = kmqtt_codec_get_u16(body);
	if (!*packet_id)	/* MQTT-2.3.1-1 */
		return -EPROTO;
	if (v5) {
		ret = kmqtt_props_parse(pos, end - pos, with_qos ?
					KMQTT_PROPS_SUBSCRIBE :
					KMQTT_PROPS_UNSUBSCRIBE, props);
		if (ret < 0)
			return ret;
		pos += ret;
	}
	first = pos;

	while (pos < end) {
		u16 flen;

		if (end - pos < 2)
			return -EPROTO;
		flen = kmqtt_codec_get_u16(pos);
		pos += 2;
		if (end - pos < flen || !kmqtt_topic_filter_valid(pos, flen))
			return -EPROTO;
		pos += flen;
		if (with_qos) {
			if (pos == end ||
			    !kmqtt_codec_sub_options_valid(*pos, v5))
				return -EPROTO;
			pos++;
		}
		n++;
	}
	if (!n)			/* MQTT-3.8.3-3, MQTT-3.10.3-2 */
		return -EPROTO;

	it->pos = first;
	it->end = end;
	it->with_qos = with_qos;
	return n;
}

bool kmqtt_codec_next_filter(struct kmqtt_sub_iter *it, const u8 **filter,
			     u16 *filter_len, u8 *options)
{
	if (it->pos >= it->end)
		return false;
	*filter_len = kmqtt_codec_get_u16(it->pos);
	*filter = it->pos + 2;
	it->pos += 2 + *filter_len;
	*options = it->with_qos ? *it->pos++ : 0;
	return true;
}

size_t kmqtt_codec_fixed_hdr_len(u32 rem_len)
{
	size_t n = 2;

	while (rem_len >= 0x80 && n < MQTT_MAX_FIXED_HEADER) {
		rem_len >>= 7;
		n++;
	}
	return n;
}

size_t kmqtt_codec_put_fixed_hdr(u8 *buf, u8 type, u8 flags, u32 rem_len)
{
	size_t n = 1;

	buf[0] = type << 4 | flags;
	do {
		buf[n] = rem_len & 0x7f;
		rem_len >>= 7;
		if (rem_len)
			buf[n] |= 0x80;
		n++;
	} while (rem_len);
	return n;
}

/* Remaining length of a PUBLISH, possibly beyond what MQTT can carry. */
static u64 kmqtt_codec_publish_rem_len(u16 topic_len, u8 qos, u32 payload_len)
{
	return 2 + (u64)topic_len + (qos ? 2 : 0) + payload_len;
}

size_t kmqtt_codec_publish_size(u16 topic_len, u8 qos, u32 payload_len)
{
	u64 rem_len = kmqtt_codec_publish_rem_len(topic_len, qos, payload_len);

	if (rem_len > MQTT_MAX_REMAINING_LENGTH)
		return 0;
	return kmqtt_codec_fixed_hdr_len(rem_len) + rem_len;
}

size_t kmqtt_codec_put_publish_hdr(u8 *buf, u8 qos, bool dup, bool retain,
				   u32 rem_len)
{
	u8 flags = qos << MQTT_PUBLISH_QOS_SHIFT;

	if (retain)
		flags |= MQTT_PUBLISH_RETAIN;
	if (dup)
		flags |= MQTT_PUBLISH_DUP;
	return kmqtt_codec_put_fixed_hdr(buf, MQTT_PUBLISH, flags, rem_len);
}

size_t kmqtt_codec_put_publish(u8 *buf, const struct kmqtt_publish *pub)
{
	u32 rem_len = kmqtt_codec_publish_rem_len(pub->topic_len, pub->qos,
						  pub->payload_len);
	u8 *p;

	p = buf + kmqtt_codec_put_publish_hdr(buf, pub->qos, pub->dup,
					      pub->retain, rem_len);
	p = kmqtt_codec_put_u16(p, pub->topic_len);
	memcpy(p, pub->topic, pub->topic_len);
	p += pub->topic_len;
	if (pub->qos)
		p = kmqtt_codec_put_u16(p, pub->packet_id);
	memcpy(p, pub->payload, pub->payload_len);
	return p + pub->payload_len - buf;
}

size_t kmqtt_codec_put_connack(u8 *buf, bool session_present, u8 return_code)
{
	size_t n = kmqtt_codec_put_fixed_hdr(buf, MQTT_CONNACK, 0, 2);

	buf[n++] = session_present;
	buf[n++] = return_code;
	return n;
}

size_t kmqtt_codec_put_connack5(u8 *buf, bool session_present, u8 reason,
				u32 props_len)
{
	u32 rem_len = 2 + kmqtt_codec_varint_size(props_len) + props_len;
	size_t n = kmqtt_codec_put_fixed_hdr(buf, MQTT_CONNACK, 0, rem_len);

	buf[n++] = session_present;
	buf[n++] = reason;
	return kmqtt_codec_put_varint(buf + n, props_len) - buf;
}

size_t kmqtt_codec_put_suback(u8 *buf, u8 type, u16 packet_id, bool v5,
			      const u8 *codes, u32 n)
{
	u8 *p = buf + kmqtt_codec_put_fixed_hdr(buf, type, 0, 2 + v5 + n);

	p = kmqtt_codec_put_u16(p, packet_id);
	if (v5)
		*p++ = 0;	/* no properties */
	memcpy(p, codes, n);
	return p + n - buf;
}

size_t kmqtt_codec_put_ack(u8 *buf, u8 type, u16 packet_id, u8 reason)
{
	u8 flags = type == MQTT_PUBREL ? MQTT_FLAGS_QOS1_RESERVED : 0;
	size_t n = kmqtt_codec_put_fixed_hdr(buf, type, flags, reason ? 3 : 2);

	kmqtt_codec_put_u16(buf + n, packet_id);
	n += 2;
	if (reason)
		buf[n++] = reason;
	return n;
}

size_t kmqtt_codec_put_disconnect5(u8 *buf, u8 reason)
{
	size_t n = kmqtt_codec_put_fixed_hdr(buf, MQTT_DISCONNECT, 0, !!reason);

	if (reason)
		buf[n++] = reason;
	return n;
}

/* The properties of an AUTH: method, and data unless it has none. */
static u32 kmqtt_codec_auth_props_len(u16 method_len, const u8 *data,
				      u16 data_len)
{
	return 3 + method_len + (data ? 3 + data_len : 0);
}

size_t kmqtt_codec_auth_size(u16 method_len, const u8 *data, u16 data_len)
{
	u32 props = kmqtt_codec_auth_props_len(method_len, data, data_len);
	u32 rem = 1 + kmqtt_codec_varint_size(props) + props;

	return kmqtt_codec_fixed_hdr_len(rem) + rem;
}

size_t kmqtt_codec_put_auth(u8 *buf, u8 reason, const u8 *method,
			    u16 method_len, const u8 *data, u16 data_len)
{
	u32 props = kmqtt_codec_auth_props_len(method_len, data, data_len);
	u8 *p = buf + kmqtt_codec_put_fixed_hdr(buf, MQTT_AUTH, 0,
						 1 + kmqtt_codec_varint_size(props) +
						 props);

	*p++ = reason;
	p = kmqtt_codec_put_varint(p, props);
	*p++ = MQTT_PROP_AUTH_METHOD;
	p = kmqtt_codec_put_u16(p, method_len);
	memcpy(p, method, method_len);
	p += method_len;
	if (data) {
		*p++ = MQTT_PROP_AUTH_DATA;
		p = kmqtt_codec_put_u16(p, data_len);
		memcpy(p, data, data_len);
		p += data_len;
	}
	return p - buf;
}

size_t kmqtt_codec_put_pingresp(u8 *buf)
{
	return kmqtt_codec_put_fixed_hdr(buf, MQTT_PINGRESP, 0, 0);
}

size_t kmqtt_codec_put_pingreq(u8 *buf)
{
	return kmqtt_codec_put_fixed_hdr(buf, MQTT_PINGREQ, 0, 0);
}

/* Continuation byte of a UTF-8 sequence: 10xxxxxx. */
static bool kmqtt_codec_utf8_cont(u8 c)
{
	return (c & 0xc0) == 0x80;
}

/* Well-formed UTF-8, without U+0000 unless @nul_ok. */
static bool kmqtt_codec_utf8_check(const u8 *s, size_t len, bool nul_ok)
{
	size_t i = 0;

	while (i < len) {
		u8 c = s[i];
		u8 lo = 0x80, hi = 0xbf;	/* range of the second byte */
		size_t need;

		if (c < 0x80) {
			if (!c && !nul_ok)	/* MQTT-1.5.3-2 */
				return false;
			i++;
			continue;
		}
		if (c < 0xc2 || c > 0xf4)	/* continuation, overlong, too big */
			return false;
		if (c < 0xe0) {
			need = 1;
		} else if (c < 0xf0) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		}
		if (len - i <= need || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (i += 2; need > 1; need--, i++)
			if (!kmqtt_codec_utf8_cont(s[i]))
				return false;
	}
	return true;
}

bool kmqtt_codec_utf8_well_formed(const u8 *s, size_t len)
{
	return kmqtt_codec_utf8_check(s, len, true);
}

bool kmqtt_codec_utf8_valid(const u8 *s, size_t len)
{
	return kmqtt_codec_utf8_check(s, len, false);
}
