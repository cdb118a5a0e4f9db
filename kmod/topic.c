// SPDX-License-Identifier: GPL-2.0
/*
 * The subscription trie (see topic.h).
 *
 * Literal children are found through one hash table per tree keyed by
 * (parent node, level name), not a table per node: most nodes have no or a
 * few children and a table each would cost memory on every one of them,
 * while fan-outs of thousands ("devices/<id>/...") sit at a few levels.  One
 * table serves both with O(1) lookups.  Clients choose level names, so names
 * are hashed with a per-tree secret key (hsiphash) to keep anyone from aiming
 * at one bucket.
 *
 * The table doubles when it holds more nodes than buckets, under RCU: each
 * node has two links; the bigger table is built through the link the current
 * one does not use, then published, and the old table is freed after a grace
 * period, which frees its link for the next doubling.  A writer waits for that
 * grace period about log2(nodes) times in the life of a tree.  It never
 * shrinks.
 *
 * '+' and '#' children hang off their parent (plus, multi) so that a match
 * costs one lookup and two pointer reads per level and node.  They are in the
 * table as well only so that destroy finds every node.
 *
 * (node, subscriber) pairs are also hashed, in a table only writers read, so
 * that subscribing to a filter with many subscribers does not scan them all.
 *
 * Matching walks the trie depth first without recursion or allocation: a node
 * knows its parent, and the level of the topic a node stands for is found
 * again from the position of the level below it.  A topic can have 65536
 * levels; a recursive walk could overflow the kernel stack.
 */
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <linux/bits.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/rculist.h>
#include <linux/hash.h>
#include <asm/barrier.h>
#include <linux/siphash.h>
#include <linux/random.h>
#include <kmqtt/mqtt.h>

#include "codec.h"
#include "topic.h"

/* Sizes of the node and subscription tables, as powers of two. */
#define KMQTT_TOPIC_HASH_MIN_BITS	6
#define KMQTT_TOPIC_HASH_MAX_BITS	24

/*
 * First capacity of a match set's array, and the most it keeps while
 * unused: 4 matches and their index fit in 192 bytes.
 */
#define KMQTT_TOPIC_MATCH_MIN	4

/* Writers are serialised by the caller; see topic.h. */
#define kmqtt_topic_deref_w(p)	rcu_dereference_protected(p, 1)

enum kmqtt_topic_kind {
	KMQTT_TOPIC_LITERAL,
	KMQTT_TOPIC_PLUS,
	KMQTT_TOPIC_MULTI,
};

struct kmqtt_topic_node {
	struct hlist_node hash[2];		/* see kmqtt_topic_table */
	struct kmqtt_topic_node *parent;	/* NULL for the root */
	struct kmqtt_topic_node __rcu *plus;
	struct kmqtt_topic_node __rcu *multi;
	struct hlist_head subs;			/* kmqtt_topic_sub.link */
	u32 children;				/* of all kinds, for pruning */
	u32 hash_val;
	u16 len;
	u8 kind;
	struct rcu_head rcu;
	u8 name[];
};

/* One (filter, subscriber) pair, on the node of the filter's last level. */
struct kmqtt_topic_sub {
	struct hlist_node link;			/* in node->subs, read under RCU */
	struct hlist_node hash;			/* in index->subs, writers only */
	struct kmqtt_topic_node *node;
	void *subscriber;
	u32 sub_id;
	u8 options;
	struct rcu_head rcu;
};

/* All nodes but the root, chained through node->hash[link]. */
struct kmqtt_topic_table {
	u8 bits;
	u8 link;
	struct hlist_head buckets[];
};

/* Allocated on the first subscribe, freed by destroy; tree->root points in. */
struct kmqtt_topic_index {
	hsiphash_key_t key;
	struct kmqtt_topic_table __rcu *nodes;
	struct hlist_head *subs;		/* writers only */
	u8 sub_bits;
	struct kmqtt_topic_node root;		/* last: it ends in name[] */
};

static struct kmqtt_topic_index *
kmqtt_topic_index_of(const struct kmqtt_topic_node *root)
{
	return container_of(root, struct kmqtt_topic_index, root);
}

