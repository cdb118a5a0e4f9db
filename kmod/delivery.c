// SPDX-License-Identifier: GPL-2.0
/*
 * Outbound message flow of a session.  QoS 0 to an online client goes
 * straight to its connection's send queue (bounded there), unless
 * messages are queued, or held back for a reconnect's resend, which it
 * must not overtake.  QoS 1 and 2
 * take a packet id and a place in the inflight window; when the window is
 * full, or the client is offline, they wait in the session's queue, which
 * is bounded by max_queued_messages and max_queued_bytes.  Acks free
 * window slots and pull the queue forward, keeping the order in which
 * messages arrived (MQTT 4.6).
 *
 * Every delivery is allocated before it is needed (fan-out preallocates
 * them where it may sleep) and carries its own send queue entry, so
 * nothing here allocates: a message is never lost for want of memory
 * after its publisher was acknowledged.
 *
 * All of it runs under session->lock, from publishers' receive work,
 * the client's own receive work, attach and close.
 */

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <kmqtt/limits.h>
#include <kmqtt/mqtt.h>

#include "acl.h"
#include "broker.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "race.h"
#include "send.h"
#include "session.h"
#include "share.h"

static struct kmem_cache *kmqtt_delivery_cache;

int kmqtt_delivery_alloc_bulk(struct kmqtt_broker *broker, gfp_t gfp,
			      size_t n, struct kmqtt_delivery **out)
{
	size_t size = n * sizeof(**out);

	if (!kmqtt_broker_charge(broker, size))
		return -ENOSPC;
	if (kmem_cache_alloc_bulk(kmqtt_delivery_cache, gfp | __GFP_NOWARN, n,
				  (void **)out) != n) {
		kmqtt_broker_uncharge(broker, size);
		return -ENOMEM;
	}
	return 0;
}

void kmqtt_delivery_free_unused(struct kmqtt_broker *broker,
				struct kmqtt_delivery **d, size_t n)
{
	if (!n)
		return;
	kmem_cache_free_bulk(kmqtt_delivery_cache, n, (void **)d);
	kmqtt_broker_uncharge(broker, n * sizeof(**d));
}

/*
 * Make @d the delivery of @msg, found readable under the session's rules
 * of generation @acl_gen; the caller's reference is its first.
 */
static void kmqtt_delivery_init_one(struct kmqtt_delivery *d,
				    struct kmqtt_msg *msg, u8 qos, bool retain,
				    u32 acl_gen,
				    const struct kmqtt_delivery_via *via)
{
	refcount_set(&d->ref, 1);
	d->acl_gen = acl_gen;
	kmqtt_msg_get(msg);
	d->msg = msg;
	d->share = NULL;
	memset(&d->tx, 0, sizeof(d->tx));
	d->tx.in_delivery = true;
	kmqtt_send_set_sub_ids(&d->tx, via->sub_ids, via->n_sub_ids);
	d->qos = qos;
	d->retain = retain;
	d->released = false;
	d->resend = false;
	d->packet_id = 0;
}

void kmqtt_delivery_put(struct kmqtt_delivery *d)
{
	struct kmqtt_msg *msg = d->msg;

	if (!refcount_dec_and_test(&d->ref))
		return;
	kmqtt_share_put(d->share);
	kmem_cache_free(kmqtt_delivery_cache, d);
	kmqtt_broker_uncharge(msg->broker, sizeof(*d));
	kmqtt_msg_put(msg);
}

static void kmqtt_delivery_dropped(struct kmqtt_session *session,
				   enum kmqtt_drop why)
{
	kmqtt_counter_add(&session->msgs_dropped, 1);
	kmqtt_broker_dropped(session->broker, session, why, 1);
}

/* @session does not take a message it was given, for @why. */
static void kmqtt_delivery_refused(struct kmqtt_session *session,
				   const struct kmqtt_delivery_via *via,
				   enum kmqtt_drop why)
{
	if (via->why)
		*via->why = why;
	else
		kmqtt_delivery_dropped(session, why);
}

static bool kmqtt_delivery_readable(struct kmqtt_session *session,
				    const struct kmqtt_msg *msg)
{
	return kmqtt_session_allows(session, kmqtt_msg_topic(msg),
				    msg->topic_len, KMQTT_ACL_READ);
}

