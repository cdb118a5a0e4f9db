/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages of the broker's own (bridge notifications, the $SYS tree):
 * put in the module's stored form (linux/kmqtt.h, KMQTT_A_MSG_DATA) and
 * handed to KMQTT_CMD_PUBLISH, fanned out and, retained, stored as a
 * client's would be.
 */
#ifndef KMQTTD_OWN_PUBLISH_H
#define KMQTTD_OWN_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmqtt_nl.h"

/* kmqtt_nl_publish(), or a test's fake. */
typedef int (*own_publish_fn)(struct kmqtt_nl *nl,
			      const struct kmqtt_nl_msg *m, bool retain);

/*
 * Publish the @len bytes of @payload (0: empty, which retained clears
 * the topic's message) on @topic, a valid topic name, at @qos, through
 * @fn.  Returns 0, -ENOMEM, -EINVAL (a topic over 65535 bytes) or what
 * @fn returns.
 */
int own_publish(own_publish_fn fn, struct kmqtt_nl *nl, const char *topic,
		const void *payload, size_t len, uint8_t qos, bool retain);

#endif /* KMQTTD_OWN_PUBLISH_H */
