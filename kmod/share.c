// SPDX-License-Identifier: GPL-2.0
/*
 * Shared subscription groups.  Members join and leave under
 * broker->topics_lock, with the subscriptions they belong to; fan-out
 * reads a group's members under RCU.  Each message goes to the next
 * member in turn that is online, or to the next member at all when none
 * is (it waits in that session like any message for an offline client).
 * What a member took and did not have goes to another when its session
 * ends (kmqtt_share_redeliver()).
 */

#include <linux/jhash.h>
#include <linux/hashtable.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "broker.h"
#include "delivery.h"
#include "msg.h"
#include "session.h"
#include "share.h"
#include "topic.h"

struct kmqtt_share_member {
	struct list_head node;		/* group->members, RCU */
	struct kmqtt_session *session;
	u32 sub_id;
	u8 options;
	struct rcu_head rcu;
};

struct kmqtt_share_group {
	struct hlist_node hash_node;	/* broker->share_hash */
	struct list_head members;
	/*
	 * One for being in the tree, one per delivery that came through it;
	 * charged to @broker until the last goes.
	 */
	refcount_t ref;
	struct kmqtt_broker *broker;
	u32 n_members;
	atomic_t next;			/* turn of the next message */
	struct rcu_head rcu;
	u16 len;
	u8 full[];			/* "$share/GROUP/FILTER" */
};

/*
 * Members a group takes: picking one walks them, per message, and a
 * client must not be able to make that walk long.
 */
#define KMQTT_SHARE_MAX_MEMBERS	1024
/* Members tried in turn for a message a member's ending hands on. */
#define KMQTT_SHARE_REDELIVER_TRIES	4

static u32 kmqtt_share_hash(const struct kmqtt_broker *broker, const u8 *full,
			    u16 len)
{
	return jhash(full, len, broker->share_seed);
}

static struct kmqtt_share_group *
kmqtt_share_find(struct kmqtt_broker *broker, const u8 *full, u16 len)
{
	struct kmqtt_share_group *g;

	lockdep_assert_held(&broker->topics_lock);
	hash_for_each_possible(broker->share_hash, g, hash_node,
			       kmqtt_share_hash(broker, full, len))
		if (g->len == len && !memcmp(g->full, full, len))
			return g;
	return NULL;
}

static struct kmqtt_share_member *
kmqtt_share_member_of(struct kmqtt_share_group *g,
		      const struct kmqtt_session *session)
{
	struct kmqtt_share_member *m;

	list_for_each_entry(m, &g->members, node)
		if (m->session == session)
			return m;
	return NULL;
}

static void *kmqtt_share_tagged(struct kmqtt_share_group *g)
{
	return (void *)((unsigned long)g | KMQTT_SHARE_TAG);
}

/* A new group, in the tree under @filter: NULL without memory. */
static struct kmqtt_share_group *
kmqtt_share_create(struct kmqtt_broker *broker, const u8 *full, u16 len,
		   const u8 *filter, u16 filter_len)
{
	struct kmqtt_share_group *g;
	size_t size = struct_size(g, full, len);

	if (!kmqtt_broker_charge(broker, size))
		return NULL;
	g = kzalloc(size, GFP_KERNEL | __GFP_NOWARN);
	if (!g)
		goto uncharge;
	INIT_LIST_HEAD(&g->members);
	refcount_set(&g->ref, 1);
	g->broker = broker;
	g->len = len;
	memcpy(g->full, full, len);
	/* The tree's options are the group's: each member has its own. */
	if (kmqtt_topic_subscribe(&broker->topics, filter, filter_len,
				  kmqtt_share_tagged(g),
				  MQTT_SUBOPT_QOS_MASK, 0) < 0)
		goto free;
	hash_add(broker->share_hash, &g->hash_node,
		 kmqtt_share_hash(broker, full, len));
	return g;
free:
	kfree(g);
uncharge:
	kmqtt_broker_uncharge(broker, size);
	return NULL;
}

int kmqtt_share_join(struct kmqtt_broker *broker, const u8 *full,
		     u16 full_len, const u8 *filter, u16 filter_len,
		     struct kmqtt_session *session, u8 options, u32 sub_id)
{
	struct kmqtt_share_group *g = kmqtt_share_find(broker, full, full_len);
	struct kmqtt_share_member *m;

	if (g) {
		m = kmqtt_share_member_of(g, session);
		if (m) {
			WRITE_ONCE(m->options, options);
			WRITE_ONCE(m->sub_id, sub_id);
			return 0;
		}
		if (g->n_members >= KMQTT_SHARE_MAX_MEMBERS)
			return -EDQUOT;
	}
	if (!kmqtt_broker_charge(broker, sizeof(*m)))
		return -ENOMEM;
	m = kmalloc(sizeof(*m), GFP_KERNEL | __GFP_NOWARN);
	if (!m)
		goto uncharge;
	if (!g) {
		g = kmqtt_share_create(broker, full, full_len, filter,
				       filter_len);
		if (!g)
			goto free;
	}
	m->session = session;
	m->options = options;
	m->sub_id = sub_id;
	list_add_tail_rcu(&m->node, &g->members);
	WRITE_ONCE(g->n_members, g->n_members + 1);
	return 0;
free:
	kfree(m);
uncharge:
	kmqtt_broker_uncharge(broker, sizeof(*m));
	return -ENOMEM;
}

