// SPDX-License-Identifier: GPL-2.0
/*
 * Allocations that fail (issue #10 item 5), injected with failslab into
 * kmqtt's own slab caches (lib/failslab.h; the debug kernel only, the
 * tests skip elsewhere).  A packet that finds no memory is handled again
 * later, after a wait that grows, and never half: no acknowledged QoS 1
 * message is lost, none is delivered twice because its ack could not be
 * sent, no connection is closed for it, nothing leaks (kmemleak, the
 * memory stat) and the kernel log stays clean.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "direct.h"
#include "failslab.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define PUBS		4
#define PER_PUB		100
/* Attaches refused for want of memory are tried again this often. */
#define ATTACH_TRIES	50

FIXTURE(allocfail)
{
	struct kmqtt_genl genl;
	struct direct direct;
	int kmsg;
	uint64_t memory_before;
	int fds[PUBS + 2];
};

FIXTURE_SETUP(allocfail)
{
	int i;

	for (i = 0; i < PUBS + 2; i++)
		self->fds[i] = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, direct_open(&self->direct));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MEMORY,
					 &self->memory_before));
}

FIXTURE_TEARDOWN(allocfail)
{
	uint64_t mem;
	int i;

	if (failslab_available())
		EXPECT_EQ(0, failslab_stop());
	for (i = 0; i < PUBS + 2; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	/* Every charge given back once the clients are gone. */
	EXPECT_EQ(0, kmqtt_genl_wait_stat(&self->genl, KMQTT_STAT_MEMORY, 0,
					  self->memory_before + 1,
					  MQTT_TEST_TIMEOUT_MS, &mem))
		TH_LOG("memory %ju, %ju before", (uintmax_t)mem,
		       (uintmax_t)self->memory_before);
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Connect @client_id; an attach refused for want of memory (the agent
 * answers CONNACK 3) is tried again.
 */
static int connect_retry(FIXTURE_DATA(allocfail) *self,
			 const char *client_id, bool clean)
{
	int fd = -ENOMEM, i;

	for (i = 0; i < ATTACH_TRIES && fd == -ENOMEM; i++) {
		fd = direct_client(&self->direct, &self->genl, client_id, clean,
				   NULL, NULL);
		if (fd == -ENOMEM)
			sleep_ms(20);
	}
	return fd;
}

/*
 * A QoS 1 PUBLISH while every allocation from kmqtt's caches fails: the
 * packet is handled once its ack and its deliveries can be had, then
 * delivered once and acknowledged, and the publisher stays connected.  It
 * used to be fanned out first (its deliveries lost) and the publisher
 * closed (nomem) when the ack could not be allocated, which the client
 * answers by publishing it again.  Meanwhile the packet is retried after
 * growing waits, not spun on.
 */
TEST_F(allocfail, ack_without_memory_waits_and_delivers_once)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
	int *pub = &self->fds[0], *sub = &self->fds[1];
	struct mqtt_packet p = { 0 };
	uint64_t injected;

	if (!failslab_available())
		SKIP(return, "no failslab in this kernel (debug kernel only)");
	*pub = connect_retry(self, "alloc-pub", true);
	ASSERT_LE(0, *pub);
	*sub = connect_retry(self, "alloc-sub", true);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(*sub, 1, "alloc/ack", 1));

	ASSERT_EQ(0, failslab_start(100, true));
	ASSERT_EQ(0, mqtt_send_publish_opts(*pub, "alloc/ack", "once", 4,
					    &qos1));
	/* Neither acknowledged, nor delivered, nor closed meanwhile. */
	ASSERT_EQ(-ETIMEDOUT, mqtt_read_packet(*pub, &p, 2000));
	ASSERT_EQ(-ETIMEDOUT, mqtt_read_packet(*sub, &p, 100));
	ASSERT_EQ(0, failslab_injected(&injected));
	ASSERT_EQ(0, failslab_stop());
	/* 10, 20, 40... ms between tries: a handful in 2 s, not thousands. */
	EXPECT_LE(1, injected);
	EXPECT_GE(12, injected);
	TH_LOG("%ju tries failed in 2 s", (uintmax_t)injected);

	ASSERT_EQ(0, mqtt_expect_pub_ack(*pub, MQTT_PUBACK, 1));
	ASSERT_EQ(0, mqtt_expect_message(*sub, "alloc/ack", "once", &qos1));
	ASSERT_EQ(0, mqtt_expect_silence(*sub, 500));
	mqtt_packet_free(&p);
}

/* The subscriber's side of the mixed load: what it has seen. */
struct seen {
	bool msg[PUBS][PER_PUB];
	int distinct;
	int dups;
	int reconnects;
};

/*
 * Read and acknowledge what arrived on *fd within timeout_ms, reconnecting
 * its persistent session when the connection went.
 */
static void drain(struct __test_metadata *_metadata,
		  FIXTURE_DATA(allocfail) *self, int *fd, struct seen *seen,
		  int timeout_ms)
{
	struct mqtt_received m;
	int err, pub, n;

	for (;;) {
		if (*fd < 0) {
			*fd = connect_retry(self, "alloc-persist", false);
			ASSERT_LE(0, *fd);
		}
		err = mqtt_receive(*fd, &m, true, timeout_ms);
		if (err == -ETIMEDOUT)
			return;
		if (err) {
			close(*fd);
			*fd = -1;
			seen->reconnects++;
			continue;
		}
		if (strncmp(m.topic, "alloc/q1/", 9))
			continue;
		ASSERT_EQ(2, sscanf((char *)m.payload, "%d-%d", &pub, &n));
		ASSERT_TRUE(pub >= 0 && pub < PUBS && n >= 0 && n < PER_PUB);
		if (seen->msg[pub][n]) {
			seen->dups++;
		} else {
			seen->msg[pub][n] = true;
			seen->distinct++;
		}
	}
}

