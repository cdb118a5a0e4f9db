// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading kmqtt.ko with live connections closes them and succeeds; the
 * module then loads again from $KMQTT_KO and serves clients, so that tests
 * run after this one in the same VM still have it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define MODULE_NAME	"kmqtt"
#define MODULE_SYSFS	"/sys/module/" MODULE_NAME

FIXTURE(rmmod)
{
	struct broker broker;
	int sub, pub;
};

static bool module_loaded(void)
{
	struct stat st;

	return !stat(MODULE_SYSFS, &st);
}

static int load_module(void)
{
	const char *path = getenv("KMQTT_KO");
	int fd, err = 0;

	if (!path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0))
		err = -errno;
	close(fd);
	return err;
}

FIXTURE_SETUP(rmmod)
{
	self->sub = -1;
	self->pub = -1;
	ASSERT_NE(NULL, getenv("KMQTT_KO"))
		TH_LOG("KMQTT_KO must name kmqtt.ko to load it again");
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, broker_start(&self->broker));
}

FIXTURE_TEARDOWN(rmmod)
{
	close(self->sub);
	close(self->pub);
	broker_stop(&self->broker, !_metadata->passed);
	/* Whatever failed above, leave the module loaded for later tests. */
	if (!module_loaded() && load_module())
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
	ASSERT_EQ(0, syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK))
		TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_FALSE(module_loaded());
	ASSERT_EQ(0, mqtt_wait_closed(self->sub, MQTT_TEST_TIMEOUT_MS));
	ASSERT_EQ(0, mqtt_wait_closed(self->pub, MQTT_TEST_TIMEOUT_MS));
	close(self->sub);
	close(self->pub);
	self->sub = -1;
	self->pub = -1;
	/* kmqttd lost its family: start a new one on the new module. */
	broker_stop(&self->broker, false);

	ASSERT_EQ(0, load_module());
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
