/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT over WebSocket (RFC 6455, MQTT 3.1.1 and 5.0 chapter 6): the agent
 * does the opening handshake and reads the frames that carry CONNECT;
 * from there on the connection's bytes pass through here.  The client's
 * frames are unmasked into the receive buffer as they are read; what is
 * sent goes out in binary frames, one per sendmsg batch, which MQTT
 * allows: a frame may hold several packets, or part of one.
 */
#ifndef _KMQTT_WEBSOCKET_H
#define _KMQTT_WEBSOCKET_H

#include <linux/types.h>
#include <linux/uio.h>

#include "ws_frame.h"

struct kmqtt_conn;

/* Where the agent left the client's frames (ATTACH). */
struct kmqtt_ws_params {
	u64 frame_left;		/* of the data frame under way; 0: none */
	u32 mask;		/* its masking key, turned to the next byte */
	bool continued;		/* a continuation frame comes next */
};

/* Transmit side, tx_work only: the frame being sent. */
struct kmqtt_ws_tx {
	u8 hdr[KMQTT_WS_SEND_HDR_MAX];
	u8 hdr_len;
	u8 hdr_sent;
	u64 left;		/* its payload bytes not sent yet */
};

struct kmqtt_ws {
	struct kmqtt_ws_rx rx;	/* rx_work only */
	/*
	 * rx_work only: why reading ended, once the packets before it are
	 * handled: -ESHUTDOWN, the client's Close; a violation's or a
	 * pong's error.  0: it goes on.
	 */
	int stop;
	/*
	 * rx_work only: the status code of the client's Close, answered in
	 * ours; 0: it had none, nor has ours.
	 */
	u16 close_echo;
	bool peer_closed;	/* rx_work only: the client sent Close */
	struct kmqtt_ws_tx tx;
};

/* Set @conn up to speak WebSocket from where the agent left off. */
int kmqtt_ws_init(struct kmqtt_conn *conn,
		  const struct kmqtt_ws_params *params);
void kmqtt_ws_free(struct kmqtt_conn *conn);

/*
 * Take @len bytes the client sent, at @buf: its frames' payload goes to
 * the front of @buf, unmasked, and a ping is answered.  Returns the MQTT
 * bytes now at @buf, those before a Close or a bad frame too, which
 * set conn->ws->stop and end the reading.
 */
u32 kmqtt_ws_receive(struct kmqtt_conn *conn, u8 *buf, u32 len);

/*
 * Frame what @vec is about to send: *@n iovecs from vec[1] on, *@len
 * bytes; vec[0] is for the frame header.  A frame of *@len bytes opens,
 * unless one is being sent: @vec is then cut to its end.  @raw entries
 * are whole frames already, sent as they are.  Returns the first iovec
 * to send; *@n and *@len count from it.
 */
struct kvec *kmqtt_ws_frame(struct kmqtt_conn *conn, struct kvec *vec,
			    size_t *n, size_t *len, bool raw);
/* @sent bytes of what kmqtt_ws_frame() gave went out: the payload's. */
size_t kmqtt_ws_sent(struct kmqtt_conn *conn, size_t sent);
/* Between frames: nothing half sent. */
bool kmqtt_ws_idle(const struct kmqtt_conn *conn);

/*
 * A Close frame's status code for how @conn closes (RFC 6455 7.4.1), 0
 * for none; after rx_work.
 */
u16 kmqtt_ws_close_code(const struct kmqtt_conn *conn);

#endif /* _KMQTT_WEBSOCKET_H */
