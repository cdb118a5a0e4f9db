/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per network namespace broker state: connections, sessions, the
 * subscription tree, retained messages, limits and counters.
 */
#ifndef _KMQTT_BROKER_H
#define _KMQTT_BROKER_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/limits.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/percpu_counter.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include <kmqtt/limits.h>

#include "retain.h"
#include "topic.h"

/* Counters of one connection or session, or totals (enum kmqtt_stat). */
struct kmqtt_counters {
	u64 msgs_in;
	u64 msgs_out;
	u64 msgs_dropped;
	u64 bytes_in;
	u64 bytes_out;
	u64 rx_runs;
	u64 rx_reads;
	u64 tx_runs;
	u64 tx_writes;
	u64 tx_copied;
	u64 rx_reused;
	u64 rx_match_kept;
	u64 tx_zerocopy;
};

/* Why a message was not delivered: one counter each (KMQTT_STAT_DROPPED_*). */
enum kmqtt_drop {
	KMQTT_DROP_QUEUE_FULL,		/* a send or session queue's limit */
	KMQTT_DROP_NO_MEMORY,		/* the memory limit, or no memory */
	KMQTT_DROP_CLOSING,		/* QoS 0 to a connection closing */
	KMQTT_DROP_FANOUT,		/* subscribers past the fan-out bound */
	KMQTT_DROP_DENIED,		/* read access lost before it was sent */
	KMQTT_DROP_TOO_LARGE,		/* over message_size, or a client's max */
	KMQTT_DROP_EXPIRED,		/* 5.0 message expiry passed in a queue */

	KMQTT_DROP_COUNT,
};

/* Counters have one writer each and lockless readers (netlink dumps). */
static inline void kmqtt_counter_add(u64 *counter, u64 n)
{
	WRITE_ONCE(*counter, *counter + n);
}

/* Add @c, which its writers may be changing, to @sum. */
static inline void kmqtt_counters_add(struct kmqtt_counters *sum,
				      const struct kmqtt_counters *c)
{
	sum->msgs_in += READ_ONCE(c->msgs_in);
	sum->msgs_out += READ_ONCE(c->msgs_out);
	sum->msgs_dropped += READ_ONCE(c->msgs_dropped);
	sum->bytes_in += READ_ONCE(c->bytes_in);
	sum->bytes_out += READ_ONCE(c->bytes_out);
	sum->rx_runs += READ_ONCE(c->rx_runs);
	sum->rx_reads += READ_ONCE(c->rx_reads);
	sum->tx_runs += READ_ONCE(c->tx_runs);
	sum->tx_writes += READ_ONCE(c->tx_writes);
	sum->tx_copied += READ_ONCE(c->tx_copied);
	sum->rx_reused += READ_ONCE(c->rx_reused);
	sum->rx_match_kept += READ_ONCE(c->rx_match_kept);
	sum->tx_zerocopy += READ_ONCE(c->tx_zerocopy);
}

/*
 * Limits an operator sets: one member per row of KMQTT_LIMITS
 * (include/kmqtt/limits.h), which gives their ranges and defaults.  All
 * are u64, whatever their attribute's width, so that one table of offsets
 * reads and writes them.  Hitting one is counted and never affects other
 * clients.  Readers take a member with READ_ONCE(); SET_LIMITS writes each
 * with one store.
 */
struct kmqtt_limits {
	u64 max_connections;
	u64 max_packet_size;
	u64 max_inflight;
	u64 max_queued_messages;
	u64 max_queued_bytes;
	u64 max_subscriptions;
	u64 max_retained;
	u64 max_retained_bytes;
	u64 memory;
	u64 session_expiry;		/* seconds */
	u64 queue_qos0;
	u64 retain_available;
	u64 max_topic_levels;
	u64 message_size;		/* payload bytes */
};

#define KMQTT_SHARE_HASH_BITS		8

/*
 * The longest a delayed work item is armed for: the timer wheel cuts
 * longer ones short (to about 12 days at HZ=1000), so waits longer than
 * this re-arm for the rest.
 */
#define KMQTT_TIMER_MAX		(24UL * 3600 * HZ)

struct kmqtt_broker {
	struct net *net;
	/* Random: tells the agent whether its snapshot is of this state. */
	u64 instance;
	struct kmqtt_limits limits;	/* written under sessions_lock */

	/* Open connections in attach order, RCU for netlink dumps. */
	spinlock_t conns_lock;
	struct list_head conns;
	u64 next_conn_id;		/* under conns_lock */
	u64 conns_open;			/* under conns_lock */
	u64 conns_total;		/* under conns_lock */
	u64 conns_refused;		/* under conns_lock */
	struct kmqtt_counters closed;	/* under conns_lock */
	u64 protocol_errors;		/* under conns_lock */

	/*
	 * Sessions by client id, and in creation order for dumps.  Attach,
	 * detach, expiry and takeover happen under sessions_lock.
	 */
	struct mutex sessions_lock;
	struct rhashtable session_index;	/* by client id */
	struct list_head sessions;
	u64 next_session_id;
	u64 sessions_count;
	u64 sessions_expired;

