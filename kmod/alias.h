/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MQTT 5.0 topic aliases a client sets on its PUBLISHes (3.3.2.3.4): per
 * connection, 1 to the Topic Alias Maximum its CONNACK announced.
 */
#ifndef _KMQTT_ALIAS_H
#define _KMQTT_ALIAS_H

struct kmqtt_conn;
struct kmqtt_publish;

/*
 * Apply @pub's topic alias, if it has one: a topic with an alias sets it,
 * an empty topic takes the alias's (then @pub->topic points at the
 * connection's copy, valid until its next PUBLISH).  Returns 0, -ENOSPC
 * or -ENOMEM (run again later), or a violation's -EPROTO: an alias of 0
 * or over the maximum (0x94), an empty topic without a known alias
 * (0x82).  Receive work only.
 */
int kmqtt_alias_apply(struct kmqtt_conn *conn, struct kmqtt_publish *pub);

/* Free the connection's aliases. */
void kmqtt_alias_free(struct kmqtt_conn *conn);

#endif /* _KMQTT_ALIAS_H */
