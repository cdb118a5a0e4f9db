// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace broker state, the module's workqueue, and the
 * pausing and resuming of publishers against the memory limit.
 */

#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/random.h>
/* 5.15's netns/generic.h uses struct net without including its definition. */
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "ack_hold.h"
#include "broker.h"
#include "conn.h"
#include "session.h"
#include "share.h"
#include "trace.h"

/*
 * A packet that found no memory (not the limit) is tried again after this
 * long, doubling up to the max while it keeps failing.  Unsigned like
 * retry_ms: 5.15's clamp() refuses to compare an int with a u32.
 */
#define KMQTT_RETRY_MIN_MS	10U
#define KMQTT_RETRY_MAX_MS	1000U

struct workqueue_struct *kmqtt_wq;
static unsigned int kmqtt_broker_net_id __read_mostly;

struct kmqtt_broker *kmqtt_broker_get(const struct net *net)
{
	return net_generic(net, kmqtt_broker_net_id);
}

static bool kmqtt_broker_topics_charge(struct kmqtt_topic_tree *tree,
				       size_t size)
{
	return kmqtt_broker_charge(container_of(tree, struct kmqtt_broker,
						topics), size);
}

static void kmqtt_broker_topics_uncharge(struct kmqtt_topic_tree *tree,
					 size_t size)
{
	kmqtt_broker_uncharge(container_of(tree, struct kmqtt_broker, topics),
			      size);
}

/* Subscriptions count against the memory limit like messages. */
static const struct kmqtt_topic_acct kmqtt_broker_topics_acct = {
	.charge = kmqtt_broker_topics_charge,
	.uncharge = kmqtt_broker_topics_uncharge,
};

bool kmqtt_broker_pause(struct kmqtt_conn *conn, bool no_memory)
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
static void kmqtt_broker_resume_work(struct work_struct *work)
{
	struct kmqtt_broker *broker = container_of(to_delayed_work(work),
						   struct kmqtt_broker,
						   resume_work);
	u64 limit = READ_ONCE(broker->limits.memory);
	/* Exact: a publisher waits for what the limit allows. */
	u64 used = percpu_counter_sum_positive(&broker->memory);
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

#define KMQTT_LIMIT_DEFAULT(id, field, bits, lo, hi, def)	.field = (def),
static const struct kmqtt_limits kmqtt_broker_default_limits = {
	KMQTT_LIMITS(KMQTT_LIMIT_DEFAULT)
};

static int __net_init kmqtt_broker_net_init(struct net *net)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(net);

	int ret;

	ret = percpu_counter_init(&broker->memory, 0, GFP_KERNEL);
	if (ret)
		return ret;
	ret = kmqtt_session_index_init(broker);
	if (ret) {
		percpu_counter_destroy(&broker->memory);
		return ret;
	}
	broker->net = net;
	broker->limits = kmqtt_broker_default_limits;
	/* A broker must not be able to take the machine down. */
	broker->limits.memory = (u64)totalram_pages() * PAGE_SIZE / 4;
	broker->instance = get_random_u64();
	spin_lock_init(&broker->conns_lock);
	INIT_LIST_HEAD(&broker->conns);
	mutex_init(&broker->sessions_lock);
	INIT_LIST_HEAD(&broker->sessions);
	mutex_init(&broker->topics_lock);
	kmqtt_topic_tree_init(&broker->topics, &kmqtt_broker_topics_acct);
	kmqtt_share_init(broker);
	kmqtt_retain_init(&broker->retained);
	spin_lock_init(&broker->paused_lock);
	INIT_LIST_HEAD(&broker->paused);
	INIT_DELAYED_WORK(&broker->resume_work, kmqtt_broker_resume_work);
	kmqtt_ack_hold_init(broker);
	atomic64_set(&broker->acl_denied, 0);
	return 0;
}

/*
 * Attached sockets hold a reference on their namespace, so this runs with
 * connections left only when the module is unloaded.
 */
static void __net_exit kmqtt_broker_net_exit(struct net *net)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(net);

	/*
	 * No session takes another's shared subscription messages as they
	 * end, from the connections' close on: they would only move from
	 * one to the next.
	 */
	WRITE_ONCE(broker->exiting, true);
	kmqtt_conn_close_all(broker);
	/* Closed connections are no longer paused: nothing queues it now. */
	cancel_delayed_work_sync(&broker->resume_work);
	kmqtt_session_destroy_all(broker);
	/* An expiry that unlinked its session before may still be freeing it. */
	flush_workqueue(kmqtt_wq);
	kmqtt_session_index_destroy(broker);
	kmqtt_retain_destroy(&broker->retained);
	synchronize_rcu();
	kmqtt_topic_tree_destroy(&broker->topics);
	/* Large messages are freed after a grace period; then it is exact. */
	rcu_barrier();
	percpu_counter_destroy(&broker->memory);
}

void kmqtt_broker_resume_paused(struct kmqtt_broker *broker)
{
	mod_delayed_work(kmqtt_wq, &broker->resume_work, 0);
}

void kmqtt_broker_dropped(struct kmqtt_broker *broker,
			  const struct kmqtt_session *session,
			  enum kmqtt_drop why, u64 n)
{
	atomic64_add(n, &broker->dropped[why]);
	trace_kmqtt_drop(session, why, n);
}

static struct pernet_operations kmqtt_broker_net_ops = {
	.init = kmqtt_broker_net_init,
	.exit = kmqtt_broker_net_exit,
	.id = &kmqtt_broker_net_id,
	.size = sizeof(struct kmqtt_broker),
};

int kmqtt_broker_init(void)
{
	int ret;

	kmqtt_wq = alloc_workqueue("kmqtt", 0, 0);
	if (!kmqtt_wq)
		return -ENOMEM;
	ret = register_pernet_subsys(&kmqtt_broker_net_ops);
	if (ret)
		destroy_workqueue(kmqtt_wq);
	return ret;
}

void kmqtt_broker_exit(void)
{
	unregister_pernet_subsys(&kmqtt_broker_net_ops);
	destroy_workqueue(kmqtt_wq);
}
