// SPDX-License-Identifier: GPL-2.0
/*
 * Robustness of kmod/codec.c on hostile input: random bytes and mutated
 * valid packets go through every parser in buffers of their exact size, so
 * ASan catches any read past the end; what the parsers accept must make
 * sense.  UTF-8 and topic validation are checked against naive references.
 *
 * KMQTT_SEED=N picks the seed (printed at the start of each test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <kmqtt/mqtt.h>
#include "codec.h"
#include "topic.h"

#include "kselftest_harness.h"
#include "rng.h"

/* How often each parser accepted, so a test sees its checks really ran. */
static unsigned long accepted_hdr, accepted_pub, accepted_sub;

/* Bytes that sit on the edges of UTF-8, MQTT lengths and topic syntax. */
static u8 interesting_byte(void)
{
	static const u8 edges[] = {
		0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0,
		0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xee, 0xef, 0xf0,
		0xf4, 0xf5, 0xff, '/', '+', '#', '$', 'a', 0x30, 0x82,
	};

	return rnd(3) ? edges[rnd(sizeof(edges))] : rnd(256);
}

/* A copy of @src in a heap block of exactly @len bytes. */
static u8 *exact_copy(const u8 *src, size_t len)
{
	u8 *p = malloc(len ? len : 1);

	if (!p)
		abort();
	memcpy(p, src, len);
	return p;
}

/*
 * UTF-8 decoded code point by code point: RFC 3629, and 1.5.3 unless
 * @nul_ok, as a reference.
 */
