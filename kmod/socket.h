/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client's socket: checked and taken over at attach, its callbacks
 * (which only queue a connection's work), and given back at close.
 */
#ifndef _KMQTT_SOCKET_H
#define _KMQTT_SOCKET_H

#include <linux/net.h>
#include <linux/netlink.h>
#include <net/sock.h>

struct kmqtt_broker;
struct kmqtt_conn;

/* Is @sock a connected TCP socket of @broker's namespace? */
int kmqtt_socket_check(struct kmqtt_broker *broker, struct socket *sock,
		       struct netlink_ext_ack *extack);

/* Does the socket have the "tls" ULP (kernel TLS)? */
bool kmqtt_socket_is_ktls(struct sock *sk);

/* Install our callbacks unless another kernel user owns the socket. */
int kmqtt_socket_take(struct kmqtt_conn *conn, struct netlink_ext_ack *extack);

/* Give the socket its own callbacks back; no callback sees @conn after. */
void kmqtt_socket_release(struct kmqtt_conn *conn);

/* Reset or failed: nothing more can be read (a FIN leaves the data). */
bool kmqtt_socket_reset(const struct sock *sk);
/*
 * Nothing left to read on @sk, not even its end: no bytes queued, no FIN
 * taken in and no error.  What comes later calls data_ready or
 * state_change again.
 */
bool kmqtt_socket_drained(const struct sock *sk);

#endif /* _KMQTT_SOCKET_H */
