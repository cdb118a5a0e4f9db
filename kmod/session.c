// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: the table by client id, attach and takeover, detach, expiry,
 * and subscriptions.  Each subscription is recorded twice: in the broker's
 * topic tree (for matching) and in the session's list (to remove it and to
 * show it); both change under topics_lock.
 *
 * Lock order: sessions_lock, then topics_lock, then session->lock, then a
 * connection's tx_lock.
 */

#include <linux/err.h>
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/rhashtable.h>
#include <net/netlink.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kmqtt/mqtt.h>

#include "acl.h"
#include "broker.h"
#include "conn.h"
#include "delivery.h"
#include "msg.h"
#include "send.h"
#include "session.h"
#include "share.h"
#include "will.h"

/* Its own cache: a session costs sizeof(struct kmqtt_session) + its id. */
static struct kmem_cache *kmqtt_session_cache;

/* What a subscription is looked up by. */
struct kmqtt_subscription_key {
	const struct kmqtt_session *session;
	const u8 *filter;
	u16 len;
};

static u32 kmqtt_subscription_hash(const struct kmqtt_session *session,
				   const u8 *filter, u16 len, u32 seed)
{
	return jhash(filter, len, seed ^ hash_ptr(session, 32));
}

static u32 kmqtt_subscription_key_hashfn(const void *data, u32 len, u32 seed)
{
	const struct kmqtt_subscription_key *key = data;

	return kmqtt_subscription_hash(key->session, key->filter, key->len,
				       seed);
}

static u32 kmqtt_subscription_obj_hashfn(const void *data, u32 len, u32 seed)
{
	const struct kmqtt_subscription *sub = data;

	return kmqtt_subscription_hash(sub->session, sub->filter, sub->len,
				       seed);
}

static int kmqtt_subscription_cmpfn(struct rhashtable_compare_arg *arg,
				    const void *obj)
{
	const struct kmqtt_subscription_key *key = arg->key;
	const struct kmqtt_subscription *sub = obj;

	return sub->session != key->session || sub->len != key->len ||
	       memcmp(sub->filter, key->filter, key->len);
}

static const struct rhashtable_params kmqtt_subscription_params = {
	.head_offset = offsetof(struct kmqtt_subscription, index),
	.hashfn = kmqtt_subscription_key_hashfn,
	.obj_hashfn = kmqtt_subscription_obj_hashfn,
	.obj_cmpfn = kmqtt_subscription_cmpfn,
	.automatic_shrinking = true,
};

/*
 * Sessions by client id.  The table grows with them: a million sessions
 * in a fixed table of 1024 chains made every CONNECT walk a thousand.
 */
struct kmqtt_session_key {
	const u8 *client_id;
	u16 len;
};

static u32 kmqtt_session_key_hashfn(const void *data, u32 len, u32 seed)
{
	const struct kmqtt_session_key *key = data;

	return jhash(key->client_id, key->len, seed);
}

static u32 kmqtt_session_obj_hashfn(const void *data, u32 len, u32 seed)
{
	const struct kmqtt_session *session = data;

	return jhash(session->client_id, session->client_id_len, seed);
}

static int kmqtt_session_cmpfn(struct rhashtable_compare_arg *arg,
			       const void *obj)
{
	const struct kmqtt_session_key *key = arg->key;
	const struct kmqtt_session *session = obj;

	return session->client_id_len != key->len ||
	       memcmp(session->client_id, key->client_id, key->len);
}

static const struct rhashtable_params kmqtt_session_params = {
	.head_offset = offsetof(struct kmqtt_session, hash_node),
	.hashfn = kmqtt_session_key_hashfn,
	.obj_hashfn = kmqtt_session_obj_hashfn,
	.obj_cmpfn = kmqtt_session_cmpfn,
	.automatic_shrinking = true,
};

