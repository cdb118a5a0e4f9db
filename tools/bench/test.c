// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kmqtt-bench's pure parts (TAP): the MQTT codec against
 * bytes written out by hand from the 3.1.1 and 5.0 specs, malformed and
 * truncated 5.0 packets and random bytes (under ASan: every parser stays
 * in bounds), topic matching, the histogram's percentiles, sequence
 * tracking, the scenario plans against a brute-force matcher, and the
 * WebSocket handshake and frames (RFC 6455's examples, every split),
 * and --tls's option parsing and host check.
 * `make -C tools/bench test`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tls.h"
#include "ws.h"

static int tests, failures;

static void ok(bool cond, const char *what)
{
	tests++;
	if (!cond)
		failures++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, what);
}

static bool bytes_are(const uint8_t *got, size_t got_len,
		      const uint8_t *want, size_t want_len)
{
	return got_len == want_len && !memcmp(got, want, want_len);
}

/* subscriber.c retires messages from publishers' windows; not here. */
void publisher_retire(struct bench *b, uint32_t pub, uint32_t seq,
		      struct worker *by)
{
	(void)b;
	(void)pub;
	(void)seq;
	(void)by;
}

/* tls.c's BIO reads and writes sockets through client.c; not here. */
ssize_t client_sock_io(struct client *c, void *data, size_t len,
		       bool writing)
{
	(void)c;
	(void)data;
	(void)len;
	(void)writing;
	return -1;
}

static void test_encoders(void)
{
	static const uint8_t connect[] = {
		0x10, 0x0e, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02,
		0x00, 0x3c, 0x00, 0x02, 'k', 'b',
	};
	static const uint8_t subscribe[] = {
		0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', '/', 'b', 0x01,
	};
	static const uint8_t publish[] = {
		0x32, 0x08, 0x00, 0x01, 't', 0x00, 0x05,
	};
	static const uint8_t puback[] = { 0x40, 0x02, 0x00, 0x05 };
	static const uint8_t pubrel[] = { 0x62, 0x02, 0x12, 0x34 };
	static const uint8_t pubcomp[] = { 0x70, 0x02, 0x12, 0x34 };
	static const uint8_t pingreq[] = { 0xc0, 0x00 };
	static const uint8_t disconnect[] = { 0xe0, 0x00 };
	static const uint8_t connack[] = { 0x20, 0x02, 0x00, 0x00 };
	static const uint8_t suback[] = { 0x90, 0x03, 0x00, 0x01, 0x01 };
	uint8_t buf[64];
	size_t n;

	n = mqtt_put_connect(buf, sizeof(buf), MQTT_V311, "kb", 60);
	ok(bytes_are(buf, n, connect, sizeof(connect)), "CONNECT bytes");
	ok(!mqtt_put_connect(buf, 10, MQTT_V311, "kb", 60),
	   "CONNECT too large is 0");
	n = mqtt_put_subscribe(buf, sizeof(buf), MQTT_V311, 1, "a/b", 1);
	ok(bytes_are(buf, n, subscribe, sizeof(subscribe)), "SUBSCRIBE bytes");
	n = mqtt_put_publish_header(buf, sizeof(buf), MQTT_V311, "t", 1, 1, 5,
				    3);
	ok(bytes_are(buf, n, publish, sizeof(publish)),
	   "PUBLISH QoS 1 header bytes");
	ok(mqtt_publish_len(MQTT_V311, 1, 1, 3) == 10, "PUBLISH length");
	ok(!mqtt_put_publish_header(buf, 9, MQTT_V311, "t", 1, 1, 5, 3),
	   "PUBLISH that does not fit is 0");
	n = mqtt_put_ack(buf, sizeof(buf), MQTT_PUBACK, 5);
	ok(bytes_are(buf, n, puback, sizeof(puback)), "PUBACK bytes");
	n = mqtt_put_ack(buf, sizeof(buf), MQTT_PUBREL, 0x1234);
	ok(bytes_are(buf, n, pubrel, sizeof(pubrel)),
	   "PUBREL bytes, reserved flags 0010");
	n = mqtt_put_ack(buf, sizeof(buf), MQTT_PUBCOMP, 0x1234);
	ok(bytes_are(buf, n, pubcomp, sizeof(pubcomp)), "PUBCOMP bytes");
	n = mqtt_put_empty(buf, sizeof(buf), MQTT_PINGREQ);
	ok(bytes_are(buf, n, pingreq, sizeof(pingreq)), "PINGREQ bytes");
	n = mqtt_put_empty(buf, sizeof(buf), MQTT_DISCONNECT);
	ok(bytes_are(buf, n, disconnect, sizeof(disconnect)),
	   "DISCONNECT bytes");
	n = mqtt_put_connack(buf, sizeof(buf), MQTT_V311, 0);
	ok(bytes_are(buf, n, connack, sizeof(connack)), "CONNACK bytes");
	n = mqtt_put_suback(buf, sizeof(buf), MQTT_V311, 1, 1);
	ok(bytes_are(buf, n, suback, sizeof(suback)), "SUBACK bytes");
}

/* Remaining length boundaries of 2.2.3: 127/128, 16383/16384. */
static void test_remaining_length(void)
{
	static uint8_t buf[20000];
	struct mqtt_packet pkt;
	size_t hdr;

	hdr = mqtt_put_publish_header(buf, sizeof(buf), MQTT_V311, "t", 1, 0, 0,
				      124);
	ok(hdr == 5 && buf[1] == 127, "remaining length 127: one byte");
	hdr = mqtt_put_publish_header(buf, sizeof(buf), MQTT_V311, "t", 1, 0, 0,
				      125);
	ok(hdr == 6 && buf[1] == 0x80 && buf[2] == 0x01,
	   "remaining length 128: 0x80 0x01");
	hdr = mqtt_put_publish_header(buf, sizeof(buf), MQTT_V311, "t", 1, 0, 0,
				      16380);
	ok(hdr == 6 && buf[1] == 0xff && buf[2] == 0x7f,
	   "remaining length 16383: 0xff 0x7f");
	hdr = mqtt_put_publish_header(buf, sizeof(buf), MQTT_V311, "t", 1, 0, 0,
				      16381);
	ok(hdr == 7 && buf[1] == 0x80 && buf[2] == 0x80 && buf[3] == 0x01,
	   "remaining length 16384: 0x80 0x80 0x01");
	ok(mqtt_frame(buf, 16388, sizeof(buf), &pkt) == 16388 &&
	   pkt.type == MQTT_PUBLISH && pkt.len == 16384,
	   "frame of a 3-byte remaining length");
	ok(mqtt_frame(buf, 16387, sizeof(buf), &pkt) == 0,
	   "one byte short: incomplete");
	ok(mqtt_frame(buf, 16388, 16387, &pkt) == -1, "over max: refused");
}

