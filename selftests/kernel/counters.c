// SPDX-License-Identifier: GPL-2.0
/*
 * Counters say what happened (issue #10 item 6): each reason a message is
 * not delivered has its counter (KMQTT_STAT_DROPPED_*), they add up to
 * MSGS_DROPPED, and what is kept for later is not counted as dropped.
 * The memory and queue reasons are checked where those limits are tested
 * (faults.c, hostile.c); the closing and fan-out ones here, with the
 * traffic and byte counters, and kmqttctl's names for them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "direct.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "modparams.h"
#include "mqtt_client.h"

/* A close held open long enough to publish into it under emulation. */
#define CLOSE_WINDOW_US		1000000

/* Bytes of the packets below, as the test writes and expects them. */
#define CONNACK_LEN	4
#define PING_LEN	2
#define SUB_LEN		(2 + 2 + 2 + sizeof("count/t") - 1 + 1)
#define SUBACK_LEN	5
#define PUB_LEN		(2 + 2 + sizeof("count/t") - 1 + 3)

/* kmqtt.ko's zerocopy_min, and a payload above it. */
#define ZEROCOPY_MIN_DEFAULT	"16384"
#define LARGE_PAYLOAD		(64 * 1024)

FIXTURE(counters)
{
	struct kmqtt_genl genl;
	struct kmqtt_genl events;
	struct direct direct;
	int kmsg;
	uint64_t before[KMQTT_STAT_MAX + 1];
	uint64_t limits[KMQTT_LIMIT_MAX + 1];	/* put back at the end */
	int pub, subs[3];
};

/*
 * Until connection @id's BYTES_OUT reaches @want (0), or a second passed
 * (-1).  The module counts a write's bytes once its sendmsg returns, and
 * the client may read them before that: on the debug kernel count-pub's
 * CONNACK was once counted after the fixture's baseline.
 */
static int bytes_out_reach(struct kmqtt_genl *genl, uint64_t id,
			   uint64_t want)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];
	int i;

	for (i = 0; i < 1000; i++) {
		if (kmqtt_genl_get_conn_stats(genl, id, stats))
			return -1;
		if (stats[KMQTT_STAT_BYTES_OUT] >= want)
			return 0;
		usleep(1000);
	}
	return -1;
}

FIXTURE_SETUP(counters)
{
	uint64_t pub_id;
	int i;

	self->pub = -1;
	for (i = 0; i < 3; i++)
		self->subs[i] = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, race_reset());
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_open(&self->events));
	ASSERT_EQ(0, kmqtt_genl_join_events(&self->events));
	ASSERT_EQ(0, direct_open(&self->direct));
	self->pub = direct_client(&self->direct, &self->genl, "count-pub", true,
				  NULL, NULL);
	ASSERT_LE(0, self->pub);
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->genl, "count-pub", &pub_id));
	ASSERT_EQ(0, bytes_out_reach(&self->genl, pub_id, CONNACK_LEN));
	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, self->before));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->limits));
}

FIXTURE_TEARDOWN(counters)
{
	int i;

	EXPECT_EQ(0, race_reset());
	EXPECT_EQ(0, modparam_write("max_fanout", "1048576"));
	EXPECT_EQ(0, modparam_write("zerocopy_min", ZEROCOPY_MIN_DEFAULT));
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->limits,
					   KMQTT_GENL_ALL_LIMITS));
	close(self->pub);
	for (i = 0; i < 3; i++)
		if (self->subs[i] >= 0)
			close(self->subs[i]);
	direct_close(&self->direct);
	kmqtt_genl_close(&self->events);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

/*
 * How much each counter grew since the fixture began (into @grew, by
 * stat id); checks that the drop reasons add up to MSGS_DROPPED.
 */
static void stats_since(struct __test_metadata *_metadata,
			FIXTURE_DATA(counters) *self,
			uint64_t grew[KMQTT_STAT_MAX + 1])
{
	uint64_t now[KMQTT_STAT_MAX + 1], sum = 0;
	int id;

	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, now));
	for (id = 0; id <= KMQTT_STAT_MAX; id++)
		grew[id] = now[id] - self->before[id];
	for (id = KMQTT_STAT_DROPPED_QUEUE_FULL;
	     id <= KMQTT_STAT_DROPPED_FANOUT; id++)
		sum += grew[id];
	EXPECT_EQ(grew[KMQTT_STAT_MSGS_DROPPED], sum);
}

/*
 * Reset @fd's connection and wait for its CONN_CLOSED: its close work
 * then sleeps in the close window, the session still bound to it.
 */
