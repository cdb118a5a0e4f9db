// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <kmqtt/mqtt.h>

#include "auth_method.h"
#include "auth_packet.h"
#include "connect.h"
#include "kmod/ws_frame.h"
#include "kmqtt_nl.h"
#include "listener.h"
#include "log.h"
#include "tls.h"
#include "websocket.h"

/* Accepts per wakeup, so a connection flood cannot starve the loop. */
#define ACCEPT_BATCH		64
/* Back-off after running out of file descriptors or memory. */
#define ACCEPT_PAUSE_MS		100

/* A packet being read: exactly its bytes, no more. */
struct pending_in {
	uint8_t *buf;
	size_t have, cap;
};

/* What reads a packet: connect_read_step(), auth_packet_read_step(). */
typedef struct connect_result (*pending_read_step)(const uint8_t *buf,
						   size_t have, size_t *need);

struct pending {
	struct loop_source src;
	struct listener *l;
	struct deadline deadline;	/* in l->pending: the next packet's */
	bool watched;			/* src is in the loop */
	uint32_t events;		/* what src waits for */
	struct tls_conn *tls;		/* NULL: plain TCP */
	bool handshaking;		/* TLS handshake not complete yet */
	bool offloaded;			/* the socket runs kernel TLS */
	char peer[ADDR_STR_MAX];
	struct pending_in in;		/* the CONNECT */
	/* Parsed; will and credentials are kept for authentication. */
	struct connect_packet connect;
	/* Enhanced authentication under way (5.0 4.12), or NULL. */
	const struct auth_method *auth_method;
	void *auth_session;
	unsigned int auth_steps;	/* the client's AUTH packets so far */
	struct pending_in auth_in;	/* the AUTH being read */
	/* The will topic with the mount point in front; NULL: none. */
	uint8_t *mounted_will_topic;
	size_t mounted_will_topic_len;
	/*
	 * 5.0: what ATTACH hands the module for its CONNACK, with the
	 * method's, and for the will.
	 */
	uint8_t connack_props[CONNECT_CONNACK_PROPS_MAX +
			      AUTH_PACKET_PROPS_MAX];
	size_t connack_props_len;
	uint8_t *will_props;		/* without the Will Delay Interval */
	size_t will_props_len;
	/*
	 * MQTT over WebSocket: the opening handshake's request being read
	 * (freed once answered), then the client's frames.
	 */
	bool websocket;
	bool upgraded;			/* answered 101: frames from here */
	struct pending_in request;
	size_t request_max;		/* the listener's when accepted */
	struct kmqtt_ws_rx ws;
	unsigned int ws_idle;		/* frames without data still allowed */
	/* Refused: in l->lingering, reading at most linger_left more bytes. */
	bool lingering;
	size_t linger_left;
};

_Static_assert(CONNECT_CONNACK_PROPS_MAX + AUTH_PACKET_PROPS_MAX <=
	       KMQTT_CONNACK_PROPS_MAX,
	       "ATTACH takes the CONNACK properties of a method too");

/* The connection @list's next deadline is for, or NULL. */
static struct pending *pending_oldest(const struct deadline_list *list)
{
	return list->oldest ?
	       container_of(list->oldest, struct pending, deadline) :
	       NULL;
}

/* A packet's bytes may hold a password or a proof. */
static void pending_in_free(struct pending_in *in)
{
	if (in->buf)
		explicit_bzero(in->buf, in->cap);
	free(in->buf);
}

/* Free what the connection holds but its socket, and forget it. */
static void pending_free_state(struct pending *p)
{
	tls_conn_free(p->tls);
	p->tls = NULL;
	if (p->auth_method)
		p->auth_method->end(p->auth_session);
	p->auth_method = NULL;
	pending_in_free(&p->in);
	pending_in_free(&p->auth_in);
	pending_in_free(&p->request);
	p->in = p->auth_in = p->request = (struct pending_in){ 0 };
	free(p->mounted_will_topic);
	free(p->will_props);
	p->mounted_will_topic = p->will_props = NULL;
}

static void pending_free(struct pending *p)
{
	struct listener *l = p->l;

	deadline_remove(p->lingering ? &l->lingering : &l->pending,
			&p->deadline);
	l->pending_count--;

	if (p->watched)
		loop_del(l->loop, &p->src);
	pending_free_state(p);
	if (p->src.fd >= 0)
		close(p->src.fd);
	explicit_bzero(p, sizeof(*p));
	free(p);
}

static void pending_close(struct pending *p, const char *reason)
{
	log_verbose("Closing connection from %s: %s.", p->peer, reason);
	pending_free(p);
}

/* Closed without CONNACK, for another reason than the time it took. */
static void pending_drop(struct pending *p, const char *reason)
{
	p->l->stats.dropped++;
	pending_close(p, reason);
}

/* Wait for @events on the connection's socket. */
static void pending_wait(struct pending *p, uint32_t events)
{
	if (p->events == events)
		return;
	if (loop_mod(p->l->loop, &p->src, events))
		log_error("Watching connection from %s failed.", p->peer);
	p->events = events;
}

