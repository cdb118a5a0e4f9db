// SPDX-License-Identifier: GPL-2.0
/*
 * The $SYS/broker tree: see sys.h.  The names and payload formats are
 * Mosquitto's (src/sys_tree.c); the figures are the module's totals.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <kmqtt/version.h>

#include "log.h"
#include "sys.h"

#define SYS_PREFIX	"$SYS/broker/"

static const char *const sys_figure_topic[SYS_FIGURES] = {
	[SYS_VERSION] = "version",
	[SYS_UPTIME] = "uptime",
	[SYS_CLIENTS_TOTAL] = "clients/total",
	[SYS_CLIENTS_MAXIMUM] = "clients/maximum",
	[SYS_CLIENTS_CONNECTED] = "clients/connected",
	[SYS_CLIENTS_ACTIVE] = "clients/active",
	[SYS_CLIENTS_DISCONNECTED] = "clients/disconnected",
	[SYS_CLIENTS_INACTIVE] = "clients/inactive",
	[SYS_CLIENTS_EXPIRED] = "clients/expired",
	[SYS_MESSAGES_RECEIVED] = "messages/received",
	[SYS_MESSAGES_SENT] = "messages/sent",
	[SYS_PUBLISH_RECEIVED] = "publish/messages/received",
	[SYS_PUBLISH_SENT] = "publish/messages/sent",
	[SYS_PUBLISH_DROPPED] = "publish/messages/dropped",
	[SYS_BYTES_RECEIVED] = "bytes/received",
	[SYS_BYTES_SENT] = "bytes/sent",
	[SYS_SUBSCRIPTIONS] = "subscriptions/count",
	[SYS_RETAINED] = "retained messages/count",
	[SYS_MESSAGES_STORED] = "messages/stored",
	[SYS_STORE_COUNT] = "store/messages/count",
	[SYS_HEAP_CURRENT] = "heap/current",
	[SYS_HEAP_MAXIMUM] = "heap/maximum",
};

/* The rates: what is averaged under $SYS/broker/load/NAME/Wmin. */
static const struct {
	const char *name;
	enum kmqtt_stat stat;
} sys_load[SYS_LOADS] = {
	{ "messages/received", KMQTT_STAT_MSGS_IN },
	{ "messages/sent", KMQTT_STAT_MSGS_OUT },
	{ "publish/received", KMQTT_STAT_MSGS_IN },
	{ "publish/sent", KMQTT_STAT_MSGS_OUT },
	{ "publish/dropped", KMQTT_STAT_MSGS_DROPPED },
	{ "bytes/received", KMQTT_STAT_BYTES_IN },
	{ "bytes/sent", KMQTT_STAT_BYTES_OUT },
	{ "connections", KMQTT_STAT_CONNECTIONS_TOTAL },
};

static const unsigned int sys_window_min[SYS_WINDOWS] = { 1, 5, 15 };

const char *sys_topic_name(unsigned int i, char *buf)
{
	if (i < SYS_FIGURES) {
		snprintf(buf, SYS_TOPIC_MAX, SYS_PREFIX "%s",
			 sys_figure_topic[i]);
		return buf;
	}
	i -= SYS_FIGURES;
	snprintf(buf, SYS_TOPIC_MAX, SYS_PREFIX "load/%s/%umin",
		 sys_load[i / SYS_WINDOWS].name,
		 sys_window_min[i % SYS_WINDOWS]);
	return buf;
}

double sys_load_step(double avg, double per_min, double dt_s,
		     unsigned int window_min)
{
	return per_min + exp(-dt_s / (60.0 * window_min)) * (avg - per_min);
}

void sys_init(struct sys_tree *t, struct kmqtt_nl *nl,
	      const struct sys_ops *ops, uint64_t now_ms)
{
	memset(t, 0, sizeof(*t));
	t->nl = nl;
	t->ops = ops;
	t->start_ms = now_ms;
}

