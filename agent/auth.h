/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who may attach, and with which access rules: the listener_auth check
 * kmqttd installs on every listener.  Authentication settings are global,
 * as with Mosquitto's per_listener_settings false.  A reload pushes every
 * session its recompiled ACL (auth_push_acls()).
 */
#ifndef KMQTTD_AUTH_H
#define KMQTTD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "listener.h"

struct acl;
struct kmqtt_nl;
struct passwd_file;

struct auth_policy {
	bool allow_anonymous;
	struct passwd_file *passwd;	/* NULL: any username is accepted */
	struct acl *acl;		/* NULL: everything is allowed */
};

void auth_init(struct auth_policy *policy);
/* Frees the password and ACL files too. */
void auth_fini(struct auth_policy *policy);

/*
 * The listener_auth hooks; @arg is a struct auth_policy.  Refusals, as
 * mosquitto:
 *	no username, allow_anonymous false          5 not authorized
 *	username unknown or password wrong           4 bad user name or password
 *	use_identity_as_username, no certificate CN  4 bad user name or password
 * With use_identity_as_username the certificate's CN is the username and
 * the password file is not consulted.
 */
uint8_t auth_check(const struct listener_conn_info *ci,
		   struct listener_grant *g, void *arg);
void auth_finish(struct listener_grant *g, const struct connect_packet *c,
		 uint64_t conn_id, void *arg);

/*
 * After the ACL file changed (reload): send every session kmqtt.ko holds
 * its rules compiled from policy->acl, or none (everything allowed) when
 * there is no ACL file, for the username kmqtt.ko keeps with the session
 * (so a restarted kmqttd compiles the same rules).  Returns 0 or
 * -errno with nl->error set; sessions that vanished meanwhile are skipped.
 */
int auth_push_acls(struct auth_policy *policy, struct kmqtt_nl *nl);

#endif /* KMQTTD_AUTH_H */
