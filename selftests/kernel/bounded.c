// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded work per packet (issue #10 item 3).  A client with the most
 * subscriptions it may have (max_subscriptions, 10000) and a store of
 * many retained messages sends the largest SUBSCRIBE (max_packet_size,
 * 1 MiB) it may, some of its filters walking every retained message, then
 * the largest UNSUBSCRIBE.  The module handles such a packet over many
 * work item runs, so meanwhile a witness's PINGREQ round trip stays short
 * and a publisher of retained messages is not held up.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "direct.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define MAX_SUBSCRIPTIONS	10000
#define MAX_PACKET		(1024 * 1024)
/* Retained messages; the debug kernel sends them about 15 times slower. */
#define RETAINED		100000
#define RETAINED_DEBUG		10000
/* Filters of the big SUBSCRIBE that walk every retained message. */
#define WALKS			8
/* Filters per SUBSCRIBE while the client gathers its subscriptions. */
#define BATCH			500
/*
 * What a witness may wait, under emulation (TCG), debug kernel included.
 * About 100 ms is seen on a loaded host; a big packet handled in one run
 * would hold it for the whole packet, 15 to 80 s.
 */
#define WITNESS_MAX_MS		500
#define WITNESS_EVERY_MS	20
#define BIG_TIMEOUT_MS		(10 * 60 * 1000)

FIXTURE(bounded)
{
	struct kmqtt_genl genl;
	struct direct direct;
	int kmsg;
	int big, witness, retainer;
	int retained;			/* ret/0.. stored by the test */
	uint64_t retained_before;
};

FIXTURE_SETUP(bounded)
{
	self->big = -1;
	self->witness = -1;
	self->retainer = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, direct_open(&self->direct));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_RETAINED,
					 &self->retained_before));
}

static int publish_retained(int fd, int n, bool clear);

/* The store as it was, whatever happened. */
FIXTURE_TEARDOWN(bounded)
{
	static const struct mqtt_pub_opts retain = { .retain = true };
	uint64_t retained;

	if (self->retainer >= 0) {
		EXPECT_EQ(0, mqtt_send_publish_opts(self->retainer, "p/last",
						    "", 0, &retain));
		EXPECT_EQ(0, publish_retained(self->retainer, self->retained,
					      true));
	}
	EXPECT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_RETAINED,
					 &retained));
	EXPECT_EQ(self->retained_before, retained);
	close(self->big);
	close(self->witness);
	close(self->retainer);
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool debug_kernel(void)
{
	return !access("/sys/kernel/debug/kmemleak", F_OK);
}

/*
 * Retained QoS 0 messages ret/0 .. ret/n-1, or empty ones to clear them,
 * all handled when this returns (the PINGRESP after them has come).  They
 * go many to a write: one each costs a receive run per message, which the
 * debug kernel makes about 2 ms.
 */
static int publish_retained(int fd, int n, bool clear)
{
	struct mqtt_packet p = { 0 };
	uint8_t buf[64 * 1024];
	size_t len = 0;
	int i, err = 0;

	for (i = 0; i < n && !err; i++) {
		/* PUBLISH, retain, QoS 0: remaining length, topic, payload. */
		int topic_len = snprintf((char *)buf + len + 4, 32, "ret/%d", i);

		buf[len] = MQTT_PUBLISH << 4 | 1;
		buf[len + 1] = 2 + topic_len + !clear;
		buf[len + 2] = 0;
		buf[len + 3] = topic_len;
		len += 4 + topic_len;
		if (!clear)
			buf[len++] = 'r';
		if (len > sizeof(buf) - 64 || i == n - 1) {
			err = mqtt_send_raw(fd, buf, len);
			len = 0;
		}
	}
	if (!err)
		err = mqtt_send_pingreq(fd);
	/* A PUBACK the serving loop did not wait for may come first. */
	while (!err) {
		err = mqtt_read_packet(fd, &p, BIG_TIMEOUT_MS);
		if (!err && p.type == MQTT_PINGRESP)
			break;
		if (!err && p.type != MQTT_PUBACK)
			err = -EPROTO;
	}
	mqtt_packet_free(&p);
	return err;
}

/* filters[i] = "big/<first + i>" for i < n; freed by the caller. */
static char **big_filters(int first, int n)
{
	char **f = calloc(n, sizeof(*f));
	int i;

	for (i = 0; f && i < n; i++)
		if (asprintf(&f[i], "big/%d", first + i) < 0)
			return NULL;
	return f;
}

static void free_filters(char **f, int n)
{
	int i;

	for (i = 0; f && i < n; i++)
		free(f[i]);
	free(f);
}

