// SPDX-License-Identifier: GPL-2.0
/*
 * Connections.  The agent hands over a connected socket; from then on the
 * module owns it.  Socket callbacks (softirq) only queue work: receiving,
 * parsing, fan-out and sending all run in process context on kmqtt_wq.
 *
 * Lifetime: a connection lives from attach until its close_work has run.
 * kmqtt_conn_close() only flags it and queues close_work, so it may be
 * called from any context, including the connection's own work items.
 * close_work restores the socket callbacks (after which no callback sees
 * the connection), marks the transmit queue dead (after which no publisher
 * queues tx_work), cancels the work items and frees the connection after
 * an RCU grace period, because publishers and dumps find it under RCU.
 */

#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/tls.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <kmqtt/mqtt.h>

#include "codec.h"
#include "conn.h"
#include "msg.h"
#include "netlink.h"
#include "publish.h"
#include "session.h"

enum {
	KMQTT_CONN_F_CLOSING,
};

/* Receive buffer for headers and small packets; larger ones get their own. */
#define KMQTT_RX_MIN		4096
/* Work item runs are bounded so one busy client can't hog a worker. */
#define KMQTT_RX_BUDGET		64
#define KMQTT_TX_BUDGET		64
/* Packets gathered into one sendmsg. */
#define KMQTT_TX_BATCH		64
/*
 * Acks and pings are never dropped; a client that keeps asking for them
 * without reading its socket is disconnected at this many.
 */
#define KMQTT_MAX_QUEUED_CONTROLS	1024
/* RFC 8446 ContentType application_data, as kTLS reports it. */
#define KMQTT_TLS_RECORD_TYPE_DATA	23

struct kmqtt_txent {
	struct list_head node;
	struct kmqtt_msg *msg;
	bool publish;
};

static struct workqueue_struct *kmqtt_wq;
static struct kmem_cache *kmqtt_txent_cache;

static bool kmqtt_conn_closing(const struct kmqtt_conn *conn)
{
	return test_bit(KMQTT_CONN_F_CLOSING, &conn->flags);
}

void kmqtt_conn_close(struct kmqtt_conn *conn, enum kmqtt_close_reason reason)
{
	if (test_and_set_bit(KMQTT_CONN_F_CLOSING, &conn->flags))
		return;
	conn->close_reason = reason;
	queue_work(kmqtt_wq, &conn->close_work);
}

static int kmqtt_conn_violation(struct kmqtt_conn *conn, const char *what)
{
	net_info_ratelimited("kmqtt: closing connection %llu (%*pE): %s\n",
			     conn->id, conn->session->client_id_len,
			     conn->session->client_id, what);
	return -EPROTO;
}

/* Socket callbacks: softirq context, under sk_callback_lock. */

