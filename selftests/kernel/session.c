// SPDX-License-Identifier: GPL-2.0
/*
 * Persistent sessions (clean session 0): session present, subscriptions
 * and QoS 1/2 messages kept while the client is offline, redelivery of
 * unacknowledged messages with DUP on reconnect, QoS 2 exactly once
 * through disconnects, and clean session 1 discarding all of it.
 *
 * Sessions live in the module, not in kmqttd: every test discards the
 * sessions it made (teardown), so none outlives it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define CLIENT_ID	"sess-sub"
/* More than the inflight window (20): the queue is used too. */
#define N_EACH		15

static const struct mqtt_pub_opts at_qos0;
static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 1 };
static const struct mqtt_pub_opts at_qos2 = { .qos = 2, .packet_id = 1 };

FIXTURE(session)
{
	struct broker broker;
	struct kmqtt_genl genl;
	uint64_t saved_limits[KMQTT_LIMIT_MAX + 1];
	int pub, sub;
};

FIXTURE_SETUP(session)
{
	self->pub = -1;
	self->sub = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->saved_limits));
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "sess-pub", 0);
	ASSERT_LE(0, self->pub);
}

FIXTURE_TEARDOWN(session)
{
	close(self->sub);
	EXPECT_EQ(0, mqtt_session_discard(self->broker.port, CLIENT_ID));
	close(self->pub);
	broker_stop(&self->broker, !_metadata->passed);
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->saved_limits,
					   KMQTT_GENL_ALL_LIMITS));
	kmqtt_genl_close(&self->genl);
}

/* CONNECT CLIENT_ID with clean session 0; returns session present. */
static bool connect_persistent(struct __test_metadata *_metadata,
			       FIXTURE_DATA(session) *self)
{
	struct mqtt_connect_opts opts = { .client_id = CLIENT_ID };
	bool present = true;

	self->sub = mqtt_client_connect(self->broker.port, &opts, &present);
	ASSERT_LE(0, self->sub);
	return present;
}

/* Drop the connection without DISCONNECT and wait until the module saw it. */
static void go_offline(struct __test_metadata *_metadata,
		       FIXTURE_DATA(session) *self)
{
	close(self->sub);
	self->sub = -1;
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, CLIENT_ID,
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
}

/* MQTT-3.2.2-2/-3: 0 for a new session, 1 when a stored one is resumed. */
TEST_F(session, session_present_flag)
{
	ASSERT_FALSE(connect_persistent(_metadata, self));
	go_offline(_metadata, self);
	ASSERT_TRUE(connect_persistent(_metadata, self));
	/* MQTT-3.1.4-2 takeover keeps it too: still present. */
	ASSERT_TRUE(connect_persistent(_metadata, self));
}

/*
 * MQTT-3.1.2-4: a resumed session keeps its subscriptions; no SUBSCRIBE
 * after the reconnect.
 */
TEST_F(session, subscriptions_survive_reconnect)
{
	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "keep/+", 1));
	ASSERT_EQ(0, mqtt_send_disconnect(self->sub));
	ASSERT_EQ(0, mqtt_wait_closed(self->sub, MQTT_TEST_TIMEOUT_MS));
	close(self->sub);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, CLIENT_ID,
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	ASSERT_TRUE(connect_persistent(_metadata, self));
	ASSERT_EQ(0, mqtt_publish(self->pub, "keep/x", "still", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "keep/x", "still",
					 &at_qos1));
}

/*
 * MQTT-3.1.2-6: clean session 1 discards the stored session: session
 * present 0, no subscription, no queued message; and the session ends
 * with the connection.
 */
TEST_F(session, clean_session_discards_stored_session)
{
	struct mqtt_connect_opts clean = { .client_id = CLIENT_ID,
					   .clean_session = true };
	bool present = true;

	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "gone", 1));
	go_offline(_metadata, self);
	ASSERT_EQ(0, mqtt_publish(self->pub, "gone", "queued", &at_qos1));

	self->sub = mqtt_client_connect(self->broker.port, &clean, &present);
	ASSERT_LE(0, self->sub);
	ASSERT_FALSE(present);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 2, "sentinel", 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "gone", "after", &at_qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "sentinel", "end", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "sentinel", "end",
					 &at_qos1));
	close(self->sub);
	self->sub = -1;
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, CLIENT_ID,
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));
}

