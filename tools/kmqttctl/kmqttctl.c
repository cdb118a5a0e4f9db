// SPDX-License-Identifier: GPL-2.0
/*
 * kmqttctl: inspect kmqtt.ko, in the spirit of `wg show`.  The netlink
 * client is the agent's (agent/nl.c), so both speak the ABI the same way.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "addr.h"
#include "nl.h"

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
};

/* Which counters GET_INFO totals and GET_CONN entries carry. */
static const enum kmqtt_stat total_stats[] = {
	KMQTT_STAT_CONNECTIONS, KMQTT_STAT_CONNECTIONS_TOTAL,
	KMQTT_STAT_SUBSCRIPTIONS, KMQTT_STAT_MSGS_IN, KMQTT_STAT_MSGS_OUT,
	KMQTT_STAT_MSGS_DROPPED, KMQTT_STAT_BYTES_IN, KMQTT_STAT_BYTES_OUT,
	KMQTT_STAT_PROTOCOL_ERRORS,
};

static const enum kmqtt_stat conn_stats[] = {
	KMQTT_STAT_SUBSCRIPTIONS, KMQTT_STAT_MSGS_IN, KMQTT_STAT_MSGS_OUT,
	KMQTT_STAT_MSGS_DROPPED, KMQTT_STAT_BYTES_IN, KMQTT_STAT_BYTES_OUT,
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct show {
	bool json;
	unsigned int conns;	/* connections printed so far */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kmqttctl <command>\n"
		"  show [--json]  module totals and every connection\n"
		"  help           this text\n");
}

static const char *protocol_name(uint8_t level)
{
	switch (level) {
	case MQTT_PROTO_V31:
		return "3.1";
	case MQTT_PROTO_V311:
		return "3.1.1";
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

/* "messages: 1 in, 2 out, 3 dropped" and "bytes: 4 in, 5 out" */
static void text_traffic(const uint64_t *s)
{
	printf("  messages: %" PRIu64 " in, %" PRIu64 " out, %" PRIu64
	       " dropped\n", s[KMQTT_STAT_MSGS_IN], s[KMQTT_STAT_MSGS_OUT],
	       s[KMQTT_STAT_MSGS_DROPPED]);
	printf("  bytes: %" PRIu64 " in, %" PRIu64 " out\n",
	       s[KMQTT_STAT_BYTES_IN], s[KMQTT_STAT_BYTES_OUT]);
}

static void show_info(const struct show *sh, const struct kmqtt_nl_info *info)
{
	const uint64_t *s = info->stats;

	if (sh->json) {
		printf("{\"version\":%u,\"stats\":", info->version);
		json_stats(s, total_stats, ARRAY_SIZE(total_stats));
		printf(",\"connections\":[");
		return;
	}
	printf("kmqtt: version %u\n", info->version);
	printf("  connections: %" PRIu64 " open, %" PRIu64 " total\n",
	       s[KMQTT_STAT_CONNECTIONS], s[KMQTT_STAT_CONNECTIONS_TOTAL]);
	printf("  subscriptions: %" PRIu64 "\n", s[KMQTT_STAT_SUBSCRIPTIONS]);
	text_traffic(s);
	printf("  protocol errors: %" PRIu64 "\n",
	       s[KMQTT_STAT_PROTOCOL_ERRORS]);
}

static void show_conn(const struct kmqtt_nl_conn *c, void *arg)
{
	struct show *sh = arg;
	char peer[ADDR_STR_MAX];

	addr_format((const struct sockaddr *)&c->peer, peer);
	if (sh->json) {
		printf("%s{\"id\":%" PRIu64 ",\"client_id\":",
		       sh->conns ? "," : "", c->id);
		json_string(c->client_id);
		printf(",\"peer\":");
		json_string(peer);
		printf(",\"protocol\":\"%s\",\"keepalive\":%u,\"clean_session\":%s,\"stats\":",
		       protocol_name(c->proto_level), c->keepalive,
		       c->clean_session ? "true" : "false");
		json_stats(c->stats, conn_stats, ARRAY_SIZE(conn_stats));
		printf("}");
	} else {
		printf("\nconnection %" PRIu64 ": %s\n", c->id, c->client_id);
		printf("  peer: %s\n", peer);
		printf("  protocol: %s\n", protocol_name(c->proto_level));
		printf("  keepalive: %u s\n", c->keepalive);
		printf("  clean session: %s\n", c->clean_session ? "yes" : "no");
		printf("  subscriptions: %" PRIu64 "\n",
		       c->stats[KMQTT_STAT_SUBSCRIPTIONS]);
		text_traffic(c->stats);
	}
	sh->conns++;
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
		rc = kmqtt_nl_dump_conns(&nl, show_conn, &sh);
	}
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "kmqttctl: %s\n", nl.error);
	} else if (sh.json) {
		printf("]}\n");
	}
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
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "kmqttctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
