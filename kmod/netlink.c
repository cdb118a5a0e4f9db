// SPDX-License-Identifier: GPL-2.0
/*
 * The "kmqtt" generic netlink family (Documentation/netlink/kmqtt.yaml).
 * Every command needs CAP_NET_ADMIN in the caller's network namespace and
 * acts on that namespace's broker.
 */

#include <linux/rculist.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <kmqtt/mqtt.h>
#include <linux/kmqtt.h>

#include "broker.h"
#include "codec.h"
#include "compat.h"
#include "conn.h"
#include "netlink.h"
#include "session.h"

static struct genl_family kmqtt_family;

/* Cleared before unregistering so a closing connection sends no event. */
static bool kmqtt_netlink_events;

static const struct nla_policy kmqtt_attach_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_SOCK_FD] = { .type = NLA_U32 },
	[KMQTT_A_CLIENT_ID] = { .type = NLA_BINARY,
				.len = KMQTT_CLIENT_ID_MAX },
	[KMQTT_A_PROTO_LEVEL] = NLA_POLICY_RANGE(NLA_U8, MQTT_PROTO_V31,
						 MQTT_PROTO_V311),
	[KMQTT_A_KEEPALIVE] = { .type = NLA_U16 },
	[KMQTT_A_CLEAN_SESSION] = NLA_POLICY_MAX(NLA_U8, 1),
};

