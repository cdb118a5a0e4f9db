// SPDX-License-Identifier: GPL-2.0
/*
 * Retained messages: stored per topic, sent on SUBSCRIBE (plain and
 * wildcard filters) with RETAIN set, replaced by a newer one, deleted by an
 * empty payload, RETAIN cleared on normal forwarding, and the limits.
 *
 * The store lives in the module: teardown deletes every topic this file
 * uses, so no retained message outlives its test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

static const char *const used_topics[] = {
	"ret/a", "ret/b", "ret/c/d", "ret/e", "ret/q", "ret/lim/1",
	"ret/lim/2", "ret/lim/3", "ret/off",
};

#define N_USED	(sizeof(used_topics) / sizeof(used_topics[0]))

static const struct mqtt_pub_opts at_qos0;
static const struct mqtt_pub_opts retained0 = { .retain = true };
static const struct mqtt_pub_opts retained1 = { .qos = 1, .retain = true,
						.packet_id = 1 };
static const struct mqtt_pub_opts retained2 = { .qos = 2, .retain = true,
						.packet_id = 2 };
static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 3 };

FIXTURE(retain)
{
	struct broker broker;
	struct kmqtt_genl genl;
	uint64_t saved_limits[KMQTT_LIMIT_MAX + 1];
	uint64_t retained_before;
	int pub, sub;
};

static uint64_t retained_count(struct __test_metadata *_metadata,
			       struct kmqtt_genl *g)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];

	ASSERT_EQ(0, kmqtt_genl_get_info(g, stats));
	return stats[KMQTT_STAT_RETAINED];
}

FIXTURE_SETUP(retain)
{
	self->pub = -1;
	self->sub = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->saved_limits));
	self->retained_before = retained_count(_metadata, &self->genl);
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "ret-pub", 0);
	ASSERT_LE(0, self->pub);
	self->sub = mqtt_client_open(self->broker.port, "ret-sub", 0);
	ASSERT_LE(0, self->sub);
}

FIXTURE_TEARDOWN(retain)
{
	size_t i;

	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->saved_limits,
					   KMQTT_GENL_ALL_LIMITS));
	for (i = 0; i < N_USED; i++)
		EXPECT_EQ(0, mqtt_publish(self->pub, used_topics[i], "",
					  &retained1));
	EXPECT_EQ(self->retained_before,
		  retained_count(_metadata, &self->genl));
	close(self->pub);
	close(self->sub);
	broker_stop(&self->broker, !_metadata->passed);
	kmqtt_genl_close(&self->genl);
}

/*
 * A QoS 0 retained PUBLISH, handled by the broker before this returns
 * (PINGRESP follows it): a SUBSCRIBE sent next finds it stored, rather
 * than racing it and getting it forwarded live.
 */
static int store_retained(int fd, const char *topic, const char *payload)
{
	int err = mqtt_publish(fd, topic, payload, &retained0);

	return err ? err : mqtt_sync(fd);
}

/* MQTT-3.3.1-5, MQTT-3.3.1-6, MQTT-3.3.1-8: sent on SUBSCRIBE with RETAIN. */
TEST_F(retain, sent_on_subscribe_with_retain_flag)
{
	ASSERT_EQ(0, store_retained(self->pub, "ret/a", "kept"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/a"));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/a", "kept",
					 &retained0));
}

/* MQTT-3.3.1-6 with wildcards: every matching topic, and only those. */
TEST_F(retain, sent_for_wildcard_filters)
{
	struct mqtt_received m;
	int seen_b = 0, seen_cd = 0, i;

	ASSERT_EQ(0, store_retained(self->pub, "ret/b", "B"));
	ASSERT_EQ(0, store_retained(self->pub, "ret/c/d", "CD"));
	ASSERT_EQ(0, store_retained(self->pub, "ret/e", "E"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/+"));
	/* ret/b and ret/e, in any order: the store is a hash table. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, mqtt_receive(self->sub, &m, true,
					  MQTT_TEST_TIMEOUT_MS));
		ASSERT_TRUE(m.opts.retain)
			TH_LOG("'%s' '%.*s' without RETAIN", m.topic,
			       (int)m.payload_len, m.payload);
		ASSERT_TRUE(!strcmp(m.topic, "ret/b") ||
			    !strcmp(m.topic, "ret/e"));
		seen_b += !strcmp(m.topic, "ret/b");
	}
	ASSERT_EQ(1, seen_b);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, "ret/c/#"));
	ASSERT_EQ(0, mqtt_receive(self->sub, &m, true, MQTT_TEST_TIMEOUT_MS));
	seen_cd = !strcmp(m.topic, "ret/c/d") && m.opts.retain;
	ASSERT_EQ(1, seen_cd);
	/* Nothing more: the sentinel's SUBACK is the next packet. */
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 3, "ret-sentinel"));
}

