/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transmit: a connection's send queue, every packet the broker sends
 * encoded through the codec, and the work that flushes the queue to the
 * socket, gathering packets into one sendmsg and sending large payloads
 * from their pages without a copy.
 */
#ifndef _KMQTT_SEND_H
#define _KMQTT_SEND_H

#include <linux/list.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <kmqtt/mqtt.h>

#include "topic.h"

struct kmqtt_broker;
struct kmqtt_chunk;
struct kmqtt_conn;
struct kmqtt_msg;

/*
 * What a PUBLISH's tail holds before its subscription identifiers, at
 * most: the packet id, a 5.0 property length and the message expiry
 * interval left (5 bytes each way).
 */
#define KMQTT_TXENT_TAIL_HEAD	(2 + 4 + 5)
/* The subscription identifiers of one delivery, at most, encoded. */
#define KMQTT_TXENT_SUB_IDS	(KMQTT_MATCH_SUB_IDS * 5)

/*
 * One packet in a connection's send queue.  A PUBLISH is its fixed header
 * here, then the shared topic from @msg (after @topic_prefix when a
 * bridge link names it otherwise), its @tail, for a 5.0 client the
 * shared properties, and the shared payload.
 * Other packets are all in @hdr, or all in @body (SUBACK, CONNACK); so are
 * the small QoS 0 PUBLISH packets copied into a @chunk.
 * A PUBLISH, and the PUBREL resent for a QoS 2 message, live in the
 * message's delivery (delivery.c), whose reference the queue holds; other
 * packets, and chunks, are allocated on their own.
 */
struct kmqtt_txent {
	struct list_head node;
	struct kmqtt_msg *msg;		/* PUBLISH only */
	u8 *body;			/* owned */
	u32 body_len;
	u8 hdr[MQTT_MAX_FIXED_HEADER + 2];
	u8 hdr_len;
	u16 data_off;			/* bytes of msg->data not sent */
	/* In place of those past the length: a bridge line's (bridge.h). */
	const u8 *topic_prefix;
	u16 topic_prefix_len;
	/*
	 * What follows a PUBLISH's topic for this client alone, in one
	 * piece from @tail_off: its packet id (QoS 1/2), then for a 5.0
	 * client with properties of its own their length and those (the
	 * expiry left, the @sub_ids_len bytes of subscription identifiers
	 * at KMQTT_TXENT_TAIL_HEAD, set once by kmqtt_send_set_sub_ids());
	 * the message's property block (from @props_from) after it.
	 */
	u8 tail[KMQTT_TXENT_TAIL_HEAD + KMQTT_TXENT_SUB_IDS];
	u8 tail_off;
	u8 tail_len;
	u8 sub_ids_len;
	bool with_props;		/* 5.0: the property block follows */
	u8 props_from;			/* of it: past its length, own ones */
	bool counted;			/* QoS 0 PUBLISH, against the limits */
	bool connack;			/* its end marks conn->connack_sent */
	bool in_delivery;		/* else allocated on its own */
	bool ws_frame;			/* a WebSocket frame, sent as it is */
	u32 ack_seq;			/* held ack: low bits of its number */
	struct kmqtt_chunk *chunk;	/* owned; @body is its data */
};

/* What became of a delivery handed on to be sent. */
enum kmqtt_handoff {
	KMQTT_HANDOFF_REFUSED,	/* not sent (counted): the caller keeps it */
	KMQTT_HANDOFF_TAKEN,	/* queued: the queue has the reference */
	KMQTT_HANDOFF_COPIED,	/* its packet was copied: the caller keeps it */
};

/*
 * May @msg be sent to @conn's client: is its topic under the client's
 * mount point (longer than it, as the client sees topics without it), or
 * on a bridge link, carried out by one of its lines?
 */
bool kmqtt_send_takes(const struct kmqtt_conn *conn,
		      const struct kmqtt_msg *msg);

/* Bytes the @n subscription identifiers @ids take in a PUBLISH. */
u8 kmqtt_send_sub_ids_len(const u32 *ids, u8 n);

/*
 * The subscription identifiers a delivery's PUBLISH @ent carries to a 5.0
 * client (MQTT-3.3.4-3), at most KMQTT_MATCH_SUB_IDS.
 */
void kmqtt_send_set_sub_ids(struct kmqtt_txent *ent, const u32 *ids, u8 n);

/* The identifiers kmqtt_send_set_sub_ids() gave @ent, into @ids. */
u8 kmqtt_send_sub_ids(const struct kmqtt_txent *ent,
		      u32 ids[KMQTT_MATCH_SUB_IDS]);

/*
 * Can a PUBLISH of @msg at @qos, with @sub_ids_len bytes of subscription
 * identifiers, go to @conn: within what MQTT carries (its topic and
 * properties may make it longer than it came in) and within the maximum
 * packet size a 5.0 client asked for (MQTT-3.1.2-24)?
 * kmqtt_send_publish() takes only what fits.
 */
bool kmqtt_send_fits(const struct kmqtt_conn *conn,
		     const struct kmqtt_msg *msg, u8 qos, u8 sub_ids_len);