static void close_into_window(struct __test_metadata *_metadata,
			      FIXTURE_DATA(counters) *self, int *fd,
			      uint64_t conn_id)
{
	struct kmqtt_nl_closed ev;

	ASSERT_EQ(0, race_set_delay(RACE_CLOSE, CLOSE_WINDOW_US));
	loopback_reset(*fd);
	*fd = -1;
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->events, conn_id,
					    MQTT_TEST_TIMEOUT_MS, &ev));
}

/*
 * QoS 0 to a connection being closed goes nowhere: counted as
 * DROPPED_CLOSING (it used to be dropped without a count).
 */
TEST_F(counters, qos0_to_a_closing_connection)
{
	uint64_t grew[KMQTT_STAT_MAX + 1], conn_id;

	self->subs[0] = direct_client(&self->direct, &self->genl, "count-sub",
				      true, &conn_id, NULL);
	ASSERT_LE(0, self->subs[0]);
	ASSERT_EQ(0, mqtt_subscribe(self->subs[0], 1, "count/closing"));
	close_into_window(_metadata, self, &self->subs[0], conn_id);
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "count/closing", "x", 1));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	stats_since(_metadata, self, grew);
	EXPECT_EQ(1, grew[KMQTT_STAT_DROPPED_CLOSING]);
	EXPECT_EQ(1, grew[KMQTT_STAT_MSGS_DROPPED]);
}

/*
 * QoS 1 to a persistent session whose connection is being closed stays
 * with the session, is delivered when the client is back, and is not
 * counted as dropped.
 */
TEST_F(counters, qos1_to_a_closing_persistent_session_is_kept)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
	uint64_t grew[KMQTT_STAT_MAX + 1], conn_id;
	bool present;

	self->subs[0] = direct_client(&self->direct, &self->genl,
				      "count-keep", false, &conn_id, NULL);
	ASSERT_LE(0, self->subs[0]);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->subs[0], 1, "count/keep", 1));
	close_into_window(_metadata, self, &self->subs[0], conn_id);
	ASSERT_EQ(0, mqtt_publish(self->pub, "count/keep", "kept", &qos1));
	ASSERT_EQ(0, race_set_delay(RACE_CLOSE, 0));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "count-keep",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));

	self->subs[0] = direct_client(&self->direct, &self->genl,
				      "count-keep", false, NULL, &present);
	ASSERT_LE(0, self->subs[0]);
	EXPECT_TRUE(present);
	/* In flight when the connection went: sent again with DUP. */
	EXPECT_EQ(0, mqtt_expect_message(self->subs[0], "count/keep", "kept",
					 &(struct mqtt_pub_opts){ .qos = 1,
								  .dup = true }));
	stats_since(_metadata, self, grew);
	EXPECT_EQ(0, grew[KMQTT_STAT_MSGS_DROPPED]);
	/* A clean session of the id discards the stored one. */
	close(self->subs[0]);
	self->subs[0] = direct_client(&self->direct, &self->genl, "count-keep",
				      true, NULL, NULL);
	EXPECT_LE(0, self->subs[0]);
}

/*
 * Sessions past max_fanout miss the message: one drop each, counted as
 * DROPPED_FANOUT.
 */
TEST_F(counters, sessions_past_max_fanout)
{
	uint64_t grew[KMQTT_STAT_MAX + 1];
	char id[32];
	int i, got = 0;

	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "count-fan-%d", i);
		self->subs[i] = direct_client(&self->direct, &self->genl, id,
					      true, NULL, NULL);
		ASSERT_LE(0, self->subs[i]);
		ASSERT_EQ(0, mqtt_subscribe(self->subs[i], 1, "count/fan"));
	}
	ASSERT_EQ(0, modparam_write("max_fanout", "2"));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "count/fan", "f", 1));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	for (i = 0; i < 3; i++)
		got += !mqtt_expect_publish(self->subs[i], "count/fan", "f", 1);
	EXPECT_EQ(2, got);
	stats_since(_metadata, self, grew);
	EXPECT_EQ(1, grew[KMQTT_STAT_DROPPED_FANOUT]);
	EXPECT_EQ(1, grew[KMQTT_STAT_MSGS_DROPPED]);
}

/*
 * A subscriber to count/t beside the fixture's publisher, and both
 * connections' ids.
 */
static void subscribe_count_t(struct __test_metadata *_metadata,
			      FIXTURE_DATA(counters) *self, uint64_t *pub_id,
			      uint64_t *sub_id)
{
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->genl, "count-pub", pub_id));
	self->subs[0] = direct_client(&self->direct, &self->genl, "count-sub",
				      true, sub_id, NULL);
	ASSERT_LE(0, self->subs[0]);
	ASSERT_EQ(0, mqtt_subscribe(self->subs[0], 1, "count/t"));
}

