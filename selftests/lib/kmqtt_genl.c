// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <kmqtt/limits.h>

#include "kmqtt_genl.h"

/* State of one request: done once ACK, DONE or an error arrived. */
struct transaction {
	bool done;
	int err;
	int (*parse)(struct nlattr **attrs, void *arg);
	void *arg;
};

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct transaction *t = arg;

	(void)nla;
	t->err = e->error;
	t->done = true;
	return NL_STOP;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct transaction *t = arg;

	(void)msg;
	t->done = true;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct transaction *t = arg;
	struct nlattr *attrs[KMQTT_A_MAX + 1];
	int err;

	err = genlmsg_parse(nlmsg_hdr(msg), 0, attrs, KMQTT_A_MAX, NULL);
	if (err) {
		t->err = -EPROTO;
		return NL_SKIP;
	}
	if (t->parse && !t->err)
		t->err = t->parse(attrs, t->arg);
	return NL_OK;
}

int kmqtt_genl_open(struct kmqtt_genl *g)
{
	int err;

	/* Room for ATTACH with a full KMQTT_PENDING_MAX of PENDING. */
	nlmsg_set_default_size(2 * KMQTT_PENDING_MAX);
	g->sock = nl_socket_alloc();
	if (!g->sock)
		return -ENOMEM;
	err = genl_connect(g->sock);
	if (!err)
		g->family = genl_ctrl_resolve(g->sock, KMQTT_GENL_NAME);
	if (err || g->family < 0) {
		err = err ? -EIO : -ENOENT;
		fprintf(stderr, "# generic netlink family %s: %s\n",
			KMQTT_GENL_NAME, err == -ENOENT ?
			"not found (is kmqtt.ko loaded?)" : "cannot connect");
		kmqtt_genl_close(g);
		return err;
	}
	return 0;
}

void kmqtt_genl_close(struct kmqtt_genl *g)
{
	nl_socket_free(g->sock);
	g->sock = NULL;
}

/* Send msg (consumed) and process replies until the request completes. */
static int transact(struct kmqtt_genl *g, struct nl_msg *msg,
		    int (*parse)(struct nlattr **attrs, void *arg), void *arg)
{
	struct transaction t = { .parse = parse, .arg = arg };
	struct nl_cb *cb;
	int err;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_finish, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &t);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &t);

	err = nl_send_auto(g->sock, msg);
	nlmsg_free(msg);
	while (err >= 0 && !t.done)
		err = nl_recvmsgs(g->sock, cb);
	nl_cb_put(cb);
	if (t.err)
		return t.err;
	return err < 0 ? -EIO : 0;
}