static void kmqtt_conn_data_ready(struct sock *sk)
{
	struct kmqtt_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		/* kTLS parses records in its own data_ready. */
		conn->saved_data_ready(sk);
		queue_work(kmqtt_wq, &conn->rx_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kmqtt_conn_state_change(struct sock *sk)
{
	struct kmqtt_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		conn->saved_state_change(sk);
		/* The receive path notices EOF and errors. */
		queue_work(kmqtt_wq, &conn->rx_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kmqtt_conn_write_space(struct sock *sk)
{
	struct kmqtt_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		/* kTLS pushes its pending records from its write_space. */
		conn->saved_write_space(sk);
		if (sk_stream_is_writeable(sk))
			queue_work(kmqtt_wq, &conn->tx_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/* Transmit. */

static int kmqtt_conn_queue_control(struct kmqtt_conn *conn,
				    struct kmqtt_msg *msg)
{
	struct kmqtt_txent *ent;
	int ret = 0;

	ent = kmem_cache_alloc(kmqtt_txent_cache, GFP_KERNEL);
	if (!ent) {
		kmqtt_msg_put(msg);
		return -ENOMEM;
	}
	ent->msg = msg;
	ent->publish = false;
	spin_lock(&conn->tx_lock);
	if (conn->tx_controls >= KMQTT_MAX_QUEUED_CONTROLS) {
		ret = -ENOBUFS;
	} else if (!conn->tx_dead) {
		list_add_tail(&ent->node, &conn->tx_queue);
		conn->tx_controls++;
		queue_work(kmqtt_wq, &conn->tx_work);
		ent = NULL;
	}
	spin_unlock(&conn->tx_lock);
	if (ent) {
		kmqtt_msg_put(msg);
		kmem_cache_free(kmqtt_txent_cache, ent);
	}
	return ret;
}

/* Queue a PINGRESP or an ack carrying just a packet id. */
static int kmqtt_conn_reply(struct kmqtt_conn *conn, u8 type, u16 packet_id)
{
	struct kmqtt_msg *msg;

	msg = kmqtt_msg_alloc(4, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	if (type == MQTT_PINGRESP)
		msg->len = kmqtt_codec_put_pingresp(msg->data);
	else
		msg->len = kmqtt_codec_put_ack(msg->data, type, packet_id);
	return kmqtt_conn_queue_control(conn, msg);
}

bool kmqtt_conn_queue_publish(struct kmqtt_conn *conn, struct kmqtt_msg *msg)
{
	const struct kmqtt_limits *limits = &conn->broker->limits;
	struct kmqtt_txent *ent;
	bool queued = false;

	ent = kmem_cache_alloc(kmqtt_txent_cache, GFP_NOWAIT | __GFP_NOWARN);
	spin_lock(&conn->tx_lock);
	if (conn->tx_dead)
		goto unlock;
	if (!ent || conn->tx_publishes >= limits->max_queued_messages ||
	    msg->len > limits->max_queued_bytes - conn->tx_publish_bytes) {
		kmqtt_counter_add(&conn->counters.msgs_dropped, 1);
		goto unlock;
	}
	kmqtt_msg_get(msg);
	ent->msg = msg;
	ent->publish = true;
	list_add_tail(&ent->node, &conn->tx_queue);
	conn->tx_publishes++;
	conn->tx_publish_bytes += msg->len;
	kmqtt_counter_add(&conn->counters.msgs_out, 1);
	queue_work(kmqtt_wq, &conn->tx_work);
	queued = true;
	ent = NULL;
unlock:
	spin_unlock(&conn->tx_lock);
	if (ent)
		kmem_cache_free(kmqtt_txent_cache, ent);
	return queued;
}

static void kmqtt_conn_free_txent(struct kmqtt_txent *ent)
{
	kmqtt_msg_put(ent->msg);
	kmem_cache_free(kmqtt_txent_cache, ent);
}

/* Drop the entries that @sent bytes (counted from the head) completed. */
static void kmqtt_conn_tx_consume(struct kmqtt_conn *conn, size_t sent)
{
	u32 publishes = 0, publish_bytes = 0, controls = 0;
	struct kmqtt_txent *ent, *tmp;

	sent += conn->tx_offset;
	list_for_each_entry_safe(ent, tmp, &conn->tx_sending, node) {
		if (sent < ent->msg->len)
			break;
		sent -= ent->msg->len;
		if (ent->publish) {
			publishes++;
			publish_bytes += ent->msg->len;
		} else {
			controls++;
		}
		list_del(&ent->node);
		kmqtt_conn_free_txent(ent);
	}
	conn->tx_offset = sent;

	spin_lock(&conn->tx_lock);
	conn->tx_publishes -= publishes;
	conn->tx_publish_bytes -= publish_bytes;
	conn->tx_controls -= controls;
	spin_unlock(&conn->tx_lock);
}

static void kmqtt_conn_tx_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       tx_work);
	struct kvec vec[KMQTT_TX_BATCH];
	int budget = KMQTT_TX_BUDGET;

	while (!kmqtt_conn_closing(conn)) {
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
		struct kmqtt_txent *ent;
		size_t n = 0, len = 0;
		int ret;

		spin_lock(&conn->tx_lock);
		list_splice_tail_init(&conn->tx_queue, &conn->tx_sending);
		spin_unlock(&conn->tx_lock);
		if (list_empty(&conn->tx_sending))
			return;
		if (!budget--) {
			queue_work(kmqtt_wq, work);
			return;
		}

		list_for_each_entry(ent, &conn->tx_sending, node) {
			u32 skip = n ? 0 : conn->tx_offset;

			vec[n].iov_base = ent->msg->data + skip;
			vec[n].iov_len = ent->msg->len - skip;
			len += vec[n].iov_len;
			if (++n == KMQTT_TX_BATCH)
				break;
		}
		ret = kernel_sendmsg(conn->sock, &msg, vec, n, len);
		/* On -EAGAIN, write_space queues this work again. */
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
			return;
		}
		kmqtt_counter_add(&conn->counters.bytes_out, ret);
		kmqtt_conn_tx_consume(conn, ret);
	}
}

static void kmqtt_conn_tx_purge(struct kmqtt_conn *conn)
{
	struct kmqtt_txent *ent, *tmp;

	list_splice_tail_init(&conn->tx_queue, &conn->tx_sending);
	list_for_each_entry_safe(ent, tmp, &conn->tx_sending, node) {
		list_del(&ent->node);
		kmqtt_conn_free_txent(ent);
	}
}

/* Receive: packet handlers return 0 or a negative errno that closes. */

static int kmqtt_conn_on_publish(struct kmqtt_conn *conn,
				 const struct kmqtt_fixed_hdr *hdr,
				 const u8 *body)
{
	struct kmqtt_publish pub;
	int ret;

	if (kmqtt_codec_parse_publish(hdr->flags, body, hdr->rem_len, &pub))
		return kmqtt_conn_violation(conn, "malformed PUBLISH");
	kmqtt_counter_add(&conn->counters.msgs_in, 1);
	ret = kmqtt_publish(conn, &pub);
	if (ret)
		return ret;
	/* Minimal acknowledgements until QoS 1/2 delivery exists. */
	if (pub.qos == 1)
		return kmqtt_conn_reply(conn, MQTT_PUBACK, pub.packet_id);
	if (pub.qos == 2)
		return kmqtt_conn_reply(conn, MQTT_PUBREC, pub.packet_id);
	return 0;
}

static int kmqtt_conn_on_subscribe(struct kmqtt_conn *conn,
				   const struct kmqtt_fixed_hdr *hdr,
				   const u8 *body)
{
	struct kmqtt_sub_iter it;
	struct kmqtt_msg *msg;
	const u8 *filter;
	u16 packet_id, len;
	size_t codes_at;
	int n, i = 0;
	u8 qos;

	n = kmqtt_codec_parse_sub(body, hdr->rem_len, true, &packet_id, &it);
	if (n < 0)
		return kmqtt_conn_violation(conn, "malformed SUBSCRIBE");
	msg = kmqtt_msg_alloc(kmqtt_codec_fixed_hdr_len(2 + n) + 2 + n,
			      GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	/* Return codes go straight to where the SUBACK encoder wants them. */
	codes_at = msg->len - n;
	while (kmqtt_codec_next_filter(&it, &filter, &len, &qos))
		msg->data[codes_at + i++] =
			kmqtt_session_subscribe(conn->session, filter, len, qos);
	kmqtt_codec_put_suback(msg->data, packet_id, msg->data + codes_at, n);
	return kmqtt_conn_queue_control(conn, msg);
}

static int kmqtt_conn_on_unsubscribe(struct kmqtt_conn *conn,
				     const struct kmqtt_fixed_hdr *hdr,
				     const u8 *body)
{
	struct kmqtt_sub_iter it;
	const u8 *filter;
	u16 packet_id, len;
	u8 qos;

	if (kmqtt_codec_parse_sub(body, hdr->rem_len, false, &packet_id,
				  &it) < 0)
		return kmqtt_conn_violation(conn, "malformed UNSUBSCRIBE");
	while (kmqtt_codec_next_filter(&it, &filter, &len, &qos))
		kmqtt_session_unsubscribe(conn->session, filter, len);
	return kmqtt_conn_reply(conn, MQTT_UNSUBACK, packet_id);
}

static int kmqtt_conn_handle(struct kmqtt_conn *conn,
			     const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	switch (hdr->type) {
	case MQTT_PUBLISH:
		return kmqtt_conn_on_publish(conn, hdr, body);
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
		/* Nothing goes out at QoS > 0 yet: nothing to match them to. */
		if (hdr->rem_len != 2)
			return kmqtt_conn_violation(conn, "malformed ack");
		return 0;
	case MQTT_PUBREL:
		if (hdr->rem_len != 2)
			return kmqtt_conn_violation(conn, "malformed PUBREL");
		return kmqtt_conn_reply(conn, MQTT_PUBCOMP,
					(body[0] << 8) | body[1]);
	case MQTT_SUBSCRIBE:
		return kmqtt_conn_on_subscribe(conn, hdr, body);
	case MQTT_UNSUBSCRIBE:
		return kmqtt_conn_on_unsubscribe(conn, hdr, body);
	case MQTT_PINGREQ:
		if (hdr->rem_len)
			return kmqtt_conn_violation(conn, "malformed PINGREQ");
		return kmqtt_conn_reply(conn, MQTT_PINGRESP, 0);
	case MQTT_DISCONNECT:
		if (hdr->rem_len)
			return kmqtt_conn_violation(conn, "malformed DISCONNECT");
		kmqtt_conn_close(conn, KMQTT_CLOSE_DISCONNECT);
		return 0;
	case MQTT_CONNECT:
		/* MQTT-3.1.0-2 */
		return kmqtt_conn_violation(conn, "second CONNECT");
	default:
		return kmqtt_conn_violation(conn, "packet type not sent by clients");
	}
}

/* Make room for a packet of @need bytes at the start of the buffer. */
static int kmqtt_conn_rx_reserve(struct kmqtt_conn *conn, u32 need)
{
	u8 *buf;

	if (conn->rx_buf && conn->rx_cap >= need)
		return 0;
	need = max_t(u32, need, KMQTT_RX_MIN);
	buf = kvmalloc(need, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (conn->rx_len)
		memcpy(buf, conn->rx_buf, conn->rx_len);
	kvfree(conn->rx_buf);
	conn->rx_buf = buf;
	conn->rx_cap = need;
	return 0;
}

/* Handle every complete packet in the buffer and keep the remainder. */
static int kmqtt_conn_rx_packets(struct kmqtt_conn *conn)
{
	u32 max_packet = conn->broker->limits.max_packet_size;
	u32 off = 0, need = 0;
	int ret = 0;

	while (off < conn->rx_len && !kmqtt_conn_closing(conn)) {
		struct kmqtt_fixed_hdr hdr;
		u32 total;

		ret = kmqtt_codec_fixed_hdr(conn->rx_buf + off,
					    conn->rx_len - off, max_packet, &hdr);
		if (ret == -EMSGSIZE) {
			ret = kmqtt_conn_violation(conn, "packet over maximum size");
			break;
		}
		if (ret < 0) {
			ret = kmqtt_conn_violation(conn, "malformed fixed header");
			break;
		}
		if (ret == 0)
			break;
		ret = 0;
		total = hdr.hdr_len + hdr.rem_len;
		if (conn->rx_len - off < total) {
			need = total;
			break;
		}
		ret = kmqtt_conn_handle(conn, &hdr, conn->rx_buf + off +
					hdr.hdr_len);
		if (ret)
			break;
		off += total;
		WRITE_ONCE(conn->last_packet, jiffies);
	}
	conn->rx_len -= off;
	memmove(conn->rx_buf, conn->rx_buf + off, conn->rx_len);
	if (!ret && need)
		ret = kmqtt_conn_rx_reserve(conn, need);
	return ret;
}

static int kmqtt_conn_recv(struct kmqtt_conn *conn)
{
	union {
		struct cmsghdr hdr;
		u8 space[CMSG_SPACE(sizeof(u8))];
	} ctrl;
	struct msghdr msg = {
		.msg_control = &ctrl,
		.msg_controllen = sizeof(ctrl),
	};
	struct kvec vec = {
		.iov_base = conn->rx_buf + conn->rx_len,
		.iov_len = conn->rx_cap - conn->rx_len,
	};
	int ret;

	ret = kernel_recvmsg(conn->sock, &msg, &vec, 1, vec.iov_len,
			     MSG_DONTWAIT);
	/*
	 * kTLS tells the record type of what it returned; an alert or a
	 * handshake message (KeyUpdate) is not ours to handle: close.
	 */
	if (ret > 0 && msg.msg_controllen != sizeof(ctrl) &&
	    ctrl.hdr.cmsg_level == SOL_TLS &&
	    ctrl.hdr.cmsg_type == TLS_GET_RECORD_TYPE &&
	    *(u8 *)CMSG_DATA(&ctrl.hdr) != KMQTT_TLS_RECORD_TYPE_DATA)
		return -EBADMSG;
	return ret;
}

static void kmqtt_conn_rx_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       rx_work);
	int budget = KMQTT_RX_BUDGET;
	int ret;

	while (!kmqtt_conn_closing(conn)) {
		if (!budget--) {
			queue_work(kmqtt_wq, work);
			return;
		}
		if (kmqtt_conn_rx_reserve(conn, 0)) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_NOMEM);
			return;
		}
		ret = kmqtt_conn_recv(conn);
		if (ret == -EAGAIN)
			break;
		if (ret <= 0) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
			return;
		}
		conn->rx_len += ret;
		kmqtt_counter_add(&conn->counters.bytes_in, ret);
		ret = kmqtt_conn_rx_packets(conn);
		if (ret) {
			kmqtt_conn_close(conn, ret == -ENOMEM ? KMQTT_CLOSE_NOMEM :
					 ret == -ENOBUFS ? KMQTT_CLOSE_OVERFLOW :
					 KMQTT_CLOSE_PROTOCOL);
			return;
		}
	}
	/* Idle connections keep no receive buffer. */
	if (!conn->rx_len) {
		kvfree(conn->rx_buf);
		conn->rx_buf = NULL;
		conn->rx_cap = 0;
	}
}

static void kmqtt_conn_keepalive_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(to_delayed_work(work),
					       struct kmqtt_conn,
					       keepalive_work);
	/* MQTT-3.1.2-24: one and a half times the keepalive. */
	unsigned long deadline = READ_ONCE(conn->last_packet) +
				 msecs_to_jiffies(conn->keepalive * 1500U);

	if (kmqtt_conn_closing(conn))
		return;
	if (time_after_eq(jiffies, deadline)) {
		kmqtt_conn_close(conn, KMQTT_CLOSE_KEEPALIVE);
		return;
	}
	queue_delayed_work(kmqtt_wq, &conn->keepalive_work, deadline - jiffies);
}

