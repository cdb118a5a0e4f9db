/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT 3.1.1 and 5.0 packet framing, parsing and encoding (5.0 properties
 * are property.c's).  Portable: this file and
 * codec.c build unchanged in userspace against tools/include, so they can be
 * tested and fuzzed there.  Nothing here allocates or sleeps.
 *
 * Every parser treats its input as hostile: it never reads outside
 * [buf, buf + len) and rejects anything the spec forbids.
 */
#ifndef _KMQTT_CODEC_H
#define _KMQTT_CODEC_H

#include <linux/types.h>
#include <kmqtt/mqtt.h>

#include "property.h"

struct kmqtt_fixed_hdr {
	u8 type;	/* MQTT_CONNECT .. MQTT_DISCONNECT */
	u8 flags;	/* low nibble of the first byte */
	u8 hdr_len;	/* 2..5: first byte plus remaining length bytes */
	u32 rem_len;	/* remaining length */
};

/*
 * Decode a fixed header from the first @len bytes of a stream.
 * Returns hdr->hdr_len (> 0) when complete, 0 when more bytes are needed,
 * -EPROTO for a malformed header (type 0, flags that 2.2.2 forbids,
 * a fifth length byte, a non-minimal length encoding is accepted),
 * -EMSGSIZE when hdr_len + rem_len exceeds @max_packet.
 */
int kmqtt_codec_fixed_hdr(const u8 *buf, size_t len, u32 max_packet,
			  struct kmqtt_fixed_hdr *hdr);

struct kmqtt_publish {
	const u8 *topic;
	u16 topic_len;
	u8 qos;
	bool retain;
	bool dup;
	u16 packet_id;		/* 0 for QoS 0 */
	const u8 *payload;
	u32 payload_len;
	struct kmqtt_props props;	/* 5.0; else all zero */
};

/*
 * Parse a PUBLISH body (the @len bytes after the fixed header) with the fixed
 * header @flags, of MQTT 5.0 when @v5.  Validates QoS (3 is -EPROTO), DUP
 * with QoS 0 (MQTT-3.3.1-2), a non-zero packet id for QoS > 0, the topic
 * name (kmqtt_topic_name_valid; 5.0 allows it empty with a topic alias,
 * MQTT-3.3.2-1 and 3.3.4) and the properties (kmqtt_props_parse()).
 * Returns 0, -EPROTO (malformed) or -EINVAL (a protocol error).
 */
int kmqtt_codec_parse_publish(u8 flags, const u8 *body, u32 len, bool v5,
			      struct kmqtt_publish *pub);

/*
 * A message in the form the module stores and snapshots carry it
 * (KMQTT_A_MSG_DATA): the body of a 5.0 PUBLISH at QoS 0 with a topic
 * name, only properties that are passed on as they are, and a payload,
 * which may be empty (a queued message or a will; a retained one never
 * is).  Returns 0 with @pub, or -EINVAL.
 */
int kmqtt_codec_parse_stored(const u8 *data, u32 len,
			     struct kmqtt_publish *pub);

/*
 * A subscription as a session holds it, for snapshots: a valid filter
 * (a shared one well formed, without No Local: MQTT-3.8.3-4) and 5.0
 * subscription options (3.1.x ones are their QoS).
 */
bool kmqtt_codec_subscription_valid(const u8 *filter, u16 len, u8 options);

/*
 * SUBSCRIBE and UNSUBSCRIBE bodies.  kmqtt_codec_parse_sub() validates the whole
 * body first (packet id non-zero, 5.0 properties, at least one filter
 * (MQTT-3.8.3-3, MQTT-3.10.3-2), each filter a valid topic filter, requested
 * QoS 0..2 with the reserved bits zero (MQTT-3.8.3-4; in 5.0 the options
 * byte, retain handling 0..2 and bits 6-7 zero, MQTT-3.8.3-5)), so a bad
 * packet is refused before any of it is applied.  It then leaves @it at
 * the first entry for kmqtt_codec_next_filter().
 */
struct kmqtt_sub_iter {
	const u8 *pos;
	const u8 *end;
	bool with_qos;		/* SUBSCRIBE entries carry an options byte */
};

/*
 * Returns the number of filters (>= 1), -EPROTO (malformed) or -EINVAL
 * (a protocol error in the properties).  @props is filled for 5.0 (@v5).
 */
int kmqtt_codec_parse_sub(const u8 *body, u32 len, bool with_qos, bool v5,
			  u16 *packet_id, struct kmqtt_sub_iter *it,
			  struct kmqtt_props *props);

/*
 * PUBACK, PUBREC, PUBREL and PUBCOMP bodies: a packet identifier, which
 * MQTT-2.3.1-1 makes non-zero; in 5.0 (@v5) optionally a reason code and
 * properties (3.4.2.1, 3.4.2.2), else *@reason is 0.  Returns 0 or -EPROTO.
 */
int kmqtt_codec_parse_ack(const u8 *body, u32 len, bool v5, u16 *packet_id,
			  u8 *reason);

/*
 * A 5.0 DISCONNECT (@in KMQTT_PROPS_DISCONNECT, 3.14.2) or AUTH
 * (KMQTT_PROPS_AUTH, 3.15.2) body: a reason code and properties, both
 * optional (0 and none when left out).  Returns 0, -EPROTO or -EINVAL as
 * kmqtt_props_parse().
 */
int kmqtt_codec_parse_reason(const u8 *body, u32 len, enum kmqtt_props_in in,
			     u8 *reason, struct kmqtt_props *props);

/*
 * Next entry of a validated body.  Returns true and fills @filter, @filter_len
 * and (SUBSCRIBE only, else 0) @options, the options byte (3.1.1: the QoS);
 * false at the end.
 */
bool kmqtt_codec_next_filter(struct kmqtt_sub_iter *it, const u8 **filter,
			     u16 *filter_len, u8 *options);

/*
 * Encoders write into a caller buffer that must be large enough; each returns
 * the number of bytes written.
 */

/* A two-byte integer, big-endian (1.5.2); returns the byte after it. */
u8 *kmqtt_codec_put_u16(u8 *p, u16 v);

/* A four-byte integer, big-endian (1.5.3 of 5.0); returns the byte after. */
u8 *kmqtt_codec_put_u32(u8 *p, u32 v);

/* Bytes needed for a fixed header with @rem_len (2..5). */
size_t kmqtt_codec_fixed_hdr_len(u32 rem_len);

/* Writes first byte and remaining length; returns 2..5. */
size_t kmqtt_codec_put_fixed_hdr(u8 *buf, u8 type, u8 flags, u32 rem_len);

/* Total size of an encoded PUBLISH, or 0 if it exceeds the MQTT maximum. */
size_t kmqtt_codec_publish_size(u16 topic_len, u8 qos, u32 payload_len);

/*
 * A PUBLISH's fixed header alone, for a sender that gathers the topic,
 * packet id and payload from elsewhere; returns 2..5.
 */
size_t kmqtt_codec_put_publish_hdr(u8 *buf, u8 qos, bool dup, bool retain,
				   u32 rem_len);

/*
 * Encode a whole PUBLISH: fixed header, topic, packet id (QoS > 0), payload.
 * @buf holds kmqtt_codec_publish_size() bytes.
 */
size_t kmqtt_codec_put_publish(u8 *buf, const struct kmqtt_publish *pub);

/* CONNACK: 4 bytes. */
size_t kmqtt_codec_put_connack(u8 *buf, bool session_present, u8 return_code);

/*
 * A 5.0 CONNACK up to its property length, for @props_len bytes of
 * properties that the caller writes after it: at most
 * KMQTT_CODEC_CONNACK5_HEAD bytes.
 */
#define KMQTT_CODEC_CONNACK5_HEAD	(MQTT_MAX_FIXED_HEADER + 2 + 4)
size_t kmqtt_codec_put_connack5(u8 *buf, bool session_present, u8 reason,
				u32 props_len);

/*
 * SUBACK (or, with @type MQTT_UNSUBACK, a 5.0 UNSUBACK) with @n return or
 * reason codes, and an empty property length when @v5: at most
 * kmqtt_codec_fixed_hdr_len(3 + n) + 3 + n bytes (4 + n while n < 126 in
 * 3.1.1).
 */
size_t kmqtt_codec_put_suback(u8 *buf, u8 type, u16 packet_id, bool v5,
			      const u8 *codes, u32 n);

/*
 * Acks: PUBACK, PUBREC, PUBREL, PUBCOMP, and the 3.1.1 UNSUBACK.  With
 * @reason 0, the two-byte body both versions take (4 bytes); else a 5.0
 * body with the reason code and no properties (5 bytes).
 */
size_t kmqtt_codec_put_ack(u8 *buf, u8 type, u16 packet_id, u8 reason);

/* A 5.0 DISCONNECT with @reason and no properties: 2 or 3 bytes. */
size_t kmqtt_codec_put_disconnect5(u8 *buf, u8 reason);

/*
 * A 5.0 AUTH with @reason, the Authentication Method @method and, unless
 * NULL, Authentication Data @data (3.15): kmqtt_codec_auth_size() bytes.
 */
size_t kmqtt_codec_auth_size(u16 method_len, const u8 *data, u16 data_len);
size_t kmqtt_codec_put_auth(u8 *buf, u8 reason, const u8 *method,
			    u16 method_len, const u8 *data, u16 data_len);

/* PINGRESP: 2 bytes. */
size_t kmqtt_codec_put_pingresp(u8 *buf);
/* What a bridge link sends: the module is the client there. */
size_t kmqtt_codec_put_pingreq(u8 *buf);

/*
 * Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF.
 */
bool kmqtt_codec_utf8_well_formed(const u8 *s, size_t len);

/*
 * UTF-8 as MQTT 1.5.3 requires: well-formed (MQTT-1.5.3-1), without
 * U+0000 (MQTT-1.5.3-2).
 */
bool kmqtt_codec_utf8_valid(const u8 *s, size_t len);

#endif /* _KMQTT_CODEC_H */
