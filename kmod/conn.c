// SPDX-License-Identifier: GPL-2.0
/*
 * A connection's life.  The agent hands over a connected socket; attach
 * takes it over (socket.c) and binds the client's session; from then on
 * the connection's receive (receive.c) and transmit (send.c) work run on
 * kmqtt_wq, and its keepalive here.
 *
 * Lifetime: a connection lives from attach until its close_work has run.
 * kmqtt_conn_close() only records why and queues close_work, so it may be
 * called from any context, including the connection's own work items.
 * close_work is queued once per connection, and only once attach is done
 * with it (ATTACHED): attach itself queues it if the connection was closed
 * before.  close_work restores the socket callbacks (after which no
 * callback sees the connection), marks the transmit queue dead (after
 * which no publisher queues tx_work), cancels the work items and frees the
 * connection after an RCU grace period, because publishers and dumps find
 * it under RCU.
 */

#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "ack_hold.h"
#include "acl.h"
#include "alias.h"
#include "auth.h"
#include "bridge.h"
#include "broker.h"
#include "conn.h"
#include "msg.h"
#include "netlink.h"
#include "publish.h"
#include "race.h"
#include "receive.h"
#include "send.h"
#include "session.h"
#include "socket.h"
#include "subscribe.h"
#include "trace.h"
#include "websocket.h"
#include "will.h"

/* How long a takeover waits for the old connection to let go. */
#define KMQTT_TAKEOVER_TIMEOUT	(10 * HZ)

/* Its own cache: an idle connection costs sizeof(struct kmqtt_conn). */
static struct kmem_cache *kmqtt_conn_cache;

/* The work frees the connection: it must never be queued twice. */
static void kmqtt_conn_queue_close(struct kmqtt_conn *conn)
{
	if (!test_and_set_bit(KMQTT_CONN_F_CLOSE_QUEUED, &conn->flags))
		queue_work(kmqtt_wq, &conn->close_work);
}

void kmqtt_conn_close(struct kmqtt_conn *conn, enum kmqtt_close_reason reason)
{
	/* The first reason stays; a full barrier when it is ours. */
	if (cmpxchg(&conn->close_reason, KMQTT_CONN_OPEN, reason) !=
	    KMQTT_CONN_OPEN)
		return;
	/* Not attached yet: attach sees the reason and queues the work. */
	if (test_bit(KMQTT_CONN_F_ATTACHED, &conn->flags))
		kmqtt_conn_queue_close(conn);
}

int kmqtt_conn_violation(struct kmqtt_conn *conn, u8 reason, const char *what)
{
	conn->violation = reason;
	net_info_ratelimited("kmqtt: closing connection %llu (%*pE): %s\n",
			     conn->id, conn->session->client_id_len,
			     conn->session->client_id, what);
	return -EPROTO;
}

/* MQTT-3.1.2-24: one and a half times the keepalive with no packet. */
static unsigned long kmqtt_conn_silence_max(const struct kmqtt_conn *conn)
{
	return msecs_to_jiffies(conn->keepalive * 1500U);
}

/*
 * Till the keepalive work runs next: on a bridge link, where the remote
 * broker sends nothing unasked and waits for a packet from the module
 * within its keepalive (MQTT-3.1.2-23), a PINGREQ goes every half
 * keepalive, busy or not.
 */
static unsigned long kmqtt_conn_keepalive_next(const struct kmqtt_conn *conn)
{
	if (conn->bridge)
		return msecs_to_jiffies(max(conn->keepalive * 500U, 1000U));
	return kmqtt_conn_silence_max(conn);
}

static void kmqtt_conn_keepalive_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(to_delayed_work(work),
					       struct kmqtt_conn,
					       keepalive_work);
	unsigned long silence = jiffies - READ_ONCE(conn->last_packet);
	unsigned long next = kmqtt_conn_keepalive_next(conn);

	if (kmqtt_conn_closing(conn))
		return;
	/* Not read while paused: its packets wait in the socket. */
	if (!kmqtt_conn_paused(conn)) {
		if (silence >= kmqtt_conn_silence_max(conn)) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_KEEPALIVE);
			return;
		}
		if (!conn->bridge)
			next = kmqtt_conn_silence_max(conn) - silence;
	}
	/* One that cannot be queued goes unanswered: the silence closes. */
	if (conn->bridge)
		kmqtt_send_pingreq(conn);
	queue_delayed_work(kmqtt_wq, &conn->keepalive_work, next);
}

