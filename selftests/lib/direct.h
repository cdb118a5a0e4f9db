/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Clients attached to kmqtt.ko directly, without kmqttd: the test accepts
 * a loopback connection and hands its server end over with ATTACH, as the
 * agent does after CONNECT.  Quicker to set up than a broker, and the
 * test knows each connection's id.
 */
#ifndef KMQTT_TEST_DIRECT_H
#define KMQTT_TEST_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include "kmqtt_genl.h"

struct direct {
	int listen_fd;
	uint16_t port;
};

int direct_open(struct direct *d);
void direct_close(struct direct *d);
/*
 * Connect, ATTACH the server end as client_id (MQTT 3.1.1, no keepalive)
 * and read CONNACK: returns the client's fd (TCP_NODELAY, as MQTT clients
 * set it) or -errno (ATTACH's, e.g. -ENOMEM).  conn_id and
 * session_present may be NULL.
 */
int direct_client(struct direct *d, struct kmqtt_genl *g,
		  const char *client_id, bool clean_session, uint64_t *conn_id,
		  bool *session_present);
/*
 * The same with everything ATTACH takes from req (its fd is ours); a 5.0
 * CONNACK for protocol level 5.
 */
int direct_attach(struct direct *d, struct kmqtt_genl *g,
		  const struct kmqtt_attach_req *req, uint64_t *conn_id,
		  bool *session_present);

/*
 * A bridge link: connect, ATTACH one end with req (bridge lines in it; its
 * fd is ours) and return the other, the remote broker's end, on which the
 * test plays that broker; no CONNACK is read, the module being the
 * client there.
 */
int direct_bridge(struct direct *d, struct kmqtt_genl *g,
		  const struct kmqtt_attach_req *req, uint64_t *conn_id);

#endif