/*
 * May @d go to @conn's client now?  Its topic must be under the client's
 * mount point, its 5.0 expiry not passed, its size within what the
 * client takes, and readable under the rules in force: read access is
 * checked when a message is sent, not only when it was queued, so that a
 * reload, or a takeover by another user, withdraws what waits.  The rules
 * are read again only when they changed since the last check.  Returns
 * true, or false with why in *@why (KMQTT_DROP_COUNT: not for this client,
 * not counted).
 */
static bool kmqtt_delivery_sendable(struct kmqtt_session *session,
				    struct kmqtt_conn *conn,
				    struct kmqtt_delivery *d,
				    enum kmqtt_drop *why)
{
	u32 gen = kmqtt_session_acl_gen(session);

	lockdep_assert_held(&session->lock);
	*why = KMQTT_DROP_DENIED;
	if (!kmqtt_send_takes(conn, d->msg))
		return false;
	*why = KMQTT_DROP_TOO_LARGE;
	if (!kmqtt_send_fits(conn, d->msg, d->qos, d->tx.sub_ids_len))
		return false;
	if (d->acl_gen == gen)
		return true;
	*why = KMQTT_DROP_DENIED;
	if (!kmqtt_delivery_readable(session, d->msg))
		return false;
	d->acl_gen = gen;
	return true;
}

/* A delivery of the queue or window that may not be sent: it goes. */
static void kmqtt_delivery_withdraw(struct kmqtt_session *session,
				    struct kmqtt_delivery *d,
				    enum kmqtt_drop why)
{
	list_del(&d->node);
	kmqtt_delivery_put(d);
	kmqtt_delivery_dropped(session, why);
}

static bool kmqtt_delivery_id_in_use(struct kmqtt_session *session, u16 id)
{
	struct kmqtt_delivery *d;

	list_for_each_entry(d, &session->inflight, node)
		if (d->packet_id == id)
			return true;
	return false;
}

/* The window is smaller than the id space, so a free id always exists. */
static u16 kmqtt_delivery_next_id(struct kmqtt_session *session)
{
	u16 id = session->last_packet_id;

	do {
		id++;
	} while (!id || kmqtt_delivery_id_in_use(session, id));
	session->last_packet_id = id;
	return id;
}

/*
 * Queue the PUBLISH, or the PUBREL once released, of a delivery in flight.
 * What does not go out now (the connection is closing) stays in flight
 * and is resent when the client comes back.
 */
static void kmqtt_delivery_send(struct kmqtt_session *session,
				struct kmqtt_conn *conn,
				struct kmqtt_delivery *d, bool dup)
{
	lockdep_assert_held(&session->lock);
	refcount_inc(&d->ref);
	if (d->released) {
		/*
		 * Its PUBLISH was acknowledged: the entry is free for this,
		 * and counts against no control limit (the window bounds it).
		 */
		d->tx.msg = NULL;
		kmqtt_send_ack(conn, &d->tx, MQTT_PUBREL, d->packet_id, 0);
		return;
	}
	d->tx.msg = d->msg;
	if (kmqtt_send_publish(conn, &d->tx, d->qos, d->packet_id, dup,
			       d->retain) != KMQTT_HANDOFF_TAKEN)
		kmqtt_delivery_put(d);
}

/* QoS 1/2 messages @conn's client may have unacknowledged. */
static u32 kmqtt_delivery_window(const struct kmqtt_session *session,
				 const struct kmqtt_conn *conn)
{
	return min_t(u32, READ_ONCE(session->broker->limits.max_inflight),
		     conn->receive_max);
}

/*
 * One held-back delivery fewer, once it is resent (or withdrawn): as
 * kmqtt_delivery_unqueue(), for what a reconnect resends first.
 */
static void kmqtt_delivery_resent(struct kmqtt_session *session)
{
	/* Pairs with the acquire in kmqtt_delivery_none_ahead(). */
	smp_store_release(&session->n_resend, session->n_resend - 1);
}