static bool ref_utf8(const u8 *s, size_t len, bool nul_ok)
{
	static const u32 shortest[] = { 0, 0x80, 0x800, 0x10000 };
	size_t i = 0, n, k;
	u32 cp;

	while (i < len) {
		if (s[i] < 0x80) {
			cp = s[i];
			n = 0;
		} else if ((s[i] & 0xe0) == 0xc0) {
			cp = s[i] & 0x1f;
			n = 1;
		} else if ((s[i] & 0xf0) == 0xe0) {
			cp = s[i] & 0x0f;
			n = 2;
		} else if ((s[i] & 0xf8) == 0xf0) {
			cp = s[i] & 0x07;
			n = 3;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((cp == 0 && !nul_ok) || cp < shortest[n] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Topic filter syntax level by level (4.7.1), without UTF-8. */
static bool ref_filter_syntax(const u8 *s, size_t len)
{
	size_t start = 0, i, j;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		for (j = start; j < i; j++) {
			if ((s[j] == '+' || s[j] == '#') && i - start != 1)
				return false;
			if (s[j] == '#' && i != len)
				return false;
		}
		start = i + 1;
	}
	return true;
}

static void check_publish(struct __test_metadata *_metadata, u8 flags,
			  const u8 *body, u32 len)
{
	struct kmqtt_publish pub;

	if (kmqtt_codec_parse_publish(flags, body, len, false, &pub))
		return;
	accepted_pub++;
	ASSERT_GE(2, pub.qos);
	ASSERT_FALSE(pub.dup && !pub.qos);
	ASSERT_EQ(!!pub.qos, !!pub.packet_id);
	ASSERT_EQ(body + 2, pub.topic);
	ASSERT_TRUE(kmqtt_topic_name_valid(pub.topic, pub.topic_len));
	ASSERT_EQ(pub.topic + pub.topic_len + (pub.qos ? 2 : 0), pub.payload);
	ASSERT_EQ(body + len, pub.payload + pub.payload_len);
}

static void check_sub(struct __test_metadata *_metadata, const u8 *body,
		      u32 len, bool with_qos)
{
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	const u8 *f, *end = body + len;
	int ret, n = 0;
	u16 pid, fl;
	u8 qos;

	ret = kmqtt_codec_parse_sub(body, len, with_qos, false, &pid, &it, &props);
	if (ret < 0) {
		ASSERT_EQ(-EPROTO, ret);
		return;
	}
	ASSERT_LT(0, ret);
	ASSERT_NE(0, pid);
	accepted_sub++;
	while (kmqtt_codec_next_filter(&it, &f, &fl, &qos)) {
		ASSERT_TRUE(f > body && f + fl <= end);
		ASSERT_TRUE(kmqtt_topic_filter_valid(f, fl));
		ASSERT_GE(2, qos);
		if (!with_qos)
			ASSERT_EQ(0, qos);
		n++;
	}
	ASSERT_EQ(ret, n);
}

static void check_fixed_hdr(struct __test_metadata *_metadata, const u8 *buf,
			    size_t len, u32 max)
{
	struct kmqtt_fixed_hdr hdr;
	int ret = kmqtt_codec_fixed_hdr(buf, len, max, &hdr);

	if (ret <= 0) {
		ASSERT_TRUE(ret == 0 || ret == -EPROTO || ret == -EMSGSIZE);
		return;
	}
	accepted_hdr++;
	ASSERT_EQ(ret, hdr.hdr_len);
	ASSERT_TRUE(ret >= 2 && ret <= 5 && (size_t)ret <= len);
	ASSERT_TRUE(hdr.type >= MQTT_CONNECT && hdr.type <= MQTT_AUTH);
	ASSERT_GE(max, (u64)hdr.hdr_len + hdr.rem_len);
}

static void check_all(struct __test_metadata *_metadata, const u8 *src,
		      size_t len)
{
	u8 *buf = exact_copy(src, len);

	check_fixed_hdr(_metadata, buf, len, rnd(2) ? 0xffffffff : rnd(300));
	check_publish(_metadata, rnd(16), buf, len);
	check_sub(_metadata, buf, len, true);
	check_sub(_metadata, buf, len, false);
	ASSERT_EQ(ref_utf8(buf, len, false), kmqtt_codec_utf8_valid(buf, len));
	ASSERT_EQ(ref_utf8(buf, len, true),
		  kmqtt_codec_utf8_well_formed(buf, len));
	ASSERT_EQ(len >= 1 && len <= MQTT_MAX_TOPIC_LEN &&
		  ref_utf8(buf, len, false) && ref_filter_syntax(buf, len),
		  kmqtt_topic_filter_valid(buf, len));
	ASSERT_EQ(len >= 1 && len <= MQTT_MAX_TOPIC_LEN &&
		  ref_utf8(buf, len, false) && !memchr(buf, '+', len) &&
		  !memchr(buf, '#', len),
		  kmqtt_topic_name_valid(buf, len));
	free(buf);
}

TEST(random_bytes)
{
	u8 src[64];
	int iter;
	size_t len, i;

	rng_seed(_metadata);
	for (iter = 0; iter < 200000; iter++) {
		len = rnd(sizeof(src) + 1);
		for (i = 0; i < len; i++)
			src[i] = interesting_byte();
		/* Often a plausible first string length (topic, packet id). */
		if (len > 2 && rnd(2)) {
			src[0] = 0;
			src[1] = rnd(len);
		}
		check_all(_metadata, src, len);
	}
	ASSERT_LT(1000, accepted_hdr);
	ASSERT_LT(100, accepted_pub);
}

/* A random valid filter over a small alphabet. */
static size_t random_filter(u8 *s)
{
	static const char *const words[] = { "a", "", "bc", "+", "\xc3\xa9" };
	size_t n = 0, levels = 1 + rnd(4), i;

	for (i = 0; i < levels; i++) {
		const char *w = i == levels - 1 && !rnd(3) ? "#" :
				words[rnd(ARRAY_SIZE(words))];

		if (i)
			s[n++] = '/';
		memcpy(s + n, w, strlen(w));
		n += strlen(w);
	}
	if (n == 0)
		s[n++] = 'a';
	return n;
}

static size_t valid_sub_body(u8 *buf, bool with_qos)
{
	size_t n = 2, entries = 1 + rnd(5), i, fl;

	buf[0] = rnd(256);
	buf[1] = 1 + rnd(255);
	for (i = 0; i < entries; i++) {
		fl = random_filter(buf + n + 2);
		buf[n] = 0;
		buf[n + 1] = fl;
		n += 2 + fl;
		if (with_qos)
			buf[n++] = rnd(3);
	}
	return n;
}

static size_t valid_publish(u8 *buf)
{
	static const char payload[] = "payload bytes";
	static const char topic[] = "a/b\xc3\xa9/$x";
	struct kmqtt_publish pub = {
		.topic = (const u8 *)topic,
		.topic_len = sizeof(topic) - 1,
		.qos = rnd(3),
		.retain = rnd(2),
		.payload = (const u8 *)payload,
		.payload_len = rnd(sizeof(payload)),
	};

	pub.dup = pub.qos && rnd(2);
	pub.packet_id = pub.qos ? 1 + rnd(65535) : 0;
	return kmqtt_codec_put_publish(buf, &pub);
}

/* Flip, overwrite, drop or insert a few bytes. */
static size_t mutate(u8 *buf, size_t len, size_t cap)
{
	int edits = 1 + rnd(3), e;
	size_t at;

	for (e = 0; e < edits && len; e++) {
		at = rnd(len);
		switch (rnd(4)) {
		case 0:
			buf[at] ^= 1 << rnd(8);
			break;
		case 1:
			buf[at] = interesting_byte();
			break;
		case 2:
			memmove(buf + at, buf + at + 1, len - at - 1);
			len--;
			break;
		default:
			if (len < cap) {
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = interesting_byte();
				len++;
			}
		}
	}
	return len;
}

TEST(mutated_valid_packets)
{
	struct kmqtt_fixed_hdr hdr;
	struct kmqtt_publish pub;
	u8 buf[160];
	size_t len, cut;
	u16 pid;
	int iter;

	rng_seed(_metadata);
	for (iter = 0; iter < 100000; iter++) {
		struct kmqtt_sub_iter it;
		struct kmqtt_props props;
		bool with_qos = rnd(2);
		u8 *copy;

		/* Unchanged, the generators' packets must parse. */
		len = valid_sub_body(buf, with_qos);
		copy = exact_copy(buf, len);
		ASSERT_LT(0, kmqtt_codec_parse_sub(copy, len, with_qos, false, &pid,
						   &it, &props));
		free(copy);
		len = mutate(buf, len, sizeof(buf));
		check_all(_metadata, buf, len);

		len = valid_publish(buf);
		copy = exact_copy(buf, len);
		ASSERT_LT(0, kmqtt_codec_fixed_hdr(copy, len, len, &hdr));
		ASSERT_EQ(0, kmqtt_codec_parse_publish(hdr.flags,
						       copy + hdr.hdr_len,
						       hdr.rem_len, false, &pub));
		free(copy);
		len = mutate(buf, len, sizeof(buf));
		check_all(_metadata, buf, len);
		/* A cut packet: parsers on the body part. */
		cut = rnd(len + 1);
		if (cut > 2)
			check_all(_metadata, buf + 2, cut - 2);
	}
	ksft_print_msg("accepted after mutation: %lu headers, %lu PUBLISH, %lu (UN)SUBSCRIBE\n",
		       accepted_hdr, accepted_pub, accepted_sub);
	fflush(stdout);
	ASSERT_LT(1000, accepted_hdr);
	ASSERT_LT(1000, accepted_pub);
	ASSERT_LT(1000, accepted_sub);
}

/*
 * A stream of packets arriving in random pieces: the framer asks for more
 * bytes (0) until a header is complete and never misreads a boundary.
 */
TEST(stream_framing)
{
	enum { PACKETS = 2000 };
	u8 *stream = malloc(PACKETS * 64), *rx;
	size_t starts[PACKETS + 1], len = 0, have = 0, used = 0;
	struct kmqtt_fixed_hdr hdr;
	int i, got = 0, ret;

	ASSERT_NE(NULL, stream);
	rng_seed(_metadata);
	for (i = 0; i < PACKETS; i++) {
		starts[i] = len;
		switch (rnd(3)) {
		case 0:
			len += valid_publish(stream + len);
			break;
		case 1:
			len += kmqtt_codec_put_ack(stream + len, 4 + rnd(4),
						   1 + rnd(65535), 0);
			break;
		default:
			len += kmqtt_codec_put_pingresp(stream + len);
		}
	}
	starts[PACKETS] = len;

	while (used < len) {
		/* Deliver 1..8 more bytes, in a buffer of exactly that size. */
		have = have + 1 + rnd(8);
		if (have > len)
			have = len;
		for (;;) {
			rx = exact_copy(stream + used, have - used);
			ret = kmqtt_codec_fixed_hdr(rx, have - used, 1000, &hdr);
			free(rx);
			ASSERT_LE(0, ret);
			if (!ret || used + hdr.hdr_len + hdr.rem_len > have)
				break;
			ASSERT_EQ(starts[got], used);
			used += hdr.hdr_len + hdr.rem_len;
			got++;
			if (used == have)
				break;
		}
	}
	ASSERT_EQ(PACKETS, got);
	free(stream);
}

TEST_HARNESS_MAIN
