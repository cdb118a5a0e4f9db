/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bridge links: connections kmqttd dialled to another broker and handed
 * over once it had sent CONNECT and SUBSCRIBE on them.  On a bridge link
 * the module is the client.  Its topic lines say which topics cross it
 * and how they are named on each side: a line's filter on this broker
 * and on the remote one each start with a prefix (no wildcard in it), and
 * a topic crossing the link has the one prefix replaced by the other.
 */
#ifndef _KMQTT_BRIDGE_H
#define _KMQTT_BRIDGE_H

#include <linux/types.h>

struct kmqtt_broker;
struct kmqtt_conn;
struct kmqtt_fixed_hdr;
struct kmqtt_session;

struct kmqtt_bridge_topic {
	const u8 *local;		/* the filter on this broker */
	const u8 *remote;		/* and on the remote one */
	u16 local_len;
	u16 remote_len;
	u16 local_prefix_len;
	u16 remote_prefix_len;
	u8 direction;			/* KMQTT_BRIDGE_IN | KMQTT_BRIDGE_OUT */
	u8 qos;
};

struct kmqtt_bridge {
	u32 count;			/* lines added so far */
	u32 max;
	/*
	 * A lazy bridge's, dialled when messages wait for it: its offline
	 * session queues the QoS 0 ones too (KMQTT_SUBOPT_QUEUE_QOS0).
	 */
	bool queue_qos0;
	size_t bytes_used;
	size_t bytes_max;
	struct kmqtt_bridge_topic topic[];	/* then the filters' bytes */
};

/* Room for @count lines whose filters total @filter_bytes. */
struct kmqtt_bridge *kmqtt_bridge_alloc(u32 count, size_t filter_bytes);
void kmqtt_bridge_free(struct kmqtt_bridge *bridge);

/*
 * Append a line; -EINVAL for a bad filter, prefix, direction or QoS,
 * -ENOSPC past room.
 */
int kmqtt_bridge_add(struct kmqtt_bridge *bridge,
		     const struct kmqtt_bridge_topic *line);

/*
 * The first line carrying @topic in @direction: whose filter on the side
 * the topic comes from matches it, and that does not rename it to a '$'
 * topic, an empty one or one longer than MQTT allows.  NULL: none.
 */
const struct kmqtt_bridge_topic *
kmqtt_bridge_route(const struct kmqtt_bridge *bridge, u8 direction,
		   const u8 *topic, u16 len);

/*
 * Subscribe @session, the bridge link's, to the local filters of the
 * lines going out, with no local (what came in through the link does not
 * go back), retain as published and, for a lazy bridge, queue QoS 0, and
 * to nothing else.
 */
int kmqtt_bridge_subscribe(struct kmqtt_session *session,
			   const struct kmqtt_bridge *bridge);

/*
 * The same for the offline session of @client_id, between a lazy
 * bridge's links, so that only what its lines carry waits in it.
 * Returns 0, -ENOENT (no such session), -EEXIST (a client's, not a
 * bridge's), -EBUSY (online: its link's ATTACH did this) or -ENOSPC (a
 * limit; the lines before the one refused are subscribed).
 */
int kmqtt_bridge_subscribe_offline(struct kmqtt_broker *broker,
				   const u8 *client_id, u16 len,
				   const struct kmqtt_bridge *bridge);

/* What only a remote broker sends: SUBACK (to kmqttd's SUBSCRIBE), PINGRESP. */
int kmqtt_bridge_receive(struct kmqtt_conn *conn,
			 const struct kmqtt_fixed_hdr *hdr, const u8 *body);

#endif /* _KMQTT_BRIDGE_H */
