// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the listener over real loopback sockets, with kmqtt_nl_attach()
 * replaced by a fake that records the request and what is left unread on
 * the socket: the bytes kmqtt.ko would get.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>

#include "auth_method.h"
#include "connect.h"
#include "kmqtt_nl.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "scram.h"
#include "scram_file.h"
#include "test_loopback.h"
#include "test_scram_client.h"
#include "kselftest_harness.h"

/* What the fake ATTACH saw. */
static struct {
	int calls;
	int result;			/* what it returns */
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	uint8_t proto_level;
	uint16_t keepalive;
	bool clean_session;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	char will_topic[64];
	size_t will_topic_len;
	char will_payload[64];
	char mount_point[64];
	uint8_t unread[256];		/* socket bytes after the CONNECT */
	ssize_t unread_len;
	uint32_t session_expiry;
	uint16_t receive_max;
	uint32_t max_packet_out;
	uint16_t topic_alias_max;
	uint32_t will_delay;
	uint8_t connack_props[CONNECT_CONNACK_PROPS_MAX];
	size_t connack_props_len;
	uint8_t will_props[64];
	size_t will_props_len;
	char auth_method[32];		/* "": none */
} attach;

static void copy_field(char *out, size_t size, const uint8_t *data, size_t len)
{
	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(out, data, len);
	out[len] = '\0';
}

/* Bytes that fit @size whole; returns @len. */
static size_t copy_bytes(uint8_t *out, size_t size, const uint8_t *data,
			 size_t len)
{
	if (len && len <= size)
		memcpy(out, data, len);
	return len;
}

int kmqtt_nl_attach(struct kmqtt_nl *nl, const struct kmqtt_nl_attach *req,
		    struct kmqtt_nl_attached *reply)
{
	attach.calls++;
	memcpy(attach.client_id, req->client_id, req->client_id_len);
	attach.client_id[req->client_id_len] = '\0';
	attach.proto_level = req->proto_level;
	attach.keepalive = req->keepalive;
	attach.clean_session = req->clean_session;
	attach.will = req->will;
	attach.will_qos = req->will_qos;
	attach.will_retain = req->will_retain;
	copy_field(attach.will_topic, sizeof(attach.will_topic),
		   req->will_topic, req->will_topic_len);
	attach.will_topic_len = req->will_topic_len;
	copy_field(attach.mount_point, sizeof(attach.mount_point),
		   (const uint8_t *)req->mount_point, req->mount_point_len);
	copy_field(attach.will_payload, sizeof(attach.will_payload),
		   req->will_payload, req->will_payload_len);
	attach.unread_len = recv(req->fd, attach.unread, sizeof(attach.unread),
				 MSG_DONTWAIT);
	attach.session_expiry = req->session_expiry;
	attach.receive_max = req->receive_max;
	attach.max_packet_out = req->max_packet_out;
	attach.topic_alias_max = req->topic_alias_max;
	attach.will_delay = req->will_delay;
	attach.connack_props_len = copy_bytes(attach.connack_props,
					      sizeof(attach.connack_props),
					      req->connack_props,
					      req->connack_props_len);
	attach.will_props_len = copy_bytes(attach.will_props,
					   sizeof(attach.will_props),
					   req->will_props, req->will_props_len);
	snprintf(attach.auth_method, sizeof(attach.auth_method), "%s",
		 req->auth_method ? req->auth_method : "");
	reply->conn_id = 1;
	reply->session_present = false;
	if (attach.result)
		snprintf(nl->error, sizeof(nl->error), "ATTACH: fake failure");
	return attach.result;
}

/* CONNECT, MQTT 3.1.1, clean session, keepalive 30, client id "c1". */
static const uint8_t connect_c1[] = {
	0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 2, 'c', '1',
};

/* Same with keepalive 0: none. */
static const uint8_t connect_c1_no_keepalive[] = {
	0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, 2, 'c', '1',
};

/* Same with an empty client id. */
static const uint8_t connect_empty_id[] = {
	0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 0,
};

/* "MQTT" with a level after 5.0's. */
static const uint8_t connect_level_6[] = {
	0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 6, 0x02, 0, 30, 0, 0, 2, 'c', '1',
};

/*
 * CONNECT, 3.1.1, will QoS 1 retained on "w/t" with payload "bye", user
 * name "u", client id "c2".
 */
static const uint8_t connect_will[] = {
	0x10, 27, 0, 4, 'M', 'Q', 'T', 'T', 4,
	MQTT_CONNECT_USERNAME | MQTT_CONNECT_WILL_RETAIN |
	(1 << MQTT_CONNECT_WILL_QOS_SHIFT) | MQTT_CONNECT_WILL |
	MQTT_CONNECT_CLEAN_SESSION,
	0, 60, 0, 2, 'c', '2', 0, 3, 'w', '/', 't', 0, 3, 'b', 'y', 'e',
	0, 1, 'u',
};

/*
 * CONNECT, 5.0, Clean Start 0, keepalive 30, session expiry 7200, receive
 * maximum 10, maximum packet size 2048, an empty client id, and a will on
 * "w/t" with payload "bye" and properties: will delay 5, message expiry
 * 60, user property k=v.
 */
static const uint8_t connect5_full[] = {
	0x10, 54, 0, 4, 'M', 'Q', 'T', 'T', 5, MQTT_CONNECT_WILL, 0, 30,
	13, 0x11, 0, 0, 0x1c, 0x20, 0x21, 0, 10, 0x27, 0, 0, 0x08, 0,
	0, 0,
	17, 0x18, 0, 0, 0, 5, 0x02, 0, 0, 0, 60, 0x26, 0, 1, 'k', 0, 1, 'v',
	0, 3, 'w', '/', 't', 0, 3, 'b', 'y', 'e',
};

/* CONNECT, 5.0, clean start, keepalive 30, no properties, client id "c5". */
static const uint8_t connect5_c5[] = {
	0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 30, 0, 0, 2, 'c', '5',
};

/* The same with an authentication method, "SCRA". */
static const uint8_t connect5_auth_method[] = {
	0x10, 22, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 30,
	7, 0x15, 0, 4, 'S', 'C', 'R', 'A', 0, 2, 'c', '5',
};

/* With a retained will on "w/t", payload "bye", no will properties. */
static const uint8_t connect5_retained_will[] = {
	0x10, 26, 0, 4, 'M', 'Q', 'T', 'T', 5,
	MQTT_CONNECT_WILL_RETAIN | MQTT_CONNECT_WILL | 0x02, 0, 30, 0,
	0, 2, 'c', '5', 0, 0, 3, 'w', '/', 't', 0, 3, 'b', 'y', 'e',
};

/* An empty client id and a Maximum Packet Size of 16 bytes. */
static const uint8_t connect5_max_packet_16[] = {
	0x10, 18, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 30,
	5, 0x27, 0, 0, 0, 16, 0, 0,
};

/* Receive maximum 0: malformed (3.1.2.11.3). */
static const uint8_t connect5_receive_max_0[] = {
	0x10, 18, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 30,
	3, 0x21, 0, 0, 0, 2, 'c', '5',
};

static const uint8_t subscribe[] = {
	0x82, 6, 0, 1, 0, 1, 'a', 0,
};

