// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT 5.0 on the module's data path, clients attached directly (the
 * agent's CONNECT side has tests of its own): CONNACK with the agent's
 * properties, PUBLISH properties passed on to 5.0 subscribers and left
 * out for 3.1.x ones, message expiry, subscription options, reason codes
 * in acks both ways, DISCONNECT with the will, session expiry, the
 * client's receive maximum and maximum packet size, and malformed
 * properties.  Each test names the normative statement of the MQTT 5.0
 * standard it checks.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "direct.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "modparams.h"
#include "mqtt5.h"
#include "mqtt_client.h"

/* Short enough to wait out; whole seconds as the interval counts them. */
#define EXPIRY_S	1
#define EXPIRED_US	2500000

static const struct mqtt_pub_opts qos0 = { 0 };
static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 7 };
static const struct mqtt_pub_opts qos2 = { .qos = 2, .packet_id = 9 };

FIXTURE(mqtt5)
{
	struct kmqtt_genl genl;
	struct direct direct;
	uint64_t limits[KMQTT_LIMIT_MAX + 1];	/* put back at teardown */
	int fds[16];
	int n;
};

FIXTURE_SETUP(mqtt5)
{
	self->n = 0;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->limits));
	ASSERT_EQ(0, direct_open(&self->direct));
}

FIXTURE_TEARDOWN(mqtt5)
{
	int i;

	for (i = 0; i < self->n; i++)
		close(self->fds[i]);
	EXPECT_EQ(0, modparam_write("auth_timeout", "30"));
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->limits,
					   KMQTT_GENL_ALL_LIMITS));
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
}

/*
 * Attach @req (a 5.0 client unless it says otherwise); the fd is closed
 * at teardown.
 */
static int attach(struct __test_metadata *_metadata, FIXTURE_DATA(mqtt5) *self,
		  struct kmqtt_attach_req *req, bool *present)
{
	int fd;

	if (!req->proto_level)
		req->proto_level = MQTT_PROTO_V5;
	fd = direct_attach(&self->direct, &self->genl, req, NULL, present);
	EXPECT_LE(0, fd) TH_LOG("attach %s: %s", req->client_id,
				strerror(-fd));
	if (fd >= 0 && self->n < (int)ARRAY_SIZE(self->fds))
		self->fds[self->n++] = fd;
	return fd;
}

static int client(struct __test_metadata *_metadata,
		  FIXTURE_DATA(mqtt5) *self, const char *id, uint8_t level)
{
	struct kmqtt_attach_req req = {
		.client_id = id,
		.proto_level = level,
		.clean_session = true,
	};

	return attach(_metadata, self, &req, NULL);
}

/* SUBSCRIBE one filter with @options and expect @code back. */
static int subscribe5(int fd, const char *filter, uint8_t options, uint8_t code)
{
	uint8_t got;
	int err = mqtt5_send_subscribe(fd, 1, NULL, filter, options);

	if (!err)
		err = mqtt5_expect_suback(fd, MQTT_SUBACK, 1, &got, 1);
	if (!err && got != code) {
		fprintf(stderr, "# SUBACK %#x for %s, expected %#x\n", got,
			filter, code);
		err = -EPROTO;
	}
	return err;
}

/* 4.13: the server's DISCONNECT with @reason, then the close. */
static int expect_disconnect(int fd, uint8_t reason)
{
	struct mqtt_packet p = { 0 };
	int err = mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS);

	if (!err && (p.type != MQTT_DISCONNECT || p.len < 1 ||
		     p.body[0] != reason)) {
		fprintf(stderr, "# expected DISCONNECT %#x, got type %u reason %#x\n",
			reason, p.type, p.len ? p.body[0] : 0);
		err = -EPROTO;
	}
	mqtt_packet_free(&p);
	return err ? err : mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS);
}

/*
 * Attach @req's persistent session, subscribe it to @filter at QoS 1 and
 * leave it offline.
 */
static void subscribed_offline(struct __test_metadata *_metadata,
			       FIXTURE_DATA(mqtt5) *self,
			       struct kmqtt_attach_req *req, const char *filter)
{
	int fd = attach(_metadata, self, req, NULL);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, subscribe5(fd, filter, 1, 1));
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, 0, NULL));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, req->client_id,
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
}

/*
 * [MQTT-3.2.2-?] CONNACK is the module's, with the agent's properties
 * as they were handed over, after session present and reason 0.
 */
TEST_F(mqtt5, connack_carries_the_agents_properties)
{
	static const uint8_t props[] = {
		MQTT_PROP_SUB_ID_AVAILABLE, 0, MQTT_PROP_SHARED_SUB_AVAILABLE, 0,
	};
	static const uint8_t connack[] = {
		MQTT_CONNACK << 4, 7, 0, 0, 4,
		MQTT_PROP_SUB_ID_AVAILABLE, 0, MQTT_PROP_SHARED_SUB_AVAILABLE, 0,
	};
	struct kmqtt_attach_req req = {
		.proto_level = MQTT_PROTO_V5,
		.client_id = "v5-connack",
		.clean_session = true,
		.connack_props = props,
		.connack_props_len = sizeof(props),
	};
	uint64_t id;
	int fd, srv;

	fd = loopback_connect(self->direct.port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, fd);
	srv = loopback_accept(self->direct.listen_fd, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, srv);
	req.fd = srv;
	ASSERT_EQ(0, kmqtt_genl_attach(&self->genl, &req, &id));
	close(srv);
	EXPECT_EQ(0, mqtt_expect_bytes(fd, connack, sizeof(connack),
				       MQTT_TEST_TIMEOUT_MS));
	close(fd);
}

/*
 * [MQTT-3.3.2-17, -18, -20] The publisher's properties reach a 5.0
 * subscriber unaltered and in order; a 3.1.1 subscriber gets the same
 * message without them; a 3.1.1 message reaches a 5.0 subscriber with an
 * empty property block.
 */
TEST_F(mqtt5, properties_passed_on_by_version)
{
	struct mqtt5_props props = { 0 };
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int pub, sub5, sub4, sub3;

	mqtt5_prop_byte(&props, MQTT_PROP_PAYLOAD_FORMAT, 1);
	mqtt5_prop_str(&props, MQTT_PROP_CONTENT_TYPE, "text/plain");
	mqtt5_prop_str(&props, MQTT_PROP_RESPONSE_TOPIC, "reply/here");
	mqtt5_prop_str(&props, MQTT_PROP_CORRELATION_DATA, "c0rr");
	mqtt5_prop_pair(&props, "k", "1");
	mqtt5_prop_pair(&props, "k", "2");
	mqtt5_prop_pair(&props, "a", "3");

	pub = client(_metadata, self, "v5-pub", MQTT_PROTO_V5);
	sub5 = client(_metadata, self, "v5-sub", MQTT_PROTO_V5);
	sub4 = client(_metadata, self, "v4-sub", MQTT_PROTO_V311);
	sub3 = client(_metadata, self, "v3-sub", MQTT_PROTO_V31);
	ASSERT_EQ(0, subscribe5(sub5, "t/#", 0, 0));
	ASSERT_EQ(0, mqtt_subscribe(sub4, 1, "t/#"));
	ASSERT_EQ(0, mqtt_subscribe(sub3, 1, "t/#"));

	ASSERT_EQ(0, mqtt5_send_publish(pub, "t/a", &props, "hi", 2, &qos0));
	ASSERT_EQ(0, mqtt5_read_publish(sub5, &p, &got));
	EXPECT_EQ(props.len, got.props.len);
	EXPECT_EQ(0, memcmp(props.buf, got.props.buf, props.len));
	EXPECT_EQ(2, got.pub.payload_len);
	EXPECT_EQ(0, memcmp("hi", got.pub.payload, 2));
	EXPECT_EQ(0, mqtt_expect_publish(sub4, "t/a", "hi", 2));
	EXPECT_EQ(0, mqtt_expect_publish(sub3, "t/a", "hi", 2));

	ASSERT_EQ(0, mqtt_send_publish(sub4, "t/b", "old", 3));
	ASSERT_EQ(0, mqtt5_read_publish(sub5, &p, &got));
	EXPECT_EQ(0, got.props.len);
	EXPECT_EQ(3, got.pub.payload_len);
	mqtt_packet_free(&p);
}

/*
 * [MQTT-3.3.2-6] A subscriber is sent what is left of the message expiry
 * interval; [MQTT-3.3.2-5] a message that expired while queued for an
 * offline session is not sent, and counted.
 */
TEST_F(mqtt5, message_expiry_left_and_expired_in_queue)
{
	struct kmqtt_attach_req persistent = {
		.client_id = "v5-expiry-sub",
		.session_expiry = 60,
	};
	struct mqtt5_props props = { 0 };
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	uint64_t before, after;
	int pub, sub, off;

	mqtt5_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY, 100);
	pub = client(_metadata, self, "v5-expiry-pub", MQTT_PROTO_V5);
	sub = attach(_metadata, self, &persistent, NULL);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, subscribe5(sub, "exp/#", 1, 1));

	ASSERT_EQ(0, mqtt5_send_publish(pub, "exp/a", &props, "x", 1, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	off = mqtt5_prop_find(&got.props, MQTT_PROP_MESSAGE_EXPIRY);
	ASSERT_LE(0, off);
	EXPECT_GE(100, mqtt5_prop_get_u32(&got.props, off));
	EXPECT_LE(98, mqtt5_prop_get_u32(&got.props, off));
	ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK, got.pub.opts.packet_id, 0));

	/* Offline: one that expires and one that does not. */
	ASSERT_EQ(0, mqtt_send_disconnect(sub));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-expiry-sub",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_EXPIRED, &before));
	props.len = 0;
	mqtt5_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY, EXPIRY_S);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "exp/b", &props, "gone", 4, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "exp/c", NULL, "kept", 4, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	usleep(EXPIRED_US);

	persistent.clean_session = false;
	sub = attach(_metadata, self, &persistent, NULL);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(4, got.pub.payload_len);
	EXPECT_EQ(0, memcmp("kept", got.pub.payload, 4));
	ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK, got.pub.opts.packet_id, 0));
	EXPECT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_EXPIRED, &after));
	EXPECT_EQ(before + 1, after);
	mqtt_packet_free(&p);
	persistent.clean_session = true;
	persistent.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &persistent, NULL));
}