void kmqtt_conn_get(struct kmqtt_conn *conn)
{
	refcount_inc(&conn->ref);
}

static void kmqtt_conn_free_rcu(struct rcu_head *rcu)
{
	struct kmqtt_conn *conn = container_of(rcu, struct kmqtt_conn, rcu);

	/* Fan-out compares topics with these under RCU. */
	kfree(conn->mount);
	kmqtt_bridge_free(conn->bridge);
	kfree(conn->auth_method);
	/* Dumps test it for GET_CONN's websocket. */
	kmqtt_ws_free(conn);
	kmem_cache_free(kmqtt_conn_cache, conn);
}

static void kmqtt_conn_free(struct kmqtt_conn *conn)
{
	kmqtt_send_purge(conn);
	kmqtt_receive_free(conn);
	kmqtt_alias_free(conn);
	kmqtt_fanout_free(conn->broker, &conn->fanout);
	kmqtt_subscribe_free(conn);
	if (conn->will)
		kmqtt_msg_put(conn->will);
	kmqtt_acl_free(conn->acl);
	if (conn->sock)
		sockfd_put(conn->sock);
	/* Dumps and fan-out may still be looking at it. */
	call_rcu(&conn->rcu, kmqtt_conn_free_rcu);
}

void kmqtt_conn_put(struct kmqtt_conn *conn)
{
	if (refcount_dec_and_test(&conn->ref))
		kmqtt_conn_free(conn);
}

/*
 * Sleep until a closing connection has let go of its session: 0, or
 * -ETIMEDOUT after a while, or -EINTR when the caller is killed.
 */
static int kmqtt_conn_wait_detached(struct kmqtt_conn *conn)
{
	long left = wait_for_completion_killable_timeout(&conn->detached,
							 KMQTT_TAKEOVER_TIMEOUT);

	if (left > 0)
		return 0;
	return left ? -EINTR : -ETIMEDOUT;
}

/*
 * Give @conn its id and its place among the broker's connections, unless
 * max_connections are open: the slot is taken here, not only checked, so
 * attaches running side by side cannot pass the limit together.  Dumps
 * skip it until it is ready.
 */
static int kmqtt_conn_register(struct kmqtt_broker *broker,
			       struct kmqtt_conn *conn,
			       struct netlink_ext_ack *extack)
{
	u32 max = READ_ONCE(broker->limits.max_connections);
	int ret = 0;

	spin_lock(&broker->conns_lock);
	if (max && broker->conns_open >= max) {
		broker->conns_refused++;
		ret = -EUSERS;
	} else {
		/* In id order: dumps resume after the last id they sent. */
		conn->id = ++broker->next_conn_id;
		list_add_tail_rcu(&conn->node, &broker->conns);
		broker->conns_open++;
	}
	spin_unlock(&broker->conns_lock);
	if (ret)
		NL_SET_ERR_MSG(extack, "max_connections reached");
	return ret;
}

/* Leave the broker's connections, adding our counters to its totals. */
static void kmqtt_conn_unregister(struct kmqtt_conn *conn)
{
	struct kmqtt_broker *broker = conn->broker;

	spin_lock(&broker->conns_lock);
	list_del_rcu(&conn->node);
	broker->conns_open--;
	kmqtt_counters_add(&broker->closed, &conn->counters);
	if (conn->close_reason == KMQTT_CLOSE_PROTOCOL)
		broker->protocol_errors++;
	spin_unlock(&broker->conns_lock);
}

