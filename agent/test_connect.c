// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the CONNECT framing and parser (agent/connect.c).
 * Statement numbers are those of the MQTT 3.1.1 OASIS Standard.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "connect.h"
#include "kselftest_harness.h"

#define PKT_MAX		(CONNECT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER + 16)

/* A field given with its length, so that it may contain NUL bytes. */
struct field {
	const char *s;
	size_t len;
};

#define F(str)	((struct field){ (str), sizeof(str) - 1 })

/* A CONNECT to encode; fields are written when the flags announce them. */
struct spec {
	struct field proto;
	uint8_t level;
	uint8_t flags;
	uint16_t keepalive;
	struct field client_id;
	struct field will_topic;
	struct field will_payload;
	struct field username;
	struct field password;
	struct field extra;	/* raw bytes appended to the payload */
};

static uint8_t pkt[PKT_MAX];

static size_t put_field(uint8_t *p, struct field f)
{
	p[0] = (uint8_t)(f.len >> 8);
	p[1] = (uint8_t)f.len;
	memcpy(p + 2, f.s, f.len);
	return f.len + 2;
}

/* Fixed header for @remaining bytes at @out; returns its size. */
static size_t put_fixed_header(uint8_t *out, uint8_t first, size_t remaining)
{
	size_t n = 0;

	out[n++] = first;
	do {
		uint8_t digit = remaining % 128;

		remaining /= 128;
		out[n++] = digit | (remaining ? 0x80 : 0);
	} while (remaining);
	return n;
}

/* The body (variable header and payload) of @s into @body. */
static size_t build_body(const struct spec *s, uint8_t *body)
{
	size_t n = 0;

	n += put_field(body + n, s->proto);
	body[n++] = s->level;
	body[n++] = s->flags;
	body[n++] = (uint8_t)(s->keepalive >> 8);
	body[n++] = (uint8_t)s->keepalive;
	n += put_field(body + n, s->client_id);
	if (s->flags & MQTT_CONNECT_WILL) {
		n += put_field(body + n, s->will_topic);
		n += put_field(body + n, s->will_payload);
	}
	if (s->flags & MQTT_CONNECT_USERNAME)
		n += put_field(body + n, s->username);
	if (s->flags & MQTT_CONNECT_PASSWORD)
		n += put_field(body + n, s->password);
	if (s->extra.len)
		memcpy(body + n, s->extra.s, s->extra.len);
	return n + s->extra.len;
}

/* The first @body_len bytes of @body as a CONNECT packet in pkt[]. */
static size_t frame(const uint8_t *body, size_t body_len)
{
	size_t h = put_fixed_header(pkt, MQTT_CONNECT << 4, body_len);

	memmove(pkt + h, body, body_len);
	return h + body_len;
}

static size_t build(const struct spec *s)
{
	static uint8_t body[PKT_MAX];

	return frame(body, build_body(s, body));
}

static struct spec v311(const char *client_id)
{
	return (struct spec){
		.proto = F("MQTT"), .level = MQTT_PROTO_V311,
		.flags = MQTT_CONNECT_CLEAN_SESSION, .keepalive = 60,
		.client_id = { client_id, strlen(client_id) },
	};
}

static struct spec v31(const char *client_id)
{
	struct spec s = v311(client_id);

	s.proto = F("MQIsdp");
	s.level = MQTT_PROTO_V31;
	return s;
}

static bool bytes_are(struct connect_bytes b, const char *s)
{
	return b.len == strlen(s) && !memcmp(b.data, s, b.len);
}

/* Parse @s and return the result; the packet is left in @c. */
static struct connect_result parse(const struct spec *s,
				   struct connect_packet *c)
{
	return connect_parse(pkt, build(s), c);
}

TEST(valid_311_minimal)
{
	struct spec s = v311("client-1");
	struct connect_packet c;
	struct connect_result r;

	s.keepalive = 0x1234;
	r = parse(&s, &c);
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
	ASSERT_EQ(MQTT_PROTO_V311, c.proto_level);
	ASSERT_TRUE(c.clean_session);
	ASSERT_EQ(0x1234, c.keepalive);
	ASSERT_STREQ("client-1", c.client_id);
	ASSERT_EQ(8, c.client_id_len);
	ASSERT_FALSE(c.will);
	ASSERT_FALSE(c.has_username);
	ASSERT_FALSE(c.has_password);
}

