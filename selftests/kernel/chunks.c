// SPDX-License-Identifier: GPL-2.0
/*
 * Chunks (kmod/chunk.h): small QoS 0 PUBLISH packets copied, one after
 * another, into one send queue entry when others wait to be sent.
 * Against a subscriber that does not read, so that the socket takes a
 * chunk in part and the queue fills: every packet arrives, in order,
 * among packets that are not copied (QoS 1, PINGRESP); the queue limit
 * counts each packet of a chunk, and a packet written whole no longer
 * counts, even when the rest of its chunk waits; the memory they take
 * is counted, and given back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt5.h"
#include "mqtt_client.h"

#define TOPIC		"chunk/q"
/* Payloads of PAYLOAD_LEN digits: every PUBLISH is PACKET_LEN bytes. */
#define PAYLOAD_LEN	8
#define PACKET_LEN	(2 + 2 + sizeof(TOPIC) - 1 + PAYLOAD_LEN)
/* What the subscriber was sent before: CONNACK and SUBACK. */
#define BEFORE_LEN	(4 + 5)
/* Far more than its socket takes (some 20 KiB, 1 KiB of it the client's). */
#define MESSAGES	3000
#define QUEUE_LIMIT	100

FIXTURE(chunks)
{
	struct broker broker;
	struct kmqtt_genl genl;
	uint64_t saved_limits[KMQTT_LIMIT_MAX + 1];
	int pub;
	int sub;
	uint64_t sub_id;
};

FIXTURE_SETUP(chunks)
{
	self->pub = -1;
	self->sub = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->saved_limits));
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "chunk-pub", 0);
	ASSERT_LE(0, self->pub);
	self->sub = mqtt_client_open_stalled(self->broker.port, "chunk-sub");
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(self->sub, 1, TOPIC, 1));
	ASSERT_EQ(0, kmqtt_genl_session_conn_id(&self->genl, "chunk-sub",
						&self->sub_id));
}

FIXTURE_TEARDOWN(chunks)
{
	if (self->sub >= 0)
		close(self->sub);
	if (self->pub >= 0)
		close(self->pub);
	broker_stop(&self->broker, !_metadata->passed);
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->saved_limits,
					   KMQTT_GENL_ALL_LIMITS));
	kmqtt_genl_close(&self->genl);
}

static void payload_of(char *buf, int n)
{
	snprintf(buf, PAYLOAD_LEN + 1, "%0*d", PAYLOAD_LEN, n);
}

static void publish_qos0(struct __test_metadata *_metadata,
			 FIXTURE_DATA(chunks) *self, int from, int to)
{
	char payload[PAYLOAD_LEN + 1];
	int i;

	for (i = from; i < to; i++) {
		payload_of(payload, i);
		ASSERT_EQ(0, mqtt_send_publish(self->pub, TOPIC, payload,
					       PAYLOAD_LEN));
	}
	ASSERT_EQ(0, mqtt_sync(self->pub));
}

/*
 * The subscriber's counters once its socket has taken all it will: three
 * reads 50 ms apart with the same bytes out.
 */
static void settled_sub_stats(struct __test_metadata *_metadata,
			      FIXTURE_DATA(chunks) *self,
			      uint64_t stats[KMQTT_STAT_MAX + 1])
{
	uint64_t last = UINT64_MAX;
	int i, same = 0;

	for (i = 0; i < MQTT_TEST_TIMEOUT_MS / 50 && same < 2; i++) {
		ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl,
						       self->sub_id, stats));
		same = stats[KMQTT_STAT_BYTES_OUT] == last ? same + 1 : 0;
		last = stats[KMQTT_STAT_BYTES_OUT];
		usleep(50 * 1000);
	}
	ASSERT_EQ(2, same);
}

/* Read QoS 0 messages numbered @from up to @to, in order. */
static void expect_range(struct __test_metadata *_metadata, int fd,
			 int from, int to)
{
	char payload[PAYLOAD_LEN + 1];
	int i;

	for (i = from; i < to; i++) {
		payload_of(payload, i);
		ASSERT_EQ(0, mqtt_expect_publish(fd, TOPIC, payload,
						 PAYLOAD_LEN))
			TH_LOG("message %d", i);
	}
}

