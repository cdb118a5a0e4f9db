// SPDX-License-Identifier: GPL-2.0
/*
 * The records of kmqttd's snapshot.  Each is a type byte and its body as
 * a byte string, so that a reader checks every record's length on its
 * own; a type it does not know makes the whole snapshot unreadable
 * rather than partly read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "kmod/codec.h"
#include "snapshot.h"

enum snapshot_record {
	SNAPSHOT_HEADER = 1,	/* u64 instance, u64 saved_at */
	/* u8 QoS, u64 expires_at (0: never), bytes stored form */
	SNAPSHOT_RETAINED = 2,
	/*
	 * bytes client id, u32 session expiry, u64 offline_since, u8
	 * SNAPSHOT_SESSION_*, bytes username
	 */
	SNAPSHOT_SESSION = 3,
	/* bytes client id, bytes filter, u8 options, u32 sub_id (0: none) */
	SNAPSHOT_SUBSCRIPTION = 4,
	/*
	 * bytes client id, u8 retain, u16 packet id (0: queued), u8
	 * released, u8 n, n u32 subscription identifiers, then a message
	 */
	SNAPSHOT_SESSION_MSG = 5,
	/* bytes client id, u32 n, n u16 inbound QoS 2 packet ids */
	SNAPSHOT_SESSION_QOS2 = 6,
	/*
	 * A session's will that has not gone out: bytes client id, u8
	 * retain, u64 due_at (wall-clock seconds), then a message
	 */
	SNAPSHOT_SESSION_WILL = 7,
};

/* A session record's flags. */
#define SNAPSHOT_SESSION_USERNAME	0x1	/* it has one, maybe empty */
#define SNAPSHOT_SESSION_BRIDGE		0x2	/* a bridge's */

/* A message in a record: u8 QoS, u64 expires_at (0: never), bytes. */
#define SNAPSHOT_MSG_LEN(m)	(1 + 8 + 4 + (m)->len)

/*
 * A record's type and the length of its body, which the caller then
 * writes field by field: its size is known up front, so nothing is
 * copied twice.
 */
static void put_record(struct persist_buf *buf, uint8_t type, size_t len)
{
	persist_put_u8(buf, type);
	persist_put_u32(buf, (uint32_t)len);
}

void snapshot_put_header(struct persist_buf *buf,
			 const struct snapshot_header *hdr)
{
	put_record(buf, SNAPSHOT_HEADER, 8 + 8);
	persist_put_u64(buf, hdr->instance);
	persist_put_u64(buf, (uint64_t)hdr->saved_at);
}

static void put_msg(struct persist_buf *buf, const struct kmqtt_nl_msg *m,
		    time_t now)
{
	persist_put_u8(buf, m->qos);
	persist_put_u64(buf, m->expiry ? (uint64_t)now + m->expiry : 0);
	persist_put_bytes(buf, m->data, (uint32_t)m->len);
}

bool snapshot_keeps_retained(const struct kmqtt_nl_msg *m)
{
	static const char sys[] = "$SYS";
	size_t n = sizeof(sys) - 1;

	/* The stored form begins with the topic's 16-bit length. */
	if (m->len < 2 + n || ((size_t)m->data[0] << 8 | m->data[1]) < n)
		return true;
	return memcmp(m->data + 2, sys, n) != 0;
}

void snapshot_put_retained(struct persist_buf *buf,
			   const struct kmqtt_nl_msg *m, time_t now)
{
	put_record(buf, SNAPSHOT_RETAINED, SNAPSHOT_MSG_LEN(m));
	put_msg(buf, m, now);
}

static void put_session_will(struct persist_buf *buf,
			     const struct kmqtt_nl_session_msg *sm, time_t now)
{
	size_t id_len = strlen(sm->client_id);

	put_record(buf, SNAPSHOT_SESSION_WILL,
		   4 + id_len + 1 + 8 + SNAPSHOT_MSG_LEN(&sm->m));
	persist_put_bytes(buf, sm->client_id, (uint32_t)id_len);
	persist_put_u8(buf, sm->retain);
	persist_put_u64(buf, (uint64_t)now + sm->will_delay);
	put_msg(buf, &sm->m, now);
}

void snapshot_put_session_msg(struct persist_buf *buf,
			      const struct kmqtt_nl_session_msg *sm,
			      time_t now)
{
	size_t id_len = strlen(sm->client_id);
	uint8_t i;

	if (sm->will) {
		put_session_will(buf, sm, now);
		return;
	}
	put_record(buf, SNAPSHOT_SESSION_MSG,
		   4 + id_len + 1 + 2 + 1 + 1 + 4 * sm->n_sub_ids +
		   SNAPSHOT_MSG_LEN(&sm->m));
	persist_put_bytes(buf, sm->client_id, (uint32_t)id_len);
	persist_put_u8(buf, sm->retain);
	persist_put_u16(buf, sm->packet_id);
	persist_put_u8(buf, sm->released);
	persist_put_u8(buf, sm->n_sub_ids);
	for (i = 0; i < sm->n_sub_ids; i++)
		persist_put_u32(buf, sm->sub_ids[i]);
	put_msg(buf, &sm->m, now);
}

