// SPDX-License-Identifier: GPL-2.0
/*
 * The topic trie (kmod/topic.c) against a model and the naive reference
 * matcher (selftests/unit/ref_match.c), driven by a sequence of operations
 * over small alphabets, so that shared prefixes, empty levels, '$' topics
 * and overlapping wildcards are the common case.  Allocations, or the
 * charges of the tree's memory accountant, can be made to fail (the shim's
 * or the accountant's countdown) to check the -ENOMEM paths.
 *
 * Checked after each operation: return values, the entry count, and for a
 * match every subscriber once at the highest QoS of its matching filters,
 * with the overflow count exact when the set's max or memory runs out.  At
 * the end: the node count is the number of distinct filter prefixes, and
 * unsubscribing everything prunes every node and gives back every byte
 * charged.
 *
 * Input: byte 0 picks the match set's max; then operations, each an opcode
 * byte (op, QoS, or which countdown), a subscriber byte and a filter or
 * topic: a level count byte and one byte per level choosing its word.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include "topic.h"
#include "ref_match.h"
#include "topic_acct.h"

#include "fuzz.h"

#define SUBSCRIBERS	32
#define ENTRIES		128
#define MAX_LEVELS	6
#define STR_MAX		(MAX_LEVELS * 3)

enum op { OP_SUBSCRIBE, OP_UNSUBSCRIBE, OP_MATCH, OP_FAIL_ALLOC };

static const char *const filter_words[] = { "a", "b", "", "$a", "ab", "+", "#" };
static const char *const topic_words[] = { "a", "b", "", "$a", "ab", "c" };
static const u32 match_max[] = { 1, 2, 3, 16, 17, 1000 };

struct entry {
	char filter[STR_MAX + 1];
	size_t len;
	unsigned int sub;
	u8 qos;
};

static struct model {
	struct entry e[ENTRIES];
	unsigned int n;
} model;

static char subscribers[SUBSCRIBERS];

/* Levels joined by '/'; a filter stops after its first '#'. */
static size_t read_string(struct fuzz_in *in, const char *const *words,
			  size_t nwords, char *out)
{
	unsigned int levels = 1 + fuzz_byte(in) % MAX_LEVELS, i;
	size_t len = 0;

	for (i = 0; i < levels; i++) {
		const char *w = words[fuzz_byte(in) % nwords];

		if (i)
			out[len++] = '/';
		memcpy(out + len, w, strlen(w));
		len += strlen(w);
		if (!strcmp(w, "#"))
			break;
	}
	out[len] = '\0';
	return len;
}

static struct entry *model_find(const char *filter, size_t len,
				unsigned int sub)
{
	unsigned int i;

	for (i = 0; i < model.n; i++)
		if (model.e[i].sub == sub && model.e[i].len == len &&
		    !memcmp(model.e[i].filter, filter, len))
			return &model.e[i];
	return NULL;
}

/* Did the allocation the countdown aimed at fail during the last call? */
static bool alloc_failed(unsigned long before)
{
	return before && !shim_alloc_fail_countdown;
}

/* Or the charge the accountant's countdown aimed at? */
static bool charge_refused(unsigned long before)
{
	return before && !topic_acct_fail_countdown;
}

static void subscribe(struct kmqtt_topic_tree *tree, const char *filter,
		      size_t len, unsigned int sub, u8 qos)
{
	unsigned long before = shim_alloc_fail_countdown;
	unsigned long charges = topic_acct_fail_countdown;
	struct entry *e = model_find(filter, len, sub);
	size_t bytes = topic_acct_bytes;
	int ret;

	if (!e && model.n == ENTRIES)
		return;
	FUZZ_CHECK(kmqtt_topic_filter_valid((const u8 *)filter, len) == !!len);
	ret = kmqtt_topic_subscribe(tree, (const u8 *)filter, len,
				    &subscribers[sub], qos, 0);
	if (!len) {
		FUZZ_CHECK(ret == -EINVAL);
	} else if (e) {
		FUZZ_CHECK(ret == 0);
		e->qos = qos;
	} else if (ret == -ENOMEM) {
		FUZZ_CHECK(alloc_failed(before) || charge_refused(charges));
		FUZZ_CHECK(topic_acct_bytes == bytes);
	} else {
		FUZZ_CHECK(ret == 1);
		e = &model.e[model.n++];
		memcpy(e->filter, filter, len + 1);
		e->len = len;
		e->sub = sub;
		e->qos = qos;
	}
}

static void unsubscribe(struct kmqtt_topic_tree *tree, const char *filter,
			size_t len, unsigned int sub)
{
	struct entry *e = model_find(filter, len, sub);
	int ret;

	ret = kmqtt_topic_unsubscribe(tree, (const u8 *)filter, len,
				      &subscribers[sub]);
	if (!e || !len) {
		FUZZ_CHECK(ret == -ENOENT);
		return;
	}
	FUZZ_CHECK(ret == 0);
	*e = model.e[--model.n];
}