int kmqtt_session_index_init(struct kmqtt_broker *broker)
{
	int ret;

	ret = rhashtable_init(&broker->session_index, &kmqtt_session_params);
	if (ret)
		return ret;
	ret = rhashtable_init(&broker->subscription_index,
			      &kmqtt_subscription_params);
	if (ret)
		rhashtable_destroy(&broker->session_index);
	return ret;
}

/* Every session is gone, and its subscriptions with it. */
void kmqtt_session_index_destroy(struct kmqtt_broker *broker)
{
	rhashtable_destroy(&broker->subscription_index);
	rhashtable_destroy(&broker->session_index);
}

struct kmqtt_session *kmqtt_session_find(struct kmqtt_broker *broker,
					 const u8 *client_id, u16 len)
{
	struct kmqtt_session_key key = { client_id, len };

	lockdep_assert_held(&broker->sessions_lock);
	return rhashtable_lookup_fast(&broker->session_index, &key,
				      kmqtt_session_params);
}

static void kmqtt_session_expiry_work(struct work_struct *work);

static struct kmqtt_session *kmqtt_session_create(struct kmqtt_broker *broker,
						  const u8 *client_id, u16 len,
						  u32 expiry)
{
	struct kmqtt_session *session;

	lockdep_assert_held(&broker->sessions_lock);
	session = kmem_cache_zalloc(kmqtt_session_cache, GFP_KERNEL);
	if (!session)
		return NULL;
	session->client_id = kmemdup(client_id, len, GFP_KERNEL);
	if (!session->client_id) {
		kmem_cache_free(kmqtt_session_cache, session);
		return NULL;
	}
	session->broker = broker;
	session->id = ++broker->next_session_id;
	session->expiry = expiry;
	session->clean = !expiry;
	INIT_DELAYED_WORK(&session->expiry_work, kmqtt_session_expiry_work);
	kmqtt_will_init(session);
	spin_lock_init(&session->lock);
	INIT_LIST_HEAD(&session->queue);
	INIT_LIST_HEAD(&session->inflight);
	INIT_LIST_HEAD(&session->subscriptions);
	session->client_id_len = len;
	if (rhashtable_insert_fast(&broker->session_index, &session->hash_node,
				   kmqtt_session_params)) {
		kfree(session->client_id);
		kmem_cache_free(kmqtt_session_cache, session);
		return NULL;
	}
	list_add_tail(&session->node, &broker->sessions);
	broker->sessions_count++;
	return session;
}

static void kmqtt_session_unlink(struct kmqtt_session *session)
{
	struct kmqtt_broker *broker = session->broker;

	lockdep_assert_held(&broker->sessions_lock);
	rhashtable_remove_fast(&broker->session_index, &session->hash_node,
			       kmqtt_session_params);
	session->unlinked = true;
	list_del_init(&session->node);
	broker->sessions_count--;
}

static void kmqtt_session_remove_subscription(struct kmqtt_session *session,
					      struct kmqtt_subscription *sub)
{
	struct kmqtt_broker *broker = session->broker;

	const u8 *filter;
	size_t len;

	lockdep_assert_held(&broker->topics_lock);
	if (kmqtt_topic_share_split(sub->filter, sub->len, &filter, &len) > 0)
		kmqtt_share_leave(broker, sub->filter, sub->len, filter, len,
				  session);
	else
		WARN_ON(kmqtt_topic_unsubscribe(&broker->topics, sub->filter,
						sub->len, session));
	rhashtable_remove_fast(&broker->subscription_index, &sub->index,
			       kmqtt_subscription_params);
	list_del(&sub->node);
	kmqtt_broker_uncharge(broker, struct_size(sub, filter, sub->len));
	/* Looked up under topics_lock only, never under RCU alone. */
	kfree(sub);
	WRITE_ONCE(session->n_subscriptions, session->n_subscriptions - 1);
	broker->subscriptions--;
}

/*
 * Free an unlinked session with no connection.  Its expiry work must be
 * idle, or be the caller.
 */
