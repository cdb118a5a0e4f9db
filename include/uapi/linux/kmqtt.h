/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kmqtt generic netlink ABI, shared by kmqtt.ko, kmqttd and kmqttctl.
 * Documentation/netlink/kmqtt.yaml is the reference description.
 */
#ifndef _UAPI_LINUX_KMQTT_H
#define _UAPI_LINUX_KMQTT_H

#define KMQTT_GENL_NAME		"kmqtt"
#define KMQTT_GENL_VERSION	1
#define KMQTT_MCGRP_EVENTS	"events"

/* Longest client identifier the module accepts at ATTACH. */
#define KMQTT_CLIENT_ID_MAX	256

/* Longest username ATTACH takes; the agent refuses longer ones. */
#define KMQTT_USERNAME_MAX	1024

/*
 * Highest MAX_TOPIC_LEVELS: each level of a filter is a node made in one
 * step of a SUBSCRIBE, so this bounds that step.
 */
#define KMQTT_TOPIC_LEVELS_MAX	1024

/* Longest mount point ATTACH takes (a topic prefix). */
#define KMQTT_MOUNT_POINT_MAX	1024

/* Most bytes of 5.0 CONNACK properties ATTACH takes. */
#define KMQTT_CONNACK_PROPS_MAX	4096
/* Most bytes ATTACH takes in KMQTT_A_PENDING: one TLS record's worth. */
#define KMQTT_PENDING_MAX	16384
/* An MQTT 5.0 Authentication Method (4.12), and its data per AUTH packet. */
#define KMQTT_AUTH_METHOD_MAX	256
#define KMQTT_AUTH_DATA_MAX	4096

/* Packet ids in one KMQTT_A_QOS2_IDS attribute, at most. */
#define KMQTT_QOS2_IDS_MAX	16384

/* Subscription identifiers one delivery carries, at most. */
#define KMQTT_SUB_IDS_MAX	4

/* Most bytes of one KMQTT_A_MSG_DATA attribute. */
#define KMQTT_MSG_DATA_MAX	32768

/* Topic lines of one bridge link (KMQTT_A_BRIDGE_TOPIC entries), at most. */
#define KMQTT_BRIDGE_TOPICS_MAX	256

/* Which way a bridge topic line carries messages (KMQTT_A_BRIDGE_DIRECTION). */
#define KMQTT_BRIDGE_IN		0x1	/* from the remote broker to this one */
#define KMQTT_BRIDGE_OUT	0x2	/* from this broker to the remote one */

/*
 * A subscription option of the module's own in SUB_OPTIONS (MQTT reserves
 * the bit: no client sets it): while the session is offline its QoS 0
 * messages are queued, as QoS 1 and 2 ones are, whatever the QUEUE_QOS0
 * limit says.
 */
#define KMQTT_SUBOPT_QUEUE_QOS0	0x40

/*
 * Access rules (Mosquitto ACL semantics): for a topic, the first rule whose
 * filter matches and that denies, or grants the access asked for, decides;
 * no such rule: denied.
 */
#define KMQTT_ACL_READ		0x1	/* receive messages on the topic */
#define KMQTT_ACL_WRITE		0x2	/* publish to the topic */
#define KMQTT_ACL_DENY		0x4	/* neither, whatever later rules say */
#define KMQTT_ACL_MAX_RULES	4096

