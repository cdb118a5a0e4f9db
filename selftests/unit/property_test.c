// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/property.c: MQTT 5.0 property blocks (2.2.2).  Table tests for each
 * rule the parser enforces, then random blocks built from a model of
 * (identifier, value) entries, whose expected verdict the model decides
 * on its own, and random bytes in buffers of their exact size (ASan).
 *
 * KMQTT_SEED=N picks the seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <kmqtt/mqtt.h>
#include "codec.h"
#include "property.h"

#include "kselftest_harness.h"

/* A block under construction, with its length in front at parse time. */
struct block {
	u8 b[4096];
	size_t len;
};

static void put(struct block *k, const void *p, size_t n)
{
	memcpy(k->b + k->len, p, n);
	k->len += n;
}

static void put_u8(struct block *k, u8 v)
{
	put(k, &v, 1);
}

static void put_u16(struct block *k, u16 v)
{
	put_u8(k, v >> 8);
	put_u8(k, v & 0xff);
}

static void put_u32(struct block *k, u32 v)
{
	put_u16(k, v >> 16);
	put_u16(k, v & 0xffff);
}

static void put_str(struct block *k, const char *s)
{
	put_u16(k, strlen(s));
	put(k, s, strlen(s));
}

/* Parse @k as packet @in carries it: length in front, exact buffer. */
static int parse(const struct block *k, enum kmqtt_props_in in,
		 struct kmqtt_props *p)
{
	u8 *buf = malloc(k->len + 4);
	u8 *body = kmqtt_codec_put_varint(buf, k->len);
	size_t total;
	int ret;

	memcpy(body, k->b, k->len);
	total = body - buf + k->len;
	ret = kmqtt_props_parse(buf, total, in, p);
	/* Pointers into a freed buffer are not followed below. */
	free(buf);
	if (ret >= 0 && (size_t)ret != total)
		return -ERANGE;
	return ret < 0 ? ret : 0;
}