static void kmqtt_session_free_rcu(struct rcu_head *rcu)
{
	struct kmqtt_session *session =
		container_of(rcu, struct kmqtt_session, rcu);

	kfree(session->client_id);
	kmem_cache_free(kmqtt_session_cache, session);
}

static void kmqtt_session_free(struct kmqtt_session *session)
{
	struct kmqtt_broker *broker = session->broker;
	struct kmqtt_subscription *sub, *tmp;

	spin_lock(&session->lock);
	session->dead = true;
	spin_unlock(&session->lock);

	mutex_lock(&broker->topics_lock);
	list_for_each_entry_safe(sub, tmp, &session->subscriptions, node)
		kmqtt_session_remove_subscription(session, sub);
	mutex_unlock(&broker->topics_lock);

	kmqtt_will_free(session);
	kmqtt_delivery_purge(session);
	kmqtt_acl_free(rcu_dereference_protected(session->acl, true));
	kfree(session->username);
	/* Fan-out may still hold the session from a match. */
	call_rcu(&session->rcu, kmqtt_session_free_rcu);
}

/*
 * Seconds an offline @session is kept: its own interval (5.0) under the
 * operator's limit; 0: for ever.
 */
static u32 kmqtt_session_expiry_secs(const struct kmqtt_session *session)
{
	u32 limit = READ_ONCE(session->broker->limits.session_expiry);

	if (session->expiry == MQTT_SESSION_EXPIRY_NEVER)
		return limit;
	return limit ? min(limit, session->expiry) : session->expiry;
}

/* Queue the expiry of an offline session, or cancel it when there is none. */
static void kmqtt_session_plan_expiry(struct kmqtt_session *session)
{
	struct kmqtt_broker *broker = session->broker;
	u32 expiry = kmqtt_session_expiry_secs(session);
	unsigned long deadline;

	lockdep_assert_held(&broker->sessions_lock);
	if (!expiry) {
		cancel_delayed_work(&session->expiry_work);
		return;
	}
	deadline = session->offline_since + (unsigned long)expiry * HZ;
	/* A longer wait than a timer's re-arms from the work. */
	mod_delayed_work(kmqtt_wq, &session->expiry_work,
			 time_after(deadline, jiffies) ?
			 min(deadline - jiffies, KMQTT_TIMER_MAX) : 0);
}

void kmqtt_session_expiry_changed(struct kmqtt_broker *broker)
{
	struct kmqtt_session *session;

	lockdep_assert_held(&broker->sessions_lock);
	list_for_each_entry(session, &broker->sessions, node)
		if (!rcu_access_pointer(session->conn))
			kmqtt_session_plan_expiry(session);
}

static void kmqtt_session_expiry_work(struct work_struct *work)
{
	struct kmqtt_session *session =
		container_of(to_delayed_work(work), struct kmqtt_session,
			     expiry_work);
	struct kmqtt_broker *broker = session->broker;
	u32 expiry;

	mutex_lock(&broker->sessions_lock);
	expiry = kmqtt_session_expiry_secs(session);
	/*
	 * A client came back, a clean start took the session, or the limit
	 * was lifted or raised, meanwhile.
	 */
	if (rcu_access_pointer(session->conn) ||
	    session->unlinked || !expiry) {
		mutex_unlock(&broker->sessions_lock);
		return;
	}
	if (time_before(jiffies, session->offline_since +
				 (unsigned long)expiry * HZ)) {
		kmqtt_session_plan_expiry(session);
		mutex_unlock(&broker->sessions_lock);
		return;
	}
	kmqtt_session_unlink(session);
	broker->sessions_expired++;
	mutex_unlock(&broker->sessions_lock);
	/* A re-plan may have queued this work again before the unlink. */
	cancel_delayed_work(&session->expiry_work);
	/* 3.1.3.2.2: the session ending ends a will's delay. */
	kmqtt_will_session_end(session);
	kmqtt_session_free(session);
}

