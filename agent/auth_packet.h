/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What goes over the wire while a CONNECT's enhanced authentication runs
 * (MQTT 5.0 4.12): the client's AUTH packets, read and parsed, and the
 * server's, made; the Authentication Method and Data properties, which
 * the CONNACK ending the exchange carries too.  Pure functions over
 * bytes, as connect.h's.
 */
#ifndef KMQTTD_AUTH_PACKET_H
#define KMQTTD_AUTH_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "auth_method.h"
#include "connect.h"

/* Largest AUTH remaining length taken from a client. */
#define AUTH_PACKET_MAX_REMAINING	(4 * 1024)

/* The most bytes auth_packet_put_props() writes. */
#define AUTH_PACKET_PROPS_MAX	(3 + AUTH_METHOD_NAME_MAX + \
				 3 + AUTH_METHOD_DATA_MAX)

/* The most bytes auth_packet_put() writes. */
#define AUTH_PACKET_MAX		(MQTT_MAX_FIXED_HEADER + 1 + 2 + \
				 AUTH_PACKET_PROPS_MAX)

/*
 * The reader's next step for a packet from a client that authenticates,
 * as connect_read_step(): CONNECT_ACCEPT with *@need (*@need == @have:
 * complete), else what to do at once.  Only AUTH is read: DISCONNECT
 * ends the connection (dropped), anything else is a protocol error
 * (5.0 MQTT-3.1.2-30: refused with 0x82), an AUTH over
 * AUTH_PACKET_MAX_REMAINING is refused with 0x95.
 */
struct connect_result auth_packet_read_step(const uint8_t *buf, size_t have,
					    size_t *need);

/*
 * The complete AUTH @pkt (@len bytes) of an exchange of @method: its
 * Authentication Data into *@data, *@data_len (none: 0).  Refused with
 * 0x81 when malformed, 0x82 when its reason is not 0x18 (Continue
 * authentication) or its method not @method (5.0 MQTT-4.12.0-5).
 */
struct connect_result auth_packet_parse(const uint8_t *pkt, size_t len,
					const char *method,
					const uint8_t **data,
					size_t *data_len);

/*
 * Authentication Method @method and, when @data_len, Authentication
 * Data, as properties without their length into @buf
 * (AUTH_PACKET_PROPS_MAX bytes).  Returns their length.
 */
size_t auth_packet_put_props(uint8_t *buf, const char *method,
			     const uint8_t *data, size_t data_len);

/* The server's AUTH 0x18 with those into @buf (AUTH_PACKET_MAX bytes). */
size_t auth_packet_put(uint8_t *buf, const char *method,
		       const uint8_t *data, size_t data_len);

#endif /* KMQTTD_AUTH_PACKET_H */
