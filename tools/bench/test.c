// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kmqtt-bench's pure parts (TAP): the MQTT codec against
 * bytes written out by hand from the 3.1.1 spec, topic matching, the
 * histogram's percentiles, sequence tracking, and the scenario plans
 * against a brute-force matcher.  `make -C tools/bench test`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int tests, failures;

static void ok(bool cond, const char *what)
{
	tests++;
	if (!cond)
		failures++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, what);
}

static bool bytes_are(const uint8_t *got, size_t got_len,
		      const uint8_t *want, size_t want_len)
{
	return got_len == want_len && !memcmp(got, want, want_len);
}

/* subscriber.c retires messages from publishers' windows; not here. */
void publisher_retire(struct bench *b, uint32_t pub, uint32_t seq,
		      struct worker *by)
{
	(void)b;
	(void)pub;
	(void)seq;
	(void)by;
}

static void test_encoders(void)
{
	static const uint8_t connect[] = {
		0x10, 0x0e, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02,
		0x00, 0x3c, 0x00, 0x02, 'k', 'b',
	};
	static const uint8_t subscribe[] = {
		0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', '/', 'b', 0x01,
	};
	static const uint8_t publish[] = {
		0x32, 0x08, 0x00, 0x01, 't', 0x00, 0x05,
	};
	static const uint8_t puback[] = { 0x40, 0x02, 0x00, 0x05 };
	static const uint8_t pubrel[] = { 0x62, 0x02, 0x12, 0x34 };
	static const uint8_t pubcomp[] = { 0x70, 0x02, 0x12, 0x34 };
	static const uint8_t pingreq[] = { 0xc0, 0x00 };
	static const uint8_t disconnect[] = { 0xe0, 0x00 };
	static const uint8_t connack[] = { 0x20, 0x02, 0x00, 0x00 };
	static const uint8_t suback[] = { 0x90, 0x03, 0x00, 0x01, 0x01 };
	uint8_t buf[64];
	size_t n;

	n = mqtt_put_connect(buf, sizeof(buf), "kb", 60);
	ok(bytes_are(buf, n, connect, sizeof(connect)), "CONNECT bytes");
	ok(!mqtt_put_connect(buf, 10, "kb", 60), "CONNECT too large is 0");
	n = mqtt_put_subscribe(buf, sizeof(buf), 1, "a/b", 1);
	ok(bytes_are(buf, n, subscribe, sizeof(subscribe)), "SUBSCRIBE bytes");
	n = mqtt_put_publish_header(buf, sizeof(buf), "t", 1, 1, 5, 3);
	ok(bytes_are(buf, n, publish, sizeof(publish)),
	   "PUBLISH QoS 1 header bytes");
	ok(mqtt_publish_len(1, 1, 3) == 10, "PUBLISH length");
	ok(!mqtt_put_publish_header(buf, 9, "t", 1, 1, 5, 3),
	   "PUBLISH that does not fit is 0");
	n = mqtt_put_ack(buf, sizeof(buf), MQTT_PUBACK, 5);
	ok(bytes_are(buf, n, puback, sizeof(puback)), "PUBACK bytes");
	n = mqtt_put_ack(buf, sizeof(buf), MQTT_PUBREL, 0x1234);
	ok(bytes_are(buf, n, pubrel, sizeof(pubrel)),
	   "PUBREL bytes, reserved flags 0010");
	n = mqtt_put_ack(buf, sizeof(buf), MQTT_PUBCOMP, 0x1234);
	ok(bytes_are(buf, n, pubcomp, sizeof(pubcomp)), "PUBCOMP bytes");
	n = mqtt_put_empty(buf, sizeof(buf), MQTT_PINGREQ);
	ok(bytes_are(buf, n, pingreq, sizeof(pingreq)), "PINGREQ bytes");
	n = mqtt_put_empty(buf, sizeof(buf), MQTT_DISCONNECT);
	ok(bytes_are(buf, n, disconnect, sizeof(disconnect)),
	   "DISCONNECT bytes");
	n = mqtt_put_connack(buf, sizeof(buf), 0);
	ok(bytes_are(buf, n, connack, sizeof(connack)), "CONNACK bytes");
	n = mqtt_put_suback(buf, sizeof(buf), 1, 1);
	ok(bytes_are(buf, n, suback, sizeof(suback)), "SUBACK bytes");
}

