// SPDX-License-Identifier: GPL-2.0
/*
 * Bridge links in the module (Documentation/bridges.rst): the test plays
 * kmqttd, which dials, and the remote broker at the other end of the
 * socket it hands over, so that it sees every byte the module sends as a
 * client.  Topics cross with one prefix replaced by the other, both ways
 * and at every QoS; what came in does not go back; a link that goes away
 * leaves its QoS 1 messages queued in its session, sent in order on the
 * next link; the module keeps the link alive with PINGREQ and closes a
 * silent one; lines the module cannot carry are refused at ATTACH; between
 * a lazy bridge's links kmqttd sets its session's subscriptions to its
 * lines.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "direct.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define LINK_ID		"local.box1"
#define SUB_ID		"bridge-sub"
#define PUB_ID		"bridge-pub"

/* Out: site/... here is up/box1/... there; in: down/box1/... is cmd/... */
static const struct kmqtt_nl_bridge_topic box_lines[] = {
	{ .direction = KMQTT_BRIDGE_OUT, .qos = 1,
	  .local = "site/#", .local_prefix_len = 5,
	  .remote = "up/box1/#", .remote_prefix_len = 8 },
	{ .direction = KMQTT_BRIDGE_IN, .qos = 2,
	  .local = "cmd/#", .local_prefix_len = 4,
	  .remote = "down/box1/#", .remote_prefix_len = 10 },
};

/* Both ways under one name. */
static const struct kmqtt_nl_bridge_topic both_line[] = {
	{ .direction = KMQTT_BRIDGE_IN | KMQTT_BRIDGE_OUT, .qos = 1,
	  .local = "shared/#", .remote = "shared/#" },
};

static const struct mqtt_pub_opts qos0 = { .qos = 0 };
static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };

FIXTURE(bridge)
{
	struct kmqtt_genl genl;
	struct direct direct;
	int kmsg;
	int remote, sub, pub;
	uint64_t link;
};

FIXTURE_SETUP(bridge)
{
	self->remote = -1;
	self->sub = -1;
	self->pub = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_join_events(&self->genl));
	ASSERT_EQ(0, direct_open(&self->direct));
	self->sub = direct_client(&self->direct, &self->genl, SUB_ID, true,
				  NULL, NULL);
	ASSERT_LE(0, self->sub);
	self->pub = direct_client(&self->direct, &self->genl, PUB_ID, true,
				  NULL, NULL);
	ASSERT_LE(0, self->pub);
}

