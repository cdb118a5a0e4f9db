// SPDX-License-Identifier: GPL-2.0
/*
 * Acks held until saved (KMQTT_CMD_ACK_HOLD, kmqtt_save_before_ack): the
 * PUBACK or PUBREC of a QoS 1/2 PUBLISH waits until the agent says a save
 * holds its message, while the message itself is delivered at once; acks
 * go out in their PUBLISHes' order, only those a save holds; a publisher
 * with KMQTT_MAX_HELD_ACKS waiting is read no more; a kmqttd started
 * without the option sends what an earlier one left held.
 *
 * kmqttd runs without persistence: the tests play its part.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define QUIET_MS	300
/* kmod/ack_hold.h */
#define MAX_HELD_ACKS	512

static const struct mqtt_pub_opts at_qos0;
static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 1 };

FIXTURE(ack_hold)
{
	struct broker broker;
	struct kmqtt_genl genl;
	int pub, sub;
};

FIXTURE_SETUP(ack_hold)
{
	struct kmqtt_nl_ack_hold out;

	self->pub = -1;
	self->sub = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "hold-pub", 0);
	ASSERT_LE(0, self->pub);
	self->sub = mqtt_client_open(self->broker.port, "hold-sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "hold/#", 1));
	ASSERT_EQ(0, kmqtt_nl_ack_hold(&self->genl.nl, 1, 0, &out));
	ASSERT_TRUE(out.hold);
}

FIXTURE_TEARDOWN(ack_hold)
{
	struct kmqtt_nl_ack_hold out;

	EXPECT_EQ(0, kmqtt_nl_ack_hold(&self->genl.nl, 0, 0, &out));
	EXPECT_FALSE(out.hold);
	close(self->pub);
	close(self->sub);
	broker_stop(&self->broker, !_metadata->passed);
	kmqtt_genl_close(&self->genl);
}

/* The number of the last ack held. */
static uint64_t last_held(struct __test_metadata *_metadata,
			  FIXTURE_DATA(ack_hold) *self)
{
	struct kmqtt_nl_ack_hold out;

	EXPECT_EQ(0, kmqtt_nl_ack_hold(&self->genl.nl, -1, 0, &out));
	EXPECT_TRUE(out.hold);
	return out.seq;
}

/* Say a save holds everything up to @seq. */
static int saved(FIXTURE_DATA(ack_hold) *self, uint64_t seq)
{
	struct kmqtt_nl_ack_hold out;

	return kmqtt_nl_ack_hold(&self->genl.nl, -1, seq, &out);
}

/*
 * Delivered at once, acknowledged once saved: nothing before (counted as
 * held), and the PUBACK after, with its packet id.
 */
TEST_F(ack_hold, puback_waits_for_the_save)
{
	uint64_t before = last_held(_metadata, self), held;

	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/a", "a", 1,
					    &(struct mqtt_pub_opts){
						    .qos = 1,
						    .packet_id = 0x4242 }));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/a", "a", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(before + 1, last_held(_metadata, self));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_ACKS_HELD,
					 &held));
	ASSERT_EQ(1, held);
	/* A save of before this PUBLISH holds nothing of it. */
	if (before) {
		ASSERT_EQ(0, saved(self, before));
		ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	}
	ASSERT_EQ(0, saved(self, before + 1));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, 0x4242));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_ACKS_HELD,
					 &held));
	ASSERT_EQ(0, held);
}

/*
 * MQTT-4.6.0-2: acks in the order of their PUBLISHes, only as far as
 * the save goes.
 */
TEST_F(ack_hold, acks_in_order_up_to_the_save)
{
	uint64_t first = last_held(_metadata, self) + 1;
	uint16_t id;

	for (id = 1; id <= 3; id++)
		ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/o", "o",
						    1, &(struct mqtt_pub_opts){
							    .qos = 1,
							    .packet_id = id }));
	for (id = 1; id <= 3; id++)
		ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/o", "o",
						 &at_qos1));
	ASSERT_EQ(first + 2, last_held(_metadata, self));
	ASSERT_EQ(0, saved(self, first + 1));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, 1));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, 2));
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(0, saved(self, first + 2));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, 3));
}

/* QoS 2: PUBREC waits; PUBCOMP, which commits nothing new, does not. */
TEST_F(ack_hold, pubrec_waits_pubcomp_does_not)
{
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/q2", "two", 3,
					    &(struct mqtt_pub_opts){
						    .qos = 2,
						    .packet_id = 9 }));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/q2", "two",
					 &at_qos1));
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(0, saved(self, last_held(_metadata, self)));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBREC, 9));
	ASSERT_EQ(0, mqtt_send_pub_ack(self->pub, MQTT_PUBREL, 9));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBCOMP, 9));
}

/* QoS 0 and PINGREQ are not held up behind a held ack. */
TEST_F(ack_hold, qos0_and_ping_pass)
{
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/q1", "1", 1,
					    &at_qos1));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "hold/q0", "0", 1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/q1", "1", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/q0", "0", &at_qos0));
	ASSERT_EQ(0, mqtt_send_pingreq(self->pub));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->pub));
}

/* Holding turned off: what waited goes out, what follows at once. */
TEST_F(ack_hold, turned_off_sends_all)
{
	struct kmqtt_nl_ack_hold out;

	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/off", "x", 1,
					    &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/off", "x",
					 &at_qos1));
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(0, kmqtt_nl_ack_hold(&self->genl.nl, 0, 0, &out));
	ASSERT_FALSE(out.hold);
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "hold/off", "y",
				  &(struct mqtt_pub_opts){ .qos = 1,
							   .packet_id = 2 }));
}

