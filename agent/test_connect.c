// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the CONNECT framing and parser (agent/connect.c) and the
 * CONNACK bytes the agent makes.  Statement numbers are those of the MQTT
 * 3.1.1 OASIS Standard, those marked "5.0" the MQTT 5.0 one's.
 * connect_parse() is driven by one table, parse_cases[]: a CONNECT given
 * by its fields (or raw body) and the action, CONNACK code and bytes and
 * reason it must get.  The fixed header, UTF-8, topic name and property
 * checks it relies on are kmod/codec.c's, kmod/topic.c's and
 * kmod/property.c's, tested in selftests/unit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "connect.h"
#include "kmod/property.h"
#include "kselftest_harness.h"

#define PKT_MAX		(CONNECT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER + 16)

/* A field given with its length, so that it may contain NUL bytes. */
struct field {
	const char *s;
	size_t len;
};

#define F(str)	((struct field){ (str), sizeof(str) - 1 })

/*
 * A CONNECT to encode; fields are written when the flags announce them.
 * For level 5 the property blocks are written as given, their length
 * included, or as an empty block when not given.
 */
struct spec {
	struct field proto;
	uint8_t level;
	uint8_t flags;
	uint16_t keepalive;
	struct field props;
	struct field client_id;
	struct field will_props;
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

/* A 5.0 property block as @s gives it, length included. */
static size_t put_props(uint8_t *p, struct field props)
{
	if (!props.len) {
		*p = 0;
		return 1;
	}
	memcpy(p, props.s, props.len);
	return props.len;
}

/* The body (variable header and payload) of @s into @body. */
static size_t build_body(const struct spec *s, uint8_t *body)
{
	bool v5 = s->level == MQTT_PROTO_V5;
	size_t n = 0;

	n += put_field(body + n, s->proto);
	body[n++] = s->level;
	body[n++] = s->flags;
	body[n++] = (uint8_t)(s->keepalive >> 8);
	body[n++] = (uint8_t)s->keepalive;
	if (v5)
		n += put_props(body + n, s->props);
	n += put_field(body + n, s->client_id);
	if (s->flags & MQTT_CONNECT_WILL) {
		if (v5)
			n += put_props(body + n, s->will_props);
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
#define V5		.proto = F("MQTT"), .level = MQTT_PROTO_V5
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

/* A 5.0 CONNECT with the property block @block (its length first). */
#define PROPS(block)		.s = { V5, .flags = CLEAN, .props = F(block), \
				       .client_id = F("c") }

/* A 5.0 CONNECT with a will with the property block @block. */
#define WILL_PROPS(block)	.s = { V5, .flags = CLEAN | WILL, \
				       .client_id = F("c"), \
				       .will_props = F(block), \
				       .will_topic = F("w"), \
				       .will_payload = F("p") }

/* The CONNECT of one of the forms above, outside the table. */
#define SPEC(...)		(((struct parse_case){ __VA_ARGS__ }).s)

#define ACCEPTED		.action = CONNECT_ACCEPT
#define DROPPED(why)		.action = CONNECT_DROP, .reason = (why)
/* Refused, in 3.1.1's CONNACK. */
#define REFUSED(code, why)	.action = CONNECT_REFUSE, \
				.return_code = (code), .reason = (why), \
				.connack = { 0x20, 2, 0, (code) }, .connack_len = 4
/* Refused a 5.0 client with @code, which its CONNACK says as @rc. */
#define REFUSED5(code, rc, why)	.action = CONNECT_REFUSE, \
				.return_code = (code), .reason = (why), \
				.connack = { 0x20, 3, 0, (rc), 0 }, \
				.connack_len = 5

/* One CONNECT and what connect_parse() must make of it. */
struct parse_case {
	const char *what;
	struct spec s;
	struct field body;	/* when set, the raw body instead of @s */
	enum connect_action action;
	uint8_t return_code;	/* CONNACK code of a refusal */
	/* The refusal's CONNACK, from connect_put_refusal() */
	uint8_t connack[CONNECT_REFUSAL_MAX];
	size_t connack_len;
	const char *reason;	/* NULL when accepted */
};

/* Why connect_parse() drops a 5.0 CONNECT for its properties. */
#define MALFORMED	"malformed CONNECT properties"
#define PROTO_RULE	"CONNECT properties break a protocol rule (5.0 2.2.2.2)"
#define WILL_MALFORMED	"malformed will properties"
#define WILL_PROTO_RULE	"will properties break a protocol rule (5.0 2.2.2.2)"
#define AUTH_DATA	"authentication data without method (5.0 3.1.2.11.10)"

/*
 * Every CONNECT property once, user property twice (34 bytes): session
 * expiry 3600, receive maximum 10, maximum packet size 65536, topic alias
 * maximum 5, request response information 1, request problem
 * information 0.
 */
#define EVERY_PROP	"\x22" "\x11\0\0\x0e\x10" "\x21\0\x0a" "\x27\0\x01\0\0" \
			"\x22\0\x05" "\x19\x01" "\x17\0" \
			"\x26\0\x01" "k" "\0\x01" "v" "\x26\0\x01" "k" "\0\x01" "w"

/*
 * Every will property (37 bytes): will delay 5, payload format 1, message
 * expiry 60, content type "text", response topic "r/t", correlation data
 * 00 ff, a user property.
 */
#define WILL_DELAY_5	"\x18\0\0\0\x05"
#define WILL_PUBLISH	"\x01\x01" "\x02\0\0\0\x3c" "\x03\0\x04" "text" \
			"\x08\0\x03" "r/t" "\x09\0\x02\0\xff" \
			"\x26\0\x01" "k" "\0\x01" "v"
#define EVERY_WILL_PROP	"\x25" WILL_DELAY_5 WILL_PUBLISH

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

