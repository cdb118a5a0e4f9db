// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading kmqtt.ko with live connections closes them and succeeds, idle
 * or in the middle of traffic (publishers, subscribers and new connections
 * busy); the module then loads again from $KMQTT_KO and serves clients, so
 * that tests run after this one in the same VM still have it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "module.h"
#include "mqtt_client.h"

#define MAX_KIDS	8

FIXTURE(rmmod)
{
	struct broker broker;
	int sub, pub;
	pid_t kids[MAX_KIDS];	/* busy clients, in child processes */
	int n_kids;
};

FIXTURE_SETUP(rmmod)
{
	self->sub = -1;
	self->pub = -1;
	ASSERT_NE(NULL, getenv("KMQTT_KO"))
		TH_LOG("KMQTT_KO must name kmqtt.ko to load it again");
	ASSERT_TRUE(kmqtt_module_loaded());
	ASSERT_EQ(0, broker_start(&self->broker));
}

FIXTURE_TEARDOWN(rmmod)
{
	int i;

	for (i = 0; i < self->n_kids; i++) {
		if (self->kids[i] > 0) {
			kill(self->kids[i], SIGKILL);
			waitpid(self->kids[i], NULL, 0);
		}
	}
	close(self->sub);
	close(self->pub);
	broker_stop(&self->broker, !_metadata->passed);
	/* Whatever failed above, leave the module loaded for later tests. */
	if (!kmqtt_module_loaded() && kmqtt_module_load())
		TH_LOG("could not load %s again", getenv("KMQTT_KO"));
}

TEST_F(rmmod, live_connections_closed_and_module_reloads)
{
	self->sub = mqtt_client_open(self->broker.port, "sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "t"));
	self->pub = mqtt_client_open(self->broker.port, "pub", 0);
	ASSERT_LE(0, self->pub);
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "t", "before", 6));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "t", "before", 6));

	/* What rmmod does: fail rather than wait if the module is busy. */
	ASSERT_EQ(0, kmqtt_module_unload());
	ASSERT_FALSE(kmqtt_module_loaded());
	ASSERT_EQ(0, mqtt_wait_closed(self->sub, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_wait_closed(self->pub, MQTT_TEST_TIMEOUT_MS));
	close(self->sub);
	close(self->pub);
	self->sub = -1;
	self->pub = -1;
	/* kmqttd lost its family: start a new one on the new module. */
	broker_stop(&self->broker, false);

	ASSERT_EQ(0, kmqtt_module_load());
	ASSERT_EQ(0, broker_start(&self->broker));
	self->sub = mqtt_client_open(self->broker.port, "sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "t"));
	self->pub = mqtt_client_open(self->broker.port, "pub", 0);
	ASSERT_LE(0, self->pub);
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "t", "after", 5));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "t", "after", 5));
}

/*
 * Unloading ends every session with the module, so no will is published:
 * it could reach no one (architecture.rst, "Module unload").  A
 * subscriber to the will's topic sees its connection close, no PUBLISH.
 */
