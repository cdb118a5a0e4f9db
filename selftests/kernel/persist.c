// SPDX-License-Identifier: GPL-2.0
/*
 * Persistence (Documentation/persistence.rst): kmqttd saves retained
 * messages and persistent sessions with their subscriptions to its
 * snapshot at exit and on autosave, and gives them back to a module
 * loaded anew, a bridge's messages waiting for its link and wills that
 * have not gone out included; a module that kept its state is not overwritten
 * by an older snapshot; a damaged snapshot is kept aside and kmqttd
 * starts without it; a location kmqttd cannot use stops it at start.
 *
 * The suite unloads and loads kmqtt.ko (from $KMQTT_KO), so tools/check
 * runs it after the others, and it leaves the module loaded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "broker.h"
#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "module.h"
#include "mqtt5.h"
#include "mqtt_client.h"

#define BIG_LEN		5000
#define DEVICE		"persist-dev"
#define RESTORED	"Restored 3 retained messages, 1 sessions, 1 subscriptions and 2 messages of sessions"
#define SAVED		"Saved 3 retained messages, 1 sessions, 1 subscriptions and 2 messages of sessions"

static const struct mqtt_pub_opts retained1 = { .qos = 1, .retain = true,
						.packet_id = 1 };
static const struct mqtt_pub_opts retained0 = { .retain = true };
static const struct mqtt_pub_opts at_qos1 = { .qos = 1, .packet_id = 2 };
static const struct mqtt_pub_opts at_qos0;
static const struct mqtt_pub_opts q2_out = { .qos = 2, .packet_id = 77 };
static const struct mqtt_pub_opts q2_again = { .qos = 2, .packet_id = 77,
					       .dup = true };

FIXTURE(persist)
{
	struct broker broker;
	struct kmqtt_genl genl;
	char dir[64];
	char config[256];
	int fd;
	uint16_t inflight_id;	/* of DEVICE's message in flight */
};

/* Remove the snapshot directory and whatever is in it. */
static void remove_dir(const char *path)
{
	struct dirent *e;
	char file[512];
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		unlink(file);
	}
	closedir(d);
	rmdir(path);
}

/*
 * Each test starts from a module loaded anew (no retained message or
 * session of earlier suites, the default limits), and leaves one.
 */
FIXTURE_SETUP(persist)
{
	self->fd = -1;
	self->broker.pid = -1;
	ASSERT_NE(NULL, getenv("KMQTT_KO"))
		TH_LOG("KMQTT_KO must name kmqtt.ko to load it again");
	ASSERT_TRUE(kmqtt_module_loaded());
	ASSERT_EQ(0, kmqtt_module_unload());
	ASSERT_EQ(0, kmqtt_module_load());
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	strcpy(self->dir, "/tmp/kmqtt-persist.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->config, sizeof(self->config),
		 "log_type all\npersistence true\npersistence_location %s/\n",
		 self->dir);
}

FIXTURE_TEARDOWN(persist)
{
	if (self->fd >= 0)
		close(self->fd);
	kmqtt_genl_close(&self->genl);
	broker_stop(&self->broker, !_metadata->passed);
	if (kmqtt_module_loaded() && kmqtt_module_unload())
		TH_LOG("could not unload the module");
	if (kmqtt_module_load())
		TH_LOG("could not load %s again", getenv("KMQTT_KO"));
	remove_dir(self->dir);
}

static char *big_payload(void)
{
	char *big = malloc(BIG_LEN + 1);
	int i;

	if (!big)
		return NULL;
	for (i = 0; i < BIG_LEN; i++)
		big[i] = 'A' + i % 26;
	big[BIG_LEN] = 0;
	return big;
}

/*
 * Store what the restore tests look for: retained messages, and the
 * persistent session of DEVICE, offline, with one subscription, a QoS 1
 * message in flight (sent, not acknowledged) and one queued after it, and
 * a QoS 2 PUBLISH of its own received but not released.  A clean session
 * stays connected: it is not saved.
 */