static void test_frames(void)
{
	static const uint8_t bad_length[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t two[] = {
		0x30, 0x05, 0x00, 0x01, 'x', 'h', 'i',
		0x40, 0x02, 0xab, 0xcd,
	};
	static const uint8_t qos2[] = {
		0x3c, 0x07, 0x00, 0x01, 'y', 0x00, 0x09, 'o', 'k',
	};
	struct mqtt_packet pkt;
	struct mqtt_publish m;
	uint8_t reason = 1;
	uint16_t id = 0;
	ssize_t n;

	ok(mqtt_frame(bad_length, sizeof(bad_length), 1 << 30, &pkt) == -1,
	   "five-byte remaining length: malformed");
	ok(mqtt_frame(two, 1, 64, &pkt) == 0, "one byte: incomplete");
	n = mqtt_frame(two, sizeof(two), 64, &pkt);
	ok(n == 7 && !mqtt_parse_publish(&pkt, MQTT_V311, &m) && m.qos == 0 &&
	   m.topic_len == 1 && m.topic[0] == 'x' && m.payload_len == 2 &&
	   !memcmp(m.payload, "hi", 2), "QoS 0 PUBLISH parsed");
	ok(mqtt_frame(two + n, sizeof(two) - n, 64, &pkt) == 4 &&
	   pkt.type == MQTT_PUBACK && !mqtt_parse_ack(&pkt, MQTT_V311, &id,
						      &reason) &&
	   id == 0xabcd && !reason, "PUBACK after it, id 0xabcd");
	ok(mqtt_frame(qos2, sizeof(qos2), 64, &pkt) == 9 &&
	   !mqtt_parse_publish(&pkt, MQTT_V311, &m) && m.qos == 2 && m.dup &&
	   m.id == 9 && m.payload_len == 2, "QoS 2 DUP PUBLISH parsed");
}

static void test_parsers(void)
{
	uint8_t buf[64], granted, qos;
	struct mqtt_connack ca;
	struct mqtt_packet pkt;
	const uint8_t *s;
	int level = 0;
	size_t len;
	uint16_t id;

	mqtt_frame(buf, mqtt_put_connect(buf, sizeof(buf), MQTT_V311,
					 "kb-1-7", 5), 64, &pkt);
	ok(!mqtt_parse_connect(&pkt, &level, &s, &len) && len == 6 &&
	   level == MQTT_V311 && !memcmp(s, "kb-1-7", 6),
	   "CONNECT client id parsed");
	mqtt_frame(buf, mqtt_put_subscribe(buf, sizeof(buf), MQTT_V311, 3,
					   "a/+", 2), 64, &pkt);
	ok(!mqtt_parse_subscribe(&pkt, MQTT_V311, &id, &s, &len, &qos) &&
	   id == 3 && len == 3 && !memcmp(s, "a/+", 3) && qos == 2,
	   "SUBSCRIBE parsed");
	mqtt_frame(buf, mqtt_put_suback(buf, sizeof(buf), MQTT_V311, 3, 0x80),
		   64, &pkt);
	ok(!mqtt_parse_suback(&pkt, MQTT_V311, &id, &granted) && id == 3 &&
	   granted == 0x80, "SUBACK failure code parsed");
	mqtt_frame(buf, mqtt_put_connack(buf, sizeof(buf), MQTT_V311, 5), 64,
		   &pkt);
	ok(!mqtt_parse_connack(&pkt, MQTT_V311, &ca) && ca.rc == 5 &&
	   ca.receive_max == 65535 && ca.max_qos == 2 && !ca.max_packet &&
	   ca.keepalive == -1, "CONNACK code parsed, no limits");
}

/* Frames a whole packet written out by hand. */
static bool framed(const uint8_t *bytes, size_t n, struct mqtt_packet *pkt)
{
	return mqtt_frame(bytes, n, 1 << 20, pkt) == (ssize_t)n;
}

#define FRAMED(bytes, pkt)	framed(bytes, sizeof(bytes), pkt)

static void test_encoders_v5(void)
{
	static const uint8_t connect[] = {
		0x10, 0x0f, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02,
		0x00, 0x3c, 0x00, 0x00, 0x02, 'k', 'b',
	};
	static const uint8_t subscribe[] = {
		0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, 'a', '/', 'b', 0x01,
	};
	static const uint8_t publish1[] = {
		0x32, 0x09, 0x00, 0x01, 't', 0x00, 0x05, 0x00,
	};
	static const uint8_t publish0[] = { 0x30, 0x07, 0x00, 0x01, 't', 0x00 };
	static const uint8_t connack[] = { 0x20, 0x03, 0x00, 0x85, 0x00 };
	static const uint8_t suback[] = { 0x90, 0x04, 0x00, 0x01, 0x00, 0x01 };
	uint8_t buf[64];
	size_t n;

	n = mqtt_put_connect(buf, sizeof(buf), MQTT_V5, "kb", 60);
	ok(bytes_are(buf, n, connect, sizeof(connect)),
	   "5.0 CONNECT bytes: level 5, empty properties");
	ok(!mqtt_put_connect(buf, 16, MQTT_V5, "kb", 60),
	   "5.0 CONNECT one byte too large is 0");
	n = mqtt_put_subscribe(buf, sizeof(buf), MQTT_V5, 1, "a/b", 1);
	ok(bytes_are(buf, n, subscribe, sizeof(subscribe)),
	   "5.0 SUBSCRIBE bytes");
	n = mqtt_put_publish_header(buf, sizeof(buf), MQTT_V5, "t", 1, 1, 5, 3);
	ok(bytes_are(buf, n, publish1, sizeof(publish1)) &&
	   mqtt_publish_len(MQTT_V5, 1, 1, 3) == 11,
	   "5.0 PUBLISH QoS 1 header bytes and length");
	n = mqtt_put_publish_header(buf, sizeof(buf), MQTT_V5, "t", 1, 0, 0, 3);
	ok(bytes_are(buf, n, publish0, sizeof(publish0)),
	   "5.0 PUBLISH QoS 0 header bytes");
	ok(!mqtt_put_publish_header(buf, 10, MQTT_V5, "t", 1, 1, 5, 3),
	   "5.0 PUBLISH that does not fit is 0");
	n = mqtt_put_connack(buf, sizeof(buf), MQTT_V5, 0x85);
	ok(bytes_are(buf, n, connack, sizeof(connack)), "5.0 CONNACK bytes");
	n = mqtt_put_suback(buf, sizeof(buf), MQTT_V5, 1, 1);
	ok(bytes_are(buf, n, suback, sizeof(suback)), "5.0 SUBACK bytes");
}

static void test_connack_v5(void)
{
	static const uint8_t plain[] = { 0x20, 0x03, 0x00, 0x00, 0x00 };
	static const uint8_t limits[] = {
		0x20, 0x1d, 0x01, 0x00, 0x1a,
		0x22, 0x00, 0x0a,			/* topic alias max */
		0x21, 0x00, 0x14,			/* receive max 20 */
		0x24, 0x01,				/* max QoS 1 */
		0x27, 0x00, 0x00, 0x03, 0xe8,		/* max packet 1000 */
		0x26, 0x00, 0x01, 'a', 0x00, 0x02, 'b', 'c', /* user */
		0x1f, 0x00, 0x02, 'o', 'k',		/* reason string */
	};
	static const uint8_t keepalive[] = {
		0x20, 0x06, 0x00, 0x00, 0x03, 0x13, 0x00, 0x00,
	};
	static const uint8_t refused[] = { 0x20, 0x03, 0x00, 0x84, 0x00 };
	static const uint8_t v311_refused[] = { 0x20, 0x02, 0x00, 0x01 };
	static const uint8_t v311_accepted[] = { 0x20, 0x02, 0x00, 0x00 };
	static const uint8_t bad[][12] = {
		/* property length past the end */
		{ 0x20, 0x03, 0x00, 0x00, 0x05 },
		/* property length of five bytes */
		{ 0x20, 0x07, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x7f },
		/* unknown property 0x7f */
		{ 0x20, 0x05, 0x00, 0x00, 0x02, 0x7f, 0x00 },
		/* receive maximum cut short */
		{ 0x20, 0x05, 0x00, 0x00, 0x02, 0x21, 0x00 },
		/* receive maximum 0 */
		{ 0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00 },
		/* maximum QoS 2 */
		{ 0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02 },
		/* maximum packet size 0 */
		{ 0x20, 0x08, 0x00, 0x00, 0x05, 0x27, 0x00, 0x00, 0x00, 0x00 },
		/* a byte after the properties */
		{ 0x20, 0x04, 0x00, 0x00, 0x00, 0x00 },
		/* a string running past the block */
		{ 0x20, 0x06, 0x00, 0x00, 0x03, 0x1f, 0x00, 0x09 },
		/* a user property's second string cut short */
		{ 0x20, 0x09, 0x00, 0x00, 0x06, 0x26, 0x00, 0x01, 'a', 0x00,
		  0x01 },
	};
	struct mqtt_connack ca;
	struct mqtt_packet pkt;
	unsigned int i;
	bool all = true;

	ok(FRAMED(plain, &pkt) && !mqtt_parse_connack(&pkt, MQTT_V5, &ca) &&
	   !ca.rc && !ca.session_present && ca.receive_max == 65535 &&
	   ca.max_qos == 2 && !ca.max_packet && ca.keepalive == -1,
	   "5.0 CONNACK, no properties: defaults");
	ok(FRAMED(keepalive, &pkt) && !mqtt_parse_connack(&pkt, MQTT_V5, &ca) &&
	   ca.keepalive == 0, "5.0 CONNACK: server keep alive 0 read");
	ok(FRAMED(limits, &pkt) && !mqtt_parse_connack(&pkt, MQTT_V5, &ca) &&
	   !ca.rc && ca.session_present && ca.receive_max == 20 &&
	   ca.max_qos == 1 && ca.max_packet == 1000,
	   "5.0 CONNACK: receive maximum, maximum QoS and packet size read, "
	   "other properties skipped");
	ok(FRAMED(limits, &pkt) && mqtt_parse_connack(&pkt, MQTT_V311, &ca),
	   "the same CONNACK to a 3.1.1 client: malformed");
	ok(FRAMED(refused, &pkt) && !mqtt_parse_connack(&pkt, MQTT_V5, &ca) &&
	   ca.rc == 0x84, "5.0 CONNACK 0x84 read");
	ok(FRAMED(v311_refused, &pkt) &&
	   !mqtt_parse_connack(&pkt, MQTT_V5, &ca) && ca.rc == 1,
	   "3.1.1 refusal to a 5.0 CONNECT read as a refusal");
	ok(FRAMED(v311_accepted, &pkt) &&
	   mqtt_parse_connack(&pkt, MQTT_V5, &ca),
	   "3.1.1 acceptance to a 5.0 CONNECT: malformed");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 2 + bad[i][1];

		if (!framed(bad[i], n, &pkt) ||
		    !mqtt_parse_connack(&pkt, MQTT_V5, &ca)) {
			printf("# malformed CONNACK %u accepted\n", i);
			all = false;
		}
	}
	ok(all, "malformed 5.0 CONNACKs refused");
}