bool kmqtt_topic_name_valid(const u8 *name, size_t len)
{
	size_t i;

	if (!len || len > MQTT_MAX_TOPIC_LEN)		/* MQTT-4.7.3-1 */
		return false;
	/*
	 * Every PUBLISH comes through here, and most topics are ASCII: one
	 * pass checks them, up to the first byte that is not.
	 */
	for (i = 0; i < len && name[i] < 0x80; i++)
		if (name[i] == MQTT_WILDCARD_SINGLE ||	/* MQTT-3.3.2-2 */
		    name[i] == MQTT_WILDCARD_MULTI || !name[i])	/* MQTT-1.5.3-2 */
			return false;
	if (i == len)
		return true;
	name += i;
	len -= i;
	if (memchr(name, MQTT_WILDCARD_SINGLE, len) ||	/* MQTT-3.3.2-2 */
	    memchr(name, MQTT_WILDCARD_MULTI, len))
		return false;
	return kmqtt_codec_utf8_valid(name, len);
}

u32 kmqtt_topic_levels(const u8 *s, size_t len)
{
	const u8 *end = s + len;
	u32 levels = 1;

	while ((s = memchr(s, MQTT_TOPIC_SEP, end - s))) {
		levels++;
		s++;
	}
	return levels;
}

/* End of the level that starts at @pos: the next '/' or @len. */
static size_t kmqtt_topic_level_end(const u8 *s, size_t len, size_t pos)
{
	const u8 *sep = memchr(s + pos, MQTT_TOPIC_SEP, len - pos);

	if (!sep)
		return len;
	return sep - s;
}

/* Start of the level that ends at @end. */
static size_t kmqtt_topic_level_start(const u8 *s, size_t end)
{
	while (end && s[end - 1] != MQTT_TOPIC_SEP)
		end--;
	return end;
}

bool kmqtt_topic_filter_valid(const u8 *filter, size_t len)
{
	size_t pos = 0, end, i;

	if (!len || len > MQTT_MAX_TOPIC_LEN)		/* MQTT-4.7.3-1 */
		return false;
	do {
		end = kmqtt_topic_level_end(filter, len, pos);
		for (i = pos; i < end; i++) {
			if (filter[i] != MQTT_WILDCARD_SINGLE &&
			    filter[i] != MQTT_WILDCARD_MULTI)
				continue;
			if (end - pos != 1)		/* MQTT-4.7.1-2, -3 */
				return false;
			if (filter[i] == MQTT_WILDCARD_MULTI && end != len)
				return false;		/* MQTT-4.7.1-2 */
		}
		pos = end + 1;
	} while (pos <= len);
	return kmqtt_codec_utf8_valid(filter, len);
}

int kmqtt_topic_share_split(const u8 *filter, size_t len,
			    const u8 **topic_filter, size_t *topic_len)
{
	static const char prefix[] = "$share/";
	const size_t plen = sizeof(prefix) - 1;
	const u8 *group = filter + plen, *sep;

	if (len < plen || memcmp(filter, prefix, plen))
		return 0;
	sep = memchr(group, MQTT_TOPIC_SEP, len - plen);
	/* A valid filter has wildcards alone in their level. */
	if (!sep || sep == group || (sep - group == 1 &&
				     (*group == MQTT_WILDCARD_SINGLE ||
				      *group == MQTT_WILDCARD_MULTI)) ||
	    sep + 1 == filter + len)
		return -EINVAL;
	*topic_filter = sep + 1;
	*topic_len = filter + len - (sep + 1);
	return 1;
}

static enum kmqtt_topic_kind kmqtt_topic_kind_of(const u8 *name, size_t len)
{
	if (len == 1 && name[0] == MQTT_WILDCARD_SINGLE)
		return KMQTT_TOPIC_PLUS;
	if (len == 1 && name[0] == MQTT_WILDCARD_MULTI)
		return KMQTT_TOPIC_MULTI;
	return KMQTT_TOPIC_LITERAL;
}

bool kmqtt_topic_filter_matches(const u8 *filter, size_t filter_len,
				const u8 *topic, size_t topic_len)
{
	size_t f = 0, t = 0, fe, te;

	/* MQTT-4.7.2-1 */
	if (topic_len && topic[0] == '$' && filter_len &&
	    (filter[0] == MQTT_WILDCARD_SINGLE ||
	     filter[0] == MQTT_WILDCARD_MULTI))
		return false;
	for (;;) {
		fe = kmqtt_topic_level_end(filter, filter_len, f);
		te = kmqtt_topic_level_end(topic, topic_len, t);
		switch (kmqtt_topic_kind_of(filter + f, fe - f)) {
		case KMQTT_TOPIC_MULTI:
			return true;
		case KMQTT_TOPIC_PLUS:
			break;
		default:
			if (fe - f != te - t ||
			    memcmp(filter + f, topic + t, fe - f))
				return false;
		}
		if (fe == filter_len)
			return te == topic_len;
		if (te == topic_len)	/* "sport/#" matches "sport": 4.7.1.2 */
			return filter_len - fe == 2 &&
			       filter[fe + 1] == MQTT_WILDCARD_MULTI;
		f = fe + 1;
		t = te + 1;
	}
}

