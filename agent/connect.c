// SPDX-License-Identifier: GPL-2.0
/*
 * CONNECT framing and parsing for MQTT 3.1, 3.1.1 and 5.0, and the CONNACK
 * bytes the agent makes.  Section and statement numbers refer to the MQTT
 * 3.1.1 OASIS Standard, those marked "5.0" to the MQTT 5.0 one (their
 * numbering differs).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <kmqtt/mqtt.h>

#include "connect.h"
#include "kmod/codec.h"
#include "kmod/property.h"
#include "kmod/topic.h"

_Static_assert(CONNECT_CONNACK_PROPS_MAX <= KMQTT_CONNACK_PROPS_MAX,
	       "ATTACH takes every CONNACK property the agent writes");

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

/* Connect flags (3.1.2.3 to 3.1.2.9) of a client of @level. */
static const char *check_flags(uint8_t flags, uint8_t level)
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
	/*
	 * MQTT 3.1 does not say; Mosquitto closes those too.  5.0 allows a
	 * password alone (3.1.2.9).
	 */
	if ((flags & MQTT_CONNECT_PASSWORD) &&
	    !(flags & MQTT_CONNECT_USERNAME) && level != MQTT_PROTO_V5)
		return "password without user name (MQTT-3.1.2-22)";
	return NULL;
}

/*
 * A 5.0 property block (2.2.2) as packet or will @in carries it, parsed by
 * the module's parser into @props.  Mosquitto closes the connection
 * without CONNACK for either error, and so does kmqttd (5.0 MQTT-4.13.1-1
 * lets it send 0x81 or 0x82 first).
 */
static const char *take_props(struct cursor *cur, enum kmqtt_props_in in,
			      struct kmqtt_props *props)
{
	int n = kmqtt_props_parse(cur->p, (uint32_t)cur->left, in, props);

	if (n == -EINVAL)
		return in == KMQTT_PROPS_WILL ?
		       "will properties break a protocol rule (5.0 2.2.2.2)" :
		       "CONNECT properties break a protocol rule (5.0 2.2.2.2)";
	if (n < 0)
		return in == KMQTT_PROPS_WILL ? "malformed will properties" :
						"malformed CONNECT properties";
	cur->p += n;
	cur->left -= (size_t)n;
	return NULL;
}

/* 5.0's CONNECT properties (3.1.2.11), after the keepalive. */
static const char *take_connect_props(struct cursor *cur,
				      struct connect_packet *c)
{
	struct kmqtt_props props;
	const char *reason = take_props(cur, KMQTT_PROPS_CONNECT, &props);

	if (reason)
		return reason;
	if (kmqtt_props_has(&props, MQTT_PROP_AUTH_DATA) &&
	    !kmqtt_props_has(&props, MQTT_PROP_AUTH_METHOD))
		return "authentication data without method (5.0 3.1.2.11.10)";
	c->session_expiry = props.session_expiry;
	if (kmqtt_props_has(&props, MQTT_PROP_RECEIVE_MAX))
		c->receive_max = props.receive_max;
	c->max_packet_size = props.max_packet_size;
	c->topic_alias_max = props.topic_alias_max;
	if (kmqtt_props_has(&props, MQTT_PROP_REQUEST_PROBLEM_INFO))
		c->request_problem_info = props.request_problem_info;
	c->request_response_info = props.request_response_info;
	c->has_auth_method = kmqtt_props_has(&props, MQTT_PROP_AUTH_METHOD);
	/* The CONNECT is at most CONNECT_MAX_REMAINING: they fit 16 bits. */
	c->auth_method = (struct connect_bytes){
		.data = props.auth_method.data,
		.len = (uint16_t)props.auth_method.len };
	c->auth_data = (struct connect_bytes){
		.data = props.auth_data.data,
		.len = (uint16_t)props.auth_data.len };
	return NULL;
}

/* 5.0's will properties (3.1.3.2), before the will topic. */
static const char *take_will_props(struct cursor *cur,
				   struct connect_packet *c)
{
	struct kmqtt_props props;
	const char *reason = take_props(cur, KMQTT_PROPS_WILL, &props);

