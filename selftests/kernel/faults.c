// SPDX-License-Identifier: GPL-2.0
/*
 * Faults the broker must ride out (issue #5): a peer that resets in the
 * middle of a packet or of a fan-out, a peer that vanishes without FIN or
 * RST (keepalive finds it), the memory cap reached, and requests of
 * another generic netlink version.  Each test also checks that the kernel
 * log stayed clean (lib/kmsg.h) and puts back the limits it found.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>
#include <linux/netlink.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

/* Bound for what the broker does asynchronously (closes, frees). */
#define SETTLE_MS		10000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Close with RST instead of FIN: SO_LINGER {1, 0}. */
static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static uint64_t stat_now(struct __test_metadata *_metadata,
			 struct kmqtt_genl *g, enum kmqtt_stat id)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];

	ASSERT_EQ(0, kmqtt_genl_get_info(g, stats));
	return stats[id];
}

/* Poll until the memory stat is at most max: its last value. */
static uint64_t wait_memory_below(struct __test_metadata *_metadata,
				  struct kmqtt_genl *g, uint64_t max,
				  int timeout_ms)
{
	uint64_t mem = 0;
	int err = kmqtt_genl_wait_stat(g, KMQTT_STAT_MEMORY, 0, max + 1,
				       timeout_ms, &mem);

	/* The caller checks the value. */
	ASSERT_TRUE(!err || err == -ETIMEDOUT);
	return mem;
}

/* Poll until the GET_CONN dump has n entries of client_id. */
static int wait_conn_count(struct kmqtt_genl *g, const char *client_id,
			   size_t n, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t now;
	int err;

	for (;;) {
		err = kmqtt_genl_dump_count(g, KMQTT_CMD_GET_CONN, client_id,
					    &now);
		if (err)
			return err;
		if (now == n)
			return 0;
		if (now_ms() >= deadline) {
			fprintf(stderr, "# %s: %zu connections listed, waited for %zu\n",
				client_id, now, n);
			return -ETIMEDOUT;
		}
		usleep(20000);
	}
}

/* A PUBLISH packet (QoS 0) of payload_len 'x' bytes into buf: its size. */
static size_t build_publish(uint8_t *buf, const char *topic,
			    size_t payload_len)
{
	size_t tl = strlen(topic), rem = 2 + tl + payload_len, n = 0;

	buf[n++] = MQTT_PUBLISH << 4;
	do {
		buf[n] = rem & 0x7f;
		rem >>= 7;
		if (rem)
			buf[n] |= 0x80;
		n++;
	} while (rem);
	buf[n++] = tl >> 8;
	buf[n++] = tl & 0xff;
	memcpy(buf + n, topic, tl);
	n += tl;
	memset(buf + n, 'x', payload_len);
	return n + payload_len;
}

/*
 * A client attached by the test itself, as kmqttd does it, so that the
 * server side of the connection can be shaped first: its send buffer set
 * to sndbuf (0: left alone), the client's receive buffer to rcvbuf.
 */
static int attach_client(struct __test_metadata *_metadata,
			 struct kmqtt_genl *g, const char *client_id,
			 int sndbuf, int rcvbuf)
{
	struct mqtt_connect_opts opts = { .client_id = client_id,
					  .clean_session = true };
	struct kmqtt_attach_req req = {
		.client_id = client_id,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
	};
	struct mqtt_packet connect = { 0 };
	uint16_t port = 0;
	int lfd, client, server;
	uint64_t conn_id;

	lfd = loopback_listen(&port);
	ASSERT_LE(0, lfd);
	client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, client);
	/* Before connect, so that the window scale follows it. */
	if (rcvbuf)
		ASSERT_EQ(0, setsockopt(client, SOL_SOCKET, SO_RCVBUF,
					&rcvbuf, sizeof(rcvbuf)));
	client = loopback_connect_fd(client, port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, client);
	server = loopback_accept(lfd, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, server);
	close(lfd);
	if (sndbuf)
		ASSERT_EQ(0, setsockopt(server, SOL_SOCKET, SO_SNDBUF,
					&sndbuf, sizeof(sndbuf)));
	ASSERT_EQ(0, mqtt_send_connect(client, &opts));
	ASSERT_EQ(0, mqtt_read_packet(server, &connect, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(MQTT_CONNECT, connect.type);
	mqtt_packet_free(&connect);
	req.fd = server;
	ASSERT_EQ(0, kmqtt_genl_attach(g, &req, &conn_id));
	close(server);
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(client, MQTT_TEST_TIMEOUT_MS));
	return client;
}

/* What every test of this file sets up: a broker, genl, events, kmsg. */
struct env {
	struct broker broker;
	struct kmqtt_genl genl, events;
	uint64_t saved_limits[KMQTT_LIMIT_MAX + 1];
	int kmsg;
};

static void env_setup(struct __test_metadata *_metadata, struct env *e)
{
	e->kmsg = -1;
	ASSERT_EQ(0, kmqtt_genl_open(&e->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&e->genl, e->saved_limits));
	ASSERT_EQ(0, kmqtt_genl_open(&e->events));
	ASSERT_EQ(0, kmqtt_genl_join_events(&e->events));
	e->kmsg = kmsg_open();
	ASSERT_LE(0, e->kmsg);
	ASSERT_EQ(0, broker_start(&e->broker));
}

static void env_teardown(struct __test_metadata *_metadata, struct env *e)
{
	broker_stop(&e->broker, !_metadata->passed);
	if (e->genl.nl.sock) {
		EXPECT_EQ(0, kmqtt_genl_set_limits(&e->genl, e->saved_limits,
						   KMQTT_GENL_ALL_LIMITS));
		kmqtt_genl_close(&e->genl);
	}
	if (e->events.nl.sock)
		kmqtt_genl_close(&e->events);
	if (e->kmsg >= 0)
		EXPECT_EQ(0, kmsg_problems(e->kmsg));
}

/* ------------------------------------------------------------------ */
/* A peer that resets with half a packet sent. */

FIXTURE(reset)
{
	struct env env;
	int sub, pub, victim;
};

FIXTURE_VARIANT(reset)
{
	size_t payload;	/* of the PUBLISH the victim starts */
	size_t sent;	/* bytes of it sent before the reset */
};

/* The first byte only: a fixed header cut short. */
FIXTURE_VARIANT_ADD(reset, type_byte_only)
{
	.payload = 10,
	.sent = 1,
};

/* Inside the remaining length: 2 of its 3 bytes. */
FIXTURE_VARIANT_ADD(reset, inside_remaining_length)
{
	.payload = 100000,
	.sent = 3,
};

FIXTURE_VARIANT_ADD(reset, half_a_small_publish)
{
	.payload = 200,
	.sent = 100,
};

/* The receive buffer has grown several times for it. */
FIXTURE_VARIANT_ADD(reset, quarter_of_a_large_publish)
{
	.payload = 256 * 1024,
	.sent = 64 * 1024,
};