static u32 kmqtt_topic_node_hash(const struct kmqtt_topic_index *idx,
				 const struct kmqtt_topic_node *parent,
				 const u8 *name, size_t len)
{
	return hsiphash(name, len, &idx->key) ^ hash_ptr(parent, 32);
}

static u32 kmqtt_topic_sub_bucket(const struct kmqtt_topic_index *idx,
				  const struct kmqtt_topic_node *node,
				  const void *subscriber)
{
	return (hash_ptr(node, 32) ^ hash_ptr(subscriber, 32)) &
	       (BIT(idx->sub_bits) - 1);
}

static struct hlist_head *kmqtt_topic_bucket(struct kmqtt_topic_table *tbl,
					     u32 hash_val)
{
	return &tbl->buckets[hash_val & (BIT(tbl->bits) - 1)];
}

/* The node whose link number @link is @pos. */
static struct kmqtt_topic_node *kmqtt_topic_node_of(struct hlist_node *pos,
						    u8 link)
{
	return container_of(pos - link, struct kmqtt_topic_node, hash[0]);
}

/*
 * The literal child @name of @parent in @tbl.  Readers hold rcu_read_lock(),
 * writers are serialised by the caller: both may walk the chain, hence the
 * raw dereferences.
 */
static struct kmqtt_topic_node *
kmqtt_topic_lookup(const struct kmqtt_topic_index *idx,
		   struct kmqtt_topic_table *tbl,
		   const struct kmqtt_topic_node *parent,
		   const u8 *name, size_t len)
{
	u32 h = kmqtt_topic_node_hash(idx, parent, name, len);
	struct hlist_head *head = kmqtt_topic_bucket(tbl, h);
	struct kmqtt_topic_node *node;
	struct hlist_node *pos;

	for (pos = rcu_dereference_raw(hlist_first_rcu(head)); pos;
	     pos = rcu_dereference_raw(hlist_next_rcu(pos))) {
		node = kmqtt_topic_node_of(pos, tbl->link);
		if (node->hash_val == h && node->parent == parent &&
		    node->kind == KMQTT_TOPIC_LITERAL && node->len == len &&
		    !memcmp(node->name, name, len))
			return node;
	}
	return NULL;
}

static struct kmqtt_topic_table *kmqtt_topic_table_alloc(u8 bits, u8 link)
{
	struct kmqtt_topic_table *tbl;

	tbl = kvzalloc(sizeof(*tbl) + sizeof(tbl->buckets[0]) * BIT(bits),
		       GFP_KERNEL);
	if (tbl) {
		tbl->bits = bits;
		tbl->link = link;
	}
	return tbl;
}

/* Double the node table; on failure keep the old one, chains get longer. */
static void kmqtt_topic_grow_nodes(struct kmqtt_topic_index *idx)
{
	struct kmqtt_topic_table *old = kmqtt_topic_deref_w(idx->nodes), *new;
	struct kmqtt_topic_node *node;
	struct hlist_node *pos;
	u32 i;

	if (old->bits >= KMQTT_TOPIC_HASH_MAX_BITS)
		return;
	new = kmqtt_topic_table_alloc(old->bits + 1, !old->link);
	if (!new)
		return;
	for (i = 0; i < BIT(old->bits); i++) {
		hlist_for_each(pos, &old->buckets[i]) {
			node = kmqtt_topic_node_of(pos, old->link);
			hlist_add_head(&node->hash[new->link],
				       kmqtt_topic_bucket(new, node->hash_val));
		}
	}
	rcu_assign_pointer(idx->nodes, new);
	/* Readers still on @old follow the links the next doubling reuses. */
	synchronize_rcu();
	kvfree(old);
}