TEST(valid_31_minimal)
{
	struct spec s = v31("old-client");
	struct connect_packet c;

	s.flags = 0;
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_EQ(MQTT_PROTO_V31, c.proto_level);
	ASSERT_FALSE(c.clean_session);
	ASSERT_STREQ("old-client", c.client_id);
}

TEST(valid_311_will_user_password)
{
	struct spec s = v311("c");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_WILL | (1 << MQTT_CONNECT_WILL_QOS_SHIFT) |
		   MQTT_CONNECT_WILL_RETAIN | MQTT_CONNECT_USERNAME |
		   MQTT_CONNECT_PASSWORD;
	s.will_topic = F("status/c");
	s.will_payload = F("gone\0\xff");	/* binary: any bytes */
	s.username = F("user");
	s.password = F("\x00\x01secret");
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_TRUE(c.will);
	ASSERT_EQ(1, c.will_qos);
	ASSERT_TRUE(c.will_retain);
	ASSERT_TRUE(bytes_are(c.will_topic, "status/c"));
	ASSERT_EQ(6, c.will_payload.len);
	ASSERT_EQ(0, memcmp(c.will_payload.data, "gone\0\xff", 6));
	ASSERT_TRUE(c.has_username);
	ASSERT_TRUE(bytes_are(c.username, "user"));
	ASSERT_TRUE(c.has_password);
	ASSERT_EQ(8, c.password.len);
	ASSERT_EQ(0, memcmp(c.password.data, "\x00\x01secret", 8));
}

TEST(valid_311_will_qos2_no_retain)
{
	struct spec s = v311("c");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_WILL | (2 << MQTT_CONNECT_WILL_QOS_SHIFT);
	s.will_topic = F("t");
	s.will_payload = F("");
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_EQ(2, c.will_qos);
	ASSERT_FALSE(c.will_retain);
	ASSERT_EQ(0, c.will_payload.len);
}

TEST(valid_311_username_only)
{
	struct spec s = v311("c");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_USERNAME;
	s.username = F("only-user");
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_TRUE(c.has_username);
	ASSERT_FALSE(c.has_password);
	ASSERT_TRUE(bytes_are(c.username, "only-user"));
}

TEST(valid_31_with_will_user_password)
{
	struct spec s = v31("c31");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_WILL | MQTT_CONNECT_USERNAME |
		   MQTT_CONNECT_PASSWORD;
	s.will_topic = F("w");
	s.will_payload = F("bye");
	s.username = F("u");
	s.password = F("p");
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_TRUE(bytes_are(c.will_payload, "bye"));
	ASSERT_TRUE(bytes_are(c.password, "p"));
}

/* MQTT 3.1 did not forbid a password without a user name: Mosquitto does. */
TEST(password_without_username_31_dropped)
{
	struct spec s = v31("c31");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_PASSWORD;
	s.password = F("p");
	ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
}

TEST(valid_utf8_client_id)
{
	struct spec s = v311("\xe2\x82\xac-\xf0\x9f\x98\x80-\xef\xbf\xbf");
	struct connect_packet c;

	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_STREQ("\xe2\x82\xac-\xf0\x9f\x98\x80-\xef\xbf\xbf", c.client_id);
}

/* MQTT-3.1.3-6: a zero-byte id with clean session gets a server id. */
TEST(empty_client_id_clean_session_assigned)
{
	struct spec s = v311("");
	struct connect_packet c, d;
	size_t i;

	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_EQ(0, c.client_id_len);
	ASSERT_EQ(0, connect_assign_client_id(&c, "auto-"));
	/* Mosquitto's form: auto-3CD7A2AB-C695-D14C-A52B-5D5C161C98D1 */
	ASSERT_EQ(5 + CONNECT_ASSIGNED_ID_RANDOM_LEN, c.client_id_len);
	ASSERT_EQ(c.client_id_len, strlen(c.client_id));
	ASSERT_EQ(0, strncmp(c.client_id, "auto-", 5));
	for (i = 5; i < c.client_id_len; i++) {
		bool dash = i == 5 + 8 || i == 5 + 13 || i == 5 + 18 ||
			    i == 5 + 23;

		ASSERT_NE(NULL, strchr(dash ? "-" : "0123456789ABCDEF",
				       c.client_id[i]));
	}
	ASSERT_EQ(0, connect_assign_client_id(&d, "auto-"));
	ASSERT_STRNE(c.client_id, d.client_id);
}