/* @d, held back at bind, was acknowledged: out of the held-back count. */
static void kmqtt_delivery_unhold(struct kmqtt_session *session,
				  struct kmqtt_delivery *d)
{
	if (d->resend) {
		d->resend = false;
		kmqtt_delivery_resent(session);
	}
}

/*
 * Resend, in their order, what bind held back, while the messages this
 * connection has out unacknowledged (in flight but not held back) leave
 * room in @window.  A PUBREL goes out whatever the rules say: it carries
 * no message.
 */
static void kmqtt_delivery_resend_held(struct kmqtt_session *session,
				       struct kmqtt_conn *conn, u32 window)
{
	struct kmqtt_delivery *d, *tmp;
	enum kmqtt_drop why;

	list_for_each_entry_safe(d, tmp, &session->inflight, node) {
		if (!session->n_resend ||
		    session->n_inflight - session->n_resend >= window)
			return;
		if (!d->resend)
			continue;
		d->resend = false;
		kmqtt_race_spin_window(KMQTT_RACE_PUMP);
		if (!d->released &&
		    !kmqtt_delivery_sendable(session, conn, d, &why)) {
			WRITE_ONCE(session->n_inflight, session->n_inflight - 1);
			kmqtt_delivery_withdraw(session, d, why);
		} else {
			kmqtt_delivery_send(session, conn, d, true);
		}
		kmqtt_delivery_resent(session);
	}
}

/*
 * One queued message fewer, once it is in the send queue (or withdrawn,
 * or refused): a QoS 0 message that sees none queued goes straight to the
 * send queue without the session lock, and must not overtake it
 * (MQTT-4.6.0-6).
 */
static void kmqtt_delivery_unqueue(struct kmqtt_session *session)
{
	/* Pairs with the acquire in kmqtt_delivery_none_ahead(). */
	smp_store_release(&session->n_queued, session->n_queued - 1);
}

/*
 * Fill the window: first with what bind held back, then with queued
 * messages, while it has room: the broker's limit, and the 5.0 client's
 * receive maximum (MQTT-3.3.4-9).  Messages whose 5.0 expiry passed while
 * they waited go (MQTT-3.3.2-5).
 */
static void kmqtt_delivery_pump(struct kmqtt_session *session,
				struct kmqtt_conn *conn)
{
	u32 window = kmqtt_delivery_window(session, conn);
	struct kmqtt_delivery *d, *tmp;
	enum kmqtt_drop why;

	lockdep_assert_held(&session->lock);
	kmqtt_delivery_resend_held(session, conn, window);
	/*
	 * Held-back ones count as in flight: new messages wait for them,
	 * QoS 0 ones too (MQTT-4.6.0-6).
	 */
	list_for_each_entry_safe(d, tmp, &session->queue, node) {
		if (session->n_resend ||
		    (d->qos && session->n_inflight >= window))
			break;
		WRITE_ONCE(session->queued_bytes,
			   session->queued_bytes - d->msg->len);
		if (kmqtt_msg_expired(d->msg)) {
			kmqtt_delivery_unqueue(session);
			kmqtt_delivery_withdraw(session, d, KMQTT_DROP_EXPIRED);
			continue;
		}
		if (!kmqtt_delivery_sendable(session, conn, d, &why)) {
			kmqtt_delivery_unqueue(session);
			kmqtt_delivery_withdraw(session, d, why);
			continue;
		}
		list_del(&d->node);
		kmqtt_race_spin_window(KMQTT_RACE_PUMP);
		if (!d->qos) {
			/* The queue's reference goes to the send queue. */
			d->tx.msg = d->msg;
			if (kmqtt_send_publish(conn, &d->tx, 0, 0, false,
					       d->retain) != KMQTT_HANDOFF_TAKEN)
				kmqtt_delivery_put(d);
			kmqtt_delivery_unqueue(session);
			continue;
		}
		d->packet_id = kmqtt_delivery_next_id(session);
		list_add_tail(&d->node, &session->inflight);
		WRITE_ONCE(session->n_inflight, session->n_inflight + 1);
		kmqtt_delivery_send(session, conn, d, false);
		kmqtt_delivery_unqueue(session);
	}
}

/*
 * Without the session lock, just after reading its connection: may a new
 * QoS 0 message go straight out, with nothing queued or held back for a
 * resend ahead of it?
 */
