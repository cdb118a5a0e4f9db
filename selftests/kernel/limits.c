// SPDX-License-Identifier: GPL-2.0
/*
 * Broker limits, set the three ways an operator can: kmqttd -c FILE,
 * kmqttctl set, and SET_LIMITS directly; each test restores the limits it
 * found (they live in the module, across brokers and tests).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define PERSISTENT_ID	"limits-offline"
#define QUEUE_LIMIT	5
#define N_PUBLISHED	8
#define EXPIRY_S	1
#define EXPIRY_BOUND_MS	(EXPIRY_S * 1000 + 4000)

static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 1 };

FIXTURE(limits)
{
	struct broker broker;
	struct kmqtt_genl genl;
	uint64_t saved_limits[KMQTT_LIMIT_MAX + 1];
	uint64_t stats[KMQTT_STAT_MAX + 1];	/* at setup */
};

FIXTURE_SETUP(limits)
{
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->saved_limits));
	ASSERT_EQ(0, kmqtt_genl_get_info(&self->genl, self->stats));
}

FIXTURE_TEARDOWN(limits)
{
	if (self->broker.port)
		EXPECT_EQ(0, mqtt_session_discard(self->broker.port,
						  PERSISTENT_ID));
	broker_stop(&self->broker, !_metadata->passed);
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->saved_limits,
					   KMQTT_GENL_ALL_LIMITS));
	kmqtt_genl_close(&self->genl);
}

static uint64_t stat_now(struct __test_metadata *_metadata,
			 struct kmqtt_genl *g, enum kmqtt_stat id)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];

	ASSERT_EQ(0, kmqtt_genl_get_info(g, stats));
	return stats[id];
}

/*
 * Poll a counter until it is in [lo, hi): closes count, and free what
 * they held, asynchronously.
 */
static uint64_t poll_stat(struct __test_metadata *_metadata,
			  struct kmqtt_genl *g, enum kmqtt_stat id,
			  uint64_t lo, uint64_t hi)
{
	uint64_t now = 0;
	int err = kmqtt_genl_wait_stat(g, id, lo, hi, MQTT_TEST_TIMEOUT_MS,
				       &now);

	/* The caller checks the value. */
	ASSERT_TRUE(!err || err == -ETIMEDOUT);
	return now;
}

/* Poll a counter until it reaches want. */
static uint64_t wait_stat(struct __test_metadata *_metadata,
			  struct kmqtt_genl *g, enum kmqtt_stat id,
			  uint64_t want)
{
	return poll_stat(_metadata, g, id, want, UINT64_MAX);
}

/*
 * max_connections from kmqttd -c FILE: one connection over it is refused
 * with CONNACK 3 (server unavailable, 3.2.2.3) and counted; the limit
 * shows in kmqttctl show --json.
 */
TEST_F(limits, max_connections_refused_with_connack_3)
{
	char config[64], json[16384], want[64];
	uint64_t open_now = self->stats[KMQTT_STAT_CONNECTIONS];
	struct mqtt_connect_opts opts = { .client_id = "limits-extra",
					  .clean_session = true };
	int a, b, extra;

	snprintf(config, sizeof(config), "max_connections %llu\n",
		 (unsigned long long)open_now + 2);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	a = mqtt_client_open(self->broker.port, "limits-a", 0);
	ASSERT_LE(0, a);
	b = mqtt_client_open(self->broker.port, "limits-b", 0);
	ASSERT_LE(0, b);
	extra = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_EQ(-ECONNREFUSED, extra);
	ASSERT_EQ(self->stats[KMQTT_STAT_CONNECTIONS_REFUSED] + 1,
		  stat_now(_metadata, &self->genl,
			   KMQTT_STAT_CONNECTIONS_REFUSED));

	ASSERT_EQ(0, kmqttctl_run("show --json", json, sizeof(json)));
	snprintf(want, sizeof(want), "\"max_connections\":%llu",
		 (unsigned long long)open_now + 2);
	ASSERT_NE(NULL, strstr(json, want)) TH_LOG("%s", json);
	close(a);
	close(b);
	/* Closes are asynchronous: the teardown's client needs a slot. */
	EXPECT_GT(open_now + 1, poll_stat(_metadata, &self->genl,
					  KMQTT_STAT_CONNECTIONS, 0,
					  open_now + 1));
}

