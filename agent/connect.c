// SPDX-License-Identifier: GPL-2.0
/*
 * CONNECT framing and parsing for MQTT 3.1 and 3.1.1.  Section and
 * statement numbers refer to the MQTT 3.1.1 OASIS Standard.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <kmqtt/mqtt.h>

#include "connect.h"
#include "kmod/codec.h"
#include "kmod/topic.h"

static const char truncated[] = "truncated CONNECT";

/*
 * The fixed header in the @have bytes of @buf, decoded by the module's
 * codec, of a first packet that must be a CONNECT (MQTT-3.1.0-1) with at
 * most @max bytes of remaining length.  *@header_len is 0 while more header
 * bytes are needed, else the fixed header size and *@remaining the
 * remaining length.
 */
static const char *decode_fixed_header(const uint8_t *buf, size_t have,
				       size_t max, size_t *header_len,
				       size_t *remaining)
{
	struct kmqtt_fixed_hdr hdr;
	int ret;

	*header_len = 0;
	*remaining = 0;
	if (have == 0)
		return NULL;
	if (buf[0] >> 4 != MQTT_CONNECT)
		return "first packet is not CONNECT";
	/* Our limit is on the remaining length, the codec's on the packet. */
	ret = kmqtt_codec_fixed_hdr(buf, have, UINT32_MAX, &hdr);
	if (ret < 0)
		return buf[0] & 0x0f ?
		       "CONNECT with fixed header flags set (MQTT-2.2.2-2)" :
		       "malformed remaining length";
	if (ret == 0)
		return NULL;
	if (hdr.rem_len > max)
		return "CONNECT too large";
	*header_len = hdr.hdr_len;
	*remaining = hdr.rem_len;
	return NULL;
}

const char *connect_frame_need(const uint8_t *buf, size_t have, size_t *need)
{
	size_t header_len, remaining;
	const char *reason;

	reason = decode_fixed_header(buf, have, CONNECT_MAX_REMAINING,
				     &header_len, &remaining);
	if (reason)
		return reason;
	*need = header_len ? header_len + remaining : have + 1;
	return NULL;
}

/* Reads the CONNECT variable header and payload front to back. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

static const char *take_u8(struct cursor *cur, uint8_t *v)
{
	if (cur->left < 1)
		return truncated;
	*v = cur->p[0];
	cur->p++;
	cur->left--;
	return NULL;
}

static const char *take_u16(struct cursor *cur, uint16_t *v)
{
	if (cur->left < 2)
		return truncated;
	*v = (uint16_t)(cur->p[0] << 8 | cur->p[1]);
	cur->p += 2;
	cur->left -= 2;
	return NULL;
}

/* A field with a two byte length prefix (1.5.3, 3.1.3.3). */
static const char *take_bytes(struct cursor *cur, struct connect_bytes *b)
{
	const char *reason = take_u16(cur, &b->len);

	if (reason)
		return reason;
	if (cur->left < b->len)
		return truncated;
	b->data = cur->p;
	cur->p += b->len;
	cur->left -= b->len;
	return NULL;
}

/* A UTF-8 string field; @invalid is the reason given for bad UTF-8. */
static const char *take_string(struct cursor *cur, struct connect_bytes *b,
			       const char *invalid)
{
	const char *reason = take_bytes(cur, b);

	if (reason)
		return reason;
	return kmqtt_codec_utf8_valid(b->data, b->len) ? NULL : invalid;
}

static bool bytes_equal(const struct connect_bytes *b, const char *s)
{
	return b->len == strlen(s) && !memcmp(b->data, s, b->len);
}

static struct connect_result drop(const char *reason)
{
	return (struct connect_result){ .action = CONNECT_DROP,
					.reason = reason };
}

static struct connect_result refuse(uint8_t return_code, const char *reason)
{
	return (struct connect_result){ .action = CONNECT_REFUSE,
					.return_code = return_code,
					.reason = reason };
}

