// SPDX-License-Identifier: GPL-2.0
/*
 * Bridges: per `connection`, a state machine on kmqttd's event loop that
 * dials the remote broker, speaks MQTT 3.1.x's client handshake up to the
 * SUBSCRIBE (over TLS with OpenSSL when the bridge asks for TLS) and hands
 * the socket to kmqtt.ko (switched to kernel TLS first), which speaks the
 * rest (the SUBACK, PINGREQ, PUBLISH both ways with the prefixes
 * replaced).  The local session being the module's, persistent unless
 * local_cleansession, is what stores messages while the link is down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>

#include "bridge.h"
#include "connect.h"
#include "kmod/codec.h"
#include "log.h"
#include "own_publish.h"

/* The only SUBSCRIBE kmqttd sends; the module's own ids come after. */
#define BRIDGE_SUBSCRIBE_ID	1
/* The CONNACK of 3.1.x: fixed header, length 2, flags, return code. */
#define BRIDGE_CONNACK_HEAD	2
#define BRIDGE_CONNACK_SIZE	4

unsigned int bridge_backoff_next(unsigned int prev, unsigned int base,
				 unsigned int cap, uint32_t rnd)
{
	unsigned long hi = (unsigned long)prev * 3, next = base;

	if (!cap)
		return base;
	if (hi > base)
		next = base + rnd % (hi - base + 1);
	return next < cap ? (unsigned int)next : cap;
}

