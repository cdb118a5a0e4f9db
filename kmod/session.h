/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sessions (MQTT 3.1.2.4): a client id's subscriptions and message flows,
 * kept across connections when the client asked for a persistent session.
 * The subscription tree points at sessions; a session points at its live
 * connection, if any.
 */
#ifndef _KMQTT_SESSION_H
#define _KMQTT_SESSION_H

#include <asm/barrier.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct kmqtt_acl;
struct kmqtt_broker;
struct kmqtt_conn;
struct kmqtt_conn_params;
struct kmqtt_delivery_record;
struct kmqtt_msg;
struct netlink_ext_ack;

/* One filter of a session, as the client subscribed it. */
struct kmqtt_subscription {
	struct list_head node;		/* session->subscriptions */
	struct rhash_head index;	/* broker->subscription_index */
	struct kmqtt_session *session;
	u32 sub_id;			/* 5.0 Subscription Identifier, 0: none */
	u8 options;			/* MQTT_SUBOPT_* */
	u16 len;
	u8 filter[];
};

struct kmqtt_session {
	struct kmqtt_broker *broker;
	struct rhash_head hash_node;	/* broker->session_index */
	struct list_head node;		/* broker->sessions */
	u64 id;
	bool clean;			/* ends with its connection */
	bool bridge;			/* its last link's, or SET_SESSION's */
	bool unlinked;			/* out of the index, sessions_lock */
	/*
	 * Seconds kept offline, under the operator's limit: the client's 5.0
	 * session expiry interval, MQTT_SESSION_EXPIRY_NEVER for 3.1.1
	 * (sessions_lock).
	 */
	u32 expiry;
	struct delayed_work expiry_work;
	/* A 5.0 will waiting for its delay (will.c), sessions_lock. */
	struct kmqtt_msg *will;
	bool will_retain;
	unsigned long will_at;		/* jiffies its delay ends */
	/* Restored, it waits for the session's rules (will.c). */
	bool will_held;
	struct delayed_work will_work;
	unsigned long offline_since;	/* jiffies, under sessions_lock */

	/*
	 * Written under broker->sessions_lock and @lock; read under either,
	 * or under RCU by fan-out.
	 */
	struct kmqtt_conn __rcu *conn;
	/* Access rules; NULL allows all.  Replaced under sessions_lock. */
	struct kmqtt_acl __rcu *acl;
	u32 acl_gen;			/* counts the replacements of @acl */
	/* Whom the agent authenticated; NULL: anonymous.  sessions_lock. */
	u8 *username;
	u16 username_len;

	/* Outbound message flow (delivery.c). */
	spinlock_t lock;
	bool dead;			/* removed: deliver nothing more */
	struct list_head queue;		/* waiting for the window or a conn */
	struct list_head inflight;	/* QoS 1/2 sent, not acknowledged */
	u32 n_queued;
	u64 queued_bytes;
	u32 n_inflight;
	/*
	 * Of them, how many a reconnect has yet to resend (delivery->resend):
	 * all at bind, the rest as the new window makes room.  Read without
	 * the lock by deliveries of QoS 0, which wait behind them.
	 */
	u32 n_resend;
	u16 last_packet_id;
	u64 msgs_dropped;

	/*
	 * Inbound QoS 2 packet ids received and not yet released, one bit
	 * each (MQTT 4.3.3 method B).  Only the attached connection's receive
	 * work touches it.
	 */
	unsigned long *qos2_received;
	u32 qos2_pending;		/* bits set in it */
	/*
	 * Of them, those a snapshot restored and no PUBLISH or PUBREL has
	 * come for since: the snapshot may be older than their flow's end.
	 */
	unsigned long *qos2_restored;

	struct list_head subscriptions;	/* under broker->topics_lock */
	u32 n_subscriptions;		/* under broker->topics_lock */

	struct rcu_head rcu;
	u16 client_id_len;
	u8 *client_id;			/* its own allocation: sizes vary */
};

