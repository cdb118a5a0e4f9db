/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Message flows of a session (MQTT 4.3): QoS 0/1/2 delivery with an
 * inflight window and a bounded queue behind it, acknowledgements,
 * redelivery on reconnect, and inbound QoS 2 duplicate suppression.
 */
#ifndef _KMQTT_DELIVERY_H
#define _KMQTT_DELIVERY_H

#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/types.h>

#include "broker.h"
#include "send.h"
#include "topic.h"

struct kmqtt_broker;
struct kmqtt_msg;
struct kmqtt_session;
struct kmqtt_share_group;

/*
 * One message on its way to one session.  It carries the send queue entry
 * of its PUBLISH (or, once released, of its PUBREL), so that moving it to
 * a connection's send queue needs no memory: references are held by the
 * session's queue or inflight list and by the send queue.
 */
struct kmqtt_delivery {
	refcount_t ref;
	struct list_head node;		/* session->queue or ->inflight */
	struct kmqtt_txent tx;
	struct kmqtt_msg *msg;
	/* The shared subscription it came through (a reference), or NULL. */
	struct kmqtt_share_group *share;
	u32 acl_gen;			/* session->acl_gen it was read under */
	u16 packet_id;
	u8 qos;
	bool retain;
	bool released;			/* QoS 2: PUBREC in, PUBREL out */
	bool resend;			/* in flight, held back: see bind */
};

static inline struct kmqtt_delivery *kmqtt_delivery_of(struct kmqtt_txent *ent)
{
	return container_of(ent, struct kmqtt_delivery, tx);
}

/*
 * Fill @out with @n unused deliveries, counted against the memory limit:
 * 0, -ENOSPC when the limit refuses them, -ENOMEM (nothing allocated).
 */
int kmqtt_delivery_alloc_bulk(struct kmqtt_broker *broker, gfp_t gfp,
			      size_t n, struct kmqtt_delivery **out);
void kmqtt_delivery_free_unused(struct kmqtt_broker *broker,
				struct kmqtt_delivery **d, size_t n);

/* The send queue is done with a delivery's entry. */
void kmqtt_delivery_put(struct kmqtt_delivery *d);

/*
 * How a message reaches a session: the subscription identifiers of the
 * filters it matched, and the shared subscription group it was picked
 * from (NULL: none; valid under RCU or a reference).
 */
struct kmqtt_delivery_via {
	const u32 *sub_ids;
	u8 n_sub_ids;
	/*
	 * The subscription has KMQTT_SUBOPT_QUEUE_QOS0 (a lazy bridge's):
	 * offline, QoS 0 is queued whatever the QUEUE_QOS0 limit says.
	 */
	bool queue_qos0;
	struct kmqtt_share_group *share;
	/*
	 * Not NULL: a refusal is not counted (as a drop, or in acl_denied),
	 * its reason is kept here for the caller, which may try elsewhere.
	 */
	enum kmqtt_drop *why;
};

/*
 * Deliver @msg at @qos (already min(published, granted)), as @via says,
 * in @d, an unused delivery.  Never sleeps; fan-out calls it under
 * rcu_read_lock().
 * Returns KMQTT_HANDOFF_TAKEN when @d was taken (queued for the client or
 * in the session); KMQTT_HANDOFF_COPIED when the message went to the
 * client's send queue without it; KMQTT_HANDOFF_REFUSED when it did not
 * go: the rules refuse the topic, the session is offline and does not
 * queue QoS 0 or is gone, or a queue limit drops the message (counted).
 * @d is left unused to the caller but when taken.
 */
enum kmqtt_handoff kmqtt_delivery_deliver(struct kmqtt_session *session,
					  struct kmqtt_msg *msg, u8 qos,
					  bool retain,
					  const struct kmqtt_delivery_via *via,
					  struct kmqtt_delivery *d);

/*
 * Bind @conn to @session, resend what was in flight (PUBLISH with DUP,
 * MQTT-4.4.0-1, or PUBREL) and start the queue, in one step so that no new
 * message overtakes them.  What was in flight past the new connection's
 * window (a 5.0 client's smaller receive maximum, MQTT-3.3.4-9) is
 * resent, in order, as acks make room.  Unbind is its counterpart at
 * close.
 */