static void test_suback_v5(void)
{
	static const uint8_t plain[] = { 0x90, 0x04, 0x00, 0x07, 0x00, 0x01 };
	static const uint8_t why[] = {
		0x90, 0x08, 0x00, 0x07, 0x04, 0x1f, 0x00, 0x01, 'x', 0x80,
	};
	static const uint8_t past[] = { 0x90, 0x04, 0x00, 0x07, 0x05, 0x01 };
	static const uint8_t two[] = {
		0x90, 0x05, 0x00, 0x07, 0x00, 0x01, 0x01,
	};
	static const uint8_t none[] = { 0x90, 0x03, 0x00, 0x07, 0x00 };
	struct mqtt_packet pkt;
	uint8_t granted = 9;
	uint16_t id = 0;

	ok(FRAMED(plain, &pkt) &&
	   !mqtt_parse_suback(&pkt, MQTT_V5, &id, &granted) && id == 7 &&
	   granted == 1, "5.0 SUBACK: QoS 1 granted");
	ok(FRAMED(why, &pkt) &&
	   !mqtt_parse_suback(&pkt, MQTT_V5, &id, &granted) &&
	   granted == 0x80, "5.0 SUBACK with a reason string: 0x80");
	ok(FRAMED(plain, &pkt) &&
	   mqtt_parse_suback(&pkt, MQTT_V311, &id, &granted),
	   "5.0 SUBACK to a 3.1.1 client: malformed");
	ok(FRAMED(past, &pkt) && mqtt_parse_suback(&pkt, MQTT_V5, &id,
						   &granted) &&
	   FRAMED(two, &pkt) && mqtt_parse_suback(&pkt, MQTT_V5, &id,
						  &granted) &&
	   FRAMED(none, &pkt) && mqtt_parse_suback(&pkt, MQTT_V5, &id,
						   &granted),
	   "5.0 SUBACK: properties past the end, two codes, none: malformed");
}

