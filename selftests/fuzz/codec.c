// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/codec.c as the module drives it: bytes arrive in chunks and are
 * framed with kmqtt_codec_fixed_hdr() the way kmqtt_conn_rx_packets() does,
 * and each complete packet goes to the check kmqtt_conn_handle() makes or
 * the parser it calls.  A violation ends the stream, as it closes the
 * connection.  Each call sees exactly the bytes it is given (a fresh
 * buffer), so ASan catches any read past them.
 *
 * Checked: framing claims no byte it does not have and agrees with a plain
 * decoding of the header; parse results point inside their packet and are
 * valid (topic names, filters, QoS, packet ids); what parses encodes back
 * to the same bytes.
 *
 * Input: byte 0 picks the maximum packet size and, with its top bit, MQTT
 * 5.0 (properties in PUBLISH, SUBSCRIBE, UNSUBSCRIBE, acks and
 * DISCONNECT), byte 1 the chunk size (0: all at once), the rest is the
 * stream.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <kmqtt/mqtt.h>
#include "codec.h"
#include "topic.h"

#include "fuzz.h"

static const u32 max_packets[] = {
	2, 5, 64, 300, 16384, MQTT_MAX_REMAINING_LENGTH + MQTT_MAX_FIXED_HEADER,
};

/* The connection's protocol is 5.0. */
static bool v5;

static u8 *copy(const u8 *p, size_t n)
{
	u8 *c = malloc(n ? n : 1);

	if (!c)
		abort();
	memcpy(c, p, n);
	return c;
}

static bool flags_valid(u8 type, u8 flags)
{
	if (type == MQTT_PUBLISH)
		return true;
	if (type == MQTT_PUBREL || type == MQTT_SUBSCRIBE ||
	    type == MQTT_UNSUBSCRIBE)
		return flags == MQTT_FLAGS_QOS1_RESERVED;
	return !flags;
}

/* The result of kmqtt_codec_fixed_hdr(@p, @len) against the bytes. */
static void check_fixed_hdr(const u8 *p, size_t len, u32 max, int ret,
			    const struct kmqtt_fixed_hdr *hdr)
{
	u8 type = p[0] >> 4, flags = p[0] & 0x0f;
	bool type_ok = type >= MQTT_CONNECT && type <= MQTT_AUTH;
	size_t i, n;
	u32 rem = 0;

	/* Length bytes: all but the last have the continuation bit. */
	for (n = 1; n < len && n < MQTT_MAX_FIXED_HEADER && p[n] & 0x80; n++)
		;
	if (!type_ok || !flags_valid(type, flags)) {
		FUZZ_CHECK(ret == -EPROTO);
		return;
	}
	if (n == MQTT_MAX_FIXED_HEADER) {	/* a fifth length byte */
		FUZZ_CHECK(ret == -EPROTO);
		return;
	}
	if (n == len) {				/* header not complete */
		FUZZ_CHECK(ret == 0);
		return;
	}
	for (i = 1; i <= n; i++)
		rem |= (u32)(p[i] & 0x7f) << (7 * (i - 1));
	FUZZ_CHECK(ret == -EMSGSIZE || ret > 0);
	FUZZ_CHECK(hdr->type == type && hdr->flags == flags);
	FUZZ_CHECK(hdr->hdr_len == n + 1 && hdr->rem_len == rem);
	if (ret > 0)
		FUZZ_CHECK((size_t)ret == n + 1 && (u64)n + 1 + rem <= max);
	else
		FUZZ_CHECK((u64)n + 1 + rem > max);
}

