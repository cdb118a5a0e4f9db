// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of agent/sys.c, the $SYS/broker tree, with fakes in place of
 * the module (GET_INFO and KMQTT_CMD_PUBLISH): the topics and payloads of
 * a first update, that only what changed is published again, the moving
 * averages against Mosquitto's formula worked by hand, clearing when
 * turned off, a refused publish tried again, and the timer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmqtt/version.h>

#include "own_publish.h"
#include "sys.h"
#include "kselftest_harness.h"

#define MAX_SEEN	4096
/* The harness has no floating point comparison. */
#define EXPECT_NEAR(want, got, eps)	EXPECT_GT((eps), fabs((want) - (got)))

/* What the fake module was given, in order. */
struct seen {
	char topic[SYS_TOPIC_MAX];
	char payload[SYS_VALUE_MAX];
	uint8_t qos;
	bool retain;
};

static struct seen seen[MAX_SEEN];
static size_t n_seen;
static int publish_err;			/* the fake's next answer */
static struct kmqtt_nl_info fake_info;

static int fake_publish(struct kmqtt_nl *nl, const struct kmqtt_nl_msg *m,
			bool retain)
{
	size_t tlen = (size_t)m->data[0] << 8 | m->data[1];
	struct seen *s = &seen[n_seen];

	(void)nl;
	if (publish_err)
		return publish_err;
	if (n_seen == MAX_SEEN || tlen >= sizeof(s->topic) ||
	    m->len < 2 + tlen + 1 || m->data[2 + tlen] != 0 ||
	    m->len - 3 - tlen >= sizeof(s->payload))
		abort();
	memcpy(s->topic, m->data + 2, tlen);
	s->topic[tlen] = '\0';
	memcpy(s->payload, m->data + 3 + tlen, m->len - 3 - tlen);
	s->payload[m->len - 3 - tlen] = '\0';
	s->qos = m->qos;
	s->retain = retain;
	n_seen++;
	return 0;
}

static int fake_get_info(struct kmqtt_nl *nl, struct kmqtt_nl_info *info)
{
	(void)nl;
	*info = fake_info;
	return 0;
}

static const struct sys_ops fake_ops = {
	.get_info = fake_get_info,
	.publish = fake_publish,
};

/* The payload last published on $SYS/broker/@name, or NULL. */
static const char *last(const char *name)
{
	char topic[SYS_TOPIC_MAX];
	size_t i;

	snprintf(topic, sizeof(topic), "$SYS/broker/%s", name);
	for (i = n_seen; i-- > 0;)
		if (!strcmp(seen[i].topic, topic))
			return seen[i].payload;
	return NULL;
}

FIXTURE(sys)
{
	struct kmqtt_nl nl;
	struct sys_tree t;
};

FIXTURE_SETUP(sys)
{
	memset(&self->nl, 0, sizeof(self->nl));
	n_seen = 0;
	publish_err = 0;
	memset(&fake_info, 0, sizeof(fake_info));
	fake_info.version = 1;
	fake_info.stats[KMQTT_STAT_SESSIONS] = 5;
	fake_info.stats[KMQTT_STAT_CONNECTIONS] = 3;
	fake_info.stats[KMQTT_STAT_CONNECTIONS_TOTAL] = 40;
	fake_info.stats[KMQTT_STAT_SESSIONS_EXPIRED] = 2;
	fake_info.stats[KMQTT_STAT_MSGS_IN] = 1000;
	fake_info.stats[KMQTT_STAT_MSGS_OUT] = 2500;
	fake_info.stats[KMQTT_STAT_MSGS_DROPPED] = 7;
	fake_info.stats[KMQTT_STAT_BYTES_IN] = 123456;
	fake_info.stats[KMQTT_STAT_BYTES_OUT] = 654321;
	fake_info.stats[KMQTT_STAT_SUBSCRIPTIONS] = 11;
	fake_info.stats[KMQTT_STAT_RETAINED] = 4;
	fake_info.stats[KMQTT_STAT_QUEUED] = 6;
	fake_info.stats[KMQTT_STAT_INFLIGHT] = 1;
	fake_info.stats[KMQTT_STAT_MEMORY] = 65536;
	/* kmqttd started at 1000 ms; $SYS on 10 s later */
	sys_init(&self->t, &self->nl, &fake_ops, 1000);
}

