// SPDX-License-Identifier: GPL-2.0
/*
 * The "kmqtt" generic netlink family (Documentation/netlink/kmqtt.yaml).
 * Every command needs CAP_NET_ADMIN in the caller's network namespace and
 * acts on that namespace's broker.
 */

#include <linux/build_bug.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/timekeeping.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <kmqtt/limits.h>
#include <kmqtt/mqtt.h>
#include <linux/kmqtt.h>

#include "ack_hold.h"
#include "acl.h"
#include "auth.h"
#include "bridge.h"
#include "broker.h"
#include "codec.h"
#include "compat.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "netlink.h"
#include "publish.h"
#include "retain.h"
#include "session.h"

static struct genl_family kmqtt_family;

/* Cleared before unregistering so a closing connection sends no event. */
static bool kmqtt_netlink_events;

/* GET_INFO and the dumps take no attribute: any is refused. */
static const struct nla_policy kmqtt_no_attrs_policy[KMQTT_A_MAX + 1] = {
	[0 ... KMQTT_A_MAX] = { .type = NLA_REJECT },
};

/* Beyond NLA_POLICY_RANGE(), whose bounds are s16; not const, as above. */
static struct netlink_range_validation kmqtt_topic_len_range = {
	.min = 1,
	.max = MQTT_MAX_TOPIC_LEN,
};

static struct netlink_range_validation kmqtt_sub_id_range = {
	.min = 1,
	.max = MQTT_SUBSCRIPTION_ID_MAX,
};

static const struct nla_policy kmqtt_attach_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_SOCK_FD] = { .type = NLA_U32 },
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_PROTO_LEVEL] = NLA_POLICY_RANGE(NLA_U8, MQTT_PROTO_V31,
						 MQTT_PROTO_V5),
	[KMQTT_A_KEEPALIVE] = { .type = NLA_U16 },
	[KMQTT_A_CLEAN_SESSION] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_WILL_TOPIC] = NLA_POLICY_FULL_RANGE(NLA_BINARY,
						     &kmqtt_topic_len_range),
	[KMQTT_A_WILL_PAYLOAD] = { .type = NLA_BINARY, .len = U16_MAX },
	[KMQTT_A_WILL_QOS] = NLA_POLICY_MAX(NLA_U8, 2),
	[KMQTT_A_WILL_RETAIN] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_PENDING] = { .type = NLA_BINARY, .len = KMQTT_PENDING_MAX },
	[KMQTT_A_ACL] = { .type = NLA_NESTED },
	[KMQTT_A_USERNAME] = { .type = NLA_BINARY, .len = KMQTT_USERNAME_MAX },
	[KMQTT_A_MOUNT_POINT] = NLA_POLICY_RANGE(NLA_BINARY, 1,
						 KMQTT_MOUNT_POINT_MAX),
	[KMQTT_A_SESSION_EXPIRY] = { .type = NLA_U32 },
	[KMQTT_A_RECEIVE_MAX] = NLA_POLICY_MIN(NLA_U16, 1),
	[KMQTT_A_MAX_PACKET_OUT] = NLA_POLICY_MIN(NLA_U32, 1),
	[KMQTT_A_CONNACK_PROPS] = { .type = NLA_BINARY,
				    .len = KMQTT_CONNACK_PROPS_MAX },
	[KMQTT_A_WILL_PROPS] = { .type = NLA_BINARY,
				 .len = U16_MAX },
	[KMQTT_A_AUTH_METHOD] = NLA_POLICY_RANGE(NLA_BINARY, 1,
						 KMQTT_AUTH_METHOD_MAX),
	[KMQTT_A_TOPIC_ALIAS_MAX] = { .type = NLA_U16 },
	[KMQTT_A_WILL_DELAY] = { .type = NLA_U32 },
	[KMQTT_A_BRIDGE] = { .type = NLA_NESTED },
	[KMQTT_A_PEER_BRIDGE] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_BRIDGE_QUEUE_QOS0] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_WEBSOCKET] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_WS_FRAME_LEFT] = { .type = NLA_U64 },
	[KMQTT_A_WS_MASK] = { .type = NLA_U32 },
	[KMQTT_A_WS_CONTINUED] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy kmqtt_bridge_topic_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_BRIDGE_DIRECTION] = NLA_POLICY_RANGE(NLA_U8, KMQTT_BRIDGE_IN,
						      KMQTT_BRIDGE_IN |
						      KMQTT_BRIDGE_OUT),
	[KMQTT_A_QOS] = NLA_POLICY_MAX(NLA_U8, 2),
	[KMQTT_A_BRIDGE_LOCAL] = NLA_POLICY_FULL_RANGE(NLA_BINARY,
						       &kmqtt_topic_len_range),
	[KMQTT_A_BRIDGE_REMOTE] = NLA_POLICY_FULL_RANGE(NLA_BINARY,
							&kmqtt_topic_len_range),
	[KMQTT_A_BRIDGE_LOCAL_PREFIX] = { .type = NLA_U16 },
	[KMQTT_A_BRIDGE_REMOTE_PREFIX] = { .type = NLA_U16 },
};

static const struct nla_policy kmqtt_acl_rule_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_FILTER] = { .type = NLA_BINARY, .len = MQTT_MAX_TOPIC_LEN },
	[KMQTT_A_ACL_ACCESS] = NLA_POLICY_RANGE(NLA_U8, KMQTT_ACL_READ,
						KMQTT_ACL_DENY),
};

static const struct nla_policy kmqtt_set_acl_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_ACL] = { .type = NLA_NESTED },
};

static const struct nla_policy kmqtt_client_id_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
};

static const struct nla_policy kmqtt_auth_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CONN_ID] = { .type = NLA_U64 },
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_AUTH_REASON] = { .type = NLA_U8 },
	[KMQTT_A_AUTH_DATA] = { .type = NLA_BINARY,
				.len = KMQTT_AUTH_DATA_MAX },
};

static const struct nla_policy kmqtt_set_retained_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_QOS] = NLA_POLICY_MAX(NLA_U8, 2),
	[KMQTT_A_MSG_DATA] = { .type = NLA_BINARY, .len = KMQTT_MSG_DATA_MAX },
	[KMQTT_A_MSG_EXPIRY] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy kmqtt_publish_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_QOS] = NLA_POLICY_MAX(NLA_U8, 2),
	[KMQTT_A_RETAIN] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_MSG_DATA] = { .type = NLA_BINARY, .len = KMQTT_MSG_DATA_MAX },
	[KMQTT_A_MSG_EXPIRY] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy kmqtt_ack_hold_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_HOLD_ACKS] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_ACK_SEQ] = { .type = NLA_U64 },
};

static const struct nla_policy kmqtt_set_session_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_SESSION_EXPIRY] = { .type = NLA_U32 },
	[KMQTT_A_OFFLINE_FOR] = { .type = NLA_U32 },
	[KMQTT_A_USERNAME] = { .type = NLA_BINARY, .len = KMQTT_USERNAME_MAX },
	[KMQTT_A_BRIDGE_LINK] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy kmqtt_set_subscription_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_FILTER] = { .type = NLA_BINARY, .len = MQTT_MAX_TOPIC_LEN },
	[KMQTT_A_SUB_OPTIONS] = { .type = NLA_U8 },
	[KMQTT_A_SUB_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &kmqtt_sub_id_range),
};

static const struct nla_policy kmqtt_set_bridge_subscriptions_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_BRIDGE] = { .type = NLA_NESTED },
	[KMQTT_A_BRIDGE_QUEUE_QOS0] = NLA_POLICY_MAX(NLA_U8, 1),
};

/* Past the s16 bounds of NLA_POLICY_RANGE(). */
static struct netlink_range_validation kmqtt_qos2_ids_range = {
	.min = 2,
	.max = KMQTT_QOS2_IDS_MAX * 2,
};

static const struct nla_policy kmqtt_set_session_qos2_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_QOS2_IDS] = NLA_POLICY_FULL_RANGE(NLA_BINARY,
						   &kmqtt_qos2_ids_range),
};

static const struct nla_policy kmqtt_sub_ids_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_SUB_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &kmqtt_sub_id_range),
};

static const struct nla_policy kmqtt_set_session_msg_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_CLIENT_ID] = NLA_POLICY_RANGE(NLA_BINARY, 1,
					       KMQTT_CLIENT_ID_MAX),
	[KMQTT_A_QOS] = NLA_POLICY_MAX(NLA_U8, 2),
	[KMQTT_A_RETAIN] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_MSG_DATA] = { .type = NLA_BINARY, .len = KMQTT_MSG_DATA_MAX },
	[KMQTT_A_MSG_EXPIRY] = NLA_POLICY_MIN(NLA_U32, 1),
	[KMQTT_A_PACKET_ID] = NLA_POLICY_MIN(NLA_U16, 1),
	[KMQTT_A_RELEASED] = NLA_POLICY_MAX(NLA_U8, 1),
	[KMQTT_A_SUB_IDS] = NLA_POLICY_NESTED(kmqtt_sub_ids_policy),
	[KMQTT_A_WILL_DELAY] = { .type = NLA_U32 },
};

/*
 * Each limit's range, from its row of KMQTT_LIMITS; not const, which older
 * kernels' nla_policy cannot point to.
 */
