// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal MQTT 3.1.1 and 5.0 codec for kmqtt-bench.  Decoders check
 * lengths and return -1 on anything malformed; they do not enforce every
 * rule of the spec (a broker under test is not fuzzed here), only what
 * keeps parsing in bounds and the few values a client acts on.
 */
#include <string.h>

#include "mqtt.h"

static size_t remaining_len_size(size_t len)
{
	if (len < 128)
		return 1;
	if (len < 16384)
		return 2;
	if (len < 2097152)
		return 3;
	return 4;
}

/* Fixed header: type/flags byte and the remaining length (2.2.3). */
static size_t put_fixed_header(uint8_t *buf, uint8_t first, size_t len)
{
	size_t n = 0;

	buf[n++] = first;
	do {
		uint8_t byte = len & 0x7f;

		len >>= 7;
		buf[n++] = byte | (len ? 0x80 : 0);
	} while (len);
	return n;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return p + 2;
}

static uint8_t *put_string(uint8_t *p, const char *s, size_t len)
{
	p = put_u16(p, len);
	memcpy(p, s, len);
	return p + len;
}

static uint16_t get_u16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/*
 * A variable byte integer (1.5.5) at p: the bytes it takes, 0 when avail
 * ends before it does, -1 when it would take more than four.
 */
static int get_varint(const uint8_t *p, size_t avail, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if ((size_t)i >= avail)
			return 0;
		*v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			return i + 1;
	}
	return -1;
}

/*
 * A 5.0 property block (2.2.2) at p, in a packet with avail bytes left:
 * its length and bytes.  Returns the bytes it takes, length included, or
 * -1 when it does not fit.
 */
static int get_props(const uint8_t *p, size_t avail, const uint8_t **props,
		     size_t *len)
{
	uint32_t v;
	int n = get_varint(p, avail, &v);

	if (n <= 0 || v > avail - n)
		return -1;
	*props = p + n;
	*len = v;
	return n + v;
}

enum prop_type {
	PROP_NONE,	/* not a 5.0 property */
	PROP_BYTE,
	PROP_U16,
	PROP_U32,
	PROP_VARINT,
	PROP_STRING,	/* UTF-8 string or binary data: u16 length, bytes */
	PROP_PAIR,	/* two strings */
};

/* Each property identifier's type (2.2.2.2). */
static const uint8_t prop_types[] = {
	[0x01] = PROP_BYTE,	/* payload format indicator */
	[0x02] = PROP_U32,	/* message expiry interval */
	[0x03] = PROP_STRING,	/* content type */
	[0x08] = PROP_STRING,	/* response topic */
	[0x09] = PROP_STRING,	/* correlation data */
	[0x0b] = PROP_VARINT,	/* subscription identifier */
	[0x11] = PROP_U32,	/* session expiry interval */
	[0x12] = PROP_STRING,	/* assigned client identifier */
	[0x13] = PROP_U16,	/* server keep alive */
	[0x15] = PROP_STRING,	/* authentication method */
	[0x16] = PROP_STRING,	/* authentication data */
	[0x17] = PROP_BYTE,	/* request problem information */
	[0x18] = PROP_U32,	/* will delay interval */
	[0x19] = PROP_BYTE,	/* request response information */
	[0x1a] = PROP_STRING,	/* response information */
	[0x1c] = PROP_STRING,	/* server reference */
	[0x1f] = PROP_STRING,	/* reason string */
	[0x21] = PROP_U16,	/* receive maximum */
	[0x22] = PROP_U16,	/* topic alias maximum */
	[0x23] = PROP_U16,	/* topic alias */
	[0x24] = PROP_BYTE,	/* maximum QoS */
	[0x25] = PROP_BYTE,	/* retain available */
	[0x26] = PROP_PAIR,	/* user property */
	[0x27] = PROP_U32,	/* maximum packet size */
	[0x28] = PROP_BYTE,	/* wildcard subscription available */
	[0x29] = PROP_BYTE,	/* subscription identifier available */
	[0x2a] = PROP_BYTE,	/* shared subscription available */
};

