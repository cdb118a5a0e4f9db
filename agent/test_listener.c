// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the listener over real loopback sockets, with kmqtt_nl_attach()
 * replaced by a fake that records the request and what is left unread on
 * the socket: the bytes kmqtt.ko would get.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>

#include "connect.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "nl.h"
#include "kselftest_harness.h"

/* What the fake ATTACH saw. */
static struct {
	int calls;
	int result;			/* what it returns */
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	uint8_t proto_level;
	uint16_t keepalive;
	bool clean_session;
	uint8_t unread[256];		/* socket bytes after the CONNECT */
	ssize_t unread_len;
} attach;

int kmqtt_nl_attach(struct kmqtt_nl *nl, const struct kmqtt_nl_attach *req,
		    uint64_t *conn_id)
{
	attach.calls++;
	memcpy(attach.client_id, req->client_id, req->client_id_len);
	attach.client_id[req->client_id_len] = '\0';
	attach.proto_level = req->proto_level;
	attach.keepalive = req->keepalive;
	attach.clean_session = req->clean_session;
	attach.unread_len = recv(req->fd, attach.unread, sizeof(attach.unread),
				 MSG_DONTWAIT);
	*conn_id = 1;
	if (attach.result)
		snprintf(nl->error, sizeof(nl->error), "ATTACH: fake failure");
	return attach.result;
}

/* CONNECT, MQTT 3.1.1, clean session, keepalive 30, client id "c1". */
static const uint8_t connect_c1[] = {
	0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 2, 'c', '1',
};

/* Same with an empty client id. */
static const uint8_t connect_empty_id[] = {
	0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 0,
};

static const uint8_t connect_v5[] = {
	0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 30, 0, 0, 2, 'c', '1',
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
}

FIXTURE_TEARDOWN(listener)
{
	listener_close(&self->l);
	loop_fini(&self->loop);
}

static int client_connect(uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct timeval tv = { .tv_sec = 3 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
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

/* The first packet read from @fd, or EOF: returns its length or -1. */
static ssize_t client_read(int fd, uint8_t *buf, size_t len)
{
	return recv(fd, buf, len, 0);
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
	close(fd);
}

TEST_F(listener, empty_client_id_gets_generated_id)
{
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_empty_id),
		  send(fd, connect_empty_id, sizeof(connect_empty_id), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_EQ(CONNECT_GENERATED_ID_LEN, strlen(attach.client_id));
	ASSERT_EQ(0, strncmp(CONNECT_GENERATED_ID_PREFIX, attach.client_id,
			     strlen(CONNECT_GENERATED_ID_PREFIX)));
	close(fd);
}

TEST_F(listener, attach_failure_sends_server_unavailable)
{
	const uint8_t expect[] = { 0x20, 2, 0, MQTT_CONNACK_SERVER_UNAVAILABLE };
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	attach.result = -ENOMEM;
	ASSERT_EQ(sizeof(connect_c1),
		  send(fd, connect_c1, sizeof(connect_c1), 0));
	run_until(&self->l, &self->loop, attached_once);
	ASSERT_EQ(1, attach.calls);
	ASSERT_EQ(0, self->l.pending_count);
	ASSERT_EQ(sizeof(expect), client_read(fd, in, sizeof(in)));
	ASSERT_EQ(0, memcmp(expect, in, sizeof(expect)));
	ASSERT_EQ(0, client_read(fd, in, sizeof(in)));
	close(fd);
}

TEST_F(listener, mqtt5_refused_with_connack_1)
{
	const uint8_t expect[] = { 0x20, 2, 0, MQTT_CONNACK_UNACCEPTABLE_PROTOCOL };
	uint8_t in[16];
	int fd = client_connect(self->l.port);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(connect_v5),
		  send(fd, connect_v5, sizeof(connect_v5), 0));
	run_until(&self->l, &self->loop, one_pending);
	run_until(&self->l, &self->loop, none_pending);
	ASSERT_EQ(0, attach.calls);
	ASSERT_EQ(sizeof(expect), client_read(fd, in, sizeof(in)));
	ASSERT_EQ(0, memcmp(expect, in, sizeof(expect)));
	close(fd);
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
	close(fd);
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
