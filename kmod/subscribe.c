// SPDX-License-Identifier: GPL-2.0
/*
 * SUBSCRIBE and UNSUBSCRIBE.  Each is a job handled over as many receive
 * work runs as it needs, each doing about KMQTT_JOB_BUDGET units of work,
 * while the packet waits at the head of the receive buffer: other work
 * items run in between, and a packet of thousands of filters holds no lock
 * and no worker for long.  A retained message visited costs one unit, a
 * filter subscribed or unsubscribed KMQTT_JOB_FILTER_COST and one per
 * KMQTT_JOB_FILTER_BYTES of it (its levels are nodes to walk or make).  A
 * run takes at least one filter, however long.
 */

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "acl.h"
#include "broker.h"
#include "codec.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "retain.h"
#include "send.h"
#include "session.h"
#include "subscribe.h"

#define KMQTT_JOB_BUDGET	128
#define KMQTT_JOB_FILTER_COST	8
#define KMQTT_JOB_FILTER_BYTES	8

struct kmqtt_subscribe_job {
	struct kmqtt_txent *ack;	/* SUBACK or UNSUBACK, made first */
	/*
	 * Each filter's return or reason code (SUBSCRIBE, 5.0 UNSUBSCRIBE),
	 * and for a SUBSCRIBE whether to send it the retained messages.
	 */
	u8 *codes;
	u8 *send_retained;
	size_t charge;			/* against the memory limit */
	u32 n;				/* filters in the packet */
	u32 done;			/* of them handled (in this phase) */
	u32 first;			/* body offset of the first filter */
	u32 next;			/* body offset of filter @done */
	u32 sub_id;			/* 5.0: of all its filters, or 0 */
	u16 packet_id;
	bool acked;			/* SUBACK queued: retained messages */
	struct kmqtt_retain_cursor cursor;	/* in filter @done's */
	u8 *mounted;			/* a filter under the mount point */
};

/*
 * Subscribe to @filter (the client's, under its mount point) with
 * @options and subscription identifier @sub_id; returns the SUBACK code
 * and, in *@retained, whether the filter's retained messages are sent
 * (retain handling, MQTT-3.3.1-9 to -11).  MQTT_RC_PROTOCOL_ERROR, never
 * a SUBACK code, closes the connection.
 */
static u8 kmqtt_subscribe_filter(struct kmqtt_conn *conn, const u8 *filter,
				 u16 len, u8 options, u32 sub_id,
				 bool *retained)
{
	bool v5 = kmqtt_conn_v5(conn);
	u8 handling = (options & MQTT_SUBOPT_RETAIN_HANDLING_MASK) >>
		      MQTT_SUBOPT_RETAIN_HANDLING_SHIFT;
	const u8 *acl_filter = filter;
	size_t acl_len = len;
	bool existed;
	int shared;
	u8 granted;

	*retained = false;
	/* Too long under the mount point, or a malformed $share/ there. */
	if (!len)
		return v5 ? MQTT_RC_TOPIC_FILTER_INVALID : MQTT_SUBACK_FAILURE;
	shared = kmqtt_topic_share_split(filter, len, &acl_filter, &acl_len);
	if (shared < 0)
		return v5 ? MQTT_RC_TOPIC_FILTER_INVALID : MQTT_SUBACK_FAILURE;
	/*
	 * Another broker's bridge (try_private): what it forwards here does
	 * not go back to it, and retained messages cross with their flag.
	 */
	if (conn->peer_bridge && !shared)
		options |= MQTT_SUBOPT_NO_LOCAL |
			   MQTT_SUBOPT_RETAIN_AS_PUBLISHED;
	/* MQTT-3.8.3-4 */
	if (shared && (options & MQTT_SUBOPT_NO_LOCAL))
		return MQTT_RC_PROTOCOL_ERROR;
	/* The rules are about topics: a shared one's FILTER is checked. */
	if (!kmqtt_session_allows(conn->session, acl_filter, acl_len,
				  KMQTT_ACL_SUBSCRIBE)) {
		atomic64_inc(&conn->broker->acl_denied);
		return v5 ? MQTT_RC_NOT_AUTHORIZED : MQTT_SUBACK_FAILURE;
	}
	granted = kmqtt_session_subscribe(conn->session, filter, len, options,
					  sub_id, &existed);
	/* Not for a shared subscription (4.8.2). */
	*retained = granted != MQTT_SUBACK_FAILURE && !shared &&
		    (handling == 0 || (handling == 1 && !existed));
	return granted;
}

void kmqtt_subscribe_free(struct kmqtt_conn *conn)
{
	struct kmqtt_subscribe_job *job = conn->job;

	if (!job)
		return;
	if (job->ack)
		kmqtt_send_free_control(conn->broker, job->ack);
	kmqtt_retain_cursor_release(&job->cursor);
	kvfree(job->codes);
	kvfree(job->mounted);
	kmqtt_broker_uncharge(conn->broker, job->charge);
	kfree(job);
	conn->job = NULL;
}

