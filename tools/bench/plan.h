/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scenario turned into clients, topics, filters and who receives what.
 * Publishers and subscribers are numbered on their own; a client is a
 * connection that is a publisher, a subscriber or both (pairwise).  The
 * match lists are what lets a subscriber tell a lost message from one it
 * was never meant to get, and the expected count from a broker's answer.
 */
#ifndef BENCH_PLAN_H
#define BENCH_PLAN_H

#include <stdint.h>

enum scenario {
	SCENARIO_FANOUT,
	SCENARIO_FANIN,
	SCENARIO_PAIRWISE,
	SCENARIO_WILDCARD,
};

struct plan {
	enum scenario scenario;
	uint32_t npubs;
	uint32_t nsubs;
	uint32_t nclients;
	char **pub_topic;	/* [npubs] */
	uint32_t *pub_nsubs;	/* [npubs] subscribers matching the topic */
	char **sub_filter;	/* [nsubs] */
	uint32_t *sub_npubs;	/* [nsubs] */
	uint32_t **sub_pubs;	/* [nsubs][sub_npubs], sorted */
	int32_t *client_pub;	/* [nclients] publisher index or -1 */
	int32_t *client_sub;	/* [nclients] subscriber index or -1 */
};

struct plan_params {
	enum scenario scenario;
	const char *prefix;	/* first topic level */
	uint32_t pubs;		/* fanout, fanin, wildcard */
	uint32_t subs;
	uint32_t pairs;		/* pairwise */
};

int plan_scenario_parse(const char *name, enum scenario *scenario);
const char *plan_scenario_name(enum scenario scenario);
int plan_build(struct plan *plan, const struct plan_params *params);
void plan_free(struct plan *plan);
int plan_sub_slot(const struct plan *plan, uint32_t sub, uint32_t pub);
uint64_t plan_deliveries(const struct plan *plan);

#endif