/*
 * [MQTT-3.3.2-5] An expired retained message is not sent to new
 * subscribers, and leaves the store when a subscription comes across it,
 * by its topic or through a wildcard.
 */
TEST_F(mqtt5, retained_message_expires)
{
	struct mqtt_pub_opts retained = { .retain = true };
	struct mqtt5_props props = { 0 };
	uint64_t before, count;
	int pub, sub;

	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_RETAINED,
					 &before));
	mqtt5_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY, EXPIRY_S);
	pub = client(_metadata, self, "v5-ret-pub", MQTT_PROTO_V5);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "ret/exp", &props, "r", 1,
					&retained));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "ret/exp/2", &props, "r", 1,
					&retained));
	ASSERT_EQ(0, mqtt_sync(pub));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_RETAINED,
					 &count));
	EXPECT_EQ(before + 2, count);
	usleep(EXPIRED_US);
	sub = client(_metadata, self, "v5-ret-sub", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(sub, "ret/exp", 0, 0));
	EXPECT_EQ(0, mqtt_expect_silence(sub, 300));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_RETAINED,
					 &count));
	EXPECT_EQ(before + 1, count);
	ASSERT_EQ(0, subscribe5(sub, "ret/+/#", 0, 0));
	EXPECT_EQ(0, mqtt_expect_silence(sub, 300));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_RETAINED,
					 &count));
	EXPECT_EQ(before, count);
	/* Clear them, should they be there. */
	ASSERT_EQ(0, mqtt5_send_publish(pub, "ret/exp", NULL, "", 0,
					&retained));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "ret/exp/2", NULL, "", 0,
					&retained));
	ASSERT_EQ(0, mqtt_sync(pub));
}

/* [MQTT-3.8.3-3] No Local: not sent back to the publishing session. */
TEST_F(mqtt5, no_local)
{
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int a, b;

	a = client(_metadata, self, "v5-nl-a", MQTT_PROTO_V5);
	b = client(_metadata, self, "v5-nl-b", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(a, "nl/t", MQTT_SUBOPT_NO_LOCAL, 0));
	ASSERT_EQ(0, subscribe5(b, "nl/t", MQTT_SUBOPT_NO_LOCAL, 0));
	ASSERT_EQ(0, mqtt5_send_publish(a, "nl/t", NULL, "1", 1, &qos0));
	ASSERT_EQ(0, mqtt5_read_publish(b, &p, &got));
	EXPECT_EQ(0, mqtt_sync(a));
	mqtt_packet_free(&p);
}

/*
 * [MQTT-3.3.1-12, -13] Retain As Published: a forwarded message keeps
 * RETAIN for such a subscription, loses it for others.
 */
TEST_F(mqtt5, retain_as_published)
{
	struct mqtt_pub_opts retained = { .retain = true };
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int pub, rap, plain;

	pub = client(_metadata, self, "v5-rap-pub", MQTT_PROTO_V5);
	rap = client(_metadata, self, "v5-rap-on", MQTT_PROTO_V5);
	plain = client(_metadata, self, "v5-rap-off", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(rap, "rap/t",
				MQTT_SUBOPT_RETAIN_AS_PUBLISHED, 0));
	ASSERT_EQ(0, subscribe5(plain, "rap/t", 0, 0));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rap/t", NULL, "r", 1, &retained));
	ASSERT_EQ(0, mqtt5_read_publish(rap, &p, &got));
	EXPECT_TRUE(got.pub.opts.retain);
	ASSERT_EQ(0, mqtt5_read_publish(plain, &p, &got));
	EXPECT_FALSE(got.pub.opts.retain);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rap/t", NULL, "", 0, &retained));
	mqtt_packet_free(&p);
}

/*
 * [MQTT-3.3.1-9, -10, -11] Retain Handling: 0 sends the retained messages
 * at every subscribe, 1 only when the subscription is new, 2 never.
 */
TEST_F(mqtt5, retain_handling)
{
	struct mqtt_pub_opts retained = { .retain = true };
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int pub, sub;

	pub = client(_metadata, self, "v5-rh-pub", MQTT_PROTO_V5);
	sub = client(_metadata, self, "v5-rh-sub", MQTT_PROTO_V5);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rh/t", NULL, "r", 1, &retained));
	ASSERT_EQ(0, mqtt_sync(pub));

	ASSERT_EQ(0, subscribe5(sub, "rh/t", 2 << MQTT_SUBOPT_RETAIN_HANDLING_SHIFT, 0));
	EXPECT_EQ(0, mqtt_expect_silence(sub, 300));
	ASSERT_EQ(0, subscribe5(sub, "rh/t", 1 << MQTT_SUBOPT_RETAIN_HANDLING_SHIFT, 0));
	EXPECT_EQ(0, mqtt_expect_silence(sub, 300));
	ASSERT_EQ(0, subscribe5(sub, "rh/t", 0, 0));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_TRUE(got.pub.opts.retain);
	ASSERT_EQ(0, mqtt5_send_unsubscribe(sub, 2, "rh/t"));
	ASSERT_EQ(0, mqtt5_expect_suback(sub, MQTT_UNSUBACK, 2,
					 (uint8_t[1]){ 0 }, 1));
	ASSERT_EQ(0, subscribe5(sub, "rh/t", 1 << MQTT_SUBOPT_RETAIN_HANDLING_SHIFT, 0));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_TRUE(got.pub.opts.retain);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rh/t", NULL, "", 0, &retained));
	mqtt_packet_free(&p);
}

/*
 * 3.9.3: SUBACK says why a filter was refused: the rules (0x87), or a
 * shared subscription without a group name (0x8F, MQTT-4.8.2-1).
 * 3.11.3: UNSUBACK says whether the subscription existed (0x11).
 */
TEST_F(mqtt5, suback_and_unsuback_reason_codes)
{
	static const struct acl_rule rules[] = {
		{ .filter = "open/#", .access = KMQTT_ACL_READ },
	};
	struct kmqtt_attach_req req = {
		.client_id = "v5-codes",
		.clean_session = true,
		.acl = rules,
		.acl_count = ARRAY_SIZE(rules),
	};
	uint8_t code;
	int fd;

	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, subscribe5(fd, "open/x", 2, 2));
	EXPECT_EQ(0, subscribe5(fd, "closed/x", 1, MQTT_RC_NOT_AUTHORIZED));
	/* Shared: the rules are about its filter (4.8.2). */
	EXPECT_EQ(0, subscribe5(fd, "$share/g/open/x", 1, 1));
	EXPECT_EQ(0, subscribe5(fd, "$share/g/closed/x", 1,
				MQTT_RC_NOT_AUTHORIZED));
	EXPECT_EQ(0, subscribe5(fd, "$share//open/x", 1,
				MQTT_RC_TOPIC_FILTER_INVALID));
	ASSERT_EQ(0, mqtt5_send_unsubscribe(fd, 3, "open/x"));
	ASSERT_EQ(0, mqtt5_expect_suback(fd, MQTT_UNSUBACK, 3, &code, 1));
	EXPECT_EQ(MQTT_RC_SUCCESS, code);
	ASSERT_EQ(0, mqtt5_send_unsubscribe(fd, 4, "open/x"));
	ASSERT_EQ(0, mqtt5_expect_suback(fd, MQTT_UNSUBACK, 4, &code, 1));
	EXPECT_EQ(MQTT_RC_NO_SUBSCRIPTION_EXISTED, code);
}

/*
 * 3.4.2.1: the broker's PUBACK says there was no subscriber (0x10) or
 * that the rules refused the topic (0x87); a QoS 2 refused ends at its
 * PUBREC, so its packet id is free at once (4.3.3).
 */
TEST_F(mqtt5, puback_and_pubrec_reason_codes)
{
	static const struct acl_rule rules[] = {
		{ .filter = "ok/#", .access = KMQTT_ACL_READ | KMQTT_ACL_WRITE },
	};
	struct kmqtt_attach_req req = {
		.client_id = "v5-acks",
		.clean_session = true,
		.acl = rules,
		.acl_count = ARRAY_SIZE(rules),
	};
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int fd;

	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt5_send_publish(fd, "ok/none", NULL, "x", 1, &qos1));
	EXPECT_EQ(MQTT_RC_NO_MATCHING_SUBSCRIBERS,
		  mqtt5_expect_ack(fd, MQTT_PUBACK, qos1.packet_id));
	ASSERT_EQ(0, mqtt5_send_publish(fd, "no/way", NULL, "x", 1, &qos1));
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED,
		  mqtt5_expect_ack(fd, MQTT_PUBACK, qos1.packet_id));

	ASSERT_EQ(0, mqtt5_send_publish(fd, "no/way", NULL, "x", 1, &qos2));
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED,
		  mqtt5_expect_ack(fd, MQTT_PUBREC, qos2.packet_id));
	/* The same id again is a new message, not a resend. */
	ASSERT_EQ(0, subscribe5(fd, "ok/#", 2, 2));
	ASSERT_EQ(0, mqtt5_send_publish(fd, "ok/yes", NULL, "y", 1, &qos2));
	/* Its own copy is queued before the answer. */
	ASSERT_EQ(0, mqtt5_read_publish(fd, &p, &got));
	EXPECT_EQ(MQTT_RC_SUCCESS,
		  mqtt5_expect_ack(fd, MQTT_PUBREC, qos2.packet_id));
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBREL, qos2.packet_id, 0));
	EXPECT_EQ(0, mqtt5_expect_ack(fd, MQTT_PUBCOMP, qos2.packet_id));
	/* 3.7.2.1: a PUBREL for an id the broker does not hold. */
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBREL, 4242, 0));
	EXPECT_EQ(MQTT_RC_PACKET_ID_NOT_FOUND,
		  mqtt5_expect_ack(fd, MQTT_PUBCOMP, 4242));
	mqtt_packet_free(&p);
}

