// SPDX-License-Identifier: GPL-2.0
/*
 * What makes kmqtt a drop-in for Mosquitto, on the module's side (issue
 * #11): read access checked again when a waiting message is sent (a
 * reload, a takeover by another user), a will checked when it goes out,
 * retained messages after a reload, MQTT 3.1's CONNACK, the payload limit
 * (message_size_limit) and mount points.  kmqttd's side, and the same
 * scenarios run against Debian's Mosquitto, are in selftests/interop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "direct.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

#define R	KMQTT_ACL_READ
#define RW	(KMQTT_ACL_READ | KMQTT_ACL_WRITE)
#define DENY	KMQTT_ACL_DENY
#define RULES(...) (const struct acl_rule[]){ __VA_ARGS__ }
#define NRULES(...) (sizeof(RULES(__VA_ARGS__)) / sizeof(struct acl_rule))

static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
static const struct mqtt_pub_opts got_qos1 = { .qos = 1 };

FIXTURE(dropin)
{
	struct kmqtt_genl genl;
	struct direct direct;
	int kmsg;
	uint64_t limits[KMQTT_LIMIT_MAX + 1];
	uint64_t before[KMQTT_STAT_MAX + 1];
	int pub, fds[3];
};

FIXTURE_SETUP(dropin)
{
	int i;

	for (i = 0; i < 3; i++)
		self->fds[i] = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->limits));
	ASSERT_EQ(0, direct_open(&self->direct));
	self->pub = direct_client(&self->direct, &self->genl, "dropin-pub",
				  true, NULL, NULL);
	ASSERT_LE(0, self->pub);
	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, self->before));
}

FIXTURE_TEARDOWN(dropin)
{
	int i;

	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->limits,
					   KMQTT_GENL_ALL_LIMITS));
	close(self->pub);
	for (i = 0; i < 3; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

/* How much counter @id grew since the fixture began. */
static uint64_t grew(struct __test_metadata *_metadata,
		     FIXTURE_DATA(dropin) *self, enum kmqtt_stat id)
{
	uint64_t now;

	EXPECT_EQ(0, kmqtt_genl_get_stat(&self->genl, id, &now));
	return now - self->before[id];
}

/* Attach client_id with these rules (persistent session unless clean). */
static int attach_ruled(FIXTURE_DATA(dropin) *self, const char *client_id,
			bool clean, const struct acl_rule *acl, size_t n)
{
	struct kmqtt_attach_req req = {
		.client_id = client_id,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = clean,
		.acl = acl,
		.acl_count = n,
	};

	return direct_attach(&self->direct, &self->genl, &req, NULL, NULL);
}

/* Leave a persistent session offline, its connection gone. */
static void go_offline(struct __test_metadata *_metadata,
		       FIXTURE_DATA(dropin) *self, int *fd,
		       const char *client_id)
{
	ASSERT_EQ(0, mqtt_send_disconnect(*fd));
	close(*fd);
	*fd = -1;
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, client_id,
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
}

/* A clean session of the id ends the stored one. */
static void discard(struct __test_metadata *_metadata,
		    FIXTURE_DATA(dropin) *self, int *fd, const char *client_id)
{
	if (*fd >= 0)
		close(*fd);
	*fd = direct_client(&self->direct, &self->genl, client_id, true, NULL,
			    NULL);
	EXPECT_LE(0, *fd);
}

/*
 * Messages queued for an offline session, then read access to one topic
 * withdrawn (as a reload of the ACL file does, and the agent's rules at
 * the reconnect say): it is not delivered at the reconnect, and counted
 * as dropped (denied); the other is.
 */