/* The number in the PUBLISH @p of TOPIC carries (its payload). */
static int publish_number(struct __test_metadata *_metadata,
			  const struct mqtt_packet *p)
{
	char digits[MQTT_RECEIVED_MAX + 1];
	struct mqtt_publish m;

	ASSERT_EQ(MQTT_PUBLISH, p->type);
	ASSERT_EQ(0, mqtt_parse_publish(p, &m));
	ASSERT_EQ(strlen(TOPIC), m.topic_len);
	ASSERT_EQ(0, memcmp(TOPIC, m.topic, m.topic_len));
	ASSERT_GE(MQTT_RECEIVED_MAX, m.payload_len);
	memcpy(digits, m.payload, m.payload_len);
	digits[m.payload_len] = 0;
	return atoi(digits);
}

/*
 * Past what its socket takes, the messages to a subscriber that does not
 * read wait in chunks, one entry for many: all but the first of each
 * burst are copied, and when it reads they all arrive in order.  The chunks' memory is counted while
 * they wait and given back once they are sent.
 */
TEST_F(chunks, stalled_reader_gets_every_copy_in_order)
{
	uint64_t stats[KMQTT_STAT_MAX + 1], before, waiting = 0;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  10 * MESSAGES));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MEMORY,
					 &before));
	publish_qos0(_metadata, self, 0, MESSAGES);
	settled_sub_stats(_metadata, self, stats);
	EXPECT_EQ(MESSAGES, stats[KMQTT_STAT_MSGS_OUT]);
	/*
	 * Copied but when nothing was queued: nearly all here, in batches
	 * a receive run reads, and more than half however they come.
	 */
	EXPECT_LT(MESSAGES / 2, stats[KMQTT_STAT_TX_COPIED]);
	EXPECT_EQ(0, stats[KMQTT_STAT_MSGS_DROPPED]);
	/* Most wait, in chunks of at most 64. */
	ASSERT_GT(BEFORE_LEN + MESSAGES * PACKET_LEN / 2,
		  stats[KMQTT_STAT_BYTES_OUT]);
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MEMORY,
					 &waiting));
	TH_LOG("%ju bytes held with %d messages waiting (%ju copied), %ju before",
	       (uintmax_t)waiting, MESSAGES,
	       (uintmax_t)stats[KMQTT_STAT_TX_COPIED], (uintmax_t)before);
	EXPECT_LE(before + MESSAGES / 2 / 64 * 2048, waiting);

	expect_range(_metadata, self->sub, 0, MESSAGES);
	ASSERT_EQ(0, mqtt_sync(self->sub));
	EXPECT_EQ(0, kmqtt_genl_wait_stat(&self->genl, KMQTT_STAT_MEMORY,
					  0, before + 1, MQTT_TEST_TIMEOUT_MS,
					  &waiting))
		TH_LOG("%ju bytes held after, %ju before", (uintmax_t)waiting,
		       (uintmax_t)before);
}

/*
 * max_queued_messages counts each packet of a chunk, and a packet the
 * socket took whole no longer counts, though the rest of its chunk still
 * waits: once the subscriber's socket is full, exactly QUEUE_LIMIT
 * packets are queued and not written whole, as its bytes out tell, and
 * the next message is dropped.  What was not dropped arrives, in order.
 */
