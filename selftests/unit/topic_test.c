// SPDX-License-Identifier: GPL-2.0
/*
 * Table and behaviour tests of kmod/topic.c: the wildcard examples of MQTT
 * 3.1.1 sections 4.7.1.2, 4.7.1.3, 4.7.2 and 4.7.3, filter and name
 * validation, subscribe/unsubscribe/prune, deduplication, match set limits,
 * allocation failures, memory accounting, deep and wide trees.
 */
#include <stdlib.h>
#include <string.h>
#include <sanitizer/lsan_interface.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include <kmqtt/mqtt.h>
#include "topic.h"
#include "ref_match.h"
#include "topic_acct.h"

#include "kselftest_harness.h"

static int sub(struct kmqtt_topic_tree *tree, const char *filter,
	       void *subscriber, u8 options)
{
	return kmqtt_topic_subscribe(tree, (const u8 *)filter, strlen(filter),
				     subscriber, options, 0);
}

static int sub_id(struct kmqtt_topic_tree *tree, const char *filter,
		  void *subscriber, u8 options, u32 id)
{
	return kmqtt_topic_subscribe(tree, (const u8 *)filter, strlen(filter),
				     subscriber, options, id);
}

static int unsub(struct kmqtt_topic_tree *tree, const char *filter,
		 void *subscriber)
{
	return kmqtt_topic_unsubscribe(tree, (const u8 *)filter,
				       strlen(filter), subscriber);
}

static void match(const struct kmqtt_topic_tree *tree, const char *topic,
		  struct kmqtt_match_set *set)
{
	kmqtt_topic_match(tree, (const u8 *)topic, strlen(topic), set,
			  GFP_ATOMIC);
}

static const struct kmqtt_match *find(const struct kmqtt_match_set *set,
				      const void *subscriber)
{
	u32 i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].subscriber == subscriber)
			return &set->v[i];
	return NULL;
}

/* True if no subscriber appears twice in @set. */
static bool unique(const struct kmqtt_match_set *set)
{
	u32 i, j;

	for (i = 0; i < set->n; i++)
		for (j = i + 1; j < set->n; j++)
			if (set->v[i].subscriber == set->v[j].subscriber)
				return false;
	return true;
}

struct wildcard_case {
	const char filter[48];
	const char topic[48];
	bool match;
};