static void test_publish_v5(void)
{
	static const uint8_t expiry[] = {
		0x30, 0x0b, 0x00, 0x01, 'x', 0x05, 0x02, 0x00, 0x00, 0x00,
		0x1e, 'h', 'i',
	};
	static const uint8_t user[] = {
		0x32, 0x11, 0x00, 0x01, 'x', 0x00, 0x2a, 0x09, 0x26, 0x00,
		0x01, 'k', 0x00, 0x01, 'v', 0x0b, 0x01, 'o', 'k',
	};
	static const uint8_t empty[] = {
		0x30, 0x06, 0x00, 0x01, 'x', 0x00, 'h', 'i',
	};
	static const uint8_t past[] = {
		0x30, 0x06, 0x00, 0x01, 'x', 0x03, 'h', 'i',
	};
	static const uint8_t no_props[] = { 0x30, 0x03, 0x00, 0x01, 'x' };
	struct mqtt_publish m;
	struct mqtt_packet pkt;

	ok(FRAMED(expiry, &pkt) && !mqtt_parse_publish(&pkt, MQTT_V5, &m) &&
	   m.qos == 0 && m.props_len == 5 && m.props[0] == 0x02 &&
	   m.payload_len == 2 && !memcmp(m.payload, "hi", 2),
	   "5.0 PUBLISH: message expiry skipped, payload after it");
	ok(FRAMED(user, &pkt) && !mqtt_parse_publish(&pkt, MQTT_V5, &m) &&
	   m.qos == 1 && m.id == 42 && m.props_len == 9 &&
	   m.payload_len == 2 && !memcmp(m.payload, "ok", 2),
	   "5.0 PUBLISH QoS 1: user property, subscription id skipped");
	ok(FRAMED(empty, &pkt) && !mqtt_parse_publish(&pkt, MQTT_V5, &m) &&
	   !m.props_len && m.payload_len == 2,
	   "5.0 PUBLISH, empty properties");
	ok(FRAMED(empty, &pkt) && !mqtt_parse_publish(&pkt, MQTT_V311, &m) &&
	   m.payload_len == 3, "the same to a 3.1.1 client: a 3-byte payload");
	ok(FRAMED(past, &pkt) && mqtt_parse_publish(&pkt, MQTT_V5, &m),
	   "5.0 PUBLISH, properties past the end: malformed");
	ok(FRAMED(no_props, &pkt) && mqtt_parse_publish(&pkt, MQTT_V5, &m) &&
	   !mqtt_parse_publish(&pkt, MQTT_V311, &m) && !m.payload_len,
	   "no property length: malformed in 5.0, empty payload in 3.1.1");
}

static void test_acks_v5(void)
{
	static const struct {
		uint8_t bytes[12];
		int ret;
		uint8_t reason;
		const char *what;
	} cases[] = {
		{ { 0x40, 0x02, 0x00, 0x05 }, 0, 0, "2 bytes: success" },
		{ { 0x40, 0x03, 0x00, 0x05, 0x10 }, 0, 0x10,
		  "3 bytes: no matching subscribers" },
		{ { 0x50, 0x04, 0x00, 0x05, 0x87, 0x00 }, 0, 0x87,
		  "4 bytes: PUBREC not authorized, empty properties" },
		{ { 0x70, 0x08, 0x00, 0x05, 0x92, 0x04, 0x1f, 0x00, 0x01, 'z' },
		  0, 0x92, "PUBCOMP 0x92 with a reason string" },
		{ { 0x40, 0x01, 0x00 }, -1, 0, "1 byte: malformed" },
		{ { 0x40, 0x04, 0x00, 0x05, 0x00, 0x05 }, -1, 0,
		  "properties past the end: malformed" },
		{ { 0x40, 0x05, 0x00, 0x05, 0x00, 0x00, 0xff }, -1, 0,
		  "a byte after the properties: malformed" },
	};
	static const uint8_t three[] = { 0x40, 0x03, 0x00, 0x05, 0x10 };
	struct mqtt_packet pkt;
	unsigned int i;
	uint8_t reason;
	uint16_t id;
	bool all = true;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = -2;

		reason = 0xff;
		id = 0;
		if (framed(cases[i].bytes, 2 + cases[i].bytes[1], &pkt))
			ret = mqtt_parse_ack(&pkt, MQTT_V5, &id, &reason);
		if (ret != cases[i].ret ||
		    (!ret && (id != 5 || reason != cases[i].reason))) {
			printf("# ack %s: %d, id %u, reason 0x%02x\n",
			       cases[i].what, ret, id, reason);
			all = false;
		}
	}
	ok(all, "5.0 PUBACK/PUBREC/PUBCOMP of 2, 3 and 4+ bytes");
	ok(FRAMED(three, &pkt) && mqtt_parse_ack(&pkt, MQTT_V311, &id, &reason),
	   "a 3-byte ack to a 3.1.1 client: malformed");
}

static void test_disconnect_v5(void)
{
	static const uint8_t none[] = { 0xe0, 0x00 };
	static const uint8_t code[] = { 0xe0, 0x01, 0x8b };
	static const uint8_t text[] = {
		0xe0, 0x0a, 0x97, 0x08, 0x1f, 0x00, 0x05, 'q', 'u', 'o', 't',
		'a',
	};
	static const uint8_t past[] = { 0xe0, 0x03, 0x8b, 0x05, 0x1f };
	static const uint8_t cut[] = {
		0xe0, 0x05, 0x8b, 0x03, 0x1f, 0x00, 0x05,
	};
	struct mqtt_packet pkt;
	const uint8_t *why;
	size_t why_len;
	uint8_t reason;

	ok(FRAMED(none, &pkt) &&
	   !mqtt_parse_disconnect(&pkt, &reason, &why, &why_len) &&
	   !reason && !why, "DISCONNECT of 0 bytes: normal");
	ok(FRAMED(code, &pkt) &&
	   !mqtt_parse_disconnect(&pkt, &reason, &why, &why_len) &&
	   reason == 0x8b && !why &&
	   !strcmp(mqtt_reason_name(reason), "server shutting down"),
	   "DISCONNECT 0x8b, server shutting down");
	ok(FRAMED(text, &pkt) &&
	   !mqtt_parse_disconnect(&pkt, &reason, &why, &why_len) &&
	   reason == 0x97 && why_len == 5 && !memcmp(why, "quota", 5),
	   "DISCONNECT 0x97 with its reason string");
	ok(FRAMED(past, &pkt) &&
	   mqtt_parse_disconnect(&pkt, &reason, &why, &why_len) &&
	   FRAMED(cut, &pkt) &&
	   mqtt_parse_disconnect(&pkt, &reason, &why, &why_len),
	   "DISCONNECT with properties past the end or cut short: malformed");
	ok(!*mqtt_reason_name(0x42), "unknown reason code: no name");
}

static void test_props(void)
{
	static const uint8_t block[] = {
		0x0b, 0x80, 0x01,			/* subscription id */
		0x09, 0x00, 0x02, 0x00, 0xff,		/* correlation data */
		0x26, 0x00, 0x00, 0x00, 0x01, 'v',	/* user property */
		0x02, 0x00, 0x01, 0x00, 0x00,		/* expiry 65536 */
	};
	static const uint8_t long_varint[] = { 0x0b, 0xff, 0xff, 0xff, 0xff };
	const uint8_t *p = block, *end = block + sizeof(block);
	struct mqtt_prop prop[4];
	int more[5], i;

	for (i = 0; i < 5; i++)
		more[i] = mqtt_prop_next(&p, end, &prop[i < 4 ? i : 3]);
	ok(more[0] == 1 && prop[0].id == 0x0b && prop[0].num == 128 &&
	   more[1] == 1 && prop[1].len == 2 && prop[1].data == block + 6 &&
	   more[2] == 1 && prop[2].len == 5 && prop[2].data == block + 9 &&
	   more[3] == 1 && prop[3].num == 65536 && !more[4] && p == end,
	   "a property block walked: variable integer, binary, pair, u32");
	p = long_varint;
	ok(mqtt_prop_next(&p, p + sizeof(long_varint), &prop[0]) == -1,
	   "a five-byte variable integer: malformed");
}