#define KMQTT_LIMIT_RANGE(id, field, bits, lo, hi, def)			\
	[KMQTT_LIMIT_##id] = { .min = (lo), .max = (hi) },
static struct netlink_range_validation kmqtt_limit_ranges[KMQTT_LIMIT_MAX + 1] = {
	KMQTT_LIMITS(KMQTT_LIMIT_RANGE)
};

#define KMQTT_LIMIT_POLICY(id, field, bits, lo, hi, def)		\
	[KMQTT_LIMIT_##id] = NLA_POLICY_FULL_RANGE(NLA_U##bits,		\
				&kmqtt_limit_ranges[KMQTT_LIMIT_##id]),
static const struct nla_policy kmqtt_limits_policy[KMQTT_LIMIT_MAX + 1] = {
	KMQTT_LIMITS(KMQTT_LIMIT_POLICY)
};

static const struct nla_policy kmqtt_set_limits_policy[KMQTT_A_MAX + 1] = {
	[KMQTT_A_LIMITS] = NLA_POLICY_NESTED(kmqtt_limits_policy),
};

/* Where each limit is in struct kmqtt_limits. */
#define KMQTT_LIMIT_OFFSET(id, field, bits, lo, hi, def)		\
	[KMQTT_LIMIT_##id] = offsetof(struct kmqtt_limits, field),
static const u16 kmqtt_limit_offsets[KMQTT_LIMIT_MAX + 1] = {
	KMQTT_LIMITS(KMQTT_LIMIT_OFFSET)
};

/* Every attribute after KMQTT_LIMIT_PAD has its row. */
#define KMQTT_LIMIT_ROW(id, field, bits, lo, hi, def)	KMQTT_LIMIT_ROW_##id,
enum { KMQTT_LIMITS(KMQTT_LIMIT_ROW) KMQTT_LIMIT_ROWS };

static u64 *kmqtt_limit(struct kmqtt_limits *l, int id)
{
	BUILD_BUG_ON(KMQTT_LIMIT_PAD + KMQTT_LIMIT_ROWS != KMQTT_LIMIT_MAX);
	return (u64 *)((u8 *)l + kmqtt_limit_offsets[id]);
}

static void kmqtt_limit_write(struct kmqtt_limits *l, int id,
			      const struct nlattr *attr)
{
	u64 value;

	switch (kmqtt_limits_policy[id].type) {
	case NLA_U8:
		value = nla_get_u8(attr);
		break;
	case NLA_U32:
		value = nla_get_u32(attr);
		break;
	default:
		value = nla_get_u64(attr);
		break;
	}
	WRITE_ONCE(*kmqtt_limit(l, id), value);
}

/*
 * An agent built against another ABI version gets a clear refusal rather
 * than attributes it would misread.
 */
static int kmqtt_netlink_check_version(const struct genlmsghdr *hdr,
				       struct netlink_ext_ack *extack)
{
	if (hdr->version == KMQTT_GENL_VERSION)
		return 0;
	NL_SET_ERR_MSG(extack,
		       "kmqtt genl version mismatch: this module speaks version "
		       __stringify(KMQTT_GENL_VERSION));
	return -EPROTONOSUPPORT;
}

static int kmqtt_netlink_parse_will(struct genl_info *info,
				    struct kmqtt_conn_params *params)
{
	static const int will[] = {
		KMQTT_A_WILL_TOPIC, KMQTT_A_WILL_PAYLOAD, KMQTT_A_WILL_QOS,
		KMQTT_A_WILL_RETAIN,
	};
	struct nlattr **attrs = info->attrs;
	struct nlattr *topic = attrs[KMQTT_A_WILL_TOPIC];
	int i;

	if (!topic && !attrs[KMQTT_A_WILL_PAYLOAD] &&
	    !attrs[KMQTT_A_WILL_QOS] && !attrs[KMQTT_A_WILL_RETAIN])
		return 0;
	for (i = 0; i < ARRAY_SIZE(will); i++)
		if (GENL_REQ_ATTR_CHECK(info, will[i]))
			return -EINVAL;
	if (!kmqtt_topic_name_valid(nla_data(topic), nla_len(topic))) {
		NL_SET_ERR_MSG_ATTR(info->extack, topic,
				    "will topic is not a valid topic name");
		return -EINVAL;
	}
	params->will_topic = nla_data(topic);
	params->will_topic_len = nla_len(topic);
	params->will_payload = nla_data(attrs[KMQTT_A_WILL_PAYLOAD]);
	params->will_payload_len = nla_len(attrs[KMQTT_A_WILL_PAYLOAD]);
	params->will_qos = nla_get_u8(attrs[KMQTT_A_WILL_QOS]);
	params->will_retain = nla_get_u8(attrs[KMQTT_A_WILL_RETAIN]);
	return 0;
}

/*
 * What only a 5.0 client has.  Property blocks are parsed here as the
 * client's would be (the agent built them, but they go out as they are).
 */
static int kmqtt_netlink_parse_v5(struct genl_info *info,
				  struct kmqtt_conn_params *params)
{
	static const int v5_only[] = {
		KMQTT_A_SESSION_EXPIRY, KMQTT_A_RECEIVE_MAX,
		KMQTT_A_MAX_PACKET_OUT, KMQTT_A_CONNACK_PROPS,
		KMQTT_A_WILL_PROPS, KMQTT_A_TOPIC_ALIAS_MAX,
		KMQTT_A_WILL_DELAY, KMQTT_A_AUTH_METHOD,
	};
	struct nlattr **attrs = info->attrs;
	struct nlattr *props;
	int i;

	params->session_expiry = params->clean_session ? 0 :
				 MQTT_SESSION_EXPIRY_NEVER;
	params->receive_max = U16_MAX;
	if (params->proto_level != MQTT_PROTO_V5) {
		for (i = 0; i < ARRAY_SIZE(v5_only); i++) {
			if (attrs[v5_only[i]]) {
				NL_SET_ERR_MSG_ATTR(info->extack,
						    attrs[v5_only[i]],
						    "MQTT 5.0 only");
				return -EINVAL;
			}
		}
		return 0;
	}
	if (attrs[KMQTT_A_SESSION_EXPIRY])
		params->session_expiry =
			nla_get_u32(attrs[KMQTT_A_SESSION_EXPIRY]);
	if (attrs[KMQTT_A_RECEIVE_MAX])
		params->receive_max = nla_get_u16(attrs[KMQTT_A_RECEIVE_MAX]);
	if (attrs[KMQTT_A_MAX_PACKET_OUT])
		params->max_packet_out =
			nla_get_u32(attrs[KMQTT_A_MAX_PACKET_OUT]);
	if (attrs[KMQTT_A_TOPIC_ALIAS_MAX])
		params->topic_alias_max =
			nla_get_u16(attrs[KMQTT_A_TOPIC_ALIAS_MAX]);
	if (attrs[KMQTT_A_WILL_DELAY]) {
		if (!params->will_topic) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[KMQTT_A_WILL_DELAY],
					    "will delay without a will");
			return -EINVAL;
		}
		params->will_delay = nla_get_u32(attrs[KMQTT_A_WILL_DELAY]);
	}
	if (attrs[KMQTT_A_AUTH_METHOD]) {
		params->auth_method = nla_data(attrs[KMQTT_A_AUTH_METHOD]);
		params->auth_method_len = nla_len(attrs[KMQTT_A_AUTH_METHOD]);
	}
	props = attrs[KMQTT_A_CONNACK_PROPS];
	if (props) {
		struct kmqtt_props parsed;

		if (kmqtt_props_parse_block(nla_data(props), nla_len(props),
					    KMQTT_PROPS_CONNACK, &parsed)) {
			NL_SET_ERR_MSG_ATTR(info->extack, props,
					    "not the properties of a CONNACK");
			return -EINVAL;
		}
		params->connack_props = nla_data(props);
		params->connack_props_len = nla_len(props);
	}
	props = attrs[KMQTT_A_WILL_PROPS];
	if (props) {
		struct kmqtt_props *parsed = &params->will_props;

		if (!params->will_topic) {
			NL_SET_ERR_MSG_ATTR(info->extack, props,
					    "will properties without a will");
			return -EINVAL;
		}
		if (kmqtt_props_parse_block(nla_data(props), nla_len(props),
					    KMQTT_PROPS_WILL, parsed) ||
		    kmqtt_props_has(parsed, MQTT_PROP_WILL_DELAY)) {
			NL_SET_ERR_MSG_ATTR(info->extack, props,
					    "not the properties of a will PUBLISH");
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Build rules from a KMQTT_A_ACL nest of KMQTT_A_ACL_RULE entries: one pass
 * to size, one to fill.  An empty nest is a valid "deny everything".
 */
static int kmqtt_netlink_parse_acl(const struct nlattr *nest,
				   struct netlink_ext_ack *extack,
				   struct kmqtt_acl **out)
{
	struct nlattr *tb[KMQTT_A_MAX + 1];
	size_t bytes = 0;
	struct kmqtt_acl *acl;
	struct nlattr *attr;
	u32 count = 0;
	int rem, ret;

	nla_for_each_nested(attr, nest, rem) {
		if (nla_type(attr) != KMQTT_A_ACL_RULE) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "not an ACL rule");
			return -EINVAL;
		}
		ret = nla_parse_nested(tb, KMQTT_A_MAX, attr,
				       kmqtt_acl_rule_policy, extack);
		if (ret)
			return ret;
		if (!tb[KMQTT_A_FILTER] || !tb[KMQTT_A_ACL_ACCESS]) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "ACL rule needs a filter and access");
			return -EINVAL;
		}
		count++;
		bytes += nla_len(tb[KMQTT_A_FILTER]);
	}
	if (count > KMQTT_ACL_MAX_RULES) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "too many ACL rules");
		return -E2BIG;
	}
	acl = kmqtt_acl_alloc(count, bytes);
	if (!acl)
		return -ENOMEM;
	nla_for_each_nested(attr, nest, rem) {
		nla_parse_nested(tb, KMQTT_A_MAX, attr, kmqtt_acl_rule_policy,
				 NULL);
		ret = kmqtt_acl_add(acl, nla_data(tb[KMQTT_A_FILTER]),
				    nla_len(tb[KMQTT_A_FILTER]),
				    nla_get_u8(tb[KMQTT_A_ACL_ACCESS]));
		if (ret) {
			NL_SET_ERR_MSG_ATTR(extack, attr, "bad ACL rule");
			kmqtt_acl_free(acl);
			return ret;
		}
	}
	*out = acl;
	return 0;
}

/* One KMQTT_A_BRIDGE_TOPIC of a KMQTT_A_BRIDGE nest, all of it there. */
static int kmqtt_netlink_bridge_line(const struct nlattr *attr,
				     struct netlink_ext_ack *extack,
				     struct kmqtt_bridge_topic *line)
{
	static const int required[] = {
		KMQTT_A_BRIDGE_DIRECTION, KMQTT_A_QOS, KMQTT_A_BRIDGE_LOCAL,
		KMQTT_A_BRIDGE_REMOTE, KMQTT_A_BRIDGE_LOCAL_PREFIX,
		KMQTT_A_BRIDGE_REMOTE_PREFIX,
	};
	struct nlattr *tb[KMQTT_A_MAX + 1];
	int i, ret;