TEST_F(dropin, queued_message_withdrawn_with_read_access)
{
	int *sub = &self->fds[0];

	*sub = attach_ruled(self, "dropin-q", false, RULES({ "t/#", R }),
			    NRULES({ "t/#", R }));
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(*sub, 1, "t/#", 1));
	go_offline(_metadata, self, sub, "dropin-q");
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/one", "1", &qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/two", "2", &qos1));
	ASSERT_EQ(0, kmqtt_genl_set_acl(&self->genl, "dropin-q",
					RULES({ "t/two", DENY }, { "t/#", R }),
					2));

	*sub = attach_ruled(self, "dropin-q", false,
			    RULES({ "t/two", DENY }, { "t/#", R }), 2);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_expect_message(*sub, "t/one", "1", &got_qos1));
	ASSERT_EQ(0, mqtt_expect_silence(*sub, 500));
	EXPECT_EQ(1, grew(_metadata, self, KMQTT_STAT_DROPPED_DENIED));
	EXPECT_EQ(1, grew(_metadata, self, KMQTT_STAT_MSGS_DROPPED));
	discard(_metadata, self, sub, "dropin-q");
}

/* The same for a message in flight (sent, not acknowledged). */
TEST_F(dropin, inflight_message_withdrawn_with_read_access)
{
	int *sub = &self->fds[0];
	struct mqtt_received m;

	*sub = attach_ruled(self, "dropin-i", false, RULES({ "t/#", R }), 1);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(*sub, 1, "t/#", 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/two", "2", &qos1));
	/* Received, not acknowledged: in flight when the client goes. */
	ASSERT_EQ(0, mqtt_receive(*sub, &m, false, MQTT_TEST_TIMEOUT_MS));
	go_offline(_metadata, self, sub, "dropin-i");

	*sub = attach_ruled(self, "dropin-i", false,
			    RULES({ "t/two", DENY }, { "t/#", R }), 2);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_expect_silence(*sub, 500));
	EXPECT_EQ(1, grew(_metadata, self, KMQTT_STAT_DROPPED_DENIED));
	discard(_metadata, self, sub, "dropin-i");
}

/*
 * A connected client whose rules change while messages wait for its
 * inflight window: the ones it may no longer read are not sent.
 */
TEST_F(dropin, waiting_message_withdrawn_while_online)
{
	int *sub = &self->fds[0];
	struct mqtt_received m;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_INFLIGHT, 1));
	*sub = attach_ruled(self, "dropin-o", true, RULES({ "t/#", R }), 1);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(*sub, 1, "t/#", 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/a", "a", &qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/c", "c", &qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/b", "b", &qos1));
	/* t/a in flight, t/c and t/b wait. */
	ASSERT_EQ(0, mqtt_receive(*sub, &m, false, MQTT_TEST_TIMEOUT_MS));
	ASSERT_STREQ("t/a", m.topic);
	ASSERT_EQ(0, kmqtt_genl_set_acl(&self->genl, "dropin-o",
					RULES({ "t/c", DENY }, { "t/#", R }),
					2));
	ASSERT_EQ(0, mqtt_send_pub_ack(*sub, MQTT_PUBACK, m.opts.packet_id));
	ASSERT_EQ(0, mqtt_expect_message(*sub, "t/b", "b", &got_qos1));
	ASSERT_EQ(0, mqtt_expect_silence(*sub, 500));
	EXPECT_EQ(1, grew(_metadata, self, KMQTT_STAT_DROPPED_DENIED));
}

/*
 * A takeover by a client of another user (other rules): what waits in
 * the session for topics the new user may not read is not delivered.
 */
TEST_F(dropin, takeover_by_another_user_withdraws)
{
	int *sub = &self->fds[0];

	*sub = attach_ruled(self, "dropin-t", false, RULES({ "t/#", R }), 1);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(*sub, 1, "t/#", 1));
	go_offline(_metadata, self, sub, "dropin-t");
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/one", "1", &qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "t/two", "2", &qos1));

	*sub = attach_ruled(self, "dropin-t", false, RULES({ "t/one", R }), 1);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_expect_message(*sub, "t/one", "1", &got_qos1));
	ASSERT_EQ(0, mqtt_expect_silence(*sub, 500));
	EXPECT_EQ(1, grew(_metadata, self, KMQTT_STAT_DROPPED_DENIED));
	discard(_metadata, self, sub, "dropin-t");
}

