/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT over WebSocket (RFC 6455; MQTT 3.1.1 chapter 6, 5.0 chapter 6) on
 * a listener with "protocol websockets": the opening handshake, and the
 * client's frames up to the end of its CONNECT (and AUTH), read exactly
 * so that kmqtt.ko takes the stream over where they end (ATTACH's
 * websocket attributes).  What the agent sends before then goes in
 * binary frames.
 */
#ifndef KMQTTD_WEBSOCKET_H
#define KMQTTD_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kmqtt_ws_rx;	/* kmod/ws_frame.h */

/*
 * What a handshake's request is read into at first, doubled as it grows
 * up to the listener's websockets_headers_size: a browser's request
 * without cookies fits.
 */
#define WS_REQUEST_FIRST	1024
/*
 * Frames without data (pings, empty frames) a client may send while the
 * agent reads its CONNECT and AUTH: each costs a read or two and no data,
 * so without a bound a client could keep the agent's one thread busy.
 */
#define WS_IDLE_FRAMES_MAX	32

/* The subprotocols MQTT registers (MQTT 3.1.1 6.0, 5.0 6.0). */
enum ws_subprotocol {
	WS_SUBPROTOCOL_NONE,	/* the client offered none */
	WS_SUBPROTOCOL_MQTT,
	WS_SUBPROTOCOL_MQTTV31,
};

/* What ws_handshake() makes of a request. */
struct ws_handshake {
	int status;		/* 101: accepted; else the HTTP refusal */
	const char *reason;	/* refused: why, for the log */
	char accept[29];	/* Sec-WebSocket-Accept, NUL-terminated */
	enum ws_subprotocol subprotocol;
};

/*
 * Parse the @len bytes of a request's head (up to and with its blank
 * line) and decide: *@hs says the answer.
 */
void ws_handshake(const char *req, size_t len, struct ws_handshake *hs);

/*
 * Where the head of a request ends in the @len bytes at @buf, of which
 * the first @searched had no end: the bytes up to and with its blank
 * line, or 0 while it is not complete.
 */
size_t ws_request_end(const char *buf, size_t len, size_t searched);

/* The response to @hs (101 or the refusal) into @buf; its length. */
size_t ws_response(const struct ws_handshake *hs, char *buf, size_t cap);

/* Sec-WebSocket-Accept for the key @key (NUL-terminated) into @out. */
void ws_accept_key(const char *key, size_t key_len, char out[29]);

/*
 * The transport under the reader: read() returns bytes read, 0 when none
 * are there yet, -1 with *@reason when the connection must be dropped;
 * pong() sends a Pong frame's payload back, false when it could not.
 */
struct ws_transport {
	ssize_t (*read)(void *ctx, void *buf, size_t n, const char **reason);
	/* Send a control frame: a Pong, or the Close that answers one. */
	bool (*answer)(void *ctx, uint8_t opcode, const uint8_t *data,
		       size_t len);
	void *ctx;
};

/*
 * Read up to @n payload bytes of the client's data frames into @buf,
 * no byte past them: headers and control frames are taken on the way,
 * a ping answered, each frame without data counted down from *@idle
 * (WS_IDLE_FRAMES_MAX at first).  Returns as read() does.
 */
ssize_t ws_read(struct kmqtt_ws_rx *r, const struct ws_transport *t,
		unsigned int *idle, void *buf, size_t n, const char **reason);

#endif /* KMQTTD_WEBSOCKET_H */
