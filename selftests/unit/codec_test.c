// SPDX-License-Identifier: GPL-2.0
/*
 * Table tests of kmod/codec.c: fixed header, PUBLISH, SUBSCRIBE and
 * UNSUBSCRIBE parsing, encoders, UTF-8.  Expected bytes come from the MQTT
 * 3.1.1 text, not from the encoder.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <kmqtt/mqtt.h>
#include "codec.h"

#include "kselftest_harness.h"

#define BIG_MAX 0xffffffffu

/* Flags 2.2.2 requires per type: ANY for PUBLISH, BAD for type 0. */
#define ANY -1
#define BAD -2
static const int required_flags[16] = {
	BAD, 0, 0, ANY, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0,
};

TEST(fixed_hdr_every_type_and_flags)
{
	unsigned int b;

	for (b = 0; b < 256; b++) {
		int req = required_flags[b >> 4];
		bool valid = req == ANY || req == (int)(b & 0xf);
		struct kmqtt_fixed_hdr hdr = { 0 };
		u8 buf[2] = { b, 0 };

		/* The first byte alone decides a bad type or flags. */
		EXPECT_EQ(valid ? 0 : -EPROTO,
			  kmqtt_codec_fixed_hdr(buf, 1, BIG_MAX, &hdr))
			TH_LOG("first byte 0x%02x, one byte", b);
		EXPECT_EQ(valid ? 2 : -EPROTO,
			  kmqtt_codec_fixed_hdr(buf, 2, BIG_MAX, &hdr))
			TH_LOG("first byte 0x%02x", b);
		if (valid) {
			EXPECT_EQ(b >> 4, hdr.type);
			EXPECT_EQ(b & 0xf, hdr.flags);
			EXPECT_EQ(2, hdr.hdr_len);
			EXPECT_EQ(0, hdr.rem_len);
		}
	}
}

TEST(fixed_hdr_empty_input)
{
	struct kmqtt_fixed_hdr hdr;
	u8 b = 0x30;

	ASSERT_EQ(0, kmqtt_codec_fixed_hdr(&b, 0, BIG_MAX, &hdr));
}

/* The boundary table of 2.2.3. */
static const struct {
	u32 value;
	u8 len;
	u8 bytes[4];
} rem_len_table[] = {
	{ 0, 1, { 0x00 } },
	{ 127, 1, { 0x7f } },
	{ 128, 2, { 0x80, 0x01 } },
	{ 16383, 2, { 0xff, 0x7f } },
	{ 16384, 3, { 0x80, 0x80, 0x01 } },
	{ 2097151, 3, { 0xff, 0xff, 0x7f } },
	{ 2097152, 4, { 0x80, 0x80, 0x80, 0x01 } },
	{ 268435455, 4, { 0xff, 0xff, 0xff, 0x7f } },
};

TEST(fixed_hdr_remaining_length_boundaries)
{
	size_t i, cut;

	for (i = 0; i < ARRAY_SIZE(rem_len_table); i++) {
		struct kmqtt_fixed_hdr hdr = { 0 };
		u8 buf[5] = { 0x30 }, out[5];
		size_t n = 1 + rem_len_table[i].len;

		memcpy(buf + 1, rem_len_table[i].bytes, rem_len_table[i].len);
		ASSERT_EQ((int)n, kmqtt_codec_fixed_hdr(buf, n, BIG_MAX, &hdr));
		ASSERT_EQ(rem_len_table[i].value, hdr.rem_len);
		ASSERT_EQ(n, hdr.hdr_len);
		for (cut = 0; cut < n; cut++)
			ASSERT_EQ(0, kmqtt_codec_fixed_hdr(buf, cut, BIG_MAX,
							   &hdr))
				TH_LOG("prefix of %zu bytes", cut);

		ASSERT_EQ(n, kmqtt_codec_fixed_hdr_len(rem_len_table[i].value));
		ASSERT_EQ(n, kmqtt_codec_put_fixed_hdr(out, MQTT_PUBLISH, 0,
						       rem_len_table[i].value));
		ASSERT_EQ(0, memcmp(buf, out, n));
	}
}

