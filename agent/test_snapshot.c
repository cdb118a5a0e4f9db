// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of agent/snapshot.c: the records of a snapshot, written and read
 * back, expiry carried in wall-clock time, and a snapshot with any bad
 * record refused whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "kselftest_harness.h"

#define NOW	1000000

/* "a/b" with no properties, payload "xy" */
static const uint8_t plain[] = { 0, 3, 'a', '/', 'b', 0, 'x', 'y' };
/* "t", a User Property, payload "p" */
static const uint8_t with_props[] = {
	0, 1, 't', 7, 0x26, 0, 1, 'k', 0, 1, 'v', 'p',
};

struct seen {
	struct kmqtt_nl_msg m[8];
	size_t count;
	struct kmqtt_nl_session sessions[2];
	size_t n_sessions;
	struct kmqtt_nl_subscription subs[3];
	char filters[3][64];
	size_t n_subs;
	struct kmqtt_nl_session_msg msgs[2];
	size_t n_msgs;
	char qos2_client[16];
	uint16_t qos2_ids[4];
	size_t n_qos2;
	char order[8];		/* r, s, u for each record handed out */
};

static void keep(const struct kmqtt_nl_msg *m, void *arg)
{
	struct seen *s = arg;

	strncat(s->order, "r", sizeof(s->order) - strlen(s->order) - 1);
	if (s->count < 8)
		s->m[s->count] = *m;
	s->count++;
}

static void keep_session(const struct kmqtt_nl_session *session, void *arg)
{
	struct seen *s = arg;

	strncat(s->order, "s", sizeof(s->order) - strlen(s->order) - 1);
	if (s->n_sessions < 2)
		s->sessions[s->n_sessions] = *session;
	s->n_sessions++;
}

static void keep_session_msg(const struct kmqtt_nl_session_msg *sm,
			     void *arg)
{
	struct seen *s = arg;

	strncat(s->order, "m", sizeof(s->order) - strlen(s->order) - 1);
	if (s->n_msgs < 2)
		s->msgs[s->n_msgs] = *sm;
	s->n_msgs++;
}

static void keep_qos2(const char *client_id, const uint16_t *ids, size_t n,
		      void *arg)
{
	struct seen *s = arg;

	strncat(s->order, "q", sizeof(s->order) - strlen(s->order) - 1);
	snprintf(s->qos2_client, sizeof(s->qos2_client), "%s", client_id);
	s->n_qos2 = n;
	memcpy(s->qos2_ids, ids, (n < 4 ? n : 4) * sizeof(*ids));
}

static void keep_subscription(const struct kmqtt_nl_subscription *sub,
			      void *arg)
{
	struct seen *s = arg;

	strncat(s->order, "u", sizeof(s->order) - strlen(s->order) - 1);
	if (s->n_subs < 3) {
		s->subs[s->n_subs] = *sub;
		snprintf(s->filters[s->n_subs], sizeof(s->filters[0]), "%s",
			 sub->filter);
	}
	s->n_subs++;
}

FIXTURE(snapshot) {
	struct persist_buf buf;
	struct snapshot_header hdr;
	struct snapshot_counts counts;
	struct seen seen;
	char err[256];
};

FIXTURE_SETUP(snapshot)
{
	struct snapshot_header hdr = { .instance = 0x1122334455667788ULL,
				       .saved_at = NOW - 10 };

	memset(&self->seen, 0, sizeof(self->seen));
	persist_buf_init(&self->buf);
	snapshot_put_header(&self->buf, &hdr);
}

FIXTURE_TEARDOWN(snapshot)
{
	persist_buf_free(&self->buf);
}

static int read_all(FIXTURE_DATA(snapshot) *self)
{
	const struct snapshot_visitor v = {
		.retained = keep, .session = keep_session,
		.subscription = keep_subscription,
		.session_msg = keep_session_msg, .session_qos2 = keep_qos2,
		.arg = &self->seen,
	};

	return snapshot_read(self->buf.data, self->buf.len, NOW, &self->hdr,
			     &self->counts, &v, self->err, sizeof(self->err));
}

