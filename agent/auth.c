// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "acl.h"
#include "auth.h"
#include "config.h"
#include "connect.h"
#include "kmqtt_nl.h"
#include "log.h"
#include "origins.h"
#include "passwd.h"
#include "reauth.h"
#include "scram.h"
#include "scram_file.h"

/* Longest username quoted in the log. */
#define AUTH_LOG_NAME_MAX	64

/* What auth_check() allocates behind a listener_grant. */
struct auth_grant {
	char *username;
	struct acl_rules rules;
	bool has_rules;
	bool by_method;			/* @username is a method's user */
	char reason[192];
};

static void policy_free(struct auth_policy *policy)
{
	passwd_free(policy->passwd);
	scram_file_free(policy->scram);
	acl_free(policy->acl);
	free(policy->listener);
	memset(policy, 0, sizeof(*policy));
}

/* Returns 0, or -1 with @err "FILE:LINE: directive: what is wrong". */
static int policy_load(struct auth_policy *policy,
		       const struct config_security *sec, char *err,
		       size_t errlen)
{
	char why[384];

	policy->allow_anonymous = sec->allow_anonymous;
	policy->hooks = (struct listener_auth){ .method = auth_method_for,
						.check = auth_check,
						.finish = auth_finish,
						.arg = policy };
	if (sec->password_file) {
		policy->passwd = passwd_load(sec->password_file, why,
					     sizeof(why));
		if (!policy->passwd) {
			snprintf(err, errlen, "%s: password_file: %s",
				 sec->password_file_where, why);
			return -1;
		}
	}
	if (sec->scram_file) {
		policy->scram = scram_file_load(sec->scram_file, why,
						sizeof(why));
		if (!policy->scram) {
			snprintf(err, errlen, "%s: scram_file: %s",
				 sec->scram_file_where, why);
			return -1;
		}
	}
	if (sec->acl_file) {
		policy->acl = acl_load(sec->acl_file, why, sizeof(why));
		if (!policy->acl) {
			snprintf(err, errlen, "%s: acl_file: %s",
				 sec->acl_file_where, why);
			return -1;
		}
	}
	return 0;
}

/* The name a session's listener is recorded under: "PORT ADDRESS". */
static char *listener_name(const struct config_listener *l)
{
	char *name;

	if (asprintf(&name, "%s %s", l->port, l->addr ? l->addr : "*") < 0)
		return NULL;
	return name;
}

int auth_policies_load(struct auth_policies *ps, const struct config *cfg,
		       struct origins *origins, struct reauth *reauth,
		       char *err, size_t errlen)
{
	size_t i;

	memset(ps, 0, sizeof(*ps));
	ps->per_listener = cfg->per_listener_settings;
	ps->count = ps->per_listener ? cfg->listener_count : 1;
	ps->policy = calloc(ps->count, sizeof(*ps->policy));
	if (!ps->policy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!ps->per_listener) {
		if (policy_load(&ps->policy[0], &cfg->security, err, errlen))
			goto fail;
		ps->policy[0].reauth = reauth;
		return 0;
	}
	for (i = 0; i < ps->count; i++) {
		struct auth_policy *policy = &ps->policy[i];
		const struct config_listener *l = &cfg->listeners[i];

		if (policy_load(policy, &l->security, err, errlen))
			goto fail;
		policy->origins = origins;
		policy->reauth = reauth;
		policy->listener = listener_name(l);
		if (!policy->listener) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return 0;

fail:
	auth_policies_free(ps);
	return -1;
}

void auth_policies_free(struct auth_policies *ps)
{
	size_t i;

	for (i = 0; ps->policy && i < ps->count; i++)
		policy_free(&ps->policy[i]);
	free(ps->policy);
	memset(ps, 0, sizeof(*ps));
}

const struct listener_auth *auth_policies_hooks(const struct auth_policies *ps,
						size_t i)
{
	return &ps->policy[ps->per_listener ? i : 0].hooks;
}

bool auth_policies_have_acl(const struct auth_policies *ps)
{
	size_t i;

	for (i = 0; i < ps->count; i++)
		if (ps->policy[i].acl)
			return true;
	return false;
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

/* use_identity_as_username, use_subject_as_username: the certificate's. */
static uint8_t auth_identify_by_certificate(const struct listener_conn_info *ci,
					    struct auth_grant *a)
{
	const char *id = ci->identity == LISTENER_IDENTITY_CERT_CN ?
			 ci->cert_cn : ci->cert_subject;

	/* Also every client of a listener that asks for no certificate. */
	if (!id)
		return auth_refuse(a, MQTT_CONNACK_BAD_USERNAME_PASSWORD,
				   "no client certificate identity", NULL,
				   ci->connect);
	if (strlen(id) > KMQTT_USERNAME_MAX)
		return auth_refuse(a, MQTT_CONNACK_BAD_USERNAME_PASSWORD,
				   "certificate identity too long", NULL,
				   ci->connect);
	a->username = strdup(id);
	return a->username ? MQTT_CONNACK_ACCEPTED :
			     MQTT_CONNACK_SERVER_UNAVAILABLE;
}

/* Enhanced authentication's user, if the CONNECT does not disagree. */
static uint8_t auth_identify_by_method(const struct listener_conn_info *ci,
				       struct auth_grant *a)
{
	const struct connect_packet *c = ci->connect;
	size_t len = strlen(ci->auth_identity);

	if (c->has_password)
		return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
				   "a Password with an Authentication Method",
				   ci->auth_identity, c);
	if (c->has_username &&
	    (c->username.len != len ||
	     memcmp(c->username.data, ci->auth_identity, len)))
		return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
				   "User Name other than the user authenticated",
				   ci->auth_identity, c);
	a->username = strdup(ci->auth_identity);
	a->by_method = true;
	return a->username ? MQTT_CONNACK_ACCEPTED :
			     MQTT_CONNACK_SERVER_UNAVAILABLE;
}

