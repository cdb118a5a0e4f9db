// SPDX-License-Identifier: GPL-2.0
/* Application messages, accounted against the broker's memory limit. */

#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <linux/timekeeping.h>
#include <kmqtt/mqtt.h>

#include "broker.h"
#include "codec.h"
#include "msg.h"
#include "property.h"

/*
 * Payloads of at least this many bytes go in pages of their own and are
 * sent from there without a copy per subscriber; 0 turns that off.
 */
static unsigned int zerocopy_min = 16384;
module_param(zerocopy_min, uint, 0644);
MODULE_PARM_DESC(zerocopy_min,
		 "smallest payload sent without copying (bytes, 0: never)");

static struct kmem_cache *kmqtt_msg_tiny_cache, *kmqtt_msg_small_cache;

static struct kmem_cache *kmqtt_msg_cache(size_t size)
{
	return size <= KMQTT_MSG_TINY ? kmqtt_msg_tiny_cache :
					kmqtt_msg_small_cache;
}

/* A compound page for @size bytes, or NULL (then the caller copies). */
static struct kmqtt_msg *kmqtt_msg_alloc_pages(size_t size, gfp_t gfp,
					       u8 *order)
{
	struct page *page;

	*order = get_order(size);
	page = alloc_pages(gfp | __GFP_COMP | __GFP_NOWARN | __GFP_NORETRY,
			   *order);
	return page ? page_address(page) : NULL;
}

/* Its fields and data[]. */
static size_t kmqtt_msg_size(const struct kmqtt_msg *msg)
{
	return offsetof(struct kmqtt_msg, data) + msg->len;
}

static size_t kmqtt_msg_alloc_size(const struct kmqtt_msg *msg)
{
	if (msg->in_pages)
		return PAGE_SIZE << msg->page_order;
	return kmqtt_msg_size_taken(kmqtt_msg_size(msg));
}

/*
 * Memory for a message of @size bytes with @payload_len of payload,
 * charged @charge, its kind set: a cache's, pages of its own when its
 * payload is sent from there, else kvmalloc's.  The errors of
 * kmqtt_msg_create().
 */
static struct kmqtt_msg *kmqtt_msg_alloc(struct kmqtt_broker *broker,
					 size_t size, size_t charge,
					 u32 payload_len, gfp_t gfp)
{
	u32 min = READ_ONCE(zerocopy_min);
	struct kmqtt_msg *msg = NULL;
	u8 order = 0;

	if (!kmqtt_broker_charge(broker, charge))
		return ERR_PTR(-ENOSPC);
	if (size <= KMQTT_MSG_SMALL)
		msg = kmem_cache_alloc(kmqtt_msg_cache(size),
				       gfp | __GFP_NOWARN);
	else if (min && payload_len >= min && gfpflags_allow_blocking(gfp))
		msg = kmqtt_msg_alloc_pages(size, gfp, &order);
	if (msg) {
		msg->small = size <= KMQTT_MSG_SMALL;
		msg->in_pages = !msg->small;
		msg->page_order = order;
		if (msg->in_pages)
			/* The rest of the pages is taken too: count it. */
			kmqtt_broker_account(broker,
					     (PAGE_SIZE << order) - size);
		return msg;
	}
	if (size > KMQTT_MSG_SMALL)
		msg = kvmalloc(size, gfp | __GFP_NOWARN);
	if (!msg) {
		kmqtt_broker_uncharge(broker, charge);
		return ERR_PTR(-ENOMEM);
	}
	msg->small = false;
	msg->in_pages = false;
	msg->page_order = 0;
	return msg;
}

/*
 * The message in *@spare, taken out, if it is of the size class of
 * @size; else it is freed.
 */
static struct kmqtt_msg *kmqtt_msg_reuse(struct kmqtt_msg **spare,
					 size_t size)
{
	struct kmqtt_msg *msg = spare ? *spare : NULL;

	if (!msg)
		return NULL;
	*spare = NULL;
	if (size <= KMQTT_MSG_SMALL &&
	    kmqtt_msg_size_taken(size) == kmqtt_msg_alloc_size(msg))
		return msg;
	kmqtt_msg_free(msg);
	return NULL;
}

