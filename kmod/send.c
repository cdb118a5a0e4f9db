// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit.  Publishers and packet handlers queue entries under tx_lock,
 * never sleeping and never allocating under it: a PUBLISH lives in its
 * delivery, an ack was allocated before the state change it answers.  A
 * small QoS 0 PUBLISH behind others still queued is copied instead into
 * the chunk at the queue's tail, or into one allocated without sleeping
 * ahead of the lock; the delivery stays with its caller.  tx_work takes
 * the queue over and sends it without the lock, as far as the socket
 * takes it; write_space queues it again when the socket drains.
 */

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uio.h>
#include <linux/kmqtt.h>
#include <kmqtt/mqtt.h>

#include "bridge.h"
#include "broker.h"
#include "chunk.h"
#include "codec.h"
#include "compat.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "send.h"
#include "websocket.h"

/* Work item runs are bounded so one busy client can't hog a worker. */
#define KMQTT_TX_BUDGET		16
/* iovecs gathered into one sendmsg: 42 to 256 packets. */
#define KMQTT_TX_IOVS		256
/*
 * A run with fewer to send gathers them on the stack: one delivery at a
 * time is the usual case, and a heap array costs an allocation per run
 * (4 KiB, and zeroed where init_on_alloc is on, as on Debian).
 */
#define KMQTT_TX_FEW_IOVS	32
/*
 * The most one entry takes: header, a bridge line's topic prefix, topic,
 * tail (packet id, 5.0 property length and properties of its own), the
 * shared properties, payload.
 */
#define KMQTT_TXENT_IOVS	6
/*
 * Acks and pings are never dropped; a client that keeps asking for them
 * without reading its socket is disconnected at this many.
 */
#define KMQTT_MAX_QUEUED_CONTROLS	1024

static struct kmem_cache *kmqtt_txent_cache;

/*
 * A payload in pages of its own goes out from there, not copied; but not
 * over WebSocket, whose frames are built over one sendmsg's iovecs.
 */
static bool kmqtt_txent_zerocopy(const struct kmqtt_conn *conn,
				 const struct kmqtt_txent *ent)
{
	return !conn->ws && ent->msg && ent->msg->in_pages;
}

/* Bytes of a PUBLISH @ent before its payload. */
static u32 kmqtt_txent_head_len(const struct kmqtt_txent *ent)
{
	const struct kmqtt_msg *msg = ent->msg;
	u32 len = ent->hdr_len + ent->topic_prefix_len +
		  kmqtt_msg_props_offset(msg) - ent->data_off + ent->tail_len;

	if (ent->with_props)
		len += msg->props_hdr_len + msg->props_len - ent->props_from;
	return len;
}

static u32 kmqtt_txent_len(const struct kmqtt_txent *ent)
{
	if (ent->msg)
		return kmqtt_txent_head_len(ent) +
		       kmqtt_msg_payload_len(ent->msg);
	return ent->hdr_len + ent->body_len;
}

/*
 * The iovecs of @ent from byte @skip on, without a zero-copy payload;
 * returns how many.
 */
static size_t kmqtt_txent_iov(const struct kmqtt_conn *conn,
			      const struct kmqtt_txent *ent, u32 skip,
			      struct kvec *vec)
{
	struct kvec all[KMQTT_TXENT_IOVS];
	size_t i, n = 0, out = 0;

	all[n++] = (struct kvec){ (void *)ent->hdr, ent->hdr_len };
	if (ent->msg) {
		const struct kmqtt_msg *msg = ent->msg;
		u32 props = kmqtt_msg_props_offset(msg);
		u32 payload = kmqtt_msg_payload_offset(msg);

		if (ent->topic_prefix_len)
			all[n++] = (struct kvec){ (void *)ent->topic_prefix,
						  ent->topic_prefix_len };
		all[n++] = (struct kvec){ (void *)msg->data + ent->data_off,
					  props - ent->data_off };
		all[n++] = (struct kvec){ (void *)ent->tail + ent->tail_off,
					  ent->tail_len };
		if (ent->with_props)
			all[n++] = (struct kvec){
				(void *)msg->data + props + ent->props_from,
				payload - props - ent->props_from };
		if (!kmqtt_txent_zerocopy(conn, ent))
			all[n++] = (struct kvec){ (void *)msg->data + payload,
						  msg->len - payload };
	} else if (ent->body_len) {
		all[n++] = (struct kvec){ ent->body, ent->body_len };
	}
	for (i = 0; i < n; i++) {
		void *base;
		size_t len;

		if (skip >= all[i].iov_len) {
			skip -= all[i].iov_len;
			continue;
		}
		base = all[i].iov_base + skip;
		len = all[i].iov_len - skip;
		skip = 0;
		/* Pieces of the message that follow each other: one iovec. */
		if (out && vec[out - 1].iov_base + vec[out - 1].iov_len == base) {
			vec[out - 1].iov_len += len;
			continue;
		}
		vec[out].iov_base = base;
		vec[out].iov_len = len;
		out++;
	}
	return out;
}

