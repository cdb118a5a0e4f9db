// SPDX-License-Identifier: GPL-2.0
/*
 * Connections.  The agent hands over a connected socket; from then on the
 * module owns it.  Socket callbacks (softirq) only queue work: receiving,
 * parsing, fan-out and sending all run in process context on kmqtt_wq.
 *
 * Lifetime: a connection lives from attach until its close_work has run.
 * kmqtt_conn_close() only records why and queues close_work, so it may be
 * called from any context, including the connection's own work items.
 * close_work is queued once per connection, and only once attach is done
 * with it (ATTACHED): attach itself queues it if the connection was closed
 * before.  close_work restores the socket callbacks (after which no
 * callback sees the connection), marks the transmit queue dead (after
 * which no publisher queues tx_work), cancels the work items and frees the
 * connection after an RCU grace period, because publishers and dumps find
 * it under RCU.
 */

#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/tls.h>
#include <net/inet_connection_sock.h>
#include <net/tcp.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <kmqtt/mqtt.h>

#include "acl.h"
#include "codec.h"
#include "compat.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "netlink.h"
#include "publish.h"
#include "race.h"
#include "retain.h"
#include "session.h"

enum {
	KMQTT_CONN_F_ATTACHED,		/* attach is done: close_work may run */
	KMQTT_CONN_F_CLOSE_QUEUED,	/* close_work queued, once for all */
	KMQTT_CONN_F_PAUSED,		/* in broker->paused: not read */
};

/* conn->close_reason until kmqtt_conn_close() */
#define KMQTT_CONN_OPEN		(-1)

/*
 * A packet that found no memory (not the limit) is tried again after this
 * long, doubling up to the max while it keeps failing.
 */
#define KMQTT_RETRY_MIN_MS	10
#define KMQTT_RETRY_MAX_MS	1000

/* How long a takeover waits for the old connection to let go. */
#define KMQTT_TAKEOVER_TIMEOUT	(10 * HZ)

/* Receive buffer for headers and small packets; larger ones get their own. */
#define KMQTT_RX_MIN		4096
/* Work item runs are bounded so one busy client can't hog a worker. */
#define KMQTT_RX_BUDGET		64
#define KMQTT_TX_BUDGET		16
/* iovecs gathered into one sendmsg: 64 to 256 packets. */
#define KMQTT_TX_IOVS		256
/*
 * Acks and pings are never dropped; a client that keeps asking for them
 * without reading its socket is disconnected at this many.
 */
#define KMQTT_MAX_QUEUED_CONTROLS	1024
/* RFC 8446 ContentType application_data, as kTLS reports it. */
#define KMQTT_TLS_RECORD_TYPE_DATA	23

#define KMQTT_TXENT_IOVS	4

struct workqueue_struct *kmqtt_wq;
static struct kmem_cache *kmqtt_txent_cache;
/* Its own cache: an idle connection costs sizeof(struct kmqtt_conn). */
static struct kmem_cache *kmqtt_conn_cache;

static bool kmqtt_conn_closing(const struct kmqtt_conn *conn)
{
	return READ_ONCE(conn->close_reason) != KMQTT_CONN_OPEN;
}

/* The work frees the connection: it must never be queued twice. */
static void kmqtt_conn_queue_close(struct kmqtt_conn *conn)
{
	if (!test_and_set_bit(KMQTT_CONN_F_CLOSE_QUEUED, &conn->flags))
		queue_work(kmqtt_wq, &conn->close_work);
}

void kmqtt_conn_close(struct kmqtt_conn *conn, enum kmqtt_close_reason reason)
{
	/* The first reason stays; a full barrier when it is ours. */
	if (cmpxchg(&conn->close_reason, KMQTT_CONN_OPEN, reason) !=
	    KMQTT_CONN_OPEN)
		return;
	/* Not attached yet: attach sees the reason and queues the work. */
	if (test_bit(KMQTT_CONN_F_ATTACHED, &conn->flags))
		kmqtt_conn_queue_close(conn);
}

static int kmqtt_conn_violation(struct kmqtt_conn *conn, const char *what)
{
	net_info_ratelimited("kmqtt: closing connection %llu (%*pE): %s\n",
			     conn->id, conn->session->client_id_len,
			     conn->session->client_id, what);
	return -EPROTO;
}

/* Socket callbacks: softirq context, under sk_callback_lock. */

