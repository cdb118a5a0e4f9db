// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "origins.h"

/* Buckets to start with; doubled when there are more entries than them. */
#define ORIGINS_MIN_BUCKETS	64

struct origin {
	struct origin *next;
	char *client_id;
	char *listener;
	uint64_t conn_id;
	bool clean_session;
	bool marked;
};

void origins_init(struct origins *o)
{
	memset(o, 0, sizeof(*o));
}

static void origin_free(struct origin *e)
{
	free(e->client_id);
	free(e->listener);
	free(e);
}

void origins_fini(struct origins *o)
{
	size_t i;

	for (i = 0; i < o->buckets; i++) {
		while (o->bucket[i]) {
			struct origin *e = o->bucket[i];

			o->bucket[i] = e->next;
			origin_free(e);
		}
	}
	free(o->bucket);
	memset(o, 0, sizeof(*o));
}

/* FNV-1a: client ids are chosen by clients, but only cost a longer chain. */
static size_t origin_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (size_t)h;
}

/* The link that points at @client_id's entry, or at the chain's end. */
static struct origin **origin_link(const struct origins *o,
				   const char *client_id)
{
	struct origin **link;

	link = &o->bucket[origin_hash(client_id) % o->buckets];
	while (*link && strcmp((*link)->client_id, client_id))
		link = &(*link)->next;
	return link;
}

static int origins_grow(struct origins *o)
{
	size_t buckets = o->buckets ? 2 * o->buckets : ORIGINS_MIN_BUCKETS;
	struct origin **bucket = calloc(buckets, sizeof(*bucket));
	size_t i;

	if (!bucket)
		return -ENOMEM;
	for (i = 0; i < o->buckets; i++) {
		while (o->bucket[i]) {
			struct origin *e = o->bucket[i];
			size_t b = origin_hash(e->client_id) % buckets;

			o->bucket[i] = e->next;
			e->next = bucket[b];
			bucket[b] = e;
		}
	}
	free(o->bucket);
	o->bucket = bucket;
	o->buckets = buckets;
	return 0;
}

/* Remove @client_id's entry, if any. */
static void origins_remove(struct origins *o, const char *client_id)
{
	struct origin **link = origin_link(o, client_id), *e = *link;

	if (!e)
		return;
	*link = e->next;
	origin_free(e);
	o->count--;
}

int origins_set(struct origins *o, const char *client_id, const char *listener,
		uint64_t conn_id, bool clean_session)
{
	struct origin **link, *e;
	char *name;

	/* Without more buckets the chains only get longer. */
	if (o->count >= o->buckets && origins_grow(o) && !o->buckets)
		return -ENOMEM;
	link = origin_link(o, client_id);
	e = *link;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->client_id = strdup(client_id))) {
			free(e);
			return -ENOMEM;
		}
		*link = e;
		o->count++;
	}
	name = strdup(listener);
	if (!name) {
		/* Left as it was, it would name the wrong listener. */
		origins_remove(o, client_id);
		return -ENOMEM;
	}
	free(e->listener);
	e->listener = name;
	e->conn_id = conn_id;
	e->clean_session = clean_session;
	e->marked = true;
	return 0;
}

const char *origins_get(const struct origins *o, const char *client_id)
{
	struct origin *e = o->buckets ? *origin_link(o, client_id) : NULL;

	return e ? e->listener : NULL;
}

void origins_closed(struct origins *o, const char *client_id,
		    uint64_t conn_id)
{
	struct origin *e = o->buckets ? *origin_link(o, client_id) : NULL;

	/* A later connection may have taken the session over. */
	if (e && e->conn_id == conn_id && e->clean_session)
		origins_remove(o, client_id);
}

void origins_mark(struct origins *o, const char *client_id)
{
	struct origin *e = o->buckets ? *origin_link(o, client_id) : NULL;

	if (e)
		e->marked = true;
}

void origins_sweep(struct origins *o)
{
	struct origin **link, *e;
	size_t i;

	for (i = 0; i < o->buckets; i++) {
		link = &o->bucket[i];
		while ((e = *link)) {
			if (e->marked) {
				e->marked = false;
				link = &e->next;
				continue;
			}
			*link = e->next;
			origin_free(e);
			o->count--;
		}
	}
}