FIXTURE_SETUP(reset)
{
	self->sub = -1;
	self->pub = -1;
	self->victim = -1;
	env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(reset)
{
	close(self->sub);
	close(self->pub);
	close(self->victim);
	env_teardown(_metadata, &self->env);
}

/*
 * The connection is gone (CONN_CLOSED with reason PEER, not in the
 * GET_CONN dump), the half packet went nowhere, and the broker serves
 * the others as before.
 */
TEST_F(reset, mid_packet)
{
	uint64_t stats[KMQTT_STAT_MAX + 1], conn_id, bytes_before;
	struct kmqtt_nl_closed ev;
	int64_t deadline;
	uint8_t *packet;
	size_t len;

	self->sub = mqtt_client_open(self->env.broker.port, "reset-sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "reset/#"));
	self->pub = mqtt_client_open(self->env.broker.port, "reset-pub", 0);
	ASSERT_LE(0, self->pub);
	self->victim = mqtt_client_open(self->env.broker.port, "reset-victim",
					0);
	ASSERT_LE(0, self->victim);
	ASSERT_EQ(0, kmqtt_genl_conn_stats(&self->env.genl, "reset-victim",
					   stats));
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->env.genl, "reset-victim",
					  &conn_id));
	bytes_before = stats[KMQTT_STAT_BYTES_IN];

	packet = malloc(variant->payload + 64);
	ASSERT_NE(NULL, packet);
	len = build_publish(packet, "reset/victim", variant->payload);
	ASSERT_GT(len, variant->sent);
	ASSERT_EQ(0, mqtt_send_raw(self->victim, packet, variant->sent));
	free(packet);
	/* Reset once the module has read what was sent. */
	deadline = now_ms() + SETTLE_MS;
	do {
		ASSERT_EQ(0, kmqtt_genl_conn_stats(&self->env.genl,
						   "reset-victim", stats));
		if (stats[KMQTT_STAT_BYTES_IN] >= bytes_before + variant->sent)
			break;
		usleep(10000);
	} while (now_ms() < deadline);
	ASSERT_LE(bytes_before + variant->sent, stats[KMQTT_STAT_BYTES_IN]);
	reset_close(self->victim);
	self->victim = -1;

	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->env.events, conn_id,
					    SETTLE_MS, &ev));
	EXPECT_EQ(KMQTT_CLOSE_PEER, ev.reason);
	ASSERT_EQ(0, wait_conn_count(&self->env.genl, "reset-victim", 0,
				     SETTLE_MS));

	/* Nothing of the half PUBLISH arrives; the next message does. */
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "reset/after", "ok", 2));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "reset/after", "ok", 2));
	ASSERT_EQ(0, mqtt_sync(self->sub));
	ASSERT_EQ(0, mqtt_sync(self->pub));
	/* And the client id is free for a new connection. */
	self->victim = mqtt_client_open(self->env.broker.port, "reset-victim",
					0);
	ASSERT_LE(0, self->victim);
	ASSERT_EQ(0, mqtt_sync(self->victim));
}

/* ------------------------------------------------------------------ */

FIXTURE(faults)
{
	struct env env;
	int fds[8];
	uint64_t dropped;	/* MSGS_DROPPED before a QoS 1 publisher paused */
	char netns[32];		/* "ip netns" name made by the test */
	char link[16];		/* its veth, on this side */
};

FIXTURE_SETUP(faults)
{
	size_t i;

	for (i = 0; i < sizeof(self->fds) / sizeof(self->fds[0]); i++)
		self->fds[i] = -1;
	env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(faults)
{
	char cmd[128];
	size_t i;

	for (i = 0; i < sizeof(self->fds) / sizeof(self->fds[0]); i++)
		close(self->fds[i]);
	if (self->link[0]) {
		snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null",
			 self->link);
		if (system(cmd))
			TH_LOG("could not remove %s", self->link);
	}
	if (self->netns[0]) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s", self->netns);
		if (system(cmd))
			TH_LOG("could not remove netns %s", self->netns);
	}
	env_teardown(_metadata, &self->env);
}

/* ---- Resets in the middle of a fan-out ---- */

#define FAN_SUBS	100
#define FAN_MSGS	100
#define FAN_RESET_EVERY	3	/* every third subscriber resets */
#define FAN_TIMEOUT_MS	120000
#define MEMORY_SLACK	16384	/* receive buffers of busy connections */

/* The publisher, in a child process: FAN_MSGS numbered QoS 1 messages. */
static void fan_publisher(uint16_t port)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1 };
	int fd, i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = mqtt_client_open(port, "fan-pub", 0);
	if (fd < 0)
		_exit(2);
	for (i = 0; i < FAN_MSGS; i++) {
		if (mqtt_publish_nth(fd, "fan/t", i, &qos1)) {
			fprintf(stderr, "# fan-pub: message %d not acknowledged\n",
				i);
			_exit(1);
		}
	}
	close(fd);
	_exit(0);
}

/*
 * 1 publisher, FAN_SUBS QoS 1 subscribers; a third of them reset at
 * different points while the messages flow (some before their first).
 * Every survivor gets every message, once and in order; the others are
 * gone from the dump; the memory stat comes back to where it was.
 */