struct kmqtt_txent *kmqtt_send_alloc_control(struct kmqtt_broker *broker)
{
	struct kmqtt_txent *ent;

	ent = kmem_cache_zalloc(kmqtt_txent_cache, GFP_KERNEL | __GFP_NOWARN);
	if (ent)
		kmqtt_broker_account(broker, sizeof(*ent));
	return ent;
}

void kmqtt_send_free_control(struct kmqtt_broker *broker,
			     struct kmqtt_txent *ent)
{
	kvfree(ent->body);
	kmem_cache_free(kmqtt_txent_cache, ent);
	kmqtt_broker_uncharge(broker, sizeof(*ent));
}

/*
 * A chunk, charged against the memory limit: NULL when the limit or the
 * memory refuses it, and the packet goes in its delivery instead.
 */
static struct kmqtt_txent *kmqtt_send_alloc_chunk(struct kmqtt_broker *broker)
{
	struct kmqtt_txent *ent;
	struct kmqtt_chunk *chunk;

	BUILD_BUG_ON(KMQTT_CHUNK_DATA < KMQTT_CHUNK_MAX_PACKET);
	if (!kmqtt_broker_charge(broker, sizeof(*ent) + KMQTT_CHUNK_SIZE))
		return NULL;
	ent = kmem_cache_zalloc(kmqtt_txent_cache, GFP_NOWAIT | __GFP_NOWARN);
	chunk = kmalloc(KMQTT_CHUNK_SIZE, GFP_NOWAIT | __GFP_NOWARN);
	if (!ent || !chunk) {
		kfree(chunk);
		if (ent)
			kmem_cache_free(kmqtt_txent_cache, ent);
		kmqtt_broker_uncharge(broker, sizeof(*ent) + KMQTT_CHUNK_SIZE);
		return NULL;
	}
	kmqtt_chunk_init(chunk);
	ent->chunk = chunk;
	ent->body = chunk->data;
	return ent;
}

static void kmqtt_send_free_chunk(struct kmqtt_broker *broker,
				  struct kmqtt_txent *ent)
{
	kfree(ent->chunk);
	kmem_cache_free(kmqtt_txent_cache, ent);
	kmqtt_broker_uncharge(broker, sizeof(*ent) + KMQTT_CHUNK_SIZE);
}

static void kmqtt_send_free_entry(struct kmqtt_conn *conn,
				  struct kmqtt_txent *ent)
{
	if (ent->in_delivery)
		kmqtt_delivery_put(kmqtt_delivery_of(ent));
	else if (ent->chunk)
		kmqtt_send_free_chunk(conn->broker, ent);
	else
		kmqtt_send_free_control(conn->broker, ent);
}

/* Under tx_lock: what is queued next goes behind the open chunk, if any. */
static void kmqtt_send_close_chunk(struct kmqtt_conn *conn)
{
	conn->tx_chunk = NULL;
	WRITE_ONCE(conn->tx_chunk_room, 0);
}

/* Under tx_lock: @ent goes last, to be sent. */
static void kmqtt_send_enqueue(struct kmqtt_conn *conn,
			       struct kmqtt_txent *ent)
{
	lockdep_assert_held(&conn->tx_lock);
	list_add_tail(&ent->node, &conn->tx_queue);
	kmqtt_send_close_chunk(conn);
	queue_work(kmqtt_wq, &conn->tx_work);
}

/*
 * Queue a non-PUBLISH packet; acks and pings are never dropped.  The
 * PUBRELs a reconnect resends are bounded by the inflight window, not by
 * KMQTT_MAX_QUEUED_CONTROLS: only what the client asks for counts.
 */
static int kmqtt_send_control(struct kmqtt_conn *conn,
			      struct kmqtt_txent *ent)
{
	int ret = 0;

	spin_lock(&conn->tx_lock);
	if (!ent->in_delivery &&
	    conn->tx_controls >= KMQTT_MAX_QUEUED_CONTROLS) {
		ret = -ENOBUFS;
	} else if (!conn->tx_dead) {
		kmqtt_send_enqueue(conn, ent);
		conn->tx_controls += !ent->in_delivery;
		ent = NULL;
	}
	spin_unlock(&conn->tx_lock);
	if (ent)
		kmqtt_send_free_entry(conn, ent);
	return ret;
}

bool kmqtt_send_control_room(struct kmqtt_conn *conn, u32 more)
{
	bool room;

	spin_lock(&conn->tx_lock);
	room = conn->tx_controls + more <= KMQTT_MAX_QUEUED_CONTROLS;
	spin_unlock(&conn->tx_lock);
	return room;
}