/* PUBLISH; false for a violation. */
static bool check_publish(const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	struct kmqtt_publish pub;
	struct kmqtt_fixed_hdr h2;
	size_t size;
	u8 *enc;
	int ret;

	ret = kmqtt_codec_parse_publish(hdr->flags, body, hdr->rem_len, v5,
					&pub);
	if (ret) {
		FUZZ_CHECK(ret == -EPROTO || (v5 && ret == -EINVAL));
		return false;
	}
	FUZZ_CHECK(pub.qos <= 2 && (!pub.dup || pub.qos));
	FUZZ_CHECK(pub.retain == !!(hdr->flags & MQTT_PUBLISH_RETAIN));
	FUZZ_CHECK(pub.qos ? pub.packet_id != 0 : pub.packet_id == 0);
	FUZZ_CHECK(pub.topic == body + 2);
	FUZZ_CHECK(kmqtt_topic_name_valid(pub.topic, pub.topic_len) ||
		   (v5 && !pub.topic_len));
	FUZZ_CHECK(pub.payload >= pub.topic + pub.topic_len);
	FUZZ_CHECK(pub.payload + pub.payload_len == body + hdr->rem_len);
	if (v5) {
		/* The properties sit between the header fields and payload. */
		FUZZ_CHECK(pub.props.start > pub.topic + pub.topic_len &&
			   pub.props.start + pub.props.len == pub.payload);
		FUZZ_CHECK(pub.props.forward_len <= pub.props.len);
		return true;
	}

	/* Encoded again: the same flags and body, a minimal header. */
	size = kmqtt_codec_publish_size(pub.topic_len, pub.qos,
					pub.payload_len);
	FUZZ_CHECK(size == kmqtt_codec_fixed_hdr_len(hdr->rem_len) +
			   hdr->rem_len);
	enc = malloc(size);
	if (!enc)
		abort();
	FUZZ_CHECK(kmqtt_codec_put_publish(enc, &pub) == size);
	ret = kmqtt_codec_fixed_hdr(enc, size, UINT32_MAX, &h2);
	FUZZ_CHECK(ret > 0 && (size_t)ret == size - hdr->rem_len);
	FUZZ_CHECK(h2.type == MQTT_PUBLISH && h2.flags == hdr->flags &&
		   h2.rem_len == hdr->rem_len);
	FUZZ_CHECK(!memcmp(enc + ret, body, hdr->rem_len));
	free(enc);
	return true;
}