static void kmqtt_conn_close_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       close_work);
	struct kmqtt_broker *broker = conn->broker;
	struct sock *sk = conn->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = conn->saved_data_ready;
	sk->sk_write_space = conn->saved_write_space;
	sk->sk_state_change = conn->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	spin_lock(&conn->tx_lock);
	conn->tx_dead = true;
	spin_unlock(&conn->tx_lock);

	cancel_work_sync(&conn->rx_work);
	cancel_work_sync(&conn->tx_work);
	cancel_delayed_work_sync(&conn->keepalive_work);
	kernel_sock_shutdown(conn->sock, SHUT_RDWR);

	kmqtt_netlink_conn_closed(conn);

	spin_lock(&broker->conns_lock);
	list_del_rcu(&conn->node);
	broker->conns_open--;
	broker->closed.msgs_in += conn->counters.msgs_in;
	broker->closed.msgs_out += conn->counters.msgs_out;
	broker->closed.msgs_dropped += conn->counters.msgs_dropped;
	broker->closed.bytes_in += conn->counters.bytes_in;
	broker->closed.bytes_out += conn->counters.bytes_out;
	if (conn->close_reason == KMQTT_CLOSE_PROTOCOL)
		broker->protocol_errors++;
	spin_unlock(&broker->conns_lock);

	kmqtt_session_destroy(conn->session);
	kmqtt_conn_tx_purge(conn);
	kvfree(conn->rx_buf);
	kmqtt_topic_match_set_free(&conn->matches);
	sockfd_put(conn->sock);
	kfree_rcu(conn, rcu);
}