static bool kmqtt_delivery_none_ahead(const struct kmqtt_session *session)
{
	/* Pairs with bind's rcu_assign_pointer(): the held-back count first. */
	smp_rmb();
	/* Pairs with _unqueue(): what it counted is in the send queue. */
	if (smp_load_acquire(&session->n_queued))
		return false;
	/* Pairs with _resent(), the same for a reconnect's resends. */
	return !smp_load_acquire(&session->n_resend);
}

static bool kmqtt_delivery_queue_full(struct kmqtt_session *session,
				      const struct kmqtt_msg *msg)
{
	const struct kmqtt_limits *limits = &session->broker->limits;
	u32 max_msgs = READ_ONCE(limits->max_queued_messages);
	u64 max_bytes = READ_ONCE(limits->max_queued_bytes);

	return (max_msgs && session->n_queued >= max_msgs) ||
	       (max_bytes && session->queued_bytes + msg->len > max_bytes);
}

enum kmqtt_handoff kmqtt_delivery_deliver(struct kmqtt_session *session,
					  struct kmqtt_msg *msg, u8 qos,
					  bool retain,
					  const struct kmqtt_delivery_via *via,
					  struct kmqtt_delivery *d)
{
	/* Read before the rules: a change meanwhile is seen at send time. */
	u32 acl_gen = kmqtt_session_acl_gen(session);
	enum kmqtt_handoff done = KMQTT_HANDOFF_REFUSED;
	struct kmqtt_conn *conn;
	bool direct;

	if (!kmqtt_delivery_readable(session, msg)) {
		if (via->why)
			*via->why = KMQTT_DROP_DENIED;
		else
			atomic64_inc(&session->broker->acl_denied);
		return KMQTT_HANDOFF_REFUSED;
	}

	if (!qos) {
		rcu_read_lock();
		conn = rcu_dereference(session->conn);
		/*
		 * Straight out unless messages wait for the window (queued,
		 * or held back for a resend): then it waits behind them
		 * (ordered topics, MQTT-4.6.0-6).
		 * A hand-on goes through the queue, whose send is not refused
		 * (and counted) after deliver has said it took the message.
		 */
		direct = conn && kmqtt_delivery_none_ahead(session) &&
			 !via->why;
		/*
		 * Most often straight into the open chunk, with no delivery;
		 * else as below, where what is refused is counted.
		 */
		if (direct && kmqtt_send_publish_copied(conn, msg, retain,
							via->n_sub_ids)) {
			rcu_read_unlock();
			return KMQTT_HANDOFF_COPIED;
		}
		/* Not under its mount point: not for this client. */
		if (conn && !kmqtt_send_takes(conn, msg)) {
			rcu_read_unlock();
			return KMQTT_HANDOFF_REFUSED;
		}
		if (conn &&
		    !kmqtt_send_fits(conn, msg, 0,
				     kmqtt_send_sub_ids_len(via->sub_ids,
							    via->n_sub_ids))) {
			rcu_read_unlock();
			kmqtt_delivery_refused(session, via, KMQTT_DROP_TOO_LARGE);
			return KMQTT_HANDOFF_REFUSED;
		}
		/* An expiry interval of 0 ends before it goes out. */
		if (conn && kmqtt_msg_expired(msg)) {
			rcu_read_unlock();
			kmqtt_delivery_refused(session, via, KMQTT_DROP_EXPIRED);
			return KMQTT_HANDOFF_REFUSED;
		}
		if (direct) {
			kmqtt_delivery_init_one(d, msg, 0, retain, acl_gen, via);
			d->tx.msg = msg;
			done = kmqtt_send_publish(conn, &d->tx, 0, 0, false,
						  retain);
			if (done != KMQTT_HANDOFF_TAKEN)
				kmqtt_msg_put(msg);
			rcu_read_unlock();
			return done;
		}
		rcu_read_unlock();
		/*
		 * Offline: QoS 0 waits only if the operator or the
		 * subscription (a lazy bridge's, which its messages dial)
		 * asked for it.
		 */
		if (!conn && !via->queue_qos0 &&
		    !READ_ONCE(session->broker->limits.queue_qos0))
			return KMQTT_HANDOFF_REFUSED;
	}

