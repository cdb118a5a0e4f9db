// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile clients (issue #5): malformed or abusive input closes the
 * offending connection, with the CONNACK the spec gives where it gives one
 * (MQTT-4.8.0-1, MQTT-3.1.4-1), and harms nobody else.  For every input of
 * the table (one line each) the test asserts that:
 *
 * 1. the connection is closed by whoever owns it at that point: kmqttd
 *    while it reads the CONNECT (its log says why, after the CONNACK if
 *    any), kmqtt.ko after it (the close event gives the reason); or, for
 *    the few odd but legal inputs, answered as the spec says and kept open;
 * 2. a witness subscriber and publisher on the same broker still exchange
 *    a message and a PINGREQ round trip afterwards;
 * 3. the counters show it: protocol_errors moves by exactly one for a
 *    violation kmqtt.ko closed, by none otherwise, and nothing was attached
 *    for what kmqttd closed;
 * 4. the kernel log has no warning since the test started (kmqtt's
 *    rate-limited "closing connection" line is information, not a problem).
 *
 * Abuse that is not one packet (slowloris, clients that never read,
 * floods, the largest fields MQTT allows) has its own tests after the
 * table, with the same witness and kernel log checks.
 *
 * Statement numbers are those of the MQTT 3.1.1 OASIS Standard; sections
 * are given where the rule has no number.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

/* kmqttd -v lines name the connection's address and why it was closed. */
#define BROKER_CONFIG		"log_type all\n"
#define WITNESS_TOPIC		"witness"
/*
 * The client id of the offending connection: 'h' and 6 hex digits of the
 * test's pid, so that no test sees the closes of another's.  The raw
 * CONNECTs of the table say "hostile", replaced with it when sent.
 */
#define BAD_ID			bad_id
#define TABLE_ID		"hostile"
static char bad_id[sizeof(TABLE_ID)];
/* kmqttd's default connect timeout (-t), which the tests run with. */
#define CONNECT_TIMEOUT_MS	10000

/*
 * One kmqttd for all the tests of this file, started before the first
 * and stopped after the last by the harness's process (tests run in
 * children of it, one after the other): it must survive every input, and
 * the debug kernel pays for each start.
 */
static struct broker shared_broker;
static int shared_broker_err = -ENOENT;

static void __attribute__((constructor)) shared_broker_start(void)
{
	shared_broker_err = broker_start_config(&shared_broker, BROKER_CONFIG);
}

static void __attribute__((destructor)) shared_broker_stop(void)
{
	if (!shared_broker_err)
		broker_stop(&shared_broker, false);
	shared_broker_err = -ENOENT;
}

/* The broker under test, its witnesses and the kernel log since setup. */
struct world {
	struct broker *broker;
	struct kmqtt_genl genl;		/* requests */
	struct kmqtt_genl events;	/* CONN_CLOSED events */
	int sub, pub;			/* the witnesses */
	int kmsg;
	long log_start;			/* kmqttd's log at setup */
	unsigned int round;
};

static void world_start(struct __test_metadata *_metadata, struct world *w)
{
	char id[32];
	FILE *f;

	w->sub = -1;
	w->pub = -1;
	w->kmsg = kmsg_open();
	ASSERT_LE(0, w->kmsg);
	snprintf(bad_id, sizeof(bad_id), "h%06x", getpid() & 0xffffff);
	ASSERT_EQ(0, shared_broker_err) TH_LOG("kmqttd did not start");
	w->broker = &shared_broker;
	f = fopen(w->broker->log_path, "r");
	ASSERT_NE(NULL, f);
	fseek(f, 0, SEEK_END);
	w->log_start = ftell(f);
	fclose(f);
	ASSERT_EQ(0, kmqtt_genl_open(&w->genl));
	ASSERT_EQ(0, kmqtt_genl_open(&w->events));
	ASSERT_EQ(0, kmqtt_genl_join_events(&w->events));
	snprintf(id, sizeof(id), "%s-witness-sub", bad_id);
	w->sub = mqtt_client_open(w->broker->port, id, 0);
	ASSERT_LE(0, w->sub);
	ASSERT_EQ(0, mqtt_subscribe(w->sub, 1, WITNESS_TOPIC));
	snprintf(id, sizeof(id), "%s-witness-pub", bad_id);
	w->pub = mqtt_client_open(w->broker->port, id, 0);
	ASSERT_LE(0, w->pub);
}

/* On failure, what kmqttd logged during the test. */
static void world_stop(struct world *w, bool failed)
{
	char line[2048];
	FILE *f;

	if (w->pub >= 0)
		close(w->pub);
	if (w->sub >= 0)
		close(w->sub);
	kmqtt_genl_close(&w->events);
	kmqtt_genl_close(&w->genl);
	if (w->kmsg >= 0)
		close(w->kmsg);
	f = failed && w->broker ? fopen(w->broker->log_path, "r") : NULL;
	if (!f)
		return;
	fseek(f, w->log_start, SEEK_SET);
	fprintf(stderr, "# kmqttd's output during the test:\n");
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "#   %s%s", line,
			strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

/* The witnesses still exchange a message, and both get PINGRESP. */
static void witness_check(struct __test_metadata *_metadata, struct world *w)
{
	char payload[32];
	int n;

	n = snprintf(payload, sizeof(payload), "alive %u", w->round++);
	ASSERT_EQ(0, mqtt_send_publish(w->pub, WITNESS_TOPIC, payload, n));
	ASSERT_EQ(0, mqtt_expect_publish(w->sub, WITNESS_TOPIC, payload, n));
	ASSERT_EQ(0, mqtt_send_pingreq(w->pub));
	ASSERT_EQ(0, mqtt_expect_pingresp(w->pub));
	ASSERT_EQ(0, mqtt_send_pingreq(w->sub));
	ASSERT_EQ(0, mqtt_expect_pingresp(w->sub));
}

/* No kernel problem was logged since world_start(). */
static void kernel_log_clean(struct __test_metadata *_metadata,
			     struct world *w)
{
	int problems = kmsg_problems(w->kmsg);

	w->kmsg = -1;
	ASSERT_EQ(0, problems);
}

static void stats_now(struct __test_metadata *_metadata, struct world *w,
		      uint64_t stats[KMQTT_STAT_MAX + 1])
{
	ASSERT_EQ(0, kmqtt_genl_get_info(&w->genl, stats));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "NAME" as this test's client id: BAD_ID-NAME (see BAD_ID). */
static const char *test_id(const char *name)
{
	static char ids[8][32];
	static unsigned int next;
	char *id = ids[next++ % 8];

	snprintf(id, sizeof(ids[0]), "%s-%s", bad_id, name);
	return id;
}

/* The local port of fd: kmqttd's log names connections by it. */
static unsigned int local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len))
		return 0;
	return ntohs(sin.sin_port);
}

/*
 * kmqttd logged "... from 127.0.0.1:PORT: WHY" about the connection of
 * the client on fd: "Closing connection from" (dropped) or "Refusing
 * connection from" (CONNACK sent).  It logs before it closes.
 */
static bool agent_logged(const struct broker *b, int fd, const char *why)
{
	char want[256], line[2048];
	bool found = false;
	FILE *f;

	snprintf(want, sizeof(want), "from 127.0.0.1:%u: %s", local_port(fd),
		 why);
	f = fopen(b->log_path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want);
	fclose(f);
	if (!found)
		fprintf(stderr, "# kmqttd did not log \"%s\"\n", want);
	return found;
}

/*
 * kmqttd has finished with the connection from local port port: it logged
 * a line about it other than the accept ("New connection from"), that is
 * the attach, the refusal or the drop.  Polls for MQTT_TEST_TIMEOUT_MS.
 */
static bool agent_done_with(const struct broker *b, unsigned int port)
{
	int64_t deadline = now_ms() + MQTT_TEST_TIMEOUT_MS;
	char want[64], line[2048];
	bool found = false;
	FILE *f;

	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	while (!found && now_ms() < deadline) {
		f = fopen(b->log_path, "r");
		if (!f)
			return false;
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, want) &&
				!strstr(line, "New connection from");
		fclose(f);
		if (!found)
			usleep(10000);
	}
	if (!found)
		fprintf(stderr, "# kmqttd said nothing more about %s\n", want);
	return found;
}

