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

enum kmqtt_cmd {
	KMQTT_CMD_UNSPEC,
	/* doit: reply carries KMQTT_A_VERSION and KMQTT_A_STATS (totals). */
	KMQTT_CMD_GET_INFO,
	/*
	 * doit: hand a connected TCP socket over to the module.
	 * Request: SOCK_FD, CLIENT_ID, PROTO_LEVEL, KEEPALIVE, CLEAN_SESSION.
	 * Reply: CONN_ID.  The module sends CONNACK itself.
	 */
	KMQTT_CMD_ATTACH,
	/* dump: one message per connection (CONN_ID, CLIENT_ID, PEER, ...). */
	KMQTT_CMD_GET_CONN,
	/* event on KMQTT_MCGRP_EVENTS: CONN_ID, CLIENT_ID, CLOSE_REASON. */
	KMQTT_CMD_CONN_CLOSED,

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
	KMQTT_A_PROTO_LEVEL,	/* u8: 3 (MQTT 3.1) or 4 (MQTT 3.1.1) */
	KMQTT_A_KEEPALIVE,	/* u16: seconds, 0 disables the timer */
	KMQTT_A_CLEAN_SESSION,	/* u8: 0 or 1 */
	KMQTT_A_CLOSE_REASON,	/* u32: enum kmqtt_close_reason */
	KMQTT_A_PEER,		/* binary: struct sockaddr_in or sockaddr_in6 */
	KMQTT_A_STATS,		/* nested: enum kmqtt_stat */

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
	KMQTT_STAT_MSGS_DROPPED,	/* PUBLISH not delivered: queue full */
	KMQTT_STAT_BYTES_IN,		/* MQTT bytes received */
	KMQTT_STAT_BYTES_OUT,		/* MQTT bytes sent */
	KMQTT_STAT_PROTOCOL_ERRORS,	/* connections closed for a violation */

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

	__KMQTT_CLOSE_MAX,
};

#endif /* _UAPI_LINUX_KMQTT_H */