	/*
	 * MQTT-3.1.2-2: CONNACK 1 for a level we do not speak, in 3.1.1's
	 * form whatever the level, as Mosquitto 2.0.11 answers.
	 */
	{ "MQTT, level 6", NAMED("MQTT", 6),
	  REFUSED(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, BAD_LEVEL) },
	{ "MQIsdp, level 5", NAMED("MQIsdp", MQTT_PROTO_V5),
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
	/* Refused before what may be properties is parsed. */
	{ "MQTT level 6 CONNECT with properties",
	  .body = F("\0\4" "MQTT" "\6\2\0\x3c"
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

	/* MQTT 5.0, accepted. */
	{ "5.0, the least",
	  .s = { V5, .flags = CLEAN, .keepalive = 60, .client_id = F("c5") },
	  ACCEPTED },
	{ "5.0, every CONNECT property", PROPS(EVERY_PROP), ACCEPTED },
	{ "5.0, empty client id without clean start (5.0 MQTT-3.1.3-6)",
	  .s = { V5, .client_id = F("") }, ACCEPTED },
	{ "5.0, empty client id with clean start",
	  .s = { V5, .flags = CLEAN, .client_id = F("") }, ACCEPTED },
	{ "5.0, password without user name (5.0 3.1.2.9)",
	  .s = { V5, .flags = CLEAN | PASS, .client_id = F("c"),
		 .password = F("p") },
	  ACCEPTED },
	{ "5.0, will without properties", WILL_PROPS(""), ACCEPTED },
	{ "5.0, will with every will property", WILL_PROPS(EVERY_WILL_PROP),
	  ACCEPTED },
	{ "5.0, will QoS 2 retained, user name and password",
	  .s = { V5, .flags = CLEAN | WILL | WILL_QOS(2) |
			      MQTT_CONNECT_WILL_RETAIN | USER | PASS,
		 .client_id = F("c"), .will_topic = F("w/t"),
		 .will_payload = F("bye"), .username = F("u"),
		 .password = F("p") },
	  ACCEPTED },
	/* The listener refuses it, after the checks Mosquitto makes first. */
	{ "5.0, authentication method",
	  PROPS("\x07\x15\0\x04" "SCRA"), ACCEPTED },
	{ "5.0, authentication method and data",
	  PROPS("\x0b\x15\0\x04" "SCRA" "\x16\0\x01" "x"), ACCEPTED },
	{ "5.0, client id of KMQTT_CLIENT_ID_MAX bytes",
	  CLIENT_ID(V5, { id_run, KMQTT_CLIENT_ID_MAX }), ACCEPTED },

	/* 5.0 MQTT-3.1.3-8: 0x85 for a client id we do not take. */
	{ "5.0, client id one byte over KMQTT_CLIENT_ID_MAX",
	  CLIENT_ID(V5, { id_run, KMQTT_CLIENT_ID_MAX + 1 }),
	  REFUSED5(MQTT_CONNACK_IDENTIFIER_REJECTED,
		   MQTT_RC_CLIENT_ID_NOT_VALID, "client id too long") },

	/*
	 * Malformed properties (2.2.2) and protocol errors in them: closed
	 * without CONNACK, as Mosquitto 2.0.11 does.
	 */
	{ "5.0, property length past the end", PROPS("\x05\x21\0\x0a"),
	  DROPPED(MALFORMED) },
	{ "5.0, property length of five bytes",
	  PROPS("\xff\xff\xff\xff\x7f"), DROPPED(MALFORMED) },
	{ "5.0, unknown property 0x7f", PROPS("\x02\x7f\0"),
	  DROPPED(MALFORMED) },
	{ "5.0, property cut in its value", PROPS("\x02\x11\0"),
	  DROPPED(MALFORMED) },
	{ "5.0, receive maximum 0 (3.1.2.11.3)", PROPS("\x03\x21\0\0"),
	  DROPPED(MALFORMED) },
	{ "5.0, maximum packet size 0 (3.1.2.11.4)",
	  PROPS("\x05\x27\0\0\0\0"), DROPPED(MALFORMED) },
	{ "5.0, request problem information 2", PROPS("\x02\x17\x02"),
	  DROPPED(MALFORMED) },
	{ "5.0, request response information 2", PROPS("\x02\x19\x02"),
	  DROPPED(MALFORMED) },
	{ "5.0, user property name not UTF-8",
	  PROPS("\x07\x26\0\x01\xff\0\x01" "v"), DROPPED(MALFORMED) },
	{ "5.0, session expiry interval twice",
	  PROPS("\x0a\x11\0\0\0\x01\x11\0\0\0\x02"), DROPPED(PROTO_RULE) },
	{ "5.0, receive maximum twice", PROPS("\x06\x21\0\x0a\x21\0\x0b"),
	  DROPPED(PROTO_RULE) },
	{ "5.0, authentication method twice",
	  PROPS("\x08\x15\0\x01" "a" "\x15\0\x01" "b"), DROPPED(PROTO_RULE) },
	{ "5.0, assigned client identifier, a CONNACK property",
	  PROPS("\x04\x12\0\x01" "a"), DROPPED(PROTO_RULE) },
	{ "5.0, will delay interval among CONNECT properties",
	  PROPS("\x05" WILL_DELAY_5), DROPPED(PROTO_RULE) },
	{ "5.0, payload format indicator among CONNECT properties",
	  PROPS("\x02\x01\x01"), DROPPED(PROTO_RULE) },
	{ "5.0, authentication data without method",
	  PROPS("\x04\x16\0\x01" "x"), DROPPED(AUTH_DATA) },
	{ "5.0, will property length past the end",
	  WILL_PROPS("\x05\x01\x01"), DROPPED(WILL_MALFORMED) },
	{ "5.0, will payload format 2", WILL_PROPS("\x02\x01\x02"),
	  DROPPED(WILL_MALFORMED) },
	{ "5.0, will response topic with a wildcard (5.0 MQTT-3.3.2-14)",
	  WILL_PROPS("\x04\x08\0\x01" "#"), DROPPED(WILL_MALFORMED) },
	{ "5.0, will content type not UTF-8",
	  WILL_PROPS("\x04\x03\0\x01\xff"), DROPPED(WILL_MALFORMED) },
	{ "5.0, will delay interval twice",
	  WILL_PROPS("\x0a" WILL_DELAY_5 WILL_DELAY_5),
	  DROPPED(WILL_PROTO_RULE) },
	{ "5.0, will message expiry interval twice",
	  WILL_PROPS("\x0a\x02\0\0\0\x01\x02\0\0\0\x02"),
	  DROPPED(WILL_PROTO_RULE) },
	{ "5.0, receive maximum among will properties",
	  WILL_PROPS("\x03\x21\0\x0a"), DROPPED(WILL_PROTO_RULE) },
	{ "5.0, topic alias among will properties",
	  WILL_PROPS("\x03\x23\0\x01"), DROPPED(WILL_PROTO_RULE) },
	{ "5.0, subscription identifier among will properties",
	  WILL_PROPS("\x02\x0b\x01"), DROPPED(WILL_PROTO_RULE) },

	/* The rest of the layout as 3.1.1 has it. */
	{ "5.0, reserved flag", FLAGS(V5, CLEAN | MQTT_CONNECT_RESERVED),
	  DROPPED(RESERVED) },
	{ "5.0, will retain without will",
	  FLAGS(V5, CLEAN | MQTT_CONNECT_WILL_RETAIN), DROPPED(NO_WILL) },
	{ "5.0, will QoS 3",
	  .s = { V5, .flags = CLEAN | WILL | WILL_QOS(3),
		 .client_id = F("c"), .will_topic = F("t"),
		 .will_payload = F("p") },
	  DROPPED(WILL_QOS3) },
	{ "5.0, will topic with a wildcard",
	  .s = { V5, .flags = CLEAN | WILL, .client_id = F("c"),
		 .will_topic = F("a/#"), .will_payload = F("p") },
	  DROPPED(WILL_TOPIC) },
	{ "5.0, a byte after the payload",
	  .s = { V5, .flags = CLEAN, .client_id = F("c"),
		 .extra = F("x") },
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

/* The refusal's CONNACK, in the form and with the code of the table. */
static void expect_connack(struct __test_metadata *_metadata,
			   const struct parse_case *t,
			   const struct connect_packet *c,
			   const struct connect_result *r)
{
	uint8_t connack[CONNECT_REFUSAL_MAX];
	size_t n = connect_put_refusal(connack, c->proto_level, r->return_code);

	EXPECT_EQ(t->connack_len, n) TH_LOG("%s", t->what);
	EXPECT_EQ(0, memcmp(t->connack, connack, n)) TH_LOG("%s", t->what);
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
		if (t->action == CONNECT_REFUSE && r.action == CONNECT_REFUSE)
			expect_connack(_metadata, t, &c, &r);
		/* The level refused is the level sent, after the name. */
		if (t->return_code == MQTT_CONNACK_UNACCEPTABLE_PROTOCOL)
			EXPECT_EQ(body[2 + (body[0] << 8 | body[1])],
				  c.proto_level) TH_LOG("%s", t->what);
	}
}

/*
 * Mosquitto's bridges (try_private) set 0x80 in a 3.1.x level: accepted
 * as that level, marked a bridge.  5.0 has no such level: refused (CONNACK
 * 1, 3.1.1's form) as other unknown levels are.
 */
TEST(bridge_level)
{
	static const struct {
		const char *what;
		struct spec s;
		enum connect_action action;
		uint8_t level;
		bool bridge;
	} cases[] = {
		{ "MQTT 0x84", NAMED("MQTT", 0x84), CONNECT_ACCEPT,
		  MQTT_PROTO_V311, true },
		{ "MQIsdp 0x83", NAMED("MQIsdp", 0x83), CONNECT_ACCEPT,
		  MQTT_PROTO_V31, true },
		{ "MQTT 4", NAMED("MQTT", 4), CONNECT_ACCEPT,
		  MQTT_PROTO_V311, false },
		{ "MQTT 0x85", NAMED("MQTT", 0x85), CONNECT_REFUSE, 0x85, false },
		{ "MQTT 0x83", NAMED("MQTT", 0x83), CONNECT_REFUSE,
		  MQTT_PROTO_V31, true },
		{ "MQIsdp 0x84", NAMED("MQIsdp", 0x84), CONNECT_REFUSE,
		  MQTT_PROTO_V311, true },
		{ "MQTT 0x80", NAMED("MQTT", 0x80), CONNECT_REFUSE, 0x80, false },
	};
	static const uint8_t connack1[] = { 0x20, 2, 0, 1 };
	uint8_t connack[CONNECT_REFUSAL_MAX];
	struct connect_packet c;
	struct connect_result r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		r = parse(&cases[i].s, &c);
		EXPECT_EQ(cases[i].action, r.action) TH_LOG("%s", cases[i].what);
		EXPECT_EQ(cases[i].level, c.proto_level)
			TH_LOG("%s", cases[i].what);
		EXPECT_EQ(cases[i].bridge, c.bridge) TH_LOG("%s", cases[i].what);
		if (r.action != CONNECT_REFUSE)
			continue;
		EXPECT_EQ(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, r.return_code);
		EXPECT_STREQ(BAD_LEVEL, r.reason);
		ASSERT_EQ(sizeof(connack1),
			  connect_put_refusal(connack, c.proto_level,
					      r.return_code));
		EXPECT_EQ(0, memcmp(connack1, connack, sizeof(connack1)))
			TH_LOG("%s", cases[i].what);
	}
}

/* 5.0 3.1.2.11: each CONNECT property lands in its field. */
TEST(v5_connect_properties_parsed)
{
	struct spec s = SPEC(PROPS(EVERY_PROP));
	struct connect_packet c;

	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	EXPECT_EQ(MQTT_PROTO_V5, c.proto_level);
	EXPECT_EQ(3600, c.session_expiry);
	EXPECT_EQ(10, c.receive_max);
	EXPECT_EQ(65536, c.max_packet_size);
	EXPECT_EQ(5, c.topic_alias_max);
	EXPECT_TRUE(c.request_response_info);
	EXPECT_FALSE(c.request_problem_info);
	EXPECT_FALSE(c.has_auth_method);

	s = SPEC(PROPS("\x0c\x15\0\x04" "SCRA" "\x16\0\x02" "d1"));
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	EXPECT_TRUE(c.has_auth_method);
	EXPECT_TRUE(bytes_are(c.auth_method, F("SCRA")));
	EXPECT_TRUE(bytes_are(c.auth_data, F("d1")));
}

/* Absent properties have 5.0's defaults, for a 3.1.1 client too. */
TEST(v5_defaults_without_properties)
{
	struct spec specs[] = {
		SPEC(PROPS("")),
		{ .proto = F("MQTT"), .level = MQTT_PROTO_V311, .flags = CLEAN,
		  .client_id = F("c") },
	};
	struct connect_packet c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(specs); i++) {
		ASSERT_EQ(CONNECT_ACCEPT, parse(&specs[i], &c).action);
		EXPECT_EQ(0, c.session_expiry);
		EXPECT_EQ(65535, c.receive_max);	/* 3.1.2.11.3 */
		EXPECT_EQ(0, c.max_packet_size);
		EXPECT_EQ(0, c.topic_alias_max);
		EXPECT_TRUE(c.request_problem_info);	/* 3.1.2.11.7 */
		EXPECT_FALSE(c.request_response_info);
		EXPECT_FALSE(c.has_auth_method);
		EXPECT_EQ(0, c.will_props.len);
		EXPECT_EQ(0, c.will_delay);
	}
}

/*
 * The will's properties as sent, and as its PUBLISH carries them: without
 * the Will Delay Interval, which kmqtt.ko refuses there, the message
 * expiry interval moved last (their order means nothing, 2.2.2.2).
 */
TEST(v5_will_properties)
{
	static const char publish[] = WILL_PUBLISH;
	struct spec s = SPEC(WILL_PROPS(EVERY_WILL_PROP));
	uint8_t out[sizeof(EVERY_WILL_PROP)];
	struct kmqtt_props props;
	struct connect_packet c;
	size_t n;

	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_EQ(sizeof(EVERY_WILL_PROP) - 2, c.will_props.len);
	EXPECT_EQ(0, memcmp(EVERY_WILL_PROP + 1, c.will_props.data,
			    c.will_props.len));
	EXPECT_EQ(5, c.will_delay);
	n = connect_will_publish_props(&c, out);
	ASSERT_EQ(sizeof(publish) - 1, n);
	/* payload format first, message expiry last, the rest between */
	EXPECT_EQ(0, memcmp(publish, out, 2));
	EXPECT_EQ(0, memcmp(publish + 7, out + 2, n - 7));
	EXPECT_EQ(0, memcmp(publish + 2, out + n - 5, 5));
	ASSERT_EQ(0, kmqtt_props_parse_block(out, n, KMQTT_PROPS_WILL, &props));
	EXPECT_FALSE(kmqtt_props_has(&props, MQTT_PROP_WILL_DELAY));
	EXPECT_EQ(60, props.message_expiry);

	/* no delay: the same bytes */
	s = SPEC(WILL_PROPS("\x03\x03\0\0"));
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	ASSERT_EQ(3, connect_will_publish_props(&c, out));
	EXPECT_EQ(0, memcmp("\x03\0\0", out, 3));
	s = SPEC(WILL_PROPS(""));
	ASSERT_EQ(CONNECT_ACCEPT, parse(&s, &c).action);
	EXPECT_EQ(0, connect_will_publish_props(&c, out));
}

/*
 * One mapping for every refusal: 3.1.1's return codes in 5.0's words
 * (5.0 3.2.2.2), 5.0's own codes as Mosquitto says them to a 3.1.x
 * client, and 3.1.1's form for a level we do not speak.
 */
TEST(refusal_connack_bytes)
{
	static const struct {
		uint8_t level, code;
		uint8_t connack[CONNECT_REFUSAL_MAX];
		size_t len;
	} cases[] = {
		{ 4, 1, { 0x20, 2, 0, 1 }, 4 },
		{ 3, 2, { 0x20, 2, 0, 2 }, 4 },
		{ 4, 5, { 0x20, 2, 0, 5 }, 4 },
		{ 6, 1, { 0x20, 2, 0, 1 }, 4 },
		{ 5, 1, { 0x20, 2, 0, 1 }, 4 },
		{ 5, 2, { 0x20, 3, 0, 0x85, 0 }, 5 },
		{ 5, 3, { 0x20, 3, 0, 0x88, 0 }, 5 },
		{ 5, 4, { 0x20, 3, 0, 0x86, 0 }, 5 },
		{ 5, 5, { 0x20, 3, 0, 0x87, 0 }, 5 },
		{ 5, MQTT_RC_BAD_AUTH_METHOD, { 0x20, 3, 0, 0x8c, 0 }, 5 },
		{ 5, MQTT_RC_RETAIN_NOT_SUPPORTED, { 0x20, 3, 0, 0x9a, 0 }, 5 },
		/* max_connections: 3.1.1's server unavailable */
		{ 5, MQTT_RC_QUOTA_EXCEEDED, { 0x20, 3, 0, 0x97, 0 }, 5 },
		{ 4, MQTT_RC_QUOTA_EXCEEDED, { 0x20, 2, 0, 3 }, 4 },
		/* a will over message_size_limit: 3.1.1's not authorised */
		{ 5, MQTT_RC_PACKET_TOO_LARGE, { 0x20, 3, 0, 0x95, 0 }, 5 },
		{ 4, MQTT_RC_PACKET_TOO_LARGE, { 0x20, 2, 0, 5 }, 4 },
	};
	uint8_t connack[CONNECT_REFUSAL_MAX];
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		n = connect_put_refusal(connack, cases[i].level, cases[i].code);
		EXPECT_EQ(cases[i].len, n) TH_LOG("case %zu", i);
		EXPECT_EQ(0, memcmp(cases[i].connack, connack, n))
			TH_LOG("case %zu", i);
		EXPECT_EQ(cases[i].connack[3],
			  connect_refusal_code(cases[i].level, cases[i].code))
			TH_LOG("case %zu", i);
	}
}

/* The session expiry interval granted: the client's, at most the cap. */
TEST(session_expiry_capped)
{
	struct connect_limits l = { .session_expiry_max = 3600 };
	struct connect_packet c = { .session_expiry = MQTT_SESSION_EXPIRY_NEVER };

	EXPECT_EQ(3600, connect_session_expiry(&c, &l));
	c.session_expiry = 3601;
	EXPECT_EQ(3600, connect_session_expiry(&c, &l));
	c.session_expiry = 10;
	EXPECT_EQ(10, connect_session_expiry(&c, &l));
	c.session_expiry = 0;
	EXPECT_EQ(0, connect_session_expiry(&c, &l));
	l.session_expiry_max = 0;		/* no cap */
	c.session_expiry = MQTT_SESSION_EXPIRY_NEVER;
	EXPECT_EQ(MQTT_SESSION_EXPIRY_NEVER, connect_session_expiry(&c, &l));
}

/* Properties the parser takes as a CONNACK's. */
static bool connack_props_valid(const uint8_t *props, size_t len)
{
	struct kmqtt_props p;

	return !kmqtt_props_parse_block(props, len, KMQTT_PROPS_CONNACK, &p);
}

/* 5.0 3.2.2.3: what kmqttd tells a 5.0 client in CONNACK. */
TEST(connack_props)
{
	static const uint8_t most[] = {
		0x12, 0, 3, 'a', '-', '1',	/* assigned client id */
		0x11, 0, 0, 0x0e, 0x10,		/* session expiry, capped */
		0x13, 0, 30,			/* server keep alive */
		0x21, 0, 20,			/* receive maximum */
		0x27, 0, 0x10, 0, 0,		/* maximum packet size */
		0x25, 0,			/* retain not available */
		0x22, 0, 10,			/* topic alias maximum */
	};
	struct connect_limits l = { .retain_available = true };
	struct connect_packet c = { .client_id = "c", .client_id_len = 1,
				    .session_expiry = 60 };
	uint8_t props[CONNECT_CONNACK_PROPS_MAX];
	size_t n;

	/* the least: nothing to say, everything is available */
	n = connect_put_connack_props(props, &c, &l);
	ASSERT_EQ(0, n);

	c = (struct connect_packet){ .proto_level = MQTT_PROTO_V5,
				     .client_id = "a-1", .client_id_len = 3,
				     .assigned_id = true,
				     .session_expiry = 86400,
				     .keepalive = 60 };
	l = (struct connect_limits){ .session_expiry_max = 3600,
				     .receive_max = 20,
				     .max_packet_size = 1048576,
				     .topic_alias_max = 10,
				     .max_keepalive = 30 };
	n = connect_put_connack_props(props, &c, &l);
	ASSERT_EQ(sizeof(most), n);
	EXPECT_EQ(0, memcmp(most, props, n));
	EXPECT_TRUE(connack_props_valid(props, n));

	/* the longest: every property, an assigned id of the longest */
	memset(c.client_id, 'a', KMQTT_CLIENT_ID_MAX);
	c.client_id_len = KMQTT_CLIENT_ID_MAX;
	n = connect_put_connack_props(props, &c, &l);
	EXPECT_EQ(CONNECT_CONNACK_PROPS_MAX, n);
	EXPECT_TRUE(connack_props_valid(props, n));
}

/*
 * max_keepalive: the keepalive granted, and the 3.1.x clients refused,
 * as Mosquitto 2.0.12 on, but for 0 under the default (see
 * connect_keepalive_refusal()).
 */
TEST(keepalive_granted)
{
	static const struct {
		uint8_t level;
		uint16_t keepalive, max;
		bool max_set;
		uint16_t granted;
		bool refused;
	} cases[] = {
		/* 5.0: told the server's, never refused */
		{ 5, 60, 30, true, 30, false },
		{ 5, 30, 30, true, 30, false },
		{ 5, 10, 30, true, 10, false },
		{ 5, 0, 30, true, 30, false },
		{ 5, 0, 65535, false, 65535, false },
		{ 5, 65535, 65535, false, 65535, false },
		{ 5, 0, 0, true, 0, false },
		{ 5, 65535, 0, true, 65535, false },
		/*
		 * 3.1.1 and 3.1: their own, refused over it, and with 0 when
		 * it is set
		 */
		{ 4, 60, 30, true, 60, true },
		{ 3, 60, 30, true, 60, true },
		{ 4, 30, 30, true, 30, false },
		{ 4, 0, 30, true, 0, true },
		{ 3, 0, 65535, true, 0, true },
		{ 4, 0, 65535, false, 0, false },
		{ 3, 0, 65535, false, 0, false },
		{ 4, 65535, 65535, false, 65535, false },
		{ 4, 0, 0, true, 0, false },
		{ 4, 65535, 0, true, 65535, false },
	};
	struct connect_limits l = { 0 };
	struct connect_packet c = { 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		c.proto_level = cases[i].level;
		c.keepalive = cases[i].keepalive;
		l.max_keepalive = cases[i].max;
		l.max_keepalive_set = cases[i].max_set;
		EXPECT_EQ(cases[i].granted, connect_keepalive(&c, &l))
			TH_LOG("case %zu", i);
		EXPECT_EQ(cases[i].refused,
			  connect_keepalive_refusal(&c, &l) != NULL)
			TH_LOG("case %zu", i);
	}
}

/*
 * 5.0 MQTT-3.1.2-24: the CONNACK within the client's Maximum Packet Size:
 * 2 bytes of fixed header, flags, reason, property length, properties.
 */
TEST(connack_fits_max_packet_size)
{
	struct connect_packet c = { .max_packet_size = 9 };

	EXPECT_TRUE(connect_connack_fits(&c, 4));
	EXPECT_FALSE(connect_connack_fits(&c, 5));
	c.max_packet_size = 0;			/* none */
	EXPECT_TRUE(connect_connack_fits(&c, CONNECT_CONNACK_PROPS_MAX));
	/* two bytes of remaining length, two of property length */
	c.max_packet_size = 3 + 2 + 2 + 128;
	EXPECT_TRUE(connect_connack_fits(&c, 128));
	EXPECT_FALSE(connect_connack_fits(&c, 129));
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

/* The same for 5.0, with both property blocks. */
TEST(truncated_v5_body_dropped)
{
	static uint8_t body[PKT_MAX];
	struct spec s = SPEC(WILL_PROPS(EVERY_WILL_PROP));
	struct connect_packet c;
	size_t n, k;

	s.props = F(EVERY_PROP);
	s.flags |= MQTT_CONNECT_USERNAME | MQTT_CONNECT_PASSWORD;
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

/*
 * A 5.0 client id stands after properties of any length: no early
 * verdict.  Over CONNECT_MAX_REMAINING the packet is dropped, as
 * Mosquitto drops it; within, connect_parse() refuses the id (0x85).
 */
TEST(read_step_v5_long_client_id)
{
	static char id[65535 + 1];
	struct connect_packet c;
	struct connect_result r;
	struct spec s;
	size_t len;

	memset(id, 'i', sizeof(id) - 1);
	s = SPEC(CLIENT_ID(V5, { id, 65535 }));
	len = build(&s);
	ASSERT_LT(CONNECT_MAX_REMAINING + MQTT_MAX_FIXED_HEADER, len);
	read_steps(pkt, len, &r);
	ASSERT_EQ(CONNECT_DROP, r.action);
	ASSERT_STREQ("CONNECT too large", r.reason);

	s = SPEC(CLIENT_ID(V5, { id, KMQTT_CLIENT_ID_MAX + 1 }));
	len = build(&s);
	ASSERT_EQ(len, read_steps(pkt, len, &r));
	ASSERT_EQ(CONNECT_ACCEPT, r.action);
	r = connect_parse(pkt, len, &c);
	ASSERT_EQ(CONNECT_REFUSE, r.action);
	ASSERT_EQ(MQTT_RC_CLIENT_ID_NOT_VALID,
		  connect_refusal_code(c.proto_level, r.return_code));
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
	s.level = 6;
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

/*
 * A bridge's CONNECT too large for its long client id is refused from
 * the id's length too (CONNACK 2), not dropped.
 */
TEST(bridge_level_long_client_id_refused_early)
{
	static char id[65535 + 1];
	struct connect_result r;
	struct spec s;
	size_t len, read;

	memset(id, 'i', sizeof(id) - 1);
	s = v311(id);
	s.level = MQTT_PROTO_V311 | CONNECT_LEVEL_BRIDGE;
	len = build(&s);
	read = read_steps(pkt, len, &r);
	EXPECT_EQ(CONNECT_REFUSE, r.action);
	EXPECT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, r.return_code);
	EXPECT_LT(read, len);
}

TEST_HARNESS_MAIN
