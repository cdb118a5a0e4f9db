/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CONNECT framing and parsing (MQTT 3.1, 3.1.1 and 5.0), and the CONNACK
 * bytes the agent has a say in: a refusal, and a 5.0 client's properties.
 * Pure functions over a byte buffer, so they can be unit tested without
 * sockets.  The fixed header, UTF-8, topic name and property checks are
 * the module's own (kmod/codec.c, kmod/topic.c, kmod/property.c, linked
 * into kmqttd).
 */
#ifndef KMQTTD_CONNECT_H
#define KMQTTD_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kmqtt.h>

/*
 * The bit Mosquitto's bridges (try_private) set in a 3.1.x CONNECT's
 * protocol level, for the broker to tell them from clients.
 */
#define CONNECT_LEVEL_BRIDGE	0x80

/* Largest CONNECT remaining length we read; a larger one is dropped. */
#define CONNECT_MAX_REMAINING	(64 * 1024)

/*
 * The start of a CONNECT body up to the client id's length, with the
 * longest protocol name ("MQIsdp"): name, level, flags, keepalive, length.
 * MQTT 3.1.x only: 5.0 has its properties in front of the id.
 */
#define CONNECT_PREFIX_MAX	(2 + 6 + 1 + 1 + 2 + 2)

/*
 * What an assigned client id has after its prefix: 32 random upper case
 * hex digits grouped 8-4-4-4-12, as Mosquitto's (a UUID's shape).
 */
#define CONNECT_ASSIGNED_ID_RANDOM_LEN	36

/*
 * CONNACK (kmqtt_codec_put_connack()): fixed header, remaining length,
 * session present, return code.
 */
#define CONNECT_CONNACK_SIZE	4

/* A refusal's CONNACK, 5.0's form: the same and a property length of 0. */
#define CONNECT_REFUSAL_MAX	(CONNECT_CONNACK_SIZE + 1)

/*
 * The most CONNACK properties connect_put_connack_props() writes:
 * Assigned Client Identifier (id, length, KMQTT_CLIENT_ID_MAX bytes),
 * Session Expiry Interval, Server Keep Alive, Receive Maximum, Maximum
 * Packet Size, Topic Alias Maximum and Retain Available.
 */
#define CONNECT_CONNACK_PROPS_MAX	(3 + KMQTT_CLIENT_ID_MAX + 5 + 3 + 3 + \
					 5 + 3 + 2)

/* A length-prefixed field, pointing into the packet buffer. */
struct connect_bytes {
	const uint8_t *data;
	uint16_t len;
};

/*
 * The fields of a CONNECT packet; byte views point into the packet.  The
 * MQTT 5.0 ones keep 5.0's defaults for a 3.1.x client.
 */
struct connect_packet {
	uint8_t proto_level;		/* MQTT_PROTO_V31, _V311 or _V5 */
	/* Its level had 0x80 set: another broker's bridge (try_private). */
	bool bridge;
	bool clean_session;		/* 5.0: Clean Start */
	uint16_t keepalive;
	/* NUL-terminated: valid UTF-8 never contains U+0000 */
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	size_t client_id_len;		/* 0: the server must assign one */
	bool assigned_id;		/* connect_assign_client_id() made it */
	/* 5.0's CONNECT properties (3.1.2.11) */
	uint32_t session_expiry;	/* seconds; 0: ends with the connection */
	uint16_t receive_max;		/* 65535 when absent */
	uint32_t max_packet_size;	/* 0: absent, no limit */
	uint16_t topic_alias_max;	/* 0: it takes no topic alias */
	bool request_problem_info;	/* true when absent */
	bool request_response_info;
	/* Enhanced authentication (4.12): its method and first data. */
	bool has_auth_method;
	struct connect_bytes auth_method;
	struct connect_bytes auth_data;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	/*
	 * 5.0: the will's properties (3.1.3.2) as sent, after their length;
	 * connect_will_publish_props() leaves out the delay.
	 */
	struct connect_bytes will_props;
	uint32_t will_delay;		/* its Will Delay Interval, seconds */
	struct connect_bytes will_topic;
	struct connect_bytes will_payload;
	bool has_username;
	struct connect_bytes username;
	bool has_password;
	struct connect_bytes password;
};

enum connect_action {
	CONNECT_ACCEPT,		/* attach the connection */
	CONNECT_REFUSE,		/* send CONNACK with return_code, then close */
	CONNECT_DROP,		/* close without CONNACK */
};

struct connect_result {
	enum connect_action action;
	/* refused: a code for connect_put_refusal() */
	uint8_t return_code;
	const char *reason;	/* why refused or dropped, for the log */
};

/* What the broker grants 5.0 clients and says so in CONNACK (3.2.2.3). */
struct connect_limits {
	uint32_t session_expiry_max;	/* seconds; 0: as the client asks */
	uint16_t receive_max;		/* 0: not announced (65535) */
	uint32_t max_packet_size;	/* 0: not announced (no limit) */
	uint16_t topic_alias_max;	/* 0: not announced (none) */
	bool retain_available;
	/*
	 * max_keepalive, seconds; 0: the client's, whatever it is.  A 3.1.x
	 * client without keepalive (0) is refused only when the file sets
	 * it (@max_keepalive_set): see connect_keepalive_refusal().
	 */
	uint16_t max_keepalive;
	bool max_keepalive_set;
};