static void kmqtt_conn_free(struct kmqtt_conn *conn)
{
	kmqtt_conn_tx_purge(conn);
	kfree(conn->session);
	kfree(conn);
}

static struct kmqtt_conn *kmqtt_conn_create(struct kmqtt_broker *broker,
					    const struct kmqtt_conn_params *params)
{
	struct kmqtt_conn *conn;
	struct kmqtt_msg *connack;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return NULL;
	conn->broker = broker;
	conn->proto_level = params->proto_level;
	conn->keepalive = params->keepalive;
	conn->clean_session = params->clean_session;
	INIT_WORK(&conn->rx_work, kmqtt_conn_rx_work);
	INIT_WORK(&conn->tx_work, kmqtt_conn_tx_work);
	INIT_WORK(&conn->close_work, kmqtt_conn_close_work);
	INIT_DELAYED_WORK(&conn->keepalive_work, kmqtt_conn_keepalive_work);
	spin_lock_init(&conn->tx_lock);
	INIT_LIST_HEAD(&conn->tx_queue);
	INIT_LIST_HEAD(&conn->tx_sending);

	conn->session = kmqtt_session_create(broker, params->client_id,
					     params->client_id_len);
	if (!conn->session)
		goto err;
	/* CONNACK goes first; the socket isn't ours yet, so nothing runs. */
	connack = kmqtt_msg_alloc(4, GFP_KERNEL);
	if (!connack)
		goto err;
	kmqtt_codec_put_connack(connack->data, false, MQTT_CONNACK_ACCEPTED);
	if (kmqtt_conn_queue_control(conn, connack))
		goto err;
	return conn;
err:
	kmqtt_conn_free(conn);
	return NULL;
}

