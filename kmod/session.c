// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions and their subscriptions.  Each subscription is recorded twice:
 * in the broker's topic tree (for matching) and in the session's list (to
 * remove it at close and to show it).  Both change under topics_lock.
 */

#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "broker.h"
#include "conn.h"
#include "session.h"

struct kmqtt_subscription {
	struct list_head node;
	u8 options;
	u16 len;
	u8 filter[];
};

struct kmqtt_session *kmqtt_session_create(struct kmqtt_broker *broker,
					   const u8 *client_id, u16 len)
{
	struct kmqtt_session *session;

	session = kzalloc(struct_size(session, client_id, len), GFP_KERNEL);
	if (!session)
		return NULL;
	session->broker = broker;
	INIT_LIST_HEAD(&session->subscriptions);
	session->client_id_len = len;
	memcpy(session->client_id, client_id, len);
	return session;
}

static struct kmqtt_subscription *
kmqtt_session_find(struct kmqtt_session *session, const u8 *filter, u16 len)
{
	struct kmqtt_subscription *sub;

	list_for_each_entry(sub, &session->subscriptions, node)
		if (sub->len == len && !memcmp(sub->filter, filter, len))
			return sub;
	return NULL;
}

u8 kmqtt_session_subscribe(struct kmqtt_session *session, const u8 *filter,
			   u16 len, u8 qos)
{
	struct kmqtt_broker *broker = session->broker;
	struct kmqtt_subscription *sub;
	u8 granted = MQTT_SUBACK_FAILURE;
	int ret;

	/* The walking skeleton delivers QoS 0 only. */
	qos = 0;
	mutex_lock(&broker->topics_lock);
	sub = kmqtt_session_find(session, filter, len);
	if (sub) {
		/* MQTT-3.8.4-3: a repeated filter replaces the old one. */
		ret = kmqtt_topic_subscribe(&broker->topics, filter, len,
					    session, qos);
		if (ret >= 0) {
			sub->options = qos;
			granted = qos;
		}
		goto out;
	}
	if (session->n_subscriptions >= broker->limits.max_subscriptions)
		goto out;
	sub = kmalloc(struct_size(sub, filter, len), GFP_KERNEL);
	if (!sub)
		goto out;
	ret = kmqtt_topic_subscribe(&broker->topics, filter, len, session, qos);
	if (ret < 0) {
		kfree(sub);
		goto out;
	}
	sub->options = qos;
	sub->len = len;
	memcpy(sub->filter, filter, len);
	list_add_tail(&sub->node, &session->subscriptions);
	WRITE_ONCE(session->n_subscriptions, session->n_subscriptions + 1);
	broker->subscriptions++;
	granted = qos;
out:
	mutex_unlock(&broker->topics_lock);
	return granted;
}

static void kmqtt_session_remove(struct kmqtt_session *session,
				 struct kmqtt_subscription *sub)
{
	struct kmqtt_broker *broker = session->broker;

	lockdep_assert_held(&broker->topics_lock);
	WARN_ON(kmqtt_topic_unsubscribe(&broker->topics, sub->filter, sub->len,
					session));
	list_del(&sub->node);
	kfree(sub);
	WRITE_ONCE(session->n_subscriptions, session->n_subscriptions - 1);
	broker->subscriptions--;
}

int kmqtt_session_unsubscribe(struct kmqtt_session *session, const u8 *filter,
			      u16 len)
{
	struct kmqtt_broker *broker = session->broker;
	struct kmqtt_subscription *sub;
	int ret = -ENOENT;

	mutex_lock(&broker->topics_lock);
	sub = kmqtt_session_find(session, filter, len);
	if (sub) {
		kmqtt_session_remove(session, sub);
		ret = 0;
	}
	mutex_unlock(&broker->topics_lock);
	return ret;
}

void kmqtt_session_destroy(struct kmqtt_session *session)
{
	struct kmqtt_broker *broker = session->broker;
	struct kmqtt_subscription *sub, *tmp;

	mutex_lock(&broker->topics_lock);
	list_for_each_entry_safe(sub, tmp, &session->subscriptions, node)
		kmqtt_session_remove(session, sub);
	mutex_unlock(&broker->topics_lock);
	RCU_INIT_POINTER(session->conn, NULL);
	/* Publishers may still hold the session from a match. */
	kfree_rcu(session, rcu);
}

bool kmqtt_session_deliver(struct kmqtt_session *session,
			   struct kmqtt_msg *msg)
{
	struct kmqtt_conn *conn = rcu_dereference(session->conn);

	return conn && kmqtt_conn_queue_publish(conn, msg);
}
