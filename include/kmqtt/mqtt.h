/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * MQTT protocol constants (MQTT 3.1.1, OASIS Standard 2014), shared by the
 * kernel module and userspace.  Plain macros only: no types, no includes.
 */
#ifndef _KMQTT_MQTT_H
#define _KMQTT_MQTT_H

/* Control packet types, the high nibble of the fixed header (2.2.1). */
#define MQTT_CONNECT		1
#define MQTT_CONNACK		2
#define MQTT_PUBLISH		3
#define MQTT_PUBACK		4
#define MQTT_PUBREC		5
#define MQTT_PUBREL		6
#define MQTT_PUBCOMP		7
#define MQTT_SUBSCRIBE		8
#define MQTT_SUBACK		9
#define MQTT_UNSUBSCRIBE	10
#define MQTT_UNSUBACK		11
#define MQTT_PINGREQ		12
#define MQTT_PINGRESP		13
#define MQTT_DISCONNECT		14

/* Fixed header flags that 2.2.2 requires for SUBSCRIBE, UNSUBSCRIBE, PUBREL. */
#define MQTT_FLAGS_QOS1_RESERVED	0x2

/* PUBLISH fixed header flags (3.3.1). */
#define MQTT_PUBLISH_RETAIN	0x1
#define MQTT_PUBLISH_QOS_MASK	0x6
#define MQTT_PUBLISH_QOS_SHIFT	1
#define MQTT_PUBLISH_DUP	0x8

/* Remaining length: at most 4 bytes of 7 bits (2.2.3). */
#define MQTT_MAX_REMAINING_LENGTH	268435455
#define MQTT_MAX_FIXED_HEADER		5

/* Protocol levels (3.1.2.2). */
#define MQTT_PROTO_V31		3
#define MQTT_PROTO_V311		4
#define MQTT_PROTO_V5		5

/* Protocol names (3.1.2.1; MQTT 3.1 used "MQIsdp"). */
#define MQTT_PROTO_NAME_V311	"MQTT"
#define MQTT_PROTO_NAME_V31	"MQIsdp"

/* MQTT 3.1 limits client identifiers to 23 characters. */
#define MQTT_V31_CLIENT_ID_MAX	23

/* CONNECT flags (3.1.2.3). */
#define MQTT_CONNECT_RESERVED		0x01
#define MQTT_CONNECT_CLEAN_SESSION	0x02
#define MQTT_CONNECT_WILL		0x04
#define MQTT_CONNECT_WILL_QOS_MASK	0x18
#define MQTT_CONNECT_WILL_QOS_SHIFT	3
#define MQTT_CONNECT_WILL_RETAIN	0x20
#define MQTT_CONNECT_PASSWORD		0x40
#define MQTT_CONNECT_USERNAME		0x80

/* CONNACK return codes (3.2.2.3). */
#define MQTT_CONNACK_ACCEPTED			0x00
#define MQTT_CONNACK_UNACCEPTABLE_PROTOCOL	0x01
#define MQTT_CONNACK_IDENTIFIER_REJECTED	0x02
#define MQTT_CONNACK_SERVER_UNAVAILABLE		0x03
#define MQTT_CONNACK_BAD_USERNAME_PASSWORD	0x04
#define MQTT_CONNACK_NOT_AUTHORIZED		0x05

/* SUBACK return code for a refused filter (3.9.3). */
#define MQTT_SUBACK_FAILURE	0x80

/* Topic separators and wildcards (4.7). */
#define MQTT_TOPIC_SEP		'/'
#define MQTT_WILDCARD_SINGLE	'+'
#define MQTT_WILDCARD_MULTI	'#'

/* Longest topic name or filter: a UTF-8 string has a 16-bit length. */
#define MQTT_MAX_TOPIC_LEN	65535

#endif /* _KMQTT_MQTT_H */
