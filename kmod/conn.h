/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client connection: a TCP (or kTLS) socket taken over from the agent,
 * its receive and transmit work and its keepalive timer.
 */
#ifndef _KMQTT_CONN_H
#define _KMQTT_CONN_H

#include <linux/completion.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/refcount.h>
#include <linux/socket.h>
#include <linux/workqueue.h>
#include <linux/kmqtt.h>
#include <kmqtt/mqtt.h>

#include "broker.h"
#include "publish.h"

struct kmqtt_acl;
struct kmqtt_conn_job;
struct kmqtt_msg;
struct kmqtt_session;

/* What the agent learnt from CONNECT, handed over with the socket. */
struct kmqtt_conn_params {
	int fd;
	const u8 *client_id;
	u16 client_id_len;
	u8 proto_level;
	u16 keepalive;
	bool clean_session;
	const u8 *username;		/* NULL: anonymous */
	u16 username_len;
	/* Will message (MQTT 3.1.2.5); no will when will_topic is NULL. */
	const u8 *will_topic;
	u16 will_topic_len;
	const u8 *will_payload;
	u16 will_payload_len;
	u8 will_qos;
	bool will_retain;
	/* Bytes after CONNECT the agent already read from the socket. */
	const u8 *pending;
	u32 pending_len;
	/* Access rules, owned by the connection from attach on; NULL: all. */
	struct kmqtt_acl *acl;
	/* The listener's mount point (a topic prefix); NULL: none. */
	const u8 *mount_point;
	u16 mount_point_len;
};

/* Work items of every connection and session run here. */
extern struct workqueue_struct *kmqtt_wq;

/*
 * One packet in a connection's send queue.  A PUBLISH is its fixed header
 * here, then the shared topic from @msg, its packet id (QoS 1/2) and the
 * shared payload.  Other packets are all in @hdr, or their header here
 * and @body (SUBACK codes).  A PUBLISH, and the PUBREL resent for a QoS 2
 * message, live in the message's delivery (delivery.c), whose reference
 * the queue holds; other packets are allocated on their own.
 */
struct kmqtt_txent {
	struct list_head node;
	struct kmqtt_msg *msg;		/* PUBLISH only */
	u8 *body;			/* owned */
	u32 body_len;
	u8 hdr[MQTT_MAX_FIXED_HEADER + 2];
	u8 hdr_len;
	u16 data_off;			/* bytes of msg->data not sent */
	u8 packet_id[2];
	bool has_packet_id;
	bool counted;			/* QoS 0 PUBLISH, against the limits */
	bool in_delivery;		/* else allocated on its own */
};

struct kmqtt_conn {
	refcount_t ref;
	struct completion detached;	/* from its session, at close */
	struct kmqtt_broker *broker;
	struct kmqtt_session *session;
	struct socket *sock;		/* holds a reference on sock->file */
	struct list_head node;		/* in broker->conns */
	u64 id;
	union {				/* attach takes TCP over IPv4/6 only */
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} peer;
	int peer_len;
	u8 proto_level;
	u16 keepalive;
	bool clean_session;
	bool ktls;			/* the socket had the "tls" ULP at attach */
	/*
	 * Mount point: the client's topics and filters are taken with it in
	 * front, the topics it is sent without it (NULL, 0: none).
	 */
	u8 *mount;
	u16 mount_len;

