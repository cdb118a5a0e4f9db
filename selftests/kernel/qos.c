// SPDX-License-Identifier: GPL-2.0
/*
 * QoS 1 and 2 on both sides of the broker: the publisher's flows (PUBACK;
 * PUBREC, PUBREL, PUBCOMP), the granted and delivered QoS, packet
 * identifiers, the inflight window and the queue behind it, order, and a
 * stalled QoS 1 subscriber that must not hold up anybody else.
 *
 * Absence of a delivery is checked as in pubsub.c: a later message the
 * subscriber does expect must be the next one it reads (MQTT-4.6.0-5).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define DEFAULT_INFLIGHT	20
#define N_OVER_WINDOW		30
#define N_ORDERED		40
#define N_SLOW			200
#define QUIET_MS		300
#define N_KEPT			60

/* To publish with (packet id 1), or to expect (any packet id). */
static const struct mqtt_pub_opts at_qos0;
static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 1 };
static const struct mqtt_pub_opts at_qos2 = { .qos = 2, .packet_id = 1 };

FIXTURE(qos)
{
	struct broker broker;
	struct kmqtt_genl genl;
	uint64_t saved_limits[KMQTT_LIMIT_MAX + 1];
	int pub, sub;
	const char *persistent;	/* a stored session the test made */
};

FIXTURE_SETUP(qos)
{
	self->pub = -1;
	self->sub = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->saved_limits));
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "qos-pub", 0);
	ASSERT_LE(0, self->pub);
	self->sub = mqtt_client_open(self->broker.port, "qos-sub", 0);
	ASSERT_LE(0, self->sub);
}

FIXTURE_TEARDOWN(qos)
{
	close(self->pub);
	close(self->sub);
	if (self->persistent)
		EXPECT_EQ(0, mqtt_session_discard(self->broker.port,
						  self->persistent));
	broker_stop(&self->broker, !_metadata->passed);
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->saved_limits,
					   KMQTT_GENL_ALL_LIMITS));
	kmqtt_genl_close(&self->genl);
}

/* MQTT-3.3.4-1 (4.3.2): a QoS 1 PUBLISH is answered with its PUBACK. */
TEST_F(qos, qos1_publish_answered_with_puback)
{
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "q/one", 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "q/one", "a",
				  &(struct mqtt_pub_opts){ .qos = 1,
							   .packet_id = 0x1234 }));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "q/one", "a", &at_qos1));
}

/*
 * MQTT-4.3.3-2 (method B): PUBREC, then PUBCOMP for the PUBREL; the
 * message goes on once.
 */
TEST_F(qos, qos2_publish_pubrec_pubrel_pubcomp)
{
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "q/two", 2));
	ASSERT_EQ(0, mqtt_publish(self->pub, "q/two", "b",
				  &(struct mqtt_pub_opts){ .qos = 2,
							   .packet_id = 0xfffe }));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "q/two", "b", &at_qos2));
}

/*
 * MQTT-4.3.3-2: a QoS 2 PUBLISH resent with the same packet id before
 * PUBREL (DUP set, MQTT-3.3.1-1) is acknowledged again but delivered once;
 * after PUBREL the id is free and a new PUBLISH with it is a new message.
 */
TEST_F(qos, qos2_resend_before_pubrel_delivered_once)
{
	struct mqtt_pub_opts first = { .qos = 2, .packet_id = 7 };
	struct mqtt_pub_opts resent = { .qos = 2, .packet_id = 7, .dup = true };

	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "q/once/#", 2));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "q/once/a", "x", 1,
					    &first));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBREC, 7));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "q/once/a", "x", 1,
					    &resent));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBREC, 7));
	ASSERT_EQ(0, mqtt_send_pub_ack(self->pub, MQTT_PUBREL, 7));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBCOMP, 7));
	/* MQTT-4.3.3-2: PUBCOMP for a PUBREL of an id already released. */
	ASSERT_EQ(0, mqtt_send_pub_ack(self->pub, MQTT_PUBREL, 7));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBCOMP, 7));

	ASSERT_EQ(0, mqtt_publish(self->pub, "q/once/b", "y", &first));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "q/once/a", "x", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "q/once/b", "y", &at_qos2));
}