/* send() that the peer may cut short by closing: 0, EPIPE or ECONNRESET. */
static int send_until_closed(int fd, const void *buf, size_t len)
{
	int err = mqtt_send_raw(fd, buf, len);

	return err == -EPIPE || err == -ECONNRESET ? 0 : err;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */

/* Who ends the offending connection. */
enum closer {
	BY_KERNEL,	/* kmqtt.ko, with .reason in the close event */
	BY_AGENT,	/* kmqttd, before ATTACH, saying .log */
	NOBODY,		/* legal: answered with .reply, kept open */
};

#define NO_CONNACK	-1
#define MAYBE_CONNACK_0	-2	/* CONNACK 0 or nothing, then the close */

FIXTURE(hostile)
{
	struct world w;
	int bad;
};

FIXTURE_VARIANT(hostile)
{
	const char *bytes;
	size_t len;
	bool before_connect;	/* sent instead of a CONNECT: kmqttd's */
	int connack;		/* return code expected first, or NO_CONNACK */
	enum closer closer;
	uint32_t reason;	/* BY_KERNEL: KMQTT_CLOSE_* */
	const char *log;	/* BY_AGENT: the reason kmqttd logs */
	const char *reply;	/* NOBODY: the answer (may be empty) */
	size_t reply_len;
	uint16_t keepalive;	/* of the offending client's CONNECT */
	bool half_close;	/* shutdown(SHUT_WR) after the bytes */
	bool fin_with_bytes;	/* corked: the FIN in the bytes' segment */
};

/* Raw bytes from a string literal (they may contain NULs). */
#define RAW(s)		.bytes = (s), .len = sizeof(s) - 1

/* After CONNECT: kmqtt.ko closes it as a protocol error, counted. */
#define VIOLATION(s) \
	RAW(s), .connack = NO_CONNACK, .closer = BY_KERNEL, \
	.reason = KMQTT_CLOSE_PROTOCOL
/* After CONNECT: odd but legal, answered with r (or nothing), kept open. */
#define ANSWERED(s, r) \
	RAW(s), .connack = NO_CONNACK, .closer = NOBODY, .reply = (r), \
	.reply_len = sizeof(r) - 1
/* After a CONNECT with keepalive 1: incomplete, so 1.5 s later closed. */
#define STALLS(s) \
	RAW(s), .connack = NO_CONNACK, .closer = BY_KERNEL, \
	.reason = KMQTT_CLOSE_KEEPALIVE, .keepalive = 1
/* After CONNECT, then the client's FIN: the peer's close, not counted. */
#define CUT_SHORT(s) \
	RAW(s), .connack = NO_CONNACK, .closer = BY_KERNEL, \
	.reason = KMQTT_CLOSE_PEER, .half_close = true
/* Instead of CONNECT: kmqttd closes without CONNACK (MQTT-3.1.4-1). */
#define DROPPED(s, why) \
	RAW(s), .before_connect = true, .connack = NO_CONNACK, \
	.closer = BY_AGENT, .log = (why)
/* The same, the client's FIN ending what it sent. */
#define DROPPED_AT_FIN(s, why) \
	RAW(s), .before_connect = true, .connack = NO_CONNACK, \
	.closer = BY_AGENT, .log = (why), .half_close = true
/* Instead of CONNECT: kmqttd answers CONNACK code, then closes. */
#define REFUSED(s, code, why) \
	RAW(s), .before_connect = true, .connack = (code), \
	.closer = BY_AGENT, .log = (why)
/*
 * A valid CONNECT and more in one write: kmqttd attaches the connection
 * with the bytes after the CONNECT left for kmqtt.ko, which ends it with
 * reason r.  Its CONNACK 0 may be lost with the close (a close discards
 * what is not sent yet).
 */
#define PIPELINED(s, r) \
	RAW(s), .before_connect = true, .connack = MAYBE_CONNACK_0, \
	.closer = BY_KERNEL, .reason = (r)
#define PIPELINED_AT_FIN(s, r) \
	RAW(s), .before_connect = true, .connack = MAYBE_CONNACK_0, \
	.closer = BY_KERNEL, .reason = (r), .half_close = true

#define HOSTILE(name, ...) FIXTURE_VARIANT_ADD(hostile, name) { __VA_ARGS__ }

/*
 * Hex escapes go on until a non-hex character: a string is split where
 * one would follow ("\x01" "a"), and topics use letters above 'f'.
 */
#define ID_HOSTILE	"\x00\x07" "hostile"
/* CONNECT 3.1.1, clean session, keepalive 0, client id "hostile". */
#define CONNECT_HOSTILE	"\x10\x13\x00\x04MQTT\x04\x02\x00\x00" ID_HOSTILE

/* 2.2.1: packet types 0 and 15 are reserved. */
HOSTILE(reserved_type_0, VIOLATION("\x00\x00"));
HOSTILE(reserved_type_15, VIOLATION("\xf0\x00"));
/* 2.2.3: the remaining length has at most four bytes. */
HOSTILE(remaining_length_5_bytes, VIOLATION("\x30\xff\xff\xff\xff\x01"));
/* 2.2.3, max_packet_size: 256 MiB announced, refused from the header. */
HOSTILE(remaining_length_over_max_packet_size,
	VIOLATION("\x30\xff\xff\xff\x7f"));
/* MQTT-2.2.2-2: fixed header flags other than those of 2.2.2. */
HOSTILE(pingreq_flags_MQTT_2_2_2_2, VIOLATION("\xc1\x00"));
HOSTILE(puback_flags_MQTT_2_2_2_2, VIOLATION("\x41\x02\x00\x01"));
/* MQTT-3.6.1-1: PUBREL flags are 0010. */
HOSTILE(pubrel_flags_0_MQTT_3_6_1_1, VIOLATION("\x60\x02\x00\x01"));
/* MQTT-3.14.1-1: DISCONNECT flags are 0. */
HOSTILE(disconnect_flags_MQTT_3_14_1_1, VIOLATION("\xe2\x00"));
/* MQTT-3.8.1-1, MQTT-3.10.1-1: SUBSCRIBE and UNSUBSCRIBE flags are 0010. */
HOSTILE(subscribe_flags_MQTT_3_8_1_1,
	VIOLATION("\x80\x06\x00\x01\x00\x01" "t\x00"));
HOSTILE(unsubscribe_flags_MQTT_3_10_1_1,
	VIOLATION("\xa0\x05\x00\x01\x00\x01" "t"));
/* MQTT-3.3.1-4: no PUBLISH with both QoS bits set. */
HOSTILE(publish_qos3_MQTT_3_3_1_4, VIOLATION("\x36\x06\x00\x01" "t\x00\x01x"));
/* MQTT-3.3.1-2: DUP is 0 in a QoS 0 PUBLISH. */
HOSTILE(publish_dup_qos0_MQTT_3_3_1_2, VIOLATION("\x38\x04\x00\x01" "tx"));
/* MQTT-3.3.2-2, MQTT-4.7.1-1: no wildcard in a topic name. */
HOSTILE(publish_topic_plus_MQTT_3_3_2_2, VIOLATION("\x30\x06\x00\x03" "t/+x"));
HOSTILE(publish_topic_hash_MQTT_3_3_2_2, VIOLATION("\x30\x04\x00\x01#x"));
/* MQTT-4.7.3-1: a topic name has at least one character. */
HOSTILE(publish_empty_topic_MQTT_4_7_3_1, VIOLATION("\x30\x03\x00\x00x"));
/* MQTT-1.5.3-1: ill-formed UTF-8 in a topic. */
HOSTILE(publish_topic_overlong_utf8_MQTT_1_5_3_1,
	VIOLATION("\x30\x05\x00\x02\xc0\xafx"));
HOSTILE(publish_topic_lone_continuation_MQTT_1_5_3_1,
	VIOLATION("\x30\x04\x00\x01\x80x"));
HOSTILE(publish_topic_surrogate_MQTT_1_5_3_1,
	VIOLATION("\x30\x06\x00\x03\xed\xa0\x80x"));
HOSTILE(publish_topic_above_u10ffff_MQTT_1_5_3_1,
	VIOLATION("\x30\x07\x00\x04\xf4\x90\x80\x80x"));
HOSTILE(publish_topic_cut_sequence_MQTT_1_5_3_1,
	VIOLATION("\x30\x05\x00\x02" "t\xe2x"));
/* MQTT-1.5.3-2: no U+0000 in a string. */
HOSTILE(publish_topic_nul_MQTT_1_5_3_2, VIOLATION("\x30\x05\x00\x02" "t\x00x"));
/* 1.5.3, 3.3.2: strings and packet ids that the packet cannot hold. */
HOSTILE(publish_topic_past_packet_end, VIOLATION("\x30\x04\x00\x0a" "tt"));
HOSTILE(publish_topic_length_cut, VIOLATION("\x30\x01\x00"));
HOSTILE(publish_qos1_no_packet_id, VIOLATION("\x32\x03\x00\x01" "t"));
HOSTILE(publish_qos1_half_packet_id, VIOLATION("\x32\x04\x00\x01" "t\x00"));
/* MQTT-2.3.1-1: a QoS 1 or 2 PUBLISH has a non-zero packet id. */
HOSTILE(publish_qos1_packet_id_0_MQTT_2_3_1_1,
	VIOLATION("\x32\x06\x00\x01" "t\x00\x00x"));
HOSTILE(publish_qos2_packet_id_0_MQTT_2_3_1_1,
	VIOLATION("\x34\x06\x00\x01" "t\x00\x00x"));
/* MQTT-3.8.3-3, MQTT-3.10.3-2: at least one topic filter. */
HOSTILE(subscribe_empty_MQTT_3_8_3_3, VIOLATION("\x82\x02\x00\x01"));
HOSTILE(unsubscribe_empty_MQTT_3_10_3_2, VIOLATION("\xa2\x02\x00\x01"));
/* MQTT-3.8.3-4: requested QoS 3, or reserved bits set. */
HOSTILE(subscribe_qos3_MQTT_3_8_3_4,
	VIOLATION("\x82\x06\x00\x01\x00\x01" "t\x03"));
HOSTILE(subscribe_reserved_bits_MQTT_3_8_3_4,
	VIOLATION("\x82\x06\x00\x01\x00\x01" "t\x04"));
/* Bit 6 too, which the module gives lazy bridges' subscriptions itself. */
HOSTILE(subscribe_queue_qos0_bit_MQTT_3_8_3_4,
	VIOLATION("\x82\x06\x00\x01\x00\x01" "t\x40"));
/* MQTT-2.3.1-1: SUBSCRIBE and UNSUBSCRIBE have a non-zero packet id. */
HOSTILE(subscribe_packet_id_0_MQTT_2_3_1_1,
	VIOLATION("\x82\x06\x00\x00\x00\x01" "t\x00"));
HOSTILE(unsubscribe_packet_id_0_MQTT_2_3_1_1,
	VIOLATION("\xa2\x05\x00\x00\x00\x01" "t"));
/* 3.8.3: each filter is followed by its QoS byte; lengths that lie. */
HOSTILE(subscribe_no_qos_byte, VIOLATION("\x82\x05\x00\x01\x00\x01" "t"));
HOSTILE(subscribe_filter_past_packet_end,
	VIOLATION("\x82\x06\x00\x01\x00\x09" "t\x00"));
HOSTILE(subscribe_filter_length_cut, VIOLATION("\x82\x03\x00\x01\x00"));
HOSTILE(subscribe_packet_id_cut, VIOLATION("\x82\x01\x00"));
/* MQTT-4.7.1-2: '#' alone in the last level of a filter. */
HOSTILE(subscribe_hash_not_last_MQTT_4_7_1_2,
	VIOLATION("\x82\x0a\x00\x01\x00\x05" "t/#/k\x00"));
HOSTILE(subscribe_hash_in_level_MQTT_4_7_1_2,
	VIOLATION("\x82\x07\x00\x01\x00\x02" "t#\x00"));
HOSTILE(unsubscribe_hash_not_last_MQTT_4_7_1_2,
	VIOLATION("\xa2\x09\x00\x01\x00\x05" "t/#/k"));
/* The same in the second filter: nothing of the packet is applied. */
HOSTILE(subscribe_second_filter_bad_MQTT_4_7_1_2,
	VIOLATION("\x82\x0b\x00\x01\x00\x01" "t\x00\x00\x02" "t#\x00"));
/* MQTT-4.7.1-3: '+' alone in its level. */
HOSTILE(subscribe_plus_in_level_MQTT_4_7_1_3,
	VIOLATION("\x82\x09\x00\x01\x00\x04" "t+/k\x00"));
HOSTILE(subscribe_plus_prefix_MQTT_4_7_1_3,
	VIOLATION("\x82\x07\x00\x01\x00\x02" "+t\x00"));
/* MQTT-4.7.3-1: a filter has at least one character. */
HOSTILE(subscribe_empty_filter_MQTT_4_7_3_1,
	VIOLATION("\x82\x05\x00\x01\x00\x00\x00"));
/* MQTT-1.5.3-1, MQTT-1.5.3-2: filters are well-formed UTF-8, no U+0000. */
HOSTILE(subscribe_filter_bad_utf8_MQTT_1_5_3_1,
	VIOLATION("\x82\x06\x00\x01\x00\x01\xff\x00"));
HOSTILE(subscribe_filter_nul_MQTT_1_5_3_2,
	VIOLATION("\x82\x07\x00\x01\x00\x02" "t\x00\x00"));
HOSTILE(unsubscribe_filter_nul_MQTT_1_5_3_2,
	VIOLATION("\xa2\x06\x00\x01\x00\x02" "t\x00"));
/* MQTT-2.3.1-1: acknowledgements carry a non-zero packet id. */
HOSTILE(puback_packet_id_0_MQTT_2_3_1_1, VIOLATION("\x40\x02\x00\x00"));
HOSTILE(pubrec_packet_id_0_MQTT_2_3_1_1, VIOLATION("\x50\x02\x00\x00"));
HOSTILE(pubrel_packet_id_0_MQTT_2_3_1_1, VIOLATION("\x62\x02\x00\x00"));
HOSTILE(pubcomp_packet_id_0_MQTT_2_3_1_1, VIOLATION("\x70\x02\x00\x00"));
/* 3.4.1, 3.5.1, 3.6.1: acknowledgements have a remaining length of 2. */
HOSTILE(puback_short, VIOLATION("\x40\x01\x00"));
HOSTILE(puback_long, VIOLATION("\x40\x03\x00\x01\x00"));
HOSTILE(pubrec_empty, VIOLATION("\x50\x00"));
HOSTILE(pubrel_long, VIOLATION("\x62\x03\x00\x01\x00"));
/* 3.12, 3.14: PINGREQ and DISCONNECT have no body. */
HOSTILE(pingreq_with_body, VIOLATION("\xc0\x01\x00"));
HOSTILE(disconnect_with_body, VIOLATION("\xe0\x01\x00"));
/* MQTT-3.1.0-2: a second CONNECT is a protocol violation. */
HOSTILE(second_connect_MQTT_3_1_0_2, VIOLATION(CONNECT_HOSTILE));
/* 2.2.1: packets only a server sends. */
HOSTILE(connack_from_client, VIOLATION("\x20\x02\x00\x00"));
HOSTILE(suback_from_client, VIOLATION("\x90\x03\x00\x01\x00"));
HOSTILE(unsuback_from_client, VIOLATION("\xb0\x02\x00\x01"));
HOSTILE(pingresp_from_client, VIOLATION("\xd0\x00"));
/* A valid packet, then a violation in the same write. */
HOSTILE(pingreq_then_reserved_type, VIOLATION("\xc0\x00\xf0\x00"));

/*
 * MQTT-4.3.3-2: PUBREL is answered with PUBCOMP, even for an id not (or
 * no longer) known; acks for ids not in flight are ignored (4.3).
 */
HOSTILE(pubrel_unknown_id_MQTT_4_3_3_2,
	ANSWERED("\x62\x02\x12\x34", "\x70\x02\x12\x34"));
HOSTILE(puback_unknown_id, ANSWERED("\x40\x02\x00\x07", ""));
HOSTILE(pubrec_unknown_id, ANSWERED("\x50\x02\x00\x07", ""));
HOSTILE(pubcomp_unknown_id, ANSWERED("\x70\x02\x00\x07", ""));
/* MQTT-3.10.4-5: UNSUBACK even when nothing was unsubscribed. */
HOSTILE(unsubscribe_not_subscribed_MQTT_3_10_4_5,
	ANSWERED("\xa2\x05\x00\x07\x00\x01" "t", "\xb0\x02\x00\x07"));
/* MQTT-4.3.3-2: a QoS 2 id resent before PUBREL gets PUBREC again. */
HOSTILE(publish_qos2_same_id_twice_MQTT_4_3_3_2,
	ANSWERED("\x34\x05\x00\x01" "t\x00\x09" "\x34\x05\x00\x01" "t\x00\x09",
		 "\x50\x02\x00\x09\x50\x02\x00\x09"));
/* 2.2.3: a remaining length in more bytes than needed is still 0. */
HOSTILE(pingreq_length_in_4_bytes, ANSWERED("\xc0\x80\x80\x80\x00", "\xd0\x00"));

/*
 * MQTT-3.1.2-24: only complete packets count as received; a client that
 * sends part of one is closed at 1.5 times its keepalive.
 */
HOSTILE(publish_cut_then_silence_MQTT_3_1_2_24,
	STALLS("\x30\x0a\x00\x08" "tt"));
HOSTILE(header_byte_then_silence_MQTT_3_1_2_24, STALLS("\x30"));
/* Part of a packet, then the client's FIN: closed, not a violation. */
HOSTILE(publish_cut_then_fin, CUT_SHORT("\x30\x0a\x00\x08" "tt"));
HOSTILE(remaining_length_cut_then_fin, CUT_SHORT("\x82\x80"));
/* One read takes the bytes and the FIN: only the next one sees the end. */
HOSTILE(publish_cut_fin_in_segment, CUT_SHORT("\x30\x0a\x00\x08" "tt"),
	.fin_with_bytes = true);

/* MQTT-3.1.0-1: the first packet is a CONNECT. */
HOSTILE(publish_before_connect_MQTT_3_1_0_1,
	DROPPED("\x30\x03\x00\x01x", "first packet is not CONNECT"));
HOSTILE(subscribe_before_connect_MQTT_3_1_0_1,
	DROPPED("\x82\x06\x00\x01\x00\x01" "t\x00",
		"first packet is not CONNECT"));
HOSTILE(pingreq_before_connect_MQTT_3_1_0_1,
	DROPPED("\xc0\x00", "first packet is not CONNECT"));
HOSTILE(disconnect_before_connect_MQTT_3_1_0_1,
	DROPPED("\xe0\x00", "first packet is not CONNECT"));
HOSTILE(connack_before_connect_MQTT_3_1_0_1,
	DROPPED("\x20\x02\x00\x00", "first packet is not CONNECT"));
HOSTILE(reserved_type_before_connect_MQTT_3_1_0_1,
	DROPPED("\xf0\x00", "first packet is not CONNECT"));
/* MQTT-2.2.2-2: CONNECT fixed header flags are 0. */
HOSTILE(connect_header_flags_MQTT_2_2_2_2,
	DROPPED("\x11\x13\x00\x04MQTT\x04\x02\x00\x00" ID_HOSTILE,
		"CONNECT with fixed header flags set (MQTT-2.2.2-2)"));
/* 2.2.3 for CONNECT; kmqttd reads at most 64 KiB of it. */
HOSTILE(connect_remaining_length_5_bytes,
	DROPPED("\x10\xff\xff\xff\xff\x01", "malformed remaining length"));
HOSTILE(connect_over_64k,
	DROPPED("\x10\xff\xff\xff\x7f\x00\x04MQTT\x04\x02\x00\x00" ID_HOSTILE,
		"CONNECT too large"));
/* MQTT-3.1.2-1: the protocol name is "MQTT" ("MQIsdp" for 3.1). */
HOSTILE(connect_protocol_name_MQTT_3_1_2_1,
	DROPPED("\x10\x13\x00\x04MQTX\x04\x02\x00\x00" ID_HOSTILE,
		"unknown protocol name (MQTT-3.1.2-1)"));
HOSTILE(connect_protocol_name_length_lies,
	DROPPED("\x10\x13\xff\xffMQTT\x04\x02\x00\x00" ID_HOSTILE,
		"truncated CONNECT"));
/* MQTT-3.1.2-2: an unsupported level gets CONNACK 1. */
HOSTILE(connect_level_6_MQTT_3_1_2_2,
	REFUSED("\x10\x13\x00\x04MQTT\x06\x02\x00\x00" ID_HOSTILE, 1,
		"unsupported protocol level (MQTT-3.1.2-2)"));
HOSTILE(connect_level_3_named_mqtt_MQTT_3_1_2_2,
	REFUSED("\x10\x13\x00\x04MQTT\x03\x02\x00\x00" ID_HOSTILE, 1,
		"unsupported protocol level (MQTT-3.1.2-2)"));
/* MQTT-3.1.2-3: the reserved connect flag is 0. */
HOSTILE(connect_reserved_flag_MQTT_3_1_2_3,
	DROPPED("\x10\x13\x00\x04MQTT\x04\x03\x00\x00" ID_HOSTILE,
		"reserved connect flag set (MQTT-3.1.2-3)"));
/* MQTT-3.1.2-14: will QoS 3. */
HOSTILE(connect_will_qos3_MQTT_3_1_2_14,
	DROPPED("\x10\x19\x00\x04MQTT\x04\x1e\x00\x00" ID_HOSTILE
		"\x00\x01w\x00\x01x", "will QoS 3 (MQTT-3.1.2-14)"));
/* MQTT-3.1.2-13, MQTT-3.1.2-15: will QoS or retain without the will flag. */
HOSTILE(connect_will_qos_without_will_MQTT_3_1_2_13,
	DROPPED("\x10\x13\x00\x04MQTT\x04\x0a\x00\x00" ID_HOSTILE,
		"will QoS or retain without will flag"));
HOSTILE(connect_will_retain_without_will_MQTT_3_1_2_15,
	DROPPED("\x10\x13\x00\x04MQTT\x04\x22\x00\x00" ID_HOSTILE,
		"will QoS or retain without will flag"));
/* MQTT-3.1.2-22: no password without a user name. */
HOSTILE(connect_password_without_user_MQTT_3_1_2_22,
	DROPPED("\x10\x16\x00\x04MQTT\x04\x42\x00\x00" ID_HOSTILE "\x00\x01p",
		"password without user name (MQTT-3.1.2-22)"));
/* MQTT-1.5.3-1, MQTT-1.5.3-2 in the client id, user name, will topic. */
HOSTILE(connect_client_id_bad_utf8_MQTT_1_5_3_1,
	DROPPED("\x10\x13\x00\x04MQTT\x04\x02\x00\x00\x00\x07host\xffle",
		"client id is not valid UTF-8"));
HOSTILE(connect_client_id_surrogate_MQTT_1_5_3_1,
	DROPPED("\x10\x13\x00\x04MQTT\x04\x02\x00\x00\x00\x07hos\xed\xb0\x80t",
		"client id is not valid UTF-8"));
HOSTILE(connect_client_id_nul_MQTT_1_5_3_2,
	DROPPED("\x10\x13\x00\x04MQTT\x04\x02\x00\x00\x00\x07host\x00le",
		"client id is not valid UTF-8"));
HOSTILE(connect_user_name_bad_utf8_MQTT_1_5_3_1,
	DROPPED("\x10\x16\x00\x04MQTT\x04\x82\x00\x00" ID_HOSTILE "\x00\x01\xfe",
		"user name is not valid UTF-8"));
HOSTILE(connect_will_topic_nul_MQTT_1_5_3_2,
	DROPPED("\x10\x1b\x00\x04MQTT\x04\x06\x00\x00" ID_HOSTILE
		"\x00\x03w\x00w\x00\x01x", "will topic is not valid UTF-8"));
/* 3.1.3.3, MQTT-4.7.1-1, MQTT-4.7.3-1: the will topic is a topic name. */
HOSTILE(connect_will_topic_wildcard_MQTT_4_7_1_1,
	DROPPED("\x10\x1b\x00\x04MQTT\x04\x06\x00\x00" ID_HOSTILE
		"\x00\x03w/#\x00\x01x", "will topic is empty or has wildcards"));
HOSTILE(connect_will_topic_empty_MQTT_4_7_3_1,
	DROPPED("\x10\x18\x00\x04MQTT\x04\x06\x00\x00" ID_HOSTILE
		"\x00\x00\x00\x01x", "will topic is empty or has wildcards"));
/* 3.1.3: the fields the flags announce, and nothing more. */
HOSTILE(connect_user_name_missing,
	DROPPED("\x10\x13\x00\x04MQTT\x04\x82\x00\x00" ID_HOSTILE,
		"truncated CONNECT"));
HOSTILE(connect_bytes_after_payload,
	DROPPED("\x10\x14\x00\x04MQTT\x04\x02\x00\x00" ID_HOSTILE "z",
		"bytes after the CONNECT payload"));
HOSTILE(connect_cut_then_fin,
	DROPPED_AT_FIN("\x10\x20\x00\x04MQTT\x04\x02\x00\x00" ID_HOSTILE,
		       "closed before CONNECT"));
/* MQTT-3.1.3-8: an empty client id needs clean session (CONNACK 2). */
HOSTILE(connect_empty_id_persistent_MQTT_3_1_3_8,
	REFUSED("\x10\x0c\x00\x04MQTT\x04\x00\x00\x00\x00\x00", 2,
		"empty client id without clean session (MQTT-3.1.3-8)"));
/* MQTT-3.1.3-9 (MQTT 3.1: 1 to 23 characters): CONNACK 2. */
HOSTILE(connect_31_id_of_24_MQTT_3_1_3_9,
	REFUSED("\x10\x26\x00\x06MQIsdp\x03\x02\x00\x00\x00\x18"
		"abcdefghijklmnopqrstuvwx", 2,
		"MQTT 3.1 client id must have 1 to 23 bytes"));
HOSTILE(connect_31_empty_id_MQTT_3_1_3_9,
	REFUSED("\x10\x0e\x00\x06MQIsdp\x03\x02\x00\x00\x00\x00", 2,
		"MQTT 3.1 client id must have 1 to 23 bytes"));
/* MQTT-3.1.3-9: 65535 bytes announced past the 64 KiB cap: CONNACK 2. */
HOSTILE(connect_id_of_65535_over_64k_MQTT_3_1_3_9,
	REFUSED("\x10\x8b\x80\x04\x00\x04MQTT\x04\x02\x00\x00\xff\xff", 2,
		"client id too long"));

/* MQTT-3.1.0-2 and 2.2: what follows a CONNECT is kmqtt.ko's to judge. */
HOSTILE(connect_then_reserved_type,
	PIPELINED(CONNECT_HOSTILE "\xf0\x00", KMQTT_CLOSE_PROTOCOL));
HOSTILE(connect_then_second_connect_MQTT_3_1_0_2,
	PIPELINED(CONNECT_HOSTILE CONNECT_HOSTILE, KMQTT_CLOSE_PROTOCOL));
HOSTILE(connect_then_empty_topic_MQTT_4_7_3_1,
	PIPELINED(CONNECT_HOSTILE "\x30\x03\x00\x00x", KMQTT_CLOSE_PROTOCOL));
/* CONNECT, DISCONNECT and FIN in one go: a clean end, in that order. */
HOSTILE(connect_disconnect_fin_at_once,
	PIPELINED_AT_FIN(CONNECT_HOSTILE "\xe0\x00", KMQTT_CLOSE_DISCONNECT));
HOSTILE(connect_then_fin, PIPELINED_AT_FIN(CONNECT_HOSTILE, KMQTT_CLOSE_PEER));

FIXTURE_SETUP(hostile)
{
	struct mqtt_connect_opts opts = {
		.client_id = BAD_ID,
		.keepalive = variant->keepalive,
		.clean_session = true,
	};

	self->bad = -1;
	world_start(_metadata, &self->w);
	if (variant->before_connect)
		self->bad = loopback_connect(self->w.broker->port,
					     MQTT_TEST_TIMEOUT_MS);
	else
		self->bad = mqtt_client_connect(self->w.broker->port, &opts,
						NULL);
	ASSERT_LE(0, self->bad);
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->bad >= 0)
		close(self->bad);
	world_stop(&self->w, !_metadata->passed);
}

