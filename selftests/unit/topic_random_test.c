// SPDX-License-Identifier: GPL-2.0
/*
 * The topic trie against the naive reference matcher (ref_match.c) on random
 * filters and topics over a tiny alphabet, so that shared prefixes, empty
 * levels, '$' topics and wildcard overlaps are the common case.  A model of
 * the subscriptions gives the expected result of every operation, also
 * when the memory accountant refuses a charge, and the tree's charge goes
 * back to zero.  The single-pair kmqtt_topic_filter_matches() is checked
 * against the reference too.
 *
 * KMQTT_SEED=N picks the seed (printed at the start of each test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/lsan_interface.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include "topic.h"
#include "ref_match.h"
#include "topic_acct.h"

#include "kselftest_harness.h"
#include "rng.h"

#define SUBSCRIBERS	40
#define FILTERS		80
#define MAX_LEVELS	5
#define STR_MAX		(MAX_LEVELS * 4 + 2)
/* Subscription identifiers 1..SUB_IDS, so that some repeat. */
#define SUB_IDS		6

static const char *const topic_words[] = { "", "a", "b", "ab", "$s" };
static const char *const filter_words[] = { "", "a", "b", "ab", "$s", "+", "+" };

/* A valid topic name: at least one character (MQTT-4.7.3-1). */
static void random_topic(char *s)
{
	int levels, i;

	do {
		levels = 1 + rnd(MAX_LEVELS);
		s[0] = 0;
		for (i = 0; i < levels; i++) {
			if (i)
				strcat(s, "/");
			strcat(s, topic_words[rnd(ARRAY_SIZE(topic_words))]);
		}
	} while (!s[0]);
	/* Make '$' first levels frequent: MQTT-4.7.2-1. */
	if (!rnd(4) && s[0] != '$') {
		memmove(s + 1, s, strlen(s) + 1);
		s[0] = '$';
	}
}

static void random_filter(char *s)
{
	int levels = rnd(MAX_LEVELS) + 1, i;

	s[0] = 0;
	for (i = 0; i < levels; i++) {
		if (i)
			strcat(s, "/");
		if (i == levels - 1 && !rnd(4))
			strcat(s, "#");
		else
			strcat(s, filter_words[rnd(ARRAY_SIZE(filter_words))]);
	}
}

/*
 * Subscriptions as the spec sees them: qos[subscriber][filter], -1 none,
 * with a subscription identifier (0 for none).
 */
struct model {
	char filters[FILTERS][STR_MAX];
	int qos[SUBSCRIBERS][FILTERS];
	u32 sub_id[SUBSCRIBERS][FILTERS];
	char subscribers[SUBSCRIBERS];
};

static u32 random_sub_id(void)
{
	return rnd(3) ? 0 : 1 + rnd(SUB_IDS);
}

static void model_init(struct model *m)
{
	int f, g, s;

	for (f = 0; f < FILTERS; f++) {
		do {			/* distinct and valid */
			random_filter(m->filters[f]);
			for (g = 0; g < f; g++)
				if (!strcmp(m->filters[f], m->filters[g]))
					break;
		} while (g < f || !kmqtt_topic_filter_valid(
				(const u8 *)m->filters[f], strlen(m->filters[f])));
		for (s = 0; s < SUBSCRIBERS; s++)
			m->qos[s][f] = -1;
	}
}

static u32 model_entries(const struct model *m)
{
	u32 n = 0;
	int s, f;

	for (s = 0; s < SUBSCRIBERS; s++)
		for (f = 0; f < FILTERS; f++)
			n += m->qos[s][f] >= 0;
	return n;
}

/* Trie nodes = distinct level prefixes of the filters someone holds. */
static u32 model_nodes(const struct model *m)
{
	static char prefixes[FILTERS * MAX_LEVELS][STR_MAX];
	u32 n = 0, k;
	int s, f;
	size_t i, len;

	for (f = 0; f < FILTERS; f++) {
		for (s = 0; s < SUBSCRIBERS && m->qos[s][f] < 0; s++)
			;
		if (s == SUBSCRIBERS)
			continue;
		len = strlen(m->filters[f]);
		for (i = 0; i <= len; i++) {
			if (i < len && m->filters[f][i] != '/')
				continue;
			for (k = 0; k < n; k++)
				if (strlen(prefixes[k]) == i &&
				    !memcmp(prefixes[k], m->filters[f], i))
					break;
			if (k == n) {
				memcpy(prefixes[n], m->filters[f], i);
				prefixes[n++][i] = 0;
			}
		}
	}
	return n;
}

/*
 * The identifiers of the entry @e: @n distinct ones of those @ids marks
 * (MQTT-3.3.4-4), up to KMQTT_MATCH_SUB_IDS.
 */
static void check_sub_ids(struct __test_metadata *_metadata,
			  const struct kmqtt_match_set *set,
			  const struct kmqtt_match *e, u32 *ids, u32 n)
{
	const u32 *got = kmqtt_match_sub_ids(set, e);
	u8 k;

	ASSERT_EQ(n < KMQTT_MATCH_SUB_IDS ? n : KMQTT_MATCH_SUB_IDS,
		  e->n_sub_ids);
	for (k = 0; k < e->n_sub_ids; k++) {
		ASSERT_TRUE(got[k] >= 1 && got[k] <= SUB_IDS);
		ASSERT_LT(0, ids[got[k]]) TH_LOG("identifier %u", got[k]);
		ids[got[k]]--;
	}
}

