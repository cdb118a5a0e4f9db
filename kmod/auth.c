// SPDX-License-Identifier: GPL-2.0
/*
 * Re-authentication.  The client's receive work and the agent's answer
 * (a netlink request) meet only in conn->auth_turn: each moves it on
 * with cmpxchg() from the state it expects, so an AUTH out of turn, from
 * either side, is refused without a lock.  The turn is changed before
 * the AUTH to the client is queued, so its answer finds it changed.
 * An agent that does not answer in time (it restarted, or lost the
 * event) fails the exchange, so that no client waits for ever.
 */

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>
#include <kmqtt/mqtt.h>
#include <linux/kmqtt.h>

#include "auth.h"
#include "broker.h"
#include "codec.h"
#include "conn.h"
#include "netlink.h"
#include "property.h"
#include "send.h"

static unsigned int auth_timeout = 30;
module_param(auth_timeout, uint, 0644);
MODULE_PARM_DESC(auth_timeout,
		 "Seconds kmqttd has to answer a client's AUTH, 1 to 3600 (default 30)");

static unsigned long kmqtt_auth_timeout(void)
{
	return msecs_to_jiffies(clamp(READ_ONCE(auth_timeout), 1U, 3600U) *
				MSEC_PER_SEC);
}

/*
 * End the exchange, if it is in @turn (or in any exchange when @turn is
 * KMQTT_AUTH_NONE: the agent also gives up on a client that does not
 * answer in time), closing with @reason (0x80 or above) in the
 * DISCONNECT (4.12.1): only whoever has the turn fails the exchange.
 * Returns 0, or -EINVAL when it was not in @turn.
 */
static int kmqtt_auth_give_up(struct kmqtt_conn *conn, int turn, u8 reason)
{
	if (turn == KMQTT_AUTH_NONE) {
		if (xchg(&conn->auth_turn, KMQTT_AUTH_NONE) == KMQTT_AUTH_NONE)
			return -EINVAL;
	} else if (cmpxchg(&conn->auth_turn, turn, KMQTT_AUTH_NONE) != turn) {
		return -EINVAL;
	}
	conn->auth_failed = reason;
	kmqtt_conn_close(conn, KMQTT_CLOSE_AUTH);
	return 0;
}

int kmqtt_auth_receive(struct kmqtt_conn *conn,
		       const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	struct kmqtt_props props;
	unsigned long timeout;
	int turn, ret;
	u8 reason;

	if (!kmqtt_conn_v5(conn))
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "packet type not sent by clients");
	ret = kmqtt_codec_parse_reason(body, hdr->rem_len, KMQTT_PROPS_AUTH,
				       &reason, &props);
	if (ret)
		return kmqtt_conn_violation(conn, kmqtt_conn_parse_reason(ret),
					    "malformed AUTH");
	/* 4.12: only with the method of CONNECT, MQTT-4.12.1-1. */
	if (!conn->auth_method)
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "AUTH without a method at CONNECT");
	if (!kmqtt_props_has(&props, MQTT_PROP_AUTH_METHOD) ||
	    props.auth_method.len != conn->auth_method_len ||
	    memcmp(props.auth_method.data, conn->auth_method,
		   conn->auth_method_len))
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "AUTH with another method");
	if (reason == MQTT_RC_REAUTHENTICATE)
		turn = KMQTT_AUTH_NONE;
	else if (reason == MQTT_RC_CONTINUE_AUTH)
		turn = KMQTT_AUTH_CLIENT;
	else
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "AUTH reason");
	/* Before the turn: the timeout work reads it after the turn. */
	timeout = kmqtt_auth_timeout();
	WRITE_ONCE(conn->auth_deadline, jiffies + timeout);
	if (cmpxchg(&conn->auth_turn, turn, KMQTT_AUTH_AGENT) != turn)
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "AUTH out of turn");
	mod_delayed_work(kmqtt_wq, &conn->auth_work, timeout);
	/* More than any method answers: it cannot succeed. */
	if (props.auth_data.len > KMQTT_AUTH_DATA_MAX) {
		kmqtt_auth_give_up(conn, KMQTT_AUTH_AGENT,
				   MQTT_RC_NOT_AUTHORIZED);
		return 0;
	}
	ret = kmqtt_netlink_auth_event(conn, reason,
				       kmqtt_props_has(&props,
						       MQTT_PROP_AUTH_DATA) ?
				       props.auth_data.data : NULL,
				       props.auth_data.len);
	if (ret) {
		net_info_ratelimited("kmqtt: connection %llu: re-authentication not handed to the agent (%d)\n",
				     conn->id, ret);
		kmqtt_auth_give_up(conn, KMQTT_AUTH_AGENT,
				   MQTT_RC_NOT_AUTHORIZED);
	}
	return 0;
}

