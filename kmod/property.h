/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT 5.0 properties (2.2.2): a variable byte integer length, then
 * identifier-value pairs.  Portable like codec.c: builds in userspace
 * against tools/include, shared with kmqttd, which parses CONNECT's.
 *
 * The parser treats its input as hostile: it never reads outside
 * [buf, buf + len), and refuses a property its packet may not carry, a
 * value out of range, bad UTF-8, and a property given twice that the
 * spec allows once.
 */
#ifndef _KMQTT_PROPERTY_H
#define _KMQTT_PROPERTY_H

#include <linux/types.h>

/* The packets, and the will, that carry properties: each allows some. */
enum kmqtt_props_in {
	KMQTT_PROPS_CONNECT,
	KMQTT_PROPS_WILL,
	KMQTT_PROPS_CONNACK,
	KMQTT_PROPS_PUBLISH,
	KMQTT_PROPS_ACK,		/* PUBACK, PUBREC, PUBREL, PUBCOMP */
	KMQTT_PROPS_SUBSCRIBE,
	KMQTT_PROPS_SUBACK,
	KMQTT_PROPS_UNSUBSCRIBE,
	KMQTT_PROPS_UNSUBACK,
	KMQTT_PROPS_DISCONNECT,
	KMQTT_PROPS_AUTH,
};

struct kmqtt_prop_bytes {
	const u8 *data;
	u32 len;
};

/*
 * What a property block says.  @seen has bit N set for identifier N; a
 * value is meaningful only when its bit is set.
 */
struct kmqtt_props {
	u64 seen;
	const u8 *start;	/* the properties, after their length */
	u32 len;
	/* Bytes of the properties a PUBLISH (or will) passes on as is. */
	u32 forward_len;
	u32 message_expiry;
	u32 session_expiry;
	u32 will_delay;
	u32 max_packet_size;
	u32 subscription_id;	/* the first, when several */
	u16 receive_max;
	u16 topic_alias_max;
	u16 topic_alias;
	u16 server_keepalive;
	u8 payload_format;
	u8 request_problem_info;
	u8 request_response_info;
	struct kmqtt_prop_bytes auth_method;
	struct kmqtt_prop_bytes auth_data;
};

static inline bool kmqtt_props_has(const struct kmqtt_props *p, u8 id)
{
	return p->seen & (1ULL << id);
}

/*
 * A variable byte integer (1.5.5) from the @len bytes at @buf: returns
 * its size (1..4) with *@v, 0 when @len ends inside it, -EPROTO for a
 * fifth byte.
 */
int kmqtt_codec_get_varint(const u8 *buf, size_t len, u32 *v);

/* Bytes a variable byte integer takes (1..4); @v < 2^28. */
size_t kmqtt_codec_varint_size(u32 v);

/* Writes @v (< 2^28) as a variable byte integer; returns the byte after. */
u8 *kmqtt_codec_put_varint(u8 *p, u32 v);

/*
 * Parse the property length and the properties at @buf, within @len
 * bytes, as packet @in carries them, into @p.  Returns the bytes taken
 * (length and properties) or a negative reason: -EPROTO when the block is
 * malformed (runs past @len, a bad value or encoding), -EINVAL when it
 * breaks a protocol rule (a property @in may not carry, or one given
 * twice), so that a 5.0 peer can be told which (0x81 or 0x82).
 */
int kmqtt_props_parse(const u8 *buf, u32 len, enum kmqtt_props_in in,
		      struct kmqtt_props *p);

/*
 * The same for the @len bytes of properties at @props, without a length
 * in front (as kmqttd hands them to the module).  Returns 0, -EPROTO or
 * -EINVAL.
 */
int kmqtt_props_parse_block(const u8 *props, u32 len, enum kmqtt_props_in in,
			    struct kmqtt_props *p);

/*
 * Copy the properties of a parsed PUBLISH or will that go to subscribers
 * as they are (p->forward_len bytes): all but the message expiry
 * interval, which each subscriber is sent as what remains of it, the
 * topic alias, which is per connection, and the will delay interval.
 */
void kmqtt_props_copy_forward(u8 *dst, const struct kmqtt_props *p);

#endif /* _KMQTT_PROPERTY_H */