/*
 * Each connection's counters, exactly: messages and bytes in and out of a
 * publisher and a subscriber (GET_CONN), and the totals grow by as much.
 */
TEST_F(counters, traffic_counted_exactly)
{
	uint64_t pub_stats[KMQTT_STAT_MAX + 1], sub_stats[KMQTT_STAT_MAX + 1];
	uint64_t grew[KMQTT_STAT_MAX + 1], pub_id, sub_id;
	int i;

	subscribe_count_t(_metadata, self, &pub_id, &sub_id);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mqtt_send_publish(self->pub, "count/t", "abc", 3));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/t",
						 "abc", 3));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));
	/* Then their last PINGRESPs are counted too. */
	ASSERT_EQ(0, bytes_out_reach(&self->genl, pub_id,
				     CONNACK_LEN + PING_LEN));
	ASSERT_EQ(0, bytes_out_reach(&self->genl, sub_id,
				     CONNACK_LEN + SUBACK_LEN + 3 * PUB_LEN +
				     PING_LEN));

	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id, pub_stats));
	EXPECT_EQ(3, pub_stats[KMQTT_STAT_MSGS_IN]);
	EXPECT_EQ(0, pub_stats[KMQTT_STAT_MSGS_OUT]);
	EXPECT_EQ(3 * PUB_LEN + PING_LEN, pub_stats[KMQTT_STAT_BYTES_IN]);
	EXPECT_EQ(CONNACK_LEN + PING_LEN, pub_stats[KMQTT_STAT_BYTES_OUT]);
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, sub_id, sub_stats));
	EXPECT_EQ(0, sub_stats[KMQTT_STAT_MSGS_IN]);
	EXPECT_EQ(3, sub_stats[KMQTT_STAT_MSGS_OUT]);
	EXPECT_EQ(SUB_LEN + PING_LEN, sub_stats[KMQTT_STAT_BYTES_IN]);
	EXPECT_EQ(CONNACK_LEN + SUBACK_LEN + 3 * PUB_LEN + PING_LEN,
		  sub_stats[KMQTT_STAT_BYTES_OUT]);
	EXPECT_EQ(1, sub_stats[KMQTT_STAT_SUBSCRIPTIONS]);
	EXPECT_EQ(0, sub_stats[KMQTT_STAT_MSGS_DROPPED]);

	stats_since(_metadata, self, grew);
	EXPECT_EQ(3, grew[KMQTT_STAT_MSGS_IN]);
	EXPECT_EQ(3, grew[KMQTT_STAT_MSGS_OUT]);
	EXPECT_EQ(3 * PUB_LEN + 2 * PING_LEN + SUB_LEN,
		  grew[KMQTT_STAT_BYTES_IN]);
	EXPECT_EQ(CONNACK_LEN + SUBACK_LEN + 3 * PUB_LEN + 2 * PING_LEN,
		  grew[KMQTT_STAT_BYTES_OUT]);
}

/* @n PUBLISHes of "abc" to count/t, PUB_LEN bytes each, into @burst. */
static void fill_burst(uint8_t *burst, int n)
{
	static const uint8_t one[PUB_LEN] = {
		0x30, PUB_LEN - 2, 0, 7, 'c', 'o', 'u', 'n', 't', '/', 't',
		'a', 'b', 'c',
	};
	int i;

	for (i = 0; i < n; i++)
		memcpy(burst + i * PUB_LEN, one, PUB_LEN);
}

/*
 * A run that read a full small buffer tells the next to start with a
 * grown one: a publisher's second burst of 1400 bytes, after a first
 * that filled 512, is read in one read, and a read that brought less
 * than there was room for is the run's last (plain TCP).
 */
TEST_F(counters, busy_publisher_reads_next_burst_at_once)
{
	uint64_t before[KMQTT_STAT_MAX + 1], after[KMQTT_STAT_MAX + 1];
	uint64_t pub_id, sub_id;
	uint8_t burst[100 * PUB_LEN];
	int i, n;

	subscribe_count_t(_metadata, self, &pub_id, &sub_id);
	fill_burst(burst, 100);
	for (n = 0; n < 2; n++) {
		ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id,
						       before));
		ASSERT_EQ(0, mqtt_send_raw(self->pub, burst, sizeof(burst)));
		for (i = 0; i < 100; i++)
			ASSERT_EQ(0, mqtt_expect_publish(self->subs[0],
							 "count/t", "abc", 3));
		ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id,
						       after));
	}
	EXPECT_EQ(1, after[KMQTT_STAT_RX_READS] - before[KMQTT_STAT_RX_READS]);
	EXPECT_EQ(1, after[KMQTT_STAT_RX_RUNS] - before[KMQTT_STAT_RX_RUNS]);
	EXPECT_EQ(100, after[KMQTT_STAT_MSGS_IN] - before[KMQTT_STAT_MSGS_IN]);
}

