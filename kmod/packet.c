// SPDX-License-Identifier: GPL-2.0
/*
 * Packet handlers, run by a connection's receive work, one per packet
 * type.  Handlers allocate what their answer needs first: what they change
 * is not undone, and a handler that fails for want of memory (-ENOSPC,
 * the memory limit, or -ENOMEM) is run again on the same packet later.
 */

#include <linux/kmqtt.h>
#include <linux/net.h>
#include <kmqtt/mqtt.h>

#include "ack_hold.h"
#include "alias.h"
#include "auth.h"
#include "bridge.h"
#include "broker.h"
#include "codec.h"
#include "conn.h"
#include "delivery.h"
#include "packet.h"
#include "publish.h"
#include "send.h"
#include "session.h"
#include "subscribe.h"
#include "topic.h"

/*
 * The local name of a topic that came in on a bridge link: @pub's topic
 * past the remote prefix of the line that carries it in, after @prefix,
 * that line's local prefix.  False: no line carries it in.
 */
static bool kmqtt_packet_bridge_in(struct kmqtt_conn *conn,
				   struct kmqtt_publish *pub,
				   const u8 **prefix, u16 *prefix_len)
{
	const struct kmqtt_bridge_topic *line;

	line = kmqtt_bridge_route(conn->bridge, KMQTT_BRIDGE_IN, pub->topic,
				  pub->topic_len);
	if (!line)
		return false;
	pub->topic += line->remote_prefix_len;
	pub->topic_len -= line->remote_prefix_len;
	*prefix = line->local;
	*prefix_len = line->local_prefix_len;
	return true;
}

