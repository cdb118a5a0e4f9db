// SPDX-License-Identifier: GPL-2.0
/*
 * Inbound topic aliases.  The table is made at the first alias set, one
 * slot per alias the client may use; each topic is a copy of its own.
 * All of it counts against the memory limit: a client may hold up to the
 * maximum times 64 KiB this way, which the operator bounds with
 * max_topic_alias.
 */

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "alias.h"
#include "broker.h"
#include "codec.h"
#include "conn.h"

struct kmqtt_alias {
	u16 len;
	u8 topic[];
};

/* Table and topic memory against the limit; 0 or -ENOSPC. */
static int kmqtt_alias_charge(struct kmqtt_conn *conn, size_t size)
{
	if (kmqtt_broker_charge(conn->broker, size))
		return 0;
	conn->refused = size;
	return -ENOSPC;
}

static int kmqtt_alias_set(struct kmqtt_conn *conn, u16 alias,
			   const struct kmqtt_publish *pub)
{
	size_t table = conn->topic_alias_max * sizeof(*conn->aliases);
	struct kmqtt_alias *a;
	size_t size = struct_size(a, topic, pub->topic_len);
	int ret;

	if (!conn->aliases) {
		ret = kmqtt_alias_charge(conn, table);
		if (ret)
			return ret;
		conn->aliases = kvzalloc(table, GFP_KERNEL | __GFP_NOWARN);
		if (!conn->aliases) {
			kmqtt_broker_uncharge(conn->broker, table);
			return -ENOMEM;
		}
	}
	ret = kmqtt_alias_charge(conn, size);
	if (ret)
		return ret;
	a = kmalloc(size, GFP_KERNEL | __GFP_NOWARN);
	if (!a) {
		kmqtt_broker_uncharge(conn->broker, size);
		return -ENOMEM;
	}
	a->len = pub->topic_len;
	memcpy(a->topic, pub->topic, pub->topic_len);
	/* 3.3.2.3.4: a new topic for an alias replaces the old one. */
	if (conn->aliases[alias - 1]) {
		kmqtt_broker_uncharge(conn->broker,
				      struct_size(a, topic,
						  conn->aliases[alias - 1]->len));
		kfree(conn->aliases[alias - 1]);
	}
	conn->aliases[alias - 1] = a;
	return 0;
}

int kmqtt_alias_apply(struct kmqtt_conn *conn, struct kmqtt_publish *pub)
{
	const struct kmqtt_alias *a;
	u16 alias;

	if (!kmqtt_props_has(&pub->props, MQTT_PROP_TOPIC_ALIAS)) {
		if (pub->topic_len)
			return 0;
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "empty topic without alias");
	}
	alias = pub->props.topic_alias;
	/* MQTT-3.3.2-8, MQTT-3.3.2-9 */
	if (!alias || alias > conn->topic_alias_max)
		return kmqtt_conn_violation(conn, MQTT_RC_TOPIC_ALIAS_INVALID,
					    "topic alias 0 or over the maximum");
	if (pub->topic_len)
		return kmqtt_alias_set(conn, alias, pub);
	a = conn->aliases ? conn->aliases[alias - 1] : NULL;
	if (!a)
		return kmqtt_conn_violation(conn, MQTT_RC_PROTOCOL_ERROR,
					    "topic alias not set");
	pub->topic = a->topic;
	pub->topic_len = a->len;
	return 0;
}

void kmqtt_alias_free(struct kmqtt_conn *conn)
{
	u16 i;

	if (!conn->aliases)
		return;
	for (i = 0; i < conn->topic_alias_max; i++) {
		struct kmqtt_alias *a = conn->aliases[i];

		if (!a)
			continue;
		kmqtt_broker_uncharge(conn->broker,
				      struct_size(a, topic, a->len));
		kfree(a);
	}
	kvfree(conn->aliases);
	kmqtt_broker_uncharge(conn->broker,
			      conn->topic_alias_max * sizeof(*conn->aliases));
	conn->aliases = NULL;
}
