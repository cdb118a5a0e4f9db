// SPDX-License-Identifier: GPL-2.0
/*
 * idle-conns: what an idle connection costs, and whether a broker holding
 * N of them still delivers.  Opens N loopback TCP connections, then hands
 * each server side to kmqtt.ko (KMQTT_CMD_ATTACH, as kmqttd does after
 * CONNECT, without kmqttd's handshake, which is what makes 100k
 * connections slow under TCG), and compares the kernel's memory before and
 * after: Slab before and after the hand-over is the module's share (the
 * sockets exist in both), MemFree before the first connect and after
 * the hand-over the whole cost, sockets included (MemFree; MemAvailable
 * counts part of the sockets' inodes and dentries as reclaimable).  Then every client
 * subscribes to idle/<its number>, a publisher (attached too) sends one
 * message to each of a random 1 %, and each of those must receive exactly
 * its message, and no other client anything.
 *
 * Each client binds its own source address and port, 127.1.0.1 and up
 * with ports CLIENT_PORT_MIN.. of each, so that N is not bounded by the
 * ephemeral ports; the listeners are on 127.0.0.1, above those ports.
 * Needs kmqtt.ko loaded, root, and 2 N + slack file descriptors (raised
 * here up to fs.nr_open; tools/bench/idle-conns.sh raises that first).
 *
 * usage: idle-conns N [SEED]
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>

#include "kmqtt_genl.h"

/* Listeners, so that no accept queue holds more than a batch's share. */
#define LISTENERS	16
#define LISTEN_PORT_MIN	62000
/* Source ports of each client address. */
#define CLIENT_PORT_MIN	2000
#define CLIENT_PORTS	60000
/* Connections opened, then accepted, at a time; subscriptions too. */
#define BATCH		1024
/* Timeout of every read of a reply (CONNACK, SUBACK, message). */
#define REPLY_MS	60000
/* Descriptors beyond 2 N: the listeners, netlink, stdio. */
#define FD_SLACK	256

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

/* A /proc/meminfo field ("Slab", "MemAvailable") in bytes, or -1. */
static long long read_meminfo(const char *field)
{
	char line[256], name[64];
	long long kb, bytes = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %lld kB", name, &kb) == 2 &&
		    !strcmp(name, field)) {
			bytes = kb * 1024;
			break;
		}
	fclose(f);
	return bytes;
}

struct mem {
	long long slab, avail, free;
};

static int read_mem(struct mem *m)
{
	m->slab = read_meminfo("Slab");
	m->avail = read_meminfo("MemAvailable");
	m->free = read_meminfo("MemFree");
	return m->slab < 0 || m->avail < 0 || m->free < 0 ? -1 : 0;
}

static int raise_nofile(long n)
{
	rlim_t want = 2 * (rlim_t)n + FD_SLACK;
	struct rlimit r = { .rlim_cur = want, .rlim_max = want };

	if (setrlimit(RLIMIT_NOFILE, &r)) {
		fprintf(stderr,
			"idle-conns: RLIMIT_NOFILE %ju: %s (fs.nr_open and fs.file-max must be at least that)\n",
			(uintmax_t)want, strerror(errno));
		return -1;
	}
	return 0;
}

static int listen_on(uint16_t *port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd, one = 1;

	for (; *port; (*port)++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sin.sin_port = htons(*port);
		if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
		    !listen(fd, 4 * BATCH))
			return fd;
		close(fd);
	}
	return -EADDRINUSE;
}

/* Client i: from 127.1.0.1 + i / CLIENT_PORTS, port CLIENT_PORT_MIN + ... */
static int connect_client(long i, uint16_t port)
{
	struct sockaddr_in src = {
		.sin_family = AF_INET,
		.sin_port = htons(CLIENT_PORT_MIN + i % CLIENT_PORTS),
		.sin_addr.s_addr = htonl(0x7f010001 + i / CLIENT_PORTS),
	};
	struct sockaddr_in dst = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Which client the peer of an accepted socket is. */
static long client_index(const struct sockaddr_in *peer)
{
	return (long)(ntohl(peer->sin_addr.s_addr) - 0x7f010001) * CLIENT_PORTS +
	       ntohs(peer->sin_port) - CLIENT_PORT_MIN;
}

/* Exactly len bytes within REPLY_MS: 0, or -errno (-EPIPE at EOF). */
static int recv_exact(int fd, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = poll(&pfd, 1, REPLY_MS);
		if (r <= 0)
			return r ? -errno : -ETIMEDOUT;
		r = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (r == 0)
			return -EPIPE;
		if (r < 0 && errno != EAGAIN)
			return -errno;
		if (r > 0)
			got += r;
	}
	return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
	ssize_t r;

	while (len) {
		r = send(fd, buf, len, MSG_NOSIGNAL);
		if (r < 0)
			return -errno;
		buf = (const char *)buf + r;
		len -= r;
	}
	return 0;
}