/* MQTT-3.3.1-5: a newer retained message replaces the old one. */
TEST_F(retain, newer_replaces_older)
{
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/a", "old", &retained0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/a", "new", &retained1));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "ret/a", 1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/a", "new",
					 &retained1));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, "ret-sentinel"));
}

/*
 * MQTT-3.3.1-10/-11: an empty retained payload deletes the stored message
 * and is itself forwarded to current subscribers (MQTT-3.3.1-12), not
 * stored.
 */
TEST_F(retain, empty_payload_deletes)
{
	int other;

	ASSERT_EQ(0, store_retained(self->pub, "ret/a", "x"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/a"));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/a", "x", &retained0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/a", "", &retained0));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/a", "", &at_qos0));

	other = mqtt_client_open(self->broker.port, "ret-other", 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, mqtt_subscribe(other, 1, "ret/a"));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/a", "live", &at_qos0));
	ASSERT_EQ(0, mqtt_expect_message(other, "ret/a", "live", &at_qos0));
	close(other);
}

/*
 * MQTT-3.3.1-9: a retained PUBLISH forwarded to an existing subscription
 * has RETAIN cleared; MQTT-3.3.1-7: a non-retained one leaves the stored
 * message alone.
 */
TEST_F(retain, forwarding_clears_retain)
{
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "ret/e", 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/e", "r", &retained1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/e", "r", &at_qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/e", "plain", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/e", "plain",
					 &at_qos1));
	/* A new subscription still gets "r", not "plain". */
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 2, "ret/e", 1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/e", "r", &retained1));
}

/* MQTT-3.8.4-6: a retained message goes at min(its QoS, granted QoS). */
TEST_F(retain, sent_at_min_of_stored_and_granted_qos)
{
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/q", "two", &retained2));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "ret/q", 1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/q", "two",
					 &retained1));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 2, "ret/q", 2));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/q", "two",
					 &retained2));
	ASSERT_EQ(0, mqtt_sync(self->sub));
}

/*
 * max_retained: past the limit a new topic is not stored (the message is
 * still forwarded); replacing a stored topic is allowed.
 */
TEST_F(retain, max_retained_limit)
{
	uint64_t base = retained_count(_metadata, &self->genl);

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MAX_RETAINED,
					  base + 2));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/lim/3"));
	ASSERT_EQ(0, store_retained(self->pub, "ret/lim/1", "1"));
	ASSERT_EQ(0, store_retained(self->pub, "ret/lim/2", "2"));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/lim/3", "3", &retained0));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/lim/3", "3",
					 &at_qos0));
	ASSERT_EQ(base + 2, retained_count(_metadata, &self->genl));
	ASSERT_EQ(0, store_retained(self->pub, "ret/lim/2", "2b"));
	ASSERT_EQ(base + 2, retained_count(_metadata, &self->genl));

	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, "ret/lim/2"));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/lim/2", "2b",
					 &retained0));
	/* ret/lim/3 was not stored: its new subscription gets nothing. */
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 3, "ret/lim/3"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 4, "ret-sentinel"));
}

/* retain_available false: nothing is stored, messages still flow. */
TEST_F(retain, retain_unavailable_stores_nothing)
{
	uint64_t base = retained_count(_metadata, &self->genl);

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_RETAIN_AVAILABLE, 0));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/off"));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/off", "x", &retained0));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/off", "x", &at_qos0));
	ASSERT_EQ(base, retained_count(_metadata, &self->genl));
}

/* ---- The walk over the store, against a brute-force matcher ---- */

/*
 * Topics of the walk test: more than one slice of the walk (256 visits)
 * begins with "w/", with '$' topics, empty levels and a topic that is
 * another's parent level among them.
 */
#define WALK_TOPICS	700