/*
 * 4.3.3: a subscriber's PUBREC with an error code ends the QoS 2 flow:
 * no PUBREL, nothing left in flight.  A PUBACK with a reason and
 * properties is taken as well (3.4.2.2).
 */
TEST_F(mqtt5, subscriber_acks_with_reason_codes)
{
	struct kmqtt_session_info info;
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int pub, sub;

	pub = client(_metadata, self, "v5-racks-pub", MQTT_PROTO_V5);
	sub = client(_metadata, self, "v5-racks-sub", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(sub, "racks/#", 2, 2));

	ASSERT_EQ(0, mqtt5_send_publish(pub, "racks/2", NULL, "x", 1, &qos2));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBREC, qos2.packet_id));
	ASSERT_EQ(0, mqtt5_send_ack(pub, MQTT_PUBREL, qos2.packet_id, 0));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBCOMP, qos2.packet_id));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBREC, got.pub.opts.packet_id,
				    MQTT_RC_UNSPECIFIED_ERROR));
	EXPECT_EQ(0, mqtt_sync(sub));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, "v5-racks-sub", &info));
	EXPECT_EQ(0, info.stats[KMQTT_STAT_INFLIGHT]);

	ASSERT_EQ(0, mqtt5_send_publish(pub, "racks/1", NULL, "y", 1, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	/* Reason 0x10 and an empty property block: four bytes. */
	ASSERT_EQ(0, mqtt_send_raw(sub, (uint8_t[]){ MQTT_PUBACK << 4, 4,
				   got.pub.opts.packet_id >> 8,
				   got.pub.opts.packet_id & 0xff,
				   MQTT_RC_NO_MATCHING_SUBSCRIBERS, 0 }, 6));
	EXPECT_EQ(0, mqtt_sync(sub));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, "v5-racks-sub", &info));
	EXPECT_EQ(0, info.stats[KMQTT_STAT_INFLIGHT]);
	mqtt_packet_free(&p);
}

/*
 * 3.14.2.1: DISCONNECT 0x04 publishes the will, with its properties;
 * [MQTT-3.1.2-10] a DISCONNECT 0x00 discards it.
 */
TEST_F(mqtt5, disconnect_with_will)
{
	struct mqtt5_props will_props = { 0 };
	struct kmqtt_attach_req req = {
		.client_id = "v5-willer",
		.clean_session = true,
		.will_topic = "will/v5",
		.will_payload = "bye",
		.will_qos = 1,
	};
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int sub, fd;

	mqtt5_prop_str(&will_props, MQTT_PROP_CONTENT_TYPE, "text/plain");
	mqtt5_prop_pair(&will_props, "why", "test");
	req.will_props = will_props.buf;
	req.will_props_len = will_props.len;
	sub = client(_metadata, self, "v5-will-sub", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(sub, "will/v5", 1, 1));

	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, MQTT_RC_SUCCESS, NULL));
	EXPECT_EQ(0, mqtt_expect_silence(sub, 500));

	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, MQTT_RC_DISCONNECT_WITH_WILL,
					   NULL));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(3, got.pub.payload_len);
	EXPECT_EQ(will_props.len, got.props.len);
	EXPECT_EQ(0, memcmp(will_props.buf, got.props.buf, will_props.len));
	ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK, got.pub.opts.packet_id, 0));

	/* MQTT-3.1.2-8: only 0x00 discards it; an error keeps it. */
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, MQTT_RC_UNSPECIFIED_ERROR, NULL));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(3, got.pub.payload_len);
	mqtt_packet_free(&p);
}

/*
 * 3.1.3.2.4: a will's message expiry interval runs from its publication,
 * not from CONNECT.
 */
TEST_F(mqtt5, will_expiry_starts_when_published)
{
	struct mqtt5_props will_props = { 0 };
	struct kmqtt_attach_req req = {
		.client_id = "v5-will-exp",
		.clean_session = true,
		.will_topic = "will/exp",
		.will_payload = "late",
		.will_qos = 1,
	};
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int sub, fd, off;

	mqtt5_prop_u32(&will_props, MQTT_PROP_MESSAGE_EXPIRY, 2);
	req.will_props = will_props.buf;
	req.will_props_len = will_props.len;
	sub = client(_metadata, self, "v5-will-exp-sub", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(sub, "will/exp", 1, 1));
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	usleep(EXPIRED_US + 500000);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, MQTT_RC_DISCONNECT_WITH_WILL,
					   NULL));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	off = mqtt5_prop_find(&got.props, MQTT_PROP_MESSAGE_EXPIRY);
	ASSERT_LE(0, off);
	EXPECT_LE(1, mqtt5_prop_get_u32(&got.props, off));
	EXPECT_GE(2, mqtt5_prop_get_u32(&got.props, off));
	mqtt_packet_free(&p);
}

/*
 * MQTT-3.14.0-1: no DISCONNECT before CONNACK, even when the bytes that
 * came with CONNECT (KMQTT_A_PENDING) break the protocol at once.
 */
TEST_F(mqtt5, no_disconnect_before_connack)
{
	static const uint8_t bad[] = { MQTT_PINGREQ << 4, 1, 0 };
	struct kmqtt_attach_req req = {
		.proto_level = MQTT_PROTO_V5,
		.client_id = "v5-early",
		.clean_session = true,
		.pending = bad,
		.pending_len = sizeof(bad),
	};
	struct mqtt_packet p = { 0 };
	uint64_t id;
	int fd, srv, err;

	fd = loopback_connect(self->direct.port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, fd);
	srv = loopback_accept(self->direct.listen_fd, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, srv);
	req.fd = srv;
	ASSERT_EQ(0, kmqtt_genl_attach(&self->genl, &req, &id));
	close(srv);
	err = mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS);
	if (!err) {
		EXPECT_EQ(MQTT_CONNACK, p.type);
		err = mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS);
		if (!err)
			EXPECT_EQ(MQTT_DISCONNECT, p.type);
	}
	EXPECT_NE(-ETIMEDOUT, err);
	mqtt_packet_free(&p);
	close(fd);
}

/*
 * 3.1.2.11.2: the session expiry interval replaces clean session: 0 ends
 * the session with the connection, more keeps it; [MQTT-3.14.2-2] a
 * DISCONNECT may not set one when CONNECT had 0.
 */
TEST_F(mqtt5, session_expiry_interval)
{
	struct kmqtt_attach_req req = { .client_id = "v5-session" };
	struct mqtt5_props props = { 0 };
	bool present = true;
	int fd;

	fd = attach(_metadata, self, &req, &present);
	ASSERT_LE(0, fd);
	EXPECT_FALSE(present);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, 0, NULL));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-session",
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));

	req.session_expiry = 60;
	subscribed_offline(_metadata, self, &req, "kept/#");
	fd = attach(_metadata, self, &req, &present);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(present);
	/* Ended at DISCONNECT by setting it to 0 there. */
	mqtt5_prop_u32(&props, MQTT_PROP_SESSION_EXPIRY, 0);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, 0, &props));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-session",
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));

	req.session_expiry = 0;
	fd = attach(_metadata, self, &req, &present);
	ASSERT_LE(0, fd);
	props.len = 0;
	mqtt5_prop_u32(&props, MQTT_PROP_SESSION_EXPIRY, 30);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, 0, &props));
	EXPECT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-session",
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));
}

/*
 * [MQTT-3.1.2-24, -25] A message larger than the client's maximum packet
 * size is not sent to it, and counted; [MQTT-3.3.4-9] no more QoS 1/2
 * unacknowledged than its receive maximum.
 */
TEST_F(mqtt5, client_packet_size_and_receive_maximum)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-small",
		.clean_session = true,
		.max_packet_out = 64,
		.receive_max = 2,
	};
	char big[100];
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	uint64_t before, after;
	int pub, sub, i;
	uint16_t ids[2];

	memset(big, 'b', sizeof(big));
	pub = client(_metadata, self, "v5-small-pub", MQTT_PROTO_V311);
	sub = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, subscribe5(sub, "sz/#", 1, 1));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_TOO_LARGE, &before));
	ASSERT_EQ(0, mqtt_send_publish(pub, "sz/big", big, sizeof(big)));
	ASSERT_EQ(0, mqtt_send_publish(pub, "sz/small", "s", 1));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(1, got.pub.payload_len);
	EXPECT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_TOO_LARGE, &after));
	EXPECT_EQ(before + 1, after);

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "sz/q", i, &qos1));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
		ids[i] = got.pub.opts.packet_id;
	}
	EXPECT_EQ(0, mqtt_expect_silence(sub, 500));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK, ids[i], 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
		ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK,
					    got.pub.opts.packet_id, 0));
	}
	mqtt_packet_free(&p);
}

