/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libnl client of the kmqtt generic netlink family, the one that kmqttd,
 * kmqttctl and the selftests (selftests/lib/kmqtt_genl.h) share.  The only
 * userspace code that knows attribute numbers: callers deal in plain C
 * structs.  Functions return 0 or -errno, the kernel's errno as it
 * answered (a refused dump is an error, never an empty list), with
 * nl->error saying why.
 */
#ifndef KMQTT_NL_H
#define KMQTT_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/kmqtt.h>

struct nl_sock;
struct kmqtt_nl_auth;
struct kmqtt_nl_closed;

/* One access rule of KMQTT_A_ACL (kmqttd compiles them in agent/acl.c). */
struct acl_rule {
	char *filter;		/* a valid MQTT topic filter */
	uint8_t access;		/* KMQTT_ACL_READ | _WRITE, or KMQTT_ACL_DENY */
};

/* One client's rules, in the order kmqtt.ko tries them. */
struct acl_rules {
	struct acl_rule *rule;
	size_t count;
};

typedef void (*kmqtt_nl_closed_fn)(const struct kmqtt_nl_closed *ev,
				   void *arg);
typedef void (*kmqtt_nl_auth_fn)(const struct kmqtt_nl_auth *ev, void *arg);

struct kmqtt_nl {
	struct nl_sock *sock;		/* requests and replies */
	struct nl_sock *events;		/* KMQTT_MCGRP_EVENTS, when subscribed */
	int family;
	/*
	 * genlmsghdr.version of requests: KMQTT_GENL_VERSION, which only the
	 * selftests change, to see the module refuse another.
	 */
	uint8_t version;
	kmqtt_nl_closed_fn closed_fn;
	void *closed_arg;
	kmqtt_nl_auth_fn auth_fn;	/* NULL: AUTH events are skipped */
	void *auth_arg;
	/* Why the last call failed, with the kernel's extended ack if any. */
	char error[256];
};

/* Limits (enum kmqtt_limit); only those in @mask are meaningful. */
#define KMQTT_NL_LIMIT_BIT(id)	(1u << (id))
struct kmqtt_nl_limits {
	uint32_t mask;
	uint64_t value[KMQTT_LIMIT_MAX + 1];
};

/* Totals and current limits from GET_INFO. */
struct kmqtt_nl_info {
	uint32_t version;
	/* Another value than before: the module's state was made anew. */
	uint64_t instance;
	uint64_t stats[KMQTT_STAT_MAX + 1];	/* indexed by enum kmqtt_stat */
	struct kmqtt_nl_limits limits;
};

/*
 * One topic line of a bridge link: its filters on this broker and on the
 * remote one, each starting with a prefix of the given length (no
 * wildcard in it) that a topic crossing the link has replaced by the
 * other's.
 */
struct kmqtt_nl_bridge_topic {
	uint8_t direction;		/* KMQTT_BRIDGE_IN | KMQTT_BRIDGE_OUT */
	uint8_t qos;
	const char *local;
	const char *remote;
	uint16_t local_prefix_len;
	uint16_t remote_prefix_len;
};