TEST_F_TIMEOUT(faults, reset_mid_fanout, 300)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1 };
	int received[FAN_SUBS], reset_at[FAN_SUBS], fd[FAN_SUBS];
	struct pollfd pfd[FAN_SUBS];
	uint64_t mem_before;
	struct mqtt_received m;
	int i, n, done, status, waiting;
	char id[32], want[16];
	int64_t deadline;
	pid_t pub;

	mem_before = stat_now(_metadata, &self->env.genl, KMQTT_STAT_MEMORY);
	for (i = 0; i < FAN_SUBS; i++) {
		snprintf(id, sizeof(id), "fan-%03d", i);
		fd[i] = mqtt_client_open(self->env.broker.port, id, 0);
		ASSERT_LE(0, fd[i]) TH_LOG("subscriber %d", i);
		ASSERT_EQ(0, mqtt_subscribe_qos(fd[i], 1, "fan/#", 1));
		received[i] = 0;
		reset_at[i] = i % FAN_RESET_EVERY ? -1 :
			      (i / FAN_RESET_EVERY * 17) % FAN_MSGS;
	}

	fflush(NULL);
	pub = fork();
	ASSERT_LE(0, pub);
	if (pub == 0)
		fan_publisher(self->env.broker.port);

	deadline = now_ms() + FAN_TIMEOUT_MS;
	for (;;) {
		/* Resets due before the next message. */
		waiting = 0;
		for (i = 0; i < FAN_SUBS; i++) {
			if (fd[i] >= 0 && received[i] == reset_at[i]) {
				reset_close(fd[i]);
				fd[i] = -1;
			}
			pfd[i].fd = fd[i];
			pfd[i].events = POLLIN;
			waiting += fd[i] >= 0 && received[i] < FAN_MSGS;
		}
		if (!waiting)
			break;
		ASSERT_GT(deadline, now_ms())
			TH_LOG("%d subscribers still waiting", waiting);
		n = poll(pfd, FAN_SUBS, 200);
		ASSERT_LE(0, n);
		for (i = 0; n > 0 && i < FAN_SUBS; i++) {
			if (fd[i] < 0 || !pfd[i].revents)
				continue;
			ASSERT_EQ(0, mqtt_receive(fd[i], &m, true,
						  MQTT_TEST_TIMEOUT_MS))
				TH_LOG("subscriber %d after %d messages", i,
				       received[i]);
			snprintf(want, sizeof(want), "%d", received[i]);
			ASSERT_EQ(strlen(want), m.payload_len)
				TH_LOG("subscriber %d: message %d", i,
				       received[i]);
			ASSERT_EQ(0, memcmp(want, m.payload, m.payload_len))
				TH_LOG("subscriber %d: got '%.*s', expected %s",
				       i, (int)m.payload_len, m.payload, want);
			ASSERT_EQ(qos1.qos, m.opts.qos);
			ASSERT_FALSE(m.opts.dup);
			received[i]++;
		}
	}

	ASSERT_EQ(pub, waitpid(pub, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("publisher status %#x", status);
	for (done = 0, i = 0; i < FAN_SUBS; i++) {
		snprintf(id, sizeof(id), "fan-%03d", i);
		if (fd[i] >= 0) {
			ASSERT_EQ(FAN_MSGS, received[i]);
			ASSERT_EQ(0, mqtt_sync(fd[i]));
			done++;
		} else {
			ASSERT_EQ(0, wait_conn_count(&self->env.genl, id, 0,
						     SETTLE_MS));
		}
	}
	TH_LOG("%d survivors got all %d messages", done, FAN_MSGS);
	for (i = 0; i < FAN_SUBS; i++)
		close(fd[i]);
	/* Every message was acknowledged or went with its session. */
	ASSERT_GE(mem_before + MEMORY_SLACK,
		  wait_memory_below(_metadata, &self->env.genl,
				    mem_before + MEMORY_SLACK, SETTLE_MS));
}

/* ---- A peer that vanishes without a word ---- */

#define HO_NETNS	"kmqtt-faults-ho"
#define HO_LINK		"kmqho0"
#define HO_PEER		"kmqho1"
#define HO_ADDR		"10.251.7.1"
#define HO_PEER_ADDR	"10.251.7.2"
#define HO_KEEPALIVE	2
#define HO_CLOSE_MIN_MS	(HO_KEEPALIVE * 1000)
#define HO_CLOSE_MAX_MS	(HO_KEEPALIVE * 1500 + 3000)

static int run(const char *cmd)
{
	int status = system(cmd);

	if (status)
		fprintf(stderr, "# '%s': status %#x\n", cmd, status);
	return status;
}

/* A TCP connection to addr:port from a socket made in the netns at path. */
static int connect_from_netns(const char *path, const char *addr,
			      uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 2 };
	int home, ns, fd = -1, err;

	inet_pton(AF_INET, addr, &sin.sin_addr);
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (home < 0 || ns < 0 || setns(ns, CLONE_NEWNET)) {
		err = -errno;
		goto out;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = fd < 0 ? -errno : 0;
	if (setns(home, CLONE_NEWNET))
		abort();	/* the test would go on in the wrong netns */
	/* connect() gives up after SO_SNDTIMEO. */
	if (!err && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
		     connect(fd, (struct sockaddr *)&sin, sizeof(sin))))
		err = -errno;
out:
	if (err && fd >= 0)
		close(fd);
	close(home);
	close(ns);
	return err ? err : fd;
}

/*
 * A subscriber in another network namespace, behind a veth pair whose
 * link goes down: from then on nothing it sends arrives and nothing
 * arrives to it, no FIN, no RST.  The broker, still sending it QoS 1
 * messages, closes it for keepalive at 1.5 times its keepalive (plus
 * slack), and serves the others all along.
 */
TEST_F_TIMEOUT(faults, half_open_closed_by_keepalive, 120)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
	struct mqtt_connect_opts opts = { .client_id = "ho-sub",
					  .keepalive = HO_KEEPALIVE,
					  .clean_session = true };
	int *ho = &self->fds[0], *live = &self->fds[1], *pub = &self->fds[2];
	struct kmqtt_nl_closed ev;
	int64_t down_at, closed_at, deadline;
	uint64_t conn_id;
	int i, err;

	if (run("ip netns add " HO_NETNS))
		SKIP(return, "no ip netns (iproute2) here");
	strcpy(self->netns, HO_NETNS);
	if (run("ip link add " HO_LINK " type veth peer name " HO_PEER
		" netns " HO_NETNS))
		SKIP(return, "no veth here");
	strcpy(self->link, HO_LINK);
	ASSERT_EQ(0, run("ip addr add " HO_ADDR "/30 dev " HO_LINK
			 " && ip link set " HO_LINK " up"
			 " && ip -n " HO_NETNS " addr add " HO_PEER_ADDR
			 "/30 dev " HO_PEER
			 " && ip -n " HO_NETNS " link set " HO_PEER " up"));

	/* kmqttd listens on 0.0.0.0: the veth address reaches it too. */
	deadline = now_ms() + SETTLE_MS;
	do {	/* the veth's carrier comes up asynchronously */
		*ho = connect_from_netns("/run/netns/" HO_NETNS, HO_ADDR,
					 self->env.broker.port);
	} while (*ho < 0 && now_ms() < deadline && !usleep(100000));
	ASSERT_LE(0, *ho) TH_LOG("connect over the veth: %s", strerror(-*ho));
	ASSERT_EQ(0, mqtt_send_connect(*ho, &opts));
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(*ho, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_subscribe_qos(*ho, 1, "ho/#", 1));
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->env.genl, "ho-sub",
					  &conn_id));
	*live = mqtt_client_open(self->env.broker.port, "ho-live", 0);
	ASSERT_LE(0, *live);
	ASSERT_EQ(0, mqtt_subscribe_qos(*live, 1, "ho/#", 1));
	*pub = mqtt_client_open(self->env.broker.port, "ho-pub", 0);
	ASSERT_LE(0, *pub);

	/* The last packet the broker hears from it. */
	ASSERT_EQ(0, mqtt_send_pingreq(*ho));
	ASSERT_EQ(0, mqtt_expect_pingresp(*ho));
	down_at = now_ms();
	ASSERT_EQ(0, run("ip link set " HO_LINK " down"));

	/* Keep the broker sending to it, and check the others meanwhile. */
	for (i = 0;; i++) {
		ASSERT_EQ(0, mqtt_publish_nth(*pub, "ho/n", i, &qos1));
		ASSERT_EQ(0, mqtt_expect_nth(*live, "ho/n", i, &qos1));
		err = kmqtt_genl_wait_closed(&self->env.events, conn_id, 200,
					     &ev);
		if (err != -ETIMEDOUT)
			break;
		ASSERT_GT(down_at + HO_CLOSE_MAX_MS + 5000, now_ms())
			TH_LOG("not closed after %d messages", i + 1);
	}
	closed_at = now_ms();
	ASSERT_EQ(0, err);
	TH_LOG("closed %lld ms after the last packet, %d messages later",
	       (long long)(closed_at - down_at), i + 1);
	EXPECT_EQ(KMQTT_CLOSE_KEEPALIVE, ev.reason);
	EXPECT_LE(HO_CLOSE_MIN_MS, closed_at - down_at);
	EXPECT_GE(HO_CLOSE_MAX_MS, closed_at - down_at);
	ASSERT_EQ(0, wait_conn_count(&self->env.genl, "ho-sub", 0, SETTLE_MS));
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->env.genl, "ho-sub",
					     KMQTT_SESSION_GONE, SETTLE_MS));
	/* The broker goes on. */
	ASSERT_EQ(0, mqtt_publish(*pub, "ho/end", "end", &qos1));
	ASSERT_EQ(0, mqtt_expect_message(*live, "ho/end", "end", &qos1));
	/*
	 * Closed with a FIN, the socket would outlive its namespace for
	 * minutes, retransmitting over the dead link, and the namespace
	 * would be dismantled in the middle of a later suite.
	 */
	reset_close(*ho);
	*ho = -1;
}

