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
	"ret/lim/2", "ret/lim/3", "ret/off", "ret/big", "$ret/sys",
	"ret/exp", "$ret/state",
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

/* Retained messages as a snapshot dump gives them, copied. */
struct dumped {
	struct kmqtt_nl_msg m[64];
	size_t count;
	bool overflow;
};

static void keep_dumped(const struct kmqtt_nl_msg *m, void *arg)
{
	struct dumped *d = arg;
	uint8_t *copy;

	if (d->count == 64 || !(copy = malloc(m->len))) {
		d->overflow = true;
		return;
	}
	memcpy(copy, m->data, m->len);
	d->m[d->count] = *m;
	d->m[d->count++].data = copy;
}

static void free_dumped(struct dumped *d)
{
	while (d->count)
		free((void *)d->m[--d->count].data);
}

/* The dumped message of @topic, or NULL. */
static const struct kmqtt_nl_msg *find_dumped(const struct dumped *d,
					      const char *topic)
{
	size_t i, len = strlen(topic);

	for (i = 0; i < d->count; i++)
		if (d->m[i].len >= 2 + len &&
		    (d->m[i].data[0] << 8 | d->m[i].data[1]) == (int)len &&
		    !memcmp(d->m[i].data + 2, topic, len))
			return &d->m[i];
	return NULL;
}

/* A message as the module stores it, with no properties (3.1.1). */
static size_t stored_form(uint8_t *buf, const char *topic,
			  const char *payload)
{
	size_t tlen = strlen(topic), plen = strlen(payload);

	buf[0] = tlen >> 8;
	buf[1] = tlen & 0xff;
	memcpy(buf + 2, topic, tlen);
	buf[2 + tlen] = 0;
	memcpy(buf + 3 + tlen, payload, plen);
	return 3 + tlen + plen;
}

/*
 * What the agent saves (persistence) comes back whole: the dump gives
 * every retained message, "$" topics too, a large one in several parts,
 * and storing them again after they were deleted brings them back for
 * subscribers.
 */
TEST_F(retain, snapshot_dump_and_restore)
{
	static const char *const topics[] = { "ret/a", "ret/big", "$ret/sys" };
	size_t big_len = 200000, i;
	struct dumped d = { 0 };
	char *big = malloc(big_len + 1);
	uint64_t base = retained_count(_metadata, &self->genl);

	ASSERT_NE(NULL, big);
	for (i = 0; i < big_len; i++)
		big[i] = 'a' + i % 23;
	big[big_len] = 0;
	ASSERT_EQ(0, store_retained(self->pub, "ret/a", "small"));
	ASSERT_EQ(0, mqtt_publish(self->pub, "ret/big", big, &retained1));
	ASSERT_EQ(0, store_retained(self->pub, "$ret/sys", "dollar"));

	ASSERT_EQ(0, kmqtt_nl_dump_retained(&self->genl.nl, keep_dumped, &d))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_FALSE(d.overflow);
	ASSERT_EQ(base + 3, d.count);
	for (i = 0; i < 3; i++)
		ASSERT_NE(NULL, find_dumped(&d, topics[i]));
	ASSERT_EQ(2 + 7 + 1 + big_len, find_dumped(&d, "ret/big")->len);
	EXPECT_EQ(1, find_dumped(&d, "ret/big")->qos);
	EXPECT_EQ(0, find_dumped(&d, "ret/big")->expiry);
	EXPECT_EQ(0, memcmp(find_dumped(&d, "ret/big")->data + 10, big,
			    big_len));

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mqtt_publish(self->pub, topics[i], "",
					  &retained1));
	ASSERT_EQ(base, retained_count(_metadata, &self->genl));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, kmqtt_nl_set_retained(&self->genl.nl,
						   find_dumped(&d, topics[i])))
			TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(base + 3, retained_count(_metadata, &self->genl));

	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/a"));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/a", "small",
					 &retained0));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, "$ret/sys"));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "$ret/sys", "dollar",
					 &retained0));
	free_dumped(&d);
	ASSERT_EQ(0, kmqtt_nl_dump_retained(&self->genl.nl, keep_dumped, &d));
	ASSERT_NE(NULL, find_dumped(&d, "ret/big"));
	EXPECT_EQ(0, memcmp(find_dumped(&d, "ret/big")->data + 10, big,
			    big_len));
	free_dumped(&d);
	free(big);
}

/*
 * A restored 5.0 message keeps its properties and the time it had left,
 * which runs from the restore; once passed, dumps leave it out.
 */