/*
 * Compare one match against the model.  @set->max may be below the number
 * of subscribers: then every subscriber returned must still be right and
 * the rest must be counted as overflow.
 */
static void check_match(struct __test_metadata *_metadata, const struct model *m,
			const struct kmqtt_topic_tree *tree, const char *topic,
			struct kmqtt_match_set *set)
{
	bool matches[FILTERS];
	int want[SUBSCRIBERS], s, f;
	u32 i, expected = 0, left_out = 0;
	/* Each subscriber's identifiers through its matching filters. */
	u32 ids[SUBSCRIBERS][SUB_IDS + 1] = { 0 }, n_ids[SUBSCRIBERS] = { 0 };

	for (f = 0; f < FILTERS; f++) {
		matches[f] = ref_match(m->filters[f], strlen(m->filters[f]),
				       topic, strlen(topic));
		/* The tree-less matcher of the retained store, on the way. */
		ASSERT_EQ(matches[f], kmqtt_topic_filter_matches(
				(const u8 *)m->filters[f], strlen(m->filters[f]),
				(const u8 *)topic, strlen(topic)))
			TH_LOG("filter_matches: '%s' vs '%s'", m->filters[f],
			       topic);
	}
	for (s = 0; s < SUBSCRIBERS; s++) {
		want[s] = -1;
		for (f = 0; f < FILTERS; f++) {
			if (!matches[f] || m->qos[s][f] < 0)
				continue;
			if (m->qos[s][f] > want[s])
				want[s] = m->qos[s][f];
			/* Each identifier once, however many filters. */
			if (m->sub_id[s][f] && !ids[s][m->sub_id[s][f]]) {
				ids[s][m->sub_id[s][f]] = 1;
				n_ids[s]++;
			}
		}
		expected += want[s] >= 0;
		if (n_ids[s] > KMQTT_MATCH_SUB_IDS)
			left_out += n_ids[s] - KMQTT_MATCH_SUB_IDS;
	}

	kmqtt_topic_match(tree, (const u8 *)topic, strlen(topic), set,
			  GFP_ATOMIC);

	for (i = 0; i < set->n; i++) {
		s = (char *)set->v[i].subscriber - m->subscribers;
		ASSERT_TRUE(s >= 0 && s < SUBSCRIBERS);
		if (want[s] != set->v[i].options)
			for (f = 0; f < FILTERS; f++)
				if (m->qos[s][f] >= 0)
					TH_LOG("subscriber %d has '%s' qos %d: %s",
					       s, m->filters[f], m->qos[s][f],
					       matches[f] ? "matches" : "no match");
		ASSERT_EQ(want[s], set->v[i].options)
			TH_LOG("topic '%s' subscriber %d", topic, s);
		want[s] = -2;		/* seen: a second copy fails above */
		check_sub_ids(_metadata, set, &set->v[i], ids[s], n_ids[s]);
	}
	if (expected <= set->max) {
		for (s = 0; s < SUBSCRIBERS; s++) {
			if (want[s] >= 0)
				for (f = 0; f < FILTERS; f++)
					if (matches[f] && m->qos[s][f] >= 0)
						TH_LOG("missed through '%s'",
						       m->filters[f]);
			ASSERT_GT(0, want[s])
				TH_LOG("topic '%s' misses subscriber %d",
				       topic, s);
		}
		ASSERT_EQ(0, set->overflow);
		ASSERT_EQ(left_out, set->sub_ids_left_out);
	} else {
		ASSERT_EQ(set->max, set->n);
		ASSERT_LE(expected - set->n, set->overflow)
			TH_LOG("topic '%s'", topic);
	}
}

static void check_counts(struct __test_metadata *_metadata,
			 const struct model *m,
			 const struct kmqtt_topic_tree *tree)
{
	ASSERT_EQ(model_entries(m), tree->entries);
	ASSERT_EQ(model_nodes(m), tree->nodes);
}