void kmqtt_delivery_bind(struct kmqtt_session *session,
			 struct kmqtt_conn *conn);
void kmqtt_delivery_unbind(struct kmqtt_session *session);

/*
 * PUBACK, PUBREC or PUBCOMP from the client for @packet_id, with a 5.0
 * @reason (0 for 3.1.x).  A PUBREC is answered with PUBREL in *@pubrel
 * (from kmqtt_send_alloc_control()), which is then set to NULL; the
 * caller frees it when it is still set.  A PUBREC with an error reason
 * ends the flow instead (4.3.3).  Returns 0, or -ENOBUFS when the client
 * does not read its acks.
 */
int kmqtt_delivery_ack(struct kmqtt_session *session, u8 type,
		       u16 packet_id, u8 reason, struct kmqtt_txent **pubrel);

/* Inbound QoS 2 ids of a session: one bit per packet id. */
#define KMQTT_QOS2_BITMAP_SIZE	BITS_TO_BYTES(U16_MAX + 1)

/*
 * Inbound QoS 2 PUBLISH with @packet_id and the @dup flag: returns 1 when
 * new (deliver it), 0 for a resend of one not yet released, -EDQUOT when
 * @max are already waiting for their PUBREL (the receive maximum,
 * MQTT-3.3.4-8), -ENOSPC (the memory limit refused
 * KMQTT_QOS2_BITMAP_SIZE) or -ENOMEM.  An id a snapshot restored is
 * taken as a resend only with DUP: without, the publisher finished that
 * flow after the snapshot was saved and this is a new message.
 */
int kmqtt_delivery_qos2_received(struct kmqtt_session *session,
				 u16 packet_id, u32 max, bool dup);

/*
 * Mark @packet_id received in an offline @session from a snapshot.
 * Returns 0, -ENOSPC or -ENOMEM.
 */
int kmqtt_delivery_qos2_restore(struct kmqtt_session *session,
				u16 packet_id);

/*
 * PUBREL for @packet_id: the id may be reused.  Returns whether it was
 * received and not yet released.
 */
bool kmqtt_delivery_qos2_released(struct kmqtt_session *session,
				  u16 packet_id);

/* A message on its way to a session, as the agent's snapshot holds it. */
struct kmqtt_delivery_record {
	struct kmqtt_msg *msg;		/* a reference */
	u16 packet_id;			/* 0: queued, not sent yet */
	u8 qos;
	bool retain;
	bool released;			/* QoS 2: PUBREC in, PUBREL out */
	u8 n_sub_ids;
	u32 sub_ids[KMQTT_MATCH_SUB_IDS];
	/*
	 * Not a delivery but the session's will that has not gone out
	 * (will.c), due in @will_delay seconds.
	 */
	bool will;
	u32 will_delay;
};

/*
 * The messages of @session, in flight then queued, each in its order,
 * into @out if they fit in @room, with a reference to each message.
 * Returns how many there are: more than @room, and nothing was taken,
 * when they do not fit.
 */
u32 kmqtt_delivery_records(struct kmqtt_session *session,
			   struct kmqtt_delivery_record *out, u32 room);

/* Put the references of @n records and free them (kvmalloc()ed). */
void kmqtt_delivery_records_free(struct kmqtt_delivery_record *recs, u32 n);

/*
 * Append the message of @rec to the offline @session, in flight with its
 * packet id or queued, after those restored before it; @d is an unused
 * delivery, which it takes on success.  Returns 0, -EBUSY (online),
 * -EEXIST (the packet id is in flight), -EDQUOT (more in flight than
 * the id space allows) or -ENOSPC (a queue limit).
 */
int kmqtt_delivery_restore(struct kmqtt_session *session,
			   const struct kmqtt_delivery_record *rec,
			   struct kmqtt_delivery *d);

/*
 * Drop everything queued and in flight; the session is going away.  What
 * it took from a shared subscription goes to another member of the group
 * (4.8.2): what was not sent yet, and QoS 1 in flight; a QoS 2 message
 * sent once stays with this session [MQTT-4.8.2-5] and ends with it.
 * May sleep.
 */
void kmqtt_delivery_purge(struct kmqtt_session *session);

int kmqtt_delivery_init(void);
void kmqtt_delivery_exit(void);

#endif /* _KMQTT_DELIVERY_H */