/*
 * MQTT-3.1.2-5, MQTT-4.3.3-2, MQTT-4.6.0-2/-3: N QoS 1 and N QoS 2
 * messages published while the subscriber is offline all arrive after the
 * reconnect, in order, QoS 2 exactly once; twice over, and what was
 * delivered the first time never comes again.
 */
TEST_F(session, offline_qos1_qos2_exactly_once_in_order)
{
	struct kmqtt_session_info info;
	int round, i, n;

	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "eo", 2));
	for (round = 0; round < 2; round++) {
		go_offline(_metadata, self);
		for (i = 0; i < 2 * N_EACH; i++) {
			n = round * 2 * N_EACH + i;
			ASSERT_EQ(0, mqtt_publish_nth(self->pub, "eo", n,
						      i % 2 ? &at_qos2 :
							      &at_qos1));
		}
		ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, CLIENT_ID,
						    &info));
		EXPECT_FALSE(info.online);
		EXPECT_EQ(2 * N_EACH, info.stats[KMQTT_STAT_QUEUED]);

		ASSERT_TRUE(connect_persistent(_metadata, self));
		for (i = 0; i < 2 * N_EACH; i++) {
			n = round * 2 * N_EACH + i;
			ASSERT_EQ(0, mqtt_expect_nth(self->sub, "eo", n,
						     i % 2 ? &at_qos2 :
							     &at_qos1))
				TH_LOG("round %d, message %d", round, n);
		}
		/* Completes the last PUBRELs: nothing else may come. */
		ASSERT_EQ(0, mqtt_sync(self->sub));
	}
	ASSERT_EQ(0, mqtt_publish(self->pub, "eo", "end", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "eo", "end", &at_qos1));
	/* Its PUBACK handled: nothing is left in flight or queued. */
	ASSERT_EQ(0, mqtt_sync(self->sub));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, CLIENT_ID, &info));
	EXPECT_EQ(0, info.stats[KMQTT_STAT_INFLIGHT]);
	EXPECT_EQ(0, info.stats[KMQTT_STAT_QUEUED]);
}

/*
 * MQTT-4.4.0-1, MQTT-3.3.1-1: messages sent but not acknowledged are sent
 * again on reconnect, with the same packet ids and DUP set, in order; once
 * acknowledged they stop.
 */
TEST_F(session, unacked_redelivered_with_dup_on_reconnect)
{
	struct mqtt_received first[4], again;
	int i;

	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "dup", 2));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mqtt_publish_nth(self->pub, "dup", i,
					      i < 2 ? &at_qos1 : &at_qos2));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, mqtt_receive(self->sub, &first[i], false,
					  MQTT_TEST_TIMEOUT_MS));
		ASSERT_FALSE(first[i].opts.dup);
	}
	go_offline(_metadata, self);

	ASSERT_TRUE(connect_persistent(_metadata, self));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, mqtt_receive(self->sub, &again, true,
					  MQTT_TEST_TIMEOUT_MS));
		ASSERT_TRUE(again.opts.dup);
		ASSERT_EQ(first[i].opts.qos, again.opts.qos);
		ASSERT_EQ(first[i].opts.packet_id, again.opts.packet_id);
		ASSERT_EQ(first[i].payload_len, again.payload_len);
		ASSERT_EQ(0, memcmp(first[i].payload, again.payload,
				    again.payload_len));
	}
	ASSERT_EQ(0, mqtt_sync(self->sub));
	ASSERT_EQ(0, mqtt_publish(self->pub, "dup", "end", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "dup", "end", &at_qos1));
}

/*
 * MQTT-4.4.0-1 for QoS 2 past PUBREC: the broker resends PUBREL, not the
 * PUBLISH, so the message is not delivered twice.
 */
TEST_F(session, pubrel_resent_after_pubrec_on_reconnect)
{
	struct mqtt_received m;
	uint16_t id;

	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "rel", 2));
	ASSERT_EQ(0, mqtt_publish(self->pub, "rel", "once", &at_qos2));
	ASSERT_EQ(0, mqtt_receive(self->sub, &m, true, MQTT_TEST_TIMEOUT_MS));
	id = m.opts.packet_id;
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->sub, MQTT_PUBREL, id));
	/* No PUBCOMP: the flow is still open when the client goes. */
	go_offline(_metadata, self);

	ASSERT_TRUE(connect_persistent(_metadata, self));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->sub, MQTT_PUBREL, id));
	ASSERT_EQ(0, mqtt_send_pub_ack(self->sub, MQTT_PUBCOMP, id));
	ASSERT_EQ(0, mqtt_publish(self->pub, "rel", "end", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "rel", "end", &at_qos2));
}