static void store_messages(struct __test_metadata *_metadata,
			   FIXTURE_DATA(persist) *self)
{
	struct mqtt_connect_opts device = { .client_id = DEVICE };
	char *big = big_payload();
	struct mqtt_received m;
	int fd, pub;

	ASSERT_NE(NULL, big);
	fd = mqtt_client_connect(self->broker.port, &device, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe_qos(fd, 1, "persist/cmd/#", 1));
	pub = mqtt_client_open(self->broker.port, "persist-pub", 0);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_publish(pub, "persist/cmd/1", "one", &at_qos1));
	ASSERT_EQ(0, mqtt_receive(fd, &m, false, MQTT_TEST_TIMEOUT_MS));
	self->inflight_id = m.opts.packet_id;
	/* A QoS 2 PUBLISH of its own, not released yet. */
	ASSERT_EQ(0, mqtt_send_publish_opts(fd, "persist/q2", "once", 4,
					    &q2_out));
	ASSERT_EQ(0, mqtt_expect_pub_ack(fd, MQTT_PUBREC, q2_out.packet_id));
	close(fd);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, DEVICE,
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_publish(pub, "persist/cmd/2", "two", &at_qos1));
	self->fd = mqtt_client_open(self->broker.port, "persist-clean", 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mqtt_subscribe(self->fd, 1, "persist/clean"));
	ASSERT_EQ(0, mqtt_publish(pub, "persist/a", "kept", &retained1));
	ASSERT_EQ(0, mqtt_publish(pub, "persist/big", big, &retained1));
	ASSERT_EQ(0, mqtt_publish(pub, "$persist/sys", "dollar", &retained0));
	/* The broker's own figure, as kmqttd's $SYS tree: not saved. */
	ASSERT_EQ(0, kmqtt_genl_publish(&self->genl, "$SYS/broker/persist",
					"stale", 1, true))
		TH_LOG("%s", self->genl.nl.error);
	ASSERT_EQ(0, mqtt_sync(pub));
	close(pub);
	free(big);
}

/*
 * They are back: the retained messages whole for a new subscriber, the
 * device's session with its subscription, the message in flight resent
 * with DUP and its packet id, the queued one after it, then what its
 * subscription queued since the restore; its own QoS 2 PUBLISH, resent,
 * is not delivered twice.
 */
static void expect_messages(struct __test_metadata *_metadata,
			    FIXTURE_DATA(persist) *self)
{
	struct mqtt_connect_opts device = { .client_id = DEVICE };
	char *big = big_payload();
	struct mqtt_packet p = { 0 };
	struct mqtt_received m;
	struct mqtt_publish pub;
	bool present = false;
	int fd, listener;

	ASSERT_NE(NULL, big);
	fd = mqtt_client_open(self->broker.port, "persist-pub", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_publish(fd, "persist/cmd/reboot", "now", &at_qos1));
	close(fd);
	fd = mqtt_client_connect(self->broker.port, &device, &present);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(present);
	ASSERT_EQ(0, mqtt_receive(fd, &m, true, MQTT_TEST_TIMEOUT_MS));
	EXPECT_STREQ("persist/cmd/1", m.topic);
	EXPECT_EQ(1, m.opts.qos);
	EXPECT_TRUE(m.opts.dup);
	EXPECT_FALSE(m.opts.retain);
	EXPECT_EQ(self->inflight_id, m.opts.packet_id);
	ASSERT_EQ(0, mqtt_expect_message(fd, "persist/cmd/2", "two",
					 &at_qos1));
	ASSERT_EQ(0, mqtt_expect_message(fd, "persist/cmd/reboot", "now",
					 &at_qos1));
	/* Its QoS 2 PUBLISH again: acknowledged, not delivered twice. */
	listener = mqtt_client_open(self->broker.port, "persist-listener", 0);
	ASSERT_LE(0, listener);
	ASSERT_EQ(0, mqtt_subscribe(listener, 1, "persist/q2"));
	ASSERT_EQ(0, mqtt_send_publish_opts(fd, "persist/q2", "once", 4,
					    &q2_again));
	ASSERT_EQ(0, mqtt_expect_pub_ack(fd, MQTT_PUBREC, q2_out.packet_id));
	ASSERT_EQ(0, mqtt_send_pub_ack(fd, MQTT_PUBREL, q2_out.packet_id));
	ASSERT_EQ(0, mqtt_expect_pub_ack(fd, MQTT_PUBCOMP, q2_out.packet_id));
	ASSERT_EQ(0, mqtt_send_publish(fd, "persist/q2", "end", 3));
	ASSERT_EQ(0, mqtt_expect_message(listener, "persist/q2", "end",
					 &at_qos0));
	close(listener);
	close(fd);

	fd = mqtt_client_open(self->broker.port, "persist-sub", 0);
	ASSERT_LE(0, fd);
	/* At the QoS it was published with. */
	ASSERT_EQ(0, mqtt_subscribe_qos(fd, 1, "persist/a", 1));
	ASSERT_EQ(0, mqtt_expect_message(fd, "persist/a", "kept", &retained1));
	ASSERT_EQ(0, mqtt_subscribe(fd, 2, "$persist/sys"));
	ASSERT_EQ(0, mqtt_expect_message(fd, "$persist/sys", "dollar",
					 &retained0));
	/* Restored, it would come before the next one. */
	ASSERT_EQ(0, mqtt_subscribe(fd, 4, "$SYS/broker/persist"));
	ASSERT_EQ(0, mqtt_subscribe(fd, 3, "persist/big"));
	ASSERT_EQ(0, mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_parse_publish(&p, &pub));
	ASSERT_EQ(strlen("persist/big"), pub.topic_len);
	EXPECT_EQ(0, memcmp("persist/big", pub.topic, pub.topic_len))
		TH_LOG("a $SYS retained message was restored");
	EXPECT_TRUE(pub.opts.retain);
	ASSERT_EQ(BIG_LEN, pub.payload_len);
	EXPECT_EQ(0, memcmp(big, pub.payload, BIG_LEN));
	mqtt_packet_free(&p);
	close(fd);
	free(big);
}

