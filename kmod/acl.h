/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Access rules of a client, compiled by the agent from a Mosquitto ACL
 * file and enforced here: WRITE on every PUBLISH received, READ on every
 * message delivered, and on SUBSCRIBE a filter that can never be read is
 * refused.  A session without rules (NULL) is allowed everything.
 */
#ifndef _KMQTT_ACL_H
#define _KMQTT_ACL_H

#include <linux/rcupdate.h>
#include <linux/types.h>

/*
 * Not an access a rule grants: kmqtt_session_allows() asks with it
 * whether a SUBSCRIBE to a filter is granted (kmqtt_acl_may_subscribe()).
 */
#define KMQTT_ACL_SUBSCRIBE	0x80

struct kmqtt_acl_rule {
	const u8 *filter;
	u16 len;
	u8 access;		/* KMQTT_ACL_READ | KMQTT_ACL_WRITE, or _DENY */
};

struct kmqtt_acl {
	struct rcu_head rcu;
	u32 count;		/* rules added so far */
	u32 max;
	size_t bytes_used;
	size_t bytes_max;
	struct kmqtt_acl_rule rule[];	/* then the filters' bytes */
};

/* Room for @count rules whose filters total @filter_bytes. */
struct kmqtt_acl *kmqtt_acl_alloc(u32 count, size_t filter_bytes);

/* Append a rule; -EINVAL for a bad filter or access, -ENOSPC past room. */
int kmqtt_acl_add(struct kmqtt_acl *acl, const u8 *filter, u16 len,
		  u8 access);

/* Free after a grace period: readers use RCU. */
void kmqtt_acl_free(struct kmqtt_acl *acl);

/* May the client do @access (one KMQTT_ACL_* bit) on topic name @topic? */
bool kmqtt_acl_allows(const struct kmqtt_acl *acl, const u8 *topic,
		      size_t len, u8 access);

/*
 * Is topic name @topic the broker's own, which no client may publish on?
 * Mosquitto's rule: every topic beginning with "$SYS" (kmqttd publishes
 * the $SYS/broker tree there), but "$SYS/broker/connection/+/state",
 * where another broker's bridge says whether its link is up.  A bridge
 * link of this broker is not a client: what it carries in is not asked.
 */
bool kmqtt_acl_broker_owned(const u8 *topic, size_t len);

/*
 * May the client subscribe to @filter: is there a topic it matches that
 * the rules would let the client read?  Refused when a deny rule covers
 * the whole filter before any readable rule overlaps it, or when none does.
 * The empty topic counts as a topic here although no client can publish
 * it, so "+" overlaps "/#": such a subscription is granted and reads
 * nothing, as READ is still checked on every delivery.
 */
bool kmqtt_acl_may_subscribe(const struct kmqtt_acl *acl, const u8 *filter,
			     size_t len);

#endif /* _KMQTT_ACL_H */