/* PERSISTENT_ID subscribed to @filter at QoS 1, then offline. */
static void offline_subscriber(struct __test_metadata *_metadata,
			       FIXTURE_DATA(limits) *self, const char *filter)
{
	struct mqtt_connect_opts opts = { .client_id = PERSISTENT_ID };
	int sub;

	sub = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(sub, 1, filter, 1));
	close(sub);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, PERSISTENT_ID,
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
}

/*
 * max_queued_messages from kmqttctl set: an offline session keeps that
 * many QoS 1 messages; the rest are dropped and counted for the session
 * and the broker.  After the reconnect the kept ones arrive in order.
 */
TEST_F(limits, max_queued_messages_overflow_counted)
{
	struct mqtt_connect_opts opts = { .client_id = PERSISTENT_ID };
	struct kmqtt_session_info info;
	char args[64];
	int sub, pub, i;

	ASSERT_EQ(0, broker_start(&self->broker));
	snprintf(args, sizeof(args), "set max_queued_messages %d",
		 QUEUE_LIMIT);
	ASSERT_EQ(0, kmqttctl_run(args, NULL, 0));
	offline_subscriber(_metadata, self, "lim/q");
	pub = mqtt_client_open(self->broker.port, "limits-pub", 0);
	ASSERT_LE(0, pub);
	for (i = 0; i < N_PUBLISHED; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "lim/q", i, &at_qos1));

	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, PERSISTENT_ID, &info));
	EXPECT_EQ(QUEUE_LIMIT, info.stats[KMQTT_STAT_QUEUED]);
	EXPECT_EQ(N_PUBLISHED - QUEUE_LIMIT,
		  info.stats[KMQTT_STAT_MSGS_DROPPED]);
	EXPECT_EQ(self->stats[KMQTT_STAT_MSGS_DROPPED] + N_PUBLISHED -
		  QUEUE_LIMIT, stat_now(_metadata, &self->genl,
					KMQTT_STAT_MSGS_DROPPED));

	sub = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_LE(0, sub);
	for (i = 0; i < QUEUE_LIMIT; i++)
		ASSERT_EQ(0, mqtt_expect_nth(sub, "lim/q", i, &at_qos1));
	ASSERT_EQ(0, mqtt_publish(pub, "lim/q", "end", &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(sub, "lim/q", "end", &at_qos1));
	close(pub);
	close(sub);
}

/*
 * max_packet_size: a packet over it closes the connection as a protocol
 * error (counted); one under it passes.
 */
TEST_F(limits, max_packet_size_closes)
{
	static char payload[2000];
	int fd;

	ASSERT_EQ(0, broker_start(&self->broker));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_PACKET_SIZE, 1024));
	fd = mqtt_client_open(self->broker.port, "limits-big", 0);
	ASSERT_LE(0, fd);
	memset(payload, 'p', sizeof(payload));
	ASSERT_EQ(0, mqtt_send_publish(fd, "big", payload, 1000));
	ASSERT_EQ(0, mqtt_sync(fd));
	ASSERT_EQ(0, mqtt_send_publish(fd, "big", payload, sizeof(payload)));
	ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	close(fd);
	ASSERT_EQ(self->stats[KMQTT_STAT_PROTOCOL_ERRORS] + 1,
		  wait_stat(_metadata, &self->genl, KMQTT_STAT_PROTOCOL_ERRORS,
			    self->stats[KMQTT_STAT_PROTOCOL_ERRORS] + 1));
}

/*
 * persistent_client_expiration (SESSION_EXPIRY): an offline persistent
 * session is removed after it and counted; the client then starts anew
 * (session present 0).
 */
TEST_F(limits, session_expiry_removes_offline_session)
{
	struct mqtt_connect_opts opts = { .client_id = PERSISTENT_ID };
	bool present = true;
	int fd;

	ASSERT_EQ(0, broker_start(&self->broker));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_SESSION_EXPIRY, EXPIRY_S));
	fd = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe_qos(fd, 1, "lim/exp", 1));
	close(fd);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, PERSISTENT_ID,
					     KMQTT_SESSION_GONE,
					     EXPIRY_BOUND_MS));
	ASSERT_EQ(self->stats[KMQTT_STAT_SESSIONS_EXPIRED] + 1,
		  stat_now(_metadata, &self->genl,
			   KMQTT_STAT_SESSIONS_EXPIRED));
	fd = mqtt_client_connect(self->broker.port, &opts, &present);
	ASSERT_LE(0, fd);
	ASSERT_FALSE(present);
	close(fd);
}

