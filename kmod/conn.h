/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client connection's life: created and attached with the socket the
 * agent hands over, kept alive by its keepalive, closed once.  Its data
 * path is in socket.c, receive.c, packet.c and send.c.
 */
#ifndef _KMQTT_CONN_H
#define _KMQTT_CONN_H

#include <linux/bitops.h>
#include <linux/completion.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/kmqtt.h>
#include <kmqtt/mqtt.h>

#include "broker.h"
#include "property.h"
#include "publish.h"
#include "websocket.h"

struct kmqtt_acl;
struct kmqtt_alias;
struct kmqtt_msg;
struct kmqtt_session;
struct kmqtt_subscribe_job;

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
	u32 will_delay;			/* 5.0, seconds */
	/* Bytes after CONNECT the agent already read from the socket. */
	const u8 *pending;
	u32 pending_len;
	/* Access rules, owned by the connection from attach on; NULL: all. */
	struct kmqtt_acl *acl;
	/* The listener's mount point (a topic prefix); NULL: none. */
	const u8 *mount_point;
	u16 mount_point_len;
	/* MQTT 5.0; a 3.1.x client gets what its version implies. */
	u32 session_expiry;		/* seconds, MQTT_SESSION_EXPIRY_NEVER */
	u16 receive_max;
	u32 max_packet_out;		/* 0: no limit */
	u16 topic_alias_max;
	const u8 *connack_props;
	u32 connack_props_len;
	struct kmqtt_props will_props;	/* start NULL: none */
	const u8 *auth_method;		/* NULL: no enhanced authentication */
	u16 auth_method_len;
	/* A bridge link's lines, owned like @acl; NULL: a client. */
	struct kmqtt_bridge *bridge;
	bool peer_bridge;		/* the client is another's bridge */
	/* MQTT over WebSocket, from where the agent's reading left off. */
	bool websocket;
	struct kmqtt_ws_params ws;
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
	 * MQTT 5.0: what the client takes (receive maximum, maximum packet
	 * size, 0: no limit), and the session expiry interval its session
	 * gets when it closes (a DISCONNECT may change it; rx_work only).
	 */
	u16 receive_max;
	u32 max_packet_out;
	u32 session_expiry;
	/*
	 * QoS 2 messages it may have waiting for PUBREL: max_inflight when
	 * CONNACK announced it as Receive Maximum (5.0), else no bound.
	 */
	u32 receive_max_in;
	bool connack_sent;		/* all of CONNACK went out (tx_work) */
	u8 violation;			/* rx_work: 5.0 reason of a violation */
	/* 5.0 topic aliases the client set (alias.c), rx_work only. */
	u16 topic_alias_max;
	struct kmqtt_alias **aliases;
	/*
	 * 5.0 re-authentication (auth.c): the method of CONNECT (NULL: an
	 * AUTH is a protocol error) and whose turn it is, enum
	 * kmqtt_auth_turn, changed by cmpxchg().
	 */
	u8 *auth_method;
	u16 auth_method_len;
	int auth_turn;
	u8 auth_failed;			/* the reason, by whoever had the turn */
	/* The agent's turn ends by then (jiffies), or the exchange fails. */
	unsigned long auth_deadline;
	struct delayed_work auth_work;
	/*
	 * Mount point: the client's topics and filters are taken with it in
	 * front, the topics it is sent without it (NULL, 0: none).
	 */
	u8 *mount;
	u16 mount_len;
	/*
	 * A bridge link (bridge.h), on which the module is the client; NULL:
	 * a client's connection.  Freed like @mount.
	 */
	struct kmqtt_bridge *bridge;
	/* A client that is another broker's bridge: no local on its filters. */
	bool peer_bridge;
	/* MQTT over WebSocket (websocket.h); NULL: over TCP.  Freed like @mount. */
	struct kmqtt_ws *ws;

	bool ready;			/* attach done: work may run */
	unsigned long flags;		/* KMQTT_CONN_F_* */
	/* enum kmqtt_close_reason once closing, set once; -1 before */
	int close_reason;
	struct kmqtt_msg *will;
	bool will_retain;
	u32 will_delay;			/* 5.0: seconds, 0 at once */
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
	u32 rx_raw;			/* ATTACH's PENDING, not yet unframed */
	bool rx_head_traced;		/* kmqtt_packet_in fired for it */
	bool rx_busy;			/* last run read KMQTT_RX_FIRST+ at once */
	unsigned long last_packet;	/* jiffies, for keepalive */
	struct kmqtt_fanout fanout;	/* its PUBLISHes' and will's */
	struct kmqtt_subscribe_job *job; /* a (UN)SUBSCRIBE half handled */
	struct delayed_work keepalive_work;
	struct list_head paused_node;	/* in broker->paused, paused_lock */
	size_t paused_need;		/* bytes to fit, under paused_lock */
	size_t refused;			/* rx_work: what the limit refused */
	unsigned long paused_until;	/* retry time, 0: memory; paused_lock */
	u32 retry_ms;			/* rx_work: its last retry's wait */
	/*
	 * Acks held until saved (ack_hold.c), in the order of their
	 * PUBLISH, all under broker->ack_lock (n_acks_held is also read by
	 * rx_work without it): whether rx_work waits for some to go out
	 * (F_PAUSED set), and whether the connection is closing.
	 */
	struct list_head acks_held;
	u32 n_acks_held;
	struct list_head ack_node;	/* in broker->ack_conns */
	bool ack_waiting;
	bool ack_stopped;

	/* Transmit side. */
	spinlock_t tx_lock;
	struct list_head tx_queue;	/* under tx_lock */
	/*
	 * Written under tx_lock; tx_publishes, tx_publish_bytes and tx_dead
	 * are read without it too, as hints.
	 */
	u32 tx_publishes;		/* QoS 0 PUBLISH queued */
	u64 tx_publish_bytes;		/* their bytes */
	u32 tx_controls;		/* other entries queued */
	bool tx_dead;			/* queue no more */
	/* Under tx_lock: tx_queue's last entry, a chunk open to more. */
	struct kmqtt_txent *tx_chunk;
	/* Its room, written under tx_lock, read without as a hint. */
	u32 tx_chunk_room;
	struct work_struct tx_work;
	struct list_head tx_sending;	/* tx_work only */
	u32 tx_offset;			/* tx_work only: sent bytes of the head */

	/*
	 * Single writer each: rx_work msgs_in, bytes_in, rx_runs, rx_reads,
	 * rx_reused and rx_match_kept; tx_work bytes_out, tx_runs,
	 * tx_writes and tx_zerocopy; msgs_out, msgs_dropped and tx_copied
	 * under tx_lock.
	 * Read locklessly by dumps.
	 */
	struct kmqtt_counters counters;

	struct work_struct close_work;
	struct rcu_head rcu;
};