	if (nla_type(attr) != KMQTT_A_BRIDGE_TOPIC) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "not a bridge topic line");
		return -EINVAL;
	}
	ret = nla_parse_nested(tb, KMQTT_A_MAX, attr,
			       kmqtt_bridge_topic_policy, extack);
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (!tb[required[i]]) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "bridge topic line incomplete");
			return -EINVAL;
		}
	}
	*line = (struct kmqtt_bridge_topic){
		.local = nla_data(tb[KMQTT_A_BRIDGE_LOCAL]),
		.local_len = nla_len(tb[KMQTT_A_BRIDGE_LOCAL]),
		.local_prefix_len = nla_get_u16(tb[KMQTT_A_BRIDGE_LOCAL_PREFIX]),
		.remote = nla_data(tb[KMQTT_A_BRIDGE_REMOTE]),
		.remote_len = nla_len(tb[KMQTT_A_BRIDGE_REMOTE]),
		.remote_prefix_len =
			nla_get_u16(tb[KMQTT_A_BRIDGE_REMOTE_PREFIX]),
		.direction = nla_get_u8(tb[KMQTT_A_BRIDGE_DIRECTION]),
		.qos = nla_get_u8(tb[KMQTT_A_QOS]),
	};
	return 0;
}

/* A bridge link's lines from KMQTT_A_BRIDGE: one pass to size, one to fill. */
static int kmqtt_netlink_parse_bridge(const struct nlattr *nest,
				      struct netlink_ext_ack *extack,
				      struct kmqtt_bridge **out)
{
	struct kmqtt_bridge_topic line;
	struct kmqtt_bridge *bridge;
	struct nlattr *attr;
	size_t bytes = 0;
	u32 count = 0;
	int rem, ret;

	nla_for_each_nested(attr, nest, rem) {
		ret = kmqtt_netlink_bridge_line(attr, extack, &line);
		if (ret)
			return ret;
		count++;
		bytes += line.local_len + line.remote_len;
	}
	if (!count || count > KMQTT_BRIDGE_TOPICS_MAX) {
		NL_SET_ERR_MSG_ATTR(extack, nest,
				    "no bridge topic line, or too many");
		return -EINVAL;
	}
	bridge = kmqtt_bridge_alloc(count, bytes);
	if (!bridge)
		return -ENOMEM;
	nla_for_each_nested(attr, nest, rem) {
		/* Checked in the first pass. */
		kmqtt_netlink_bridge_line(attr, NULL, &line);
		ret = kmqtt_bridge_add(bridge, &line);
		if (ret) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "bad bridge topic line: filters, prefixes (no wildcard, one pattern after both)");
			kmqtt_bridge_free(bridge);
			return ret;
		}
	}
	*out = bridge;
	return 0;
}

static int kmqtt_netlink_set_acl(struct sk_buff *skb, struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr *id = info->attrs[KMQTT_A_CLIENT_ID];
	struct kmqtt_acl *acl = NULL;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID))
		return -EINVAL;
	if (info->attrs[KMQTT_A_ACL]) {
		ret = kmqtt_netlink_parse_acl(info->attrs[KMQTT_A_ACL],
					      info->extack, &acl);
		if (ret)
			return ret;
	}
	ret = kmqtt_session_set_acl(broker, nla_data(id), nla_len(id), acl);
	if (ret)
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no such session");
	return ret;
}

static int kmqtt_netlink_disconnect(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr *id = info->attrs[KMQTT_A_CLIENT_ID];
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID))
		return -EINVAL;
	ret = kmqtt_session_disconnect(broker, nla_data(id), nla_len(id));
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no such session");
	else if (ret)
		NL_SET_ERR_MSG_ATTR(info->extack, id,
				    "the session has no connection");
	return ret;
}

static int kmqtt_netlink_auth(struct sk_buff *skb, struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr *id = info->attrs[KMQTT_A_CLIENT_ID];
	struct nlattr *data = info->attrs[KMQTT_A_AUTH_DATA];
	struct kmqtt_conn *conn;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CONN_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_AUTH_REASON))
		return -EINVAL;
	conn = kmqtt_session_conn_get(broker, nla_data(id), nla_len(id));
	if (IS_ERR(conn) ||
	    conn->id != nla_get_u64(info->attrs[KMQTT_A_CONN_ID])) {
		if (!IS_ERR(conn))
			kmqtt_conn_put(conn);
		NL_SET_ERR_MSG(info->extack, "no such connection");
		return -ENOENT;
	}
	ret = kmqtt_auth_answer(conn,
				nla_get_u8(info->attrs[KMQTT_A_AUTH_REASON]),
				data ? nla_data(data) : NULL,
				data ? nla_len(data) : 0);
	kmqtt_conn_put(conn);
	if (ret)
		NL_SET_ERR_MSG(info->extack,
			       "not waiting for an answer, or not one it takes");
	return ret;
}

/*
 * A mount point is a topic name that no filter completes into "$share/":
 * the filter would be taken for a shared one, in any mount point's group.
 */
static bool kmqtt_netlink_mount_valid(const u8 *mount, u32 len)
{
	static const char share[] = "$share/";

	if (!memcmp(mount, share, min_t(u32, len, sizeof(share) - 1)))
		return false;
	return kmqtt_topic_name_valid(mount, len);
}

/* Where the agent left the client's WebSocket frames. */
static int kmqtt_netlink_parse_websocket(struct genl_info *info,
					 struct kmqtt_conn_params *params)
{
	struct nlattr **attrs = info->attrs;
	struct nlattr *left = attrs[KMQTT_A_WS_FRAME_LEFT];

	params->websocket = attrs[KMQTT_A_WEBSOCKET] &&
			    nla_get_u8(attrs[KMQTT_A_WEBSOCKET]);
	if (!params->websocket) {
		if (left || attrs[KMQTT_A_WS_MASK] ||
		    attrs[KMQTT_A_WS_CONTINUED]) {
			NL_SET_ERR_MSG(info->extack,
				       "WebSocket frame state without WebSocket");
			return -EINVAL;
		}
		return 0;
	}
	if (attrs[KMQTT_A_BRIDGE]) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KMQTT_A_WEBSOCKET],
				    "a bridge link is not over WebSocket");
		return -EINVAL;
	}
	if (left && nla_get_u64(left)) {
		/* RFC 6455 5.2: a frame's length has its top bit clear. */
		if (nla_get_u64(left) >> 63 || !attrs[KMQTT_A_WS_MASK]) {
			NL_SET_ERR_MSG_ATTR(info->extack, left,
					    "bad frame length, or no mask");
			return -EINVAL;
		}
		params->ws.frame_left = nla_get_u64(left);
		params->ws.mask = nla_get_u32(attrs[KMQTT_A_WS_MASK]);
	}
	params->ws.continued = attrs[KMQTT_A_WS_CONTINUED] &&
			       nla_get_u8(attrs[KMQTT_A_WS_CONTINUED]);
	return 0;
}

static int kmqtt_netlink_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	static const int required[] = {
		KMQTT_A_SOCK_FD, KMQTT_A_CLIENT_ID, KMQTT_A_PROTO_LEVEL,
		KMQTT_A_KEEPALIVE, KMQTT_A_CLEAN_SESSION,
	};
	struct kmqtt_conn_params params = {};
	struct nlattr **attrs = info->attrs;
	struct sk_buff *reply;
	bool present;
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
	ret = kmqtt_netlink_parse_will(info, &params);
	if (!ret)
		ret = kmqtt_netlink_parse_v5(info, &params);
	if (ret)
		return ret;
	if (attrs[KMQTT_A_PENDING]) {
		params.pending = nla_data(attrs[KMQTT_A_PENDING]);
		params.pending_len = nla_len(attrs[KMQTT_A_PENDING]);
	}
	if (attrs[KMQTT_A_USERNAME]) {
		params.username = nla_data(attrs[KMQTT_A_USERNAME]);
		params.username_len = nla_len(attrs[KMQTT_A_USERNAME]);
	}
	if (attrs[KMQTT_A_MOUNT_POINT]) {
		struct nlattr *mount = attrs[KMQTT_A_MOUNT_POINT];

		/* Prefixed to topic names: one itself, but for its length. */
		if (!kmqtt_netlink_mount_valid(nla_data(mount),
					       nla_len(mount))) {
			NL_SET_ERR_MSG_ATTR(info->extack, mount,
					    "mount point is not a topic prefix");
			return -EINVAL;
		}
		params.mount_point = nla_data(mount);
		params.mount_point_len = nla_len(mount);
	}
	ret = kmqtt_netlink_parse_websocket(info, &params);
	if (ret)
		return ret;
	if (attrs[KMQTT_A_BRIDGE_QUEUE_QOS0] && !attrs[KMQTT_A_BRIDGE]) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    attrs[KMQTT_A_BRIDGE_QUEUE_QOS0],
				    "queueing QoS 0 is a bridge link's option");
		return -EINVAL;
	}

	reply = genlmsg_new(nla_total_size_64bit(sizeof(u64)) +
			    nla_total_size(sizeof(u8)), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	params.peer_bridge = attrs[KMQTT_A_PEER_BRIDGE] &&
			     nla_get_u8(attrs[KMQTT_A_PEER_BRIDGE]);
	if (attrs[KMQTT_A_BRIDGE] &&
	    (params.proto_level == MQTT_PROTO_V5 || params.will_topic ||
	     params.mount_point || params.peer_bridge)) {
		/* The module is the client: 3.1.x, the will the remote's. */
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KMQTT_A_BRIDGE],
				    "a bridge link is MQTT 3.1.x, without will, mount point or peer-bridge");
		nlmsg_free(reply);
		return -EINVAL;
	}
	if (attrs[KMQTT_A_BRIDGE]) {
		ret = kmqtt_netlink_parse_bridge(attrs[KMQTT_A_BRIDGE],
						 info->extack, &params.bridge);
		if (ret) {
			nlmsg_free(reply);
			return ret;
		}
		params.bridge->queue_qos0 =
			attrs[KMQTT_A_BRIDGE_QUEUE_QOS0] &&
			nla_get_u8(attrs[KMQTT_A_BRIDGE_QUEUE_QOS0]);
	}
	if (attrs[KMQTT_A_ACL]) {
		ret = kmqtt_netlink_parse_acl(attrs[KMQTT_A_ACL], info->extack,
					      &params.acl);
		if (ret) {
			kmqtt_bridge_free(params.bridge);
			nlmsg_free(reply);
			return ret;
		}
	}
	/* From here on the rules belong to the connection, or are freed. */
	ret = kmqtt_conn_attach(broker, &params, &conn_id, &present,
				info->extack);
	if (ret) {
		nlmsg_free(reply);
		return ret;
	}
	hdr = genlmsg_put_reply(reply, info, &kmqtt_family, 0,
				KMQTT_CMD_ATTACH);
	if (!hdr ||
	    nla_put_u64_64bit(reply, KMQTT_A_CONN_ID, conn_id, KMQTT_A_PAD) ||
	    nla_put_u8(reply, KMQTT_A_SESSION_PRESENT, present)) {
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
	const struct {
		int id;
		u64 value;
	} stats[] = {
		{ KMQTT_STAT_MSGS_IN, READ_ONCE(c->msgs_in) },
		{ KMQTT_STAT_MSGS_OUT, READ_ONCE(c->msgs_out) },
		{ KMQTT_STAT_MSGS_DROPPED, READ_ONCE(c->msgs_dropped) },
		{ KMQTT_STAT_BYTES_IN, READ_ONCE(c->bytes_in) },
		{ KMQTT_STAT_BYTES_OUT, READ_ONCE(c->bytes_out) },
		{ KMQTT_STAT_RX_RUNS, READ_ONCE(c->rx_runs) },
		{ KMQTT_STAT_RX_READS, READ_ONCE(c->rx_reads) },
		{ KMQTT_STAT_TX_RUNS, READ_ONCE(c->tx_runs) },
		{ KMQTT_STAT_TX_WRITES, READ_ONCE(c->tx_writes) },
		{ KMQTT_STAT_TX_COPIED, READ_ONCE(c->tx_copied) },
		{ KMQTT_STAT_RX_REUSED, READ_ONCE(c->rx_reused) },
		{ KMQTT_STAT_RX_MATCH_KEPT, READ_ONCE(c->rx_match_kept) },
		{ KMQTT_STAT_TX_ZEROCOPY, READ_ONCE(c->tx_zerocopy) },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(stats); i++)
		if (nla_put_u64_64bit(skb, stats[i].id, stats[i].value,
				      KMQTT_STAT_PAD))
			return -EMSGSIZE;
	return 0;
}

