/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receive: a connection's buffer, reading from the socket (with kTLS's
 * record check), framing packets and handing each to packet.c, pausing
 * the connection when the broker cannot take its packet yet.
 */
#ifndef _KMQTT_RECEIVE_H
#define _KMQTT_RECEIVE_H

#include <linux/types.h>
#include <linux/workqueue.h>

struct kmqtt_conn;

/*
 * Start the buffer with the @len bytes after CONNECT that the agent had
 * already read: 0 or -ENOMEM.
 */
int kmqtt_receive_preload(struct kmqtt_conn *conn, const u8 *bytes, u32 len);

/* conn->rx_work: read, frame and handle packets. */
void kmqtt_receive_work(struct work_struct *work);

/* Free the buffer (or keep it as this CPU's spare). */
void kmqtt_receive_free(struct kmqtt_conn *conn);

/* Free the CPUs' spare buffers, once no connection is left. */
void kmqtt_receive_exit(void);

#endif /* _KMQTT_RECEIVE_H */
