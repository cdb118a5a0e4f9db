// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed packets and protocol violations close the offending connection
 * (MQTT-4.8.0-1) and only that one: a witness subscriber and publisher
 * connected to the same broker keep working.
 */
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

FIXTURE(malformed)
{
	struct broker broker;
	int bad, witness_pub, witness_sub;
};

FIXTURE_VARIANT(malformed)
{
	const char *bytes;
	size_t len;
};

/* Raw packet bytes from a string literal (they may contain NULs). */
#define RAW(s) .bytes = (s), .len = sizeof(s) - 1

/* 2.2.1: packet types 0 and 15 are reserved. */
FIXTURE_VARIANT_ADD(malformed, reserved_type_0) { RAW("\x00\x00") };
FIXTURE_VARIANT_ADD(malformed, reserved_type_15) { RAW("\xf0\x00") };
/* 2.2.3: the remaining length has at most four bytes. */
FIXTURE_VARIANT_ADD(malformed, remaining_length_5_bytes)
{ RAW("\x30\xff\xff\xff\xff\x01") };
/* MQTT-2.2.2-2: invalid fixed header flags. */
FIXTURE_VARIANT_ADD(malformed, pingreq_flags_MQTT_2_2_2_2) { RAW("\xc1\x00") };
/* MQTT-3.8.1-1, MQTT-3.10.1-1: flags must be 0010. */
FIXTURE_VARIANT_ADD(malformed, subscribe_flags_MQTT_3_8_1_1)
{ RAW("\x80\x06\x00\x01\x00\x01" "a\x00") };
FIXTURE_VARIANT_ADD(malformed, unsubscribe_flags_MQTT_3_10_1_1)
{ RAW("\xa0\x05\x00\x01\x00\x01" "a") };
/* MQTT-3.3.1-4: a PUBLISH must not have both QoS bits set. */
FIXTURE_VARIANT_ADD(malformed, publish_qos3_MQTT_3_3_1_4)
{ RAW("\x36\x06\x00\x01" "a\x00\x01x") };
/* MQTT-3.3.2-2, MQTT-4.7.1-1: no wildcards in a topic name. */
FIXTURE_VARIANT_ADD(malformed, publish_topic_plus_MQTT_3_3_2_2)
{ RAW("\x30\x06\x00\x03" "a/+x") };
FIXTURE_VARIANT_ADD(malformed, publish_topic_hash_MQTT_3_3_2_2)
{ RAW("\x30\x04\x00\x01#x") };
/* MQTT-4.7.3-1: a topic name has at least one character. */
FIXTURE_VARIANT_ADD(malformed, publish_empty_topic_MQTT_4_7_3_1)
{ RAW("\x30\x03\x00\x00x") };
/* MQTT-1.5.3-1: ill-formed UTF-8 (overlong '/', lone continuation, surrogate). */
FIXTURE_VARIANT_ADD(malformed, publish_topic_overlong_utf8_MQTT_1_5_3_1)
{ RAW("\x30\x05\x00\x02\xc0\xafx") };
FIXTURE_VARIANT_ADD(malformed, publish_topic_lone_continuation_MQTT_1_5_3_1)
{ RAW("\x30\x04\x00\x01\x80x") };
FIXTURE_VARIANT_ADD(malformed, publish_topic_surrogate_MQTT_1_5_3_1)
{ RAW("\x30\x06\x00\x03\xed\xa0\x80x") };
/* MQTT-1.5.3-2: no U+0000 in a string. */
FIXTURE_VARIANT_ADD(malformed, publish_topic_nul_MQTT_1_5_3_2)
{ RAW("\x30\x05\x00\x02" "a\x00x") };
/* 1.5.3: a string longer than the packet that holds it. */
FIXTURE_VARIANT_ADD(malformed, publish_topic_past_packet_end)
{ RAW("\x30\x04\x00\x0a" "ab") };
/* MQTT-3.8.3-3, MQTT-3.10.3-2: at least one topic filter. */
FIXTURE_VARIANT_ADD(malformed, subscribe_no_filter_MQTT_3_8_3_3)
{ RAW("\x82\x02\x00\x01") };
FIXTURE_VARIANT_ADD(malformed, unsubscribe_no_filter_MQTT_3_10_3_2)
{ RAW("\xa2\x02\x00\x01") };
/* MQTT-3-8.3-4: requested QoS 3, or reserved bits set. */
FIXTURE_VARIANT_ADD(malformed, subscribe_qos3_MQTT_3_8_3_4)
{ RAW("\x82\x06\x00\x01\x00\x01" "a\x03") };
FIXTURE_VARIANT_ADD(malformed, subscribe_reserved_bits_MQTT_3_8_3_4)
{ RAW("\x82\x06\x00\x01\x00\x01" "a\x04") };
/* MQTT-2.3.1-1: SUBSCRIBE needs a non-zero packet id. */
FIXTURE_VARIANT_ADD(malformed, subscribe_packet_id_0_MQTT_2_3_1_1)
{ RAW("\x82\x06\x00\x00\x00\x01" "a\x00") };
/* MQTT-4.7.1-2: '#' last and alone in its level. */
FIXTURE_VARIANT_ADD(malformed, subscribe_hash_not_last_MQTT_4_7_1_2)
{ RAW("\x82\x0a\x00\x01\x00\x05" "a/#/b\x00") };
FIXTURE_VARIANT_ADD(malformed, subscribe_hash_in_level_MQTT_4_7_1_2)
{ RAW("\x82\x07\x00\x01\x00\x02" "a#\x00") };
/* MQTT-4.7.1-3: '+' alone in its level. */
FIXTURE_VARIANT_ADD(malformed, subscribe_plus_in_level_MQTT_4_7_1_3)
{ RAW("\x82\x09\x00\x01\x00\x04" "a+/b\x00") };
/* MQTT-4.7.3-1: a topic filter has at least one character. */
FIXTURE_VARIANT_ADD(malformed, subscribe_empty_filter_MQTT_4_7_3_1)
{ RAW("\x82\x05\x00\x01\x00\x00\x00") };
/* MQTT-3.1.0-2: a second CONNECT is a protocol violation. */
FIXTURE_VARIANT_ADD(malformed, second_connect_MQTT_3_1_0_2)
{ RAW("\x10\x0d\x00\x04MQTT\x04\x02\x00\x00\x00\x01x") };
/* 2.2.1: packets only a server sends. */
FIXTURE_VARIANT_ADD(malformed, connack_from_client) { RAW("\x20\x02\x00\x00") };
FIXTURE_VARIANT_ADD(malformed, suback_from_client)
{ RAW("\x90\x03\x00\x01\x00") };
FIXTURE_VARIANT_ADD(malformed, pingresp_from_client) { RAW("\xd0\x00") };

