/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared subscriptions, "$share/GROUP/FILTER" (MQTT 5.0 4.8.2, taken from
 * 3.1.1 clients too): the sessions subscribed with the same GROUP and
 * FILTER form a group, which the subscription tree holds as one
 * subscriber; each message the FILTER matches goes to one member.
 */
#ifndef _KMQTT_SHARE_H
#define _KMQTT_SHARE_H

#include <linux/types.h>

struct kmqtt_broker;
struct kmqtt_msg;
struct kmqtt_session;
struct kmqtt_share_group;

/* A group stands in the tree for its members, told apart by this bit. */
#define KMQTT_SHARE_TAG	1UL

static inline bool kmqtt_share_is_group(const void *subscriber)
{
	return (unsigned long)subscriber & KMQTT_SHARE_TAG;
}

/*
 * Make @session a member, with @options and subscription identifier
 * @sub_id, of the group of @full ("$share/GROUP/FILTER", whose FILTER is
 * @filter), or change those.  Under broker->topics_lock.  Returns 0, -ENOMEM, or -EDQUOT
 * when the group has as many members as it takes (1024).
 */
int kmqtt_share_join(struct kmqtt_broker *broker, const u8 *full,
		     u16 full_len, const u8 *filter, u16 filter_len,
		     struct kmqtt_session *session, u8 options, u32 sub_id);

/* Take @session out of the group of @full; the last member ends it. */
void kmqtt_share_leave(struct kmqtt_broker *broker, const u8 *full,
		       u16 full_len, const u8 *filter, u16 filter_len,
		       struct kmqtt_session *session);

/* The group a tagged @subscriber of the tree stands for. */
struct kmqtt_share_group *kmqtt_share_group_of(const void *subscriber);

/*
 * Under RCU: the member of group @g that gets the next message, its
 * subscription options and identifier; NULL when it has none.
 */
struct kmqtt_session *kmqtt_share_pick(struct kmqtt_share_group *g,
				       u8 *options, u32 *sub_id);

/*
 * A delivery's reference on its group: get (under RCU, or holding one)
 * returns NULL when the group is going away; put takes NULL.
 */
struct kmqtt_share_group *kmqtt_share_get(struct kmqtt_share_group *g);
void kmqtt_share_put(struct kmqtt_share_group *g);

/*
 * Hand @msg, which a member of @g (a reference the caller holds) took
 * and can no longer have, to another member, as it would have been
 * picked: @retain as that member's copy had it.  Dropped when the group
 * has no member left.  May sleep.
 */
void kmqtt_share_redeliver(struct kmqtt_broker *broker,
			   struct kmqtt_share_group *g, struct kmqtt_msg *msg,
			   bool retain);

void kmqtt_share_init(struct kmqtt_broker *broker);

#endif /* _KMQTT_SHARE_H */
