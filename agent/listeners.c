// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/limits.h>

#include "config.h"
#include "listeners.h"
#include "log.h"
#include "tls.h"

struct open_listener {
	struct listener l;		/* l.tls: the committed TLS context */
	struct config_listener key;	/* addr and port as configured */
	bool opened_by_prepare;		/* closed again on abort */
	bool kept;			/* in the prepared configuration */
	/*
	 * The prepared configuration's TLS settings, applied at commit.
	 * Every reload reads the certificate files again, so renewed
	 * certificates take effect; handshakes under way keep the context
	 * they started with (OpenSSL counts its references).
	 */
	struct tls_server_ctx *next_tls;
	struct listener_settings next_settings;
	const struct listener_auth *next_auth;
};

void listeners_init(struct listeners *ls, struct loop *loop,
		    struct kmqtt_nl *nl, unsigned int connect_timeout_s)
{
	memset(ls, 0, sizeof(*ls));
	ls->loop = loop;
	ls->nl = nl;
	ls->connect_timeout_s = connect_timeout_s;
}

static void open_listener_free(struct open_listener *ol)
{
	log_verbose("Closing listener on %s.", ol->l.name);
	listener_close(&ol->l);
	tls_server_ctx_free(ol->l.tls);
	tls_server_ctx_free(ol->next_tls);
	listener_settings_free(&ol->l.settings);
	listener_settings_free(&ol->next_settings);
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
	if (listener_open(&ol->l, ls->loop, ls->nl, cl->addr, cl->port,
			  ls->connect_timeout_s, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", cl->where, why);
		free(ol->key.addr);
		free(ol);
		return NULL;
	}
	ol->opened_by_prepare = true;
	/* Not a log line: scripts wait for it (selftests/lib/broker.c). */
	fprintf(stderr, "kmqttd: listening on %s\n", ol->l.name);
	return ol;
}

/* OpenSSL says little more than "failed" for a file it cannot open. */
static int check_readable(const struct config_listener *cl, const char *what,
			  const char *path, char *err, size_t errlen)
{
	if (!path || !access(path, R_OK))
		return 0;
	snprintf(err, errlen, "%s: %s %s: %s", cl->where, what, path,
		 strerror(errno));
	return -1;
}

/*
 * The TLS context @cl asks for into *@ctx (NULL for plain TCP).  Returns 0,
 * or -1 with @err set.
 */
static int tls_load(const struct config_listener *cl,
		    struct tls_server_ctx **ctx, char *err, size_t errlen)
{
	char why[TLS_ERR_MAX];

	*ctx = NULL;
	if (!cl->certfile)
		return 0;
	if (check_readable(cl, "certfile", cl->certfile, err, errlen) ||
	    check_readable(cl, "keyfile", cl->keyfile, err, errlen) ||
	    check_readable(cl, "cafile", cl->cafile, err, errlen) ||
	    check_readable(cl, "crlfile", cl->crlfile, err, errlen))
		return -1;
	*ctx = tls_server_ctx_new(cl->certfile, cl->keyfile, cl->cafile,
				  cl->crlfile, cl->require_certificate, why);
	if (!*ctx) {
		snprintf(err, errlen, "%s: %s", cl->where, why);
		return -1;
	}
	return 0;
}

/* Limit @id of @limits, or @absent. */
static uint64_t limit_or(const struct kmqtt_nl_limits *limits,
			 enum kmqtt_limit id, uint64_t absent)
{
	return limits->mask & KMQTT_NL_LIMIT_BIT(id) ? limits->value[id] :
						       absent;
}

/* What 5.0 clients are granted and told in CONNACK, under @limits. */
static void settings_connack(const struct kmqtt_nl_limits *limits,
			     struct connect_limits *out)
{
	uint64_t packet = limit_or(limits, KMQTT_LIMIT_MAX_PACKET_SIZE, 0);

	out->session_expiry_max = (uint32_t)limit_or(limits,
						     KMQTT_LIMIT_SESSION_EXPIRY,
						     0);
	/*
	 * Mosquitto's Receive Maximum is max_inflight_messages, and the
	 * module holds 5.0 clients to it (QoS 2 waiting for PUBREL; QoS 1 is
	 * acknowledged at once): said whenever the module's limits are known
	 * (GET_INFO gives them all).
	 */
	out->receive_max = (uint16_t)limit_or(limits, KMQTT_LIMIT_MAX_INFLIGHT,
					      0);
	/* The module closes a connection over it, default or not. */
	out->max_packet_size = packet < KMQTT_LIMIT_PACKET_SIZE_MAX ?
			       (uint32_t)packet : 0;
	out->retain_available = limit_or(limits,
					 KMQTT_LIMIT_RETAIN_AVAILABLE, 1);
}

/* What @cl and its security settings say about its connections. */
static int settings_make(const struct config *cfg,
			 const struct config_listener *cl,
			 const struct kmqtt_nl_limits *limits,
			 struct listener_settings *out)
{
	const struct config_security *sec = config_security_of(cfg, cl);
	const char *prefix = sec->auto_id_prefix ? sec->auto_id_prefix :
						   CONFIG_AUTO_ID_PREFIX;

	memset(out, 0, sizeof(*out));
	/* Both set: Mosquitto takes the common name. */
	if (cl->use_identity_as_username)
		out->identity = LISTENER_IDENTITY_CERT_CN;
	else if (cl->use_subject_as_username)
		out->identity = LISTENER_IDENTITY_CERT_SUBJECT;
	out->allow_zero_length_clientid = sec->allow_zero_length_clientid;
	out->websockets = cl->websockets;
	out->ws_request_max = cfg->websockets_headers_size;
	out->message_size_limit = limit_or(limits, KMQTT_LIMIT_MESSAGE_SIZE, 0);
	settings_connack(limits, &out->limits);
	out->limits.topic_alias_max = cl->max_topic_alias_set ?
				      cl->max_topic_alias :
				      CONFIG_MAX_TOPIC_ALIAS_DEFAULT;
	out->limits.max_keepalive = cfg->max_keepalive_set ?
				    cfg->max_keepalive :
				    CONFIG_MAX_KEEPALIVE_DEFAULT;
	out->limits.max_keepalive_set = cfg->max_keepalive_set;
	out->auto_id_prefix = strdup(prefix);
	if (cl->mount_point)
		out->mount_point = strdup(cl->mount_point);
	if (!out->auto_id_prefix || (cl->mount_point && !out->mount_point)) {
		listener_settings_free(out);
		return -ENOMEM;
	}
	return 0;
}

int listeners_prepare(struct listeners *ls, const struct config *cfg,
		      const struct listener_auth *const *auth,
		      const struct kmqtt_nl_limits *limits, char *err,
		      size_t errlen)
{
	struct tls_server_ctx **tls;
	struct open_listener *ol;
	int rc = -1;
	size_t i;

	/* Every TLS file first: a bad one opens no socket. */
	tls = calloc(cfg->listener_count, sizeof(*tls));
	if (!tls) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cfg->listener_count; i++) {
		if (tls_load(&cfg->listeners[i], &tls[i], err, errlen)) {
			rc = LISTENERS_BAD_CONFIG;
			goto fail;
		}
	}
	ls->next = calloc(cfg->listener_count, sizeof(*ls->next));
	if (!ls->next) {
		snprintf(err, errlen, "out of memory");
		goto fail;
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
			goto fail;
		}
		ls->next[ls->next_count++] = ol;
		ol->next_tls = tls[i];
		tls[i] = NULL;
		ol->next_auth = auth[i];
		if (settings_make(cfg, &cfg->listeners[i], limits,
				  &ol->next_settings)) {
			snprintf(err, errlen, "out of memory");
			listeners_abort(ls);
			goto fail;
		}
	}
	free(tls);
	return 0;