TEST_F(chunks, queue_limit_counts_each_copied_packet)
{
	uint64_t stats[KMQTT_STAT_MAX + 1], written, queued, dropped;
	int published = 0, received = 0, last = -1, n;
	struct mqtt_packet p = { 0 };

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  QUEUE_LIMIT));
	/* Until messages are dropped with the socket full and many queued. */
	do {
		ASSERT_GT(MESSAGES, published) TH_LOG("nothing dropped");
		publish_qos0(_metadata, self, published, published + 50);
		published += 50;
		settled_sub_stats(_metadata, self, stats);
		written = (stats[KMQTT_STAT_BYTES_OUT] - BEFORE_LEN) /
			  PACKET_LEN;
		queued = stats[KMQTT_STAT_MSGS_OUT] - written;
	} while (!stats[KMQTT_STAT_MSGS_DROPPED] || queued < QUEUE_LIMIT / 2);
	TH_LOG("%ju written whole, %ju queued, %ju dropped of %d",
	       (uintmax_t)written, (uintmax_t)queued,
	       (uintmax_t)stats[KMQTT_STAT_MSGS_DROPPED], published);
	EXPECT_LT(stats[KMQTT_STAT_MSGS_OUT] / 2, stats[KMQTT_STAT_TX_COPIED]);
	EXPECT_EQ(published, stats[KMQTT_STAT_MSGS_OUT] +
		  stats[KMQTT_STAT_MSGS_DROPPED]);
	ASSERT_GE(QUEUE_LIMIT, queued);

	/* Room for exactly the packets written whole: no more, no less. */
	dropped = stats[KMQTT_STAT_MSGS_DROPPED];
	publish_qos0(_metadata, self, published,
		     published + QUEUE_LIMIT - queued);
	published += QUEUE_LIMIT - queued;
	settled_sub_stats(_metadata, self, stats);
	EXPECT_EQ(dropped, stats[KMQTT_STAT_MSGS_DROPPED]);
	publish_qos0(_metadata, self, published, published + 1);
	published++;
	settled_sub_stats(_metadata, self, stats);
	EXPECT_EQ(dropped + 1, stats[KMQTT_STAT_MSGS_DROPPED]);

	/* Whatever was not dropped, in order, then nothing. */
	for (;;) {
		int err = mqtt_read_packet(self->sub, &p, 1000);

		if (err == -ETIMEDOUT)
			break;
		ASSERT_EQ(0, err);
		n = publish_number(_metadata, &p);
		ASSERT_LT(last, n);
		ASSERT_GT(published, n);
		last = n;
		received++;
	}
	mqtt_packet_free(&p);
	EXPECT_EQ(stats[KMQTT_STAT_MSGS_OUT], received);
}

#define MIXED		200

/* Which of the mixed messages are QoS 1: every fifth. */
static bool mixed_qos1(int n)
{
	return n % 5 == 2;
}

/* PUBLISH number @n in @buf, at QoS 1 with packet id @n if @qos1. */
static size_t put_numbered(uint8_t *buf, int n, bool qos1)
{
	uint8_t *p = buf;

	*p++ = MQTT_PUBLISH << 4 | (qos1 ? 2 : 0);
	*p++ = PACKET_LEN - 2 + (qos1 ? 2 : 0);
	*p++ = 0;
	*p++ = strlen(TOPIC);
	memcpy(p, TOPIC, strlen(TOPIC));
	p += strlen(TOPIC);
	if (qos1) {
		*p++ = n >> 8;
		*p++ = n & 0xff;
	}
	payload_of((char *)p, n);
	return p + PAYLOAD_LEN - buf;
}

/*
 * A packet that is not copied closes the chunk before it: QoS 1
 * messages between QoS 0 ones, published in one write so that one
 * receive run queues them all behind a full socket, reach the stalled
 * subscriber where they were sent.
 */