FIXTURE_TEARDOWN(sys)
{
}

/* Off by default: no timer, nothing published. */
TEST_F(sys, off_until_configured)
{
	EXPECT_EQ(-1, sys_timeout(&self->t, 5000));
	sys_tick(&self->t, 5000);
	EXPECT_EQ(0, n_seen);
}

/* The first update: every topic, retained at QoS 2, Mosquitto's forms. */
TEST_F(sys, first_update_publishes_every_topic)
{
	char topic[SYS_TOPIC_MAX];
	unsigned int i;
	size_t j;

	sys_configure(&self->t, 10, 11000);
	EXPECT_EQ(0, sys_timeout(&self->t, 11000));
	sys_tick(&self->t, 11500);
	ASSERT_EQ(SYS_TOPICS, n_seen);
	for (j = 0; j < n_seen; j++) {
		EXPECT_EQ(SYS_QOS, seen[j].qos);
		EXPECT_TRUE(seen[j].retain);
	}
	/* Each topic once, named as Mosquitto names it. */
	for (i = 0; i < SYS_TOPICS; i++)
		EXPECT_STREQ(sys_topic_name(i, topic), seen[i].topic);
	EXPECT_STREQ("$SYS/broker/retained messages/count",
		     sys_topic_name(SYS_RETAINED, topic));
	EXPECT_STREQ("$SYS/broker/load/connections/15min",
		     sys_topic_name(SYS_TOPICS - 1, topic));
	EXPECT_STREQ("$SYS/broker/load/messages/received/1min",
		     sys_topic_name(SYS_FIGURES, topic));

	EXPECT_STREQ("kmqtt version " KMQTT_VERSION, last("version"));
	EXPECT_STREQ("10 seconds", last("uptime"));
	EXPECT_STREQ("5", last("clients/total"));
	EXPECT_STREQ("5", last("clients/maximum"));
	EXPECT_STREQ("3", last("clients/connected"));
	EXPECT_STREQ("3", last("clients/active"));
	EXPECT_STREQ("2", last("clients/disconnected"));
	EXPECT_STREQ("2", last("clients/inactive"));
	EXPECT_STREQ("2", last("clients/expired"));
	EXPECT_STREQ("1000", last("messages/received"));
	EXPECT_STREQ("2500", last("messages/sent"));
	EXPECT_STREQ("1000", last("publish/messages/received"));
	EXPECT_STREQ("2500", last("publish/messages/sent"));
	EXPECT_STREQ("7", last("publish/messages/dropped"));
	EXPECT_STREQ("123456", last("bytes/received"));
	EXPECT_STREQ("654321", last("bytes/sent"));
	EXPECT_STREQ("11", last("subscriptions/count"));
	EXPECT_STREQ("4", last("retained messages/count"));
	EXPECT_STREQ("11", last("messages/stored"));
	EXPECT_STREQ("11", last("store/messages/count"));
	EXPECT_STREQ("65536", last("heap/current"));
	EXPECT_STREQ("65536", last("heap/maximum"));
	/* The averages start at 0, as Mosquitto's. */
	EXPECT_STREQ("0.00", last("load/messages/received/1min"));
	EXPECT_STREQ("0.00", last("load/bytes/sent/15min"));
	EXPECT_STREQ("0.00", last("load/connections/5min"));
	EXPECT_EQ(10000, sys_timeout(&self->t, 11500));
}

