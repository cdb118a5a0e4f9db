// SPDX-License-Identifier: GPL-2.0
/*
 * Takeover (MQTT-3.1.4-2): a CONNECT with the client id of a connected
 * client closes the old connection (event reason TAKEOVER); two clients
 * with one id racing, many times, leave exactly one connected and nothing
 * leaked in the module.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

#define CLIENT_ID	"takeover"
#define ROUNDS		50
#define MAX_CONNS	64

FIXTURE(takeover)
{
	struct broker broker;
	struct kmqtt_genl genl;
	int kmsg;
};

FIXTURE_SETUP(takeover)
{
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, broker_start(&self->broker));
}

FIXTURE_TEARDOWN(takeover)
{
	EXPECT_EQ(0, mqtt_session_discard(self->broker.port, CLIENT_ID));
	broker_stop(&self->broker, !_metadata->passed);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

/* The id of the one connection in `after` that is not in `before`. */
static uint64_t new_conn_id(const uint64_t *before, size_t n_before,
			    const uint64_t *after, size_t n_after)
{
	size_t i, j;

	for (i = 0; i < n_after; i++) {
		for (j = 0; j < n_before && before[j] != after[i]; j++)
			;
		if (j == n_before)
			return after[i];
	}
	return 0;
}

/*
 * MQTT-3.1.4-2: the old connection is closed, with reason TAKEOVER; the
 * new one is served.
 */
TEST_F(takeover, old_connection_closed_with_reason_takeover)
{
	uint64_t before[MAX_CONNS], after[MAX_CONNS], old_id;
	struct kmqtt_nl_closed ev;
	size_t n_before, n_after;
	int old, new;

	ASSERT_EQ(0, kmqtt_genl_join_events(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_dump_conns(&self->genl, before, MAX_CONNS,
					   &n_before));
	old = mqtt_client_open(self->broker.port, CLIENT_ID, 0);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, kmqtt_genl_dump_conns(&self->genl, after, MAX_CONNS,
					   &n_after));
	old_id = new_conn_id(before, n_before, after, n_after);
	ASSERT_NE(0, old_id);

	new = mqtt_client_open(self->broker.port, CLIENT_ID, 0);
	ASSERT_LE(0, new);
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->genl, old_id,
					    MQTT_TEST_TIMEOUT_MS, &ev));
	ASSERT_EQ(KMQTT_CLOSE_TAKEOVER, ev.reason);
	ASSERT_EQ(0, mqtt_wait_closed(old, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_send_pingreq(new));
	ASSERT_EQ(0, mqtt_expect_pingresp(new));
	close(old);
	close(new);
}

/* Open a TCP connection and send CONNECT, without waiting for CONNACK. */
static int start_connect(uint16_t port, bool clean)
{
	struct mqtt_connect_opts opts = { .client_id = CLIENT_ID,
					  .clean_session = clean };
	int fd = loopback_connect(port, MQTT_TEST_TIMEOUT_MS);
	int err;

	if (fd < 0)
		return fd;
	err = mqtt_send_connect(fd, &opts);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Whether the peer has closed fd, without reading what it sent before. */
static bool closed_by_peer(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) > 0;
}

/* PINGREQ is answered, after a CONNACK 0 if that was not read yet. */
static int expect_served(int fd)
{
	struct mqtt_packet p = { 0 };
	int err;

	err = mqtt_send_pingreq(fd);
	if (!err)
		err = mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS);
	if (!err && p.type == MQTT_CONNACK) {
		if (p.len != 2 || p.body[1])
			err = -EPROTO;
		else
			err = mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS);
	}
	if (!err && p.type != MQTT_PINGRESP) {
		fprintf(stderr, "# packet type %u instead of PINGRESP\n",
			p.type);
		err = -EPROTO;
	}
	mqtt_packet_free(&p);
	return err;
}

/*
 * Two clients with one id connect at once, 50 times over, while the
 * previous round's survivor is still connected: each round ends with
 * exactly one of the three connected (the others closed, MQTT-3.1.4-2),
 * and afterwards the module's connection and session counts are back to
 * where they started, and the kernel log is clean.
 */