FIXTURE(listener) {
	struct loop loop;
	struct kmqtt_nl nl;
	struct listener l;
};

FIXTURE_SETUP(listener)
{
	char err[256];

	log_init(false);
	memset(&self->nl, 0, sizeof(self->nl));
	ASSERT_EQ(0, loop_init(&self->loop));
	ASSERT_EQ(0, listener_open(&self->l, &self->loop, &self->nl,
				   "127.0.0.1", "0", 1, err, sizeof(err)));
	ASSERT_NE(0, self->l.port);
	/*
	 * Longer than run_until() waits: a refused connection must go when
	 * its client closes, not at the end of its linger.
	 */
	self->l.linger_ms = 60000;
	/* Mosquitto's defaults */
	self->l.settings.allow_zero_length_clientid = true;
	self->l.settings.limits.retain_available = true;
	self->l.settings.auto_id_prefix = strdup("auto-");
	ASSERT_NE(NULL, self->l.settings.auto_id_prefix);
}

FIXTURE_TEARDOWN(listener)
{
	listener_settings_free(&self->l.settings);
	listener_close(&self->l);
	loop_fini(&self->loop);
}

static int client_connect(uint16_t port)
{
	struct timeval tv = { .tv_sec = 3 };
	int fd = test_loopback_connect(port, SOCK_STREAM);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Run the agent's loop until @done() or about three seconds passed. */
static void run_until(struct listener *l, struct loop *loop,
		      bool (*done)(const struct listener *l))
{
	int i;

	for (i = 0; i < 300 && !done(l); i++) {
		loop_run_once(loop, 10);
		listener_expire(l);
	}
}

static bool attached_once(const struct listener *l)
{
	(void)l;
	return attach.calls == 1;
}

static bool attached_twice(const struct listener *l)
{
	(void)l;
	return attach.calls == 2;
}

static bool one_pending(const struct listener *l)
{
	return l->pending_count == 1;
}

static bool none_pending(const struct listener *l)
{
	return l->pending_count == 0;
}

/* Answered or dropped: none waits for a packet (lingering ones may). */
static bool none_awaiting(const struct listener *l)
{
	return !l->pending.oldest;
}

/* The first packet read from @fd, or EOF: returns its length or -1. */
static ssize_t client_read(int fd, uint8_t *buf, size_t len)
{
	return recv(fd, buf, len, 0);
}

/*
 * Send @pkt of @len bytes on a new connection: the listener must answer
 * the @expect_len bytes of @expect (none: no CONNACK) without ATTACH, and
 * close.
 */
static void expect_closed_with(struct __test_metadata *_metadata,
			       FIXTURE_DATA(listener) *self,
			       const uint8_t *pkt, size_t len,
			       const uint8_t *expect, size_t expect_len)
{
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_awaiting);
	ASSERT_EQ(0, attach.calls);
	if (expect_len) {
		ASSERT_EQ(expect_len, client_read(fd, in, sizeof(in)));
		ASSERT_EQ(0, memcmp(expect, in, expect_len));
	}
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	close(fd);
	/* A refused connection lingers until the client closes. */
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, self->l.pending_count);
}

/* The same with 3.1.1's CONNACK @code. */
static void expect_refusal(struct __test_metadata *_metadata,
			   FIXTURE_DATA(listener) *self, const uint8_t *pkt,
			   size_t len, uint8_t code)
{
	const uint8_t expect[] = { 0x20, 2, 0, code };

	expect_closed_with(_metadata, self, pkt, len, expect, sizeof(expect));
}

/* The same with 5.0's CONNACK with reason @code, no properties. */
static void expect_refusal5(struct __test_metadata *_metadata,
			    FIXTURE_DATA(listener) *self, const uint8_t *pkt,
			    size_t len, uint8_t code)
{
	const uint8_t expect[] = { 0x20, 3, 0, code, 0 };

	expect_closed_with(_metadata, self, pkt, len, expect, sizeof(expect));
}

/*
 * Send @pkt of @len bytes with ATTACH failing with @result: the listener
 * must answer the @expect_len bytes of @expect, and close.
 */
static void expect_attach_refused(struct __test_metadata *_metadata,
				  FIXTURE_DATA(listener) *self, int result,
				  const uint8_t *pkt, size_t len,
				  const uint8_t *expect, size_t expect_len)
{
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	attach.result = result;
	ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_EQ(expect_len, client_read(fd, in, sizeof(in)));
	ASSERT_EQ(0, memcmp(expect, in, expect_len));
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	close(fd);
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, self->l.pending_count);
}

