/* SPDX-License-Identifier: GPL-2.0 */
/* Fan-out of a received PUBLISH to every matching session. */
#ifndef _KMQTT_PUBLISH_H
#define _KMQTT_PUBLISH_H

#include "codec.h"

struct kmqtt_conn;

/* Returns 0 or -ENOMEM when the message could not even be encoded. */
int kmqtt_publish(struct kmqtt_conn *from, const struct kmqtt_publish *pub);

#endif /* _KMQTT_PUBLISH_H */
