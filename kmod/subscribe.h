/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SUBSCRIBE and UNSUBSCRIBE, handled as a job sliced over receive work
 * runs, and the retained messages a new subscription sends.
 */
#ifndef _KMQTT_SUBSCRIBE_H
#define _KMQTT_SUBSCRIBE_H

#include <linux/types.h>

#include "codec.h"

struct kmqtt_conn;

/*
 * Handle the SUBSCRIBE (@subscribe) or UNSUBSCRIBE @hdr, @body, or go on
 * with it: returns as kmqtt_packet_handle() does.
 */
int kmqtt_subscribe_handle(struct kmqtt_conn *conn,
			   const struct kmqtt_fixed_hdr *hdr, const u8 *body,
			   bool subscribe);

/* Abandon a job half done; the connection is going away. */
void kmqtt_subscribe_free(struct kmqtt_conn *conn);

#endif /* _KMQTT_SUBSCRIBE_H */