/* MQTT-3.9.3-2 (0x80): SUBACK refuses filters past max_subscriptions. */
TEST_F(limits, max_subscriptions_suback_failure)
{
	static const char *const filters[] = { "s/1", "s/2", "s/3" };
	static const uint8_t qos[] = { 0, 1, 2 };
	uint8_t codes[3];
	int fd;

	ASSERT_EQ(0, broker_start(&self->broker));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_SUBSCRIPTIONS, 2));
	fd = mqtt_client_open(self->broker.port, "limits-subs", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_send_subscribe_qos(fd, 5, filters, qos, 3));
	ASSERT_EQ(0, mqtt_expect_suback(fd, 5, codes, 3));
	EXPECT_EQ(0, codes[0]);
	EXPECT_EQ(1, codes[1]);
	EXPECT_EQ(MQTT_SUBACK_FAILURE, codes[2]);
	close(fd);
}

/*
 * Receive buffers count against the memory limit and grow with the bytes
 * that arrived, not with the length a packet announces: clients that each
 * announce a 32 MiB PUBLISH and send 8 KiB of it hold a few KiB each.  One
 * that goes on sending would need more than the limit: it is closed
 * (KMQTT_CLOSE_NOMEM), and the memory is given back.
 */
#define ANNOUNCERS	32
#define ANNOUNCED	(32u << 20)
#define SENT_EACH	8192
#define MEMORY_LIMIT	(2u << 20)

TEST_F(limits, receive_buffers_follow_data_and_count_as_memory)
{
	static uint8_t chunk[1 << 16];
	uint64_t bytes_in, memory;
	int fds[ANNOUNCERS], i;

	ASSERT_EQ(0, broker_start(&self->broker));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_PACKET_SIZE,
					  2 * ANNOUNCED));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MEMORY,
					  MEMORY_LIMIT));
	bytes_in = stat_now(_metadata, &self->genl, KMQTT_STAT_BYTES_IN);
	/* PUBLISH, remaining length ANNOUNCED (4 bytes), topic "big" */
	chunk[0] = 0x30;
	chunk[1] = 0x80 | (ANNOUNCED & 0x7f);
	chunk[2] = 0x80 | ((ANNOUNCED >> 7) & 0x7f);
	chunk[3] = 0x80 | ((ANNOUNCED >> 14) & 0x7f);
	chunk[4] = ANNOUNCED >> 21;
	memcpy(chunk + 5, "\x00\x03" "big", 5);
	for (i = 0; i < ANNOUNCERS; i++) {
		char id[32];

		snprintf(id, sizeof(id), "limits-announce-%d", i);
		fds[i] = mqtt_client_open(self->broker.port, id, 0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, mqtt_send_raw(fds[i], chunk, SENT_EACH));
	}
	/* CONNACK-less: bytes_in counts the packets' bytes only */
	ASSERT_LE(bytes_in + ANNOUNCERS * SENT_EACH,
		  wait_stat(_metadata, &self->genl, KMQTT_STAT_BYTES_IN,
			    bytes_in + ANNOUNCERS * SENT_EACH));
	memory = stat_now(_metadata, &self->genl, KMQTT_STAT_MEMORY);
	TH_LOG("%d clients announced %u bytes each: %llu bytes of memory",
	       ANNOUNCERS, ANNOUNCED, (unsigned long long)memory);
	ASSERT_LE(ANNOUNCERS * SENT_EACH, memory);
	ASSERT_GE(ANNOUNCERS * 4 * SENT_EACH, memory);

	/* Growing past the limit closes that connection; others stay. */
	memset(chunk, 'p', sizeof(chunk));
	for (i = 0; i < (int)(2 * MEMORY_LIMIT / sizeof(chunk)); i++)
		if (mqtt_send_raw(fds[0], chunk, sizeof(chunk)))
			break;
	ASSERT_EQ(0, mqtt_wait_closed(fds[0], MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_expect_silence(fds[1], 100));
	for (i = 0; i < ANNOUNCERS; i++)
		close(fds[i]);
	for (i = 0; i < MQTT_TEST_TIMEOUT_MS / 10; i++) {
		memory = stat_now(_metadata, &self->genl, KMQTT_STAT_MEMORY);
		if (memory < SENT_EACH)
			break;
		usleep(10000);
	}
	ASSERT_GT(SENT_EACH, memory);
}