bool kmqtt_send_held(struct kmqtt_conn *conn, struct list_head *acks, u32 n)
{
	bool queued;

	spin_lock(&conn->tx_lock);
	queued = !conn->tx_dead;
	if (queued) {
		list_splice_tail_init(acks, &conn->tx_queue);
		kmqtt_send_close_chunk(conn);
		conn->tx_controls += n;
		queue_work(kmqtt_wq, &conn->tx_work);
	}
	spin_unlock(&conn->tx_lock);
	return queued;
}

int kmqtt_send_ack(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
		   u8 type, u16 packet_id, u8 reason)
{
	ent->hdr_len = kmqtt_codec_put_ack(ent->hdr, type, packet_id, reason);
	return kmqtt_send_control(conn, ent);
}

size_t kmqtt_send_suback_size(u32 n)
{
	return kmqtt_codec_fixed_hdr_len(3 + n) + 3 + n;
}

int kmqtt_send_suback(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
		      u8 type, u16 packet_id, const u8 *codes, u32 n)
{
	ent->hdr_len = 0;
	ent->body_len = kmqtt_codec_put_suback(ent->body, type, packet_id,
					       kmqtt_conn_v5(conn), codes, n);
	return kmqtt_send_control(conn, ent);
}

int kmqtt_send_auth(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
		    u8 reason, const u8 *data, u16 len)
{
	ent->hdr_len = 0;
	ent->body_len = kmqtt_codec_put_auth(ent->body, reason,
					     conn->auth_method,
					     conn->auth_method_len, data, len);
	return kmqtt_send_control(conn, ent);
}

static int kmqtt_send_ping(struct kmqtt_conn *conn,
			   size_t (*put)(u8 *buf))
{
	struct kmqtt_txent *ent = kmqtt_send_alloc_control(conn->broker);

	if (!ent)
		return -ENOMEM;
	ent->hdr_len = put(ent->hdr);
	return kmqtt_send_control(conn, ent);
}

int kmqtt_send_pingresp(struct kmqtt_conn *conn)
{
	return kmqtt_send_ping(conn, kmqtt_codec_put_pingresp);
}

int kmqtt_send_pingreq(struct kmqtt_conn *conn)
{
	return kmqtt_send_ping(conn, kmqtt_codec_put_pingreq);
}

/* A QoS 0 PUBLISH that does not go out: counted here and for the broker. */
static void kmqtt_send_dropped(struct kmqtt_conn *conn, enum kmqtt_drop why)
{
	lockdep_assert_held(&conn->tx_lock);
	kmqtt_counter_add(&conn->counters.msgs_dropped, 1);
	kmqtt_broker_dropped(conn->broker, conn->session, why, 1);
}

/*
 * How a message's topic goes out to a connection: its first @strip bytes
 * (the mount point, or a bridge line's local prefix) replaced by @prefix
 * (the line's remote prefix).
 */
struct kmqtt_send_topic {
	const u8 *prefix;
	u16 prefix_len;
	u16 strip;
};

/* Into @out, how @msg's topic goes to @conn; false: it is not for it. */
static bool kmqtt_send_topic_of(const struct kmqtt_conn *conn,
				const struct kmqtt_msg *msg,
				struct kmqtt_send_topic *out)
{
	const u8 *topic = kmqtt_msg_topic(msg);
	const struct kmqtt_bridge_topic *line;

	if (!conn->bridge) {
		*out = (struct kmqtt_send_topic){ .strip = conn->mount_len };
		return !conn->mount_len ||
		       (msg->topic_len > conn->mount_len &&
			!memcmp(topic, conn->mount, conn->mount_len));
	}
	line = kmqtt_bridge_route(conn->bridge, KMQTT_BRIDGE_OUT, topic,
				  msg->topic_len);
	if (!line) {
		*out = (struct kmqtt_send_topic){};
		return false;
	}
	*out = (struct kmqtt_send_topic){
		.prefix = line->remote,
		.prefix_len = line->remote_prefix_len,
		.strip = line->local_prefix_len,
	};
	return true;
}

bool kmqtt_send_takes(const struct kmqtt_conn *conn,
		      const struct kmqtt_msg *msg)
{
	struct kmqtt_send_topic topic;

	return kmqtt_send_topic_of(conn, msg, &topic);
}

u8 kmqtt_send_sub_ids_len(const u32 *ids, u8 n)
{
	u8 i, len = 0;

	for (i = 0; i < n; i++)
		len += 1 + kmqtt_codec_varint_size(ids[i]);
	return len;
}

void kmqtt_send_set_sub_ids(struct kmqtt_txent *ent, const u32 *ids, u8 n)
{
	u8 *start = ent->tail + KMQTT_TXENT_TAIL_HEAD, *p = start;
	u8 i;

	for (i = 0; i < n; i++) {
		*p++ = MQTT_PROP_SUBSCRIPTION_ID;
		p = kmqtt_codec_put_varint(p, ids[i]);
	}
	ent->sub_ids_len = p - start;
}

