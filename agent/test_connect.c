// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the CONNECT framing and parser (agent/connect.c).
 * Statement numbers are those of the MQTT 3.1.1 OASIS Standard.
 * connect_parse() is driven by one table, parse_cases[]: a CONNECT given
 * by its fields (or raw body) and the action, CONNACK code and reason it
 * must get.  The fixed header, UTF-8 and topic name checks it relies on
 * are kmod/codec.c's and kmod/topic.c's, tested in selftests/unit.
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

/* Parse @s and return the result; the packet is left in @c. */
static struct connect_result parse(const struct spec *s,
				   struct connect_packet *c)
{
	return connect_parse(pkt, build(s), c);
}

/* What connect_parse() gives as the reason for each refusal or drop. */
#define BAD_NAME	"unknown protocol name (MQTT-3.1.2-1)"
#define BAD_LEVEL	"unsupported protocol level (MQTT-3.1.2-2)"
#define RESERVED	"reserved connect flag set (MQTT-3.1.2-3)"
#define WILL_QOS3	"will QoS 3 (MQTT-3.1.2-14)"
#define NO_WILL		"will QoS or retain without will flag (MQTT-3.1.2-13, MQTT-3.1.2-15)"
#define NO_USERNAME	"password without user name (MQTT-3.1.2-22)"
#define WILL_TOPIC	"will topic is empty or has wildcards"
#define TRAILING	"bytes after the CONNECT payload"
#define ID_31		"MQTT 3.1 client id must have 1 to 23 bytes"

#define V311		.proto = F("MQTT"), .level = MQTT_PROTO_V311
#define V31		.proto = F("MQIsdp"), .level = MQTT_PROTO_V31
#define CLEAN		MQTT_CONNECT_CLEAN_SESSION
#define WILL		MQTT_CONNECT_WILL
#define WILL_QOS(q)	((q) << MQTT_CONNECT_WILL_QOS_SHIFT)
#define USER		MQTT_CONNECT_USERNAME
#define PASS		MQTT_CONNECT_PASSWORD

/* A CONNECT with protocol name @name and @level, the rest acceptable. */
#define NAMED(name, lvl)	.s = { .proto = F(name), .level = (lvl), \
				       .flags = CLEAN, .client_id = F("c") }

/* A CONNECT of @version (V311 or V31), clean session, the client id last. */
#define CLIENT_ID(version, ...)	.s = { version, .flags = CLEAN, \
				       .client_id = __VA_ARGS__ }

/* A CONNECT of @version with connect flags @f and client id "c". */
#define FLAGS(version, f)	.s = { version, .flags = (f), \
				       .client_id = F("c") }

/* A 3.1.1 CONNECT with a will on @topic. */
#define WILL_ON(topic)		.s = { V311, .flags = CLEAN | WILL, \
				       .client_id = F("c"), \
				       .will_topic = F(topic), \
				       .will_payload = F("p") }

#define ACCEPTED		.action = CONNECT_ACCEPT
#define DROPPED(why)		.action = CONNECT_DROP, .reason = (why)
#define REFUSED(code, why)	.action = CONNECT_REFUSE, \
				.return_code = (code), .reason = (why)

/* One CONNECT and what connect_parse() must make of it. */
struct parse_case {
	const char *what;
	struct spec s;
	struct field body;	/* when set, the raw body instead of @s */
	enum connect_action action;
	uint8_t return_code;	/* CONNACK code of a refusal */
	const char *reason;	/* NULL when accepted */
};

/* Client ids of KMQTT_CLIENT_ID_MAX and one more bytes. */
static const char id_run[KMQTT_CLIENT_ID_MAX + 1] = {
	[0 ... KMQTT_CLIENT_ID_MAX] = 'a',
};

/*
 * An ill-formed UTF-8 string (MQTT-1.5.3-1, -2) in each string field
 * closes the connection; as the protocol name it is no known name.
 */