/*
 * Unload and load the module: its state is made anew, empty, and its
 * family may have another id.
 */
static void reload_module(struct __test_metadata *_metadata,
			  FIXTURE_DATA(persist) *self)
{
	kmqtt_genl_close(&self->genl);
	ASSERT_EQ(0, kmqtt_module_unload());
	ASSERT_EQ(0, kmqtt_module_load());
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
}

/* Write @len bytes of @data to @dir/kmqtt.db. */
static int write_snapshot(const char *dir, const void *data, size_t len)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/kmqtt.db", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		err = -EIO;
	close(fd);
	return err;
}

/* How many files of @dir begin with @prefix. */
static int count_files(const char *dir, const char *prefix)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/*
 * Saved when kmqttd stops, retained messages ("$" topics and one of a
 * few kilobytes too) come back after the module is unloaded and loaded.
 */
TEST_F(persist, retained_survive_module_reload)
{
	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	store_messages(_metadata, self);
	broker_stop(&self->broker, false);
	reload_module(_metadata, self);

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	ASSERT_EQ(0, broker_wait_log(&self->broker,
				     RESTORED, 1,
				     MQTT_TEST_TIMEOUT_MS));
	expect_messages(_metadata, self);
}

/*
 * The remote broker's side of a bridge link: accept kmqttd's connection,
 * read its CONNECT, answer CONNACK 0.  Returns the socket or -errno.
 */
static int accept_bridge(int listen_fd)
{
	static const uint8_t connack[] = { 0x20, 2, 0, 0 };
	struct mqtt_packet p = {};
	int fd, err;

	fd = loopback_accept(listen_fd, MQTT_TEST_TIMEOUT_MS);
	if (fd < 0)
		return fd;
	err = mqtt_read_packet(fd, &p, MQTT_TEST_TIMEOUT_MS);
	if (!err && p.type != MQTT_CONNECT)
		err = -EPROTO;
	if (!err)
		err = mqtt_send_raw(fd, connack, sizeof(connack));
	mqtt_packet_free(&p);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Store and forward across a module reload: QoS 1 messages for a bridge
 * whose link is down wait in its session, are saved with it, and go out
 * in order on the first link of the restored broker.
 */
TEST_F(persist, bridge_queue_survives_module_reload)
{
	static const struct mqtt_pub_opts got1 = { .qos = 1 };
	char config[512];
	uint16_t port = 0;
	int listen_fd, remote, pub, i;

	listen_fd = loopback_listen(&port);
	ASSERT_LE(0, listen_fd);
	/* No dialling again before kmqttd stops: the link stays down. */
	snprintf(config, sizeof(config),
		 "%sconnection up\naddress 127.0.0.1:%u\ntopic q/# out 1\n"
		 "remote_clientid box\ncleansession false\n"
		 "notifications false\nrestart_timeout 600\n",
		 self->config, port);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	remote = accept_bridge(listen_fd);
	ASSERT_LE(0, remote);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "local.box",
					     KMQTT_SESSION_ONLINE,
					     MQTT_TEST_TIMEOUT_MS));
	close(remote);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "local.box",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	pub = mqtt_client_open(self->broker.port, "bridge-pub", 0);
	ASSERT_LE(0, pub);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, mqtt_publish_nth(pub, "q/n", i, &at_qos1));
	close(pub);
	broker_stop(&self->broker, false);
	reload_module(_metadata, self);

	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	remote = accept_bridge(listen_fd);
	ASSERT_LE(0, remote);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, mqtt_expect_nth(remote, "q/n", i, &got1));
	ASSERT_EQ(0, mqtt_expect_silence(remote, 300));
	close(remote);
	close(listen_fd);
}