struct kmqtt_nl_attach {
	int fd;
	const char *client_id;
	size_t client_id_len;
	uint8_t proto_level;
	uint16_t keepalive;
	bool clean_session;
	bool will;			/* the will fields below are set */
	uint8_t will_qos;
	bool will_retain;
	const uint8_t *will_topic;
	size_t will_topic_len;
	const uint8_t *will_payload;
	size_t will_payload_len;
	/* Bytes read past the CONNECT (TLS records), for the module first. */
	const uint8_t *pending;
	size_t pending_len;
	/* Whom the client authenticated as; NULL: anonymous. */
	const char *username;
	size_t username_len;
	/* The client's access rules (agent/acl.h); NULL: everything allowed. */
	const struct acl_rules *acl;
	/* Its listener's topic prefix (mount_point); NULL: none. */
	const char *mount_point;
	size_t mount_point_len;
	/*
	 * MQTT 5.0 (proto_level 5) only, left out otherwise: the session
	 * expiry interval (always sent), the client's receive maximum and
	 * maximum packet size (0: left out), CONNACK's properties and the
	 * will's (empty: left out), each without its length.
	 */
	uint32_t session_expiry;
	uint16_t receive_max;
	uint32_t max_packet_out;
	uint16_t topic_alias_max;	/* 0: left out */
	uint32_t will_delay;		/* with @will; 0: left out */
	/* The method it authenticated with at CONNECT; NULL: left out. */
	const char *auth_method;
	const uint8_t *connack_props;
	size_t connack_props_len;
	const uint8_t *will_props;
	size_t will_props_len;
	/*
	 * A bridge link (the module is the client, the socket dialled to
	 * another broker): its topic lines; 0: a client's connection.
	 */
	const struct kmqtt_nl_bridge_topic *bridge_topics;
	size_t bridge_topics_count;
	/* Its lines' local subscriptions queue QoS 0 offline (lazy). */
	bool bridge_queue_qos0;
	/* The client is another broker's bridge (try_private): no echo. */
	bool peer_bridge;
	/*
	 * MQTT over WebSocket: the agent read the frames up to the end of
	 * CONNECT, and left @ws_frame_left payload bytes of the last one,
	 * whose masking key is @ws_mask turned to the next byte; a
	 * continuation frame comes next when @ws_continued.
	 */
	bool websocket;
	uint64_t ws_frame_left;
	uint32_t ws_mask;
	bool ws_continued;
};

struct kmqtt_nl_attached {
	uint64_t conn_id;
	bool session_present;
};

/* One connection from the GET_CONN dump. */
struct kmqtt_nl_conn {
	uint64_t id;
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	struct sockaddr_storage peer;	/* ss_family AF_UNSPEC when absent */
	uint8_t proto_level;
	uint16_t keepalive;
	bool clean_session;
	bool tls;			/* the socket runs kernel TLS */
	bool websocket;			/* MQTT over WebSocket */
	bool bridge;			/* a bridge link (the module the client) */
	uint64_t stats[KMQTT_STAT_MAX + 1];
};

/* One session from the GET_SESSION dump. */
struct kmqtt_nl_session {
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	bool clean_session;
	bool online;
	uint64_t conn_id;		/* when online */
	/* Whom the client was authenticated as, when it gave a username. */
	bool has_username;
	char username[KMQTT_USERNAME_MAX + 1];
	uint32_t session_expiry;	/* seconds, 0xffffffff: the limit's */
	uint32_t offline_for;		/* seconds, when offline */
	bool bridge;			/* its last connection a bridge link */
	uint64_t stats[KMQTT_STAT_MAX + 1];
};

/* One subscription from the GET_SUBSCRIPTION dump. */
struct kmqtt_nl_subscription {
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	const char *filter;		/* NUL-terminated, valid in the callback */
	uint8_t qos;
	uint8_t options;		/* MQTT_SUBOPT_*, as 5.0's SUBSCRIBE */
	uint32_t sub_id;		/* 5.0 Subscription Identifier, 0: none */
};

/* A KMQTT_CMD_CONN_CLOSED event. */
struct kmqtt_nl_closed {
	uint64_t conn_id;
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	uint32_t reason;		/* enum kmqtt_close_reason */
};

/*
 * Connect, resolve the family and check that the module speaks our
 * KMQTT_GENL_VERSION.  On failure nl->error says why and what to do.
 * Returns 0 or -errno (-ENOENT: module not loaded, -EPROTO: version).
 */
int kmqtt_nl_open(struct kmqtt_nl *nl);
/*
 * kmqtt_nl_open() without the version check, which is a GET_INFO: for
 * callers that must see their first request refused (no CAP_NET_ADMIN).
 */
int kmqtt_nl_connect(struct kmqtt_nl *nl);
void kmqtt_nl_close(struct kmqtt_nl *nl);

int kmqtt_nl_get_info(struct kmqtt_nl *nl, struct kmqtt_nl_info *info);

/*
 * Hand a connected socket to the module, which sends the CONNACK.
 * -EUSERS: max_connections reached, the socket is still the caller's.
 */
int kmqtt_nl_attach(struct kmqtt_nl *nl, const struct kmqtt_nl_attach *req,
		    struct kmqtt_nl_attached *reply);

/*
 * Replace the access rules of the session of @client_id (online or
 * offline) with @acl; NULL allows everything.  -ENOENT: no such session.
 */