/* A clean start by the link's client id takes its session away. */
FIXTURE_TEARDOWN(bridge)
{
	int fd = direct_client(&self->direct, &self->genl, LINK_ID, true,
			       NULL, NULL);

	EXPECT_LE(0, fd);
	close(fd);
	close(self->remote);
	close(self->sub);
	close(self->pub);
	EXPECT_EQ(0, kmqtt_genl_wait_session(&self->genl, LINK_ID,
					     KMQTT_SESSION_GONE, 5000));
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

/*
 * Hand over a link with these lines, a lazy bridge's (BRIDGE_QUEUE_QOS0)
 * if @lazy: the remote broker's end, or -errno.
 */
static int link_up_as(struct _test_data_bridge *self,
		      const struct kmqtt_nl_bridge_topic *lines, size_t n,
		      bool clean, uint16_t keepalive, bool lazy)
{
	struct kmqtt_attach_req req = {
		.client_id = LINK_ID,
		.proto_level = MQTT_PROTO_V311,
		.keepalive = keepalive,
		.clean_session = clean,
		.bridge = lines,
		.bridge_count = n,
		.bridge_queue_qos0 = lazy,
	};

	return direct_bridge(&self->direct, &self->genl, &req, &self->link);
}

static int link_up(struct _test_data_bridge *self,
		   const struct kmqtt_nl_bridge_topic *lines, size_t n,
		   bool clean, uint16_t keepalive)
{
	return link_up_as(self, lines, n, clean, keepalive, false);
}

/* The remote broker closes the link; the module sees it go. */
static int link_down(struct _test_data_bridge *self)
{
	struct kmqtt_nl_closed ev;

	close(self->remote);
	self->remote = -1;
	return kmqtt_genl_wait_closed(&self->genl, self->link,
				      MQTT_TEST_TIMEOUT_MS, &ev);
}

/* A local message goes out under the remote prefix, a QoS 1 one acked. */
TEST_F(bridge, out_topic_renamed)
{
	self->remote = link_up(self, box_lines, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/temp", "21", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/temp", "21",
					 &qos0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/a/b", "x", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/a/b", "x",
					 &qos1));
	/* Not on a line going out: stays here. */
	ASSERT_EQ(0, mqtt_publish(self->pub, "cmd/temp", "no", &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
}

/* A remote message comes in under the local prefix, at every QoS. */
TEST_F(bridge, in_topic_renamed)
{
	static const struct mqtt_pub_opts qos2 = { .qos = 2,
						   .packet_id = 9 };
	static const struct mqtt_pub_opts got2 = { .qos = 2 };

	self->remote = link_up(self, box_lines, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, "cmd/#", 2));
	ASSERT_EQ(0, mqtt_publish(self->remote, "down/box1/valve", "open",
				  &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "cmd/valve", "open",
					 &(struct mqtt_pub_opts){ .qos = 1 }));
	ASSERT_EQ(0, mqtt_publish(self->remote, "down/box1/valve", "shut",
				  &qos2));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "cmd/valve", "shut",
					 &got2));
	/* Completes the QoS 2 flow (PUBREL, PUBCOMP). */
	ASSERT_EQ(0, mqtt_sync(self->sub));
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, 300));
}

/* MQTT 4.3.3: a QoS 2 PUBLISH resent before PUBREL comes in once. */
TEST_F(bridge, in_qos2_resent_delivered_once)
{
	static const struct mqtt_pub_opts first = { .qos = 2,
						    .packet_id = 5 };
	static const struct mqtt_pub_opts again = { .qos = 2, .dup = true,
						    .packet_id = 5 };

	self->remote = link_up(self, box_lines, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "cmd/#"));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->remote, "down/box1/q", "1",
					    1, &first));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->remote, MQTT_PUBREC, 5));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->remote, "down/box1/q", "1",
					    1, &again));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->remote, MQTT_PUBREC, 5));
	ASSERT_EQ(0, mqtt_send_pub_ack(self->remote, MQTT_PUBREL, 5));
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->remote, MQTT_PUBCOMP, 5));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "cmd/q", "1", &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, 300));
}

/* A topic no line carries in is acknowledged, counted and dropped. */
TEST_F(bridge, in_topic_without_line_dropped)
{
	uint64_t before, after;

	self->remote = link_up(self, box_lines, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "#"));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_DENIED, &before));
	/* Under the out line's remote name: not a line going in. */
	ASSERT_EQ(0, mqtt_publish(self->remote, "up/box1/temp", "x", &qos1));
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, 300));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_DENIED, &after));
	ASSERT_EQ(before + 1, after);
}

/* What came in on a line both ways does not go back out on it. */
TEST_F(bridge, both_ways_no_echo)
{
	self->remote = link_up(self, both_line, 1, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "shared/#"));
	ASSERT_EQ(0, mqtt_publish(self->remote, "shared/in", "r", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "shared/in", "r", &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 500));
	ASSERT_EQ(0, mqtt_publish(self->pub, "shared/out", "l", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "shared/out", "l",
					 &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "shared/out", "l", &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
}

/* A retained message keeps its flag across (retain as published). */
TEST_F(bridge, retained_crosses_with_flag)
{
	static const struct mqtt_pub_opts retained = { .qos = 1,
						       .retain = true,
						       .packet_id = 2 };
	static const struct mqtt_pub_opts cleared = { .retain = true };

	self->remote = link_up(self, box_lines, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/state", "up", &retained));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/state", "up",
					 &(struct mqtt_pub_opts){
						.qos = 1, .retain = true }));
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/state", "", &cleared));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/state", "",
					 &cleared));
}