static int kmqtt_netlink_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	static const int required[] = {
		KMQTT_A_SOCK_FD, KMQTT_A_CLIENT_ID, KMQTT_A_PROTO_LEVEL,
		KMQTT_A_KEEPALIVE, KMQTT_A_CLEAN_SESSION,
	};
	struct kmqtt_conn_params params;
	struct nlattr **attrs = info->attrs;
	struct sk_buff *reply;
	u64 conn_id;
	void *hdr;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(required); i++)
		if (GENL_REQ_ATTR_CHECK(info, required[i]))
			return -EINVAL;
	params.fd = nla_get_u32(attrs[KMQTT_A_SOCK_FD]);
	if (params.fd < 0) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KMQTT_A_SOCK_FD],
				    "bad fd");
		return -EBADF;
	}
	params.client_id = nla_data(attrs[KMQTT_A_CLIENT_ID]);
	params.client_id_len = nla_len(attrs[KMQTT_A_CLIENT_ID]);
	if (!params.client_id_len ||
	    !kmqtt_codec_utf8_valid(params.client_id, params.client_id_len)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KMQTT_A_CLIENT_ID],
				    "client id must be non-empty UTF-8");
		return -EINVAL;
	}
	params.proto_level = nla_get_u8(attrs[KMQTT_A_PROTO_LEVEL]);
	params.keepalive = nla_get_u16(attrs[KMQTT_A_KEEPALIVE]);
	params.clean_session = nla_get_u8(attrs[KMQTT_A_CLEAN_SESSION]);

	reply = genlmsg_new(nla_total_size_64bit(sizeof(u64)), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	ret = kmqtt_conn_attach(broker, &params, &conn_id, info->extack);
	if (ret) {
		nlmsg_free(reply);
		return ret;
	}
	hdr = genlmsg_put_reply(reply, info, &kmqtt_family, 0,
				KMQTT_CMD_ATTACH);
	if (!hdr ||
	    nla_put_u64_64bit(reply, KMQTT_A_CONN_ID, conn_id, KMQTT_A_PAD)) {
		/* Attached all the same; the agent learns the id from dumps. */
		nlmsg_free(reply);
		return 0;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

static int kmqtt_netlink_put_counters(struct sk_buff *skb,
				      const struct kmqtt_counters *c)
{
	if (nla_put_u64_64bit(skb, KMQTT_STAT_MSGS_IN, READ_ONCE(c->msgs_in),
			      KMQTT_STAT_PAD) ||
	    nla_put_u64_64bit(skb, KMQTT_STAT_MSGS_OUT, READ_ONCE(c->msgs_out),
			      KMQTT_STAT_PAD) ||
	    nla_put_u64_64bit(skb, KMQTT_STAT_MSGS_DROPPED,
			      READ_ONCE(c->msgs_dropped), KMQTT_STAT_PAD) ||
	    nla_put_u64_64bit(skb, KMQTT_STAT_BYTES_IN, READ_ONCE(c->bytes_in),
			      KMQTT_STAT_PAD) ||
	    nla_put_u64_64bit(skb, KMQTT_STAT_BYTES_OUT,
			      READ_ONCE(c->bytes_out), KMQTT_STAT_PAD))
		return -EMSGSIZE;
	return 0;
}

static void kmqtt_netlink_add_counters(struct kmqtt_counters *sum,
				       const struct kmqtt_counters *c)
{
	sum->msgs_in += READ_ONCE(c->msgs_in);
	sum->msgs_out += READ_ONCE(c->msgs_out);
	sum->msgs_dropped += READ_ONCE(c->msgs_dropped);
	sum->bytes_in += READ_ONCE(c->bytes_in);
	sum->bytes_out += READ_ONCE(c->bytes_out);
}

static int kmqtt_netlink_put_totals(struct sk_buff *skb,
				    struct kmqtt_broker *broker)
{
	struct kmqtt_counters sum = {};
	u64 open, total, subscriptions, protocol_errors;
	struct kmqtt_conn *conn;
	struct nlattr *nest;

	spin_lock(&broker->conns_lock);
	sum = broker->closed;
	open = broker->conns_open;
	total = broker->conns_total;
	protocol_errors = broker->protocol_errors;
	list_for_each_entry(conn, &broker->conns, node)
		kmqtt_netlink_add_counters(&sum, &conn->counters);
	spin_unlock(&broker->conns_lock);
	sum.msgs_dropped += atomic64_read(&broker->fanout_dropped);
	mutex_lock(&broker->topics_lock);
	subscriptions = broker->subscriptions;
	mutex_unlock(&broker->topics_lock);

	nest = nla_nest_start(skb, KMQTT_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, KMQTT_STAT_CONNECTIONS, open,
			      KMQTT_STAT_PAD) ||
	    nla_put_u64_64bit(skb, KMQTT_STAT_CONNECTIONS_TOTAL, total,
			      KMQTT_STAT_PAD) ||
	    nla_put_u64_64bit(skb, KMQTT_STAT_SUBSCRIPTIONS, subscriptions,
			      KMQTT_STAT_PAD) ||
	    nla_put_u64_64bit(skb, KMQTT_STAT_PROTOCOL_ERRORS, protocol_errors,
			      KMQTT_STAT_PAD) ||
	    kmqtt_netlink_put_counters(skb, &sum)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int kmqtt_netlink_get_info(struct sk_buff *skb, struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct sk_buff *reply;
	void *hdr;

	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &kmqtt_family, 0,
				KMQTT_CMD_GET_INFO);
	if (!hdr || nla_put_u32(reply, KMQTT_A_VERSION, KMQTT_GENL_VERSION) ||
	    kmqtt_netlink_put_totals(reply, broker)) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

static int kmqtt_netlink_fill_conn(struct sk_buff *skb,
				   const struct kmqtt_conn *conn, u32 portid,
				   u32 seq, int flags)
{
	const struct kmqtt_session *session = conn->session;
	struct nlattr *nest;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &kmqtt_family, flags,
			  KMQTT_CMD_GET_CONN);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, KMQTT_A_CONN_ID, conn->id, KMQTT_A_PAD) ||
	    nla_put(skb, KMQTT_A_CLIENT_ID, session->client_id_len,
		    session->client_id) ||
	    nla_put(skb, KMQTT_A_PEER, conn->peer_len, &conn->peer) ||
	    nla_put_u8(skb, KMQTT_A_PROTO_LEVEL, conn->proto_level) ||
	    nla_put_u16(skb, KMQTT_A_KEEPALIVE, conn->keepalive) ||
	    nla_put_u8(skb, KMQTT_A_CLEAN_SESSION, conn->clean_session))
		goto cancel;
	nest = nla_nest_start(skb, KMQTT_A_STATS);
	if (!nest)
		goto cancel;
	if (nla_put_u64_64bit(skb, KMQTT_STAT_SUBSCRIPTIONS,
			      READ_ONCE(session->n_subscriptions),
			      KMQTT_STAT_PAD) ||
	    kmqtt_netlink_put_counters(skb, &conn->counters))
		goto cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* cb->args[0]: id of the last connection dumped; ids only grow. */
static int kmqtt_netlink_dump_conns(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(sock_net(skb->sk));
	u64 last = cb->args[0];
	struct kmqtt_conn *conn;
	int ret = 0;

	rcu_read_lock();
	list_for_each_entry_rcu(conn, &broker->conns, node) {
		if (conn->id <= last)
			continue;
		ret = kmqtt_netlink_fill_conn(skb, conn,
					      NETLINK_CB(cb->skb).portid,
					      cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (ret)
			break;
		last = conn->id;
	}
	rcu_read_unlock();
	cb->args[0] = last;
	/* A full skb asks for another round; otherwise we are done. */
	return ret ? skb->len : 0;
}

void kmqtt_netlink_conn_closed(const struct kmqtt_conn *conn)
{
	const struct kmqtt_session *session = conn->session;
	struct net *net = conn->broker->net;
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&kmqtt_family, net, 0))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &kmqtt_family, 0, KMQTT_CMD_CONN_CLOSED);
	if (!hdr ||
	    nla_put_u64_64bit(skb, KMQTT_A_CONN_ID, conn->id, KMQTT_A_PAD) ||
	    nla_put(skb, KMQTT_A_CLIENT_ID, session->client_id_len,
		    session->client_id) ||
	    nla_put_u32(skb, KMQTT_A_CLOSE_REASON, conn->close_reason)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	rcu_read_lock();
	if (READ_ONCE(kmqtt_netlink_events))
		genlmsg_multicast_netns(&kmqtt_family, net, skb, 0, 0,
					GFP_ATOMIC);
	else
		nlmsg_free(skb);
	rcu_read_unlock();
}