static void kmqtt_conn_data_ready(struct sock *sk)
{
	struct kmqtt_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		/* kTLS parses records in its own data_ready. */
		conn->saved_data_ready(sk);
		queue_work(kmqtt_wq, &conn->rx_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kmqtt_conn_state_change(struct sock *sk)
{
	struct kmqtt_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		conn->saved_state_change(sk);
		/* The receive path notices EOF and errors. */
		queue_work(kmqtt_wq, &conn->rx_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kmqtt_conn_write_space(struct sock *sk)
{
	struct kmqtt_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		/* kTLS pushes its pending records from its write_space. */
		conn->saved_write_space(sk);
		if (sk_stream_is_writeable(sk))
			queue_work(kmqtt_wq, &conn->tx_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/* Transmit. */

static u32 kmqtt_txent_len(const struct kmqtt_txent *ent)
{
	if (ent->msg)
		return ent->hdr_len + ent->msg->len - ent->data_off +
		       2 * ent->has_packet_id;
	return ent->hdr_len + ent->body_len;
}

/* A payload in pages of its own goes out from there, not copied. */
static bool kmqtt_txent_zerocopy(const struct kmqtt_txent *ent)
{
	return ent->msg && ent->msg->in_pages;
}

/* Bytes of @ent before a zero-copy payload. */
static u32 kmqtt_txent_head_len(const struct kmqtt_txent *ent)
{
	return ent->hdr_len + kmqtt_msg_payload_offset(ent->msg) -
	       ent->data_off + 2 * ent->has_packet_id;
}

/*
 * The iovecs of @ent from byte @skip on, without a zero-copy payload;
 * returns how many.
 */
static size_t kmqtt_txent_iov(const struct kmqtt_txent *ent, u32 skip,
			      struct kvec *vec)
{
	struct kvec all[KMQTT_TXENT_IOVS];
	size_t i, n = 0, out = 0;

	all[n++] = (struct kvec){ (void *)ent->hdr, ent->hdr_len };
	if (ent->msg) {
		u32 split = kmqtt_msg_payload_offset(ent->msg);

		all[n++] = (struct kvec){ ent->msg->data + ent->data_off,
					  split - ent->data_off };
		if (ent->has_packet_id)
			all[n++] = (struct kvec){ (void *)ent->packet_id, 2 };
		if (!kmqtt_txent_zerocopy(ent))
			all[n++] = (struct kvec){ ent->msg->data + split,
						  ent->msg->len - split };
	} else if (ent->body_len) {
		all[n++] = (struct kvec){ ent->body, ent->body_len };
	}
	for (i = 0; i < n; i++) {
		if (skip >= all[i].iov_len) {
			skip -= all[i].iov_len;
			continue;
		}
		vec[out].iov_base = all[i].iov_base + skip;
		vec[out].iov_len = all[i].iov_len - skip;
		skip = 0;
		if (vec[out].iov_len)
			out++;
	}
	return out;
}

struct kmqtt_txent *kmqtt_conn_alloc_control(struct kmqtt_broker *broker)
{
	struct kmqtt_txent *ent;

	ent = kmem_cache_zalloc(kmqtt_txent_cache, GFP_KERNEL | __GFP_NOWARN);
	if (ent)
		kmqtt_broker_account(broker, sizeof(*ent));
	return ent;
}

void kmqtt_conn_free_control(struct kmqtt_broker *broker,
			     struct kmqtt_txent *ent)
{
	kvfree(ent->body);
	kmem_cache_free(kmqtt_txent_cache, ent);
	kmqtt_broker_uncharge(broker, sizeof(*ent));
}

static void kmqtt_conn_free_txent(struct kmqtt_conn *conn,
				  struct kmqtt_txent *ent)
{
	if (ent->in_delivery)
		kmqtt_delivery_put(kmqtt_delivery_of(ent));
	else
		kmqtt_conn_free_control(conn->broker, ent);
}

/*
 * Queue a non-PUBLISH packet; acks and pings are never dropped.  The
 * PUBRELs a reconnect resends are bounded by the inflight window, not by
 * KMQTT_MAX_QUEUED_CONTROLS: only what the client asks for counts.
 */
static int kmqtt_conn_queue_control(struct kmqtt_conn *conn,
				    struct kmqtt_txent *ent)
{
	int ret = 0;

	spin_lock(&conn->tx_lock);
	if (!ent->in_delivery &&
	    conn->tx_controls >= KMQTT_MAX_QUEUED_CONTROLS) {
		ret = -ENOBUFS;
	} else if (!conn->tx_dead) {
		list_add_tail(&ent->node, &conn->tx_queue);
		conn->tx_controls += !ent->in_delivery;
		queue_work(kmqtt_wq, &conn->tx_work);
		ent = NULL;
	}
	spin_unlock(&conn->tx_lock);
	if (ent)
		kmqtt_conn_free_txent(conn, ent);
	return ret;
}

int kmqtt_conn_queue_ack(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
			 u8 type, u16 packet_id)
{
	ent->hdr_len = kmqtt_codec_put_ack(ent->hdr, type, packet_id);
	return kmqtt_conn_queue_control(conn, ent);
}

/* Answer with a packet of its own (0 or -ENOMEM); acks never fail. */
static int kmqtt_conn_queue_pingresp(struct kmqtt_conn *conn)
{
	struct kmqtt_txent *ent = kmqtt_conn_alloc_control(conn->broker);

	if (!ent)
		return -ENOMEM;
	ent->hdr_len = kmqtt_codec_put_pingresp(ent->hdr);
	return kmqtt_conn_queue_control(conn, ent);
}

/* A QoS 0 PUBLISH that does not go out: counted here and for the broker. */
static void kmqtt_conn_dropped(struct kmqtt_conn *conn, enum kmqtt_drop why)
{
	lockdep_assert_held(&conn->tx_lock);
	kmqtt_counter_add(&conn->counters.msgs_dropped, 1);
	kmqtt_broker_dropped(conn->broker, why, 1);
}

bool kmqtt_conn_takes(const struct kmqtt_conn *conn,
		      const struct kmqtt_msg *msg)
{
	return !conn->mount_len ||
	       (msg->topic_len > conn->mount_len &&
		!memcmp(kmqtt_msg_topic(msg), conn->mount, conn->mount_len));
}

bool kmqtt_conn_queue_publish(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
			      u8 qos, u16 packet_id, bool dup, bool retain)
{
	const struct kmqtt_limits *limits = &conn->broker->limits;
	struct kmqtt_msg *msg = ent->msg;
	u8 flags = qos << MQTT_PUBLISH_QOS_SHIFT;
	u16 topic_len = msg->topic_len - conn->mount_len;
	bool queued = false;

	if (dup)
		flags |= MQTT_PUBLISH_DUP;
	if (retain)
		flags |= MQTT_PUBLISH_RETAIN;
	ent->hdr_len = kmqtt_codec_put_fixed_hdr(ent->hdr, MQTT_PUBLISH, flags,
						 msg->len - conn->mount_len +
						 (qos ? 2 : 0));
	/*
	 * Under a mount point, the topic goes out without it: its own length
	 * here, then the shared topic from past the mount point.
	 */
	ent->data_off = 0;
	if (conn->mount_len) {
		ent->hdr[ent->hdr_len++] = topic_len >> 8;
		ent->hdr[ent->hdr_len++] = topic_len & 0xff;
		ent->data_off = 2 + conn->mount_len;
	}
	ent->has_packet_id = qos;
	ent->packet_id[0] = packet_id >> 8;
	ent->packet_id[1] = packet_id & 0xff;
	ent->counted = !qos;

	spin_lock(&conn->tx_lock);
	if (conn->tx_dead) {
		/* QoS 1/2 stay in flight, for the client's next connection. */
		if (!qos)
			kmqtt_conn_dropped(conn, KMQTT_DROP_CLOSING);
		goto unlock;
	}
	if (!qos) {
		u32 max_msgs = READ_ONCE(limits->max_queued_messages);
		u64 max_bytes = READ_ONCE(limits->max_queued_bytes);

		if ((max_msgs && conn->tx_publishes >= max_msgs) ||
		    (max_bytes &&
		     conn->tx_publish_bytes + msg->len > max_bytes)) {
			kmqtt_conn_dropped(conn, KMQTT_DROP_QUEUE_FULL);
			goto unlock;
		}
		conn->tx_publishes++;
		conn->tx_publish_bytes += msg->len;
	}
	list_add_tail(&ent->node, &conn->tx_queue);
	kmqtt_counter_add(&conn->counters.msgs_out, 1);
	queue_work(kmqtt_wq, &conn->tx_work);
	queued = true;
unlock:
	spin_unlock(&conn->tx_lock);
	return queued;
}

/* Drop the entries that @sent bytes (counted from the head) completed. */
static void kmqtt_conn_tx_consume(struct kmqtt_conn *conn, size_t sent)
{
	u32 publishes = 0, controls = 0;
	struct kmqtt_txent *ent, *tmp;
	u64 publish_bytes = 0;

	sent += conn->tx_offset;
	list_for_each_entry_safe(ent, tmp, &conn->tx_sending, node) {
		u32 len = kmqtt_txent_len(ent);

		if (sent < len)
			break;
		sent -= len;
		if (ent->counted) {
			publishes++;
			publish_bytes += ent->msg->len;
		} else if (!ent->in_delivery) {
			controls++;
		}
		list_del(&ent->node);
		kmqtt_conn_free_txent(conn, ent);
	}
	conn->tx_offset = sent;

	spin_lock(&conn->tx_lock);
	conn->tx_publishes -= publishes;
	conn->tx_publish_bytes -= publish_bytes;
	conn->tx_controls -= controls;
	spin_unlock(&conn->tx_lock);
}

/*
 * Send the head entry's zero-copy payload from byte @offset of the entry
 * on, up to the end of the page it is in.
 */
static int kmqtt_conn_send_payload_page(struct kmqtt_conn *conn,
					const struct kmqtt_txent *ent,
					u32 offset)
{
	const struct kmqtt_msg *msg = ent->msg;
	const u8 *p = msg->data + kmqtt_msg_payload_offset(msg) +
		      (offset - kmqtt_txent_head_len(ent));
	size_t left = msg->data + msg->len - p;
	size_t in_page = min_t(size_t, left, PAGE_SIZE - offset_in_page(p));
	int flags = MSG_DONTWAIT | MSG_NOSIGNAL;

	/* The next pages follow at once: no push in between. */
	if (in_page < left)
		flags |= MSG_MORE;
	return kmqtt_sendpage(conn->sock, virt_to_page(p), offset_in_page(p),
			      in_page, flags);
}

/*
 * Send what is queued: packets gathered into sendmsg calls of up to
 * @max_vec iovecs, a zero-copy payload page by page after its header.
 */
static void kmqtt_conn_tx_flush(struct kmqtt_conn *conn, struct kvec *vec,
				size_t max_vec)
{
	int budget = KMQTT_TX_BUDGET;

	while (!kmqtt_conn_closing(conn)) {
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
		struct kmqtt_txent *ent, *head;
		size_t i, n = 0, len = 0;
		u32 skip = conn->tx_offset;
		int ret;

		spin_lock(&conn->tx_lock);
		list_splice_tail_init(&conn->tx_queue, &conn->tx_sending);
		spin_unlock(&conn->tx_lock);
		if (list_empty(&conn->tx_sending))
			return;
		if (!budget--) {
			queue_work(kmqtt_wq, &conn->tx_work);
			return;
		}

		head = list_first_entry(&conn->tx_sending, struct kmqtt_txent,
					node);
		list_for_each_entry(ent, &conn->tx_sending, node) {
			if (n + KMQTT_TXENT_IOVS > max_vec)
				break;
			n += kmqtt_txent_iov(ent, skip, vec + n);
			skip = 0;
			if (kmqtt_txent_zerocopy(ent)) {
				/* Its payload follows: hold the push. */
				msg.msg_flags |= MSG_MORE;
				break;
			}
		}
		for (i = 0; i < n; i++)
			len += vec[i].iov_len;
		if (n)
			ret = kernel_sendmsg(conn->sock, &msg, vec, n, len);
		else
			ret = kmqtt_conn_send_payload_page(conn, head,
							   conn->tx_offset);
		/* On -EAGAIN, write_space queues this work again. */
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
			return;
		}
		kmqtt_counter_add(&conn->counters.bytes_out, ret);
		kmqtt_conn_tx_consume(conn, ret);
	}
}

static void kmqtt_conn_tx_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       tx_work);
	struct kvec one_packet[KMQTT_TXENT_IOVS];
	struct kvec *vec;

	/* Pairs with attach's release: the connection is fully built. */
	if (!smp_load_acquire(&conn->ready))
		return;
	/* A publisher queueing after this check queues the work again. */
	if (list_empty(&conn->tx_sending) && list_empty_careful(&conn->tx_queue))
		return;
	/* Too large for the stack; short of memory, one packet at a time. */
	vec = kmalloc_array(KMQTT_TX_IOVS, sizeof(*vec),
			    GFP_KERNEL | __GFP_NOWARN);
	if (vec) {
		kmqtt_conn_tx_flush(conn, vec, KMQTT_TX_IOVS);
		kfree(vec);
	} else {
		kmqtt_conn_tx_flush(conn, one_packet, ARRAY_SIZE(one_packet));
	}
}

static void kmqtt_conn_tx_purge(struct kmqtt_conn *conn)
{
	struct kmqtt_txent *ent, *tmp;

	list_splice_tail_init(&conn->tx_queue, &conn->tx_sending);
	list_for_each_entry_safe(ent, tmp, &conn->tx_sending, node) {
		list_del(&ent->node);
		kmqtt_conn_free_txent(conn, ent);
	}
	conn->tx_offset = 0;
}

/* Receive: packet handlers return 0 or a negative errno that closes. */

static u8 kmqtt_conn_subscribe(struct kmqtt_conn *conn, const u8 *filter,
			       u16 len, u8 qos)
{
	bool ok;

	rcu_read_lock();
	ok = kmqtt_acl_may_subscribe(rcu_dereference(conn->session->acl),
				     filter, len);
	rcu_read_unlock();
	if (!ok) {
		atomic64_inc(&conn->broker->acl_denied);
		return MQTT_SUBACK_FAILURE;
	}
	return kmqtt_session_subscribe(conn->session, filter, len, qos);
}

/*
 * Handlers allocate what their answer needs first: what they change is
 * not undone, and a handler that fails for want of memory (-ENOSPC, the
 * memory limit, or -ENOMEM) is run again on the same packet later.
 */
static int kmqtt_conn_on_publish(struct kmqtt_conn *conn,
				 const struct kmqtt_fixed_hdr *hdr,
				 const u8 *body)
{
	u32 message_size = READ_ONCE(conn->broker->limits.message_size);
	u32 max_levels = READ_ONCE(conn->broker->limits.max_topic_levels);
	struct kmqtt_txent *ack = NULL;
	struct kmqtt_publish pub;
	int ret = 1;

	if (kmqtt_codec_parse_publish(hdr->flags, body, hdr->rem_len, &pub))
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
		ack = kmqtt_conn_alloc_control(conn->broker);
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
	return kmqtt_conn_queue_ack(conn, ack, pub.qos == 1 ? MQTT_PUBACK :
				    MQTT_PUBREC, pub.packet_id);
free_ack:
	if (ack)
		kmqtt_conn_free_control(conn->broker, ack);
	return ret;
}

/*
 * A SUBSCRIBE or UNSUBSCRIBE is handled over as many receive work runs as
 * it needs, each doing about KMQTT_JOB_BUDGET units of work, while the
 * packet waits at the head of the receive buffer: other work items run in
 * between, and a packet of thousands of filters holds no lock and no
 * worker for long.  A retained message visited costs one unit, a filter
 * subscribed or unsubscribed KMQTT_JOB_FILTER_COST and one per
 * KMQTT_JOB_FILTER_BYTES of it (its levels are nodes to walk or make).
 * A run takes at least one filter, however long.
 */
#define KMQTT_JOB_BUDGET	128
#define KMQTT_JOB_FILTER_COST	8
#define KMQTT_JOB_FILTER_BYTES	8

struct kmqtt_conn_job {
	struct kmqtt_txent *ack;	/* SUBACK or UNSUBACK, made first */
	u8 *codes;			/* SUBSCRIBE: each filter's return code */
	size_t charge;			/* against the memory limit */
	u32 n;				/* filters in the packet */
	u32 done;			/* of them handled (in this phase) */
	u32 first;			/* body offset of the first filter */
	u32 next;			/* body offset of filter @done */
	u16 packet_id;
	bool acked;			/* SUBACK queued: retained messages */
	struct kmqtt_retain_cursor cursor;	/* in filter @done's */
	u8 *mounted;			/* a filter under the mount point */
};

static void kmqtt_conn_job_free(struct kmqtt_conn *conn)
{
	struct kmqtt_conn_job *job = conn->job;

	if (!job)
		return;
	if (job->ack)
		kmqtt_conn_free_control(conn->broker, job->ack);
	kmqtt_retain_cursor_release(&job->cursor);
	kvfree(job->codes);
	kvfree(job->mounted);
	kmqtt_broker_uncharge(conn->broker, job->charge);
	kfree(job);
	conn->job = NULL;
}

/*
 * Start the job of a (validated) SUBSCRIBE (@subscribe) or UNSUBSCRIBE of
 * @n filters from @it: 0, -ENOSPC or -ENOMEM.
 */
static int kmqtt_conn_job_start(struct kmqtt_conn *conn, const u8 *body,
				const struct kmqtt_sub_iter *it, u32 n,
				u16 packet_id, bool subscribe)
{
	size_t charge = sizeof(struct kmqtt_conn_job) + (subscribe ? 2 * n : 0);
	size_t mounted = conn->mount_len ? MQTT_MAX_TOPIC_LEN : 0;
	struct kmqtt_conn_job *job;

	charge += mounted;
	if (!kmqtt_broker_charge(conn->broker, charge)) {
		conn->refused = charge;
		return -ENOSPC;
	}
	job = kzalloc(sizeof(*job), GFP_KERNEL | __GFP_NOWARN);
	if (!job) {
		kmqtt_broker_uncharge(conn->broker, charge);
		return -ENOMEM;
	}
	conn->job = job;
	job->charge = charge;
	job->n = n;
	job->first = it->pos - body;
	job->next = job->first;
	job->packet_id = packet_id;
	job->ack = kmqtt_conn_alloc_control(conn->broker);
	if (job->ack && subscribe) {
		job->codes = kvmalloc(n, GFP_KERNEL | __GFP_NOWARN);
		job->ack->body = kvmalloc(n, GFP_KERNEL | __GFP_NOWARN);
	}
	if (mounted) {
		job->mounted = kvmalloc(mounted, GFP_KERNEL | __GFP_NOWARN);
		if (job->mounted)
			memcpy(job->mounted, conn->mount, conn->mount_len);
	}
	if (!job->ack || (subscribe && (!job->codes || !job->ack->body)) ||
	    (mounted && !job->mounted)) {
		kmqtt_conn_job_free(conn);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The job's next filter, at body offset job->next, under @conn's mount
 * point; *@len is 0 when the mount point makes it too long.
 */
static void kmqtt_conn_job_filter(const struct kmqtt_conn *conn,
				  const u8 *body, const struct kmqtt_fixed_hdr *hdr,
				  bool subscribe, const u8 **filter, u16 *len,
				  u8 *qos, u32 *after)
{
	const struct kmqtt_conn_job *job = conn->job;
	struct kmqtt_sub_iter it = {
		.pos = body + job->next,
		.end = body + hdr->rem_len,
		.with_qos = subscribe,
	};

	kmqtt_codec_next_filter(&it, filter, len, qos);
	*after = it.pos - body;
	if (!conn->mount_len)
		return;
	if (*len > MQTT_MAX_TOPIC_LEN - conn->mount_len) {
		*len = 0;
		return;
	}
	memcpy(job->mounted + conn->mount_len, *filter, *len);
	*filter = job->mounted;
	*len += conn->mount_len;
}

struct kmqtt_conn_retained {
	struct kmqtt_session *session;
	u8 granted;
};

static void kmqtt_conn_send_retained(struct kmqtt_msg *msg, void *arg)
{
	const struct kmqtt_conn_retained *r = arg;
	struct kmqtt_broker *broker = r->session->broker;
	struct kmqtt_delivery *d;

	if (kmqtt_delivery_alloc_bulk(broker, GFP_KERNEL, 1, &d)) {
		kmqtt_broker_dropped(broker, KMQTT_DROP_NO_MEMORY, 1);
		return;
	}
	/* MQTT-3.3.1-8: retained messages go out with RETAIN set. */
	if (!kmqtt_delivery_deliver(r->session, msg, min(msg->qos, r->granted),
				    true, d))
		kmqtt_delivery_free_unused(broker, &d, 1);
}

/*
 * Handle filters of the job within @budget: subscribe or unsubscribe
 * them, then, for a SUBSCRIBE, send SUBACK and walk the retained messages
 * each granted filter unlocked (MQTT-3.3.1-6).  Returns 0 when the job is
 * done, -EINPROGRESS when the budget ran out, or an error that closes.
 */
static int kmqtt_conn_job_run(struct kmqtt_conn *conn,
			      const struct kmqtt_fixed_hdr *hdr, const u8 *body,
			      bool subscribe)
{
	struct kmqtt_conn_retained r = { .session = conn->session };
	struct kmqtt_conn_job *job = conn->job;
	u32 budget = KMQTT_JOB_BUDGET, after, cost;
	const u8 *filter;
	u16 len;
	int ret;
	u8 qos;

	for (; !job->acked && job->done < job->n; job->done++) {
		kmqtt_conn_job_filter(conn, body, hdr, subscribe, &filter, &len,
				      &qos, &after);
		cost = KMQTT_JOB_FILTER_COST + len / KMQTT_JOB_FILTER_BYTES;
		if (cost > budget && budget < KMQTT_JOB_BUDGET)
			return -EINPROGRESS;
		budget -= min(cost, budget);
		if (!subscribe)
			kmqtt_session_unsubscribe(conn->session, filter, len);
		else if (!len)	/* too long under the mount point */
			job->codes[job->done] = MQTT_SUBACK_FAILURE;
		else
			job->codes[job->done] = kmqtt_conn_subscribe(conn, filter,
								     len, qos);
		job->next = after;
	}
	if (!job->acked) {
		if (subscribe) {
			job->ack->hdr_len =
				kmqtt_codec_put_fixed_hdr(job->ack->hdr,
							  MQTT_SUBACK, 0,
							  2 + job->n);
			job->ack->hdr[job->ack->hdr_len++] = job->packet_id >> 8;
			job->ack->hdr[job->ack->hdr_len++] = job->packet_id;
			memcpy(job->ack->body, job->codes, job->n);
			job->ack->body_len = job->n;
			ret = kmqtt_conn_queue_control(conn, job->ack);
		} else {
			ret = kmqtt_conn_queue_ack(conn, job->ack, MQTT_UNSUBACK,
						   job->packet_id);
		}
		job->ack = NULL;
		if (ret || !subscribe)
			return ret;
		job->acked = true;
		job->done = 0;
		job->next = job->first;
	}
	/* SUBACK is queued: now the retained messages, in its order. */
	for (; job->done < job->n; job->done++) {
		kmqtt_conn_job_filter(conn, body, hdr, true, &filter, &len, &qos,
				      &after);
		if (job->codes[job->done] != MQTT_SUBACK_FAILURE) {
			if (!budget)
				return -EINPROGRESS;
			r.granted = job->codes[job->done];
			if (!kmqtt_retain_walk(&conn->broker->retained, filter,
					       len, &job->cursor, &budget,
					       kmqtt_conn_send_retained, &r))
				return -EINPROGRESS;
		}
		job->next = after;
	}
	return 0;
}

/* SUBSCRIBE and UNSUBSCRIBE (@subscribe false): one job each. */
static int kmqtt_conn_on_sub(struct kmqtt_conn *conn,
			     const struct kmqtt_fixed_hdr *hdr, const u8 *body,
			     bool subscribe)
{
	struct kmqtt_sub_iter it;
	u16 packet_id;
	int n, ret;

	if (!conn->job) {
		n = kmqtt_codec_parse_sub(body, hdr->rem_len, subscribe,
					  &packet_id, &it);
		if (n < 0)
			return kmqtt_conn_violation(conn, subscribe ?
						    "malformed SUBSCRIBE" :
						    "malformed UNSUBSCRIBE");
		ret = kmqtt_conn_job_start(conn, body, &it, n, packet_id,
					   subscribe);
		if (ret)
			return ret;
	}
	ret = kmqtt_conn_job_run(conn, hdr, body, subscribe);
	if (ret != -EINPROGRESS)
		kmqtt_conn_job_free(conn);
	return ret;
}

/* PUBACK, PUBREC, PUBREL or PUBCOMP from the client. */
static int kmqtt_conn_on_ack(struct kmqtt_conn *conn,
			     const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	struct kmqtt_txent *answer = NULL;
	u16 packet_id;

	if (kmqtt_codec_parse_ack(body, hdr->rem_len, &packet_id))
		return kmqtt_conn_violation(conn, "malformed ack");
	/* PUBREC is answered with PUBREL, PUBREL with PUBCOMP. */
	if (hdr->type == MQTT_PUBREC || hdr->type == MQTT_PUBREL) {
		answer = kmqtt_conn_alloc_control(conn->broker);
		if (!answer)
			return -ENOMEM;
	}
	if (hdr->type != MQTT_PUBREL) {
		kmqtt_delivery_ack(conn->session, hdr->type, packet_id, &answer);
		if (answer)
			kmqtt_conn_free_control(conn->broker, answer);
		return 0;
	}
	kmqtt_delivery_qos2_released(conn->session, packet_id);
	/* MQTT-4.3.3-2: PUBCOMP even for an id already released. */
	return kmqtt_conn_queue_ack(conn, answer, MQTT_PUBCOMP, packet_id);
}

static int kmqtt_conn_handle(struct kmqtt_conn *conn,
			     const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	switch (hdr->type) {
	case MQTT_PUBLISH:
		return kmqtt_conn_on_publish(conn, hdr, body);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
	case MQTT_PUBREL:
		return kmqtt_conn_on_ack(conn, hdr, body);
	case MQTT_SUBSCRIBE:
		return kmqtt_conn_on_sub(conn, hdr, body, true);
	case MQTT_UNSUBSCRIBE:
		return kmqtt_conn_on_sub(conn, hdr, body, false);
	case MQTT_PINGREQ:
		if (hdr->rem_len)
			return kmqtt_conn_violation(conn, "malformed PINGREQ");
		return kmqtt_conn_queue_pingresp(conn);
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

/*
 * What a receive buffer of @cap bytes counts against the memory limit: the
 * first KMQTT_RX_MIN are every connection's due (bounded by
 * max_connections), so a client sending PINGREQ is served even when
 * queued messages have taken all the memory.
 */
static u32 kmqtt_conn_rx_charge(u32 cap)
{
	return cap > KMQTT_RX_MIN ? cap - KMQTT_RX_MIN : 0;
}

static void kmqtt_conn_rx_free(struct kmqtt_conn *conn)
{
	kvfree(conn->rx_buf);
	kmqtt_broker_uncharge(conn->broker, kmqtt_conn_rx_charge(conn->rx_cap));
	conn->rx_buf = NULL;
	conn->rx_cap = 0;
}

/* Move the received bytes to a buffer of @cap bytes, memory limit allowing. */
static int kmqtt_conn_rx_resize(struct kmqtt_conn *conn, u32 cap)
{
	u32 charge = kmqtt_conn_rx_charge(cap);
	u8 *buf;

	if (charge && !kmqtt_broker_charge(conn->broker, charge))
		return -ENOMEM;
	buf = kvmalloc(cap, GFP_KERNEL | __GFP_NOWARN);
	if (!buf) {
		kmqtt_broker_uncharge(conn->broker, charge);
		return -ENOMEM;
	}
	if (conn->rx_len)
		memcpy(buf, conn->rx_buf, conn->rx_len);
	kmqtt_conn_rx_free(conn);
	conn->rx_buf = buf;
	conn->rx_cap = cap;
	return 0;
}

/*
 * Room to receive into.  A packet larger than the small buffer gets a
 * buffer that doubles as its bytes arrive, never ahead of them: announcing
 * a 256 MiB packet costs the sender 256 MiB of sending, not us of memory.
 */
static int kmqtt_conn_rx_reserve(struct kmqtt_conn *conn)
{
	if (!conn->rx_cap)
		return kmqtt_conn_rx_resize(conn, KMQTT_RX_MIN);
	if (conn->rx_len < conn->rx_cap)
		return 0;
	/*
	 * Full, so it holds the start of a packet longer than itself: a
	 * complete one is handled (or paused on) before reading more.
	 */
	if (WARN_ON_ONCE(conn->rx_need <= conn->rx_cap))
		return -EPROTO;
	return kmqtt_conn_rx_resize(conn, min(conn->rx_need, 2 * conn->rx_cap));
}

static bool kmqtt_conn_paused(const struct kmqtt_conn *conn)
{
	return test_bit(KMQTT_CONN_F_PAUSED, &conn->flags);
}

/*
 * Backpressure: stop reading @conn until the memory limit allows the
 * conn->refused bytes it refused, or, when memory itself was short
 * (@no_memory), for a while that doubles with each failure in a row.  Its
 * socket fills and TCP holds the publisher back; what it sent is not lost.
 * Returns false when the limit could never allow it: then waiting is
 * pointless, and the caller closes the connection.
 */
static bool kmqtt_conn_pause(struct kmqtt_conn *conn, bool no_memory)
{
	struct kmqtt_broker *broker = conn->broker;
	u64 limit = READ_ONCE(broker->limits.memory);
	unsigned long until = 0;

	if (!no_memory && limit && conn->refused > limit)
		return false;
	if (no_memory) {
		conn->retry_ms = clamp(2 * conn->retry_ms, KMQTT_RETRY_MIN_MS,
				       KMQTT_RETRY_MAX_MS);
		/* 0 means "until memory is freed" */
		until = (jiffies + msecs_to_jiffies(conn->retry_ms)) | 1;
	}
	spin_lock_bh(&broker->paused_lock);
	/* close_work takes it off the list, once it is closing. */
	if (!kmqtt_conn_closing(conn)) {
		conn->paused_need = no_memory ? 0 : conn->refused;
		conn->paused_until = until;
		set_bit(KMQTT_CONN_F_PAUSED, &conn->flags);
		list_add_tail(&conn->paused_node, &broker->paused);
	}
	spin_unlock_bh(&broker->paused_lock);
	/*
	 * Memory freed before it was listed resumed nobody: look again (and
	 * arm the timer of a retry).
	 */
	kmqtt_broker_resume_paused(broker);
	return true;
}

/*
 * Resume the paused connections whose message fits now, as
 * kmqtt_broker_charge() sees it, or whose retry is due: one that still
 * does not fit, because another took the room meanwhile, pauses again,
 * and is not resumed before the memory goes down again.  Runs again when
 * the next retry is due.
 */
void kmqtt_conn_resume_work(struct work_struct *work)
{
	struct kmqtt_broker *broker = container_of(to_delayed_work(work),
						   struct kmqtt_broker,
						   resume_work);
	u64 limit = READ_ONCE(broker->limits.memory);
	u64 used = percpu_counter_read_positive(&broker->memory);
	unsigned long now = jiffies, next = 0;
	struct kmqtt_conn *conn, *tmp;

	spin_lock_bh(&broker->paused_lock);
	list_for_each_entry_safe(conn, tmp, &broker->paused, paused_node) {
		if (conn->paused_until) {
			if (time_before(now, conn->paused_until)) {
				if (!next || time_before(conn->paused_until,
							 next))
					next = conn->paused_until;
				continue;
			}
		} else if (limit && used + conn->paused_need > limit) {
			continue;
		}
		list_del_init(&conn->paused_node);
		/* Its keepalive counts from now: the wait was the broker's. */
		WRITE_ONCE(conn->last_packet, jiffies);
		clear_bit(KMQTT_CONN_F_PAUSED, &conn->flags);
		queue_work(kmqtt_wq, &conn->rx_work);
	}
	spin_unlock_bh(&broker->paused_lock);
	if (next)
		queue_delayed_work(kmqtt_wq, &broker->resume_work, next - now);
}

/*
 * Handle every complete packet in the buffer and keep the remainder.
 * Returns -EAGAIN when it paused the connection, or -EINPROGRESS when a
 * packet takes more than this run: either way that packet stays at the
 * head of the buffer.
 */
static int kmqtt_conn_rx_packets(struct kmqtt_conn *conn)
{
	u32 max_packet = READ_ONCE(conn->broker->limits.max_packet_size);
	u32 off = 0, need = 0;
	int ret = 0;

	while (off < conn->rx_len && !kmqtt_conn_closing(conn)) {
		struct kmqtt_fixed_hdr hdr;
		u32 total;

		ret = kmqtt_codec_fixed_hdr(conn->rx_buf + off,
					    conn->rx_len - off, max_packet, &hdr);
		if (ret == -EMSGSIZE) {
			ret = kmqtt_conn_violation(conn, "packet over maximum size");
			break;
		}
		if (ret < 0) {
			ret = kmqtt_conn_violation(conn, "malformed fixed header");
			break;
		}
		if (ret == 0)
			break;
		ret = 0;
		total = hdr.hdr_len + hdr.rem_len;
		if (conn->rx_len - off < total) {
			need = total;
			break;
		}
		ret = kmqtt_conn_handle(conn, &hdr, conn->rx_buf + off +
					hdr.hdr_len);
		if (ret == -ENOSPC || ret == -ENOMEM) {
			if (!kmqtt_conn_pause(conn, ret == -ENOMEM)) {
				net_info_ratelimited("kmqtt: closing connection %llu: a packet needs more than the memory limit\n",
						     conn->id);
				ret = -E2BIG;
				break;
			}
			kmqtt_race_window(KMQTT_RACE_PAUSE);
			ret = -EAGAIN;
			break;
		}
		/* Not idle: the broker is busy with its packet. */
		if (ret == -EINPROGRESS)
			WRITE_ONCE(conn->last_packet, jiffies);
		if (ret)
			break;
		off += total;
		conn->retry_ms = 0;
		WRITE_ONCE(conn->last_packet, jiffies);
	}
	conn->rx_len -= off;
	memmove(conn->rx_buf, conn->rx_buf + off, conn->rx_len);
	conn->rx_need = need;
	return ret;
}

static int kmqtt_conn_recv(struct kmqtt_conn *conn)
{
	union {
		struct cmsghdr hdr;
		u8 space[CMSG_SPACE(sizeof(u8))];
	} ctrl;
	struct msghdr msg = {
		.msg_control = &ctrl,
		.msg_controllen = sizeof(ctrl),
	};
	struct kvec vec = {
		.iov_base = conn->rx_buf + conn->rx_len,
		.iov_len = conn->rx_cap - conn->rx_len,
	};
	int ret;

	ret = kernel_recvmsg(conn->sock, &msg, &vec, 1, vec.iov_len,
			     MSG_DONTWAIT);
	/*
	 * kTLS tells the record type of what it returned; an alert or a
	 * handshake message (KeyUpdate) is not ours to handle: close.
	 */
	if (ret > 0 && msg.msg_controllen != sizeof(ctrl) &&
	    ctrl.hdr.cmsg_level == SOL_TLS &&
	    ctrl.hdr.cmsg_type == TLS_GET_RECORD_TYPE &&
	    *(u8 *)CMSG_DATA(&ctrl.hdr) != KMQTT_TLS_RECORD_TYPE_DATA)
		return -EBADMSG;
	return ret;
}

/* Reset or failed: nothing more can be read (a FIN leaves the data). */
static bool kmqtt_conn_reset(const struct sock *sk)
{
	return READ_ONCE(sk->sk_err) || READ_ONCE(sk->sk_state) == TCP_CLOSE;
}

static void kmqtt_conn_rx_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       rx_work);
	int budget = KMQTT_RX_BUDGET;
	int ret;

	/* Pairs with attach's release: the connection is fully built. */
	if (!smp_load_acquire(&conn->ready))
		return;
	if (kmqtt_conn_paused(conn)) {
		/* Not read, but a reset ends it: what it sent is gone. */
		if (kmqtt_conn_reset(conn->sock->sk))
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
		return;
	}

	for (;;) {
		/*
		 * What the buffer holds first: ATTACH's PENDING, the rest
		 * after a pause, or what was just read.  Once paused, stop,
		 * even if resume_work has already cleared PAUSED: it queued
		 * this work again, which handles the packet that waits.
		 */
		ret = kmqtt_conn_rx_packets(conn);
		if (ret == -EAGAIN)
			return;
		if (ret == -EINPROGRESS) {
			queue_work(kmqtt_wq, work);
			return;
		}
		if (ret || kmqtt_conn_closing(conn))
			break;
		if (!budget--) {
			queue_work(kmqtt_wq, work);
			return;
		}
		ret = kmqtt_conn_rx_reserve(conn);
		if (ret)
			break;
		ret = kmqtt_conn_recv(conn);
		if (ret == -EAGAIN) {
			ret = 0;
			break;
		}
		if (ret <= 0) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
			return;
		}
		conn->rx_len += ret;
		kmqtt_counter_add(&conn->counters.bytes_in, ret);
	}
	if (ret) {
		kmqtt_conn_close(conn, ret == -ENOMEM || ret == -E2BIG ?
				 KMQTT_CLOSE_NOMEM : ret == -ENOBUFS ?
				 KMQTT_CLOSE_OVERFLOW : KMQTT_CLOSE_PROTOCOL);
		return;
	}
	/* Idle connections keep no receive buffer. */
	if (!conn->rx_len)
		kmqtt_conn_rx_free(conn);
}

static void kmqtt_conn_keepalive_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(to_delayed_work(work),
					       struct kmqtt_conn,
					       keepalive_work);
	/* MQTT-3.1.2-24: one and a half times the keepalive. */
	unsigned long deadline = READ_ONCE(conn->last_packet) +
				 msecs_to_jiffies(conn->keepalive * 1500U);

	if (kmqtt_conn_closing(conn))
		return;
	if (kmqtt_conn_paused(conn)) {
		/* Not read while paused: its packets wait in the socket. */
		deadline = jiffies + msecs_to_jiffies(conn->keepalive * 1500U);
	} else if (time_after_eq(jiffies, deadline)) {
		kmqtt_conn_close(conn, KMQTT_CLOSE_KEEPALIVE);
		return;
	}
	queue_delayed_work(kmqtt_wq, &conn->keepalive_work, deadline - jiffies);
}

/* Give the socket its own callbacks back; no callback sees @conn after. */
static void kmqtt_conn_release_socket(struct kmqtt_conn *conn)
{
	struct sock *sk = conn->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = conn->saved_data_ready;
	sk->sk_write_space = conn->saved_write_space;
	sk->sk_state_change = conn->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
}

void kmqtt_conn_get(struct kmqtt_conn *conn)
{
	refcount_inc(&conn->ref);
}

static void kmqtt_conn_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(kmqtt_conn_cache,
			container_of(rcu, struct kmqtt_conn, rcu));
}

static void kmqtt_conn_free(struct kmqtt_conn *conn)
{
	kmqtt_conn_tx_purge(conn);
	kmqtt_conn_rx_free(conn);
	kmqtt_fanout_free(conn->broker, &conn->fanout);
	kmqtt_conn_job_free(conn);
	kfree(conn->mount);
	if (conn->will)
		kmqtt_msg_put(conn->will);
	kmqtt_acl_free(conn->acl);
	if (conn->sock)
		sockfd_put(conn->sock);
	/* Dumps and fan-out may still be looking at it. */
	call_rcu(&conn->rcu, kmqtt_conn_free_rcu);
}

void kmqtt_conn_put(struct kmqtt_conn *conn)
{
	if (refcount_dec_and_test(&conn->ref))
		kmqtt_conn_free(conn);
}

int kmqtt_conn_wait_detached(struct kmqtt_conn *conn)
{
	long left = wait_for_completion_killable_timeout(&conn->detached,
							 KMQTT_TAKEOVER_TIMEOUT);

	if (left > 0)
		return 0;
	return left ? -EINTR : -ETIMEDOUT;
}

/*
 * Under the rules in force when it goes out, as Mosquitto checks them: a
 * reload may have taken the client's right to its will topic.
 */
static void kmqtt_conn_publish_will(struct kmqtt_conn *conn)
{
	struct kmqtt_broker *broker = conn->broker;
	struct kmqtt_msg *will = conn->will;
	bool allowed;

	rcu_read_lock();
	allowed = kmqtt_acl_allows(rcu_dereference(conn->session->acl),
				   kmqtt_msg_topic(will), will->topic_len,
				   KMQTT_ACL_WRITE);
	rcu_read_unlock();
	if (!allowed) {
		atomic64_inc(&broker->acl_denied);
		return;
	}
	if (kmqtt_publish_msg(broker, will, conn->will_retain, &conn->fanout)) {
		kmqtt_broker_dropped(broker, KMQTT_DROP_NO_MEMORY, 1);
		net_warn_ratelimited("kmqtt: will of connection %llu dropped: out of memory\n",
				     conn->id);
	}
}

/*
 * Give @conn its id and its place among the broker's connections, unless
 * max_connections are open: the slot is taken here, not only checked, so
 * attaches running side by side cannot pass the limit together.  Dumps
 * skip it until it is ready.
 */
static int kmqtt_conn_register(struct kmqtt_broker *broker,
			       struct kmqtt_conn *conn,
			       struct netlink_ext_ack *extack)
{
	u32 max = READ_ONCE(broker->limits.max_connections);
	int ret = 0;

	spin_lock(&broker->conns_lock);
	if (max && broker->conns_open >= max) {
		broker->conns_refused++;
		ret = -EUSERS;
	} else {
		/* In id order: dumps resume after the last id they sent. */
		conn->id = ++broker->next_conn_id;
		list_add_tail_rcu(&conn->node, &broker->conns);
		broker->conns_open++;
	}
	spin_unlock(&broker->conns_lock);
	if (ret)
		NL_SET_ERR_MSG(extack, "max_connections reached");
	return ret;
}

/* Leave the broker's connections, adding our counters to its totals. */
static void kmqtt_conn_unregister(struct kmqtt_conn *conn)
{
	struct kmqtt_broker *broker = conn->broker;

	spin_lock(&broker->conns_lock);
	list_del_rcu(&conn->node);
	broker->conns_open--;
	broker->closed.msgs_in += conn->counters.msgs_in;
	broker->closed.msgs_out += conn->counters.msgs_out;
	broker->closed.bytes_in += conn->counters.bytes_in;
	broker->closed.bytes_out += conn->counters.bytes_out;
	if (conn->close_reason == KMQTT_CLOSE_PROTOCOL)
		broker->protocol_errors++;
	spin_unlock(&broker->conns_lock);
}

static void kmqtt_conn_close_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       close_work);
	struct kmqtt_broker *broker = conn->broker;

	kmqtt_conn_release_socket(conn);

	spin_lock(&conn->tx_lock);
	conn->tx_dead = true;
	spin_unlock(&conn->tx_lock);

	/* resume_work queues rx_work only for connections on the list. */
	spin_lock_bh(&broker->paused_lock);
	list_del_init(&conn->paused_node);
	spin_unlock_bh(&broker->paused_lock);

	cancel_work_sync(&conn->rx_work);
	cancel_work_sync(&conn->tx_work);
	cancel_delayed_work_sync(&conn->keepalive_work);
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	/* Before the session goes: its deliveries may be in the queue. */
	kmqtt_conn_tx_purge(conn);

	kmqtt_netlink_conn_closed(conn);
	kmqtt_conn_unregister(conn);

	/* MQTT-3.1.2-8: the will goes out on any close but DISCONNECT. */
	if (conn->will && conn->close_reason != KMQTT_CLOSE_DISCONNECT &&
	    conn->close_reason != KMQTT_CLOSE_SHUTDOWN)
		kmqtt_conn_publish_will(conn);
	kmqtt_race_window(KMQTT_RACE_CLOSE);
	kmqtt_session_detach(conn->session, conn);
	complete_all(&conn->detached);
	kmqtt_conn_put(conn);
}