TEST(fixed_hdr_fifth_length_byte)
{
	const u8 five[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
	const u8 zeros[] = { 0x30, 0x80, 0x80, 0x80, 0x80, 0x00 };
	struct kmqtt_fixed_hdr hdr;

	/* Four bytes with the continuation bit: need no fifth to refuse. */
	ASSERT_EQ(0, kmqtt_codec_fixed_hdr(five, 4, BIG_MAX, &hdr));
	ASSERT_EQ(-EPROTO, kmqtt_codec_fixed_hdr(five, 5, BIG_MAX, &hdr));
	ASSERT_EQ(-EPROTO, kmqtt_codec_fixed_hdr(five, 6, BIG_MAX, &hdr));
	ASSERT_EQ(-EPROTO, kmqtt_codec_fixed_hdr(zeros, 6, BIG_MAX, &hdr));
}

TEST(fixed_hdr_non_minimal_length_accepted)
{
	const u8 buf[] = { 0xc0, 0x80, 0x80, 0x00 };	/* PINGREQ, 0 */
	struct kmqtt_fixed_hdr hdr;

	ASSERT_EQ(4, kmqtt_codec_fixed_hdr(buf, sizeof(buf), BIG_MAX, &hdr));
	ASSERT_EQ(0, hdr.rem_len);
}

TEST(fixed_hdr_max_packet)
{
	const u8 small[] = { 0x30, 0x7f };
	const u8 big[] = { 0x30, 0xff, 0xff, 0xff, 0x7f };
	struct kmqtt_fixed_hdr hdr;

	ASSERT_EQ(2, kmqtt_codec_fixed_hdr(small, 2, 129, &hdr));
	ASSERT_EQ(-EMSGSIZE, kmqtt_codec_fixed_hdr(small, 2, 128, &hdr));
	ASSERT_EQ(-EMSGSIZE, kmqtt_codec_fixed_hdr(small, 2, 0, &hdr));
	ASSERT_EQ(5, kmqtt_codec_fixed_hdr(big, 5, 268435460, &hdr));
	ASSERT_EQ(-EMSGSIZE, kmqtt_codec_fixed_hdr(big, 5, 268435459, &hdr));
}

/* A PUBLISH body: topic (length-prefixed), packet id if @pid >= 0, payload. */
static size_t publish_body(u8 *buf, const char *topic, int pid,
			   const char *payload)
{
	size_t tl = strlen(topic), n = 0;

	buf[n++] = tl >> 8;
	buf[n++] = tl & 0xff;
	memcpy(buf + n, topic, tl);
	n += tl;
	if (pid >= 0) {
		buf[n++] = pid >> 8;
		buf[n++] = pid & 0xff;
	}
	memcpy(buf + n, payload, strlen(payload));
	return n + strlen(payload);
}

TEST(publish_qos0)
{
	struct kmqtt_publish pub;
	u8 buf[64];
	size_t n = publish_body(buf, "a/b", -1, "hello");

	ASSERT_EQ(0, kmqtt_codec_parse_publish(MQTT_PUBLISH_RETAIN, buf, n, false, &pub));
	ASSERT_EQ(0, pub.qos);
	ASSERT_TRUE(pub.retain);
	ASSERT_FALSE(pub.dup);
	ASSERT_EQ(0, pub.packet_id);
	ASSERT_EQ(3, pub.topic_len);
	ASSERT_EQ(0, memcmp(pub.topic, "a/b", 3));
	ASSERT_EQ(5, pub.payload_len);
	ASSERT_EQ(buf + 2 + 3, pub.payload);
}

TEST(publish_qos1_qos2_packet_id)
{
	struct kmqtt_publish pub;
	u8 buf[64];
	size_t n;

	n = publish_body(buf, "t", 1, "");
	ASSERT_EQ(0, kmqtt_codec_parse_publish(1 << 1, buf, n, false, &pub));
	ASSERT_EQ(1, pub.qos);
	ASSERT_EQ(1, pub.packet_id);
	ASSERT_EQ(0, pub.payload_len);

	n = publish_body(buf, "t", 0xffff, "xy");
	ASSERT_EQ(0, kmqtt_codec_parse_publish(2 << 1 | MQTT_PUBLISH_DUP, buf,
					       n, false, &pub));
	ASSERT_EQ(2, pub.qos);
	ASSERT_TRUE(pub.dup);
	ASSERT_FALSE(pub.retain);
	ASSERT_EQ(0xffff, pub.packet_id);
	ASSERT_EQ(2, pub.payload_len);
	ASSERT_EQ(0, memcmp(pub.payload, "xy", 2));
}

TEST(publish_rejects)
{
	struct kmqtt_publish pub;
	u8 buf[64];
	size_t n;

	n = publish_body(buf, "t", 7, "p");
	/* QoS 3 */
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(3 << 1, buf, n, false, &pub));
	/* Packet id 0 with QoS 1 and 2: MQTT-2.3.1-1 */
	n = publish_body(buf, "t", 0, "p");
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(1 << 1, buf, n, false, &pub));
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(2 << 1, buf, n, false, &pub));
	/* DUP with QoS 0: MQTT-3.3.1-2 */
	n = publish_body(buf, "t", -1, "p");
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(MQTT_PUBLISH_DUP, buf, n, false, &pub));
	/* Wildcards in the topic name: MQTT-3.3.2-2 */
	n = publish_body(buf, "a/+", -1, "");
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(0, buf, n, false, &pub));
	n = publish_body(buf, "#", -1, "");
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(0, buf, n, false, &pub));
	/* Empty topic name: MQTT-4.7.3-1 */
	n = publish_body(buf, "", -1, "payload");
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(0, buf, n, false, &pub));
	/* Topic with U+0000 and with a bad UTF-8 byte */
	n = publish_body(buf, "a\x01", -1, "");
	buf[3] = 0;
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(0, buf, n, false, &pub));
	buf[3] = 0xff;
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(0, buf, n, false, &pub));
}

