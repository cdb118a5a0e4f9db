/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The username each session's client attached with, so that a reload can
 * compile the ACL file again for every session kmqtt.ko holds and push the
 * new rules (KMQTT_CMD_SET_ACL).  Entries are added at ATTACH, removed
 * when a clean-session connection closes (its session goes with it), and
 * pruned against the module's session list at each reload, which also
 * covers persistent sessions that expired.
 */
#ifndef KMQTTD_CLIENTS_H
#define KMQTTD_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;

struct clients {
	struct client **bucket;
	size_t buckets;
	size_t count;
};

void clients_init(struct clients *cs);
void clients_fini(struct clients *cs);

/*
 * Record that @client_id attached as connection @conn_id with @username
 * (NULL: anonymous), replacing what an earlier connection of the same id
 * left.  Returns 0 or -ENOMEM.
 */
int clients_attached(struct clients *cs, const char *client_id,
		     const char *username, uint64_t conn_id,
		     bool clean_session);

/*
 * Connection @conn_id of @client_id closed: forget a clean session; a
 * persistent one keeps its username.  A stale event (the id attached again
 * since) changes nothing.
 */
void clients_closed(struct clients *cs, const char *client_id,
		    uint64_t conn_id);

/* Is @client_id known, and if so its username (NULL: anonymous)? */
bool clients_lookup(const struct clients *cs, const char *client_id,
		    const char **username);

/* Forget every client for which @keep returns false. */
void clients_prune(struct clients *cs,
		   bool (*keep)(const char *client_id, void *arg), void *arg);

#endif /* KMQTTD_CLIENTS_H */