u8 kmqtt_send_sub_ids(const struct kmqtt_txent *ent,
		      u32 ids[KMQTT_MATCH_SUB_IDS])
{
	const u8 *p = ent->tail + KMQTT_TXENT_TAIL_HEAD;
	const u8 *end = p + ent->sub_ids_len;
	u8 n = 0;
	int len;

	/* Written by kmqtt_send_set_sub_ids(): well formed, at most 4. */
	while (p < end && n < KMQTT_MATCH_SUB_IDS) {
		len = kmqtt_codec_get_varint(p + 1, end - p - 1, &ids[n]);
		if (len <= 0)
			break;
		p += 1 + len;
		n++;
	}
	return n;
}

/*
 * Bytes of a 5.0 PUBLISH's properties of its own: what remains of the
 * message expiry interval, and its subscription identifiers.  Most have
 * none; those that do have a property length of their own in place of
 * the message's.
 */
static u8 kmqtt_send_own_props_len(const struct kmqtt_msg *msg,
				   u8 sub_ids_len)
{
	return (msg->expires ? 5 : 0) + sub_ids_len;
}

/*
 * Remaining length of a PUBLISH of @msg at @qos with its topic as @topic
 * says, with @own bytes of properties of its own for a 5.0 client (@v5).
 * It may be more than MQTT carries: a 3.1.x publisher's message gains a
 * property length for a 5.0 client, and a mount point shorter than the
 * publisher's a longer topic.
 */
static u64 kmqtt_send_publish_rem_len(const struct kmqtt_send_topic *topic,
				      const struct kmqtt_msg *msg, u8 qos,
				      bool v5, u8 own)
{
	u64 len = (u64)msg->len - topic->strip + topic->prefix_len -
		  msg->props_hdr_len - msg->props_len + (qos ? 2 : 0);

	if (!v5)	/* a 3.1.x client is not sent the properties */
		return len;
	if (!own)
		return len + msg->props_hdr_len + msg->props_len;
	return len + kmqtt_codec_varint_size(own + msg->props_len) + own +
	       msg->props_len;
}

bool kmqtt_send_fits(const struct kmqtt_conn *conn,
		     const struct kmqtt_msg *msg, u8 qos, u8 sub_ids_len)
{
	bool v5 = kmqtt_conn_v5(conn);
	struct kmqtt_send_topic topic;
	u64 rem_len;

	kmqtt_send_topic_of(conn, msg, &topic);
	rem_len = kmqtt_send_publish_rem_len(&topic, msg, qos, v5, v5 ?
					     kmqtt_send_own_props_len(msg, sub_ids_len) :
					     0);
	if (rem_len > MQTT_MAX_REMAINING_LENGTH)
		return false;
	return !conn->max_packet_out ||
	       kmqtt_codec_fixed_hdr_len(rem_len) + rem_len <=
	       conn->max_packet_out;
}

/*
 * Write @ent's tail up to its subscription identifiers, which are in place
 * already: the packet id, and for a 5.0 client with @own bytes of
 * properties of its own their length and the expiry left.
 */
static void kmqtt_send_publish_tail(struct kmqtt_txent *ent, u8 qos,
				    u16 packet_id, u8 own)
{
	const struct kmqtt_msg *msg = ent->msg;
	u8 head[KMQTT_TXENT_TAIL_HEAD], *p = head;
	u32 left;

	if (qos)
		p = kmqtt_codec_put_u16(p, packet_id);
	if (own) {
		p = kmqtt_codec_put_varint(p, own + msg->props_len);
		if (msg->expires) {
			left = kmqtt_msg_expiry_left(msg,
						     ktime_get_boottime_seconds());
			*p++ = MQTT_PROP_MESSAGE_EXPIRY;
			/* MQTT-3.3.2-6: what is left, at least the second it is in. */
			p = kmqtt_codec_put_u32(p, max(left, 1U));
		}
	}
	ent->tail_off = KMQTT_TXENT_TAIL_HEAD - (p - head);
	memcpy(ent->tail + ent->tail_off, head, p - head);
	ent->tail_len = p - head + (own ? ent->sub_ids_len : 0);
}

/*
 * Would a QoS 0 PUBLISH of @msg go past the queue limits?  Exact under
 * tx_lock, a hint without it.
 */
static bool kmqtt_send_queue_full(const struct kmqtt_conn *conn,
				  const struct kmqtt_msg *msg)
{
	const struct kmqtt_limits *limits = &conn->broker->limits;
	u32 max_msgs = READ_ONCE(limits->max_queued_messages);
	u64 max_bytes = READ_ONCE(limits->max_queued_bytes);

	return (max_msgs && READ_ONCE(conn->tx_publishes) >= max_msgs) ||
	       (max_bytes &&
		READ_ONCE(conn->tx_publish_bytes) + msg->len > max_bytes);
}

/* Under tx_lock: does the open chunk take a packet of @len bytes? */
static bool kmqtt_send_chunk_fits(const struct kmqtt_conn *conn, u32 len)
{
	return conn->tx_chunk && kmqtt_chunk_room(conn->tx_chunk->chunk) >= len;
}