/*
 * Store and forward: with its link down, the QoS 1 messages for it wait in
 * its session and go out in order on the next link; the one in flight
 * when it went down goes again first, with DUP.
 */
TEST_F(bridge, queued_while_down_sent_in_order)
{
	static const struct mqtt_pub_opts dup1 = { .qos = 1, .dup = true };
	struct mqtt_received m;
	int i;

	self->remote = link_up(self, box_lines, 2, false, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/n", "inflight", &qos1));
	ASSERT_EQ(0, mqtt_receive(self->remote, &m, false,
				  MQTT_TEST_TIMEOUT_MS));
	ASSERT_STREQ("up/box1/n", m.topic);
	ASSERT_EQ(0, link_down(self));
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, mqtt_publish_nth(self->pub, "site/n", i, &qos1));

	self->remote = link_up(self, box_lines, 2, false, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/n",
					 "inflight", &dup1));
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, mqtt_expect_nth(self->remote, "up/box1/n", i,
					     &qos1));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
}

/*
 * The link's subscription to site/# has @options; with the link down, a
 * QoS 0 message for it is queued (@queued 1) or not (0).
 */
static void qos0_while_down(struct __test_metadata *_metadata,
			    FIXTURE_DATA(bridge) *self, uint8_t options,
			    const char *payload, uint64_t queued)
{
	struct kmqtt_session_info info;
	uint8_t got;

	ASSERT_EQ(0, kmqtt_genl_sub_options(&self->genl, LINK_ID, "site/#",
					    &got));
	EXPECT_EQ(options, got);
	ASSERT_EQ(0, link_down(self));
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/a", payload, &qos0));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, LINK_ID, &info));
	EXPECT_EQ(queued, info.stats[KMQTT_STAT_QUEUED]);
}

/*
 * A lazy bridge's link (BRIDGE_QUEUE_QOS0): the subscriptions of its
 * lines going out take KMQTT_SUBOPT_QUEUE_QOS0, so that QoS 0 for it
 * waits in its session while the link is down, and goes out on the next
 * one.  Another link's do not: QoS 0 is dropped while it is down.
 */
TEST_F(bridge, lazy_link_queues_qos0)
{
	static const uint8_t options = 1 | MQTT_SUBOPT_NO_LOCAL |
				       MQTT_SUBOPT_RETAIN_AS_PUBLISHED;

	self->remote = link_up(self, box_lines, 2, false, 0);
	ASSERT_LE(0, self->remote);
	qos0_while_down(_metadata, self, options, "dropped", 0);

	self->remote = link_up_as(self, box_lines, 2, false, 0, true);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
	qos0_while_down(_metadata, self, options | KMQTT_SUBOPT_QUEUE_QOS0,
			"kept", 1);

	self->remote = link_up_as(self, box_lines, 2, false, 0, true);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/a", "kept",
					 &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
}

/* The link's session follows its lines: a line dropped stops going out. */
TEST_F(bridge, lines_replace_subscriptions)
{
	static const struct kmqtt_nl_bridge_topic other[] = {
		{ .direction = KMQTT_BRIDGE_OUT, .qos = 0,
		  .local = "other/#", .remote = "other/#" },
	};
	size_t n;

	self->remote = link_up(self, box_lines, 2, false, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, kmqtt_genl_dump_count(&self->genl,
					   KMQTT_CMD_GET_SUBSCRIPTION,
					   LINK_ID, &n));
	/* The in line is subscribed to on the remote broker, not here. */
	ASSERT_EQ(1, n);
	ASSERT_EQ(0, link_down(self));
	self->remote = link_up(self, other, 1, false, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, kmqtt_genl_dump_count(&self->genl,
					   KMQTT_CMD_GET_SUBSCRIPTION,
					   LINK_ID, &n));
	ASSERT_EQ(1, n);
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/x", "old", &qos0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "other/x", "new", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "other/x", "new",
					 &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
}

/*
 * Between a lazy bridge's links kmqttd sets its session's subscriptions
 * to its lines (SET_BRIDGE_SUBSCRIPTIONS), as the next link's ATTACH
 * would: a line a reload removed holds no message meanwhile.  Only for a
 * bridge's session, and only offline.
 */
