// SPDX-License-Identifier: GPL-2.0
/*
 * agent/connect.c: the first packet read the way the listener reads it,
 * with reads as long as connect_frame_need() asks for (or shorter, as a
 * socket may return), then connect_parse().  Every call sees exactly the
 * bytes read so far, in a fresh buffer, so ASan catches any read past them.
 *
 * Checked: the framing never asks for bytes past the packet nor more than
 * the CONNECT limit; an accepted CONNECT has its fields inside the packet
 * and is one the module takes too (client id valid UTF-8 for
 * kmqtt_codec_utf8_valid(), will topic a name for kmqtt_topic_name_valid(),
 * a 5.0 will's properties as kmqtt.ko's ATTACH checks them); the CONNACK
 * properties made for it parse as a CONNACK's; a refusal's CONNACK has
 * the form and code of the client's version.
 *
 * Input: byte 0 is the longest read (0: as long as asked), the rest the
 * bytes the client sends.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <kmqtt/mqtt.h>
#include "agent/connect.h"
#include "kmod/codec.h"
#include "kmod/property.h"
#include "kmod/topic.h"

#include "fuzz.h"

static bool inside(const struct connect_bytes *b, const u8 *pkt, size_t len)
{
	return !b->len || (b->data >= pkt && b->data + b->len <= pkt + len);
}

/* What ATTACH gets for a 5.0 client: WILL_PROPS and CONNACK_PROPS. */
static void check_v5_attach(struct connect_packet *c)
{
	static const struct connect_limits limits = {
		.session_expiry_max = 3600, .receive_max = 20,
		.max_packet_size = 1024,
	};
	u8 props[CONNECT_CONNACK_PROPS_MAX], *will;
	struct kmqtt_props p;
	size_t n;

	if (c->will) {
		will = malloc(c->will_props.len ? c->will_props.len : 1);
		if (!will)
			abort();
		n = connect_will_publish_props(c, will);
		FUZZ_CHECK(n <= c->will_props.len);
		FUZZ_CHECK(!kmqtt_props_parse_block(will, n, KMQTT_PROPS_WILL,
						    &p));
		FUZZ_CHECK(!kmqtt_props_has(&p, MQTT_PROP_WILL_DELAY));
		free(will);
	} else {
		FUZZ_CHECK(!c->will_props.len && !c->will_delay);
	}
	FUZZ_CHECK(c->receive_max >= 1);
	/* As if the id had been assigned: the longest properties. */
	c->assigned_id = c->client_id_len > 0;
	n = connect_put_connack_props(props, c, &limits);
	FUZZ_CHECK(n <= CONNECT_CONNACK_PROPS_MAX);
	FUZZ_CHECK(!kmqtt_props_parse_block(props, n, KMQTT_PROPS_CONNACK,
					    &p));
	FUZZ_CHECK(connect_session_expiry(c, &limits) <= 3600);
}

/* A refusal's CONNACK: 5.0's form for a 5.0 client, 3.1.1's else. */
static void check_refusal(const struct connect_packet *c,
			  const struct connect_result *r)
{
	u8 connack[CONNECT_REFUSAL_MAX];
	size_t n = connect_put_refusal(connack, c->proto_level, r->return_code);

	FUZZ_CHECK(connack[0] == MQTT_CONNACK << 4 && connack[1] == n - 2);
	FUZZ_CHECK(connack[3] ==
		   connect_refusal_code(c->proto_level, r->return_code));
	if (c->proto_level == MQTT_PROTO_V5 &&
	    r->return_code != MQTT_CONNACK_UNACCEPTABLE_PROTOCOL)
		FUZZ_CHECK(n == 5 && connack[3] >= 0x80 && !connack[4]);
	else
		FUZZ_CHECK(n == CONNECT_CONNACK_SIZE && connack[3] < 0x80);
}

