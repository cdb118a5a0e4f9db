// SPDX-License-Identifier: GPL-2.0
/* The tests' requests, waits and raw requests (kmqtt_genl.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kmqtt_genl.h"

int kmqtt_genl_open(struct kmqtt_genl *g)
{
	int err;

	memset(g, 0, sizeof(*g));
	err = kmqtt_nl_connect(&g->nl);
	if (err)
		fprintf(stderr, "# %s\n", g->nl.error);
	return err;
}

void kmqtt_genl_close(struct kmqtt_genl *g)
{
	kmqtt_nl_close(&g->nl);
	free(g->closed);
	g->closed = NULL;
	g->closed_count = 0;
	g->closed_room = 0;
}

int kmqtt_genl_attach(struct kmqtt_genl *g, const struct kmqtt_attach_req *req,
		      uint64_t *conn_id)
{
	struct kmqtt_nl_attach a = {
		.fd = req->fd,
		.client_id = req->client_id,
		.client_id_len = strlen(req->client_id),
		.proto_level = req->proto_level,
		.keepalive = req->keepalive,
		.clean_session = req->clean_session,
		.will = !!req->will_topic,
		.will_qos = req->will_qos,
		.will_topic = (const uint8_t *)req->will_topic,
		.will_topic_len = req->will_topic ? strlen(req->will_topic) : 0,
		.will_payload = (const uint8_t *)req->will_payload,
		.will_payload_len = req->will_topic ?
				    strlen(req->will_payload) : 0,
		.pending = req->pending,
		.pending_len = req->pending_len,
		.mount_point = req->mount_point,
		.mount_point_len = req->mount_point ?
				   strlen(req->mount_point) : 0,
		.session_expiry = req->session_expiry,
		.receive_max = req->receive_max,
		.max_packet_out = req->max_packet_out,
		.topic_alias_max = req->topic_alias_max,
		.will_delay = req->will_delay,
		.auth_method = req->auth_method,
		.connack_props = req->connack_props,
		.connack_props_len = req->connack_props_len,
		.will_props = req->will_props,
		.will_props_len = req->will_props_len,
		.bridge_topics = req->bridge,
		.bridge_topics_count = req->bridge_count,
		.peer_bridge = req->peer_bridge,
		.bridge_queue_qos0 = req->bridge_queue_qos0,
		.websocket = req->websocket,
		.ws_frame_left = req->ws_frame_left,
		.ws_mask = req->ws_mask,
		.ws_continued = req->ws_continued,
	};
	/* The library does not change the rules it sends. */
	struct acl_rules acl = { .rule = (struct acl_rule *)req->acl,
				 .count = req->acl_count };
	struct kmqtt_nl_attached reply;
	int err;

	if (acl.count)
		a.acl = &acl;
	err = kmqtt_nl_attach(&g->nl, &a, &reply);
	*conn_id = reply.conn_id;
	return err;
}

int kmqtt_genl_set_acl(struct kmqtt_genl *g, const char *client_id,
		       const struct acl_rule *acl, size_t n)
{
	struct acl_rules rules = { .rule = (struct acl_rule *)acl, .count = n };

	return kmqtt_nl_set_acl(&g->nl, client_id, &rules);
}

int kmqtt_genl_get_info(struct kmqtt_genl *g,
			uint64_t stats[KMQTT_STAT_MAX + 1])
{
	struct kmqtt_nl_info info;
	int err = kmqtt_nl_get_info(&g->nl, &info);

	memcpy(stats, info.stats, sizeof(info.stats));
	return err;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kmqtt_genl_get_stat(struct kmqtt_genl *g, enum kmqtt_stat id,
			uint64_t *value)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];
	int err = kmqtt_genl_get_info(g, stats);

	if (!err)
		*value = stats[id];
	return err;
}