static int kmqtt_conn_check_socket(struct kmqtt_broker *broker,
				   struct socket *sock,
				   struct netlink_ext_ack *extack)
{
	struct sock *sk = sock->sk;

	if (!sk || (sk->sk_family != AF_INET && sk->sk_family != AF_INET6) ||
	    sk->sk_type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP) {
		NL_SET_ERR_MSG(extack, "not a TCP socket");
		return -EPROTONOSUPPORT;
	}
	if (!net_eq(sock_net(sk), broker->net)) {
		NL_SET_ERR_MSG(extack, "socket is in another network namespace");
		return -EXDEV;
	}
	return 0;
}

/* Install our callbacks; the socket must be connected and nobody else's. */
static int kmqtt_conn_take_socket(struct kmqtt_conn *conn,
				  struct netlink_ext_ack *extack)
{
	struct sock *sk = conn->sock->sk;
	int ret = 0;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data) {
		NL_SET_ERR_MSG(extack, "socket is already in use by the kernel");
		ret = -EBUSY;
	} else if (sk->sk_state != TCP_ESTABLISHED &&
		   sk->sk_state != TCP_CLOSE_WAIT) {
		/* CLOSE_WAIT: the client may have sent all and shut down. */
		NL_SET_ERR_MSG(extack, "socket is not connected");
		ret = -ENOTCONN;
	} else {
		conn->saved_data_ready = sk->sk_data_ready;
		conn->saved_write_space = sk->sk_write_space;
		conn->saved_state_change = sk->sk_state_change;
		sk->sk_user_data = conn;
		sk->sk_data_ready = kmqtt_conn_data_ready;
		sk->sk_write_space = kmqtt_conn_write_space;
		sk->sk_state_change = kmqtt_conn_state_change;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	return ret;
}

