/* SPDX-License-Identifier: GPL-2.0 */
/* The "kmqtt" generic netlink family: the only file that knows attributes. */
#ifndef _KMQTT_NETLINK_H
#define _KMQTT_NETLINK_H

struct kmqtt_conn;

#include <linux/types.h>

/* Tell the agent a connection closed; process context. */
void kmqtt_netlink_conn_closed(const struct kmqtt_conn *conn);

/*
 * Hand the agent a client's AUTH (@reason, @len bytes of @data, NULL:
 * none); process context.  Returns 0, or -ESRCH when no agent listens,
 * -EPERM when the kernel cannot keep the event from unprivileged
 * listeners, -ENOMEM, -EMSGSIZE, -ENOBUFS (not delivered).
 */
int kmqtt_netlink_auth_event(const struct kmqtt_conn *conn, u8 reason,
			     const u8 *data, u32 len);

int kmqtt_netlink_init(void);
void kmqtt_netlink_exit(void);

#endif /* _KMQTT_NETLINK_H */