static int kmqtt_netlink_put_u64s(struct sk_buff *skb, const u64 *values,
				  int first, int count)
{
	int i;

	for (i = 0; i < count; i++)
		if (nla_put_u64_64bit(skb, first + i, values[i],
				      KMQTT_STAT_PAD))
			return -EMSGSIZE;
	return 0;
}

static int kmqtt_netlink_put_totals(struct sk_buff *skb,
				    struct kmqtt_broker *broker)
{
	u64 totals[KMQTT_STAT_MAX + 1] = {};
	struct kmqtt_counters sum = {};
	struct kmqtt_session *session;
	struct kmqtt_conn *conn;
	struct list_head *pos;
	struct nlattr *nest;
	int i;

	/* enum kmqtt_drop in the order of its stats */
	BUILD_BUG_ON(KMQTT_STAT_DROPPED_QUEUE_FULL + KMQTT_DROP_NO_MEMORY !=
		     KMQTT_STAT_DROPPED_NO_MEMORY);
	BUILD_BUG_ON(KMQTT_STAT_DROPPED_QUEUE_FULL + KMQTT_DROP_CLOSING !=
		     KMQTT_STAT_DROPPED_CLOSING);
	BUILD_BUG_ON(KMQTT_STAT_DROPPED_QUEUE_FULL + KMQTT_DROP_FANOUT !=
		     KMQTT_STAT_DROPPED_FANOUT);
	BUILD_BUG_ON(KMQTT_STAT_DROPPED_QUEUE_FULL + KMQTT_DROP_DENIED !=
		     KMQTT_STAT_DROPPED_DENIED);
	BUILD_BUG_ON(KMQTT_STAT_DROPPED_QUEUE_FULL + KMQTT_DROP_TOO_LARGE !=
		     KMQTT_STAT_DROPPED_TOO_LARGE);
	BUILD_BUG_ON(KMQTT_STAT_DROPPED_QUEUE_FULL + KMQTT_DROP_EXPIRED !=
		     KMQTT_STAT_DROPPED_EXPIRED);

	spin_lock(&broker->conns_lock);
	sum = broker->closed;
	totals[KMQTT_STAT_CONNECTIONS] = broker->conns_open;
	totals[KMQTT_STAT_CONNECTIONS_TOTAL] = broker->conns_total;
	totals[KMQTT_STAT_CONNECTIONS_REFUSED] = broker->conns_refused;
	totals[KMQTT_STAT_PROTOCOL_ERRORS] = broker->protocol_errors;
	list_for_each_entry(conn, &broker->conns, node)
		kmqtt_counters_add(&sum, &conn->counters);
	spin_unlock(&broker->conns_lock);
	totals[KMQTT_STAT_MSGS_IN] = sum.msgs_in;
	totals[KMQTT_STAT_MSGS_OUT] = sum.msgs_out;
	for (i = 0; i < KMQTT_DROP_COUNT; i++) {
		u64 n = atomic64_read(&broker->dropped[i]);

		totals[KMQTT_STAT_DROPPED_QUEUE_FULL + i] = n;
		totals[KMQTT_STAT_MSGS_DROPPED] += n;
	}
	totals[KMQTT_STAT_BYTES_IN] = sum.bytes_in;
	totals[KMQTT_STAT_BYTES_OUT] = sum.bytes_out;
	totals[KMQTT_STAT_RX_RUNS] = sum.rx_runs;
	totals[KMQTT_STAT_RX_READS] = sum.rx_reads;
	totals[KMQTT_STAT_TX_RUNS] = sum.tx_runs;
	totals[KMQTT_STAT_TX_WRITES] = sum.tx_writes;
	totals[KMQTT_STAT_TX_COPIED] = sum.tx_copied;
	totals[KMQTT_STAT_RX_REUSED] = sum.rx_reused;
	totals[KMQTT_STAT_RX_MATCH_KEPT] = sum.rx_match_kept;
	totals[KMQTT_STAT_TX_ZEROCOPY] = sum.tx_zerocopy;

	mutex_lock(&broker->sessions_lock);
	totals[KMQTT_STAT_SESSIONS] = broker->sessions_count;
	totals[KMQTT_STAT_SESSIONS_EXPIRED] = broker->sessions_expired;
	list_for_each_entry(session, &broker->sessions, node) {
		totals[KMQTT_STAT_INFLIGHT] += READ_ONCE(session->n_inflight);
		totals[KMQTT_STAT_QUEUED] += READ_ONCE(session->n_queued);
		totals[KMQTT_STAT_QUEUED_BYTES] +=
			READ_ONCE(session->queued_bytes);
	}
	mutex_unlock(&broker->sessions_lock);

	mutex_lock(&broker->topics_lock);
	totals[KMQTT_STAT_SUBSCRIPTIONS] = broker->subscriptions;
	mutex_unlock(&broker->topics_lock);
	totals[KMQTT_STAT_RETAINED] = READ_ONCE(broker->retained.count);
	totals[KMQTT_STAT_RETAINED_BYTES] = READ_ONCE(broker->retained.bytes);
	totals[KMQTT_STAT_MEMORY] = percpu_counter_sum_positive(&broker->memory);
	totals[KMQTT_STAT_ACL_DENIED] = atomic64_read(&broker->acl_denied);
	spin_lock(&broker->ack_lock);
	totals[KMQTT_STAT_ACKS_HELD] = broker->acks_held;
	spin_unlock(&broker->ack_lock);
	spin_lock_bh(&broker->paused_lock);
	list_for_each(pos, &broker->paused)
		totals[KMQTT_STAT_PUBLISHERS_PAUSED]++;
	spin_unlock_bh(&broker->paused_lock);

