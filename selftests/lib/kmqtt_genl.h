/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tests need of the kmqtt generic netlink family beyond the
 * client they share with kmqttd (tools/lib/kmqtt_nl.h): requests in the
 * tests' terms (C strings, arrays indexed by enum kmqtt_stat and
 * kmqtt_limit, one entry looked up in a dump), waiting for asynchronous
 * state and events, and raw requests that the client never sends (another
 * genlmsghdr version, attributes a command does not take).
 * Functions return 0 or -errno; an errno the kernel answered with is
 * returned as is (e.g. -EPERM), so tests can assert on it.
 */
#ifndef KMQTT_TEST_GENL_H
#define KMQTT_TEST_GENL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kmqtt.h>

#include "kmqtt_nl.h"

/* An AUTH event (re-authentication), its data copied. */
struct kmqtt_genl_auth {
	uint64_t conn_id;
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	uint8_t reason;
	bool has_data;
	uint8_t data[KMQTT_AUTH_DATA_MAX];
	size_t data_len;
};

struct kmqtt_genl {
	struct kmqtt_nl nl;
	/* The last AUTH event, until kmqtt_genl_wait_auth() takes it. */
	struct kmqtt_genl_auth auth;
	bool auth_seen;
	/*
	 * CONN_CLOSED events read from nl.events (one read drains the
	 * socket) that no wait has reached yet.
	 */
	struct kmqtt_nl_closed *closed;
	size_t closed_count, closed_room;
};

struct kmqtt_attach_req {
	int fd;
	const char *client_id;
	uint8_t proto_level;
	uint16_t keepalive;
	bool clean_session;
	/* KMQTT_A_PENDING: bytes "read" after CONNECT, when pending_len. */
	const void *pending;
	size_t pending_len;
	/* The will, when will_topic is set. */
	const char *will_topic;
	const char *will_payload;
	uint8_t will_qos;
	/* KMQTT_A_ACL with these rules, when acl_count. */
	const struct acl_rule *acl;
	size_t acl_count;
	const char *mount_point;	/* KMQTT_A_MOUNT_POINT when set */
	/* proto_level 5: as struct kmqtt_nl_attach has them. */
	uint32_t session_expiry;
	uint16_t receive_max;
	uint32_t max_packet_out;
	uint16_t topic_alias_max;
	uint32_t will_delay;
	const char *auth_method;
	const void *connack_props;
	size_t connack_props_len;
	const void *will_props;
	size_t will_props_len;
	/* A bridge link's topic lines, when bridge_count. */
	const struct kmqtt_nl_bridge_topic *bridge;
	size_t bridge_count;
	/*
	 * KMQTT_A_BRIDGE_QUEUE_QOS0 (a lazy bridge's link), which the shared
	 * client does not send: an ATTACH with it goes by hand, with the
	 * fields kmqtt_genl_raw_attach() sends.
	 */
	bool bridge_queue_qos0;
	bool peer_bridge;		/* KMQTT_A_PEER_BRIDGE */
	/* MQTT over WebSocket, as struct kmqtt_nl_attach has it. */
	bool websocket;
	uint64_t ws_frame_left;
	uint32_t ws_mask;
	bool ws_continued;
};

/*
 * Without the version check of kmqtt_nl_open(), a GET_INFO that the
 * unprivileged callers of genl_perm must see refused in their tests.
 * -ENOENT, with a diagnostic, when kmqtt.ko is not loaded.
 */
int kmqtt_genl_open(struct kmqtt_genl *g);
void kmqtt_genl_close(struct kmqtt_genl *g);

int kmqtt_genl_attach(struct kmqtt_genl *g, const struct kmqtt_attach_req *req,
		      uint64_t *conn_id);
/* SET_ACL: the session of client_id gets these n rules (n > 0). */
int kmqtt_genl_set_acl(struct kmqtt_genl *g, const char *client_id,
		       const struct acl_rule *acl, size_t n);
/* stats[KMQTT_STAT_x]; counters absent from the reply stay 0. */
int kmqtt_genl_get_info(struct kmqtt_genl *g,
			uint64_t stats[KMQTT_STAT_MAX + 1]);
/* One counter of GET_INFO's totals. */
int kmqtt_genl_get_stat(struct kmqtt_genl *g, enum kmqtt_stat id,
			uint64_t *value);
/*
 * Poll GET_INFO until counter id is in [lo, hi) (closes and frees are
 * asynchronous): 0, -ETIMEDOUT after timeout_ms, or GET_INFO's error.
 * *value is the last value read.
 */
int kmqtt_genl_wait_stat(struct kmqtt_genl *g, enum kmqtt_stat id,
			 uint64_t lo, uint64_t hi, int timeout_ms,
			 uint64_t *value);
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
 * asynchronous): 0, -ETIMEDOUT after timeout_ms, or the dump's error.
 */
int kmqtt_genl_wait_session(struct kmqtt_genl *g, const char *client_id,
			    enum kmqtt_session_state state, int timeout_ms);

/* Listen to the events group (kmqtt_nl_subscribe()): -EPERM unprivileged. */
int kmqtt_genl_join_events(struct kmqtt_genl *g);
/*
 * Wait for CONN_CLOSED of conn_id on a joined handle: 0 or -ETIMEDOUT.
 * Events of other connections read on the way are dropped.
 */