/*
 * Under tx_lock: copy the @len bytes of a QoS 0 PUBLISH of @msg, in the
 * @n pieces of @vec, into the open chunk, or else into *@fresh (if any),
 * which is queued and opens.  False when neither has room.
 */
static bool kmqtt_send_copy(struct kmqtt_conn *conn,
			    const struct kmqtt_msg *msg, const struct kvec *vec,
			    size_t n, u32 len, struct kmqtt_txent **fresh)
{
	struct kmqtt_txent *chunk = conn->tx_chunk;
	size_t i;
	u8 *p;

	if (!kmqtt_send_chunk_fits(conn, len)) {
		/* A new chunk takes any packet up to KMQTT_CHUNK_MAX_PACKET. */
		if (!fresh || !*fresh)
			return false;
		chunk = *fresh;
		*fresh = NULL;
		kmqtt_send_enqueue(conn, chunk);
		conn->tx_chunk = chunk;
	}
	p = kmqtt_chunk_append(chunk->chunk, len, msg->len);
	for (i = 0; i < n; i++) {
		memcpy(p, vec[i].iov_base, vec[i].iov_len);
		p += vec[i].iov_len;
	}
	chunk->body_len = chunk->chunk->len;
	WRITE_ONCE(conn->tx_chunk_room, kmqtt_chunk_room(chunk->chunk));
	kmqtt_counter_add(&conn->counters.tx_copied, 1);
	return true;
}

/* Under tx_lock: a QoS 0 PUBLISH of @msg is queued, and counts. */
static void kmqtt_send_count_qos0(struct kmqtt_conn *conn,
				  const struct kmqtt_msg *msg)
{
	WRITE_ONCE(conn->tx_publishes, conn->tx_publishes + 1);
	WRITE_ONCE(conn->tx_publish_bytes, conn->tx_publish_bytes + msg->len);
	kmqtt_counter_add(&conn->counters.msgs_out, 1);
}

bool kmqtt_send_publish_copied(struct kmqtt_conn *conn,
			       const struct kmqtt_msg *msg, bool retain,
			       u8 n_sub_ids)
{
	u32 props = kmqtt_msg_props_offset(msg);
	u32 payload = kmqtt_msg_payload_offset(msg);
	bool v5 = kmqtt_conn_v5(conn), copied = false;
	u8 hdr[MQTT_MAX_FIXED_HEADER];
	struct kvec vec[3];
	u32 rem_len, len;
	size_t n = 0;

	if (conn->bridge || conn->mount_len || msg->in_pages || msg->expires ||
	    (v5 && n_sub_ids))
		return false;
	/* A 5.0 client gets the property block, a 3.1.x one does not. */
	rem_len = v5 ? msg->len : msg->len - (payload - props);
	if (rem_len > KMQTT_CHUNK_MAX_PACKET)
		return false;
	vec[n].iov_base = hdr;
	vec[n++].iov_len = kmqtt_codec_put_publish_hdr(hdr, 0, false, retain,
						       rem_len);
	vec[n].iov_base = (void *)msg->data;
	vec[n++].iov_len = v5 ? msg->len : props;
	if (!v5) {
		vec[n].iov_base = (void *)msg->data + payload;
		vec[n++].iov_len = msg->len - payload;
	}
	len = vec[0].iov_len + rem_len;
	if (len > KMQTT_CHUNK_MAX_PACKET ||
	    (conn->max_packet_out && len > conn->max_packet_out) ||
	    READ_ONCE(conn->tx_chunk_room) < len)
		return false;

	spin_lock(&conn->tx_lock);
	if (!conn->tx_dead && !kmqtt_send_queue_full(conn, msg) &&
	    kmqtt_send_chunk_fits(conn, len)) {
		copied = kmqtt_send_copy(conn, msg, vec, n, len, NULL);
		if (copied)
			kmqtt_send_count_qos0(conn, msg);
	}
	spin_unlock(&conn->tx_lock);
	return copied;
}

