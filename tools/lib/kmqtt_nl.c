// SPDX-License-Identifier: GPL-2.0
/*
 * libnl client of the kmqtt generic netlink family (kmqtt_nl.h).
 *
 * Requests are synchronous: send, then read replies until the ack, the end
 * of a dump or an error.  Errors carry the kernel's extended ack message,
 * which libnl 3.7 does not parse, so read_ext_msg() reads it itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <kmqtt/limits.h>
#include <kmqtt/mqtt.h>

#include "kmqtt_nl.h"

/* Room for a burst of close events when many clients leave at once. */
#define EVENTS_RCVBUF	(1 << 20)
/*
 * An ATTACH carries up to two 64 KiB will fields: more than libnl's
 * default message and socket buffer sizes (32 KiB).
 */
#define REQUEST_SNDBUF		(256 * 1024)
#define REQUEST_FIXED_SIZE	512	/* headers and fixed-size attributes */

static const char *const close_reason_names[__KMQTT_CLOSE_MAX] = {
	[KMQTT_CLOSE_DISCONNECT] = "disconnect",
	[KMQTT_CLOSE_PEER] = "peer",
	[KMQTT_CLOSE_KEEPALIVE] = "keepalive",
	[KMQTT_CLOSE_PROTOCOL] = "protocol",
	[KMQTT_CLOSE_OVERFLOW] = "overflow",
	[KMQTT_CLOSE_SHUTDOWN] = "shutdown",
	[KMQTT_CLOSE_NOMEM] = "nomem",
	[KMQTT_CLOSE_TAKEOVER] = "takeover",
	[KMQTT_CLOSE_DISCONNECT_WILL] = "disconnect-will",
	[KMQTT_CLOSE_ADMIN] = "admin",
	[KMQTT_CLOSE_AUTH] = "auth",
};

static struct nla_policy attr_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_VERSION] = { .type = NLA_U32 },
	[KMQTT_A_CONN_ID] = { .type = NLA_U64 },
	[KMQTT_A_CLIENT_ID] = { .type = NLA_UNSPEC, .minlen = 1,
				.maxlen = KMQTT_CLIENT_ID_MAX },
	[KMQTT_A_PROTO_LEVEL] = { .type = NLA_U8 },
	[KMQTT_A_KEEPALIVE] = { .type = NLA_U16 },
	[KMQTT_A_CLEAN_SESSION] = { .type = NLA_U8 },
	[KMQTT_A_CLOSE_REASON] = { .type = NLA_U32 },
	[KMQTT_A_PEER] = { .type = NLA_UNSPEC,
			   .minlen = sizeof(struct sockaddr_in),
			   .maxlen = sizeof(struct sockaddr_in6) },
	[KMQTT_A_STATS] = { .type = NLA_NESTED },
	[KMQTT_A_SESSION_PRESENT] = { .type = NLA_U8 },
	[KMQTT_A_LIMITS] = { .type = NLA_NESTED },
	[KMQTT_A_FILTER] = { .type = NLA_UNSPEC, .minlen = 1,
			     .maxlen = MQTT_MAX_TOPIC_LEN },
	[KMQTT_A_QOS] = { .type = NLA_U8 },
	[KMQTT_A_ONLINE] = { .type = NLA_U8 },
	[KMQTT_A_TLS] = { .type = NLA_U8 },
	[KMQTT_A_BRIDGE_LINK] = { .type = NLA_U8 },
	[KMQTT_A_WEBSOCKET] = { .type = NLA_U8 },
	[KMQTT_A_USERNAME] = { .type = NLA_UNSPEC,
			       .maxlen = KMQTT_USERNAME_MAX },
	[KMQTT_A_MOUNT_POINT] = { .type = NLA_UNSPEC, .minlen = 1,
				  .maxlen = KMQTT_MOUNT_POINT_MAX },
	[KMQTT_A_AUTH_REASON] = { .type = NLA_U8 },
	[KMQTT_A_AUTH_DATA] = { .type = NLA_UNSPEC,
				.maxlen = KMQTT_AUTH_DATA_MAX },
	[KMQTT_A_SUB_ID] = { .type = NLA_U32 },
	[KMQTT_A_SUB_OPTIONS] = { .type = NLA_U8 },
	[KMQTT_A_MSG_DATA] = { .type = NLA_UNSPEC,
			       .maxlen = KMQTT_MSG_DATA_MAX },
	[KMQTT_A_MSG_LEN] = { .type = NLA_U32 },
	[KMQTT_A_OFFSET] = { .type = NLA_U32 },
	[KMQTT_A_MSG_EXPIRY] = { .type = NLA_U32 },
	[KMQTT_A_INSTANCE] = { .type = NLA_U64 },
	[KMQTT_A_SESSION_EXPIRY] = { .type = NLA_U32 },
	[KMQTT_A_OFFLINE_FOR] = { .type = NLA_U32 },
	[KMQTT_A_PACKET_ID] = { .type = NLA_U16 },
	[KMQTT_A_RETAIN] = { .type = NLA_U8 },
	[KMQTT_A_RELEASED] = { .type = NLA_U8 },
	[KMQTT_A_WILL_DELAY] = { .type = NLA_U32 },
	[KMQTT_A_SUB_IDS] = { .type = NLA_NESTED },
	[KMQTT_A_QOS2_IDS] = { .type = NLA_UNSPEC, .minlen = 2,
			       .maxlen = KMQTT_QOS2_IDS_MAX * 2 },
	[KMQTT_A_HOLD_ACKS] = { .type = NLA_U8 },
	[KMQTT_A_ACK_SEQ] = { .type = NLA_U64 },
};

static struct nla_policy stat_policy[KMQTT_STAT_MAX + 1] = {
	[KMQTT_STAT_CONNECTIONS ... KMQTT_STAT_MAX] = { .type = NLA_U64 },
};

/* Also gives the width each limit is sent with. */
#define LIMIT_POLICY(id, field, bits, lo, hi, def)	\
	[KMQTT_LIMIT_##id] = { .type = NLA_U##bits },
static struct nla_policy limit_policy[KMQTT_LIMIT_MAX + 1] = {
	KMQTT_LIMITS(LIMIT_POLICY)
};

_Static_assert(KMQTT_LIMIT_MAX < 32, "limits must fit kmqtt_nl_limits.mask");

/* One request in flight on nl->sock. */
struct request {
	const char *name;	/* command name for error messages */
	/* Called for each reply message with its parsed attributes. */
	void (*parse)(struct nlattr **tb, void *arg);
	void *arg;
	bool done;
	int error;		/* 0 or -errno */
	char ext_msg[128];	/* extended ack message, may be empty */
};

const char *kmqtt_nl_close_reason_name(uint32_t reason)
{
	if (reason < __KMQTT_CLOSE_MAX && close_reason_names[reason])
		return close_reason_names[reason];
	return "unknown";
}

static void set_error(struct kmqtt_nl *nl, const struct request *req)
{
	snprintf(nl->error, sizeof(nl->error), "%s: %s%s%s%s", req->name,
		 strerror(-req->error), req->ext_msg[0] ? ": " : "",
		 req->ext_msg,
		 req->error == -EPERM ? " (CAP_NET_ADMIN is required)" : "");
}

static void set_libnl_error(struct kmqtt_nl *nl, const char *what, int nlerr)
{
	snprintf(nl->error, sizeof(nl->error), "%s: %s", what,
		 nl_geterror(nlerr));
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;
	struct nlattr *tb[KMQTT_A_MAX + 1];
	int err;

	err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, KMQTT_A_MAX, attr_policy);
	if (err < 0) {
		req->error = -EPROTO;
		snprintf(req->ext_msg, sizeof(req->ext_msg),
			 "malformed reply: %s", nl_geterror(err));
		req->done = true;
		return NL_STOP;
	}
	req->parse(tb, req->arg);
	return NL_OK;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;

	(void)msg;
	req->done = true;
	return NL_STOP;
}