/*
 * Queue the PUBLISH @ent of a delivery (ent->msg set) for sending, with
 * these header fields.  Taken, the queue has the caller's reference on
 * the delivery.  A small QoS 0 one is copied into a chunk instead when
 * there is memory for it.  QoS 0 is subject to the queue limits, packet
 * by packet, and counted as dropped beyond them, or when @conn is
 * closing; QoS 1/2 are bounded by the session's inflight window instead.
 * Never sleeps; caller keeps @conn alive (RCU or a lock).
 */
enum kmqtt_handoff kmqtt_send_publish(struct kmqtt_conn *conn,
				      struct kmqtt_txent *ent, u8 qos,
				      u16 packet_id, bool dup, bool retain);

/*
 * The usual QoS 0 PUBLISH of @msg, straight into @conn's open chunk, as
 * kmqtt_send_publish() would copy it, with no delivery and no reference
 * taken: for a client without a mount point or a bridge line, and a
 * packet with no properties of its own for it (@n_sub_ids subscription
 * identifiers, an expiry) and its payload not in pages of its own.
 * False, having done nothing, when the packet is not such, the open
 * chunk has no room for it, or it is not to be sent now (too large,
 * over the queue limits, @conn closing): kmqtt_send_publish() then does
 * what it does.  Never sleeps; caller keeps @conn alive.
 */
bool kmqtt_send_publish_copied(struct kmqtt_conn *conn,
			       const struct kmqtt_msg *msg, bool retain,
			       u8 n_sub_ids);

/*
 * A packet of its own (an ack, PINGRESP...), allocated ahead of the lock
 * or the state change it answers, so that queueing it cannot fail for
 * want of memory.  Counted against the memory limit, never refused by it.
 */
struct kmqtt_txent *kmqtt_send_alloc_control(struct kmqtt_broker *broker);
void kmqtt_send_free_control(struct kmqtt_broker *broker,
			     struct kmqtt_txent *ent);

/*
 * Queue a PUBACK, PUBREC, PUBREL, PUBCOMP or 3.1.1 UNSUBACK in @ent (from
 * kmqtt_send_alloc_control(), or a delivery's with a reference for the
 * queue), which is consumed: queued, or released when @conn is closing or
 * does not read its acks (-ENOBUFS: the caller closes it).  A non-zero
 * @reason (5.0 clients only) goes with it.  Never sleeps.
 */
int kmqtt_send_ack(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
		   u8 type, u16 packet_id, u8 reason);

/*
 * May @more acks still be queued after those queued now, under the bound
 * of a client that does not read them?  Never sleeps.
 */
bool kmqtt_send_control_room(struct kmqtt_conn *conn, u32 more);

/*
 * Queue the @n acks on @acks, which were held until saved (ack_hold.c),
 * in their order.  False: @conn is closing, they stay on @acks for the
 * caller to free.  Never sleeps.
 */
bool kmqtt_send_held(struct kmqtt_conn *conn, struct list_head *acks, u32 n);

/*
 * SUBACK, or a 5.0 UNSUBACK (@type), with the @n return or reason @codes
 * in @ent, whose body has room for kmqtt_send_suback_size(@n) bytes;
 * consumed as by kmqtt_send_ack().
 */
size_t kmqtt_send_suback_size(u32 n);
int kmqtt_send_suback(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
		      u8 type, u16 packet_id, const u8 *codes, u32 n);

/*
 * A 5.0 AUTH with @reason, the connection's authentication method and
 * @data (NULL: none) in @ent, whose body has room for
 * kmqtt_codec_auth_size(); consumed as by kmqtt_send_ack().
 */
int kmqtt_send_auth(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
		    u8 reason, const u8 *data, u16 len);

/* PINGRESP: 0, or -ENOMEM with nothing queued. */
int kmqtt_send_pingresp(struct kmqtt_conn *conn);
/* On a bridge link, where the module is the client. */
int kmqtt_send_pingreq(struct kmqtt_conn *conn);

/*
 * CONNACK (accepted), before the session sends anything; a 5.0 one with
 * the @props_len bytes of properties @props.
 */
int kmqtt_send_connack(struct kmqtt_conn *conn, bool session_present,
		       const u8 *props, u32 props_len);

/* conn->tx_work: flush the queue as far as the socket takes it. */
void kmqtt_send_work(struct work_struct *work);

/*
 * The last thing the server sends: a 5.0 DISCONNECT with @reason (4.13)
 * unless @reason is 0, and over WebSocket a Close frame.  Best effort,
 * without waiting for room, and only at a packet boundary.  For close
 * work, once the receive and send work are stopped.
 */
void kmqtt_send_goodbye(struct kmqtt_conn *conn, u8 reason);

/*
 * A WebSocket control frame of @opcode with @len bytes of @data (at most
 * KMQTT_WS_CONTROL_MAX), queued like an ack: 0, -ENOMEM or -ENOBUFS.
 */
int kmqtt_send_ws_control(struct kmqtt_conn *conn, u8 opcode,
			  const u8 *data, u8 len);

/* Free what is queued; the connection sends nothing more. */
void kmqtt_send_purge(struct kmqtt_conn *conn);

int kmqtt_send_init(void);
void kmqtt_send_exit(void);

#endif /* _KMQTT_SEND_H */
