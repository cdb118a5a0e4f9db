// SPDX-License-Identifier: GPL-2.0
/*
 * Every kmqtt genl command needs CAP_NET_ADMIN, and so does listening to
 * the events group.  The "privileged" variant runs the same calls with the
 * capability and must succeed, so the refusals are not refusals of
 * something that never works.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "kmqtt_genl.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "mqtt_client.h"

#define NOBODY	65534
#define MAX_CONNS	1024

enum privilege {
	PRIV_ROOT,		/* uid 0 with every capability */
	PRIV_NOBODY,		/* setuid(nobody): no capability at all */
	PRIV_NO_NET_ADMIN,	/* uid 0, CAP_NET_ADMIN dropped */
};

FIXTURE(genl_perm)
{
	struct kmqtt_genl genl;
	int listen_fd, client, server;
	uint16_t port;
};

FIXTURE_VARIANT(genl_perm)
{
	enum privilege privilege;
	int expect;	/* 0 or -EPERM */
};

FIXTURE_VARIANT_ADD(genl_perm, privileged)
{
	.privilege = PRIV_ROOT,
	.expect = 0,
};

FIXTURE_VARIANT_ADD(genl_perm, nobody)
{
	.privilege = PRIV_NOBODY,
	.expect = -EPERM,
};

FIXTURE_VARIANT_ADD(genl_perm, root_without_cap_net_admin)
{
	.privilege = PRIV_NO_NET_ADMIN,
	.expect = -EPERM,
};

static int drop_cap_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int i;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	i = CAP_TO_INDEX(CAP_NET_ADMIN);
	data[i].effective &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	data[i].permitted &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	data[i].inheritable &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -errno;
	return 0;
}

/*
 * Netlink checks the credentials of the socket's opener and of the sender,
 * so privileges are dropped before the genl socket is opened.
 */
FIXTURE_SETUP(genl_perm)
{
	self->listen_fd = loopback_listen(&self->port);
	ASSERT_LE(0, self->listen_fd);
	self->client = -1;
	self->server = -1;
	if (variant->privilege == PRIV_NOBODY)
		ASSERT_EQ(0, become_nobody());
	if (variant->privilege == PRIV_NO_NET_ADMIN)
		ASSERT_EQ(0, drop_cap_net_admin());
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
}

FIXTURE_TEARDOWN(genl_perm)
{
	close(self->client);
	close(self->server);
	close(self->listen_fd);
	kmqtt_genl_close(&self->genl);
}

TEST_F(genl_perm, get_info)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];

	ASSERT_EQ(variant->expect, kmqtt_genl_get_info(&self->genl, stats));
}

TEST_F(genl_perm, get_conn_dump)
{
	static uint64_t ids[MAX_CONNS];
	size_t n;

	ASSERT_EQ(variant->expect,
		  kmqtt_genl_dump_conns(&self->genl, ids, MAX_CONNS, &n));
}

TEST_F(genl_perm, attach)
{
	struct kmqtt_attach_req req = {
		.client_id = "perm",
		.proto_level = MQTT_PROTO_V311,
		.clean_session = true,
	};
	uint64_t conn_id;

	self->client = loopback_connect(self->port, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->client);
	self->server = loopback_accept(self->listen_fd, MQTT_TEST_TIMEOUT_MS);
	ASSERT_LE(0, self->server);
	req.fd = self->server;
	ASSERT_EQ(variant->expect,
		  kmqtt_genl_attach(&self->genl, &req, &conn_id));
	if (!variant->expect)
		ASSERT_EQ(MQTT_CONNACK_ACCEPTED,
			  mqtt_expect_connack(self->client,
					      MQTT_TEST_TIMEOUT_MS));
}

/* With the capability it gets as far as looking for the session. */
TEST_F(genl_perm, disconnect)
{
	ASSERT_EQ(variant->expect ? variant->expect : -ENOENT,
		  kmqtt_nl_disconnect(&self->genl.nl, "perm-nobody"));
}

TEST_F(genl_perm, auth_answer)
{
	ASSERT_EQ(variant->expect ? variant->expect : -ENOENT,
		  kmqtt_nl_auth_reply(&self->genl.nl, 1, "perm-nobody",
				      MQTT_RC_SUCCESS, NULL, 0));
}

/* A message the broker sends as its own: the operator's alone. */
TEST_F(genl_perm, publish)
{
	static const uint8_t data[] = { 0, 6, 'p', 'e', 'r', 'm', '/', 'p', 0,
					'x' };
	struct kmqtt_nl_msg m = { .data = data, .len = sizeof(data) };

	ASSERT_EQ(variant->expect, kmqtt_nl_publish(&self->genl.nl, &m, false));
}

/* Whether acks wait for a save: kmqttd's persistence alone decides. */
TEST_F(genl_perm, ack_hold)
{
	struct kmqtt_nl_ack_hold out;

	ASSERT_EQ(variant->expect,
		  kmqtt_nl_ack_hold(&self->genl.nl, -1, 0, &out));
}

TEST_F(genl_perm, join_events_group)
{
	ASSERT_EQ(variant->expect, kmqtt_genl_join_events(&self->genl));
}

TEST_HARNESS_MAIN