/* Remaining length boundaries of 2.2.3: 127/128, 16383/16384. */
static void test_remaining_length(void)
{
	static uint8_t buf[20000];
	struct mqtt_packet pkt;
	size_t hdr;

	hdr = mqtt_put_publish_header(buf, sizeof(buf), "t", 1, 0, 0, 124);
	ok(hdr == 5 && buf[1] == 127, "remaining length 127: one byte");
	hdr = mqtt_put_publish_header(buf, sizeof(buf), "t", 1, 0, 0, 125);
	ok(hdr == 6 && buf[1] == 0x80 && buf[2] == 0x01,
	   "remaining length 128: 0x80 0x01");
	hdr = mqtt_put_publish_header(buf, sizeof(buf), "t", 1, 0, 0, 16380);
	ok(hdr == 6 && buf[1] == 0xff && buf[2] == 0x7f,
	   "remaining length 16383: 0xff 0x7f");
	hdr = mqtt_put_publish_header(buf, sizeof(buf), "t", 1, 0, 0, 16381);
	ok(hdr == 7 && buf[1] == 0x80 && buf[2] == 0x80 && buf[3] == 0x01,
	   "remaining length 16384: 0x80 0x80 0x01");
	ok(mqtt_frame(buf, 16388, sizeof(buf), &pkt) == 16388 &&
	   pkt.type == MQTT_PUBLISH && pkt.len == 16384,
	   "frame of a 3-byte remaining length");
	ok(mqtt_frame(buf, 16387, sizeof(buf), &pkt) == 0,
	   "one byte short: incomplete");
	ok(mqtt_frame(buf, 16388, 16387, &pkt) == -1, "over max: refused");
}

static void test_frames(void)
{
	static const uint8_t bad_length[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t two[] = {
		0x30, 0x05, 0x00, 0x01, 'x', 'h', 'i',
		0x40, 0x02, 0xab, 0xcd,
	};
	static const uint8_t qos2[] = {
		0x3c, 0x07, 0x00, 0x01, 'y', 0x00, 0x09, 'o', 'k',
	};
	struct mqtt_packet pkt;
	struct mqtt_publish m;
	uint16_t id = 0;
	ssize_t n;

	ok(mqtt_frame(bad_length, sizeof(bad_length), 1 << 30, &pkt) == -1,
	   "five-byte remaining length: malformed");
	ok(mqtt_frame(two, 1, 64, &pkt) == 0, "one byte: incomplete");
	n = mqtt_frame(two, sizeof(two), 64, &pkt);
	ok(n == 7 && !mqtt_parse_publish(&pkt, &m) && m.qos == 0 &&
	   m.topic_len == 1 && m.topic[0] == 'x' && m.payload_len == 2 &&
	   !memcmp(m.payload, "hi", 2), "QoS 0 PUBLISH parsed");
	ok(mqtt_frame(two + n, sizeof(two) - n, 64, &pkt) == 4 &&
	   pkt.type == MQTT_PUBACK && !mqtt_parse_id(&pkt, &id) &&
	   id == 0xabcd, "PUBACK after it, id 0xabcd");
	ok(mqtt_frame(qos2, sizeof(qos2), 64, &pkt) == 9 &&
	   !mqtt_parse_publish(&pkt, &m) && m.qos == 2 && m.dup &&
	   m.id == 9 && m.payload_len == 2, "QoS 2 DUP PUBLISH parsed");
}

static void test_parsers(void)
{
	uint8_t buf[64], granted, rc, qos;
	struct mqtt_packet pkt;
	const uint8_t *s;
	size_t len;
	uint16_t id;

	mqtt_frame(buf, mqtt_put_connect(buf, sizeof(buf), "kb-1-7", 5), 64,
		   &pkt);
	ok(!mqtt_parse_connect(&pkt, &s, &len) && len == 6 &&
	   !memcmp(s, "kb-1-7", 6), "CONNECT client id parsed");
	mqtt_frame(buf, mqtt_put_subscribe(buf, sizeof(buf), 3, "a/+", 2), 64,
		   &pkt);
	ok(!mqtt_parse_subscribe(&pkt, &id, &s, &len, &qos) && id == 3 &&
	   len == 3 && !memcmp(s, "a/+", 3) && qos == 2,
	   "SUBSCRIBE parsed");
	mqtt_frame(buf, mqtt_put_suback(buf, sizeof(buf), 3, 0x80), 64, &pkt);
	ok(!mqtt_parse_suback(&pkt, &id, &granted) && id == 3 &&
	   granted == 0x80, "SUBACK failure code parsed");
	mqtt_frame(buf, mqtt_put_connack(buf, sizeof(buf), 5), 64, &pkt);
	ok(!mqtt_parse_connack(&pkt, &rc) && rc == 5, "CONNACK code parsed");
}

static void test_topics(void)
{
	static const struct {
		const char *filter, *topic;
		bool match;
	} cases[] = {
		{ "a/b", "a/b", true },
		{ "a/b", "a/c", false },
		{ "a/+", "a/b", true },
		{ "a/+", "a/b/c", false },
		{ "a/+", "a/", true },
		{ "a/#", "a", true },
		{ "a/#", "a/b/c", true },
		{ "#", "a/b", true },
		{ "#", "$SYS/x", false },
		{ "+/b", "$SYS/b", false },
		{ "$SYS/#", "$SYS/x", true },
		{ "+/+/c", "a/b/c", true },
		{ "+/+/c", "a/b/d", false },
		{ "a/b/c", "a/b", false },
		{ "a", "a/b", false },
	};
	unsigned int i;
	bool all = true;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = mqtt_topic_matches(cases[i].filter, cases[i].topic);

		if (got != cases[i].match) {
			printf("# %s vs %s: %d\n", cases[i].filter,
			       cases[i].topic, got);
			all = false;
		}
	}
	ok(all, "topic filter matching (4.7)");
}