TEST(publish_truncated)
{
	struct kmqtt_publish pub;
	u8 buf[64];
	size_t n = publish_body(buf, "abcde", 9, ""), cut;

	ASSERT_EQ(0, kmqtt_codec_parse_publish(1 << 1, buf, n, false, &pub));
	/* Every shorter body misses topic bytes or packet id bytes. */
	for (cut = 0; cut < n; cut++)
		ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(1 << 1, buf, cut, false, &pub))
			TH_LOG("body cut to %zu bytes", cut);
	/* QoS 0: a cut after the topic is a shorter payload, not an error. */
	n = publish_body(buf, "abcde", -1, "");
	for (cut = 0; cut < n; cut++)
		ASSERT_EQ(-EPROTO, kmqtt_codec_parse_publish(0, buf, cut, false, &pub));
	ASSERT_EQ(0, kmqtt_codec_parse_publish(0, buf, n, false, &pub));
}

/* Append one SUBSCRIBE/UNSUBSCRIBE entry; @qos < 0 for none. */
static size_t sub_entry(u8 *buf, const char *filter, int qos)
{
	size_t fl = strlen(filter), n = 0;

	buf[n++] = fl >> 8;
	buf[n++] = fl & 0xff;
	memcpy(buf + n, filter, fl);
	n += fl;
	if (qos >= 0)
		buf[n++] = qos;
	return n;
}

TEST(subscribe_one_filter)
{
	const u8 body[] = { 0x12, 0x34, 0, 3, 'a', '/', '#', 1 };
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	const u8 *f;
	u16 pid, fl;
	u8 qos;

	ASSERT_EQ(1, kmqtt_codec_parse_sub(body, sizeof(body), true, false, &pid, &it, &props));
	ASSERT_EQ(0x1234, pid);
	ASSERT_TRUE(kmqtt_codec_next_filter(&it, &f, &fl, &qos));
	ASSERT_EQ(3, fl);
	ASSERT_EQ(body + 4, f);
	ASSERT_EQ(1, qos);
	ASSERT_FALSE(kmqtt_codec_next_filter(&it, &f, &fl, &qos));
}

TEST(subscribe_many_filters)
{
	enum { N = 2000 };
	u8 *body = malloc(2 + N * 16);
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	size_t n = 2;
	const u8 *f;
	char name[16];
	u16 pid, fl;
	u8 qos;
	int i;

	ASSERT_NE(NULL, body);
	body[0] = 0;
	body[1] = 1;
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d/%d/+", i);
		n += sub_entry(body + n, name, i % 3);
	}
	ASSERT_EQ(N, kmqtt_codec_parse_sub(body, n, true, false, &pid, &it, &props));
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d/%d/+", i);
		ASSERT_TRUE(kmqtt_codec_next_filter(&it, &f, &fl, &qos));
		ASSERT_EQ(strlen(name), fl);
		ASSERT_EQ(0, memcmp(f, name, fl));
		ASSERT_EQ(i % 3, qos);
	}
	ASSERT_FALSE(kmqtt_codec_next_filter(&it, &f, &fl, &qos));
	free(body);
}

TEST(subscribe_rejects)
{
	static const struct {
		const char *filter;
		int qos;
	} bad[] = {
		{ "a", 3 },		/* QoS 3 */
		{ "a", 0x04 },		/* reserved bits: MQTT-3.8.3-4 */
		{ "a", 0x81 },
		{ "a", 0xfc },
		{ "", 0 },		/* empty filter: MQTT-4.7.3-1 */
		{ "a/#/b", 0 },		/* MQTT-4.7.1-2 */
		{ "sport+", 0 },	/* MQTT-4.7.1-3 */
		{ "a\xc0\x80", 0 },	/* overlong NUL */
	};
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	u8 body[64];
	size_t i, n;
	u16 pid;

	/* Empty: no filter (MQTT-3.8.3-3); shorter than a packet id. */
	body[0] = 0;
	body[1] = 1;
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, 2, true, false, &pid, &it, &props));
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, 1, true, false, &pid, &it, &props));
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, 0, true, false, &pid, &it, &props));

	/* Packet id 0: MQTT-2.3.1-1 */
	body[1] = 0;
	n = 2 + sub_entry(body + 2, "a", 0);
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, n, true, false, &pid, &it, &props));

	body[1] = 1;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		/* The bad entry after a good one: the whole packet fails. */
		n = 2 + sub_entry(body + 2, "ok", 1);
		n += sub_entry(body + n, bad[i].filter, bad[i].qos);
		EXPECT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, n, true, false, &pid,
							 &it, &props))
			TH_LOG("entry %zu", i);
	}
}

