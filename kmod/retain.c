// SPDX-License-Identifier: GPL-2.0
/*
 * The retained message store: a hash table by topic.  A filter without
 * wildcards is one lookup; a wildcard filter walks the store, which is
 * bounded by the retained-count limit and happens once per SUBSCRIBE.
 */

#include <linux/jhash.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "msg.h"
#include "retain.h"
#include "topic.h"

struct kmqtt_retained {
	struct hlist_node node;
	u32 hash;
	struct kmqtt_msg *msg;
};

static u32 kmqtt_retain_hash(const u8 *topic, u16 len)
{
	return jhash(topic, len, 0);
}

static struct kmqtt_retained *
kmqtt_retain_find(struct kmqtt_retain_store *store, const u8 *topic, u16 len,
		  u32 hash)
{
	struct kmqtt_retained *r;

	hash_for_each_possible(store->hash, r, node, hash)
		if (r->hash == hash && r->msg->topic_len == len &&
		    !memcmp(kmqtt_msg_topic(r->msg), topic, len))
			return r;
	return NULL;
}

void kmqtt_retain_init(struct kmqtt_retain_store *store)
{
	mutex_init(&store->lock);
	hash_init(store->hash);
	store->count = 0;
	store->bytes = 0;
}

static void kmqtt_retain_remove(struct kmqtt_retain_store *store,
				struct kmqtt_retained *r)
{
	hash_del(&r->node);
	WRITE_ONCE(store->count, store->count - 1);
	WRITE_ONCE(store->bytes, store->bytes - r->msg->len);
	kmqtt_msg_put(r->msg);
	kfree(r);
}

void kmqtt_retain_destroy(struct kmqtt_retain_store *store)
{
	struct kmqtt_retained *r;
	struct hlist_node *tmp;
	int bkt;

	mutex_lock(&store->lock);
	hash_for_each_safe(store->hash, bkt, tmp, r, node)
		kmqtt_retain_remove(store, r);
	mutex_unlock(&store->lock);
}

int kmqtt_retain_store(struct kmqtt_retain_store *store, struct kmqtt_msg *msg,
		       u32 max_count, u64 max_bytes)
{
	const u8 *topic = kmqtt_msg_topic(msg);
	u32 hash = kmqtt_retain_hash(topic, msg->topic_len);
	struct kmqtt_retained *r, *new = NULL;
	u64 bytes;
	u32 count;
	int ret = 0;

	if (kmqtt_msg_payload_len(msg)) {
		new = kmalloc(sizeof(*new), GFP_KERNEL);
		if (!new)
			return -ENOMEM;
		new->hash = hash;
		new->msg = msg;
	}

	mutex_lock(&store->lock);
	r = kmqtt_retain_find(store, topic, msg->topic_len, hash);
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
	if (r)
		kmqtt_retain_remove(store, r);
	kmqtt_msg_get(msg);
	hash_add(store->hash, &new->node, hash);
	WRITE_ONCE(store->count, store->count + 1);
	WRITE_ONCE(store->bytes, store->bytes + msg->len);
	new = NULL;
unlock:
	mutex_unlock(&store->lock);
	kfree(new);
	return ret;
}

void kmqtt_retain_match(struct kmqtt_retain_store *store, const u8 *filter,
			u16 filter_len,
			void (*fn)(struct kmqtt_msg *msg, void *arg), void *arg)
{
	struct kmqtt_retained *r;
	int bkt;

	mutex_lock(&store->lock);
	if (!memchr(filter, MQTT_WILDCARD_SINGLE, filter_len) &&
	    !memchr(filter, MQTT_WILDCARD_MULTI, filter_len)) {
		r = kmqtt_retain_find(store, filter, filter_len,
				      kmqtt_retain_hash(filter, filter_len));
		if (r)
			fn(r->msg, arg);
	} else {
		hash_for_each(store->hash, bkt, r, node)
			if (kmqtt_topic_filter_matches(filter, filter_len,
						       kmqtt_msg_topic(r->msg),
						       r->msg->topic_len))
				fn(r->msg, arg);
	}
	mutex_unlock(&store->lock);
}