enum kmqtt_handoff kmqtt_send_publish(struct kmqtt_conn *conn,
				      struct kmqtt_txent *ent, u8 qos,
				      u16 packet_id, bool dup, bool retain)
{
	enum kmqtt_handoff done = KMQTT_HANDOFF_REFUSED;
	struct kvec vec[KMQTT_TXENT_IOVS];
	struct kmqtt_txent *fresh = NULL;
	struct kmqtt_msg *msg = ent->msg;
	struct kmqtt_send_topic topic;
	size_t n = 0;
	bool copy;
	u64 rem_len;
	u32 len;
	u8 own;

	/* Callers checked kmqtt_send_takes() and kmqtt_send_fits(). */
	kmqtt_send_topic_of(conn, msg, &topic);
	ent->with_props = kmqtt_conn_v5(conn);
	own = ent->with_props ?
	      kmqtt_send_own_props_len(msg, ent->sub_ids_len) : 0;
	kmqtt_send_publish_tail(ent, qos, packet_id, own);
	/* Its own property length replaces the message's. */
	ent->props_from = own ? msg->props_hdr_len : 0;
	rem_len = kmqtt_send_publish_rem_len(&topic, msg, qos,
					     ent->with_props, own);
	/* Callers checked kmqtt_send_fits(): hdr has no room for more. */
	if (WARN_ON_ONCE(rem_len > MQTT_MAX_REMAINING_LENGTH))
		return KMQTT_HANDOFF_REFUSED;
	ent->hdr_len = kmqtt_codec_put_publish_hdr(ent->hdr, qos, dup, retain,
						   rem_len);
	/*
	 * Under a mount point, the topic goes out without it, and on a
	 * bridge link with the remote prefix in place of the local one: its
	 * own length here, the prefix, then the shared topic from past what
	 * it replaces.
	 */
	ent->data_off = 0;
	ent->topic_prefix = topic.prefix;
	ent->topic_prefix_len = topic.prefix_len;
	if (topic.strip || topic.prefix_len) {
		kmqtt_codec_put_u16(ent->hdr + ent->hdr_len,
				    msg->topic_len - topic.strip +
				    topic.prefix_len);
		ent->hdr_len += 2;
		ent->data_off = 2 + topic.strip;
	}
	ent->counted = !qos;
	len = kmqtt_txent_len(ent);
	copy = !qos && !kmqtt_txent_zerocopy(conn, ent) &&
	       len <= KMQTT_CHUNK_MAX_PACKET;
	if (copy)
		n = kmqtt_txent_iov(conn, ent, 0, vec);
	/*
	 * A new chunk only behind packets that wait for tx_work: one packet
	 * alone goes out in its delivery, which costs less; and not for a
	 * packet to be dropped.  Allocated ahead of the lock, as hints read
	 * without it say; it may go unused, or the packet go in its delivery
	 * after all.
	 */
	if (copy && READ_ONCE(conn->tx_chunk_room) < len &&
	    !list_empty_careful(&conn->tx_queue) &&
	    !READ_ONCE(conn->tx_dead) && !kmqtt_send_queue_full(conn, msg))
		fresh = kmqtt_send_alloc_chunk(conn->broker);

	spin_lock(&conn->tx_lock);
	if (conn->tx_dead) {
		/* QoS 1/2 stay in flight, for the client's next connection. */
		if (!qos)
			kmqtt_send_dropped(conn, KMQTT_DROP_CLOSING);
		goto unlock;
	}
	if (!qos) {
		if (kmqtt_send_queue_full(conn, msg)) {
			kmqtt_send_dropped(conn, KMQTT_DROP_QUEUE_FULL);
			goto unlock;
		}
		kmqtt_send_count_qos0(conn, msg);
	} else {
		kmqtt_counter_add(&conn->counters.msgs_out, 1);
	}
	if (copy && kmqtt_send_copy(conn, msg, vec, n, len, &fresh)) {
		done = KMQTT_HANDOFF_COPIED;
	} else {
		kmqtt_send_enqueue(conn, ent);
		done = KMQTT_HANDOFF_TAKEN;
	}
unlock:
	spin_unlock(&conn->tx_lock);
	if (fresh)
		kmqtt_send_free_chunk(conn->broker, fresh);
	return done;
}

/* Drop the entries that @sent bytes (counted from the head) completed. */
static void kmqtt_send_consume(struct kmqtt_conn *conn, size_t sent)
{
	u32 publishes = 0, controls = 0, zerocopy = 0;
	struct kmqtt_txent *ent, *tmp;
	u64 publish_bytes = 0;

	sent += conn->tx_offset;
	list_for_each_entry_safe(ent, tmp, &conn->tx_sending, node) {
		u32 len = kmqtt_txent_len(ent);

		/* A chunk's packets count down as each is out whole. */
		if (ent->chunk)
			publishes += kmqtt_chunk_sent(ent->chunk,
						      min_t(size_t, sent, len),
						      &publish_bytes);
		if (sent < len)
			break;
		sent -= len;
		if (ent->counted) {
			publishes++;
			publish_bytes += ent->msg->len;
		} else if (!ent->in_delivery && !ent->chunk) {
			controls++;
		}
		if (ent->connack)
			conn->connack_sent = true;
		zerocopy += kmqtt_txent_zerocopy(conn, ent);
		list_del(&ent->node);
		kmqtt_send_free_entry(conn, ent);
	}
	conn->tx_offset = sent;
	kmqtt_counter_add(&conn->counters.tx_zerocopy, zerocopy);

	spin_lock(&conn->tx_lock);
	WRITE_ONCE(conn->tx_publishes, conn->tx_publishes - publishes);
	WRITE_ONCE(conn->tx_publish_bytes,
		   conn->tx_publish_bytes - publish_bytes);
	conn->tx_controls -= controls;
	spin_unlock(&conn->tx_lock);
}