/*
 * The username the client is known by; sets a->username.  Mosquitto 2.0
 * answers 5 (not authorised) to every refusal of credentials.
 */
static uint8_t auth_identify(const struct auth_policy *policy,
			     const struct listener_conn_info *ci,
			     struct auth_grant *a)
{
	const struct connect_packet *c = ci->connect;

	if (ci->identity != LISTENER_IDENTITY_CONNECT)
		return auth_identify_by_certificate(ci, a);
	if (ci->auth_identity)
		return auth_identify_by_method(ci, a);
	if (!c->has_username) {
		if (!policy->allow_anonymous)
			return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
					   "anonymous clients are not allowed",
					   NULL, c);
		return MQTT_CONNACK_ACCEPTED;
	}
	/* Nothing to check a username against: allow_anonymous decides. */
	if (!policy->passwd && !policy->allow_anonymous)
		return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
				   "no password_file and allow_anonymous false",
				   NULL, c);
	/* kmqtt.ko keeps the username with the session, up to a bound. */
	if (c->username.len > KMQTT_USERNAME_MAX)
		return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
				   "username too long", NULL, c);
	a->username = strndup((const char *)c->username.data,
			      c->username.len);
	if (!a->username)
		return MQTT_CONNACK_SERVER_UNAVAILABLE;
	/* A NUL would make the ACL's user differ from the password's. */
	if (strlen(a->username) != c->username.len)
		return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
				   "username contains NUL", NULL, c);
	if (policy->passwd &&
	    (!c->has_password ||
	     !passwd_verify(policy->passwd, c->username.data, c->username.len,
			    c->password.data, c->password.len)))
		return auth_refuse(a, MQTT_CONNACK_NOT_AUTHORIZED,
				   "bad username or password", a->username, c);
	return MQTT_CONNACK_ACCEPTED;
}

/* The method @name as @policy offers it, with its settings in *@config. */
static const struct auth_method *policy_method(const struct auth_policy *policy,
					       const char *name,
					       const void **config)
{
	if (policy->scram && !strcmp(name, scram_sha256_method.name)) {
		*config = policy->scram;
		return &scram_sha256_method;
	}
	return NULL;
}

