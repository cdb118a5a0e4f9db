/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client connection: a TCP (or kTLS) socket taken over from the agent,
 * its receive and transmit work and its keepalive timer.
 */
#ifndef _KMQTT_CONN_H
#define _KMQTT_CONN_H

#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/socket.h>
#include <linux/workqueue.h>
#include <linux/kmqtt.h>

#include "broker.h"
#include "topic.h"

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
};

struct kmqtt_conn {
	struct kmqtt_broker *broker;
	struct kmqtt_session *session;
	struct socket *sock;		/* holds a reference on sock->file */
	struct list_head node;		/* in broker->conns */
	u64 id;
	struct sockaddr_storage peer;
	int peer_len;
	u8 proto_level;
	u16 keepalive;
	bool clean_session;

	unsigned long flags;		/* KMQTT_CONN_F_* */
	enum kmqtt_close_reason close_reason;

	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);

	/* Receive side, touched by rx_work only. */
	struct work_struct rx_work;
	u8 *rx_buf;
	u32 rx_cap;
	u32 rx_len;
	unsigned long last_packet;	/* jiffies, for keepalive */
	struct kmqtt_match_set matches;
	struct delayed_work keepalive_work;

	/* Transmit side. */
	spinlock_t tx_lock;
	struct list_head tx_queue;	/* under tx_lock */
	u32 tx_publishes;		/* PUBLISH entries queued, under tx_lock */
	u32 tx_publish_bytes;		/* their bytes, under tx_lock */
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

int kmqtt_conn_attach(struct kmqtt_broker *broker,
		      const struct kmqtt_conn_params *params, u64 *conn_id,
		      struct netlink_ext_ack *extack);

/* Start closing; idempotent, any context.  The work happens in a work item. */
void kmqtt_conn_close(struct kmqtt_conn *conn, enum kmqtt_close_reason reason);

/*
 * Queue a PUBLISH for sending.  Caller holds rcu_read_lock() or otherwise
 * keeps @conn alive; never sleeps.  Returns false if it was dropped.
 */
bool kmqtt_conn_queue_publish(struct kmqtt_conn *conn, struct kmqtt_msg *msg);

/* Close every connection of @broker and wait until they are gone. */
void kmqtt_conn_close_all(struct kmqtt_broker *broker);

int kmqtt_conn_init(void);
void kmqtt_conn_exit(void);

#endif /* _KMQTT_CONN_H */