/* The session now belongs to whoever the connecting client is. */
static int kmqtt_session_set_username(struct kmqtt_session *session,
				      const struct kmqtt_conn_params *params)
{
	u8 *username = NULL;

	if (params->username) {
		username = kmemdup(params->username, params->username_len,
				   GFP_KERNEL);
		if (!username)
			return -ENOMEM;
	}
	kfree(session->username);
	session->username = username;
	session->username_len = params->username_len;
	return 0;
}

struct kmqtt_session *kmqtt_session_attach(struct kmqtt_broker *broker,
					   struct kmqtt_conn *conn,
					   const struct kmqtt_conn_params *params,
					   bool *present,
					   struct kmqtt_conn **holder)
{
	const u8 *client_id = params->client_id;
	bool clean = params->clean_session;
	u16 len = params->client_id_len;
	struct kmqtt_session *session;
	struct kmqtt_acl *old_acl;
	int ret;

retry:
	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, client_id, len);
	*holder = session ? rcu_dereference_protected(session->conn,
				lockdep_is_held(&broker->sessions_lock)) : NULL;
	if (*holder) {
		kmqtt_conn_get(*holder);
		mutex_unlock(&broker->sessions_lock);
		return ERR_PTR(-EBUSY);
	}
	if (session && (clean || session->clean)) {
		/* MQTT-3.1.2-6: a clean start discards the stored session. */
		kmqtt_session_unlink(session);
		mutex_unlock(&broker->sessions_lock);
		cancel_delayed_work_sync(&session->expiry_work);
		/* Its end ends a will's delay, as Mosquitto has it. */
		kmqtt_will_session_end(session);
		kmqtt_session_free(session);
		goto retry;
	}

	*present = !!session;
	if (!session) {
		session = kmqtt_session_create(broker, client_id, len,
					       params->session_expiry);
		if (!session) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	/* The rules of the connecting client replace the stored ones. */
	old_acl = rcu_replace_pointer(session->acl, conn->acl,
				      lockdep_is_held(&broker->sessions_lock));
	kmqtt_session_acl_replaced(session);
	kmqtt_acl_free(old_acl);
	conn->acl = NULL;
	/* With its rules: a bridge's has none (kmqttd sends it none). */
	session->bridge = !!params->bridge;
	ret = kmqtt_session_set_username(session, params);
	/* A bridge link's CONNACK came from the remote broker. */
	if (!ret && !params->bridge)
		ret = kmqtt_send_connack(conn, *present, params->connack_props,
					 params->connack_props_len);
	if (ret) {
		if (*present)
			goto unlock;
		kmqtt_session_unlink(session);
		mutex_unlock(&broker->sessions_lock);
		/* Its free waits for work that takes sessions_lock. */
		kmqtt_session_free(session);
		return ERR_PTR(ret);
	}
	/* Expiry work that runs now finds the connection and stops. */
	cancel_delayed_work(&session->expiry_work);
	kmqtt_will_drop(session);
	/* Before the binding publishes @conn: its sends name the session. */
	conn->session = session;
	kmqtt_delivery_bind(session, conn);
unlock:
	mutex_unlock(&broker->sessions_lock);
	return ret ? ERR_PTR(ret) : session;
}

bool kmqtt_session_allows(struct kmqtt_session *session, const u8 *name,
			  u16 len, u8 access)
{
	const struct kmqtt_acl *acl;
	bool ok;

	rcu_read_lock();
	acl = rcu_dereference(session->acl);
	if (access == KMQTT_ACL_SUBSCRIBE)
		ok = kmqtt_acl_may_subscribe(acl, name, len);
	else
		ok = kmqtt_acl_allows(acl, name, len, access);
	rcu_read_unlock();
	return ok;
}

int kmqtt_session_set_acl(struct kmqtt_broker *broker, const u8 *client_id,
			  u16 len, struct kmqtt_acl *acl)
{
	struct kmqtt_session *session;

	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, client_id, len);
	if (session) {
		acl = rcu_replace_pointer(session->acl, acl,
					  lockdep_is_held(&broker->sessions_lock));
		kmqtt_session_acl_replaced(session);
		kmqtt_will_rules_set(session);
	}
	mutex_unlock(&broker->sessions_lock);
	kmqtt_acl_free(acl);
	return session ? 0 : -ENOENT;
}

