// SPDX-License-Identifier: GPL-2.0
/*
 * kmqttctl: inspect and tune kmqtt.ko, in the spirit of `wg show` and
 * `wg set`.  The netlink client and the limit names are the agent's
 * (agent/nl.c, agent/limits.c), so both speak the ABI the same way.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "addr.h"
#include "kmqtt_nl.h"
#include "limits.h"

/* JSON names of the counters. */
static const char *const stat_names[KMQTT_STAT_MAX + 1] = {
	[KMQTT_STAT_CONNECTIONS] = "connections",
	[KMQTT_STAT_CONNECTIONS_TOTAL] = "connections_total",
	[KMQTT_STAT_SUBSCRIPTIONS] = "subscriptions",
	[KMQTT_STAT_MSGS_IN] = "msgs_in",
	[KMQTT_STAT_MSGS_OUT] = "msgs_out",
	[KMQTT_STAT_MSGS_DROPPED] = "msgs_dropped",
	[KMQTT_STAT_BYTES_IN] = "bytes_in",
	[KMQTT_STAT_BYTES_OUT] = "bytes_out",
	[KMQTT_STAT_PROTOCOL_ERRORS] = "protocol_errors",
	[KMQTT_STAT_SESSIONS] = "sessions",
	[KMQTT_STAT_INFLIGHT] = "inflight",
	[KMQTT_STAT_QUEUED] = "queued",
	[KMQTT_STAT_QUEUED_BYTES] = "queued_bytes",
	[KMQTT_STAT_RETAINED] = "retained",
	[KMQTT_STAT_RETAINED_BYTES] = "retained_bytes",
	[KMQTT_STAT_MEMORY] = "memory",
	[KMQTT_STAT_CONNECTIONS_REFUSED] = "connections_refused",
	[KMQTT_STAT_SESSIONS_EXPIRED] = "sessions_expired",
	[KMQTT_STAT_ACL_DENIED] = "acl_denied",
	[KMQTT_STAT_PUBLISHERS_PAUSED] = "publishers_paused",
	[KMQTT_STAT_DROPPED_QUEUE_FULL] = "dropped_queue_full",
	[KMQTT_STAT_DROPPED_NO_MEMORY] = "dropped_no_memory",
	[KMQTT_STAT_DROPPED_CLOSING] = "dropped_closing",
	[KMQTT_STAT_DROPPED_FANOUT] = "dropped_fanout",
	[KMQTT_STAT_DROPPED_DENIED] = "dropped_denied",
	[KMQTT_STAT_DROPPED_TOO_LARGE] = "dropped_too_large",
	[KMQTT_STAT_DROPPED_EXPIRED] = "dropped_expired",
	[KMQTT_STAT_ACKS_HELD] = "acks_held",
	[KMQTT_STAT_RX_RUNS] = "rx_runs",
	[KMQTT_STAT_RX_READS] = "rx_reads",
	[KMQTT_STAT_TX_RUNS] = "tx_runs",
	[KMQTT_STAT_TX_WRITES] = "tx_writes",
	[KMQTT_STAT_TX_COPIED] = "tx_copied",
	[KMQTT_STAT_RX_REUSED] = "rx_reused",
	[KMQTT_STAT_RX_MATCH_KEPT] = "rx_match_kept",
	[KMQTT_STAT_TX_ZEROCOPY] = "tx_zerocopy",
};