/* "first/l/l/.../l", levels levels in all; the caller frees it. */
static char *levels_topic(const char *first, int levels)
{
	size_t head = strlen(first), len = head + 2 * (levels - 1), i;
	char *buf = malloc(len + 1);

	if (!buf)
		return NULL;
	memcpy(buf, first, head);
	for (i = head; i < len; i += 2)
		memcpy(buf + i, "/l", 2);
	buf[len] = '\0';
	return buf;
}

/*
 * max_topic_levels, at its default of 200 (Mosquitto's limit): a filter of
 * 200 levels is granted and gets what is published to it, one of 201 in
 * the same SUBSCRIBE gets 0x80 and the connection stays.  A PUBLISH of
 * 201 levels closes its connection as a protocol error; nobody gets it.
 */
TEST_F(limits, max_topic_levels_boundary)
{
	char *at = levels_topic("lv", 200), *over = levels_topic("lv", 201);
	const char *filters[] = { at, over, "lv/#" };
	uint8_t codes[3];
	int sub, pub;

	ASSERT_NE(NULL, at);
	ASSERT_NE(NULL, over);
	ASSERT_EQ(200, self->saved_limits[KMQTT_LIMIT_MAX_TOPIC_LEVELS]);
	ASSERT_EQ(0, broker_start(&self->broker));
	sub = mqtt_client_open(self->broker.port, "limits-levels-sub", 0);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_send_subscribe(sub, 3, filters, 3));
	ASSERT_EQ(0, mqtt_expect_suback(sub, 3, codes, 3));
	EXPECT_EQ(0, codes[0]);
	EXPECT_EQ(MQTT_SUBACK_FAILURE, codes[1]);
	EXPECT_EQ(0, codes[2]);

	pub = mqtt_client_open(self->broker.port, "limits-levels-pub", 0);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_send_publish(pub, at, "at", 2));
	ASSERT_EQ(0, mqtt_expect_publish(sub, at, "at", 2));
	ASSERT_EQ(0, mqtt_send_publish(pub, over, "over", 4));
	ASSERT_EQ(0, mqtt_wait_closed(pub, MQTT_TEST_TIMEOUT_MS));
	close(pub);
	ASSERT_EQ(self->stats[KMQTT_STAT_PROTOCOL_ERRORS] + 1,
		  wait_stat(_metadata, &self->genl, KMQTT_STAT_PROTOCOL_ERRORS,
			    self->stats[KMQTT_STAT_PROTOCOL_ERRORS] + 1));
	/* "lv/#" matched it, yet nothing came: the next packet is PINGRESP. */
	ASSERT_EQ(0, mqtt_sync(sub));
	close(sub);
	free(at);
	free(over);
}

/*
 * A lowered max_topic_levels applies to the next SUBSCRIBE and PUBLISH,
 * set by SET_LIMITS or kmqttctl; out of 1..1024 it is refused (ERANGE)
 * and nothing changes.
 */
TEST_F(limits, max_topic_levels_lowered)
{
	static const uint32_t bad[] = { 0, KMQTT_TOPIC_LEVELS_MAX + 1, 65536 };
	char json[16384];
	int fd, pub;
	size_t i;

	ASSERT_EQ(0, broker_start(&self->broker));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(-ERANGE,
			  kmqtt_genl_set_limit(&self->genl,
					       KMQTT_LIMIT_MAX_TOPIC_LEVELS,
					       bad[i]));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_TOPIC_LEVELS, 3));
	ASSERT_EQ(0, kmqttctl_run("show --json", json, sizeof(json)));
	ASSERT_NE(NULL, strstr(json, "\"kmqtt_max_topic_levels\":3"))
		TH_LOG("%s", json);

	fd = mqtt_client_open(self->broker.port, "limits-levels", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe(fd, 1, "a/b/c"));
	ASSERT_EQ(-EPROTO, mqtt_subscribe(fd, 2, "a/b/+/d"));
	ASSERT_EQ(0, kmqttctl_run("set kmqtt_max_topic_levels 4", NULL, 0));
	ASSERT_EQ(0, mqtt_subscribe(fd, 3, "a/b/+/d"));

	pub = mqtt_client_open(self->broker.port, "limits-levels-pub", 0);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_send_publish(pub, "a/b/c/d", "4", 1));
	ASSERT_EQ(0, mqtt_expect_publish(fd, "a/b/c/d", "4", 1));
	ASSERT_EQ(0, mqtt_send_publish(pub, "a/b/c/d/e", "5", 1));
	ASSERT_EQ(0, mqtt_wait_closed(pub, MQTT_TEST_TIMEOUT_MS));
	close(pub);
	close(fd);
}