/* The first packet is CONNACK 0, or the connection closes first. */
static int expect_connack_0_or_close(int fd)
{
	int code = mqtt_expect_connack(fd, MQTT_TEST_TIMEOUT_MS);

	return code == -ECONNRESET ? 0 : code;
}

/* Send the variant's bytes, its client ids ("hostile") made BAD_ID. */
static int send_variant(int fd, const FIXTURE_VARIANT(hostile) *variant)
{
	uint8_t *bytes = malloc(variant->len), *id;
	int err;

	if (!bytes)
		return -ENOMEM;
	memcpy(bytes, variant->bytes, variant->len);
	for (id = bytes; (id = memmem(id, bytes + variant->len - id, TABLE_ID,
				      strlen(TABLE_ID))); )
		memcpy(id, bad_id, strlen(TABLE_ID));
	err = mqtt_send_raw(fd, bytes, variant->len);
	free(bytes);
	return err;
}

TEST_F(hostile, closed_and_nobody_else_harmed)
{
	uint64_t before[KMQTT_STAT_MAX + 1], after[KMQTT_STAT_MAX + 1];
	struct kmqtt_nl_closed ev;
	bool attached, violation;

	witness_check(_metadata, &self->w);
	stats_now(_metadata, &self->w, before);

	if (variant->fin_with_bytes)
		ASSERT_EQ(0, setsockopt(self->bad, IPPROTO_TCP, TCP_CORK,
					&(int){ 1 }, sizeof(int)));
	ASSERT_EQ(0, send_variant(self->bad, variant));
	if (variant->half_close) {
		ASSERT_EQ(0, shutdown(self->bad, SHUT_WR));
	}
	if (variant->connack == MAYBE_CONNACK_0) {
		ASSERT_EQ(0, expect_connack_0_or_close(self->bad));
	} else if (variant->connack != NO_CONNACK) {
		ASSERT_EQ(variant->connack,
			  mqtt_expect_connack(self->bad, MQTT_TEST_TIMEOUT_MS));
	}

	switch (variant->closer) {
	case NOBODY:
		if (variant->reply_len) {
			ASSERT_EQ(0, mqtt_expect_bytes(self->bad, variant->reply,
						       variant->reply_len,
						       MQTT_TEST_TIMEOUT_MS));
		}
		/* Nothing else came, and it is served. */
		ASSERT_EQ(0, mqtt_sync(self->bad));
		break;
	case BY_AGENT:
		ASSERT_EQ(0, mqtt_wait_closed(self->bad, MQTT_TEST_TIMEOUT_MS));
		ASSERT_TRUE(agent_logged(self->w.broker, self->bad,
					 variant->log));
		break;
	case BY_KERNEL:
		ASSERT_EQ(0, mqtt_wait_closed(self->bad, MQTT_TEST_TIMEOUT_MS));
		ASSERT_EQ(0, kmqtt_genl_wait_closed_client(&self->w.events,
							   BAD_ID,
							   MQTT_TEST_TIMEOUT_MS,
							   &ev));
		ASSERT_EQ(variant->reason, ev.reason);
		/* The close is counted before the session goes. */
		ASSERT_EQ(0, kmqtt_genl_wait_session(&self->w.genl, BAD_ID,
						     KMQTT_SESSION_GONE,
						     MQTT_TEST_TIMEOUT_MS));
		break;
	}

	stats_now(_metadata, &self->w, after);
	violation = variant->closer == BY_KERNEL &&
		    variant->reason == KMQTT_CLOSE_PROTOCOL;
	attached = variant->before_connect && variant->closer != BY_AGENT;
	EXPECT_EQ(before[KMQTT_STAT_PROTOCOL_ERRORS] + violation,
		  after[KMQTT_STAT_PROTOCOL_ERRORS]);
	EXPECT_EQ(before[KMQTT_STAT_CONNECTIONS_TOTAL] + attached,
		  after[KMQTT_STAT_CONNECTIONS_TOTAL]);
	EXPECT_EQ(before[KMQTT_STAT_CONNECTIONS_REFUSED],
		  after[KMQTT_STAT_CONNECTIONS_REFUSED]);

	witness_check(_metadata, &self->w);
	kernel_log_clean(_metadata, &self->w);
}