static struct nl_msg *new_request(struct kmqtt_genl *g, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0,
				flags, cmd, KMQTT_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static int parse_conn_id(struct nlattr **attrs, void *arg)
{
	uint64_t *conn_id = arg;

	if (!attrs[KMQTT_A_CONN_ID])
		return -EPROTO;
	*conn_id = nla_get_u64(attrs[KMQTT_A_CONN_ID]);
	return 0;
}

/* KMQTT_A_ACL with n rules: 0 or -1. */
static int put_acl(struct nl_msg *msg, const struct kmqtt_acl_rule *acl,
		   size_t n)
{
	struct nlattr *nest, *rule;
	size_t i;

	nest = nla_nest_start(msg, KMQTT_A_ACL);
	if (!nest)
		return -1;
	for (i = 0; i < n; i++) {
		rule = nla_nest_start(msg, KMQTT_A_ACL_RULE);
		if (!rule ||
		    nla_put(msg, KMQTT_A_FILTER, strlen(acl[i].filter),
			    acl[i].filter) ||
		    nla_put_u8(msg, KMQTT_A_ACL_ACCESS, acl[i].access))
			return -1;
		nla_nest_end(msg, rule);
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_will(struct nl_msg *msg, const struct kmqtt_attach_req *req)
{
	if (!req->will_topic)
		return 0;
	return nla_put(msg, KMQTT_A_WILL_TOPIC, strlen(req->will_topic),
		       req->will_topic) ||
	       nla_put(msg, KMQTT_A_WILL_PAYLOAD, strlen(req->will_payload),
		       req->will_payload) ||
	       nla_put_u8(msg, KMQTT_A_WILL_QOS, req->will_qos) ||
	       nla_put_u8(msg, KMQTT_A_WILL_RETAIN, 0);
}

int kmqtt_genl_attach(struct kmqtt_genl *g, const struct kmqtt_attach_req *req,
		      uint64_t *conn_id)
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_ATTACH, NLM_F_ACK);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, KMQTT_A_SOCK_FD, req->fd) ||
	    nla_put(msg, KMQTT_A_CLIENT_ID, strlen(req->client_id),
		    req->client_id) ||
	    nla_put_u8(msg, KMQTT_A_PROTO_LEVEL, req->proto_level) ||
	    nla_put_u16(msg, KMQTT_A_KEEPALIVE, req->keepalive) ||
	    nla_put_u8(msg, KMQTT_A_CLEAN_SESSION, req->clean_session) ||
	    (req->pending_len &&
	     nla_put(msg, KMQTT_A_PENDING, req->pending_len, req->pending)) ||
	    put_will(msg, req) ||
	    (req->acl_count && put_acl(msg, req->acl, req->acl_count)) ||
	    (req->mount_point &&
	     nla_put(msg, KMQTT_A_MOUNT_POINT, strlen(req->mount_point),
		     req->mount_point))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	*conn_id = 0;
	return transact(g, msg, parse_conn_id, conn_id);
}

int kmqtt_genl_set_acl(struct kmqtt_genl *g, const char *client_id,
		       const struct kmqtt_acl_rule *acl, size_t n)
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_SET_ACL, NLM_F_ACK);

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, KMQTT_A_CLIENT_ID, strlen(client_id), client_id) ||
	    put_acl(msg, acl, n)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(g, msg, NULL, NULL);
}

static int parse_stats(struct nlattr **attrs, void *arg)
{
	struct nlattr *stats[KMQTT_STAT_MAX + 1];
	uint64_t *out = arg;
	int i;

	if (!attrs[KMQTT_A_STATS] ||
	    nla_parse_nested(stats, KMQTT_STAT_MAX, attrs[KMQTT_A_STATS], NULL))
		return -EPROTO;
	for (i = 0; i <= KMQTT_STAT_MAX; i++)
		if (stats[i] && i != KMQTT_STAT_PAD)
			out[i] = nla_get_u64(stats[i]);
	return 0;
}

int kmqtt_genl_get_info(struct kmqtt_genl *g,
			uint64_t stats[KMQTT_STAT_MAX + 1])
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_GET_INFO, NLM_F_ACK);

	if (!msg)
		return -ENOMEM;
	memset(stats, 0, sizeof(uint64_t) * (KMQTT_STAT_MAX + 1));
	return transact(g, msg, parse_stats, stats);
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

struct conn_list {
	uint64_t *ids;
	size_t max, n;
};

static int parse_conn(struct nlattr **attrs, void *arg)
{
	struct conn_list *list = arg;

	if (!attrs[KMQTT_A_CONN_ID])
		return -EPROTO;
	if (list->n < list->max)
		list->ids[list->n] = nla_get_u64(attrs[KMQTT_A_CONN_ID]);
	list->n++;
	return 0;
}

int kmqtt_genl_dump_conns(struct kmqtt_genl *g, uint64_t *ids, size_t max,
			  size_t *n)
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_GET_CONN, NLM_F_DUMP);
	struct conn_list list = { .ids = ids, .max = max };
	int err;

	if (!msg)
		return -ENOMEM;
	err = transact(g, msg, parse_conn, &list);
	*n = list.n;
	return err;
}