void snapshot_put_session(struct persist_buf *buf,
			  const struct kmqtt_nl_session *s, time_t now)
{
	size_t id_len = strlen(s->client_id);
	size_t user_len = s->has_username ? strlen(s->username) : 0;

	put_record(buf, SNAPSHOT_SESSION,
		   4 + id_len + 4 + 8 + 1 + 4 + user_len);
	persist_put_bytes(buf, s->client_id, (uint32_t)id_len);
	persist_put_u32(buf, s->session_expiry);
	persist_put_u64(buf, s->online ? (uint64_t)now :
			(uint64_t)now - s->offline_for);
	persist_put_u8(buf, (s->has_username ? SNAPSHOT_SESSION_USERNAME : 0) |
			    (s->bridge ? SNAPSHOT_SESSION_BRIDGE : 0));
	persist_put_bytes(buf, s->username, (uint32_t)user_len);
}

void snapshot_put_subscription(struct persist_buf *buf,
			       const struct kmqtt_nl_subscription *s)
{
	size_t id_len = strlen(s->client_id), len = strlen(s->filter);

	put_record(buf, SNAPSHOT_SUBSCRIPTION, 4 + id_len + 4 + len + 1 + 4);
	persist_put_bytes(buf, s->client_id, (uint32_t)id_len);
	persist_put_bytes(buf, s->filter, (uint32_t)len);
	persist_put_u8(buf, s->options);
	persist_put_u32(buf, s->sub_id);
}

void snapshot_put_session_qos2(struct persist_buf *buf, const char *client_id,
			       const uint16_t *ids, size_t n)
{
	size_t id_len = strlen(client_id), i;

	put_record(buf, SNAPSHOT_SESSION_QOS2, 4 + id_len + 4 + 2 * n);
	persist_put_bytes(buf, client_id, (uint32_t)id_len);
	persist_put_u32(buf, (uint32_t)n);
	for (i = 0; i < n; i++)
		persist_put_u16(buf, ids[i]);
}

static int bad(char *err, size_t errlen, size_t record, const char *what)
{
	snprintf(err, errlen, "record %zu: %s", record, what);
	return -EBADMSG;
}

/*
 * A message of a record saved at @saved_at into @m; false if it is not
 * one, or is empty where @retained (none is stored).  *@expired: its 5.0
 * expiry passed by @now.
 */
static bool read_msg(struct persist_reader *r, time_t now, int64_t saved_at,
		     bool retained, struct kmqtt_nl_msg *m, bool *expired)
{
	struct kmqtt_publish pub;
	const uint8_t *data;
	uint64_t expires_at, left;
	uint32_t len;

	if (!persist_get_u8(r, &m->qos) || !persist_get_u64(r, &expires_at) ||
	    !persist_get_bytes(r, &data, &len) || m->qos > 2 ||
	    kmqtt_codec_parse_stored(data, len, &pub) ||
	    (retained && !pub.payload_len))
		return false;
	m->data = data;
	m->len = len;
	m->expiry = 0;
	*expired = false;
	if (!expires_at)
		return true;
	if (expires_at <= (uint64_t)now) {
		*expired = true;
		return true;
	}
	/*
	 * What is left, never more than it had at the save: a clock behind
	 * at boot (no RTC, before NTP) must not lengthen it.
	 */
	left = expires_at - (uint64_t)now;
	if (saved_at >= 0 && expires_at > (uint64_t)saved_at &&
	    left > expires_at - (uint64_t)saved_at)
		left = expires_at - (uint64_t)saved_at;
	m->expiry = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	return true;
}

/*
 * A string of 1..@max bytes without NUL into @out (room for @max + 1):
 * client ids, usernames, filters.
 */
static bool read_string(struct persist_reader *r, char *out, size_t max,
			bool may_be_empty)
{
	const uint8_t *p;
	uint32_t len;

	if (!persist_get_bytes(r, &p, &len) || len > max ||
	    (!len && !may_be_empty) || memchr(p, 0, len))
		return false;
	memcpy(out, p, len);
	out[len] = 0;
	return true;
}

static bool read_session(struct persist_reader *r, time_t now,
			 struct kmqtt_nl_session *s)
{
	uint64_t offline_since;
	uint8_t flags;