struct kmqtt_conn *kmqtt_session_conn_get(struct kmqtt_broker *broker,
					  const u8 *client_id, u16 len)
{
	struct kmqtt_session *session;
	struct kmqtt_conn *conn = NULL;

	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, client_id, len);
	if (session)
		conn = rcu_dereference_protected(session->conn,
						 lockdep_is_held(&broker->sessions_lock));
	if (conn)
		kmqtt_conn_get(conn);
	mutex_unlock(&broker->sessions_lock);
	if (!conn)
		return ERR_PTR(session ? -ENOTCONN : -ENOENT);
	return conn;
}

int kmqtt_session_disconnect(struct kmqtt_broker *broker,
			     const u8 *client_id, u16 len)
{
	struct kmqtt_conn *conn = kmqtt_session_conn_get(broker, client_id,
							 len);

	if (IS_ERR(conn))
		return PTR_ERR(conn);
	kmqtt_conn_close(conn, KMQTT_CLOSE_ADMIN);
	kmqtt_conn_put(conn);
	return 0;
}

void kmqtt_session_detach(struct kmqtt_session *session,
			  struct kmqtt_conn *conn)
{
	struct kmqtt_broker *broker = session->broker;

	mutex_lock(&broker->sessions_lock);
	WARN_ON(rcu_access_pointer(session->conn) != conn);
	kmqtt_delivery_unbind(session);
	/* The interval of the last CONNECT, or of its DISCONNECT (5.0). */
	session->expiry = conn->session_expiry;
	session->clean = !session->expiry;
	if (session->clean) {
		kmqtt_session_unlink(session);
		mutex_unlock(&broker->sessions_lock);
		kmqtt_session_free(session);
		return;
	}
	session->offline_since = jiffies;
	kmqtt_session_plan_expiry(session);
	mutex_unlock(&broker->sessions_lock);
}

int kmqtt_session_restore(struct kmqtt_broker *broker, const u8 *client_id,
			  u16 len, u32 expiry, u32 offline_for,
			  const u8 *username, u16 username_len, bool bridge)
{
	/*
	 * No rules: nothing allowed until the agent sends the session's.  A
	 * bridge's gets none, as its link's ATTACH: everything allowed.
	 */
	struct kmqtt_acl *deny_all = bridge ? NULL : kmqtt_acl_alloc(0, 0);
	struct kmqtt_session *session, *old;
	u8 *name = NULL;
	u64 offline;
	int ret = 0;

	if (username)
		name = kmemdup(username, username_len, GFP_KERNEL);
	if ((!bridge && !deny_all) || (username && !name)) {
		ret = -ENOMEM;
		goto free;
	}
	mutex_lock(&broker->sessions_lock);
	old = kmqtt_session_find(broker, client_id, len);
	if (old && rcu_access_pointer(old->conn)) {
		ret = -EBUSY;
		goto unlock;
	}
	session = kmqtt_session_create(broker, client_id, len, expiry);
	if (!session) {
		ret = -ENOMEM;
		goto unlock;
	}
	/*
	 * A restore done again replaces the first one's, will and all.  Till
	 * then the index holds both: its insert does not look for the id,
	 * its remove takes the entry it is given, and every lookup holds
	 * sessions_lock, so none sees the two.
	 */
	if (old)
		kmqtt_session_unlink(old);
	session->username = name;
	session->username_len = username_len;
	name = NULL;
	session->bridge = bridge;
	rcu_assign_pointer(session->acl, deny_all);
	deny_all = NULL;
	/* Its expiry counts the time it was offline before (jiffies wrap). */
	offline = min_t(u64, offline_for, ULONG_MAX / 2 / HZ);
	session->offline_since = jiffies - (unsigned long)offline * HZ;
	kmqtt_session_plan_expiry(session);
unlock:
	mutex_unlock(&broker->sessions_lock);
	if (!ret && old) {
		cancel_delayed_work_sync(&old->expiry_work);
		kmqtt_session_free(old);
	}
free:
	kmqtt_acl_free(deny_all);
	kfree(name);
	return ret;
}