TEST_F(retain, snapshot_restores_expiry)
{
	/* "ret/exp", a User Property ("k", "v"), payload "p" */
	static const uint8_t data[] = {
		0, 7, 'r', 'e', 't', '/', 'e', 'x', 'p', 7,
		0x26, 0, 1, 'k', 0, 1, 'v', 'p' };
	struct kmqtt_nl_msg m = { .qos = 1, .expiry = 2, .data = data,
				  .len = sizeof(data) };
	const struct kmqtt_nl_msg *got;
	struct dumped d = { 0 };

	ASSERT_EQ(0, kmqtt_nl_set_retained(&self->genl.nl, &m))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(0, kmqtt_nl_dump_retained(&self->genl.nl, keep_dumped, &d));
	got = find_dumped(&d, "ret/exp");
	ASSERT_NE(NULL, got);
	EXPECT_EQ(sizeof(data), got->len);
	EXPECT_EQ(0, memcmp(data, got->data, sizeof(data)));
	EXPECT_EQ(1, got->qos);
	EXPECT_LE(1, got->expiry);
	EXPECT_GE(2, got->expiry);
	free_dumped(&d);

	sleep(3);
	ASSERT_EQ(0, kmqtt_nl_dump_retained(&self->genl.nl, keep_dumped, &d));
	EXPECT_EQ(NULL, find_dumped(&d, "ret/exp"));
	free_dumped(&d);
}

/*
 * A snapshot is the agent's to write, but what it hands back is checked
 * as a client's PUBLISH would be: nothing wrong is stored.
 */
TEST_F(retain, snapshot_restore_refuses_what_is_not_a_message)
{
	uint64_t base = retained_count(_metadata, &self->genl);
	/* topic "ret/q", a Topic Alias (not passed on), payload "p" */
	static const uint8_t alias[] = {
		0, 5, 'r', 'e', 't', '/', 'q', 3, 0x23, 0, 1, 'p' };
	/* topic length past the end */
	static const uint8_t overrun[] = { 0, 9, 'r', 'e', 't' };
	struct kmqtt_nl_msg m = { .qos = 0 };
	uint8_t buf[64];

	m.data = buf;
	m.len = stored_form(buf, "ret/+", "p");
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_retained(&self->genl.nl, &m));
	m.len = stored_form(buf, "ret/q", "");
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_retained(&self->genl.nl, &m));
	m.len = stored_form(buf, "ret/q", "p") - 1;
	buf[2 + 5] = 5;		/* a property block running past the end */
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_retained(&self->genl.nl, &m));
	m.data = alias;
	m.len = sizeof(alias);
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_retained(&self->genl.nl, &m));
	m.data = overrun;
	m.len = sizeof(overrun);
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_retained(&self->genl.nl, &m));
	m.len = 0;
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_retained(&self->genl.nl, &m));
	m.data = buf;
	m.len = stored_form(buf, "ret/q", "p");
	m.qos = 3;
	EXPECT_EQ(-ERANGE, kmqtt_nl_set_retained(&self->genl.nl, &m));
	EXPECT_EQ(base, retained_count(_metadata, &self->genl));

	/* Not while retained messages are off, nor past the packet size. */
	m.qos = 0;
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_RETAIN_AVAILABLE, 0));
	EXPECT_EQ(-EOPNOTSUPP, kmqtt_nl_set_retained(&self->genl.nl, &m));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_RETAIN_AVAILABLE, 1));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_PACKET_SIZE,
					  m.len - 1));
	EXPECT_EQ(-EMSGSIZE, kmqtt_nl_set_retained(&self->genl.nl, &m));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_PACKET_SIZE,
					  self->saved_limits[KMQTT_LIMIT_MAX_PACKET_SIZE]));
	EXPECT_EQ(base, retained_count(_metadata, &self->genl));

	/* A good one, within the limits. */
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MAX_RETAINED,
					  base ? base : 1));
	if (!base) {
		ASSERT_EQ(0, kmqtt_nl_set_retained(&self->genl.nl, &m));
		m.len = stored_form(buf, "ret/e", "p");
	}
	EXPECT_EQ(-ENOSPC, kmqtt_nl_set_retained(&self->genl.nl, &m));
	EXPECT_EQ(base ? base : 1, retained_count(_metadata, &self->genl));
}

/*
 * The broker's own messages (KMQTT_CMD_PUBLISH: bridge notifications,
 * $SYS topics) go to every matching subscription at its QoS, a "$" topic
 * not to "#" (MQTT-4.7.2-1); retained, one is stored, and an empty one
 * clears it.
 */
