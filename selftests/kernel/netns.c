// SPDX-License-Identifier: GPL-2.0
/*
 * One broker per network namespace (netnsok): a broker in a second
 * namespace (unshare(CLONE_NEWNET) in the test, setns() to move between
 * the two) serves its own clients; neither sees the other's connections,
 * sessions, subscriptions, messages or events; ATTACH refuses a socket of
 * the other namespace; a namespace going away with sessions and retained
 * messages in its broker frees them.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

#define SETTLE_MS	10000

static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };

/* Bring lo up in the current network namespace. */
static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(fd);
	return err;
}

/* A new network namespace with lo up, as an fd; the caller stays in it. */
static int new_netns(void)
{
	int fd;

	if (unshare(CLONE_NEWNET) || lo_up())
		return -errno;
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

FIXTURE(netns)
{
	int home, other;	/* the namespaces, A and B */
	struct broker a, b;
	struct kmqtt_genl ga, gb;	/* genl sockets opened in A and B */
	int kmsg;
	int fds[8];
};

/* Run the next statements' socket() calls in ns: the caller switches back. */
static void enter(struct __test_metadata *_metadata, int ns)
{
	ASSERT_EQ(0, setns(ns, CLONE_NEWNET));
}

FIXTURE_SETUP(netns)
{
	size_t i;

	for (i = 0; i < sizeof(self->fds) / sizeof(self->fds[0]); i++)
		self->fds[i] = -1;
	self->other = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	self->home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->home);
	ASSERT_EQ(0, kmqtt_genl_open(&self->ga));
	ASSERT_EQ(0, broker_start(&self->a));

	/* B: its genl socket and its kmqttd are made from inside it. */
	self->other = new_netns();
	ASSERT_LE(0, self->other);
	ASSERT_EQ(0, kmqtt_genl_open(&self->gb));
	ASSERT_EQ(0, broker_start(&self->b));
	enter(_metadata, self->home);
}