TEST_F(bridge, offline_lines_replace_subscriptions)
{
	static const struct kmqtt_nl_bridge_topic other[] = {
		{ .direction = KMQTT_BRIDGE_OUT, .qos = 1,
		  .local = "other/#", .remote = "other/#" },
	};
	struct kmqtt_nl *nl = &self->genl.nl;
	struct kmqtt_session_info info;
	uint8_t got;
	size_t n;

	self->remote = link_up_as(self, box_lines, 2, false, 0, true);
	ASSERT_LE(0, self->remote);
	EXPECT_EQ(-EBUSY, kmqtt_nl_set_bridge_subscriptions(nl, LINK_ID,
							    other, 1, true));
	ASSERT_EQ(0, link_down(self));
	/* CONN_CLOSED comes before the session is offline. */
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, LINK_ID,
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, kmqtt_nl_set_bridge_subscriptions(nl, LINK_ID, other, 1,
						       true)) TH_LOG("%s", nl->error);
	ASSERT_EQ(0, kmqtt_genl_dump_count(&self->genl,
					   KMQTT_CMD_GET_SUBSCRIPTION,
					   LINK_ID, &n));
	EXPECT_EQ(1, n);
	ASSERT_EQ(0, kmqtt_genl_sub_options(&self->genl, LINK_ID, "other/#",
					    &got));
	EXPECT_EQ(1 | MQTT_SUBOPT_NO_LOCAL | MQTT_SUBOPT_RETAIN_AS_PUBLISHED |
		  KMQTT_SUBOPT_QUEUE_QOS0, got);
	EXPECT_EQ(-ENOENT, kmqtt_genl_sub_options(&self->genl, LINK_ID,
						  "site/#", &got));
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/a", "gone", &qos0));
	ASSERT_EQ(0, mqtt_publish(self->pub, "other/a", "kept", &qos0));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, LINK_ID, &info));
	EXPECT_EQ(1, info.stats[KMQTT_STAT_QUEUED]);

	EXPECT_EQ(-ENOENT, kmqtt_nl_set_bridge_subscriptions(nl, "no-such",
							     other, 1, true));
	EXPECT_EQ(-EEXIST, kmqtt_nl_set_bridge_subscriptions(nl, SUB_ID,
							     other, 1, true));
	ASSERT_EQ(0, kmqtt_genl_dump_count(&self->genl,
					   KMQTT_CMD_GET_SUBSCRIPTION,
					   SUB_ID, &n));
	EXPECT_EQ(0, n);

	self->remote = link_up_as(self, other, 1, false, 0, true);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "other/a", "kept",
					 &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
}

/*
 * The remote broker sends nothing unasked: the module asks with PINGREQ
 * every half keepalive, and a link that answers stays up.
 */
TEST_F(bridge, pingreq_keeps_link_up)
{
	struct mqtt_packet p = {};
	int i;

	self->remote = link_up(self, box_lines, 2, true, 2);
	ASSERT_LE(0, self->remote);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, mqtt_read_packet(self->remote, &p, 2500));
		ASSERT_EQ(MQTT_PINGREQ, p.type);
		ASSERT_EQ(0, p.len);
		ASSERT_EQ(0, mqtt_send_raw(self->remote,
					   (const uint8_t[]){ 0xd0, 0 }, 2));
	}
	mqtt_packet_free(&p);
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/alive", "1", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/alive", "1",
					 &qos0));
}

/* A remote broker that stops answering: the link closes, KEEPALIVE. */
TEST_F(bridge, silent_remote_closes_link)
{
	struct kmqtt_nl_closed ev;

	self->remote = link_up(self, box_lines, 2, true, 2);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->genl, self->link, 6000,
					    &ev));
	ASSERT_EQ(KMQTT_CLOSE_KEEPALIVE, ev.reason);
}