/* The limit mode broker's side: 5.0 CONNECT and SUBSCRIBE. */
static void test_connect_subscribe_v5(void)
{
	static const uint8_t connect[] = {
		0x10, 0x12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02,
		0x00, 0x3c, 0x03, 0x21, 0x00, 0x0a, 0x00, 0x02, 'k', 'b',
	};
	static const uint8_t level3[] = {
		0x10, 0x0e, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x03, 0x02,
		0x00, 0x3c, 0x00, 0x02, 'k', 'b',
	};
	static const uint8_t past[] = {
		0x10, 0x0f, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02,
		0x00, 0x3c, 0x09, 0x00, 0x02, 'k', 'b',
	};
	static const uint8_t subscribe[] = {
		0x82, 0x0b, 0x00, 0x04, 0x02, 0x0b, 0x07, 0x00, 0x03, 'a',
		'/', '#', 0x01,
	};
	uint8_t buf[64], qos;
	struct mqtt_packet pkt;
	const uint8_t *s;
	int level = 0;
	size_t len;
	uint16_t id;

	mqtt_frame(buf, mqtt_put_connect(buf, sizeof(buf), MQTT_V5, "kb-2-9",
					 5), 64, &pkt);
	ok(!mqtt_parse_connect(&pkt, &level, &s, &len) && level == MQTT_V5 &&
	   len == 6 && !memcmp(s, "kb-2-9", 6), "5.0 CONNECT round trip");
	ok(FRAMED(connect, &pkt) && !mqtt_parse_connect(&pkt, &level, &s,
							&len) &&
	   len == 2 && !memcmp(s, "kb", 2),
	   "5.0 CONNECT with a receive maximum: client id after it");
	ok(FRAMED(level3, &pkt) && mqtt_parse_connect(&pkt, &level, &s, &len) &&
	   FRAMED(past, &pkt) && mqtt_parse_connect(&pkt, &level, &s, &len),
	   "CONNECT level 3, properties past the end: refused");
	mqtt_frame(buf, mqtt_put_subscribe(buf, sizeof(buf), MQTT_V5, 3,
					   "a/+", 2), 64, &pkt);
	ok(!mqtt_parse_subscribe(&pkt, MQTT_V5, &id, &s, &len, &qos) &&
	   id == 3 && len == 3 && !memcmp(s, "a/+", 3) && qos == 2,
	   "5.0 SUBSCRIBE round trip");
	ok(FRAMED(subscribe, &pkt) &&
	   !mqtt_parse_subscribe(&pkt, MQTT_V5, &id, &s, &len, &qos) &&
	   id == 4 && len == 3 && !memcmp(s, "a/#", 3) && qos == 1,
	   "5.0 SUBSCRIBE with a subscription identifier");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Every parser on one body, in its own allocation: ASan sees overreads. */
static void parse_all(uint8_t type, uint8_t flags, const uint8_t *body,
		      size_t len)
{
	uint8_t *copy = malloc(len ? len : 1), reason, granted, qos;
	struct mqtt_packet pkt = { type, flags, copy, len };
	const uint8_t *s, *end = copy + len, *p = copy;
	struct mqtt_connack ca;
	struct mqtt_publish m;
	struct mqtt_prop prop;
	size_t n;
	uint16_t id;
	int level, i;

	memcpy(copy, body, len);
	for (level = MQTT_V311; level <= MQTT_V5; level++) {
		pkt.type = MQTT_PUBLISH;
		if (!mqtt_parse_publish(&pkt, level, &m) &&
		    (m.payload + m.payload_len != end ||
		     (m.props && m.props + m.props_len > m.payload)))
			ok(false, "PUBLISH parsed out of bounds");
		pkt.type = type;
		mqtt_parse_ack(&pkt, level, &id, &reason);
		pkt.type = MQTT_CONNACK;
		mqtt_parse_connack(&pkt, level, &ca);
		pkt.type = MQTT_SUBACK;
		mqtt_parse_suback(&pkt, level, &id, &granted);
		pkt.type = MQTT_SUBSCRIBE;
		mqtt_parse_subscribe(&pkt, level, &id, &s, &n, &qos);
	}
	pkt.type = MQTT_CONNECT;
	mqtt_parse_connect(&pkt, &level, &s, &n);
	pkt.type = MQTT_DISCONNECT;
	mqtt_parse_disconnect(&pkt, &reason, &s, &n);
	for (i = 0; i < 64 && mqtt_prop_next(&p, end, &prop) > 0; i++)
		;
	free(copy);
}

/* Every prefix of valid 5.0 packets, then random bodies. */
static void test_malformed_v5(void)
{
	static const uint8_t connack[] = {
		0x01, 0x00, 0x10, 0x21, 0x00, 0x14, 0x26, 0x00, 0x01, 'a',
		0x00, 0x02, 'b', 'c', 0x1f, 0x00, 0x02, 'o', 'k',
	};
	static const uint8_t publish[] = {
		0x00, 0x01, 'x', 0x00, 0x2a, 0x09, 0x26, 0x00, 0x01, 'k',
		0x00, 0x01, 'v', 0x0b, 0x01, 'o', 'k',
	};
	static const uint8_t disconnect[] = {
		0x97, 0x08, 0x1f, 0x00, 0x05, 'q', 'u', 'o', 't', 'a',
	};
	uint8_t body[48];
	size_t len, i;
	int round;

	for (len = 0; len <= sizeof(connack); len++)
		parse_all(MQTT_PUBACK, 0, connack, len);
	for (len = 0; len <= sizeof(publish); len++)
		parse_all(MQTT_PUBREC, 2, publish, len);
	for (len = 0; len <= sizeof(disconnect); len++)
		parse_all(MQTT_PUBCOMP, 0, disconnect, len);
	for (round = 0; round < 200000; round++) {
		len = rng() % sizeof(body);
		for (i = 0; i < len; i++) {
			uint64_t r = rng();

			/* small numbers often: lengths that nearly fit */
			body[i] = r & 0x100 ? r % 8 : r >> 16;
		}
		parse_all(MQTT_PUBACK, round & 0xf, body, len);
	}
	ok(true, "truncated and random 5.0 bodies parsed in bounds");
}

static void test_topics(void)
{
	static const struct {
		const char *filter, *topic;
		bool match;
	} cases[] = {
		{ "a/b", "a/b", true },
		{ "a/b", "a/c", false },
		{ "a/+", "a/b", true },
		{ "a/+", "a/b/c", false },
		{ "a/+", "a/", true },
		{ "a/#", "a", true },
		{ "a/#", "a/b/c", true },
		{ "#", "a/b", true },
		{ "#", "$SYS/x", false },
		{ "+/b", "$SYS/b", false },
		{ "$SYS/#", "$SYS/x", true },
		{ "+/+/c", "a/b/c", true },
		{ "+/+/c", "a/b/d", false },
		{ "a/b/c", "a/b", false },
		{ "a", "a/b", false },
	};
	unsigned int i;
	bool all = true;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = mqtt_topic_matches(cases[i].filter, cases[i].topic);

		if (got != cases[i].match) {
			printf("# %s vs %s: %d\n", cases[i].filter,
			       cases[i].topic, got);
			all = false;
		}
	}
	ok(all, "topic filter matching (4.7)");
}