/* Which counters GET_INFO totals, GET_CONN and GET_SESSION entries carry. */
static const enum kmqtt_stat total_stats[] = {
	KMQTT_STAT_CONNECTIONS, KMQTT_STAT_CONNECTIONS_TOTAL,
	KMQTT_STAT_CONNECTIONS_REFUSED, KMQTT_STAT_SESSIONS,
	KMQTT_STAT_SESSIONS_EXPIRED, KMQTT_STAT_SUBSCRIPTIONS,
	KMQTT_STAT_MSGS_IN, KMQTT_STAT_MSGS_OUT, KMQTT_STAT_MSGS_DROPPED,
	KMQTT_STAT_BYTES_IN, KMQTT_STAT_BYTES_OUT, KMQTT_STAT_INFLIGHT,
	KMQTT_STAT_QUEUED, KMQTT_STAT_QUEUED_BYTES, KMQTT_STAT_RETAINED,
	KMQTT_STAT_RETAINED_BYTES, KMQTT_STAT_MEMORY,
	KMQTT_STAT_PROTOCOL_ERRORS, KMQTT_STAT_ACL_DENIED,
	KMQTT_STAT_PUBLISHERS_PAUSED, KMQTT_STAT_DROPPED_QUEUE_FULL,
	KMQTT_STAT_DROPPED_NO_MEMORY, KMQTT_STAT_DROPPED_CLOSING,
	KMQTT_STAT_DROPPED_FANOUT, KMQTT_STAT_DROPPED_DENIED,
	KMQTT_STAT_DROPPED_TOO_LARGE, KMQTT_STAT_DROPPED_EXPIRED,
	KMQTT_STAT_ACKS_HELD, KMQTT_STAT_RX_RUNS, KMQTT_STAT_RX_READS,
	KMQTT_STAT_TX_RUNS, KMQTT_STAT_TX_WRITES, KMQTT_STAT_TX_COPIED,
	KMQTT_STAT_RX_REUSED, KMQTT_STAT_RX_MATCH_KEPT, KMQTT_STAT_TX_ZEROCOPY,
};

static const enum kmqtt_stat session_stats[] = {
	KMQTT_STAT_SUBSCRIPTIONS, KMQTT_STAT_INFLIGHT, KMQTT_STAT_QUEUED,
	KMQTT_STAT_QUEUED_BYTES, KMQTT_STAT_MSGS_DROPPED,
};

static const enum kmqtt_stat conn_stats[] = {
	KMQTT_STAT_SUBSCRIPTIONS, KMQTT_STAT_MSGS_IN, KMQTT_STAT_MSGS_OUT,
	KMQTT_STAT_MSGS_DROPPED, KMQTT_STAT_BYTES_IN, KMQTT_STAT_BYTES_OUT,
	KMQTT_STAT_RX_RUNS, KMQTT_STAT_RX_READS, KMQTT_STAT_TX_RUNS,
	KMQTT_STAT_TX_WRITES, KMQTT_STAT_TX_COPIED, KMQTT_STAT_RX_REUSED,
	KMQTT_STAT_RX_MATCH_KEPT, KMQTT_STAT_TX_ZEROCOPY,
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* A subscription, kept until its session is printed. */
struct sub {
	char *client_id;
	char *filter;
	uint8_t qos;
	uint8_t options;		/* MQTT_SUBOPT_* */
	uint32_t sub_id;		/* 0: none */
};

/*
 * A bridge link's session, shown with its link: the session says whether
 * it is up and what waits for it, the connection where it goes and what
 * crossed it.
 */
struct bridge {
	struct kmqtt_nl_session session;
	bool linked;			/* its connection was dumped */
	char address[ADDR_STR_MAX];
	uint64_t sent, received;	/* on this link: out, in */
};

struct show {
	bool json;
	unsigned int printed;	/* items of the current list so far */
	struct sub *subs;	/* sorted by client id */
	size_t sub_count, sub_cap;
	struct bridge *bridges;
	size_t bridge_count, bridge_cap;
	bool out_of_memory;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kmqttctl <command>\n"
		"  show [--json]          module totals, limits, sessions with their\n"
		"                         subscriptions, every connection, and the\n"
		"                         bridges with their links\n"
		"  set LIMIT VALUE ...    change limits, named as in the configuration\n"
		"                         file (max_inflight_messages, memory_limit, ...)\n"
		"  disconnect CLIENT_ID   close the client's connection (MQTT 5.0:\n"
		"                         DISCONNECT 0x98); its will is published\n"
		"  help                   this text\n");
}