int kmqtt_session_restore_subscription(struct kmqtt_broker *broker,
				       const u8 *client_id, u16 len,
				       const u8 *filter, u16 filter_len,
				       u8 options, u32 sub_id)
{
	struct kmqtt_session *session;
	int ret = -ENOENT;
	bool existed;

	/* Held so that the session cannot expire meanwhile. */
	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, client_id, len);
	if (session)
		ret = kmqtt_session_subscribe(session, filter, filter_len,
					      options, sub_id, &existed) ==
		      MQTT_SUBACK_FAILURE ? -ENOSPC : 0;
	mutex_unlock(&broker->sessions_lock);
	return ret;
}

/* Which session a snapshot's batch is of: its id and client id. */
static void kmqtt_session_name(const struct kmqtt_session *session, u64 *id,
			       u8 *client_id, u16 *len)
{
	*id = session->id;
	*len = session->client_id_len;
	memcpy(client_id, session->client_id, *len);
}

int kmqtt_session_next_records(struct kmqtt_broker *broker, u64 after,
			       u64 *id, u8 *client_id, u16 *len,
			       struct kmqtt_delivery_record **recs)
{
	struct kmqtt_delivery_record *got = NULL, will;
	struct kmqtt_session *session;
	u32 n = 0, room, wills;

	mutex_lock(&broker->sessions_lock);
	list_for_each_entry(session, &broker->sessions, node) {
		if (session->id <= after || session->clean)
			continue;
		/* Its will, if one waits, after its messages. */
		wills = kmqtt_will_record(session, &will);
		room = READ_ONCE(session->n_inflight) +
		       READ_ONCE(session->n_queued);
		/*
		 * More may come meanwhile: room for some, and if that is
		 * not enough, again.
		 */
		while (room || wills) {
			room += room / 4 + 16;
			got = kvmalloc_array(room + wills, sizeof(*got),
					     GFP_KERNEL);
			if (!got) {
				if (wills)
					kmqtt_msg_put(will.msg);
				mutex_unlock(&broker->sessions_lock);
				return -ENOMEM;
			}
			n = kmqtt_delivery_records(session, got, room);
			if (n <= room)
				break;
			kvfree(got);
			got = NULL;
			room = n;
		}
		if (wills)
			got[n++] = will;
		if (n)
			break;
		kvfree(got);
		got = NULL;
	}
	if (n) {
		kmqtt_session_name(session, id, client_id, len);
		*recs = got;
	}
	mutex_unlock(&broker->sessions_lock);
	return n;
}

int kmqtt_session_restore_message(struct kmqtt_broker *broker,
				  const u8 *client_id, u16 len,
				  const struct kmqtt_delivery_record *rec)
{
	struct kmqtt_session *session;
	struct kmqtt_delivery *d;
	int ret;

	if (rec->will) {
		mutex_lock(&broker->sessions_lock);
		session = kmqtt_session_find(broker, client_id, len);
		ret = session ? kmqtt_will_restore(session, rec) : -ENOENT;
		mutex_unlock(&broker->sessions_lock);
		return ret;
	}
	ret = kmqtt_delivery_alloc_bulk(broker, GFP_KERNEL, 1, &d);
	if (ret)
		return ret;
	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, client_id, len);
	ret = session ? kmqtt_delivery_restore(session, rec, d) : -ENOENT;
	mutex_unlock(&broker->sessions_lock);
	if (ret)
		kmqtt_delivery_free_unused(broker, &d, 1);
	return ret;
}

