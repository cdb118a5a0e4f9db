// SPDX-License-Identifier: GPL-2.0
/*
 * KMQTT_CMD_ATTACH used directly, as kmqttd uses it: the test accepts a
 * loopback TCP connection, reads the client's CONNECT itself and hands the
 * socket to the module, which answers CONNACK and serves the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

#define MAX_CONNS	1024

FIXTURE(attach)
{
	struct kmqtt_genl genl;
	int listen_fd;
	uint16_t port;
	int client, server;	/* the two ends of one TCP connection */
};

FIXTURE_SETUP(attach)
{
	struct mqtt_connect_opts opts = { .client_id = "attach-test",
					  .clean_session = true };
	struct mqtt_packet connect = { 0 };

	self->client = -1;
	self->server = -1;
	self->listen_fd = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));

	self->listen_fd = loopback_listen(&self->port);
	ASSERT_LE(0, self->listen_fd);
	self->client = loopback_connect(self->port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->client);
	self->server = loopback_accept(self->listen_fd, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->server);
	/* The agent's part: read CONNECT before handing the socket over. */
	ASSERT_EQ(0, mqtt_send_connect(self->client, &opts));
	ASSERT_EQ(0, mqtt_read_packet(self->server, &connect,
				      MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(MQTT_CONNECT, connect.type);
	mqtt_packet_free(&connect);
}

FIXTURE_TEARDOWN(attach)
{
	close(self->client);
	close(self->server);
	close(self->listen_fd);
	if (self->genl.nl.sock)
		kmqtt_genl_close(&self->genl);
}

static int attach_pending(struct kmqtt_genl *g, int fd, const void *pending,
			  size_t pending_len, uint64_t *conn_id)
{
	struct kmqtt_attach_req req = {
		.fd = fd,
		.client_id = "attach-test",
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
		.pending = pending,
		.pending_len = pending_len,
	};

	return kmqtt_genl_attach(g, &req, conn_id);
}

static int attach_fd(struct kmqtt_genl *g, int fd, uint64_t *conn_id)
{
	return attach_pending(g, fd, NULL, 0, conn_id);
}

/*
 * SUBSCRIBE id 1 to "loop", then a QoS 0 PUBLISH to "loop" making @len
 * bytes in all (at least 20); returns the payload length.
 */
static size_t subscribe_then_publish(uint8_t *buf, size_t len)
{
	static const uint8_t subscribe[] = {
		0x82, 0x09, 0x00, 0x01, 0x00, 0x04, 'l', 'o', 'o', 'p', 0x00,
	};
	size_t off = sizeof(subscribe), rem, payload, n = 0;

	memcpy(buf, subscribe, off);
	/* remaining length = 6 + payload; its encoding takes 1..3 bytes */
	do {
		n++;
		rem = len - off - 1 - n;
	} while (rem >= (1u << (7 * n)));
	payload = rem - 6;
	buf[off++] = 0x30;
	for (; n; n--, rem >>= 7)
		buf[off++] = (rem & 0x7f) | (n > 1 ? 0x80 : 0);
	memcpy(buf + off, "\x00\x04loop", 6);
	memset(buf + off + 6, 'p', payload);
	return payload;
}

static bool conn_listed(struct __test_metadata *_metadata,
			struct kmqtt_genl *g, uint64_t conn_id)
{
	static uint64_t ids[MAX_CONNS];
	size_t n, i;

	ASSERT_EQ(0, kmqtt_genl_dump_conns(g, ids, MAX_CONNS, &n));
	ASSERT_GE(MAX_CONNS, n);
	for (i = 0; i < n; i++)
		if (ids[i] == conn_id)
			return true;
	return false;
}

/* MQTT-3.2.0-1: the first packet from the server is CONNACK. */
TEST_F(attach, connack_then_served)
{
	uint64_t conn_id;

	ASSERT_EQ(0, attach_fd(&self->genl, self->server, &conn_id));
	ASSERT_NE(0, conn_id);
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_TRUE(conn_listed(_metadata, &self->genl, conn_id));
	ASSERT_EQ(0, mqtt_send_pingreq(self->client));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->client));
}