static const struct wildcard_case wildcard_table[] = {
	/* 4.7.1.2 */
	{ "sport/tennis/player1/#", "sport/tennis/player1", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/ranking", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true },
	{ "sport/tennis/player1/#", "sport/tennis/player2", false },
	{ "sport/tennis/player1/#", "sport/tennis", false },
	{ "sport/#", "sport", true },
	{ "#", "sport/tennis/player1", true },
	{ "#", "/", true },
	{ "#", "a", true },
	/* 4.7.1.3 */
	{ "sport/tennis/+", "sport/tennis/player1", true },
	{ "sport/tennis/+", "sport/tennis/player2", true },
	{ "sport/tennis/+", "sport/tennis/player1/ranking", false },
	{ "sport/+", "sport", false },
	{ "sport/+", "sport/", true },
	{ "+/+", "/finance", true },
	{ "/+", "/finance", true },
	{ "+", "/finance", false },
	{ "+/tennis/#", "sport/tennis/player1", true },
	{ "+/tennis/#", "sport/tennis", true },
	{ "+/tennis/#", "sport/golf", false },
	{ "sport/+/player1", "sport/tennis/player1", true },
	{ "sport/+/player1", "sport/tennis/player2", false },
	/* 4.7.2: MQTT-4.7.2-1 */
	{ "#", "$SYS/monitor/Clients", false },
	{ "+/monitor/Clients", "$SYS/monitor/Clients", false },
	{ "$SYS/#", "$SYS/monitor/Clients", true },
	{ "$SYS/monitor/+", "$SYS/monitor/Clients", true },
	{ "+", "$SYS", false },
	{ "+/#", "$SYS/x", false },
	{ "$SYS/#", "$SYS", true },
	{ "a/+", "a/$b", true },
	{ "a/#", "a/$b", true },
	{ "+/$b", "x/$b", true },
	/* 4.7.3: case, spaces, leading '/', empty levels */
	{ "ACCOUNTS", "Accounts", false },
	{ "Accounts payable", "Accounts payable", true },
	{ "/finance", "finance", false },
	{ "finance", "/finance", false },
	{ "sport/tennis", "sport/tennis/", false },
	{ "sport/tennis/", "sport/tennis/", true },
	{ "a//b", "a//b", true },
	{ "a//b", "a/b", false },
	{ "a/+/b", "a//b", true },
	{ "+/+", "/", true },
	{ "/#", "/", true },
	{ "+", "/", false },
	{ "+/#", "/", true },
	{ "//", "//", true },
	{ "+/+/+", "//", true },
	{ "d\xc3\xa9/+", "d\xc3\xa9/x", true },
	{ "d\xc3\xa9/+", "de/x", false },
	/* One a prefix of the other, by levels or by bytes */
	{ "a/b/c", "a/b", false },	/* "/c" is as long as "/#" */
	{ "a/#", "ab", false },
	{ "ab", "a", false },
	{ "a", "ab", false },
};

TEST(wildcard_spec_examples)
{
	const struct wildcard_case *c;
	struct kmqtt_match_set set = { .max = 16 };
	struct kmqtt_topic_tree tree;
	char subscriber;

	for (c = wildcard_table; c < wildcard_table + ARRAY_SIZE(wildcard_table);
	     c++) {
		/* The oracle must agree with the spec before we trust it. */
		EXPECT_EQ(c->match, ref_match(c->filter, strlen(c->filter),
					      c->topic, strlen(c->topic)))
			TH_LOG("ref: '%s' vs '%s'", c->filter, c->topic);

		EXPECT_EQ(c->match, kmqtt_topic_filter_matches(
				(const u8 *)c->filter, strlen(c->filter),
				(const u8 *)c->topic, strlen(c->topic)))
			TH_LOG("filter_matches: '%s' vs '%s'", c->filter,
			       c->topic);

		kmqtt_topic_tree_init(&tree, &topic_acct);
		ASSERT_EQ(1, sub(&tree, c->filter, &subscriber, 1));
		match(&tree, c->topic, &set);
		EXPECT_EQ(c->match ? 1 : 0, set.n)
			TH_LOG("'%s' vs '%s'", c->filter, c->topic);
		if (set.n)
			EXPECT_EQ(&subscriber, set.v[0].subscriber);
		kmqtt_topic_tree_destroy(&tree);
	}
	kmqtt_topic_match_set_free(&set);
}

struct validity_case {
	const char s[24];
	size_t len;		/* 0: strlen(s) */
	bool valid;
};

static size_t case_len(const struct validity_case *c)
{
	return c->len ? c->len : strlen(c->s);
}

static const struct validity_case filter_table[] = {
	{ "#", 0, true },
	{ "+", 0, true },
	{ "+/+", 0, true },
	{ "/", 0, true },
	{ "//", 0, true },
	{ "a/#", 0, true },
	{ "+/tennis/#", 0, true },
	{ "sport/+/player1", 0, true },
	{ "$SYS/#", 0, true },
	{ "/+/", 0, true },
	{ "+/#", 0, true },
	{ "+/+/#", 0, true },
	{ "a b", 0, true },
	{ "d\xc3\xa9/+", 0, true },
	{ "", 0, false },			/* MQTT-4.7.3-1 */
	{ "sport/tennis#", 0, false },		/* MQTT-4.7.1-2 */
	{ "sport/tennis/#/ranking", 0, false },
	{ "#/a", 0, false },
	{ "a/#/", 0, false },
	{ "##", 0, false },
	{ "sport+", 0, false },			/* MQTT-4.7.1-3 */
	{ "++", 0, false },
	{ "+a", 0, false },
	{ "a/+b/c", 0, false },
	{ "a/b+", 0, false },
	{ "a\0b", 3, false },			/* MQTT-1.5.3-2 */
	{ "\xff", 0, false },
	{ "a/\xc0\xaf", 0, false },		/* overlong '/' */
	{ "\xed\xa0\x80/#", 0, false },		/* MQTT-1.5.3-1 */
};

static const struct validity_case name_table[] = {
	{ "a", 0, true },
	{ "/", 0, true },
	{ "a//b", 0, true },
	{ "$SYS/x", 0, true },
	{ "sport/tennis/player1", 0, true },
	{ " ", 0, true },
	{ "\xf4\x8f\xbf\xbf", 0, true },
	{ "", 0, false },			/* MQTT-4.7.3-1 */
	{ "+", 0, false },			/* MQTT-3.3.2-2 */
	{ "#", 0, false },
	{ "a/+", 0, false },
	{ "a/#", 0, false },
	{ "a+b", 0, false },
	{ "sp#rt", 0, false },
	{ "\0", 1, false },			/* MQTT-1.5.3-2 */
	{ "\xc3", 0, false },
	{ "\xf4\x90\x80\x80", 0, false },
	{ "\xed\xbf\xbf", 0, false },		/* MQTT-1.5.3-1 */
	/* An ASCII start, then the rest of the name checked after it. */
	{ "a/\xc3\xa9/b", 0, true },
	{ "a\xc3\xa9+", 0, false },
	{ "a\xc3\xa9#", 0, false },
	{ "ab\xc3\xa9\0", 5, false },
	{ "a\xc3", 0, false },
	{ "a/b\xed\xa0\x80", 0, false },
};

TEST(filter_validity)
{
	const struct validity_case *c;

	for (c = filter_table; c < filter_table + ARRAY_SIZE(filter_table); c++)
		EXPECT_EQ(c->valid, kmqtt_topic_filter_valid((const u8 *)c->s,
							     case_len(c)))
			TH_LOG("filter '%s'", c->s);
}

TEST(name_validity)
{
	const struct validity_case *c;

	for (c = name_table; c < name_table + ARRAY_SIZE(name_table); c++)
		EXPECT_EQ(c->valid, kmqtt_topic_name_valid((const u8 *)c->s,
							   case_len(c)))
			TH_LOG("name '%s'", c->s);
}

TEST(length_cap)
{
	struct kmqtt_match_set set = { .max = 4 };
	struct kmqtt_topic_tree tree;
	u8 *s = malloc(MQTT_MAX_TOPIC_LEN + 1);
	char subscriber;

	ASSERT_NE(NULL, s);
	memset(s, 'a', MQTT_MAX_TOPIC_LEN + 1);
	ASSERT_TRUE(kmqtt_topic_name_valid(s, MQTT_MAX_TOPIC_LEN));
	ASSERT_FALSE(kmqtt_topic_name_valid(s, MQTT_MAX_TOPIC_LEN + 1));
	ASSERT_TRUE(kmqtt_topic_filter_valid(s, MQTT_MAX_TOPIC_LEN));
	ASSERT_FALSE(kmqtt_topic_filter_valid(s, MQTT_MAX_TOPIC_LEN + 1));

	kmqtt_topic_tree_init(&tree, &topic_acct);
	ASSERT_EQ(-EINVAL, kmqtt_topic_subscribe(&tree, s, MQTT_MAX_TOPIC_LEN + 1,
						 &subscriber, 0, 0));
	ASSERT_EQ(1, kmqtt_topic_subscribe(&tree, s, MQTT_MAX_TOPIC_LEN,
					   &subscriber, 0, 0));
	kmqtt_topic_match(&tree, s, MQTT_MAX_TOPIC_LEN, &set, GFP_ATOMIC);
	ASSERT_EQ(1, set.n);
	kmqtt_topic_match(&tree, s, MQTT_MAX_TOPIC_LEN + 1, &set, GFP_ATOMIC);
	ASSERT_EQ(0, set.n);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
	free(s);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

TEST(subscribe_update_unsubscribe_prune)
{
	struct kmqtt_match_set set = { .max = 16 };
	struct kmqtt_topic_tree tree;
	char a, b;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	match(&tree, "a/b", &set);		/* empty tree */
	ASSERT_EQ(0, set.n);
	ASSERT_EQ(-ENOENT, unsub(&tree, "a/b", &a));

	ASSERT_EQ(1, sub(&tree, "a/b/c", &a, 0));
	ASSERT_EQ(3, tree.nodes);
	ASSERT_EQ(1, tree.entries);
	ASSERT_EQ(0, sub(&tree, "a/b/c", &a, 2));	/* update */
	ASSERT_EQ(1, tree.entries);
	match(&tree, "a/b/c", &set);
	ASSERT_EQ(1, set.n);
	ASSERT_EQ(2, set.v[0].options);

	ASSERT_EQ(1, sub(&tree, "a/b/c", &b, 1));
	ASSERT_EQ(1, sub(&tree, "a/+", &b, 1));
	ASSERT_EQ(1, sub(&tree, "a/#", &b, 1));
	ASSERT_EQ(5, tree.nodes);
	ASSERT_EQ(4, tree.entries);

	/* Not there: other subscriber, inner node, other filter. */
	ASSERT_EQ(-ENOENT, unsub(&tree, "a/+", &a));
	ASSERT_EQ(-ENOENT, unsub(&tree, "a/b", &a));
	ASSERT_EQ(-ENOENT, unsub(&tree, "a", &b));
	ASSERT_EQ(-ENOENT, unsub(&tree, "a/b/c/d", &a));
	ASSERT_EQ(-ENOENT, unsub(&tree, "+/b/c", &a));

	ASSERT_EQ(0, unsub(&tree, "a/b/c", &a));
	ASSERT_EQ(-ENOENT, unsub(&tree, "a/b/c", &a));
	match(&tree, "a/b/c", &set);
	ASSERT_EQ(1, set.n);
	ASSERT_EQ(&b, set.v[0].subscriber);
	ASSERT_EQ(5, tree.nodes);

	ASSERT_EQ(0, unsub(&tree, "a/b/c", &b));
	ASSERT_EQ(3, tree.nodes);		/* a, +, # */
	ASSERT_EQ(0, unsub(&tree, "a/+", &b));
	ASSERT_EQ(2, tree.nodes);
	match(&tree, "a/x", &set);
	ASSERT_EQ(1, set.n);			/* through a/# */
	ASSERT_EQ(0, unsub(&tree, "a/#", &b));
	ASSERT_EQ(0, tree.nodes);
	ASSERT_EQ(0, tree.entries);
	match(&tree, "a/x", &set);
	ASSERT_EQ(0, set.n);

	/* The tree works again after it emptied. */
	ASSERT_EQ(1, sub(&tree, "#", &a, 0));
	match(&tree, "q", &set);
	ASSERT_EQ(1, set.n);
	kmqtt_topic_tree_destroy(&tree);
	ASSERT_EQ(0, tree.nodes);
	kmqtt_topic_match_set_free(&set);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

TEST(overlapping_filters_one_copy_at_highest_qos)
{
	struct kmqtt_match_set set = { .max = 16 };
	const struct kmqtt_match *m;
	struct kmqtt_topic_tree tree;
	char a, b, c;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	/* MQTT-3.3.5-1; high option bits travel with the winning filter. */
	ASSERT_EQ(1, sub(&tree, "a/+", &a, 0x40 | 1));
	ASSERT_EQ(1, sub(&tree, "a/#", &a, 0x80 | 2));
	ASSERT_EQ(1, sub(&tree, "#", &a, 0));
	ASSERT_EQ(1, sub(&tree, "a/b", &a, 0x10));
	ASSERT_EQ(1, sub(&tree, "a/b", &b, 1));
	ASSERT_EQ(1, sub(&tree, "+/b", &b, 0));
	ASSERT_EQ(1, sub(&tree, "x", &c, 2));

	match(&tree, "a/b", &set);
	ASSERT_EQ(2, set.n);
	ASSERT_EQ(0, set.overflow);
	m = find(&set, &a);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0x80 | 2, m->options);
	m = find(&set, &b);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(1, m->options);
	ASSERT_EQ(NULL, find(&set, &c));

	ASSERT_EQ(0, unsub(&tree, "a/#", &a));
	match(&tree, "a/b", &set);
	ASSERT_EQ(2, set.n);
	ASSERT_EQ(0x40 | 1, find(&set, &a)->options);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
}

/* Does the entry @m carry exactly the identifiers @want (any order)? */
static bool sub_ids_are(const struct kmqtt_match_set *set,
			const struct kmqtt_match *m, const u32 *want, u8 n)
{
	const u32 *got = kmqtt_match_sub_ids(set, m);
	bool used[KMQTT_MATCH_SUB_IDS] = { false };
	u8 i, j;

	if (m->n_sub_ids != n)
		return false;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && (used[j] || got[j] != want[i]); j++)
			;
		if (j == n)
			return false;
		used[j] = true;
	}
	return true;
}