/*
 * Once a refusal is sent: end our side (FIN after the answer) and read
 * what the client still sends, discarded, until it closes its side,
 * l->linger_ms pass or LISTENER_LINGER_BYTES came, then close.  Closed
 * with bytes unread, the socket would send a reset instead: a client
 * still writing (a long CONNECT, a large handshake request) would get
 * ECONNRESET or EPIPE on its write and never read the answer.  The
 * connection keeps its place in pending_count meanwhile.
 */
static void pending_linger(struct pending *p)
{
	struct listener *l = p->l;

	if (shutdown(p->src.fd, SHUT_WR)) {
		pending_free(p);
		return;
	}
	/* Only the socket is needed from here. */
	pending_free_state(p);
	deadline_remove(&l->pending, &p->deadline);
	deadline_append(&l->lingering, &p->deadline,
			loop_now_ms() + l->linger_ms);
	p->lingering = true;
	p->linger_left = LISTENER_LINGER_BYTES;
	/*
	 * Reading only (not a TLS write's EPOLLOUT, which would spin); a
	 * refused ATTACH had taken the socket out of the loop.
	 */
	if (p->watched ? loop_mod(l->loop, &p->src, EPOLLIN) :
			 loop_add(l->loop, &p->src, EPOLLIN)) {
		log_error("Watching connection from %s failed.", p->peer);
		pending_free(p);
		return;
	}
	p->watched = true;
	p->events = EPOLLIN;
}