TEST_F_TIMEOUT(chunks, qos1_keeps_its_place_among_copies, 120)
{
	uint64_t stats[KMQTT_STAT_MAX + 1], copied;
	uint8_t burst[MIXED * (PACKET_LEN + 2 + 1)];
	struct mqtt_packet p = { 0 };
	size_t len = 0;
	int i, n;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  10 * MESSAGES));
	/* All go out at once: none waits for the window. */
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_INFLIGHT, MIXED));
	/* The socket full, and tx_work waiting for room. */
	publish_qos0(_metadata, self, 0, MESSAGES);
	settled_sub_stats(_metadata, self, stats);
	ASSERT_GT(BEFORE_LEN + MESSAGES * PACKET_LEN,
		  stats[KMQTT_STAT_BYTES_OUT]);
	copied = stats[KMQTT_STAT_TX_COPIED];

	for (i = MESSAGES; i < MESSAGES + MIXED; i++)
		len += put_numbered(burst + len, i, mixed_qos1(i));
	ASSERT_EQ(0, mqtt_send_raw(self->pub, burst, len));
	for (i = MESSAGES; i < MESSAGES + MIXED; i++)
		if (mixed_qos1(i))
			ASSERT_EQ(0, mqtt_expect_pub_ack(self->pub, MQTT_PUBACK,
							 i));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	settled_sub_stats(_metadata, self, stats);
	/*
	 * Those behind others still queued: about half of the QoS 0 ones
	 * here, as tx_work takes the queue between receive runs.
	 */
	EXPECT_LE(copied + MIXED / 5, stats[KMQTT_STAT_TX_COPIED]);

	for (i = 0; i < MESSAGES + MIXED; i++) {
		bool qos1 = i >= MESSAGES && mixed_qos1(i);

		ASSERT_EQ(0, mqtt_read_packet(self->sub, &p,
					      MQTT_TEST_TIMEOUT_MS))
			TH_LOG("message %d", i);
		n = publish_number(_metadata, &p);
		ASSERT_EQ(i, n);
		ASSERT_EQ(qos1, (p.flags >> 1) & 3) TH_LOG("message %d", i);
		if (qos1)
			ASSERT_EQ(0, mqtt_send_pub_ack(self->sub, MQTT_PUBACK,
						       p.body[2 + strlen(TOPIC)] << 8 |
						       p.body[3 + strlen(TOPIC)]));
	}
	mqtt_packet_free(&p);
	ASSERT_EQ(0, mqtt_sync(self->sub));
}

#define GROUPS		8
#define GROUP_LEN	6

/*
 * A control packet closes the chunk before it too: the stalled
 * subscriber publishes to itself, in one write, groups of QoS 0 messages
 * each followed by a PINGREQ.  Behind its full socket the messages are
 * copied, and each PINGRESP arrives after its group and before the next.
 */
TEST_F_TIMEOUT(chunks, pingresp_keeps_its_place_among_copies, 120)
{
	uint8_t burst[GROUPS * (GROUP_LEN * PACKET_LEN + 2)];
	uint64_t stats[KMQTT_STAT_MAX + 1], copied;
	struct mqtt_packet p = { 0 };
	int g, i, n = MESSAGES;
	size_t len = 0;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  10 * MESSAGES));
	publish_qos0(_metadata, self, 0, MESSAGES);
	settled_sub_stats(_metadata, self, stats);
	ASSERT_GT(BEFORE_LEN + MESSAGES * PACKET_LEN,
		  stats[KMQTT_STAT_BYTES_OUT]);
	copied = stats[KMQTT_STAT_TX_COPIED];

	for (g = 0; g < GROUPS; g++) {
		for (i = 0; i < GROUP_LEN; i++)
			len += put_numbered(burst + len, n++, false);
		burst[len++] = MQTT_PINGREQ << 4;
		burst[len++] = 0;
	}
	ASSERT_EQ(sizeof(burst), len);
	ASSERT_EQ(0, mqtt_send_raw(self->sub, burst, len));
	settled_sub_stats(_metadata, self, stats);
	EXPECT_EQ(MESSAGES + GROUPS * GROUP_LEN, stats[KMQTT_STAT_MSGS_OUT]);
	EXPECT_LE(copied + GROUPS * GROUP_LEN / 2,
		  stats[KMQTT_STAT_TX_COPIED]);

	expect_range(_metadata, self->sub, 0, MESSAGES);
	for (n = MESSAGES, g = 0; g < GROUPS; g++) {
		for (i = 0; i < GROUP_LEN; i++, n++) {
			ASSERT_EQ(0, mqtt_read_packet(self->sub, &p,
						      MQTT_TEST_TIMEOUT_MS))
				TH_LOG("message %d", n);
			ASSERT_EQ(n, publish_number(_metadata, &p));
		}
		ASSERT_EQ(0, mqtt_read_packet(self->sub, &p,
					      MQTT_TEST_TIMEOUT_MS));
		ASSERT_EQ(MQTT_PINGRESP, p.type) TH_LOG("after group %d", g);
	}
	mqtt_packet_free(&p);
	ASSERT_EQ(0, mqtt_expect_silence(self->sub, 200));
}