int kmqtt_nl_set_acl(struct kmqtt_nl *nl, const char *client_id,
		     const struct acl_rules *acl);

/*
 * Close the connection of the session of @client_id (a 5.0 client is
 * told 0x98, administrative action).  -ENOENT: no such session,
 * -ENOTCONN: offline.
 */
int kmqtt_nl_disconnect(struct kmqtt_nl *nl, const char *client_id);

/* Set the limits in limits->mask; the others keep their values. */
int kmqtt_nl_set_limits(struct kmqtt_nl *nl,
			const struct kmqtt_nl_limits *limits);

/* Call @fn for each connection the module holds. */
int kmqtt_nl_dump_conns(struct kmqtt_nl *nl,
			void (*fn)(const struct kmqtt_nl_conn *conn, void *arg),
			void *arg);

/*
 * The session of @client_id into @s (its STATS with its connection's
 * MSGS_IN and MSGS_OUT when online).  -ENOENT: none.
 */
int kmqtt_nl_get_session(struct kmqtt_nl *nl, const char *client_id,
			 struct kmqtt_nl_session *s);

/* Call @fn for each stored session, online or offline. */
int kmqtt_nl_dump_sessions(struct kmqtt_nl *nl,
			   void (*fn)(const struct kmqtt_nl_session *s,
				      void *arg),
			   void *arg);

/* Call @fn for each subscription of every session. */
int kmqtt_nl_dump_subscriptions(struct kmqtt_nl *nl,
				void (*fn)(const struct kmqtt_nl_subscription *s,
					   void *arg),
				void *arg);

/*
 * Call @fn with the inbound QoS 2 packet ids of persistent sessions
 * (received, not released), a session's in one or more calls; @ids is
 * valid during the call only.
 */
int kmqtt_nl_dump_session_qos2(struct kmqtt_nl *nl,
			       void (*fn)(const char *client_id,
					  const uint16_t *ids, size_t n,
					  void *arg),
			       void *arg);

/*
 * Mark the @n packet ids @ids received in the offline session of
 * @client_id, for a snapshot.  -ENOENT: no such session; -EBUSY: online.
 */
int kmqtt_nl_set_session_qos2(struct kmqtt_nl *nl, const char *client_id,
			      const uint16_t *ids, size_t n);

/*
 * Make the offline session @s (client_id, session_expiry, offline_for,
 * the username if it has one, and whether it is a bridge's), for a
 * snapshot or a lazy bridge, in place of an offline one of the client
 * id.  -EBUSY: the client id's is online.
 */
int kmqtt_nl_set_session(struct kmqtt_nl *nl,
			 const struct kmqtt_nl_session *s);

/*
 * Give the session of s->client_id the subscription @s (filter, options,
 * sub_id), for a snapshot.  -ENOENT: no such session; -ENOSPC: a limit.
 */
int kmqtt_nl_set_subscription(struct kmqtt_nl *nl,
			      const struct kmqtt_nl_subscription *s);

/*
 * Give the offline session of @client_id, a bridge's, the subscriptions
 * a link's ATTACH with these @count (at least 1) topic lines gives: their
 * out lines' local filters (QoS 0 queued too when @queue_qos0), and no
 * other.  -ENOENT: no such session; -EEXIST: a client's; -EBUSY: online;
 * -ENOSPC: a limit; -EINVAL: lines ATTACH would refuse.
 */
int kmqtt_nl_set_bridge_subscriptions(struct kmqtt_nl *nl,
				      const char *client_id,
				      const struct kmqtt_nl_bridge_topic *topics,
				      size_t count, bool queue_qos0);

/*
 * An application message as the module stores it (KMQTT_A_MSG_DATA in
 * linux/kmqtt.h: topic length and topic, property length and the
 * properties passed on, payload), for snapshots.
 */
struct kmqtt_nl_msg {
	uint8_t qos;
	uint32_t expiry;		/* 5.0: seconds it has left, 0: none */
	const uint8_t *data;		/* in a dump: valid in the callback */
	size_t len;
};

/*
 * Call @fn for each retained message, whole.  -EPROTO: the parts of a
 * message did not add up.
 */
int kmqtt_nl_dump_retained(struct kmqtt_nl *nl,
			   void (*fn)(const struct kmqtt_nl_msg *m, void *arg),
			   void *arg);