/* ---- The memory cap ---- */

#define MEM_CAP		(64 * 1024)
#define MEM_MSG		1024
/* Per-CPU batching and in-flight charges of two CPUs. */
#define MEM_OVERSHOOT	(2 * (4096 + 2 * (MEM_MSG + 64)))
#define MEM_MAX_MSGS	2000
#define MEM_PAST_CAP	200	/* publishes after the first drop */
#define SMALL_SNDBUF	4096
#define SMALL_RCVBUF	1024

struct mem_fill {
	uint64_t base;		/* memory stat before */
	uint64_t dropped;	/* the drop counter before */
	uint64_t no_memory;	/* and its no-memory part */
	uint64_t peak;		/* highest memory stat seen */
	int sent;
	bool pub_closed;
};

/*
 * Cap memory at base + MEM_CAP, then publish QoS 0 messages to topic
 * (which a stalled subscriber takes) from pub, the connection of client
 * id pub_id, until drops are counted, and MEM_PAST_CAP more: the cap must
 * hold all along.  The publisher may lose its connection only as the
 * documentation says (its receive buffer over the cap: reason NOMEM).
 */
static void fill_to_cap(struct __test_metadata *_metadata, struct env *e,
			int pub, const char *pub_id, const char *topic,
			struct mem_fill *f)
{
	static char payload[MEM_MSG];
	struct kmqtt_nl_closed ev;
	uint64_t mem, conn_id;
	int past = -1, i;

	ASSERT_EQ(0, kmqtt_genl_find_conn(&e->genl, pub_id, &conn_id));

	f->base = stat_now(_metadata, &e->genl, KMQTT_STAT_MEMORY);
	f->dropped = stat_now(_metadata, &e->genl, KMQTT_STAT_MSGS_DROPPED);
	f->no_memory = stat_now(_metadata, &e->genl,
				KMQTT_STAT_DROPPED_NO_MEMORY);
	f->peak = f->base;
	ASSERT_EQ(0, kmqtt_genl_set_limit(&e->genl, KMQTT_LIMIT_MEMORY,
					  f->base + MEM_CAP));
	memset(payload, 'm', sizeof(payload));
	for (i = 0; i < MEM_MAX_MSGS && past < MEM_PAST_CAP; i++) {
		if (mqtt_send_publish(pub, topic, payload, sizeof(payload))) {
			f->pub_closed = true;
			break;
		}
		if (past >= 0) {
			past++;
		} else if (i % 8 == 7) {
			if (mqtt_sync(pub)) {
				f->pub_closed = true;
				break;
			}
			if (stat_now(_metadata, &e->genl,
				     KMQTT_STAT_MSGS_DROPPED) > f->dropped)
				past = 0;
		}
		if (i % 8 == 7) {
			mem = stat_now(_metadata, &e->genl, KMQTT_STAT_MEMORY);
			if (mem > f->peak)
				f->peak = mem;
		}
	}
	f->sent = i;
	if (!f->pub_closed && mqtt_sync(pub))
		f->pub_closed = true;
	mem = stat_now(_metadata, &e->genl, KMQTT_STAT_MEMORY);
	if (mem > f->peak)
		f->peak = mem;
	TH_LOG("%d messages of %d bytes published, %ju dropped; memory: base %ju, cap %ju, peak %ju%s",
	       f->sent, MEM_MSG,
	       (uintmax_t)(stat_now(_metadata, &e->genl,
				    KMQTT_STAT_MSGS_DROPPED) - f->dropped),
	       (uintmax_t)f->base, (uintmax_t)(f->base + MEM_CAP),
	       (uintmax_t)f->peak,
	       f->pub_closed ? "; the publisher was disconnected" : "");
	EXPECT_GE(f->base + MEM_CAP + MEM_OVERSHOOT, f->peak);
	EXPECT_LT(f->dropped, stat_now(_metadata, &e->genl,
				       KMQTT_STAT_MSGS_DROPPED))
		TH_LOG("no drop counted");
	/* Said why: the memory limit (the subscriber's queue is far below). */
	EXPECT_EQ(stat_now(_metadata, &e->genl, KMQTT_STAT_MSGS_DROPPED) -
		  f->dropped,
		  stat_now(_metadata, &e->genl, KMQTT_STAT_DROPPED_NO_MEMORY) -
		  f->no_memory);
	if (f->pub_closed) {
		ASSERT_EQ(0, kmqtt_genl_wait_closed(&e->events, conn_id,
						    SETTLE_MS, &ev));
		ASSERT_EQ(KMQTT_CLOSE_NOMEM, ev.reason);
	}
}

/* Read and discard until a PUBLISH on topic arrives: 0 or -errno. */
static int drain_until(int fd, const char *topic, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct mqtt_packet p = { 0 };
	struct mqtt_publish pub;
	int err;

	for (;;) {
		err = mqtt_read_packet(fd, &p, deadline - now_ms());
		if (err)
			break;
		if (!mqtt_parse_publish(&p, &pub) &&
		    pub.topic_len == strlen(topic) &&
		    !memcmp(pub.topic, topic, pub.topic_len))
			break;
	}
	mqtt_packet_free(&p);
	return err;
}

/*
 * Read and discard what fd receives until the memory stat is at most
 * max: its last value (over max after SETTLE_MS).
 */