#define BAD_UTF8(str, how)						\
	{ "client id " how, CLIENT_ID(V311, F(str)),			\
	  DROPPED("client id is not valid UTF-8") },			\
	{ "will topic " how, WILL_ON(str),				\
	  DROPPED("will topic is not valid UTF-8") },			\
	{ "user name " how,						\
	  .s = { V311, .flags = CLEAN | USER, .client_id = F("c"),	\
		 .username = F(str) },					\
	  DROPPED("user name is not valid UTF-8") },			\
	{ "protocol name " how, NAMED(str, MQTT_PROTO_V311),		\
	  DROPPED(BAD_NAME) }

static const struct parse_case parse_cases[] = {
	/* Accepted: the parsed fields are those sent. */
	{ "3.1.1, the least",
	  .s = { V311, .flags = CLEAN, .keepalive = 0x1234,
		 .client_id = F("client-1") },
	  ACCEPTED },
	{ "3.1 without clean session",
	  .s = { V31, .keepalive = 60, .client_id = F("old-client") },
	  ACCEPTED },
	{ "3.1.1, will QoS 1 retained, user name, binary will and password",
	  .s = { V311, .keepalive = 60,
		 .flags = CLEAN | WILL | WILL_QOS(1) |
			  MQTT_CONNECT_WILL_RETAIN | USER | PASS,
		 .client_id = F("c"), .will_topic = F("status/c"),
		 .will_payload = F("gone\0\xff"), .username = F("user"),
		 .password = F("\x00\x01secret") },
	  ACCEPTED },
	{ "3.1.1, will QoS 2 not retained, empty will payload",
	  .s = { V311, .flags = CLEAN | WILL | WILL_QOS(2),
		 .client_id = F("c"), .will_topic = F("t"),
		 .will_payload = F("") },
	  ACCEPTED },
	{ "3.1.1, user name only",
	  .s = { V311, .flags = CLEAN | USER, .client_id = F("c"),
		 .username = F("only-user") },
	  ACCEPTED },
	{ "3.1, will, user name and password",
	  .s = { V31, .flags = CLEAN | WILL | USER | PASS,
		 .client_id = F("c31"), .will_topic = F("w"),
		 .will_payload = F("bye"), .username = F("u"),
		 .password = F("p") },
	  ACCEPTED },
	{ "client id of 2, 3 and 4 byte UTF-8 characters",
	  CLIENT_ID(V311, F("\xe2\x82\xac-\xf0\x9f\x98\x80-\xef\xbf\xbf")),
	  ACCEPTED },
	{ "binary password (3.1.3.5), not UTF-8",
	  .s = { V311, .flags = CLEAN | USER | PASS, .client_id = F("c"),
		 .username = F("u"), .password = F("\xff\xfe\0") },
	  ACCEPTED },
	{ "client id of KMQTT_CLIENT_ID_MAX bytes",
	  CLIENT_ID(V311, { id_run, KMQTT_CLIENT_ID_MAX }), ACCEPTED },
	{ "3.1, client id of 23 bytes",
	  CLIENT_ID(V31, F("12345678901234567890123")), ACCEPTED },

	/* Client ids: CONNACK 2. */
	{ "empty client id without clean session (MQTT-3.1.3-8)",
	  .s = { V311, .client_id = F("") },
	  REFUSED(MQTT_CONNACK_IDENTIFIER_REJECTED,
		  "empty client id without clean session (MQTT-3.1.3-8)") },
	{ "client id one byte over KMQTT_CLIENT_ID_MAX",
	  CLIENT_ID(V311, { id_run, KMQTT_CLIENT_ID_MAX + 1 }),
	  REFUSED(MQTT_CONNACK_IDENTIFIER_REJECTED, "client id too long") },
	{ "3.1, client id of 24 bytes",
	  CLIENT_ID(V31, F("123456789012345678901234")),
	  REFUSED(MQTT_CONNACK_IDENTIFIER_REJECTED, ID_31) },
	{ "3.1, empty client id", CLIENT_ID(V31, F("")),
	  REFUSED(MQTT_CONNACK_IDENTIFIER_REJECTED, ID_31) },

	/* MQTT-3.1.2-1: an unknown protocol name closes without CONNACK. */
	{ "protocol name MQTX", NAMED("MQTX", MQTT_PROTO_V311),
	  DROPPED(BAD_NAME) },
	{ "protocol name mqtt", NAMED("mqtt", MQTT_PROTO_V311),
	  DROPPED(BAD_NAME) },
	{ "protocol name MQIsdP", NAMED("MQIsdP", MQTT_PROTO_V311),
	  DROPPED(BAD_NAME) },
	{ "empty protocol name", NAMED("", MQTT_PROTO_V311),
	  DROPPED(BAD_NAME) },
	{ "protocol name MQTTT", NAMED("MQTTT", MQTT_PROTO_V311),
	  DROPPED(BAD_NAME) },

	/* MQTT-3.1.2-2: CONNACK 1 for a level we do not speak. */
	{ "MQTT, level 5", NAMED("MQTT", MQTT_PROTO_V5),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },
	{ "MQTT, level 3", NAMED("MQTT", MQTT_PROTO_V31),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },
	{ "MQTT, level 0", NAMED("MQTT", 0),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },
	{ "MQTT, level 255", NAMED("MQTT", 255),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },
	{ "MQIsdp, level 4", NAMED("MQIsdp", MQTT_PROTO_V311),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },
	{ "MQIsdp, level 1", NAMED("MQIsdp", 1),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },
	/* Refused before the properties are parsed. */
	{ "MQTT 5 CONNECT with properties",
	  .body = F("\0\4" "MQTT" "\5\2\0\x3c"
		    "\3\x21\0\x0a"	/* properties: receive maximum 10 */
		    "\0\1" "c"),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },

	/* Connect flags (3.1.2.3 to 3.1.2.9): closed without CONNACK. */
	{ "3.1.1, reserved flag",
	  FLAGS(V311, CLEAN | MQTT_CONNECT_RESERVED), DROPPED(RESERVED) },
	{ "3.1, reserved flag",
	  FLAGS(V31, CLEAN | MQTT_CONNECT_RESERVED), DROPPED(RESERVED) },
	{ "will QoS 3",
	  .s = { V311, .flags = CLEAN | WILL | WILL_QOS(3),
		 .client_id = F("c"), .will_topic = F("t"),
		 .will_payload = F("p") },
	  DROPPED(WILL_QOS3) },
	/* MQTT-3.1.2-11, -13, -15 */
	{ "will QoS 1 without will",
	  FLAGS(V311, CLEAN | WILL_QOS(1)), DROPPED(NO_WILL) },
	{ "will QoS 2 without will",
	  FLAGS(V311, CLEAN | WILL_QOS(2)), DROPPED(NO_WILL) },
	{ "will QoS 3 without will",
	  FLAGS(V311, CLEAN | WILL_QOS(3)), DROPPED(NO_WILL) },
	{ "will retain without will",
	  FLAGS(V311, CLEAN | MQTT_CONNECT_WILL_RETAIN), DROPPED(NO_WILL) },
	{ "3.1.1, password without user name",
	  .s = { V311, .flags = CLEAN | PASS, .client_id = F("c"),
		 .password = F("p") },
	  DROPPED(NO_USERNAME) },
	/* MQTT 3.1 did not forbid it: Mosquitto does. */
	{ "3.1, password without user name",
	  .s = { V31, .flags = CLEAN | PASS, .client_id = F("c31"),
		 .password = F("p") },
	  DROPPED(NO_USERNAME) },

	/* A will topic is a topic name: not empty, no wildcards (4.7). */
	{ "empty will topic", WILL_ON(""), DROPPED(WILL_TOPIC) },
	{ "will topic a/+", WILL_ON("a/+"), DROPPED(WILL_TOPIC) },
	{ "will topic #", WILL_ON("#"), DROPPED(WILL_TOPIC) },

	/* Bytes beyond the fields the flags announce: malformed. */
	{ "a byte after the payload",
	  .s = { V311, .flags = CLEAN, .client_id = F("c"),
		 .extra = F("x") },
	  DROPPED(TRAILING) },
	{ "a password the flags do not announce",
	  .s = { V311, .flags = CLEAN, .client_id = F("c"),
		 .extra = F("\x00\x01p") },
	  DROPPED(TRAILING) },

	BAD_UTF8("\xc0\xaf", "with an overlong '/'"),
	BAD_UTF8("\xed\xa0\x80", "with a surrogate"),
	BAD_UTF8("a\0", "with U+0000"),
	BAD_UTF8("\xe2\x82", "cut in a character"),
};

