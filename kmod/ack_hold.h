/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Acks held until saved (kmqtt_save_before_ack, Documentation/persistence.rst).
 */
#ifndef _KMQTT_ACK_HOLD_H
#define _KMQTT_ACK_HOLD_H

#include <linux/types.h>

struct kmqtt_broker;
struct kmqtt_conn;
struct kmqtt_txent;

/*
 * Acks a connection may have held before it is read no more: a client
 * that does not wait for them is held back by TCP, not by our memory.
 * Half of send.c's queued controls, which a release fills.
 */
#define KMQTT_MAX_HELD_ACKS	512

void kmqtt_ack_hold_init(struct kmqtt_broker *broker);

/*
 * rx_work, before it takes a QoS 1/2 PUBLISH: true when @conn has
 * KMQTT_MAX_HELD_ACKS held.  It is then paused (not read) until a save
 * sends some, which queues rx_work again.
 */
bool kmqtt_ack_hold_wait(struct kmqtt_conn *conn);

/*
 * Send @ack, the PUBACK or PUBREC of a QoS 1/2 PUBLISH whose message was
 * taken, now or, while acks are held, once a save holds the message.
 * Returns 0 or what kmqtt_send_ack() does.
 */
int kmqtt_ack_hold_send(struct kmqtt_conn *conn, struct kmqtt_txent *ack,
			u8 type, u16 packet_id, u8 reason);

/*
 * Hold acks from now on (@hold 1), or send them all and hold no more (0;
 * -1: as it is); and send those numbered up to @saved, which a save holds.
 * *@seq: the number of the last ack held.  -EINVAL: @saved is past it.
 */
int kmqtt_ack_hold_set(struct kmqtt_broker *broker, int hold, u64 saved,
		       u64 *seq, bool *holding);

/*
 * @conn is closing, before rx_work is cancelled: its held acks are freed,
 * never sent, and a release wakes it no more.
 */
void kmqtt_ack_hold_forget(struct kmqtt_conn *conn);

#endif /* _KMQTT_ACK_HOLD_H */