static const char *protocol_name(uint8_t level)
{
	switch (level) {
	case MQTT_PROTO_V31:
		return "3.1";
	case MQTT_PROTO_V311:
		return "3.1.1";
	case MQTT_PROTO_V5:
		return "5.0";
	default:
		return "unknown";
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_stats(const uint64_t *stats, const enum kmqtt_stat *ids,
		       size_t count)
{
	size_t i;

	printf("{");
	for (i = 0; i < count; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", stat_names[ids[i]],
		       stats[ids[i]]);
	printf("}");
}

/*
 * "messages: 1 in, 2 out, 3 dropped", "bytes: 4 in, 5 out" and what the
 * data path did for them: "work: 6 receive runs, 7 reads, 8 reused, 9
 * matches kept; 10 transmit runs, 11 writes, 12 copied, 13 zero-copy"
 */
static void text_traffic(const uint64_t *s)
{
	printf("  messages: %" PRIu64 " in, %" PRIu64 " out, %" PRIu64
	       " dropped\n", s[KMQTT_STAT_MSGS_IN], s[KMQTT_STAT_MSGS_OUT],
	       s[KMQTT_STAT_MSGS_DROPPED]);
	printf("  bytes: %" PRIu64 " in, %" PRIu64 " out\n",
	       s[KMQTT_STAT_BYTES_IN], s[KMQTT_STAT_BYTES_OUT]);
	printf("  work: %" PRIu64 " receive runs, %" PRIu64 " reads, %" PRIu64
	       " reused, %" PRIu64 " matches kept; %" PRIu64
	       " transmit runs, %" PRIu64 " writes, %" PRIu64 " copied, %"
	       PRIu64 " zero-copy\n",
	       s[KMQTT_STAT_RX_RUNS], s[KMQTT_STAT_RX_READS],
	       s[KMQTT_STAT_RX_REUSED], s[KMQTT_STAT_RX_MATCH_KEPT],
	       s[KMQTT_STAT_TX_RUNS], s[KMQTT_STAT_TX_WRITES],
	       s[KMQTT_STAT_TX_COPIED], s[KMQTT_STAT_TX_ZEROCOPY]);
}

static void json_limits(const struct kmqtt_nl_limits *l)
{
	bool first = true;
	int id;

	printf("{");
	for (id = KMQTT_LIMIT_MAX_CONNECTIONS; id <= KMQTT_LIMIT_MAX; id++) {
		if (!(l->mask & KMQTT_NL_LIMIT_BIT(id)))
			continue;
		printf("%s\"%s\":", first ? "" : ",", limits_name(id));
		if (limits_is_bool(id))
			printf("%s", l->value[id] ? "true" : "false");
		else
			printf("%" PRIu64, l->value[id]);
		first = false;
	}
	printf("}");
}

static void text_limits(const struct kmqtt_nl_limits *l)
{
	int id;

	if (!l->mask)
		return;
	printf("  limits:\n");
	for (id = KMQTT_LIMIT_MAX_CONNECTIONS; id <= KMQTT_LIMIT_MAX; id++) {
		if (!(l->mask & KMQTT_NL_LIMIT_BIT(id)))
			continue;
		if (limits_is_bool(id))
			printf("    %s: %s\n", limits_name(id),
			       l->value[id] ? "true" : "false");
		else
			printf("    %s: %" PRIu64 "\n", limits_name(id),
			       l->value[id]);
	}
}

static void show_info(const struct show *sh, const struct kmqtt_nl_info *info)
{
	const uint64_t *s = info->stats;

	if (sh->json) {
		printf("{\"version\":%u,\"stats\":", info->version);
		json_stats(s, total_stats, ARRAY_SIZE(total_stats));
		printf(",\"limits\":");
		json_limits(&info->limits);
		return;
	}
	printf("kmqtt: version %u\n", info->version);
	printf("  connections: %" PRIu64 " open, %" PRIu64 " total, %" PRIu64
	       " refused\n", s[KMQTT_STAT_CONNECTIONS],
	       s[KMQTT_STAT_CONNECTIONS_TOTAL],
	       s[KMQTT_STAT_CONNECTIONS_REFUSED]);
	printf("  sessions: %" PRIu64 " stored, %" PRIu64 " expired\n",
	       s[KMQTT_STAT_SESSIONS], s[KMQTT_STAT_SESSIONS_EXPIRED]);
	printf("  subscriptions: %" PRIu64 "\n", s[KMQTT_STAT_SUBSCRIPTIONS]);
	text_traffic(s);
	printf("  dropped: %" PRIu64 " queue full, %" PRIu64 " no memory, %"
	       PRIu64 " closing, %" PRIu64 " over fan-out, %" PRIu64
	       " access withdrawn, %" PRIu64 " too large, %" PRIu64
	       " expired\n",
	       s[KMQTT_STAT_DROPPED_QUEUE_FULL], s[KMQTT_STAT_DROPPED_NO_MEMORY],
	       s[KMQTT_STAT_DROPPED_CLOSING], s[KMQTT_STAT_DROPPED_FANOUT],
	       s[KMQTT_STAT_DROPPED_DENIED], s[KMQTT_STAT_DROPPED_TOO_LARGE],
	       s[KMQTT_STAT_DROPPED_EXPIRED]);
	printf("  inflight: %" PRIu64 "\n", s[KMQTT_STAT_INFLIGHT]);
	printf("  queued: %" PRIu64 " messages, %" PRIu64 " bytes\n",
	       s[KMQTT_STAT_QUEUED], s[KMQTT_STAT_QUEUED_BYTES]);
	printf("  retained: %" PRIu64 " messages, %" PRIu64 " bytes\n",
	       s[KMQTT_STAT_RETAINED], s[KMQTT_STAT_RETAINED_BYTES]);
	printf("  memory: %" PRIu64 " bytes, %" PRIu64
	       " publishers paused for it\n", s[KMQTT_STAT_MEMORY],
	       s[KMQTT_STAT_PUBLISHERS_PAUSED]);
	printf("  protocol errors: %" PRIu64 "\n",
	       s[KMQTT_STAT_PROTOCOL_ERRORS]);
	printf("  acl denied: %" PRIu64 "\n", s[KMQTT_STAT_ACL_DENIED]);
	printf("  acks held for a save: %" PRIu64 "\n",
	       s[KMQTT_STAT_ACKS_HELD]);
	text_limits(&info->limits);
}

static void collect_sub(const struct kmqtt_nl_subscription *s, void *arg)
{
	struct show *sh = arg;
	struct sub *subs;

	if (sh->sub_count == sh->sub_cap) {
		size_t cap = sh->sub_cap ? 2 * sh->sub_cap : 64;

		subs = realloc(sh->subs, cap * sizeof(*subs));
		if (!subs) {
			sh->out_of_memory = true;
			return;
		}
		sh->subs = subs;
		sh->sub_cap = cap;
	}
	subs = &sh->subs[sh->sub_count];
	subs->client_id = strdup(s->client_id);
	subs->filter = strdup(s->filter);
	subs->qos = s->qos;
	subs->options = s->options;
	subs->sub_id = s->sub_id;
	if (!subs->client_id || !subs->filter) {
		free(subs->client_id);
		free(subs->filter);
		sh->out_of_memory = true;
		return;
	}
	sh->sub_count++;
}

static unsigned int retain_handling(const struct sub *sub)
{
	return (sub->options & MQTT_SUBOPT_RETAIN_HANDLING_MASK) >>
	       MQTT_SUBOPT_RETAIN_HANDLING_SHIFT;
}

/* "QoS 1, identifier 7, no local": what differs from 3.1.1's. */
static void print_sub_options(const struct sub *sub)
{
	printf("QoS %u", sub->qos);
	if (sub->sub_id)
		printf(", identifier %" PRIu32, sub->sub_id);
	if (sub->options & MQTT_SUBOPT_NO_LOCAL)
		printf(", no local");
	if (sub->options & MQTT_SUBOPT_RETAIN_AS_PUBLISHED)
		printf(", retain as published");
	if (retain_handling(sub))
		printf(", retain handling %u", retain_handling(sub));
}

static int sub_order(const void *a, const void *b)
{
	const struct sub *x = a, *y = b;
	int c = strcmp(x->client_id, y->client_id);

	return c ? c : strcmp(x->filter, y->filter);
}

static void free_subs(struct show *sh)
{
	size_t i;

	for (i = 0; i < sh->sub_count; i++) {
		free(sh->subs[i].client_id);
		free(sh->subs[i].filter);
	}
	free(sh->subs);
}

/* The first subscription of @client_id, or NULL. */
static const struct sub *first_sub(const struct show *sh,
				   const char *client_id)
{
	size_t lo = 0, hi = sh->sub_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(sh->subs[mid].client_id, client_id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sh->sub_count && !strcmp(sh->subs[lo].client_id, client_id))
		return &sh->subs[lo];
	return NULL;
}

static bool same_client(const struct show *sh, const struct sub *sub,
			const char *client_id)
{
	return sub < sh->subs + sh->sub_count &&
	       !strcmp(sub->client_id, client_id);
}

/* Keep a bridge link's session for the bridges list. */
static void keep_bridge(struct show *sh, const struct kmqtt_nl_session *s)
{
	struct bridge *b;

	if (sh->bridge_count == sh->bridge_cap) {
		size_t cap = sh->bridge_cap ? 2 * sh->bridge_cap : 8;

		b = realloc(sh->bridges, cap * sizeof(*b));
		if (!b) {
			sh->out_of_memory = true;
			return;
		}
		sh->bridges = b;
		sh->bridge_cap = cap;
	}
	b = &sh->bridges[sh->bridge_count++];
	memset(b, 0, sizeof(*b));
	b->session = *s;
}

static void show_session(const struct kmqtt_nl_session *s, void *arg)
{
	struct show *sh = arg;
	const struct sub *sub = first_sub(sh, s->client_id);
	bool first = true;

	if (s->bridge)
		keep_bridge(sh, s);

	if (sh->json) {
		printf("%s{\"client_id\":", sh->printed ? "," : "");
		json_string(s->client_id);
		printf(",\"clean_session\":%s,\"online\":%s",
		       s->clean_session ? "true" : "false",
		       s->online ? "true" : "false");
		if (s->online)
			printf(",\"conn_id\":%" PRIu64, s->conn_id);
		if (s->has_username) {
			printf(",\"username\":");
			json_string(s->username);
		}
		printf(",\"stats\":");
		json_stats(s->stats, session_stats, ARRAY_SIZE(session_stats));
		printf(",\"subscriptions\":[");
		for (; sub && same_client(sh, sub, s->client_id); sub++) {
			printf("%s{\"filter\":", first ? "" : ",");
			json_string(sub->filter);
			printf(",\"qos\":%u", sub->qos);
			if (sub->sub_id)
				printf(",\"subscription_identifier\":%" PRIu32,
				       sub->sub_id);
			printf(",\"no_local\":%s,\"retain_as_published\":%s,\"retain_handling\":%u}",
			       sub->options & MQTT_SUBOPT_NO_LOCAL ?
			       "true" : "false",
			       sub->options & MQTT_SUBOPT_RETAIN_AS_PUBLISHED ?
			       "true" : "false", retain_handling(sub));
			first = false;
		}
		printf("]}");
	} else {
		printf("\nsession: %s\n", s->client_id);
		if (s->online)
			printf("  state: online, connection %" PRIu64 "\n",
			       s->conn_id);
		else
			printf("  state: offline\n");
		if (s->has_username)
			printf("  username: %s\n", s->username);
		printf("  clean session: %s\n", s->clean_session ? "yes" : "no");
		printf("  inflight: %" PRIu64 "\n", s->stats[KMQTT_STAT_INFLIGHT]);
		printf("  queued: %" PRIu64 " messages, %" PRIu64 " bytes\n",
		       s->stats[KMQTT_STAT_QUEUED],
		       s->stats[KMQTT_STAT_QUEUED_BYTES]);
		printf("  dropped: %" PRIu64 "\n",
		       s->stats[KMQTT_STAT_MSGS_DROPPED]);
		for (; sub && same_client(sh, sub, s->client_id); sub++) {
			printf("  subscription: %s (", sub->filter);
			print_sub_options(sub);
			printf(")\n");
		}
	}
	sh->printed++;
}

static void show_conn(const struct kmqtt_nl_conn *c, void *arg)
{
	struct show *sh = arg;
	char peer[ADDR_STR_MAX];
	size_t i;

	addr_format((const struct sockaddr *)&c->peer, peer);
	for (i = 0; c->bridge && i < sh->bridge_count; i++) {
		struct bridge *b = &sh->bridges[i];

		if (!b->session.online || b->session.conn_id != c->id)
			continue;
		b->linked = true;
		memcpy(b->address, peer, sizeof(peer));
		b->sent = c->stats[KMQTT_STAT_MSGS_OUT];
		b->received = c->stats[KMQTT_STAT_MSGS_IN];
	}
	if (sh->json) {
		printf("%s{\"id\":%" PRIu64 ",\"client_id\":",
		       sh->printed ? "," : "", c->id);
		json_string(c->client_id);
		printf(",\"peer\":");
		json_string(peer);
		printf(",\"protocol\":\"%s\",\"keepalive\":%u,\"clean_session\":%s,\"tls\":%s,\"websocket\":%s,\"stats\":",
		       protocol_name(c->proto_level), c->keepalive,
		       c->clean_session ? "true" : "false",
		       c->tls ? "\"kernel\"" : "null",
		       c->websocket ? "true" : "false");
		json_stats(c->stats, conn_stats, ARRAY_SIZE(conn_stats));
		printf("}");
	} else {
		printf("\nconnection %" PRIu64 ": %s\n", c->id, c->client_id);
		printf("  peer: %s\n", peer);
		printf("  protocol: %s\n", protocol_name(c->proto_level));
		printf("  tls: %s\n", c->tls ? "kernel" : "none");
		printf("  websocket: %s\n", c->websocket ? "yes" : "no");
		printf("  keepalive: %u s\n", c->keepalive);
		printf("  clean session: %s\n", c->clean_session ? "yes" : "no");
		printf("  subscriptions: %" PRIu64 "\n",
		       c->stats[KMQTT_STAT_SUBSCRIPTIONS]);
		text_traffic(c->stats);
	}
	sh->printed++;
}

static void show_bridge(const struct show *sh, const struct bridge *b)
{
	const struct kmqtt_nl_session *s = &b->session;

	if (sh->json) {
		printf("%s{\"client_id\":", b == sh->bridges ? "" : ",");
		json_string(s->client_id);
		printf(",\"state\":\"%s\"", b->linked ? "up" : "down");
		if (b->linked) {
			printf(",\"address\":");
			json_string(b->address);
			printf(",\"conn_id\":%" PRIu64 ",\"sent\":%" PRIu64
			       ",\"received\":%" PRIu64, s->conn_id, b->sent,
			       b->received);
		} else {
			printf(",\"down_for\":%" PRIu32, s->offline_for);
		}
		printf(",\"queued\":%" PRIu64 ",\"queued_bytes\":%" PRIu64
		       ",\"inflight\":%" PRIu64 ",\"dropped\":%" PRIu64 "}",
		       s->stats[KMQTT_STAT_QUEUED],
		       s->stats[KMQTT_STAT_QUEUED_BYTES],
		       s->stats[KMQTT_STAT_INFLIGHT],
		       s->stats[KMQTT_STAT_MSGS_DROPPED]);
		return;
	}
	printf("\nbridge: %s\n", s->client_id);
	if (b->linked)
		printf("  state: up, to %s (connection %" PRIu64 ")\n"
		       "  messages on this link: %" PRIu64 " sent, %" PRIu64
		       " received\n", b->address, s->conn_id, b->sent,
		       b->received);
	else
		printf("  state: down for %" PRIu32 " s\n", s->offline_for);
	printf("  queued: %" PRIu64 " messages, %" PRIu64 " bytes\n",
	       s->stats[KMQTT_STAT_QUEUED], s->stats[KMQTT_STAT_QUEUED_BYTES]);
	printf("  inflight: %" PRIu64 "\n", s->stats[KMQTT_STAT_INFLIGHT]);
	printf("  dropped: %" PRIu64 "\n", s->stats[KMQTT_STAT_MSGS_DROPPED]);
}

/* Sessions with their subscriptions, connections, then bridges. */
static int show_lists(struct kmqtt_nl *nl, struct show *sh)
{
	int rc = kmqtt_nl_dump_subscriptions(nl, collect_sub, sh);
	size_t i;

	if (rc)
		return rc;
	if (sh->out_of_memory) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		return -1;
	}
	qsort(sh->subs, sh->sub_count, sizeof(*sh->subs), sub_order);
	if (sh->json)
		printf(",\"sessions\":[");
	rc = kmqtt_nl_dump_sessions(nl, show_session, sh);
	if (rc)
		return rc;
	sh->printed = 0;
	if (sh->json)
		printf("],\"connections\":[");
	rc = kmqtt_nl_dump_conns(nl, show_conn, sh);
	if (rc)
		return rc;
	if (sh->out_of_memory) {
		snprintf(nl->error, sizeof(nl->error), "out of memory");
		return -1;
	}
	if (sh->json)
		printf("],\"bridges\":[");
	for (i = 0; i < sh->bridge_count; i++)
		show_bridge(sh, &sh->bridges[i]);
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	struct show sh = { 0 };
	struct kmqtt_nl_info info;
	struct kmqtt_nl nl;
	int rc;

	if (argc == 1 && !strcmp(argv[0], "--json")) {
		sh.json = true;
	} else if (argc) {
		usage(stderr);
		return 2;
	}
	if (kmqtt_nl_open(&nl)) {
		fprintf(stderr, "kmqttctl: %s\n", nl.error);
		return 1;
	}
	rc = kmqtt_nl_get_info(&nl, &info);
	if (!rc) {
		show_info(&sh, &info);
		rc = show_lists(&nl, &sh);
	}
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "kmqttctl: %s\n", nl.error);
	} else if (sh.json) {
		printf("]}\n");
	}
	free_subs(&sh);
	free(sh.bridges);
	kmqtt_nl_close(&nl);
	return rc ? 1 : 0;
}

