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
/* limits[KMQTT_LIMIT_x] in force (GET_INFO's KMQTT_A_LIMITS). */
int kmqtt_genl_get_limits(struct kmqtt_genl *g,
			  uint64_t limits[KMQTT_LIMIT_MAX + 1]);
/*
 * SET_LIMITS with limits[i] for each bit i of mask, each in its ABI width
 * (u8, u32 or u64); the kernel's errno (e.g. -ERANGE) is returned.
 */
int kmqtt_genl_set_limits(struct kmqtt_genl *g,
			  const uint64_t limits[KMQTT_LIMIT_MAX + 1],
			  uint32_t mask);
int kmqtt_genl_set_limit(struct kmqtt_genl *g, enum kmqtt_limit id,
			 uint64_t value);
/* Every limit, for putting back what kmqtt_genl_get_limits() saved. */
#define KMQTT_GENL_ALL_LIMITS \
	(((1u << (KMQTT_LIMIT_MAX + 1)) - 1) & \
	 ~(1u << KMQTT_LIMIT_UNSPEC | 1u << KMQTT_LIMIT_PAD))

/* One entry of the GET_SESSION dump. */
struct kmqtt_session_info {
	bool online;
	bool clean_session;
	uint64_t stats[KMQTT_STAT_MAX + 1];
};

/* The session of client_id: 0, or -ENOENT when the module has none. */
int kmqtt_genl_get_session(struct kmqtt_genl *g, const char *client_id,
			   struct kmqtt_session_info *info);

enum kmqtt_session_state {
	KMQTT_SESSION_GONE,
	KMQTT_SESSION_OFFLINE,
	KMQTT_SESSION_ONLINE,
};

/*
 * Poll until the session of client_id is in state (closes and expiry are
 * asynchronous): 0, or -ETIMEDOUT after timeout_ms.
 */
int kmqtt_genl_wait_session(struct kmqtt_genl *g, const char *client_id,
			    enum kmqtt_session_state state, int timeout_ms);

int kmqtt_genl_join_events(struct kmqtt_genl *g);
/* Wait for CONN_CLOSED of conn_id on a joined socket: 0 or -ETIMEDOUT. */
int kmqtt_genl_wait_closed(struct kmqtt_genl *g, uint64_t conn_id,
			   int timeout_ms, struct kmqtt_closed_event *ev);

#endif
