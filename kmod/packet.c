// SPDX-License-Identifier: GPL-2.0
/*
 * Packet handlers, run by a connection's receive work, one per packet
 * type.  Handlers allocate what their answer needs first: what they change
 * is not undone, and a handler that fails for want of memory (-ENOSPC,
 * the memory limit, or -ENOMEM) is run again on the same packet later.
 */

#include <linux/net.h>
#include <kmqtt/mqtt.h>

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

static int kmqtt_packet_publish(struct kmqtt_conn *conn,
				const struct kmqtt_fixed_hdr *hdr,
				const u8 *body)
{
	u32 message_size = READ_ONCE(conn->broker->limits.message_size);
	u32 max_levels = READ_ONCE(conn->broker->limits.max_topic_levels);
	struct kmqtt_txent *ack = NULL;
	struct kmqtt_publish pub;
	int ret = 1;

	if (kmqtt_codec_parse_publish(hdr->flags, body, hdr->rem_len, false,
				      &pub))
		return kmqtt_conn_violation(conn, "malformed PUBLISH");
	/*
	 * No filter deeper than the limit can be subscribed to; Mosquitto
	 * closes such publishers too.  A topic of fewer bytes than the limit
	 * has no more levels than it, so most are not counted.
	 */
	if (pub.topic_len >= max_levels &&
	    kmqtt_topic_levels(pub.topic, pub.topic_len) > max_levels)
		return kmqtt_conn_violation(conn, "topic over max_topic_levels");
	if (pub.topic_len > MQTT_MAX_TOPIC_LEN - conn->mount_len)
		return kmqtt_conn_violation(conn,
					    "topic too long under the mount point");
	/* Mosquitto's message_size_limit: acknowledged, dropped, kept. */
	if (message_size && pub.payload_len > message_size) {
		kmqtt_broker_dropped(conn->broker, KMQTT_DROP_TOO_LARGE, 1);
		net_info_ratelimited("kmqtt: connection %llu: payload of %u bytes over message_size_limit dropped\n",
				     conn->id, pub.payload_len);
		ret = 0;
	}
	if (pub.qos) {
		ack = kmqtt_send_alloc_control(conn->broker);
		if (!ack)
			return -ENOMEM;
	}
	/* MQTT 4.3.3 method B: a resent QoS 2 id is not delivered again. */
	if (ret && pub.qos == 2) {
		ret = kmqtt_delivery_qos2_received(conn->session, pub.packet_id);
		conn->refused = KMQTT_QOS2_BITMAP_SIZE;
		if (ret < 0)
			goto free_ack;
	}
	if (ret) {
		ret = kmqtt_publish(conn, &pub);
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
	return kmqtt_send_ack(conn, ack,
			      pub.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
			      pub.packet_id);
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

	if (kmqtt_codec_parse_ack(body, hdr->rem_len, false, &packet_id,
				  &reason))
		return kmqtt_conn_violation(conn, "malformed ack");
	/* PUBREC is answered with PUBREL, PUBREL with PUBCOMP. */
	if (hdr->type == MQTT_PUBREC || hdr->type == MQTT_PUBREL) {
		answer = kmqtt_send_alloc_control(conn->broker);
		if (!answer)
			return -ENOMEM;
	}
	if (hdr->type != MQTT_PUBREL) {
		ret = kmqtt_delivery_ack(conn->session, hdr->type, packet_id,
					 &answer);
		if (answer)
			kmqtt_send_free_control(conn->broker, answer);
		return ret;
	}
	kmqtt_delivery_qos2_released(conn->session, packet_id);
	/* MQTT-4.3.3-2: PUBCOMP even for an id already released. */
	return kmqtt_send_ack(conn, answer, MQTT_PUBCOMP, packet_id);
}

int kmqtt_packet_handle(struct kmqtt_conn *conn,
			const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
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
			return kmqtt_conn_violation(conn, "malformed PINGREQ");
		return kmqtt_send_pingresp(conn);
	case MQTT_DISCONNECT:
		if (hdr->rem_len)
			return kmqtt_conn_violation(conn, "malformed DISCONNECT");
		/* MQTT-3.14.4-3: the will is discarded. */
		kmqtt_conn_close(conn, KMQTT_CLOSE_DISCONNECT);
		return 0;
	case MQTT_CONNECT:
		/* MQTT-3.1.0-2 */
		return kmqtt_conn_violation(conn, "second CONNECT");
	default:
		return kmqtt_conn_violation(conn, "packet type not sent by clients");
	}
}
