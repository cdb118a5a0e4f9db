// SPDX-License-Identifier: GPL-2.0
/*
 * The retained message store: a red-black tree by topic, in byte order.
 * A filter without wildcards is one lookup.  A wildcard filter walks the
 * topics that begin with its literal part (all of them for "#" or "+/..."),
 * a bounded number per call, so that one SUBSCRIBE holds the store, and
 * its receive work, for a slice at a time; between slices the walk's place
 * is the topic last visited.
 */

#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "msg.h"
#include "retain.h"
#include "topic.h"

struct kmqtt_retained {
	struct rb_node node;
	struct kmqtt_msg *msg;
};

static struct kmqtt_retained *kmqtt_retained_of(struct rb_node *node)
{
	return node ? rb_entry(node, struct kmqtt_retained, node) : NULL;
}

/* Byte order, a topic before those it is the beginning of. */
static int kmqtt_retain_cmp(const u8 *a, u16 alen, const u8 *b, u16 blen)
{
	int ret = memcmp(a, b, min(alen, blen));

	return ret ? ret : (int)alen - (int)blen;
}

static int kmqtt_retain_cmp_msg(const u8 *topic, u16 len,
				const struct kmqtt_msg *msg)
{
	return kmqtt_retain_cmp(topic, len, kmqtt_msg_topic(msg),
				msg->topic_len);
}

