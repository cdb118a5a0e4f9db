/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Will messages (MQTT 3.1.2.5, 3.1.3.2.2): published when a connection
 * ends without DISCONNECT 0x00, at once or, with a 5.0 will delay
 * interval, when the delay has passed or the session ends, whichever
 * comes first; not at all when a new connection takes the session before
 * that (MQTT-3.1.3-9).  A delayed will waits in its session.
 */
#ifndef _KMQTT_WILL_H
#define _KMQTT_WILL_H

#include <linux/types.h>

struct kmqtt_conn;
struct kmqtt_session;

/*
 * Close work, before the session is detached: publish @conn's will, or
 * hand it to the session when it has a delay and the session outlives
 * the connection.
 */
void kmqtt_will_close(struct kmqtt_conn *conn);

/*
 * A new connection takes the session: its delayed will is dropped
 * (MQTT-3.1.3-9).  Under broker->sessions_lock.
 */
void kmqtt_will_drop(struct kmqtt_session *session);

/*
 * The session ends (expired, unlinked, not yet freed): its delayed will
 * goes out now.  Takes broker->sessions_lock.
 */
void kmqtt_will_session_end(struct kmqtt_session *session);

struct kmqtt_delivery_record;

/*
 * A snapshot's record of @session's will that has not gone out, into
 * @rec with a reference: the one waiting for its delay, or the will of
 * its connection, due its delay after the connection ends.  Returns 1,
 * or 0 when there is none.  Under broker->sessions_lock.
 */
u32 kmqtt_will_record(struct kmqtt_session *session,
		      struct kmqtt_delivery_record *rec);

/*
 * Give offline @session the will of @rec (a snapshot's), due in
 * rec->will_delay seconds, in place of any it has.  A restored session
 * is allowed nothing until kmqttd gives it its rules: the will waits for
 * them (kmqtt_will_rules_set()) however soon it is due.  Returns 0 or
 * -EBUSY when it is online.  Under broker->sessions_lock.
 */
int kmqtt_will_restore(struct kmqtt_session *session,
		       const struct kmqtt_delivery_record *rec);

/* SET_ACL gave @session its rules.  Under broker->sessions_lock. */
void kmqtt_will_rules_set(struct kmqtt_session *session);

/* Session setup and teardown: the delay's work, a will left over. */
void kmqtt_will_init(struct kmqtt_session *session);
void kmqtt_will_free(struct kmqtt_session *session);

#endif /* _KMQTT_WILL_H */