	spin_lock(&session->lock);
	if (session->dead)
		goto unlock;
	if (kmqtt_delivery_queue_full(session, msg)) {
		kmqtt_delivery_refused(session, via, KMQTT_DROP_QUEUE_FULL);
		goto unlock;
	}
	kmqtt_delivery_init_one(d, msg, qos, retain, acl_gen, via);
	/* Kept, so that another member may have it if this session ends. */
	if (via->share)
		d->share = kmqtt_share_get(via->share);
	list_add_tail(&d->node, &session->queue);
	WRITE_ONCE(session->n_queued, session->n_queued + 1);
	WRITE_ONCE(session->queued_bytes, session->queued_bytes + msg->len);
	done = KMQTT_HANDOFF_TAKEN;
	conn = rcu_dereference_protected(session->conn,
					 lockdep_is_held(&session->lock));
	if (conn)
		kmqtt_delivery_pump(session, conn);
unlock:
	spin_unlock(&session->lock);
	return done;
}

void kmqtt_delivery_bind(struct kmqtt_session *session,
			 struct kmqtt_conn *conn)
{
	struct kmqtt_delivery *d;

	spin_lock(&session->lock);
	/*
	 * The last connection's send queue was emptied at its close: all in
	 * flight is resent, as the new window lets it (MQTT-4.4.0-1).
	 */
	list_for_each_entry(d, &session->inflight, node)
		d->resend = true;
	WRITE_ONCE(session->n_resend, session->n_inflight);
	/* Released after the count: a QoS 0 message seeing it waits. */
	rcu_assign_pointer(session->conn, conn);
	kmqtt_delivery_pump(session, conn);
	spin_unlock(&session->lock);
}

void kmqtt_delivery_unbind(struct kmqtt_session *session)
{
	spin_lock(&session->lock);
	RCU_INIT_POINTER(session->conn, NULL);
	spin_unlock(&session->lock);
}

static struct kmqtt_delivery *
kmqtt_delivery_find(struct kmqtt_session *session, u16 packet_id)
{
	struct kmqtt_delivery *d;

	/* Acks mostly come in order: the head is the usual hit. */
	list_for_each_entry(d, &session->inflight, node)
		if (d->packet_id == packet_id)
			return d;
	return NULL;
}

int kmqtt_delivery_ack(struct kmqtt_session *session, u8 type,
		       u16 packet_id, u8 reason, struct kmqtt_txent **pubrel)
{
	struct kmqtt_delivery *d;
	struct kmqtt_conn *conn;
	bool held;
	int ret = 0;

	spin_lock(&session->lock);
	conn = rcu_dereference_protected(session->conn,
					 lockdep_is_held(&session->lock));
	d = kmqtt_delivery_find(session, packet_id);
	/* Acks for ids we don't have in flight are ignored. */
	if (!d || !conn)
		goto unlock;
	switch (type) {
	case MQTT_PUBREC:
		if (d->qos != 2)
			goto unlock;
		/* 5.0: an error ends the flow (4.3.3). */
		if (reason >= MQTT_RC_UNSPECIFIED_ERROR)
			break;
		/*
		 * MQTT-4.3.3-1: answer every PUBREC, resent ones too, in an
		 * entry of its own: the delivery's may still be queued.
		 */
		d->released = true;
		held = d->resend;
		kmqtt_delivery_unhold(session, d);
		ret = kmqtt_send_ack(conn, *pubrel, MQTT_PUBREL, packet_id, 0);
		*pubrel = NULL;
		/*
		 * One held back fewer: the queue behind them may move, unless
		 * the connection is to close (its controls overflowed).
		 */
		if (held && !ret)
			kmqtt_delivery_pump(session, conn);
		goto unlock;
	case MQTT_PUBACK:
		if (d->qos != 1)
			goto unlock;
		break;
	case MQTT_PUBCOMP:
		if (!d->released)
			goto unlock;
		break;
	}
	list_del(&d->node);
	WRITE_ONCE(session->n_inflight, session->n_inflight - 1);
	kmqtt_delivery_unhold(session, d);
	kmqtt_delivery_put(d);
	kmqtt_delivery_pump(session, conn);
unlock:
	spin_unlock(&session->lock);
	return ret;
}

