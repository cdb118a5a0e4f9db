/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who may attach, and with which access rules: the listener_auth check
 * kmqttd installs on every listener, with the password and ACL files of
 * the configuration: one policy for all listeners, or with
 * per_listener_settings true one per listener.  A reload pushes every
 * session its recompiled ACL (auth_push_acls()).
 */
#ifndef KMQTTD_AUTH_H
#define KMQTTD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "listener.h"

struct acl;
struct config;
struct config_security;
struct kmqtt_nl;
struct origins;
struct passwd_file;
struct reauth;
struct scram_file;

struct auth_policy {
	bool allow_anonymous;
	struct passwd_file *passwd;	/* NULL: allow_anonymous decides */
	struct scram_file *scram;	/* NULL: no SCRAM-SHA-256 */
	struct acl *acl;		/* NULL: everything is allowed */
	/*
	 * per_listener_settings true: the listener's name, under which the
	 * sessions it attaches are recorded in @origins.
	 */
	char *listener;
	struct origins *origins;
	/* Where connections a method authenticated are recorded, or NULL. */
	struct reauth *reauth;
	/* auth_method_for(), auth_check() and auth_finish() */
	struct listener_auth hooks;
};

/* The policies of one configuration. */
struct auth_policies {
	struct auth_policy *policy;
	size_t count;			/* 1, or one per listener */
	bool per_listener;
};

/*
 * Load the password and ACL files of @cfg.  With per_listener_settings
 * true, sessions attached are recorded in @origins; connections attached
 * after a method authenticated them are in @reauth (NULL: not recorded).
 * Returns 0, or -1 with @err "FILE:LINE: directive: what is wrong" and
 * @ps empty.
 */
int auth_policies_load(struct auth_policies *ps, const struct config *cfg,
		       struct origins *origins, struct reauth *reauth,
		       char *err, size_t errlen);
void auth_policies_free(struct auth_policies *ps);

/* The check of the clients of cfg->listeners[@i]. */
const struct listener_auth *auth_policies_hooks(const struct auth_policies *ps,
						size_t i);

/*
 * Re-authentication: the method @name as the policy of @listener
 * (auth_policy.listener, NULL without per_listener_settings) offers it
 * now, with its settings in *@config; or NULL: not offered, or that
 * listener has no policy (any more).
 */
const struct auth_method *auth_policies_method(const struct auth_policies *ps,
					      const char *listener,
					      const char *name,
					      const void **config);

/* Does any policy have an ACL file? */
bool auth_policies_have_acl(const struct auth_policies *ps);

/*
 * The listener_auth hooks; @arg is a struct auth_policy.
 *
 * auth_method_for() offers SCRAM-SHA-256 when the policy has a
 * scram_file, to clients a certificate does not name.  A client it
 * authenticated is its user: not anonymous, the password file not
 * consulted, and auth_finish() records its connection for
 * re-authentication (reauth.h); strict about the CONNECT's credentials:
 *	a User Name other than the user authenticated   5 not authorised
 *	a Password (nothing would check it)             5
 *
 * Refusals of the others, as Mosquitto 2.0:
 *	no username, allow_anonymous false           5 not authorised
 *	username, no password_file, allow_anonymous false
 *						     5
 *	unknown user, wrong or no password           5
 *	use_identity_as_username or use_subject_as_username, no verified
 *	certificate (or no CN)                       4 bad user name or password
 * With use_identity_as_username or use_subject_as_username the
 * certificate's first CN or its subject is the username and the password
 * file is not consulted.
 */
const struct auth_method *auth_method_for(const struct listener_conn_info *ci,
					 const char *name,
					 const void **config, void *arg);
uint8_t auth_check(const struct listener_conn_info *ci,
		   struct listener_grant *g, void *arg);
void auth_finish(struct listener_grant *g, const struct connect_packet *c,
		 uint64_t conn_id, void *arg);

/*
 * After the ACL files changed (reload): send every session kmqtt.ko holds
 * its rules compiled for the username kmqtt.ko keeps with it (so a
 * restarted kmqttd compiles the same rules), from the ACL file of its
 * policy, or none (everything allowed) when that has none.  With
 * per_listener_settings true a session's policy is its listener's, from
 * @origins; a session of an unknown listener gets no access at all when
 * some listener has an ACL file.  Returns 0 or -errno with nl->error set;
 * sessions that vanished meanwhile are skipped.
 */
int auth_push_acls(const struct auth_policies *ps, struct origins *origins,
		   struct kmqtt_nl *nl);

#endif /* KMQTTD_AUTH_H */
