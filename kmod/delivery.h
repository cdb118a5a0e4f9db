/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Message flows of a session (MQTT 4.3): QoS 0/1/2 delivery with an
 * inflight window and a bounded queue behind it, acknowledgements,
 * redelivery on reconnect, and inbound QoS 2 duplicate suppression.
 */
#ifndef _KMQTT_DELIVERY_H
#define _KMQTT_DELIVERY_H

#include <linux/types.h>

struct kmqtt_msg;
struct kmqtt_session;

/*
 * Deliver @msg at @qos (already min(published, granted)).  Never sleeps
 * unless @gfp allows it; fan-out calls it under rcu_read_lock().  A message
 * that exceeds a queue limit or finds no memory is dropped and counted.
 */
void kmqtt_delivery_deliver(struct kmqtt_session *session,
			    struct kmqtt_msg *msg, u8 qos, bool retain,
			    gfp_t gfp);

/*
 * Bind @conn to @session, resend what was in flight (PUBLISH with DUP,
 * MQTT-4.4.0-1, or PUBREL) and start the queue, in one step so that no new
 * message overtakes them.  Unbind is its counterpart at close.
 */
void kmqtt_delivery_bind(struct kmqtt_session *session,
			 struct kmqtt_conn *conn);
void kmqtt_delivery_unbind(struct kmqtt_session *session);

/* PUBACK, PUBREC or PUBCOMP from the client for @packet_id. */
void kmqtt_delivery_ack(struct kmqtt_session *session, u8 type,
			u16 packet_id);

/*
 * Inbound QoS 2 PUBLISH with @packet_id: returns 1 when new (deliver it),
 * 0 for a resend of one not yet released, -ENOMEM.
 */
int kmqtt_delivery_qos2_received(struct kmqtt_session *session,
				 u16 packet_id);

/* PUBREL for @packet_id: the id may be reused. */
void kmqtt_delivery_qos2_released(struct kmqtt_session *session,
				  u16 packet_id);

/* Drop everything queued and in flight; the session is going away. */
void kmqtt_delivery_purge(struct kmqtt_session *session);

int kmqtt_delivery_init(void);
void kmqtt_delivery_exit(void);

#endif /* _KMQTT_DELIVERY_H */
