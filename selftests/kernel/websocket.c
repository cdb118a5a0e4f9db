// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT over WebSocket in the module: the test plays the agent, reading
 * the client's CONNECT frame up to where CONNECT ends and handing the
 * socket over with the frame state (ATTACH's websocket attributes), and
 * the browser, writing masked frames and reading the module's.  What the
 * module frames is unframed into a socket pair, where the MQTT helpers
 * read it as from TCP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "direct.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

#define WS_BINARY	0x2
#define WS_TEXT		0x1
#define WS_CLOSE	0x8
#define WS_PING		0x9
#define WS_PONG		0xa

FIXTURE(websocket)
{
	struct kmqtt_genl genl;
	struct direct direct;
	int client;		/* the browser's end */
	int server;		/* the agent's, handed over */
	int enc[2];		/* MQTT helpers write packets here... */
	int dec[2];		/* ...and read the module's unframed here */
	uint8_t control;	/* the last control frame's opcode */
	uint8_t control_data[125];
	size_t control_len;
	bool v5;		/* attach as MQTT 5.0 */
};

FIXTURE_SETUP(websocket)
{
	self->client = self->server = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, direct_open(&self->direct));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->enc));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->dec));
	/* Room for all a test reads before it parses it (root: FORCE). */
	ASSERT_EQ(0, setsockopt(self->dec[1], SOL_SOCKET, SO_SNDBUFFORCE,
				&(int){ 8 << 20 }, sizeof(int)));
	ASSERT_EQ(0, fcntl(self->enc[0], F_SETFL, O_NONBLOCK));
	self->client = loopback_connect(self->direct.port,
					MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->client);
	self->server = loopback_accept(self->direct.listen_fd,
				       MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->server);
}

FIXTURE_TEARDOWN(websocket)
{
	close(self->client);
	close(self->server);
	close(self->enc[0]);
	close(self->enc[1]);
	close(self->dec[0]);
	close(self->dec[1]);
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
}

/* What the helper just wrote to enc[1]: one packet's bytes, into @buf. */
static size_t packet(FIXTURE_DATA(websocket) *self, uint8_t *buf, size_t cap)
{
	ssize_t n = read(self->enc[0], buf, cap);

	return n > 0 ? (size_t)n : 0;
}

/* A client's frame of @opcode over @len bytes, masked with @key. */
static size_t put_frame(uint8_t *out, uint8_t opcode, const uint8_t *data,
			size_t len, const uint8_t key[4])
{
	size_t i, h = 2;

	out[0] = 0x80 | opcode;
	if (len < 126) {
		out[1] = 0x80 | len;
	} else {
		out[1] = 0x80 | 126;
		out[2] = len >> 8;
		out[3] = len;
		h = 4;
	}
	memcpy(out + h, key, 4);
	for (i = 0; i < len; i++)
		out[h + 4 + i] = data[i] ^ key[i & 3];
	return h + 4 + len;
}

static int send_frame(int fd, uint8_t opcode, const uint8_t *data, size_t len)
{
	uint8_t frame[65536 + 8], key[4];
	int i;

	for (i = 0; i < 4; i++)
		key[i] = rand();
	return mqtt_send_raw(fd, frame, put_frame(frame, opcode, data, len,
						  key));
}

static int read_full(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t have = 0;
	ssize_t n;

	while (have < len) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + have, len - have);
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		have += n;
	}
	return 0;
}

/*
 * Read the module's next frame: data goes to dec[1], a control frame is
 * kept in self->control.  Returns its opcode, or -errno.
 */
static int pump(FIXTURE_DATA(websocket) *self, int timeout_ms)
{
	uint8_t hdr[10], *data;
	uint64_t len;
	int ret, i, ext;

	ret = read_full(self->client, hdr, 2, timeout_ms);
	if (ret)
		return ret;
	/* A server's frame: FIN, no RSV, never masked. */
	if ((hdr[0] & 0x70) || (hdr[1] & 0x80) || !(hdr[0] & 0x80))
		return -EPROTO;
	len = hdr[1] & 0x7f;
	ext = len == 126 ? 2 : len == 127 ? 8 : 0;
	ret = read_full(self->client, hdr + 2, ext, timeout_ms);
	if (ret)
		return ret;
	if (ext)
		for (len = 0, i = 0; i < ext; i++)
			len = len << 8 | hdr[2 + i];
	if (len > 16 << 20)
		return -EMSGSIZE;
	data = malloc(len + 1);
	if (!data)
		return -ENOMEM;
	ret = read_full(self->client, data, len, timeout_ms);
	if (!ret && (hdr[0] & 0x0f) == WS_BINARY)
		ret = mqtt_send_raw(self->dec[1], data, len);
	else if (!ret && len <= sizeof(self->control_data)) {
		self->control = hdr[0] & 0x0f;
		memcpy(self->control_data, data, len);
		self->control_len = len;
	} else if (!ret) {
		ret = -EPROTO;
	}
	free(data);
	return ret ? ret : hdr[0] & 0x0f;
}