static void test_hist(void)
{
	static struct hist h, other;
	uint64_t v, p50, p99, p999;
	unsigned int i;
	bool exact = true, monotonic = true;

	hist_init(&h);
	for (v = 0; v < 2 * HIST_SUB; v++)
		exact &= hist_bucket_high(hist_index(v)) == v;
	ok(exact, "values below 64 are exact");
	for (i = 1; i < HIST_BUCKETS; i++)
		monotonic &= hist_bucket_high(i) > hist_bucket_high(i - 1) &&
			     hist_index(hist_bucket_high(i)) == i;
	ok(monotonic, "buckets are contiguous and increasing");
	ok(hist_index(UINT64_MAX) == HIST_BUCKETS - 1,
	   "the largest value fits the last bucket");
	for (v = 1; v <= 100000; v++)
		hist_add(&h, v * 1000);
	p50 = hist_percentile(&h, 50);
	p99 = hist_percentile(&h, 99);
	p999 = hist_percentile(&h, 99.9);
	ok(p50 >= 50000000 && p50 <= 50000000 + 50000000 / 32,
	   "p50 of 1..100000 us within 1/32");
	ok(p99 >= 99000000 && p99 <= 99000000 + 99000000 / 32,
	   "p99 within 1/32");
	ok(p999 >= 99900000 && p999 <= 100000000, "p99.9 within 1/32");
	ok(hist_percentile(&h, 100) == 100000000 && h.max == 100000000,
	   "p100 is the max");
	ok(hist_mean(&h) == 50000500, "mean is exact");
	hist_init(&other);
	hist_add(&other, 7);
	hist_merge(&other, &h);
	ok(other.count == 100001 && other.min == 7 &&
	   hist_percentile(&other, 0.0001) == 7, "merge keeps min and count");
	hist_init(&other);
	ok(hist_percentile(&other, 99) == 0, "empty histogram: 0");
}