int kmqtt_genl_wait_stat(struct kmqtt_genl *g, enum kmqtt_stat id,
			 uint64_t lo, uint64_t hi, int timeout_ms,
			 uint64_t *value)
{
	int64_t deadline = now_ms() + timeout_ms;
	int err;

	for (;;) {
		err = kmqtt_genl_get_stat(g, id, value);
		if (err || (*value >= lo && *value < hi))
			return err;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

int kmqtt_genl_get_limits(struct kmqtt_genl *g,
			  uint64_t limits[KMQTT_LIMIT_MAX + 1])
{
	struct kmqtt_nl_info info;
	int err = kmqtt_nl_get_info(&g->nl, &info);

	memcpy(limits, info.limits.value, sizeof(info.limits.value));
	return err;
}

int kmqtt_genl_set_limits(struct kmqtt_genl *g,
			  const uint64_t limits[KMQTT_LIMIT_MAX + 1],
			  uint32_t mask)
{
	struct kmqtt_nl_limits l = { .mask = mask };

	memcpy(l.value, limits, sizeof(l.value));
	return kmqtt_nl_set_limits(&g->nl, &l);
}

int kmqtt_genl_set_limit(struct kmqtt_genl *g, enum kmqtt_limit id,
			 uint64_t value)
{
	struct kmqtt_nl_limits l = { .mask = KMQTT_NL_LIMIT_BIT(id) };

	l.value[id] = value;
	return kmqtt_nl_set_limits(&g->nl, &l);
}

/*
 * The connections or sessions of a dump that a lookup matches: by client
 * id when client_id is set, else by conn_id.  The last match is kept.
 */
struct dump_match {
	const char *client_id;
	uint64_t conn_id;
	size_t n;
	struct kmqtt_nl_conn conn;
	struct kmqtt_nl_session session;
};

/* Counts the entry when it matches: true to keep it. */
static bool count_match(struct dump_match *m, const char *client_id,
			uint64_t conn_id)
{
	if (m->client_id ? strcmp(client_id, m->client_id) :
			   conn_id != m->conn_id)
		return false;
	m->n++;
	return true;
}

static void match_conn(const struct kmqtt_nl_conn *conn, void *arg)
{
	struct dump_match *m = arg;

	if (count_match(m, conn->client_id, conn->id))
		m->conn = *conn;
}

static void match_session(const struct kmqtt_nl_session *s, void *arg)
{
	struct dump_match *m = arg;

	if (count_match(m, s->client_id, s->conn_id))
		m->session = *s;
}

static void match_subscription(const struct kmqtt_nl_subscription *s,
			       void *arg)
{
	count_match(arg, s->client_id, 0);
}

/* Walk the dump of cmd with *m: 0, or the dump's error. */
static int dump_match(struct kmqtt_genl *g, uint8_t cmd, struct dump_match *m)
{
	switch (cmd) {
	case KMQTT_CMD_GET_CONN:
		return kmqtt_nl_dump_conns(&g->nl, match_conn, m);
	case KMQTT_CMD_GET_SESSION:
		return kmqtt_nl_dump_sessions(&g->nl, match_session, m);
	case KMQTT_CMD_GET_SUBSCRIPTION:
		return kmqtt_nl_dump_subscriptions(&g->nl, match_subscription,
						   m);
	}
	return -EINVAL;
}

/* One lookup of cmd's dump: 0, -ENOENT without a match, or its error. */
static int find(struct kmqtt_genl *g, uint8_t cmd, struct dump_match *m)
{
	int err = dump_match(g, cmd, m);

	return err ? err : m->n ? 0 : -ENOENT;
}

int kmqtt_genl_dump_count(struct kmqtt_genl *g, uint8_t cmd,
			  const char *client_id, size_t *n)
{
	struct dump_match m = { .client_id = client_id };
	int err = dump_match(g, cmd, &m);

	*n = m.n;
	return err;
}

int kmqtt_genl_find_conn(struct kmqtt_genl *g, const char *client_id,
			 uint64_t *conn_id)
{
	struct dump_match m = { .client_id = client_id };
	int err = find(g, KMQTT_CMD_GET_CONN, &m);

	if (!err)
		*conn_id = m.conn.id;
	return err;
}

int kmqtt_genl_conn_stats(struct kmqtt_genl *g, const char *client_id,
			  uint64_t stats[KMQTT_STAT_MAX + 1])
{
	struct dump_match m = { .client_id = client_id };
	int err = find(g, KMQTT_CMD_GET_CONN, &m);

	memcpy(stats, m.conn.stats, sizeof(m.conn.stats));
	return err;
}

int kmqtt_genl_get_conn_stats(struct kmqtt_genl *g, uint64_t conn_id,
			      uint64_t stats[KMQTT_STAT_MAX + 1])
{
	struct dump_match m = { .conn_id = conn_id };
	int err = find(g, KMQTT_CMD_GET_CONN, &m);

	memcpy(stats, m.conn.stats, sizeof(m.conn.stats));
	return err;
}

/* A subscription looked up by client id and filter. */
struct sub_match {
	const char *client_id;
	const char *filter;
	bool found;
	uint8_t options;
};

static void match_sub_options(const struct kmqtt_nl_subscription *s,
			      void *arg)
{
	struct sub_match *m = arg;

	if (strcmp(s->client_id, m->client_id) || strcmp(s->filter, m->filter))
		return;
	m->found = true;
	m->options = s->options;
}

int kmqtt_genl_sub_options(struct kmqtt_genl *g, const char *client_id,
			   const char *filter, uint8_t *options)
{
	struct sub_match m = { .client_id = client_id, .filter = filter };
	int err = kmqtt_nl_dump_subscriptions(&g->nl, match_sub_options, &m);

	if (!err && !m.found)
		err = -ENOENT;
	*options = m.options;
	return err;
}

/* Connection ids in the order of the dump, as many as fit. */
struct conn_ids {
	uint64_t *ids;
	size_t max, n;
};

static void add_conn_id(const struct kmqtt_nl_conn *conn, void *arg)
{
	struct conn_ids *list = arg;

	if (list->n < list->max)
		list->ids[list->n] = conn->id;
	list->n++;
}

int kmqtt_genl_dump_conns(struct kmqtt_genl *g, uint64_t *ids, size_t max,
			  size_t *n)
{
	struct conn_ids list = { .ids = ids, .max = max };
	int err = kmqtt_nl_dump_conns(&g->nl, add_conn_id, &list);

	*n = list.n;
	return err;
}

int kmqtt_genl_get_session(struct kmqtt_genl *g, const char *client_id,
			   struct kmqtt_session_info *info)
{
	struct dump_match m = { .client_id = client_id };
	int err = find(g, KMQTT_CMD_GET_SESSION, &m);

	info->online = m.session.online;
	info->clean_session = m.session.clean_session;
	memcpy(info->stats, m.session.stats, sizeof(info->stats));
	return err;
}

int kmqtt_genl_session_conn_id(struct kmqtt_genl *g, const char *client_id,
			       uint64_t *conn_id)
{
	struct dump_match m = { .client_id = client_id };
	int err = find(g, KMQTT_CMD_GET_SESSION, &m);

	if (!err && !m.session.online)
		err = -ENOENT;
	if (!err)
		*conn_id = m.session.conn_id;
	return err;
}

int kmqtt_genl_wait_session(struct kmqtt_genl *g, const char *client_id,
			    enum kmqtt_session_state state, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct kmqtt_session_info info;
	enum kmqtt_session_state now;
	int err;

	for (;;) {
		err = kmqtt_genl_get_session(g, client_id, &info);
		if (err && err != -ENOENT)
			return err;
		now = err ? KMQTT_SESSION_GONE : info.online ?
		      KMQTT_SESSION_ONLINE : KMQTT_SESSION_OFFLINE;
		if (now == state)
			return 0;
		if (now_ms() >= deadline) {
			fprintf(stderr, "# session %s: state %d, waited for %d\n",
				client_id, now, state);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
}

/* Keeps each event for the waits: they read the socket dry. */
static void queue_closed(const struct kmqtt_nl_closed *ev, void *arg)
{
	struct kmqtt_genl *g = arg;
	struct kmqtt_nl_closed *more;
	size_t room;

	if (g->closed_count == g->closed_room) {
		room = g->closed_room ? 2 * g->closed_room : 16;
		more = realloc(g->closed, room * sizeof(*more));
		if (!more)
			return;	/* the wait times out, as for a lost event */
		g->closed = more;
		g->closed_room = room;
	}
	g->closed[g->closed_count++] = *ev;
}

static void keep_auth(const struct kmqtt_nl_auth *ev, void *arg)
{
	struct kmqtt_genl *g = arg;
	struct kmqtt_genl_auth *a = &g->auth;

	a->conn_id = ev->conn_id;
	memcpy(a->client_id, ev->client_id, sizeof(a->client_id));
	a->reason = ev->reason;
	a->has_data = ev->data;
	a->data_len = ev->data_len < sizeof(a->data) ? ev->data_len :
						       sizeof(a->data);
	if (ev->data)
		memcpy(a->data, ev->data, a->data_len);
	g->auth_seen = true;
}

int kmqtt_genl_join_events(struct kmqtt_genl *g)
{
	kmqtt_nl_on_auth(&g->nl, keep_auth, g);
	return kmqtt_nl_subscribe(&g->nl, queue_closed, g);
}

/* Which CONN_CLOSED event to wait for: any when both are unset. */
struct closed_wait {
	uint64_t conn_id;
	const char *client_id;
};

/*
 * Take the first queued event @w waits for into *ev, with those before
 * it, which no one waits for; without one, drop them all.
 */
static bool take_closed(struct kmqtt_genl *g, const struct closed_wait *w,
			struct kmqtt_nl_closed *ev)
{
	const struct kmqtt_nl_closed *c;
	size_t i;

	for (i = 0; i < g->closed_count; i++) {
		c = &g->closed[i];
		if ((w->conn_id && c->conn_id != w->conn_id) ||
		    (w->client_id && strcmp(c->client_id, w->client_id)))
			continue;
		*ev = *c;
		g->closed_count -= i + 1;
		memmove(g->closed, c + 1, g->closed_count * sizeof(*c));
		return true;
	}
	g->closed_count = 0;
	return false;
}

/* Read events until @taken(g, arg) says the one waited for came. */
static int wait_event(struct kmqtt_genl *g, int timeout_ms,
		      bool (*taken)(struct kmqtt_genl *g, void *arg), void *arg)
{
	struct pollfd pfd = { .fd = kmqtt_nl_events_fd(&g->nl),
			      .events = POLLIN };
	int64_t deadline = now_ms() + timeout_ms;
	int64_t left;
	int err;

	while (!taken(g, arg)) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) > 0) {
			err = kmqtt_nl_events_read(&g->nl);
			if (err)
				return err;
		}
	}
	return 0;
}

struct closed_taken {
	const struct closed_wait *w;
	struct kmqtt_nl_closed *ev;
};

static bool closed_taken(struct kmqtt_genl *g, void *arg)
{
	struct closed_taken *t = arg;

	return take_closed(g, t->w, t->ev);
}

static int wait_closed(struct kmqtt_genl *g, const struct closed_wait *w,
		       int timeout_ms, struct kmqtt_nl_closed *ev)
{
	struct closed_taken t = { .w = w, .ev = ev };

	return wait_event(g, timeout_ms, closed_taken, &t);
}

static bool auth_taken(struct kmqtt_genl *g, void *arg)
{
	struct kmqtt_genl_auth *ev = arg;

	if (!g->auth_seen)
		return false;
	*ev = g->auth;
	g->auth_seen = false;
	return true;
}

int kmqtt_genl_wait_auth(struct kmqtt_genl *g, int timeout_ms,
			 struct kmqtt_genl_auth *ev)
{
	return wait_event(g, timeout_ms, auth_taken, ev);
}

int kmqtt_genl_wait_closed(struct kmqtt_genl *g, uint64_t conn_id,
			   int timeout_ms, struct kmqtt_nl_closed *ev)
{
	struct closed_wait w = { .conn_id = conn_id };

	return wait_closed(g, &w, timeout_ms, ev);
}

int kmqtt_genl_wait_closed_client(struct kmqtt_genl *g, const char *client_id,
				  int timeout_ms, struct kmqtt_nl_closed *ev)
{
	struct closed_wait w = { .client_id = client_id };

	return wait_closed(g, &w, timeout_ms, ev);
}

int kmqtt_genl_next_closed(struct kmqtt_genl *g, int timeout_ms,
			   struct kmqtt_nl_closed *ev)
{
	struct closed_wait w = { 0 };

	return wait_closed(g, &w, timeout_ms, ev);
}

#define RAW_TIMEOUT_S	5
#define RAW_BUF_SIZE	32768

/* Attributes of a raw request, encoded by hand. */
struct raw_attrs {
	uint8_t data[1024];
	size_t len;
	bool overflow;
};

static void raw_put(struct raw_attrs *a, uint16_t type, const void *data,
		    size_t len)
{
	struct nlattr nla = { .nla_len = NLA_HDRLEN + len, .nla_type = type };

	if (a->len + NLA_ALIGN(nla.nla_len) > sizeof(a->data)) {
		a->overflow = true;
		return;
	}
	memcpy(a->data + a->len, &nla, sizeof(nla));
	memcpy(a->data + a->len + NLA_HDRLEN, data, len);
	memset(a->data + a->len + nla.nla_len, 0,
	       NLA_ALIGN(nla.nla_len) - nla.nla_len);
	a->len += NLA_ALIGN(nla.nla_len);
}

/* The next attribute of the *left bytes at *p, or NULL at their end. */
static const struct nlattr *raw_next(const uint8_t **p, size_t *left)
{
	const struct nlattr *a = (const struct nlattr *)*p;
	size_t step;

	if (*left < NLA_HDRLEN || a->nla_len < NLA_HDRLEN ||
	    a->nla_len > *left)
		return NULL;
	step = NLA_ALIGN(a->nla_len);
	if (step > *left)
		step = *left;
	*p += step;
	*left -= step;
	return a;
}

/* An attribute's unsigned value, of whichever width it has. */
static uint64_t raw_uint(const struct nlattr *a)
{
	const uint8_t *v = (const uint8_t *)a + NLA_HDRLEN;
	uint64_t u64 = 0;
	uint32_t u32 = 0;
	uint16_t u16 = 0;

	switch (a->nla_len - NLA_HDRLEN) {
	case 1:
		return v[0];
	case 2:
		memcpy(&u16, v, sizeof(u16));
		return u16;
	case 4:
		memcpy(&u32, v, sizeof(u32));
		return u32;
	case 8:
		memcpy(&u64, v, sizeof(u64));
		return u64;
	}
	return 0;
}

/* A string attribute into buf (size bytes), cut there and terminated. */
static void raw_string(const struct nlattr *a, char *buf, size_t size)
{
	size_t n = a->nla_len - NLA_HDRLEN;

	if (n > size - 1)
		n = size - 1;
	memcpy(buf, (const uint8_t *)a + NLA_HDRLEN, n);
	buf[n] = '\0';
}

/* The attributes of a genetlink message. */
static const uint8_t *raw_attrs_of(const struct nlmsghdr *nh, size_t *left)
{
	*left = nh->nlmsg_len > NLMSG_LENGTH(GENL_HDRLEN) ?
		nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN) : 0;
	return (const uint8_t *)NLMSG_DATA(nh) + GENL_HDRLEN;
}