/*
 * Read the module's frames until it is quiet for @quiet_ms: returns how
 * many, or -errno.
 */
static int pump_all(FIXTURE_DATA(websocket) *self, int quiet_ms)
{
	int ret, frames = 0;

	while ((ret = pump(self, quiet_ms)) >= 0)
		frames++;
	return ret == -ETIMEDOUT ? frames : ret;
}

/*
 * The agent's part: the client sends CONNECT and the packets in @more in
 * one frame; read the frame's header and CONNECT, no further, and hand
 * the socket over with the rest of the frame left.
 */
static int attach_will_mid_frame(FIXTURE_DATA(websocket) *self,
				 const char *client_id, const char *will_topic,
				 const uint8_t *more, size_t more_len,
				 uint64_t *conn_id)
{
	struct mqtt_connect_opts opts = { .client_id = client_id,
					  .clean_session = true };
	uint8_t data[4096], frame[4096 + 14], key[4] = { 0x11, 0x22, 0x33,
							  0x44 };
	struct kmqtt_attach_req req = {
		.fd = self->server,
		.client_id = client_id,
		.proto_level = self->v5 ? MQTT_PROTO_V5 : MQTT_PROTO_V311,
		.clean_session = true,
		.will_topic = will_topic,
		.will_payload = "gone",
		.websocket = true,
	};
	size_t connect_len, len, hdr;
	int ret;

	if (mqtt_send_connect(self->enc[1], &opts))
		return -EIO;
	connect_len = packet(self, data, sizeof(data));
	memcpy(data + connect_len, more, more_len);
	len = put_frame(frame, WS_BINARY, data, connect_len + more_len, key);
	ret = mqtt_send_raw(self->client, frame, len);
	if (ret)
		return ret;
	hdr = len - connect_len - more_len;
	ret = read_full(self->server, frame, hdr + connect_len,
			MQTT_TEST_TIMEOUT_MS);
	if (ret)
		return ret;
	/* The key turned to the byte after CONNECT. */
	req.ws_frame_left = more_len;
	req.ws_mask = (uint32_t)key[connect_len & 3] << 24 |
		      (uint32_t)key[(connect_len + 1) & 3] << 16 |
		      (uint32_t)key[(connect_len + 2) & 3] << 8 |
		      key[(connect_len + 3) & 3];
	return kmqtt_genl_attach(&self->genl, &req, conn_id);
}

static int attach_mid_frame(FIXTURE_DATA(websocket) *self,
			    const char *client_id, const uint8_t *more,
			    size_t more_len, uint64_t *conn_id)
{
	return attach_will_mid_frame(self, client_id, NULL, more, more_len,
				     conn_id);
}

static int send_packet_frame(FIXTURE_DATA(websocket) *self)
{
	uint8_t data[65536];
	size_t len = packet(self, data, sizeof(data));

	return send_frame(self->client, WS_BINARY, data, len);
}