/* The prefix may be empty, or take all the room a client id has. */
TEST(assigned_client_id_prefix_lengths)
{
	char longest[KMQTT_CLIENT_ID_MAX - CONNECT_ASSIGNED_ID_RANDOM_LEN + 2];
	struct connect_packet c;

	ASSERT_EQ(0, connect_assign_client_id(&c, ""));
	ASSERT_EQ(CONNECT_ASSIGNED_ID_RANDOM_LEN, c.client_id_len);
	ASSERT_EQ('-', c.client_id[8]);
	memset(longest, 'p', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	ASSERT_EQ(-ENAMETOOLONG, connect_assign_client_id(&c, longest));
	longest[sizeof(longest) - 2] = '\0';
	ASSERT_EQ(0, connect_assign_client_id(&c, longest));
	ASSERT_EQ(KMQTT_CLIENT_ID_MAX, c.client_id_len);
	ASSERT_EQ(KMQTT_CLIENT_ID_MAX, strlen(c.client_id));
}

/* MQTT-3.1.3-8 */
TEST(empty_client_id_without_clean_session_refused)
{
	struct spec s = v311("");
	struct connect_packet c;
	struct connect_result r;

	s.flags = 0;
	r = parse(&s, &c);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);
}

TEST(client_id_length_limit)
{
	char id[KMQTT_CLIENT_ID_MAX + 2];
	struct connect_packet c;
	struct connect_result r;
	struct spec s;

	memset(id, 'a', sizeof(id) - 1);
	id[KMQTT_CLIENT_ID_MAX] = '\0';
	s = v311(id);
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_EQ(KMQTT_CLIENT_ID_MAX, c.client_id_len);

	id[KMQTT_CLIENT_ID_MAX] = 'a';
	id[KMQTT_CLIENT_ID_MAX + 1] = '\0';
	s = v311(id);
	r = parse(&s, &c);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);
}

/* MQTT 3.1: the client id has 1 to 23 characters. */
TEST(client_id_31_limits)
{
	struct connect_packet c;
	struct connect_result r;
	struct spec s;

	s = v31("12345678901234567890123");
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);

	s = v31("123456789012345678901234");
	r = parse(&s, &c);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);

	s = v31("");
	r = parse(&s, &c);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);
}

/* MQTT-3.1.2-1: close without CONNACK. */
TEST(unknown_protocol_name_dropped)
{
	static const struct field names[] = {
		F("MQTX"), F("mqtt"), F("MQIsdP"), F(""), F("MQTTT"),
	};
	struct connect_packet c;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct spec s = v311("c");

		s.proto = names[i];
		ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
	}
}

/* MQTT-3.1.2-2: CONNACK 0x01 for a level we do not speak. */
TEST(unacceptable_protocol_level_refused)
{
	static const struct {
		struct field name;
		uint8_t level;
	} cases[] = {
		{ F("MQTT"), MQTT_PROTO_V5 }, { F("MQTT"), MQTT_PROTO_V31 },
		{ F("MQTT"), 0 }, { F("MQTT"), 255 },
		{ F("MQIsdp"), MQTT_PROTO_V311 }, { F("MQIsdp"), 1 },
	};
	struct connect_packet c;
	struct connect_result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec s = v311("c");

		s.proto = cases[i].name;
		s.level = cases[i].level;
		r = parse(&s, &c);
		ASSERT_EQ(CONNECT_REFUSE, r.action);
		ASSERT_EQ(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, r.return_code);
	}
}

/* An MQTT 5 CONNECT has properties: refused before they are parsed. */
TEST(mqtt5_connect_with_properties_refused)
{
	static const uint8_t v5[] = {
		0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60,
		3, 0x21, 0, 10,		/* properties: receive maximum 10 */
		0, 1, 'c',
	};
	struct connect_packet c;
	struct connect_result r;

	memcpy(pkt, v5, sizeof(v5));
	pkt[1] = sizeof(v5) - 2;
	r = connect_parse(pkt, sizeof(v5), &c);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, r.return_code);
	ASSERT_EQ(MQTT_PROTO_V5, c.proto_level);
}

/* MQTT-3.1.2-3 */
TEST(reserved_flag_dropped)
{
	struct connect_packet c;
	struct spec s;

	s = v311("c");
	s.flags |= MQTT_CONNECT_RESERVED;
	ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
	s = v31("c");
	s.flags |= MQTT_CONNECT_RESERVED;
	ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
}