/* The CRUCIAL property: what follows the CONNECT stays on the socket. */
TEST_F(listener, pipelined_bytes_left_for_the_module)
{
	uint8_t out[sizeof(connect_c1) + sizeof(subscribe)];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	memcpy(out, connect_c1, sizeof(connect_c1));
	memcpy(out + sizeof(connect_c1), subscribe, sizeof(subscribe));
	ASSERT_EQ(sizeof(out), send(fd, out, sizeof(out), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_STREQ("c1", attach.client_id);
	ASSERT_EQ(MQTT_PROTO_V311, attach.proto_level);
	ASSERT_EQ(30, attach.keepalive);
	ASSERT_TRUE(attach.clean_session);
	ASSERT_EQ(sizeof(subscribe), attach.unread_len);
	ASSERT_EQ(0, memcmp(subscribe, attach.unread, sizeof(subscribe)));
	ASSERT_EQ(0, self->l.pending_count);
	/* What kmqtt_listener_* metrics show. */
	EXPECT_EQ(1, self->l.stats.accepted);
	EXPECT_EQ(1, self->l.stats.attached);
	EXPECT_EQ(0, self->l.stats.dropped + self->l.stats.timeouts +
		     self->l.stats.overflows);
	close(fd);
}

/* The client ID is the listener's auto_id_prefix and a random part. */
TEST_F(listener, empty_client_id_gets_assigned_id)
{
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	free(self->l.settings.auto_id_prefix);
	self->l.settings.auto_id_prefix = strdup("pre-");
	ASSERT_EQ(sizeof(connect_empty_id),
		  send(fd, connect_empty_id, sizeof(connect_empty_id), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_EQ(4 + CONNECT_ASSIGNED_ID_RANDOM_LEN,
		  strlen(attach.client_id));
	ASSERT_EQ(0, strncmp("pre-", attach.client_id, 4));
	close(fd);
}

/* allow_zero_length_clientid false: CONNACK 2, as Mosquitto. */
TEST_F(listener, empty_client_id_refused_when_not_allowed)
{
	self->l.settings.allow_zero_length_clientid = false;
	expect_refusal(_metadata, self, connect_empty_id,
		       sizeof(connect_empty_id),
		       MQTT_CONNACK_IDENTIFIER_REJECTED);
}

TEST_F(listener, attach_failure_sends_server_unavailable)
{
	const uint8_t expect[] = { 0x20, 2, 0, MQTT_CONNACK_SERVER_UNAVAILABLE };

	expect_attach_refused(_metadata, self, -ENOMEM, connect_c1,
			      sizeof(connect_c1), expect, sizeof(expect));
}

/* The client left before ATTACH: nobody to answer, the socket is closed. */
TEST_F(listener, attach_of_a_gone_client_closes_without_connack)
{
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	attach.result = -ENOTCONN;
	ASSERT_EQ(sizeof(connect_c1),
		  send(fd, connect_c1, sizeof(connect_c1), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_EQ(0, self->l.pending_count);
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	EXPECT_EQ(0, self->l.stats.attached);
	EXPECT_EQ(1, self->l.stats.dropped);
	close(fd);
}

/* 3.1.1's CONNACK 1, as Mosquitto answers a level it does not speak. */
TEST_F(listener, mqtt_level_6_refused_with_connack_1)
{
	expect_refusal(_metadata, self, connect_level_6,
		       sizeof(connect_level_6),
		       MQTT_CONNACK_UNACCEPTABLE_PROTOCOL);
	/* Counted under 5.0's name for it. */
	EXPECT_EQ(1, self->l.stats.refused[MQTT_RC_UNSUPPORTED_PROTOCOL -
					   MQTT_RC_UNSPECIFIED_ERROR]);
	EXPECT_EQ(0, self->l.stats.dropped);
}

TEST_F(listener, not_connect_closed_without_connack)
{
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(subscribe), send(fd, subscribe, sizeof(subscribe), 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, attach.calls);
	/* closed with the rest of the SUBSCRIBE unread: a reset */
	ASSERT_EQ(-1, client_read(fd, in, sizeof(in)));
	ASSERT_EQ(ECONNRESET, errno);
	EXPECT_EQ(1, self->l.stats.dropped);
	EXPECT_EQ(0, self->l.stats.timeouts);
	close(fd);
}

/* A client trickling its CONNECT does not hold up another one. */
TEST_F(listener, slow_client_does_not_block_others)
{
	int slow = client_connect(self->l.port);
	int fast = client_connect(self->l.port);

	ASSERT_LE(0, slow);
	ASSERT_LE(0, fast);
	ASSERT_EQ(3, send(slow, connect_c1, 3, 0));
	ASSERT_EQ(sizeof(connect_c1),
		  send(fast, connect_c1, sizeof(connect_c1), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_EQ(1, self->l.pending_count);

	ASSERT_EQ(sizeof(connect_c1) - 3,
		  send(slow, connect_c1 + 3, sizeof(connect_c1) - 3, 0));
	run_until(&self->l, &self->loop, attached_twice);
	ASSERT_EQ(2, attach.calls);
	ASSERT_EQ(0, self->l.pending_count);
	ASSERT_EQ(-1, attach.unread_len);	/* EAGAIN: nothing after it */
	close(slow);
	close(fast);
}

/* The fixture's connect timeout is one second. */
TEST_F(listener, silent_client_closed_after_timeout)
{
	uint64_t start = loop_now_ms();
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	run_until(&self->l, &self->loop, one_pending);
	ASSERT_EQ(1, self->l.pending_count);
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, self->l.pending_count);
	ASSERT_LE(1000, loop_now_ms() - start);
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	ASSERT_EQ(0, attach.calls);
	EXPECT_EQ(1, self->l.stats.timeouts);
	EXPECT_EQ(0, self->l.stats.dropped);
	close(fd);
}

/*
 * MQTT-3.1.3-9: a client id of 65535 bytes, in a CONNECT over
 * CONNECT_MAX_REMAINING, gets CONNACK 2 from the id's length field; the
 * rest of the packet is never waited for.
 */
TEST_F(listener, huge_client_id_refused_with_connack_2)
{
	/* 10 + 2 + 65535 bytes announced; only up to the id's length sent */
	static const uint8_t prefix[] = {
		0x10, 0x8b, 0x80, 0x04, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02,
		0, 30, 0xff, 0xff,
	};
	uint8_t in[8];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(prefix), send(fd, prefix, sizeof(prefix), 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_awaiting);
	ASSERT_EQ(0, attach.calls);
	ASSERT_EQ(CONNECT_CONNACK_SIZE, client_read(fd, in, sizeof(in)));
	ASSERT_EQ(MQTT_CONNACK << 4, in[0]);
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, in[3]);
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	close(fd);
}

/* A refused client: the 16 bytes up to a 65535-byte client id's length. */
static int refused_client(struct __test_metadata *_metadata,
			  FIXTURE_DATA(listener) *self)
{
	static const uint8_t prefix[] = {
		0x10, 0x8b, 0x80, 0x04, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02,
		0, 30, 0xff, 0xff,
	};
	int fd = client_connect(self->l.port);

	EXPECT_LE(0, fd);
	if (fd < 0)
		return -1;
	EXPECT_EQ(sizeof(prefix), send(fd, prefix, sizeof(prefix), 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_awaiting);
	EXPECT_EQ(1, self->l.pending_count);	/* lingering */
	return fd;
}

/*
 * A refused client still writing the rest of its CONNECT reads its
 * CONNACK and then the end of the stream, not a reset: what it sends
 * after the refusal is read and discarded until it closes.
 */
TEST_F(listener, refused_client_still_writing_gets_connack_then_eof)
{
	static uint8_t rest[65535 + 10];
	size_t sent = 0;
	uint8_t in[8];
	ssize_t n;
	int fd = refused_client(_metadata, self), i;

	ASSERT_LE(0, fd);
	/* Not blocking: the loop must run to read it. */
	for (i = 0; i < 3000 && sent < sizeof(rest); i++) {
		n = send(fd, rest + sent, sizeof(rest) - sent,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else
			ASSERT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
		loop_run_once(&self->loop, 1);
	}
	ASSERT_EQ(sizeof(rest), sent);
	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, self->l.pending_count);
	ASSERT_EQ(CONNECT_CONNACK_SIZE, client_read(fd, in, sizeof(in)));
	ASSERT_EQ(MQTT_CONNACK_IDENTIFIER_REJECTED, in[3]);
	ASSERT_EQ(0, client_read(fd, in, sizeof(in))) TH_LOG("%s",
							   strerror(errno));
	close(fd);
}

/* A refused client that neither writes nor closes: closed at linger_ms. */
TEST_F(listener, lingering_ends_after_linger_ms)
{
	uint64_t start;
	int fd;

	self->l.linger_ms = 300;
	start = loop_now_ms();
	fd = refused_client(_metadata, self);
	ASSERT_LE(0, fd);
	run_until(&self->l, &self->loop, none_pending);
	EXPECT_EQ(0, self->l.pending_count);
	EXPECT_LE(300, loop_now_ms() - start);
	close(fd);
}

/*
 * A refused client that goes on writing: closed once it sent
 * LISTENER_LINGER_BYTES, long before linger_ms.
 */
TEST_F(listener, lingering_ends_after_linger_bytes)
{
	static uint8_t chunk[16384];
	size_t sent = 0;
	ssize_t n;
	int fd, i;

	self->l.linger_ms = 60000;
	fd = refused_client(_metadata, self);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3000 && self->l.pending_count; i++) {
		n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else if (errno != EAGAIN)
			break;	/* the reset once it is closed */
		loop_run_once(&self->loop, 1);
	}
	EXPECT_EQ(0, self->l.pending_count);
	EXPECT_LE(LISTENER_LINGER_BYTES, sent);
	close(fd);
}

/* The four will fields reach ATTACH as the CONNECT carried them. */
TEST_F(listener, will_passed_to_attach)
{
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_will),
		  send(fd, connect_will, sizeof(connect_will), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_STREQ("c2", attach.client_id);
	ASSERT_TRUE(attach.will);
	ASSERT_EQ(1, attach.will_qos);
	ASSERT_TRUE(attach.will_retain);
	ASSERT_STREQ("w/t", attach.will_topic);
	ASSERT_STREQ("bye", attach.will_payload);
	close(fd);
}

/* A will payload over message_size_limit: CONNACK 5, as Mosquitto. */
TEST_F(listener, will_over_message_size_limit_refused_with_5)
{
	int fd;

	self->l.settings.message_size_limit = 2;	/* "bye" has 3 */
	expect_refusal(_metadata, self, connect_will, sizeof(connect_will),
		       MQTT_CONNACK_NOT_AUTHORIZED);

	/* exactly the limit is fine */
	self->l.settings.message_size_limit = 3;
	fd = client_connect(self->l.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_will),
		  send(fd, connect_will, sizeof(connect_will), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	close(fd);
}

/* The mount point goes to ATTACH and in front of the will topic. */
TEST_F(listener, mount_point_prefixes_the_will_topic)
{
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	self->l.settings.mount_point = strdup("tenant/");
	ASSERT_EQ(sizeof(connect_will),
		  send(fd, connect_will, sizeof(connect_will), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_STREQ("tenant/", attach.mount_point);
	ASSERT_STREQ("tenant/w/t", attach.will_topic);
	ASSERT_EQ(strlen("tenant/w/t"), attach.will_topic_len);
	ASSERT_STREQ("bye", attach.will_payload);
	close(fd);
}

/*
 * A will topic that the mount point makes longer than a topic can be:
 * closed without CONNACK, as Mosquitto does.
 */
TEST_F(listener, will_topic_too_long_with_mount_point_dropped)
{
	enum { TOPIC = 65500, MOUNT = 100 };
	size_t body = 10 + 2 + 1 + 2 + TOPIC + 2, len = 0;
	uint8_t *pkt = malloc(body + 5), in[16];
	char *mount = malloc(MOUNT + 1);
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, pkt);
	ASSERT_NE(NULL, mount);
	memset(mount, 'm', MOUNT);
	mount[MOUNT] = '\0';
	self->l.settings.mount_point = mount;
	pkt[len++] = 0x10;
	pkt[len++] = 0x80 | (body & 0x7f);
	pkt[len++] = 0x80 | ((body >> 7) & 0x7f);
	pkt[len++] = body >> 14;
	memcpy(pkt + len, "\0\4MQTT\4", 7);
	len += 7;
	pkt[len++] = MQTT_CONNECT_WILL | MQTT_CONNECT_CLEAN_SESSION;
	pkt[len++] = 0;
	pkt[len++] = 30;
	memcpy(pkt + len, "\0\1c", 3);
	len += 3;
	pkt[len++] = TOPIC >> 8;
	pkt[len++] = TOPIC & 0xff;
	memset(pkt + len, 't', TOPIC);
	len += TOPIC;
	pkt[len++] = 0;
	pkt[len++] = 0;
	ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, attach.calls);
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	free(pkt);
	close(fd);
}

TEST_F(listener, no_will_without_will_flag)
{
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_c1),
		  send(fd, connect_c1, sizeof(connect_c1), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_FALSE(attach.will);
	close(fd);
}

/* ATTACH over max_connections: CONNACK 3, as Mosquitto. */
TEST_F(listener, max_connections_sends_server_unavailable)
{
	const uint8_t expect[] = { 0x20, 2, 0, MQTT_CONNACK_SERVER_UNAVAILABLE };

	expect_attach_refused(_metadata, self, -EUSERS, connect_c1,
			      sizeof(connect_c1), expect, sizeof(expect));
	EXPECT_EQ(1, self->l.stats.refused[MQTT_RC_QUOTA_EXCEEDED -
					   MQTT_RC_UNSPECIFIED_ERROR]);
	EXPECT_EQ(0, self->l.stats.attached);
}

static uint8_t refuse_anonymous(const struct listener_conn_info *ci,
				struct listener_grant *g, void *arg)
{
	(*(int *)arg)++;
	memset(g, 0, sizeof(*g));
	return ci->connect->has_username ? MQTT_CONNACK_ACCEPTED :
					   MQTT_CONNACK_NOT_AUTHORIZED;
}

/* The auth hook refuses before ATTACH, with its return code. */
TEST_F(listener, auth_hook_refuses_with_its_code)
{
	const uint8_t expect[] = { 0x20, 2, 0, MQTT_CONNACK_NOT_AUTHORIZED };
	int checks = 0;
	struct listener_auth auth = { .check = refuse_anonymous,
				      .arg = &checks };
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	self->l.auth = &auth;
	ASSERT_EQ(sizeof(connect_c1),
		  send(fd, connect_c1, sizeof(connect_c1), 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_awaiting);
	ASSERT_EQ(1, checks);
	ASSERT_EQ(0, attach.calls);
	ASSERT_EQ(sizeof(expect), client_read(fd, in, sizeof(in)));
	ASSERT_EQ(0, memcmp(expect, in, sizeof(expect)));
	close(fd);

	/* with a user name the same hook lets it through */
	fd = client_connect(self->l.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_will),
		  send(fd, connect_will, sizeof(connect_will), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(2, checks);
	ASSERT_EQ(1, attach.calls);
	close(fd);
}

/* Send @pkt of @len bytes and run until the fake ATTACH saw it. */
static void attach_one(struct __test_metadata *_metadata,
		       FIXTURE_DATA(listener) *self, const uint8_t *pkt,
		       size_t len)
{
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	close(fd);
}

/*
 * A 5.0 client's ATTACH: Clean Start, its session expiry capped by
 * persistent_client_expiration, receive maximum and packet size as sent,
 * the will's properties without the delay (passed on its own), and
 * CONNACK properties with the assigned id (5.0 MQTT-3.2.2-16) and the
 * capped session expiry (5.0 3.2.2.3.2).
 */
TEST_F(listener, v5_attach_fields)
{
	static const uint8_t will_props[] = {
		0x26, 0, 1, 'k', 0, 1, 'v', 0x02, 0, 0, 0, 60,
	};
	static const uint8_t connack_tail[] = {
		0x11, 0, 0, 0x0e, 0x10,
	};
	size_t id_len;

	self->l.settings.limits.session_expiry_max = 3600;
	attach_one(_metadata, self, connect5_full, sizeof(connect5_full));
	ASSERT_EQ(MQTT_PROTO_V5, attach.proto_level);
	ASSERT_FALSE(attach.clean_session);
	ASSERT_EQ(30, attach.keepalive);
	ASSERT_EQ(3600, attach.session_expiry);
	ASSERT_EQ(10, attach.receive_max);
	ASSERT_EQ(2048, attach.max_packet_out);
	ASSERT_TRUE(attach.will);
	ASSERT_STREQ("w/t", attach.will_topic);
	ASSERT_STREQ("bye", attach.will_payload);
	ASSERT_EQ(5, attach.will_delay);
	ASSERT_STREQ("", attach.auth_method);
	ASSERT_EQ(sizeof(will_props), attach.will_props_len);
	ASSERT_EQ(0, memcmp(will_props, attach.will_props,
			    sizeof(will_props)));
	id_len = strlen(attach.client_id);
	ASSERT_EQ(5 + CONNECT_ASSIGNED_ID_RANDOM_LEN, id_len);
	ASSERT_EQ(3 + id_len + sizeof(connack_tail), attach.connack_props_len);
	ASSERT_EQ(MQTT_PROP_ASSIGNED_CLIENT_ID, attach.connack_props[0]);
	ASSERT_EQ(0, attach.connack_props[1]);
	ASSERT_EQ(id_len, attach.connack_props[2]);
	ASSERT_EQ(0, memcmp(attach.client_id, attach.connack_props + 3, id_len));
	ASSERT_EQ(0, memcmp(connack_tail, attach.connack_props + 3 + id_len,
			    sizeof(connack_tail)));
}

/* The limits in force, as the CONNACK tells them (5.0 3.2.2.3). */
TEST_F(listener, v5_connack_props_tell_the_limits)
{
	static const uint8_t expect[] = {
		0x21, 0, 20,			/* max_inflight_messages */
		0x27, 0, 0x10, 0, 0,		/* max_packet_size */
		0x25, 0,			/* retain_available false */
		0x22, 0, 10,			/* max_topic_alias */
	};

	self->l.settings.limits = (struct connect_limits){
		.receive_max = 20, .max_packet_size = 1048576,
		.topic_alias_max = 10,
	};
	attach_one(_metadata, self, connect5_c5, sizeof(connect5_c5));
	ASSERT_STREQ("c5", attach.client_id);
	ASSERT_TRUE(attach.clean_session);
	ASSERT_EQ(0, attach.session_expiry);
	ASSERT_EQ(65535, attach.receive_max);
	ASSERT_EQ(0, attach.max_packet_out);
	ASSERT_EQ(10, attach.topic_alias_max);
	ASSERT_EQ(sizeof(expect), attach.connack_props_len);
	ASSERT_EQ(0, memcmp(expect, attach.connack_props, sizeof(expect)));
	ASSERT_EQ(0, attach.will_props_len);
}

/*
 * A 3.1.1 ATTACH has none of 5.0's fields but their defaults, which
 * kmqtt_nl_attach() leaves out for a level other than 5.
 */
TEST_F(listener, v311_attach_has_no_v5_fields)
{
	self->l.settings.limits.session_expiry_max = 3600;
	attach_one(_metadata, self, connect_will, sizeof(connect_will));
	ASSERT_EQ(MQTT_PROTO_V311, attach.proto_level);
	ASSERT_EQ(0, attach.session_expiry);
	ASSERT_EQ(65535, attach.receive_max);
	ASSERT_EQ(0, attach.max_packet_out);
	ASSERT_EQ(0, attach.connack_props_len);
	ASSERT_EQ(0, attach.will_props_len);
}

/*
 * A listener that offers no method: 0x8C (5.0 MQTT-4.12.0-1), as
 * Mosquitto without a plugin for it.
 */
TEST_F(listener, v5_auth_method_refused_with_0x8c)
{
	expect_refusal5(_metadata, self, connect5_auth_method,
			sizeof(connect5_auth_method), MQTT_RC_BAD_AUTH_METHOD);
}

/* 5.0 MQTT-3.2.2-13: a retained will without retained messages. */
TEST_F(listener, v5_retained_will_refused_without_retain)
{
	self->l.settings.limits.retain_available = false;
	expect_refusal5(_metadata, self, connect5_retained_will,
			sizeof(connect5_retained_will),
			MQTT_RC_RETAIN_NOT_SUPPORTED);
}

/* 0x95 for a will over message_size_limit, as Mosquitto. */
TEST_F(listener, v5_will_over_message_size_limit_refused_with_0x95)
{
	self->l.settings.message_size_limit = 2;	/* "bye" has 3 */
	expect_refusal5(_metadata, self, connect5_retained_will,
			sizeof(connect5_retained_will),
			MQTT_RC_PACKET_TOO_LARGE);
}

/* allow_zero_length_clientid false: 0x85 (5.0 MQTT-3.1.3-8). */
TEST_F(listener, v5_empty_client_id_refused_when_not_allowed)
{
	self->l.settings.allow_zero_length_clientid = false;
	expect_refusal5(_metadata, self, connect5_full, sizeof(connect5_full),
			MQTT_RC_CLIENT_ID_NOT_VALID);
}

/* The auth check's 3.1.1 code in 5.0's words: 5 is 0x87. */
TEST_F(listener, v5_auth_hook_code_mapped)
{
	int checks = 0;
	struct listener_auth auth = { .check = refuse_anonymous,
				      .arg = &checks };

	self->l.auth = &auth;
	expect_refusal5(_metadata, self, connect5_c5, sizeof(connect5_c5),
			MQTT_RC_NOT_AUTHORIZED);
	ASSERT_EQ(1, checks);
}

/*
 * Over max_connections: 0x97 quota exceeded (Mosquitto closes such a
 * client before its CONNECT); a failed ATTACH: 0x88.
 */
TEST_F(listener, v5_max_connections_refused_with_0x97)
{
	const uint8_t expect[] = { 0x20, 3, 0, MQTT_RC_QUOTA_EXCEEDED, 0 };

	expect_attach_refused(_metadata, self, -EUSERS, connect5_c5,
			      sizeof(connect5_c5), expect, sizeof(expect));
}

TEST_F(listener, v5_attach_failure_refused_with_0x88)
{
	const uint8_t expect[] = { 0x20, 3, 0, MQTT_RC_SERVER_UNAVAILABLE, 0 };

	expect_attach_refused(_metadata, self, -ENOMEM, connect5_c5,
			      sizeof(connect5_c5), expect, sizeof(expect));
}

/*
 * 5.0 MQTT-3.1.2-24: a CONNACK with an assigned id is larger than 16
 * bytes, so none can be sent; malformed properties: closed, as Mosquitto.
 */
TEST_F(listener, v5_closed_without_connack)
{
	expect_closed_with(_metadata, self, connect5_max_packet_16,
			   sizeof(connect5_max_packet_16), NULL, 0);
	expect_closed_with(_metadata, self, connect5_receive_max_0,
			   sizeof(connect5_receive_max_0), NULL, 0);
}

/*
 * max_keepalive: a 5.0 client over it is told the server's (Server Keep
 * Alive), which ATTACH hands the module to hold it to.
 */
TEST_F(listener, v5_keepalive_over_max_keepalive_is_the_server_s)
{
	static const uint8_t expect[] = { 0x13, 0, 20 };

	self->l.settings.limits.max_keepalive = 20;	/* the client's is 30 */
	self->l.settings.limits.max_keepalive_set = true;
	attach_one(_metadata, self, connect5_c5, sizeof(connect5_c5));
	ASSERT_EQ(20, attach.keepalive);
	ASSERT_EQ(sizeof(expect), attach.connack_props_len);
	ASSERT_EQ(0, memcmp(expect, attach.connack_props, sizeof(expect)));
}

/* 3.1.1 has no Server Keep Alive: CONNACK 2, as Mosquitto 2.0.12 on. */
TEST_F(listener, keepalive_over_max_keepalive_refused_with_connack_2)
{
	int checks = 0;
	struct listener_auth auth = { .check = refuse_anonymous,
				      .arg = &checks };

	self->l.settings.limits.max_keepalive = 20;
	self->l.settings.limits.max_keepalive_set = true;
	expect_refusal(_metadata, self, connect_c1, sizeof(connect_c1),
		       MQTT_CONNACK_IDENTIFIER_REJECTED);
	/* none, when the file sets max_keepalive */
	expect_refusal(_metadata, self, connect_c1_no_keepalive,
		       sizeof(connect_c1_no_keepalive),
		       MQTT_CONNACK_IDENTIFIER_REJECTED);
	/* the auth check comes first */
	self->l.auth = &auth;
	expect_refusal(_metadata, self, connect_c1, sizeof(connect_c1),
		       MQTT_CONNACK_NOT_AUTHORIZED);
	ASSERT_EQ(1, checks);
}

/* Without max_keepalive in the file, a 3.1.1 client may have none. */
TEST_F(listener, no_keepalive_accepted_under_the_default)
{
	self->l.settings.limits.max_keepalive = 65535;
	attach_one(_metadata, self, connect_c1_no_keepalive,
		   sizeof(connect_c1_no_keepalive));
	ASSERT_EQ(0, attach.keepalive);
	ASSERT_EQ(0, attach.connack_props_len);
}

/*
 * A WebSocket handshake request of exactly @len bytes, at least
 * WS_REQUEST_HEAD's and its end's: padded with a header of its own.
 */
#define WS_REQUEST_HEAD "GET /mqtt HTTP/1.1\r\nHost: h\r\n" \
	"Upgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" \
	"Sec-WebSocket-Version: 13\r\n" \
	"X-Pad: "
static char *ws_request(size_t len)
{
	size_t head = sizeof(WS_REQUEST_HEAD) - 1;
	char *req = malloc(len);

	if (!req)
		return NULL;
	memcpy(req, WS_REQUEST_HEAD, head);
	memset(req + head, 'a', len - head - 4);
	memcpy(req + len - 4, "\r\n\r\n", 4);
	return req;
}

/* The client socket the listener's answer is awaited on. */
static int answered_fd;

static bool client_answered(const struct listener *l)
{
	char c;

	(void)l;
	return recv(answered_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

/* A handshake request of @len bytes must be answered @status. */
static void expect_ws_answer(struct __test_metadata *_metadata,
			     FIXTURE_DATA(listener) *self, size_t len,
			     const char *status)
{
	char *req = ws_request(len), in[64];
	int fd = client_connect(self->l.port);

	ASSERT_NE(NULL, req);
	ASSERT_LE(0, fd);
	ASSERT_EQ(len, (size_t)send(fd, req, len, 0));
	free(req);
	answered_fd = fd;
	run_until(&self->l, &self->loop, client_answered);
	ASSERT_LT(0, client_read(fd, (uint8_t *)in, sizeof(in) - 1));
	in[sizeof(in) - 1] = '\0';
	EXPECT_EQ(0, strncmp(status, in, strlen(status))) TH_LOG("%s", in);
	close(fd);
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, self->l.pending_count);
}

/*
 * websockets_headers_size: a request of the limit is answered 101, one
 * a byte longer 431; below WS_REQUEST_FIRST and above kmqttd's default.
 */
TEST_F(listener, ws_request_up_to_websockets_headers_size)
{
	static const size_t limits[] = { 300, 16384 };
	size_t i;

	self->l.settings.websockets = true;
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		self->l.settings.ws_request_max = limits[i];
		expect_ws_answer(_metadata, self, limits[i],
				 "HTTP/1.1 101 Switching Protocols\r\n");
		expect_ws_answer(_metadata, self, limits[i] + 1,
				 "HTTP/1.1 431 Request Header Fields Too Large\r\n");
	}
	EXPECT_EQ(0, attach.calls);
}

/*
 * Enhanced authentication with a method made for the tests, "STEPS":
 * data "ok" succeeds as user "alice" (CONNACK data "done"), "bad"
 * fails, anything else asks for more (AUTH data "more").
 */
static char steps_session[] = "session";
static int steps_ended;

static void steps_step(void *session, const uint8_t *data, size_t len,
		       struct auth_method_result *res)
{
	static const uint8_t more[] = "more", done[] = "done";

	(void)session;
	if (len == 2 && !memcmp(data, "ok", 2))
		*res = (struct auth_method_result){
			.verdict = AUTH_METHOD_SUCCESS, .data = done,
			.data_len = 4, .identity = "alice" };
	else if (len == 3 && !memcmp(data, "bad", 3))
		*res = (struct auth_method_result){
			.verdict = AUTH_METHOD_FAIL, .reason = "bad" };
	else
		*res = (struct auth_method_result){
			.verdict = AUTH_METHOD_CONTINUE, .data = more,
			.data_len = 4 };
}

static void steps_start(const void *config, const uint8_t *data, size_t len,
			void **session, struct auth_method_result *res)
{
	(void)config;
	*session = steps_session;
	steps_step(*session, data, len, res);
}

static void steps_end(void *session)
{
	steps_ended += session == steps_session;
}

static const struct auth_method steps_method = {
	.name = "STEPS", .start = steps_start, .step = steps_step,
	.end = steps_end,
};

/* What the check was told. */
static char checked_identity[16];

static const struct auth_method *offer_steps(const struct listener_conn_info *ci,
					     const char *name,
					     const void **config, void *arg)
{
	(void)ci;
	(void)config;
	(void)arg;
	return strcmp(name, "STEPS") ? NULL : &steps_method;
}

static uint8_t record_identity(const struct listener_conn_info *ci,
			       struct listener_grant *g, void *arg)
{
	(void)arg;
	memset(g, 0, sizeof(*g));
	snprintf(checked_identity, sizeof(checked_identity), "%s",
		 ci->auth_identity ? ci->auth_identity : "(none)");
	return MQTT_CONNACK_ACCEPTED;
}

static const struct listener_auth steps_auth = {
	.method = offer_steps, .check = record_identity,
};

/* A 5.0 CONNECT, client id "c5", Authentication Method @method, data @d. */
static size_t connect_with_method(uint8_t *out, const char *method,
				  const char *d)
{
	size_t m = strlen(method), n = strlen(d), props = 3 + m + 3 + n;
	size_t len = 0;

	out[len++] = 0x10;
	out[len++] = (uint8_t)(10 + 1 + props + 4);
	memcpy(out + len, "\0\4MQTT\5\2\0\x1e", 10);
	len += 10;
	out[len++] = (uint8_t)props;
	out[len++] = MQTT_PROP_AUTH_METHOD;
	out[len++] = 0;
	out[len++] = (uint8_t)m;
	memcpy(out + len, method, m);
	len += m;
	out[len++] = MQTT_PROP_AUTH_DATA;
	out[len++] = 0;
	out[len++] = (uint8_t)n;
	memcpy(out + len, d, n);
	len += n;
	memcpy(out + len, "\0\2c5", 4);
	return len + 4;
}

/* AUTH with @reason, Authentication Method @method and data @d. */
static size_t auth_packet(uint8_t *out, uint8_t reason, const char *method,
			  const char *d)
{
	size_t m = strlen(method), n = strlen(d), props = 3 + m + 3 + n;

	out[0] = MQTT_AUTH << 4;
	out[1] = (uint8_t)(2 + props);
	out[2] = reason;
	out[3] = (uint8_t)props;
	out[4] = MQTT_PROP_AUTH_METHOD;
	out[5] = 0;
	out[6] = (uint8_t)m;
	memcpy(out + 7, method, m);
	out[7 + m] = MQTT_PROP_AUTH_DATA;
	out[8 + m] = 0;
	out[9 + m] = (uint8_t)n;
	memcpy(out + 10 + m, d, n);
	return 10 + m + n;
}

/* The server's AUTH 0x18 of STEPS with data "more". */
static const uint8_t auth_more[] = {
	0xf0, 17, 0x18, 15, 0x15, 0, 5, 'S', 'T', 'E', 'P', 'S',
	0x16, 0, 4, 'm', 'o', 'r', 'e',
};

/* Run the agent's loop until @fd has something to read, then read it. */
static ssize_t client_read_served(FIXTURE_DATA(listener) *self, int fd,
				  uint8_t *buf, size_t len)
{
	uint8_t peek;
	int i;

	for (i = 0; i < 300 && self->l.pending_count &&
		    recv(fd, &peek, 1, MSG_DONTWAIT | MSG_PEEK) <= 0; i++)
		loop_run_once(&self->loop, 10);
	return client_read(fd, buf, len);
}

/*
 * A client of STEPS: sends its CONNECT with data "hi" and reads the
 * server's AUTH.  Returns its socket.
 */
static int steps_client(struct __test_metadata *_metadata,
			FIXTURE_DATA(listener) *self)
{
	uint8_t out[64], in[64];
	size_t len = connect_with_method(out, "STEPS", "hi");
	int fd = client_connect(self->l.port);

	self->l.auth = &steps_auth;
	steps_ended = 0;
	checked_identity[0] = '\0';
	EXPECT_LE(0, fd);
	EXPECT_EQ(len, (size_t)send(fd, out, len, 0));
	run_until(&self->l, &self->loop, one_pending);
	EXPECT_EQ(sizeof(auth_more),
		  client_read_served(self, fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(auth_more, in, sizeof(auth_more)));
	return fd;
}

/*
 * 5.0 4.12: CONNECT with a method, the server's AUTH, the client's AUTH,
 * then ATTACH with the method's data in the CONNACK's properties, the
 * user it proved for the check, and what follows the last AUTH for the
 * module.
 */
TEST_F(listener, v5_enhanced_auth_exchange)
{
	static const uint8_t tail[] = {
		0x15, 0, 5, 'S', 'T', 'E', 'P', 'S', 0x16, 0, 4, 'd', 'o', 'n',
		'e',
	};
	uint8_t out[64];
	size_t len;
	int fd = steps_client(_metadata, self);

	len = auth_packet(out, MQTT_RC_CONTINUE_AUTH, "STEPS", "ok");
	memcpy(out + len, subscribe, sizeof(subscribe));
	ASSERT_EQ(len + sizeof(subscribe),
		  (size_t)send(fd, out, len + sizeof(subscribe), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_STREQ("alice", checked_identity);
	ASSERT_LE(sizeof(tail), attach.connack_props_len);
	ASSERT_EQ(0, memcmp(tail, attach.connack_props +
			    attach.connack_props_len - sizeof(tail),
			    sizeof(tail)));
	ASSERT_EQ(sizeof(subscribe), attach.unread_len);
	ASSERT_EQ(1, steps_ended);
	close(fd);
}

/*
 * 5.0 MQTT-3.1.2-24: an AUTH over the client's Maximum Packet Size is not
 * sent; the connection is dropped instead.
 */
TEST_F(listener, v5_enhanced_auth_within_max_packet_size)
{
	static const uint8_t connect_small[] = {
		0x10, 33, 0, 4, 'M', 'Q', 'T', 'T', 5, 2, 0, 0x1e,
		18, 0x27, 0, 0, 0, 10, 0x15, 0, 5, 'S', 'T', 'E', 'P', 'S',
		0x16, 0, 2, 'h', 'i', 0, 2, 'c', '5',
	};
	uint8_t in[64];
	int fd = client_connect(self->l.port);

	self->l.auth = &steps_auth;
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_small),
		  (size_t)send(fd, connect_small, sizeof(connect_small), 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_awaiting);
	ASSERT_EQ(0, attach.calls);
	ASSERT_GE(0, client_read(fd, in, sizeof(in)));
	close(fd);
}

/* After the server's AUTH, the client sends @pkt: CONNACK @code. */
static void expect_auth_refused(struct __test_metadata *_metadata,
				FIXTURE_DATA(listener) *self,
				const uint8_t *pkt, size_t len, uint8_t code)
{
	const uint8_t expect[] = { 0x20, 3, 0, code, 0 };
	uint8_t in[16];
	int fd = steps_client(_metadata, self);

	ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
	run_until(&self->l, &self->loop, none_awaiting);
	ASSERT_EQ(0, attach.calls);
	ASSERT_EQ(1, steps_ended);
	if (code) {
		ASSERT_EQ(sizeof(expect), client_read(fd, in, sizeof(in)));
		ASSERT_EQ(0, memcmp(expect, in, sizeof(expect)));
	}
	ASSERT_GE(0, client_read(fd, in, sizeof(in)));
	close(fd);
}

/*
 * The method refuses: 0x87.  AUTH of another method, with a reason other
 * than 0x18, or any other packet: 0x82; malformed: 0x81; DISCONNECT:
 * closed without CONNACK.
 */
TEST_F(listener, v5_enhanced_auth_refusals)
{
	static const uint8_t no_props[] = { 0xf0, 1, 0x18 };
	static const uint8_t props_overrun[] = { 0xf0, 3, 0x18, 9, 0x15 };
	static const uint8_t disconnect[] = { 0xe0, 0 };
	uint8_t pkt[64];

	expect_auth_refused(_metadata, self, pkt,
			    auth_packet(pkt, 0x18, "STEPS", "bad"),
			    MQTT_RC_NOT_AUTHORIZED);
	expect_auth_refused(_metadata, self, pkt,
			    auth_packet(pkt, 0x18, "STEPZ", "ok"),
			    MQTT_RC_PROTOCOL_ERROR);
	expect_auth_refused(_metadata, self, pkt,
			    auth_packet(pkt, 0x19, "STEPS", "ok"),
			    MQTT_RC_PROTOCOL_ERROR);
	expect_auth_refused(_metadata, self, subscribe, sizeof(subscribe),
			    MQTT_RC_PROTOCOL_ERROR);
	expect_auth_refused(_metadata, self, no_props, sizeof(no_props),
			    MQTT_RC_PROTOCOL_ERROR);
	expect_auth_refused(_metadata, self, props_overrun,
			    sizeof(props_overrun), MQTT_RC_MALFORMED_PACKET);
	expect_auth_refused(_metadata, self, disconnect, sizeof(disconnect),
			    0);
}

/* A method the check does not offer: 0x8C, the method never started. */
TEST_F(listener, v5_enhanced_auth_unknown_method_0x8c)
{
	uint8_t pkt[64];

	self->l.auth = &steps_auth;
	steps_ended = 0;
	expect_refusal5(_metadata, self, pkt,
			connect_with_method(pkt, "STEPZ", "ok"),
			MQTT_RC_BAD_AUTH_METHOD);
	ASSERT_EQ(0, steps_ended);
}

/* At most AUTH_METHOD_STEPS_MAX AUTH packets: then 0x87. */
TEST_F(listener, v5_enhanced_auth_steps_bounded)
{
	const uint8_t expect[] = { 0x20, 3, 0, MQTT_RC_NOT_AUTHORIZED, 0 };
	uint8_t pkt[64], in[64];
	size_t len = auth_packet(pkt, 0x18, "STEPS", "again");
	int fd = steps_client(_metadata, self), i;

	for (i = 1; i < AUTH_METHOD_STEPS_MAX; i++) {
		ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
		ASSERT_EQ(sizeof(auth_more),
			  client_read_served(self, fd, in, sizeof(in)))
			TH_LOG("step %d", i);
	}
	ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
	run_until(&self->l, &self->loop, none_awaiting);
	ASSERT_EQ(sizeof(expect), client_read(fd, in, sizeof(in)));
	ASSERT_EQ(0, memcmp(expect, in, sizeof(expect)));
	close(fd);
}

/*
 * Each packet awaited has the CONNECT's time (the fixture's 1 s) from
 * the server's last: an answer 0.7 s after the AUTH, 1.4 s after the
 * connection, is taken; a client that stalls is closed, no CONNACK.
 */
TEST_F(listener, v5_enhanced_auth_timeouts)
{
	uint64_t start = loop_now_ms();
	uint8_t pkt[64], in[16];
	size_t len = auth_packet(pkt, 0x18, "STEPS", "ok");
	int fd;

	while (loop_now_ms() - start < 700)
		loop_run_once(&self->loop, 10);
	fd = steps_client(_metadata, self);
	start = loop_now_ms();
	while (loop_now_ms() - start < 700) {
		loop_run_once(&self->loop, 10);
		listener_expire(&self->l);
	}
	ASSERT_EQ(len, (size_t)send(fd, pkt, len, 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	close(fd);

	fd = steps_client(_metadata, self);
	start = loop_now_ms();
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_LE(900, loop_now_ms() - start);
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	ASSERT_EQ(1, steps_ended);
	close(fd);
}

static const struct auth_method *offer_scram(const struct listener_conn_info *ci,
					     const char *name,
					     const void **config, void *arg)
{
	(void)ci;
	*config = arg;
	return strcmp(name, scram_sha256_method.name) ? NULL :
						       &scram_sha256_method;
}

/*
 * SCRAM-SHA-256 through the listener, as a client runs it with
 * @password for the RFC 7677 user ("user", "pencil"): returns the
 * socket once the client sent its final AUTH.
 */
static int scram_client(struct __test_metadata *_metadata,
			FIXTURE_DATA(listener) *self, const char *password)
{
	static const char bare[] = "n=user,r=rOprNGfwEbeRWgbNEkqO";
	uint8_t out[256], in[256];
	char first[64], final[192];
	size_t len;
	int fd = client_connect(self->l.port);

	snprintf(first, sizeof(first), "n,,%s", bare);
	len = connect_with_method(out, "SCRAM-SHA-256", first);
	EXPECT_LE(0, fd);
	EXPECT_EQ(len, (size_t)send(fd, out, len, 0));
	run_until(&self->l, &self->loop, one_pending);
	/* AUTH 0x18, Authentication Method of 13 bytes, then the data */
	EXPECT_LT(23, client_read_served(self, fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp("\xf0", in, 1));
	EXPECT_EQ(0, memcmp("\x18", in + 2, 1));
	EXPECT_EQ(0, memcmp("\x15\0\x0dSCRAM-SHA-256\x16\0", in + 4, 18));
	scram_client_final(password, bare, (const char *)in + 23, in[22],
			   final, sizeof(final));
	len = auth_packet(out, MQTT_RC_CONTINUE_AUTH, "SCRAM-SHA-256", final);
	EXPECT_EQ(len, (size_t)send(fd, out, len, 0));
	return fd;
}

/*
 * The real method, over the socket: the right password is attached as
 * "user" with the server's signature in CONNACK; a wrong one gets 0x87.
 */
TEST_F(listener, v5_scram_sha256_exchange)
{
	static const char line[] =
		"user:SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n";
	const uint8_t refused[] = { 0x20, 3, 0, MQTT_RC_NOT_AUTHORIZED, 0 };
	char path[] = "/tmp/test_listener_scram.XXXXXX", err[256];
	struct listener_auth auth = { .method = offer_scram,
				      .check = record_identity };
	const uint8_t *tail;
	uint8_t in[16];
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(line) - 1, (size_t)write(fd, line, sizeof(line) - 1));
	close(fd);
	auth.arg = scram_file_load(path, err, sizeof(err));
	unlink(path);
	ASSERT_NE(NULL, auth.arg) TH_LOG("%s", err);
	self->l.auth = &auth;

	fd = scram_client(_metadata, self, "pencil");
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_STREQ("user", checked_identity);
	/* the module takes its re-authentication */
	ASSERT_STREQ("SCRAM-SHA-256", attach.auth_method);
	/* Authentication Method, then Authentication Data "v=" and 44 */
	ASSERT_LE(16 + 3 + 46, attach.connack_props_len);
	tail = attach.connack_props + attach.connack_props_len - 16 - 49;
	ASSERT_EQ(0, memcmp("\x15\0\x0dSCRAM-SHA-256\x16\0\x2ev=", tail,
			    21));
	close(fd);

	fd = scram_client(_metadata, self, "pencils");
	run_until(&self->l, &self->loop, none_awaiting);
	ASSERT_EQ(1, attach.calls);
	ASSERT_EQ(sizeof(refused), client_read(fd, in, sizeof(in)));
	ASSERT_EQ(0, memcmp(refused, in, sizeof(refused)));
	close(fd);
	scram_file_free((struct scram_file *)auth.arg);
}

/* NULL address: every interface, IPv6 and IPv4 on one socket. */
TEST(listen_every_interface)
{
	struct kmqtt_nl nl = { 0 };
	struct listener l;
	struct loop loop;
	char err[256];
	int fd;

	log_init(false);
	ASSERT_EQ(0, loop_init(&loop));
	ASSERT_EQ(0, listener_open(&l, &loop, &nl, NULL, "0", 1, err,
				   sizeof(err)));
	fd = client_connect(l.port);	/* over IPv4 loopback */
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_c1),
		  send(fd, connect_c1, sizeof(connect_c1), 0));
	run_until(&l, &loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	close(fd);
	listener_close(&l);
	loop_fini(&loop);
}

/* -b accepts IPv6, bracketed or not, and prints it bracketed. */
TEST(listen_ipv6)
{
	static const char *const addrs[] = { "::1", "[::1]" };
	struct kmqtt_nl nl = { 0 };
	struct listener l;
	struct loop loop;
	char err[256], want[ADDR_STR_MAX];
	size_t i;

	log_init(false);
	ASSERT_EQ(0, loop_init(&loop));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, listener_open(&l, &loop, &nl, addrs[i], "0", 1,
					   err, sizeof(err)));
		snprintf(want, sizeof(want), "[::1]:%u", l.port);
		ASSERT_STREQ(want, l.name);
		listener_close(&l);
	}
	loop_fini(&loop);
}

TEST_HARNESS_MAIN