TEST_F(snapshot, round_trip)
{
	struct kmqtt_nl_msg a = { .qos = 1, .data = plain,
				  .len = sizeof(plain) };
	struct kmqtt_nl_msg b = { .qos = 2, .expiry = 60, .data = with_props,
				  .len = sizeof(with_props) };

	snapshot_put_retained(&self->buf, &a, NOW - 10);
	snapshot_put_retained(&self->buf, &b, NOW - 10);
	ASSERT_FALSE(self->buf.failed);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_EQ(0x1122334455667788ULL, self->hdr.instance);
	EXPECT_EQ(NOW - 10, self->hdr.saved_at);
	ASSERT_EQ(2, self->seen.count);
	EXPECT_EQ(2, self->counts.retained);
	EXPECT_EQ(0, self->counts.expired);
	EXPECT_EQ(1, self->seen.m[0].qos);
	EXPECT_EQ(0, self->seen.m[0].expiry);
	ASSERT_EQ(sizeof(plain), self->seen.m[0].len);
	EXPECT_EQ(0, memcmp(plain, self->seen.m[0].data, sizeof(plain)));
	EXPECT_EQ(2, self->seen.m[1].qos);
	/* Saved with 60 s left, read 10 s later. */
	EXPECT_EQ(50, self->seen.m[1].expiry);
	EXPECT_EQ(0, memcmp(with_props, self->seen.m[1].data,
			    sizeof(with_props)));
}

/* The time the box was off counts: what expired meanwhile is left out. */
TEST_F(snapshot, expired_left_out)
{
	struct kmqtt_nl_msg m = { .qos = 0, .expiry = 5, .data = plain,
				  .len = sizeof(plain) };

	snapshot_put_retained(&self->buf, &m, NOW - 5);
	m.expiry = 6;
	snapshot_put_retained(&self->buf, &m, NOW - 5);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_EQ(1, self->counts.expired);
	ASSERT_EQ(1, self->seen.count);
	EXPECT_EQ(1, self->seen.m[0].expiry);
}

/* A snapshot is used whole: one bad record and nothing is handed out. */
TEST_F(snapshot, bad_record_refuses_all)
{
	static const uint8_t wildcard[] = { 0, 1, '#', 0, 'p' };
	struct kmqtt_nl_msg good = { .data = plain, .len = sizeof(plain) };
	struct kmqtt_nl_msg bad = { .data = wildcard,
				    .len = sizeof(wildcard) };

	snapshot_put_retained(&self->buf, &good, NOW);
	snapshot_put_retained(&self->buf, &bad, NOW);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_STREQ("record 3: not a retained message", self->err);
	EXPECT_EQ(0, self->seen.count);
}

/* An empty retained message is a deletion: none is ever saved. */
TEST_F(snapshot, empty_retained_refused)
{
	static const uint8_t empty[] = { 0, 1, 't', 0 };
	struct kmqtt_nl_msg m = { .data = empty, .len = sizeof(empty) };

	snapshot_put_retained(&self->buf, &m, NOW);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_STREQ("record 2: not a retained message", self->err);
	EXPECT_EQ(0, self->seen.count);
}

/*
 * A client may publish an empty message, and have an empty will: queued
 * or pending, each is a session's like any other.
 */
TEST_F(snapshot, empty_session_messages_kept)
{
	static const uint8_t empty[] = { 0, 1, 't', 0 };
	struct kmqtt_nl_session_msg sm = {
		.client_id = "e",
		.m = { .qos = 1, .data = empty, .len = sizeof(empty) },
	};

	snapshot_put_session_msg(&self->buf, &sm, NOW);
	sm.will = true;
	snapshot_put_session_msg(&self->buf, &sm, NOW);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	ASSERT_EQ(2, self->seen.n_msgs);
	EXPECT_FALSE(self->seen.msgs[0].will);
	EXPECT_EQ(sizeof(empty), self->seen.msgs[0].m.len);
	EXPECT_TRUE(self->seen.msgs[1].will);
	EXPECT_EQ(sizeof(empty), self->seen.msgs[1].m.len);
}