/*
 * MQTT-4.3.3-2 across a reconnect: the broker remembers a QoS 2 packet id
 * it PUBREC'd in the publisher's persistent session, so the PUBLISH
 * resent after reconnecting is not delivered a second time.
 */
/* The client resends its QoS 2 PUBLISH "one" (id 42) and completes it. */
static void resend_in2_once(struct __test_metadata *_metadata, int fd)
{
	static const struct mqtt_pub_opts resent = { .qos = 2,
						     .packet_id = 42,
						     .dup = true };

	ASSERT_EQ(0, mqtt_send_publish_opts(fd, "in2", "one", 3, &resent));
	ASSERT_EQ(0, mqtt_expect_pub_ack(fd, MQTT_PUBREC, 42));
	ASSERT_EQ(0, mqtt_send_pub_ack(fd, MQTT_PUBREL, 42));
	ASSERT_EQ(0, mqtt_expect_pub_ack(fd, MQTT_PUBCOMP, 42));
}

TEST_F(session, inbound_qos2_resent_after_reconnect_delivered_once)
{
	struct mqtt_pub_opts q2 = { .qos = 2, .packet_id = 42 };
	int listener;

	listener = mqtt_client_open(self->broker.port, "sess-listener", 0);
	ASSERT_LE(0, listener);
	ASSERT_EQ(0, mqtt_subscribe_qos(listener, 1, "in2", 2));

	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_send_publish_opts(self->sub, "in2", "one", 3, &q2));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->sub, MQTT_PUBREC, 42));
	go_offline(_metadata, self);

	ASSERT_TRUE(connect_persistent(_metadata, self));
	resend_in2_once(_metadata, self->sub);

	ASSERT_EQ(0, mqtt_publish(self->pub, "in2", "end", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(listener, "in2", "one", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(listener, "in2", "end", &at_qos2));
	close(listener);
}

/*
 * MQTT-3.1.2-5: QoS 0 messages for an offline session may be kept; kmqtt
 * keeps them only with queue_qos0 (off by default).
 */
TEST_F(session, offline_qos0_queued_only_with_queue_qos0)
{
	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "q0", 1));
	go_offline(_metadata, self);
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_QUEUE_QOS0, 0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "q0", "dropped", &at_qos0));
	/* Handled before the limit changes (PINGRESP follows it). */
	ASSERT_EQ(0, mqtt_sync(self->pub));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_QUEUE_QOS0, 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "q0", "kept", &at_qos0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "q0", "end", &at_qos1));
	ASSERT_EQ(0, mqtt_sync(self->pub));

	ASSERT_TRUE(connect_persistent(_metadata, self));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "q0", "kept", &at_qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "q0", "end", &at_qos1));
}

/* The session of CLIENT_ID as a dump shows it. */
struct found_session {
	bool found;
	struct kmqtt_nl_session s;
};

static void find_session(const struct kmqtt_nl_session *s, void *arg)
{
	struct found_session *f = arg;

	if (!strcmp(s->client_id, CLIENT_ID)) {
		f->found = true;
		f->s = *s;
	}
}

/*
 * A session from a snapshot (persistence) is offline, with its username,
 * expiry and subscriptions.  It is allowed nothing until the agent sends
 * its rules; then what is published is queued for it, and the client that
 * comes back with clean session 0 finds it all.
 */
