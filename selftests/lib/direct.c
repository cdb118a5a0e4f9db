// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "direct.h"
#include "kmqtt_genl.h"
#include "loopback.h"
#include "mqtt5.h"
#include "mqtt_client.h"

int direct_open(struct direct *d)
{
	d->port = 0;
	d->listen_fd = loopback_listen(&d->port);
	return d->listen_fd < 0 ? d->listen_fd : 0;
}

void direct_close(struct direct *d)
{
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->listen_fd = -1;
}

/*
 * Connect, ATTACH the server end with req and return the client end
 * (TCP_NODELAY), or -errno.
 */
static int direct_pair(struct direct *d, struct kmqtt_genl *g,
		       const struct kmqtt_attach_req *req, uint64_t *conn_id)
{
	struct kmqtt_attach_req ours = *req;
	int one = 1, fd, err;
	uint64_t id;

	fd = loopback_connect(d->port, MQTT_TEST_TIMEOUT_MS);
	if (fd < 0)
		return fd;
	ours.fd = loopback_accept(d->listen_fd, MQTT_TEST_TIMEOUT_MS);
	if (ours.fd < 0) {
		close(fd);
		return ours.fd;
	}
	err = kmqtt_genl_attach(g, &ours, conn_id ? conn_id : &id);
	close(ours.fd);
	if (!err)
		err = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one)) ? -errno : 0;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int direct_bridge(struct direct *d, struct kmqtt_genl *g,
		  const struct kmqtt_attach_req *req, uint64_t *conn_id)
{
	return direct_pair(d, g, req, conn_id);
}

int direct_attach(struct direct *d, struct kmqtt_genl *g,
		  const struct kmqtt_attach_req *req, uint64_t *conn_id,
		  bool *session_present)
{
	int fd, err;

	fd = direct_pair(d, g, req, conn_id);
	if (fd < 0)
		return fd;
	err = req->proto_level == MQTT_PROTO_V5 ?
	      mqtt5_read_connack(fd, MQTT_TEST_TIMEOUT_MS, session_present,
				 NULL) :
	      mqtt_read_connack(fd, MQTT_TEST_TIMEOUT_MS, session_present);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int direct_client(struct direct *d, struct kmqtt_genl *g,
		  const char *client_id, bool clean_session, uint64_t *conn_id,
		  bool *session_present)
{
	struct kmqtt_attach_req req = {
		.client_id = client_id,
		.proto_level = MQTT_PROTO_V311,
		.clean_session = clean_session,
	};

	return direct_attach(d, g, &req, conn_id, session_present);
}