	nest = nla_nest_start(skb, KMQTT_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (kmqtt_netlink_put_u64s(skb, totals + KMQTT_STAT_CONNECTIONS,
				   KMQTT_STAT_CONNECTIONS,
				   KMQTT_STAT_MAX - KMQTT_STAT_CONNECTIONS + 1)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int kmqtt_netlink_put_limits(struct sk_buff *skb,
				    struct kmqtt_limits *l)
{
	struct nlattr *nest = nla_nest_start(skb, KMQTT_A_LIMITS);
	int id, ret = 0;

	if (!nest)
		return -EMSGSIZE;
	for (id = KMQTT_LIMIT_PAD + 1; id <= KMQTT_LIMIT_MAX && !ret; id++) {
		u64 value = READ_ONCE(*kmqtt_limit(l, id));

		switch (kmqtt_limits_policy[id].type) {
		case NLA_U8:
			ret = nla_put_u8(skb, id, value);
			break;
		case NLA_U32:
			ret = nla_put_u32(skb, id, value);
			break;
		default:
			ret = nla_put_u64_64bit(skb, id, value,
						KMQTT_LIMIT_PAD);
			break;
		}
	}
	if (ret) {
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
	    nla_put_u64_64bit(reply, KMQTT_A_INSTANCE, broker->instance,
			      KMQTT_A_PAD) ||
	    kmqtt_netlink_put_totals(reply, broker) ||
	    kmqtt_netlink_put_limits(reply, &broker->limits)) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

static int kmqtt_netlink_ack_hold(struct sk_buff *skb, struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr *saved = info->attrs[KMQTT_A_ACK_SEQ];
	struct nlattr *hold = info->attrs[KMQTT_A_HOLD_ACKS];
	struct sk_buff *reply;
	bool holding;
	void *hdr;
	u64 seq;
	int ret;

	reply = genlmsg_new(nla_total_size(sizeof(u8)) +
			    nla_total_size_64bit(sizeof(u64)), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	ret = kmqtt_ack_hold_set(broker, hold ? nla_get_u8(hold) : -1,
				 saved ? nla_get_u64(saved) : 0, &seq,
				 &holding);
	if (ret) {
		NL_SET_ERR_MSG_ATTR(info->extack, saved,
				    "past the last ack held");
		nlmsg_free(reply);
		return ret;
	}
	hdr = genlmsg_put_reply(reply, info, &kmqtt_family, 0,
				KMQTT_CMD_ACK_HOLD);
	if (!hdr || nla_put_u8(reply, KMQTT_A_HOLD_ACKS, holding) ||
	    nla_put_u64_64bit(reply, KMQTT_A_ACK_SEQ, seq, KMQTT_A_PAD)) {
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
	    nla_put_u8(skb, KMQTT_A_CLEAN_SESSION, conn->clean_session) ||
	    nla_put_u8(skb, KMQTT_A_TLS, conn->ktls) ||
	    (conn->bridge && nla_put_u8(skb, KMQTT_A_BRIDGE_LINK, 1)) ||
	    (conn->ws && nla_put_u8(skb, KMQTT_A_WEBSOCKET, 1)))
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
		/* Still attaching: it has no session to show yet. */
		if (conn->id <= last || !smp_load_acquire(&conn->ready))
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

/* The policy checks every value first: a refused request changes nothing. */
static int kmqtt_netlink_set_limits(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr *tb[KMQTT_LIMIT_MAX + 1];
	int id, ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_LIMITS))
		return -EINVAL;
	ret = nla_parse_nested(tb, KMQTT_LIMIT_MAX, info->attrs[KMQTT_A_LIMITS],
			       kmqtt_limits_policy, info->extack);
	if (ret)
		return ret;

	mutex_lock(&broker->sessions_lock);
	for (id = KMQTT_LIMIT_PAD + 1; id <= KMQTT_LIMIT_MAX; id++)
		if (tb[id])
			kmqtt_limit_write(&broker->limits, id, tb[id]);
	if (tb[KMQTT_LIMIT_SESSION_EXPIRY])
		kmqtt_session_expiry_changed(broker);
	mutex_unlock(&broker->sessions_lock);
	/* A larger memory limit may let paused publishers go on. */
	if (tb[KMQTT_LIMIT_MEMORY])
		kmqtt_broker_resume_paused(broker);
	return 0;
}

/*
 * A session's GET_SESSION message; its connection, when online, stays
 * bound while the caller holds sessions_lock.
 */
static int kmqtt_netlink_fill_session(struct sk_buff *skb,
				      const struct kmqtt_session *session,
				      u32 portid, u32 seq, int flags)
{
	struct kmqtt_conn *conn = rcu_dereference_protected(session->conn,
			lockdep_is_held(&session->broker->sessions_lock));
	u64 stats[] = {
		READ_ONCE(session->n_subscriptions),
		READ_ONCE(session->msgs_dropped),
		READ_ONCE(session->n_inflight),
		READ_ONCE(session->n_queued),
		READ_ONCE(session->queued_bytes),
		/* The last two are its connection's, sent when online. */
		conn ? READ_ONCE(conn->counters.msgs_in) : 0,
		conn ? READ_ONCE(conn->counters.msgs_out) : 0,
	};
	static const int stat_ids[] = {
		KMQTT_STAT_SUBSCRIPTIONS, KMQTT_STAT_MSGS_DROPPED,
		KMQTT_STAT_INFLIGHT, KMQTT_STAT_QUEUED,
		KMQTT_STAT_QUEUED_BYTES, KMQTT_STAT_MSGS_IN,
		KMQTT_STAT_MSGS_OUT,
	};
	int i, n_stats = ARRAY_SIZE(stats) - (conn ? 0 : 2);
	struct nlattr *nest;
	void *hdr;

	BUILD_BUG_ON(ARRAY_SIZE(stats) != ARRAY_SIZE(stat_ids));
	hdr = genlmsg_put(skb, portid, seq, &kmqtt_family, flags,
			  KMQTT_CMD_GET_SESSION);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put(skb, KMQTT_A_CLIENT_ID, session->client_id_len,
		    session->client_id) ||
	    nla_put_u8(skb, KMQTT_A_CLEAN_SESSION, session->clean) ||
	    nla_put_u8(skb, KMQTT_A_ONLINE, !!conn) ||
	    (conn && nla_put_u64_64bit(skb, KMQTT_A_CONN_ID, conn->id,
				       KMQTT_A_PAD)) ||
	    (session->username &&
	     nla_put(skb, KMQTT_A_USERNAME, session->username_len,
		     session->username)) ||
	    nla_put_u32(skb, KMQTT_A_SESSION_EXPIRY, session->expiry) ||
	    (!conn && nla_put_u32(skb, KMQTT_A_OFFLINE_FOR,
				  (jiffies - session->offline_since) / HZ)) ||
	    (session->bridge && nla_put_u8(skb, KMQTT_A_BRIDGE_LINK, 1)))
		goto cancel;
	nest = nla_nest_start(skb, KMQTT_A_STATS);
	if (!nest)
		goto cancel;
	for (i = 0; i < n_stats; i++)
		if (nla_put_u64_64bit(skb, stat_ids[i], stats[i],
				      KMQTT_STAT_PAD))
			goto cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* cb->args[0]: id of the last session dumped; ids only grow. */
static int kmqtt_netlink_dump_sessions(struct sk_buff *skb,
				       struct netlink_callback *cb)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(sock_net(skb->sk));
	struct kmqtt_session *session;
	u64 last = cb->args[0];
	int ret = 0;

	mutex_lock(&broker->sessions_lock);
	list_for_each_entry(session, &broker->sessions, node) {
		if (session->id <= last)
			continue;
		ret = kmqtt_netlink_fill_session(skb, session,
						 NETLINK_CB(cb->skb).portid,
						 cb->nlh->nlmsg_seq,
						 NLM_F_MULTI);
		if (ret)
			break;
		last = session->id;
	}
	mutex_unlock(&broker->sessions_lock);
	cb->args[0] = last;
	return ret ? skb->len : 0;
}

static int kmqtt_netlink_get_session(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr *id = info->attrs[KMQTT_A_CLIENT_ID];
	struct kmqtt_session *session;
	struct sk_buff *reply;
	int ret = -ENOENT;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID))
		return -EINVAL;
	/* Its client id and username fit, at their maximum lengths. */
	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, nla_data(id), nla_len(id));
	if (session)
		ret = kmqtt_netlink_fill_session(reply, session,
						 info->snd_portid,
						 info->snd_seq, 0);
	mutex_unlock(&broker->sessions_lock);
	if (ret) {
		if (ret == -ENOENT)
			NL_SET_ERR_MSG_ATTR(info->extack, id,
					    "no such session");
		nlmsg_free(reply);
		return ret;
	}
	return genlmsg_reply(reply, info);
}

static int kmqtt_netlink_fill_subscription(struct sk_buff *skb,
					   const struct kmqtt_session *session,
					   const struct kmqtt_subscription *sub,
					   u32 portid, u32 seq)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &kmqtt_family, NLM_F_MULTI,
			  KMQTT_CMD_GET_SUBSCRIPTION);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put(skb, KMQTT_A_CLIENT_ID, session->client_id_len,
		    session->client_id) ||
	    nla_put(skb, KMQTT_A_FILTER, sub->len, sub->filter) ||
	    nla_put_u8(skb, KMQTT_A_QOS,
		       sub->options & MQTT_SUBOPT_QOS_MASK) ||
	    nla_put_u8(skb, KMQTT_A_SUB_OPTIONS, sub->options) ||
	    (sub->sub_id && nla_put_u32(skb, KMQTT_A_SUB_ID, sub->sub_id))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * cb->args[0]: id of the session being dumped, cb->args[1]: how many of
 * its subscriptions are done.  A session's list may change between
 * rounds; a dump is a snapshot per message, not of the whole.
 */
static int kmqtt_netlink_dump_subscriptions(struct sk_buff *skb,
					    struct netlink_callback *cb)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(sock_net(skb->sk));
	struct kmqtt_subscription *sub;
	struct kmqtt_session *session;
	u64 cur = cb->args[0];
	long done = cb->args[1];
	int ret = 0;

	mutex_lock(&broker->sessions_lock);
	mutex_lock(&broker->topics_lock);
	list_for_each_entry(session, &broker->sessions, node) {
		long i = 0;

		if (session->id < cur)
			continue;
		if (session->id > cur) {
			cur = session->id;
			done = 0;
		}
		list_for_each_entry(sub, &session->subscriptions, node) {
			if (i++ < done)
				continue;
			ret = kmqtt_netlink_fill_subscription(skb, session, sub,
							      NETLINK_CB(cb->skb).portid,
							      cb->nlh->nlmsg_seq);
			if (ret)
				goto out;
			done++;
		}
		/* Finished with this session: the next id starts afresh. */
		cur++;
		done = 0;
	}
out:
	mutex_unlock(&broker->topics_lock);
	mutex_unlock(&broker->sessions_lock);
	cb->args[0] = cur;
	cb->args[1] = done;
	return ret ? skb->len : 0;
}

/* A message part smaller than this waits for the next dump round. */
#define KMQTT_NETLINK_PART_MIN	1024

/*
 * What a dump message carries before a part of @msg: a session's
 * delivery (@client_id set) or a retained message.
 */
struct kmqtt_netlink_part {
	const struct kmqtt_msg *msg;
	u8 qos;
	const u8 *client_id;		/* NULL: retained */
	u16 client_id_len;
	const struct kmqtt_delivery_record *rec;
};