TEST_F(snapshot, unknown_type_refused)
{
	persist_put_u8(&self->buf, 99);
	persist_put_bytes(&self->buf, "x", 1);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_STREQ("record 2: a type this kmqttd does not know", self->err);
}

TEST_F(snapshot, header_first_and_once)
{
	struct snapshot_header hdr = { 0 };
	struct persist_buf other;

	snapshot_put_header(&self->buf, &hdr);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_STREQ("record 2: not a header", self->err);

	persist_buf_init(&other);
	EXPECT_EQ(-EBADMSG, snapshot_read(other.data, 0, NOW, &self->hdr,
					  &self->counts, NULL, self->err,
					  sizeof(self->err)));
	EXPECT_STREQ("record 0: no header", self->err);
	persist_put_u8(&other, 2);
	persist_put_bytes(&other, plain, sizeof(plain));
	EXPECT_EQ(-EBADMSG, snapshot_read(other.data, other.len, NOW,
					  &self->hdr, &self->counts, NULL,
					  self->err, sizeof(self->err)));
	EXPECT_STREQ("record 1: no header first", self->err);
	persist_buf_free(&other);
	EXPECT_EQ(0, self->seen.count);
}

/* Cut anywhere inside a record: refused, never read past. */
TEST_F(snapshot, cut_anywhere_refused)
{
	struct kmqtt_nl_msg m = { .qos = 1, .expiry = 9, .data = with_props,
				  .len = sizeof(with_props) };
	size_t full, header_len = self->buf.len, n;

	snapshot_put_retained(&self->buf, &m, NOW);
	full = self->buf.len;
	for (n = header_len + 1; n < full; n++) {
		uint8_t *copy = malloc(n);

		ASSERT_NE(NULL, copy);
		memcpy(copy, self->buf.data, n);
		EXPECT_EQ(-EBADMSG,
			  snapshot_read(copy, n, NOW, &self->hdr,
					&self->counts, NULL, self->err,
					sizeof(self->err)))
			TH_LOG("cut at %zu", n);
		free(copy);
	}
	EXPECT_EQ(0, self->seen.count);
}

/*
 * Persistent sessions and their subscriptions come back in the order
 * saved; the time a session was offline counts from when it went
 * offline, and an online one's from the save.
 */
TEST_F(snapshot, sessions_and_subscriptions)
{
	struct kmqtt_nl_session s = {
		.client_id = "dev-1", .session_expiry = 0xffffffff,
		.offline_for = 30, .has_username = true, .username = "alice",
	};
	struct kmqtt_nl_subscription sub = {
		.client_id = "dev-1", .filter = "$share/g/a/+", .options = 1,
		.sub_id = 7,
	};

	snapshot_put_session(&self->buf, &s, NOW - 100);
	s = (struct kmqtt_nl_session){ .client_id = "dev-2",
				       .session_expiry = 60, .online = true,
				       .bridge = true };
	snapshot_put_session(&self->buf, &s, NOW - 100);
	snapshot_put_subscription(&self->buf, &sub);
	sub.filter = "b/#";
	sub.options = 0x2e;	/* QoS 2, no local, as published, handling 2 */
	sub.sub_id = 0;
	snapshot_put_subscription(&self->buf, &sub);
	/* A lazy bridge's: QoS 0 queued while offline. */
	snprintf(sub.client_id, sizeof(sub.client_id), "dev-2");
	sub.filter = "c/#";
	sub.options = KMQTT_SUBOPT_QUEUE_QOS0 | 0x0c;
	snapshot_put_subscription(&self->buf, &sub);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_STREQ("ssuuu", self->seen.order);
	EXPECT_EQ(2, self->counts.sessions);
	EXPECT_EQ(3, self->counts.subscriptions);
	EXPECT_FALSE(self->seen.sessions[0].bridge);
	EXPECT_TRUE(self->seen.sessions[1].bridge);
	EXPECT_STREQ("dev-1", self->seen.sessions[0].client_id);
	EXPECT_EQ(0xffffffff, self->seen.sessions[0].session_expiry);
	EXPECT_EQ(130, self->seen.sessions[0].offline_for);
	EXPECT_TRUE(self->seen.sessions[0].has_username);
	EXPECT_STREQ("alice", self->seen.sessions[0].username);
	EXPECT_STREQ("dev-2", self->seen.sessions[1].client_id);
	EXPECT_EQ(60, self->seen.sessions[1].session_expiry);
	EXPECT_EQ(100, self->seen.sessions[1].offline_for);
	EXPECT_FALSE(self->seen.sessions[1].has_username);
	EXPECT_STREQ("$share/g/a/+", self->seen.filters[0]);
	EXPECT_EQ(1, self->seen.subs[0].options);
	EXPECT_EQ(1, self->seen.subs[0].qos);
	EXPECT_EQ(7, self->seen.subs[0].sub_id);
	EXPECT_STREQ("b/#", self->seen.filters[1]);
	EXPECT_EQ(0x2e, self->seen.subs[1].options);
	EXPECT_EQ(2, self->seen.subs[1].qos);
	EXPECT_EQ(KMQTT_SUBOPT_QUEUE_QOS0 | 0x0c, self->seen.subs[2].options);
	EXPECT_EQ(0, self->seen.subs[2].qos);
}