/*
 * Send the head entry's zero-copy payload from byte @offset of the entry
 * on, all of it in one call: its compound page's pages follow one
 * another, as a multi-page bio_vec's do.
 */
static int kmqtt_send_payload(struct kmqtt_conn *conn,
			      const struct kmqtt_txent *ent, u32 offset)
{
	const struct kmqtt_msg *msg = ent->msg;
	const u8 *p = msg->data + kmqtt_msg_payload_offset(msg) +
		      (offset - kmqtt_txent_head_len(ent));

	return kmqtt_sendpage(conn->sock, virt_to_page(p), offset_in_page(p),
			      msg->data + msg->len - p,
			      MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Gather entries from @head, the first of tx_sending, into @vec, at most
 * @max_vec iovecs, all of @head's kind (WebSocket frames of their own, or
 * not).  Returns the count, the bytes in *@len; *@full when an entry was
 * left for want of room.
 */
static size_t kmqtt_send_gather(struct kmqtt_conn *conn,
				const struct kmqtt_txent *head,
				struct kvec *vec, size_t max_vec, size_t *len,
				bool *more, bool *full)
{
	u32 skip = conn->tx_offset;
	struct kmqtt_txent *ent;
	size_t i, n = 0;

	list_for_each_entry(ent, &conn->tx_sending, node) {
		if (ent->ws_frame != head->ws_frame)
			break;
		if (n + KMQTT_TXENT_IOVS > max_vec) {
			*full = true;
			break;
		}
		n += kmqtt_txent_iov(conn, ent, skip, vec + n);
		skip = 0;
		if (kmqtt_txent_zerocopy(conn, ent)) {
			/* Its payload follows: hold the push. */
			*more = true;
			break;
		}
	}
	*len = 0;
	for (i = 0; i < n; i++)
		*len += vec[i].iov_len;
	return n;
}

/*
 * Send what is queued: packets gathered into sendmsg calls of up to
 * @max_vec iovecs, a zero-copy payload in one call after its header,
 * at most *@budget calls.  Returns true, having sent nothing more, when
 * @grow and @vec is too short for what is queued.
 */
static bool kmqtt_send_flush(struct kmqtt_conn *conn, struct kvec *vec,
			     size_t max_vec, bool grow, int *budget)
{
	/* Over WebSocket, vec[0] is the frame header's. */
	size_t ws_hdr = conn->ws ? 1 : 0;

	while (!kmqtt_conn_closing(conn)) {
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
		struct kmqtt_txent *head;
		bool more = false, full = false;
		struct kvec *out;
		size_t n, len;
		int ret;

		spin_lock(&conn->tx_lock);
		list_splice_tail_init(&conn->tx_queue, &conn->tx_sending);
		/* Sent from now on without the lock: no more copies into it. */
		kmqtt_send_close_chunk(conn);
		spin_unlock(&conn->tx_lock);
		if (list_empty(&conn->tx_sending))
			return false;
		if (!(*budget)--) {
			queue_work(kmqtt_wq, &conn->tx_work);
			return false;
		}

		head = list_first_entry(&conn->tx_sending, struct kmqtt_txent,
					node);
		n = kmqtt_send_gather(conn, head, vec + ws_hdr,
				      max_vec - ws_hdr, &len, &more, &full);
		if (full && grow) {
			(*budget)++;
			return true;
		}
		out = vec + ws_hdr;
		if (conn->ws)
			out = kmqtt_ws_frame(conn, vec, &n, &len,
					     head->ws_frame);
		if (more)
			msg.msg_flags |= MSG_MORE;
		/* Before the call: its peer may read the bytes before it returns. */
		kmqtt_counter_add(&conn->counters.tx_writes, 1);
		if (n)
			ret = kernel_sendmsg(conn->sock, &msg, out, n, len);
		else
			ret = kmqtt_send_payload(conn, head, conn->tx_offset);
		/* On -EAGAIN, write_space queues this work again. */
		if (ret == -EAGAIN)
			return false;
		if (ret < 0) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
			return false;
		}
		kmqtt_counter_add(&conn->counters.bytes_out, ret);
		if (conn->ws)
			ret = kmqtt_ws_sent(conn, ret);
		kmqtt_send_consume(conn, ret);
	}
	return false;
}

