/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmqtt-bench's shared state.  Threads ("workers") each own a share of the
 * client connections and an epoll set; a client belongs to one worker for
 * its whole life, so its buffers and protocol state need no locks.  Across
 * workers only two things are shared: a publisher's end-to-end window
 * (subscribers on any worker retire its messages, with atomics) and the
 * counters the main thread reads for progress and the report.
 */
#ifndef BENCH_H
#define BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "hist.h"
#include "mqtt.h"
#include "plan.h"
#include "ws.h"

#define NSEC_PER_SEC		1000000000ull
/* Room for this much of the stream each way per connection. */
#define BUF_MIN			65536
/*
 * Room in a send buffer that publishing leaves for acknowledgements, so a
 * client that publishes and subscribes keeps reading while it publishes.
 */
#define ACK_ROOM		4096
/* Longest topic a scenario makes (the prefix is bounded to leave room). */
#define MAX_TOPIC		256
#define MAX_PREFIX		128
/* Worker threads at most. */
#define MAX_THREADS		256
/* Connections in the TCP or MQTT handshake at once, all workers together. */
#define MAX_HANDSHAKES		64

enum output {
	OUTPUT_TEXT,
	OUTPUT_JSON,
	OUTPUT_CSV,
};

struct options {
	enum scenario scenario;
	const char *host;
	const char *port;
	bool port_given;
	uint8_t protocol;	/* MQTT_V311 or MQTT_V5 */
	uint8_t sub_protocol;	/* of the clients that subscribe */
	int qos;
	uint32_t payload;
	uint64_t count;		/* per publisher; 0: run for duration */
	double duration;
	double rate;		/* total PUBLISH/s offered; 0: unlimited */
	uint32_t pubs, subs, pairs;
	double connect_rate;
	uint32_t threads;
	uint32_t inflight;	/* QoS 1/2 per publisher */
	uint32_t window;	/* end to end per publisher; 0: none */
	uint32_t outstanding;	/* sets window from deliveries in all */
	double loss_timeout;
	double drain;
	double setup_timeout;
	uint16_t keepalive;
	const char *prefix;
	const char *label;
	enum output output;
	pid_t broker_pid;
	bool limit;
	bool quiet;
	bool ws;		/* MQTT over WebSockets */
	const char *ws_path;	/* the GET's path */
	bool tls;		/* over TLS (tls.c) */
	const char *cafile;	/* NULL: the system's CAs */
	const char *ciphers;	/* TLS 1.2; NULL: OpenSSL's default */
	const char *ciphersuites; /* TLS 1.3; NULL: OpenSSL's default */
	int tls_version;	/* the only version offered; 0: any */
};

enum phase {
	PHASE_SETUP,	/* connecting and subscribing */
	PHASE_RUN,	/* publishing */
	PHASE_STOP,	/* no new messages; waiting for the rest to arrive */
	PHASE_DONE,	/* disconnect and exit */
};

/*
 * The first bytes of every payload: when and by whom it was sent, in
 * native byte order (sender and receiver are one process).  The rest of
 * the payload is filler.
 */
struct stamp {
	uint64_t sent_ns;
	uint32_t pub;
	uint32_t seq;
};

#define STAMP_SIZE	sizeof(struct stamp)

/* One subscriber's view of one publisher's sequence numbers. */
struct track {
	uint32_t next;		/* the sequence number expected next */
	uint64_t seen;		/* bit i set: next - 1 - i has arrived */
	uint64_t received;	/* distinct messages */
	uint64_t dups;
	uint64_t late;		/* arrived after a later one */
	uint64_t sent;		/* limit mode: written to this subscriber */
};

struct publisher {
	uint32_t idx;
	struct client *client;	/* NULL in limit mode */
	const char *topic;
	size_t topic_len;
	uint32_t nsubs;		/* deliveries each message should make */
	uint64_t sent;		/* messages published; the next sequence */
	uint64_t count;
	double per_ns;		/* rate, messages per ns; 0: unlimited */
	uint64_t start_ns;
	bool done;
	/* QoS 1 and 2: packet identifiers in flight, a 65536-bit map */
	uint32_t inflight;
	uint32_t max_inflight;	/* --inflight, or the broker's receive max */
	uint16_t next_id;
	uint64_t *ids;
	/* The end-to-end window (publisher.c) */
	uint64_t tail;		/* oldest message not yet retired */
	uint64_t *ring;		/* seq << 32 | deliveries still missing */
	uint64_t *ring_ns;	/* when each was sent */
	int blocked;		/* waiting for the window to move */
	uint64_t timed_out;	/* deliveries given up after loss_timeout */
};

struct subscriber {
	uint32_t idx;
	struct client *client;
	uint32_t npubs;
	const uint32_t *pubs;	/* sorted publisher indexes it matches */
	struct track *track;	/* [npubs] */
};

enum client_state {
	CLIENT_IDLE,
	CLIENT_CONNECTING,	/* TCP handshake */
	CLIENT_TLS,		/* TLS handshake */
	CLIENT_UPGRADE,		/* WebSocket opening handshake */
	CLIENT_CONNACK,
	CLIENT_SUBACK,
	CLIENT_READY,
	CLIENT_CLOSED,
};