static void test_hist(void)
{
	static struct hist h, other;
	uint64_t v, p50, p99, p999;
	unsigned int i;
	bool exact = true, monotonic = true;

	hist_init(&h);
	for (v = 0; v < 2 * HIST_SUB; v++)
		exact &= hist_bucket_high(hist_index(v)) == v;
	ok(exact, "values below 64 are exact");
	for (i = 1; i < HIST_BUCKETS; i++)
		monotonic &= hist_bucket_high(i) > hist_bucket_high(i - 1) &&
			     hist_index(hist_bucket_high(i)) == i;
	ok(monotonic, "buckets are contiguous and increasing");
	ok(hist_index(UINT64_MAX) == HIST_BUCKETS - 1,
	   "the largest value fits the last bucket");
	for (v = 1; v <= 100000; v++)
		hist_add(&h, v * 1000);
	p50 = hist_percentile(&h, 50);
	p99 = hist_percentile(&h, 99);
	p999 = hist_percentile(&h, 99.9);
	ok(p50 >= 50000000 && p50 <= 50000000 + 50000000 / 32,
	   "p50 of 1..100000 us within 1/32");
	ok(p99 >= 99000000 && p99 <= 99000000 + 99000000 / 32,
	   "p99 within 1/32");
	ok(p999 >= 99900000 && p999 <= 100000000, "p99.9 within 1/32");
	ok(hist_percentile(&h, 100) == 100000000 && h.max == 100000000,
	   "p100 is the max");
	ok(hist_mean(&h) == 50000500, "mean is exact");
	hist_init(&other);
	hist_add(&other, 7);
	hist_merge(&other, &h);
	ok(other.count == 100001 && other.min == 7 &&
	   hist_percentile(&other, 0.0001) == 7, "merge keeps min and count");
	hist_init(&other);
	ok(hist_percentile(&other, 99) == 0, "empty histogram: 0");
}

static void test_track(void)
{
	struct track t = { 0 };
	bool fresh[8];

	fresh[0] = track_seq(&t, 0);
	fresh[1] = track_seq(&t, 1);
	fresh[2] = track_seq(&t, 4);	/* 2 and 3 missing */
	fresh[3] = track_seq(&t, 3);	/* late */
	fresh[4] = track_seq(&t, 3);	/* duplicate */
	fresh[5] = track_seq(&t, 1);	/* duplicate */
	fresh[6] = track_seq(&t, 200);	/* far ahead */
	fresh[7] = track_seq(&t, 2);	/* too old to tell: duplicate */
	ok(fresh[0] && fresh[1] && fresh[2] && fresh[3] && !fresh[4] &&
	   !fresh[5] && fresh[6] && !fresh[7], "new, late and duplicates");
	ok(t.received == 5 && t.late == 1 && t.dups == 3 && t.next == 201,
	   "counts: 5 received, 1 late, 3 duplicates");
	memset(&t, 0, sizeof(t));
	t.next = UINT32_MAX;
	ok(track_seq(&t, UINT32_MAX) && track_seq(&t, 0) && t.next == 1 &&
	   !track_seq(&t, UINT32_MAX), "sequence numbers wrap");
}

static bool plan_matches_brute_force(const struct plan *plan)
{
	uint32_t s, p, k;

	for (s = 0; s < plan->nsubs; s++) {
		for (p = 0, k = 0; p < plan->npubs; p++) {
			if (!mqtt_topic_matches(plan->sub_filter[s],
						plan->pub_topic[p]))
				continue;
			if (k >= plan->sub_npubs[s] || plan->sub_pubs[s][k] != p)
				return false;
			k++;
		}
		if (k != plan->sub_npubs[s])
			return false;
	}
	return true;
}

/* RFC 6455 1.3's example, a real 101 (Mosquitto 2.0.11), refusals. */
static void test_ws_handshake(void)
{
	static const char mosquitto[] =
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: WebSocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n"
		"\r\n"
		"\x82\x04\x20\x02\x00\x00";
	static const char *const refused[] = {
		"HTTP/1.1 404 Not Found\r\n\r\n",
		"HTTP/1.1 1010 Odd\r\n\r\n",
		"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: mqttv3.1\r\n\r\n",
		"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo+\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n\r\n",
		"HTTP/1.1 101 OK\r\nUpgrade: h2c\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n\r\n",
		"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
		"Connection: Upgraded\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n\r\n",
		"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n"
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
	};
	static const char list[] =
		"HTTP/1.1 101\r\nupgrade:websocket \r\n"
		"connection: keep-alive,  Upgrade\r\n"
		"sec-websocket-protocol:  mqtt\r\n"
		"SEC-WEBSOCKET-ACCEPT: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	static const char request[] =
		"GET /mqtt HTTP/1.1\r\n"
		"Host: [::1]:8080\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n"
		"\r\n";
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==", *why;
	char text[WS_RESPONSE_MAX + 8], accept[WS_ACCEPT_LEN + 1];
	size_t head = sizeof(mosquitto) - 1 - 6, i, n;
	bool all = true;

	ws_key((const uint8_t *)"the sample nonce", text);
	ok(!strcmp(text, key), "WebSocket key: base64 of the nonce");
	ws_accept(key, accept);
	ok(!strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
	   "Sec-WebSocket-Accept of RFC 6455's example key");
	n = ws_put_request(text, sizeof(text), "::1", "8080", "/mqtt", key);
	ok(n == strlen(request) && !strcmp(text, request),
	   "opening GET, IPv6 host in brackets");
	ok(!ws_put_request(text, n, "::1", "8080", "/mqtt", key),
	   "GET that does not fit is 0");
	ok(ws_parse_response((const uint8_t *)mosquitto, sizeof(mosquitto) - 1,
			     key, &why) == (ssize_t)head,
	   "Mosquitto's 101: its length, the frame after it left");
	for (i = 0; i < head; i++)
		all &= !ws_parse_response((const uint8_t *)mosquitto, i, key,
					  &why);
	ok(all, "101 cut anywhere: incomplete");
	ok(ws_parse_response((const uint8_t *)list, strlen(list), key,
			     &why) == (ssize_t)strlen(list),
	   "101 with a Connection list, any case, odd spacing");
	for (i = 0, all = true; i < sizeof(refused) / sizeof(*refused); i++)
		all &= ws_parse_response((const uint8_t *)refused[i],
					 strlen(refused[i]), key, &why) == -1;
	ok(all, "no 101, no or wrong subprotocol, accept, Upgrade, "
	   "Connection, an extension: refused");
	memset(text, 'a', sizeof(text));
	ok(ws_parse_response((const uint8_t *)text, sizeof(text), key,
			     &why) == -1 &&
	   !ws_parse_response((const uint8_t *)text, WS_RESPONSE_MAX - 1, key,
			      &why),
	   "response without an end: waits, then refused at its limit");
}