/*
 * 2.2.2.2, 3.3.2.3: a property length past the packet (malformed), a
 * property given twice that may come once (protocol error) and a topic
 * alias over the maximum (0: none announced, [MQTT-3.3.2-9]) close the
 * connection after a DISCONNECT that says which (4.13); another client's
 * goes on.
 */
TEST_F(mqtt5, bad_properties_close_the_connection)
{
	static const uint8_t past_end[] = {
		MQTT_PUBLISH << 4, 6, 0, 1, 't', 9, 1, 0,
	};
	struct mqtt5_props twice = { 0 }, alias = { 0 };
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int bystander, fd;

	mqtt5_prop_str(&twice, MQTT_PROP_CONTENT_TYPE, "a");
	mqtt5_prop_str(&twice, MQTT_PROP_CONTENT_TYPE, "b");
	mqtt5_prop_u16(&alias, MQTT_PROP_TOPIC_ALIAS, 1);
	bystander = client(_metadata, self, "v5-bystander", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(bystander, "bad/#", 0, 0));

	fd = client(_metadata, self, "v5-bad1", MQTT_PROTO_V5);
	ASSERT_EQ(0, mqtt_send_raw(fd, past_end, sizeof(past_end)));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_MALFORMED_PACKET));
	fd = client(_metadata, self, "v5-bad2", MQTT_PROTO_V5);
	ASSERT_EQ(0, mqtt5_send_publish(fd, "bad/t", &twice, "x", 1, &qos0));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_PROTOCOL_ERROR));
	fd = client(_metadata, self, "v5-bad3", MQTT_PROTO_V5);
	ASSERT_EQ(0, mqtt5_send_publish(fd, "bad/t", &alias, "x", 1, &qos0));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_TOPIC_ALIAS_INVALID));

	fd = client(_metadata, self, "v5-good", MQTT_PROTO_V5);
	ASSERT_EQ(0, mqtt5_send_publish(fd, "bad/t", NULL, "ok", 2, &qos0));
	ASSERT_EQ(0, mqtt5_read_publish(bystander, &p, &got));
	EXPECT_EQ(2, got.pub.payload_len);
	mqtt_packet_free(&p);
}

/*
 * 3.14.2.1: the server says why it closes: keep alive timeout (0x8D,
 * [MQTT-3.1.2-22] at 1.5 times the keep alive), session taken over (0x8E).
 */
TEST_F(mqtt5, server_disconnect_reasons)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-kept",
		.clean_session = true,
		.keepalive = 1,
	};
	int fd, again;

	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_KEEPALIVE_TIMEOUT));

	req.keepalive = 0;
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	again = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, again);
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_SESSION_TAKEN_OVER));
}

/*
 * [MQTT-3.3.4-8] The broker's receive maximum (max_inflight, which the
 * agent announces) bounds the QoS 2 messages waiting for PUBREL: one
 * more is answered with DISCONNECT 0x93.
 */
TEST_F(mqtt5, receive_maximum_exceeded)
{
	uint64_t limits[KMQTT_LIMIT_MAX + 1];
	struct mqtt_pub_opts o = qos2;
	int fd, i;

	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, limits));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MAX_INFLIGHT,
					  2));
	fd = client(_metadata, self, "v5-quota", MQTT_PROTO_V5);
	for (i = 1; i <= 2; i++) {
		o.packet_id = i;
		ASSERT_EQ(0, mqtt5_send_publish(fd, "quota/t", NULL, "q", 1, &o));
		EXPECT_EQ(MQTT_RC_NO_MATCHING_SUBSCRIBERS,
			  mqtt5_expect_ack(fd, MQTT_PUBREC, i));
	}
	/* A released one frees its place. */
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBREL, 1, 0));
	EXPECT_EQ(0, mqtt5_expect_ack(fd, MQTT_PUBCOMP, 1));
	o.packet_id = 3;
	ASSERT_EQ(0, mqtt5_send_publish(fd, "quota/t", NULL, "q", 1, &o));
	EXPECT_EQ(MQTT_RC_NO_MATCHING_SUBSCRIBERS,
		  mqtt5_expect_ack(fd, MQTT_PUBREC, 3));
	o.packet_id = 4;
	ASSERT_EQ(0, mqtt5_send_publish(fd, "quota/t", NULL, "q", 1, &o));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_RECEIVE_MAX_EXCEEDED));
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, limits,
					   KMQTT_GENL_ALL_LIMITS));
}

/*
 * 3.3.2.3.4: a topic with an alias sets it, an empty topic uses it, a new
 * topic replaces it; an alias over the announced maximum closes with
 * 0x94 [MQTT-3.3.2-9], one never set with 0x82.
 */
TEST_F(mqtt5, topic_aliases)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-alias",
		.clean_session = true,
		.topic_alias_max = 2,
	};
	struct mqtt5_props one = { 0 }, two = { 0 }, three = { 0 };
	int sub, fd;

	mqtt5_prop_u16(&one, MQTT_PROP_TOPIC_ALIAS, 1);
	mqtt5_prop_u16(&two, MQTT_PROP_TOPIC_ALIAS, 2);
	mqtt5_prop_u16(&three, MQTT_PROP_TOPIC_ALIAS, 3);
	sub = client(_metadata, self, "v5-alias-sub", MQTT_PROTO_V311);
	ASSERT_EQ(0, mqtt_subscribe(sub, 1, "al/#"));
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, mqtt5_send_publish(fd, "al/t", &one, "1", 1, &qos0));
	EXPECT_EQ(0, mqtt_expect_publish(sub, "al/t", "1", 1));
	ASSERT_EQ(0, mqtt5_send_publish(fd, "", &one, "2", 1, &qos0));
	EXPECT_EQ(0, mqtt_expect_publish(sub, "al/t", "2", 1));
	ASSERT_EQ(0, mqtt5_send_publish(fd, "al/u", &one, "3", 1, &qos0));
	EXPECT_EQ(0, mqtt_expect_publish(sub, "al/u", "3", 1));
	ASSERT_EQ(0, mqtt5_send_publish(fd, "", &one, "4", 1, &qos1));
	EXPECT_EQ(MQTT_RC_SUCCESS, mqtt5_expect_ack(fd, MQTT_PUBACK,
						    qos1.packet_id));
	EXPECT_EQ(0, mqtt_expect_publish(sub, "al/u", "4", 1));
	ASSERT_EQ(0, mqtt5_send_publish(fd, "", &two, "5", 1, &qos0));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_PROTOCOL_ERROR));

	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt5_send_publish(fd, "al/v", &three, "6", 1, &qos0));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_TOPIC_ALIAS_INVALID));
	EXPECT_EQ(0, mqtt_expect_silence(sub, 200));
}

/*
 * 3.1.3.2.2: a will with a delay goes out when the delay passes, or when
 * the session ends if that is first (a clean start ends it, as in
 * Mosquitto); a new connection for the session before then drops it
 * (MQTT-3.1.3-9).
 */
TEST_F(mqtt5, will_delay_interval)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-delayed",
		.clean_session = true,
		.session_expiry = 60,
		.will_topic = "will/delayed",
		.will_payload = "late",
		.will_qos = 1,
		.will_delay = 2,
	};
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int sub, fd;

	/* Each connection ends on a malformed fixed header (type 0). */
	sub = client(_metadata, self, "v5-delayed-sub", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(sub, "will/delayed", 1, 1));

	/* The delay passes. */
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_send_raw(fd, (uint8_t[]){ 0, 0 }, 2));
	EXPECT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	EXPECT_EQ(0, mqtt_expect_silence(sub, 1000));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(4, got.pub.payload_len);
	ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK, got.pub.opts.packet_id, 0));

	/* The client is back in time: dropped. */
	req.clean_session = false;
	req.will_delay = 3;
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_send_raw(fd, (uint8_t[]){ 0, 0 }, 2));
	EXPECT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, mqtt_expect_silence(sub, 4000));

	/* A clean start ends the session, and the wait with it. */
	ASSERT_EQ(0, mqtt_send_raw(fd, (uint8_t[]){ 0, 0 }, 2));
	EXPECT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	req.clean_session = true;
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(4, got.pub.payload_len);
	ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK, got.pub.opts.packet_id, 0));
	req.clean_session = false;

	/* The session ends first. */
	req.will_delay = 30;
	req.session_expiry = 1;
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_send_raw(fd, (uint8_t[]){ 0, 0 }, 2));
	EXPECT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(4, got.pub.payload_len);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-delayed",
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));
	mqtt_packet_free(&p);
}

/* Read @n QoS 1 PUBLISHes on @fd, acknowledging each; -errno on failure. */
static int count_messages(int fd, int n)
{
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int i, err = 0;

	for (i = 0; i < n && !err; i++) {
		err = mqtt5_read_publish(fd, &p, &got);
		if (!err)
			err = mqtt5_send_ack(fd, MQTT_PUBACK,
					     got.pub.opts.packet_id, 0);
	}
	mqtt_packet_free(&p);
	return err;
}

/*
 * Read and acknowledge QoS 1 PUBLISHes of a 5.0 (@v5) or 3.1.1 client
 * until none comes for 500 ms, each on @topic unless it is NULL: returns
 * how many, or -errno.
 */
