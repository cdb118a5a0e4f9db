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
	u8 *codes;			/* SUBSCRIBE: each filter's return code */
	size_t charge;			/* against the memory limit */
	u32 n;				/* filters in the packet */
	u32 done;			/* of them handled (in this phase) */
	u32 first;			/* body offset of the first filter */
	u32 next;			/* body offset of filter @done */
	u16 packet_id;
	bool acked;			/* SUBACK queued: retained messages */
	struct kmqtt_retain_cursor cursor;	/* in filter @done's */
	u8 *mounted;			/* a filter under the mount point */
};

static u8 kmqtt_subscribe_filter(struct kmqtt_conn *conn, const u8 *filter,
				 u16 len, u8 qos)
{
	if (!kmqtt_session_allows(conn->session, filter, len,
				  KMQTT_ACL_SUBSCRIBE)) {
		atomic64_inc(&conn->broker->acl_denied);
		return MQTT_SUBACK_FAILURE;
	}
	return kmqtt_session_subscribe(conn->session, filter, len, qos);
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
	size_t charge = sizeof(struct kmqtt_subscribe_job) +
			(subscribe ? n + kmqtt_send_suback_size(n) : 0);
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
	if (job->ack && subscribe) {
		job->codes = kvmalloc(n, GFP_KERNEL | __GFP_NOWARN);
		job->ack->body = kvmalloc(kmqtt_send_suback_size(n),
					  GFP_KERNEL | __GFP_NOWARN);
	}
	if (mounted) {
		job->mounted = kvmalloc(mounted, GFP_KERNEL | __GFP_NOWARN);
		if (job->mounted)
			memcpy(job->mounted, conn->mount, conn->mount_len);
	}
	if (!job->ack || (subscribe && (!job->codes || !job->ack->body)) ||
	    (mounted && !job->mounted)) {
		kmqtt_subscribe_free(conn);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The job's next filter, at body offset job->next, under @conn's mount
 * point; *@len is 0 when the mount point makes it too long.
 */
static void kmqtt_subscribe_next(const struct kmqtt_conn *conn,
				 const u8 *body, const struct kmqtt_fixed_hdr *hdr,
				 bool subscribe, const u8 **filter, u16 *len,
				 u8 *qos, u32 *after)
{
	const struct kmqtt_subscribe_job *job = conn->job;
	struct kmqtt_sub_iter it = {
		.pos = body + job->next,
		.end = body + hdr->rem_len,
		.with_qos = subscribe,
	};

	kmqtt_codec_next_filter(&it, filter, len, qos);
	*after = it.pos - body;
	if (!conn->mount_len)
		return;
	if (*len > MQTT_MAX_TOPIC_LEN - conn->mount_len) {
		*len = 0;
		return;
	}
	memcpy(job->mounted + conn->mount_len, *filter, *len);
	*filter = job->mounted;
	*len += conn->mount_len;
}

struct kmqtt_subscribe_retained {
	struct kmqtt_session *session;
	u8 granted;
};

static void kmqtt_subscribe_send_retained(struct kmqtt_msg *msg, void *arg)
{
	const struct kmqtt_subscribe_retained *r = arg;
	struct kmqtt_broker *broker = r->session->broker;
	struct kmqtt_delivery *d;

	if (kmqtt_delivery_alloc_bulk(broker, GFP_KERNEL, 1, &d)) {
		kmqtt_broker_dropped(broker, KMQTT_DROP_NO_MEMORY, 1);
		return;
	}
	/* MQTT-3.3.1-8: retained messages go out with RETAIN set. */
	if (!kmqtt_delivery_deliver(r->session, msg, min(msg->qos, r->granted),
				    true, d))
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
	struct kmqtt_subscribe_retained r = { .session = conn->session };
	struct kmqtt_subscribe_job *job = conn->job;
	u32 budget = KMQTT_JOB_BUDGET, after, cost;
	const u8 *filter;
	u16 len;
	int ret;
	u8 qos;

	for (; !job->acked && job->done < job->n; job->done++) {
		kmqtt_subscribe_next(conn, body, hdr, subscribe, &filter, &len,
				     &qos, &after);
		cost = KMQTT_JOB_FILTER_COST + len / KMQTT_JOB_FILTER_BYTES;
		if (cost > budget && budget < KMQTT_JOB_BUDGET)
			return -EINPROGRESS;
		budget -= min(cost, budget);
		if (!subscribe)
			kmqtt_session_unsubscribe(conn->session, filter, len);
		else if (!len)	/* too long under the mount point */
			job->codes[job->done] = MQTT_SUBACK_FAILURE;
		else
			job->codes[job->done] = kmqtt_subscribe_filter(conn, filter,
								       len, qos);
		job->next = after;
	}
	if (!job->acked) {
		if (subscribe)
			ret = kmqtt_send_suback(conn, job->ack, job->packet_id,
						job->codes, job->n);
		else
			ret = kmqtt_send_ack(conn, job->ack, MQTT_UNSUBACK,
					     job->packet_id);
		job->ack = NULL;
		if (ret || !subscribe)
			return ret;
		job->acked = true;
		job->done = 0;
		job->next = job->first;
	}
	/* SUBACK is queued: now the retained messages, in its order. */
	for (; job->done < job->n; job->done++) {
		kmqtt_subscribe_next(conn, body, hdr, true, &filter, &len, &qos,
				     &after);
		if (job->codes[job->done] != MQTT_SUBACK_FAILURE) {
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
		n = kmqtt_codec_parse_sub(body, hdr->rem_len, subscribe, false,
					  &packet_id, &it, &props);
		if (n < 0)
			return kmqtt_conn_violation(conn, subscribe ?
						    "malformed SUBSCRIBE" :
						    "malformed UNSUBSCRIBE");
		ret = kmqtt_subscribe_start(conn, body, &it, n, packet_id,
					    subscribe);
		if (ret)
			return ret;
	}
	ret = kmqtt_subscribe_run(conn, hdr, body, subscribe);
	if (ret != -EINPROGRESS)
		kmqtt_subscribe_free(conn);
	return ret;
}