	if (reason)
		return reason;
	/* The CONNECT is at most CONNECT_MAX_REMAINING: it fits 16 bits. */
	c->will_props = (struct connect_bytes){ .data = props.start,
						.len = (uint16_t)props.len };
	c->will_delay = props.will_delay;
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
		if (c->proto_level == MQTT_PROTO_V5) {
			reason = take_will_props(cur, c);
			if (reason)
				return reason;
		}
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

/*
 * The protocol name (3.1.2.1) and level (3.1.2.2): NULL when kmqttd speaks
 * them, else why not, with *@level_only set when the name is one we know
 * (CONNACK 1) rather than not (closed).
 */
static const char *check_protocol(const struct connect_bytes *name,
				  uint8_t level, bool *level_only)
{
	static const char bad_level[] =
		"unsupported protocol level (MQTT-3.1.2-2)";

	*level_only = true;
	if (bytes_equal(name, MQTT_PROTO_NAME_V311))
		return level == MQTT_PROTO_V311 || level == MQTT_PROTO_V5 ?
		       NULL : bad_level;
	if (bytes_equal(name, MQTT_PROTO_NAME_V31))
		return level == MQTT_PROTO_V31 ? NULL : bad_level;
	*level_only = false;
	return "unknown protocol name (MQTT-3.1.2-1)";
}

/*
 * Mosquitto's bridges (try_private) set 0x80 in a 3.1.x level: the level
 * without it, with *@bridge set.  Any other level is left as it is, to
 * be refused as unknown (5.0 has no such bit).
 */
static uint8_t split_bridge_level(uint8_t level, bool *bridge)
{
	uint8_t plain = level & ~CONNECT_LEVEL_BRIDGE;

	*bridge = (level & CONNECT_LEVEL_BRIDGE) &&
		  (plain == MQTT_PROTO_V31 || plain == MQTT_PROTO_V311);
	return *bridge ? plain : level;
}

/* After the level: flags, keepalive and 5.0's properties (3.1.2.3 on). */
static const char *take_variable_header(struct cursor *cur,
					struct connect_packet *c)
{
	const char *reason;
	uint8_t flags;

	reason = take_u8(cur, &flags);
	if (!reason)
		reason = check_flags(flags, c->proto_level);
	if (!reason)
		reason = take_u16(cur, &c->keepalive);
	if (reason)
		return reason;
	c->clean_session = flags & MQTT_CONNECT_CLEAN_SESSION;
	c->will = flags & MQTT_CONNECT_WILL;
	c->will_qos = (flags & MQTT_CONNECT_WILL_QOS_MASK) >>
		      MQTT_CONNECT_WILL_QOS_SHIFT;
	c->will_retain = flags & MQTT_CONNECT_WILL_RETAIN;
	c->has_username = flags & MQTT_CONNECT_USERNAME;
	c->has_password = flags & MQTT_CONNECT_PASSWORD;
	return c->proto_level == MQTT_PROTO_V5 ? take_connect_props(cur, c) :
						 NULL;
}

/* The client id's rules for each version; copies an acceptable one. */
static struct connect_result check_client_id(struct connect_packet *c,
					     const struct connect_bytes *id)
{
	if (c->proto_level == MQTT_PROTO_V31) {
		if (id->len == 0 || id->len > MQTT_V31_CLIENT_ID_MAX)
			return refuse(MQTT_CONNACK_IDENTIFIER_REJECTED,
				      "MQTT 3.1 client id must have 1 to 23 bytes");
	} else if (id->len == 0 && !c->clean_session &&
		   c->proto_level == MQTT_PROTO_V311) {
		/* 5.0 drops this rule: the server assigns one (5.0 MQTT-3.1.3-6). */
		return refuse(MQTT_CONNACK_IDENTIFIER_REJECTED,
			      "empty client id without clean session (MQTT-3.1.3-8)");
	}
	if (id->len > KMQTT_CLIENT_ID_MAX)
		return refuse(MQTT_CONNACK_IDENTIFIER_REJECTED,
			      "client id too long");
	memcpy(c->client_id, id->data, id->len);
	c->client_id[id->len] = '\0';
	c->client_id_len = id->len;
	return (struct connect_result){ .action = CONNECT_ACCEPT };
}

struct connect_result connect_parse(const uint8_t *pkt, size_t len,
				    struct connect_packet *c)
{
	struct connect_bytes name, client_id;
	size_t header_len, remaining;
	struct cursor cur;
	const char *reason;
	bool level_only;