static int drain_messages(int fd, bool v5, const char *topic)
{
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int n = 0, err;

	for (;;) {
		err = mqtt_read_packet(fd, &p, 500);
		if (err)
			break;
		err = v5 ? mqtt5_parse_publish(&p, &got) :
			   mqtt_parse_publish(&p, &got.pub);
		if (!err && topic &&
		    (got.pub.topic_len != strlen(topic) ||
		     memcmp(got.pub.topic, topic, got.pub.topic_len))) {
			fprintf(stderr, "# got %.*s, expected %s\n",
				(int)got.pub.topic_len, got.pub.topic, topic);
			err = -EPROTO;
		}
		if (!err)
			err = mqtt_send_pub_ack(fd, MQTT_PUBACK,
						got.pub.opts.packet_id);
		if (err)
			break;
		n++;
	}
	mqtt_packet_free(&p);
	return err == -ETIMEDOUT ? n : err;
}

/*
 * 4.8.2: each message of a shared subscription goes to one member of its
 * group, in turn among those online (3.1.1 members too); a plain
 * subscription to the same filter gets every one; no retained message on
 * a shared subscribe; an offline member's turn goes to an online one; a
 * member that leaves leaves its share to the others.
 */
TEST_F(mqtt5, shared_subscriptions)
{
	struct kmqtt_attach_req offline = {
		.client_id = "v5-share-off",
		.clean_session = true,
		.session_expiry = 60,
	};
	int pub, a, b, c, all, i, got_a, got_c;

	pub = client(_metadata, self, "v5-share-pub", MQTT_PROTO_V311);
	ASSERT_EQ(0, mqtt_publish(pub, "sh/r", "kept", &(struct mqtt_pub_opts){
		.qos = 1, .retain = true, .packet_id = 1 }));
	a = client(_metadata, self, "v5-share-a", MQTT_PROTO_V5);
	b = client(_metadata, self, "v5-share-b", MQTT_PROTO_V5);
	c = client(_metadata, self, "v5-share-c", MQTT_PROTO_V311);
	all = client(_metadata, self, "v5-share-all", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(a, "$share/g/sh/#", 1, 1));
	ASSERT_EQ(0, subscribe5(b, "$share/g/sh/#", 1, 1));
	ASSERT_EQ(0, mqtt_subscribe_qos(c, 1, "$share/g/sh/#", 1));
	ASSERT_EQ(0, subscribe5(all, "sh/#", 1, 1));
	/* The plain one got the retained message, the shared ones not. */
	ASSERT_EQ(0, count_messages(all, 1));
	EXPECT_EQ(0, mqtt_expect_silence(a, 200));

	for (i = 0; i < 30; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "sh/t", i, &qos1));
	EXPECT_EQ(0, count_messages(all, 30));
	EXPECT_EQ(0, count_messages(a, 10));
	EXPECT_EQ(0, count_messages(b, 10));
	for (i = 0; i < 10; i++) {
		struct mqtt_received m;

		ASSERT_EQ(0, mqtt_receive(c, &m, true, MQTT_TEST_TIMEOUT_MS));
	}
	EXPECT_EQ(0, mqtt_sync(a));
	EXPECT_EQ(0, mqtt_sync(b));
	EXPECT_EQ(0, mqtt_sync(c));

	/* An offline member: the online ones take its turns. */
	subscribed_offline(_metadata, self, &offline, "$share/g/sh/#");
	/* b leaves the group. */
	ASSERT_EQ(0, mqtt5_send_unsubscribe(b, 2, "$share/g/sh/#"));
	ASSERT_EQ(0, mqtt5_expect_suback(b, MQTT_UNSUBACK, 2,
					 (uint8_t[1]){ 0 }, 1));
	for (i = 30; i < 60; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "sh/t", i, &qos1));
	/* The offline member's turns go to the next online one: a. */
	got_a = drain_messages(a, true, NULL);
	got_c = drain_messages(c, false, NULL);
	EXPECT_EQ(30, got_a + got_c) TH_LOG("a %d, c %d", got_a, got_c);
	EXPECT_EQ(20, got_a);
	EXPECT_EQ(0, mqtt_expect_silence(b, 300));

	ASSERT_EQ(0, mqtt_publish(pub, "sh/r", "", &(struct mqtt_pub_opts){
		.qos = 1, .retain = true, .packet_id = 2 }));
	offline.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &offline, NULL));
}

/*
 * 4.8.2 under a listener's mount point: $share/GROUP/FILTER is group
 * GROUP of the mount point followed by FILTER, the group a client
 * without a mount point joins with the whole filter; each member is sent
 * the topic as it sees it.  Another mount point is another filter.  A
 * malformed one is 0x8F (MQTT-4.8.2-1, -2).
 */
TEST_F(mqtt5, shared_subscription_under_a_mount_point)
{
	struct kmqtt_attach_req in_mp1 = {
		.client_id = "v5-mp-a",
		.clean_session = true,
		.mount_point = "mp1/",
	};
	struct kmqtt_attach_req in_mp2 = {
		.client_id = "v5-mp-c",
		.clean_session = true,
		.mount_point = "mp2/",
	};
	int pub, a, b, c, i, got_a, got_b;

	pub = client(_metadata, self, "v5-mp-pub", MQTT_PROTO_V311);
	a = attach(_metadata, self, &in_mp1, NULL);
	b = client(_metadata, self, "v5-mp-b", MQTT_PROTO_V5);
	c = attach(_metadata, self, &in_mp2, NULL);
	ASSERT_LE(0, a);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, subscribe5(a, "$share/g/t/#", 1, 1));
	ASSERT_EQ(0, subscribe5(b, "$share/g/mp1/t/#", 1, 1));
	ASSERT_EQ(0, subscribe5(c, "$share/g/t/#", 1, 1));
	ASSERT_EQ(0, subscribe5(a, "$share/g", 1,
				MQTT_RC_TOPIC_FILTER_INVALID));

	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "mp1/t/x", i, &qos1));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "mp2/t/y", i, &qos1));
	got_a = drain_messages(a, true, "t/x");
	got_b = drain_messages(b, true, "mp1/t/x");
	EXPECT_EQ(5, got_a);
	EXPECT_EQ(5, got_b);
	EXPECT_EQ(4, drain_messages(c, true, "t/y"));

	/* a leaves the group: b has all of it. */
	ASSERT_EQ(0, mqtt5_send_unsubscribe(a, 2, "$share/g/t/#"));
	ASSERT_EQ(0, mqtt5_expect_suback(a, MQTT_UNSUBACK, 2,
					 (uint8_t[1]){ 0 }, 1));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "mp1/t/x", i, &qos1));
	EXPECT_EQ(4, drain_messages(b, true, "mp1/t/x"));
	EXPECT_EQ(0, mqtt_expect_silence(a, 200));
}

/* SUBSCRIBE with a Subscription Identifier (3.8.2.1.2), and SUBACK 0. */
static int subscribe5_id(int fd, const char *filter, uint8_t options,
			 uint32_t id)
{
	struct mqtt5_props props = { 0 };
	uint8_t got;
	int err;

	if (id)
		mqtt5_prop_varint(&props, MQTT_PROP_SUBSCRIPTION_ID, id);
	err = mqtt5_send_subscribe(fd, 3, &props, filter, options);
	if (!err)
		err = mqtt5_expect_suback(fd, MQTT_SUBACK, 3, &got, 1);
	return err ? err : got == (options & 3) ? 0 : -EPROTO;
}

/*
 * The next PUBLISH on @fd has the payload @payload and exactly the @n
 * subscription identifiers @want, in any order; QoS 1 is acked.
 */
static void expect_sub_ids(struct __test_metadata *_metadata, int fd,
			   const char *payload, const uint32_t *want, int n)
{
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	uint32_t ids[8];
	int i, j, k;

	ASSERT_EQ(0, mqtt5_read_publish(fd, &p, &got));
	ASSERT_EQ(strlen(payload), got.pub.payload_len);
	EXPECT_EQ(0, memcmp(payload, got.pub.payload, got.pub.payload_len));
	k = mqtt5_prop_sub_ids(&got.props, ids, ARRAY_SIZE(ids));
	ASSERT_EQ(n, k) TH_LOG("%s: %d identifiers", payload, k);
	for (i = 0; i < n; i++) {
		for (j = 0; j < k && ids[j] != want[i]; j++)
			;
		EXPECT_LT(j, k) TH_LOG("%s: no identifier %u", payload,
				       want[i]);
		if (j < k)
			ids[j] = 0;
	}
	if (got.pub.opts.qos)
		ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBACK,
					    got.pub.opts.packet_id, 0));
	mqtt_packet_free(&p);
}

/*
 * [MQTT-3.3.4-3], [MQTT-3.3.4-4]: a message carries the identifiers of all
 * the matching subscriptions that have one, in one copy; on retained
 * messages sent at subscribe, from a session's queue, to a shared
 * subscription's member, beside a message expiry of its own; and not to a
 * 3.1.1 client.
 */
