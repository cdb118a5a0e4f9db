/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MQTT listening socket and the connections accepted on it that have
 * not sent their CONNECT yet ("pending").  A pending connection is read
 * without blocking up to the end of its CONNECT and no further, then
 * handed to kmqtt.ko (ATTACH) or refused; a 5.0 CONNECT with an
 * Authentication Method first runs that method's exchange of AUTH packets
 * (auth_method.h), each read as the CONNECT is.  On a TLS listener the TLS
 * handshake comes first and the CONNECT is read through OpenSSL; an
 * accepted connection is switched to kernel TLS in both directions before
 * ATTACH, with the bytes OpenSSL decrypted past the CONNECT.
 */
#ifndef KMQTTD_LISTENER_H
#define KMQTTD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "connect.h"
#include "loop.h"

/* Beyond this many pending connections new ones are closed at once. */
#define LISTENER_MAX_PENDING	1024
/*
 * A refused connection is read, what it sends discarded, for this long or
 * this many bytes before it is closed (pending_linger()).
 */
#define LISTENER_LINGER_MS	2000
#define LISTENER_LINGER_BYTES	(256 * 1024)

struct acl_rules;
struct auth_method;
struct kmqtt_nl;
struct pending;
struct tls_server_ctx;

/* Where a client's username comes from. */
enum listener_identity {
	LISTENER_IDENTITY_CONNECT,	/* the CONNECT's user name, checked */
	LISTENER_IDENTITY_CERT_CN,	/* use_identity_as_username */
	LISTENER_IDENTITY_CERT_SUBJECT,	/* use_subject_as_username */
};

/* What the configuration says about the connections of a listener. */
struct listener_settings {
	enum listener_identity identity;
	bool allow_zero_length_clientid;
	char *auto_id_prefix;		/* what assigned client ids start with */
	char *mount_point;		/* topic prefix, NULL: none */
	bool websockets;		/* MQTT over WebSocket (protocol) */
	/* The longest handshake request (websockets_headers_size), bytes. */
	size_t ws_request_max;
	uint64_t message_size_limit;	/* largest will payload, 0: no limit */
	struct connect_limits limits;	/* what 5.0 clients get and are told */
};

void listener_settings_free(struct listener_settings *s);

/* What is known of a connection whose CONNECT is valid, for its check. */
struct listener_conn_info {
	const struct connect_packet *connect;	/* client id assigned */
	const char *peer;			/* "IP:PORT" */
	bool tls;
	/* The verified client certificate's first CN and subject, or NULL. */
	const char *cert_cn;
	const char *cert_subject;
	enum listener_identity identity;	/* the listener's setting */
	/* The user enhanced authentication proved, or NULL: none ran. */
	const char *auth_identity;
};

/* What the check grants: filled and owned by the check. */
struct listener_grant {
	const char *username;		/* the client's, NULL: anonymous */
	const struct acl_rules *acl;	/* NULL: everything allowed */
	const char *reason;		/* refused: why, for the log */
	void *priv;
};

/*
 * Who may attach once the CONNECT is valid (auth.c).  method() offers
 * the enhanced authentication method named @name to the client @ci, with
 * the settings it runs under in *@config, or NULL (refused: 0x8C); NULL
 * in place of the function offers none.  check() returns
 * MQTT_CONNACK_ACCEPTED or the CONNACK return code to refuse with, after
 * the method's exchange when there is one; either way finish() follows
 * (when set), with @conn_id 0 unless the connection was attached, and
 * releases @g.
 */
struct listener_auth {
	const struct auth_method *(*method)(const struct listener_conn_info *ci,
					    const char *name,
					    const void **config, void *arg);
	uint8_t (*check)(const struct listener_conn_info *ci,
			 struct listener_grant *g, void *arg);
	void (*finish)(struct listener_grant *g,
		       const struct connect_packet *c, uint64_t conn_id,
		       void *arg);
	void *arg;
};

/*
 * What happened to the connections accepted on a listener, since kmqttd
 * opened it (Prometheus' kmqtt_listener_*, agent/metrics.c).
 */
#define LISTENER_REFUSED_CODES	128
struct listener_stats {
	uint64_t accepted;		/* TCP connections accepted */
	uint64_t attached;		/* handed to kmqtt.ko */
	/* Refused with a CONNACK, by its 5.0 reason code less 0x80. */
	uint64_t refused[LISTENER_REFUSED_CODES];
	/* Closed without CONNACK: */
	uint64_t timeouts;		/* no CONNECT or AUTH in time */
	uint64_t overflows;		/* LISTENER_MAX_PENDING were waiting */
	uint64_t dropped;		/* anything else (malformed, TLS...) */
};

struct listener {
	struct loop_source src;		/* the listening socket */
	struct loop *loop;
	struct kmqtt_nl *nl;
	const struct listener_auth *auth;	/* NULL: everyone */
	/* TLS: the handshake, then kernel TLS; NULL: plain TCP. */
	struct tls_server_ctx *tls;
	struct listener_settings settings;
	char name[ADDR_STR_MAX];	/* bound address, "IP:PORT" */
	uint16_t port;
	uint64_t connect_timeout_ms;	/* for each packet awaited */
	uint64_t linger_ms;		/* LISTENER_LINGER_MS; tests shorten it */
	unsigned int pending_count;	/* lingering ones too */
	/* Pending connections (struct pending), in deadline order. */
	struct deadline_list pending;
	/* Refused ones being read until they close (pending_linger()). */
	struct deadline_list lingering;
	uint64_t accept_resume_ms;	/* accepting paused until then, or 0 */
	struct listener_stats stats;
};

/*
 * Listen on @addr (numeric IPv4 or IPv6, brackets allowed, a host name, or
 * NULL for every interface) and @port.  Returns 0, or -1 with @err
 * describing the failure.
 */
int listener_open(struct listener *l, struct loop *loop, struct kmqtt_nl *nl,
		  const char *addr, const char *port,
		  unsigned int connect_timeout_s, char *err, size_t errlen);

/* Milliseconds until listener_expire() has work, or -1. */
int listener_timeout(const struct listener *l);

/* Drop pending connections past their deadline; resume a paused accept. */
void listener_expire(struct listener *l);

/* Close the listening socket and every pending connection. */
void listener_close(struct listener *l);

#endif /* KMQTTD_LISTENER_H */
