// SPDX-License-Identifier: GPL-2.0
/*
 * Wills.  One published at once goes out through its connection's
 * fan-out; a delayed one moves to its session with the session's
 * reference on the message, and whoever ends the wait takes it out under
 * broker->sessions_lock: the delay's work or the session's end publish
 * it, a new connection drops it.
 */

#include <linux/jiffies.h>
#include <linux/workqueue.h>

#include "acl.h"
#include "broker.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "publish.h"
#include "session.h"
#include "will.h"

/*
 * Under the rules in force when it goes out, as Mosquitto checks them: a
 * reload may have taken the client's right to its will topic.  Never on
 * the broker's own topics ($SYS).
 */
static void kmqtt_will_publish(struct kmqtt_session *session,
			       struct kmqtt_msg *will, bool retain,
			       struct kmqtt_fanout *f)
{
	struct kmqtt_broker *broker = session->broker;

	if (kmqtt_acl_broker_owned(kmqtt_msg_topic(will), will->topic_len) ||
	    !kmqtt_session_allows(session, kmqtt_msg_topic(will),
				  will->topic_len, KMQTT_ACL_WRITE)) {
		atomic64_inc(&broker->acl_denied);
		return;
	}
	/* Nobody else holds it yet: its 5.0 expiry starts now. */
	if (will->expires)
		kmqtt_msg_start_expiry(will);
	if (kmqtt_publish_msg(broker, will, retain, NULL, f)) {
		kmqtt_broker_dropped(broker, session, KMQTT_DROP_NO_MEMORY, 1);
		net_warn_ratelimited("kmqtt: will of %*pE dropped: out of memory\n",
				     session->client_id_len,
				     session->client_id);
	}
}

/*
 * The delayed will, taken out under sessions_lock with its RETAIN, which
 * a newer connection's will may replace once the lock is dropped; NULL:
 * none.
 */
static struct kmqtt_msg *kmqtt_will_take(struct kmqtt_session *session,
					 bool *retain)
{
	struct kmqtt_msg *will = session->will;

	lockdep_assert_held(&session->broker->sessions_lock);
	session->will = NULL;
	session->will_held = false;
	*retain = session->will_retain;
	return will;
}

/* Arm the delay's work for what is left of it, at most KMQTT_TIMER_MAX. */
static void kmqtt_will_arm(struct kmqtt_session *session)
{
	unsigned long left = time_after(session->will_at, jiffies) ?
			     session->will_at - jiffies : 0;

	mod_delayed_work(kmqtt_wq, &session->will_work,
			 min(left, KMQTT_TIMER_MAX));
}

/*
 * End the wait of the session's will and publish it, when its delay has
 * passed or, @ended, the session ends.
 */
static void kmqtt_will_end_wait(struct kmqtt_session *session, bool ended)
{
	struct kmqtt_broker *broker = session->broker;
	struct kmqtt_fanout f = {};
	struct kmqtt_msg *will;
	bool retain;

	mutex_lock(&broker->sessions_lock);
	if (!ended && session->will && time_before(jiffies, session->will_at)) {
		/* A delay longer than a timer's: not yet. */
		kmqtt_will_arm(session);
		mutex_unlock(&broker->sessions_lock);
		return;
	}
	will = kmqtt_will_take(session, &retain);
	mutex_unlock(&broker->sessions_lock);
	if (!will)
		return;
	kmqtt_will_publish(session, will, retain, &f);
	kmqtt_fanout_free(broker, &f);
	kmqtt_msg_put(will);
}

static void kmqtt_will_work(struct work_struct *work)
{
	kmqtt_will_end_wait(container_of(to_delayed_work(work),
					 struct kmqtt_session, will_work),
			    false);
}

void kmqtt_will_close(struct kmqtt_conn *conn)
{
	struct kmqtt_session *session = conn->session;
	struct kmqtt_broker *broker = conn->broker;

	/*
	 * MQTT-3.1.2-8: on any close but DISCONNECT 0x00; not at unload
	 * either (Documentation/architecture.rst, Module unload).
	 */
	if (!conn->will || conn->close_reason == KMQTT_CLOSE_DISCONNECT ||
	    conn->close_reason == KMQTT_CLOSE_SHUTDOWN)
		return;
	/* A session that ends with the connection ends the delay too. */
	if (!conn->will_delay || !conn->session_expiry) {
		kmqtt_will_publish(session, conn->will, conn->will_retain,
				   &conn->fanout);
		return;
	}
	mutex_lock(&broker->sessions_lock);
	/* This connection's attach dropped any earlier one. */
	if (WARN_ON_ONCE(session->will))
		kmqtt_msg_put(session->will);
	session->will = conn->will;
	session->will_retain = conn->will_retain;
	session->will_at = jiffies + (unsigned long)conn->will_delay * HZ;
	conn->will = NULL;
	kmqtt_will_arm(session);
	mutex_unlock(&broker->sessions_lock);
}

void kmqtt_will_drop(struct kmqtt_session *session)
{
	struct kmqtt_msg *will;
	bool retain;

	will = kmqtt_will_take(session, &retain);
	if (will)
		kmqtt_msg_put(will);
}

void kmqtt_will_session_end(struct kmqtt_session *session)
{
	kmqtt_will_end_wait(session, true);
}

u32 kmqtt_will_record(struct kmqtt_session *session,
		      struct kmqtt_delivery_record *rec)
{
	struct kmqtt_conn *conn = rcu_dereference_protected(session->conn,
			lockdep_is_held(&session->broker->sessions_lock));
	unsigned long left;

	*rec = (struct kmqtt_delivery_record){ .will = true };
	if (session->will) {
		left = time_after(session->will_at, jiffies) ?
		       session->will_at - jiffies : 0;
		rec->msg = session->will;
		rec->retain = session->will_retain;
		rec->will_delay = DIV_ROUND_UP(left, HZ);
	} else if (conn && conn->will && !kmqtt_conn_closing(conn)) {
		/* Bound, it lives while sessions_lock is held. */
		rec->msg = conn->will;
		rec->retain = conn->will_retain;
		rec->will_delay = conn->will_delay;
	} else {
		return 0;
	}
	rec->qos = rec->msg->qos;
	kmqtt_msg_get(rec->msg);
	return 1;
}

int kmqtt_will_restore(struct kmqtt_session *session,
		       const struct kmqtt_delivery_record *rec)
{
	lockdep_assert_held(&session->broker->sessions_lock);
	if (rcu_access_pointer(session->conn))
		return -EBUSY;
	kmqtt_will_drop(session);
	kmqtt_msg_get(rec->msg);
	session->will = rec->msg;
	session->will_retain = rec->retain;
	session->will_at = jiffies + (unsigned long)rec->will_delay * HZ;
	session->will_held = true;
	return 0;
}

void kmqtt_will_rules_set(struct kmqtt_session *session)
{
	lockdep_assert_held(&session->broker->sessions_lock);
	if (!session->will_held)
		return;
	session->will_held = false;
	if (session->will)
		kmqtt_will_arm(session);
}

void kmqtt_will_init(struct kmqtt_session *session)
{
	INIT_DELAYED_WORK(&session->will_work, kmqtt_will_work);
}

/*
 * Waits for the delay's work, which takes sessions_lock: the caller holds
 * it only for a session just made, whose work never ran.
 */
void kmqtt_will_free(struct kmqtt_session *session)
{
	cancel_delayed_work_sync(&session->will_work);
	/* Unloading, or a session that no end published: not sent. */
	if (session->will)
		kmqtt_msg_put(session->will);
	session->will = NULL;
}