/* The first message whose topic is after @topic (or at it, if @at). */
static struct kmqtt_retained *
kmqtt_retain_from(struct kmqtt_retain_store *store, const u8 *topic, u16 len,
		  bool at)
{
	struct rb_node *node = store->topics.rb_node;
	struct kmqtt_retained *r, *found = NULL;

	while (node) {
		int cmp;

		r = kmqtt_retained_of(node);
		cmp = kmqtt_retain_cmp_msg(topic, len, r->msg);
		if (cmp < 0 || (at && !cmp)) {
			found = r;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

static struct kmqtt_retained *
kmqtt_retain_find(struct kmqtt_retain_store *store, const u8 *topic, u16 len)
{
	struct kmqtt_retained *r = kmqtt_retain_from(store, topic, len, true);

	return r && !kmqtt_retain_cmp_msg(topic, len, r->msg) ? r : NULL;
}

void kmqtt_retain_init(struct kmqtt_retain_store *store)
{
	mutex_init(&store->lock);
	store->topics = RB_ROOT;
	store->count = 0;
	store->bytes = 0;
}

static void kmqtt_retain_remove(struct kmqtt_retain_store *store,
				struct kmqtt_retained *r)
{
	rb_erase(&r->node, &store->topics);
	WRITE_ONCE(store->count, store->count - 1);
	WRITE_ONCE(store->bytes, store->bytes - r->msg->len);
	kmqtt_msg_put(r->msg);
	kfree(r);
}

void kmqtt_retain_destroy(struct kmqtt_retain_store *store)
{
	struct kmqtt_retained *r, *tmp;

	mutex_lock(&store->lock);
	rbtree_postorder_for_each_entry_safe(r, tmp, &store->topics, node) {
		kmqtt_msg_put(r->msg);
		kfree(r);
	}
	store->topics = RB_ROOT;
	store->count = 0;
	store->bytes = 0;
	mutex_unlock(&store->lock);
}

/* Link @new where its topic goes; the topic is not in the tree. */
static void kmqtt_retain_link(struct kmqtt_retain_store *store,
			      struct kmqtt_retained *new)
{
	const u8 *topic = kmqtt_msg_topic(new->msg);
	struct rb_node **link = &store->topics.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (kmqtt_retain_cmp_msg(topic, new->msg->topic_len,
					 kmqtt_retained_of(parent)->msg) < 0)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &store->topics);
}

int kmqtt_retain_store(struct kmqtt_retain_store *store, struct kmqtt_msg *msg,
		       u32 max_count, u64 max_bytes)
{
	const u8 *topic = kmqtt_msg_topic(msg);
	struct kmqtt_retained *r, *new = NULL;
	u64 bytes;
	u32 count;
	int ret = 0;

	if (kmqtt_msg_payload_len(msg)) {
		new = kmalloc(sizeof(*new), GFP_KERNEL);
		if (!new)
			return -ENOMEM;
		new->msg = msg;
	}

	mutex_lock(&store->lock);
	r = kmqtt_retain_find(store, topic, msg->topic_len);
	if (!new) {
		if (r)
			kmqtt_retain_remove(store, r);
		goto unlock;
	}
	count = store->count + !r;
	bytes = store->bytes + msg->len - (r ? r->msg->len : 0);
	if ((max_count && count > max_count) ||
	    (max_bytes && bytes > max_bytes)) {
		ret = -ENOSPC;
		goto unlock;
	}
	kmqtt_msg_get(msg);
	if (r) {
		/* Same topic, same place: the node takes the new message. */
		WRITE_ONCE(store->bytes, bytes);
		kmqtt_msg_put(r->msg);
		r->msg = msg;
		goto unlock;
	}
	kmqtt_retain_link(store, new);
	WRITE_ONCE(store->count, count);
	WRITE_ONCE(store->bytes, bytes);
	new = NULL;
unlock:
	mutex_unlock(&store->lock);
	kfree(new);
	return ret;
}

/*
 * The bytes every topic @filter matches begins with: up to its first
 * wildcard, less the '/' before a final "#", which also matches the level
 * above it ("a/#" matches "a", MQTT-4.7.1-2).
 */
static u16 kmqtt_retain_prefix_len(const u8 *filter, u16 len)
{
	u16 i;

	for (i = 0; i < len; i++) {
		if (filter[i] == MQTT_WILDCARD_MULTI)
			return i ? i - 1 : 0;
		if (filter[i] == MQTT_WILDCARD_SINGLE)
			return i;
	}
	return len;
}

/* Does @r's topic begin with the first @len bytes of @filter? */
static bool kmqtt_retain_begins(const struct kmqtt_retained *r,
				const u8 *filter, u16 len)
{
	return r && r->msg->topic_len >= len &&
	       !memcmp(kmqtt_msg_topic(r->msg), filter, len);
}

void kmqtt_retain_cursor_release(struct kmqtt_retain_cursor *cursor)
{
	if (cursor->last)
		kmqtt_msg_put(cursor->last);
	cursor->last = NULL;
}

/*
 * @r (5.0) expired: it goes from the store as soon as a walk comes across
 * it, as in Mosquitto; one nobody asks for waits for a replacement.
 */
static bool kmqtt_retain_expire(struct kmqtt_retain_store *store,
				struct kmqtt_retained *r)
{
	if (!kmqtt_msg_expired(r->msg))
		return false;
	kmqtt_retain_remove(store, r);
	return true;
}

bool kmqtt_retain_walk(struct kmqtt_retain_store *store, const u8 *filter,
		       u16 filter_len, struct kmqtt_retain_cursor *cursor,
		       u32 *budget, void (*fn)(struct kmqtt_msg *msg, void *arg),
		       void *arg)
{
	u16 prefix = kmqtt_retain_prefix_len(filter, filter_len);
	struct kmqtt_retained *r, *next, *prev = NULL;
	struct kmqtt_msg *last;
	bool done = true;
	u32 visited = 0;

	mutex_lock(&store->lock);
	if (prefix == filter_len) {
		/* No wildcard: the topic itself, if retained. */
		r = kmqtt_retain_find(store, filter, filter_len);
		if (r && !kmqtt_retain_expire(store, r))
			fn(r->msg, arg);
		*budget -= min(*budget, 1U);
		goto unlock;
	}
	last = cursor->last;
	r = last ? kmqtt_retain_from(store, kmqtt_msg_topic(last),
				     last->topic_len, false) :
		   kmqtt_retain_from(store, filter, prefix, true);
	for (; kmqtt_retain_begins(r, filter, prefix); r = next) {
		if (visited++ == max(*budget, 1U)) {
			/*
			 * The next call goes on after the last one visited and
			 * kept; when all this call visited went, the cursor
			 * stands where it was.
			 */
			if (prev) {
				kmqtt_retain_cursor_release(cursor);
				cursor->last = prev->msg;
				kmqtt_msg_get(prev->msg);
			}
			done = false;
			break;
		}
		next = kmqtt_retained_of(rb_next(&r->node));
		if (kmqtt_retain_expire(store, r))
			continue;
		prev = r;
		if (kmqtt_topic_filter_matches(filter, filter_len,
					       kmqtt_msg_topic(r->msg),
					       r->msg->topic_len))
			fn(r->msg, arg);
	}
	*budget -= min(*budget, visited);
unlock:
	mutex_unlock(&store->lock);
	if (done)
		kmqtt_retain_cursor_release(cursor);
	return done;
}

struct kmqtt_msg *kmqtt_retain_next(struct kmqtt_retain_store *store,
				    struct kmqtt_retain_cursor *cursor)
{
	struct kmqtt_msg *last = cursor->last;
	struct kmqtt_retained *r, *next;

	mutex_lock(&store->lock);
	r = last ? kmqtt_retain_from(store, kmqtt_msg_topic(last),
				     last->topic_len, false) :
		   kmqtt_retained_of(rb_first(&store->topics));
	for (; r; r = next) {
		next = kmqtt_retained_of(rb_next(&r->node));
		if (!kmqtt_retain_expire(store, r))
			break;
	}
	kmqtt_retain_cursor_release(cursor);
	if (r) {
		cursor->last = r->msg;
		kmqtt_msg_get(r->msg);
	}
	mutex_unlock(&store->lock);
	return cursor->last;
}
