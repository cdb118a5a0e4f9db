// SPDX-License-Identifier: GPL-2.0
/*
 * Will messages (MQTT-3.1.2-8): published when the connection closes for
 * any reason but DISCONNECT (keep alive expiry, the client's socket going
 * away, a protocol violation, a takeover), with the will's QoS and RETAIN.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define WILLER		"will-client"
#define WILL_TOPIC	"will/status"
#define WILL_PAYLOAD	"gone"
/* A 1 s keep alive expires at 1.5 s; the failure bound has slack. */
#define KEEPALIVE_BOUND_MS	5000

static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 1 };
static const struct mqtt_pub_opts retained1 = { .qos = 1, .retain = true,
						.packet_id = 1 };

FIXTURE(will)
{
	struct broker broker;
	struct kmqtt_genl genl;
	int sub, willer;
};

FIXTURE_SETUP(will)
{
	self->willer = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, broker_start(&self->broker));
	self->sub = mqtt_client_open(self->broker.port, "will-sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, WILL_TOPIC, 2));
}

FIXTURE_TEARDOWN(will)
{
	close(self->willer);
	close(self->sub);
	broker_stop(&self->broker, !_metadata->passed);
	kmqtt_genl_close(&self->genl);
}

/* Connect WILLER with a will of this QoS and RETAIN. */
static void connect_willer(struct __test_metadata *_metadata,
			   FIXTURE_DATA(will) *self, uint16_t keepalive,
			   uint8_t qos, bool retain)
{
	struct mqtt_connect_opts opts = {
		.client_id = WILLER,
		.keepalive = keepalive,
		.clean_session = true,
		.will_topic = WILL_TOPIC,
		.will_payload = WILL_PAYLOAD,
		.will_len = strlen(WILL_PAYLOAD),
		.will_qos = qos,
		.will_retain = retain,
	};

	self->willer = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_LE(0, self->willer);
}

/* The will, forwarded (RETAIN clear) at this QoS, within timeout_ms. */
static int expect_will(int fd, uint8_t qos, int timeout_ms)
{
	struct mqtt_received m;
	int err;

	err = mqtt_receive(fd, &m, true, timeout_ms);
	if (err)
		return err;
	if (strcmp(m.topic, WILL_TOPIC) ||
	    m.payload_len != strlen(WILL_PAYLOAD) ||
	    memcmp(m.payload, WILL_PAYLOAD, m.payload_len) ||
	    m.opts.qos != qos || m.opts.retain || m.opts.dup) {
		fprintf(stderr, "# got '%s' '%.*s' QoS %u retain %d dup %d\n",
			m.topic, (int)m.payload_len, m.payload, m.opts.qos,
			m.opts.retain, m.opts.dup);
		return -EPROTO;
	}
	return 0;
}

/* MQTT-3.1.2-8, MQTT-3.1.2-24: keep alive expiry publishes the will. */
TEST_F(will, published_on_keepalive_expiry)
{
	connect_willer(_metadata, self, 1, 1, false);
	ASSERT_EQ(0, expect_will(self->sub, 1, KEEPALIVE_BOUND_MS));
}

/* MQTT-3.1.2-8: the client's socket closed without DISCONNECT. */
TEST_F(will, published_on_close_without_disconnect)
{
	connect_willer(_metadata, self, 0, 1, false);
	close(self->willer);
	self->willer = -1;
	ASSERT_EQ(0, expect_will(self->sub, 1, MQTT_TEST_TIMEOUT_MS));
}