/* Filters of "big/<i>" (and a QoS byte) that fill a packet of max bytes. */
static int filters_to_fill(size_t used, size_t max, bool qos)
{
	int n = 0;

	for (;;) {
		char one[16];
		size_t len = snprintf(one, sizeof(one), "big/%d",
				      MAX_SUBSCRIPTIONS + n) + 2 + qos;

		if (used + len > max)
			return n;
		used += len;
		n++;
	}
}

struct serve {
	int64_t witness_worst;
	int64_t retainer_worst;
	uint64_t discarded;		/* what the big client read meanwhile */
	bool witness_waiting, retainer_waiting;
	int64_t witness_sent, retainer_sent;
	uint16_t next_id;
};

/*
 * Until the big client's PINGRESP (sent after its big packet), keep a
 * PINGREQ of the witness and a retained QoS 1 PUBLISH of the retainer
 * going, and read what the big client gets.  0, or -errno.
 */
static int serve_until_pingresp(FIXTURE_DATA(bounded) *self, struct serve *s)
{
	static const uint8_t pingresp[] = { MQTT_PINGRESP << 4, 0 };
	struct mqtt_pub_opts opts = { .qos = 1, .retain = true };
	int64_t deadline = now_ms() + BIG_TIMEOUT_MS, now;
	struct mqtt_packet p = { 0 };
	int err = 0;

	while (!err) {
		struct pollfd pfd[3] = {
			{ .fd = self->big, .events = POLLIN },
			{ .fd = self->witness, .events = POLLIN },
			{ .fd = self->retainer, .events = POLLIN },
		};

		now = now_ms();
		if (now > deadline)
			return -ETIMEDOUT;
		if (!s->witness_waiting &&
		    now - s->witness_sent >= WITNESS_EVERY_MS) {
			err = mqtt_send_pingreq(self->witness);
			s->witness_sent = now;
			s->witness_waiting = true;
		}
		if (!err && !s->retainer_waiting &&
		    now - s->retainer_sent >= WITNESS_EVERY_MS) {
			opts.packet_id = ++s->next_id ? s->next_id : ++s->next_id;
			err = mqtt_send_publish_opts(self->retainer, "p/last",
						     "x", 1, &opts);
			s->retainer_sent = now;
			s->retainer_waiting = true;
		}
		if (err || poll(pfd, 3, WITNESS_EVERY_MS) < 0)
			break;
		now = now_ms();
		if (pfd[1].revents) {
			err = mqtt_expect_bytes(self->witness, pingresp, 2,
						MQTT_TEST_TIMEOUT_MS);
			if (now - s->witness_sent > s->witness_worst)
				s->witness_worst = now - s->witness_sent;
			s->witness_waiting = false;
		}
		if (!err && pfd[2].revents) {
			err = mqtt_expect_pub_ack(self->retainer, MQTT_PUBACK,
						  opts.packet_id);
			if (now - s->retainer_sent > s->retainer_worst)
				s->retainer_worst = now - s->retainer_sent;
			s->retainer_waiting = false;
		}
		if (!err && pfd[0].revents) {
			err = mqtt_read_packet(self->big, &p,
					       MQTT_TEST_TIMEOUT_MS);
			if (!err && p.type == MQTT_PINGRESP)
				break;
			s->discarded++;
		}
	}
	/* Else the next call, which starts at id 1, reads this one's ack. */
	if (!err && s->retainer_waiting) {
		err = mqtt_expect_pub_ack(self->retainer, MQTT_PUBACK,
					  opts.packet_id);
		s->retainer_waiting = false;
	}
	mqtt_packet_free(&p);
	return err;
}