/* A SUBACK that refuses a filter is the remote's business: link stays. */
TEST_F(bridge, suback_refusal_keeps_link)
{
	static const uint8_t suback[] = { 0x90, 4, 0, 1, 0x01, 0x80 };

	self->remote = link_up(self, box_lines, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_send_raw(self->remote, suback, sizeof(suback)));
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/after", "1", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/after", "1",
					 &qos0));
}

/*
 * What a 3.1.x broker does not send on a bridge link closes it: packets
 * only clients send, an UNSUBACK (no UNSUBSCRIBE went out), DISCONNECT.
 */
TEST_F(bridge, client_packet_closes_link)
{
	static const uint8_t pingreq[] = { 0xc0, 0 };
	static const uint8_t unsuback[] = { 0xb0, 2, 0, 1 };
	static const uint8_t disconnect[] = { 0xe0, 0 };
	static const struct {
		const uint8_t *bytes;
		size_t len;
	} packets[] = {
		{ pingreq, sizeof(pingreq) },
		{ unsuback, sizeof(unsuback) },
		{ disconnect, sizeof(disconnect) },
	};
	struct kmqtt_nl_closed ev;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(packets); i++) {
		TH_LOG("packet %zu", i);
		self->remote = link_up(self, box_lines, 2, true, 0);
		ASSERT_LE(0, self->remote);
		ASSERT_EQ(0, mqtt_send_raw(self->remote, packets[i].bytes,
					   packets[i].len));
		ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->genl, self->link,
						    MQTT_TEST_TIMEOUT_MS,
						    &ev));
		ASSERT_EQ(KMQTT_CLOSE_PROTOCOL, ev.reason);
		ASSERT_EQ(0, mqtt_wait_closed(self->remote,
					      MQTT_TEST_TIMEOUT_MS));
		close(self->remote);
		self->remote = -1;
	}
}

/*
 * A link that only receives QoS 0 sends nothing else: the remote broker
 * still hears from it within its keepalive, PINGREQ every half.
 */
TEST_F(bridge, pingreq_while_receiving)
{
	struct mqtt_packet p = {};
	int i, pings = 0;

	self->remote = link_up(self, box_lines, 2, true, 2);
	ASSERT_LE(0, self->remote);
	for (i = 0; i < 25; i++) {
		ASSERT_EQ(0, mqtt_send_publish(self->remote, "down/box1/s",
					       "x", 1));
		usleep(100 * 1000);
	}
	while (!mqtt_read_packet(self->remote, &p, 100))
		pings += p.type == MQTT_PINGREQ;
	mqtt_packet_free(&p);
	ASSERT_LE(2, pings);
}

/*
 * A rename that would make a '$' topic of one matched by a wildcard
 * ("b/$SYS/x" to "$SYS/x" under "#") drops it (MQTT-4.7.2-1); a line
 * naming the '$' topic itself carries it.
 */
TEST_F(bridge, in_dollar_topic_only_by_name)
{
	static const struct kmqtt_nl_bridge_topic lines[] = {
		{ .direction = KMQTT_BRIDGE_IN, .local = "#",
		  .remote = "b/#", .remote_prefix_len = 2 },
		{ .direction = KMQTT_BRIDGE_IN, .local = "$SYS/named",
		  .remote = "b/$SYS/named", .remote_prefix_len = 2 },
	};
	uint64_t before, after;

	self->remote = link_up(self, lines, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "$SYS/#"));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_DENIED, &before));
	ASSERT_EQ(0, mqtt_publish(self->remote, "b/$SYS/x", "no", &qos1));
	ASSERT_EQ(0, mqtt_publish(self->remote, "b/$SYS/named", "yes",
				  &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "$SYS/named", "yes",
					 &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, 300));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_DENIED, &after));
	ASSERT_EQ(before + 1, after);
}

