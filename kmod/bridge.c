// SPDX-License-Identifier: GPL-2.0
/*
 * Bridge links (bridge.h).  kmqttd does what is rare on them (dialling,
 * CONNECT, CONNACK, SUBSCRIBE); the module carries the messages both
 * ways with the rest of the data path: a PUBLISH from the remote is
 * published here under its line's local name, and the link's session
 * subscribes to the lines going out, whose deliveries go out under the
 * remote name (send.c).
 */

#include <linux/net.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>
#include <linux/kmqtt.h>

#include "bridge.h"
#include "broker.h"
#include "codec.h"
#include "conn.h"
#include "session.h"
#include "topic.h"

struct kmqtt_bridge *kmqtt_bridge_alloc(u32 count, size_t filter_bytes)
{
	struct kmqtt_bridge *bridge;

	if (!count || count > KMQTT_BRIDGE_TOPICS_MAX)
		return NULL;
	bridge = kvzalloc(struct_size(bridge, topic, count) + filter_bytes,
			  GFP_KERNEL);
	if (!bridge)
		return NULL;
	bridge->max = count;
	bridge->bytes_max = filter_bytes;
	return bridge;
}

void kmqtt_bridge_free(struct kmqtt_bridge *bridge)
{
	kvfree(bridge);
}

/*
 * A filter of a line: valid, not a shared subscription's (its prefix
 * could not be replaced), and starting with @prefix_len bytes that hold
 * no wildcard and end between two characters.  The bound leaves the
 * sender room for the topic's length in front of what it skips.
 */
static bool kmqtt_bridge_filter_valid(const u8 *filter, u16 len,
				      u16 prefix_len)
{
	const u8 *group;
	size_t group_len;

	if (prefix_len > len || prefix_len > U16_MAX - 2 ||
	    !kmqtt_topic_filter_valid(filter, len) ||
	    kmqtt_topic_share_split(filter, len, &group, &group_len))
		return false;
	return !memchr(filter, '+', prefix_len) &&
	       !memchr(filter, '#', prefix_len) &&
	       kmqtt_codec_utf8_valid(filter, prefix_len);
}

/* Copy @len bytes of @src into @bridge's room for filters. */
static const u8 *kmqtt_bridge_keep(struct kmqtt_bridge *bridge,
				   const u8 *src, u16 len)
{
	u8 *dst = (u8 *)&bridge->topic[bridge->max] + bridge->bytes_used;

	memcpy(dst, src, len);
	bridge->bytes_used += len;
	return dst;
}

int kmqtt_bridge_add(struct kmqtt_bridge *bridge,
		     const struct kmqtt_bridge_topic *line)
{
	struct kmqtt_bridge_topic *t;

	u16 rest = line->local_len - line->local_prefix_len;

	if (!line->direction ||
	    line->direction & ~(KMQTT_BRIDGE_IN | KMQTT_BRIDGE_OUT) ||
	    line->qos > 2 ||
	    !kmqtt_bridge_filter_valid(line->local, line->local_len,
				       line->local_prefix_len) ||
	    !kmqtt_bridge_filter_valid(line->remote, line->remote_len,
				       line->remote_prefix_len))
		return -EINVAL;
	/*
	 * One pattern after both prefixes: what matches the one filter
	 * matches the other once renamed, '$' topics apart (route).
	 */
	if (line->remote_len - line->remote_prefix_len != rest ||
	    memcmp(line->local + line->local_prefix_len,
		   line->remote + line->remote_prefix_len, rest))
		return -EINVAL;
	if (bridge->count == bridge->max ||
	    (size_t)line->local_len + line->remote_len >
	    bridge->bytes_max - bridge->bytes_used)
		return -ENOSPC;
	t = &bridge->topic[bridge->count++];
	*t = *line;
	t->local = kmqtt_bridge_keep(bridge, line->local, line->local_len);
	t->remote = kmqtt_bridge_keep(bridge, line->remote, line->remote_len);
	return 0;
}