/*
 * The data path's work is counted per connection and in the totals, and
 * the counts say what batching does: a hundred PUBLISHes written at once
 * are read in one go and reach their subscriber in a few sendmsg calls,
 * not a hundred.
 */
TEST_F(counters, work_counted_and_batched)
{
	uint64_t pub_stats[KMQTT_STAT_MAX + 1], sub_stats[KMQTT_STAT_MAX + 1];
	uint64_t grew[KMQTT_STAT_MAX + 1], pub_id, sub_id;
	uint8_t burst[100 * PUB_LEN];
	int i;

	subscribe_count_t(_metadata, self, &pub_id, &sub_id);
	fill_burst(burst, 100);
	ASSERT_EQ(0, mqtt_send_raw(self->pub, burst, sizeof(burst)));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/t",
						 "abc", 3));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));

	/* Two writes (the burst, a PINGREQ): a read or two each at most. */
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id, pub_stats));
	EXPECT_LE(1, pub_stats[KMQTT_STAT_RX_READS]);
	EXPECT_GE(4, pub_stats[KMQTT_STAT_RX_READS]);
	EXPECT_LE(1, pub_stats[KMQTT_STAT_RX_RUNS]);
	/* CONNACK and PINGRESP: sent apart, one write each. */
	EXPECT_EQ(2, pub_stats[KMQTT_STAT_TX_WRITES]);
	EXPECT_EQ(2, pub_stats[KMQTT_STAT_TX_RUNS]);
	/* CONNACK, SUBACK, the hundred, PINGRESP: each a run at least. */
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, sub_id, sub_stats));
	EXPECT_EQ(100, sub_stats[KMQTT_STAT_MSGS_OUT]);
	EXPECT_LE(3, sub_stats[KMQTT_STAT_TX_RUNS]);
	EXPECT_LE(sub_stats[KMQTT_STAT_TX_RUNS],
		  sub_stats[KMQTT_STAT_TX_WRITES]);
	/*
	 * Batched: on 6.1 one sendmsg for the hundred, as publishing runs
	 * before the subscriber's transmit work; later kernels may run that
	 * beside a receive run they deem CPU-intensive, so the bound leaves
	 * room for that.
	 */
	EXPECT_GT(50, sub_stats[KMQTT_STAT_TX_WRITES])
		TH_LOG("%llu sendmsg calls for 103 packets",
		       (unsigned long long)sub_stats[KMQTT_STAT_TX_WRITES]);
	/* SUBSCRIBE and PINGREQ, each written after an answer. */
	EXPECT_EQ(2, sub_stats[KMQTT_STAT_RX_READS]);
	/*
	 * Nothing keeps a message copied for the subscriber, so the next is
	 * made in its memory, unless a receive run ended in between.
	 */
	EXPECT_GT(100, pub_stats[KMQTT_STAT_RX_REUSED]);
	EXPECT_LE(sub_stats[KMQTT_STAT_TX_COPIED],
		  pub_stats[KMQTT_STAT_RX_REUSED] +
		  pub_stats[KMQTT_STAT_RX_RUNS])
		TH_LOG("%llu of 100 messages reused, %llu copied",
		       (unsigned long long)pub_stats[KMQTT_STAT_RX_REUSED],
		       (unsigned long long)sub_stats[KMQTT_STAT_TX_COPIED]);
	/*
	 * One topic, no subscription changed: each message is fanned out
	 * with the match of the one before, unless a receive run began
	 * in between.
	 */
	EXPECT_GT(100, pub_stats[KMQTT_STAT_RX_MATCH_KEPT]);
	EXPECT_LE(100, pub_stats[KMQTT_STAT_RX_MATCH_KEPT] +
		  pub_stats[KMQTT_STAT_RX_RUNS])
		TH_LOG("%llu of 100 matches kept in %llu receive runs",
		       (unsigned long long)pub_stats[KMQTT_STAT_RX_MATCH_KEPT],
		       (unsigned long long)pub_stats[KMQTT_STAT_RX_RUNS]);

	stats_since(_metadata, self, grew);
	EXPECT_LE(pub_stats[KMQTT_STAT_RX_READS] +
		  sub_stats[KMQTT_STAT_RX_READS], grew[KMQTT_STAT_RX_READS]);
	EXPECT_LE(sub_stats[KMQTT_STAT_TX_WRITES], grew[KMQTT_STAT_TX_WRITES]);
	EXPECT_LE(sub_stats[KMQTT_STAT_TX_RUNS], grew[KMQTT_STAT_TX_RUNS]);
	EXPECT_LE(pub_stats[KMQTT_STAT_RX_RUNS], grew[KMQTT_STAT_RX_RUNS]);
	EXPECT_LE(pub_stats[KMQTT_STAT_RX_REUSED],
		  grew[KMQTT_STAT_RX_REUSED]);
	EXPECT_LE(pub_stats[KMQTT_STAT_RX_MATCH_KEPT],
		  grew[KMQTT_STAT_RX_MATCH_KEPT]);
}