int kmqtt_conn_attach(struct kmqtt_broker *broker,
		      const struct kmqtt_conn_params *params, u64 *conn_id,
		      struct netlink_ext_ack *extack)
{
	struct kmqtt_conn *conn;
	struct socket *sock;
	int ret;

	sock = sockfd_lookup(params->fd, &ret);
	if (!sock) {
		NL_SET_ERR_MSG(extack, "fd is not a socket");
		return ret;
	}
	ret = kmqtt_conn_check_socket(broker, sock, extack);
	if (ret)
		goto put_sock;
	ret = -ENOMEM;
	conn = kmqtt_conn_create(broker, params);
	if (!conn)
		goto put_sock;
	conn->sock = sock;
	ret = kernel_getpeername(sock, (struct sockaddr *)&conn->peer);
	if (ret < 0) {
		NL_SET_ERR_MSG(extack, "socket is not connected");
		goto free_conn;
	}
	conn->peer_len = ret;

	/* Listed first: once the callbacks are in, close_work may run. */
	spin_lock(&broker->conns_lock);
	conn->id = ++broker->next_conn_id;
	list_add_tail_rcu(&conn->node, &broker->conns);
	broker->conns_open++;
	broker->conns_total++;
	spin_unlock(&broker->conns_lock);

	ret = kmqtt_conn_take_socket(conn, extack);
	if (ret) {
		spin_lock(&broker->conns_lock);
		list_del_rcu(&conn->node);
		broker->conns_open--;
		broker->conns_total--;
		spin_unlock(&broker->conns_lock);
		synchronize_rcu();
		goto free_conn;
	}