/*
 * NLMSGERR_ATTR_MSG among the extended ack TLVs, which start @payload
 * bytes into @nlh (after the nlmsgerr of an error, the status of a DONE).
 */
static void read_ext_msg(const struct nlmsghdr *nlh, size_t payload,
			 struct request *req)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(payload);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= nlh->nlmsg_len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)nlh + off),
		      nlh->nlmsg_len - off, NULL) == 0 && tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(req->ext_msg, tb[NLMSGERR_ATTR_MSG],
			    sizeof(req->ext_msg));
}

/*
 * NLMSG_DONE of a dump: its payload is the dump's final status, where a
 * dump refused after it started (the version check) says so.
 */
static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct request *req = arg;
	int status;

	if (nlmsg_datalen(nlh) >= (int)sizeof(status)) {
		memcpy(&status, nlmsg_data(nlh), sizeof(status));
		if (status < 0) {
			req->error = status;
			read_ext_msg(nlh, sizeof(status), req);
		}
	}
	req->done = true;
	return NL_STOP;
}

/* The TLVs follow the nlmsgerr and, unless capped, the echoed request. */
static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	const struct nlmsghdr *nlh = (const void *)((const char *)e -
						    NLMSG_HDRLEN);
	struct request *req = arg;
	size_t payload = sizeof(*e);

	(void)nla;
	req->error = e->error;
	req->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		payload += e->msg.nlmsg_len - NLMSG_HDRLEN;
	read_ext_msg(nlh, payload, req);
	return NL_STOP;
}

/* Send @msg (consumed) and read replies until the request completes. */
static int run_request(struct kmqtt_nl *nl, struct nl_msg *msg,
		       struct request *req)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err;

	if (!cb) {
		nlmsg_free(msg);
		snprintf(nl->error, sizeof(nl->error), "%s: out of memory",
			 req->name);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, req);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, req);

	err = nl_send_auto(nl->sock, msg);
	nlmsg_free(msg);
	while (err >= 0 && !req->done)
		err = nl_recvmsgs(nl->sock, cb);
	nl_cb_put(cb);

	if (req->error) {
		set_error(nl, req);
		return req->error;
	}
	if (err < 0) {
		set_libnl_error(nl, req->name, err);
		return -EIO;
	}
	return 0;
}

/* @msg (NULL: none) made a request for @cmd, or NULL with nl->error. */
static struct nl_msg *put_request(struct kmqtt_nl *nl, struct nl_msg *msg,
				  uint8_t cmd, int flags)
{
	if (msg && genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			       flags, cmd, nl->version))
		return msg;
	nlmsg_free(msg);
	snprintf(nl->error, sizeof(nl->error), "out of memory");
	return NULL;
}

/* A request message for @cmd, or NULL with nl->error set. */
static struct nl_msg *new_request(struct kmqtt_nl *nl, uint8_t cmd, int flags)
{
	return put_request(nl, nlmsg_alloc(), cmd, flags);
}

/* The same with room for @size bytes, acknowledged. */
static struct nl_msg *new_acked_request(struct kmqtt_nl *nl, uint8_t cmd,
					size_t size)
{
	return put_request(nl, nlmsg_alloc_size(size), cmd,
			   NLM_F_REQUEST | NLM_F_ACK);
}

static void parse_stats(struct nlattr *nest, uint64_t *stats)
{
	struct nlattr *st[KMQTT_STAT_MAX + 1];
	int i;

	if (!nest || nla_parse_nested(st, KMQTT_STAT_MAX, nest, stat_policy))
		return;
	for (i = KMQTT_STAT_CONNECTIONS; i <= KMQTT_STAT_MAX; i++)
		if (st[i])
			stats[i] = nla_get_u64(st[i]);
}

static void parse_limits(struct nlattr *nest, struct kmqtt_nl_limits *limits)
{
	struct nlattr *lt[KMQTT_LIMIT_MAX + 1];
	int i;

	if (!nest || nla_parse_nested(lt, KMQTT_LIMIT_MAX, nest, limit_policy))
		return;
	for (i = KMQTT_LIMIT_MAX_CONNECTIONS; i <= KMQTT_LIMIT_MAX; i++) {
		if (!lt[i])
			continue;
		switch (limit_policy[i].type) {
		case NLA_U8:
			limits->value[i] = nla_get_u8(lt[i]);
			break;
		case NLA_U32:
			limits->value[i] = nla_get_u32(lt[i]);
			break;
		default:
			limits->value[i] = nla_get_u64(lt[i]);
			break;
		}
		limits->mask |= KMQTT_NL_LIMIT_BIT(i);
	}
}

static void parse_info(struct nlattr **tb, void *arg)
{
	struct kmqtt_nl_info *info = arg;

	if (tb[KMQTT_A_VERSION])
		info->version = nla_get_u32(tb[KMQTT_A_VERSION]);
	if (tb[KMQTT_A_INSTANCE])
		info->instance = nla_get_u64(tb[KMQTT_A_INSTANCE]);
	parse_stats(tb[KMQTT_A_STATS], info->stats);
	parse_limits(tb[KMQTT_A_LIMITS], &info->limits);
}

int kmqtt_nl_get_info(struct kmqtt_nl *nl, struct kmqtt_nl_info *info)
{
	struct request req = { .name = "GET_INFO", .parse = parse_info,
			       .arg = info };
	struct nl_msg *msg;

	memset(info, 0, sizeof(*info));
	msg = new_request(nl, KMQTT_CMD_GET_INFO, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg)
		return -ENOMEM;
	return run_request(nl, msg, &req);
}