/* NLMSGERR_ATTR_MSG among the TLVs from offset off of nh, if any. */
static void raw_extack(const struct nlmsghdr *nh, size_t off,
		       struct kmqtt_genl_ack *ack)
{
	const struct nlattr *a;
	size_t n;

	if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	while (off + NLA_HDRLEN <= nh->nlmsg_len) {
		a = (const struct nlattr *)((const uint8_t *)nh + off);
		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nh->nlmsg_len)
			return;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			n = a->nla_len - NLA_HDRLEN;
			if (n > sizeof(ack->msg) - 1)
				n = sizeof(ack->msg) - 1;
			memcpy(ack->msg, (const uint8_t *)a + NLA_HDRLEN, n);
			ack->msg[n] = '\0';
			/* The kernel's string includes its NUL. */
			ack->msg[strnlen(ack->msg, n)] = '\0';
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

/* One message of the answer to seq: true when it ends the request. */
static bool raw_answer(const struct nlmsghdr *nh, struct kmqtt_genl_ack *ack)
{
	const struct nlmsgerr *e;
	size_t payload;

	switch (nh->nlmsg_type) {
	case NLMSG_ERROR:
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
			ack->err = -EPROTO;
			return true;
		}
		e = NLMSG_DATA(nh);
		ack->err = e->error;
		payload = sizeof(*e);
		if (!(nh->nlmsg_flags & NLM_F_CAPPED))
			payload += e->msg.nlmsg_len - NLMSG_HDRLEN;
		raw_extack(nh, NLMSG_HDRLEN + NLMSG_ALIGN(payload), ack);
		return true;
	case NLMSG_DONE:
		if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
			memcpy(&ack->err, NLMSG_DATA(nh), sizeof(int));
		raw_extack(nh, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int)), ack);
		return true;
	default:
		ack->replies++;
		/* A doit's reply without NLM_F_ACK asked for ends it too. */
		return false;
	}
}

