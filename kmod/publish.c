// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out: match the topic against the subscription tree and queue one
 * shared encoding of the message to each matching session.  Runs in the
 * publisher's receive work; never waits for a subscriber.
 */

#include <linux/rcupdate.h>

#include "broker.h"
#include "conn.h"
#include "msg.h"
#include "publish.h"
#include "session.h"

/* Bounds the match array a single publish may build. */
#define KMQTT_MAX_FANOUT	BIT(20)

int kmqtt_publish(struct kmqtt_conn *from, const struct kmqtt_publish *pub)
{
	struct kmqtt_broker *broker = from->broker;
	struct kmqtt_match_set *set = &from->matches;
	struct kmqtt_publish out = *pub;
	struct kmqtt_msg *msg;
	size_t size;
	u32 i;

	/*
	 * Forwarded messages go out at QoS 0 for now, with RETAIN cleared
	 * (MQTT-3.3.1-9) and no DUP.
	 */
	out.qos = 0;
	out.retain = false;
	out.dup = false;
	out.packet_id = 0;
	size = kmqtt_codec_publish_size(out.topic_len, out.qos, out.payload_len);
	if (!size)
		return -EMSGSIZE;
	msg = kmqtt_msg_alloc(size, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	kmqtt_codec_put_publish(msg->data, &out);

	set->max = KMQTT_MAX_FANOUT;
	rcu_read_lock();
	kmqtt_topic_match(&broker->topics, pub->topic, pub->topic_len, set,
			  GFP_NOWAIT | __GFP_NOWARN);
	for (i = 0; i < set->n; i++)
		kmqtt_session_deliver(set->v[i].subscriber, msg);
	rcu_read_unlock();

	/* Subscribers the match could not record lose this message. */
	if (set->overflow) {
		atomic64_add(set->overflow, &broker->fanout_dropped);
		net_warn_ratelimited("kmqtt: %u subscribers missed a message: fan-out over limit or out of memory\n",
				     set->overflow);
	}
	kmqtt_msg_put(msg);
	return 0;
}