static uint32_t random_u32(void)
{
	uint32_t r = 0;

	/* Jitter only: a failed read leaves a delay of base, still sane. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = 0;
	return r;
}

/* A string with its two byte length (1.5.3). */
static uint8_t *put_string(uint8_t *p, const char *s)
{
	size_t len = strlen(s);

	p = kmqtt_codec_put_u16(p, (uint16_t)len);
	memcpy(p, s, len);
	return p + len;
}

/* The will's and the notification's payloads (Mosquitto's). */
static const char notify_down[] = "0";
static const char notify_up[] = "1";

/* The remote broker holds the link's state too: its will, and "1". */
static bool notify_remote(const struct config_bridge *b)
{
	return b->notifications && !b->notifications_local_only;
}

/*
 * CONNECT, with Mosquitto's bridge bit in the level when @private.  Its
 * fields are checked by config.c: every string fits in a u16 length
 * (a line of the file could be longer, a client id or topic cannot).
 */
static uint8_t *connect_packet(const struct config_bridge *b, bool private,
			       size_t *len)
{
	const char *name = b->proto_level == MQTT_PROTO_V31 ?
			   MQTT_PROTO_NAME_V31 : MQTT_PROTO_NAME_V311;
	uint8_t flags = b->cleansession ? MQTT_CONNECT_CLEAN_SESSION : 0;
	size_t rem = 2 + strlen(name) + 1 + 1 + 2 +
		     2 + strlen(b->remote_clientid);
	uint8_t *buf, *p;

	if (notify_remote(b)) {
		flags |= MQTT_CONNECT_WILL | MQTT_CONNECT_WILL_RETAIN |
			 1 << MQTT_CONNECT_WILL_QOS_SHIFT;
		rem += 2 + strlen(b->notification_topic) +
		       2 + strlen(notify_down);
	}
	if (b->remote_username) {
		flags |= MQTT_CONNECT_USERNAME;
		rem += 2 + strlen(b->remote_username);
	}
	if (b->remote_password) {
		flags |= MQTT_CONNECT_PASSWORD;
		rem += 2 + strlen(b->remote_password);
	}
	buf = malloc(MQTT_MAX_FIXED_HEADER + rem);
	if (!buf)
		return NULL;
	p = buf + kmqtt_codec_put_fixed_hdr(buf, MQTT_CONNECT, 0, (uint32_t)rem);
	p = put_string(p, name);
	*p++ = b->proto_level | (private ? CONNECT_LEVEL_BRIDGE : 0);
	*p++ = flags;
	p = kmqtt_codec_put_u16(p, b->keepalive);
	p = put_string(p, b->remote_clientid);
	if (notify_remote(b)) {
		p = put_string(p, b->notification_topic);
		p = put_string(p, notify_down);
	}
	if (b->remote_username)
		p = put_string(p, b->remote_username);
	if (b->remote_password)
		p = put_string(p, b->remote_password);
	*len = (size_t)(p - buf);
	return buf;
}

/*
 * What follows the CONNACK: the notification PUBLISH and the SUBSCRIBE
 * of the in and both lines, either left out when there is none (*@len 0).
 */
static uint8_t *after_connack(const struct config_bridge *b, size_t *len)
{
	size_t pub = 0, sub = 0, i;
	uint8_t *buf, *p;

	if (notify_remote(b))
		pub = 2 + strlen(b->notification_topic) + strlen(notify_up);
	for (i = 0; i < b->topic_count; i++)
		if (b->topics[i].direction & KMQTT_BRIDGE_IN)
			sub += 2 + strlen(b->topics[i].remote) + 1;
	if (sub)
		sub += 2;	/* the packet id */
	buf = malloc(2 * MQTT_MAX_FIXED_HEADER + pub + sub + 1);
	if (!buf)
		return NULL;
	p = buf;
	if (pub) {
		/* QoS 0 needs no answer: the module never sees one. */
		p += kmqtt_codec_put_fixed_hdr(p, MQTT_PUBLISH,
					       MQTT_PUBLISH_RETAIN,
					       (uint32_t)pub);
		p = put_string(p, b->notification_topic);
		memcpy(p, notify_up, strlen(notify_up));
		p += strlen(notify_up);
	}
	if (sub) {
		p += kmqtt_codec_put_fixed_hdr(p, MQTT_SUBSCRIBE,
					       MQTT_FLAGS_QOS1_RESERVED,
					       (uint32_t)sub);
		p = kmqtt_codec_put_u16(p, BRIDGE_SUBSCRIBE_ID);
		for (i = 0; i < b->topic_count; i++) {
			if (!(b->topics[i].direction & KMQTT_BRIDGE_IN))
				continue;
			p = put_string(p, b->topics[i].remote);
			*p++ = b->topics[i].qos;
		}
	}
	*len = (size_t)(p - buf);
	return buf;
}

/*
 * The whole of @buf, or why not.  The socket is non-blocking and the
 * handshake's packets are small: a send buffer that cannot take them
 * at once means a remote that does not read, a failed attempt.
 */
static const char *bridge_send(struct bridge *b, const uint8_t *buf,
			       size_t len)
{
	ssize_t n;

	if (b->tls) {
		switch (tls_conn_write(b->tls, buf, len)) {
		case TLS_DONE:
			return NULL;
		case TLS_ERROR:
			return tls_conn_error(b->tls);
		case TLS_CLOSED:
			return "connection closed by the remote";
		default:
			return "the remote does not read";
		}
	}
	n = send(b->src.fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		return strerror(errno);
	return (size_t)n == len ? NULL : "the remote does not read";
}

/* Watch the socket for @events, once they differ; false: epoll failed. */
static bool bridge_watch(struct bridge *b, uint32_t events)
{
	if (b->events == events)
		return true;
	if (loop_mod(b->set->loop, &b->src, events))
		return false;
	b->events = events;
	return true;
}

/*
 * Send what is left of b->out: 1 once all of it went, 0 when the socket
 * takes no more now (watched for what it waits for), -1 with *@why.
 */
static int bridge_send_rest(struct bridge *b, const char **why)
{
	enum tls_status st;
	ssize_t n;

	while (b->out_sent < b->out_len) {
		if (b->tls) {
			/* Again with the same bytes, as OpenSSL wants. */
			st = tls_conn_write(b->tls, b->out + b->out_sent,
					    b->out_len - b->out_sent);
			if (st == TLS_DONE)
				return 1;
			if (st != TLS_WANT_READ && st != TLS_WANT_WRITE) {
				*why = st == TLS_CLOSED ?
				       "connection closed by the remote" :
				       tls_conn_error(b->tls);
				return -1;
			}
		} else {
			n = send(b->src.fd, b->out + b->out_sent,
				 b->out_len - b->out_sent, MSG_NOSIGNAL);
			if (n >= 0) {
				b->out_sent += (size_t)n;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR) {
				*why = strerror(errno);
				return -1;
			}
			st = TLS_WANT_WRITE;
		}
		if (!bridge_watch(b, st == TLS_WANT_READ ? EPOLLIN : EPOLLOUT)) {
			*why = "epoll failed";
			return -1;
		}
		return 0;
	}
	return 1;
}

/*
 * Read at most @n bytes: their count, 0 when none is there yet (the
 * socket watched for what TLS waits for), -1 with *@why on failure.
 */
static ssize_t bridge_recv(struct bridge *b, uint8_t *buf, size_t n,
			   const char **why)
{
	enum tls_status st;
	size_t got;
	ssize_t rc;

	if (!b->tls) {
		rc = recv(b->src.fd, buf, n, 0);
		if (rc < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (rc <= 0)
			*why = rc ? strerror(errno) :
				    "connection closed before CONNACK";
		return rc > 0 ? rc : -1;
	}
	st = tls_conn_read(b->tls, buf, n, &got);
	if (st == TLS_DONE)
		return (ssize_t)got;
	if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) {
		if (bridge_watch(b, st == TLS_WANT_READ ? EPOLLIN : EPOLLOUT))
			return 0;
		*why = "epoll failed";
	} else {
		*why = st == TLS_CLOSED ? "connection closed before CONNACK" :
					  tls_conn_error(b->tls);
	}
	return -1;
}

static const char *connack_meaning(uint8_t rc)
{
	switch (rc) {
	case MQTT_CONNACK_UNACCEPTABLE_PROTOCOL:
		return "unacceptable protocol version";
	case MQTT_CONNACK_IDENTIFIER_REJECTED:
		return "identifier rejected";
	case MQTT_CONNACK_SERVER_UNAVAILABLE:
		return "server unavailable";
	case MQTT_CONNACK_BAD_USERNAME_PASSWORD:
		return "bad user name or password";
	case MQTT_CONNACK_NOT_AUTHORIZED:
		return "not authorized";
	}
	return "unknown return code";
}

/* A TLS link's state goes with its socket; sends nothing (tls.h). */
static void bridge_tls_free(struct bridge *b)
{
	tls_conn_free(b->tls);
	b->tls = NULL;
	tls_client_ctx_free(b->tls_ctx);
	b->tls_ctx = NULL;
}

static void bridge_close_socket(struct bridge *b)
{
	free(b->out);
	b->out = NULL;
	bridge_tls_free(b);
	if (b->src.fd < 0)
		return;
	loop_del(b->set->loop, &b->src);
	resolve_cancel(&b->lookup);
	close(b->src.fd);
	b->src.fd = -1;
}

/*
 * The link's state on this broker, as Mosquitto publishes it: retained,
 * at QoS 1, "0" from the start and "1" while the link is up.  Unlike
 * Mosquitto, "0" again whenever the link goes.  Returns 0 or -errno.
 */
static int bridge_notify_local(struct bridges *bs,
			       const struct config_bridge *c, bool up)
{
	const char *payload = up ? notify_up : notify_down;
	int err;

	if (!c->notifications)
		return 0;
	bs->nl->error[0] = '\0';
	err = own_publish(bs->ops->publish, bs->nl, c->notification_topic,
			  payload, strlen(payload), 1, true);
	if (err)
		log_warning("Bridge %s: notification \"%s\" on %s: %s", c->name,
			    payload, c->notification_topic,
			    bs->nl->error[0] ? bs->nl->error : strerror(-err));
	return err;
}

/* Publish the state of @b's link, now or, refused, a little later. */
static void bridge_notify(struct bridge *b, bool up)
{
	b->notify_up = up;
	b->notify_due = bridge_notify_local(b->set, b->cfg, up) != 0;
	b->notify_retry_ms = loop_now_ms() + BRIDGE_NOTIFY_RETRY_MS;
}

/*
 * The attempt failed or the link closed: log why, in one line, and wait
 * restart_timeout before dialling @next_address, unless start_type once.
 */
static void bridge_down(struct bridge *b, const char *what, const char *why,
			size_t next_address)
{
	const struct config_bridge *c = b->cfg;
	char reason[TLS_ERR_MAX + 64];

	/* @why may be the TLS connection's, which goes with the socket. */
	snprintf(reason, sizeof(reason), "%s", why);
	why = reason;
	bridge_close_socket(b);
	if (c->start_type == CONFIG_START_ONCE) {
		b->state = BRIDGE_STOPPED;
		log_warning("Bridge %s: %s %s: %s; not restarting (start_type once).",
			    c->name, what, b->peer, why);
		return;
	}
	b->state = BRIDGE_IDLE;
	b->address = next_address % c->address_count;
	b->deadline_ms = loop_now_ms() + (uint64_t)b->delay_s * 1000;
	log_warning("Bridge %s: %s %s: %s; next attempt in %u s.", c->name,
		    what, b->peer, why, b->delay_s);
	b->delay_s = bridge_backoff_next(b->delay_s, c->restart_base,
					 c->restart_cap, random_u32());
}

/* An attempt failed: the next one tries the next address (failover). */
static void bridge_fail(struct bridge *b, const char *why)
{
	bridge_down(b, "connecting to", why, b->address + 1);
}

/*
 * Switch a TLS link to kernel TLS, taking what OpenSSL decrypted past the
 * CONNACK (the SUBACK, messages) into *@pending for the module.  Returns
 * NULL, or why the attempt fails.
 */
static const char *bridge_offload(struct bridge *b, uint8_t **pending,
				  size_t *pending_len)
{
	if (tls_conn_take_pending(b->tls, pending, pending_len) != TLS_DONE)
		return tls_conn_error(b->tls);
	if (*pending_len > KMQTT_PENDING_MAX)
		return "more data after CONNACK than one TLS record";
	if (tls_conn_offload(b->tls) != TLS_DONE)
		return tls_conn_error(b->tls);
	return NULL;
}

/* Hand the socket to the module, the SUBSCRIBE on its way. */
static void bridge_attach(struct bridge *b)
{
	const struct config_bridge *c = b->cfg;
	struct bridges *bs = b->set;
	struct kmqtt_nl_attached reply;
	uint8_t *pending = NULL;
	size_t pending_len = 0;
	const char *why;
	struct kmqtt_nl_attach req = {
		.fd = b->src.fd,
		.client_id = c->local_clientid,
		.client_id_len = strlen(c->local_clientid),
		.proto_level = c->proto_level,
		.keepalive = c->keepalive,
		.clean_session = c->local_cleansession,
		.bridge_topics = c->topics,
		.bridge_topics_count = c->topic_count,
		.bridge_queue_qos0 = c->start_type == CONFIG_START_LAZY,
	};
	bool tls = b->tls;
	int err;

	if (tls) {
		why = bridge_offload(b, &pending, &pending_len);
		if (why) {
			if (pending)
				explicit_bzero(pending, pending_len);
			free(pending);
			bridge_fail(b, why);
			return;
		}
		req.pending = pending;
		req.pending_len = pending_len;
	}
	/* The socket is the module's from now on: stop watching it. */
	loop_del(bs->loop, &b->src);
	err = bs->ops->attach(bs->nl, &req, &reply);
	/* Messages of the remote's: secrets, as a client's. */
	if (pending)
		explicit_bzero(pending, pending_len);
	free(pending);
	/* Taken or refused, kmqttd's descriptor goes: no loop_del() again. */
	bridge_tls_free(b);
	close(b->src.fd);
	b->src.fd = -1;
	if (err) {
		bridge_fail(b, err == -EUSERS ? "max_connections reached" :
			       bs->nl->error[0] ? bs->nl->error :
			       strerror(-err));
		return;
	}
	b->state = BRIDGE_LINKED;
	b->conn_id = reply.conn_id;
	b->delay_s = c->restart_base;
	/* Lazy: its messages counted from the first look. */
	b->link_msgs = UINT64_MAX;
	b->deadline_ms = loop_now_ms() + BRIDGE_LAZY_POLL_MS;
	bridge_notify(b, true);
	log_verbose("Bridge %s: linked to %s as %s (connection %llu%s).",
		    c->name, b->peer, c->local_clientid,
		    (unsigned long long)b->conn_id, tls ? ", kernel TLS" : "");
}

/* TCP (and TLS) is up: send CONNECT, wait for the CONNACK. */
static void bridge_send_connect(struct bridge *b)
{
	uint8_t *pkt;
	size_t size;
	const char *why;

	pkt = connect_packet(b->cfg, b->cfg->try_private && !b->private_refused,
			     &size);
	if (!pkt) {
		bridge_fail(b, "out of memory");
		return;
	}
	why = bridge_send(b, pkt, size);
	/* It may carry the password. */
	explicit_bzero(pkt, size);
	free(pkt);
	if (!why && !bridge_watch(b, EPOLLIN))
		why = "epoll failed";
	if (why) {
		bridge_fail(b, why);
		return;
	}
	b->state = BRIDGE_CONNACK;
	b->connack_have = 0;
	b->deadline_ms = loop_now_ms() + BRIDGE_TIMEOUT_MS;
}

/* Drive the TLS handshake; CONNECT once it is done. */
static void bridge_handshake(struct bridge *b)
{
	enum tls_status st = tls_conn_handshake(b->tls);

	switch (st) {
	case TLS_DONE:
		log_verbose("Bridge %s: TLS handshake with %s done: %s, %s.",
			    b->cfg->name, b->peer, tls_conn_protocol(b->tls),
			    tls_conn_cipher(b->tls));
		bridge_send_connect(b);
		return;
	case TLS_WANT_READ:
	case TLS_WANT_WRITE:
		if (!bridge_watch(b, st == TLS_WANT_READ ? EPOLLIN : EPOLLOUT))
			bridge_fail(b, "epoll failed");
		return;
	case TLS_CLOSED:
		bridge_fail(b, "closed during the TLS handshake");
		return;
	default:
		bridge_fail(b, tls_conn_error(b->tls));
		return;
	}
}

/* The TLS context and connection of an attempt; false after failing it. */
static bool bridge_tls_start(struct bridge *b)
{
	const struct config_bridge *c = b->cfg;
	struct tls_client_opts o = {
		.cafile = c->tls_cafile,
		.capath = c->tls_capath,
		.certfile = c->tls_certfile,
		.keyfile = c->tls_keyfile,
		.insecure = c->tls_insecure,
		.version = c->tls_version,
	};
	char err[TLS_ERR_MAX];

	/* Made for each attempt: renewed files are read at the next one. */
	b->tls_ctx = tls_client_ctx_new(&o, err);
	if (!b->tls_ctx) {
		bridge_fail(b, err);
		return false;
	}
	b->tls = tls_conn_new_client(b->tls_ctx, b->src.fd,
				     c->addresses[b->address].host);
	if (!b->tls) {
		bridge_fail(b, "out of memory for TLS");
		return false;
	}
	return true;
}

/* TCP is up: the TLS handshake first when asked, else CONNECT. */
static void bridge_connected(struct bridge *b)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(b->src.fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		bridge_fail(b, strerror(err));
		return;
	}
	if (!b->cfg->tls) {
		bridge_send_connect(b);
		return;
	}
	if (!bridge_tls_start(b))
		return;
	b->state = BRIDGE_TLS;
	b->deadline_ms = loop_now_ms() + BRIDGE_TIMEOUT_MS;
	bridge_handshake(b);
}

/*
 * Send the SUBSCRIBE of the lines coming in, as fast as the remote takes
 * it (hundreds of lines do not fit a fresh socket's buffer), then hand the
 * link to the module.
 */
static void bridge_subscribe(struct bridge *b)
{
	const char *why;
	int rc = bridge_send_rest(b, &why);

	if (rc < 0) {
		bridge_fail(b, why);
		return;
	}
	if (!rc)
		return;
	free(b->out);
	b->out = NULL;
	bridge_attach(b);
}

/*
 * Read the CONNACK and not a byte more: what follows it (the SUBACK, a
 * PUBLISH of a persistent session) is the module's to read.
 */
static void bridge_read_connack(struct bridge *b)
{
	uint8_t *ack = b->connack;
	const char *why = NULL;
	char refusal[96];
	uint8_t *after;
	size_t len, need;
	ssize_t n;

	/* TLS may hold decrypted bytes that no EPOLLIN announces: loop. */
	while (b->connack_have < BRIDGE_CONNACK_SIZE) {
		need = b->connack_have < BRIDGE_CONNACK_HEAD ?
		       BRIDGE_CONNACK_HEAD : BRIDGE_CONNACK_SIZE;
		n = bridge_recv(b, ack + b->connack_have,
				need - b->connack_have, &why);
		if (n == 0)
			return;
		if (n < 0) {
			bridge_fail(b, why);
			return;
		}
		b->connack_have += (size_t)n;
		if (b->connack_have == BRIDGE_CONNACK_HEAD &&
		    (ack[0] != MQTT_CONNACK << 4 || ack[1] != 2)) {
			bridge_fail(b, "the remote did not answer with a CONNACK");
			return;
		}
	}
	if (ack[3] != MQTT_CONNACK_ACCEPTED) {
		/* Mosquitto's answer too: a broker not knowing bridges. */
		bool fallback = ack[3] == MQTT_CONNACK_UNACCEPTABLE_PROTOCOL &&
				b->cfg->try_private && !b->private_refused;

		b->private_refused |= fallback;
		snprintf(refusal, sizeof(refusal), "CONNACK %u, %s%s", ack[3],
			 connack_meaning(ack[3]),
			 fallback ? " (dialling without try_private from now on)" :
				    "");
		bridge_fail(b, refusal);
		return;
	}
	after = after_connack(b->cfg, &len);
	if (!after) {
		bridge_fail(b, "out of memory");
		return;
	}
	b->out = after;
	b->out_len = len;
	b->out_sent = 0;
	b->state = BRIDGE_SUBSCRIBING;
	bridge_subscribe(b);
}

static void bridge_connect(struct bridge *b,
			   const struct sockaddr_storage *addr, socklen_t len);

/* The name lookup is over: connect to what it found. */
static void bridge_resolved(struct bridge *b)
{
	struct sockaddr_storage addr;
	char why[256];
	socklen_t len;
	int rc = resolve_finish(&b->lookup, &addr, &len, why, sizeof(why));

	if (rc) {
		bridge_fail(b, why);
		return;
	}
	loop_del(b->set->loop, &b->src);
	close(b->src.fd);
	b->src.fd = -1;
	bridge_connect(b, &addr, len);
}

static void bridge_handle(struct loop_source *src, uint32_t events)
{
	struct bridge *b = container_of(src, struct bridge, src);

	(void)events;
	if (b->state == BRIDGE_RESOLVING)
		bridge_resolved(b);
	else if (b->state == BRIDGE_CONNECTING)
		bridge_connected(b);
	else if (b->state == BRIDGE_TLS)
		bridge_handshake(b);
	else if (b->state == BRIDGE_CONNACK)
		bridge_read_connack(b);
	else if (b->state == BRIDGE_SUBSCRIBING)
		bridge_subscribe(b);
}

/* The address as written, "HOST:PORT" or "[IPv6]:PORT", for the log. */
static void bridge_set_peer(struct bridge *b,
			    const struct config_bridge_address *a)
{
	snprintf(b->peer, sizeof(b->peer), strchr(a->host, ':') ?
		 "[%s]:%s" : "%s:%s", a->host, a->port);
}

/* Start a non-blocking connect to @addr. */
static void bridge_connect(struct bridge *b,
			   const struct sockaddr_storage *addr, socklen_t len)
{
	int rc, fd;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		bridge_fail(b, strerror(errno));
		return;
	}
	rc = connect(fd, (const struct sockaddr *)addr, len);
	if (rc && errno != EINPROGRESS) {
		rc = errno;
		close(fd);
		bridge_fail(b, strerror(rc));
		return;
	}
	b->src.fd = fd;
	b->events = EPOLLOUT;
	rc = loop_add(b->set->loop, &b->src, EPOLLOUT);
	if (rc) {
		close(fd);
		b->src.fd = -1;
		bridge_fail(b, strerror(-rc));
		return;
	}
	b->state = BRIDGE_CONNECTING;
	b->deadline_ms = loop_now_ms() + BRIDGE_TIMEOUT_MS;
}

