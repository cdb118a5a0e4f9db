// SPDX-License-Identifier: GPL-2.0
/*
 * Acks held until saved.  With kmqttd's kmqtt_save_before_ack, the PUBACK
 * or PUBREC of a QoS 1/2 PUBLISH says that the message is on disk, not
 * only in this module: a power cut after it loses nothing.  Each such ack
 * is numbered, in the broker's order, once its PUBLISH has done all it
 * changes (queues, retained store, QoS 2 ids), and waits on its
 * connection.  kmqttd reads the last number, saves (a dump that begins
 * after that holds everything up to it), then says so, and the acks up
 * to that number go out, in each connection's order (MQTT-4.6.0-2).
 */

#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

#include "ack_hold.h"
#include "broker.h"
#include "codec.h"
#include "conn.h"
#include "send.h"

void kmqtt_ack_hold_init(struct kmqtt_broker *broker)
{
	spin_lock_init(&broker->ack_lock);
	INIT_LIST_HEAD(&broker->ack_conns);
}

bool kmqtt_ack_hold_wait(struct kmqtt_conn *conn)
{
	struct kmqtt_broker *broker = conn->broker;
	bool wait;

	if (READ_ONCE(conn->n_acks_held) < KMQTT_MAX_HELD_ACKS)
		return false;
	spin_lock(&broker->ack_lock);
	wait = conn->n_acks_held >= KMQTT_MAX_HELD_ACKS;
	if (wait && !conn->ack_stopped) {
		conn->ack_waiting = true;
		set_bit(KMQTT_CONN_F_PAUSED, &conn->flags);
	}
	spin_unlock(&broker->ack_lock);
	return wait;
}

/*
 * Send @conn's acks that a save holds; those of a closing connection go
 * to @dead, to be freed after the lock.  A connection paused for its
 * acks is read again once it has fewer than KMQTT_MAX_HELD_ACKS.
 */
static void kmqtt_ack_hold_send_saved(struct kmqtt_broker *broker,
				      struct kmqtt_conn *conn,
				      struct list_head *dead)
{
	u32 saved = lower_32_bits(broker->ack_saved), n = 0;
	struct kmqtt_txent *ent, *last = NULL;
	LIST_HEAD(acks);

	lockdep_assert_held(&broker->ack_lock);
	/* Fewer than 2^31 are ever held: the low bits order them. */
	list_for_each_entry(ent, &conn->acks_held, node) {
		if ((s32)(saved - ent->ack_seq) < 0)
			break;
		last = ent;
		n++;
	}
	if (!n)
		return;
	list_cut_position(&acks, &conn->acks_held, &last->node);
	if (!kmqtt_send_held(conn, &acks, n))
		list_splice_tail(&acks, dead);
	/* Only now: rx_work's next ack may go straight to the queue. */
	WRITE_ONCE(conn->n_acks_held, conn->n_acks_held - n);
	broker->acks_held -= n;
	if (conn->ack_waiting && conn->n_acks_held < KMQTT_MAX_HELD_ACKS) {
		conn->ack_waiting = false;
		/* Its keepalive counts from now: the wait was the broker's. */
		WRITE_ONCE(conn->last_packet, jiffies);
		clear_bit(KMQTT_CONN_F_PAUSED, &conn->flags);
		queue_work(kmqtt_wq, &conn->rx_work);
	}
}

/*
 * Send what broker->ack_saved covers.  Connections are taken one at a
 * time, so that many held acks do not keep the lock long; a concurrent
 * release or close finds each on one list or the other.
 */
static void kmqtt_ack_hold_release(struct kmqtt_broker *broker)
{
	struct kmqtt_txent *ent, *tmp;
	LIST_HEAD(todo);
	LIST_HEAD(dead);

	spin_lock(&broker->ack_lock);
	list_splice_init(&broker->ack_conns, &todo);
	while (!list_empty(&todo)) {
		struct kmqtt_conn *conn = list_first_entry(&todo,
							   struct kmqtt_conn,
							   ack_node);

		kmqtt_ack_hold_send_saved(broker, conn, &dead);
		list_del_init(&conn->ack_node);
		if (conn->n_acks_held)
			list_add_tail(&conn->ack_node, &broker->ack_conns);
		cond_resched_lock(&broker->ack_lock);
	}
	spin_unlock(&broker->ack_lock);
	list_for_each_entry_safe(ent, tmp, &dead, node) {
		list_del(&ent->node);
		kmqtt_send_free_control(broker, ent);
	}
}