	memset(s, 0, sizeof(*s));
	if (!read_string(r, s->client_id, KMQTT_CLIENT_ID_MAX, false) ||
	    !persist_get_u32(r, &s->session_expiry) || !s->session_expiry ||
	    !persist_get_u64(r, &offline_since) ||
	    !persist_get_u8(r, &flags) ||
	    flags & ~(SNAPSHOT_SESSION_USERNAME | SNAPSHOT_SESSION_BRIDGE) ||
	    !read_string(r, s->username, KMQTT_USERNAME_MAX, true) ||
	    (!(flags & SNAPSHOT_SESSION_USERNAME) && s->username[0]) ||
	    r->left)
		return false;
	s->has_username = flags & SNAPSHOT_SESSION_USERNAME;
	s->bridge = flags & SNAPSHOT_SESSION_BRIDGE;
	/* A clock set back counts as no time offline. */
	if ((uint64_t)now > offline_since)
		s->offline_for = (uint64_t)now - offline_since > UINT32_MAX ?
				 UINT32_MAX :
				 (uint32_t)((uint64_t)now - offline_since);
	return true;
}

static bool read_subscription(struct persist_reader *r,
			      struct kmqtt_nl_subscription *s, char *filter)
{
	memset(s, 0, sizeof(*s));
	if (!read_string(r, s->client_id, KMQTT_CLIENT_ID_MAX, false) ||
	    !read_string(r, filter, MQTT_MAX_TOPIC_LEN, false) ||
	    !persist_get_u8(r, &s->options) || !persist_get_u32(r, &s->sub_id) ||
	    r->left || s->sub_id > MQTT_SUBSCRIPTION_ID_MAX ||
	    !kmqtt_codec_subscription_valid((const uint8_t *)filter,
					    (uint16_t)strlen(filter),
					    s->options &
					    ~KMQTT_SUBOPT_QUEUE_QOS0))
		return false;
	s->filter = filter;
	s->qos = s->options & MQTT_SUBOPT_QOS_MASK;
	return true;
}

static bool read_session_msg(struct persist_reader *r, time_t now,
			     int64_t saved_at, struct kmqtt_nl_session_msg *sm,
			     bool *expired)
{
	uint8_t retain, released, i;

	memset(sm, 0, sizeof(*sm));
	if (!read_string(r, sm->client_id, KMQTT_CLIENT_ID_MAX, false) ||
	    !persist_get_u8(r, &retain) || retain > 1 ||
	    !persist_get_u16(r, &sm->packet_id) ||
	    !persist_get_u8(r, &released) || released > 1 ||
	    !persist_get_u8(r, &sm->n_sub_ids) ||
	    sm->n_sub_ids > KMQTT_SUB_IDS_MAX)
		return false;
	for (i = 0; i < sm->n_sub_ids; i++)
		if (!persist_get_u32(r, &sm->sub_ids[i]) || !sm->sub_ids[i] ||
		    sm->sub_ids[i] > MQTT_SUBSCRIPTION_ID_MAX)
			return false;
	if (!read_msg(r, now, saved_at, false, &sm->m, expired) || r->left)
		return false;
	sm->retain = retain;
	sm->released = released;
	/*
	 * One in flight goes again whatever its expiry: the client may hold
	 * its packet id (a PUBREL owed, a PUBREC lost) until it does.
	 */
	if (sm->packet_id && *expired) {
		*expired = false;
		sm->m.expiry = 0;
	}
	/* In flight takes QoS 1 or 2; a PUBREL is owed for QoS 2 only. */
	return !(sm->packet_id && !sm->m.qos) &&
	       !(sm->released && (!sm->packet_id || sm->m.qos != 2));
}

/*
 * A will due at a wall-clock time: what is left of its delay at @now,
 * none when the box was off past it (it goes out at once).  Its own
 * expiry starts when it goes out: none is kept before.
 */
static bool read_session_will(struct persist_reader *r, time_t now,
			      int64_t saved_at, struct kmqtt_nl_session_msg *sm)
{
	uint64_t due_at, left;
	uint8_t retain;
	bool expired;

	memset(sm, 0, sizeof(*sm));
	if (!read_string(r, sm->client_id, KMQTT_CLIENT_ID_MAX, false) ||
	    !persist_get_u8(r, &retain) || retain > 1 ||
	    !persist_get_u64(r, &due_at) ||
	    !read_msg(r, now, saved_at, false, &sm->m, &expired) || r->left)
		return false;
	sm->will = true;
	sm->retain = retain;
	sm->m.expiry = 0;
	if (due_at > (uint64_t)now) {
		left = due_at - (uint64_t)now;
		/* A clock behind at boot does not lengthen it either. */
		if (saved_at >= 0 && due_at > (uint64_t)saved_at &&
		    left > due_at - (uint64_t)saved_at)
			left = due_at - (uint64_t)saved_at;
		sm->will_delay = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	}
	return true;
}

