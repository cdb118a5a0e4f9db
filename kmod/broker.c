// SPDX-License-Identifier: GPL-2.0
/* Per network namespace broker state. */

#include <linux/mm.h>
#include <net/netns/generic.h>

#include "broker.h"
#include "conn.h"
#include "session.h"

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
	broker->limits = (struct kmqtt_limits) {
		.max_packet_size = KMQTT_DEFAULT_MAX_PACKET_SIZE,
		.max_inflight = KMQTT_DEFAULT_MAX_INFLIGHT,
		.max_queued_messages = KMQTT_DEFAULT_MAX_QUEUED_MESSAGES,
		.max_subscriptions = KMQTT_DEFAULT_MAX_SUBSCRIPTIONS,
		.max_topic_levels = KMQTT_DEFAULT_MAX_TOPIC_LEVELS,
		/* A broker must not be able to take the machine down. */
		.memory = (u64)totalram_pages() * PAGE_SIZE / 4,
		.retain_available = true,
	};
	spin_lock_init(&broker->conns_lock);
	INIT_LIST_HEAD(&broker->conns);
	mutex_init(&broker->sessions_lock);
	hash_init(broker->session_hash);
	INIT_LIST_HEAD(&broker->sessions);
	mutex_init(&broker->topics_lock);
	kmqtt_topic_tree_init(&broker->topics, &kmqtt_broker_topics_acct);
	kmqtt_retain_init(&broker->retained);
	spin_lock_init(&broker->paused_lock);
	INIT_LIST_HEAD(&broker->paused);
	INIT_DELAYED_WORK(&broker->resume_work, kmqtt_conn_resume_work);
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

	kmqtt_conn_close_all(broker);
	/* Closed connections are no longer paused: nothing queues it now. */
	cancel_delayed_work_sync(&broker->resume_work);
	kmqtt_session_destroy_all(broker);
	kmqtt_session_index_destroy(broker);
	kmqtt_retain_destroy(&broker->retained);
	synchronize_rcu();
	kmqtt_topic_tree_destroy(&broker->topics);
	/* Messages are freed after a grace period; the count is exact now. */
	rcu_barrier();
	percpu_counter_destroy(&broker->memory);
}

/* Memory was freed or the limit changed: paused publishers may go on. */
void kmqtt_broker_resume_paused(struct kmqtt_broker *broker)
{
	mod_delayed_work(kmqtt_wq, &broker->resume_work, 0);
}

static struct pernet_operations kmqtt_broker_net_ops = {
	.init = kmqtt_broker_net_init,
	.exit = kmqtt_broker_net_exit,
	.id = &kmqtt_broker_net_id,
	.size = sizeof(struct kmqtt_broker),
};

int kmqtt_broker_init(void)
{
	return register_pernet_subsys(&kmqtt_broker_net_ops);
}

void kmqtt_broker_exit(void)
{
	unregister_pernet_subsys(&kmqtt_broker_net_ops);
}