FIXTURE_TEARDOWN(netns)
{
	size_t i;

	for (i = 0; i < sizeof(self->fds) / sizeof(self->fds[0]); i++)
		close(self->fds[i]);
	broker_stop(&self->a, !_metadata->passed);
	broker_stop(&self->b, !_metadata->passed);
	if (self->ga.nl.sock)
		kmqtt_genl_close(&self->ga);
	if (self->gb.nl.sock)
		kmqtt_genl_close(&self->gb);
	close(self->home);
	close(self->other);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

/* An MQTT client of the broker on port in namespace ns. */
static int client_in(struct __test_metadata *_metadata,
		     FIXTURE_DATA(netns) *self, int ns, uint16_t port,
		     const char *client_id)
{
	int fd;

	enter(_metadata, ns);
	fd = mqtt_client_open(port, client_id, 0);
	enter(_metadata, self->home);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", client_id, strerror(-fd));
	return fd;
}

static size_t count(struct __test_metadata *_metadata, struct kmqtt_genl *g,
		    uint8_t cmd, const char *client_id)
{
	size_t n;

	ASSERT_EQ(0, kmqtt_genl_dump_count(g, cmd, client_id, &n));
	return n;
}

/*
 * GET_CONN, GET_SESSION and GET_SUBSCRIPTION in A list A's client only,
 * in B B's only; B's totals count B's broker only.
 */
TEST_F(netns, dumps_show_own_broker_only)
{
	static const uint8_t cmds[] = { KMQTT_CMD_GET_CONN,
					KMQTT_CMD_GET_SESSION,
					KMQTT_CMD_GET_SUBSCRIPTION };
	uint64_t stats[KMQTT_STAT_MAX + 1];
	size_t i;

	self->fds[0] = client_in(_metadata, self, self->home, self->a.port,
				 "ns-a");
	ASSERT_EQ(0, mqtt_subscribe(self->fds[0], 1, "ns/a"));
	self->fds[1] = client_in(_metadata, self, self->other, self->b.port,
				 "ns-b");
	ASSERT_EQ(0, mqtt_subscribe(self->fds[1], 1, "ns/b"));

	for (i = 0; i < sizeof(cmds); i++) {
		ASSERT_EQ(1, count(_metadata, &self->ga, cmds[i], "ns-a"))
			TH_LOG("command %u in A", cmds[i]);
		ASSERT_EQ(0, count(_metadata, &self->ga, cmds[i], "ns-b"))
			TH_LOG("command %u in A", cmds[i]);
		ASSERT_EQ(1, count(_metadata, &self->gb, cmds[i], "ns-b"))
			TH_LOG("command %u in B", cmds[i]);
		ASSERT_EQ(0, count(_metadata, &self->gb, cmds[i], "ns-a"))
			TH_LOG("command %u in B", cmds[i]);
	}
	ASSERT_EQ(0, kmqtt_genl_get_info(&self->gb, stats));
	EXPECT_EQ(1, stats[KMQTT_STAT_CONNECTIONS]);
	EXPECT_EQ(1, stats[KMQTT_STAT_CONNECTIONS_TOTAL]);
	EXPECT_EQ(1, stats[KMQTT_STAT_SESSIONS]);
	EXPECT_EQ(1, stats[KMQTT_STAT_SUBSCRIPTIONS]);
}

/*
 * The same client id in both: two sessions, no takeover; a message
 * published in one namespace reaches that namespace's subscriber only.
 */
TEST_F(netns, same_client_id_two_brokers)
{
	int *a_sub = &self->fds[0], *b_sub = &self->fds[1];
	int *a_pub = &self->fds[2], *b_pub = &self->fds[3];

	*a_sub = client_in(_metadata, self, self->home, self->a.port, "twin");
	*b_sub = client_in(_metadata, self, self->other, self->b.port, "twin");
	/* Both still connected: no takeover across namespaces. */
	ASSERT_EQ(0, mqtt_subscribe_qos(*a_sub, 1, "twin/#", 1));
	ASSERT_EQ(0, mqtt_subscribe_qos(*b_sub, 1, "twin/#", 1));
	*a_pub = client_in(_metadata, self, self->home, self->a.port,
			   "twin-pub");
	*b_pub = client_in(_metadata, self, self->other, self->b.port,
			   "twin-pub");

	/*
	 * A's message is fanned out before A answers the publisher; had it
	 * reached B's subscriber, it would arrive there before B's own.
	 */
	ASSERT_EQ(0, mqtt_publish(*a_pub, "twin/t", "from-a", &qos1));
	ASSERT_EQ(0, mqtt_publish(*b_pub, "twin/t", "from-b", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*b_sub, "twin/t", "from-b", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*a_sub, "twin/t", "from-a", &qos1));
	ASSERT_EQ(0, mqtt_publish(*b_pub, "twin/t", "again-b", &qos1));
	ASSERT_EQ(0, mqtt_publish(*a_pub, "twin/t", "again-a", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*a_sub, "twin/t", "again-a", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*b_sub, "twin/t", "again-b", &qos1));
	ASSERT_EQ(0, mqtt_sync(*a_sub));
	ASSERT_EQ(0, mqtt_sync(*b_sub));
	ASSERT_EQ(1, count(_metadata, &self->ga, KMQTT_CMD_GET_CONN, "twin"));
	ASSERT_EQ(1, count(_metadata, &self->gb, KMQTT_CMD_GET_CONN, "twin"));
}

/*
 * A connected TCP socket whose CONNECT the test read itself, made in
 * namespace ns: the server end (*server) and the client end (returned).
 */
static int connected_pair(struct __test_metadata *_metadata,
			  FIXTURE_DATA(netns) *self, int ns,
			  const char *client_id, int *server)
{
	struct mqtt_connect_opts opts = { .client_id = client_id,
					  .clean_session = true };
	struct mqtt_packet connect = { 0 };
	uint16_t port = 0;
	int lfd, client;

	enter(_metadata, ns);
	lfd = loopback_listen(&port);
	client = lfd < 0 ? lfd : loopback_connect(port, MQTT_TEST_TIMEOUT_MS);
	*server = client < 0 ? client :
		  loopback_accept(lfd, MQTT_TEST_TIMEOUT_MS);
	enter(_metadata, self->home);
	ASSERT_LE(0, lfd);
	close(lfd);
	ASSERT_LE(0, client);
	ASSERT_LE(0, *server);
	ASSERT_EQ(0, mqtt_send_connect(client, &opts));
	ASSERT_EQ(0, mqtt_read_packet(*server, &connect, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(MQTT_CONNECT, connect.type);
	mqtt_packet_free(&connect);
	return client;
}

/* ATTACH from a genl socket of namespace from, of server: the answer. */
static void attach_from(struct __test_metadata *_metadata,
			FIXTURE_DATA(netns) *self, int from, int server,
			const char *client_id, struct kmqtt_genl_ack *ack)
{
	struct kmqtt_attach_req req = {
		.fd = server,
		.client_id = client_id,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
	};
	int err;

	enter(_metadata, from);
	err = kmqtt_genl_raw_attach(self->ga.nl.family, KMQTT_GENL_VERSION, &req,
				    ack);
	enter(_metadata, self->home);
	ASSERT_EQ(0, err);
}

/*
 * ATTACH refuses a socket of the other namespace (EXDEV, with an extended
 * ack message), both ways, and leaves it alone: its own namespace's
 * broker then takes it.
 */
TEST_F(netns, attach_of_foreign_socket_refused)
{
	int *b_client = &self->fds[0], *b_server = &self->fds[1];
	int *a_client = &self->fds[2], *a_server = &self->fds[3];
	struct kmqtt_genl_ack ack;

	*b_client = connected_pair(_metadata, self, self->other, "foreign-b",
				   b_server);
	attach_from(_metadata, self, self->home, *b_server, "foreign-b", &ack);
	TH_LOG("A attaching B's socket: %s: %s", strerror(-ack.err), ack.msg);
	ASSERT_EQ(-EXDEV, ack.err);
	ASSERT_NE(0, strlen(ack.msg));
	ASSERT_EQ(0, count(_metadata, &self->ga, KMQTT_CMD_GET_SESSION,
			   "foreign-b"));

	*a_client = connected_pair(_metadata, self, self->home, "foreign-a",
				   a_server);
	attach_from(_metadata, self, self->other, *a_server, "foreign-a", &ack);
	TH_LOG("B attaching A's socket: %s: %s", strerror(-ack.err), ack.msg);
	ASSERT_EQ(-EXDEV, ack.err);
	ASSERT_NE(0, strlen(ack.msg));
	ASSERT_EQ(0, count(_metadata, &self->gb, KMQTT_CMD_GET_SESSION,
			   "foreign-a"));

	/* Each socket's own broker takes it. */
	attach_from(_metadata, self, self->other, *b_server, "foreign-b", &ack);
	ASSERT_EQ(0, ack.err) TH_LOG("%s", ack.msg);
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(*b_client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_sync(*b_client));
	ASSERT_EQ(1, count(_metadata, &self->gb, KMQTT_CMD_GET_CONN,
			   "foreign-b"));
	attach_from(_metadata, self, self->home, *a_server, "foreign-a", &ack);
	ASSERT_EQ(0, ack.err) TH_LOG("%s", ack.msg);
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(*a_client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_sync(*a_client));
	ASSERT_EQ(1, count(_metadata, &self->ga, KMQTT_CMD_GET_CONN,
			   "foreign-a"));
}

/* A close in B is an event in B's group only. */
TEST_F(netns, events_stay_in_their_namespace)
{
	struct kmqtt_genl ea, eb;
	struct kmqtt_nl_closed ev;
	uint64_t b_id;

	ASSERT_EQ(0, kmqtt_genl_open(&ea));
	ASSERT_EQ(0, kmqtt_genl_join_events(&ea));
	enter(_metadata, self->other);
	ASSERT_EQ(0, kmqtt_genl_open(&eb));
	ASSERT_EQ(0, kmqtt_genl_join_events(&eb));
	enter(_metadata, self->home);

	self->fds[0] = client_in(_metadata, self, self->home, self->a.port,
				 "ev-a");
	self->fds[1] = client_in(_metadata, self, self->other, self->b.port,
				 "ev-b");
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->gb, "ev-b", &b_id));
	ASSERT_EQ(0, mqtt_send_disconnect(self->fds[1]));
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&eb, b_id, SETTLE_MS, &ev));
	ASSERT_EQ(KMQTT_CLOSE_DISCONNECT, ev.reason);

	/* B's close came first; A's group must see A's only. */
	ASSERT_EQ(0, mqtt_send_disconnect(self->fds[0]));
	ASSERT_EQ(0, kmqtt_genl_next_closed(&ea, SETTLE_MS, &ev));
	ASSERT_STREQ("ev-a", ev.client_id);
	kmqtt_genl_close(&ea);
	kmqtt_genl_close(&eb);
}

