// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include <kmqtt/mqtt.h>

#include "auth_packet.h"
#include "kmod/codec.h"
#include "kmod/property.h"

_Static_assert(AUTH_PACKET_PROPS_MAX + 3 <= 127 * 128,
	       "an AUTH's properties have a two byte length at most");

static struct connect_result refuse(uint8_t code, const char *reason)
{
	return (struct connect_result){ .action = CONNECT_REFUSE,
					.return_code = code,
					.reason = reason };
}

struct connect_result auth_packet_read_step(const uint8_t *buf, size_t have,
					    size_t *need)
{
	struct kmqtt_fixed_hdr hdr;
	int ret;

	*need = have + 1;
	if (!have)
		return (struct connect_result){ .action = CONNECT_ACCEPT };
	switch (buf[0] >> 4) {
	case MQTT_AUTH:
		break;
	case MQTT_DISCONNECT:
		return (struct connect_result){
			.action = CONNECT_DROP,
			.reason = "DISCONNECT while authenticating" };
	default:
		return refuse(MQTT_RC_PROTOCOL_ERROR,
			      "a packet other than AUTH while authenticating (5.0 MQTT-3.1.2-30)");
	}
	ret = kmqtt_codec_fixed_hdr(buf, have, UINT32_MAX, &hdr);
	if (ret < 0)
		return refuse(MQTT_RC_MALFORMED_PACKET,
			      "malformed AUTH fixed header");
	if (ret > 0) {
		if (hdr.rem_len > AUTH_PACKET_MAX_REMAINING)
			return refuse(MQTT_RC_PACKET_TOO_LARGE, "AUTH too large");
		*need = hdr.hdr_len + hdr.rem_len;
	}
	return (struct connect_result){ .action = CONNECT_ACCEPT };
}

struct connect_result auth_packet_parse(const uint8_t *pkt, size_t len,
					const char *method,
					const uint8_t **data,
					size_t *data_len)
{
	struct kmqtt_fixed_hdr hdr;
	struct kmqtt_props props;
	const uint8_t *body;
	int n;

	*data = NULL;
	*data_len = 0;
	if (kmqtt_codec_fixed_hdr(pkt, len, UINT32_MAX, &hdr) <= 0 ||
	    hdr.type != MQTT_AUTH || hdr.hdr_len + hdr.rem_len != len)
		return refuse(MQTT_RC_MALFORMED_PACKET, "malformed AUTH");
	body = pkt + hdr.hdr_len;
	/* No reason code means 0x00 (5.0 3.15.2.1): not 0x18. */
	if (hdr.rem_len < 1 || body[0] != MQTT_RC_CONTINUE_AUTH)
		return refuse(MQTT_RC_PROTOCOL_ERROR,
			      "AUTH reason is not Continue authentication (5.0 4.12)");
	if (hdr.rem_len < 2)
		return refuse(MQTT_RC_PROTOCOL_ERROR,
			      "AUTH without Authentication Method (5.0 MQTT-4.12.0-5)");
	n = kmqtt_props_parse(body + 1, hdr.rem_len - 1, KMQTT_PROPS_AUTH,
			      &props);
	if (n == -EINVAL)
		return refuse(MQTT_RC_PROTOCOL_ERROR,
			      "AUTH properties break a protocol rule (5.0 2.2.2.2)");
	if (n < 0 || (uint32_t)n != hdr.rem_len - 1)
		return refuse(MQTT_RC_MALFORMED_PACKET,
			      "malformed AUTH properties");
	if (!kmqtt_props_has(&props, MQTT_PROP_AUTH_METHOD) ||
	    props.auth_method.len != strlen(method) ||
	    memcmp(props.auth_method.data, method, props.auth_method.len))
		return refuse(MQTT_RC_PROTOCOL_ERROR,
			      "AUTH with another Authentication Method (5.0 MQTT-4.12.0-5)");
	*data = props.auth_data.data;
	*data_len = props.auth_data.len;
	return (struct connect_result){ .action = CONNECT_ACCEPT };
}

static uint8_t *put_prop_bytes(uint8_t *p, uint8_t id, const void *data,
			       size_t len)
{
	*p++ = id;
	p = kmqtt_codec_put_u16(p, (uint16_t)len);
	memcpy(p, data, len);
	return p + len;
}

size_t auth_packet_put_props(uint8_t *buf, const char *method,
			     const uint8_t *data, size_t data_len)
{
	uint8_t *p = put_prop_bytes(buf, MQTT_PROP_AUTH_METHOD, method,
				    strlen(method));

	if (data_len)
		p = put_prop_bytes(p, MQTT_PROP_AUTH_DATA, data, data_len);
	return (size_t)(p - buf);
}

size_t auth_packet_put(uint8_t *buf, const char *method,
		       const uint8_t *data, size_t data_len)
{
	uint8_t props[AUTH_PACKET_PROPS_MAX];
	size_t props_len = auth_packet_put_props(props, method, data,
						 data_len);
	uint32_t rem = (uint32_t)(1 + kmqtt_codec_varint_size(props_len) +
				  props_len);
	size_t n = kmqtt_codec_put_fixed_hdr(buf, MQTT_AUTH, 0, rem);
	uint8_t *p = buf + n;

	*p++ = MQTT_RC_CONTINUE_AUTH;
	p = kmqtt_codec_put_varint(p, (uint32_t)props_len);
	memcpy(p, props, props_len);
	return (size_t)(p + props_len - buf);
}
