// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "acl.h"
#include "auth.h"
#include "connect.h"
#include "log.h"
#include "nl.h"
#include "passwd.h"

/* Longest username quoted in the log. */
#define AUTH_LOG_NAME_MAX	64

/* What auth_check() allocates behind a listener_grant. */
struct auth_grant {
	char *username;
	struct acl_rules rules;
	bool has_rules;
	char reason[192];
};

void auth_init(struct auth_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	clients_init(&policy->clients);
}

void auth_fini(struct auth_policy *policy)
{
	passwd_free(policy->passwd);
	acl_free(policy->acl);
	clients_fini(&policy->clients);
	memset(policy, 0, sizeof(*policy));
}

/* @name quoted for the log: control characters could forge lines. */
static void log_name(char *out, size_t size, const char *name)
{
	size_t i, n = strlen(name);

	if (n > AUTH_LOG_NAME_MAX)
		n = AUTH_LOG_NAME_MAX;
	for (i = 0; i < n && i + 1 < size; i++)
		out[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ?
			 '?' : name[i];
	out[i] = '\0';
}

static uint8_t auth_refuse(struct auth_grant *a, uint8_t code,
			   const char *why, const char *username,
			   const struct connect_packet *c)
{
	char name[AUTH_LOG_NAME_MAX + 1], id[AUTH_LOG_NAME_MAX + 1];

	log_name(id, sizeof(id), c->client_id);
	if (username) {
		log_name(name, sizeof(name), username);
		snprintf(a->reason, sizeof(a->reason),
			 "%s (user '%s', client id '%s')", why, name, id);
	} else {
		snprintf(a->reason, sizeof(a->reason), "%s (client id '%s')",
			 why, id);
	}
	return code;
}

/* The username the client is known by; sets a->username. */
static uint8_t auth_identify(const struct auth_policy *policy,
			     const struct listener_conn_info *ci,
			     struct auth_grant *a)
{
	const struct connect_packet *c = ci->connect;

	if (ci->use_identity_as_username) {
		if (!ci->cert_cn)
			return auth_refuse(a, MQTT_CONNACK_BAD_USERNAME_PASSWORD,
					   "no client certificate identity",
					   NULL, c);
		a->username = strdup(ci->cert_cn);
		return a->username ? MQTT_CONNACK_ACCEPTED :
				     MQTT_CONNACK_SERVER_UNAVAILABLE;
	}
	if (!c->has_username) {
		if (!policy->allow_anonymous)
			return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
					   "anonymous clients are not allowed",
					   NULL, c);
		return MQTT_CONNACK_ACCEPTED;
	}
	a->username = strndup((const char *)c->username.data,
			      c->username.len);
	if (!a->username)
		return MQTT_CONNACK_SERVER_UNAVAILABLE;
	/* A NUL would make the ACL's user differ from the password's. */
	if (strlen(a->username) != c->username.len)
		return auth_refuse(a, MQTT_CONNACK_BAD_USERNAME_PASSWORD,
				   "username contains NUL", NULL, c);
	if (policy->passwd &&
	    !passwd_verify(policy->passwd, c->username.data, c->username.len,
			   c->has_password ? c->password.data :
					     (const uint8_t *)"",
			   c->has_password ? c->password.len : 0))
		return auth_refuse(a, MQTT_CONNACK_BAD_USERNAME_PASSWORD,
				   "bad username or password", a->username, c);
	return MQTT_CONNACK_ACCEPTED;
}

uint8_t auth_check(const struct listener_conn_info *ci,
		   struct listener_grant *g, void *arg)
{
	const struct auth_policy *policy = arg;
	struct auth_grant *a = calloc(1, sizeof(*a));
	uint8_t code;

	memset(g, 0, sizeof(*g));
	if (!a) {
		g->reason = "out of memory";
		return MQTT_CONNACK_SERVER_UNAVAILABLE;
	}
	g->priv = a;
	g->reason = a->reason;
	code = auth_identify(policy, ci, a);
	if (code != MQTT_CONNACK_ACCEPTED) {
		if (!a->reason[0])
			snprintf(a->reason, sizeof(a->reason), "out of memory");
		return code;
	}
	g->username = a->username;
	if (!policy->acl)
		return MQTT_CONNACK_ACCEPTED;
	if (acl_compile(policy->acl, ci->connect->client_id, a->username,
			&a->rules)) {
		snprintf(a->reason, sizeof(a->reason), "out of memory");
		return MQTT_CONNACK_SERVER_UNAVAILABLE;
	}
	a->has_rules = true;
	if (a->rules.count > KMQTT_ACL_MAX_RULES) {
		log_error("%zu ACL rules for client %s, kmqtt.ko takes at most %d.",
			  a->rules.count, ci->connect->client_id,
			  KMQTT_ACL_MAX_RULES);
		return auth_refuse(a, MQTT_CONNACK_SERVER_UNAVAILABLE,
				   "too many ACL rules", a->username,
				   ci->connect);
	}
	g->acl = &a->rules;
	return MQTT_CONNACK_ACCEPTED;
}