static int kmqtt_netlink_put_delivery(struct sk_buff *skb,
				      const struct kmqtt_netlink_part *part)
{
	const struct kmqtt_delivery_record *rec = part->rec;
	struct nlattr *nest;
	u8 i;

	if (nla_put(skb, KMQTT_A_CLIENT_ID, part->client_id_len,
		    part->client_id) ||
	    nla_put_u8(skb, KMQTT_A_RETAIN, rec->retain) ||
	    (rec->will &&
	     nla_put_u32(skb, KMQTT_A_WILL_DELAY, rec->will_delay)) ||
	    (rec->packet_id &&
	     (nla_put_u16(skb, KMQTT_A_PACKET_ID, rec->packet_id) ||
	      nla_put_u8(skb, KMQTT_A_RELEASED, rec->released))))
		return -EMSGSIZE;
	if (!rec->n_sub_ids)
		return 0;
	nest = nla_nest_start(skb, KMQTT_A_SUB_IDS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < rec->n_sub_ids; i++)
		if (nla_put_u32(skb, KMQTT_A_SUB_ID, rec->sub_ids[i]))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * One message of a dump carrying @part's message from *@offset on, as
 * much of it as fits: a message larger than a netlink message takes
 * several.  A fresh dump buffer (NLMSG_GOODSIZE at least) always takes a
 * part.
 */
static int kmqtt_netlink_fill_msg_part(struct sk_buff *skb, u8 cmd,
				       const struct kmqtt_netlink_part *part,
				       u32 *offset, u32 portid, u32 seq)
{
	const struct kmqtt_msg *msg = part->msg;
	u32 left = msg->len - *offset, len;
	void *hdr;
	int room;

	hdr = genlmsg_put(skb, portid, seq, &kmqtt_family, NLM_F_MULTI, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if ((part->client_id && kmqtt_netlink_put_delivery(skb, part)) ||
	    nla_put_u8(skb, KMQTT_A_QOS, part->qos) ||
	    (msg->expires &&
	     nla_put_u32(skb, KMQTT_A_MSG_EXPIRY,
			 max(kmqtt_msg_expiry_left(msg,
						   ktime_get_boottime_seconds()),
			     1U))) ||
	    nla_put_u32(skb, KMQTT_A_MSG_LEN, msg->len) ||
	    nla_put_u32(skb, KMQTT_A_OFFSET, *offset))
		goto cancel;
	/* nla_put() pads the part to NLA_ALIGNTO: room for that too. */
	room = round_down(skb_tailroom(skb) - nla_total_size(0),
			  NLA_ALIGNTO);
	len = min3(left, (u32)KMQTT_MSG_DATA_MAX, room > 0 ? (u32)room : 0U);
	if (len < min_t(u32, left, KMQTT_NETLINK_PART_MIN) ||
	    nla_put(skb, KMQTT_A_MSG_DATA, len, msg->data + *offset))
		goto cancel;
	genlmsg_end(skb, hdr);
	*offset += len;
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/*
 * cb->args[0]: the retained message being dumped, with a reference,
 * cb->args[1]: how many of its bytes are done.  Messages stored or
 * removed meanwhile are seen or not as their topic's place says.
 */
static int kmqtt_netlink_dump_retained(struct sk_buff *skb,
				       struct netlink_callback *cb)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(sock_net(skb->sk));
	struct kmqtt_retain_cursor cursor = {
		.last = (struct kmqtt_msg *)cb->args[0],
	};
	struct kmqtt_netlink_part part;
	u32 offset = cb->args[1];
	int ret = 0;

	for (;;) {
		if (!cursor.last || offset == cursor.last->len) {
			if (!kmqtt_retain_next(&broker->retained, &cursor))
				break;
			offset = 0;
		}
		part = (struct kmqtt_netlink_part){
			.msg = cursor.last,
			.qos = cursor.last->qos,
		};
		ret = kmqtt_netlink_fill_msg_part(skb, KMQTT_CMD_GET_RETAINED,
						  &part, &offset,
						  NETLINK_CB(cb->skb).portid,
						  cb->nlh->nlmsg_seq);
		if (ret)
			break;
	}
	cb->args[0] = (long)cursor.last;
	cb->args[1] = offset;
	/* Nothing fitted an empty buffer: an error, not the dump's end. */
	if (ret && !skb->len)
		return ret;
	return ret ? skb->len : 0;
}

/* The dump ended or was given up: let go of its message. */
static int kmqtt_netlink_dump_retained_done(struct netlink_callback *cb)
{
	struct kmqtt_retain_cursor cursor = {
		.last = (struct kmqtt_msg *)cb->args[0],
	};

	kmqtt_retain_cursor_release(&cursor);
	cb->args[0] = 0;
	return 0;
}

/*
 * Where a dump that goes session by session stands between rounds
 * (cb->args[0]): the session being dumped and its items, taken at once
 * so that they come out whole and in their order while traffic goes on.
 */
struct kmqtt_netlink_batch {
	u64 session_id;
	u8 client_id[KMQTT_CLIENT_ID_MAX];
	u16 client_id_len;
	void *items;
	u32 n, i;
	u32 offset;			/* into items[i], sent in parts */
};

/* What such a dump takes, sends and lets go of. */
struct kmqtt_netlink_batch_ops {
	/* The next session's items: their number, 0 at the end, -errno. */
	int (*next)(struct kmqtt_broker *broker, struct kmqtt_netlink_batch *b);
	/* One message from items[i] on, moving b->i and b->offset. */
	int (*fill)(struct sk_buff *skb, struct kmqtt_netlink_batch *b,
		    u32 portid, u32 seq);
	void (*release)(struct kmqtt_netlink_batch *b);
};

static int kmqtt_netlink_dump_batches(struct sk_buff *skb,
				      struct netlink_callback *cb,
				      const struct kmqtt_netlink_batch_ops *ops)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(sock_net(skb->sk));
	struct kmqtt_netlink_batch *b = (void *)cb->args[0];
	int n, ret = 0;

	if (!b) {
		b = kzalloc(sizeof(*b), GFP_KERNEL);
		if (!b)
			return -ENOMEM;
		cb->args[0] = (long)b;
	}
	for (;;) {
		if (b->i == b->n) {
			ops->release(b);
			n = ops->next(broker, b);
			if (n < 0)
				return skb->len ? skb->len : n;
			if (!n)
				break;
		}
		ret = ops->fill(skb, b, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq);
		if (ret)
			break;
	}
	/* Nothing fitted an empty buffer: an error, not the dump's end. */
	if (ret && !skb->len)
		return ret;
	return ret ? skb->len : 0;
}

static void kmqtt_netlink_dump_batches_done(struct netlink_callback *cb,
					    const struct kmqtt_netlink_batch_ops *ops)
{
	struct kmqtt_netlink_batch *b = (void *)cb->args[0];

	if (b) {
		ops->release(b);
		kfree(b);
	}
	cb->args[0] = 0;
}

static int kmqtt_netlink_next_records(struct kmqtt_broker *broker,
				      struct kmqtt_netlink_batch *b)
{
	struct kmqtt_delivery_record *recs;
	int n = kmqtt_session_next_records(broker, b->session_id,
					   &b->session_id, b->client_id,
					   &b->client_id_len, &recs);

	if (n > 0) {
		b->items = recs;
		b->n = n;
	}
	return n;
}

static int kmqtt_netlink_fill_record(struct sk_buff *skb,
				     struct kmqtt_netlink_batch *b, u32 portid,
				     u32 seq)
{
	struct kmqtt_delivery_record *rec =
		(struct kmqtt_delivery_record *)b->items + b->i;
	const struct kmqtt_netlink_part part = {
		.msg = rec->msg,
		.qos = rec->qos,
		.client_id = b->client_id,
		.client_id_len = b->client_id_len,
		.rec = rec,
	};
	int ret = kmqtt_netlink_fill_msg_part(skb, KMQTT_CMD_GET_SESSION_MSG,
					      &part, &b->offset, portid, seq);

	if (!ret && b->offset == rec->msg->len) {
		b->i++;
		b->offset = 0;
	}
	return ret;
}

static void kmqtt_netlink_release_records(struct kmqtt_netlink_batch *b)
{
	kmqtt_delivery_records_free(b->items, b->n);
	b->items = NULL;
	b->n = 0;
	b->i = 0;
	b->offset = 0;
}

static const struct kmqtt_netlink_batch_ops kmqtt_netlink_records_ops = {
	.next = kmqtt_netlink_next_records,
	.fill = kmqtt_netlink_fill_record,
	.release = kmqtt_netlink_release_records,
};

static int kmqtt_netlink_next_qos2(struct kmqtt_broker *broker,
				   struct kmqtt_netlink_batch *b)
{
	u16 *ids;
	int n = kmqtt_session_next_qos2(broker, b->session_id, &b->session_id,
					b->client_id, &b->client_id_len, &ids);

	if (n > 0) {
		b->items = ids;
		b->n = n;
	}
	return n;
}

/* As many of the ids from items[i] on as fit in one message. */
static int kmqtt_netlink_fill_qos2(struct sk_buff *skb,
				   struct kmqtt_netlink_batch *b, u32 portid,
				   u32 seq)
{
	u32 count;
	void *hdr;
	int room;

	hdr = genlmsg_put(skb, portid, seq, &kmqtt_family, NLM_F_MULTI,
			  KMQTT_CMD_GET_SESSION_QOS2);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put(skb, KMQTT_A_CLIENT_ID, b->client_id_len, b->client_id))
		goto cancel;
	room = round_down(skb_tailroom(skb) - nla_total_size(0),
			  NLA_ALIGNTO);
	count = min3(b->n - b->i, (u32)KMQTT_QOS2_IDS_MAX,
		     room > 0 ? (u32)room / 2 : 0U);
	if (!count || nla_put(skb, KMQTT_A_QOS2_IDS, count * 2,
			      (u16 *)b->items + b->i))
		goto cancel;
	genlmsg_end(skb, hdr);
	b->i += count;
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static void kmqtt_netlink_release_qos2(struct kmqtt_netlink_batch *b)
{
	kvfree(b->items);
	b->items = NULL;
	b->n = 0;
	b->i = 0;
}

static const struct kmqtt_netlink_batch_ops kmqtt_netlink_qos2_ops = {
	.next = kmqtt_netlink_next_qos2,
	.fill = kmqtt_netlink_fill_qos2,
	.release = kmqtt_netlink_release_qos2,
};

static int kmqtt_netlink_dump_session_msgs_done(struct netlink_callback *cb)
{
	kmqtt_netlink_dump_batches_done(cb, &kmqtt_netlink_records_ops);
	return 0;
}

static int kmqtt_netlink_dump_session_qos2_done(struct netlink_callback *cb)
{
	kmqtt_netlink_dump_batches_done(cb, &kmqtt_netlink_qos2_ops);
	return 0;
}

static int kmqtt_netlink_set_session_qos2(struct sk_buff *skb,
					  struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr *id = info->attrs[KMQTT_A_CLIENT_ID];
	struct nlattr *ids = info->attrs[KMQTT_A_QOS2_IDS];
	const u16 *p;
	u32 i, n;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_QOS2_IDS))
		return -EINVAL;
	p = nla_data(ids);
	n = nla_len(ids) / 2;
	/* MQTT-2.3.1-1: never 0. */
	for (i = 0; i < n && p[i]; i++)
		;
	if (nla_len(ids) % 2 || i < n) {
		NL_SET_ERR_MSG_ATTR(info->extack, ids,
				    "not a list of packet ids");
		return -EINVAL;
	}
	ret = kmqtt_session_restore_qos2(broker, nla_data(id), nla_len(id), p,
					 n);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no such session");
	else if (ret == -EBUSY)
		NL_SET_ERR_MSG_ATTR(info->extack, id, "the session is online");
	return ret;
}

/*
 * The message of a request's KMQTT_A_MSG_DATA parts, in one buffer to
 * kvfree(), with its length in *@len; ERR_PTR(-EINVAL) when there is
 * none, ERR_PTR(-EMSGSIZE) when it is longer than a packet may be.
 */
