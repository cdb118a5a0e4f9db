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
}

void auth_fini(struct auth_policy *policy)
{
	passwd_free(policy->passwd);
	acl_free(policy->acl);
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
		if (strlen(ci->cert_cn) > KMQTT_USERNAME_MAX)
			return auth_refuse(a, MQTT_CONNACK_BAD_USERNAME_PASSWORD,
					   "certificate identity too long",
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
	/* kmqtt.ko keeps the username with the session, up to a bound. */
	if (c->username.len > KMQTT_USERNAME_MAX)
		return auth_refuse(a, MQTT_CONNACK_BAD_USERNAME_PASSWORD,
				   "username too long", NULL, c);
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
	struct auth_grant *a = g->priv;

	(void)c;
	(void)conn_id;
	(void)arg;
	if (a) {
		if (a->has_rules)
			acl_rules_free(&a->rules);
		free(a->username);
		free(a);
	}
	memset(g, 0, sizeof(*g));
}

/* Every session kmqtt.ko holds: client id and username (NULL: none). */
struct session_list {
	struct session_entry {
		char *client_id;
		char *username;
	} *entry;
	size_t count, cap;
	bool out_of_memory;
};

static void collect_session(const struct kmqtt_nl_session *s, void *arg)
{
	struct session_list *list = arg;
	struct session_entry *e;

	if (list->count == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 64;

		e = realloc(list->entry, cap * sizeof(*e));
		if (!e) {
			list->out_of_memory = true;
			return;
		}
		list->entry = e;
		list->cap = cap;
	}
	e = &list->entry[list->count];
	e->client_id = strdup(s->client_id);
	e->username = s->has_username ? strdup(s->username) : NULL;
	if (!e->client_id || (s->has_username && !e->username)) {
		free(e->client_id);
		free(e->username);
		list->out_of_memory = true;
		return;
	}
	list->count++;
}

/* Send one session its rules; -ENOENT (gone meanwhile) is not an error. */
static int push_one(struct auth_policy *policy, struct kmqtt_nl *nl,
		    const struct session_entry *e)
{
	struct acl_rules rules;
	int err;

	if (!policy->acl)
		return kmqtt_nl_set_acl(nl, e->client_id, NULL);
	if (acl_compile(policy->acl, e->client_id, e->username, &rules)) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		return -ENOMEM;
	}
	err = rules.count > KMQTT_ACL_MAX_RULES ? -E2BIG :
	      kmqtt_nl_set_acl(nl, e->client_id, &rules);
	if (err == -E2BIG)
		snprintf(nl->error, sizeof(nl->error),
			 "%zu ACL rules for client %s, at most %d", rules.count,
			 e->client_id, KMQTT_ACL_MAX_RULES);
	acl_rules_free(&rules);
	return err;
}

int auth_push_acls(struct auth_policy *policy, struct kmqtt_nl *nl)
{
	struct session_list list = { 0 };
	unsigned int failed = 0;
	size_t i;
	int err;

	err = kmqtt_nl_dump_sessions(nl, collect_session, &list);
	if (!err && list.out_of_memory) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		err = -ENOMEM;
	}
	for (i = 0; !err && i < list.count; i++) {
		int rc = push_one(policy, nl, &list.entry[i]);

		if (rc && rc != -ENOENT) {
			log_error("Access rules of client %s: %s",
				  list.entry[i].client_id, nl->error);
			failed++;
		}
	}
	if (!err)
		log_verbose("Access rules sent to %zu sessions (%u failed).",
			    list.count, failed);
	for (i = 0; i < list.count; i++) {
		free(list.entry[i].client_id);
		free(list.entry[i].username);
	}
	free(list.entry);
	return err;
}
