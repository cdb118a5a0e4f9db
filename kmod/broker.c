// SPDX-License-Identifier: GPL-2.0
/* Per network namespace broker state. */

#include <net/netns/generic.h>

#include "broker.h"
#include "conn.h"

static unsigned int kmqtt_broker_net_id __read_mostly;

struct kmqtt_broker *kmqtt_broker_get(const struct net *net)
{
	return net_generic(net, kmqtt_broker_net_id);
}

static int __net_init kmqtt_broker_net_init(struct net *net)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(net);

	broker->net = net;
	broker->limits = (struct kmqtt_limits) {
		.max_packet_size = KMQTT_DEFAULT_MAX_PACKET_SIZE,
		.max_queued_messages = KMQTT_DEFAULT_MAX_QUEUED_MESSAGES,
		.max_queued_bytes = KMQTT_DEFAULT_MAX_QUEUED_BYTES,
		.max_subscriptions = KMQTT_DEFAULT_MAX_SUBSCRIPTIONS,
	};
	spin_lock_init(&broker->conns_lock);
	INIT_LIST_HEAD(&broker->conns);
	mutex_init(&broker->topics_lock);
	kmqtt_topic_tree_init(&broker->topics);
	atomic64_set(&broker->fanout_dropped, 0);
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
	synchronize_rcu();
	kmqtt_topic_tree_destroy(&broker->topics);
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