void auth_finish(struct listener_grant *g, const struct connect_packet *c,
		 uint64_t conn_id, void *arg)
{
	struct auth_policy *policy = arg;
	struct auth_grant *a = g->priv;

	if (conn_id &&
	    clients_attached(&policy->clients, c->client_id,
			     a ? a->username : NULL, conn_id, c->clean_session))
		log_error("Out of memory: a reload will treat client %s as anonymous.",
			  c->client_id);
	if (a) {
		if (a->has_rules)
			acl_rules_free(&a->rules);
		free(a->username);
		free(a);
	}
	memset(g, 0, sizeof(*g));
}

void auth_closed(struct auth_policy *policy, const char *client_id,
		 uint64_t conn_id)
{
	clients_closed(&policy->clients, client_id, conn_id);
}

/* The client ids of every session, sorted. */
struct session_ids {
	char **id;
	size_t count, cap;
	bool out_of_memory;
};

static void collect_session(const struct kmqtt_nl_session *s, void *arg)
{
	struct session_ids *ids = arg;
	char **grown;

	if (ids->count == ids->cap) {
		size_t cap = ids->cap ? 2 * ids->cap : 64;

		grown = realloc(ids->id, cap * sizeof(*grown));
		if (!grown) {
			ids->out_of_memory = true;
			return;
		}
		ids->id = grown;
		ids->cap = cap;
	}
	ids->id[ids->count] = strdup(s->client_id);
	if (!ids->id[ids->count])
		ids->out_of_memory = true;
	else
		ids->count++;
}

static int id_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool session_exists(const char *client_id, void *arg)
{
	const struct session_ids *ids = arg;

	return bsearch(&client_id, ids->id, ids->count, sizeof(*ids->id),
		       id_order) != NULL;
}

/* Send one session its rules; -ENOENT (gone meanwhile) is not an error. */
static int push_one(struct auth_policy *policy, struct kmqtt_nl *nl,
		    const char *client_id, unsigned int *anonymous)
{
	struct acl_rules rules;
	const char *username = NULL;
	int err;

	if (!policy->acl)
		return kmqtt_nl_set_acl(nl, client_id, NULL);
	if (!clients_lookup(&policy->clients, client_id, &username))
		(*anonymous)++;
	if (acl_compile(policy->acl, client_id, username, &rules)) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		return -ENOMEM;
	}
	err = rules.count > KMQTT_ACL_MAX_RULES ? -E2BIG :
	      kmqtt_nl_set_acl(nl, client_id, &rules);
	if (err == -E2BIG)
		snprintf(nl->error, sizeof(nl->error),
			 "%zu ACL rules for client %s, at most %d", rules.count,
			 client_id, KMQTT_ACL_MAX_RULES);
	acl_rules_free(&rules);
	return err;
}

int auth_push_acls(struct auth_policy *policy, struct kmqtt_nl *nl)
{
	struct session_ids ids = { 0 };
	unsigned int anonymous = 0, failed = 0;
	size_t i;
	int err;

	err = kmqtt_nl_dump_sessions(nl, collect_session, &ids);
	if (!err && ids.out_of_memory) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		err = -ENOMEM;
	}
	for (i = 0; !err && i < ids.count; i++) {
		int rc = push_one(policy, nl, ids.id[i], &anonymous);

		if (rc && rc != -ENOENT) {
			log_error("Access rules of client %s: %s", ids.id[i],
				  nl->error);
			failed++;
		}
	}
	if (!err) {
		qsort(ids.id, ids.count, sizeof(*ids.id), id_order);
		clients_prune(&policy->clients, session_exists, &ids);
		log_verbose("Access rules sent to %zu sessions (%u of unknown user, as anonymous; %u failed).",
			    ids.count, anonymous, failed);
	}
	for (i = 0; i < ids.count; i++)
		free(ids.id[i]);
	free(ids.id);
	return err;
}