void kmqtt_share_leave(struct kmqtt_broker *broker, const u8 *full,
		       u16 full_len, const u8 *filter, u16 filter_len,
		       struct kmqtt_session *session)
{
	struct kmqtt_share_group *g = kmqtt_share_find(broker, full, full_len);
	struct kmqtt_share_member *m = g ? kmqtt_share_member_of(g, session) :
					   NULL;

	if (WARN_ON_ONCE(!m))
		return;
	list_del_rcu(&m->node);
	kfree_rcu(m, rcu);
	kmqtt_broker_uncharge(broker, sizeof(*m));
	WRITE_ONCE(g->n_members, g->n_members - 1);
	if (g->n_members)
		return;
	WARN_ON(kmqtt_topic_unsubscribe(&broker->topics, filter, filter_len,
					kmqtt_share_tagged(g)));
	hash_del(&g->hash_node);
	kmqtt_share_put(g);
}

struct kmqtt_share_group *kmqtt_share_get(struct kmqtt_share_group *g)
{
	return refcount_inc_not_zero(&g->ref) ? g : NULL;
}

void kmqtt_share_put(struct kmqtt_share_group *g)
{
	if (!g || !refcount_dec_and_test(&g->ref))
		return;
	kmqtt_broker_uncharge(g->broker, struct_size(g, full, g->len));
	/* Fan-out may still hold it from a match. */
	kfree_rcu(g, rcu);
}

struct kmqtt_share_group *kmqtt_share_group_of(const void *subscriber)
{
	return (void *)((unsigned long)subscriber & ~KMQTT_SHARE_TAG);
}

struct kmqtt_session *kmqtt_share_pick(struct kmqtt_share_group *g,
				       u8 *options, u32 *sub_id)
{
	struct kmqtt_share_member *m, *pick = NULL, *wrap = NULL;
	struct kmqtt_share_member *at_turn = NULL, *first = NULL;
	u32 n = READ_ONCE(g->n_members), turn, i = 0;

	if (!n)
		return NULL;
	turn = (u32)atomic_inc_return(&g->next) % n;
	/* The first online member from the turn on, wrapping around. */
	list_for_each_entry_rcu(m, &g->members, node) {
		bool online = rcu_access_pointer(m->session->conn);

		if (!first)
			first = m;
		if (i == turn)
			at_turn = m;
		if (online && i >= turn) {
			pick = m;
			break;
		}
		if (online && !wrap)
			wrap = m;
		i++;
	}
	pick = pick ? pick : wrap ? wrap : at_turn ? at_turn : first;
	if (!pick)
		return NULL;
	*options = READ_ONCE(pick->options);
	*sub_id = READ_ONCE(pick->sub_id);
	return pick->session;
}

void kmqtt_share_redeliver(struct kmqtt_broker *broker,
			   struct kmqtt_share_group *g, struct kmqtt_msg *msg,
			   bool retain)
{
	struct kmqtt_session *to, *tried[KMQTT_SHARE_REDELIVER_TRIES];
	enum kmqtt_drop why = KMQTT_DROP_CLOSING;
	struct kmqtt_delivery_via via = { .share = g, .why = &why };
	enum kmqtt_handoff done;
	struct kmqtt_delivery *d;
	u32 sub_id, picks, tries = 0, i;
	u8 options;

	if (kmqtt_delivery_alloc_bulk(broker, GFP_KERNEL, 1, &d)) {
		kmqtt_broker_dropped(broker, NULL, KMQTT_DROP_NO_MEMORY, 1);
		return;
	}
	via.sub_ids = &sub_id;
	rcu_read_lock();
	/*
	 * A member may be ending too, or not take it: the next ones may.
	 * Each pick moves the turn on, and may come back to one that
	 * refused: it is not tried again.
	 */
	for (picks = 0; picks < 2 * KMQTT_SHARE_REDELIVER_TRIES &&
	     tries < KMQTT_SHARE_REDELIVER_TRIES; picks++) {
		to = kmqtt_share_pick(g, &options, &sub_id);
		if (!to)
			break;
		for (i = 0; i < tries && tried[i] != to; i++)
			;
		if (i < tries)
			continue;
		tried[tries++] = to;
		via.n_sub_ids = !!sub_id;
		done = kmqtt_delivery_deliver(to, msg,
					      min_t(u8, msg->qos,
						    options & MQTT_SUBOPT_QOS_MASK),
					      retain, &via, d);
		if (done != KMQTT_HANDOFF_REFUSED) {
			rcu_read_unlock();
			if (done == KMQTT_HANDOFF_COPIED)
				kmqtt_delivery_free_unused(broker, &d, 1);
			return;
		}
	}
	rcu_read_unlock();
	kmqtt_delivery_free_unused(broker, &d, 1);
	/* Once, for the last refusal's reason, or for none taking it. */
	kmqtt_broker_dropped(broker, NULL, why, 1);
}

void kmqtt_share_init(struct kmqtt_broker *broker)
{
	hash_init(broker->share_hash);
	broker->share_seed = get_random_u32();
}
