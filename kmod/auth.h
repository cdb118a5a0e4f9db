/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT 5.0 re-authentication (4.12.1): the module relays a client's AUTH
 * packets to the agent, which runs the method, and sends the agent's
 * answers back.  Only a client that authenticated with a method at
 * CONNECT may send AUTH; one exchange at a time, and the client and the
 * agent take turns.
 */
#ifndef _KMQTT_AUTH_H
#define _KMQTT_AUTH_H

#include <linux/types.h>

struct kmqtt_conn;
struct work_struct;
struct kmqtt_fixed_hdr;

/* Whose turn it is in a connection's exchange (conn->auth_turn). */
enum kmqtt_auth_turn {
	KMQTT_AUTH_NONE,	/* no exchange: the client may start one */
	KMQTT_AUTH_AGENT,	/* the agent has the client's last AUTH */
	KMQTT_AUTH_CLIENT,	/* the client was sent AUTH 0x18 */
};

/* An AUTH from the client, in its receive work. */
int kmqtt_auth_receive(struct kmqtt_conn *conn,
		       const struct kmqtt_fixed_hdr *hdr, const u8 *body);

/*
 * The agent's answer (KMQTT_CMD_AUTH): @reason 0x00 or 0x18 sends the
 * client an AUTH with the @len bytes of @data (NULL: none), when the
 * connection waits for the agent; a DISCONNECT reason code of 0x80 or
 * above closes a connection in an exchange with it, with that code.  An
 * AUTH over the client's Maximum Packet Size, or no memory for it, closes
 * the connection too.  Returns 0, or -EINVAL when the connection is not
 * waiting for the agent or @reason is none of those, -ENOMEM.
 */
int kmqtt_auth_answer(struct kmqtt_conn *conn, u8 reason, const u8 *data,
		      u16 len);

/*
 * conn->auth_work: the agent's turn lasted the module parameter
 * auth_timeout; the client is disconnected with 0x87.
 */
void kmqtt_auth_timeout_work(struct work_struct *work);

#endif /* _KMQTT_AUTH_H */