/* Publish topic @i with @text unless it holds that already. */
static void sys_set(struct sys_tree *t, unsigned int i, const char *text)
{
	char topic[SYS_TOPIC_MAX];
	int err;

	if (t->known[i] && !strcmp(t->value[i], text))
		return;
	t->nl->error[0] = '\0';
	err = own_publish(t->ops->publish, t->nl, sys_topic_name(i, topic),
			  text, strlen(text), SYS_QOS, true);
	/*
	 * EOPNOTSUPP: delivered, not stored (retain_available false):
	 * nothing new to clear, nor to say each time.
	 */
	if (err && err != -EOPNOTSUPP) {
		/* Tried again at the next update. */
		if (!t->refused++)
			snprintf(t->refusal, sizeof(t->refusal), "%s: %s",
				 topic, t->nl->error[0] ? t->nl->error :
				 strerror(-err));
		t->known[i] = false;
		return;
	}
	snprintf(t->value[i], sizeof(t->value[i]), "%s", text);
	t->known[i] = true;
	if (!err)
		t->held[i] = true;
}

static void sys_set_u64(struct sys_tree *t, unsigned int i, uint64_t v)
{
	char text[SYS_VALUE_MAX];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	sys_set(t, i, text);
}

/* The plain figures from the module's totals @s. */
static void sys_figures(struct sys_tree *t, const struct kmqtt_nl_info *info,
			uint64_t now_ms)
{
	const uint64_t *s = info->stats;
	uint64_t sessions = s[KMQTT_STAT_SESSIONS];
	uint64_t online = s[KMQTT_STAT_CONNECTIONS];
	/* Attaching connections may not have their session yet. */
	uint64_t offline = sessions > online ? sessions - online : 0;
	uint64_t stored = s[KMQTT_STAT_RETAINED] + s[KMQTT_STAT_QUEUED] +
			  s[KMQTT_STAT_INFLIGHT];
	char text[SYS_VALUE_MAX];

	sys_set(t, SYS_VERSION, "kmqtt version " KMQTT_VERSION);
	snprintf(text, sizeof(text), "%" PRIu64 " seconds",
		 (now_ms - t->start_ms) / 1000);
	sys_set(t, SYS_UPTIME, text);
	if (sessions > t->clients_max)
		t->clients_max = sessions;
	if (s[KMQTT_STAT_MEMORY] > t->heap_max)
		t->heap_max = s[KMQTT_STAT_MEMORY];
	sys_set_u64(t, SYS_CLIENTS_TOTAL, sessions);
	sys_set_u64(t, SYS_CLIENTS_MAXIMUM, t->clients_max);
	sys_set_u64(t, SYS_CLIENTS_CONNECTED, online);
	sys_set_u64(t, SYS_CLIENTS_ACTIVE, online);
	sys_set_u64(t, SYS_CLIENTS_DISCONNECTED, offline);
	sys_set_u64(t, SYS_CLIENTS_INACTIVE, offline);
	sys_set_u64(t, SYS_CLIENTS_EXPIRED, s[KMQTT_STAT_SESSIONS_EXPIRED]);
	sys_set_u64(t, SYS_MESSAGES_RECEIVED, s[KMQTT_STAT_MSGS_IN]);
	sys_set_u64(t, SYS_MESSAGES_SENT, s[KMQTT_STAT_MSGS_OUT]);
	sys_set_u64(t, SYS_PUBLISH_RECEIVED, s[KMQTT_STAT_MSGS_IN]);
	sys_set_u64(t, SYS_PUBLISH_SENT, s[KMQTT_STAT_MSGS_OUT]);
	sys_set_u64(t, SYS_PUBLISH_DROPPED, s[KMQTT_STAT_MSGS_DROPPED]);
	sys_set_u64(t, SYS_BYTES_RECEIVED, s[KMQTT_STAT_BYTES_IN]);
	sys_set_u64(t, SYS_BYTES_SENT, s[KMQTT_STAT_BYTES_OUT]);
	sys_set_u64(t, SYS_SUBSCRIPTIONS, s[KMQTT_STAT_SUBSCRIPTIONS]);
	sys_set_u64(t, SYS_RETAINED, s[KMQTT_STAT_RETAINED]);
	sys_set_u64(t, SYS_MESSAGES_STORED, stored);
	sys_set_u64(t, SYS_STORE_COUNT, stored);
	sys_set_u64(t, SYS_HEAP_CURRENT, s[KMQTT_STAT_MEMORY]);
	sys_set_u64(t, SYS_HEAP_MAXIMUM, t->heap_max);
}

