/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client side of RFC 6455 WebSockets, as MQTT uses them (MQTT 3.1.1
 * and 5.0, chapter 6): the opening handshake and the frame codec.  Pure
 * functions over caller buffers; client.c does the I/O.
 */
#ifndef WS_H
#define WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WS_NONCE_LEN		16
#define WS_KEY_LEN		24	/* base64 of the 16-byte nonce */
#define WS_ACCEPT_LEN		28	/* base64 of a SHA-1 */
/* FIN/opcode, length byte, a 64-bit length, a mask. */
#define WS_HEADER_MAX		14
#define WS_CONTROL_MAX		125	/* RFC 6455 5.5 */
/* The longest 101 response accepted; the broker's come in ~150 bytes. */
#define WS_RESPONSE_MAX		4096

#define WS_FIN			0x80
enum ws_opcode {
	WS_CONTINUATION = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

/* One frame's header as ws_parse_header read it. */
struct ws_frame {
	bool fin;
	bool masked;
	uint8_t opcode;
	uint8_t mask[4];
	uint64_t len;
};

/* Where the decoder is in the broker's stream between two reads. */
struct ws_rx {
	uint64_t left;		/* payload of the current data frame to come */
	bool fragmented;	/* a message's last frame (FIN) is to come */
};

/* A control frame, whole (RFC 6455 5.5: at most 125 bytes, never split). */
struct ws_ctl {
	uint8_t opcode;		/* 0: none */
	uint8_t len;
	uint8_t data[WS_CONTROL_MAX];
};

void ws_key(const uint8_t nonce[WS_NONCE_LEN], char key[WS_KEY_LEN + 1]);
void ws_accept(const char *key, char accept[WS_ACCEPT_LEN + 1]);
size_t ws_put_request(char *buf, size_t size, const char *host,
		      const char *port, const char *path, const char *key);
ssize_t ws_parse_response(const uint8_t *buf, size_t len, const char *key,
			  const char **why);

void ws_mask_next(uint64_t *state, uint8_t mask[4]);
void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t mask[4]);
size_t ws_put_frame(uint8_t *dst, size_t size, uint8_t fin_opcode,
		    const uint8_t *payload, size_t len, const uint8_t *mask);
ssize_t ws_parse_header(const uint8_t *buf, size_t len, struct ws_frame *f);
ssize_t ws_decode(struct ws_rx *s, const uint8_t *in, size_t len,
		  uint8_t *out, size_t room, size_t *out_len,
		  struct ws_ctl *ctl, const char **why);

#endif
