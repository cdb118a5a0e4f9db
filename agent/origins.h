/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which listener each session attached through, by client id.  With
 * per_listener_settings true a session's access rules come from its
 * listener's acl_file, and kmqtt.ko does not keep the listener with the
 * session: kmqttd remembers it to recompile the rules on reload.  Sessions
 * attached by an earlier kmqttd are not known.
 *
 * Entries are added at ATTACH, removed when a clean session's connection
 * closes, and the others when a reload finds their session gone
 * (origins_sweep()).
 */
#ifndef KMQTTD_ORIGINS_H
#define KMQTTD_ORIGINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct origin;

struct origins {
	struct origin **bucket;
	size_t buckets;
	size_t count;
};

void origins_init(struct origins *o);
void origins_fini(struct origins *o);

/*
 * @client_id attached through @listener (a name the caller chooses) as
 * connection @conn_id.  Returns 0 or -ENOMEM (then the session is not
 * known).
 */
int origins_set(struct origins *o, const char *client_id, const char *listener,
		uint64_t conn_id, bool clean_session);

/* The listener @client_id attached through, or NULL. */
const char *origins_get(const struct origins *o, const char *client_id);

/* Connection @conn_id of @client_id closed: a clean session is gone. */
void origins_closed(struct origins *o, const char *client_id,
		    uint64_t conn_id);

/* Mark @client_id's session as still held by kmqtt.ko. */
void origins_mark(struct origins *o, const char *client_id);

/* Forget the sessions not marked since the last sweep. */
void origins_sweep(struct origins *o);

#endif /* KMQTTD_ORIGINS_H */