/* ------------------------------------------------------------------ */
/* Abuse beyond one packet                                             */

FIXTURE(abuse)
{
	struct world w;
	uint64_t limits[KMQTT_LIMIT_MAX + 1];	/* restored at teardown */
	uint64_t before[KMQTT_STAT_MAX + 1];	/* after setup */
};

FIXTURE_SETUP(abuse)
{
	world_start(_metadata, &self->w);
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->w.genl, self->limits));
	stats_now(_metadata, &self->w, self->before);
}

FIXTURE_TEARDOWN(abuse)
{
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->w.genl, self->limits,
					   KMQTT_GENL_ALL_LIMITS));
	world_stop(&self->w, !_metadata->passed);
}

/* The end of every abuse test: others served, kernel quiet. */
static void abuse_done(struct __test_metadata *_metadata, struct world *w)
{
	witness_check(_metadata, w);
	kernel_log_clean(_metadata, w);
}

/* The close event of client_id's connection, and its session gone. */
static uint32_t wait_kernel_close(struct __test_metadata *_metadata,
				  struct world *w, const char *client_id,
				  int timeout_ms)
{
	struct kmqtt_nl_closed ev;

	ASSERT_EQ(0, kmqtt_genl_wait_closed_client(&w->events, client_id,
						   timeout_ms, &ev));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&w->genl, client_id,
					     KMQTT_SESSION_GONE, timeout_ms));
	return ev.reason;
}