/* The reason codes of 0x80 and above a server's DISCONNECT has (3.14.2.1). */
static bool kmqtt_auth_failure_valid(u8 reason)
{
	switch (reason) {
	case MQTT_RC_UNSPECIFIED_ERROR ... MQTT_RC_IMPLEMENTATION_SPECIFIC:
	case MQTT_RC_NOT_AUTHORIZED:
	case MQTT_RC_SERVER_BUSY:
	case MQTT_RC_SERVER_SHUTTING_DOWN:
	case MQTT_RC_KEEPALIVE_TIMEOUT ... MQTT_RC_TOPIC_NAME_INVALID:
	case MQTT_RC_RECEIVE_MAX_EXCEEDED ... MQTT_RC_WILDCARD_SUB_NOT_SUPPORTED:
		return true;
	}
	return false;
}

void kmqtt_auth_timeout_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(to_delayed_work(work),
					       struct kmqtt_conn, auth_work);
	unsigned long deadline, now = jiffies;

	/* Pairs with the cmpxchg() after the deadline's write. */
	if (smp_load_acquire(&conn->auth_turn) != KMQTT_AUTH_AGENT ||
	    kmqtt_conn_closing(conn))
		return;
	deadline = READ_ONCE(conn->auth_deadline);
	if (time_before(now, deadline)) {
		queue_delayed_work(kmqtt_wq, &conn->auth_work, deadline - now);
		return;
	}
	if (!kmqtt_auth_give_up(conn, KMQTT_AUTH_AGENT, MQTT_RC_NOT_AUTHORIZED))
		net_info_ratelimited("kmqtt: connection %llu: no answer from kmqttd to its AUTH in time\n",
				     conn->id);
}

int kmqtt_auth_answer(struct kmqtt_conn *conn, u8 reason, const u8 *data,
		      u16 len)
{
	size_t size = kmqtt_codec_auth_size(conn->auth_method_len, data, len);
	struct kmqtt_txent *ent;
	int next, ret;

	if (reason >= MQTT_RC_UNSPECIFIED_ERROR)
		return kmqtt_auth_failure_valid(reason) ?
		       kmqtt_auth_give_up(conn, KMQTT_AUTH_NONE, reason) :
		       -EINVAL;
	if (reason == MQTT_RC_SUCCESS)
		next = KMQTT_AUTH_NONE;
	else if (reason == MQTT_RC_CONTINUE_AUTH)
		next = KMQTT_AUTH_CLIENT;
	else
		return -EINVAL;
	/* An answer the client does not take fails it (MQTT-3.1.2-24). */
	if (conn->max_packet_out && size > conn->max_packet_out)
		return kmqtt_auth_give_up(conn, KMQTT_AUTH_AGENT,
					  MQTT_RC_NOT_AUTHORIZED);
	/* Before the turn changes: queueing it then cannot fail. */
	ent = kmqtt_send_alloc_control(conn->broker);
	if (ent) {
		ent->body = kvmalloc(size, GFP_KERNEL);
		if (!ent->body) {
			kmqtt_send_free_control(conn->broker, ent);
			ent = NULL;
		}
	}
	/* The client would wait for an answer that never comes. */
	if (!ent) {
		ret = kmqtt_auth_give_up(conn, KMQTT_AUTH_AGENT,
					 MQTT_RC_UNSPECIFIED_ERROR);
		return ret ?: -ENOMEM;
	}
	if (cmpxchg(&conn->auth_turn, KMQTT_AUTH_AGENT, next) !=
	    KMQTT_AUTH_AGENT) {
		kmqtt_send_free_control(conn->broker, ent);
		return -EINVAL;
	}
	if (kmqtt_send_auth(conn, ent, reason, data, len))
		kmqtt_conn_close(conn, KMQTT_CLOSE_OVERFLOW);
	return 0;
}