static bool bytes_are(struct connect_bytes b, struct field f)
{
	return b.len == f.len && (!f.len || !memcmp(b.data, f.s, f.len));
}

/* An accepted CONNECT has the fields of the @s it was built from. */
static void expect_fields(struct __test_metadata *_metadata, const char *what,
			  const struct spec *s, const struct connect_packet *c)
{
	EXPECT_EQ(s->level, c->proto_level) TH_LOG("%s", what);
	EXPECT_EQ(!!(s->flags & CLEAN), c->clean_session) TH_LOG("%s", what);
	EXPECT_EQ(s->keepalive, c->keepalive) TH_LOG("%s", what);
	EXPECT_EQ(s->client_id.len, c->client_id_len) TH_LOG("%s", what);
	EXPECT_EQ(s->client_id.len, strlen(c->client_id)) TH_LOG("%s", what);
	EXPECT_EQ(0, memcmp(s->client_id.s, c->client_id, c->client_id_len))
		TH_LOG("%s", what);
	EXPECT_EQ(!!(s->flags & WILL), c->will) TH_LOG("%s", what);
	EXPECT_EQ((s->flags & MQTT_CONNECT_WILL_QOS_MASK) >>
		  MQTT_CONNECT_WILL_QOS_SHIFT, c->will_qos) TH_LOG("%s", what);
	EXPECT_EQ(!!(s->flags & MQTT_CONNECT_WILL_RETAIN), c->will_retain)
		TH_LOG("%s", what);
	if (c->will) {
		EXPECT_TRUE(bytes_are(c->will_topic, s->will_topic))
			TH_LOG("%s", what);
		EXPECT_TRUE(bytes_are(c->will_payload, s->will_payload))
			TH_LOG("%s", what);
	}
	EXPECT_EQ(!!(s->flags & USER), c->has_username) TH_LOG("%s", what);
	if (c->has_username)
		EXPECT_TRUE(bytes_are(c->username, s->username))
			TH_LOG("%s", what);
	EXPECT_EQ(!!(s->flags & PASS), c->has_password) TH_LOG("%s", what);
	if (c->has_password)
		EXPECT_TRUE(bytes_are(c->password, s->password))
			TH_LOG("%s", what);
}

