// SPDX-License-Identifier: GPL-2.0
/*
 * save-pause: how long kmqttd's saves (persistence) hold up the data path
 * and new connections.  Run by tools/bench/save-pause.sh in the test VM.
 *
 *   save-pause populate N
 *	N offline persistent sessions "save-NNNNNN", each subscribed at
 *	QoS 1 to "save/all", made through the module's snapshot requests
 *	(SET_SESSION, SET_SUBSCRIPTION): connecting them through kmqttd
 *	would take minutes under TCG.  kmqttd gives them their access rules
 *	when it starts.
 *
 *   save-pause measure PORT SECONDS PAYLOAD
 *	Once kmqttd answers a CONNECT (it gives the sessions their rules
 *	first), and unless PAYLOAD is 0, one QoS 1 message of PAYLOAD bytes on
 *	"save/all", which every session queues (one message shared in
 *	memory, one copy per session in a snapshot).  Then for SECONDS a publisher and a
 *	subscriber of kmqttd on PORT pass QoS 0 messages back to back, each
 *	sent when the one before arrived, and every 100 ms a new client
 *	connects (TCP, CONNECT, CONNACK) and leaves.  Prints the deliveries
 *	and their latency (median, 99.9th percentile, longest), and the
 *	connections and theirs.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "kmqtt_genl.h"
#include "loopback.h"
#include "mqtt_client.h"

#define CONNECT_EVERY_MS	100
/* kmqttd gives every session its rules at start: that takes a while. */
#define READY_TIMEOUT_S		600
/* Latencies kept: one per delivery, at most. */
#define MAX_SAMPLES		(1 << 22)

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int populate(unsigned long n)
{
	struct kmqtt_nl_subscription sub = {
		.filter = "save/all", .qos = 1, .options = 1,
	};
	struct kmqtt_nl_session s = {
		.session_expiry = MQTT_SESSION_EXPIRY_NEVER,
	};
	struct kmqtt_genl g;
	unsigned long i;
	int err;

	err = kmqtt_genl_open(&g);
	if (err) {
		fprintf(stderr, "save-pause: kmqtt genl: %s\n", strerror(-err));
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(s.client_id, sizeof(s.client_id), "save-%06lu", i);
		memcpy(sub.client_id, s.client_id, sizeof(sub.client_id));
		err = kmqtt_nl_set_session(&g.nl, &s);
		if (!err)
			err = kmqtt_nl_set_subscription(&g.nl, &sub);
		if (err) {
			fprintf(stderr, "save-pause: session %lu: %s\n", i,
				g.nl.error);
			break;
		}
	}
	kmqtt_genl_close(&g);
	return err ? 1 : 0;
}

static int compare_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* "NAME n N median_us M p999_us P max_us X" over @n samples, sorted. */
static void report(const char *name, int64_t *us, size_t n)
{
	qsort(us, n, sizeof(*us), compare_i64);
	printf("%s n %zu median_us %lld p999_us %lld max_us %lld\n", name, n,
	       n ? (long long)us[n / 2] : 0,
	       n ? (long long)us[n - 1 - n / 1000] : 0,
	       n ? (long long)us[n - 1] : 0);
}

struct connector {
	uint16_t port;
	int64_t end_us;
	int64_t us[MAX_SAMPLES / 64];
	size_t n;
	int failed;
};

/* A new client every CONNECT_EVERY_MS: what a save does to kmqttd. */
static void *connect_loop(void *arg)
{
	struct connector *c = arg;
	int64_t start;
	int fd;

	while (now_us() < c->end_us && c->n < MAX_SAMPLES / 64) {
		start = now_us();
		fd = mqtt_client_open(c->port, "save-probe", 0);
		if (fd < 0) {
			c->failed++;
		} else {
			c->us[c->n++] = now_us() - start;
			close(fd);
		}
		usleep(CONNECT_EVERY_MS * 1000);
	}
	return NULL;
}

/* Every session of "save/all" queues one message of @payload bytes. */
static int load(uint16_t port, size_t payload)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
	char *buf = calloc(1, payload);
	int fd, err;

	fd = mqtt_client_open(port, "save-loader", 0);
	if (!buf || fd < 0) {
		free(buf);
		return fd < 0 ? fd : -ENOMEM;
	}
	err = mqtt_send_publish_opts(fd, "save/all", buf, payload, &qos1);
	if (!err)
		err = mqtt_expect_pub_ack(fd, MQTT_PUBACK, 1);
	close(fd);
	free(buf);
	return err;
}

/* Until a client's CONNECT is answered: seconds, or -1. */
static int wait_ready(uint16_t port)
{
	int64_t start = now_us();
	int fd;

	while (now_us() - start < READY_TIMEOUT_S * 1000000LL) {
		fd = mqtt_client_open(port, "save-ready", 0);
		if (fd >= 0) {
			close(fd);
			return (int)((now_us() - start) / 1000000);
		}
		sleep(1);
	}
	return -1;
}

static int measure(uint16_t port, int seconds, size_t payload)
{
	static struct connector c;
	struct mqtt_packet p = { 0 };
	int64_t *us, start;
	int pub, sub, err;
	pthread_t thread;
	size_t n = 0;

	err = wait_ready(port);
	if (err < 0) {
		fprintf(stderr, "save-pause: no CONNACK in %d s\n",
			READY_TIMEOUT_S);
		return 1;
	}
	printf("ready_s %d\n", err);
	err = payload ? load(port, payload) : 0;
	if (err) {
		fprintf(stderr, "save-pause: loading: %s\n", strerror(-err));
		return 1;
	}
	us = calloc(MAX_SAMPLES, sizeof(*us));
	pub = mqtt_client_open(port, "save-pub", 0);
	sub = mqtt_client_open(port, "save-sub", 0);
	if (!us || pub < 0 || sub < 0 || mqtt_subscribe(sub, 1, "probe")) {
		fprintf(stderr, "save-pause: cannot set up the clients\n");
		return 1;
	}
	c.port = port;
	c.end_us = now_us() + (int64_t)seconds * 1000000;
	if (pthread_create(&thread, NULL, connect_loop, &c))
		return 1;
	while (!err && now_us() < c.end_us && n < MAX_SAMPLES) {
		start = now_us();
		err = mqtt_send_publish(pub, "probe", "x", 1);
		if (!err)
			err = mqtt_read_packet(sub, &p, 60000);
		if (!err && p.type != MQTT_PUBLISH)
			err = -EPROTO;
		mqtt_packet_free(&p);
		if (!err)
			us[n++] = now_us() - start;
	}
	pthread_join(thread, NULL);
	if (err)
		fprintf(stderr, "save-pause: deliveries: %s\n", strerror(-err));
	report("deliveries", us, n);
	report("connects", c.us, c.n);
	printf("connects_failed %d\n", c.failed);
	close(pub);
	close(sub);
	free(us);
	return err || c.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "populate"))
		return populate(strtoul(argv[2], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "measure"))
		return measure((uint16_t)atoi(argv[2]), atoi(argv[3]),
			       strtoul(argv[4], NULL, 10));
	fprintf(stderr,
		"usage: save-pause populate N\n"
		"       save-pause measure PORT SECONDS PAYLOAD\n");
	return 2;
}
