/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per network namespace broker state: the connections, the subscription
 * tree and the counters of connections that have already closed.
 */
#ifndef _KMQTT_BROKER_H
#define _KMQTT_BROKER_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <net/net_namespace.h>

#include "topic.h"

/* Counters of one connection, or totals (enum kmqtt_stat). */
struct kmqtt_counters {
	u64 msgs_in;
	u64 msgs_out;
	u64 msgs_dropped;
	u64 bytes_in;
	u64 bytes_out;
};

/*
 * Limits an operator sets (defaults below); hitting one is counted and
 * never affects other clients.
 */
struct kmqtt_limits {
	u32 max_packet_size;		/* bytes, whole packet */
	u32 max_queued_messages;	/* PUBLISH waiting per subscriber */
	u32 max_queued_bytes;		/* their bytes per subscriber */
	u32 max_subscriptions;		/* filters per client */
};

#define KMQTT_DEFAULT_MAX_PACKET_SIZE		(1024 * 1024)
#define KMQTT_DEFAULT_MAX_QUEUED_MESSAGES	1000
#define KMQTT_DEFAULT_MAX_QUEUED_BYTES		(8 * 1024 * 1024)
#define KMQTT_DEFAULT_MAX_SUBSCRIPTIONS		10000

struct kmqtt_broker {
	struct net *net;
	struct kmqtt_limits limits;

	/* Open connections in attach order, RCU for netlink dumps. */
	spinlock_t conns_lock;
	struct list_head conns;
	u64 next_conn_id;		/* under conns_lock */
	u64 conns_open;			/* under conns_lock */
	u64 conns_total;		/* under conns_lock */
	struct kmqtt_counters closed;	/* under conns_lock */
	u64 protocol_errors;		/* under conns_lock */

	/* Serialises writers of @topics; readers use RCU. */
	struct mutex topics_lock;
	struct kmqtt_topic_tree topics;
	u64 subscriptions;		/* under topics_lock */

	/* Deliveries lost because a fan-out could not record its matches. */
	atomic64_t fanout_dropped;
};

/* Counters have one writer each and lockless readers (netlink dumps). */
static inline void kmqtt_counter_add(u64 *counter, u64 n)
{
	WRITE_ONCE(*counter, *counter + n);
}

struct kmqtt_broker *kmqtt_broker_get(const struct net *net);

int kmqtt_broker_init(void);
void kmqtt_broker_exit(void);

#endif /* _KMQTT_BROKER_H */