/* QoS 2 out: PUBREC from the remote is answered with PUBREL. */
TEST_F(bridge, out_qos2_flow)
{
	static const struct kmqtt_nl_bridge_topic line[] = {
		{ .direction = KMQTT_BRIDGE_OUT, .qos = 2,
		  .local = "q/#", .remote = "q/#" },
	};
	static const struct mqtt_pub_opts qos2 = { .qos = 2,
						   .packet_id = 3 };
	struct kmqtt_session_info info;
	struct mqtt_received m;

	self->remote = link_up(self, line, 1, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_publish(self->pub, "q/x", "two", &qos2));
	ASSERT_EQ(0, mqtt_receive(self->remote, &m, true,
				  MQTT_TEST_TIMEOUT_MS));
	ASSERT_STREQ("q/x", m.topic);
	ASSERT_EQ(2, m.opts.qos);
	ASSERT_EQ(0, mqtt_expect_pub_ack(self->remote, MQTT_PUBREL,
					 m.opts.packet_id));
	ASSERT_EQ(0, mqtt_send_pub_ack(self->remote, MQTT_PUBCOMP,
				       m.opts.packet_id));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, LINK_ID, &info));
	/* The PUBCOMP is handled in its own time. */
	while (info.stats[KMQTT_STAT_INFLIGHT])
		ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, LINK_ID,
						    &info));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
}

/*
 * Subscriptions the limits refuse fail the ATTACH; the link closes and
 * can come again once the limit allows.
 */
TEST_F(bridge, refused_subscriptions_fail_attach)
{
	uint64_t limits[KMQTT_LIMIT_MAX + 1];
	static const struct kmqtt_nl_bridge_topic two_out[] = {
		{ .direction = KMQTT_BRIDGE_OUT, .local = "a/#",
		  .remote = "a/#" },
		{ .direction = KMQTT_BRIDGE_OUT, .local = "b/#",
		  .remote = "b/#" },
	};
	struct kmqtt_nl_closed ev;
	int err;

	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, limits));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_SUBSCRIPTIONS, 1));
	err = link_up(self, two_out, 2, true, 0);
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, limits,
					   1u << KMQTT_LIMIT_MAX_SUBSCRIPTIONS));
	ASSERT_EQ(-ENOSPC, err);
	ASSERT_EQ(0, kmqtt_genl_wait_closed_client(&self->genl, LINK_ID,
						   MQTT_TEST_TIMEOUT_MS, &ev));
	ASSERT_EQ(KMQTT_CLOSE_NOMEM, ev.reason);
	self->remote = link_up(self, two_out, 2, true, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_publish(self->pub, "b/x", "1", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "b/x", "1", &qos0));
}

/*
 * Lines whose prefixes could not be replaced are refused at ATTACH
 * (-EINVAL), as are values out of their attribute's range (-ERANGE).
 */
TEST_F(bridge, attach_refuses_bad_lines)
{
	static const struct {
		struct kmqtt_nl_bridge_topic line[1];
		int err;
	} bad[] = {
		/* a wildcard in the prefix */
		{ { { .direction = KMQTT_BRIDGE_OUT, .local = "a/+/b",
		      .local_prefix_len = 4, .remote = "r" } }, -EINVAL },
		/* a prefix longer than the filter */
		{ { { .direction = KMQTT_BRIDGE_IN, .local = "a",
		      .remote = "r/#", .remote_prefix_len = 4 } }, -EINVAL },
		/* a shared subscription's filter */
		{ { { .direction = KMQTT_BRIDGE_OUT, .local = "$share/g/a",
		      .remote = "a" } }, -EINVAL },
		/* not a filter */
		{ { { .direction = KMQTT_BRIDGE_OUT, .local = "a/#/b",
		      .remote = "a" } }, -EINVAL },
		/* not one pattern after both prefixes */
		{ { { .direction = KMQTT_BRIDGE_OUT, .local = "x/#",
		      .remote = "y/#" } }, -EINVAL },
		/* a prefix that ends inside a character (U+00E9) */
		{ { { .direction = KMQTT_BRIDGE_IN, .local = "\xc3\xa9/#",
		      .local_prefix_len = 1, .remote = "\xc3\xa9/#",
		      .remote_prefix_len = 1 } }, -EINVAL },
		/* no direction, QoS 3 */
		{ { { .direction = 0, .local = "a", .remote = "a" } },
		  -ERANGE },
		{ { { .direction = KMQTT_BRIDGE_OUT, .qos = 3, .local = "a",
		      .remote = "a" } }, -ERANGE },
	};
	struct kmqtt_attach_req req = {
		.client_id = LINK_ID,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
		.bridge = box_lines,
		.bridge_count = 2,
	};
	uint64_t id;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		TH_LOG("line %zu", i);
		ASSERT_EQ(bad[i].err, link_up(self, bad[i].line, 1, true, 0));
	}
	/* The module is the client there: MQTT 3.1.x, no will, no mount. */
	req.proto_level = MQTT_PROTO_V5;
	ASSERT_EQ(-EINVAL, direct_bridge(&self->direct, &self->genl, &req,
					 &id));
	req.proto_level = MQTT_PROTO_V311;
	req.mount_point = "m/";
	ASSERT_EQ(-EINVAL, direct_bridge(&self->direct, &self->genl, &req,
					 &id));
	req.mount_point = NULL;
	req.will_topic = "w";
	req.will_payload = "";
	ASSERT_EQ(-EINVAL, direct_bridge(&self->direct, &self->genl, &req,
					 &id));
	/* Queueing QoS 0 for a lazy bridge is a link's, not a client's. */
	req.will_topic = NULL;
	req.bridge_count = 0;
	req.bridge_queue_qos0 = true;
	ASSERT_EQ(-EINVAL, direct_bridge(&self->direct, &self->genl, &req,
					 &id));
	ASSERT_NE(NULL, strstr(self->genl.nl.error, "bridge link"))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(-ENOENT, kmqtt_genl_get_session(&self->genl, LINK_ID,
						  &(struct kmqtt_session_info){}));
}

