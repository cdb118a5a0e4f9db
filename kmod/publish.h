/* SPDX-License-Identifier: GPL-2.0 */
/* Fan-out of application messages to every matching session. */
#ifndef _KMQTT_PUBLISH_H
#define _KMQTT_PUBLISH_H

#include "codec.h"
#include "topic.h"

struct kmqtt_broker;
struct kmqtt_conn;
struct kmqtt_msg;

/*
 * A PUBLISH received from @from: store it if retained, then fan it out.
 * A message the broker cannot hold is dropped and counted: QoS 0 returns
 * 0 all the same, QoS 1/2 -ENOMEM (it must not be acknowledged).
 */
int kmqtt_publish(struct kmqtt_conn *from, const struct kmqtt_publish *pub);

/* Fan @msg out using @set as scratch; process context, may not sleep. */
void kmqtt_publish_msg(struct kmqtt_broker *broker, struct kmqtt_msg *msg,
		       bool retain, struct kmqtt_match_set *set);

#endif /* _KMQTT_PUBLISH_H */