/*
 * A payload of zerocopy_min bytes or more goes out from the message's own
 * pages (TX_ZEROCOPY), a smaller one does not; zerocopy_min 0 turns it
 * off.  The subscriber's PINGRESP comes after what went before it was
 * counted.
 */
TEST_F(counters, large_payloads_sent_from_their_pages)
{
	static char large[LARGE_PAYLOAD];
	uint64_t stats[KMQTT_STAT_MAX + 1], grew[KMQTT_STAT_MAX + 1], sub_id;
	int i;

	memset(large, 'z', sizeof(large));
	self->subs[0] = direct_client(&self->direct, &self->genl, "count-zc",
				      true, &sub_id, NULL);
	ASSERT_LE(0, self->subs[0]);
	ASSERT_EQ(0, mqtt_subscribe(self->subs[0], 1, "count/zc"));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mqtt_send_publish(self->pub, "count/zc", large,
					       sizeof(large)));
		ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/zc",
						 large, sizeof(large)));
	}
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "count/zc", "small", 5));
	ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/zc", "small",
					 5));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, sub_id, stats));
	EXPECT_EQ(4, stats[KMQTT_STAT_MSGS_OUT]);
	/* Fewer: a compound page could not be had, and it was copied. */
	EXPECT_EQ(3, stats[KMQTT_STAT_TX_ZEROCOPY])
		TH_LOG("%llu of 4 messages out from their pages",
		       (unsigned long long)stats[KMQTT_STAT_TX_ZEROCOPY]);
	stats_since(_metadata, self, grew);
	EXPECT_LE(3, grew[KMQTT_STAT_TX_ZEROCOPY]);

	ASSERT_EQ(0, modparam_write("zerocopy_min", "0"));
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "count/zc", large,
				       sizeof(large)));
	ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/zc", large,
					 sizeof(large)));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, sub_id, stats));
	EXPECT_EQ(5, stats[KMQTT_STAT_MSGS_OUT]);
	EXPECT_EQ(3, stats[KMQTT_STAT_TX_ZEROCOPY]);
}

#define BACKLOG		100

/*
 * What a session kept offline goes out at the reconnect in one transmit
 * run, gathered into a few sendmsg calls: BACKLOG QoS 1 PUBLISHes take
 * about 4 iovecs each, and a run gathers up to 256 once more than its
 * first 32 are queued (at 32, the backlog would take 15 calls).
 */
TEST_F(counters, backlog_sent_in_few_writes)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1 };
	uint64_t stats[KMQTT_STAT_MAX + 1];
	struct kmqtt_session_info info;
	uint64_t conn_id;
	int i;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_INFLIGHT, BACKLOG));
	self->subs[0] = direct_client(&self->direct, &self->genl,
				      "count-backlog", false, NULL, NULL);
	ASSERT_LE(0, self->subs[0]);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->subs[0], 1, "count/backlog", 1));
	close(self->subs[0]);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "count-backlog",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	for (i = 0; i < BACKLOG; i++)
		ASSERT_EQ(0, mqtt_publish_nth(self->pub, "count/backlog", i,
					      &qos1));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, "count-backlog",
					    &info));
	ASSERT_EQ(BACKLOG, info.stats[KMQTT_STAT_QUEUED]);

	self->subs[0] = direct_client(&self->direct, &self->genl,
				      "count-backlog", false, &conn_id, NULL);
	ASSERT_LE(0, self->subs[0]);
	for (i = 0; i < BACKLOG; i++)
		ASSERT_EQ(0, mqtt_expect_nth(self->subs[0], "count/backlog", i,
					     &qos1));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, conn_id, stats));
	EXPECT_EQ(BACKLOG, stats[KMQTT_STAT_MSGS_OUT]);
	/* CONNACK, the backlog in two, PINGRESP; room for a split run. */
	EXPECT_GT(8, stats[KMQTT_STAT_TX_WRITES])
		TH_LOG("%llu sendmsg calls for %d queued messages",
		       (unsigned long long)stats[KMQTT_STAT_TX_WRITES],
		       BACKLOG);

	/* A clean session of the id discards the stored one. */
	close(self->subs[0]);
	self->subs[0] = direct_client(&self->direct, &self->genl,
				      "count-backlog", true, NULL, NULL);
	EXPECT_LE(0, self->subs[0]);
}