/*
 * The moving averages: at the first update since turned on, 0.00 each
 * (Mosquitto's start); then each steps towards the rate per minute
 * since the last update.
 */
static void sys_loads(struct sys_tree *t, const uint64_t *s, uint64_t now_ms)
{
	double dt_s = (double)(now_ms - t->last_ms) / 1000.0;
	char text[SYS_VALUE_MAX];
	unsigned int l, w;

	for (l = 0; l < SYS_LOADS; l++) {
		uint64_t total = s[sys_load[l].stat];
		/* A module reloaded meanwhile counts from 0 again. */
		uint64_t delta = total >= t->counter[l] ?
				 total - t->counter[l] : total;

		for (w = 0; w < SYS_WINDOWS; w++) {
			double *avg = &t->load[l][w];

			if (t->last_ms && dt_s > 0)
				*avg = sys_load_step(*avg,
						     (double)delta * 60.0 / dt_s,
						     dt_s, sys_window_min[w]);
			snprintf(text, sizeof(text), "%.2f", *avg);
			sys_set(t, SYS_FIGURES + l * SYS_WINDOWS + w, text);
		}
		t->counter[l] = total;
	}
}

void sys_update(struct sys_tree *t, const struct kmqtt_nl_info *info,
		uint64_t now_ms)
{
	t->refused = 0;
	sys_figures(t, info, now_ms);
	sys_loads(t, info->stats, now_ms);
	t->last_ms = now_ms;
	if (t->refused)
		log_warning("$SYS: %u topics refused, tried again in %u s: %s",
			    t->refused, t->interval, t->refusal);
}

void sys_clear(struct sys_tree *t)
{
	char topic[SYS_TOPIC_MAX];
	unsigned int i;
	int err;

	for (i = 0; i < SYS_TOPICS; i++) {
		t->known[i] = false;
		if (!t->held[i])
			continue;
		t->held[i] = false;
		t->nl->error[0] = '\0';
		err = own_publish(t->ops->publish, t->nl,
				  sys_topic_name(i, topic), NULL, 0, SYS_QOS,
				  true);
		if (err)
			log_warning("Clearing %s: %s", topic,
				    t->nl->error[0] ? t->nl->error :
				    strerror(-err));
	}
}

void sys_configure(struct sys_tree *t, unsigned int interval,
		   uint64_t now_ms)
{
	if (interval == t->interval)
		return;
	if (!interval) {
		sys_clear(t);
	} else if (!t->interval) {
		/* Averages start again from 0.00, as at Mosquitto's start. */
		memset(t->load, 0, sizeof(t->load));
		t->last_ms = 0;
		t->next_ms = now_ms;
	} else {
		t->next_ms = now_ms + (uint64_t)interval * 1000;
	}
	t->interval = interval;
}

int sys_timeout(const struct sys_tree *t, uint64_t now_ms)
{
	uint64_t ms;

	if (!t->interval)
		return -1;
	if (t->next_ms <= now_ms)
		return 0;
	ms = t->next_ms - now_ms;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

void sys_tick(struct sys_tree *t, uint64_t now_ms)
{
	struct kmqtt_nl_info info;

	if (!t->interval || now_ms < t->next_ms)
		return;
	t->next_ms = now_ms + (uint64_t)t->interval * 1000;
	if (t->ops->get_info(t->nl, &info)) {
		log_error("$SYS: reading the module's totals: %s",
			  t->nl->error);
		return;
	}
	sys_update(t, &info, now_ms);
}