static uint64_t drain_until_memory(struct __test_metadata *_metadata,
				   struct kmqtt_genl *g, int fd, uint64_t max)
{
	int64_t deadline = now_ms() + SETTLE_MS;
	struct mqtt_packet p = { 0 };
	uint64_t mem;
	int err, n = 0;

	for (;;) {
		err = mqtt_read_packet(fd, &p, 100);
		if (err && err != -ETIMEDOUT)
			break;
		if (err || ++n % 16 == 0) {
			mem = stat_now(_metadata, g, KMQTT_STAT_MEMORY);
			if (mem <= max || now_ms() >= deadline)
				break;
		}
	}
	mqtt_packet_free(&p);
	ASSERT_TRUE(!err || err == -ETIMEDOUT)
		TH_LOG("reading subscriber: %s", strerror(-err));
	return mem;
}

/* The next packet is a PUBLISH on topic (acknowledged if QoS 1). */
static int expect_topic(int fd, const char *topic, int timeout_ms)
{
	struct mqtt_packet p = { 0 };
	struct mqtt_publish pub;
	int err;

	err = mqtt_read_packet(fd, &p, timeout_ms);
	if (!err && mqtt_parse_publish(&p, &pub))
		err = -EPROTO;
	if (!err && (pub.topic_len != strlen(topic) ||
		     memcmp(pub.topic, topic, pub.topic_len)))
		err = -EPROTO;
	if (!err && pub.opts.qos == 1)
		err = mqtt_send_pub_ack(fd, MQTT_PUBACK, pub.opts.packet_id);
	mqtt_packet_free(&p);
	if (err)
		fprintf(stderr, "# waiting for a PUBLISH on %s: %s\n", topic,
			strerror(-err));
	return err;
}

/*
 * Architecture.rst: at the memory limit "new messages dropped and
 * counted"; publish.c: "shed the message, keep the publisher".  A
 * subscriber that does not read holds the memory; QoS 0 publishes past
 * the cap are dropped and counted, the memory stat stays near the cap
 * (fill_to_cap()).  Once the subscriber reads, the memory comes back down
 * and messages flow again.
 */
TEST_F_TIMEOUT(faults, memory_cap_sheds_qos0_then_recovers_on_read, 180)
{
	int *stalled = &self->fds[0], *pub = &self->fds[1];
	struct mem_fill f = { 0 };
	uint64_t mem;

	*stalled = attach_client(_metadata, &self->env.genl, "mem-stalled",
				 SMALL_SNDBUF, SMALL_RCVBUF);
	ASSERT_EQ(0, mqtt_subscribe(*stalled, 1, "mem/#"));
	*pub = mqtt_client_open(self->env.broker.port, "mem-pub", 0);
	ASSERT_LE(0, *pub);

	fill_to_cap(_metadata, &self->env, *pub, "mem-pub", "mem/fill", &f);
	if (f.pub_closed) {
		close(*pub);
		*pub = -1;
	}

	/* The subscriber reads: what it held is freed. */
	mem = drain_until_memory(_metadata, &self->env.genl, *stalled,
				 f.base + MEMORY_SLACK);
	ASSERT_GE(f.base + MEMORY_SLACK, mem)
		TH_LOG("memory %ju after the subscriber read, %ju before",
		       (uintmax_t)mem, (uintmax_t)f.base);

	if (*pub < 0) {
		*pub = mqtt_client_open(self->env.broker.port, "mem-pub", 0);
		ASSERT_LE(0, *pub);
	}
	ASSERT_EQ(0, mqtt_send_publish(*pub, "mem/after", "after", 5));
	ASSERT_EQ(0, drain_until(*stalled, "mem/after", MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_sync(*stalled));
}

/* The same, the subscriber disconnecting instead of reading. */
TEST_F_TIMEOUT(faults, memory_cap_recovers_on_disconnect, 180)
{
	int *stalled = &self->fds[0], *pub = &self->fds[1];
	int *sub = &self->fds[2];
	struct mem_fill f = { 0 };
	uint64_t mem;

	*stalled = attach_client(_metadata, &self->env.genl, "mem-stalled",
				 SMALL_SNDBUF, SMALL_RCVBUF);
	ASSERT_EQ(0, mqtt_subscribe(*stalled, 1, "mem/#"));
	*pub = mqtt_client_open(self->env.broker.port, "mem-pub", 0);
	ASSERT_LE(0, *pub);

	fill_to_cap(_metadata, &self->env, *pub, "mem-pub", "mem/fill", &f);

	reset_close(*stalled);
	*stalled = -1;
	mem = wait_memory_below(_metadata, &self->env.genl,
				f.base + MEMORY_SLACK, SETTLE_MS);
	ASSERT_GE(f.base + MEMORY_SLACK, mem)
		TH_LOG("memory %ju after the subscriber left, %ju before",
		       (uintmax_t)mem, (uintmax_t)f.base);
	ASSERT_EQ(0, wait_conn_count(&self->env.genl, "mem-stalled", 0,
				     SETTLE_MS));

	if (f.pub_closed) {
		close(*pub);
		*pub = mqtt_client_open(self->env.broker.port, "mem-pub", 0);
		ASSERT_LE(0, *pub);
	}
	*sub = mqtt_client_open(self->env.broker.port, "mem-sub", 0);
	ASSERT_LE(0, *sub);
	ASSERT_EQ(0, mqtt_subscribe(*sub, 1, "mem/#"));
	ASSERT_EQ(0, mqtt_send_publish(*pub, "mem/after", "after", 5));
	ASSERT_EQ(0, mqtt_expect_publish(*sub, "mem/after", "after", 5));
}

/*
 * Architecture.rst: at the cap "a receive buffer that would pass it
 * closes its connection (nomem)"; "acks and PINGRESP are never dropped".
 * Two bystanders while a stalled subscriber holds the memory: one has
 * started a PINGREQ before (its receive buffer exists) and is answered;
 * the other's PINGREQ needs a new receive buffer: it is answered, or its
 * connection closed with reason NOMEM, nothing else.  Either way its
 * client id connects again once the memory is free.
 */
TEST_F_TIMEOUT(faults, memory_cap_receive_buffers, 180)
{
	int *stalled = &self->fds[0], *pub = &self->fds[1];
	int *half = &self->fds[2], *idle = &self->fds[3];
	uint64_t stats[KMQTT_STAT_MAX + 1], idle_id, bytes, mem;
	struct kmqtt_nl_closed ev;
	struct mem_fill f = { 0 };
	int64_t deadline;
	int err;

	*stalled = attach_client(_metadata, &self->env.genl, "mem-stalled",
				 SMALL_SNDBUF, SMALL_RCVBUF);
	ASSERT_EQ(0, mqtt_subscribe(*stalled, 1, "mem/#"));
	*half = mqtt_client_open(self->env.broker.port, "mem-half", 0);
	ASSERT_LE(0, *half);
	*idle = mqtt_client_open(self->env.broker.port, "mem-idle", 0);
	ASSERT_LE(0, *idle);
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->env.genl, "mem-idle",
					  &idle_id));
	*pub = mqtt_client_open(self->env.broker.port, "mem-pub", 0);
	ASSERT_LE(0, *pub);

	fill_to_cap(_metadata, &self->env, *pub, "mem-pub", "mem/fill", &f);
	ASSERT_FALSE(f.pub_closed) TH_LOG("no publisher left for the test");

	/*
	 * The first byte of a PINGREQ, read by the module (it keeps a
	 * receive buffer for the rest), then a PINGREQ from the other.
	 */
	ASSERT_EQ(0, kmqtt_genl_conn_stats(&self->env.genl, "mem-half",
					   stats));
	bytes = stats[KMQTT_STAT_BYTES_IN];
	ASSERT_EQ(0, mqtt_send_raw(*half, (uint8_t[]){ MQTT_PINGREQ << 4 }, 1));
	deadline = now_ms() + SETTLE_MS;
	do {
		ASSERT_EQ(0, kmqtt_genl_conn_stats(&self->env.genl, "mem-half",
						   stats));
	} while (stats[KMQTT_STAT_BYTES_IN] == bytes && now_ms() < deadline &&
		 !usleep(10000));
	ASSERT_EQ(bytes + 1, stats[KMQTT_STAT_BYTES_IN]);
	ASSERT_EQ(0, mqtt_send_pingreq(*idle));
	err = mqtt_expect_pingresp(*idle);
	if (err) {
		ASSERT_EQ(-ECONNRESET, err);
		ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->env.events, idle_id,
						    SETTLE_MS, &ev));
		ASSERT_EQ(KMQTT_CLOSE_NOMEM, ev.reason);
		close(*idle);
		*idle = -1;
	}
	TH_LOG("at the cap, a PINGREQ needing a receive buffer was %s",
	       err ? "refused: connection closed (nomem)" : "answered");
	ASSERT_EQ(0, mqtt_send_raw(*half, (uint8_t[]){ 0 }, 1));
	ASSERT_EQ(0, mqtt_expect_pingresp(*half));

	reset_close(*stalled);
	*stalled = -1;
	mem = wait_memory_below(_metadata, &self->env.genl,
				f.base + MEMORY_SLACK, SETTLE_MS);
	ASSERT_GE(f.base + MEMORY_SLACK, mem);
	if (*idle < 0) {
		*idle = mqtt_client_open(self->env.broker.port, "mem-idle", 0);
		ASSERT_LE(0, *idle);
	}
	ASSERT_EQ(0, mqtt_sync(*idle));
	ASSERT_EQ(0, mqtt_sync(*half));
}

