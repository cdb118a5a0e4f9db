// SPDX-License-Identifier: GPL-2.0
/*
 * match-bench: the cost of matching a topic against the subscription tree
 * as the number of filters grows.  It runs kmod/topic.c itself, built in
 * userspace against tools/include (RCU and allocation shims), so it
 * measures the module's matching code without the rest of the broker.
 *
 * Filters are spread over a tree of topics DEPTH levels deep: a few
 * values near the root, many below, as device fleets look.  One filter in
 * five has a '+' in a random level, one in ten ends in '#' below the
 * third level; the others are exact.  Half of the topics matched are those of
 * existing filters, half random.  Prints, for each filter count, the
 * nanoseconds per match of distinct topics (the tree's paths cold in the
 * caches) and of a few topics over and over (hot: what the algorithm
 * costs), the matches per topic and the tree's bytes per filter.
 *
 * usage: match-bench [-d DEPTH] [-m MATCHES] [-s SEED] [FILTERS...]
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/gfp.h>

#include "topic.h"
#include "topic_acct.h"

#define TOPIC_MAX	256
/* Topics matched over and over for the "hot" figure: they fit in cache. */
#define HOT_TOPICS	256
/*
 * Values of the first levels; the deeper ones, and the last, have 10 per
 * filter, so that filters do not crowd the topic space as they grow.
 */
static const unsigned int top_values[] = { 8, 64, 1000 };
#define TOP_LEVELS	(sizeof(top_values) / sizeof(top_values[0]))
static unsigned long deep_values;

static unsigned long level_values(unsigned int level, unsigned int depth)
{
	return level < TOP_LEVELS && level + 1 < depth ? top_values[level] :
							 deep_values;
}

static int random_topic(char *buf, unsigned int depth)
{
	int len = 0;
	unsigned int i;

	for (i = 0; i < depth; i++)
		len += snprintf(buf + len, TOPIC_MAX - len, "%sl%u", i ? "/" : "",
				(unsigned int)(random() % level_values(i, depth)));
	return len;
}

/*
 * A topic of depth levels, then maybe a '+' in one level below the first
 * or a '#' below the first TOP_LEVELS: wildcards as narrow as a fleet's
 * ("site/+/temp", "site/floor/room/#"), so that the matches per topic
 * stay the same whatever the number of filters.
 */
static int random_filter(char *buf, unsigned int depth)
{
	unsigned int i, wild = random() % 10, plus_at, hash_at;
	int len = 0;

	plus_at = depth > 1 ? 1 + random() % (depth - 1) : depth;
	hash_at = depth > TOP_LEVELS ?
		  TOP_LEVELS + random() % (depth - TOP_LEVELS) : depth;
	for (i = 0; i < depth; i++) {
		const char *sep = i ? "/" : "";

		if (wild == 0 && i == hash_at)
			return len + snprintf(buf + len, TOPIC_MAX - len, "%s#",
					      sep);
		if ((wild == 1 || wild == 2) && i == plus_at)
			len += snprintf(buf + len, TOPIC_MAX - len, "%s+", sep);
		else
			len += snprintf(buf + len, TOPIC_MAX - len, "%sl%u",
					sep, (unsigned int)(random() %
							    level_values(i, depth)));
	}
	return len;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Nanoseconds per match of topics[0..n) cycled to @matches matches. */
static double time_matches(struct kmqtt_topic_tree *tree,
			   char (*topics)[TOPIC_MAX], const int *lens,
			   unsigned long n, unsigned long matches,
			   struct kmqtt_match_set *set, unsigned long *found)
{
	unsigned long i;
	double t;

	*found = 0;
	t = now_ns();
	for (i = 0; i < matches; i++) {
		kmqtt_topic_match(tree, (const u8 *)topics[i % n], lens[i % n],
				  set, GFP_KERNEL);
		*found += set->n;
	}
	return (now_ns() - t) / matches;
}

static int run(unsigned long filters, unsigned int depth,
	       unsigned long matches)
{
	struct kmqtt_match_set set = { .max = 1u << 20 };
	unsigned long i, copies = 0, found, hot_found;
	struct kmqtt_topic_tree tree;
	char (*topics)[TOPIC_MAX];
	double cold, hot;
	char f[TOPIC_MAX];
	int *lens;

	topics = malloc(matches * sizeof(*topics));
	lens = calloc(matches, sizeof(*lens));
	if (!topics || !lens) {
		fprintf(stderr, "match-bench: out of memory\n");
		return -ENOMEM;
	}
	deep_values = 10 * filters;
	kmqtt_topic_tree_init(&tree, &topic_acct);
	for (i = 0; i < filters; i++) {
		int len = random_filter(f, depth);

		/* Subscriber i: every filter has its own. */
		if (kmqtt_topic_subscribe(&tree, (const u8 *)f, len,
					  (void *)(i + 1), 0, 0) < 0) {
			fprintf(stderr, "match-bench: subscribe %s failed\n", f);
			return -ENOMEM;
		}
		/* Every second topic matched is one a filter was made of. */
		if (2 * copies < matches && !strpbrk(f, "+#")) {
			memcpy(topics[2 * copies], f, len + 1);
			lens[2 * copies++] = len;
		}
	}
	for (i = 0; i < matches; i++) {
		if (i % 2 == 0 && copies && i / 2 >= copies) {
			memcpy(topics[i], topics[i % (2 * copies)], TOPIC_MAX);
			lens[i] = lens[i % (2 * copies)];
		} else if (!lens[i]) {
			lens[i] = random_topic(topics[i], depth);
		}
	}

	/* Distinct topics, cold in the caches; then HOT_TOPICS of them. */
	cold = time_matches(&tree, topics, lens, matches, matches, &set,
			    &found);
	hot = time_matches(&tree, topics, lens, HOT_TOPICS, matches, &set,
			   &hot_found);
	printf("%9lu  %5u  %9.0f  %9.0f  %9.2f  %12.0f\n", filters, depth,
	       cold, hot, (double)found / matches,
	       (double)topic_acct_bytes / filters);
	kmqtt_topic_match_set_free(&set);
	kmqtt_topic_tree_destroy(&tree);
	free(topics);
	free(lens);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned long sweep[] = { 1000, 10000, 100000, 1000000 };
	unsigned long matches = 200000, seed = 1;
	unsigned int depth = 5;
	int opt, i;

	while ((opt = getopt(argc, argv, "d:m:s:")) != -1) {
		switch (opt) {
		case 'd':
			depth = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			matches = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: match-bench [-d DEPTH] [-m MATCHES] [-s SEED] [FILTERS...]\n");
			return 2;
		}
	}
	if (!depth || depth > 32 || matches < HOT_TOPICS) {
		fprintf(stderr, "match-bench: DEPTH is 1..32, MATCHES at least %d\n",
			HOT_TOPICS);
		return 2;
	}
	srandom(seed);
	printf("  filters  depth   cold ns     hot ns    matches  bytes/filter\n");
	if (optind == argc) {
		for (i = 0; i < (int)(sizeof(sweep) / sizeof(sweep[0])); i++)
			if (run(sweep[i], depth, matches))
				return 1;
		return 0;
	}
	for (i = optind; i < argc; i++)
		if (run(strtoul(argv[i], NULL, 10), depth, matches))
			return 1;
	return 0;
}