/*
 * Feeds stream to ws_decode as client.c does: in the pieces that cuts
 * (ascending offsets) make, undecoded bytes kept for the next piece, at
 * most room bytes out per call.  The control opcodes seen go to ctls.
 */
static int ws_feed(const uint8_t *stream, size_t len, const size_t *cuts,
		   size_t ncuts, size_t room, uint8_t *out, size_t *out_len,
		   char *ctls)
{
	uint8_t *in = malloc(len + 1);
	struct ws_rx s = { 0 };
	size_t in_len = 0, from = 0, got, i;
	struct ws_ctl ctl;
	const char *why;
	ssize_t n;
	int err = 0;

	*out_len = 0;
	*ctls = 0;
	for (i = 0; i <= ncuts && !err; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		memcpy(in + in_len, stream + from, to - from);
		in_len += to - from;
		from = to;
		do {
			n = ws_decode(&s, in, in_len, out + *out_len, room,
				      &got, &ctl, &why);
			if (n < 0) {
				err = -1;
				break;
			}
			*out_len += got;
			memmove(in, in + n, in_len - n);
			in_len -= n;
			if (ctl.opcode)
				sprintf(ctls + strlen(ctls), "%x", ctl.opcode);
		} while (n > 0);
	}
	free(in);
	return err ? -1 : in_len ? -2 : 0;
}

/* Server frames around want's bytes: 7- and 16-bit lengths, fragments. */
static size_t ws_server_stream(uint8_t *st, size_t size, const uint8_t *want)
{
	static const uint8_t close[] = { 0x03, 0xe8, 'b', 'y', 'e' };
	size_t n = 0;

	n += ws_put_frame(st + n, size - n, WS_FIN | WS_BINARY, want, 7, NULL);
	n += ws_put_frame(st + n, size - n, WS_FIN | WS_BINARY, want + 7, 0,
			  NULL);
	n += ws_put_frame(st + n, size - n, WS_BINARY, want + 7, 200, NULL);
	n += ws_put_frame(st + n, size - n, WS_FIN | WS_PING,
			  (const uint8_t *)"hi", 2, NULL);
	n += ws_put_frame(st + n, size - n, WS_CONTINUATION, want + 207, 1,
			  NULL);
	n += ws_put_frame(st + n, size - n, WS_FIN | WS_CONTINUATION,
			  want + 208, 92, NULL);
	n += ws_put_frame(st + n, size - n, WS_FIN | WS_PONG, NULL, 0, NULL);
	n += ws_put_frame(st + n, size - n, WS_FIN | WS_CLOSE, close,
			  sizeof(close), NULL);
	return n;
}

static void test_ws_frames(void)
{
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	/* RFC 6455 5.7: "Hello", unmasked and masked */
	static const uint8_t hello[] = { 0x81, 0x05, 'H', 'e', 'l', 'l', 'o' };
	static const uint8_t hello_masked[] = {
		0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51,
		0x58,
	};
	static const size_t sizes[] = { 0, 1, 125, 126, 65535, 65536, 70001 };
	static const size_t headers[] = { 2, 2, 2, 4, 4, 10, 10 };
	static const uint8_t bad[][10] = {
		{ 0xc2, 0x00 },			/* RSV1 */
		{ 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1 }, /* 2^63 + 1 */
		{ 0x89, 0x7e, 0x00, 0x7e },	/* ping of 126 */
		{ 0x09, 0x00 },			/* ping without FIN */
	};
	size_t big = 70001 + WS_HEADER_MAX, i, n;
	uint8_t *frame = malloc(big), *payload = malloc(big), *back = malloc(big);
	struct ws_frame f;
	bool all = true;
	uint64_t state = 1;
	uint8_t m1[4], m2[4];

	for (i = 0; i < big; i++)
		payload[i] = rng();
	n = ws_put_frame(frame, big, WS_FIN | WS_TEXT,
			 (const uint8_t *)"Hello", 5, NULL);
	ok(bytes_are(frame, n, hello, sizeof(hello)), "RFC 6455 5.7 unmasked");
	n = ws_put_frame(frame, big, WS_FIN | WS_TEXT,
			 (const uint8_t *)"Hello", 5, mask);
	ok(bytes_are(frame, n, hello_masked, sizeof(hello_masked)),
	   "RFC 6455 5.7 masked");
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		ssize_t h;

		n = ws_put_frame(frame, big, WS_FIN | WS_BINARY, payload,
				 sizes[i], mask);
		h = ws_parse_header(frame, n, &f);
		ws_mask_copy(back, frame + h, f.len, f.mask);
		all &= n == headers[i] + 4 + sizes[i] &&
		       h == (ssize_t)headers[i] + 4 && f.masked && f.fin &&
		       f.opcode == WS_BINARY && f.len == sizes[i] &&
		       !memcmp(f.mask, mask, 4) &&
		       !memcmp(back, payload, sizes[i]) &&
		       (sizes[i] < 8 || memcmp(frame + h, payload, 8));
		while (h > 0)
			all &= !ws_parse_header(frame, --h, &f);
	}
	ok(all, "masked round trips, 7-, 16- and 64-bit lengths, headers "
	   "cut short incomplete");
	ok(!ws_put_frame(frame, 65535 + 3, WS_BINARY, payload, 65535, NULL) &&
	   ws_put_frame(frame, 65535 + 4, WS_BINARY, payload, 65535, NULL),
	   "frame that does not fit is 0");
	for (i = 0, all = true; i < sizeof(bad) / sizeof(*bad); i++)
		all &= ws_parse_header(bad[i], sizeof(bad[i]), &f) == -1;
	ok(all, "RSV bits, 2^63 lengths, long or fragmented control: refused");
	ws_mask_next(&state, m1);
	ws_mask_next(&state, m2);
	ok(memcmp(m1, m2, 4) && state != 1, "a new mask per frame");
	free(frame);
	free(payload);
	free(back);
}