TEST_F(takeover, racing_connects_leave_one_survivor)
{
	uint64_t base[KMQTT_STAT_MAX + 1], now[KMQTT_STAT_MAX + 1];
	struct pollfd pfd[3];	/* two racing, the previous survivor */
	int round, i, alive, survivor = -1;
	int64_t waited;

	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, base));
	for (round = 0; round < ROUNDS; round++) {
		/* Alternate clean and persistent sessions. */
		pfd[0].fd = start_connect(self->broker.port, round % 2);
		pfd[1].fd = start_connect(self->broker.port, round % 2);
		pfd[2].fd = survivor;
		ASSERT_LE(0, pfd[0].fd);
		ASSERT_LE(0, pfd[1].fd);

		/*
		 * Until two of the three were closed (bounded): whichever
		 * connects last takes over from the others.
		 */
		for (waited = 0; waited < MQTT_TEST_TIMEOUT_MS; waited += 10) {
			alive = 0;
			for (i = 0; i < 3; i++)
				if (pfd[i].fd >= 0 && !closed_by_peer(pfd[i].fd))
					alive++;
			if (alive <= 1)
				break;
			usleep(10000);
		}
		survivor = -1;
		alive = 0;
		for (i = 0; i < 3; i++) {
			if (pfd[i].fd < 0)
				continue;
			if (closed_by_peer(pfd[i].fd)) {
				close(pfd[i].fd);
				continue;
			}
			alive++;
			survivor = pfd[i].fd;
		}
		ASSERT_EQ(1, alive) TH_LOG("round %d", round);
		ASSERT_EQ(0, expect_served(survivor)) TH_LOG("round %d", round);
	}
	ASSERT_EQ(0, mqtt_send_disconnect(survivor));
	ASSERT_EQ(0, mqtt_wait_closed(survivor, MQTT_TEST_TIMEOUT_MS));
	close(survivor);
	/* The last round was persistent: remove that session too. */
	ASSERT_EQ(0, mqtt_session_discard(self->broker.port, CLIENT_ID));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, CLIENT_ID,
					     KMQTT_SESSION_GONE,
					     MQTT_TEST_TIMEOUT_MS));
	for (waited = 0; waited < MQTT_TEST_TIMEOUT_MS; waited += 10) {
		ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, now));
		if (now[KMQTT_STAT_CONNECTIONS] == base[KMQTT_STAT_CONNECTIONS])
			break;
		usleep(10000);
	}
	EXPECT_EQ(base[KMQTT_STAT_CONNECTIONS], now[KMQTT_STAT_CONNECTIONS]);
	EXPECT_EQ(base[KMQTT_STAT_SESSIONS], now[KMQTT_STAT_SESSIONS]);
	EXPECT_EQ(base[KMQTT_STAT_SUBSCRIPTIONS],
		  now[KMQTT_STAT_SUBSCRIPTIONS]);
	EXPECT_EQ(base[KMQTT_STAT_CONNECTIONS_TOTAL] + 2 * ROUNDS + 1,
		  now[KMQTT_STAT_CONNECTIONS_TOTAL]);
}

/* MQTT-3.1.4-2 with clean session 0: the new connection resumes it. */
TEST_F(takeover, persistent_session_survives_takeover)
{
	struct mqtt_connect_opts opts = { .client_id = CLIENT_ID };
	static const struct mqtt_pub_opts q1 = { .qos = 1, .packet_id = 1 };
	bool present;
	int old, new, pub;

	old = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, mqtt_subscribe_qos(old, 1, "tk", 1));
	new = mqtt_client_connect(self->broker.port, &opts, &present);
	ASSERT_LE(0, new);
	ASSERT_TRUE(present);
	ASSERT_EQ(0, mqtt_wait_closed(old, MQTT_TEST_TIMEOUT_MS));
	pub = mqtt_client_open(self->broker.port, "tk-pub", 0);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_publish(pub, "tk", "moved", &q1));
	ASSERT_EQ(0, mqtt_expect_message(new, "tk", "moved", &q1));
	close(pub);
	close(old);
	close(new);
}

TEST_HARNESS_MAIN