static const struct genl_ops kmqtt_netlink_ops[] = {
	{
		.cmd = KMQTT_CMD_GET_INFO,
		.doit = kmqtt_netlink_get_info,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_ATTACH,
		.doit = kmqtt_netlink_attach,
		.policy = kmqtt_attach_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_GET_CONN,
		.dumpit = kmqtt_netlink_dump_conns,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group kmqtt_netlink_mcgrps[] = {
	{
		.name = KMQTT_MCGRP_EVENTS,
#ifdef GENL_MCAST_CAP_NET_ADMIN
		/* Events name clients: not for unprivileged listeners. */
		.flags = GENL_MCAST_CAP_NET_ADMIN,
#endif
	},
};

static struct genl_family kmqtt_family __ro_after_init = {
	.name = KMQTT_GENL_NAME,
	.version = KMQTT_GENL_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = kmqtt_netlink_ops,
	.n_ops = ARRAY_SIZE(kmqtt_netlink_ops),
	.mcgrps = kmqtt_netlink_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kmqtt_netlink_mcgrps),
};

int kmqtt_netlink_init(void)
{
	int ret = genl_register_family(&kmqtt_family);

	if (!ret)
		WRITE_ONCE(kmqtt_netlink_events, true);
	return ret;
}

void kmqtt_netlink_exit(void)
{
	WRITE_ONCE(kmqtt_netlink_events, false);
	/* Wait for events being sent right now. */
	synchronize_rcu();
	genl_unregister_family(&kmqtt_family);
}