/* What a 5.0 client is told when the server closes (3.14.2.1); 0: none. */
static u8 kmqtt_conn_disconnect_reason(const struct kmqtt_conn *conn)
{
	switch (conn->close_reason) {
	case KMQTT_CLOSE_PROTOCOL:
		return conn->violation ? conn->violation :
					 MQTT_RC_PROTOCOL_ERROR;
	case KMQTT_CLOSE_KEEPALIVE:
		return MQTT_RC_KEEPALIVE_TIMEOUT;
	case KMQTT_CLOSE_TAKEOVER:
		return MQTT_RC_SESSION_TAKEN_OVER;
	case KMQTT_CLOSE_SHUTDOWN:
		return MQTT_RC_SERVER_SHUTTING_DOWN;
	case KMQTT_CLOSE_ADMIN:
		return MQTT_RC_ADMINISTRATIVE_ACTION;
	case KMQTT_CLOSE_AUTH:
		return conn->auth_failed;
	case KMQTT_CLOSE_OVERFLOW:
	case KMQTT_CLOSE_NOMEM:
		return MQTT_RC_QUOTA_EXCEEDED;
	default:
		return 0;
	}
}

static void kmqtt_conn_close_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       close_work);
	struct kmqtt_broker *broker = conn->broker;
	u8 reason;

	kmqtt_socket_release(conn);

	spin_lock(&conn->tx_lock);
	WRITE_ONCE(conn->tx_dead, true);
	spin_unlock(&conn->tx_lock);

	/* resume_work queues rx_work only for connections on the list. */
	spin_lock_bh(&broker->paused_lock);
	list_del_init(&conn->paused_node);
	spin_unlock_bh(&broker->paused_lock);
	/* A save's release queues it no more either. */
	kmqtt_ack_hold_forget(conn);

	cancel_work_sync(&conn->rx_work);
	cancel_work_sync(&conn->tx_work);
	cancel_delayed_work_sync(&conn->keepalive_work);
	/* Queued only by rx_work, which is over. */
	cancel_delayed_work_sync(&conn->auth_work);
	reason = kmqtt_conn_v5(conn) ? kmqtt_conn_disconnect_reason(conn) : 0;
	kmqtt_send_goodbye(conn, reason);
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	/* Before the session goes: its deliveries may be in the queue. */
	kmqtt_send_purge(conn);

	trace_kmqtt_conn_close(conn);
	kmqtt_netlink_conn_closed(conn);
	kmqtt_conn_unregister(conn);

	kmqtt_will_close(conn);
	kmqtt_race_window(KMQTT_RACE_CLOSE);
	kmqtt_session_detach(conn->session, conn);
	complete_all(&conn->detached);
	kmqtt_conn_put(conn);
}

/* What attach takes over from @params, freed when it fails early. */
static void kmqtt_conn_params_free(const struct kmqtt_conn_params *params)
{
	kmqtt_acl_free(params->acl);
	kmqtt_bridge_free(params->bridge);
}

/* Takes over @sock, params->acl and params->bridge, even when it fails. */
static struct kmqtt_conn *kmqtt_conn_create(struct kmqtt_broker *broker,
					    const struct kmqtt_conn_params *params,
					    struct socket *sock)
{
	struct kmqtt_conn *conn;

	conn = kmem_cache_zalloc(kmqtt_conn_cache, GFP_KERNEL);
	if (!conn) {
		sockfd_put(sock);
		kmqtt_conn_params_free(params);
		return NULL;
	}
	conn->sock = sock;
	conn->acl = params->acl;
	conn->bridge = params->bridge;
	conn->peer_bridge = params->peer_bridge;
	/* On a bridge link the remote broker sent CONNACK, to kmqttd. */
	conn->connack_sent = !!params->bridge;
	refcount_set(&conn->ref, 1);
	conn->close_reason = KMQTT_CONN_OPEN;
	init_completion(&conn->detached);
	conn->broker = broker;
	conn->proto_level = params->proto_level;
	conn->keepalive = params->keepalive;
	conn->clean_session = params->clean_session;
	conn->receive_max = params->receive_max;
	conn->max_packet_out = params->max_packet_out;
	conn->topic_alias_max = params->topic_alias_max;
	conn->session_expiry = params->session_expiry;
	conn->will_delay = params->will_delay;
	conn->receive_max_in = params->proto_level == MQTT_PROTO_V5 ?
			       READ_ONCE(broker->limits.max_inflight) :
			       U32_MAX;
	INIT_WORK(&conn->rx_work, kmqtt_receive_work);
	INIT_WORK(&conn->tx_work, kmqtt_send_work);
	INIT_WORK(&conn->close_work, kmqtt_conn_close_work);
	INIT_DELAYED_WORK(&conn->keepalive_work, kmqtt_conn_keepalive_work);
	INIT_DELAYED_WORK(&conn->auth_work, kmqtt_auth_timeout_work);
	INIT_LIST_HEAD(&conn->paused_node);
	INIT_LIST_HEAD(&conn->acks_held);
	INIT_LIST_HEAD(&conn->ack_node);
	spin_lock_init(&conn->tx_lock);
	INIT_LIST_HEAD(&conn->tx_queue);
	INIT_LIST_HEAD(&conn->tx_sending);

