// SPDX-License-Identifier: GPL-2.0
/*
 * kmqttd killed with SIGKILL while clients are connected: the module keeps
 * serving the attached connections (QoS 0 and 1, pings, offline queues);
 * a kmqttd started again on the same port serves new clients with the old
 * ones, takes over old client ids with their sessions, and keeps treating
 * an authenticated client as its user (ACLs pushed at start and on SIGHUP
 * come from the module's record of the session's username).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

#define SETTLE_MS	10000
#define RELOADED	"Access rules sent to"

static const struct mqtt_pub_opts qos0;
static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };

FIXTURE(agent_restart)
{
	struct broker broker;
	struct kmqtt_genl genl;
	int kmsg;
	int fds[10];
	char dir[64];		/* password and ACL files */
};

FIXTURE_SETUP(agent_restart)
{
	size_t i;

	for (i = 0; i < sizeof(self->fds) / sizeof(self->fds[0]); i++)
		self->fds[i] = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
}

FIXTURE_TEARDOWN(agent_restart)
{
	static const char *const persistent[] = { "ar-persist", "ar-offline" };
	char cmd[128];
	size_t i;

	for (i = 0; i < sizeof(self->fds) / sizeof(self->fds[0]); i++)
		close(self->fds[i]);
	/* Sessions outlive kmqttd: leave none to the next tests. */
	if (self->broker.port && self->broker.pid <= 0 &&
	    broker_restart(&self->broker))
		TH_LOG("no kmqttd to discard the sessions with");
	if (self->broker.pid > 0)
		for (i = 0; i < sizeof(persistent) / sizeof(persistent[0]); i++)
			EXPECT_EQ(0, mqtt_session_discard(self->broker.port,
							  persistent[i]));
	broker_stop(&self->broker, !_metadata->passed);
	kmqtt_genl_close(&self->genl);
	if (self->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
		if (system(cmd))
			TH_LOG("could not remove %s", self->dir);
	}
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

/* SIGKILL kmqttd; the module has its connections, it gets nothing. */
static void kill_agent(struct __test_metadata *_metadata,
		       FIXTURE_DATA(agent_restart) *self)
{
	ASSERT_EQ(0, broker_kill(&self->broker));
}

/*
 * Clients connected before kmqttd died go on exchanging QoS 0 and 1
 * messages without it, and a persistent session offline meanwhile
 * queues.  A kmqttd restarted on the same port serves new clients along
 * with the old ones; an old client id is taken over with its session
 * (session present), online or offline.
 */
TEST_F_TIMEOUT(agent_restart, attached_clients_outlive_kmqttd, 120)
{
	struct mqtt_connect_opts persist = { .client_id = "ar-persist" };
	struct mqtt_connect_opts offline = { .client_id = "ar-offline" };
	int *sub = &self->fds[0], *pub = &self->fds[1];
	int *old_persist = &self->fds[2], *fresh = &self->fds[3];
	int *new_persist = &self->fds[4], *back = &self->fds[5];
	int *fresh_pub = &self->fds[6];
	bool present = false;
	int fd;

	ASSERT_EQ(0, broker_start(&self->broker));
	*sub = mqtt_client_open(self->broker.port, "ar-sub", 0);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(*sub, 1, "ar/#", 1));
	*pub = mqtt_client_open(self->broker.port, "ar-pub", 0);
	ASSERT_LE(0, *pub);
	*old_persist = mqtt_client_connect(self->broker.port, &persist, NULL);
	ASSERT_LE(0, *old_persist);
	ASSERT_EQ(0, mqtt_subscribe_qos(*old_persist, 1, "ar/p", 1));
	fd = mqtt_client_connect(self->broker.port, &offline, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe_qos(fd, 1, "ar/o", 1));
	ASSERT_EQ(0, mqtt_send_disconnect(fd));
	ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	close(fd);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "ar-offline",
					     KMQTT_SESSION_OFFLINE, SETTLE_MS));

	kill_agent(_metadata, self);

	/* Without kmqttd. */
	ASSERT_EQ(0, mqtt_publish(*pub, "ar/0", "no-agent-0", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(*sub, "ar/0", "no-agent-0", &qos0));
	ASSERT_EQ(0, mqtt_publish(*pub, "ar/1", "no-agent-1", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*sub, "ar/1", "no-agent-1", &qos1));
	ASSERT_EQ(0, mqtt_publish(*pub, "ar/o", "queued", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*sub, "ar/o", "queued", &qos1));
	ASSERT_EQ(0, mqtt_sync(*sub));
	ASSERT_EQ(0, mqtt_sync(*old_persist));
	/* Nobody accepts meanwhile. */
	fd = loopback_connect(self->broker.port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_EQ(-ECONNREFUSED, fd);

	/* A new kmqttd, same port. */
	ASSERT_EQ(0, broker_restart(&self->broker));
	*fresh = mqtt_client_open(self->broker.port, "ar-fresh", 0);
	ASSERT_LE(0, *fresh);
	ASSERT_EQ(0, mqtt_subscribe_qos(*fresh, 1, "ar/#", 1));
	ASSERT_EQ(0, mqtt_publish(*pub, "ar/2", "old-to-all", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*sub, "ar/2", "old-to-all", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*fresh, "ar/2", "old-to-all", &qos1));
	*fresh_pub = mqtt_client_open(self->broker.port, "ar-fresh-pub", 0);
	ASSERT_LE(0, *fresh_pub);
	ASSERT_EQ(0, mqtt_publish(*fresh_pub, "ar/3", "new-to-all", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*sub, "ar/3", "new-to-all", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*fresh, "ar/3", "new-to-all", &qos1));

	/* Takeover of a session the old kmqttd attached, online. */
	*new_persist = mqtt_client_connect(self->broker.port, &persist,
					   &present);
	ASSERT_LE(0, *new_persist);
	ASSERT_TRUE(present);
	ASSERT_EQ(0, mqtt_wait_closed(*old_persist, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_publish(*pub, "ar/p", "to-persist", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*new_persist, "ar/p", "to-persist",
					 &qos1));
	/* And offline: what was queued without kmqttd arrives. */
	present = false;
	*back = mqtt_client_connect(self->broker.port, &offline, &present);
	ASSERT_LE(0, *back);
	ASSERT_TRUE(present);
	ASSERT_EQ(0, mqtt_expect_message(*back, "ar/o", "queued", &qos1));
	ASSERT_EQ(0, mqtt_sync(*back));
}

/* Two successive kills: the second kmqttd's clients outlive it too. */
TEST_F_TIMEOUT(agent_restart, killed_twice, 120)
{
	int *a = &self->fds[0], *b = &self->fds[1], *c = &self->fds[2];

	ASSERT_EQ(0, broker_start(&self->broker));
	*a = mqtt_client_open(self->broker.port, "ar-a", 0);
	ASSERT_LE(0, *a);
	ASSERT_EQ(0, mqtt_subscribe_qos(*a, 1, "ar/#", 1));
	kill_agent(_metadata, self);
	ASSERT_EQ(0, broker_restart(&self->broker));
	*b = mqtt_client_open(self->broker.port, "ar-b", 0);
	ASSERT_LE(0, *b);
	ASSERT_EQ(0, mqtt_subscribe_qos(*b, 1, "ar/#", 1));
	kill_agent(_metadata, self);
	ASSERT_EQ(0, broker_restart(&self->broker));
	*c = mqtt_client_open(self->broker.port, "ar-c", 0);
	ASSERT_LE(0, *c);
	ASSERT_EQ(0, mqtt_publish(*c, "ar/x", "x", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*a, "ar/x", "x", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*b, "ar/x", "x", &qos1));
}

/* CONNECT with a username and password (3.1.2.8, 3.1.2.9), clean session. */
static int connect_user(uint16_t port, const char *client_id,
			const char *user, const char *password)
{
	uint8_t pkt[256];
	size_t n = 0, rem;
	int fd, err;

	rem = 10 + 2 + strlen(client_id) + 2 + strlen(user) + 2 +
	      strlen(password);
	if (rem > 127)
		return -EMSGSIZE;
	pkt[n++] = MQTT_CONNECT << 4;
	pkt[n++] = rem;
	memcpy(pkt + n, "\0\4MQTT", 6);
	n += 6;
	pkt[n++] = MQTT_PROTO_V311;
	pkt[n++] = MQTT_CONNECT_USERNAME | MQTT_CONNECT_PASSWORD |
		   MQTT_CONNECT_CLEAN_SESSION;
	pkt[n++] = 0;	/* keep alive 0 */
	pkt[n++] = 0;
#define PUT_STRING(s) do {				\
		pkt[n++] = strlen(s) >> 8;		\
		pkt[n++] = strlen(s) & 0xff;		\
		memcpy(pkt + n, s, strlen(s));		\
		n += strlen(s);				\
	} while (0)
	PUT_STRING(client_id);
	PUT_STRING(user);
	PUT_STRING(password);
#undef PUT_STRING
	fd = loopback_connect(port, MQTT_TEST_TIMEOUT_MS);
	if (fd < 0)
		return fd;
	err = mqtt_send_raw(fd, pkt, n);
	if (!err)
		err = mqtt_expect_connack(fd, MQTT_TEST_TIMEOUT_MS);
	if (err) {
		fprintf(stderr, "# CONNECT as %s: %d\n", user, err);
		close(fd);
		return err > 0 ? -ECONNREFUSED : err;
	}
	return fd;
}

/*
 * alice may read a/# only; anonymous clients may do anything.  She gets
 * a/x and not b/x: had b/x reached her, it would come before a/x.
 */
static void assert_alice_is_alice(struct __test_metadata *_metadata,
				  int alice, int pub, const char *when)
{
	TH_LOG("alice %s", when);
	ASSERT_EQ(0, mqtt_send_publish(pub, "b/x", "not-for-alice", 13));
	ASSERT_EQ(0, mqtt_send_publish(pub, "a/x", "for-alice", 9));
	ASSERT_EQ(0, mqtt_sync(pub));
	ASSERT_EQ(0, mqtt_expect_publish(alice, "a/x", "for-alice", 9))
		TH_LOG("alice %s: not treated as alice", when);
	ASSERT_EQ(0, mqtt_sync(alice));
}

/*
 * With password_file and acl_file: alice, connected, keeps her rules
 * when kmqttd is killed, when it starts again (it pushes the rules of
 * every session it finds) and when it reloads on SIGHUP.  An anonymous
 * session would get the anonymous rules (read everything): the username
 * must come from the module (KMQTT_A_USERNAME), the new kmqttd never
 * saw her CONNECT.
 */
TEST_F_TIMEOUT(agent_restart, acl_user_kept_across_restart_and_reload, 120)
{
	int *alice = &self->fds[0], *pub = &self->fds[1];
	char config[512], cmd[PATH_MAX + 128], path[PATH_MAX];
	FILE *f;

	snprintf(self->dir, sizeof(self->dir), "/tmp/kmqtt-ar.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_passwd -c -b '%s/pw' alice 'alice pw' >/dev/null",
		 self->dir);
	if (system(cmd)) {
		self->dir[0] = '\0';
		SKIP(return, "no mosquitto_passwd");
	}
	snprintf(path, sizeof(path), "%s/acl", self->dir);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("topic readwrite #\nuser alice\ntopic read a/#\n", f);
	ASSERT_EQ(0, fclose(f));
	snprintf(config, sizeof(config),
		 "password_file %s/pw\nacl_file %s/acl\nlog_type all\n",
		 self->dir, self->dir);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));

	*alice = connect_user(self->broker.port, "alice-dev", "alice",
			      "alice pw");
	ASSERT_LE(0, *alice);
	/* '#' overlaps her read rule: granted, and each delivery checked. */
	ASSERT_EQ(0, mqtt_subscribe(*alice, 1, "#"));
	*pub = mqtt_client_open(self->broker.port, "ar-acl-pub", 0);
	ASSERT_LE(0, *pub);
	assert_alice_is_alice(_metadata, *alice, *pub, "under the first kmqttd");

	kill_agent(_metadata, self);
	assert_alice_is_alice(_metadata, *alice, *pub, "without kmqttd");

	ASSERT_EQ(0, broker_restart(&self->broker));
	ASSERT_EQ(0, broker_wait_log(&self->broker, RELOADED, 1, SETTLE_MS));
	assert_alice_is_alice(_metadata, *alice, *pub,
			      "after kmqttd started again");

	ASSERT_EQ(0, broker_signal(&self->broker, SIGHUP));
	ASSERT_EQ(0, broker_wait_log(&self->broker, RELOADED, 2, SETTLE_MS));
	assert_alice_is_alice(_metadata, *alice, *pub, "after SIGHUP");
}

TEST_HARNESS_MAIN