TEST(connect_parse_cases)
{
	static uint8_t body[PKT_MAX];
	const struct parse_case *t;
	struct connect_packet c;
	struct connect_result r;
	size_t n;

	for (t = parse_cases; t < parse_cases + ARRAY_SIZE(parse_cases); t++) {
		if (t->body.s) {
			n = t->body.len;
			memcpy(body, t->body.s, n);
		} else {
			n = build_body(&t->s, body);
		}
		r = connect_parse(pkt, frame(body, n), &c);
		EXPECT_EQ(t->action, r.action) TH_LOG("%s", t->what);
		EXPECT_EQ(t->return_code, r.return_code) TH_LOG("%s", t->what);
		EXPECT_TRUE(t->reason ? r.reason && !strcmp(t->reason, r.reason) :
					!r.reason)
			TH_LOG("%s: reason \"%s\"", t->what,
			       r.reason ? r.reason : "(none)");
		if (t->action == CONNECT_ACCEPT && r.action == CONNECT_ACCEPT)
			expect_fields(_metadata, t->what, &t->s, &c);
		/* The level refused is the level sent, after the name. */
		if (t->return_code == MQTT_CONNACK_UNACCEPTABLE_PROTOCOL)
			EXPECT_EQ(body[2 + (body[0] << 8 | body[1])],
				  c.proto_level) TH_LOG("%s", t->what);
	}
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

TEST_HARNESS_MAIN