/* Up to 65535 packet ids, none 0, into @ids (room for 65535). */
static bool read_qos2(struct persist_reader *r, char *client_id,
		      uint16_t *ids, uint32_t *n)
{
	uint32_t i;

	if (!read_string(r, client_id, KMQTT_CLIENT_ID_MAX, false) ||
	    !persist_get_u32(r, n) || !*n || *n > UINT16_MAX)
		return false;
	for (i = 0; i < *n; i++)
		if (!persist_get_u16(r, &ids[i]) || !ids[i])
			return false;
	return !r->left;
}

/* One pass over the records: checking only (@v NULL) or handing out. */
static int snapshot_pass(const void *data, size_t len, time_t now,
			 struct snapshot_header *hdr,
			 struct snapshot_counts *counts,
			 const struct snapshot_visitor *v, char *err,
			 size_t errlen)
{
	/* Too large for the stack; kmqttd reads one snapshot at a time. */
	static char filter[MQTT_MAX_TOPIC_LEN + 1];
	static uint16_t qos2_ids[UINT16_MAX];
	char qos2_client[KMQTT_CLIENT_ID_MAX + 1];
	uint32_t n_ids;
	struct kmqtt_nl_subscription sub;
	struct kmqtt_nl_session_msg session_msg;
	struct kmqtt_nl_session session;
	struct persist_reader r;
	size_t record = 0;

	memset(counts, 0, sizeof(*counts));
	persist_reader_init(&r, data, len);
	while (r.left) {
		struct persist_reader body;
		struct kmqtt_nl_msg m;
		const uint8_t *p;
		uint32_t body_len;
		bool expired;
		uint8_t type;

		record++;
		if (!persist_get_u8(&r, &type) ||
		    !persist_get_bytes(&r, &p, &body_len))
			return bad(err, errlen, record, "cut short");
		persist_reader_init(&body, p, body_len);
		if (record == 1 && type != SNAPSHOT_HEADER)
			return bad(err, errlen, record, "no header first");
		switch (type) {
		case SNAPSHOT_HEADER:
			if (record != 1 ||
			    !persist_get_u64(&body, &hdr->instance) ||
			    !persist_get_u64(&body, (uint64_t *)&hdr->saved_at) ||
			    body.left)
				return bad(err, errlen, record,
					   "not a header");
			break;
		case SNAPSHOT_RETAINED:
			if (!read_msg(&body, now, hdr->saved_at, true, &m,
				      &expired) || body.left)
				return bad(err, errlen, record,
					   "not a retained message");
			if (expired) {
				counts->expired++;
				break;
			}
			counts->retained++;
			if (v && v->retained)
				v->retained(&m, v->arg);
			break;
		case SNAPSHOT_SESSION:
			if (!read_session(&body, now, &session))
				return bad(err, errlen, record,
					   "not a session");
			counts->sessions++;
			if (v && v->session)
				v->session(&session, v->arg);
			break;
		case SNAPSHOT_SUBSCRIPTION:
			if (!read_subscription(&body, &sub, filter))
				return bad(err, errlen, record,
					   "not a subscription");
			counts->subscriptions++;
			if (v && v->subscription)
				v->subscription(&sub, v->arg);
			break;
		case SNAPSHOT_SESSION_MSG:
			if (!read_session_msg(&body, now, hdr->saved_at,
					      &session_msg, &expired))
				return bad(err, errlen, record,
					   "not a message of a session");
			if (expired) {
				counts->expired++;
				break;
			}
			counts->session_msgs++;
			if (v && v->session_msg)
				v->session_msg(&session_msg, v->arg);
			break;
		case SNAPSHOT_SESSION_WILL:
			if (!read_session_will(&body, now, hdr->saved_at,
					       &session_msg))
				return bad(err, errlen, record,
					   "not a session's will");
			counts->session_msgs++;
			if (v && v->session_msg)
				v->session_msg(&session_msg, v->arg);
			break;
		case SNAPSHOT_SESSION_QOS2:
			if (!read_qos2(&body, qos2_client, qos2_ids, &n_ids))
				return bad(err, errlen, record,
					   "not a session's QoS 2 packet ids");
			if (v && v->session_qos2)
				v->session_qos2(qos2_client, qos2_ids, n_ids,
						v->arg);
			break;
		default:
			return bad(err, errlen, record,
				   "a type this kmqttd does not know");
		}
	}
	if (!record)
		return bad(err, errlen, 0, "no header");
	return 0;
}

int snapshot_read(const void *data, size_t len, time_t now,
		  struct snapshot_header *hdr, struct snapshot_counts *counts,
		  const struct snapshot_visitor *v, char *err, size_t errlen)
{
	int rc = snapshot_pass(data, len, now, hdr, counts, NULL, err,
			       errlen);

	if (rc || !v)
		return rc;
	return snapshot_pass(data, len, now, hdr, counts, v, err, errlen);
}