TEST_F(mqtt5, subscription_identifiers)
{
	static const uint32_t hash[] = { 7 }, plus[] = { 300 };
	static const uint32_t both[] = { 7, 300 }, queued[] = { 268435455 };
	struct kmqtt_attach_req persistent = {
		.client_id = "v5-sid-q",
		.session_expiry = 60,
	};
	struct mqtt5_props expiry = { 0 };
	struct mqtt_packet p = { 0 };
	struct mqtt_received old;
	struct mqtt5_publish got;
	int pub, sub, shared, q, off;

	pub = client(_metadata, self, "v5-sid-pub", MQTT_PROTO_V5);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "sid/r", NULL, "retained", 8,
					&(struct mqtt_pub_opts){ .qos = 1,
								 .retain = true,
								 .packet_id = 1 }));
	ASSERT_EQ(MQTT_RC_NO_MATCHING_SUBSCRIBERS,
		  mqtt5_expect_ack(pub, MQTT_PUBACK, 1));
	sub = client(_metadata, self, "v5-sid-sub", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5_id(sub, "sid/#", 1, 7));
	expect_sub_ids(_metadata, sub, "retained", hash, 1);
	ASSERT_EQ(0, subscribe5_id(sub, "sid/+", 1, 300));
	expect_sub_ids(_metadata, sub, "retained", plus, 1);
	ASSERT_EQ(0, subscribe5_id(sub, "sid/a", 1, 0));

	ASSERT_EQ(0, mqtt5_send_publish(pub, "sid/a", NULL, "both", 4, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	expect_sub_ids(_metadata, sub, "both", both, 2);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "sid/x/y", NULL, "hash", 4,
					&qos0));
	expect_sub_ids(_metadata, sub, "hash", hash, 1);

	/* With a message expiry: the client's own properties, both kinds. */
	mqtt5_prop_u32(&expiry, MQTT_PROP_MESSAGE_EXPIRY, 100);
	mqtt5_prop_pair(&expiry, "k", "v");
	ASSERT_EQ(0, mqtt5_send_publish(pub, "sid/a", &expiry, "exp", 3,
					&qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	ASSERT_EQ(0, mqtt5_read_publish(sub, &p, &got));
	EXPECT_EQ(2, mqtt5_prop_sub_ids(&got.props, (uint32_t[2]){ 0 }, 2));
	off = mqtt5_prop_find(&got.props, MQTT_PROP_MESSAGE_EXPIRY);
	ASSERT_LE(0, off);
	EXPECT_LE(98, mqtt5_prop_get_u32(&got.props, off));
	EXPECT_LE(0, mqtt5_prop_find(&got.props, MQTT_PROP_USER_PROPERTY));
	ASSERT_EQ(0, mqtt5_send_ack(sub, MQTT_PUBACK, got.pub.opts.packet_id, 0));
	mqtt_packet_free(&p);

	/* A shared subscription's member, and a resubscribe without one. */
	shared = client(_metadata, self, "v5-sid-share", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5_id(shared, "$share/g/sid/s", 0, 300));
	ASSERT_EQ(0, subscribe5_id(sub, "sid/+", 0, 0));
	expect_sub_ids(_metadata, sub, "retained", NULL, 0);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "sid/s", NULL, "s", 1, &qos0));
	expect_sub_ids(_metadata, shared, "s", plus, 1);
	expect_sub_ids(_metadata, sub, "s", hash, 1);

	/* From the queue of an offline session, the largest identifier. */
	q = attach(_metadata, self, &persistent, NULL);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, subscribe5_id(q, "sidq/#", 1, 268435455));
	ASSERT_EQ(0, mqtt5_send_disconnect(q, 0, NULL));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-sid-q",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "sidq/1", NULL, "queued", 6,
					&qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	persistent.clean_session = false;
	q = attach(_metadata, self, &persistent, NULL);
	ASSERT_LE(0, q);
	expect_sub_ids(_metadata, q, "queued", queued, 1);

	/* The same session back as 3.1.1: no properties at all. */
	ASSERT_EQ(0, mqtt_send_disconnect(q));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-sid-q",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	persistent.proto_level = MQTT_PROTO_V311;
	q = attach(_metadata, self, &persistent, NULL);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, mqtt5_send_publish(pub, "sidq/2", NULL, "old", 3, &qos0));
	ASSERT_EQ(0, mqtt_receive(q, &old, false, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(3, old.payload_len);
	EXPECT_EQ(0, memcmp("old", old.payload, 3));
	persistent.proto_level = MQTT_PROTO_V5;
	persistent.clean_session = true;
	persistent.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &persistent, NULL));
	/* The suites after this one expect no retained message. */
	ASSERT_EQ(0, mqtt5_send_publish(pub, "sid/r", NULL, "", 0,
					&(struct mqtt_pub_opts){ .qos = 1,
								 .retain = true,
								 .packet_id = 2 }));
	EXPECT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, 2));
}

/* The next PUBLISH on @fd carries @payload; QoS 1 is acked, 2 is not. */
static void expect_payload(struct __test_metadata *_metadata, int fd,
			   const char *payload)
{
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;

	ASSERT_EQ(0, mqtt5_read_publish(fd, &p, &got));
	ASSERT_EQ(strlen(payload), got.pub.payload_len);
	EXPECT_EQ(0, memcmp(payload, got.pub.payload, got.pub.payload_len))
		TH_LOG("expected %s", payload);
	if (got.pub.opts.qos == 1)
		ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBACK,
					    got.pub.opts.packet_id, 0));
	mqtt_packet_free(&p);
}

/*
 * kmqttctl show lists a subscription's 5.0 options and identifier (from
 * KMQTT_CMD_GET_SUBSCRIPTION), in text and JSON; a plain one shows its
 * QoS only.
 */
TEST_F(mqtt5, kmqttctl_shows_subscription_options)
{
	static const char text[] =
		"subscription: show/# (QoS 1, identifier 7, no local, retain as published, retain handling 2)\n";
	static const char json[] =
		"{\"filter\":\"show/#\",\"qos\":1,\"subscription_identifier\":7,\"no_local\":true,\"retain_as_published\":true,\"retain_handling\":2}";
	static const char plain_json[] =
		"{\"filter\":\"show/plain\",\"qos\":0,\"no_local\":false,\"retain_as_published\":false,\"retain_handling\":0}";
	static char out[1 << 16];
	int fd;

	fd = client(_metadata, self, "v5-show", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5_id(fd, "show/#",
				   1 | MQTT_SUBOPT_NO_LOCAL |
				   MQTT_SUBOPT_RETAIN_AS_PUBLISHED |
				   2 << MQTT_SUBOPT_RETAIN_HANDLING_SHIFT, 7));
	ASSERT_EQ(0, subscribe5(fd, "show/plain", 0, 0));
	ASSERT_EQ(0, kmqttctl_run("show", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, text)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "subscription: show/plain (QoS 0)\n"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, kmqttctl_run("show --json", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, json)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, plain_json)) TH_LOG("%s", out);
}

/*
 * 4.8.2: when a member's session ends, what it took from the group and
 * did not have goes to another member: its queue, and QoS 1 in flight;
 * a QoS 2 message it was sent is not sent to anyone else
 * [MQTT-4.8.2-5].
 */
TEST_F(mqtt5, shared_messages_of_an_ending_session)
{
	struct kmqtt_attach_req a_req = {
		.client_id = "v5-rd-a",
		.session_expiry = 60,
	};
	const struct mqtt_pub_opts qos2 = { .qos = 2, .packet_id = 9 };
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	int pub, a, b;

	pub = client(_metadata, self, "v5-rd-pub", MQTT_PROTO_V5);
	a = attach(_metadata, self, &a_req, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, subscribe5(a, "$share/r/rd/#", 2, 2));
	ASSERT_EQ(0, mqtt5_send_disconnect(a, 0, NULL));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-rd-a",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	/* The only member is offline: its session queues them. */
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rd/t", NULL, "q0", 2, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rd/t", NULL, "q1", 2, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	b = client(_metadata, self, "v5-rd-b", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(b, "$share/r/rd/#", 2, 2));
	EXPECT_EQ(0, mqtt_expect_silence(b, 200));

	/* A clean start ends a's stored session: b has its messages. */
	a_req.clean_session = true;
	a_req.session_expiry = 0;
	a = attach(_metadata, self, &a_req, NULL);
	ASSERT_LE(0, a);
	expect_payload(_metadata, b, "q0");
	expect_payload(_metadata, b, "q1");

	/* a alone in the group again, sent QoS 1 and 2 it does not ack. */
	ASSERT_EQ(0, subscribe5(a, "$share/r/rd/#", 2, 2));
	ASSERT_EQ(0, mqtt5_send_unsubscribe(b, 4, "$share/r/rd/#"));
	ASSERT_EQ(0, mqtt5_expect_suback(b, MQTT_UNSUBACK, 4,
					 (uint8_t[1]){ 0 }, 1));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rd/t", NULL, "i0", 2, &qos1));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBACK, qos1.packet_id));
	ASSERT_EQ(0, mqtt5_send_publish(pub, "rd/t", NULL, "x0", 2, &qos2));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBREC, qos2.packet_id));
	ASSERT_EQ(0, mqtt5_send_ack(pub, MQTT_PUBREL, qos2.packet_id, 0));
	ASSERT_EQ(0, mqtt5_expect_ack(pub, MQTT_PUBCOMP, qos2.packet_id));
	ASSERT_EQ(0, subscribe5(b, "$share/r/rd/#", 2, 2));
	ASSERT_EQ(0, mqtt5_read_publish(a, &p, &got));
	ASSERT_EQ(0, mqtt5_read_publish(a, &p, &got));
	mqtt_packet_free(&p);
	/* Session expiry 0: a's session ends with its connection. */
	ASSERT_EQ(0, mqtt5_send_disconnect(a, 0, NULL));
	expect_payload(_metadata, b, "i0");
	EXPECT_EQ(0, mqtt_expect_silence(b, 500));
}