/* What no session or SUBSCRIBE could have been is refused whole. */
TEST_F(snapshot, bad_sessions_and_subscriptions_refused)
{
	static const struct {
		const char *filter;
		uint8_t options;
	} bad_subs[] = {
		{ "a/#/b", 0 },			/* not a filter */
		{ "$share/g/a", 4 },		/* No Local, shared */
		{ "$share//a", 0 },		/* no group */
		{ "a", 3 },			/* QoS 3 */
		{ "a", 0x30 },			/* retain handling 3 */
		{ "a", 0x80 },			/* reserved bit */
	};
	struct kmqtt_nl_session s = { .client_id = "c",
				      .session_expiry = 0 };
	struct kmqtt_nl_subscription sub = { .client_id = "c" };
	size_t header_len = self->buf.len, i;

	/* A session that ends with its connection is never saved. */
	snapshot_put_session(&self->buf, &s, NOW);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_STREQ("record 2: not a session", self->err);
	for (i = 0; i < sizeof(bad_subs) / sizeof(bad_subs[0]); i++) {
		self->buf.len = header_len;
		sub.filter = bad_subs[i].filter;
		sub.options = bad_subs[i].options;
		snapshot_put_subscription(&self->buf, &sub);
		EXPECT_EQ(-EBADMSG, read_all(self)) TH_LOG("%s %#x",
							   sub.filter,
							   sub.options);
	}
	self->buf.len = header_len;
	sub.filter = "a";
	sub.options = 0;
	sub.sub_id = 268435456;
	snapshot_put_subscription(&self->buf, &sub);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_EQ(0, self->seen.n_subs + self->seen.n_sessions);
}

/*
 * A session's messages: in flight with their packet id (a QoS 2 one at
 * PUBREL) or queued, their subscription identifiers and the expiry left.
 */
TEST_F(snapshot, session_messages)
{
	struct kmqtt_nl_session_msg sm = {
		.client_id = "dev-1", .retain = true, .packet_id = 9,
		.released = true, .n_sub_ids = 2, .sub_ids = { 3, 268435455 },
		.m = { .qos = 2, .expiry = 100, .data = with_props,
		       .len = sizeof(with_props) },
	};
	const struct kmqtt_nl_session_msg *got = &self->seen.msgs[0];

	snapshot_put_session_msg(&self->buf, &sm, NOW - 40);
	/* Queued at QoS 1: no packet id yet. */
	sm = (struct kmqtt_nl_session_msg){
		.client_id = "dev-1",
		.m = { .qos = 1, .data = plain, .len = sizeof(plain) },
	};
	snapshot_put_session_msg(&self->buf, &sm, NOW - 40);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_STREQ("mm", self->seen.order);
	EXPECT_EQ(2, self->counts.session_msgs);
	EXPECT_STREQ("dev-1", got->client_id);
	EXPECT_TRUE(got->retain);
	EXPECT_EQ(9, got->packet_id);
	EXPECT_TRUE(got->released);
	ASSERT_EQ(2, got->n_sub_ids);
	EXPECT_EQ(3, got->sub_ids[0]);
	EXPECT_EQ(268435455, got->sub_ids[1]);
	EXPECT_EQ(2, got->m.qos);
	EXPECT_EQ(60, got->m.expiry);
	ASSERT_EQ(sizeof(with_props), got->m.len);
	EXPECT_EQ(0, memcmp(with_props, got->m.data, sizeof(with_props)));
	EXPECT_EQ(0, self->seen.msgs[1].packet_id);
	EXPECT_EQ(1, self->seen.msgs[1].m.qos);
}