/*
 * Dial the bridge's current address: a name is looked up first, off the
 * loop, whose clients do not wait for a DNS server that does not answer.
 */
static void bridge_dial(struct bridge *b)
{
	const struct config_bridge_address *a = &b->cfg->addresses[b->address];
	struct sockaddr_storage addr;
	char why[256];
	socklen_t len;
	int rc;

	bridge_set_peer(b, a);
	log_verbose("Bridge %s: connecting to %s.", b->cfg->name, b->peer);
	rc = resolve_start(&b->lookup, a->host, a->port, &addr, &len, why,
			   sizeof(why));
	if (rc > 0) {
		bridge_connect(b, &addr, len);
		return;
	}
	if (rc < 0) {
		bridge_fail(b, why);
		return;
	}
	b->src.fd = b->lookup.fd;
	rc = loop_add(b->set->loop, &b->src, EPOLLIN);
	if (rc) {
		resolve_cancel(&b->lookup);
		close(b->src.fd);
		b->src.fd = -1;
		bridge_fail(b, strerror(-rc));
		return;
	}
	b->events = EPOLLIN;
	b->state = BRIDGE_RESOLVING;
	b->deadline_ms = loop_now_ms() + BRIDGE_TIMEOUT_MS;
}

/*
 * A lazy bridge's session here, before its first link: persistent, with
 * the subscriptions its link would make (no local, retain as published,
 * QoS 0 queued too), so that what goes out waits in it and is counted.
 * Made anew only when missing; its subscriptions are set each time, to
 * its lines and no others: a reload may have added or removed some.
 * Returns 0 or -errno.
 */