/* What a failure needs to be understood: which, and the broker's view. */
static void log_missing(struct __test_metadata *_metadata,
			FIXTURE_DATA(allocfail) *self, const struct seen *seen)
{
	static const struct {
		enum kmqtt_stat id;
		const char *name;
	} stats[] = {
		{ KMQTT_STAT_INFLIGHT, "inflight" },
		{ KMQTT_STAT_QUEUED, "queued" },
		{ KMQTT_STAT_DROPPED_QUEUE_FULL, "dropped queue_full" },
		{ KMQTT_STAT_DROPPED_NO_MEMORY, "dropped no_memory" },
		{ KMQTT_STAT_DROPPED_CLOSING, "dropped closing" },
		{ KMQTT_STAT_PUBLISHERS_PAUSED, "publishers paused" },
		{ KMQTT_STAT_CONNECTIONS, "connections" },
	};
	uint64_t value;
	size_t i;
	int p, n;

	for (p = 0; p < PUBS; p++)
		for (n = 0; n < PER_PUB; n++)
			if (!seen->msg[p][n])
				TH_LOG("missing: %d-%d", p, n);
	for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
		if (!kmqtt_genl_get_stat(&self->genl, stats[i].id, &value))
			TH_LOG("%s: %ju", stats[i].name, (uintmax_t)value);
}

/*
 * QoS 1 PUBLISH until acknowledged, on a connection made again (and the
 * message resent, MQTT-4.4.0-1) whenever one goes.
 */
static int publish_until_acked(FIXTURE_DATA(allocfail) *self, int *fd,
			       const char *client_id, const char *topic,
			       const char *payload, uint16_t id)
{
	struct mqtt_pub_opts opts = { .qos = 1, .packet_id = id };
	int err = -ECONNRESET, tries;

	for (tries = 0; tries < ATTACH_TRIES && err; tries++) {
		if (*fd < 0) {
			*fd = connect_retry(self, client_id, true);
			if (*fd < 0)
				return *fd;
		}
		err = mqtt_publish(*fd, topic, payload, &opts);
		if (err) {
			close(*fd);
			*fd = -1;
			opts.dup = true;
		}
	}
	return err;
}

/*
 * Mixed load while 5 % of all of kmqtt's slab allocations fail, sleeping
 * ones too: QoS 1 publishers, a QoS 0 one, a persistent QoS 1 subscriber
 * reading as it goes.  Every acknowledged message reaches the subscriber
 * (QoS 1 allows duplicates), nothing leaks.
 */
TEST_F_TIMEOUT(allocfail, mixed_load_loses_nothing_acknowledged, 300)
{
	int *sub = &self->fds[PUBS], *qos0 = &self->fds[PUBS + 1];
	static struct seen seen;
	char id[32], topic[32], payload[32];
	uint64_t injected;
	int n, p;

	if (!failslab_available())
		SKIP(return, "no failslab in this kernel (debug kernel only)");
	*sub = connect_retry(self, "alloc-persist", false);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(*sub, 1, "alloc/#", 1));
	*qos0 = connect_retry(self, "alloc-q0", true);
	ASSERT_LE(0, *qos0);

	ASSERT_EQ(0, failslab_start(5, true));
	for (n = 0; n < PER_PUB; n++) {
		for (p = 0; p < PUBS; p++) {
			snprintf(id, sizeof(id), "alloc-pub-%d", p);
			snprintf(topic, sizeof(topic), "alloc/q1/%d", p);
			snprintf(payload, sizeof(payload), "%d-%d", p, n);
			ASSERT_EQ(0, publish_until_acked(self, &self->fds[p], id,
							 topic, payload,
							 n % 65535 + 1));
		}
		if (*qos0 >= 0 && mqtt_send_publish(*qos0, "alloc/q0", "noise",
						    5)) {
			close(*qos0);
			*qos0 = -1;
		}
		drain(_metadata, self, sub, &seen, 0);
	}
	ASSERT_EQ(0, failslab_injected(&injected));
	ASSERT_EQ(0, failslab_stop());
	TH_LOG("%ju allocations failed", (uintmax_t)injected);
	EXPECT_LT(0, injected);

	for (n = 0; n < 50 && seen.distinct < PUBS * PER_PUB; n++)
		drain(_metadata, self, sub, &seen, 200);
	TH_LOG("%d of %d acknowledged messages received, %d twice; the subscriber reconnected %d times",
	       seen.distinct, PUBS * PER_PUB, seen.dups, seen.reconnects);
	if (seen.distinct < PUBS * PER_PUB)
		log_missing(_metadata, self, &seen);
	EXPECT_EQ(PUBS * PER_PUB, seen.distinct);

	/* A clean session of the same id discards the stored one. */
	close(*sub);
	*sub = connect_retry(self, "alloc-persist", true);
	ASSERT_LE(0, *sub);
}

TEST_HARNESS_MAIN