static void match(struct kmqtt_topic_tree *tree, const char *topic,
		  size_t len, struct kmqtt_match_set *set)
{
	unsigned int pairs[SUBSCRIBERS] = { 0 }, distinct = 0, left_out = 0;
	unsigned long before = shim_alloc_fail_countdown;
	bool seen[SUBSCRIBERS] = { false };
	int best[SUBSCRIBERS];
	unsigned int i, k;

	FUZZ_CHECK(kmqtt_topic_name_valid((const u8 *)topic, len) == !!len);
	for (i = 0; i < SUBSCRIBERS; i++)
		best[i] = -1;
	for (i = 0; i < model.n; i++) {
		const struct entry *e = &model.e[i];
		bool m = len && ref_match(e->filter, e->len, topic, len);

		if (len)
			FUZZ_CHECK(kmqtt_topic_filter_matches((const u8 *)e->filter,
							      e->len,
							      (const u8 *)topic,
							      len) == m);
		if (!m)
			continue;
		distinct += !pairs[e->sub];
		pairs[e->sub]++;
		if (e->qos > best[e->sub])
			best[e->sub] = e->qos;
	}

	kmqtt_topic_match(tree, (const u8 *)topic, len, set, 0);

	FUZZ_CHECK(set->n <= set->max && set->n <= distinct);
	for (i = 0; i < set->n; i++) {
		k = (char *)set->v[i].subscriber - subscribers;
		FUZZ_CHECK(k < SUBSCRIBERS && !seen[k] && pairs[k]);
		FUZZ_CHECK(set->v[i].options == best[k]);
		seen[k] = true;
	}
	for (k = 0; k < SUBSCRIBERS; k++)
		if (!seen[k])
			left_out += pairs[k];
	/* Counted once per matching filter of each subscriber left out. */
	FUZZ_CHECK(set->overflow == left_out);
	if (!alloc_failed(before))
		FUZZ_CHECK(set->n == (distinct < set->max ? distinct : set->max));
}

/* Distinct prefixes ending at a level boundary: one node each. */
static u32 model_nodes(void)
{
	static char prefix[ENTRIES * (MAX_LEVELS + 1)][STR_MAX + 2];
	unsigned int n = 0, i, j;
	size_t end;

	for (i = 0; i < model.n; i++) {
		const struct entry *e = &model.e[i];

		for (end = 0; end <= e->len; end++) {
			if (end < e->len && e->filter[end] != '/')
				continue;
			/* A leading marker keeps "" and "/" distinct from 0. */
			prefix[n][0] = '>';
			memcpy(prefix[n] + 1, e->filter, end);
			prefix[n][end + 1] = '\0';
			for (j = 0; j < n && strcmp(prefix[j], prefix[n]); j++)
				;
			n += j == n;
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct kmqtt_match_set set = {
		.max = match_max[fuzz_byte(&in) % ARRAY_SIZE(match_max)],
	};
	struct kmqtt_topic_tree tree;
	char s[STR_MAX + 1];
	unsigned int i;
	size_t len;

	model.n = 0;
	shim_alloc_fail_countdown = 0;
	topic_acct_fail_countdown = 0;
	kmqtt_topic_tree_init(&tree, &topic_acct);
	while (in.left) {
		u8 op = fuzz_byte(&in);
		unsigned int sub = fuzz_byte(&in) % SUBSCRIBERS;

		switch (op & 3) {
		case OP_SUBSCRIBE:
			len = read_string(&in, filter_words,
					  ARRAY_SIZE(filter_words), s);
			subscribe(&tree, s, len, sub, (op >> 2) % 3);
			break;
		case OP_UNSUBSCRIBE:
			len = read_string(&in, filter_words,
					  ARRAY_SIZE(filter_words), s);
			unsubscribe(&tree, s, len, sub);
			break;
		case OP_MATCH:
			len = read_string(&in, topic_words,
					  ARRAY_SIZE(topic_words), s);
			match(&tree, s, len, &set);
			break;
		case OP_FAIL_ALLOC:
			/* The (sub)th allocation, or charge, from now fails. */
			if (op & 4)
				topic_acct_fail_countdown = 1 + sub;
			else
				shim_alloc_fail_countdown = 1 + sub;
			break;
		}
		FUZZ_CHECK(tree.entries == model.n);
	}
	shim_alloc_fail_countdown = 0;
	topic_acct_fail_countdown = 0;

	FUZZ_CHECK(tree.nodes == model_nodes());
	for (i = model.n; i > 0; i--) {
		const struct entry *e = &model.e[i - 1];

		FUZZ_CHECK(!kmqtt_topic_unsubscribe(&tree, (const u8 *)e->filter,
						    e->len,
						    &subscribers[e->sub]));
	}
	FUZZ_CHECK(tree.nodes == 0 && tree.entries == 0 && !topic_acct_bytes);
	kmqtt_topic_match_set_free(&set);
	kmqtt_topic_tree_destroy(&tree);
	return 0;
}