/* Nothing arrived on fd (yet), and it is open: 0; closed: 1. */
static int poll_closed(struct __test_metadata *_metadata, int fd)
{
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	/* A CONNACK or anything else would be a failure. */
	ASSERT_GE(0, n) TH_LOG("the broker answered the slow client");
	return 1;
}

/*
 * Slowloris: clients that trickle their CONNECT a byte at a time are
 * closed at kmqttd's connect deadline, counted from accept and not moved
 * by each byte; meanwhile other clients connect and are served.
 */
#define SLOW_CLIENTS		16
#define TRICKLE_MS		250
TEST_F_TIMEOUT(abuse, slowloris_connect_closed_at_deadline, 120)
{
	char connect[256];
	struct mqtt_connect_opts opts;
	bool closed[SLOW_CLIENTS] = { false };
	int fds[SLOW_CLIENTS], open = SLOW_CLIENTS, fresh, i, sent = 0;
	int64_t start;
	char id[201];
	int sock[2];
	ssize_t len;

	/* The bytes of a CONNECT with a 200 byte client id. */
	memset(id, 's', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	opts = (struct mqtt_connect_opts){ .client_id = id,
					   .clean_session = true };
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sock));
	ASSERT_EQ(0, mqtt_send_connect(sock[0], &opts));
	len = recv(sock[1], connect, sizeof(connect), 0);
	close(sock[0]);
	close(sock[1]);
	ASSERT_LT(200, len);

	start = now_ms();
	for (i = 0; i < SLOW_CLIENTS; i++) {
		fds[i] = loopback_connect(self->w.broker->port,
					  MQTT_TEST_TIMEOUT_MS);
		ASSERT_LE(0, fds[i]);
	}
	/* One byte each per round: the CONNECT needs 200 s to complete. */
	while (open && now_ms() - start < CONNECT_TIMEOUT_MS +
					  MQTT_TEST_TIMEOUT_MS) {
		for (i = 0; i < SLOW_CLIENTS; i++) {
			if (closed[i])
				continue;
			if (poll_closed(_metadata, fds[i])) {
				closed[i] = true;
				open--;
				continue;
			}
			ASSERT_EQ(0, send_until_closed(fds[i], connect + sent,
						       1));
		}
		ASSERT_LT(sent, len);
		sent++;
		if (sent == 8) {
			/* Midway, the broker serves everybody else. */
			fresh = mqtt_client_open(self->w.broker->port,
						 test_id("fresh"), 0);
			ASSERT_LE(0, fresh);
			ASSERT_EQ(0, mqtt_sync(fresh));
			close(fresh);
			witness_check(_metadata, &self->w);
		}
		usleep(TRICKLE_MS * 1000);
	}
	ASSERT_EQ(0, open) TH_LOG("%d slow clients still open after %lld ms",
				  open, (long long)(now_ms() - start));
	for (i = 0; i < SLOW_CLIENTS; i++) {
		EXPECT_TRUE(agent_logged(self->w.broker, fds[i],
					 "no CONNECT in time"));
		close(fds[i]);
	}
	abuse_done(_metadata, &self->w);
}

/*
 * Slowloris after CONNECT (MQTT-3.1.2-24): a packet trickled a byte at a
 * time never completes, so it does not count as received and the
 * keepalive (1 s, closed at 1.5 s) ends the connection all the same.
 */
TEST_F(abuse, trickled_packet_does_not_feed_keepalive)
{
	struct mqtt_connect_opts opts = { .client_id = BAD_ID, .keepalive = 1,
					  .clean_session = true };
	static const char publish[] = "\x30\x7f\x00\x7d";
	int64_t start;
	int fd, i, closed = 0;

	fd = mqtt_client_connect(self->w.broker->port, &opts, NULL);
	ASSERT_LE(0, fd);
	start = now_ms();
	for (i = 0; !closed && now_ms() - start < MQTT_TEST_TIMEOUT_MS; i++) {
		closed = poll_closed(_metadata, fd);
		if (!closed) {
			ASSERT_EQ(0, send_until_closed(fd, i < 4 ?
						       publish + i : "t", 1));
		}
		usleep(100 * 1000);
	}
	ASSERT_TRUE(closed);
	ASSERT_EQ(KMQTT_CLOSE_KEEPALIVE,
		  wait_kernel_close(_metadata, &self->w, BAD_ID,
				    MQTT_TEST_TIMEOUT_MS));
	close(fd);
	abuse_done(_metadata, &self->w);
}

/*
 * Connections that never send anything wait in kmqttd without holding up
 * a client that does (the deadline closes them later).
 */
#define SILENT_CLIENTS		200
TEST_F(abuse, silent_connections_do_not_block_others)
{
	int fds[SILENT_CLIENTS], fd, i;
	int64_t start;

	for (i = 0; i < SILENT_CLIENTS; i++) {
		fds[i] = loopback_connect(self->w.broker->port,
					  MQTT_TEST_TIMEOUT_MS);
		ASSERT_LE(0, fds[i]);
	}
	start = now_ms();
	fd = mqtt_client_open(self->w.broker->port, test_id("fresh"), 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_sync(fd));
	ASSERT_GT(MQTT_TEST_TIMEOUT_MS, now_ms() - start);
	close(fd);
	witness_check(_metadata, &self->w);
	for (i = 0; i < SILENT_CLIENTS; i++) {
		ASSERT_EQ(0, poll_closed(_metadata, fds[i]));
		close(fds[i]);
	}
	abuse_done(_metadata, &self->w);
}