/* CONNECT ends inside a frame; the module reads the rest of it. */
TEST_F(websocket, frame_left_at_attach)
{
	const struct mqtt_pub_opts qos0 = { 0 };
	uint8_t more[256], code;
	uint64_t id;
	size_t len;

	ASSERT_EQ(0, mqtt_send_subscribe(self->enc[1], 7,
					 (const char *[]){ "ws/left" }, 1));
	len = packet(self, more, sizeof(more));
	ASSERT_EQ(0, mqtt_send_publish(self->enc[1], "ws/left", "half", 4));
	len += packet(self, more + len, sizeof(more) - len);
	ASSERT_EQ(0, attach_mid_frame(self, "ws-left", more, len, &id));
	ASSERT_LT(0, pump_all(self, 500));
	ASSERT_EQ(0, mqtt_expect_connack(self->dec[0], MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_expect_suback(self->dec[0], 7, &code, 1));
	ASSERT_EQ(0, mqtt_expect_message(self->dec[0], "ws/left", "half",
					 &qos0));
	/* And the frames after it. */
	ASSERT_EQ(0, mqtt_send_publish(self->enc[1], "ws/left", "next", 4));
	ASSERT_EQ(0, send_packet_frame(self));
	ASSERT_LT(0, pump_all(self, 500));
	ASSERT_EQ(0, mqtt_expect_message(self->dec[0], "ws/left", "next",
					 &qos0));
}

TEST_F(websocket, ping_answered_close_echoed)
{
	uint8_t data[125];
	uint64_t id;

	memset(data, 'p', sizeof(data));
	ASSERT_EQ(0, attach_mid_frame(self, "ws-ping", NULL, 0, &id));
	ASSERT_EQ(0, send_frame(self->client, WS_PONG, data, 3));
	ASSERT_EQ(0, send_frame(self->client, WS_PING, data, sizeof(data)));
	ASSERT_LT(0, pump_all(self, 500));
	ASSERT_EQ(0, mqtt_expect_connack(self->dec[0], MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(WS_PONG, self->control);
	ASSERT_EQ(sizeof(data), self->control_len);
	ASSERT_EQ(0, memcmp(data, self->control_data, sizeof(data)));

	ASSERT_EQ(0, send_frame(self->client, WS_CLOSE,
				(const uint8_t *)"\x03\xe8", 2));
	ASSERT_EQ(WS_CLOSE, pump(self, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(2, self->control_len);
	ASSERT_EQ(0, memcmp("\x03\xe8", self->control_data, 2));
	ASSERT_EQ(0, mqtt_wait_closed(self->client, MQTT_TEST_TIMEOUT_MS));
}

/*
 * MQTT.js's end(): PUBLISH, DISCONNECT and Close, read at once.  The
 * packets before the Close are handled: the message is delivered, and
 * the DISCONNECT discards the will (MQTT-3.1.2-10).
 */
TEST_F(websocket, packets_before_close_handled)
{
	const struct mqtt_pub_opts qos0 = { 0 };
	uint8_t wire[512], data[256], key[4] = { 1, 2, 3, 4 };
	const char *filter = "ws/bye/#";
	size_t len = 0, n;
	uint64_t id;
	int sub;

	sub = direct_client(&self->direct, &self->genl, "ws-bye-sub", true,
			    NULL, NULL);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_send_subscribe(sub, 1, &filter, 1));
	ASSERT_EQ(0, mqtt_expect_suback(sub, 1, key, 1));
	ASSERT_EQ(0, attach_will_mid_frame(self, "ws-bye", "ws/bye/will",
					   NULL, 0, &id));
	ASSERT_EQ(0, mqtt_send_publish(self->enc[1], "ws/bye/msg", "last", 4));
	n = packet(self, data, sizeof(data));
	len += put_frame(wire + len, WS_BINARY, data, n, key);
	ASSERT_EQ(0, mqtt_send_disconnect(self->enc[1]));
	n = packet(self, data, sizeof(data));
	len += put_frame(wire + len, WS_BINARY, data, n, key);
	len += put_frame(wire + len, WS_CLOSE, (const uint8_t *)"\x03\xe8", 2,
			 key);
	ASSERT_EQ(0, mqtt_send_raw(self->client, wire, len));
	ASSERT_EQ(0, mqtt_expect_message(sub, "ws/bye/msg", "last", &qos0));
	ASSERT_EQ(0, mqtt_expect_silence(sub, 500));
	close(sub);
}

/* MQTT-6.0.0-1: a text frame closes, with 1002. */
TEST_F(websocket, text_frame_closes)
{
	uint64_t id;

	ASSERT_EQ(0, attach_mid_frame(self, "ws-text", NULL, 0, &id));
	ASSERT_EQ(WS_BINARY, pump(self, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, send_frame(self->client, WS_TEXT,
				(const uint8_t *)"hello", 5));
	ASSERT_EQ(WS_CLOSE, pump(self, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, memcmp("\x03\xea", self->control_data, 2));
	ASSERT_EQ(0, mqtt_wait_closed(self->client, MQTT_TEST_TIMEOUT_MS));
}

/*
 * The client's Close with @body: returns the status code of the Close
 * that answers it, 0 when that has none, or -errno.
 */
static int close_answer(FIXTURE_DATA(websocket) *self, const char *client_id,
			const char *body, size_t len)
{
	uint64_t id;
	int ret;

	ret = attach_mid_frame(self, client_id, NULL, 0, &id);
	if (ret)
		return ret;
	if (pump(self, MQTT_TEST_TIMEOUT_MS) != WS_BINARY)
		return -EPROTO;
	ret = send_frame(self->client, WS_CLOSE, (const uint8_t *)body, len);
	if (ret)
		return ret;
	ret = pump(self, MQTT_TEST_TIMEOUT_MS);
	if (ret != WS_CLOSE)
		return ret < 0 ? ret : -EPROTO;
	ret = mqtt_wait_closed(self->client, MQTT_TEST_TIMEOUT_MS);
	if (ret)
		return ret;
	if (!self->control_len)
		return 0;
	if (self->control_len != 2)
		return -EPROTO;
	return self->control_data[0] << 8 | self->control_data[1];
}

/* RFC 6455 5.5.1: the answer echoes the code, not the reason after it. */
TEST_F(websocket, close_code_echoed)
{
	ASSERT_EQ(4000, close_answer(self, "ws-4000", "\x0f\xa0" "bye", 5));
}

TEST_F(websocket, empty_close_answered_empty)
{
	ASSERT_EQ(0, close_answer(self, "ws-empty", NULL, 0));
}

/* A body of one byte, or a code never sent (7.4): a protocol error. */
TEST_F(websocket, one_byte_close_refused)
{
	ASSERT_EQ(1002, close_answer(self, "ws-1byte", "\x03", 1));
}

TEST_F(websocket, reserved_close_code_refused)
{
	ASSERT_EQ(1002, close_answer(self, "ws-1005", "\x03\xed", 2));
}

/* RFC 6455 8.1: a reason after the code must be UTF-8. */
TEST_F(websocket, close_reason_not_utf8_refused)
{
	ASSERT_EQ(1002, close_answer(self, "ws-reason", "\x03\xe8\xc3(", 4));
}

/* Nor is a 5.0 DISCONNECT sent then: the client waits for our Close. */
TEST_F(websocket, bad_close_of_v5_answered_by_close_alone)
{
	self->v5 = true;
	ASSERT_EQ(1002, close_answer(self, "ws-v5-1byte", "\x03", 1));
}

/*
 * A subscriber that does not read while messages pile up: with small
 * socket buffers the module's sends come back short, and each frame must
 * still be whole, every message intact and in order, when it reads again.
 * 600 of 200 bytes: under the queue's default bound, and what dec[] holds
 * unread.
 */
TEST_F(websocket, frames_whole_after_short_sends)
{
	const char *filter = "ws/slow";
	int small = 4096, publisher, i, got = 0, last = -1;
	char payload[200];	/* under MQTT_RECEIVED_MAX */
	uint8_t code;
	uint64_t id;

	ASSERT_EQ(0, setsockopt(self->client, SOL_SOCKET, SO_RCVBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, setsockopt(self->server, SOL_SOCKET, SO_SNDBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, attach_mid_frame(self, "ws-slow", NULL, 0, &id));
	ASSERT_EQ(0, mqtt_send_subscribe(self->enc[1], 1, &filter, 1));
	ASSERT_EQ(0, send_packet_frame(self));
	ASSERT_LT(0, pump_all(self, 500));
	ASSERT_EQ(0, mqtt_expect_connack(self->dec[0], MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_expect_suback(self->dec[0], 1, &code, 1));

	publisher = direct_client(&self->direct, &self->genl, "ws-slow-pub",
				  true, NULL, NULL);
	ASSERT_LE(0, publisher);
	for (i = 0; i < 600; i++) {
		memset(payload, 'a' + i % 26, sizeof(payload));
		snprintf(payload, sizeof(payload), "%d ", i);
		ASSERT_EQ(0, mqtt_send_publish(publisher, filter, payload,
					       sizeof(payload)));
	}
	ASSERT_EQ(0, mqtt_sync(publisher));
	/* Read it all now, frame by frame, each parsed whole. */
	ASSERT_LT(0, pump_all(self, 1000));
	for (;;) {
		struct mqtt_received m;

		if (mqtt_receive(self->dec[0], &m, false, 200))
			break;
		ASSERT_EQ(sizeof(payload), m.payload_len);
		i = atoi((const char *)m.payload);
		ASSERT_LT(last, i);
		memset(payload, 'a' + i % 26, sizeof(payload));
		snprintf(payload, sizeof(payload), "%d ", i);
		ASSERT_EQ(0, memcmp(payload, m.payload, sizeof(payload)));
		last = i;
		got++;
	}
	ASSERT_EQ(600, got);
	close(publisher);
}

TEST_F(websocket, bad_frame_state_refused)
{
	struct kmqtt_attach_req req = {
		.fd = self->server,
		.client_id = "ws-refused",
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
		.websocket = true,
		.ws_frame_left = 1ULL << 63,
		.ws_mask = 1,
	};
	uint64_t id;

	ASSERT_EQ(-EINVAL, kmqtt_genl_attach(&self->genl, &req, &id));
}

TEST_HARNESS_MAIN