	/* Serialises writers of @topics; readers use RCU. */
	struct mutex topics_lock;
	struct kmqtt_topic_tree topics;
	u64 subscriptions;		/* under topics_lock */
	/*
	 * Every session's subscriptions by (session, filter), so that a
	 * SUBSCRIBE or UNSUBSCRIBE finds one without scanning the session's
	 * list.  Changes under topics_lock.
	 */
	struct rhashtable subscription_index;
	/* Shared subscription groups by "$share/GROUP/FILTER" (share.c). */
	DECLARE_HASHTABLE(share_hash, KMQTT_SHARE_HASH_BITS);
	u32 share_seed;			/* of its hash: not foreseeable */
	/* The namespace is going: sessions end without handing on. */
	bool exiting;

	struct kmqtt_retain_store retained;

	/*
	 * Bytes of messages, receive buffers and subscriptions held, checked
	 * against limits.memory (kmqtt_broker_charge()).
	 */
	struct percpu_counter memory;

	/*
	 * Connections whose QoS 1/2 PUBLISH did not fit under limits.memory,
	 * or found no memory: their socket is not read until memory is freed,
	 * or their time is up (resume_work).
	 */
	spinlock_t paused_lock;
	struct list_head paused;	/* of kmqtt_conn.paused_node */
	struct delayed_work resume_work;

	/*
	 * Acks held until saved (ack_hold.c): whether they are, the number
	 * of the last one held and of the last one a save holds, and the
	 * connections with some held.  Under ack_lock.
	 */
	spinlock_t ack_lock;
	bool hold_acks;
	u64 ack_seq;
	u64 ack_saved;
	u64 acks_held;
	struct list_head ack_conns;	/* of kmqtt_conn.ack_node */

	/* Messages not delivered, by reason (rare). */
	atomic64_t dropped[KMQTT_DROP_COUNT];
	/* Publishes, deliveries and subscriptions the access rules refused. */
	atomic64_t acl_denied;
};

struct kmqtt_broker *kmqtt_broker_get(const struct net *net);

/*
 * Bytes a CPU counts on its own before it adds them to the shared sum.
 * Every message and delivery is charged and uncharged: with the default
 * batch (32), each of those took the counter's lock, shared by every
 * CPU.  Near the limit the check sums the CPUs exactly, so the limit is
 * as exact as before.
 */
#define KMQTT_MEMORY_BATCH	(64 * 1024)

/*
 * Account @size bytes about to be allocated; false when that would pass
 * the memory limit.
 */
static inline bool kmqtt_broker_charge(struct kmqtt_broker *broker,
				       size_t size)
{
	u64 limit = READ_ONCE(broker->limits.memory);

	if (limit && (size > limit ||
		      __percpu_counter_compare(&broker->memory,
					       min_t(u64, limit - size, S64_MAX),
					       KMQTT_MEMORY_BATCH) > 0))
		return false;
	percpu_counter_add_batch(&broker->memory, size, KMQTT_MEMORY_BATCH);
	return true;
}

/*
 * Account @size bytes whatever the limit says: for what must not be
 * refused (acks, PINGRESP), and is bounded by other means.
 */
static inline void kmqtt_broker_account(struct kmqtt_broker *broker,
					size_t size)
{
	percpu_counter_add_batch(&broker->memory, size, KMQTT_MEMORY_BATCH);
}

/* Work items of every connection and session run here. */
extern struct workqueue_struct *kmqtt_wq;

struct kmqtt_conn;

/*
 * Backpressure: stop reading @conn until the memory limit allows the
 * conn->refused bytes it refused, or, when memory itself was short
 * (@no_memory), for a while that doubles with each failure in a row.  Its
 * socket fills and TCP holds the publisher back; what it sent is not lost.
 * Returns false when the limit could never allow it: then waiting is
 * pointless, and the caller closes the connection.
 */
bool kmqtt_broker_pause(struct kmqtt_conn *conn, bool no_memory);

/* Memory was freed or the limit changed: paused publishers may go on. */
void kmqtt_broker_resume_paused(struct kmqtt_broker *broker);

struct kmqtt_session;

/*
 * @n messages not delivered, for @why: to @session (a subscriber, or the
 * publisher whose message went nowhere), or NULL when no one client is.
 */
void kmqtt_broker_dropped(struct kmqtt_broker *broker,
			  const struct kmqtt_session *session,
			  enum kmqtt_drop why, u64 n);

static inline void kmqtt_broker_uncharge(struct kmqtt_broker *broker,
					 size_t size)
{
	percpu_counter_add_batch(&broker->memory, -(s64)size,
				 KMQTT_MEMORY_BATCH);
	/* A hint, unlocked: pausing looks at the memory again after. */
	if (unlikely(!list_empty_careful(&broker->paused)))
		kmqtt_broker_resume_paused(broker);
}

int kmqtt_broker_init(void);
void kmqtt_broker_exit(void);

#endif /* _KMQTT_BROKER_H */