/* Takes over @sock and params->acl, even when it fails. */
static struct kmqtt_conn *kmqtt_conn_create(struct kmqtt_broker *broker,
					    const struct kmqtt_conn_params *params,
					    struct socket *sock)
{
	struct kmqtt_conn *conn;

	conn = kmem_cache_zalloc(kmqtt_conn_cache, GFP_KERNEL);
	if (!conn) {
		sockfd_put(sock);
		kmqtt_acl_free(params->acl);
		return NULL;
	}
	conn->sock = sock;
	conn->acl = params->acl;
	refcount_set(&conn->ref, 1);
	conn->close_reason = KMQTT_CONN_OPEN;
	init_completion(&conn->detached);
	conn->broker = broker;
	conn->proto_level = params->proto_level;
	conn->keepalive = params->keepalive;
	conn->clean_session = params->clean_session;
	INIT_WORK(&conn->rx_work, kmqtt_conn_rx_work);
	INIT_WORK(&conn->tx_work, kmqtt_conn_tx_work);
	INIT_WORK(&conn->close_work, kmqtt_conn_close_work);
	INIT_DELAYED_WORK(&conn->keepalive_work, kmqtt_conn_keepalive_work);
	INIT_LIST_HEAD(&conn->paused_node);
	spin_lock_init(&conn->tx_lock);
	INIT_LIST_HEAD(&conn->tx_queue);
	INIT_LIST_HEAD(&conn->tx_sending);