/* Retained messages on SUBSCRIBE are read-checked under today's rules. */
TEST_F(dropin, retained_after_a_reload)
{
	static const struct mqtt_pub_opts retain = { .retain = true };
	static const struct mqtt_pub_opts got_retain = { .retain = true };
	int *sub = &self->fds[0];

	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "r/x", "x", 1, &retain));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "r/y", "y", 1, &retain));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	*sub = attach_ruled(self, "dropin-r", true, RULES({ "r/#", R }), 1);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, kmqtt_genl_set_acl(&self->genl, "dropin-r",
					RULES({ "r/x", DENY }, { "r/#", R }),
					2));
	ASSERT_EQ(0, mqtt_subscribe(*sub, 1, "r/#"));
	EXPECT_EQ(0, mqtt_expect_message(*sub, "r/y", "y", &got_retain));
	EXPECT_EQ(0, mqtt_expect_silence(*sub, 500));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "r/x", "", 0, &retain));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "r/y", "", 0, &retain));
	ASSERT_EQ(0, mqtt_sync(self->pub));
}

/*
 * A will is checked when it goes out, under the rules then in force (as
 * Mosquitto does): write access withdrawn by a reload, it is not sent.
 */
TEST_F(dropin, will_checked_when_it_goes_out)
{
	int *willing = &self->fds[0], *sub = &self->fds[1];
	struct kmqtt_attach_req req = {
		.client_id = "dropin-w",
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
		.will_topic = "w/t",
		.will_payload = "gone",
		.acl = RULES({ "w/#", RW }),
		.acl_count = 1,
	};

	*sub = direct_client(&self->direct, &self->genl, "dropin-ws", true,
			     NULL, NULL);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe(*sub, 1, "w/#"));
	*willing = direct_attach(&self->direct, &self->genl, &req, NULL, NULL);
	ASSERT_LE(0, *willing);
	ASSERT_EQ(0, kmqtt_genl_set_acl(&self->genl, "dropin-w",
					RULES({ "w/#", R }), 1));
	loopback_reset(*willing);
	*willing = -1;
	EXPECT_EQ(0, mqtt_expect_silence(*sub, 1000));
	EXPECT_EQ(1, grew(_metadata, self, KMQTT_STAT_ACL_DENIED));

	/* The control: with write access, the same will arrives. */
	*willing = direct_attach(&self->direct, &self->genl, &req, NULL, NULL);
	ASSERT_LE(0, *willing);
	loopback_reset(*willing);
	*willing = -1;
	EXPECT_EQ(0, mqtt_expect_publish(*sub, "w/t", "gone", 4));
}

/*
 * MQTT 3.1 has no session-present flag (Mosquitto sends 0 whatever was
 * stored); 3.1.1 resumes with it set (MQTT-3.2.2-2).
 */
TEST_F(dropin, mqtt31_connack_has_no_session_present)
{
	struct kmqtt_attach_req req = {
		.client_id = "dropin-31",
		.proto_level = MQTT_PROTO_V31,
	};
	int *fd = &self->fds[0];
	bool present = true;

	*fd = direct_attach(&self->direct, &self->genl, &req, NULL, &present);
	ASSERT_LE(0, *fd);
	EXPECT_FALSE(present);
	close(*fd);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "dropin-31",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	*fd = direct_attach(&self->direct, &self->genl, &req, NULL, &present);
	ASSERT_LE(0, *fd);
	EXPECT_FALSE(present) TH_LOG("stored session resumed, flag must be 0");
	close(*fd);

	req.proto_level = MQTT_PROTO_V311;
	*fd = direct_attach(&self->direct, &self->genl, &req, NULL, &present);
	ASSERT_LE(0, *fd);
	EXPECT_TRUE(present);
	discard(_metadata, self, fd, "dropin-31");
}