enum kmqtt_cmd {
	KMQTT_CMD_UNSPEC,
	/*
	 * doit: reply carries KMQTT_A_VERSION, KMQTT_A_STATS (totals),
	 * KMQTT_A_LIMITS and KMQTT_A_INSTANCE.
	 */
	KMQTT_CMD_GET_INFO,
	/*
	 * doit: hand a connected TCP socket over to the module.
	 * Request: SOCK_FD, CLIENT_ID, PROTO_LEVEL, KEEPALIVE, CLEAN_SESSION,
	 * optionally WILL_TOPIC, WILL_PAYLOAD, WILL_QOS, WILL_RETAIN, PENDING,
	 * ACL, USERNAME, MOUNT_POINT; for MQTT 5.0 SESSION_EXPIRY,
	 * RECEIVE_MAX, MAX_PACKET_OUT, CONNACK_PROPS, WILL_PROPS,
	 * TOPIC_ALIAS_MAX, WILL_DELAY, AUTH_METHOD; over WebSocket,
	 * WEBSOCKET, WS_FRAME_LEFT, WS_MASK, WS_CONTINUED.
	 * Reply: CONN_ID, SESSION_PRESENT.  The module sends CONNACK itself.
	 */
	KMQTT_CMD_ATTACH,
	/* dump: one message per connection (CONN_ID, CLIENT_ID, PEER, ...). */
	KMQTT_CMD_GET_CONN,
	/* event on KMQTT_MCGRP_EVENTS: CONN_ID, CLIENT_ID, CLOSE_REASON. */
	KMQTT_CMD_CONN_CLOSED,
	/* doit: set any of the limits in the KMQTT_A_LIMITS nest. */
	KMQTT_CMD_SET_LIMITS,
	/*
	 * dump: one message per session, online or offline (CLIENT_ID,
	 * CLEAN_SESSION, ONLINE, CONN_ID, USERNAME, SESSION_EXPIRY,
	 * OFFLINE_FOR when offline, BRIDGE_LINK, STATS; when online, STATS
	 * has its connection's MSGS_IN and MSGS_OUT too).
	 * doit with CLIENT_ID: that session's message; -ENOENT: none.
	 */
	KMQTT_CMD_GET_SESSION,
	/* dump: one message per subscription (CLIENT_ID, FILTER, QOS). */
	KMQTT_CMD_GET_SUBSCRIPTION,
	/*
	 * doit: replace the access rules of the session of CLIENT_ID with
	 * ACL; without ACL the session is allowed everything.
	 */
	KMQTT_CMD_SET_ACL,
	/*
	 * doit: close the connection of the session of CLIENT_ID (a 5.0
	 * client is sent DISCONNECT 0x98, administrative action); its will
	 * is published, its session kept as it asked.  -ENOENT: no such
	 * session, -ENOTCONN: it is offline.
	 */
	KMQTT_CMD_DISCONNECT,
	/*
	 * MQTT 5.0 re-authentication (4.12.1) of a client attached with an
	 * AUTH_METHOD; the module relays, the agent decides.
	 * event on KMQTT_MCGRP_EVENTS: CONN_ID, CLIENT_ID, AUTH_REASON
	 * (0x19 re-authenticate, 0x18 continue), AUTH_DATA if the client's
	 * AUTH had some.  The module waits for the agent's answer before it
	 * takes another AUTH from the client (one sooner is a protocol
	 * error); without a listener the client is disconnected (0x87).
	 * doit, the agent's answer to the last event: CONN_ID, CLIENT_ID,
	 * AUTH_REASON (0x00 success and 0x18 continue go to the client in an
	 * AUTH with the method and AUTH_DATA; 0x80 or above disconnects it
	 * with that reason, also while the client has the turn).  -ENOENT:
	 * that connection is gone, -EINVAL: it is not waiting for an answer.
	 */
	KMQTT_CMD_AUTH,
	/*
	 * dump: the retained messages, for the agent's snapshot (persistence):
	 * each in one or more messages of MSG_LEN, OFFSET and MSG_DATA (a
	 * part of the message from OFFSET on), in order, with QOS and, for a
	 * 5.0 message that expires, MSG_EXPIRY.  Expired ones are left out.
	 */
	KMQTT_CMD_GET_RETAINED,
	/*
	 * doit: store a retained message from a snapshot: QOS, MSG_DATA
	 * (the whole message, in one or more attributes, in order),
	 * optionally MSG_EXPIRY.  It replaces the one of its topic, within
	 * the retained limits (-ENOSPC) and the memory limit.
	 */
	KMQTT_CMD_SET_RETAINED,
	/*
	 * doit: make an offline session from a snapshot: CLIENT_ID,
	 * SESSION_EXPIRY (its interval, MQTT_SESSION_EXPIRY_NEVER for
	 * 3.1.x), optionally OFFLINE_FOR (seconds it has been offline,
	 * which its expiry counts), USERNAME and BRIDGE_LINK (a bridge's
	 * session, allowed everything; others nothing until SET_ACL).  It
	 * replaces an offline session of the client id; -EBUSY: that one
	 * is online.
	 */
	KMQTT_CMD_SET_SESSION,
	/*
	 * doit: give a session a subscription from a snapshot: CLIENT_ID,
	 * FILTER (with its mount point, a shared one as "$share/G/F"),
	 * SUB_OPTIONS, optionally SUB_ID.  It replaces one of the same
	 * filter.  No retained message is sent.  -ENOENT: no such session;
	 * -ENOSPC: a subscription limit or the memory limit.
	 */
	KMQTT_CMD_SET_SUBSCRIPTION,
	/*
	 * dump: the messages on their way to persistent sessions, for a
	 * snapshot: per session in flight then queued, each in its order,
	 * in parts as GET_RETAINED has them, with CLIENT_ID, QOS (the
	 * delivery's), RETAIN, PACKET_ID and RELEASED when in flight, and
	 * SUB_IDS when it carries subscription identifiers; then the will
	 * that has not gone out, with WILL_DELAY (seconds left).
	 */
	KMQTT_CMD_GET_SESSION_MSG,
	/*
	 * doit: append a message from a snapshot to an offline session:
	 * CLIENT_ID, QOS, RETAIN, MSG_DATA (all parts), optionally
	 * MSG_EXPIRY, PACKET_ID (in flight; absent: queued), RELEASED,
	 * SUB_IDS; or WILL_DELAY: the session's will, due in that many
	 * seconds.  -ENOENT: no such session, -EBUSY: it is online,
	 * -EEXIST: the packet id is in flight, -ENOSPC: a limit.
	 */
	KMQTT_CMD_SET_SESSION_MSG,
	/*
	 * dump: the inbound QoS 2 packet ids of persistent sessions,
	 * received and not yet released (PUBREL), for a snapshot: CLIENT_ID
	 * and QOS2_IDS, in as many messages as a session's take.
	 */
	KMQTT_CMD_GET_SESSION_QOS2,
	/*
	 * doit: mark packet ids of an offline session received, from a
	 * snapshot: CLIENT_ID, QOS2_IDS.  -ENOENT: no such session, -EBUSY:
	 * it is online.
	 */
	KMQTT_CMD_SET_SESSION_QOS2,
	/*
	 * doit: publish a message as the broker itself (bridge
	 * notifications, $SYS topics): QOS, MSG_DATA (as SET_RETAINED has
	 * it; the payload may be empty), optionally RETAIN and MSG_EXPIRY.
	 * Every matching subscription gets it, no client's rules apply; a
	 * retained one replaces, or empty clears, the one of its topic.
	 * -ENOSPC: the memory limit, nothing delivered.  Delivered, but not
	 * stored: -EOPNOTSUPP (RETAIN_AVAILABLE 0), -ENOSPC (a retained
	 * limit).
	 */
	KMQTT_CMD_PUBLISH,
	/*
	 * doit: acks held until saved (Documentation/persistence.rst).
	 * While HOLD_ACKS is 1, the PUBACK or PUBREC of every QoS 1/2
	 * PUBLISH is numbered once its message is taken, and waits until a
	 * request says that a save holds it.  Request, all optional:
	 * HOLD_ACKS (1: hold from now on; 0: send those held, hold no more),
	 * ACK_SEQ (a save that began after a reply gave this number holds
	 * everything up to it: those acks go out).  Reply: HOLD_ACKS, and
	 * ACK_SEQ, the number of the last ack held.  -EINVAL: an ACK_SEQ
	 * past it.
	 */
	KMQTT_CMD_ACK_HOLD,
	/*
	 * doit: give the offline session of CLIENT_ID, a bridge's, the
	 * subscriptions a link's ATTACH with BRIDGE (and
	 * BRIDGE_QUEUE_QOS0) gives: the local filters of its out lines, and
	 * no other, so that only what its lines carry waits in it between a
	 * lazy bridge's links.  -ENOENT: no such session; -EEXIST: a
	 * client's, not a bridge's; -EBUSY: online; -ENOSPC: a subscription
	 * limit or the memory limit; -EINVAL: lines ATTACH would refuse.
	 */
	KMQTT_CMD_SET_BRIDGE_SUBSCRIPTIONS,