/*
 * MQTT-3.3.4-4: one copy carries the identifiers of every matching
 * filter that has one; past KMQTT_MATCH_SUB_IDS they are counted.
 */
TEST(subscription_identifiers_of_overlapping_filters)
{
	static const u32 ab[] = { 7, 5 }, all[] = { 1, 2, 3, 4 }, one[] = { 9 };
	struct kmqtt_match_set set = { .max = 10 };
	struct kmqtt_topic_tree tree;
	char a, b, c;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	ASSERT_EQ(1, sub_id(&tree, "a/+", &a, 1, 5));
	ASSERT_EQ(1, sub_id(&tree, "a/#", &a, 0, 7));
	ASSERT_EQ(1, sub_id(&tree, "a/b", &a, 0, 0));
	ASSERT_EQ(1, sub_id(&tree, "a/b", &b, 2, 0));
	ASSERT_EQ(1, sub_id(&tree, "#", &c, 0, 1));
	ASSERT_EQ(1, sub_id(&tree, "+/b", &c, 0, 2));
	ASSERT_EQ(1, sub_id(&tree, "a/#", &c, 0, 3));
	ASSERT_EQ(1, sub_id(&tree, "a/+", &c, 0, 4));
	ASSERT_EQ(1, sub_id(&tree, "a/b", &c, 0, 5));
	ASSERT_EQ(1, sub_id(&tree, "+/+", &c, 0, 4));

	match(&tree, "a/b", &set);
	ASSERT_EQ(3, set.n);
	ASSERT_TRUE(sub_ids_are(&set, find(&set, &a), ab, 2));
	ASSERT_EQ(1, find(&set, &a)->options);
	ASSERT_TRUE(sub_ids_are(&set, find(&set, &b), NULL, 0));
	/*
	 * Six filters of c match with five identifiers, one of them twice:
	 * four go, one is counted.
	 */
	ASSERT_EQ(KMQTT_MATCH_SUB_IDS, find(&set, &c)->n_sub_ids);
	ASSERT_EQ(1, set.sub_ids_left_out);

	/* A resubscribe replaces the identifier, or takes it away. */
	ASSERT_EQ(0, sub_id(&tree, "a/#", &a, 0, 0));
	ASSERT_EQ(0, sub_id(&tree, "a/+", &a, 1, 9));
	ASSERT_EQ(0, unsub(&tree, "a/b", &c));
	match(&tree, "a/b", &set);
	ASSERT_TRUE(sub_ids_are(&set, find(&set, &a), one, 1));
	ASSERT_TRUE(sub_ids_are(&set, find(&set, &c), all, 4));
	ASSERT_EQ(0, set.sub_ids_left_out);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
}