TEST(subscribe_truncated)
{
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	u8 body[64];
	size_t n, cut;
	u16 pid;

	body[0] = 0;
	body[1] = 9;
	n = 2 + sub_entry(body + 2, "abc", 2);
	n += sub_entry(body + n, "x/y", 0);
	ASSERT_EQ(2, kmqtt_codec_parse_sub(body, n, true, false, &pid, &it, &props));
	/* Only the cut right after the first entry is a valid body. */
	for (cut = 0; cut < n; cut++)
		ASSERT_EQ(cut == 8 ? 1 : -EPROTO,
			  kmqtt_codec_parse_sub(body, cut, true, false, &pid, &it, &props))
			TH_LOG("body cut to %zu bytes", cut);
}

TEST(unsubscribe_filters)
{
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	const u8 *f;
	u8 body[64];
	size_t n;
	u16 pid, fl;
	u8 qos = 0xaa;

	body[0] = 0x01;
	body[1] = 0x00;
	n = 2 + sub_entry(body + 2, "a/+", -1);
	n += sub_entry(body + n, "#", -1);
	ASSERT_EQ(2, kmqtt_codec_parse_sub(body, n, false, false, &pid, &it, &props));
	ASSERT_EQ(0x100, pid);
	ASSERT_TRUE(kmqtt_codec_next_filter(&it, &f, &fl, &qos));
	ASSERT_EQ(3, fl);
	ASSERT_EQ(0, qos);
	ASSERT_TRUE(kmqtt_codec_next_filter(&it, &f, &fl, &qos));
	ASSERT_EQ(1, fl);
	ASSERT_EQ('#', f[0]);
	ASSERT_FALSE(kmqtt_codec_next_filter(&it, &f, &fl, &qos));

	/* Empty (MQTT-3.10.3-2), a bad filter, a stray byte. */
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, 2, false, false, &pid, &it, &props));
	n = 2 + sub_entry(body + 2, "a#", -1);
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, n, false, false, &pid, &it, &props));
	n = 2 + sub_entry(body + 2, "a", 1);
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, n, false, false, &pid, &it, &props));
}

TEST(publish_encode_roundtrip)
{
	/* Payload sizes around the 1-, 2- and 3-byte length boundaries. */
	static const u32 sizes[] = { 0, 1, 118, 119, 120, 16370, 16380, 20000 };
	static const char topic[] = "sport/tennis/player1";
	u8 *buf = malloc(32 + 20000), *payload = malloc(20000);
	unsigned int qos, s, f;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, payload);
	for (s = 0; s < 20000; s++)
		payload[s] = s * 7;
	for (qos = 0; qos < 3; qos++)
	for (s = 0; s < ARRAY_SIZE(sizes); s++)
	for (f = 0; f < 4; f++) {
		struct kmqtt_publish in = {
			.topic = (const u8 *)topic,
			.topic_len = strlen(topic),
			.qos = qos,
			.retain = f & 1,
			.dup = qos && (f & 2),
			.packet_id = qos ? 1000 + s : 0,
			.payload = payload,
			.payload_len = sizes[s],
		}, out;
		size_t size = kmqtt_codec_publish_size(in.topic_len, qos,
						       in.payload_len);
		struct kmqtt_fixed_hdr hdr;

		ASSERT_EQ(size, kmqtt_codec_put_publish(buf, &in));
		ASSERT_LT(0, kmqtt_codec_fixed_hdr(buf, size, size, &hdr));
		ASSERT_EQ(size, hdr.hdr_len + hdr.rem_len);
		ASSERT_EQ(MQTT_PUBLISH, hdr.type);
		ASSERT_EQ(0, kmqtt_codec_parse_publish(hdr.flags,
						       buf + hdr.hdr_len,
						       hdr.rem_len, false, &out));
		ASSERT_EQ(in.qos, out.qos);
		ASSERT_EQ(in.retain, out.retain);
		ASSERT_EQ(in.dup, out.dup);
		ASSERT_EQ(in.packet_id, out.packet_id);
		ASSERT_EQ(in.topic_len, out.topic_len);
		ASSERT_EQ(0, memcmp(in.topic, out.topic, in.topic_len));
		ASSERT_EQ(in.payload_len, out.payload_len);
		ASSERT_EQ(0, memcmp(in.payload, out.payload, in.payload_len));
	}
	free(buf);
	free(payload);
}

