/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Retained messages: the last retained PUBLISH of each topic, sent to new
 * subscribers of matching filters (MQTT 3.3.1.3).
 */
#ifndef _KMQTT_RETAIN_H
#define _KMQTT_RETAIN_H

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct kmqtt_msg;

#define KMQTT_RETAIN_HASH_BITS	12

struct kmqtt_retain_store {
	struct mutex lock;		/* publishers and subscribers */
	DECLARE_HASHTABLE(hash, KMQTT_RETAIN_HASH_BITS);
	u32 count;			/* under lock, read locklessly */
	u64 bytes;			/* under lock, read locklessly */
};

void kmqtt_retain_init(struct kmqtt_retain_store *store);
void kmqtt_retain_destroy(struct kmqtt_retain_store *store);

/*
 * Store @msg as the retained message of its topic, replacing the old one;
 * an empty payload deletes it (MQTT-3.3.1-10, MQTT-3.3.1-11).
 * Returns 0, or -ENOSPC when @max_count or @max_bytes (0: no limit) would
 * be exceeded.
 */
int kmqtt_retain_store(struct kmqtt_retain_store *store, struct kmqtt_msg *msg,
		       u32 max_count, u64 max_bytes);

/*
 * Call @fn for every retained message whose topic matches @filter.  The
 * store's lock is held: @fn must not call back into the store.
 */
void kmqtt_retain_match(struct kmqtt_retain_store *store, const u8 *filter,
			u16 filter_len,
			void (*fn)(struct kmqtt_msg *msg, void *arg), void *arg);

#endif /* _KMQTT_RETAIN_H */