TEST_F(rmmod, no_will_at_unload)
{
	struct mqtt_connect_opts opts = {
		.client_id = "willing",
		.clean_session = true,
		.will_topic = "will/willing",
		.will_payload = "gone",
		.will_len = 4,
	};
	struct mqtt_packet p = { 0 };
	int err;

	self->sub = mqtt_client_open(self->broker.port, "sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "will/#"));
	self->pub = mqtt_client_connect(self->broker.port, &opts, NULL);
	ASSERT_LE(0, self->pub);

	ASSERT_EQ(0, kmqtt_module_unload());
	do {
		err = mqtt_read_packet(self->sub, &p, MQTT_TEST_TIMEOUT_MS);
		EXPECT_TRUE(err || p.type != MQTT_PUBLISH)
			TH_LOG("a PUBLISH arrived during the unload");
	} while (!err);
	EXPECT_EQ(-ECONNRESET, err);
	mqtt_packet_free(&p);
	ASSERT_EQ(0, mqtt_wait_closed(self->pub, MQTT_TEST_TIMEOUT_MS));
}

/* ---- Unload in the middle of traffic ---- */

#define BUSY_SUBS	4
#define BUSY_PUBS	2
#define BUSY_READY	50	/* messages each subscriber gets first */
#define BUSY_CHILD_MS	90000
#define BUSY_WAIT_MS	60000

/* How a busy client ended (its exit status). */
enum busy_end {
	BUSY_CLOSED,	/* the broker closed it: what unloading does */
	BUSY_ERROR,	/* anything else went wrong */
	BUSY_TIMEOUT,	/* never closed */
	BUSY_SETUP,	/* could not connect or subscribe */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool closed_error(int err)
{
	return err == -ECONNRESET || err == -EPIPE;
}

/* QoS 1 subscriber: says "ready" on ready_fd, then reads until closed. */
static void busy_subscriber(uint16_t port, int n, int ready_fd)
{
	int64_t deadline = now_ms() + BUSY_CHILD_MS;
	struct mqtt_received m;
	int fd, got = 0, err;
	char id[32];

	snprintf(id, sizeof(id), "busy-sub-%d", n);
	fd = mqtt_client_open(port, id, 0);
	if (fd < 0 || mqtt_subscribe_qos(fd, 1, "busy/#", 1))
		_exit(BUSY_SETUP);
	while (now_ms() < deadline) {
		err = mqtt_receive(fd, &m, true, 1000);
		if (err == -ETIMEDOUT)
			continue;
		if (closed_error(err))
			_exit(BUSY_CLOSED);
		if (err)
			_exit(BUSY_ERROR);
		if (++got == BUSY_READY && write(ready_fd, "r", 1) != 1)
			_exit(BUSY_ERROR);
	}
	_exit(BUSY_TIMEOUT);
}

/* QoS 0 messages, every tenth QoS 1 (which paces it), until closed. */
static void busy_publisher(uint16_t port, int n)
{
	int64_t deadline = now_ms() + BUSY_CHILD_MS;
	struct mqtt_pub_opts opts = { .qos = 1 };
	char id[32], payload[200];
	int fd, i, err;

	snprintf(id, sizeof(id), "busy-pub-%d", n);
	memset(payload, 'p', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	fd = mqtt_client_open(port, id, 0);
	if (fd < 0)
		_exit(BUSY_SETUP);
	for (i = 0; now_ms() < deadline; i++) {
		if (i % 10 == 9) {
			opts.packet_id = i % 65535 + 1;
			err = mqtt_publish(fd, "busy/q1", payload, &opts);
		} else {
			err = mqtt_send_publish(fd, "busy/q0", payload,
						sizeof(payload) - 1);
		}
		if (closed_error(err))
			_exit(BUSY_CLOSED);
		if (err)
			_exit(BUSY_ERROR);
	}
	_exit(BUSY_TIMEOUT);
}

/*
 * Connects, publishes and disconnects again and again through kmqttd:
 * ATTACH keeps coming while the module goes.  Ends when a connection is
 * refused or closed before CONNACK: kmqttd has no module any more.
 */
static void busy_connector(uint16_t port)
{
	int64_t deadline = now_ms() + BUSY_CHILD_MS;
	int fd;

	while (now_ms() < deadline) {
		fd = mqtt_client_open(port, "busy-conn", 0);
		if (fd < 0)
			_exit(BUSY_CLOSED);
		if (mqtt_send_publish(fd, "busy/c", "c", 1) ||
		    mqtt_send_disconnect(fd)) {
			close(fd);
			_exit(BUSY_CLOSED);
		}
		mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS);
		close(fd);
	}
	_exit(BUSY_TIMEOUT);
}

static void spawn(struct __test_metadata *_metadata,
		  FIXTURE_DATA(rmmod) *self, int what, int n, int ready_fd)
{
	pid_t pid;

	ASSERT_GT(MAX_KIDS, self->n_kids);
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (what == 0)
			busy_subscriber(self->broker.port, n, ready_fd);
		else if (what == 1)
			busy_publisher(self->broker.port, n);
		busy_connector(self->broker.port);
	}
	self->kids[self->n_kids++] = pid;
}

/* Reap every busy client within BUSY_WAIT_MS: each must end BUSY_CLOSED. */
static void reap_kids(struct __test_metadata *_metadata,
		      FIXTURE_DATA(rmmod) *self)
{
	int64_t deadline = now_ms() + BUSY_WAIT_MS;
	int i, left, status;

	do {
		for (left = 0, i = 0; i < self->n_kids; i++) {
			if (self->kids[i] <= 0)
				continue;
			if (waitpid(self->kids[i], &status, WNOHANG) !=
			    self->kids[i]) {
				left++;
				continue;
			}
			self->kids[i] = 0;
			ASSERT_TRUE(WIFEXITED(status) &&
				    WEXITSTATUS(status) == BUSY_CLOSED)
				TH_LOG("busy client %d: status %#x", i, status);
		}
	} while (left && now_ms() < deadline && !usleep(10000));
	ASSERT_EQ(0, left) TH_LOG("busy clients never saw their connection close");
}

TEST_F_TIMEOUT(rmmod, unload_during_traffic, 240)
{
	int64_t deadline;
	int ready[2], kmsg, i, err, got = 0;
	struct pollfd pfd;
	char c;

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	for (i = 0; i < BUSY_SUBS; i++)
		spawn(_metadata, self, 0, i, ready[1]);
	for (i = 0; i < BUSY_PUBS; i++)
		spawn(_metadata, self, 1, i, -1);
	spawn(_metadata, self, 2, 0, -1);

	/* Traffic flows: every subscriber has had its first messages. */
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	deadline = now_ms() + BUSY_WAIT_MS;
	while (got < BUSY_SUBS && now_ms() < deadline) {
		if (poll(&pfd, 1, 100) > 0 && read(ready[0], &c, 1) == 1)
			got++;
	}
	ASSERT_EQ(BUSY_SUBS, got);
	for (i = 0; i < self->n_kids; i++)
		ASSERT_EQ(0, waitpid(self->kids[i], NULL, WNOHANG))
			TH_LOG("busy client %d ended before the unload", i);

	err = kmqtt_module_unload();
	ASSERT_EQ(0, err) TH_LOG("delete_module: %s", strerror(-err));
	ASSERT_FALSE(kmqtt_module_loaded());
	reap_kids(_metadata, self);
	ASSERT_EQ(0, kmsg_problems(kmsg));
	close(ready[0]);
	close(ready[1]);

	/* Loaded again, it serves. */
	broker_stop(&self->broker, false);
	ASSERT_EQ(0, kmqtt_module_load());
	ASSERT_EQ(0, broker_start(&self->broker));
	self->sub = mqtt_client_open(self->broker.port, "sub", 0);
	ASSERT_LE(0, self->sub);
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, "t"));
	self->pub = mqtt_client_open(self->broker.port, "pub", 0);
	ASSERT_LE(0, self->pub);
	ASSERT_EQ(0, mqtt_send_publish(self->pub, "t", "after", 5));
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, "t", "after", 5));
}

TEST_HARNESS_MAIN