/* MQTT-3.1.2-14: will QoS 3 */
TEST(will_qos3_dropped)
{
	struct spec s = v311("c");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_WILL | MQTT_CONNECT_WILL_QOS_MASK;
	s.will_topic = F("t");
	s.will_payload = F("p");
	ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
}

/* MQTT-3.1.2-11, -13, -15: will QoS and retain need the will flag. */
TEST(will_qos_or_retain_without_will_dropped)
{
	static const uint8_t flags[] = {
		1 << MQTT_CONNECT_WILL_QOS_SHIFT,
		2 << MQTT_CONNECT_WILL_QOS_SHIFT,
		MQTT_CONNECT_WILL_QOS_MASK,
		MQTT_CONNECT_WILL_RETAIN,
	};
	struct connect_packet c;
	size_t i;

	for (i = 0; i < sizeof(flags); i++) {
		struct spec s = v311("c");

		s.flags |= flags[i];
		ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
	}
}

/* MQTT-3.1.2-22 */
TEST(password_without_username_311_dropped)
{
	struct spec s = v311("c");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_PASSWORD;
	s.password = F("p");
	ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
}

/* A will topic is a topic name: not empty, no wildcards (4.7). */
TEST(will_topic_not_a_topic_name_dropped)
{
	static const struct field topics[] = { F(""), F("a/+"), F("#") };
	struct connect_packet c;
	size_t i;

	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		struct spec s = v311("c");

		s.flags |= MQTT_CONNECT_WILL;
		s.will_topic = topics[i];
		s.will_payload = F("p");
		ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
	}
}

/* Bytes beyond the fields the flags announce: malformed. */
TEST(trailing_bytes_dropped)
{
	struct spec s = v311("c");
	struct connect_packet c;

	s.extra = F("x");
	ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
	/* a password the flags do not announce */
	s.extra = F("\x00\x01p");
	ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
}

/* Every cut of a full CONNECT, with a remaining length that matches. */
TEST(truncated_body_dropped)
{
	static uint8_t body[PKT_MAX];
	struct spec s = v311("client");
	struct connect_packet c;
	size_t n, k;

	s.flags |= MQTT_CONNECT_WILL | MQTT_CONNECT_USERNAME |
		   MQTT_CONNECT_PASSWORD;
	s.will_topic = F("t");
	s.will_payload = F("pl");
	s.username = F("u");
	s.password = F("pw");
	n = build_body(&s, body);
	ASSERT_EQ(CONNECT_ACCEPT,
		  connect_parse(pkt, frame(body, n), &c).action);
	for (k = 0; k < n; k++)
		ASSERT_EQ(CONNECT_DROP,
			  connect_parse(pkt, frame(body, k), &c).action);
}

/* A buffer shorter, or longer, than the remaining length says. */
TEST(length_mismatch_dropped)
{
	struct spec s = v311("client");
	struct connect_packet c;
	size_t len = build(&s), k;

	for (k = 0; k < len; k++)
		ASSERT_EQ(CONNECT_DROP, connect_parse(pkt, k, &c).action);
	pkt[len] = 0;
	ASSERT_EQ(CONNECT_DROP, connect_parse(pkt, len + 1, &c).action);
}