/* The broker's count of drops for @why grew by @n within 2 s. */
static void expect_drops(struct __test_metadata *_metadata,
			 FIXTURE_DATA(mqtt5) *self, enum kmqtt_stat why,
			 uint64_t before, uint64_t n)
{
	uint64_t now = before;
	int waited;

	for (waited = 0; waited < 2000; waited += 50) {
		ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, why, &now));
		if (now - before >= n)
			break;
		usleep(50000);
	}
	EXPECT_EQ(before + n, now) TH_LOG("drops of stat %d", why);
}

/*
 * 4.8.2: a message handed on from an ending member that no member takes
 * is dropped once, for the last refusal's reason (here the only other
 * member's full queue), or as closing when no member is left; the member
 * that refused it is not tried again.
 */
TEST_F(mqtt5, shared_hand_on_refused_counted_once)
{
	struct kmqtt_attach_req a_req = {
		.client_id = "v5-hf-a",
		.session_expiry = 60,
	};
	struct kmqtt_attach_req b_req = {
		.client_id = "v5-hf-b",
		.session_expiry = 60,
	};
	uint64_t full, closing;
	int pub, i;

	subscribed_offline(_metadata, self, &a_req, "$share/hf/hf/#");
	subscribed_offline(_metadata, self, &b_req, "$share/hf/hf/#");
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES, 2));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_QUEUE_FULL, &full));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_CLOSING, &closing));
	pub = client(_metadata, self, "v5-hf-pub", MQTT_PROTO_V311);
	/* Both offline: two each, in turn; both queues are full. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "hf/t", i, &qos1));

	a_req.clean_session = true;
	a_req.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &a_req, NULL));
	expect_drops(_metadata, self, KMQTT_STAT_DROPPED_QUEUE_FULL, full, 2);
	expect_drops(_metadata, self, KMQTT_STAT_DROPPED_CLOSING, closing, 0);

	/* b's, with no member left. */
	b_req.clean_session = true;
	b_req.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &b_req, NULL));
	expect_drops(_metadata, self, KMQTT_STAT_DROPPED_CLOSING, closing, 2);
	expect_drops(_metadata, self, KMQTT_STAT_DROPPED_QUEUE_FULL, full, 2);
}

/*
 * 4.8.2: a hand-on that an online member refuses (here: its access rules
 * deny the topic) goes to the next online member, even when the pick
 * comes back to the one that refused first; the refusal is not counted.
 * Members in order: an offline one, the refusing one, the taking one.
 */
TEST_F(mqtt5, shared_hand_on_past_a_refusing_member)
{
	static const char topic[] = "hr/denied";
	struct kmqtt_attach_req ending = {
		.client_id = "v5-hr-e",
		.session_expiry = 60,
	};
	struct kmqtt_attach_req offline = {
		.client_id = "v5-hr-a",
		.session_expiry = 60,
	};
	static const struct acl_rule denied[] = {
		{ .filter = (char *)topic, .access = KMQTT_ACL_DENY },
		{ .filter = "hr/#", .access = KMQTT_ACL_READ },
	};
	struct kmqtt_attach_req refusing = {
		.client_id = "v5-hr-b",
		.clean_session = true,
		.acl = denied,
		.acl_count = ARRAY_SIZE(denied),
	};
	uint64_t acl_denied;
	int pub, b, c, i;

	subscribed_offline(_metadata, self, &ending, "$share/hr/hr/#");
	pub = client(_metadata, self, "v5-hr-pub", MQTT_PROTO_V311);
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, topic, i, &qos1));
	subscribed_offline(_metadata, self, &offline, "$share/hr/hr/#");
	b = attach(_metadata, self, &refusing, NULL);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, subscribe5(b, "$share/hr/hr/#", 1, 1));
	c = client(_metadata, self, "v5-hr-c", MQTT_PROTO_V5);
	ASSERT_EQ(0, subscribe5(c, "$share/hr/hr/#", 1, 1));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_ACL_DENIED,
					 &acl_denied));

	ending.clean_session = true;
	ending.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &ending, NULL));
	EXPECT_EQ(6, drain_messages(c, true, topic));
	EXPECT_EQ(0, mqtt_expect_silence(b, 200));
	expect_drops(_metadata, self, KMQTT_STAT_ACL_DENIED, acl_denied, 0);

	offline.clean_session = true;
	offline.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &offline, NULL));
}

/*
 * The next PUBLISH on @fd is mqtt_publish_nth()'s @n, with DUP as @dup;
 * returns its packet id (not acked).
 */
static uint16_t read_nth(struct __test_metadata *_metadata, int fd, int n,
			   bool dup)
{
	struct mqtt_packet p = { 0 };
	struct mqtt5_publish got;
	char want[16];
	uint16_t id;

	snprintf(want, sizeof(want), "%d", n);
	EXPECT_EQ(0, mqtt5_read_publish(fd, &p, &got));
	EXPECT_EQ(strlen(want), got.pub.payload_len);
	EXPECT_EQ(0, memcmp(want, got.pub.payload, got.pub.payload_len))
		TH_LOG("expected %s", want);
	EXPECT_EQ(dup, got.pub.opts.dup) TH_LOG("%s", want);
	id = got.pub.opts.packet_id;
	mqtt_packet_free(&p);
	return id;
}

/*
 * [MQTT-3.3.4-9], [MQTT-4.4.0-1]: a session resumed with a smaller
 * receive maximum gets what was in flight resent, but never more
 * unacknowledged than that maximum: the rest follows, in order, as it
 * acknowledges.
 */
TEST_F(mqtt5, resend_within_a_smaller_receive_maximum)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-rx",
		.session_expiry = 60,
		.receive_max = 10,
	};
	uint16_t first[4], ids[5];
	int pub, fd, i;

	pub = client(_metadata, self, "v5-rx-pub", MQTT_PROTO_V311);
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, subscribe5(fd, "rx/#", 1, 1));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "rx/t", i, &qos1));
	for (i = 0; i < 4; i++)
		first[i] = read_nth(_metadata, fd, i, false);
	ASSERT_EQ(0, mqtt5_send_disconnect(fd, 0, NULL));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-rx",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));

	req.receive_max = 2;
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ids[0] = read_nth(_metadata, fd, 0, true);
	ids[1] = read_nth(_metadata, fd, 1, true);
	EXPECT_EQ(0, mqtt_expect_silence(fd, 300));
	/*
	 * An ack for a held-back message, by the id it had before, ends it
	 * but makes no room: two are still out unacknowledged.
	 */
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBACK, first[3], 0));
	EXPECT_EQ(0, mqtt_expect_silence(fd, 300));
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBACK, ids[0], 0));
	ids[2] = read_nth(_metadata, fd, 2, true);
	ASSERT_EQ(0, mqtt_publish_nth(pub, "rx/t", 4, &qos1));
	EXPECT_EQ(0, mqtt_expect_silence(fd, 300));
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBACK, ids[1], 0));
	ids[4] = read_nth(_metadata, fd, 4, false);
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBACK, ids[2], 0));
	ASSERT_EQ(0, mqtt5_send_ack(fd, MQTT_PUBACK, ids[4], 0));
	EXPECT_EQ(0, mqtt_expect_silence(fd, 300));

	req.clean_session = true;
	req.session_expiry = 0;
	EXPECT_LE(0, attach(_metadata, self, &req, NULL));
}

/* kmqttctl disconnect @client_id: its exit status, or -1. */
static int kmqttctl_disconnect(const char *client_id)
{
	char args[256];

	snprintf(args, sizeof(args), "disconnect '%s' 2>/dev/null", client_id);
	return kmqttctl_run(args, NULL, 0);
}

/*
 * 3.14.2.1: the operator's kmqttctl disconnect closes a 5.0 client with
 * DISCONNECT 0x98 (administrative action) and a 3.1.1 one without; the
 * will is published ([MQTT-3.1.2-8]: not a DISCONNECT 0x00 from the
 * client), the session kept; an offline or unknown client is an error.
 */
TEST_F(mqtt5, administrative_disconnect)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-kicked",
		.session_expiry = 60,
		.will_topic = "kick/will",
		.will_payload = "kicked",
		.will_qos = 1,
	};
	struct kmqtt_nl_closed ev;
	struct mqtt_received will;
	int sub, fd, old;

	ASSERT_EQ(0, kmqtt_genl_join_events(&self->genl));
	sub = client(_metadata, self, "v311-kick-sub", MQTT_PROTO_V311);
	ASSERT_EQ(0, mqtt_subscribe_qos(sub, 1, "kick/will", 1));
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	old = client(_metadata, self, "v311-kicked", MQTT_PROTO_V311);

	ASSERT_EQ(0, kmqttctl_disconnect("v5-kicked"));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_ADMINISTRATIVE_ACTION));
	ASSERT_EQ(0, kmqtt_genl_wait_closed_client(&self->genl, "v5-kicked",
						   MQTT_TEST_TIMEOUT_MS, &ev));
	EXPECT_EQ(KMQTT_CLOSE_ADMIN, ev.reason);
	ASSERT_EQ(0, mqtt_receive(sub, &will, true, MQTT_TEST_TIMEOUT_MS));
	EXPECT_STREQ("kick/will", will.topic);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "v5-kicked",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	/* Offline now, and a client id nobody has: both refused. */
	EXPECT_NE(0, kmqttctl_disconnect("v5-kicked"));
	EXPECT_NE(0, kmqttctl_disconnect("v5-nobody"));

	ASSERT_EQ(0, kmqttctl_disconnect("v311-kicked"));
	EXPECT_EQ(0, mqtt_wait_closed(old, MQTT_TEST_TIMEOUT_MS));

	req.clean_session = true;
	req.session_expiry = 0;
	req.will_topic = NULL;
	EXPECT_LE(0, attach(_metadata, self, &req, NULL));
}

