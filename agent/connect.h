/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CONNECT framing and parsing (MQTT 3.1 and 3.1.1).  Pure functions over a
 * byte buffer, so they can be unit tested without sockets.  The fixed
 * header, UTF-8 and topic name checks are the module's own
 * (kmod/codec.c, kmod/topic.c, linked into kmqttd).
 */
#ifndef KMQTTD_CONNECT_H
#define KMQTTD_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kmqtt.h>

/* Largest CONNECT remaining length we read; a larger one is dropped. */
#define CONNECT_MAX_REMAINING	(64 * 1024)

/*
 * The start of a CONNECT body up to the client id's length, with the
 * longest protocol name ("MQIsdp"): name, level, flags, keepalive, length.
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

/* A length-prefixed field, pointing into the packet buffer. */
struct connect_bytes {
	const uint8_t *data;
	uint16_t len;
};

/* The fields of a CONNECT packet; byte views point into the packet. */
struct connect_packet {
	uint8_t proto_level;		/* MQTT_PROTO_V31 or MQTT_PROTO_V311 */
	bool clean_session;
	uint16_t keepalive;
	/* NUL-terminated: valid UTF-8 never contains U+0000 */
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	size_t client_id_len;		/* 0: the server must assign one */
	bool will;
	uint8_t will_qos;
	bool will_retain;
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
	uint8_t return_code;	/* CONNACK return code when refused */
	const char *reason;	/* why refused or dropped, for the log */
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
 * CONNECT whose client id is longer than we take (KMQTT_CLIENT_ID_MAX, 23
 * bytes for MQTT 3.1) is refused (CONNECT_REFUSE, CONNACK 2, MQTT-3.1.3-9)
 * as soon as the id's length field is read, without reading the rest, and
 * even when the packet is over CONNECT_MAX_REMAINING: of those, only the
 * first CONNECT_PREFIX_MAX bytes of the body are read, to tell why they
 * are refused.  Returns CONNECT_ACCEPT with *@need set as
 * connect_frame_need() sets it, else the refusal or the reason to drop.
 */
struct connect_result connect_read_step(const uint8_t *buf, size_t have,
					size_t *need);

/*
 * Parse the complete CONNECT packet @pkt of @len bytes (fixed header
 * included) into @c.  A 3.1.1 client asking for a server-assigned id is
 * accepted with c->client_id_len == 0.
 */
struct connect_result connect_parse(const uint8_t *pkt, size_t len,
				    struct connect_packet *c);

/*
 * Give @c a fresh random client id: @prefix (at most KMQTT_CLIENT_ID_MAX -
 * CONNECT_ASSIGNED_ID_RANDOM_LEN bytes) and the random part.  Returns 0 or
 * -errno.
 */
int connect_assign_client_id(struct connect_packet *c, const char *prefix);

#endif /* KMQTTD_CONNECT_H */