/* A save cannot hold an ack that was not held yet. */
TEST_F(ack_hold, save_past_the_last_ack_refused)
{
	ASSERT_EQ(-EINVAL, saved(self, last_held(_metadata, self) + 1));
}

/*
 * A publisher that does not wait for its acks: at KMQTT_MAX_HELD_ACKS
 * it is read no more (the next PUBLISH not taken), and goes on once a
 * save sends them; every ack comes, in order.
 */
TEST_F_TIMEOUT(ack_hold, publisher_paused_at_the_cap, 120)
{
	uint64_t in, value;
	int i;

	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MSGS_IN,
					 &in));
	for (i = 1; i <= MAX_HELD_ACKS + 1; i++)
		ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "cap/x", "c", 1,
						    &(struct mqtt_pub_opts){
							    .qos = 1,
							    .packet_id = i }));
	ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->genl, KMQTT_STAT_ACKS_HELD,
					  MAX_HELD_ACKS, MAX_HELD_ACKS + 1,
					  MQTT_TEST_TIMEOUT_MS, &value));
	/* The next one stays in the socket. */
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MSGS_IN,
					 &value));
	EXPECT_EQ(in + MAX_HELD_ACKS, value);
	ASSERT_EQ(0, saved(self, last_held(_metadata, self)));
	for (i = 1; i <= MAX_HELD_ACKS; i++)
		ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, i))
			TH_LOG("ack %d", i);
	/* Read again: the last one is taken, and held. */
	ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->genl, KMQTT_STAT_MSGS_IN,
					  in + MAX_HELD_ACKS + 1,
					  in + MAX_HELD_ACKS + 2,
					  MQTT_TEST_TIMEOUT_MS, &value));
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(0, saved(self, last_held(_metadata, self)));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK,
					 MAX_HELD_ACKS + 1));
}

/*
 * Paused for its acks longer than its keepalive allows: the wait is the
 * broker's, the connection stays (its PINGREQ waits in the socket).
 */
TEST_F_TIMEOUT(ack_hold, paused_publisher_outlives_its_keepalive, 60)
{
	uint64_t value;
	int fd, i;

	fd = mqtt_client_open(self->broker.port, "hold-keepalive", 1);
	ASSERT_LE(0, fd);
	for (i = 1; i <= MAX_HELD_ACKS + 1; i++)
		ASSERT_EQ(0, mqtt_send_publish_opts(fd, "cap/k", "k", 1,
						    &(struct mqtt_pub_opts){
							    .qos = 1,
							    .packet_id = i }));
	ASSERT_EQ(0, mqtt_send_pingreq(fd));
	ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->genl, KMQTT_STAT_ACKS_HELD,
					  MAX_HELD_ACKS, MAX_HELD_ACKS + 1,
					  MQTT_TEST_TIMEOUT_MS, &value));
	/* Three times the keepalive; 1.5 times closes an idle client. */
	ASSERT_EQ(0, mqtt_expect_silence(fd, 3000));
	ASSERT_EQ(0, saved(self, last_held(_metadata, self)));
	for (i = 1; i <= MAX_HELD_ACKS; i++)
		ASSERT_EQ(0, mqtt_expect_pub_ack(fd, MQTT_PUBACK, i))
			TH_LOG("ack %d", i);
	/* Read again: the last PUBLISH held, the PINGREQ answered. */
	ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->genl, KMQTT_STAT_ACKS_HELD,
					  1, 2, MQTT_TEST_TIMEOUT_MS, &value));
	ASSERT_EQ(0, mqtt_expect_pingresp(fd));
	ASSERT_EQ(0, saved(self, last_held(_metadata, self)));
	ASSERT_EQ(0, mqtt_expect_pub_ack(fd, MQTT_PUBACK, MAX_HELD_ACKS + 1));
	close(fd);
}

/*
 * A publisher that closes with acks held: they are dropped with it, a
 * save after that sends nothing anywhere, and its session goes on.
 */
TEST_F(ack_hold, closed_with_acks_held)
{
	struct kmqtt_nl_closed closed;

	ASSERT_EQ(0, kmqtt_genl_join_events(&self->genl));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/gone", "g", 1,
					    &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/gone", "g",
					 &at_qos1));
	close(self->pub);
	self->pub = -1;
	ASSERT_EQ(0, kmqtt_genl_wait_closed_client(&self->genl, "hold-pub",
						   MQTT_TEST_TIMEOUT_MS,
						   &closed));
	ASSERT_EQ(0, saved(self, last_held(_metadata, self)));
	self->pub = mqtt_client_open(self->broker.port, "hold-pub", 0);
	ASSERT_LE(0, self->pub);
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/gone", "h", 1,
					    &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/gone", "h",
					 &at_qos1));
	ASSERT_EQ(0, saved(self, last_held(_metadata, self)));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, 1));
}

/* A kmqttd started without kmqtt_save_before_ack sends what waited. */
TEST_F(ack_hold, kmqttd_without_the_option_sends_them)
{
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "hold/k", "k", 1,
					    &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "hold/k", "k", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(0, broker_kill(&self->broker));
	ASSERT_EQ(0, mqtt_expect_silence(self->pub, QUIET_MS));
	ASSERT_EQ(0, broker_restart(&self->broker));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK, 1));
}

TEST_HARNESS_MAIN
