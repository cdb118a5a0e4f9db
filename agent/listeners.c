// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "listeners.h"
#include "log.h"

struct open_listener {
	struct listener l;
	struct config_listener key;	/* addr and port as configured */
	bool opened_by_prepare;		/* closed again on abort */
	bool kept;			/* in the prepared configuration */
};

void listeners_init(struct listeners *ls, struct loop *loop,
		    struct kmqtt_nl *nl, const struct listener_auth *auth,
		    unsigned int connect_timeout_s)
{
	memset(ls, 0, sizeof(*ls));
	ls->loop = loop;
	ls->nl = nl;
	ls->auth = auth;
	ls->connect_timeout_s = connect_timeout_s;
}

static void open_listener_free(struct open_listener *ol)
{
	log_verbose("Closing listener on %s.", ol->l.name);
	listener_close(&ol->l);
	free(ol->key.addr);
	free(ol);
}

static struct open_listener *find_open(const struct listeners *ls,
				       const struct config_listener *cl)
{
	size_t i;

	for (i = 0; i < ls->count; i++)
		if (config_listener_same_socket(&ls->open[i]->key, cl))
			return ls->open[i];
	return NULL;
}

static struct open_listener *open_new(struct listeners *ls,
				      const struct config_listener *cl,
				      char *err, size_t errlen)
{
	struct open_listener *ol = calloc(1, sizeof(*ol));
	char why[256];

	if (!ol || (cl->addr && !(ol->key.addr = strdup(cl->addr)))) {
		snprintf(err, errlen, "%s: out of memory", cl->where);
		free(ol);
		return NULL;
	}
	memcpy(ol->key.port, cl->port, sizeof(ol->key.port));
	/* HOOK(tls): agent/tls.c sets up cl->certfile/keyfile/cafile here. */
	if (listener_open(&ol->l, ls->loop, ls->nl, cl->addr, cl->port,
			  ls->connect_timeout_s, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", cl->where, why);
		free(ol->key.addr);
		free(ol);
		return NULL;
	}
	ol->l.auth = ls->auth;
	ol->opened_by_prepare = true;
	/* Not a log line: scripts wait for it (selftests/lib/broker.c). */
	fprintf(stderr, "kmqttd: listening on %s\n", ol->l.name);
	return ol;
}

int listeners_prepare(struct listeners *ls, const struct config *cfg,
		      char *err, size_t errlen)
{
	struct open_listener *ol;
	size_t i;

	ls->next = calloc(cfg->listener_count, sizeof(*ls->next));
	if (!ls->next) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ls->next_count = 0;
	for (i = 0; i < ls->count; i++)
		ls->open[i]->kept = false;
	for (i = 0; i < cfg->listener_count; i++) {
		ol = find_open(ls, &cfg->listeners[i]);
		if (ol)
			ol->kept = true;
		else
			ol = open_new(ls, &cfg->listeners[i], err, errlen);
		if (!ol) {
			listeners_abort(ls);
			return -1;
		}
		ls->next[ls->next_count++] = ol;
	}
	return 0;
}

void listeners_commit(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->count; i++)
		if (!ls->open[i]->kept)
			open_listener_free(ls->open[i]);
	for (i = 0; i < ls->next_count; i++)
		ls->next[i]->opened_by_prepare = false;
	free(ls->open);
	ls->open = ls->next;
	ls->count = ls->next_count;
	ls->next = NULL;
	ls->next_count = 0;
}

void listeners_abort(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->next_count; i++)
		if (ls->next[i]->opened_by_prepare)
			open_listener_free(ls->next[i]);
	free(ls->next);
	ls->next = NULL;
	ls->next_count = 0;
}

int listeners_timeout(const struct listeners *ls)
{
	int soonest = -1, t;
	size_t i;

	for (i = 0; i < ls->count; i++) {
		t = listener_timeout(&ls->open[i]->l);
		if (t >= 0 && (soonest < 0 || t < soonest))
			soonest = t;
	}
	return soonest;
}

void listeners_expire(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->count; i++)
		listener_expire(&ls->open[i]->l);
}

void listeners_close(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->count; i++)
		open_listener_free(ls->open[i]);
	free(ls->open);
	ls->open = NULL;
	ls->count = 0;
}