TEST_F(session, snapshot_restores_session_and_subscriptions)
{
	struct kmqtt_nl_session s = {
		.client_id = CLIENT_ID, .session_expiry = 0xffffffff,
		.offline_for = 5, .has_username = true, .username = "snap-user",
	};
	struct kmqtt_nl_subscription sub = {
		.client_id = CLIENT_ID, .filter = "snap/+", .options = 1,
	};
	struct found_session f = { 0 };

	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s))
		TH_LOG("%s", self->genl.nl.error);
	sub.filter = "snap/old";
	ASSERT_EQ(0, kmqtt_nl_set_subscription(&self->genl.nl, &sub));
	/* Restored again: the first one is replaced, subscription and all. */
	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
	sub.filter = "snap/+";
	ASSERT_EQ(0, kmqtt_nl_set_subscription(&self->genl.nl, &sub))
		TH_LOG("%s", self->genl.nl.error);
	/* Again: it replaces, as a repeated SUBSCRIBE does. */
	ASSERT_EQ(0, kmqtt_nl_set_subscription(&self->genl.nl, &sub));

	ASSERT_EQ(0, kmqtt_nl_dump_sessions(&self->genl.nl, find_session, &f));
	ASSERT_TRUE(f.found);
	EXPECT_FALSE(f.s.online);
	EXPECT_FALSE(f.s.clean_session);
	EXPECT_EQ(0xffffffff, f.s.session_expiry);
	EXPECT_LE(5, f.s.offline_for);
	EXPECT_GE(60, f.s.offline_for);
	EXPECT_STREQ("snap-user", f.s.username);
	EXPECT_EQ(1, f.s.stats[KMQTT_STAT_SUBSCRIPTIONS]);

	ASSERT_EQ(0, mqtt_publish(self->pub, "snap/x", "before its rules",
				  &at_qos1));
	/* No rules: everything allowed, as kmqttd sends without acl_file. */
	ASSERT_EQ(0, kmqtt_nl_set_acl(&self->genl.nl, CLIENT_ID, NULL));
	ASSERT_EQ(0, mqtt_publish(self->pub, "snap/x", "while away", &at_qos1));
	ASSERT_TRUE(connect_persistent(_metadata, self));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "snap/x", "while away",
					 &at_qos1));
	/* Not over a session that is online. */
	EXPECT_EQ(-EBUSY, kmqtt_nl_set_session(&self->genl.nl, &s));
}

/* An expiry counts the time the session was offline before the restore. */
TEST_F(session, snapshot_session_expiry_counts_time_offline)
{
	struct kmqtt_nl_session s = {
		.client_id = "sess-exp", .session_expiry = 30,
		.offline_for = 29,
	};

	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "sess-exp",
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));
}

/* What no client could have made is refused, and limits hold. */
TEST_F(session, snapshot_restore_refusals)
{
	static const struct {
		const char *filter;
		uint8_t options;
	} bad[] = {
		{ "a/#/b", 0 }, { "$share/g/a", MQTT_SUBOPT_NO_LOCAL },
		{ "$share//a", 0 }, { "a", 3 }, { "a", 0x30 }, { "a", 0x80 },
		/* The module's own option is taken, the rest checked. */
		{ "a", KMQTT_SUBOPT_QUEUE_QOS0 | 3 },
		{ "$share/g/a", KMQTT_SUBOPT_QUEUE_QOS0 | MQTT_SUBOPT_NO_LOCAL },
	};
	struct kmqtt_nl_session s = { .client_id = CLIENT_ID,
				      .session_expiry = 0 };
	struct kmqtt_nl_subscription sub = { .client_id = CLIENT_ID,
					     .filter = "a" };
	size_t i;

	EXPECT_EQ(-EINVAL, kmqtt_nl_set_session(&self->genl.nl, &s));
	EXPECT_EQ(-ENOENT, kmqtt_nl_set_subscription(&self->genl.nl, &sub));
	s.session_expiry = 60;
	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sub.filter = bad[i].filter;
		sub.options = bad[i].options;
		EXPECT_EQ(-EINVAL,
			  kmqtt_nl_set_subscription(&self->genl.nl, &sub))
			TH_LOG("%s %#x", sub.filter, sub.options);
	}
	sub.filter = "a";
	sub.options = 0;
	sub.sub_id = MQTT_SUBSCRIPTION_ID_MAX + 1;
	EXPECT_EQ(-ERANGE, kmqtt_nl_set_subscription(&self->genl.nl, &sub));
	sub.sub_id = MQTT_SUBSCRIPTION_ID_MAX;
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_SUBSCRIPTIONS, 1));
	ASSERT_EQ(0, kmqtt_nl_set_subscription(&self->genl.nl, &sub));
	sub.filter = "b";
	EXPECT_EQ(-ENOSPC, kmqtt_nl_set_subscription(&self->genl.nl, &sub));
}

/*
 * A subscription with the module's KMQTT_SUBOPT_QUEUE_QOS0 (a lazy
 * bridge's) queues QoS 0 for its offline session while queue_qos0 is
 * off; one without drops it.  SET_SUBSCRIPTION takes the option and
 * GET_SUBSCRIPTION shows it as given.
 */