static int bridge_lazy_prepare(struct bridge *b, bool missing)
{
	const struct config_bridge *c = b->cfg;
	struct bridges *bs = b->set;
	struct kmqtt_nl_session s = {
		.session_expiry = MQTT_SESSION_EXPIRY_NEVER,
		.bridge = true,
	};
	int err;

	/* Until its lines are set: a failure below leaves it to do again. */
	b->lazy_ready = false;
	snprintf(s.client_id, sizeof(s.client_id), "%s", c->local_clientid);
	if (missing) {
		err = bs->ops->set_session(bs->nl, &s);
		if (err)
			return err;
	}
	err = bs->ops->set_bridge_subscriptions(bs->nl, c->local_clientid,
						c->topics, c->topic_count,
						true);
	if (err)
		return err;
	b->lazy_ready = true;
	return 0;
}

/* The module refused a lazy bridge's request: said once, until it works. */
static void bridge_lazy_refused(struct bridge *b, const char *what, int err)
{
	if (!b->lazy_failing)
		log_error("Bridge %s: %s %s: %s; trying again every second.",
			  b->cfg->name, what, b->cfg->local_clientid,
			  b->set->nl->error[0] ? b->set->nl->error :
			  strerror(-err));
	b->lazy_failing = true;
}

/*
 * A lazy bridge that is down: dial once threshold messages (queued and
 * in flight, as Mosquitto counts them) wait in its session here.
 */