/* Ask for extended acks without the echoed request. */
static void enable_ext_ack(struct nl_sock *sock)
{
	int one = 1, fd = nl_socket_get_fd(sock);

	/* Best effort: without them errors just lack the message. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

int kmqtt_nl_connect(struct kmqtt_nl *nl)
{
	int err;

	memset(nl, 0, sizeof(*nl));
	nl->version = KMQTT_GENL_VERSION;
	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		return -ENOMEM;
	}
	err = genl_connect(nl->sock);
	if (err < 0) {
		set_libnl_error(nl, "generic netlink socket", err);
		goto fail;
	}
	enable_ext_ack(nl->sock);
	err = nl_socket_set_buffer_size(nl->sock, 0, REQUEST_SNDBUF);
	if (err < 0) {
		set_libnl_error(nl, "netlink socket buffer", err);
		goto fail;
	}

	nl->family = genl_ctrl_resolve(nl->sock, KMQTT_GENL_NAME);
	if (nl->family == -NLE_OBJ_NOTFOUND) {
		snprintf(nl->error, sizeof(nl->error),
			 "generic netlink family \"%s\" not found: the kmqtt module is not loaded (insmod kmod/kmqtt.ko)",
			 KMQTT_GENL_NAME);
		kmqtt_nl_close(nl);
		return -ENOENT;
	}
	if (nl->family < 0) {
		err = nl->family;
		set_libnl_error(nl, "resolving family " KMQTT_GENL_NAME, err);
		goto fail;
	}
	return 0;

fail:
	kmqtt_nl_close(nl);
	return -EIO;
}

int kmqtt_nl_open(struct kmqtt_nl *nl)
{
	struct kmqtt_nl_info info;
	int err;

	err = kmqtt_nl_connect(nl);
	if (err)
		return err;
	err = kmqtt_nl_get_info(nl, &info);
	if (err) {
		kmqtt_nl_close(nl);
		return err;
	}
	if (info.version != KMQTT_GENL_VERSION) {
		snprintf(nl->error, sizeof(nl->error),
			 "kmqtt module speaks netlink version %u, this program version %u: build and load matching versions",
			 info.version, KMQTT_GENL_VERSION);
		kmqtt_nl_close(nl);
		return -EPROTO;
	}
	return 0;
}

void kmqtt_nl_close(struct kmqtt_nl *nl)
{
	nl_socket_free(nl->events);
	nl_socket_free(nl->sock);
	nl->events = NULL;
	nl->sock = NULL;
}

static void parse_attached(struct nlattr **tb, void *arg)
{
	struct kmqtt_nl_attached *reply = arg;

	if (tb[KMQTT_A_CONN_ID])
		reply->conn_id = nla_get_u64(tb[KMQTT_A_CONN_ID]);
	if (tb[KMQTT_A_SESSION_PRESENT])
		reply->session_present = nla_get_u8(tb[KMQTT_A_SESSION_PRESENT]);
}

/* The four will attributes go together: all when the will flag was set. */
static int put_will(struct nl_msg *msg, const struct kmqtt_nl_attach *req)
{
	if (!req->will)
		return 0;
	return nla_put(msg, KMQTT_A_WILL_TOPIC, (int)req->will_topic_len,
		       req->will_topic) ||
	       nla_put(msg, KMQTT_A_WILL_PAYLOAD, (int)req->will_payload_len,
		       req->will_payload) ||
	       nla_put_u8(msg, KMQTT_A_WILL_QOS, req->will_qos) ||
	       nla_put_u8(msg, KMQTT_A_WILL_RETAIN, req->will_retain);
}

static int put_v5(struct nl_msg *msg, const struct kmqtt_nl_attach *req)
{
	if (req->proto_level != MQTT_PROTO_V5)
		return 0;
	return nla_put_u32(msg, KMQTT_A_SESSION_EXPIRY, req->session_expiry) ||
	       (req->receive_max &&
		nla_put_u16(msg, KMQTT_A_RECEIVE_MAX, req->receive_max)) ||
	       (req->max_packet_out &&
		nla_put_u32(msg, KMQTT_A_MAX_PACKET_OUT,
			    req->max_packet_out)) ||
	       (req->topic_alias_max &&
		nla_put_u16(msg, KMQTT_A_TOPIC_ALIAS_MAX,
			    req->topic_alias_max)) ||
	       (req->will && req->will_delay &&
		nla_put_u32(msg, KMQTT_A_WILL_DELAY, req->will_delay)) ||
	       (req->auth_method &&
		nla_put(msg, KMQTT_A_AUTH_METHOD, (int)strlen(req->auth_method),
			req->auth_method)) ||
	       (req->connack_props_len &&
		nla_put(msg, KMQTT_A_CONNACK_PROPS,
			(int)req->connack_props_len, req->connack_props)) ||
	       (req->will_props_len &&
		nla_put(msg, KMQTT_A_WILL_PROPS, (int)req->will_props_len,
			req->will_props));
}

static int put_message_too_large(struct kmqtt_nl *nl, struct nl_msg *msg,
				 const char *name)
{
	nlmsg_free(msg);
	snprintf(nl->error, sizeof(nl->error), "%s: message too large", name);
	return -EMSGSIZE;
}

/*
 * An empty list of rules denies everything, but libnl drops an empty nest
 * (nla_nest_end()), which the module would read as "no rules: allow all".
 * This one rule stands for it: "#" denies every topic, and one starting
 * with '$', which "#" does not match (MQTT-4.7.2-1), matches no rule and
 * is refused all the same.
 */
static const struct acl_rule deny_all = { "#", KMQTT_ACL_DENY };
static const struct acl_rules no_rules = {
	.rule = (struct acl_rule *)&deny_all,
	.count = 1,
};

/* What goes on the wire for @acl. */
static const struct acl_rules *acl_sent(const struct acl_rules *acl)
{
	return acl && !acl->count ? &no_rules : acl;
}

/* Room KMQTT_A_ACL needs for @acl. */
static size_t acl_size(const struct acl_rules *acl)
{
	size_t i, size = 0;

	acl = acl_sent(acl);
	if (!acl)
		return 0;
	for (i = 0; i < acl->count; i++)
		size += (size_t)nla_total_size(0) +
			(size_t)nla_total_size((int)strlen(acl->rule[i].filter)) +
			(size_t)nla_total_size(sizeof(uint8_t));
	return size + (size_t)nla_total_size(0);
}

/* KMQTT_A_ACL with one KMQTT_A_ACL_RULE per rule, in order. */
static int put_acl(struct nl_msg *msg, const struct acl_rules *acl)
{
	struct nlattr *nest, *rule;
	size_t i;

	acl = acl_sent(acl);
	if (!acl)
		return 0;
	nest = nla_nest_start(msg, KMQTT_A_ACL);
	if (!nest)
		return -1;
	for (i = 0; i < acl->count; i++) {
		rule = nla_nest_start(msg, KMQTT_A_ACL_RULE);
		if (!rule ||
		    nla_put(msg, KMQTT_A_FILTER, (int)strlen(acl->rule[i].filter),
			    acl->rule[i].filter) ||
		    nla_put_u8(msg, KMQTT_A_ACL_ACCESS, acl->rule[i].access) ||
		    nla_nest_end(msg, rule))
			return -1;
	}
	/* Past 64 KiB the nest is cancelled: refused, not sent without. */
	return nla_nest_end(msg, nest) ? -1 : 0;
}

/* Room KMQTT_A_BRIDGE needs for @count topic lines. */
static size_t bridge_size(const struct kmqtt_nl_bridge_topic *topics,
			  size_t count)
{
	size_t i, size = 0;

	if (!count)
		return 0;
	for (i = 0; i < count; i++)
		size += (size_t)nla_total_size(0) +
			(size_t)nla_total_size((int)strlen(topics[i].local)) +
			(size_t)nla_total_size((int)strlen(topics[i].remote)) +
			2 * (size_t)nla_total_size(sizeof(uint8_t)) +
			2 * (size_t)nla_total_size(sizeof(uint16_t));
	return size + (size_t)nla_total_size(0);
}

/* KMQTT_A_BRIDGE with one KMQTT_A_BRIDGE_TOPIC per topic line. */
static int put_bridge(struct nl_msg *msg,
		      const struct kmqtt_nl_bridge_topic *topics, size_t count)
{
	const struct kmqtt_nl_bridge_topic *t;
	struct nlattr *nest, *line;
	size_t i;

	if (!count)
		return 0;
	nest = nla_nest_start(msg, KMQTT_A_BRIDGE);
	if (!nest)
		return -1;
	for (i = 0; i < count; i++) {
		t = &topics[i];
		line = nla_nest_start(msg, KMQTT_A_BRIDGE_TOPIC);
		if (!line ||
		    nla_put_u8(msg, KMQTT_A_BRIDGE_DIRECTION, t->direction) ||
		    nla_put_u8(msg, KMQTT_A_QOS, t->qos) ||
		    nla_put(msg, KMQTT_A_BRIDGE_LOCAL, (int)strlen(t->local),
			    t->local) ||
		    nla_put(msg, KMQTT_A_BRIDGE_REMOTE, (int)strlen(t->remote),
			    t->remote) ||
		    nla_put_u16(msg, KMQTT_A_BRIDGE_LOCAL_PREFIX,
				t->local_prefix_len) ||
		    nla_put_u16(msg, KMQTT_A_BRIDGE_REMOTE_PREFIX,
				t->remote_prefix_len) ||
		    nla_nest_end(msg, line))
			return -1;
	}
	/* Past 64 KiB the nest is cancelled: refused, not sent without. */
	return nla_nest_end(msg, nest) ? -1 : 0;
}

/* Where the agent left the client's WebSocket frames; none over TCP. */
static int put_websocket(struct nl_msg *msg, const struct kmqtt_nl_attach *req)
{
	if (!req->websocket)
		return 0;
	if (nla_put_u8(msg, KMQTT_A_WEBSOCKET, 1) ||
	    (req->ws_continued && nla_put_u8(msg, KMQTT_A_WS_CONTINUED, 1)))
		return -1;
	if (!req->ws_frame_left)
		return 0;
	return nla_put_u64(msg, KMQTT_A_WS_FRAME_LEFT, req->ws_frame_left) ||
	       nla_put_u32(msg, KMQTT_A_WS_MASK, req->ws_mask);
}

int kmqtt_nl_attach(struct kmqtt_nl *nl, const struct kmqtt_nl_attach *req,
		    struct kmqtt_nl_attached *reply)
{
	struct request r = { .name = "ATTACH", .parse = parse_attached,
			     .arg = reply };
	struct nl_msg *msg;

	memset(reply, 0, sizeof(*reply));
	/* A will can be 128 KiB: more than libnl's default message size. */
	msg = new_acked_request(nl, KMQTT_CMD_ATTACH,
				REQUEST_FIXED_SIZE + req->will_topic_len +
				req->will_payload_len + req->pending_len +
				req->username_len + req->mount_point_len +
				req->connack_props_len + req->will_props_len +
				acl_size(req->acl) +
				bridge_size(req->bridge_topics,
					    req->bridge_topics_count) +
				(size_t)nla_total_size(sizeof(uint8_t)));
	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, KMQTT_A_SOCK_FD, (uint32_t)req->fd) ||
	    nla_put(msg, KMQTT_A_CLIENT_ID, (int)req->client_id_len,
		    req->client_id) ||
	    nla_put_u8(msg, KMQTT_A_PROTO_LEVEL, req->proto_level) ||
	    nla_put_u16(msg, KMQTT_A_KEEPALIVE, req->keepalive) ||
	    nla_put_u8(msg, KMQTT_A_CLEAN_SESSION, req->clean_session) ||
	    put_will(msg, req) || put_v5(msg, req) ||
	    (req->username &&
	     nla_put(msg, KMQTT_A_USERNAME, (int)req->username_len,
		     req->username)) ||
	    (req->pending_len &&
	     nla_put(msg, KMQTT_A_PENDING, (int)req->pending_len,
		     req->pending)) ||
	    (req->mount_point &&
	     nla_put(msg, KMQTT_A_MOUNT_POINT, (int)req->mount_point_len,
		     req->mount_point)) ||
	    (req->peer_bridge &&
	     nla_put_u8(msg, KMQTT_A_PEER_BRIDGE, 1)) ||
	    (req->bridge_queue_qos0 &&
	     nla_put_u8(msg, KMQTT_A_BRIDGE_QUEUE_QOS0, 1)) ||
	    put_websocket(msg, req) ||
	    put_acl(msg, req->acl) ||
	    put_bridge(msg, req->bridge_topics, req->bridge_topics_count))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