/*
 * MQTT-3.8.4-5/-6, MQTT-3.9.3-1: SUBACK grants the requested QoS, one code
 * per filter in order; a delivery goes at min(published, granted).
 */
TEST_F(qos, delivered_at_min_of_published_and_granted)
{
	static const char *const filters[] = { "g/0", "g/1", "g/2" };
	static const uint8_t requested[] = { 0, 1, 2 };
	uint8_t codes[3];
	char topic[8];
	int g, p;

	ASSERT_EQ(0, mqtt_send_subscribe_qos(self->sub, 9, filters, requested,
					     3));
	ASSERT_EQ(0, mqtt_expect_suback(self->sub, 9, codes, 3));
	ASSERT_EQ(0, memcmp(codes, requested, 3));
	for (g = 0; g < 3; g++) {
		snprintf(topic, sizeof(topic), "g/%d", g);
		for (p = 0; p < 3; p++)
			ASSERT_EQ(0, mqtt_publish_nth(self->pub, topic, p,
						 &(struct mqtt_pub_opts){
							.qos = p }));
		for (p = 0; p < 3; p++)
			ASSERT_EQ(0, mqtt_expect_nth(self->sub, topic, p,
						&(struct mqtt_pub_opts){
							.qos = p < g ? p : g }))
				TH_LOG("granted %d, published %d", g, p);
	}
}

/*
 * MQTT-3.3.5-1: overlapping subscriptions of one client give one copy, at
 * the highest QoS they granted.
 */
TEST_F(qos, overlapping_subscriptions_one_copy_at_highest_qos)
{
	static const char *const filters[] = { "o/+", "o/x", "#" };
	static const uint8_t requested[] = { 2, 0, 1 };
	uint8_t codes[3];

	ASSERT_EQ(0, mqtt_send_subscribe_qos(self->sub, 3, filters, requested,
					     3));
	ASSERT_EQ(0, mqtt_expect_suback(self->sub, 3, codes, 3));
	ASSERT_EQ(0, mqtt_publish(self->pub, "o/x", "hi", &at_qos2));
	ASSERT_EQ(0, mqtt_publish(self->pub, "sentinel", "end", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "o/x", "hi", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "sentinel", "end",
					 &at_qos1));
}

/*
 * MQTT-3.8.4-3: subscribing again to a filter replaces its QoS; the next
 * delivery uses the new one.
 */
TEST_F(qos, resubscribe_changes_granted_qos)
{
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "r/q", 2));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 2, "r/q", 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "r/q", "m", &at_qos2));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "r/q", "m", &at_qos1));
}

/*
 * Inflight window (max_inflight 20, its default): a subscriber that never
 * acks gets exactly 20 QoS 1 messages, with distinct non-zero packet ids
 * (MQTT-2.3.1-1/-2); the rest wait in the session's queue and follow, in
 * order (MQTT-4.6.0-2/-3), as acks free the window.
 */