static void check_parse(const u8 *data, size_t len)
{
	u8 *pkt = malloc(len ? len : 1);
	struct connect_packet c;
	struct connect_result r;

	if (!pkt)
		abort();
	memcpy(pkt, data, len);
	r = connect_parse(pkt, len, &c);
	switch (r.action) {
	case CONNECT_ACCEPT:
		FUZZ_CHECK(c.proto_level == MQTT_PROTO_V31 ||
			   c.proto_level == MQTT_PROTO_V311 ||
			   c.proto_level == MQTT_PROTO_V5);
		FUZZ_CHECK(c.client_id_len <= KMQTT_CLIENT_ID_MAX);
		FUZZ_CHECK(strlen(c.client_id) == c.client_id_len);
		FUZZ_CHECK(kmqtt_codec_utf8_valid((const u8 *)c.client_id,
						  c.client_id_len));
		if (c.proto_level == MQTT_PROTO_V31)
			FUZZ_CHECK(c.client_id_len >= 1 &&
				   c.client_id_len <= MQTT_V31_CLIENT_ID_MAX);
		else if (!c.client_id_len && c.proto_level == MQTT_PROTO_V311)
			FUZZ_CHECK(c.clean_session);	/* MQTT-3.1.3-8 */
		if (c.will) {
			FUZZ_CHECK(c.will_qos <= 2);
			FUZZ_CHECK(kmqtt_topic_name_valid(c.will_topic.data,
							  c.will_topic.len));
		} else {
			FUZZ_CHECK(!c.will_qos && !c.will_retain &&
				   !c.will_topic.len && !c.will_payload.len);
		}
		if (c.has_password && c.proto_level != MQTT_PROTO_V5)
			FUZZ_CHECK(c.has_username);	/* MQTT-3.1.2-22 */
		FUZZ_CHECK(c.has_username || !c.username.len);
		FUZZ_CHECK(c.has_password || !c.password.len);
		FUZZ_CHECK(kmqtt_codec_utf8_valid(c.username.data,
						  c.username.len));
		FUZZ_CHECK(inside(&c.will_topic, pkt, len) &&
			   inside(&c.will_payload, pkt, len) &&
			   inside(&c.username, pkt, len) &&
			   inside(&c.password, pkt, len) &&
			   inside(&c.will_props, pkt, len));
		if (c.proto_level == MQTT_PROTO_V5)
			check_v5_attach(&c);
		break;
	case CONNECT_REFUSE:
		FUZZ_CHECK(r.return_code ==
				   MQTT_CONNACK_UNACCEPTABLE_PROTOCOL ||
			   r.return_code == MQTT_CONNACK_IDENTIFIER_REJECTED);
		FUZZ_CHECK(r.reason);
		check_refusal(&c, &r);
		break;
	case CONNECT_DROP:
		FUZZ_CHECK(r.reason);
		break;
	default:
		FUZZ_CHECK(!"unknown action");
	}
	free(pkt);
}

/* The listener's loop; returns the bytes of a complete packet, or 0. */
static size_t read_packet(const u8 *stream, size_t size, size_t max_read)
{
	size_t have = 0, need, prev_need = 0, n;
	const char *reason;
	u8 *buf;

	for (;;) {
		buf = malloc(have ? have : 1);
		if (!buf)
			abort();
		memcpy(buf, stream, have);
		reason = connect_frame_need(buf, have, &need);
		free(buf);
		if (reason)
			return 0;
		FUZZ_CHECK(need >= have);
		FUZZ_CHECK(need <= MQTT_MAX_FIXED_HEADER +
				   CONNECT_MAX_REMAINING);
		/* Once the packet size is known it does not change. */
		if (prev_need > have)
			FUZZ_CHECK(need == prev_need || prev_need == have + 1);
		if (need == have)
			return have;
		if (have == size)
			return 0;	/* the client sent no more */
		prev_need = need;
		n = need - have;
		if (max_read && n > max_read)
			n = max_read;
		have += n < size - have ? n : size - have;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t max_read = fuzz_byte(&in), len;

	len = read_packet(in.p, in.left, max_read);
	if (len)
		check_parse(in.p, len);
	/* The parser on its own takes any length, not only whole packets. */
	check_parse(in.p, in.left);
	return 0;
}
