/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Re-authentication (MQTT 5.0 4.12.1): a 5.0 client that authenticated
 * with a method at CONNECT sends AUTH 0x19 once kmqtt.ko owns its socket.
 * The module relays that AUTH and the client's next ones as events;
 * kmqttd runs the method's steps (auth_method.h) as at CONNECT and
 * answers each: 0x18 with the method's data, 0x00 with its last data, or
 * a reason of 0x80 or above, for which the module disconnects the client.
 *
 * The table remembers, per attached connection that authenticated with a
 * method, what re-authentication needs: the policy it attached under, the
 * method, the user the method proved, and the exchange under way.  The
 * method's settings are looked up anew at each 0x19
 * (auth_policies_method()): a reload's scram_file is the one used, and a
 * method no longer offered fails.  Entries come from auth_finish() and go
 * when the connection closes or fails re-authentication; a restarted
 * kmqttd knows none, and refuses their re-authentication.
 */
#ifndef KMQTTD_REAUTH_H
#define KMQTTD_REAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct auth_policies;
struct kmqtt_nl;
struct kmqtt_nl_auth;
struct reauth_conn;

/*
 * The most connections remembered: one per attached client that
 * authenticated with a method.  Beyond it a connection is not recorded,
 * and its re-authentication is refused as an unknown one's.
 */
#define REAUTH_CONNS_MAX	65536

struct reauth {
	struct kmqtt_nl *nl;			/* where answers go */
	const struct auth_policies *policies;	/* the ones in force */
	uint64_t timeout_ms;	/* for the client's next AUTH in an exchange */
	void *root;		/* tsearch() tree of struct reauth_conn */
	size_t count;
	/* Exchanges under way (struct reauth_conn), in deadline order. */
	struct deadline_list exchanges;
};

void reauth_init(struct reauth *r, struct kmqtt_nl *nl,
		 const struct auth_policies *policies, uint64_t timeout_ms);
/* Forget every connection, ending their exchanges; nothing is sent. */
void reauth_fini(struct reauth *r);

/*
 * Connection @conn_id of @client_id attached after @method proved @user,
 * under the policy of @listener (auth_policy.listener: NULL without
 * per_listener_settings).  Returns 0, -ENOMEM, -ENOSPC (full), or
 * -EEXIST (@conn_id is recorded already).
 */
int reauth_attached(struct reauth *r, uint64_t conn_id, const char *client_id,
		    const char *listener, const char *method, const char *user);

/* The connection closed: its exchange, if any, ends; nothing is sent. */
void reauth_closed(struct reauth *r, uint64_t conn_id);

/*
 * The client's AUTH @ev, relayed by the module at @now_ms: answered
 * (kmqtt_nl_auth_reply()) before this returns, never left waiting:
 *	0x19, no exchange under way: the method starts
 *	0x18 within an exchange: the method's next step
 *	the method continues: 0x18 with its data; succeeds for the user of
 *	the CONNECT: 0x00 with its data
 *	the method fails, proves another user, is no longer offered, or
 *	the exchange takes more than AUTH_METHOD_STEPS_MAX steps   0x87
 *	a connection not known (attached by another kmqttd)        0x87
 *	0x18 outside an exchange, 0x19 within one, another reason  0x82
 * A failure forgets the connection: the module disconnects it.
 */
void reauth_event(struct reauth *r, const struct kmqtt_nl_auth *ev,
		  uint64_t now_ms);

/* Milliseconds from @now_ms until reauth_expire() has work, or -1. */
int reauth_timeout(const struct reauth *r, uint64_t now_ms);

/* Fail (0x87) the exchanges whose client's AUTH is late at @now_ms. */
void reauth_expire(struct reauth *r, uint64_t now_ms);

#endif /* KMQTTD_REAUTH_H */