static void test_track(void)
{
	struct track t = { 0 };
	bool fresh[8];

	fresh[0] = track_seq(&t, 0);
	fresh[1] = track_seq(&t, 1);
	fresh[2] = track_seq(&t, 4);	/* 2 and 3 missing */
	fresh[3] = track_seq(&t, 3);	/* late */
	fresh[4] = track_seq(&t, 3);	/* duplicate */
	fresh[5] = track_seq(&t, 1);	/* duplicate */
	fresh[6] = track_seq(&t, 200);	/* far ahead */
	fresh[7] = track_seq(&t, 2);	/* too old to tell: duplicate */
	ok(fresh[0] && fresh[1] && fresh[2] && fresh[3] && !fresh[4] &&
	   !fresh[5] && fresh[6] && !fresh[7], "new, late and duplicates");
	ok(t.received == 5 && t.late == 1 && t.dups == 3 && t.next == 201,
	   "counts: 5 received, 1 late, 3 duplicates");
	memset(&t, 0, sizeof(t));
	t.next = UINT32_MAX;
	ok(track_seq(&t, UINT32_MAX) && track_seq(&t, 0) && t.next == 1 &&
	   !track_seq(&t, UINT32_MAX), "sequence numbers wrap");
}

static bool plan_matches_brute_force(const struct plan *plan)
{
	uint32_t s, p, k;

	for (s = 0; s < plan->nsubs; s++) {
		for (p = 0, k = 0; p < plan->npubs; p++) {
			if (!mqtt_topic_matches(plan->sub_filter[s],
						plan->pub_topic[p]))
				continue;
			if (k >= plan->sub_npubs[s] || plan->sub_pubs[s][k] != p)
				return false;
			k++;
		}
		if (k != plan->sub_npubs[s])
			return false;
	}
	return true;
}

static void test_plans(void)
{
	struct plan_params pp = { .prefix = "bench" };
	struct plan plan;
	uint32_t i;
	bool pairs = true;

	pp.scenario = SCENARIO_FANOUT;
	pp.pubs = 1;
	pp.subs = 100;
	ok(!plan_build(&plan, &pp) && plan.nclients == 101 &&
	   plan_deliveries(&plan) == 100 && plan.client_pub[0] == 0 &&
	   plan.client_sub[1] == 0, "fanout 1 -> 100");
	plan_free(&plan);

	pp.scenario = SCENARIO_FANIN;
	pp.pubs = 100;
	pp.subs = 2;
	ok(!plan_build(&plan, &pp) && plan_deliveries(&plan) == 200 &&
	   plan.sub_npubs[1] == 100 && plan_matches_brute_force(&plan),
	   "fanin 100 -> 2");
	plan_free(&plan);

	pp.scenario = SCENARIO_PAIRWISE;
	pp.pairs = 1000;
	ok(!plan_build(&plan, &pp), "pairwise 1000 built");
	for (i = 0; i < plan.nsubs; i++)
		pairs &= plan.sub_npubs[i] == 1 &&
			 plan.sub_pubs[i][0] == (i + 1) % 1000 &&
			 plan.pub_nsubs[i] == 1 && plan.client_pub[i] == (int)i;
	ok(pairs && plan_sub_slot(&plan, 5, 6) == 0 &&
	   plan_sub_slot(&plan, 5, 7) == -1,
	   "pairwise: one other subscriber per topic");
	plan_free(&plan);
	pp.pairs = 1;
	ok(plan_build(&plan, &pp) != 0, "pairwise 1 refused");

	pp.scenario = SCENARIO_WILDCARD;
	pp.pubs = 300;
	pp.subs = 150;
	ok(!plan_build(&plan, &pp) && plan_matches_brute_force(&plan) &&
	   plan_deliveries(&plan) > plan.npubs,
	   "wildcard matches equal brute force, fan-out above 1");
	for (i = 0; i < 5; i++)
		printf("# %s: %u publishers\n", plan.sub_filter[i],
		       plan.sub_npubs[i]);
	plan_free(&plan);
}

int main(void)
{
	printf("TAP version 13\n");
	test_encoders();
	test_remaining_length();
	test_frames();
	test_parsers();
	test_topics();
	test_hist();
	test_track();
	test_plans();
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
