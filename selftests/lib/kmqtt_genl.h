/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Direct use of the kmqtt generic netlink family from tests (libnl), for
 * what kmqttd hides: ATTACH of an arbitrary fd, permission checks, events.
 * Functions return 0 or -errno; an errno the kernel answered with is
 * returned as is (e.g. -EPERM), so tests can assert on it.
 */
#ifndef KMQTT_TEST_GENL_H
#define KMQTT_TEST_GENL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kmqtt.h>

struct nl_sock;

struct kmqtt_genl {
	struct nl_sock *sock;
	int family;
};

struct kmqtt_attach_req {
	int fd;
	const char *client_id;
	uint8_t proto_level;
	uint16_t keepalive;
	bool clean_session;
};

struct kmqtt_closed_event {
	uint64_t conn_id;
	uint32_t reason;
};

/* -ENOENT, with a diagnostic, when kmqtt.ko is not loaded. */
int kmqtt_genl_open(struct kmqtt_genl *g);
void kmqtt_genl_close(struct kmqtt_genl *g);

int kmqtt_genl_attach(struct kmqtt_genl *g, const struct kmqtt_attach_req *req,
		      uint64_t *conn_id);
/* stats[KMQTT_STAT_x]; counters absent from the reply stay 0. */
int kmqtt_genl_get_info(struct kmqtt_genl *g,
			uint64_t stats[KMQTT_STAT_MAX + 1]);
/* Connection ids of the GET_CONN dump; *n is set to how many there were. */
int kmqtt_genl_dump_conns(struct kmqtt_genl *g, uint64_t *ids, size_t max,
			  size_t *n);
int kmqtt_genl_join_events(struct kmqtt_genl *g);
/* Wait for CONN_CLOSED of conn_id on a joined socket: 0 or -ETIMEDOUT. */
int kmqtt_genl_wait_closed(struct kmqtt_genl *g, uint64_t conn_id,
			   int timeout_ms, struct kmqtt_closed_event *ev);

#endif