/* Random subscribe, resubscribe, unsubscribe and match, checked each step. */
static void run_sequence(struct __test_metadata *_metadata, u32 steps,
			 u32 set_max)
{
	struct kmqtt_match_set set = { .max = set_max };
	struct kmqtt_topic_tree tree;
	struct model *m = calloc(1, sizeof(*m));
	char topic[STR_MAX + 1];
	bool refusing, refused;
	size_t bytes;
	u32 step, k;

	ASSERT_NE(NULL, m);
	model_init(m);
	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (step = 0; step < steps; step++) {
		int s = rnd(SUBSCRIBERS), f = rnd(FILTERS);
		const char *filter = m->filters[f];
		unsigned long gen = kmqtt_topic_gen(&tree);
		int ret;

		if (rnd(3)) {
			u32 sub_id = random_sub_id();
			u8 qos = rnd(3);

			/* Sometimes the memory limit refuses a charge. */
			if (!rnd(8))
				topic_acct_fail_countdown = 1 + rnd(4);
			refusing = topic_acct_fail_countdown;
			bytes = topic_acct_bytes;
			ret = kmqtt_topic_subscribe(&tree, (const u8 *)filter,
						    strlen(filter),
						    &m->subscribers[s], qos,
						    sub_id);
			refused = refusing && !topic_acct_fail_countdown;
			topic_acct_fail_countdown = 0;
			ASSERT_EQ(refused ? -ENOMEM : m->qos[s][f] < 0 ? 1 : 0,
				  ret)
				TH_LOG("step %u: subscribe '%s'", step, filter);
			/* A refused subscribe gives back what it charged. */
			ASSERT_EQ(refused ? bytes : topic_acct_bytes,
				  topic_acct_bytes);
			if (!refused) {
				m->qos[s][f] = qos;
				m->sub_id[s][f] = sub_id;
			}
		} else {
			ret = kmqtt_topic_unsubscribe(&tree, (const u8 *)filter,
						      strlen(filter),
						      &m->subscribers[s]);
			ASSERT_EQ(m->qos[s][f] < 0 ? -ENOENT : 0, ret)
				TH_LOG("step %u: unsubscribe '%s'", step, filter);
			m->qos[s][f] = -1;
		}
		/*
		 * What a match may find changed exactly when the step
		 * succeeded: a match kept from before is right while the
		 * generation stays.
		 */
		ASSERT_EQ(ret >= 0, kmqtt_topic_gen(&tree) != gen)
			TH_LOG("step %u: '%s' returned %d", step, filter, ret);
		check_counts(_metadata, m, &tree);
		for (k = 0; k < 3; k++) {
			random_topic(topic);
			check_match(_metadata, m, &tree, topic, &set);
		}
	}
	kmqtt_topic_tree_destroy(&tree);
	ASSERT_EQ(0, topic_acct_bytes);
	kmqtt_topic_match_set_free(&set);
	free(m);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

TEST(random_sequences_vs_reference)
{
	int round;

	rng_seed(_metadata);
	for (round = 0; round < 3; round++)
		run_sequence(_metadata, 2000, SUBSCRIBERS);
}

/* A small match set: dedup under pressure, overflow accounting. */
TEST(random_sequences_small_match_set)
{
	u32 max;

	rng_seed(_metadata);
	for (max = 0; max < 5; max++)
		run_sequence(_metadata, 800, max);
}

/* Everyone subscribed to everything, then unsubscribed in random order. */
TEST(random_fill_and_drain)
{
	struct kmqtt_match_set set = { .max = SUBSCRIBERS };
	struct kmqtt_topic_tree tree;
	struct model *m = calloc(1, sizeof(*m));
	int order[SUBSCRIBERS * FILTERS], i, j, s, f;
	char topic[STR_MAX + 1];

	ASSERT_NE(NULL, m);
	rng_seed(_metadata);
	model_init(m);
	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (i = 0; i < SUBSCRIBERS * FILTERS; i++)
		order[i] = i;
	for (i = SUBSCRIBERS * FILTERS - 1; i > 0; i--) {
		j = rnd(i + 1);
		s = order[i];
		order[i] = order[j];
		order[j] = s;
	}
	for (i = 0; i < SUBSCRIBERS * FILTERS; i++) {
		s = order[i] / FILTERS;
		f = order[i] % FILTERS;
		m->qos[s][f] = rnd(3);
		m->sub_id[s][f] = random_sub_id();
		ASSERT_EQ(1, kmqtt_topic_subscribe(&tree,
						   (const u8 *)m->filters[f],
						   strlen(m->filters[f]),
						   &m->subscribers[s],
						   m->qos[s][f],
						   m->sub_id[s][f]));
	}
	check_counts(_metadata, m, &tree);
	for (i = 0; i < 2000; i++) {
		random_topic(topic);
		check_match(_metadata, m, &tree, topic, &set);
	}
	for (i = SUBSCRIBERS * FILTERS - 1; i >= 0; i--) {
		s = order[(i * 7919) % (SUBSCRIBERS * FILTERS)] / FILTERS;
		f = order[(i * 7919) % (SUBSCRIBERS * FILTERS)] % FILTERS;
		ASSERT_EQ(0, kmqtt_topic_unsubscribe(&tree,
						     (const u8 *)m->filters[f],
						     strlen(m->filters[f]),
						     &m->subscribers[s]));
		m->qos[s][f] = -1;
		if (i % 64 == 0) {
			check_counts(_metadata, m, &tree);
			random_topic(topic);
			check_match(_metadata, m, &tree, topic, &set);
		}
	}
	ASSERT_EQ(0, tree.nodes);
	ASSERT_EQ(0, tree.entries);
	ASSERT_EQ(0, topic_acct_bytes);
	kmqtt_topic_tree_destroy(&tree);
	kmqtt_topic_match_set_free(&set);
	free(m);
	ASSERT_EQ(0, __lsan_do_recoverable_leak_check());
}

TEST_HARNESS_MAIN
