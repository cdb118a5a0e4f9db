// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"

#define HOUR_S	3600ULL
#define DAY_S	(24 * HOUR_S)

enum value_kind {
	VALUE_COUNT,		/* decimal, checked against min and max */
	VALUE_DURATION,		/* persistent_client_expiration: "14d" */
	VALUE_BOOL,		/* "true" or "false" */
};

/*
 * A configuration directive for one limit.  The values it may take are
 * the module's, from the limit's row of KMQTT_LIMITS; Mosquitto's spelling
 * of them is the directive's.
 */
struct limit_directive {
	const char *name;
	enum kmqtt_limit id;
	enum value_kind kind;
	bool zero_is_max;	/* Mosquitto's 0 for "no limit": the most */
	bool minus_one_is_zero;	/* Mosquitto's -1 for "unlimited" */
};

/* The first entry for an id gives its name in kmqttctl. */
static const struct limit_directive directives[] = {
	{ .name = "max_connections", .id = KMQTT_LIMIT_MAX_CONNECTIONS,
	  .kind = VALUE_COUNT,
	  .minus_one_is_zero = true },
	{ .name = "max_packet_size", .id = KMQTT_LIMIT_MAX_PACKET_SIZE,
	  .kind = VALUE_COUNT,
	  .zero_is_max = true },
	{ .name = "message_size_limit", .id = KMQTT_LIMIT_MESSAGE_SIZE,
	  .kind = VALUE_COUNT },
	/*
	 * Mosquitto's 0 ("no limit") becomes the most kmqtt.ko takes:
	 * packet identifiers cap what can be in flight anyway.
	 */
	{ .name = "max_inflight_messages", .id = KMQTT_LIMIT_MAX_INFLIGHT,
	  .kind = VALUE_COUNT,
	  .zero_is_max = true },
	{ .name = "max_queued_messages", .id = KMQTT_LIMIT_MAX_QUEUED_MESSAGES,
	  .kind = VALUE_COUNT },
	{ .name = "max_queued_bytes", .id = KMQTT_LIMIT_MAX_QUEUED_BYTES,
	  .kind = VALUE_COUNT },
	{ .name = "memory_limit", .id = KMQTT_LIMIT_MEMORY,
	  .kind = VALUE_COUNT },
	{ .name = "persistent_client_expiration", .id = KMQTT_LIMIT_SESSION_EXPIRY,
	  .kind = VALUE_DURATION },
	{ .name = "queue_qos0_messages", .id = KMQTT_LIMIT_QUEUE_QOS0,
	  .kind = VALUE_BOOL },
	{ .name = "retain_available", .id = KMQTT_LIMIT_RETAIN_AVAILABLE,
	  .kind = VALUE_BOOL },
	/* kmqtt extensions: Mosquitto has no such directives. */
	{ .name = "kmqtt_max_subscriptions", .id = KMQTT_LIMIT_MAX_SUBSCRIPTIONS,
	  .kind = VALUE_COUNT },
	{ .name = "kmqtt_max_retained_messages", .id = KMQTT_LIMIT_MAX_RETAINED,
	  .kind = VALUE_COUNT },
	{ .name = "kmqtt_max_retained_bytes", .id = KMQTT_LIMIT_MAX_RETAINED_BYTES,
	  .kind = VALUE_COUNT },
	{ .name = "kmqtt_max_topic_levels", .id = KMQTT_LIMIT_MAX_TOPIC_LEVELS,
	  .kind = VALUE_COUNT },
};