TEST(publish_size_limit)
{
	/* 2 + topic + payload is the remaining length at QoS 0. */
	ASSERT_EQ(5 + MQTT_MAX_REMAINING_LENGTH,
		  kmqtt_codec_publish_size(1, 0, MQTT_MAX_REMAINING_LENGTH - 3));
	ASSERT_EQ(0, kmqtt_codec_publish_size(1, 0,
					      MQTT_MAX_REMAINING_LENGTH - 2));
	ASSERT_EQ(0, kmqtt_codec_publish_size(1, 1,
					      MQTT_MAX_REMAINING_LENGTH - 4));
	ASSERT_EQ(0, kmqtt_codec_publish_size(65535, 2, 0xffffffffu));
	ASSERT_EQ(2 + 2 + 1 + 2, kmqtt_codec_publish_size(1, 1, 0));
}

TEST(connack_ack_pingresp_bytes)
{
	static const u8 types[] = {
		MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP,
		MQTT_UNSUBACK,
	};
	struct kmqtt_fixed_hdr hdr;
	u8 buf[8];
	size_t i;

	ASSERT_EQ(4, kmqtt_codec_put_connack(buf, true, 0));
	ASSERT_EQ(0, memcmp(buf, "\x20\x02\x01\x00", 4));
	ASSERT_EQ(4, kmqtt_codec_put_connack(buf, false,
					     MQTT_CONNACK_NOT_AUTHORIZED));
	ASSERT_EQ(0, memcmp(buf, "\x20\x02\x00\x05", 4));

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		u8 first = types[i] << 4 | (types[i] == MQTT_PUBREL ? 2 : 0);
		const u8 want[] = { first, 2, 0xbe, 0xef };

		ASSERT_EQ(4, kmqtt_codec_put_ack(buf, types[i], 0xbeef, 0));
		ASSERT_EQ(0, memcmp(buf, want, 4));
		/* What we send passes our own 2.2.2 checks. */
		ASSERT_EQ(2, kmqtt_codec_fixed_hdr(buf, 4, 4, &hdr));
	}

	ASSERT_EQ(2, kmqtt_codec_put_pingresp(buf));
	ASSERT_EQ(0, memcmp(buf, "\xd0\x00", 2));
}

/* MQTT-2.3.1-1: an ack is exactly a non-zero packet identifier. */
TEST(ack_parse)
{
	static const u8 body[] = { 0xbe, 0xef, 0x00 };
	u16 pid = 0;
	u8 reason;

	ASSERT_EQ(0, kmqtt_codec_parse_ack(body, 2, false, &pid, &reason));
	ASSERT_EQ(0xbeef, pid);
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_ack((const u8 *)"\0\0", 2, false, &pid, &reason));
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_ack(body, 1, false, &pid, &reason));
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_ack(body, 3, false, &pid, &reason));
	ASSERT_EQ(-EPROTO, kmqtt_codec_parse_ack(body, 0, false, &pid, &reason));
}

TEST(suback_bytes)
{
	u8 codes[300], buf[310];
	struct kmqtt_fixed_hdr hdr;
	size_t i;

	codes[0] = 1;
	codes[1] = MQTT_SUBACK_FAILURE;
	ASSERT_EQ(6, kmqtt_codec_put_suback(buf, MQTT_SUBACK, 0x0102, false, codes, 2));
	ASSERT_EQ(0, memcmp(buf, "\x90\x04\x01\x02\x01\x80", 6));

	/* 300 codes: the remaining length needs two bytes. */
	for (i = 0; i < 300; i++)
		codes[i] = i % 3;
	ASSERT_EQ(3 + 2 + 300, kmqtt_codec_put_suback(buf, MQTT_SUBACK, 7, false, codes, 300));
	ASSERT_EQ(3, kmqtt_codec_fixed_hdr(buf, sizeof(buf), BIG_MAX, &hdr));
	ASSERT_EQ(MQTT_SUBACK, hdr.type);
	ASSERT_EQ(302, hdr.rem_len);
	ASSERT_EQ(0, memcmp(buf + 5, codes, 300));
}

/* Raw byte strings: valid and invalid UTF-8 per 1.5.3. */
struct utf8_case {
	const char *s;
	size_t len;
	bool valid;
	const char what[48];
};

