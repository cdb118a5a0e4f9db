// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out: match the topic against the subscription tree and hand one
 * shared copy of the message to each matching session at
 * min(published QoS, granted QoS) (MQTT-3.8.4-6).  Runs in the publisher's
 * receive work (or a closing connection's, for its will); never waits for
 * a subscriber.
 *
 * Everything a fan-out needs is allocated before the RCU section that
 * matches and delivers: the match array and one delivery per subscriber.
 * A match that finds more subscribers than there is room for leaves the
 * section, allocates where it may sleep and matches again, so a message is
 * never dropped because an allocation could not wait.
 *
 * A device publishes to the same topic again and again: while the tree
 * has not changed (kmqtt_topic_gen()), its next message on that topic
 * is fanned out with the match of the last, without walking the tree.
 */

#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/kmqtt.h>

#include "acl.h"
#include "broker.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "publish.h"
#include "retain.h"
#include "session.h"
#include "share.h"
#include "trace.h"

/*
 * Bounds the match array a single publish may build: sessions past it
 * miss the message (dropped, fan-out).
 */
static unsigned int max_fanout = BIT(20);
module_param(max_fanout, uint, 0644);
MODULE_PARM_DESC(max_fanout, "most sessions one message reaches (default 1048576)");
/*
 * Deliveries a publisher keeps allocated between its messages, at most,
 * and allocates at once for messages that reach fewer sessions.
 */
#define KMQTT_FANOUT_KEEP	8
/*
 * Largest match array a publisher keeps between its messages: one that
 * once reached a million sessions would otherwise hold 32 MiB, outside
 * the memory limit, for the rest of its life.
 */
#define KMQTT_FANOUT_KEEP_MATCHES	1024
/*
 * Matches before the fan-out goes ahead with what it has: more are needed
 * only while subscribers keep arriving faster than it allocates.
 */
#define KMQTT_FANOUT_TRIES	4
/* Longest topic a publisher's last match is kept for: a copy of it. */
#define KMQTT_FANOUT_MATCH_TOPIC	256

/* The copy of the topic of the last match goes, and the match with it. */
static void kmqtt_fanout_free_topic(struct kmqtt_broker *broker,
				    struct kmqtt_fanout *f)
{
	if (!f->match_topic)
		return;
	kfree(f->match_topic);
	kmqtt_broker_uncharge(broker, f->match_cap);
	f->match_topic = NULL;
	f->match_cap = 0;
	f->match_len = 0;
}

/*
 * Under the RCU section that uses it: is @f->set what a match of @msg's
 * topic would find at generation @gen?
 */
static bool kmqtt_fanout_matched(const struct kmqtt_fanout *f,
				 const struct kmqtt_msg *msg,
				 unsigned long gen)
{
	return f->match_len && f->match_len == msg->topic_len &&
	       f->match_gen == gen &&
	       f->match_max == f->set.max &&
	       !memcmp(f->match_topic, kmqtt_msg_topic(msg), msg->topic_len);
}

/*
 * @f->set was just matched for @msg's topic at generation @gen: keep it
 * for the next message, unless it is incomplete or the topic too long,
 * or the memory limit refuses the copy of the topic.
 */
static void kmqtt_fanout_remember(struct kmqtt_broker *broker,
				  struct kmqtt_fanout *f,
				  const struct kmqtt_msg *msg, unsigned long gen)
{
	u16 len = msg->topic_len;
	u16 cap;

	f->match_len = 0;
	if (f->set.overflow || len > KMQTT_FANOUT_MATCH_TOPIC)
		return;
	if (len > f->match_cap) {
		kmqtt_fanout_free_topic(broker, f);
		cap = round_up(len, 32);
		if (!kmqtt_broker_charge(broker, cap))
			return;
		f->match_topic = kmalloc(cap, GFP_KERNEL | __GFP_NOWARN);
		if (!f->match_topic) {
			kmqtt_broker_uncharge(broker, cap);
			return;
		}
		f->match_cap = cap;
	}
	memcpy(f->match_topic, kmqtt_msg_topic(msg), len);
	f->match_len = len;
	f->match_gen = gen;
	f->match_max = f->set.max;
}

void kmqtt_fanout_free(struct kmqtt_broker *broker, struct kmqtt_fanout *f)
{
	kmqtt_delivery_free_unused(broker, f->spare, f->n_spare);
	kvfree(f->spare);
	f->spare = NULL;
	f->n_spare = 0;
	f->cap_spare = 0;
	kmqtt_topic_match_set_free(&f->set);
	kmqtt_fanout_free_topic(broker, f);
	kmqtt_msg_free_spare(&f->spare_msg);
}

/* At least @n spare deliveries: 0, -ENOSPC or -ENOMEM. */
static int kmqtt_fanout_reserve(struct kmqtt_broker *broker,
				struct kmqtt_fanout *f, u32 n)
{
	struct kmqtt_delivery **spare;
	int ret;

	if (f->n_spare >= n)
		return 0;
	if (f->cap_spare < n) {
		spare = kvmalloc_array(n, sizeof(*spare), GFP_KERNEL);
		if (!spare)
			return -ENOMEM;
		if (f->n_spare)
			memcpy(spare, f->spare, f->n_spare * sizeof(*spare));
		kvfree(f->spare);
		f->spare = spare;
		f->cap_spare = n;
	}
	ret = kmqtt_delivery_alloc_bulk(broker, GFP_KERNEL, n - f->n_spare,
					f->spare + f->n_spare);
	if (!ret)
		f->n_spare = n;
	else if (ret == -ENOSPC)
		f->refused = (n - f->n_spare) * sizeof(struct kmqtt_delivery);
	return ret;
}

/*
 * At least @n spare deliveries for the next message.  A burst of messages
 * that reach one session each (pairwise, fan-in) allocates them in bulk,
 * KMQTT_FANOUT_KEEP at a time from its second message on, not one per
 * message; a lone message allocates what it needs.  Only what this
 * message needs must fit the memory limit.
 */
static int kmqtt_fanout_refill(struct kmqtt_broker *broker,
			       struct kmqtt_fanout *f, u32 n)
{
	size_t refused = f->refused;

	if (f->n_spare >= n)
		return 0;
	if (f->warm && n < KMQTT_FANOUT_KEEP &&
	    !kmqtt_fanout_reserve(broker, f, KMQTT_FANOUT_KEEP))
		return 0;
	f->refused = refused;
	return kmqtt_fanout_reserve(broker, f, n);
}

/* Give back the spare deliveries beyond @keep. */
static void kmqtt_fanout_trim(struct kmqtt_broker *broker,
			      struct kmqtt_fanout *f, u32 keep)
{
	if (f->n_spare <= keep)
		return;
	kmqtt_delivery_free_unused(broker, f->spare + keep, f->n_spare - keep);
	f->n_spare = keep;
}

/* Under RCU: one delivery per matching session; returns how many missed. */
static u32 kmqtt_fanout_deliver(struct kmqtt_fanout *f, struct kmqtt_msg *msg,
				bool retain, struct kmqtt_session *from)
{
	struct kmqtt_match_set *set = &f->set;
	u32 i;

	for (i = 0; i < set->n && f->n_spare; i++) {
		const struct kmqtt_match *m = &set->v[i];
		struct kmqtt_delivery_via via = {
			.sub_ids = kmqtt_match_sub_ids(set, m),
			.n_sub_ids = m->n_sub_ids,
		};
		struct kmqtt_session *to = m->subscriber;
		u8 options = m->options;
		u32 member_sub_id;

		/*
		 * A shared subscription: one member of the group (4.8.2),
		 * never with No Local (refused at SUBSCRIBE, MQTT-3.8.3-4).
		 */
		if (kmqtt_share_is_group(to)) {
			via.share = kmqtt_share_group_of(to);
			to = kmqtt_share_pick(via.share, &options,
					      &member_sub_id);
			if (!to)
				continue;
			via.sub_ids = &member_sub_id;
			via.n_sub_ids = !!member_sub_id;
		}
		/* MQTT-3.8.3-3: not back to its publisher. */
		if ((options & MQTT_SUBOPT_NO_LOCAL) && to == from)
			continue;
		via.queue_qos0 = options & KMQTT_SUBOPT_QUEUE_QOS0;
		/*
		 * Forwarded copies carry RETAIN only for Retain As Published
		 * (MQTT-3.3.1-12, 3.1.1's MQTT-3.3.1-9).
		 */
		if (kmqtt_delivery_deliver(to, msg,
					   min_t(u8, msg->qos,
						 options & MQTT_SUBOPT_QOS_MASK),
					   retain && (options &
						      MQTT_SUBOPT_RETAIN_AS_PUBLISHED),
					   &via, f->spare[f->n_spare - 1]) ==
		    KMQTT_HANDOFF_TAKEN)
			f->n_spare--;
	}
	return set->n - i;
}

void kmqtt_fanout_idle(struct kmqtt_broker *broker, struct kmqtt_fanout *f)
{
	kmqtt_fanout_trim(broker, f, 0);
	kmqtt_msg_free_spare(&f->spare_msg);
	kmqtt_fanout_free_topic(broker, f);
	/*
	 * Nor arrays sized for a fan-out it did once: a million devices
	 * that published to a few would keep them, uncharged.
	 */
	if (f->cap_spare > KMQTT_FANOUT_KEEP) {
		kvfree(f->spare);
		f->spare = NULL;
		f->cap_spare = 0;
	}
	kmqtt_topic_match_set_idle(&f->set);
	f->warm = false;
}

int kmqtt_publish_msg(struct kmqtt_broker *broker, struct kmqtt_msg *msg,
		      bool retain, struct kmqtt_session *from,
		      struct kmqtt_fanout *f)
{
	const struct kmqtt_limits *limits = &broker->limits;
	struct kmqtt_match_set *set = &f->set;
	u32 missed, tries = 0;
	unsigned long gen;
	int ret;

	f->match_kept = false;
	set->max = max(READ_ONCE(max_fanout), 1U);
	/* Most topics reach as many as last time: one match, usually. */
	ret = kmqtt_fanout_refill(broker, f, f->last_n);
	if (ret)
		goto fail;
	/* A guess, uncharged: the match grows the array if it must. */
	if (f->last_n > set->cap) {
		f->match_len = 0;
		kmqtt_topic_match_set_reserve(set, f->last_n, GFP_KERNEL);
	}
	for (;;) {
		rcu_read_lock();
		gen = kmqtt_topic_gen(&broker->topics);
		f->match_kept = kmqtt_fanout_matched(f, msg, gen);
		if (!f->match_kept) {
			f->match_len = 0;
			kmqtt_topic_match(&broker->topics, kmqtt_msg_topic(msg),
					  msg->topic_len, set,
					  GFP_NOWAIT | __GFP_NOWARN);
		}
		if (++tries < KMQTT_FANOUT_TRIES &&
		    ((set->overflow && set->cap < set->max) ||
		     f->n_spare < set->n)) {
			u32 want = min(set->n + set->overflow, set->max);

			rcu_read_unlock();
			f->match_len = 0;
			ret = kmqtt_topic_match_set_reserve(set, want,
							    GFP_KERNEL);
			if (!ret)
				ret = kmqtt_fanout_reserve(broker, f, want);
			if (ret)
				goto fail;
			continue;
		}
		missed = kmqtt_fanout_deliver(f, msg, retain, from);
		rcu_read_unlock();
		break;
	}
	/* A set that is freed after this message is not kept either. */
	if (!f->match_kept && set->cap <= KMQTT_FANOUT_KEEP_MATCHES)
		kmqtt_fanout_remember(broker, f, msg, gen);
	f->last_n = set->n;
	f->warm = true;
	trace_kmqtt_fanout(from, msg, set->n + set->overflow,
			   set->overflow + missed);

	/* Subscribers past the fan-out bound, or that arrived meanwhile. */
	if (set->overflow)
		kmqtt_broker_dropped(broker, from, set->cap < set->max ?
				     KMQTT_DROP_NO_MEMORY : KMQTT_DROP_FANOUT,
				     set->overflow);
	if (missed)
		kmqtt_broker_dropped(broker, from, KMQTT_DROP_NO_MEMORY,
				     missed);
	if (set->overflow || missed)
		net_warn_ratelimited("kmqtt: %u subscribers missed a message: fan-out over limit or out of memory\n",
				     set->overflow + missed);
	if (set->sub_ids_left_out)
		net_info_ratelimited("kmqtt: %u subscription identifiers left out: more than %u filters of a session matched\n",
				     set->sub_ids_left_out, KMQTT_MATCH_SUB_IDS);
	if (set->cap > KMQTT_FANOUT_KEEP_MATCHES)
		kmqtt_fanout_free(broker, f);
	else
		kmqtt_fanout_trim(broker, f, KMQTT_FANOUT_KEEP);

	f->retain_err = 0;
	if (retain && !READ_ONCE(limits->retain_available))
		f->retain_err = -EOPNOTSUPP;
	else if (retain)
		f->retain_err = kmqtt_retain_store(&broker->retained, msg,
						   READ_ONCE(limits->max_retained),
						   READ_ONCE(limits->max_retained_bytes));
	if (f->retain_err && f->retain_err != -EOPNOTSUPP)
		net_info_ratelimited("kmqtt: retained message not stored: %s\n",
				     f->retain_err == -ENOSPC ?
				     "limit reached" : "out of memory");
	return 0;

fail:
	/*
	 * A publisher waiting for memory holds none of it meanwhile, so its
	 * retry needs the spares it gives back too.
	 */
	if (ret == -ENOSPC)
		f->refused += f->n_spare * sizeof(struct kmqtt_delivery);
	kmqtt_fanout_trim(broker, f, 0);
	/* Not fanned out at all. */
	f->match_kept = false;
	return ret;
}

/*
 * May @from publish on @msg's topic (its mount point included)?  Not on
 * the broker's own topics, unless it is a bridge link of this broker.
 */
static bool kmqtt_publish_allowed(struct kmqtt_conn *from,
				  const struct kmqtt_msg *msg)
{
	const u8 *topic = kmqtt_msg_topic(msg);
	bool ok = (from->bridge ||
		   !kmqtt_acl_broker_owned(topic, msg->topic_len)) &&
		  kmqtt_session_allows(from->session, topic, msg->topic_len,
				       KMQTT_ACL_WRITE);

	if (!ok)
		atomic64_inc(&from->broker->acl_denied);
	return ok;
}

int kmqtt_publish(struct kmqtt_conn *from, const struct kmqtt_publish *pub,
		  const u8 *prefix, u16 prefix_len, u8 *reason)
{
	struct kmqtt_msg *spare = from->fanout.spare_msg;
	struct kmqtt_broker *broker = from->broker;
	struct kmqtt_msg *msg;
	bool reused, kept = false;
	int ret = 0;

	/* What a retry needs room for: the message, and its deliveries. */
	from->refused = kmqtt_msg_charge(prefix_len + pub->topic_len,
					 kmqtt_codec_varint_size(pub->props.forward_len) +
					 pub->props.forward_len +
					 pub->payload_len);
	msg = kmqtt_msg_create(broker, prefix, prefix_len,
			       pub->topic, pub->topic_len, &pub->props,
			       pub->payload, pub->payload_len, pub->qos,
			       GFP_KERNEL, &from->fanout.spare_msg);
	/* A spare of another size class was freed, not its memory taken. */
	reused = spare && msg == spare;
	if (IS_ERR(msg)) {
		ret = PTR_ERR(msg);
	} else if (!kmqtt_publish_allowed(from, msg)) {
		/* Acknowledged and dropped (3.1.1); 5.0 says why. */
		*reason = MQTT_RC_NOT_AUTHORIZED;
		kmqtt_msg_put_spare(msg, &from->fanout.spare_msg);
	} else {
		ret = kmqtt_publish_msg(broker, msg, pub->retain,
					from->session, &from->fanout);
		kept = from->fanout.match_kept;
		*reason = from->fanout.last_n ? MQTT_RC_SUCCESS :
			  MQTT_RC_NO_MATCHING_SUBSCRIBERS;
		from->refused += from->fanout.refused;
		kmqtt_msg_put_spare(msg, &from->fanout.spare_msg);
	}
	/* Not taken: handled, and counted, again when it can be. */
	if (ret && pub->qos)
		return ret;
	if (reused)
		kmqtt_counter_add(&from->counters.rx_reused, 1);
	if (kept)
		kmqtt_counter_add(&from->counters.rx_match_kept, 1);
	if (!ret)
		return 0;
	/* QoS 0 is shed and the publisher kept. */
	kmqtt_broker_dropped(broker, from->session, KMQTT_DROP_NO_MEMORY, 1);
	net_warn_ratelimited("kmqtt: message dropped: %s\n",
			     ret == -ENOSPC ? "memory limit reached" :
			     "out of memory");
	return 0;
}