TEST_F(session, offline_qos0_queued_by_subscription_option)
{
	struct kmqtt_nl_session s = { .client_id = CLIENT_ID,
				      .session_expiry = 60 };
	struct kmqtt_nl_subscription lazy = {
		.client_id = CLIENT_ID, .filter = "lazy/#",
		.options = 0 | KMQTT_SUBOPT_QUEUE_QOS0,
	};
	struct kmqtt_nl_subscription plain = {
		.client_id = CLIENT_ID, .filter = "plain/#", .options = 0,
	};
	struct kmqtt_genl_session got;
	struct kmqtt_genl_ack ack;
	uint8_t options;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_QUEUE_QOS0, 0));
	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
	ASSERT_EQ(0, kmqtt_nl_set_subscription(&self->genl.nl, &lazy))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(0, kmqtt_nl_set_subscription(&self->genl.nl, &plain));
	ASSERT_EQ(0, kmqtt_nl_set_acl(&self->genl.nl, CLIENT_ID, NULL));
	ASSERT_EQ(0, kmqtt_genl_sub_options(&self->genl, CLIENT_ID, "lazy/#",
					    &options));
	EXPECT_EQ(KMQTT_SUBOPT_QUEUE_QOS0, options);
	ASSERT_EQ(0, kmqtt_genl_sub_options(&self->genl, CLIENT_ID, "plain/#",
					    &options));
	EXPECT_EQ(0, options);

	ASSERT_EQ(0, mqtt_publish(self->pub, "plain/x", "dropped", &at_qos0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "lazy/x", "kept", &at_qos0));
	/* Handled before the count (PINGRESP follows them). */
	ASSERT_EQ(0, mqtt_sync(self->pub));
	ASSERT_EQ(0, kmqtt_genl_session_doit(&self->genl, CLIENT_ID, &got,
					     &ack))
		TH_LOG("%s", ack.msg);
	EXPECT_EQ(1, got.s.stats[KMQTT_STAT_QUEUED]);

	ASSERT_TRUE(connect_persistent(_metadata, self));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "lazy/x", "kept",
					 &at_qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, 300));
}

/*
 * GET_SESSION's doit: the session of one client id, in a message of its
 * own with what the dump has, and its connection's messages in and out
 * while it is online; ENOENT, with a reason, for an unknown client id.
 */
TEST_F(session, get_session_by_client_id)
{
	struct kmqtt_genl_session got;
	struct kmqtt_genl_ack ack;
	uint64_t conn_id;

	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "get/#"));
	ASSERT_EQ(0, mqtt_publish(self->sub, "elsewhere", "in", &at_qos0));
	/* Counted before PINGRESP. */
	ASSERT_EQ(0, mqtt_sync(self->sub));
	ASSERT_EQ(0, mqtt_publish(self->pub, "get/x", "out", &at_qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "get/x", "out",
					 &at_qos0));
	ASSERT_EQ(0, kmqtt_genl_session_conn_id(&self->genl, CLIENT_ID,
						&conn_id));

	ASSERT_EQ(0, kmqtt_genl_session_doit(&self->genl, CLIENT_ID, &got,
					     &ack))
		TH_LOG("%s", ack.msg);
	EXPECT_EQ(1, ack.replies);
	EXPECT_FALSE(got.multi);
	EXPECT_STREQ(CLIENT_ID, got.s.client_id);
	EXPECT_TRUE(got.s.online);
	EXPECT_FALSE(got.s.clean_session);
	EXPECT_EQ(conn_id, got.s.conn_id);
	EXPECT_FALSE(got.has_offline_for);
	EXPECT_FALSE(got.s.bridge);
	EXPECT_EQ(1, got.s.stats[KMQTT_STAT_SUBSCRIPTIONS]);
	EXPECT_TRUE(got.has_stat[KMQTT_STAT_QUEUED]);
	EXPECT_TRUE(got.has_stat[KMQTT_STAT_MSGS_IN]);
	EXPECT_EQ(1, got.s.stats[KMQTT_STAT_MSGS_IN]);
	EXPECT_TRUE(got.has_stat[KMQTT_STAT_MSGS_OUT]);
	EXPECT_EQ(1, got.s.stats[KMQTT_STAT_MSGS_OUT]);

	go_offline(_metadata, self);
	ASSERT_EQ(0, kmqtt_genl_session_doit(&self->genl, CLIENT_ID, &got,
					     &ack))
		TH_LOG("%s", ack.msg);
	EXPECT_FALSE(got.s.online);
	EXPECT_EQ(0, got.s.conn_id);
	EXPECT_TRUE(got.has_offline_for);
	EXPECT_EQ(1, got.s.stats[KMQTT_STAT_SUBSCRIPTIONS]);
	/* No connection, no counters of one. */
	EXPECT_FALSE(got.has_stat[KMQTT_STAT_MSGS_IN]);
	EXPECT_FALSE(got.has_stat[KMQTT_STAT_MSGS_OUT]);

	EXPECT_EQ(-ENOENT, kmqtt_genl_session_doit(&self->genl, "sess-nobody",
						   &got, &ack));
	EXPECT_EQ(0, ack.replies);
	EXPECT_NE(0, strlen(ack.msg));
}