/* A 5.0 client of kmqttd with @will_delay, whose session lasts 600 s. */
static int connect5_with_will(uint16_t port, const char *client_id,
			      const char *will_topic, uint32_t will_delay)
{
	struct mqtt5_props props = {}, will_props = {};
	struct mqtt_connect_opts opts = {
		.client_id = client_id,
		.will_topic = will_topic,
		.will_payload = client_id,
		.will_len = strlen(client_id),
		.will_qos = 1,
		.will_retain = true,
		.will_props = &will_props,
	};
	int fd, rc;

	mqtt5_prop_u32(&props, MQTT_PROP_SESSION_EXPIRY, 600);
	mqtt5_prop_u32(&will_props, MQTT_PROP_WILL_DELAY, will_delay);
	fd = loopback_connect(port, MQTT_TEST_TIMEOUT_MS);
	if (fd < 0)
		return fd;
	rc = mqtt5_send_connect(fd, &opts, &props);
	if (!rc)
		rc = mqtt5_read_connack(fd, MQTT_TEST_TIMEOUT_MS, NULL, NULL);
	if (rc) {
		close(fd);
		return rc < 0 ? rc : -EPROTO;
	}
	return fd;
}

/*
 * Wills that have not gone out come back: one waiting for its delay in
 * an offline session, due when the rest of the delay has passed, and
 * that of a client connected at the save, whose connection the module's
 * unload ended (no will goes out then), due at once.  A client that
 * disconnected cleanly left none.
 */
TEST_F(persist, pending_wills_survive_module_reload)
{
	static const struct mqtt_pub_opts will_got = { .qos = 1,
						       .retain = true };
	struct mqtt_connect_opts online = {
		.client_id = "will-online", .will_topic = "wills/online",
		.will_payload = "will-online", .will_len = 11,
		.will_qos = 1, .will_retain = true,
	};
	struct mqtt_connect_opts clean = {
		.client_id = "will-clean", .will_topic = "wills/clean",
		.will_payload = "will-clean", .will_len = 10,
		.will_qos = 1, .will_retain = true,
	};
	struct mqtt_received m[2];
	int delayed, sub, fd;

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	delayed = connect5_with_will(self->broker.port, "will-delayed",
				     "wills/delayed", 4);
	ASSERT_LE(0, delayed);
	/* Gone without DISCONNECT: its will waits 4 s in the session. */
	close(delayed);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "will-delayed",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	self->fd = mqtt_client_connect(self->broker.port, &online, NULL);
	ASSERT_LE(0, self->fd);
	fd = mqtt_client_connect(self->broker.port, &clean, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_send_disconnect(fd));
	ASSERT_EQ(0, mqtt_wait_closed(fd, MQTT_TEST_TIMEOUT_MS));
	close(fd);
	broker_stop(&self->broker, false);
	reload_module(_metadata, self);
	close(self->fd);
	self->fd = -1;

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	/* Both retained: there once the delay has passed. */
	sleep(5);
	sub = mqtt_client_open(self->broker.port, "will-sub", 0);
	ASSERT_LE(0, sub);
	ASSERT_EQ(0, mqtt_subscribe_qos(sub, 1, "wills/#", 1));
	ASSERT_EQ(0, mqtt_receive(sub, &m[0], true, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_receive(sub, &m[1], true, MQTT_TEST_TIMEOUT_MS))
		TH_LOG("only %s", m[0].topic);
	ASSERT_EQ(0, mqtt_expect_silence(sub, 300));
	close(sub);
	if (strcmp(m[0].topic, m[1].topic) > 0) {
		struct mqtt_received t = m[0];

		m[0] = m[1];
		m[1] = t;
	}
	EXPECT_STREQ("wills/delayed", m[0].topic);
	EXPECT_EQ(0, memcmp(m[0].payload, "will-delayed", 12));
	EXPECT_STREQ("wills/online", m[1].topic);
	EXPECT_EQ(0, memcmp(m[1].payload, "will-online", 11));
	EXPECT_EQ(will_got.retain, m[1].opts.retain);
}

/*
 * A client may publish an empty message and have an empty will: one
 * queued for an offline session and one pending come back like any
 * other, and the rest of the snapshot with them.
 */
TEST_F(persist, empty_messages_survive_module_reload)
{
	struct mqtt_connect_opts device = { .client_id = "empty-dev" };
	struct mqtt_connect_opts willing = {
		.client_id = "empty-will", .will_topic = "empty/will",
		.will_payload = "", .will_len = 0, .will_qos = 1,
	};
	int fd, pub;

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	fd = mqtt_client_connect(self->broker.port, &device, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe_qos(fd, 1, "empty/#", 1));
	close(fd);
	ASSERT_EQ(0, kmqtt_genl_wait_session(&self->genl, "empty-dev",
					     KMQTT_SESSION_OFFLINE,
					     MQTT_TEST_TIMEOUT_MS));
	pub = mqtt_client_open(self->broker.port, "empty-pub", 0);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_publish(pub, "empty/queued", "", &at_qos1));
	close(pub);
	self->fd = mqtt_client_connect(self->broker.port, &willing, NULL);
	ASSERT_LE(0, self->fd);
	broker_stop(&self->broker, false);
	reload_module(_metadata, self);
	close(self->fd);
	self->fd = -1;

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	ASSERT_EQ(0, broker_wait_log(&self->broker,
				     "Restored 0 retained messages, 2 sessions, 1 subscriptions and 2 messages of sessions",
				     1, MQTT_TEST_TIMEOUT_MS));
	fd = mqtt_client_connect(self->broker.port, &device, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_expect_message(fd, "empty/queued", "", &at_qos1));
	/* The will went out at the restore, into the queue after it. */
	ASSERT_EQ(0, mqtt_expect_message(fd, "empty/will", "", &at_qos1));
	close(fd);
}