/*
 * message_size_limit as Mosquitto applies it: a payload over the limit is
 * acknowledged (PUBACK; PUBREC, then PUBCOMP for the PUBREL) and dropped,
 * not retained, counted as too large; the connection stays, and a payload
 * at the limit goes through.
 */
TEST_F(dropin, payload_over_message_size_limit_dropped)
{
	static const struct mqtt_pub_opts qos0_retained = { .retain = true };
	static const struct mqtt_pub_opts qos2 = { .qos = 2, .packet_id = 2 };
	int *sub = &self->fds[0];
	uint64_t retained;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MESSAGE_SIZE,
					  10));
	*sub = direct_client(&self->direct, &self->genl, "dropin-size", true,
			     NULL, NULL);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe(*sub, 1, "s/#"));
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "s/0", "12345678901",
					    11, &qos0_retained));
	ASSERT_EQ(0, mqtt_publish(self->pub, "s/1", "12345678901", &qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "s/2", "12345678901", &qos2));
	ASSERT_EQ(0, mqtt_publish(self->pub, "s/ok", "1234567890", &qos1));
	EXPECT_EQ(0, mqtt_expect_publish(*sub, "s/ok", "1234567890", 10));
	EXPECT_EQ(0, mqtt_expect_silence(*sub, 300));
	EXPECT_EQ(3, grew(_metadata, self, KMQTT_STAT_DROPPED_TOO_LARGE));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_RETAINED,
					 &retained));
	EXPECT_EQ(self->before[KMQTT_STAT_RETAINED], retained);
}

/* A client under mount point "mp/", as a listener's mount_point gives. */
static int attach_mounted(FIXTURE_DATA(dropin) *self, const char *client_id,
			  bool clean)
{
	struct kmqtt_attach_req req = {
		.client_id = client_id,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = clean,
		.mount_point = "mp/",
	};

	return direct_attach(&self->direct, &self->genl, &req, NULL, NULL);
}

/*
 * Mount points: a mounted client's topics and filters are taken under the
 * prefix; what it is sent has the prefix taken off; a topic outside it,
 * or the prefix alone, does not reach it.
 */
TEST_F(dropin, mount_point_prefixes_and_strips)
{
	int *mounted = &self->fds[0], *plain = &self->fds[1];

	*mounted = attach_mounted(self, "dropin-m", true);
	ASSERT_LE(0, *mounted);
	*plain = direct_client(&self->direct, &self->genl, "dropin-p", true,
			       NULL, NULL);
	ASSERT_LE(0, *plain);
	ASSERT_EQ(0, mqtt_subscribe(*mounted, 1, "t/#"));
	ASSERT_EQ(0, mqtt_subscribe(*plain, 1, "#"));

	/* Published under the mount point: others see the whole topic. */
	ASSERT_EQ(0, mqtt_send_publish(*mounted, "t/1", "m", 1));
	EXPECT_EQ(0, mqtt_expect_publish(*plain, "mp/t/1", "m", 1));
	EXPECT_EQ(0, mqtt_expect_publish(*mounted, "t/1", "m", 1));

	/* From outside: under the prefix it arrives without it. */
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "mp/t/2", "p", 1));
	EXPECT_EQ(0, mqtt_expect_publish(*mounted, "t/2", "p", 1));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "t/3", "x", 1));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "mp", "x", 1));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	EXPECT_EQ(0, mqtt_expect_silence(*mounted, 300));
}

/*
 * ATTACH takes a topic name as mount point, unless a filter could
 * complete it into "$share/": the filter would be a shared subscription's
 * ("$shar" and "e/g/t" make "$share/g/t").
 */