static int parse_limits(struct nlattr **attrs, void *arg)
{
	struct nlattr *tb[KMQTT_LIMIT_MAX + 1];
	uint64_t *out = arg;
	int i;

	if (!attrs[KMQTT_A_LIMITS] ||
	    nla_parse_nested(tb, KMQTT_LIMIT_MAX, attrs[KMQTT_A_LIMITS], NULL))
		return -EPROTO;
	for (i = 0; i <= KMQTT_LIMIT_MAX; i++) {
		if (!tb[i] || i == KMQTT_LIMIT_PAD)
			continue;
		switch (nla_len(tb[i])) {
		case 1:
			out[i] = nla_get_u8(tb[i]);
			break;
		case 4:
			out[i] = nla_get_u32(tb[i]);
			break;
		case 8:
			out[i] = nla_get_u64(tb[i]);
			break;
		default:
			return -EPROTO;
		}
	}
	return 0;
}

int kmqtt_genl_get_limits(struct kmqtt_genl *g,
			  uint64_t limits[KMQTT_LIMIT_MAX + 1])
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_GET_INFO, NLM_F_ACK);

	if (!msg)
		return -ENOMEM;
	memset(limits, 0, sizeof(uint64_t) * (KMQTT_LIMIT_MAX + 1));
	return transact(g, msg, parse_limits, limits);
}

/* Each limit's width, from its row of KMQTT_LIMITS. */
#define LIMIT_BITS(id, field, bits, lo, hi, def)	[KMQTT_LIMIT_##id] = bits,
static const uint8_t limit_bits[KMQTT_LIMIT_MAX + 1] = {
	KMQTT_LIMITS(LIMIT_BITS)
};

static int put_limit(struct nl_msg *msg, int id, uint64_t value)
{
	switch (limit_bits[id]) {
	case 8:
		return nla_put_u8(msg, id, value);
	case 64:
		return nla_put_u64(msg, id, value);
	default:
		return nla_put_u32(msg, id, value);
	}
}

int kmqtt_genl_set_limits(struct kmqtt_genl *g,
			  const uint64_t limits[KMQTT_LIMIT_MAX + 1],
			  uint32_t mask)
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_SET_LIMITS, NLM_F_ACK);
	struct nlattr *nest;
	int i;

	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, KMQTT_A_LIMITS);
	for (i = 0; nest && i <= KMQTT_LIMIT_MAX; i++)
		if ((mask & 1u << i) && put_limit(msg, i, limits[i]))
			nest = NULL;
	if (!nest) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return transact(g, msg, NULL, NULL);
}

int kmqtt_genl_set_limit(struct kmqtt_genl *g, enum kmqtt_limit id,
			 uint64_t value)
{
	uint64_t limits[KMQTT_LIMIT_MAX + 1] = { 0 };

	limits[id] = value;
	return kmqtt_genl_set_limits(g, limits, 1u << id);
}

struct session_lookup {
	const char *client_id;
	struct kmqtt_session_info *info;
	bool found;
};

static int parse_session(struct nlattr **attrs, void *arg)
{
	struct session_lookup *l = arg;
	struct nlattr *id = attrs[KMQTT_A_CLIENT_ID];

	if (!id)
		return -EPROTO;
	if ((size_t)nla_len(id) != strlen(l->client_id) ||
	    memcmp(nla_data(id), l->client_id, nla_len(id)))
		return 0;
	l->found = true;
	l->info->online = attrs[KMQTT_A_ONLINE] &&
			  nla_get_u8(attrs[KMQTT_A_ONLINE]);
	l->info->clean_session = attrs[KMQTT_A_CLEAN_SESSION] &&
				 nla_get_u8(attrs[KMQTT_A_CLEAN_SESSION]);
	return parse_stats(attrs, l->info->stats);
}

int kmqtt_genl_get_session(struct kmqtt_genl *g, const char *client_id,
			   struct kmqtt_session_info *info)
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_GET_SESSION, NLM_F_DUMP);
	struct session_lookup l = { .client_id = client_id, .info = info };
	int err;

	if (!msg)
		return -ENOMEM;
	memset(info, 0, sizeof(*info));
	err = transact(g, msg, parse_session, &l);
	return err ? err : l.found ? 0 : -ENOENT;
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

