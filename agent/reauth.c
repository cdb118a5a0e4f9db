// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "auth.h"
#include "auth_method.h"
#include "kmqtt_nl.h"
#include "log.h"
#include "reauth.h"

_Static_assert(AUTH_METHOD_DATA_MAX <= KMQTT_AUTH_DATA_MAX,
	       "a method's data fits an AUTH the module sends");

struct reauth_conn {
	uint64_t conn_id;
	char *client_id;
	char *listener;			/* NULL: the policy of all listeners */
	char method_name[AUTH_METHOD_NAME_MAX + 1];
	char *user;			/* whom the method proved at CONNECT */
	/* The exchange under way: @method set, in r->exchanges. */
	const struct auth_method *method;
	void *session;
	unsigned int steps;		/* the client's 0x18 AUTHs so far */
	struct deadline deadline;	/* the client's next AUTH's */
};

static int conn_compare(const void *a, const void *b)
{
	uint64_t x = ((const struct reauth_conn *)a)->conn_id;
	uint64_t y = ((const struct reauth_conn *)b)->conn_id;

	return x < y ? -1 : x > y;
}

void reauth_init(struct reauth *r, struct kmqtt_nl *nl,
		 const struct auth_policies *policies, uint64_t timeout_ms)
{
	memset(r, 0, sizeof(*r));
	r->nl = nl;
	r->policies = policies;
	r->timeout_ms = timeout_ms;
}

static struct reauth_conn *conn_find(const struct reauth *r,
				     uint64_t conn_id)
{
	struct reauth_conn key = { .conn_id = conn_id };
	void *node = tfind(&key, &r->root, conn_compare);

	return node ? *(struct reauth_conn **)node : NULL;
}

/* The connection the next deadline is for, or NULL. */
static struct reauth_conn *exchange_oldest(const struct reauth *r)
{
	return r->exchanges.oldest ?
	       container_of(r->exchanges.oldest, struct reauth_conn, deadline) :
	       NULL;
}

static void exchange_end(struct reauth *r, struct reauth_conn *c)
{
	if (!c->method)
		return;
	deadline_remove(&r->exchanges, &c->deadline);
	c->method->end(c->session);
	c->method = NULL;
	c->session = NULL;
}

static void conn_free(struct reauth_conn *c)
{
	free(c->client_id);
	free(c->listener);
	free(c->user);
	free(c);
}

static void conn_forget(struct reauth *r, struct reauth_conn *c)
{
	exchange_end(r, c);
	tdelete(c, &r->root, conn_compare);
	r->count--;
	conn_free(c);
}

void reauth_fini(struct reauth *r)
{
	while (r->root)
		conn_forget(r, *(struct reauth_conn **)r->root);
	memset(r, 0, sizeof(*r));
}

int reauth_attached(struct reauth *r, uint64_t conn_id, const char *client_id,
		    const char *listener, const char *method, const char *user)
{
	struct reauth_conn *c;
	void *node;

	if (r->count >= REAUTH_CONNS_MAX)
		return -ENOSPC;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->conn_id = conn_id;
	snprintf(c->method_name, sizeof(c->method_name), "%s", method);
	c->client_id = strdup(client_id);
	c->listener = listener ? strdup(listener) : NULL;
	c->user = strdup(user);
	node = c->client_id && c->user && (!listener || c->listener) ?
	       tsearch(c, &r->root, conn_compare) : NULL;
	if (!node || *(struct reauth_conn **)node != c) {
		/* out of memory, or a conn id the module handed out twice */
		conn_free(c);
		return node ? -EEXIST : -ENOMEM;
	}
	r->count++;
	return 0;
}

void reauth_closed(struct reauth *r, uint64_t conn_id)
{
	struct reauth_conn *c = conn_find(r, conn_id);

	if (c)
		conn_forget(r, c);
}

/*
 * Send the module @reason for the connection: 0, or its error.  -ENOENT:
 * the connection closed meanwhile, its event follows; -EINVAL: it no
 * longer waits for us, the module having ended the exchange itself.
 */
static int reply(struct reauth *r, uint64_t conn_id, const char *client_id,
		 uint8_t reason, const uint8_t *data, size_t len)
{
	int err = kmqtt_nl_auth_reply(r->nl, conn_id, client_id, reason, data,
				      len);

	if (err == -EINVAL)
		log_verbose("Re-authentication of client %s: %s", client_id,
			    r->nl->error);
	else if (err && err != -ENOENT)
		log_error("Re-authentication of client %s: %s", client_id,
			  r->nl->error);
	return err;
}