TEST(every_publish_property_parsed)
{
	struct kmqtt_props p;
	struct block k = { .len = 0 };

	put_u8(&k, MQTT_PROP_PAYLOAD_FORMAT);
	put_u8(&k, 1);
	put_u8(&k, MQTT_PROP_MESSAGE_EXPIRY);
	put_u32(&k, 3600);
	put_u8(&k, MQTT_PROP_CONTENT_TYPE);
	put_str(&k, "text/plain");
	put_u8(&k, MQTT_PROP_RESPONSE_TOPIC);
	put_str(&k, "reply/to");
	put_u8(&k, MQTT_PROP_CORRELATION_DATA);
	put_str(&k, "\x01\x02");
	put_u8(&k, MQTT_PROP_TOPIC_ALIAS);
	put_u16(&k, 3);
	put_u8(&k, MQTT_PROP_USER_PROPERTY);
	put_str(&k, "k");
	put_str(&k, "v");
	put_u8(&k, MQTT_PROP_USER_PROPERTY);
	put_str(&k, "k");
	put_str(&k, "w");
	ASSERT_EQ(0, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	EXPECT_EQ(1, p.payload_format);
	EXPECT_EQ(3600, p.message_expiry);
	EXPECT_EQ(3, p.topic_alias);
	EXPECT_TRUE(kmqtt_props_has(&p, MQTT_PROP_CORRELATION_DATA));
	/* Expiry (5 bytes) and alias (3) are per subscriber, not passed on. */
	EXPECT_EQ(k.len - 8, p.forward_len);
}

/* 2.2.2.2: where each property may appear. */
TEST(property_in_the_wrong_packet_is_a_protocol_error)
{
	struct kmqtt_props p;
	struct block k = { .len = 0 };

	put_u8(&k, MQTT_PROP_SESSION_EXPIRY);
	put_u32(&k, 10);
	EXPECT_EQ(0, parse(&k, KMQTT_PROPS_CONNECT, &p));
	EXPECT_EQ(0, parse(&k, KMQTT_PROPS_DISCONNECT, &p));
	EXPECT_EQ(-EINVAL, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	EXPECT_EQ(-EINVAL, parse(&k, KMQTT_PROPS_SUBSCRIBE, &p));
	k.len = 0;
	put_u8(&k, MQTT_PROP_WILL_DELAY);
	put_u32(&k, 10);
	EXPECT_EQ(0, parse(&k, KMQTT_PROPS_WILL, &p));
	EXPECT_EQ(-EINVAL, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	k.len = 0;
	put_u8(&k, MQTT_PROP_USER_PROPERTY);
	put_str(&k, "a");
	put_str(&k, "b");
	EXPECT_EQ(0, parse(&k, KMQTT_PROPS_ACK, &p));
	EXPECT_EQ(0, parse(&k, KMQTT_PROPS_UNSUBSCRIBE, &p));
}

/* 2.2.2.2: a property twice is a protocol error, but these two. */
TEST(duplicates)
{
	struct kmqtt_props p;
	struct block k = { .len = 0 };

	put_u8(&k, MQTT_PROP_CONTENT_TYPE);
	put_str(&k, "a");
	put_u8(&k, MQTT_PROP_CONTENT_TYPE);
	put_str(&k, "b");
	EXPECT_EQ(-EINVAL, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	k.len = 0;
	put_u8(&k, MQTT_PROP_SUBSCRIPTION_ID);
	put_u8(&k, 5);
	put_u8(&k, MQTT_PROP_SUBSCRIPTION_ID);
	put_u8(&k, 6);
	EXPECT_EQ(0, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	EXPECT_EQ(5, p.subscription_id);
	EXPECT_EQ(-EINVAL, parse(&k, KMQTT_PROPS_SUBSCRIBE, &p));
}

/* Values out of their range, bad encodings: malformed. */
TEST(bad_values_are_malformed)
{
	static const struct {
		u8 id;
		u32 value;
		u8 size;
	} bad[] = {
		{ MQTT_PROP_PAYLOAD_FORMAT, 2, 1 },
		{ MQTT_PROP_REQUEST_PROBLEM_INFO, 2, 1 },
		{ MQTT_PROP_RECEIVE_MAX, 0, 2 },
		{ MQTT_PROP_MAX_PACKET_SIZE, 0, 4 },
		{ MQTT_PROP_MAX_QOS, 2, 1 },
	};
	struct kmqtt_props p;
	struct block k;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		enum kmqtt_props_in in = bad[i].id == MQTT_PROP_MAX_QOS ?
					 KMQTT_PROPS_CONNACK :
					 bad[i].id == MQTT_PROP_PAYLOAD_FORMAT ?
					 KMQTT_PROPS_PUBLISH : KMQTT_PROPS_CONNECT;

		k.len = 0;
		put_u8(&k, bad[i].id);
		if (bad[i].size == 1)
			put_u8(&k, bad[i].value);
		else if (bad[i].size == 2)
			put_u16(&k, bad[i].value);
		else
			put_u32(&k, bad[i].value);
		EXPECT_EQ(-EPROTO, parse(&k, in, &p)) TH_LOG("id %#x", bad[i].id);
	}
	k.len = 0;
	put_u8(&k, MQTT_PROP_SUBSCRIPTION_ID);	/* 3.8.2.1.2: protocol error */
	put_u8(&k, 0);
	EXPECT_EQ(-EINVAL, parse(&k, KMQTT_PROPS_SUBSCRIBE, &p));
	k.len = 0;
	put_u8(&k, MQTT_PROP_SUBSCRIPTION_ID);
	put(&k, "\x80\x80\x80\x80\x01", 5);
	EXPECT_EQ(-EPROTO, parse(&k, KMQTT_PROPS_SUBSCRIBE, &p));
	k.len = 0;
	put_u8(&k, MQTT_PROP_RESPONSE_TOPIC);	/* MQTT-3.3.2-14 */
	put_str(&k, "a/+");
	EXPECT_EQ(-EPROTO, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	k.len = 0;
	put_u8(&k, MQTT_PROP_CONTENT_TYPE);	/* MQTT-1.5.4-1 */
	put_str(&k, "\xed\xa0\x80");
	EXPECT_EQ(-EPROTO, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	k.len = 0;
	put_u8(&k, MQTT_PROP_USER_PROPERTY);
	put_str(&k, "ok");
	put_str(&k, "\xc0\x80");
	EXPECT_EQ(-EPROTO, parse(&k, KMQTT_PROPS_PUBLISH, &p));
	k.len = 0;
	put_u8(&k, 0x7f);			/* no such identifier */
	put_u8(&k, 0);
	EXPECT_EQ(-EPROTO, parse(&k, KMQTT_PROPS_PUBLISH, &p));
}

/* Every cut of a valid block, and a length past the buffer, is malformed. */
TEST(truncated_blocks)
{
	struct kmqtt_props p;
	struct block k = { .len = 0 };
	size_t cut, first;
	u8 *buf;

	put_u8(&k, MQTT_PROP_USER_PROPERTY);
	put_str(&k, "name");
	put_str(&k, "value");
	first = k.len;
	put_u8(&k, MQTT_PROP_MESSAGE_EXPIRY);
	put_u32(&k, 1);
	buf = malloc(1 + k.len);
	buf[0] = k.len;
	memcpy(buf + 1, k.b, k.len);
	ASSERT_EQ(1 + (int)k.len, kmqtt_props_parse(buf, 1 + k.len,
						    KMQTT_PROPS_PUBLISH, &p));
	for (cut = 0; cut < k.len; cut++) {
		/* The length says what is there: entries cut in the middle. */
		buf[0] = cut;
		if (!cut || cut == first)
			continue;
		EXPECT_GT(0, kmqtt_props_parse(buf, 1 + cut,
					       KMQTT_PROPS_PUBLISH, &p))
			TH_LOG("cut at %zu", cut);
	}
	buf[0] = k.len;
	for (cut = 0; cut < 1 + k.len; cut++)
		EXPECT_EQ(-EPROTO, kmqtt_props_parse(buf, cut,
						     KMQTT_PROPS_PUBLISH, &p));
	free(buf);
}

static u64 rng_state;

static u32 rnd(u32 n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (u32)((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

static void rng_seed(struct __test_metadata *_metadata)
{
	const char *env = getenv("KMQTT_SEED");

	rng_state = env ? strtoull(env, NULL, 0) : 20261202;
	ksft_print_msg("%s: seed %llu (set KMQTT_SEED to change)\n",
		       _metadata->name, (unsigned long long)rng_state);
	fflush(stdout);
	rng_state = rng_state * 2 + 1;
}

/*
 * The model: PUBLISH blocks of entries drawn from a few identifiers, each
 * valid or not; the verdict follows from the entries alone.
 */
TEST(random_publish_blocks_against_a_model)
{
	static const u8 ids[] = {
		MQTT_PROP_PAYLOAD_FORMAT, MQTT_PROP_MESSAGE_EXPIRY,
		MQTT_PROP_CONTENT_TYPE, MQTT_PROP_TOPIC_ALIAS,
		MQTT_PROP_USER_PROPERTY, MQTT_PROP_SESSION_EXPIRY,
	};
	unsigned long accepted = 0, round;

	rng_seed(_metadata);
	for (round = 0; round < 20000; round++) {
		struct kmqtt_props p;
		struct block k = { .len = 0 };
		bool seen[64] = { false }, malformed = false, protocol = false;
		size_t forward = 0, n = rnd(6), i;
		int expect, got;

		for (i = 0; i < n; i++) {
			u8 id = ids[rnd(sizeof(ids))];
			size_t start = k.len;
			bool bad = !rnd(8);

			put_u8(&k, id);
			switch (id) {
			case MQTT_PROP_PAYLOAD_FORMAT:
				put_u8(&k, bad ? 2 + rnd(250) : rnd(2));
				break;
			case MQTT_PROP_MESSAGE_EXPIRY:
			case MQTT_PROP_SESSION_EXPIRY:
				put_u32(&k, rnd(1000));
				bad = false;
				break;
			case MQTT_PROP_CONTENT_TYPE:
				put_str(&k, bad ? "\xff" : "t");
				break;
			case MQTT_PROP_TOPIC_ALIAS:
				put_u16(&k, rnd(100));
				bad = false;
				break;
			case MQTT_PROP_USER_PROPERTY:
				put_str(&k, "u");
				put_str(&k, bad ? "\xc0" : "v");
				break;
			}
			/*
			 * The parser stops at the first fault: a bad encoding
			 * (UTF-8) before the place and duplicates, a value
			 * out of range after them.
			 */
			if (malformed || protocol)
				continue;
			if (bad && id != MQTT_PROP_PAYLOAD_FORMAT)
				malformed = true;
			else if (id == MQTT_PROP_SESSION_EXPIRY ||
				 (seen[id] && id != MQTT_PROP_USER_PROPERTY))
				protocol = true;
			else if (bad)
				malformed = true;
			seen[id] = true;
			if (id != MQTT_PROP_MESSAGE_EXPIRY &&
			    id != MQTT_PROP_TOPIC_ALIAS)
				forward += k.len - start;
		}
		expect = malformed ? -EPROTO : protocol ? -EINVAL : 0;
		got = parse(&k, KMQTT_PROPS_PUBLISH, &p);
		ASSERT_EQ(expect, got) TH_LOG("round %lu", round);
		if (!got) {
			ASSERT_EQ(forward, p.forward_len);
			accepted++;
		}
	}
	ASSERT_LT(1000, accepted);
}

/* Random bytes: never read outside the buffer, accepted ones consistent. */
TEST(random_bytes)
{
	unsigned long round;

	rng_seed(_metadata);
	for (round = 0; round < 50000; round++) {
		size_t len = rnd(40), i;
		u8 *buf = malloc(len ? len : 1);
		struct kmqtt_props p;
		int ret;

		for (i = 0; i < len; i++)
			buf[i] = rnd(4) ? rnd(0x2b) : rnd(256);
		ret = kmqtt_props_parse(buf, len, rnd(11), &p);
		if (ret >= 0) {
			ASSERT_GE((int)len, ret);
			ASSERT_GE(p.len, p.forward_len);
		}
		free(buf);
	}
}

TEST_HARNESS_MAIN