TEST(utf8_validation)
{
	static const struct {
		struct field s;
		bool valid;
	} cases[] = {
		{ F("plain ascii"), true },
		{ F(""), true },
		{ F("\x01\x1f\x7f"), true },		/* controls allowed */
		{ F("\xc2\x80"), true },		/* U+0080 */
		{ F("\xdf\xbf"), true },		/* U+07FF */
		{ F("\xe0\xa0\x80"), true },		/* U+0800 */
		{ F("\xed\x9f\xbf"), true },		/* U+D7FF */
		{ F("\xee\x80\x80"), true },		/* U+E000 */
		{ F("\xef\xbf\xbf"), true },		/* U+FFFF, MQTT-1.5.3-3 */
		{ F("\xf0\x90\x80\x80"), true },	/* U+10000 */
		{ F("\xf4\x8f\xbf\xbf"), true },	/* U+10FFFF */
		{ F("a\0b"), false },			/* U+0000, MQTT-1.5.3-2 */
		{ F("\xc0\xaf"), false },		/* overlong '/' */
		{ F("\xc1\xbf"), false },		/* overlong */
		{ F("\xe0\x80\xaf"), false },		/* overlong */
		{ F("\xe0\x9f\xbf"), false },		/* overlong U+07FF */
		{ F("\xf0\x80\x80\xaf"), false },	/* overlong */
		{ F("\xf0\x8f\xbf\xbf"), false },	/* overlong U+FFFF */
		{ F("\xed\xa0\x80"), false },		/* U+D800, MQTT-1.5.3-1 */
		{ F("\xed\xbf\xbf"), false },		/* U+DFFF */
		{ F("\xf4\x90\x80\x80"), false },	/* U+110000 */
		{ F("\xf5\x80\x80\x80"), false },
		{ F("\xff"), false },
		{ F("\x80"), false },			/* lone continuation */
		{ F("\xe2\x82"), false },		/* cut sequence */
		{ F("\xe2\x28\xa1"), false },		/* bad continuation */
		{ F("\xf0\x9f\x98"), false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool valid = connect_utf8_valid((const uint8_t *)cases[i].s.s,
						cases[i].s.len);

		if (valid != cases[i].valid)
			TH_LOG("case %zu", i);
		ASSERT_EQ(cases[i].valid, valid);
	}
}

/* MQTT-1.5.3-1, -2: ill-formed strings close the connection. */
TEST(invalid_utf8_fields_dropped)
{
	static const struct field bad[] = {
		F("\xc0\xaf"), F("\xed\xa0\x80"), F("a\0"), F("\xe2\x82"),
	};
	struct connect_packet c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct spec s = v311("c");

		s.client_id = bad[i];
		ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);

		s = v311("c");
		s.flags |= MQTT_CONNECT_WILL;
		s.will_topic = bad[i];
		s.will_payload = F("p");
		ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);

		s = v311("c");
		s.flags |= MQTT_CONNECT_USERNAME;
		s.username = bad[i];
		ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);

		s = v311("c");
		s.proto = bad[i];
		ASSERT_EQ(CONNECT_DROP, parse(&s, &c).action);
	}
}

/* Passwords are binary data (3.1.3.5), not UTF-8. */
TEST(binary_password_accepted)
{
	struct spec s = v311("c");
	struct connect_packet c;

	s.flags |= MQTT_CONNECT_USERNAME | MQTT_CONNECT_PASSWORD;
	s.username = F("u");
	s.password = F("\xff\xfe\0");
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_EQ(3, c.password.len);
}

TEST(first_packet_not_connect_dropped)
{
	static const uint8_t firsts[] = {
		MQTT_PUBLISH << 4, MQTT_CONNACK << 4, MQTT_SUBSCRIBE << 4 | 2,
		MQTT_PINGREQ << 4, 0x00, 0xf0,
	};
	size_t i, need;

	for (i = 0; i < sizeof(firsts); i++)
		ASSERT_NE(NULL, connect_frame_need(&firsts[i], 1, &need));
}

/* MQTT-2.2.2-2: CONNECT fixed header flags are reserved, 0. */
TEST(connect_fixed_header_flags_dropped)
{
	struct spec s = v311("c");
	struct connect_packet c;
	size_t len = build(&s), need;

	pkt[0] |= 0x01;
	ASSERT_NE(NULL, connect_frame_need(pkt, 1, &need));
	ASSERT_EQ(CONNECT_DROP, connect_parse(pkt, len, &c).action);
}

TEST(frame_need_walks_the_header)
{
	const uint8_t hdr[] = { MQTT_CONNECT << 4, 0x80 | 0x10, 0x01 };
	size_t need = 0;

	ASSERT_NULL(connect_frame_need(hdr, 0, &need));
	ASSERT_EQ(1, need);
	ASSERT_NULL(connect_frame_need(hdr, 1, &need));
	ASSERT_EQ(2, need);
	ASSERT_NULL(connect_frame_need(hdr, 2, &need));
	ASSERT_EQ(3, need);
	ASSERT_NULL(connect_frame_need(hdr, 3, &need));
	ASSERT_EQ(3 + 0x10 + 128, need);
}