/*
 * Backpressure.  A QoS 1 PUBLISH that arrives over the cap must not be
 * acknowledged and lost (MQTT 4.3.2: with PUBACK the broker owns it), and
 * the publisher is not refused either: the broker stops reading it
 * (counted in publishers_paused) until memory is freed, then takes the
 * message.  Sets up a paused publisher *pub (client "mem-pub") and a
 * QoS 1 subscriber *reader of its topic "mem/q1"; the memory is held by
 * *stalled's queue.
 */
static void pause_publisher(struct __test_metadata *_metadata,
			    FIXTURE_DATA(faults) *self, int **stalled,
			    int **pub, int **reader)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 7 };
	static char payload[MEM_MSG + 1];
	struct mem_fill f = { 0 };
	struct mqtt_packet p = { 0 };
	uint64_t paused;

	*stalled = &self->fds[0];
	*pub = &self->fds[1];
	*reader = &self->fds[2];
	**stalled = attach_client(_metadata, &self->env.genl, "mem-stalled",
				  SMALL_SNDBUF, SMALL_RCVBUF);
	ASSERT_EQ(0, mqtt_subscribe(**stalled, 1, "mem/fill"));
	**reader = mqtt_client_open(self->env.broker.port, "mem-reader", 0);
	ASSERT_LE(0, **reader);
	ASSERT_EQ(0, mqtt_subscribe_qos(**reader, 1, "mem/q1", 1));
	**pub = mqtt_client_open(self->env.broker.port, "mem-pub", 0);
	ASSERT_LE(0, **pub);

	fill_to_cap(_metadata, &self->env, **pub, "mem-pub", "mem/fill", &f);
	ASSERT_FALSE(f.pub_closed) TH_LOG("no publisher left for the test");

	/* As large as the fill messages, which no longer fit. */
	memset(payload, 'q', MEM_MSG);
	self->dropped = stat_now(_metadata, &self->env.genl,
				 KMQTT_STAT_MSGS_DROPPED);
	ASSERT_EQ(0, mqtt_send_publish_opts(**pub, "mem/q1", payload, MEM_MSG,
					    &qos1));
	ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->env.genl,
					  KMQTT_STAT_PUBLISHERS_PAUSED, 1, 2,
					  SETTLE_MS, &paused))
		TH_LOG("%ju publishers paused", (uintmax_t)paused);
	/* Neither acknowledged nor refused while it waits. */
	ASSERT_EQ(-ETIMEDOUT, mqtt_read_packet(**pub, &p, 1000));
}

/* The paused publisher gets its PUBACK, the message is delivered. */
static void expect_resumed(struct __test_metadata *_metadata,
			   FIXTURE_DATA(faults) *self, int pub, int reader)
{
	struct mqtt_packet p = { 0 };
	uint64_t paused;

	ASSERT_EQ(0, mqtt_read_packet(pub, &p, MQTT_TEST_TIMEOUT_MS));
	EXPECT_EQ(MQTT_PUBACK, p.type);
	mqtt_packet_free(&p);
	ASSERT_EQ(0, expect_topic(reader, "mem/q1", MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->env.genl,
					 KMQTT_STAT_PUBLISHERS_PAUSED,
					 &paused));
	ASSERT_EQ(0, paused);
	/* Still connected, served as before. */
	ASSERT_EQ(0, mqtt_sync(pub));
	/* Kept, not dropped: it used to be counted as dropped all the same. */
	EXPECT_EQ(self->dropped, stat_now(_metadata, &self->env.genl,
					  KMQTT_STAT_MSGS_DROPPED));
}

/* Memory is freed: the subscriber holding it goes. */
TEST_F_TIMEOUT(faults, memory_cap_pauses_qos1_publisher_until_freed, 180)
{
	int *stalled, *pub, *reader;

	pause_publisher(_metadata, self, &stalled, &pub, &reader);
	reset_close(*stalled);
	*stalled = -1;
	expect_resumed(_metadata, self, *pub, *reader);
}