static u8 *kmqtt_netlink_msg_data(struct genl_info *info, u32 *len)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	const struct nlattr *attr;
	u64 total = 0;
	u8 *data, *p;
	int rem;

	nlmsg_for_each_attr(attr, info->nlhdr, GENL_HDRLEN, rem)
		if (nla_type(attr) == KMQTT_A_MSG_DATA)
			total += nla_len(attr);
	if (!total) {
		NL_SET_ERR_MSG(info->extack, "no message data");
		return ERR_PTR(-EINVAL);
	}
	/* No PUBLISH could bring it in now: not even a buffer for it. */
	if (total > READ_ONCE(broker->limits.max_packet_size)) {
		NL_SET_ERR_MSG(info->extack,
			       "message longer than MAX_PACKET_SIZE");
		return ERR_PTR(-EMSGSIZE);
	}
	data = kvmalloc(total, GFP_KERNEL);
	if (!data)
		return ERR_PTR(-ENOMEM);
	p = data;
	nlmsg_for_each_attr(attr, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(attr) != KMQTT_A_MSG_DATA)
			continue;
		memcpy(p, nla_data(attr), nla_len(attr));
		p += nla_len(attr);
	}
	*len = total;
	return data;
}

/* The message of a request: QOS, MSG_DATA parts, MSG_EXPIRY if any. */
static struct kmqtt_msg *kmqtt_netlink_msg(struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	struct kmqtt_msg *msg;
	u32 len, expiry = 0;
	u8 *data;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_QOS))
		return ERR_PTR(-EINVAL);
	if (attrs[KMQTT_A_MSG_EXPIRY])
		expiry = nla_get_u32(attrs[KMQTT_A_MSG_EXPIRY]);
	data = kmqtt_netlink_msg_data(info, &len);
	if (IS_ERR(data))
		return ERR_CAST(data);
	msg = kmqtt_msg_restore(broker, data, len,
				nla_get_u8(attrs[KMQTT_A_QOS]), expiry);
	kvfree(data);
	if (PTR_ERR_OR_ZERO(msg) == -EINVAL)
		NL_SET_ERR_MSG(info->extack,
			       "not a message: a topic name, then properties a PUBLISH passes on");
	return msg;
}

static int kmqtt_netlink_set_retained(struct sk_buff *skb,
				      struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct kmqtt_msg *msg;
	int ret;

	if (!READ_ONCE(broker->limits.retain_available)) {
		NL_SET_ERR_MSG(info->extack,
			       "retained messages are not available (RETAIN_AVAILABLE 0)");
		return -EOPNOTSUPP;
	}
	msg = kmqtt_netlink_msg(info);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	/* An empty one clears its topic: none is ever stored. */
	if (!kmqtt_msg_payload_len(msg)) {
		kmqtt_msg_put(msg);
		NL_SET_ERR_MSG(info->extack, "an empty retained message");
		return -EINVAL;
	}
	ret = kmqtt_retain_store(&broker->retained, msg,
				 READ_ONCE(broker->limits.max_retained),
				 READ_ONCE(broker->limits.max_retained_bytes));
	kmqtt_msg_put(msg);
	if (ret == -ENOSPC)
		NL_SET_ERR_MSG(info->extack, "retained message limit reached");
	return ret;
}

/*
 * A message of the broker's own (bridge notifications, $SYS topics): to
 * every matching subscription, under no client's rules.  A retained one
 * the store refuses was delivered all the same: its error says so.
 */
static int kmqtt_netlink_publish(struct sk_buff *skb, struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	const struct nlattr *retain = info->attrs[KMQTT_A_RETAIN];
	struct kmqtt_fanout fanout = {};
	struct kmqtt_msg *msg;
	int ret;

	msg = kmqtt_netlink_msg(info);
	ret = PTR_ERR_OR_ZERO(msg);
	if (!ret) {
		ret = kmqtt_publish_msg(broker, msg,
					retain && nla_get_u8(retain), NULL,
					&fanout);
		kmqtt_msg_put(msg);
		kmqtt_fanout_free(broker, &fanout);
	}
	if (ret == -ENOSPC) {
		NL_SET_ERR_MSG(info->extack, "memory limit reached");
	} else if (!ret && fanout.retain_err == -EOPNOTSUPP) {
		NL_SET_ERR_MSG(info->extack,
			       "delivered, not stored: RETAIN_AVAILABLE is 0");
		ret = fanout.retain_err;
	} else if (!ret && fanout.retain_err) {
		NL_SET_ERR_MSG(info->extack,
			       "delivered, not stored: a retained limit or no memory");
		ret = fanout.retain_err;
	}
	return ret;
}

/* The subscription identifiers of a SET_SESSION_MSG into @rec. */
static int kmqtt_netlink_sub_ids(struct genl_info *info,
				 struct kmqtt_delivery_record *rec)
{
	const struct nlattr *nest = info->attrs[KMQTT_A_SUB_IDS];
	const struct nlattr *attr;
	int rem;

	BUILD_BUG_ON(KMQTT_SUB_IDS_MAX != KMQTT_MATCH_SUB_IDS);
	rec->n_sub_ids = 0;
	if (!nest)
		return 0;
	nla_for_each_nested(attr, nest, rem) {
		if (nla_type(attr) != KMQTT_A_SUB_ID)
			continue;
		if (rec->n_sub_ids == KMQTT_SUB_IDS_MAX) {
			NL_SET_ERR_MSG_ATTR(info->extack, attr,
					    "more subscription identifiers than a delivery carries");
			return -EINVAL;
		}
		rec->sub_ids[rec->n_sub_ids++] = nla_get_u32(attr);
	}
	return 0;
}

static int kmqtt_netlink_set_session_msg(struct sk_buff *skb,
					 struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	struct nlattr *id = attrs[KMQTT_A_CLIENT_ID];
	struct kmqtt_delivery_record rec = { 0 };
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_QOS) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_RETAIN))
		return -EINVAL;
	rec.qos = nla_get_u8(attrs[KMQTT_A_QOS]);
	rec.retain = nla_get_u8(attrs[KMQTT_A_RETAIN]);
	if (attrs[KMQTT_A_PACKET_ID])
		rec.packet_id = nla_get_u16(attrs[KMQTT_A_PACKET_ID]);
	if (attrs[KMQTT_A_RELEASED])
		rec.released = nla_get_u8(attrs[KMQTT_A_RELEASED]);
	if (attrs[KMQTT_A_WILL_DELAY]) {
		rec.will = true;
		rec.will_delay = nla_get_u32(attrs[KMQTT_A_WILL_DELAY]);
	}
	/* In flight takes QoS 1 or 2; a PUBREL is owed for QoS 2 only. */
	if ((rec.packet_id && !rec.qos) ||
	    (rec.released && (!rec.packet_id || rec.qos != 2))) {
		NL_SET_ERR_MSG(info->extack,
			       "a packet id goes with QoS 1 or 2, a release with QoS 2 in flight");
		return -EINVAL;
	}
	/* A will is no delivery: nothing in flight, no subscription. */
	if (rec.will && (rec.packet_id || attrs[KMQTT_A_SUB_IDS])) {
		NL_SET_ERR_MSG(info->extack,
			       "a will has no packet id or subscription identifiers");
		return -EINVAL;
	}
	ret = kmqtt_netlink_sub_ids(info, &rec);
	if (ret)
		return ret;
	rec.msg = kmqtt_netlink_msg(info);
	if (IS_ERR(rec.msg))
		return PTR_ERR(rec.msg);
	ret = kmqtt_session_restore_message(broker, nla_data(id), nla_len(id),
					    &rec);
	kmqtt_msg_put(rec.msg);
	switch (ret) {
	case -ENOENT:
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no such session");
		break;
	case -EBUSY:
		NL_SET_ERR_MSG_ATTR(info->extack, id, "the session is online");
		break;
	case -EEXIST:
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KMQTT_A_PACKET_ID],
				    "the packet id is in flight");
		break;
	case -EDQUOT:
	case -ENOSPC:
		NL_SET_ERR_MSG(info->extack,
			       "a queue limit or the memory limit refused it");
		ret = -ENOSPC;
		break;
	}
	return ret;
}

static int kmqtt_netlink_set_session(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	struct nlattr *id = attrs[KMQTT_A_CLIENT_ID];
	struct nlattr *user = attrs[KMQTT_A_USERNAME];
	u32 expiry;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_SESSION_EXPIRY))
		return -EINVAL;
	expiry = nla_get_u32(attrs[KMQTT_A_SESSION_EXPIRY]);
	/* One that ends with its connection is never in a snapshot. */
	if (!expiry) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    attrs[KMQTT_A_SESSION_EXPIRY],
				    "a session that ends with its connection");
		return -EINVAL;
	}
	ret = kmqtt_session_restore(broker, nla_data(id), nla_len(id), expiry,
				    attrs[KMQTT_A_OFFLINE_FOR] ?
				    nla_get_u32(attrs[KMQTT_A_OFFLINE_FOR]) : 0,
				    user ? nla_data(user) : NULL,
				    user ? nla_len(user) : 0,
				    attrs[KMQTT_A_BRIDGE_LINK] &&
				    nla_get_u8(attrs[KMQTT_A_BRIDGE_LINK]));
	if (ret == -EBUSY)
		NL_SET_ERR_MSG_ATTR(info->extack, id,
				    "the client id's session is online");
	return ret;
}

static int kmqtt_netlink_set_subscription(struct sk_buff *skb,
					  struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	struct nlattr *id = attrs[KMQTT_A_CLIENT_ID];
	struct nlattr *filter = attrs[KMQTT_A_FILTER];
	u8 options;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_FILTER) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_SUB_OPTIONS))
		return -EINVAL;
	options = nla_get_u8(attrs[KMQTT_A_SUB_OPTIONS]);
	/* The module's own bit, which a SUBSCRIBE's check refuses. */
	if (!kmqtt_codec_subscription_valid(nla_data(filter), nla_len(filter),
					    options &
					    ~KMQTT_SUBOPT_QUEUE_QOS0)) {
		NL_SET_ERR_MSG(info->extack,
			       "not a valid filter with valid subscription options");
		return -EINVAL;
	}
	ret = kmqtt_session_restore_subscription(broker, nla_data(id),
						 nla_len(id), nla_data(filter),
						 nla_len(filter), options,
						 attrs[KMQTT_A_SUB_ID] ?
						 nla_get_u32(attrs[KMQTT_A_SUB_ID]) :
						 0);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no such session");
	else if (ret == -ENOSPC)
		NL_SET_ERR_MSG(info->extack,
			       "a subscription limit or the memory limit refused it");
	return ret;
}