static void test_ws_decode(void)
{
	static const uint8_t text[] = { 0x81, 0x01, 'x' };
	static const uint8_t masked[] = { 0x82, 0x81, 1, 2, 3, 4, 'x' };
	static const uint8_t lone_cont[] = { 0x80, 0x01, 'x' };
	static const uint8_t nested[] = { 0x02, 0x01, 'x', 0x82, 0x01, 'y' };
	static const uint8_t opcode_b[] = { 0x8b, 0x00 };
	static const uint8_t opcode_3[] = { 0x83, 0x00 };
	static const struct {
		const uint8_t *bytes;
		size_t len;
	} bad[] = {
		{ text, sizeof(text) }, { masked, sizeof(masked) },
		{ lone_cont, sizeof(lone_cont) }, { nested, sizeof(nested) },
		{ opcode_b, sizeof(opcode_b) }, { opcode_3, sizeof(opcode_3) },
	};
	size_t big = 70000 + 400, len, i, n, k, *cuts = malloc(big * sizeof(*cuts));
	uint8_t *want = malloc(big), *stream = malloc(big + 64), *out = malloc(big);
	bool all = true;
	char ctls[16];

	for (i = 0; i < big; i++)
		want[i] = rng();
	len = ws_server_stream(stream, big, want);
	ok(!ws_feed(stream, len, NULL, 0, big, out, &n, ctls) && n == 300 &&
	   !memcmp(out, want, n) && !strcmp(ctls, "9a8"),
	   "server frames: MQTT bytes joined, ping, pong, close in order");
	for (k = 0; k <= len; k++) {
		all &= !ws_feed(stream, len, &k, 1, big, out, &n, ctls) &&
		       n == 300 && !memcmp(out, want, n) &&
		       !strcmp(ctls, "9a8");
	}
	ok(all, "the same split at every byte boundary");
	for (i = 0; i < len; i++)
		cuts[i] = i;
	ok(!ws_feed(stream, len, cuts, len, 1, out, &n, ctls) && n == 300 &&
	   !memcmp(out, want, n) && !strcmp(ctls, "9a8"),
	   "the same a byte at a time, one byte of room at a time");
	len = ws_put_frame(stream, big + 64, WS_FIN | WS_BINARY, want, 70000,
			   NULL);
	for (i = 0; i < len; i++)
		cuts[i] = i;
	ok(stream[1] == 127 &&
	   !ws_feed(stream, len, cuts, len, big, out, &n, ctls) &&
	   n == 70000 && !memcmp(out, want, n) && !*ctls,
	   "64-bit length frame a byte at a time");
	for (i = 0, all = true; i < sizeof(bad) / sizeof(*bad); i++)
		all &= ws_feed(bad[i].bytes, bad[i].len, NULL, 0, big, out, &n,
			       ctls) == -1;
	ok(all, "text, masked, lone continuation, nested message, unknown "
	   "opcodes: refused");
	for (k = 0; k < 100000; k++) {
		n = rng() % 32;
		for (i = 0; i < n; i++) {
			uint64_t r = rng();

			/* opcodes and lengths that nearly make sense */
			stream[i] = r & 0x100 ? (r & 0x8f) : r >> 16;
		}
		ws_feed(stream, n, NULL, 0, 16, out, &len, ctls);
	}
	ok(true, "random frames decoded in bounds");
	free(cuts);
	free(want);
	free(stream);
	free(out);
}

static void test_plans(void)
{
	struct plan_params pp = { .prefix = "bench" };
	struct plan plan;
	uint32_t i;
	bool pairs = true;

	pp.scenario = SCENARIO_FANOUT;
	pp.pubs = 1;
	pp.subs = 100;
	ok(!plan_build(&plan, &pp) && plan.nclients == 101 &&
	   plan_deliveries(&plan) == 100 && plan.client_pub[0] == 0 &&
	   plan.client_sub[1] == 0, "fanout 1 -> 100");
	plan_free(&plan);

	pp.scenario = SCENARIO_FANIN;
	pp.pubs = 100;
	pp.subs = 2;
	ok(!plan_build(&plan, &pp) && plan_deliveries(&plan) == 200 &&
	   plan.sub_npubs[1] == 100 && plan_matches_brute_force(&plan),
	   "fanin 100 -> 2");
	plan_free(&plan);

	pp.scenario = SCENARIO_PAIRWISE;
	pp.pairs = 1000;
	ok(!plan_build(&plan, &pp), "pairwise 1000 built");
	for (i = 0; i < plan.nsubs; i++)
		pairs &= plan.sub_npubs[i] == 1 &&
			 plan.sub_pubs[i][0] == (i + 1) % 1000 &&
			 plan.pub_nsubs[i] == 1 && plan.client_pub[i] == (int)i;
	ok(pairs && plan_sub_slot(&plan, 5, 6) == 0 &&
	   plan_sub_slot(&plan, 5, 7) == -1,
	   "pairwise: one other subscriber per topic");
	plan_free(&plan);
	pp.pairs = 1;
	ok(plan_build(&plan, &pp) != 0, "pairwise 1 refused");

	pp.scenario = SCENARIO_WILDCARD;
	pp.pubs = 300;
	pp.subs = 150;
	ok(!plan_build(&plan, &pp) && plan_matches_brute_force(&plan) &&
	   plan_deliveries(&plan) > plan.npubs,
	   "wildcard matches equal brute force, fan-out above 1");
	for (i = 0; i < 5; i++)
		printf("# %s: %u publishers\n", plan.sub_filter[i],
		       plan.sub_npubs[i]);
	plan_free(&plan);
}

static void test_tls_options(void)
{
	int v = 0;

	ok(!tls_parse_version("1.3", &v) && v == TLS1_3_VERSION,
	   "tls version 1.3");
	ok(!tls_parse_version("1.2", &v) && v == TLS1_2_VERSION,
	   "tls version 1.2");
	ok(!tls_parse_version("tlsv1.3", &v) && v == TLS1_3_VERSION,
	   "tls version as Mosquitto spells it");
	v = 0;
	ok(tls_parse_version("1.1", &v) && tls_parse_version("", &v) &&
	   tls_parse_version("1.3x", &v) && tls_parse_version("tlsv", &v) &&
	   v == 0, "tls version: others refused, nothing set");
	ok(tls_host_is_ip("127.0.0.1") && tls_host_is_ip("::1") &&
	   tls_host_is_ip("fe80::1:2"), "tls host: addresses");
	ok(!tls_host_is_ip("localhost") && !tls_host_is_ip("127.0.0.1.") &&
	   !tls_host_is_ip("1.2.3") && !tls_host_is_ip("") &&
	   !tls_host_is_ip("[::1]"), "tls host: names");
}

int main(void)
{
	printf("TAP version 13\n");
	test_encoders();
	test_remaining_length();
	test_frames();
	test_parsers();
	test_encoders_v5();
	test_connack_v5();
	test_suback_v5();
	test_publish_v5();
	test_acks_v5();
	test_disconnect_v5();
	test_props();
	test_connect_subscribe_v5();
	test_malformed_v5();
	test_topics();
	test_hist();
	test_track();
	test_plans();
	test_ws_handshake();
	test_ws_frames();
	test_ws_decode();
	test_tls_options();
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
