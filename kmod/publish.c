// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out: match the topic against the subscription tree and hand one
 * shared copy of the message to each matching session at
 * min(published QoS, granted QoS) (MQTT-3.8.4-6).  Runs in the publisher's
 * receive work (or a closing connection's, for its will); never waits for
 * a subscriber.
 */

#include <linux/rcupdate.h>

#include "broker.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "publish.h"
#include "retain.h"
#include "session.h"

/* Bounds the match array a single publish may build. */
#define KMQTT_MAX_FANOUT	BIT(20)

void kmqtt_publish_msg(struct kmqtt_broker *broker, struct kmqtt_msg *msg,
		       bool retain, struct kmqtt_match_set *set)
{
	const struct kmqtt_limits *limits = &broker->limits;
	u32 i;

	if (retain && READ_ONCE(limits->retain_available) &&
	    kmqtt_retain_store(&broker->retained, msg,
			       READ_ONCE(limits->max_retained),
			       READ_ONCE(limits->max_retained_bytes)))
		net_info_ratelimited("kmqtt: retained message not stored: limit reached\n");

	set->max = KMQTT_MAX_FANOUT;
	rcu_read_lock();
	kmqtt_topic_match(&broker->topics, kmqtt_msg_topic(msg), msg->topic_len,
			  set, GFP_NOWAIT | __GFP_NOWARN);
	for (i = 0; i < set->n; i++) {
		u8 granted = set->v[i].options & KMQTT_SUBOPT_QOS_MASK;

		/* Forwarded copies never carry RETAIN (MQTT-3.3.1-9). */
		kmqtt_delivery_deliver(set->v[i].subscriber, msg,
				       min(msg->qos, granted), false,
				       GFP_NOWAIT);
	}
	rcu_read_unlock();

	/* Subscribers the match could not record lose this message. */
	if (set->overflow) {
		atomic64_add(set->overflow, &broker->msgs_dropped);
		net_warn_ratelimited("kmqtt: %u subscribers missed a message: fan-out over limit or out of memory\n",
				     set->overflow);
	}
}

int kmqtt_publish(struct kmqtt_conn *from, const struct kmqtt_publish *pub)
{
	struct kmqtt_broker *broker = from->broker;
	struct kmqtt_msg *msg;

	msg = kmqtt_msg_create(broker, pub->topic, pub->topic_len,
			       pub->payload, pub->payload_len, pub->qos,
			       GFP_KERNEL);
	if (!msg) {
		atomic64_inc(&broker->msgs_dropped);
		net_warn_ratelimited("kmqtt: message dropped: memory limit reached\n");
		/*
		 * QoS 0 is shed and the publisher kept.  QoS 1/2 must not be
		 * acknowledged: the connection closes and the client sends it
		 * again when it comes back.
		 */
		return pub->qos ? -ENOMEM : 0;
	}
	kmqtt_publish_msg(broker, msg, pub->retain, &from->matches);
	kmqtt_msg_put(msg);
	return 0;
}
