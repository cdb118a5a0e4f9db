/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The subscription trie: topic filters split into levels, one node per level,
 * subscribers hung on the node of their filter's last level.  Portable: this
 * file and topic.c build unchanged in userspace against tools/include.
 *
 * Concurrency: readers (kmqtt_topic_match) run under rcu_read_lock() and never
 * block.  Writers (subscribe, unsubscribe, destroy) must be serialised by the
 * caller (the per-netns subscription mutex); they may sleep (GFP_KERNEL) and
 * free nodes and entries only after an RCU grace period.
 */
#ifndef _KMQTT_TOPIC_H
#define _KMQTT_TOPIC_H

#include <linux/types.h>

struct kmqtt_topic_node;
struct kmqtt_topic_tree;

/*
 * How the owner of a tree accounts its memory: charge() is asked before
 * each node or entry is allocated and may refuse (the subscribe then fails
 * with -ENOMEM and leaves nothing behind); uncharge() gives the same bytes
 * back when the node or entry is unlinked, before the grace period that
 * frees it.  The index and its hash tables are not charged: they hold at
 * most two pointers per node or entry of the tree at its largest.
 */
struct kmqtt_topic_acct {
	bool (*charge)(struct kmqtt_topic_tree *tree, size_t size);
	void (*uncharge)(struct kmqtt_topic_tree *tree, size_t size);
};

struct kmqtt_topic_tree {
	struct kmqtt_topic_node __rcu *root;
	const struct kmqtt_topic_acct *acct;
	u32 nodes;		/* for limits and kmqttctl */
	u32 entries;		/* (filter, subscriber) pairs */
	unsigned long gen;	/* kmqtt_topic_gen() */
};

/*
 * Subscription identifiers (MQTT 5.0, 3.8.2.1.2) one match keeps for one
 * subscriber, at most: one per matching filter that has one, up to this
 * many.
 */
#define KMQTT_MATCH_SUB_IDS	4

struct kmqtt_match {
	void *subscriber;
	/*
	 * Its subscription identifiers: @sub_id itself when @n_sub_ids is 1,
	 * else the index of their block in the set (kmqtt_match_sub_ids()).
	 */
	u32 sub_id;
	/*
	 * The MQTT 5.0 subscription options byte (QoS in MQTT_SUBOPT_QOS_MASK)
	 * of the matching filter with the highest QoS.
	 */
	u8 options;
	u8 n_sub_ids;
};

/*
 * Result of one match: every subscriber at most once (a client whose
 * filters overlap gets one copy at the highest QoS granted, MQTT-3.3.5-1).
 * The caller owns the array and reuses it across matches; match grows it
 * with @gfp up to @max entries (the allocation also holds the blocks of
 * subscription identifiers and match's private dedup index after @cap
 * entries: only read v[0..n), free it with kmqtt_topic_match_set_free()).
 */
struct kmqtt_match_set {
	struct kmqtt_match *v;
	u32 n;
	u32 cap;
	u32 max;
	/*
	 * Matches left out: @max reached or no memory (counted once per
	 * matching filter of a subscriber left out).
	 */
	u32 overflow;
	/* Blocks of KMQTT_MATCH_SUB_IDS in use after v[cap]: one per entry. */
	u32 id_blocks;
	/* Subscription identifiers past KMQTT_MATCH_SUB_IDS, left out. */
	u32 sub_ids_left_out;
};

/* The @m->n_sub_ids subscription identifiers of the entry @m of @set. */
static inline const u32 *kmqtt_match_sub_ids(const struct kmqtt_match_set *set,
					     const struct kmqtt_match *m)
{
	if (m->n_sub_ids < 2)
		return &m->sub_id;
	return (const u32 *)(set->v + set->cap) +
	       m->sub_id * KMQTT_MATCH_SUB_IDS;
}

