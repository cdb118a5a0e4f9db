/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bridges (Documentation/bridges.rst): kmqttd dials each `connection` of
 * the configuration to its remote broker, does the client's side of the
 * handshake (TLS when asked, CONNECT, CONNACK, SUBSCRIBE without waiting
 * for its SUBACK) and hands the socket to kmqtt.ko, on kernel TLS for a
 * TLS link, which carries the link from there.
 * It dials again, after restart_timeout, when an attempt fails or the
 * module reports the link closed, and publishes the link's state on this
 * broker (notifications).  Driven by kmqttd's event loop.
 */
#ifndef KMQTTD_BRIDGE_H
#define KMQTTD_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kmqtt_nl.h"
#include "loop.h"
#include "resolve.h"
#include "tls.h"

/*
 * Longest a name lookup, a TCP connect, then the TLS handshake, then the
 * CONNACK may take.
 */
#define BRIDGE_TIMEOUT_MS	10000
/* "[HOST]:PORT" in the log; a longer host name is cut. */
#define BRIDGE_PEER_MAX		300
/* A local notification the module refused is tried again this often. */
#define BRIDGE_NOTIFY_RETRY_MS	1000
/*
 * start_type lazy: how often the messages waiting for a bridge that is
 * down are counted, and the messages crossing its link while it is up.
 */
#define BRIDGE_LAZY_POLL_MS	1000

/* The module's side; kmqtt_nl's functions, or a test's fakes. */
struct bridge_ops {
	int (*attach)(struct kmqtt_nl *nl, const struct kmqtt_nl_attach *req,
		      struct kmqtt_nl_attached *reply);
	int (*disconnect)(struct kmqtt_nl *nl, const char *client_id);
	int (*dump_conns)(struct kmqtt_nl *nl,
			  void (*fn)(const struct kmqtt_nl_conn *conn,
				     void *arg),
			  void *arg);
	int (*publish)(struct kmqtt_nl *nl, const struct kmqtt_nl_msg *m,
		       bool retain);
	/* start_type lazy: its session here, made before its first link */
	int (*get_session)(struct kmqtt_nl *nl, const char *client_id,
			   struct kmqtt_nl_session *s);
	int (*set_session)(struct kmqtt_nl *nl,
			   const struct kmqtt_nl_session *s);
	int (*set_bridge_subscriptions)(struct kmqtt_nl *nl,
					const char *client_id,
					const struct kmqtt_nl_bridge_topic *topics,
					size_t count, bool queue_qos0);
};

enum bridge_state {
	/* waiting for its next attempt; lazy: for messages to go out too */
	BRIDGE_IDLE,
	BRIDGE_RESOLVING,	/* the address's name looked up */
	BRIDGE_CONNECTING,	/* TCP connect under way */
	BRIDGE_TLS,		/* TLS handshake under way */
	BRIDGE_CONNACK,		/* CONNECT sent, reading the CONNACK */
	BRIDGE_SUBSCRIBING,	/* sending what follows the CONNACK */
	BRIDGE_LINKED,		/* the module's, until it reports it closed */
	BRIDGE_STOPPED,		/* start_type once, and over */
};

struct bridges;

struct bridge {
	struct bridges *set;
	/* In the configuration kmqttd keeps (bridges_start(), _reload()). */
	const struct config_bridge *cfg;
	enum bridge_state state;
	struct loop_source src;		/* fd -1 unless dialling */
	struct resolve lookup;		/* RESOLVING: its fd is src's */
	/*
	 * IDLE: next attempt (lazy: next count of what waits); LINKED, lazy:
	 * next count of messages; else the handshake's timeout.
	 */
	uint64_t deadline_ms;
	size_t address;			/* index of the address dialled last */
	unsigned int delay_s;		/* before the next attempt */
	uint64_t conn_id;		/* LINKED: the module's connection */
	char peer[BRIDGE_PEER_MAX];	/* what was dialled, for the log */
	/* The remote refused try_private's level: dial without it. */
	bool private_refused;
	uint8_t connack[4];		/* 3.1.x CONNACK: exactly 4 bytes */
	size_t connack_have;
	/* SUBSCRIBING: the SUBSCRIBE (more than a socket buffer may take) */
	uint8_t *out;
	size_t out_len;
	size_t out_sent;
	/* A TLS link's, from TCP connect to ATTACH; NULL otherwise. */
	struct tls_client_ctx *tls_ctx;
	struct tls_conn *tls;
	uint32_t events;		/* what src is watched for */
	/* start_type lazy */
	bool lazy_ready;		/* its session here has its lines */
	bool lazy_failing;		/* the module refused: said once */
	bool idle_closing;		/* disconnected for idle_timeout */
	uint64_t link_msgs;		/* both ways, at the last count */
	uint64_t active_ms;		/* when that count last moved */
	/* The link's state on this broker, until it is published. */
	bool notify_up;
	bool notify_due;
	uint64_t notify_retry_ms;
};

struct bridges {
	struct loop *loop;
	struct kmqtt_nl *nl;
	const struct bridge_ops *ops;
	struct bridge **bridge;		/* each one stays where it is */
	size_t count;
};

void bridges_init(struct bridges *bs, struct loop *loop, struct kmqtt_nl *nl,
		  const struct bridge_ops *ops);

/*
 * Start the bridges of @cfg, which must outlive them (until
 * bridges_reload() with another or bridges_fini()).  A bridge whose
 * local client id is attached in the module already (left by an earlier
 * kmqttd) is adopted, not dialled again.  Returns 0 or -ENOMEM.
 */
int bridges_start(struct bridges *bs, const struct config *cfg,
		  uint64_t now_ms);

/*
 * SIGHUP: bridges of @next alike in the current configuration go on
 * untouched; changed and removed ones are disconnected, changed and new
 * ones started.  Call it while the current configuration is still alive;
 * @next must outlive the bridges.
 */
void bridges_reload(struct bridges *bs, const struct config *next,
		    uint64_t now_ms);

/* Milliseconds until the next deadline from @now_ms, -1: none. */
int bridges_timeout(const struct bridges *bs, uint64_t now_ms);

/* Attempts due by @now_ms start, handshakes over their time fail. */
void bridges_expire(struct bridges *bs, uint64_t now_ms);

/*
 * The module closed connection @conn_id (@why for the log): when it was
 * a bridge's link, the bridge dials again after its restart_timeout.
 */
void bridges_closed(struct bridges *bs, uint64_t conn_id, const char *why);

/*
 * Close events were lost (the event socket overran): the bridges whose
 * link the module no longer holds dial again.
 */
void bridges_resync(struct bridges *bs);

/*
 * kmqttd exits: handshakes under way are dropped, links stay with the
 * module, as client connections do.
 */
void bridges_fini(struct bridges *bs);

/*
 * The next delay of a backoff from @prev seconds between @base and
 * @cap (0: always @base), with @rnd a random number: Mosquitto's
 * "decorrelated jitter", a random delay from @base to three times
 * @prev, at most @cap.
 */
unsigned int bridge_backoff_next(unsigned int prev, unsigned int base,
				 unsigned int cap, uint32_t rnd);

#endif /* KMQTTD_BRIDGE_H */