/*
 * Subscriptions count against the memory limit: the figure GET_INFO
 * shows grows with each filter (about 100 bytes a level) and comes back
 * down after UNSUBSCRIBE and after the client goes.  Under a lowered
 * limit the filters that do not fit get SUBACK 0x80 and leave nothing
 * behind; the connection stays.
 */
/* A SUBSCRIBE of them all fits a 4 KiB receive buffer, which is free. */
#define MEM_FILTERS		12
#define MEM_LEVELS		100
#define MEM_FITTING		5
#define MEM_SLACK		4096	/* well under one filter's cost */

static void subscribe_filters(struct __test_metadata *_metadata, int fd,
			      uint16_t packet_id, char **filters, size_t n,
			      size_t granted)
{
	uint8_t codes[MEM_FILTERS];
	size_t i;

	ASSERT_EQ(0, mqtt_send_subscribe(fd, packet_id,
					 (const char *const *)filters, n));
	ASSERT_EQ(0, mqtt_expect_suback(fd, packet_id, codes, n));
	for (i = 0; i < n; i++)
		EXPECT_EQ(i < granted ? 0 : MQTT_SUBACK_FAILURE, codes[i])
			TH_LOG("filter %zu", i);
}

TEST_F(limits, subscriptions_count_as_memory)
{
	uint64_t before, subscribed, each, now;
	char *filters[MEM_FILTERS], first[16];
	int fd, i;

	for (i = 0; i < MEM_FILTERS; i++) {
		snprintf(first, sizeof(first), "mem/%d", i);
		filters[i] = levels_topic(first, MEM_LEVELS);
		ASSERT_NE(NULL, filters[i]);
	}
	ASSERT_EQ(0, broker_start(&self->broker));
	fd = mqtt_client_open(self->broker.port, "limits-mem", 0);
	ASSERT_LE(0, fd);
	before = stat_now(_metadata, &self->genl, KMQTT_STAT_MEMORY);
	subscribe_filters(_metadata, fd, 1, filters, MEM_FILTERS, MEM_FILTERS);
	subscribed = stat_now(_metadata, &self->genl, KMQTT_STAT_MEMORY);
	each = (subscribed - before) / MEM_FILTERS;
	TH_LOG("%d filters of %d levels: %llu bytes each", MEM_FILTERS,
	       MEM_LEVELS, (unsigned long long)each);
	ASSERT_LE(MEM_LEVELS * 64, each);
	ASSERT_EQ(0, mqtt_send_unsubscribe(fd, 2, (const char *const *)filters,
					   MEM_FILTERS));
	ASSERT_EQ(0, mqtt_expect_unsuback(fd, 2));
	now = stat_now(_metadata, &self->genl, KMQTT_STAT_MEMORY);
	ASSERT_GT(before + MEM_SLACK, now);

	/* Room for MEM_FITTING and a half: the rest are refused. */
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl, KMQTT_LIMIT_MEMORY,
					  now + MEM_FITTING * each + each / 2));
	subscribe_filters(_metadata, fd, 3, filters, MEM_FILTERS, MEM_FITTING);
	ASSERT_EQ(0, mqtt_sync(fd));
	ASSERT_EQ(MEM_FITTING,
		  stat_now(_metadata, &self->genl, KMQTT_STAT_SUBSCRIPTIONS) -
		  self->stats[KMQTT_STAT_SUBSCRIPTIONS]);

	close(fd);
	ASSERT_GT(before + MEM_SLACK,
		  poll_stat(_metadata, &self->genl, KMQTT_STAT_MEMORY, 0,
			    before + MEM_SLACK));
	for (i = 0; i < MEM_FILTERS; i++)
		free(filters[i]);
}