	if (params->mount_point) {
		conn->mount = kmemdup(params->mount_point,
				      params->mount_point_len, GFP_KERNEL);
		if (!conn->mount)
			goto err;
		conn->mount_len = params->mount_point_len;
	}
	if (params->auth_method) {
		conn->auth_method = kmemdup(params->auth_method,
					    params->auth_method_len,
					    GFP_KERNEL);
		if (!conn->auth_method)
			goto err;
		conn->auth_method_len = params->auth_method_len;
	}
	if (params->will_topic) {
		conn->will = kmqtt_msg_create(broker, NULL, 0, params->will_topic,
					      params->will_topic_len,
					      &params->will_props,
					      params->will_payload,
					      params->will_payload_len,
					      params->will_qos, GFP_KERNEL,
					      NULL);
		if (IS_ERR(conn->will)) {
			conn->will = NULL;
			goto err;
		}
		conn->will_retain = params->will_retain;
	}
	if (params->websocket && kmqtt_ws_init(conn, &params->ws))
		goto err;
	if (params->pending_len &&
	    kmqtt_receive_preload(conn, params->pending, params->pending_len))
		goto err;
	return conn;
err:
	kmqtt_conn_put(conn);
	return NULL;
}

/*
 * Bind the client's session, closing the connection that holds it first
 * (MQTT-3.1.4-2) and waiting, with no lock held, until it has let go.
 */
static struct kmqtt_session *
kmqtt_conn_take_session(struct kmqtt_broker *broker, struct kmqtt_conn *conn,
			const struct kmqtt_conn_params *params, bool *present,
			struct netlink_ext_ack *extack)
{
	struct kmqtt_session *session;
	struct kmqtt_conn *holder;
	int ret;

	for (;;) {
		session = kmqtt_session_attach(broker, conn, params, present,
					       &holder);
		if (!IS_ERR(session) || PTR_ERR(session) != -EBUSY)
			return session;
		kmqtt_conn_close(holder, KMQTT_CLOSE_TAKEOVER);
		ret = kmqtt_conn_wait_detached(holder);
		kmqtt_conn_put(holder);
		if (ret) {
			NL_SET_ERR_MSG(extack,
				       "the connection holding the session did not let go in time");
			return ERR_PTR(ret);
		}
	}
}

/*
 * Attach runs in the agent's task, side by side with other attaches, and
 * takes over params->acl whatever happens.  The receive and transmit work
 * stay idle until the connection is ready, and close_work is not queued
 * before it is ATTACHED, so nothing frees it half-built; CONNACK is queued
 * before the session is bound, so it precedes every message the session
 * sends.
 */