/*
 * A QoS 1 subscriber that never reads (nor acknowledges): its inflight
 * window and its queue fill to their limits and everything beyond is
 * dropped and counted, exactly; the publisher and another subscriber of
 * the same topic do not notice, and the slow one is not disconnected.
 */
#define QOS1_INFLIGHT		5
#define QOS1_QUEUE		10
#define QOS1_MESSAGES		50
TEST_F(abuse, never_reading_qos1_subscriber_is_capped)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1 };
	uint64_t stats[KMQTT_STAT_MAX + 1];
	struct kmqtt_session_info info;
	int stalled, fast, i;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->w.genl,
					  KMQTT_LIMIT_MAX_INFLIGHT,
					  QOS1_INFLIGHT));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->w.genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  QOS1_QUEUE));
	stalled = mqtt_client_open(self->w.broker->port, test_id("stalled"), 0);
	ASSERT_LE(0, stalled);
	ASSERT_EQ(0, mqtt_subscribe_qos(stalled, 1, "flow", 1));
	fast = mqtt_client_open(self->w.broker->port, test_id("fast"), 0);
	ASSERT_LE(0, fast);
	ASSERT_EQ(0, mqtt_subscribe_qos(fast, 1, "flow", 1));

	/* From here on "stalled" reads nothing. */
	for (i = 0; i < QOS1_MESSAGES; i++) {
		ASSERT_EQ(0, mqtt_publish_nth(self->w.pub, "flow", i, &qos1));
		ASSERT_EQ(0, mqtt_expect_nth(fast, "flow", i, &qos1));
	}
	ASSERT_EQ(0, mqtt_sync(self->w.pub));

	ASSERT_EQ(0, kmqtt_genl_get_session(&self->w.genl, test_id("stalled"),
					    &info));
	EXPECT_TRUE(info.online);
	EXPECT_EQ(QOS1_INFLIGHT, info.stats[KMQTT_STAT_INFLIGHT]);
	EXPECT_EQ(QOS1_QUEUE, info.stats[KMQTT_STAT_QUEUED]);
	EXPECT_EQ(QOS1_MESSAGES - QOS1_INFLIGHT - QOS1_QUEUE,
		  info.stats[KMQTT_STAT_MSGS_DROPPED]);
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->w.genl, test_id("fast"),
					    &info));
	EXPECT_EQ(0, info.stats[KMQTT_STAT_MSGS_DROPPED]);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_MSGS_DROPPED] + QOS1_MESSAGES -
		  QOS1_INFLIGHT - QOS1_QUEUE, stats[KMQTT_STAT_MSGS_DROPPED]);
	close(stalled);
	close(fast);
	abuse_done(_metadata, &self->w);
}

/*
 * A QoS 0 subscriber that never reads: what its socket does not take
 * waits in a queue bounded by max_queued_messages, the rest is dropped
 * and counted on its connection; the publisher is never blocked and a
 * subscriber that reads gets every message in order.
 */
#define QOS0_MESSAGES		2000
#define QOS0_SIZE		1024
#define QOS0_BATCH		50
#define QOS0_QUEUE		100
/* What the socket of the slow reader holds at most, in messages. */
#define QOS0_SOCKET_SLACK	400
TEST_F_TIMEOUT(abuse, never_reading_qos0_subscriber_drops_counted, 120)
{
	struct timeval tv = { .tv_sec = MQTT_TEST_TIMEOUT_MS / 1000 };
	uint64_t stats[KMQTT_STAT_MAX + 1], conn_id, dropped;
	static char payload[QOS0_SIZE];
	int stalled, fast, i, seq;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->w.genl,
					  KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
					  QOS0_QUEUE));
	ASSERT_EQ(0, setsockopt(self->w.pub, SOL_SOCKET, SO_SNDTIMEO, &tv,
				sizeof(tv)));
	stalled = mqtt_client_open_stalled(self->w.broker->port,
					   test_id("stalled"));
	ASSERT_LE(0, stalled);
	ASSERT_EQ(0, mqtt_subscribe(stalled, 1, "flow0"));
	ASSERT_EQ(0, kmqtt_genl_session_conn_id(&self->w.genl,
						test_id("stalled"), &conn_id));
	fast = mqtt_client_open(self->w.broker->port, test_id("fast"), 0);
	ASSERT_LE(0, fast);
	ASSERT_EQ(0, mqtt_subscribe(fast, 1, "flow0"));

	for (seq = 0; seq < QOS0_MESSAGES; seq += QOS0_BATCH) {
		for (i = seq; i < seq + QOS0_BATCH; i++) {
			memset(payload, 'a' + i % 26, sizeof(payload));
			ASSERT_EQ(0, mqtt_send_publish(self->w.pub, "flow0",
						       payload,
						       sizeof(payload)))
				TH_LOG("publisher blocked at message %d", i);
		}
		for (i = seq; i < seq + QOS0_BATCH; i++) {
			memset(payload, 'a' + i % 26, sizeof(payload));
			ASSERT_EQ(0, mqtt_expect_publish(fast, "flow0", payload,
							 sizeof(payload)))
				TH_LOG("reading subscriber, message %d", i);
		}
	}
	ASSERT_EQ(0, mqtt_sync(self->w.pub));

	ASSERT_EQ(0, kmqtt_genl_get_conn_stats(&self->w.genl, conn_id, stats))
		TH_LOG("the slow reader was disconnected");
	dropped = stats[KMQTT_STAT_MSGS_DROPPED];
	TH_LOG("%ju of %d messages dropped for the slow reader",
	       (uintmax_t)dropped, QOS0_MESSAGES);
	/* Unbounded, nothing would be dropped; bounded, most is. */
	EXPECT_LE(QOS0_MESSAGES - QOS0_QUEUE - QOS0_SOCKET_SLACK, dropped);
	EXPECT_EQ(QOS0_MESSAGES, stats[KMQTT_STAT_MSGS_OUT] + dropped);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_MSGS_DROPPED] + dropped,
		  stats[KMQTT_STAT_MSGS_DROPPED]);
	/* Said why: its send queue was full. */
	EXPECT_EQ(self->before[KMQTT_STAT_DROPPED_QUEUE_FULL] + dropped,
		  stats[KMQTT_STAT_DROPPED_QUEUE_FULL]);
	close(stalled);
	close(fast);
	abuse_done(_metadata, &self->w);
}

/*
 * A client that sends PUBREL after PUBREL and never reads the PUBCOMPs
 * (acks are never dropped): past 1024 queued control packets kmqtt.ko
 * closes it ("overflow"), which is not counted as a protocol error.
 */
#define ACK_FLOOD		60000
#define ACK_CHUNK		1024
TEST_F_TIMEOUT(abuse, ack_flood_without_reading_closed_as_overflow, 120)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];
	static uint8_t chunk[ACK_CHUNK * 4];
	int fd, i, j, err = 0;

	fd = mqtt_client_open_stalled(self->w.broker->port, BAD_ID);
	ASSERT_LE(0, fd);
	for (i = 0; i < ACK_FLOOD && !err; i += ACK_CHUNK) {
		for (j = 0; j < ACK_CHUNK; j++) {
			uint16_t id = (i + j) % 65535 + 1;

			chunk[4 * j] = MQTT_PUBREL << 4 |
				       MQTT_FLAGS_QOS1_RESERVED;
			chunk[4 * j + 1] = 2;
			chunk[4 * j + 2] = id >> 8;
			chunk[4 * j + 3] = id & 0xff;
		}
		err = mqtt_send_raw(fd, chunk, sizeof(chunk));
	}
	ASSERT_TRUE(!err || err == -EPIPE || err == -ECONNRESET);
	ASSERT_EQ(KMQTT_CLOSE_OVERFLOW,
		  wait_kernel_close(_metadata, &self->w, BAD_ID,
				    MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	close(fd);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_PROTOCOL_ERRORS],
		  stats[KMQTT_STAT_PROTOCOL_ERRORS]);
	abuse_done(_metadata, &self->w);
}

/*
 * A flood of SUBSCRIBEs, pipelined: max_subscriptions holds (SUBACK 0x80
 * past it, MQTT-3.9.3-2), a filter already held is still replaced
 * (MQTT-3.8.4-3), and all of it goes with the connection.
 */
#define SUB_LIMIT		100
#define SUB_FLOOD		1000
TEST_F_TIMEOUT(abuse, subscribe_flood_held_at_max_subscriptions, 60)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];
	struct kmqtt_session_info info;
	char filter[32];
	const char *f = filter;
	uint8_t code;
	int fd, i;

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->w.genl,
					  KMQTT_LIMIT_MAX_SUBSCRIPTIONS,
					  SUB_LIMIT));
	fd = mqtt_client_open(self->w.broker->port, BAD_ID, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < SUB_FLOOD; i++) {
		snprintf(filter, sizeof(filter), "flood/%d", i);
		ASSERT_EQ(0, mqtt_send_subscribe(fd, i + 1, &f, 1));
	}
	for (i = 0; i < SUB_FLOOD; i++) {
		ASSERT_EQ(0, mqtt_expect_suback(fd, i + 1, &code, 1));
		ASSERT_EQ(i < SUB_LIMIT ? 0 : MQTT_SUBACK_FAILURE, code)
			TH_LOG("SUBACK %d", i);
	}
	ASSERT_EQ(0, kmqtt_genl_get_session(&self->w.genl, BAD_ID, &info));
	EXPECT_EQ(SUB_LIMIT, info.stats[KMQTT_STAT_SUBSCRIPTIONS]);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_SUBSCRIPTIONS] + SUB_LIMIT,
		  stats[KMQTT_STAT_SUBSCRIPTIONS]);

	/* At the limit, a held filter is replaced, at its new QoS. */
	ASSERT_EQ(0, mqtt_subscribe_qos(fd, 1, "flood/0", 1));
	/* Refused filters receive nothing; granted ones do. */
	ASSERT_EQ(0, mqtt_send_publish(self->w.pub, "flood/500", "no", 2));
	ASSERT_EQ(0, mqtt_send_publish(self->w.pub, "flood/99", "yes", 3));
	ASSERT_EQ(0, mqtt_expect_publish(fd, "flood/99", "yes", 3));

	close(fd);
	ASSERT_EQ(KMQTT_CLOSE_PEER, wait_kernel_close(_metadata, &self->w,
						      BAD_ID,
						      MQTT_TEST_TIMEOUT_MS));
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_SUBSCRIPTIONS],
		  stats[KMQTT_STAT_SUBSCRIPTIONS]);
	abuse_done(_metadata, &self->w);
}

