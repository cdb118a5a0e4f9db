// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"

#define CLIENTS_MIN_BUCKETS	64

struct client {
	struct client *next;	/* in its bucket */
	char *client_id;
	char *username;		/* NULL: anonymous */
	uint64_t conn_id;
	bool clean_session;
};

/* FNV-1a: client ids are chosen by clients, but buckets only cost time. */
static size_t clients_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

void clients_init(struct clients *cs)
{
	memset(cs, 0, sizeof(*cs));
}

static void client_free(struct client *c)
{
	free(c->client_id);
	free(c->username);
	free(c);
}

void clients_fini(struct clients *cs)
{
	struct client *c, *next;
	size_t i;

	for (i = 0; i < cs->buckets; i++) {
		for (c = cs->bucket[i]; c; c = next) {
			next = c->next;
			client_free(c);
		}
	}
	free(cs->bucket);
	memset(cs, 0, sizeof(*cs));
}

static struct client **clients_slot(const struct clients *cs,
				    const char *client_id)
{
	struct client **pc;

	if (!cs->buckets)
		return NULL;
	pc = &cs->bucket[clients_hash(client_id) & (cs->buckets - 1)];
	while (*pc && strcmp((*pc)->client_id, client_id))
		pc = &(*pc)->next;
	return pc;
}

/* Keep the load factor at most 1; the bucket count is a power of two. */
static int clients_grow(struct clients *cs)
{
	size_t n = cs->buckets ? 2 * cs->buckets : CLIENTS_MIN_BUCKETS, i, h;
	struct client **bucket, *c, *next;

	if (cs->count < cs->buckets)
		return 0;
	bucket = calloc(n, sizeof(*bucket));
	if (!bucket)
		return -ENOMEM;
	for (i = 0; i < cs->buckets; i++) {
		for (c = cs->bucket[i]; c; c = next) {
			next = c->next;
			h = clients_hash(c->client_id) & (n - 1);
			c->next = bucket[h];
			bucket[h] = c;
		}
	}
	free(cs->bucket);
	cs->bucket = bucket;
	cs->buckets = n;
	return 0;
}

int clients_attached(struct clients *cs, const char *client_id,
		     const char *username, uint64_t conn_id,
		     bool clean_session)
{
	char *name = NULL;
	struct client **pc, *c;

	if (username && !(name = strdup(username)))
		return -ENOMEM;
	pc = clients_slot(cs, client_id);
	if (!pc || !*pc) {
		c = calloc(1, sizeof(*c));
		if (!c || !(c->client_id = strdup(client_id)) ||
		    clients_grow(cs)) {
			if (c)
				free(c->client_id);
			free(c);
			free(name);
			return -ENOMEM;
		}
		/* The table may have grown: find the slot again. */
		pc = clients_slot(cs, client_id);
		*pc = c;
		cs->count++;
	}
	c = *pc;
	free(c->username);
	c->username = name;
	c->conn_id = conn_id;
	c->clean_session = clean_session;
	return 0;
}

void clients_closed(struct clients *cs, const char *client_id,
		    uint64_t conn_id)
{
	struct client **pc = clients_slot(cs, client_id), *c;

	if (!pc || !*pc)
		return;
	c = *pc;
	if (c->conn_id != conn_id || !c->clean_session)
		return;
	*pc = c->next;
	client_free(c);
	cs->count--;
}

bool clients_lookup(const struct clients *cs, const char *client_id,
		    const char **username)
{
	struct client **pc = clients_slot(cs, client_id);

	if (!pc || !*pc)
		return false;
	*username = (*pc)->username;
	return true;
}

void clients_prune(struct clients *cs,
		   bool (*keep)(const char *client_id, void *arg), void *arg)
{
	struct client **pc, *c;
	size_t i;

	for (i = 0; i < cs->buckets; i++) {
		pc = &cs->bucket[i];
		while ((c = *pc)) {
			if (keep(c->client_id, arg)) {
				pc = &c->next;
				continue;
			}
			*pc = c->next;
			client_free(c);
			cs->count--;
		}
	}
}