/*
 * SUBSCRIBE to idle/<i> (packet id 1, QoS 0), or a QoS 0 PUBLISH of
 * <i> to it: the bytes in buf (at least 64), their count returned.  The
 * PUBLISH is also what the subscriber receives.
 */
static size_t subscribe_packet(uint8_t *buf, long i)
{
	int t = sprintf((char *)buf + 6, "idle/%ld", i);

	buf[0] = 0x82;
	buf[1] = 2 + 2 + t + 1;
	buf[2] = 0;
	buf[3] = 1;
	buf[4] = 0;
	buf[5] = t;
	buf[6 + t] = 0;
	return 7 + t;
}

static size_t publish_packet(uint8_t *buf, long i)
{
	int t = sprintf((char *)buf + 4, "idle/%ld", i);
	int p = sprintf((char *)buf + 4 + t, "%ld", i);

	buf[0] = 0x30;
	buf[1] = 2 + t + p;
	buf[2] = 0;
	buf[3] = t;
	return 4 + t + p;
}

/* Attach fd as client id, then read its CONNACK on client. */
static int attach(struct kmqtt_genl *g, int fd, int client, const char *id)
{
	struct kmqtt_attach_req req = {
		.fd = fd,
		.client_id = id,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
	};
	uint64_t conn_id;
	uint8_t connack[4];
	int err = kmqtt_genl_attach(g, &req, &conn_id);

	if (err) {
		fprintf(stderr, "idle-conns: ATTACH %s: %s\n", id, strerror(-err));
		return err;
	}
	/* The module holds the socket now; the client stays open. */
	close(fd);
	err = recv_exact(client, connack, sizeof(connack));
	if (err || memcmp(connack, "\x20\x02\x00\x00", 4)) {
		fprintf(stderr, "idle-conns: no CONNACK for %s: %s\n", id,
			err ? strerror(-err) : "wrong bytes");
		return -EPROTO;
	}
	return 0;
}

static double per_conn(long long before, long long after, long n)
{
	return ((double)after - before) / n;
}