/* A string of n copies of unit, then tail; the caller frees it. */
static char *repeat(const char *unit, size_t n, const char *tail)
{
	size_t u = strlen(unit), t = strlen(tail), i;
	char *s = malloc(u * n + t + 1);

	if (!s)
		return NULL;
	for (i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	memcpy(s + n * u, tail, t + 1);
	return s;
}

/* Read a PUBLISH and check its topic, payload and retain flag. */
static int expect_long_publish(int fd, const char *topic, const char *payload,
			       bool retain)
{
	struct mqtt_packet p = { 0 };
	struct mqtt_publish pub;
	int err;

	err = mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS);
	if (!err)
		err = mqtt_parse_publish(&p, &pub);
	if (!err && (pub.topic_len != strlen(topic) ||
		     memcmp(pub.topic, topic, pub.topic_len) ||
		     pub.payload_len != strlen(payload) ||
		     memcmp(pub.payload, payload, pub.payload_len) ||
		     pub.opts.retain != retain)) {
		fprintf(stderr, "# PUBLISH of a %zu byte topic, retain %d: not the one sent\n",
			pub.topic_len, pub.opts.retain);
		err = -EPROTO;
	}
	mqtt_packet_free(&p);
	return err;
}

/*
 * A topic of 65535 bytes, the most MQTT can say (1.5.3), in one level:
 * subscribed to exactly and through '#', published retained, delivered
 * to both and later to a new subscriber, then cleared.
 */
TEST_F(abuse, topic_of_65535_bytes)
{
	static const struct mqtt_pub_opts retained = { .retain = true };
	char *topic = repeat("l", 65535, "");
	uint64_t stats[KMQTT_STAT_MAX + 1];
	int exact, all, late;

	ASSERT_NE(NULL, topic);
	exact = mqtt_client_open(self->w.broker->port, BAD_ID, 0);
	ASSERT_LE(0, exact);
	ASSERT_EQ(0, mqtt_subscribe(exact, 1, topic));
	all = mqtt_client_open(self->w.broker->port, test_id("all"), 0);
	ASSERT_LE(0, all);
	ASSERT_EQ(0, mqtt_subscribe(all, 1, "#"));

	ASSERT_EQ(0, mqtt_send_publish_opts(self->w.pub, topic, "r", 1,
					    &retained));
	ASSERT_EQ(0, mqtt_sync(self->w.pub));
	/* MQTT-3.3.1-9: no RETAIN to subscriptions that existed already. */
	ASSERT_EQ(0, expect_long_publish(exact, topic, "r", false));
	ASSERT_EQ(0, expect_long_publish(all, topic, "r", false));
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_RETAINED] + 1,
		  stats[KMQTT_STAT_RETAINED]);

	late = mqtt_client_open(self->w.broker->port, test_id("late"), 0);
	ASSERT_LE(0, late);
	ASSERT_EQ(0, mqtt_subscribe(late, 1, "+"));
	ASSERT_EQ(0, expect_long_publish(late, topic, "r", true));

	/* MQTT-3.3.1-10: an empty retained message clears it. */
	ASSERT_EQ(0, mqtt_send_publish_opts(self->w.pub, topic, "", 0,
					    &retained));
	ASSERT_EQ(0, mqtt_sync(self->w.pub));
	ASSERT_EQ(0, expect_long_publish(exact, topic, "", false));
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_RETAINED],
		  stats[KMQTT_STAT_RETAINED]);
	close(exact);
	close(all);
	close(late);
	free(topic);
	abuse_done(_metadata, &self->w);
}

/*
 * Client ids (MQTT-3.1.3-5 lets the server take longer ones than 23
 * bytes; kmqtt takes KMQTT_CLIENT_ID_MAX): one byte more gets CONNACK 2
 * (MQTT-3.1.3-9), and so does the longest a CONNECT can carry, 65535
 * bytes, refused from its length without kmqttd reading the rest.
 */
TEST_F(abuse, client_id_too_long_refused_with_connack_2)
{
	static const size_t lengths[] = { KMQTT_CLIENT_ID_MAX + 1, 65535 };
	uint64_t stats[KMQTT_STAT_MAX + 1];
	struct mqtt_connect_opts opts = { .clean_session = true };
	char *id;
	size_t i;
	int fd, err;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		id = repeat("i", lengths[i], "");
		ASSERT_NE(NULL, id);
		opts.client_id = id;
		fd = loopback_connect(self->w.broker->port,
				      MQTT_TEST_TIMEOUT_MS);
		ASSERT_LE(0, fd);
		/* kmqttd may close before all of it is sent. */
		err = mqtt_send_connect(fd, &opts);
		ASSERT_TRUE(!err || err == -EPIPE || err == -ECONNRESET);
		ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED,
			  mqtt_expect_connack(fd, MQTT_TEST_TIMEOUT_MS))
			TH_LOG("client id of %zu bytes", lengths[i]);
		ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
		EXPECT_TRUE(agent_logged(self->w.broker, fd,
					 "client id too long"));
		close(fd);
		free(id);
	}
	/* And the longest taken is taken. */
	id = repeat("i", KMQTT_CLIENT_ID_MAX, "");
	ASSERT_NE(NULL, id);
	fd = mqtt_client_open(self->w.broker->port, id, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_sync(fd));
	close(fd);
	free(id);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_CONNECTIONS_TOTAL] + 1,
		  stats[KMQTT_STAT_CONNECTIONS_TOTAL]);
	abuse_done(_metadata, &self->w);
}

/*
 * Wills: a CONNECT is read up to 64 KiB (CONNECT_MAX_REMAINING of
 * kmqttd), so a will of the most MQTT allows (65535 bytes of payload) is
 * dropped without CONNACK, as a CONNECT too large; one that fills the 64
 * KiB is taken and, on an abnormal close, published (MQTT-3.1.2-8).
 */
#define CONNECT_CAP		65536
TEST_F(abuse, will_of_max_size)
{
	struct mqtt_connect_opts opts = {
		.client_id = BAD_ID, .clean_session = true, .will_topic = "w",
	};
	/* 10 (variable header) + 2 + 7 (id) + 2 + 1 (topic) + 2 + payload */
	size_t fitting = CONNECT_CAP - 10 - 2 - strlen(BAD_ID) - 2 - 1 - 2;
	uint64_t before[KMQTT_STAT_MAX + 1], stats[KMQTT_STAT_MAX + 1];
	char *payload = repeat("W", 65535, "");
	int fd, sub, err;

	ASSERT_NE(NULL, payload);
	sub = mqtt_client_open(self->w.broker->port, test_id("will-sub"), 0);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_subscribe(sub, 1, "w"));

	opts.will_payload = payload;
	opts.will_len = 65535;
	stats_now(_metadata, &self->w, before);
	fd = loopback_connect(self->w.broker->port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, fd);
	err = mqtt_send_connect(fd, &opts);
	ASSERT_TRUE(!err || err == -EPIPE || err == -ECONNRESET);
	ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	EXPECT_TRUE(agent_logged(self->w.broker, fd, "CONNECT too large"));
	close(fd);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(before[KMQTT_STAT_CONNECTIONS_TOTAL],
		  stats[KMQTT_STAT_CONNECTIONS_TOTAL]);

	opts.will_len = fitting;
	fd = mqtt_client_connect(self->w.broker->port, &opts, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_sync(fd));
	/* A violation: the will goes out. */
	ASSERT_EQ(0, mqtt_send_raw(fd, "\xf0\x00", 2));
	ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(KMQTT_CLOSE_PROTOCOL,
		  wait_kernel_close(_metadata, &self->w, BAD_ID,
				    MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_expect_publish(sub, "w", payload, fitting));
	close(fd);
	close(sub);
	free(payload);
	abuse_done(_metadata, &self->w);
}

/*
 * max_packet_size is a bound on the whole packet, fixed header included:
 * a PUBLISH of exactly that size passes, one byte more closes the
 * connection as a protocol error, before its body is buffered.
 */
#define PACKET_LIMIT		4096
TEST_F(abuse, packet_over_max_packet_size_by_one_byte)
{
	/* 3 header bytes (remaining length 4093), topic "t" */
	static char payload[PACKET_LIMIT];
	size_t fits = PACKET_LIMIT - 3 - 2 - 1;
	uint64_t stats[KMQTT_STAT_MAX + 1];
	int fd;

	memset(payload, 'p', sizeof(payload));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->w.genl,
					  KMQTT_LIMIT_MAX_PACKET_SIZE,
					  PACKET_LIMIT));
	fd = mqtt_client_open(self->w.broker->port, BAD_ID, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe(self->w.sub, 2, "t"));
	ASSERT_EQ(0, mqtt_send_publish(fd, "t", payload, fits));
	ASSERT_EQ(0, mqtt_expect_publish(self->w.sub, "t", payload, fits));
	ASSERT_EQ(0, mqtt_sync(fd));
	ASSERT_EQ(0, mqtt_send_publish(fd, "t", payload, fits + 1));
	ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(KMQTT_CLOSE_PROTOCOL,
		  wait_kernel_close(_metadata, &self->w, BAD_ID,
				    MQTT_TEST_TIMEOUT_MS));
	close(fd);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_PROTOCOL_ERRORS] + 1,
		  stats[KMQTT_STAT_PROTOCOL_ERRORS]);
	abuse_done(_metadata, &self->w);
}

