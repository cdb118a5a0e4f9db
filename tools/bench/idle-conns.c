// SPDX-License-Identifier: GPL-2.0
/*
 * idle-conns: what an idle connection costs kmqtt.ko.  Opens N loopback
 * TCP connections, then hands each server side to the module
 * (KMQTT_CMD_ATTACH, as kmqttd does after CONNECT, without kmqttd's
 * handshake, which is what makes 100k connections slow under TCG), and
 * compares the kernel's slab memory before and after the hand-over: the
 * sockets exist in both, so the difference is the module's (connection,
 * session, client id copy, whatever else it keeps).  Needs kmqtt.ko
 * loaded, root, and N * 2 file descriptors.
 *
 * usage: idle-conns N
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>

#include "kmqtt_genl.h"
#include "loopback.h"

/* Listeners: each takes at most the ephemeral ports' worth of clients. */
#define LISTENERS	8

/* Active objects and object size of the kmqtt_conn cache. */
static int read_conn_slab(unsigned long *active, unsigned long *size)
{
	char line[512], name[64];
	unsigned long a, t, s;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -errno;
	*active = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lu %lu %lu", name, &a, &t, &s) == 4 &&
		    !strcmp(name, "kmqtt_conn")) {
			*active = a;
			*size = s;
		}
	fclose(f);
	return 0;
}

/* The kernel's slab memory in bytes (/proc/meminfo's Slab). */
static long long read_slab_bytes(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

int main(int argc, char **argv)
{
	unsigned long conns_before, conns_after, conn_size = 0;
	long long slab_before, slab_after;
	uint64_t sessions = 0, conn_id;
	int lfd[LISTENERS], *server, *client, err;
	uint16_t port[LISTENERS];
	struct kmqtt_genl g;
	long n, i;
	char id[32];

	n = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	if (n <= 0) {
		fprintf(stderr, "usage: idle-conns N\n");
		return 2;
	}
	server = calloc(n, sizeof(*server));
	client = calloc(n, sizeof(*client));
	if (!server || !client || kmqtt_genl_open(&g))
		return 1;
	for (i = 0; i < LISTENERS; i++) {
		lfd[i] = loopback_listen(&port[i]);
		if (lfd[i] < 0) {
			fprintf(stderr, "idle-conns: listen: %s\n", strerror(-lfd[i]));
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		client[i] = loopback_connect(port[i % LISTENERS], 5000);
		server[i] = client[i] < 0 ? client[i] :
			    loopback_accept(lfd[i % LISTENERS], 5000);
		if (server[i] < 0) {
			fprintf(stderr, "idle-conns: connection %ld: %s\n", i,
				strerror(-server[i]));
			return 1;
		}
	}
	if (read_conn_slab(&conns_before, &conn_size)) {
		perror("idle-conns: /proc/slabinfo");
		return 1;
	}
	slab_before = read_slab_bytes();
	for (i = 0; i < n; i++) {
		struct kmqtt_attach_req req = {
			.fd = server[i],
			.client_id = id,
			.proto_level = MQTT_PROTO_V311,
			.clean_session = true,
		};

		snprintf(id, sizeof(id), "idle-%08ld", i);
		err = kmqtt_genl_attach(&g, &req, &conn_id);
		if (err) {
			fprintf(stderr, "idle-conns: ATTACH %ld: %s\n", i,
				strerror(-err));
			return 1;
		}
		/* The module holds the socket now; the client stays open. */
		close(server[i]);
	}
	/*
	 * Read the CONNACKs, so that no client's receive queue holds one:
	 * what is left is what idles.
	 */
	for (i = 0; i < n; i++) {
		uint8_t connack[4];

		if (recv(client[i], connack, sizeof(connack), MSG_WAITALL) !=
		    sizeof(connack) || memcmp(connack, "\x20\x02\x00\x00", 4)) {
			fprintf(stderr, "idle-conns: no CONNACK on connection %ld\n",
				i);
			return 1;
		}
	}
	sleep(2);
	slab_after = read_slab_bytes();
	if (read_conn_slab(&conns_after, &conn_size) ||
	    kmqtt_genl_get_stat(&g, KMQTT_STAT_SESSIONS, &sessions) ||
	    slab_before < 0 || slab_after < 0)
		return 1;
	printf("%ld idle connections (client ids of 13 bytes), %ju sessions\n",
	       n, (uintmax_t)sessions);
	printf("  kmqtt_conn  %.3f objects of %lu bytes per connection\n",
	       ((double)conns_after - conns_before) / n, conn_size);
	printf("  slab        %.0f bytes per connection (all of the module's)\n",
	       ((double)slab_after - slab_before) / n);
	kmqtt_genl_close(&g);
	free(server);
	free(client);
	return 0;
}