	rcu_assign_pointer(conn->session->conn, conn);
	conn->last_packet = jiffies;
	if (conn->keepalive)
		queue_delayed_work(kmqtt_wq, &conn->keepalive_work,
				   msecs_to_jiffies(conn->keepalive * 1500U));
	/* Bytes may have arrived before our data_ready was in place. */
	queue_work(kmqtt_wq, &conn->rx_work);
	queue_work(kmqtt_wq, &conn->tx_work);
	*conn_id = conn->id;
	return 0;

free_conn:
	kmqtt_conn_free(conn);
put_sock:
	sockfd_put(sock);
	return ret;
}

void kmqtt_conn_close_all(struct kmqtt_broker *broker)
{
	struct kmqtt_conn *conn;

	spin_lock(&broker->conns_lock);
	list_for_each_entry(conn, &broker->conns, node)
		kmqtt_conn_close(conn, KMQTT_CLOSE_SHUTDOWN);
	spin_unlock(&broker->conns_lock);
	/* Every close_work was queued above; wait for them. */
	flush_workqueue(kmqtt_wq);
	WARN_ON(!list_empty(&broker->conns));
}

int kmqtt_conn_init(void)
{
	kmqtt_txent_cache = KMEM_CACHE(kmqtt_txent, 0);
	if (!kmqtt_txent_cache)
		return -ENOMEM;
	kmqtt_wq = alloc_workqueue("kmqtt", 0, 0);
	if (!kmqtt_wq) {
		kmem_cache_destroy(kmqtt_txent_cache);
		return -ENOMEM;
	}
	return 0;
}

void kmqtt_conn_exit(void)
{
	destroy_workqueue(kmqtt_wq);
	/* RCU callbacks may not outlive the module. */
	rcu_barrier();
	kmem_cache_destroy(kmqtt_txent_cache);
}
