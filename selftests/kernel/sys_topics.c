// SPDX-License-Identifier: GPL-2.0
/*
 * $SYS is the broker's: kmqttd publishes the $SYS/broker tree there
 * (agent/sys.c), and kmqtt.ko refuses every client's PUBLISH on a topic
 * beginning with "$SYS", as Mosquitto does (acl__check_dollar()), but
 * "$SYS/broker/connection/+/state", where another broker's bridge tells
 * its link's state.  A refused PUBLISH is acknowledged and dropped, as an
 * access rule's denial is: not delivered, not retained, counted in
 * ACL_DENIED; a will there is not published.  Subscribing to "$SYS/#" is
 * granted, and "#" does not reach "$SYS" (MQTT-4.7.2-1).  Bridge links of
 * this broker are not asked (selftests/kernel/bridge.c brings
 * "$SYS/named" in over one).
 *
 * KMQTT_TEST_BROKER=mosquitto runs it against Mosquitto, without the
 * counter checks.
 */
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

/* Reaches the subscriber after what it must not get, as proof of order. */
#define SENTINEL	"$kmqtt-test/sys-sentinel"

static const struct mqtt_pub_opts at_qos0;
static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 7 };
static const struct mqtt_pub_opts retained1 = { .qos = 1, .retain = true,
						.packet_id = 8 };
static const struct mqtt_pub_opts retained0 = { .retain = true };

FIXTURE(sys_topics)
{
	struct broker broker;
	struct kmqtt_genl genl;
	bool kmqtt;
	int pub, sub;
};

FIXTURE_VARIANT(sys_topics)
{
	const char *topic;
	bool refused;
};

/* Not one Mosquitto publishes itself, to run against it too. */
FIXTURE_VARIANT_ADD(sys_topics, broker_tree)
{
	.topic = "$SYS/broker/kmqtt-test", .refused = true,
};

FIXTURE_VARIANT_ADD(sys_topics, sys_alone)
{
	.topic = "$SYS", .refused = true,
};

/* Mosquitto compares the first four bytes only. */
FIXTURE_VARIANT_ADD(sys_topics, sys_longer_first_level)
{
	.topic = "$SYSx/y", .refused = true,
};

FIXTURE_VARIANT_ADD(sys_topics, under_connection_state)
{
	.topic = "$SYS/broker/connection/edge/state/x", .refused = true,
};

/* Another broker's bridge notification: a client's, and allowed. */
FIXTURE_VARIANT_ADD(sys_topics, bridge_state)
{
	.topic = "$SYS/broker/connection/edge/state", .refused = false,
};

/* Other '$' topics are not the broker's. */
FIXTURE_VARIANT_ADD(sys_topics, other_dollar)
{
	.topic = "$app/x", .refused = false,
};

static uint64_t acl_denied(struct __test_metadata *_metadata,
			   FIXTURE_DATA(sys_topics) *self)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];

	if (!self->kmqtt)
		return 0;
	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, stats));
	return stats[KMQTT_STAT_ACL_DENIED];
}

FIXTURE_SETUP(sys_topics)
{
	self->pub = -1;
	self->sub = -1;
	self->kmqtt = broker_is_kmqtt();
	if (self->kmqtt)
		ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "sys-pub", 0);
	ASSERT_LE(0, self->pub);
	self->sub = mqtt_client_open(self->broker.port, "sys-sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, variant->topic, 1));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, SENTINEL));
}

FIXTURE_TEARDOWN(sys_topics)
{
	/*
	 * What was stored is cleared: by the broker itself (a module that
	 * let a refused one through must not fail the next tests too), or
	 * by the client where it may.
	 */
	if (self->kmqtt) {
		EXPECT_EQ(0, kmqtt_genl_publish(&self->genl, variant->topic,
						"", 0, true));
	} else if (self->pub >= 0 && !variant->refused) {
		EXPECT_EQ(0, mqtt_publish(self->pub, variant->topic, "",
					  &retained0));
	}
	if (self->pub >= 0)
		close(self->pub);
	if (self->sub >= 0)
		close(self->sub);
	broker_stop(&self->broker, !_metadata->passed);
	if (self->kmqtt)
		kmqtt_genl_close(&self->genl);
}