int kmqtt_genl_join_events(struct kmqtt_genl *g)
{
	int grp = genl_ctrl_resolve_grp(g->sock, KMQTT_GENL_NAME,
					KMQTT_MCGRP_EVENTS);

	if (grp < 0)
		return -ENOENT;
	/* Events are not answers to our requests. */
	nl_socket_disable_seq_check(g->sock);
	/* setsockopt directly: the kernel's errno (EPERM) is the answer. */
	if (setsockopt(nl_socket_get_fd(g->sock), SOL_NETLINK,
		       NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)))
		return -errno;
	return 0;
}

/* Events carry no sequence number of ours. */
static int no_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}


static bool is_client_id(const struct nlattr *id, const char *client_id)
{
	return id && (size_t)nla_len(id) == strlen(client_id) &&
	       !memcmp(nla_data(id), client_id, nla_len(id));
}

/* Which CONN_CLOSED event to wait for, and where to put it. */
struct closed_wait {
	uint64_t conn_id;		/* 0: any connection */
	const char *client_id;		/* NULL: any client */
	struct kmqtt_closed_event *ev;
	char *client_id_out;		/* its client id, truncated to size */
	size_t size;
	bool found;
};

static int on_closed(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *attrs[KMQTT_A_MAX + 1];
	struct closed_wait *w = arg;
	struct nlattr *id;
	size_t len;

	if (w->found || gh->cmd != KMQTT_CMD_CONN_CLOSED ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, attrs, KMQTT_A_MAX, NULL) ||
	    !attrs[KMQTT_A_CONN_ID])
		return NL_SKIP;
	id = attrs[KMQTT_A_CLIENT_ID];
	if ((w->conn_id && nla_get_u64(attrs[KMQTT_A_CONN_ID]) != w->conn_id) ||
	    (w->client_id && !is_client_id(id, w->client_id)))
		return NL_SKIP;
	w->ev->conn_id = nla_get_u64(attrs[KMQTT_A_CONN_ID]);
	w->ev->reason = attrs[KMQTT_A_CLOSE_REASON] ?
			nla_get_u32(attrs[KMQTT_A_CLOSE_REASON]) : UINT32_MAX;
	if (w->size) {
		len = id ? (size_t)nla_len(id) : 0;
		if (len > w->size - 1)
			len = w->size - 1;
		if (len)
			memcpy(w->client_id_out, nla_data(id), len);
		w->client_id_out[len] = '\0';
	}
	w->found = true;
	return NL_STOP;
}

/* Read events on a joined socket until @w's is found: 0 or -ETIMEDOUT. */
static int wait_closed(struct kmqtt_genl *g, struct closed_wait *w,
		       int timeout_ms)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(g->sock), .events = POLLIN };
	int64_t deadline = now_ms() + timeout_ms;
	struct nl_cb *cb;
	int err = 0;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_closed, w);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	while (!w->found && !err) {
		int left = deadline - now_ms();

		if (left <= 0)
			err = -ETIMEDOUT;
		else if (poll(&pfd, 1, left) > 0 && nl_recvmsgs(g->sock, cb) < 0)
			err = -EIO;
	}
	nl_cb_put(cb);
	return w->found ? 0 : err;
}

int kmqtt_genl_wait_closed(struct kmqtt_genl *g, uint64_t conn_id,
			   int timeout_ms, struct kmqtt_closed_event *ev)
{
	struct closed_wait w = { .conn_id = conn_id, .ev = ev };

	return wait_closed(g, &w, timeout_ms);
}

struct dump_match {
	const char *client_id;
	uint64_t conn_id;	/* of the last match that had one */
	uint64_t *stats;	/* its counters, when not NULL */
	size_t n;
};

static int parse_match(struct nlattr **attrs, void *arg)
{
	struct dump_match *m = arg;

	if (!is_client_id(attrs[KMQTT_A_CLIENT_ID], m->client_id))
		return 0;
	m->n++;
	if (attrs[KMQTT_A_CONN_ID])
		m->conn_id = nla_get_u64(attrs[KMQTT_A_CONN_ID]);
	if (m->stats) {
		memset(m->stats, 0, sizeof(uint64_t) * (KMQTT_STAT_MAX + 1));
		return parse_stats(attrs, m->stats);
	}
	return 0;
}