static int kmqtt_packet_publish(struct kmqtt_conn *conn,
				const struct kmqtt_fixed_hdr *hdr,
				const u8 *body)
{
	u32 message_size = READ_ONCE(conn->broker->limits.message_size);
	u32 max_levels = READ_ONCE(conn->broker->limits.max_topic_levels);
	u16 prefix_len = conn->mount_len;
	struct kmqtt_txent *ack = NULL;
	const u8 *prefix = conn->mount;
	u8 reason = MQTT_RC_SUCCESS;
	struct kmqtt_publish pub;
	int ret;

	ret = kmqtt_codec_parse_publish(hdr->flags, body, hdr->rem_len,
					kmqtt_conn_v5(conn), &pub);
	if (ret)
		return kmqtt_conn_violation(conn, kmqtt_conn_parse_reason(ret),
					    "malformed PUBLISH");
	/* Not read while its acks wait for a save, as many as it may have. */
	if (pub.qos && kmqtt_ack_hold_wait(conn))
		return -EAGAIN;
	if (kmqtt_conn_v5(conn)) {
		ret = kmqtt_alias_apply(conn, &pub);
		if (ret)
			return ret;
	}
	/*
	 * No filter deeper than the limit can be subscribed to; Mosquitto
	 * closes such publishers too.  A topic of fewer bytes than the limit
	 * has no more levels than it, so most are not counted.
	 */
	if (pub.topic_len >= max_levels &&
	    kmqtt_topic_levels(pub.topic, pub.topic_len) > max_levels)
		return kmqtt_conn_violation(conn, MQTT_RC_TOPIC_NAME_INVALID,
					    "topic over max_topic_levels");
	/* First: a drop below is counted once, not again at each retry. */
	if (pub.qos) {
		ack = kmqtt_send_alloc_control(conn->broker);
		if (!ack)
			return -ENOMEM;
	}
	ret = 1;
	/* Only what the lines ask for comes in; else acknowledged, dropped. */
	if (conn->bridge &&
	    !kmqtt_packet_bridge_in(conn, &pub, &prefix, &prefix_len)) {
		kmqtt_broker_dropped(conn->broker, conn->session,
				     KMQTT_DROP_DENIED, 1);
		net_info_ratelimited("kmqtt: bridge link %llu: a topic no line carries in dropped\n",
				     conn->id);
		ret = 0;
	}
	if (pub.topic_len > MQTT_MAX_TOPIC_LEN - prefix_len) {
		ret = kmqtt_conn_violation(conn, MQTT_RC_TOPIC_NAME_INVALID,
					   "topic too long under its prefix");
		goto free_ack;
	}
	/* Mosquitto's message_size_limit: acknowledged, dropped, kept. */
	if (message_size && pub.payload_len > message_size) {
		kmqtt_broker_dropped(conn->broker, conn->session,
				     KMQTT_DROP_TOO_LARGE, 1);
		net_info_ratelimited("kmqtt: connection %llu: payload of %u bytes over message_size_limit dropped\n",
				     conn->id, pub.payload_len);
		reason = MQTT_RC_QUOTA_EXCEEDED;
		ret = 0;
	}
	/* MQTT 4.3.3 method B: a resent QoS 2 id is not delivered again. */
	if (ret && pub.qos == 2) {
		ret = kmqtt_delivery_qos2_received(conn->session, pub.packet_id,
						   conn->receive_max_in,
						   pub.dup);
		conn->refused = KMQTT_QOS2_BITMAP_SIZE;
		if (ret == -EDQUOT)
			ret = kmqtt_conn_violation(conn,
						   MQTT_RC_RECEIVE_MAX_EXCEEDED,
						   "over the receive maximum");
		if (ret < 0)
			goto free_ack;
	}
	if (ret) {
		ret = kmqtt_publish(conn, &pub, prefix, prefix_len, &reason);
		if (ret) {
			/* Not taken: handled again when it can be. */
			if (pub.qos == 2)
				kmqtt_delivery_qos2_released(conn->session,
							     pub.packet_id);
			goto free_ack;
		}
	}
	kmqtt_counter_add(&conn->counters.msgs_in, 1);
	if (!pub.qos)
		return 0;
	if (!kmqtt_conn_v5(conn))
		reason = MQTT_RC_SUCCESS;
	/* 5.0: a PUBREC with an error ends the flow; no PUBREL follows. */
	if (pub.qos == 2 && reason >= MQTT_RC_UNSPECIFIED_ERROR)
		kmqtt_delivery_qos2_released(conn->session, pub.packet_id);
	return kmqtt_ack_hold_send(conn, ack,
				   pub.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
				   pub.packet_id, reason);
free_ack:
	if (ack)
		kmqtt_send_free_control(conn->broker, ack);
	return ret;
}

/* PUBACK, PUBREC, PUBREL or PUBCOMP from the client. */
static int kmqtt_packet_ack(struct kmqtt_conn *conn,
			    const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	struct kmqtt_txent *answer = NULL;
	u16 packet_id;
	u8 reason;
	int ret;

	if (kmqtt_codec_parse_ack(body, hdr->rem_len, kmqtt_conn_v5(conn),
				  &packet_id, &reason))
		return kmqtt_conn_violation(conn, MQTT_RC_MALFORMED_PACKET,
					    "malformed ack");
	/* PUBREC is answered with PUBREL, PUBREL with PUBCOMP. */
	if (hdr->type == MQTT_PUBREC || hdr->type == MQTT_PUBREL) {
		answer = kmqtt_send_alloc_control(conn->broker);
		if (!answer)
			return -ENOMEM;
	}
	if (hdr->type != MQTT_PUBREL) {
		ret = kmqtt_delivery_ack(conn->session, hdr->type, packet_id,
					 reason, &answer);
		if (answer)
			kmqtt_send_free_control(conn->broker, answer);
		return ret;
	}
	/*
	 * MQTT-4.3.3-2: PUBCOMP even for an id already released; 5.0 says
	 * it was not found (3.7.2.1).
	 */
	reason = MQTT_RC_SUCCESS;
	if (!kmqtt_delivery_qos2_released(conn->session, packet_id) &&
	    kmqtt_conn_v5(conn))
		reason = MQTT_RC_PACKET_ID_NOT_FOUND;
	return kmqtt_send_ack(conn, answer, MQTT_PUBCOMP, packet_id, reason);
}