/* Double the subscription table (writers only: no RCU needed). */
static void kmqtt_topic_grow_subs(struct kmqtt_topic_index *idx)
{
	struct hlist_head *old = idx->subs;
	u32 i, old_size = BIT(idx->sub_bits);
	struct kmqtt_topic_sub *s;
	struct hlist_node *tmp;

	if (idx->sub_bits >= KMQTT_TOPIC_HASH_MAX_BITS)
		return;
	idx->subs = kvcalloc(old_size * 2, sizeof(*idx->subs), GFP_KERNEL);
	if (!idx->subs) {
		idx->subs = old;
		return;
	}
	idx->sub_bits++;
	for (i = 0; i < old_size; i++) {
		hlist_for_each_entry_safe(s, tmp, &old[i], hash) {
			u32 b = kmqtt_topic_sub_bucket(idx, s->node,
						       s->subscriber);

			hlist_add_head(&s->hash, &idx->subs[b]);
		}
	}
	kvfree(old);
}

/* Writers: the child of @parent for the filter level @name, if any. */
static struct kmqtt_topic_node *
kmqtt_topic_child(const struct kmqtt_topic_index *idx,
		  struct kmqtt_topic_node *parent, const u8 *name, size_t len)
{
	switch (kmqtt_topic_kind_of(name, len)) {
	case KMQTT_TOPIC_PLUS:
		return kmqtt_topic_deref_w(parent->plus);
	case KMQTT_TOPIC_MULTI:
		return kmqtt_topic_deref_w(parent->multi);
	default:
		return kmqtt_topic_lookup(idx, kmqtt_topic_deref_w(idx->nodes),
					  parent, name, len);
	}
}

/* @size bytes for a node or an entry, if the owner accounts for them. */
static void *kmqtt_topic_alloc(struct kmqtt_topic_tree *tree, size_t size)
{
	void *p;

	if (!tree->acct->charge(tree, size))
		return NULL;
	p = kmalloc(size, GFP_KERNEL);
	if (!p)
		tree->acct->uncharge(tree, size);
	return p;
}

static size_t kmqtt_topic_node_size(size_t len)
{
	return sizeof(struct kmqtt_topic_node) + len;
}

static struct kmqtt_topic_node *
kmqtt_topic_child_get(struct kmqtt_topic_tree *tree,
		      struct kmqtt_topic_index *idx,
		      struct kmqtt_topic_node *parent, const u8 *name, size_t len)
{
	struct kmqtt_topic_node *child = kmqtt_topic_child(idx, parent, name, len);
	struct kmqtt_topic_table *tbl = kmqtt_topic_deref_w(idx->nodes);

	if (child)
		return child;
	child = kmqtt_topic_alloc(tree, kmqtt_topic_node_size(len));
	if (!child)
		return NULL;
	child->parent = parent;
	RCU_INIT_POINTER(child->plus, NULL);
	RCU_INIT_POINTER(child->multi, NULL);
	INIT_HLIST_HEAD(&child->subs);
	child->children = 0;
	child->hash_val = kmqtt_topic_node_hash(idx, parent, name, len);
	child->len = len;
	child->kind = kmqtt_topic_kind_of(name, len);
	memcpy(child->name, name, len);

	hlist_add_head_rcu(&child->hash[tbl->link],
			   kmqtt_topic_bucket(tbl, child->hash_val));
	if (child->kind == KMQTT_TOPIC_PLUS)
		rcu_assign_pointer(parent->plus, child);
	else if (child->kind == KMQTT_TOPIC_MULTI)
		rcu_assign_pointer(parent->multi, child);
	parent->children++;
	tree->nodes++;
	if (tree->nodes > BIT(tbl->bits))
		kmqtt_topic_grow_nodes(idx);
	return child;
}

/* Remove @node and its ancestors while they hold nothing. */
static void kmqtt_topic_prune(struct kmqtt_topic_tree *tree,
			      struct kmqtt_topic_index *idx,
			      struct kmqtt_topic_node *node)
{
	while (node != &idx->root && !node->children &&
	       hlist_empty(&node->subs)) {
		struct kmqtt_topic_node *parent = node->parent;
		u8 link = kmqtt_topic_deref_w(idx->nodes)->link;

		hlist_del_rcu(&node->hash[link]);
		if (node->kind == KMQTT_TOPIC_PLUS)
			RCU_INIT_POINTER(parent->plus, NULL);
		else if (node->kind == KMQTT_TOPIC_MULTI)
			RCU_INIT_POINTER(parent->multi, NULL);
		parent->children--;
		tree->nodes--;
		tree->acct->uncharge(tree, kmqtt_topic_node_size(node->len));
		kfree_rcu(node, rcu);
		node = parent;
	}
}

/* What some topic matches has changed. */
static void kmqtt_topic_changed(struct kmqtt_topic_tree *tree)
{
	/* After the change: a reader that sees the new generation sees it. */
	smp_store_release(&tree->gen, tree->gen + 1);
}

