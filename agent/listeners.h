/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The open listeners, kept in step with the configuration's list across
 * reloads: a listener that stays keeps its socket and its pending
 * connections, a new one is opened, a removed one closed.  Changes are
 * two-phase so a reload that fails half-way changes nothing.
 */
#ifndef KMQTTD_LISTENERS_H
#define KMQTTD_LISTENERS_H

#include <stddef.h>

#include "listener.h"

struct config;
struct kmqtt_nl_limits;
struct open_listener;

struct listeners {
	struct loop *loop;
	struct kmqtt_nl *nl;
	unsigned int connect_timeout_s;
	struct open_listener **open;
	size_t count;
	struct open_listener **next;	/* prepared, not committed */
	size_t next_count;
};

void listeners_init(struct listeners *ls, struct loop *loop,
		    struct kmqtt_nl *nl, unsigned int connect_timeout_s);

/* listeners_prepare() failed on a TLS file (certfile, keyfile, cafile). */
#define LISTENERS_BAD_CONFIG	(-2)

/*
 * Open the listeners of @cfg that are not open yet, and load the TLS
 * certificates and keys of every listener.  cfg->listeners[i] is to check
 * its clients with @auth[i] (kept: it must live until the next commit),
 * and the module's @limits once @cfg is in force: wills over
 * message_size_limit are refused, and 5.0 clients are told in CONNACK.
 * Returns 0, then listeners_commit() or listeners_abort() must follow; or
 * -1 (a socket could not be opened) or LISTENERS_BAD_CONFIG with @err set
 * ("FILE:LINE: reason") and nothing changed.
 */
int listeners_prepare(struct listeners *ls, const struct config *cfg,
		      const struct listener_auth *const *auth,
		      const struct kmqtt_nl_limits *limits, char *err,
		      size_t errlen);

/* Put the prepared settings in force, close the listeners gone. */
void listeners_commit(struct listeners *ls);

/* Close the listeners listeners_prepare() opened. */
void listeners_abort(struct listeners *ls);

/* The @i-th of the @ls->count listeners in force. */
const struct listener *listeners_get(const struct listeners *ls, size_t i);

/* The soonest listener_timeout() of all of them, or -1. */
int listeners_timeout(const struct listeners *ls);
void listeners_expire(struct listeners *ls);
void listeners_close(struct listeners *ls);

#endif /* KMQTTD_LISTENERS_H */