int main(int argc, char **argv)
{
	unsigned long conns_before, conns_after, conn_size = 0;
	struct mem m_start, m_conn, m_idle, m_sub;
	int lfd[LISTENERS], *server, *client, pub = -1, pub_srv, fd, err;
	long n, i, j, k, m, targets = 0, hits = 0, stray = 0;
	struct sockaddr_in peer;
	socklen_t peer_len;
	double t0, t_conn, t_attach, t_sub, t_pub;
	uint16_t port[LISTENERS];
	struct pollfd *pfd;
	struct kmqtt_genl g;
	uint8_t buf[128], got[128];
	char *target;
	unsigned int seed;
	uint64_t sessions = 0;
	char id[32];
	size_t len;

	n = argc >= 2 ? strtol(argv[1], NULL, 10) : 0;
	seed = argc >= 3 ? strtoul(argv[2], NULL, 10) : (unsigned int)time(NULL);
	if (n <= 0 || argc > 3) {
		fprintf(stderr, "usage: idle-conns N [SEED]\n");
		return 2;
	}
	server = calloc(n, sizeof(*server));
	client = calloc(n, sizeof(*client));
	target = calloc(n, 1);
	pfd = calloc(n, sizeof(*pfd));
	if (!server || !client || !target || !pfd || raise_nofile(n) ||
	    kmqtt_genl_open(&g))
		return 1;
	for (i = 0; i < LISTENERS; i++) {
		port[i] = i ? port[i - 1] + 1 : LISTEN_PORT_MIN;
		lfd[i] = listen_on(&port[i]);
		if (lfd[i] < 0) {
			fprintf(stderr, "idle-conns: listen: %s\n", strerror(-lfd[i]));
			return 1;
		}
	}
	if (read_mem(&m_start))
		return 1;

	/* Connect a batch, then accept it: no accept queue overflows. */
	t0 = now();
	for (i = 0; i < n; i += BATCH) {
		m = n - i < BATCH ? n - i : BATCH;
		for (j = i; j < i + m; j++) {
			client[j] = connect_client(j, port[j % LISTENERS]);
			if (client[j] < 0) {
				fprintf(stderr, "idle-conns: connect %ld: %s\n",
					j, strerror(-client[j]));
				return 1;
			}
		}
		for (j = i; j < i + m; j++)
			server[j] = -1;
		for (j = i; j < i + m; j++) {
			peer_len = sizeof(peer);
			fd = accept4(lfd[j % LISTENERS], (struct sockaddr *)&peer,
				     &peer_len, SOCK_CLOEXEC);
			if (fd < 0) {
				perror("idle-conns: accept");
				return 1;
			}
			/* Queues need not keep the order of the connects. */
			k = client_index(&peer);
			if (k < i || k >= i + m || server[k] >= 0) {
				fprintf(stderr, "idle-conns: accepted %s:%u, not of this batch\n",
					inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
				return 1;
			}
			server[k] = fd;
		}
	}
	t_conn = now() - t0;
	printf("%ld connections in %.1f s (%d listeners, %ld client addresses)\n",
	       n, t_conn, LISTENERS, (n - 1) / CLIENT_PORTS + 1);
	fflush(stdout);
	if (read_conn_slab(&conns_before, &conn_size) || read_mem(&m_conn)) {
		perror("idle-conns: /proc/slabinfo");
		return 1;
	}

	/*
	 * Attach each, and read its CONNACK, so that no client's receive
	 * queue holds one: what is left is what idles.
	 */
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "idle-%08ld", i);
		if (attach(&g, server[i], client[i], id))
			return 1;
	}
	t_attach = now() - t0;
	sleep(2);
	if (read_mem(&m_idle) || read_conn_slab(&conns_after, &conn_size) ||
	    kmqtt_genl_get_stat(&g, KMQTT_STAT_SESSIONS, &sessions))
		return 1;
	printf("%ld idle connections (client ids of 13 bytes), %ju sessions\n",
	       n, (uintmax_t)sessions);
	printf("  attach      %.1f s (ATTACH and CONNACK)\n", t_attach);
	printf("  kmqtt_conn  %.3f objects of %lu bytes per connection\n",
	       ((double)conns_after - conns_before) / n, conn_size);
	printf("  slab        %.0f bytes per connection (all of the module's)\n",
	       per_conn(m_conn.slab, m_idle.slab, n));
	printf("  slab        %.0f bytes per connection with the sockets\n",
	       per_conn(m_start.slab, m_idle.slab, n));
	printf("  memory      %.0f bytes per connection (MemFree: all of it), %.0f of MemAvailable\n",
	       per_conn(m_idle.free, m_start.free, n),
	       per_conn(m_idle.avail, m_start.avail, n));
	fflush(stdout);

	/* Subscribe a batch, then read its SUBACKs. */
	t0 = now();
	for (i = 0; i < n; i += BATCH) {
		m = n - i < BATCH ? n - i : BATCH;
		for (j = i; j < i + m; j++) {
			len = subscribe_packet(buf, j);
			err = send_all(client[j], buf, len);
			if (err) {
				fprintf(stderr, "idle-conns: SUBSCRIBE %ld: %s\n",
					j, strerror(-err));
				return 1;
			}
		}
		for (j = i; j < i + m; j++) {
			err = recv_exact(client[j], got, 5);
			if (err || memcmp(got, "\x90\x03\x00\x01\x00", 5)) {
				fprintf(stderr, "idle-conns: no SUBACK on %ld: %s\n",
					j, err ? strerror(-err) : "wrong bytes");
				return 1;
			}
		}
	}
	t_sub = now() - t0;
	sleep(2);
	if (read_mem(&m_sub))
		return 1;
	printf("  subscribe   %.1f s, slab %.0f and MemFree %.0f bytes more per connection\n",
	       t_sub, per_conn(m_idle.slab, m_sub.slab, n),
	       per_conn(m_sub.free, m_idle.free, n));
	fflush(stdout);

	/* A publisher, on a listener and client address of its own. */
	pub = connect_client(n, port[0]);
	pub_srv = pub < 0 ? pub : accept4(lfd[0], NULL, NULL, SOCK_CLOEXEC);
	if (pub_srv < 0 || attach(&g, pub_srv, pub, "idle-publisher"))
		return 1;

	/* One message to each of a random 1 % (at least one). */
	srandom(seed);
	while (targets < (n + 99) / 100) {
		i = random() % n;
		if (!target[i]) {
			target[i] = 1;
			targets++;
		}
	}
	t0 = now();
	for (i = 0; i < n; i++)
		if (target[i]) {
			len = publish_packet(buf, i);
			err = send_all(pub, buf, len);
			if (err) {
				fprintf(stderr, "idle-conns: PUBLISH: %s\n",
					strerror(-err));
				return 1;
			}
		}
	for (i = 0; i < n; i++) {
		if (!target[i])
			continue;
		len = publish_packet(buf, i);
		err = recv_exact(client[i], got, len);
		if (err || memcmp(got, buf, len))
			fprintf(stderr, "idle-conns: connection %ld: %s\n", i,
				err ? strerror(-err) : "not its message");
		else
			hits++;
	}
	t_pub = now() - t0;
	/* Nothing more, on any client (nor on the publisher). */
	sleep(2);
	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = client[i], .events = POLLIN };
	if (poll(pfd, n, 0) < 0) {
		perror("idle-conns: poll");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (pfd[i].revents) {
			if (stray++ < 10)
				fprintf(stderr, "idle-conns: connection %ld (%s) has more: revents %#x\n",
					i, target[i] ? "a target" : "not a target",
					pfd[i].revents);
		}
	if (recv(pub, got, sizeof(got), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		stray++;
	printf("  delivery    %ld of %ld messages to a random 1 %% (seed %u) in %.1f s, %ld connections with anything else\n",
	       hits, targets, seed, t_pub, stray);
	kmqtt_genl_close(&g);
	free(server);
	free(client);
	free(target);
	free(pfd);
	return hits == targets && !stray ? 0 : 1;
}