/* AUTH with @reason, @method and @data (NULL: none) on @fd. */
static int send_auth(int fd, uint8_t reason, const char *method,
		     const char *data)
{
	struct mqtt5_props props = { 0 };

	mqtt5_prop_str(&props, MQTT_PROP_AUTH_METHOD, method);
	if (data)
		mqtt5_prop_str(&props, MQTT_PROP_AUTH_DATA, data);
	return mqtt5_send_auth(fd, reason, &props);
}

/* The next packet on @fd is AUTH @reason with the method and @data. */
static void expect_auth(struct __test_metadata *_metadata, int fd,
			uint8_t reason, const char *data)
{
	struct mqtt5_props props = { 0 }, want = { 0 };

	mqtt5_prop_str(&want, MQTT_PROP_AUTH_METHOD, "TEST-M");
	mqtt5_prop_str(&want, MQTT_PROP_AUTH_DATA, data);
	ASSERT_EQ(reason, mqtt5_read_auth(fd, &props));
	ASSERT_EQ(want.len, props.len);
	EXPECT_EQ(0, memcmp(want.buf, props.buf, want.len));
}

/* The agent's side: the next AUTH event is @reason with @data. */
static void expect_auth_event(struct __test_metadata *_metadata,
			      FIXTURE_DATA(mqtt5) *self, uint8_t reason,
			      const char *data, struct kmqtt_genl_auth *ev)
{
	ASSERT_EQ(0, kmqtt_genl_wait_auth(&self->genl, MQTT_TEST_TIMEOUT_MS,
					  ev));
	EXPECT_EQ(reason, ev->reason);
	ASSERT_TRUE(ev->has_data);
	ASSERT_EQ(strlen(data), ev->data_len);
	EXPECT_EQ(0, memcmp(data, ev->data, ev->data_len));
}

/*
 * 4.12.1: a client that authenticated with a method at CONNECT
 * re-authenticates with AUTH 0x19; the module relays each AUTH to the
 * agent and the agent's answers back (0x18 continue, 0x00 success, or a
 * DISCONNECT with its failure reason), the connection working
 * meanwhile.  AUTH without a method at CONNECT, with another method or
 * out of turn is a protocol error (0x82).
 */
TEST_F(mqtt5, reauthentication)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-reauth",
		.clean_session = true,
		.auth_method = "TEST-M",
	};
	struct kmqtt_nl *nl = &self->genl.nl;
	struct kmqtt_genl_auth ev;
	struct kmqtt_nl_closed closed;
	int fd, plain;

	ASSERT_EQ(0, kmqtt_genl_join_events(&self->genl));
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_REAUTHENTICATE, "TEST-M", "first"));
	expect_auth_event(_metadata, self, MQTT_RC_REAUTHENTICATE, "first",
			  &ev);
	EXPECT_STREQ("v5-reauth", ev.client_id);
	/* Not the connection's id, or not its turn: refused. */
	EXPECT_EQ(-ENOENT, kmqtt_nl_auth_reply(nl, ev.conn_id + 1000,
					       "v5-reauth",
					       MQTT_RC_CONTINUE_AUTH, NULL, 0));
	ASSERT_EQ(0, kmqtt_nl_auth_reply(nl, ev.conn_id, "v5-reauth",
					 MQTT_RC_CONTINUE_AUTH,
					 (const uint8_t *)"challenge", 9));
	EXPECT_EQ(-EINVAL, kmqtt_nl_auth_reply(nl, ev.conn_id, "v5-reauth",
					       MQTT_RC_SUCCESS, NULL, 0));
	expect_auth(_metadata, fd, MQTT_RC_CONTINUE_AUTH, "challenge");
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_CONTINUE_AUTH, "TEST-M", "proof"));
	expect_auth_event(_metadata, self, MQTT_RC_CONTINUE_AUTH, "proof", &ev);
	ASSERT_EQ(0, kmqtt_nl_auth_reply(nl, ev.conn_id, "v5-reauth",
					 MQTT_RC_SUCCESS,
					 (const uint8_t *)"signed", 6));
	expect_auth(_metadata, fd, MQTT_RC_SUCCESS, "signed");
	EXPECT_EQ(0, subscribe5(fd, "reauth/#", 0, 0));

	/* Again, and the agent says no: DISCONNECT with its reason. */
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_REAUTHENTICATE, "TEST-M", "again"));
	expect_auth_event(_metadata, self, MQTT_RC_REAUTHENTICATE, "again",
			  &ev);
	/* 0x86 is a CONNACK code, not a DISCONNECT one: refused. */
	EXPECT_EQ(-EINVAL, kmqtt_nl_auth_reply(nl, ev.conn_id, "v5-reauth",
					       MQTT_RC_BAD_USERNAME_PASSWORD,
					       NULL, 0));
	ASSERT_EQ(0, kmqtt_nl_auth_reply(nl, ev.conn_id, "v5-reauth",
					 MQTT_RC_NOT_AUTHORIZED, NULL, 0));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_NOT_AUTHORIZED));
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->genl, ev.conn_id,
					    MQTT_TEST_TIMEOUT_MS, &closed));
	EXPECT_EQ(KMQTT_CLOSE_AUTH, closed.reason);

	/* The agent gives up while the client has the turn. */
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_REAUTHENTICATE, "TEST-M", "slow"));
	expect_auth_event(_metadata, self, MQTT_RC_REAUTHENTICATE, "slow", &ev);
	ASSERT_EQ(0, kmqtt_nl_auth_reply(nl, ev.conn_id, "v5-reauth",
					 MQTT_RC_CONTINUE_AUTH,
					 (const uint8_t *)"c", 1));
	expect_auth(_metadata, fd, MQTT_RC_CONTINUE_AUTH, "c");
	ASSERT_EQ(0, kmqtt_nl_auth_reply(nl, ev.conn_id, "v5-reauth",
					 MQTT_RC_NOT_AUTHORIZED, NULL, 0));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_NOT_AUTHORIZED));

	/* Out of turn: a second AUTH before the agent answered. */
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_REAUTHENTICATE, "TEST-M", "a"));
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_REAUTHENTICATE, "TEST-M", "b"));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_PROTOCOL_ERROR));
	/* Another method than CONNECT's. */
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_REAUTHENTICATE, "OTHER", "a"));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_PROTOCOL_ERROR));
	/* A continue that nobody asked for. */
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_CONTINUE_AUTH, "TEST-M", "a"));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_PROTOCOL_ERROR));
	/* No method at CONNECT. */
	plain = client(_metadata, self, "v5-noauth", MQTT_PROTO_V5);
	ASSERT_EQ(0, send_auth(plain, MQTT_RC_REAUTHENTICATE, "TEST-M", "a"));
	EXPECT_EQ(0, expect_disconnect(plain, MQTT_RC_PROTOCOL_ERROR));
	/* A 3.1.1 client has no AUTH at all: closed. */
	plain = client(_metadata, self, "v311-auth", MQTT_PROTO_V311);
	ASSERT_EQ(0, send_auth(plain, MQTT_RC_REAUTHENTICATE, "TEST-M", "a"));
	EXPECT_EQ(0, mqtt_wait_closed(plain, MQTT_TEST_TIMEOUT_MS));
}

/*
 * 4.12.1: an AUTH the agent does not answer within the module's
 * auth_timeout (the agent restarted, or lost the event) fails the
 * exchange: DISCONNECT 0x87, close reason AUTH.
 */
TEST_F(mqtt5, reauthentication_unanswered)
{
	struct kmqtt_attach_req req = {
		.client_id = "v5-reauth-late",
		.clean_session = true,
		.auth_method = "TEST-M",
	};
	struct kmqtt_genl_auth ev;
	struct kmqtt_nl_closed closed;
	int fd;

	ASSERT_EQ(0, modparam_write("auth_timeout", "1"));
	ASSERT_EQ(0, kmqtt_genl_join_events(&self->genl));
	fd = attach(_metadata, self, &req, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_auth(fd, MQTT_RC_REAUTHENTICATE, "TEST-M", "x"));
	expect_auth_event(_metadata, self, MQTT_RC_REAUTHENTICATE, "x", &ev);
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_NOT_AUTHORIZED));
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->genl, ev.conn_id,
					    MQTT_TEST_TIMEOUT_MS, &closed));
	EXPECT_EQ(KMQTT_CLOSE_AUTH, closed.reason);
}

/*
 * [MQTT-3.8.3-5] Reserved bits of the options are a malformed SUBSCRIBE,
 * bit 6 included: the module's KMQTT_SUBOPT_QUEUE_QOS0 is never a
 * client's.
 */
TEST_F(mqtt5, subscription_option_bit_6_malformed)
{
	int fd = client(_metadata, self, "v5-bit6", MQTT_PROTO_V5);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt5_send_subscribe(fd, 1, NULL, "bit6/#",
					  KMQTT_SUBOPT_QUEUE_QOS0 | 1));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_MALFORMED_PACKET));
}

/* [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error. */
TEST_F(mqtt5, no_local_on_a_shared_subscription)
{
	int fd = client(_metadata, self, "v5-share-nl", MQTT_PROTO_V5);

	ASSERT_EQ(0, mqtt5_send_subscribe(fd, 1, NULL, "$share/g/nl",
					  MQTT_SUBOPT_NO_LOCAL | 1));
	EXPECT_EQ(0, expect_disconnect(fd, MQTT_RC_PROTOCOL_ERROR));
}

TEST_HARNESS_MAIN