TEST_F(qos, inflight_window_then_queue_in_order)
{
	struct kmqtt_session_info info;
	struct mqtt_received m;
	uint16_t ids[DEFAULT_INFLIGHT];
	char want[16];
	int i, j;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_INFLIGHT,
					  DEFAULT_INFLIGHT));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "w", 1));
	/* The publisher's PUBACK comes after the fan-out of its message. */
	for (i = 0; i < N_OVER_WINDOW; i++)
		ASSERT_EQ(0, mqtt_publish_nth(self->pub, "w", i, &at_qos1));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, "qos-sub", &info));
	EXPECT_EQ(DEFAULT_INFLIGHT, info.stats[KMQTT_STAT_INFLIGHT]);
	EXPECT_EQ(N_OVER_WINDOW - DEFAULT_INFLIGHT,
		  info.stats[KMQTT_STAT_QUEUED]);

	for (i = 0; i < DEFAULT_INFLIGHT; i++) {
		ASSERT_EQ(0, mqtt_receive(self->sub, &m, false,
					  MQTT_TEST_TIMEOUT_MS));
		snprintf(want, sizeof(want), "%d", i);
		ASSERT_EQ(strlen(want), m.payload_len);
		ASSERT_EQ(0, memcmp(want, m.payload, m.payload_len));
		ASSERT_EQ(1, m.opts.qos);
		ASSERT_FALSE(m.opts.dup);
		ASSERT_NE(0, m.opts.packet_id);
		ids[i] = m.opts.packet_id;
		for (j = 0; j < i; j++)
			ASSERT_NE(ids[j], ids[i]);
	}
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, QUIET_MS));

	/* Each ack lets exactly the next queued message out. */
	for (i = 0; i < N_OVER_WINDOW - DEFAULT_INFLIGHT; i++) {
		ASSERT_EQ(0, mqtt_send_pub_ack(self->sub, MQTT_PUBACK, ids[i]));
		ASSERT_EQ(0, mqtt_expect_nth(self->sub, "w", DEFAULT_INFLIGHT + i,
					&at_qos1));
	}
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, "qos-sub", &info));
	EXPECT_EQ(0, info.stats[KMQTT_STAT_QUEUED]);
}

/*
 * Payload @i of N_KEPT: its number, then filler up to 8, 50 or 100 bytes
 * in turn, so that its message is of one size class or the other.
 */
static size_t kept_payload(char *buf, int i)
{
	static const size_t lens[] = { 8, 50, 100 };
	size_t len = lens[i % 3];
	int n = snprintf(buf, len + 1, "%d", i);

	memset(buf + n, 'a' + i % 26, len - n);
	return len;
}

/*
 * A publisher's message memory is used again for its next message only
 * when nothing kept the last one: QoS 1 messages of both size classes,
 * published in one write, wait in the subscriber's queue behind a window
 * of 1, none is made in another's memory, and they arrive each with its
 * own bytes.
 */
TEST_F(qos, queued_messages_keep_their_bytes)
{
	uint8_t burst[N_KEPT * (2 + 2 + 1 + 2 + 100)], *p = burst;
	uint64_t stats[KMQTT_STAT_MAX + 1], pub_id;
	struct mqtt_received m;
	char payload[101];
	size_t len;
	int i;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_INFLIGHT, 1));
	/* None dropped: a dropped message would be free to reuse. */
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  2 * N_KEPT));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "k", 1));
	for (i = 0; i < N_KEPT; i++) {
		len = kept_payload(payload, i);
		*p++ = MQTT_PUBLISH << 4 | 2;
		*p++ = 2 + 1 + 2 + len;
		*p++ = 0;
		*p++ = 1;
		*p++ = 'k';
		*p++ = (i + 1) >> 8;
		*p++ = (i + 1) & 0xff;
		memcpy(p, payload, len);
		p += len;
	}
	ASSERT_EQ(0, mqtt_send_raw(self->pub, burst, p - burst));
	for (i = 0; i < N_KEPT; i++)
		ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, i + 1));
	ASSERT_EQ(0, kmqtt_genl_session_conn_id(&self->genl, "qos-pub",
						&pub_id));
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id, stats));
	EXPECT_EQ(N_KEPT, stats[KMQTT_STAT_MSGS_IN]);
	EXPECT_EQ(0, stats[KMQTT_STAT_RX_REUSED]);

	for (i = 0; i < N_KEPT; i++) {
		ASSERT_EQ(0, mqtt_receive(self->sub, &m, false,
					  MQTT_TEST_TIMEOUT_MS));
		len = kept_payload(payload, i);
		ASSERT_EQ(len, m.payload_len) TH_LOG("message %d", i);
		ASSERT_EQ(0, memcmp(payload, m.payload, len))
			TH_LOG("message %d: %.*s", i, (int)m.payload_len,
			       (char *)m.payload);
		ASSERT_EQ(0, mqtt_send_pub_ack(self->sub, MQTT_PUBACK,
					       m.opts.packet_id));
	}
}