/* Connect flags (3.1.2.3 to 3.1.2.9). */
static const char *check_flags(uint8_t flags)
{
	uint8_t will_qos = (flags & MQTT_CONNECT_WILL_QOS_MASK) >>
			   MQTT_CONNECT_WILL_QOS_SHIFT;

	if (flags & MQTT_CONNECT_RESERVED)
		return "reserved connect flag set (MQTT-3.1.2-3)";
	if (flags & MQTT_CONNECT_WILL) {
		if (will_qos == 3)
			return "will QoS 3 (MQTT-3.1.2-14)";
	} else if (will_qos || (flags & MQTT_CONNECT_WILL_RETAIN)) {
		return "will QoS or retain without will flag (MQTT-3.1.2-13, MQTT-3.1.2-15)";
	}
	/* MQTT 3.1 does not say; Mosquitto closes those too. */
	if ((flags & MQTT_CONNECT_PASSWORD) && !(flags & MQTT_CONNECT_USERNAME))
		return "password without user name (MQTT-3.1.2-22)";
	return NULL;
}

/* The payload (3.1.3) in the order the flags announce its fields. */
static const char *take_payload(struct cursor *cur, struct connect_packet *c,
				struct connect_bytes *client_id)
{
	const char *reason;

	reason = take_string(cur, client_id, "client id is not valid UTF-8");
	if (reason)
		return reason;
	if (c->will) {
		reason = take_string(cur, &c->will_topic,
				     "will topic is not valid UTF-8");
		if (reason)
			return reason;
		if (!kmqtt_topic_name_valid(c->will_topic.data,
					    c->will_topic.len))
			return "will topic is empty or has wildcards";
		reason = take_bytes(cur, &c->will_payload);
		if (reason)
			return reason;
	}
	if (c->has_username) {
		reason = take_string(cur, &c->username,
				     "user name is not valid UTF-8");
		if (reason)
			return reason;
	}
	if (c->has_password) {
		reason = take_bytes(cur, &c->password);
		if (reason)
			return reason;
	}
	if (cur->left)
		return "bytes after the CONNECT payload";
	return NULL;
}

struct connect_result connect_parse(const uint8_t *pkt, size_t len,
				    struct connect_packet *c)
{
	struct connect_bytes name, client_id;
	size_t header_len, remaining;
	uint8_t expected_level, flags;
	struct cursor cur;
	const char *reason;

	memset(c, 0, sizeof(*c));
	reason = decode_fixed_header(pkt, len, CONNECT_MAX_REMAINING,
				     &header_len, &remaining);
	if (reason)
		return drop(reason);
	if (!header_len || header_len + remaining > len)
		return drop(truncated);
	if (header_len + remaining < len)
		return drop("bytes after the CONNECT packet");
	cur = (struct cursor){ .p = pkt + header_len, .left = remaining };

	reason = take_bytes(&cur, &name);
	if (reason)
		return drop(reason);
	if (bytes_equal(&name, MQTT_PROTO_NAME_V311))
		expected_level = MQTT_PROTO_V311;
	else if (bytes_equal(&name, MQTT_PROTO_NAME_V31))
		expected_level = MQTT_PROTO_V31;
	else
		return drop("unknown protocol name (MQTT-3.1.2-1)");

	reason = take_u8(&cur, &c->proto_level);
	if (reason)
		return drop(reason);
	/* Checked before the flags: a later level may change the layout. */
	if (c->proto_level != expected_level)
		return refuse(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL,
			      "unsupported protocol level (MQTT-3.1.2-2)");

	reason = take_u8(&cur, &flags);
	if (!reason)
		reason = check_flags(flags);
	if (!reason)
		reason = take_u16(&cur, &c->keepalive);
	if (reason)
		return drop(reason);
	c->clean_session = flags & MQTT_CONNECT_CLEAN_SESSION;
	c->will = flags & MQTT_CONNECT_WILL;
	c->will_qos = (flags & MQTT_CONNECT_WILL_QOS_MASK) >>
		      MQTT_CONNECT_WILL_QOS_SHIFT;
	c->will_retain = flags & MQTT_CONNECT_WILL_RETAIN;
	c->has_username = flags & MQTT_CONNECT_USERNAME;
	c->has_password = flags & MQTT_CONNECT_PASSWORD;

	reason = take_payload(&cur, c, &client_id);
	if (reason)
		return drop(reason);

	if (c->proto_level == MQTT_PROTO_V31) {
		if (client_id.len == 0 || client_id.len > MQTT_V31_CLIENT_ID_MAX)
			return refuse(MQTT_CONNACK_IDENTIFIER_REJECTED,
				      "MQTT 3.1 client id must have 1 to 23 bytes");
	} else if (client_id.len == 0 && !c->clean_session) {
		return refuse(MQTT_CONNACK_IDENTIFIER_REJECTED,
			      "empty client id without clean session (MQTT-3.1.3-8)");
	}
	if (client_id.len > KMQTT_CLIENT_ID_MAX)
		return refuse(MQTT_CONNACK_IDENTIFIER_REJECTED,
			      "client id too long");
	memcpy(c->client_id, client_id.data, client_id.len);
	c->client_id[client_id.len] = '\0';
	c->client_id_len = client_id.len;
	return (struct connect_result){ .action = CONNECT_ACCEPT };
}