	__KMQTT_CMD_MAX,
};
#define KMQTT_CMD_MAX (__KMQTT_CMD_MAX - 1)

enum kmqtt_attr {
	KMQTT_A_UNSPEC,
	KMQTT_A_PAD,
	KMQTT_A_VERSION,	/* u32: KMQTT_GENL_VERSION of the module */
	KMQTT_A_SOCK_FD,	/* u32: connected TCP socket of the caller */
	KMQTT_A_CONN_ID,	/* u64: connection id assigned by the module */
	KMQTT_A_CLIENT_ID,	/* binary: 1..KMQTT_CLIENT_ID_MAX bytes */
	KMQTT_A_PROTO_LEVEL,	/* u8: 3 (MQTT 3.1), 4 (3.1.1) or 5 (5.0) */
	KMQTT_A_KEEPALIVE,	/* u16: seconds, 0 disables the timer */
	KMQTT_A_CLEAN_SESSION,	/* u8: 0 or 1 */
	KMQTT_A_CLOSE_REASON,	/* u32: enum kmqtt_close_reason */
	KMQTT_A_PEER,		/* binary: struct sockaddr_in or sockaddr_in6 */
	KMQTT_A_STATS,		/* nested: enum kmqtt_stat */
	KMQTT_A_SESSION_PRESENT,	/* u8: ATTACH resumed a stored session */
	KMQTT_A_WILL_TOPIC,	/* binary: valid topic name, 1..65535 bytes */
	KMQTT_A_WILL_PAYLOAD,	/* binary: 0..65535 bytes */
	KMQTT_A_WILL_QOS,	/* u8: 0..2 */
	KMQTT_A_WILL_RETAIN,	/* u8: 0 or 1 */
	KMQTT_A_LIMITS,		/* nested: enum kmqtt_limit */
	KMQTT_A_FILTER,		/* binary: a topic filter */
	KMQTT_A_QOS,		/* u8: granted QoS of a subscription */
	KMQTT_A_ONLINE,		/* u8: the session has a connection */
	/*
	 * binary: bytes after CONNECT that the agent already read (a TLS
	 * record may carry more than CONNECT); handled before the socket's.
	 */
	KMQTT_A_PENDING,
	/*
	 * nested: the client's access rules, KMQTT_A_ACL_RULE entries in the
	 * order they are tried.  Absent: everything is allowed.
	 */
	KMQTT_A_ACL,
	KMQTT_A_ACL_RULE,	/* nested: FILTER and ACL_ACCESS */
	KMQTT_A_ACL_ACCESS,	/* u8: KMQTT_ACL_* */
	KMQTT_A_TLS,		/* u8: the socket runs kernel TLS */
	/*
	 * binary: 0..KMQTT_USERNAME_MAX bytes, the name the agent
	 * authenticated the client as; kept with the session so that a
	 * restarted agent compiles its access rules for the same user.
	 */
	KMQTT_A_USERNAME,
	/*
	 * binary: 1..KMQTT_MOUNT_POINT_MAX bytes of topic prefix (Mosquitto's
	 * mount_point) of the connection's listener.  The client's topics and
	 * filters are taken as the prefix followed by theirs; topics it is
	 * sent have the prefix removed.
	 */
	KMQTT_A_MOUNT_POINT,
	/*
	 * u32, MQTT 5.0 (PROTO_LEVEL 5) only: seconds the session outlives
	 * the connection (its session expiry interval, capped by the agent;
	 * 0xffffffff: until the operator's SESSION_EXPIRY limit).
	 * CLEAN_SESSION is then 5.0's Clean Start.  Absent: 0 with
	 * CLEAN_SESSION, else 0xffffffff, as MQTT 3.1.1 has it.
	 */
	KMQTT_A_SESSION_EXPIRY,
	/* u16, 5.0: the client's Receive Maximum; absent: 65535. */
	KMQTT_A_RECEIVE_MAX,
	/*
	 * u32, 5.0: the client's Maximum Packet Size; a message larger than
	 * that is not sent to it (dropped, counted).  Absent: no limit.
	 */
	KMQTT_A_MAX_PACKET_OUT,
	/*
	 * binary, 5.0: the properties the module's CONNACK carries, as they
	 * go on the wire without their length (the agent chose them: limits,
	 * assigned client identifier...), at most KMQTT_CONNACK_PROPS_MAX.
	 */
	KMQTT_A_CONNACK_PROPS,
	/*
	 * binary, 5.0: the will's properties as its PUBLISH carries them
	 * (payload format, message expiry, content type, response topic,
	 * correlation data, user properties), without their length.
	 */
	KMQTT_A_WILL_PROPS,
	/*
	 * u16, 5.0: the Topic Alias Maximum CONNACK announced, the aliases
	 * the client may set (1..this); absent or 0: none.
	 */
	KMQTT_A_TOPIC_ALIAS_MAX,
	/*
	 * u32, 5.0, with a will: its Will Delay Interval in seconds; the will
	 * waits that long, or until the session ends, and is not published
	 * if a new connection takes the session meanwhile.  Absent: 0.
	 */
	KMQTT_A_WILL_DELAY,
	/*
	 * binary, 5.0: 1..KMQTT_AUTH_METHOD_MAX bytes, the Authentication
	 * Method the client authenticated with at CONNECT.  Absent: an AUTH
	 * from the client is a protocol error (4.12).
	 */
	KMQTT_A_AUTH_METHOD,
	KMQTT_A_AUTH_REASON,	/* u8: an AUTH packet's reason code */
	/* binary: 0..KMQTT_AUTH_DATA_MAX bytes of Authentication Data */
	KMQTT_A_AUTH_DATA,
	/* u32, 5.0: a subscription's identifier; absent: none */
	KMQTT_A_SUB_ID,
	/*
	 * u8: a subscription's options, as 5.0's SUBSCRIBE has them (QoS,
	 * No Local, Retain As Published, Retain Handling), and
	 * KMQTT_SUBOPT_QUEUE_QOS0
	 */
	KMQTT_A_SUB_OPTIONS,
	/*
	 * binary: an application message as the module stores it, the
	 * body of a PUBLISH without its packet id: 16-bit topic length,
	 * topic, property length (a variable byte integer), 5.0 properties
	 * (those passed on as they are; 3.1.x: none), payload.  At most
	 * KMQTT_MSG_DATA_MAX bytes per attribute; a message takes as many
	 * as it needs.
	 */
	KMQTT_A_MSG_DATA,
	KMQTT_A_MSG_LEN,	/* u32: bytes of the whole message */
	KMQTT_A_OFFSET,		/* u32: where in it a MSG_DATA part begins */
	/* u32, 5.0: seconds left of the message expiry interval (1..) */
	KMQTT_A_MSG_EXPIRY,
	/*
	 * u64: random, drawn when the module's broker state of this network
	 * namespace was made; another value means the state was made anew
	 * (module reloaded) since the agent last saw it
	 */
	KMQTT_A_INSTANCE,
	/* u32: seconds an offline session has been offline */
	KMQTT_A_OFFLINE_FOR,
	KMQTT_A_PACKET_ID,	/* u16: of a message in flight */
	KMQTT_A_RETAIN,		/* u8: the PUBLISH goes with RETAIN set */
	/* u8: QoS 2 in flight, PUBREC received: PUBREL is owed */
	KMQTT_A_RELEASED,
	/*
	 * nested: the SUB_IDs a delivery carries, at most
	 * KMQTT_SUB_IDS_MAX
	 */
	KMQTT_A_SUB_IDS,
	/*
	 * binary: u16 packet ids in host byte order, at most
	 * KMQTT_QOS2_IDS_MAX of them
	 */
	KMQTT_A_QOS2_IDS,
	/*
	 * nested: ATTACH of a bridge link, a connection the agent dialled to
	 * another broker, on which the module speaks the client side; its
	 * KMQTT_A_BRIDGE_TOPIC entries, at least one
	 */
	KMQTT_A_BRIDGE,
	/*
	 * nested: one topic line: BRIDGE_DIRECTION, QOS, BRIDGE_LOCAL and
	 * BRIDGE_REMOTE, and the prefix lengths
	 */
	KMQTT_A_BRIDGE_TOPIC,
	KMQTT_A_BRIDGE_DIRECTION,	/* u8: KMQTT_BRIDGE_IN | KMQTT_BRIDGE_OUT */
	KMQTT_A_BRIDGE_LOCAL,	/* binary: the line's filter on this broker */
	KMQTT_A_BRIDGE_REMOTE,	/* binary: its filter on the remote broker */
	/*
	 * u16: bytes at the start of BRIDGE_LOCAL (BRIDGE_REMOTE) that are its
	 * prefix, no wildcard in them: a topic crossing the link has the one
	 * prefix replaced by the other
	 */
	KMQTT_A_BRIDGE_LOCAL_PREFIX,
	KMQTT_A_BRIDGE_REMOTE_PREFIX,
	/*
	 * u8: ATTACH of a client that says it is a bridge (its CONNECT's
	 * protocol version has 0x80 set, Mosquitto's try_private): its
	 * subscriptions take no local and retain as published, so that
	 * what it forwards here does not go back to it
	 */
	KMQTT_A_PEER_BRIDGE,
	/*
	 * u8: GET_CONN, the connection is a bridge link; GET_SESSION, the
	 * session's last connection was one
	 */
	KMQTT_A_BRIDGE_LINK,
	KMQTT_A_HOLD_ACKS,	/* u8: QoS 1/2 acks wait for a save */
	KMQTT_A_ACK_SEQ,	/* u64: the number of a held ack */
	/*
	 * u8: ATTACH of a bridge link: the local subscriptions of its lines
	 * going out take KMQTT_SUBOPT_QUEUE_QOS0 (a bridge started only when
	 * messages wait for it, Mosquitto's start_type lazy)
	 */
	KMQTT_A_BRIDGE_QUEUE_QOS0,
	/*
	 * u8: ATTACH, GET_CONN: the socket carries MQTT over WebSocket (RFC
	 * 6455): the agent did the opening handshake and read the frames up
	 * to the end of CONNECT; the module reads the client's frames from
	 * there and sends binary frames
	 */
	KMQTT_A_WEBSOCKET,
	/*
	 * u64, ATTACH with WEBSOCKET: payload bytes of the client's data
	 * frame the agent was reading that it did not read; absent: 0, the
	 * next byte is a frame's first
	 */
	KMQTT_A_WS_FRAME_LEFT,
	/*
	 * u32, with WS_FRAME_LEFT: that frame's masking key, turned so that
	 * its first byte (the most significant) unmasks the next payload byte
	 */
	KMQTT_A_WS_MASK,
	/*
	 * u8, ATTACH with WEBSOCKET: the client's message is fragmented and
	 * its last frame is still to come (a continuation frame is next)
	 */
	KMQTT_A_WS_CONTINUED,