static void parse_nothing(struct nlattr **tb, void *arg)
{
	(void)tb;
	(void)arg;
}

int kmqtt_nl_set_acl(struct kmqtt_nl *nl, const char *client_id,
		     const struct acl_rules *acl)
{
	struct request r = { .name = "SET_ACL", .parse = parse_nothing };
	struct nl_msg *msg;

	msg = new_acked_request(nl, KMQTT_CMD_SET_ACL,
				REQUEST_FIXED_SIZE + acl_size(acl));
	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(client_id),
		    client_id) ||
	    put_acl(msg, acl))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

int kmqtt_nl_disconnect(struct kmqtt_nl *nl, const char *client_id)
{
	struct request r = { .name = "DISCONNECT", .parse = parse_nothing };
	struct nl_msg *msg;

	msg = new_request(nl, KMQTT_CMD_DISCONNECT, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(client_id), client_id))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

int kmqtt_nl_auth_reply(struct kmqtt_nl *nl, uint64_t conn_id,
			const char *client_id, uint8_t reason,
			const uint8_t *data, size_t len)
{
	struct request r = { .name = "AUTH", .parse = parse_nothing };
	struct nl_msg *msg;

	msg = new_acked_request(nl, KMQTT_CMD_AUTH, REQUEST_FIXED_SIZE + len);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u64(msg, KMQTT_A_CONN_ID, conn_id) ||
	    nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(client_id),
		    client_id) ||
	    nla_put_u8(msg, KMQTT_A_AUTH_REASON, reason) ||
	    (data && nla_put(msg, KMQTT_A_AUTH_DATA, (int)len, data)))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

static void parse_ack_hold(struct nlattr **tb, void *arg)
{
	struct kmqtt_nl_ack_hold *out = arg;

	if (tb[KMQTT_A_HOLD_ACKS])
		out->hold = nla_get_u8(tb[KMQTT_A_HOLD_ACKS]);
	if (tb[KMQTT_A_ACK_SEQ])
		out->seq = nla_get_u64(tb[KMQTT_A_ACK_SEQ]);
}

int kmqtt_nl_ack_hold(struct kmqtt_nl *nl, int hold, uint64_t saved,
		      struct kmqtt_nl_ack_hold *out)
{
	struct request r = { .name = "ACK_HOLD", .parse = parse_ack_hold,
			     .arg = out };
	struct nl_msg *msg;