/*
 * The client id's length, from the first @have bytes of a CONNECT body of
 * @remaining bytes.  Returns 1 with *@res when the id is longer than we
 * take, 0 when nothing speaks against the packet yet (or something
 * connect_parse() will judge), -1 when more bytes are needed to tell.
 */
static int check_client_id_length(const uint8_t *body, size_t have,
				  size_t remaining, struct connect_result *res)
{
	uint8_t expected_level, level, flags;
	struct connect_bytes name = { .data = body + 2 };
	size_t max, id_len;
	const uint8_t *p;

	if (have < 2)
		return -1;
	name.len = (uint16_t)(body[0] << 8 | body[1]);
	/* Neither "MQTT" nor "MQIsdp": connect_parse() drops it. */
	if (name.len != 4 && name.len != 6)
		return 0;
	/* name, level, flags, keepalive and the client id's length */
	if (have < 2 + (size_t)name.len + 6)
		return -1;
	p = body + 2 + name.len;
	level = p[0];
	flags = p[1];
	id_len = (size_t)p[4] << 8 | p[5];
	p += 6;
	if (bytes_equal(&name, MQTT_PROTO_NAME_V311))
		expected_level = MQTT_PROTO_V311;
	else if (bytes_equal(&name, MQTT_PROTO_NAME_V31))
		expected_level = MQTT_PROTO_V31;
	else
		return 0;
	if (level != expected_level || check_flags(flags))
		return 0;
	max = level == MQTT_PROTO_V31 ? MQTT_V31_CLIENT_ID_MAX :
					KMQTT_CLIENT_ID_MAX;
	/* An id the packet cannot hold: connect_parse() finds it truncated. */
	if (id_len <= max || (size_t)(p - body) + id_len > remaining)
		return 0;
	*res = refuse(MQTT_CONNACK_IDENTIFIER_REJECTED,
		      level == MQTT_PROTO_V31 ?
		      "MQTT 3.1 client id must have 1 to 23 bytes" :
		      "client id too long");
	return 1;
}

struct connect_result connect_read_step(const uint8_t *buf, size_t have,
					size_t *need)
{
	struct connect_result res = { .action = CONNECT_ACCEPT };
	size_t header_len, remaining, body;
	const char *reason;
	int verdict;

	reason = decode_fixed_header(buf, have, MQTT_MAX_REMAINING_LENGTH,
				     &header_len, &remaining);
	if (reason)
		return drop(reason);
	if (!header_len) {
		*need = have + 1;
		return res;
	}
	body = have - header_len < remaining ? have - header_len : remaining;
	verdict = check_client_id_length(buf + header_len, body, remaining,
					 &res);
	if (verdict > 0)
		return res;
	if (remaining > CONNECT_MAX_REMAINING) {
		if (verdict == 0)
			return drop("CONNECT too large");
		/* Just what tells whether the id is the reason. */
		*need = header_len + CONNECT_PREFIX_MAX;
		return res;
	}
	*need = header_len + remaining;
	return res;
}

int connect_assign_client_id(struct connect_packet *c, const char *prefix)
{
	/* Lengths of the groups of hex digits, separated by '-'. */
	static const uint8_t groups[] = { 8, 4, 4, 4, 12 };
	size_t len = strlen(prefix), g, k;
	uint8_t rnd[16], *r = rnd;
	ssize_t got;

	if (len > KMQTT_CLIENT_ID_MAX - CONNECT_ASSIGNED_ID_RANDOM_LEN)
		return -ENAMETOOLONG;
	got = getrandom(rnd, sizeof(rnd), 0);
	if (got < 0)
		return -errno;
	if ((size_t)got != sizeof(rnd))
		return -EIO;
	memcpy(c->client_id, prefix, len);
	for (g = 0; g < sizeof(groups); g++) {
		if (g)
			c->client_id[len++] = '-';
		for (k = 0; k < groups[g]; k += 2, r++) {
			snprintf(c->client_id + len, 3, "%02X", *r);
			len += 2;
		}
	}
	c->client_id_len = len;
	return 0;
}