TEST_F_TIMEOUT(bounded, largest_subscribe_and_unsubscribe_keep_others_served,
	       900)
{
	int retained = debug_kernel() ? RETAINED_DEBUG : RETAINED;
	struct serve first = { 0 }, sub = { 0 }, unsub = { 0 };
	int64_t start, sub_ms, unsub_ms;
	static uint8_t codes[BATCH];
	uint64_t subs_before, subs;
	char **filters, **big;
	int i, j, n, fillers;
	size_t used;

	self->retainer = direct_client(&self->direct, &self->genl,
				       "bounded-retainer", true, NULL, NULL);
	ASSERT_LE(0, self->retainer);
	start = now_ms();
	self->retained = retained;
	ASSERT_EQ(0, publish_retained(self->retainer, retained, false));
	TH_LOG("%d retained messages stored in %lld ms", retained,
	       (long long)(now_ms() - start));
	self->witness = direct_client(&self->direct, &self->genl,
				      "bounded-witness", true, NULL, NULL);
	ASSERT_LE(0, self->witness);
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_SUBSCRIPTIONS,
					 &subs_before));

	/* 9999 filters and "ret/#": the most subscriptions it may have. */
	self->big = direct_client(&self->direct, &self->genl, "bounded-big",
				  true, NULL, NULL);
	ASSERT_LE(0, self->big);
	filters = big_filters(1, MAX_SUBSCRIPTIONS - 1);
	ASSERT_NE(NULL, filters);
	for (i = 0; i < MAX_SUBSCRIPTIONS - 1; i += BATCH) {
		n = MAX_SUBSCRIPTIONS - 1 - i < BATCH ?
		    MAX_SUBSCRIPTIONS - 1 - i : BATCH;
		ASSERT_EQ(0, mqtt_send_subscribe(self->big, 2,
						 (const char *const *)filters + i,
						 n));
		ASSERT_EQ(0, mqtt_expect_suback(self->big, 2, codes, n));
		for (j = 0; j < n; j++)
			ASSERT_EQ(0, codes[j]);
	}
	free_filters(filters, MAX_SUBSCRIPTIONS - 1);
	/* Every retained message comes (what the queue takes of them). */
	ASSERT_EQ(0, mqtt_send_subscribe(self->big, 1,
					 (const char *const []){ "ret/#" }, 1));
	ASSERT_EQ(0, mqtt_send_pingreq(self->big));
	ASSERT_EQ(0, serve_until_pingresp(self, &first));
	TH_LOG("SUBSCRIBE ret/#: witness worst %lld ms, retaining publisher worst %lld ms; %ju packets to the client",
	       (long long)first.witness_worst, (long long)first.retainer_worst,
	       (uintmax_t)first.discarded);
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_SUBSCRIPTIONS,
					 &subs));
	ASSERT_EQ(subs_before + MAX_SUBSCRIPTIONS, subs);

	/*
	 * The largest SUBSCRIBE: "ret/#" WALKS times (each replaces the
	 * subscription and sends every retained message again, MQTT-3.8.4-3),
	 * then new filters up to 1 MiB, all refused (0x80) at the limit.
	 */
	used = 5 + 2 + WALKS * (2 + 5 + 1);
	fillers = filters_to_fill(used, MAX_PACKET, true);
	big = calloc(WALKS + fillers, sizeof(*big));
	ASSERT_NE(NULL, big);
	for (i = 0; i < WALKS; i++)
		big[i] = "ret/#";
	filters = big_filters(MAX_SUBSCRIPTIONS, fillers);
	ASSERT_NE(NULL, filters);
	memcpy(big + WALKS, filters, fillers * sizeof(*big));
	start = now_ms();
	ASSERT_EQ(0, mqtt_send_subscribe(self->big, 3,
					 (const char *const *)big,
					 WALKS + fillers));
	ASSERT_EQ(0, mqtt_send_pingreq(self->big));
	ASSERT_EQ(0, serve_until_pingresp(self, &sub));
	sub_ms = now_ms() - start;
	TH_LOG("SUBSCRIBE of %d filters (%d walking %d retained): %lld ms; witness worst %lld ms, retaining publisher worst %lld ms; %ju packets to the client",
	       WALKS + fillers, WALKS, retained, (long long)sub_ms,
	       (long long)sub.witness_worst, (long long)sub.retainer_worst,
	       (uintmax_t)sub.discarded);
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_SUBSCRIPTIONS,
					 &subs));
	EXPECT_EQ(subs_before + MAX_SUBSCRIPTIONS, subs);

	/* The largest UNSUBSCRIBE: its 9999 "big/" filters, and more. */
	free_filters(filters, fillers);
	fillers = filters_to_fill(5 + 2, MAX_PACKET, false);
	filters = big_filters(1, fillers);
	ASSERT_NE(NULL, filters);
	start = now_ms();
	ASSERT_EQ(0, mqtt_send_unsubscribe(self->big, 4,
					   (const char *const *)filters,
					   fillers));
	ASSERT_EQ(0, mqtt_send_pingreq(self->big));
	ASSERT_EQ(0, serve_until_pingresp(self, &unsub));
	unsub_ms = now_ms() - start;
	TH_LOG("UNSUBSCRIBE of %d filters: %lld ms; witness worst %lld ms, retaining publisher worst %lld ms",
	       fillers, (long long)unsub_ms, (long long)unsub.witness_worst,
	       (long long)unsub.retainer_worst);
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_SUBSCRIPTIONS,
					 &subs));
	EXPECT_EQ(subs_before + 1, subs);
	free_filters(filters, fillers);
	free(big);

	EXPECT_GT(WITNESS_MAX_MS, first.witness_worst);
	EXPECT_GT(WITNESS_MAX_MS, first.retainer_worst);
	EXPECT_GT(WITNESS_MAX_MS, sub.witness_worst);
	EXPECT_GT(WITNESS_MAX_MS, sub.retainer_worst);
	EXPECT_GT(WITNESS_MAX_MS, unsub.witness_worst);
	EXPECT_GT(WITNESS_MAX_MS, unsub.retainer_worst);

}

TEST_HARNESS_MAIN
