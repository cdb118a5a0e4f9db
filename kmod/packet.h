/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet handling: one handler per packet type a client sends after
 * CONNECT (which the agent handles).
 */
#ifndef _KMQTT_PACKET_H
#define _KMQTT_PACKET_H

#include <linux/types.h>

#include "codec.h"

struct kmqtt_conn;

/*
 * Handle the packet @hdr, @body of @conn.  Returns 0; -ENOSPC (the memory
 * limit refused conn->refused bytes) or -ENOMEM, to run it again later on
 * the same packet; -EAGAIN when the connection waits for its acks to go
 * out (ack_hold.c), which runs it again on the same packet then;
 * -EINPROGRESS when it takes more runs; or an error that
 * closes the connection (-EPROTO: the client broke the protocol, -ENOBUFS:
 * it does not read its acks).
 */
int kmqtt_packet_handle(struct kmqtt_conn *conn,
			const struct kmqtt_fixed_hdr *hdr, const u8 *body);

#endif /* _KMQTT_PACKET_H */