int kmqtt_ack_hold_send(struct kmqtt_conn *conn, struct kmqtt_txent *ack,
			u8 type, u16 packet_id, u8 reason)
{
	struct kmqtt_broker *broker = conn->broker;
	bool now, held, late = false;
	int ret = 0;

	/*
	 * A release lowers n_acks_held once the acks it sends are queued:
	 * none is waiting that this one would pass.
	 */
	if (!READ_ONCE(broker->hold_acks) && !READ_ONCE(conn->n_acks_held))
		return kmqtt_send_ack(conn, ack, type, packet_id, reason);
	ack->hdr_len = kmqtt_codec_put_ack(ack->hdr, type, packet_id, reason);
	spin_lock(&broker->ack_lock);
	now = !broker->hold_acks && !conn->n_acks_held;
	held = !now && !conn->ack_stopped;
	/*
	 * Released, they join the send queue: a client that reads none of
	 * them is closed, as it is without holding.
	 */
	if (held && !kmqtt_send_control_room(conn, conn->n_acks_held + 1)) {
		held = false;
		ret = -ENOBUFS;
	}
	if (held) {
		ack->ack_seq = ++broker->ack_seq;
		/*
		 * Holding was turned off, but acks of this connection wait
		 * yet: this one is as good as saved, and goes after them.
		 */
		if (!broker->hold_acks) {
			broker->ack_saved = broker->ack_seq;
			late = true;
		}
		list_add_tail(&ack->node, &conn->acks_held);
		WRITE_ONCE(conn->n_acks_held, conn->n_acks_held + 1);
		broker->acks_held++;
		if (list_empty(&conn->ack_node))
			list_add_tail(&conn->ack_node, &broker->ack_conns);
	}
	spin_unlock(&broker->ack_lock);
	if (now)
		return kmqtt_send_ack(conn, ack, type, packet_id, reason);
	if (!held)
		/* Closing, or not read: nobody would send it. */
		kmqtt_send_free_control(broker, ack);
	else if (late)
		kmqtt_ack_hold_release(broker);
	return ret;
}

int kmqtt_ack_hold_set(struct kmqtt_broker *broker, int hold, u64 saved,
		       u64 *seq, bool *holding)
{
	bool release;

	spin_lock(&broker->ack_lock);
	if (saved > broker->ack_seq) {
		spin_unlock(&broker->ack_lock);
		return -EINVAL;
	}
	if (hold >= 0)
		WRITE_ONCE(broker->hold_acks, hold);
	if (!broker->hold_acks)
		saved = broker->ack_seq;
	/* A question alone, kmqttd's every few milliseconds, walks nothing. */
	release = saved > broker->ack_saved;
	if (release)
		broker->ack_saved = saved;
	*seq = broker->ack_seq;
	*holding = broker->hold_acks;
	spin_unlock(&broker->ack_lock);
	if (release)
		kmqtt_ack_hold_release(broker);
	return 0;
}

void kmqtt_ack_hold_forget(struct kmqtt_conn *conn)
{
	struct kmqtt_broker *broker = conn->broker;
	struct kmqtt_txent *ent, *tmp;
	LIST_HEAD(acks);

	spin_lock(&broker->ack_lock);
	conn->ack_stopped = true;
	conn->ack_waiting = false;
	list_del_init(&conn->ack_node);
	list_splice_init(&conn->acks_held, &acks);
	broker->acks_held -= conn->n_acks_held;
	WRITE_ONCE(conn->n_acks_held, 0);
	spin_unlock(&broker->ack_lock);
	list_for_each_entry_safe(ent, tmp, &acks, node) {
		list_del(&ent->node);
		kmqtt_send_free_control(broker, ent);
	}
}