void kmqtt_send_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       tx_work);
	struct kvec few[KMQTT_TX_FEW_IOVS];
	int budget = KMQTT_TX_BUDGET;
	struct kvec *vec;

	/* Pairs with attach's release: the connection is fully built. */
	if (!smp_load_acquire(&conn->ready))
		return;
	/* A publisher queueing after this check queues the work again. */
	if (list_empty(&conn->tx_sending) && list_empty_careful(&conn->tx_queue))
		return;
	kmqtt_counter_add(&conn->counters.tx_runs, 1);
	if (!kmqtt_send_flush(conn, few, ARRAY_SIZE(few), true, &budget))
		return;
	/* More than a few: short of memory, they go a few at a time. */
	vec = kmalloc_array(KMQTT_TX_IOVS, sizeof(*vec),
			    GFP_KERNEL | __GFP_NOWARN);
	if (vec) {
		kmqtt_send_flush(conn, vec, KMQTT_TX_IOVS, false, &budget);
		kfree(vec);
	} else {
		kmqtt_send_flush(conn, few, ARRAY_SIZE(few), false, &budget);
	}
}

void kmqtt_send_goodbye(struct kmqtt_conn *conn, u8 reason)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	/* Framed DISCONNECT, then a Close frame with its status code. */
	u8 buf[2 + 3 + 2 + 2];
	struct kvec vec = { buf, 0 };
	u8 *p = buf;

	/* Half a packet or frame out: more now would corrupt the stream. */
	if (conn->tx_offset || (conn->ws && !kmqtt_ws_idle(conn)))
		return;
	/*
	 * None before CONNACK (MQTT-3.14.0-1), nor a new message after the
	 * client's Close (RFC 6455 5.5.1): it only waits for ours.
	 */
	if (reason && conn->connack_sent &&
	    !(conn->ws && conn->ws->peer_closed)) {
		if (conn->ws)
			p += kmqtt_ws_put_hdr(p, KMQTT_WS_OP_BINARY, 3);
		p += kmqtt_codec_put_disconnect5(p, reason);
	}
	if (conn->ws) {
		u16 code = kmqtt_ws_close_code(conn);

		p += kmqtt_ws_put_hdr(p, KMQTT_WS_OP_CLOSE, code ? 2 : 0);
		if (code) {
			*p++ = code >> 8;
			*p++ = code & 0xff;
		}
	}
	vec.iov_len = p - buf;
	if (vec.iov_len)
		kernel_sendmsg(conn->sock, &msg, &vec, 1, vec.iov_len);
}

int kmqtt_send_ws_control(struct kmqtt_conn *conn, u8 opcode,
			  const u8 *data, u8 len)
{
	struct kmqtt_txent *ent = kmqtt_send_alloc_control(conn->broker);

	if (!ent)
		return -ENOMEM;
	ent->ws_frame = true;
	ent->hdr_len = kmqtt_ws_put_hdr(ent->hdr, opcode, len);
	if (len) {
		/* Freed by kvfree(), as every control body. */
		ent->body = kmemdup(data, len, GFP_KERNEL | __GFP_NOWARN);
		if (!ent->body) {
			kmqtt_send_free_control(conn->broker, ent);
			return -ENOMEM;
		}
		ent->body_len = len;
	}
	return kmqtt_send_control(conn, ent);
}

void kmqtt_send_purge(struct kmqtt_conn *conn)
{
	struct kmqtt_txent *ent, *tmp;

	/* After tx_dead: nothing is queued or copied any more. */
	conn->tx_chunk = NULL;
	list_splice_tail_init(&conn->tx_queue, &conn->tx_sending);
	list_for_each_entry_safe(ent, tmp, &conn->tx_sending, node) {
		list_del(&ent->node);
		kmqtt_send_free_entry(conn, ent);
	}
	conn->tx_offset = 0;
}

int kmqtt_send_connack(struct kmqtt_conn *conn, bool session_present,
		       const u8 *props, u32 props_len)
{
	struct kmqtt_txent *ent = kmqtt_send_alloc_control(conn->broker);

	if (!ent)
		return -ENOMEM;
	ent->connack = true;
	if (kmqtt_conn_v5(conn)) {
		ent->body = kvmalloc(KMQTT_CODEC_CONNACK5_HEAD + props_len,
				     GFP_KERNEL | __GFP_NOWARN);
		if (!ent->body) {
			kmqtt_send_free_control(conn->broker, ent);
			return -ENOMEM;
		}
		ent->body_len = kmqtt_codec_put_connack5(ent->body,
							 session_present,
							 MQTT_RC_SUCCESS,
							 props_len);
		memcpy(ent->body + ent->body_len, props, props_len);
		ent->body_len += props_len;
		return kmqtt_send_control(conn, ent);
	}
	/* MQTT 3.1 has no session-present flag: its first byte is reserved. */
	ent->hdr_len = kmqtt_codec_put_connack(ent->hdr, session_present &&
					       conn->proto_level >=
					       MQTT_PROTO_V311,
					       MQTT_CONNACK_ACCEPTED);
	return kmqtt_send_control(conn, ent);
}

int kmqtt_send_init(void)
{
	kmqtt_txent_cache = KMEM_CACHE(kmqtt_txent, 0);
	return kmqtt_txent_cache ? 0 : -ENOMEM;
}

void kmqtt_send_exit(void)
{
	kmem_cache_destroy(kmqtt_txent_cache);
}