/* A message of the answer, before its ack or NLMSG_DONE. */
typedef void (*raw_reply_fn)(const struct nlmsghdr *nh, void *arg);

/* kmqtt_genl_raw_request(), each reply handed to @fn (NULL: none). */
static int raw_call(int family, uint8_t cmd, uint8_t version,
		    uint16_t nlflags, const void *attrs, size_t len,
		    struct kmqtt_genl_ack *ack, raw_reply_fn fn, void *arg)
{
	static uint32_t seq_counter;
	struct timeval tv = { .tv_sec = RAW_TIMEOUT_S };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	uint32_t seq = (uint32_t)time(NULL) + ++seq_counter;
	struct nlmsghdr *nh;
	struct genlmsghdr *gh;
	int one = 1, fd, err = 0;
	bool done = false;
	uint8_t *buf;
	ssize_t n;

	memset(ack, 0, sizeof(*ack));
	if (len > RAW_BUF_SIZE - NLMSG_LENGTH(GENL_HDRLEN))
		return -EMSGSIZE;
	buf = calloc(1, RAW_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		err = -errno;
		goto out;
	}

	nh = (struct nlmsghdr *)buf;
	nh->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + len);
	nh->nlmsg_type = family;
	nh->nlmsg_flags = NLM_F_REQUEST | nlflags;
	nh->nlmsg_seq = seq;
	gh = NLMSG_DATA(nh);
	gh->cmd = cmd;
	gh->version = version;
	if (len)
		memcpy((uint8_t *)gh + GENL_HDRLEN, attrs, len);
	if (sendto(fd, buf, nh->nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0) {
		err = -errno;
		goto out;
	}

	while (!done) {
		n = recv(fd, buf, RAW_BUF_SIZE, 0);
		if (n < 0) {
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		for (nh = (struct nlmsghdr *)buf; !done && NLMSG_OK(nh, n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (fn && nh->nlmsg_type == family)
				fn(nh, arg);
			done = raw_answer(nh, ack) ||
			       (!(nlflags & (NLM_F_ACK | NLM_F_DUMP)) &&
				!(nh->nlmsg_flags & NLM_F_MULTI));
		}
	}
out:
	close(fd);
	free(buf);
	return err;
}

int kmqtt_genl_raw_request(int family, uint8_t cmd, uint8_t version,
			   uint16_t nlflags, const void *attrs, size_t len,
			   struct kmqtt_genl_ack *ack)
{
	return raw_call(family, cmd, version, nlflags, attrs, len, ack, NULL,
			NULL);
}

int kmqtt_genl_raw_attach(int family, uint8_t version,
			  const struct kmqtt_attach_req *req,
			  struct kmqtt_genl_ack *ack)
{
	struct raw_attrs a = { .len = 0 };
	uint32_t fd = req->fd;
	uint8_t level = req->proto_level, clean = req->clean_session;
	uint16_t keepalive = req->keepalive;

	raw_put(&a, KMQTT_A_SOCK_FD, &fd, sizeof(fd));
	raw_put(&a, KMQTT_A_CLIENT_ID, req->client_id, strlen(req->client_id));
	raw_put(&a, KMQTT_A_PROTO_LEVEL, &level, sizeof(level));
	raw_put(&a, KMQTT_A_KEEPALIVE, &keepalive, sizeof(keepalive));
	raw_put(&a, KMQTT_A_CLEAN_SESSION, &clean, sizeof(clean));
	if (a.overflow)
		return -EMSGSIZE;
	return kmqtt_genl_raw_request(family, KMQTT_CMD_ATTACH, version,
				      NLM_F_ACK, a.data, a.len, ack);
}

/* The answer to a request by hand: the module's -errno, said in nl.error. */
static int raw_answered(struct kmqtt_genl *g, int err,
			const struct kmqtt_genl_ack *ack)
{
	if (!err)
		err = ack->err;
	if (err)
		snprintf(g->nl.error, sizeof(g->nl.error), "%s%s%.200s",
			 strerror(-err), ack->msg[0] ? ": " : "", ack->msg);
	return err;
}

/* A GET_SESSION message into *arg, a struct kmqtt_genl_session. */
static void raw_session(const struct nlmsghdr *nh, void *arg)
{
	struct kmqtt_genl_session *gs = arg;
	struct kmqtt_nl_session *s = &gs->s;
	const struct nlattr *a, *stat;
	const uint8_t *p, *q;
	size_t left, in;
	uint16_t type;

	gs->multi = nh->nlmsg_flags & NLM_F_MULTI;
	p = raw_attrs_of(nh, &left);
	while ((a = raw_next(&p, &left))) {
		switch (a->nla_type & NLA_TYPE_MASK) {
		case KMQTT_A_CLIENT_ID:
			raw_string(a, s->client_id, sizeof(s->client_id));
			break;
		case KMQTT_A_CLEAN_SESSION:
			s->clean_session = raw_uint(a);
			break;
		case KMQTT_A_ONLINE:
			s->online = raw_uint(a);
			break;
		case KMQTT_A_CONN_ID:
			s->conn_id = raw_uint(a);
			break;
		case KMQTT_A_USERNAME:
			s->has_username = true;
			raw_string(a, s->username, sizeof(s->username));
			break;
		case KMQTT_A_SESSION_EXPIRY:
			s->session_expiry = raw_uint(a);
			break;
		case KMQTT_A_OFFLINE_FOR:
			gs->has_offline_for = true;
			s->offline_for = raw_uint(a);
			break;
		case KMQTT_A_BRIDGE_LINK:
			s->bridge = raw_uint(a);
			break;
		case KMQTT_A_STATS:
			q = (const uint8_t *)a + NLA_HDRLEN;
			in = a->nla_len - NLA_HDRLEN;
			while ((stat = raw_next(&q, &in))) {
				type = stat->nla_type & NLA_TYPE_MASK;
				if (type > KMQTT_STAT_MAX)
					continue;
				gs->has_stat[type] = true;
				s->stats[type] = raw_uint(stat);
			}
			break;
		}
	}
}

int kmqtt_genl_session_doit(struct kmqtt_genl *g, const char *client_id,
			    struct kmqtt_genl_session *s,
			    struct kmqtt_genl_ack *ack)
{
	struct raw_attrs a = { .len = 0 };
	int err;

	memset(s, 0, sizeof(*s));
	raw_put(&a, KMQTT_A_CLIENT_ID, client_id, strlen(client_id));
	if (a.overflow)
		return -EMSGSIZE;
	err = raw_call(g->nl.family, KMQTT_CMD_GET_SESSION, KMQTT_GENL_VERSION,
		       NLM_F_ACK, a.data, a.len, ack, raw_session, s);
	return raw_answered(g, err, ack);
}

int kmqtt_genl_set_bridge_session(struct kmqtt_genl *g, const char *client_id,
				  uint32_t expiry, uint8_t bridge_link,
				  struct kmqtt_genl_ack *ack)
{
	struct raw_attrs a = { .len = 0 };
	int err;

	raw_put(&a, KMQTT_A_CLIENT_ID, client_id, strlen(client_id));
	raw_put(&a, KMQTT_A_SESSION_EXPIRY, &expiry, sizeof(expiry));
	raw_put(&a, KMQTT_A_BRIDGE_LINK, &bridge_link, sizeof(bridge_link));
	if (a.overflow)
		return -EMSGSIZE;
	err = raw_call(g->nl.family, KMQTT_CMD_SET_SESSION, KMQTT_GENL_VERSION,
		       NLM_F_ACK, a.data, a.len, ack, NULL, NULL);
	return raw_answered(g, err, ack);
}

int kmqtt_genl_publish(struct kmqtt_genl *g, const char *topic,
		       const char *payload, uint8_t qos, bool retain)
{
	size_t tlen = strlen(topic), plen = strlen(payload);
	struct kmqtt_nl_msg m = { .qos = qos, .len = 2 + tlen + 1 + plen };
	uint8_t *data = malloc(m.len);
	int err;

	if (!data || tlen > UINT16_MAX) {
		free(data);
		return -ENOMEM;
	}
	/* The stored form: topic with its length, no properties, payload. */
	data[0] = (uint8_t)(tlen >> 8);
	data[1] = (uint8_t)tlen;
	memcpy(data + 2, topic, tlen);
	data[2 + tlen] = 0;
	memcpy(data + 3 + tlen, payload, plen);
	m.data = data;
	err = kmqtt_nl_publish(&g->nl, &m, retain);
	free(data);
	return err;
}