int kmqtt_conn_attach(struct kmqtt_broker *broker,
		      const struct kmqtt_conn_params *params, u64 *conn_id,
		      bool *session_present, struct netlink_ext_ack *extack)
{
	struct kmqtt_session *session;
	struct kmqtt_conn *conn;
	struct socket *sock;
	int ret;

	sock = sockfd_lookup(params->fd, &ret);
	if (!sock) {
		NL_SET_ERR_MSG(extack, "fd is not a socket");
		kmqtt_conn_params_free(params);
		return ret;
	}
	ret = kmqtt_socket_check(broker, sock, extack);
	if (ret) {
		sockfd_put(sock);
		kmqtt_conn_params_free(params);
		return ret;
	}
	conn = kmqtt_conn_create(broker, params, sock);
	if (!conn)
		return -ENOMEM;
	ret = kernel_getpeername(sock, (struct sockaddr *)&conn->peer);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "socket is not connected");
		goto put_conn;
	}
	conn->peer_len = ret;
	conn->ktls = kmqtt_socket_is_ktls(sock->sk);
	ret = kmqtt_conn_register(broker, conn, extack);
	if (ret)
		goto put_conn;
	ret = kmqtt_socket_take(conn, extack);
	if (ret)
		goto unregister;

	session = kmqtt_conn_take_session(broker, conn, params, session_present,
					  extack);
	if (IS_ERR(session)) {
		ret = PTR_ERR(session);
		kmqtt_socket_release(conn);
		cancel_work_sync(&conn->rx_work);
		spin_lock(&conn->tx_lock);
		WRITE_ONCE(conn->tx_dead, true);
		spin_unlock(&conn->tx_lock);
		cancel_work_sync(&conn->tx_work);
		goto unregister;
	}
	conn->last_packet = jiffies;
	*conn_id = conn->id;
	if (conn->bridge) {
		ret = kmqtt_bridge_subscribe(session, conn->bridge);
		if (ret) {
			/* Closed as soon as it is attached, then refused. */
			NL_SET_ERR_MSG(extack,
				       "the bridge's local subscriptions were refused");
			kmqtt_conn_close(conn, KMQTT_CLOSE_NOMEM);
		}
	}

	spin_lock(&broker->conns_lock);
	broker->conns_total++;
	spin_unlock(&broker->conns_lock);
	trace_kmqtt_conn_attach(conn);

	/* Everything above is visible to work that sees @ready. */
	smp_store_release(&conn->ready, true);
	if (conn->keepalive)
		queue_delayed_work(kmqtt_wq, &conn->keepalive_work,
				   kmqtt_conn_keepalive_next(conn));
	/* Bytes may have arrived before our data_ready was set. */
	queue_work(kmqtt_wq, &conn->rx_work);
	queue_work(kmqtt_wq, &conn->tx_work);

	/*
	 * From here on close_work may run and free @conn.  A close before
	 * this point (the work items above, a takeover, a failed send) did
	 * not queue it; one after does.  Both sides write, then read the
	 * other's mark, with a full barrier between: at least one of them
	 * sees the other, and CLOSE_QUEUED keeps it to one work item.
	 */
	kmqtt_race_window(KMQTT_RACE_ATTACH);
	/* Once ATTACHED, close_work may free it under our feet. */
	kmqtt_conn_get(conn);
	set_bit(KMQTT_CONN_F_ATTACHED, &conn->flags);
	/* Pairs with the cmpxchg() of kmqtt_conn_close(). */
	smp_mb__after_atomic();
	if (kmqtt_conn_closing(conn))
		kmqtt_conn_queue_close(conn);
	kmqtt_conn_put(conn);
	return ret;

unregister:
	kmqtt_conn_unregister(conn);
put_conn:
	/* The socket reference goes with the connection. */
	kmqtt_conn_put(conn);
	return ret;
}

void kmqtt_conn_close_all(struct kmqtt_broker *broker)
{
	struct kmqtt_conn *conn;

	spin_lock(&broker->conns_lock);
	list_for_each_entry(conn, &broker->conns, node)
		kmqtt_conn_close(conn, KMQTT_CLOSE_SHUTDOWN);
	spin_unlock(&broker->conns_lock);
	/* Every close_work was queued above; wait for them. */
	flush_workqueue(kmqtt_wq);
	WARN_ON(!list_empty(&broker->conns));
}

int kmqtt_conn_init(void)
{
	kmqtt_conn_cache = KMEM_CACHE(kmqtt_conn, 0);
	return kmqtt_conn_cache ? 0 : -ENOMEM;
}

void kmqtt_conn_exit(void)
{
	/* RCU callbacks may not outlive the module or its cache. */
	rcu_barrier();
	kmem_cache_destroy(kmqtt_conn_cache);
}
