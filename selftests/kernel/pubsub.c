// SPDX-License-Identifier: GPL-2.0
/*
 * QoS 0 publish/subscribe end to end through kmqttd and kmqtt.ko:
 * delivery, fan-out, overlapping subscriptions, SUBACK/UNSUBACK, PING,
 * DISCONNECT.
 *
 * Absence of a delivery is checked without sleeping: the publisher then
 * sends a message the subscriber does expect, and the next packet the
 * subscriber reads must be that one (per-connection order, MQTT-4.6.0-6).
 */
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define N_FANOUT_SUBSCRIBERS	5
#define N_FANOUT_MESSAGES	20

FIXTURE(pubsub)
{
	struct broker broker;
	int pub, sub;
};

FIXTURE_SETUP(pubsub)
{
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "pub", 0);
	ASSERT_LE(0, self->pub);
	self->sub = mqtt_client_open(self->broker.port, "sub", 0);
	ASSERT_LE(0, self->sub);
}

FIXTURE_TEARDOWN(pubsub)
{
	close(self->pub);
	close(self->sub);
	broker_stop(&self->broker, !_metadata->passed);
}

static int publish_str(int fd, const char *topic, const char *payload)
{
	return mqtt_send_publish(fd, topic, payload, strlen(payload));
}

static int expect_str(int fd, const char *topic, const char *payload)
{
	return mqtt_expect_publish(fd, topic, payload, strlen(payload));
}

/*
 * Payloads from 16 KiB on are sent from the message's own pages without a
 * copy per subscriber (zerocopy_min): subscribers that read only after
 * megabytes piled up (so the sends stop and resume mid-page) get every
 * byte of every size.
 */
#define N_LARGE		24
#define LARGE_MIN	16384
#define LARGE_STEP	37001

static void fill_large(char *buf, size_t len, int n)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(n * 7 + i % 251);
}

TEST_F(pubsub, large_payloads_fan_out_intact)
{
	static char buf[LARGE_MIN + N_LARGE * LARGE_STEP];
	int subs[3] = { self->sub, -1, -1 };
	int i, j;

	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "large"));
	for (j = 1; j < 3; j++) {
		subs[j] = mqtt_client_open(self->broker.port,
					   j == 1 ? "large-1" : "large-2", 0);
		ASSERT_LE(0, subs[j]);
		ASSERT_EQ(0, mqtt_subscribe(subs[j], 1, "large"));
	}
	for (i = 0; i < N_LARGE; i++) {
		fill_large(buf, LARGE_MIN + i * LARGE_STEP, i);
		ASSERT_EQ(0, mqtt_send_publish(self->pub, "large", buf,
					       LARGE_MIN + i * LARGE_STEP));
	}
	for (j = 0; j < 3; j++) {
		for (i = 0; i < N_LARGE; i++) {
			fill_large(buf, LARGE_MIN + i * LARGE_STEP, i);
			ASSERT_EQ(0, mqtt_expect_publish(subs[j], "large", buf,
						LARGE_MIN + i * LARGE_STEP));
		}
		if (j)
			close(subs[j]);
	}
}

/* MQTT-3.3.5-1 delivery; 3.3.1: QoS 0, no DUP, no RETAIN on delivery. */
TEST_F(pubsub, qos0_delivered_with_same_topic_and_bytes)
{
	static const char payload[] = "25\xc2\xb0" "C\0binary\xff";

	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "home/temperature"));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "home/temperature",
				       payload, sizeof(payload)));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "home/temperature",
					 payload, sizeof(payload)));
}

/* Remaining length of 3 bytes; empty payload is valid too (3.3.3). */
TEST_F(pubsub, large_and_empty_payloads)
{
	static char big[100000];

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = 'y';
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "big"));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "big", big, sizeof(big)));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "big", "", 0));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "big", big, sizeof(big)));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "big", "", 0));
}

/* Every subscriber gets every message, in publish order (MQTT-4.6.0-6). */
TEST_F(pubsub, fanout_to_every_subscriber_in_order)
{
	static const char *const filters[N_FANOUT_SUBSCRIBERS] = {
		"fan/out", "fan/+", "fan/#", "#", "+/out",
	};
	int subs[N_FANOUT_SUBSCRIBERS];
	char payload[16];
	int i, m;

	for (i = 0; i < N_FANOUT_SUBSCRIBERS; i++) {
		snprintf(payload, sizeof(payload), "fan%d", i);
		subs[i] = mqtt_client_open(self->broker.port, payload, 0);
		ASSERT_LE(0, subs[i]);
		ASSERT_EQ(0, mqtt_subscribe(subs[i], i + 1, filters[i]));
	}
	for (m = 0; m < N_FANOUT_MESSAGES; m++) {
		snprintf(payload, sizeof(payload), "msg %d", m);
		ASSERT_EQ(0, publish_str(self->pub, "fan/out", payload));
	}
	for (i = 0; i < N_FANOUT_SUBSCRIBERS; i++) {
		for (m = 0; m < N_FANOUT_MESSAGES; m++) {
			snprintf(payload, sizeof(payload), "msg %d", m);
			ASSERT_EQ(0, expect_str(subs[i], "fan/out", payload))
				TH_LOG("subscriber of '%s', message %d",
				       filters[i], m);
		}
		close(subs[i]);
	}
}

