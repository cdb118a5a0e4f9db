/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The broker's limits (enum kmqtt_limit in linux/kmqtt.h), one row each,
 * for the module and userspace alike: kmqtt.ko's struct kmqtt_limits, its
 * policy, defaults, GET_INFO and SET_LIMITS, and kmqttd's and kmqttctl's
 * tables are all made from this list.  Plain macros only.
 *
 * KMQTT_LIMITS(X) calls X(ID, field, bits, min, max, default) once per
 * limit, in attribute order:
 *   ID        the attribute, KMQTT_LIMIT_<ID>
 *   field     its member of struct kmqtt_limits, and its name in JSON
 *   bits      8, 32 or 64: the attribute's type (8: a switch, 0 or 1)
 *   min, max  the values SET_LIMITS takes; where 0 means "no limit", 0 is
 *             the minimum
 *   default   the module's value at load; memory's is computed then
 *             (a quarter of the RAM), this 0 is not used
 */
#ifndef _KMQTT_LIMITS_H
#define _KMQTT_LIMITS_H

#include <linux/kmqtt.h>

/* The largest packet: a 5-byte fixed header, the largest remaining length. */
#define KMQTT_LIMIT_PACKET_SIZE_MAX	268435460
/* The largest payload: Mosquitto's message_size_limit bound. */
#define KMQTT_LIMIT_PAYLOAD_SIZE_MAX	268435455
/* Packet ids are 1..65535: one stays free for a resend's id. */
#define KMQTT_LIMIT_INFLIGHT_MAX	65534

#define KMQTT_LIMIT_U32_MAX		0xffffffffULL
#define KMQTT_LIMIT_U64_MAX		0xffffffffffffffffULL

#define KMQTT_LIMITS(X)							\
	X(MAX_CONNECTIONS, max_connections, 32, 0, KMQTT_LIMIT_U32_MAX, 0) \
	X(MAX_PACKET_SIZE, max_packet_size, 32, 2,			\
	  KMQTT_LIMIT_PACKET_SIZE_MAX, 1024 * 1024)			\
	X(MAX_INFLIGHT, max_inflight, 32, 1, KMQTT_LIMIT_INFLIGHT_MAX, 20) \
	X(MAX_QUEUED_MESSAGES, max_queued_messages, 32, 0,		\
	  KMQTT_LIMIT_U32_MAX, 1000)					\
	X(MAX_QUEUED_BYTES, max_queued_bytes, 64, 0, KMQTT_LIMIT_U64_MAX, 0) \
	X(MAX_SUBSCRIPTIONS, max_subscriptions, 32, 1,			\
	  KMQTT_LIMIT_U32_MAX, 10000)					\
	X(MAX_RETAINED, max_retained, 32, 0, KMQTT_LIMIT_U32_MAX, 0)	\
	X(MAX_RETAINED_BYTES, max_retained_bytes, 64, 0,		\
	  KMQTT_LIMIT_U64_MAX, 0)					\
	X(MEMORY, memory, 64, 0, KMQTT_LIMIT_U64_MAX, 0)		\
	X(SESSION_EXPIRY, session_expiry, 32, 0, KMQTT_LIMIT_U32_MAX, 0) \
	X(QUEUE_QOS0, queue_qos0, 8, 0, 1, 0)				\
	X(RETAIN_AVAILABLE, retain_available, 8, 0, 1, 1)		\
	X(MAX_TOPIC_LEVELS, max_topic_levels, 32, 1,			\
	  KMQTT_TOPIC_LEVELS_MAX, 200)				\
	X(MESSAGE_SIZE, message_size, 32, 0, KMQTT_LIMIT_PAYLOAD_SIZE_MAX, 0)

#endif /* _KMQTT_LIMITS_H */