/* The identifier blocks survive the set growing in the middle of a match. */
TEST(subscription_identifiers_across_growth)
{
	enum { N = 200 };
	struct kmqtt_match_set set = { .max = N };
	struct kmqtt_topic_tree tree;
	char subscribers[N];
	u32 want[2];
	int i;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(1, sub_id(&tree, "x/#", &subscribers[i], 0, 1000 + i));
		ASSERT_EQ(1, sub_id(&tree, "x/y", &subscribers[i], 0, 5000 + i));
	}
	match(&tree, "x/y", &set);
	ASSERT_EQ(N, set.n);
	for (i = 0; i < N; i++) {
		want[0] = 1000 + i;
		want[1] = 5000 + i;
		ASSERT_TRUE(sub_ids_are(&set, find(&set, &subscribers[i]),
					want, 2)) TH_LOG("subscriber %d", i);
	}
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
}

TEST(match_set_max_and_overflow)
{
	enum { N = 100 };
	struct kmqtt_match_set set = { .max = 10 };
	struct kmqtt_topic_tree tree;
	char subscribers[N];
	int i;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (i = 0; i < N; i++)
		ASSERT_EQ(1, sub(&tree, "x", &subscribers[i], 0));

	match(&tree, "x", &set);
	ASSERT_EQ(10, set.n);
	ASSERT_EQ(N - 10, set.overflow);
	ASSERT_TRUE(unique(&set));

	set.max = 1000;				/* the set is reused */
	match(&tree, "x", &set);
	ASSERT_EQ(N, set.n);
	ASSERT_EQ(0, set.overflow);
	ASSERT_TRUE(unique(&set));
	for (i = 0; i < N; i++)
		ASSERT_NE(NULL, find(&set, &subscribers[i]));

	set.max = 0;
	match(&tree, "x", &set);
	ASSERT_EQ(0, set.n);
	ASSERT_EQ(N, set.overflow);

	match(&tree, "y", &set);
	ASSERT_EQ(0, set.n);
	ASSERT_EQ(0, set.overflow);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
}