int kmqtt_session_next_qos2(struct kmqtt_broker *broker, u64 after, u64 *id,
			    u8 *client_id, u16 *len, u16 **ids)
{
	struct kmqtt_session *session;
	unsigned long *received;
	unsigned int bit;
	u16 *got = NULL;
	u32 n = 0, room;

	mutex_lock(&broker->sessions_lock);
	list_for_each_entry(session, &broker->sessions, node) {
		/*
		 * Set by the attached connection's receive work alone, and
		 * freed only after the session leaves this list.
		 */
		received = smp_load_acquire(&session->qos2_received);
		if (session->id <= after || session->clean || !received)
			continue;
		/* An online one's change meanwhile: those of a moment. */
		room = bitmap_weight(received, U16_MAX + 1);
		if (!room)
			continue;
		room += room / 4 + 16;
		got = kvmalloc_array(room, sizeof(*got), GFP_KERNEL);
		if (!got) {
			mutex_unlock(&broker->sessions_lock);
			return -ENOMEM;
		}
		for_each_set_bit(bit, received, U16_MAX + 1) {
			if (n == room)
				break;
			got[n++] = bit;
		}
		if (n)
			break;
		kvfree(got);
		got = NULL;
	}
	if (n) {
		kmqtt_session_name(session, id, client_id, len);
		*ids = got;
	}
	mutex_unlock(&broker->sessions_lock);
	return n;
}

int kmqtt_session_restore_qos2(struct kmqtt_broker *broker,
			       const u8 *client_id, u16 len, const u16 *ids,
			       u32 n)
{
	struct kmqtt_session *session;
	int ret = 0;
	u32 i;

	/* Offline, under sessions_lock: no receive work touches its ids. */
	mutex_lock(&broker->sessions_lock);
	session = kmqtt_session_find(broker, client_id, len);
	if (!session)
		ret = -ENOENT;
	else if (rcu_access_pointer(session->conn))
		ret = -EBUSY;
	for (i = 0; !ret && i < n; i++)
		ret = kmqtt_delivery_qos2_restore(session, ids[i]);
	mutex_unlock(&broker->sessions_lock);
	return ret;
}

void kmqtt_session_destroy_all(struct kmqtt_broker *broker)
{
	struct kmqtt_session *session, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&broker->sessions_lock);
	list_for_each_entry_safe(session, tmp, &broker->sessions, node) {
		kmqtt_session_unlink(session);
		list_add(&session->node, &gone);
	}
	mutex_unlock(&broker->sessions_lock);
	list_for_each_entry_safe(session, tmp, &gone, node) {
		cancel_delayed_work_sync(&session->expiry_work);
		kmqtt_session_free(session);
	}
}

static struct kmqtt_subscription *
kmqtt_session_find_subscription(struct kmqtt_session *session,
				const u8 *filter, u16 len)
{
	const struct kmqtt_subscription_key key = {
		.session = session,
		.filter = filter,
		.len = len,
	};

	lockdep_assert_held(&session->broker->topics_lock);
	return rhashtable_lookup_fast(&session->broker->subscription_index,
				      &key, kmqtt_subscription_params);
}

/*
 * Put the session's (@filter, @options, @sub_id) in the tree: the filter
 * itself, or a shared subscription's group.  Returns >= 0 or -ENOMEM.
 */
static int kmqtt_session_tree_subscribe(struct kmqtt_session *session,
					const u8 *filter, u16 len, u8 options,
					u32 sub_id)
{
	struct kmqtt_broker *broker = session->broker;
	const u8 *shared;
	size_t shared_len;

	if (kmqtt_topic_share_split(filter, len, &shared, &shared_len) > 0)
		return kmqtt_share_join(broker, filter, len, shared,
					shared_len, session, options, sub_id);
	return kmqtt_topic_subscribe(&broker->topics, filter, len, session,
				     options, sub_id);
}