/* The value of a property of type @type at p: the bytes it takes, or -1. */
static int prop_value(struct mqtt_prop *prop, int type, const uint8_t *p,
		      size_t avail)
{
	size_t first;
	int n;

	switch (type) {
	case PROP_BYTE:
		if (avail < 1)
			return -1;
		prop->num = p[0];
		return 1;
	case PROP_U16:
		if (avail < 2)
			return -1;
		prop->num = get_u16(p);
		return 2;
	case PROP_U32:
		if (avail < 4)
			return -1;
		prop->num = get_u32(p);
		return 4;
	case PROP_VARINT:
		n = get_varint(p, avail, &prop->num);
		return n > 0 ? n : -1;
	case PROP_STRING:
		if (avail < 2 || avail - 2 < get_u16(p))
			return -1;
		prop->data = p + 2;
		prop->len = get_u16(p);
		return 2 + prop->len;
	case PROP_PAIR:
		if (avail < 2 || avail - 2 < get_u16(p))
			return -1;
		first = 2 + get_u16(p);
		if (avail - first < 2 || avail - first - 2 < get_u16(p + first))
			return -1;
		prop->data = p;
		prop->len = first + 2 + get_u16(p + first);
		return prop->len;
	}
	return -1;
}

/*
 * The property at *cur of a block ending at end: 1 and *cur moved past it,
 * 0 at the end of the block, -1 for an unknown identifier (its length
 * cannot be known) or one that runs past the end.
 */
int mqtt_prop_next(const uint8_t **cur, const uint8_t *end,
		   struct mqtt_prop *prop)
{
	const uint8_t *p = *cur;
	int type, n;

	if (p >= end)
		return 0;
	*prop = (struct mqtt_prop){ .id = *p++ };
	type = prop->id < sizeof(prop_types) ? prop_types[prop->id] : PROP_NONE;
	n = prop_value(prop, type, p, end - p);
	if (n < 0)
		return -1;
	*cur = p + n;
	return 1;
}

/*
 * Frames one packet at the start of buf: its total length, 0 when more
 * bytes are needed, -1 when the remaining length is malformed or the
 * packet is larger than max.
 */
ssize_t mqtt_frame(const uint8_t *buf, size_t len, size_t max,
		   struct mqtt_packet *pkt)
{
	uint32_t remaining;
	int n;

	if (len < 2)
		return 0;
	n = get_varint(buf + 1, len - 1, &remaining);
	if (n == 0)
		return 0;
	if (n < 0 || remaining + n + 1 > max)
		return -1;
	if (len < remaining + n + 1)
		return 0;
	pkt->type = buf[0] >> 4;
	pkt->flags = buf[0] & 0x0f;
	pkt->body = buf + n + 1;
	pkt->len = remaining;
	return remaining + n + 1;
}

int mqtt_parse_publish(const struct mqtt_packet *pkt, int level,
		       struct mqtt_publish *pub)
{
	const uint8_t *p = pkt->body;
	size_t need;
	int n;

	if (pkt->type != MQTT_PUBLISH || pkt->len < 2)
		return -1;
	pub->qos = (pkt->flags >> 1) & 3;
	pub->dup = pkt->flags & 0x8;
	if (pub->qos == 3)
		return -1;
	pub->topic_len = get_u16(p);
	need = 2 + pub->topic_len + (pub->qos ? 2 : 0);
	if (pkt->len < need)
		return -1;
	pub->topic = p + 2;
	pub->id = pub->qos ? get_u16(p + 2 + pub->topic_len) : 0;
	pub->props = NULL;
	pub->props_len = 0;
	if (level == MQTT_V5) {
		n = get_props(p + need, pkt->len - need, &pub->props,
			      &pub->props_len);
		if (n < 0)
			return -1;
		need += n;
	}
	pub->payload = p + need;
	pub->payload_len = pkt->len - need;
	return 0;
}

/*
 * PUBACK, PUBREC, PUBREL, PUBCOMP: a packet identifier; in 5.0 also a
 * reason code (0 when left out) and properties, each of which may be left
 * out (3.4.2.1).
 */
int mqtt_parse_ack(const struct mqtt_packet *pkt, int level, uint16_t *id,
		   uint8_t *reason)
{
	const uint8_t *props;
	size_t props_len;

	if (pkt->len < 2 || (level != MQTT_V5 && pkt->len != 2))
		return -1;
	if (pkt->len > 3 && get_props(pkt->body + 3, pkt->len - 3, &props,
				      &props_len) != (int)pkt->len - 3)
		return -1;
	*id = get_u16(pkt->body);
	*reason = pkt->len > 2 ? pkt->body[2] : 0;
	return 0;
}

