// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-in as fleets drive it (issue #10 item 0): many publishers on one
 * topic, one subscriber reading as fast as it can, each publisher sending
 * its next QoS 0 message the instant its last one reached the subscriber,
 * so at most one message per publisher is ever inside the broker.  Far
 * below every queue limit, nothing may be dropped, and no drop may be
 * counted.  On the debug kernel the same load runs while failslab fails
 * allocations that cannot sleep: the fan-out's only such are chunks,
 * and a packet whose chunk fails goes in its delivery instead.
 */
#include <errno.h>
#include <poll.h>
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

#define MAX_PUBS	200
#define TOPIC		"fanin/one"
/* How long publishers publish; then what is on its way must arrive. */
#define RUN_MS		3000
#define DRAIN_MS	10000

struct stamp {
	uint32_t pub;
	uint32_t seq;
	uint8_t filler[8];
};

FIXTURE(fanin)
{
	struct kmqtt_genl genl;
	struct direct direct;
	int kmsg;
	int sub;
	int pubs[MAX_PUBS];
	uint32_t sent[MAX_PUBS];
	uint32_t next[MAX_PUBS];	/* the sequence expected next */
	bool failslab;
};

FIXTURE_VARIANT(fanin)
{
	int npubs;
	/* Fail this percentage of kmqtt's non-sleeping slab allocations. */
	unsigned int nowait_failures;
};

FIXTURE_VARIANT_ADD(fanin, pubs_20)
{
	.npubs = 20,
};

FIXTURE_VARIANT_ADD(fanin, pubs_200)
{
	.npubs = 200,
};

FIXTURE_VARIANT_ADD(fanin, pubs_200_nowait_allocations_failing)
{
	.npubs = 200,
	.nowait_failures = 20,
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

FIXTURE_SETUP(fanin)
{
	char id[32];
	int i;

	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, direct_open(&self->direct));
	memset(self->pubs, -1, sizeof(self->pubs));
	self->sub = direct_client(&self->direct, &self->genl, "fanin-sub", true,
				  NULL, NULL);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, TOPIC));
	for (i = 0; i < variant->npubs; i++) {
		snprintf(id, sizeof(id), "fanin-pub-%d", i);
		self->pubs[i] = direct_client(&self->direct, &self->genl, id,
					      true, NULL, NULL);
		ASSERT_LE(0, self->pubs[i]);
	}
}

FIXTURE_TEARDOWN(fanin)
{
	int i;

	if (self->failslab)
		EXPECT_EQ(0, failslab_stop());
	for (i = 0; i < MAX_PUBS; i++)
		if (self->pubs[i] >= 0)
			close(self->pubs[i]);
	close(self->sub);
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

static int publish_next(FIXTURE_DATA(fanin) *self, uint32_t pub)
{
	struct stamp st = { .pub = pub, .seq = self->sent[pub]++ };

	memset(st.filler, 'f', sizeof(st.filler));
	return mqtt_send_publish(self->pubs[pub], TOPIC, &st, sizeof(st));
}

/* PUBLISH of TOPIC with a struct stamp, QoS 0: one remaining length byte. */
#define FRAME_LEN	(2 + 2 + sizeof(TOPIC) - 1 + sizeof(struct stamp))

/*
 * Read what the subscriber got, in large reads as a busy client does; each
 * message makes its publisher send the next one unless stop.  Returns the
 * messages received (0 after a second of silence).
 */
static int64_t subscriber_read(struct __test_metadata *_metadata,
			       FIXTURE_DATA(fanin) *self, int npubs, bool stop)
{
	static uint8_t buf[64 * FRAME_LEN];
	static size_t len;
	struct pollfd pfd = { .fd = self->sub, .events = POLLIN };
	int64_t got = 0;
	struct stamp st;
	size_t off = 0;
	ssize_t n;

	if (poll(&pfd, 1, 1000) <= 0)
		return 0;
	n = read(self->sub, buf + len, sizeof(buf) - len);
	ASSERT_LT(0, n) TH_LOG("subscriber: %s", n ? strerror(errno) : "EOF");
	len += n;
	for (; len - off >= FRAME_LEN; off += FRAME_LEN) {
		const uint8_t *f = buf + off;

		ASSERT_EQ(MQTT_PUBLISH << 4, f[0]);
		ASSERT_EQ(FRAME_LEN - 2, f[1]);
		memcpy(&st, f + FRAME_LEN - sizeof(st), sizeof(st));
		ASSERT_GT(npubs, (int)st.pub);
		/* One publisher's messages arrive in order (MQTT 4.6). */
		ASSERT_EQ(self->next[st.pub], st.seq);
		self->next[st.pub]++;
		got++;
		if (!stop)
			ASSERT_EQ(0, publish_next(self, st.pub));
	}
	len -= off;
	memmove(buf, buf + off, len);
	return got;
}

TEST_F_TIMEOUT(fanin, qos0_to_a_healthy_subscriber_all_delivered, 120)
{
	uint64_t dropped_before, dropped, injected = 0, sent = 0, got = 0;
	int64_t start, n;
	int i;

	if (variant->nowait_failures) {
		if (!failslab_available())
			SKIP(return, "no failslab in this kernel (debug kernel only)");
		self->failslab = true;
		ASSERT_EQ(0, failslab_start(variant->nowait_failures, false));
	}
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MSGS_DROPPED,
					 &dropped_before));
	for (i = 0; i < variant->npubs; i++)
		ASSERT_EQ(0, publish_next(self, i));
	start = now_ms();
	while (now_ms() - start < RUN_MS) {
		n = subscriber_read(_metadata, self, variant->npubs, false);
		ASSERT_LE(0, n);
		got += n;
	}
	for (i = 0; i < variant->npubs; i++)
		sent += self->sent[i];
	start = now_ms();
	while (got < sent && now_ms() - start < DRAIN_MS) {
		n = subscriber_read(_metadata, self, variant->npubs, true);
		ASSERT_LE(0, n);
		got += n;
	}
	if (self->failslab)
		ASSERT_EQ(0, failslab_injected(&injected));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl, KMQTT_STAT_MSGS_DROPPED,
					 &dropped));
	TH_LOG("%d publishers: %ju sent, %ju received, %ju dropped; %ju allocation failures injected",
	       variant->npubs, (uintmax_t)sent, (uintmax_t)got,
	       (uintmax_t)(dropped - dropped_before), (uintmax_t)injected);
	EXPECT_EQ(sent, got);
	EXPECT_EQ(dropped_before, dropped);
	/* Every publisher got its turn, many times. */
	for (i = 0; i < variant->npubs; i++)
		EXPECT_LT(1, self->sent[i]);
}

TEST_HARNESS_MAIN