	__KMQTT_A_MAX,
};
#define KMQTT_A_MAX (__KMQTT_A_MAX - 1)

/* Counters: totals in GET_INFO, per connection in GET_CONN.  All u64. */
enum kmqtt_stat {
	KMQTT_STAT_UNSPEC,
	KMQTT_STAT_PAD,
	KMQTT_STAT_CONNECTIONS,		/* open now (totals only) */
	KMQTT_STAT_CONNECTIONS_TOTAL,	/* attached since load (totals only) */
	KMQTT_STAT_SUBSCRIPTIONS,	/* active now */
	KMQTT_STAT_MSGS_IN,		/* PUBLISH packets received */
	KMQTT_STAT_MSGS_OUT,		/* PUBLISH packets queued to subscribers */
	KMQTT_STAT_MSGS_DROPPED,	/* not delivered: the DROPPED_* sum */
	KMQTT_STAT_BYTES_IN,		/* bytes received, WebSocket framing too */
	KMQTT_STAT_BYTES_OUT,		/* bytes sent, WebSocket framing too */
	KMQTT_STAT_PROTOCOL_ERRORS,	/* connections closed for a violation */
	KMQTT_STAT_SESSIONS,		/* stored now, online or offline */
	KMQTT_STAT_INFLIGHT,		/* QoS 1/2 sent, not yet acknowledged */
	KMQTT_STAT_QUEUED,		/* waiting for the window or the client */
	KMQTT_STAT_QUEUED_BYTES,
	KMQTT_STAT_RETAINED,		/* retained messages stored */
	KMQTT_STAT_RETAINED_BYTES,
	KMQTT_STAT_MEMORY,		/* bytes held (totals only) */
	KMQTT_STAT_CONNECTIONS_REFUSED,	/* ATTACH over max_connections */
	KMQTT_STAT_SESSIONS_EXPIRED,
	KMQTT_STAT_ACL_DENIED,		/* publishes, deliveries, subscriptions */
	KMQTT_STAT_PUBLISHERS_PAUSED,	/* not read now: memory (totals only) */
	/* Why messages were not delivered (totals only). */
	KMQTT_STAT_DROPPED_QUEUE_FULL,	/* a send or session queue's limit */
	KMQTT_STAT_DROPPED_NO_MEMORY,	/* the memory limit, or no memory */
	/*
	 * QoS 0 to a connection closing; a shared subscription's message
	 * an ending member handed to no other
	 */
	KMQTT_STAT_DROPPED_CLOSING,
	KMQTT_STAT_DROPPED_FANOUT,	/* subscribers past the fan-out bound */
	KMQTT_STAT_DROPPED_DENIED,	/* read access lost before it was sent */
	/* payload over MESSAGE_SIZE, or over a 5.0 client's packet size */
	KMQTT_STAT_DROPPED_TOO_LARGE,
	KMQTT_STAT_DROPPED_EXPIRED,	/* 5.0 message expiry interval passed */
	/* QoS 1/2 acks waiting for a save (ACK_HOLD; totals only) */
	KMQTT_STAT_ACKS_HELD,
	/* The data path's work, to tell what a message costs it. */
	KMQTT_STAT_RX_RUNS,		/* receive work items run */
	KMQTT_STAT_RX_READS,		/* recvmsg calls that returned bytes */
	KMQTT_STAT_TX_RUNS,		/* transmit work items run with data */
	KMQTT_STAT_TX_WRITES,		/* sendmsg and sendpage calls */
	/* of MSGS_OUT, small QoS 0 ones copied into a chunk to be sent */
	KMQTT_STAT_TX_COPIED,
	/* of MSGS_IN, messages made in the memory of the publisher's last */
	KMQTT_STAT_RX_REUSED,
	/* of MSGS_IN, fanned out with the match of the publisher's last */
	KMQTT_STAT_RX_MATCH_KEPT,
	/* of MSGS_OUT, messages whose payload the socket got from its pages */
	KMQTT_STAT_TX_ZEROCOPY,