/*
 * The time the box was off counts for a queued message; one in flight
 * goes again whatever its expiry, without one.
 */
TEST_F(snapshot, session_message_expiry)
{
	struct kmqtt_nl_session_msg sm = {
		.client_id = "c", .m = { .qos = 2, .expiry = 5, .data = plain,
					 .len = sizeof(plain) },
	};

	snapshot_put_session_msg(&self->buf, &sm, NOW - 10);
	sm.packet_id = 4;
	sm.released = true;
	snapshot_put_session_msg(&self->buf, &sm, NOW - 10);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_EQ(1, self->counts.expired);
	ASSERT_EQ(1, self->seen.n_msgs);
	EXPECT_EQ(4, self->seen.msgs[0].packet_id);
	EXPECT_EQ(0, self->seen.msgs[0].m.expiry);
}

/* What no session could have had in flight or queued is refused. */
TEST_F(snapshot, bad_session_messages_refused)
{
	struct kmqtt_nl_session_msg bad[] = {
		/* QoS 0 with a packet id */
		{ .packet_id = 1, .m = { .qos = 0 } },
		/* released with QoS 1, or queued */
		{ .packet_id = 1, .released = true, .m = { .qos = 1 } },
		{ .packet_id = 0, .released = true, .m = { .qos = 2 } },
		/* a subscription identifier 0 */
		{ .n_sub_ids = 1, .m = { .qos = 0 } },
	};
	size_t header_len = self->buf.len, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		self->buf.len = header_len;
		strcpy(bad[i].client_id, "c");
		bad[i].m.data = plain;
		bad[i].m.len = sizeof(plain);
		snapshot_put_session_msg(&self->buf, &bad[i], NOW);
		EXPECT_EQ(-EBADMSG, read_all(self)) TH_LOG("case %zu", i);
		EXPECT_STREQ("record 2: not a message of a session", self->err);
	}
	EXPECT_EQ(0, self->seen.n_msgs);
}

/*
 * A session's will keeps what is left of its delay, the time the box was
 * off included: one due while it was off goes out at once.  A clock set
 * back does not lengthen it.
 */
TEST_F(snapshot, session_wills)
{
	struct kmqtt_nl_session_msg sm = {
		.client_id = "w", .retain = true, .will = true,
		.will_delay = 100,
		.m = { .qos = 1, .data = with_props, .len = sizeof(with_props) },
	};
	const struct kmqtt_nl_session_msg *got = self->seen.msgs;

	snapshot_put_session_msg(&self->buf, &sm, NOW - 40);
	sm.retain = false;
	sm.will_delay = 30;
	snapshot_put_session_msg(&self->buf, &sm, NOW - 40);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_EQ(2, self->counts.session_msgs);
	ASSERT_EQ(2, self->seen.n_msgs);
	EXPECT_STREQ("w", got[0].client_id);
	EXPECT_TRUE(got[0].will);
	EXPECT_TRUE(got[0].retain);
	EXPECT_EQ(60, got[0].will_delay);
	EXPECT_EQ(0, got[0].packet_id);
	EXPECT_EQ(1, got[0].m.qos);
	ASSERT_EQ(sizeof(with_props), got[0].m.len);
	EXPECT_EQ(0, memcmp(with_props, got[0].m.data, sizeof(with_props)));
	EXPECT_TRUE(got[1].will);
	EXPECT_FALSE(got[1].retain);
	EXPECT_EQ(0, got[1].will_delay);

	/* Saved 10 s after NOW by a clock that was ahead: 100 s at most. */
	self->buf.len = 0;
	self->hdr = (struct snapshot_header){ .saved_at = NOW + 10 };
	snapshot_put_header(&self->buf, &self->hdr);
	sm.will_delay = 100;
	snapshot_put_session_msg(&self->buf, &sm, NOW + 10);
	memset(&self->seen, 0, sizeof(self->seen));
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_EQ(100, got[0].will_delay);
}