	memset(out, 0, sizeof(*out));
	msg = new_request(nl, KMQTT_CMD_ACK_HOLD, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg)
		return -ENOMEM;
	if ((hold >= 0 && nla_put_u8(msg, KMQTT_A_HOLD_ACKS, hold)) ||
	    (saved && nla_put_u64(msg, KMQTT_A_ACK_SEQ, saved)))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

int kmqtt_nl_set_limits(struct kmqtt_nl *nl,
			const struct kmqtt_nl_limits *limits)
{
	struct request r = { .name = "SET_LIMITS", .parse = parse_nothing };
	struct nlattr *nest;
	struct nl_msg *msg;
	int i, err = 0;

	msg = new_request(nl, KMQTT_CMD_SET_LIMITS, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, KMQTT_A_LIMITS);
	for (i = KMQTT_LIMIT_MAX_CONNECTIONS; nest && !err &&
	     i <= KMQTT_LIMIT_MAX; i++) {
		if (!(limits->mask & KMQTT_NL_LIMIT_BIT(i)))
			continue;
		switch (limit_policy[i].type) {
		case NLA_U8:
			err = nla_put_u8(msg, i, (uint8_t)limits->value[i]);
			break;
		case NLA_U32:
			err = nla_put_u32(msg, i, (uint32_t)limits->value[i]);
			break;
		default:
			err = nla_put_u64(msg, i, limits->value[i]);
			break;
		}
	}
	if (!nest || err)
		return put_message_too_large(nl, msg, r.name);
	nla_nest_end(msg, nest);
	return run_request(nl, msg, &r);
}

/* Copies a binary client id attribute into a NUL-terminated buffer. */
static void get_client_id(struct nlattr *attr,
			  char out[KMQTT_CLIENT_ID_MAX + 1])
{
	int len = attr ? nla_len(attr) : 0;

	memcpy(out, attr ? nla_data(attr) : "", (size_t)len);
	out[len] = '\0';
}

/* The dump callback and its argument. */
struct conn_walk {
	void (*fn)(const struct kmqtt_nl_conn *conn, void *arg);
	void *arg;
};

static void parse_conn(struct nlattr **tb, void *arg)
{
	struct conn_walk *walk = arg;
	struct kmqtt_nl_conn conn;

	memset(&conn, 0, sizeof(conn));
	if (tb[KMQTT_A_CONN_ID])
		conn.id = nla_get_u64(tb[KMQTT_A_CONN_ID]);
	get_client_id(tb[KMQTT_A_CLIENT_ID], conn.client_id);
	if (tb[KMQTT_A_PEER])
		memcpy(&conn.peer, nla_data(tb[KMQTT_A_PEER]),
		       (size_t)nla_len(tb[KMQTT_A_PEER]));
	if (tb[KMQTT_A_PROTO_LEVEL])
		conn.proto_level = nla_get_u8(tb[KMQTT_A_PROTO_LEVEL]);
	if (tb[KMQTT_A_KEEPALIVE])
		conn.keepalive = nla_get_u16(tb[KMQTT_A_KEEPALIVE]);
	if (tb[KMQTT_A_CLEAN_SESSION])
		conn.clean_session = nla_get_u8(tb[KMQTT_A_CLEAN_SESSION]);
	if (tb[KMQTT_A_TLS])
		conn.tls = nla_get_u8(tb[KMQTT_A_TLS]);
	if (tb[KMQTT_A_BRIDGE_LINK])
		conn.bridge = nla_get_u8(tb[KMQTT_A_BRIDGE_LINK]);
	if (tb[KMQTT_A_WEBSOCKET])
		conn.websocket = nla_get_u8(tb[KMQTT_A_WEBSOCKET]);
	parse_stats(tb[KMQTT_A_STATS], conn.stats);
	walk->fn(&conn, walk->arg);
}

int kmqtt_nl_dump_conns(struct kmqtt_nl *nl,
			void (*fn)(const struct kmqtt_nl_conn *conn, void *arg),
			void *arg)
{
	struct conn_walk walk = { .fn = fn, .arg = arg };
	struct request req = { .name = "GET_CONN", .parse = parse_conn,
			       .arg = &walk };
	struct nl_msg *msg;

	msg = new_request(nl, KMQTT_CMD_GET_CONN, NLM_F_REQUEST | NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	return run_request(nl, msg, &req);
}

struct session_walk {
	void (*fn)(const struct kmqtt_nl_session *s, void *arg);
	void *arg;
};

static void parse_session(struct nlattr **tb, void *arg)
{
	struct session_walk *walk = arg;
	struct kmqtt_nl_session s;

	memset(&s, 0, sizeof(s));
	get_client_id(tb[KMQTT_A_CLIENT_ID], s.client_id);
	if (tb[KMQTT_A_CLEAN_SESSION])
		s.clean_session = nla_get_u8(tb[KMQTT_A_CLEAN_SESSION]);
	if (tb[KMQTT_A_ONLINE])
		s.online = nla_get_u8(tb[KMQTT_A_ONLINE]);
	if (tb[KMQTT_A_CONN_ID])
		s.conn_id = nla_get_u64(tb[KMQTT_A_CONN_ID]);
	if (tb[KMQTT_A_USERNAME]) {
		s.has_username = true;
		memcpy(s.username, nla_data(tb[KMQTT_A_USERNAME]),
		       (size_t)nla_len(tb[KMQTT_A_USERNAME]));
	}
	if (tb[KMQTT_A_SESSION_EXPIRY])
		s.session_expiry = nla_get_u32(tb[KMQTT_A_SESSION_EXPIRY]);
	if (tb[KMQTT_A_OFFLINE_FOR])
		s.offline_for = nla_get_u32(tb[KMQTT_A_OFFLINE_FOR]);
	if (tb[KMQTT_A_BRIDGE_LINK])
		s.bridge = nla_get_u8(tb[KMQTT_A_BRIDGE_LINK]);
	parse_stats(tb[KMQTT_A_STATS], s.stats);
	walk->fn(&s, walk->arg);
}

/* Keeps the one session of a GET_SESSION doit. */
static void copy_session(const struct kmqtt_nl_session *s, void *arg)
{
	*(struct kmqtt_nl_session *)arg = *s;
}

int kmqtt_nl_get_session(struct kmqtt_nl *nl, const char *client_id,
			 struct kmqtt_nl_session *s)
{
	struct session_walk walk = { .fn = copy_session, .arg = s };
	struct request req = { .name = "GET_SESSION", .parse = parse_session,
			       .arg = &walk };
	struct nl_msg *msg;

	memset(s, 0, sizeof(*s));
	msg = new_acked_request(nl, KMQTT_CMD_GET_SESSION,
				REQUEST_FIXED_SIZE);
	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(client_id), client_id))
		return put_message_too_large(nl, msg, req.name);
	return run_request(nl, msg, &req);
}

int kmqtt_nl_dump_sessions(struct kmqtt_nl *nl,
			   void (*fn)(const struct kmqtt_nl_session *s,
				      void *arg),
			   void *arg)
{
	struct session_walk walk = { .fn = fn, .arg = arg };
	struct request req = { .name = "GET_SESSION", .parse = parse_session,
			       .arg = &walk };
	struct nl_msg *msg;

	msg = new_request(nl, KMQTT_CMD_GET_SESSION,
			  NLM_F_REQUEST | NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	return run_request(nl, msg, &req);
}

struct subscription_walk {
	void (*fn)(const struct kmqtt_nl_subscription *s, void *arg);
	void *arg;
	char filter[MQTT_MAX_TOPIC_LEN + 1];
};

static void parse_subscription(struct nlattr **tb, void *arg)
{
	struct subscription_walk *walk = arg;
	struct kmqtt_nl_subscription s;
	int len = tb[KMQTT_A_FILTER] ? nla_len(tb[KMQTT_A_FILTER]) : 0;

	memset(&s, 0, sizeof(s));
	get_client_id(tb[KMQTT_A_CLIENT_ID], s.client_id);
	if (len)
		memcpy(walk->filter, nla_data(tb[KMQTT_A_FILTER]), (size_t)len);
	walk->filter[len] = '\0';
	s.filter = walk->filter;
	if (tb[KMQTT_A_QOS])
		s.qos = nla_get_u8(tb[KMQTT_A_QOS]);
	if (tb[KMQTT_A_SUB_OPTIONS])
		s.options = nla_get_u8(tb[KMQTT_A_SUB_OPTIONS]);
	if (tb[KMQTT_A_SUB_ID])
		s.sub_id = nla_get_u32(tb[KMQTT_A_SUB_ID]);
	walk->fn(&s, walk->arg);
}

int kmqtt_nl_dump_subscriptions(struct kmqtt_nl *nl,
				void (*fn)(const struct kmqtt_nl_subscription *s,
					   void *arg),
				void *arg)
{
	struct subscription_walk *walk = malloc(sizeof(*walk));
	struct request req = { .name = "GET_SUBSCRIPTION",
			       .parse = parse_subscription, .arg = walk };
	struct nl_msg *msg;
	int rc;

	if (!walk) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		return -ENOMEM;
	}
	walk->fn = fn;
	walk->arg = arg;
	msg = new_request(nl, KMQTT_CMD_GET_SUBSCRIPTION,
			  NLM_F_REQUEST | NLM_F_DUMP);
	rc = msg ? run_request(nl, msg, &req) : -ENOMEM;
	free(walk);
	return rc;
}

