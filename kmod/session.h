/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client session: the client id and the subscriptions.  The subscription
 * tree points at sessions, and a session points at its live connection.
 */
#ifndef _KMQTT_SESSION_H
#define _KMQTT_SESSION_H

#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

struct kmqtt_broker;
struct kmqtt_conn;
struct kmqtt_msg;

struct kmqtt_session {
	struct kmqtt_broker *broker;
	struct kmqtt_conn __rcu *conn;
	struct list_head subscriptions;	/* under broker->topics_lock */
	u32 n_subscriptions;		/* under broker->topics_lock */
	struct rcu_head rcu;
	u16 client_id_len;
	u8 client_id[];
};

struct kmqtt_session *kmqtt_session_create(struct kmqtt_broker *broker,
					   const u8 *client_id, u16 len);

/* Drop every subscription, detach from the connection, free after RCU. */
void kmqtt_session_destroy(struct kmqtt_session *session);

/*
 * Subscribe to a valid @filter with the requested @qos.  Returns the granted
 * QoS, or MQTT_SUBACK_FAILURE when a limit or memory refuses it.
 */
u8 kmqtt_session_subscribe(struct kmqtt_session *session, const u8 *filter,
			   u16 len, u8 qos);

/* Returns 0 or -ENOENT when the session had no such filter. */
int kmqtt_session_unsubscribe(struct kmqtt_session *session, const u8 *filter,
			      u16 len);

/* Hand @msg to the session's connection; caller holds rcu_read_lock(). */
bool kmqtt_session_deliver(struct kmqtt_session *session,
			   struct kmqtt_msg *msg);

#endif /* _KMQTT_SESSION_H */