unsigned long kmqtt_topic_gen(const struct kmqtt_topic_tree *tree)
{
	/* Pairs with kmqtt_topic_changed(): a match after it sees the tree. */
	return smp_load_acquire(&tree->gen);
}

static struct kmqtt_topic_sub *
kmqtt_topic_sub_find(struct kmqtt_topic_index *idx,
		     const struct kmqtt_topic_node *node, const void *subscriber)
{
	u32 bucket = kmqtt_topic_sub_bucket(idx, node, subscriber);
	struct kmqtt_topic_sub *s;

	hlist_for_each_entry(s, &idx->subs[bucket], hash) {
		if (s->node == node && s->subscriber == subscriber)
			return s;
	}
	return NULL;
}

void kmqtt_topic_tree_init(struct kmqtt_topic_tree *tree,
			   const struct kmqtt_topic_acct *acct)
{
	RCU_INIT_POINTER(tree->root, NULL);
	tree->acct = acct;
	tree->nodes = 0;
	tree->entries = 0;
	tree->gen = 0;
}

void kmqtt_topic_tree_destroy(struct kmqtt_topic_tree *tree)
{
	struct kmqtt_topic_node *root = kmqtt_topic_deref_w(tree->root);
	struct kmqtt_topic_node *node;
	struct kmqtt_topic_table *tbl;
	struct kmqtt_topic_index *idx;
	struct kmqtt_topic_sub *s;
	struct hlist_node *pos, *tmp;
	u32 i;

	if (!root)
		return;
	idx = kmqtt_topic_index_of(root);
	for (i = 0; i < BIT(idx->sub_bits); i++) {
		hlist_for_each_entry_safe(s, tmp, &idx->subs[i], hash) {
			tree->acct->uncharge(tree, sizeof(*s));
			kfree(s);
		}
	}
	tbl = kmqtt_topic_deref_w(idx->nodes);
	for (i = 0; i < BIT(tbl->bits); i++) {
		hlist_for_each_safe(pos, tmp, &tbl->buckets[i]) {
			node = kmqtt_topic_node_of(pos, tbl->link);
			tree->acct->uncharge(tree,
					     kmqtt_topic_node_size(node->len));
			kfree(node);
		}
	}
	kvfree(idx->subs);
	kvfree(tbl);
	kfree(idx);
	RCU_INIT_POINTER(tree->root, NULL);
	tree->nodes = 0;
	tree->entries = 0;
	kmqtt_topic_changed(tree);
}

static struct kmqtt_topic_index *
kmqtt_topic_index_get(struct kmqtt_topic_tree *tree)
{
	struct kmqtt_topic_node *root = kmqtt_topic_deref_w(tree->root);
	struct kmqtt_topic_index *idx;

	if (root)
		return kmqtt_topic_index_of(root);
	idx = kzalloc(sizeof(*idx), GFP_KERNEL);
	if (!idx)
		return NULL;
	idx->subs = kvcalloc(BIT(KMQTT_TOPIC_HASH_MIN_BITS), sizeof(*idx->subs),
			     GFP_KERNEL);
	RCU_INIT_POINTER(idx->nodes,
			 kmqtt_topic_table_alloc(KMQTT_TOPIC_HASH_MIN_BITS, 0));
	if (!idx->subs || !rcu_access_pointer(idx->nodes)) {
		kvfree(idx->subs);
		kvfree(rcu_access_pointer(idx->nodes));
		kfree(idx);
		return NULL;
	}
	idx->sub_bits = KMQTT_TOPIC_HASH_MIN_BITS;
	get_random_bytes(&idx->key, sizeof(idx->key));
	INIT_HLIST_HEAD(&idx->root.subs);
	rcu_assign_pointer(tree->root, &idx->root);
	return idx;
}

