/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kmqttd's snapshot holds (Documentation/persistence.rst): records
 * in a persist_file container.  A header record first (the module
 * instance it was taken from, when), then one record per retained
 * message, per persistent session, per subscription of those, per
 * message on its way to one of them, in flight or queued, their wills
 * that have not gone out, and their inbound QoS 2 packet ids waiting
 * for PUBREL.  Times
 * are wall-clock seconds, so that expiry intervals keep running while the
 * box is off.  Reading checks every record
 * before it hands out any, so a snapshot is used whole or not at all.
 */
#ifndef KMQTTD_SNAPSHOT_H
#define KMQTTD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kmqtt_nl.h"
#include "persist_file.h"

struct snapshot_header {
	uint64_t instance;	/* KMQTT_A_INSTANCE of the module saved */
	int64_t saved_at;	/* wall-clock seconds */
};

struct snapshot_counts {
	size_t retained;	/* handed to the callbacks */
	size_t expired;		/* messages left out: their expiry passed */
	size_t sessions;
	size_t subscriptions;
	size_t session_msgs;
};

/* What snapshot_read() hands out; NULL callbacks only check. */
struct snapshot_visitor {
	void (*retained)(const struct kmqtt_nl_msg *m, void *arg);
	/* client_id, session_expiry, offline_for, has_username, username */
	void (*session)(const struct kmqtt_nl_session *s, void *arg);
	/* client_id, filter, options, sub_id */
	void (*subscription)(const struct kmqtt_nl_subscription *s,
			     void *arg);
	/*
	 * with the seconds of expiry the message has left; a will (sm->will)
	 * with the seconds of its delay left
	 */
	void (*session_msg)(const struct kmqtt_nl_session_msg *sm, void *arg);
	/* inbound QoS 2 packet ids received and not released */
	void (*session_qos2)(const char *client_id, const uint16_t *ids,
			     size_t n, void *arg);
	void *arg;
};

void snapshot_put_header(struct persist_buf *buf,
			 const struct snapshot_header *hdr);

/*
 * Is the retained message @m (stored form) one to save?  Not a "$SYS"
 * topic's, as Mosquitto saves none: the broker's figures (agent/sys.c)
 * and bridge states are published again by the kmqttd that restores the
 * snapshot, and old ones would mislead until it does.
 */
bool snapshot_keeps_retained(const struct kmqtt_nl_msg *m);

/* A retained message @m from a dump at wall-clock time @now. */
void snapshot_put_retained(struct persist_buf *buf,
			   const struct kmqtt_nl_msg *m, time_t now);

/* A session from a dump at @now (online: offline from @now on). */
void snapshot_put_session(struct persist_buf *buf,
			  const struct kmqtt_nl_session *s, time_t now);

void snapshot_put_subscription(struct persist_buf *buf,
			       const struct kmqtt_nl_subscription *s);

/* Inbound QoS 2 packet ids of a session (received, not released). */
void snapshot_put_session_qos2(struct persist_buf *buf, const char *client_id,
			       const uint16_t *ids, size_t n);

/* A message on its way to a session, or its will, from a dump at @now. */
void snapshot_put_session_msg(struct persist_buf *buf,
			      const struct kmqtt_nl_session_msg *sm,
			      time_t now);

/*
 * Check the records of the @len bytes at @data and, when all are good,
 * hand them to @v in their order: each retained message and each
 * session's message not expired at @now (with the seconds it has left),
 * each session (with the seconds it has been offline at @now), each
 * subscription.  @v NULL only checks.
 * Returns 0 with *@hdr and *@counts, or -EBADMSG with @err saying what is
 * wrong and where.
 */
int snapshot_read(const void *data, size_t len, time_t now,
		  struct snapshot_header *hdr, struct snapshot_counts *counts,
		  const struct snapshot_visitor *v, char *err, size_t errlen);

#endif /* KMQTTD_SNAPSHOT_H */