const struct auth_method *auth_method_for(const struct listener_conn_info *ci,
					 const char *name,
					 const void **config, void *arg)
{
	const struct auth_policy *policy = arg;

	/* A certificate names the client: nothing else may. */
	if (ci->identity != LISTENER_IDENTITY_CONNECT)
		return NULL;
	return policy_method(policy, name, config);
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

/* What re-authentication of attached connection @conn_id needs. */
static void auth_record_method(const struct auth_policy *policy,
			       const struct connect_packet *c,
			       uint64_t conn_id, const char *user)
{
	char method[AUTH_METHOD_NAME_MAX + 1];
	int err;

	/* The listener looked the method up: it is that short. */
	snprintf(method, sizeof(method), "%.*s", (int)c->auth_method.len,
		 (const char *)c->auth_method.data);
	err = reauth_attached(policy->reauth, conn_id, c->client_id,
			      policy->listener, method, user);
	if (err)
		log_error("Client %s: %s: its re-authentication will be refused.",
			  c->client_id, strerror(-err));
}

void auth_finish(struct listener_grant *g, const struct connect_packet *c,
		 uint64_t conn_id, void *arg)
{
	const struct auth_policy *policy = arg;
	struct auth_grant *a = g->priv;

	if (conn_id && policy->origins &&
	    origins_set(policy->origins, c->client_id, policy->listener,
			conn_id, c->clean_session))
		log_error("Out of memory: the access rules of client %s will not be updated on reload.",
			  c->client_id);
	if (conn_id && a && a->by_method && policy->reauth)
		auth_record_method(policy, c, conn_id, a->username);
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
		bool bridge;		/* a bridge's session: no rules */
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
	e->bridge = s->bridge;
	if (!e->client_id || (s->has_username && !e->username)) {
		free(e->client_id);
		free(e->username);
		list->out_of_memory = true;
		return;
	}
	list->count++;
}

/*
 * The policy of the clients of @listener (auth_policy.listener, NULL:
 * unknown), or NULL: with per_listener_settings true, a listener that is
 * gone or unknown.
 */
static const struct auth_policy *listener_policy(const struct auth_policies *ps,
						 const char *listener)
{
	size_t i;

	if (!ps->per_listener)
		return ps->count ? &ps->policy[0] : NULL;
	for (i = 0; listener && i < ps->count; i++)
		if (!strcmp(ps->policy[i].listener, listener))
			return &ps->policy[i];
	return NULL;
}

const struct auth_method *auth_policies_method(const struct auth_policies *ps,
					      const char *listener,
					      const char *name,
					      const void **config)
{
	const struct auth_policy *policy = listener_policy(ps, listener);

	return policy ? policy_method(policy, name, config) : NULL;
}

/*
 * The policy of @client_id's session, or NULL: with per_listener_settings
 * true, one that kmqttd did not attach or whose listener is gone.
 */
static const struct auth_policy *session_policy(const struct auth_policies *ps,
						const struct origins *origins,
						const char *client_id)
{
	return listener_policy(ps, origins_get(origins, client_id));
}

/*
 * Send one session the rules of @acl (NULL: everything allowed, or with
 * @deny_all nothing).  -ENOENT (gone meanwhile) is not an error.
 */
static int push_one(const struct acl *acl, bool deny_all,
		    struct kmqtt_nl *nl, const struct session_entry *e)
{
	struct acl_rules rules = { 0 };
	int err;

	if (deny_all)
		return kmqtt_nl_set_acl(nl, e->client_id, &rules);
	if (!acl)
		return kmqtt_nl_set_acl(nl, e->client_id, NULL);
	if (acl_compile(acl, e->client_id, e->username, &rules)) {
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

/* The rules of one stored session: 0, or push_one()'s error. */
static int push_session(const struct auth_policies *ps, bool some_acl,
			struct origins *origins, struct kmqtt_nl *nl,
			const struct session_entry *e)
{
	const struct auth_policy *policy;

	/*
	 * The local side of a bridge is kmqtt.ko itself: everything allowed,
	 * as its ATTACH gives it (a restored one starts with nothing).
	 */
	if (e->bridge)
		return push_one(NULL, false, nl, e);
	origins_mark(origins, e->client_id);
	policy = session_policy(ps, origins, e->client_id);
	if (!policy && some_acl)
		log_warning("Client %s: session of an unknown listener (attached before kmqttd started, or its listener is gone): no access until it connects again.",
			    e->client_id);
	return push_one(policy ? policy->acl : NULL, !policy && some_acl, nl,
			e);
}

int auth_push_acls(const struct auth_policies *ps, struct origins *origins,
		   struct kmqtt_nl *nl)
{
	bool some_acl = auth_policies_have_acl(ps);
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
		int rc = push_session(ps, some_acl, origins, nl,
				      &list.entry[i]);

		if (rc && rc != -ENOENT) {
			log_error("Access rules of client %s: %s",
				  list.entry[i].client_id, nl->error);
			failed++;
		}
	}
	if (!err) {
		origins_sweep(origins);
		log_verbose("Access rules sent to %zu sessions (%u failed).",
			    list.count, failed);
	}
	for (i = 0; i < list.count; i++) {
		free(list.entry[i].client_id);
		free(list.entry[i].username);
	}
	free(list.entry);
	return err;
}