/* Refuse the re-authentication of @c with @reason: it is disconnected. */
static void conn_refuse(struct reauth *r, struct reauth_conn *c,
			uint8_t reason, const char *why)
{
	log_verbose("Re-authentication of client %s failed: %s (0x%02x).",
		    c->client_id, why, reason);
	reply(r, c->conn_id, c->client_id, reason, NULL, 0);
	conn_forget(r, c);
}

/* The method's verdict, answered; the client's next AUTH is awaited. */
static void exchange_answer(struct reauth *r, struct reauth_conn *c,
			    const struct auth_method_result *res,
			    uint64_t now_ms)
{
	uint8_t reason = MQTT_RC_CONTINUE_AUTH;
	int err;

	if (res->verdict == AUTH_METHOD_FAIL) {
		conn_refuse(r, c, MQTT_RC_NOT_AUTHORIZED, res->reason);
		return;
	}
	if (res->verdict == AUTH_METHOD_SUCCESS) {
		/* The session's username and ACL are the CONNECT's user's. */
		if (strcmp(res->identity, c->user)) {
			conn_refuse(r, c, MQTT_RC_NOT_AUTHORIZED,
				    "another user than at CONNECT");
			return;
		}
		reason = MQTT_RC_SUCCESS;
	} else if (c->steps == AUTH_METHOD_STEPS_MAX) {
		conn_refuse(r, c, MQTT_RC_NOT_AUTHORIZED,
			    "too many authentication steps");
		return;
	}
	err = reply(r, c->conn_id, c->client_id, reason, res->data,
		    res->data_len);
	if (err) {
		/* The client would wait for an answer that never comes. */
		if (err != -ENOENT)
			reply(r, c->conn_id, c->client_id,
			      MQTT_RC_NOT_AUTHORIZED, NULL, 0);
		conn_forget(r, c);
		return;
	}
	if (reason == MQTT_RC_SUCCESS) {
		log_verbose("Client %s re-authenticated as '%s'.", c->client_id,
			    c->user);
		exchange_end(r, c);
		return;
	}
	deadline_remove(&r->exchanges, &c->deadline);
	deadline_append(&r->exchanges, &c->deadline, now_ms + r->timeout_ms);
}

/* AUTH 0x19: the method the configuration in force offers, from start. */
static void exchange_start(struct reauth *r, struct reauth_conn *c,
			   const struct kmqtt_nl_auth *ev, uint64_t now_ms)
{
	const struct auth_method *method;
	struct auth_method_result res;
	const void *config = NULL;

	method = auth_policies_method(r->policies, c->listener, c->method_name,
				      &config);
	if (!method) {
		conn_refuse(r, c, MQTT_RC_NOT_AUTHORIZED,
			    "the method is no longer offered");
		return;
	}
	method->start(config, ev->data, ev->data_len, &c->session, &res);
	c->method = method;
	c->steps = 0;
	deadline_append(&r->exchanges, &c->deadline, now_ms + r->timeout_ms);
	exchange_answer(r, c, &res, now_ms);
}

void reauth_event(struct reauth *r, const struct kmqtt_nl_auth *ev,
		  uint64_t now_ms)
{
	struct reauth_conn *c = conn_find(r, ev->conn_id);
	struct auth_method_result res;

	if (!c) {
		log_verbose("Re-authentication of client %s refused: connection not attached by this kmqttd (0x%02x).",
			    ev->client_id, MQTT_RC_NOT_AUTHORIZED);
		reply(r, ev->conn_id, ev->client_id, MQTT_RC_NOT_AUTHORIZED,
		      NULL, 0);
		return;
	}
	if (ev->reason == MQTT_RC_REAUTHENTICATE && !c->method) {
		exchange_start(r, c, ev, now_ms);
	} else if (ev->reason == MQTT_RC_CONTINUE_AUTH && c->method) {
		c->steps++;
		c->method->step(c->session, ev->data, ev->data_len, &res);
		exchange_answer(r, c, &res, now_ms);
	} else {
		conn_refuse(r, c, MQTT_RC_PROTOCOL_ERROR,
			    c->method ? "AUTH other than 0x18 during an exchange" :
					"AUTH 0x18 without an exchange");
	}
}

int reauth_timeout(const struct reauth *r, uint64_t now_ms)
{
	const struct deadline *next = r->exchanges.oldest;

	if (!next)
		return -1;
	return next->at_ms <= now_ms ? 0 : (int)(next->at_ms - now_ms);
}

void reauth_expire(struct reauth *r, uint64_t now_ms)
{
	struct reauth_conn *c;

	while ((c = exchange_oldest(r)) && c->deadline.at_ms <= now_ms)
		conn_refuse(r, c, MQTT_RC_NOT_AUTHORIZED,
			    "no AUTH in time");
}