int kmqtt_topic_subscribe(struct kmqtt_topic_tree *tree, const u8 *filter,
			  size_t len, void *subscriber, u8 options, u32 sub_id)
{
	struct kmqtt_topic_node *node, *parent;
	struct kmqtt_topic_index *idx;
	struct kmqtt_topic_sub *s;
	size_t pos = 0, end;

	if (!len || len > MQTT_MAX_TOPIC_LEN)
		return -EINVAL;
	idx = kmqtt_topic_index_get(tree);
	if (!idx)
		return -ENOMEM;

	node = &idx->root;
	do {
		end = kmqtt_topic_level_end(filter, len, pos);
		parent = node;
		node = kmqtt_topic_child_get(tree, idx, parent, filter + pos,
					     end - pos);
		if (!node)
			goto nomem;
		pos = end + 1;
	} while (pos <= len);

	s = kmqtt_topic_sub_find(idx, node, subscriber);
	if (s) {
		WRITE_ONCE(s->options, options);
		WRITE_ONCE(s->sub_id, sub_id);
		kmqtt_topic_changed(tree);
		return 0;
	}
	s = kmqtt_topic_alloc(tree, sizeof(*s));
	if (!s) {
		parent = node;
		goto nomem;
	}
	s->node = node;
	s->subscriber = subscriber;
	s->options = options;
	s->sub_id = sub_id;
	hlist_add_head(&s->hash,
		       &idx->subs[kmqtt_topic_sub_bucket(idx, node, subscriber)]);
	hlist_add_head_rcu(&s->link, &node->subs);
	tree->entries++;
	kmqtt_topic_changed(tree);
	if (tree->entries > BIT(idx->sub_bits))
		kmqtt_topic_grow_subs(idx);
	return 1;

nomem:
	kmqtt_topic_prune(tree, idx, parent);	/* the nodes made for it */
	return -ENOMEM;
}

int kmqtt_topic_unsubscribe(struct kmqtt_topic_tree *tree, const u8 *filter,
			    size_t len, void *subscriber)
{
	struct kmqtt_topic_node *node = kmqtt_topic_deref_w(tree->root);
	struct kmqtt_topic_index *idx;
	struct kmqtt_topic_sub *s;
	size_t pos = 0, end;

	if (!node || !len || len > MQTT_MAX_TOPIC_LEN)
		return -ENOENT;
	idx = kmqtt_topic_index_of(node);
	do {
		end = kmqtt_topic_level_end(filter, len, pos);
		node = kmqtt_topic_child(idx, node, filter + pos, end - pos);
		if (!node)
			return -ENOENT;
		pos = end + 1;
	} while (pos <= len);

	s = kmqtt_topic_sub_find(idx, node, subscriber);
	if (!s)
		return -ENOENT;
	hlist_del(&s->hash);
	hlist_del_rcu(&s->link);
	tree->entries--;
	kmqtt_topic_changed(tree);
	tree->acct->uncharge(tree, sizeof(*s));
	kfree_rcu(s, rcu);
	kmqtt_topic_prune(tree, idx, node);
	return 0;
}

/*
 * Duplicates (one subscriber through several filters) are merged as they
 * come through an open-addressing index on the subscriber pointer, O(1) per
 * match, with no indirect calls.  The index lives in the same allocation as
 * set->v, after its cap entries, so the caller still owns one array: slot
 * values are entry numbers + 1, 0 is empty.  It is all zero between matches:
 * the entries are taken out again in the reverse order of their insertion,
 * which leaves linear probing chains intact.
 */
struct kmqtt_topic_collector {
	struct kmqtt_match_set *set;
	gfp_t gfp;
	u32 bits;		/* the index has 2^bits slots */
	bool no_memory;		/* do not retry a failed allocation */
};

/* The index has a power of two slots, at least twice the capacity. */
static u32 kmqtt_topic_index_bits(u32 cap)
{
	u32 bits = 1;

	while ((1ULL << bits) < 2ULL * cap)
		bits++;
	return bits;
}

/* After the entries: one block of subscription identifiers per entry. */
static u32 *kmqtt_topic_id_block(const struct kmqtt_match_set *set, u32 block)
{
	return (u32 *)(set->v + set->cap) + block * KMQTT_MATCH_SUB_IDS;
}

/* After the blocks: the index. */
static u32 *kmqtt_topic_index(const struct kmqtt_match_set *set)
{
	return kmqtt_topic_id_block(set, set->cap);
}

/* The slot holding @subscriber, or the empty slot where it would go. */
static u32 *kmqtt_topic_index_slot(const struct kmqtt_topic_collector *c,
				   const void *subscriber)
{
	const struct kmqtt_match_set *set = c->set;
	u32 *index = kmqtt_topic_index(set);
	u32 mask = (1ULL << c->bits) - 1, i = hash_ptr(subscriber, c->bits);

	while (index[i] && set->v[index[i] - 1].subscriber != subscriber)
		i = (i + 1) & mask;
	return &index[i];
}

/*
 * Give set->v room for @cap entries, keeping its first set->n and their
 * identifiers, and an empty index.  A million matches take 48 MiB:
 * vmalloc where @gfp may sleep.  Freeing vmalloc'd memory may sleep too, so a set that has some
 * is not grown where @gfp may not: the caller grows it outside its RCU
 * read section and matches again.
 */