/* Bytes data[head, len) are pending; room is cap - len. */
struct buf {
	uint8_t *data;
	size_t head;
	size_t len;
	size_t cap;
};

/*
 * A WebSocket connection's side of a client: the frames as they go on
 * the wire, both ways, while tx and rx hold the MQTT bytes inside them.
 */
struct client_ws {
	struct ws_rx state;
	struct buf in;		/* read from the socket, not yet decoded */
	struct buf out;		/* frames ready to write */
	uint64_t rng;		/* the masks (ws_mask_next) */
	char key[WS_KEY_LEN + 1];
};

struct client {
	uint32_t idx;
	int fd;
	enum client_state state;
	struct worker *worker;
	struct publisher *pub;
	struct subscriber *sub;
	uint8_t level;		/* MQTT_V311 or MQTT_V5 */
	uint16_t keepalive;	/* --keepalive, or the broker's (5.0) */
	struct buf tx;
	struct buf rx;
	struct client_ws *ws;	/* NULL over plain TCP */
	SSL *ssl;		/* NULL without --tls */
	bool read_wants_write;	/* SSL_read() asked to be retried... */
	bool write_wants_read;	/* ...and SSL_write(): on any event */
	bool writable;		/* no EAGAIN since the last EPOLLOUT */
	bool readable;		/* no EAGAIN since the last EPOLLIN */
	bool rx_stalled;	/* stopped parsing: no room for acks */
	uint64_t last_tx_ns;
	char id[48];
};

/*
 * Written by one thread with relaxed atomic stores, read by the main
 * thread for progress; exact once the threads are joined.
 */
struct counters {
	uint64_t published;
	uint64_t published_bytes;
	uint64_t expected;	/* deliveries the published messages owe */
	uint64_t delivered;	/* stamped PUBLISH received, dups included */
	uint64_t delivered_bytes; /* their wire bytes */
	uint64_t dups;
	uint64_t unexpected;	/* not meant for this subscriber, malformed */
	uint64_t ready;		/* clients connected (and subscribed) */
	uint64_t closed;	/* connections lost after setup */
	uint64_t completed;	/* QoS 1/2 publish flows acknowledged */
	uint64_t ack_errors;	/* acks for unknown packet identifiers */
	uint64_t refused;	/* 5.0 acks with a failure reason code */
};

struct worker {
	uint32_t idx;
	struct bench *bench;
	pthread_t thread;
	int epfd;
	int evfd;		/* wakes the worker: phase change, window */
	struct client **clients;
	uint32_t nclients;
	struct publisher **pubs;
	uint32_t npubs;
	uint32_t next_connect;	/* clients[] below this are started */
	uint32_t handshakes;
	uint64_t setup_ns;
	uint64_t tick_ns;
	clockid_t cpu_clock;
	struct hist hist;
	struct counters stats;
};

struct limit;

struct bench {
	struct options opt;
	struct plan plan;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	struct publisher *pubs;
	struct subscriber *subs;
	struct client *clients;
	struct worker *workers;
	struct limit *limit;
	SSL_CTX *ssl_ctx;	/* --tls */
	/* The first handshake's, for the report (OpenSSL's static names). */
	const char *tls_version;
	const char *tls_cipher;
	int phase;
	uint64_t start_ns;
	int failed;
	char error[256];
};

/* Relaxed accessors for the counters and flags shared between threads. */
#define stat_add(field, n) \
	__atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define shared_load(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)

uint64_t now_ns(void);
int bench_phase(const struct bench *b);
void bench_fail(struct bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* buf.c-like helpers live in client.c */
uint8_t *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);

int client_init(struct client *c, struct bench *b, uint32_t idx,
		uint8_t level);
void client_free(struct client *c);
void client_connect(struct client *c);
void client_event(struct client *c, uint32_t events);
void client_pump(struct client *c);
void client_keepalive(struct client *c, uint64_t now);
void client_disconnect(struct client *c);
ssize_t client_sock_io(struct client *c, void *data, size_t len,
		       bool writing);

int publisher_init(struct publisher *p, struct bench *b, uint32_t idx);
void publisher_free(struct publisher *p);
void publisher_start(struct publisher *p, uint64_t start_ns);
void publisher_fill(struct publisher *p, uint64_t now);
int publisher_ack(struct publisher *p, enum mqtt_type type, uint16_t id,
		  uint8_t reason);
void publisher_retire(struct bench *b, uint32_t pub, uint32_t seq,
		      struct worker *by);
int64_t publisher_wait_ns(struct publisher *p, uint64_t now);

int subscriber_init(struct subscriber *s, struct bench *b, uint32_t idx);
void subscriber_free(struct subscriber *s);
void subscriber_deliver(struct subscriber *s, struct worker *w,
			const struct mqtt_publish *m, size_t wire_len,
			uint64_t now);
bool track_seq(struct track *t, uint32_t seq);

int worker_init(struct worker *w, struct bench *b, uint32_t idx);
void worker_free(struct worker *w);
void *worker_main(void *arg);
void worker_wake(struct worker *w);

int limit_start(struct bench *b);
void limit_stop(struct bench *b);
void limit_destroy(struct bench *b);
uint64_t limit_written(const struct bench *b);
bool limit_quiesced(const struct bench *b);
clockid_t limit_cpu_clock(const struct bench *b);

#endif
