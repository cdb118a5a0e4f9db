/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Retained messages: the last retained PUBLISH of each topic, sent to new
 * subscribers of matching filters (MQTT 3.3.1.3).
 */
#ifndef _KMQTT_RETAIN_H
#define _KMQTT_RETAIN_H

#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/types.h>

struct kmqtt_msg;

struct kmqtt_retain_store {
	struct mutex lock;		/* publishers and subscribers */
	struct rb_root topics;		/* of struct kmqtt_retained */
	u32 count;			/* under lock, read locklessly */
	u64 bytes;			/* under lock, read locklessly */
};

void kmqtt_retain_init(struct kmqtt_retain_store *store);
void kmqtt_retain_destroy(struct kmqtt_retain_store *store);

/*
 * Store @msg as the retained message of its topic, replacing the old one;
 * an empty payload deletes it (MQTT-3.3.1-10, MQTT-3.3.1-11).
 * Returns 0, -ENOMEM, or -ENOSPC when @max_count or @max_bytes (0: no
 * limit) would be exceeded.
 */
int kmqtt_retain_store(struct kmqtt_retain_store *store, struct kmqtt_msg *msg,
		       u32 max_count, u64 max_bytes);

/*
 * Where a walk over the messages matching a filter stands between two
 * calls: the last message visited (a reference is held), NULL before the
 * first call and after the last.
 */
struct kmqtt_retain_cursor {
	struct kmqtt_msg *last;
};

/*
 * Call @fn for the retained messages whose topic matches @filter, in
 * topic order, after the cursor, under the store's lock (@fn may sleep,
 * and must not call back into the store).  Each message visited, matching
 * or not, takes one of *@budget (at least one is visited).  Returns true
 * when the walk is over (the cursor is then empty), false when it stopped
 * for the budget: call again, with the same cursor, to go on.  Messages
 * stored or removed between two calls are seen or not as their place
 * relative to the cursor says.  A 5.0 message found expired is removed
 * from the store instead (MQTT-3.3.2-5).
 */
bool kmqtt_retain_walk(struct kmqtt_retain_store *store, const u8 *filter,
		       u16 filter_len, struct kmqtt_retain_cursor *cursor,
		       u32 *budget, void (*fn)(struct kmqtt_msg *msg, void *arg),
		       void *arg);

/*
 * The retained message after the cursor's in topic order, all topics
 * ("$" ones too), for a dump of the store: the cursor holds a reference
 * to it from then on.  NULL after the last, the cursor then empty.
 * Expired messages are removed instead.
 */
struct kmqtt_msg *kmqtt_retain_next(struct kmqtt_retain_store *store,
				    struct kmqtt_retain_cursor *cursor);

/* Give up a walk before its end. */
void kmqtt_retain_cursor_release(struct kmqtt_retain_cursor *cursor);

#endif /* _KMQTT_RETAIN_H */
