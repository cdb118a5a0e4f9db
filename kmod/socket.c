// SPDX-License-Identifier: GPL-2.0
/*
 * Socket takeover.  The callbacks run in softirq context under
 * sk_callback_lock and only queue the connection's work: receiving,
 * parsing, fan-out and sending all run in process context on kmqtt_wq.
 * kTLS keeps its own callbacks, which ours call first.
 */

#include <linux/string.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "broker.h"
#include "conn.h"
#include "socket.h"

static void kmqtt_socket_data_ready(struct sock *sk)
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

static void kmqtt_socket_state_change(struct sock *sk)
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

static void kmqtt_socket_write_space(struct sock *sk)
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

int kmqtt_socket_check(struct kmqtt_broker *broker, struct socket *sock,
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
	/* CLOSE_WAIT: the client may have sent all and shut down already. */
	if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT) {
		NL_SET_ERR_MSG(extack, "socket is not connected");
		return -ENOTCONN;
	}
	return 0;
}

bool kmqtt_socket_is_ktls(struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	bool ktls;

	lock_sock(sk);
	ktls = icsk->icsk_ulp_ops && !strcmp(icsk->icsk_ulp_ops->name, "tls");
	release_sock(sk);
	return ktls;
}

int kmqtt_socket_take(struct kmqtt_conn *conn, struct netlink_ext_ack *extack)
{
	struct sock *sk = conn->sock->sk;
	int ret = 0;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data) {
		NL_SET_ERR_MSG(extack, "socket is already in use by the kernel");
		ret = -EBUSY;
	} else {
		conn->saved_data_ready = sk->sk_data_ready;
		conn->saved_write_space = sk->sk_write_space;
		conn->saved_state_change = sk->sk_state_change;
		sk->sk_user_data = conn;
		sk->sk_data_ready = kmqtt_socket_data_ready;
		sk->sk_write_space = kmqtt_socket_write_space;
		sk->sk_state_change = kmqtt_socket_state_change;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	return ret;
}

void kmqtt_socket_release(struct kmqtt_conn *conn)
{
	struct sock *sk = conn->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = conn->saved_data_ready;
	sk->sk_write_space = conn->saved_write_space;
	sk->sk_state_change = conn->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
}

bool kmqtt_socket_reset(const struct sock *sk)
{
	return READ_ONCE(sk->sk_err) || READ_ONCE(sk->sk_state) == TCP_CLOSE;
}

bool kmqtt_socket_drained(const struct sock *sk)
{
	/* A read that took the last bytes took a FIN behind them too. */
	return skb_queue_empty_lockless(&sk->sk_receive_queue) &&
	       !(READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) &&
	       !READ_ONCE(sk->sk_err);
}