static int kmqtt_netlink_set_bridge_subscriptions(struct sk_buff *skb,
						  struct genl_info *info)
{
	struct kmqtt_broker *broker = kmqtt_broker_get(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	struct nlattr *id = attrs[KMQTT_A_CLIENT_ID];
	struct kmqtt_bridge *bridge;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMQTT_A_CLIENT_ID) ||
	    GENL_REQ_ATTR_CHECK(info, KMQTT_A_BRIDGE))
		return -EINVAL;
	ret = kmqtt_netlink_parse_bridge(attrs[KMQTT_A_BRIDGE], info->extack,
					 &bridge);
	if (ret)
		return ret;
	bridge->queue_qos0 = attrs[KMQTT_A_BRIDGE_QUEUE_QOS0] &&
			     nla_get_u8(attrs[KMQTT_A_BRIDGE_QUEUE_QOS0]);
	ret = kmqtt_bridge_subscribe_offline(broker, nla_data(id), nla_len(id),
					     bridge);
	kmqtt_bridge_free(bridge);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no such session");
	else if (ret == -EEXIST)
		NL_SET_ERR_MSG_ATTR(info->extack, id,
				    "the client id's session is not a bridge's");
	else if (ret == -EBUSY)
		NL_SET_ERR_MSG_ATTR(info->extack, id,
				    "the client id's session is online");
	else if (ret == -ENOSPC)
		NL_SET_ERR_MSG(info->extack,
			       "a subscription limit or the memory limit refused it");
	return ret;
}

int kmqtt_netlink_auth_event(const struct kmqtt_conn *conn, u8 reason,
			     const u8 *data, u32 len)
{
	const struct kmqtt_session *session = conn->session;
	struct net *net = conn->broker->net;
	struct sk_buff *skb;
	void *hdr;
	int ret = -ESRCH;

#ifndef GENL_MCAST_CAP_NET_ADMIN
	/* The data may be a password proof: not for any listener. */
	return -EPERM;
#endif
	if (!genl_has_listeners(&kmqtt_family, net, 0))
		return -ESRCH;
	skb = genlmsg_new(nla_total_size_64bit(sizeof(u64)) +
			  nla_total_size(session->client_id_len) +
			  nla_total_size(sizeof(u8)) +
			  (data ? nla_total_size(len) : 0), GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put(skb, 0, 0, &kmqtt_family, 0, KMQTT_CMD_AUTH);
	if (!hdr ||
	    nla_put_u64_64bit(skb, KMQTT_A_CONN_ID, conn->id, KMQTT_A_PAD) ||
	    nla_put(skb, KMQTT_A_CLIENT_ID, session->client_id_len,
		    session->client_id) ||
	    nla_put_u8(skb, KMQTT_A_AUTH_REASON, reason) ||
	    (data && nla_put(skb, KMQTT_A_AUTH_DATA, len, data))) {
		nlmsg_free(skb);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	rcu_read_lock();
	if (READ_ONCE(kmqtt_netlink_events))
		ret = genlmsg_multicast_netns(&kmqtt_family, net, skb, 0, 0,
					      GFP_ATOMIC);
	else
		nlmsg_free(skb);
	rcu_read_unlock();
	return ret;
}

void kmqtt_netlink_conn_closed(const struct kmqtt_conn *conn)
{
	const struct kmqtt_session *session = conn->session;
	struct net *net = conn->broker->net;
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&kmqtt_family, net, 0))
		return;
	/*
	 * Sized to fit: a listener's receive buffer is charged the skb's
	 * truesize, so a page per event would overrun it on a burst.
	 */
	skb = genlmsg_new(nla_total_size_64bit(sizeof(u64)) +
			  nla_total_size(session->client_id_len) +
			  nla_total_size(sizeof(u32)), GFP_KERNEL);
	hdr = skb ? genlmsg_put(skb, 0, 0, &kmqtt_family, 0,
				KMQTT_CMD_CONN_CLOSED) : NULL;
	if (!hdr ||
	    nla_put_u64_64bit(skb, KMQTT_A_CONN_ID, conn->id, KMQTT_A_PAD) ||
	    nla_put(skb, KMQTT_A_CLIENT_ID, session->client_id_len,
		    session->client_id) ||
	    nla_put_u32(skb, KMQTT_A_CLOSE_REASON, conn->close_reason)) {
		nlmsg_free(skb);
		skb = NULL;
	} else {
		genlmsg_end(skb, hdr);
	}
	rcu_read_lock();
	if (!READ_ONCE(kmqtt_netlink_events))
		nlmsg_free(skb);
	else if (skb)
		genlmsg_multicast_netns(&kmqtt_family, net, skb, 0, 0,
					GFP_ATOMIC);
	else
		/* The listeners learn that an event is lost, and resync. */
		genl_set_err(&kmqtt_family, net, 0, 0, -ENOBUFS);
	rcu_read_unlock();
}

/* Every request comes through here: its version is checked once. */
static int kmqtt_netlink_doit(struct sk_buff *skb, struct genl_info *info)
{
	int ret = kmqtt_netlink_check_version(info->genlhdr, info->extack);

	if (ret)
		return ret;
	switch (info->genlhdr->cmd) {
	case KMQTT_CMD_GET_INFO:
		return kmqtt_netlink_get_info(skb, info);
	case KMQTT_CMD_ATTACH:
		return kmqtt_netlink_attach(skb, info);
	case KMQTT_CMD_GET_SESSION:
		return kmqtt_netlink_get_session(skb, info);
	case KMQTT_CMD_SET_LIMITS:
		return kmqtt_netlink_set_limits(skb, info);
	case KMQTT_CMD_SET_ACL:
		return kmqtt_netlink_set_acl(skb, info);
	case KMQTT_CMD_DISCONNECT:
		return kmqtt_netlink_disconnect(skb, info);
	case KMQTT_CMD_AUTH:
		return kmqtt_netlink_auth(skb, info);
	case KMQTT_CMD_SET_RETAINED:
		return kmqtt_netlink_set_retained(skb, info);
	case KMQTT_CMD_PUBLISH:
		return kmqtt_netlink_publish(skb, info);
	case KMQTT_CMD_ACK_HOLD:
		return kmqtt_netlink_ack_hold(skb, info);
	case KMQTT_CMD_SET_SESSION:
		return kmqtt_netlink_set_session(skb, info);
	case KMQTT_CMD_SET_SUBSCRIPTION:
		return kmqtt_netlink_set_subscription(skb, info);
	case KMQTT_CMD_SET_SESSION_MSG:
		return kmqtt_netlink_set_session_msg(skb, info);
	case KMQTT_CMD_SET_SESSION_QOS2:
		return kmqtt_netlink_set_session_qos2(skb, info);
	case KMQTT_CMD_SET_BRIDGE_SUBSCRIPTIONS:
		return kmqtt_netlink_set_bridge_subscriptions(skb, info);
	}
	return -EOPNOTSUPP;
}

/*
 * Every dump round comes through here.  The version is checked in the
 * first (cb->args[2] notes it is done), not in a start callback, where
 * some kernels have no extended ack for the error message yet.
 */
static int kmqtt_netlink_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	const struct genlmsghdr *hdr = nlmsg_data(cb->nlh);
	int ret;

	if (!cb->args[2]) {
		ret = kmqtt_netlink_check_version(hdr, cb->extack);
		if (ret)
			return ret;
		cb->args[2] = 1;
	}
	switch (hdr->cmd) {
	case KMQTT_CMD_GET_CONN:
		return kmqtt_netlink_dump_conns(skb, cb);
	case KMQTT_CMD_GET_SESSION:
		return kmqtt_netlink_dump_sessions(skb, cb);
	case KMQTT_CMD_GET_SUBSCRIPTION:
		return kmqtt_netlink_dump_subscriptions(skb, cb);
	case KMQTT_CMD_GET_RETAINED:
		return kmqtt_netlink_dump_retained(skb, cb);
	case KMQTT_CMD_GET_SESSION_MSG:
		return kmqtt_netlink_dump_batches(skb, cb,
						  &kmqtt_netlink_records_ops);
	case KMQTT_CMD_GET_SESSION_QOS2:
		return kmqtt_netlink_dump_batches(skb, cb,
						  &kmqtt_netlink_qos2_ops);
	}
	return -EOPNOTSUPP;
}

static const struct genl_ops kmqtt_netlink_ops[] = {
	{
		.cmd = KMQTT_CMD_GET_INFO,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_no_attrs_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_ATTACH,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_attach_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_GET_CONN,
		.dumpit = kmqtt_netlink_dumpit,
		.policy = kmqtt_no_attrs_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_LIMITS,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_limits_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_GET_SESSION,
		.doit = kmqtt_netlink_doit,
		.dumpit = kmqtt_netlink_dumpit,
		/* The dump ignores a CLIENT_ID: only the doit looks for one. */
		.policy = kmqtt_client_id_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_GET_SUBSCRIPTION,
		.dumpit = kmqtt_netlink_dumpit,
		.policy = kmqtt_no_attrs_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_ACL,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_acl_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_DISCONNECT,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_client_id_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_AUTH,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_auth_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_GET_RETAINED,
		.dumpit = kmqtt_netlink_dumpit,
		.done = kmqtt_netlink_dump_retained_done,
		.policy = kmqtt_no_attrs_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_RETAINED,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_retained_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_SESSION,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_session_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_SUBSCRIPTION,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_subscription_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_GET_SESSION_MSG,
		.dumpit = kmqtt_netlink_dumpit,
		.done = kmqtt_netlink_dump_session_msgs_done,
		.policy = kmqtt_no_attrs_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_SESSION_MSG,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_session_msg_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_GET_SESSION_QOS2,
		.dumpit = kmqtt_netlink_dumpit,
		.done = kmqtt_netlink_dump_session_qos2_done,
		.policy = kmqtt_no_attrs_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_SESSION_QOS2,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_session_qos2_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_PUBLISH,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_publish_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_ACK_HOLD,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_ack_hold_policy,
		.maxattr = KMQTT_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMQTT_CMD_SET_BRIDGE_SUBSCRIPTIONS,
		.doit = kmqtt_netlink_doit,
		.policy = kmqtt_set_bridge_subscriptions_policy,
		.maxattr = KMQTT_A_MAX,
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
	/*
	 * Not under genl_mutex, which every generic netlink family shares:
	 * an ATTACH that waits for a takeover must not hold up the host's
	 * other families.  Shared state has locks of its own.
	 */
	.parallel_ops = true,
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
