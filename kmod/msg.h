/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An application message: topic, MQTT 5.0 properties and payload as one
 * immutable, refcounted buffer laid out as they go on the wire (16-bit
 * topic length, topic, property length, properties, payload); once its
 * last reference goes, its publisher may write its next message there
 * (kmqtt_msg_put_spare()).  Every
 * subscriber, queue and the retained store share it; each delivery adds
 * only its own fixed header and packet id and, for a 5.0 subscriber with
 * properties of its own (what is left of a message expiry), a property
 * length and those in place of the message's length.  A 3.1.1 subscriber
 * is sent the topic and the payload around the property block.  A large one
 * lives in pages of its own, so that sockets can send the payload without
 * copying it (zerocopy_min).
 */
#ifndef _KMQTT_MSG_H
#define _KMQTT_MSG_H

#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/time64.h>
#include <linux/types.h>

struct kmqtt_props;

struct kmqtt_broker;

struct kmqtt_msg {
	refcount_t ref;
	/* pages or vmalloc: the last put may be in atomic context */
	struct rcu_head rcu;
	struct kmqtt_broker *broker;	/* memory is accounted there */
	u8 qos;				/* as published */
	bool small;			/* from a cache of small messages */
	bool in_pages;			/* a compound page of its own */
	u8 page_order;
	u16 topic_len;
	u8 props_hdr_len;		/* of the property length, 1..4 */
	u32 props_len;			/* properties passed on as they are */
	/*
	 * 5.0 message expiry: boot time in seconds when it expires, 0 never
	 * (with the interval it was given, which a will starts only when it
	 * is published).  Each subscriber is sent what remains of it.
	 */
	time64_t expires;
	u32 expiry_interval;
	u32 len;			/* of data[] */
	u8 data[];
};

/*
 * A message on the topic @prefix (a mount point, may be empty) followed
 * by @topic, at most 65535 bytes together, with the 5.0 properties @props
 * (parsed; NULL or empty for none).  In the memory of *@spare (NULL: no
 * spare) when that is of its size class, without a charge, as it holds
 * its memory already; a spare of another is freed.  *@spare is emptied.
 * Returns the message, or ERR_PTR(-ENOSPC) when the broker's memory
 * limit is reached, ERR_PTR(-ENOMEM) when memory is short.
 */
struct kmqtt_msg *kmqtt_msg_create(struct kmqtt_broker *broker,
				   const u8 *prefix, u16 prefix_len,
				   const u8 *topic, u16 topic_len,
				   const struct kmqtt_props *props,
				   const u8 *payload, u32 payload_len, u8 qos,
				   gfp_t gfp, struct kmqtt_msg **spare);

/*
 * A message back from the agent's snapshot: @data is what a dump gave
 * (KMQTT_A_MSG_DATA, kmqtt_codec_parse_stored()), @expiry the seconds it
 * had left (0: none).  Returns the message, ERR_PTR(-EINVAL)
 * when @data is not one, or the errors of kmqtt_msg_create().
 */
struct kmqtt_msg *kmqtt_msg_restore(struct kmqtt_broker *broker,
				    const u8 *data, u32 len, u8 qos,
				    u32 expiry);

/*
 * Most messages are small (a sensor reading and its topic): they come from
 * caches of their own, quicker than kmalloc and shown in /proc/slabinfo,
 * of two sizes, so that a reading's message takes half of what the
 * larger would (a message's own fields take 64 bytes).
 */
#define KMQTT_MSG_TINY		128
#define KMQTT_MSG_SMALL		256

/* The memory a message of @size bytes, fields included, takes. */
static inline size_t kmqtt_msg_size_taken(size_t size)
{
	if (size <= KMQTT_MSG_TINY)
		return KMQTT_MSG_TINY;
	return size <= KMQTT_MSG_SMALL ? KMQTT_MSG_SMALL : size;
}

/*
 * What the memory limit must allow for a message of these lengths
 * (@payload_len counting the property block).
 */
static inline size_t kmqtt_msg_charge(u16 topic_len, u32 payload_len)
{
	return kmqtt_msg_size_taken(offsetof(struct kmqtt_msg, data) + 2 +
				    topic_len + payload_len);
}

void kmqtt_msg_free(struct kmqtt_msg *msg);

/*
 * Put the caller's reference on @msg, keeping a small message in the
 * empty *@spare for kmqtt_msg_create() when that was the last one: a
 * publisher whose messages nobody kept (copied into chunks, dropped, or
 * matching no one) then allocates and clears none.  Still charged to
 * the broker; kmqtt_msg_free_spare() frees it.
 */
void kmqtt_msg_put_spare(struct kmqtt_msg *msg, struct kmqtt_msg **spare);
void kmqtt_msg_free_spare(struct kmqtt_msg **spare);

int kmqtt_msg_init(void);
void kmqtt_msg_exit(void);

static inline void kmqtt_msg_get(struct kmqtt_msg *msg)
{
	refcount_inc(&msg->ref);
}

static inline void kmqtt_msg_put(struct kmqtt_msg *msg)
{
	if (refcount_dec_and_test(&msg->ref))
		kmqtt_msg_free(msg);
}

static inline const u8 *kmqtt_msg_topic(const struct kmqtt_msg *msg)
{
	return msg->data + 2;
}

/* Bytes of data[] before the property block: where a packet id goes. */
static inline u32 kmqtt_msg_props_offset(const struct kmqtt_msg *msg)
{
	return 2 + msg->topic_len;
}

static inline u32 kmqtt_msg_payload_offset(const struct kmqtt_msg *msg)
{
	return kmqtt_msg_props_offset(msg) + msg->props_hdr_len +
	       msg->props_len;
}

/*
 * Seconds left of a 5.0 message expiry interval at boot time @now: 0 when
 * the message has expired.  Only for a message that @expires.
 */
static inline u32 kmqtt_msg_expiry_left(const struct kmqtt_msg *msg,
					time64_t now)
{
	return msg->expires > now ? msg->expires - now : 0;
}

/* Has it expired (5.0), so that it may no longer be sent on? */
bool kmqtt_msg_expired(const struct kmqtt_msg *msg);

/*
 * Start @msg's expiry interval now: for a will, whose interval runs from
 * its publication (3.1.3.2.4).  Only while nobody else holds @msg.
 */
void kmqtt_msg_start_expiry(struct kmqtt_msg *msg);

static inline u32 kmqtt_msg_payload_len(const struct kmqtt_msg *msg)
{
	return msg->len - kmqtt_msg_payload_offset(msg);
}

#endif /* _KMQTT_MSG_H */