TEST(frame_too_large_or_malformed_dropped)
{
	uint8_t hdr[MQTT_MAX_FIXED_HEADER + 1];
	size_t n, need;

	n = put_fixed_header(hdr, MQTT_CONNECT << 4, CONNECT_MAX_REMAINING);
	ASSERT_NULL(connect_frame_need(hdr, n, &need));
	ASSERT_EQ(n + CONNECT_MAX_REMAINING, need);

	n = put_fixed_header(hdr, MQTT_CONNECT << 4, CONNECT_MAX_REMAINING + 1);
	ASSERT_NE(NULL, connect_frame_need(hdr, n, &need));

	n = put_fixed_header(hdr, MQTT_CONNECT << 4, MQTT_MAX_REMAINING_LENGTH);
	ASSERT_EQ(MQTT_MAX_FIXED_HEADER, n);
	ASSERT_NE(NULL, connect_frame_need(hdr, n, &need));

	/* a fifth length byte does not exist */
	memset(hdr + 1, 0xff, MQTT_MAX_FIXED_HEADER);
	ASSERT_NE(NULL, connect_frame_need(hdr, MQTT_MAX_FIXED_HEADER, &need));
}

/*
 * Reading as kmqttd does, one connect_frame_need() at a time, from a
 * stream with a SUBSCRIBE right behind the CONNECT never consumes the
 * SUBSCRIBE: its bytes belong to kmqtt.ko.
 */
TEST(reader_stops_at_end_of_connect)
{
	static const uint8_t subscribe[] = {
		MQTT_SUBSCRIBE << 4 | MQTT_FLAGS_QOS1_RESERVED, 6,
		0, 1, 0, 1, 'a', 0,
	};
	static uint8_t stream[PKT_MAX], got[PKT_MAX];
	struct spec s = v311("pipelined");
	struct connect_packet c;
	size_t len, have = 0, need = 0, reads = 0;

	/* a remaining length of two bytes exercises the multi-byte header */
	s.flags |= MQTT_CONNECT_WILL;
	s.will_topic = F("t");
	s.will_payload = (struct field){ (const char *)stream, 200 };
	len = build(&s);
	memcpy(stream, pkt, len);
	memcpy(stream + len, subscribe, sizeof(subscribe));

	for (;;) {
		ASSERT_NULL(connect_frame_need(got, have, &need));
		ASSERT_LE(need, len);
		if (need == have)
			break;
		memcpy(got + have, stream + have, need - have);
		have = need;
		reads++;
	}
	ASSERT_EQ(len, have);
	ASSERT_LE(reads, MQTT_MAX_FIXED_HEADER + 1);
	ASSERT_EQ(CONNECT_ACCEPT, connect_parse(got, have, &c).action);
	ASSERT_STREQ("pipelined", c.client_id);
}

/*
 * Read as kmqttd reads, one connect_read_step() at a time: returns the
 * bytes read before the verdict (the whole packet when accepted) and the
 * result.
 */
static size_t read_steps(const uint8_t *stream, size_t len,
			 struct connect_result *res)
{
	size_t have = 0, need = 0;

	for (;;) {
		*res = connect_read_step(stream, have, &need);
		if (res->action != CONNECT_ACCEPT || need == have)
			return have;
		if (need > len)		/* the stream ends here: truncated */
			return have;
		have = need;
	}
}

/*
 * MQTT-3.1.3-9: a client id longer than kmqtt takes gets CONNACK 2 from its
 * length field, whatever the packet's size: of a CONNECT over
 * CONNECT_MAX_REMAINING only the prefix is read.
 */
TEST(read_step_refuses_long_client_id_early)
{
	static char id[65535 + 1];
	struct connect_result r;
	struct spec s;
	size_t len, read, hdr;

	memset(id, 'i', sizeof(id) - 1);
	s = v311(id);
	len = build(&s);
	ASSERT_LT(CONNECT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER, len);
	read = read_steps(pkt, len, &r);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);
	hdr = len - (10 + 2 + 65535);
	ASSERT_EQ(hdr + CONNECT_PREFIX_MAX, read);

	/* just over the limit, in a packet of ordinary size */
	id[KMQTT_CLIENT_ID_MAX + 1] = '\0';
	s = v311(id);
	len = build(&s);
	read_steps(pkt, len, &r);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);

	/* MQTT 3.1: 23 bytes at most */
	id[MQTT_V31_CLIENT_ID_MAX + 1] = '\0';
	s = v31(id);
	len = build(&s);
	read_steps(pkt, len, &r);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);

	/* the longest accepted id is read to the end and accepted */
	id[KMQTT_CLIENT_ID_MAX] = '\0';
	s = v311(id);
	len = build(&s);
	ASSERT_EQ(len, read_steps(pkt, len, &r));
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
}