static const struct utf8_case utf8_table[] = {
#define U(str, ok, what) { str, sizeof(str) - 1, ok, what }
	U("", true, "empty"),
	U("abc/def", true, "ASCII"),
	U("\x01\x1f\x7f", true, "controls are not forbidden, only NUL"),
	U("\xc2\x80", true, "U+0080"),
	U("\xc3\xa9", true, "U+00E9"),
	U("\xdf\xbf", true, "U+07FF"),
	U("\xe0\xa0\x80", true, "U+0800"),
	U("\xe2\x82\xac", true, "U+20AC"),
	U("\xed\x9f\xbf", true, "U+D7FF"),
	U("\xee\x80\x80", true, "U+E000"),
	U("\xef\xbf\xbf", true, "U+FFFF"),
	U("\xf0\x90\x80\x80", true, "U+10000"),
	U("\xf0\x9f\x98\x80", true, "U+1F600"),
	U("\xf4\x8f\xbf\xbf", true, "U+10FFFF"),
	U("\x00", false, "U+0000: MQTT-1.5.3-2"),
	U("a\x00" "b", false, "U+0000 inside"),
	U("\xc0\x80", false, "overlong U+0000"),
	U("\xc0\xaf", false, "overlong '/'"),
	U("\xc1\xbf", false, "overlong U+007F"),
	U("\xe0\x80\x80", false, "overlong 3-byte"),
	U("\xe0\x80\xaf", false, "overlong 3-byte '/'"),
	U("\xe0\x9f\xbf", false, "overlong U+07FF"),
	U("\xf0\x80\x80\x80", false, "overlong 4-byte"),
	U("\xf0\x80\x80\xaf", false, "overlong 4-byte '/'"),
	U("\xf0\x8f\xbf\xbf", false, "overlong U+FFFF"),
	U("\xed\xa0\x80", false, "U+D800: MQTT-1.5.3-1"),
	U("\xed\xbf\xbf", false, "U+DFFF: MQTT-1.5.3-1"),
	U("\xed\xa0\xbd\xed\xb8\x80", false, "surrogate pair (CESU-8)"),
	U("\xf4\x90\x80\x80", false, "U+110000"),
	U("\xf5\x80\x80\x80", false, "lead byte F5"),
	U("\xf7\xbf\xbf\xbf", false, "U+1FFFFF"),
	U("\xf8\x88\x80\x80\x80", false, "5-byte form"),
	U("\xfe", false, "FE"),
	U("\xff", false, "FF"),
	U("\x80", false, "lone continuation"),
	U("a\xbf", false, "lone continuation after ASCII"),
	U("\xc3", false, "truncated 2-byte"),
	U("\xe2\x82", false, "truncated 3-byte"),
	U("\xf0\x9f\x98", false, "truncated 4-byte"),
	U("\xe2\x82" "a", false, "3-byte cut by ASCII"),
	U("\xc3\x41", false, "bad continuation"),
	U("\xe2\x28\xa1", false, "bad second byte of 3"),
	U("\xf0\x9f\x41\x80", false, "bad third byte"),
	U("\xf0\x9f\x98\xc0", false, "bad fourth byte"),
	U("\xc3\xa9\xc3", false, "valid then truncated"),
#undef U
};

TEST(utf8_validity)
{
	const struct utf8_case *c;

	for (c = utf8_table; c < utf8_table + ARRAY_SIZE(utf8_table); c++)
		EXPECT_EQ(c->valid, kmqtt_codec_utf8_valid((const u8 *)c->s,
							   c->len))
			TH_LOG("%s", c->what);
}

/* 5.0 PUBLISH: properties after the packet id (3.3.2.3). */
TEST(publish5_properties)
{
	static const u8 body[] = {
		0, 1, 't', 0, 5,			/* topic, packet id */
		5, MQTT_PROP_MESSAGE_EXPIRY, 0, 0, 0, 9,	/* properties */
		'p', 'l',
	};
	static const u8 sub_id[] = { 0, 1, 't', 2, MQTT_PROP_SUBSCRIPTION_ID, 1 };
	static const u8 aliased[] = { 0, 0, 3, MQTT_PROP_TOPIC_ALIAS, 0, 1 };
	struct kmqtt_publish pub;

	ASSERT_EQ(0, kmqtt_codec_parse_publish(1 << 1, body, sizeof(body), true,
					       &pub));
	EXPECT_EQ(5, pub.packet_id);
	EXPECT_EQ(9, pub.props.message_expiry);
	EXPECT_EQ(2, pub.payload_len);
	EXPECT_EQ(0, memcmp("pl", pub.payload, 2));
	/* The same bytes as 3.1.1: the properties are payload. */
	ASSERT_EQ(0, kmqtt_codec_parse_publish(1 << 1, body, sizeof(body),
					       false, &pub));
	EXPECT_EQ(8, pub.payload_len);
	/* MQTT-3.3.4-6: no subscription identifier from a client. */
	EXPECT_EQ(-EINVAL, kmqtt_codec_parse_publish(0, sub_id, sizeof(sub_id),
						     true, &pub));
	/* An empty topic frames (a topic alias stands for it), not in 3.1.1. */
	EXPECT_EQ(0, kmqtt_codec_parse_publish(0, aliased, sizeof(aliased),
					       true, &pub));
	EXPECT_EQ(-EPROTO, kmqtt_codec_parse_publish(0, aliased,
						     sizeof(aliased), false,
						     &pub));
	/* A property length past the packet. */
	EXPECT_EQ(-EPROTO, kmqtt_codec_parse_publish(1 << 1, body, 8, true,
						     &pub));
}