/*
 * A retained QoS 1 PUBLISH is acknowledged either way; refused, it
 * reaches neither the subscriber nor the retained store.
 */
TEST_F(sys_topics, client_publish)
{
	uint64_t denied = acl_denied(_metadata, self);
	int late;

	ASSERT_EQ(0, mqtt_publish(self->pub, variant->topic, "forged",
				  &retained1));
	ASSERT_EQ(0, mqtt_publish(self->pub, SENTINEL, "end", &at_qos0));
	if (!variant->refused)
		ASSERT_EQ(0, mqtt_expect_message(self->sub, variant->topic,
						 "forged", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, SENTINEL, "end", 3))
		TH_LOG("%s reached the subscriber", variant->topic);
	if (self->kmqtt)
		EXPECT_EQ(denied + variant->refused,
			  acl_denied(_metadata, self));

	/* Retained only when allowed. */
	late = mqtt_client_open(self->broker.port, "sys-late", 0);
	ASSERT_LE(0, late);
	ASSERT_EQ(0, mqtt_subscribe(late, 1, variant->topic));
	if (!variant->refused) {
		EXPECT_EQ(0, mqtt_expect_message(late, variant->topic,
						 "forged", &retained0));
	} else {
		EXPECT_EQ(0, mqtt_expect_silence(late, 500))
			TH_LOG("%s was retained", variant->topic);
	}
	close(late);
}

/* A will on the topic goes out only where the client could publish. */
TEST_F(sys_topics, will)
{
	struct mqtt_connect_opts opts = {
		.client_id = "sys-will",
		.clean_session = true,
		.will_topic = variant->topic,
		.will_payload = "gone",
		.will_len = 4,
	};
	uint64_t denied = acl_denied(_metadata, self), now;
	int fd;

	fd = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_LE(0, fd);
	/* Closed without DISCONNECT: the will is due. */
	close(fd);
	if (!variant->refused) {
		ASSERT_EQ(0, mqtt_expect_message(self->sub, variant->topic,
						 "gone", &at_qos0));
		return;
	}
	if (self->kmqtt)
		ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->genl,
						  KMQTT_STAT_ACL_DENIED,
						  denied + 1, UINT64_MAX,
						  10000, &now));
	ASSERT_EQ(0, mqtt_publish(self->pub, SENTINEL, "end", &at_qos0));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, SENTINEL, "end", 3))
		TH_LOG("the will on %s was published", variant->topic);
}

/*
 * What the broker publishes there itself (KMQTT_CMD_PUBLISH, kmqttd's
 * $SYS tree) reaches "$SYS/#" and not "#".
 */
TEST_F(sys_topics, broker_publishes_to_sys_subscribers_only)
{
	static const char topic[] = "$SYS/broker/kmqtt-own";
	int all, sys;

	if (!self->kmqtt)
		SKIP(return, "kmqtt.ko's own PUBLISH");
	all = mqtt_client_open(self->broker.port, "sys-all", 0);
	ASSERT_LE(0, all);
	ASSERT_EQ(0, mqtt_subscribe(all, 1, "#"));
	sys = mqtt_client_open(self->broker.port, "sys-tree", 0);
	ASSERT_LE(0, sys);
	ASSERT_EQ(0, mqtt_subscribe(sys, 1, "$SYS/#"));
	ASSERT_EQ(0, kmqtt_genl_publish(&self->genl, topic, "42", 1, false))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(0, mqtt_expect_publish(sys, topic, "42", 2));
	ASSERT_EQ(0, mqtt_publish(self->pub, "plain", "first", &at_qos0));
	ASSERT_EQ(0, mqtt_expect_publish(all, "plain", "first", 5))
		TH_LOG("\"#\" got the broker's $SYS message");
	close(all);
	close(sys);
}

TEST_HARNESS_MAIN