/*
 * SET_SESSION with BRIDGE_LINK makes a bridge's session, which kmqttctl
 * lists as one before any link came (a lazy bridge's); without, it is a
 * client's.
 */
TEST_F(session, set_session_of_a_bridge)
{
	struct kmqtt_genl_session got;
	struct kmqtt_genl_ack ack;
	char text[16384];
	uint8_t bridge;

	for (bridge = 0; bridge <= 1; bridge++) {
		ASSERT_EQ(0, kmqtt_genl_set_bridge_session(&self->genl,
							   CLIENT_ID, 60,
							   bridge, &ack))
			TH_LOG("%s", ack.msg);
		ASSERT_EQ(0, kmqtt_genl_session_doit(&self->genl, CLIENT_ID,
						     &got, &ack));
		EXPECT_EQ(bridge, got.s.bridge);
	}
	EXPECT_FALSE(got.s.online);
	EXPECT_EQ(60, got.s.session_expiry);
	ASSERT_EQ(0, kmqttctl_run("show", text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "\nbridge: " CLIENT_ID "\n"))
		TH_LOG("%s", text);
	/* A flag: 0 or 1. */
	EXPECT_EQ(-ERANGE, kmqtt_genl_set_bridge_session(&self->genl,
							 CLIENT_ID, 60, 2,
							 &ack));
}

/*
 * A bridge's session from SET_SESSION is allowed everything at once, as
 * its link would be: messages wait in it with no SET_ACL (kmqttd gives a
 * bridge's session no rules), where a client's waits for its rules.
 */
TEST_F(session, set_session_of_a_bridge_needs_no_rules)
{
	static const char *const ids[] = { "bridge-sess", "client-sess" };
	struct kmqtt_nl_subscription sub = { .filter = "rules/#", .options = 1 };
	struct kmqtt_nl_session s = { .session_expiry = 60 };
	struct kmqtt_genl_session got;
	struct kmqtt_genl_ack ack;
	int i;

	for (i = 0; i < 2; i++) {
		strcpy(s.client_id, ids[i]);
		s.bridge = !i;
		ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
		strcpy(sub.client_id, ids[i]);
		ASSERT_EQ(0, kmqtt_nl_set_subscription(&self->genl.nl, &sub));
	}
	ASSERT_EQ(0, mqtt_publish(self->pub, "rules/x", "m", &at_qos1));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, kmqtt_genl_session_doit(&self->genl, ids[i], &got,
						     &ack))
			TH_LOG("%s", ack.msg);
		EXPECT_EQ(!i, got.s.stats[KMQTT_STAT_QUEUED]) TH_LOG("%s", ids[i]);
		/* Later suites' bridges lists are their own. */
		EXPECT_EQ(0, mqtt_session_discard(self->broker.port, ids[i]));
	}
}

/* A message of the snapshot tests: topic "snap/N" and payload "N". */
static void session_msg(struct kmqtt_nl_session_msg *sm, uint8_t *buf,
			int n, uint8_t qos, uint16_t packet_id)
{
	int len = snprintf((char *)buf + 2, 16, "snap/%d", n);

	memset(sm, 0, sizeof(*sm));
	strcpy(sm->client_id, CLIENT_ID);
	buf[0] = 0;
	buf[1] = len;
	buf[2 + len] = 0;	/* no properties */
	len += 3;
	len += snprintf((char *)buf + len, 16, "%d", n);
	sm->m = (struct kmqtt_nl_msg){ .qos = qos, .data = buf, .len = len };
	sm->packet_id = packet_id;
}

/* The dumped messages of CLIENT_ID, their data copied. */
struct dumped_msgs {
	struct kmqtt_nl_session_msg sm[8];
	uint8_t data[8][32];
	size_t count;
};