/* What kmqtt.ko takes for each limit, and what it starts with. */
#define LIMIT_BOUNDS(id, field, bits, lo, hi, def)	\
	[KMQTT_LIMIT_##id] = { lo, hi, def },
static const struct {
	uint64_t min, max, def;
} bounds[KMQTT_LIMIT_MAX + 1] = {
	KMQTT_LIMITS(LIMIT_BOUNDS)
};

#define DIRECTIVE_COUNT	(sizeof(directives) / sizeof(directives[0]))

/* Plain decimal digits only: no sign, spaces or suffix. */
static int parse_u64(const char *s, uint64_t *v)
{
	unsigned long long n;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*v = n;
	return 0;
}

static int parse_count(const struct limit_directive *d, const char *s,
		       uint64_t *v, char *err, size_t errlen)
{
	uint64_t min = bounds[d->id].min, max = bounds[d->id].max;

	if (d->minus_one_is_zero && !strcmp(s, "-1")) {
		*v = 0;
		return 0;
	}
	if (parse_u64(s, v) || *v > max) {
		snprintf(err, errlen,
			 "%s: \"%s\" is not a number from %s%llu to %llu",
			 d->name, s, d->minus_one_is_zero ? "-1 or " : "",
			 (unsigned long long)min,
			 (unsigned long long)max);
		return -EINVAL;
	}
	if (*v == 0 && d->zero_is_max)
		*v = max;
	if (*v < min) {
		snprintf(err, errlen, "%s: %s is below the minimum, %llu",
			 d->name, s, (unsigned long long)min);
		return -EINVAL;
	}
	return 0;
}

/* Mosquitto's units: hour, day, week, month (30 days), year (365 days). */
static int parse_duration(const struct limit_directive *d, const char *s,
			  uint64_t *v, char *err, size_t errlen)
{
	static const struct { char unit; uint64_t seconds; } units[] = {
		{ 'h', HOUR_S }, { 'd', DAY_S }, { 'w', 7 * DAY_S },
		{ 'm', 30 * DAY_S }, { 'y', 365 * DAY_S },
	};
	size_t len = strlen(s), i;
	char digits[24];
	uint64_t n;

	for (i = 0; len >= 2 && len - 1 < sizeof(digits) &&
		    i < sizeof(units) / sizeof(units[0]); i++) {
		if (s[len - 1] != units[i].unit)
			continue;
		memcpy(digits, s, len - 1);
		digits[len - 1] = '\0';
		if (parse_u64(digits, &n) ||
		    n > bounds[d->id].max / units[i].seconds)
			break;
		*v = n * units[i].seconds;
		return 0;
	}
	snprintf(err, errlen,
		 "%s: \"%s\" is not a duration like 12h, 2d, 1w, 1m or 1y (at most %llu seconds)",
		 d->name, s, (unsigned long long)bounds[d->id].max);
	return -EINVAL;
}

static int parse_bool(const struct limit_directive *d, const char *s,
		      uint64_t *v, char *err, size_t errlen)
{
	if (!strcmp(s, "true") || !strcmp(s, "false")) {
		*v = !strcmp(s, "true");
		return 0;
	}
	snprintf(err, errlen, "%s: \"%s\" is neither true nor false", d->name,
		 s);
	return -EINVAL;
}

enum limits_parse_result limits_parse(const char *name, const char *value,
				      struct kmqtt_nl_limits *out,
				      char *err, size_t errlen)
{
	const struct limit_directive *d = NULL;
	uint64_t v = 0;
	size_t i;
	int rc;

	for (i = 0; i < DIRECTIVE_COUNT && !d; i++)
		if (!strcmp(name, directives[i].name))
			d = &directives[i];
	if (!d)
		return LIMITS_UNKNOWN;

	switch (d->kind) {
	case VALUE_COUNT:
		rc = parse_count(d, value, &v, err, errlen);
		break;
	case VALUE_DURATION:
		rc = parse_duration(d, value, &v, err, errlen);
		break;
	default:
		rc = parse_bool(d, value, &v, err, errlen);
		break;
	}
	if (rc)
		return LIMITS_INVALID;
	out->value[d->id] = v;
	out->mask |= KMQTT_NL_LIMIT_BIT(d->id);
	return LIMITS_OK;
}

static const struct limit_directive *directive_of(enum kmqtt_limit id)
{
	size_t i;

	for (i = 0; i < DIRECTIVE_COUNT; i++)
		if (directives[i].id == id)
			return &directives[i];
	return NULL;
}

const char *limits_name(enum kmqtt_limit id)
{
	const struct limit_directive *d = directive_of(id);

	return d ? d->name : NULL;
}

bool limits_is_bool(enum kmqtt_limit id)
{
	const struct limit_directive *d = directive_of(id);

	return d && d->kind == VALUE_BOOL;
}

uint64_t limits_value(const struct kmqtt_nl_limits *l, enum kmqtt_limit id)
{
	return l->mask & KMQTT_NL_LIMIT_BIT(id) ? l->value[id] : bounds[id].def;
}