/*
 * A message being put back together from the parts of a dump; once
 * whole, @complete hands it out with the attributes of its last part.
 */
struct msg_walk {
	void (*complete)(struct msg_walk *w, struct nlattr **tb,
			 const struct kmqtt_nl_msg *m);
	void (*retained_fn)(const struct kmqtt_nl_msg *m, void *arg);
	void (*session_fn)(const struct kmqtt_nl_session_msg *sm, void *arg);
	void *arg;
	uint8_t *data;
	size_t len, have;
	int error;		/* -EPROTO: parts that do not add up */
};

static void parse_msg_part(struct nlattr **tb, void *arg)
{
	struct msg_walk *walk = arg;
	struct kmqtt_nl_msg m = { 0 };
	uint32_t len, offset, part;

	if (walk->error)
		return;
	if (!tb[KMQTT_A_MSG_LEN] || !tb[KMQTT_A_OFFSET] ||
	    !tb[KMQTT_A_MSG_DATA] || !tb[KMQTT_A_QOS])
		goto bad;
	len = nla_get_u32(tb[KMQTT_A_MSG_LEN]);
	offset = nla_get_u32(tb[KMQTT_A_OFFSET]);
	part = (uint32_t)nla_len(tb[KMQTT_A_MSG_DATA]);
	if (!offset) {
		uint8_t *data;

		if (walk->have != walk->len || !len ||
		    len > MQTT_MAX_REMAINING_LENGTH)
			goto bad;
		data = realloc(walk->data, len);
		if (!data) {
			walk->error = -ENOMEM;
			return;
		}
		walk->data = data;
		walk->len = len;
		walk->have = 0;
	}
	if (len != walk->len || offset != walk->have ||
	    part > walk->len - walk->have)
		goto bad;
	memcpy(walk->data + walk->have, nla_data(tb[KMQTT_A_MSG_DATA]), part);
	walk->have += part;
	if (walk->have < walk->len)
		return;
	m.qos = nla_get_u8(tb[KMQTT_A_QOS]);
	if (tb[KMQTT_A_MSG_EXPIRY])
		m.expiry = nla_get_u32(tb[KMQTT_A_MSG_EXPIRY]);
	m.data = walk->data;
	m.len = walk->len;
	walk->complete(walk, tb, &m);
	return;
bad:
	walk->error = -EPROTO;
}

/* Run the dump of @cmd, whose messages come in parts, through @walk. */
static int dump_msgs(struct kmqtt_nl *nl, uint8_t cmd, const char *name,
		     struct msg_walk *walk)
{
	struct request req = { .name = name, .parse = parse_msg_part,
			       .arg = walk };
	struct nl_msg *msg;
	int rc;

	msg = new_request(nl, cmd, NLM_F_REQUEST | NLM_F_DUMP);
	rc = msg ? run_request(nl, msg, &req) : -ENOMEM;
	free(walk->data);
	if (!rc && (walk->error || walk->have != walk->len)) {
		rc = walk->error ? walk->error : -EPROTO;
		snprintf(nl->error, sizeof(nl->error), "%s: %s", name,
			 rc == -ENOMEM ? "out of memory" :
			 "message parts that do not add up");
	}
	return rc;
}

static void retained_complete(struct msg_walk *w, struct nlattr **tb,
			      const struct kmqtt_nl_msg *m)
{
	(void)tb;
	w->retained_fn(m, w->arg);
}

int kmqtt_nl_dump_retained(struct kmqtt_nl *nl,
			   void (*fn)(const struct kmqtt_nl_msg *m, void *arg),
			   void *arg)
{
	struct msg_walk walk = {
		.complete = retained_complete,
		.retained_fn = fn,
		.arg = arg,
	};

	return dump_msgs(nl, KMQTT_CMD_GET_RETAINED, "GET_RETAINED", &walk);
}

static void session_msg_complete(struct msg_walk *w, struct nlattr **tb,
				 const struct kmqtt_nl_msg *m)
{
	struct kmqtt_nl_session_msg sm = { .m = *m };
	struct nlattr *id;
	int rem;

	if (!tb[KMQTT_A_CLIENT_ID] || !tb[KMQTT_A_RETAIN]) {
		w->error = -EPROTO;
		return;
	}
	get_client_id(tb[KMQTT_A_CLIENT_ID], sm.client_id);
	sm.retain = nla_get_u8(tb[KMQTT_A_RETAIN]);
	if (tb[KMQTT_A_PACKET_ID])
		sm.packet_id = nla_get_u16(tb[KMQTT_A_PACKET_ID]);
	if (tb[KMQTT_A_RELEASED])
		sm.released = nla_get_u8(tb[KMQTT_A_RELEASED]);
	if (tb[KMQTT_A_WILL_DELAY]) {
		sm.will = true;
		sm.will_delay = nla_get_u32(tb[KMQTT_A_WILL_DELAY]);
	}
	if (tb[KMQTT_A_SUB_IDS]) {
		nla_for_each_nested(id, tb[KMQTT_A_SUB_IDS], rem) {
			if (nla_type(id) != KMQTT_A_SUB_ID ||
			    nla_len(id) != sizeof(uint32_t) ||
			    sm.n_sub_ids == KMQTT_SUB_IDS_MAX) {
				w->error = -EPROTO;
				return;
			}
			sm.sub_ids[sm.n_sub_ids++] = nla_get_u32(id);
		}
	}
	w->session_fn(&sm, w->arg);
}

int kmqtt_nl_dump_session_msgs(struct kmqtt_nl *nl,
			       void (*fn)(const struct kmqtt_nl_session_msg *sm,
					  void *arg),
			       void *arg)
{
	struct msg_walk walk = {
		.complete = session_msg_complete,
		.session_fn = fn,
		.arg = arg,
	};

	return dump_msgs(nl, KMQTT_CMD_GET_SESSION_MSG, "GET_SESSION_MSG",
			 &walk);
}

struct qos2_walk {
	void (*fn)(const char *client_id, const uint16_t *ids, size_t n,
		   void *arg);
	void *arg;
	int error;
};

static void parse_qos2(struct nlattr **tb, void *arg)
{
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	struct qos2_walk *walk = arg;

	if (!tb[KMQTT_A_CLIENT_ID] || !tb[KMQTT_A_QOS2_IDS] ||
	    nla_len(tb[KMQTT_A_QOS2_IDS]) % 2) {
		walk->error = -EPROTO;
		return;
	}
	get_client_id(tb[KMQTT_A_CLIENT_ID], client_id);
	/* Attribute data is 4-byte aligned: u16 reads are fine. */
	walk->fn(client_id, nla_data(tb[KMQTT_A_QOS2_IDS]),
		 (size_t)nla_len(tb[KMQTT_A_QOS2_IDS]) / 2, walk->arg);
}