	if (params->mount_point) {
		conn->mount = kmemdup(params->mount_point,
				      params->mount_point_len, GFP_KERNEL);
		if (!conn->mount)
			goto err;
		conn->mount_len = params->mount_point_len;
	}
	if (params->will_topic) {
		conn->will = kmqtt_msg_create(broker, NULL, 0, params->will_topic,
					      params->will_topic_len,
					      params->will_payload,
					      params->will_payload_len,
					      params->will_qos, GFP_KERNEL);
		if (IS_ERR(conn->will)) {
			conn->will = NULL;
			goto err;
		}
		conn->will_retain = params->will_retain;
	}
	if (params->pending_len) {
		if (kmqtt_conn_rx_resize(conn, max_t(u32, params->pending_len,
						     KMQTT_RX_MIN)))
			goto err;
		memcpy(conn->rx_buf, params->pending, params->pending_len);
		conn->rx_len = params->pending_len;
	}
	return conn;
err:
	kmqtt_conn_put(conn);
	return NULL;
}

int kmqtt_conn_queue_connack(struct kmqtt_conn *conn, bool session_present)
{
	struct kmqtt_txent *ent = kmqtt_conn_alloc_control(conn->broker);

	if (!ent)
		return -ENOMEM;
	/* MQTT 3.1 has no session-present flag: its first byte is reserved. */
	ent->hdr_len = kmqtt_codec_put_connack(ent->hdr, session_present &&
					       conn->proto_level >=
					       MQTT_PROTO_V311,
					       MQTT_CONNACK_ACCEPTED);
	return kmqtt_conn_queue_control(conn, ent);
}