/*
 * Idle, a set keeps the array of a small fan-out (its first, reused by
 * the next message) and frees a larger one; matching again grows it back.
 */
TEST(idle_set_keeps_only_its_first_array)
{
	enum { N = 20 };
	struct kmqtt_match_set set = { .max = 1000 };
	struct kmqtt_topic_tree tree;
	char subscribers[N];
	const void *first;
	int i;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	ASSERT_EQ(1, sub(&tree, "few", &subscribers[0], 0));
	for (i = 0; i < N; i++)
		ASSERT_EQ(1, sub(&tree, "many", &subscribers[i], 0));

	match(&tree, "few", &set);
	ASSERT_EQ(1, set.n);
	first = set.v;
	ASSERT_NE(NULL, first);
	kmqtt_topic_match_set_idle(&set);
	ASSERT_EQ(first, set.v);

	match(&tree, "many", &set);
	ASSERT_EQ(N, set.n);
	ASSERT_LE(N, set.cap);
	kmqtt_topic_match_set_idle(&set);
	ASSERT_EQ(NULL, set.v);
	ASSERT_EQ(0, set.cap);
	ASSERT_EQ(0, set.n);

	match(&tree, "many", &set);
	ASSERT_EQ(N, set.n);
	ASSERT_TRUE(unique(&set));
	for (i = 0; i < N; i++)
		ASSERT_NE(NULL, find(&set, &subscribers[i]));
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
}