static bool kmqtt_topic_set_resize(struct kmqtt_match_set *set, u32 cap,
				   gfp_t gfp)
{
	u32 bits = kmqtt_topic_index_bits(cap);
	u64 bytes = (u64)cap * (sizeof(*set->v) +
				KMQTT_MATCH_SUB_IDS * sizeof(u32)) +
		    (sizeof(u32) << bits);
	u32 old_cap = set->cap;
	struct kmqtt_match *v;

	if (is_vmalloc_addr(set->v) && !gfpflags_allow_blocking(gfp))
		return false;
	v = bytes == (size_t)bytes ? kvmalloc(bytes, gfp | __GFP_NOWARN) : NULL;
	if (!v)
		return false;
	if (set->v) {
		memcpy(v, set->v, min(set->n, cap) * sizeof(*v));
		memcpy(v + cap, set->v + old_cap, min(set->id_blocks, cap) *
		       KMQTT_MATCH_SUB_IDS * sizeof(u32));
	}
	kvfree(set->v);
	set->v = v;
	set->cap = cap;
	memset(kmqtt_topic_index(set), 0, sizeof(u32) << bits);
	return true;
}

/* Grow set->v and rebuild its index; false if the set cannot grow. */
static bool kmqtt_topic_match_grow(struct kmqtt_topic_collector *c)
{
	struct kmqtt_match_set *set = c->set;
	u32 i, cap;

	if (set->cap >= set->max || c->no_memory)
		return false;
	cap = min_t(u64, set->max,
		    max_t(u64, KMQTT_TOPIC_MATCH_MIN, 2ULL * set->cap));
	if (!kmqtt_topic_set_resize(set, cap, c->gfp)) {
		c->no_memory = true;
		return false;
	}
	c->bits = kmqtt_topic_index_bits(cap);
	for (i = 0; i < set->n; i++)
		*kmqtt_topic_index_slot(c, set->v[i].subscriber) = i + 1;
	return true;
}

int kmqtt_topic_match_set_reserve(struct kmqtt_match_set *set, u32 n,
				  gfp_t gfp)
{
	u32 cap = min(max_t(u32, n, KMQTT_TOPIC_MATCH_MIN), set->max);

	if (set->cap >= cap)
		return 0;
	return kmqtt_topic_set_resize(set, cap, gfp) ? 0 : -ENOMEM;
}

/*
 * One more subscription identifier for @m, a subscriber matched before:
 * its second moves both to a block of their own.
 */
static void kmqtt_topic_add_sub_id(struct kmqtt_match_set *set,
				   struct kmqtt_match *m, u32 sub_id)
{
	const u32 *have = kmqtt_match_sub_ids(set, m);
	u32 *block;
	u8 i;

	/* One SUBSCRIBE gives all its filters the same: sent once. */
	for (i = 0; i < m->n_sub_ids; i++)
		if (have[i] == sub_id)
			return;
	if (!m->n_sub_ids) {
		m->sub_id = sub_id;
	} else if (m->n_sub_ids == KMQTT_MATCH_SUB_IDS) {
		set->sub_ids_left_out++;
		return;
	} else if (m->n_sub_ids == 1) {
		block = kmqtt_topic_id_block(set, set->id_blocks);
		block[0] = m->sub_id;
		block[1] = sub_id;
		m->sub_id = set->id_blocks++;
	} else {
		kmqtt_topic_id_block(set, m->sub_id)[m->n_sub_ids] = sub_id;
	}
	m->n_sub_ids++;
}

static void kmqtt_topic_collect(struct kmqtt_topic_collector *c,
				void *subscriber, u8 options, u32 sub_id)
{
	struct kmqtt_match_set *set = c->set;
	struct kmqtt_match *m;
	u32 *slot;

	if (!set->cap && !kmqtt_topic_match_grow(c)) {
		set->overflow++;
		return;
	}
	slot = kmqtt_topic_index_slot(c, subscriber);
	if (*slot) {
		m = &set->v[*slot - 1];
		if ((options & MQTT_SUBOPT_QOS_MASK) >
		    (m->options & MQTT_SUBOPT_QOS_MASK))
			m->options = options;
		if (sub_id)
			kmqtt_topic_add_sub_id(set, m, sub_id);
		return;
	}
	if (set->n >= min(set->cap, set->max)) {
		if (set->n >= set->max || !kmqtt_topic_match_grow(c)) {
			set->overflow++;
			return;
		}
		slot = kmqtt_topic_index_slot(c, subscriber);
	}
	m = &set->v[set->n++];
	m->subscriber = subscriber;
	m->options = options;
	m->sub_id = sub_id;
	m->n_sub_ids = !!sub_id;
	*slot = set->n;
}