TEST_F(retain, broker_publish_delivers_and_retains)
{
	uint64_t base = retained_count(_metadata, &self->genl);
	struct kmqtt_nl_msg m = { .qos = 1 };
	uint8_t buf[64];
	int all, late;

	m.data = buf;
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "$ret/#", 1));
	all = mqtt_client_open(self->broker.port, "ret-all", 0);
	ASSERT_LE(0, all);
	ASSERT_EQ(0, mqtt_subscribe(all, 1, "#"));
	m.len = stored_form(buf, "$ret/state", "1");
	ASSERT_EQ(0, kmqtt_nl_publish(&self->genl.nl, &m, true))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "$ret/state", "1",
					 &at_qos1));
	EXPECT_EQ(base + 1, retained_count(_metadata, &self->genl));
	late = mqtt_client_open(self->broker.port, "ret-late", 0);
	ASSERT_LE(0, late);
	ASSERT_EQ(0, mqtt_subscribe(late, 1, "$ret/state"));
	ASSERT_EQ(0, mqtt_expect_message(late, "$ret/state", "1",
					 &retained0));
	close(late);

	/* Not retained: delivered, not stored. */
	m.qos = 0;
	m.len = stored_form(buf, "$ret/state", "2");
	ASSERT_EQ(0, kmqtt_nl_publish(&self->genl.nl, &m, false));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "$ret/state", "2",
					 &at_qos0));
	EXPECT_EQ(base + 1, retained_count(_metadata, &self->genl));
	/* Empty and retained: delivered, and the stored one is gone. */
	m.len = stored_form(buf, "$ret/state", "");
	ASSERT_EQ(0, kmqtt_nl_publish(&self->genl.nl, &m, true));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "$ret/state", "",
					 &at_qos0));
	EXPECT_EQ(base, retained_count(_metadata, &self->genl));

	/*
	 * "#" got none of them: the first it reads is this, published at
	 * QoS 1, at its subscription's QoS 0.
	 */
	m.qos = 1;
	m.len = stored_form(buf, "ret/a", "plain");
	ASSERT_EQ(0, kmqtt_nl_publish(&self->genl.nl, &m, false));
	ASSERT_EQ(0, mqtt_expect_message(all, "ret/a", "plain", &at_qos0));
	close(all);
}

/*
 * A retained message the store refuses is delivered all the same, and
 * the request says it was not stored.
 */
TEST_F(retain, broker_publish_says_when_not_stored)
{
	uint64_t base = retained_count(_metadata, &self->genl);
	struct kmqtt_nl_msg m = { .qos = 0 };
	uint8_t buf[64];

	m.data = buf;
	m.len = stored_form(buf, "ret/lim/1", "over");
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MAX_RETAINED,
					  base ? base : 1));
	if (!base)
		ASSERT_EQ(0, store_retained(self->pub, "ret/lim/2", "fill"));
	/* On "ret/lim/1" only: none of the stored ones comes. */
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/lim/1"));
	EXPECT_EQ(-ENOSPC, kmqtt_nl_publish(&self->genl.nl, &m, true));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/lim/1", "over",
					 &at_qos0));
	m.len = stored_form(buf, "ret/off", "off");
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, "ret/off"));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_RETAIN_AVAILABLE, 0));
	EXPECT_EQ(-EOPNOTSUPP, kmqtt_nl_publish(&self->genl.nl, &m, true));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/off", "off",
					 &at_qos0));
	EXPECT_EQ(base ? base : 1, retained_count(_metadata, &self->genl));
}

/* What is not a message, or finds no room, is refused and goes nowhere. */
TEST_F(retain, broker_publish_refuses_what_is_not_a_message)
{
	struct kmqtt_nl_msg m = { .qos = 0 };
	uint8_t buf[64];

	m.data = buf;
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "ret/#"));
	m.len = stored_form(buf, "ret/+", "p");
	EXPECT_EQ(-EINVAL, kmqtt_nl_publish(&self->genl.nl, &m, false));
	m.len = 0;
	EXPECT_EQ(-EINVAL, kmqtt_nl_publish(&self->genl.nl, &m, false));
	m.len = stored_form(buf, "ret/q", "p");
	m.qos = 3;
	EXPECT_EQ(-ERANGE, kmqtt_nl_publish(&self->genl.nl, &m, false));
	m.qos = 0;
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MEMORY, 1));
	EXPECT_EQ(-ENOSPC, kmqtt_nl_publish(&self->genl.nl, &m, false));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MEMORY,
					  self->saved_limits[KMQTT_LIMIT_MEMORY]));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_PACKET_SIZE,
					  m.len - 1));
	EXPECT_EQ(-EMSGSIZE, kmqtt_nl_publish(&self->genl.nl, &m, false));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_PACKET_SIZE,
					  self->saved_limits[KMQTT_LIMIT_MAX_PACKET_SIZE]));
	m.len = stored_form(buf, "ret/e", "good");
	ASSERT_EQ(0, kmqtt_nl_publish(&self->genl.nl, &m, false));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "ret/e", "good",
					 &at_qos0));
}

TEST_HARNESS_MAIN
