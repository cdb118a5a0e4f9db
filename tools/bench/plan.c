// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"
#include "plan.h"

static const char *const scenario_names[] = {
	[SCENARIO_FANOUT] = "fanout",
	[SCENARIO_FANIN] = "fanin",
	[SCENARIO_PAIRWISE] = "pairwise",
	[SCENARIO_WILDCARD] = "wildcard",
};

int plan_scenario_parse(const char *name, enum scenario *scenario)
{
	unsigned int i;

	for (i = 0; i < sizeof(scenario_names) / sizeof(scenario_names[0]); i++) {
		if (!strcmp(name, scenario_names[i])) {
			*scenario = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *plan_scenario_name(enum scenario scenario)
{
	return scenario_names[scenario];
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/*
 * Wildcard scenario: publisher i owns the leaf prefix/wild/A/B/C/i, where
 * A, B, C are the digits of (i * 379) % 1000 (379 is prime to 1000, so
 * the first thousand publishers spread over every branch).
 */
static char *wildcard_topic(const char *prefix, uint32_t i)
{
	uint32_t leaf = (uint64_t)i * 379 % 1000;

	return format("%s/wild/%u/%u/%u/%u", prefix, leaf / 100,
		      leaf / 10 % 10, leaf % 10, i);
}

/* Five kinds of filters, each subscriber one, mixing '+' and '#'. */
static char *wildcard_filter(const char *prefix, uint32_t j)
{
	uint32_t d = j / 5, a = d % 10, b = d * 7 % 10, c = d * 3 % 10;

	switch (j % 5) {
	case 0:
		return format("%s/wild/%u/#", prefix, a);
	case 1:
		return format("%s/wild/+/%u/#", prefix, b);
	case 2:
		return format("%s/wild/%u/+/%u/+", prefix, a, c);
	case 3:
		return format("%s/wild/+/+/%u/+", prefix, c);
	default:
		return format("%s/wild/%u/%u/#", prefix, a, b);
	}
}

static char *pub_topic(const struct plan_params *pp, uint32_t i)
{
	switch (pp->scenario) {
	case SCENARIO_FANOUT:
		return format("%s/fanout", pp->prefix);
	case SCENARIO_FANIN:
		return format("%s/fanin/%u", pp->prefix, i);
	case SCENARIO_PAIRWISE:
		return format("%s/pair/%u", pp->prefix, i);
	default:
		return wildcard_topic(pp->prefix, i);
	}
}

/* Pairwise: client i subscribes to the topic of client i + 1. */
static char *sub_filter(const struct plan_params *pp, uint32_t j)
{
	switch (pp->scenario) {
	case SCENARIO_FANOUT:
		return format("%s/fanout", pp->prefix);
	case SCENARIO_FANIN:
		return format("%s/fanin/+", pp->prefix);
	case SCENARIO_PAIRWISE:
		return format("%s/pair/%u", pp->prefix, (j + 1) % pp->pairs);
	default:
		return wildcard_filter(pp->prefix, j);
	}
}

struct topic_ref {
	const char *topic;
	uint32_t pub;
};

static int topic_ref_cmp(const void *a, const void *b)
{
	const struct topic_ref *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c ? c : (x->pub > y->pub) - (x->pub < y->pub);
}

static int add_match(struct plan *plan, uint32_t sub, uint32_t pub,
		     uint32_t *cap)
{
	uint32_t **list = &plan->sub_pubs[sub], n = plan->sub_npubs[sub];

	if (n == *cap) {
		uint32_t *grown;

		*cap = *cap ? 2 * *cap : 4;
		grown = realloc(*list, *cap * sizeof(**list));
		if (!grown)
			return -ENOMEM;
		*list = grown;
	}
	(*list)[n] = pub;
	plan->sub_npubs[sub] = n + 1;
	plan->pub_nsubs[pub]++;
	return 0;
}

/*
 * A filter without wildcards is looked up in the sorted topics; one with
 * wildcards is matched against every topic (the wildcard scenario has a
 * few hundred).  Either way the list comes out sorted by publisher.
 */
static int match_sub(struct plan *plan, const struct topic_ref *sorted,
		     uint32_t sub)
{
	const char *filter = plan->sub_filter[sub];
	uint32_t cap = 0, i, lo = 0, hi = plan->npubs;
	int err = 0;

	if (mqtt_filter_has_wildcard(filter)) {
		for (i = 0; i < plan->npubs && !err; i++)
			if (mqtt_topic_matches(filter, plan->pub_topic[i]))
				err = add_match(plan, sub, i, &cap);
		return err;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (strcmp(sorted[mid].topic, filter) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < plan->npubs && !err; i++) {
		if (strcmp(sorted[i].topic, filter))
			break;
		err = add_match(plan, sub, sorted[i].pub, &cap);
	}
	return err;
}

static int plan_match(struct plan *plan)
{
	struct topic_ref *sorted;
	uint32_t i;
	int err = 0;

	sorted = calloc(plan->npubs ? plan->npubs : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (i = 0; i < plan->npubs; i++)
		sorted[i] = (struct topic_ref){ plan->pub_topic[i], i };
	qsort(sorted, plan->npubs, sizeof(*sorted), topic_ref_cmp);
	for (i = 0; i < plan->nsubs && !err; i++)
		err = match_sub(plan, sorted, i);
	free(sorted);
	return err;
}

static int plan_alloc(struct plan *plan)
{
	plan->pub_topic = calloc(plan->npubs + 1, sizeof(char *));
	plan->pub_nsubs = calloc(plan->npubs + 1, sizeof(uint32_t));
	plan->sub_filter = calloc(plan->nsubs + 1, sizeof(char *));
	plan->sub_npubs = calloc(plan->nsubs + 1, sizeof(uint32_t));
	plan->sub_pubs = calloc(plan->nsubs + 1, sizeof(uint32_t *));
	plan->client_pub = calloc(plan->nclients + 1, sizeof(int32_t));
	plan->client_sub = calloc(plan->nclients + 1, sizeof(int32_t));
	if (!plan->pub_topic || !plan->pub_nsubs || !plan->sub_filter ||
	    !plan->sub_npubs || !plan->sub_pubs || !plan->client_pub ||
	    !plan->client_sub)
		return -ENOMEM;
	return 0;
}

/* Pairwise: client i is publisher i and subscriber i; else publishers first. */
static void plan_clients(struct plan *plan)
{
	uint32_t i;

	for (i = 0; i < plan->nclients; i++) {
		if (plan->scenario == SCENARIO_PAIRWISE) {
			plan->client_pub[i] = i;
			plan->client_sub[i] = i;
		} else if (i < plan->npubs) {
			plan->client_pub[i] = i;
			plan->client_sub[i] = -1;
		} else {
			plan->client_pub[i] = -1;
			plan->client_sub[i] = i - plan->npubs;
		}
	}
}

int plan_build(struct plan *plan, const struct plan_params *pp)
{
	uint32_t i;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->scenario = pp->scenario;
	if (pp->scenario == SCENARIO_PAIRWISE) {
		if (pp->pairs < 2)
			return -EINVAL;
		plan->npubs = plan->nsubs = plan->nclients = pp->pairs;
	} else {
		plan->npubs = pp->pubs;
		plan->nsubs = pp->subs;
		plan->nclients = pp->pubs + pp->subs;
	}
	err = plan_alloc(plan);
	for (i = 0; i < plan->npubs && !err; i++) {
		plan->pub_topic[i] = pub_topic(pp, i);
		if (!plan->pub_topic[i])
			err = -ENOMEM;
	}
	for (i = 0; i < plan->nsubs && !err; i++) {
		plan->sub_filter[i] = sub_filter(pp, i);
		if (!plan->sub_filter[i])
			err = -ENOMEM;
	}
	if (!err)
		err = plan_match(plan);
	if (err) {
		plan_free(plan);
		return err;
	}
	plan_clients(plan);
	return 0;
}

void plan_free(struct plan *plan)
{
	uint32_t i;

	for (i = 0; plan->pub_topic && i < plan->npubs; i++)
		free(plan->pub_topic[i]);
	for (i = 0; plan->sub_filter && i < plan->nsubs; i++) {
		free(plan->sub_filter[i]);
		free(plan->sub_pubs[i]);
	}
	free(plan->pub_topic);
	free(plan->pub_nsubs);
	free(plan->sub_filter);
	free(plan->sub_npubs);
	free(plan->sub_pubs);
	free(plan->client_pub);
	free(plan->client_sub);
	memset(plan, 0, sizeof(*plan));
}

/* Where subscriber sub keeps the sequence state of publisher pub, or -1. */
int plan_sub_slot(const struct plan *plan, uint32_t sub, uint32_t pub)
{
	const uint32_t *list = plan->sub_pubs[sub];
	uint32_t lo = 0, hi = plan->sub_npubs[sub];

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (list[mid] == pub)
			return mid;
		if (list[mid] < pub)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Deliveries that one message from every publisher makes. */
uint64_t plan_deliveries(const struct plan *plan)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < plan->npubs; i++)
		n += plan->pub_nsubs[i];
	return n;
}