static void bridge_lazy_wait(struct bridge *b)
{
	const struct config_bridge *c = b->cfg;
	struct bridges *bs = b->set;
	struct kmqtt_nl_session s;
	uint64_t waiting;
	int err;

	b->deadline_ms = loop_now_ms() + BRIDGE_LAZY_POLL_MS;
	err = bs->ops->get_session(bs->nl, c->local_clientid, &s);
	if (err && err != -ENOENT) {
		bridge_lazy_refused(b, "reading the session of", err);
		return;
	}
	if (!err && s.online && s.bridge) {
		/* Its link, which an earlier kmqttd left and this one missed. */
		b->state = BRIDGE_LINKED;
		b->conn_id = s.conn_id;
		b->link_msgs = UINT64_MAX;
		log_verbose("Bridge %s: the module has its link (connection %llu), keeping it.",
			    c->name, (unsigned long long)s.conn_id);
	} else if (!err && s.online) {
		/* A client took the client id: the bridge waits for it to go. */
		b->lazy_ready = false;
	} else if (!err && !s.bridge) {
		/*
		 * A client's session left with the client id, or a bridge's
		 * from a snapshot that did not say so: a link's ATTACH makes
		 * it the bridge's again, keeping what waits in it.
		 */
		log_verbose("Bridge %s: the session of %s here is not marked a bridge's; connecting to take it.",
			    c->name, c->local_clientid);
		bridge_dial(b);
	} else if (err || !b->lazy_ready) {
		err = bridge_lazy_prepare(b, err == -ENOENT);
		/* A client took the client id meanwhile: the next count sees it. */
		if (err == -EBUSY || err == -EEXIST)
			return;
		if (err) {
			bridge_lazy_refused(b, "making the session of", err);
			return;
		}
	} else {
		waiting = s.stats[KMQTT_STAT_QUEUED] +
			  s.stats[KMQTT_STAT_INFLIGHT];
		if (waiting >= c->threshold) {
			log_verbose("Bridge %s: %llu messages waiting (threshold %u), connecting.",
				    c->name, (unsigned long long)waiting,
				    c->threshold);
			bridge_dial(b);
		}
	}
	b->lazy_failing = false;
}