/*
 * The memory stat once three reads 50 ms apart agree: an ack's entry is
 * freed after its bytes are sent, and may still be counted when the
 * client has read them.
 */
static int64_t settled_memory(struct __test_metadata *_metadata,
			      struct kmqtt_genl *g)
{
	uint64_t last = stat_now(_metadata, g, KMQTT_STAT_MEMORY), now;
	int i, same = 0;

	for (i = 0; i < MQTT_TEST_TIMEOUT_MS / 50 && same < 2; i++) {
		usleep(50 * 1000);
		now = stat_now(_metadata, g, KMQTT_STAT_MEMORY);
		same = now == last ? same + 1 : 0;
		last = now;
	}
	return last;
}

/* The offline PERSISTENT_ID's queue holds @n messages. */
static void expect_queued(struct __test_metadata *_metadata,
			  FIXTURE_DATA(limits) *self, uint64_t n)
{
	struct kmqtt_session_info info;

	ASSERT_EQ(0, kmqtt_genl_get_session(&self->genl, PERSISTENT_ID, &info));
	ASSERT_EQ(n, info.stats[KMQTT_STAT_QUEUED]);
}

#define SIZE_CLASS_QUEUED	50

/*
 * A message takes 128 bytes, its fields included, when it fits, else 256
 * when it fits that: the messages of readings queued for an offline
 * session take half of what one size for all would.  Queued with a
 * payload of 8 bytes, then of 100, the same number of messages differ by
 * 128 bytes each.
 */
TEST_F(limits, queued_messages_take_their_size_class)
{
	static const char tiny[] = "12345678";
	int64_t start, after_tiny, after_small;
	char small[101];
	int pub, i;

	memset(small, 's', sizeof(small) - 1);
	small[sizeof(small) - 1] = 0;
	ASSERT_EQ(0, broker_start(&self->broker));
	offline_subscriber(_metadata, self, "lim/class");
	pub = mqtt_client_open(self->broker.port, "limits-class-pub", 0);
	ASSERT_LE(0, pub);

	start = settled_memory(_metadata, &self->genl);
	for (i = 0; i < SIZE_CLASS_QUEUED; i++)
		ASSERT_EQ(0, mqtt_publish(pub, "lim/class", tiny, &at_qos1));
	expect_queued(_metadata, self, SIZE_CLASS_QUEUED);
	after_tiny = settled_memory(_metadata, &self->genl);
	for (i = 0; i < SIZE_CLASS_QUEUED; i++)
		ASSERT_EQ(0, mqtt_publish(pub, "lim/class", small, &at_qos1));
	expect_queued(_metadata, self, 2 * SIZE_CLASS_QUEUED);
	after_small = settled_memory(_metadata, &self->genl);
	close(pub);

	TH_LOG("%d queued: %lld bytes with 8-byte payloads, %lld with 100",
	       SIZE_CLASS_QUEUED, (long long)(after_tiny - start),
	       (long long)(after_small - after_tiny));
	EXPECT_EQ(SIZE_CLASS_QUEUED * 128,
		  (after_small - after_tiny) - (after_tiny - start));
}

/* SET_LIMITS checks every value before applying any: ERANGE, no change. */
TEST_F(limits, out_of_range_limit_changes_nothing)
{
	uint64_t set[KMQTT_LIMIT_MAX + 1] = { 0 }, now[KMQTT_LIMIT_MAX + 1];

	set[KMQTT_LIMIT_MAX_QUEUED_MESSAGES] =
		self->saved_limits[KMQTT_LIMIT_MAX_QUEUED_MESSAGES] + 1;
	set[KMQTT_LIMIT_MAX_INFLIGHT] = 0;
	ASSERT_EQ(-ERANGE, kmqtt_genl_set_limits(&self->genl, set,
				1u << KMQTT_LIMIT_MAX_QUEUED_MESSAGES |
				1u << KMQTT_LIMIT_MAX_INFLIGHT));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, now));
	ASSERT_EQ(0, memcmp(now, self->saved_limits, sizeof(now)));
}

TEST_HARNESS_MAIN