/* Duplicates must not take the room of distinct subscribers. */
TEST(dedup_when_the_set_is_full)
{
	enum { N = 5 };
	static const char *const filters[] = { "a/+", "a/#", "a/b", "+/b", "#" };
	struct kmqtt_match_set set = { .max = N };
	struct kmqtt_topic_tree tree;
	char subscribers[N];
	size_t f;
	int i;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (f = 0; f < ARRAY_SIZE(filters); f++)
		for (i = 0; i < N; i++)
			ASSERT_EQ(1, sub(&tree, filters[f], &subscribers[i],
					 (f + i) % 3));
	match(&tree, "a/b", &set);
	ASSERT_EQ(N, set.n);
	ASSERT_EQ(0, set.overflow);
	ASSERT_TRUE(unique(&set));
	for (i = 0; i < N; i++)
		ASSERT_EQ(2, find(&set, &subscribers[i])->options);

	/* One slot: the other subscribers overflow, but the kept one has
	 * its highest QoS whatever the order the filters were met in.
	 */
	set.max = 1;
	match(&tree, "a/b", &set);
	ASSERT_EQ(1, set.n);
	ASSERT_EQ(2, set.v[0].options);
	ASSERT_LE(N - 1, set.overflow);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
}

TEST(match_set_allocation_failure)
{
	struct kmqtt_match_set set = { .max = 100 };
	struct kmqtt_topic_tree tree;
	char a, b;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	ASSERT_EQ(1, sub(&tree, "x", &a, 0));
	ASSERT_EQ(1, sub(&tree, "x", &b, 0));
	shim_alloc_fail_countdown = 1;
	match(&tree, "x", &set);
	ASSERT_EQ(0, shim_alloc_fail_countdown);	/* it did fail */
	ASSERT_EQ(0, set.n);
	ASSERT_EQ(2, set.overflow);
	match(&tree, "x", &set);
	ASSERT_EQ(2, set.n);
	ASSERT_EQ(0, set.overflow);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
}

/*
 * Make each allocation, or each charge, of a 4-level subscribe fail in
 * turn (*countdown is the shim's or the accountant's): every failure
 * leaves the tree and its charge as they were.
 */