fail:
	for (i = 0; i < cfg->listener_count; i++)
		tls_server_ctx_free(tls[i]);
	free(tls);
	return rc;
}

void listeners_commit(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->count; i++)
		if (!ls->open[i]->kept)
			open_listener_free(ls->open[i]);
	for (i = 0; i < ls->next_count; i++) {
		struct open_listener *ol = ls->next[i];

		ol->opened_by_prepare = false;
		tls_server_ctx_free(ol->l.tls);
		ol->l.tls = ol->next_tls;
		ol->next_tls = NULL;
		listener_settings_free(&ol->l.settings);
		ol->l.settings = ol->next_settings;
		memset(&ol->next_settings, 0, sizeof(ol->next_settings));
		ol->l.auth = ol->next_auth;
	}
	free(ls->open);
	ls->open = ls->next;
	ls->count = ls->next_count;
	ls->next = NULL;
	ls->next_count = 0;
}

void listeners_abort(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->next_count; i++) {
		tls_server_ctx_free(ls->next[i]->next_tls);
		ls->next[i]->next_tls = NULL;
		listener_settings_free(&ls->next[i]->next_settings);
		if (ls->next[i]->opened_by_prepare)
			open_listener_free(ls->next[i]);
	}
	free(ls->next);
	ls->next = NULL;
	ls->next_count = 0;
}

const struct listener *listeners_get(const struct listeners *ls, size_t i)
{
	return &ls->open[i]->l;
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