/*
 * Without an exit to save at (kmqttd killed), what autosave wrote is
 * what comes back.
 */
TEST_F(persist, autosave_before_a_crash)
{
	char config[320];

	snprintf(config, sizeof(config), "%sautosave_interval 1\n",
		 self->config);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	store_messages(_metadata, self);
	/* One save at start, then one with the messages. */
	ASSERT_EQ(0, broker_wait_log(&self->broker,
				     SAVED, 1,
				     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, broker_kill(&self->broker));
	reload_module(_metadata, self);
	ASSERT_EQ(0, broker_restart(&self->broker));
	ASSERT_EQ(0, broker_wait_log(&self->broker,
				     RESTORED, 1,
				     MQTT_TEST_TIMEOUT_MS));
	expect_messages(_metadata, self);
}

/*
 * kmqtt_save_before_ack, no autosave: every QoS 1/2 message acknowledged
 * was saved first, so kmqttd killed the moment the last ack came loses
 * none of them.  A QoS 1 PUBLISH after the QoS 0 one of store_messages()
 * gets that saved too.  Without the option only the save at start,
 * before any message, would be there to restore.
 */
TEST_F(persist, acknowledged_means_saved)
{
	char config[320];
	int fd;

	snprintf(config, sizeof(config),
		 "%sautosave_interval 0\nkmqtt_save_before_ack true\n",
		 self->config);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	store_messages(_metadata, self);
	fd = mqtt_client_open(self->broker.port, "persist-last", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_publish(fd, "persist/nobody", "x", &at_qos1));
	ASSERT_EQ(0, broker_kill(&self->broker));
	close(fd);
	reload_module(_metadata, self);
	ASSERT_EQ(0, broker_restart(&self->broker));
	ASSERT_EQ(0, broker_wait_log(&self->broker, RESTORED, 1,
				     MQTT_TEST_TIMEOUT_MS));
	expect_messages(_metadata, self);
}

/* Wait until the module holds acks (@hold) or not, as kmqttd told it. */
static int wait_ack_hold(FIXTURE_DATA(persist) *self, bool hold)
{
	struct kmqtt_nl_ack_hold out;
	int i, rc;

	for (i = 0; i < MQTT_TEST_TIMEOUT_MS / 10; i++) {
		rc = kmqtt_nl_ack_hold(&self->genl.nl, -1, 0, &out);
		if (rc || out.hold == hold)
			return rc;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/*
 * A reload turns kmqtt_save_before_ack on and off; acks come either way
 * (kmqttd saves for them while it is on).
 */
TEST_F(persist, save_before_ack_on_reload)
{
	char config[320];
	int fd;

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	ASSERT_EQ(0, wait_ack_hold(self, false));
	snprintf(config, sizeof(config), "%skmqtt_save_before_ack true\n",
		 self->config);
	ASSERT_EQ(0, broker_rewrite_config(&self->broker, config));
	ASSERT_EQ(0, broker_signal(&self->broker, SIGHUP));
	ASSERT_EQ(0, wait_ack_hold(self, true));
	fd = mqtt_client_open(self->broker.port, "persist-pub", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_publish(fd, "persist/on", "x", &at_qos1));
	ASSERT_EQ(0, broker_rewrite_config(&self->broker, self->config));
	ASSERT_EQ(0, broker_signal(&self->broker, SIGHUP));
	ASSERT_EQ(0, wait_ack_hold(self, false));
	ASSERT_EQ(0, mqtt_publish(fd, "persist/off", "y", &at_qos1));
	close(fd);
}

/* The option without persistence would hold acks for good: refused. */
TEST_F(persist, save_before_ack_needs_persistence)
{
	ASSERT_EQ(-ECHILD, broker_start_config(&self->broker,
					       "kmqtt_save_before_ack true\n"));
}

#define FILL_TOPICS	20000

/*
 * A listener that a reload removes while an autosave runs, whose child
 * was forked with it open, is gone at once, not when the save ends: the
 * child keeps none of kmqttd's descriptors, so no connection is taken
 * into a listener nobody serves.
 */
TEST_F_TIMEOUT(persist, listener_removed_during_autosave_is_gone, 240)
{
	char config[320], payload[2048], topic[32];
	uint16_t second;
	int fd, i, saved;

	ASSERT_EQ(0, loopback_free_port(&second));
	snprintf(config, sizeof(config),
		 "%sautosave_interval 1\nlistener %u 127.0.0.1\n",
		 self->config, second);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	/* 40 MB to save: seconds under emulation. */
	fd = mqtt_client_open(self->broker.port, "persist-fill", 0);
	ASSERT_LE(0, fd);
	memset(payload, 'f', sizeof(payload));
	for (i = 0; i < FILL_TOPICS; i++) {
		snprintf(topic, sizeof(topic), "persist/fill/%d", i);
		ASSERT_EQ(0, mqtt_send_publish_opts(fd, topic, payload,
						    sizeof(payload),
						    &retained0));
	}
	ASSERT_EQ(0, mqtt_sync(fd));
	close(fd);
	/* An autosave forked from now on, with the second listener open. */
	i = broker_log_lines(&self->broker, ": started (process");
	ASSERT_EQ(0, broker_wait_log(&self->broker, ": started (process",
				     i + 1, 30000));
	saved = broker_log_lines(&self->broker, "Saved ");
	snprintf(config, sizeof(config), "%sautosave_interval 1\n",
		 self->config);
	ASSERT_EQ(0, broker_rewrite_config(&self->broker, config));
	ASSERT_EQ(0, broker_signal(&self->broker, SIGHUP));
	ASSERT_EQ(0, broker_wait_log(&self->broker, "Closing listener on", 1,
				     MQTT_TEST_TIMEOUT_MS));
	/* The line comes just before kmqttd closes it: a few tries. */
	for (i = 0; i < 20; i++) {
		fd = loopback_connect(second, 1000);
		if (fd < 0)
			break;
		close(fd);
		usleep(10000);
	}
	ASSERT_GT(0, fd) TH_LOG("connections to the removed listener");
	ASSERT_EQ(saved, broker_log_lines(&self->broker, "Saved "))
		TH_LOG("the save ended first: the state is too small to tell");
}

#define KILL_ROUNDS	12
#define KILL_TOPICS	300

/*
 * kmqttd killed at any moment, in the middle of a save too (it saves a
 * few hundred kilobytes every second): the snapshot it leaves is always
 * a whole one, never a damaged or a half-written one.  Each start after
 * a kill reads and checks it; after the last, the module is loaded anew
 * and every message comes back.
 */
TEST_F_TIMEOUT(persist, killed_while_saving, 240)
{
	char config[320], payload[1025], topic[32];
	char restored[128];
	int fd, i;

	snprintf(config, sizeof(config), "%sautosave_interval 1\n",
		 self->config);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	store_messages(_metadata, self);
	fd = mqtt_client_open(self->broker.port, "persist-bulk", 0);
	ASSERT_LE(0, fd);
	memset(payload, 'k', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = 0;
	for (i = 0; i < KILL_TOPICS; i++) {
		snprintf(topic, sizeof(topic), "persist/bulk/%d", i);
		ASSERT_EQ(0, mqtt_send_publish_opts(fd, topic, payload,
						    sizeof(payload) - 1,
						    &retained0));
	}
	ASSERT_EQ(0, mqtt_sync(fd));
	close(fd);

	srand(getpid());
	for (i = 0; i < KILL_ROUNDS; i++) {
		usleep(200000 + rand() % 1000000);
		ASSERT_EQ(0, broker_kill(&self->broker));
		ASSERT_EQ(0, broker_restart(&self->broker));
		/* Read and checked whole before it is compared. */
		ASSERT_EQ(0, broker_wait_log(&self->broker, "kept its state",
					     1, MQTT_TEST_TIMEOUT_MS))
			TH_LOG("round %d", i);
		EXPECT_EQ(-ETIMEDOUT, broker_wait_log(&self->broker, "Error",
						      1, 200))
			TH_LOG("round %d", i);
	}
	ASSERT_EQ(0, count_files(self->dir, "kmqtt.db.corrupt-"));
	ASSERT_EQ(0, broker_kill(&self->broker));
	reload_module(_metadata, self);
	ASSERT_EQ(0, broker_restart(&self->broker));
	snprintf(restored, sizeof(restored),
		 "Restored %d retained messages, 1 sessions, 1 subscriptions and 2 messages of sessions",
		 3 + KILL_TOPICS);
	ASSERT_EQ(0, broker_wait_log(&self->broker, restored, 1,
				     MQTT_TEST_TIMEOUT_MS));
	expect_messages(_metadata, self);
}

/*
 * autosave_on_changes: a save once autosave_interval changes (PUBLISH
 * packets, connections) happened, not on a clock: none before.
 */
TEST_F(persist, autosave_on_changes)
{
	char config[320];
	int fd, i;

	snprintf(config, sizeof(config),
		 "%sautosave_interval 10\nautosave_on_changes true\n",
		 self->config);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	ASSERT_EQ(0, broker_wait_log(&self->broker, "Saved", 1,
				     MQTT_TEST_TIMEOUT_MS));
	/* Three connections and five PUBLISH packets: eight changes. */
	store_messages(_metadata, self);
	sleep(2);
	EXPECT_EQ(-ETIMEDOUT, broker_wait_log(&self->broker, "Saved", 2, 200));
	fd = mqtt_client_open(self->broker.port, "persist-pub", 0);
	ASSERT_LE(0, fd);
	/* The connection and three more: twelve. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mqtt_send_publish(fd, "persist/live", "x", 1));
	ASSERT_EQ(0, mqtt_sync(fd));
	close(fd);
	ASSERT_EQ(0, broker_wait_log(&self->broker, SAVED, 1,
				     MQTT_TEST_TIMEOUT_MS));
}

/*
 * What the module refuses at a restore (here the retained limit) is
 * reported, and the snapshot is kept aside whole before the next save
 * replaces it.
 */
TEST_F(persist, partial_restore_keeps_the_snapshot)
{
	char config[320];

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	store_messages(_metadata, self);
	broker_stop(&self->broker, false);
	reload_module(_metadata, self);

	snprintf(config, sizeof(config), "%skmqtt_max_retained_messages 1\n",
		 self->config);
	ASSERT_EQ(0, broker_start_config(&self->broker, config));
	ASSERT_EQ(0, broker_wait_log(&self->broker,
				     "2 retained messages not restored", 1,
				     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, broker_wait_log(&self->broker,
				     "not all of it was restored", 1,
				     MQTT_TEST_TIMEOUT_MS));
	EXPECT_EQ(1, count_files(self->dir, "kmqtt.db.partial-"));
}

/*
 * A module loaded anew that served clients before kmqttd came with the
 * snapshot (kmqttd ran without persistence meanwhile) is newer than the
 * snapshot: nothing is restored over it, the snapshot is kept aside.
 */
TEST_F(persist, module_that_served_clients_is_not_restored_over)
{
	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	store_messages(_metadata, self);
	broker_stop(&self->broker, false);
	reload_module(_metadata, self);

	ASSERT_EQ(0, broker_start(&self->broker));
	self->fd = mqtt_client_open(self->broker.port, "persist-other", 0);
	ASSERT_LE(0, self->fd);
	broker_stop(&self->broker, false);

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	ASSERT_EQ(0, broker_wait_log(&self->broker, "is not restored", 1,
				     MQTT_TEST_TIMEOUT_MS));
	EXPECT_EQ(1, count_files(self->dir, "kmqtt.db.older-"));
	close(self->fd);
	self->fd = mqtt_client_open(self->broker.port, "persist-sub", 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mqtt_subscribe(self->fd, 1, "persist/a"));
	ASSERT_EQ(0, mqtt_subscribe(self->fd, 2, "persist-sentinel"));
}

/*
 * A reload does not move the snapshot: a new location would be
 * overwritten, not restored, so it waits for a restart.
 */
TEST_F(persist, reload_keeps_the_location)
{
	char other[64], config[320];

	strcpy(other, "/tmp/kmqtt-persist-other.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(other));
	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	snprintf(config, sizeof(config),
		 "log_type all\npersistence true\npersistence_location %s/\n",
		 other);
	ASSERT_EQ(0, broker_rewrite_config(&self->broker, config));
	ASSERT_EQ(0, broker_signal(&self->broker, SIGHUP));
	ASSERT_EQ(0, broker_wait_log(&self->broker,
				     "take effect when kmqttd restarts", 1,
				     MQTT_TEST_TIMEOUT_MS));
	store_messages(_metadata, self);
	broker_stop(&self->broker, false);
	EXPECT_EQ(0, count_files(other, "kmqtt.db"));
	/* kmqtt.db and kmqtt.db.lock */
	EXPECT_EQ(2, count_files(self->dir, "kmqtt.db"));
	remove_dir(other);
}

/*
 * kmqttd restarted on a module that kept its state: the module is right,
 * the snapshot older.  A message deleted since it was saved stays
 * deleted.
 */
TEST_F(persist, module_that_kept_its_state_is_not_restored_over)
{
	int fd;

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	store_messages(_metadata, self);
	broker_stop(&self->broker, false);

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	ASSERT_EQ(0, broker_wait_log(&self->broker, "kept its state", 1,
				     MQTT_TEST_TIMEOUT_MS));
	fd = mqtt_client_open(self->broker.port, "persist-pub", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_publish(fd, "persist/a", "", &retained1));
	close(fd);
	/* Killed: its snapshot still holds persist/a. */
	ASSERT_EQ(0, broker_kill(&self->broker));
	ASSERT_EQ(0, broker_restart(&self->broker));
	ASSERT_EQ(0, broker_wait_log(&self->broker, "kept its state", 1,
				     MQTT_TEST_TIMEOUT_MS));
	fd = mqtt_client_open(self->broker.port, "persist-sub", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe(fd, 1, "persist/a"));
	/* A retained persist/a would arrive before this SUBACK. */
	ASSERT_EQ(0, mqtt_subscribe(fd, 2, "persist-sentinel"));
	close(fd);
}

/*
 * A damaged snapshot (truncated, or a flipped byte) is reported, kept
 * aside where no save overwrites it, and kmqttd starts without it.
 */
TEST_F(persist, damaged_snapshot_kept_aside)
{
	char path[128], data[16384];
	ssize_t len;
	int fd;

	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	store_messages(_metadata, self);
	broker_stop(&self->broker, false);
	snprintf(path, sizeof(path), "%s/kmqtt.db", self->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	len = read(fd, data, sizeof(data));
	close(fd);
	ASSERT_LT(100, len);

	/* Cut short. */
	ASSERT_EQ(0, write_snapshot(self->dir, data, (size_t)len - 7));
	reload_module(_metadata, self);
	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	ASSERT_EQ(0, broker_wait_log(&self->broker, "starting without it",
				     1, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(1, count_files(self->dir, "kmqtt.db.corrupt-"));
	broker_stop(&self->broker, false);

	/* One byte changed in a message. */
	data[len - 2] ^= 0x20;
	ASSERT_EQ(0, write_snapshot(self->dir, data, (size_t)len));
	ASSERT_EQ(0, broker_start_config(&self->broker, self->config));
	ASSERT_EQ(0, broker_wait_log(&self->broker, "bad data CRC", 1,
				     MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(2, count_files(self->dir, "kmqtt.db.corrupt-"));
	/* It serves, without what the damaged snapshot held. */
	fd = mqtt_client_open(self->broker.port, "persist-sub", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqtt_subscribe(fd, 1, "persist/a"));
	ASSERT_EQ(0, mqtt_subscribe(fd, 2, "persist-sentinel"));
	close(fd);
}

/* A location kmqttd cannot save to stops it at start, with the reason. */
TEST_F(persist, unusable_location_stops_kmqttd)
{
	char config[320];

	snprintf(config, sizeof(config),
		 "persistence true\npersistence_location %s/missing/\n",
		 self->dir);
	ASSERT_EQ(-ECHILD, broker_start_config(&self->broker, config));
}

TEST_HARNESS_MAIN