/* MEMORY, once it is back at @want or after 2 s. */
static uint64_t memory_settled(struct __test_metadata *_metadata,
			       FIXTURE_DATA(counters) *self, uint64_t want)
{
	uint64_t now = 0;
	int i;

	for (i = 0; i < 200; i++) {
		EXPECT_EQ(0, kmqtt_genl_get_stat(&self->genl,
						 KMQTT_STAT_MEMORY, &now));
		if (now == want)
			break;
		usleep(10000);
	}
	return now;
}

/*
 * A publisher takes spare deliveries in batches while it publishes, and
 * gives them back once it has nothing left to read: the memory held is
 * what it was before its messages.
 */
TEST_F(counters, idle_publisher_holds_no_spares)
{
	uint64_t pub_id, sub_id, before;
	int i;

	subscribe_count_t(_metadata, self, &pub_id, &sub_id);
	ASSERT_EQ(0, mqtt_sync(self->pub));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MEMORY,
					 &before));
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, mqtt_send_publish(self->pub, "count/t", "abc", 3));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/t",
						 "abc", 3));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));
	EXPECT_EQ(before, memory_settled(_metadata, self, before));
}

#define REUSE_PAIRS	20
#define SMALL_PAYLOAD	100

/* A QoS 0 PUBLISH to count/none with @len bytes of payload, into @p. */
static size_t put_unheard(uint8_t *p, size_t len)
{
	static const char topic[] = "count/none";

	p[0] = MQTT_PUBLISH << 4;
	p[1] = 2 + strlen(topic) + len;
	p[2] = 0;
	p[3] = strlen(topic);
	memcpy(p + 4, topic, strlen(topic));
	memset(p + 4 + strlen(topic), 'u', len);
	return 4 + strlen(topic) + len;
}

/*
 * A message nobody gets is made in the memory of the one before when
 * both are of one size class, and not when they are not: messages to a
 * topic without subscribers, two of 128 bytes, two of 256, and so on,
 * are reused once a pair (less one for each receive run that began in
 * between); the last spare goes back when the publisher is idle.
 */
TEST_F(counters, message_reused_within_its_size_class)
{
	/* Each two pairs: four PUBLISH headers, topics, payloads. */
	uint8_t burst[REUSE_PAIRS * (2 * (4 + 10) + 3 + SMALL_PAYLOAD)];
	uint8_t *p = burst;
	uint64_t before[KMQTT_STAT_MAX + 1], after[KMQTT_STAT_MAX + 1];
	uint64_t pub_id, memory, reused, runs;
	int i;

	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->genl, "count-pub", &pub_id));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MEMORY,
					 &memory));
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id, before));
	for (i = 0; i < REUSE_PAIRS; i++) {
		size_t len = i % 2 ? SMALL_PAYLOAD : 3;

		p += put_unheard(p, len);
		p += put_unheard(p, len);
	}
	ASSERT_EQ(sizeof(burst), p - burst);
	ASSERT_EQ(0, mqtt_send_raw(self->pub, burst, sizeof(burst)));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id, after));
	EXPECT_EQ(2 * REUSE_PAIRS, after[KMQTT_STAT_MSGS_IN] -
		  before[KMQTT_STAT_MSGS_IN]);
	reused = after[KMQTT_STAT_RX_REUSED] - before[KMQTT_STAT_RX_REUSED];
	runs = after[KMQTT_STAT_RX_RUNS] - before[KMQTT_STAT_RX_RUNS];
	EXPECT_GE(REUSE_PAIRS, reused);
	EXPECT_LE(REUSE_PAIRS, reused + runs)
		TH_LOG("%llu reused in %llu receive runs",
		       (unsigned long long)reused, (unsigned long long)runs);
	EXPECT_EQ(memory, memory_settled(_metadata, self, memory));
}

/*
 * A PUBLISH (@payload), SUBSCRIBE (at @qos) or UNSUBSCRIBE of count/t
 * into @p, with @flags and, but for a QoS 0 PUBLISH, @packet_id: returns
 * its length.
 */
static size_t put_count_t(uint8_t *p, uint8_t type, uint8_t flags,
			  uint16_t packet_id, const char *payload, uint8_t qos)
{
	static const char topic[] = "count/t";
	bool publish = type == MQTT_PUBLISH;
	uint8_t *q = p + 2;

	if (!publish) {
		*q++ = packet_id >> 8;
		*q++ = packet_id;
	}
	*q++ = 0;
	*q++ = strlen(topic);
	memcpy(q, topic, strlen(topic));
	q += strlen(topic);
	if (publish && flags) {
		*q++ = packet_id >> 8;
		*q++ = packet_id;
	}
	if (publish) {
		memcpy(q, payload, strlen(payload));
		q += strlen(payload);
	} else if (type == MQTT_SUBSCRIBE) {
		*q++ = qos;
	}
	p[0] = type << 4 | flags;
	p[1] = q - p - 2;
	return q - p;
}