/*
 * A lazy bridge's link: closed once no message crossed it, either way,
 * for idle_timeout.  Its session stays, and what comes meanwhile waits.
 */
static void bridge_lazy_idle(struct bridge *b, uint64_t now_ms)
{
	const struct config_bridge *c = b->cfg;
	struct bridges *bs = b->set;
	struct kmqtt_nl_session s;
	uint64_t msgs;
	int err;

	b->deadline_ms = now_ms + BRIDGE_LAZY_POLL_MS;
	if (b->idle_closing)
		return;		/* its close event is on its way */
	err = bs->ops->get_session(bs->nl, c->local_clientid, &s);
	if (err) {
		bridge_lazy_refused(b, "reading the session of", err);
		return;
	}
	b->lazy_failing = false;
	/* Closed or taken over: its close event is on its way. */
	if (!s.online || s.conn_id != b->conn_id)
		return;
	msgs = s.stats[KMQTT_STAT_MSGS_IN] + s.stats[KMQTT_STAT_MSGS_OUT];
	if (msgs != b->link_msgs) {
		b->link_msgs = msgs;
		b->active_ms = now_ms;
		return;
	}
	if (now_ms - b->active_ms < (uint64_t)c->idle_timeout * 1000)
		return;
	err = bs->ops->disconnect(bs->nl, c->local_clientid);
	if (err && err != -ENOTCONN && err != -ENOENT) {
		log_error("Bridge %s: disconnecting %s after idle_timeout: %s",
			  c->name, c->local_clientid, bs->nl->error);
		return;
	}
	b->idle_closing = true;
	log_verbose("Bridge %s: no message for %u s (idle_timeout), disconnecting.",
		   c->name, c->idle_timeout);
}

