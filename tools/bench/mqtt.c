// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal MQTT 3.1.1 codec for kmqtt-bench.  Decoders check lengths and
 * return -1 on anything malformed; they do not enforce every rule of the
 * spec (a broker under test is not fuzzed here), only what keeps parsing
 * in bounds.
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

/*
 * Frames one packet at the start of buf: its total length, 0 when more
 * bytes are needed, -1 when the remaining length is malformed or the
 * packet is larger than max.
 */
ssize_t mqtt_frame(const uint8_t *buf, size_t len, size_t max,
		   struct mqtt_packet *pkt)
{
	size_t remaining = 0, i;

	for (i = 1; i <= 4; i++) {
		if (i >= len)
			return 0;
		remaining |= (size_t)(buf[i] & 0x7f) << (7 * (i - 1));
		if (!(buf[i] & 0x80))
			break;
	}
	if (i > 4 || remaining + i + 1 > max)
		return -1;
	if (len < remaining + i + 1)
		return 0;
	pkt->type = buf[0] >> 4;
	pkt->flags = buf[0] & 0x0f;
	pkt->body = buf + i + 1;
	pkt->len = remaining;
	return remaining + i + 1;
}

int mqtt_parse_publish(const struct mqtt_packet *pkt, struct mqtt_publish *pub)
{
	const uint8_t *p = pkt->body;
	size_t need;

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
	pub->payload = p + need;
	pub->payload_len = pkt->len - need;
	return 0;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP: a packet identifier only. */
int mqtt_parse_id(const struct mqtt_packet *pkt, uint16_t *id)
{
	if (pkt->len != 2)
		return -1;
	*id = get_u16(pkt->body);
	return 0;
}

int mqtt_parse_connack(const struct mqtt_packet *pkt, uint8_t *rc)
{
	if (pkt->type != MQTT_CONNACK || pkt->len != 2)
		return -1;
	*rc = pkt->body[1];
	return 0;
}

/* kmqtt-bench subscribes to one filter per SUBSCRIBE: one return code. */
int mqtt_parse_suback(const struct mqtt_packet *pkt, uint16_t *id,
		      uint8_t *granted)
{
	if (pkt->type != MQTT_SUBACK || pkt->len != 3)
		return -1;
	*id = get_u16(pkt->body);
	*granted = pkt->body[2];
	return 0;
}

/* The client identifier of a 3.1.1 CONNECT (for limit mode's broker). */
int mqtt_parse_connect(const struct mqtt_packet *pkt, const uint8_t **id,
		       size_t *id_len)
{
	const uint8_t *p = pkt->body;

	/* "MQTT" (6 bytes), level, flags, keepalive, client id length */
	if (pkt->type != MQTT_CONNECT || pkt->len < 12)
		return -1;
	if (get_u16(p) != 4 || memcmp(p + 2, "MQTT", 4))
		return -1;
	*id_len = get_u16(p + 10);
	if (pkt->len < 12 + *id_len)
		return -1;
	*id = p + 12;
	return 0;
}

/* The first filter of a SUBSCRIBE. */
int mqtt_parse_subscribe(const struct mqtt_packet *pkt, uint16_t *id,
			 const uint8_t **filter, size_t *filter_len,
			 uint8_t *qos)
{
	const uint8_t *p = pkt->body;

	if (pkt->type != MQTT_SUBSCRIBE || pkt->len < 5)
		return -1;
	*id = get_u16(p);
	*filter_len = get_u16(p + 2);
	if (pkt->len < 5 + *filter_len)
		return -1;
	*filter = p + 4;
	*qos = p[4 + *filter_len] & 3;
	return 0;
}

size_t mqtt_publish_len(size_t topic_len, int qos, size_t payload_len)
{
	size_t rem = 2 + topic_len + (qos ? 2 : 0) + payload_len;

	return 1 + remaining_len_size(rem) + rem;
}

/*
 * Everything of a PUBLISH but its payload, which the caller writes right
 * after (it changes with every message: timestamp and sequence number).
 * Returns the header's length; 0 when the whole packet would not fit.
 */
size_t mqtt_put_publish_header(uint8_t *buf, size_t cap, const char *topic,
			       size_t topic_len, int qos, uint16_t id,
			       size_t payload_len)
{
	size_t rem = 2 + topic_len + (qos ? 2 : 0) + payload_len;
	uint8_t *p;

	if (rem > MQTT_MAX_REMAINING ||
	    mqtt_publish_len(topic_len, qos, payload_len) > cap)
		return 0;
	p = buf + put_fixed_header(buf, MQTT_PUBLISH << 4 | qos << 1, rem);
	p = put_string(p, topic, topic_len);
	if (qos)
		p = put_u16(p, id);
	return p - buf;
}

/* Clean session, no will, no credentials. */
size_t mqtt_put_connect(uint8_t *buf, size_t cap, const char *client_id,
			uint16_t keepalive)
{
	size_t id_len = strlen(client_id), rem = 12 + id_len;
	uint8_t *p;

	if (1 + remaining_len_size(rem) + rem > cap)
		return 0;
	p = buf + put_fixed_header(buf, MQTT_CONNECT << 4, rem);
	p = put_string(p, "MQTT", 4);
	*p++ = 4;	/* protocol level 3.1.1 */
	*p++ = 0x02;	/* clean session */
	p = put_u16(p, keepalive);
	p = put_string(p, client_id, id_len);
	return p - buf;
}

size_t mqtt_put_subscribe(uint8_t *buf, size_t cap, uint16_t id,
			  const char *filter, int qos)
{
	size_t len = strlen(filter), rem = 2 + 2 + len + 1;
	uint8_t *p;

	if (1 + remaining_len_size(rem) + rem > cap)
		return 0;
	p = buf + put_fixed_header(buf, MQTT_SUBSCRIBE << 4 | 0x2, rem);
	p = put_u16(p, id);
	p = put_string(p, filter, len);
	*p++ = qos;
	return p - buf;
}

/* PUBREL carries the reserved flags 0010 (3.6.1); the other acks none. */
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

/* PINGREQ, PINGRESP, DISCONNECT. */
size_t mqtt_put_empty(uint8_t *buf, size_t cap, enum mqtt_type type)
{
	if (cap < 2)
		return 0;
	buf[0] = type << 4;
	buf[1] = 0;
	return 2;
}

size_t mqtt_put_connack(uint8_t *buf, size_t cap, uint8_t rc)
{
	if (cap < 4)
		return 0;
	buf[0] = MQTT_CONNACK << 4;
	buf[1] = 2;
	buf[2] = 0;	/* session present: never, sessions are clean */
	buf[3] = rc;
	return 4;
}

size_t mqtt_put_suback(uint8_t *buf, size_t cap, uint16_t id, uint8_t granted)
{
	if (cap < 5)
		return 0;
	buf[0] = MQTT_SUBACK << 4;
	buf[1] = 3;
	put_u16(buf + 2, id);
	buf[4] = granted;
	return 5;
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