/* A will record that is not one is refused with the rest. */
TEST_F(snapshot, bad_session_will_refused)
{
	struct kmqtt_nl_session_msg sm = {
		.client_id = "w", .will = true,
		.m = { .qos = 3, .data = plain, .len = sizeof(plain) },
	};

	snapshot_put_session_msg(&self->buf, &sm, NOW);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_STREQ("record 2: not a session's will", self->err);
	EXPECT_EQ(0, self->seen.n_msgs);
}

/* A session's inbound QoS 2 packet ids: 1..65535, none refused. */
TEST_F(snapshot, session_qos2_ids)
{
	static const uint16_t ids[] = { 1, 700, 65535 };
	static const uint16_t zero[] = { 5, 0 };
	size_t header_len = self->buf.len;

	snapshot_put_session_qos2(&self->buf, "dev-9", ids, 3);
	ASSERT_EQ(0, read_all(self)) TH_LOG("%s", self->err);
	EXPECT_STREQ("q", self->seen.order);
	EXPECT_STREQ("dev-9", self->seen.qos2_client);
	ASSERT_EQ(3, self->seen.n_qos2);
	EXPECT_EQ(0, memcmp(ids, self->seen.qos2_ids, sizeof(ids)));

	self->buf.len = header_len;
	snapshot_put_session_qos2(&self->buf, "dev-9", zero, 2);
	EXPECT_EQ(-EBADMSG, read_all(self));
	EXPECT_STREQ("record 2: not a session's QoS 2 packet ids", self->err);
	self->buf.len = header_len;
	snapshot_put_session_qos2(&self->buf, "dev-9", ids, 0);
	EXPECT_EQ(-EBADMSG, read_all(self));
}

/* "$SYS" retained messages are not saved; other '$' topics are. */
TEST_F(snapshot, sys_retained_not_kept)
{
	static const uint8_t sys[] = { 0, 18, '$', 'S', 'Y', 'S', '/', 'b',
				       'r', 'o', 'k', 'e', 'r', '/', 'u', 'p',
				       't', 'i', 'm', 'e', 0, '1' };
	static const uint8_t sysx[] = { 0, 5, '$', 'S', 'Y', 'S', 'x', 0,
					'1' };
	static const uint8_t sys_alone[] = { 0, 4, '$', 'S', 'Y', 'S', 0,
					     '1' };
	static const uint8_t app[] = { 0, 6, '$', 'a', 'p', 'p', '/', 'x',
				       0, '1' };
	/* "$SY" then "S" in the properties: the topic is "$SY". */
	static const uint8_t short_topic[] = { 0, 3, '$', 'S', 'Y', 1, 'S' };
	struct kmqtt_nl_msg m = { .qos = 1 };

#define KEEPS(bytes) (m.data = (bytes), m.len = sizeof(bytes), \
		      snapshot_keeps_retained(&m))
	EXPECT_FALSE(KEEPS(sys));
	EXPECT_FALSE(KEEPS(sysx));
	EXPECT_FALSE(KEEPS(sys_alone));
	EXPECT_TRUE(KEEPS(app));
	EXPECT_TRUE(KEEPS(plain));
	EXPECT_TRUE(KEEPS(short_topic));
#undef KEEPS
}

TEST_HARNESS_MAIN