void bridges_init(struct bridges *bs, struct loop *loop, struct kmqtt_nl *nl,
		  const struct bridge_ops *ops)
{
	memset(bs, 0, sizeof(*bs));
	bs->loop = loop;
	bs->nl = nl;
	bs->ops = ops;
}

/* A bridge of @cfg, due to dial at @now_ms. */
static struct bridge *bridge_new(struct bridges *bs,
				 const struct config_bridge *cfg,
				 uint64_t now_ms)
{
	struct bridge *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->set = bs;
	b->cfg = cfg;
	b->state = BRIDGE_IDLE;
	b->src = (struct loop_source){ .fd = -1, .handle = bridge_handle };
	b->lookup = (struct resolve){ .fd = -1 };
	b->deadline_ms = now_ms;
	b->delay_s = cfg->restart_base;
	b->link_msgs = UINT64_MAX;
	return b;
}

/* Drop its handshake, or have the module close its link. */
static void bridge_free(struct bridge *b, bool disconnect)
{
	struct bridges *bs = b->set;
	int err;

	bridge_close_socket(b);
	if (disconnect && b->state == BRIDGE_LINKED) {
		err = bs->ops->disconnect(bs->nl, b->cfg->local_clientid);
		/* -ENOTCONN, -ENOENT: it closed already, its event on the way */
		if (err && err != -ENOTCONN && err != -ENOENT) {
			log_error("Bridge %s: disconnecting %s: %s",
				  b->cfg->name, b->cfg->local_clientid,
				  bs->nl->error);
		} else {
			log_verbose("Bridge %s: disconnected for the new configuration.",
				    b->cfg->name);
			/* Once: the bridge is gone, nothing tries again. */
			bridge_notify_local(bs, b->cfg, false);
		}
	}
	free(b);
}

static void adopt_conn(const struct kmqtt_nl_conn *conn, void *arg)
{
	struct bridges *bs = arg;
	struct bridge *b;
	size_t i;

	for (i = 0; i < bs->count; i++) {
		b = bs->bridge[i];
		/* A client that took the bridge's client id is no link. */
		if (b->state != BRIDGE_IDLE || !conn->bridge ||
		    strcmp(conn->client_id, b->cfg->local_clientid))
			continue;
		b->state = BRIDGE_LINKED;
		b->conn_id = conn->id;
		log_verbose("Bridge %s: the module has its link (connection %llu), keeping it.",
			    b->cfg->name, (unsigned long long)conn->id);
	}
}

int bridges_start(struct bridges *bs, const struct config *cfg,
		  uint64_t now_ms)
{
	size_t i;
	int err;

	if (!cfg->bridge_count)
		return 0;
	bs->bridge = calloc(cfg->bridge_count, sizeof(*bs->bridge));
	if (!bs->bridge)
		return -ENOMEM;
	for (i = 0; i < cfg->bridge_count; i++) {
		bs->bridge[i] = bridge_new(bs, &cfg->bridges[i], now_ms);
		if (!bs->bridge[i]) {
			bridges_fini(bs);
			return -ENOMEM;
		}
		bs->count++;
	}
	/* An earlier kmqttd's links go on: a second one would take over. */
	err = bs->ops->dump_conns(bs->nl, adopt_conn, bs);
	if (err)
		log_error("Bridges: listing the module's connections: %s; dialling every bridge.",
			  bs->nl->error);
	/*
	 * An adopted link is up: "1" again, for a topic or a setting that
	 * changed, or a kmqttd that published none.
	 */
	for (i = 0; i < bs->count; i++)
		bridge_notify(bs->bridge[i],
			      bs->bridge[i]->state == BRIDGE_LINKED);
	return 0;
}