FIXTURE_SETUP(malformed)
{
	ASSERT_EQ(0, broker_start(&self->broker));
	self->witness_sub = mqtt_client_open(self->broker.port, "wsub", 0);
	ASSERT_LE(0, self->witness_sub);
	ASSERT_EQ(0, mqtt_subscribe(self->witness_sub, 1, "witness"));
	self->witness_pub = mqtt_client_open(self->broker.port, "wpub", 0);
	ASSERT_LE(0, self->witness_pub);
	self->bad = mqtt_client_open(self->broker.port, "bad", 0);
	ASSERT_LE(0, self->bad);
}

FIXTURE_TEARDOWN(malformed)
{
	close(self->bad);
	close(self->witness_pub);
	close(self->witness_sub);
	broker_stop(&self->broker, !_metadata->passed);
}

TEST_F(malformed, closes_only_that_connection)
{
	ASSERT_EQ(0, mqtt_send_publish(self->witness_pub, "witness", "1", 1));
	ASSERT_EQ(0, mqtt_expect_publish(self->witness_sub, "witness", "1", 1));

	ASSERT_EQ(0, mqtt_send_raw(self->bad, variant->bytes, variant->len));
	ASSERT_EQ(0, mqtt_wait_closed(self->bad, MQTT_TEST_TIMEOUT_MS));

	ASSERT_EQ(0, mqtt_send_publish(self->witness_pub, "witness", "2", 1));
	ASSERT_EQ(0, mqtt_expect_publish(self->witness_sub, "witness", "2", 1));
	ASSERT_EQ(0, mqtt_send_pingreq(self->witness_pub));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->witness_pub));
}

TEST_HARNESS_MAIN