static int kmqtt_conn_check_socket(struct kmqtt_broker *broker,
				   struct socket *sock,
				   struct netlink_ext_ack *extack)
{
	struct sock *sk = sock->sk;

	if (!sk || (sk->sk_family != AF_INET && sk->sk_family != AF_INET6) ||
	    sk->sk_type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP) {
		NL_SET_ERR_MSG(extack, "not a TCP socket");
		return -EPROTONOSUPPORT;
	}
	if (!net_eq(sock_net(sk), broker->net)) {
		NL_SET_ERR_MSG(extack, "socket is in another network namespace");
		return -EXDEV;
	}
	/* CLOSE_WAIT: the client may have sent all and shut down already. */
	if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT) {
		NL_SET_ERR_MSG(extack, "socket is not connected");
		return -ENOTCONN;
	}
	return 0;
}

static bool kmqtt_conn_is_ktls(struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	bool ktls;

	lock_sock(sk);
	ktls = icsk->icsk_ulp_ops && !strcmp(icsk->icsk_ulp_ops->name, "tls");
	release_sock(sk);
	return ktls;
}

/* Install our callbacks unless another kernel user owns the socket. */
static int kmqtt_conn_take_socket(struct kmqtt_conn *conn,
				  struct netlink_ext_ack *extack)
{
	struct sock *sk = conn->sock->sk;
	int ret = 0;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data) {
		NL_SET_ERR_MSG(extack, "socket is already in use by the kernel");
		ret = -EBUSY;
	} else {
		conn->saved_data_ready = sk->sk_data_ready;
		conn->saved_write_space = sk->sk_write_space;
		conn->saved_state_change = sk->sk_state_change;
		sk->sk_user_data = conn;
		sk->sk_data_ready = kmqtt_conn_data_ready;
		sk->sk_write_space = kmqtt_conn_write_space;
		sk->sk_state_change = kmqtt_conn_state_change;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	return ret;
}