/* A smaller window set with SET_LIMITS applies to what is sent next. */
TEST_F(qos, max_inflight_limit_applies)
{
	struct kmqtt_session_info info;
	int i;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_INFLIGHT, 3));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "w3", 2));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, mqtt_publish_nth(self->pub, "w3", i, &at_qos2));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, "qos-sub", &info));
	EXPECT_EQ(3, info.stats[KMQTT_STAT_INFLIGHT]);
	EXPECT_EQ(2, info.stats[KMQTT_STAT_QUEUED]);
	/* Acked as they come (PUBREC, then PUBCOMP): all five, in order. */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, mqtt_expect_nth(self->sub, "w3", i, &at_qos2));
}

/*
 * MQTT-4.6.0-5: QoS 1 and 2 messages of one topic, published in order,
 * arrive in that order through the window and the queue.
 */
TEST_F(qos, mixed_qos_order_kept)
{
	int i;

	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "ord", 2));
	for (i = 0; i < N_ORDERED; i++)
		ASSERT_EQ(0, mqtt_publish_nth(self->pub, "ord", i,
					 i % 2 ? &at_qos2 : &at_qos1));
	for (i = 0; i < N_ORDERED; i++)
		ASSERT_EQ(0, mqtt_expect_nth(self->sub, "ord", i,
					i % 2 ? &at_qos2 : &at_qos1));
}

/*
 * MQTT-4.6.0-6 (ordered topic): a QoS 0 message published after QoS 1
 * messages that wait behind a full inflight window does not overtake them.
 */
TEST_F(qos, qos0_waits_behind_queued_qos1)
{
	struct mqtt_received m;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_INFLIGHT, 1));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "o0", 1));
	ASSERT_EQ(0, mqtt_publish_nth(self->pub, "o0", 0, &at_qos1));
	ASSERT_EQ(0, mqtt_publish_nth(self->pub, "o0", 1, &at_qos1));
	ASSERT_EQ(0, mqtt_publish_nth(self->pub, "o0", 2, &at_qos0));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	/* Message 0 fills the window; without its ack nothing else comes. */
	ASSERT_EQ(0, mqtt_receive(self->sub, &m, false, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(1, m.payload_len);
	ASSERT_EQ('0', m.payload[0]);
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, QUIET_MS));
	ASSERT_EQ(0, mqtt_send_pub_ack(self->sub, MQTT_PUBACK,
				       m.opts.packet_id));
	ASSERT_EQ(0, mqtt_expect_nth(self->sub, "o0", 1, &at_qos1));
	ASSERT_EQ(0, mqtt_expect_nth(self->sub, "o0", 2, &at_qos0));
}

/*
 * @client_id's session gets two messages at @at's QoS on "held" and
 * acknowledges neither; it reconnects with a window of 1.  Message 0
 * comes again (*@resent_id), message 1 (*@held_id) is held back.
 * Returns the new connection, or a negative error.
 */
static int reconnect_holding_one_back(FIXTURE_DATA(qos) *self,
				      const char *client_id,
				      const struct mqtt_pub_opts *at,
				      uint16_t *resent_id, uint16_t *held_id)
{
	const struct mqtt_connect_opts persistent = { .client_id = client_id };
	struct mqtt_received m;
	int sub, err, i;

	err = kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MAX_INFLIGHT, 2);
	if (err)
		return err;
	self->persistent = client_id;
	sub = mqtt_client_connect(self->broker.port, &persistent, NULL);
	if (sub < 0)
		return sub;
	err = mqtt_subscribe_qos(sub, 1, "held", at->qos);
	for (i = 0; !err && i < 2; i++) {
		err = mqtt_publish_nth(self->pub, "held", i, at);
		/* Received, not acknowledged: in flight when it goes. */
		if (!err)
			err = mqtt_receive(sub, &m, false,
					   MQTT_TEST_TIMEOUT_MS);
	}
	close(sub);
	if (!err)
		err = kmqtt_genl_set_limit(&self->genl,
					   KMQTT_LIMIT_MAX_INFLIGHT, 1);
	if (err)
		return err;
	*held_id = m.opts.packet_id;
	sub = mqtt_client_connect(self->broker.port, &persistent, NULL);
	if (sub < 0)
		return sub;
	err = mqtt_receive(sub, &m, false, MQTT_TEST_TIMEOUT_MS);
	if (!err && (m.payload_len != 1 || m.payload[0] != '0'))
		err = -EPROTO;
	if (err) {
		close(sub);
		return err;
	}
	*resent_id = m.opts.packet_id;
	return sub;
}