static void walk_topic(int i, char *buf, size_t size)
{
	static const char *const shapes[] = {
		"w/%d", "w/x/%d", "v/%d/w", "$w/%d", "w//%d", "w/%d/x/y",
		"%d", "w/x/%d/",
	};

	if (i == 7)
		snprintf(buf, size, "w");
	else
		snprintf(buf, size, shapes[i % 8], i);
}

/* MQTT 4.7, written as plainly as it reads: the test's oracle. */
static bool walk_matches(const char *filter, const char *topic)
{
	if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
		return false;			/* MQTT-4.7.2-1 */
	for (;;) {
		size_t flen = strcspn(filter, "/"), tlen = strcspn(topic, "/");

		if (!strcmp(filter, "#"))
			return true;
		if (!(flen == 1 && filter[0] == '+') &&
		    (flen != tlen || strncmp(filter, topic, flen)))
			return false;
		filter += flen;
		topic += tlen;
		if (!*filter)
			return !*topic;
		if (!*topic)			/* "w/#" matches "w" */
			return !strcmp(filter, "/#");
		filter++;
		topic++;
	}
}

static void walk_store(struct __test_metadata *_metadata, int fd, bool clear)
{
	char topic[64], payload[16];
	int i;

	for (i = 0; i < WALK_TOPICS; i++) {
		walk_topic(i, topic, sizeof(topic));
		snprintf(payload, sizeof(payload), "%d", i);
		ASSERT_EQ(0, mqtt_send_publish_opts(fd, topic, payload,
						    clear ? 0 : strlen(payload),
						    &retained0));
	}
	ASSERT_EQ(0, mqtt_sync(fd));
}

/*
 * Every retained message a wildcard SUBSCRIBE unlocks arrives, once, and
 * no other, across the slices the walk takes (MQTT-3.3.1-6).
 */
TEST_F_TIMEOUT(retain, wildcard_walk_matches_brute_force, 180)
{
	static const char *const filters[] = {
		"#", "w/#", "w/+", "w/x/#", "+/+/w", "$w/#", "w//+", "+",
		"w/+/x/+", "v/#", "+/#", "w", "w/x", "$w/+", "+/+",
	};
	char topic[64];
	size_t f;
	int i;

	walk_store(_metadata, self->pub, false);
	for (f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
		static bool got[WALK_TOPICS];
		struct mqtt_packet p = { 0 };
		struct mqtt_publish pub;
		char payload[16];
		int expected = 0, n = 0;
		uint8_t code;

		memset(got, 0, sizeof(got));
		ASSERT_EQ(0, mqtt_send_subscribe(self->sub, 1, &filters[f], 1));
		ASSERT_EQ(0, mqtt_expect_suback(self->sub, 1, &code, 1));
		ASSERT_EQ(0, code);
		/* Answered once every retained message is on its way. */
		ASSERT_EQ(0, mqtt_send_pingreq(self->sub));
		for (;;) {
			ASSERT_EQ(0, mqtt_read_packet(self->sub, &p,
						      MQTT_TEST_TIMEOUT_MS));
			if (p.type == MQTT_PINGRESP)
				break;
			ASSERT_EQ(0, mqtt_parse_publish(&p, &pub));
			ASSERT_TRUE(pub.opts.retain);
			ASSERT_GT(sizeof(payload), pub.payload_len);
			memcpy(payload, pub.payload, pub.payload_len);
			payload[pub.payload_len] = 0;
			i = atoi(payload);
			ASSERT_TRUE(i >= 0 && i < WALK_TOPICS);
			EXPECT_FALSE(got[i]) TH_LOG("%s twice", payload);
			got[i] = true;
			n++;
		}
		mqtt_packet_free(&p);
		for (i = 0; i < WALK_TOPICS; i++) {
			walk_topic(i, topic, sizeof(topic));
			expected += walk_matches(filters[f], topic);
			EXPECT_EQ(walk_matches(filters[f], topic), got[i])
				TH_LOG("filter %s, topic %s", filters[f], topic);
		}
		TH_LOG("%s: %d retained messages, %d expected", filters[f], n,
		       expected);
		ASSERT_EQ(0, mqtt_send_unsubscribe(self->sub, 2, &filters[f],
						   1));
		ASSERT_EQ(0, mqtt_expect_unsuback(self->sub, 2));
	}
	walk_store(_metadata, self->pub, true);
}

TEST_HARNESS_MAIN