/*
 * Attach runs in the agent's task, side by side with other attaches, and
 * takes over params->acl whatever happens.  The receive and transmit work
 * stay idle until the connection is ready, and close_work is not queued
 * before it is ATTACHED, so nothing frees it half-built; CONNACK is queued
 * before the session is bound, so it precedes every message the session
 * sends.
 */
int kmqtt_conn_attach(struct kmqtt_broker *broker,
		      const struct kmqtt_conn_params *params, u64 *conn_id,
		      bool *session_present, struct netlink_ext_ack *extack)
{
	struct kmqtt_session *session;
	struct kmqtt_conn *conn;
	struct socket *sock;
	int ret;

	sock = sockfd_lookup(params->fd, &ret);
	if (!sock) {
		NL_SET_ERR_MSG(extack, "fd is not a socket");
		kmqtt_acl_free(params->acl);
		return ret;
	}
	ret = kmqtt_conn_check_socket(broker, sock, extack);
	if (ret) {
		sockfd_put(sock);
		kmqtt_acl_free(params->acl);
		return ret;
	}
	conn = kmqtt_conn_create(broker, params, sock);
	if (!conn)
		return -ENOMEM;
	ret = kernel_getpeername(sock, (struct sockaddr *)&conn->peer);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "socket is not connected");
		goto put_conn;
	}
	conn->peer_len = ret;
	conn->ktls = kmqtt_conn_is_ktls(sock->sk);
	ret = kmqtt_conn_register(broker, conn, extack);
	if (ret)
		goto put_conn;
	ret = kmqtt_conn_take_socket(conn, extack);
	if (ret)
		goto unregister;

	session = kmqtt_session_attach(broker, conn, params, session_present,
				       extack);
	if (IS_ERR(session)) {
		ret = PTR_ERR(session);
		kmqtt_conn_release_socket(conn);
		cancel_work_sync(&conn->rx_work);
		spin_lock(&conn->tx_lock);
		conn->tx_dead = true;
		spin_unlock(&conn->tx_lock);
		cancel_work_sync(&conn->tx_work);
		goto unregister;
	}
	conn->session = session;
	conn->last_packet = jiffies;
	*conn_id = conn->id;

	spin_lock(&broker->conns_lock);
	broker->conns_total++;
	spin_unlock(&broker->conns_lock);

	/* Everything above is visible to work that sees @ready. */
	smp_store_release(&conn->ready, true);
	if (conn->keepalive)
		queue_delayed_work(kmqtt_wq, &conn->keepalive_work,
				   msecs_to_jiffies(conn->keepalive * 1500U));
	/* Bytes may have arrived before our data_ready was set. */
	queue_work(kmqtt_wq, &conn->rx_work);
	queue_work(kmqtt_wq, &conn->tx_work);

	/*
	 * From here on close_work may run and free @conn.  A close before
	 * this point (the work items above, a takeover, a failed send) did
	 * not queue it; one after does.  Both sides write, then read the
	 * other's mark, with a full barrier between: at least one of them
	 * sees the other, and CLOSE_QUEUED keeps it to one work item.
	 */
	kmqtt_race_window(KMQTT_RACE_ATTACH);
	/* Once ATTACHED, close_work may free it under our feet. */
	kmqtt_conn_get(conn);
	set_bit(KMQTT_CONN_F_ATTACHED, &conn->flags);
	/* Pairs with the cmpxchg() of kmqtt_conn_close(). */
	smp_mb__after_atomic();
	if (kmqtt_conn_closing(conn))
		kmqtt_conn_queue_close(conn);
	kmqtt_conn_put(conn);
	return 0;

