// SPDX-License-Identifier: GPL-2.0
/*
 * Access rules.  Topics are checked with the subscription matcher; for
 * SUBSCRIBE two relations between filters are needed: does rule filter A
 * cover every topic of filter B, and do A and B share any topic.  Both walk
 * the filters level by level.
 */

#include <linux/build_bug.h>
/* kvzalloc(): declared in linux/mm.h on 5.15, in linux/slab.h on 6.1. */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/kmqtt.h>
#include <kmqtt/mqtt.h>

#include "acl.h"
#include "topic.h"

static_assert(!(KMQTT_ACL_SUBSCRIBE &
		(KMQTT_ACL_READ | KMQTT_ACL_WRITE | KMQTT_ACL_DENY)));

struct kmqtt_acl *kmqtt_acl_alloc(u32 count, size_t filter_bytes)
{
	struct kmqtt_acl *acl;
	size_t size;

	if (count > KMQTT_ACL_MAX_RULES)
		return NULL;
	size = struct_size(acl, rule, count) + filter_bytes;
	acl = kvzalloc(size, GFP_KERNEL);
	if (!acl)
		return NULL;
	acl->max = count;
	acl->bytes_max = filter_bytes;
	return acl;
}

int kmqtt_acl_add(struct kmqtt_acl *acl, const u8 *filter, u16 len,
		  u8 access)
{
	u8 *bytes = (u8 *)&acl->rule[acl->max];
	struct kmqtt_acl_rule *rule;

	if (access != KMQTT_ACL_DENY &&
	    (!access || access & ~(KMQTT_ACL_READ | KMQTT_ACL_WRITE)))
		return -EINVAL;
	if (!kmqtt_topic_filter_valid(filter, len))
		return -EINVAL;
	if (acl->count == acl->max || len > acl->bytes_max - acl->bytes_used)
		return -ENOSPC;
	rule = &acl->rule[acl->count++];
	memcpy(bytes + acl->bytes_used, filter, len);
	rule->filter = bytes + acl->bytes_used;
	rule->len = len;
	rule->access = access;
	acl->bytes_used += len;
	return 0;
}

void kmqtt_acl_free(struct kmqtt_acl *acl)
{
	if (acl)
		kvfree_rcu(acl, rcu);
}

bool kmqtt_acl_allows(const struct kmqtt_acl *acl, const u8 *topic,
		      size_t len, u8 access)
{
	u32 i;

	if (!acl)
		return true;
	for (i = 0; i < acl->count; i++) {
		const struct kmqtt_acl_rule *rule = &acl->rule[i];

		if (!kmqtt_topic_filter_matches(rule->filter, rule->len, topic,
						len))
			continue;
		if (rule->access & KMQTT_ACL_DENY)
			return false;
		if (rule->access & access)
			return true;
	}
	return false;
}

bool kmqtt_acl_broker_owned(const u8 *topic, size_t len)
{
	static const u8 sys[] = "$SYS";
	static const u8 state[] = "$SYS/broker/connection/+/state";

	if (len < sizeof(sys) - 1 || memcmp(topic, sys, sizeof(sys) - 1))
		return false;
	return !kmqtt_topic_filter_matches(state, sizeof(state) - 1, topic,
					   len);
}

/* A cursor over the levels of a filter. */
struct kmqtt_acl_level {
	const u8 *s;
	size_t len;
	size_t pos;		/* start of the current level */
	size_t n;		/* its length */
};

static void kmqtt_acl_level_load(struct kmqtt_acl_level *l)
{
	const u8 *sep = memchr(l->s + l->pos, MQTT_TOPIC_SEP, l->len - l->pos);

	l->n = (sep ? (size_t)(sep - l->s) : l->len) - l->pos;
}

static bool kmqtt_acl_level_is(const struct kmqtt_acl_level *l, u8 c)
{
	return l->n == 1 && l->s[l->pos] == c;
}

static bool kmqtt_acl_level_wild(const struct kmqtt_acl_level *l)
{
	return kmqtt_acl_level_is(l, MQTT_WILDCARD_SINGLE) ||
	       kmqtt_acl_level_is(l, MQTT_WILDCARD_MULTI);
}

/* Is the rest of @l, after the current level, exactly "/#"? */
static bool kmqtt_acl_rest_is_multi(const struct kmqtt_acl_level *l)
{
	size_t end = l->pos + l->n;

	return l->len - end == 2 && l->s[end + 1] == MQTT_WILDCARD_MULTI;
}