/* A bitmap of every packet id in *@map, counted against the memory limit. */
static int kmqtt_delivery_qos2_bitmap(struct kmqtt_broker *broker,
				      unsigned long **map)
{
	unsigned long *bits;

	if (*map)
		return 0;
	if (!kmqtt_broker_charge(broker, KMQTT_QOS2_BITMAP_SIZE))
		return -ENOSPC;
	bits = bitmap_zalloc(U16_MAX + 1, GFP_KERNEL | __GFP_NOWARN);
	if (!bits) {
		kmqtt_broker_uncharge(broker, KMQTT_QOS2_BITMAP_SIZE);
		return -ENOMEM;
	}
	/* Zeroed before a snapshot's dump can see it (next_qos2). */
	smp_store_release(map, bits);
	return 0;
}

static void kmqtt_delivery_qos2_bitmap_free(struct kmqtt_broker *broker,
					    unsigned long **map)
{
	if (!*map)
		return;
	bitmap_free(*map);
	*map = NULL;
	kmqtt_broker_uncharge(broker, KMQTT_QOS2_BITMAP_SIZE);
}

int kmqtt_delivery_qos2_received(struct kmqtt_session *session,
				 u16 packet_id, u32 max, bool dup)
{
	int ret = kmqtt_delivery_qos2_bitmap(session->broker,
					     &session->qos2_received);

	if (ret)
		return ret;
	if (test_bit(packet_id, session->qos2_received)) {
		/* MQTT-3.3.1-1: a resend has DUP; the snapshot was older. */
		if (session->qos2_restored &&
		    __test_and_clear_bit(packet_id, session->qos2_restored) &&
		    !dup)
			return 1;
		return 0;
	}
	if (session->qos2_pending >= max)
		return -EDQUOT;
	__set_bit(packet_id, session->qos2_received);
	session->qos2_pending++;
	return 1;
}

int kmqtt_delivery_qos2_restore(struct kmqtt_session *session, u16 packet_id)
{
	struct kmqtt_broker *broker = session->broker;
	int ret;

	ret = kmqtt_delivery_qos2_bitmap(broker, &session->qos2_received);
	if (!ret)
		ret = kmqtt_delivery_qos2_bitmap(broker,
						 &session->qos2_restored);
	if (ret)
		return ret;
	__set_bit(packet_id, session->qos2_restored);
	if (!__test_and_set_bit(packet_id, session->qos2_received))
		session->qos2_pending++;
	return 0;
}

bool kmqtt_delivery_qos2_released(struct kmqtt_session *session,
				  u16 packet_id)
{
	if (session->qos2_restored)
		__clear_bit(packet_id, session->qos2_restored);
	if (!session->qos2_received ||
	    !__test_and_clear_bit(packet_id, session->qos2_received))
		return false;
	session->qos2_pending--;
	return true;
}

/* @d's part of a snapshot. */
static void kmqtt_delivery_record(const struct kmqtt_delivery *d,
				  struct kmqtt_delivery_record *rec)
{
	kmqtt_msg_get(d->msg);
	/* Whole: the rest (a will's fields) must not be read as set. */
	*rec = (struct kmqtt_delivery_record){
		.msg = d->msg,
		.packet_id = d->packet_id,
		.qos = d->qos,
		.retain = d->retain,
		.released = d->released,
	};
	rec->n_sub_ids = kmqtt_send_sub_ids(&d->tx, rec->sub_ids);
}

u32 kmqtt_delivery_records(struct kmqtt_session *session,
			   struct kmqtt_delivery_record *out, u32 room)
{
	struct kmqtt_delivery *d;
	u32 n = 0;

	spin_lock(&session->lock);
	if (session->n_inflight + session->n_queued > room) {
		n = session->n_inflight + session->n_queued;
		goto unlock;
	}
	list_for_each_entry(d, &session->inflight, node) {
		if (WARN_ON_ONCE(n == room))
			goto unlock;
		kmqtt_delivery_record(d, &out[n++]);
	}
	list_for_each_entry(d, &session->queue, node) {
		if (WARN_ON_ONCE(n == room))
			goto unlock;
		kmqtt_delivery_record(d, &out[n++]);
	}
unlock:
	spin_unlock(&session->lock);
	return n;
}