u8 kmqtt_session_subscribe(struct kmqtt_session *session, const u8 *filter,
			   u16 len, u8 options, u32 sub_id, bool *existed)
{
	struct kmqtt_broker *broker = session->broker;
	const u8 *tree_filter = filter;
	size_t tree_len = len;
	struct kmqtt_subscription *sub;
	u8 granted = MQTT_SUBACK_FAILURE;
	size_t size;
	u32 levels;
	int ret;

	/* A shared one's trie path is its FILTER's (validated by the caller). */
	kmqtt_topic_share_split(filter, len, &tree_filter, &tree_len);
	levels = kmqtt_topic_levels(tree_filter, tree_len);
	mutex_lock(&broker->topics_lock);
	sub = kmqtt_session_find_subscription(session, filter, len);
	*existed = sub;
	if (sub) {
		/* MQTT-3.8.4-3: a repeated filter replaces the old one. */
		ret = kmqtt_session_tree_subscribe(session, filter, len,
						   options, sub_id);
		if (ret >= 0) {
			sub->options = options;
			sub->sub_id = sub_id;
			granted = options & MQTT_SUBOPT_QOS_MASK;
		}
		goto out;
	}
	/* A new filter may cost a trie node per level: refused before any. */
	if (session->n_subscriptions >=
	    READ_ONCE(broker->limits.max_subscriptions) ||
	    levels > READ_ONCE(broker->limits.max_topic_levels))
		goto out;
	size = struct_size(sub, filter, len);
	if (!kmqtt_broker_charge(broker, size))
		goto out;
	sub = kmalloc(size, GFP_KERNEL);
	if (!sub)
		goto uncharge;
	sub->session = session;
	sub->sub_id = sub_id;
	sub->options = options;
	sub->len = len;
	memcpy(sub->filter, filter, len);
	if (rhashtable_insert_fast(&broker->subscription_index, &sub->index,
				   kmqtt_subscription_params))
		goto free;
	ret = kmqtt_session_tree_subscribe(session, filter, len, options,
					   sub_id);
	if (ret < 0) {
		rhashtable_remove_fast(&broker->subscription_index,
				       &sub->index, kmqtt_subscription_params);
		goto free;
	}
	list_add_tail(&sub->node, &session->subscriptions);
	WRITE_ONCE(session->n_subscriptions, session->n_subscriptions + 1);
	broker->subscriptions++;
	mutex_unlock(&broker->topics_lock);
	return options & MQTT_SUBOPT_QOS_MASK;

free:
	kfree(sub);
uncharge:
	kmqtt_broker_uncharge(broker, size);
out:
	mutex_unlock(&broker->topics_lock);
	return granted;
}

int kmqtt_session_unsubscribe(struct kmqtt_session *session, const u8 *filter,
			      u16 len)
{
	struct kmqtt_broker *broker = session->broker;
	struct kmqtt_subscription *sub;
	int ret = -ENOENT;

	mutex_lock(&broker->topics_lock);
	sub = kmqtt_session_find_subscription(session, filter, len);
	if (sub) {
		kmqtt_session_remove_subscription(session, sub);
		ret = 0;
	}
	mutex_unlock(&broker->topics_lock);
	return ret;
}

void kmqtt_session_prune(struct kmqtt_session *session,
			 bool (*keep)(const u8 *filter, u16 len,
				      const void *arg),
			 const void *arg)
{
	struct kmqtt_broker *broker = session->broker;
	struct kmqtt_subscription *sub, *tmp;

	mutex_lock(&broker->topics_lock);
	list_for_each_entry_safe(sub, tmp, &session->subscriptions, node)
		if (!keep(sub->filter, sub->len, arg))
			kmqtt_session_remove_subscription(session, sub);
	mutex_unlock(&broker->topics_lock);
}

int kmqtt_session_init(void)
{
	kmqtt_session_cache = KMEM_CACHE(kmqtt_session, 0);
	return kmqtt_session_cache ? 0 : -ENOMEM;
}

void kmqtt_session_exit(void)
{
	/* Sessions are freed after a grace period. */
	rcu_barrier();
	kmem_cache_destroy(kmqtt_session_cache);
}