/* Then only what changed: the uptime, and here one counter and its load. */
TEST_F(sys, only_changes_are_published_again)
{
	sys_configure(&self->t, 10, 11000);
	sys_tick(&self->t, 11000);
	n_seen = 0;
	sys_tick(&self->t, 20999);
	EXPECT_EQ(0, n_seen);
	sys_tick(&self->t, 21000);
	ASSERT_EQ(1, n_seen);
	EXPECT_STREQ("$SYS/broker/uptime", seen[0].topic);
	EXPECT_STREQ("20 seconds", seen[0].payload);

	n_seen = 0;
	fake_info.stats[KMQTT_STAT_SUBSCRIPTIONS] = 12;
	fake_info.stats[KMQTT_STAT_CONNECTIONS] = 5;
	sys_tick(&self->t, 31000);
	EXPECT_STREQ("12", last("subscriptions/count"));
	EXPECT_STREQ("5", last("clients/connected"));
	EXPECT_STREQ("0", last("clients/disconnected"));
	EXPECT_EQ(NULL, last("clients/total"));
	EXPECT_EQ(NULL, last("messages/received"));
	EXPECT_EQ(NULL, last("load/messages/received/1min"));
	/* uptime, subscriptions, connected, active, disconnected, inactive */
	EXPECT_EQ(6, n_seen);

	/* More sessions than connections again: the maximum stays the most. */
	n_seen = 0;
	fake_info.stats[KMQTT_STAT_SESSIONS] = 9;
	sys_tick(&self->t, 41000);
	EXPECT_STREQ("9", last("clients/maximum"));
	fake_info.stats[KMQTT_STAT_SESSIONS] = 2;
	sys_tick(&self->t, 51000);
	EXPECT_STREQ("2", last("clients/total"));
	EXPECT_STREQ("9", last("clients/maximum"));
	/* Fewer sessions than connections (attaching): 0 disconnected. */
	EXPECT_STREQ("0", last("clients/disconnected"));
}

/*
 * Mosquitto's moving average: the rate per minute over the interval,
 * approached by 1 - exp(-interval / window) of the way each update.
 */
TEST_F(sys, moving_averages)
{
	double want1, want5, want15;
	char text[SYS_VALUE_MAX];
	int i;

	EXPECT_NEAR(60.0 * (1 - exp(-1.0)), sys_load_step(0, 60, 60, 1),
		    1e-9);
	EXPECT_NEAR(100.0, sys_load_step(100, 100, 10, 5), 1e-9);
	EXPECT_NEAR(50.0 * exp(-10.0 / 900), sys_load_step(50, 0, 10, 15),
		    1e-9);

	sys_configure(&self->t, 10, 11000);
	sys_tick(&self->t, 11000);
	/* 600 messages in 10 s: 3600 a minute. */
	fake_info.stats[KMQTT_STAT_MSGS_IN] += 600;
	fake_info.stats[KMQTT_STAT_CONNECTIONS_TOTAL] += 5;
	sys_tick(&self->t, 21000);
	want1 = 3600 * (1 - exp(-10.0 / 60));
	want5 = 3600 * (1 - exp(-10.0 / 300));
	want15 = 3600 * (1 - exp(-10.0 / 900));
	snprintf(text, sizeof(text), "%.2f", want1);
	EXPECT_STREQ(text, last("load/messages/received/1min"));
	EXPECT_STREQ("552.67", last("load/messages/received/1min"));
	EXPECT_STREQ(text, last("load/publish/received/1min"));
	snprintf(text, sizeof(text), "%.2f", want5);
	EXPECT_STREQ(text, last("load/messages/received/5min"));
	snprintf(text, sizeof(text), "%.2f", want15);
	EXPECT_STREQ(text, last("load/messages/received/15min"));
	/* 5 connections in 10 s: 30 a minute. */
	snprintf(text, sizeof(text), "%.2f", 30 * (1 - exp(-10.0 / 60)));
	EXPECT_STREQ(text, last("load/connections/1min"));
	/* Nothing sent: those stay at 0.00, not published again. */
	EXPECT_STREQ("0.00", last("load/messages/sent/1min"));

	/* A steady rate: each average converges on it, 1 min fastest. */
	for (i = 0; i < 90; i++) {
		fake_info.stats[KMQTT_STAT_MSGS_IN] += 600;
		sys_tick(&self->t, 31000 + 10000 * (uint64_t)i);
	}
	EXPECT_STREQ("3600.00", last("load/messages/received/1min"));
	want15 = atof(last("load/messages/received/15min"));
	/* 910 s of it: 1 - exp(-910 / 900) of the way, 2290 */
	EXPECT_LT(2200, want15);
	EXPECT_GT(2400, want15);
	/* Then none: they fall. */
	sys_tick(&self->t, 31000 + 10000 * 90);
	EXPECT_GT(3600, atof(last("load/messages/received/1min")));
}