void kmqtt_delivery_records_free(struct kmqtt_delivery_record *recs, u32 n)
{
	while (n)
		kmqtt_msg_put(recs[--n].msg);
	kvfree(recs);
}

int kmqtt_delivery_restore(struct kmqtt_session *session,
			   const struct kmqtt_delivery_record *rec,
			   struct kmqtt_delivery *d)
{
	const struct kmqtt_delivery_via via = {
		.sub_ids = rec->sub_ids,
		.n_sub_ids = rec->n_sub_ids,
	};
	int ret = 0;

	spin_lock(&session->lock);
	if (rcu_access_pointer(session->conn) || session->dead) {
		ret = -EBUSY;
		goto unlock;
	}
	if (rec->packet_id) {
		if (kmqtt_delivery_id_in_use(session, rec->packet_id)) {
			ret = -EEXIST;
			goto unlock;
		}
		/* The window is below the id space: next_id finds a free id. */
		if (session->n_inflight >= KMQTT_LIMIT_INFLIGHT_MAX) {
			ret = -EDQUOT;
			goto unlock;
		}
	} else if (kmqtt_delivery_queue_full(session, rec->msg)) {
		ret = -ENOSPC;
		goto unlock;
	}
	/* The rules are read again before it is sent (acl_gen changes). */
	kmqtt_delivery_init_one(d, rec->msg, rec->qos, rec->retain,
				kmqtt_session_acl_gen(session), &via);
	if (rec->packet_id) {
		d->packet_id = rec->packet_id;
		d->released = rec->released;
		list_add_tail(&d->node, &session->inflight);
		WRITE_ONCE(session->n_inflight, session->n_inflight + 1);
		session->last_packet_id = rec->packet_id;
		goto unlock;
	}
	list_add_tail(&d->node, &session->queue);
	WRITE_ONCE(session->n_queued, session->n_queued + 1);
	WRITE_ONCE(session->queued_bytes,
		   session->queued_bytes + rec->msg->len);
unlock:
	spin_unlock(&session->lock);
	return ret;
}

void kmqtt_delivery_purge(struct kmqtt_session *session)
{
	struct kmqtt_delivery *d, *tmp;
	bool hand_on = !READ_ONCE(session->broker->exiting);
	LIST_HEAD(shared);

	spin_lock(&session->lock);
	/* In their order: in flight first. */
	list_for_each_entry_safe(d, tmp, &session->inflight, node)
		if (hand_on && d->share && d->qos < 2)
			list_move_tail(&d->node, &shared);
	list_for_each_entry_safe(d, tmp, &session->queue, node)
		if (hand_on && d->share)
			list_move_tail(&d->node, &shared);
	list_splice_init(&session->inflight, &session->queue);
	list_for_each_entry_safe(d, tmp, &session->queue, node) {
		list_del(&d->node);
		kmqtt_delivery_put(d);
	}
	WRITE_ONCE(session->n_queued, 0);
	WRITE_ONCE(session->queued_bytes, 0);
	WRITE_ONCE(session->n_inflight, 0);
	WRITE_ONCE(session->n_resend, 0);
	spin_unlock(&session->lock);
	/* Bounded by the session's queue and window. */
	list_for_each_entry_safe(d, tmp, &shared, node) {
		list_del(&d->node);
		kmqtt_share_redeliver(session->broker, d->share, d->msg,
				      d->retain);
		kmqtt_delivery_put(d);
		cond_resched();
	}
	kmqtt_delivery_qos2_bitmap_free(session->broker,
					&session->qos2_received);
	kmqtt_delivery_qos2_bitmap_free(session->broker,
					&session->qos2_restored);
	session->qos2_pending = 0;
}

int kmqtt_delivery_init(void)
{
	kmqtt_delivery_cache = KMEM_CACHE(kmqtt_delivery, 0);
	return kmqtt_delivery_cache ? 0 : -ENOMEM;
}

void kmqtt_delivery_exit(void)
{
	kmem_cache_destroy(kmqtt_delivery_cache);
}