/* The memory limit is raised (SET_LIMITS frees nothing). */
TEST_F_TIMEOUT(faults, memory_cap_pauses_qos1_publisher_until_raised, 180)
{
	int *stalled, *pub, *reader;

	pause_publisher(_metadata, self, &stalled, &pub, &reader);
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->env.genl, KMQTT_LIMIT_MEMORY,
					  0));
	expect_resumed(_metadata, self, *pub, *reader);
}

/* A paused publisher that goes away leaves nothing paused. */
TEST_F_TIMEOUT(faults, memory_cap_paused_publisher_closes, 180)
{
	struct kmqtt_nl_closed ev;
	int *stalled, *pub, *reader;
	uint64_t pub_id, paused;

	pause_publisher(_metadata, self, &stalled, &pub, &reader);
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->env.genl, "mem-pub",
					  &pub_id));
	reset_close(*pub);
	*pub = -1;
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->env.events, pub_id,
					    SETTLE_MS, &ev));
	ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->env.genl,
					  KMQTT_STAT_PUBLISHERS_PAUSED, 0, 1,
					  SETTLE_MS, &paused));
	/* Nothing was taken from it. */
	ASSERT_EQ(-ETIMEDOUT, expect_topic(*reader, "mem/q1", 500));
}

/* Busy share of the CPUs over ms milliseconds, from /proc/stat (0..1). */
static double cpu_busy_over(int ms)
{
	unsigned long long v[2][8];
	double busy, all = 0;
	int i, j;

	for (i = 0; i < 2; i++) {
		FILE *f = fopen("/proc/stat", "r");

		if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
				 &v[i][0], &v[i][1], &v[i][2], &v[i][3],
				 &v[i][4], &v[i][5], &v[i][6], &v[i][7]) != 8) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		if (!i)
			usleep(ms * 1000);
	}
	for (j = 0; j < 8; j++)
		all += v[1][j] - v[0][j];
	/* idle and iowait are fields 3 and 4 */
	busy = all - (v[1][3] - v[0][3]) - (v[1][4] - v[0][4]);
	return all ? busy / all : -1;
}

#define FAN_PAUSE_SUBS		20
#define FAN_PAUSE_ROOM		1000

/*
 * A QoS 1 PUBLISH whose message fits under the memory limit but whose
 * deliveries (one per subscriber) do not: the publisher waits for room for
 * all of them, quietly.  It used to be resumed at once (only the message's
 * size was waited for), fail again and pause again, a CPU spinning while
 * nothing changed.  Once the limit allows, every subscriber gets it.
 */
TEST_F_TIMEOUT(faults, paused_for_deliveries_waits_quietly, 180)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 9 };
	int *pub = &self->fds[0], subs[FAN_PAUSE_SUBS];
	uint64_t base, paused;
	double busy;
	char id[32];
	int i;

	for (i = 0; i < FAN_PAUSE_SUBS; i++) {
		snprintf(id, sizeof(id), "fan-pause-%d", i);
		subs[i] = mqtt_client_open(self->env.broker.port, id, 0);
		ASSERT_LE(0, subs[i]);
		ASSERT_EQ(0, mqtt_subscribe_qos(subs[i], 1, "fan/pause", 1));
	}
	*pub = mqtt_client_open(self->env.broker.port, "fan-pause-pub", 0);
	ASSERT_LE(0, *pub);
	base = stat_now(_metadata, &self->env.genl, KMQTT_STAT_MEMORY);
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->env.genl, KMQTT_LIMIT_MEMORY,
					  base + FAN_PAUSE_ROOM));
	ASSERT_EQ(0, mqtt_send_publish_opts(*pub, "fan/pause", "p", 1, &qos1));
	ASSERT_EQ(0, kmqtt_genl_wait_stat(&self->env.genl,
					  KMQTT_STAT_PUBLISHERS_PAUSED, 1, 2,
					  SETTLE_MS, &paused));
	busy = cpu_busy_over(2000);
	TH_LOG("CPUs %.0f %% busy while the publisher waited", busy * 100);
	EXPECT_LE(0, busy);
	EXPECT_GT(0.3, busy);
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->env.genl,
					 KMQTT_STAT_PUBLISHERS_PAUSED, &paused));
	EXPECT_EQ(1, paused);

	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->env.genl, KMQTT_LIMIT_MEMORY,
					  0));
	ASSERT_EQ(0, mqtt_expect_pub_ack(*pub, MQTT_PUBACK, 9));
	for (i = 0; i < FAN_PAUSE_SUBS; i++) {
		EXPECT_EQ(0, expect_topic(subs[i], "fan/pause",
					  MQTT_TEST_TIMEOUT_MS));
		close(subs[i]);
	}
}

/*
 * A packet the memory limit could never allow, however much is freed:
 * its connection is closed (nomem) rather than paused for ever.
 */
TEST_F_TIMEOUT(faults, packet_larger_than_the_memory_limit_closes, 180)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
	struct kmqtt_nl_closed ev;
	int *pub = &self->fds[0];
	uint64_t pub_id;

	*pub = mqtt_client_open(self->env.broker.port, "mem-huge", 0);
	ASSERT_LE(0, *pub);
	ASSERT_EQ(0, kmqtt_genl_find_conn(&self->env.genl, "mem-huge",
					  &pub_id));
	/* Less than the 128 bytes of the smallest message. */
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->env.genl, KMQTT_LIMIT_MEMORY,
					  100));
	ASSERT_EQ(0, mqtt_send_publish_opts(*pub, "mem/huge", "h", 1, &qos1));
	ASSERT_EQ(0, kmqtt_genl_wait_closed(&self->env.events, pub_id,
					    SETTLE_MS, &ev));
	EXPECT_EQ(KMQTT_CLOSE_NOMEM, ev.reason);
}

/* ------------------------------------------------------------------ */
/* Requests of another genl version. */

FIXTURE(version)
{
	struct kmqtt_genl genl;
	int kmsg;
	int listen_fd, client, server;
};

FIXTURE_VARIANT(version)
{
	uint8_t version;
	int expect;	/* 0 or -EPROTONOSUPPORT */
};

/* The control: the module's own version is served. */
FIXTURE_VARIANT_ADD(version, v1_served)
{
	.version = KMQTT_GENL_VERSION,
	.expect = 0,
};

FIXTURE_VARIANT_ADD(version, v0_refused)
{
	.version = 0,
	.expect = -EPROTONOSUPPORT,
};

FIXTURE_VARIANT_ADD(version, v2_refused)
{
	.version = KMQTT_GENL_VERSION + 1,
	.expect = -EPROTONOSUPPORT,
};

FIXTURE_SETUP(version)
{
	self->listen_fd = -1;
	self->client = -1;
	self->server = -1;
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
}