/* A second topic, which the 5.0 subscriber takes with an identifier. */
#define TOPIC_ID	"chunk/id"
#define FORM_SUB_ID	7
#define FORM_EXPIRY	3600
/* Of each kind below, in turn; some 100 KiB for a 5.0 subscriber. */
#define FORM_MESSAGES	2400

/* A 5.0 client on @fd: 0 or -errno. */
static int connect5(int fd, const char *client_id)
{
	const struct mqtt_connect_opts opts = {
		.client_id = client_id,
		.clean_session = true,
	};
	int rc = mqtt5_send_connect(fd, &opts, NULL);

	if (!rc)
		rc = mqtt5_read_connack(fd, MQTT_TEST_TIMEOUT_MS, NULL, NULL);
	return rc ? (rc < 0 ? rc : -EPROTO) : 0;
}

/*
 * The forms of message @n: on TOPIC_ID every third, with a user property
 * every third but shifted, with an expiry interval every fifth.
 */
static bool form_on_id(int n)
{
	return n % 3 == 2;
}

static bool form_with_user_prop(int n)
{
	return n % 3 == 1;
}

static bool form_expires(int n)
{
	return n % 5 == 4;
}

/* Message @n of the 5.0 publisher, as a 5.0 subscriber must get it. */
static void expect_form5(struct __test_metadata *_metadata, int fd, int n)
{
	char payload[PAYLOAD_LEN + 1], value[16];
	const char *topic = form_on_id(n) ? TOPIC_ID : TOPIC;
	struct mqtt_packet pkt = {};
	struct mqtt5_publish m;
	uint32_t ids[4];
	int off, n_ids;

	payload_of(payload, n);
	ASSERT_EQ(0, mqtt5_read_publish(fd, &pkt, &m)) TH_LOG("message %d", n);
	EXPECT_EQ(0, m.pub.opts.qos);
	ASSERT_EQ(strlen(topic), m.pub.topic_len) TH_LOG("message %d", n);
	EXPECT_EQ(0, memcmp(topic, m.pub.topic, m.pub.topic_len));
	ASSERT_EQ(PAYLOAD_LEN, m.pub.payload_len) TH_LOG("message %d", n);
	EXPECT_EQ(0, memcmp(payload, m.pub.payload, PAYLOAD_LEN))
		TH_LOG("message %d", n);
	off = mqtt5_prop_find(&m.props, MQTT_PROP_USER_PROPERTY);
	EXPECT_EQ(form_with_user_prop(n), off >= 0) TH_LOG("message %d", n);
	if (off >= 0) {
		snprintf(value, sizeof(value), "v%d", n);
		/* Name "k", then the value: each a two-byte length first. */
		EXPECT_EQ(0, memcmp(m.props.buf + off, "\0\1k", 3));
		EXPECT_EQ(strlen(value), m.props.buf[off + 4]);
		EXPECT_EQ(0, memcmp(m.props.buf + off + 5, value,
				    strlen(value)));
	}
	n_ids = mqtt5_prop_sub_ids(&m.props, ids, 4);
	EXPECT_EQ(form_on_id(n) ? 1 : 0, n_ids) TH_LOG("message %d", n);
	if (n_ids == 1)
		EXPECT_EQ(FORM_SUB_ID, ids[0]);
	off = mqtt5_prop_find(&m.props, MQTT_PROP_MESSAGE_EXPIRY);
	EXPECT_EQ(form_expires(n), off >= 0) TH_LOG("message %d", n);
	if (off >= 0) {
		EXPECT_GE(FORM_EXPIRY, mqtt5_prop_get_u32(&m.props, off));
		EXPECT_LT(FORM_EXPIRY - 60, mqtt5_prop_get_u32(&m.props, off));
	}
	mqtt_packet_free(&pkt);
}

/*
 * Copied packets keep each client's form: a stalled 5.0 subscriber, of
 * TOPIC without and of TOPIC_ID with a subscription identifier, and the
 * stalled 3.1.1 one of TOPIC, behind full sockets, get a 5.0
 * publisher's messages, some with a user property, some with an expiry
 * interval, then the 3.1.1 publisher's.  Each arrives as it would alone:
 * the 5.0 client with the property block and what is its own (the
 * identifier, the expiry left), the 3.1.1 client without any.
 */