	bool ready;			/* attach done: work may run */
	unsigned long flags;		/* KMQTT_CONN_F_* */
	/* enum kmqtt_close_reason once closing, set once; -1 before */
	int close_reason;
	struct kmqtt_msg *will;
	bool will_retain;
	struct kmqtt_acl *acl;		/* until attach hands it to the session */

	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);

	/* Receive side, touched by rx_work only. */
	struct work_struct rx_work;
	u8 *rx_buf;
	u32 rx_cap;
	u32 rx_len;
	u32 rx_need;			/* bytes of the packet at the head */
	unsigned long last_packet;	/* jiffies, for keepalive */
	struct kmqtt_fanout fanout;	/* its PUBLISHes' and will's */
	struct kmqtt_conn_job *job;	/* a (UN)SUBSCRIBE half handled */
	struct delayed_work keepalive_work;
	struct list_head paused_node;	/* in broker->paused, paused_lock */
	size_t paused_need;		/* bytes to fit, under paused_lock */
	size_t refused;			/* rx_work: what the limit refused */
	unsigned long paused_until;	/* retry time, 0: memory; paused_lock */
	u32 retry_ms;			/* rx_work: its last retry's wait */

	/* Transmit side. */
	spinlock_t tx_lock;
	struct list_head tx_queue;	/* under tx_lock */
	u32 tx_publishes;		/* QoS 0 PUBLISH queued, under tx_lock */
	u64 tx_publish_bytes;		/* their bytes, under tx_lock */
	u32 tx_controls;		/* other entries queued, under tx_lock */
	bool tx_dead;			/* under tx_lock: queue no more */
	struct work_struct tx_work;
	struct list_head tx_sending;	/* tx_work only */
	u32 tx_offset;			/* tx_work only: sent bytes of the head */

	/*
	 * Single writer each: msgs_in/bytes_in rx_work, bytes_out tx_work,
	 * msgs_out/msgs_dropped under tx_lock.  Read locklessly by dumps.
	 */
	struct kmqtt_counters counters;

	struct work_struct close_work;
	struct rcu_head rcu;
};

/* Takes the connection over; consumes params->acl even on failure. */
int kmqtt_conn_attach(struct kmqtt_broker *broker,
		      const struct kmqtt_conn_params *params, u64 *conn_id,
		      bool *session_present, struct netlink_ext_ack *extack);

void kmqtt_conn_get(struct kmqtt_conn *conn);
void kmqtt_conn_put(struct kmqtt_conn *conn);

/*
 * Sleep until a closing connection has let go of its session: 0, or
 * -ETIMEDOUT after a while, or -EINTR when the caller is killed.
 */
int kmqtt_conn_wait_detached(struct kmqtt_conn *conn);

/* Start closing; idempotent, any context.  The work happens in a work item. */
void kmqtt_conn_close(struct kmqtt_conn *conn, enum kmqtt_close_reason reason);

/*
 * May @msg be sent to @conn's client: is its topic under the client's
 * mount point (longer than it, as the client sees topics without it)?
 */
bool kmqtt_conn_takes(const struct kmqtt_conn *conn,
		      const struct kmqtt_msg *msg);

/*
 * Queue the PUBLISH @ent of a delivery (ent->msg set) for sending, with
 * these header fields.  On success the queue has taken the caller's
 * reference on the delivery.  QoS 0 is subject to the queue limits and
 * counted as dropped beyond them, or when @conn is closing; QoS 1/2 are
 * bounded by the session's inflight window instead.  Never sleeps; caller
 * keeps @conn alive (RCU or a lock).  Returns false if not queued.
 */
bool kmqtt_conn_queue_publish(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
			      u8 qos, u16 packet_id, bool dup, bool retain);

/*
 * A packet of its own (an ack, PINGRESP...), allocated ahead of the lock
 * or the state change it answers, so that queueing it cannot fail for
 * want of memory.  Counted against the memory limit, never refused by it.
 */
struct kmqtt_txent *kmqtt_conn_alloc_control(struct kmqtt_broker *broker);
void kmqtt_conn_free_control(struct kmqtt_broker *broker,
			     struct kmqtt_txent *ent);

/* Queue CONNACK (accepted); attach does this before binding the session. */
int kmqtt_conn_queue_connack(struct kmqtt_conn *conn, bool session_present);

/*
 * Queue a PUBACK, PUBREC, PUBREL, PUBCOMP or UNSUBACK in @ent (from
 * kmqtt_conn_alloc_control(), or a delivery's with a reference for the
 * queue), which is consumed: queued, or released when @conn is closing or
 * does not read its acks (-ENOBUFS: the caller closes it).  Never sleeps.
 */
int kmqtt_conn_queue_ack(struct kmqtt_conn *conn, struct kmqtt_txent *ent,
			 u8 type, u16 packet_id);

/* Close every connection of @broker and wait until they are gone. */
void kmqtt_conn_close_all(struct kmqtt_broker *broker);
/* broker->resume_work: receive again from the paused connections. */
void kmqtt_conn_resume_work(struct work_struct *work);

int kmqtt_conn_init(void);
void kmqtt_conn_exit(void);

#endif /* _KMQTT_CONN_H */
