// SPDX-License-Identifier: GPL-2.0
/* Application messages, accounted against the broker's memory limit. */

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "broker.h"
#include "msg.h"

struct kmqtt_msg *kmqtt_msg_create(struct kmqtt_broker *broker,
				   const u8 *topic, u16 topic_len,
				   const u8 *payload, u32 payload_len, u8 qos,
				   gfp_t gfp)
{
	size_t len = 2 + (size_t)topic_len + payload_len;
	size_t size = offsetof(struct kmqtt_msg, data) + len;
	struct kmqtt_msg *msg;

	if (!kmqtt_broker_charge(broker, size))
		return NULL;
	msg = kvmalloc(size, gfp | __GFP_NOWARN);
	if (!msg) {
		kmqtt_broker_uncharge(broker, size);
		return NULL;
	}
	refcount_set(&msg->ref, 1);
	msg->broker = broker;
	msg->qos = qos;
	msg->topic_len = topic_len;
	msg->len = len;
	msg->data[0] = topic_len >> 8;
	msg->data[1] = topic_len & 0xff;
	memcpy(msg->data + 2, topic, topic_len);
	memcpy(msg->data + 2 + topic_len, payload, payload_len);
	return msg;
}

void kmqtt_msg_free(struct kmqtt_msg *msg)
{
	kmqtt_broker_uncharge(msg->broker,
			      offsetof(struct kmqtt_msg, data) + msg->len);
	/* vfree() may sleep; queues drop messages under spinlocks. */
	kvfree_rcu(msg, rcu);
}