static void keep_msg(const struct kmqtt_nl_session_msg *sm, void *arg)
{
	struct dumped_msgs *d = arg;

	if (strcmp(sm->client_id, CLIENT_ID) || d->count == 8 ||
	    sm->m.len > sizeof(d->data[0]))
		return;
	memcpy(d->data[d->count], sm->m.data, sm->m.len);
	d->sm[d->count] = *sm;
	d->sm[d->count].m.data = d->data[d->count];
	d->count++;
}

/*
 * The messages of a session from a snapshot, in flight (a QoS 1 PUBLISH
 * with its subscription identifier, a QoS 2 flow at PUBREL) and queued,
 * come out of a dump as they went in, and go to the client that comes
 * back: the PUBLISH again with DUP and its packet id, the PUBREL, then
 * the queue in its order.
 */
TEST_F(session, snapshot_restores_messages_in_flight_and_queued)
{
	struct kmqtt_nl_session s = { .client_id = CLIENT_ID,
				      .session_expiry = 60 };
	static const struct mqtt_pub_opts retained_qos1 = { .qos = 1,
							    .retain = true };
	struct kmqtt_nl_session_msg sm;
	struct dumped_msgs d = { 0 };
	struct mqtt_received m;
	uint8_t buf[4][32];

	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
	session_msg(&sm, buf[0], 1, 1, 7);
	sm.n_sub_ids = 1;
	sm.sub_ids[0] = 5;
	ASSERT_EQ(0, kmqtt_nl_set_session_msg(&self->genl.nl, &sm))
		TH_LOG("%s", self->genl.nl.error);
	session_msg(&sm, buf[1], 2, 2, 8);
	sm.released = true;
	ASSERT_EQ(0, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	session_msg(&sm, buf[2], 3, 2, 0);
	ASSERT_EQ(0, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	session_msg(&sm, buf[3], 4, 1, 0);
	sm.retain = true;
	ASSERT_EQ(0, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));

	ASSERT_EQ(0, kmqtt_nl_dump_session_msgs(&self->genl.nl, keep_msg, &d))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(4, d.count);
	EXPECT_EQ(7, d.sm[0].packet_id);
	EXPECT_EQ(1, d.sm[0].m.qos);
	ASSERT_EQ(1, d.sm[0].n_sub_ids);
	EXPECT_EQ(5, d.sm[0].sub_ids[0]);
	EXPECT_EQ(8, d.sm[1].packet_id);
	EXPECT_TRUE(d.sm[1].released);
	EXPECT_EQ(0, d.sm[2].packet_id);
	EXPECT_EQ(2, d.sm[2].m.qos);
	EXPECT_EQ(0, d.sm[3].packet_id);
	EXPECT_TRUE(d.sm[3].retain);
	ASSERT_EQ(sizeof("snap/4") + 2 + 1, d.sm[3].m.len);
	EXPECT_EQ(0, memcmp(buf[3], d.sm[3].m.data, d.sm[3].m.len));

	ASSERT_EQ(0, kmqtt_nl_set_acl(&self->genl.nl, CLIENT_ID, NULL));
	ASSERT_TRUE(connect_persistent(_metadata, self));
	ASSERT_EQ(0, mqtt_receive(self->sub, &m, true, MQTT_TEST_TIMEOUT_MS));
	EXPECT_STREQ("snap/1", m.topic);
	EXPECT_EQ(7, m.opts.packet_id);
	EXPECT_TRUE(m.opts.dup);
	EXPECT_EQ(1, m.opts.qos);
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->sub, MQTT_PUBREL, 8));
	ASSERT_EQ(0, mqtt_send_pub_ack(self->sub, MQTT_PUBCOMP, 8));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "snap/3", "3", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "snap/4", "4",
					 &retained_qos1));
}