	memset(c, 0, sizeof(*c));
	/* 5.0's defaults (3.1.2.11.3, 3.1.2.11.7). */
	c->receive_max = UINT16_MAX;
	c->request_problem_info = true;
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
	if (!reason)
		reason = take_u8(&cur, &c->proto_level);
	if (reason)
		return drop(reason);
	c->proto_level = split_bridge_level(c->proto_level, &c->bridge);
	/* Checked before the flags: a later level may change the layout. */
	reason = check_protocol(&name, c->proto_level, &level_only);
	if (reason)
		return level_only ?
		       refuse(MQTT_CONNACK_UNACCEPTABLE_PROTOCOL, reason) :
		       drop(reason);
	reason = take_variable_header(&cur, c);
	if (!reason)
		reason = take_payload(&cur, c, &client_id);
	if (reason)
		return drop(reason);
	return check_client_id(c, &client_id);
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
	struct connect_bytes name = { .data = body + 2 };
	uint8_t level, flags;
	size_t max, id_len;
	const uint8_t *p;
	bool level_only, bridge;

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
	level = split_bridge_level(p[0], &bridge);
	flags = p[1];
	id_len = (size_t)p[4] << 8 | p[5];
	p += 6;
	/* 5.0's properties stand before the id: its length is not here. */
	if (check_protocol(&name, level, &level_only) ||
	    level == MQTT_PROTO_V5 || check_flags(flags, level))
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
	c->assigned_id = true;
	return 0;
}

/* A client we refuse its level may not read 5.0's form: 3.1.1's. */
static bool refused_in_v5(uint8_t proto_level, uint8_t code)
{
	return proto_level == MQTT_PROTO_V5 &&
	       code != MQTT_CONNACK_UNACCEPTABLE_PROTOCOL;
}

uint8_t connect_refusal_code(uint8_t proto_level, uint8_t code)
{
	/* 5.0's words for 3.1.1's return codes (5.0 3.2.2.2). */
	static const uint8_t v5[] = {
		[MQTT_CONNACK_UNACCEPTABLE_PROTOCOL] = MQTT_RC_UNSUPPORTED_PROTOCOL,
		[MQTT_CONNACK_IDENTIFIER_REJECTED] = MQTT_RC_CLIENT_ID_NOT_VALID,
		[MQTT_CONNACK_SERVER_UNAVAILABLE] = MQTT_RC_SERVER_UNAVAILABLE,
		[MQTT_CONNACK_BAD_USERNAME_PASSWORD] = MQTT_RC_BAD_USERNAME_PASSWORD,
		[MQTT_CONNACK_NOT_AUTHORIZED] = MQTT_RC_NOT_AUTHORIZED,
	};

	if (refused_in_v5(proto_level, code))
		return code < sizeof(v5) ? v5[code] : code;
	/* What Mosquitto tells a 3.1.x client in the same case. */
	switch (code) {
	case MQTT_RC_QUOTA_EXCEEDED:		/* max_connections */
		return MQTT_CONNACK_SERVER_UNAVAILABLE;
	case MQTT_RC_PACKET_TOO_LARGE:		/* a will over the limit */
		return MQTT_CONNACK_NOT_AUTHORIZED;
	}
	return code;
}

size_t connect_put_refusal(uint8_t *buf, uint8_t proto_level, uint8_t code)
{
	uint8_t sent = connect_refusal_code(proto_level, code);

	/* MQTT-3.2.2-6 (5.0): no session present in a refusal. */
	if (refused_in_v5(proto_level, code))
		return kmqtt_codec_put_connack5(buf, false, sent, 0);
	return kmqtt_codec_put_connack(buf, false, sent);
}

uint32_t connect_session_expiry(const struct connect_packet *c,
				const struct connect_limits *l)
{
	if (l->session_expiry_max && c->session_expiry > l->session_expiry_max)
		return l->session_expiry_max;
	return c->session_expiry;
}

/* A keepalive longer than max_keepalive, or none (0), under a maximum. */
static bool keepalive_over_max(const struct connect_packet *c,
			       const struct connect_limits *l)
{
	return l->max_keepalive &&
	       (!c->keepalive || c->keepalive > l->max_keepalive);
}

uint16_t connect_keepalive(const struct connect_packet *c,
			   const struct connect_limits *l)
{
	/* A 3.1.x client cannot be told another: refused, or its own. */
	if (c->proto_level != MQTT_PROTO_V5 || !keepalive_over_max(c, l))
		return c->keepalive;
	return l->max_keepalive;
}

const char *connect_keepalive_refusal(const struct connect_packet *c,
				      const struct connect_limits *l)
{
	if (c->proto_level == MQTT_PROTO_V5 || !keepalive_over_max(c, l))
		return NULL;
	/*
	 * Mosquitto 2.0.12 on refuses these at its default max_keepalive
	 * too, breaking clients that worked with 2.0.11: only when asked.
	 */
	if (!c->keepalive)
		return l->max_keepalive_set ?
		       "keepalive 0 (none) with max_keepalive set" : NULL;
	return "keepalive over max_keepalive";
}

static uint8_t *put_prop_byte(uint8_t *p, uint8_t id, uint8_t v)
{
	*p++ = id;
	*p++ = v;
	return p;
}

static uint8_t *put_prop_u16(uint8_t *p, uint8_t id, uint16_t v)
{
	*p++ = id;
	return kmqtt_codec_put_u16(p, v);
}

static uint8_t *put_prop_u32(uint8_t *p, uint8_t id, uint32_t v)
{
	*p++ = id;
	p = kmqtt_codec_put_u16(p, (uint16_t)(v >> 16));
	return kmqtt_codec_put_u16(p, (uint16_t)v);
}

size_t connect_put_connack_props(uint8_t *buf, const struct connect_packet *c,
				 const struct connect_limits *l)
{
	uint32_t expiry = connect_session_expiry(c, l);
	uint16_t keepalive = connect_keepalive(c, l);
	uint8_t *p = buf;

	/* 5.0 MQTT-3.2.2-16 */
	if (c->assigned_id) {
		p = put_prop_u16(p, MQTT_PROP_ASSIGNED_CLIENT_ID,
				 (uint16_t)c->client_id_len);
		memcpy(p, c->client_id, c->client_id_len);
		p += c->client_id_len;
	}
	/* 5.0 3.2.2.3.2: the server tells when it uses another value. */
	if (expiry != c->session_expiry)
		p = put_prop_u32(p, MQTT_PROP_SESSION_EXPIRY, expiry);
	/* 5.0 MQTT-3.2.2-21: the client uses the server's from now on. */
	if (keepalive != c->keepalive)
		p = put_prop_u16(p, MQTT_PROP_SERVER_KEEPALIVE, keepalive);
	if (l->receive_max)
		p = put_prop_u16(p, MQTT_PROP_RECEIVE_MAX, l->receive_max);
	if (l->max_packet_size)
		p = put_prop_u32(p, MQTT_PROP_MAX_PACKET_SIZE,
				 l->max_packet_size);
	if (!l->retain_available)
		p = put_prop_byte(p, MQTT_PROP_RETAIN_AVAILABLE, 0);
	/* Absent means 0: the client sets none (5.0 MQTT-3.2.2-18). */
	if (l->topic_alias_max)
		p = put_prop_u16(p, MQTT_PROP_TOPIC_ALIAS_MAX,
				 l->topic_alias_max);
	/*
	 * Subscription identifiers and shared subscriptions are available:
	 * they say so by their absence (3.2.2.3.12, 3.2.2.3.13).
	 */
	return (size_t)(p - buf);
}

bool connect_connack_fits(const struct connect_packet *c, size_t props_len)
{
	/* flags, reason code, property length, properties */
	uint32_t rem = (uint32_t)(2 + kmqtt_codec_varint_size(props_len) +
				  props_len);

	return !c->max_packet_size ||
	       kmqtt_codec_fixed_hdr_len(rem) + rem <= c->max_packet_size;
}

size_t connect_will_publish_props(const struct connect_packet *c,
				  uint8_t *buf)
{
	struct kmqtt_props props;

	/*
	 * Parsed before, so known good.  What a PUBLISH forwards is all
	 * but the delay and the message expiry interval, which goes back.
	 */
	kmqtt_props_parse_block(c->will_props.data, c->will_props.len,
				KMQTT_PROPS_WILL, &props);
	kmqtt_props_copy_forward(buf, &props);
	if (!kmqtt_props_has(&props, MQTT_PROP_MESSAGE_EXPIRY))
		return props.forward_len;
	return (size_t)(put_prop_u32(buf + props.forward_len,
				     MQTT_PROP_MESSAGE_EXPIRY,
				     props.message_expiry) - buf);
}
