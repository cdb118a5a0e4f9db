/* SPDX-License-Identifier: GPL-2.0 */
/*
 * WebSocket frames (RFC 6455 5) as MQTT uses them: a client's frames
 * checked and unmasked, a server's headers written.  Portable, as codec.h:
 * the module reads frames with it after the hand-off (websocket.c), the
 * agent before (agent/websocket.c), and the unit tests in userspace.
 */
#ifndef _KMQTT_WS_FRAME_H
#define _KMQTT_WS_FRAME_H

#include <linux/types.h>

#define KMQTT_WS_OP_CONTINUATION	0x0
#define KMQTT_WS_OP_TEXT		0x1
#define KMQTT_WS_OP_BINARY		0x2
#define KMQTT_WS_OP_CLOSE		0x8
#define KMQTT_WS_OP_PING		0x9
#define KMQTT_WS_OP_PONG		0xa

/* Close status codes (7.4.1) */
#define KMQTT_WS_CLOSE_NORMAL		1000
#define KMQTT_WS_CLOSE_GOING_AWAY	1001
#define KMQTT_WS_CLOSE_PROTOCOL		1002
#define KMQTT_WS_CLOSE_POLICY		1008
#define KMQTT_WS_CLOSE_TOO_BIG		1009

/* 5.5: a control frame's payload, at most. */
#define KMQTT_WS_CONTROL_MAX		125
/* A client's header: 2 bytes, a 64-bit length, the masking key. */
#define KMQTT_WS_RECV_HDR_MAX		14
/* A server's: no key. */
#define KMQTT_WS_SEND_HDR_MAX		10

/* Where a reader of a client's frames stands. */
struct kmqtt_ws_rx {
	u8 hdr[KMQTT_WS_RECV_HDR_MAX];	/* a header being read */
	u8 hdr_len;
	bool in_frame;			/* its header was read: payload next */
	u8 opcode;			/* of that frame */
	u64 left;			/* its payload bytes not read */
	u8 mask[4];			/* its key, turned to the next byte */
	bool continued;			/* a data message lacks its last frame */
	u8 control[KMQTT_WS_CONTROL_MAX];	/* a control frame's payload */
	u8 control_len;
};

/* Header bytes the reader lacks, outside a frame; 0: complete, or refused. */
u8 kmqtt_ws_hdr_missing(const struct kmqtt_ws_rx *rx);

/*
 * rx->hdr is complete: check it and start its frame.  Returns NULL, or
 * why the client broke the protocol.
 */
const char *kmqtt_ws_frame_start(struct kmqtt_ws_rx *rx);

/*
 * The status code of the client's Close in rx->control (5.5.1) into
 * *@code, 0 when its body is empty.  Returns NULL, or why the Close
 * breaks the protocol: a body of one byte, a code no endpoint may send
 * (7.4), or a reason after the code that is not UTF-8 (8.1).
 */
const char *kmqtt_ws_close_status(const struct kmqtt_ws_rx *rx, u16 *code);

/* Is the frame being read a data frame (its payload MQTT's)? */
static inline bool kmqtt_ws_data(const struct kmqtt_ws_rx *rx)
{
	return rx->opcode == KMQTT_WS_OP_BINARY ||
	       rx->opcode == KMQTT_WS_OP_CONTINUATION;
}

/*
 * Unmask @len payload bytes from @in into @out (the same, or before it)
 * and count them read.
 */
void kmqtt_ws_unmask(struct kmqtt_ws_rx *rx, u8 *out, const u8 *in, u32 len);

/* What kmqtt_ws_unframe() stopped at. */
enum kmqtt_ws_unframed {
	KMQTT_WS_USED_UP,	/* the end of the bytes given */
	KMQTT_WS_CONTROL,	/* a control frame, whole in rx->control */
	KMQTT_WS_BAD,		/* a frame the client may not send */
};

/*
 * Unframe the @len bytes at @buf from *@in on, in place: data frames'
 * payload goes to @buf + *@out, unmasked (*@out <= *@in, always).  Stops
 * after each control frame, so that the caller answers it, and at a bad
 * frame, *@why saying why.
 */
enum kmqtt_ws_unframed kmqtt_ws_unframe(struct kmqtt_ws_rx *rx, u8 *buf,
					u32 len, u32 *in, u32 *out,
					const char **why);

/* The key as ATTACH hands it: big-endian, turned to the next byte. */
u32 kmqtt_ws_mask_get(const struct kmqtt_ws_rx *rx);
void kmqtt_ws_mask_set(struct kmqtt_ws_rx *rx, u32 mask);

/* A header of @opcode with FIN for @len bytes, unmasked; its size. */
size_t kmqtt_ws_put_hdr(u8 *buf, u8 opcode, u64 len);

#endif /* _KMQTT_WS_FRAME_H */