struct kmqtt_msg *kmqtt_msg_create(struct kmqtt_broker *broker,
				   const u8 *prefix, u16 prefix_len,
				   const u8 *topic, u16 topic_len,
				   const struct kmqtt_props *props,
				   const u8 *payload, u32 payload_len, u8 qos,
				   gfp_t gfp, struct kmqtt_msg **spare)
{
	u32 props_len = props ? props->forward_len : 0;
	u8 props_hdr_len = kmqtt_codec_varint_size(props_len);
	u16 full_len = prefix_len + topic_len;
	size_t len = 2 + (size_t)full_len + props_hdr_len + props_len +
		     payload_len;
	size_t size = offsetof(struct kmqtt_msg, data) + len;
	struct kmqtt_msg *msg;
	u8 *p;

	/* A spare is charged for its size class already. */
	msg = kmqtt_msg_reuse(spare, size);
	if (!msg)
		msg = kmqtt_msg_alloc(broker, size,
				      kmqtt_msg_charge(full_len, props_hdr_len +
						       props_len + payload_len),
				      payload_len, gfp);
	if (IS_ERR(msg))
		return msg;
	refcount_set(&msg->ref, 1);
	msg->broker = broker;
	msg->qos = qos;
	msg->topic_len = full_len;
	msg->props_hdr_len = props_hdr_len;
	msg->props_len = props_len;
	msg->expires = 0;
	msg->expiry_interval = 0;
	/* MQTT-3.3.2-5: the interval runs from the server's receipt. */
	if (props && kmqtt_props_has(props, MQTT_PROP_MESSAGE_EXPIRY)) {
		msg->expiry_interval = props->message_expiry;
		kmqtt_msg_start_expiry(msg);
	}
	msg->len = len;
	msg->data[0] = full_len >> 8;
	msg->data[1] = full_len & 0xff;
	memcpy(msg->data + 2, prefix, prefix_len);
	memcpy(msg->data + 2 + prefix_len, topic, topic_len);
	p = kmqtt_codec_put_varint(msg->data + 2 + full_len, props_len);
	if (props_len)
		kmqtt_props_copy_forward(p, props);
	memcpy(p + props_len, payload, payload_len);
	return msg;
}

struct kmqtt_msg *kmqtt_msg_restore(struct kmqtt_broker *broker,
				    const u8 *data, u32 len, u8 qos,
				    u32 expiry)
{
	struct kmqtt_publish pub;
	struct kmqtt_msg *msg;

	if (kmqtt_codec_parse_stored(data, len, &pub))
		return ERR_PTR(-EINVAL);
	msg = kmqtt_msg_create(broker, NULL, 0, pub.topic, pub.topic_len,
			       &pub.props, pub.payload, pub.payload_len, qos,
			       GFP_KERNEL, NULL);
	if (!IS_ERR(msg) && expiry) {
		msg->expiry_interval = expiry;
		kmqtt_msg_start_expiry(msg);
	}
	return msg;
}

void kmqtt_msg_start_expiry(struct kmqtt_msg *msg)
{
	msg->expires = ktime_get_boottime_seconds() + msg->expiry_interval;
}

bool kmqtt_msg_expired(const struct kmqtt_msg *msg)
{
	return msg->expires &&
	       !kmqtt_msg_expiry_left(msg, ktime_get_boottime_seconds());
}

static void kmqtt_msg_free_pages_rcu(struct rcu_head *rcu)
{
	struct kmqtt_msg *msg = container_of(rcu, struct kmqtt_msg, rcu);

	/* Sockets still sending the payload hold references of their own. */
	__free_pages(virt_to_page(msg), msg->page_order);
}

void kmqtt_msg_free(struct kmqtt_msg *msg)
{
	kmqtt_broker_uncharge(msg->broker, kmqtt_msg_alloc_size(msg));
	if (msg->in_pages)
		call_rcu(&msg->rcu, kmqtt_msg_free_pages_rcu);
	else if (msg->small)
		kmem_cache_free(kmqtt_msg_cache(kmqtt_msg_size(msg)), msg);
	else
		/* vfree() may sleep; queues drop messages under spinlocks. */
		kvfree_rcu(msg, rcu);
}

void kmqtt_msg_put_spare(struct kmqtt_msg *msg, struct kmqtt_msg **spare)
{
	/*
	 * Without a reference, nothing can find it any more: a delivery, a
	 * queue or the retained store holds one as long as it keeps it.
	 */
	if (!msg->small || *spare || !refcount_dec_if_one(&msg->ref)) {
		kmqtt_msg_put(msg);
		return;
	}
	/* As for the last put: what the holders did with it comes first. */
	smp_acquire__after_ctrl_dep();
	*spare = msg;
}

void kmqtt_msg_free_spare(struct kmqtt_msg **spare)
{
	if (*spare)
		kmqtt_msg_free(*spare);
	*spare = NULL;
}

int kmqtt_msg_init(void)
{
	kmqtt_msg_tiny_cache = kmem_cache_create("kmqtt_msg_tiny",
						 KMQTT_MSG_TINY, 0, 0, NULL);
	kmqtt_msg_small_cache = kmem_cache_create("kmqtt_msg", KMQTT_MSG_SMALL,
						  0, 0, NULL);
	if (kmqtt_msg_tiny_cache && kmqtt_msg_small_cache)
		return 0;
	kmem_cache_destroy(kmqtt_msg_tiny_cache);
	kmem_cache_destroy(kmqtt_msg_small_cache);
	return -ENOMEM;
}

void kmqtt_msg_exit(void)
{
	/* Large messages are freed after a grace period. */
	rcu_barrier();
	kmem_cache_destroy(kmqtt_msg_tiny_cache);
	kmem_cache_destroy(kmqtt_msg_small_cache);
}