int kmqtt_nl_dump_session_qos2(struct kmqtt_nl *nl,
			       void (*fn)(const char *client_id,
					  const uint16_t *ids, size_t n,
					  void *arg),
			       void *arg)
{
	struct qos2_walk walk = { .fn = fn, .arg = arg };
	struct request req = { .name = "GET_SESSION_QOS2",
			       .parse = parse_qos2, .arg = &walk };
	struct nl_msg *msg;
	int rc;

	msg = new_request(nl, KMQTT_CMD_GET_SESSION_QOS2,
			  NLM_F_REQUEST | NLM_F_DUMP);
	rc = msg ? run_request(nl, msg, &req) : -ENOMEM;
	if (!rc && walk.error) {
		rc = walk.error;
		snprintf(nl->error, sizeof(nl->error),
			 "%s: not a list of packet ids", req.name);
	}
	return rc;
}

int kmqtt_nl_set_session_qos2(struct kmqtt_nl *nl, const char *client_id,
			      const uint16_t *ids, size_t n)
{
	struct request r = { .name = "SET_SESSION_QOS2",
			     .parse = parse_nothing };
	struct nl_msg *msg;
	size_t part;
	int rc = 0;

	for (; n && !rc; ids += part, n -= part) {
		part = n < KMQTT_QOS2_IDS_MAX ? n : KMQTT_QOS2_IDS_MAX;
		msg = new_acked_request(nl, KMQTT_CMD_SET_SESSION_QOS2,
					REQUEST_FIXED_SIZE + part * 2);
		if (!msg)
			return -ENOMEM;
		if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(client_id),
			    client_id) ||
		    nla_put(msg, KMQTT_A_QOS2_IDS, (int)(part * 2), ids))
			return put_message_too_large(nl, msg, r.name);
		r.done = false;
		rc = run_request(nl, msg, &r);
	}
	return rc;
}

/*
 * A request of @size bytes must fit the socket's send buffer, which
 * netlink checks whole; kmqttd may raise it past the system's limit.
 */
static int fit_sndbuf(struct kmqtt_nl *nl, size_t size)
{
	int fd = nl_socket_get_fd(nl->sock), cur = 0, want;
	socklen_t len = sizeof(cur);

	if (size > MQTT_MAX_REMAINING_LENGTH * 2UL) {
		snprintf(nl->error, sizeof(nl->error), "request too large");
		return -EMSGSIZE;
	}
	want = (int)size + 4096;
	if (!getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) && cur >= want)
		return 0;
	/* Without CAP_NET_ADMIN, SO_SNDBUF is capped at net.core.wmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want,
				 sizeof(want));
	len = sizeof(cur);
	if (!getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) && cur >= want)
		return 0;
	snprintf(nl->error, sizeof(nl->error),
		 "a send buffer of %d bytes is needed, the socket has %d (net.core.wmem_max)",
		 want, cur);
	return -EMSGSIZE;
}

/*
 * A request of @cmd with room for the message @m, whose parts
 * put_msg() adds; NULL with nl->error and *@rc.
 */
static struct nl_msg *new_msg_request(struct kmqtt_nl *nl, uint8_t cmd,
				      const struct kmqtt_nl_msg *m, int *rc)
{
	size_t parts = m->len / KMQTT_MSG_DATA_MAX + 1;
	size_t size = REQUEST_FIXED_SIZE + m->len + parts * NLA_HDRLEN * 2;
	struct nl_msg *msg;

	*rc = fit_sndbuf(nl, size);
	if (*rc)
		return NULL;
	msg = new_acked_request(nl, cmd, size);
	if (!msg)
		*rc = -ENOMEM;
	return msg;
}

/* @m's QoS, expiry and data, in parts of at most KMQTT_MSG_DATA_MAX. */
static int put_msg(struct nl_msg *msg, const struct kmqtt_nl_msg *m)
{
	size_t off, part;

	if (nla_put_u8(msg, KMQTT_A_QOS, m->qos) ||
	    (m->expiry && nla_put_u32(msg, KMQTT_A_MSG_EXPIRY, m->expiry)))
		return -EMSGSIZE;
	for (off = 0; off < m->len; off += part) {
		part = m->len - off;
		if (part > KMQTT_MSG_DATA_MAX)
			part = KMQTT_MSG_DATA_MAX;
		if (nla_put(msg, KMQTT_A_MSG_DATA, (int)part, m->data + off))
			return -EMSGSIZE;
	}
	return 0;
}

/* @m alone in request @cmd, with RETAIN unless @retain is -1. */
static int msg_request(struct kmqtt_nl *nl, uint8_t cmd, const char *name,
		       const struct kmqtt_nl_msg *m, int retain)
{
	struct request r = { .name = name, .parse = parse_nothing };
	struct nl_msg *msg;
	int rc;

	msg = new_msg_request(nl, cmd, m, &rc);
	if (!msg)
		return rc;
	if ((retain >= 0 && nla_put_u8(msg, KMQTT_A_RETAIN, retain)) ||
	    put_msg(msg, m))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

int kmqtt_nl_set_retained(struct kmqtt_nl *nl, const struct kmqtt_nl_msg *m)
{
	return msg_request(nl, KMQTT_CMD_SET_RETAINED, "SET_RETAINED", m, -1);
}

int kmqtt_nl_publish(struct kmqtt_nl *nl, const struct kmqtt_nl_msg *m,
		     bool retain)
{
	return msg_request(nl, KMQTT_CMD_PUBLISH, "PUBLISH", m, retain);
}

int kmqtt_nl_set_session_msg(struct kmqtt_nl *nl,
			     const struct kmqtt_nl_session_msg *sm)
{
	struct request r = { .name = "SET_SESSION_MSG",
			     .parse = parse_nothing };
	struct nlattr *nest;
	struct nl_msg *msg;
	uint8_t i;
	int rc;

	msg = new_msg_request(nl, KMQTT_CMD_SET_SESSION_MSG, &sm->m, &rc);
	if (!msg)
		return rc;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(sm->client_id),
		    sm->client_id) ||
	    nla_put_u8(msg, KMQTT_A_RETAIN, sm->retain) ||
	    (sm->will &&
	     nla_put_u32(msg, KMQTT_A_WILL_DELAY, sm->will_delay)) ||
	    (sm->packet_id &&
	     (nla_put_u16(msg, KMQTT_A_PACKET_ID, sm->packet_id) ||
	      nla_put_u8(msg, KMQTT_A_RELEASED, sm->released))) ||
	    put_msg(msg, &sm->m))
		return put_message_too_large(nl, msg, r.name);
	if (sm->n_sub_ids) {
		nest = nla_nest_start(msg, KMQTT_A_SUB_IDS);
		if (!nest)
			return put_message_too_large(nl, msg, r.name);
		for (i = 0; i < sm->n_sub_ids; i++)
			if (nla_put_u32(msg, KMQTT_A_SUB_ID, sm->sub_ids[i]))
				return put_message_too_large(nl, msg, r.name);
		nla_nest_end(msg, nest);
	}
	return run_request(nl, msg, &r);
}

int kmqtt_nl_set_session(struct kmqtt_nl *nl,
			 const struct kmqtt_nl_session *s)
{
	struct request r = { .name = "SET_SESSION", .parse = parse_nothing };
	struct nl_msg *msg;

	msg = new_acked_request(nl, KMQTT_CMD_SET_SESSION,
				REQUEST_FIXED_SIZE + KMQTT_USERNAME_MAX);
	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(s->client_id),
		    s->client_id) ||
	    nla_put_u32(msg, KMQTT_A_SESSION_EXPIRY, s->session_expiry) ||
	    nla_put_u32(msg, KMQTT_A_OFFLINE_FOR, s->offline_for) ||
	    (s->has_username &&
	     nla_put(msg, KMQTT_A_USERNAME, (int)strlen(s->username),
		     s->username)) ||
	    (s->bridge && nla_put_u8(msg, KMQTT_A_BRIDGE_LINK, 1)))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