const struct kmqtt_bridge_topic *
kmqtt_bridge_route(const struct kmqtt_bridge *bridge, u8 direction,
		   const u8 *topic, u16 len)
{
	bool in = direction == KMQTT_BRIDGE_IN;
	const struct kmqtt_bridge_topic *t;
	const u8 *filter;
	u16 filter_len, prefix_len;
	u32 i;

	for (i = 0; i < bridge->count; i++) {
		t = &bridge->topic[i];
		if (!(t->direction & direction))
			continue;
		filter = in ? t->remote : t->local;
		filter_len = in ? t->remote_len : t->local_len;
		prefix_len = in ? t->remote_prefix_len : t->local_prefix_len;
		/*
		 * "a/#" matches "a" too, which lacks the prefix "a/": the
		 * prefix is checked first, as the rest replaces it.
		 */
		if (len < prefix_len || memcmp(topic, filter, prefix_len) ||
		    !kmqtt_topic_filter_matches(filter, filter_len, topic, len))
			continue;
		/*
		 * Renamed to a '$' topic ("b/$SYS/x" to "$SYS/x" with an empty
		 * prefix), it must match the other side's filter itself: a
		 * wildcard there does not (MQTT-4.7.2-1), and "$SYS" or
		 * "$share/" are not to be reached by way of one.
		 */
		if ((in ? !t->local_prefix_len : !t->remote_prefix_len) &&
		    prefix_len < len && topic[prefix_len] == '$' &&
		    !kmqtt_topic_filter_matches(in ? t->local : t->remote,
						in ? t->local_len :
						t->remote_len,
						topic + prefix_len,
						len - prefix_len))
			continue;
		/* Nor too long once renamed, nor empty. */
		if ((u32)len - prefix_len + (in ? t->local_prefix_len :
					     t->remote_prefix_len) - 1 >=
		    MQTT_MAX_TOPIC_LEN)
			continue;
		return t;
	}
	return NULL;
}

/* Is @filter the local filter of one of @arg's lines going out? */
static bool kmqtt_bridge_goes_out(const u8 *filter, u16 len, const void *arg)
{
	const struct kmqtt_bridge *bridge = arg;
	const struct kmqtt_bridge_topic *t;
	u32 i;

	for (i = 0; i < bridge->count; i++) {
		t = &bridge->topic[i];
		if (t->direction & KMQTT_BRIDGE_OUT && t->local_len == len &&
		    !memcmp(t->local, filter, len))
			return true;
	}
	return false;
}

int kmqtt_bridge_subscribe(struct kmqtt_session *session,
			   const struct kmqtt_bridge *bridge)
{
	u8 options = MQTT_SUBOPT_NO_LOCAL | MQTT_SUBOPT_RETAIN_AS_PUBLISHED;
	const struct kmqtt_bridge_topic *t;
	bool existed;
	u32 i;

	if (bridge->queue_qos0)
		options |= KMQTT_SUBOPT_QUEUE_QOS0;
	/* Lines dropped from the configuration stop going out. */
	kmqtt_session_prune(session, kmqtt_bridge_goes_out, bridge);
	for (i = 0; i < bridge->count; i++) {
		t = &bridge->topic[i];
		if (!(t->direction & KMQTT_BRIDGE_OUT))
			continue;
		if (kmqtt_session_subscribe(session, t->local, t->local_len,
					    t->qos | options, 0,
					    &existed) == MQTT_SUBACK_FAILURE)
			return -ENOSPC;
	}
	return 0;
}

int kmqtt_bridge_subscribe_offline(struct kmqtt_broker *broker,
				   const u8 *client_id, u16 len,
				   const struct kmqtt_bridge *bridge)
{
	struct kmqtt_session *session;
	int ret = -ENOENT;

	/*
	 * Held so that no link attaches and the session stays meanwhile;
	 * the prune is bounded by the subscription limit and the lines.
	 */
	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, client_id, len);
	if (session && !session->bridge)
		ret = -EEXIST;
	else if (session && rcu_access_pointer(session->conn))
		ret = -EBUSY;
	else if (session)
		ret = kmqtt_bridge_subscribe(session, bridge);
	mutex_unlock(&broker->sessions_lock);
	return ret;
}

/* A SUBACK's refusals are the remote's to explain: said, not fatal. */
static int kmqtt_bridge_suback(struct kmqtt_conn *conn,
			       const struct kmqtt_fixed_hdr *hdr,
			       const u8 *body)
{
	u32 i, refused = 0;

	if (hdr->rem_len < 3)
		return kmqtt_conn_violation(conn, MQTT_RC_MALFORMED_PACKET,
					    "malformed SUBACK");
	for (i = 2; i < hdr->rem_len; i++)
		if (body[i] & 0x80)
			refused++;
	if (refused)
		net_warn_ratelimited("kmqtt: bridge link %llu (%*pE): the remote broker refused %u of its subscriptions\n",
				     conn->id, conn->session->client_id_len,
				     conn->session->client_id, refused);
	return 0;
}

int kmqtt_bridge_receive(struct kmqtt_conn *conn,
			 const struct kmqtt_fixed_hdr *hdr, const u8 *body)
{
	if (hdr->type == MQTT_SUBACK)
		return kmqtt_bridge_suback(conn, hdr, body);
	if (hdr->rem_len)
		return kmqtt_conn_violation(conn, MQTT_RC_MALFORMED_PACKET,
					    "malformed PINGRESP");
	return 0;
}