/*
 * Bytes the agent read past CONNECT (a TLS record can carry the next
 * packets) are handled at once, before anything from the socket.
 */
TEST_F(attach, pending_packets_handled_without_more_input)
{
	static const uint8_t pending[] = {
		0xc0, 0x00,					/* PINGREQ */
		0x82, 0x09, 0x00, 0x07, 0x00, 0x04, 'l', 'o', 'o', 'p', 0x00,
	};
	uint64_t conn_id;

	ASSERT_EQ(0, attach_pending(&self->genl, self->server, pending,
				    sizeof(pending), &conn_id));
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->client));
	ASSERT_EQ(0, mqtt_expect_suback(self->client, 7, (uint8_t[]){ 0 }, 1));
}

/*
 * ATTACH with the first @pending of @total bytes (SUBSCRIBE, then a PUBLISH
 * that loops back) as PENDING, the rest from the socket.
 */
static void pending_roundtrip(struct __test_metadata *_metadata,
			      FIXTURE_DATA(attach) *self, size_t total,
			      size_t pending)
{
	static uint8_t bytes[8192];
	static char payload[8192];
	uint64_t conn_id;
	size_t n;

	ASSERT_GE(sizeof(bytes), total);
	n = subscribe_then_publish(bytes, total);
	memset(payload, 'p', n);
	ASSERT_EQ(0, attach_pending(&self->genl, self->server, bytes, pending,
				    &conn_id));
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_expect_suback(self->client, 1, (uint8_t[]){ 0 }, 1));
	if (total > pending)
		ASSERT_EQ(0, mqtt_send_raw(self->client, bytes + pending,
					   total - pending));
	ASSERT_EQ(0, mqtt_expect_publish(self->client, "loop", payload, n));
}

/* PENDING that exactly fills the module's first receive buffer (4 KiB). */
TEST_F(attach, pending_filling_the_receive_buffer)
{
	pending_roundtrip(_metadata, self, 4096, 4096);
}

/* PENDING that ends inside a packet whose rest comes from the socket. */
TEST_F(attach, pending_ending_inside_a_packet)
{
	pending_roundtrip(_metadata, self, 7000, 4096);
}

/* The module keeps its own reference: the agent's fd is only its own. */
TEST_F(attach, agent_close_keeps_connection)
{
	uint64_t conn_id;

	ASSERT_EQ(0, attach_fd(&self->genl, self->server, &conn_id));
	ASSERT_EQ(0, close(self->server));
	self->server = -1;
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_send_pingreq(self->client));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->client));
	ASSERT_EQ(0, mqtt_subscribe(self->client, 1, "loop"));
	ASSERT_EQ(0, mqtt_send_publish(self->client, "loop", "back", 4));
	ASSERT_EQ(0, mqtt_expect_publish(self->client, "loop", "back", 4));
	ASSERT_TRUE(conn_listed(_metadata, &self->genl, conn_id));
}

TEST_F(attach, already_attached_socket_refused)
{
	uint64_t conn_id, second;
	int err;

	ASSERT_EQ(0, attach_fd(&self->genl, self->server, &conn_id));
	err = attach_fd(&self->genl, self->server, &second);
	TH_LOG("second ATTACH: %s", strerror(-err));
	ASSERT_GT(0, err);
	/* The first attachment is untouched. */
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_send_pingreq(self->client));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->client));
}

static void assert_attach_refused(struct __test_metadata *_metadata,
				  struct kmqtt_genl *g, int fd,
				  const char *what)
{
	uint64_t conn_id;
	int err;

	err = attach_fd(g, fd, &conn_id);
	TH_LOG("ATTACH of %s: %s", what, err ? strerror(-err) : "accepted");
	ASSERT_GT(0, err);
}

TEST_F(attach, listening_socket_refused)
{
	assert_attach_refused(_metadata, &self->genl, self->listen_fd,
			      "a listening socket");
}

TEST_F(attach, unconnected_tcp_socket_refused)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ASSERT_LE(0, fd);
	assert_attach_refused(_metadata, &self->genl, fd, "an unconnected socket");
	close(fd);
}