/*
 * How many bytes of the first packet must be read before calling again.
 * @buf holds the @have bytes read so far (at least 1).  On success *@need
 * is either @have + 1 (the fixed header is not complete yet) or the size of
 * the whole packet, so *@need == @have means the packet is complete and
 * reading exactly *@need - @have bytes never reads past the packet.
 * Returns NULL, or why the connection must be dropped.
 */
const char *connect_frame_need(const uint8_t *buf, size_t have, size_t *need);

/*
 * The reader's next step, as connect_frame_need() with one difference: a
 * 3.1.x CONNECT whose client id is longer than we take (KMQTT_CLIENT_ID_MAX,
 * 23 bytes for MQTT 3.1) is refused (CONNECT_REFUSE, CONNACK 2,
 * MQTT-3.1.3-9) as soon as the id's length field is read, without reading
 * the rest, and even when the packet is over CONNECT_MAX_REMAINING: of
 * those, only the first CONNECT_PREFIX_MAX bytes of the body are read, to
 * tell why they are refused.  A 5.0 CONNECT is not: its id comes after
 * properties of any length, so one over CONNECT_MAX_REMAINING is dropped
 * as Mosquitto drops it, and a long id in a smaller one is refused by
 * connect_parse().  Returns CONNECT_ACCEPT with *@need set as
 * connect_frame_need() sets it, else the refusal or the reason to drop.
 */
struct connect_result connect_read_step(const uint8_t *buf, size_t have,
					size_t *need);

/*
 * Parse the complete CONNECT packet @pkt of @len bytes (fixed header
 * included) into @c.  A 3.1.1 or 5.0 client asking for a server-assigned
 * id is accepted with c->client_id_len == 0.
 */
struct connect_result connect_parse(const uint8_t *pkt, size_t len,
				    struct connect_packet *c);

/*
 * The code the CONNACK refusing a client of @proto_level with @code
 * carries.  @code is a 3.1.1 return code (1 to 5) where 3.1.1 has one, as
 * the auth check gives them, else a 5.0 reason code (0x80 and up; the two
 * ranges do not meet): a 5.0 client gets 5.0's code, any other 3.1.1's,
 * and so does one whose protocol level is refused, as Mosquitto answers.
 */
uint8_t connect_refusal_code(uint8_t proto_level, uint8_t code);

/*
 * That CONNACK, into @buf (CONNECT_REFUSAL_MAX bytes), in the form of the
 * version whose code it carries.  Returns its size.
 */
size_t connect_put_refusal(uint8_t *buf, uint8_t proto_level, uint8_t code);

/* The session expiry interval the broker grants the 5.0 client @c. */
uint32_t connect_session_expiry(const struct connect_packet *c,
				const struct connect_limits *l);

/*
 * The keepalive the broker holds @c to under @l: the client's, or for a
 * 5.0 client max_keepalive when the client's is longer or 0 (none), which
 * it is told in CONNACK (Server Keep Alive, 5.0 3.2.2.3.14).
 */
uint16_t connect_keepalive(const struct connect_packet *c,
			   const struct connect_limits *l);

/*
 * Why the 3.1.x client @c is refused under @l (CONNACK 2, as Mosquitto
 * 2.0.12 on), or NULL: a keepalive over max_keepalive, or none when the
 * file sets max_keepalive.  3.1.x has no Server Keep Alive to tell it.
 */
const char *connect_keepalive_refusal(const struct connect_packet *c,
				      const struct connect_limits *l);

/*
 * The properties of the CONNACK accepting the 5.0 client @c under @l,
 * without their length, into @buf (CONNECT_CONNACK_PROPS_MAX bytes);
 * returns their length.
 */
size_t connect_put_connack_props(uint8_t *buf, const struct connect_packet *c,
				 const struct connect_limits *l);

/*
 * Whether the CONNACK accepting the 5.0 client @c, with @props_len bytes
 * of properties, is within its Maximum Packet Size (5.0 MQTT-3.1.2-24).
 */
bool connect_connack_fits(const struct connect_packet *c, size_t props_len);

/*
 * The will properties of the 5.0 client @c as the will's PUBLISH carries
 * them, into @buf (c->will_props.len bytes): all but the Will Delay
 * Interval, which only says when to publish.  Returns their length.
 */
size_t connect_will_publish_props(const struct connect_packet *c,
				  uint8_t *buf);

/*
 * Give @c a fresh random client id: @prefix (at most KMQTT_CLIENT_ID_MAX -
 * CONNECT_ASSIGNED_ID_RANDOM_LEN bytes) and the random part, and set
 * c->assigned_id.  Returns 0 or -errno.
 */
int connect_assign_client_id(struct connect_packet *c, const char *prefix);

#endif /* KMQTTD_CONNECT_H */