enum {
	KMQTT_CONN_F_ATTACHED,		/* attach is done: close_work may run */
	KMQTT_CONN_F_CLOSE_QUEUED,	/* close_work queued, once for all */
	/* not read: in broker->paused, or waiting for acks (ack_hold.c) */
	KMQTT_CONN_F_PAUSED,
};

/* conn->close_reason until kmqtt_conn_close() */
#define KMQTT_CONN_OPEN		(-1)

static inline bool kmqtt_conn_closing(const struct kmqtt_conn *conn)
{
	return READ_ONCE(conn->close_reason) != KMQTT_CONN_OPEN;
}

static inline bool kmqtt_conn_v5(const struct kmqtt_conn *conn)
{
	return conn->proto_level == MQTT_PROTO_V5;
}

static inline bool kmqtt_conn_paused(const struct kmqtt_conn *conn)
{
	return test_bit(KMQTT_CONN_F_PAUSED, &conn->flags);
}

/* Takes the connection over; consumes params->acl even on failure. */
int kmqtt_conn_attach(struct kmqtt_broker *broker,
		      const struct kmqtt_conn_params *params, u64 *conn_id,
		      bool *session_present, struct netlink_ext_ack *extack);

void kmqtt_conn_get(struct kmqtt_conn *conn);
void kmqtt_conn_put(struct kmqtt_conn *conn);

/* Start closing; idempotent, any context.  The work happens in a work item. */
void kmqtt_conn_close(struct kmqtt_conn *conn, enum kmqtt_close_reason reason);

/*
 * Log that the client broke the protocol (rate-limited) and return
 * -EPROTO, which closes the connection with KMQTT_CLOSE_PROTOCOL; a 5.0
 * client is told @reason in a DISCONNECT first.
 */
int kmqtt_conn_violation(struct kmqtt_conn *conn, u8 reason, const char *what);

/* The 5.0 reason for a parser's error: malformed, or a protocol error. */
static inline u8 kmqtt_conn_parse_reason(int err)
{
	return err == -EINVAL ? MQTT_RC_PROTOCOL_ERROR :
				MQTT_RC_MALFORMED_PACKET;
}

/* Close every connection of @broker and wait until they are gone. */
void kmqtt_conn_close_all(struct kmqtt_broker *broker);

int kmqtt_conn_init(void);
void kmqtt_conn_exit(void);

#endif /* _KMQTT_CONN_H */