/* set NAME VALUE [NAME VALUE ...]: all of them in one SET_LIMITS. */
static int cmd_set(int argc, char **argv)
{
	struct kmqtt_nl_limits limits = { 0 };
	struct kmqtt_nl nl;
	char err[256];
	int i, rc;

	if (argc == 0 || argc % 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < argc; i += 2) {
		switch (limits_parse(argv[i], argv[i + 1], &limits, err,
				     sizeof(err))) {
		case LIMITS_OK:
			break;
		case LIMITS_UNKNOWN:
			fprintf(stderr, "kmqttctl: unknown limit '%s'\n",
				argv[i]);
			return 2;
		default:
			fprintf(stderr, "kmqttctl: %s\n", err);
			return 2;
		}
	}
	if (kmqtt_nl_open(&nl)) {
		fprintf(stderr, "kmqttctl: %s\n", nl.error);
		return 1;
	}
	rc = kmqtt_nl_set_limits(&nl, &limits);
	if (rc)
		fprintf(stderr, "kmqttctl: %s\n", nl.error);
	kmqtt_nl_close(&nl);
	return rc ? 1 : 0;
}

/* disconnect CLIENT_ID */
static int cmd_disconnect(int argc, char **argv)
{
	struct kmqtt_nl nl;
	int rc;

	if (argc != 1 || !argv[0][0]) {
		usage(stderr);
		return 2;
	}
	if (kmqtt_nl_open(&nl)) {
		fprintf(stderr, "kmqttctl: %s\n", nl.error);
		return 1;
	}
	rc = kmqtt_nl_disconnect(&nl, argv[0]);
	if (rc)
		fprintf(stderr, "kmqttctl: %s: %s\n", argv[0], nl.error);
	kmqtt_nl_close(&nl);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	/* Like wg: no command means show. */
	if (argc < 2)
		return cmd_show(0, NULL);
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 2, argv + 2);
	if (!strcmp(argv[1], "set"))
		return cmd_set(argc - 2, argv + 2);
	if (!strcmp(argv[1], "disconnect"))
		return cmd_disconnect(argc - 2, argv + 2);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "kmqttctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