int kmqtt_genl_wait_closed(struct kmqtt_genl *g, uint64_t conn_id,
			   int timeout_ms, struct kmqtt_nl_closed *ev);
/* The same for a connection of client_id, whose id the test never learnt. */
int kmqtt_genl_wait_closed_client(struct kmqtt_genl *g, const char *client_id,
				  int timeout_ms, struct kmqtt_nl_closed *ev);
/* The next CONN_CLOSED event, of any connection: 0 or -ETIMEDOUT. */
int kmqtt_genl_next_closed(struct kmqtt_genl *g, int timeout_ms,
			   struct kmqtt_nl_closed *ev);
/* The next AUTH event on a joined handle: 0 or -ETIMEDOUT. */
int kmqtt_genl_wait_auth(struct kmqtt_genl *g, int timeout_ms,
			 struct kmqtt_genl_auth *ev);

/* The connection of client_id in the GET_CONN dump: 0, or -ENOENT. */
int kmqtt_genl_find_conn(struct kmqtt_genl *g, const char *client_id,
			 uint64_t *conn_id);
/* The same, and its counters (GET_CONN's KMQTT_A_STATS) into stats. */
int kmqtt_genl_conn_stats(struct kmqtt_genl *g, const char *client_id,
			  uint64_t stats[KMQTT_STAT_MAX + 1]);
/*
 * The counters of open connection conn_id (GET_CONN: subscriptions,
 * messages and bytes in and out, dropped): 0 or -ENOENT.
 */
int kmqtt_genl_get_conn_stats(struct kmqtt_genl *g, uint64_t conn_id,
			      uint64_t stats[KMQTT_STAT_MAX + 1]);
/* The connection of client_id's session: 0, or -ENOENT when offline. */
int kmqtt_genl_session_conn_id(struct kmqtt_genl *g, const char *client_id,
			       uint64_t *conn_id);
/*
 * The options of client_id's subscription to filter, as GET_SUBSCRIPTION
 * shows them: 0, or -ENOENT when it has none.
 */
int kmqtt_genl_sub_options(struct kmqtt_genl *g, const char *client_id,
			   const char *filter, uint8_t *options);
/*
 * How many entries of a dump (KMQTT_CMD_GET_CONN, GET_SESSION or
 * GET_SUBSCRIPTION) carry this client id.
 */
int kmqtt_genl_dump_count(struct kmqtt_genl *g, uint8_t cmd,
			  const char *client_id, size_t *n);

/*
 * Raw requests, for what the client never sends: another genlmsghdr
 * version, attributes a command does not take.  Each goes out on a
 * netlink socket of its own, opened in the caller's network namespace of
 * the moment, with NETLINK_EXT_ACK.
 */
struct kmqtt_genl_ack {
	int err;		/* 0, or the -errno the kernel answered */
	char msg[256];		/* its extended ack message, "" without one */
	unsigned int replies;	/* messages before the ack or NLMSG_DONE */
};

/*
 * Send cmd with genlmsghdr.version set to version, nlflags (NLM_F_ACK
 * for a doit, NLM_F_DUMP for a dump) and len bytes of encoded attributes,
 * and read the answer into *ack: 0 once it ended, -errno when it could not
 * be sent or did not end within 5 s.
 */
int kmqtt_genl_raw_request(int family, uint8_t cmd, uint8_t version,
			   uint16_t nlflags, const void *attrs, size_t len,
			   struct kmqtt_genl_ack *ack);
/* ATTACH of req the same way, with this genlmsghdr version. */
int kmqtt_genl_raw_attach(int family, uint8_t version,
			  const struct kmqtt_attach_req *req,
			  struct kmqtt_genl_ack *ack);

/* A GET_SESSION message as the module sent it. */
struct kmqtt_genl_session {
	struct kmqtt_nl_session s;
	bool multi;			/* NLM_F_MULTI, a dump's */
	bool has_offline_for;
	bool has_stat[KMQTT_STAT_MAX + 1];	/* which STATS it carried */
};

/*
 * GET_SESSION's doit for client_id, by hand (the shared client has only
 * the dump): the module's answer, 0 or its -errno (-ENOENT: no such
 * session), with its reply in *s and the rest in *ack.
 */
int kmqtt_genl_session_doit(struct kmqtt_genl *g, const char *client_id,
			    struct kmqtt_genl_session *s,
			    struct kmqtt_genl_ack *ack);

/*
 * SET_SESSION of an offline session of client_id that expires after
 * expiry seconds, with KMQTT_A_BRIDGE_LINK bridge_link, by hand: the
 * module's answer, 0 or its -errno, the rest in *ack.
 */
int kmqtt_genl_set_bridge_session(struct kmqtt_genl *g, const char *client_id,
				  uint32_t expiry, uint8_t bridge_link,
				  struct kmqtt_genl_ack *ack);

/*
 * Publish @payload on @topic as the broker itself (KMQTT_CMD_PUBLISH, as
 * kmqttd's $SYS tree does), at @qos, retained when @retain: 0 or -errno,
 * g->nl.error saying why.
 */
int kmqtt_genl_publish(struct kmqtt_genl *g, const char *topic,
		       const char *payload, uint8_t qos, bool retain);

#endif