/*
 * Store @m as the retained message of its topic.  -EINVAL: not a
 * message; -ENOSPC: a retained or the memory limit.
 */
int kmqtt_nl_set_retained(struct kmqtt_nl *nl, const struct kmqtt_nl_msg *m);

/* What ACK_HOLD tells: are acks held, and the number of the last one. */
struct kmqtt_nl_ack_hold {
	bool hold;
	uint64_t seq;
};

/*
 * Acks held until saved: hold them from now on (@hold 1), or send all
 * and hold no more (0; -1: leave it), and send those numbered up to
 * @saved (0: none), which a save that began after a reply gave that
 * number holds.
 */
int kmqtt_nl_ack_hold(struct kmqtt_nl *nl, int hold, uint64_t saved,
		      struct kmqtt_nl_ack_hold *out);

/*
 * Publish @m (its payload may be empty) as the broker itself, retained
 * when @retain: bridge notifications, $SYS topics.
 */
int kmqtt_nl_publish(struct kmqtt_nl *nl, const struct kmqtt_nl_msg *m,
		     bool retain);

/*
 * A message on its way to a persistent session, for snapshots: m.qos is
 * the delivery's.  In flight when it has a packet id, else queued.
 */
struct kmqtt_nl_session_msg {
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	struct kmqtt_nl_msg m;
	bool retain;
	uint16_t packet_id;		/* 0: queued */
	bool released;			/* QoS 2: PUBREL owed */
	uint8_t n_sub_ids;
	uint32_t sub_ids[KMQTT_SUB_IDS_MAX];
	/* Not a delivery: the session's will, due in @will_delay seconds. */
	bool will;
	uint32_t will_delay;
};

/*
 * Call @fn for each message on its way to a persistent session, whole:
 * per session in flight then queued, each in its order, then its will
 * that has not gone out.  -EPROTO: the parts of a message did not add
 * up.
 */
int kmqtt_nl_dump_session_msgs(struct kmqtt_nl *nl,
			       void (*fn)(const struct kmqtt_nl_session_msg *sm,
					  void *arg),
			       void *arg);

/*
 * Append @sm to its offline session, for a snapshot.  -ENOENT: no such
 * session; -EBUSY: online; -EEXIST: its packet id is in flight;
 * -ENOSPC: a limit.
 */
int kmqtt_nl_set_session_msg(struct kmqtt_nl *nl,
			     const struct kmqtt_nl_session_msg *sm);

/*
 * A client's AUTH (re-authentication, MQTT 5.0 4.12.1) relayed by the
 * module: @data (NULL when the packet had none) is valid during the
 * callback only.
 */
struct kmqtt_nl_auth {
	uint64_t conn_id;
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	uint8_t reason;			/* 0x19 re-authenticate, 0x18 continue */
	const uint8_t *data;
	size_t data_len;
};

/*
 * Answer the last AUTH event of connection @conn_id of @client_id:
 * @reason 0x00 (success) or 0x18 (continue) goes to the client with the
 * @len bytes of @data (NULL: none); 0x80 or above disconnects it with
 * that reason.  -ENOENT: the connection is gone; -EINVAL: it was not
 * waiting for an answer.
 */
int kmqtt_nl_auth_reply(struct kmqtt_nl *nl, uint64_t conn_id,
			const char *client_id, uint8_t reason,
			const uint8_t *data, size_t len);

/* Have kmqtt_nl_events_read() pass AUTH events to @fn as well. */
void kmqtt_nl_on_auth(struct kmqtt_nl *nl, kmqtt_nl_auth_fn fn, void *arg);

/*
 * Join the events group on a second, non-blocking socket whose fd
 * kmqtt_nl_events_fd() gives for polling; kmqtt_nl_events_read() then
 * calls @fn for each queued close event.  -EPERM: no CAP_NET_ADMIN.
 */
int kmqtt_nl_subscribe(struct kmqtt_nl *nl, kmqtt_nl_closed_fn fn, void *arg);
int kmqtt_nl_events_fd(const struct kmqtt_nl *nl);
int kmqtt_nl_events_read(struct kmqtt_nl *nl);

const char *kmqtt_nl_close_reason_name(uint32_t reason);

#endif /* KMQTT_NL_H */