/*
 * Start the job of a (validated) SUBSCRIBE (@subscribe) or UNSUBSCRIBE of
 * @n filters from @it: 0, -ENOSPC or -ENOMEM.
 */
static int kmqtt_subscribe_start(struct kmqtt_conn *conn, const u8 *body,
				 const struct kmqtt_sub_iter *it, u32 n,
				 u16 packet_id, bool subscribe)
{
	/* 3.1.1's UNSUBACK has no codes: it is an ack. */
	bool with_codes = subscribe || kmqtt_conn_v5(conn);
	size_t codes = subscribe ? 2 * n : n;
	size_t charge = sizeof(struct kmqtt_subscribe_job) +
			(with_codes ? codes + kmqtt_send_suback_size(n) : 0);
	size_t mounted = conn->mount_len ? MQTT_MAX_TOPIC_LEN : 0;
	struct kmqtt_subscribe_job *job;

	charge += mounted;
	if (!kmqtt_broker_charge(conn->broker, charge)) {
		conn->refused = charge;
		return -ENOSPC;
	}
	job = kzalloc(sizeof(*job), GFP_KERNEL | __GFP_NOWARN);
	if (!job) {
		kmqtt_broker_uncharge(conn->broker, charge);
		return -ENOMEM;
	}
	conn->job = job;
	job->charge = charge;
	job->n = n;
	job->first = it->pos - body;
	job->next = job->first;
	job->packet_id = packet_id;
	job->ack = kmqtt_send_alloc_control(conn->broker);
	if (job->ack && with_codes) {
		job->codes = kvmalloc(codes, GFP_KERNEL | __GFP_NOWARN);
		if (subscribe && job->codes)
			job->send_retained = job->codes + n;
		job->ack->body = kvmalloc(kmqtt_send_suback_size(n),
					  GFP_KERNEL | __GFP_NOWARN);
	}
	if (mounted)
		job->mounted = kvmalloc(mounted, GFP_KERNEL | __GFP_NOWARN);
	if (!job->ack || (with_codes && (!job->codes || !job->ack->body)) ||
	    (mounted && !job->mounted)) {
		kmqtt_subscribe_free(conn);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The job's next filter, at body offset job->next, under @conn's mount
 * point: "$share/GROUP/" stays in front of it, the mount point goes
 * before FILTER.  *@len is 0 when the mount point makes it too long, or
 * for a malformed "$share/" filter.
 */
static void kmqtt_subscribe_next(const struct kmqtt_conn *conn,
				 const u8 *body, const struct kmqtt_fixed_hdr *hdr,
				 bool subscribe, const u8 **filter, u16 *len,
				 u8 *options, u32 *after)
{
	const struct kmqtt_subscribe_job *job = conn->job;
	struct kmqtt_sub_iter it = {
		.pos = body + job->next,
		.end = body + hdr->rem_len,
		.with_qos = subscribe,
	};
	const u8 *topic_filter;
	size_t topic_len, share_len = 0;
	u8 *p = job->mounted;

	kmqtt_codec_next_filter(&it, filter, len, options);
	*after = it.pos - body;
	if (!conn->mount_len)
		return;
	switch (kmqtt_topic_share_split(*filter, *len, &topic_filter,
					&topic_len)) {
	case 1:
		share_len = topic_filter - *filter;
		break;
	case 0:
		break;
	default:
		*len = 0;
		return;
	}
	if (*len > MQTT_MAX_TOPIC_LEN - conn->mount_len) {
		*len = 0;
		return;
	}
	memcpy(p, *filter, share_len);
	p += share_len;
	memcpy(p, conn->mount, conn->mount_len);
	p += conn->mount_len;
	memcpy(p, *filter + share_len, *len - share_len);
	*filter = job->mounted;
	*len += conn->mount_len;
}

struct kmqtt_subscribe_retained {
	struct kmqtt_session *session;
	u32 sub_id;
	u8 granted;
};

static void kmqtt_subscribe_send_retained(struct kmqtt_msg *msg, void *arg)
{
	const struct kmqtt_subscribe_retained *r = arg;
	struct kmqtt_broker *broker = r->session->broker;
	struct kmqtt_delivery_via via = {
		.sub_ids = &r->sub_id,
		.n_sub_ids = !!r->sub_id,
	};
	struct kmqtt_delivery *d;

	/* MQTT-3.3.2-5: an expired one is not sent on. */
	if (kmqtt_msg_expired(msg))
		return;
	if (kmqtt_delivery_alloc_bulk(broker, GFP_KERNEL, 1, &d)) {
		kmqtt_broker_dropped(broker, r->session, KMQTT_DROP_NO_MEMORY,
				     1);
		return;
	}
	/* MQTT-3.3.1-8: retained messages go out with RETAIN set. */
	if (kmqtt_delivery_deliver(r->session, msg, min(msg->qos, r->granted),
				   true, &via, d) != KMQTT_HANDOFF_TAKEN)
		kmqtt_delivery_free_unused(broker, &d, 1);
}

/*
 * Handle filters of the job within @budget: subscribe or unsubscribe
 * them, then, for a SUBSCRIBE, send SUBACK and walk the retained messages
 * each granted filter unlocked (MQTT-3.3.1-6).  Returns 0 when the job is
 * done, -EINPROGRESS when the budget ran out, or an error that closes.
 */
static int kmqtt_subscribe_run(struct kmqtt_conn *conn,
			       const struct kmqtt_fixed_hdr *hdr, const u8 *body,
			       bool subscribe)
{
	struct kmqtt_subscribe_job *job = conn->job;
	struct kmqtt_subscribe_retained r = {
		.session = conn->session,
		.sub_id = job->sub_id,
	};
	u32 budget = KMQTT_JOB_BUDGET, after, cost;
	const u8 *filter;
	u16 len;
	int ret;
	u8 options;

	for (; !job->acked && job->done < job->n; job->done++) {
		kmqtt_subscribe_next(conn, body, hdr, subscribe, &filter, &len,
				     &options, &after);
		cost = KMQTT_JOB_FILTER_COST + len / KMQTT_JOB_FILTER_BYTES;
		if (cost > budget && budget < KMQTT_JOB_BUDGET)
			return -EINPROGRESS;
		budget -= min(cost, budget);
		if (subscribe) {
			bool retained;
			u8 code = kmqtt_subscribe_filter(conn, filter, len,
							 options, job->sub_id,
							 &retained);

			if (code == MQTT_RC_PROTOCOL_ERROR)
				return kmqtt_conn_violation(conn, code,
							    "No Local on a shared subscription");
			job->codes[job->done] = code;
			job->send_retained[job->done] = retained;
		} else if (kmqtt_session_unsubscribe(conn->session, filter,
						     len) && job->codes) {
			job->codes[job->done] = MQTT_RC_NO_SUBSCRIPTION_EXISTED;
		} else if (job->codes) {
			job->codes[job->done] = MQTT_RC_SUCCESS;
		}
		job->next = after;
	}
	if (!job->acked) {
		if (job->codes)
			ret = kmqtt_send_suback(conn, job->ack, subscribe ?
						MQTT_SUBACK : MQTT_UNSUBACK,
						job->packet_id, job->codes,
						job->n);
		else
			ret = kmqtt_send_ack(conn, job->ack, MQTT_UNSUBACK,
					     job->packet_id, 0);
		job->ack = NULL;
		if (ret || !subscribe)
			return ret;
		job->acked = true;
		job->done = 0;
		job->next = job->first;
	}
	/* SUBACK is queued: now the retained messages, in its order. */
	for (; job->done < job->n; job->done++) {
		kmqtt_subscribe_next(conn, body, hdr, true, &filter, &len,
				     &options, &after);
		if (job->send_retained[job->done]) {
			if (!budget)
				return -EINPROGRESS;
			r.granted = job->codes[job->done];
			if (!kmqtt_retain_walk(&conn->broker->retained, filter,
					       len, &job->cursor, &budget,
					       kmqtt_subscribe_send_retained, &r))
				return -EINPROGRESS;
		}
		job->next = after;
	}
	return 0;
}

/* SUBSCRIBE and UNSUBSCRIBE (@subscribe false): one job each. */
int kmqtt_subscribe_handle(struct kmqtt_conn *conn,
			   const struct kmqtt_fixed_hdr *hdr, const u8 *body,
			   bool subscribe)
{
	struct kmqtt_sub_iter it;
	struct kmqtt_props props;
	u16 packet_id;
	int n, ret;

	if (!conn->job) {
		n = kmqtt_codec_parse_sub(body, hdr->rem_len, subscribe,
					  kmqtt_conn_v5(conn), &packet_id, &it,
					  &props);
		if (n < 0)
			return kmqtt_conn_violation(conn,
						    kmqtt_conn_parse_reason(n),
						    subscribe ?
						    "malformed SUBSCRIBE" :
						    "malformed UNSUBSCRIBE");
		ret = kmqtt_subscribe_start(conn, body, &it, n, packet_id,
					    subscribe);
		if (ret)
			return ret;
		if (kmqtt_props_has(&props, MQTT_PROP_SUBSCRIPTION_ID))
			conn->job->sub_id = props.subscription_id;
	}
	ret = kmqtt_subscribe_run(conn, hdr, body, subscribe);
	if (ret != -EINPROGRESS)
		kmqtt_subscribe_free(conn);
	return ret;
}
