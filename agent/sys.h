/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The $SYS/broker tree (Documentation/monitoring.rst): every sys_interval
 * seconds kmqttd reads the module's totals (GET_INFO) and publishes, as
 * the broker and retained, the figures of Mosquitto's $SYS topics that
 * kmqtt has, each only when its text changed since it was last published;
 * and 1, 5 and 15 minute moving averages of the rates (per minute), as
 * Mosquitto computes them.  Turned off (sys_interval 0, or kmqttd's exit)
 * it clears every topic it published, so that no stale figure stays
 * retained.
 */
#ifndef KMQTTD_SYS_H
#define KMQTTD_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmqtt_nl.h"
#include "own_publish.h"

/* Mosquitto's QoS for them. */
#define SYS_QOS			2
/* The longest payload: a load "%.2f" of a u64 rate fits. */
#define SYS_VALUE_MAX		32

/* The plain figures, in the order of their topics (sys.c). */
enum sys_figure {
	SYS_VERSION,
	SYS_UPTIME,
	SYS_CLIENTS_TOTAL,
	SYS_CLIENTS_MAXIMUM,
	SYS_CLIENTS_CONNECTED,
	SYS_CLIENTS_ACTIVE,
	SYS_CLIENTS_DISCONNECTED,
	SYS_CLIENTS_INACTIVE,
	SYS_CLIENTS_EXPIRED,
	SYS_MESSAGES_RECEIVED,
	SYS_MESSAGES_SENT,
	SYS_PUBLISH_RECEIVED,
	SYS_PUBLISH_SENT,
	SYS_PUBLISH_DROPPED,
	SYS_BYTES_RECEIVED,
	SYS_BYTES_SENT,
	SYS_SUBSCRIPTIONS,
	SYS_RETAINED,
	SYS_MESSAGES_STORED,
	SYS_STORE_COUNT,
	SYS_HEAP_CURRENT,
	SYS_HEAP_MAXIMUM,
	SYS_FIGURES
};

/* The rates averaged, each over three windows. */
#define SYS_LOADS		8
#define SYS_WINDOWS		3
#define SYS_TOPICS		(SYS_FIGURES + SYS_LOADS * SYS_WINDOWS)
/* Room for the longest topic name. */
#define SYS_TOPIC_MAX		64

/* The module's side: kmqtt_nl's functions, or a test's fakes. */
struct sys_ops {
	int (*get_info)(struct kmqtt_nl *nl, struct kmqtt_nl_info *info);
	own_publish_fn publish;
};

struct sys_tree {
	struct kmqtt_nl *nl;
	const struct sys_ops *ops;
	unsigned int interval;		/* seconds; 0: off */
	uint64_t start_ms;		/* kmqttd's start: uptime */
	uint64_t next_ms;		/* of the next update, when on */
	/* The last update since it was turned on, 0: none yet. */
	uint64_t last_ms;
	uint64_t counter[SYS_LOADS];	/* the totals then */
	double load[SYS_LOADS][SYS_WINDOWS];
	uint64_t clients_max;		/* since kmqttd started */
	uint64_t heap_max;
	/*
	 * Topic i may hold a retained message of kmqttd's (held[i]), the
	 * text value[i] when known[i]; a publish refused leaves it unknown,
	 * published again at the next update.
	 */
	bool held[SYS_TOPICS];
	/* This update's refusals, logged once at its end: how many, the first. */
	unsigned int refused;
	char refusal[SYS_TOPIC_MAX + 2 + sizeof(((struct kmqtt_nl *)0)->error)];
	bool known[SYS_TOPICS];
	char value[SYS_TOPICS][SYS_VALUE_MAX];
};

void sys_init(struct sys_tree *t, struct kmqtt_nl *nl,
	      const struct sys_ops *ops, uint64_t now_ms);

/*
 * Take sys_interval @interval (seconds, 0: off), at start or on reload:
 * turned on, the first update is due at once; turned off, the topics
 * published are cleared.
 */
void sys_configure(struct sys_tree *t, unsigned int interval,
		   uint64_t now_ms);

/* Milliseconds until sys_tick() has work, or -1. */
int sys_timeout(const struct sys_tree *t, uint64_t now_ms);

/* Update the topics when due; a failure is logged and waits a turn. */
void sys_tick(struct sys_tree *t, uint64_t now_ms);

/* One update with the module's figures @info, at @now_ms. */
void sys_update(struct sys_tree *t, const struct kmqtt_nl_info *info,
		uint64_t now_ms);

/* Clear every topic published (empty, retained), as at kmqttd's exit. */
void sys_clear(struct sys_tree *t);

/* Topic @i (< SYS_TOPICS) into @buf of SYS_TOPIC_MAX bytes. */
const char *sys_topic_name(unsigned int i, char *buf);

/*
 * One step of a moving average of @window_min minutes, as Mosquitto's:
 * @avg moves towards the rate @per_min seen over the last @dt_s seconds
 * by 1 - exp(-dt_s / window).
 */
double sys_load_step(double avg, double per_min, double dt_s,
		     unsigned int window_min);

#endif /* KMQTTD_SYS_H */