/*
 * DISCONNECT.  5.0 gives a reason: only 0x00 discards the will
 * (MQTT-3.1.2-8, 3.14.2.1; 0x04 asks for it, an error keeps it), and may
 * change the session expiry interval, but not from 0 (MQTT-3.14.2-2).
 * 3.1.x discards the will (MQTT-3.14.4-3).
 */
static int kmqtt_packet_disconnect(struct kmqtt_conn *conn,
				   const struct kmqtt_fixed_hdr *hdr,
				   const u8 *body)
{
	struct kmqtt_props props;
	u8 reason = 0;
	int ret;

	if (!kmqtt_conn_v5(conn)) {
		if (hdr->rem_len)
			return kmqtt_conn_violation(conn,
						    MQTT_RC_MALFORMED_PACKET,
						    "malformed DISCONNECT");
	} else {
		ret = kmqtt_codec_parse_reason(body, hdr->rem_len,
					       KMQTT_PROPS_DISCONNECT, &reason,
					       &props);
		if (ret)
			return kmqtt_conn_violation(conn,
						    kmqtt_conn_parse_reason(ret),
						    "malformed DISCONNECT");
		if (kmqtt_props_has(&props, MQTT_PROP_SESSION_EXPIRY)) {
			if (!conn->session_expiry && props.session_expiry)
				return kmqtt_conn_violation(conn,
							    MQTT_RC_PROTOCOL_ERROR,
							    "session expiry set at DISCONNECT after 0 at CONNECT");
			conn->session_expiry = props.session_expiry;
		}
	}
	kmqtt_conn_close(conn, reason == MQTT_RC_SUCCESS ?
			 KMQTT_CLOSE_DISCONNECT : KMQTT_CLOSE_DISCONNECT_WILL);
	return 0;
}

/*
 * What a 3.1.x broker sends a client on a bridge link: no UNSUBACK, as no
 * UNSUBSCRIBE goes out on one, and no DISCONNECT, which only 5.0 has.
 */
static bool kmqtt_packet_from_broker(u8 type)
{
	switch (type) {
	case MQTT_PUBLISH:
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
	case MQTT_SUBACK:
	case MQTT_PINGRESP:
		return true;
	default:
		return false;
	}
}

int kmqtt_packet_handle(struct kmqtt_conn *conn,
			const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	if (conn->bridge && !kmqtt_packet_from_broker(hdr->type))
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "packet type not sent by brokers");
	switch (hdr->type) {
	case MQTT_PUBLISH:
		return kmqtt_packet_publish(conn, hdr, body);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
	case MQTT_PUBREL:
		return kmqtt_packet_ack(conn, hdr, body);
	case MQTT_SUBSCRIBE:
		return kmqtt_subscribe_handle(conn, hdr, body, true);
	case MQTT_UNSUBSCRIBE:
		return kmqtt_subscribe_handle(conn, hdr, body, false);
	case MQTT_PINGREQ:
		if (hdr->rem_len)
			return kmqtt_conn_violation(conn, MQTT_RC_MALFORMED_PACKET,
					    "malformed PINGREQ");
		return kmqtt_send_pingresp(conn);
	case MQTT_DISCONNECT:
		return kmqtt_packet_disconnect(conn, hdr, body);
	case MQTT_AUTH:
		return kmqtt_auth_receive(conn, hdr, body);
	case MQTT_CONNECT:
		/* MQTT-3.1.0-2 */
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "second CONNECT");
	case MQTT_SUBACK:
	case MQTT_PINGRESP:
		if (conn->bridge)
			return kmqtt_bridge_receive(conn, hdr, body);
		fallthrough;
	default:
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "packet type not sent by clients");
	}
}