/*
 * A publisher's next message is fanned out with the match of its last
 * only while no subscription changed: written at once, and so read in
 * one receive run, a PUBLISH to count/t, the publisher's own SUBSCRIBE
 * to it, a PUBLISH, the SUBSCRIBE again at QoS 1, a QoS 1 PUBLISH, an
 * UNSUBSCRIBE and a PUBLISH.  The publisher gets exactly the second
 * and, at QoS 1, the third; the other subscriber all four.
 */
TEST_F(counters, match_kept_until_a_subscription_changes)
{
	uint8_t burst[256], *p = burst, code;
	uint64_t before[KMQTT_STAT_MAX + 1], after[KMQTT_STAT_MAX + 1];
	uint64_t pub_id, sub_id;
	struct mqtt_packet pkt = {};
	struct mqtt_publish pub;
	bool got_puback = false, got_m3 = false;
	int i;

	subscribe_count_t(_metadata, self, &pub_id, &sub_id);
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id, before));
	p += put_count_t(p, MQTT_PUBLISH, 0, 0, "m1", 0);
	p += put_count_t(p, MQTT_SUBSCRIBE, 2, 1, NULL, 0);
	p += put_count_t(p, MQTT_PUBLISH, 0, 0, "m2", 0);
	p += put_count_t(p, MQTT_SUBSCRIBE, 2, 2, NULL, 1);
	p += put_count_t(p, MQTT_PUBLISH, 2, 10, "m3", 0);
	p += put_count_t(p, MQTT_UNSUBSCRIBE, 2, 3, NULL, 0);
	p += put_count_t(p, MQTT_PUBLISH, 0, 0, "m4", 0);
	*p++ = MQTT_PINGREQ << 4;
	*p++ = 0;
	ASSERT_EQ(0, mqtt_send_raw(self->pub, burst, p - burst));

	code = 0;
	ASSERT_EQ(0, mqtt_expect_suback(self->pub, 1, &code, 1));
	EXPECT_EQ(0, code);
	ASSERT_EQ(0, mqtt_expect_publish(self->pub, "count/t", "m2", 2));
	ASSERT_EQ(0, mqtt_expect_suback(self->pub, 2, &code, 1));
	EXPECT_EQ(1, code);
	/* Its own QoS 1 message, and the PUBACK for it, in either order. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, mqtt_read_packet(self->pub, &pkt,
					      MQTT_TEST_TIMEOUT_MS));
		if (pkt.type == MQTT_PUBACK) {
			EXPECT_FALSE(got_puback);
			EXPECT_EQ(2, pkt.len);
			EXPECT_EQ(10, pkt.body[0] << 8 | pkt.body[1]);
			got_puback = true;
			continue;
		}
		ASSERT_EQ(MQTT_PUBLISH, pkt.type);
		ASSERT_EQ(0, mqtt_parse_publish(&pkt, &pub));
		EXPECT_FALSE(got_m3);
		EXPECT_EQ(1, pub.opts.qos);
		ASSERT_EQ(2, pub.payload_len);
		EXPECT_EQ(0, memcmp(pub.payload, "m3", 2));
		ASSERT_EQ(0, mqtt_send_pub_ack(self->pub, MQTT_PUBACK,
					       pub.opts.packet_id));
		got_m3 = true;
	}
	mqtt_packet_free(&pkt);
	ASSERT_EQ(0, mqtt_expect_unsuback(self->pub, 3));
	/* Not m4: the PINGRESP is next. */
	ASSERT_EQ(0, mqtt_expect_pingresp(self->pub));

	ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/t", "m1", 2));
	ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/t", "m2", 2));
	ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/t", "m3", 2));
	ASSERT_EQ(0, mqtt_expect_publish(self->subs[0], "count/t", "m4", 2));
	ASSERT_EQ(0, mqtt_sync(self->subs[0]));

	/* Each message after a change is matched afresh. */
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, pub_id, after));
	EXPECT_EQ(4, after[KMQTT_STAT_MSGS_IN] - before[KMQTT_STAT_MSGS_IN]);
	EXPECT_EQ(0, after[KMQTT_STAT_RX_MATCH_KEPT] -
		  before[KMQTT_STAT_RX_MATCH_KEPT]);
}

/*
 * Bytes held, counted as a message's topic length, topic, property block
 * (one byte of length for a 3.1.1 publisher's) and payload: what an
 * offline session queues (GET_SESSION) and the retained store.
 */