unregister:
	kmqtt_conn_unregister(conn);
put_conn:
	/* The socket reference goes with the connection. */
	kmqtt_conn_put(conn);
	return ret;
}

void kmqtt_conn_close_all(struct kmqtt_broker *broker)
{
	struct kmqtt_conn *conn;

	spin_lock(&broker->conns_lock);
	list_for_each_entry(conn, &broker->conns, node)
		kmqtt_conn_close(conn, KMQTT_CLOSE_SHUTDOWN);
	spin_unlock(&broker->conns_lock);
	/* Every close_work was queued above; wait for them. */
	flush_workqueue(kmqtt_wq);
	WARN_ON(!list_empty(&broker->conns));
}

int kmqtt_conn_init(void)
{
	kmqtt_txent_cache = KMEM_CACHE(kmqtt_txent, 0);
	kmqtt_conn_cache = KMEM_CACHE(kmqtt_conn, 0);
	kmqtt_wq = alloc_workqueue("kmqtt", 0, 0);
	if (!kmqtt_txent_cache || !kmqtt_conn_cache || !kmqtt_wq) {
		kmqtt_conn_exit();
		return -ENOMEM;
	}
	return 0;
}

void kmqtt_conn_exit(void)
{
	if (kmqtt_wq)
		destroy_workqueue(kmqtt_wq);
	/* RCU callbacks may not outlive the module or its caches. */
	rcu_barrier();
	kmem_cache_destroy(kmqtt_conn_cache);
	kmem_cache_destroy(kmqtt_txent_cache);
}