/*
 * Topic names (PUBLISH) and filters (SUBSCRIBE), per 4.7: 1..65535 bytes of
 * valid UTF-8 (kmqtt_codec_utf8_valid); a name has no wildcard
 * (MQTT-3.3.2-2); in a filter '#' is alone and last in its level
 * (MQTT-4.7.1-2) and '+' is alone in its level (MQTT-4.7.1-3).
 */
bool kmqtt_topic_name_valid(const u8 *name, size_t len);
bool kmqtt_topic_filter_valid(const u8 *filter, size_t len);

/*
 * A shared subscription's filter, "$share/GROUP/FILTER" (4.8.2): returns
 * 0 when @filter (valid) is not one; 1 with the FILTER part in @topic_filter
 * and @topic_len; -EINVAL for one without a group name or a filter, or
 * with a wildcard in the group name (MQTT-4.8.2-1, -2).
 */
int kmqtt_topic_share_split(const u8 *filter, size_t len,
			    const u8 **topic_filter, size_t *topic_len);

/*
 * Does the valid @filter match the valid topic name @topic?  One pair, no
 * tree: for the retained store, which matches a filter against topics.
 */
bool kmqtt_topic_filter_matches(const u8 *filter, size_t filter_len,
				const u8 *topic, size_t topic_len);

/* Levels of a topic name or filter: its '/' plus one. */
u32 kmqtt_topic_levels(const u8 *s, size_t len);

void kmqtt_topic_tree_init(struct kmqtt_topic_tree *tree,
			   const struct kmqtt_topic_acct *acct);

/*
 * Frees (and uncharges) everything; no reader may be left (caller did
 * synchronize_rcu()).
 */
void kmqtt_topic_tree_destroy(struct kmqtt_topic_tree *tree);

/*
 * Add (@subscriber, @filter) with @options and the subscription identifier
 * @sub_id (0 for none), or update those of an existing identical pair.
 * @filter must be valid.
 * Returns 1 if added, 0 if updated, -ENOMEM (no memory, or the owner refused
 * the charge), or -EINVAL when @len is 0 or above MQTT_MAX_TOPIC_LEN.
 */
int kmqtt_topic_subscribe(struct kmqtt_topic_tree *tree, const u8 *filter,
			  size_t len, void *subscriber, u8 options, u32 sub_id);

/* Remove the pair.  Returns 0 or -ENOENT.  Empty nodes are pruned. */
int kmqtt_topic_unsubscribe(struct kmqtt_topic_tree *tree, const u8 *filter,
			    size_t len, void *subscriber);

/*
 * The tree's generation: it changes with every subscribe and unsubscribe
 * that succeeds, after the change is visible to readers.  While it stays
 * the same, a match finds what it found before, and what it found is
 * still in the tree, so a reader may use an earlier match set of the same
 * topic as it is.  Read it before matching (it is an acquire), and under
 * the same rcu_read_lock() as the set is used.
 */
unsigned long kmqtt_topic_gen(const struct kmqtt_topic_tree *tree);

/*
 * Fill @set (after resetting its counts) with the subscribers whose
 * filters match the topic name @topic, deduplicated, each with the
 * identifiers of all its matching filters (MQTT-3.3.4-4).  A topic beginning with
 * '$' is not matched by a filter beginning with a wildcard (MQTT-4.7.2-1).
 * Caller holds rcu_read_lock(); @gfp must not sleep then.
 */
void kmqtt_topic_match(const struct kmqtt_topic_tree *tree, const u8 *topic,
		       size_t len, struct kmqtt_match_set *set, gfp_t gfp);

/*
 * Room for @n matches (at most set->max), so that a match finding no more
 * than that allocates nothing: 0 or -ENOMEM.
 */
int kmqtt_topic_match_set_reserve(struct kmqtt_match_set *set, u32 n,
				  gfp_t gfp);

/*
 * The set's owner has nothing to match for now: an array larger than
 * the first one a set takes is freed.
 */
void kmqtt_topic_match_set_idle(struct kmqtt_match_set *set);

/* Free the array of a match set. */
void kmqtt_topic_match_set_free(struct kmqtt_match_set *set);

#endif /* _KMQTT_TOPIC_H */