/* Read and discard what a lingering connection sent; close at its end. */
static void pending_drain(struct pending *p)
{
	uint8_t buf[4096];
	ssize_t n;

	for (;;) {
		n = tls_sock_discard(p->src.fd, buf,
				     p->linger_left < sizeof(buf) ?
				     p->linger_left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* Closed, failed, or LISTENER_LINGER_BYTES read. */
		if (n <= 0 || !(p->linger_left -= (size_t)n)) {
			pending_free(p);
			return;
		}
	}
}

/* 3.1.1's return codes and 5.0's reason codes, as 5.0's. */
static void pending_count_refusal(struct listener *l, uint8_t return_code)
{
	uint8_t v5 = return_code == MQTT_CONNACK_UNACCEPTABLE_PROTOCOL ?
		     MQTT_RC_UNSUPPORTED_PROTOCOL :
		     connect_refusal_code(MQTT_PROTO_V5, return_code);

	if (v5 < MQTT_RC_UNSPECIFIED_ERROR)
		v5 = MQTT_RC_UNSPECIFIED_ERROR;
	l->stats.refused[v5 - MQTT_RC_UNSPECIFIED_ERROR]++;
}

/*
 * Write @what, @len bytes, whole or not at all.  The client reads nothing
 * before it (CONNACK, the handshake's answer) or waits for it (AUTH): a
 * write this small, one TLS record, fits the empty socket buffer.  After
 * the hand-off the kernel encrypts it.  Returns false, logged, when it
 * could not.
 */
static bool pending_write(struct pending *p, const uint8_t *what, size_t len,
			  const char *name)
{
	const char *why = NULL;
	ssize_t sent;

	if (p->tls && !p->offloaded) {
		if (tls_conn_write(p->tls, what, len) != TLS_DONE)
			why = tls_conn_error(p->tls);
	} else {
		sent = send(p->src.fd, what, len, MSG_NOSIGNAL);
		if (sent < 0)
			why = strerror(errno);
		else if ((size_t)sent != len)
			why = "socket buffer full";
	}
	if (why)
		log_verbose("Sending %s to %s failed: %s.", name, p->peer, why);
	return !why;
}

/* A frame of @opcode with @len bytes of @what, as pending_write(). */
static bool pending_write_frame(struct pending *p, uint8_t opcode,
				const uint8_t *what, size_t len,
				const char *name)
{
	uint8_t *frame = malloc(KMQTT_WS_SEND_HDR_MAX + len);
	size_t hdr;
	bool sent;

	if (!frame) {
		log_verbose("Sending %s to %s failed: out of memory.", name,
			    p->peer);
		return false;
	}
	hdr = kmqtt_ws_put_hdr(frame, opcode, len);
	memcpy(frame + hdr, what, len);
	sent = pending_write(p, frame, hdr + len, name);
	free(frame);
	return sent;
}

/* Send the packet @what, @len bytes, in a binary frame over WebSocket. */
static bool pending_send(struct pending *p, const uint8_t *what, size_t len,
			 const char *name)
{
	if (p->upgraded)
		return pending_write_frame(p, KMQTT_WS_OP_BINARY, what, len, name);
	return pending_write(p, what, len, name);
}

/*
 * Log the refusal and send its CONNACK, in the form of the client's
 * version (connect_put_refusal()); the caller lingers (pending_linger()).
 */
static void pending_send_refusal(struct pending *p, uint8_t return_code,
				 const char *reason)
{
	uint8_t connack[CONNECT_REFUSAL_MAX];
	uint8_t level = p->connect.proto_level;
	size_t len;

	log_verbose("Refusing connection from %s: %s (CONNACK %u).", p->peer,
		    reason, connect_refusal_code(level, return_code));
	pending_count_refusal(p->l, return_code);
	len = connect_put_refusal(connack, level, return_code);
	pending_send(p, connack, len, "CONNACK");
}

static void pending_refuse(struct pending *p, uint8_t return_code,
			   const char *reason)
{
	pending_send_refusal(p, return_code, reason);
	pending_linger(p);
}

static void pending_auth_finish(struct pending *p, struct listener_grant *g,
				uint64_t conn_id)
{
	const struct listener_auth *auth = p->l->auth;

	if (auth && auth->finish)
		auth->finish(g, &p->connect, conn_id, auth->arg);
}

/*
 * Switch a TLS connection to kernel TLS, taking what OpenSSL decrypted
 * past the CONNECT into *@extra.  Returns NULL, or why it must be dropped.
 */
static const char *pending_offload(struct pending *p, uint8_t **extra,
				   size_t *extra_len)
{
	if (tls_conn_take_pending(p->tls, extra, extra_len) != TLS_DONE)
		return tls_conn_error(p->tls);
	if (*extra_len > KMQTT_PENDING_MAX)
		return "more data after CONNECT than one TLS record";
	if (tls_conn_offload(p->tls) != TLS_DONE)
		return tls_conn_error(p->tls);
	p->offloaded = true;
	return NULL;
}

/*
 * The will topic as kmqtt.ko takes it: with the listener's mount point in
 * front.  Returns NULL, or why the connection must be dropped.
 */
static const char *pending_mount_will(struct pending *p)
{
	const char *mount = p->l->settings.mount_point;
	const struct connect_bytes *topic = &p->connect.will_topic;
	size_t mount_len;
	uint8_t *buf;

	if (!p->connect.will || !mount)
		return NULL;
	mount_len = strlen(mount);
	/* Mosquitto closes the connection, without CONNACK, too. */
	if (mount_len + topic->len > MQTT_MAX_TOPIC_LEN)
		return "will topic longer than 65535 bytes with the mount point";
	buf = malloc(mount_len + topic->len);
	if (!buf)
		return "out of memory";
	memcpy(buf, mount, mount_len);
	memcpy(buf + mount_len, topic->data, topic->len);
	p->mounted_will_topic = buf;
	p->mounted_will_topic_len = mount_len + topic->len;
	return NULL;
}

/* mosquitto -v's protocol number: p1 is MQTT 3.1, p2 3.1.1, p5 5.0. */
static int pending_log_protocol(uint8_t proto_level)
{
	switch (proto_level) {
	case MQTT_PROTO_V31:
		return 1;
	case MQTT_PROTO_V311:
		return 2;
	}
	return 5;
}

/* Hand the connection to kmqtt.ko with what @g granted; releases @g. */
static void pending_attach(struct pending *p, struct listener_grant *g)
{
	struct connect_packet *c = &p->connect;
	struct listener *l = p->l;
	struct kmqtt_nl_attached reply;
	struct kmqtt_nl_attach req;
	uint8_t *extra = NULL;
	size_t extra_len = 0;
	const char *why;
	int err;

	if (p->tls) {
		why = pending_offload(p, &extra, &extra_len);
		if (why) {
			log_error("Kernel TLS for %s: %s", p->peer, why);
			pending_auth_finish(p, g, 0);
			if (extra)
				explicit_bzero(extra, extra_len);
			free(extra);
			pending_drop(p, "kernel TLS hand-off failed");
			return;
		}
	}
	req = (struct kmqtt_nl_attach){
		.fd = p->src.fd,
		.client_id = c->client_id,
		.client_id_len = c->client_id_len,
		.proto_level = c->proto_level,
		.keepalive = connect_keepalive(c, &l->settings.limits),
		.clean_session = c->clean_session,
		.will = c->will,
		.will_qos = c->will_qos,
		.will_retain = c->will_retain,
		.will_topic = p->mounted_will_topic ? p->mounted_will_topic :
						      c->will_topic.data,
		.will_topic_len = p->mounted_will_topic ?
				  p->mounted_will_topic_len : c->will_topic.len,
		.will_payload = c->will_payload.data,
		.will_payload_len = c->will_payload.len,
		.pending = extra,
		.pending_len = extra_len,
		.username = g->username,
		.username_len = g->username ? strlen(g->username) : 0,
		.acl = g->acl,
		.mount_point = l->settings.mount_point,
		.mount_point_len = l->settings.mount_point ?
				   strlen(l->settings.mount_point) : 0,
		.session_expiry = connect_session_expiry(c, &l->settings.limits),
		.receive_max = c->receive_max,
		.topic_alias_max = l->settings.limits.topic_alias_max,
		.max_packet_out = c->max_packet_size,
		.connack_props = p->connack_props,
		.connack_props_len = p->connack_props_len,
		.will_props = p->will_props,
		.will_props_len = p->will_props_len,
		.will_delay = c->will_delay,
		/* The module takes AUTH (re-authentication) from it then. */
		.auth_method = p->auth_method ? p->auth_method->name : NULL,
		/* The module sends it no message of its own back. */
		.peer_bridge = c->bridge,
		/* The module reads the frames on from where the agent stopped. */
		.websocket = p->websocket,
		.ws_frame_left = p->ws.in_frame ? p->ws.left : 0,
		.ws_mask = kmqtt_ws_mask_get(&p->ws),
		.ws_continued = p->ws.continued,
	};
	/* The socket is the module's from now on: stop watching it. */
	loop_del(l->loop, &p->src);
	p->watched = false;
	err = kmqtt_nl_attach(l->nl, &req, &reply);
	/* May be the next PUBLISH: payloads are the clients' secrets. */
	if (extra)
		explicit_bzero(extra, extra_len);
	free(extra);
	if (!err) {
		l->stats.attached++;
		log_verbose("New client connected from %s as %s (p%d, c%d, k%u%s%s%s%s%s).",
			    p->peer, c->client_id,
			    pending_log_protocol(c->proto_level),
			    c->clean_session, c->keepalive,
			    g->username ? ", u'" : "",
			    g->username ? g->username : "",
			    g->username ? "'" : "",
			    p->tls ? ", kernel TLS" : "",
			    p->websocket ? ", WebSocket" : "");
	}
	pending_auth_finish(p, g, err ? 0 : reply.conn_id);
	if (err == -EUSERS) {
		log_warning("Client connection from %s denied: max_connections exceeded.",
			    p->peer);
		pending_refuse(p, MQTT_RC_QUOTA_EXCEEDED,
			       "max_connections exceeded");
		return;
	}
	if (err == -ENOTCONN) {
		/* The client left before the module took its socket. */
		pending_drop(p, l->nl->error);
		return;
	}
	if (err) {
		log_error("Attaching client %s from %s: %s", c->client_id,
			  p->peer, l->nl->error);
		pending_refuse(p, MQTT_CONNACK_SERVER_UNAVAILABLE,
			       "attach failed");
		return;
	}
	/* mosquitto -v's lines (above too) */
	if (c->will)
		log_verbose("Will message specified (%u bytes) (r%d, q%u).",
			    c->will_payload.len, c->will_retain, c->will_qos);
	else
		log_verbose("No will message specified.");
	log_verbose("Sending CONNACK to %s (%d, 0)", c->client_id,
		    reply.session_present);
	/* kmqtt.ko holds its own reference to the socket. */
	close(p->src.fd);
	p->src.fd = -1;
	pending_free(p);
}

/* As Mosquitto: no CONNACK can be sent, the connection closes. */
static const char connack_too_large[] =
	"CONNACK over the client's Maximum Packet Size (5.0 MQTT-3.1.2-24)";

/*
 * What ATTACH hands the module for a 5.0 client: its CONNACK's properties
 * and its will's.  Returns NULL, or why the connection must be dropped.
 */
static const char *pending_prepare_v5(struct pending *p)
{
	const struct connect_packet *c = &p->connect;

	p->connack_props_len = connect_put_connack_props(p->connack_props, c,
							 &p->l->settings.limits);
	if (!connect_connack_fits(c, p->connack_props_len))
		return connack_too_large;
	if (!c->will || !c->will_props.len)
		return NULL;
	p->will_props = malloc(c->will_props.len);
	if (!p->will_props)
		return "out of memory";
	p->will_props_len = connect_will_publish_props(c, p->will_props);
	return NULL;
}

/* What the auth check and the methods learn of the connection. */
static void pending_conn_info(struct pending *p, struct listener_conn_info *ci)
{
	*ci = (struct listener_conn_info){
		.connect = &p->connect,
		.peer = p->peer,
		.tls = p->tls != NULL,
		.cert_cn = p->tls ? tls_conn_peer_cn(p->tls) : NULL,
		.cert_subject = p->tls ? tls_conn_peer_subject(p->tls) : NULL,
		.identity = p->l->settings.identity,
	};
}

/*
 * The auth check, with the user enhanced authentication proved
 * (@identity, or NULL), then the keepalive: attached or refused.
 */
static void pending_authorise(struct pending *p, const char *identity)
{
	const struct listener_auth *auth = p->l->auth;
	uint8_t return_code = MQTT_CONNACK_ACCEPTED;
	struct listener_grant g = { 0 };
	struct listener_conn_info ci;
	const char *why;

	pending_conn_info(p, &ci);
	ci.auth_identity = identity;
	if (auth)
		return_code = auth->check(&ci, &g, auth->arg);
	/* Mosquitto checks the keepalive once the client is authorised. */
	why = connect_keepalive_refusal(&p->connect, &p->l->settings.limits);
	if (return_code == MQTT_CONNACK_ACCEPTED && why) {
		return_code = MQTT_CONNACK_IDENTIFIER_REJECTED;
		g.reason = why;
	}
	if (return_code == MQTT_CONNACK_ACCEPTED) {
		pending_attach(p, &g);
		return;
	}
	/* Before freeing the grant: the reason is its text. */
	pending_send_refusal(p, return_code,
			    g.reason ? g.reason : "not authorised");
	pending_auth_finish(p, &g, 0);
	pending_linger(p);
}

/*
 * The method's verdict: its data in an AUTH to the client and a wait for
 * the answer, which the client owes within the same time as its CONNECT;
 * or in the CONNACK's properties, and the auth check; or a refusal.
 */
static void pending_auth_answer(struct pending *p,
				const struct auth_method_result *res)
{
	const char *method = p->auth_method->name;
	uint8_t out[AUTH_PACKET_MAX];
	size_t len;

	if (res->verdict == AUTH_METHOD_FAIL) {
		pending_refuse(p, MQTT_RC_NOT_AUTHORIZED, res->reason);
		return;
	}
	if (res->data_len > AUTH_METHOD_DATA_MAX) {
		pending_drop(p, "a method's Authentication Data too long");
		return;
	}
	if (res->verdict == AUTH_METHOD_SUCCESS) {
		p->connack_props_len += auth_packet_put_props(
			p->connack_props + p->connack_props_len, method,
			res->data, res->data_len);
		if (!connect_connack_fits(&p->connect, p->connack_props_len))
			pending_drop(p, connack_too_large);
		else
			pending_authorise(p, res->identity);
		return;
	}
	if (p->auth_steps == AUTH_METHOD_STEPS_MAX) {
		pending_refuse(p, MQTT_RC_NOT_AUTHORIZED,
			       "too many authentication steps");
		return;
	}
	len = auth_packet_put(out, method, res->data, res->data_len);
	/* 5.0 MQTT-3.1.2-24: nothing over the client's Maximum Packet Size. */
	if (p->connect.max_packet_size && len > p->connect.max_packet_size) {
		pending_drop(p, "AUTH over the client's maximum packet size");
		return;
	}
	if (!pending_send(p, out, len, "AUTH")) {
		pending_drop(p, "AUTH not sent");
		return;
	}
	p->auth_in.have = 0;
	deadline_remove(&p->l->pending, &p->deadline);
	deadline_append(&p->l->pending, &p->deadline,
			loop_now_ms() + p->l->connect_timeout_ms);
}

/*
 * Enhanced authentication (5.0 4.12): the method the CONNECT names, when
 * the listener's check offers it, and its first step.
 */
static void pending_auth_start(struct pending *p)
{
	const struct listener_auth *auth = p->l->auth;
	const struct connect_bytes *name = &p->connect.auth_method;
	char method[AUTH_METHOD_NAME_MAX + 1];
	struct auth_method_result res;
	struct listener_conn_info ci;
	const void *config = NULL;

	if (auth && auth->method && name->len <= AUTH_METHOD_NAME_MAX) {
		/* Valid UTF-8, so without NUL (5.0 1.5.4). */
		memcpy(method, name->data, name->len);
		method[name->len] = '\0';
		pending_conn_info(p, &ci);
		p->auth_method = auth->method(&ci, method, &config, auth->arg);
	}
	if (!p->auth_method) {
		pending_refuse(p, MQTT_RC_BAD_AUTH_METHOD,
			       "authentication method not offered (5.0 MQTT-4.12.0-1)");
		return;
	}
	p->auth_method->start(config, p->connect.auth_data.data,
			      p->connect.auth_data.len, &p->auth_session,
			      &res);
	pending_auth_answer(p, &res);
}

/* The client's next AUTH, read whole: the method's next step. */
static void pending_auth_step(struct pending *p)
{
	struct auth_method_result res;
	struct connect_result parsed;
	const uint8_t *data;
	size_t len;

	p->auth_steps++;
	parsed = auth_packet_parse(p->auth_in.buf, p->auth_in.have,
				   p->auth_method->name, &data, &len);
	if (parsed.action != CONNECT_ACCEPT) {
		pending_refuse(p, parsed.return_code, parsed.reason);
		return;
	}
	p->auth_method->step(p->auth_session, data, len, &res);
	pending_auth_answer(p, &res);
}

/*
 * A valid CONNECT: a 5.0 will that asks for retain, an id for the client,
 * its will against the limits, what ATTACH takes for 5.0, then enhanced
 * authentication, the auth check and the keepalive; in Mosquitto's
 * order, which decides the CONNACK code when more than one thing is
 * wrong.
 */
static void pending_accept(struct pending *p)
{
	const struct listener_settings *set = &p->l->settings;
	bool v5 = p->connect.proto_level == MQTT_PROTO_V5;
	const char *why;
	int err;

	/* 5.0 MQTT-3.2.2-13; Mosquitto checks it first. */
	if (v5 && p->connect.will_retain && !set->limits.retain_available) {
		pending_refuse(p, MQTT_RC_RETAIN_NOT_SUPPORTED,
			       "retained will, retain_available false");
		return;
	}
	if (p->connect.client_id_len == 0) {
		if (!set->allow_zero_length_clientid) {
			pending_refuse(p, MQTT_CONNACK_IDENTIFIER_REJECTED,
				       "empty client id, allow_zero_length_clientid false");
			return;
		}
		err = connect_assign_client_id(&p->connect,
					       set->auto_id_prefix ?
					       set->auto_id_prefix : "");
		if (err) {
			log_error("Generating a client id for %s: %s", p->peer,
				  strerror(-err));
			pending_refuse(p, MQTT_CONNACK_SERVER_UNAVAILABLE,
				       "no client id");
			return;
		}
	}
	why = pending_mount_will(p);
	if (why) {
		pending_drop(p, why);
		return;
	}
	/*
	 * Mosquitto answers 0x95, "not authorised" to a 3.1.x client
	 * (connect_refusal_code()), to a will it will not store.
	 */
	if (p->connect.will && set->message_size_limit &&
	    p->connect.will_payload.len > set->message_size_limit) {
		pending_refuse(p, MQTT_RC_PACKET_TOO_LARGE,
			       "will payload over message_size_limit");
		return;
	}
	why = v5 ? pending_prepare_v5(p) : NULL;
	if (why) {
		pending_drop(p, why);
		return;
	}
	if (p->connect.has_auth_method)
		pending_auth_start(p);
	else
		pending_authorise(p, NULL);
}

static void pending_complete(struct pending *p)
{
	struct connect_result res = connect_parse(p->in.buf, p->in.have,
						  &p->connect);

	switch (res.action) {
	case CONNECT_ACCEPT:
		pending_accept(p);
		break;
	case CONNECT_REFUSE:
		pending_refuse(p, res.return_code, res.reason);
		break;
	case CONNECT_DROP:
		pending_drop(p, res.reason);
		break;
	}
}

static int pending_reserve(struct pending_in *in, size_t size)
{
	uint8_t *buf;

	if (size <= in->cap)
		return 0;
	if (size < MQTT_MAX_FIXED_HEADER)
		size = MQTT_MAX_FIXED_HEADER;
	/* Not realloc(): the bytes it would free may hold a password. */
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	if (in->buf)
		memcpy(buf, in->buf, in->have);
	pending_in_free(in);
	in->buf = buf;
	in->cap = size;
	return 0;
}

/* Why a client that closed its end is dropped. */
static const char *pending_closed(const struct pending *p)
{
	return p->auth_method ? "closed while authenticating" :
				"closed before CONNECT";
}

/*
 * Read up to @n bytes from the connection: returns the count, 0 when
 * nothing is there yet (the socket is watched for what is needed), or -1
 * with *@reason when the connection must be dropped.
 */
static ssize_t pending_read_bytes(struct pending *p, void *buf, size_t n,
				  const char **reason)
{
	size_t got;
	ssize_t rc;

	if (!p->tls) {
		do {
			rc = recv(p->src.fd, buf, n, 0);
		} while (rc < 0 && errno == EINTR);
		if (rc > 0)
			return rc;
		if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		*reason = rc ? strerror(errno) : pending_closed(p);
		return -1;
	}
	/* OpenSSL may hold decrypted bytes that no EPOLLIN announces. */
	switch (tls_conn_read(p->tls, buf, n, &got)) {
	case TLS_DONE:
		return (ssize_t)got;
	case TLS_WANT_READ:
		pending_wait(p, EPOLLIN);
		return 0;
	case TLS_WANT_WRITE:
		pending_wait(p, EPOLLOUT);
		return 0;
	case TLS_CLOSED:
		*reason = pending_closed(p);
		return -1;
	default:
		*reason = tls_conn_error(p->tls);
		return -1;
	}
}

static ssize_t pending_ws_read(void *ctx, void *buf, size_t n,
			       const char **reason)
{
	return pending_read_bytes(ctx, buf, n, reason);
}

static bool pending_ws_answer(void *ctx, uint8_t opcode, const uint8_t *data,
			      size_t len)
{
	return pending_write_frame(ctx, opcode, data, len,
				   opcode == KMQTT_WS_OP_PONG ? "Pong" : "Close");
}

/* Read up to @n bytes of the packet awaited, as pending_read_bytes(). */
static ssize_t pending_read(struct pending *p, void *buf, size_t n,
			    const char **reason)
{
	const struct ws_transport t = {
		.read = pending_ws_read,
		.answer = pending_ws_answer,
		.ctx = p,
	};

	if (!p->websocket)
		return pending_read_bytes(p, buf, n, reason);
	return ws_read(&p->ws, &t, &p->ws_idle, buf, n, reason);
}

/*
 * Room for more of the handshake's request: twice the buffer, from
 * WS_REQUEST_FIRST, up to the limit, so that a request of the common size
 * costs little however large websockets_headers_size is.
 */
static int pending_request_grow(struct pending *p)
{
	size_t cap = p->request.cap ? 2 * p->request.cap : WS_REQUEST_FIRST;

	return pending_reserve(&p->request,
			       cap < p->request_max ? cap : p->request_max);
}

/*
 * Read the WebSocket opening handshake's request and answer it.  The
 * client sends nothing more before the answer (RFC 6455 4.1), so reading
 * all there is reads no frame.  True once it is answered 101.
 */
static bool pending_upgrade(struct pending *p)
{
	struct pending_in *req = &p->request;
	char answer[256];
	struct ws_handshake hs;
	const char *reason = NULL;
	size_t end = 0, len, room;
	ssize_t n;

	while (!end) {
		size_t searched = req->have;

		if (req->have == p->request_max) {
			hs = (struct ws_handshake){
				.status = 431,
				.reason = "WebSocket handshake request too long",
			};
			break;
		}
		if (req->have == req->cap && pending_request_grow(p)) {
			pending_drop(p, "out of memory");
			return false;
		}
		/* The buffer may outgrow a tiny limit (pending_reserve()). */
		room = (req->cap < p->request_max ? req->cap : p->request_max) -
		       req->have;
		n = pending_read_bytes(p, req->buf + req->have, room, &reason);
		if (n == 0)
			return false;
		if (n < 0) {
			pending_drop(p, reason);
			return false;
		}
		req->have += (size_t)n;
		end = ws_request_end((const char *)req->buf, req->have,
				     searched);
	}
	if (end && end != req->have) {
		pending_drop(p, "data before the WebSocket handshake's answer");
		return false;
	}
	if (end)
		ws_handshake((const char *)req->buf, end, &hs);
	len = ws_response(&hs, answer, sizeof(answer));
	if (hs.status != 101) {
		log_verbose("Refusing WebSocket handshake from %s: %s (HTTP %d).",
			    p->peer, hs.reason, hs.status);
		p->l->stats.dropped++;
		if (pending_write(p, (const uint8_t *)answer, len,
				  "HTTP refusal"))
			pending_linger(p);
		else
			pending_close(p, hs.reason);
		return false;
	}
	if (!pending_write(p, (const uint8_t *)answer, len,
			   "WebSocket handshake")) {
		pending_drop(p, "WebSocket handshake not answered");
		return false;
	}
	log_verbose("WebSocket handshake with %s done.", p->peer);
	p->upgraded = true;
	pending_in_free(req);
	*req = (struct pending_in){ 0 };
	return true;
}

/* Drive the TLS handshake; true once it is complete. */
static bool pending_handshake(struct pending *p)
{
	switch (tls_conn_handshake(p->tls)) {
	case TLS_DONE:
		p->handshaking = false;
		log_verbose("TLS handshake with %s done: %s, %s%s%s.", p->peer,
			    tls_conn_protocol(p->tls), tls_conn_cipher(p->tls),
			    tls_conn_peer_cn(p->tls) ? ", certificate CN " : "",
			    tls_conn_peer_cn(p->tls) ? tls_conn_peer_cn(p->tls) : "");
		return true;
	case TLS_WANT_READ:
		pending_wait(p, EPOLLIN);
		return false;
	case TLS_WANT_WRITE:
		pending_wait(p, EPOLLOUT);
		return false;
	case TLS_CLOSED:
		pending_drop(p, "closed during the TLS handshake");
		return false;
	default:
		log_verbose("TLS handshake with %s failed: %s.", p->peer,
			    tls_conn_error(p->tls));
		pending_drop(p, "TLS handshake failed");
		return false;
	}
}

/*
 * Read what the packet @step frames still lacks into @in, and no more:
 * bytes after it are the next packet's, or kmqtt.ko's once the socket is
 * attached.  True once it is complete; false while it is not, and when
 * @p was refused or dropped (freed).
 */
static bool pending_read_packet(struct pending *p, struct pending_in *in,
				pending_read_step step)
{
	struct connect_result res;
	const char *reason = NULL;
	size_t need;
	ssize_t n;

	for (;;) {
		/* connect_read_step() refuses a long id before the rest. */
		res = step(in->buf, in->have, &need);
		if (res.action == CONNECT_DROP) {
			pending_drop(p, res.reason);
			return false;
		}
		if (res.action == CONNECT_REFUSE) {
			pending_refuse(p, res.return_code, res.reason);
			return false;
		}
		if (need == in->have)
			return true;
		if (pending_reserve(in, need)) {
			pending_drop(p, "out of memory");
			return false;
		}
		n = pending_read(p, in->buf + in->have, need - in->have,
				 &reason);
		if (n == 0)
			return false;
		if (n < 0) {
			pending_drop(p, reason);
			return false;
		}
		in->have += (size_t)n;
	}
}

static void pending_handle(struct loop_source *src, uint32_t events)
{
	struct pending *p = container_of(src, struct pending, src);

	(void)events;	/* errors and hangups show up as read results */
	if (p->lingering) {
		pending_drain(p);
		return;
	}
	if (p->handshaking && !pending_handshake(p))
		return;
	if (p->websocket && !p->upgraded && !pending_upgrade(p))
		return;
	if (!p->auth_method) {
		if (pending_read_packet(p, &p->in, connect_read_step))
			pending_complete(p);
	} else if (pending_read_packet(p, &p->auth_in,
				       auth_packet_read_step)) {
		pending_auth_step(p);
	}
}

static void listener_add_pending(struct listener *l, int fd,
				 const struct sockaddr *peer)
{
	struct pending *p = calloc(1, sizeof(*p));
	int err;

	if (!p) {
		log_error("Out of memory for a connection");
		close(fd);
		return;
	}
	p->src = (struct loop_source){ .fd = fd, .handle = pending_handle };
	p->l = l;
	addr_format(peer, p->peer);
	if (l->tls) {
		p->tls = tls_conn_new(l->tls, fd);
		if (!p->tls) {
			log_error("Out of memory for TLS with %s", p->peer);
			close(fd);
			free(p);
			return;
		}
		p->handshaking = true;
	}
	/* The request's buffer comes when it is read (pending_upgrade()). */
	p->websocket = l->settings.websockets;
	p->request_max = l->settings.ws_request_max;
	p->ws_idle = WS_IDLE_FRAMES_MAX;
	err = loop_add(l->loop, &p->src, EPOLLIN);
	if (err) {
		log_error("Watching connection from %s: %s", p->peer,
			  strerror(-err));
		tls_conn_free(p->tls);
		close(fd);
		free(p);
		return;
	}
	p->watched = true;
	p->events = EPOLLIN;
	deadline_append(&l->pending, &p->deadline,
			loop_now_ms() + l->connect_timeout_ms);
	l->pending_count++;
}

static void listener_pause_accept(struct listener *l, int err)
{
	log_error("Accepting on %s: %s; pausing for %d ms", l->name,
		  strerror(err), ACCEPT_PAUSE_MS);
	l->accept_resume_ms = loop_now_ms() + ACCEPT_PAUSE_MS;
	loop_mod(l->loop, &l->src, 0);
}

static void listener_handle(struct loop_source *src, uint32_t events)
{
	struct listener *l = container_of(src, struct listener, src);
	struct sockaddr_storage ss;
	char peer[ADDR_STR_MAX];
	socklen_t len;
	int i, fd;

	(void)events;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		fd = accept4(l->src.fd, (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				listener_pause_accept(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
				 errno != EINTR && errno != ECONNABORTED)
				log_error("Accepting on %s: %s", l->name,
					  strerror(errno));
			return;
		}
		addr_format((struct sockaddr *)&ss, peer);
		log_verbose("New connection from %s on port %u.", peer,
			    l->port);
		l->stats.accepted++;
		if (l->pending_count >= LISTENER_MAX_PENDING) {
			l->stats.overflows++;
			log_verbose("Closing connection from %s: too many connections waiting for CONNECT.",
				    peer);
			close(fd);
			continue;
		}
		listener_add_pending(l, fd, (struct sockaddr *)&ss);
	}
}

int listener_timeout(const struct listener *l)
{
	int pending = deadline_timeout(&l->pending, l->accept_resume_ms);
	int lingering = deadline_timeout(&l->lingering, 0);

	if (pending < 0 || (lingering >= 0 && lingering < pending))
		return lingering;
	return pending;
}

void listener_expire(struct listener *l)
{
	uint64_t now = loop_now_ms();
	struct pending *p;

	while ((p = pending_oldest(&l->lingering)) && p->deadline.at_ms <= now)
		pending_free(p);
	while ((p = pending_oldest(&l->pending)) && p->deadline.at_ms <= now) {
		l->stats.timeouts++;
		pending_close(p, p->auth_method ?
			      "no AUTH in time" : "no CONNECT in time");
	}
	if (l->accept_resume_ms && l->accept_resume_ms <= now) {
		l->accept_resume_ms = 0;
		loop_mod(l->loop, &l->src, EPOLLIN);
	}
}

static int listener_bind(struct listener *l, const struct addrinfo *ai)
{
	int one = 1;

	l->src.fd = socket(ai->ai_family,
			   ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   ai->ai_protocol);
	if (l->src.fd < 0)
		return -errno;
	if (setsockopt(l->src.fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) ||
	    bind(l->src.fd, ai->ai_addr, ai->ai_addrlen) ||
	    listen(l->src.fd, SOMAXCONN)) {
		int err = -errno;

		close(l->src.fd);
		l->src.fd = -1;
		return err;
	}
	return 0;
}

static int listener_open_addr(struct listener *l, struct loop *loop,
			      struct kmqtt_nl *nl, const char *addr,
			      const char *port, unsigned int connect_timeout_s,
			      char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN + 1];
	socklen_t len = sizeof(ss);
	size_t n = strlen(addr);
	int rc;

	memset(l, 0, sizeof(*l));
	l->src = (struct loop_source){ .fd = -1, .handle = listener_handle };
	l->loop = loop;
	l->nl = nl;
	l->connect_timeout_ms = (uint64_t)connect_timeout_s * 1000;
	l->linger_ms = LISTENER_LINGER_MS;

	/* "[::1]" as well as "::1" */
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']' &&
	    n - 2 < sizeof(host)) {
		memcpy(host, addr + 1, n - 2);
		host[n - 2] = '\0';
		addr = host;
	}
	rc = getaddrinfo(addr, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "%s port %s: %s", addr, port,
			 gai_strerror(rc));
		return -1;
	}
	rc = -EADDRNOTAVAIL;
	for (ai = res; ai && rc; ai = ai->ai_next)
		rc = listener_bind(l, ai);
	freeaddrinfo(res);
	if (rc) {
		snprintf(err, errlen, "listening on %s port %s: %s", addr,
			 port, strerror(-rc));
		return -1;
	}
	getsockname(l->src.fd, (struct sockaddr *)&ss, &len);
	addr_format((struct sockaddr *)&ss, l->name);
	l->port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);
	rc = loop_add(loop, &l->src, EPOLLIN);
	if (rc) {
		snprintf(err, errlen, "epoll: %s", strerror(-rc));
		close(l->src.fd);
		l->src.fd = -1;
		return -1;
	}
	return 0;
}

int listener_open(struct listener *l, struct loop *loop, struct kmqtt_nl *nl,
		  const char *addr, const char *port,
		  unsigned int connect_timeout_s, char *err, size_t errlen)
{
	if (addr)
		return listener_open_addr(l, loop, nl, addr, port,
					  connect_timeout_s, err, errlen);
	/* "::" takes IPv4 clients too, unless the host has no IPv6. */
	if (!listener_open_addr(l, loop, nl, "::", port, connect_timeout_s,
				err, errlen))
		return 0;
	return listener_open_addr(l, loop, nl, "0.0.0.0", port,
				  connect_timeout_s, err, errlen);
}

void listener_settings_free(struct listener_settings *s)
{
	free(s->auto_id_prefix);
	free(s->mount_point);
	memset(s, 0, sizeof(*s));
}

void listener_close(struct listener *l)
{
	while (l->pending.oldest)
		pending_free(pending_oldest(&l->pending));
	while (l->lingering.oldest)
		pending_free(pending_oldest(&l->lingering));
	if (l->src.fd >= 0) {
		loop_del(l->loop, &l->src);
		close(l->src.fd);
		l->src.fd = -1;
	}
}