FIXTURE_TEARDOWN(version)
{
	close(self->client);
	close(self->server);
	close(self->listen_fd);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

static void assert_answer(struct __test_metadata *_metadata,
			  const FIXTURE_VARIANT(version) *variant,
			  const char *what, const struct kmqtt_genl_ack *ack)
{
	TH_LOG("%s of version %u: %s%s%s", what, variant->version,
	       ack->err ? strerror(-ack->err) : "served",
	       ack->msg[0] ? ": " : "", ack->msg);
	ASSERT_EQ(variant->expect, ack->err);
	if (variant->expect) {
		/* Refused with a reason, and nothing answered before it. */
		ASSERT_NE(0, strlen(ack->msg));
		ASSERT_EQ(0, ack->replies);
	} else {
		ASSERT_LE(1, ack->replies);
	}
}

TEST_F(version, get_info)
{
	struct kmqtt_genl_ack ack;

	ASSERT_EQ(0, kmqtt_genl_raw_request(self->genl.nl.family,
					    KMQTT_CMD_GET_INFO,
					    variant->version, NLM_F_ACK,
					    NULL, 0, &ack));
	assert_answer(_metadata, variant, "GET_INFO", &ack);
}

static void dump(struct __test_metadata *_metadata,
		 FIXTURE_DATA(version) *self,
		 const FIXTURE_VARIANT(version) *variant, uint8_t cmd,
		 const char *what)
{
	struct kmqtt_genl_ack ack;

	ASSERT_EQ(0, kmqtt_genl_raw_request(self->genl.nl.family, cmd,
					    variant->version, NLM_F_DUMP,
					    NULL, 0, &ack));
	if (!variant->expect) {
		/* An empty dump is only NLMSG_DONE: no reply to count. */
		TH_LOG("%s dump of version %u: %u entries", what,
		       variant->version, ack.replies);
		ASSERT_EQ(0, ack.err) TH_LOG("%s", ack.msg);
		return;
	}
	assert_answer(_metadata, variant, what, &ack);
}

TEST_F(version, get_conn_dump)
{
	dump(_metadata, self, variant, KMQTT_CMD_GET_CONN, "GET_CONN");
}

TEST_F(version, get_session_dump)
{
	dump(_metadata, self, variant, KMQTT_CMD_GET_SESSION, "GET_SESSION");
}

TEST_F(version, get_subscription_dump)
{
	dump(_metadata, self, variant, KMQTT_CMD_GET_SUBSCRIPTION,
	     "GET_SUBSCRIPTION");
}

/*
 * The shared client's dumps return the error that the module's NLMSG_DONE
 * carries (its version check runs in the dump, not before it), with the
 * reason: a refused dump is not an empty list, and a client that is "no
 * longer listed" after one is not gone.
 */
TEST_F(version, client_dumps)
{
	static const uint8_t cmds[] = {
		KMQTT_CMD_GET_CONN,
		KMQTT_CMD_GET_SESSION,
		KMQTT_CMD_GET_SUBSCRIPTION,
	};
	struct kmqtt_nl *nl = &self->genl.nl;
	size_t i, n;

	nl->version = variant->version;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ASSERT_EQ(variant->expect,
			  kmqtt_genl_dump_count(&self->genl, cmds[i],
						"version-nobody", &n));
		ASSERT_EQ(0, n);
		if (variant->expect) {
			TH_LOG("%s", nl->error);
			ASSERT_NE(NULL, strstr(nl->error, "version mismatch"));
		}
	}
	ASSERT_EQ(variant->expect,
		  kmqtt_genl_wait_session(&self->genl, "version-nobody",
					  KMQTT_SESSION_GONE,
					  MQTT_TEST_TIMEOUT_MS));
}

/*
 * GET_INFO and the dumps take no attribute; one is refused (EINVAL, with
 * a reason) rather than ignored.
 */
TEST(attribute_refused_where_none_is_taken)
{
	static const struct {
		uint8_t cmd;
		uint16_t nlflags;
	} ops[] = {
		{ KMQTT_CMD_GET_INFO, NLM_F_ACK },
		{ KMQTT_CMD_GET_CONN, NLM_F_DUMP },
		{ KMQTT_CMD_GET_SESSION, NLM_F_DUMP },
		{ KMQTT_CMD_GET_SUBSCRIPTION, NLM_F_DUMP },
	};
	struct {
		struct nlattr hdr;
		uint32_t value;
	} attr = {
		.hdr = { .nla_len = sizeof(attr), .nla_type = KMQTT_A_VERSION },
		.value = KMQTT_GENL_VERSION,
	};
	struct kmqtt_genl_ack ack;
	struct kmqtt_genl genl;
	size_t i;

	ASSERT_EQ(0, kmqtt_genl_open(&genl));
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		/* The control: without it, the request is served. */
		ASSERT_EQ(0, kmqtt_genl_raw_request(genl.nl.family, ops[i].cmd,
						    KMQTT_GENL_VERSION,
						    ops[i].nlflags, NULL, 0,
						    &ack));
		EXPECT_EQ(0, ack.err) TH_LOG("%s", ack.msg);
		ASSERT_EQ(0, kmqtt_genl_raw_request(genl.nl.family, ops[i].cmd,
						    KMQTT_GENL_VERSION,
						    ops[i].nlflags, &attr,
						    sizeof(attr), &ack));
		TH_LOG("command %u with an attribute: %s: %s", ops[i].cmd,
		       strerror(-ack.err), ack.msg);
		EXPECT_EQ(-EINVAL, ack.err);
		EXPECT_EQ(0, ack.replies);
		EXPECT_NE(0, strlen(ack.msg));
	}
	kmqtt_genl_close(&genl);
}

/* A refused ATTACH leaves the socket alone: the right version takes it. */
TEST_F(version, attach)
{
	struct mqtt_connect_opts opts = { .client_id = "version-attach",
					  .clean_session = true };
	struct kmqtt_attach_req req = {
		.client_id = "version-attach",
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
	};
	struct mqtt_packet connect = { 0 };
	struct kmqtt_genl_ack ack;
	uint16_t port = 0;

	self->listen_fd = loopback_listen(&port);
	ASSERT_LE(0, self->listen_fd);
	self->client = loopback_connect(port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->client);
	self->server = loopback_accept(self->listen_fd, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->server);
	ASSERT_EQ(0, mqtt_send_connect(self->client, &opts));
	ASSERT_EQ(0, mqtt_read_packet(self->server, &connect,
				      MQTT_TEST_TIMEOUT_MS));
	mqtt_packet_free(&connect);

	req.fd = self->server;
	ASSERT_EQ(0, kmqtt_genl_raw_attach(self->genl.nl.family,
					   variant->version, &req, &ack));
	assert_answer(_metadata, variant, "ATTACH", &ack);
	if (variant->expect) {
		ASSERT_EQ(0, kmqtt_genl_raw_attach(self->genl.nl.family,
						   KMQTT_GENL_VERSION, &req,
						   &ack));
		ASSERT_EQ(0, ack.err) TH_LOG("%s", ack.msg);
	}
	ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
		  mqtt_expect_connack(self->client, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_sync(self->client));
}

TEST_HARNESS_MAIN