int kmqtt_nl_set_subscription(struct kmqtt_nl *nl,
			      const struct kmqtt_nl_subscription *s)
{
	struct request r = { .name = "SET_SUBSCRIPTION",
			     .parse = parse_nothing };
	size_t len = strlen(s->filter);
	struct nl_msg *msg;

	msg = new_acked_request(nl, KMQTT_CMD_SET_SUBSCRIPTION,
				REQUEST_FIXED_SIZE + len);
	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(s->client_id),
		    s->client_id) ||
	    nla_put(msg, KMQTT_A_FILTER, (int)len, s->filter) ||
	    nla_put_u8(msg, KMQTT_A_SUB_OPTIONS, s->options) ||
	    (s->sub_id && nla_put_u32(msg, KMQTT_A_SUB_ID, s->sub_id)))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

int kmqtt_nl_set_bridge_subscriptions(struct kmqtt_nl *nl,
				      const char *client_id,
				      const struct kmqtt_nl_bridge_topic *topics,
				      size_t count, bool queue_qos0)
{
	struct request r = { .name = "SET_BRIDGE_SUBSCRIPTIONS",
			     .parse = parse_nothing };
	struct nl_msg *msg;

	msg = new_acked_request(nl, KMQTT_CMD_SET_BRIDGE_SUBSCRIPTIONS,
				REQUEST_FIXED_SIZE +
				bridge_size(topics, count));
	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, (int)strlen(client_id),
		    client_id) ||
	    put_bridge(msg, topics, count) ||
	    (queue_qos0 && nla_put_u8(msg, KMQTT_A_BRIDGE_QUEUE_QOS0, 1)))
		return put_message_too_large(nl, msg, r.name);
	return run_request(nl, msg, &r);
}

static void auth_event(struct kmqtt_nl *nl, struct nlattr **tb)
{
	struct kmqtt_nl_auth ev = { 0 };

	if (!nl->auth_fn || !tb[KMQTT_A_CONN_ID] || !tb[KMQTT_A_AUTH_REASON])
		return;
	ev.conn_id = nla_get_u64(tb[KMQTT_A_CONN_ID]);
	get_client_id(tb[KMQTT_A_CLIENT_ID], ev.client_id);
	ev.reason = nla_get_u8(tb[KMQTT_A_AUTH_REASON]);
	if (tb[KMQTT_A_AUTH_DATA]) {
		ev.data = nla_data(tb[KMQTT_A_AUTH_DATA]);
		ev.data_len = (size_t)nla_len(tb[KMQTT_A_AUTH_DATA]);
	}
	nl->auth_fn(&ev, nl->auth_arg);
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gnlh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[KMQTT_A_MAX + 1];
	struct kmqtt_nl *nl = arg;
	struct kmqtt_nl_closed ev;

	if ((gnlh->cmd != KMQTT_CMD_CONN_CLOSED &&
	     gnlh->cmd != KMQTT_CMD_AUTH) ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, KMQTT_A_MAX, attr_policy))
		return NL_SKIP;
	if (gnlh->cmd == KMQTT_CMD_AUTH) {
		auth_event(nl, tb);
		return NL_OK;
	}
	memset(&ev, 0, sizeof(ev));
	if (tb[KMQTT_A_CONN_ID])
		ev.conn_id = nla_get_u64(tb[KMQTT_A_CONN_ID]);
	get_client_id(tb[KMQTT_A_CLIENT_ID], ev.client_id);
	ev.reason = tb[KMQTT_A_CLOSE_REASON] ?
		    nla_get_u32(tb[KMQTT_A_CLOSE_REASON]) : __KMQTT_CLOSE_MAX;
	nl->closed_fn(&ev, nl->closed_arg);
	return NL_OK;
}

void kmqtt_nl_on_auth(struct kmqtt_nl *nl, kmqtt_nl_auth_fn fn, void *arg)
{
	nl->auth_fn = fn;
	nl->auth_arg = arg;
}

int kmqtt_nl_subscribe(struct kmqtt_nl *nl, kmqtt_nl_closed_fn fn, void *arg)
{
	int group, err;

	group = genl_ctrl_resolve_grp(nl->sock, KMQTT_GENL_NAME,
				      KMQTT_MCGRP_EVENTS);
	if (group < 0) {
		set_libnl_error(nl, "resolving group " KMQTT_MCGRP_EVENTS,
				group);
		return -ENOENT;
	}
	nl->events = nl_socket_alloc();
	if (!nl->events) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		return -ENOMEM;
	}
	nl->closed_fn = fn;
	nl->closed_arg = arg;
	/* Events are not replies: they carry no sequence number of ours. */
	nl_socket_disable_seq_check(nl->events);
	nl_socket_modify_cb(nl->events, NL_CB_VALID, NL_CB_CUSTOM, event_cb, nl);
	err = genl_connect(nl->events);
	if (!err)
		err = nl_socket_set_nonblocking(nl->events);
	if (!err)
		err = nl_socket_set_buffer_size(nl->events, EVENTS_RCVBUF, 0);
	/*
	 * SO_RCVBUF is capped by net.core.rmem_max (208 KiB by default);
	 * SO_RCVBUFFORCE is not, for CAP_NET_ADMIN, which kmqttd has for
	 * every request.  Without it, the capped size stays.
	 */
	if (!err)
		setsockopt(nl_socket_get_fd(nl->events), SOL_SOCKET,
			   SO_RCVBUFFORCE, &(int){ EVENTS_RCVBUF },
			   sizeof(int));
	if (err < 0) {
		set_libnl_error(nl, "subscribing to " KMQTT_MCGRP_EVENTS, err);
		err = -EIO;
	} else if (setsockopt(nl_socket_get_fd(nl->events), SOL_NETLINK,
			      NETLINK_ADD_MEMBERSHIP, &group, sizeof(group))) {
		/* Not nl_socket_add_membership(): it loses the errno (EPERM). */
		err = -errno;
		snprintf(nl->error, sizeof(nl->error),
			 "subscribing to " KMQTT_MCGRP_EVENTS ": %s%s",
			 strerror(-err), err == -EPERM ?
			 " (CAP_NET_ADMIN is required)" : "");
	}
	if (err) {
		nl_socket_free(nl->events);
		nl->events = NULL;
	}
	return err;
}

int kmqtt_nl_events_fd(const struct kmqtt_nl *nl)
{
	return nl_socket_get_fd(nl->events);
}

int kmqtt_nl_events_read(struct kmqtt_nl *nl)
{
	struct nl_cb *cb = nl_socket_get_cb(nl->events);
	int n;

	/* Until the non-blocking socket has nothing left. */
	do {
		n = nl_recvmsgs_report(nl->events, cb);
	} while (n > 0);
	nl_cb_put(cb);
	if (n == 0 || n == -NLE_AGAIN)
		return 0;
	if (n == -NLE_NOMEM) {
		snprintf(nl->error, sizeof(nl->error),
			 "event socket overrun: some close events were lost");
		return -ENOBUFS;
	}
	set_libnl_error(nl, "reading events", n);
	return -EIO;
}