static int connack_props(struct mqtt_connack *ca, const uint8_t *p,
			 size_t len)
{
	const uint8_t *end = p + len;
	struct mqtt_prop prop;
	int more;

	while ((more = mqtt_prop_next(&p, end, &prop)) > 0) {
		if (prop.id == MQTT_PROP_RECEIVE_MAX)
			ca->receive_max = prop.num;
		else if (prop.id == MQTT_PROP_MAX_QOS)
			ca->max_qos = prop.num;
		else if (prop.id == MQTT_PROP_MAX_PACKET_SIZE)
			ca->max_packet = prop.num;
		else if (prop.id == MQTT_PROP_SERVER_KEEPALIVE)
			ca->keepalive = prop.num;
		else
			continue;
		/* Receive maximum and packet size 0, QoS 2: errors (3.2.2.3) */
		if (prop.id == MQTT_PROP_MAX_QOS ? prop.num > 1 :
		    prop.id != MQTT_PROP_SERVER_KEEPALIVE && !prop.num)
			return -1;
	}
	return more;
}

/*
 * 3.1.1: flags and return code.  5.0: flags, reason code, properties.  A
 * 5.0 client may get the 3.1.1 form when the broker refuses the level
 * (MQTT-3.1.2-2 of 3.1.1: return code 1), so that form is read as a
 * refusal, but not as a success.
 */
int mqtt_parse_connack(const struct mqtt_packet *pkt, int level,
		       struct mqtt_connack *ca)
{
	const uint8_t *props;
	size_t props_len;

	if (pkt->type != MQTT_CONNACK || pkt->len < 2)
		return -1;
	*ca = (struct mqtt_connack){
		.rc = pkt->body[1],
		.session_present = pkt->body[0] & 1,
		.receive_max = 65535,
		.max_qos = 2,
		.keepalive = -1,
	};
	if (level != MQTT_V5 || pkt->len == 2)
		return pkt->len == 2 && (level != MQTT_V5 || ca->rc) ? 0 : -1;
	if (get_props(pkt->body + 2, pkt->len - 2, &props, &props_len) !=
	    (int)pkt->len - 2)
		return -1;
	return connack_props(ca, props, props_len);
}

/*
 * kmqtt-bench subscribes to one filter per SUBSCRIBE: one return code, in
 * 5.0 after the properties.
 */
int mqtt_parse_suback(const struct mqtt_packet *pkt, int level, uint16_t *id,
		      uint8_t *granted)
{
	const uint8_t *props;
	size_t props_len, off = 2;
	int n;

	if (pkt->type != MQTT_SUBACK || pkt->len < 3)
		return -1;
	if (level == MQTT_V5) {
		n = get_props(pkt->body + 2, pkt->len - 2, &props, &props_len);
		if (n < 0)
			return -1;
		off += n;
	}
	if (pkt->len != off + 1)
		return -1;
	*id = get_u16(pkt->body);
	*granted = pkt->body[off];
	return 0;
}

/*
 * A 5.0 broker's DISCONNECT (3.14): the reason code (0 when left out) and
 * the reason string, if any (*why NULL if not).
 */
int mqtt_parse_disconnect(const struct mqtt_packet *pkt, uint8_t *reason,
			  const uint8_t **why, size_t *why_len)
{
	const uint8_t *props, *end;
	struct mqtt_prop prop;
	size_t props_len;
	int more;

	*reason = 0;
	*why = NULL;
	*why_len = 0;
	if (pkt->type != MQTT_DISCONNECT)
		return -1;
	if (!pkt->len)
		return 0;
	*reason = pkt->body[0];
	if (pkt->len == 1)
		return 0;
	if (get_props(pkt->body + 1, pkt->len - 1, &props, &props_len) !=
	    (int)pkt->len - 1)
		return -1;
	end = props + props_len;
	while ((more = mqtt_prop_next(&props, end, &prop)) > 0) {
		if (prop.id == MQTT_PROP_REASON_STRING) {
			*why = prop.data;
			*why_len = prop.len;
		}
	}
	return more;
}

/* The level and client identifier of a CONNECT (for limit mode's broker). */
int mqtt_parse_connect(const struct mqtt_packet *pkt, int *level,
		       const uint8_t **id, size_t *id_len)
{
	const uint8_t *p = pkt->body, *props;
	size_t props_len, off = 10;
	int n;

	/* "MQTT" (6 bytes), level, flags, keepalive[, properties], id */
	if (pkt->type != MQTT_CONNECT || pkt->len < 12)
		return -1;
	if (get_u16(p) != 4 || memcmp(p + 2, "MQTT", 4))
		return -1;
	*level = p[6];
	if (*level != MQTT_V311 && *level != MQTT_V5)
		return -1;
	if (*level == MQTT_V5) {
		n = get_props(p + off, pkt->len - off, &props, &props_len);
		if (n < 0)
			return -1;
		off += n;
	}
	if (pkt->len < off + 2)
		return -1;
	*id_len = get_u16(p + off);
	if (pkt->len - off - 2 < *id_len)
		return -1;
	*id = p + off + 2;
	return 0;
}