static int dump_match(struct kmqtt_genl *g, uint8_t cmd, struct dump_match *m)
{
	struct nl_msg *msg = new_request(g, cmd, NLM_F_DUMP);

	if (!msg)
		return -ENOMEM;
	return transact(g, msg, parse_match, m);
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
	int err = dump_match(g, KMQTT_CMD_GET_CONN, &m);

	if (err)
		return err;
	*conn_id = m.conn_id;
	return m.n ? 0 : -ENOENT;
}

int kmqtt_genl_conn_stats(struct kmqtt_genl *g, const char *client_id,
			  uint64_t stats[KMQTT_STAT_MAX + 1])
{
	struct dump_match m = { .client_id = client_id, .stats = stats };
	int err = dump_match(g, KMQTT_CMD_GET_CONN, &m);

	if (err)
		return err;
	return m.n ? 0 : -ENOENT;
}

int kmqtt_genl_next_closed(struct kmqtt_genl *g, int timeout_ms,
			   struct kmqtt_closed_event *ev, char *client_id,
			   size_t size)
{
	struct closed_wait w = { .ev = ev, .client_id_out = client_id,
				 .size = size };

	return wait_closed(g, &w, timeout_ms);
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

int kmqtt_genl_raw_request(int family, uint8_t cmd, uint8_t version,
			   uint16_t nlflags, const void *attrs, size_t len,
			   struct kmqtt_genl_ack *ack)
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

/* Hostile-client suite (kernel/hostile.c): connections by id or client id. */

struct conn_lookup {
	uint64_t conn_id;
	uint64_t *stats;
	bool found;
};

static int parse_conn_stats(struct nlattr **attrs, void *arg)
{
	struct conn_lookup *l = arg;

	if (!attrs[KMQTT_A_CONN_ID])
		return -EPROTO;
	if (nla_get_u64(attrs[KMQTT_A_CONN_ID]) != l->conn_id)
		return 0;
	l->found = true;
	return parse_stats(attrs, l->stats);
}

int kmqtt_genl_get_conn_stats(struct kmqtt_genl *g, uint64_t conn_id,
			      uint64_t stats[KMQTT_STAT_MAX + 1])
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_GET_CONN, NLM_F_DUMP);
	struct conn_lookup l = { .conn_id = conn_id, .stats = stats };
	int err;

	if (!msg)
		return -ENOMEM;
	memset(stats, 0, sizeof(uint64_t) * (KMQTT_STAT_MAX + 1));
	err = transact(g, msg, parse_conn_stats, &l);
	return err ? err : l.found ? 0 : -ENOENT;
}

struct session_conn {
	const char *client_id;
	uint64_t conn_id;
	bool found;
};

static int parse_session_conn(struct nlattr **attrs, void *arg)
{
	struct session_conn *l = arg;
	struct nlattr *id = attrs[KMQTT_A_CLIENT_ID];

	if (!id)
		return -EPROTO;
	if ((size_t)nla_len(id) != strlen(l->client_id) ||
	    memcmp(nla_data(id), l->client_id, nla_len(id)) ||
	    !attrs[KMQTT_A_CONN_ID])
		return 0;
	l->conn_id = nla_get_u64(attrs[KMQTT_A_CONN_ID]);
	l->found = true;
	return 0;
}

int kmqtt_genl_session_conn_id(struct kmqtt_genl *g, const char *client_id,
			       uint64_t *conn_id)
{
	struct nl_msg *msg = new_request(g, KMQTT_CMD_GET_SESSION, NLM_F_DUMP);
	struct session_conn l = { .client_id = client_id };
	int err;

	if (!msg)
		return -ENOMEM;
	err = transact(g, msg, parse_session_conn, &l);
	if (!err && !l.found)
		err = -ENOENT;
	if (!err)
		*conn_id = l.conn_id;
	return err;
}

int kmqtt_genl_wait_closed_client(struct kmqtt_genl *g, const char *client_id,
				  int timeout_ms,
				  struct kmqtt_closed_event *ev)
{
	struct closed_wait w = { .client_id = client_id, .ev = ev };

	return wait_closed(g, &w, timeout_ms);
}
