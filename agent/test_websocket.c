// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of agent/websocket.c: the opening handshake's answers (RFC 6455
 * 4.2) and the reader that stops at the end of what the agent asks for,
 * answering pings on the way.
 */
#include <string.h>
#include <sys/types.h>

#include "kmod/ws_frame.h"
#include "websocket.h"
#include "kselftest_harness.h"

/* RFC 6455 1.3's example. */
TEST(accept_key_of_the_rfc)
{
	char out[29];

	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
	ASSERT_STREQ("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", out);
}

#define REQ(fields) "GET /mqtt HTTP/1.1\r\nHost: h\r\n" fields "\r\n"
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPGRADE "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define V13 "Sec-WebSocket-Version: 13\r\n"

static int status_of(const char *req, struct ws_handshake *hs)
{
	ws_handshake(req, strlen(req), hs);
	return hs->status;
}

TEST(upgrade_answered_101_with_mqtt)
{
	struct ws_handshake hs;
	char out[512];
	size_t n;

	/* Header names in any case, tokens among others. */
	ASSERT_EQ(101, status_of(REQ("upgrade: WebSocket\r\n"
				     "connection: keep-alive, Upgrade\r\n"
				     "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				     V13 "Sec-WebSocket-Protocol: foo, mqtt\r\n"),
				 &hs));
	ASSERT_EQ(WS_SUBPROTOCOL_MQTT, hs.subprotocol);
	n = ws_response(&hs, out, sizeof(out));
	ASSERT_GT(n, 0);
	out[n] = '\0';
	ASSERT_STREQ("HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		     "Sec-WebSocket-Protocol: mqtt\r\n"
		     "\r\n", out);
}

TEST(subprotocols)
{
	struct ws_handshake hs;

	ASSERT_EQ(101, status_of(REQ(UPGRADE KEY V13
				     "Sec-WebSocket-Protocol: mqttv3.1\r\n"),
				 &hs));
	ASSERT_EQ(WS_SUBPROTOCOL_MQTTV31, hs.subprotocol);
	/* None offered: none chosen, as for a client of no subprotocol. */
	ASSERT_EQ(101, status_of(REQ(UPGRADE KEY V13), &hs));
	ASSERT_EQ(WS_SUBPROTOCOL_NONE, hs.subprotocol);
	/* MQTT-6.0.0-3: offered, but not mqtt. */
	ASSERT_EQ(400, status_of(REQ(UPGRADE KEY V13
				     "Sec-WebSocket-Protocol: chat\r\n"),
				 &hs));
	/* A token, not a substring. */
	ASSERT_EQ(400, status_of(REQ(UPGRADE KEY V13
				     "Sec-WebSocket-Protocol: mqttx\r\n"),
				 &hs));
}

TEST(refusals)
{
	struct ws_handshake hs;
	char out[512];
	size_t n;

	ASSERT_EQ(426, status_of(REQ(UPGRADE KEY
				     "Sec-WebSocket-Version: 8\r\n"), &hs));
	n = ws_response(&hs, out, sizeof(out));
	out[n] = '\0';
	ASSERT_NE(NULL, strstr(out, "HTTP/1.1 426 Upgrade Required\r\n"));
	ASSERT_NE(NULL, strstr(out, "Sec-WebSocket-Version: 13\r\n"));
	ASSERT_EQ(426, status_of(REQ(UPGRADE KEY), &hs));
	ASSERT_EQ(400, status_of(REQ(UPGRADE V13), &hs));
	/* 16 bytes, base64: 24 characters. */
	ASSERT_EQ(400, status_of(REQ(UPGRADE V13
				     "Sec-WebSocket-Key: c2hvcnQ=\r\n"), &hs));
	ASSERT_EQ(400, status_of(REQ(KEY V13 "Connection: Upgrade\r\n"), &hs));
	ASSERT_EQ(400, status_of(REQ(KEY V13 "Upgrade: websocket\r\n"), &hs));
	ASSERT_EQ(400, status_of("POST /mqtt HTTP/1.1\r\n" UPGRADE KEY V13
				 "\r\n", &hs));
	ASSERT_EQ(400, status_of("GET /mqtt HTTP/1.0\r\n" UPGRADE KEY V13
				 "\r\n", &hs));
	ASSERT_EQ(400, status_of(REQ(UPGRADE KEY V13 "no colon\r\n"), &hs));
	ASSERT_EQ(400, status_of("\r\n", &hs));
	n = ws_response(&hs, out, sizeof(out));
	out[n] = '\0';
	ASSERT_NE(NULL, strstr(out, "HTTP/1.1 400 Bad Request\r\n"));
	ASSERT_NE(NULL, strstr(out, "Connection: close\r\n"));
}

TEST(request_end)
{
	const char *req = REQ(UPGRADE KEY V13);
	size_t len = strlen(req);

	size_t i;

	ASSERT_EQ(len, ws_request_end(req, len, 0));
	ASSERT_EQ(0, ws_request_end(req, len - 1, 0));
	ASSERT_EQ(4, ws_request_end("\r\n\r\nmore", 8, 0));
	/* Read in pieces: the blank line found across any cut. */
	for (i = 0; i < len; i++)
		ASSERT_EQ(len, ws_request_end(req, len, i));
}

/*
 * A transport of fixed bytes, read @chunk at a time, and the last control
 * frame sent.
 */
struct fake {
	const uint8_t *wire;
	size_t len, off, chunk;
	uint8_t answer_op;
	uint8_t answer[KMQTT_WS_CONTROL_MAX];
	ssize_t answer_len;
};

static ssize_t fake_read(void *ctx, void *buf, size_t n, const char **reason)
{
	struct fake *f = ctx;

	if (f->off == f->len) {
		*reason = "closed";
		return -1;
	}
	if (n > f->chunk)
		n = f->chunk;
	if (n > f->len - f->off)
		n = f->len - f->off;
	memcpy(buf, f->wire + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

static bool fake_answer(void *ctx, uint8_t opcode, const uint8_t *data,
			size_t len)
{
	struct fake *f = ctx;

	f->answer_op = opcode;
	memcpy(f->answer, data, len);
	f->answer_len = (ssize_t)len;
	return true;
}

/* Key 0x01020304: "abc" masked. */
#define MASKED_ABC 0x60, 0x60, 0x60
#define MASKED_DEF 0x65, 0x67, 0x65

TEST(reads_stop_where_asked_and_pings_are_answered)
{
	/* A ping, then "abcdef" in two fragments. */
	static const uint8_t wire[] = {
		0x89, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2,
		0x02, 0x83, 1, 2, 3, 4, MASKED_ABC,
		0x80, 0x83, 1, 2, 3, 4, MASKED_DEF,
	};
	size_t chunk;

	for (chunk = 1; chunk <= sizeof(wire); chunk++) {
		struct fake f = { .wire = wire, .len = sizeof(wire),
				  .chunk = chunk, .answer_len = -1 };
		struct ws_transport t = { fake_read, fake_answer, &f };
		unsigned int idle = WS_IDLE_FRAMES_MAX;
		struct kmqtt_ws_rx r = { 0 };
		const char *reason = NULL;
		uint8_t out[8];
		size_t have = 0;
		ssize_t got;

		/* Two bytes asked for: the reader stops inside the frame. */
		while (have < 2) {
			got = ws_read(&r, &t, &idle, out + have, 2 - have,
				      &reason);
			ASSERT_GT(got, 0);
			have += (size_t)got;
		}
		ASSERT_EQ(0, memcmp(out, "ab", 2));
		ASSERT_EQ(KMQTT_WS_OP_PONG, f.answer_op);
		ASSERT_EQ(2, f.answer_len);
		ASSERT_EQ(0, memcmp(f.answer, "hi", 2));
		/* Where ATTACH takes over: one byte left, key turned by 2. */
		ASSERT_EQ(1, r.left);
		ASSERT_EQ(0x03040102, kmqtt_ws_mask_get(&r));
		ASSERT_TRUE(r.continued);
		while (have < 6) {
			got = ws_read(&r, &t, &idle, out + have, 6 - have,
				      &reason);
			ASSERT_GT(got, 0);
			have += (size_t)got;
		}
		ASSERT_EQ(0, memcmp(out, "abcdef", 6));
		ASSERT_FALSE(r.continued);
		ASSERT_EQ(sizeof(wire), f.off);
	}
}

/* Why reading @wire ends; the last control frame sent in *@f. */
static const char *read_error_sent(const uint8_t *wire, size_t len,
				   struct fake *f)
{
	struct ws_transport t = { fake_read, fake_answer, f };
	unsigned int idle = WS_IDLE_FRAMES_MAX;
	struct kmqtt_ws_rx r = { 0 };
	const char *reason = NULL;
	uint8_t out[8];

	*f = (struct fake){ .wire = wire, .len = len, .chunk = len,
			    .answer_len = -1 };
	if (ws_read(&r, &t, &idle, out, sizeof(out), &reason) >= 0)
		return NULL;
	return reason;
}

static const char *read_error(const uint8_t *wire, size_t len)
{
	struct fake f;

	return read_error_sent(wire, len, &f);
}

/*
 * A Close before the hand-off is answered as the module answers it: its
 * status code echoed, an empty one empty, a one-byte or reserved one
 * with 1002 (RFC 6455 5.5.1, 7.4).
 */
TEST(close_answered)
{
	/* Bodies masked with the key 0 */
	static const uint8_t code_4000[] = { 0x88, 0x85, 0, 0, 0, 0,
					     0x0f, 0xa0, 'b', 'y', 'e' };
	static const uint8_t empty[] = { 0x88, 0x80, 0, 0, 0, 0 };
	static const uint8_t one_byte[] = { 0x88, 0x81, 0, 0, 0, 0, 0x03 };
	static const uint8_t code_1005[] = { 0x88, 0x82, 0, 0, 0, 0,
					     0x03, 0xed };
	struct fake f;

	ASSERT_STREQ("closed the WebSocket",
		     read_error_sent(code_4000, sizeof(code_4000), &f));
	ASSERT_EQ(KMQTT_WS_OP_CLOSE, f.answer_op);
	ASSERT_EQ(2, f.answer_len);
	ASSERT_EQ(0, memcmp(f.answer, "\x0f\xa0", 2));
	ASSERT_STREQ("closed the WebSocket",
		     read_error_sent(empty, sizeof(empty), &f));
	ASSERT_EQ(KMQTT_WS_OP_CLOSE, f.answer_op);
	ASSERT_EQ(0, f.answer_len);
	ASSERT_STREQ("WebSocket Close with a one-byte body",
		     read_error_sent(one_byte, sizeof(one_byte), &f));
	ASSERT_EQ(2, f.answer_len);
	ASSERT_EQ(0, memcmp(f.answer, "\x03\xea", 2));
	ASSERT_STREQ("WebSocket Close with a reserved status code",
		     read_error_sent(code_1005, sizeof(code_1005), &f));
	ASSERT_EQ(2, f.answer_len);
	ASSERT_EQ(0, memcmp(f.answer, "\x03\xea", 2));
}

/* A client may not keep the agent reading frames without data. */
TEST(frames_without_data_bounded)
{
	static const uint8_t empty[] = { 0x82, 0x80, 1, 2, 3, 4 };
	uint8_t wire[sizeof(empty) * (WS_IDLE_FRAMES_MAX + 1)];
	size_t i;

	for (i = 0; i <= WS_IDLE_FRAMES_MAX; i++)
		memcpy(wire + i * sizeof(empty), empty, sizeof(empty));
	ASSERT_STREQ("too many WebSocket frames without data",
		     read_error(wire, sizeof(wire)));
}

TEST(bad_frames_drop)
{
	static const uint8_t text[] = { 0x81, 0x81, 0, 0, 0, 0, 'x' };
	static const uint8_t unmasked[] = { 0x82, 0x01, 'x' };
	static const uint8_t continuation[] = { 0x80, 0x81, 0, 0, 0, 0, 'x' };
	static const uint8_t close[] = { 0x88, 0x80, 0, 0, 0, 0 };

	ASSERT_STREQ("WebSocket text frame (MQTT-6.0.0-1)",
		     read_error(text, sizeof(text)));
	ASSERT_STREQ("unmasked WebSocket frame",
		     read_error(unmasked, sizeof(unmasked)));
	ASSERT_STREQ("WebSocket fragments out of order",
		     read_error(continuation, sizeof(continuation)));
	ASSERT_STREQ("closed the WebSocket", read_error(close, sizeof(close)));
}

TEST_HARNESS_MAIN