/* The first filter of a SUBSCRIBE. */
int mqtt_parse_subscribe(const struct mqtt_packet *pkt, int level,
			 uint16_t *id, const uint8_t **filter,
			 size_t *filter_len, uint8_t *qos)
{
	const uint8_t *p = pkt->body, *props;
	size_t props_len, off = 2;
	int n;

	if (pkt->type != MQTT_SUBSCRIBE || pkt->len < 5)
		return -1;
	*id = get_u16(p);
	if (level == MQTT_V5) {
		n = get_props(p + off, pkt->len - off, &props, &props_len);
		if (n < 0)
			return -1;
		off += n;
	}
	/* the filter's length, the filter, its options byte */
	if (pkt->len < off + 3 || pkt->len - off - 3 < get_u16(p + off))
		return -1;
	*filter_len = get_u16(p + off);
	*filter = p + off + 2;
	*qos = p[off + 2 + *filter_len] & 3;
	return 0;
}

/* What a broker may say when it closes or refuses; "" for the rest. */
const char *mqtt_reason_name(uint8_t rc)
{
	static const struct {
		uint8_t rc;
		const char *name;
	} names[] = {
		{ 0x00, "normal disconnection" },
		{ 0x04, "disconnect with will message" },
		{ 0x80, "unspecified error" },
		{ 0x81, "malformed packet" },
		{ 0x82, "protocol error" },
		{ 0x83, "implementation specific error" },
		{ 0x84, "unsupported protocol version" },
		{ 0x87, "not authorized" },
		{ 0x89, "server busy" },
		{ 0x8b, "server shutting down" },
		{ 0x8d, "keep alive timeout" },
		{ 0x8e, "session taken over" },
		{ 0x93, "receive maximum exceeded" },
		{ 0x95, "packet too large" },
		{ 0x96, "message rate too high" },
		{ 0x97, "quota exceeded" },
		{ 0x98, "administrative action" },
		{ 0x9b, "QoS not supported" },
		{ 0x9f, "connection rate exceeded" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rc == rc)
			return names[i].name;
	return "";
}

/* 5.0 adds the property length (0) after the packet identifier. */
size_t mqtt_publish_len(int level, size_t topic_len, int qos,
			size_t payload_len)
{
	size_t rem = 2 + topic_len + (qos ? 2 : 0) + payload_len;

	if (level == MQTT_V5)
		rem++;
	return 1 + remaining_len_size(rem) + rem;
}

/*
 * Everything of a PUBLISH but its payload, which the caller writes right
 * after (it changes with every message: timestamp and sequence number).
 * Returns the header's length; 0 when the whole packet would not fit.
 */
size_t mqtt_put_publish_header(uint8_t *buf, size_t cap, int level,
			       const char *topic, size_t topic_len, int qos,
			       uint16_t id, size_t payload_len)
{
	size_t rem = 2 + topic_len + (qos ? 2 : 0) + payload_len;
	uint8_t *p;

	if (level == MQTT_V5)
		rem++;
	if (rem > MQTT_MAX_REMAINING ||
	    mqtt_publish_len(level, topic_len, qos, payload_len) > cap)
		return 0;
	p = buf + put_fixed_header(buf, MQTT_PUBLISH << 4 | qos << 1, rem);
	p = put_string(p, topic, topic_len);
	if (qos)
		p = put_u16(p, id);
	if (level == MQTT_V5)
		*p++ = 0;	/* no properties */
	return p - buf;
}

/*
 * Clean session (5.0: clean start, and with no session expiry interval the
 * session ends with the connection, 3.1.2.11.2), no will, no credentials.
 * 5.0 sends no properties: the defaults (receive maximum 65535, no topic
 * aliases, no packet size limit) bound nothing that kmqtt-bench's own
 * windows do not already.
 */
size_t mqtt_put_connect(uint8_t *buf, size_t cap, int level,
			const char *client_id, uint16_t keepalive)
{
	size_t id_len = strlen(client_id), rem = 12 + id_len;
	uint8_t *p;

	if (level == MQTT_V5)
		rem++;
	if (1 + remaining_len_size(rem) + rem > cap)
		return 0;
	p = buf + put_fixed_header(buf, MQTT_CONNECT << 4, rem);
	p = put_string(p, "MQTT", 4);
	*p++ = level;
	*p++ = 0x02;	/* clean session, clean start */
	p = put_u16(p, keepalive);
	if (level == MQTT_V5)
		*p++ = 0;	/* no properties */
	p = put_string(p, client_id, id_len);
	return p - buf;
}

/* 5.0: properties after the identifier; options byte = QoS either way. */
size_t mqtt_put_subscribe(uint8_t *buf, size_t cap, int level, uint16_t id,
			  const char *filter, int qos)
{
	size_t len = strlen(filter), rem = 2 + 2 + len + 1;
	uint8_t *p;

	if (level == MQTT_V5)
		rem++;
	if (1 + remaining_len_size(rem) + rem > cap)
		return 0;
	p = buf + put_fixed_header(buf, MQTT_SUBSCRIBE << 4 | 0x2, rem);
	p = put_u16(p, id);
	if (level == MQTT_V5)
		*p++ = 0;	/* no properties */
	p = put_string(p, filter, len);
	*p++ = qos;
	return p - buf;
}

/*
 * PUBREL carries the reserved flags 0010 (3.6.1); the other acks none.
 * The same bytes in 5.0: success, no properties (3.4.2.1).
 */
size_t mqtt_put_ack(uint8_t *buf, size_t cap, enum mqtt_type type,
		    uint16_t id)
{
	if (cap < 4)
		return 0;
	buf[0] = type << 4 | (type == MQTT_PUBREL ? 0x2 : 0);
	buf[1] = 2;
	put_u16(buf + 2, id);
	return 4;
}

/* PINGREQ, PINGRESP, DISCONNECT (in 5.0: normal disconnection). */
size_t mqtt_put_empty(uint8_t *buf, size_t cap, enum mqtt_type type)
{
	if (cap < 2)
		return 0;
	buf[0] = type << 4;
	buf[1] = 0;
	return 2;
}

size_t mqtt_put_connack(uint8_t *buf, size_t cap, int level, uint8_t rc)
{
	size_t n = level == MQTT_V5 ? 5 : 4;

	if (cap < n)
		return 0;
	buf[0] = MQTT_CONNACK << 4;
	buf[1] = n - 2;
	buf[2] = 0;	/* session present: never, sessions are clean */
	buf[3] = rc;
	if (level == MQTT_V5)
		buf[4] = 0;	/* no properties */
	return n;
}

size_t mqtt_put_suback(uint8_t *buf, size_t cap, int level, uint16_t id,
		       uint8_t granted)
{
	size_t n = level == MQTT_V5 ? 6 : 5;
	uint8_t *p;

	if (cap < n)
		return 0;
	buf[0] = MQTT_SUBACK << 4;
	buf[1] = n - 2;
	p = put_u16(buf + 2, id);
	if (level == MQTT_V5)
		*p++ = 0;	/* no properties */
	*p = granted;
	return n;
}

/* The length of the topic level starting at s. */
static size_t level_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash ? (size_t)(slash - s) : strlen(s);
}

/*
 * MQTT-4.7: '+' matches one level, '#' (last) the parent level and every
 * level below; filters starting with a wildcard do not match topics
 * starting with '$'.  Not kmod/topic.c on purpose: an independent oracle
 * of what should arrive, like selftests/unit/ref_match.c.
 */
bool mqtt_topic_matches(const char *filter, const char *topic)
{
	size_t flen, tlen;

	if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
		return false;
	for (;;) {
		if (!strcmp(filter, "#"))
			return true;
		flen = level_len(filter);
		tlen = level_len(topic);
		if (!(flen == 1 && filter[0] == '+') &&
		    (flen != tlen || memcmp(filter, topic, flen)))
			return false;
		filter += flen;
		topic += tlen;
		if (!*filter && !*topic)
			return true;
		if (!*topic)
			/* "a/#" matches "a": the rest of the filter is "/#" */
			return !strcmp(filter, "/#");
		if (!*filter)
			return false;
		filter++;
		topic++;
	}
}

bool mqtt_filter_has_wildcard(const char *filter)
{
	return strpbrk(filter, "+#");
}