/*
 * A namespace whose broker holds an offline session with queued QoS 1
 * messages, subscriptions and a retained message goes away once its last
 * socket closes: the module's per-namespace exit frees it all (kmemleak
 * and KASAN, on the debug kernel, would say otherwise).  The broker of
 * the first namespace is unaffected.
 */
TEST_F(netns, namespace_exit_frees_its_broker)
{
	static const struct mqtt_pub_opts retained = { .qos = 1,
						       .packet_id = 2,
						       .retain = true };
	struct mqtt_connect_opts opts = { .client_id = "gone-sub" };
	struct kmqtt_genl gc;
	struct broker c;
	int ns, sub, pub, i;

	/* C: a third namespace, with everything in it made from inside. */
	ns = new_netns();
	ASSERT_LE(0, ns);
	ASSERT_EQ(0, kmqtt_genl_open(&gc));
	ASSERT_EQ(0, broker_start(&c));
	sub = mqtt_client_connect(c.port, &opts, NULL);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(sub, 1, "gone/#", 1));
	ASSERT_EQ(0, mqtt_send_disconnect(sub));
	ASSERT_EQ(0, mqtt_wait_closed(sub, MQTT_TEST_TIMEOUT_MS));
	close(sub);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&gc, "gone-sub",
					     KMQTT_SESSION_OFFLINE, SETTLE_MS));
	pub = mqtt_client_open(c.port, "gone-pub", 0);
	ASSERT_LE(0, pub);
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "gone/q", i, &qos1));
	ASSERT_EQ(0, mqtt_publish(pub, "gone/r", "kept", &retained));
	/* A connection still open when the broker goes: pub's. */
	broker_stop(&c, !_metadata->passed);
	kmqtt_genl_close(&gc);
	enter(_metadata, self->home);
	close(pub);
	close(ns);

	/* Nothing of it in A; A still serves. */
	ASSERT_EQ(0, count(_metadata, &self->ga, KMQTT_CMD_GET_SESSION,
			   "gone-sub"));
	self->fds[0] = client_in(_metadata, self, self->home, self->a.port,
				 "after-gone");
	ASSERT_EQ(0, mqtt_subscribe(self->fds[0], 1, "gone/#"));
	ASSERT_EQ(0, mqtt_sync(self->fds[0]));
}

TEST_HARNESS_MAIN