static void fail_each_step(struct __test_metadata *_metadata,
			   struct kmqtt_topic_tree *tree,
			   unsigned long *countdown)
{
	struct kmqtt_match_set set = { .max = 16 };
	size_t bytes = topic_acct_bytes;
	unsigned long nth;
	int failures = 0, ret;
	char b;

	for (nth = 1;; nth++) {
		*countdown = nth;
		ret = sub(tree, "a/b/+/#", &b, 2);
		*countdown = 0;
		if (ret == 1)
			break;
		ASSERT_EQ(-ENOMEM, ret);
		failures++;
		ASSERT_EQ(2, tree->nodes);
		ASSERT_EQ(1, tree->entries);
		ASSERT_EQ(bytes, topic_acct_bytes);
		match(tree, "a/b/c", &set);
		ASSERT_EQ(0, set.n);
	}
	ASSERT_EQ(4, failures);			/* three new nodes, one entry */
	ASSERT_EQ(5, tree->nodes);
	ASSERT_LT(bytes, topic_acct_bytes);
	match(tree, "a/b/c", &set);
	ASSERT_EQ(1, set.n);
	kmqtt_topic_tree_destroy(tree);
	ASSERT_EQ(0, topic_acct_bytes);
	kmqtt_topic_match_set_free(&set);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

TEST(subscribe_allocation_failure_leaves_tree_unchanged)
{
	struct kmqtt_topic_tree tree;
	char a;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	/* The very first subscribe allocates the index. */
	shim_alloc_fail_countdown = 1;
	ASSERT_EQ(-ENOMEM, sub(&tree, "a/x", &a, 1));
	ASSERT_EQ(NULL, tree.root);
	ASSERT_EQ(0, topic_acct_bytes);
	ASSERT_EQ(1, sub(&tree, "a/x", &a, 1));
	fail_each_step(_metadata, &tree, &shim_alloc_fail_countdown);
}

/* The owner's memory limit refusing a node or an entry. */
TEST(subscribe_charge_refused_leaves_tree_unchanged)
{
	struct kmqtt_topic_tree tree;
	char a;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	ASSERT_EQ(1, sub(&tree, "a/x", &a, 1));
	fail_each_step(_metadata, &tree, &topic_acct_fail_countdown);
}

/*
 * Each node is charged with its label, each entry on its own, and all of
 * it is given back by unsubscribe and by destroy.
 */
TEST(memory_accounting)
{
	struct kmqtt_topic_tree tree;
	size_t empty, entry, node4, node2;
	char a, b;

	kmqtt_topic_tree_init(&tree, &topic_acct);
	ASSERT_EQ(1, sub(&tree, "a/b", &a, 0));
	empty = topic_acct_bytes;
	ASSERT_EQ(1, sub(&tree, "a/b", &b, 0));
	entry = topic_acct_bytes - empty;
	ASSERT_LT(0, entry);
	ASSERT_EQ(1, sub(&tree, "a/b/dddd", &a, 0));
	node4 = topic_acct_bytes - empty - 2 * entry;
	ASSERT_EQ(1, sub(&tree, "a/b/ee", &a, 0));
	node2 = topic_acct_bytes - empty - 3 * entry - node4;
	ASSERT_EQ(2, node4 - node2);
	ASSERT_EQ(0, sub(&tree, "a/b/ee", &a, 1));	/* update: no charge */
	ASSERT_EQ(empty + 3 * entry + node4 + node2, topic_acct_bytes);

	ASSERT_EQ(0, unsub(&tree, "a/b/dddd", &a));
	ASSERT_EQ(empty + 2 * entry + node2, topic_acct_bytes);
	ASSERT_EQ(0, unsub(&tree, "a/b", &b));
	ASSERT_EQ(0, unsub(&tree, "a/b", &a));
	ASSERT_EQ(0, unsub(&tree, "a/b/ee", &a));
	ASSERT_EQ(0, tree.nodes);
	ASSERT_EQ(0, topic_acct_bytes);

	ASSERT_EQ(1, sub(&tree, "x/y/z", &a, 0));
	ASSERT_EQ(1, sub(&tree, "x/+", &b, 0));
	kmqtt_topic_tree_destroy(&tree);
	ASSERT_EQ(0, topic_acct_bytes);
}

TEST(levels)
{
	static const struct { char s[8]; u32 levels; } cases[] = {
		{ "", 1 }, { "a", 1 }, { "/", 2 }, { "a/b/c", 3 },
		{ "//", 3 }, { "+/#", 2 }, { "/a/", 3 },
	};
	u8 *slashes = malloc(MQTT_MAX_TOPIC_LEN);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		EXPECT_EQ(cases[i].levels,
			  kmqtt_topic_levels((const u8 *)cases[i].s,
					     strlen(cases[i].s)))
			TH_LOG("'%s'", cases[i].s);
	ASSERT_NE(NULL, slashes);
	memset(slashes, '/', MQTT_MAX_TOPIC_LEN);
	EXPECT_EQ(MQTT_MAX_TOPIC_LEN + 1,
		  kmqtt_topic_levels(slashes, MQTT_MAX_TOPIC_LEN));
	free(slashes);
}

/* 32768 levels: the walk must not recurse per level. */
TEST(deepest_topics)
{
	struct kmqtt_match_set set = { .max = 16 };
	size_t len = MQTT_MAX_TOPIC_LEN, i;
	struct kmqtt_topic_tree tree;
	u8 *lit = malloc(len), *plus = malloc(len), *slashes = malloc(len);
	char a, b, c, d;

	ASSERT_NE(NULL, lit);
	ASSERT_NE(NULL, plus);
	ASSERT_NE(NULL, slashes);
	for (i = 0; i < len; i++) {
		lit[i] = i % 2 ? '/' : 'a';		/* a/a/.../a */
		plus[i] = i % 2 ? '/' : '+';		/* +/+/.../+ */
		slashes[i] = '/';			/* 65536 empty levels */
	}
	kmqtt_topic_tree_init(&tree, &topic_acct);
	ASSERT_EQ(1, kmqtt_topic_subscribe(&tree, lit, len, &a, 0, 0));
	ASSERT_EQ(1, kmqtt_topic_subscribe(&tree, plus, len, &b, 1, 0));
	ASSERT_EQ(1, kmqtt_topic_subscribe(&tree, slashes, len, &c, 0, 0));
	plus[len - 1] = '#';
	ASSERT_EQ(1, kmqtt_topic_subscribe(&tree, plus, len, &d, 2, 0));

	kmqtt_topic_match(&tree, lit, len, &set, GFP_ATOMIC);
	ASSERT_EQ(3, set.n);
	ASSERT_EQ(NULL, find(&set, &c));
	kmqtt_topic_match(&tree, slashes, len, &set, GFP_ATOMIC);
	ASSERT_EQ(2, set.n);			/* slashes and +/.../# */
	ASSERT_NE(NULL, find(&set, &c));
	ASSERT_NE(NULL, find(&set, &d));
	kmqtt_topic_match(&tree, lit, len - 2, &set, GFP_ATOMIC);
	ASSERT_EQ(1, set.n);			/* +/.../# via the parent */
	ASSERT_NE(NULL, find(&set, &d));

	kmqtt_topic_tree_destroy(&tree);
	ASSERT_EQ(0, topic_acct_bytes);
	kmqtt_topic_match_set_free(&set);
	free(lit);
	free(plus);
	free(slashes);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

TEST(many_children_on_one_level)
{
	enum { N = 20000 };
	struct kmqtt_match_set set = { .max = 16 };
	char *subscribers = malloc(N), wild;
	struct kmqtt_topic_tree tree;
	char topic[32];
	int i;

	ASSERT_NE(NULL, subscribers);
	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (i = 0; i < N; i++) {
		snprintf(topic, sizeof(topic), "dev/%d/cmd", i);
		ASSERT_EQ(1, sub(&tree, topic, &subscribers[i], i % 3));
	}
	ASSERT_EQ(1, sub(&tree, "dev/+/cmd", &wild, 0));
	ASSERT_EQ(1 + N * 2 + 2, tree.nodes);
	for (i = 0; i < N; i++) {
		snprintf(topic, sizeof(topic), "dev/%d/cmd", i);
		match(&tree, topic, &set);
		ASSERT_EQ(2, set.n);
		ASSERT_NE(NULL, find(&set, &subscribers[i]));
		ASSERT_EQ(i % 3, find(&set, &subscribers[i])->options);
		ASSERT_NE(NULL, find(&set, &wild));
	}
	match(&tree, "dev/x/cmd", &set);
	ASSERT_EQ(1, set.n);
	for (i = 0; i < N; i += 2) {
		snprintf(topic, sizeof(topic), "dev/%d/cmd", i);
		ASSERT_EQ(0, unsub(&tree, topic, &subscribers[i]));
	}
	ASSERT_EQ(1 + N + 2, tree.nodes);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
	free(subscribers);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

TEST(many_subscribers_on_overlapping_filters)
{
	enum { N = 10000 };
	static const char *const filters[] = { "t/x", "t/+", "t/#", "+/x", "#" };
	struct kmqtt_match_set set = { .max = 2 * N };
	struct kmqtt_topic_tree tree;
	char *subscribers = malloc(N), *seen = calloc(N, 1);
	size_t f;
	int i;

	ASSERT_NE(NULL, subscribers);
	ASSERT_NE(NULL, seen);
	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (f = 0; f < ARRAY_SIZE(filters); f++)
		for (i = 0; i < N; i++)
			ASSERT_EQ(1, sub(&tree, filters[f], &subscribers[i],
					 (f * 7 + i) % 3));
	ASSERT_EQ(N * ARRAY_SIZE(filters), tree.entries);
	match(&tree, "t/x", &set);
	ASSERT_EQ(N, set.n);
	ASSERT_EQ(0, set.overflow);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(2, set.v[i].options);
		ASSERT_EQ(0, seen[(char *)set.v[i].subscriber - subscribers]++);
	}

	for (f = 0; f < ARRAY_SIZE(filters); f++)
		for (i = 0; i < N; i++)
			ASSERT_EQ(0, unsub(&tree, filters[f], &subscribers[i]));
	ASSERT_EQ(0, tree.nodes);
	ASSERT_EQ(0, tree.entries);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
	free(subscribers);
	free(seen);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

/* 4.8.2: "$share/GROUP/FILTER", GROUP non-empty without wildcards. */
TEST(share_split)
{
	static const struct {
		const char *filter;
		int ret;
		const char *topic_filter;
	} cases[] = {
		{ "$share/g/a/b", 1, "a/b" },
		{ "$share/group/#", 1, "#" },
		{ "$share/g/+/x", 1, "+/x" },
		{ "$share/g//", 1, "/" },
		{ "a/b", 0, NULL },
		{ "$share", 0, NULL },
		{ "$sharex/g/a", 0, NULL },
		{ "$SYS/g/a", 0, NULL },
		{ "$share/", -EINVAL, NULL },
		{ "$share//a", -EINVAL, NULL },	/* MQTT-4.8.2-1 */
		{ "$share/g", -EINVAL, NULL },
		{ "$share/g/", -EINVAL, NULL },
		{ "$share/+/a", -EINVAL, NULL },	/* MQTT-4.8.2-2 */
		{ "$share/#", -EINVAL, NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *f = cases[i].filter;
		const u8 *tf = NULL;
		size_t tl = 0;

		EXPECT_EQ(cases[i].ret,
			  kmqtt_topic_share_split((const u8 *)f, strlen(f),
						  &tf, &tl)) TH_LOG("%s", f);
		if (cases[i].ret == 1) {
			EXPECT_EQ(strlen(cases[i].topic_filter), tl);
			EXPECT_EQ(0, memcmp(cases[i].topic_filter, tf, tl));
		}
	}
}

TEST_HARNESS_MAIN