/* Advance both; returns false when either has no next level. */
static bool kmqtt_acl_level_next(struct kmqtt_acl_level *a,
				 struct kmqtt_acl_level *b)
{
	if (a->pos + a->n == a->len || b->pos + b->n == b->len)
		return false;
	a->pos += a->n + 1;
	b->pos += b->n + 1;
	kmqtt_acl_level_load(a);
	kmqtt_acl_level_load(b);
	return true;
}

/* A first-level wildcard never matches a '$' topic (MQTT-4.7.2-1). */
static bool kmqtt_acl_dollar_apart(const struct kmqtt_acl_level *wild,
				   const struct kmqtt_acl_level *other)
{
	return kmqtt_acl_level_wild(wild) && !kmqtt_acl_level_wild(other) &&
	       other->n && other->s[0] == '$';
}

static bool kmqtt_acl_levels_end(const struct kmqtt_acl_level *a,
				 const struct kmqtt_acl_level *b, bool cover)
{
	bool a_done = a->pos + a->n == a->len;
	bool b_done = b->pos + b->n == b->len;

	if (a_done && b_done)
		return true;
	/* "x/#" matches "x" too: a longer filter ending in "/#" reaches. */
	if (b_done)
		return kmqtt_acl_rest_is_multi(a);
	return !cover && kmqtt_acl_rest_is_multi(b);
}

/* Does filter @a match every topic that filter @b matches? */
static bool kmqtt_acl_covers(const u8 *a, size_t alen, const u8 *b,
			     size_t blen)
{
	struct kmqtt_acl_level la = { .s = a, .len = alen };
	struct kmqtt_acl_level lb = { .s = b, .len = blen };

	kmqtt_acl_level_load(&la);
	kmqtt_acl_level_load(&lb);
	if (kmqtt_acl_dollar_apart(&la, &lb))
		return false;
	/*
	 * From the first level, "+/#" matches what "#" does: every topic
	 * (deeper, "x/#" matches "x" and "x/+/#" does not).
	 */
	if (kmqtt_acl_level_is(&la, MQTT_WILDCARD_SINGLE) &&
	    kmqtt_acl_rest_is_multi(&la) &&
	    kmqtt_acl_level_is(&lb, MQTT_WILDCARD_MULTI))
		return true;
	do {
		if (kmqtt_acl_level_is(&la, MQTT_WILDCARD_MULTI))
			return true;
		if (kmqtt_acl_level_is(&lb, MQTT_WILDCARD_MULTI))
			return false;
		if (kmqtt_acl_level_is(&la, MQTT_WILDCARD_SINGLE))
			continue;
		if (kmqtt_acl_level_is(&lb, MQTT_WILDCARD_SINGLE) ||
		    la.n != lb.n || memcmp(a + la.pos, b + lb.pos, la.n))
			return false;
	} while (kmqtt_acl_level_next(&la, &lb));
	return kmqtt_acl_levels_end(&la, &lb, true);
}

/* Is there a topic that both filters match? */
static bool kmqtt_acl_overlap(const u8 *a, size_t alen, const u8 *b,
			      size_t blen)
{
	struct kmqtt_acl_level la = { .s = a, .len = alen };
	struct kmqtt_acl_level lb = { .s = b, .len = blen };

	kmqtt_acl_level_load(&la);
	kmqtt_acl_level_load(&lb);
	if (kmqtt_acl_dollar_apart(&la, &lb) ||
	    kmqtt_acl_dollar_apart(&lb, &la))
		return false;
	do {
		if (kmqtt_acl_level_is(&la, MQTT_WILDCARD_MULTI) ||
		    kmqtt_acl_level_is(&lb, MQTT_WILDCARD_MULTI))
			return true;
		if (kmqtt_acl_level_is(&la, MQTT_WILDCARD_SINGLE) ||
		    kmqtt_acl_level_is(&lb, MQTT_WILDCARD_SINGLE))
			continue;
		if (la.n != lb.n || memcmp(a + la.pos, b + lb.pos, la.n))
			return false;
	} while (kmqtt_acl_level_next(&la, &lb));
	return kmqtt_acl_levels_end(&la, &lb, false);
}

bool kmqtt_acl_may_subscribe(const struct kmqtt_acl *acl, const u8 *filter,
			     size_t len)
{
	u32 i;

	if (!acl)
		return true;
	for (i = 0; i < acl->count; i++) {
		const struct kmqtt_acl_rule *rule = &acl->rule[i];

		if (rule->access & KMQTT_ACL_DENY) {
			if (kmqtt_acl_covers(rule->filter, rule->len, filter,
					     len))
				return false;
		} else if ((rule->access & KMQTT_ACL_READ) &&
			   kmqtt_acl_overlap(rule->filter, rule->len, filter,
					     len)) {
			return true;
		}
	}
	return false;
}
