/* SPDX-License-Identifier: GPL-2.0 */
/* The "kmqtt" generic netlink family: the only file that knows attributes. */
#ifndef _KMQTT_NETLINK_H
#define _KMQTT_NETLINK_H

struct kmqtt_conn;

/* Tell the agent a connection closed; process context. */
void kmqtt_netlink_conn_closed(const struct kmqtt_conn *conn);

int kmqtt_netlink_init(void);
void kmqtt_netlink_exit(void);

#endif /* _KMQTT_NETLINK_H */