/*
 * MQTT 3.1.1 allows extra copies for overlapping subscriptions
 * (MQTT-3.3.5-1); kmqtt promises one copy per client.
 */
TEST_F(pubsub, overlapping_subscriptions_deliver_once)
{
	static const char *const filters[] = {
		"a/b", "a/+", "a/#", "+/b", "#", "$kmqtt-test/sentinel",
	};
	uint8_t codes[6];

	ASSERT_EQ(0, mqtt_send_subscribe(self->sub, 7, filters, 6));
	ASSERT_EQ(0, mqtt_expect_suback(self->sub, 7, codes, 6));
	ASSERT_EQ(0, publish_str(self->pub, "a/b", "once"));
	ASSERT_EQ(0, publish_str(self->pub, "$kmqtt-test/sentinel", "end"));
	ASSERT_EQ(0, expect_str(self->sub, "a/b", "once"));
	ASSERT_EQ(0, expect_str(self->sub, "$kmqtt-test/sentinel", "end"));
}

/* MQTT-3.8.4-3: the same filter again replaces the subscription. */
TEST_F(pubsub, resubscribe_replaces_subscription)
{
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "re/sub"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, "re/sub"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 3, "$kmqtt-test/sentinel"));
	ASSERT_EQ(0, publish_str(self->pub, "re/sub", "one"));
	ASSERT_EQ(0, publish_str(self->pub, "$kmqtt-test/sentinel", "end"));
	ASSERT_EQ(0, expect_str(self->sub, "re/sub", "one"));
	ASSERT_EQ(0, expect_str(self->sub, "$kmqtt-test/sentinel", "end"));
}

/*
 * MQTT-3.8.4-1/-2: SUBACK with the SUBSCRIBE's packet id;
 * MQTT-3.8.4-4, MQTT-3.9.3-1: one return code per filter, in order.
 */
TEST_F(pubsub, suback_packet_id_and_return_codes)
{
	static const char *const filters[] = { "x/1", "x/+/2", "x/#" };
	uint8_t codes[3];

	ASSERT_EQ(0, mqtt_send_subscribe(self->sub, 0xbeef, filters, 3));
	ASSERT_EQ(0, mqtt_expect_suback(self->sub, 0xbeef, codes, 3));
	EXPECT_EQ(0, codes[0]);
	EXPECT_EQ(0, codes[1]);
	EXPECT_EQ(0, codes[2]);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "y"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 0xffff, "z"));
}

/*
 * MQTT-3.10.4-1/-2: UNSUBSCRIBE deletes the subscription and delivery stops;
 * MQTT-3.10.4-4/-5: one UNSUBACK with the packet id, even for filters that
 * matched no subscription.
 */
TEST_F(pubsub, unsubscribe_stops_delivery)
{
	static const char *const gone[] = { "u/drop", "never/subscribed" };
	static const char *const kept = "u/keep";

	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "u/drop"));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, kept));
	ASSERT_EQ(0, publish_str(self->pub, "u/drop", "before"));
	ASSERT_EQ(0, expect_str(self->sub, "u/drop", "before"));

	ASSERT_EQ(0, mqtt_send_unsubscribe(self->sub, 0x1234, gone, 2));
	ASSERT_EQ(0, mqtt_expect_unsuback(self->sub, 0x1234));
	ASSERT_EQ(0, publish_str(self->pub, "u/drop", "after"));
	ASSERT_EQ(0, publish_str(self->pub, kept, "still"));
	ASSERT_EQ(0, expect_str(self->sub, kept, "still"));

	ASSERT_EQ(0, mqtt_send_unsubscribe(self->sub, 0x8001, &kept, 1));
	ASSERT_EQ(0, mqtt_expect_unsuback(self->sub, 0x8001));
}

/* No "no local" in 3.1.1: a publisher subscribed to its topic gets it. */
TEST_F(pubsub, publisher_receives_own_message)
{
	ASSERT_EQ(0, mqtt_subscribe(self->pub, 1, "self"));
	ASSERT_EQ(0, publish_str(self->pub, "self", "echo"));
	ASSERT_EQ(0, expect_str(self->pub, "self", "echo"));
}

/* MQTT-3.12.4-1: PINGREQ is answered with PINGRESP. */
TEST_F(pubsub, pingreq_answered)
{
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mqtt_send_pingreq(self->pub));
		ASSERT_EQ(0, mqtt_expect_pingresp(self->pub));
	}
}

/* MQTT-3.14.4-1: after DISCONNECT the server closes; others go on. */
TEST_F(pubsub, disconnect_closes_only_that_client)
{
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "d"));
	ASSERT_EQ(0, mqtt_send_disconnect(self->pub));
	ASSERT_EQ(0, mqtt_wait_closed(self->pub, MQTT_TEST_TIMEOUT_MS));
	close(self->pub);
	self->pub = mqtt_client_open(self->broker.port, "pub2", 0);
	ASSERT_LE(0, self->pub);
	ASSERT_EQ(0, publish_str(self->pub, "d", "after"));
	ASSERT_EQ(0, expect_str(self->sub, "d", "after"));
}

TEST_HARNESS_MAIN