void bridges_reload(struct bridges *bs, const struct config *next,
		    uint64_t now_ms)
{
	struct bridge **kept;
	size_t i, j, n = 0;

	kept = calloc(next->bridge_count ? next->bridge_count : 1,
		      sizeof(*kept));
	if (!kept) {
		log_error("Bridges: out of memory; keeping them as they are.");
		return;
	}
	for (i = 0; i < next->bridge_count; i++) {
		const struct config_bridge *nc = &next->bridges[i];

		for (j = 0; j < bs->count; j++) {
			struct bridge *b = bs->bridge[j];

			if (b && config_bridge_equal(b->cfg, nc)) {
				b->cfg = nc;
				kept[i] = b;
				bs->bridge[j] = NULL;
				break;
			}
		}
	}
	/* Changed and removed ones go before their successors dial. */
	for (j = 0; j < bs->count; j++)
		if (bs->bridge[j])
			bridge_free(bs->bridge[j], true);
	for (i = 0; i < next->bridge_count; i++) {
		if (!kept[i]) {
			kept[i] = bridge_new(bs, &next->bridges[i], now_ms);
			if (kept[i])
				bridge_notify(kept[i], false);
		}
		if (kept[i])
			kept[n++] = kept[i];
		else
			log_error("Bridge %s: out of memory, not started.",
				  next->bridges[i].name);
	}
	free(bs->bridge);
	bs->bridge = kept;
	bs->count = n;
}

int bridges_timeout(const struct bridges *bs, uint64_t now_ms)
{
	uint64_t soonest = UINT64_MAX;
	size_t i;

	for (i = 0; i < bs->count; i++) {
		const struct bridge *b = bs->bridge[i];

		if (b->state != BRIDGE_STOPPED &&
		    (b->state != BRIDGE_LINKED ||
		     b->cfg->start_type == CONFIG_START_LAZY) &&
		    b->deadline_ms < soonest)
			soonest = b->deadline_ms;
		if (b->notify_due && b->notify_retry_ms < soonest)
			soonest = b->notify_retry_ms;
	}
	if (soonest == UINT64_MAX)
		return -1;
	if (soonest <= now_ms)
		return 0;
	return soonest - now_ms > INT_MAX ? INT_MAX : (int)(soonest - now_ms);
}

void bridges_expire(struct bridges *bs, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < bs->count; i++) {
		struct bridge *b = bs->bridge[i];

		if (b->notify_due && b->notify_retry_ms <= now_ms)
			bridge_notify(b, b->notify_up);
		if (b->deadline_ms > now_ms)
			continue;
		if (b->state == BRIDGE_IDLE &&
		    b->cfg->start_type == CONFIG_START_LAZY)
			bridge_lazy_wait(b);
		else if (b->state == BRIDGE_IDLE)
			bridge_dial(b);
		else if (b->state == BRIDGE_LINKED &&
			 b->cfg->start_type == CONFIG_START_LAZY)
			bridge_lazy_idle(b, now_ms);
		else if (b->state == BRIDGE_RESOLVING)
			bridge_fail(b, "name lookup timed out");
		else if (b->state == BRIDGE_CONNECTING ||
			 b->state == BRIDGE_TLS ||
			 b->state == BRIDGE_CONNACK ||
			 b->state == BRIDGE_SUBSCRIBING)
			bridge_fail(b, "timed out");
	}
}

void bridges_closed(struct bridges *bs, uint64_t conn_id, const char *why)
{
	size_t i;

	for (i = 0; i < bs->count; i++) {
		struct bridge *b = bs->bridge[i];

		if (b->state != BRIDGE_LINKED || b->conn_id != conn_id)
			continue;
		/* A kmqttd that adopted it never dialled: say which. */
		if (!b->peer[0])
			snprintf(b->peer, sizeof(b->peer), "the remote");
		bridge_notify(b, false);
		if (b->idle_closing) {
			/* Lazy, and meant: wait for messages, no backoff. */
			b->idle_closing = false;
			b->state = BRIDGE_IDLE;
			b->deadline_ms = loop_now_ms() + BRIDGE_LAZY_POLL_MS;
			log_verbose("Bridge %s: link to %s closed (idle); waiting for %u messages.",
				    b->cfg->name, b->peer, b->cfg->threshold);
			continue;
		}
		bridge_down(b, "link to", why,
			    b->cfg->round_robin ? b->address + 1 : 0);
	}
}

/* Marks the bridges whose link is among the module's connections. */
struct resync {
	struct bridges *bs;
	bool *seen;
};

static void resync_conn(const struct kmqtt_nl_conn *conn, void *arg)
{
	struct resync *r = arg;
	size_t i;

	for (i = 0; i < r->bs->count; i++)
		if (r->bs->bridge[i]->state == BRIDGE_LINKED &&
		    r->bs->bridge[i]->conn_id == conn->id)
			r->seen[i] = true;
}

void bridges_resync(struct bridges *bs)
{
	struct resync r = { .bs = bs };
	size_t i;

	r.seen = calloc(bs->count ? bs->count : 1, sizeof(*r.seen));
	if (!r.seen || bs->ops->dump_conns(bs->nl, resync_conn, &r)) {
		log_error("Bridges: close events were lost and the module's connections cannot be listed: %s",
			  r.seen ? bs->nl->error : "out of memory");
		free(r.seen);
		return;
	}
	for (i = 0; i < bs->count; i++)
		if (bs->bridge[i]->state == BRIDGE_LINKED && !r.seen[i])
			bridges_closed(bs, bs->bridge[i]->conn_id,
				       "closed (its event was lost)");
	free(r.seen);
}

void bridges_fini(struct bridges *bs)
{
	size_t i;

	for (i = 0; i < bs->count; i++)
		bridge_free(bs->bridge[i], false);
	free(bs->bridge);
	bs->bridge = NULL;
	bs->count = 0;
}