/* Empty the index for the next match. */
static void kmqtt_topic_index_clear(const struct kmqtt_topic_collector *c)
{
	u32 i;

	for (i = c->set->n; i > 0; i--)
		*kmqtt_topic_index_slot(c, c->set->v[i - 1].subscriber) = 0;
}

static void kmqtt_topic_collect_node(struct kmqtt_topic_collector *c,
				     const struct kmqtt_topic_node *node)
{
	const struct kmqtt_topic_sub *s;

	hlist_for_each_entry_rcu(s, &node->subs, link)
		kmqtt_topic_collect(c, s->subscriber, READ_ONCE(s->options),
				    READ_ONCE(s->sub_id));
}

/*
 * The next child of @node to visit for the topic level @level: the literal
 * child first, then '+'.  @prev is the child just left (NULL when @node was
 * just entered).  @wild is false at the root for a '$' topic (MQTT-4.7.2-1).
 */
static struct kmqtt_topic_node *
kmqtt_topic_next_child(const struct kmqtt_topic_index *idx,
		       struct kmqtt_topic_table *tbl,
		       const struct kmqtt_topic_node *node,
		       const struct kmqtt_topic_node *prev,
		       const u8 *level, size_t len, bool wild)
{
	struct kmqtt_topic_node *child;

	if (!prev) {
		child = kmqtt_topic_lookup(idx, tbl, node, level, len);
		if (child)
			return child;
	} else if (prev->kind != KMQTT_TOPIC_LITERAL) {
		return NULL;
	}
	return wild ? rcu_dereference(node->plus) : NULL;
}

void kmqtt_topic_match(const struct kmqtt_topic_tree *tree, const u8 *topic,
		       size_t len, struct kmqtt_match_set *set, gfp_t gfp)
{
	struct kmqtt_topic_collector c = {
		.set = set,
		.gfp = gfp,
		.bits = kmqtt_topic_index_bits(set->cap),
	};
	struct kmqtt_topic_node *root, *node, *prev = NULL, *child;
	bool dollar = len && topic[0] == '$';
	const struct kmqtt_topic_index *idx;
	struct kmqtt_topic_table *tbl;
	/* The level below node is topic[pos, end); pos > len past the last. */
	size_t pos = 0, end = 0;

	set->n = 0;
	set->overflow = 0;
	set->id_blocks = 0;
	set->sub_ids_left_out = 0;
	root = rcu_dereference(tree->root);
	if (!root || !len || len > MQTT_MAX_TOPIC_LEN)
		return;
	idx = kmqtt_topic_index_of(root);
	tbl = rcu_dereference(idx->nodes);

	node = root;
	for (;;) {
		bool wild = node != root || !dollar;

		if (prev) {
			child = kmqtt_topic_next_child(idx, tbl, node, prev,
						       topic + pos, end - pos,
						       wild);
		} else {
			/* '#' also matches the parent level: MQTT-4.7.1-2 */
			child = rcu_dereference(node->multi);
			if (child && wild)
				kmqtt_topic_collect_node(&c, child);
			child = NULL;
			if (pos > len) {
				kmqtt_topic_collect_node(&c, node);
			} else {
				end = kmqtt_topic_level_end(topic, len, pos);
				child = kmqtt_topic_next_child(idx, tbl, node,
							       NULL,
							       topic + pos,
							       end - pos, wild);
			}
		}
		if (child) {
			node = child;
			prev = NULL;
			pos = end + 1;
			continue;
		}
		if (node == root)
			break;
		prev = node;
		node = node->parent;
		end = pos - 1;
		pos = kmqtt_topic_level_start(topic, end);
	}

	if (set->cap)
		kmqtt_topic_index_clear(&c);
}

void kmqtt_topic_match_set_idle(struct kmqtt_match_set *set)
{
	if (set->cap > KMQTT_TOPIC_MATCH_MIN)
		kmqtt_topic_match_set_free(set);
}

void kmqtt_topic_match_set_free(struct kmqtt_match_set *set)
{
	kvfree(set->v);
	set->v = NULL;
	set->n = 0;
	set->cap = 0;
	set->overflow = 0;
	set->id_blocks = 0;
	set->sub_ids_left_out = 0;
}