/* SUBSCRIBE (@with_qos) or UNSUBSCRIBE; false for a violation. */
static bool check_sub(const struct kmqtt_fixed_hdr *hdr, const u8 *body,
		      bool with_qos)
{
	const u8 *end = body + hdr->rem_len, *filter;
	struct kmqtt_fixed_hdr h2;
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	u16 packet_id, len;
	u8 qos, *codes, *ack;
	int n, i = 0, ret;

	n = kmqtt_codec_parse_sub(body, hdr->rem_len, with_qos, v5,
				  &packet_id, &it, &props);
	if (n < 0) {
		FUZZ_CHECK(n == -EPROTO || (v5 && n == -EINVAL));
		return false;
	}
	FUZZ_CHECK(n > 0 && packet_id != 0);
	codes = malloc(n);
	ack = malloc(MQTT_MAX_FIXED_HEADER + 3 + n);
	if (!codes || !ack)
		abort();
	while (kmqtt_codec_next_filter(&it, &filter, &len, &qos)) {
		FUZZ_CHECK(i < n);
		FUZZ_CHECK(filter >= body + 4 && filter + len <= end);
		FUZZ_CHECK(kmqtt_topic_filter_valid(filter, len));
		FUZZ_CHECK(!with_qos ? qos == 0 :
			   !v5 ? qos <= 2 :
			   (qos & MQTT_SUBOPT_QOS_MASK) <= 2 &&
			   !(qos & MQTT_SUBOPT_RESERVED) &&
			   (qos & MQTT_SUBOPT_RETAIN_HANDLING_MASK) !=
			   MQTT_SUBOPT_RETAIN_HANDLING_MASK);
		codes[i++] = qos & MQTT_SUBOPT_QOS_MASK;
	}
	FUZZ_CHECK(i == n && it.pos == end);

	/* The SUBACK the module would send frames as one. */
	ret = kmqtt_codec_put_suback(ack, MQTT_SUBACK, packet_id, v5, codes, n);
	FUZZ_CHECK(kmqtt_codec_fixed_hdr(ack, ret, UINT32_MAX, &h2) > 0);
	FUZZ_CHECK(h2.type == MQTT_SUBACK && h2.rem_len == 2 + v5 + (u32)n &&
		   h2.hdr_len + h2.rem_len == (u32)ret);
	free(codes);
	free(ack);
	return true;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP; false for a violation. */
static bool check_ack(const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	u32 len = hdr->rem_len;
	bool valid = (len == 2 || (v5 && len > 2)) && (body[0] || body[1]);
	struct kmqtt_props props;
	u16 packet_id;
	u8 reason;
	int ret;

	/* 3.4.2.2: properties from the fourth byte on, exactly to the end. */
	if (valid && len > 3)
		valid = kmqtt_props_parse(body + 3, len - 3, KMQTT_PROPS_ACK,
					  &props) == (int)(len - 3);
	ret = kmqtt_codec_parse_ack(body, len, v5, &packet_id, &reason);
	FUZZ_CHECK(valid ? !ret && packet_id == (body[0] << 8 | body[1]) &&
			   reason == (len > 2 ? body[2] : 0) :
			   ret == -EPROTO);
	return valid;
}

/*
 * A 5.0 DISCONNECT or AUTH (@in) parses or not; the fuzzer ends the
 * connection either way.
 */
static void check_reason(const struct kmqtt_fixed_hdr *hdr, const u8 *body,
			 enum kmqtt_props_in in)
{
	struct kmqtt_props props;
	u8 reason;
	int ret;

	ret = kmqtt_codec_parse_reason(body, hdr->rem_len, in, &reason, &props);
	FUZZ_CHECK(ret == 0 || ret == -EPROTO || ret == -EINVAL);
	if (!ret && hdr->rem_len)
		FUZZ_CHECK(reason == body[0]);
}

/* Like kmqtt_conn_handle(): false when the connection would be closed. */
static bool handle(const struct kmqtt_fixed_hdr *hdr, const u8 *packet)
{
	u8 *body = copy(packet + hdr->hdr_len, hdr->rem_len);
	bool ok;

	switch (hdr->type) {
	case MQTT_PUBLISH:
		ok = check_publish(hdr, body);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
	case MQTT_PUBREL:
		ok = check_ack(hdr, body);
		break;
	case MQTT_SUBSCRIBE:
		ok = check_sub(hdr, body, true);
		break;
	case MQTT_UNSUBSCRIBE:
		ok = check_sub(hdr, body, false);
		break;
	case MQTT_PINGREQ:
		ok = !hdr->rem_len;
		break;
	case MQTT_DISCONNECT:
		if (v5)
			check_reason(hdr, body, KMQTT_PROPS_DISCONNECT);
		ok = false;
		break;
	case MQTT_AUTH:
		if (v5)
			check_reason(hdr, body, KMQTT_PROPS_AUTH);
		ok = false;
		break;
	default:	/* a second CONNECT, the rest */
		ok = false;
	}
	free(body);
	return ok;
}

/*
 * kmqtt_conn_rx_packets() on the @len bytes received and not yet consumed;
 * returns how many it consumed, or -1 when the connection would close.
 */
static long rx_packets(const u8 *stream, size_t len, u32 max)
{
	u8 *buf = copy(stream, len);
	size_t off = 0;
	long ret = 0;

	while (off < len) {
		struct kmqtt_fixed_hdr hdr;
		u8 *p = buf + off;
		int r;

		r = kmqtt_codec_fixed_hdr(p, len - off, max, &hdr);
		check_fixed_hdr(p, len - off, max, r, &hdr);
		if (r < 0) {
			ret = -1;
			break;
		}
		if (!r || len - off < (u64)hdr.hdr_len + hdr.rem_len)
			break;
		if (!handle(&hdr, p)) {
			ret = -1;
			break;
		}
		off += hdr.hdr_len + hdr.rem_len;
	}
	free(buf);
	return ret < 0 ? ret : (long)off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	u8 mode = fuzz_byte(&in);
	u32 max = max_packets[(mode & 0x7f) % ARRAY_SIZE(max_packets)];
	size_t chunk = fuzz_byte(&in), have = 0, off = 0;
	long n;

	v5 = mode & 0x80;
	if (!chunk)
		chunk = in.left;
	while (have < in.left) {
		have = have + chunk < in.left ? have + chunk : in.left;
		n = rx_packets(in.p + off, have - off, max);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return 0;
}