/* What connect_parse() judges is left to it: no early verdict. */
TEST(read_step_leaves_the_rest_to_the_parser)
{
	static char id[KMQTT_CLIENT_ID_MAX + 2];
	struct connect_packet c;
	struct connect_result r;
	struct spec s;
	size_t len;

	memset(id, 'i', sizeof(id) - 1);
	/* a bad protocol level is refused by the parser (CONNACK 1) */
	s = v311(id);
	s.level = MQTT_PROTO_V5;
	len = build(&s);
	ASSERT_EQ(len, read_steps(pkt, len, &r));
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
	/* reserved flag: dropped by the parser, not refused */
	s = v311(id);
	s.flags |= MQTT_CONNECT_RESERVED;
	len = build(&s);
	ASSERT_EQ(len, read_steps(pkt, len, &r));
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
	ASSERT_EQ(CONNECT_DROP, connect_parse(pkt, len, &c).action);
	/* an id longer than its packet: truncated, dropped by the parser */
	s = v311("c");
	len = build(&s);
	pkt[len - 3] = 0x01;	/* the id's length: 0x0101 */
	ASSERT_EQ(len, read_steps(pkt, len, &r));
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
}

/* Over CONNECT_MAX_REMAINING, an acceptable id: dropped after the prefix. */
TEST(read_step_drops_large_connect_after_prefix)
{
	static const uint8_t prefix[] = {
		0, 4, 'M', 'Q', 'T', 'T', MQTT_PROTO_V311,
		MQTT_CONNECT_CLEAN_SESSION, 0, 0, 0, 1,
	};
	uint8_t buf[MQTT_MAX_FIXED_HEADER + sizeof(prefix)];
	struct connect_result r;
	size_t h, need = 0;

	h = put_fixed_header(buf, MQTT_CONNECT << 4, CONNECT_MAX_REMAINING + 1);
	memcpy(buf + h, prefix, sizeof(prefix));
	r = connect_read_step(buf, h, &need);
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
	ASSERT_EQ(h + CONNECT_PREFIX_MAX, need);
	r = connect_read_step(buf, h + 2, &need);
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
	ASSERT_EQ(h + CONNECT_PREFIX_MAX, need);
	r = connect_read_step(buf, h + sizeof(prefix), &need);
	ASSERT_EQ(CONNECT_DROP, r.action);
	ASSERT_STREQ("CONNECT too large", r.reason);

	/* an unknown protocol name decides at once too */
	buf[h + 1] = 5;
	r = connect_read_step(buf, h + 2, &need);
	ASSERT_EQ(CONNECT_DROP, r.action);

	/* a fifth length byte, and a first packet that is not CONNECT */
	memset(buf + 1, 0xff, MQTT_MAX_FIXED_HEADER);
	ASSERT_EQ(CONNECT_DROP,
		  connect_read_step(buf, MQTT_MAX_FIXED_HEADER, &need).action);
	buf[0] = MQTT_PUBLISH << 4;
	ASSERT_EQ(CONNECT_DROP, connect_read_step(buf, 1, &need).action);
}

/* The reader stops at the end of an acceptable CONNECT, as before. */
TEST(read_step_stops_at_end_of_connect)
{
	struct spec s = v311("c1");
	struct connect_result r;
	size_t len, need = 0, have = 0;

	len = build(&s);
	pkt[len] = MQTT_PINGREQ << 4;
	pkt[len + 1] = 0;
	for (;;) {
		r = connect_read_step(pkt, have, &need);
		ASSERT_EQ(CONNECT_ACCEPT, r.action);
		ASSERT_LE(need, len);
		if (need == have)
			break;
		have = need;
	}
	ASSERT_EQ(len, have);
}

TEST(connack_encoding)
{
	uint8_t out[CONNECT_CONNACK_SIZE];

	connect_encode_connack(out, MQTT_CONNACK_SERVER_UNAVAILABLE);
	ASSERT_EQ(0x20, out[0]);
	ASSERT_EQ(0x02, out[1]);
	ASSERT_EQ(0x00, out[2]);
	ASSERT_EQ(0x03, out[3]);
}

TEST_HARNESS_MAIN