	__KMQTT_STAT_MAX,
};
#define KMQTT_STAT_MAX (__KMQTT_STAT_MAX - 1)

enum kmqtt_close_reason {
	KMQTT_CLOSE_DISCONNECT,	/* client sent DISCONNECT */
	KMQTT_CLOSE_PEER,	/* peer closed or reset the TCP connection */
	KMQTT_CLOSE_KEEPALIVE,	/* nothing received for 1.5x keepalive */
	KMQTT_CLOSE_PROTOCOL,	/* malformed packet or protocol violation */
	KMQTT_CLOSE_OVERFLOW,	/* client does not read its control packets */
	KMQTT_CLOSE_SHUTDOWN,	/* module unload or network namespace exit */
	KMQTT_CLOSE_NOMEM,	/* out of memory for this connection */
	KMQTT_CLOSE_TAKEOVER,	/* a new connection took the session over */
	/*
	 * 5.0 client sent DISCONNECT with a reason other than 0x00 (0x04, or
	 * an error): its will is published
	 */
	KMQTT_CLOSE_DISCONNECT_WILL,
	KMQTT_CLOSE_ADMIN,	/* the operator's DISCONNECT command */
	KMQTT_CLOSE_AUTH,	/* 5.0 re-authentication failed */

	__KMQTT_CLOSE_MAX,
};