TEST_F(attach, udp_socket_refused)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(self->port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	assert_attach_refused(_metadata, &self->genl, fd, "a UDP socket");
	close(fd);
}

TEST_F(attach, unix_socket_refused)
{
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	assert_attach_refused(_metadata, &self->genl, sv[0], "a unix socket");
	close(sv[0]);
	close(sv[1]);
}

TEST_F(attach, bad_fd_refused)
{
	int fd = open("/dev/null", O_RDONLY);
	uint64_t conn_id;

	ASSERT_LE(0, fd);
	assert_attach_refused(_metadata, &self->genl, fd, "/dev/null");
	ASSERT_EQ(0, close(fd));
	/* The number of a file just closed is no file at all. */
	ASSERT_EQ(-EBADF, attach_fd(&self->genl, fd, &conn_id));
}

TEST_F(attach, bad_attributes_refused)
{
	char long_id[KMQTT_CLIENT_ID_MAX + 2];
	struct kmqtt_attach_req req = {
		.fd = self->server,
		.client_id = "attach-test",
		.proto_level = MQTT_PROTO_V5 + 1,
	};
	uint64_t conn_id;

	/* A protocol level past 5.0 is not one this module speaks. */
	ASSERT_GT(0, kmqtt_genl_attach(&self->genl, &req, &conn_id));
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	req.client_id = long_id;
	req.proto_level = MQTT_PROTO_V311;
	ASSERT_GT(0, kmqtt_genl_attach(&self->genl, &req, &conn_id));
	/* Neither took the socket: a valid request still can. */
	ASSERT_EQ(0, attach_fd(&self->genl, self->server, &conn_id));
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
}

static void assert_closed_event(struct __test_metadata *_metadata,
				struct kmqtt_genl *events, uint64_t conn_id,
				uint32_t reason)
{
	struct kmqtt_nl_closed ev;

	ASSERT_EQ(0, kmqtt_genl_wait_closed(events, conn_id,
					    MQTT_TEST_TIMEOUT_MS, &ev));
	ASSERT_EQ(reason, ev.reason);
}

TEST_F(attach, peer_close_reported_and_connection_gone)
{
	struct kmqtt_genl events;
	uint64_t conn_id;

	ASSERT_EQ(0, kmqtt_genl_open(&events));
	ASSERT_EQ(0, kmqtt_genl_join_events(&events));
	ASSERT_EQ(0, attach_fd(&self->genl, self->server, &conn_id));
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_TRUE(conn_listed(_metadata, &self->genl, conn_id));
	close(self->client);
	self->client = -1;
	assert_closed_event(_metadata, &events, conn_id, KMQTT_CLOSE_PEER);
	ASSERT_FALSE(conn_listed(_metadata, &self->genl, conn_id));
	kmqtt_genl_close(&events);
}

TEST_F(attach, disconnect_reported)
{
	struct kmqtt_genl events;
	uint64_t conn_id;

	ASSERT_EQ(0, kmqtt_genl_open(&events));
	ASSERT_EQ(0, kmqtt_genl_join_events(&events));
	ASSERT_EQ(0, attach_fd(&self->genl, self->server, &conn_id));
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_send_disconnect(self->client));
	assert_closed_event(_metadata, &events, conn_id,
			    KMQTT_CLOSE_DISCONNECT);
	ASSERT_EQ(0, mqtt_wait_closed(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_FALSE(conn_listed(_metadata, &self->genl, conn_id));
	kmqtt_genl_close(&events);
}

TEST_F(attach, protocol_violation_reported)
{
	struct kmqtt_genl events;
	uint64_t conn_id;

	ASSERT_EQ(0, kmqtt_genl_open(&events));
	ASSERT_EQ(0, kmqtt_genl_join_events(&events));
	ASSERT_EQ(0, attach_fd(&self->genl, self->server, &conn_id));
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_send_raw(self->client, "\x00\x00", 2));
	assert_closed_event(_metadata, &events, conn_id, KMQTT_CLOSE_PROTOCOL);
	ASSERT_EQ(0, mqtt_wait_closed(self->client, MQTT_TEST_TIMEOUT_MS));
	kmqtt_genl_close(&events);
}

TEST_HARNESS_MAIN