/*
 * Clients that send a CONNECT and reset the connection at once race the
 * attach: whether kmqttd or kmqtt.ko sees the reset first, nothing is
 * left behind and nothing is logged by the kernel.
 */
#define RESET_ROUNDS		20
TEST_F(abuse, connect_then_reset_races_attach)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct mqtt_connect_opts opts = { .clean_session = true };
	unsigned int ports[RESET_ROUNDS];
	char id[32];
	int fd, i;

	for (i = 0; i < RESET_ROUNDS; i++) {
		snprintf(id, sizeof(id), "%s-racer-%d", bad_id, i);
		opts.client_id = id;
		fd = loopback_connect(self->w.broker->port,
				      MQTT_TEST_TIMEOUT_MS);
		ASSERT_LE(0, fd);
		ports[i] = local_port(fd);
		ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
					sizeof(lg)));
		ASSERT_EQ(0, mqtt_send_connect(fd, &opts));
		if (i % 2)
			usleep(i * 1000);	/* vary where the reset lands */
		close(fd);
	}
	for (i = 0; i < RESET_ROUNDS; i++) {
		snprintf(id, sizeof(id), "%s-racer-%d", bad_id, i);
		ASSERT_TRUE(agent_done_with(self->w.broker, ports[i]));
		ASSERT_EQ(0, kmqtt_genl_wait_session(&self->w.genl, id,
						     KMQTT_SESSION_GONE,
						     MQTT_TEST_TIMEOUT_MS));
	}
	abuse_done(_metadata, &self->w);
}

/*
 * Wait up to DEEP_TIMEOUT_MS for a packet on fd (the answer to a costly
 * request), pinging the witnesses meanwhile: each must answer, within
 * DEEP_TIMEOUT_MS.  A SUBSCRIBE is handled a few filters per work item
 * run, and max_topic_levels (at most 1024) bounds the nodes one filter
 * makes, so witnesses whose work is queued on the same CPU wait little.
 * Returns the worst round trip, or -1 when one failed.
 */
#define DEEP_TIMEOUT_MS		(24 * MQTT_TEST_TIMEOUT_MS)
#define PING_EVERY_MS		100
static int64_t serve_witnesses_until(struct world *w, int fd)
{
	int64_t deadline = now_ms() + DEEP_TIMEOUT_MS, worst = 0, t;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int *who[] = { &w->pub, &w->sub };
	size_t i;

	while (now_ms() < deadline && !poll(&pfd, 1, PING_EVERY_MS)) {
		for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
			t = now_ms();
			if (mqtt_send_pingreq(*who[i]) ||
			    mqtt_expect_bytes(*who[i], "\xd0\x00", 2,
					      DEEP_TIMEOUT_MS))
				return -1;
			if (now_ms() - t > worst)
				worst = now_ms() - t;
		}
	}
	return worst;
}

/*
 * The deepest filters there may be, three in one SUBSCRIBE: "/" x 1023
 * (1024 empty levels), "+/" x 1023 "#" and "d/" x 1023 "d" (1024 each).
 * At the default max_topic_levels all three get 0x80 at once, before any
 * trie work.  With the limit at its maximum, KMQTT_TOPIC_LEVELS_MAX, the
 * trie takes them without recursion, matches them and lets them go, while
 * the witnesses' round trips stay short (issue #10 item 3: with 65535
 * allowed, one filter kept them waiting for 17 s on the debug kernel).
 */
#define DEEP_WITNESS_MAX_MS	100
TEST_F_TIMEOUT(abuse, topic_levels_at_their_maximum, 300)
{
	char *slashes = repeat("/", KMQTT_TOPIC_LEVELS_MAX - 1, "");
	char *plus = repeat("+/", KMQTT_TOPIC_LEVELS_MAX - 1, "#");
	char *deep = repeat("d/", KMQTT_TOPIC_LEVELS_MAX - 1, "d");
	const char *filters[3] = { slashes, plus, deep };
	uint64_t stats[KMQTT_STAT_MAX + 1];
	int64_t sub_worst, unsub_worst, t;
	int fd;

	ASSERT_NE(NULL, slashes);
	ASSERT_NE(NULL, plus);
	ASSERT_NE(NULL, deep);
	ASSERT_EQ(2 * KMQTT_TOPIC_LEVELS_MAX - 1, strlen(plus));
	ASSERT_EQ(2 * KMQTT_TOPIC_LEVELS_MAX - 1, strlen(deep));
	fd = mqtt_client_open(self->w.broker->port, BAD_ID, 0);
	ASSERT_LE(0, fd);

	/* The default limit: SUBACK 6: 0x80, 0x80, 0x80, right away. */
	ASSERT_EQ(200, self->limits[KMQTT_LIMIT_MAX_TOPIC_LEVELS]);
	t = now_ms();
	ASSERT_EQ(0, mqtt_send_subscribe(fd, 6, filters, 3));
	ASSERT_EQ(0, mqtt_expect_bytes(fd, "\x90\x05\x00\x06\x80\x80\x80", 7,
				       MQTT_TEST_TIMEOUT_MS));
	TH_LOG("refused in %lld ms", (long long)(now_ms() - t));
	witness_check(_metadata, &self->w);
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_SUBSCRIPTIONS],
		  stats[KMQTT_STAT_SUBSCRIPTIONS]);

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->w.genl,
					  KMQTT_LIMIT_MAX_TOPIC_LEVELS,
					  KMQTT_TOPIC_LEVELS_MAX));
	t = now_ms();
	ASSERT_EQ(0, mqtt_send_subscribe(fd, 7, filters, 3));
	sub_worst = serve_witnesses_until(&self->w, fd);
	/* SUBACK 7: 0, 0, 0 */
	ASSERT_EQ(0, mqtt_expect_bytes(fd, "\x90\x05\x00\x07\x00\x00\x00", 7,
				       DEEP_TIMEOUT_MS));
	TH_LOG("SUBSCRIBE took %lld ms", (long long)(now_ms() - t));
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_SUBSCRIPTIONS] + 3,
		  stats[KMQTT_STAT_SUBSCRIPTIONS]);

	/* Each deep topic matches two filters: one copy (MQTT-3.3.5-1). */
	ASSERT_EQ(0, mqtt_send_publish(self->w.pub, slashes, "s", 1));
	ASSERT_EQ(0, mqtt_expect_publish(fd, slashes, "s", 1));
	ASSERT_EQ(0, mqtt_send_publish(self->w.pub, deep, "d", 1));
	ASSERT_EQ(0, mqtt_expect_publish(fd, deep, "d", 1));
	ASSERT_EQ(0, mqtt_sync(fd));

	t = now_ms();
	ASSERT_EQ(0, mqtt_send_unsubscribe(fd, 8, filters, 3));
	unsub_worst = serve_witnesses_until(&self->w, fd);
	/* UNSUBACK 8 */
	ASSERT_EQ(0, mqtt_expect_bytes(fd, "\xb0\x02\x00\x08", 4,
				       DEEP_TIMEOUT_MS));
	TH_LOG("UNSUBSCRIBE took %lld ms", (long long)(now_ms() - t));
	stats_now(_metadata, &self->w, stats);
	EXPECT_EQ(self->before[KMQTT_STAT_SUBSCRIPTIONS],
		  stats[KMQTT_STAT_SUBSCRIPTIONS]);
	/*
	 * The nodes are freed after a grace period (kfree_rcu), by kernel
	 * work that on the debug kernel delays other work of its CPU for
	 * seconds: the publisher's round trip waits up to DEEP_TIMEOUT_MS.
	 */
	t = now_ms();
	ASSERT_EQ(0, mqtt_send_publish(self->w.pub, deep, "d", 1));
	ASSERT_EQ(0, mqtt_send_pingreq(self->w.pub));
	ASSERT_EQ(0, mqtt_expect_bytes(self->w.pub, "\xd0\x00", 2,
				       DEEP_TIMEOUT_MS));
	TH_LOG("then a PINGREQ round trip took %lld ms",
	       (long long)(now_ms() - t));
	/* Nothing was delivered: the next packet is the PINGRESP. */
	ASSERT_EQ(0, mqtt_send_pingreq(fd));
	ASSERT_EQ(0, mqtt_expect_bytes(fd, "\xd0\x00", 2, DEEP_TIMEOUT_MS));
	close(fd);
	ASSERT_EQ(KMQTT_CLOSE_PEER, wait_kernel_close(_metadata, &self->w,
						      BAD_ID,
						      DEEP_TIMEOUT_MS));
	free(slashes);
	free(plus);
	free(deep);

	TH_LOG("worst witness PINGREQ round trips: %lld ms, %lld ms",
	       (long long)sub_worst, (long long)unsub_worst);
	EXPECT_LE(0, sub_worst) TH_LOG("a witness went unserved");
	EXPECT_LE(0, unsub_worst) TH_LOG("a witness went unserved");
	EXPECT_GT(DEEP_WITNESS_MAX_MS, sub_worst);
	EXPECT_GT(DEEP_WITNESS_MAX_MS, unsub_worst);
	abuse_done(_metadata, &self->w);
}

TEST_HARNESS_MAIN