/* What no session could have had in flight or queued is refused. */
TEST_F(session, snapshot_message_refusals)
{
	struct kmqtt_nl_session s = { .client_id = CLIENT_ID,
				      .session_expiry = 60 };
	struct kmqtt_nl_session_msg sm;
	uint8_t buf[32];

	session_msg(&sm, buf, 1, 1, 7);
	EXPECT_EQ(-ENOENT, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
	ASSERT_EQ(0, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	/* The same packet id in flight twice. */
	EXPECT_EQ(-EEXIST, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	/* QoS 0 has no packet id; QoS 1 nothing to release. */
	session_msg(&sm, buf, 1, 0, 9);
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	session_msg(&sm, buf, 1, 1, 9);
	sm.released = true;
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	session_msg(&sm, buf, 1, 1, 9);
	sm.n_sub_ids = KMQTT_SUB_IDS_MAX;
	sm.sub_ids[0] = sm.sub_ids[1] = sm.sub_ids[2] = 1;
	sm.sub_ids[3] = MQTT_SUBSCRIPTION_ID_MAX + 1;
	EXPECT_EQ(-ERANGE, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	/* Not a message: a wildcard topic. */
	session_msg(&sm, buf, 1, 1, 9);
	buf[2 + 5] = '#';
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	/* The queue's limit. */
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES, 1));
	session_msg(&sm, buf, 2, 1, 0);
	ASSERT_EQ(0, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	EXPECT_EQ(-ENOSPC, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
	/* Not to a session that is online. */
	ASSERT_TRUE(connect_persistent(_metadata, self));
	EXPECT_EQ(-EBUSY, kmqtt_nl_set_session_msg(&self->genl.nl, &sm));
}

struct dumped_qos2 {
	uint16_t ids[8];
	size_t n;
};

static void keep_qos2(const char *client_id, const uint16_t *ids, size_t n,
		      void *arg)
{
	struct dumped_qos2 *d = arg;

	while (!strcmp(client_id, CLIENT_ID) && n-- && d->n < 8)
		d->ids[d->n++] = *ids++;
}

/*
 * A session's inbound QoS 2 packet ids come out of a dump and, into a
 * session restored from a snapshot, go back: a PUBLISH resent with one of
 * them is acknowledged and not delivered again (MQTT-4.3.3-2).
 */
TEST_F(session, snapshot_restores_inbound_qos2_ids)
{
	struct mqtt_pub_opts q2 = { .qos = 2, .packet_id = 42 };
	struct kmqtt_nl_session s = { .client_id = CLIENT_ID,
				      .session_expiry = 60 };
	static const uint16_t odd_ids[] = { 7, 0 };
	struct dumped_qos2 d = { 0 };
	int listener;

	connect_persistent(_metadata, self);
	ASSERT_EQ(0, mqtt_send_publish_opts(self->sub, "in2", "one", 3, &q2));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->sub, MQTT_PUBREC, 42));
	go_offline(_metadata, self);
	ASSERT_EQ(0, kmqtt_nl_dump_session_qos2(&self->genl.nl, keep_qos2, &d))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(1, d.n);
	EXPECT_EQ(42, d.ids[0]);

	/*
	 * The restore replaces the session: only the ids given are kept.
	 * 43 stands for a flow the publisher ended after the snapshot.
	 */
	ASSERT_EQ(0, kmqtt_nl_set_session(&self->genl.nl, &s));
	d.ids[d.n++] = 43;
	ASSERT_EQ(0, kmqtt_nl_set_session_qos2(&self->genl.nl, CLIENT_ID,
					       d.ids, d.n))
		TH_LOG("%s", self->genl.nl.error);
	EXPECT_EQ(-EINVAL, kmqtt_nl_set_session_qos2(&self->genl.nl,
						     CLIENT_ID, odd_ids, 2));
	EXPECT_EQ(-ENOENT, kmqtt_nl_set_session_qos2(&self->genl.nl, "nobody",
						     d.ids, d.n));
	ASSERT_EQ(0, kmqtt_nl_set_acl(&self->genl.nl, CLIENT_ID, NULL));

	listener = mqtt_client_open(self->broker.port, "sess-listener", 0);
	ASSERT_LE(0, listener);
	ASSERT_EQ(0, mqtt_subscribe_qos(listener, 1, "in2", 2));
	ASSERT_TRUE(connect_persistent(_metadata, self));
	EXPECT_EQ(-EBUSY, kmqtt_nl_set_session_qos2(&self->genl.nl,
						    CLIENT_ID, d.ids, d.n));
	resend_in2_once(_metadata, self->sub);
	/* 43 again without DUP: a new message (MQTT-3.3.1-1), delivered. */
	q2.packet_id = 43;
	ASSERT_EQ(0, mqtt_publish(self->sub, "in2", "fresh", &q2));
	/* "one" is not delivered again: "fresh" is the listener's first. */
	ASSERT_EQ(0, mqtt_publish(self->pub, "in2", "end", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(listener, "in2", "fresh", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(listener, "in2", "end", &at_qos2));
	close(listener);
}

TEST_HARNESS_MAIN