TEST_F(dropin, mount_point_refused_at_attach)
{
	static const char *const refused[] = {
		"mp/+/", "$share/g/", "$share", "$shar", "$",
	};
	struct kmqtt_attach_req req = {
		.client_id = "dropin-bad-mount",
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		req.mount_point = refused[i];
		EXPECT_EQ(-EINVAL, direct_attach(&self->direct, &self->genl,
						 &req, NULL, NULL))
			TH_LOG("mount point %s", refused[i]);
	}
	req.mount_point = "$shared/";
	self->fds[0] = direct_attach(&self->direct, &self->genl, &req, NULL,
				     NULL);
	EXPECT_LE(0, self->fds[0]);
}

/*
 * Under a mount point: QoS 1 to a persistent session (its packet id after
 * the shortened topic), resent with DUP at the reconnect, a payload large
 * enough to go out from its own pages, and retained messages stored under
 * the whole topic.
 */
TEST_F(dropin, mount_point_qos1_large_and_retained)
{
	static const struct mqtt_pub_opts retain = { .retain = true };
	static const struct mqtt_pub_opts got_retain = { .retain = true };
	static char big[32768 + 1];
	int *mounted = &self->fds[0], *plain = &self->fds[1];
	struct mqtt_packet p = { 0 };
	struct mqtt_publish pub;
	struct mqtt_received m;

	*mounted = attach_mounted(self, "dropin-mq", false);
	ASSERT_LE(0, *mounted);
	ASSERT_EQ(0, mqtt_subscribe_qos(*mounted, 1, "q/#", 1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "mp/q/1", "one", &qos1));
	ASSERT_EQ(0, mqtt_receive(*mounted, &m, false, MQTT_TEST_TIMEOUT_MS));
	EXPECT_STREQ("q/1", m.topic);
	go_offline(_metadata, self, mounted, "dropin-mq");
	*mounted = attach_mounted(self, "dropin-mq", false);
	ASSERT_LE(0, *mounted);
	EXPECT_EQ(0, mqtt_expect_message(*mounted, "q/1", "one",
					 &(struct mqtt_pub_opts){ .qos = 1,
								  .dup = true }));

	memset(big, 'b', sizeof(big) - 1);
	ASSERT_EQ(0, mqtt_publish(self->pub, "mp/q/big", big, &qos1));
	ASSERT_EQ(0, mqtt_read_packet(*mounted, &p, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_parse_publish(&p, &pub));
	EXPECT_EQ(5, pub.topic_len);
	EXPECT_EQ(0, memcmp(pub.topic, "q/big", 5));
	EXPECT_EQ(sizeof(big) - 1, pub.payload_len);
	EXPECT_EQ(0, memcmp(pub.payload, big, pub.payload_len));
	ASSERT_EQ(0, mqtt_send_pub_ack(*mounted, MQTT_PUBACK,
				       pub.opts.packet_id));
	mqtt_packet_free(&p);

	ASSERT_EQ(0, mqtt_send_publish_opts(*mounted, "keep", "k", 1, &retain));
	ASSERT_EQ(0, mqtt_sync(*mounted));
	*plain = direct_client(&self->direct, &self->genl, "dropin-mp", true,
			       NULL, NULL);
	ASSERT_LE(0, *plain);
	ASSERT_EQ(0, mqtt_subscribe(*plain, 1, "mp/keep"));
	EXPECT_EQ(0, mqtt_expect_message(*plain, "mp/keep", "k", &got_retain));
	ASSERT_EQ(0, mqtt_subscribe(*mounted, 2, "keep"));
	EXPECT_EQ(0, mqtt_expect_message(*mounted, "keep", "k", &got_retain));
	/* Deleted: the empty message is forwarded, under its own name. */
	ASSERT_EQ(0, mqtt_send_publish_opts(*mounted, "keep", "", 0, &retain));
	EXPECT_EQ(0, mqtt_expect_publish(*mounted, "keep", "", 0));
	discard(_metadata, self, mounted, "dropin-mq");
}

TEST_HARNESS_MAIN