/*
 * The stored form of a message (snapshots): a QoS 0 5.0 PUBLISH body with
 * a topic name, properties passed on as they are, and a payload, which
 * may be empty.
 */
TEST(stored_message)
{
	static const u8 good[] = {
		0, 1, 't', 7, MQTT_PROP_USER_PROPERTY, 0, 1, 'k', 0, 1, 'v', 'p',
	};
	static const u8 plain[] = { 0, 3, 'a', '/', 'b', 0, 'x', 'y' };
	static const u8 expiry[] = {
		0, 1, 't', 5, MQTT_PROP_MESSAGE_EXPIRY, 0, 0, 0, 9, 'p',
	};
	static const u8 aliased[] = { 0, 0, 3, MQTT_PROP_TOPIC_ALIAS, 0, 1, 'p' };
	static const u8 wildcard[] = { 0, 1, '#', 0, 'p' };
	static const u8 empty[] = { 0, 1, 't', 0 };
	struct kmqtt_publish pub;
	size_t n;

	ASSERT_EQ(0, kmqtt_codec_parse_stored(good, sizeof(good), &pub));
	EXPECT_EQ(1, pub.topic_len);
	EXPECT_EQ(7, pub.props.forward_len);
	EXPECT_EQ(1, pub.payload_len);
	ASSERT_EQ(0, kmqtt_codec_parse_stored(plain, sizeof(plain), &pub));
	EXPECT_EQ(2, pub.payload_len);
	/* What is per delivery or per connection is not stored with it. */
	EXPECT_EQ(-EINVAL, kmqtt_codec_parse_stored(expiry, sizeof(expiry),
						    &pub));
	EXPECT_EQ(-EINVAL, kmqtt_codec_parse_stored(aliased, sizeof(aliased),
						    &pub));
	EXPECT_EQ(-EINVAL, kmqtt_codec_parse_stored(wildcard,
						    sizeof(wildcard), &pub));
	/* Queued messages and wills may be empty. */
	ASSERT_EQ(0, kmqtt_codec_parse_stored(empty, sizeof(empty), &pub));
	EXPECT_EQ(0, pub.payload_len);
	/*
	 * Every shorter prefix of a good one is refused, none is read past;
	 * but the one without the payload, an empty message.
	 */
	for (n = 0; n < sizeof(good) - 1; n++)
		EXPECT_EQ(-EINVAL, kmqtt_codec_parse_stored(good, n, &pub));
	ASSERT_EQ(0, kmqtt_codec_parse_stored(good, n, &pub));
	EXPECT_EQ(0, pub.payload_len);
}

/* MQTT-3.8.3-5: retain handling 3 and the reserved bits are malformed. */
TEST(subscribe5_options)
{
	u8 body[] = { 0, 1, 0, 0, 1, 'a', 0 };
	struct kmqtt_props props;
	struct kmqtt_sub_iter it;
	const u8 *f;
	u8 options;
	u16 pid, fl;

	body[6] = 2 | MQTT_SUBOPT_NO_LOCAL | MQTT_SUBOPT_RETAIN_AS_PUBLISHED |
		  2 << MQTT_SUBOPT_RETAIN_HANDLING_SHIFT;
	ASSERT_EQ(1, kmqtt_codec_parse_sub(body, sizeof(body), true, true, &pid,
					   &it, &props));
	ASSERT_TRUE(kmqtt_codec_next_filter(&it, &f, &fl, &options));
	EXPECT_EQ(body[6], options);
	EXPECT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, sizeof(body), true,
						 false, &pid, &it, &props));
	body[6] = 3 << MQTT_SUBOPT_RETAIN_HANDLING_SHIFT;
	EXPECT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, sizeof(body), true, true,
						 &pid, &it, &props));
	body[6] = 0x40;
	EXPECT_EQ(-EPROTO, kmqtt_codec_parse_sub(body, sizeof(body), true, true,
						 &pid, &it, &props));
}

/* 3.4.2.1, 3.4.2.2: an ack's reason code and properties are optional. */
TEST(ack5_forms)
{
	static const u8 body[] = { 0, 7, MQTT_RC_NO_MATCHING_SUBSCRIBERS, 0 };
	u16 pid;
	u8 reason;

	ASSERT_EQ(0, kmqtt_codec_parse_ack(body, 2, true, &pid, &reason));
	EXPECT_EQ(0, reason);
	ASSERT_EQ(0, kmqtt_codec_parse_ack(body, 3, true, &pid, &reason));
	EXPECT_EQ(MQTT_RC_NO_MATCHING_SUBSCRIBERS, reason);
	ASSERT_EQ(0, kmqtt_codec_parse_ack(body, 4, true, &pid, &reason));
	EXPECT_EQ(7, pid);
	EXPECT_EQ(-EPROTO, kmqtt_codec_parse_ack(body, 3, false, &pid,
						 &reason));
}