/*
 * Another broker's bridge (try_private) attached as a client: what it
 * publishes is not sent back to it, unlike to an ordinary client.
 */
TEST_F(bridge, peer_bridge_not_echoed)
{
	struct kmqtt_attach_req req = {
		.client_id = LINK_ID,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
		.peer_bridge = true,
	};

	self->remote = direct_attach(&self->direct, &self->genl, &req, NULL,
				     NULL);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->remote, 1, "echo/#", 1));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "echo/#"));
	ASSERT_EQ(0, mqtt_publish(self->remote, "echo/x", "1", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "echo/x", "1", &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(self->remote, 300));
	/* The ordinary client does get its own back. */
	ASSERT_EQ(0, mqtt_publish(self->sub, "echo/y", "2", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->sub, "echo/y", "2", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "echo/y", "2", &qos0));
}

/*
 * kmqttctl show lists the bridge: up, where to and what crossed the link;
 * down, what waits for it.
 */
TEST_F(bridge, kmqttctl_shows_bridge)
{
	char json[16384], text[16384];

	self->remote = link_up(self, box_lines, 2, false, 0);
	ASSERT_LE(0, self->remote);
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/a", "1", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(self->remote, "up/box1/a", "1",
					 &qos1));
	ASSERT_EQ(0, mqtt_publish(self->remote, "down/box1/b", "2", &qos1));
	ASSERT_EQ(0, kmqttctl_run("show --json", json, sizeof(json)));
	ASSERT_NE(NULL, strstr(json, "\"bridges\":[{\"client_id\":\"" LINK_ID
				"\",\"state\":\"up\",\"address\":\"127.0.0.1:"))
		TH_LOG("%s", json);
	ASSERT_NE(NULL, strstr(json, "\"sent\":1,\"received\":1,"
				"\"queued\":0,\"queued_bytes\":0,"
				"\"inflight\":0,\"dropped\":0}]"))
		TH_LOG("%s", json);

	ASSERT_EQ(0, link_down(self));
	ASSERT_EQ(0, mqtt_publish(self->pub, "site/c", "3", &qos1));
	ASSERT_EQ(0, kmqttctl_run("show", text, sizeof(text)));
	ASSERT_NE(NULL, strstr(text, "\nbridge: " LINK_ID "\n  state: down for "))
		TH_LOG("%s", text);
	ASSERT_NE(NULL, strstr(text, "  queued: 1 messages, "))
		TH_LOG("%s", text);
}

TEST_HARNESS_MAIN