TEST_F(counters, queued_and_retained_bytes)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
	static const struct mqtt_pub_opts retain = { .retain = true };
	uint64_t grew[KMQTT_STAT_MAX + 1];
	struct kmqtt_session_info info;

	self->subs[0] = direct_client(&self->direct, &self->genl, "count-q",
				      false, NULL, NULL);
	ASSERT_LE(0, self->subs[0]);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->subs[0], 1, "count/q", 1));
	ASSERT_EQ(0, mqtt_send_disconnect(self->subs[0]));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "count-q",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_publish(self->pub, "count/q", "12345", &qos1));
	ASSERT_EQ(0, mqtt_publish(self->pub, "count/q", "1234567890", &qos1));
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, "count-q", &info));
	EXPECT_EQ(2, info.stats[KMQTT_STAT_QUEUED]);
	EXPECT_EQ((2 + 7 + 1 + 5) + (2 + 7 + 1 + 10),
		  info.stats[KMQTT_STAT_QUEUED_BYTES]);
	stats_since(_metadata, self, grew);
	EXPECT_EQ(2, grew[KMQTT_STAT_QUEUED]);
	EXPECT_EQ((2 + 7 + 1 + 5) + (2 + 7 + 1 + 10),
		  grew[KMQTT_STAT_QUEUED_BYTES]);

	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "count/r", "xyz", 3,
					    &retain));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	stats_since(_metadata, self, grew);
	EXPECT_EQ(1, grew[KMQTT_STAT_RETAINED]);
	EXPECT_EQ(2 + 7 + 1 + 3, grew[KMQTT_STAT_RETAINED_BYTES]);
	ASSERT_EQ(0, mqtt_send_publish_opts(self->pub, "count/r", "", 0,
					    &retain));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	stats_since(_metadata, self, grew);
	EXPECT_EQ(0, grew[KMQTT_STAT_RETAINED]);
	EXPECT_EQ(0, grew[KMQTT_STAT_RETAINED_BYTES]);

	close(self->subs[0]);
	self->subs[0] = direct_client(&self->direct, &self->genl, "count-q",
				      true, NULL, NULL);
	EXPECT_LE(0, self->subs[0]);
}

/* kmqttctl show --json names every total, with GET_INFO's value. */
TEST_F(counters, kmqttctl_shows_every_total)
{
	static const struct { const char *name; int id; } totals[] = {
		{ "msgs_dropped", KMQTT_STAT_MSGS_DROPPED },
		{ "dropped_queue_full", KMQTT_STAT_DROPPED_QUEUE_FULL },
		{ "dropped_no_memory", KMQTT_STAT_DROPPED_NO_MEMORY },
		{ "dropped_closing", KMQTT_STAT_DROPPED_CLOSING },
		{ "dropped_fanout", KMQTT_STAT_DROPPED_FANOUT },
		{ "publishers_paused", KMQTT_STAT_PUBLISHERS_PAUSED },
		{ "acl_denied", KMQTT_STAT_ACL_DENIED },
		{ "retained_bytes", KMQTT_STAT_RETAINED_BYTES },
		{ "acks_held", KMQTT_STAT_ACKS_HELD },
		{ "rx_runs", KMQTT_STAT_RX_RUNS },
		{ "rx_reads", KMQTT_STAT_RX_READS },
		{ "tx_runs", KMQTT_STAT_TX_RUNS },
		{ "tx_writes", KMQTT_STAT_TX_WRITES },
		{ "tx_copied", KMQTT_STAT_TX_COPIED },
		{ "rx_reused", KMQTT_STAT_RX_REUSED },
		{ "rx_match_kept", KMQTT_STAT_RX_MATCH_KEPT },
		{ "tx_zerocopy", KMQTT_STAT_TX_ZEROCOPY },
	};
	uint64_t stats[KMQTT_STAT_MAX + 1], after[KMQTT_STAT_MAX + 1];
	char json[16384];
	const char *at;
	size_t i;

	/*
	 * The work counters move with any connection's traffic (other
	 * suites' leftovers closing): kmqttctl's lie between two reads.
	 */
	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, stats));
	ASSERT_EQ(0, kmqttctl_run("show --json", json, sizeof(json)));
	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, after));
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		uint64_t shown;
		char key[64];

		snprintf(key, sizeof(key), "\"%s\":", totals[i].name);
		at = strstr(json, key);
		ASSERT_NE(NULL, at) TH_LOG("no %s in %s", key, json);
		shown = strtoull(at + strlen(key), NULL, 10);
		EXPECT_LE(stats[totals[i].id], shown) TH_LOG("%s", totals[i].name);
		EXPECT_GE(after[totals[i].id], shown) TH_LOG("%s", totals[i].name);
	}
}

TEST_HARNESS_MAIN