/*
 * The same across a reconnect: what was in flight is resent first
 * (MQTT-4.4.0-1), and a window smaller than it holds the rest back until
 * acks come.  A QoS 0 message published meanwhile waits behind those too;
 * it used to go straight out.
 */
TEST_F(qos, qos0_waits_behind_held_back_resend)
{
	static const struct mqtt_pub_opts resent = { .qos = 1, .dup = true };
	uint16_t resent_id, held_id;
	int sub;

	sub = reconnect_holding_one_back(self, "qos-resend", &at_qos1,
					 &resent_id, &held_id);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_publish_nth(self->pub, "held", 2, &at_qos0));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	EXPECT_EQ(0, mqtt_expect_silence(sub, QUIET_MS));
	ASSERT_EQ(0, mqtt_send_pub_ack(sub, MQTT_PUBACK, resent_id));
	EXPECT_EQ(0, mqtt_expect_nth(sub, "held", 1, &resent));
	EXPECT_EQ(0, mqtt_expect_nth(sub, "held", 2, &at_qos0));
	close(sub);
}

/*
 * A PUBREC for a message still held back after a reconnect ends its hold:
 * the QoS 0 message queued behind it goes out then, not at the PUBCOMP.
 */
TEST_F(qos, pubrec_of_held_back_resend_lets_qos0_go)
{
	uint16_t resent_id, held_id;
	int sub;

	sub = reconnect_holding_one_back(self, "qos-pubrec-held", &at_qos2,
					 &resent_id, &held_id);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_publish_nth(self->pub, "held", 2, &at_qos0));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	EXPECT_EQ(0, mqtt_expect_silence(sub, QUIET_MS));
	/* Message 1 arrived before the reconnect: its PUBREC may come. */
	ASSERT_EQ(0, mqtt_send_pub_ack(sub, MQTT_PUBREC, held_id));
	EXPECT_EQ(0, mqtt_expect_pub_ack(sub, MQTT_PUBREL, held_id));
	EXPECT_EQ(0, mqtt_expect_nth(sub, "held", 2, &at_qos0));
	close(sub);
}

/*
 * A QoS 1 subscriber that never acks (full window, growing queue) does
 * not slow the publisher, whose every PUBACK comes at once, nor another
 * subscriber, which gets every message promptly.
 */
TEST_F(qos, stalled_qos1_subscriber_does_not_slow_others)
{
	struct timeval tv = { .tv_sec = 5 };
	struct mqtt_received m;
	int fast, i;

	fast = mqtt_client_open(self->broker.port, "qos-fast", 0);
	ASSERT_LE(0, fast);
	ASSERT_EQ(0, setsockopt(self->pub, SOL_SOCKET, SO_SNDTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "slow", 1));
	ASSERT_EQ(0, mqtt_subscribe_qos(fast, 1, "slow", 1));
	for (i = 0; i < N_SLOW; i++) {
		ASSERT_EQ(0, mqtt_publish_nth(self->pub, "slow", i, &at_qos1));
		ASSERT_EQ(0, mqtt_expect_nth(fast, "slow", i, &at_qos1));
	}
	/* The stalled one got its window's worth, unacknowledged. */
	for (i = 0; i < DEFAULT_INFLIGHT; i++)
		ASSERT_EQ(0, mqtt_receive(self->sub, &m, false,
					  MQTT_TEST_TIMEOUT_MS));
	close(fast);
}

/* QoS 0 to a QoS 2 subscription stays QoS 0, with no packet id. */
TEST_F(qos, qos0_publish_stays_qos0)
{
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "z", 2));
	ASSERT_EQ(0, mqtt_publish(self->pub, "z", "0", &at_qos0));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "z", "0", 1));
}

TEST_HARNESS_MAIN
