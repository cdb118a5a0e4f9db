/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An encoded MQTT packet, immutable once built and shared by reference:
 * one PUBLISH encoding serves every subscriber that can take it as is.
 */
#ifndef _KMQTT_MSG_H
#define _KMQTT_MSG_H

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/refcount.h>
#include <linux/slab.h>

struct kmqtt_msg {
	refcount_t ref;
	u32 len;
	u8 data[];
};

/* Large payloads come from vmalloc: they never need contiguous pages. */
static inline struct kmqtt_msg *kmqtt_msg_alloc(u32 len, gfp_t gfp)
{
	struct kmqtt_msg *msg = kvmalloc(struct_size(msg, data, len), gfp);

	if (!msg)
		return NULL;
	refcount_set(&msg->ref, 1);
	msg->len = len;
	return msg;
}

static inline void kmqtt_msg_get(struct kmqtt_msg *msg)
{
	refcount_inc(&msg->ref);
}

static inline void kmqtt_msg_put(struct kmqtt_msg *msg)
{
	if (refcount_dec_and_test(&msg->ref))
		kvfree(msg);
}

#endif /* _KMQTT_MSG_H */