/* Turned off, every topic published is cleared (empty, retained). */
TEST_F(sys, off_clears_what_was_published)
{
	size_t j;

	sys_configure(&self->t, 10, 11000);
	sys_tick(&self->t, 11000);
	n_seen = 0;
	sys_configure(&self->t, 0, 12000);
	ASSERT_EQ(SYS_TOPICS, n_seen);
	for (j = 0; j < n_seen; j++) {
		EXPECT_STREQ("", seen[j].payload);
		EXPECT_TRUE(seen[j].retain);
	}
	EXPECT_EQ(-1, sys_timeout(&self->t, 12000));
	/* Once: a second clear (kmqttd's exit) has nothing left. */
	n_seen = 0;
	sys_clear(&self->t);
	sys_tick(&self->t, 30000);
	EXPECT_EQ(0, n_seen);

	/* On again: all of it anew, the averages from 0. */
	sys_configure(&self->t, 1, 40000);
	sys_tick(&self->t, 40000);
	EXPECT_EQ(SYS_TOPICS, n_seen);
	EXPECT_STREQ("39 seconds", last("uptime"));
}

/* A new interval on reload: the next update that much later. */
TEST_F(sys, reload_changes_the_interval)
{
	sys_configure(&self->t, 10, 11000);
	sys_tick(&self->t, 11000);
	sys_configure(&self->t, 60, 15000);
	EXPECT_EQ(60000, sys_timeout(&self->t, 15000));
	n_seen = 0;
	sys_tick(&self->t, 74999);
	EXPECT_EQ(0, n_seen);
	sys_tick(&self->t, 75000);
	EXPECT_STREQ("74 seconds", last("uptime"));
}

/* A topic the module refused is published at the next update. */
TEST_F(sys, refused_topic_is_tried_again)
{
	sys_configure(&self->t, 10, 11000);
	publish_err = -ENOSPC;
	sys_tick(&self->t, 11000);
	EXPECT_EQ(0, n_seen);
	publish_err = 0;
	sys_tick(&self->t, 21000);
	EXPECT_EQ(SYS_TOPICS, n_seen);
	/* Nothing was held, so a clear has nothing to do but these. */
	n_seen = 0;
	sys_clear(&self->t);
	EXPECT_EQ(SYS_TOPICS, n_seen);
}

/* retain_available false: delivered, not stored; nothing to clear. */
TEST_F(sys, not_retained_is_not_cleared)
{
	sys_configure(&self->t, 10, 11000);
	publish_err = -EOPNOTSUPP;
	sys_tick(&self->t, 11000);
	publish_err = 0;
	n_seen = 0;
	sys_tick(&self->t, 21000);
	/* Not published again but what changed: the uptime. */
	EXPECT_EQ(1, n_seen);
	n_seen = 0;
	sys_configure(&self->t, 0, 22000);
	EXPECT_EQ(1, n_seen);
	EXPECT_STREQ("", last("uptime"));
}

/*
 * A change refused leaves the old figure retained: it is still cleared
 * when turned off, and published again when the value comes back.
 */
TEST_F(sys, refused_change_still_cleared)
{
	sys_configure(&self->t, 10, 11000);
	sys_tick(&self->t, 11000);
	fake_info.stats[KMQTT_STAT_SUBSCRIPTIONS] = 99;
	publish_err = -ENOSPC;
	sys_tick(&self->t, 21000);
	publish_err = 0;
	/* Back to 11, which the topic still holds: sent again all the same. */
	fake_info.stats[KMQTT_STAT_SUBSCRIPTIONS] = 11;
	n_seen = 0;
	sys_tick(&self->t, 31000);
	EXPECT_STREQ("11", last("subscriptions/count"));
	n_seen = 0;
	sys_configure(&self->t, 0, 32000);
	EXPECT_EQ(SYS_TOPICS, n_seen);
	EXPECT_STREQ("", last("subscriptions/count"));
}

TEST_HARNESS_MAIN