TEST(encoders5)
{
	static const u8 connack[] = { 0x20, 5, 1, 0, 2 };
	static const u8 suback[] = { 0x90, 5, 0, 3, 0, 1, 0x87 };
	static const u8 puback[] = { 0x40, 3, 0, 4, 0x10 };
	static const u8 disconnect[] = { 0xe0, 1, 0x8b };
	static const u8 codes[] = { 1, 0x87 };
	u8 buf[16];

	/* Up to the property length; the 2 bytes of properties follow. */
	ASSERT_EQ(sizeof(connack), kmqtt_codec_put_connack5(buf, true, 0, 2));
	EXPECT_EQ(0, memcmp(connack, buf, sizeof(connack)));
	ASSERT_EQ(sizeof(suback), kmqtt_codec_put_suback(buf, MQTT_SUBACK, 3,
							 true, codes, 2));
	EXPECT_EQ(0, memcmp(suback, buf, sizeof(suback)));
	ASSERT_EQ(sizeof(puback), kmqtt_codec_put_ack(buf, MQTT_PUBACK, 4,
						      0x10));
	EXPECT_EQ(0, memcmp(puback, buf, sizeof(puback)));
	ASSERT_EQ(sizeof(disconnect), kmqtt_codec_put_disconnect5(buf, 0x8b));
	EXPECT_EQ(0, memcmp(disconnect, buf, sizeof(disconnect)));
	ASSERT_EQ(2, kmqtt_codec_put_disconnect5(buf, 0));
}

/* 3.15: AUTH both ways, and DISCONNECT through the same parser. */
TEST(auth5)
{
	static const u8 with_data[] = {
		0xf0, 12, 0x18, 10, 0x15, 0, 2, 'M', '1', 0x16, 0, 2, 'd', 'x',
	};
	static const u8 no_data[] = {
		0xf0, 7, 0x00, 5, 0x15, 0, 2, 'M', '1',
	};
	static const u8 twice[] = { 0x19, 6, 0x16, 0, 0, 0x16, 0, 0 };
	struct kmqtt_props props;
	u8 buf[64], reason;

	ASSERT_GE(sizeof(buf), kmqtt_codec_auth_size(2, (const u8 *)"dx", 2));
	ASSERT_EQ(sizeof(with_data),
		  kmqtt_codec_put_auth(buf, 0x18, (const u8 *)"M1", 2,
				       (const u8 *)"dx", 2));
	EXPECT_EQ(0, memcmp(with_data, buf, sizeof(with_data)));
	EXPECT_EQ(sizeof(with_data),
		  kmqtt_codec_auth_size(2, (const u8 *)"dx", 2));
	ASSERT_EQ(sizeof(no_data),
		  kmqtt_codec_put_auth(buf, 0, (const u8 *)"M1", 2, NULL, 0));
	EXPECT_EQ(sizeof(no_data), kmqtt_codec_auth_size(2, NULL, 0));
	EXPECT_EQ(0, memcmp(no_data, buf, sizeof(no_data)));

	ASSERT_EQ(0, kmqtt_codec_parse_reason(with_data + 2, 12,
					      KMQTT_PROPS_AUTH, &reason,
					      &props));
	EXPECT_EQ(0x18, reason);
	ASSERT_EQ(2, props.auth_method.len);
	EXPECT_EQ(0, memcmp("M1", props.auth_method.data, 2));
	ASSERT_EQ(2, props.auth_data.len);
	/* Empty: success, no properties (3.15.2.1). */
	ASSERT_EQ(0, kmqtt_codec_parse_reason(NULL, 0, KMQTT_PROPS_AUTH,
					      &reason, &props));
	EXPECT_EQ(0, reason);
	/* Data twice is a protocol error; past the end, malformed. */
	EXPECT_EQ(-EINVAL, kmqtt_codec_parse_reason(twice, 8, KMQTT_PROPS_AUTH,
						    &reason, &props));
	EXPECT_EQ(-EPROTO, kmqtt_codec_parse_reason(twice, 7, KMQTT_PROPS_AUTH,
						    &reason, &props));
	/* A property AUTH may not carry, as DISCONNECT may. */
	EXPECT_EQ(-EINVAL,
		  kmqtt_codec_parse_reason((const u8 *)"\x8b\x05\x11\0\0\0\1",
					   7, KMQTT_PROPS_AUTH, &reason,
					   &props));
	EXPECT_EQ(0,
		  kmqtt_codec_parse_reason((const u8 *)"\x8b\x05\x11\0\0\0\1",
					   7, KMQTT_PROPS_DISCONNECT, &reason,
					   &props));
}

TEST_HARNESS_MAIN
