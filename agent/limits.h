/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The broker limits kmqtt.ko enforces, named as Mosquitto's configuration
 * directives (max_inflight_messages, memory_limit, ...) plus a few kmqtt_*
 * extensions.  Shared by the config file parser and `kmqttctl set`, so a
 * value means the same thing in both.
 */
#ifndef KMQTTD_LIMITS_H
#define KMQTTD_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kmqtt/limits.h>

#include "kmqtt_nl.h"

enum limits_parse_result {
	LIMITS_OK,
	LIMITS_UNKNOWN,		/* not a limit directive */
	LIMITS_INVALID,		/* a limit, with a bad value: see @err */
};

/*
 * Parse directive @name with @value into out->value[id] and mark it set in
 * out->mask.  Mosquitto value conventions apply (-1 or 0 for "no limit"
 * where Mosquitto has them, durations like "2d", "true"/"false").
 */
enum limits_parse_result limits_parse(const char *name, const char *value,
				      struct kmqtt_nl_limits *out,
				      char *err, size_t errlen);

/* The directive name an operator uses for kernel limit @id. */
const char *limits_name(enum kmqtt_limit id);

/* Limit @id as @l sets it, or as kmqtt.ko starts when @l does not. */
uint64_t limits_value(const struct kmqtt_nl_limits *l, enum kmqtt_limit id);

/* True for the limits that are switches (printed as true/false). */
bool limits_is_bool(enum kmqtt_limit id);

#endif /* KMQTTD_LIMITS_H */
