// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT over WebSocket on a connection: the client's frames (ws_frame.c)
 * unmasked into the receive buffer, where MQTT's own framing and limits
 * apply as on TCP, its pings answered; what is sent framed.
 */

#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/kmqtt.h>
#include <kmqtt/mqtt.h>

#include "conn.h"
#include "send.h"
#include "websocket.h"

int kmqtt_ws_init(struct kmqtt_conn *conn,
		  const struct kmqtt_ws_params *params)
{
	struct kmqtt_ws *ws = kzalloc(sizeof(*ws), GFP_KERNEL);

	if (!ws)
		return -ENOMEM;
	ws->rx.continued = params->continued;
	if (params->frame_left) {
		ws->rx.in_frame = true;
		ws->rx.left = params->frame_left;
		ws->rx.opcode = KMQTT_WS_OP_BINARY;
		kmqtt_ws_mask_set(&ws->rx, params->mask);
	}
	conn->ws = ws;
	return 0;
}

void kmqtt_ws_free(struct kmqtt_conn *conn)
{
	kfree(conn->ws);
}

u16 kmqtt_ws_close_code(const struct kmqtt_conn *conn)
{
	switch (READ_ONCE(conn->close_reason)) {
	case KMQTT_CLOSE_PROTOCOL:
		return KMQTT_WS_CLOSE_PROTOCOL;
	case KMQTT_CLOSE_SHUTDOWN:
	case KMQTT_CLOSE_TAKEOVER:
		return KMQTT_WS_CLOSE_GOING_AWAY;
	case KMQTT_CLOSE_AUTH:
	case KMQTT_CLOSE_ADMIN:
		return KMQTT_WS_CLOSE_POLICY;
	case KMQTT_CLOSE_OVERFLOW:
	case KMQTT_CLOSE_NOMEM:
		return KMQTT_WS_CLOSE_TOO_BIG;
	case KMQTT_CLOSE_PEER:
		/* rx_work, which set it, is over. */
		return conn->ws->close_echo;
	default:
		return KMQTT_WS_CLOSE_NORMAL;
	}
}

/* The client's Close: its status code is echoed (5.5.1), if it may be sent. */
static int kmqtt_ws_closed(struct kmqtt_conn *conn)
{
	struct kmqtt_ws *ws = conn->ws;
	const char *why = kmqtt_ws_close_status(&ws->rx, &ws->close_echo);

	ws->peer_closed = true;
	if (why) {
		ws->close_echo = 0;
		return kmqtt_conn_violation(conn, MQTT_RC_MALFORMED_PACKET, why);
	}
	return -ESHUTDOWN;
}

u32 kmqtt_ws_receive(struct kmqtt_conn *conn, u8 *buf, u32 len)
{
	struct kmqtt_ws *ws = conn->ws;
	u32 in = 0, out = 0;
	const char *why;

	while (!ws->stop) {
		switch (kmqtt_ws_unframe(&ws->rx, buf, len, &in, &out, &why)) {
		case KMQTT_WS_USED_UP:
			return out;
		case KMQTT_WS_BAD:
			ws->stop = kmqtt_conn_violation(conn,
							MQTT_RC_MALFORMED_PACKET,
							why);
			break;
		case KMQTT_WS_CONTROL:
			if (ws->rx.opcode == KMQTT_WS_OP_PING)
				ws->stop = kmqtt_send_ws_control(conn,
								 KMQTT_WS_OP_PONG,
								 ws->rx.control,
								 ws->rx.control_len);
			else if (ws->rx.opcode == KMQTT_WS_OP_CLOSE)
				ws->stop = kmqtt_ws_closed(conn);
			break;
		}
	}
	return out;
}

struct kvec *kmqtt_ws_frame(struct kmqtt_conn *conn, struct kvec *vec,
			    size_t *n, size_t *len, bool raw)
{
	struct kmqtt_ws_tx *tx = &conn->ws->tx;
	size_t i, total = 0;

	if (tx->hdr_sent == tx->hdr_len && !tx->left) {
		/* Between frames: this batch is the next one. */
		tx->hdr_len = raw ? 0 : kmqtt_ws_put_hdr(tx->hdr,
							 KMQTT_WS_OP_BINARY,
							 *len);
		tx->hdr_sent = 0;
		tx->left = *len;
	}
	/* Not past the frame under way: its header said how long it is. */
	for (i = 1; i <= *n && total < tx->left; i++) {
		if (vec[i].iov_len > tx->left - total)
			vec[i].iov_len = tx->left - total;
		total += vec[i].iov_len;
	}
	*n = i - 1;
	*len = total;
	if (tx->hdr_sent == tx->hdr_len)
		return vec + 1;
	vec[0].iov_base = tx->hdr + tx->hdr_sent;
	vec[0].iov_len = tx->hdr_len - tx->hdr_sent;
	*n += 1;
	*len += vec[0].iov_len;
	return vec;
}

size_t kmqtt_ws_sent(struct kmqtt_conn *conn, size_t sent)
{
	struct kmqtt_ws_tx *tx = &conn->ws->tx;
	size_t hdr = min_t(size_t, sent, tx->hdr_len - tx->hdr_sent);

	tx->hdr_sent += hdr;
	sent -= hdr;
	tx->left -= sent;
	return sent;
}

bool kmqtt_ws_idle(const struct kmqtt_conn *conn)
{
	const struct kmqtt_ws_tx *tx = &conn->ws->tx;

	return tx->hdr_sent == tx->hdr_len && !tx->left;
}