/* MQTT-3.1.2-8 on a protocol violation: a second CONNECT (MQTT-3.1.0-2). */
TEST_F(will, published_on_protocol_violation)
{
	struct mqtt_connect_opts again = { .client_id = WILLER };

	connect_willer(_metadata, self, 0, 1, false);
	ASSERT_EQ(0, mqtt_send_connect(self->willer, &again));
	ASSERT_EQ(0, mqtt_wait_closed(self->willer, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, expect_will(self->sub, 1, MQTT_TEST_TIMEOUT_MS));
}

/* MQTT-3.1.4-2 closes the old connection: its will goes out. */
TEST_F(will, published_on_takeover)
{
	int taker;

	connect_willer(_metadata, self, 0, 1, false);
	taker = mqtt_client_open(self->broker.port, WILLER, 0);
	ASSERT_LE(0, taker);
	ASSERT_EQ(0, mqtt_wait_closed(self->willer, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, expect_will(self->sub, 1, MQTT_TEST_TIMEOUT_MS));
	close(taker);
}

/*
 * MQTT-3.1.2-10, MQTT-3.14.4-3: DISCONNECT discards the will.  Once the
 * session is gone the close is complete; the sentinel is then the next
 * message.
 */
TEST_F(will, not_published_on_disconnect)
{
	connect_willer(_metadata, self, 0, 1, false);
	ASSERT_EQ(0, mqtt_send_disconnect(self->willer));
	ASSERT_EQ(0, mqtt_wait_closed(self->willer, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, WILLER,
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));
	close(self->willer);
	self->willer = mqtt_client_open(self->broker.port, "will-pub", 0);
	ASSERT_LE(0, self->willer);
	ASSERT_EQ(0, mqtt_publish(self->willer, WILL_TOPIC, "sentinel",
				  &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, WILL_TOPIC, "sentinel",
					 &at_qos1));
}

/*
 * MQTT-3.1.2-14/-15: the will goes at its QoS, capped by each granted QoS
 * (MQTT-3.8.4-6).
 */
TEST_F(will, will_qos_honoured)
{
	int sub1;

	sub1 = mqtt_client_open(self->broker.port, "will-sub1", 0);
	ASSERT_LE(0, sub1);
	ASSERT_EQ(0, mqtt_subscribe_qos(sub1, 1, WILL_TOPIC, 1));
	connect_willer(_metadata, self, 0, 2, false);
	close(self->willer);
	self->willer = -1;
	ASSERT_EQ(0, expect_will(self->sub, 2, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, expect_will(sub1, 1, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_sync(self->sub));
	close(sub1);
}

/*
 * MQTT-3.1.2-17: a will with RETAIN is stored as retained (new subscribers
 * get it with RETAIN set) and forwarded without it (MQTT-3.3.1-9).
 */
TEST_F(will, will_retain_honoured)
{
	int late, pub;

	connect_willer(_metadata, self, 0, 1, true);
	close(self->willer);
	self->willer = -1;
	ASSERT_EQ(0, expect_will(self->sub, 1, MQTT_TEST_TIMEOUT_MS));

	late = mqtt_client_open(self->broker.port, "will-late", 0);
	ASSERT_LE(0, late);
	ASSERT_EQ(0, mqtt_subscribe_qos(late, 1, WILL_TOPIC, 1));
	ASSERT_EQ(0, mqtt_expect_message(late, WILL_TOPIC, WILL_PAYLOAD,
					 &retained1));
	close(late);

	/* Delete it again (MQTT-3.3.1-10). */
	pub = mqtt_client_open(self->broker.port, "will-pub", 0);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_publish(pub, WILL_TOPIC, "", &retained1));
	close(pub);
}

/* MQTT-3.1.2-16: without RETAIN the will is not stored. */
TEST_F(will, will_without_retain_not_stored)
{
	int late;

	connect_willer(_metadata, self, 0, 0, false);
	close(self->willer);
	self->willer = -1;
	ASSERT_EQ(0, expect_will(self->sub, 0, MQTT_TEST_TIMEOUT_MS));
	late = mqtt_client_open(self->broker.port, "will-late", 0);
	ASSERT_LE(0, late);
	ASSERT_EQ(0, mqtt_subscribe_qos(late, 1, WILL_TOPIC, 1));
	/* Nothing retained: the next packet is the sentinel's SUBACK. */
	ASSERT_EQ(0, mqtt_subscribe(late, 2, "will-sentinel"));
	close(late);
}

TEST_HARNESS_MAIN