/*
 * Limits the agent sets with SET_LIMITS and reads back in GET_INFO.
 * Defaults are in Documentation/architecture.rst.
 */
enum kmqtt_limit {
	KMQTT_LIMIT_UNSPEC,
	KMQTT_LIMIT_PAD,
	KMQTT_LIMIT_MAX_CONNECTIONS,	/* u32, 0 = no limit */
	KMQTT_LIMIT_MAX_PACKET_SIZE,	/* u32, 2..268435460 */
	KMQTT_LIMIT_MAX_INFLIGHT,	/* u32, QoS 1/2 unacknowledged, 1..65534 */
	KMQTT_LIMIT_MAX_QUEUED_MESSAGES,	/* u32 per session, 0 = no limit */
	KMQTT_LIMIT_MAX_QUEUED_BYTES,	/* u64 per session, 0 = no limit */
	KMQTT_LIMIT_MAX_SUBSCRIPTIONS,	/* u32 per session */
	KMQTT_LIMIT_MAX_RETAINED,	/* u32 messages, 0 = no limit */
	KMQTT_LIMIT_MAX_RETAINED_BYTES,	/* u64, 0 = no limit */
	KMQTT_LIMIT_MEMORY,		/* u64 bytes held, 0 = no limit */
	KMQTT_LIMIT_SESSION_EXPIRY,	/* u32 seconds offline, 0 = never */
	KMQTT_LIMIT_QUEUE_QOS0,		/* u8: queue QoS 0 for offline sessions */
	KMQTT_LIMIT_RETAIN_AVAILABLE,	/* u8: 0 = retained messages refused */
	KMQTT_LIMIT_MAX_TOPIC_LEVELS,	/* u32, 1..1024 per filter or topic */
	/*
	 * u32 payload bytes of a PUBLISH, 0 = no limit (Mosquitto's
	 * message_size_limit): a larger one is acknowledged and dropped.
	 */
	KMQTT_LIMIT_MESSAGE_SIZE,

	__KMQTT_LIMIT_MAX,
};
#define KMQTT_LIMIT_MAX (__KMQTT_LIMIT_MAX - 1)

#endif /* _UAPI_LINUX_KMQTT_H */