/*
 * Bind @conn to the session of @params->client_id: resume a stored one
 * (unless clean_session, MQTT-3.1.2-6) or create one.  Sets *@present
 * when a stored session was resumed (MQTT-3.2.2-2), queues CONNACK, and
 * resumes the session's message flow on @conn.  Returns the session or an
 * ERR_PTR: -EBUSY when another connection holds the session, in *@holder
 * with a reference for the caller, which closes it and tries again once
 * it has let go (MQTT-3.1.4-2).
 */
struct kmqtt_session *kmqtt_session_attach(struct kmqtt_broker *broker,
					   struct kmqtt_conn *conn,
					   const struct kmqtt_conn_params *params,
					   bool *present,
					   struct kmqtt_conn **holder);

/* The session of @client_id, or NULL.  Caller holds sessions_lock. */
struct kmqtt_session *kmqtt_session_find(struct kmqtt_broker *broker,
					 const u8 *client_id, u16 len);

/*
 * The one check of a session's access rules: may its client publish on
 * topic @name (KMQTT_ACL_WRITE), receive a message on it (KMQTT_ACL_READ),
 * or subscribe to filter @name (KMQTT_ACL_SUBSCRIBE)?  Any context.
 */
bool kmqtt_session_allows(struct kmqtt_session *session, const u8 *name,
			  u16 len, u8 access);

/*
 * The generation of the session's rules: whoever sees a generation reads
 * rules at least that new, so a delivery stamped with it is never sent
 * under rules that were replaced before.
 */
static inline u32 kmqtt_session_acl_gen(const struct kmqtt_session *session)
{
	/* Pairs with the release in kmqtt_session_acl_replaced(). */
	return smp_load_acquire(&session->acl_gen);
}

/* After session->acl was replaced (under sessions_lock). */
static inline void kmqtt_session_acl_replaced(struct kmqtt_session *session)
{
	/* The new rules are visible before the generation that names them. */
	smp_store_release(&session->acl_gen, session->acl_gen + 1);
}

/*
 * Give the session of @client_id the rules @acl (NULL: allow all), which
 * it owns from now on.  Returns 0, or -ENOENT (then @acl is freed).
 */
int kmqtt_session_set_acl(struct kmqtt_broker *broker, const u8 *client_id,
			  u16 len, struct kmqtt_acl *acl);

/*
 * The connection of the session of @client_id, with a reference
 * (kmqtt_conn_put()), or ERR_PTR(-ENOENT) (no such session) or
 * ERR_PTR(-ENOTCONN) (offline).
 */
struct kmqtt_conn *kmqtt_session_conn_get(struct kmqtt_broker *broker,
					  const u8 *client_id, u16 len);

/*
 * The operator closes the connection of the session of @client_id
 * (KMQTT_CLOSE_ADMIN).  Returns 0, -ENOENT (no such session) or
 * -ENOTCONN (offline).
 */
int kmqtt_session_disconnect(struct kmqtt_broker *broker,
			     const u8 *client_id, u16 len);

/*
 * Unbind @conn.  A clean session is freed; a persistent one stays, with
 * its subscriptions and messages, until it expires.
 */
void kmqtt_session_detach(struct kmqtt_session *session,
			  struct kmqtt_conn *conn);

/*
 * The session expiry limit changed: re-plan the expiry of every offline
 * session from the time it went offline.  Caller holds sessions_lock.
 */
void kmqtt_session_expiry_changed(struct kmqtt_broker *broker);

/*
 * An offline session from the agent's snapshot, for @client_id, with
 * @expiry (seconds, MQTT_SESSION_EXPIRY_NEVER: the operator's limit),
 * offline for @offline_for seconds already, of @username (NULL:
 * anonymous), allowed nothing until the agent sends its access rules;
 * or a bridge's if @bridge (a lazy one's before its first link), allowed
 * everything, as its link is.
 * It replaces an offline session of the client id (a restore done
 * again).  Returns 0, -EBUSY (the client id's session is online) or
 * -ENOMEM.
 */
