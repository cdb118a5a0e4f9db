// SPDX-License-Identifier: GPL-2.0
/*
 * WebSocket frames.  Portable (see ws_frame.h).  A header's length may say
 * anything up to 2^63: it only counts down what is read, and nothing is
 * allocated by it.
 */
#include <linux/types.h>
#include <linux/string.h>

#include "codec.h"
#include "ws_frame.h"

#define KMQTT_WS_FIN		0x80
#define KMQTT_WS_RSV		0x70
#define KMQTT_WS_OPCODE		0x0f
#define KMQTT_WS_MASKED		0x80
#define KMQTT_WS_LEN7		0x7f
#define KMQTT_WS_LEN16		126
#define KMQTT_WS_LEN64		127

/* Big-endian, @n bytes at @p. */
static u64 kmqtt_ws_get_be(const u8 *p, u8 n)
{
	u64 v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static void kmqtt_ws_put_be(u8 *p, u64 v, u8 n)
{
	while (n--) {
		p[n] = v;
		v >>= 8;
	}
}

u8 kmqtt_ws_hdr_missing(const struct kmqtt_ws_rx *rx)
{
	u8 len7;

	if (rx->hdr_len < 2)
		return 2 - rx->hdr_len;
	/* Refused as it stands: no need to wait for the rest. */
	if (!(rx->hdr[1] & KMQTT_WS_MASKED))
		return 0;
	len7 = rx->hdr[1] & KMQTT_WS_LEN7;
	return 2 + (len7 == KMQTT_WS_LEN16 ? 2 :
		    len7 == KMQTT_WS_LEN64 ? 8 : 0) + 4 - rx->hdr_len;
}

const char *kmqtt_ws_frame_start(struct kmqtt_ws_rx *rx)
{
	u8 opcode = rx->hdr[0] & KMQTT_WS_OPCODE;
	bool fin = rx->hdr[0] & KMQTT_WS_FIN;
	u8 len7 = rx->hdr[1] & KMQTT_WS_LEN7;
	u64 len = len7;

	/* No extension was negotiated, and a client masks (5.1, 5.2). */
	if (rx->hdr[0] & KMQTT_WS_RSV)
		return "WebSocket frame with RSV bits";
	if (!(rx->hdr[1] & KMQTT_WS_MASKED))
		return "unmasked WebSocket frame";
	/* 5.2: the shortest length encoding, the top bit clear. */
	if (len7 == KMQTT_WS_LEN16) {
		len = kmqtt_ws_get_be(rx->hdr + 2, 2);
		if (len < KMQTT_WS_LEN16)
			return "WebSocket length not minimal";
	} else if (len7 == KMQTT_WS_LEN64) {
		len = kmqtt_ws_get_be(rx->hdr + 2, 8);
		if (len <= 0xffff || len >> 63)
			return "bad WebSocket 64-bit length";
	}
	switch (opcode) {
	case KMQTT_WS_OP_BINARY:
	case KMQTT_WS_OP_CONTINUATION:
		/* 5.4: a continuation only inside a fragmented message. */
		if (rx->continued ^ !opcode)
			return "WebSocket fragments out of order";
		rx->continued = !fin;
		break;
	case KMQTT_WS_OP_TEXT:
		return "WebSocket text frame (MQTT-6.0.0-1)";
	case KMQTT_WS_OP_CLOSE:
	case KMQTT_WS_OP_PING:
	case KMQTT_WS_OP_PONG:
		if (!fin || len > KMQTT_WS_CONTROL_MAX)
			return "WebSocket control frame fragmented or too long";
		rx->control_len = 0;
		break;
	default:
		return "unknown WebSocket opcode";
	}
	rx->opcode = opcode;
	rx->left = len;
	memcpy(rx->mask, rx->hdr + rx->hdr_len - 4, 4);
	rx->in_frame = true;
	rx->hdr_len = 0;
	return NULL;
}

const char *kmqtt_ws_close_status(const struct kmqtt_ws_rx *rx, u16 *code)
{
	*code = 0;
	if (!rx->control_len)
		return NULL;
	if (rx->control_len == 1)
		return "WebSocket Close with a one-byte body";
	*code = kmqtt_ws_get_be(rx->control, 2);
	/*
	 * 7.4.1 and IANA's registry up to 1014; 3000-4999 belong to
	 * libraries and applications.  1005, 1006 and 1015 stand for no
	 * code and are never sent.
	 */
	if (!((*code >= 1000 && *code <= 1003) ||
	      (*code >= 1007 && *code <= 1014) ||
	      (*code >= 3000 && *code <= 4999)))
		return "WebSocket Close with a reserved status code";
	/* 5.5.1: a UTF-8 reason may follow, which 8.1 requires valid. */
	if (!kmqtt_codec_utf8_well_formed(rx->control + 2,
					  rx->control_len - 2))
		return "WebSocket Close reason not UTF-8";
	return NULL;
}

void kmqtt_ws_unmask(struct kmqtt_ws_rx *rx, u8 *out, const u8 *in, u32 len)
{
	u8 turned[4], key[8];
	u64 word, key_word;
	u32 i;

	/*
	 * Eight bytes at a time, the key twice over: it repeats every four.
	 * @out may be @in or before it (unframed in place), never after.
	 */
	memcpy(key, rx->mask, 4);
	memcpy(key + 4, rx->mask, 4);
	memcpy(&key_word, key, 8);
	for (i = 0; len - i >= 8; i += 8) {
		memcpy(&word, in + i, 8);
		word ^= key_word;
		memcpy(out + i, &word, 8);
	}
	for (; i < len; i++)
		out[i] = in[i] ^ rx->mask[i & 3];
	/* The next byte takes the key's byte after the last one used. */
	for (i = 0; i < 4; i++)
		turned[i] = rx->mask[(i + len) & 3];
	memcpy(rx->mask, turned, 4);
	rx->left -= len;
}

enum kmqtt_ws_unframed kmqtt_ws_unframe(struct kmqtt_ws_rx *rx, u8 *buf,
					u32 len, u32 *in, u32 *out,
					const char **why)
{
	while (*in < len) {
		u32 n = len - *in;

		if (!rx->in_frame) {
			/* The header's bytes, as far as they have come. */
			if (n > kmqtt_ws_hdr_missing(rx))
				n = kmqtt_ws_hdr_missing(rx);
			memcpy(rx->hdr + rx->hdr_len, buf + *in, n);
			rx->hdr_len += n;
			*in += n;
			if (kmqtt_ws_hdr_missing(rx))
				continue;
			*why = kmqtt_ws_frame_start(rx);
			if (*why)
				return KMQTT_WS_BAD;
		} else {
			if (n > rx->left)
				n = rx->left;
			if (kmqtt_ws_data(rx)) {
				kmqtt_ws_unmask(rx, buf + *out, buf + *in, n);
				*out += n;
			} else {
				kmqtt_ws_unmask(rx,
						rx->control + rx->control_len,
						buf + *in, n);
				rx->control_len += n;
			}
			*in += n;
		}
		if (rx->left)
			continue;
		rx->in_frame = false;
		if (!kmqtt_ws_data(rx))
			return KMQTT_WS_CONTROL;
	}
	return KMQTT_WS_USED_UP;
}

u32 kmqtt_ws_mask_get(const struct kmqtt_ws_rx *rx)
{
	return kmqtt_ws_get_be(rx->mask, 4);
}

void kmqtt_ws_mask_set(struct kmqtt_ws_rx *rx, u32 mask)
{
	kmqtt_ws_put_be(rx->mask, mask, 4);
}

size_t kmqtt_ws_put_hdr(u8 *buf, u8 opcode, u64 len)
{
	buf[0] = KMQTT_WS_FIN | opcode;
	if (len < KMQTT_WS_LEN16) {
		buf[1] = len;
		return 2;
	}
	if (len <= 0xffff) {
		buf[1] = KMQTT_WS_LEN16;
		kmqtt_ws_put_be(buf + 2, len, 2);
		return 4;
	}
	buf[1] = KMQTT_WS_LEN64;
	kmqtt_ws_put_be(buf + 2, len, 8);
	return 10;
}
