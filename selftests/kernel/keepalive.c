// SPDX-License-Identifier: GPL-2.0
/*
 * Keep alive (MQTT-3.1.2-24): the server closes a client it heard nothing
 * from for one and a half times its keep alive; PINGREQ keeps it open;
 * keep alive 0 turns the timer off.
 */
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

/* A 1 s keep alive expires at 1.5 s; allow timer and scheduling slack. */
#define EXPIRY_MIN_MS		1000
#define EXPIRY_MAX_MS		2500
/* Observation window for "stays open": well past several expiries. */
#define WINDOW_MS		4000
#define PING_INTERVAL_MS	500

FIXTURE(keepalive)
{
	struct broker broker;
	int fd;
};

FIXTURE_SETUP(keepalive)
{
	ASSERT_EQ(0, broker_start(&self->broker));
}

FIXTURE_TEARDOWN(keepalive)
{
	close(self->fd);
	broker_stop(&self->broker, !_metadata->passed);
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

TEST_F(keepalive, silent_client_closed_at_one_and_a_half_keepalive)
{
	struct timespec connected;
	long waited;

	self->fd = mqtt_client_open(self->broker.port, "silent", 1);
	ASSERT_LE(0, self->fd);
	clock_gettime(CLOCK_MONOTONIC, &connected);
	ASSERT_EQ(0, mqtt_wait_closed(self->fd, EXPIRY_MAX_MS + 1000));
	waited = elapsed_ms(&connected);
	TH_LOG("closed after %ld ms", waited);
	ASSERT_LE(EXPIRY_MIN_MS, waited);
	ASSERT_GE(EXPIRY_MAX_MS, waited);
}

/* MQTT-3.1.2-23: the client keeps the connection alive with PINGREQ. */
TEST_F(keepalive, pinging_client_stays_open)
{
	struct timespec connected;

	self->fd = mqtt_client_open(self->broker.port, "pinger", 1);
	ASSERT_LE(0, self->fd);
	clock_gettime(CLOCK_MONOTONIC, &connected);
	while (elapsed_ms(&connected) < WINDOW_MS) {
		ASSERT_EQ(0, mqtt_expect_silence(self->fd, PING_INTERVAL_MS));
		ASSERT_EQ(0, mqtt_send_pingreq(self->fd));
		ASSERT_EQ(0, mqtt_expect_pingresp(self->fd));
	}
}

/* Any control packet counts, not only PINGREQ. */
TEST_F(keepalive, publishing_client_stays_open)
{
	struct timespec connected;

	self->fd = mqtt_client_open(self->broker.port, "publisher", 1);
	ASSERT_LE(0, self->fd);
	clock_gettime(CLOCK_MONOTONIC, &connected);
	while (elapsed_ms(&connected) < WINDOW_MS) {
		ASSERT_EQ(0, mqtt_expect_silence(self->fd, PING_INTERVAL_MS));
		ASSERT_EQ(0, mqtt_send_publish(self->fd, "ka", "x", 1));
	}
	ASSERT_EQ(0, mqtt_send_pingreq(self->fd));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->fd));
}

/* 3.1.2.10: a keep alive of zero turns the mechanism off. */
TEST_F(keepalive, zero_never_expires)
{
	self->fd = mqtt_client_open(self->broker.port, "forever", 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mqtt_expect_silence(self->fd, WINDOW_MS));
	ASSERT_EQ(0, mqtt_send_pingreq(self->fd));
	ASSERT_EQ(0, mqtt_expect_pingresp(self->fd));
}

TEST_HARNESS_MAIN