int kmqtt_session_restore(struct kmqtt_broker *broker, const u8 *client_id,
			  u16 len, u32 expiry, u32 offline_for,
			  const u8 *username, u16 username_len, bool bridge);

/*
 * Give the session of @client_id the subscription of a snapshot (valid:
 * kmqtt_codec_subscription_valid()).  Returns 0, -ENOENT (no such
 * session) or -ENOSPC (a limit, or memory).
 */
int kmqtt_session_restore_subscription(struct kmqtt_broker *broker,
				       const u8 *client_id, u16 len,
				       const u8 *filter, u16 filter_len,
				       u8 options, u32 sub_id);

/*
 * The messages of the first persistent session after id @after that has
 * some, for a snapshot: its id in *@id, its client id in @client_id (room
 * for KMQTT_CLIENT_ID_MAX bytes) and *@len, its records in *@recs (for
 * kmqtt_delivery_records_free()).  Returns how many (0: no session after
 * @after has any) or -ENOMEM.
 */
int kmqtt_session_next_records(struct kmqtt_broker *broker, u64 after,
			       u64 *id, u8 *client_id, u16 *len,
			       struct kmqtt_delivery_record **recs);

/*
 * Append the message of a snapshot's @rec to the offline session of
 * @client_id (kmqtt_delivery_restore()).  Returns 0, -ENOENT (no such
 * session), -ENOMEM, or kmqtt_delivery_restore()'s errors.
 */
int kmqtt_session_restore_message(struct kmqtt_broker *broker,
				  const u8 *client_id, u16 len,
				  const struct kmqtt_delivery_record *rec);

/*
 * The inbound QoS 2 packet ids (received, not released) of the first
 * persistent session after id @after that has some, for a snapshot: its
 * id in *@id, its client id in @client_id (room for KMQTT_CLIENT_ID_MAX
 * bytes) and *@len, the ids in *@ids (kvfree()).  An online session's
 * may be changing: they are those of a moment.  Returns how many (0: no
 * session after @after has any) or -ENOMEM.
 */
int kmqtt_session_next_qos2(struct kmqtt_broker *broker, u64 after, u64 *id,
			    u8 *client_id, u16 *len, u16 **ids);

/*
 * Mark the @n packet ids @ids received in the offline session of
 * @client_id, from a snapshot.  Returns 0, -ENOENT (no such session),
 * -EBUSY (online), -ENOSPC or -ENOMEM.
 */
int kmqtt_session_restore_qos2(struct kmqtt_broker *broker,
			       const u8 *client_id, u16 len, const u16 *ids,
			       u32 n);

/* Free every session of the broker; no connection may be left. */
void kmqtt_session_destroy_all(struct kmqtt_broker *broker);

int kmqtt_session_init(void);
void kmqtt_session_exit(void);

/* The broker's index of subscriptions by (session, filter). */
int kmqtt_session_index_init(struct kmqtt_broker *broker);
void kmqtt_session_index_destroy(struct kmqtt_broker *broker);

/*
 * Subscribe to a valid @filter with the subscription @options (3.1.1:
 * the QoS) and identifier @sub_id (0 for none), telling in *@existed
 * whether it replaced a subscription.
 * Returns the granted QoS, or MQTT_SUBACK_FAILURE when a limit or memory
 * refuses it.
 */
u8 kmqtt_session_subscribe(struct kmqtt_session *session, const u8 *filter,
			   u16 len, u8 options, u32 sub_id, bool *existed);

/* Returns 0 or -ENOENT when the session had no such filter. */
int kmqtt_session_unsubscribe(struct kmqtt_session *session, const u8 *filter,
			      u16 len);

/* Drop each subscription of @session whose filter @keep says no to. */
void kmqtt_session_prune(struct kmqtt_session *session,
			 bool (*keep)(const u8 *filter, u16 len,
				      const void *arg),
			 const void *arg);

#endif /* _KMQTT_SESSION_H */