TEST_F_TIMEOUT(chunks, copies_keep_each_clients_form, 120)
{
	struct mqtt5_props props = { .len = 0 }, sub_props = { .len = 0 };
	static const struct mqtt_pub_opts qos0 = { .qos = 0 };
	char payload[PAYLOAD_LEN + 1], value[16];
	uint64_t stats[KMQTT_STAT_MAX + 1], sub5_id;
	uint8_t code;
	int sub5, pub5, i;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  10 * FORM_MESSAGES));
	sub5 = mqtt_client_stalled_socket(self->broker.port);
	ASSERT_LE(0, sub5);
	ASSERT_EQ(0, connect5(sub5, "chunk-sub5"));
	ASSERT_EQ(0, mqtt5_send_subscribe(sub5, 1, NULL, TOPIC, 0));
	ASSERT_EQ(0, mqtt5_expect_suback(sub5, MQTT_SUBACK, 1, &code, 1));
	mqtt5_prop_varint(&sub_props, MQTT_PROP_SUBSCRIPTION_ID, FORM_SUB_ID);
	ASSERT_EQ(0, mqtt5_send_subscribe(sub5, 2, &sub_props, TOPIC_ID, 0));
	ASSERT_EQ(0, mqtt5_expect_suback(sub5, MQTT_SUBACK, 2, &code, 1));
	ASSERT_EQ(0, kmqtt_genl_session_conn_id(&self->genl, "chunk-sub5",
						&sub5_id));
	pub5 = loopback_connect(self->broker.port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, pub5);
	ASSERT_EQ(0, connect5(pub5, "chunk-pub5"));

	for (i = 0; i < FORM_MESSAGES; i++) {
		props.len = 0;
		if (form_with_user_prop(i)) {
			snprintf(value, sizeof(value), "v%d", i);
			mqtt5_prop_pair(&props, "k", value);
		}
		if (form_expires(i))
			mqtt5_prop_u32(&props, MQTT_PROP_MESSAGE_EXPIRY,
				       FORM_EXPIRY);
		payload_of(payload, i);
		ASSERT_EQ(0, mqtt5_send_publish(pub5, form_on_id(i) ?
						TOPIC_ID : TOPIC, &props,
						payload, PAYLOAD_LEN, &qos0));
	}
	ASSERT_EQ(0, mqtt_sync(pub5));
	publish_qos0(_metadata, self, FORM_MESSAGES, 2 * FORM_MESSAGES);
	/* Behind the full sockets, most were copied. */
	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->genl, sub5_id, stats));
	EXPECT_LT(FORM_MESSAGES, stats[KMQTT_STAT_TX_COPIED]);

	for (i = 0; i < FORM_MESSAGES; i++)
		expect_form5(_metadata, sub5, i);
	/* The 3.1.1 publisher's: a property length of 0 for this client. */
	for (i = FORM_MESSAGES; i < 2 * FORM_MESSAGES; i++) {
		struct mqtt_packet pkt = {};
		struct mqtt5_publish m;

		payload_of(payload, i);
		ASSERT_EQ(0, mqtt5_read_publish(sub5, &pkt, &m));
		EXPECT_EQ(0, m.props.len);
		ASSERT_EQ(PAYLOAD_LEN, m.pub.payload_len);
		EXPECT_EQ(0, memcmp(payload, m.pub.payload, PAYLOAD_LEN))
			TH_LOG("message %d", i);
		mqtt_packet_free(&pkt);
	}
	/* The 3.1.1 subscriber: TOPIC's, no properties, any publisher. */
	for (i = 0; i < 2 * FORM_MESSAGES; i++) {
		if (i < FORM_MESSAGES && form_on_id(i))
			continue;
		payload_of(payload, i);
		ASSERT_EQ(0, mqtt_expect_publish(self->sub, TOPIC, payload,
						 PAYLOAD_LEN))
			TH_LOG("message %d", i);
	}
	close(pub5);
	close(sub5);
}

TEST_HARNESS_MAIN
